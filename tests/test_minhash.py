"""MinHash signatures against datasketch on the same shingle sets, and against the
exact Jaccard similarity."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash
from rensa import RMinHash
from text_helpers import word_ngrams

from prefcore.dedup import jaccard_estimate, signatures


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


def test_estimates_agree_with_datasketch_rensa_and_the_exact_jaccard() -> None:
    num_perm, n = 1024, 3
    pairs = random_pairs(2000, seed=0)
    texts = [t for pair in pairs for t in pair]
    sigs = signatures(texts, num_perm=num_perm, ngram=n, normalize=None)
    ours, theirs, rensa, exact = [], [], [], []
    for i, (a, b) in enumerate(pairs):
        sa, sb = word_ngrams(a, n), word_ngrams(b, n)
        exact.append(len(sa & sb) / len(sa | sb))
        ours.append(jaccard_estimate(sigs[2 * i], sigs[2 * i + 1]))
        ma, mb = MinHash(num_perm=num_perm, seed=1), MinHash(num_perm=num_perm, seed=1)
        for s in sa:
            ma.update(s.encode())
        for s in sb:
            mb.update(s.encode())
        theirs.append(ma.jaccard(mb))
        ra, rb = RMinHash(num_perm=num_perm, seed=1), RMinHash(num_perm=num_perm, seed=1)
        ra.update(sorted(sa))
        rb.update(sorted(sb))
        rensa.append(ra.jaccard(rb))
    ours_a, theirs_a, exact_a = np.array(ours), np.array(theirs), np.array(exact)
    rensa_a = np.array(rensa)
    assert np.std(exact_a) > 0.1, "the pairs cover a range of similarities"
    # Two independent estimators of the same quantity.
    assert np.mean(np.abs(ours_a - theirs_a)) <= 0.02
    assert np.mean(np.abs(ours_a - rensa_a)) <= 0.02
    assert abs(np.mean(ours_a) - np.mean(exact_a)) <= 0.005
    # Each estimate within 4.5 binomial standard deviations of the truth.
    bound = 4.5 * np.sqrt(exact_a * (1 - exact_a) / num_perm) + 1e-9
    for name, est in (("prefcore", ours_a), ("datasketch", theirs_a), ("rensa", rensa_a)):
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


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
def test_band_choice_equals_datasketch(num_perm: int) -> None:
    from datasketch.lsh import _optimal_param

    from prefcore.dedup import optimal_bands

    for threshold in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        assert optimal_bands(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def planted(seed: int) -> list[str]:
    """Base documents and copies with a few to many word substitutions."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(2000)]
    docs = []
    for _ in range(150):
        base = list(rng.choice(vocab, size=40))
        docs.append(" ".join(base))
        for _ in range(int(rng.integers(0, 3))):
            copy = list(base)
            for _ in range(int(rng.choice([1, 2, 3, 8, 20]))):
                copy[int(rng.integers(0, 40))] = str(rng.choice(vocab))
            docs.append(" ".join(copy))
    order = rng.permutation(len(docs))
    return [docs[i] for i in order]


def true_pairs(docs: list[str], n: int, threshold: float) -> dict[tuple[int, int], float]:
    """Pairs at or above the threshold, with their exact Jaccard similarity."""
    sets = [word_ngrams(d, n) for d in docs]
    out = {}
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            similarity = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if similarity >= threshold:
                out[(i, j)] = similarity
    return out


def components(n: int, pairs: dict[tuple[int, int], float]) -> list[int]:
    """Connected component (smallest member) of each node of the pair graph."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in pairs:
        a, b = find(i), find(j)
        parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def test_planted_near_duplicates_are_found() -> None:
    from prefcore.dedup import minhash

    docs, n, threshold = planted(1), 3, 0.7
    truth = true_pairs(docs, n, threshold)
    assert len(truth) > 30
    for verify in (False, True):
        result = minhash({"prompt": docs}, ngram=n, threshold=threshold, verify=verify)
        cid = result.cluster_id.to_pylist()
        found = sum(cid[i] == cid[j] for i, j in truth)
        # LSH finds a pair of similarity s with probability 1 - (1 - s^r)^b; the found
        # count must not fall short of that expectation by more than 4 sd.
        b, r = result.stats["bands"], result.stats["rows_per_band"]
        p = np.array([1 - (1 - s**r) ** b for s in truth.values()])
        assert found >= p.sum() - 4 * np.sqrt(np.sum(p * (1 - p))), (verify, found, p.sum())
        clear = [cid[i] == cid[j] for (i, j), s in truth.items() if s >= threshold + 0.15]
        assert np.mean(clear) >= 0.97
        if verify:
            # Every merged pair is a true pair (precision 1.0 on the merges) ...
            assert result.pairs is not None and result.pairs.num_rows > 0
            merged = zip(
                result.pairs.column("row_a").to_pylist(), result.pairs.column("row_b").to_pylist()
            )
            assert all(pair in truth for pair in merged)
            # ... so clusters lie within the connected: clusters lie within the connected
            # components of the true-pair graph.
            component = components(len(docs), truth)
            for i in range(len(docs)):
                assert component[i] == component[result.representative[i].as_py()]
        assert result.stats["candidate_pairs"] >= result.stats["merged_pairs"]


def test_minhash_is_the_same_on_any_thread_count() -> None:
    import prefcore
    from prefcore.dedup import minhash

    docs = planted(2)
    before = prefcore.get_num_threads()
    try:
        prefcore.set_num_threads(1)
        one = minhash({"prompt": docs}, ngram=3, threshold=0.6, verify=True)
        prefcore.set_num_threads(3)
        three = minhash({"prompt": docs}, ngram=3, threshold=0.6, verify=True)
    finally:
        prefcore.set_num_threads(before)
    assert one.cluster_id.equals(three.cluster_id)
    assert one.stats == three.stats


def test_minhash_errors() -> None:
    from prefcore.dedup import minhash

    table = {"prompt": ["a b c", "a b d"]}
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        minhash(table, threshold=0.0)
    with pytest.raises(ValueError, match="give both bands and rows"):
        minhash(table, bands=4)
    with pytest.raises(ValueError, match=r"bands \(20\) x rows \(10\) must be"):
        minhash(table, bands=20, rows=10)
