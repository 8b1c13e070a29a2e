"""Whether two models' benchmark scores differ, from their results on the same examples.

Per subset: McNemar's exact test on the examples one model gets right and the other
wrong, with Holm's correction across subsets; per subset, section and overall score: a
percentile bootstrap interval of the difference (examples resampled within each
subset, so every subset keeps its size and its weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, require_columns
from prefcore._check import choice, integer, numbers
from prefcore._display import Summarised
from prefcore.benchmarks._common import codes, unique_ids
from prefcore.benchmarks._rewardbench import (
    _PRIOR_WEIGHT,
    _SECTION_WEIGHT,
    PRIOR_SETS,
    REWARDBENCH_COUNTS,
    REWARDBENCH_SECTIONS,
    correct_examples,
)
from prefcore.errors import InvalidArgumentError, invalid_value

__all__ = ["PairedComparison", "holm", "mcnemar", "paired"]


@dataclass(frozen=True, repr=False)
class PairedComparison(Summarised):
    """Model A against model B on the same examples.

    ``table``: one row per subset, then per section and the overall score (``level``:
    ``"subset"``, ``"section"``, ``"overall"``; ``name``, ``examples``,
    ``accuracy_a``, ``accuracy_b``, ``difference`` (A - B), ``lower`` and ``upper``
    (the bootstrap interval of the difference), ``only_a`` and ``only_b`` (examples
    only A, only B gets right), ``p_value`` (McNemar's exact test; sections pool
    their examples) and ``p_holm`` (subsets only: Holm's correction across them))."""

    table: pa.Table
    bootstrap: int
    seed: int
    ci: float

    def to_dict(self) -> dict[str, Any]:
        """One dict per row of ``table``, keyed by its name."""
        return {r["name"]: r for r in self.table.to_pylist()}


def mcnemar(only_a: int, only_b: int) -> float:
    """McNemar's exact two-sided p-value for discordant counts ``only_a`` and
    ``only_b``: twice the binomial(n, 1/2) tail at the smaller one, at most 1.

    >>> mcnemar(10, 2)
    0.0385742...
    """
    only_a = integer("only_a", only_a, minimum=0)
    only_b = integer("only_b", only_b, minimum=0)
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    steps = np.arange(k, dtype=np.float64)
    log_pmf = -n * math.log(2.0) + np.concatenate(
        [[0.0], np.cumsum(np.log(n - steps) - np.log(steps + 1.0))]
    )
    top = log_pmf.max()
    tail = math.exp(top + math.log(np.exp(log_pmf - top).sum()))
    return min(1.0, 2.0 * tail)


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given.

    >>> holm([0.01, 0.04, 0.03]).tolist()
    [0.03, 0.06, 0.06]
    """
    p = numbers("p_values", p_values)
    if p.ndim != 1:
        raise InvalidArgumentError(
            f"p_values must be a 1-D sequence, not of shape {p.shape}", argument="p_values"
        )
    outside = np.flatnonzero(~((p >= 0.0) & (p <= 1.0)))
    if len(outside):
        raise invalid_value("p_values", int(outside[0]), f"{p[outside[0]]} is not in [0, 1]")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


Benchmark = Literal["rewardbench", "subsets"]


def paired(
    a: Any,
    b: Any,
    *,
    benchmark: Benchmark = "rewardbench",
    bootstrap: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    id_col: str = "id",
    subset_col: str = "subset",
    chosen_col: str = "score_chosen",
    rejected_col: str = "score_rejected",
    results_col: str = "results",
) -> PairedComparison:
    """Compare two models' per-example results on the same examples, given as
    :func:`~prefcore.benchmarks.rewardbench` takes them (``id``, ``subset`` and two
    scores or 0/1 ``results``). ``benchmark="rewardbench"`` forms RewardBench's
    sections and overall score; ``"subsets"`` takes any subsets and the unweighted
    mean over them as the overall score. Both tables must hold the same ids.

    >>> a = {"id": [1, 2, 3, 4], "subset": ["x"] * 4, "results": [1, 1, 1, 0]}
    >>> b = {"id": [4, 3, 2, 1], "subset": ["x"] * 4, "results": [0, 0, 0, 1]}
    >>> row = paired(a, b, benchmark="subsets").to_dict()["x"]
    >>> row["difference"], row["only_a"], row["only_b"], round(row["p_value"], 3)
    (0.5, 2, 0, 0.5)
    """
    choice("benchmark", benchmark, ("rewardbench", "subsets"))
    rounds = integer("bootstrap", bootstrap, minimum=1)
    seed = integer("seed", seed, minimum=0)
    if not 0.0 < ci < 1.0:
        raise InvalidArgumentError(f"ci must be in (0, 1), not {ci}", argument="ci")
    ta, tb = as_pyarrow_table(a, "a"), as_pyarrow_table(b, "b")
    columns = (id_col, subset_col, chosen_col, rejected_col, results_col)
    names_a, code, right_a = _correct(ta, *columns)
    names_b, code_b, right_b = _correct(tb, *columns)
    ids_a, ids_b = unique_ids(ta, id_col), unique_ids(tb, id_col)
    if ids_a.equals(ids_b):  # the same examples in the same order: nothing to align
        take = np.arange(len(ids_a))
    else:
        take = _positions(ids_a, ids_b, id_col)
    right_b = right_b[take]
    # B's subset codes in A's numbering (-1: a subset A does not have)
    in_a = np.array([names_a.index(s) if s in names_a else -1 for s in names_b], dtype=np.int64)
    differ = np.flatnonzero(in_a[code_b[take]] != code)
    if len(differ):
        raise invalid_value(
            subset_col, int(differ[0]), "an id in different subsets in the two tables"
        )
    if benchmark == "rewardbench":
        unknown = [s for s in names_a if s not in REWARDBENCH_COUNTS and s not in PRIOR_SETS]
        if unknown:
            raise invalid_value(
                subset_col,
                int(np.flatnonzero(code == names_a.index(unknown[0]))[0]),
                f"{unknown[0]!r} is not a RewardBench subset or prior set "
                "(benchmark='subsets' takes any)",
            )
    return _compare(names_a, code, right_a, right_b, benchmark, rounds, seed, ci)


def _positions(ids_a: pa.ChunkedArray, ids_b: pa.ChunkedArray, id_col: str) -> np.ndarray:
    """Where each of A's ids is in B; every id must be in both."""
    position = pc.index_in(ids_a, value_set=ids_b.combine_chunks())
    if position.null_count or len(ids_a) != len(ids_b):
        row = (
            int(np.flatnonzero(pc.is_null(position).to_numpy(zero_copy_only=False))[0])
            if position.null_count
            else 0
        )
        raise invalid_value(
            id_col,
            row,
            f"the two tables must hold the same ids; {ids_a[row].as_py()!r} is not in both",
        )
    found: np.ndarray = np.asarray(position.to_numpy(zero_copy_only=False), dtype=np.int64)
    return found


def _correct(
    t: pa.Table, id_col: str, subset_col: str, chosen: str, rejected: str, results: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    require_columns(t, id_col, subset_col)
    code, names = codes(t, subset_col, "subset")
    return names, code, correct_examples(t, chosen, rejected, results)


def _compare(
    names: list[str],
    code: np.ndarray,
    right_a: np.ndarray,
    right_b: np.ndarray,
    benchmark: Benchmark,
    rounds: int,
    seed: int,
    ci: float,
) -> PairedComparison:
    rng = np.random.default_rng(seed)
    k = len(names)
    n = np.bincount(code, minlength=k)
    acc_a = np.bincount(code, weights=right_a, minlength=k) / n
    acc_b = np.bincount(code, weights=right_b, minlength=k) / n
    only_a = np.bincount(code, weights=(right_a > right_b), minlength=k).astype(np.int64)
    only_b = np.bincount(code, weights=(right_b > right_a), minlength=k).astype(np.int64)
    # Resampling a subset's examples moves only its discordant counts: draw them.
    draws = np.empty((rounds, k))
    for s in range(k):
        share = np.array([only_a[s], only_b[s], n[s] - only_a[s] - only_b[s]]) / n[s]
        counts = rng.multinomial(n[s], share, size=rounds)
        draws[:, s] = (counts[:, 0] - counts[:, 1]) / n[s]
    p = np.array([mcnemar(int(x), int(y)) for x, y in zip(only_a, only_b)])
    tail = (1.0 - ci) / 2.0
    rows = [
        (
            "subset",
            names[s],
            int(n[s]),
            acc_a[s],
            acc_b[s],
            draws[:, s],
            int(only_a[s]),
            int(only_b[s]),
            float(p[s]),
        )
        for s in range(k)
    ]
    for level, name, weights in _aggregates(names, benchmark):
        w = np.array([weights.get(s, 0.0) for s in names])
        members = np.flatnonzero(w > 0)
        oa, ob = int(only_a[members].sum()), int(only_b[members].sum())
        rows.append(
            (
                level,
                name,
                int(n[members].sum()),
                float(w @ acc_a),
                float(w @ acc_b),
                draws @ w,
                oa,
                ob,
                mcnemar(oa, ob),
            )
        )
    holm_p = holm(p)
    table = pa.table(
        {
            "level": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "examples": pa.array([r[2] for r in rows], pa.int64()),
            "accuracy_a": [float(r[3]) for r in rows],
            "accuracy_b": [float(r[4]) for r in rows],
            "difference": [float(r[3] - r[4]) for r in rows],
            "lower": [float(np.quantile(r[5], tail)) for r in rows],
            "upper": [float(np.quantile(r[5], 1.0 - tail)) for r in rows],
            "only_a": pa.array([r[6] for r in rows], pa.int64()),
            "only_b": pa.array([r[7] for r in rows], pa.int64()),
            "p_value": [r[8] for r in rows],
            "p_holm": pa.array(list(holm_p) + [None] * (len(rows) - k), pa.float64()),
        }
    )
    return PairedComparison(table, rounds, seed, ci)


def _aggregates(names: list[str], benchmark: Benchmark) -> list[tuple[str, str, dict[str, float]]]:
    """Each section and the overall score as weights over the subsets present (so a
    score is the weights' dot product with the subset accuracies)."""
    if benchmark == "subsets":
        return [("overall", "overall", dict.fromkeys(names, 1.0 / len(names)))]
    out = []
    overall: dict[str, float] = {}
    parts = []
    for section, members in REWARDBENCH_SECTIONS.items():
        present = [m for m in members if m in names]
        if present:
            total = sum(REWARDBENCH_COUNTS[m] for m in present)
            weights = {m: REWARDBENCH_COUNTS[m] / total for m in present}
            out.append(("section", section, weights))
            parts.append((weights, _SECTION_WEIGHT))
    priors = [s for s in PRIOR_SETS if s in names]
    if priors:
        weights = {s: 1.0 / len(priors) for s in priors}
        out.append(("section", "Prior Sets", weights))
        parts.append((weights, _PRIOR_WEIGHT))
    total_weight = sum(w for _, w in parts)
    for weights, w in parts:
        for s, v in weights.items():
            overall[s] = overall.get(s, 0.0) + v * w / total_weight
    out.append(("overall", "overall", overall))
    return out
