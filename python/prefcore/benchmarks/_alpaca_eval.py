"""AlpacaEval's win rates as its ``metrics`` code computes them, per generator.

A ``preference`` is in [1, 2]: 1 the baseline (``output_1``) wins, 2 the model
(``output_2``) wins, 1.5 (or 0, read as 1.5) a draw; a missing one (null or NaN) is
left out of every count, as AlpacaEval drops it, and counted in ``n_dropped``.
``win_rate`` is the mean of ``preference - 1`` in percent and ``standard_error`` its
standard error (ddof 1); ``discrete_win_rate`` rounds each preference first. The
length-controlled win rate fits AlpacaEval's logistic model of the preference on the
length difference and the instruction's difficulty, then predicts it at equal lengths.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, require_columns
from prefcore._check import choice
from prefcore._display import Summarised
from prefcore._prefcore import l1_logistic_cv
from prefcore.benchmarks._common import codes, no_nulls, strings
from prefcore.errors import ColumnTypeError, InvalidArgumentError, invalid_value

__all__ = ["GLMS", "AlpacaEvalResult", "alpaca_eval", "length_controlled_fit"]

Glm = Literal["length_controlled_v1", "length_controlled_noreg", "length_controlled_minimal"]

#: AlpacaEval's models: whether they use the instruction's difficulty, and the weight
#: of the gamed baselines' rows (None: no gamed rows).
GLMS: dict[str, tuple[bool, float | None]] = {
    "length_controlled_v1": (True, 0.2),
    "length_controlled_noreg": (True, None),
    "length_controlled_minimal": (False, None),
}
_FOLDS = 5
#: The penalties AlpacaEval's ``LogisticRegressionCV`` tries (scikit-learn's ``Cs=10``).
_PENALTIES = np.logspace(-4, 4, 10).tolist()


@dataclass(frozen=True, repr=False)
class AlpacaEvalResult(Summarised):
    """Win rates per generator, in percent.

    ``table``: one row per generator (``generator``, ``win_rate``, ``standard_error``,
    ``n_wins``, ``n_wins_base``, ``n_draws``, ``n_total``, ``n_dropped``,
    ``discrete_win_rate``, then ``length_controlled_winrate`` and ``lc_standard_error``
    when fitted, then ``longer_win_rate`` and ``shorter_win_rate`` when the outputs are
    given: the win rate of a judge that always prefers the longer, or the shorter,
    output); ``weights``: each fitted generator's model coefficients, named as
    AlpacaEval names them."""

    table: pa.Table
    weights: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """One dict of metrics per generator, as AlpacaEval's ``get_winrate`` returns."""
        rows = self.table.to_pylist()
        return {r.pop("generator"): r for r in rows}


