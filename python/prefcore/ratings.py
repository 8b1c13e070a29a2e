"""Ratings from human judgements: consensus and agreement of several annotators
(:func:`aggregate_votes`) and Bradley-Terry ratings from battles (:func:`bradley_terry`,
:func:`predict_win_rate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _check, _prefcore
from prefcore._arena import ArenaResult, ArenaStats, arena
from prefcore._arrow import require_columns
from prefcore._battles import (
    ELO_BASE,
    ELO_POINTS,
    ELO_SCALE,
    ModelCodes,
    coded_battles,
    winner_scores,
)
from prefcore._display import Summarised
from prefcore._progress import Progress, reporting
from prefcore._rankings import RANKING_METHODS, RankingResult, rankings
from prefcore._tables import as_table, codes
from prefcore._typed import check_arguments
from prefcore.errors import ColumnTypeError, InvalidArgumentError

__all__ = [
    "ELO_BASE",
    "ELO_POINTS",
    "ELO_SCALE",
    "RANKING_METHODS",
    "ArenaResult",
    "ArenaStats",
    "BradleyTerryResult",
    "BradleyTerryStats",
    "EloResult",
    "RankingResult",
    "VoteAgreement",
    "VoteResult",
    "aggregate_votes",
    "arena",
    "bradley_terry",
    "online_elo",
    "predict_win_rate",
    "rankings",
]


class _Agreement(TypedDict):
    raw_agreement: float
    fleiss_kappa: float
    krippendorff_alpha: float
    items_rated_twice: int
    items: int
    ties: int


class VoteAgreement(_Agreement, total=False):
    """``VoteResult.agreement``: raw agreement, Fleiss' κ, Krippendorff's α, the items
    rated at least twice, all items, majority ties; ``dawid_skene`` adds its
    ``iterations``."""

    iterations: int


class BradleyTerryStats(TypedDict):
    """``BradleyTerryResult.stats``: battles fitted, ties among them, ties dropped
    (``ties="drop"``) and models."""

    battles: int
    ties: int
    ties_dropped: int
    models: int


@dataclass(frozen=True, repr=False)
class VoteResult(Summarised):
    """Consensus per item (``table``), agreement figures, and per-annotator agreement
    with the consensus (``annotators``)."""

    table: pa.Table
    agreement: VoteAgreement
    annotators: pa.Table


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
    t = as_table(table)
    require_columns(t, item, annotator, vote)
    items, item_codes = codes(t.column(item), item)
    annotators, ann_codes = codes(t.column(annotator), annotator)
    classes, class_codes = codes(t.column(vote), vote, sort=True)
    out = _prefcore.aggregate_votes(
        item_codes, ann_codes, class_codes,
        n_items=len(items), n_annotators=len(annotators), n_classes=max(len(classes), 1),
        method="dawid_skene" if method == "dawid_skene" else "majority",
    )  # fmt: skip
    consensus = classes.take(out.consensus) if len(classes) else pa.nulls(len(items))
    cols: dict[str, Any] = {item: items}
    if method == "mean":
        votes = t.column(vote)
        if not (pa.types.is_integer(votes.type) or pa.types.is_floating(votes.type)):
            raise ColumnTypeError(
                f"column '{vote}' has type {votes.type}; method='mean' needs numbers", column=vote
            )
        sums = np.bincount(
            item_codes.to_numpy(zero_copy_only=False),
            weights=votes.to_numpy(zero_copy_only=False).astype(np.float64),
            minlength=len(items),
        )
        n = out.n_votes.to_numpy(zero_copy_only=False)
        cols["consensus"] = pa.array(sums / n)
        cols["n_votes"] = out.n_votes
    else:
        cols["consensus"] = consensus
        cols["support"] = out.support
        cols["tied"] = out.tied
        cols["n_votes"] = out.n_votes
    agreement: VoteAgreement = {
        "raw_agreement": out.raw_agreement,
        "fleiss_kappa": out.fleiss_kappa,
        "krippendorff_alpha": out.krippendorff_alpha,
        "items_rated_twice": out.items_rated_twice,
        "items": len(items),
        "ties": int(pc.sum(out.tied).as_py() or 0) if method != "mean" else 0,
    }
    if method == "dawid_skene":
        agreement["iterations"] = out.iterations
    ann = pa.table(
        {
            annotator: annotators,
            "votes": out.annotator_votes,
            "agreement_with_consensus": out.annotator_agreement,
        }
    )
    return VoteResult(pa.table(cols), agreement, ann)


@dataclass(frozen=True, repr=False)
class BradleyTerryResult(Summarised):
    """Ratings per item, best first: ``rating``, standard error ``se`` (from the
    Fisher information; relative to the anchor, or to the mean rating),
    ``ci_lower``/``ci_upper`` (bootstrap percentiles; null without bootstrap),
    ``rank`` (1 + number of items rated strictly higher), ``battles``.
    """

    table: pa.Table
    scale: str
    stats: BradleyTerryStats

    def win_rate(self, a: Any, b: Any) -> Any:
        """Probability that ``a`` beats ``b`` (names, or sequences of names)."""
        return predict_win_rate(self, a, b)

    def plot(self, ax: Any = None) -> Any:
        """The ratings with their intervals (:func:`prefcore.plot.rating_intervals`)."""
        from prefcore.plot import rating_intervals

        return rating_intervals(self, ax)


# Below this ridge penalty a model that never wins (or never loses) is rated by the
# penalty alone at thousands of Elo points from the rest: worth a warning.
WEAK_ALPHA = 0.01


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
    progress: Progress = None,
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
    resamples of the battles for a ``ci`` percentile interval. A model that wins or
    loses every battle has no finite rating: ``alpha=0`` refuses it, a small ``alpha``
    (below 0.01, the default included) warns (``RuntimeWarning``) that its rating
    comes from the penalty alone.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> battles = {"model_a": ["x"] * 4 + ["y"] * 4 + ["x"] * 2,
    ...            "model_b": ["y"] * 4 + ["z"] * 4 + ["z"] * 2,
    ...            "winner": ["model_a", "model_a", "model_a", "model_b"] * 2 + ["x", "z"]}
    >>> r = bradley_terry(battles)
    >>> r.table.column("model").to_pylist(), r.table.column("rank").to_pylist()
    (['x', 'y', 'z'], [1, 2, 3])
    >>> round(r.win_rate("x", "y"), 3)
    0.629
    """
    t = as_table(table)
    require_columns(t, a, b, winner)
    if not 0.0 < ci < 1.0:
        raise InvalidArgumentError(f"ci must be in (0, 1), got {ci}", argument="ci")
    models = ModelCodes(t, a, b)
    score_a, tie = winner_scores(t, a, b, winner, models)
    keep = ~tie if ties == "drop" else np.ones(len(score_a), bool)
    names, codes_a, codes_b = coded_battles(t, a, b, keep, "Bradley-Terry", models)
    scores = pa.array(score_a[keep])
    n = len(names)
    ref = None
    if anchor is not None:
        if not math.isfinite(float(anchor[1])):
            raise InvalidArgumentError(
                f"anchor value must be a finite number, not {anchor[1]!r}", argument="anchor"
            )
        found = pc.index(names, anchor[0]).as_py()
        if found < 0:
            raise InvalidArgumentError(f"anchor {anchor[0]!r} is not a model in the battles")
        ref = found
    if alpha < WEAK_ALPHA:
        unbounded = _prefcore.bt_unbounded_item(codes_a, codes_b, scores, n)
        if unbounded is not None:
            model, how = names[unbounded.item].as_py(), unbounded.outcome
            if alpha == 0.0:
                raise InvalidArgumentError(
                    f"model {model!r} {how} every battle it played, so its "
                    "maximum-likelihood rating is infinite; pass alpha > 0"
                )
            import warnings

            warnings.warn(
                f"model {model!r} {how} every battle it played: it has no finite "
                f"maximum-likelihood rating, and its rating here is set by alpha={alpha:g} "
                "alone (pass a larger alpha, e.g. 0.1, for a rating the data can support)",
                RuntimeWarning,
                stacklevel=2,
            )
    with reporting(progress, "ratings.bradley_terry", unit=" rounds"):
        fit = _prefcore.bradley_terry(
            codes_a, codes_b, scores, n,
            alpha=float(alpha), bootstrap=int(bootstrap), seed=int(seed), reference=ref,
        )  # fmt: skip

    def to_scale(x: np.ndarray) -> np.ndarray:
        shift = x[..., ref : ref + 1] if ref is not None else x.mean(axis=-1, keepdims=True)
        unit, base = (ELO_SCALE, ELO_BASE) if scale == "elo" else (1.0, 0.0)
        if anchor is not None:
            base = float(anchor[1])
        return np.asarray(unit * (x - shift) + base)

    rating = to_scale(np.asarray(fit.theta))
    unit = ELO_SCALE if scale == "elo" else 1.0
    se = unit * np.sqrt(np.asarray(fit.variance))
    if bootstrap:
        boot = to_scale(np.asarray(fit.bootstrap))
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
    stats: BradleyTerryStats = {
        "battles": int(keep.sum()),
        "ties": int(tie.sum()),
        "ties_dropped": int((~keep).sum()),
        "models": n,
    }
    return BradleyTerryResult(out, scale, stats)


