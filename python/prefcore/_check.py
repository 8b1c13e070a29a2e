"""Checks of plain Python arguments that never reach the Rust core as such (collator
options, reader settings, command-line numbers): one message style for all."""

from __future__ import annotations

import operator
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prefcore.errors import ArgumentTypeError, InvalidArgumentError, invalid_value

_I64 = (-(2**63), 2**63 - 1)


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int = _I64[1]) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (64-bit signed by default), else a
    :class:`~prefcore.errors.ArgumentTypeError` (not an integer) or
    :class:`~prefcore.errors.InvalidArgumentError` (out of range) naming ``name``."""
    if isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be an integer, not a bool", argument=name)
    try:
        number = operator.index(value)
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be an integer, not {type(value).__name__}", argument=name
        ) from None
    low = _I64[0] if minimum is None else minimum
    if not low <= number <= maximum:
        raise InvalidArgumentError(
            f"{name} must be an integer in [{low}, {maximum}], not {number}", argument=name
        )
    return number


def _type_name(value: Any) -> str:
    return type(value).__name__


def path(name: str, value: Any) -> Path:
    """``value`` as a ``Path``, if it is a ``str`` or ``os.PathLike``."""
    if not isinstance(value, (str, os.PathLike)):
        raise ArgumentTypeError(
            f"{name} must be a path (str or os.PathLike), not {_type_name(value)}", argument=name
        )
    return Path(value)


def instance(name: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it is a ``kind`` (described to the user as ``what``)."""
    if not isinstance(value, kind):
        raise ArgumentTypeError(f"{name} must be {what}, not {_type_name(value)}", argument=name)
    return value


def having(name: str, value: Any, attributes: Sequence[str], what: str) -> Any:
    """``value`` if it has ``attributes`` (a result object of a given kind, described as
    ``what``)."""
    if not all(hasattr(value, a) for a in attributes):
        raise ArgumentTypeError(f"{name} must be {what}, not {_type_name(value)}", argument=name)
    return value


def column_names(name: str, value: Any) -> list[str]:
    """One column name or a sequence of them, as a list."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
        raise ArgumentTypeError(
            f"{name} must be a column name or a sequence of them, not {_type_name(value)}",
            argument=name,
        )
    return list(names)


def numbers(name: str, value: Any, dtype: Any = np.float64) -> np.ndarray:
    """``value`` (a sequence, an array, a scalar) as a numpy array of ``dtype``: anything
    numpy cannot read as numbers of that type is an error naming ``name``."""
    if isinstance(value, (str, bytes, Mapping)):
        raise ArgumentTypeError(
            f"{name} must be numbers (a sequence or an array), not {_type_name(value)}",
            argument=name,
        )
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise ArgumentTypeError(
            f"{name} must be numbers (a sequence or an array) that fit {np.dtype(dtype).name}: "
            f"{err}",
            argument=name,
        ) from None


def choice(name: str, value: Any, accepted: Sequence[str]) -> str:
    """``value`` if it is one of ``accepted``, else an error naming ``name`` and the
    accepted values."""
    if not isinstance(value, str) or value not in accepted:
        raise InvalidArgumentError(
            f"{name} must be one of {', '.join(map(repr, accepted))}; not {value!r}",
            argument=name,
        )
    return value


def positive(name: str, value: Any) -> int:
    """``value`` as an int of at least 1."""
    return integer(name, value, minimum=1)


def optional_positive(name: str, value: Any) -> int | None:
    return None if value is None else positive(name, value)


def renamed(old: str, old_value: Any, new: str, new_value: Any) -> Any:
    """The value of an argument renamed from ``old`` to ``new``: ``old`` still works,
    with a ``DeprecationWarning``; both at once is an error."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise ArgumentTypeError(f"give {new} only ({old} is its old name)", argument=new)
    import warnings

    warnings.warn(f"{old} is now called {new}", DeprecationWarning, stacklevel=3)
    return old_value


def check_special_id(name: str, value: int, vocab_size: int | None) -> None:
    """A special token id (pad, EOS) must index the vocabulary when its size is known:
    an id outside it passes collation and fails later inside the model."""
    if vocab_size is not None and value >= vocab_size:
        raise InvalidArgumentError(
            f"{name}={value} is outside the vocabulary of {vocab_size} tokens", argument=name
        )


def example_dicts(examples: Any) -> Sequence[Mapping[str, Any]]:
    """A collator's batch as a sequence of example dicts: a list of dicts as
    DataLoaders and TRL give it, or a dict of equally long columns as a ``datasets``
    slice (``ds[:8]``) gives it, turned into rows. Anything else is an
    :class:`~prefcore.errors.ArgumentTypeError` saying what was found."""
    if isinstance(examples, Mapping):
        lengths = {k: len(v) for k, v in examples.items() if hasattr(v, "__len__")}
        if len(lengths) != len(examples) or len(set(lengths.values())) > 1:
            raise InvalidArgumentError(
                "a dict batch must map each column to a list of one length (as a datasets "
                f"slice does); found lengths {lengths}",
                argument="examples",
            )
        n = next(iter(lengths.values()), 0)
        return [{k: v[i] for k, v in examples.items()} for i in range(n)]
    if isinstance(examples, (str, bytes)) or not isinstance(examples, Sequence):
        raise ArgumentTypeError(
            f"examples must be a list of example dicts, not {type(examples).__name__}",
            argument="examples",
        )
    for row, e in enumerate(examples):
        if not isinstance(e, Mapping):
            raise ArgumentTypeError(
                f"examples must be a list of example dicts; item {row} is a {type(e).__name__}",
                argument="examples",
            )
    return examples


def example_numbers(examples: Sequence[Mapping[str, Any]], name: str) -> np.ndarray:
    """Column ``name`` of the examples as float64 (``ref_chosen_logps``), each value a
    number, else an :class:`~prefcore.errors.InvalidValueError` naming the row."""
    out = np.empty(len(examples), np.float64)
    for row, e in enumerate(examples):
        if name not in e:
            raise invalid_value(name, row, "missing from the example")
        value = e[name]
        try:
            if isinstance(value, (str, bytes)) or value is None:
                raise TypeError
            out[row] = float(value)
        except (TypeError, ValueError):
            raise invalid_value(
                name, row, f"expected a number, found {type(value).__name__} {value!r:.40}"
            ) from None
    return out
