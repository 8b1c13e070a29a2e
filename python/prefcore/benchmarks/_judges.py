"""How far an LLM judge can be trusted: whether its verdict survives swapping the two
answers' positions, and how often it agrees with human (or other) judges.

Verdicts are ``"model_a"``, ``"model_b"`` or a tie (any value containing ``"tie"``,
such as ``"tie (bothbad)"``), as FastChat's MT-Bench judgments write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, require_columns
from prefcore._display import Summarised
from prefcore.benchmarks._common import codes, no_nulls
from prefcore.errors import InvalidArgumentError, invalid_value

__all__ = ["JudgeAgreement", "PositionConsistency", "judge_agreement", "position_consistency"]

_A, _B, _TIE = 0, 1, 2


def _verdicts(t: pa.Table, name: str) -> np.ndarray:
    """0 (model_a), 1 (model_b) or 2 (a tie) per row; anything else is an error."""
    code, values = codes(t, name, "verdict")
    mapped = []
    for v in values:
        if "tie" in v:
            mapped.append(_TIE)
        elif v in ("model_a", "model_b"):
            mapped.append(_A if v == "model_a" else _B)
        else:
            row = int(np.flatnonzero(code == values.index(v))[0])
            raise invalid_value(name, row, f"verdict {v!r} is not 'model_a', 'model_b' or a tie")
    verdicts: np.ndarray = np.asarray(mapped, dtype=np.int64)[code]
    return verdicts


@dataclass(frozen=True, repr=False)
class PositionConsistency(Summarised):
    """A judge's verdicts on the same pairs in both orders.

    ``consistency``: the share of pairs with the same verdict both ways;
    ``first_position``/``second_position``: the share where the answer in the first
    (second) position won both times, whichever it was (position bias);
    ``other``: the remaining inconsistent share (a win one way, a tie the other);
    ``bias``: ``first_position - second_position`` (positive: the judge favours the
    first position); ``pairs``: how many pairs."""

    consistency: float
    first_position: float
    second_position: float
    other: float
    bias: float
    pairs: int

    def to_dict(self) -> dict[str, Any]:
        """The figures as a dict."""
        return {
            "consistency": self.consistency,
            "first_position": self.first_position,
            "second_position": self.second_position,
            "other": self.other,
            "bias": self.bias,
            "pairs": self.pairs,
        }


def position_consistency(
    judgments: Any, *, winner_col: str = "winner", swapped_col: str = "winner_swapped"
) -> PositionConsistency:
    """Position-swap consistency from one row per pair: ``winner``, the verdict with
    model A's answer shown first, and ``winner_swapped``, the verdict with the answers'
    positions swapped but the names kept (``"model_a"`` still means model A).

    >>> rows = {"winner": ["model_a", "model_a", "tie", "model_b"],
    ...         "winner_swapped": ["model_a", "model_b", "tie", "model_a"]}
    >>> r = position_consistency(rows)
    >>> r.consistency, r.first_position, r.second_position
    (0.5, 0.25, 0.25)
    """
    t = as_pyarrow_table(judgments, "judgments")
    require_columns(t, winner_col, swapped_col)
    if t.num_rows == 0:
        raise InvalidArgumentError("no judgments to score", argument="judgments")
    first, swapped = _verdicts(t, winner_col), _verdicts(t, swapped_col)
    same = first == swapped
    # Model A first, then second: A winning first and B winning swapped means the
    # first position won both times.
    first_pos = (first == _A) & (swapped == _B)
    second_pos = (first == _B) & (swapped == _A)
    n = t.num_rows
    f, s = float(first_pos.mean()), float(second_pos.mean())
    return PositionConsistency(float(same.mean()), f, s, 1.0 - float(same.mean()) - f - s, f - s, n)


@dataclass(frozen=True, repr=False)
class JudgeAgreement(Summarised):
    """Agreement of two judges on the same questions and model pairs, with and
    without ties, as FastChat's MT-Bench agreement counts it.

    ``table``: one row per turn (``turn``, ``agree``, ``total``, ``agreement``,
    ``agree_without_ties``, ``total_without_ties``, ``agreement_without_ties``)."""

    table: pa.Table

    def to_dict(self) -> dict[Any, dict[str, Any]]:
        """One dict per turn."""
        return {r.pop("turn"): r for r in self.table.to_pylist()}


def judge_agreement(
    votes: Any,
    *,
    judge: str,
    reference: str,
    judge_col: str = "judge",
    question_col: str = "question_id",
    model_a_col: str = "model_a",
    model_b_col: str = "model_b",
    winner_col: str = "winner",
    turn_col: str = "turn",
) -> JudgeAgreement:
    """How often ``judge`` agrees with ``reference`` (two names in the ``judge``
    column), per ``turn`` when the votes have one. A vote is keyed by question and
    model pair (either order: a vote on (B, A) is turned around). Every vote of
    ``judge`` is compared with every vote of ``reference`` on the same key (FastChat
    has exactly one judge vote per key); with ``judge == reference``, every two votes
    on a key are compared. Two ties agree whatever their kind; "without ties" leaves
    out comparisons where either vote is a tie.

    >>> votes = {"judge": ["gpt4", "human", "human"], "question_id": [1, 1, 1],
    ...          "model_a": ["x", "y", "x"], "model_b": ["y", "x", "y"],
    ...          "winner": ["model_a", "model_b", "tie"]}
    >>> judge_agreement(votes, judge="gpt4", reference="human").to_dict()[1]["agreement"]
    0.5
    """
    t = as_pyarrow_table(votes, "votes")
    require_columns(t, judge_col, question_col, model_a_col, model_b_col, winner_col)
    who, judges = codes(t, judge_col, "judge")
    for name in (judge, reference):
        if name not in judges:
            raise InvalidArgumentError(
                f"judge {name!r} has no votes; the votes' judges are {judges}",
                argument="judge" if name == judge else "reference",
            )
    verdict = _verdicts(t, winner_col)
    a = no_nulls(t, model_a_col, "model").cast(pa.string())
    b = no_nulls(t, model_b_col, "model").cast(pa.string())
    same = pc.equal(a, b).to_numpy(zero_copy_only=False)
    if same.any():
        row = int(np.flatnonzero(same)[0])
        raise invalid_value(model_b_col, row, "the same model on both sides")
    flip = pc.greater(a, b).to_numpy(zero_copy_only=False)
    verdict = np.where(flip & (verdict != _TIE), 1 - verdict, verdict)
    low, high = pc.if_else(flip, b, a), pc.if_else(flip, a, b)
    question = no_nulls(t, question_col, "question id")
    turns = (
        no_nulls(t, turn_col, "turn")
        if turn_col in t.column_names
        else pa.chunked_array([pa.array(np.ones(t.num_rows, dtype=np.int64))])
    )
    keys = pa.table({"q": question, "lo": low, "hi": high, "turn": turns})
    key = np.asarray(
        pc.dictionary_encode(
            pc.binary_join_element_wise(
                *(pc.cast(keys.column(c), pa.string()) for c in keys.column_names), "\x1f"
            )
        )
        .combine_chunks()
        .indices.to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    j, r = judges.index(judge), judges.index(reference)
    n_keys = int(key.max()) + 1 if len(key) else 0
    # Per key, how many votes of each kind each judge cast; the agreeing pairs follow.
    mine = np.bincount(key[who == j] * 3 + verdict[who == j], minlength=3 * n_keys).reshape(-1, 3)
    theirs = np.bincount(key[who == r] * 3 + verdict[who == r], minlength=3 * n_keys).reshape(-1, 3)
    if j == r:

        def pairs(c: np.ndarray) -> np.ndarray:
            out: np.ndarray = c * (c - 1) // 2
            return out

        total = pairs(mine.sum(axis=1))
        agree = pairs(mine).sum(axis=1)
        total_nt = pairs(mine[:, :2].sum(axis=1))
        agree_nt = pairs(mine[:, :2]).sum(axis=1)
    else:
        total = mine.sum(axis=1) * theirs.sum(axis=1)
        agree = (mine * theirs).sum(axis=1)
        total_nt = mine[:, :2].sum(axis=1) * theirs[:, :2].sum(axis=1)
        agree_nt = (mine[:, :2] * theirs[:, :2]).sum(axis=1)
    first_row = np.full(n_keys, -1)
    first_row[key[::-1]] = np.arange(len(key))[::-1]
    turn_of_key = np.asarray(turns.to_pylist(), dtype=object)[first_row]
    rows = []
    for turn in sorted(set(turn_of_key.tolist())):
        on = turn_of_key == turn
        a_, t_, an, tn = (int(v[on].sum()) for v in (agree, total, agree_nt, total_nt))
        rows.append(
            {
                "turn": turn,
                "agree": a_,
                "total": t_,
                "agreement": a_ / t_ if t_ else float("nan"),
                "agree_without_ties": an,
                "total_without_ties": tn,
                "agreement_without_ties": an / tn if tn else float("nan"),
            }
        )
    return JudgeAgreement(pa.Table.from_pylist(rows))
