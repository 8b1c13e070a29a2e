"""Pair construction: from scored, ranked, unpaired or voted completions to training
rows, and ratings from battles.

- :func:`from_scores` / :func:`from_rankings`: chosen/rejected pairs by a strategy.
- :func:`unpair` / :func:`pair`: between pairwise and unpaired (KTO/BCO) rows.
- :func:`listwise` / :func:`lipo_lambda_weights`: ranked lists with LiPO-λ weights.
- :func:`aggregate_votes`: consensus and agreement of several annotators.
- :func:`bradley_terry` / :func:`predict_win_rate`: ratings from battles.
- :func:`transform_rewards` / :func:`combine`: log-sigmoid reward transform and sum.
- :func:`stats`: a dataset health report.

Every random choice takes a ``seed`` and gives the same result on every run and
thread count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore, dedup
from prefcore._arrow import as_pyarrow_table, first_true, require_columns, require_no_nulls
from prefcore._check import integer
from prefcore._optional import require

__all__ = [
    "BradleyTerryResult",
    "PairResult",
    "VoteResult",
    "aggregate_votes",
    "bradley_terry",
    "combine",
    "from_rankings",
    "from_scores",
    "lipo_lambda_weights",
    "listwise",
    "pair",
    "predict_win_rate",
    "stats",
    "transform_rewards",
    "unpair",
]

Strategy = Literal[
    "best_worst", "best_random", "best_vs_rest", "top_k_bottom_k", "all_pairs", "random_pairs"
]
Ties = Literal["drop", "keep", "random"]
Texts = Literal["copy", "dictionary"]
Aggregate = Literal["mean", "min", "max"] | Sequence[float] | Mapping[str, float]


@dataclass(frozen=True)
class PairResult:
    """Pairs and what happened to every prompt (``stats``)."""

    table: pa.Table
    stats: dict[str, Any] = field(default_factory=dict)


def _table(table: Any) -> pa.Table:
    return as_pyarrow_table(table, "table")


def _one_array(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as is, several joined (an empty column
    gives an empty array of its type)."""
    if col.num_chunks == 1:
        return col.chunk(0)
    if col.num_chunks == 0:
        return pa.array([], col.type)
    return col.combine_chunks()


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def _row_of(flat_index: int, offsets: np.ndarray) -> int:
    return int(np.searchsorted(offsets, flat_index, side="right") - 1)


