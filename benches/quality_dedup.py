"""Precision and recall of `prefcore.dedup.minhash` against the exact Jaccard
similarity, on planted near-duplicates and on the real HH-RLHF texts.

    python benches/quality_dedup.py

A pair of rows is a true duplicate when the exact Jaccard similarity of their shingle
sets (word 5-grams of the lowercased text, as `minhash` computes them) is at least the
threshold. Precision is reported on the pairs `minhash` merged (`DedupResult.pairs`)
and on every pair of rows that ended in one cluster (clusters are transitive, so such a
pair can lie below the threshold through a chain); recall counts the true pairs whose
rows share a cluster. True pairs come from an inverted index over shingles (pairs that
share no shingle have similarity 0).
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from prefcore import dedup
from prefcore.data import load_hh_rlhf

NGRAM, THRESHOLD = 5, 0.8


def shingles(text: str) -> frozenset[str]:
    words = text.lower().split()
    n = min(NGRAM, len(words))
    if n == 0:
        return frozenset()
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def true_pairs(texts: list[str]) -> set[tuple[int, int]]:
    sets = [shingles(t) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for row, s in enumerate(sets):
        for g in s:
            index[g].append(row)
    candidates: set[tuple[int, int]] = set()
    for rows in index.values():
        if len(rows) > 1:
            candidates.update(itertools.combinations(rows, 2))
    # Identical empty or single-shingle texts count too (Jaccard of equal sets is 1).
    out = set()
    for i, j in candidates:
        union = len(sets[i] | sets[j])
        if union and len(sets[i] & sets[j]) / union >= THRESHOLD:
            out.add((i, j))
    return out


def found_pairs(
    texts: list[str], verify: bool
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The merged pairs, and every pair of rows that ended in one cluster."""
    normalize = dedup.Normalization(unicode=None, collapse_whitespace=True)
    result = dedup.minhash(
        {"text": texts}, "text", threshold=THRESHOLD, ngram=NGRAM, verify=verify,
        normalize=normalize,
    )  # fmt: skip
    assert result.pairs is not None
    merged = set(
        zip(result.pairs.column("row_a").to_pylist(), result.pairs.column("row_b").to_pylist())
    )
    members: dict[int, list[int]] = defaultdict(list)
    for row, c in enumerate(result.cluster_id.to_pylist()):
        members[c].append(row)
    clustered = {p for rows in members.values() for p in itertools.combinations(rows, 2)}
    return merged, clustered


def planted(seed: int = 0, base: int = 600, copies: int = 3) -> list[str]:
    """HH-RLHF responses, each with `copies` variants of 0-6 random word substitutions."""
    table = load_hh_rlhf()
    source = [t.split() for t in table.column("chosen").to_pylist()[:base]]
    rng = np.random.default_rng(seed)
    vocab = [w for words in source for w in words]
    out = []
    for words in source:
        out.append(" ".join(words))
        for _ in range(copies):
            edited = list(words)
            for _ in range(int(rng.integers(0, 7))):
                edited[int(rng.integers(0, len(edited)))] = vocab[int(rng.integers(0, len(vocab)))]
            out.append(" ".join(edited))
    return out


def main() -> None:
    table = load_hh_rlhf()
    real = table.column("chosen").to_pylist() + table.column("rejected").to_pylist()
    print(
        f"| data | rows | true pairs (J >= {THRESHOLD}) | verify | merged pairs | precision "
        "of merges | pairs in one cluster | precision of cluster pairs | recall |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, texts in (
        ("planted near-duplicates", planted()),
        ("HH-RLHF chosen + rejected", real),
    ):
        truth = true_pairs(texts)
        for verify in (False, True):
            merged, clustered = found_pairs(texts, verify)
            p_merged = len(merged & truth) / len(merged) if merged else 1.0
            hit = len(clustered & truth)
            p_clustered = hit / len(clustered) if clustered else 1.0
            recall = hit / len(truth) if truth else 1.0
            print(
                f"| {name} | {len(texts):,} | {len(truth):,} | {verify} | {len(merged):,} "
                f"| {p_merged:.4f} | {len(clustered):,} | {p_clustered:.4f} | {recall:.4f} |"
            )


if __name__ == "__main__":
    main()
