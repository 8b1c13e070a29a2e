"""GPU checks, run on a machine with an NVIDIA GPU and faiss-gpu:

    PREFCORE_GPU_TESTS=1 python -m pytest tests/gpu

(CI has no GPU; tests/conftest.py leaves this folder out unless asked.) The GPU results
must equal the CPU ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prefcore import match


@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_cuda_knn_equals_the_cpu(metric: str) -> None:
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(20_000, 64)).astype(np.float32)
    queries = rng.normal(size=(500, 64)).astype(np.float32)
    cpu_scores, cpu_idx = match.knn(queries, corpus, 10, metric=metric, backend="rust")  # type: ignore[arg-type]
    gpu_scores, gpu_idx = match.knn(queries, corpus, 10, metric=metric, device="cuda")  # type: ignore[arg-type]
    assert (gpu_idx == cpu_idx).mean() > 0.999
    np.testing.assert_allclose(gpu_scores, cpu_scores, rtol=1e-3, atol=1e-3)
    # CUDA tensors select the GPU path by themselves.
    _, t_idx = match.knn(
        torch.tensor(queries).cuda(), torch.tensor(corpus).cuda(), 10, metric=metric
    )  # type: ignore[arg-type]
    assert (t_idx == cpu_idx).mean() > 0.999
