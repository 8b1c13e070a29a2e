"""Dedup over a stream of batches, for data larger than memory, and its stateless
halves for engines (Ray, Spark) that group rows themselves.

:class:`ExactStream` and :class:`NearStream` keep only a hash per row (exact) or the
LSH band keys (near) between batches, never the text; the Rust core holds that state.
Their verdicts equal :func:`prefcore.dedup.exact` and :func:`prefcore.dedup.minhash`
(``verify=False``) over the whole table, keeping the first row of each cluster. Row
numbers in errors count from the start of the stream.

>>> stream = ExactStream(["prompt"])
>>> stream.push({"prompt": ["Hi", "hi "]}).to_pylist()
[True, False]
>>> stream.push({"prompt": ["HI", "bye"]}).to_pylist()
[False, True]
>>> stream.rows, stream.distinct
(4, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pyarrow as pa

from prefcore import _prefcore
from prefcore._arrow import as_array, as_table, require_columns
from prefcore._check import column_names
from prefcore._typed import check_arguments
from prefcore.dedup import (
    MINHASH_NGRAM,
    MINHASH_NUM_PERM,
    MINHASH_THRESHOLD,
    Normalization,
    NormalizeArg,
    optimal_bands,
)
from prefcore.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_NORMALIZATION",
    "ExactStream",
    "NearStream",
    "band_keys",
    "clusters_from_pairs",
    "row_hashes",
]

DEFAULT_NORMALIZATION = Normalization()
Keep = Literal["first", "last"]


def _columns(columns: str | Sequence[str]) -> list[str]:
    names = column_names("columns", columns)
    if not names:
        raise InvalidArgumentError("give at least one key column")
    return names


class ExactStream:
    """Exact dedup across batches: :meth:`push` returns each batch's keep mask, true
    for the rows whose (normalised) ``columns`` no earlier row of the stream had.
    Memory: 16 bytes per distinct key, plus the hash set's slack.

    >>> stream = ExactStream("prompt")
    >>> stream.push({"prompt": ["Hi", "Bye"]}).to_pylist()
    [True, True]
    >>> stream.push({"prompt": ["hi ", "New"]}).to_pylist()  # "hi " is "Hi" normalised
    [False, True]
    """

    def __init__(
        self, columns: str | Sequence[str], *, normalize: NormalizeArg = DEFAULT_NORMALIZATION
    ) -> None:
        self.columns = _columns(columns)
        self._state = _prefcore.ExactStream(Normalization.options_of(normalize))

    def push(self, batch: Any) -> pa.BooleanArray:
        """The keep mask of ``batch`` (any table prefcore reads)."""
        t = as_table(batch, "batch")
        require_columns(t, *self.columns)
        return self._state.push([t.column(c) for c in self.columns], self.columns)

    @property
    def rows(self) -> int:
        """Rows pushed so far."""
        return self._state.rows

    @property
    def distinct(self) -> int:
        """Distinct keys seen so far."""
        return self._state.distinct


class NearStream:
    """Near-duplicate (MinHash LSH) dedup across batches: :meth:`push` each batch,
    then :meth:`finish` clusters every row pushed, as :func:`prefcore.dedup.minhash`
    with ``verify=False`` and the same options clusters the whole column. Memory: 8
    bytes per band per row (the low 64 bits of each band key; two unequal bands
    collide with odds of about 2e-5 over 10 million rows and 9 bands).

    >>> stream = NearStream("chosen", threshold=0.8)
    >>> stream.push({"chosen": ["the cat sat on the mat today", "something else"]})
    >>> stream.push({"chosen": ["the cat sat on the mat today"]})
    >>> clusters = stream.finish()
    >>> clusters.cluster_id.to_pylist(), clusters.num_clusters
    ([0, 1, 0], 2)
    """

    def __init__(
        self,
        column: str,
        *,
        threshold: float = MINHASH_THRESHOLD,
        num_perm: int = MINHASH_NUM_PERM,
        ngram: int = MINHASH_NGRAM,
        tokenizer: Literal["word", "char"] = "word",
        seed: int = 1,
        bands: int | None = None,
        rows: int | None = None,
        normalize: NormalizeArg = DEFAULT_NORMALIZATION,
    ) -> None:
        if (bands is None) != (rows is None):
            raise InvalidArgumentError("give both bands and rows, or neither")
        if bands is None or rows is None:
            bands, rows = optimal_bands(threshold, num_perm)
        self.column = column
        self.bands, self.rows_per_band = bands, rows
        minhash = _prefcore.MinHashOptions(
            num_perm=num_perm, ngram=ngram, tokenizer=tokenizer, seed=seed
        )
        self._state = _prefcore.NearStream(
            Normalization.options_of(normalize), minhash, bands=bands, rows=rows
        )

    def push(self, batch: Any) -> None:
        """Adds the band keys of ``batch``'s column."""
        t = as_table(batch, "batch")
        require_columns(t, self.column)
        self._state.push(t.column(self.column), self.column)

    def finish(self, keep: Keep = "first") -> _prefcore.Clusters:
        """The clusters of every row pushed (``cluster_id``, ``representative``,
        ``num_clusters``); frees the keys. :attr:`candidate_pairs` is set after it."""
        return self._state.finish(keep)

    @property
    def candidate_pairs(self) -> int | None:
        """LSH candidate pairs found by :meth:`finish` (None before it)."""
        return self._state.candidate_pairs

    @property
    def rows(self) -> int:
        """Rows pushed so far."""
        return self._state.rows

    @property
    def key_bytes(self) -> int:
        """Bytes the band keys hold now."""
        return self._state.key_bytes


