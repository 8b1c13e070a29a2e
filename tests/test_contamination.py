"""Decontamination against plain-Python n-gram and Jaccard computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from text_helpers import word_ngrams

from prefcore.dedup import contamination


def best_overlap(row: set[str], refs: list[set[str]]) -> tuple[int | None, float]:
    best, score = None, 0.0
    for r, ref in enumerate(refs):
        s = len(row & ref) / max(len(row), 1)
        if s > score:
            best, score = r, s
    return best, score


words = st.sampled_from(["a", "b", "c", "d", "e"])
docs = st.lists(words, min_size=0, max_size=12).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(docs, max_size=8), st.lists(docs, max_size=6), st.integers(1, 4))
def test_ngram_method_equals_python(train: list[str], reference: list[str], n: int) -> None:
    result = contamination({"prompt": train}, {"prompt": reference}, n=n)
    refs = [word_ngrams(r, n) for r in reference]
    for i, text in enumerate(train):
        best, score = best_overlap(word_ngrams(text, n), refs)
        assert result.reference_index[i].as_py() == best
        assert result.contaminated[i].as_py() == (best is not None)
        assert result.score[i].as_py() == pytest.approx(score)


def test_exact_method_and_threshold() -> None:
    train = {"prompt": ["Hello  World", "other", "hello world"]}
    reference = {"prompt": ["x", "hello world"]}
    r = contamination(train, reference, method="exact")
    assert r.contaminated.to_pylist() == [True, False, True]
    assert r.reference_index.to_pylist() == [1, None, 1]
    strict = contamination(
        {"prompt": ["a b c d e f"]}, {"prompt": ["a b c x y z"]}, n=3, threshold=0.5
    )
    assert strict.contaminated.to_pylist() == [False]  # 1 of 4 trigrams shared
    assert strict.score.to_pylist() == [0.25]
    assert strict.apply({"prompt": ["a b c d e f"]}).num_rows == 1


def test_minhash_method_reports_only_true_overlaps() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(500)]
    reference = [" ".join(rng.choice(vocab, size=30)) for _ in range(100)]
    train = []
    for _ in range(200):
        base = (
            list(rng.choice(vocab, size=30))
            if rng.random() < 0.5
            else reference[int(rng.integers(0, 100))].split()
        )
        for _ in range(int(rng.integers(0, 6))):
            base[int(rng.integers(0, 30))] = str(rng.choice(vocab))
        train.append(" ".join(base))
    threshold, n = 0.6, 3
    r = contamination(
        {"prompt": train}, {"prompt": reference}, method="minhash", n=n, threshold=threshold
    )
    refs = [word_ngrams(t, n) for t in reference]
    clear_hits = found = 0
    for i, text in enumerate(train):
        mine = word_ngrams(text, n)
        jac = [len(mine & x) / len(mine | x) for x in refs]
        if r.contaminated[i].as_py():
            assert jac[r.reference_index[i].as_py()] >= threshold
        if max(jac) >= threshold + 0.15:
            clear_hits += 1
            found += r.contaminated[i].as_py()
    assert clear_hits > 20
    assert found / clear_hits >= 0.95


def test_contamination_errors() -> None:
    with pytest.raises(ValueError, match="method must be one of 'ngram', 'exact', 'minhash'"):
        contamination({"prompt": ["a"]}, {"prompt": ["a"]}, method="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
        contamination({"prompt": ["a"]}, {"prompt": ["a"]}, threshold=2.0)
    with pytest.raises(ValueError, match="column 'question' not found"):
        contamination({"prompt": ["a"]}, {"q": ["a"]}, reference_column="question")
