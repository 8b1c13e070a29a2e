"""Arena leaderboards: prefcore.ratings.arena against the references it reproduces, on
the same generated battles in one run.

    python benches/bench_arena.py --battles 2000000 --models 200 --rounds 1000 \\
        --fastchat FastChat/fastchat/serve/monitor/rating_systems.py

FastChat's rating_systems.py is not on PyPI: give the file of a checkout with
--fastchat (without it FastChat is not timed). arena-rank comes from PyPI. A
reference's bootstrap is timed on --ref-rounds rounds and scaled to --rounds (its
rounds are independent fits of the same size); the line says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
import warnings
from typing import Any

import numpy as np
import pyarrow as pa

from prefcore import get_num_threads, ratings

STYLE = {"length": ("tok_a", "tok_b"), "headers": ("h_a", "h_b"), "lists": ("l_a", "l_b"),
         "bold": ("b_a", "b_b")}  # fmt: skip


def battles(m: int, n: int, seed: int = 0) -> pa.Table:
    """Battles among ``n`` models with Bradley-Terry strengths, a length effect, 10%
    ties, and FastChat's four style counts per side."""
    rng = np.random.default_rng(seed)
    strength = rng.normal(size=n)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    tok = rng.integers(1, 1000, (2, m))
    counts = rng.integers(0, 8, (6, m))
    p = 1 / (1 + np.exp(-(strength[a] - strength[b] + 0.001 * (tok[0] - tok[1]))))
    winner = np.where(rng.random(m) < 0.1, "tie",
                      np.where(rng.random(m) < p, "model_a", "model_b"))  # fmt: skip
    names = np.array([f"model-{i:03d}" for i in range(n)])
    cols = {"model_a": names[a], "model_b": names[b], "winner": winner,
            "tok_a": tok[0], "tok_b": tok[1]}  # fmt: skip
    for i, key in enumerate(("h", "l", "b")):
        cols[f"{key}_a"], cols[f"{key}_b"] = counts[2 * i], counts[2 * i + 1]
    return pa.table(cols)


def timed(f: Any, repeat: int = 1) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs (the first pays imports and compilation)."""
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def fastchat_frame(t: pa.Table) -> Any:
    df = t.select(["model_a", "model_b", "winner"]).to_pandas()
    keys = {"tok": "sum_assistant_{}_tokens", "h": "header_count_{}", "l": "list_count_{}",
            "b": "bold_count_{}"}  # fmt: skip
    # Python ints: FastChat tells a count from a dict of counts by isinstance(v, int).
    cols = {
        fmt.format(s): t.column(f"{k}_{s}").to_pylist() for k, fmt in keys.items() for s in "ab"
    }
    names = list(cols)
    df["conv_metadata"] = [dict(zip(names, row)) for row in zip(*cols.values())]
    return df


def load_fastchat(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("fastchat_rating_systems", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its pools pickle its functions
    spec.loader.exec_module(module)
    return module


def seconds(t: float, width: int) -> str:
    """Seconds with two decimals, or milliseconds under a second (a sandwich takes
    tens of them)."""
    return f"{t:{width}.2f} s" if t >= 1 else f"{t * 1e3:{width - 1}.1f} ms"


def line(task: str, ours: float, ref: float | None, who: str) -> None:
    ratio = f"{ref / ours:7.1f}x" if ref else "      -"
    ref_text = seconds(ref, 9) if ref else "        -"
    print(f"| {task:<44} | {seconds(ours, 8)} | {ref_text} | {ratio} | {who}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--battles", type=int, default=2_000_000)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--ref-rounds", type=int, default=4, help="rounds the references run")
    ap.add_argument("--fastchat", help="FastChat's fastchat/serve/monitor/rating_systems.py")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each sandwich (the best)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    t = battles(args.battles, args.models)
    print(f"{args.battles:,} battles among {args.models} models, 4 style features, "
          f"{args.rounds} bootstrap rounds; prefcore on {get_num_threads()} threads")  # fmt: skip
    print("| task | prefcore | reference | ratio | reference run |")
    print("|---|---:|---:|---:|---|")
    scale = args.rounds / args.ref_rounds
    fc = load_fastchat(args.fastchat) if args.fastchat else None
    df = fastchat_frame(t) if fc else None

    ours, _ = timed(lambda: ratings.arena(t, bootstrap=args.rounds, seed=0))
    ref = None
    if fc:
        point, _ = timed(lambda: fc.compute_bt(df))
        boot, _ = timed(lambda: fc.compute_bootstrap_bt(df, num_round=args.ref_rounds, num_cpu=2))
        ref = point + boot * scale
    scaled = f"({args.ref_rounds} rounds, scaled)"
    line("Bradley-Terry + bootstrap", ours, ref, f"FastChat compute_bt + bootstrap {scaled}")
    ours_fc, _ = timed(lambda: ratings.arena(t, compat="fastchat", bootstrap=args.rounds, seed=0))
    line("  the same, FastChat's own draws (compat)", ours_fc, ref, "as above")

    ours, _ = timed(lambda: ratings.arena(t, style=STYLE, bootstrap=args.rounds, seed=0))
    ref = None
    if fc:
        point, _ = timed(lambda: fc.compute_style_control(df))
        boot, _ = timed(
            lambda: fc.compute_bootstrap_style_control(df, num_round=args.ref_rounds, num_cpu=2)
        )
        ref = point + boot * scale
    line("style control + bootstrap", ours, ref, f"FastChat style control + bootstrap {scaled}")

    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.models.contextual_bradley_terry import ContextualBradleyTerry
    from arena_rank.utils.data_utils import ContextualPairDataset, PairDataset

    ours, _ = timed(lambda: ratings.arena(t, compat="arena-rank", ci="sandwich"), args.repeat)

    def arena_rank_bt() -> Any:
        data = PairDataset.from_pandas(t.select(["model_a", "model_b", "winner"]).to_pandas())
        model = BradleyTerry(n_competitors=len(data.competitors))
        return model.compute_ratings_and_cis(data, ci_method="sandwich")

    ref, _ = timed(arena_rank_bt, args.repeat)
    best = f"(best of {args.repeat})"
    line("Bradley-Terry + sandwich", ours, ref, f"arena-rank BradleyTerry {best}")
    ours, _ = timed(
        lambda: ratings.arena(t, compat="arena-rank", style=STYLE, weights="ipw", ci="sandwich"),
        args.repeat,
    )

    def arena_rank_contextual() -> Any:
        frame = t.to_pandas()
        cols = []
        for name, (ca, cb) in STYLE.items():
            frame[name] = (frame[ca] - frame[cb]) / (frame[ca] + frame[cb] + 1)
            cols.append(name)
        data = ContextualPairDataset.from_pandas(frame, feature_cols=cols)
        model = ContextualBradleyTerry(n_competitors=len(data.competitors), n_features=len(cols))
        return model.compute_ratings_and_cis(data, ci_method="sandwich")

    ref, _ = timed(arena_rank_contextual, args.repeat)
    line("style control + sandwich", ours, ref, f"arena-rank ContextualBradleyTerry {best}")
    assert math.isfinite(ours)


if __name__ == "__main__":
    main()
