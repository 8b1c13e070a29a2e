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
from bench_metrics import level_note, timed

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


def band_choice_rows() -> list[str]:
    """LSH bands and rows for threshold 0.8: datasketch's quadrature against prefcore's
    incomplete beta function, asserting the same (b, r)."""
    from datasketch.lsh import _optimal_param

    rows = []
    for num_perm in (128, 1024, 4096):
        t_ds, _, want = timed(lambda n=num_perm: _optimal_param(0.8, n, 0.5, 0.5))
        t_ours, _, got = timed(lambda n=num_perm: dedup.optimal_bands(0.8, n), 3)
        assert got == want, (num_perm, got, want)
        rows.append(
            f"| LSH bands/rows, 0.8 x {num_perm} permutations | datasketch `_optimal_param` "
            f"| {t_ds:.3f} s | {t_ours * 1e3:.2f} ms | **{t_ds / t_ours:.0f}x** | |"
        )
    return rows


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise KeyError(key)


def near_dup_child(path: str) -> None:
    """Run the near-dup dedup on the table at `path` (Arrow IPC, read into memory before
    the baseline) in this fresh process; print its time and peak RSS growth as JSON."""
    import json
    import time

    import pyarrow.ipc as ipc

    with pa.OSFile(path) as f:
        table = ipc.open_file(f).read_all()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak-RSS counter (VmHWM)
    base = _status_kib("VmRSS:")
    start = time.perf_counter()
    near = dedup.minhash(table, "prompt", threshold=0.8)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM:") - base
    print(json.dumps({"seconds": seconds, "peak_kib": peak, "removed": near.stats["removed"]}))


def near_dup_in_child(table: pa.Table) -> dict[str, Any]:
    """Time and peak memory of the near-dup dedup in a fresh process, so no memory
    freed earlier in this one hides its peak."""
    import json
    import subprocess
    import tempfile

    import pyarrow.ipc as ipc

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "near_dup.arrow")
        with pa.OSFile(path, "wb") as f, ipc.new_file(f, table.schema) as writer:
            writer.write_table(table)
        out = subprocess.run(
            [sys.executable, __file__, "--near-dup-child", path],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--near-dup-child", help=argparse.SUPPRESS)
    ap.add_argument(
        "--simd",
        default="auto",
        help="SIMD levels to time the signatures at, comma-separated, or 'all'",
    )
    args = ap.parse_args()
    if args.near_dup_child:
        near_dup_child(args.near_dup_child)
        return
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
    levels = prefcore.simd_levels() if args.simd == "all" else args.simd.split(",")
    # Best of 3 on prefcore's side at each level, rensa's one call (4-6 s) in between.
    ours = {}
    for level in levels:
        prefcore.force_simd_level(level)
        ours[level] = timed(
            lambda: dedup.signatures(
                column, num_perm=NUM_PERM, ngram=NGRAM, normalize=lowercase_only
            ),
            3,
        )
    prefcore.force_simd_level(None)
    t_rensa, _, _ = timed(lambda: rensa_signatures(texts))
    for level, (t_ours, mem, _) in ours.items():
        lines.append(
            f"| signatures, {n_sig:,} texts{level_note(level)} | rensa (incl. Python shingling) "
            f"| {t_rensa:.2f} s | {t_ours:.2f} s | **{t_rensa / t_ours:.1f}x** "
            f"| {mem / 2**20:.0f} MiB |"
        )
    # datasketch is timed on the first n_ds texts; prefcore on the same subset.
    subset = column.slice(0, n_ds)
    # Best of 3 on each side: prefcore's run here is short enough for VM noise to show.
    t_ours_ds, _, _ = timed(
        lambda: dedup.signatures(subset, num_perm=NUM_PERM, ngram=NGRAM, normalize=lowercase_only),
        3,
    )
    t_ds, _, _ = timed(lambda: datasketch_signatures(texts[:n_ds]), 3)
    lines.append(
        f"| signatures, {n_ds:,} texts | datasketch (incl. Python shingling) | {t_ds:.2f} s "
        f"| {t_ours_ds:.3f} s | **{t_ds / t_ours_ds:.0f}x** | |"
    )

    lines.extend(band_choice_rows())

    big = expanded_texts(n_big, seed=1)
    table = pa.table({"prompt": big, "chosen": big[1:] + big[:1], "rejected": big[2:] + big[:2]})
    del big
    near = near_dup_in_child(table.select(["prompt"]))
    t_near = near["seconds"]
    lines.append(
        f"| near-dup dedup (signatures + LSH + clusters), {n_big:,} rows | - | - | {t_near:.1f} s "
        f"({n_big / t_near:,.0f} rows/s, {near['removed']:,} removed) | - "
        f"| {near['peak_kib'] / 2**10:.0f} MiB (fresh process) |"
    )
    import polars as pl

    frame = pl.from_arrow(table)
    cols = ["prompt", "chosen", "rejected"]
    # One call each, as the target was set. polars' second call on the same frame takes
    # about half its first; with the best of three on both sides the two are about even.
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
