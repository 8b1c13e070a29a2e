"""Time exact top-k inner-product search: prefcore (Rust) vs faiss-cpu IndexFlatIP vs
numpy matmul + argpartition, on the same float32 data and the same threads; print
ratios and check the results agree.

    python benches/bench_match.py              # 100k x 384 corpus, 10k queries
    python benches/bench_match.py --scale 0.1
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", str(os.cpu_count()))

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

import prefcore
from prefcore import match

sys.path.insert(0, str(Path(__file__).parent))
from bench_metrics import timed


def numpy_knn(q: np.ndarray, c: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    out = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), block):
        scores = q[s : s + block] @ c.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
        out[s : s + block] = np.take_along_axis(part, order, axis=1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    import faiss

    threads = prefcore.get_num_threads()
    faiss.omp_set_num_threads(threads)
    n, nq, dim, k = int(100_000 * args.scale), int(10_000 * args.scale), 384, 10
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(n, dim)).astype(np.float32)
    queries = rng.normal(size=(nq, dim)).astype(np.float32)
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, {threads} threads")
    ours, _, (_, idx) = timed(lambda: match.knn(queries, corpus, k, backend="rust"), 3)
    index = faiss.IndexFlatIP(dim)
    index.add(corpus)
    theirs, _, (_, want) = timed(lambda: index.search(queries, k), 3)
    agree = (idx == want).mean()
    np_time, _, np_idx = timed(lambda: numpy_knn(queries, corpus, k))
    print(
        f"knn ip top-{k}, {n:,} x {dim} corpus, {nq:,} queries: prefcore {ours:.3f}s, "
        f"faiss IndexFlatIP {theirs:.3f}s ({theirs / ours:.2f}x of faiss throughput), numpy "
        f"{np_time:.3f}s ({np_time / ours:.1f}x); indices equal to faiss: {agree:.4%}, "
        f"to numpy: {(np_idx == idx).mean():.4%}"
    )


if __name__ == "__main__":
    main()
