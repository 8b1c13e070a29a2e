"""Online Elo against FastChat's own ``compute_elo`` (PyPI ``fschat``, the function read
from its file: the module imports the whole monitor stack) on random battle sets, and
its bootstrap rounds against ``compute_elo`` on each resampled order."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from benchmark_cases import functions

from prefcore import ratings
from prefcore.errors import InvalidArgumentError, InvalidValueError


def _compute_elo() -> Any:
    spec = importlib.util.find_spec("fastchat")
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0], "serve", "monitor", "elo_analysis.py")
    return functions(path, "compute_elo", scope={"defaultdict": defaultdict})["compute_elo"]


COMPUTE_ELO = _compute_elo()
WINNERS = ["model_a", "model_b", "tie", "tie (bothbad)"]


def _battles(rng: np.random.Generator) -> pd.DataFrame:
    models = [f"m{i}" for i in range(int(rng.integers(2, 9)))]
    n = int(rng.integers(1, 300))
    a = rng.integers(0, len(models), n)
    b = (a + rng.integers(1, len(models), n)) % len(models)  # never the same model
    return pd.DataFrame({
        "model_a": [models[i] for i in a], "model_b": [models[i] for i in b],
        "winner": rng.choice(WINNERS, n, p=[0.45, 0.35, 0.1, 0.1]),
    })  # fmt: skip


def test_ratings_equal_fastchats_compute_elo() -> None:
    rng = np.random.default_rng(21)
    for _ in range(300):
        battles = _battles(rng)
        want = COMPUTE_ELO(battles)
        got = dict(
            zip(*ratings.online_elo(battles).table.select(["model", "rating"]).to_pydict().values())
        )
        assert got.keys() == want.keys()
        for model, value in want.items():
            assert got[model] == pytest.approx(value, abs=1e-9), model
    # FastChat's other constants
    battles = _battles(rng)
    want = COMPUTE_ELO(battles, K=32, SCALE=173.7, BASE=np.e, INIT_RATING=1500)
    got = ratings.online_elo(battles, k=32, scale=173.7, base=np.e, init=1500)
    assert dict(
        zip(got.table.column("model").to_pylist(), got.table.column("rating").to_pylist())
    ) == pytest.approx(want, abs=1e-9)


def test_bootstrap_rounds_replay_the_given_orders() -> None:
    rng = np.random.default_rng(5)
    battles = _battles(rng)
    n = len(battles)
    sample_indices = rng.integers(0, n, (n, 40))  # FastChat's shape: [battles, rounds]
    r = ratings.online_elo(battles, resamples=sample_indices.T)
    assert r.bootstrap is not None and r.bootstrap.shape == (40, len(r.models))
    for round_, order in enumerate(sample_indices.T):
        want = COMPUTE_ELO(battles.iloc[order].reset_index(drop=True))
        for j, model in enumerate(r.models):
            assert r.bootstrap[round_, j] == pytest.approx(want.get(model, 1000.0), abs=1e-9)
    lo = dict(zip(r.table.column("model").to_pylist(), r.table.column("ci_lower").to_pylist()))
    for j, model in enumerate(r.models):
        assert lo[model] == pytest.approx(np.percentile(r.bootstrap[:, j], 2.5))
    # drawn from a seed: the same seed gives the same rounds
    a = ratings.online_elo(battles, bootstrap=25, seed=3).bootstrap
    b = ratings.online_elo(battles, bootstrap=25, seed=3).bootstrap
    assert a is not None and b is not None and np.array_equal(a, b)


def test_bad_input_is_named() -> None:
    battles = {"model_a": ["x", "y"], "model_b": ["y", "y"], "winner": ["model_a", "tie"]}
    with pytest.raises(InvalidValueError, match="row 1: a model cannot battle itself"):
        ratings.online_elo(battles)
    good = {**battles, "model_b": ["y", "x"]}
    with pytest.raises(InvalidArgumentError, match="base must be a number > 1, not 1") as e:
        ratings.online_elo(good, base=1.0)
    assert e.value.argument == "base"
    with pytest.raises(InvalidArgumentError, match=r"outside \[0, 2\)"):
        ratings.online_elo(good, resamples=np.array([[0, 2]]))
    with pytest.raises(InvalidArgumentError, match="2-D integer array"):
        ratings.online_elo(good, resamples=np.array([0.5, 1.0]))
    with pytest.raises(InvalidValueError, match="'model_c' is not"):
        ratings.online_elo({**good, "winner": ["model_c", "tie"]})
