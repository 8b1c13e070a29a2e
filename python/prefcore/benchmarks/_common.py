"""Column readers shared by the benchmark scorers: every bad value is an error naming
its column and row, and string columns are read once as codes into their values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import first_true
from prefcore.errors import ColumnTypeError, invalid_value


def first(mask: Any) -> int:
    """The first true row of a mask known to hold one."""
    row = first_true(mask)
    assert row is not None
    return row


def no_nulls(t: pa.Table, name: str, what: str) -> pa.ChunkedArray:
    """Column ``name``, or an error naming the first row holding a null."""
    col = t.column(name)
    if col.null_count:
        raise invalid_value(name, first(pc.is_null(col)), f"null {what}")
    return col


def floats(t: pa.Table, name: str, what: str = "score") -> np.ndarray:
    """A numeric column as float64, with nulls and NaN refused by row."""
    col = no_nulls(t, name, what)
    if not (
        pa.types.is_integer(col.type)
        or pa.types.is_floating(col.type)
        or pa.types.is_boolean(col.type)
    ):
        raise ColumnTypeError(f"column '{name}' must hold numbers, not {col.type}", column=name)
    x = np.asarray(col.to_numpy(), dtype=np.float64)
    nan = np.flatnonzero(np.isnan(x))
    if len(nan):
        raise invalid_value(name, int(nan[0]), f"NaN {what}")
    return x


def strings(t: pa.Table, name: str, what: str) -> pa.ChunkedArray:
    """A string column (any Arrow string type) as ``string``, nulls refused by row."""
    col = no_nulls(t, name, what)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if not (
        pa.types.is_string(col.type)
        or pa.types.is_large_string(col.type)
        or pa.types.is_string_view(col.type)
    ):
        raise ColumnTypeError(f"column '{name}' must hold strings, not {col.type}", column=name)
    return col.cast(pa.string())


def codes(t: pa.Table, name: str, what: str) -> tuple[np.ndarray, list[str]]:
    """A string column as integer codes (first appearance order) and its values."""
    col = strings(t, name, what)
    encoded = pc.dictionary_encode(col.combine_chunks())
    return (
        np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64),
        encoded.dictionary.to_pylist(),
    )


def unique_ids(t: pa.Table, name: str) -> pa.ChunkedArray:
    """Column ``name`` with nulls and repeated ids refused by row."""
    ids = no_nulls(t, name, "id")
    if _distinct_integers(ids):
        return ids
    # Sorting finds a repeat faster than Arrow's hash count does: neighbours equal.
    flat = ids.combine_chunks()
    ordered = flat.take(pc.sort_indices(flat))
    same = pc.equal(ordered.slice(1), ordered.slice(0, max(len(ordered) - 1, 0)))
    at = first_true(same)
    if at is not None:
        twice = ordered[at]
        raise invalid_value(name, first(pc.equal(ids, twice)), f"duplicate id {twice.as_py()!r}")
    return ids


def _distinct_integers(ids: pa.ChunkedArray) -> bool:
    """True when integer ids are known distinct without hashing them: increasing (the
    usual numbering), or over a range small enough to count each value."""
    if not pa.types.is_integer(ids.type) or len(ids) == 0:
        return False
    x = np.asarray(ids.to_numpy())
    if bool(np.all(x[1:] > x[:-1])):
        return True
    low, high = int(x.min()), int(x.max())
    if high - low <= 4 * len(x):
        return bool(np.bincount(x - low).max() <= 1)
    return False


def fixed_lists(t: pa.Table, name: str, width: int | None, what: str) -> np.ndarray:
    """A list column of numbers as a float64 matrix, one row per row; every list of
    ``width`` items (or of the first row's length when ``width`` is None)."""
    col = no_nulls(t, name, what).combine_chunks()
    if width is not None and pa.types.is_fixed_size_list(col.type) and col.type.list_size == width:
        values = col.flatten()  # every list has ``width`` items by its type
        if values.null_count:
            raise invalid_value(name, first(pc.is_null(values)) // width, f"null {what}")
        return _finite_rows(name, values, width, what)
    if not (
        pa.types.is_list(col.type)
        or pa.types.is_large_list(col.type)
        or pa.types.is_fixed_size_list(col.type)
    ):
        raise ColumnTypeError(
            f"column '{name}' must hold lists of numbers, not {col.type}", column=name
        )
    lengths = np.asarray(pc.list_value_length(col).to_numpy(zero_copy_only=False))
    want = width if width is not None else (int(lengths[0]) if len(lengths) else 0)
    wrong = np.flatnonzero(lengths != want)
    if len(wrong):
        row = int(wrong[0])
        raise invalid_value(name, row, f"{lengths[row]} {what}s where {want} are expected")
    values = pc.list_flatten(col)
    if values.null_count:
        raise invalid_value(name, first(pc.is_null(values)) // max(want, 1), f"null {what}")
    return _finite_rows(name, values, want, what)


def _finite_rows(name: str, values: pa.Array, width: int, what: str) -> np.ndarray:
    """List items as a ``[rows, width]`` float64 matrix, NaN refused by row."""
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise ColumnTypeError(
            f"column '{name}' must hold lists of numbers, not lists of {values.type}",
            column=name,
        )
    x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(-1, width)
    if np.isnan(x).any():  # one flat pass; the row only when there is one
        raise invalid_value(name, int(np.flatnonzero(np.isnan(x).any(axis=1))[0]), f"NaN {what}")
    return x


def percent(value: float) -> float:
    """A [0, 1] score in percent to one decimal, as the leaderboards print it."""
    return float(np.round(value * 100, 1))
