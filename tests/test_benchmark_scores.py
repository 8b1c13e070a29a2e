"""RewardBench 2, RM-Bench and AlpacaEval scores against the benchmarks' own code:
``rewardbench==0.1.4`` and ``alpaca-eval`` from PyPI (their scoring functions read from
the installed files), and the answers of the repositories' heads recorded by
tests/data/benchmarks/record.py on the same random sets."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from benchmark_cases import functions, rm_bench_set, scores, ties_set

from prefcore import benchmarks
from prefcore.errors import InvalidArgumentError, InvalidValueError

with gzip.open(Path(__file__).parent / "data" / "benchmarks" / "references.json.gz", "rt") as _f:
    RECORDED = json.load(_f)
#: The order of RM-Bench's keys in each recorded row (tests/data/benchmarks/record.py).
RM_KEYS = ("chat", "math", "code", "safety", "hard_acc", "normal_acc", "easy_acc", "total_avg_acc")


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0], *parts)


def _release() -> dict[str, Any]:
    import pandas as pd
    from datasets import Dataset

    scope = {"np": np, "math": math, "defaultdict": defaultdict, "Dataset": Dataset, "pd": pd}
    return functions(
        _package_file("rewardbench", "utils.py"),
        "sample_stats",
        "process_single_model",
        "reroll_and_score_dataset",
        scope=scope,
    )


RELEASE = _release()


def _ties_rows(rows: list[dict[str, Any]]) -> dict[str, list]:
    return {
        "id": [r["id"] for r in rows],
        "subset": ["Ties"] * len(rows),
        "scores": [r["scores"] for r in rows],
        "num_correct": [r["num_correct"] for r in rows],
    }


def _ties(rows: list[dict[str, Any]], impl: str) -> float:
    """prefcore's Ties score; a warning is expected exactly when no ref and tied
    prompt share a number."""
    numbers = [
        {r["id"].split(":")[1] for r in rows if r["id"].startswith(k)} for k in ("ref", "tied")
    ]
    if numbers[0] & numbers[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = benchmarks.rewardbench2(_ties_rows(rows), partial=True, ties_impl=impl)  # type: ignore[arg-type]
    else:
        with pytest.warns(UserWarning, match="share a number"):
            got = benchmarks.rewardbench2(_ties_rows(rows), partial=True, ties_impl=impl)  # type: ignore[arg-type]
    return got.ties["score"]


def test_ties_equals_the_heads_on_recorded_sets() -> None:
    assert len(RECORDED["ties_head"]) == 10_000
    for seed, want in enumerate(RECORDED["ties_head"]):
        got = _ties(ties_set(seed), "head")
        assert got == pytest.approx(want, abs=1e-12, nan_ok=True), seed


def test_ties_equals_the_release_on_random_sets() -> None:
    for seed in range(5000):
        rows = ties_set(seed)
        with np.errstate(all="ignore"):
            _, want = RELEASE["process_single_model"](rows)
        assert _ties(rows, "0.1.4") == pytest.approx(want, abs=1e-12, nan_ok=True), seed


def test_the_two_ties_versions_differ_only_where_correct_answers_tie() -> None:
    # tied:0's two correct answers tie (spread 0): the head counts tanh(+inf) = 1 in
    # the margin term, the release leaves the prompt out of it (no other: 0).
    rows = [
        {"id": "ref:0", "scores": [5.0, 1.0], "num_correct": 1},
        {"id": "tied:0", "scores": [4.0, 4.0, 2.0], "num_correct": 2},
    ]
    head = benchmarks.rewardbench2(_ties_rows(rows), partial=True).ties
    release = benchmarks.rewardbench2(_ties_rows(rows), partial=True, ties_impl="0.1.4").ties
    assert head["margin_score"] == 1.0 and release["margin_score"] == 0.0
    assert head["score"] - release["score"] == pytest.approx(0.01, abs=1e-15)
    with np.errstate(all="ignore"):
        assert RELEASE["process_single_model"](rows)[1] == pytest.approx(
            release["score"], abs=1e-15
        )
    # A Ties prompt without an incorrect answer: the release counts it inaccurate, the
    # head cannot score it (max of nothing); prefcore says so by row.
    rows.append({"id": "ref:1", "scores": [3.0], "num_correct": 1})
    with np.errstate(all="ignore"):
        want = RELEASE["process_single_model"](rows)[1]
    got = benchmarks.rewardbench2(_ties_rows(rows), partial=True, ties_impl="0.1.4")
    assert got.ties["score"] == pytest.approx(want, abs=1e-15)
    with pytest.raises(InvalidValueError, match="without an incorrect answer") as e:
        benchmarks.rewardbench2(_ties_rows(rows), partial=True)
    assert e.value.row == 2


def test_best_of_n_equals_the_release_per_prompt() -> None:
    from datasets import Dataset

    rng = np.random.default_rng(3)
    for kind in ("integer", "bf16"):
        sizes = rng.integers(2, 7, 5000)
        per_prompt = [scores(rng, int(n), kind) for n in sizes]
        subset = rng.choice(["Factuality", "Math", "Focus"], len(sizes)).tolist()
        flat = {
            "scores": [s for group in per_prompt for s in group],
            "text": [""] * int(sizes.sum()),
            "subset": [s for s, n in zip(subset, sizes) for _ in range(n)],
            "id": [i for i, n in enumerate(sizes) for _ in range(n)],
        }
        want = RELEASE["reroll_and_score_dataset"](Dataset.from_dict(flat), sizes.tolist())
        got = benchmarks.rewardbench2(
            {"id": list(range(len(sizes))), "subset": subset, "scores": per_prompt}, partial=True
        )
        assert got.prompts.column("result").to_pylist() == pytest.approx(want["results"], abs=1e-15)
        for name, value in got.to_dict()["subsets"].items():
            mine = [r for r, s in zip(want["results"], subset) if s == name]
            assert value == pytest.approx(sum(mine) / len(mine), abs=1e-12)


def test_rewardbench2_long_rows_and_the_overall_mean() -> None:
    # One row per completion, in any order; Ties beside the five others.
    subsets = [s for s in benchmarks.REWARDBENCH2_SUBSETS if s != "Ties"]
    rows: dict[str, list] = {"id": [], "subset": [], "score": [], "correct": []}
    for i, s in enumerate(subsets):  # prompt i: the correct answer ties with i others
        for k in range(4):
            rows["id"].append(f"p{i}")
            rows["subset"].append(s)
            rows["score"].append(1.0 if k <= min(i, 3) else 0.0)
            rows["correct"].append(k == 0)
    for pid, values, right in (("ref:0", [3.0, 1.0], 1), ("tied:0", [4.0, 3.5, 3.0], 2)):
        for k, v in enumerate(values):
            rows["id"].append(pid)
            rows["subset"].append("Ties")
            rows["score"].append(v)
            rows["correct"].append(k < right)
    order = np.random.default_rng(0).permutation(len(rows["id"]))
    shuffled = {k: [v[i] for i in order] for k, v in rows.items()}
    r = benchmarks.rewardbench2(shuffled)
    by_subset = r.to_dict()["subsets"]
    assert [by_subset[s] for s in subsets] == [1.0, 0.5, 1 / 3, 0.25, 0.25]
    # Ties by hand: both accurate; tied margin 3.5 - 3.0 = 0.5 > spread 0.5? no;
    # hard: min(2.0, 0.5) > 0.5? no; margin term tanh(0.5 / 0.5 - 1) = 0.
    assert r.ties["score"] == pytest.approx(0.6, abs=1e-15)
    assert r.overall == pytest.approx((1 + 0.5 + 1 / 3 + 0.25 + 0.25 + 0.6) / 6, abs=1e-15)
    assert r.score == round(r.overall * 100, 1)


def test_rewardbench2_bad_input_is_named() -> None:
    good = {"id": ["a"], "subset": ["Math"], "scores": [[1.0, 0.0]]}
    with pytest.raises(InvalidArgumentError, match="missing: Factuality"):
        benchmarks.rewardbench2(good)
    with pytest.raises(InvalidValueError, match="unknown subset 'Maths'"):
        benchmarks.rewardbench2({**good, "subset": ["Maths"]}, partial=True)
    with pytest.raises(InvalidValueError, match="NaN score") as e:
        benchmarks.rewardbench2(
            {
                **good,
                "id": ["a", "b"],
                "subset": ["Math"] * 2,
                "scores": [[1.0], [0.0, float("nan")]],
            },
            partial=True,
        )
    assert (e.value.column, e.value.row) == ("scores", 1)
    with pytest.raises(InvalidValueError, match="duplicate id"):
        benchmarks.rewardbench2(
            {**good, "id": ["a", "a"], "subset": ["Math"] * 2, "scores": [[1.0], [0.0]]},
            partial=True,
        )
    with pytest.raises(InvalidValueError, match="'ref:<n>' or 'tied:<n>'"):
        benchmarks.rewardbench2({**good, "subset": ["Ties"]}, partial=True)
    with pytest.raises(InvalidArgumentError, match=r"ties_impl must be one of 'head', '0\.1\.4'"):
        benchmarks.rewardbench2(good, partial=True, ties_impl="0.1.5")  # type: ignore[arg-type]


def _rm_rows(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows)


def test_rm_bench_equals_the_heads_on_recorded_sets() -> None:
    assert len(RECORDED["rm_bench"]) == 10_000
    for seed, want in enumerate(RECORDED["rm_bench"]):
        got = benchmarks.rm_bench(_rm_rows(rm_bench_set(seed))).to_dict()
        for key, value in zip(RM_KEYS, want):
            assert got[key] == pytest.approx(value, abs=1e-12), (seed, key)


def test_rm_bench_by_hand_and_bad_input() -> None:
    rows = [
        {
            "domain": d,
            "score_chosen": [2.0, 2.0, 2.0],
            "score_rejected": [1.0, 3.0, 2.0],
            "length_chosen": [10, 50, 60],
            "length_rejected": [12, 40, 70],
        }
        for d in ("chat", "code", "math", "safety-refuse")
    ]
    r = benchmarks.rm_bench(pa.Table.from_pylist(rows))
    # every chosen 2.0 beats only the rejected 1.0 (column 0)
    assert r.matrices["chat"].tolist() == [[1, 0, 0]] * 3
    assert (r.hard, r.normal, r.easy) == (0.0, 1 / 3, 2 / 3)
    assert r.total == pytest.approx(1 / 3, abs=1e-15) and r.score == 33.3
    # longer wins: chosen lengths 10/50/60 vs rejected 12/40/70 -> row 1: 50 > 12, 40
    longer = [[0, 0, 0], [1, 1, 0], [1, 1, 0]]
    assert r.baselines["longer"] == round(np.mean(longer) * 100, 1)
    with pytest.raises(InvalidValueError, match="unknown domain 'legal'"):
        benchmarks.rm_bench(_rm_rows([{**rows[0], "domain": "legal"}]), partial=True)
    with pytest.raises(InvalidValueError, match="2 scores where 3 are expected") as e:
        benchmarks.rm_bench(
            _rm_rows([rows[0], {**rows[1], "score_chosen": [1.0, 2.0]}]), partial=True
        )
    assert (e.value.column, e.value.row) == ("score_chosen", 1)
    with pytest.raises(InvalidArgumentError, match="missing: safety"):
        benchmarks.rm_bench(_rm_rows(rows[:3]))


def test_the_tables_users_hold_score_the_same() -> None:
    import datasets
    import pandas as pd
    import polars as pl

    rng = np.random.default_rng(12)
    subsets = [s for s in benchmarks.REWARDBENCH_COUNTS for _ in range(4)]
    n = len(subsets)
    rows = {"id": list(range(n)), "subset": subsets,
            "score_chosen": rng.integers(0, 5, n).astype(float).tolist(),
            "score_rejected": rng.integers(0, 5, n).astype(float).tolist()}  # fmt: skip
    want = benchmarks.rewardbench(rows).to_dict()
    table = pa.table(rows)
    views = {
        "polars Categorical": pl.DataFrame(rows).with_columns(
            pl.col("subset").cast(pl.Categorical)
        ),
        "polars string_view": pl.DataFrame(rows),  # polars exports strings as string_view
        "pandas category": pd.DataFrame(rows).astype({"subset": "category"}),
        "multi-chunk": pa.concat_tables([table.slice(0, 7), table.slice(7, 30), table.slice(37)]),
        # shuffled then filtered: the rows the user sees, in their order
        "datasets view": datasets.Dataset.from_dict({**rows, "keep": [True] * n})
        .shuffle(seed=0)
        .filter(lambda r: r["keep"]),
    }
    for name, view in views.items():
        got = benchmarks.rewardbench(view).to_dict()
        assert got["sections"] == pytest.approx(want["sections"], abs=1e-15), name
        assert got["subsets"] == pytest.approx(want["subsets"], abs=1e-15), name
    # a filter that drops rows: the score of the rows kept
    kept = [i for i in range(n) if i % 7 or subsets[i] != subsets[i - 1]]
    dropped = datasets.Dataset.from_dict({**rows, "keep": [i in set(kept) for i in range(n)]})
    view = dropped.shuffle(seed=1).filter(lambda r: r["keep"])
    want_kept = benchmarks.rewardbench({k: [v[i] for i in kept] for k, v in rows.items()})
    assert benchmarks.rewardbench(view).overall == pytest.approx(want_kept.overall, abs=1e-15)
    # list columns from polars: RewardBench 2 and RM-Bench
    lists = {"id": ["a", "b"], "subset": ["Math", "Math"], "scores": [[2.0, 1.0], [0.0, 3.0, 1.0]]}
    assert benchmarks.rewardbench2(pl.DataFrame(lists), partial=True).overall == 0.5
    rm = {
        "domain": ["chat"],
        "score_chosen": [[1.0, 2.0, 3.0]],
        "score_rejected": [[2.5, 2.5, 2.5]],
    }
    assert benchmarks.rm_bench(pl.DataFrame(rm), partial=True).to_dict()["chat"] == pytest.approx(
        1 / 3
    )
