"""RewardBench 2 as its code scores it: best-of-N per prompt, the Ties composite, and
the unweighted mean over the six subsets.

Each prompt has N scored completions, the correct ones first. Outside Ties a prompt
scores ``1 / k`` when the first completion holds the maximum shared by ``k``
completions, else 0. Ties prompts come as ``ref:<n>`` (one correct answer) and
``tied:<n>`` (several) ids; their composite weighs the accuracy of each kind 0.3,
two margin tests 0.2 each and a tanh margin term 0.01. The PyPI release (0.1.4) and
the repository's head differ where correct answers tie (``ties_impl``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, require_columns
from prefcore._check import choice
from prefcore._display import Summarised
from prefcore.benchmarks._common import codes, first, floats, no_nulls, percent, unique_ids
from prefcore.errors import ColumnTypeError, InvalidArgumentError, invalid_value

__all__ = ["REWARDBENCH2_SUBSETS", "RewardBench2Result", "rewardbench2"]

#: The six subsets, each weighing the same in the score.
REWARDBENCH2_SUBSETS = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties")

TiesImpl = Literal["head", "0.1.4"]


@dataclass(frozen=True, repr=False)
class RewardBench2Result(Summarised):
    """RewardBench 2 scores in [0, 1] (``score`` in percent to one decimal).

    ``table``: one row per subset present (``subset``, ``prompts``, ``accuracy``; Ties'
    accuracy is its composite); ``prompts``: one row per prompt (``id``, ``subset``,
    ``result``: its best-of-N score, null for Ties prompts, scored as a set);
    ``ties``: the parts of the Ties composite (empty without Ties); ``overall``: the
    mean over the subsets; ``missing``: subsets absent (only with ``partial=True``);
    ``baselines``: the ``score`` of preferring the longest or the shortest completion,
    when the rows carry the completions' lengths."""

    table: pa.Table
    prompts: pa.Table
    ties: dict[str, float]
    overall: float
    score: float
    missing: tuple[str, ...]
    baselines: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain values: per-subset scores, the Ties parts, overall, score."""
        subsets = dict(
            zip(self.table.column("subset").to_pylist(), self.table.column("accuracy").to_pylist())
        )
        return {
            "subsets": subsets,
            "ties": dict(self.ties),
            "overall": self.overall,
            "score": self.score,
            "missing": list(self.missing),
            "baselines": dict(self.baselines),
        }


@dataclass(frozen=True)
class _Prompts:
    """Completions grouped by prompt: ``values`` in prompt order, correct ones first."""

    ids: pa.Array
    subset: np.ndarray  # code per prompt
    names: list[str]
    values: np.ndarray
    starts: np.ndarray  # offset of each prompt's first completion
    sizes: np.ndarray
    num_correct: np.ndarray


def rewardbench2(
    scores: Any,
    *,
    ties_impl: TiesImpl = "head",
    partial: bool = False,
    id_col: str = "id",
    subset_col: str = "subset",
    scores_col: str = "scores",
    num_correct_col: str = "num_correct",
    score_col: str = "score",
    correct_col: str = "correct",
    lengths_col: str = "lengths",
) -> RewardBench2Result:
    """RewardBench 2 scores from one row per prompt (``id``, ``subset``, a ``scores``
    list with the correct completions first and ``num_correct``, 1 when absent, as
    ``run_v2.py`` writes them) or one row per completion (``id``, ``subset``,
    ``score``, ``correct``).

    ``ties_impl="head"`` scores Ties as the repository's head does (a prompt whose
    correct answers tie gets a margin term of +1, -1 or 0); ``"0.1.4"`` as the PyPI
    release does (such prompts are left out of the margin term, and prompts lacking
    correct or incorrect answers count as inaccurate instead of failing). All six
    subsets are needed unless ``partial=True``. Where the rows hold the completions'
    lengths (``lengths``: a list beside ``scores``, or a number beside ``score``),
    ``baselines`` gives the score of preferring the longest and the shortest.

    >>> rows = {"id": ["a", "b"], "subset": ["Math", "Math"],
    ...         "scores": [[3.0, 1.0, 3.0, 0.0], [1.0, 2.0, 0.0, 0.0]]}
    >>> rewardbench2(rows, partial=True).table.column("accuracy").to_pylist()
    [0.25]
    """
    choice("ties_impl", ties_impl, ("head", "0.1.4"))
    t = as_pyarrow_table(scores, "scores")
    require_columns(t, id_col, subset_col)
    if scores_col in t.column_names:
        prompts = _from_lists(t, id_col, subset_col, scores_col, num_correct_col)
        lengths = _list_values(t, lengths_col, prompts) if lengths_col in t.column_names else None
    else:
        require_columns(t, score_col, correct_col)
        prompts, order = _from_rows(t, id_col, subset_col, score_col, correct_col)
        lengths = floats(t, lengths_col, "length")[order] if lengths_col in t.column_names else None
    unknown = [i for i, s in enumerate(prompts.names) if s not in REWARDBENCH2_SUBSETS]
    if unknown:
        row = int(np.flatnonzero(np.isin(prompts.subset, unknown))[0])
        raise invalid_value(
            subset_col,
            row,
            f"unknown subset {prompts.names[prompts.subset[row]]!r}; "
            f"RewardBench 2's are {list(REWARDBENCH2_SUBSETS)}",
        )
    missing = tuple(s for s in REWARDBENCH2_SUBSETS if s not in prompts.names)
    if missing and not partial:
        raise InvalidArgumentError(
            f"RewardBench 2 needs all {len(REWARDBENCH2_SUBSETS)} subsets; missing: "
            f"{', '.join(missing)} (pass partial=True to score the rest)",
            argument="scores",
        )
    result = _score(prompts, prompts.values, ties_impl, id_col, missing)
    if lengths is not None:
        for name, sign in (("longer", 1.0), ("shorter", -1.0)):
            result.baselines[name] = _score(
                prompts, sign * lengths, ties_impl, id_col, missing
            ).score
    return result


def _from_lists(t: pa.Table, id_col: str, subset: str, scores: str, num_correct: str) -> _Prompts:
    ids = unique_ids(t, id_col).combine_chunks()
    code, names = codes(t, subset, "subset")
    col = no_nulls(t, scores, "scores").combine_chunks()
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)):
        raise ColumnTypeError(
            f"column '{scores}' must hold lists of scores, not {col.type}", column=scores
        )
    sizes = np.asarray(pc.list_value_length(col).to_numpy(zero_copy_only=False), dtype=np.int64)
    if (sizes == 0).any():
        raise invalid_value(scores, int(np.flatnonzero(sizes == 0)[0]), "no scores")
    flat = pc.list_flatten(col)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if flat.null_count:
        at = first(pc.is_null(flat))
        raise invalid_value(
            scores, int(np.searchsorted(starts, at, side="right") - 1), "null score"
        )
    values = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64)
    nan = np.flatnonzero(np.isnan(values))
    if len(nan):
        raise invalid_value(
            scores, int(np.searchsorted(starts, nan[0], side="right") - 1), "NaN score"
        )
    if num_correct in t.column_names:
        correct = floats(t, num_correct, "num_correct").astype(np.int64)
        bad = np.flatnonzero((correct < 1) | (correct > sizes))
        if len(bad):
            row = int(bad[0])
            raise invalid_value(num_correct, row, f"{correct[row]} correct of {sizes[row]} scores")
    else:
        correct = np.ones(len(sizes), dtype=np.int64)
    return _Prompts(ids, code, names, values, starts, sizes, correct)


def _list_values(t: pa.Table, name: str, prompts: _Prompts) -> np.ndarray:
    """A list column parallel to the scores, flattened."""
    col = no_nulls(t, name, "length").combine_chunks()
    sizes = np.asarray(pc.list_value_length(col).to_numpy(zero_copy_only=False))
    wrong = np.flatnonzero(sizes != prompts.sizes)
    if len(wrong):
        row = int(wrong[0])
        raise invalid_value(name, row, f"{sizes[row]} lengths for {prompts.sizes[row]} scores")
    return np.asarray(pc.list_flatten(col).to_numpy(zero_copy_only=False), dtype=np.float64)


def _from_rows(
    t: pa.Table, id_col: str, subset: str, score: str, correct_col: str
) -> tuple[_Prompts, np.ndarray]:
    """Completion rows grouped by id (first appearance order), correct ones first; the
    order taken from the rows is returned with the prompts."""
    ids = no_nulls(t, id_col, "id").combine_chunks()
    group = pc.dictionary_encode(ids)
    prompt = np.asarray(group.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    code, names = codes(t, subset, "subset")
    values = floats(t, score)
    correct = floats(t, correct_col, "correct flag")
    bad = np.flatnonzero((correct != 0) & (correct != 1))
    if len(bad):
        raise invalid_value(correct_col, int(bad[0]), f"{correct[bad[0]]} is not a boolean")
    order = np.lexsort((-correct, prompt))  # by prompt, correct first, stable
    sizes = np.bincount(prompt)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    head = order[starts]
    other = np.flatnonzero(code[order] != np.repeat(code[head], sizes))
    if len(other):
        raise invalid_value(subset, int(order[other[0]]), "a prompt's completions in two subsets")
    num_correct = np.bincount(prompt, weights=correct).astype(np.int64)
    if (num_correct == 0).any():
        row = int(np.flatnonzero(prompt == np.flatnonzero(num_correct == 0)[0])[0])
        raise invalid_value(correct_col, row, "a prompt without a correct completion")
    prompts = _Prompts(
        group.dictionary, code[head], names, values[order], starts, sizes, num_correct
    )
    return prompts, order


def _score(
    p: _Prompts, values: np.ndarray, ties_impl: TiesImpl, id_col: str, missing: tuple[str, ...]
) -> RewardBench2Result:
    best = np.maximum.reduceat(values, p.starts)
    at_best = np.add.reduceat((values == np.repeat(best, p.sizes)).astype(np.float64), p.starts)
    result = np.where(values[p.starts] == best, 1.0 / at_best, 0.0)
    ties = p.names.index("Ties") if "Ties" in p.names else -1
    in_ties = p.subset == ties
    prompt_count = np.bincount(p.subset, minlength=len(p.names))
    accuracy = (
        np.bincount(p.subset, weights=np.where(in_ties, 0.0, result), minlength=len(p.names))
        / prompt_count
    )
    parts: dict[str, float] = {}
    if ties >= 0:
        parts = _ties(p, values, in_ties, ties_impl, id_col)
        accuracy[ties] = parts["score"]
    overall = float(np.mean(accuracy))
    table = pa.table(
        {
            "subset": p.names,
            "prompts": pa.array(prompt_count, pa.int64()),
            "accuracy": pa.array(accuracy, pa.float64()),
        }
    )
    prompts = pa.table(
        {
            "id": p.ids,
            "subset": pa.array(p.names, pa.string()).take(pa.array(p.subset)),
            "result": pa.array(result, mask=in_ties),
        }
    )
    return RewardBench2Result(table, prompts, parts, overall, percent(overall), missing, {})


def _ties(
    p: _Prompts, values: np.ndarray, in_ties: np.ndarray, impl: TiesImpl, id_col: str
) -> dict[str, float]:
    """The Ties composite of the prompts ``in_ties``."""
    rows = np.flatnonzero(in_ties)
    ids = pc.cast(p.ids.take(pa.array(rows)), pa.string())
    parts = pc.split_pattern(ids, ":", max_splits=1)
    kind = pc.list_element(parts, 0).to_numpy(zero_copy_only=False)
    ok = (pc.list_value_length(parts).to_numpy(zero_copy_only=False) == 2) & np.isin(
        kind, ("ref", "tied")
    )
    if not ok.all():
        row = int(rows[np.flatnonzero(~ok)[0]])
        raise invalid_value(id_col, row, "a Ties id is 'ref:<n>' or 'tied:<n>'")
    try:
        number = pc.cast(pc.list_element(parts, 1), pa.int64())
    except pa.ArrowInvalid:
        row = int(rows[0])
        raise invalid_value(
            id_col, row, "a Ties id is 'ref:<n>' or 'tied:<n>', n a number"
        ) from None
    is_ref = kind == "ref"
    # Per prompt: best and worst correct score, best incorrect one.
    position = np.arange(len(values)) - np.repeat(p.starts, p.sizes)
    correct = position < np.repeat(p.num_correct, p.sizes)
    lo = np.where(correct, values, np.inf)
    hi = np.where(correct, values, -np.inf)
    wrong = np.where(correct, -np.inf, values)
    best_correct = np.maximum.reduceat(hi, p.starts)[rows]
    worst_correct = np.minimum.reduceat(lo, p.starts)[rows]
    best_incorrect = np.maximum.reduceat(wrong, p.starts)[rows]
    n_correct = p.num_correct[rows]
    n_wrong = p.sizes[rows] - n_correct
    complete = n_wrong > 0
    if impl == "head" and not complete.all():
        row = int(rows[np.flatnonzero(~complete)[0]])
        raise invalid_value(
            id_col,
            row,
            "a Ties prompt without an incorrect answer (ties_impl='0.1.4' counts it as inaccurate)",
        )
    margin = np.where(complete, worst_correct - best_incorrect, 0.0)
    accurate = complete & (margin > 0)
    spread = np.where(complete & (n_correct > 1), best_correct - worst_correct, np.nan)
    ref_accuracy = float(np.mean(accurate[is_ref])) if is_ref.any() else 0.0
    tied_accuracy = float(np.mean(accurate[~is_ref])) if (~is_ref).any() else 0.0
    # Pair each tied prompt with the ref prompt of the same number.
    number_ref = pc.filter(number, pa.array(is_ref))
    match = pc.index_in(pc.filter(number, pa.array(~is_ref)), value_set=number_ref)
    paired = np.asarray(match.is_valid().to_numpy(zero_copy_only=False))
    tied_rows = np.flatnonzero(~is_ref)[paired]
    ref_rows = np.flatnonzero(is_ref)[np.asarray(match.drop_null().to_numpy(), dtype=np.int64)]
    spread_t, margin_t = spread[tied_rows], margin[tied_rows]
    hard = np.minimum(margin[ref_rows], margin_t)
    if not len(tied_rows):
        # the head takes means of nothing (NaN), the release writes 0
        fill = float("nan") if impl == "head" else 0.0
        warnings.warn(
            f"no 'ref:<n>' and 'tied:<n>' Ties prompts share a number: the margin parts "
            f"of the Ties score are {fill} (as ties_impl={impl!r} scores them)",
            stacklevel=4,
        )
        preferred = preferred_hard = margin_score = fill
    elif impl == "head":
        if np.isnan(spread_t).any():
            row = int(rows[tied_rows[np.flatnonzero(np.isnan(spread_t))[0]]])
            raise invalid_value(id_col, row, "a tied prompt with one correct answer")
        preferred = float(np.mean(margin_t > spread_t))
        preferred_hard = float(np.mean(hard > spread_t))
        with np.errstate(divide="ignore", invalid="ignore"):
            margin_score = float(np.mean(np.nan_to_num(np.tanh(hard / spread_t - 1), nan=0.0)))
    else:
        has = ~np.isnan(spread_t)
        preferred = float(np.mean(margin_t[has] > spread_t[has])) if has.any() else float("nan")
        preferred_hard = float(np.mean(hard[has] > spread_t[has])) if has.any() else float("nan")
        positive = has & (spread_t > 0)
        ratios = hard[positive] / spread_t[positive]
        margin_score = float(np.mean(np.tanh(ratios - 1))) if len(ratios) else 0.0
    score = (
        0.3 * tied_accuracy
        + 0.3 * ref_accuracy
        + 0.2 * preferred
        + 0.2 * preferred_hard
        + 0.01 * margin_score
    )
    return {
        "ref_accuracy": ref_accuracy,
        "tied_accuracy": tied_accuracy,
        "correctness_preferred": preferred,
        "correctness_preferred_hard": preferred_hard,
        "margin_score": margin_score,
        "score": score,
    }
