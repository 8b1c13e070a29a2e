"""Record arena-hard-auto's leaderboard (``show_result.py``, not on PyPI) on random game
sets, for tests/test_arena_hard.py to compare against.

    python tests/data/arena/record_arena_hard.py ARENA_HARD_CHECKOUT

Without style the recorded values are its bootstrap means with the 5% and 95%
quantiles, and the games each round drew (read back from the same pandas draws). With
style its torch L-BFGS (float32) runs with lr 1 and 2,000 iterations instead of lr 0.1
and 50, which stop about 0.2 percentage points short of the optimum; the rounds' draws
are numpy's global generator seeded per set.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
FILES = ("show_result.py", "utils/__init__.py", "utils/math_utils.py", "utils/judge_utils.py")
BASELINE = "o3-mini-2025-01-31"  # JUDGE_SETTINGS["hard_prompt"]["baseline"]
SETS, ROUNDS = 24, 100


def load(checkout: Path, into: Path) -> Any:
    for name in FILES:
        shown = subprocess.run(
            ["git", "-C", str(checkout), "show", f"HEAD:{name}"], capture_output=True, text=True
        )
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_text(shown.stdout if shown.returncode == 0 else "")
    sys.path.insert(0, str(into))
    return importlib.import_module("show_result"), importlib.import_module("utils.math_utils")


class Float64:
    """``torch`` (or ``torch.nn.functional``) as the recorded code sees it: tensors it
    asks for in float32 come in float64, and a loss's target takes its input's type."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def tensor(self, data: Any, dtype: Any = None, **kw: Any) -> Any:
        import torch

        wide = torch.float64 if dtype in (None, torch.float32) else dtype
        return torch.tensor(data, dtype=wide, **kw)

    def binary_cross_entropy_with_logits(self, logits: Any, target: Any, **kw: Any) -> Any:
        return self._module.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), **kw)


def game_set(seed: int) -> tuple[pd.DataFrame, dict[str, dict[str, dict]]]:
    """Games of 3-8 models against the baseline, one row per scored game (strong
    verdicts repeated 3 times), and every answer's token and markdown counts."""
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(int(rng.integers(3, 9)))]
    uids = [f"q{i}" for i in range(int(rng.integers(8, 30)))]
    meta: dict[str, dict[str, dict]] = {}
    for m in [*models, BASELINE]:
        meta[m] = {
            u: {
                "token_len": int(rng.integers(20, 900)),
                "header_count": {"h1": int(rng.integers(0, 3)), "h2": int(rng.integers(0, 4))},
                "list_count": {
                    "ordered": int(rng.integers(0, 6)),
                    "unordered": int(rng.integers(0, 6)),
                },
                "bold_count": {"**": int(rng.integers(0, 5)), "__": int(rng.integers(0, 2))},
            }
            for u in uids
        }
    rows = []
    strength = {m: rng.normal() for m in models}
    for m in models:
        for u in uids:
            for _ in range(2):  # both game orders
                p = 1 / (1 + np.exp(-strength[m]))
                u01 = rng.random()
                score = 0.5 if u01 < 0.15 else float(rng.random() < p)
                weight = 3 if rng.random() < 0.2 and score != 0.5 else 1
                rows += [
                    {"uid": u, "model": m, "category": "hard_prompt", "scores": score}
                ] * weight
    return pd.DataFrame(rows), meta


def main(checkout: Path) -> None:
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        show, math_utils = load(checkout, Path(d))
        captured: list[tuple] = []
        show.format_confidence_interval = lambda *frames, **kw: (
            captured.append(frames) or pd.DataFrame({"Model": [], "Scores (%)": []})
        )
        show.print = lambda *a, **k: None
        import torch
        import torch.nn.functional as functional

        torch.set_default_dtype(torch.float64)
        show.torch = math_utils.torch = Float64(torch)
        math_utils.F = Float64(functional)
        loose = math_utils.fit_pairwise_model
        tight = functools.partial(loose, lr=1.0, max_epochs=2000, tol=1e-12)
        out: dict[str, Any] = {"arena_hard_commit": commit, "rounds": ROUNDS, "sets": []}
        for seed in range(SETS):
            games, meta = game_set(seed)
            rec: dict[str, Any] = {"seed": seed, "style": bool(seed % 2)}
            captured.clear()
            if not rec["style"]:
                np.random.seed(seed)
                show.print_leaderboard(games.copy(), "hard_prompt")
                np.random.seed(seed)
                frame = games[["model", "scores"]]
                rec["draws"] = [
                    frame.groupby("model").sample(frac=1.0, replace=True).index.tolist()
                    for _ in range(ROUNDS)
                ]
            else:
                show.get_model_style_metadata = lambda benchmark, meta=meta: meta
                math_utils.fit_pairwise_model = tight
                np.random.seed(seed)
                show.print_leaderboard_with_style_features(
                    games.copy(), "bench", "hard_prompt", ["length", "markdown"]
                )
                math_utils.fit_pairwise_model = loose
            mean, lower, upper = captured[0][:3]
            rec["rating"] = dict(zip(mean["model"], map(float, mean.iloc[:, 1])))
            rec["lower"] = dict(zip(lower["model"], map(float, lower["lower"])))
            rec["upper"] = dict(zip(upper["model"], map(float, upper["upper"])))
            out["sets"].append(rec)
    with gzip.open(HERE / "arena_hard.json.gz", "wt") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
