"""Full training steps of the prompt-once trainers against TRL's own trainers: the same
model, data, batches and steps in one process, fp32 on the CPU, the reference pass
included for DPO.

    python benches/bench_trainers.py                # the RESULTS.md figures
    python benches/bench_trainers.py --steps 2 --layers 1   # a quick look

Data: long prompts (random ids; prompts 1,000-2,000 tokens, completions 100-500) and
HH-like ones (prompts 20-200, completions 20-200). Training tokens per second count what
the padded layout trains on (both sequences of each pair, the prompt in each), the same
count for both trainers, over one epoch of timed steps (each from its begin to its end),
after a one-step warm-up run of each trainer.

- DPO: TRL's ``DPOTrainer`` on the padded layout (``prefcore.trl.DPOTrainer``: TRL's
  trainer taking the tokenized rows as they are, its batches equal to TRL's own
  collator's) against ``prefcore.trl.PrefixSharedDPOTrainer``, each with a reference
  model.
- Reward model: ``trl.RewardTrainer`` (whole sequences) against
  ``prefcore.trl.PrefixSharedRewardTrainer`` (the prompt apart), on the same pairs.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from typing import Any

import numpy as np

VOCAB = 4000


def pairs(n: int, prompt: tuple[int, int], completion: tuple[int, int], seed: int) -> dict:
    rng = np.random.default_rng(seed)

    def ids(lo: int, hi: int) -> list[int]:
        return rng.integers(3, VOCAB, size=int(rng.integers(lo, hi + 1))).tolist()

    rows = [(ids(*prompt), ids(*completion), ids(*completion)) for _ in range(n)]
    return {
        "prompt_ids": [p for p, _, _ in rows],
        "chosen_ids": [c for _, c, _ in rows],
        "rejected_ids": [r for _, _, r in rows],
    }


def tokenizer() -> Any:
    import transformers
    from tokenizers import Tokenizer, models

    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{f"t{i}": i for i in range(3, VOCAB)}}
    bare = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=bare, pad_token="<pad>", eos_token="<eos>"
    )


def config(layers: int, labels: int | None = None) -> Any:
    import transformers

    extra = {} if labels is None else {"num_labels": labels, "pad_token_id": 0}
    return transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=256, intermediate_size=688, num_hidden_layers=layers,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=4096, **extra,
    )  # fmt: skip


def trained_tokens(data: dict) -> int:
    return sum(
        2 * len(p) + len(c) + len(r)
        for p, c, r in zip(data["prompt_ids"], data["chosen_ids"], data["rejected_ids"])
    )


def timed_steps(trainer: Any, steps: int) -> float:
    """Seconds of ``steps`` training steps (one epoch over the set), each from its begin
    to its end: forward, backward and optimizer, not the trainer's setup."""
    import transformers

    spans: list[float] = []

    class Clock(transformers.TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, *args: Any, **kwargs: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            spans.append(time.perf_counter() - self.start)

    trainer.add_callback(Clock())
    trainer.remove_callback(transformers.PrinterCallback)  # no log dicts on stdout
    trainer.args.max_steps = steps
    trainer.train()
    return sum(spans)


def dpo(data: dict, layers: int, steps: int, batch: int) -> tuple[float, float]:
    import torch
    import transformers
    import trl
    from datasets import Dataset

    import prefcore.trl as ptrl

    tok = tokenizer()

    def run(cls: Any, timed: int = steps) -> float:
        torch.manual_seed(0)
        model = transformers.LlamaForCausalLM(config(layers))
        ref = transformers.LlamaForCausalLM(config(layers))
        args = trl.DPOConfig(
            output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch, bf16=False,
            use_cpu=True, report_to="none", save_strategy="no", max_length=None,
            logging_steps=10**6, dataloader_num_workers=0, seed=0, disable_tqdm=True,
        )  # fmt: skip
        t = cls(model, ref_model=ref, args=args, train_dataset=Dataset.from_dict(data),
                processing_class=tok)  # fmt: skip
        return timed_steps(t, timed)

    run(ptrl.DPOTrainer, 1), run(ptrl.PrefixSharedDPOTrainer, 1)  # warm-up
    return run(ptrl.DPOTrainer), run(ptrl.PrefixSharedDPOTrainer)


def reward(data: dict, layers: int, steps: int, batch: int) -> tuple[float, float]:
    import torch
    import transformers
    import trl
    from datasets import Dataset

    import prefcore.trl as ptrl

    tok = tokenizer()
    whole = {
        "chosen_ids": [p + c for p, c in zip(data["prompt_ids"], data["chosen_ids"])],
        "rejected_ids": [p + r for p, r in zip(data["prompt_ids"], data["rejected_ids"])],
    }

    def run(cls: Any, rows: dict, timed: int = steps) -> float:
        torch.manual_seed(0)
        model = transformers.LlamaForSequenceClassification(config(layers, labels=1))
        args = trl.RewardConfig(
            output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch, bf16=False,
            use_cpu=True, report_to="none", save_strategy="no", max_length=None,
            logging_steps=10**6, dataloader_num_workers=0, seed=0, disable_tqdm=True,
        )  # fmt: skip
        t = cls(model, args=args, train_dataset=Dataset.from_dict(rows), processing_class=tok)
        return timed_steps(t, timed)

    run(trl.RewardTrainer, whole, 1), run(ptrl.PrefixSharedRewardTrainer, data, 1)  # warm-up
    return run(trl.RewardTrainer, whole), run(ptrl.PrefixSharedRewardTrainer, data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=4, help="timed steps per trainer")
    ap.add_argument("--batch", type=int, default=4, help="pairs per step")
    ap.add_argument("--layers", type=int, default=4, help="decoder layers of the model")
    a = ap.parse_args()
    n = a.steps * a.batch  # the timed steps: one epoch over the set
    import torch

    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__} on {torch.get_num_threads()} threads; Llama {a.layers} layers "
        f"x 256 hidden, fp32, batch {a.batch} pairs, {a.steps} timed steps"
    )
    sets = {
        "long prompts": pairs(n, (1000, 2000), (100, 500), seed=0),
        "HH-like prompts": pairs(n, (20, 200), (20, 200), seed=1),
    }
    print("| trainer | data | TRL tokens/s | prefcore tokens/s | ratio |")
    print("|---|---|---|---|---|")
    for name, run in (("DPO (with reference)", dpo), ("reward model", reward)):
        for label, data in sets.items():
            tokens = trained_tokens(data)  # every pair once
            t_trl, t_ours = run(data, a.layers, a.steps, a.batch)
            print(
                f"| {name} | {label} | {tokens / t_trl:,.0f} | {tokens / t_ours:,.0f} "
                f"| **{t_trl / t_ours:.2f}x** |",
                flush=True,
            )


if __name__ == "__main__":
    main()
