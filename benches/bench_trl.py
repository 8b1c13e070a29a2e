"""The data stage of one DPO epoch over the HH-RLHF sample, TRL's own pipeline against
prefcore.trl, in one process on the same input.

    python benches/bench_trl.py                 # the README figure
    python benches/bench_trl.py --repeat 5 --batch 8

Both sides start from the sample's transcripts (prompt inside ``chosen`` and
``rejected``), the same byte-level BPE tokenizer (trained here on the sample, 8,000
tokens) and ``DPOConfig(max_length=1024)``, and end with every batch of the epoch
collated, fetched from a ``datasets.Dataset`` the way the trainer's DataLoader does:

- TRL: ``DPOTrainer._prepare_dataset`` (extract the prompt, add EOS, tokenize, drop
  rows whose prompt fills ``max_length``), then ``DataCollatorForPreference``;
- prefcore: :func:`prefcore.trl.dpo_dataset`, with ``rules="trl"`` (the same ids as
  TRL's, checked here) and with prefcore's default rules, then
  :func:`prefcore.trl.preference_collator`.

Each side's best of ``--repeat`` runs is reported, and the ratio TRL / prefcore.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np


def tokenizer(texts: list[str]) -> Any:
    import transformers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=8000, special_tokens=["<eos>", "<unk>"], show_progress=False
    )
    bpe.train_from_iterator(texts, trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>")


def epoch(dataset: Any, collator: Any, batch: int, seed: int) -> int:
    """Collate every batch of a shuffled epoch; returns the tokens collated."""
    order = np.random.default_rng(seed).permutation(len(dataset)).tolist()
    tokens = 0
    for start in range(0, len(order), batch):
        out = collator(dataset.__getitems__(order[start : start + batch]))
        tokens += int(out["attention_mask"].sum())
    return tokens


class _Preparer:
    """What ``DPOTrainer._prepare_dataset`` reads of the trainer: its tokenizer."""

    def __init__(self, tok: Any) -> None:
        self._tokenizer = tok


def trl_stage(pairs: Any, tok: Any, args: Any, batch: int) -> tuple[Any, int]:
    import trl
    from datasets import Dataset
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    prepared = trl.DPOTrainer._prepare_dataset(_Preparer(tok), Dataset(pairs), tok, args, "train")
    collator = DataCollatorForPreference(
        pad_token_id=tok.eos_token_id, max_length=args.max_length, truncation_mode="keep_start"
    )
    return prepared, epoch(prepared, collator, batch, seed=0)


def prefcore_stage(pairs: Any, tok: Any, args: Any, batch: int, rules: str) -> tuple[Any, int]:
    import prefcore.trl as ptrl

    prepared = ptrl.dpo_dataset(pairs, tok, args, rules=rules)  # type: ignore[arg-type]
    return prepared, epoch(prepared, ptrl.preference_collator(args, tok), batch, seed=0)


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8, help="pairs per batch (DPOConfig's default)")
    a = ap.parse_args()

    import datasets
    import transformers
    import trl

    from prefcore.data import load_hh_rlhf

    datasets.disable_progress_bars()
    datasets.disable_caching()
    transformers.logging.set_verbosity_error()
    pairs = load_hh_rlhf().select(["chosen", "rejected"])
    tok = tokenizer(pairs.column("chosen").to_pylist())
    args = trl.DPOConfig(
        output_dir="/tmp/bench_trl", max_length=1024, report_to="none", use_cpu=True
    )
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"TRL {trl.__version__}, {pairs.num_rows} HH pairs, batches of {a.batch}")

    t_trl, (trl_data, trl_tokens) = best(lambda: trl_stage(pairs, tok, args, a.batch), a.repeat)
    t_same, (same_data, same_tokens) = best(
        lambda: prefcore_stage(pairs, tok, args, a.batch, "trl"), a.repeat
    )
    t_own, (own_data, _own_tokens) = best(
        lambda: prefcore_stage(pairs, tok, args, a.batch, "prefcore"), a.repeat
    )
    columns = ("prompt_ids", "chosen_ids", "rejected_ids")
    same = all(trl_data[c] == same_data[c] for c in columns) and trl_tokens == same_tokens
    print(f"prefcore rules='trl' gives TRL's ids and batches: {same}")
    print(f"\n{'data stage of one epoch':<40}{'rows':>7}{'seconds':>10}{'vs TRL':>9}")
    for name, t, data in [
        ("TRL _prepare_dataset + collator", t_trl, trl_data),
        ("prefcore.trl, rules='trl'", t_same, same_data),
        ("prefcore.trl, prefcore's rules", t_own, own_data),
    ]:
        print(f"{name:<40}{len(data):>7}{t:>10.3f}{t_trl / t:>8.1f}x")
    if not same:
        raise SystemExit("prefcore rules='trl' differs from TRL's pipeline")


if __name__ == "__main__":
    main()
