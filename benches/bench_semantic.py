"""Semantic dedup: `prefcore.dedup.semantic` against a faiss `range_search` + scipy
connected-components pipeline, on the same embeddings, each in its own process
(time and peak RSS); the kept rows are checked equal.

    python benches/bench_semantic.py                 # 200k x 384, threshold 0.9
    python benches/bench_semantic.py --rows 20000

Embeddings: unit vectors around 150k random centres, 25% of rows a perturbed copy of
another row (cosine about 0.95), so the threshold graph has real components.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PEER = """
import sys, numpy as np, faiss, scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
x = np.load(sys.argv[1]); t = float(sys.argv[2])
faiss.omp_set_num_threads(2)
index = faiss.IndexFlatIP(x.shape[1]); index.add(x)
lims, _, idx = index.range_search(x, t)
rows = np.repeat(np.arange(len(x)), np.diff(lims.astype(np.int64)))
graph = sp.csr_matrix((np.ones(len(idx), np.int8), (rows, idx)), shape=(len(x), len(x)))
_, label = connected_components(graph, directed=False)
first = np.full(label.max() + 1, len(x)); np.minimum.at(first, label, np.arange(len(x)))
np.save(sys.argv[3], first[label] == np.arange(len(x)))
"""

OURS = """
import sys, numpy as np
from prefcore import dedup
x = np.load(sys.argv[1]); t = float(sys.argv[2])
r = dedup.semantic(x, threshold=t, metric="ip")
np.save(sys.argv[3], r.keep.to_numpy(zero_copy_only=False))
"""


def make(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    copies = rng.choice(rows, size=rows // 4, replace=False)
    sources = rng.integers(0, rows, size=len(copies))
    x[copies] = x[sources] + 0.3 * rng.standard_normal((len(copies), dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def run(code: str, args: list[str]) -> tuple[float, float]:
    t = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args])
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"child failed ({status})")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--threshold", type=float, default=0.9)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "x.npy"
        np.save(src, make(args.rows, args.dim))
        threshold = str(args.threshold)
        t_peer, rss_peer = run(PEER, [str(src), threshold, str(Path(d) / "peer.npy")])
        t_ours, rss_ours = run(OURS, [str(src), threshold, str(Path(d) / "ours.npy")])
        peer, ours = np.load(Path(d) / "peer.npy"), np.load(Path(d) / "ours.npy")
        same = bool(np.array_equal(peer, ours))
        print(f"{args.rows:,} x {args.dim} float32, threshold {args.threshold}, 2 threads")
        print(f"{'':<40}{'time':>9}{'peak RSS':>12}{'kept':>10}")
        for name, t, rss, kept in [
            ("faiss range_search + scipy components", t_peer, rss_peer, peer),
            ("prefcore dedup.semantic", t_ours, rss_ours, ours),
        ]:
            print(f"{name:<40}{t:>8.1f}s{rss:>8.0f} MiB{int(kept.sum()):>10,}")
        print(f"prefcore / peer: {t_peer / t_ours:.2f}x; kept rows equal: {same}")


if __name__ == "__main__":
    main()
