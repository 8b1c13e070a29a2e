"""Turn what users hold (pyarrow, polars, pandas, Hugging Face datasets, numpy, lists)
into objects that export the Arrow PyCapsule interface, without copying where the
source allows it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def as_table(obj: Any, what: str) -> Any:
    """Return an object exporting ``__arrow_c_stream__`` for a table-like ``obj``;
    a pyarrow table's dictionary columns come back decoded to their values."""
    # Hugging Face datasets: Dataset.data is a datasets.table.Table wrapping pyarrow.
    inner = getattr(getattr(obj, "data", None), "table", None)
    if isinstance(inner, pa.Table):
        return inner
    if isinstance(obj, pa.Table):
        return decode_dictionaries(obj)
    if hasattr(obj, "__arrow_c_stream__"):
        return obj
    if hasattr(obj, "__arrow_c_array__"):  # a RecordBatch-like object
        return pa.table(obj)
    if isinstance(obj, Mapping):
        return decode_dictionaries(pa.table(dict(obj)))
    raise TypeError(
        f"{what} must be an Arrow table (pyarrow, polars, pandas, datasets) or a dict of "
        f"columns, not {type(obj).__name__}"
    )


def as_pyarrow_table(obj: Any, what: str) -> pa.Table:
    """A table-like ``obj`` as a ``pyarrow.Table``, dictionary columns decoded."""
    t = as_table(obj, what)  # a pyarrow table comes back decoded already
    return t if isinstance(t, pa.Table) else decode_dictionaries(pa.table(t))


def decode_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with each dictionary column (``texts="dictionary"`` pairs, pandas
    categoricals) decoded to its plain values, so checks on column types see texts."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            chunks = [c.dictionary_decode() for c in table.column(i).chunks]
            plain = pa.chunked_array(chunks, f.type.value_type)
            table = table.set_column(i, f.with_type(f.type.value_type), plain)
    return table


def as_array(obj: Any, what: str) -> Any:
    """Return an object exporting an Arrow array or stream for a 1-D ``obj``."""
    if hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__"):
        return obj
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.ndim != 1:
            raise ValueError(f"{what} must be 1-D, got an array of shape {obj.shape}")
        return pa.array(obj)
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return pa.array(obj)
    raise TypeError(
        f"{what} must be an Arrow array, numpy array or sequence, not {type(obj).__name__}"
    )


def as_list_array(obj: Any, what: str) -> Any:
    """Return an Arrow list array for grouped data: a list column, a 2-D numpy array
    (one row per group, zero-copy), or a sequence of sequences."""
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.ndim != 2:
            raise ValueError(f"{what} must be 2-D (groups x candidates), got shape {obj.shape}")
        flat = pa.array(np.ascontiguousarray(obj).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, obj.shape[1])
    if hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__"):
        return obj
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return pa.array([list(g) for g in obj])
    raise TypeError(
        f"{what} must be a list column, a 2-D numpy array or a sequence of sequences, "
        f"not {type(obj).__name__}"
    )


def first_true(mask: Any) -> int | None:
    """The first row where a boolean Arrow array (or chunked array) is true."""
    hits = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
    return int(hits[0]) if len(hits) else None


def require_columns(table: Any, *names: str | None) -> None:
    """A ``ValueError`` naming the first of ``names`` (None skipped) missing from ``table``."""
    for name in names:
        if name is not None and name not in table.column_names:
            raise ValueError(
                f"column '{name}' not found; the table has columns {table.column_names}"
            )
