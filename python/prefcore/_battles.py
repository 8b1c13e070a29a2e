"""Battles read from a table: the score of each battle's first model, and the models
as codes; shared by :mod:`prefcore.ratings` and its arena leaderboards."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import first_true
from prefcore.errors import ColumnTypeError, InvalidArgumentError, InvalidValueError, invalid_value

#: Elo points per factor of 10 in the odds, and the same scale per natural-log unit.
ELO_POINTS = 400.0
ELO_SCALE = ELO_POINTS / math.log(10.0)
ELO_BASE = 1000.0

A_WINS = {"model_a", "a", "A"}
B_WINS = {"model_b", "b", "B"}
TIES = {"tie", "tie (bothbad)", "draw"}


class ModelCodes:
    """Both model columns of a table coded against one table of names, hashing each
    column once: ``a`` and ``b`` hold each row's code (-1 for a null), ``values`` maps
    a name to its code (first seen first). Dictionary columns are read as they are."""

    def __init__(self, t: pa.Table, a: str, b: str) -> None:
        self.values: dict[str, int] = {}
        self.a = self.encode(t.column(a))
        self.b = self.encode(t.column(b))

    def encode(self, col: Any) -> np.ndarray:
        """Each row's code in ``values`` (new names added), -1 for a null."""
        return encode_strings(col, lambda v: self.values.setdefault(v, len(self.values)))

    def sorted(self, keep: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """The names the ``keep`` rows use, sorted, and those rows' codes into them."""
        ca, cb = self.a[keep], self.b[keep]
        used = np.zeros(len(self.values), bool)
        used[ca[ca >= 0]] = True
        used[cb[cb >= 0]] = True
        names = np.array(list(self.values), dtype=object)
        order = np.flatnonzero(used)[np.argsort(names[used].astype(str), kind="stable")]
        remap = np.full(len(self.values), -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        return pa.array(names[order].tolist(), pa.string()), remap[ca], remap[cb]


def encode_strings(col: Any, code_of: Any) -> np.ndarray:
    """``code_of(value)`` for each distinct value of a string (or dictionary) column,
    spread to its rows by Arrow's hash encoding; -1 for a null."""
    col = col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])
    parts = []
    for chunk in col.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk.cast(pa.string()))
        local = chunk.dictionary.cast(pa.string()).to_pylist()
        # The last entry stands for a null index; a null in the dictionary is a null too.
        remap = np.array([-1 if v is None else code_of(v) for v in local] + [-1], np.int64)
        index = pc.fill_null(chunk.indices, len(local)).to_numpy(zero_copy_only=False)
        parts.append(remap[index])
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


#: How a winner value reads: a's win, b's win, a tie, or a model's name.
A_WIN, B_WIN, TIE, NAMED = 0, 1, 2, 3


