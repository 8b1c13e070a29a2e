"""prefcore data in TRL's trainers: tokenized once by prefcore, collated in Rust, with
no glue code.

Two calls replace TRL's own dataset preparation and collator:

- :func:`dpo_dataset` / :func:`kto_dataset` tokenize a prefcore (or any Arrow-readable)
  table into the ``datasets.Dataset`` of token ids the trainers read;
- :class:`DPOTrainer` / :class:`KTOTrainer` are TRL's trainers that take such a dataset
  as it is (TRL's would tokenize it again) and collate with prefcore's
  :class:`~prefcore.torch.PreferenceCollator` / :class:`~prefcore.torch.UnpairedCollator`,
  configured from the trainer's arguments. Text datasets still go through TRL's own
  preparation, unchanged.

Tested with TRL 1.16 (see :data:`TESTED_TRL`): the trainers override one step of TRL's
initialisation, so other versions are refused with the range that is known to work.

``rules`` chooses how rows are cut and split:

``"prefcore"`` (default)
    The prompt is split off implicit-prompt transcripts at the last turn boundary,
    prompt and completion are tokenized apart, and ``max_length`` is met by cutting
    the prompt first (never below half the budget) and the completions after, always
    keeping their EOS (see :mod:`prefcore.tokenize`). No row is dropped.
``"trl"``
    TRL's own preparation, token for token: the split at the first differing character
    (:func:`prefcore.formats.extract_prompt` with ``rule="trl"``), joint tokenization of
    prompt and completion, rows whose prompt alone fills ``max_length`` dropped (DPO
    with ``truncation_mode="keep_start"``, and KTO), and each sequence cut to
    ``max_length`` in the collator, which can cut the EOS off.

Chat rows get no EOS appended under either rule: the chat template ends the turn.
TRL 1.16 turns ``padding_free`` off for DPO, so padding-free batches cannot reach its
trainers; :func:`prefcore.torch.dataloader` with ``padding_free=True`` gives them to a
training loop of your own.

A DPO run (``pairs``, ``tokenizer`` and ``model`` are yours)::

    import trl
    from prefcore.trl import DPOTrainer, dpo_dataset

    args = trl.DPOConfig(output_dir="out", max_length=512)
    train = dpo_dataset(pairs, tokenizer, args)
    DPOTrainer(model, args=args, train_dataset=train, processing_class=tokenizer).train()

``tests/test_trl.py`` runs it on a tiny Llama against TRL's own pipeline.
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore._arrow import as_pyarrow_table, require_columns
from prefcore._check import having, integer, positive
from prefcore._dpo_losses import DPO_LOSSES, LossSettings, dpo_loss
from prefcore._layouts import (
    LAYOUTS,
    PAIR_COLUMNS,
    PAIR_EXTRAS,
    UNPAIRED_COLUMNS,
    UNPAIRED_EXTRAS,
    has_columns,
)
from prefcore._optional import require
from prefcore._prefix_shared import PrefixSharedBatch, padded_tokens
from prefcore._trl_listwise import listwise_trainer, reference_model
from prefcore._trl_reference_free import reference_free_trainers
from prefcore._trl_reward import reward_trainers
from prefcore._typed import check_arguments
from prefcore.errors import InvalidArgumentError, invalid_value
from prefcore.formats import extract_prompt
from prefcore.tokenize import _tokenize, tokenize_pairs, tokenize_unpaired
from prefcore.torch import KL_COMPLETION, PreferenceCollator, UnpairedCollator

if TYPE_CHECKING:  # built on first use by __getattr__, as subclasses of these
    from trl.experimental.cpo import CPOTrainer
    from trl.experimental.orpo import ORPOTrainer
    from trl.trainer.dpo_trainer import DPOTrainer
    from trl.trainer.kto_trainer import KTOTrainer
    from trl.trainer.reward_trainer import RewardTrainer

    PrefixSharedDPOTrainer = DPOTrainer
    PrefixSharedListwiseTrainer = DPOTrainer
    PrefixSharedRewardTrainer = RewardTrainer
    PrefixSharedORPOTrainer = ORPOTrainer
    PrefixSharedCPOTrainer = CPOTrainer

__all__ = [
    "TESTED_TRL",
    "DPOTrainer",
    "KTOTrainer",
    "PrefixSharedCPOTrainer",
    "PrefixSharedDPOTrainer",
    "PrefixSharedListwiseTrainer",
    "PrefixSharedORPOTrainer",
    "PrefixSharedRewardTrainer",
    "RewardTrainer",
    "dpo_dataset",
    "kl_rotation",
    "kto_dataset",
    "listwise_dataset",
    "preference_collator",
    "prefix_shared_collator",
    "unpaired_collator",
]

Rules = Literal["prefcore", "trl"]

#: The trainers this module builds on first use (they subclass TRL's).
TRAINERS = (
    "DPOTrainer",
    "KTOTrainer",
    "PrefixSharedDPOTrainer",
    "PrefixSharedListwiseTrainer",
    "PrefixSharedRewardTrainer",
    "RewardTrainer",
)

#: The trainers built on TRL's experimental ORPO and CPO trainers (imported only when
#: one of these is asked for).
EXPERIMENTAL_TRAINERS = ("PrefixSharedCPOTrainer", "PrefixSharedORPOTrainer")

#: The TRL versions the trainers are tested with (the test extras pin the same range).
TESTED_TRL = (">=1.16", "<1.17")

#: The columns of a tokenized dataset, by trainer (see prefcore._layouts).
DPO_COLUMNS = PAIR_COLUMNS
KTO_COLUMNS = UNPAIRED_COLUMNS

#: Rows per batch of TRL's `datasets.map` when it unpairs a preference dataset: the
#: chosen and rejected completions of each block of pairs come out one block after the
#: other, which decides the KL completions of the rows.
TRL_UNPAIR_BLOCK = 1000

log = logging.getLogger("prefcore.trl")


def _config(args: Any, name: str, default: Any) -> Any:
    return getattr(args, name, default) if args is not None else default


def _check_rules(rules: str) -> None:
    if rules not in ("prefcore", "trl"):
        raise InvalidArgumentError(
            f"rules must be 'prefcore' or 'trl', not {rules!r}", argument="rules"
        )


def _to_dataset(table: pa.Table, columns: tuple[str, ...], extras: tuple[str, ...]) -> Any:
    datasets = require("datasets", "prefcore.trl datasets")
    keep = [*columns, *(c for c in extras if c in table.column_names)]
    return datasets.Dataset(table.select(keep))


def _drop_full_prompts(table: pa.Table, max_length: int, what: str) -> pa.Table:
    """TRL's filter: rows whose prompt alone fills ``max_length`` leave no completion
    token after the cut. Said, not silent."""
    keep = pc.less(pc.list_value_length(table.column("prompt_ids")), max_length)
    dropped = table.num_rows - int(pc.sum(keep).as_py() or 0)
    if dropped:
        log.warning(
            "%s: dropped %d of %d rows whose prompt alone has max_length=%d tokens or more "
            "(TRL's rule)",
            what,
            dropped,
            table.num_rows,
            max_length,
        )
    return table.filter(keep)


def dpo_dataset(
    data: Any,
    tokenizer: Any,
    args: Any = None,
    *,
    rules: Rules = "prefcore",
    max_prompt_length: int | None = None,
) -> Any:
    """Pairs (``prompt``, ``chosen``, ``rejected`` as text or conversations, or
    transcripts with the prompt inside) to the tokenized ``datasets.Dataset``
    :class:`DPOTrainer` takes: ``prompt_ids``, ``chosen_ids``, ``rejected_ids``, plus
    ``ref_chosen_logps`` / ``ref_rejected_logps`` when the table has them.

    ``args`` (a ``DPOConfig``) gives ``max_length`` and ``truncation_mode``; ``rules``
    is explained in the module docs. In TRL 1.16 only ``DPOTrainer`` reads these
    columns: ``RewardTrainer`` takes whole sequences without a prompt, and ORPO and
    CPO (``trl.experimental``) still tokenize in their own format.

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> args = trl.DPOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> pairs = {"prompt": ["Is the sky blue?"], "chosen": [" Yes."], "rejected": [" No."]}
    >>> train = dpo_dataset(pairs, tokenizer, args)
    >>> train.column_names[-3:], train[0]["chosen_ids"][-1] == tokenizer.eos_token_id
    (['prompt_ids', 'chosen_ids', 'rejected_ids'], True)
    """
    _check_rules(rules)
    table = as_pyarrow_table(data, "data")
    max_length = _config(args, "max_length", None)
    mode = _config(args, "truncation_mode", "keep_start")
    if rules == "trl":
        if "prompt" not in table.column_names:
            require_columns(table, "chosen", "rejected")
            split = extract_prompt(table, rule="trl").table
            rest = [c for c in table.column_names if c not in ("chosen", "rejected")]
            table = pa.table({**{c: table.column(c) for c in rest}, **split.to_pydict()})
        out = tokenize_pairs(table, tokenizer, boundary="joint").table
        if max_length is not None and mode == "keep_start":
            out = _drop_full_prompts(out, max_length, "dpo_dataset")
    else:
        out = tokenize_pairs(
            table,
            tokenizer,
            max_length=max_length,
            max_prompt_length=max_prompt_length,
            truncation=mode,
        ).table
    return _to_dataset(out, DPO_COLUMNS, PAIR_EXTRAS)


def listwise_dataset(
    data: Any,
    tokenizer: Any,
    args: Any = None,
    *,
    completions: str = "completions",
    scores: str = "scores",
    labels: str | None = None,
    max_prompt_length: int | None = None,
) -> Any:
    """Groups (``prompt`` and ``completions``: ``N`` texts or conversations per row, the
    same ``N`` in every row, with ``N`` ``scores``) to the tokenized ``datasets.Dataset``
    :class:`PrefixSharedListwiseTrainer` takes: ``prompt_ids``, ``completions`` (``N``
    token lists) and ``scores`` (the labels ψ of LiPO-λ: the ``labels`` column when
    given, else ``scores``), plus ``ref_logps`` when the table has it.

    Tokenized as :func:`dpo_dataset` tokenizes with ``rules="prefcore"`` (prompt and
    completions apart, EOS after each text completion, ``max_length`` from ``args`` met
    by cutting the prompt first, shared by the whole group). The output of
    :func:`prefcore.listwise.listwise` is a valid input.

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> rows = {"prompt": ["Is the sky blue?"], "completions": [[" Yes.", " No.", " Maybe."]],
    ...         "scores": [[2.0, 0.0, 1.0]]}
    >>> args = trl.DPOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> train = listwise_dataset(rows, tokenizer, args)
    >>> train.column_names, len(train[0]["completions"])
    (['prompt_ids', 'completions', 'scores'], 3)
    """
    table = as_pyarrow_table(data, "data")
    require_columns(table, "prompt", completions, scores, labels)
    texts = table.column(completions).combine_chunks()
    psi = table.column(labels or scores).combine_chunks()

    def list_sizes(col: pa.Array) -> np.ndarray:
        return np.asarray(
            pc.fill_null(pc.list_value_length(col), -1).to_numpy(zero_copy_only=False)
        )

    sizes = list_sizes(texts)
    if not len(sizes):
        raise InvalidArgumentError("listwise_dataset: the table has no rows", argument="data")
    n = int(sizes[0])
    for name, counts in ((completions, sizes), (labels or scores, list_sizes(psi))):
        odd = np.flatnonzero(counts != n)
        if n < 2 or len(odd):
            row = int(odd[0]) if len(odd) else 0
            raise invalid_value(
                name, row, f"{counts[row]} entries; every row needs the same number of "
                f"completions and scores (row 0 has {n} completions), at least 2",
            )  # fmt: skip
    flat = pc.list_flatten(psi)
    if flat.null_count or (
        not pa.types.is_floating(flat.type) and not pa.types.is_integer(flat.type)
    ):
        raise invalid_value(labels or scores, 0, "expected lists of numbers without nulls")
    columns = {f"c{k}": pc.list_element(texts, k) for k in range(n)}
    wide = pa.table({"prompt": table.column("prompt"), **columns})
    out = _tokenize(
        wide, wide, tokenizer, "prompt", {c: f"{c}_ids" for c in columns},
        max_length=_config(args, "max_length", None), max_prompt_length=max_prompt_length,
        truncation=_config(args, "truncation_mode", "keep_start"), add_eos=True,
        eos_token_id=None, chat_template=None, boundary="separate", progress=None,
        label="listwise_dataset",
    ).table  # fmt: skip
    ids = [out.column(f"{c}_ids").combine_chunks() for c in columns]
    rows = out.num_rows
    order = (np.arange(n)[None, :] * rows + np.arange(rows)[:, None]).ravel()
    grouped = pa.ListArray.from_arrays(
        pa.array(np.arange(0, rows * n + 1, n, dtype=np.int32)),
        pa.concat_arrays(ids).take(pa.array(order)),
    )
    result = {
        "prompt_ids": out.column("prompt_ids"),
        "completions": grouped,
        "scores": pc.cast(psi, pa.list_(pa.float64())),
    }
    if "ref_logps" in table.column_names:
        result["ref_logps"] = table.column("ref_logps")
    datasets = require("datasets", "prefcore.trl datasets")
    return datasets.Dataset(pa.table(result))


def _trl_unpair(table: pa.Table) -> pa.Table:
    """TRL's unpairing order: per block of pairs, every chosen row, then every rejected."""
    n = table.num_rows
    index, label = [], []
    for start in range(0, n, TRL_UNPAIR_BLOCK):
        block = np.arange(start, min(n, start + TRL_UNPAIR_BLOCK))
        index += [block, block + n]
        label += [np.ones(len(block), bool), np.zeros(len(block), bool)]
    both = pa.concat_arrays(
        [table.column("chosen").combine_chunks(), table.column("rejected").combine_chunks()]
    )
    take = pa.array(np.concatenate(index) if index else np.array([], np.int64))
    return pa.table(
        {
            "prompt": pa.concat_arrays([table.column("prompt").combine_chunks()] * 2).take(take),
            "completion": both.take(take),
            "label": pa.array(np.concatenate(label) if label else np.array([], bool)),
        }
    )


