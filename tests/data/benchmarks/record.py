"""Record the answers of the benchmarks' repository code (not on PyPI) on the random
sets of tests/benchmark_cases.py, for tests/test_benchmarks.py to compare against.

    python tests/data/benchmarks/record.py REWARD_BENCH_CHECKOUT RM_BENCH_CHECKOUT

The checkouts are allenai/reward-bench and THU-KEG/RM-Bench; their commits are written
into the output beside the answers.
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/

from benchmark_cases import functions, rm_bench_set, ties_set  # noqa: E402

SETS = 10_000
#: The order of RM-Bench's keys in each recorded row.
RM_KEYS = ("chat", "math", "code", "safety", "hard_acc", "normal_acc", "easy_acc", "total_avg_acc")


def _commit(checkout: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


class _Rows(list):
    """A list of dicts that answers ``column_names`` and ``add_column`` as the head's
    ``process_single_model`` asks of its dataset at the end (after scoring)."""

    column_names: ClassVar[list[str]] = []

    def add_column(self, name: str, values: list) -> _Rows:
        return self


def main(reward_bench: Path, rm_bench: Path) -> None:
    scope: dict[str, Any] = {
        "np": np,
        "math": math,
        "defaultdict": defaultdict,
        "Dict": dict,
        "List": list,
        "Tuple": tuple,
    }
    head = functions(
        reward_bench / "rewardbench" / "utils.py",
        "_compute_prompt_stats",
        "process_single_model",
        scope=scope,
    )
    rm = functions(
        rm_bench / "scripts" / "utils.py",
        "compute_accuracy",
        "split_dataset_by_domain",
        scope={"np": np, "List": list, "Dict": dict, "Any": Any},
    )
    ties = []
    for seed in range(SETS):
        with np.errstate(all="ignore"):
            _, score = head["process_single_model"](_Rows(ties_set(seed)))
        ties.append(score)
    rm_results = []
    for seed in range(SETS):
        rows = [{k: v for k, v in r.items() if k != "id"} for r in rm_bench_set(seed)]
        answer = rm["compute_accuracy"](rows)
        assert tuple(answer) == RM_KEYS
        rm_results.append([float(answer[k]) for k in RM_KEYS])
    out = {
        "reward_bench_commit": _commit(reward_bench),
        "rm_bench_commit": _commit(rm_bench),
        "ties_head": ties,
        "rm_bench": rm_results,
    }
    with gzip.open(HERE / "references.json.gz", "wt") as f:
        f.write(json.dumps(out, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
