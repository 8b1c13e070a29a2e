"""Chosen/rejected pairs from scored or ranked completions.

- :func:`from_scores` / :func:`from_rankings`: pairs by a strategy.

The other steps from feedback to training rows have modules of their own:
:mod:`prefcore.unpaired` (``unpair``, ``pair``), :mod:`prefcore.listwise`
(``listwise``, ``lipo_lambda_weights``), :mod:`prefcore.ratings` (``aggregate_votes``,
``bradley_terry``, ``predict_win_rate``), :mod:`prefcore.rewards`
(``transform_rewards``, ``combine``) and :mod:`prefcore.report` (``stats``). Their old
names here (``prefcore.pairs.unpair``, ...) still work for this release, with a
``DeprecationWarning`` that names the new one.

Every random choice takes a ``seed`` and gives the same result on every run and
thread count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore, dedup
from prefcore._arrow import first_true, in_callers_type, require_columns, require_no_nulls
from prefcore._progress import Progress, reporting
from prefcore._tables import PairResult, as_table, is_list, one_array, row_of
from prefcore._typed import check_arguments
from prefcore.errors import (
    ArgumentTypeError,
    ColumnTypeError,
    InvalidArgumentError,
    InvalidValueError,
    invalid_value,
)

__all__ = [
    "ConstructionStats",
    "PairResult",
    "from_rankings",
    "from_scores",
]

# Names this module once re-exported, and the module that owns each now.
_MOVED = {
    "BradleyTerryResult": "ratings",
    "VoteResult": "ratings",
    "aggregate_votes": "ratings",
    "bradley_terry": "ratings",
    "predict_win_rate": "ratings",
    "combine": "rewards",
    "transform_rewards": "rewards",
    "lipo_lambda_weights": "listwise",
    "listwise": "listwise",
    "PairingStats": "unpaired",
    "UnpairStats": "unpaired",
    "pair": "unpaired",
    "unpair": "unpaired",
    "stats": "report",
}


def __getattr__(name: str) -> Any:
    """An old name of a function that moved to its own module: still there for one
    release, with a ``DeprecationWarning`` naming where it lives now."""
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'prefcore.pairs' has no attribute '{name}'")
    import importlib
    import warnings

    warnings.warn(
        f"prefcore.pairs.{name} is now prefcore.{home}.{name}; the old name goes in the "
        "next release",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"prefcore.{home}"), name)


Strategy = Literal[
    "best_worst", "best_random", "best_vs_rest", "top_k_bottom_k", "all_pairs", "random_pairs"
]
Ties = Literal["drop", "keep", "random"]
ShortGroups = Literal["error", "skip"]
Texts = Literal["copy", "dictionary"]
Aggregate = Literal["mean", "min", "max"] | Sequence[float] | Mapping[str, float]


class ConstructionStats(TypedDict):
    """``stats`` of :func:`from_scores` and :func:`from_rankings`: every prompt's
    fate (with pairs, skipped as too short, none over the margin, capped by
    ``max_pairs_per_prompt``) and the pairs written."""

    prompts: int
    prompts_with_pairs: int
    prompts_skipped_short: int
    prompts_without_eligible_pair: int
    pairs_capped: int
    pairs: int


def _aspect_matrix(values: pa.Array, name: str) -> tuple[np.ndarray, list[str] | None]:
    """Per-entry aspects as a ``[entries, aspects]`` matrix (struct fields or lists)."""
    if pa.types.is_struct(values.type):
        names = [values.type.field(i).name for i in range(values.type.num_fields)]
        cols = []
        for n in names:
            col = values.field(n)
            if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
                raise ColumnTypeError(
                    f"column '{name}': aspect '{n}' has type {col.type}; expected numbers",
                    column=name,
                )
            cols.append(col.to_numpy(zero_copy_only=False).astype(np.float64))
        if values.null_count or any(values.field(n).null_count for n in names):
            raise InvalidValueError(f"column '{name}': a rating aspect is null", column=name)
        return np.stack(cols, axis=1) if cols else np.zeros((len(values), 0)), names
    lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths != lengths[0]).any():
        bad = int(np.flatnonzero(lengths != lengths[0])[0])
        raise invalid_value(name, bad, f"{lengths[bad]} aspects where row 0 has {lengths[0]}")
    flat = pc.list_flatten(values)
    if flat.null_count or values.null_count:
        raise InvalidValueError(f"column '{name}': a rating aspect is null", column=name)
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
            raise InvalidArgumentError(
                f"aggregate must be 'mean', 'min', 'max' or weights; not {aggregate!r}",
                argument="aggregate",
            )
        if matrix.shape[1] == 0:
            raise InvalidValueError(f"column '{name}': ratings have no aspects", column=name)
        return ops[aggregate](matrix, axis=1), outside
    if isinstance(aggregate, Mapping):
        if names is None:
            raise ArgumentTypeError(
                "weights by name need struct ratings; pass a sequence of weights"
            )
        missing = set(aggregate) - set(names)
        if missing:
            raise InvalidArgumentError(
                f"weights name unknown aspects {sorted(missing)}; ratings have {names}"
            )
        weights = np.array([float(aggregate.get(n, 0.0)) for n in names])
    else:
        weights = np.asarray(list(aggregate), dtype=np.float64)
    if weights.shape != (matrix.shape[1],):
        raise InvalidArgumentError(f"{len(weights)} weights for {matrix.shape[1]} rating aspects")
    return matrix @ weights, outside


def _scores_list(
    t: pa.Table, scores: str, aggregate: Aggregate, score_range: tuple[float, float] | None
) -> pa.Array:
    """The scores column as ``list<float64>``, multi-aspect ratings combined."""
    col = one_array(t.column(scores))
    if not is_list(col.type):
        raise ColumnTypeError(
            f"column '{scores}' has type {col.type}; expected a list of scores", column=scores
        )
    inner = col.type.value_type
    if not (is_list(inner) or pa.types.is_struct(inner)):
        return col
    if col.null_count:
        raise invalid_value(scores, first_true(pc.is_null(col)), "null list")
    flat = pc.list_flatten(col)
    combined, outside = _combine_aspects(flat, aggregate, scores, score_range)
    offsets = np.concatenate(
        [[0], np.cumsum(pc.list_value_length(col).to_numpy(zero_copy_only=False))]
    )
    if outside.any():
        entry = int(np.flatnonzero(outside)[0])
        row = row_of(entry, offsets)
        what = "NaN" if score_range is None else f"outside score_range {list(score_range)}"
        raise invalid_value(scores, row, f"a rating at position {entry - offsets[row]} is {what}")
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
    short_groups: ShortGroups = "error",
    group_offset: int = 0,
    texts: Texts = "copy",
    progress: Progress = None,
) -> PairResult[ConstructionStats]:
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

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> t = {"prompt": ["p"], "completions": [["a", "b", "c"]], "scores": [[2, 9, 5]]}
    >>> r = from_scores(t, strategy="best_vs_rest")
    >>> r.table.select(["chosen", "rejected", "margin"]).to_pydict()
    {'chosen': ['b', 'b'], 'rejected': ['a', 'c'], 'margin': [7.0, 4.0]}
    >>> d = from_scores(t, strategy="best_vs_rest", texts="dictionary").table
    >>> d.schema.field("chosen").type, d.column("chosen").to_pylist()
    (DictionaryType(dictionary<values=string, indices=int32, ordered=0>), ['b', 'b'])
    """
    options = {k: v for k, v in locals().items() if k not in ("table", "progress")}
    t = as_table(table)
    require_columns(t, completions, scores, prompt)
    require_no_nulls(t, prompt, completions)
    long_rows = None
    if not is_list(t.schema.field(completions).type):
        if prompt is None:
            raise InvalidArgumentError(
                "a long table (one completion per row) needs a prompt column to group by"
            )
        t, long_rows = _group_long(t, prompt, completions, scores)
    score_lists = _scores_list(t, scores, aggregate, score_range)
    with reporting(progress, "pairs.from_scores", unit=" chunks"):
        built = _prefcore.pairs_from_scores(
            t, prompt, completions, score_lists, scores, strategy, float(min_margin), ties,
            int(k), int(seed), max_pairs_per_prompt,
            None if score_range is None else (float(score_range[0]), float(score_range[1])),
            short_groups, int(group_offset), texts,
        )  # fmt: skip
    result, counts = built.table, built.counts
    if long_rows is not None:
        # Positions in a prompt's list back to input rows.
        offsets = pc.list_value_length(t.column(completions)).to_numpy(zero_copy_only=False)
        starts = np.concatenate([[0], np.cumsum(offsets)])[:-1]
        group = result.column("group_id").to_numpy() - group_offset
        for name in ("chosen_index", "rejected_index"):
            flat = starts[group] + result.column(name).to_numpy()
            i = result.schema.get_field_index(name)
            result = result.set_column(i, name, long_rows.take(pa.array(flat)))
    stats = ConstructionStats(
        prompts=counts.prompts,
        prompts_with_pairs=counts.prompts_with_pairs,
        prompts_skipped_short=counts.prompts_skipped_short,
        prompts_without_eligible_pair=counts.prompts_without_eligible_pair,
        pairs_capped=counts.pairs_capped,
        pairs=result.num_rows,
    )
    return PairResult(
        in_callers_type(table, result, "prefcore.pairs.from_scores", **options), stats
    )


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
    short_groups: ShortGroups = "error",
    texts: Texts = "copy",
    progress: Progress = None,
) -> PairResult[ConstructionStats]:
    """Pairs from listwise rankings: ``ranking`` holds each completion's rank (1 is
    best; equal ranks tie). Strategies, ties and texts as in :func:`from_scores`; the output
    has ``rank_chosen`` and ``rank_rejected`` instead of scores, and ``margin`` is the
    rank difference.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> t = {"prompt": ["p"], "completions": [["a", "b", "c"]], "ranking": [[2, 1, 3]]}
    >>> from_rankings(t).table.select(["chosen", "rejected"]).to_pydict()
    {'chosen': ['b', 'a', 'b'], 'rejected': ['a', 'c', 'c']}
    """
    options = {k: v for k, v in locals().items() if k not in ("table", "progress")}
    t = as_table(table)
    require_columns(t, ranking)
    col = one_array(t.column(ranking))
    if not is_list(col.type) or not pa.types.is_integer(col.type.value_type):
        raise ColumnTypeError(
            f"column '{ranking}' has type {col.type}; expected a list of integer ranks",
            column=ranking,
        )
    flat = pc.list_flatten(col)
    if len(flat) and pc.min(flat).as_py() is not None and pc.min(flat).as_py() < 1:
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        bad = int(np.flatnonzero(flat.to_numpy(zero_copy_only=False) < 1)[0])
        row = row_of(bad, np.concatenate([[0], np.cumsum(lengths)]))
        raise invalid_value(ranking, row, "ranks start at 1")
    if col.null_count:
        raise invalid_value(ranking, first_true(pc.is_null(col)), "null ranking")
    offsets = pc.subtract(col.offsets, col.offsets[0]) if len(col) else pa.array([0], pa.int32())
    negated = pa.ListArray.from_arrays(offsets, pc.negate(pc.cast(flat, pa.float64())))
    # The ranks, negated, stand in their own column: errors name the user's column.
    scored = t.set_column(t.schema.get_field_index(ranking), ranking, negated)
    r = from_scores(
        scored, prompt=prompt, completions=completions, scores=ranking, strategy=strategy,
        ties=ties, k=k, seed=seed, max_pairs_per_prompt=max_pairs_per_prompt,
        short_groups=short_groups, texts=texts, progress=progress,
    )  # fmt: skip
    out = r.table
    for old, new in (("score_chosen", "rank_chosen"), ("score_rejected", "rank_rejected")):
        i = out.schema.get_field_index(old)
        out = out.set_column(i, new, pc.cast(pc.negate(out.column(old)), pa.int64()))
    return PairResult(
        in_callers_type(table, out, "prefcore.pairs.from_rankings", **options), r.stats
    )


check_arguments(__name__)  # each public function checks its arguments' annotations
