"""Batches of tokenized preference data for torch: a dataset over the Arrow table, a
collator that writes each batch in one Rust call, and a sampler that fills a token
budget with examples of similar length.

``import prefcore.torch`` does not import torch; the collators import it on their first
batch (``return_tensors="np"`` gives numpy arrays and needs no torch at all).

>>> from prefcore.torch import PreferenceCollator, PreferenceDataset
>>> data = PreferenceDataset({
...     "prompt_ids": [[1, 2, 3], [7, 8]],
...     "chosen_ids": [[4, 5], [9]],
...     "rejected_ids": [[6], [10, 11]]})
>>> batch = PreferenceCollator(pad_token_id=0, return_tensors="np")(data.__getitems__([0, 1]))
>>> batch["input_ids"].tolist()
[[1, 2, 3, 4, 5], [7, 8, 9, 0, 0], [1, 2, 3, 6, 0], [7, 8, 10, 11, 0]]
>>> batch["completion_mask"].tolist()[1]
[0, 0, 1, 0, 0]
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import as_pyarrow_table, first_true, require_columns
from prefcore._check import (
    example_dicts,
    integer,
    numbers,
    optional_positive,
    positive,
)
from prefcore._collate import (
    Batch,
    Collator,
    collate_settings,
    pad_token_id_of,
    sequence_entries,
)
from prefcore._layouts import PAIR_EXTRAS, UNPAIRED_EXTRAS
from prefcore._optional import require
from prefcore._prefix_shared import (
    PrefixSharedBatch,
    PrefixSharedCollator,
    branch_scores,
    mask_for,
    sequence_logps,
    tree_attention_mask,
)
from prefcore._ref_logps import (
    attach_ref_logps,
    compute_ref_logps,
    ref_logps_fingerprint,
    save_ref_logps,
)
from prefcore._typed import check_arguments
from prefcore.errors import ColumnTypeError, InvalidArgumentError, MissingColumnError, invalid_value
from prefcore.tokenize import TokenizedTable

if TYPE_CHECKING:  # torch is an optional dependency: only the type checker imports it
    from torch.utils.data import DataLoader

__all__ = [
    "Batch",
    "FixedBatchSampler",
    "PreferenceCollator",
    "PreferenceDataset",
    "PrefixSharedBatch",
    "PrefixSharedCollator",
    "TokenBudgetSampler",
    "UnpairedCollator",
    "UnpairedDataset",
    "attach_ref_logps",
    "branch_scores",
    "compute_ref_logps",
    "dataloader",
    "distributed_rank",
    "mask_for",
    "pad_token_id_of",
    "ref_logps_fingerprint",
    "save_ref_logps",
    "sequence_logps",
    "tree_attention_mask",
]

Layout = Literal["concat", "separate", "prefix_shared"]

#: Each unpaired row's mismatched completion for the KL estimate (TRL's column name).
KL_COMPLETION = "KL_completion_ids"


class _TokenDataset:
    """A map-style dataset over token columns of an Arrow table, read in place."""

    token_columns: tuple[str, ...]
    extras: tuple[str, ...]

    def __init__(self, table: Any, columns: Sequence[str], vocab_size: int | None) -> None:
        if isinstance(table, TokenizedTable):
            known = table.stats.get("vocab_size")
            if vocab_size is None and isinstance(known, int):
                vocab_size = known
        t = as_pyarrow_table(_unwrap(table), "table")
        require_columns(t, *columns)
        self.vocab_size = vocab_size
        self.token_columns = tuple(columns)
        # One chunk per column, int32 ids: each batch then hands Rust plain buffers.
        self.arrays = [_prefcore.normalize_tokens(t.column(c).combine_chunks(), c) for c in columns]
        self.columns: dict[str, pa.Array] = dict(zip(columns, self.arrays))
        for name in self.extras:
            if name in t.column_names:
                self.columns[name] = _float_column(t, name)
        self.table = t

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        """One example as Python lists, the shape TRL's collators take."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} examples")
        return {name: col[index].as_py() for name, col in self.columns.items()}

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        """A whole batch at once (the DataLoader's fetch path): rows, no copy."""
        return Batch(self, [int(i) for i in indices])

    def lengths(self) -> np.ndarray:
        """The padded size in tokens of each example alone (what a sampler budgets)."""
        raise NotImplementedError


