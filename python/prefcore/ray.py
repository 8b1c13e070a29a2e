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
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore, pairs
from prefcore import dedup as _dedup
from prefcore.dedup import Normalization, NormalizeArg

ROW = "_prefcore_row"
#: The normalisation the single-machine dedup functions default to.
DEFAULT_NORMALIZATION = Normalization()
KEY = "_prefcore_key"


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ImportError("prefcore.ray needs Ray Data: pip install 'ray[data]'") from err
    return ray


def with_row_ids(ds: Any) -> Any:
    """``ds`` with an int64 ``_prefcore_row`` column increasing in dataset order."""
    ray = _ray()
    from ray.data.expressions import monotonically_increasing_id

    ray.data.DataContext.get_current().execution_options.preserve_order = True
    return ds.with_column(ROW, monotonically_increasing_id())


def _collect(ds: Any, columns: Sequence[str]) -> pa.Table:
    tables = [b.select(list(columns)) for b in ds.iter_batches(batch_format="pyarrow")]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pa.table({c: pa.array([], pa.int64()) for c in columns})
    return pa.concat_tables(tables)


def _num_partitions(ds: Any) -> int:
    return max(2, min(64, int(_ray().cluster_resources().get("CPU", 2)) * 2))


def _bucket_members(keyed: Any) -> Any:
    """The (key, row) pairs whose key occurs at least twice."""
    counts = keyed.groupby(KEY).count()
    repeated = counts.filter(lambda r: r["count()"] > 1).select_columns([KEY])
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


