"""Votes, Bradley-Terry and the dataset report of prefcore.pairs, against choix,
krippendorff, a published Fleiss' κ table and hand counts."""

from __future__ import annotations

import choix
import krippendorff
import numpy as np
import pyarrow as pa
import pytest

import prefcore
from prefcore import ratings, report

# Fleiss (1971) worked example as tabulated on Wikipedia's "Fleiss' kappa" page:
# 10 subjects, 14 raters each, 5 categories; published κ = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def votes_from_counts(counts: list[list[int]]) -> dict[str, list[object]]:
    item, annotator, vote = [], [], []
    for i, row in enumerate(counts):
        rater = 0
        for category, n in enumerate(row):
            for _ in range(n):
                item.append(i)
                annotator.append(f"r{rater}")
                vote.append(category + 1)
                rater += 1
    return {"item": item, "annotator": annotator, "vote": vote}


def test_fleiss_kappa_matches_the_published_example() -> None:
    r = ratings.aggregate_votes(votes_from_counts(FLEISS_TABLE))
    assert round(r.agreement["fleiss_kappa"], 3) == 0.210
    counts = np.array(FLEISS_TABLE, dtype=float)
    p_i = ((counts**2).sum(1) - 14) / (14 * 13)
    p_j = counts.sum(0) / counts.sum()
    want = (p_i.mean() - (p_j**2).sum()) / (1 - (p_j**2).sum())
    assert r.agreement["fleiss_kappa"] == pytest.approx(want, rel=1e-12)
    assert r.agreement["raw_agreement"] == pytest.approx(p_i.mean(), rel=1e-12)


def test_krippendorff_alpha_matches_the_krippendorff_package() -> None:
    rng = np.random.default_rng(4)
    n_raters, n_items = 6, 80
    truth = rng.integers(0, 3, n_items)
    data = np.where(
        rng.random((n_raters, n_items)) < 0.7, truth, rng.integers(0, 3, (n_raters, n_items))
    ).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan  # missing votes
    want = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    rater, item = np.nonzero(~np.isnan(data))
    table = {
        "item": item.tolist(),
        "annotator": rater.tolist(),
        "vote": data[rater, item].astype(int).tolist(),
    }
    got = ratings.aggregate_votes(table).agreement["krippendorff_alpha"]
    assert got == pytest.approx(want, rel=1e-10)


def test_majority_reports_ties_and_annotator_agreement() -> None:
    v = {
        "item": ["a", "a", "a", "b", "b", "c"],
        "annotator": ["x", "y", "z", "x", "y", "z"],
        "vote": ["good", "good", "bad", "good", "bad", "bad"],
    }
    r = ratings.aggregate_votes(v)
    assert r.table.to_pydict() == {
        "item": ["a", "b", "c"],
        "consensus": ["good", None, "bad"],
        "support": [2 / 3, 0.5, 1.0],
        "tied": [False, True, False],
        "n_votes": [3, 2, 1],
    }
    assert r.agreement["ties"] == 1 and r.agreement["items_rated_twice"] == 2
    # x agrees on a (b is tied), y on a, z disagrees on a and agrees on c.
    assert r.annotators.to_pydict() == {
        "annotator": ["x", "y", "z"],
        "votes": [2, 2, 2],
        "agreement_with_consensus": [1.0, 1.0, 0.5],
    }


