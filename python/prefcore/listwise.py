"""Listwise groups for LiPO-style training: completions ranked by score with the
LiPO-λ weights between ranked positions (:func:`listwise`), and the same weights for
a training batch of policy scores (:func:`lipo_lambda_weights`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import in_callers_type, require_columns, tensor_to_numpy
from prefcore._tables import as_table, one_array
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, InvalidArgumentError, invalid_value

__all__ = [
    "lipo_lambda_weights",
    "listwise",
]


def listwise(
    table: Any,
    *,
    prompt: str | None = "prompt",
    completions: str = "completions",
    scores: str = "scores",
    labels: str | None = None,
) -> Any:
    """One row per prompt with its completions ranked by score (highest first, earlier
    first on ties) and the LiPO-λ weights between ranked positions:
    ``Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|``, ``G = 2^ψ − 1``,
    ``D(τ) = log2(1 + τ)``, ψ the label (``labels`` column, else the score) and τ
    the rank. ``lambda_weights`` is the ``n × n`` matrix flattened row by row. The rows
    come back in the input's type (see :class:`prefcore.pairs.PairResult`).

    >>> t = listwise({"prompt": ["p"], "completions": [["a", "b"]], "scores": [[0.0, 1.0]]})
    >>> t.column("completions").to_pylist(), t.column("lambda_weights").to_pylist()[0][1]
    ([['b', 'a']], 0.369...)
    """
    t = as_table(table)
    require_columns(t, prompt, completions, scores, labels)
    score_col = one_array(t.column(scores))
    label_col = one_array(t.column(labels)) if labels else score_col
    comp = one_array(t.column(completions))
    n_comp = pc.fill_null(pc.list_value_length(comp), -1).to_numpy(zero_copy_only=False)
    n_scores = pc.fill_null(pc.list_value_length(score_col), -1).to_numpy(zero_copy_only=False)
    differ = np.flatnonzero(n_comp != n_scores)
    if len(differ):
        row = int(differ[0])
        raise invalid_value(
            completions,
            row,
            f"{n_comp[row]} completions for {n_scores[row]} scores in '{scores}'; every "
            "completion needs one score",
        )
    ranked_lists = _prefcore.listwise_weights(score_col, label_col, scores, labels or scores)
    order, weights = ranked_lists.order, ranked_lists.weights
    lengths = pc.list_value_length(order)
    starts = pc.list_value_length(score_col).to_numpy(zero_copy_only=False)
    base = np.repeat(
        np.concatenate([[0], np.cumsum(starts)])[:-1], lengths.to_numpy(zero_copy_only=False)
    )
    flat_idx = pa.array(base + pc.list_flatten(order).to_numpy())
    offsets = order.offsets

    def ranked(col: pa.Array) -> pa.Array:
        values = pc.list_flatten(col).take(flat_idx)
        return pa.ListArray.from_arrays(offsets, values)

    cols: dict[str, Any] = {}
    if prompt:
        cols[prompt] = t.column(prompt)
    cols[completions] = ranked(comp)
    cols[scores] = ranked(score_col)
    if labels:
        cols[labels] = ranked(label_col)
    cols["original_index"] = order
    cols["lambda_weights"] = weights
    return in_callers_type(
        table, pa.table(cols), "prefcore.listwise.listwise", same_rows=True,
        prompt=prompt, completions=completions, scores=scores, labels=labels,
    )  # fmt: skip


def lipo_lambda_weights(scores: Any, labels: Any, mask: Any = None) -> Any:
    """LiPO-λ weights for a training batch: ``scores`` (the policy's, which define
    the ranks τ) and ``labels`` (ψ) of shape ``[batch, list]``; returns
    ``[batch, list, list]`` with ``Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|``.
    Entries where ``mask`` is False rank last and get weight 0. A torch tensor gives
    a tensor on the same device (no gradient), numpy gives numpy. Computed by the same
    Rust kernel as :func:`listwise`.

    >>> w = lipo_lambda_weights(np.array([[0.2, 0.9]]), np.array([[1.0, 0.0]]))
    >>> w.shape, round(float(w[0, 0, 1]), 6)
    ((1, 2, 2), 0.36907)
    """
    tensor = hasattr(scores, "detach")

    def host(x: Any, dtype: Any, name: str) -> np.ndarray:
        if hasattr(x, "detach"):
            x = tensor_to_numpy(x)  # bf16 / fp16 widened exactly
        try:
            return np.ascontiguousarray(np.asarray(x, dtype=dtype))
        except (TypeError, ValueError) as err:
            raise ArgumentTypeError(
                f"{name} must be a 2-D array of numbers (torch, numpy or nested lists), "
                f"not {type(x).__name__}",
                argument=name,
            ) from err

    s, y = host(scores, np.float64, "scores"), host(labels, np.float64, "labels")
    if s.ndim != 2 or s.shape != y.shape:
        raise InvalidArgumentError(
            f"scores and labels must be 2-D of one shape, got {s.shape} and {y.shape}"
        )
    valid = np.ones(s.shape, bool) if mask is None else host(mask, np.bool_, "mask")
    if valid.shape != s.shape:
        raise InvalidArgumentError(
            f"mask has shape {valid.shape}; scores have {s.shape}", argument="mask"
        )
    w = _prefcore.lipo_batch_weights(s, y, valid).reshape(s.shape[0], s.shape[1], s.shape[1])
    if not tensor:
        return w
    import torch

    dtype = scores.dtype if scores.is_floating_point() else torch.float32
    return torch.from_numpy(w).to(device=scores.device, dtype=dtype)


check_arguments(__name__)  # each public function checks its arguments' annotations
