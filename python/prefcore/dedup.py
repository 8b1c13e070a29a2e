"""Dedup of preference data, computed in Rust: one text normaliser, exact duplicates of
column tuples, and degenerate pairs. Every function reports on every row (a
:class:`DedupResult`); nothing is dropped until you call ``result.apply(table)``.

Near duplicates by MinHash LSH (:func:`minhash`) or by embedding similarity
(:func:`semantic`), and decontamination against evaluation sets
(:func:`contamination`). Dedup over streams larger than memory is in
:mod:`prefcore.streaming`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import as_array, as_table, filter_like, float32_matrix
from prefcore._check import renamed
from prefcore._display import Summarised
from prefcore._progress import Progress, reporting
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, InvalidArgumentError, invalid_value

__all__ = [
    "MINHASH_NGRAM",
    "MINHASH_NUM_PERM",
    "MINHASH_THRESHOLD",
    "ContaminationResult",
    "ContaminationStats",
    "DedupResult",
    "DedupStats",
    "Normalization",
    "contamination",
    "degenerate_pairs",
    "exact",
    "jaccard_estimate",
    "minhash",
    "normalize",
    "optimal_bands",
    "semantic",
    "signatures",
]

ContaminationMethod = Literal["ngram", "exact", "minhash"]


#: MinHash defaults, one definition for every entry point (functions, streams, Ray,
#: the CLI): datasketch's 128 permutations, word 5-grams, Jaccard threshold 0.8.
MINHASH_THRESHOLD = 0.8
MINHASH_NUM_PERM = 128
MINHASH_NGRAM = 5


@dataclass(frozen=True)
class Normalization:
    """How texts are normalised before they are compared, in this order: Unicode
    normalisation (``unicode``: "NFKC", "NFC", "NFKD", "NFD" or None), lowercasing
    (full Unicode case mapping), dropping punctuation (Unicode categories P*), mapping
    decimal digits to ``0``, collapsing whitespace runs to one space and trimming."""

    lowercase: bool = True
    unicode: str | None = "NFKC"
    collapse_whitespace: bool = True
    strip_punctuation: bool = False
    digits_to_zero: bool = False

    def options(self) -> _prefcore.NormalizeOptions:
        """These settings as the Rust core takes them (an invalid ``unicode`` form is an
        error here)."""
        return _prefcore.NormalizeOptions(
            lowercase=self.lowercase,
            unicode=self.unicode,
            collapse_whitespace=self.collapse_whitespace,
            strip_punctuation=self.strip_punctuation,
            digits_to_zero=self.digits_to_zero,
        )

    @staticmethod
    def options_of(normalize: Normalization | None) -> _prefcore.NormalizeOptions | None:
        """The Rust options of a ``normalize`` argument (None: compare raw values)."""
        if normalize is None:
            return None
        if not isinstance(normalize, Normalization):
            raise ArgumentTypeError(
                "normalize must be a prefcore.dedup.Normalization or None", argument="normalize"
            )
        return normalize.options()


NormalizeArg = Normalization | None


class _DedupCounts(TypedDict):
    rows: int
    clusters: int
    removed: int
    by_reason: dict[str, int]


class DedupStats(_DedupCounts, total=False):
    """``DedupResult.stats``: ``rows``, ``clusters``, ``removed`` and ``by_reason``
    (rows removed per reason) from every function; :func:`minhash` adds the bands and
    rows per band used, the LSH ``candidate_pairs`` and the ``merged_pairs``;
    :func:`semantic` the joined ``pairs``."""

    bands: int
    rows_per_band: int
    candidate_pairs: int
    merged_pairs: int
    pairs: int


class ContaminationStats(TypedDict):
    """``ContaminationResult.stats``: rows, rows ``contaminated``, and the method,
    n-gram size and threshold used."""

    rows: int
    contaminated: int
    method: str
    n: int
    threshold: float


@dataclass(frozen=True, repr=False)
class DedupResult(Summarised):
    """The verdict on every input row, in input order.

    ``keep``: whether the row survives; ``cluster_id``: rows in one duplicate cluster
    share it (numbered by first appearance); ``representative``: the row kept for the
    row's cluster; ``reason``: why a row goes (null for kept rows); ``stats``: counts.
    """

    keep: pa.BooleanArray
    cluster_id: pa.Int64Array
    representative: pa.Int64Array
    reason: pa.StringArray
    stats: DedupStats
    #: For :func:`minhash` and :func:`semantic`: the row pairs that were merged
    #: (``row_a < row_b``): for minhash with ``verify=True`` the verified pairs that
    #: joined two clusters, else each LSH bucket's first row with the others; for
    #: semantic every pair within the threshold. Clusters are their connected
    #: components. None elsewhere.
    pairs: pa.Table | None = None

    def apply(self, table: Any) -> Any:
        """The rows of ``table`` that are kept, in their order, in ``table``'s own type
        (``datasets.Dataset``, polars or pandas frame; otherwise a ``pyarrow.Table``).

        >>> r = exact({"prompt": ["a", "A", "b"]})
        >>> r.apply({"prompt": ["a", "A", "b"]}).column("prompt").to_pylist()
        ['a', 'b']
        """
        return filter_like(table, self.keep, "table")

    def plot(self, ax: Any = None) -> Any:
        """Clusters by size (:func:`prefcore.plot.cluster_sizes`)."""
        from prefcore.plot import cluster_sizes

        return cluster_sizes(self, ax)


def normalize(
    texts: Any,
    *,
    lowercase: bool = True,
    unicode: str | None = "NFKC",
    collapse_whitespace: bool = True,
    strip_punctuation: bool = False,
    digits_to_zero: bool = False,
    progress: Progress = None,
) -> pa.Array:
    """Normalise texts (strings, or conversations as lists of ``{role, content}``,
    rendered one ``role: content`` line per message) with the normaliser every dedup
    function uses. Nulls are an error.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> normalize(["  \\uff28ello,\\tWORLD  ", "Call 911!"], strip_punctuation=True,
    ...           digits_to_zero=True).to_pylist()
    ['hello world', 'call 000']
    """
    options = Normalization(
        lowercase, unicode, collapse_whitespace, strip_punctuation, digits_to_zero
    )
    array = as_array(texts, "texts")
    with reporting(progress, "dedup.normalize"):
        return _prefcore.normalize(array, options.options())


def exact(
    table: Any,
    columns: str | Sequence[str] = ("prompt",),
    *,
    normalize: NormalizeArg = Normalization(),
    keep: Literal["first", "last"] = "first",
    progress: Progress = None,
) -> DedupResult:
    """Exact duplicates of the tuple of (normalised) ``columns``; e.g.
    ``columns=("prompt", "chosen", "rejected")`` finds repeated pairs.

    Rows are hashed to 128 bits (xxh3) over their normalised values, each prefixed by
    its length; rows with equal hashes are then compared value by value before they
    are merged, so a hash collision can cost time but never merges different rows.
    ``keep`` picks the first or the last row of each cluster.

    By default values are normalised first (:class:`Normalization`: NFKC, lower case,
    whitespace collapsed), so "Hello world" and "hello  world" are one row: duplicates
    in scraped and generated text differ in exactly these ways, and datasketch and
    text-dedup normalise too. polars' ``unique`` and ``datasets`` compare raw bytes;
    ``normalize=None`` does the same, and is several times faster (normalising is
    most of the work; ``benches/bench_dedup.py`` times it against polars).

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> r = exact({"prompt": ["Hi there", "hi  there", "Bye"]})
    >>> r.keep.to_pylist(), r.cluster_id.to_pylist(), r.stats["removed"]
    ([True, False, True], [0, 0, 1], 1)
    """
    names = [columns] if isinstance(columns, str) else list(columns)
    t = as_table(table, "table")
    with reporting(progress, "dedup.exact"):
        found = _prefcore.exact(t, names, Normalization.options_of(normalize), keep)
    cluster_id, representative, clusters = (
        found.cluster_id, found.representative, found.num_clusters
    )  # fmt: skip
    rows = len(cluster_id)
    keep_mask = pc.equal(representative, pa.array(range(rows), pa.int64()))
    removed = rows - clusters
    reason = pc.if_else(keep_mask, pa.scalar(None, pa.string()), pa.scalar("exact_duplicate"))
    stats: DedupStats = {
        "rows": rows,
        "clusters": clusters,
        "removed": removed,
        "by_reason": {"exact_duplicate": removed},
    }
    return DedupResult(keep_mask, cluster_id, representative, reason, stats)


def degenerate_pairs(
    table: Any,
    chosen: str = "chosen",
    rejected: str = "rejected",
    *,
    normalize: NormalizeArg = Normalization(),
) -> DedupResult:
    """Pairs that cannot teach a preference: chosen equal to rejected after
    normalisation (``identical``), or either side empty (``empty_chosen``,
    ``empty_rejected``, ``both_empty``). Each row is its own cluster.

    >>> r = degenerate_pairs({"chosen": ["Yes.", "", "a"], "rejected": ["yes.", "b", "c"]})
    >>> r.reason.to_pylist(), r.stats["by_reason"]
    (['identical', 'empty_chosen', None], {'identical': 1, 'empty_chosen': 1})
    """
    reason = _prefcore.degenerate_pairs(
        as_table(table, "table"), chosen, rejected, Normalization.options_of(normalize)
    )
    rows = len(reason)
    index = pa.array(range(rows), pa.int64())
    keep_mask = pc.is_null(reason)
    counts = pc.value_counts(reason.drop_null()).to_pylist()
    by_reason = {c["values"]: c["counts"] for c in counts}
    removed = sum(by_reason.values())
    stats: DedupStats = {"rows": rows, "clusters": rows, "removed": removed, "by_reason": by_reason}
    return DedupResult(keep_mask, index, index, reason, stats)


def signatures(
    texts: Any,
    *,
    num_perm: int = MINHASH_NUM_PERM,
    ngram: int = MINHASH_NGRAM,
    tokenizer: Literal["word", "char"] = "word",
    seed: int = 1,
    normalize: NormalizeArg = Normalization(),
    progress: Progress = None,
) -> np.ndarray:
    """MinHash signatures of texts, shape ``[n, num_perm]``, dtype uint64.

    Texts are normalised, cut into word (or character) ``ngram`` shingles, each
    shingle hashed to 64 bits, and permutation i maps the hash's high 32 bits x to
    ``((a_i * x + b_i) mod 2**64) >> 32`` (multiply-add-shift universal hashing) with
    64-bit (a_i, b_i) drawn from ``seed``; slot i is the minimum over the shingles, a
    value below ``2**32``. A text shorter than ``ngram`` is one shingle; an empty text
    has no shingles and a signature of all ``2**64 - 1``. The fraction of equal slots
    between two signatures estimates the Jaccard similarity of their shingle sets
    (:func:`jaccard_estimate`).

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> s = signatures(["the cat sat on the mat", "the cat sat on the hat", "dogs"],
    ...                ngram=2, num_perm=256)
    >>> s.shape, s.dtype
    ((3, 256), dtype('uint64'))
    >>> 0.4 < jaccard_estimate(s[0], s[1]) < 0.9, jaccard_estimate(s[0], s[2])
    (True, 0.0)
    """
    array = as_array(texts, "texts")
    options = _prefcore.MinHashOptions(
        num_perm=num_perm, ngram=ngram, tokenizer=tokenizer, seed=seed
    )
    with reporting(progress, "dedup.signatures"):
        flat = _prefcore.signatures(array, Normalization.options_of(normalize), options)
    values: np.ndarray = flat.to_numpy(zero_copy_only=True)
    return values.reshape(-1, num_perm)


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of equal slots of two MinHash signatures (for two 2-D arrays of
    equal shape: the mean of the row-by-row estimates).

    >>> jaccard_estimate(np.array([1, 2, 3, 4], np.uint64), np.array([1, 2, 0, 4], np.uint64))
    0.75
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.size == 0:
        raise InvalidArgumentError(
            f"signatures must have the same non-empty shape, got {a.shape} and {b.shape}"
        )
    return float(np.mean(a == b))


def optimal_bands(threshold: float, num_perm: int = MINHASH_NUM_PERM) -> tuple[int, int]:
    """The (bands, rows) that minimise the equally weighted false-positive and
    false-negative areas of LSH at ``threshold`` (datasketch's ``MinHashLSH`` rule).

    >>> optimal_bands(0.8, 128)
    (9, 13)
    """
    found = _prefcore.optimal_bands(threshold, num_perm)
    return found.bands, found.rows


def minhash(
    table: Any,
    column: str = "prompt",
    *,
    threshold: float = MINHASH_THRESHOLD,
    num_perm: int = MINHASH_NUM_PERM,
    ngram: int = MINHASH_NGRAM,
    tokenizer: Literal["word", "char"] = "word",
    bands: int | None = None,
    rows: int | None = None,
    seed: int = 1,
    normalize: NormalizeArg = Normalization(),
    keep: Literal["first", "last"] = "first",
    verify: bool = False,
    progress: Progress = None,
) -> DedupResult:
    """Near-duplicate clusters by MinHash-LSH over ``column``.

    Signatures as in :func:`signatures`; rows that agree on every slot of at least
    one of ``bands`` bands of ``rows`` slots are candidate pairs (bands and rows chosen
    by :func:`optimal_bands` when not given); clusters are the connected components of
    the candidate pairs, so they are transitive. ``verify=True`` first drops candidate
    pairs whose exact Jaccard similarity of shingle sets is below ``threshold`` (every
    pair within a bucket is checked). Stats report the bands and rows used, the
    candidate pairs and the merged pairs.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> texts = ["the quick brown fox jumps over the lazy dog near the river bank today",
    ...          "the quick brown fox jumps over the lazy dog near the river bank today!",
    ...          "completely different words in this one"]
    >>> r = minhash({"prompt": texts}, ngram=3, threshold=0.7, verify=True)
    >>> r.cluster_id.to_pylist(), r.stats["removed"]
    ([0, 0, 1], 1)
    """
    t = as_table(table, "table")
    options = _prefcore.MinHashOptions(
        num_perm=num_perm, ngram=ngram, tokenizer=tokenizer, seed=seed
    )
    with reporting(progress, "dedup.minhash"):
        near = _prefcore.minhash(
            t,
            column,
            Normalization.options_of(normalize),
            options,
            threshold=threshold,
            bands=bands,
            rows=rows,
            keep=keep,
            verify=verify,
        )
    cluster_id, representative = near.clusters.cluster_id, near.clusters.representative
    clusters = near.clusters.num_clusters
    n = len(cluster_id)
    keep_mask = pc.equal(representative, pa.array(range(n), pa.int64()))
    reason = pc.if_else(keep_mask, pa.scalar(None, pa.string()), pa.scalar("near_duplicate"))
    stats: DedupStats = {
        "rows": n,
        "clusters": clusters,
        "removed": n - clusters,
        "by_reason": {"near_duplicate": n - clusters},
        "bands": near.bands,
        "rows_per_band": near.rows_per_band,
        "candidate_pairs": near.candidate_pairs,
        "merged_pairs": len(near.merged_a),
    }
    pairs = pa.table({"row_a": near.merged_a, "row_b": near.merged_b})
    return DedupResult(keep_mask, cluster_id, representative, reason, stats, pairs)


@dataclass(frozen=True, repr=False)
class ContaminationResult(Summarised):
    """Per training row: ``contaminated``, the best-matching ``reference_index`` (null
    when none) and its overlap ``score``; ``stats`` counts; ``apply(train)`` keeps the
    clean rows."""

    contaminated: pa.BooleanArray
    reference_index: pa.Int64Array
    score: pa.DoubleArray
    stats: ContaminationStats

    def apply(self, table: Any) -> Any:
        """The training rows that overlap no reference row, in ``table``'s own type
        (as :meth:`DedupResult.apply`).

        >>> r = contamination({"prompt": ["a b c", "x y"]}, {"prompt": ["a b c"]}, n=2)
        >>> r.apply({"prompt": ["a b c", "x y"]}).column("prompt").to_pylist()
        ['x y']
        """
        return filter_like(table, pc.invert(self.contaminated), "table")


def contamination(
    train: Any,
    reference: Any,
    column: str = "prompt",
    *,
    method: ContaminationMethod = "ngram",
    n: int = 13,
    threshold: float | None = None,
    reference_column: str | None = None,
    num_perm: int = MINHASH_NUM_PERM,
    seed: int = 1,
    normalize: NormalizeArg = Normalization(),
    progress: Progress = None,
) -> ContaminationResult:
    """Which training rows overlap a reference (e.g. evaluation) set.

    ``method="ngram"`` (default): a row is contaminated when it shares a word
    ``n``-gram (13) with a reference row after normalisation; a text shorter than ``n``
    words is one n-gram. The score is the fraction of the row's n-grams found in its
    best reference row, and ``threshold`` (default: any overlap) is the least score that
    counts. ``"exact"``: equal normalised texts. ``"minhash"``: LSH candidates over word
    ``n``-gram shingles scored by exact Jaccard, contaminated at ``threshold`` (0.8).
    Nothing is dropped: call ``result.apply(train)`` for the clean rows.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> evalset = {"prompt": ["what is the capital city of france and why is it famous"]}
    >>> train = {"prompt": ["Q: what is the capital city of France and why is it famous?",
    ...                     "tell me a joke"]}
    >>> r = contamination(train, evalset, n=8)
    >>> r.contaminated.to_pylist(), r.reference_index.to_pylist()
    ([True, False], [0, None])
    """
    if threshold is None:
        threshold = 0.8 if method == "minhash" else 0.0
    if not 0.0 <= threshold <= 1.0:
        raise InvalidArgumentError(
            f"threshold must be in [0, 1], not {threshold}", argument="threshold"
        )
    train_table, reference_table = as_table(train, "train"), as_table(reference, "reference")
    with reporting(progress, "dedup.contamination"):
        overlaps = _prefcore.contamination(
            train_table,
            reference_table,
            column,
            reference_column or column,
            Normalization.options_of(normalize),
            method=method,
            n=n,
            threshold=threshold,
            num_perm=num_perm,
            seed=seed,
        )
    index, score = overlaps.reference_row, overlaps.score
    hit = pc.and_(pc.is_valid(index), pc.greater_equal(score, threshold))
    contaminated = pc.fill_null(hit, False)
    index = pc.if_else(contaminated, index, pa.scalar(None, pa.int64()))
    count = pc.sum(contaminated).as_py() or 0
    stats: ContaminationStats = {
        "rows": len(score),
        "contaminated": count,
        "method": method,
        "n": n,
        "threshold": threshold,
    }
    return ContaminationResult(contaminated, index, score, stats)


def semantic(
    embeddings: Any,
    threshold: float = 0.95,
    *,
    metric: Literal["cosine", "ip"] = "cosine",
    quality: Any = None,
    corpus_block: int | None = None,
    batch_size: int | None = None,
    progress: Progress = None,
) -> DedupResult:
    """Semantic duplicates: rows whose embeddings are at least ``threshold`` similar
    (cosine by default) are joined, and clusters are the connected components of that
    graph. Each cluster keeps its lowest row, or with ``quality`` (one number per row)
    its highest-quality row (lowest row among equal quality). ``pairs`` holds every
    joined pair. ``corpus_block`` bounds the rows multiplied at once (``batch_size`` is
    its old name).

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> e = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]], dtype=np.float32)
    >>> r = semantic(e, threshold=0.95)
    >>> r.cluster_id.to_pylist(), r.keep.to_pylist()
    ([0, 0, 1], [True, False, True])
    >>> semantic(e, threshold=0.95, quality=[0.1, 0.9, 0.5]).keep.to_pylist()
    [False, True, True]
    """
    corpus_block = renamed("batch_size", batch_size, "corpus_block", corpus_block)
    if metric not in ("cosine", "ip"):  # l2 is a distance: no similarity threshold
        raise InvalidArgumentError(
            f"metric must be 'cosine' or 'ip'; not {metric!r}", argument="metric"
        )
    x = float32_matrix(embeddings, "embeddings")  # converted once, searched against itself
    n, dim = x.shape
    # Only the upper triangle of the symmetric score matrix is computed.
    with reporting(progress, "dedup.semantic", unit=" blocks"):
        pairs = _prefcore.self_pairs(
            pa.array(x.reshape(-1)), n, dim, float(threshold), metric, corpus_block
        )
    found = _prefcore.clusters_from_pairs(pairs.column("row_a"), pairs.column("row_b"), n, "first")
    cluster_id, representative, clusters = (
        found.cluster_id, found.representative, found.num_clusters
    )  # fmt: skip
    if quality is not None:
        q = np.asarray(quality, dtype=np.float64)
        if q.shape != (n,):
            raise InvalidArgumentError(
                f"quality must hold one number per row ({n}), got shape {q.shape}",
                argument="quality",
            )
        if np.isnan(q).any():
            raise invalid_value("quality", int(np.flatnonzero(np.isnan(q))[0]), "NaN")
        cid = cluster_id.to_numpy()
        # Per cluster, the row of highest quality (lowest row among ties).
        order = np.lexsort((np.arange(n), -q, cid))
        first = (
            np.concatenate([[True], cid[order][1:] != cid[order][:-1]]) if n else np.zeros(0, bool)
        )
        best = np.empty(clusters, dtype=np.int64)
        best[cid[order][first]] = order[first]
        representative = pa.array(best[cid])
    keep_mask = pc.equal(representative, pa.array(np.arange(n), pa.int64()))
    removed = n - clusters
    reason = pc.if_else(keep_mask, pa.scalar(None, pa.string()), pa.scalar("semantic_duplicate"))
    stats: DedupStats = {
        "rows": n,
        "clusters": clusters,
        "removed": removed,
        "by_reason": {"semantic_duplicate": removed},
        "pairs": pairs.num_rows,
    }
    return DedupResult(keep_mask, cluster_id, representative, reason, stats, pairs)


check_arguments(__name__)  # each public function checks its arguments' annotations
