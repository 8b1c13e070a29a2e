"""Prompt-once (prefix-shared) preference batches and the log-probs read from them;
exported by :mod:`prefcore.torch`.

A pair or group becomes a tree: the prompt's tokens once, then each completion as a
branch that sees the prompt and itself only, its positions continuing from the
prompt's end. Trees are packed into rows (best-fit decreasing under ``max_tokens``).
What a branch computes is then what its unshared sequence ``prompt + completion``
computes, while the prompt is run once instead of two (or ``N``) times.

The tree is enforced by the attention mask: a 4-D boolean mask for SDPA, an additive
one for eager attention, or a ``flex_attention`` block mask. Varlen flash-attention
(``cu_seq_lens``) cannot express it: it runs each packed segment causally on its own,
and a branch must see its prompt but not the branch before it, which is not one
contiguous segment. Use SDPA, eager or flex attention with these batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

from prefcore import _prefcore
from prefcore._arrow import ids_to_arrow
from prefcore._check import (
    example_dicts,
    example_numbers,
    having,
    instance,
    optional_positive,
    renamed,
)
from prefcore._collate import Batch, Collator, collate_settings
from prefcore._layouts import GROUP_EXTRAS, PAIR_EXTRAS
from prefcore._optional import require
from prefcore.errors import InvalidArgumentError, invalid_value

__all__ = [
    "PrefixSharedBatch",
    "PrefixSharedCollator",
    "branch_scores",
    "mask_for",
    "sequence_logps",
    "tree_attention_mask",
]

Attention = Literal["sdpa", "eager", "flex", "none"]


def _column(examples: Sequence[Mapping[str, Any]], name: str) -> list[Any]:
    missing = next((row for row, e in enumerate(examples) if name not in e), None)
    if missing is not None:
        raise invalid_value(name, missing, "missing from the example")
    return [e[name] for e in examples]


def _extras(examples: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, Any]:
    """The per-example values that travel with the batch (reference log-probs), as
    numpy: a number per example for pairs, a list of numbers for groups."""
    import numpy as np

    out = {}
    for n in names:
        if n not in examples[0]:
            continue
        if n in PAIR_EXTRAS:
            out[n] = example_numbers(examples, n)
            continue
        values = _column(examples, n)
        try:
            out[n] = np.asarray(values, dtype=np.float64)
            if out[n].ndim != 2:
                raise ValueError("not one list of numbers per example")
        except (TypeError, ValueError):
            row = next(
                (r for r, v in enumerate(values) if not isinstance(v, (list, tuple))
                 or len(v) != len(values[0]) or not all(isinstance(x, (int, float)) for x in v)),
                0,
            )  # fmt: skip
            raise invalid_value(n, row, "expected a list of numbers as long as row 0's") from None
    return out


class PrefixSharedBatch(dict):  # type: ignore[type-arg]
    """A prefix-shared batch: a dict of tensors (what a ``Trainer`` moves to the device,
    rebuilding it as this class) whose entries are also typed attributes, which
    :func:`sequence_logps`, :func:`branch_scores` and the trainers read.

    >>> batch = PrefixSharedCollator(0, attention="none", return_tensors="np")(
    ...     [{"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4, 5]}])
    >>> batch.input_ids.tolist(), batch["branch_tokens"].tolist(), batch.pairs
    ([[1, 2, 3, 4, 5]], [1, 2], True)
    """

    @classmethod
    def of(cls, batch: Mapping[str, Any]) -> PrefixSharedBatch:
        """``batch`` as a :class:`PrefixSharedBatch` (a plain mapping is wrapped, not
        copied tensor by tensor), with its tensors checked present."""
        instance("batch", batch, Mapping, "a prefix-shared batch (PrefixSharedCollator's)")
        view = batch if isinstance(batch, PrefixSharedBatch) else cls(batch)
        missing = [k for k in REQUIRED if k not in view]
        if missing:
            raise InvalidArgumentError(
                f"batch has no {missing}: it is not a prefix-shared batch (PrefixSharedCollator's)",
                argument="batch",
            )
        return view

    def to(self, device: Any) -> PrefixSharedBatch:
        """The batch with its tensors on ``device`` (other entries as they are)."""
        return PrefixSharedBatch(
            {k: v.to(device) if hasattr(v, "to") else v for k, v in self.items()}
        )

    @property
    def input_ids(self) -> Any:
        """``[R, T]`` token ids of the packed rows."""
        return self["input_ids"]

    @property
    def position_ids(self) -> Any:
        """``[R, T]`` positions: each completion starts where its prompt ends."""
        return self["position_ids"]

    @property
    def tree_ids(self) -> Any:
        """``[R, T]`` the example of each token (-1 on padding)."""
        return self["tree_ids"]

    @property
    def branch_ids(self) -> Any:
        """``[R, T]`` 0 on the prompt, ``k`` on completion ``k``."""
        return self["branch_ids"]

    @property
    def attention_mask(self) -> Any | None:
        """The mask as the collator's ``attention`` asked, or None (``"none"``)."""
        return self.get("attention_mask")

    @property
    def logit_index(self) -> Any:
        """Flat ``row * T + column`` of the output that predicts each completion token."""
        return self["logit_index"]

    @property
    def target_ids(self) -> Any:
        """The completion token each of those outputs predicts."""
        return self["target_ids"]

    @property
    def branch_index(self) -> Any:
        """``example * N + k``: the branch of each scored token."""
        return self["branch_index"]

    @property
    def branch_tokens(self) -> Any:
        """Completion tokens per branch, ``[B * N]``."""
        return self["branch_tokens"]

    @property
    def group_size(self) -> int:
        """Completions per example (2 for pairs)."""
        return int(self["group_size"])

    @property
    def pairs(self) -> bool:
        """Whether the examples are pairs (chosen, rejected) rather than groups."""
        return bool(self.get("pairs", False))

    @property
    def ref_chosen_logps(self) -> Any | None:
        """Pairs: the reference model's chosen log-probs, when the examples carry them."""
        return self.get("ref_chosen_logps")

    @property
    def ref_rejected_logps(self) -> Any | None:
        """Pairs: the reference model's rejected log-probs, when the examples carry them."""
        return self.get("ref_rejected_logps")

    @property
    def ref_logps(self) -> Any | None:
        """Groups: the reference log-probs ``[B, N]``, when the examples carry them."""
        return self.get("ref_logps")

    @property
    def scores(self) -> Any | None:
        """Groups: each completion's score ``[B, N]``, when the examples carry them."""
        return self.get("scores")


#: The entries every prefix-shared batch has.
REQUIRED = (
    "input_ids", "position_ids", "tree_ids", "branch_ids", "logit_index", "target_ids",
    "branch_index", "branch_tokens", "group_size",
)  # fmt: skip


@dataclass
class PrefixSharedCollator(Collator):
    """Collate pairs (``prompt_ids``, ``chosen_ids``, ``rejected_ids``) or groups
    (``prompt_ids`` and ``completions``: ``N`` token lists per example) into
    prefix-shared rows, in one Rust call per batch: the prompt-once layout of the
    collator family, with the options every collator shares (``pad_token_id``,
    ``max_length``, ``pad_to_multiple_of``, ``vocab_size``, ``return_tensors``,
    ``pin_memory``; :meth:`from_tokenizer`) and its own, keyword-only.

    The batch (a :class:`PrefixSharedBatch`) holds ``input_ids``, ``position_ids``,
    ``tree_ids`` (the example of each token, -1 on padding), ``branch_ids`` (0 on the
    prompt, ``k`` on completion ``k``), ``attention_mask`` as ``attention`` asks
    (``"sdpa"``: boolean ``[R, 1, T, T]``, ``"eager"``: additive float; ``"flex"``: a
    ``BlockMask``, torch only; ``"none"``: left out), and for :func:`sequence_logps` the
    scored completion tokens: ``logit_index`` (flat ``row * T + column`` of the output
    that predicts each), ``target_ids``, ``branch_index`` (``example * N + k``) and
    ``branch_tokens`` (per branch). ``ref_chosen_logps`` / ``ref_rejected_logps``
    (pairs) or ``ref_logps`` and ``scores`` (groups: ``N`` numbers per example) travel
    along when the examples carry them.

    ``max_tokens`` is the row budget (default: the largest tree, so smaller trees
    share rows); a larger tree takes a row of its own.

    ``max_length`` cuts each prompt + completion sequence as TRL's ``keep_start``
    truncation does (``(prompt + completion)[:max_length]``): the prompt to
    ``max_length`` tokens, each completion to what the prompt leaves. Every branch of a
    tree then keeps the same prompt, so the layout stays exact. TRL's ``keep_end``
    would cut the shared prompt differently for each completion, which one tree cannot
    hold: it is refused. Padding-free packing and labels belong to the padded layouts
    and are refused too.

    >>> batch = PrefixSharedCollator(0, attention="none")(
    ...     [{"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]}])
    >>> batch.input_ids.tolist(), batch.position_ids.tolist()
    ([[1, 2, 3, 4, 5, 6]], [[0, 1, 2, 3, 4, 3]])
    """

    _: KW_ONLY
    max_tokens: int | None = None
    attention: Attention = "sdpa"
    mask_dtype: Any = None
    completions: str = "completions"
    truncation: Literal["keep_start"] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.truncation is not None:
            self.truncation_mode = renamed("truncation", self.truncation, "truncation_mode", None)
            self.truncation = None
        if self.truncation_mode != "keep_start":
            raise InvalidArgumentError(
                f"truncation_mode must be 'keep_start', not {self.truncation_mode!r}: "
                "'keep_end' cuts the shared prompt differently for each completion, which "
                "a prompt-once tree cannot hold (truncate when tokenizing instead: "
                "max_prompt_length)",
                argument="truncation_mode",
            )
        for name in ("padding_free", "labels"):
            if getattr(self, name):
                raise InvalidArgumentError(
                    f"{name}=True belongs to the padded layouts (PreferenceCollator, "
                    "UnpairedCollator); prefix-shared rows are packed by tree",
                    argument=name,
                )
        self.max_tokens = optional_positive("max_tokens", self.max_tokens)
        if self.attention == "flex" and self.return_tensors == "np":
            raise InvalidArgumentError(
                "attention='flex' builds a torch BlockMask: use return_tensors='pt', or "
                "attention='sdpa' / 'eager' for numpy masks",
                argument="attention",
            )

    def __call__(self, examples: Sequence[Mapping[str, Any]]) -> PrefixSharedBatch:
        rows: list[int]
        extra: dict[str, Any]
        if isinstance(examples, Batch) and hasattr(examples.dataset, "tree_lengths"):
            # The rows of a PreferenceDataset: its token buffers, read in place.
            dataset = examples.dataset
            rows = list(examples.rows)
            prompt, *branches = dataset.arrays
            names, per_row = list(dataset.token_columns), 1
            vocab = self.vocab_size if self.vocab_size is not None else dataset.vocab_size
            extra = {
                name: dataset.columns[name].take(rows).to_numpy(zero_copy_only=False)
                for name in PAIR_EXTRAS
                if name in dataset.columns
            }
        else:
            examples = example_dicts(examples)
            if not len(examples):
                raise InvalidArgumentError("cannot collate an empty batch")
            rows, vocab = list(range(len(examples))), self.vocab_size
            prompt, branches, names, per_row, extra = self._columns(examples)
        if self.max_length is not None:
            prompt, branches, rows = _keep_start(prompt, branches, per_row, rows, self.max_length)
        arrays = _prefcore.collate_prefix_shared(
            prompt, branches, names, per_row, rows, collate_settings(self, vocab), self.max_tokens
        )
        out: dict[str, Any] = {
            name: getattr(arrays, name)
            for name in (
                "input_ids", "position_ids", "tree_ids", "branch_ids", "logit_index",
                "target_ids", "branch_index", "branch_tokens",
            )
        }  # fmt: skip
        if self.attention != "none":
            out["attention_mask"] = _mask(out["tree_ids"], out["branch_ids"], self)
        batch = self._finish(out, extra, PrefixSharedBatch)
        assert isinstance(batch, PrefixSharedBatch)
        batch["group_size"] = len(branches) * per_row
        batch["pairs"] = len(branches) == 2
        return batch

    def _columns(
        self, examples: Sequence[Mapping[str, Any]]
    ) -> tuple[Any, list[Any], list[str], int, dict[str, Any]]:
        """Example dicts (pairs or groups) to token columns and their extra values."""
        if "chosen_ids" in examples[0]:
            names = ["prompt_ids", "chosen_ids", "rejected_ids"]
            prompt, *branches = (ids_to_arrow(_column(examples, n), n) for n in names)
            return prompt, branches, names, 1, _extras(examples, PAIR_EXTRAS)
        if self.completions in examples[0]:
            prompt = ids_to_arrow(_column(examples, "prompt_ids"), "prompt_ids")
            groups = _column(examples, self.completions)
            per_row = len(groups[0])
            for row, g in enumerate(groups):
                if len(g) != per_row:
                    raise invalid_value(
                        self.completions,
                        row,
                        f"{len(g)} completions; row 0 has {per_row} and every example needs "
                        "as many",
                    )
            names = ["prompt_ids", self.completions]
            branches = [ids_to_arrow([c for g in groups for c in g], self.completions)]
            return prompt, branches, names, per_row, _extras(examples, GROUP_EXTRAS)
        raise InvalidArgumentError(
            f"examples need 'chosen_ids' and 'rejected_ids', or '{self.completions}'; "
            f"found {sorted(examples[0])}"
        )

    def _finish(
        self,
        out: dict[str, Any],
        extra: dict[str, Any],
        into: type[dict] = dict,  # type: ignore[type-arg]
    ) -> dict[str, Any]:
        # The masks are made in the batch's own kind already; the rest as every collator.
        mask = out.pop("attention_mask", None)
        done = super()._finish(out, extra, into)
        if mask is not None:
            pin = self.pin_memory and self.return_tensors == "pt" and hasattr(mask, "pin_memory")
            done["attention_mask"] = mask.pin_memory() if pin else mask
        return done


def _mask(tree_ids: Any, branch_ids: Any, c: PrefixSharedCollator) -> Any:
    """The attention mask of the rows, as a torch tensor or BlockMask (``"pt"``) or a
    numpy array (``"np"``)."""
    if c.return_tensors == "pt":
        torch = require("torch", "PrefixSharedCollator")
        return tree_attention_mask(
            torch.from_numpy(tree_ids), torch.from_numpy(branch_ids), c.attention, c.mask_dtype
        )
    import numpy as np

    q_tree, k_tree = tree_ids[:, :, None], tree_ids[:, None, :]
    width = tree_ids.shape[1]
    causal = np.tril(np.ones((width, width), dtype=np.bool_))
    seen = (branch_ids[:, None, :] == 0) | (branch_ids[:, None, :] == branch_ids[:, :, None])
    visible = (q_tree == k_tree) & (q_tree >= 0) & seen & causal
    visible |= np.eye(width, dtype=np.bool_) & (q_tree < 0)  # padding sees itself
    visible = visible[:, None, :, :]
    if c.attention == "sdpa":
        return visible
    dtype = np.dtype(c.mask_dtype or np.float32)
    return np.where(visible, 0.0, np.finfo(dtype).min).astype(dtype)


def _keep_start(
    prompt: Any, branches: list[Any], per_row: int, rows: list[int], max_length: int
) -> tuple[Any, list[Any], list[int]]:
    """The ``rows`` of ``prompt`` and their branches (``per_row`` per row in each branch
    array), each ``prompt + branch`` cut to its first ``max_length`` tokens."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    index = pa.array(rows, pa.int64())
    prompt = prompt.take(index)
    lengths = pc.list_value_length(prompt).to_numpy(zero_copy_only=False)
    budget = np.maximum(max_length - lengths, 0)
    prompt = _prefix(prompt, np.minimum(lengths, max_length))
    expanded = (np.asarray(rows)[:, None] * per_row + np.arange(per_row)).ravel()
    cut = []
    for branch in branches:
        branch = branch.take(pa.array(expanded, pa.int64()))
        own = pc.list_value_length(branch).to_numpy(zero_copy_only=False)
        cut.append(_prefix(branch, np.minimum(own, np.repeat(budget, per_row))))
    return prompt, cut, list(range(len(rows)))


def _prefix(lists: Any, keep: Any) -> Any:
    """Each list of ``lists`` cut to its first ``keep[i]`` values."""
    import numpy as np
    import pyarrow as pa

    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    offsets = lists.offsets.to_numpy()
    keep = np.asarray(keep, dtype=np.int64)
    new_offsets = np.concatenate([[0], np.cumsum(keep)])
    starts = np.repeat(offsets[:-1] - new_offsets[:-1], keep)
    take = starts + np.arange(int(new_offsets[-1]))
    values = lists.values.take(pa.array(take, pa.int64()))
    offset_type = np.int64 if pa.types.is_large_list(lists.type) else np.int32
    return type(lists).from_arrays(pa.array(new_offsets.astype(offset_type)), values)


def tree_attention_mask(
    tree_ids: Any, branch_ids: Any, attention: Attention = "sdpa", dtype: Any = None
) -> Any:
    """The attention pattern of prefix-shared rows: a token sees the tokens before it
    in its own tree that are its prompt or its own branch; padding sees only itself
    (so no row of the softmax is empty). ``"sdpa"``: boolean ``[R, 1, T, T]`` (True
    attends); ``"eager"``: additive, 0 or the dtype's minimum; ``"flex"``: a
    ``BlockMask`` for ``flex_attention``.

    >>> import torch
    >>> tree, branch = torch.tensor([[0, 0, 0, 0]]), torch.tensor([[0, 1, 2, 2]])
    >>> tree_attention_mask(tree, branch)[0, 0].int().tolist()
    [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 1]]
    """
    torch = require("torch", "tree_attention_mask")
    for name, ids in (("tree_ids", tree_ids), ("branch_ids", branch_ids)):
        instance(name, ids, torch.Tensor, "a 2-D torch tensor")
        if ids.ndim != 2:
            raise InvalidArgumentError(
                f"{name} must be 2-D, not of shape {tuple(ids.shape)}", argument=name
            )
    rows, width = tree_ids.shape
    if attention == "flex":
        from torch.nn.attention.flex_attention import create_block_mask

        def visible(b: Any, h: Any, q: Any, k: Any) -> Any:
            same = (tree_ids[b, q] == tree_ids[b, k]) & (tree_ids[b, q] >= 0)
            seen = (branch_ids[b, k] == 0) | (branch_ids[b, k] == branch_ids[b, q])
            return (same & seen & (k <= q)) | ((q == k) & (tree_ids[b, q] < 0))

        return create_block_mask(visible, rows, None, width, width, device=tree_ids.device)
    q_tree, k_tree = tree_ids[:, :, None], tree_ids[:, None, :]
    same = (q_tree == k_tree) & (q_tree >= 0)
    seen = (branch_ids[:, None, :] == 0) | (branch_ids[:, :, None] == branch_ids[:, None, :])
    index = torch.arange(width, device=tree_ids.device)
    allowed = same & seen & (index[None, :, None] >= index[None, None, :])
    padding = (tree_ids < 0)[:, :, None] & torch.eye(width, dtype=torch.bool, device=index.device)
    allowed = (allowed | padding)[:, None]
    if attention == "sdpa":
        return allowed
    dtype = dtype if dtype is not None else torch.float32
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return mask.masked_fill_(~allowed, torch.finfo(dtype).min)


#: The collator's ``attention`` for each Hugging Face attention implementation that
#: takes a tree mask.
MASK_OF_IMPLEMENTATION = {"sdpa": "sdpa", "eager": "eager", "flex_attention": "flex"}


def mask_for(model: Any) -> Attention:
    """The ``attention`` a :class:`PrefixSharedCollator` needs for ``model`` (from its
    ``config._attn_implementation``; ``"sdpa"`` for a model without one). An
    implementation that cannot take a tree mask (flash attention) is refused.

    >>> import transformers
    >>> config = transformers.LlamaConfig(vocab_size=8, hidden_size=8, intermediate_size=8,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    >>> mask_for(transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager"))
    'eager'
    """
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None)
    if impl is None:
        return "sdpa"
    kind = MASK_OF_IMPLEMENTATION.get(impl)
    if kind is None:
        raise InvalidArgumentError(
            f"the model runs {impl!r} attention, which takes no tree mask; load it with "
            "attn_implementation='sdpa', 'eager' or 'flex_attention' for prompt-once batches",
            argument="model",
        )
    return kind  # type: ignore[return-value]


def _checked_batch(torch: Any, model: Any, batch: Mapping[str, Any]) -> PrefixSharedBatch:
    """``batch`` as a :class:`PrefixSharedBatch`, refused if the model would misread its
    mask: every mismatch gives log-probs that look plausible and are wrong (an SDPA mask
    given to eager attention is off by hundredths of a nat per branch)."""
    having("model", model, ("config", "forward"), "a Hugging Face model")
    batch = PrefixSharedBatch.of(batch)
    mask = batch.attention_mask
    if mask is None:
        tree = batch.tree_ids
        one_tree_per_row = bool(((tree == tree[:, :1]) | (tree < 0)).all())
        if batch.group_size > 1 or not one_tree_per_row:
            raise InvalidArgumentError(
                "the batch has no attention mask (attention='none'): a plain causal pass over "
                "a packed row lets each completion see the ones before it, and each tree the "
                "trees before it; collate with the model's attention (prefcore.torch.mask_for)",
                argument="batch",
            )
        return batch
    if type(mask).__name__ == "BlockMask":
        kind = "flex"
    else:
        kind = "sdpa" if mask.dtype == torch.bool else "eager"
    wanted = mask_for(model)
    if kind != wanted:
        impl = getattr(model.config, "_attn_implementation", None)
        raise InvalidArgumentError(
            f"the batch carries a {kind!r} attention mask but the model runs {impl!r} "
            f"attention: collate with PrefixSharedCollator(attention={wanted!r})",
            argument="batch",
        )
    return batch


def _logits(model: Any, hidden: Any) -> Any:
    logits = model.get_output_embeddings()(hidden)
    config = getattr(model, "config", None)
    scale = getattr(config, "logit_scale", None)
    if isinstance(scale, (int, float)):
        logits = logits * scale
    cap = getattr(config, "final_logit_softcapping", None)
    if cap:
        torch = require("torch", "sequence_logps")
        logits = torch.tanh(logits / cap) * cap
    return logits


def sequence_logps(
    model: Any,
    batch: Mapping[str, Any],
    *,
    token_stats: bool = False,
    aligned: bool = False,
    ld_alpha: float | None = None,
    prompt_logps: bool = False,
) -> dict[str, Any]:
    """Per-branch summed log-probs of a Hugging Face causal LM on a prefix-shared batch,
    in the examples' order: ``chosen_logps`` / ``rejected_logps`` ``[B]`` for pairs,
    ``logps`` ``[B, N]`` for groups, with the token counts (``*_tokens``) and the mean
    per token (``*_mean``). The decoder runs once over the packed rows; the output
    head and the log-softmax over the vocabulary are applied only where a completion
    token is predicted. Differentiable: write a DPO/IPO/LiPO loss on the result.

    ``token_stats=True`` adds, per branch and without gradients, what TRL logs of the
    completion tokens: ``entropy_sums`` (the entropy of each predicted distribution),
    ``logit_sums`` (the mean logit over the vocabulary) and ``top1_counts`` (tokens
    that are the argmax), each ``[B, N]`` (N = 2 for pairs: chosen, rejected).
    ``aligned=True`` adds ``aligned_sums``: each token's log-prob less the log of the
    sum of squared probabilities, WPO's alignment term.

    ``ld_alpha`` (pairs; LD-DPO, Liu et al. 2024): the tokens of a completion past the
    length of the pair's shorter completion count ``ld_alpha`` times in
    ``chosen_logps`` / ``rejected_logps``, as TRL's ``ld_alpha`` weighs them.

    ``prompt_logps=True`` adds ``prompt_logps`` and ``prompt_tokens`` ``[B]``: the summed
    log-probs of each prompt's own tokens after its first (what a padded row's language
    modelling loss counts on the prompt, as ORPO's NLL term does), from the same pass.

    >>> import transformers
    >>> config = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    >>> model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    >>> batch = PrefixSharedCollator(0)(
    ...     [{"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]}])
    >>> out = sequence_logps(model, batch)
    >>> out["chosen_logps"].shape, out["chosen_tokens"].tolist(), out["rejected_tokens"].tolist()
    (torch.Size([1]), [2], [1])
    """
    torch = require("torch", "sequence_logps")
    batch = _checked_batch(torch, model, batch)
    inputs = {
        "input_ids": batch.input_ids,
        "position_ids": batch.position_ids,
        "use_cache": False,
    }
    if batch.attention_mask is not None:
        inputs["attention_mask"] = batch.attention_mask
    hidden = model.get_decoder()(**inputs).last_hidden_state
    flat = hidden.reshape(-1, hidden.shape[-1]).index_select(0, batch.logit_index)
    logits = _logits(model, flat).float()
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(1, batch.target_ids[:, None]).squeeze(1)
    counts = batch.branch_tokens
    n = batch.group_size

    def per_branch(values: Any) -> Any:
        sums = torch.zeros(counts.shape[0], dtype=values.dtype, device=values.device)
        return sums.index_add(0, batch.branch_index, values).reshape(-1, n)

    tokens = counts.reshape(-1, n).to(picked.device)
    if ld_alpha is not None:
        if not batch.pairs:
            raise InvalidArgumentError("ld_alpha weighs pairs; this batch holds groups")
        picked = _length_desensitized(torch, picked, batch.branch_index, tokens, ld_alpha)
    sums = per_branch(picked)
    mean = sums / tokens.clamp(min=1)
    if batch.pairs:
        out = {
            "chosen_logps": sums[:, 0],
            "rejected_logps": sums[:, 1],
            "chosen_tokens": tokens[:, 0],
            "rejected_tokens": tokens[:, 1],
            "chosen_mean_logps": mean[:, 0],
            "rejected_mean_logps": mean[:, 1],
        }
    else:
        out = {"logps": sums, "tokens": tokens, "mean_logps": mean}
    if token_stats:
        with torch.no_grad():
            entropy = -(logp.exp() * logp).sum(-1)
            top1 = (logits.argmax(-1) == batch.target_ids).to(logits.dtype)
            out["entropy_sums"] = per_branch(entropy)
            out["logit_sums"] = per_branch(logits.mean(-1))
            out["top1_counts"] = per_branch(top1)
    if prompt_logps:
        out["prompt_logps"], out["prompt_tokens"] = _prompt_logps(
            torch, model, hidden, batch, counts.shape[0] // n
        )
    if aligned:
        with torch.no_grad():
            raw = logp.gather(1, batch.target_ids[:, None]).squeeze(1)
            out["aligned_sums"] = per_branch(raw - torch.logsumexp(2 * logp, dim=-1))
    return out


def _prompt_logps(
    torch: Any, model: Any, hidden: Any, batch: PrefixSharedBatch, examples: int
) -> tuple[Any, Any]:
    """Per example, the summed log-probs of its prompt tokens after the first, and their
    count. A tree's prompt is one contiguous run at the start of the tree, so a prompt
    token predicts the token after it when that one is in the same tree's prompt."""
    width = batch.input_ids.shape[1]
    ids = batch.input_ids.reshape(-1)
    tree = batch.tree_ids.reshape(-1)
    shared = (tree >= 0) & (batch.branch_ids.reshape(-1) == 0)
    flat = torch.arange(ids.numel(), device=ids.device)
    follows = torch.zeros_like(shared)
    follows[:-1] = shared[1:] & (tree[1:] == tree[:-1])
    source = flat[shared & follows & (flat % width != width - 1)]
    logits = _logits(model, hidden.reshape(-1, hidden.shape[-1]).index_select(0, source))
    logp = torch.log_softmax(logits.float(), dim=-1)
    picked = logp.gather(1, ids[source + 1][:, None]).squeeze(1)
    owner = tree[source]
    sums = torch.zeros(examples, dtype=picked.dtype, device=picked.device)
    counts = torch.zeros(examples, dtype=torch.long, device=picked.device)
    return sums.index_add(0, owner, picked), counts.index_add(0, owner, torch.ones_like(owner))


def padded_tokens(batch: Mapping[str, Any]) -> Any:
    """The tokens a padded batch of the same pairs holds (the prompt once per
    completion), as a tensor: what TRL's trainers log as ``num_tokens``."""
    batch = PrefixSharedBatch.of(batch)
    tree, branch = batch.tree_ids, batch.branch_ids
    prompt = ((tree >= 0) & (branch == 0)).sum()
    return batch.group_size * prompt + ((tree >= 0) & (branch > 0)).sum()


def branch_scores(model: Any, batch: Mapping[str, Any], pad_token_id: int) -> Any:
    """The reward of every branch, ``[B, N]``: a Hugging Face sequence classifier
    (``AutoModelForSequenceClassification``: a decoder and a ``score`` head) read where
    it reads a padded row, at the last token of prompt + completion that is not
    ``pad_token_id`` (a trailing EOS that doubles as the pad token is skipped, as there).
    The decoder runs once over the packed rows, each prompt once for all its branches.

    >>> import transformers
    >>> config = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, num_labels=1,
    ...     pad_token_id=0)
    >>> rm = transformers.AutoModelForSequenceClassification.from_config(
    ...     config, attn_implementation="sdpa")
    >>> batch = PrefixSharedCollator(0)(
    ...     [{"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]}])
    >>> branch_scores(rm, batch, pad_token_id=0).shape
    torch.Size([1, 2])
    """
    torch = require("torch", "branch_scores")
    batch = _checked_batch(torch, model, batch)
    head = getattr(model, "score", None)
    prefix = getattr(model, "base_model_prefix", None)
    if head is None or prefix is None:
        raise InvalidArgumentError(
            "branch_scores needs a sequence classifier with a decoder and a 'score' head "
            "(AutoModelForSequenceClassification of a causal LM)",
            argument="model",
        )
    inputs = {"input_ids": batch.input_ids, "position_ids": batch.position_ids}
    if batch.attention_mask is not None:
        inputs["attention_mask"] = batch.attention_mask
    hidden = getattr(model, prefix)(**inputs, use_cache=False).last_hidden_state
    n = batch.group_size
    tree = batch.tree_ids.reshape(-1)
    branch = batch.branch_ids.reshape(-1)
    kept = (tree >= 0) & (batch.input_ids.reshape(-1) != pad_token_id)
    flat = torch.arange(tree.numel(), device=tree.device)
    examples = int(batch.branch_tokens.numel()) // n
    # The last kept token of each branch; a branch of pad tokens only falls back to
    # the last kept token of its prompt, as a padded row would.
    last = torch.full((examples * n,), -1, dtype=torch.long, device=tree.device)
    own = kept & (branch > 0)
    last = last.scatter_reduce(0, (tree * n + branch - 1)[own], flat[own], "amax")
    in_prompt = torch.full((examples,), -1, dtype=torch.long, device=tree.device)
    shared = kept & (branch == 0)
    in_prompt = in_prompt.scatter_reduce(0, tree[shared], flat[shared], "amax")
    last = torch.where(last >= 0, last, in_prompt.repeat_interleave(n))
    if bool((last < 0).any()):
        raise InvalidArgumentError(
            f"an example has only pad tokens ({pad_token_id}): it has no token to score",
            argument="batch",
        )
    pooled = hidden.reshape(-1, hidden.shape[-1]).index_select(0, last)
    return head(pooled)[:, 0].reshape(examples, n)


def _length_desensitized(torch: Any, picked: Any, owner: Any, tokens: Any, ld_alpha: float) -> Any:
    """``picked`` with every token past the pair's shorter completion scaled by
    ``ld_alpha``. A branch's scored tokens are contiguous and in order, so a token's
    place in its branch is its distance from where its branch's run starts."""
    index = torch.arange(len(owner), device=picked.device)
    starts = torch.ones_like(owner, dtype=torch.bool)
    starts[1:] = owner[1:] != owner[:-1]
    run_start = torch.cummax(torch.where(starts, index, 0), dim=0).values
    place = index - run_start
    shared = tokens.min(dim=1).values  # per pair
    in_tail = place >= shared[owner.to(picked.device) // 2]
    return torch.where(in_tail, picked * ld_alpha, picked)
