"""Reward transforms: the log-sigmoid transform of a reward against a reference
(:func:`transform_rewards`) and the weighted sum of transformed rewards (:func:`combine`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from prefcore._check import numbers
from prefcore._typed import check_arguments
from prefcore.errors import InvalidArgumentError, InvalidValueError, invalid_value

__all__ = [
    "combine",
    "transform_rewards",
]


def _same_shape_or_scalar(name: str, x: Any, against: str, y: Any) -> None:
    """Broadcasting would silently stretch or empty one side: only a scalar or an
    array of the same shape may meet another array."""
    shape, other = tuple(getattr(x, "shape", ())), tuple(getattr(y, "shape", ()))
    if shape and shape != other:
        raise InvalidArgumentError(f"{name} has shape {shape} but {against} has shape {other}")


def _no_nan_difference(d: np.ndarray) -> None:
    bad = np.flatnonzero(np.isnan(np.atleast_1d(d)))
    if len(bad):
        raise invalid_value(
            "rewards",
            int(bad[0]),
            "NaN reward or reference (or both infinite with one sign); a transformed reward "
            "needs a number",
        )


def transform_rewards(
    rewards: Any, reference: Any, method: Literal["log_sigmoid", "center"] = "log_sigmoid"
) -> Any:
    """Transform rewards against a reference reward: ``"log_sigmoid"`` gives the LSC
    transform ``u = log σ(r − r_ref)`` of *Transforming and Combining Rewards*
    (rewards far above the reference saturate near 0, those below are penalised
    almost linearly); ``"center"`` gives ``r − r_ref``. numpy in, numpy out; torch in,
    torch out.

    >>> transform_rewards(np.array([0.0, 10.0]), 0.0).round(4)
    array([-0.6931, -0.    ])
    """
    if hasattr(rewards, "detach"):
        import torch

        ref_t = torch.as_tensor(reference, device=rewards.device, dtype=rewards.dtype)
        _same_shape_or_scalar("reference", ref_t, "rewards", rewards)
        d = rewards - ref_t
        _no_nan_difference(d.detach().cpu().numpy())
        return torch.nn.functional.logsigmoid(d) if method == "log_sigmoid" else d
    r, ref = numbers("rewards", rewards), numbers("reference", reference)
    _same_shape_or_scalar("reference", ref, "rewards", r)
    with np.errstate(invalid="ignore"):
        d = r - ref
    _no_nan_difference(d)
    # log σ(d) = −softplus(−d), computed without overflow.
    return -np.logaddexp(0.0, -d) if method == "log_sigmoid" else d


def combine(*transformed: Any, weights: Sequence[float] | None = None) -> Any:
    """Combine transformed rewards by a (weighted) sum: with log-sigmoid transforms
    the sum is the log-probability that the response is good in every property.

    >>> combine(np.array([-0.1, -2.0]), np.array([-0.3, -0.1]))
    array([-0.4, -2.1])
    """
    if not transformed:
        raise InvalidArgumentError("combine needs at least one reward array")
    w = [1.0] * len(transformed) if weights is None else list(weights)
    if len(w) != len(transformed):
        raise InvalidArgumentError(f"{len(w)} weights for {len(transformed)} reward arrays")
    for i, x in enumerate(transformed[1:], start=1):
        _same_shape_or_scalar(f"reward array {i}", x, "reward array 0", transformed[0])
    for i, wi in enumerate(w):
        if not (isinstance(wi, (int, float)) and math.isfinite(wi)):
            raise InvalidArgumentError(
                f"weights[{i}] must be a finite number, not {wi!r}", argument="weights"
            )
    with np.errstate(over="ignore", invalid="ignore"):
        total = transformed[0] * w[0]
        for x, wi in zip(transformed[1:], w[1:]):
            total = total + x * wi
    finite = total.isfinite() if hasattr(total, "isfinite") else np.isfinite(total)
    inputs_finite = [
        x.isfinite() if hasattr(x, "isfinite") else np.isfinite(x) for x in transformed
    ]
    for ok in inputs_finite:
        finite = finite | ~ok  # only a non-finite sum of finite inputs is an overflow
    if not bool(finite.all()):
        row = int(
            np.flatnonzero(~np.asarray(finite.cpu() if hasattr(finite, "cpu") else finite))[0]
        )
        raise InvalidValueError(
            f"row {row}: the weighted sum of rewards overflows float64", row=row
        )
    return total


check_arguments(__name__)  # each public function checks its arguments' annotations
