"""Record FastChat's leaderboard answers (``fastchat/serve/monitor/rating_systems.py``,
not in the PyPI release) on the random sets of tests/arena_cases.py, for
tests/test_arena.py to compare against.

    python tests/data/arena/record_fastchat.py FASTCHAT_CHECKOUT

FastChat's L-BFGS-B stops after 100 iterations or at gtol 1e-6; the answers are
recorded with its options tightened (maxiter 10000, gtol 1e-12, ftol 1e-15) so that
they are the optimum, and the largest gap of its default stop from that optimum is
recorded per set too.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/

from arena_cases import SETS, STYLE_KEYS, battle_set, kind  # noqa: E402

FILE = "fastchat/serve/monitor/rating_systems.py"
#: Rounds of each recorded bootstrap, and every how many sets one is recorded.
ROUNDS, BOOT_EVERY = 20, 4


def load(checkout: Path) -> Any:
    """The file at the checkout's HEAD (a work tree or a bare clone)."""
    source = subprocess.run(
        ["git", "-C", str(checkout), "show", f"HEAD:{FILE}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader("fastchat_rating_systems", loader=None)
    assert spec
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for the pools to pickle its functions
    exec(compile(source, FILE, "exec"), module.__dict__)
    return module


def tighten(module: Any) -> Any:
    loose = module.minimize

    def tight(*args: Any, options: dict, **kwargs: Any) -> Any:
        options = {**options, "maxiter": 10_000, "gtol": 1e-12, "ftol": 1e-15}
        return loose(*args, options=options, **kwargs)

    module.minimize = tight
    return loose


def frame(battles: dict[str, list[Any]]) -> pd.DataFrame:
    df = pd.DataFrame({k: battles[k] for k in ("model_a", "model_b", "winner")})
    keys = [k.format(s) for s in "ab" for k in STYLE_KEYS]
    df["conv_metadata"] = [{k: battles[k][i] for k in keys} for i in range(len(df))]
    return df


def main(checkout: Path) -> None:
    fc = load(checkout)
    commit = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    loose = fc.minimize
    out: dict[str, Any] = {"fastchat_commit": commit, "rounds": ROUNDS, "sets": []}
    for seed in range(SETS):
        df = frame(battle_set(seed))
        default_bt = fc.compute_bt(df).to_dict()
        tighten(fc)
        rec: dict[str, Any] = {"seed": seed, "kind": kind(seed)}
        rec["bt"] = fc.compute_bt(df).to_dict()
        rec["bt_default_gap"] = max(abs(default_bt[m] - rec["bt"][m]) for m in rec["bt"])
        ratings, params = fc.compute_style_control(df)
        rec["style"] = ratings.to_dict()
        rec["style_coefs"] = [float(p) for p in params]
        if seed % BOOT_EVERY == 0:
            boot = fc.compute_bootstrap_bt(df, num_round=ROUNDS, num_cpu=2)
            rec["bt_boot_q"] = {m: boot[m].quantile([0.025, 0.975]).tolist() for m in boot}
            np.random.seed(seed)
            boot, _ = fc.compute_bootstrap_style_control(df, num_round=ROUNDS, num_cpu=2)
            rec["style_boot_seed"] = seed
            rec["style_boot_q"] = {m: boot[m].quantile([0.025, 0.975]).tolist() for m in boot}
        fc.minimize = loose
        out["sets"].append(rec)
    with gzip.open(HERE / "fastchat.json.gz", "wt") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
