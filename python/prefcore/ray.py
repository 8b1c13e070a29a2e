"""prefcore's preprocessing on Ray Data, for datasets past one machine.

``import prefcore.ray`` does not import Ray; each function does. The kernels are the
same Rust code as the single-machine functions, run per block by ``map_batches``
(``batch_format="pyarrow"``); Ray's shuffles do the grouping:

- ``dedup`` (MinHash near duplicates): each row's LSH band keys are computed in Rust;
  Ray counts rows per key, and only the rows of keys seen at least twice (the
  candidate buckets) go further. Their components are found with union-find on the
  driver when the candidate edges number at most ``driver_edges`` (default 20
  million: about 500 MiB of driver memory), else by label propagation with Ray joins
  (each round a join and a group-by; rounds = the components' diameter in edges,
  a handful for LSH buckets). The first row of each cluster is kept.
- ``exact_dedup``: 128-bit hashes of the key columns; the same bucket logic.
- ``build_pairs``: :func:`prefcore.pairs.from_scores` per block, each prompt's random
  draws keyed by its global index.
- ``stats``: per-block partial counts and lengths, combined on the driver.

Rows are identified by a ``monotonically_increasing_id`` column in dataset order, so
"first" means the same row as in the single-machine functions, and the kept rows are
those :func:`prefcore.dedup.minhash` (``verify=False``) or
:func:`prefcore.dedup.exact` keep on the same data and seed. (The near-duplicate
buckets use the low 64 bits of the 128-bit band keys, like the streaming CLI.)

Pointing the same code at a cluster is Ray's business: ``ray.init(address="auto")``
(or ``RAY_ADDRESS``) on a node of a running cluster, and a dataset read from shared
storage (``ray.data.read_parquet("s3://...")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import pairs
from prefcore._check import instance
from prefcore._optional import require
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
from prefcore.report import PairStats
from prefcore.streaming import DEFAULT_NORMALIZATION, band_keys, clusters_from_pairs, row_hashes

__all__ = [
    "build_pairs",
    "dedup",
    "exact_dedup",
    "stats",
    "with_row_ids",
]

ROW = "_prefcore_row"
#: The normalisation the single-machine dedup functions default to.
KEY = "_prefcore_key"
POS = "_prefcore_position"


def _ray() -> Any:
    require("ray.data", "prefcore.ray")
    return require("ray", "prefcore.ray")


def _dataset(ds: Any) -> Any:
    """``ds`` if it is a Ray dataset."""
    return instance("ds", ds, _ray().data.Dataset, "a ray.data.Dataset")


def with_row_ids(ds: Any) -> Any:
    """``ds`` with an int64 ``_prefcore_row`` column increasing in dataset order.

    >>> import ray
    >>> _ = ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
    ...              configure_logging=False, ignore_reinit_error=True)
    >>> ray.data.DataContext.get_current().enable_progress_bars = False
    >>> ids = with_row_ids(ray.data.from_items([{"x": 1}, {"x": 2}])).take_all()
    >>> ids[0]["_prefcore_row"] < ids[1]["_prefcore_row"]
    True
    """
    _dataset(ds)
    from ray.data.expressions import monotonically_increasing_id

    # "First" means first in dataset order, so every step keeps the order. A dataset
    # carries the context it was made with: set it on a copy, not the caller's.
    try:
        ds = type(ds).copy(ds, _deep_copy=True)
    except (AttributeError, TypeError):  # another Ray version: use the shared context
        pass
    ds.context.execution_options.preserve_order = True
    return ds.with_column(ROW, monotonically_increasing_id())


def _collect(ds: Any, columns: Sequence[str]) -> pa.Table:
    tables = [b.select(list(columns)) for b in ds.iter_batches(batch_format="pyarrow")]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pa.table({c: pa.array([], pa.int64()) for c in columns})
    return pa.concat_tables(tables)


#: ``monotonically_increasing_id`` puts the block in the bits above these.
_BLOCK_SHIFT = 33


class _Positions:
    """Row ids to positions in dataset order. A block's id prefix says nothing of
    where the block sits (blocks may be numbered as their tasks ran), so the order is
    read once from the ids themselves, streamed in dataset order (8 bytes a row pass
    the driver; it keeps one entry per block)."""

    def __init__(self, ds: Any) -> None:
        blocks: list[int] = []
        counts: list[int] = []
        for batch in ds.select_columns([ROW]).iter_batches(batch_format="pyarrow"):
            ids = batch.column(ROW).to_numpy()
            if len(ids) == 0:
                continue
            block = ids >> _BLOCK_SHIFT
            cut = np.flatnonzero(np.diff(block)) + 1
            for run in np.split(block, cut):
                if blocks and blocks[-1] == run[0]:
                    counts[-1] += len(run)
                else:
                    blocks.append(int(run[0]))
                    counts.append(len(run))
        order = np.argsort(blocks)
        self.blocks = np.asarray(blocks, dtype=np.int64)[order]
        self.starts = np.concatenate([[0], np.cumsum(counts)])[:-1].astype(np.int64)[order]
        self.rows = int(sum(counts))

    def of(self, ids: np.ndarray) -> np.ndarray:
        block = np.searchsorted(self.blocks, ids >> _BLOCK_SHIFT)
        return np.asarray(self.starts[block] + (ids & ((1 << _BLOCK_SHIFT) - 1)), np.int64)


def _num_partitions(ds: Any) -> int:
    return max(2, min(64, int(_ray().cluster_resources().get("CPU", 2)) * 2))


def _bucket_members(keyed: Any) -> Any:
    """The (key, row) pairs whose key occurs at least twice."""
    counts = keyed.groupby(KEY).count()
    repeated = counts.map_batches(
        lambda t: t.filter(pc.greater(t.column("count()"), 1)).select([KEY]),
        batch_format="pyarrow",
    )
    return keyed.join(
        repeated, join_type="left_semi", num_partitions=_num_partitions(keyed), on=(KEY,)
    )


def _star_edges(members: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Edges from each bucket's smallest row to its other rows."""
    if members.num_rows == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    t = members.sort_by([(KEY, "ascending"), (ROW, "ascending")])
    keys = t.column(KEY).combine_chunks()
    rows = t.column(ROW).to_numpy()
    new_run = np.ones(len(rows), dtype=bool)
    new_run[1:] = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1)).to_numpy(False)
    first = rows[np.maximum.accumulate(np.where(new_run, np.arange(len(rows)), 0))]
    other = ~new_run
    return first[other], rows[other]


