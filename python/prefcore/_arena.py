"""Arena leaderboards (:func:`prefcore.ratings.arena`): Bradley-Terry ratings with
style control, Davidson ties, bootstrap or sandwich intervals, and each published
leaderboard's rules (``compat``)."""

from __future__ import annotations

import math
import typing
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _check, _prefcore
from prefcore._arrow import first_true, require_columns
from prefcore._battles import ELO_BASE, ELO_POINTS, read_battle_cells, read_battles
from prefcore._display import Summarised
from prefcore._progress import Progress, reporting
from prefcore._tables import as_table
from prefcore.errors import ColumnTypeError, InvalidArgumentError, invalid_value

__all__ = ["ARENA_COMPAT", "ArenaResult", "ArenaStats", "arena"]

Compat = Literal["prefcore", "fastchat", "arena-rank", "arena-hard"]
ARENA_COMPAT: tuple[str, ...] = typing.get_args(Compat)

#: FastChat's style features (``conv_metadata``), the first model's key of each pair.
FASTCHAT_STYLE = {
    "length": ("sum_assistant_a_tokens", "sum_assistant_b_tokens"),
    "headers": ("header_count_a", "header_count_b"),
    "lists": ("list_count_a", "list_count_b"),
    "bold": ("bold_count_a", "bold_count_b"),
}
#: FastChat anchors this model, when present, at this rating.
FASTCHAT_ANCHOR = ("mixtral-8x7b-instruct-v0.1", 1114.0)
#: arena-rank's inverse-propensity weights: 1 / max(battles of the pair, this).
IPW_FLOOR = 50
#: arena-rank's ridge on the Hessian's diagonal in its sandwich intervals.
ARENA_RANK_HESSIAN_REG = 1e-5


class ArenaStats(TypedDict):
    """``ArenaResult.stats``: battles fitted, ties among them, models, Newton
    iterations, whether the fallback prior was used (``fallback``) and in how many
    bootstrap rounds (``fallback_rounds``)."""

    battles: int
    ties: int
    models: int
    iterations: int
    fallback: bool
    fallback_rounds: int


@dataclass(frozen=True, repr=False)
class ArenaResult(Summarised):
    """A leaderboard, best first.

    ``table``: ``model``, ``rating``, ``lower``/``upper`` (the interval; null without
    one), ``rank`` (1 + the models whose interval lies wholly above, FastChat's rule;
    1 + the models rated higher without intervals), ``rank_lower``/``rank_upper``
    (the best and worst rank the intervals allow), ``battles``, ``wins``, ``ties``.
    ``coefficients``: one row per style feature (``feature``, ``coefficient`` in
    log-odds per standard deviation, ``lower``, ``upper``). ``bootstrap``: each
    round's ratings, ``[rounds, models]`` with columns in the order of ``models``
    (None without bootstrap). ``log_tie``: Davidson's log tie propensity (NaN for
    ``ties="half"``)."""

    table: pa.Table
    coefficients: pa.Table
    models: list[str]
    bootstrap: np.ndarray | None
    log_tie: float
    compat: str
    scale: float
    base: float
    stats: ArenaStats

    def win_matrix(self) -> pa.Table:
        """Predicted expected score of each row model against each column model
        (a win counts 1, a tie under Davidson ½), style features held equal: a
        ``model`` column and one column per model, in the order of ``table``.
        (``compat="arena-hard"`` rates against its baseline only: no matrix.)"""
        if self.compat == "arena-hard":
            raise InvalidArgumentError(
                "compat='arena-hard' rates every model against its baseline only; its "
                "ratings are win rates against it, not a model of every pair"
            )
        names = self.table.column("model").to_pylist()
        logit = np.asarray(self.table.column("rating")) * math.log(self.base) / self.scale
        d = logit[:, None] - logit[None, :]
        if math.isnan(self.log_tie):
            p = 1.0 / (1.0 + np.exp(-d))
        else:
            h = np.exp(0.5 * d)
            z = h + 1.0 / h + math.exp(self.log_tie)
            p = (h + 0.5 * math.exp(self.log_tie)) / z
        np.fill_diagonal(p, np.nan)
        return pa.table({"model": names, **{n: p[:, i] for i, n in enumerate(names)}})

    def plot(self, ax: Any = None) -> Any:
        """The ratings with their intervals (:func:`prefcore.plot.rating_intervals`)."""
        from prefcore.plot import rating_intervals

        return rating_intervals(self, ax)


@dataclass(frozen=True)
class _Rules:
    """What a compat mode fixes: the rating unit (``ln base`` when ratings are log-base
    odds, as FastChat fits them), ridges, the loss divisor and feature handling."""

    unit: float
    ridge_ratings: float
    ridge_coefs: float
    divisor: str  # "one" | "weights" | "rows"
    constant_feature: str  # "error" | "unit"


