"""Between pairwise and unpaired (KTO/BCO) rows: :func:`unpair` splits pairs into
labelled rows, :func:`pair` joins them back.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import dedup
from prefcore._arrow import first_true, in_callers_type, require_columns, require_no_nulls
from prefcore._check import integer
from prefcore._tables import PairResult, as_table, codes
from prefcore._typed import check_arguments
from prefcore.errors import ColumnTypeError, invalid_value

__all__ = [
    "PairingStats",
    "UnpairStats",
    "pair",
    "unpair",
]


class UnpairStats(TypedDict):
    """``stats`` of :func:`unpair`: rows out and the class balance."""

    rows: int
    desirable: int
    undesirable: int
    desirable_share: float


class _PairingCounts(UnpairStats):
    pairs: int
    unmatched_desirable: int
    unmatched_undesirable: int


class PairingStats(_PairingCounts, total=False):
    """``stats`` of :func:`pair`: the input's balance, the pairs made and the rows left
    unmatched; without a ``pair_id``, also the prompts that had only one label."""

    prompts_with_one_label: int


def unpair(
    pairs: Any, *, prompt: str = "prompt", chosen: str = "chosen", rejected: str = "rejected"
) -> PairResult[UnpairStats]:
    """Unpaired (KTO/BCO) rows from pairs: each pair gives its chosen completion with
    ``label=True`` and its rejected one with ``label=False``, sharing ``pair_id`` (the
    pair's row). ``stats`` gives the class balance.

    >>> r = unpair({"prompt": ["p"], "chosen": ["good"], "rejected": ["bad"]})
    >>> r.table.to_pydict()
    {'prompt': ['p', 'p'], 'completion': ['good', 'bad'], 'label': [True, False], 'pair_id': [0, 0]}
    """
    t = as_table(pairs)
    require_columns(t, prompt, chosen, rejected)
    require_no_nulls(t, prompt, chosen, rejected)
    n = t.num_rows
    first, second = t.column(chosen).combine_chunks(), t.column(rejected).combine_chunks()
    if second.type != first.type:  # e.g. string and large_string: one column of both
        try:
            second = second.cast(first.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
            raise ColumnTypeError(
                f"column '{rejected}' has type {second.type}; expected the type of "
                f"'{chosen}' ({first.type}), as both become one completion column",
                column=rejected,
            ) from err
    both = pa.concat_arrays([first, second]) if n else pa.array([], pa.string())
    interleave = np.empty(2 * n, dtype=np.int64)
    interleave[0::2] = np.arange(n)
    interleave[1::2] = np.arange(n) + n
    out = pa.table(
        {
            "prompt": t.column(prompt).take(pa.array(np.repeat(np.arange(n), 2))),
            "completion": both.take(pa.array(interleave)) if n else both,
            "label": pa.array(np.tile([True, False], n)),
            "pair_id": pa.array(np.repeat(np.arange(n, dtype=np.int64), 2)),
        }
    )
    return PairResult(
        in_callers_type(
            pairs, out, "prefcore.unpaired.unpair", prompt=prompt, chosen=chosen, rejected=rejected
        ),
        UnpairStats(rows=2 * n, desirable=n, undesirable=n, desirable_share=0.5 if n else math.nan),
    )


def _pairing(balance: UnpairStats, pairs: int, good: int, bad: int) -> PairingStats:
    return PairingStats(
        rows=balance["rows"],
        desirable=balance["desirable"],
        undesirable=balance["undesirable"],
        desirable_share=balance["desirable_share"],
        pairs=pairs,
        unmatched_desirable=good,
        unmatched_undesirable=bad,
    )


def pair(
    unpaired: Any,
    *,
    prompt: str = "prompt",
    completion: str = "completion",
    label: str = "label",
    pair_id: str | None = "pair_id",
    seed: int = 0,
) -> PairResult[PairingStats]:
    """Pairs from unpaired rows: the reverse of :func:`unpair`.

    With a ``pair_id`` column each id must have exactly one desirable and one
    undesirable row, and the pairs come back in order of first appearance. Without
    one (``pair_id=None`` or no such column), each prompt's desirable and undesirable
    completions are shuffled (seeded) and matched one to one; what cannot be matched
    is counted in ``stats``, with the class balance of the input.

    >>> u = {"prompt": ["p", "p", "q"], "completion": ["a", "b", "c"], "label": [True, False, True]}
    >>> r = pair(u, pair_id=None)
    >>> r.table.to_pylist(), r.stats["unmatched_desirable"]
    ([{'prompt': 'p', 'chosen': 'a', 'rejected': 'b'}], 1)
    """
    t = as_table(unpaired)
    require_columns(t, prompt, completion, label)
    labels = t.column(label)
    if not pa.types.is_boolean(labels.type):
        raise ColumnTypeError(
            f"column '{label}' has type {labels.type}; expected bool", column=label
        )
    if labels.null_count:
        raise invalid_value(label, first_true(pc.is_null(labels)), "null label")
    is_good = labels.to_numpy(zero_copy_only=False).astype(bool)
    n_good = int(is_good.sum())
    balance = UnpairStats(
        rows=t.num_rows,
        desirable=n_good,
        undesirable=t.num_rows - n_good,
        desirable_share=n_good / t.num_rows if t.num_rows else math.nan,
    )
    if pair_id is not None and pair_id in t.column_names:
        ids = codes(t.column(pair_id), pair_id)[1].to_numpy(zero_copy_only=False).astype(np.int64)
        counts = np.bincount(ids, minlength=ids.max() + 1 if len(ids) else 0)
        goods = np.bincount(ids, weights=is_good, minlength=len(counts))
        bad = np.flatnonzero((counts != 2) | (goods != 1))
        if len(bad):
            row = int(np.flatnonzero(ids == bad[0])[0])
            raise invalid_value(
                pair_id,
                row,
                f"pair {t.column(pair_id)[row].as_py()!r} has {int(counts[bad[0]])} rows with "
                f"{int(goods[bad[0]])} desirable; a pair needs one desirable and one "
                "undesirable row",
            )
        order = np.lexsort((~is_good, ids))  # per id: the desirable row first
        good_rows, bad_rows = order[0::2], order[1::2]
        stats = _pairing(balance, len(good_rows), 0, 0)
    else:
        groups = dedup.exact(t, [prompt], normalize=None).cluster_id.to_numpy()
        key = np.random.default_rng(integer("seed", seed, minimum=0, maximum=2**64 - 1)).random(
            t.num_rows
        )
        order = np.lexsort((key, ~is_good, groups))
        g, good = groups[order], is_good[order]
        # Rank of each row within its (prompt, label) block.
        block = (
            np.concatenate([[True], (g[1:] != g[:-1]) | (good[1:] != good[:-1])])
            if len(g)
            else np.zeros(0, bool)
        )
        starts = np.flatnonzero(block)
        rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.append(starts, len(g))))
        n_groups = int(groups.max()) + 1 if len(groups) else 0
        per_good = np.bincount(groups[is_good], minlength=n_groups)
        per_bad = np.bincount(groups[~is_good], minlength=n_groups)
        matched = np.minimum(per_good, per_bad)
        use = rank < matched[g]
        good_rows, bad_rows = order[use & good], order[use & ~good]
        # Both are ordered by (prompt, rank): they line up.
        unmatched = int((per_good - matched).sum()), int((per_bad - matched).sum())
        stats = _pairing(balance, len(good_rows), *unmatched)
        stats["prompts_with_one_label"] = int(((per_good == 0) ^ (per_bad == 0)).sum())
    out = pa.table(
        {
            "prompt": t.column(prompt).take(pa.array(good_rows, pa.int64())),
            "chosen": t.column(completion).take(pa.array(good_rows, pa.int64())),
            "rejected": t.column(completion).take(pa.array(bad_rows, pa.int64())),
        }
    )
    rows = in_callers_type(
        unpaired, out, "prefcore.unpaired.pair",
        prompt=prompt, completion=completion, label=label, pair_id=pair_id, seed=seed,
    )  # fmt: skip
    return PairResult(rows, stats)


check_arguments(__name__)  # each public function checks its arguments' annotations
