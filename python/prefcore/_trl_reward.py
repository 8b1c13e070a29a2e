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

from prefcore._check import instance
from prefcore._layouts import GROUP_COLUMNS, PAIR_COLUMNS, has_columns
from prefcore._prefix_shared import PrefixSharedBatch, padded_tokens
from prefcore.errors import InvalidArgumentError

__all__ = ["reward_trainers"]

log = logging.getLogger("prefcore.trl")


def _is_prompt_split(dataset: Any) -> bool:
    return has_columns(dataset, PAIR_COLUMNS)


def _longest(row: dict[str, Any]) -> int:
    """The longest prompt + completion of a pair or group row, in tokens."""
    completions = row["completions"] if "completions" in row else [
        row["chosen_ids"], row["rejected_ids"]]  # fmt: skip
    return len(row["prompt_ids"]) + max(len(c) for c in completions)


def group_bradley_terry(scores: Any, labels: Any) -> dict[str, Any]:
    """Bradley-Terry over every ordered pair of a group (``labels_i > labels_j``): the
    pair losses ``-log sigmoid(r_i - r_j)``, the centring term ``(r_i + r_j)^2`` and the gap,
    each flat over the batch's pairs, as TRL's loss reads the same pairs as rows."""
    import torch.nn.functional as F

    better = labels[:, :, None] > labels[:, None, :]
    gap = (scores[:, :, None] - scores[:, None, :])[better]
    total = (scores[:, :, None] + scores[:, None, :])[better]
    return {"losses": -F.logsigmoid(gap), "centring": total**2, "gap": gap}


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

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            model = signature.bind_partial(*args, **kwargs).arguments.get("model")
            instance("model", model, (str, torch.nn.Module), "a model id (str) or a torch model")
            super().__init__(*args, **kwargs)

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
        TRL drops them, and the count is logged.

        Groups (``listwise_dataset`` rows) train on every ordered pair of each group
        (``scores_i > scores_j``), the prompt run once for all ``N`` completions: the
        loss is TRL's over those pairs as rows of one batch (a group with a completion
        past ``max_length`` is dropped whole); ``accuracy`` and ``margin`` are over the
        pairs, the reward statistics over the completions."""

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
            if not (_is_prompt_split(dataset) or has_columns(dataset, GROUP_COLUMNS)):
                raise InvalidArgumentError(
                    f"PrefixSharedRewardTrainer trains on pairs with the prompt apart "
                    f"({', '.join(PAIR_COLUMNS)}: prefcore.trl.dpo_dataset) or on groups "
                    f"({', '.join(GROUP_COLUMNS)}: prefcore.trl.listwise_dataset); this "
                    f"dataset has {getattr(dataset, 'column_names', None)}",
                    argument="train_dataset",
                )
            limit = getattr(args, "max_length", None)
            if limit is None:
                return dataset
            kept = dataset.filter(lambda row: _longest(row) <= limit)
            if len(kept) < len(dataset):
                dropped = len(dataset) - len(kept)
                log.warning(
                    "%s: dropped %d of %d rows longer than max_length=%d (as TRL's "
                    "RewardTrainer drops them)", name, dropped, len(dataset), limit,
                )  # fmt: skip
            return kept

        def _set_signature_columns_if_needed(self) -> None:
            if getattr(self, "_signature_columns", None) is None:
                self._signature_columns = [*PAIR_COLUMNS, "margin", *GROUP_COLUMNS]

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
            batch = PrefixSharedBatch.of(inputs)
            if batch.pairs:
                chosen, rejected = scores[:, 0], scores[:, 1]
                gap = chosen - rejected
                if "margin" in inputs:
                    gap = gap - inputs["margin"]
                pair = {"losses": -F.logsigmoid(gap), "centring": (chosen + rejected) ** 2}
                pair["gap"] = chosen - rejected
            else:
                if batch.scores is None:
                    raise InvalidArgumentError(
                        "the batch has no scores: train on listwise_dataset groups",
                        argument="inputs",
                    )
                pair = group_bradley_terry(scores, batch.scores.to(scores.device))
            loss = pair["losses"].mean()
            if self.args.center_rewards_coefficient is not None:
                loss = loss + self.args.center_rewards_coefficient * pair["centring"].mean()
            gather = self.accelerator.gather_for_metrics
            if mode == "train":
                unshared = padded_tokens(inputs)
                self._total_train_tokens += int(gather(unshared).sum().item()) // self._tp_size
            metrics = self._metrics[mode]
            metrics["num_tokens"] = [self._total_train_tokens]
            with torch.no_grad():
                # Pairs: chosen then rejected, as TRL concatenates them.
                every = self.accelerator.gather(scores.T.reshape(-1))
                metrics["min_reward"].append(every.min().item())
                metrics["mean_reward"].append(every.mean().item())
                metrics["max_reward"].append(every.max().item())
                right = gather((pair["gap"] > 0).float().mean()).mean().item()
                metrics["accuracy"].append(right)
                metrics["margin"].append(gather(pair["gap"].mean()).mean().item())
            return (loss, {"scores": scores}) if return_outputs else loss

    return {"RewardTrainer": RewardTrainer, "PrefixSharedRewardTrainer": PrefixSharedRewardTrainer}
