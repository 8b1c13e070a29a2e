"""Ranking-accuracy diagnostics of a preference-trained policy, after Chen et al.,
"Preference Learning Algorithms Do Not Learn Preference Rankings" (arXiv 2405.19534);
exported by :mod:`prefcore.metrics`.

For pairs ``(y_w, y_l)`` with the policy's summed log-probs ``c``, ``r`` and the
reference's ``c_ref``, ``r_ref``:

- ranking accuracy ``R = mean 1[c > r]``, and length-normalised on the mean per token;
- idealised ranking accuracy ``R* = mean 1[(c_ref - r_ref) + log(α / (1 - α)) / β > 0]``,
  what the optimum of the DPO objective would reach, with ``α`` the share of votes for
  ``y_w``; as ``α → 1`` (unanimous votes) every pair is ranked right and ``R* → 1``;
- the alignment gap ``R* - R``;
- per pair, what flipping it takes: the reference's deficit ``r_ref - c_ref`` (the
  implicit-reward margin ``β((c - c_ref) - (r - r_ref))`` must exceed ``β`` times it)
  and the DPO loss the pair must fall below, ``-log σ(β (r_ref - c_ref))``;
- DPO's implicit-reward accuracy and mean margin.

Ties count as wrong (the comparisons are strict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from prefcore._display import Summarised
from prefcore.errors import InvalidArgumentError, invalid_value

__all__ = ["RankingDiagnostics", "ranking_diagnostics"]


@dataclass(frozen=True, repr=False)
class RankingDiagnostics(Summarised):
    """Summary figures (``None`` where the inputs they need were not given) and
    ``per_pair``, a table with one row per pair, in input order, to compare two
    checkpoints pair by pair with :func:`prefcore.metrics.compare`."""

    pairs: int
    ranking_accuracy: float
    length_normalised_accuracy: float | None
    idealised_accuracy: float | None
    idealised_accuracy_unanimous: float | None
    alignment_gap: float | None
    implicit_reward_accuracy: float | None
    mean_implicit_margin: float | None
    per_pair: pa.Table = field(repr=False)
    by_subset: dict[str, RankingDiagnostics] = field(default_factory=dict, repr=False)


def _array(name: str, values: Any, n: int | None) -> np.ndarray:
    """``values`` as finite float64s: a NaN or infinite log-prob would make every
    comparison and margin it enters NaN; token counts must also be positive (they
    divide the log-probs)."""
    if hasattr(values, "detach"):
        values = values.detach().float().cpu()  # bf16 tensors have no numpy dtype
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidArgumentError(f"{name} must be numbers: {err}", argument=name) from None
    if a.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got shape {a.shape}", argument=name)
    if n is not None and len(a) != n:
        raise InvalidArgumentError(
            f"{name} has {len(a)} values; chosen_logps has {n}", argument=name
        )
    bad = np.flatnonzero(~np.isfinite(a))
    if len(bad):
        row = int(bad[0])
        raise invalid_value(name, row, f"{a[row]} (log-probs and token counts must be finite)")
    if name.endswith("_tokens"):
        bad = np.flatnonzero(a <= 0)
        if len(bad):
            row = int(bad[0])
            raise invalid_value(name, row, f"{a[row]} tokens (a count must be positive)")
    return a


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _diagnose(
    c: np.ndarray,
    r: np.ndarray,
    c_tokens: np.ndarray | None,
    r_tokens: np.ndarray | None,
    c_ref: np.ndarray | None,
    r_ref: np.ndarray | None,
    beta: float | None,
    alpha: np.ndarray | None,
) -> RankingDiagnostics:
    columns: dict[str, Any] = {"correct": c > r}
    normalised = None
    if c_tokens is not None and r_tokens is not None:
        columns["correct_normalised"] = c / c_tokens > r / r_tokens
        normalised = _mean(columns["correct_normalised"])
    ideal = unanimous = gap = implicit = margin = None
    if c_ref is not None and r_ref is not None:
        deficit = r_ref - c_ref
        columns["flip_deficit"] = deficit
        if beta is not None:
            columns["flip_loss"] = np.logaddexp(0.0, -beta * deficit)  # -log σ(β·deficit)
            m = beta * ((c - c_ref) - (r - r_ref))
            columns["implicit_margin"] = m
            implicit, margin = _mean(m > 0), _mean(m)
            if alpha is not None:
                with np.errstate(divide="ignore"):
                    votes = np.log(alpha) - np.log1p(-alpha)  # +inf when unanimous
                columns["ideal_correct"] = (c_ref - r_ref) + votes / beta > 0
                ideal = _mean(columns["ideal_correct"])
                gap = ideal - _mean(columns["correct"])
            unanimous = 1.0 if len(c) else float("nan")
    return RankingDiagnostics(
        pairs=len(c),
        ranking_accuracy=_mean(columns["correct"]),
        length_normalised_accuracy=normalised,
        idealised_accuracy=ideal,
        idealised_accuracy_unanimous=unanimous,
        alignment_gap=gap,
        implicit_reward_accuracy=implicit,
        mean_implicit_margin=margin,
        per_pair=pa.table(columns),
    )


def ranking_diagnostics(
    chosen_logps: Any,
    rejected_logps: Any,
    *,
    chosen_tokens: Any = None,
    rejected_tokens: Any = None,
    ref_chosen_logps: Any = None,
    ref_rejected_logps: Any = None,
    beta: float | None = None,
    alpha: Any = None,
    subset: Any = None,
) -> RankingDiagnostics:
    """Ranking accuracy and its idealised counterpart for a policy's log-probs (e.g.
    :func:`prefcore.torch.sequence_logps`' output); see the module docs for the
    definitions. ``alpha`` is the share of votes for the chosen response, per pair or
    one for all, in ``(0, 1]``; ``subset`` labels each pair and fills ``by_subset``.

    >>> d = ranking_diagnostics([-5.0, -9.0, -3.0], [-6.0, -4.0, -3.0],
    ...     ref_chosen_logps=[-5.5, -8.0, -3.0], ref_rejected_logps=[-6.0, -7.0, -3.5],
    ...     beta=0.1, alpha=0.8)
    >>> round(d.ranking_accuracy, 3), round(d.idealised_accuracy, 3), round(d.alignment_gap, 3)
    (0.333, 1.0, 0.667)
    """
    c = _array("chosen_logps", chosen_logps, None)
    n = len(c)
    r = _array("rejected_logps", rejected_logps, n)
    opt = {
        name: _array(name, v, n) if v is not None else None
        for name, v in [
            ("chosen_tokens", chosen_tokens),
            ("rejected_tokens", rejected_tokens),
            ("ref_chosen_logps", ref_chosen_logps),
            ("ref_rejected_logps", ref_rejected_logps),
        ]
    }
    a = None
    if alpha is not None:
        if beta is None or opt["ref_chosen_logps"] is None:
            raise InvalidArgumentError(
                "alpha needs beta and the reference log-probs", argument="alpha"
            )
        a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (n,))
        bad = np.flatnonzero(~((a > 0) & (a <= 1)))
        if len(bad):
            raise invalid_value("alpha", int(bad[0]), f"{a[bad[0]]} is not in (0, 1]")
    if beta is not None and not beta > 0:
        raise InvalidArgumentError(f"beta must be positive, got {beta}", argument="beta")

    def diagnose(rows: np.ndarray | slice) -> RankingDiagnostics:
        pick = {k: (v[rows] if v is not None else None) for k, v in opt.items()}
        return _diagnose(
            c[rows],
            r[rows],
            pick["chosen_tokens"],
            pick["rejected_tokens"],
            pick["ref_chosen_logps"],
            pick["ref_rejected_logps"],
            beta,
            a[rows] if a is not None else None,
        )

    overall = diagnose(slice(None))
    if subset is None:
        return overall
    labels = np.asarray(
        subset.to_pylist() if hasattr(subset, "to_pylist") else list(subset), dtype=object
    )
    if len(labels) != n:
        raise InvalidArgumentError(
            f"subset has {len(labels)} labels; chosen_logps has {n}", argument="subset"
        )
    by = {str(s): diagnose(np.flatnonzero(labels == s)) for s in dict.fromkeys(labels.tolist())}
    return RankingDiagnostics(**{**overall.__dict__, "by_subset": by})
