"""Prompt-once batches against TRL's padded layout: tokens per batch, training time per
pair of a small model on CPU, and the collate rate, in one process on the same input.

    python benches/bench_prefix.py                  # the README figures
    python benches/bench_prefix.py --pairs 8 --steps 2 --layers 2

Inputs:
- the HH-RLHF sample, tokenized by a byte-level BPE trained on it (8,000 tokens);
- a long-prompt set of random ids: prompts 1,000-2,000 tokens, completions 100-500.

1. Tokens per batch of about 8 pairs: TRL's concatenated layout
   (``DataCollatorForPreference``: ``[2B, T]``), prefcore's prompt-once rows (rows
   padded to the longest), and the real tokens of both. Batches come from
   ``TokenBudgetSampler`` over the trees' sizes, the same batches for both layouts.
2. One forward and backward pass of a DPO loss on a small Llama (fp32, SDPA) per batch:
   TRL's layout with the log-softmax at completion positions only (the least work
   the layout allows) against :func:`prefcore.torch.sequence_logps` on prompt-once rows.
   Training tokens per second count the tokens of both sequences of each pair, the
   quantity the padded layout trains on.
3. Collation: batches per second of ``PrefixSharedCollator`` (without the mask, which is
   built on the device in training) and of ``PreferenceCollator`` on the same examples.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np


def long_prompt_set(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)

    def ids(lo: int, hi: int) -> list[int]:
        return rng.integers(3, 4000, size=int(rng.integers(lo, hi + 1))).tolist()

    return [
        {"prompt_ids": ids(1000, 2000), "chosen_ids": ids(100, 500), "rejected_ids": ids(100, 500)}
        for _ in range(n)
    ]


def hh_set() -> list[dict]:
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from prefcore.data import load_hh_rlhf
    from prefcore.trl import dpo_dataset

    hh = load_hh_rlhf().select(["chosen", "rejected"])
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=4000, special_tokens=["<eos>", "<unk>"], show_progress=False
    )
    bpe.train_from_iterator(hh.column("chosen").to_pylist(), trainer)
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>")
    data = dpo_dataset(hh, tok)
    return [
        dict(zip(("prompt_ids", "chosen_ids", "rejected_ids"), r))
        for r in zip(data["prompt_ids"], data["chosen_ids"], data["rejected_ids"])
    ]


def batches(examples: list[dict], size: int) -> list[list[dict]]:
    """Batches of about ``size`` pairs whose trees (prompt + chosen + rejected) fill a
    token budget (``TokenBudgetSampler``, as ``dataloader(prefix_shared=True)`` makes
    them): the same batches for both layouts."""
    from prefcore.torch import TokenBudgetSampler

    trees = np.array(
        [len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in examples]
    )
    sampler = TokenBudgetSampler(trees, max_tokens=int(size * np.median(trees)), seed=0)
    return [[examples[i] for i in batch] for batch in sampler]


def token_counts(groups: list[list[dict]]) -> dict[str, float]:
    from prefcore.torch import PreferenceCollator, PrefixSharedCollator

    padded = shared = shared_real = unshared_real = 0
    for g in groups:
        padded += PreferenceCollator(0, return_tensors="np")(g)["input_ids"].size
        b = PrefixSharedCollator(0, attention="none")(g)
        shared += b["input_ids"].numel()
        shared_real += int((b["tree_ids"] >= 0).sum())
        unshared_real += sum(
            2 * len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in g
        )
    n = len(groups)
    return {
        "trl_padded": padded / n,
        "unshared_real": unshared_real / n,
        "shared": shared / n,
        "shared_real": shared_real / n,
    }


def small_llama(layers: int) -> Any:
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=4096,
        hidden_size=256,
        intermediate_size=688,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
    )
    return transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")


def trl_layout_logps(model: Any, batch: dict) -> Any:
    import torch

    ids, mask, comp = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
    hidden = model.get_decoder()(
        input_ids=ids, attention_mask=mask, use_cache=False
    ).last_hidden_state
    where = comp[:, 1:].bool()
    h = hidden[:, :-1][where]
    logp = torch.log_softmax(model.get_output_embeddings()(h).float(), -1)
    picked = logp.gather(1, ids[:, 1:][where][:, None]).squeeze(1)
    rows = torch.arange(ids.shape[0])[:, None].expand_as(where)[where]
    sums = torch.zeros(ids.shape[0]).index_add(0, rows, picked)
    return sums.chunk(2)


def dpo_step(model: Any, chosen: Any, rejected: Any) -> None:
    import torch

    loss = -torch.nn.functional.logsigmoid(0.1 * (chosen - rejected)).mean()
    loss.backward()
    model.zero_grad(set_to_none=True)


def training_time(groups: list[list[dict]], layers: int, steps: int) -> dict[str, float]:
    from prefcore.torch import PreferenceCollator, PrefixSharedCollator, sequence_logps

    model = small_llama(layers)
    trl_collate = PreferenceCollator(0)
    shared_collate = PrefixSharedCollator(0)
    timed = groups[:steps]
    # Warm-up, then each layout in turn per batch (the VM drifts).
    dpo_step(model, *trl_layout_logps(model, trl_collate(timed[0])))
    t_trl = t_shared = 0.0
    for g in timed:
        t = time.perf_counter()
        dpo_step(model, *trl_layout_logps(model, trl_collate(g)))
        t_trl += time.perf_counter() - t
        t = time.perf_counter()
        out = sequence_logps(model, shared_collate(g))
        dpo_step(model, out["chosen_logps"], out["rejected_logps"])
        t_shared += time.perf_counter() - t
    pairs = sum(len(g) for g in timed)
    tokens = sum(
        2 * len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"])
        for g in timed
        for e in g
    )
    return {"trl": t_trl, "shared": t_shared, "pairs": pairs, "tokens": tokens}


def collate_rate(groups: list[list[dict]], rounds: int = 5) -> tuple[float, float]:
    """Batches per second of each collator, the best of ``rounds`` passes taken in
    turn (the first pass of a process also pays for its fresh memory)."""
    from prefcore.torch import PreferenceCollator, PrefixSharedCollator

    def seconds(fn: Any) -> float:
        t = time.perf_counter()
        for g in groups:
            fn(g)
        return time.perf_counter() - t

    shared, padded = PrefixSharedCollator(0, attention="none"), PreferenceCollator(0)
    best = [min(pair) for pair in zip(*((seconds(shared), seconds(padded)) for _ in range(rounds)))]
    return len(groups) / best[0], len(groups) / best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=8, help="pairs per batch")
    ap.add_argument("--steps", type=int, default=4, help="batches timed per layout")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--long", type=int, default=1024, help="pairs in the long-prompt set")
    a = ap.parse_args()

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(os.cpu_count() or 1)
    # Gradients of a randomly initialised model reach subnormal floats, which some CPUs
    # (Intel's) compute on at a fraction of their speed: both layouts ran 3-4x slower
    # on some batches. Flushing them to zero is what a GPU run effectively does.
    torch.set_flush_denormal(True)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}"
    )
    sets = {"HH sample": hh_set(), "long prompts": long_prompt_set(a.long)}
    print(f"\n1. Tokens per batch of about {a.pairs} pairs")
    print(
        f"{'set':<14}{'TRL padded':>12}{'unshared real':>15}{'prompt-once':>13}"
        f"{'its real':>10}{'padding':>9}{'vs TRL':>8}"
    )
    for name, examples in sets.items():
        c = token_counts(batches(examples, a.pairs))
        pad = 1 - c["shared_real"] / c["shared"]
        print(
            f"{name:<14}{c['trl_padded']:>12.0f}{c['unshared_real']:>15.0f}{c['shared']:>13.0f}"
            f"{c['shared_real']:>10.0f}{pad:>8.1%}{c['trl_padded'] / c['shared']:>7.2f}x"
        )
    print(
        f"\n2. DPO forward + backward, Llama {a.layers} layers x 256, fp32 SDPA, {a.steps} batches"
    )
    for name, examples in sets.items():
        t = training_time(batches(examples, a.pairs), a.layers, a.steps)
        print(
            f"{name:<14} TRL layout {t['trl'] / t['pairs']:.3f} s/pair "
            f"({t['tokens'] / t['trl']:,.0f} training tokens/s), prompt-once "
            f"{t['shared'] / t['pairs']:.3f} s/pair ({t['tokens'] / t['shared']:,.0f} tokens/s): "
            f"{t['trl'] / t['shared']:.2f}x"
        )
    print("\n3. Collation")
    for name, examples in sets.items():
        shared, padded = collate_rate(batches(examples, a.pairs))
        print(
            f"{name:<14} PrefixSharedCollator {shared:,.0f} batches/s, "
            f"PreferenceCollator {padded:,.0f} batches/s ({shared / padded:.2f}x)"
        )


if __name__ == "__main__":
    main()