def _aspect_matrix(values: pa.Array, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Per-entry aspects as a ``[entries, aspects]`` matrix (struct fields or lists)."""
    if pa.types.is_struct(values.type):
        names = [values.type.field(i).name for i in range(values.type.num_fields)]
        cols = []
        for n in names:
            col = values.field(n)
            if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
                raise TypeError(
                    f"column '{name}': aspect '{n}' has type {col.type}; expected numbers"
                )
            cols.append(col.to_numpy(zero_copy_only=False).astype(np.float64))
        if values.null_count or any(values.field(n).null_count for n in names):
            raise ValueError(f"column '{name}': a rating aspect is null")
        return np.stack(cols, axis=1) if cols else np.zeros((len(values), 0)), names
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        bad = int(np.flatnonzero(lengths != lengths[0])[0])
        raise ValueError(
            f"column '{name}': entry {bad} has {lengths[bad]} aspects, entry 0 has {lengths[0]}"
        )
    flat = pc.list_flatten(values)
    if flat.null_count or values.null_count:
        raise ValueError(f"column '{name}': a rating aspect is null")
    width = int(lengths[0]) if len(lengths) else 0
    return flat.to_numpy(zero_copy_only=False).astype(np.float64).reshape(-1, width), None


def _combine_aspects(
    values: pa.Array, aggregate: Aggregate, name: str, score_range: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """One score per entry from multi-aspect ratings; returns (scores, out-of-range mask
    over entries)."""
    matrix, names = _aspect_matrix(values, name)
    if score_range is not None:
        lo, hi = score_range
        outside: np.ndarray = np.asarray(((matrix < lo) | (matrix > hi)).any(axis=1))
    else:
        outside = np.zeros(len(matrix), dtype=bool)
    if np.isnan(matrix).any():
        outside |= np.isnan(matrix).any(axis=1)
    if isinstance(aggregate, str):
        ops: dict[str, Callable[..., np.ndarray]] = {"mean": np.mean, "min": np.min, "max": np.max}
        if aggregate not in ops:
            raise ValueError(
                f"aggregate must be 'mean', 'min', 'max' or weights; not {aggregate!r}"
            )
        if matrix.shape[1] == 0:
            raise ValueError(f"column '{name}': ratings have no aspects")
        return ops[aggregate](matrix, axis=1), outside
    if isinstance(aggregate, Mapping):
        if names is None:
            raise TypeError("weights by name need struct ratings; pass a sequence of weights")
        missing = set(aggregate) - set(names)
        if missing:
            raise ValueError(
                f"weights name unknown aspects {sorted(missing)}; ratings have {names}"
            )
        weights = np.array([float(aggregate.get(n, 0.0)) for n in names])
    else:
        weights = np.asarray(list(aggregate), dtype=np.float64)
    if weights.shape != (matrix.shape[1],):
        raise ValueError(f"{len(weights)} weights for {matrix.shape[1]} rating aspects")
    return matrix @ weights, outside


def _scores_list(
    t: pa.Table, scores: str, aggregate: Aggregate, score_range: tuple[float, float] | None
) -> pa.Array:
    """The scores column as ``list<float64>``, multi-aspect ratings combined."""
    col = _one_array(t.column(scores))
    if not _is_list(col.type):
        raise TypeError(f"column '{scores}' has type {col.type}; expected a list of scores")
    inner = col.type.value_type
    if not (_is_list(inner) or pa.types.is_struct(inner)):
        return col
    if col.null_count:
        raise ValueError(f"column '{scores}', row {first_true(pc.is_null(col))}: null list")
    flat = pc.list_flatten(col)
    combined, outside = _combine_aspects(flat, aggregate, scores, score_range)
    offsets = np.concatenate(
        [[0], np.cumsum(pc.list_value_length(col).to_numpy(zero_copy_only=False))]
    )
    if outside.any():
        entry = int(np.flatnonzero(outside)[0])
        row = _row_of(entry, offsets)
        what = "NaN" if score_range is None else f"outside score_range {list(score_range)}"
        raise ValueError(
            f"column '{scores}', row {row}: a rating at position {entry - offsets[row]} is {what}"
        )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(combined))


def _group_long(
    t: pa.Table, prompt: str, completions: str, scores: str
) -> tuple[pa.Table, pa.Array]:
    """A long table (one completion per row) as one row per prompt, in order of first
    appearance; also returns each grouped entry's input row."""
    cid = dedup.exact(t, [prompt], normalize=None).cluster_id
    work = pa.table(
        {
            "__g": cid,
            "__row": pa.array(np.arange(t.num_rows)),
            "c": t.column(completions),
            "s": t.column(scores),
        }
    )
    grouped = work.group_by("__g", use_threads=False).aggregate(
        [("__row", "list"), ("c", "list"), ("s", "list")]
    )
    rows = grouped.column("__row_list").combine_chunks()
    first = pc.list_element(rows, 0)
    out = pa.table(
        {
            prompt: t.column(prompt).take(first),
            completions: grouped.column("c_list"),
            scores: grouped.column("s_list"),
        }
    )
    return out, pc.list_flatten(rows)


def from_scores(
    table: Any,
    *,
    prompt: str | None = "prompt",
    completions: str = "completions",
    scores: str = "scores",
    strategy: Strategy = "best_worst",
    min_margin: float = 0.0,
    ties: Ties = "drop",
    k: int = 1,
    seed: int = 0,
    max_pairs_per_prompt: int | None = None,
    aggregate: Aggregate = "mean",
    score_range: tuple[float, float] | None = None,
    short_groups: Literal["error", "skip"] = "error",
    group_offset: int = 0,
    texts: Texts = "copy",
) -> PairResult:
    """Chosen/rejected pairs from scored completions.

    ``table`` has one row per prompt with list columns ``completions`` and ``scores``
    (UltraFeedback / HelpSteer style), or one row per completion (a *long* table:
    ``completions`` and ``scores`` hold scalars; rows are grouped by equal ``prompt``).
    A score may be a number or several ratings (a list or struct per completion),
    combined by ``aggregate``: ``"mean"``, ``"min"``, ``"max"``, a sequence of weights
    or a ``{aspect: weight}`` mapping. ``score_range=(low, high)`` makes any rating
    outside it an error naming the row (catching e.g. a 10 on a 1-5 scale).

    Strategies, per prompt (a pair needs ``chosen − rejected >= min_margin``):

    - ``best_worst``: the best against the worst.
    - ``best_random``: the best against ``k`` lower ones drawn at random.
    - ``best_vs_rest``: the best against every lower one.
    - ``top_k_bottom_k``: each of the ``k`` best against each of the ``k`` worst.
    - ``all_pairs``: every pair, the higher score chosen.
    - ``random_pairs``: ``k`` pairs drawn from ``all_pairs``.

    ``ties``: ``"drop"`` never pairs equal scores (the first best and the last worst
    are taken when several tie); ``"keep"`` pairs them with margin 0, the earlier one
    chosen; ``"random"`` pairs them in a random orientation and draws tied bests and
    worsts at random. ``max_pairs_per_prompt`` keeps a random subset (in order).
    Prompts with fewer than two completions are an error unless
    ``short_groups="skip"``; ``stats`` counts every prompt's fate. ``group_offset`` is
    the index of the table's first prompt in a larger dataset processed in batches:
    random draws, and ``group_id``, then match one call over the whole dataset.

    Output columns: ``prompt`` (if given), ``chosen``, ``rejected``,
    ``score_chosen``, ``score_rejected``, ``margin``, ``group_id`` (input row, or
    prompt number for a long table), ``chosen_index``, ``rejected_index`` (position in
    the list, or input row for a long table).

    ``texts``: ``"copy"`` writes each pair's prompt, chosen and rejected out in full.
    ``"dictionary"`` returns them as ``dictionary<int32, …>`` columns over the input's
    own prompts and completions: nothing is copied, each text costs 4 bytes a pair
    however long it is (``all_pairs`` repeats every completion once per partner), and
    Parquet stores them dictionary-encoded. pyarrow computes on such columns, and
    prefcore's functions accept them. ``dictionary_decode()`` on a column's chunks
    gives the copied form, and so does ``table.cast`` to the plain type for strings.
    The dictionaries are the whole input columns, so some entries may go unused.

    >>> t = {"prompt": ["p"], "completions": [["a", "b", "c"]], "scores": [[2, 9, 5]]}
    >>> r = from_scores(t, strategy="best_vs_rest")
    >>> r.table.select(["chosen", "rejected", "margin"]).to_pydict()
    {'chosen': ['b', 'b'], 'rejected': ['a', 'c'], 'margin': [7.0, 4.0]}
    >>> d = from_scores(t, strategy="best_vs_rest", texts="dictionary").table
    >>> d.schema.field("chosen").type, d.column("chosen").to_pylist()
    (DictionaryType(dictionary<values=string, indices=int32, ordered=0>), ['b', 'b'])
    """
    t = _table(table)
    require_columns(t, completions, scores, prompt)
    require_no_nulls(t, prompt, completions)
    long_rows = None
    if not _is_list(t.schema.field(completions).type):
        if prompt is None:
            raise ValueError(
                "a long table (one completion per row) needs a prompt column to group by"
            )
        t, long_rows = _group_long(t, prompt, completions, scores)
    score_lists = _scores_list(t, scores, aggregate, score_range)
    result, counts = _prefcore.pairs_from_scores(
        t, prompt, completions, score_lists, scores, strategy, float(min_margin), ties,
        int(k), int(seed), max_pairs_per_prompt,
        None if score_range is None else (float(score_range[0]), float(score_range[1])),
        short_groups, int(group_offset), texts,
    )  # fmt: skip
    if long_rows is not None:
        # Positions in a prompt's list back to input rows.
        offsets = pc.list_value_length(t.column(completions)).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.cumsum(offsets)])[:-1]
        group = result.column("group_id").to_numpy()
        for name in ("chosen_index", "rejected_index"):
            flat = starts[group] + result.column(name).to_numpy()
            i = result.schema.get_field_index(name)
            result = result.set_column(i, name, long_rows.take(pa.array(flat)))
    if group_offset:
        i = result.schema.get_field_index("group_id")
        shifted = pc.add(result.column("group_id"), pa.scalar(group_offset, pa.int64()))
        result = result.set_column(i, "group_id", shifted)
    counts["pairs"] = result.num_rows
    return PairResult(result, counts)


