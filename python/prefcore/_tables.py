"""The column helpers and the result type shared by the pair-construction modules
(:mod:`prefcore.pairs`, :mod:`prefcore.unpaired`, :mod:`prefcore.listwise`,
:mod:`prefcore.ratings`, :mod:`prefcore.report`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, first_true
from prefcore._display import Summarised
from prefcore.errors import invalid_value

__all__ = ["PairResult", "as_table", "codes", "is_list", "one_array", "row_of"]


#: The stats type of a :class:`PairResult`: each function that returns one says which.
S = TypeVar("S")


@dataclass(frozen=True, repr=False)
class PairResult(Summarised, Generic[S]):
    """Rows (``table``) and what happened to every prompt (``stats``).

    ``table`` comes back in the input's type: a ``datasets.Dataset`` (features of kept
    columns kept, a fingerprint of its own), a polars or pandas ``DataFrame``, else a
    ``pyarrow.Table`` (for dicts, Arrow producers and pyarrow itself)."""

    table: Any
    stats: S


def as_table(table: Any) -> pa.Table:
    return as_pyarrow_table(table, "table")


def one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as is, several joined (an empty column
    gives an empty array of its type)."""
    if col.num_chunks == 1:
        return col.chunk(0)
    if col.num_chunks == 0:
        return pa.array([], col.type)
    return col.combine_chunks()


def is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def row_of(flat_index: int, offsets: np.ndarray) -> int:
    return int(np.searchsorted(offsets, flat_index, side="right") - 1)


def codes(
    col: pa.ChunkedArray | pa.Array, name: str, sort: bool = False
) -> tuple[pa.Array, pa.Array]:
    """The distinct values of ``col`` (sorted when ``sort``) and each row's index among
    them; nulls and non-finite floats are errors naming the row."""
    if col.null_count:
        raise invalid_value(name, first_true(pc.is_null(col)), "null value")
    if pa.types.is_floating(col.type):
        bad = first_true(pc.invert(pc.is_finite(col)))
        if bad is not None:
            raise invalid_value(name, bad, f"{col[bad].as_py()} is not a finite value")
    values = pc.unique(col)
    if sort:
        values = values.take(pc.sort_indices(values))
    return values, pc.index_in(col, value_set=values)
