"""prefcore.ratings.rankings against evalica (PyPI), run to convergence, on random
battle sets; rank centrality against its defining property."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arena_cases import battle_set

from prefcore import ratings
from prefcore.errors import InvalidArgumentError, PrefcoreError

evalica = pytest.importorskip("evalica")

SEEDS = [s for s in range(60) if s % 5 in (0, 3)]  # dense and two-group sets
TIGHT = {"tolerance": 1e-14, "limit": 100_000}


def scores(r: ratings.RankingResult) -> dict[str, float]:
    return dict(zip(r.table.column("model").to_pylist(), r.table.column("score").to_pylist()))


def evalica_winners(b: dict) -> list:
    code = {"model_a": evalica.Winner.X, "model_b": evalica.Winner.Y}
    return [code.get(w, evalica.Winner.Draw) for w in b["winner"]]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("method", ["counting", "average_win_rate", "eigen", "pagerank"])
def test_closed_forms_and_power_iterations_are_evalicas(seed, method):
    b = battle_set(seed)
    kwargs = {} if method in ("counting", "average_win_rate") else TIGHT
    ref = getattr(evalica, method)(b["model_a"], b["model_b"], evalica_winners(b), **kwargs)
    ours = scores(ratings.rankings(b, method))
    for model, value in ref.scores.items():
        assert ours[model] == pytest.approx(value, abs=1e-9), model


@pytest.mark.parametrize("seed", [s for s in SEEDS if s % 5 == 0])
def test_bradley_terry_and_newman_are_evalicas(seed):
    b = battle_set(seed)
    ref = evalica.bradley_terry(b["model_a"], b["model_b"], evalica_winners(b), **TIGHT)
    ours = scores(ratings.rankings(b, "bradley_terry"))
    for model, value in ref.scores.items():
        assert ours[model] == pytest.approx(value, rel=1e-8), model
    ref = evalica.newman(b["model_a"], b["model_b"], evalica_winners(b), **TIGHT)
    r = ratings.rankings(b, "newman")
    # evalica leaves Newman's scale where its iteration stops: compare at geometric mean 1.
    scale = math.exp(np.mean(np.log(ref.scores.to_numpy())))
    ours = scores(r)
    for model, value in ref.scores.items():
        assert ours[model] == pytest.approx(value / scale, rel=1e-8), model
    assert r.tie_propensity == pytest.approx(ref.v, rel=1e-8)


def test_rank_centrality_recovers_consistent_strengths():
    # Fractional wins that follow Bradley-Terry exactly (w_ij ∝ π_i / (π_i + π_j)):
    # the chain's stationary distribution is π itself (detailed balance).
    pi = {"x": 0.5, "y": 0.3, "z": 0.2}
    rows: dict[str, list] = {"model_a": [], "model_b": [], "winner": [], "weight": []}
    for i in pi:
        for j in pi:
            if i < j:
                for who, share in (
                    ("model_a", pi[i] / (pi[i] + pi[j])),
                    ("model_b", pi[j] / (pi[i] + pi[j])),
                ):
                    rows["model_a"].append(i)
                    rows["model_b"].append(j)
                    rows["winner"].append(who)
                    rows["weight"].append(share)
    r = ratings.rankings(rows, "rank_centrality", weights="weight")
    for model, value in scores(r).items():
        assert value == pytest.approx(pi[model], abs=1e-12)


def test_bad_arguments_are_named():
    b = battle_set(0)
    with pytest.raises(InvalidArgumentError, match="method"):
        ratings.rankings(b, "elo")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="damping"):
        ratings.rankings(b, "pagerank", damping=1.5)
    with pytest.raises(PrefcoreError):
        ratings.rankings({**b, "winner": ["?"] * len(b["winner"])}, "counting")