def row_hashes(
    table: Any, columns: str | Sequence[str], *, normalize: NormalizeArg = DEFAULT_NORMALIZATION
) -> pa.FixedSizeBinaryArray:
    """Per row, the 128-bit hash (16 bytes) of its (normalised) ``columns``: rows with
    equal hashes are the duplicates :class:`ExactStream` finds.

    >>> h = row_hashes({"prompt": ["Hi", "hi ", "bye"]}, "prompt")
    >>> h[0] == h[1], h[0] == h[2]
    (True, False)
    """
    names = _columns(columns)
    t = as_table(table, "table")
    require_columns(t, *names)
    return _prefcore.row_hashes(
        [t.column(c) for c in names], names, Normalization.options_of(normalize)
    )


def band_keys(
    table: Any,
    column: str,
    *,
    bands: int,
    rows: int,
    num_perm: int = MINHASH_NUM_PERM,
    ngram: int = MINHASH_NGRAM,
    tokenizer: Literal["word", "char"] = "word",
    seed: int = 1,
    normalize: NormalizeArg = DEFAULT_NORMALIZATION,
) -> pa.UInt64Array:
    """Row-major LSH band keys, ``bands`` per row (the low 64 bits of each): rows that
    share a key at the same band index are the candidates :class:`NearStream` merges.

    >>> keys = band_keys({"t": ["a b c d e f", "a b c d e f", "x y z"]}, "t",
    ...                  bands=4, rows=2, num_perm=8, ngram=2)
    >>> keys[0:4] == keys[4:8], keys[0:4] == keys[8:12]
    (True, False)
    """
    t = as_table(table, "table")
    require_columns(t, column)
    minhash = _prefcore.MinHashOptions(
        num_perm=num_perm, ngram=ngram, tokenizer=tokenizer, seed=seed
    )
    options = Normalization.options_of(normalize)
    return _prefcore.lsh_band_keys(
        t.column(column), column, options, minhash, bands=bands, rows=rows
    )


def clusters_from_pairs(
    row_a: Any, row_b: Any, n: int, *, keep: Keep = "first"
) -> _prefcore.Clusters:
    """Connected components of ``n`` rows joined by the pairs ``(row_a[i], row_b[i])``:
    per row its ``cluster_id`` (numbered by first row) and ``representative`` (the
    first or last row of its cluster).

    >>> c = clusters_from_pairs([0, 3], [2, 1], 4)
    >>> c.cluster_id.to_pylist(), c.representative.to_pylist(), c.num_clusters
    ([0, 1, 0, 1], [0, 1, 0, 1], 2)
    """
    return _prefcore.clusters_from_pairs(
        as_array(row_a, "row_a"), as_array(row_b, "row_b"), n, keep
    )


check_arguments(__name__)  # each public function checks its arguments' annotations
