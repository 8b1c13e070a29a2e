"""Ranking, reward-model and rank-correlation metrics, computed in Rust.

Two input shapes share one engine:

* **TREC long tables** (:func:`evaluate`): a run ``(query_id, doc_id, score)`` and qrels
  ``(query_id, doc_id, relevance)``, with trec_eval's semantics value for value.
* **Grouped lists** (:func:`evaluate_grouped`): one row per prompt or query holding its
  candidates' scores and labels as list columns (or a 2-D numpy array).

Metric names: ``ndcg``, ``ndcg@k``, ``ndcg_burges@k`` (gain 2^rel - 1), ``dcg@k``,
``map``, ``map@k``, ``mrr``, ``mrr@k``, ``precision@k``, ``recall@k``, ``f1@k``,
``r_precision``, ``hit_rate@k``, ``bpref``, ``num_ret``, ``num_rel``, ``num_rel_ret``;
trec_eval's names are aliases (``ndcg_cut.10``, ``P.5``, ``recall.100``, ``map_cut.100``,
``recip_rank``, ``Rprec``, ``success.10``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, overload

import numpy as np
import pyarrow as pa

from prefcore import _prefcore
from prefcore._arrow import as_array, as_list_array, as_table
from prefcore._check import instance, numbers
from prefcore._check import path as check_path
from prefcore._display import Summarised
from prefcore._prefcore import CalibrationResult, ComparisonResult
from prefcore._progress import Progress, reporting
from prefcore._ranking_diagnostics import RankingDiagnostics, ranking_diagnostics
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, InvalidArgumentError

__all__ = [
    "AccuracyResult",
    "CalibrationResult",
    "ComparisonResult",
    "CorrelationResult",
    "RankingDiagnostics",
    "RunComparison",
    "calibration",
    "compare",
    "compare_runs",
    "evaluate",
    "evaluate_grouped",
    "evaluate_trec_both",
    "kendall_tau",
    "pairwise_accuracy",
    "ranking_diagnostics",
    "read_trec_qrels",
    "read_trec_run",
    "spearman",
]

PathLike = Union[str, "os.PathLike[str]"]
Metrics = str | Sequence[str]


def _metric_list(metrics: Metrics) -> list[str]:
    if isinstance(metrics, str):
        return [metrics]
    names = list(metrics)
    if not all(isinstance(m, str) for m in names):
        raise ArgumentTypeError(
            "metrics must be a metric name or a sequence of names", argument="metrics"
        )
    return names


def read_trec_run(path: PathLike) -> pa.Table:
    """Read a TREC run file (``query_id Q0 doc_id rank score run_tag``).

    Returns a table with columns ``query_id`` (string), ``doc_id`` (string), ``score``
    (float64) and ``run_id`` (string). The rank column is ignored, as trec_eval does.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.txt"
    >>> _ = p.write_text("q1 Q0 d1 1 0.9 bm25\\nq1 Q0 d2 2 0.4 bm25\\n")
    >>> read_trec_run(p).column("doc_id").to_pylist()
    ['d1', 'd2']
    """
    return _prefcore.read_trec_run(os.fspath(check_path("path", path)))


def read_trec_qrels(path: PathLike) -> pa.Table:
    """Read a TREC qrels file (``query_id iteration doc_id relevance``).

    Returns a table with columns ``query_id``, ``doc_id`` (strings) and ``relevance``
    (int64).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "qrels.txt"
    >>> _ = p.write_text("q1 0 d1 2\\nq1 0 d2 0\\n")
    >>> read_trec_qrels(p).column("relevance").to_pylist()
    [2, 0]
    """
    return _prefcore.read_trec_qrels(os.fspath(check_path("path", path)))


def _table_or_file(obj: Any, reader: Any, what: str) -> Any:
    if isinstance(obj, (str, os.PathLike)):
        return reader(obj)
    return as_table(obj, what)


def _plain(obj: Any) -> Any:
    """A ranx ``Qrels`` or ``Run`` as its ``{query: {doc: value}}`` dict; anything else
    unchanged."""
    if type(obj).__module__.startswith("ranx") and hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def _is_nested(obj: Any) -> bool:
    """pytrec_eval's (and ranx's) layout: ``{query: {doc: value}}``."""
    return (
        isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, Mapping) for v in obj.values())
    )


def _long(nested: Mapping[Any, Mapping[Any, Any]], value: str) -> dict[str, list[Any]]:
    """Nested judgements as a long table with ``value`` as the value column."""
    queries, docs, values = [], [], []
    for query, judged in nested.items():
        for doc, v in judged.items():
            queries.append(str(query))
            docs.append(str(doc))
            values.append(v)
    return {"query_id": queries, "doc_id": docs, value: values}


def _whole_valued(nested: Mapping[Any, Mapping[Any, Any]]) -> bool:
    return all(
        isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())
        for docs in nested.values()
        for v in docs.values()
    )


def _in_order(run: Any, qrels: Any, score_col: str, rel_col: str) -> tuple[Any, Any]:
    """``(run, qrels)`` whichever order they came in, where it can be told (see
    :func:`evaluate`); nested dicts become tables."""
    run, qrels = _plain(run), _plain(qrels)
    if _is_nested(run) and _is_nested(qrels):
        # Nested dicts have no column names: judgements are whole numbers, scores not.
        whole = [_whole_valued(run), _whole_valued(qrels)]
        if whole == [True, False]:
            run, qrels = qrels, run
        elif whole == [True, True]:
            raise InvalidArgumentError(
                "both nested dicts hold whole numbers only, so which one is the run cannot "
                "be told: give the run's scores as floats, or pass tables with "
                f"'{score_col}' and '{rel_col}' columns"
            )
        return _long(run, score_col), _long(qrels, rel_col)
    run = _long(run, score_col) if _is_nested(run) else run
    qrels = _long(qrels, rel_col) if _is_nested(qrels) else qrels
    if _kind(run, score_col, rel_col) == "qrels" and _kind(qrels, score_col, rel_col) == "run":
        run, qrels = qrels, run  # pytrec_eval's and ranx's order, (qrels, run)
    return run, qrels


def _kind(obj: Any, score_col: str, rel_col: str) -> str | None:
    """``"run"`` or ``"qrels"`` where ``obj`` can only be one of them (its columns, or
    a TREC file's field count: 6 for a run, 4 for qrels), else None."""
    if isinstance(obj, (str, os.PathLike)):
        try:
            with open(obj, "rb") as f:
                first = next((ln for ln in f if ln.strip()), b"")
        except OSError:
            return None
        return {6: "run", 4: "qrels"}.get(len(first.split()))
    if isinstance(obj, Mapping):
        names = set(obj)
    else:  # pyarrow and datasets: column_names; polars and pandas: columns
        found = getattr(obj, "column_names", None)
        names = set(found if found is not None else getattr(obj, "columns", ()))
    if score_col in names and rel_col not in names:
        return "run"
    if rel_col in names and score_col not in names:
        return "qrels"
    return None


@overload
def evaluate(
    run: Any,
    qrels: Any,
    metrics: Metrics,
    *,
    per_query: Literal[False] = ...,
    relevance_level: int = 1,
    complete: bool = False,
    query_col: str = "query_id",
    doc_col: str = "doc_id",
    score_col: str = "score",
    rel_col: str = "relevance",
    progress: Progress = None,
) -> dict[str, float]: ...
@overload
def evaluate(
    run: Any,
    qrels: Any,
    metrics: Metrics,
    *,
    per_query: Literal[True],
    relevance_level: int = 1,
    complete: bool = False,
    query_col: str = "query_id",
    doc_col: str = "doc_id",
    score_col: str = "score",
    rel_col: str = "relevance",
    progress: Progress = None,
) -> pa.Table: ...
def evaluate(
    run: Any,
    qrels: Any,
    metrics: Metrics,
    *,
    per_query: bool = False,
    relevance_level: int = 1,
    complete: bool = False,
    query_col: str = "query_id",
    doc_col: str = "doc_id",
    score_col: str = "score",
    rel_col: str = "relevance",
    progress: Progress = None,
) -> dict[str, float] | pa.Table:
    """Evaluate a run against relevance judgements, as trec_eval does.

    ``run`` is a table ``(query_id, doc_id, score)`` or the path of a TREC run file;
    ``qrels`` a table ``(query_id, doc_id, relevance)`` or a TREC qrels file. Tables may
    be pyarrow, polars, pandas, Hugging Face ``datasets`` or anything exporting the
    Arrow PyCapsule interface; ids may be strings or integers (compared as their
    decimal text, like trec_eval). pytrec_eval's nested dicts ``{query: {doc: value}}``
    and ranx's ``Run`` / ``Qrels`` are taken too. trec_eval, pytrec_eval and ranx take
    the judgements first: ``evaluate(qrels, run, ...)`` is understood wherever the two
    can be told apart (a score column against a relevance column, a 6-field run file
    against a 4-field qrels file); keywords (``run=``, ``qrels=``) always work.

    Semantics, value for value with trec_eval 9:

    * ranking by score descending, then doc id descending in byte order;
    * only queries in both run and qrels, unless ``complete=True`` (``-c``): then every
      qrels query counts, scoring 0 where the run has nothing;
    * ``relevance_level`` (``-l``) binarises map, P, recall, mrr, Rprec, success and
      bpref, but not ndcg, whose gain is the grade itself;
    * P@k divides by k even when fewer documents were retrieved;
    * a retrieved document missing from the qrels is non-relevant (bpref skips it);
    * a negative grade marks a document pooled but not judged (trec_eval's ``-1``):
      non-relevant and skipped by bpref like a missing one, but counted by ``infAP``.

    Errors: NaN or null scores, null ids, fractional grades and a
    duplicate (query, doc) in the run or the qrels raise ``ValueError`` naming the
    column and the row or query; a wrong column type raises ``TypeError``.
    Infinite scores are allowed and rank first (``inf``) or last (``-inf``).

    Returns ``{metric: value}`` over all queries (the mean; ``num_ret``, ``num_rel``
    and ``num_rel_ret`` are sums, as trec_eval prints them), or with
    ``per_query=True`` a ``pyarrow.Table`` with ``query_col`` (string) and one float64
    column per metric, sorted by query id.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> run = {"query_id": ["q1", "q1", "q2"], "doc_id": ["a", "b", "c"],
    ...        "score": [2.0, 1.0, 5.0]}
    >>> qrels = {"query_id": ["q1", "q2"], "doc_id": ["b", "x"], "relevance": [1, 1]}
    >>> evaluate(run, qrels, ["mrr", "P.1"])
    {'mrr': 0.25, 'P.1': 0.0}
    >>> evaluate(run, qrels, "mrr", per_query=True).column("mrr").to_pylist()
    [0.5, 0.0]
    """
    table, summary = _evaluate_trec(
        run,
        qrels,
        metrics,
        relevance_level,
        complete,
        (query_col, doc_col, score_col, rel_col),
        per_query,
        progress,
    )
    return table if per_query else summary


def evaluate_trec_both(
    run: Any,
    qrels: Any,
    metrics: Metrics,
    relevance_level: int = 1,
    complete: bool = False,
    columns: tuple[str, str, str, str] = ("query_id", "doc_id", "score", "relevance"),
) -> tuple[pa.Table, dict[str, float]]:
    """:func:`evaluate`'s per-query table and summary from one computation (for
    callers that print both, like ``prefcore eval -q``); ``columns`` are the query, doc,
    score and relevance column names of tables.

    >>> table, summary = evaluate_trec_both(
    ...     {"query_id": ["q"], "doc_id": ["a"], "score": [1.0]},
    ...     {"query_id": ["q"], "doc_id": ["a"], "relevance": [1]}, ["map", "num_ret"])
    >>> table.column("map").to_pylist(), summary
    ([1.0], {'map': 1.0, 'num_ret': 1.0})
    """
    table, summary = _evaluate_trec(run, qrels, metrics, relevance_level, complete, columns, True)
    assert table is not None
    return table, summary


def _evaluate_trec(
    run: Any,
    qrels: Any,
    metrics: Metrics,
    relevance_level: int,
    complete: bool,
    columns: tuple[str, str, str, str],
    per_query: bool,
    progress: Progress = None,
) -> tuple[pa.Table | None, dict[str, float]]:
    """The summary, and the per-query table when ``per_query`` (otherwise None: it is
    not built)."""
    query_col, doc_col, score_col, rel_col = columns
    run, qrels = _in_order(run, qrels, score_col, rel_col)
    # TREC files carry the default column names, whatever was passed for tables.
    if isinstance(run, (str, os.PathLike)):
        query_run, doc_run, score_col = "query_id", "doc_id", "score"
    else:
        query_run, doc_run = query_col, doc_col
    if isinstance(qrels, (str, os.PathLike)):
        query_col, doc_col, rel_col = "query_id", "doc_id", "relevance"
    run_table = _table_or_file(run, read_trec_run, "run")
    qrels_table = _table_or_file(qrels, read_trec_qrels, "qrels")
    with reporting(progress, "metrics.evaluate", unit=" queries"):
        evaluated = _prefcore.evaluate_trec(
            run_table,
            qrels_table,
            _metric_list(metrics),
            query_col=query_run,
            doc_col=doc_run,
            score_col=score_col,
            qrels_query_col=query_col,
            qrels_doc_col=doc_col,
            rel_col=rel_col,
            relevance_level=relevance_level,
            complete=complete,
            per_query=per_query,
        )
    return evaluated.table, dict(zip(evaluated.names, evaluated.summary))


@overload
def evaluate_grouped(
    scores: Any,
    labels: Any,
    metrics: Metrics,
    *,
    per_group: Literal[False] = ...,
    ties: Literal["stable", "average"] = "stable",
    relevance_level: float = 1,
    progress: Progress = None,
) -> dict[str, float]: ...
@overload
def evaluate_grouped(
    scores: Any,
    labels: Any,
    metrics: Metrics,
    *,
    per_group: Literal[True],
    ties: Literal["stable", "average"] = "stable",
    relevance_level: float = 1,
    progress: Progress = None,
) -> pa.Table: ...
def evaluate_grouped(
    scores: Any,
    labels: Any,
    metrics: Metrics,
    *,
    per_group: bool = False,
    ties: Literal["stable", "average"] = "stable",
    relevance_level: float = 1,
    progress: Progress = None,
) -> dict[str, float] | pa.Table:
    """Evaluate groups of scored candidates (a prompt with its completions, a query
    with its reranked documents).

    ``scores`` and ``labels`` are list columns (pyarrow/polars ``list`` or
    ``fixed_size_list``), 2-D numpy arrays ``[groups, candidates]`` or sequences of
    sequences, aligned group by group. Labels are graded (gain = label for ndcg/dcg,
    ``2^label - 1`` for ndcg_burges) and binarised by ``relevance_level`` for the
    other metrics. The ideal ranking comes from each group's own labels.

    ``ties="stable"`` ranks the earlier candidate first among equal scores;
    ``ties="average"`` averages each metric over all orders of tied candidates, which
    equals ``sklearn.metrics.ndcg_score`` for ndcg; it is defined for the metrics that
    are linear in the ranked labels (ndcg, ndcg_burges, dcg, precision, recall, f1,
    r_precision) and rejected for the others.

    Errors: groups of different lengths, NaN scores or labels, negative labels and
    null values raise ``ValueError`` naming the group (row). A group whose labels are
    all 0 scores 0 on every metric.

    Returns ``{metric: mean over groups}``, or with ``per_group=True`` a table with a
    ``group`` column (row number) and one column per metric.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> evaluate_grouped([[0.2, 0.9, 0.5]], [[0, 1, 0]], ["mrr", "hit_rate@1"])
    {'mrr': 1.0, 'hit_rate@1': 1.0}
    >>> import numpy as np
    >>> evaluate_grouped(np.array([[1.0, 1.0]]), np.array([[1, 0]]), "precision@1",
    ...                  ties="average")
    {'precision@1': 0.5}
    """
    score_lists, label_lists = as_list_array(scores, "scores"), as_list_array(labels, "labels")
    with reporting(progress, "metrics.evaluate_grouped", unit=" groups"):
        evaluated = _prefcore.evaluate_grouped(
            score_lists,
            label_lists,
            _metric_list(metrics),
            ties=ties,
            relevance_level=float(relevance_level),
            per_group=per_group,
        )
    return evaluated.table if per_group else dict(zip(evaluated.names, evaluated.summary))


@dataclass(frozen=True, repr=False)
class AccuracyResult(Summarised):
    """Reward-model accuracy: ``accuracy`` over all counted pairs, ``by_subset`` (a
    table ``subset, count, correct, ties, accuracy`` when subsets were given) and
    ``weighted`` (Σ weight·accuracy / Σ weight over subsets, when weights were given)."""

    accuracy: float
    count: int
    ties: int
    by_subset: pa.Table | None
    weighted: float | None


def pairwise_accuracy(
    chosen_scores: Any,
    rejected_scores: Any,
    *,
    ties: Literal["wrong", "half", "drop"] = "wrong",
    subsets: Any | None = None,
    weights: Mapping[str, float] | None = None,
) -> AccuracyResult:
    """Fraction of pairs where the chosen response scores strictly higher than the
    rejected one (RewardBench's rule).

    ``ties`` decides what equal scores count as: ``"wrong"`` (RewardBench), ``"half"``
    or ``"drop"`` (left out of ``count``; always reported in ``ties``). ``subsets``
    gives each pair's subset name; ``weights`` maps every subset to its weight in
    ``weighted`` (a subset without a weight is an error). NaN scores raise
    ``ValueError`` with the row.

    >>> r = pairwise_accuracy([2.0, 1.0, 0.5], [1.0, 1.0, 0.7])
    >>> round(r.accuracy, 4), r.ties
    (0.3333, 1)
    >>> r = pairwise_accuracy([2.0, 0.0], [1.0, 1.0], subsets=["chat", "code"],
    ...                       weights={"chat": 1.0, "code": 3.0})
    >>> r.weighted
    0.25
    """
    rows = _prefcore.pairwise_accuracy(
        as_array(chosen_scores, "chosen_scores"),
        as_array(rejected_scores, "rejected_scores"),
        None if subsets is None else as_array(subsets, "subsets"),
        ties=ties,
    )
    count = sum(r.count for r in rows)
    correct = sum(r.correct for r in rows)
    n_ties = sum(r.ties for r in rows)
    accuracy = correct / count if count else float("nan")
    by_subset = None
    weighted = None
    if subsets is not None:
        by_subset = pa.table(
            {
                "subset": [r.subset for r in rows],
                "count": pa.array([r.count for r in rows], pa.int64()),
                "correct": pa.array([r.correct for r in rows], pa.float64()),
                "ties": pa.array([r.ties for r in rows], pa.int64()),
                "accuracy": [r.correct / r.count if r.count else float("nan") for r in rows],
            }
        )
        if weights is not None:
            missing = [r.subset for r in rows if r.subset not in weights]
            if missing:
                raise InvalidArgumentError(
                    f"weights has no entry for subsets {missing}", argument="weights"
                )
            for name, w in weights.items():
                if isinstance(w, bool) or not _finite_non_negative(w):
                    raise InvalidArgumentError(
                        f"weights['{name}'] must be a finite number >= 0, not {w!r}",
                        argument="weights",
                    )
            total = sum(weights[r.subset] for r in rows)
            if total <= 0:
                raise InvalidArgumentError("the weights of the subsets present must sum to > 0")
            weighted = (
                sum(weights[r.subset] * (r.correct / r.count if r.count else 0.0) for r in rows)
                / total
            )
    elif weights is not None:
        raise InvalidArgumentError("weights need subsets: pass subsets= with one name per pair")
    return AccuracyResult(accuracy, count, n_ties, by_subset, weighted)


def _finite_non_negative(x: Any) -> bool:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return False
    return math.isfinite(value) and value >= 0


def calibration(
    chosen_scores: Any, rejected_scores: Any, *, n_bins: int = 10, scale: float = 1.0
) -> CalibrationResult:
    """Calibration of a reward model read as a Bradley-Terry win probability
    ``p = sigmoid(scale * (r_chosen - r_rejected))`` (``scale`` is e.g. DPO's beta).

    Each pair enters the reliability table twice, as ``(p, won)`` and
    ``(1 - p, lost)``, so equal-width bins cover [0, 1]. ``ece`` is
    Σ_b (n_b / N) |fraction_positive_b - mean_predicted_b|.

    >>> r = calibration([0.0], [0.0], n_bins=2)
    >>> r.ece, r.brier
    (0.0, 0.25)
    """
    return _prefcore.calibration(
        as_array(chosen_scores, "chosen_scores"),
        as_array(rejected_scores, "rejected_scores"),
        n_bins=n_bins,
        scale=scale,
    )


@dataclass(frozen=True, repr=False)
class CorrelationResult(Summarised):
    """Per-group correlations (NaN where undefined: fewer than 2 items or a constant
    group), their mean over defined groups, and how many were undefined."""

    per_group: np.ndarray
    mean: float
    n_undefined: int


def _grouped_or_flat(obj: Any, what: str) -> Any:
    """A flat sequence is one group; anything list-like stays grouped."""
    if isinstance(obj, np.ndarray) and obj.ndim == 1:
        return pa.FixedSizeListArray.from_arrays(pa.array(obj, pa.float64()), len(obj))
    if isinstance(obj, Sequence) and obj and not isinstance(obj[0], (Sequence, np.ndarray)):
        return pa.array([list(obj)], pa.list_(pa.float64()))
    return as_list_array(obj, what)


def _correlation(
    x: Any, y: Any, method: Literal["kendall", "spearman"], variant: Literal["b", "c"]
) -> CorrelationResult:
    values = np.asarray(
        _prefcore.correlation(
            _grouped_or_flat(x, "x"), _grouped_or_flat(y, "y"), method=method, variant=variant
        ),
        dtype=np.float64,
    )
    defined = values[~np.isnan(values)]
    mean = float(defined.mean()) if defined.size else float("nan")
    return CorrelationResult(values, mean, int(values.size - defined.size))


def kendall_tau(x: Any, y: Any, variant: Literal["b", "c"] = "b") -> CorrelationResult:
    """Kendall's tau between ``x`` and ``y`` per group (list columns, 2-D arrays, or one
    flat sequence each), equal to ``scipy.stats.kendalltau(x, y, variant=...)``.

    >>> kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]).mean
    0.6666666666666666
    """
    return _correlation(x, y, "kendall", variant)


def spearman(x: Any, y: Any) -> CorrelationResult:
    """Spearman's rho per group (average ranks for ties), equal to
    ``scipy.stats.spearmanr``.

    >>> spearman([[1, 2, 3], [1, 2, 3]], [[1, 2, 3], [3, 2, 1]]).per_group.tolist()
    [1.0, -1.0]
    """
    return _correlation(x, y, "spearman", "b")


def _aligned_values(a: Any, b: Any, metric: str | None) -> tuple[list[float], list[float]]:
    """Per-query values of both systems, aligned by query id when tables are given."""
    if isinstance(a, pa.Table) and isinstance(b, pa.Table):
        if metric is None:
            candidates = [c for c in a.column_names[1:] if c in b.column_names[1:]]
            if len(candidates) != 1:
                raise InvalidArgumentError(f"pass metric= to choose among {candidates}")
            metric = candidates[0]
        key = a.column_names[0]
        va = dict(zip(a.column(key).to_pylist(), a.column(metric).to_pylist()))
        vb = dict(zip(b.column(key).to_pylist(), b.column(metric).to_pylist()))
        if va.keys() != vb.keys():
            only = sorted(set(va) ^ set(vb), key=str)[:5]
            raise InvalidArgumentError(f"the two tables cover different queries, e.g. {only}")
        ids = list(va)
        return [float(va[q]) for q in ids], [float(vb[q]) for q in ids]
    return (
        numbers("per_query_a", a).ravel().tolist(),
        numbers("per_query_b", b).ravel().tolist(),
    )


def compare(
    per_query_a: Any,
    per_query_b: Any,
    *,
    metric: str | None = None,
    test: Literal["t", "randomization", "bootstrap"] = "t",
    n_resamples: int = 10_000,
    seed: int = 0,
) -> ComparisonResult:
    """Paired significance test of system A against system B.

    Inputs are per-query values (arrays in the same query order) or two
    ``per_query=True`` tables from :func:`evaluate` (aligned by query id; ``metric``
    picks the column). ``test="t"``: Student's paired t-test, two-sided;
    ``"randomization"``: Fisher's sign-flip test; ``"bootstrap"``: the mean
    difference resampled and shifted to the null. Resampling p-values are
    ``(extreme + 1) / (n_resamples + 1)`` and depend only on ``seed``.
    ``effect_size`` is the paired Cohen's d, mean(a - b) / sd(a - b).

    >>> r = compare([0.5, 0.6, 0.7, 0.8], [0.4, 0.4, 0.6, 0.6])
    >>> round(r.difference, 3), round(r.p_value, 4)
    (0.15, 0.0138)
    """
    a, b = _aligned_values(per_query_a, per_query_b, metric)
    return _prefcore.compare(a, b, test=test, n_resamples=n_resamples, seed=seed)


@dataclass(frozen=True, repr=False)
class RunComparison(Summarised):
    """Several runs on the same judgements, as ranx's ``compare`` reports them:
    ``table`` has one row per run (``run`` and the mean of each metric) and
    ``beats`` the runs each one is significantly better than, per metric (letters
    ``a``, ``b``, ... in run order); ``p_values`` every pairwise test. Print it, or
    :meth:`to_markdown` / :meth:`to_latex` for a paper."""

    table: pa.Table
    beats: dict[str, dict[str, list[str]]]
    p_values: pa.Table
    test: str
    max_p: float

    def _cells(self, mark: Any) -> tuple[list[str], list[list[str]]]:
        names = self.table.column("run").to_pylist()
        metrics = [c for c in self.table.column_names if c != "run"]
        letters = {name: chr(ord("a") + i) for i, name in enumerate(names)}
        rows = []
        for i, name in enumerate(names):
            row = [letters[name], name]
            for m in metrics:
                values = self.table.column(m).to_pylist()
                sup = "".join(letters[o] for o in self.beats[name][m])
                row.append(mark(f"{values[i]:.4f}", sup, values[i] == max(values)))
            rows.append(row)
        return ["#", "run", *metrics], rows

    def to_markdown(self) -> str:
        """A Markdown table: the best value of each metric in bold, and after each
        value the letters of the runs it beats (p < ``max_p``, ``test``)."""
        head, rows = self._cells(
            lambda v, sup, best: (f"**{v}**" if best else v) + (f"<sup>{sup}</sup>" if sup else "")
        )
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)

    def to_latex(self) -> str:
        """A LaTeX ``tabular`` (booktabs rules) marked as :meth:`to_markdown`."""
        head, rows = self._cells(
            lambda v, sup, best: (
                (f"\\textbf{{{v}}}" if best else v) + (f"$^{{{sup}}}$" if sup else "")
            )
        )
        escape = str.maketrans({"_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#"})
        out = [f"\\begin{{tabular}}{{ll{'r' * (len(head) - 2)}}}", "\\toprule"]
        out.append(" & ".join(h.translate(escape) for h in head) + r" \\")
        out.append("\\midrule")
        out += [" & ".join([r[0], r[1].translate(escape), *r[2:]]) + r" \\" for r in rows]
        out += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(out)

    def __str__(self) -> str:
        note = f"(letters: significantly better than that run, {self.test} test, p < {self.max_p})"
        return self.to_markdown() + "\n" + note