def _rules(compat: str, styled: bool, base: float) -> _Rules:
    if compat == "fastchat":
        # compute_style_control: reg 0.5 on ratings and coefficients, summed loss.
        ridge = 0.5 if styled else 0.0
        return _Rules(math.log(base), ridge, ridge, "one", "error")
    if compat == "arena-rank":
        # BradleyTerry: mean over the weights; ContextualBradleyTerry: mean over rows,
        # reg 1 on the coefficients only, a constant feature scaled by 1.
        if styled:
            return _Rules(1.0, 0.0, 1.0, "rows", "unit")
        return _Rules(1.0, 0.0, 0.0, "weights", "unit")
    return _Rules(1.0, 0.0, 0.0, "one", "error")


def _numbers(t: pa.Table, column: str) -> np.ndarray:
    """A numeric column, or a struct of numeric fields summed (FastChat's per-element
    markdown counts), as float64; nulls, NaN and negatives are errors."""
    col = t.column(column)
    if pa.types.is_struct(col.type):
        fields = [pc.struct_field(col, [i]) for i in range(col.type.num_fields)]
        total = np.zeros(len(col))
        for f in fields:
            total += _numbers(pa.table({column: f}), column)
        return np.asarray(total)
    return _nonnegative(col, column, "style feature")


def _nonnegative(col: Any, column: str, what: str) -> np.ndarray:
    """A numeric column as float64; a null, NaN, infinity or negative is an error
    naming the row."""
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        raise ColumnTypeError(
            f"column '{column}' has type {col.type}; a {what} must be a number", column=column
        )
    if col.null_count:
        raise invalid_value(column, first_true(pc.is_null(col)), f"null {what}")
    x = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise invalid_value(column, row, f"{what} {x[row]} is not a finite number >= 0")
    return x


def _style_pairs(t: pa.Table, style: Any) -> dict[str, tuple[str, str]]:
    if isinstance(style, str):
        if style != "fastchat":
            raise InvalidArgumentError(
                f"style must be 'fastchat', a mapping name -> (column_a, column_b) or a list "
                f"of column pairs; not {style!r}",
                argument="style",
            )
        return dict(FASTCHAT_STYLE)
    if isinstance(style, Mapping):
        pairs = dict(style)
    elif isinstance(style, Sequence):
        pairs = {f"{p[0]}-{p[1]}": p for p in style}
    else:
        raise InvalidArgumentError(
            "style must be a mapping or a list of column pairs", argument="style"
        )
    for name, pair in pairs.items():
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InvalidArgumentError(
                f"style feature {name!r} must be a pair (column_a, column_b), not {pair!r}",
                argument="style",
            )
    return {str(k): (str(v[0]), str(v[1])) for k, v in pairs.items()}


def _side_table(t: pa.Table, name: str) -> pa.Table:
    """FastChat keeps its style counts in a ``conv_metadata`` struct: its fields are
    read as columns when the table has no column of that name."""
    if name in t.column_names or "conv_metadata" not in t.column_names:
        return t
    meta = t.column("conv_metadata")
    if not pa.types.is_struct(meta.type) or meta.type.get_field_index(name) < 0:
        return t
    return pa.table({name: pc.struct_field(meta, [meta.type.get_field_index(name)])})


def _style_features(
    t: pa.Table, style: Any, features: Any, transform: str, constant: str
) -> tuple[list[str], np.ndarray]:
    """Per-battle covariates, z-scored (ddof 0) as every reference does."""
    names: list[str] = []
    cols: list[np.ndarray] = []
    if style is not None:
        for name, (ca, cb) in _style_pairs(t, style).items():
            ta, tb = _side_table(t, ca), _side_table(t, cb)
            require_columns(ta, ca)
            require_columns(tb, cb)
            xa, xb = _numbers(ta, ca), _numbers(tb, cb)
            diff = xa - xb
            cols.append(diff / (xa + xb + 1.0) if transform == "ratio" else diff)
            names.append(name)
    for column in features or []:
        require_columns(t, column)
        col = t.column(column)
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise ColumnTypeError(
                f"column '{column}' has type {col.type}; a feature must be numbers", column=column
            )
        x = col.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            raise invalid_value(column, int(np.flatnonzero(bad)[0]), "feature is not finite")
        cols.append(x)
        names.append(column)
    if not cols:
        return [], np.zeros((t.num_rows, 0))
    # Each column standardised on its own contiguous copy, then written into its
    # place: no stacked temporaries and no reductions along a stride.
    x = np.empty((t.num_rows, len(cols)))
    for j, col in enumerate(cols):
        mean = col.mean()
        centred = col - mean
        std = float(np.sqrt(np.dot(centred, centred) / len(centred)))
        if std == 0 and constant == "error":
            raise InvalidArgumentError(
                f"style feature {names[j]!r} is the same in every battle: it cannot be "
                "standardised or fitted",
                argument="style",
            )
        x[:, j] = centred / std if std else centred
    return names, x


