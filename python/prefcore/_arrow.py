"""Turn what users hold (pyarrow, polars, pandas, Hugging Face datasets, numpy, lists)
into objects that export the Arrow PyCapsule interface, without copying where the
source allows it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from prefcore import _prefcore
from prefcore.errors import (
    ArgumentTypeError,
    ColumnTypeError,
    InvalidArgumentError,
    MissingColumnError,
    invalid_value,
)

#: pandas frames of fewer rows are converted on the calling thread.
_THREADED_ROWS = 100_000


def as_table(obj: Any, what: str) -> pa.Table:
    """A table-like ``obj`` as a ``pyarrow.Table`` (zero-copy where the source allows),
    dictionary columns decoded to their values.

    A Hugging Face ``datasets.Dataset`` is read as the rows the user sees: after
    ``filter``, ``select``, ``shuffle`` or ``train_test_split`` that is the underlying
    table taken through the dataset's indices mapping (a slice when the rows are
    contiguous, so no copy). Duplicate column names are an error, never a silent pick.
    """
    view = _dataset_rows(obj)
    if view is not None:
        table = view
    elif isinstance(obj, pa.Table):
        table = obj
    elif isinstance(obj, pa.RecordBatch):
        table = pa.Table.from_batches([obj])
    elif frame_kind(obj) == "pandas":
        # pa.table(frame) converts columns on a fresh thread pool: for a small frame
        # starting the threads costs more than the conversion.
        table = pa.Table.from_pandas(obj, nthreads=1 if len(obj) < _THREADED_ROWS else None)
    elif hasattr(obj, "__arrow_c_stream__"):
        table = pa.table(obj)
    elif hasattr(obj, "__arrow_c_array__"):  # a RecordBatch-like object
        table = pa.table(obj)
    elif isinstance(obj, Mapping):
        table = pa.table(dict(obj))
    else:
        raise ArgumentTypeError(
            f"{what} must be an Arrow table (pyarrow, polars, pandas, datasets) or a dict "
            f"of columns, not {type(obj).__name__}",
            argument=what,
        )
    _require_unique_names(table, what)
    return decode_dictionaries(table)


def _dataset_rows(obj: Any) -> pa.Table | None:
    """The visible rows of a Hugging Face ``datasets.Dataset``; None for anything else."""
    inner = getattr(getattr(obj, "data", None), "table", None)
    if not isinstance(inner, pa.Table):
        return None
    mapping = getattr(obj, "_indices", None)
    if mapping is None:
        return inner
    mapping = getattr(mapping, "table", mapping)
    indices = np.asarray(mapping.column(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    if len(indices) == 0:
        return inner.slice(0, 0)
    first = int(indices[0])
    if int(indices[-1]) - first == len(indices) - 1 and (
        len(indices) == 1 or bool(np.all(np.diff(indices) == 1))
    ):
        return inner.slice(first, len(indices))
    return inner.take(pa.array(indices))


def _require_unique_names(table: pa.Table, what: str) -> None:
    seen: set[str] = set()
    for name in table.column_names:
        if name in seen:
            raise InvalidArgumentError(
                f"{what} has two columns named '{name}'; rename one so it is clear which to read"
            )
        seen.add(name)


def as_pyarrow_table(obj: Any, what: str) -> pa.Table:
    """A table-like ``obj`` as a ``pyarrow.Table`` whose columns pyarrow's compute
    functions take: dictionaries decoded, ``string_view``/``binary_view`` cast to
    ``large_string``/``large_binary`` and ``list_view`` to lists, at any nesting."""
    table = as_table(obj, what)
    for i, f in enumerate(table.schema):
        plain = plain_type(f.type)
        if plain != f.type:
            table = table.set_column(i, f.with_type(plain), _cast_plain(table.column(i), plain))
    return table


def decode_dictionaries(table: pa.Table) -> pa.Table:
    """``table`` with each dictionary column (``texts="dictionary"`` pairs, pandas
    categoricals) decoded to its plain values, so checks on column types see texts."""
    for i, f in enumerate(table.schema):
        if pa.types.is_dictionary(f.type):
            value_type = plain_type(f.type.value_type)
            chunks = [_decode(c) for c in table.column(i).chunks]
            plain = pa.chunked_array(chunks, value_type)
            table = table.set_column(i, f.with_type(value_type), plain)
    return table


def _decode(a: pa.DictionaryArray) -> pa.Array:
    """A dictionary array as its values; a view-typed dictionary (polars' Categorical)
    is cast to plain strings first, as pyarrow's ``take`` has no view kernels."""
    values = a.dictionary
    plain = plain_type(values.type)
    if plain != values.type:
        values = _decode_nested(values).cast(plain)
    return pa.DictionaryArray.from_arrays(a.indices, values).dictionary_decode()


def plain_type(t: pa.DataType) -> pa.DataType:
    """``t`` with every view and dictionary layout replaced by its plain counterpart."""
    if pa.types.is_dictionary(t):
        return plain_type(t.value_type)
    if t == pa.string_view():
        return pa.large_string()
    if t == pa.binary_view():
        return pa.large_binary()
    if pa.types.is_list_view(t) or pa.types.is_list(t):
        return pa.list_(_plain_field(t.value_field))
    if pa.types.is_large_list_view(t) or pa.types.is_large_list(t):
        return pa.large_list(_plain_field(t.value_field))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(_plain_field(t.value_field), t.list_size)
    if pa.types.is_struct(t):
        return pa.struct([_plain_field(t.field(i)) for i in range(t.num_fields)])
    return t


def _plain_field(f: pa.Field) -> pa.Field:
    return f.with_type(plain_type(f.type))


def _cast_plain(column: pa.ChunkedArray, plain: pa.DataType) -> pa.ChunkedArray:
    chunks = []
    for chunk in column.chunks:
        chunk = _decode_nested(chunk)
        chunks.append(chunk if chunk.type == plain else chunk.cast(plain))
    return pa.chunked_array(chunks, plain)


def _decode_nested(a: pa.Array) -> pa.Array:
    """``a`` with dictionaries decoded at every nesting level (cast cannot decode a
    dictionary inside a list or struct)."""
    if pa.types.is_dictionary(a.type):
        return _decode_nested(_decode(a))
    if pa.types.is_list_view(a.type) or pa.types.is_large_list_view(a.type):
        a = _list_view_to_list(a)
    if pa.types.is_list(a.type) or pa.types.is_large_list(a.type):
        values = _decode_nested(a.values)
        if values.type != a.values.type:
            cls = pa.LargeListArray if pa.types.is_large_list(a.type) else pa.ListArray
            return cls.from_arrays(a.offsets, values, mask=a.is_null() if a.null_count else None)
        return a
    if pa.types.is_struct(a.type):
        fields = [_decode_nested(a.field(i)) for i in range(a.type.num_fields)]
        if any(f.type != a.type.field(i).type for i, f in enumerate(fields)):
            names = [a.type.field(i).name for i in range(a.type.num_fields)]
            return pa.StructArray.from_arrays(
                fields, names, mask=a.is_null() if a.null_count else None
            )
        return a
    return a


def _list_view_to_list(a: pa.Array) -> pa.Array:
    """A (large) list_view array as a (large) list array of the same lists. Views in
    order share the child values; others gather them. (pyarrow's own cast produces an
    invalid array for some large list views.)"""
    large = pa.types.is_large_list_view(a.type)
    width = pa.int64() if large else pa.int32()
    cls = pa.LargeListArray if large else pa.ListArray
    valid = np.asarray(a.is_valid()) if a.null_count else None
    sizes = np.asarray(a.sizes, dtype=np.int64)
    starts = np.asarray(a.offsets, dtype=np.int64)
    if valid is not None:
        sizes = np.where(valid, sizes, 0)  # a null slot's view may be anything
    ends = np.cumsum(sizes)
    mask = a.is_null() if valid is not None else None
    nonempty = sizes > 0
    in_order = len(a) == 0 or bool(np.all(np.diff(starts[nonempty]) == sizes[nonempty][:-1]))
    if in_order:  # each list starts where the previous non-empty one ended
        base = int(starts[nonempty][0]) if nonempty.any() else 0
        offsets = np.concatenate([[0], ends]) + base
        return cls.from_arrays(pa.array(offsets, width), a.values, mask=mask)
    first = np.concatenate([[0], ends[:-1]])
    gather = np.repeat(starts - first, sizes) + np.arange(int(ends[-1]))
    values = a.values.take(pa.array(gather, pa.int64()))
    return cls.from_arrays(pa.array(np.concatenate([[0], ends]), width), values, mask=mask)


def tensor_to_numpy(tensor: Any) -> np.ndarray:
    """A torch tensor as numpy, on the CPU; bfloat16 and float16 (which numpy lacks or
    prefcore's kernels do not take) widened to float32, exactly."""
    t = tensor.detach().cpu()
    if t.is_floating_point() and t.element_size() < 4:
        t = t.float()
    return np.asarray(t.numpy())


def as_array(obj: Any, what: str) -> Any:
    """Return an object exporting an Arrow array or stream for a 1-D ``obj``."""
    if hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__"):
        return obj
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        obj = tensor_to_numpy(obj)
    if isinstance(obj, np.ndarray):
        if obj.ndim != 1:
            raise InvalidArgumentError(
                f"{what} must be 1-D, got an array of shape {obj.shape}", argument=what
            )
        return pa.array(obj)
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return pa.array(obj)
    raise ArgumentTypeError(
        f"{what} must be an Arrow array, numpy array or sequence, not {type(obj).__name__}",
        argument=what,
    )


def as_list_array(obj: Any, what: str) -> Any:
    """Return an Arrow list array for grouped data: a list column, a 2-D numpy array
    (one row per group, zero-copy), or a sequence of sequences."""
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        obj = tensor_to_numpy(obj)
    if isinstance(obj, np.ndarray):
        if obj.ndim != 2:
            raise InvalidArgumentError(
                f"{what} must be 2-D (groups x candidates), got shape {obj.shape}", argument=what
            )
        flat = pa.array(np.ascontiguousarray(obj).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, obj.shape[1])
    if hasattr(obj, "__arrow_c_array__") or hasattr(obj, "__arrow_c_stream__"):
        return obj
    if isinstance(obj, Sequence) and not isinstance(obj, (str, bytes)):
        return pa.array([list(g) for g in obj])
    raise ArgumentTypeError(
        f"{what} must be a list column, a 2-D numpy array or a sequence of sequences, "
        f"not {type(obj).__name__}",
        argument=what,
    )


def first_true(mask: Any) -> int | None:
    """The first row where a boolean Arrow array (or chunked array) is true."""
    hits = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
    return int(hits[0]) if len(hits) else None


def require_columns(table: Any, *names: str | None) -> None:
    """A ``ValueError`` naming the first of ``names`` (None skipped) missing from ``table``."""
    for name in names:
        if name is not None and name not in table.column_names:
            raise MissingColumnError(
                f"column '{name}' not found; the table has columns {table.column_names}",
                column=name,
            )


def first_null_row(column: pa.ChunkedArray | pa.Array) -> int | None:
    """The first row holding a null at any nesting level (the row itself, a list item,
    a struct field such as a message's ``content``); None when there is none."""
    if isinstance(column, pa.ChunkedArray):
        start = 0
        for chunk in column.chunks:
            row = first_null_row(chunk)
            if row is not None:
                return start + row
            start += len(chunk)
        return None
    array = column
    if pa.types.is_dictionary(array.type):
        array = _decode(array)
    rows = []
    if array.null_count:
        rows.append(first_true(array.is_null()))
    if pa.types.is_struct(array.type):
        for i in range(array.type.num_fields):
            inner = first_null_row(array.field(i))  # sliced with the struct
            if inner is not None:
                rows.append(inner)
    elif pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        offsets = array.offsets.to_numpy(zero_copy_only=False)
        child = array.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        inner = first_null_row(child)
        if inner is not None:
            rows.append(int(np.searchsorted(offsets - offsets[0], inner, side="right") - 1))
    found = [r for r in rows if r is not None]
    return min(found) if found else None


def require_no_nulls(table: pa.Table, *names: str | None) -> None:
    """A ``ValueError`` naming the column and row of the first null, at any nesting
    level, in the columns ``names`` (None skipped)."""
    for name in names:
        if name is None:
            continue
        row = first_null_row(table.column(name))
        if row is not None:
            raise invalid_value(name, row, "null value; nulls are not allowed here")


def float32_matrix(x: Any, name: str) -> np.ndarray:
    """A C-contiguous float32 ``[n, d]`` array from numpy, torch or an Arrow
    fixed-size-list column."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # torch
        x = tensor_to_numpy(x)
    if isinstance(x, (pa.ChunkedArray, pa.Array)):
        arr = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
        if not pa.types.is_fixed_size_list(arr.type):
            raise ArgumentTypeError(
                f"{name}: Arrow embeddings must be fixed_size_list<float>, not {arr.type}",
                argument=name,
            )
        row = first_null_row(arr)
        if row is not None:
            raise invalid_value(name, row, "null embedding or null value in it")
        x = arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), arr.type.list_size)
    a = np.asarray(x)
    if a.ndim != 2:
        raise InvalidArgumentError(
            f"{name} must be 2-D (rows x dimensions), got shape {a.shape}", argument=name
        )
    if not np.issubdtype(a.dtype, np.floating):
        raise ArgumentTypeError(f"{name} must hold floats, not {a.dtype}", argument=name)
    if a.dtype.itemsize > 4:
        # A finite value beyond float32's range would become inf in the cast.
        beyond = np.argwhere(np.isfinite(a) & (np.abs(a) > np.finfo(np.float32).max))
        if len(beyond):
            row, dim = beyond[0]
            raise invalid_value(
                name,
                row,
                f"value {a[row, dim]} at dimension {dim} is beyond float32's range "
                "(embeddings are compared in float32)",
            )
    return np.ascontiguousarray(a, dtype=np.float32)


def filter_like(obj: Any, mask: Any, what: str) -> Any:
    """The rows of ``obj`` where ``mask`` is true, in ``obj``'s own type: a
    ``datasets.Dataset`` through ``select`` (features kept, a fingerprint of its own),
    a polars ``DataFrame`` through ``filter`` (dtypes such as Categorical kept), a
    pandas ``DataFrame`` by boolean indexing (index labels kept), anything else as a
    ``pyarrow.Table``. A mask of another length is an error.

    >>> filter_like({"a": [1, 2, 3]}, [True, False, True], "table").column("a").to_pylist()
    [1, 3]
    """
    keep = np.asarray(
        mask.to_numpy(zero_copy_only=False) if hasattr(mask, "to_numpy") else mask, dtype=bool
    )
    kind = frame_kind(obj)
    table = None if kind is not None else as_pyarrow_table(obj, what)
    rows = len(obj) if table is None else table.num_rows
    if rows != len(keep):
        raise InvalidArgumentError(f"the {what} has {rows} rows; this result is for {len(keep)}")
    if table is not None:
        return table.filter(pa.array(keep))
    if kind == "datasets":
        return obj.select(np.flatnonzero(keep))
    if kind == "polars":
        import polars

        return obj.filter(polars.Series(keep))
    return obj[keep]  # pandas


def frame_kind(obj: Any) -> Literal["datasets", "polars", "pandas"] | None:
    """Which of the table types users hold ``obj`` is (results come back in it), or
    None for anything else (results come back as a ``pyarrow.Table``)."""
    module, name = type(obj).__module__, type(obj).__name__
    if module.startswith("datasets") and name == "Dataset":
        return "datasets"
    if module.startswith("polars") and name == "DataFrame":
        return "polars"
    if module.startswith("pandas") and name == "DataFrame":
        return "pandas"
    return None


def in_callers_type(
    obj: Any, table: pa.Table, transform: str, *, same_rows: bool = False, **args: Any
) -> Any:
    """``table``, computed from the caller's ``obj``, in ``obj``'s own type.

    - ``datasets.Dataset``: a column that keeps its name and Arrow type keeps its
      feature (``ClassLabel``, ``Image`` ...), new columns get inferred ones; the info
      (description, citation) and split are kept; the fingerprint is the input's
      updated with ``transform`` and its ``args``, as ``Dataset.map`` does, so equal
      calls give equal fingerprints and caches stay valid.
    - polars ``DataFrame``: a column that keeps its name gets its input dtype back
      where Arrow loses it (``Categorical``, ``Enum``).
    - pandas ``DataFrame``: likewise for ``category`` columns; the index is kept when
      the result has the input's rows in order (``same_rows``), else it is a fresh
      ``RangeIndex``.
    - anything else: the ``pyarrow.Table``.

    >>> in_callers_type({"a": [1]}, pa.table({"a": [1], "b": [2]}), "demo").column_names
    ['a', 'b']
    """
    kind = frame_kind(obj)
    if kind == "datasets":
        return _as_dataset(obj, table, transform, args)
    if kind == "polars":
        import polars

        out = polars.from_arrow(table)
        assert isinstance(out, polars.DataFrame)
        restore = {
            n: obj.schema[n]
            for n in out.columns
            if n in obj.columns
            and isinstance(obj.schema[n], (polars.Categorical, polars.Enum))
            and out.schema[n] == polars.String
        }
        return out.with_columns([polars.col(n).cast(t) for n, t in restore.items()])
    if kind == "pandas":
        out = table.to_pandas()
        for n in out.columns:
            if n in obj.columns and str(obj[n].dtype) == "category":
                out[n] = out[n].astype(obj[n].dtype)
        if same_rows and len(out) == len(obj):
            out.index = obj.index
        return out
    return table


def _as_dataset(obj: Any, table: pa.Table, transform: str, args: dict[str, Any]) -> Any:
    import copy

    import datasets
    from datasets.fingerprint import Hasher

    features = datasets.Features.from_arrow_schema(table.schema)
    for name in table.column_names:
        if name in obj.features:
            kept = datasets.Features({name: obj.features[name]})
            if kept.arrow_schema.field(name).type == table.schema.field(name).type:
                features[name] = obj.features[name]
    info = copy.deepcopy(obj.info)
    info.features = features
    hasher = Hasher()
    hasher.update(obj._fingerprint)
    hasher.update(transform)
    for name, value in sorted(args.items()):
        hasher.update(name)
        try:  # a tokenizer is hashed by its contents, as Dataset.map hashes it
            hasher.update(value)
        except Exception:  # anything unpicklable: by its description
            hasher.update(repr(value))
    return datasets.Dataset(
        datasets.table.InMemoryTable(table),
        info=info,
        split=obj.split,
        fingerprint=hasher.hexdigest(),
    )


def ids_to_arrow(ids: Sequence[Sequence[int]], column: str = "ids") -> pa.Array:
    """Python lists of token ids as one ``list<int32>`` array; anything but lists of
    integers is a ``TypeError`` naming ``column``.

    >>> ids_to_arrow([[5, 6], [7]]).to_pylist()
    [[5, 6], [7]]
    >>> ids_to_arrow([[1.5]], "chosen_ids")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    prefcore.errors.ColumnTypeError: column 'chosen_ids' has type List(Float64); expected ...
    """
    if not isinstance(ids, (pa.Array, pa.ChunkedArray)):
        try:
            # Item by item in Rust: several times faster than Arrow's type inference.
            return _prefcore.token_lists(ids, column)
        except TypeError:
            pass  # the inference below names the type that was found
    try:
        # Type inference keeps floats and bools visible for the check below.
        array = pa.array(ids)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as err:
        raise ColumnTypeError(
            f"column '{column}': token ids must be lists of integers ({err})", column=column
        ) from err
    if len(array) and pa.types.is_null(array.type):
        raise invalid_value(column, 0, "null token list")
    if not len(array):
        array = pa.array([], pa.list_(pa.int32()))
    return _prefcore.normalize_tokens(array, column)
