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
    got = match.knn(queries, corpus, k, metric=metric, backend="rust", corpus_block=700)  # type: ignore[arg-type]
    want = faiss_search(queries, corpus, k, metric)
    same_neighbours(got, want)
    assert (got[1] == want[1]).mean() > 0.99
    via_faiss = match.knn(queries, corpus, k, metric=metric, backend="faiss")  # type: ignore[arg-type]
    same_neighbours(via_faiss, want)


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_torch_backend_equals_faiss(metric: str) -> None:
    rng = np.random.default_rng(7)
    corpus = rng.normal(size=(2500, 40)).astype(np.float32)
    queries = rng.normal(size=(300, 40)).astype(np.float32)
    got = match.knn(queries, corpus, 10, metric=metric, backend="torch")  # type: ignore[arg-type]
    want = faiss_search(queries, corpus, 10, metric)
    same_neighbours(got, want)
    assert got[1].dtype == np.int64 and got[0].dtype == np.float32
    # Query blocks: the same answer when only a few rows fit in one block.
    import prefcore.match as m

    old, m._TORCH_BLOCK_SCORES = m._TORCH_BLOCK_SCORES, 7 * len(corpus)
    try:
        blocked = match.knn(queries, corpus, 10, metric=metric, backend="torch")  # type: ignore[arg-type]
    finally:
        m._TORCH_BLOCK_SCORES = old
    np.testing.assert_array_equal(blocked[1], got[1])


def test_torch_backend_edges_match_the_rust_layout() -> None:
    q = np.eye(3, dtype=np.float32)
    c = np.array([[1, 0, 0], [0, 2, 0]], dtype=np.float32)
    for metric in ("ip", "l2"):
        want_s, want_i = match.knn(q, c, 4, metric=metric)  # type: ignore[arg-type]
        got_s, got_i = match.knn(q, c, 4, metric=metric, backend="torch")  # type: ignore[arg-type]
        np.testing.assert_array_equal(got_s, want_s)  # -FLT_MAX / FLT_MAX where missing
        np.testing.assert_array_equal(got_i[:, 2:], want_i[:, 2:])
    _, empty_i = match.knn(q, np.zeros((0, 3), np.float32), 2, backend="torch")
    assert empty_i.shape == (3, 2) and (empty_i == -1).all()
    x = np.array([[1, 0], [0.2, 1], [0, 1], [0.9, 0.1]], dtype=np.float32)
    _, idx = match.knn(x, x, 2, exclude_self=True, backend="torch")
    assert idx.tolist() == match.knn(x, x, 2, exclude_self=True)[1].tolist()
    with pytest.raises(ValueError, match="column 'corpus', row 0: zero vector"):
        match.knn(q, np.zeros((1, 3), np.float32), 1, metric="cosine", backend="torch")


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


@pytest.mark.parametrize(("metric", "threshold"), [("ip", 6.0), ("l2", 30.0)])
def test_range_search_equals_faiss(metric: str, threshold: float) -> None:
    rng = np.random.default_rng(7)
    corpus = rng.normal(size=(800, 16)).astype(np.float32)
    queries = rng.normal(size=(120, 16)).astype(np.float32)
    got = match.range_search(queries, corpus, threshold, metric=metric, corpus_block=300)  # type: ignore[arg-type]
    index = faiss.IndexFlatL2(16) if metric == "l2" else faiss.IndexFlatIP(16)
    index.add(corpus)
    lims, _, ids = index.range_search(queries, threshold)
    want = set()
    for qi in range(len(queries)):
        for j in range(lims[qi], lims[qi + 1]):
            want.add((qi, int(ids[j])))
    found = dict(
        zip(
            zip(got.column("query_idx").to_pylist(), got.column("corpus_idx").to_pylist()),
            got.column("score").to_pylist(),
        )
    )
    assert want <= set(found)
    # FAISS's bound is strict (> for IP, < for L2); ours includes the threshold itself.
    for pair in set(found) - want:
        assert found[pair] == pytest.approx(threshold, abs=1e-4)
    assert got.column("query_idx").to_pylist() == sorted(got.column("query_idx").to_pylist())