def battle_weights(
    t: pa.Table,
    weights: Any,
    ca: np.ndarray,
    cb: np.ndarray,
    styled: bool,
    count: np.ndarray | None = None,
) -> np.ndarray:
    """Per-battle weights: ones, arena-rank's inverse-propensity weights or a column.
    ``count``: the battles each row stands for, when rows are counted cells."""
    if weights is None:
        return np.ones(len(ca))
    if weights == "ipw":
        # arena-rank: 1 / max(battles of the unordered pair, 50); per battle, scaled to
        # mean 1 with covariates (ContextualPairDataset), as is without.
        lo, hi = np.minimum(ca, cb).astype(np.int64), np.maximum(ca, cb).astype(np.int64)
        models = int(max(ca.max(initial=0), cb.max(initial=0))) + 1
        key = lo * models + hi
        per_pair = np.bincount(key, weights=count, minlength=models * models)
        w = np.asarray(1.0 / np.maximum(per_pair[key], IPW_FLOOR), dtype=np.float64)
        return w / w.mean() if styled else w
    if isinstance(weights, str):
        require_columns(t, weights)
        return _nonnegative(t.column(weights), weights, "weight")
    raise InvalidArgumentError(
        f"weights must be None, 'ipw' or a column name; not {weights!r}", argument="weights"
    )


def _comparisons(
    n: int, ca: np.ndarray, cb: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``met[i, j]``: models i and j battled; ``beats[i, j]``: i won or tied against j
    at least once. Counted per ordered pair in one table each, not set battle by
    battle."""
    key = ca.astype(np.int64) * n + cb
    a_scored = np.bincount(key[score > 0], minlength=n * n).reshape(n, n) > 0
    b_scored = np.bincount(key[score < 1], minlength=n * n).reshape(n, n) > 0
    beats = a_scored | b_scored.T
    met = beats | beats.T
    return met, beats


def _groups(met: np.ndarray) -> np.ndarray:
    """Each model's group: models joined by battles (the comparison graph's components),
    labelled by the smallest code in the group."""
    n = len(met)
    met = met | np.eye(n, dtype=bool)
    label = np.arange(n)
    while True:
        nxt = np.where(met, label[None, :], n).min(axis=1)
        if (nxt == label).all():
            return label
        label = nxt


def _unbounded(met: np.ndarray, beats: np.ndarray) -> int | None:
    """A model whose unpenalised maximum-likelihood rating is infinite, or None: within
    a group of models joined by battles, one that never lost (or never won) counting
    ties both ways, or a part of the group that never lost to the rest (the group's
    "beat" graph is not strongly connected)."""
    n = len(met)
    label = _groups(met)
    for root in np.unique(label):
        members = label == root
        for graph in (beats, beats.T):
            seen = np.zeros(n, bool)
            seen[root] = True
            frontier = np.array([root])
            while frontier.size:
                reach = graph[frontier].any(axis=0) & ~seen
                seen |= reach
                frontier = np.flatnonzero(reach)
            missing = members & ~seen
            if missing.any():
                return int(np.flatnonzero(missing)[0])
    return None


def _fastchat_cells(
    ca: np.ndarray, cb: np.ndarray, score: np.ndarray, names: pa.Array, t: pa.Table, a: str, b: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FastChat's unique (model_a, model_b, outcome) rows in its order (models coded in
    order of first appearance, rows sorted): their index into the battles and counts."""
    order = pc.unique(pa.chunked_array(t.column(a).chunks + t.column(b).chunks).cast(pa.string()))
    to_fc = np.asarray(pc.index_in(names, value_set=order), dtype=np.int64)
    outcome = np.where(score == 1.0, 2, np.where(score == 0.0, 0, 1))
    schedule = np.column_stack([to_fc[ca], to_fc[cb], outcome])
    _, first, counts = np.unique(schedule, axis=0, return_index=True, return_counts=True)
    return first, counts.astype(np.float64), to_fc