def kl_rotation(n: int, batch_size: int) -> np.ndarray:
    """Row ``i``'s KL completion, as TRL's KTO preparation picks it: within each block of
    ``batch_size`` consecutive rows, the completion of the row before (the block's
    first row takes its last).

    >>> kl_rotation(5, 2).tolist()
    [1, 0, 3, 2, 4]
    """
    n, batch_size = integer("n", n, minimum=0), positive("batch_size", batch_size)
    index = np.arange(n, dtype=np.int64)
    for start in range(0, n, batch_size):
        block = index[start : start + batch_size].copy()
        index[start : start + batch_size] = np.roll(block, 1)
    return index


def kto_dataset(
    data: Any,
    tokenizer: Any,
    args: Any = None,
    *,
    rules: Rules = "prefcore",
    max_prompt_length: int | None = None,
) -> Any:
    """Unpaired rows (``prompt``, ``completion``, ``label``), or pairs to unpair, to the
    tokenized ``datasets.Dataset`` :class:`KTOTrainer` takes: ``prompt_ids``,
    ``completion_ids``, ``label`` and ``KL_completion_ids``, built as TRL builds them:
    in dataset order, rotated within blocks of ``args.per_device_train_batch_size``.

    Pairs are unpaired as TRL does under ``rules="trl"`` (per block of 1,000 pairs the
    chosen rows, then the rejected ones) and as :func:`prefcore.unpaired.unpair` does
    otherwise (each pair's two rows together).

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> args = trl.KTOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> pairs = {"prompt": ["Is the sky blue?"], "chosen": [" Yes."], "rejected": [" No."]}
    >>> rows = kto_dataset(pairs, tokenizer, args)
    >>> len(rows), list(rows["label"])
    (2, [True, False])
    """
    _check_rules(rules)
    table = as_pyarrow_table(data, "data")
    max_length = _config(args, "max_length", None)
    batch_size = int(_config(args, "per_device_train_batch_size", 8))
    if "completion" not in table.column_names:
        require_columns(table, "chosen", "rejected")
        if "prompt" not in table.column_names:
            split = extract_prompt(table, rule="turn" if rules == "prefcore" else "trl")
            unclean = split.stats["rows"] - split.stats["clean"]
            if unclean:
                raise InvalidArgumentError(
                    f"columns 'chosen'/'rejected': {unclean} rows have no shared prompt to "
                    "split off (prefcore.formats.extract_prompt says which and why); add a "
                    "'prompt' column or pass split.clean()"
                )
            table = split.table
        if rules == "trl":
            table = _trl_unpair(table)
        else:
            from prefcore.unpaired import unpair

            table = unpair(table).table
    if rules == "trl":
        out = tokenize_unpaired(table, tokenizer, boundary="joint").table
        if max_length is not None:
            out = _drop_full_prompts(out, max_length, "kto_dataset")
    else:
        out = tokenize_unpaired(
            table, tokenizer, max_length=max_length, max_prompt_length=max_prompt_length
        ).table
    kl = out.column("completion_ids").take(pa.array(kl_rotation(out.num_rows, batch_size)))
    out = out.append_column(KL_COMPLETION, kl)
    return _to_dataset(out, (*KTO_COLUMNS, KL_COMPLETION), UNPAIRED_EXTRAS)


