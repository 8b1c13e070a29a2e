"""Arguments checked against the public functions' own annotations, at the call.

A public function's signature already says what each argument is: ``threshold: float``,
``seed: int``, ``tokenizer: Literal["word", "char"]``, ``level: float | None``. Each
public module ends with :func:`check_arguments`, which wraps its functions (and its
classes' constructors) so that an argument of the wrong type is an
:class:`~prefcore.errors.ArgumentTypeError` naming it, and a value outside a
``Literal`` an :class:`~prefcore.errors.InvalidArgumentError` naming it and the accepted
values, before the body runs. The ``Literal`` is then the one list of accepted values
on the Python side; no tuple of them is repeated in a body.

Only plain annotations are checked (``bool``, ``int``, ``float``, ``str``, a
``Literal``, unions and ``None`` of those); an argument annotated with anything else
(``Any``, a table, a sequence, a class) is left to the function.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import numbers
import sys
import typing
from collections.abc import Callable, Sequence
from types import UnionType
from typing import Any, Literal, Union

from prefcore.errors import ArgumentTypeError, InvalidArgumentError, PrefcoreError

__all__ = ["annotation_check", "check_arguments", "check_fields"]

_CHECKED = "__prefcore_checked__"


class _Check:
    """The check of one annotation; ``problem(value)`` is None when the value is fine,
    else the error class and what the annotation wanted, in words. ``items``: a
    fixed-size tuple's checks, one per place; ``each``: the check of every item of a
    sequence of strings."""

    def __init__(
        self,
        simple: tuple[type, ...],
        literals: tuple[Any, ...],
        optional: bool,
        items: tuple[_Check, ...] | None = None,
        each: _Check | None = None,
    ) -> None:
        self.simple, self.literals, self.optional = simple, literals, optional
        self.items, self.each = items, each

    def problem(self, value: Any) -> tuple[type[PrefcoreError], str] | None:
        if value is None and self.optional:
            return None
        if self.items is not None:
            return self._tuple_problem(value)
        if self.each is not None:
            return self._sequence_problem(value)
        if any(_is(value, kind) for kind in self.simple):
            return None
        if self.literals and any(value == v and type(value) is type(v) for v in self.literals):
            return None
        if self.literals and isinstance(value, str) and not self.simple:
            accepted = ", ".join(map(repr, self.literals))
            return InvalidArgumentError, f"one of {accepted}" + (
                " or None" if self.optional else ""
            )
        words = [_NAMES[kind] for kind in self.simple]
        words += [", ".join(map(repr, self.literals))] if self.literals else []
        words += ["None"] if self.optional else []
        return ArgumentTypeError, " or ".join(words)

    def _tuple_problem(self, value: Any) -> tuple[type[PrefcoreError], str] | None:
        assert self.items is not None
        wanted = f"a pair or tuple of {len(self.items)}" + (" or None" if self.optional else "")
        if not isinstance(value, (tuple, list)) or len(value) != len(self.items):
            return ArgumentTypeError, wanted
        for item, check in zip(value, self.items):
            found = check.problem(item)
            if found is not None:
                return found[0], f"{wanted} whose items are each {found[1]}"
        return None

    def _sequence_problem(self, value: Any) -> tuple[type[PrefcoreError], str] | None:
        assert self.each is not None
        wanted = "a sequence of strings" + (" or None" if self.optional else "")
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return ArgumentTypeError, wanted
        if not all(self.each.problem(item) is None for item in value):
            return ArgumentTypeError, wanted
        return None


_NAMES = {bool: "a bool", int: "an integer", float: "a number", str: "a string"}


def _is(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, (bool, _numpy_bool()))
    if isinstance(value, (bool, _numpy_bool())):
        return False  # True is an int to Python, never a count or a number here
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real)
    return isinstance(value, kind)


@functools.cache
def _numpy_bool() -> type:
    import numpy as np

    return np.bool_


def _check_of(annotation: Any) -> _Check | None:
    """The check for an annotation, or None when it is not a plain one."""
    if annotation in _NAMES:
        return _Check((annotation,), (), False)
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return _Check((), typing.get_args(annotation), False)
    args = typing.get_args(annotation)
    if origin is tuple and args and Ellipsis not in args:
        items = [_check_of(a) for a in args]
        if all(c is not None for c in items):
            return _Check((), (), False, items=tuple(c for c in items if c is not None))
        return None
    if origin in (list, Sequence, collections.abc.Sequence) and args == (str,):
        return _Check((), (), False, each=_Check((str,), (), False))
    if origin in (Union, UnionType):
        simple: list[type] = []
        literals: list[Any] = []
        optional = False
        for member in typing.get_args(annotation):
            if member is type(None):
                optional = True
                continue
            check = _check_of(member)
            if check is None:
                return None  # one member the check cannot judge: leave it all to the body
            if check.items is not None or check.each is not None:
                members = typing.get_args(annotation)
                if simple or literals or len(members) != 2 or type(None) not in members:
                    return None  # a container among other kinds: left to the body
                return _Check((), (), True, items=check.items, each=check.each)
            simple += check.simple
            literals += check.literals
        return _Check(tuple(simple), tuple(literals), optional)
    return None


def annotation_check(annotation: Any) -> _Check | None:
    """The check of an evaluated annotation (None for one that is not plain): for the
    extension's boundary, which reads its annotations from the stub."""
    return None if annotation is None else _check_of(annotation)


