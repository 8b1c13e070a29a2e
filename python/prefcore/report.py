"""The health report of pairwise data (:func:`stats`) and the distribution summary
its figures use (:func:`distribution`), shared with the CLI, the pipeline and Ray.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import dedup
from prefcore._arrow import require_columns, require_no_nulls
from prefcore._optional import require
from prefcore._tables import as_table

__all__ = [
    "distribution",
    "stats",
]


def _char_lengths(col: pa.ChunkedArray) -> np.ndarray:
    """Characters per value: string length, or total content length of a conversation."""
    col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return np.asarray(pc.utf8_length(col).to_numpy(zero_copy_only=False), dtype=np.int64)
    contents = pc.utf8_length(pc.struct_field(pc.list_flatten(col), "content")).to_numpy(
        zero_copy_only=False
    )
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
    owner = np.repeat(np.arange(len(col)), lengths)
    return np.bincount(owner, weights=contents, minlength=len(col)).astype(np.int64)


def distribution(x: np.ndarray) -> dict[str, float]:
    """Mean, median, p90, p99 and max of ``x`` (NaN for an empty one).

    >>> distribution(np.array([1.0, 2.0, 3.0, 10.0]))["p50"], distribution(np.array([]))["max"]
    (2.5, nan)
    """
    if len(x) == 0:
        return {
            "mean": math.nan,
            "p50": math.nan,
            "p90": math.nan,
            "p99": math.nan,
            "max": math.nan,
        }
    p50, p90, p99 = np.percentile(x, [50, 90, 99])
    return {
        "mean": float(x.mean()),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(x.max()),
    }


def _load_tokenizer(name: str | os.PathLike[str]) -> Any:
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json`` path or a Hub name."""
    Tokenizer = require("tokenizers", "a tokenizer given by name or path").Tokenizer
    try:
        if os.path.exists(name):
            return Tokenizer.from_file(os.fspath(name))
        return Tokenizer.from_pretrained(os.fspath(name))
    except Exception as err:
        raise ValueError(
            f"tokenizer {os.fspath(name)!r}: not a tokenizer.json file and it could not be "
            f"loaded from the Hugging Face Hub ({err}); pass a tokenizer object instead"
        ) from err


def _token_lengths(col: pa.ChunkedArray, tokenizer: Any) -> np.ndarray:
    texts = col.to_pylist()
    if any(not isinstance(x, str) for x in texts):
        from prefcore.formats import render_transcript

        texts = render_transcript(col.combine_chunks()).to_pylist()
    if isinstance(tokenizer, (str, os.PathLike)):
        tokenizer = _load_tokenizer(tokenizer)
    if hasattr(tokenizer, "encode_batch"):  # tokenizers.Tokenizer
        return np.array([len(e.ids) for e in tokenizer.encode_batch(texts)], dtype=np.int64)
    if not callable(tokenizer):
        raise TypeError(
            "tokenizer must be a tokenizers.Tokenizer, a Hugging Face tokenizer, a path to a "
            f"tokenizer.json or a tokenizer name; not {type(tokenizer).__name__}"
        )
    encode: Callable[[list[str]], Any] = tokenizer
    ids = encode(texts)["input_ids"]
    return np.array([len(x) for x in ids], dtype=np.int64)


def stats(
    table: Any,
    *,
    prompt: str | None = "prompt",
    chosen: str = "chosen",
    rejected: str = "rejected",
    score_chosen: str | None = "score_chosen",
    score_rejected: str | None = "score_rejected",
    tokenizer: Any = None,
) -> dict[str, Any]:
    """A health report of pairwise data: rows, distinct prompts, pairs per prompt,
    length distributions (characters; tokens too when ``tokenizer`` is a
    ``tokenizers.Tokenizer`` or a Hugging Face tokenizer), the share of pairs whose
    chosen is longer (length bias), the tie rate (equal scores when score columns
    exist, else identical texts) and the share of exactly repeated rows.

    >>> s = stats({"prompt": ["p", "p"], "chosen": ["long one", "yes"], "rejected": ["no", "yes"]})
    >>> s["rows"], s["prompts"], s["chosen_longer_rate"], s["tie_rate"]
    (2, 1, 0.5, 0.5)
    """
    t = as_table(table)
    n = t.num_rows
    report: dict[str, Any] = {"rows": n}
    lengths: dict[str, np.ndarray] = {}
    require_columns(t, prompt, chosen, rejected)
    require_no_nulls(t, prompt, chosen, rejected)
    for name in [c for c in (prompt, chosen, rejected) if c]:
        lengths[name] = _char_lengths(t.column(name))
        report[f"{name}_chars"] = distribution(lengths[name])
        if tokenizer is not None:
            report[f"{name}_tokens"] = distribution(_token_lengths(t.column(name), tokenizer))
    if prompt:
        clusters = dedup.exact(t, [prompt], normalize=None)
        sizes = np.bincount(clusters.cluster_id.to_numpy())
        report["prompts"] = int(clusters.stats["clusters"])
        report["pairs_per_prompt"] = distribution(sizes.astype(np.float64))
    report["chosen_longer_rate"] = (
        float((lengths[chosen] > lengths[rejected]).mean()) if n else math.nan
    )
    if score_chosen in t.column_names and score_rejected in t.column_names:
        eq = pc.equal(t.column(score_chosen), t.column(score_rejected))
        report["tie_rate"] = (
            float(pc.mean(pc.cast(eq, pa.float64())).as_py() or 0.0) if n else math.nan
        )
        report["tie_rule"] = "equal scores"
    else:
        same = dedup.degenerate_pairs(t, chosen, rejected, normalize=None)
        report["tie_rate"] = same.stats["by_reason"].get("identical", 0) / n if n else math.nan
        report["tie_rule"] = "identical texts"
    cols = [c for c in (prompt, chosen, rejected) if c]
    report["duplicate_rate"] = (
        dedup.exact(t, cols, normalize=None).stats["removed"] / n if n else math.nan
    )
    return report
