"""Integer arguments out of range get an :class:`~prefcore.errors.InvalidArgumentError`
naming the argument, and arguments pyo3 cannot convert an
:class:`~prefcore.errors.ArgumentTypeError`.

The extension's functions take sizes, seeds and counts as unsigned 64-bit integers;
a negative or huge Python int fails there with a bare ``OverflowError`` ("can't
convert negative int to unsigned"). Every function of the extension is wrapped once,
at import, so such a call raises an ``InvalidArgumentError`` (a ``ValueError``) that
says which argument and what range it must be in, whichever public function passed it
on. The argument's name is read from pyo3's message; should a pyo3 release word it
otherwise, the error still names the range and is still a ``PrefcoreError``
(``tests/test_exception_classes.py`` checks the names).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from prefcore.errors import ArgumentTypeError, InvalidArgumentError, PrefcoreError

_ARGUMENT = re.compile(r"argument '(\w+)'|processing '(\w+)'")


def _argument_of(err: Exception) -> str | None:
    for text in [str(err), *getattr(err, "__notes__", [])]:
        found = _ARGUMENT.search(text)
        if found:
            return found.group(1) or found.group(2)
    return None


def _translated(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OverflowError as err:
            name = _argument_of(err)
            what = f"'{name}'" if name else "an integer argument"
            raise InvalidArgumentError(
                f"{what} is out of range: expected a non-negative integer that fits in "
                f"64 bits ({err})",
                argument=name,
            ) from err
        except TypeError as err:
            if isinstance(err, PrefcoreError):
                raise
            # pyo3 could not convert an argument (a str where an int belongs).
            raise ArgumentTypeError(
                " ".join([str(err), *getattr(err, "__notes__", [])]), argument=_argument_of(err)
            ) from err

    return call


def install(module: ModuleType) -> None:
    """Wrap every function of the extension ``module`` in place."""
    for name in dir(module):
        value = getattr(module, name)
        if type(value).__name__ == "builtin_function_or_method":
            setattr(module, name, _translated(value))
