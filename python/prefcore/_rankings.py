"""Rankings from battles besides Bradley-Terry ratings (:func:`prefcore.ratings.rankings`):
counting, average win rate, Newman's tie-aware Bradley-Terry, eigenvector, PageRank
(as evalica defines them, solved to convergence) and rank centrality."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from prefcore import _check, _prefcore
from prefcore._arena import battle_weights
from prefcore._arrow import require_columns
from prefcore._battles import read_battles
from prefcore._display import Summarised
from prefcore._tables import as_table
from prefcore.errors import InvalidArgumentError

__all__ = ["RANKING_METHODS", "RankingResult", "rankings"]

Method = Literal[
    "counting", "average_win_rate", "bradley_terry", "newman", "eigen", "pagerank",
    "rank_centrality",
]  # fmt: skip
RANKING_METHODS: tuple[str, ...] = (
    "counting", "average_win_rate", "bradley_terry", "newman", "eigen", "pagerank",
    "rank_centrality",
)  # fmt: skip
#: Power iterations stop when the scores move by less than this (L2), or after LIMIT.
TOLERANCE, LIMIT = 1e-13, 100_000


@dataclass(frozen=True, repr=False)
class RankingResult(Summarised):
    """Scores per model, best first: ``model``, ``score``, ``rank`` (1 + models scored
    higher), ``battles``. ``tie_propensity``: Newman's ``v`` (None for the other
    methods); ``iterations``: power or Newton iterations run (0 for closed forms)."""

    table: pa.Table
    method: str
    tie_propensity: float | None
    iterations: int


def _matrices(
    ca: np.ndarray, cb: np.ndarray, score: np.ndarray, tie: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``wins[i, j]``: weighted wins of ``i`` over ``j``; ``ties[i, j]``: weighted ties
    between them (symmetric)."""
    decisive = ~tie
    winner = np.where(score == 1.0, ca, cb)[decisive]
    loser = np.where(score == 1.0, cb, ca)[decisive]
    wins = np.bincount(winner * n + loser, weights=w[decisive], minlength=n * n).reshape(n, n)
    t = np.bincount(ca[tie] * n + cb[tie], weights=w[tie], minlength=n * n).reshape(n, n)
    return wins, t + t.T


def _power(step: Any, start: np.ndarray) -> tuple[np.ndarray, int]:
    """Iterates ``step`` from ``start`` until the L2 change is below TOLERANCE."""
    s = start
    for i in range(1, LIMIT + 1):
        nxt = step(s)
        if np.linalg.norm(nxt - s) < TOLERANCE:
            return nxt, i
        s = nxt
    return s, LIMIT


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    return v / norm if norm else v


def _strengths(wins: np.ndarray, ties: np.ndarray, davidson: bool) -> tuple[np.ndarray, float, int]:
    """Maximum-likelihood strengths (geometric mean 1) from the pair totals, by
    prefcore's Newton solver; Davidson's tie propensity when asked."""
    n = len(wins)
    lo, hi = np.triu_indices(n, 1)
    total = wins[lo, hi] + wins[hi, lo] + (ties[lo, hi] if davidson else 0.0)
    keep = total > 0
    lo, hi, total = lo[keep], hi[keep], total[keep]
    if davidson:
        win, tie = wins[lo, hi] / total, ties[lo, hi] / total
    else:
        win, tie = wins[lo, hi] / total, np.zeros(len(total))
    fit = _prefcore.arena_fit(
        lo.astype(np.uint32), hi.astype(np.uint32), np.ascontiguousarray(win),
        np.ascontiguousarray(tie), np.ascontiguousarray(total), np.zeros((len(total), 0)), n,
        unit=1.0, ridge_ratings=0.0, ridge_coefs=0.0, divisor=1.0, davidson=davidson,
        fallback_ridge=0.0, curvature=False, bootstrap=0, seed=0, resample_indices=None,
        resample_weights=None,
    )  # fmt: skip
    theta = np.asarray(fit.ratings)
    return np.exp(theta - theta.mean()), float(fit.log_tie), int(fit.iterations)


