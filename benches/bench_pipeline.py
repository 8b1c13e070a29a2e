"""End-to-end dedup of generated preference data: `prefcore dedup` (exact + near)
against the equivalent Hugging Face `datasets` + datasketch script, each in its own
process on the same Parquet file; prints rows/s, peak RSS and the ratio.

    python benches/bench_pipeline.py                 # 1M rows (README table)
    python benches/bench_pipeline.py --rows 100000

The data: prompt (~30 words), chosen and rejected (~60 words each) drawn from a
20k-word vocabulary; 5% of rows repeat an earlier row exactly, 5% repeat one with a
word changed in chosen (near duplicates). Both sides drop exact duplicates of
(prompt, chosen, rejected), then near duplicates of chosen (MinHash, 128 permutations,
5-word shingles, threshold 0.8, LSH with the bands datasketch picks), keeping the
first row, and write Parquet.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def make_data(rows: int, path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    fresh = rows - 2 * (rows // 20)

    def texts(n: int, words: int) -> list[str]:
        ids = rng.integers(0, len(vocab), size=(n, words))
        return [" ".join(r) for r in vocab[ids]]

    prompt, chosen, rejected = texts(fresh, 30), texts(fresh, 60), texts(fresh, 60)
    for _ in range(rows // 20):  # exact copies
        i = int(rng.integers(0, fresh))
        prompt.append(prompt[i])
        chosen.append(chosen[i])
        rejected.append(rejected[i])
    for _ in range(rows // 20):  # near copies: one word of chosen changed
        i = int(rng.integers(0, fresh))
        words = chosen[i].split()
        words[int(rng.integers(0, len(words)))] = "changed"
        prompt.append(prompt[i])
        chosen.append(" ".join(words))
        rejected.append(rejected[i])
    order = rng.permutation(rows)
    table = pa.table({"prompt": prompt, "chosen": chosen, "rejected": rejected}).take(order)
    pq.write_table(table, path, row_group_size=65_536)


def peer(src: str, out: str) -> None:
    """The script people write today: datasets.map for hashes and MinHashes, a Python
    set for exact duplicates, datasketch's MinHashLSH for near ones."""
    import datasets
    from datasketch import MinHash, MinHashLSH

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_parquet(src)

    def row_hash(batch: dict) -> dict:
        keys = zip(batch["prompt"], batch["chosen"], batch["rejected"])
        return {"h": [hashlib.md5("\x00".join(k).encode()).hexdigest() for k in keys]}

    ds = ds.map(row_hash, batched=True, num_proc=2)
    seen: set[str] = set()
    first = []
    for h in ds["h"]:
        first.append(h not in seen)
        seen.add(h)
    ds = ds.filter(lambda _, i: first[i], with_indices=True).remove_columns("h")

    def signatures(batch: dict) -> dict:
        out = []
        for text in batch["chosen"]:
            words = text.split()
            shingles = {" ".join(words[i : i + 5]).encode() for i in range(len(words) - 4)}
            m = MinHash(num_perm=128, seed=1)
            m.update_batch(list(shingles))
            out.append(m.hashvalues)
        return {"sig": out}

    ds = ds.map(signatures, batched=True, num_proc=2)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    template = MinHash(num_perm=128, seed=1)  # the default permutation scheme
    dtype, scheme = template.hashvalues.dtype, template.scheme
    keep = []
    for i, sig in enumerate(ds["sig"]):
        m = MinHash(num_perm=128, seed=1, hashvalues=np.asarray(sig, dtype), scheme=scheme)
        keep.append(not lsh.query(m))
        lsh.insert(str(i), m)
    ds = ds.filter(lambda _, i: keep[i], with_indices=True).remove_columns("sig")
    ds.to_parquet(out)


def timed_child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process (this process stays small,
    so the child's RSS before its exec does not count)."""
    t = time.perf_counter()
    child = subprocess.Popen(cmd)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise RuntimeError(f"{cmd[:4]} failed with status {status}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--peer-only", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--make-only", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_only:
        peer(*args.peer_only)
        return
    if args.make_only:
        make_data(args.rows, Path(args.make_only))
        return
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "data.parquet"
        # Generated in a child, so this process stays small (see timed_child).
        make = [sys.executable, __file__, "--rows", str(args.rows), "--make-only", str(src)]
        subprocess.run(make, check=True)
        size = src.stat().st_size / 2**20
        print(f"{args.rows:,} rows, {size:.0f} MiB of Parquet")
        ours_out, peer_out = Path(d) / "ours.parquet", Path(d) / "peer.parquet"
        cli = [sys.executable, "-m", "prefcore.cli", "dedup", str(src), str(ours_out)]
        cli += ["--exact", "prompt", "chosen", "rejected", "--near", "chosen", "--no-normalize"]
        t_ours, rss_ours = timed_child([*cli, "--quiet"])
        peer_cmd = [sys.executable, __file__, "--peer-only", str(src), str(peer_out)]
        t_peer, rss_peer = timed_child(peer_cmd)
        kept_ours = pq.read_metadata(ours_out).num_rows
        kept_peer = pq.read_metadata(peer_out).num_rows
        print(f"{'':<34}{'time':>9}{'rows/s':>12}{'peak RSS':>11}{'rows kept':>11}")
        for name, t, rss, kept in [
            ("datasets.map + datasketch", t_peer, rss_peer, kept_peer),
            ("prefcore dedup (exact + near)", t_ours, rss_ours, kept_ours),
        ]:
            print(f"{name:<34}{t:>8.1f}s{args.rows / t:>12,.0f}{rss:>8.0f} MiB{kept:>11,}")
        print(f"prefcore / peer: {t_peer / t_ours:.1f}x faster")


if __name__ == "__main__":
    main()
