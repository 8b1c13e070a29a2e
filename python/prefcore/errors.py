"""The exceptions prefcore raises for bad input, so that a caller can catch them apart
from other errors and read where the input was wrong.

Every one of them is a :class:`PrefcoreError`, itself a ``ValueError`` (code written
against ``except ValueError`` keeps working); a wrong type (:class:`ColumnTypeError`,
:class:`ArgumentTypeError`) is also a ``TypeError``, as wrong types always were, so
both ``except`` forms catch it. Each carries what it is about as attributes (``None``
where it does not apply): ``column`` and ``row`` for one value, ``argument`` for an
option, ``query_id`` for a whole query of a TREC table, ``path`` and ``line`` for a
file.
The message says the same in words. The classes are made by the compiled core when it
loads, so an error is the same class whichever layer noticed it; they pickle with their
attributes (to Ray workers and back).

Arguments are checked at the call, against the public signature: an argument whose
annotation is a plain type (``int``, ``float``, ``bool``, ``str``, a pair of them, a list
of column names) and gets another is an :class:`ArgumentTypeError`, and an option
outside its ``Literal`` an :class:`InvalidArgumentError` listing the accepted values;
the option vocabularies themselves are the Rust core's (``tests/test_options.py``
holds the ``Literal``s to them). No bad argument surfaces as an ``AttributeError`` or a
bare ``TypeError`` from inside a function (``tests/test_bad_arguments.py`` walks every
public function to show it).

>>> import prefcore
>>> try:
...     prefcore.dedup.minhash({"text": ["a b"]}, "text", tokenizer="chars")
... except prefcore.errors.InvalidArgumentError as e:
...     print(e.argument, "|", e)
tokenizer | tokenizer must be one of 'word', 'char'; not 'chars'

>>> import prefcore
>>> try:
...     prefcore.metrics.evaluate_grouped([[0.5, float("nan")]], [[1, 0]], "ndcg@2")
... except prefcore.errors.InvalidValueError as e:
...     print(e.column, e.row)
scores 0
"""

from __future__ import annotations

# The classes are the extension's own: made in Rust when it loads (one hierarchy for
# the errors the core raises and the ones this package raises), shown here.
from prefcore._prefcore import (
    ArgumentTypeError,
    ColumnTypeError,
    InputError,
    InvalidArgumentError,
    InvalidQueryError,
    InvalidValueError,
    MissingColumnError,
    PrefcoreError,
)

__all__ = [
    "ArgumentTypeError",
    "ColumnTypeError",
    "InputError",
    "InvalidArgumentError",
    "InvalidQueryError",
    "InvalidValueError",
    "MissingColumnError",
    "PrefcoreError",
    "invalid_value",
]


def invalid_value(column: str, row: int | None, message: str) -> InvalidValueError:
    """The error for one bad value, worded as the core words it.

    >>> e = invalid_value("score", 3, "NaN")
    >>> str(e), e.column, e.row
    ("column 'score', row 3: NaN", 'score', 3)
    """
    return InvalidValueError(f"column '{column}', row {row}: {message}", column=column, row=row)
