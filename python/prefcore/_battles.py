"""Battles read from a table: the score of each battle's first model, and the models
as codes; shared by :mod:`prefcore.ratings` and its arena leaderboards."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import first_true
from prefcore.errors import ColumnTypeError, InvalidArgumentError, invalid_value

#: Elo points per factor of 10 in the odds, and the same scale per natural-log unit.
ELO_POINTS = 400.0
ELO_SCALE = ELO_POINTS / math.log(10.0)
ELO_BASE = 1000.0

A_WINS = {"model_a", "a", "A"}
B_WINS = {"model_b", "b", "B"}
TIES = {"tie", "tie (bothbad)", "draw"}


def winner_scores(t: pa.Table, a: str, b: str, winner: str) -> tuple[np.ndarray, np.ndarray]:
    """Score of ``a`` per battle (1, 0, 0.5) and a tie mask."""
    w = t.column(winner)
    if w.null_count:
        raise invalid_value(winner, first_true(pc.is_null(w)), "null")
    if pa.types.is_string(w.type) or pa.types.is_large_string(w.type):
        # Arrow's kernels over the string buffers: no Python string per row.
        values = w.cast(pa.string())
        names_a, names_b = t.column(a).cast(pa.string()), t.column(b).cast(pa.string())

        def mask(x: Any) -> np.ndarray:
            return np.asarray(pc.fill_null(x, False).to_numpy(zero_copy_only=False), dtype=bool)

        wins_a = mask(pc.is_in(values, value_set=pa.array(sorted(A_WINS)))) | mask(
            pc.equal(values, names_a)
        )
        wins_b = mask(pc.is_in(values, value_set=pa.array(sorted(B_WINS)))) | mask(
            pc.equal(values, names_b)
        )
        tie = mask(pc.is_in(values, value_set=pa.array(sorted(TIES))))
        bad = ~(wins_a | wins_b | tie)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise invalid_value(
                winner,
                row,
                f"{values[row].as_py()!r} is not 'model_a', 'model_b', 'tie' or the name of "
                "either model",
            )
        return np.where(wins_a, 1.0, np.where(tie, 0.5, 0.0)), tie
    if pa.types.is_boolean(w.type):
        s = w.to_numpy(zero_copy_only=False).astype(np.float64)
        return s, np.zeros(len(s), bool)
    if pa.types.is_integer(w.type) or pa.types.is_floating(w.type):
        s = w.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~np.isin(s, [0.0, 0.5, 1.0])
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise invalid_value(winner, row, f"{s[row]} is not 1 (a wins), 0 or 0.5 (tie)")
        return s, s == 0.5
    raise ColumnTypeError(
        f"column '{winner}' has type {w.type}; expected strings, bools or 1/0/0.5", column=winner
    )


def coded_battles(
    t: pa.Table, a: str, b: str, keep: np.ndarray, what: str
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The models' names, sorted, and each kept battle's two models as codes into them;
    a model battling itself, a null model or fewer than two models are errors."""
    same = pc.equal(t.column(a).cast(pa.string()), t.column(b).cast(pa.string()))
    row = first_true(same)
    if row is not None:
        raise InvalidArgumentError(f"columns '{a}'/'{b}', row {row}: a model cannot battle itself")
    col_a = t.column(a).cast(pa.string()).filter(pa.array(keep))
    col_b = t.column(b).cast(pa.string()).filter(pa.array(keep))
    for name, col in ((a, col_a), (b, col_b)):
        if col.null_count:
            raise invalid_value(name, first_true(pc.is_null(col)), "null model")
    names = pc.unique(pa.chunked_array(col_a.chunks + col_b.chunks, pa.string()))
    names = names.take(pc.sort_indices(names))
    if len(names) < 2:
        raise InvalidArgumentError(f"{what} needs battles between at least two models")
    return names, pc.index_in(col_a, value_set=names), pc.index_in(col_b, value_set=names)


def read_battles(
    t: pa.Table, a: str, b: str, winner: str, what: str
) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """Every battle's score of ``a`` and tie mask, the models' names (sorted) and each
    battle's two models as uint32 codes into them; an empty table is an error."""
    if t.num_rows == 0:
        raise InvalidArgumentError(f"{what} needs battles; the table is empty")
    score, tie = winner_scores(t, a, b, winner)
    names, codes_a, codes_b = coded_battles(t, a, b, np.ones(len(score), bool), what)
    ca = np.asarray(codes_a.to_numpy(zero_copy_only=False), dtype=np.uint32)
    cb = np.asarray(codes_b.to_numpy(zero_copy_only=False), dtype=np.uint32)
    return score, tie, names, ca, cb