def test_semantic_dedup_is_the_components_of_the_threshold_graph() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from prefcore import dedup

    rng = np.random.default_rng(2)
    base = rng.normal(size=(150, 24))
    x = np.concatenate([base, base[:60] + 0.05 * rng.normal(size=(60, 24))]).astype(np.float32)
    r = dedup.semantic(x, threshold=0.95)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sim = unit @ unit.T
    a, b = np.nonzero(np.triu(sim >= 0.95, k=1))
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(x), len(x)))
    n_comp, labels = connected_components(graph, directed=False)
    assert r.stats["clusters"] == n_comp
    cid = r.cluster_id.to_numpy()
    # Same partition: rows share a cluster id exactly when they share a component.
    assert len(set(zip(cid.tolist(), labels.tolist()))) == n_comp
    assert r.stats["removed"] == len(x) - n_comp
    rep = r.representative.to_numpy()
    assert all(rep[i] == min(np.flatnonzero(cid == cid[i])) for i in range(len(x)))
    quality = rng.random(len(x))
    best = dedup.semantic(x, threshold=0.95, quality=quality).representative.to_numpy()
    for i in range(len(x)):
        members = np.flatnonzero(cid == cid[i])
        assert best[i] == members[np.argmax(quality[members])]
    with pytest.raises(ValueError, match="quality must hold one number per row"):
        dedup.semantic(x, quality=[1.0])


def test_semantic_dedup_bad_inputs() -> None:
    from prefcore import dedup

    x = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="threshold must be a number"):
        dedup.semantic(x, threshold=float("nan"))
    with pytest.raises(ValueError, match="metric must be one of 'cosine', 'ip'; not 'l2'"):
        dedup.semantic(x, metric="l2")  # type: ignore[arg-type]
    zero = x.copy()
    zero[1] = 0.0
    with pytest.raises(ValueError, match=r"'embeddings', row 1: zero vector has no cosine"):
        dedup.semantic(zero)
    nan = x.copy()
    nan[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"'embeddings', row 2: non-finite value at dimension 1"):
        dedup.semantic(nan)
    empty = dedup.semantic(np.zeros((0, 4), np.float32))
    assert empty.stats["rows"] == 0 and empty.stats["pairs"] == 0


@pytest.mark.parametrize(("na", "nb"), [(30, 30), (20, 35), (35, 20)])
def test_hungarian_total_equals_scipy(na: int, nb: int) -> None:
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(na * nb)
    a = rng.normal(size=(na, 8)).astype(np.float32)
    b = rng.normal(size=(nb, 8)).astype(np.float32)
    got = match.match(a, b, method="hungarian", metric="ip")
    sim = a @ b.T
    rows, cols = linear_sum_assignment(sim, maximize=True)
    assert got.num_rows == min(na, nb)
    assert float(got.column("score").to_numpy().sum()) == pytest.approx(
        float(sim[rows, cols].sum()), rel=1e-5
    )
    assert len(set(got.column("b_idx").to_pylist())) == got.num_rows


def test_greedy_mutual_stable_and_csls_by_reference() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(25, 6)).astype(np.float32)
    b = rng.normal(size=(30, 6)).astype(np.float32)
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    sim = unit(a) @ unit(b).T
    # Greedy: highest remaining score first.
    used_a, used_b, want = set(), set(), {}
    for flat in np.argsort(-sim, axis=None, kind="stable"):
        i, j = divmod(int(flat), sim.shape[1])
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            want[i] = j
    got = match.match(a, b, method="greedy")
    assert dict(zip(got.column("a_idx").to_pylist(), got.column("b_idx").to_pylist())) == want
    # Mutual nearest neighbours.
    best_b, best_a = sim.argmax(axis=1), sim.argmax(axis=0)
    mutual = {i: int(best_b[i]) for i in range(len(a)) if best_a[best_b[i]] == i}
    got = match.match(a, b, method="mutual")
    assert dict(zip(got.column("a_idx").to_pylist(), got.column("b_idx").to_pylist())) == mutual
    assert got.column("rank").to_pylist() == [1] * len(mutual)
    # Stable: no row and column that both prefer each other to their partners.
    st = match.match(a, b, method="stable")
    partner = dict(zip(st.column("a_idx").to_pylist(), st.column("b_idx").to_pylist()))
    holder = {j: i for i, j in partner.items()}
    for i in range(len(a)):
        for j in range(len(b)):
            if partner.get(i) != j:
                a_prefers = i not in partner or sim[i, j] > sim[i, partner[i]]
                b_prefers = j not in holder or sim[i, j] > sim[holder[j], j]
                assert not (a_prefers and b_prefers)
    # CSLS scores: 2s - r_a - r_b with k = 3.
    k = 3
    r_a = np.sort(sim, axis=1)[:, -k:].mean(axis=1)
    r_b = np.sort(sim, axis=0)[-k:, :].mean(axis=0)
    csls = 2 * sim - r_a[:, None] - r_b[None, :]
    got = match.match(a, b, method="mutual", rescore="csls", csls_k=k)
    for i, j, s in zip(*[got.column(c).to_pylist() for c in ("a_idx", "b_idx", "score")]):
        assert s == pytest.approx(csls[i, j], abs=1e-5)
    high = match.match(a, b, method="greedy", threshold=0.5)
    assert (high.column("score").to_numpy() >= 0.5).all()