def _removed_on_driver(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rows that are not the smallest of their component (union-find in Rust)."""
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    half = len(a)
    _, representative, _ = _prefcore.clusters_from_pairs(
        pa.array(inverse[:half]), pa.array(inverse[half:]), len(nodes), "first"
    )
    rep = representative.to_numpy()
    return np.asarray(nodes[rep != np.arange(len(nodes))], dtype=np.int64)


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
        joined = labels.join(offered, join_type="inner", num_partitions=parts, on=(ROW,))
        changed = joined.filter(lambda r: r["new"] != r["label"]).count()
        labels = joined.map_batches(
            lambda t: pa.table({ROW: t.column(ROW), "label": t.column("new")}),
            batch_format="pyarrow",
        ).materialize()
        if changed == 0:
            return labels.filter(lambda r: r["label"] != r[ROW]).select_columns([ROW])
    raise RuntimeError(f"label propagation did not converge in {max_rounds} rounds")


def _drop_rows(ds: Any, removed: Any) -> Any:
    """``ds`` without the rows in ``removed`` (a numpy array or a Ray dataset of ids)."""
    if isinstance(removed, np.ndarray):
        drop = pa.array(removed, pa.int64())

        def keep(t: pa.Table) -> pa.Table:
            mask = pc.invert(pc.is_in(t.column(ROW), value_set=drop))
            return t.filter(mask).drop_columns([ROW])

        return ds.map_batches(keep, batch_format="pyarrow")
    kept = ds.join(removed, join_type="left_anti", num_partitions=_num_partitions(ds), on=(ROW,))
    return kept.sort(ROW).drop_columns([ROW])


def _dedup_by_keys(ds: Any, keys_of: Any, driver_edges: int) -> tuple[Any, dict[str, Any]]:
    ds = with_row_ids(ds).materialize()
    keyed = ds.map_batches(keys_of, batch_format="pyarrow")
    members = _bucket_members(keyed).materialize()
    report: dict[str, Any] = {"rows": ds.count()}
    candidates = members.count()
    if candidates <= driver_edges:
        a, b = _star_edges(_collect(members, [KEY, ROW]))
        removed: Any = _removed_on_driver(a, b)
        report |= {"components": "driver union-find", "removed": len(removed)}
    else:
        edges = members.groupby(KEY).map_groups(
            lambda t: _edges_table(*_star_edges(t)), batch_format="pyarrow"
        )
        removed = _removed_distributed(edges).materialize()
        report |= {"components": "label propagation", "removed": removed.count()}
    report["bucket_rows"] = candidates
    return _drop_rows(ds, removed), report


def _edges_table(a: np.ndarray, b: np.ndarray) -> pa.Table:
    return pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.int64())})


def dedup(
    ds: Any,
    column: str = "prompt",
    threshold: float = 0.8,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 1,
    tokenizer: str = "word",
    normalize: NormalizeArg = DEFAULT_NORMALIZATION,
    driver_edges: int = 20_000_000,
) -> tuple[Any, dict[str, Any]]:
    """Near-duplicate dedup of a Ray dataset: the dataset without the rows
    :func:`prefcore.dedup.minhash` (``verify=False``, same options) removes, and a report."""
    bands, rows = _dedup.optimal_bands(threshold, num_perm)
    options = _dedup._options(normalize)

    def keys_of(t: pa.Table) -> pa.Table:
        keys = _prefcore.lsh_band_keys(
            t.column(column), column, options, num_perm=num_perm, ngram=ngram,
            tokenizer=tokenizer, seed=seed, bands=bands, rows=rows,
        )  # fmt: skip
        row_ids = np.repeat(t.column(ROW).to_numpy(), bands)
        return pa.table({KEY: keys, ROW: pa.array(row_ids, pa.int64())})

    out, report = _dedup_by_keys(ds, keys_of, driver_edges)
    return out, report | {"bands": bands, "rows_per_band": rows}


def exact_dedup(
    ds: Any,
    columns: str | Sequence[str] = ("prompt",),
    *,
    normalize: NormalizeArg = DEFAULT_NORMALIZATION,
    driver_edges: int = 20_000_000,
) -> tuple[Any, dict[str, Any]]:
    """Exact dedup of a Ray dataset by the 128-bit hash of the (normalised) ``columns``;
    keeps the first row of each key, as :func:`prefcore.dedup.exact` does."""
    names = [columns] if isinstance(columns, str) else list(columns)
    options = _dedup._options(normalize)

    def keys_of(t: pa.Table) -> pa.Table:
        hashes = _prefcore.row_hashes([t.column(c) for c in names], names, options)
        return pa.table({KEY: hashes, ROW: t.column(ROW)})

    return _dedup_by_keys(ds, keys_of, driver_edges)


def build_pairs(ds: Any, **options: Any) -> Any:
    """:func:`prefcore.pairs.from_scores` over a one-row-per-prompt Ray dataset; each
    prompt's random draws use its global index, so the pairs equal one call over the
    whole table (``group_id`` is the prompt's global row)."""
    ds = with_row_ids(ds).materialize()
    # Row ids are (block << 33) + row in block; global indices need each block's start.
    blocks = _collect(
        ds.map_batches(lambda t: pa.table({"b": pc.shift_right(t.column(ROW), 33)}),
                       batch_format="pyarrow").groupby("b").count(),
        ["b", "count()"],
    ).sort_by("b")  # fmt: skip
    starts = dict(
        zip(blocks.column("b").to_pylist(), np.cumsum([0, *blocks.column("count()").to_pylist()]))
    )

    def one_block(t: pa.Table) -> pa.Table:
        ids = t.column(ROW).to_numpy()
        if len(ids) == 0:
            return pairs.from_scores(t.drop_columns([ROW]), **options).table
        first = int(starts[int(ids[0] >> 33)] + (ids[0] & ((1 << 33) - 1)))
        return pairs.from_scores(t.drop_columns([ROW]), group_offset=first, **options).table

    return ds.map_batches(one_block, batch_format="pyarrow")


def stats(ds: Any) -> dict[str, Any]:
    """The health report of :func:`prefcore.pairs.stats` for a Ray dataset of pairs
    (``prompt``, ``chosen``, ``rejected``): each block contributes narrow per-row
    values (lengths, 128-bit hashes), combined on the driver (about 50 bytes a row)."""
    cols = [c for c in ("prompt", "chosen", "rejected") if c in ds.columns()]
    if not {"chosen", "rejected"} <= set(cols):
        raise ValueError(f"stats needs chosen and rejected columns; the dataset has {ds.columns()}")

    def narrow(t: pa.Table) -> pa.Table:
        out = {f"{c}_len": pc.utf8_length(t.column(c)) for c in cols}
        if "prompt" in cols:
            out["prompt_hash"] = _prefcore.row_hashes([t.column("prompt")], ["prompt"], None)
        out["row_hash"] = _prefcore.row_hashes([t.column(c) for c in cols], cols, None)
        out["tie"] = pc.equal(t.column("chosen"), t.column("rejected"))
        return pa.table(out)

    mapped = ds.map_batches(narrow, batch_format="pyarrow")
    t = _collect(mapped, mapped.columns())
    n = t.num_rows
    if n == 0:
        raise ValueError("stats of an empty dataset")
    report: dict[str, Any] = {"rows": n}
    for c in cols:
        lengths = t.column(f"{c}_len").to_numpy().astype(np.float64)
        report[f"{c}_chars"] = pairs._distribution(lengths)
    if "prompt" in cols:
        sizes = pc.value_counts(t.column("prompt_hash")).field("counts").to_numpy()
        report["prompts"] = len(sizes)
        report["pairs_per_prompt"] = pairs._distribution(sizes.astype(np.float64))
    longer = pc.greater(t.column("chosen_len"), t.column("rejected_len"))
    report["chosen_longer_rate"] = float(pc.mean(pc.cast(longer, pa.float64())).as_py())
    report["tie_rate"] = float(pc.mean(pc.cast(t.column("tie"), pa.float64())).as_py())
    report["tie_rule"] = "identical texts"
    report["duplicate_rate"] = 1 - pc.count_distinct(t.column("row_hash")).as_py() / n
    return report
