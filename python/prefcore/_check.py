"""Checks of plain Python arguments that never reach the Rust core as such (collator
options, reader settings, command-line numbers): one message style for all."""

from __future__ import annotations

import operator
from typing import Any

_I64 = (-(2**63), 2**63 - 1)


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int = _I64[1]) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (64-bit signed by default), else a
    ``TypeError`` (not an integer) or ``ValueError`` (out of range) naming ``name``."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not a bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    low = _I64[0] if minimum is None else minimum
    if not low <= number <= maximum:
        raise ValueError(f"{name} must be an integer in [{low}, {maximum}], not {number}")
    return number


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
        raise TypeError(f"give {new} only ({old} is its old name)")
    import warnings

    warnings.warn(f"{old} is now called {new}", DeprecationWarning, stacklevel=3)
    return old_value
