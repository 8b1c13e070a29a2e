"""What every collator shares: the rows of a batch, the options (one
:class:`Collator` base, read by the Rust side as ``CollateSettings``), example dicts to
token columns, and the pad token of a tokenizer."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from prefcore import _prefcore
from prefcore._arrow import ids_to_arrow
from prefcore._check import check_special_id, example_numbers, integer, optional_positive
from prefcore._optional import require
from prefcore._typed import check_fields
from prefcore.errors import InvalidArgumentError, MissingColumnError, invalid_value

__all__ = [
    "Batch",
    "Collator",
    "Tensors",
    "Truncation",
    "collate_settings",
    "examples_to_columns",
    "pad_token_id_of",
]

Truncation = Literal["keep_start", "keep_end"]
Tensors = Literal["pt", "np"]


class Batch(Sequence[dict[str, Any]]):
    """Rows of a dataset picked for one batch. The collators read the token buffers
    directly; indexing gives example dicts, so other collators work on it too."""

    def __init__(self, dataset: Any, rows: list[int]) -> None:
        self.dataset = dataset
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.dataset[r] for r in self.rows[i]]
        return self.dataset[self.rows[i]]


def examples_to_columns(
    examples: Sequence[Mapping[str, Any]], names: Sequence[str], extras: Sequence[str]
) -> tuple[list[pa.Array], dict[str, np.ndarray]]:
    """TRL-style example dicts to token columns (and the extra per-example values)."""
    if not examples:
        raise InvalidArgumentError("cannot collate an empty batch")
    for name in names:
        if name not in examples[0]:
            raise MissingColumnError(
                f"column '{name}' not found in the examples: {sorted(examples[0])}", column=name
            )
    arrays = []
    for name in names:
        missing = next((row for row, e in enumerate(examples) if name not in e), None)
        if missing is not None:
            raise invalid_value(name, missing, "missing from the example")
        arrays.append(ids_to_arrow([e[name] for e in examples], name))
    extra = {k: example_numbers(examples, k) for k in extras if k in examples[0]}
    return arrays, extra


@dataclass
class Collator:
    """The options every prefcore collator shares (pair, unpaired and prefix-shared
    layouts), read by the Rust side as one ``CollateSettings``; subclasses add their
    layout's own."""

    pad_token_id: int
    max_length: int | None = None
    truncation_mode: Truncation = "keep_start"
    pad_to_multiple_of: int | None = None
    padding_free: bool = False
    label_pad_id: int = -100
    vocab_size: int | None = None
    return_tensors: Tensors = "pt"
    pin_memory: bool = False
    labels: bool = False

    def __post_init__(self) -> None:
        check_fields(self)  # each option against its annotation (a Literal's values)
        # A token id the embedding can look up: a negative pad fails inside the model.
        self.pad_token_id = integer("pad_token_id", self.pad_token_id, minimum=0)
        self.label_pad_id = integer("label_pad_id", self.label_pad_id)
        self.max_length = optional_positive("max_length", self.max_length)
        self.pad_to_multiple_of = optional_positive("pad_to_multiple_of", self.pad_to_multiple_of)
        self.vocab_size = optional_positive("vocab_size", self.vocab_size)
        check_special_id("pad_token_id", self.pad_token_id, self.vocab_size)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, **options: Any) -> Any:
        """A collator padding with ``tokenizer``'s pad id (its EOS id when it has no
        pad token); ``options`` are the collator's other fields."""
        return cls(pad_token_id_of(tokenizer), **options)

    def _inputs(
        self, batch: Any, names: Sequence[str], extras: Sequence[str]
    ) -> tuple[list[Any], list[int], dict[str, np.ndarray], int | None]:
        if isinstance(batch, Batch):
            d = batch.dataset
            extra = {
                k: d.columns[k].take(pa.array(batch.rows)).to_numpy(zero_copy_only=False)
                for k in extras
                if k in d.columns
            }
            vocab = self.vocab_size if self.vocab_size is not None else d.vocab_size
            return d.arrays, batch.rows, extra, vocab
        arrays, extra = examples_to_columns(batch, names, extras)
        return arrays, list(range(len(batch))), extra, self.vocab_size

    def _finish(
        self,
        out: dict[str, Any],
        extra: dict[str, np.ndarray],
        into: type[dict] = dict,  # type: ignore[type-arg]
    ) -> dict[str, Any]:
        """The batch as ``into`` (a dict class): the extra values as float32 (or bool),
        everything as torch tensors unless ``return_tensors="np"``."""
        for k, v in extra.items():
            out[k] = v.astype(np.bool_ if v.dtype == np.bool_ else np.float32)
        if self.return_tensors == "np":
            return out if into is dict else into(out)
        torch = require("torch", 'return_tensors="pt"')
        from_numpy, tensor_type = torch.from_numpy, torch.Tensor
        tensors = {k: from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in out.items()}
        if self.pin_memory:
            tensors = {
                k: v.pin_memory() if isinstance(v, tensor_type) else v for k, v in tensors.items()
            }
        return tensors if into is dict else into(tensors)


#: The arrays of a collated sequence batch in the order the batch lists them (TRL's);
#: a padded batch has the mask, a packed one the positions and sequence bounds.
SEQUENCE_ARRAYS = (
    "input_ids",
    "attention_mask",
    "position_ids",
    "completion_mask",
    "labels",
    "cu_seq_lens",
    "max_seq_len",
)


def sequence_entries(arrays: _prefcore.SequenceArrays, prefix: str = "") -> dict[str, Any]:
    """The batch entries of one collated sequence batch, each key ``prefix`` + the
    array's name (``chosen_input_ids``, ``KL_completion_mask``, ...), those the layout
    does not have left out."""
    entries = {}
    for name in SEQUENCE_ARRAYS:
        value = getattr(arrays, name)
        if value is not None:
            entries[prefix + name] = value
    return entries


def pad_token_id_of(tokenizer: Any) -> int:
    """The tokenizer's pad id, or its EOS id when it has no pad token (TRL's fallback:
    padded positions are masked, so any id serves).

    >>> class Tok:
    ...     pad_token_id, eos_token_id = None, 2
    >>> pad_token_id_of(Tok())
    2
    """
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    raise InvalidArgumentError(
        f"{type(tokenizer).__name__} has neither a pad nor an EOS token; pass pad_token_id="
    )


def collate_settings(c: Collator, vocab_size: int | None) -> _prefcore.CollateSettings:
    """The collator's options as the Rust side reads them (vocabulary resolved), made
    once per distinct set of options: a batch costs tens of microseconds, and building
    the settings object a few of them. Kept by value, not on the collator, which stays
    picklable for DataLoader workers."""
    check_special_id("pad_token_id", c.pad_token_id, vocab_size)
    return _settings(
        c.pad_token_id, c.label_pad_id, c.labels, c.max_length, c.truncation_mode,
        c.pad_to_multiple_of, vocab_size, c.padding_free,
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _settings(
    pad_token_id: int,
    label_pad_id: int,
    labels: bool,
    max_length: int | None,
    truncation_mode: Truncation,
    pad_to_multiple_of: int | None,
    vocab_size: int | None,
    padding_free: bool,
) -> _prefcore.CollateSettings:
    return _prefcore.CollateSettings(
        pad_token_id=pad_token_id,
        label_pad_id=label_pad_id,
        labels=labels,
        max_length=max_length,
        truncation_mode=truncation_mode,
        pad_to_multiple_of=pad_to_multiple_of,
        vocab_size=vocab_size,
        padding_free=padding_free,
    )