def winner_scores(
    t: pa.Table, a: str, b: str, winner: str, models: ModelCodes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Score of ``a`` per battle (1, 0, 0.5) and a tie mask. A winner may also be the
    name of either model; ``models`` (the table's codes) saves hashing them again."""
    w = t.column(winner)
    if w.null_count:
        raise invalid_value(winner, first_true(pc.is_null(w)), "null")
    if _is_text(w.type):
        models = models or ModelCodes(t, a, b)
        # Each distinct winner value is read once; the rows take its reading by code.
        readings: list[tuple[int, int]] = []

        def read(v: str) -> int:
            cls = A_WIN if v in A_WINS else B_WIN if v in B_WINS else TIE if v in TIES else NAMED
            readings.append((cls, models.values.get(v, -2) if cls == NAMED else -2))
            return len(readings) - 1

        codes = encode_strings(w, read)
        table = np.array(readings, dtype=np.int64).reshape(-1, 2)
        cls, named = table[codes, 0], table[codes, 1]
        wins_a = (cls == A_WIN) | ((cls == NAMED) & (named == models.a))
        wins_b = (cls == B_WIN) | ((cls == NAMED) & (named == models.b))
        tie = cls == TIE
        bad = ~(wins_a | wins_b | tie)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise invalid_value(
                winner,
                row,
                f"{w[row].as_py()!r} is not 'model_a', 'model_b', 'tie' or the name of "
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
    t: pa.Table, a: str, b: str, keep: np.ndarray, what: str, models: ModelCodes | None = None
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The models' names, sorted, and each kept battle's two models as codes into them;
    a model battling itself, a null model or fewer than two models are errors."""
    models = models or ModelCodes(t, a, b)
    same = (models.a == models.b) & (models.a >= 0)
    if same.any():
        row = int(np.flatnonzero(same)[0])
        raise InvalidValueError(
            f"columns '{a}'/'{b}', row {row}: a model cannot battle itself", column=b, row=row
        )
    for name, codes in ((a, models.a), (b, models.b)):
        missing = np.flatnonzero((codes < 0) & keep)
        if len(missing):
            raise invalid_value(name, int(missing[0]), "null model")
    names, ca, cb = models.sorted(keep)
    if len(names) < 2:
        raise InvalidArgumentError(f"{what} needs battles between at least two models")
    return names, pa.array(ca.astype(np.int32)), pa.array(cb.astype(np.int32))


def _is_text(kind: pa.DataType) -> bool:
    """A string type, or a dictionary of one."""
    kind = kind.value_type if pa.types.is_dictionary(kind) else kind
    return (
        bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))
        or str(kind) == "string_view"
    )


def _coded(t: pa.Table, a: str, b: str, winner: str, what: str, rows: bool) -> Any:
    """The extension's one-pass reading of three text columns (None when a column is
    not text): its problems raised as the column-by-column reading words them."""
    if not all(_is_text(t.schema.field(c).type) for c in (a, b, winner)):
        return None
    read = _prefcore.battle_codes(
        t.column(a), t.column(b), t.column(winner), columns=(a, b, winner), rows=rows
    )
    if read.problem is not None and read.problem_row is not None:
        problem, row = read.problem, read.problem_row
        if problem == "null winner":
            raise invalid_value(winner, row, "null")
        if problem == "unknown winner":
            raise invalid_value(
                winner,
                row,
                f"{t.column(winner)[row].as_py()!r} is not 'model_a', 'model_b', 'tie' or "
                "the name of either model",
            )
        if problem == "self battle":
            raise InvalidValueError(
                f"columns '{a}'/'{b}', row {row}: a model cannot battle itself", column=b, row=row
            )
        raise invalid_value(a if problem == "null a" else b, row, "null model")
    if len(read.names) < 2:
        raise InvalidArgumentError(f"{what} needs battles between at least two models")
    return read


def read_battles(
    t: pa.Table, a: str, b: str, winner: str, what: str
) -> tuple[np.ndarray, np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """Every battle's score of ``a`` and tie mask, the models' names (sorted) and each
    battle's two models as uint32 codes into them; an empty table is an error."""
    if t.num_rows == 0:
        raise InvalidArgumentError(f"{what} needs battles; the table is empty")
    read = _coded(t, a, b, winner, what, rows=True)
    if read is not None:
        outcome = read.outcome
        return outcome * 0.5, outcome == 1, pa.array(read.names, pa.string()), read.a, read.b
    models = ModelCodes(t, a, b)
    score, tie = winner_scores(t, a, b, winner, models)
    names, codes_a, codes_b = coded_battles(t, a, b, np.ones(len(score), bool), what, models)
    ca = np.asarray(codes_a.to_numpy(zero_copy_only=False), dtype=np.uint32)
    cb = np.asarray(codes_b.to_numpy(zero_copy_only=False), dtype=np.uint32)
    return score, tie, names, ca, cb


@dataclass(frozen=True)
class BattleCells:
    """Battles counted per unordered pair and outcome: ``a < b`` (codes into the
    sorted ``names``), ``score`` of ``a`` (1, 0.5, 0) and ``tie`` per cell, and
    ``count``, the battles each cell stands for (float64)."""

    names: pa.Array
    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    tie: np.ndarray
    count: np.ndarray


def read_battle_cells(t: pa.Table, a: str, b: str, winner: str, what: str) -> BattleCells:
    """:func:`read_battles`, counted into cells: text columns in one pass of the
    extension, others read battle by battle and then counted."""
    if t.num_rows == 0:
        raise InvalidArgumentError(f"{what} needs battles; the table is empty")
    read = _coded(t, a, b, winner, what, rows=False)
    if read is not None:
        outcome = read.cell_outcome
        return BattleCells(
            pa.array(read.names, pa.string()), read.cell_a, read.cell_b, outcome * 0.5,
            outcome == 1, read.cell_count,
        )  # fmt: skip
    score, _, names, ca, cb = read_battles(t, a, b, winner, what)
    swap = ca > cb
    lo, hi = np.where(swap, cb, ca).astype(np.int64), np.where(swap, ca, cb).astype(np.int64)
    outcome = np.rint(2 * np.where(swap, 1.0 - score, score)).astype(np.int64)
    key = (lo * len(names) + hi) * 3 + outcome
    cells, count = np.unique(key, return_counts=True)
    pair, outcome = np.divmod(cells, 3)
    cell_a, cell_b = np.divmod(pair, len(names))
    return BattleCells(
        names, cell_a.astype(np.uint32), cell_b.astype(np.uint32), outcome * 0.5, outcome == 1,
        count.astype(np.float64),
    )  # fmt: skip
