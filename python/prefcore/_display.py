"""Compact display of result objects: in a terminal and in notebooks, a result shows
its counts first and each of its arrays and tables by size, never their values (a
``DedupResult`` of a million rows is a few lines, not a million booleans).

Result dataclasses inherit :class:`Summarised` and are declared with ``repr=False``
so that the dataclass machinery does not write its own ``__repr__`` over this one.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import numpy as np
import pyarrow as pa

from prefcore._arrow import frame_kind

#: A scalar or a dict longer than this is cut in the display (its value is intact).
_WIDTH = 200


def describe(value: Any) -> str:
    """One line saying what ``value`` is and how big, without its contents.

    >>> describe(pa.table({"a": [1, 2], "b": ["x", "y"]}))
    'pyarrow.Table: 2 rows x 2 columns [a, b]'
    >>> describe(pa.array([True, None, False]))
    'pyarrow.BooleanArray: 3 values (1 null)'
    """
    if isinstance(value, pa.Table):
        names = ", ".join(value.column_names[:8]) + (", ..." if value.num_columns > 8 else "")
        return f"pyarrow.Table: {value.num_rows:,} rows x {value.num_columns} columns [{names}]"
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        kind = type(value).__name__
        nulls = f" ({value.null_count:,} null)" if value.null_count else ""
        return f"pyarrow.{kind}: {len(value):,} values{nulls}"
    frame = _frame_size(value)
    if frame is not None:
        rows, columns = frame
        shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        kind = f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"
        return f"{kind}: {rows:,} rows x {len(columns)} columns [{shown}]"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray: shape {value.shape}, {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a torch tensor
        return f"{type(value).__module__}.{type(value).__name__}: shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 4] + " ..."


def _frame_size(value: Any) -> tuple[int, list[str]] | None:
    """Rows and column names of a ``datasets.Dataset`` or a polars / pandas frame."""
    kind = frame_kind(value)
    if kind is None:
        return None
    if kind == "datasets":
        return value.num_rows, list(value.column_names)
    return len(value), [str(c) for c in value.columns]


def _field_names(result: Any) -> list[str]:
    """A result's fields: a dataclass's, or those a result class of the compiled core
    lists in ``_fields``."""
    if dataclasses.is_dataclass(result):
        return [f.name for f in dataclasses.fields(result)]
    return list(type(result)._fields)


def summary_parts(result: Any) -> list[tuple[str, str]]:
    """Each field of ``result`` with what :func:`describe` says of it, ``stats`` first."""
    fields = _field_names(result)
    fields.sort(key=lambda name: name != "stats")
    return [(name, describe(getattr(result, name))) for name in fields]


def summary_repr(result: Any) -> str:
    """The ``repr`` of a result: its class, then a line per field."""
    inner = "".join(f"\n  {name}: {text}" for name, text in summary_parts(result))
    return f"{type(result).__name__}({inner}\n)"


def summary_html(result: Any) -> str:
    """The notebook display of a result: a table of its fields."""
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
        f"<td style='text-align:left'><code>{html.escape(text)}</code></td></tr>"
        for name, text in summary_parts(result)
    )
    return f"<b>{html.escape(type(result).__name__)}</b><table>{rows}</table>"


class Summarised:
    """``repr`` and ``_repr_html_`` for a result dataclass: ``stats`` (when it has
    them) first, then every other field described by :func:`describe`. The result
    classes of the compiled core call the same functions."""

    def __repr__(self) -> str:
        return summary_repr(self)

    def _repr_html_(self) -> str:
        return summary_html(self)
