"""Time prefcore.benchmarks against the benchmarks' own scoring code on the same
scores, in one run: 1M scored rows through every score, and AlpacaEval's
length-controlled fit on a leaderboard-sized input (805 instructions, two gamed
baselines).

    python benches/bench_benchmarks.py               # 1M rows
    python benches/bench_benchmarks.py --rows 20000  # a quick check

Peers: RewardBench 0.1.4's section scoring (with pandas forming the per-subset
accuracies, as its scripts do with ``datasets``), RewardBench's
``reroll_and_score_dataset`` and ``process_single_model``, RM-Bench's
``compute_accuracy`` (read from tests/data/benchmarks/rm_bench_compute_accuracy: not
on PyPI, so only when ``--rm-bench`` points at a checkout), alpaca-eval's
``get_winrate`` and ``get_length_controlled_winrate``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import logging
import math
import platform
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from benchmark_cases import functions

from prefcore import benchmarks

logging.getLogger().setLevel(logging.WARNING)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best, out


def line(name: str, rows: int, ours: float, peer: float | None, peer_name: str) -> None:
    ratio = f"{peer / ours:8.0f}x" if peer else "       -"
    shown = f"{peer:8.3f} s" if peer else "         -"
    print(f"{name:<14} {rows:>10,} rows  prefcore {ours:8.4f} s  {peer_name:<34} {shown}  {ratio}")


def _package_file(package: str, name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0], name)


def rewardbench_v1(rng: np.random.Generator, n: int, repeat: int) -> None:
    subsets = np.array(list(benchmarks.REWARDBENCH_COUNTS) + list(benchmarks.PRIOR_SETS))
    table = pa.table(
        {
            "id": np.arange(n),
            "subset": subsets[rng.integers(0, len(subsets), n)],
            "score_chosen": rng.normal(size=n),
            "score_rejected": rng.normal(size=n),
        }
    )
    ours, _ = best(lambda: benchmarks.rewardbench(table), repeat)
    scope: dict[str, Any] = {}
    ref = functions(
        _package_file("rewardbench", "utils.py"), "calculate_scores_per_section", scope=scope
    )["calculate_scores_per_section"]
    constants: dict[str, Any] = {}
    exec(_package_file("rewardbench", "constants.py").read_text(), constants)
    frame = table.to_pandas()

    def peer() -> Any:
        results = (frame["score_chosen"] > frame["score_rejected"]).astype(int)
        metrics = results.groupby(frame["subset"]).mean().to_dict()
        return ref(constants["EXAMPLE_COUNTS"], constants["SUBSET_MAPPING"], metrics)

    t_peer, _ = best(peer, repeat)
    line("rewardbench", n, ours, t_peer, "pandas + calculate_scores_per_section")


def rewardbench_v2(rng: np.random.Generator, n: int, peer_rows: int) -> None:
    from datasets import Dataset

    prompts = n // 4
    subset = np.array(benchmarks.REWARDBENCH2_SUBSETS[:5])[rng.integers(0, 5, prompts)]
    values = np.round(rng.normal(size=(prompts, 4)) * 16) / 16
    ties = 2000  # Ties: 1,000 ref/tied pairs
    tie_ids = [f"{k}:{i}" for i in range(ties // 2) for k in ("ref", "tied")]
    tie_scores = [list(np.round(rng.normal(size=6) * 16) / 16) for _ in tie_ids]
    tie_correct = [1 if i.startswith("ref") else 3 for i in tie_ids]
    table = pa.table(
        {
            "id": [f"p{i}" for i in range(prompts)] + tie_ids,
            "subset": subset.tolist() + ["Ties"] * ties,
            "scores": pa.array(list(values) + tie_scores, pa.list_(pa.float64())),
            "num_correct": [1] * prompts + tie_correct,
        }
    )
    ours, _ = best(lambda: benchmarks.rewardbench2(table), 3)
    import pandas as pd_

    scope = {"np": np, "math": math, "defaultdict": defaultdict, "Dataset": Dataset, "pd": pd_}
    ref = functions(
        _package_file("rewardbench", "utils.py"),
        "reroll_and_score_dataset",
        "sample_stats",
        "process_single_model",
        scope=scope,
    )
    share = min(1.0, peer_rows / n)
    k = max(1, int(prompts * share))
    flat = Dataset.from_dict(
        {
            "scores": values[:k].ravel(),
            "text": [""] * (4 * k),
            "subset": np.repeat(subset[:k], 4),
            "id": np.repeat(np.arange(k), 4),
        }
    )
    ties_rows = [
        {"id": i, "scores": s, "num_correct": c}
        for i, s, c in zip(tie_ids, tie_scores, tie_correct)
    ]
    t0 = time.perf_counter()
    ref["reroll_and_score_dataset"](flat, [4] * k)
    t_bon = (time.perf_counter() - t0) / share
    t0 = time.perf_counter()
    ref["process_single_model"](ties_rows)
    t_ties = time.perf_counter() - t0
    shown = "reroll + process_single_model" + (" (*)" if share < 1 else "")
    line("rewardbench2", n, ours, t_bon + t_ties, shown)


def rm_bench(rng: np.random.Generator, n: int, checkout: Path | None) -> None:
    domains = np.array(["chat", "code", "math", "safety-refuse", "safety-response"])
    chosen, rejected = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    table = pa.table(
        {
            "domain": domains[rng.integers(0, 5, n)],
            "score_chosen": pa.FixedSizeListArray.from_arrays(chosen.ravel(), 3),
            "score_rejected": pa.FixedSizeListArray.from_arrays(rejected.ravel(), 3),
        }
    )
    ours, _ = best(lambda: benchmarks.rm_bench(table), 3)
    t_peer = None
    if checkout is not None:
        ref = functions(
            checkout / "scripts" / "utils.py",
            "compute_accuracy",
            "split_dataset_by_domain",
            scope={"np": np, "List": list, "Dict": dict, "Any": Any},
        )
        rows = [
            {"domain": d, "score_chosen": c, "score_rejected": r}
            for d, c, r in zip(
                table.column("domain").to_pylist(), chosen.tolist(), rejected.tolist()
            )
        ]
        t0 = time.perf_counter()
        ref["compute_accuracy"](rows)
        t_peer = time.perf_counter() - t0
    line("rm_bench", n, ours, t_peer, "RM-Bench compute_accuracy")


def alpaca_head2head(rng: np.random.Generator, n: int) -> None:
    from alpaca_eval.metrics import get_winrate

    pref = 1 + rng.random(n)
    pref[rng.random(n) < 0.1] = 1.5
    generators = np.array([f"model-{i}" for i in range(10)])[rng.integers(0, 10, n)]
    table = pa.table({"generator_2": generators, "preference": pref})
    ours, _ = best(lambda: benchmarks.alpaca_eval(table), 3)
    frame = table.to_pandas()

    def peer() -> Any:
        return {g: get_winrate(part) for g, part in frame.groupby("generator_2")}

    t_peer, _ = best(peer, 2)
    line("alpaca_eval", n, ours, t_peer, "get_winrate per generator")


def paired(rng: np.random.Generator, n: int) -> None:
    subsets = np.array(list(benchmarks.REWARDBENCH_COUNTS))
    s = subsets[rng.integers(0, len(subsets), n)]
    a = pa.table({"id": np.arange(n), "subset": s, "results": (rng.random(n) < 0.8).astype(int)})
    b = pa.table({"id": np.arange(n), "subset": s, "results": (rng.random(n) < 0.7).astype(int)})
    ours, _ = best(lambda: benchmarks.paired(a, b, bootstrap=1000), 3)
    line("paired", n, ours, None, "(no peer: McNemar + bootstrap)")


def length_controlled(rng: np.random.Generator, repeat: int) -> None:
    from alpaca_eval.metrics import glm_winrate

    n = 805
    difficulty = rng.normal(size=n)
    frames = []
    for model, bias in (("gamed_long", 0.4), ("gamed_short", -0.3)):
        d = rng.normal(size=n)
        logit = bias + 0.9 * np.tanh(d) - 0.5 * difficulty + 0.3 * rng.normal(size=n)
        frames.append(
            pd.DataFrame(
                {
                    "model": model,
                    "index": np.arange(n),
                    "preference": 1 / (1 + np.exp(-logit)),
                    "std_delta_len": d,
                    "instruction_difficulty": difficulty,
                    "not_gamed_baseline": False,
                }
            )
        )
    gamed = pd.concat(frames, ignore_index=True)
    l1, l2 = rng.integers(20, 3000, n), rng.integers(20, 3000, n)
    logit = 0.3 - 1.2 * np.tanh((l1 - l2) / 600) - 0.4 * difficulty + rng.normal(size=n)
    annotations = pd.DataFrame(
        {
            "generator_1": "base",
            "generator_2": "model",
            "preference": 1 + 1 / (1 + np.exp(-logit)),
            "output_1": ["x" * int(k) for k in l1],
            "output_2": ["y" * int(k) for k in l2],
        }
    )
    path = Path(tempfile.mkdtemp()) / "df_gamed.csv"
    gamed.to_csv(path, index=False)
    glm_winrate.hf_hub_download = lambda **_: str(path)
    gamed_rows = gamed.drop(columns=["model"])
    ours, out = best(lambda: benchmarks.alpaca_eval(annotations, gamed=gamed_rows), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_peer, ref = best(
            lambda: glm_winrate.get_length_controlled_winrate(
                annotations.copy(), save_weights_dir=None
            ),
            repeat,
        )
    line("LC win rate", n, ours, t_peer, "get_length_controlled_winrate")
    # The fit alone, on the same design matrix and weights: alpaca-eval's
    # fit_LogisticRegressionCV (scikit-learn, liblinear) against prefcore's solver.
    from prefcore._prefcore import l1_logistic_cv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, _, weight = glm_winrate._get_featurized_data(
            annotations.copy(), glm_winrate.GLM_INFO["length_controlled_v1"]["formula"], 0.2
        )
        keep = train["preference"].notna().to_numpy()
        train, weight = train[keep], weight[keep]
        t_fit, _ = best(
            lambda: glm_winrate.fit_LogisticRegressionCV(
                train, "preference", is_ytrue_proba=True, sample_weight=weight, n_splits=5
            ),
            repeat,
        )
    x = np.ascontiguousarray(train.drop(columns=["preference"]).to_numpy(dtype=float))
    p, s = train["preference"].to_numpy(dtype=float), weight.to_numpy(dtype=float)
    penalties = np.logspace(-4, 4, 10).tolist()
    ours_fit, _ = best(
        lambda: l1_logistic_cv(x, p, s, penalties, n_splits=5, weighted_score=True), repeat
    )
    line("LC fit", len(p), ours_fit, t_fit, "fit_LogisticRegressionCV")
    got = out.to_dict()["model"]["length_controlled_winrate"]
    print(
        f"  LC win rate: prefcore {got:.4f}, alpaca-eval {ref['length_controlled_winrate']:.4f} "
        "(liblinear stops at tol 1e-4; prefcore solves to machine precision)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--peer-rows",
        type=int,
        default=100_000,
        help="rows the slow RewardBench 2 reroll runs on, timed per row",
    )
    parser.add_argument(
        "--rm-bench",
        type=Path,
        default=None,
        help="a THU-KEG/RM-Bench checkout, to time its compute_accuracy",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rewardbench_v1(rng, args.rows, args.repeat)
        rewardbench_v2(rng, args.rows, args.peer_rows)
        rm_bench(rng, args.rows, args.rm_bench)
        alpaca_head2head(rng, args.rows)
        paired(rng, args.rows)
    length_controlled(rng, args.repeat)
    print("(*) the peer timed on --peer-rows rows and scaled to the full size")


if __name__ == "__main__":
    main()
