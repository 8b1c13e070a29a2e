"""Time prefcore's dedup against rensa, datasketch and polars on the same texts, in one
process run; print ratios and peak memory.

    python benches/bench_dedup.py              # the sizes of the README table
    python benches/bench_dedup.py --scale 0.1

Input: the embedded HH-RLHF texts (chosen and rejected), expanded with random word
edits. Signatures: 128 permutations of word 5-grams after lowercasing. rensa and
datasketch users shingle in Python, so their time includes that shingling (the same
lowercase + split + join a rensa user writes).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import prefcore
from prefcore import dedup
from prefcore.data import load_hh_rlhf

sys.path.insert(0, str(Path(__file__).parent))
from bench_metrics import timed

NUM_PERM, NGRAM = 128, 5


def expanded_texts(rows: int, seed: int = 0) -> list[str]:
    """HH-RLHF texts, repeated with 0-5 random word substitutions per copy."""
    table = load_hh_rlhf()
    base = [
        t.split() for t in table.column("chosen").to_pylist() + table.column("rejected").to_pylist()
    ]
    rng = np.random.default_rng(seed)
    vocab = [w for words in base[:200] for w in words]
    out = []
    for i in range(rows):
        words = list(base[i % len(base)])
        for _ in range(int(rng.integers(0, 6))):
            if words:
                words[int(rng.integers(0, len(words)))] = vocab[int(rng.integers(0, len(vocab)))]
        out.append(" ".join(words))
    return out


def python_shingles(text: str) -> list[str]:
    words = text.lower().split()
    n = min(NGRAM, len(words)) or 1
    return [" ".join(words[i : i + n]) for i in range(max(len(words) - n + 1, 1))]


def rensa_signatures(texts: list[str]) -> Any:
    from rensa import RMinHash

    out = []
    for t in texts:
        m = RMinHash(num_perm=NUM_PERM, seed=1)
        m.update(python_shingles(t))
        out.append(m.digest())
    return out


def datasketch_signatures(texts: list[str]) -> Any:
    from datasketch import MinHash

    out = []
    for t in texts:
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode() for s in python_shingles(t)])
        out.append(m.hashvalues)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    n_sig, n_ds, n_big = (
        int(200_000 * args.scale),
        int(5_000 * args.scale),
        int(1_000_000 * args.scale),
    )
    lowercase_only = dedup.Normalization(unicode=None, collapse_whitespace=True)
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, prefcore {prefcore.__version__} "
        f"on {prefcore.get_num_threads()} threads"
    )
    lines = [
        "| task | peer | peer time | prefcore time | ratio | prefcore peak extra memory |",
        "|---|---|---|---|---|---|",
    ]

    texts = expanded_texts(n_sig)
    column = pa.array(texts)
    t_ours, mem, _ = timed(
        lambda: dedup.signatures(column, num_perm=NUM_PERM, ngram=NGRAM, normalize=lowercase_only)
    )
    t_rensa, _, _ = timed(lambda: rensa_signatures(texts))
    lines.append(
        f"| signatures, {n_sig:,} texts | rensa (incl. Python shingling) | {t_rensa:.2f} s "
        f"| {t_ours:.2f} s | **{t_rensa / t_ours:.1f}x** | {mem / 2**20:.0f} MiB |"
    )
    # datasketch is timed on the first n_ds texts; prefcore on the same subset.
    subset = column.slice(0, n_ds)
    t_ours_ds, _, _ = timed(
        lambda: dedup.signatures(subset, num_perm=NUM_PERM, ngram=NGRAM, normalize=lowercase_only)
    )
    t_ds, _, _ = timed(lambda: datasketch_signatures(texts[:n_ds]))
    lines.append(
        f"| signatures, {n_ds:,} texts | datasketch (incl. Python shingling) | {t_ds:.2f} s "
        f"| {t_ours_ds:.3f} s | **{t_ds / t_ours_ds:.0f}x** | |"
    )

    big = expanded_texts(n_big, seed=1)
    table = pa.table({"prompt": big, "chosen": big[1:] + big[:1], "rejected": big[2:] + big[:2]})
    del big
    t_near, mem_near, near = timed(lambda: dedup.minhash(table, "prompt", threshold=0.8))
    lines.append(
        f"| near-dup dedup (signatures + LSH + clusters), {n_big:,} rows | - | - | {t_near:.1f} s "
        f"({n_big / t_near:,.0f} rows/s, {near.stats['removed']:,} removed) | - "
        f"| {mem_near / 2**20:.0f} MiB |"
    )
    import polars as pl

    frame = pl.from_arrow(table)
    cols = ["prompt", "chosen", "rejected"]
    t_ex, mem_ex, exact = timed(lambda: dedup.exact(table, cols, normalize=None))
    t_pl, _, unique = timed(lambda: frame.unique(subset=cols, keep="first", maintain_order=True))
    assert unique.height == exact.stats["clusters"], (unique.height, exact.stats)
    lines.append(
        f"| exact dedup, {n_big:,} rows x 3 columns | polars unique | {t_pl:.2f} s | {t_ex:.2f} s "
        f"| **{t_pl / t_ex:.1f}x** | {mem_ex / 2**20:.0f} MiB |"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
