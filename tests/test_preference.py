"""Reward-model accuracy, calibration and paired significance tests against
independent references (hand counts, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from prefcore.metrics import calibration, compare, pairwise_accuracy


def test_accuracy_is_rewardbench_strictly_greater() -> None:
    rng = np.random.default_rng(0)
    c = rng.integers(0, 5, 1000).astype(float)
    r = rng.integers(0, 5, 1000).astype(float)
    res = pairwise_accuracy(c, r)
    assert res.accuracy == pytest.approx(np.mean(c > r))
    assert res.ties == int(np.sum(c == r))
    half = pairwise_accuracy(c, r, ties="half")
    assert half.accuracy == pytest.approx(np.mean((c > r) + 0.5 * (c == r)))
    drop = pairwise_accuracy(c, r, ties="drop")
    assert drop.count == int(np.sum(c != r))
    assert drop.accuracy == pytest.approx(np.mean((c > r)[c != r]))


def test_per_subset_and_weighted_total() -> None:
    c = [1.0, 0.0, 1.0, 1.0, 0.0]
    r = [0.0, 1.0, 0.0, 0.0, 1.0]
    subsets = ["chat", "chat", "safety", "safety", "safety"]
    res = pairwise_accuracy(c, r, subsets=subsets, weights={"chat": 1.0, "safety": 1.0})
    assert res.by_subset is not None
    table = res.by_subset.to_pydict()
    assert table["subset"] == ["chat", "safety"]
    assert table["accuracy"] == pytest.approx([0.5, 2 / 3])
    assert res.weighted == pytest.approx((0.5 + 2 / 3) / 2)
    assert res.accuracy == pytest.approx(3 / 5)


def test_calibration_against_a_direct_computation() -> None:
    rng = np.random.default_rng(1)
    c = rng.normal(0.5, 1.0, 2000)
    r = rng.normal(0.0, 1.0, 2000)
    res = calibration(c, r, n_bins=10, scale=2.0)
    p = 1 / (1 + np.exp(-2.0 * (c - r)))
    probs = np.concatenate([p, 1 - p])
    wins = np.concatenate([np.ones_like(p), np.zeros_like(p)])
    bins = np.minimum((probs * 10).astype(int), 9)
    ece = sum(
        np.sum(bins == b) / probs.size * abs(wins[bins == b].mean() - probs[bins == b].mean())
        for b in range(10)
        if np.any(bins == b)
    )
    assert res.ece == pytest.approx(ece, abs=1e-12)
    assert res.brier == pytest.approx(np.mean((1 - p) ** 2))
    assert res.bins.column("count").to_pylist() == [int(np.sum(bins == b)) for b in range(10)]


def test_t_test_equals_scipy() -> None:
    rng = np.random.default_rng(2)
    a = rng.uniform(size=50)
    b = a - rng.normal(0.03, 0.1, size=50)
    res = compare(a, b, test="t")
    want = stats.ttest_rel(a, b)
    assert res.statistic == pytest.approx(want.statistic, rel=1e-10)
    assert res.p_value == pytest.approx(want.pvalue, rel=1e-8)
    d = a - b
    assert res.effect_size == pytest.approx(d.mean() / d.std(ddof=1))


def test_randomization_matches_exact_enumeration() -> None:
    """With 8 queries all 256 sign flips can be enumerated; a large random sample of
    flips must land close to the exact permutation p-value."""
    a = np.array([0.9, 0.7, 0.8, 0.6, 0.75, 0.5, 0.65, 0.7])
    b = np.array([0.6, 0.72, 0.5, 0.55, 0.7, 0.52, 0.5, 0.6])
    d = a - b
    signs = np.array([[1 if (m >> i) & 1 else -1 for i in range(8)] for m in range(256)])
    exact = np.mean(np.abs((signs * d).mean(axis=1)) >= abs(d.mean()) - 1e-12)
    res = compare(a, b, test="randomization", n_resamples=20000, seed=3)
    assert res.p_value == pytest.approx(exact, abs=0.01)
    again = compare(a, b, test="randomization", n_resamples=20000, seed=3)
    assert again.p_value == res.p_value


def test_bootstrap_is_seeded_and_detects_a_clear_difference() -> None:
    rng = np.random.default_rng(4)
    a = rng.uniform(size=40)
    res = compare(a + 0.2, a + rng.normal(0, 0.01, 40), test="bootstrap", n_resamples=5000, seed=9)
    assert res.p_value < 0.001
    same = compare(a, a + rng.normal(0, 0.05, 40), test="bootstrap", n_resamples=5000, seed=9)
    assert same.p_value > 0.01
    assert (
        compare(a, a + 0.01, test="bootstrap", seed=1).p_value
        == compare(a, a + 0.01, test="bootstrap", seed=1).p_value
    )


def test_compare_aligns_per_query_tables_by_id() -> None:
    import pyarrow as pa

    ta = pa.table({"query_id": ["1", "2", "3"], "map": [0.5, 0.6, 0.9]})
    tb = pa.table({"query_id": ["3", "1", "2"], "map": [0.8, 0.4, 0.5]})
    res = compare(ta, tb)
    assert res.difference == pytest.approx(0.1)
    assert res.n == 3