def _removed_on_driver(a: np.ndarray, b: np.ndarray, positions: _Positions) -> np.ndarray:
    """Rows that are not the first (in dataset order) of their component."""
    pos = positions.of(np.concatenate([a, b]))
    nodes, inverse = np.unique(pos, return_inverse=True)
    half = len(a)
    found = clusters_from_pairs(inverse[:half], inverse[half:], len(nodes))
    rep = found.representative.to_numpy()
    return np.asarray(nodes[rep != np.arange(len(nodes))], dtype=np.int64)  # positions


def _removed_distributed(edges: Any, max_rounds: int = 64) -> Any:
    """Label propagation: every row takes the smallest label among itself and its
    neighbours until nothing changes; returns the rows whose label is not their own."""
    parts = _num_partitions(edges)
    both = edges.union(
        edges.map_batches(
            lambda t: pa.table({"a": t.column("b"), "b": t.column("a")}), batch_format="pyarrow"
        )
    ).materialize()
    labels = (
        both.map_batches(
            lambda t: pa.table({ROW: t.column("a"), "label": t.column("a")}), batch_format="pyarrow"
        )
        .groupby(ROW)
        .min("label")
        .map_batches(lambda t: t.rename_columns([ROW, "label"]), batch_format="pyarrow")
        .materialize()
    )
    for _ in range(max_rounds):
        offered = (
            both.join(labels, join_type="inner", num_partitions=parts, on=("a",), right_on=(ROW,))
            .map_batches(
                lambda t: pa.table({ROW: t.column("b"), "label": t.column("label")}),
                batch_format="pyarrow",
            )
            .union(labels)
            .groupby(ROW)
            .min("label")
            .map_batches(lambda t: t.rename_columns([ROW, "new"]), batch_format="pyarrow")
        )
        joined = labels.join(
            offered, join_type="inner", num_partitions=parts, on=(ROW,)
        ).materialize()
        changed = joined.map_batches(
            lambda t: t.filter(pc.not_equal(t.column("new"), t.column("label"))),
            batch_format="pyarrow",
        ).count()
        labels = joined.map_batches(
            lambda t: pa.table({ROW: t.column(ROW), "label": t.column("new")}),
            batch_format="pyarrow",
        ).materialize()
        if changed == 0:
            return labels.map_batches(
                lambda t: pa.table(
                    {POS: t.filter(pc.not_equal(t.column("label"), t.column(ROW))).column(ROW)}
                ),
                batch_format="pyarrow",
            )
    raise RuntimeError(f"label propagation did not converge in {max_rounds} rounds")


