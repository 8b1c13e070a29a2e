"""GPU checks, run on a machine with an NVIDIA GPU (torch with CUDA; faiss-gpu for the
faiss test):

    PREFCORE_GPU_TESTS=1 python -m pytest tests/gpu

(CI has no GPU; tests/conftest.py leaves this folder out unless asked.) The GPU results
must equal the CPU ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prefcore import match


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(20_000, 64)).astype(np.float32)
    queries = rng.normal(size=(500, 64)).astype(np.float32)
    return queries, corpus


@pytest.mark.parametrize("backend", ["torch", "faiss"])
@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_cuda_knn_equals_the_cpu(metric: str, backend: str) -> None:
    queries, corpus = _data()
    cpu_scores, cpu_idx = match.knn(queries, corpus, 10, metric=metric, backend="rust")  # type: ignore[arg-type]
    gpu_scores, gpu_idx = match.knn(
        queries, corpus, 10, metric=metric, device="cuda", backend=backend
    )  # type: ignore[arg-type]
    assert (gpu_idx == cpu_idx).mean() > 0.999
    np.testing.assert_allclose(gpu_scores, cpu_scores, rtol=1e-3, atol=1e-3)


def test_cuda_tensors_select_the_gpu_by_themselves() -> None:
    queries, corpus = _data()
    _, cpu_idx = match.knn(queries, corpus, 10, backend="rust")
    _, t_idx = match.knn(torch.tensor(queries).cuda(), torch.tensor(corpus).cuda(), 10)
    assert (t_idx == cpu_idx).mean() > 0.999
    _, self_idx = match.knn(torch.tensor(queries).cuda(), torch.tensor(queries).cuda(), 3,
                            exclude_self=True)  # fmt: skip
    assert all(i not in row for i, row in enumerate(self_idx.tolist()))