def from_rankings(
    table: Any,
    *,
    prompt: str | None = "prompt",
    completions: str = "completions",
    ranking: str = "ranking",
    strategy: Strategy = "all_pairs",
    ties: Ties = "drop",
    k: int = 1,
    seed: int = 0,
    max_pairs_per_prompt: int | None = None,
    short_groups: Literal["error", "skip"] = "error",
    texts: Texts = "copy",
) -> PairResult:
    """Pairs from listwise rankings: ``ranking`` holds each completion's rank (1 is
    best; equal ranks tie). Strategies, ties and texts as in :func:`from_scores`; the output
    has ``rank_chosen`` and ``rank_rejected`` instead of scores, and ``margin`` is the
    rank difference.

    >>> t = {"prompt": ["p"], "completions": [["a", "b", "c"]], "ranking": [[2, 1, 3]]}
    >>> from_rankings(t).table.select(["chosen", "rejected"]).to_pydict()
    {'chosen': ['b', 'a', 'b'], 'rejected': ['a', 'c', 'c']}
    """
    t = _table(table)
    require_columns(t, ranking)
    col = _one_array(t.column(ranking))
    if not _is_list(col.type) or not pa.types.is_integer(col.type.value_type):
        raise TypeError(f"column '{ranking}' has type {col.type}; expected a list of integer ranks")
    flat = pc.list_flatten(col)
    if len(flat) and pc.min(flat).as_py() is not None and pc.min(flat).as_py() < 1:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        bad = int(np.flatnonzero(flat.to_numpy(zero_copy_only=False) < 1)[0])
        row = _row_of(bad, np.concatenate([[0], np.cumsum(lengths)]))
        raise ValueError(f"column '{ranking}', row {row}: ranks start at 1")
    if col.null_count:
        raise ValueError(f"column '{ranking}', row {first_true(pc.is_null(col))}: null ranking")
    offsets = pc.subtract(col.offsets, col.offsets[0]) if len(col) else pa.array([0], pa.int32())
    negated = pa.ListArray.from_arrays(offsets, pc.negate(pc.cast(flat, pa.float64())))
    # The ranks, negated, stand in their own column: errors name the user's column.
    scored = t.set_column(t.schema.get_field_index(ranking), ranking, negated)
    r = from_scores(
        scored, prompt=prompt, completions=completions, scores=ranking, strategy=strategy,
        ties=ties, k=k, seed=seed, max_pairs_per_prompt=max_pairs_per_prompt,
        short_groups=short_groups, texts=texts,
    )  # fmt: skip
    out = r.table
    for old, new in (("score_chosen", "rank_chosen"), ("score_rejected", "rank_rejected")):
        i = out.schema.get_field_index(old)
        out = out.set_column(i, new, pc.cast(pc.negate(out.column(old)), pa.int64()))
    return PairResult(out, r.stats)


def unpair(
    pairs: Any, *, prompt: str = "prompt", chosen: str = "chosen", rejected: str = "rejected"
) -> PairResult:
    """Unpaired (KTO/BCO) rows from pairs: each pair gives its chosen completion with
    ``label=True`` and its rejected one with ``label=False``, sharing ``pair_id`` (the
    pair's row). ``stats`` gives the class balance.

    >>> r = unpair({"prompt": ["p"], "chosen": ["good"], "rejected": ["bad"]})
    >>> r.table.to_pydict()
    {'prompt': ['p', 'p'], 'completion': ['good', 'bad'], 'label': [True, False], 'pair_id': [0, 0]}
    """
    t = _table(pairs)
    require_columns(t, prompt, chosen, rejected)
    require_no_nulls(t, prompt, chosen, rejected)
    n = t.num_rows
    both = (
        pa.concat_arrays([t.column(chosen).combine_chunks(), t.column(rejected).combine_chunks()])
        if n
        else pa.array([], pa.string())
    )
    interleave = np.empty(2 * n, dtype=np.int64)
    interleave[0::2] = np.arange(n)
    interleave[1::2] = np.arange(n) + n
    out = pa.table(
        {
            "prompt": t.column(prompt).take(pa.array(np.repeat(np.arange(n), 2))),
            "completion": both.take(pa.array(interleave)) if n else both,
            "label": pa.array(np.tile([True, False], n)),
            "pair_id": pa.array(np.repeat(np.arange(n, dtype=np.int64), 2)),
        }
    )
    return PairResult(
        out,
        {
            "rows": 2 * n,
            "desirable": n,
            "undesirable": n,
            "desirable_share": 0.5 if n else math.nan,
        },
    )