def _unwrap(table: Any) -> Any:
    return table.table if isinstance(table, TokenizedTable) else table


def _float_column(t: pa.Table, name: str) -> pa.Array:
    col = t.column(name)
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        raise ColumnTypeError(f"column '{name}' has type {col.type}; expected numbers", column=name)
    null = first_true(col.is_null())
    if null is not None:
        raise invalid_value(name, null, "null value")
    return col.combine_chunks()


def _list_lengths(array: pa.Array) -> np.ndarray:
    return np.asarray(pc.list_value_length(array).to_numpy(zero_copy_only=False), dtype=np.int64)


class PreferenceDataset(_TokenDataset):
    """Pairs of token ids: ``prompt_ids``, ``chosen_ids``, ``rejected_ids`` (any
    integer list type; stored as ``list<int32>``), e.g. from
    :func:`prefcore.tokenize.tokenize_pairs`. ``ref_chosen_logps`` and
    ``ref_rejected_logps`` come along when present. ``vocab_size`` (taken from a
    :class:`~prefcore.tokenize.TokenizedTable`) makes every batch check its ids.

    >>> ds = PreferenceDataset({"prompt_ids": [[1, 2], [3]], "chosen_ids": [[4], [5, 6]],
    ...                         "rejected_ids": [[7], [8]]})
    >>> len(ds), ds[1]["chosen_ids"], ds.lengths().tolist()
    (2, [5, 6], [6, 6])
    """

    extras = PAIR_EXTRAS

    def __init__(
        self,
        table: Any,
        *,
        prompt: str = "prompt_ids",
        chosen: str = "chosen_ids",
        rejected: str = "rejected_ids",
        vocab_size: int | None = None,
    ) -> None:
        super().__init__(table, (prompt, chosen, rejected), vocab_size)

    def lengths(self) -> np.ndarray:
        """Per pair, ``2 * (prompt + longer completion)``: its padded size in the
        concatenated layout."""
        p, c, r = (_list_lengths(a) for a in self.arrays)
        return np.asarray(2 * (p + np.maximum(c, r)), dtype=np.int64)

    def tree_lengths(self) -> np.ndarray:
        """Per pair, ``prompt + chosen + rejected``: its size in a prompt-once batch
        (:class:`PrefixSharedCollator`), what :class:`TokenBudgetSampler` budgets then."""
        p, c, r = (_list_lengths(a) for a in self.arrays)
        return np.asarray(p + c + r, dtype=np.int64)


class UnpairedDataset(_TokenDataset):
    """Unpaired (KTO) rows: ``prompt_ids``, ``completion_ids`` and a boolean ``label``;
    ``KL_completion_ids`` (each row's mismatched completion, as TRL's KTO preparation
    writes it), ``ref_logps`` and ``ref_KL_logps`` come along when present.

    >>> ds = UnpairedDataset({"prompt_ids": [[1, 2]], "completion_ids": [[3]], "label": [True]})
    >>> len(ds), ds[0]["label"]
    (1, True)
    """

    extras = UNPAIRED_EXTRAS

    def __init__(
        self,
        table: Any,
        *,
        prompt: str = "prompt_ids",
        completion: str = "completion_ids",
        label: str = "label",
        kl_completion: str = KL_COMPLETION,
        vocab_size: int | None = None,
    ) -> None:
        names = [prompt, completion]
        # TRL's KTO preparation stores each row's mismatched completion; when the table
        # has it, the KL batch uses it (see UnpairedCollator).
        if kl_completion in as_pyarrow_table(_unwrap(table), "table").column_names:
            names.append(kl_completion)
        super().__init__(table, names, vocab_size)
        require_columns(self.table, label)
        labels = self.table.column(label)
        if not pa.types.is_boolean(labels.type):
            raise ColumnTypeError(
                f"column '{label}' has type {labels.type}; expected bool", column=label
            )
        null = first_true(labels.is_null())
        if null is not None:
            raise invalid_value(label, null, "null label")
        self.columns["label"] = labels.combine_chunks()

    def lengths(self) -> np.ndarray:
        """Per row, ``prompt + completion``."""
        p, c = (_list_lengths(a) for a in self.arrays)
        return np.asarray(p + c, dtype=np.int64)