@dataclass(frozen=True, repr=False)
class EloResult(Summarised):
    """Online Elo ratings, best first: ``rating`` (after every battle, in order),
    ``median``, ``ci_lower`` and ``ci_upper`` over the bootstrap rounds (null without
    them), ``rank`` (1 + number of models rated strictly higher), ``battles``;
    ``bootstrap``: each round's ratings (``[rounds, models]``, columns in the order of
    ``models``), or None."""

    table: pa.Table
    models: list[str]
    bootstrap: np.ndarray | None


def online_elo(
    table: Any,
    a: str = "model_a",
    b: str = "model_b",
    winner: str = "winner",
    *,
    k: float = 4.0,
    base: float = 10.0,
    scale: float = ELO_POINTS,
    init: float = ELO_BASE,
    bootstrap: int = 0,
    seed: int = 0,
    resamples: Any = None,
    ci: float = 0.95,
    progress: Progress = None,
) -> EloResult:
    """Online Elo ratings as Chatbot Arena's monitor (FastChat's ``compute_elo``)
    computes them: the battles applied in their order, each moving both ratings by
    ``k * (score - expected)``, ``expected = 1 / (1 + base ** ((r_b - r_a) / scale))``;
    a tie scores 0.5 (``winner`` as :func:`bradley_terry` reads it). Online Elo depends
    on the order of the battles; Bradley-Terry (:func:`bradley_terry`) does not.

    ``bootstrap=B`` replays ``B`` orders drawn with replacement from ``seed``;
    ``resamples``, a ``[rounds, battles]`` integer array of battle indices, replays
    exactly those orders instead (FastChat's ``compute_bootstrap_elo`` draws its
    ``sample_indices`` as ``[battles, rounds]``: pass its transpose to get its
    rounds). ``median`` and the ``ci`` percentile interval summarise the rounds.

    >>> battles = {"model_a": ["x", "x", "y"], "model_b": ["y", "z", "z"],
    ...            "winner": ["model_a", "model_a", "tie"]}
    >>> r = online_elo(battles)
    >>> ratings = r.table.column("rating").to_pylist()
    >>> r.table.column("model").to_pylist(), [round(v, 2) for v in ratings]
    (['x', 'z', 'y'], [1003.99, 998.01, 998.0])
    """
    t = as_table(table)
    require_columns(t, a, b, winner)
    if not 0.0 < ci < 1.0:
        raise InvalidArgumentError(f"ci must be in (0, 1), not {ci}", argument="ci")
    rounds = _check.integer("bootstrap", bootstrap, minimum=0)
    seed = _check.integer("seed", seed, minimum=0, maximum=2**64 - 1)
    models = ModelCodes(t, a, b)
    score_a, _ = winner_scores(t, a, b, winner, models)
    names, codes_a, codes_b = coded_battles(t, a, b, np.ones(len(score_a), bool), "Elo", models)
    orders = None
    if resamples is not None:
        orders = np.asarray(resamples)
        if orders.ndim != 2 or not np.issubdtype(orders.dtype, np.integer):
            raise InvalidArgumentError(
                "resamples must be a 2-D integer array of battle indices, [rounds, battles]",
                argument="resamples",
            )
        if orders.size and (orders.min() < 0 or orders.max() >= len(score_a)):
            raise InvalidArgumentError(
                f"resamples holds battle indices outside [0, {len(score_a)})",
                argument="resamples",
            )
        orders = np.ascontiguousarray(orders, dtype=np.uint32)
    with reporting(progress, "ratings.online_elo", unit=" rounds"):
        fit = _prefcore.online_elo(
            codes_a, codes_b, pa.array(score_a), len(names),
            k=float(k), base=float(base), scale=float(scale), init=float(init),
            bootstrap=rounds, seed=seed, resamples=orders,
        )  # fmt: skip
    rating = np.asarray(fit.ratings)
    n = len(names)
    draws = np.asarray(fit.bootstrap) if fit.bootstrap else None
    if draws is not None:
        median = pa.array(np.median(draws, axis=0))
        lo, hi = np.percentile(draws, [50 * (1 - ci), 50 * (1 + ci)], axis=0)
        ci_lo, ci_hi = pa.array(lo), pa.array(hi)
    else:
        median = ci_lo = ci_hi = pa.nulls(n, pa.float64())
    counts = np.bincount(codes_a.to_numpy(zero_copy_only=False), minlength=n) + np.bincount(
        codes_b.to_numpy(zero_copy_only=False), minlength=n
    )
    rank = 1 + (rating[None, :] > rating[:, None]).sum(axis=1)
    out = pa.table(
        {
            "model": names,
            "rating": pa.array(rating),
            "median": median,
            "ci_lower": ci_lo,
            "ci_upper": ci_hi,
            "rank": pa.array(rank.astype(np.int64)),
            "battles": pa.array(counts.astype(np.int64)),
        }
    ).take(pa.array(np.argsort(-rating, kind="stable")))
    return EloResult(out, names.to_pylist(), draws)


