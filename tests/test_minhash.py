"""MinHash signatures against datasketch on the same shingle sets, and against the
exact Jaccard similarity."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from prefcore.dedup import jaccard_estimate, signatures


def word_shingles(text: str, n: int) -> set[str]:
    words = text.split()
    if not words:
        return set()
    n = min(n, len(words))
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def random_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Document pairs with a spread of overlaps: a document and a copy with k edits."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(60)]
    pairs = []
    for _ in range(count):
        doc = list(rng.choice(vocab, size=int(rng.integers(4, 40))))
        other = list(doc)
        for _ in range(int(rng.integers(0, len(doc) + 1))):
            other[int(rng.integers(0, len(other)))] = str(rng.choice(vocab))
        pairs.append((" ".join(doc), " ".join(other)))
    return pairs


def test_estimates_agree_with_datasketch_and_the_exact_jaccard() -> None:
    num_perm, n = 1024, 3
    pairs = random_pairs(2000, seed=0)
    texts = [t for pair in pairs for t in pair]
    sigs = signatures(texts, num_perm=num_perm, ngram=n, normalize=None)
    ours, theirs, exact = [], [], []
    for i, (a, b) in enumerate(pairs):
        sa, sb = word_shingles(a, n), word_shingles(b, n)
        exact.append(len(sa & sb) / len(sa | sb))
        ours.append(jaccard_estimate(sigs[2 * i], sigs[2 * i + 1]))
        ma, mb = MinHash(num_perm=num_perm, seed=1), MinHash(num_perm=num_perm, seed=1)
        for s in sa:
            ma.update(s.encode())
        for s in sb:
            mb.update(s.encode())
        theirs.append(ma.jaccard(mb))
    ours_a, theirs_a, exact_a = np.array(ours), np.array(theirs), np.array(exact)
    assert np.std(exact_a) > 0.1, "the pairs cover a range of similarities"
    # Two independent estimators of the same quantity.
    assert np.mean(np.abs(ours_a - theirs_a)) <= 0.02
    assert abs(np.mean(ours_a) - np.mean(exact_a)) <= 0.005
    # Each estimate within 4.5 binomial standard deviations of the truth.
    bound = 4.5 * np.sqrt(exact_a * (1 - exact_a) / num_perm) + 1e-9
    for name, est in (("prefcore", ours_a), ("datasketch", theirs_a)):
        outside = np.mean(np.abs(est - exact_a) > bound)
        assert outside <= 0.001, (name, outside)


def test_signatures_are_deterministic_and_seeded() -> None:
    texts = ["a b c d e f", "a b c d e g", "", "x"]
    first = signatures(texts, num_perm=64, ngram=2)
    assert np.array_equal(first, signatures(texts, num_perm=64, ngram=2))
    assert not np.array_equal(first, signatures(texts, num_perm=64, ngram=2, seed=2))
    assert (first[2] == np.iinfo(np.uint64).max).all(), "an empty text has no shingles"
    assert jaccard_estimate(first[3], signatures(["X"], num_perm=64, ngram=2)[0]) == 1.0
    chars = signatures(["abcd", "abce"], num_perm=512, ngram=2, tokenizer="char")
    assert 0.3 < jaccard_estimate(chars[0], chars[1]) < 0.8  # exact: 2/4


def test_signature_errors() -> None:
    with pytest.raises(ValueError, match="num_perm must be at least 1"):
        signatures(["a"], num_perm=0)
    with pytest.raises(ValueError, match="tokenizer must be one of 'word', 'char'"):
        signatures(["a"], tokenizer="bpe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"column 'texts', row 0: null text"):
        signatures([None, "a"])