@dataclass
class PreferenceCollator(Collator):
    """Collate pairs into TRL's preference layout in one Rust call per batch.

    ``layout="concat"``: ``input_ids``, ``attention_mask``, ``completion_mask`` and
    of shape ``[2B, T]``, chosen rows then rejected rows, equal to TRL's
    ``DataCollatorForPreference`` with the same ``max_length``, ``truncation_mode`` and
    ``pad_to_multiple_of``. ``labels=True`` adds ``labels`` (the completion ids,
    ``label_pad_id`` elsewhere) for trainers that take them from the batch; TRL's
    build their own and reject a second one. ``layout="separate"``: ``chosen_*`` and
    ``rejected_*``, each padded to its own width. ``padding_free=True``: one packed row
    (``[1, N]``) with ``position_ids``, ``cu_seq_lens`` (int32, ``[2B + 1]``) and
    ``max_seq_len``: the varlen layout of flash-attention. Int64 tensors, like TRL's.
    ``layout="prefix_shared"``: each prompt once for its completions, the batch of
    :class:`PrefixSharedCollator` with these options (which takes pairs or groups, and
    the mask kind and row budget as well).

    Call it on a :class:`Batch` (what :class:`PreferenceDataset` hands the DataLoader)
    or on a list of example dicts. :meth:`from_tokenizer` takes the pad id from a
    tokenizer, falling back to EOS as TRL does.

    >>> collate = PreferenceCollator(pad_token_id=0, return_tensors="np")
    >>> batch = collate([{"prompt_ids": [5, 6], "chosen_ids": [7], "rejected_ids": [8, 9]}])
    >>> batch["input_ids"].tolist(), batch["completion_mask"].tolist()
    ([[5, 6, 7, 0], [5, 6, 8, 9]], [[0, 0, 1, 0], [0, 0, 1, 1]])
    """

    layout: Layout = "concat"
    _prefix_shared: PrefixSharedCollator | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.layout == "prefix_shared":  # the same options, the prompt-once rows
            shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(Collator)}
            self._prefix_shared = PrefixSharedCollator(**shared)

    def __call__(self, batch: Any) -> dict[str, Any]:
        if self._prefix_shared is not None:
            return self._prefix_shared(batch)
        names = ("prompt_ids", "chosen_ids", "rejected_ids")
        if not isinstance(batch, Batch):
            batch = example_dicts(batch)
        arrays, rows, extra, vocab = self._inputs(batch, names, PAIR_EXTRAS)
        labels = batch.dataset.token_columns if isinstance(batch, Batch) else names
        settings = collate_settings(self, vocab)
        separate = self.layout == "separate"
        pairs = _prefcore.collate_pairs(
            arrays, list(labels), rows, settings, "separate" if separate else "concat"
        )
        out: dict[str, Any] = {}
        for part, prefix in (
            (pairs.joint, ""),
            (pairs.chosen, "chosen_"),
            (pairs.rejected, "rejected_"),
        ):
            if part is not None:  # the joint rows, or the chosen and the rejected ones
                out.update(sequence_entries(part, prefix))
        return self._finish(out, extra)