def _with_positions(ds: Any, positions: _Positions) -> Any:
    def add(t: pa.Table) -> pa.Table:
        return t.append_column(POS, pa.array(positions.of(t.column(ROW).to_numpy())))

    return ds.map_batches(add, batch_format="pyarrow")


def _drop_rows(ds: Any, removed: Any, positions: _Positions) -> Any:
    """``ds`` without the rows at the positions in ``removed`` (a numpy array, or a Ray
    dataset with a ``_prefcore_position`` column)."""
    if isinstance(removed, np.ndarray):
        drop = pa.array(removed, pa.int64())

        def keep(t: pa.Table) -> pa.Table:
            pos = pa.array(positions.of(t.column(ROW).to_numpy()))
            return t.filter(pc.invert(pc.is_in(pos, value_set=drop))).drop_columns([ROW])

        return ds.map_batches(keep, batch_format="pyarrow")
    parts = _num_partitions(ds)
    kept = _with_positions(ds, positions).join(
        removed, join_type="left_anti", num_partitions=parts, on=(POS,)
    )
    return kept.sort(POS).drop_columns([ROW, POS])


def _dedup_by_keys(ds: Any, keys_of: Any, driver_edges: int) -> tuple[Any, dict[str, Any]]:
    ds = with_row_ids(ds).materialize()
    positions = _Positions(ds)
    keyed = ds.map_batches(keys_of, batch_format="pyarrow")
    members = _bucket_members(keyed).materialize()
    report: dict[str, Any] = {"rows": positions.rows}
    candidates = members.count()
    if candidates <= driver_edges:
        a, b = _star_edges(_collect(members, [KEY, ROW]))
        removed: Any = _removed_on_driver(a, b, positions)
        report |= {"components": "driver union-find", "removed": len(removed)}
    else:

        def edges_of(t: pa.Table) -> pa.Table:
            a, b = _star_edges(t)
            return _edges_table(positions.of(a), positions.of(b))

        edges = members.groupby(KEY).map_groups(edges_of, batch_format="pyarrow")
        removed = _removed_distributed(edges).materialize()
        report |= {"components": "label propagation", "removed": removed.count()}
    report["bucket_rows"] = candidates
    return _drop_rows(ds, removed, positions), report


def _edges_table(a: np.ndarray, b: np.ndarray) -> pa.Table:
    return pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.int64())})


def dedup(
    ds: Any,
    column: str = "prompt",
    threshold: float = MINHASH_THRESHOLD,
    *,
    num_perm: int = MINHASH_NUM_PERM,
    ngram: int = MINHASH_NGRAM,
    seed: int = 1,
    tokenizer: Literal["word", "char"] = "word",
    normalize: NormalizeArg = DEFAULT_NORMALIZATION,
    driver_edges: int = 20_000_000,
) -> tuple[Any, dict[str, Any]]:
    """Near-duplicate dedup of a Ray dataset: the dataset without the rows
    :func:`prefcore.dedup.minhash` (``verify=False``, same options) removes, and a report.

    >>> import ray
    >>> _ = ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
    ...              configure_logging=False, ignore_reinit_error=True)
    >>> ray.data.DataContext.get_current().enable_progress_bars = False
    >>> rows = [{"chosen": "the cat sat on the mat today"}, {"chosen": "a different text"},
    ...         {"chosen": "the cat sat on the mat today"}]
    >>> clean, report = dedup(ray.data.from_items(rows), "chosen")
    >>> [r["chosen"] for r in clean.take_all()], report["removed"]
    (['the cat sat on the mat today', 'a different text'], 1)
    """
    bands, rows = optimal_bands(threshold, num_perm)
    _check_normalization(normalize)

    def keys_of(t: pa.Table) -> pa.Table:
        keys = band_keys(
            t, column, num_perm=num_perm, ngram=ngram, tokenizer=tokenizer, seed=seed,
            bands=bands, rows=rows, normalize=normalize,
        )  # fmt: skip
        row_ids = np.repeat(t.column(ROW).to_numpy(), bands)
        return pa.table({KEY: keys, ROW: pa.array(row_ids, pa.int64())})

    out, report = _dedup_by_keys(ds, keys_of, driver_edges)
    return out, report | {"bands": bands, "rows_per_band": rows}


