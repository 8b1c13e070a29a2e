"""``compat="arena-hard"`` of :func:`prefcore.ratings.arena`: arena-hard-auto's
leaderboard (``show_result.py``), where every battle is a judged game of a model against
one baseline and the score is the win rate against it, in percent."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pyarrow as pa

from prefcore import _prefcore
from prefcore._progress import Progress, reporting
from prefcore.errors import InvalidArgumentError

#: arena-hard's markdown features are counts per token of the answer, plus one.
_LENGTH_FIRST = "the first style pair must be the answers' token counts (arena-hard's length)"


def oriented(
    names: pa.Array, ca: np.ndarray, cb: np.ndarray, score: np.ndarray, baseline: str | None
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """The baseline's code, each game's other model, its score, and whether the model
    was the table's first column (``a``)."""
    if baseline is None:
        raise InvalidArgumentError(
            "compat='arena-hard' scores models against one baseline: pass baseline=NAME",
            argument="baseline",
        )
    found = names.index(baseline).as_py()
    if found < 0:
        raise InvalidArgumentError(
            f"baseline {baseline!r} is not a model in the battles", argument="baseline"
        )
    is_a = ca == found
    without = ~is_a & (cb != found)
    if without.any():
        row = int(np.flatnonzero(without)[0])
        raise InvalidArgumentError(
            f"row {row}: a battle of {names[int(ca[row])].as_py()!r} and "
            f"{names[int(cb[row])].as_py()!r} does not involve the baseline {baseline!r}",
            argument="baseline",
        )
    model = np.where(is_a, cb, ca)
    return found, model, np.where(is_a, 1.0 - score, score), ~is_a


def style_features(
    t: pa.Table, pairs: dict[str, tuple[str, str]], model_is_a: np.ndarray, numbers: Any
) -> np.ndarray:
    """arena-hard's features: the length ``(m - b) / (m + b)`` of the model's and the
    baseline's token counts, then each markdown count as a density ``c / (length + 1)``
    compared as ``(dm - db) / (dm + db + 1)``; z-scored with ddof 1."""
    cols = list(pairs.items())
    if not cols:
        raise InvalidArgumentError(_LENGTH_FIRST, argument="style")
    sides = [(numbers(t, ca), numbers(t, cb)) for _, (ca, cb) in cols]

    def model_base(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        xa, xb = pair
        return np.where(model_is_a, xa, xb), np.where(model_is_a, xb, xa)

    len_m, len_b = model_base(sides[0])
    total = len_m + len_b
    if (total == 0).any():
        row = int(np.flatnonzero(total == 0)[0])
        raise InvalidArgumentError(
            f"row {row}: both answers have no tokens, so arena-hard's length feature is 0/0",
            argument="style",
        )
    out = [(len_m - len_b) / total]
    for pair in sides[1:]:
        cm, cb = model_base(pair)
        dm, db = cm / (len_m + 1.0), cb / (len_b + 1.0)
        out.append((dm - db) / (dm + db + 1.0))
    x = np.column_stack(out)
    std = x.std(axis=0, ddof=1) if len(x) > 1 else np.zeros(x.shape[1])
    for j, s in enumerate(std):
        if not s > 0:
            raise InvalidArgumentError(
                f"style feature {cols[j][0]!r} is the same in every game: arena-hard cannot "
                "standardise it",
                argument="style",
            )
    return np.ascontiguousarray((x - x.mean(axis=0)) / std)


def mean_bootstrap(
    model: np.ndarray,
    value: np.ndarray,
    n: int,
    rounds: int,
    seed: int,
    resamples: np.ndarray | None,
) -> np.ndarray:
    """Per round, each model's mean score over its games drawn with replacement from its
    own games (``[rounds, models]``; NaN for a model without games). Given resamples
    hold, per round and game, the game drawn in its place: one of the same model's."""
    count = np.bincount(model, minlength=n).astype(np.float64)
    if resamples is not None:
        if (model[resamples] != model[None, :]).any():
            r, k = np.argwhere(model[resamples] != model[None, :])[0]
            raise InvalidArgumentError(
                f"resample {r}, position {k}: arena-hard resamples each model's games among "
                "its own, but the game drawn is another model's",
                argument="resamples",
            )
        draws = resamples
    else:
        order = np.argsort(model, kind="stable")
        start = np.concatenate([[0], np.cumsum(count)])[:-1].astype(np.int64)
        sizes = count.astype(np.int64)[model[order]]
        rng = np.random.default_rng(seed)
        picks = start[model[order]] + (rng.random((rounds, len(model))) * sizes).astype(np.int64)
        draws = np.empty_like(picks)
        draws[:, order] = order[picks]
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.stack([np.bincount(model, weights=value[d], minlength=n) for d in draws])
        means = sums / count
    # A model without games (the baseline) scores one half against itself.
    return np.where(count > 0, means, 0.5)


def fit_rounds(
    model: np.ndarray,
    base_code: int,
    value: np.ndarray,
    x: np.ndarray,
    n: int,
    rounds: int,
    seed: int,
    resamples: np.ndarray | None,
    progress: Progress,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None, int]:
    """Bradley-Terry with the style features (no penalty, as arena-hard's fit): each
    model's win probability against the baseline for the full data and per round, and
    the coefficients."""
    from prefcore._arena import _comparisons, _unbounded

    base = np.full(len(model), base_code, dtype=np.uint32)
    codes = model.astype(np.uint32)
    win = (value == 1.0).astype(np.float64)
    tie = (value == 0.5).astype(np.float64)
    ridge = 0.0
    if _unbounded(*_comparisons(n, codes, base, value)) is not None:
        warnings.warn(
            "a model won or lost every game against the baseline: its win rate is fitted "
            "with a standard normal prior on log-odds strengths (arena-hard's fit has no "
            "finite optimum there)",
            RuntimeWarning,
            stacklevel=3,
        )
        ridge = 1.0
    with reporting(progress, "ratings.arena", unit=" rounds"):
        fit = _prefcore.arena_fit(
            codes, base, win, tie, np.ones(len(model)), x, n,
            unit=1.0, ridge_ratings=ridge, ridge_coefs=0.0, divisor=1.0, davidson=False,
            fallback_ridge=1.0, curvature=False, bootstrap=rounds if resamples is None else 0,
            seed=seed, resample_indices=resamples, resample_weights=None,
        )  # fmt: skip

    def against_base(theta: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-(theta - theta[..., base_code : base_code + 1]))))

    point = against_base(np.asarray(fit.ratings))
    boot = against_base(np.asarray(fit.boot_ratings)) if fit.boot_ratings is not None else None
    coefs = np.asarray(fit.boot_coefs) if fit.boot_coefs is not None else None
    return point, boot, np.asarray(fit.coefs), coefs, int(fit.boot_fallbacks)