@dataclass
class UnpairedCollator(Collator):
    """Collate unpaired (KTO) rows: ``input_ids``, ``attention_mask``,
    ``completion_mask`` and ``label`` (``labels=True`` adds ``labels``), equal to TRL's
    ``DataCollatorForUnpairedPreference``. With ``kl=True`` also the ``KL_*`` tensors
    of the mismatched batch: each row's prompt with its ``KL_completion_ids`` when the
    examples carry them (TRL's KTO preparation writes them in dataset order, before
    any shuffling), otherwise with the completion of the row before it in this batch
    (the first row taking the last one's), which equals TRL's only when batches follow
    dataset order.

    >>> collate = UnpairedCollator(pad_token_id=0, return_tensors="np", kl=False)
    >>> batch = collate([{"prompt_ids": [5], "completion_ids": [6, 7], "label": True},
    ...                  {"prompt_ids": [8, 9], "completion_ids": [1], "label": False}])
    >>> batch["input_ids"].tolist(), batch["label"].tolist()
    ([[5, 6, 7], [8, 9, 1]], [True, False])
    """

    kl: bool = True

    def __call__(self, batch: Any) -> dict[str, Any]:
        names: tuple[str, ...] = ("prompt_ids", "completion_ids")
        if not isinstance(batch, Batch):
            batch = example_dicts(batch)
        if self.kl and not isinstance(batch, Batch) and batch and KL_COMPLETION in batch[0]:
            names = (*names, KL_COMPLETION)
        arrays, rows, extra, vocab = self._inputs(batch, names, UNPAIRED_EXTRAS)
        if not self.kl:
            arrays = arrays[:2]
        if isinstance(batch, Batch):
            labels = list(batch.dataset.token_columns)[: len(arrays)]
            label = batch.dataset.columns["label"].take(pa.array(rows))
            extra["label"] = np.asarray(label.to_numpy(zero_copy_only=False), dtype=np.bool_)
        else:
            labels = list(names)
            if "label" not in batch[0]:
                raise MissingColumnError("column 'label' not found in the examples", column="label")
            extra["label"] = np.asarray([_label(e["label"], i) for i, e in enumerate(batch)])
        settings = collate_settings(self, vocab)
        unpaired = _prefcore.collate_unpaired(arrays, labels, rows, settings, self.kl)
        out = sequence_entries(unpaired.rows)
        if unpaired.kl is not None:
            out.update(sequence_entries(unpaired.kl, "KL_"))
        return self._finish(out, extra)


