"""The pictures (prefcore[plot]) drawn headless: what each draws is read back from the
axes and compared with the same quantity computed here by hand."""

from __future__ import annotations

from collections import Counter

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from prefcore import dedup, errors, metrics, plot, ratings


@pytest.fixture(autouse=True)
def _close_figures():  # type: ignore[no-untyped-def]
    yield
    plt.close("all")


def test_reliability_diagram_plots_the_non_empty_bins() -> None:
    rng = np.random.default_rng(0)
    chosen, rejected = rng.normal(1, 1, 500), rng.normal(0, 1, 500)
    cal = metrics.calibration(chosen, rejected, n_bins=10)
    ax = cal.plot()
    line = ax.get_lines()[1]  # after the diagonal
    bins = cal.bins.to_pydict()
    used = [i for i, n in enumerate(bins["count"]) if n > 0]
    assert list(line.get_xdata()) == [bins["mean_predicted"][i] for i in used]
    assert list(line.get_ydata()) == [bins["fraction_positive"][i] for i in used]
    assert f"{cal.ece:.3f}" in ax.get_title()


def test_rating_intervals_put_the_best_model_on_top() -> None:
    battles = {
        "model_a": ["x", "y", "z", "x", "y", "z"] * 5,
        "model_b": ["y", "z", "x", "z", "x", "y"] * 5,
        "winner": ["model_a", "model_a", "model_b", "model_a", "tie", "model_b"] * 5,
    }
    result = ratings.bradley_terry(battles, alpha=0.1, bootstrap=50, seed=0)
    ax = result.plot()
    height = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    order = result.table.column("model").to_pylist()  # best first
    assert sorted(height, key=height.__getitem__, reverse=True) == order  # top to bottom
    assert "bootstrap interval" in ax.get_xlabel()
    no_bootstrap = ratings.bradley_terry(battles, alpha=0.1).plot()
    assert "standard errors" in no_bootstrap.get_xlabel()


def test_score_distributions_count_every_completion() -> None:
    chosen, rejected = [1.0, 2.0, 3.0, 0.5], [0.0, 2.5, 1.0, 0.5]
    ax = plot.score_distributions(chosen, rejected, bins=5)
    heights = [sum(p.get_height() for p in c) for c in ax.containers]
    assert heights == [4, 4]
    assert "50.0%" in ax.get_title()  # by hand: 1 > 0 and 3 > 1 of four pairs
    with pytest.raises(errors.InvalidArgumentError, match="one length"):
        plot.score_distributions([1.0], [1.0, 2.0])


def test_cluster_sizes_count_clusters_by_size() -> None:
    prompts = ["a", "a", "a", "b", "b", "c", "d", "e"]
    result = dedup.exact({"prompt": prompts}, ["prompt"])
    ax = result.plot()
    want = Counter(Counter(prompts).values())  # by hand: size -> clusters
    got = {int(t.get_text()): p.get_height() for t, p in zip(ax.get_xticklabels(), ax.patches)}
    assert got == dict(want)
    assert "3 of 8 rows" in ax.get_title()


def test_plots_draw_on_the_callers_axes() -> None:
    _, ax = plt.subplots()
    assert plot.score_distributions([1.0], [0.0], ax=ax) is ax


def test_arena_leaderboard_draws_its_interval():
    from prefcore import ratings

    battles = {"model_a": ["x", "y", "z", "x"] * 3, "model_b": ["y", "z", "x", "z"] * 3,
               "winner": ["model_a", "model_a", "tie", "model_b"] * 3}  # fmt: skip
    board = ratings.arena(battles, ci="sandwich")
    ax = board.plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == board.table.column("model").to_pylist()
    bars = ax.containers[0]
    (segments,) = [c for c in bars.lines[2]]
    first = segments.get_segments()[-1]  # the top row: the best model
    t = board.table.to_pydict()
    assert first[0][0] == pytest.approx(t["lower"][0])
    assert first[1][0] == pytest.approx(t["upper"][0])
    assert "interval" in ax.get_xlabel()
    plt.close(ax.figure)