def rankings(
    battles: Any,
    method: Method = "pagerank",
    *,
    a: str = "model_a",
    b: str = "model_b",
    winner: str = "winner",
    weights: str | None = None,
    win_weight: float = 1.0,
    tie_weight: float | None = None,
    damping: float = 0.85,
) -> RankingResult:
    """Scores from battles by one of the rankings leaderboards are compared with,
    defined as evalica (PyPI) defines them and solved to convergence (evalica stops at
    a change of 1e-6 or 100 iterations; prefcore iterates to 1e-13).

    With ``M = win_weight · wins + tie_weight · ties`` (``wins[i, j]``: ``i`` beat
    ``j``; ties counted for both):

    - ``"counting"``: row sums of ``M``.
    - ``"average_win_rate"``: the mean over opponents met of ``M_ij / (M_ij + M_ji)``.
    - ``"bradley_terry"``: maximum-likelihood strengths on ``M`` (geometric mean 1).
    - ``"newman"``: Newman's tie-aware Bradley-Terry, the maximum-likelihood fit of
      Davidson's model (``P(tie) = 2v√(πᵢπⱼ) / (πᵢ + πⱼ + 2v√(πᵢπⱼ))``) with
      ``tie_weight`` 1 by default; strengths at geometric mean 1 (evalica leaves their
      scale where its iteration stops) and ``v`` in ``tie_propensity``.
    - ``"eigen"``: the dominant eigenvector of ``Mᵀ`` by power iteration from the
      uniform vector, unit length. Note that it scores a model by the strength of the
      models that beat it, as evalica defines it.
    - ``"pagerank"``: PageRank with ``damping`` on the chain that moves from a model to
      those that beat it (in proportion to ``Mᵀ``; a model never beaten moves
      uniformly), scores summing to 1.
    - ``"rank_centrality"``: Negahban, Oh and Shah's rank centrality: the stationary
      distribution of the chain moving from ``i`` to ``j`` with probability
      ``(share of their battles j won) / d_max`` (ties half; ``d_max`` the most
      opponents any model met), scores summing to 1.

    ``tie_weight`` defaults to 0.5 (1 for ``"newman"``). ``weights``: a column of
    per-battle weights.

    >>> battles = {"model_a": ["a", "a", "b", "c", "a"], "model_b": ["b", "c", "c", "a", "b"],
    ...            "winner": ["model_a", "model_a", "model_b", "tie", "model_b"]}
    >>> r = rankings(battles, "counting")
    >>> r.table.column("model").to_pylist(), r.table.column("score").to_pylist()
    (['a', 'c', 'b'], [2.5, 1.5, 1.0])
    """
    t = as_table(battles)
    require_columns(t, a, b, winner)
    method = _check.choice("method", method, RANKING_METHODS)  # type: ignore[assignment]
    if tie_weight is None:
        tie_weight = 1.0 if method == "newman" else 0.5
    for name, value in (("win_weight", win_weight), ("tie_weight", tie_weight)):
        if not (math.isfinite(value) and value >= 0):
            raise InvalidArgumentError(f"{name} must be a finite number >= 0", argument=name)
    if not 0.0 <= damping <= 1.0:
        raise InvalidArgumentError(f"damping must be in [0, 1], not {damping}", argument="damping")
    score, tie, names, codes_a, codes_b = read_battles(t, a, b, winner, "rankings")
    n = len(names)
    ca, cb = codes_a.astype(np.int64), codes_b.astype(np.int64)
    w = battle_weights(t, weights, ca, cb, styled=False)
    wins, ties = _matrices(ca, cb, score, tie, w, n)
    m = win_weight * wins + tie_weight * ties
    v: float | None = None
    iterations = 0
    if method == "counting":
        scores = m.sum(axis=1)
    elif method == "average_win_rate":
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = m / (m + m.T)
        met = ~np.isnan(rate)
        scores = np.where(met.any(axis=1), np.nansum(rate, axis=1) / np.maximum(met.sum(1), 1), 0.0)
    elif method == "bradley_terry":
        scores, _, iterations = _strengths(m, np.zeros_like(m), davidson=False)
    elif method == "newman":
        scores, log_nu, iterations = _strengths(win_weight * wins, tie_weight * ties, davidson=True)
        v = math.exp(log_nu) / 2.0
    elif method == "eigen":
        scores, iterations = _power(lambda s: _unit(m.T @ s), np.full(n, 1.0 / n))
    elif method == "pagerank":
        chain = m.T.copy()
        empty = chain.sum(axis=1) == 0
        chain[empty] = 1.0 / n
        chain /= chain.sum(axis=1, keepdims=True)
        google = damping * chain + (1.0 - damping) / n
        scores, iterations = _power(lambda s: _unit(google.T @ s), np.full(n, 1.0 / n))
        scores = scores / scores.sum()
    else:
        games = m + m.T
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(games > 0, m.T / games, 0.0)  # share[i, j]: j's share vs i
        d_max = max(int((games > 0).sum(axis=1).max()), 1)
        chain = share / d_max
        np.fill_diagonal(chain, 0.0)
        np.fill_diagonal(chain, 1.0 - chain.sum(axis=1))
        scores, iterations = _power(lambda s: chain.T @ s, np.full(n, 1.0 / n))
        scores = scores / scores.sum()
    battles_per = np.bincount(ca, minlength=n) + np.bincount(cb, minlength=n)
    rank = 1 + (scores[None, :] > scores[:, None]).sum(axis=1)
    table = pa.table(
        {
            "model": names,
            "score": pa.array(scores, pa.float64()),
            "rank": pa.array(rank.astype(np.int64)),
            "battles": pa.array(battles_per.astype(np.int64)),
        }
    ).take(pa.array(np.lexsort((np.arange(n), -scores))))
    return RankingResult(table, method, v, iterations)