def _label(value: Any, row: int) -> bool:
    """A KTO label as a bool: ``True``/``False`` (Python or numpy) or 0/1. ``None`` or a
    string such as ``"False"`` is refused, where ``bool()`` would read them as a
    verdict."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    raise invalid_value("label", row, f"{value!r} is not a boolean label (True/False or 1/0)")


class TokenBudgetSampler:
    """Batches of examples of similar length under a token budget; yields index lists.

    A batch's size is what it costs once padded: ``len(batch) * max(lengths[batch])``
    (``padding_free=True``: ``sum(lengths[batch])``), where ``lengths[i]`` is example
    ``i``'s own padded size (:meth:`PreferenceDataset.lengths`). Each epoch the
    examples are shuffled (seeded by ``seed`` and :meth:`set_epoch`), sorted by length
    within windows of ``bucket`` examples (default: about 64 batches' worth), cut
    greedily into batches, and the batches are shuffled. The batch list does not depend
    on ``num_replicas``: rank ``r`` takes batches ``r, r + R, ...``, the list padded by
    repeating its first batches (or cut, with ``drop_last``) so every rank gets as many.
    ``num_replicas`` and ``rank`` default to ``torch.distributed``'s world size and rank
    when a process group is initialised (as ``DistributedSampler`` does; under
    ``torchrun`` each rank then reads its own share), else to one replica.
    An example larger than the budget forms a batch of its own.

    >>> sampler = TokenBudgetSampler([10, 12, 50, 11, 48], max_tokens=100, shuffle=False)
    >>> sampler.batches()
    [[0, 3, 1], [4, 2]]
    """

    def __init__(
        self,
        lengths: Any,
        max_tokens: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        bucket: int | None = None,
        padding_free: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        num_replicas, rank = distributed_rank(num_replicas, rank)
        self.lengths = numbers("lengths", lengths, np.int64)
        max_tokens = positive("max_tokens", max_tokens)
        seed = integer("seed", seed)
        bucket = optional_positive("bucket", bucket)
        if self.lengths.ndim != 1:
            raise InvalidArgumentError(
                f"lengths must be 1-D, got shape {self.lengths.shape}", argument="lengths"
            )
        if len(self.lengths) and self.lengths.min() < 0:
            raise invalid_value("lengths", int(np.argmin(self.lengths)), "negative length")
        if not 0 <= rank < num_replicas:
            raise InvalidArgumentError(
                f"rank must be in [0, {num_replicas}), got {rank}", argument="rank"
            )
        self.max_tokens = max_tokens
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.padding_free = padding_free
        self.num_replicas, self.rank = num_replicas, rank
        if bucket is None:
            typical = max(1.0, float(np.median(self.lengths)) if len(self.lengths) else 1.0)
            bucket = max(1, int(64 * max_tokens / typical))
        self.bucket = bucket
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _cut(self, window: np.ndarray) -> list[list[int]]:
        """Greedy batches over indices sorted by length."""
        batches: list[list[int]] = []
        current: list[int] = []
        cost = 0
        for i, n in zip(window.tolist(), self.lengths[window].tolist()):
            # Sorted ascending: the newcomer is the batch's longest example.
            grown = cost + n if self.padding_free else (len(current) + 1) * n
            if current and grown > self.max_tokens:
                batches.append(current)
                current, grown = [], n
            current.append(i)
            cost = grown
        if current:
            batches.append(current)
        return batches

    def batches(self) -> list[list[int]]:
        """Every rank's batches of this epoch, before sharding."""
        rng = np.random.default_rng([self.seed, self.epoch])
        n = len(self.lengths)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        out: list[list[int]] = []
        for start in range(0, n, self.bucket):
            window = order[start : start + self.bucket]
            window = window[np.argsort(self.lengths[window], kind="stable")]
            out.extend(self._cut(window))
        if self.shuffle:
            out = [out[i] for i in rng.permutation(len(out))]
        return out

    def _shard(self, batches: list[list[int]]) -> list[list[int]]:
        r = self.num_replicas
        if len(batches) % r:
            if self.drop_last:
                batches = batches[: len(batches) - len(batches) % r]
            else:
                missing = r - len(batches) % r
                batches = batches + [batches[i % len(batches)] for i in range(missing)]
        return batches[self.rank :: r]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._shard(self.batches()))

    def __len__(self) -> int:
        return len(self._shard(self.batches()))


