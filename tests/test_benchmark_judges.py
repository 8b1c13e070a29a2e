"""Judge reliability and paired statistics: agreement against FastChat's own MT-Bench
agreement code (PyPI ``fschat``), McNemar against scipy's exact binomial test, Holm and
position consistency by hand, the bootstrap against a row-resampling bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from fastchat.llm_judge import compute_agreement as fastchat
from scipy import stats

from prefcore import benchmarks
from prefcore.errors import InvalidArgumentError, InvalidValueError

VERDICTS = ["model_a", "model_b", "tie", "tie (bothbad)"]


def _votes(rng: np.random.Generator) -> list[dict]:
    models = ["alpha", "beta", "gamma", "delta"]
    votes = []
    for q in range(int(rng.integers(1, 15))):
        for _ in range(int(rng.integers(1, 4))):
            a, b = rng.choice(models, 2, replace=False)
            turn = int(rng.integers(1, 3))
            # FastChat asserts one gpt-4 vote per key: at most one here
            if rng.random() < 0.8 and not any(
                v["judge"][0] == "gpt-4"
                and v["question_id"] == q
                and v["turn"] == turn
                and {v["model_a"], v["model_b"]} == {a, b}
                for v in votes
            ):
                votes.append(
                    {
                        "question_id": q,
                        "model_a": a,
                        "model_b": b,
                        "turn": turn,
                        "judge": ["gpt-4", "pair-v2"],
                        "winner": str(rng.choice(VERDICTS)),
                    }
                )
            for h in range(int(rng.integers(0, 4))):
                x, y = (a, b) if rng.random() < 0.5 else (b, a)
                votes.append(
                    {
                        "question_id": q,
                        "model_a": x,
                        "model_b": y,
                        "turn": turn,
                        "judge": f"expert_{h}",
                        "winner": str(rng.choice(VERDICTS)),
                    }
                )
    return votes


def _ours(votes: list[dict], judge: str, reference: str) -> dict:
    table = {
        "judge": ["gpt4-pair" if isinstance(v["judge"], list) else "human" for v in votes],
        **{
            k: [v[k] for v in votes]
            for k in ("question_id", "model_a", "model_b", "turn", "winner")
        },
    }
    return benchmarks.judge_agreement(table, judge=judge, reference=reference).to_dict()


@pytest.mark.parametrize("pair", [("gpt4-pair", "human"), ("human", "human")])
def test_agreement_equals_fastchats(pair: tuple[str, str]) -> None:
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(300):
        votes = _votes(rng)
        if not any(isinstance(v["judge"], list) for v in votes) or not any(
            isinstance(v["judge"], str) for v in votes
        ):
            continue
        data = fastchat.get_mt_bench_votes_data([votes])
        ours = _ours(votes, *pair)
        for turn in (1, 2):
            want = fastchat.get_mt_bench_agreement(data[turn - 1], *pair, ban=[])
            want_nt = fastchat.get_mt_bench_agreement(data[turn - 1], *pair, ban=["tie"])
            got = ours.get(
                turn, {"agree": 0, "total": 0, "agree_without_ties": 0, "total_without_ties": 0}
            )
            assert (got["agree"], got["total"]) == want
            assert (got["agree_without_ties"], got["total_without_ties"]) == want_nt
            checked += want[1] > 0
    assert checked > 100


def test_position_consistency_by_hand() -> None:
    rows = {
        "winner": ["model_a", "model_b", "model_a", "model_a", "tie", "model_b", "tie (bothbad)"],
        "winner_swapped": ["model_a", "model_b", "model_b", "tie", "tie", "model_a", "tie"],
    }
    r = benchmarks.position_consistency(rows)
    # consistent: rows 0, 1, 4, 6; first position both times: row 2; second: row 5
    assert (r.consistency, r.first_position, r.second_position) == (4 / 7, 1 / 7, 1 / 7)
    assert r.other == pytest.approx(1 / 7, abs=1e-15) and r.bias == 0.0 and r.pairs == 7
    with pytest.raises(InvalidValueError, match="verdict 'A>B' is not") as e:
        benchmarks.position_consistency({**rows, "winner_swapped": ["A>B"] * 7})
    assert (e.value.column, e.value.row) == ("winner_swapped", 0)


def test_mcnemar_and_holm_against_references() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        a, b = (int(v) for v in rng.integers(0, 400, 2))
        want = stats.binomtest(min(a, b), a + b, 0.5).pvalue if a + b else 1.0
        assert benchmarks.mcnemar(a, b) == pytest.approx(want, rel=1e-9, abs=1e-300)
    # Holm by hand: sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04 -> monotone
    assert benchmarks.holm([0.04, 0.01, 0.03]).tolist() == pytest.approx([0.06, 0.03, 0.06])


def test_paired_bootstrap_matches_row_resampling_and_the_tests() -> None:
    rng = np.random.default_rng(8)
    subsets = list(benchmarks.REWARDBENCH_COUNTS)
    rows_a: dict[str, list] = {"id": [], "subset": [], "results": []}
    rows_b: dict[str, list] = {"id": [], "subset": [], "results": []}
    for s in subsets:
        n = int(rng.integers(20, 60))
        ra, rb = rng.random(n) < 0.8, rng.random(n) < 0.7
        for i in range(n):
            for rows, r in ((rows_a, ra), (rows_b, rb)):
                rows["id"].append(f"{s}/{i}")
                rows["subset"].append(s)
                rows["results"].append(int(r[i]))
    order = rng.permutation(len(rows_b["id"]))  # B in another order: aligned by id
    rows_b = {k: [v[i] for i in order] for k, v in rows_b.items()}
    r = benchmarks.paired(rows_a, rows_b, bootstrap=4000, seed=1).to_dict()
    score_a = benchmarks.rewardbench(rows_a).overall
    score_b = benchmarks.rewardbench(rows_b).overall
    assert r["overall"]["difference"] == pytest.approx(score_a - score_b, abs=1e-12)
    assert r["Chat"]["accuracy_a"] == pytest.approx(benchmarks.rewardbench(rows_a).sections["Chat"])
    # the interval of a plain row bootstrap of the overall difference, within noise
    by_id_b = dict(zip(rows_b["id"], rows_b["results"]))
    subset = np.array(rows_a["subset"])
    diff = np.array(rows_a["results"]) - np.array([by_id_b[i] for i in rows_a["id"]])
    weights = {s: w for s, w in _overall_weights(subsets).items()}
    draws = []
    for _ in range(2000):
        total = 0.0
        for s in subsets:
            d = diff[subset == s]
            total += weights[s] * d[rng.integers(0, len(d), len(d))].mean()
        draws.append(total)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    assert r["overall"]["lower"] == pytest.approx(lo, abs=0.006)
    assert r["overall"]["upper"] == pytest.approx(hi, abs=0.006)
    # McNemar per subset, Holm across them
    first = subsets[0]
    mask = subset == first
    only_a, only_b = int((diff[mask] > 0).sum()), int((diff[mask] < 0).sum())
    assert (r[first]["only_a"], r[first]["only_b"]) == (only_a, only_b)
    assert r[first]["p_value"] == pytest.approx(
        stats.binomtest(min(only_a, only_b), only_a + only_b).pvalue
    )
    p = [r[s]["p_value"] for s in subsets]
    assert [r[s]["p_holm"] for s in subsets] == pytest.approx(benchmarks.holm(p).tolist())


def _overall_weights(subsets: list[str]) -> dict[str, float]:
    """Each subset's weight in RewardBench's overall score (no prior sets: the four
    sections weigh the same), by hand from the example counts."""
    out = {}
    for members in benchmarks.REWARDBENCH_SECTIONS.values():
        total = sum(benchmarks.REWARDBENCH_COUNTS[m] for m in members)
        for m in members:
            out[m] = benchmarks.REWARDBENCH_COUNTS[m] / total / 4
    return out


def test_paired_bad_input_is_named() -> None:
    a = {"id": [1, 2], "subset": ["x", "x"], "results": [1, 0]}
    with pytest.raises(InvalidValueError, match="same ids; 2 is not in both"):
        benchmarks.paired(a, {**a, "id": [1, 3]}, benchmark="subsets")
    with pytest.raises(InvalidValueError, match="'x' is not a RewardBench subset"):
        benchmarks.paired(a, a)
    with pytest.raises(InvalidArgumentError, match="benchmark must be one of"):
        benchmarks.paired(a, a, benchmark="mmlu")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="judge 'claude' has no votes"):
        benchmarks.judge_agreement(
            {
                "judge": ["gpt4"],
                "question_id": [1],
                "model_a": ["x"],
                "model_b": ["y"],
                "winner": ["tie"],
            },
            judge="claude",
            reference="gpt4",
        )