def pair(
    unpaired: Any,
    *,
    prompt: str = "prompt",
    completion: str = "completion",
    label: str = "label",
    pair_id: str | None = "pair_id",
    seed: int = 0,
) -> PairResult:
    """Pairs from unpaired rows: the reverse of :func:`unpair`.

    With a ``pair_id`` column each id must have exactly one desirable and one
    undesirable row, and the pairs come back in order of first appearance. Without
    one (``pair_id=None`` or no such column), each prompt's desirable and undesirable
    completions are shuffled (seeded) and matched one to one; what cannot be matched
    is counted in ``stats``, with the class balance of the input.

    >>> u = {"prompt": ["p", "p", "q"], "completion": ["a", "b", "c"], "label": [True, False, True]}
    >>> r = pair(u, pair_id=None)
    >>> r.table.to_pylist(), r.stats["unmatched_desirable"]
    ([{'prompt': 'p', 'chosen': 'a', 'rejected': 'b'}], 1)
    """
    t = _table(unpaired)
    require_columns(t, prompt, completion, label)
    labels = t.column(label)
    if not pa.types.is_boolean(labels.type):
        raise TypeError(f"column '{label}' has type {labels.type}; expected bool")
    if labels.null_count:
        raise ValueError(f"column '{label}', row {first_true(pc.is_null(labels))}: null label")
    is_good = labels.to_numpy(zero_copy_only=False).astype(bool)
    n_good = int(is_good.sum())
    balance = {
        "rows": t.num_rows,
        "desirable": n_good,
        "undesirable": t.num_rows - n_good,
        "desirable_share": n_good / t.num_rows if t.num_rows else math.nan,
    }
    if pair_id is not None and pair_id in t.column_names:
        ids = _codes(t.column(pair_id), pair_id)[1].to_numpy(zero_copy_only=False).astype(np.int64)
        counts = np.bincount(ids, minlength=ids.max() + 1 if len(ids) else 0)
        goods = np.bincount(ids, weights=is_good, minlength=len(counts))
        bad = np.flatnonzero((counts != 2) | (goods != 1))
        if len(bad):
            row = int(np.flatnonzero(ids == bad[0])[0])
            raise ValueError(
                f"column '{pair_id}', row {row}: pair {t.column(pair_id)[row].as_py()!r} has "
                f"{int(counts[bad[0]])} rows with {int(goods[bad[0]])} desirable; a pair needs "
                "one desirable and one undesirable row"
            )
        order = np.lexsort((~is_good, ids))  # per id: the desirable row first
        good_rows, bad_rows = order[0::2], order[1::2]
        stats = {
            **balance,
            "pairs": len(good_rows),
            "unmatched_desirable": 0,
            "unmatched_undesirable": 0,
        }
    else:
        groups = dedup.exact(t, [prompt], normalize=None).cluster_id.to_numpy()
        key = np.random.default_rng(integer("seed", seed, minimum=0, maximum=2**64 - 1)).random(
            t.num_rows
        )
        order = np.lexsort((key, ~is_good, groups))
        g, good = groups[order], is_good[order]
        # Rank of each row within its (prompt, label) block.
        block = (
            np.concatenate([[True], (g[1:] != g[:-1]) | (good[1:] != good[:-1])])
            if len(g)
            else np.zeros(0, bool)
        )
        starts = np.flatnonzero(block)
        rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.append(starts, len(g))))
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        per_good = np.bincount(groups[is_good], minlength=n_groups)
        per_bad = np.bincount(groups[~is_good], minlength=n_groups)
        matched = np.minimum(per_good, per_bad)
        use = rank < matched[g]
        good_rows, bad_rows = order[use & good], order[use & ~good]
        # Both are ordered by (prompt, rank): they line up.
        stats = {
            **balance,
            "pairs": len(good_rows),
            "unmatched_desirable": int((per_good - matched).sum()),
            "unmatched_undesirable": int((per_bad - matched).sum()),
            "prompts_with_one_label": int(((per_good == 0) ^ (per_bad == 0)).sum()),
        }
    out = pa.table(
        {
            "prompt": t.column(prompt).take(pa.array(good_rows, pa.int64())),
            "chosen": t.column(completion).take(pa.array(good_rows, pa.int64())),
            "rejected": t.column(completion).take(pa.array(bad_rows, pa.int64())),
        }
    )
    return PairResult(out, stats)


def listwise(
    table: Any,
    *,
    prompt: str | None = "prompt",
    completions: str = "completions",
    scores: str = "scores",
    labels: str | None = None,
) -> pa.Table:
    """One row per prompt with its completions ranked by score (highest first, earlier
    first on ties) and the LiPO-λ weights between ranked positions:
    ``Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|``, ``G = 2^ψ − 1``,
    ``D(τ) = log2(1 + τ)``, ψ the label (``labels`` column, else the score) and τ
    the rank. ``lambda_weights`` is the ``n × n`` matrix flattened row by row.

    >>> t = listwise({"prompt": ["p"], "completions": [["a", "b"]], "scores": [[0.0, 1.0]]})
    >>> t.column("completions").to_pylist(), t.column("lambda_weights").to_pylist()[0][1]
    ([['b', 'a']], 0.369...)
    """
    t = _table(table)
    require_columns(t, prompt, completions, scores, labels)
    score_col = _one_array(t.column(scores))
    label_col = _one_array(t.column(labels)) if labels else score_col
    comp = _one_array(t.column(completions))
    n_comp = pc.fill_null(pc.list_value_length(comp), -1).to_numpy(zero_copy_only=False)
    n_scores = pc.fill_null(pc.list_value_length(score_col), -1).to_numpy(zero_copy_only=False)
    differ = np.flatnonzero(n_comp != n_scores)
    if len(differ):
        row = int(differ[0])
        raise ValueError(
            f"column '{completions}', row {row}: {n_comp[row]} completions for "
            f"{n_scores[row]} scores in '{scores}'; every completion needs one score"
        )
    order, weights = _prefcore.listwise_weights(score_col, label_col, scores, labels or scores)
    lengths = pc.list_value_length(order)
    starts = pc.list_value_length(score_col).to_numpy(zero_copy_only=False)
    base = np.repeat(
        np.concatenate([[0], np.cumsum(starts)])[:-1], lengths.to_numpy(zero_copy_only=False)
    )
    flat_idx = pa.array(base + pc.list_flatten(order).to_numpy())
    offsets = order.offsets

    def ranked(col: pa.Array) -> pa.Array:
        values = pc.list_flatten(col).take(flat_idx)
        return pa.ListArray.from_arrays(offsets, values)

    cols: dict[str, Any] = {}
    if prompt:
        cols[prompt] = t.column(prompt)
    cols[completions] = ranked(comp)
    cols[scores] = ranked(score_col)
    if labels:
        cols[labels] = ranked(label_col)
    cols["original_index"] = order
    cols["lambda_weights"] = weights
    return pa.table(cols)


