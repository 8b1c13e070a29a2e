"""Pinned batches and their trip to the GPU (run with PREFCORE_GPU_TESTS=1 on a machine
with CUDA)."""

from __future__ import annotations

import pyarrow as pa
import torch

from prefcore.torch import PreferenceCollator, dataloader

ROWS = [
    {"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]},
    {"prompt_ids": [7, 8], "chosen_ids": [9], "rejected_ids": [10, 11]},
]


def test_collator_pins_and_the_batch_survives_the_copy():
    pinned = PreferenceCollator(0, pin_memory=True)(ROWS)
    plain = PreferenceCollator(0)(ROWS)
    for key, tensor in pinned.items():
        assert tensor.is_pinned(), key
        on_gpu = tensor.to("cuda", non_blocking=True)
        torch.cuda.synchronize()
        assert torch.equal(on_gpu.cpu(), plain[key]), key


def test_dataloader_pin_memory():
    loader = dataloader(
        pa.Table.from_pylist(ROWS * 8), pad_token_id=0, batch_size=4, pin_memory=True, shuffle=False
    )
    batch = next(iter(loader))
    assert batch["input_ids"].is_pinned() and batch["input_ids"].shape == (8, 5)
