"""ORPO and CPO on prompt-once batches: TRL's ``ORPOTrainer`` and ``CPOTrainer``
(``trl.experimental``) taking :func:`prefcore.trl.dpo_dataset` rows, each prompt run
once for both completions.

Both losses are reference-free and read, per completion, what one pass over the tree
gives: ORPO the mean log-prob of each completion and a language-modelling loss over
the chosen sequence *with its prompt* (the prompt's own tokens come from the shared
prompt, :func:`prefcore.torch.sequence_logps` with ``prompt_logps=True``); CPO the
summed (or, for ``ipo`` / ``simpo``, mean) log-probs and an NLL term on the chosen
completion. The loss itself is TRL's own method (``odds_ratio_loss``, ``cpo_loss``),
called on those log-probs, so every option of the configs (``beta``, ``loss_type``,
``label_smoothing``, ``simpo_gamma``, ``cpo_alpha``, AlphaPO's ``alpha``) means what it
means there.
"""

from __future__ import annotations

import inspect
from typing import Any

from prefcore._layouts import PAIR_COLUMNS, has_columns
from prefcore.errors import InvalidArgumentError

__all__ = ["reference_free_trainers"]


def _logit_means(out: dict[str, Any], which: int) -> Any:
    """The mean logit over the vocabulary, averaged over one branch's scored tokens."""
    tokens = out["chosen_tokens"] if which == 0 else out["rejected_tokens"]
    return out["logit_sums"][:, which].sum() / tokens.sum().clamp(min=1)


