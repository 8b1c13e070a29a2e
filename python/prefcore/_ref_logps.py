"""Reference log-probs computed once and stored beside the data; exported by
:mod:`prefcore.torch`.

The store is an Arrow table (saved as Parquet) with ``ref_chosen_logps`` and
``ref_rejected_logps`` per pair (``ref_logps``, a list per group) and, in its schema
metadata, the fingerprint of what they were computed from: the token ids of every
row, the tokenizer, the truncation settings and the model id. Loading checks it, so
log-probs never travel with rows, a tokenizer or a model they do not belong to.
Attached to the table, they reach the batches as TRL's ``ref_chosen_logps`` /
``ref_rejected_logps``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from prefcore import _prefcore
from prefcore._arrow import as_pyarrow_table, in_callers_type
from prefcore._check import instance
from prefcore._check import path as check_path
from prefcore._optional import require
from prefcore.errors import InvalidArgumentError, invalid_value

__all__ = ["attach_ref_logps", "compute_ref_logps", "ref_logps_fingerprint", "save_ref_logps"]

PAIR_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")
FINGERPRINT_KEY = b"prefcore.ref_logps.fingerprint"
MODEL_KEY = b"prefcore.ref_logps.model_id"
# A digest of the stored values in row order: a store whose rows were reordered,
# filtered or edited after it was computed no longer matches it.
VALUES_KEY = b"prefcore.ref_logps.values"
STORE_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps", "ref_logps")


def _values_digest(store: pa.Table) -> str:
    digest = hashlib.sha256()
    for name in STORE_COLUMNS:
        if name in store.column_names:
            column = store.column(name).combine_chunks()
            digest.update(name.encode())
            if pa.types.is_list(column.type):
                digest.update(_offsets(column))
                column = column.flatten()
            digest.update(np.asarray(column, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _require_finite(store: pa.Table) -> None:
    """Log-probs must be finite numbers: NaN or -inf would train on garbage."""
    for name in STORE_COLUMNS:
        if name not in store.column_names:
            continue
        column = store.column(name).combine_chunks()
        lists = pa.types.is_list(column.type)
        values = np.asarray(column.flatten() if lists else column, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            at = int(bad[0])
            row = int(np.searchsorted(np.asarray(column.offsets), at, "right") - 1) if lists else at
            raise invalid_value(name, row, f"log-prob {values[at]} is not a finite number")


def _token_columns(t: pa.Table, completions: str) -> list[str]:
    if set(PAIR_COLUMNS) <= set(t.column_names):
        return list(PAIR_COLUMNS)
    if {"prompt_ids", completions} <= set(t.column_names):
        return ["prompt_ids", completions]
    raise InvalidArgumentError(
        f"the table needs {list(PAIR_COLUMNS)} or ['prompt_ids', '{completions}']; "
        f"it has {t.column_names}"
    )


def _tokenizer_digest(tokenizer: Any) -> str:
    if tokenizer is None:
        return ""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    text = backend.to_str() if hasattr(backend, "to_str") else repr(tokenizer)
    template = getattr(tokenizer, "chat_template", None) or ""
    return hashlib.sha256((text + str(template)).encode()).hexdigest()


def _offsets(lists: pa.Array) -> bytes:
    """List offsets from 0, whatever slice of a larger array ``lists`` is."""
    offsets = np.asarray(lists.offsets, dtype=np.int64)
    return bytes((offsets - offsets[0]).tobytes())


def ref_logps_fingerprint(
    data: Any,
    *,
    model_id: str,
    tokenizer: Any = None,
    settings: Mapping[str, Any] | None = None,
    completions: str = "completions",
) -> str:
    """A SHA-256 over the token ids of every row (in order), the tokenizer (its JSON and
    chat template), ``settings`` (e.g. ``max_length``, truncation) and ``model_id``.

    >>> rows = {"prompt_ids": [[1, 2]], "chosen_ids": [[3]], "rejected_ids": [[4]]}
    >>> a = ref_logps_fingerprint(rows, model_id="m", settings={"max_length": 512})
    >>> a == ref_logps_fingerprint(rows, model_id="m", settings={"max_length": 1024})
    False
    """
    t = as_pyarrow_table(data, "data")
    digest = hashlib.sha256()
    for name in _token_columns(t, completions):
        column = t.column(name).combine_chunks()
        digest.update(name.encode())
        if pa.types.is_list(column.type) and pa.types.is_list(column.type.value_type):
            digest.update(_offsets(column))  # groups: how many completions per row
            column = column.flatten()
        ids = _prefcore.normalize_tokens(column, name)
        digest.update(_offsets(ids))
        digest.update(np.asarray(ids.flatten(), dtype=np.int32).tobytes())
    digest.update(_tokenizer_digest(tokenizer).encode())
    digest.update(json.dumps(dict(settings or {}), sort_keys=True, default=str).encode())
    digest.update(model_id.encode())
    return digest.hexdigest()


def compute_ref_logps(
    model: Any,
    data: Any,
    *,
    model_id: str,
    pad_token_id: int,
    tokenizer: Any = None,
    settings: Mapping[str, Any] | None = None,
    batch_size: int = 16,
    max_tokens: int | None = None,
    completions: str = "completions",
) -> pa.Table:
    """The reference model's summed log-probs of every row of ``data`` (tokenized pairs
    or groups), computed on prompt-once batches without gradients, as a table with the
    fingerprint in its metadata (see :func:`save_ref_logps`, :func:`attach_ref_logps`).

    >>> import tempfile, pathlib, transformers
    >>> config = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    >>> ref = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    >>> rows = pa.table({"prompt_ids": [[1, 2], [3]], "chosen_ids": [[4], [5, 6]],
    ...                  "rejected_ids": [[7, 8], [9]]})
    >>> store = compute_ref_logps(ref, rows, model_id="tiny", pad_token_id=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ref.parquet"
    >>> save_ref_logps(store, path)
    >>> attach_ref_logps(rows, path, model_id="tiny").column_names[-2:]
    ['ref_chosen_logps', 'ref_rejected_logps']
    >>> attach_ref_logps(rows, path, model_id="other")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    prefcore.errors.InvalidArgumentError: the reference log-probs were computed from other rows, ...
    """
    torch = require("torch", "compute_ref_logps")
    from prefcore._prefix_shared import PrefixSharedCollator, sequence_logps

    t = as_pyarrow_table(data, "data")
    columns = _token_columns(t, completions)
    rows = t.select(columns).to_pylist()
    collate = PrefixSharedCollator(pad_token_id, max_tokens=max_tokens, completions=completions)
    device = next(model.parameters()).device
    parts: list[dict[str, Any]] = []
    # The reference pass is inference: dropout off (as TRL's reference model runs),
    # and the caller's mode given back afterwards.
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                batch = collate(rows[start : start + batch_size]).to(device)
                parts.append({k: v.cpu() for k, v in sequence_logps(model, batch).items()})
    finally:
        model.train(was_training)
    if "chosen_ids" in columns:
        out = pa.table(
            {
                "ref_chosen_logps": torch.cat([p["chosen_logps"] for p in parts]).double().numpy(),
                "ref_rejected_logps": torch.cat([p["rejected_logps"] for p in parts])
                .double()
                .numpy(),
            }
        )
    else:
        groups = torch.cat([p["logps"] for p in parts]).double().numpy()
        out = pa.table({"ref_logps": pa.array(list(groups), pa.list_(pa.float64()))})
    _require_finite(out)
    fingerprint = ref_logps_fingerprint(
        t, model_id=model_id, tokenizer=tokenizer, settings=settings, completions=completions
    )
    return out.replace_schema_metadata(
        {FINGERPRINT_KEY: fingerprint, MODEL_KEY: model_id, VALUES_KEY: _values_digest(out)}
    )


def save_ref_logps(store: pa.Table, path: str | os.PathLike[str]) -> None:
    """Write a store from :func:`compute_ref_logps` as Parquet, fingerprint included
    (example at :func:`compute_ref_logps`); a table without one is refused.

    >>> save_ref_logps(pa.table({"ref_chosen_logps": [0.0]}), "x.parquet")
    Traceback (most recent call last):
    prefcore.errors.InvalidArgumentError: not a reference log-prob store: it has no fingerprint
    """
    instance("store", store, pa.Table, "a pyarrow.Table (of compute_ref_logps)")
    if FINGERPRINT_KEY not in (store.schema.metadata or {}):
        raise InvalidArgumentError("not a reference log-prob store: it has no fingerprint")
    pq.write_table(store, check_path("path", path))


def attach_ref_logps(
    data: Any,
    store: pa.Table | str | os.PathLike[str],
    *,
    model_id: str,
    tokenizer: Any = None,
    settings: Mapping[str, Any] | None = None,
    completions: str = "completions",
) -> Any:
    """``data`` with the store's columns appended, after checking that the store was
    computed from these rows, this tokenizer, these settings and this model (example
    at :func:`compute_ref_logps`). It comes back in ``data``'s type: a
    ``datasets.Dataset`` stays one (what TRL's trainers take), a polars or pandas frame
    stays one, anything else is a ``pyarrow.Table``.

    >>> attach_ref_logps({"prompt_ids": [[1]], "chosen_ids": [[2]], "rejected_ids": [[3]]},
    ...     pa.table({"ref_chosen_logps": [0.0]}), model_id="m")
    Traceback (most recent call last):
    prefcore.errors.InvalidArgumentError: not a reference log-prob store: it has no fingerprint
    """
    t = as_pyarrow_table(data, "data")
    table = store if isinstance(store, pa.Table) else pq.read_table(check_path("store", store))
    meta = table.schema.metadata or {}
    if FINGERPRINT_KEY not in meta:
        raise InvalidArgumentError("not a reference log-prob store: it has no fingerprint")
    want = ref_logps_fingerprint(
        t, model_id=model_id, tokenizer=tokenizer, settings=settings, completions=completions
    )
    if meta[FINGERPRINT_KEY].decode() != want:
        stored_model = meta.get(MODEL_KEY, b"?").decode()
        raise InvalidArgumentError(
            "the reference log-probs were computed from other rows, tokenizer, settings or "
            f"model (stored for model {stored_model!r}; this is {model_id!r}): recompute them"
        )
    if table.num_rows != t.num_rows:
        raise InvalidArgumentError(
            f"the store has {table.num_rows} rows; the data has {t.num_rows}"
        )
    columns = [c for c in table.column_names if c in STORE_COLUMNS]
    if VALUES_KEY not in meta or meta[VALUES_KEY].decode() != _values_digest(table):
        raise InvalidArgumentError(
            "the store's log-probs are not the ones computed (rows reordered, filtered or "
            "edited after compute_ref_logps): recompute them"
        )  # values that match the digest are finite: compute_ref_logps checked them
    for name in columns:
        if name in t.column_names:
            raise InvalidArgumentError(
                f"the data already has a column '{name}'; drop it before attaching the store",
                argument="data",
            )
        t = t.append_column(name, table.column(name))
    return in_callers_type(
        data, t, "prefcore.attach_ref_logps", same_rows=True,
        fingerprint=meta[FINGERPRINT_KEY].decode(), values=meta.get(VALUES_KEY),
    )  # fmt: skip
