"""Random score sets for the benchmark tests and for the script that records the
references' answers on them (tests/data/benchmarks/record.py): same seed, same set."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np


def scores(rng: np.random.Generator, n: int, kind: str) -> list[float]:
    """Integer ratings (a generative judge's 1-10: many ties) or bf16-like scores (8
    bits of mantissa: ties among close scores)."""
    if kind == "integer":
        return rng.integers(1, 11, n).astype(float).tolist()
    return (np.round(rng.normal(size=n) * 16) / 16).tolist()


def ties_set(seed: int) -> list[dict[str, Any]]:
    """Rows of a Ties subset: ``ref:<n>`` prompts (one correct answer) and
    ``tied:<n>`` prompts (several), most sharing their number, some alone."""
    rng = np.random.default_rng(seed)
    kind = "integer" if seed % 2 else "bf16"
    rows = []
    for number in range(int(rng.integers(1, 12))):
        which = rng.choice(["both", "both", "both", "ref", "tied"])
        if which in ("both", "ref"):
            n = int(rng.integers(2, 6))
            rows.append({"id": f"ref:{number}", "scores": scores(rng, n, kind), "num_correct": 1})
        if which in ("both", "tied"):
            k = int(rng.integers(2, 6))
            n = k + int(rng.integers(1, 5))
            rows.append({"id": f"tied:{number}", "scores": scores(rng, n, kind), "num_correct": k})
    if not any(r["id"].startswith("tied") for r in rows) or not any(
        r["id"].startswith("ref") for r in rows
    ):  # the head needs at least one ref/tied pair
        rows.append({"id": "ref:99", "scores": scores(rng, 3, kind), "num_correct": 1})
        rows.append({"id": "tied:99", "scores": scores(rng, 5, kind), "num_correct": 3})
    return rows


def rm_bench_set(seed: int) -> list[dict[str, Any]]:
    """RM-Bench rows over the five domain names (safety in two)."""
    rng = np.random.default_rng(seed)
    kind = "integer" if seed % 2 else "bf16"
    domains = ["chat", "code", "math", "safety-refuse", "safety-response"]
    rows = []
    for i in range(int(rng.integers(5, 40))):
        domain = domains[i % 5] if i < 5 else str(rng.choice(domains))
        rows.append(
            {
                "id": i,
                "domain": domain,
                "score_chosen": scores(rng, 3, kind),
                "score_rejected": scores(rng, 3, kind),
            }
        )
    return rows


def functions(path: Path, *names: str, scope: dict[str, Any]) -> dict[str, Any]:
    """The named top-level functions of a Python file, defined in ``scope`` without
    running the file's imports (the references import a whole model stack)."""
    tree = ast.parse(path.read_text())
    found = [n for n in tree.body if getattr(n, "name", "") in names]
    assert {n.name for n in found} == set(names), f"{names} not all in {path}"  # type: ignore[attr-defined]
    exec(compile(ast.Module(body=found, type_ignores=[]), str(path), "exec"), scope)
    return {name: scope[name] for name in names}