TOKENIZER_ATTRIBUTES = ("pad_token", "eos_token", "convert_tokens_to_ids")


def _pad_token_id(args: Any, tokenizer: Any) -> int:
    """TRL's choice: the configured pad token, else the tokenizer's, else its EOS."""
    having("tokenizer", tokenizer, TOKENIZER_ATTRIBUTES, "a Hugging Face tokenizer")
    token = _config(args, "pad_token", None) or tokenizer.pad_token or tokenizer.eos_token
    if token is None:
        raise InvalidArgumentError(
            "the tokenizer has neither a pad nor an EOS token; set args.pad_token"
        )
    return int(tokenizer.convert_tokens_to_ids(token))


def preference_collator(args: Any, tokenizer: Any) -> PreferenceCollator:
    """prefcore's pair collator set up as ``DPOTrainer`` sets up its own: the same pad
    token, ``max_length``, ``truncation_mode`` and ``pad_to_multiple_of``, so its
    batches equal TRL's.

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> args = trl.DPOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> collate = preference_collator(args, tokenizer)
    >>> collate.pad_token_id == tokenizer.pad_token_id, collate.max_length
    (True, 64)
    """
    return PreferenceCollator(
        _pad_token_id(args, tokenizer),
        max_length=_config(args, "max_length", None),
        truncation_mode=_config(args, "truncation_mode", "keep_start"),
        pad_to_multiple_of=_config(args, "pad_to_multiple_of", None),
    )