def lipo_lambda_weights(scores: Any, labels: Any, mask: Any = None) -> Any:
    """LiPO-λ weights for a training batch: ``scores`` (the policy's, which define
    the ranks τ) and ``labels`` (ψ) of shape ``[batch, list]``; returns
    ``[batch, list, list]`` with ``Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|``.
    Entries where ``mask`` is False rank last and get weight 0. A torch tensor gives
    a tensor on the same device (no gradient), numpy gives numpy.

    >>> w = lipo_lambda_weights(np.array([[0.2, 0.9]]), np.array([[1.0, 0.0]]))
    >>> w.shape, round(float(w[0, 0, 1]), 6)
    ((1, 2, 2), 0.36907)
    """
    if hasattr(scores, "detach"):
        return _lipo_torch(scores, labels, mask)
    return _lipo_numpy(scores, labels, mask)


def _lipo_torch(scores: Any, labels: Any, mask: Any) -> Any:
    import torch

    with torch.no_grad():
        s = scores.detach().to(torch.float64)
        y = torch.as_tensor(labels, device=s.device).to(torch.float64)
        if mask is None:
            valid = torch.ones_like(s, dtype=torch.bool)
        else:
            valid = torch.as_tensor(mask, device=s.device).bool()
        if s.dim() != 2 or s.shape != y.shape:
            raise ValueError(
                f"scores and labels must be 2-D of one shape, got {tuple(s.shape)} and "
                f"{tuple(y.shape)}"
            )
        _check_lipo_inputs(s.cpu().numpy(), y.cpu().numpy(), valid.cpu().numpy())
        s = torch.where(valid, s, torch.full_like(s, -math.inf))
        order = torch.argsort(s, dim=-1, descending=True, stable=True)
        rank = torch.argsort(order, dim=-1).to(torch.float64) + 1.0
        inv = torch.where(valid, 1.0 / torch.log2(1.0 + rank), torch.zeros_like(rank))
        gain = torch.where(valid, torch.exp2(y) - 1.0, torch.zeros_like(y))
        both = valid[..., :, None] & valid[..., None, :]
        w = (gain[..., :, None] - gain[..., None, :]).abs() * (
            inv[..., :, None] - inv[..., None, :]
        ).abs()
        w = torch.where(both, w, torch.zeros_like(w))
        return w.to(scores.dtype if scores.is_floating_point() else torch.float32)


def _check_lipo_inputs(s: np.ndarray, y: np.ndarray, valid: np.ndarray) -> None:
    """NaN scores and labels whose gain 2^label - 1 is not finite are errors (the
    weights would be NaN or inf); entries outside ``mask`` are not read."""
    for name, bad in (
        ("scores", np.isnan(s) & valid),
        ("labels", ~((y <= _MAX_LIPO_LABEL) & np.isfinite(y)) & valid),
    ):
        where = np.argwhere(bad)
        if len(where):
            row, pos = (int(v) for v in where[0][:2])
            value = (s if name == "scores" else y)[row, pos]
            raise ValueError(
                f"column '{name}', row {row}: {value} at position {pos}; scores must not be "
                f"NaN and labels must be finite and at most {_MAX_LIPO_LABEL:g} "
                "(the gain 2^label - 1 overflows beyond)"
            )


#: 2^1024 overflows a float64: the largest label whose LiPO gain is finite.
_MAX_LIPO_LABEL = 1023.0


def _lipo_numpy(scores: Any, labels: Any, mask: Any) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if s.ndim != 2 or s.shape != y.shape:
        raise ValueError(f"scores and labels must be 2-D of one shape, got {s.shape} and {y.shape}")
    valid = np.ones(s.shape, bool) if mask is None else np.asarray(mask, bool)
    _check_lipo_inputs(s, y, valid)
    s = np.where(valid, s, -np.inf)
    order = np.argsort(-s, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1).astype(np.float64) + 1.0
    inv = np.where(valid, 1.0 / np.log2(1.0 + rank), 0.0)
    gain = np.where(valid, np.exp2(y) - 1.0, 0.0)
    both = valid[..., :, None] & valid[..., None, :]
    w = np.abs(gain[..., :, None] - gain[..., None, :]) * np.abs(
        inv[..., :, None] - inv[..., None, :]
    )
    return np.where(both, w, 0.0)


@dataclass(frozen=True)
class VoteResult:
    """Consensus per item (``table``), agreement figures, and per-annotator agreement
    with the consensus (``annotators``)."""

    table: pa.Table
    agreement: dict[str, Any]
    annotators: pa.Table


def _codes(
    col: pa.ChunkedArray | pa.Array, name: str, sort: bool = False
) -> tuple[pa.Array, pa.Array]:
    if col.null_count:
        raise ValueError(f"column '{name}', row {first_true(pc.is_null(col))}: null value")
    if pa.types.is_floating(col.type):
        bad = first_true(pc.invert(pc.is_finite(col)))
        if bad is not None:
            raise ValueError(
                f"column '{name}', row {bad}: {col[bad].as_py()} is not a finite value"
            )
    values = pc.unique(col)
    if sort:
        values = values.take(pc.sort_indices(values))
    return values, pc.index_in(col, value_set=values)


