"""AlpacaEval's win rates against alpaca-eval's own ``metrics`` code (PyPI
``alpaca-eval``): the head-to-head figures on random preference sets, and the
length-controlled win rate of each of its models, with alpaca-eval's gamed-baseline
file written locally where it would download it."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prefcore import benchmarks
from prefcore.errors import InvalidArgumentError, InvalidValueError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pkg_resources' deprecation, on import
    from alpaca_eval.metrics import get_winrate, glm_winrate

logging.getLogger().setLevel(logging.WARNING)  # alpaca-eval logs every dropped row

KEYS = (
    "win_rate",
    "standard_error",
    "n_wins",
    "n_wins_base",
    "n_draws",
    "n_total",
    "discrete_win_rate",
)


def _preferences(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.integers(0, 3)
    if kind == 0:  # a weighted judge: continuous in [1, 2]
        p = 1 + rng.random(n)
    elif kind == 1:  # a discrete judge: 1, 2, draws as 1.5 or 0
        p = rng.choice([1.0, 2.0, 1.5, 0.0], n)
    else:  # both, on a coarse grid that hits 1.5 exactly and rounds both ways
        p = rng.choice(np.linspace(1, 2, 9), n)
    p[rng.random(n) < 0.05] = np.nan
    return p


def test_head_to_head_equals_alpaca_evals() -> None:
    rng = np.random.default_rng(2)
    for _ in range(10_000):
        p = _preferences(rng, int(rng.integers(2, 60)))
        if np.isnan(p).sum() > len(p) - 2:
            continue
        want = get_winrate(pd.DataFrame({"preference": p}))
        got = benchmarks.alpaca_eval({"generator_2": ["m"] * len(p), "preference": p}).to_dict()[
            "m"
        ]
        for key in KEYS:
            assert got[key] == pytest.approx(float(want[key]), abs=1e-10), key
        assert got["n_dropped"] == int(np.isnan(p).sum())


def _gamed(rng: np.random.Generator, n: int, difficulty: np.ndarray) -> pd.DataFrame:
    frames = []
    for model, bias in (("gamed_long", 0.4), ("gamed_short", -0.3)):
        d = rng.normal(size=n)
        logit = bias + 0.9 * np.tanh(d) - 0.5 * difficulty + 0.3 * rng.normal(size=n)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "index": np.arange(n),
                    "preference": 1 / (1 + np.exp(-logit)),
                    "std_delta_len": d,
                    "instruction_difficulty": difficulty,
                    "not_gamed_baseline": False,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _annotations(rng: np.random.Generator, n: int, difficulty: np.ndarray) -> pd.DataFrame:
    l1, l2 = rng.integers(20, 2000, n), rng.integers(20, 2000, n)
    logit = 0.3 - 1.2 * np.tanh((l1 - l2) / 600) - 0.4 * difficulty + rng.normal(size=n)
    p = 1 + 1 / (1 + np.exp(-logit))
    p[rng.random(n) < 0.05] = 1.5
    p[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "generator_1": "base",
            "generator_2": "model",
            "preference": p,
            "output_1": ["é" * int(k) for k in l1],
            "output_2": ["x" * int(k) for k in l2],
        }
    )


@pytest.mark.parametrize("glm", list(benchmarks.GLMS))
def test_length_controlled_equals_alpaca_evals(
    glm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    for case in range(4):
        n = int(rng.integers(150, 400))
        difficulty = rng.normal(size=n)
        gamed = _gamed(rng, n, difficulty)
        path = tmp_path / f"df_gamed_{case}.csv"
        gamed.to_csv(path, index=False)
        monkeypatch.setattr(glm_winrate, "hf_hub_download", lambda _p=str(path), **_: _p)
        annotations = _annotations(rng, n, difficulty)
        # alpaca-eval run to convergence (liblinear's default tol=1e-4 stops early)
        info = {
            **glm_winrate.GLM_INFO[glm],
            "kwargs": {"n_splits": 5, "tol": 1e-9, "max_iter": 100_000},
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exact = glm_winrate.get_length_controlled_winrate(
                annotations.copy(), glm_name=glm, save_weights_dir=None, glm_info=info
            )
            default = glm_winrate.get_length_controlled_winrate(
                annotations.copy(), glm_name=glm, save_weights_dir=None
            )
        ours = benchmarks.alpaca_eval(annotations, glm=glm, gamed=gamed.drop(columns=["model"]))
        got = ours.to_dict()["model"]
        assert got["length_controlled_winrate"] == pytest.approx(
            exact["length_controlled_winrate"], abs=1e-6
        )
        assert got["lc_standard_error"] == pytest.approx(exact["lc_standard_error"], abs=1e-6)
        # alpaca-eval as shipped stops early (tol 1e-4): within a tenth of a point
        assert got["length_controlled_winrate"] == pytest.approx(
            default["length_controlled_winrate"], abs=0.1
        )
        for key in KEYS:
            assert got[key] == pytest.approx(float(exact[key]), abs=1e-10)


def test_length_baselines_and_a_baseline_against_itself() -> None:
    rows = {
        "generator_1": ["base", "base", "base", "m", "m"],
        "generator_2": ["m", "m", "m", "base", "base"],
        "preference": [2.0, 1.0, 1.0, 1.5, 2.0],
        "output_1": ["short", "a much longer answer", "same!", "x", "y"],
        "output_2": ["a longer answer", "tiny", "same?", "x", "y"],
    }
    r = benchmarks.alpaca_eval(rows, length_controlled=False).to_dict()
    # m is longer in row 0 only (a win for "longer"), shorter in row 1, equal in row 2
    assert r["m"]["longer_win_rate"] == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert r["m"]["shorter_win_rate"] == pytest.approx(100 * (0 + 1 + 0.5) / 3)
    assert "length_controlled_winrate" not in r["m"]


def test_alpaca_eval_bad_input_is_named() -> None:
    rows = {"generator_2": ["m", "m"], "preference": [1.0, 2.5]}
    with pytest.raises(InvalidValueError, match=r"preference 2.5 is not in \[1, 2\]") as e:
        benchmarks.alpaca_eval(rows)
    assert (e.value.column, e.value.row) == ("preference", 1)
    with pytest.raises(InvalidArgumentError, match="needs the outputs"):
        benchmarks.alpaca_eval({**rows, "preference": [1.0, 2.0]}, length_controlled=True)
    with pytest.raises(InvalidArgumentError, match="glm must be one of"):
        benchmarks.alpaca_eval(rows, glm="length_controlled_v2")  # type: ignore[arg-type]
