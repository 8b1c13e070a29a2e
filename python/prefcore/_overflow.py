"""Integer arguments out of range get an :class:`~prefcore.errors.InvalidArgumentError`
naming the argument, and arguments pyo3 cannot convert an
:class:`~prefcore.errors.ArgumentTypeError` naming it too.

The extension's functions take sizes, seeds and counts as unsigned 64-bit integers;
a negative or huge Python int fails there with a bare ``OverflowError`` ("can't
convert negative int to unsigned"). Every function of the extension is wrapped once,
at import, so such a call raises an ``InvalidArgumentError`` (a ``ValueError``) that
says which argument and what range it must be in, whichever public function passed it
on. The argument is found from the call itself (its arguments bound to the function's
signature, the first integer outside the 64-bit range), never from pyo3's wording.

An argument of the wrong type (a string where the extension takes a count) is found the
same way: the call's arguments are held against the extension's own annotations, read
from its stub (``_prefcore.pyi``, which stubtest keeps equal to the extension's
signatures) with the checks public functions use (:mod:`prefcore._typed`).
"""

from __future__ import annotations

import ast
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from prefcore._typed import annotation_check
from prefcore.errors import ArgumentTypeError, InvalidArgumentError, PrefcoreError

_U64 = range(0, 2**64)
_I64 = range(-(2**63), 2**63)


def _bound(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name (none when they do not bind)."""
    if signature is None:
        return {}
    try:
        return dict(signature.bind(*args, **kwargs).arguments)
    except TypeError:
        return {}


def _out_of_range(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, int] | None:
    """The integer argument that cannot have fitted its 64-bit parameter, by name."""
    bound = _bound(signature, args, kwargs)
    ints = [(k, v) for k, v in bound.items() if isinstance(v, int) and not isinstance(v, bool)]
    # Outside both ranges fails whatever the parameter's type; a negative value fails
    # the unsigned parameters (most of them), one above 2**63 - 1 the signed ones.
    passes: list[Callable[[int], bool]] = [
        lambda v: v not in _U64 and v not in _I64,
        lambda v: v not in _U64,
        lambda v: v not in _I64,
    ]
    for misfit in passes:
        for name, value in ints:
            if misfit(value):
                return name, value
    return None


@functools.cache
def _stub_annotations() -> dict[str, dict[str, Any]]:
    """Each function of the extension's stub: its parameters' annotations, evaluated
    (the stub's ``Literal`` aliases included). Read on the first mistyped call only."""
    import numpy as np
    import pyarrow as pa

    tree = ast.parse((Path(__file__).parent / "_prefcore.pyi").read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {**vars(typing), "np": np, "pa": pa}
    out: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.startswith("_"):
                try:  # the option aliases; a Protocol union only the checker reads
                    namespace[target.id] = eval(ast.unparse(node.value), namespace)
                except Exception:
                    continue
        elif isinstance(node, ast.FunctionDef):
            arguments = node.args
            params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            annotations = {}
            for p in params:
                if p.annotation is None:
                    continue
                try:
                    annotations[p.arg] = eval(ast.unparse(p.annotation), namespace)
                except Exception:
                    continue  # a name only the type checker sees: not checked
            out[node.name] = annotations
    return out


def _mistyped(
    name: str, signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, str, str] | None:
    """The first argument whose value the extension's annotation refuses: its name,
    what the annotation wants, and what was given."""
    bound = _bound(signature, args, kwargs)
    annotations = _stub_annotations().get(name, {})
    for argument, value in bound.items():
        check = annotation_check(annotations.get(argument))
        found = check.problem(value) if check is not None else None
        if found is not None:
            return argument, found[1], type(value).__name__
    return None


def _translated(fn: Callable[..., Any]) -> Callable[..., Any]:
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OverflowError as err:
            found = _out_of_range(signature, args, kwargs)
            name, value = found if found else (None, None)
            what = f"'{name}'" if name else "an integer argument"
            raise InvalidArgumentError(
                f"{what} is out of range: expected a non-negative integer that fits in "
                f"64 bits, not {value}",
                argument=name,
            ) from err
        except TypeError as err:
            if isinstance(err, PrefcoreError):
                raise
            # pyo3 could not convert an argument (a str where an int belongs).
            mistyped = _mistyped(fn.__name__, signature, args, kwargs)
            if mistyped is None:  # one the annotations cannot judge: pyo3's own words
                words = " ".join([str(err), *getattr(err, "__notes__", [])])
                raise ArgumentTypeError(words) from err
            argument, wanted, given = mistyped
            raise ArgumentTypeError(
                f"{argument} must be {wanted}, not {given}", argument=argument
            ) from err

    return call


def install(module: ModuleType) -> None:
    """Wrap every function of the extension ``module`` in place."""
    for name in dir(module):
        value = getattr(module, name)
        if type(value).__name__ == "builtin_function_or_method":
            setattr(module, name, _translated(value))
