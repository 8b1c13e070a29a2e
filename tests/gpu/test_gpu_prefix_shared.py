"""Prompt-once on the GPU: per-branch log-probs against the padded layout in bf16 with
SDPA and flex attention, and the training tokens/s and peak memory of
``PrefixSharedDPOTrainer`` against ``DPOTrainer`` in bf16 on a 0.5B model built from a
config (no download), long prompts and HH-like ones.

    PREFCORE_GPU_TESTS=1 python -m pytest tests/gpu/test_gpu_prefix_shared.py -s

The figures are printed (``-s``); the only asserts are on equality and on the ratio
being above 1. ``PREFCORE_GPU_DEVICE=cpu`` with ``PREFCORE_GPU_SMALL=1`` runs the same
code on a CPU with a tiny model, to check the script itself.
"""

from __future__ import annotations

import os
import random
import tempfile
import time

import pytest
import torch
import transformers

from prefcore.torch import PreferenceCollator, PrefixSharedCollator, sequence_logps

DEVICE = os.environ.get("PREFCORE_GPU_DEVICE", "cuda")
SMALL = os.environ.get("PREFCORE_GPU_SMALL") == "1"
VOCAB = 32000


def model_config() -> transformers.Qwen2Config:
    if SMALL:
        return transformers.Qwen2Config(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
        )  # fmt: skip
    # The shape of Qwen2-0.5B, from its published configuration.
    return transformers.Qwen2Config(
        vocab_size=VOCAB, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        tie_word_embeddings=True,
    )  # fmt: skip


def model(attention: str) -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    m = transformers.AutoModelForCausalLM.from_config(
        model_config(), attn_implementation=attention, torch_dtype=torch.bfloat16
    )
    return m.to(DEVICE)


def examples(n: int, prompt: tuple[int, int], completion: tuple[int, int]) -> list[dict]:
    rng = random.Random(0)

    def ids(lo: int, hi: int) -> list[int]:
        return [rng.randrange(3, VOCAB) for _ in range(rng.randint(lo, hi))]

    return [
        {
            "prompt_ids": ids(*prompt),
            "chosen_ids": ids(*completion),
            "rejected_ids": ids(*completion),
        }
        for _ in range(n)
    ]


LONG = ((1000, 2000), (100, 500))
HH = ((20, 200), (20, 200))


@pytest.mark.parametrize("attention", ["sdpa", "flex_attention"])
def test_branch_logps_equal_the_padded_layout_in_bf16(attention) -> None:
    if attention == "flex_attention" and DEVICE == "cpu":
        pytest.skip("flex attention is compiled for CUDA here")
    lm = model(attention).eval()
    rows = examples(8, (50, 400), (20, 200))
    kind = {"sdpa": "sdpa", "flex_attention": "flex"}[attention]
    batch = {
        k: v.to(DEVICE) if torch.is_tensor(v) else v
        for k, v in PrefixSharedCollator(0, attention=kind)(rows).items()
    }
    padded = PreferenceCollator(0, layout="separate")(rows)
    with torch.no_grad():
        ours = sequence_logps(lm, batch)
        for side in ("chosen", "rejected"):
            ids = padded[f"{side}_input_ids"].to(DEVICE)
            mask = padded[f"{side}_attention_mask"].to(DEVICE)
            logits = lm(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            token = torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None]).squeeze(2)
            want = (token * padded[f"{side}_completion_mask"][:, 1:].to(DEVICE)).sum(1)
            # bf16: a few parts in a thousand of each branch's sum.
            torch.testing.assert_close(ours[f"{side}_logps"], want, rtol=1e-2, atol=0.5)


def trainer_throughput(cls_name: str, rows: list[dict], steps: int = 4) -> tuple[float, float]:
    """Training tokens/s (both sequences of each pair, as the padded layout holds them)
    and peak GPU memory (GiB) of ``steps`` bf16 steps with the reference model."""
    import trl
    from datasets import Dataset
    from tokenizers import Tokenizer, models

    import prefcore.trl as ptrl

    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{f"t{i}": i for i in range(3, VOCAB)}}
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
        pad_token="<pad>", eos_token="<eos>",
    )  # fmt: skip
    args = trl.DPOConfig(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=4, bf16=True,
        report_to="none", save_strategy="no", max_length=None, max_steps=steps,
        logging_steps=10**6, disable_tqdm=True, use_cpu=DEVICE == "cpu",
    )  # fmt: skip
    data = Dataset.from_dict({k: [r[k] for r in rows] for k in rows[0]})
    cls = getattr(ptrl, cls_name)
    trainer = cls(model("sdpa"), ref_model=model("sdpa"), args=args, train_dataset=data,
                  processing_class=tok)  # fmt: skip
    if DEVICE == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    if DEVICE == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    used = rows[: steps * 4]
    tokens = sum(
        2 * len(r["prompt_ids"]) + len(r["chosen_ids"]) + len(r["rejected_ids"]) for r in used
    )
    peak = torch.cuda.max_memory_allocated() / 2**30 if DEVICE == "cuda" else float("nan")
    return tokens / seconds, peak


@pytest.mark.parametrize("name,shape", [("long prompts", LONG), ("HH-like prompts", HH)])
def test_prompt_once_trains_faster_in_bf16(name, shape) -> None:
    rows = examples(16, *shape)
    padded, padded_peak = trainer_throughput("DPOTrainer", rows)
    shared, shared_peak = trainer_throughput("PrefixSharedDPOTrainer", rows)
    print(
        f"\n{name}: DPOTrainer {padded:,.0f} tokens/s (peak {padded_peak:.2f} GiB), "
        f"PrefixSharedDPOTrainer {shared:,.0f} tokens/s (peak {shared_peak:.2f} GiB): "
        f"{shared / padded:.2f}x, memory {padded_peak / shared_peak:.2f}x less"
    )
    assert shared > padded
