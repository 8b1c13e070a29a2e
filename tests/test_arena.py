"""prefcore.ratings.arena against the leaderboards it reproduces: FastChat's
rating_systems.py on 240 random battle sets (answers recorded from a snapshot by
tests/data/arena/record_fastchat.py), arena-rank (PyPI) live, and hand-computed cases."""

from __future__ import annotations

import gzip
import json
import math
import warnings
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pytest
from arena_cases import battle_set, style_columns

from prefcore import ratings
from prefcore.errors import InvalidArgumentError, InvalidValueError, PrefcoreError

RECORDED = json.loads(gzip.open(Path(__file__).parent / "data/arena/fastchat.json.gz").read())
SETS = {rec["seed"]: rec for rec in RECORDED["sets"]}


def by_model(result: ratings.ArenaResult, column: str = "rating") -> dict[str, float]:
    t = result.table
    return dict(zip(t.column("model").to_pylist(), t.column(column).to_pylist()))


def fit_quietly(battles: dict, **kwargs) -> tuple[ratings.ArenaResult, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = ratings.arena(battles, **kwargs)
    return r, [str(w.message) for w in caught]


def test_recorded_sets_cover_every_kind():
    assert len(SETS) >= 200
    # Most sets have a finite optimum (compared to 1e-4); the rest are checked finite.
    finite = [s for s in SETS if ratings.arena(battle_set(s), ci=None).stats["fallback"] is False]
    assert len(finite) >= 150
    assert {rec["kind"] for rec in SETS.values()} == {
        "dense", "one-per-pair", "never-wins", "two-groups", "sparse"
    }  # fmt: skip


@pytest.mark.parametrize("seed", sorted(SETS))
def test_plain_bt_is_fastchats_compute_bt(seed):
    rec = SETS[seed]
    r, said = fit_quietly(battle_set(seed), compat="fastchat", ci=None)
    if any("infinite" in s for s in said):
        # No finite optimum: FastChat stops wherever L-BFGS-B does; prefcore uses its
        # documented prior and stays finite.
        assert rec["kind"] != "never-wins" or "m0" in said[0]
        assert r.stats["fallback"] and np.isfinite(r.table.column("rating").to_numpy()).all()
        return
    ours = by_model(r)
    assert set(ours) == set(rec["bt"])
    for m, v in rec["bt"].items():
        assert abs(ours[m] - v) < 1e-4, (m, ours[m], v)


@pytest.mark.parametrize("seed", sorted(SETS))
def test_style_control_is_fastchats_compute_style_control(seed):
    rec = SETS[seed]
    r, _ = fit_quietly(battle_set(seed), compat="fastchat", style=style_columns(), ci=None)
    ours = by_model(r)
    for m, v in rec["style"].items():
        assert abs(ours[m] - v) < 1e-4, (m, ours[m], v)
    coefs = r.coefficients.column("coefficient").to_pylist()
    assert r.coefficients.column("feature").to_pylist() == ["length", "headers", "lists", "bold"]
    np.testing.assert_allclose(coefs, rec["style_coefs"], rtol=0, atol=1e-6)


BOOT = sorted(s for s, rec in SETS.items() if "bt_boot_q" in rec)


@pytest.mark.parametrize("seed", BOOT)
def test_bootstrap_quantiles_are_fastchats(seed):
    rec = SETS[seed]
    battles = battle_set(seed)
    rounds = RECORDED["rounds"]
    r, _ = fit_quietly(battles, compat="fastchat", bootstrap=rounds, seed=0)
    if not r.stats["fallback"] and not r.stats["fallback_rounds"]:
        lo, hi = by_model(r, "lower"), by_model(r, "upper")
        for m, (q_lo, q_hi) in rec["bt_boot_q"].items():
            assert abs(lo[m] - q_lo) < 1e-4 and abs(hi[m] - q_hi) < 1e-4, m
    # Style control rounds resample battles from numpy's global generator: the same
    # index matrix reproduces them.
    m = len(battles["winner"])
    idx = np.random.RandomState(rec["style_boot_seed"]).randint(0, m, size=(rounds, m))
    r, _ = fit_quietly(battles, compat="fastchat", style=style_columns(), resamples=idx)
    lo, hi = by_model(r, "lower"), by_model(r, "upper")
    for model, (q_lo, q_hi) in rec["style_boot_q"].items():
        assert abs(lo[model] - q_lo) < 1e-4 and abs(hi[model] - q_hi) < 1e-4, model


def test_fastchat_default_stop_is_reported_by_the_recording():
    # The recording keeps how far FastChat's default stop (100 iterations, gtol 1e-6)
    # is from the optimum; on sets with a finite optimum it is small but not zero.
    gaps = [rec["bt_default_gap"] for rec in SETS.values() if rec["kind"] == "dense"]
    assert max(gaps) > 0


# --- arena-rank (PyPI), live -------------------------------------------------------

arena_rank_bt = pytest.importorskip("arena_rank.models.bradley_terry")
arena_rank_cbt = pytest.importorskip("arena_rank.models.contextual_bradley_terry")
arena_rank_data = pytest.importorskip("arena_rank.utils.data_utils")

ARENA_RANK_SEEDS = [0, 5, 10, 15, 20, 25, 40, 45]
#: arena-rank stops at a relative loss change of 1e-9 by default (about 1e-3 Elo
#: points from the optimum on these sets): tightened to reach the optimum.
TIGHT = {"ftol": 1e-15, "gtol": 1e-12, "max_iter": 10_000}


def arena_rank_frame(battles: dict):
    import pandas as pd

    df = pd.DataFrame(battles)
    # arena-rank maps every value but model_a / model_b to a tie.
    return df


@pytest.mark.parametrize("seed", ARENA_RANK_SEEDS)
def test_bt_and_sandwich_are_arena_ranks(seed):
    battles = battle_set(seed)
    data = arena_rank_data.PairDataset.from_pandas(arena_rank_frame(battles))
    model = arena_rank_bt.BradleyTerry(n_competitors=len(data.competitors), **TIGHT)
    ref = model.compute_ratings_and_cis(data, ci_method="sandwich")
    r, _ = fit_quietly(battles, compat="arena-rank")
    ours, lo = by_model(r), by_model(r, "lower")
    z = NormalDist().inv_cdf(0.975)
    for i, name in enumerate(ref["competitors"]):
        assert abs(ours[name] - float(ref["ratings"][i])) < 1e-4
        var = ((ours[name] - lo[name]) / z) ** 2
        assert var == pytest.approx(float(ref["variances"][i]), rel=1e-8)


@pytest.mark.parametrize("seed", ARENA_RANK_SEEDS)
def test_contextual_bt_and_sandwich_are_arena_ranks(seed):
    battles = battle_set(seed)
    df = arena_rank_frame(battles)
    cols = []
    for name, (ca, cb) in style_columns().items():
        df[name] = (df[ca] - df[cb]) / (df[ca] + df[cb] + 1)
        cols.append(name)
    data = arena_rank_data.ContextualPairDataset.from_pandas(df, feature_cols=cols)
    model = arena_rank_cbt.ContextualBradleyTerry(
        n_competitors=len(data.competitors), n_features=len(cols), **TIGHT
    )
    ref = model.compute_ratings_and_cis(data, ci_method="sandwich")
    r, _ = fit_quietly(battles, compat="arena-rank", style=style_columns(), weights="ipw")
    ours, lo = by_model(r), by_model(r, "lower")
    for i, name in enumerate(ref["competitors"]):
        assert abs(ours[name] - float(ref["ratings"][i])) < 1e-4
    coefs = r.coefficients.column("coefficient").to_numpy()
    np.testing.assert_allclose(coefs, np.asarray(ref["coeffs"]), atol=1e-6)
    # The sandwich at the same parameters (the optimum as prefcore solves it): its
    # L-BFGS stops ~1e-5 Elo points short, which moves the variances by ~1e-8.
    import jax.numpy as jnp

    theta = [(ours[n] - 1000) * math.log(10) / 400 for n in ref["competitors"]]
    model.params = {"ratings": jnp.asarray(theta), "coeffs": jnp.asarray(coefs)}
    at_ours = model.compute_ratings_and_cis(data, ci_method="sandwich")
    z = NormalDist().inv_cdf(0.975)
    for i, name in enumerate(ref["competitors"]):
        var = ((ours[name] - lo[name]) / z) ** 2
        assert var == pytest.approx(float(at_ours["variances"][i]), rel=1e-8)


def test_bootstrap_rounds_are_arena_ranks_given_the_same_counts():
    battles = battle_set(0)
    data = arena_rank_data.PairDataset.from_pandas(arena_rank_frame(battles))
    model = arena_rank_bt.BradleyTerry(n_competitors=len(data.competitors), **TIGHT)
    model.fit(data)
    m = len(battles["winner"])
    idx = np.random.default_rng(1).integers(0, m, size=(3, m))
    r, _ = fit_quietly(battles, compat="arena-rank", resamples=idx)
    # The same resamples as arena-rank's counts per unique (a, b, outcome) row.
    pairs = np.asarray(data.pairs)
    outcomes = np.asarray(data.outcomes)
    code = {n: i for i, n in enumerate(data.competitors)}
    score = {"model_a": 1.0, "model_b": 0.0}
    keys = [
        (code[a], code[b], score.get(w, 0.5))
        for a, b, w in zip(battles["model_a"], battles["model_b"], battles["winner"])
    ]
    row_of = {(int(p[0]), int(p[1]), float(o)): k for k, (p, o) in enumerate(zip(pairs, outcomes))}
    for rnd in range(3):
        counts = np.zeros(len(outcomes))
        for k in idx[rnd]:
            counts[row_of[keys[k]]] += 1
        params = arena_rank_bt.fit_single_bootstrap_sample(counts, model, data)
        ref = np.asarray(params["ratings"]) * 400 / math.log(10) + 1000
        np.testing.assert_allclose(r.bootstrap[rnd], ref, atol=1e-4)


# --- hand-computed cases ---------------------------------------------------------------


def test_two_models_closed_form_and_sandwich():
    # 3 wins in 4: theta_x - theta_y = ln 3; the robust variance equals the Fisher one,
    # 1 / (n p (1 - p)) for the difference, a quarter of it against the mean.
    b = {"model_a": ["x"] * 4, "model_b": ["y"] * 4, "winner": ["model_a"] * 3 + ["model_b"]}
    r = ratings.arena(b, ci="sandwich", level=0.95)
    unit = 400 / math.log(10)
    rating = by_model(r)
    assert rating["x"] - rating["y"] == pytest.approx(unit * math.log(3), abs=1e-9)
    z = NormalDist().inv_cdf(0.975)
    se = (rating["x"] - by_model(r, "lower")["x"]) / z
    assert se == pytest.approx(unit * math.sqrt(1 / (4 * 4 * 0.75 * 0.25)), rel=1e-9)
    wm = r.win_matrix()
    assert wm.column("y")[0].as_py() == pytest.approx(0.75, abs=1e-12)


def test_davidson_closed_form():
    # 3 wins, 1 loss, 2 ties: P_x : P_y : P_tie = 3 : 1 : 2, so e^d = 3 and
    # nu = 2 / sqrt(3).
    b = {"model_a": ["x"] * 6, "model_b": ["y"] * 6,
         "winner": ["model_a"] * 3 + ["model_b"] + ["tie"] * 2}  # fmt: skip
    r = ratings.arena(b, ties="davidson", ci=None)
    rating = by_model(r)
    assert (rating["x"] - rating["y"]) * math.log(10) / 400 == pytest.approx(math.log(3), abs=1e-9)
    assert r.log_tie == pytest.approx(math.log(2 / math.sqrt(3)), abs=1e-9)
    # Expected score of x: P_x + P_tie / 2 = (3 + 1) / 6.
    assert r.win_matrix().column("y")[0].as_py() == pytest.approx(4 / 6, abs=1e-12)


def test_ranks_follow_the_intervals():
    b = battle_set(5)
    r = ratings.arena(b, bootstrap=50, seed=3)
    t = r.table.to_pydict()
    for i in range(len(t["model"])):
        above = sum(lo > t["upper"][i] for lo in t["lower"])
        below = sum(hi < t["lower"][i] for hi in t["upper"])
        assert t["rank"][i] == 1 + above == t["rank_lower"][i]
        assert t["rank_upper"][i] == len(t["model"]) - below
    assert r.bootstrap is not None and r.bootstrap.shape == (50, len(t["model"]))
    again = ratings.arena(b, bootstrap=50, seed=3)
    assert np.array_equal(again.bootstrap, r.bootstrap)


def test_anchor_pins_every_round():
    b = battle_set(5)
    r = ratings.arena(b, bootstrap=10, anchor=("m01", 1200.0))
    assert by_model(r)["m01"] == pytest.approx(1200.0, abs=1e-9)
    col = r.models.index("m01")
    np.testing.assert_allclose(r.bootstrap[:, col], 1200.0, atol=1e-9)


def test_fastchat_anchor_is_its_default():
    b = battle_set(5)

    def rename(models: list[str]) -> list[str]:
        return ["mixtral-8x7b-instruct-v0.1" if m == "m02" else m for m in models]

    b = {**b, "model_a": rename(b["model_a"]), "model_b": rename(b["model_b"])}
    r = ratings.arena(b, compat="fastchat", ci=None)
    assert by_model(r)["mixtral-8x7b-instruct-v0.1"] == pytest.approx(1114.0, abs=1e-9)


def test_groups_that_never_met_are_each_centred():
    b = {"model_a": ["w", "x", "y", "z", "w"], "model_b": ["x", "w", "z", "y", "x"],
         "winner": ["model_a", "model_b", "model_a", "model_a", "tie"]}  # fmt: skip
    with pytest.warns(RuntimeWarning, match="2 groups that never met"):
        r = ratings.arena(b, ci=None)
    rating = by_model(r)
    unit = 400 / math.log(10)
    # w beat x 2.5 : 0.5 of 3, y and z 1 : 1: each group's mean sits at 1000.
    assert rating["w"] - rating["x"] == pytest.approx(unit * math.log(5), abs=1e-9)
    assert rating["w"] + rating["x"] == pytest.approx(2000, abs=1e-9)
    assert rating["y"] == pytest.approx(1000, abs=1e-9)
    assert rating["z"] == pytest.approx(1000, abs=1e-9)


@pytest.mark.parametrize("compat", ["prefcore", "fastchat"])
def test_sandwich_of_groups_that_never_met_is_each_groups_own(compat):
    # Each group's intervals are those of the group fitted alone: the shift between
    # the groups, which no battle determines, adds nothing (it used to make the
    # Hessian singular and the intervals garbage).
    b = battle_set(13)
    rows = range(len(b["winner"]))
    group = [i for i in rows if b["model_a"][i] < "m05"]
    assert 0 < len(group) < len(b["winner"])
    with pytest.warns(RuntimeWarning, match="2 groups that never met"):
        both = ratings.arena(b, compat=compat, ci="sandwich")
    alone = ratings.arena({k: [v[i] for i in group] for k, v in b.items()}, compat=compat)
    half = {m: by_model(both, "upper")[m] - by_model(both)[m] for m in alone.models}
    for m, width in by_model(alone, "upper").items():
        assert half[m] == pytest.approx(width - by_model(alone)[m], rel=1e-9)
    # The anchor's group is measured against it, the other against its mean.
    anchored = ratings.arena(b, compat=compat, ci="sandwich", anchor=("m01", 1000.0))
    alone_anchored = ratings.arena(
        {k: [v[i] for i in group] for k, v in b.items()}, compat=compat, anchor=("m01", 1000.0)
    )
    for m in alone.models:
        got = by_model(anchored, "upper")[m] - by_model(anchored)[m]
        want = by_model(alone_anchored, "upper")[m] - by_model(alone_anchored)[m]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_never_winning_model_gets_a_finite_documented_rating():
    b = battle_set(2)
    with pytest.warns(RuntimeWarning, match="standard normal prior"):
        r = ratings.arena(b, ci="sandwich")
    t = r.table.to_pydict()
    assert all(math.isfinite(v) for v in t["rating"] + t["lower"] + t["upper"])
    # Far below the rest, but not thousands of points: the prior holds it.
    assert min(t["rating"]) > 1000 - 1500
    assert r.stats["fallback"]


def test_inputs_users_hold():
    pl = pytest.importorskip("polars")
    pd = pytest.importorskip("pandas")
    b = battle_set(0)
    want = ratings.arena(b, ci=None).table
    frame = pl.DataFrame(b).with_columns(pl.col("model_a").cast(pl.Categorical))
    assert ratings.arena(frame, ci=None).table.equals(want)
    assert ratings.arena(pd.DataFrame(b), ci=None).table.equals(want)
    t = pa.table(b)
    chunked = pa.concat_tables([t.slice(0, 7), t.slice(7)])
    assert ratings.arena(chunked, ci=None).table.equals(want)
    sides = zip(b["model_a"], b["model_b"], b["winner"])
    names = [{"model_a": x, "model_b": y}.get(w, "tie") for x, y, w in sides]
    named = ratings.arena({**b, "winner": names}, ci=None)
    assert named.table.column("model").equals(want.column("model"))


def test_bad_input_is_named():
    b = battle_set(0)
    with pytest.raises(InvalidValueError, match="column 'winner', row 1"):
        ratings.arena({**b, "winner": [b["winner"][0], "maybe", *b["winner"][2:]]})
    with pytest.raises(InvalidValueError, match="row 0: a model cannot battle itself") as e:
        ratings.arena({**b, "model_b": [b["model_a"][0], *b["model_b"][1:]]})
    assert (e.value.column, e.value.row) == ("model_b", 0)
    bad = list(b["sum_assistant_a_tokens"])
    bad[3] = float("nan")
    with pytest.raises(InvalidValueError, match="row 3"):
        ratings.arena({**b, "sum_assistant_a_tokens": bad}, style=style_columns())
    bad[3] = -4
    with pytest.raises(InvalidValueError, match="row 3"):
        ratings.arena({**b, "sum_assistant_a_tokens": bad}, style=style_columns())
    with pytest.raises(InvalidArgumentError, match="empty"):
        ratings.arena({"model_a": [], "model_b": [], "winner": []})
    with pytest.raises(InvalidArgumentError, match="compat"):
        ratings.arena(b, compat="lmsys")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="anchor"):
        ratings.arena(b, anchor=("nobody", 1000.0))
    with pytest.raises(InvalidArgumentError, match="same in every battle"):
        ones = [1] * len(b["winner"])
        ratings.arena({**b, "list_count_a": ones, "list_count_b": ones}, style=style_columns())
    no_ties = {**b, "winner": ["model_a" if w.startswith("tie") else w for w in b["winner"]]}
    with pytest.raises(InvalidArgumentError, match="davidson"):
        ratings.arena(no_ties, ties="davidson")
    with pytest.raises(PrefcoreError):
        ratings.arena(b, resamples=np.zeros((2, 3), dtype=int))
    weighted = {**b, "w": [2.0] * len(b["winner"])}
    with pytest.raises(InvalidArgumentError, match="weights"):
        ratings.arena(weighted, compat="fastchat", bootstrap=5, weights="w")


def test_cli_writes_the_leaderboard(tmp_path, capsys):
    import pyarrow.parquet as pq

    from prefcore.cli import main

    src = tmp_path / "battles.parquet"
    pq.write_table(pa.table(battle_set(0)), src)
    out = tmp_path / "board.csv"
    argv = ["ratings", str(src), "--style-control", "--bootstrap", "30", "--compat", "fastchat",
            "--anchor", "m01=1200", "-o", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    written = pa.csv.read_csv(out)
    want = ratings.arena(battle_set(0), compat="fastchat", style="fastchat", bootstrap=30,
                         anchor=("m01", 1200.0))  # fmt: skip
    assert written.column("model").to_pylist() == want.table.column("model").to_pylist()
    np.testing.assert_allclose(written.column("upper").to_numpy(), want.table.column("upper"))
    assert "style length" in capsys.readouterr().out
    assert main(["ratings", str(src), "--method", "pagerank", "--json"]) == 0
    assert main(["ratings", str(src), "--anchor", "nobody=1"]) == 1
    assert main(["ratings", str(src), "-o", str(src)]) == 1
    with pytest.raises(SystemExit):
        main(["ratings", str(src), "--anchor", "m01"])