def distributed_rank(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    """``(num_replicas, rank)`` with what is not given taken from an initialised
    ``torch.distributed`` process group, else one replica of rank 0. torch is only
    consulted when it is already imported (a process group needs it anyway).

    >>> distributed_rank(None, None)
    (1, 0)
    >>> distributed_rank(4, 3)
    (4, 3)
    """
    if num_replicas is None or rank is None:
        torch = sys.modules.get("torch")
        dist: Any = getattr(torch, "distributed", None) if torch is not None else None
        active = dist is not None and dist.is_available() and dist.is_initialized()
        if num_replicas is None:
            num_replicas = int(dist.get_world_size()) if active else 1
        if rank is None:
            rank = int(dist.get_rank()) if active else 0
    return num_replicas, rank


class FixedBatchSampler(TokenBudgetSampler):
    """``batch_size`` examples per batch in shuffled order, sharded like
    :class:`TokenBudgetSampler` (``drop_last`` also drops a short final batch).

    >>> sorted(len(b) for b in FixedBatchSampler(10, 4, seed=0).batches())
    [2, 4, 4]
    """

    def __init__(self, n: int, batch_size: int, **kwargs: Any) -> None:
        n = integer("n", n, minimum=0)
        batch_size = positive("batch_size", batch_size)
        super().__init__(np.zeros(n, dtype=np.int64), max_tokens=1, bucket=1, **kwargs)
        self.batch_size = batch_size

    def batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        n = len(self.lengths)
        order = (rng.permutation(n) if self.shuffle else np.arange(n)).tolist()
        out = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out.pop()
        return out


def dataloader(
    table: Any,
    *,
    pad_token_id: int,
    batch_size: int | None = None,
    max_tokens: int | None = None,
    unpaired: bool = False,
    prefix_shared: bool = False,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
    num_replicas: int | None = None,
    rank: int | None = None,
    num_workers: int = 0,
    pin_memory: bool = False,
    bucket: int | None = None,
    vocab_size: int | None = None,
    collator_options: Mapping[str, Any] | None = None,
    **loader_options: Any,
) -> DataLoader[Any]:
    """A ``torch.utils.data.DataLoader`` over tokenized pairs (or ``unpaired=True``
    KTO rows): the dataset, a sampler (``batch_size`` examples per batch, or
    ``max_tokens`` per padded batch with :class:`TokenBudgetSampler`) and the Rust
    collator (``collator_options``: ``max_length``, ``layout``, ``padding_free``, ...).
    ``prefix_shared=True``: prompt-once batches (:class:`PrefixSharedCollator`, its
    options in ``collator_options``), ``max_tokens`` then budgeting each pair's tree
    (prompt + chosen + rejected), which keeps rows near one length.
    Under ``torchrun`` each rank reads its own share (``num_replicas`` and ``rank``
    default to the initialised process group's). Works with ``num_workers > 0`` under
    fork and spawn; other keyword arguments go to the DataLoader (e.g.
    ``multiprocessing_context``, ``persistent_workers``).

    >>> rows = {"prompt_ids": [[1, 2], [3]], "chosen_ids": [[4, 0], [5, 6, 0]],
    ...         "rejected_ids": [[7, 0], [8, 0]]}
    >>> loader = dataloader(rows, pad_token_id=0, batch_size=2, shuffle=False)
    >>> batch = next(iter(loader))  # chosen rows, then rejected rows (TRL's layout)
    >>> batch["input_ids"].tolist()
    [[1, 2, 4, 0], [3, 5, 6, 0], [1, 2, 7, 0], [3, 8, 0, 0]]
    >>> batch["completion_mask"].tolist()
    [[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 0]]
    """
    torch_data = require("torch.utils.data", "prefcore.torch.dataloader")

    if (batch_size is None) == (max_tokens is None):
        raise InvalidArgumentError("give exactly one of batch_size and max_tokens")
    options = dict(collator_options or {})
    dataset: _TokenDataset
    collator: Any
    lengths = None
    if prefix_shared and unpaired:
        raise InvalidArgumentError(
            "prefix_shared batches are for pairs; unpaired rows share nothing"
        )
    if prefix_shared:
        dataset = PreferenceDataset(table, vocab_size=vocab_size)
        collator = PrefixSharedCollator(pad_token_id, **{"vocab_size": vocab_size, **options})
        lengths = dataset.tree_lengths()
    elif unpaired:
        dataset = UnpairedDataset(table, vocab_size=vocab_size)
        collator = UnpairedCollator(pad_token_id, **options)
    else:
        dataset = PreferenceDataset(table, vocab_size=vocab_size)
        collator = PreferenceCollator(pad_token_id, **options)
    shard: dict[str, Any] = {"shuffle": shuffle, "seed": seed, "drop_last": drop_last}
    shard |= {"num_replicas": num_replicas, "rank": rank}
    sampler: TokenBudgetSampler
    if max_tokens is not None:
        sampler = TokenBudgetSampler(
            dataset.lengths() if lengths is None else lengths,
            max_tokens,
            bucket=bucket,
            padding_free=bool(options.get("padding_free", False)),
            **shard,
        )
    else:
        assert batch_size is not None
        sampler = FixedBatchSampler(len(dataset), batch_size, **shard)
    loader: DataLoader[Any] = torch_data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collator,
        num_workers=num_workers,
        pin_memory=pin_memory,
        **loader_options,
    )
    return loader


check_arguments(__name__)  # each public function checks its arguments' annotations