def aggregate_votes(
    table: Any,
    *,
    item: str = "item",
    annotator: str = "annotator",
    vote: str = "vote",
    method: Literal["majority", "mean", "dawid_skene"] = "majority",
) -> VoteResult:
    """Consensus of several annotators' votes, and how much they agree.

    ``table`` has one row per vote. ``method``: ``"majority"`` (the most frequent
    vote; a tie gives a null consensus with ``tied=True``, never a silent pick),
    ``"mean"`` (numeric votes averaged) or ``"dawid_skene"`` (EM over one confusion
    matrix per annotator; ``support`` is the posterior of the consensus).
    Agreement, over items with at least two votes, treats votes as nominal: raw
    agreement (share of agreeing vote pairs), Fleiss' κ (unequal rater counts allowed)
    and Krippendorff's α. An annotator voting twice on an item is an error.

    >>> v = {"item": [1, 1, 1, 2, 2], "annotator": ["x", "y", "z", "x", "y"],
    ...      "vote": ["A", "A", "B", "A", "B"]}
    >>> r = aggregate_votes(v)
    >>> r.table.column("consensus").to_pylist(), r.table.column("tied").to_pylist()
    (['A', None], [False, True])
    """
    t = _table(table)
    require_columns(t, item, annotator, vote)
    if method not in ("majority", "mean", "dawid_skene"):
        raise ValueError(f"method must be one of 'majority', 'mean', 'dawid_skene'; not {method!r}")
    items, item_codes = _codes(t.column(item), item)
    annotators, ann_codes = _codes(t.column(annotator), annotator)
    classes, class_codes = _codes(t.column(vote), vote, sort=True)
    out = _prefcore.aggregate_votes(
        item_codes, ann_codes, class_codes, len(items), len(annotators), max(len(classes), 1),
        "dawid_skene" if method == "dawid_skene" else "majority",
    )  # fmt: skip
    consensus = classes.take(out["class"]) if len(classes) else pa.nulls(len(items))
    cols: dict[str, Any] = {item: items}
    if method == "mean":
        votes = t.column(vote)
        if not (pa.types.is_integer(votes.type) or pa.types.is_floating(votes.type)):
            raise TypeError(f"column '{vote}' has type {votes.type}; method='mean' needs numbers")
        sums = np.bincount(
            item_codes.to_numpy(zero_copy_only=False),
            weights=votes.to_numpy(zero_copy_only=False).astype(np.float64),
            minlength=len(items),
        )
        n = out["n_votes"].to_numpy(zero_copy_only=False)
        cols["consensus"] = pa.array(sums / n)
        cols["n_votes"] = out["n_votes"]
    else:
        cols["consensus"] = consensus
        cols["support"] = out["support"]
        cols["tied"] = out["tied"]
        cols["n_votes"] = out["n_votes"]
    agreement = {
        "raw_agreement": out["raw_agreement"],
        "fleiss_kappa": out["fleiss_kappa"],
        "krippendorff_alpha": out["krippendorff_alpha"],
        "items_rated_twice": out["items_rated_twice"],
        "items": len(items),
        "ties": int(pc.sum(out["tied"]).as_py() or 0) if method != "mean" else 0,
    }
    if method == "dawid_skene":
        agreement["iterations"] = out["iterations"]
    ann = pa.table(
        {
            annotator: annotators,
            "votes": out["annotator_votes"],
            "agreement_with_consensus": out["annotator_agreement"],
        }
    )
    return VoteResult(pa.table(cols), agreement, ann)


ELO_SCALE = 400.0 / math.log(10.0)
ELO_BASE = 1000.0

_A_WINS = {"model_a", "a", "A"}
_B_WINS = {"model_b", "b", "B"}
_TIES = {"tie", "tie (bothbad)", "draw"}


@dataclass(frozen=True)
class BradleyTerryResult:
    """Ratings per item, best first: ``rating``, standard error ``se`` (from the
    Fisher information; relative to the anchor, or to the mean rating),
    ``ci_lower``/``ci_upper`` (bootstrap percentiles; null without bootstrap),
    ``rank`` (1 + number of items rated strictly higher), ``battles``.
    """

    table: pa.Table
    scale: str
    stats: dict[str, Any] = field(default_factory=dict)

    def win_rate(self, a: Any, b: Any) -> Any:
        """Probability that ``a`` beats ``b`` (names, or sequences of names)."""
        return predict_win_rate(self, a, b)


def _winner_scores(t: pa.Table, a: str, b: str, winner: str) -> tuple[np.ndarray, np.ndarray]:
    """Score of ``a`` per battle (1, 0, 0.5) and a tie mask."""
    w = t.column(winner)
    if w.null_count:
        raise ValueError(f"column '{winner}', row {first_true(pc.is_null(w))}: null")
    if pa.types.is_string(w.type) or pa.types.is_large_string(w.type):
        values = np.asarray(w.to_numpy(zero_copy_only=False), dtype=object)
        names_a = np.asarray(
            t.column(a).cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object
        )
        names_b = np.asarray(
            t.column(b).cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object
        )
        wins_a = np.isin(values, list(_A_WINS)) | (values == names_a)
        wins_b = np.isin(values, list(_B_WINS)) | (values == names_b)
        tie = np.isin(values, list(_TIES))
        bad = ~(wins_a | wins_b | tie)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column '{winner}', row {row}: {values[row]!r} is not 'model_a', 'model_b', "
                "'tie' or the name of either model"
            )
        return np.where(wins_a, 1.0, np.where(tie, 0.5, 0.0)), tie
    if pa.types.is_boolean(w.type):
        s = w.to_numpy(zero_copy_only=False).astype(np.float64)
        return s, np.zeros(len(s), bool)
    if pa.types.is_integer(w.type) or pa.types.is_floating(w.type):
        s = w.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~np.isin(s, [0.0, 0.5, 1.0])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column '{winner}', row {row}: {s[row]} is not 1 (a wins), 0 or 0.5 (tie)"
            )
        return s, s == 0.5
    raise TypeError(f"column '{winner}' has type {w.type}; expected strings, bools or 1/0/0.5")


