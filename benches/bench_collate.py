"""Time prefcore's preference collator against TRL's ``DataCollatorForPreference`` on
the same batches in one process run; measure padding waste and a DataLoader epoch.

    python benches/bench_collate.py               # the README table (100k pairs)
    python benches/bench_collate.py --pairs 20000 --trl-batches 20

Data: random token ids, prompts 16-512 and completions 16-768 tokens (uniform,
independent), ``max_length=1024``, batches of 64 pairs.

1. Collation alone: TRL gets each batch as the list of example dicts its DataLoader
   hands it; prefcore gets the rows of a :class:`PreferenceDataset` (its DataLoader
   path) and, for comparison, the same list of dicts.
2. Padding waste (pad tokens / all tokens of the collated tensors), random batches of
   64 vs :class:`TokenBudgetSampler` with the same mean batch size, in the concatenated
   layout (which also pads each pair's shorter completion to its longer one), the
   separate layout and padding-free.
3. One DataLoader epoch with ``num_workers=2``: TRL's collator over a Hugging Face
   ``datasets.Dataset`` (how its trainers feed it) vs :func:`prefcore.torch.dataloader`.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import numpy as np
import pyarrow as pa

MAX_LENGTH = 1024
BATCH = 64


def token_lists(rng: np.random.Generator, n: int, lo: int, hi: int) -> pa.Array:
    lengths = rng.integers(lo, hi + 1, size=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = rng.integers(3, 32_000, size=int(offsets[-1]), dtype=np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def make_pairs(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "prompt_ids": token_lists(rng, n, 16, 512),
            "chosen_ids": token_lists(rng, n, 16, 768),
            "rejected_ids": token_lists(rng, n, 16, 768),
        }
    )


def per_batch(fn: Any, batches: list[Any]) -> float:
    t = time.perf_counter()
    for b in batches:
        fn(b)
    return (time.perf_counter() - t) / len(batches)


def collation(table: pa.Table, trl_batches: int, ours_batches: int) -> None:
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    from prefcore.torch import PreferenceCollator, PreferenceDataset

    data = PreferenceDataset(table)
    rng = np.random.default_rng(1)
    index = [rng.choice(len(data), BATCH, replace=False).tolist() for _ in range(ours_batches)]
    dicts = [[data[i] for i in rows] for rows in index[:trl_batches]]
    trl = DataCollatorForPreference(pad_token_id=0, max_length=MAX_LENGTH)
    ours = PreferenceCollator(0, max_length=MAX_LENGTH)
    t_trl = per_batch(trl, dicts)
    t_rows = per_batch(ours, [data.__getitems__(rows) for rows in index])
    t_dicts = per_batch(ours, dicts)
    tokens = np.mean([int(ours(data.__getitems__(r))["attention_mask"].sum()) for r in index[:20]])
    print(f"\n1. Collation, {BATCH} pairs per batch ({tokens:.0f} real tokens per batch)")
    print(f"{'collator':<44}{'batches/s':>12}{'tokens/s':>14}{'vs TRL':>9}")
    for name, t in [
        ("TRL DataCollatorForPreference (dicts)", t_trl),
        ("prefcore PreferenceCollator (dataset rows)", t_rows),
        ("prefcore PreferenceCollator (dicts)", t_dicts),
    ]:
        print(f"{name:<44}{1 / t:>12.1f}{tokens / t:>14.3g}{t_trl / t:>8.1f}x")


def waste_of(collated: dict[str, Any]) -> float:
    masks = [v for k, v in collated.items() if k.endswith("attention_mask")]
    if not masks:  # padding-free: nothing but tokens
        return 0.0
    real = sum(int(m.sum()) for m in masks)
    return 1 - real / sum(m.numel() for m in masks)


def padding(table: pa.Table, n_batches: int) -> None:
    from prefcore.torch import (
        FixedBatchSampler,
        PreferenceCollator,
        PreferenceDataset,
        TokenBudgetSampler,
    )

    data = PreferenceDataset(table)
    lengths = np.minimum(data.lengths(), 2 * MAX_LENGTH)
    budget = int(BATCH * lengths.mean())
    samplers = {
        f"random batches of {BATCH}": FixedBatchSampler(len(data), BATCH, seed=0),
        f"TokenBudgetSampler({budget} tokens)": TokenBudgetSampler(lengths, budget, seed=0),
    }
    print(f"\n2. Padding waste (pad / all tokens), first {n_batches} batches")
    print(f"{'batching':<36}{'pairs/batch':>12}{'concat':>9}{'separate':>10}{'packed':>8}")
    for name, sampler in samplers.items():
        batches = sampler.batches()[:n_batches]
        row = []
        for options in ({}, {"layout": "separate"}, {"padding_free": True}):
            c = PreferenceCollator(0, max_length=MAX_LENGTH, **options)
            row.append(np.mean([waste_of(c(data.__getitems__(b))) for b in batches]))
        size = np.mean([len(b) for b in batches])
        print(f"{name:<36}{size:>12.1f}{row[0]:>9.1%}{row[1]:>10.1%}{row[2]:>8.1%}")
    # The floor of the concatenated layout: each pair's shorter sequence padded to
    # its longer one, whatever the batching.
    p, c, r = (pa.compute.list_value_length(table.column(k)).to_numpy() for k in table.column_names)
    a, b = np.minimum(p + c, MAX_LENGTH), np.minimum(p + r, MAX_LENGTH)
    floor = 1 - (a + b).sum() / (2 * np.maximum(a, b)).sum()
    print(f"  (concat layout floor from chosen/rejected length gaps alone: {floor:.1%})")


def epoch(table: pa.Table, workers: int) -> None:
    import datasets
    import torch.utils.data
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    from prefcore.torch import dataloader

    hf = datasets.Dataset(table)
    trl_loader = torch.utils.data.DataLoader(
        hf,
        batch_size=BATCH,
        shuffle=True,
        num_workers=workers,
        collate_fn=DataCollatorForPreference(pad_token_id=0, max_length=MAX_LENGTH),
    )
    options = {"max_length": MAX_LENGTH}
    ours = dataloader(
        table, pad_token_id=0, batch_size=BATCH, num_workers=workers, collator_options=options
    )
    in_process = dataloader(table, pad_token_id=0, batch_size=BATCH, collator_options=options)
    print(f"\n3. One epoch over {len(table)} pairs, batches of {BATCH}")
    times = {}
    for name, loader in [
        (f"TRL collator over datasets.Dataset, {workers} workers", trl_loader),
        (f"prefcore dataloader, {workers} workers", ours),
        ("prefcore dataloader, in process", in_process),
    ]:
        t = time.perf_counter()
        n = sum(1 for _ in loader)
        times[name] = time.perf_counter() - t
        print(f"  {name:<48}{n / times[name]:>9.1f} batches/s ({times[name]:.1f} s)")
    a, b, c = times.values()
    print(f"  prefcore / TRL with {workers} workers: {a / b:.1f}x (in process: {a / c:.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--trl-batches", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-epoch", action="store_true")
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    table = make_pairs(args.pairs)
    collation(table, args.trl_batches, 400)
    padding(table, 200)
    if not args.skip_epoch:
        epoch(table, args.workers)


if __name__ == "__main__":
    main()