def alpaca_eval(
    annotations: Any,
    *,
    length_controlled: bool | None = None,
    glm: Glm = "length_controlled_v1",
    instruction_difficulty: Any = None,
    gamed: Any = None,
    preference_col: str = "preference",
    generator_col: str = "generator_2",
    baseline_col: str = "generator_1",
    outputs: tuple[str, str] = ("output_1", "output_2"),
    index_col: str = "index",
) -> AlpacaEvalResult:
    """Win rates of each generator against its baseline from AlpacaEval annotations
    (``preference``, ``generator_2``; ``generator_1``, ``output_1``, ``output_2`` and
    ``index`` where the length-controlled rate or the length baselines need them).

    ``length_controlled=None`` fits the length-controlled win rate wherever its inputs
    are given: the outputs, and for ``glm="length_controlled_v1"`` (AlpacaEval's
    default) the ``gamed`` rows (AlpacaEval's ``df_gamed.csv``, without its ``model``
    column: ``preference`` in [0, 1], ``index``, ``std_delta_len``,
    ``instruction_difficulty``, ``not_gamed_baseline``), for ``"length_controlled_noreg"``
    the ``instruction_difficulty`` of each instruction (an array by ``index``, or a
    mapping); v1 takes the difficulty from ``gamed`` as AlpacaEval does when it is not
    given. ``True`` makes a missing input an error.

    >>> rows = {"generator_2": ["m"] * 4, "preference": [2.0, 1.0, 1.5, 2.0]}
    >>> r = alpaca_eval(rows).to_dict()["m"]
    >>> r["win_rate"], r["n_wins"], r["n_draws"]
    (62.5, 2, 1)
    """
    choice("glm", glm, tuple(GLMS))
    t = as_pyarrow_table(annotations, "annotations")
    require_columns(t, preference_col, generator_col)
    pref = _preferences(t, preference_col)
    code, generators = codes(t, generator_col, "generator")
    has_outputs = all(name in t.column_names for name in outputs)
    lengths = [_lengths(t, name) for name in outputs] if has_outputs else None
    use_difficulty, reg = GLMS[glm]
    difficulty = instruction_difficulty
    gamed_table = as_pyarrow_table(gamed, "gamed") if gamed is not None else None
    if difficulty is None and gamed_table is not None and use_difficulty:
        difficulty = _difficulty_of_gamed(gamed_table)
    gamed_rows = _gamed(gamed_table) if reg is not None and gamed_table is not None else None
    ready = has_outputs and (not use_difficulty or difficulty is not None)
    ready = ready and (reg is None or gamed_rows is not None)
    if length_controlled and not ready:
        need = (
            "the outputs"
            if not has_outputs
            else ("gamed" if reg is not None else "instruction_difficulty")
        )
        raise InvalidArgumentError(
            f"the length-controlled win rate with glm={glm!r} needs {need}",
            argument="length_controlled",
        )
    fit_lc = ready if length_controlled is None else bool(length_controlled)
    baseline = codes(t, baseline_col, "generator") if fit_lc else None
    index = (
        np.asarray(no_nulls(t, index_col, "index").to_numpy(), dtype=np.int64)
        if fit_lc and use_difficulty and index_col in t.column_names
        else None
    )
    rows: list[dict[str, Any]] = []
    weights: dict[str, dict[str, float]] = {}
    for g, name in enumerate(generators):
        mine = np.flatnonzero(code == g)
        row: dict[str, Any] = {"generator": name, **_head2head(pref[mine])}
        if fit_lc:
            assert baseline is not None and lengths is not None
            base_names = {baseline[1][b] for b in np.unique(baseline[0][mine])}
            if len(base_names) != 1:
                raise invalid_value(
                    baseline_col,
                    int(mine[0]),
                    f"generator {name!r} has several baselines {sorted(base_names)}",
                )
            d = None
            if use_difficulty:
                at = index[mine] if index is not None else np.arange(len(mine))
                d = _lookup(difficulty, at, index_col)
            lc, se, w = length_controlled_fit(
                pref[mine],
                lengths[0][mine],
                lengths[1][mine],
                d,
                gamed_rows,
                glm=glm,
                is_baseline=base_names == {name},
            )
            row["length_controlled_winrate"], row["lc_standard_error"] = lc, se
            weights[name] = w
            if _extreme(row["win_rate"], lc):
                warnings.warn(
                    f"{name}: the length-controlled win rate {lc:.1f}% is far from the raw "
                    f"{row['win_rate']:.1f}%; the model fit may have failed",
                    stacklevel=2,
                )
        if lengths is not None:
            longer = np.sign(lengths[1][mine] - lengths[0][mine])
            for label, sign in (("longer_win_rate", 1.0), ("shorter_win_rate", -1.0)):
                rule = np.where(np.isnan(pref[mine]), np.nan, 1.5 + 0.5 * sign * longer)
                row[label] = _head2head(rule)["win_rate"]
        rows.append(row)
    return AlpacaEvalResult(pa.Table.from_pylist(rows), weights)


def _preferences(t: pa.Table, name: str) -> np.ndarray:
    """Preferences as floats, nulls as NaN (dropped later), 0 read as a draw; a value
    outside [1, 2] is an error."""
    col = t.column(name)
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        raise ColumnTypeError(f"column '{name}' must hold numbers, not {col.type}", column=name)
    x = np.asarray(pc.fill_null(col.cast(pa.float64()), float("nan")).to_numpy(), dtype=float)
    x = np.where(x == 0.0, 1.5, x)
    bad = np.flatnonzero(~np.isnan(x) & ((x < 1.0) | (x > 2.0)))
    if len(bad):
        raise invalid_value(name, int(bad[0]), f"preference {x[bad[0]]} is not in [1, 2] or 0")
    return x


def _head2head(pref: np.ndarray) -> dict[str, Any]:
    kept = pref[~np.isnan(pref)] - 1.0
    n = len(kept)
    discrete = np.where(kept == 0.5, 0.5, np.round(kept))  # a draw stays a draw
    return {
        "win_rate": float(kept.mean() * 100) if n else float("nan"),
        "standard_error": float(kept.std(ddof=1) / math.sqrt(n) * 100) if n > 1 else float("nan"),
        "n_wins": int((kept > 0.5).sum()),
        "n_wins_base": int((kept < 0.5).sum()),
        "n_draws": int((kept == 0.5).sum()),
        "n_total": n,
        "n_dropped": int(len(pref) - n),
        "discrete_win_rate": float(discrete.mean() * 100) if n else float("nan"),
    }


def _lengths(t: pa.Table, name: str) -> np.ndarray:
    """Characters (code points, as Python's ``len``) of each output."""
    return np.asarray(pc.utf8_length(strings(t, name, "output")).to_numpy(), dtype=np.float64)