def unpaired_collator(args: Any, tokenizer: Any) -> UnpairedCollator:
    """prefcore's unpaired collator set up as ``KTOTrainer`` sets up its own.

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> args = trl.KTOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> unpaired_collator(args, tokenizer).max_length
    64
    """
    return UnpairedCollator(
        _pad_token_id(args, tokenizer),
        max_length=_config(args, "max_length", None),
        pad_to_multiple_of=_config(args, "pad_to_multiple_of", None),
    )


def _refuse_other_layout(dataset: Any, trainer: str, maker: str) -> None:
    """A dataset prefcore tokenized for another trainer would reach TRL's text
    preparation and fail there on a missing column; name the right pairing instead."""
    for columns, made_by, readers in LAYOUTS:
        if has_columns(dataset, columns):
            raise InvalidArgumentError(
                f"this dataset is {made_by}'s output ({', '.join(columns)}), which "
                f"{readers} trains on; {trainer} takes {maker}'s rows",
                argument="train_dataset",
            )


def _check_version(trl: Any) -> None:
    from packaging.version import Version

    low, high = (Version(bound.lstrip("<>=")) for bound in TESTED_TRL)
    if not low <= Version(trl.__version__) < high:
        raise ImportError(
            f"prefcore.trl's trainers are tested with trl{','.join(TESTED_TRL)}; "
            f"trl {trl.__version__} is installed. prefcore.trl.dpo_dataset and the collators "
            "work with any version; pass them to TRL's own trainer subclass."
        )


