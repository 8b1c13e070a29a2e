"""Embedding matching: exact k-nearest-neighbour search in FAISS's result layout.

Embeddings are 2-D float32 arrays (numpy, torch, or an Arrow
``fixed_size_list<float32>`` column); float64 input is converted to float32 (a copy,
as FAISS would need too). Results are ``(scores, indices)`` numpy arrays of shape
``[nq, k]``, best first, with index ``-1`` (and FAISS's ``∓FLT_MAX`` score) where the
corpus has fewer than ``k`` rows.

- ``backend="rust"``: prefcore's exact search (blocked GEMM fused with a per-query
  top-k, parallel over query blocks); ties keep the lower corpus index.
- ``backend="faiss"``: ``faiss.IndexFlatIP`` / ``IndexFlatL2`` (import on demand).
- ``backend="torch"``: blocked matrix products and ``torch.topk`` on ``device``
  (import on demand); equal scores come in any order.
- ``backend="auto"``: rust on the CPU. On the GPU (``device="cuda"``, or a CUDA tensor
  given): faiss when it sees a GPU (``faiss.knn_gpu``), else torch with CUDA.
- ``device="cuda"``: an error naming what is missing when neither faiss-gpu nor a
  CUDA build of torch (or no GPU) is there.

:func:`range_search` returns every pair within a threshold as an Arrow table,
:func:`match` pairs two sets one to one, :func:`evaluate_matching` scores alignments.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from prefcore import _prefcore
from prefcore._arrow import float32_matrix
from prefcore._check import numbers, renamed
from prefcore._optional import require
from prefcore._progress import Progress, reporting
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, InvalidArgumentError, invalid_value

__all__ = ["evaluate_matching", "knn", "match", "range_search"]

Metric = Literal["ip", "cosine", "l2"]
Backend = Literal["auto", "rust", "faiss", "torch"]
# Scores held at once by the torch backend, per query block (1 GiB of float32).
_TORCH_BLOCK_SCORES = 1 << 28


def knn(
    queries: Any,
    corpus: Any,
    k: int = 10,
    *,
    metric: Metric = "ip",
    backend: Backend = "auto",
    device: Literal["cpu", "cuda"] | None = None,
    corpus_block: int | None = None,
    exclude_self: bool = False,
    batch_size: int | None = None,
    progress: Progress = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest corpus rows of every query: ``(scores, indices)``, ``[nq, k]``.

    ``metric``: ``"ip"`` (inner product, largest first), ``"cosine"`` (largest first;
    a zero vector is an error) or ``"l2"`` (squared distance, smallest first, as
    FAISS reports it). ``corpus_block`` bounds the corpus rows multiplied at once per
    query block (memory; ``batch_size`` is its old name). ``exclude_self`` skips corpus
    row ``i`` for query ``i`` (searching a matrix against itself). Non-finite values are
    an error naming the row.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> c = np.array([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]], dtype=np.float32)
    >>> scores, idx = knn(q, c, k=2)
    >>> idx.tolist()
    [[0, 2], [1, 2]]
    """
    corpus_block = renamed("batch_size", batch_size, "corpus_block", corpus_block)
    if device is None:
        device = "cuda" if _on_cuda(queries) or _on_cuda(corpus) else "cpu"
    if device == "cuda" and backend == "rust":
        raise InvalidArgumentError(
            "backend='rust' runs on the CPU; use backend='faiss', 'torch' or 'auto' for CUDA",
            argument="backend",
        )
    q, c = float32_matrix(queries, "queries"), float32_matrix(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise InvalidArgumentError(
            f"queries have dimension {q.shape[1]} but the corpus has {c.shape[1]}"
        )
    if k < 1:
        raise InvalidArgumentError(f"k must be at least 1, got {k}", argument="k")
    if device == "cuda" or backend in ("faiss", "torch"):
        _require_finite(q, "queries")  # the Rust backend checks its own input
        _require_finite(c, "corpus")
    if device == "cuda":
        return _gpu_knn(q, c, k, metric, exclude_self, backend)
    if backend == "faiss":
        return _faiss_knn(q, c, k, metric, exclude_self)
    if backend == "torch":
        return _torch_knn(q, c, k, metric, exclude_self, "cpu")
    with reporting(progress, "match.knn", unit=" queries"):
        found = _prefcore.knn(
            pa.array(q.reshape(-1)), q.shape[0], pa.array(c.reshape(-1)), c.shape[0],
            q.shape[1], k, metric, corpus_block, exclude_self,
        )  # fmt: skip
    shape = (q.shape[0], k)
    return found.scores.to_numpy().reshape(shape), found.indices.to_numpy().reshape(shape)


def _require_finite(a: np.ndarray, name: str) -> None:
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        raise invalid_value(name, bad[0][0], f"non-finite value at dimension {bad[0][1]}")


def _on_cuda(x: Any) -> bool:
    device = getattr(x, "device", None)
    return getattr(device, "type", None) == "cuda"


def _faiss_gpus() -> int:
    """GPUs faiss can search on (0 without faiss or without its GPU build)."""
    try:
        import faiss
    except ImportError:
        return 0
    return int(faiss.get_num_gpus()) if hasattr(faiss, "knn_gpu") else 0


def _torch_has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _gpu_knn(
    q: np.ndarray, c: np.ndarray, k: int, metric: str, exclude_self: bool, backend: str
) -> tuple[np.ndarray, np.ndarray]:
    """Search on the GPU with faiss or torch, as `backend` allows and as installed."""
    if backend in ("auto", "faiss") and _faiss_gpus() > 0:
        return _faiss_knn(q, c, k, metric, exclude_self, gpu=True)
    if backend in ("auto", "torch") and _torch_has_cuda():
        return _torch_knn(q, c, k, metric, exclude_self, "cuda")
    wanted = {
        "faiss": "faiss built with GPU support (pip install faiss-gpu-cu12)",
        "torch": "a CUDA build of torch",
    }
    need = wanted.get(backend, " or ".join(wanted.values()))
    raise RuntimeError(
        f"device='cuda' needs {need} and a visible GPU; faiss sees {_faiss_gpus()} GPU(s), "
        f"torch {'does' if _torch_has_cuda() else 'does not'} see CUDA"
    )


def _unit_rows(q: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to length 1 (cosine as inner product); a zero row is an error. The
    norms are taken in float64: a float32 square overflows from about 1.8e19."""
    out = []
    for name, m in (("queries", q), ("corpus", c)):
        wide = m.astype(np.float64)
        norm = np.sqrt((wide * wide).sum(axis=1, keepdims=True))
        zero = np.flatnonzero(norm[:, 0] == 0)
        if len(zero):
            raise invalid_value(name, int(zero[0]), "zero vector has no cosine similarity")
        out.append((wide / norm).astype(m.dtype))
    return out[0], out[1]


def _drop_self(scores: np.ndarray, indices: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """From k + 1 neighbours, drop the query's own row where found, else the last."""
    keep = indices != np.arange(len(indices))[:, None]
    keep[keep.all(axis=1), -1] = False
    shape = (len(indices), k)
    return scores[keep].reshape(shape), indices[keep].reshape(shape)


def _torch_knn(
    q: np.ndarray, c: np.ndarray, k: int, metric: str, exclude_self: bool, device: str
) -> tuple[np.ndarray, np.ndarray]:
    torch = require("torch", "backend='torch'")
    if metric == "cosine":
        q, c = _unit_rows(q, c)
    kk = k + 1 if exclude_self else k
    take = min(kk, len(c))
    # FAISS's layout where the corpus runs out: index -1, the worst possible score.
    worst = np.finfo(np.float32).max * (1 if metric == "l2" else -1)
    scores = np.full((len(q), kk), worst, dtype=np.float32)
    indices = np.full((len(q), kk), -1, dtype=np.int64)
    if take > 0:
        corpus = torch.from_numpy(c).to(device)
        corpus_sq = (corpus * corpus).sum(dim=1)
        rows = max(1, _TORCH_BLOCK_SCORES // len(c))
        for start in range(0, len(q), rows):
            block = torch.from_numpy(q[start : start + rows]).to(device)
            products = block @ corpus.T
            if metric == "l2":
                # |q - c|^2 = |q|^2 - 2 q.c + |c|^2, never below 0.
                dist = (block * block).sum(dim=1, keepdim=True) - 2 * products + corpus_sq
                best, where = torch.topk(dist.clamp_(min=0), take, dim=1, largest=False)
            else:
                best, where = torch.topk(products, take, dim=1)
            end = start + len(block)
            scores[start:end, :take] = best.cpu().numpy()
            indices[start:end, :take] = where.cpu().numpy()
    return _drop_self(scores, indices, k) if exclude_self else (scores, indices)


def _faiss_knn(
    q: np.ndarray, c: np.ndarray, k: int, metric: str, exclude_self: bool, gpu: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    faiss = require("faiss", "backend='faiss'")
    if metric == "cosine":
        q, c = _unit_rows(q, c)

    def search(kk: int) -> tuple[np.ndarray, np.ndarray]:
        if gpu:
            res = faiss.StandardGpuResources()
            faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
            found = faiss.knn_gpu(res, q, c, kk, metric=faiss_metric)
        else:
            flat = faiss.IndexFlatL2 if metric == "l2" else faiss.IndexFlatIP
            index = flat(c.shape[1])
            index.add(c)
            found = index.search(q, kk)
        return np.asarray(found[0]), np.asarray(found[1])

    if not exclude_self:
        return search(k)
    return _drop_self(*search(k + 1), k)


def range_search(
    queries: Any,
    corpus: Any,
    threshold: float,
    *,
    metric: Metric = "ip",
    corpus_block: int | None = None,
    exclude_self: bool = False,
    batch_size: int | None = None,
    progress: Progress = None,
) -> pa.Table:
    """Every (query, corpus row) pair whose score is at or above ``threshold`` (at or
    below for ``metric="l2"``, a squared distance): a table ``query_idx``,
    ``corpus_idx``, ``score``, ordered by query then corpus row (FAISS's ``lims``
    are the offsets of each query's run: ``np.searchsorted(query_idx, range(nq + 1))``).
    ``corpus_block`` bounds the corpus rows multiplied at once (``batch_size`` is its old
    name).

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    >>> range_search(x, x, 0.75, metric="cosine", exclude_self=True).to_pydict()["corpus_idx"]
    [1, 0]
    """
    corpus_block = renamed("batch_size", batch_size, "corpus_block", corpus_block)
    q, c = float32_matrix(queries, "queries"), float32_matrix(corpus, "corpus")
    if q.shape[1] != c.shape[1]:
        raise InvalidArgumentError(
            f"queries have dimension {q.shape[1]} but the corpus has {c.shape[1]}"
        )
    with reporting(progress, "match.range_search", unit=" blocks"):
        return _prefcore.range_search(
            pa.array(q.reshape(-1)), q.shape[0], pa.array(c.reshape(-1)), c.shape[0],
            q.shape[1], float(threshold), metric, corpus_block, exclude_self,
        )  # fmt: skip


def match(
    a: Any,
    b: Any,
    *,
    method: Literal["greedy", "mutual", "hungarian", "stable"] = "greedy",
    metric: Metric = "cosine",
    rescore: Literal["csls"] | None = None,
    csls_k: int = 10,
    threshold: float | None = None,
) -> pa.Table:
    """One-to-one matching of the rows of ``a`` and ``b``: a table ``a_idx``,
    ``b_idx``, ``score``, ``rank`` (``b``'s place among all of ``a``'s candidates by
    score, 1 = best), ordered by ``a_idx``.

    ``method``: ``"greedy"`` (highest score first, each row used once), ``"mutual"``
    (mutual nearest neighbours), ``"hungarian"`` (maximum total score, as
    ``scipy.optimize.linear_sum_assignment(maximize=True)``) or ``"stable"``
    (stable marriage, ``a`` proposing). ``rescore="csls"`` replaces each similarity by
    ``2·s - r_a - r_b`` (``r`` the mean of a row's ``csls_k`` best similarities), which
    damps hubs. ``threshold`` drops matches scoring below it (above it for ``l2``
    without rescoring). Ties prefer lower indices. The score matrix is dense
    (``len(a) x len(b)`` float32).

    >>> a = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> b = np.array([[0.1, 1.0], [1.0, 0.2]], dtype=np.float32)
    >>> match(a, b, method="hungarian").select(["a_idx", "b_idx", "rank"]).to_pydict()
    {'a_idx': [0, 1], 'b_idx': [1, 0], 'rank': [1, 1]}
    """
    # metric and method are checked by the core; rescore and threshold are ours.
    if rescore not in (None, "csls"):
        raise InvalidArgumentError(
            f"rescore must be None or 'csls'; not {rescore!r}", argument="rescore"
        )
    if threshold is not None and math.isnan(threshold):
        raise InvalidArgumentError("threshold must be a number, not NaN", argument="threshold")
    x, y = float32_matrix(a, "a"), float32_matrix(b, "b")
    if x.shape[1] != y.shape[1]:
        raise InvalidArgumentError(f"a has dimension {x.shape[1]} but b has {y.shape[1]}")
    out = _prefcore.match_sets(
        pa.array(x.reshape(-1)), x.shape[0], pa.array(y.reshape(-1)), y.shape[0], x.shape[1],
        metric, method, csls_k if rescore == "csls" else None,
    )  # fmt: skip
    if threshold is not None:
        s = out.column("score").to_numpy()
        keep = s <= threshold if (metric == "l2" and rescore is None) else s >= threshold
        out = out.filter(pa.array(keep))
    return out


def evaluate_matching(pred: Any, gold: Any, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, float]:
    """Alignment metrics (entity alignment / bilingual lexicon conventions): for each
    query row ``i`` with gold target ``gold[i]``, its rank among the candidates, then
    ``hits@k`` (share ranked within ``k``), ``mrr`` and ``mean_rank``.

    ``pred`` is either a full ``[n, m]`` score matrix (rank = 1 + the number of
    candidates scoring strictly higher than the gold one) or ``[n, K]`` ranked candidate
    indices such as :func:`knn` returns (a gold target not among them counts as a miss,
    0 in MRR, and rank ``K + 1`` in the mean rank).

    >>> scores = np.array([[0.9, 0.1, 0.3], [0.2, 0.4, 0.8]])
    >>> evaluate_matching(scores, [0, 1], ks=(1, 2))
    {'hits@1': 0.5, 'hits@2': 1.0, 'mrr': 0.75, 'mean_rank': 1.5}
    """
    p = numbers("pred", pred, None)
    g = numbers("gold", gold, np.int64)
    if p.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"pred must hold numbers, not {p.dtype}", argument="pred")
    if g.ndim != 1:
        raise InvalidArgumentError(f"gold must be 1-D, got shape {g.shape}", argument="gold")
    if p.ndim != 2 or len(p) != len(g):
        raise InvalidArgumentError(
            f"pred must be 2-D with one row per gold target ({len(g)}), got {p.shape}",
            argument="pred",
        )
    if len(g) == 0:
        raise InvalidArgumentError("evaluate_matching needs at least one query")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidArgumentError(f"ks must hold positive integers, not {k!r}", argument="ks")
    if np.issubdtype(p.dtype, np.integer):
        found = p == g[:, None]
        hit = found.any(axis=1)
        position = np.where(hit, found.argmax(axis=1) + 1, p.shape[1] + 1)
        reciprocal = np.where(hit, 1.0 / position, 0.0)
    else:
        if ((g < 0) | (g >= p.shape[1])).any():
            raise InvalidArgumentError(f"gold targets must lie in 0..{p.shape[1] - 1}")
        bad = np.argwhere(np.isnan(p))
        if len(bad):
            raise invalid_value("pred", int(bad[0][0]), f"NaN score at column {bad[0][1]}")
        gold_score = p[np.arange(len(g)), g]
        position = 1 + (p > gold_score[:, None]).sum(axis=1)
        hit = np.ones(len(g), dtype=bool)
        reciprocal = 1.0 / position
    # A gold target absent from the candidates is a miss at every k, however large.
    out = {f"hits@{k}": float((hit & (position <= k)).mean()) for k in ks}
    out["mrr"] = float(reciprocal.mean())
    out["mean_rank"] = float(position.mean())
    return out


check_arguments(__name__)  # each public function checks its arguments' annotations