def bradley_terry(
    table: Any,
    a: str = "model_a",
    b: str = "model_b",
    winner: str = "winner",
    *,
    ties: Literal["half", "drop"] = "half",
    alpha: float = 1e-6,
    bootstrap: int = 0,
    seed: int = 0,
    scale: Literal["elo", "logit"] = "elo",
    anchor: tuple[str, float] | None = None,
    ci: float = 0.95,
) -> BradleyTerryResult:
    """Bradley-Terry ratings from battles, by maximum likelihood as choix's
    ``opt_pairwise`` defines it (``alpha`` is its ridge penalty; 0 gives the plain
    MLE) and as Chatbot Arena reports it.

    ``winner`` holds ``"model_a"``/``"a"``, ``"model_b"``/``"b"``, ``"tie"`` (also
    ``"tie (bothbad)"``, ``"draw"``) or the winner's name; or bools / 1, 0, 0.5 as the
    score of ``a``. ``ties="half"`` counts a tie as half a win for each side,
    ``"drop"`` ignores it (counted in ``stats``). ``scale="elo"``: 400·log10 odds
    around 1000; ``"logit"``: natural log odds around 0. ``anchor=(name, value)``
    pins one item's rating instead of the mean. ``bootstrap=B`` refits ``B``
    resamples of the battles for a ``ci`` percentile interval.

    >>> battles = {"model_a": ["x"] * 4 + ["y"] * 4 + ["x"] * 2,
    ...            "model_b": ["y"] * 4 + ["z"] * 4 + ["z"] * 2,
    ...            "winner": ["model_a", "model_a", "model_a", "model_b"] * 2 + ["x", "z"]}
    >>> r = bradley_terry(battles)
    >>> r.table.column("model").to_pylist(), r.table.column("rank").to_pylist()
    (['x', 'y', 'z'], [1, 2, 3])
    >>> round(r.win_rate("x", "y"), 3)
    0.629
    """
    t = _table(table)
    require_columns(t, a, b, winner)
    if ties not in ("half", "drop"):
        raise ValueError(f"ties must be 'half' or 'drop'; not {ties!r}")
    if scale not in ("elo", "logit"):
        raise ValueError(f"scale must be 'elo' or 'logit'; not {scale!r}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    score_a, tie = _winner_scores(t, a, b, winner)
    same = pc.equal(t.column(a).cast(pa.string()), t.column(b).cast(pa.string()))
    row = first_true(same)
    if row is not None:
        raise ValueError(f"columns '{a}'/'{b}', row {row}: a model cannot battle itself")
    keep = ~tie if ties == "drop" else np.ones(len(score_a), bool)
    col_a = t.column(a).cast(pa.string()).filter(pa.array(keep))
    col_b = t.column(b).cast(pa.string()).filter(pa.array(keep))
    for name, col in ((a, col_a), (b, col_b)):
        if col.null_count:
            raise ValueError(f"column '{name}', row {first_true(pc.is_null(col))}: null model")
    names = pc.unique(pa.chunked_array(col_a.chunks + col_b.chunks, pa.string()))
    names = names.take(pc.sort_indices(names))
    codes_a = pc.index_in(col_a, value_set=names)
    codes_b = pc.index_in(col_b, value_set=names)
    scores = pa.array(score_a[keep])
    n = len(names)
    if n < 2:
        raise ValueError("Bradley-Terry needs battles between at least two models")
    ref = None
    if anchor is not None:
        if not math.isfinite(float(anchor[1])):
            raise ValueError(f"anchor value must be a finite number, not {anchor[1]!r}")
        found = pc.index(names, anchor[0]).as_py()
        if found < 0:
            raise ValueError(f"anchor {anchor[0]!r} is not a model in the battles")
        ref = found
    if alpha == 0.0:
        unbounded = _prefcore.bt_unbounded_item(codes_a, codes_b, scores, n)
        if unbounded is not None:
            raise ValueError(
                f"model {names[unbounded[0]].as_py()!r} {unbounded[1]} every battle it played, so "
                "its maximum-likelihood rating is infinite; pass alpha > 0"
            )
    theta, var, rounds = _prefcore.bradley_terry(
        codes_a, codes_b, scores, n, float(alpha), int(bootstrap), int(seed), ref
    )

    def to_scale(x: np.ndarray) -> np.ndarray:
        shift = x[..., ref : ref + 1] if ref is not None else x.mean(axis=-1, keepdims=True)
        unit, base = (ELO_SCALE, ELO_BASE) if scale == "elo" else (1.0, 0.0)
        if anchor is not None:
            base = float(anchor[1])
        return np.asarray(unit * (x - shift) + base)

    rating = to_scale(np.asarray(theta))
    unit = ELO_SCALE if scale == "elo" else 1.0
    se = unit * np.sqrt(np.asarray(var))
    if bootstrap:
        boot = to_scale(np.asarray(rounds))
        lo, hi = np.percentile(boot, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
        ci_lo, ci_hi = pa.array(lo), pa.array(hi)
    else:
        ci_lo = ci_hi = pa.nulls(n, pa.float64())
    counts = np.bincount(codes_a.to_numpy(zero_copy_only=False), minlength=n) + np.bincount(
        codes_b.to_numpy(zero_copy_only=False), minlength=n
    )
    rank = 1 + (rating[None, :] > rating[:, None]).sum(axis=1)
    order = pa.array(np.argsort(-rating, kind="stable"))
    out = pa.table(
        {
            "model": names,
            "rating": pa.array(rating),
            "se": pa.array(se),
            "ci_lower": ci_lo,
            "ci_upper": ci_hi,
            "rank": pa.array(rank.astype(np.int64)),
            "battles": pa.array(counts.astype(np.int64)),
        }
    ).take(order)
    stats = {
        "battles": int(keep.sum()),
        "ties": int(tie.sum()),
        "ties_dropped": int((~keep).sum()),
        "models": n,
    }
    return BradleyTerryResult(out, scale, stats)


def predict_win_rate(ratings: BradleyTerryResult, a: Any, b: Any) -> Any:
    """Probability that ``a`` beats ``b`` under the fitted ratings (names or arrays of
    names; a float or a numpy array).

    >>> battles = {"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["model_a", "tie"]}
    >>> round(predict_win_rate(bradley_terry(battles, alpha=0.0), "x", "y"), 4)
    0.75
    """
    names = ratings.table.column("model")
    values = ratings.table.column("rating").to_numpy()
    index = {n: i for i, n in enumerate(names.to_pylist())}

    def lookup(x: Any) -> Any:
        scalar = isinstance(x, str)
        items = [x] if scalar else list(x)
        missing = [v for v in items if v not in index]
        if missing:
            raise ValueError(
                f"unknown model(s) {missing[:3]}; rated models: {names.to_pylist()[:10]}"
            )
        r = values[[index[v] for v in items]]
        return r[0] if scalar else r

    diff = lookup(a) - lookup(b)
    if ratings.scale == "elo":
        p = 1.0 / (1.0 + np.power(10.0, -diff / 400.0))
    else:
        p = 1.0 / (1.0 + np.exp(-diff))
    return float(p) if np.ndim(p) == 0 else p


def _same_shape_or_scalar(name: str, x: Any, against: str, y: Any) -> None:
    """Broadcasting would silently stretch or empty one side: only a scalar or an
    array of the same shape may meet another array."""
    shape, other = tuple(getattr(x, "shape", ())), tuple(getattr(y, "shape", ()))
    if shape and shape != other:
        raise ValueError(f"{name} has shape {shape} but {against} has shape {other}")


def _no_nan_difference(d: np.ndarray) -> None:
    bad = np.flatnonzero(np.isnan(np.atleast_1d(d)))
    if len(bad):
        raise ValueError(
            f"rewards, row {int(bad[0])}: NaN reward or reference (or both infinite with one "
            "sign); a transformed reward needs a number"
        )


def transform_rewards(
    rewards: Any, reference: Any, method: Literal["log_sigmoid", "center"] = "log_sigmoid"
) -> Any:
    """Transform rewards against a reference reward: ``"log_sigmoid"`` gives the LSC
    transform ``u = log σ(r − r_ref)`` of *Transforming and Combining Rewards*
    (rewards far above the reference saturate near 0, those below are penalised
    almost linearly); ``"center"`` gives ``r − r_ref``. numpy in, numpy out; torch in,
    torch out.

    >>> transform_rewards(np.array([0.0, 10.0]), 0.0).round(4)
    array([-0.6931, -0.    ])
    """
    if method not in ("log_sigmoid", "center"):
        raise ValueError(f"method must be 'log_sigmoid' or 'center'; not {method!r}")
    if hasattr(rewards, "detach"):
        import torch

        ref_t = torch.as_tensor(reference, device=rewards.device, dtype=rewards.dtype)
        _same_shape_or_scalar("reference", ref_t, "rewards", rewards)
        d = rewards - ref_t
        _no_nan_difference(d.detach().cpu().numpy())
        return torch.nn.functional.logsigmoid(d) if method == "log_sigmoid" else d
    r, ref = np.asarray(rewards, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    _same_shape_or_scalar("reference", ref, "rewards", r)
    with np.errstate(invalid="ignore"):
        d = r - ref
    _no_nan_difference(d)
    # log σ(d) = −softplus(−d), computed without overflow.
    return -np.logaddexp(0.0, -d) if method == "log_sigmoid" else d


def combine(*transformed: Any, weights: Sequence[float] | None = None) -> Any:
    """Combine transformed rewards by a (weighted) sum: with log-sigmoid transforms
    the sum is the log-probability that the response is good in every property.

    >>> combine(np.array([-0.1, -2.0]), np.array([-0.3, -0.1]))
    array([-0.4, -2.1])
    """
    if not transformed:
        raise ValueError("combine needs at least one reward array")
    w = [1.0] * len(transformed) if weights is None else list(weights)
    if len(w) != len(transformed):
        raise ValueError(f"{len(w)} weights for {len(transformed)} reward arrays")
    for i, x in enumerate(transformed[1:], start=1):
        _same_shape_or_scalar(f"reward array {i}", x, "reward array 0", transformed[0])
    for i, wi in enumerate(w):
        if not (isinstance(wi, (int, float)) and math.isfinite(wi)):
            raise ValueError(f"weights[{i}] must be a finite number, not {wi!r}")
    with np.errstate(over="ignore", invalid="ignore"):
        total = transformed[0] * w[0]
        for x, wi in zip(transformed[1:], w[1:]):
            total = total + x * wi
    finite = total.isfinite() if hasattr(total, "isfinite") else np.isfinite(total)
    inputs_finite = [
        x.isfinite() if hasattr(x, "isfinite") else np.isfinite(x) for x in transformed
    ]
    for ok in inputs_finite:
        finite = finite | ~ok  # only a non-finite sum of finite inputs is an overflow
    if not bool(finite.all()):
        row = int(
            np.flatnonzero(~np.asarray(finite.cpu() if hasattr(finite, "cpu") else finite))[0]
        )
        raise ValueError(f"row {row}: the weighted sum of rewards overflows float64")
    return total


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


def _distribution(x: np.ndarray) -> dict[str, float]:
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
    t = _table(table)
    n = t.num_rows
    report: dict[str, Any] = {"rows": n}
    lengths: dict[str, np.ndarray] = {}
    require_columns(t, prompt, chosen, rejected)
    require_no_nulls(t, prompt, chosen, rejected)
    for name in [c for c in (prompt, chosen, rejected) if c]:
        lengths[name] = _char_lengths(t.column(name))
        report[f"{name}_chars"] = _distribution(lengths[name])
        if tokenizer is not None:
            report[f"{name}_tokens"] = _distribution(_token_lengths(t.column(name), tokenizer))
    if prompt:
        clusters = dedup.exact(t, [prompt], normalize=None)
        sizes = np.bincount(clusters.cluster_id.to_numpy())
        report["prompts"] = int(clusters.stats["clusters"])
        report["pairs_per_prompt"] = _distribution(sizes.astype(np.float64))
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
