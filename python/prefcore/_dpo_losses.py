"""The DPO-family losses TRL's ``DPOTrainer`` offers, on per-sequence summed log-probs.

Every loss here is a function of the policy's and the reference's summed completion
log-probs and the completion token counts, which is what a prompt-once pass yields
(:func:`prefcore.torch.sequence_logps`). The definitions are those of the papers each
loss comes from, with TRL's conventions (``beta``, ``label_smoothing``, per-token
averages for IPO and ``sigmoid_norm``, the f-divergence scores), so that
:class:`prefcore.trl.PrefixSharedDPOTrainer` optimises the loss ``DPOTrainer`` would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prefcore.errors import InvalidArgumentError

__all__ = ["DPO_LOSSES", "F_DIVERGENCES", "LossSettings", "dpo_loss"]

#: Loss types computable from summed log-probs (all of TRL 1.16's).
DPO_LOSSES = (
    "sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard",
    "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft", "sigmoid_norm",
)  # fmt: skip

#: f-divergences whose score replaces the log-ratio in the losses that use one.
F_DIVERGENCES = ("reverse_kl", "forward_kl", "js_divergence", "alpha_divergence")


@dataclass(frozen=True)
class LossSettings:
    """The trainer settings the losses read."""

    beta: float
    label_smoothing: float = 0.0
    f_divergence: str = "reverse_kl"
    alpha: float = 1.0  # the alpha of the alpha-divergence
    discopop_tau: float = 0.05


def _score(torch: Any, logratio: Any, s: LossSettings) -> Any:
    """f'(exp(logratio)): the log-ratio itself for reverse KL (standard DPO)."""
    if s.f_divergence == "reverse_kl":
        return logratio
    if s.f_divergence == "forward_kl":  # f'(t) = 1 - 1/t
        return 1 - torch.exp(-logratio)
    if s.f_divergence == "js_divergence":  # f'(t) = log(2t / (t + 1))
        return math.log(2) + torch.nn.functional.logsigmoid(logratio)
    if abs(s.alpha - 1.0) < 1e-6:  # alpha -> 1 is reverse KL
        return logratio
    # alpha-divergence: f'(t) = (t^(alpha-1) - 1) / (alpha - 1), exp kept finite.
    t = (s.alpha - 1.0) * logratio
    bound = {torch.float16: 11.0}.get(t.dtype, 80.0)
    grown = torch.exp(torch.clamp(t.float(), max=bound)) - 1.0
    return grown.to(t.dtype) / (s.alpha - 1.0)


def dpo_loss(
    loss_type: str,
    policy: tuple[Any, Any],
    reference: tuple[Any, Any],
    tokens: tuple[Any, Any],
    s: LossSettings,
) -> Any:
    """The per-pair loss ``[B]`` of ``loss_type`` (the batch mean of ``sft``, repeated).

    ``policy`` and ``reference`` are the (chosen, rejected) summed log-probs, ``tokens``
    the (chosen, rejected) completion token counts.
    """
    import torch
    import torch.nn.functional as F

    (chosen, rejected), (ref_chosen, ref_rejected) = policy, reference
    chosen_ratio, rejected_ratio = chosen - ref_chosen, rejected - ref_rejected
    chosen_score, rejected_score = _score(torch, chosen_ratio, s), _score(torch, rejected_ratio, s)
    delta = chosen_score - rejected_score
    beta, eps = s.beta, s.label_smoothing
    n_chosen, n_rejected = tokens[0].clamp(min=1), tokens[1].clamp(min=1)
    if loss_type == "sigmoid":
        return -F.logsigmoid(beta * delta)
    if loss_type == "hinge":
        return torch.relu(1 - beta * delta)
    if loss_type == "ipo":  # per-token averages (Azar et al., with TRL's normalisation)
        per_token = chosen_score / n_chosen - rejected_score / n_rejected
        return (per_token - 1 / (2 * beta)) ** 2
    if loss_type == "sigmoid_norm":
        return -F.logsigmoid(beta * (chosen_score / n_chosen - rejected_score / n_rejected))
    if loss_type == "exo_pair":  # reverse KL to the label distribution (1 - eps, eps)
        win = beta * delta
        return torch.sigmoid(win) * (F.logsigmoid(win) - math.log1p(-eps)) + torch.sigmoid(-win) * (
            F.logsigmoid(-win) - math.log(eps)
        )
    if loss_type == "nca_pair":
        c, r = beta * chosen_ratio, beta * rejected_ratio
        return -F.logsigmoid(c) - 0.5 * F.logsigmoid(-c) - 0.5 * F.logsigmoid(-r)
    if loss_type == "robust":  # unbiased under label flips with probability eps
        clean = -(1 - eps) * F.logsigmoid(beta * delta)
        flipped = -eps * F.logsigmoid(-beta * delta)
        return (clean - flipped) / (1 - 2 * eps)
    if loss_type == "bco_pair":
        return -F.logsigmoid(beta * chosen_ratio) - F.logsigmoid(-beta * rejected_ratio)
    if loss_type == "sppo_hard":
        return (chosen_ratio - 0.5 / beta) ** 2 + (rejected_ratio + 0.5 / beta) ** 2
    if loss_type in ("aot", "aot_unpaired"):  # optimal transport: sorted against sorted
        if loss_type == "aot":
            a, b = chosen - rejected, ref_chosen - ref_rejected
        else:
            a, b = chosen_ratio, rejected_ratio
        gap = torch.sort(a, dim=0)[0] - torch.sort(b, dim=0)[0]
        return -F.logsigmoid(beta * gap) * (1 - eps) - F.logsigmoid(-beta * gap) * eps
    if loss_type == "apo_zero":
        return 1 - torch.sigmoid(beta * chosen_ratio) + torch.sigmoid(beta * rejected_ratio)
    if loss_type == "apo_down":
        return (
            torch.sigmoid(beta * chosen_ratio)
            + 1
            - torch.sigmoid(beta * (chosen_ratio - rejected_ratio))
        )
    if loss_type == "discopop":  # logistic and exponential losses, mixed by the margin
        margin = beta * delta
        mix = torch.sigmoid(margin / s.discopop_tau)
        return -F.logsigmoid(margin) * (1 - mix) + torch.exp(-margin) * mix
    if loss_type == "sft":  # negative log-likelihood per chosen token over the batch
        nll = -chosen.sum() / tokens[0].sum().clamp(min=1)
        return nll.expand(chosen.shape[0])
    # The trainer checks the names first.
    raise InvalidArgumentError(f"unknown loss type {loss_type!r}", argument="loss_type")
