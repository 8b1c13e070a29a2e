"""Embedding matching: exact k-nearest-neighbour search in FAISS's result layout.

Embeddings are 2-D float32 arrays (numpy, torch, or an Arrow
``fixed_size_list<float32>`` column); float64 input is converted to float32 (a copy,
as FAISS would need too). Results are ``(scores, indices)`` numpy arrays of shape
``[nq, k]``, best first, with index ``-1`` (and FAISS's ``∓FLT_MAX`` score) where the
corpus has fewer than ``k`` rows.

- ``backend="rust"``: prefcore's exact search (blocked GEMM fused with a per-query
  top-k, parallel over query blocks); ties keep the lower corpus index.
- ``backend="faiss"``: ``faiss.IndexFlatIP`` / ``IndexFlatL2`` (import on demand).
- ``backend="auto"``: rust.

:func:`range_search` returns every pair within a threshold as an Arrow table.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pyarrow as pa

from prefcore import _prefcore

__all__ = ["knn", "range_search"]

Metric = Literal["ip", "cosine", "l2"]


def _matrix(x: Any, name: str) -> np.ndarray:
    """A C-contiguous float32 ``[n, d]`` array from numpy, torch or an Arrow
    fixed-size-list column."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # torch
        x = x.detach().cpu().numpy()
    if isinstance(x, (pa.ChunkedArray, pa.Array)):
        arr = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
        if not pa.types.is_fixed_size_list(arr.type):
            raise TypeError(
                f"{name}: Arrow embeddings must be fixed_size_list<float>, not {arr.type}"
            )
        x = arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), arr.type.list_size)
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows x dimensions), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must hold floats, not {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float32)


def knn(
    queries: Any,
    corpus: Any,
    k: int = 10,
    *,
    metric: Metric = "ip",
    backend: Literal["auto", "rust", "faiss"] = "auto",
    batch_size: int | None = None,
    exclude_self: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest corpus rows of every query: ``(scores, indices)``, ``[nq, k]``.

    ``metric``: ``"ip"`` (inner product, largest first), ``"cosine"`` (largest first;
    a zero vector is an error) or ``"l2"`` (squared distance, smallest first, as
    FAISS reports it). ``batch_size`` bounds the corpus rows multiplied at once per
    query block (memory). ``exclude_self`` skips corpus row ``i`` for query ``i``
    (searching a matrix against itself). Non-finite values are an error naming the row.

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> c = np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]], dtype=np.float32)
    >>> scores, idx = knn(q, c, k=2)
    >>> idx.tolist()
    [[0, 2], [1, 2]]
    """
    if metric not in ("ip", "cosine", "l2"):
        raise ValueError(f"metric must be one of 'ip', 'cosine', 'l2'; not {metric!r}")
    if backend not in ("auto", "rust", "faiss"):
        raise ValueError(f"backend must be one of 'auto', 'rust', 'faiss'; not {backend!r}")
    q, c = _matrix(queries, "queries"), _matrix(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but the corpus has {c.shape[1]}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if backend == "faiss":
        return _faiss_knn(q, c, k, metric, exclude_self)
    scores, indices = _prefcore.knn(
        pa.array(q.reshape(-1)), q.shape[0], pa.array(c.reshape(-1)), c.shape[0], q.shape[1],
        k, metric, batch_size, exclude_self,
    )  # fmt: skip
    shape = (q.shape[0], k)
    return scores.to_numpy().reshape(shape), indices.to_numpy().reshape(shape)


def _faiss_knn(
    q: np.ndarray, c: np.ndarray, k: int, metric: str, exclude_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    try:
        import faiss
    except ImportError as e:  # pragma: no cover - the test environment has faiss
        raise ImportError("backend='faiss' needs faiss: pip install faiss-cpu") from e
    if metric == "cosine":
        for name, m in (("queries", q), ("corpus", c)):
            zero = np.flatnonzero((m * m).sum(axis=1) == 0)
            if len(zero):
                raise ValueError(
                    f"column '{name}', row {int(zero[0])}: zero vector has no cosine similarity"
                )
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        c = c / np.linalg.norm(c, axis=1, keepdims=True)
    index = faiss.IndexFlatL2(c.shape[1]) if metric == "l2" else faiss.IndexFlatIP(c.shape[1])
    index.add(c)
    if not exclude_self:
        scores, indices = index.search(q, k)
        return scores, indices
    scores, indices = index.search(q, k + 1)
    keep = indices != np.arange(len(q))[:, None]
    # Drop the query's own row where found, else the last (k+1-th) neighbour.
    keep[keep.all(axis=1), -1] = False
    shape = (len(q), k)
    return scores[keep].reshape(shape), indices[keep].reshape(shape)


def range_search(
    queries: Any,
    corpus: Any,
    threshold: float,
    *,
    metric: Metric = "ip",
    batch_size: int | None = None,
    exclude_self: bool = False,
) -> pa.Table:
    """Every (query, corpus row) pair whose score is at or above ``threshold`` (at or
    below for ``metric="l2"``, a squared distance): a table ``query_idx``,
    ``corpus_idx``, ``score``, ordered by query then corpus row (FAISS's ``lims``
    are the offsets of each query's run: ``np.searchsorted(query_idx, range(nq + 1))``).

    >>> x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    >>> range_search(x, x, 0.75, metric="cosine", exclude_self=True).to_pydict()["corpus_idx"]
    [1, 0]
    """
    if metric not in ("ip", "cosine", "l2"):
        raise ValueError(f"metric must be one of 'ip', 'cosine', 'l2'; not {metric!r}")
    q, c = _matrix(queries, "queries"), _matrix(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have dimension {q.shape[1]} but the corpus has {c.shape[1]}")
    qi, cj, score = _prefcore.range_search(
        pa.array(q.reshape(-1)), q.shape[0], pa.array(c.reshape(-1)), c.shape[0], q.shape[1],
        float(threshold), metric, batch_size, exclude_self,
    )  # fmt: skip
    return pa.table({"query_idx": qi, "corpus_idx": cj, "score": score})
