"""Every SIMD variant the CPU runs gives the same results as every other.

The kernels (grouped metrics' label scan and rank order, TREC average precision,
integer label widening, all_pairs masks, MinHash permutations) are compiled for x86-64's
baseline, AVX2 and AVX-512; `PREFCORE_SIMD` / `force_simd_level` pin one. Each case
below is computed at every level the CPU supports, and compared with the baseline's
result and with an independent reference where one is cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import prefcore
from prefcore import dedup, metrics, pairs

LEVELS = prefcore.simd_levels()


@pytest.fixture(autouse=True)
def _restore_level() -> Iterator[None]:
    yield
    prefcore.force_simd_level(None)


def at_each_level(compute: Callable[[], Any]) -> dict[str, Any]:
    out = {}
    for level in LEVELS:
        prefcore.force_simd_level(level)
        assert prefcore.simd_level() == level
        out[level] = compute()
    return out


def assert_all_equal(results: dict[str, Any]) -> None:
    base = results["baseline"]
    for level, got in results.items():
        if isinstance(base, np.ndarray):
            np.testing.assert_array_equal(got, base, err_msg=level)
        else:
            assert got == base, level


def test_the_cpu_runs_the_baseline_and_the_detected_level_is_the_default() -> None:
    assert LEVELS[0] == "baseline"
    assert set(LEVELS) <= {"baseline", "avx2", "avx512"}
    assert prefcore.simd_level() == LEVELS[-1]


def grouped_case(seed: int, n_groups: int, width: int, integer_labels: bool) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, width, n_groups)
    scores = [rng.choice([0.0, -0.0, 0.5, 1.0, 2.5, np.inf], n).tolist() for n in lengths[:5]]
    scores += [rng.normal(size=n).round(2).tolist() for n in lengths[5:]]
    if integer_labels:
        labels = pa.array([rng.integers(0, 4, n).tolist() for n in lengths], pa.list_(pa.int64()))
    else:
        labels = pa.array([(rng.integers(0, 7, n) * 0.5).tolist() for n in lengths])
    return pa.array(scores, pa.list_(pa.float64())), labels


METRICS = ["ndcg", "ndcg@5", "ndcg_burges@10", "map", "map@10", "mrr", "P@3", "recall@20", "Rprec"]


@pytest.mark.parametrize("integer_labels", [False, True])
@pytest.mark.parametrize("ties", ["stable", "average"])
def test_grouped_metrics_are_identical_at_every_level(integer_labels: bool, ties: str) -> None:
    # Widths up to 600 reach the bucketed rank order (long lists) and the tails of
    # every vector width.
    scores, labels = grouped_case(3, 400, 600, integer_labels)

    # Tie averaging is defined for the metrics linear in the ranked labels only.
    names = METRICS if ties == "stable" else ["ndcg", "ndcg@5", "ndcg_burges@10", "P@3", "Rprec"]

    def compute() -> dict[str, list[float]]:
        table = metrics.evaluate_grouped(scores, labels, names, per_group=True, ties=ties)
        return {m: table.column(m).to_pylist() for m in names}

    results = at_each_level(compute)
    assert_all_equal(results)
    # One hand-checkable anchor: a perfect ranking has nDCG 1 at every level.
    for level in LEVELS:
        prefcore.force_simd_level(level)
        assert metrics.evaluate_grouped([[3.0, 2.0, 1.0]], [[2, 1, 0]], "ndcg") == {"ndcg": 1.0}


def test_trec_metrics_are_identical_at_every_level() -> None:
    rng = np.random.default_rng(5)
    rows = [
        (q, d, float(rng.normal())) for q in range(30) for d in range(int(rng.integers(1, 300)))
    ]
    run = pa.table(
        {
            "query_id": [str(q) for q, _, _ in rows],
            "doc_id": [f"d{d}" for _, d, _ in rows],
            "score": [s for _, _, s in rows],
        }
    )
    judged = [r for r in rows if rng.random() < 0.5]
    qrels = pa.table(
        {
            "query_id": [str(q) for q, _, _ in judged],
            "doc_id": [f"d{d}" for _, d, _ in judged],
            "relevance": rng.integers(0, 3, len(judged)).tolist(),
        }
    )
    measures = ["map", "ndcg", "P@10", "recip_rank", "bpref"]
    results = at_each_level(lambda: metrics.evaluate(run, qrels, measures))
    assert_all_equal(results)


@pytest.mark.parametrize("ties", ["drop", "keep"])
@pytest.mark.parametrize("min_margin", [0.0, 0.75])
def test_all_pairs_are_identical_at_every_level(ties: str, min_margin: float) -> None:
    rng = np.random.default_rng(11)
    # Group sizes around the 4-, 8- and 64-wide block edges, with ties and infinities.
    sizes = [2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 130, *rng.integers(2, 90, 40).tolist()]
    pool = np.array([0.0, -0.0, 1.0, 1.5, 3.0, np.inf, -np.inf])
    table = pa.table(
        {
            "prompt": [f"p{i}" for i in range(len(sizes))],
            "completions": [[f"c{j}" for j in range(n)] for n in sizes],
            "scores": [pool[rng.integers(0, len(pool), n)].tolist() for n in sizes],
        }
    )

    def compute() -> list[tuple[str, str, str]]:
        out = pairs.from_scores(table, strategy="all_pairs", min_margin=min_margin, ties=ties)
        t = out.table
        return list(
            zip(
                t.column("prompt").to_pylist(),
                t.column("chosen").to_pylist(),
                t.column("rejected").to_pylist(),
            )
        )

    results = at_each_level(compute)
    assert_all_equal(results)
    # Independent count: pairs of each group whose scores pass the rules.
    want = 0
    for s in table.column("scores").to_pylist():
        for i in range(len(s)):
            for j in range(i + 1, len(s)):
                tie = s[i] == s[j]
                d = 0.0 if tie else abs(s[i] - s[j])
                want += d >= min_margin and (not tie or ties == "keep")
    assert len(results["baseline"]) == want


def test_minhash_signatures_are_identical_at_every_level() -> None:
    words = "the quick brown fox jumps over a lazy dog while cats sleep".split()
    rng = np.random.default_rng(2)
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 40)))) for _ in range(300)]
    results = at_each_level(lambda: dedup.signatures(texts, num_perm=70, ngram=2))
    assert_all_equal(results)


def _in_subprocess(level: str, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFCORE_SIMD": level}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_environment_variable_selects_the_level_at_import() -> None:
    code = (
        "import json, prefcore\n"
        "from prefcore import metrics\n"
        "r = metrics.evaluate_grouped([[0.3, 0.9, 0.1, 0.5]], [[1, 0, 2, 1]], ['ndcg', 'map'])\n"
        "print(json.dumps([prefcore.simd_level(), r]))"
    )
    seen = {}
    for level in [*LEVELS, "AUTO", ""]:
        proc = _in_subprocess(level, code)
        assert proc.returncode == 0, proc.stderr
        seen[level] = json.loads(proc.stdout)
    for level in LEVELS:
        assert seen[level][0] == level
    assert seen["AUTO"][0] == seen[""][0] == LEVELS[-1]
    assert len({json.dumps(v[1]) for v in seen.values()}) == 1


def test_an_unknown_or_unsupported_level_is_refused_by_name() -> None:
    proc = _in_subprocess("sse9", "import prefcore")
    assert proc.returncode != 0
    assert "PREFCORE_SIMD=sse9: unknown SIMD level" in proc.stderr
    with pytest.raises(ValueError, match="unknown SIMD level"):
        prefcore.force_simd_level("neon")
    for level in {"avx2", "avx512"} - set(LEVELS):
        with pytest.raises(ValueError, match=f"does not run the {level} kernels"):
            prefcore.force_simd_level(level)
        proc = _in_subprocess(level, "import prefcore")
        assert f"does not run the {level} kernels" in proc.stderr