def predict_win_rate(ratings: BradleyTerryResult, a: Any, b: Any) -> Any:
    """Probability that ``a`` beats ``b`` under the fitted ratings (names or arrays of
    names; a float or a numpy array).

    >>> battles = {"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["model_a", "tie"]}
    >>> round(predict_win_rate(bradley_terry(battles, alpha=0.0), "x", "y"), 4)
    0.75
    """
    _check.instance(
        "ratings", ratings, BradleyTerryResult, "a BradleyTerryResult (of bradley_terry)"
    )
    names = ratings.table.column("model")
    values = ratings.table.column("rating").to_numpy()
    index = {n: i for i, n in enumerate(names.to_pylist())}

    def lookup(x: Any) -> Any:
        scalar = isinstance(x, str)
        items = [x] if scalar else list(x)
        missing = [v for v in items if v not in index]
        if missing:
            raise InvalidArgumentError(
                f"unknown model(s) {missing[:3]}; rated models: {names.to_pylist()[:10]}"
            )
        r = values[[index[v] for v in items]]
        return r[0] if scalar else r

    diff = lookup(a) - lookup(b)
    if ratings.scale == "elo":
        p = 1.0 / (1.0 + np.power(10.0, -diff / ELO_POINTS))
    else:
        p = 1.0 / (1.0 + np.exp(-diff))
    return float(p) if np.ndim(p) == 0 else p


check_arguments(__name__)  # each public function checks its arguments' annotations
