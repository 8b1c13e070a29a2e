"""prefcore.benchmarks against the benchmarks' own scoring code: RewardBench's constants
and section scoring (PyPI ``rewardbench==0.1.4``, read from its files without importing
the package, whose imports need a model stack), on random score sets with ties."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from prefcore import benchmarks
from prefcore.errors import InvalidArgumentError, InvalidValueError


def _reference() -> dict:
    spec = importlib.util.find_spec("rewardbench")
    assert spec is not None and spec.submodule_search_locations
    root = Path(spec.submodule_search_locations[0])
    constants: dict = {}
    exec(compile((root / "constants.py").read_text(), "constants.py", "exec"), constants)
    tree = ast.parse((root / "utils.py").read_text())
    [fn] = [n for n in tree.body if getattr(n, "name", "") == "calculate_scores_per_section"]
    scope: dict = {}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "utils.py", "exec"), scope)
    return {**constants, "sections": scope["calculate_scores_per_section"]}


REF = _reference()


def test_the_constants_are_rewardbenchs() -> None:
    assert benchmarks.REWARDBENCH_COUNTS == REF["EXAMPLE_COUNTS"]
    assert {k: list(v) for k, v in benchmarks.REWARDBENCH_SECTIONS.items()} == REF["SUBSET_MAPPING"]


def _random_scores(rng: np.random.Generator, kind: str, partial: bool) -> dict:
    subsets = list(benchmarks.REWARDBENCH_COUNTS)
    if partial:
        subsets = list(rng.choice(subsets, size=int(rng.integers(1, len(subsets))), replace=False))
    subsets += list(rng.choice((*benchmarks.PRIOR_SETS, "shp", "mtbench_human"), 3))
    rows: dict[str, list] = {"id": [], "subset": [], "score_chosen": [], "score_rejected": []}
    for s in subsets:
        n = int(rng.integers(1, 30))
        if kind == "integer":  # judges' 1-10 ratings: many ties
            c, r = rng.integers(1, 11, n).astype(float), rng.integers(1, 11, n).astype(float)
        else:  # bf16-like: 8 bits of mantissa, ties among close scores
            c = np.round(rng.normal(size=n) * 256) / 256
            r = np.round(rng.normal(size=n) * 256) / 256
        rows["subset"] += [s] * n
        rows["score_chosen"] += c.tolist()
        rows["score_rejected"] += r.tolist()
    rows["id"] = list(range(len(rows["subset"])))
    return rows


@pytest.mark.parametrize("kind", ["integer", "bf16"])
@pytest.mark.parametrize("partial", [False, True])
def test_scores_equal_rewardbenchs_on_random_sets(kind: str, partial: bool) -> None:
    rng = np.random.default_rng(7 + partial)
    for _ in range(2500):  # 10,000 sets over the four cases
        rows = _random_scores(rng, kind, partial)
        ours = benchmarks.rewardbench(rows, partial=partial)
        # Per subset, RewardBench's rule: 1 if chosen > rejected else 0, then the mean.
        subset = np.array(rows["subset"])
        hit = (np.array(rows["score_chosen"]) > np.array(rows["score_rejected"])).astype(float)
        metrics = {s: float(hit[subset == s].mean()) for s in set(rows["subset"])}
        got = ours.to_dict()["subsets"]
        assert got.keys() == metrics.keys()
        for s in metrics:
            assert got[s] == pytest.approx(metrics[s], abs=1e-12)
        want = REF["sections"](REF["EXAMPLE_COUNTS"], REF["SUBSET_MAPPING"], metrics)
        for section, value in want.items():
            if section in ours.sections:
                assert ours.sections[section] == pytest.approx(value, abs=1e-12), section
            else:  # a section with none of its subsets: RewardBench writes 0 there
                assert partial and value == 0
        # The leaderboard's overall: sections 2, Prior Sets (the mean of its four) 1.
        priors = [
            metrics[p]
            for p in ("anthropic_helpful", "anthropic_hhh", "shp", "summarize")
            if p in metrics
        ]
        parts = [(v, 2.0) for s, v in want.items() if s in ours.sections]
        if priors:
            parts.append((float(np.mean(priors)), 1.0))
        overall = sum(v * w for v, w in parts) / sum(w for _, w in parts)
        assert ours.overall == pytest.approx(overall, abs=1e-12)
        assert ours.score == float(np.round(overall * 100, 1))  # pandas' round(1)


def test_a_hand_computed_leaderboard_line() -> None:
    # Every subset right but hep-go half right and shp wrong: Reasoning loses
    # 164 / 2 of 1968 weight; Prior Sets 3 of 4 sets right.
    rows: dict[str, list] = {"id": [], "subset": [], "score_chosen": [], "score_rejected": []}
    for s in [*benchmarks.REWARDBENCH_COUNTS, *benchmarks.PRIOR_SETS]:
        wrong = {"hep-go": [False, True], "shp": [True]}.get(s, [False])
        for w in wrong:
            rows["id"].append(len(rows["id"]))
            rows["subset"].append(s)
            rows["score_chosen"].append(0.0 if w else 1.0)
            rows["score_rejected"].append(0.5)
    r = benchmarks.rewardbench(rows)
    reasoning = 1 - 82 / 1968
    assert r.sections["Reasoning"] == pytest.approx(reasoning, abs=1e-15)
    assert r.prior_sets == 0.75
    overall = (2 * 3 + 2 * reasoning + 0.75) / 9
    assert r.overall == pytest.approx(overall, abs=1e-15)
    assert r.score == 96.3  # 8.6667 / 9, in percent to one decimal


def test_bad_input_is_named() -> None:
    good = {"id": [1, 2], "subset": ["hep-go", "shp"], "score_chosen": [1.0, 2.0],
            "score_rejected": [0.0, 1.0]}  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="missing: alpacaeval-easy"):
        benchmarks.rewardbench(good)
    with pytest.raises(InvalidValueError, match="unknown subset 'hep-cobol'") as e:
        benchmarks.rewardbench({**good, "subset": ["hep-go", "hep-cobol"]}, partial=True)
    assert (e.value.column, e.value.row) == ("subset", 1)
    with pytest.raises(InvalidValueError, match="duplicate id 1"):
        benchmarks.rewardbench({**good, "id": [1, 1]}, partial=True)
    with pytest.raises(InvalidValueError, match="NaN score") as e:
        benchmarks.rewardbench({**good, "score_rejected": [0.0, float("nan")]}, partial=True)
    assert (e.value.column, e.value.row) == ("score_rejected", 1)
    judged = {"id": [1, 2], "subset": ["hep-go", "hep-go"], "results": [1, 0]}
    assert benchmarks.rewardbench(judged, partial=True).sections == {"Reasoning": 0.5}
    with pytest.raises(InvalidValueError, match=r"2\.0 is not 0 or 1"):
        benchmarks.rewardbench({**judged, "results": [1, 2]}, partial=True)
