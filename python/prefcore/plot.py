"""Pictures of results, drawn with matplotlib (``pip install 'prefcore[plot]'``).

Each function draws on ``ax`` (a new figure's axes when None) and returns the axes,
so it composes with the caller's own figure; the results also have ``.plot()``
methods that call these.

- :func:`reliability_diagram`: a reward model's calibration, as sklearn's
  ``CalibrationDisplay`` draws it (fraction of wins against mean predicted
  probability, the diagonal for perfect calibration);
- :func:`rating_intervals`: Bradley-Terry ratings with their bootstrap interval (or
  ±1.96 standard errors without one), best on top;
- :func:`score_distributions`: the reward of chosen and rejected completions;
- :func:`cluster_sizes`: how many duplicate clusters of each size a dedup found.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from prefcore import metrics
>>> ax = metrics.calibration([2.0, 0.5, 1.0], [1.0, 1.5, 0.0]).plot()
>>> ax.get_xlabel()
'mean predicted P(chosen wins)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from prefcore._arrow import as_array
from prefcore._check import having
from prefcore._optional import require
from prefcore._typed import check_arguments
from prefcore.errors import InvalidArgumentError

if TYPE_CHECKING:  # matplotlib is an optional dependency
    from matplotlib.axes import Axes

__all__ = ["cluster_sizes", "rating_intervals", "reliability_diagram", "score_distributions"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    plt = require("matplotlib.pyplot", "prefcore.plot")
    _, new = plt.subplots()
    return new  # type: ignore[no-any-return]


def reliability_diagram(calibration: Any, ax: Axes | None = None) -> Axes:
    """The reliability diagram of a :class:`~prefcore.metrics.CalibrationResult`:
    each non-empty bin's fraction of wins at its mean predicted probability, sized by
    its count, against the diagonal; the title gives ECE and Brier score.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from prefcore.metrics import calibration
    >>> reliability_diagram(calibration([2.0, 0.5, 1.0], [1.0, 1.5, 0.0])).get_ylabel()
    'fraction of wins'
    """
    having("calibration", calibration, ("bins", "ece", "brier"), "a calibration result")
    ax = _axes(ax)
    bins = calibration.bins.to_pydict()
    used = [i for i, n in enumerate(bins["count"]) if n > 0]
    x = [bins["mean_predicted"][i] for i in used]
    y = [bins["fraction_positive"][i] for i in used]
    ax.plot([0, 1], [0, 1], linestyle=":", color="gray", label="perfectly calibrated")
    ax.plot(x, y, marker="o", label="reward model")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted P(chosen wins)")
    ax.set_ylabel("fraction of wins")
    ax.set_title(f"ECE {calibration.ece:.3f}, Brier {calibration.brier:.3f}")
    ax.legend(loc="upper left")
    return ax


def rating_intervals(ratings: Any, ax: Axes | None = None) -> Axes:
    """Bradley-Terry ratings (a :class:`~prefcore.ratings.BradleyTerryResult`) as points
    with their bootstrap interval, or ±1.96 standard errors when there was no
    bootstrap; an :class:`~prefcore.ratings.ArenaResult` with its own interval (bootstrap
    or sandwich). The best model on top.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from prefcore.ratings import bradley_terry
    >>> battles = {"model_a": ["x", "y", "z"], "model_b": ["y", "z", "x"],
    ...            "winner": ["model_a", "model_a", "tie"]}
    >>> ax = rating_intervals(bradley_terry(battles, alpha=0.1))
    >>> [t.get_text() for t in ax.get_yticklabels()]  # best first, drawn on top
    ['x', 'y', 'z']
    """
    having("ratings", ratings, ("table",), "a BradleyTerryResult or an ArenaResult")
    ax = _axes(ax)
    t = ratings.table.to_pydict()
    rating = np.asarray(t["rating"], dtype=np.float64)
    if "lower" in t:  # an arena leaderboard: its own interval, or none
        has = all(v is not None for v in t["lower"])
        lo = np.asarray(t["lower"], np.float64) if has else rating
        hi = np.asarray(t["upper"], np.float64) if has else rating
        y = np.arange(len(rating))[::-1]
        ax.errorbar(rating, y, xerr=[rating - lo, hi - rating], fmt="o", capsize=3)
        ax.set_yticks(y)
        ax.set_yticklabels(t["model"])
        ax.set_xlabel(f"rating ({ratings.compat})" + (", interval" if has else ""))
        return ax
    lower, upper = t["ci_lower"], t["ci_upper"]
    if any(v is None for v in lower):  # no bootstrap: the Fisher standard errors
        se = np.asarray(t["se"], dtype=np.float64)
        lo, hi = rating - 1.96 * se, rating + 1.96 * se
        what = "±1.96 standard errors"
    else:
        lo, hi = np.asarray(lower, np.float64), np.asarray(upper, np.float64)
        what = "bootstrap interval"
    y = np.arange(len(rating))[::-1]  # the table is best first: best on top
    ax.errorbar(rating, y, xerr=[rating - lo, hi - rating], fmt="o", capsize=3)
    ax.set_yticks(y)
    ax.set_yticklabels(t["model"])
    ax.set_xlabel(f"rating ({ratings.scale}), {what}")
    return ax


def score_distributions(
    chosen_scores: Any, rejected_scores: Any, ax: Axes | None = None, bins: int = 40
) -> Axes:
    """Histograms of the reward of chosen and rejected completions on shared bins,
    with the share of pairs the reward model orders right in the title.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> score_distributions([1.0, 2.0, 0.5], [0.0, 2.5, 0.1]).get_title()
    'chosen > rejected in 66.7% of pairs'
    """
    ax = _axes(ax)
    chosen = np.asarray(as_array(chosen_scores, "chosen_scores"), dtype=np.float64)
    rejected = np.asarray(as_array(rejected_scores, "rejected_scores"), dtype=np.float64)
    if chosen.shape != rejected.shape or not len(chosen):
        raise InvalidArgumentError(
            "chosen_scores and rejected_scores must be non-empty and of one length, "
            f"got {len(chosen)} and {len(rejected)}"
        )
    edges = np.histogram_bin_edges(np.concatenate([chosen, rejected]), bins=bins).tolist()
    ax.hist(chosen, bins=edges, alpha=0.6, label="chosen")
    ax.hist(rejected, bins=edges, alpha=0.6, label="rejected")
    ax.set_xlabel("reward")
    ax.set_ylabel("completions")
    ax.set_title(f"chosen > rejected in {np.mean(chosen > rejected):.1%} of pairs")
    ax.legend()
    return ax


def cluster_sizes(result: Any, ax: Axes | None = None) -> Axes:
    """How many clusters of each size a :class:`~prefcore.dedup.DedupResult` found
    (bars on a log scale: most clusters are single rows).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from prefcore.dedup import exact
    >>> cluster_sizes(exact({"prompt": ["a", "a", "b"]})).get_title()
    '1 of 3 rows are duplicates'
    """
    having("result", result, ("cluster_id", "stats"), "a dedup result (Clusters, NearDuplicates)")
    ax = _axes(ax)
    ids = np.asarray(pa.array(result.cluster_id).to_numpy(zero_copy_only=False))
    sizes = np.bincount(np.unique(ids, return_counts=True)[1])
    present = np.flatnonzero(sizes)
    ax.bar([str(s) for s in present], sizes[present])
    ax.set_yscale("log")
    ax.set_xlabel("rows in the cluster")
    ax.set_ylabel("clusters")
    ax.set_title(f"{result.stats.get('removed', 0):,} of {len(ids):,} rows are duplicates")
    return ax


check_arguments(__name__)  # each public function checks its arguments' annotations