def _interval_ranks(
    rating: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if lower is None or upper is None:
        rank = 1 + (rating[None, :] > rating[:, None]).sum(axis=1)
        return rank, rank, rank
    best = 1 + (lower[None, :] > upper[:, None]).sum(axis=1)
    worst = (upper[None, :] >= lower[:, None]).sum(axis=1)
    return best, best, worst


def arena(
    battles: Any,
    *,
    a: str = "model_a",
    b: str = "model_b",
    winner: str = "winner",
    compat: Compat = "prefcore",
    style: Any = None,
    features: Sequence[str] | None = None,
    style_transform: Literal["ratio", "diff"] = "ratio",
    ties: Literal["half", "davidson"] = "half",
    ci: Literal["bootstrap", "sandwich", "auto"] | None = "auto",
    bootstrap: int = 0,
    seed: int = 0,
    resamples: Any = None,
    level: float | None = None,
    anchor: tuple[str, float] | None = None,
    baseline: str | None = None,
    scale: float = ELO_POINTS,
    base: float = 10.0,
    init: float = ELO_BASE,
    weights: Any = None,
    progress: Progress = None,
) -> ArenaResult:
    """A leaderboard from pairwise battles: Bradley-Terry ratings, optionally with
    style control and Davidson ties, with bootstrap or sandwich intervals, computed as
    one of the published leaderboards computes it.

    ``battles``: any table with ``a``, ``b`` and ``winner`` (``model_a``, ``model_b``,
    ``tie``, ``tie (bothbad)`` or the winner's name, as :func:`bradley_terry` reads
    it; anything else is an error).

    ``compat`` fixes the definitions (see *Leaderboards* in the guide):

    - ``"prefcore"``: the maximum-likelihood ratings, no penalty.
    - ``"fastchat"``: Chatbot Arena's ``compute_bt`` / ``compute_style_control``
      (ratings as log10 odds; with style, a ridge of 0.5 on ratings and coefficients),
      bootstrap as FastChat draws it (a multinomial over its unique outcomes from
      ``numpy.random.default_rng(seed)``; style rounds resample battles), and its
      anchor ``mixtral-8x7b-instruct-v0.1`` = 1114 when that model is present.
    - ``"arena-rank"``: LMArena's ``BradleyTerry`` / ``ContextualBradleyTerry``
      (mean log-loss; a ridge of 1 on coefficients; inverse-propensity weights by
      default with style) with its sandwich intervals.
    - ``"arena-hard"``: arena-hard-auto's ``show_result.py``: every battle is a judged
      game against ``baseline`` (one row per game: repeat a strong verdict as the judge
      weighs it), ``rating`` is the win rate against it in percent; without style the
      mean over ``bootstrap`` rounds of each model's mean score (its games resampled
      among its own), with style Bradley-Terry on its features (length
      ``(m - b)/(m + b)``, markdown densities, z-scored with ddof 1) and the median
      win probability over rounds; the interval is the 5%-95% one by default
      (``level=0.9``).

    ``style``: ``"fastchat"`` (token, header, list and bold counts of each side, read
    from columns or a ``conv_metadata`` struct), or ``{name: (column_a, column_b)}``;
    each becomes ``(a - b) / (a + b + 1)`` (``style_transform="ratio"``) or ``a - b``,
    z-scored. ``features``: per-battle numeric columns used as given (z-scored).
    ``ties="davidson"`` fits Davidson's tie model (no style needed) instead of counting
    a tie as half a win. ``ci``: ``"bootstrap"`` (``bootstrap`` rounds from ``seed``,
    or the given ``resamples``: a ``[rounds, battles]`` matrix of battle indices),
    ``"sandwich"`` (robust H⁻¹ΣH⁻¹ variances) or None; ``"auto"`` is bootstrap when
    rounds are asked for, else the sandwich. ``level``: the intervals' coverage.
    ``anchor=(model, rating)`` pins one model (every bootstrap round too);
    ratings are ``init + scale · log_base(odds)``. ``weights``: None, ``"ipw"``
    (``1 / max(battles of the pair, 50)``) or a column of per-battle weights.

    A model that never wins or never loses (or a field split into groups that never
    lost to each other) has no finite maximum-likelihood rating. Then every rating is
    fitted with a standard normal prior on the natural log-odds strengths (a ridge of
    ``unit²``), and a ``RuntimeWarning`` says which model; bootstrap rounds that draw
    such a case do the same and are counted in ``stats["fallback_rounds"]``.

    >>> battles = {"model_a": ["x", "x", "y", "x", "z"], "model_b": ["y", "z", "z", "y", "y"],
    ...            "winner": ["model_a", "model_a", "model_b", "model_b", "tie"]}
    >>> r = arena(battles)
    >>> r.table.column("model").to_pylist(), r.table.column("rank").to_pylist()
    (['x', 'z', 'y'], [1, 1, 1])
    """
    t = as_table(battles)
    require_columns(t, a, b, winner)
    if level is None:  # arena-hard reports its 5% and 95% quantiles
        level = 0.90 if compat == "arena-hard" else 0.95
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must be in (0, 1), not {level}", argument="level")
    for name, value in (("scale", scale), ("init", init)):
        if not math.isfinite(value) or (name == "scale" and value <= 0):
            raise InvalidArgumentError(f"{name} must be a finite number (scale > 0)", argument=name)
    if not (math.isfinite(base) and base > 1):
        raise InvalidArgumentError(f"base must be > 1, not {base}", argument="base")
    rounds = _check.integer("bootstrap", bootstrap, minimum=0)
    seed = _check.integer("seed", seed, minimum=0, maximum=2**63 - 1)
    styled = style is not None or bool(features)
    use_ci = (
        ci if ci != "auto" else ("bootstrap" if rounds or resamples is not None else "sandwich")
    )
    # Without covariates, per-battle weights or resampling, battles that agree in their
    # pair and outcome are one term of the likelihood: the fit and the sandwich read
    # them as counted cells.
    cells = (
        compat != "arena-hard"
        and not styled
        and use_ci != "bootstrap"
        and (weights is None or (isinstance(weights, str) and weights == "ipw"))
    )
    if cells:
        read = read_battle_cells(t, a, b, winner, "arena")
        names, ca, cb, score, tie_mask = read.names, read.a, read.b, read.score, read.tie
        count = read.count
    else:
        score, tie_mask, names, ca, cb = read_battles(t, a, b, winner, "arena")
        count = np.ones(len(score))
    n = len(names)
    if compat == "arena-hard":
        extra: dict[str, bool] = {
            "ties": ties != "half",
            "weights": weights is not None,
            "anchor": anchor is not None,
            "features": bool(features),
        }
        for name, given in extra.items():
            if given:
                raise InvalidArgumentError(
                    f"compat='arena-hard' has no {name}= (its games are one row each, "
                    "scored against the baseline)",
                    argument=name,
                )
        if ci == "sandwich":
            raise InvalidArgumentError(
                "compat='arena-hard' has no sandwich: its intervals are bootstrap ones",
                argument="ci",
            )
        rounds_hard = 0 if ci is None else rounds
        return _arena_hard_board(
            t, names, ca, cb, score, tie_mask, baseline, style, rounds_hard, seed, resamples,
            level, progress,
        )  # fmt: skip
    if ties == "davidson":
        if styled and compat != "prefcore":
            raise InvalidArgumentError(
                f"ties='davidson' is prefcore's own model; compat={compat!r} counts a tie as "
                "half a win",
                argument="ties",
            )
        if not tie_mask.any() or tie_mask.all():
            raise InvalidArgumentError(
                "ties='davidson' needs both ties and decisive battles (its tie propensity "
                "is otherwise 0 or infinite)",
                argument="ties",
            )
    rules = _rules(compat, styled, base)
    feature_names, x = _style_features(t, style, features, style_transform, rules.constant_feature)
    w = battle_weights(t, weights, ca, cb, styled, count if cells else None)
    if not (w > 0).any():
        raise InvalidArgumentError("every battle has weight 0", argument="weights")
    total = float(count.sum())
    divisor = {"one": 1.0, "weights": float((w * count).sum()), "rows": total}[rules.divisor]
    win = np.where(tie_mask, 0.0, score)
    tie = tie_mask.astype(np.float64)

    # A standard normal prior on natural log-odds strengths, in the fit's units.
    prior = rules.unit**2 / divisor
    ridge_ratings = rules.ridge_ratings
    why = None
    used = w > 0
    met, beats = _comparisons(n, ca[used], cb[used], score[used])
    group_of = _groups(met)
    groups = len(np.unique(group_of))
    if groups > 1:
        warnings.warn(
            f"the battles split the models into {groups} groups that never met: each "
            "group's mean rating is pinned at the same value, so ratings of different "
            "groups are not comparable",
            RuntimeWarning,
            stacklevel=2,
        )
    if ridge_ratings == 0.0:
        why = _unbounded(met, beats)
        if why is not None:
            warnings.warn(
                f"model {names[why].as_py()!r} won or lost every battle against the rest of "
                "its group (or some models never lost to the others): the maximum-likelihood "
                "ratings are infinite, so every rating is fitted with a standard normal "
                "prior on its log-odds strength",
                RuntimeWarning,
                stacklevel=2,
            )
            ridge_ratings = prior

    if use_ci == "bootstrap" and not rounds and resamples is None:
        raise InvalidArgumentError(
            "ci='bootstrap' needs bootstrap=rounds or resamples", argument="ci"
        )

    rows_a, rows_b, rows_win, rows_tie, rows_w, rows_x = ca, cb, win, tie, w * count, x
    resample_indices = resample_weights = None
    fastchat_draws = compat == "fastchat" and not styled and resamples is None and rounds > 0
    if resamples is not None:
        resample_indices = _resample_matrix(resamples, len(score))
    elif fastchat_draws and use_ci == "bootstrap":
        if not np.all(w == 1.0):
            raise InvalidArgumentError(
                "compat='fastchat' draws its bootstrap over unique (model_a, model_b, outcome) "
                "rows, which has no per-battle weights; drop weights= or pass resamples=",
                argument="weights",
            )
        first, counts, _ = _fastchat_cells(ca, cb, score, names, t, a, b)
        rows_a, rows_b, rows_win, rows_tie = ca[first], cb[first], win[first], tie[first]
        rows_w, rows_x = w[first] * counts, x[first]
        rng = np.random.default_rng(seed=seed)
        total = int(counts.sum())
        draws = rng.multinomial(total, counts / counts.sum(), size=rounds)
        # Multipliers of the cells' weights (w * count): each round weighs a cell by
        # w * its drawn count.
        resample_weights = draws / counts

    anchor_index = _anchor_index(compat, anchor, names)
    with reporting(progress, "ratings.arena", unit=" rounds"):
        fit = _prefcore.arena_fit(
            rows_a, rows_b, rows_win, rows_tie, rows_w, rows_x, n,
            unit=rules.unit, ridge_ratings=ridge_ratings, ridge_coefs=rules.ridge_coefs,
            divisor=divisor, davidson=ties == "davidson", fallback_ridge=prior,
            curvature=use_ci == "sandwich", seed=seed,
            bootstrap=rounds if use_ci == "bootstrap" else 0,
            resample_indices=resample_indices if use_ci == "bootstrap" else None,
            resample_weights=resample_weights, counts=count if cells else None,
        )  # fmt: skip
        sandwich = None
        if use_ci == "sandwich":  # the fit above was over the battles themselves
            sandwich = _sandwich(
                compat, fit, group_of, divisor, ridge_ratings, rules, w, total, anchor_index
            )

    elo_per_unit = scale / math.log(base) * rules.unit
    theta = np.asarray(fit.ratings)
    anchor_value = (
        float(anchor[1])
        if anchor is not None
        else FASTCHAT_ANCHOR[1]
        if anchor_index is not None
        else init
    )

    def to_elo(th: np.ndarray) -> np.ndarray:
        r = elo_per_unit * th + init
        if anchor_index is not None:
            r = r + (anchor_value - r[..., anchor_index : anchor_index + 1])
        return np.asarray(r)

    rating = to_elo(theta)
    boot = None
    lower = upper = None
    coef = np.asarray(fit.coefs)
    coef_lo = coef_hi = np.full(len(coef), np.nan)
    q = [(1 - level) / 2, (1 + level) / 2]
    if fit.boot_ratings is not None:
        boot = to_elo(np.asarray(fit.boot_ratings))
        lower, upper = np.quantile(boot, q, axis=0)
        if len(coef):
            coef_lo, coef_hi = np.quantile(np.asarray(fit.boot_coefs), q, axis=0)
    elif sandwich is not None:
        z = NormalDist().inv_cdf(q[1])
        se_theta, se_coef = sandwich
        lower = (
            to_elo(theta - z * se_theta)
            if compat == "arena-rank"
            else rating - z * elo_per_unit * se_theta
        )
        upper = (
            to_elo(theta + z * se_theta)
            if compat == "arena-rank"
            else rating + z * elo_per_unit * se_theta
        )
        coef_lo, coef_hi = coef - z * se_coef, coef + z * se_coef
    battles_per = np.bincount(ca, weights=count, minlength=n) + np.bincount(
        cb, weights=count, minlength=n
    )
    wins_per = np.bincount(ca, weights=(score == 1.0) * count, minlength=n) + np.bincount(
        cb, weights=(score == 0.0) * count, minlength=n
    )
    ties_per = np.bincount(ca, weights=tie_mask * count, minlength=n) + np.bincount(
        cb, weights=tie_mask * count, minlength=n
    )
    table = _leaderboard(names, rating, lower, upper, battles_per, wins_per, ties_per)
    coefficients = _coefficients(feature_names, coef, coef_lo, coef_hi)
    stats: ArenaStats = {
        "battles": int(total),
        "ties": int(count[tie_mask].sum()),
        "models": n,
        "iterations": int(fit.iterations),
        "fallback": why is not None,
        "fallback_rounds": int(fit.boot_fallbacks),
    }
    if stats["fallback_rounds"]:
        warnings.warn(
            f"{stats['fallback_rounds']} of {len(boot) if boot is not None else 0} bootstrap "
            "rounds drew a model that won or lost every battle; those rounds used the "
            "standard normal prior on strengths",
            RuntimeWarning,
            stacklevel=2,
        )
    return ArenaResult(
        table, coefficients, names.to_pylist(), boot, float(fit.log_tie), compat, scale, base, stats
    )


def _arena_hard_board(
    t: pa.Table,
    names: pa.Array,
    ca: np.ndarray,
    cb: np.ndarray,
    score: np.ndarray,
    tie_mask: np.ndarray,
    baseline: str | None,
    style: Any,
    rounds: int,
    seed: int,
    resamples: Any,
    level: float,
    progress: Progress,
) -> ArenaResult:
    """arena-hard-auto's leaderboard: win rates against the baseline in percent, the
    mean of per-model bootstrap means (no style) or Bradley-Terry with its style
    features (the median over rounds), with the ``level`` quantile interval."""
    from prefcore import _arena_hard as hard

    n = len(names)
    base_code, model, value, model_is_a = hard.oriented(names, ca, cb, score, baseline)
    orders = _resample_matrix(resamples, len(score)) if resamples is not None else None
    if orders is not None:
        rounds = len(orders)
    q = [(1 - level) / 2, (1 + level) / 2]
    coefs_point = np.zeros(0)
    coef_lo = coef_hi = np.zeros(0)
    feature_names: list[str] = []
    fallback_rounds = 0
    if style is None:
        count = np.bincount(model, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            point = np.bincount(model, weights=value, minlength=n) / count
        boot = None
        if rounds:
            boot = hard.mean_bootstrap(model, value, n, rounds, seed, orders)
            point = boot.mean(axis=0)  # arena-hard reports the mean of the rounds' means
    else:
        pairs = _style_pairs(t, style)
        feature_names = list(pairs)

        def numbers(table: pa.Table, column: str) -> np.ndarray:
            side = _side_table(table, column)
            require_columns(side, column)
            return _numbers(side, column)

        x = hard.style_features(t, pairs, model_is_a, numbers)
        point, boot, coefs_point, boot_coefs, fallback_rounds = hard.fit_rounds(
            model,
            base_code,
            value,
            x,
            n,
            rounds,
            seed,
            orders.astype(np.uint32) if orders is not None else None,
            progress,
        )
        if boot is not None:
            point = np.quantile(boot, 0.5, axis=0)  # arena-hard reports the median
            assert boot_coefs is not None
            coef_lo, coef_hi = np.quantile(boot_coefs, q, axis=0)
        else:
            coef_lo = coef_hi = np.full(len(coefs_point), np.nan)
    rating = 100.0 * point
    rating[base_code] = 50.0
    lower = upper = None
    if boot is not None:
        lower, upper = (100.0 * v for v in np.quantile(boot, q, axis=0))
        lower[base_code] = upper[base_code] = 50.0
    played = np.bincount(model, minlength=n) + (np.arange(n) == base_code) * len(model)
    wins = np.bincount(model, weights=value == 1.0, minlength=n)
    ties = np.bincount(model, weights=tie_mask, minlength=n)
    table = _leaderboard(names, rating, lower, upper, played, wins, ties)
    coefficients = _coefficients(feature_names, coefs_point, coef_lo, coef_hi)
    stats: ArenaStats = {
        "battles": len(score),
        "ties": int(tie_mask.sum()),
        "models": n,
        "iterations": 0,
        "fallback": False,
        "fallback_rounds": fallback_rounds,
    }
    if fallback_rounds:
        warnings.warn(
            f"{fallback_rounds} of {rounds} bootstrap rounds drew a model that won or lost "
            "every game against the baseline; those rounds used the standard normal prior",
            RuntimeWarning,
            stacklevel=3,
        )
    draws = None if boot is None else 100.0 * boot
    return ArenaResult(
        table, coefficients, names.to_pylist(), draws, math.nan, "arena-hard", math.nan, 10.0, stats
    )


def _leaderboard(
    names: pa.Array,
    rating: np.ndarray,
    lower: np.ndarray | None,
    upper: np.ndarray | None,
    battles: np.ndarray,
    wins: np.ndarray,
    ties: np.ndarray,
) -> pa.Table:
    """``ArenaResult.table``: one row per model with its interval ranks, best first."""
    best, rank_lo, rank_hi = _interval_ranks(rating, lower, upper)
    n = len(names)
    nulls = pa.nulls(n, pa.float64())
    counts = {"battles": battles, "wins": wins, "ties": ties}
    return pa.table(
        {
            "model": names,
            "rating": pa.array(rating),
            "lower": pa.array(lower) if lower is not None else nulls,
            "upper": pa.array(upper) if upper is not None else nulls,
            "rank": pa.array(best.astype(np.int64)),
            "rank_lower": pa.array(rank_lo.astype(np.int64)),
            "rank_upper": pa.array(rank_hi.astype(np.int64)),
            **{k: pa.array(np.asarray(v).astype(np.int64)) for k, v in counts.items()},
        }
    ).take(pa.array(np.lexsort((np.arange(n), -rating))))


def _coefficients(
    features: list[str], coef: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> pa.Table:
    """``ArenaResult.coefficients``: one row per style feature."""
    return pa.table(
        {
            "feature": pa.array(features, pa.string()),
            "coefficient": pa.array(coef, pa.float64()),
            "lower": pa.array(lower, pa.float64()),
            "upper": pa.array(upper, pa.float64()),
        }
    )


def _resample_matrix(resamples: Any, m: int) -> np.ndarray:
    orders = np.asarray(resamples)
    if orders.ndim != 2 or not np.issubdtype(orders.dtype, np.integer) or orders.shape[1] != m:
        raise InvalidArgumentError(
            f"resamples must be a 2-D integer array [rounds, {m}] of battle indices",
            argument="resamples",
        )
    if orders.size and (orders.min() < 0 or orders.max() >= m):
        raise InvalidArgumentError(
            f"resamples holds battle indices outside [0, {m})", argument="resamples"
        )
    return np.ascontiguousarray(orders, dtype=np.uint32)


def _anchor_index(compat: str, anchor: tuple[str, float] | None, names: pa.Array) -> int | None:
    if anchor is None:
        if compat == "fastchat":
            found = pc.index(names, FASTCHAT_ANCHOR[0]).as_py()
            return found if found >= 0 else None
        return None
    if not (isinstance(anchor, tuple) and len(anchor) == 2) or not math.isfinite(float(anchor[1])):
        raise InvalidArgumentError(
            f"anchor must be (model, finite rating), not {anchor!r}", argument="anchor"
        )
    found = pc.index(names, anchor[0]).as_py()
    if found < 0:
        raise InvalidArgumentError(
            f"anchor {anchor[0]!r} is not a model in the battles", argument="anchor"
        )
    return int(found)


def _sandwich(
    compat: str,
    curv: Any,
    group_of: np.ndarray,
    divisor: float,
    ridge_ratings: float,
    rules: _Rules,
    w: np.ndarray,
    battles: float,
    ref: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the ratings (natural units of the fit) and coefficients from
    the robust covariance H⁻¹ G H⁻¹; ``group_of``: each model's group of models joined
    by battles, ``w``: each row's weight, ``battles``: how many battles the rows stand
    for."""
    n = len(group_of)
    h, g = np.asarray(curv.hessian), np.asarray(curv.scores)
    p = h.shape[0]
    f = len(curv.coefs)
    if compat == "arena-rank":
        # arena-rank's own constants: a 1e-5 ridge on the Hessian's diagonal (times the
        # battle count when unweighted, without covariates); with covariates the
        # matrices are means over battles, the score covariance is corrected by the
        # coefficients' ridge, and the variance is divided by the battle count.
        m = battles
        if f == 0:
            reg = ARENA_RANK_HESSIAN_REG * (m if np.allclose(w, 1.0) else 1.0)
            cov = _robust(h + reg * np.eye(p), g)
        else:
            hh = h / m + ARENA_RANK_HESSIAN_REG * np.eye(p)
            beta = np.concatenate([np.zeros(n), np.asarray(curv.coefs), np.zeros(p - n - f)])
            gg = g / m - (rules.ridge_coefs**2 / m) * np.outer(beta, beta)
            cov = _robust(hh, gg) / m
        var = np.diag(cov)
        return np.sqrt(np.maximum(var[:n], 0)), np.sqrt(np.maximum(var[n : n + f], 0))
    # The objective's Hessian (data part plus ridges, on the summed scale) with each
    # group's common shift pinned (the likelihood leaves it free); variances of each
    # rating against the anchor, in its group, or else its group's mean.
    hh = h + divisor * np.diag(
        np.concatenate(
            [np.full(n, ridge_ratings), np.full(f, rules.ridge_coefs), np.zeros(p - n - f)]
        )
    )
    same = group_of[:, None] == group_of[None, :]
    centre = same / same.sum(axis=1)[:, None]
    hh[:n, :n] += centre
    cov = _robust(hh, g)
    # Var(θᵢ - θ_anchor) in the anchor's group, Var(θᵢ - mean of its group) elsewhere.
    var = np.diag(cov).copy()
    for root in np.unique(group_of):
        members = np.flatnonzero(group_of == root)
        sub = cov[np.ix_(members, members)]
        if ref is not None and group_of[ref] == root:
            var[members] += cov[ref, ref] - 2.0 * cov[members, ref]
        else:
            var[members] += sub.mean() - 2.0 * sub.mean(axis=1)
    return np.sqrt(np.maximum(var[:n], 0)), np.sqrt(np.maximum(var[n : n + f], 0))


def _robust(hh: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``hh⁻¹ g hh⁻¹``: by the extension's Cholesky when ``hh`` is positive definite
    (a BLAS would leave threads spinning after the call), else by LAPACK's inverse."""
    cov = _prefcore.robust_covariance(np.ascontiguousarray(hh), np.ascontiguousarray(g))
    if cov is not None:
        return np.asarray(cov)
    inv = np.linalg.inv(hh)
    return np.asarray(inv @ g @ inv)