def _prompt_once(base: type, collator: Any, what: str) -> type:
    """``base`` (TRL's ORPO or CPO trainer) reading ``dpo_dataset`` rows as they are and
    collating them into prompt-once batches."""
    signature = inspect.signature(base)

    class Trainer(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            given = signature.bind(*args, **kwargs).arguments
            config, tokenizer, model = (given.get(k) for k in ("args", "processing_class", "model"))
            for name in ("train_dataset", "eval_dataset"):
                data = given.get(name)
                parts = data.values() if isinstance(data, dict) else [data]
                if data is not None and not all(has_columns(d, PAIR_COLUMNS) for d in parts):
                    raise InvalidArgumentError(
                        f"{what} trains on rows with the prompt apart "
                        f"({', '.join(PAIR_COLUMNS)}): make them with prefcore.trl.dpo_dataset "
                        f"(TRL's own {base.__name__} takes text rows)",
                        argument=name,
                    )
            if getattr(getattr(model, "config", None), "is_encoder_decoder", False):
                raise InvalidArgumentError(
                    f"{what} runs decoder-only models: an encoder-decoder model has no shared "
                    f"prompt to run once; use TRL's {base.__name__}",
                    argument="model",
                )
            if given.get("data_collator") is None and config is not None and tokenizer is not None:
                kwargs["data_collator"] = collator(
                    config, tokenizer, model if hasattr(model, "config") else None
                )
            super().__init__(*args, **kwargs)
            # The prompt-once collator is this layout's own: evaluation reads its batches.
            self.use_dpo_data_collator = True
            if self.aux_loss_enabled:
                raise InvalidArgumentError(
                    f"{what} does not add MoE router aux losses (the decoder runs without "
                    f"router logits); use TRL's {base.__name__}",
                    argument="model",
                )

        def tokenize_row(self, feature: Any, model: Any = None) -> dict[str, Any]:
            return {}  # dpo_dataset rows are tokenized already

        def _set_signature_columns_if_needed(self) -> None:
            if getattr(self, "_signature_columns", None) is None:
                self._signature_columns = list(PAIR_COLUMNS)

    Trainer.__name__ = Trainer.__qualname__ = what
    return Trainer


def reference_free_trainers(collator: Any) -> dict[str, type]:
    """``PrefixSharedORPOTrainer`` and ``PrefixSharedCPOTrainer``; ``collator(args,
    tokenizer, model)`` is the prompt-once collator set up from a config."""
    import torch
    from trl.experimental.cpo import CPOTrainer
    from trl.experimental.orpo import ORPOTrainer

    from prefcore.torch import sequence_logps

    def branch_logps(trainer: Any, model: Any, batch: Any, prompt: bool) -> dict[str, Any]:
        # TRL's forward runs under the autocast accelerate attaches to model.forward;
        # sequence_logps calls the decoder and the head directly, so it opens the same one.
        with trainer.accelerator.autocast():
            return sequence_logps(model, batch, token_stats=True, prompt_logps=prompt)

    def log(
        trainer: Any,
        train_eval: str,
        out: dict[str, Any],
        logps: tuple[Any, Any],
        rewards: tuple[Any, Any],
        **extra: Any,
    ) -> dict[str, float]:
        """The metrics TRL's ORPO and CPO trainers log, ``eval_``-prefixed in evaluation."""
        (chosen, rejected), (chosen_r, rejected_r) = logps, rewards
        values = {
            "rewards/chosen": chosen_r, "rewards/rejected": rejected_r,
            "rewards/accuracies": (chosen_r > rejected_r).float(),
            "rewards/margins": chosen_r - rejected_r,
            "logps/rejected": rejected, "logps/chosen": chosen,
            "logits/rejected": _logit_means(out, 1), "logits/chosen": _logit_means(out, 0),
            **extra,
        }  # fmt: skip
        prefix = "eval_" if train_eval == "eval" else ""
        gather = trainer.accelerator.gather_for_metrics
        return {f"{prefix}{k}": float(gather(v.detach()).mean().item()) for k, v in values.items()}

    class PrefixSharedORPOTrainer(_prompt_once(ORPOTrainer, collator, "PrefixSharedORPOTrainer")):  # type: ignore[misc]
        """TRL's ``ORPOTrainer`` on prompt-once batches of :func:`prefcore.trl.dpo_dataset`
        rows: the odds-ratio term on each completion's mean log-prob and the NLL of the
        chosen sequence, prompt included, as TRL computes them (its ``odds_ratio_loss``).
        ``logits/*`` are the mean logit over each completion's tokens (TRL's padded
        batch averages over every position, padding included)."""

        def get_batch_loss_metrics(self, model: Any, batch: Any, train_eval: str = "train") -> Any:
            out = branch_logps(self, model, batch, prompt=True)
            chosen, rejected = out["chosen_mean_logps"], out["rejected_mean_logps"]
            # TRL's NLL: the mean over every token of the chosen sequences after the first.
            nll = -(out["prompt_logps"].sum() + out["chosen_logps"].sum()) / (
                out["prompt_tokens"].sum() + out["chosen_tokens"].sum()
            ).clamp(min=1)
            losses, chosen_r, rejected_r, ratio, log_odds = self.odds_ratio_loss(chosen, rejected)
            loss = nll - losses.mean()
            metrics = log(
                self, train_eval, out, (chosen, rejected), (chosen_r, rejected_r),
                nll_loss=nll, log_odds_ratio=ratio, log_odds_chosen=log_odds,
            )  # fmt: skip
            return loss, metrics

    class PrefixSharedCPOTrainer(_prompt_once(CPOTrainer, collator, "PrefixSharedCPOTrainer")):  # type: ignore[misc]
        """TRL's ``CPOTrainer`` on prompt-once batches of :func:`prefcore.trl.dpo_dataset`
        rows: every ``loss_type`` (``sigmoid``, ``hinge``, ``ipo``, ``simpo``, AlphaPO) by
        TRL's ``cpo_loss`` on the tree pass's log-probs, plus ``cpo_alpha`` times the NLL
        of the chosen completions. ``logits/*`` as in ``PrefixSharedORPOTrainer``."""

        def get_batch_loss_metrics(self, model: Any, batch: Any, train_eval: str = "train") -> Any:
            out = branch_logps(self, model, batch, prompt=False)
            mean = self.loss_type in ("ipo", "simpo")  # TRL averages per token for these
            suffix = "_mean_logps" if mean else "_logps"
            chosen, rejected = out["chosen" + suffix], out["rejected" + suffix]
            if self.cpo_alpha == 0:
                nll = torch.zeros((), device=chosen.device)
            else:
                nll = -out["chosen_logps"].sum() / out["chosen_tokens"].sum().clamp(min=1)
            losses, chosen_r, rejected_r = self.cpo_loss(chosen, rejected)
            loss = losses.mean() + self.cpo_alpha * nll
            metrics = log(
                self, train_eval, out, (chosen, rejected), (chosen_r, rejected_r), nll_loss=nll
            )
            return loss, metrics

    return {
        "PrefixSharedORPOTrainer": PrefixSharedORPOTrainer,
        "PrefixSharedCPOTrainer": PrefixSharedCPOTrainer,
    }