def _check_normalization(normalize: NormalizeArg) -> None:
    """Bad options fail on the driver, before any task starts. The Rust options object
    is built inside each task: it does not pickle, the ``Normalization`` does."""
    Normalization.options_of(normalize)


def exact_dedup(
    ds: Any,
    columns: str | Sequence[str] = ("prompt",),
    *,
    normalize: NormalizeArg = DEFAULT_NORMALIZATION,
    driver_edges: int = 20_000_000,
) -> tuple[Any, dict[str, Any]]:
    """Exact dedup of a Ray dataset by the 128-bit hash of the (normalised) ``columns``;
    keeps the first row of each key, as :func:`prefcore.dedup.exact` does.

    >>> import ray
    >>> _ = ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
    ...              configure_logging=False, ignore_reinit_error=True)
    >>> ray.data.DataContext.get_current().enable_progress_bars = False
    >>> rows = [{"prompt": "Hi"}, {"prompt": "Bye"}, {"prompt": "hi "}]
    >>> clean, report = exact_dedup(ray.data.from_items(rows), "prompt")
    >>> [r["prompt"] for r in clean.take_all()], report["removed"]
    (['Hi', 'Bye'], 1)
    """
    names = [columns] if isinstance(columns, str) else list(columns)
    _check_normalization(normalize)

    def keys_of(t: pa.Table) -> pa.Table:
        hashes = row_hashes(t, names, normalize=normalize)
        return pa.table({KEY: hashes, ROW: t.column(ROW)})

    return _dedup_by_keys(ds, keys_of, driver_edges)


def build_pairs(ds: Any, **options: Any) -> Any:
    """:func:`prefcore.pairs.from_scores` over a one-row-per-prompt Ray dataset; each
    prompt's random draws use its global index, so the pairs equal one call over the
    whole table (``group_id`` is the prompt's global row).

    >>> import ray
    >>> _ = ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
    ...              configure_logging=False, ignore_reinit_error=True)
    >>> ray.data.DataContext.get_current().enable_progress_bars = False
    >>> rows = [{"prompt": "p", "completions": ["a", "b", "c"], "scores": [1.0, 3.0, 2.0]}]
    >>> [(r["chosen"], r["rejected"]) for r in build_pairs(ray.data.from_items(rows)).take_all()]
    [('b', 'a')]
    """
    ds = with_row_ids(ds).materialize()
    positions = _Positions(ds)

    def one_block(t: pa.Table) -> pa.Table:
        pos = positions.of(t.column(ROW).to_numpy())
        t = t.drop_columns([ROW])
        # A batch may join several blocks: one call per run of consecutive positions.
        cuts = np.flatnonzero(np.diff(pos) != 1) + 1
        starts = np.concatenate([[0], cuts]).astype(int)
        ends = np.concatenate([cuts, [len(pos)]]).astype(int)
        tables = [
            pairs.from_scores(t.slice(a, b - a), group_offset=int(pos[a]), **options).table
            for a, b in zip(starts, ends)
        ]
        if not tables:
            return pairs.from_scores(t, **options).table
        return pa.concat_tables(tables)

    return ds.map_batches(one_block, batch_format="pyarrow")


def stats(ds: Any) -> dict[str, Any]:
    """The health report of :func:`prefcore.report.stats` for a Ray dataset of pairs
    (``prompt``, ``chosen``, ``rejected``): each block contributes the narrow per-row
    values of :class:`prefcore.report.PairStats` (lengths, 128-bit hashes, ties),
    combined on the driver (about 50 bytes a row).

    >>> import ray
    >>> _ = ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
    ...              configure_logging=False, ignore_reinit_error=True)
    >>> ray.data.DataContext.get_current().enable_progress_bars = False
    >>> rows = [{"prompt": "p", "chosen": "long answer", "rejected": "no"}] * 2
    >>> report = stats(ray.data.from_items(rows))
    >>> report["rows"], report["chosen_longer_rate"], report["duplicate_rate"]
    (2, 1.0, 0.5)
    """
    names = _dataset(ds).columns()
    if not {"chosen", "rejected"} <= set(names):
        raise InvalidArgumentError(
            f"stats needs chosen and rejected columns; the dataset has {names}"
        )
    acc = PairStats(prompt="prompt" if "prompt" in names else None)
    mapped = ds.map_batches(acc.features, batch_format="pyarrow")
    features = _collect(mapped, mapped.columns())
    if features.num_rows == 0:
        raise InvalidArgumentError("stats of an empty dataset")
    acc.add_features(features)
    return acc.result()


check_arguments(__name__)  # each public function checks its arguments' annotations
