"""Listwise preference training on prompt-once batches: LiPO-λ (Liu et al. 2024) over
groups of ``N`` completions per prompt, each prompt run once for all of them.

The loss of one list, with ``s_i = β (log π(y_i|x) − log π_ref(y_i|x))`` and labels ψ:

    ``L = Σ_{ψ_i > ψ_j} Δ_ij · −log σ(s_i − s_j)``

``Δ_ij = |G_i − G_j| · |1/D(τ_i) − 1/D(τ_j)|`` (:func:`prefcore.listwise.lipo_lambda_weights`,
``G = 2^ψ − 1``, ``D(τ) = log2(1 + τ)``, τ the rank of ``s`` in the list), held constant
in the gradient as LiPO does; the batch loss is the mean over lists. For two
completions labelled 1 and 0 this is ``Δ = 1 − 1/log2(3) ≈ 0.369`` times DPO's
sigmoid loss.
"""

from __future__ import annotations

import inspect
from typing import Any

from prefcore._layouts import GROUP_COLUMNS, has_columns
from prefcore.errors import InvalidArgumentError

__all__ = ["lipo_loss", "listwise_trainer", "reference_model"]


def reference_model(trainer: Any) -> Any:
    """The trainer's reference model for a live reference pass. TRL leaves none for a
    PEFT policy (it runs the base model with the adapters disabled), which the
    prompt-once pass does not do: refused by name rather than scored against the policy
    itself."""
    if trainer.ref_model is None:
        raise InvalidArgumentError(
            f"{type(trainer).__name__} has no reference model to run (a PEFT policy, whose "
            "reference TRL takes by disabling the adapters, which prompt-once batches do "
            "not do): pass ref_model=, set precompute_ref_log_probs=True, or attach "
            "reference log-probs to the rows (prefcore.torch.compute_ref_logps)",
            argument="ref_model",
        )
    return trainer.ref_model


def lipo_loss(torch: Any, rewards: Any, labels: Any) -> tuple[Any, Any]:
    """Per list, the LiPO-λ loss of ``rewards`` ``[B, N]`` against ``labels``, and the
    mask of ordered pairs ``(i, j)`` with ``labels_i > labels_j``."""
    import torch.nn.functional as F

    from prefcore.listwise import lipo_lambda_weights

    weights = lipo_lambda_weights(rewards.detach(), labels)
    better = labels[:, :, None] > labels[:, None, :]
    gap = rewards[:, :, None] - rewards[:, None, :]
    per_pair = -F.logsigmoid(gap) * weights.to(gap.dtype)
    return torch.where(better, per_pair, torch.zeros_like(per_pair)).sum(dim=(1, 2)), better


def listwise_trainer(base: type, trl_base: type) -> type:
    """``PrefixSharedListwiseTrainer`` on ``base`` (prefcore's prompt-once DPO trainer,
    whose constructor is ``trl_base``'s)."""
    import torch
    from datasets import Dataset
    from torch.utils.data import DataLoader

    from prefcore._prefix_shared import PrefixSharedBatch, padded_tokens
    from prefcore.torch import sequence_logps

    signature = inspect.signature(trl_base)

    class PrefixSharedListwiseTrainer(base):  # type: ignore[misc]
        """LiPO-λ on groups of completions (:func:`prefcore.trl.listwise_dataset` rows),
        configured by a ``DPOConfig``: ``beta``, ``max_length`` (TRL's ``keep_start``
        cut, per completion, the prompt kept shared), ``bf16``/``fp16`` autocast,
        ``precompute_ref_log_probs`` (a ``ref_logps`` column, computed on prompt-once
        batches), a reference model or a ``ref_logps`` column of your own. Logs
        ``loss``, ``rewards/accuracies`` (the share of ordered pairs the rewards put in
        the labels' order), ``rewards/margins`` (their mean reward gap), ``logps/mean``
        and ``num_tokens`` (counted as a padded batch holds them)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            config = signature.bind(*args, **kwargs).arguments.get("args")
            losses = list(getattr(config, "loss_type", None) or ["sigmoid"])
            if losses != ["sigmoid"]:
                raise InvalidArgumentError(
                    f"PrefixSharedListwiseTrainer's loss is LiPO-λ over each list; "
                    f"loss_type={losses} applies to pairs (use PrefixSharedDPOTrainer)",
                    argument="args",
                )
            super().__init__(*args, **kwargs)

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            if not has_columns(dataset, GROUP_COLUMNS):
                raise InvalidArgumentError(
                    f"PrefixSharedListwiseTrainer trains on groups ({', '.join(GROUP_COLUMNS)}): "
                    "make them with prefcore.trl.listwise_dataset; this dataset has "
                    f"{getattr(dataset, 'column_names', None)}",
                    argument="train_dataset",
                )
            return dataset

        def _set_signature_columns_if_needed(self) -> None:
            if getattr(self, "_signature_columns", None) is None:
                self._signature_columns = [*GROUP_COLUMNS, "ref_logps"]

        def _reference_logps(self, model: Any, inputs: Any) -> Any:
            with torch.no_grad(), self.accelerator.autocast():
                return sequence_logps(model, inputs)["logps"]

        def _precompute_ref_logps(self, dataset: Any, name: str, batch_size: int) -> Any:
            # The reference pass once over the data, on prompt-once batches, in order.
            if not isinstance(dataset, Dataset):
                raise InvalidArgumentError(
                    "precompute_ref_log_probs needs a map-style datasets.Dataset",
                    argument=name,
                )
            loader = self.accelerator.prepare(
                DataLoader(dataset, batch_size=batch_size, collate_fn=self.data_collator,
                           shuffle=False, num_workers=self.args.dataloader_num_workers)
            )  # fmt: skip
            model = self.ref_model or self.model  # before training, the policy is the reference
            chunks = [
                self.accelerator.gather_for_metrics(self._reference_logps(model, batch)).cpu()
                for batch in loader
            ]
            values = torch.cat(chunks).tolist() if chunks else []
            return dataset.add_column("ref_logps", values)

        def _compute_loss(self, model: Any, inputs: Any, return_outputs: bool) -> Any:
            mode = "train" if self.model.training else "eval"
            with self.accelerator.autocast():
                out = sequence_logps(model, inputs)
            logps, batch = out["logps"], PrefixSharedBatch.of(inputs)
            if batch.ref_logps is not None:
                ref = batch.ref_logps.to(logps.device)
            else:
                ref = self._reference_logps(reference_model(self), inputs)
            rewards = self.beta * (logps - ref)
            if batch.scores is None:
                raise InvalidArgumentError(
                    "the batch has no scores: train on listwise_dataset rows", argument="inputs"
                )
            labels = batch.scores.to(rewards.device)
            per_list, better = lipo_loss(torch, rewards, labels)
            loss = per_list.mean()
            gather = self.accelerator.gather_for_metrics
            gap = (rewards[:, :, None] - rewards[:, None, :]).detach()
            pairs = better.sum().clamp(min=1)
            metrics = self._metrics[mode]
            if mode == "train":
                unshared = padded_tokens(inputs)
                self._total_train_tokens += int(gather(unshared).sum().item()) // self._tp_size
            metrics["num_tokens"] = [self._total_train_tokens]
            right = ((gap > 0) & better).sum() / pairs
            metrics["rewards/accuracies"].append(gather(right).mean().item())
            margin = torch.where(better, gap, torch.zeros_like(gap)).sum() / pairs
            metrics["rewards/margins"].append(gather(margin).mean().item())
            metrics["logps/mean"].append(gather(logps.detach()).mean().item())
            return (loss, out) if return_outputs else loss

    return PrefixSharedListwiseTrainer
