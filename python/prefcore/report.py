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
from prefcore._check import numbers
from prefcore._optional import require
from prefcore._tables import as_table
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, InvalidArgumentError
from prefcore.streaming import row_hashes

__all__ = [
    "PairStats",
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
    x = numbers("x", x).ravel()
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
        raise InvalidArgumentError(
            f"tokenizer {os.fspath(name)!r}: not a tokenizer.json file and it could not be "
            f"loaded from the Hugging Face Hub ({err}); pass a tokenizer object instead",
            argument="tokenizer",
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
        raise ArgumentTypeError(
            "tokenizer must be a tokenizers.Tokenizer, a Hugging Face tokenizer, a path to a "
            f"tokenizer.json or a tokenizer name; not {type(tokenizer).__name__}",
            argument="tokenizer",
        )
    encode: Callable[[list[str]], Any] = tokenizer
    ids = encode(texts)["input_ids"]
    return np.array([len(x) for x in ids], dtype=np.int64)


class PairStats:
    """The pairwise figures of the health report, accumulated over batches, so one
    definition serves a table (:func:`stats`), a stream of batches (``prefcore stats``)
    and a Ray dataset (each block's :meth:`features`, combined on the driver).

    Kept per row: the text lengths (4 bytes a column) and two 128-bit hashes (prompt,
    whole row); the texts are not kept.

    >>> acc = PairStats()
    >>> acc.add({"prompt": ["p", "p"], "chosen": ["long one", "yes"], "rejected": ["no", "yes"]})
    >>> acc.add({"prompt": ["q"], "chosen": ["long one"], "rejected": ["no"]})
    >>> r = acc.result()
    >>> r["rows"], r["prompts"], r["chosen_longer_rate"], r["tie_rate"], r["duplicate_rate"]
    (3, 2, 0.6666666666666666, 0.3333333333333333, 0.0)
    """

    def __init__(
        self,
        *,
        prompt: str | None = "prompt",
        chosen: str = "chosen",
        rejected: str = "rejected",
        score_chosen: str | None = "score_chosen",
        score_rejected: str | None = "score_rejected",
    ) -> None:
        self.prompt, self.chosen, self.rejected = prompt, chosen, rejected
        self.scores = (score_chosen, score_rejected)
        self._parts: list[pa.Table] = []

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.prompt, self.chosen, self.rejected) if c]

    def features(self, table: Any) -> pa.Table:
        """The narrow per-row values the report is made of: ``<column>_chars``,
        ``prompt_hash``, ``row_hash``, ``tie`` and ``tie_by_score``: a tie is equal
        scores where the rows have both score columns (a null score is no tie), else
        identical chosen and rejected texts."""
        t = as_table(table)
        require_columns(t, *self.columns)
        require_no_nulls(t, *self.columns)
        out = {f"{c}_chars": pa.array(_char_lengths(t.column(c)), pa.int32()) for c in self.columns}
        if self.prompt:
            out["prompt_hash"] = row_hashes(t, self.prompt, normalize=None)
        out["row_hash"] = row_hashes(t, self.columns, normalize=None)
        by_score = all(c is not None and c in t.column_names for c in self.scores)
        if by_score:
            equal = pc.equal(t.column(self.scores[0]), t.column(self.scores[1]))
            out["tie"] = pc.fill_null(equal, False)
        else:
            reason = dedup.degenerate_pairs(t, self.chosen, self.rejected, normalize=None).reason
            out["tie"] = pc.fill_null(pc.equal(reason, "identical"), False)
        out["tie_by_score"] = pa.array(np.full(t.num_rows, by_score), pa.bool_())
        return pa.table(out)

    def add(self, table: Any) -> None:
        """Adds the rows of a table or batch."""
        self.add_features(self.features(table))

    def add_features(self, features: pa.Table) -> None:
        """Adds rows given as :meth:`features` made them (elsewhere, perhaps)."""
        self._parts.append(features)

    def result(self) -> dict[str, Any]:
        t = (
            pa.concat_tables(self._parts)
            if self._parts
            else self.features(pa.table({c: pa.array([], pa.string()) for c in self.columns}))
        )
        n = t.num_rows
        report: dict[str, Any] = {"rows": n}
        chars = {c: t.column(f"{c}_chars").to_numpy() for c in self.columns}
        for c in self.columns:
            report[f"{c}_chars"] = distribution(chars[c].astype(np.float64))
        if self.prompt:
            sizes = pc.value_counts(t.column("prompt_hash")).field("counts").to_numpy()
            report["prompts"] = len(sizes)
            report["pairs_per_prompt"] = distribution(sizes.astype(np.float64))
        rate = (lambda k: float(k) / n) if n else (lambda k: math.nan)
        report["chosen_longer_rate"] = rate((chars[self.chosen] > chars[self.rejected]).sum())
        report["tie_rate"] = rate(pc.sum(t.column("tie")).as_py() or 0)
        scored = pc.sum(t.column("tie_by_score")).as_py() or 0
        report["tie_rule"] = (
            "equal scores"
            if n and scored == n
            else "identical texts"
            if not scored
            else "equal scores where scored, else identical texts"
        )
        report["duplicate_rate"] = rate(n - pc.count_distinct(t.column("row_hash")).as_py())
        return report


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
    acc = PairStats(
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        score_chosen=score_chosen,
        score_rejected=score_rejected,
    )
    acc.add(t)
    report = acc.result()
    if tokenizer is not None:
        for name in acc.columns:
            report[f"{name}_tokens"] = distribution(_token_lengths(t.column(name), tokenizer))
    return report


check_arguments(__name__)  # each public function checks its arguments' annotations
