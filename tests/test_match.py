"""prefcore.match.knn against faiss-cpu's exact indexes on the same data."""

from __future__ import annotations

import faiss
import numpy as np
import pyarrow as pa
import pytest

from prefcore import match


def same_neighbours(
    got: tuple[np.ndarray, np.ndarray], want: tuple[np.ndarray, np.ndarray]
) -> None:
    """Equal indices up to swaps among tied scores, scores equal to float32 rounding."""
    (gs, gi), (ws, wi) = got, want
    np.testing.assert_allclose(gs, ws, rtol=1e-4, atol=1e-4)
    for row in range(len(gi)):
        if not np.array_equal(gi[row], wi[row]):
            # Any difference must be among equal scores.
            assert sorted(gi[row].tolist()) == sorted(wi[row].tolist()) or np.allclose(
                np.sort(gs[row]), np.sort(ws[row]), atol=1e-4
            )


def faiss_search(
    q: np.ndarray, c: np.ndarray, k: int, metric: str
) -> tuple[np.ndarray, np.ndarray]:
    if metric == "cosine":
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        c = c / np.linalg.norm(c, axis=1, keepdims=True)
    index = faiss.IndexFlatL2(c.shape[1]) if metric == "l2" else faiss.IndexFlatIP(c.shape[1])
    index.add(np.ascontiguousarray(c, dtype=np.float32))
    return index.search(np.ascontiguousarray(q, dtype=np.float32), k)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
@pytest.mark.parametrize("k", [1, 10, 50])
def test_rust_knn_equals_faiss(metric: str, k: int) -> None:
    rng = np.random.default_rng(k)
    centers = rng.normal(size=(20, 48))
    corpus = (centers[rng.integers(0, 20, 3000)] + 0.3 * rng.normal(size=(3000, 48))).astype(
        np.float32
    )
    queries = (centers[rng.integers(0, 20, 500)] + 0.3 * rng.normal(size=(500, 48))).astype(
        np.float32
    )
    got = match.knn(queries, corpus, k, metric=metric, backend="rust", batch_size=700)  # type: ignore[arg-type]
    want = faiss_search(queries, corpus, k, metric)
    same_neighbours(got, want)
    assert (got[1] == want[1]).mean() > 0.99
    via_faiss = match.knn(queries, corpus, k, metric=metric, backend="faiss")  # type: ignore[arg-type]
    same_neighbours(via_faiss, want)


def test_k_larger_than_the_corpus_and_an_empty_corpus() -> None:
    q = np.eye(3, dtype=np.float32)
    c = np.array([[1, 0, 0], [0, 2, 0]], dtype=np.float32)
    scores, idx = match.knn(q, c, 4)
    want_s, want_i = faiss_search(q, c, 4, "ip")
    same_neighbours((scores, idx), (want_s, want_i))  # row 2 ties 0 and 1 at score 0
    np.testing.assert_array_equal(idx[:, 2:], want_i[:, 2:])
    np.testing.assert_array_equal(scores, want_s)  # -FLT_MAX where missing, as FAISS
    s_l2, i_l2 = match.knn(q, c, 4, metric="l2")
    assert (i_l2[:, 2:] == -1).all() and (s_l2[:, 2:] == np.finfo(np.float32).max).all()
    _, empty_i = match.knn(q, np.zeros((0, 3), np.float32), 2)
    assert empty_i.shape == (3, 2) and (empty_i == -1).all()
    _, none_i = match.knn(np.zeros((0, 3), np.float32), c, 2)
    assert none_i.shape == (0, 2)


def test_exclude_self_and_ties_prefer_the_lower_index() -> None:
    x = np.array([[1, 0], [1, 0], [0, 1], [0.9, 0.1]], dtype=np.float32)
    _, idx = match.knn(x, x, 2, exclude_self=True)
    assert idx.tolist() == [[1, 3], [0, 3], [3, 0], [0, 1]]
    _, idx_faiss = match.knn(x, x, 2, exclude_self=True, backend="faiss")
    assert all(i not in row for i, row in enumerate(idx_faiss.tolist()))
    _, tied = match.knn(
        np.array([[1, 0]], np.float32), np.array([[1, 0], [1, 0], [1, 0]], np.float32), 2
    )
    assert tied.tolist() == [[0, 1]]


def test_inputs_float64_non_contiguous_torch_and_arrow() -> None:
    import torch

    rng = np.random.default_rng(1)
    c64 = rng.normal(size=(200, 16))
    q64 = rng.normal(size=(30, 32))[:, ::2]  # float64 and non-contiguous
    want = match.knn(np.ascontiguousarray(q64, np.float32), c64.astype(np.float32), 5)
    got = match.knn(q64, c64, 5)
    np.testing.assert_array_equal(got[1], want[1])
    from_torch = match.knn(torch.tensor(q64), torch.tensor(c64), 5)
    np.testing.assert_array_equal(from_torch[1], want[1])
    flat = pa.array(c64.astype(np.float32).reshape(-1))
    arrow = pa.FixedSizeListArray.from_arrays(flat, 16)
    np.testing.assert_array_equal(match.knn(q64, arrow, 5)[1], want[1])


def test_bad_input_is_named() -> None:
    c = np.ones((4, 3), np.float32)
    bad = c.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="column 'corpus', row 2: non-finite value at dimension 1"):
        match.knn(c, bad, 2)
    with pytest.raises(ValueError, match="queries have dimension 2 but the corpus has 3"):
        match.knn(np.ones((1, 2), np.float32), c, 2)
    with pytest.raises(ValueError, match="row 0: zero vector has no cosine similarity"):
        match.knn(np.zeros((1, 3), np.float32), c, 2, metric="cosine")
    with pytest.raises(ValueError, match="metric must be one of"):
        match.knn(c, c, 2, metric="dot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be 2-D"):
        match.knn(np.ones(3), c, 2)
    with pytest.raises(TypeError, match="must hold floats"):
        match.knn(np.ones((1, 3), dtype=np.int64), c, 2)
    with pytest.raises(ValueError, match="k must be at least 1"):
        match.knn(c, c, 0)