def _gamed(t: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The gamed baselines' rows: preference, std_delta_len, difficulty, not_gamed."""
    names = ("preference", "std_delta_len", "instruction_difficulty", "not_gamed_baseline")
    require_columns(t, *names)
    cols = []
    for name in names:
        col = t.column(name).cast(pa.float64())
        cols.append(np.asarray(pc.fill_null(col, float("nan")).to_numpy(), dtype=float))
    return cols[0], cols[1], cols[2], cols[3]


def _difficulty_of_gamed(t: pa.Table) -> np.ndarray:
    """AlpacaEval's lookup: instruction ``i`` takes the difficulty of gamed row ``i``
    when that row is its instruction's first (``drop_duplicates("index")`` keeps the row
    labels); NaN where it is not, which the lookup refuses by row."""
    require_columns(t, "index", "instruction_difficulty")
    index = t.column("index").to_numpy(zero_copy_only=False)
    value = np.asarray(
        t.column("instruction_difficulty").cast(pa.float64()).to_numpy(zero_copy_only=False),
        dtype=float,
    )
    first = np.zeros(len(index), dtype=bool)
    first[np.unique(index, return_index=True)[1]] = True
    return np.where(first, value, np.nan)


def _lookup(difficulty: Any, at: np.ndarray, column: str) -> np.ndarray:
    if isinstance(difficulty, Mapping) or hasattr(difficulty, "items"):
        table = dict(difficulty.items())
        out = np.empty(len(at))
        for k, i in enumerate(at.tolist()):
            if i not in table:
                raise invalid_value(column, k, f"no instruction_difficulty for index {i}")
            out[k] = table[i]
        return out
    values = np.asarray(difficulty, dtype=np.float64)
    bad = np.flatnonzero((at < 0) | (at >= len(values)))
    if not len(bad):
        bad = np.flatnonzero(np.isnan(values[at]))
    if len(bad):
        raise invalid_value(
            column, int(bad[0]), f"no instruction_difficulty for index {at[bad[0]]}"
        )
    found: np.ndarray = values[at]
    return found


def length_controlled_fit(
    preference: np.ndarray,
    length_baseline: np.ndarray,
    length_model: np.ndarray,
    difficulty: np.ndarray | None,
    gamed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
    *,
    glm: Glm = "length_controlled_v1",
    is_baseline: bool = False,
) -> tuple[float, float, dict[str, float]]:
    """AlpacaEval's length-controlled win rate of one generator: the rate, its standard
    error (both in percent) and the model's coefficients. ``preference`` in [1, 2]
    (NaN rows are predicted but not fitted)."""
    use_difficulty, reg = GLMS[glm]
    names = ["np.tanh(std_delta_len)"]
    if use_difficulty:
        names.append("instruction_difficulty")
    names.append("not_gamed_baseline.astype(float)")
    n = len(preference)
    if is_baseline:
        return 50.0, 0.0, dict.fromkeys(names, 0.0)
    delta = length_baseline - length_model
    spread = float(np.std(delta, ddof=1)) if n > 1 else 0.0
    if not spread > 0:
        raise InvalidArgumentError(
            "the length-controlled win rate needs outputs of differing length differences",
            argument="annotations",
        )
    columns = [np.tanh(delta / spread)]
    test = [np.zeros(n)]
    if use_difficulty:
        assert difficulty is not None
        columns.append(difficulty)
        test.append(difficulty)
    columns.append(np.ones(n))
    test.append(np.ones(n))
    x, p, s = np.column_stack(columns), preference - 1.0, np.ones(n)
    if reg is not None:
        assert gamed is not None
        g_pref, g_delta, g_difficulty, g_not_gamed = gamed
        g_cols = [np.tanh(g_delta)] + ([g_difficulty] if use_difficulty else []) + [g_not_gamed]
        x = np.vstack([np.column_stack(g_cols), x])
        p = np.concatenate([g_pref, p])
        # the gamed rows weigh reg / 2: there are two gamed baselines
        s = np.concatenate([g_not_gamed + reg * (g_not_gamed == 0) / 2, s])
    keep = ~np.isnan(p)
    # liblinear's L1 logistic regression without intercept, its penalty chosen by the
    # summed held-out log-loss over GroupKFold folds, as AlpacaEval fits it; solved to
    # machine precision (liblinear stops at tol=1e-4).
    fit = l1_logistic_cv(
        np.ascontiguousarray(x[keep]),
        p[keep],
        s[keep],
        _PENALTIES,
        n_splits=_FOLDS,
        weighted_score=reg is not None,
    )
    w = np.asarray(fit.coefficients)
    predicted = 1.0 / (1.0 + np.exp(-(np.column_stack(test) @ w)))
    se = float(np.std(predicted, ddof=1) / math.sqrt(n) * 100) if n > 1 else float("nan")
    return float(predicted.mean() * 100), se, dict(zip(names, w.tolist()))


def _extreme(before: float, after: float) -> bool:
    """AlpacaEval's warning rule for a length-controlled rate far from the raw one."""
    low = min(before - before / 4, before - 10)
    high = max(before + (100 - before) / 4, before + 10)
    return bool(after < low or after > high)