def compare_runs(
    qrels: Any,
    runs: Mapping[str, Any],
    metrics: Metrics,
    *,
    test: Literal["t", "randomization", "bootstrap"] = "t",
    max_p: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> RunComparison:
    """Compare several runs (``{name: run}``, each a table or TREC file as for
    :func:`evaluate`) on ``qrels``, as ranx's ``compare`` does: each run's mean of each
    metric over every judged query (a query a run misses scores 0, trec_eval's ``-c``),
    and a paired test (:func:`compare`) between every two runs on every metric.

    >>> qrels = {"query_id": ["q1", "q2", "q3"], "doc_id": ["a", "b", "c"],
    ...          "relevance": [1, 1, 1]}
    >>> good = {"query_id": ["q1", "q2", "q3"], "doc_id": ["a", "b", "c"],
    ...         "score": [1.0, 1.0, 1.0]}
    >>> bad = {"query_id": ["q1", "q2", "q3"], "doc_id": ["x", "y", "c"],
    ...        "score": [1.0, 1.0, 1.0]}
    >>> r = compare_runs(qrels, {"good": good, "bad": bad}, ["mrr"], max_p=0.5)
    >>> r.table.to_pydict()
    {'run': ['good', 'bad'], 'mrr': [1.0, 0.3333333333333333]}
    >>> r.beats["good"]["mrr"], r.beats["bad"]["mrr"]
    (['bad'], [])
    """
    names = list(instance("runs", runs, Mapping, "a mapping {name: run}"))
    if len(names) < 2:
        raise InvalidArgumentError("compare_runs needs at least two runs", argument="runs")
    if not 0.0 < max_p < 1.0:
        raise InvalidArgumentError(f"max_p must be in (0, 1), not {max_p}", argument="max_p")
    wanted = _metric_list(metrics)
    per_query = {n: evaluate(runs[n], qrels, wanted, per_query=True, complete=True) for n in names}
    columns = [c for c in per_query[names[0]].column_names if c != "query_id"]
    means = {m: [float(np.mean(per_query[n].column(m).to_numpy())) for n in names] for m in columns}
    beats: dict[str, dict[str, list[str]]] = {n: {m: [] for m in columns} for n in names}
    tests: dict[str, list[Any]] = {"metric": [], "run_a": [], "run_b": [], "p_value": []}
    for m in columns:
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                b = names[j]
                r = compare(
                    per_query[a], per_query[b], metric=m, test=test,
                    n_resamples=n_resamples, seed=seed,
                )  # fmt: skip
                for key, value in zip(tests, (m, a, b, r.p_value)):
                    tests[key].append(value)
                if r.p_value < max_p and r.difference != 0:
                    winner, loser = (a, b) if r.difference > 0 else (b, a)
                    beats[winner][m].append(loser)
    for n in names:  # letters in run order
        for m in columns:
            beats[n][m].sort(key=names.index)
    table = pa.table({"run": names, **means})
    return RunComparison(table, beats, pa.table(tests), test, max_p)


check_arguments(__name__)  # each public function checks its arguments' annotations
