"""The tokenized layouts prefcore writes and its collators read, defined once: each
layout's columns, the per-example values that travel with its batches, the call that
writes it and the trainers that read it."""

from __future__ import annotations

from typing import Any

__all__ = [
    "GROUP_COLUMNS",
    "GROUP_EXTRAS",
    "LAYOUTS",
    "PAIR_COLUMNS",
    "PAIR_EXTRAS",
    "UNPAIRED_COLUMNS",
    "UNPAIRED_EXTRAS",
    "has_columns",
]

#: ``dpo_dataset``: pairs with the prompt apart.
PAIR_COLUMNS = ("prompt_ids", "chosen_ids", "rejected_ids")
#: ``kto_dataset``: unpaired rows.
UNPAIRED_COLUMNS = ("prompt_ids", "completion_ids", "label")
#: ``listwise_dataset``: ``N`` completions per prompt with their scores.
GROUP_COLUMNS = ("prompt_ids", "completions", "scores")

#: Per-example values a batch carries along: a number per pair or unpaired row (the
#: reference model's log-probs), ``N`` numbers per group.
PAIR_EXTRAS = ("ref_chosen_logps", "ref_rejected_logps")
UNPAIRED_EXTRAS = ("ref_logps", "ref_KL_logps")
GROUP_EXTRAS = ("ref_logps", "scores")

#: (columns, the call that writes them, the trainers that read them).
LAYOUTS = (
    (PAIR_COLUMNS, "dpo_dataset", "DPOTrainer or a PrefixShared{DPO,Reward,ORPO,CPO}Trainer"),
    (UNPAIRED_COLUMNS, "kto_dataset", "KTOTrainer"),
    (GROUP_COLUMNS, "listwise_dataset", "PrefixSharedListwiseTrainer or PrefixSharedRewardTrainer"),
)


def has_columns(dataset: Any, columns: tuple[str, ...]) -> bool:
    """Whether ``dataset`` (anything with ``column_names``) holds every one of ``columns``."""
    return set(columns) <= set(getattr(dataset, "column_names", None) or [])