def test_evaluate_matching_from_scores_and_from_knn() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8)).astype(np.float32)
    y = x + 0.3 * rng.normal(size=x.shape).astype(np.float32)
    gold = np.arange(40)
    sim = x @ y.T
    full = match.evaluate_matching(sim, gold, ks=(1, 5))
    _, idx = match.knn(x, y, 5)
    top5 = match.evaluate_matching(idx, gold, ks=(1, 5))
    assert full["hits@1"] == top5["hits@1"] and full["hits@5"] == top5["hits@5"]
    ranks = 1 + (sim > np.diag(sim)[:, None]).sum(axis=1)
    assert full["mrr"] == pytest.approx(float(np.mean(1 / ranks)))
    assert full["mean_rank"] == pytest.approx(float(ranks.mean()))


def test_cuda_requests_fail_clearly_without_a_gpu() -> None:
    x = np.ones((2, 3), np.float32)
    with pytest.raises(RuntimeError, match="device='cuda' needs faiss built with GPU support "
                       r"\(pip install faiss-gpu-cu12\) or a CUDA build of torch and a visible "
                       r"GPU; faiss sees 0 GPU\(s\), torch does not see CUDA"):  # fmt: skip
        match.knn(x, x, 1, device="cuda")
    with pytest.raises(RuntimeError, match="needs a CUDA build of torch and a visible GPU"):
        match.knn(x, x, 1, device="cuda", backend="torch")
    with pytest.raises(ValueError, match="backend must be one of 'auto', 'rust', 'faiss', 'torch'"):
        match.knn(x, x, 1, backend="jax")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backend='rust' runs on the CPU"):
        match.knn(x, x, 1, device="cuda", backend="rust")
    with pytest.raises(ValueError, match="device must be one of 'cpu', 'cuda' or None; not 'tpu'"):
        match.knn(x, x, 1, device="tpu")  # type: ignore[arg-type]


def test_bad_input_of_range_search_match_and_evaluation() -> None:
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="queries have dimension 3 but the corpus has 4"):
        match.range_search(np.ones((1, 3), np.float32), x, 0.5)
    with pytest.raises(ValueError, match="metric must be one of"):
        match.range_search(x, x, 0.5, metric="dot")  # type: ignore[arg-type]
    bad = x.copy()
    bad[1, 0] = np.inf
    with pytest.raises(ValueError, match="column 'corpus', row 1: non-finite value"):
        match.range_search(x, bad, 0.5)
    with pytest.raises(ValueError, match="method must be one of 'greedy'"):
        match.match(x, x, method="auction")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rescore must be one of 'csls' or None; not"):
        match.match(x, x, rescore="isf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a has dimension 4 but b has 2"):
        match.match(x, np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="pred must be 2-D with one row per gold target"):
        match.evaluate_matching(np.zeros((2, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match=r"gold targets must lie in 0\.\.2"):
        match.evaluate_matching(np.zeros((2, 3)), [0, 5])


def test_batch_size_is_the_old_name_of_corpus_block() -> None:
    from prefcore import dedup

    x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    want = match.knn(x, x, 3, corpus_block=7)
    with pytest.warns(DeprecationWarning, match="batch_size is now called corpus_block"):
        got = match.knn(x, x, 3, batch_size=7)
    assert (got[1] == want[1]).all()
    with pytest.warns(DeprecationWarning):
        old = match.range_search(x, x, 2.0, batch_size=7)
    assert old.equals(match.range_search(x, x, 2.0, corpus_block=7))
    with pytest.warns(DeprecationWarning):
        dedup.semantic(x, 0.9, batch_size=7)
    with pytest.raises(TypeError, match="give corpus_block only"):
        match.knn(x, x, 3, corpus_block=7, batch_size=7)
