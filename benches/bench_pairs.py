"""Time prefcore's pair construction and Bradley-Terry against their usual peers on
the same input, in one process run; print ratios.

    python benches/bench_pairs.py              # the sizes of the README table
    python benches/bench_pairs.py --scale 0.1

- all_pairs (min_margin=1) vs a polars self-join of the exploded (long) table on the
  prompt id, filtered by margin, with both sides' texts in the result; prefcore with
  texts copied out (``texts="copy"``) and as dictionary columns over the input
  (``texts="dictionary"``, which like polars' string views copies no text).
- best_random vs the per-row Python loop of UltraFeedback-binarized style scripts.
- Bradley-Terry on battles among 100 models vs choix ``opt_pairwise`` (same
  objective, same alpha); the largest rating difference is printed.
"""

from __future__ import annotations

import os

# numpy's BLAS threads spin after use and steal the cores both sides compute on.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gc
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import prefcore
from prefcore import pairs, ratings

sys.path.insert(0, str(Path(__file__).parent))
from bench_metrics import level_note, timed


def scored_table(prompts: int, per_prompt: int, seed: int = 0) -> pa.Table:
    """One row per prompt; completions are short distinct strings, scores 1-10."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, 11, size=(prompts, per_prompt)).astype(np.float64)
    flat = pa.array([f"completion {i}" for i in range(prompts * per_prompt)])
    offsets = pa.array(np.arange(0, prompts * per_prompt + 1, per_prompt, dtype=np.int32))
    return pa.table(
        {
            "prompt": pa.array([f"prompt {i}" for i in range(prompts)]),
            "completions": pa.ListArray.from_arrays(offsets, flat),
            "scores": pa.ListArray.from_arrays(offsets, pa.array(scores.reshape(-1))),
        }
    )


def polars_all_pairs(long: Any) -> Any:
    import polars as pl

    joined = long.join(long, on="prompt_id", suffix="_r")
    return joined.filter(pl.col("score") - pl.col("score_r") >= 1).select(
        "prompt_id", "completion", "completion_r", "score", "score_r"
    )


def python_best_random(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The per-row loop of UltraFeedback-binarized scripts: best vs one random lower."""
    rnd = random.Random(seed)
    out = []
    for row in rows:
        scores = row["scores"]
        best = max(range(len(scores)), key=scores.__getitem__)
        lower = [i for i, s in enumerate(scores) if s < scores[best]]
        if not lower:
            continue
        r = rnd.choice(lower)
        out.append(
            {
                "prompt": row["prompt"],
                "chosen": row["completions"][best],
                "rejected": row["completions"][r],
                "score_chosen": scores[best],
                "score_rejected": scores[r],
            }
        )
    return out


def battles(n: int, models: int, seed: int = 0) -> tuple[pa.Table, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, models)
    a = rng.integers(0, models, n)
    b = (a + rng.integers(1, models, n)) % models
    a_wins = rng.random(n) < 1 / (1 + np.exp(strength[b] - strength[a]))
    names = np.array([f"model{i:03d}" for i in range(models)])
    table = pa.table(
        {"model_a": names[a], "model_b": names[b], "winner": np.where(a_wins, "model_a", "model_b")}
    )
    winners = np.where(a_wins, a, b)
    losers = np.where(a_wins, b, a)
    return table, list(zip(winners.tolist(), losers.tolist()))


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of `repeat` calls; each result is dropped before the next call
    (outputs of millions of rows would otherwise crowd memory), the last returned."""
    best, out = float("inf"), None
    for _ in range(repeat):
        out = None
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_strategies(prompts: int, per_prompt: int, levels: list[str]) -> None:
    import polars as pl

    t = scored_table(prompts, per_prompt)
    long = pl.from_arrow(
        pa.table(
            {
                "prompt_id": np.repeat(np.arange(prompts), per_prompt),
                "completion": t.column("completions").combine_chunks().flatten(),
                "score": t.column("scores").combine_chunks().flatten(),
            }
        )
    )
    # Best of several runs on both sides: a shared machine's timings vary run to run.
    repeat = 20 if per_prompt == 4 else 7
    # Copied texts at each SIMD level asked for (the pair masks have a variant per level).
    copy_times = {}
    for level in levels:
        prefcore.force_simd_level(level)
        copy_times[level], r = best_of(
            lambda: pairs.from_scores(t, strategy="all_pairs", min_margin=1.0).table, repeat
        )
        n_ours = r.num_rows
        del r
    prefcore.force_simd_level(None)
    # Dictionary texts index the input's strings, as polars' string views do.
    ours_dict, r = best_of(
        lambda: (
            pairs.from_scores(t, strategy="all_pairs", min_margin=1.0, texts="dictionary").table
        ),
        repeat,
    )
    assert r.num_rows == n_ours
    del r
    theirs, p = best_of(lambda: polars_all_pairs(long), repeat)
    assert n_ours == p.height, (n_ours, p.height)
    del p
    copied = ", ".join(
        f"{level_note(level).strip()} {ours:.3f}s: {theirs / ours:.1f}x".lstrip()
        for level, ours in copy_times.items()
    )
    print(
        f"all_pairs  {prompts} x {per_prompt}: {n_ours} pairs; polars self-join "
        f"{theirs:.3f}s; prefcore texts='copy' {copied}; "
        f"texts='dictionary' {ours_dict:.3f}s: {theirs / ours_dict:.1f}x"
    )
    # Each side runs with only its own input built: the loop's 3.2M Python objects,
    # walked by the gc.collect() before every timed call, would evict prefcore's
    # input from the cache first.
    ours, r = best_of(lambda: pairs.from_scores(t, strategy="best_random", seed=1), 20)
    rows = t.to_pylist()
    theirs, p = best_of(lambda: python_best_random(rows, 1), 3)
    assert r.table.num_rows == len(p)
    print(
        f"best_random {prompts} x {per_prompt}: prefcore {ours:.3f}s, Python loop "
        f"{theirs:.3f}s: {theirs / ours:.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--simd",
        default="auto",
        help="SIMD levels for all_pairs with copied texts, comma-separated, or 'all'",
    )
    args = parser.parse_args()
    levels = prefcore.simd_levels() if args.simd == "all" else args.simd.split(",")

    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, prefcore "
        f"{prefcore.__version__}, {prefcore.get_num_threads()} threads, "
        f"SIMD {prefcore.simd_level()}"
    )
    prompts = int(200_000 * args.scale)
    for per_prompt in (4, 16):
        bench_strategies(prompts, per_prompt, levels)
    import choix

    n_battles = int(1_000_000 * args.scale)
    table, data = battles(n_battles, 100)
    ours, _, r = timed(lambda: ratings.bradley_terry(table, scale="logit"), 3)
    theirs, _, theta = timed(lambda: choix.opt_pairwise(100, data, alpha=1e-6))
    want = dict(zip([f"model{i:03d}" for i in range(100)], theta - theta.mean()))
    got = dict(zip(r.table.column("model").to_pylist(), r.table.column("rating").to_pylist()))
    diff = max(abs(got[k] - want[k]) for k in want)
    print(
        f"bradley_terry {n_battles} battles, 100 models: prefcore {ours:.3f}s, choix "
        f"opt_pairwise {theirs:.3f}s: {theirs / ours:.1f}x (max rating difference {diff:.1e})"
    )


if __name__ == "__main__":
    main()