def _evaluated(module_name: str, text: Any) -> Any:
    if not isinstance(text, str):
        return text
    module = sys.modules.get(module_name)
    try:
        return eval(text, vars(module) if module else {}, vars(typing))
    except Exception:
        return None  # a name only the type checker sees


def _checks(fn: Callable[..., Any]) -> dict[str, _Check]:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    out = {}
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.annotation is p.empty:
            continue
        check = _check_of(_evaluated(fn.__module__, p.annotation))
        if check is not None:
            out[p.name] = check
    return out


def _checked(fn: Callable[..., Any]) -> Callable[..., Any]:
    checks = _checks(fn)
    if not checks or getattr(fn, _CHECKED, False):
        return fn
    signature = inspect.signature(fn)
    # Where each checked argument is found: its position (None: keyword-only) and name.
    # Read straight from args and kwargs: binding the signature on every call would
    # cost more than most checks.
    places = [
        (i if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) else None, p.name)
        for i, p in enumerate(signature.parameters.values())
        if p.name in checks
    ]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        for index, name in places:
            if index is not None and index < len(args):
                _refuse(name, args[index], checks[name])
            elif name in kwargs:
                _refuse(name, kwargs[name], checks[name])
        try:
            return fn(*args, **kwargs)
        except TypeError as err:
            if isinstance(err, PrefcoreError):
                raise
            try:
                signature.bind(*args, **kwargs)
            except TypeError as mismatch:  # a missing or unknown argument
                raise ArgumentTypeError(f"{fn.__qualname__}(): {mismatch}") from None
            raise

    setattr(call, _CHECKED, True)
    return call


def _refuse(name: str, value: Any, check: _Check) -> None:
    found = check.problem(value)
    if found is not None:
        error, wanted = found
        if error is InvalidArgumentError:  # worded as the core words its options
            raise error(f"{name} must be {wanted}; not {value!r}", argument=name)
        raise error(f"{name} must be {wanted}, not {type(value).__name__}", argument=name)


_FIELD_CHECKS: dict[type, dict[str, _Check]] = {}


def _field_checks(cls: type) -> dict[str, _Check]:
    if cls not in _FIELD_CHECKS:
        out = {}
        for field in dataclasses.fields(cls):
            owner = next(c for c in cls.__mro__ if field.name in vars(c).get("__annotations__", {}))
            check = _check_of(_evaluated(owner.__module__, field.type))
            if check is not None:
                out[field.name] = check
        _FIELD_CHECKS[cls] = out
    return _FIELD_CHECKS[cls]


def check_fields(obj: Any) -> None:
    """Check a dataclass's fields against their annotations (a tool class's options, as
    its ``__post_init__`` receives them)."""
    for name, check in _field_checks(type(obj)).items():
        _refuse(name, getattr(obj, name), check)


def check_arguments(module_name: str) -> None:
    """Wrap the functions named in ``module_name``'s ``__all__`` (and the constructors of
    its tool classes) with the checks of their annotations. Result classes (dataclasses)
    are made by prefcore itself and are left as they are."""
    module = sys.modules[module_name]
    for name in getattr(module, "__all__", ()):
        obj = vars(module).get(name)  # not getattr: a lazy attribute would import its extra
        if not getattr(obj, "__module__", "").startswith("prefcore"):
            continue
        if inspect.isfunction(obj):
            setattr(module, name, _checked(obj))
        elif inspect.isclass(obj) and not dataclasses.is_dataclass(obj):
            init = obj.__dict__.get("__init__")
            if inspect.isfunction(init) and not issubclass(obj, BaseException):
                type.__setattr__(obj, "__init__", _checked(init))
