"""Random battle sets for the arena tests and for the script that records FastChat's
answers on them (tests/data/arena/record_fastchat.py): same seed, same set."""

from __future__ import annotations

from typing import Any

import numpy as np

SETS = 240
#: Per-side style columns, FastChat's ``conv_metadata`` keys.
STYLE_KEYS = ("sum_assistant_{}_tokens", "header_count_{}", "list_count_{}", "bold_count_{}")
KINDS = ("dense", "one-per-pair", "never-wins", "two-groups", "sparse")


def kind(seed: int) -> str:
    return KINDS[seed % len(KINDS)]


def battle_set(seed: int) -> dict[str, list[Any]]:
    """Battles among 3-10 models with ties (both spellings) and four style counts per
    side; the kind (``kind(seed)``) shapes the comparison graph."""
    rng = np.random.default_rng(seed)
    what = kind(seed)
    n = int(rng.integers(3, 11))
    models = [f"m{i:02d}" for i in range(n)]
    strength = rng.normal(size=n)
    if what == "one-per-pair":
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        pairs = [(j, i) if rng.random() < 0.5 else (i, j) for i, j in pairs]
    else:
        m = int(rng.integers(20, 300 if what != "sparse" else 40))
        pairs = []
        while len(pairs) < m:
            i, j = rng.choice(n, 2, replace=False)
            if what == "two-groups" and (i < n // 2) != (j < n // 2):
                continue
            pairs.append((int(i), int(j)))
    out: dict[str, list[Any]] = {"model_a": [], "model_b": [], "winner": []}
    for key in STYLE_KEYS:
        out[key.format("a")] = []
        out[key.format("b")] = []
    for i, j in pairs:
        tokens = rng.integers(1, 800, 2)
        counts = rng.integers(0, 6, (3, 2))
        style = 0.002 * (tokens[0] - tokens[1]) + 0.2 * (counts[2, 0] - counts[2, 1])
        p = 1 / (1 + np.exp(-(strength[i] - strength[j] + style)))
        u = rng.random()
        if what == "never-wins" and n - 1 in (i, j):
            result = "model_a" if j == n - 1 else "model_b"
        elif u < 0.12:
            result = "tie" if u < 0.08 else "tie (bothbad)"
        else:
            result = "model_a" if rng.random() < p else "model_b"
        out["model_a"].append(models[i])
        out["model_b"].append(models[j])
        out["winner"].append(result)
        for k, key in enumerate(STYLE_KEYS):
            side = tokens if k == 0 else counts[k - 1]
            out[key.format("a")].append(int(side[0]))
            out[key.format("b")].append(int(side[1]))
    return out


def style_columns() -> dict[str, tuple[str, str]]:
    """The four style features as ``arena(style=...)`` takes them."""
    names = ("length", "headers", "lists", "bold")
    return {n: (k.format("a"), k.format("b")) for n, k in zip(names, STYLE_KEYS)}
