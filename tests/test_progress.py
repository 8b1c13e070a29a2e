"""``progress=`` on long calls: what the bar is told, where it shows, and that it
changes nothing in the results."""

from __future__ import annotations

import io
import sys
import threading

import numpy as np
import pytest

import prefcore
from prefcore import _prefcore, _progress, dedup, match, metrics, pairs, ratings
from prefcore.errors import ArgumentTypeError

N = 150_000  # more rows than one wave of the core (65,536), so stages report several times


@pytest.fixture
def reports(monkeypatch):
    """Every core report a bar receives, as (label, stage, done, total)."""
    seen: list[tuple[str, str, int, int]] = []
    original = _progress._CallBar.core

    def core(self, stage, done, total):
        seen.append((self.label, stage, done, total))
        original(self, stage, done, total)

    monkeypatch.setattr(_progress._CallBar, "core", core)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    return seen


def _stages(seen):
    """stage -> list of (done, total), in order."""
    out: dict[str, list[tuple[int, int]]] = {}
    for _, stage, done, total in seen:
        out.setdefault(stage, []).append((done, total))
    return out


def _complete(runs, total):
    """A stage's reports only go forward and end at its total."""
    dones = [d for d, _ in runs]
    assert dones == sorted(dones), runs
    assert runs[-1] == (total, total), runs


def _texts(n):
    return {"prompt": [f"prompt number {i % 9000} about topic {i % 37}" for i in range(n)]}


def test_exact_reports_hashing_then_grouping_and_keeps_its_result(reports, capfd):
    table = _texts(N)
    with_bar = dedup.exact(table, progress=True)
    assert {s for _, s, _, _ in reports} == {"hashing", "grouping"}
    stages = _stages(reports)
    _complete(stages["hashing"], N)
    _complete(stages["grouping"], N)
    assert [s for _, s, _, _ in reports].index("grouping") > 0  # hashing comes first
    without = dedup.exact(table, progress=False)
    assert with_bar.cluster_id.equals(without.cluster_id)
    assert with_bar.stats == without.stats
    err = capfd.readouterr().err
    assert "dedup.exact · grouping" in err and "150k/150k" in err


def test_minhash_reports_signatures_and_bands(reports):
    table = _texts(N)
    found = dedup.minhash(table, progress=True)
    stages = _stages(reports)
    _complete(stages["signatures"], N)
    bands = found.stats["bands"]
    assert [t for _, t in stages["bands"]] == [bands] * len(stages["bands"])
    assert found.cluster_id.equals(dedup.minhash(table, progress=False).cluster_id)


def test_signatures_and_normalize_report_rows(reports):
    texts = _texts(N)["prompt"]
    sigs = dedup.signatures(texts, num_perm=16, progress=True)
    _complete(_stages(reports)["signatures"], N)
    assert np.array_equal(sigs, dedup.signatures(texts, num_perm=16, progress=False))
    reports.clear()
    dedup.normalize(texts, progress=True)
    _complete(_stages(reports)["normalizing"], N)


def test_knn_reports_queries_and_bootstrap_reports_rounds(reports):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((3000, 8)).astype(np.float32)
    c = rng.standard_normal((500, 8)).astype(np.float32)
    scores, idx = match.knn(q, c, k=3, backend="rust", progress=True)
    _complete(_stages(reports)["search"], 3000)
    s2, i2 = match.knn(q, c, k=3, backend="rust", progress=False)
    assert np.array_equal(idx, i2) and np.array_equal(scores, s2)

    reports.clear()
    battles = {  # every model wins and loses
        "model_a": ["x", "y", "z", "x", "y", "z"] * 50,
        "model_b": ["y", "z", "x", "y", "z", "x"] * 50,
        "winner": ["model_a", "model_b", "tie", "model_b", "model_a", "model_a"] * 50,
    }
    fit = ratings.bradley_terry(battles, bootstrap=300, progress=True)
    _complete(_stages(reports)["bootstrap"], 300)
    again = ratings.bradley_terry(battles, bootstrap=300, progress=False)
    assert fit.table.equals(again.table)