def _prefcore_trainer(base: type, columns: tuple[str, ...], collator: Any, maker: str) -> type:
    """``base`` with two changes: a dataset prefcore tokenized is used as it is, and
    the default collator is prefcore's."""
    signature = inspect.signature(base)  # the constructor's, without self

    class Trainer(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(*args, **kwargs)
            given = bound.arguments
            tokenizer = given.get("processing_class")
            config = given.get("args")
            if (
                given.get("data_collator") is None
                and tokenizer is not None
                and config is not None
                and has_columns(given.get("train_dataset"), columns)
            ):
                given["data_collator"] = collator(config, tokenizer)
            super().__init__(*bound.args, **bound.kwargs)

        def _prepare_dataset(self, dataset: Any, *args: Any, **kwargs: Any) -> Any:
            if has_columns(dataset, columns):
                return dataset
            _refuse_other_layout(dataset, type(self).__name__, maker)
            return super()._prepare_dataset(dataset, *args, **kwargs)

    Trainer.__name__ = Trainer.__qualname__ = base.__name__
    Trainer.__doc__ = (
        f"TRL's ``{base.__name__}`` taking datasets from prefcore.trl as they are, "
        f"collated by prefcore (``{collator.__name__}``); text datasets are prepared by "
        "TRL as before."
    )
    return Trainer


def prefix_shared_collator(args: Any, tokenizer: Any, model: Any = None) -> Any:
    """A :class:`~prefcore.torch.PrefixSharedCollator` padding with TRL's pad token,
    cutting sequences to ``args.max_length`` as TRL's ``keep_start`` does (``keep_end``
    is refused: it would cut the shared prompt differently per completion), with the
    attention mask ``model``'s attention implementation reads (SDPA without a model).

    >>> import transformers, trl
    >>> from prefcore.data import sample_tokenizer
    >>> tokenizer = transformers.PreTrainedTokenizerFast(
    ...     tokenizer_object=sample_tokenizer(), eos_token="<eos>", pad_token="<pad>")
    >>> args = trl.DPOConfig(output_dir="out", use_cpu=True, max_length=64)
    >>> prefix_shared_collator(args, tokenizer).pad_token_id == tokenizer.pad_token_id
    True
    """
    from prefcore.torch import PrefixSharedCollator, mask_for

    max_length = _config(args, "max_length", None)
    if max_length is not None and _config(args, "truncation_mode", "keep_start") != "keep_start":
        raise InvalidArgumentError(
            "truncation_mode='keep_end' cuts the shared prompt differently for each "
            "completion, which prompt-once batches cannot hold: use 'keep_start', or "
            "max_length=None with rows truncated when tokenized "
            "(dpo_dataset(..., max_prompt_length=...))",
            argument="args",
        )
    return PrefixSharedCollator(
        _pad_token_id(args, tokenizer),
        pad_to_multiple_of=_config(args, "pad_to_multiple_of", None),
        max_length=max_length,
        attention=mask_for(model) if model is not None else "sdpa",
    )


#: The DPO losses :class:`PrefixSharedDPOTrainer` computes: every loss type of TRL's
#: ``DPOTrainer``, on summed log-probs as TRL computes them.
PREFIX_SHARED_LOSSES = DPO_LOSSES


def _prefix_shared_loss(
    trainer: Any, model: Any, inputs: dict[str, Any], return_outputs: bool
) -> Any:
    """TRL's DPO loss, on :func:`prefcore.torch.sequence_logps` of a prompt-once batch."""
    import torch

    from prefcore.torch import sequence_logps

    mode = "train" if trainer.model.training else "eval"
    # TRL's forward runs under the autocast accelerate attaches to model.forward;
    # sequence_logps calls the decoder and the head directly, so it opens the same one.
    with trainer.accelerator.autocast():
        out = sequence_logps(
            model,
            inputs,
            token_stats=True,
            aligned=trainer.use_weighting,
            ld_alpha=trainer.ld_alpha,
        )
    chosen, rejected = out["chosen_logps"], out["rejected_logps"]
    batch = PrefixSharedBatch.of(inputs)
    if batch.ref_chosen_logps is not None:
        ref_chosen, ref_rejected = batch.ref_chosen_logps, batch.ref_rejected_logps
    else:
        reference = reference_model(trainer)
        ref_chosen, ref_rejected = _prefix_shared_ref_logps(trainer, reference, inputs)
    chosen_ratio, rejected_ratio = chosen - ref_chosen, rejected - ref_rejected
    settings = LossSettings(
        beta=trainer.beta,
        label_smoothing=trainer.label_smoothing,
        f_divergence=str(trainer.f_divergence_type),
        alpha=trainer.f_alpha_divergence_coef,
        discopop_tau=getattr(trainer.args, "discopop_tau", 0.05),
    )
    tokens = (out["chosen_tokens"], out["rejected_tokens"])
    wpo = None
    if trainer.use_weighting:  # WPO: each pair weighs its two sequences' aligned likelihood
        per_token = out["aligned_sums"] / torch.stack(tokens, dim=1).clamp(min=1)
        wpo = per_token.exp().prod(dim=1)
    loss = 0.0
    for loss_type, weight in zip(trainer.loss_types, trainer.loss_weights, strict=True):
        per_pair = dpo_loss(
            loss_type, (chosen, rejected), (ref_chosen, ref_rejected), tokens, settings
        )
        if wpo is not None:
            per_pair = per_pair * wpo
        loss = loss + per_pair.mean() * weight
    gather = trainer.accelerator.gather_for_metrics
    rewards_c, rewards_r = (
        trainer.beta * chosen_ratio.detach(),
        trainer.beta * rejected_ratio.detach(),
    )
    metrics = trainer._metrics[mode]
    _log_token_stats(trainer, mode, out, inputs)
    metrics["rewards/chosen"].append(gather(rewards_c).mean().item())
    metrics["rewards/rejected"].append(gather(rewards_r).mean().item())
    metrics["rewards/accuracies"].append(gather((rewards_c > rewards_r).float()).mean().item())
    metrics["rewards/margins"].append(gather(rewards_c - rewards_r).mean().item())
    metrics["logps/chosen"].append(gather(chosen.detach()).mean().item())
    metrics["logps/rejected"].append(gather(rejected.detach()).mean().item())
    return (loss, out) if return_outputs else loss


def _log_token_stats(trainer: Any, mode: str, out: dict[str, Any], inputs: Any) -> None:
    """The token metrics TRL's DPOTrainer logs, from the prompt-once pass: entropy over
    every completion token, mean logits of chosen and rejected tokens, top-1 accuracy
    on chosen tokens, and ``num_tokens`` counted as TRL's padded batch holds them (the
    prompt once per completion), so the two trainers' logs compare."""
    gather = trainer.accelerator.gather_for_metrics

    def total(x: Any) -> float:
        return float(gather(x.sum()).sum().item())

    chosen_n, rejected_n = total(out["chosen_tokens"]), total(out["rejected_tokens"])
    entropy = total(out["entropy_sums"])
    metrics = trainer._metrics[mode]
    metrics["entropy"].append(entropy / (chosen_n + rejected_n) if chosen_n + rejected_n else 0.0)
    if mode == "train":
        unshared = padded_tokens(inputs)
        trainer._total_train_tokens += int(gather(unshared).sum().item()) // trainer._tp_size
    metrics["num_tokens"] = [trainer._total_train_tokens]
    logits, top1 = out["logit_sums"], out["top1_counts"]
    metrics["logits/chosen"].append(total(logits[:, 0]) / chosen_n if chosen_n else 0.0)
    metrics["logits/rejected"].append(total(logits[:, 1]) / rejected_n if rejected_n else 0.0)
    metrics["mean_token_accuracy"].append(total(top1[:, 0]) / chosen_n if chosen_n else 0.0)


def _prefix_shared_ref_logps(trainer: Any, model: Any, inputs: dict[str, Any]) -> tuple[Any, Any]:
    """The reference model's summed log-probs of a prompt-once batch, as TRL's
    ``compute_ref_log_probs`` runs them: no gradients, the trainer's autocast."""
    import torch

    from prefcore.torch import sequence_logps

    with torch.no_grad(), trainer.accelerator.autocast():
        ref = sequence_logps(model, inputs, ld_alpha=trainer.ld_alpha)
    return ref["chosen_logps"], ref["rejected_logps"]


def _prefix_shared_trainer(base: type, trl_base: type) -> type:
    signature = inspect.signature(trl_base)  # `base` takes (*args, **kwargs)

    class PrefixSharedDPOTrainer(base):  # type: ignore[misc]
        """prefcore.trl's ``DPOTrainer`` on prompt-once batches: each prompt runs once
        for its two completions, and the loss is any of TRL's DPO loss types (with their
        weights, ``label_smoothing`` and f-divergences) on
        :func:`prefcore.torch.sequence_logps`. Needs SDPA, eager or flex attention; the
        reference log-probs come from the batch (a
        :func:`prefcore.torch.compute_ref_logps` store, or TRL's
        ``precompute_ref_log_probs``) or the reference model."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            given = signature.bind(*args, **kwargs).arguments
            config, tokenizer = given.get("args"), given.get("processing_class")
            if given.get("data_collator") is None and config is not None and tokenizer is not None:
                model = given.get("model")
                kwargs["data_collator"] = prefix_shared_collator(
                    config, tokenizer, model if hasattr(model, "config") else None
                )
            super().__init__(*args, **kwargs)
            unsupported = set(self.loss_types) - set(PREFIX_SHARED_LOSSES)
            if unsupported:
                raise InvalidArgumentError(
                    f"PrefixSharedDPOTrainer computes the losses {list(PREFIX_SHARED_LOSSES)}; "
                    f"got loss_type={self.loss_types}",
                    argument="args",
                )
            if self.aux_loss_enabled:
                raise InvalidArgumentError(
                    "PrefixSharedDPOTrainer does not add MoE router aux losses (the decoder "
                    "runs without router logits); use prefcore.trl.DPOTrainer",
                    argument="args",
                )

        def _compute_loss(self, model: Any, inputs: Any, return_outputs: bool) -> Any:
            return _prefix_shared_loss(self, model, inputs, return_outputs)

        def compute_ref_log_probs(self, model: Any, inputs: Any) -> Any:
            # TRL's precompute_ref_log_probs pass, on prompt-once batches.
            return _prefix_shared_ref_logps(self, model, inputs)

    return PrefixSharedDPOTrainer


@functools.cache
def _trainers() -> dict[str, type]:
    trl = require("trl", "prefcore.trl trainers")
    _check_version(trl)
    dpo = _prefcore_trainer(trl.DPOTrainer, DPO_COLUMNS, preference_collator, "dpo_dataset")
    prefix_shared = _prefix_shared_trainer(dpo, trl.DPOTrainer)
    return {
        "DPOTrainer": dpo,
        "KTOTrainer": _prefcore_trainer(
            trl.KTOTrainer, KTO_COLUMNS, unpaired_collator, "kto_dataset"
        ),
        "PrefixSharedDPOTrainer": prefix_shared,
        "PrefixSharedListwiseTrainer": listwise_trainer(prefix_shared, trl.DPOTrainer),
        **reward_trainers(trl, _pad_token_id),
    }


@functools.cache
def _experimental_trainers() -> dict[str, type]:
    _check_version(require("trl", "prefcore.trl trainers"))
    return reference_free_trainers(prefix_shared_collator)


def __getattr__(name: str) -> Any:
    # The trainers subclass TRL's, so TRL is imported on first use, not with this module.
    if name in TRAINERS:
        return _trainers()[name]
    if name in EXPERIMENTAL_TRAINERS:
        return _experimental_trainers()[name]
    raise AttributeError(f"module 'prefcore.trl' has no attribute {name!r}")


check_arguments(__name__)  # each public function checks its arguments' annotations
