"""Reward-model training on prompt-once batches, and the guard that keeps
:func:`prefcore.trl.dpo_dataset` output away from TRL's ``RewardTrainer``.

TRL's ``RewardTrainer`` reads whole sequences in ``chosen_ids`` / ``rejected_ids``.
``dpo_dataset`` writes the completions alone there, with the prompt in ``prompt_ids``,
so TRL would train on completions without their prompts, silently.
``PrefixSharedRewardTrainer`` trains on exactly that layout: the prompt runs once, each
completion is scored where TRL's model would read it (:func:`branch_scores`), and the
Bradley-Terry loss, margins, reward centring and logged metrics are TRL's.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from prefcore._prefix_shared import padded_tokens
from prefcore.errors import InvalidArgumentError

__all__ = ["reward_trainers"]

log = logging.getLogger("prefcore.trl")

#: The columns of a prompt-split tokenized pair dataset (``dpo_dataset`` output).
SPLIT_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")


def _is_prompt_split(dataset: Any) -> bool:
    return set(SPLIT_COLUMNS) <= set(getattr(dataset, "column_names", None) or [])


def reward_trainers(trl: Any, pad_token_id_of: Any) -> dict[str, type]:
    """prefcore.trl's ``RewardTrainer`` (TRL's, refusing prompt-split rows) and
    ``PrefixSharedRewardTrainer``; ``pad_token_id_of(args, tokenizer)`` is TRL's choice
    of pad token."""
    import torch
    import torch.nn.functional as F

    from prefcore.torch import PrefixSharedCollator, branch_scores, mask_for

    signature = inspect.signature(trl.RewardTrainer)

    class RewardTrainer(trl.RewardTrainer):  # type: ignore[misc]
        """TRL's ``RewardTrainer``, refusing rows whose prompt is split off (what
        :func:`prefcore.trl.dpo_dataset` writes): it would score completions without
        their prompts."""

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            if _is_prompt_split(dataset):
                raise InvalidArgumentError(
                    "this dataset holds the prompt apart (prompt_ids, chosen_ids, "
                    "rejected_ids: dpo_dataset's output), and RewardTrainer reads whole "
                    "sequences in chosen_ids/rejected_ids, so it would score completions "
                    "without their prompts; train on it with "
                    "prefcore.trl.PrefixSharedRewardTrainer",
                    argument="train_dataset",
                )
            return super()._prepare_dataset(dataset, *args, **kwargs)

    class PrefixSharedRewardTrainer(trl.RewardTrainer):  # type: ignore[misc]
        """TRL's ``RewardTrainer`` on prompt-once batches of ``dpo_dataset`` rows: each
        prompt runs once for both completions, scored as TRL scores ``prompt +
        completion``; the loss (with ``margin`` and ``center_rewards_coefficient``) and
        the logged metrics are TRL's. Rows longer than ``max_length`` are dropped, as
        TRL drops them, and the count is logged."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            given = signature.bind(*args, **kwargs).arguments
            model, config = given.get("model"), given.get("args")
            tokenizer = given.get("processing_class")
            if given.get("data_collator") is None and tokenizer is not None:
                self._pad_id = pad_token_id_of(config, tokenizer)
                kwargs["data_collator"] = PrefixSharedCollator(
                    self._pad_id,
                    attention=mask_for(model) if hasattr(model, "config") else "sdpa",
                )
            super().__init__(*args, **kwargs)
            self._pad_id = self.data_collator.pad_token_id

        def _prepare_dataset(
            self, dataset: Any, processing_class: Any, args: Any, name: str
        ) -> Any:
            if not _is_prompt_split(dataset):
                raise InvalidArgumentError(
                    f"PrefixSharedRewardTrainer trains on rows with the prompt apart "
                    f"({', '.join(SPLIT_COLUMNS)}): make them with prefcore.trl.dpo_dataset; "
                    f"this dataset has {getattr(dataset, 'column_names', None)}",
                    argument="train_dataset",
                )
            limit = getattr(args, "max_length", None)
            if limit is None:
                return dataset

            def fits(row: dict[str, Any]) -> bool:
                p = len(row["prompt_ids"])
                longest = p + max(len(row["chosen_ids"]), len(row["rejected_ids"]))
                return bool(longest <= limit)

            kept = dataset.filter(fits)
            if len(kept) < len(dataset):
                dropped = len(dataset) - len(kept)
                log.warning(
                    "%s: dropped %d of %d rows longer than max_length=%d (as TRL's "
                    "RewardTrainer drops them)", name, dropped, len(dataset), limit,
                )  # fmt: skip
            return kept

        def _set_signature_columns_if_needed(self) -> None:
            if getattr(self, "_signature_columns", None) is None:
                self._signature_columns = [*SPLIT_COLUMNS, "margin"]

        def compute_loss(
            self,
            model: Any,
            inputs: Any,
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            mode = "train" if self.model.training else "eval"
            with self.accelerator.autocast():
                scores = branch_scores(model, inputs, self._pad_id)
            chosen, rejected = scores[:, 0], scores[:, 1]
            gap = chosen - rejected
            if "margin" in inputs:
                gap = gap - inputs["margin"]
            loss = -F.logsigmoid(gap).mean()
            if self.args.center_rewards_coefficient is not None:
                loss = loss + self.args.center_rewards_coefficient * torch.mean(
                    (chosen + rejected) ** 2
                )
            gather = self.accelerator.gather_for_metrics
            if mode == "train":
                unshared = padded_tokens(inputs)
                self._total_train_tokens += int(gather(unshared).sum().item()) // self._tp_size
            metrics = self._metrics[mode]
            metrics["num_tokens"] = [self._total_train_tokens]
            with torch.no_grad():
                every = self.accelerator.gather(torch.cat([chosen, rejected]))
                metrics["min_reward"].append(every.min().item())
                metrics["mean_reward"].append(every.mean().item())
                metrics["max_reward"].append(every.max().item())
                right = gather((chosen > rejected).float().mean()).mean().item()
                metrics["accuracy"].append(right)
                metrics["margin"].append(gather((chosen - rejected).mean()).mean().item())
            return (loss, {"scores": scores}) if return_outputs else loss

    return {"RewardTrainer": RewardTrainer, "PrefixSharedRewardTrainer": PrefixSharedRewardTrainer}