def test_metrics_and_pairs_report_their_units(reports):
    rng = np.random.default_rng(1)
    scores = rng.random((N, 4))
    labels = rng.integers(0, 3, (N, 4))
    metrics.evaluate_grouped(scores, labels, "ndcg@3", progress=True)
    _complete(_stages(reports)["groups"], N)

    reports.clear()
    nq = 2000
    run = {
        "query_id": [f"q{i // 5}" for i in range(nq * 5)],
        "doc_id": [f"d{i % 5}" for i in range(nq * 5)],
        "score": rng.random(nq * 5).tolist(),
    }
    qrels = {"query_id": [f"q{i}" for i in range(nq)], "doc_id": ["d1"] * nq, "relevance": [1] * nq}
    assert metrics.evaluate(run, qrels, "map", progress=True) == metrics.evaluate(
        run, qrels, "map", progress=False
    )
    _complete(_stages(reports)["queries"], nq)

    reports.clear()
    t = {"prompt": ["p"] * 5000, "completions": [["a", "b", "c"]] * 5000,
         "scores": [[1.0, 3.0, 2.0]] * 5000}  # fmt: skip
    r = pairs.from_scores(t, progress=True)
    assert r.stats["pairs"] == 5000
    runs = _stages(reports)["groups"]
    _complete(runs, runs[-1][1])


def test_tokenization_counts_the_texts_it_encodes(monkeypatch):
    tokenizers = pytest.importorskip("tokenizers")
    from prefcore.tokenize import tokenize_pairs

    vocab = {"<eos>": 0, "hi": 1, "yes": 2, "no": 3}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<eos>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    counted: list[int] = []
    monkeypatch.setattr(_progress._CallBar, "update", lambda self, n: counted.append(n))
    rows = {"prompt": ["hi"] * 20_000, "chosen": ["yes"] * 20_000, "rejected": ["no"] * 20_000}
    out = tokenize_pairs(rows, tok, eos_token_id=0, progress=True)
    assert sum(counted) == 3 * 20_000  # prompt, chosen, rejected
    plain = tokenize_pairs(rows, tok, eos_token_id=0, progress=False)
    assert out.table.equals(plain.table)


def test_automatic_progress_follows_the_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _progress.enabled(None)  # a log or a pipe: no bar
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert _progress.enabled(None)
    assert not _progress.enabled(False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress.enabled(True)


def test_no_bar_and_no_callback_left_behind(capfd):
    dedup.exact(_texts(1000))  # automatic, and stderr is not a terminal under pytest
    assert capfd.readouterr().err == ""
    assert _prefcore.set_progress(None) is None
    with pytest.raises(prefcore.PrefcoreError):
        dedup.exact({"prompt": ["a", None]}, progress=True)
    assert _prefcore.set_progress(None) is None  # restored after the error too


def test_a_broken_callback_does_not_lose_the_result(monkeypatch):
    raised: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: raised.append(u.exc_value))

    def broken(stage, done, total):
        raise RuntimeError("display gone")

    _prefcore.set_progress(broken)
    try:
        found = dedup.exact(_texts(N), progress=False)  # the installed callback is used
    finally:
        _prefcore.set_progress(None)
    assert found.stats["rows"] == N
    assert raised and all(isinstance(e, RuntimeError) for e in raised)


def test_a_callback_belongs_to_its_thread():
    calls: list[str] = []
    _prefcore.set_progress(lambda stage, done, total: calls.append(stage))
    try:
        worker = threading.Thread(target=lambda: dedup.exact(_texts(N), progress=False))
        worker.start()
        worker.join()
    finally:
        _prefcore.set_progress(None)
    assert calls == []


@pytest.mark.parametrize("value", ["yes", 1, 0.5])
def test_progress_takes_only_a_bool_or_none(value):
    with pytest.raises(ArgumentTypeError) as e:
        dedup.exact(_texts(10), progress=value)
    assert e.value.argument == "progress"