def test_mean_consensus_and_duplicate_votes() -> None:
    v = {"item": [1, 1, 2], "annotator": ["x", "y", "x"], "vote": [4, 5, 2]}
    r = ratings.aggregate_votes(v, method="mean")
    assert r.table.column("consensus").to_pylist() == [4.5, 2.0]
    with pytest.raises(
        ValueError, match="column 'annotator', row 2: this annotator already voted on this item"
    ):
        ratings.aggregate_votes(
            {"item": [1, 2, 1], "annotator": ["x", "x", "x"], "vote": [1, 1, 0]}
        )
    with pytest.raises(ValueError, match="method must be one of"):
        ratings.aggregate_votes(v, method="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="column 'vote', row 1: null value"):
        ratings.aggregate_votes({"item": [1, 1], "annotator": ["x", "y"], "vote": [1, None]})


def test_dawid_skene_recovers_truth_better_than_majority_when_raters_are_noisy() -> None:
    rng = np.random.default_rng(11)
    n_items, k = 400, 3
    truth = rng.integers(0, k, n_items)
    accuracy = [0.95, 0.9, 0.45, 0.4, 0.4]  # two good raters, three near-random ones
    item, annotator, vote = [], [], []
    for a, acc in enumerate(accuracy):
        right = rng.random(n_items) < acc
        wrong = (truth + rng.integers(1, k, n_items)) % k
        labels = np.where(right, truth, wrong)
        item += list(range(n_items))
        annotator += [a] * n_items
        vote += labels.tolist()
    table = {"item": item, "annotator": annotator, "vote": vote}
    majority = (
        ratings.aggregate_votes(table).table.column("consensus").to_numpy(zero_copy_only=False)
    )
    ds = ratings.aggregate_votes(table, method="dawid_skene")
    got = ds.table.column("consensus").to_numpy(zero_copy_only=False)
    majority_acc = np.mean([m == t for m, t in zip(majority, truth)])
    ds_acc = np.mean(got == truth)
    assert ds_acc > majority_acc + 0.05 and ds_acc > 0.9
    # Unanimous items get the unanimous label with posterior near 1.
    same = {"item": [0, 0, 1, 1], "annotator": [0, 1, 0, 1], "vote": [1, 1, 0, 0]}
    unanimous = ratings.aggregate_votes(same, method="dawid_skene")
    assert unanimous.table.column("consensus").to_pylist() == [1, 0]


def random_battles(seed: int, models: int, battles: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, models)
    a = rng.integers(0, models, battles)
    b = (a + rng.integers(1, models, battles)) % models
    p = 1 / (1 + np.exp(strength[b] - strength[a]))
    u = rng.random(battles)
    winner = np.where(u < 0.1, "tie", np.where(u < 0.1 + 0.9 * p, "model_a", "model_b"))
    names = np.array([f"m{i:02d}" for i in range(models)])
    return pa.table({"model_a": names[a], "model_b": names[b], "winner": winner})


def choix_ratings(t: pa.Table, alpha: float) -> dict[str, float]:
    """choix's MLE with ties as half wins: every battle counted twice, a tie once per side."""
    names = sorted(set(t.column("model_a").to_pylist()) | set(t.column("model_b").to_pylist()))
    code = {n: i for i, n in enumerate(names)}
    data = []
    for a, b, w in zip(*t.to_pydict().values()):
        if w == "model_a":
            data += [(code[a], code[b])] * 2
        elif w == "model_b":
            data += [(code[b], code[a])] * 2
        else:
            data += [(code[a], code[b]), (code[b], code[a])]
    theta = choix.opt_pairwise(len(names), data, alpha=2 * alpha, tol=1e-12)
    theta = theta - theta.mean()
    return dict(zip(names, theta))


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_bradley_terry_matches_choix(alpha: float) -> None:
    t = random_battles(3, 8, 600)
    want = choix_ratings(t, alpha)
    got = ratings.bradley_terry(t, alpha=alpha, scale="logit")
    for name, rating in zip(
        got.table.column("model").to_pylist(), got.table.column("rating").to_pylist()
    ):
        assert rating == pytest.approx(want[name], rel=1e-6, abs=1e-9)
    elo = ratings.bradley_terry(t, alpha=alpha, anchor=("m00", 1000.0))
    for name, rating in zip(
        elo.table.column("model").to_pylist(), elo.table.column("rating").to_pylist()
    ):
        expected = 1000.0 + 400 / np.log(10) * (want[name] - want["m00"])
        assert rating == pytest.approx(expected, rel=1e-6)
    assert elo.stats["ties"] == int(np.sum(np.array(t.column("winner").to_pylist()) == "tie"))


def test_bradley_terry_win_rate_standard_errors_and_bootstrap() -> None:
    t = random_battles(8, 5, 2000)
    r = ratings.bradley_terry(t, bootstrap=40, seed=2)
    by_model = dict(zip(r.table.column("model").to_pylist(), r.table.column("rating").to_pylist()))
    assert np.mean(list(by_model.values())) == pytest.approx(1000.0)
    p = r.win_rate("m00", "m01")
    assert p == pytest.approx(1 / (1 + 10 ** ((by_model["m01"] - by_model["m00"]) / 400)))
    assert ratings.predict_win_rate(r, ["m00", "m02"], ["m01", "m01"])[0] == pytest.approx(p)
    lo, hi = r.table.column("ci_lower").to_numpy(), r.table.column("ci_upper").to_numpy()
    rating = r.table.column("rating").to_numpy()
    assert (lo <= rating).all() and (rating <= hi).all()
    # Bootstrap spread and Fisher standard errors agree roughly (2000 battles).
    se = r.table.column("se").to_numpy()
    width = (hi - lo) / (2 * 1.96)
    assert np.all(np.abs(width / se - 1) < 0.5)
    prefcore.set_num_threads(1)
    try:
        again = ratings.bradley_terry(t, bootstrap=40, seed=2)
    finally:
        prefcore.set_num_threads(2)
    assert again.table.equals(r.table)
    assert r.table.column("rank").to_pylist() == list(range(1, 6))


def test_bradley_terry_bad_input() -> None:
    t = {"model_a": ["x", "y"], "model_b": ["y", "z"], "winner": ["model_a", "model_a"]}
    with pytest.raises(ValueError, match="model 'x' won every battle"):
        ratings.bradley_terry(t, alpha=0.0)
    with pytest.raises(ValueError, match="column 'winner', row 1: 'maybe' is not"):
        ratings.bradley_terry({**t, "winner": ["model_a", "maybe"]})
    with pytest.raises(ValueError, match="row 0: a model cannot battle itself"):
        ratings.bradley_terry({"model_a": ["x"], "model_b": ["x"], "winner": ["tie"]})
    with pytest.raises(ValueError, match="anchor 'w' is not a model"):
        ratings.bradley_terry(t, anchor=("w", 1000.0))
    dropped = ratings.bradley_terry({**t, "winner": ["tie", "model_b"]}, ties="drop")
    assert dropped.stats["ties_dropped"] == 1 and dropped.stats["models"] == 2
    # The winner's name works as well as model_a/model_b.
    by_name = ratings.bradley_terry({**t, "winner": ["x", "z"]})
    assert by_name.table.equals(
        ratings.bradley_terry({**t, "winner": ["model_a", "model_b"]}).table
    )


def test_stats_report_by_hand() -> None:
    t = {
        "prompt": ["p", "p", "q", "q"],
        "chosen": ["a long answer", "yes", "ok", "ok"],
        "rejected": ["no", "yes", "fine!", "fine!"],
    }
    s = report.stats(t)
    assert s["rows"] == 4 and s["prompts"] == 2
    assert s["chosen_longer_rate"] == 0.25
    assert s["tie_rate"] == 0.25 and s["tie_rule"] == "identical texts"
    assert s["duplicate_rate"] == 0.25
    assert s["chosen_chars"]["max"] == 13.0 and s["pairs_per_prompt"]["mean"] == 2.0
    scored = {**t, "score_chosen": [5, 3, 2, 2], "score_rejected": [1, 3, 1, 2]}
    assert report.stats(scored)["tie_rate"] == 0.5


def test_stats_counts_tokens_with_a_tokenizer() -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    s = report.stats({"prompt": ["one two"], "chosen": ["a b c"], "rejected": ["x"]}, tokenizer=tok)
    assert (
        s["prompt_tokens"]["max"] == 2
        and s["chosen_tokens"]["max"] == 3
        and s["rejected_tokens"]["max"] == 1
    )
