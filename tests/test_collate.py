"""prefcore.torch: the collators against TRL's (the reference layout), the padding-free
and separate layouts against the padded one, the sampler's contract and DataLoader
workers."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from trl.trainer.dpo_trainer import DataCollatorForPreference
from trl.trainer.kto_trainer import DataCollatorForUnpairedPreference

from prefcore.torch import (
    FixedBatchSampler,
    PreferenceCollator,
    PreferenceDataset,
    TokenBudgetSampler,
    UnpairedCollator,
    UnpairedDataset,
    dataloader,
)

ids = st.lists(st.integers(1, 500), min_size=0, max_size=40)
completion = st.lists(st.integers(1, 500), min_size=1, max_size=40)
pair = st.fixed_dictionaries(
    {"prompt_ids": ids, "chosen_ids": completion, "rejected_ids": completion}
)
options = st.fixed_dictionaries(
    {
        "max_length": st.one_of(st.none(), st.integers(1, 90)),
        "truncation_mode": st.sampled_from(["keep_start", "keep_end"]),
        "pad_to_multiple_of": st.one_of(st.none(), st.integers(1, 16)),
    }
)


def assert_same(reference: dict, ours: dict) -> None:
    for key, want in reference.items():
        got = ours[key]
        assert got.dtype == want.dtype, key
        assert torch.equal(got, want), key


@settings(max_examples=150, deadline=None)
@given(examples=st.lists(pair, min_size=1, max_size=9), opts=options)
def test_pairs_equal_trl_data_collator_for_preference(examples, opts):
    trl = DataCollatorForPreference(pad_token_id=0, **opts)(examples)
    ours = PreferenceCollator(0, **opts)(examples)
    assert_same(trl, ours)
    # Through the dataset (the DataLoader's path), in a shuffled order.
    data = PreferenceDataset(pa.Table.from_pylist(examples))
    order = list(reversed(range(len(examples))))
    assert_same(
        DataCollatorForPreference(0, **opts)([examples[i] for i in order]),
        PreferenceCollator(0, **opts)(data.__getitems__(order)),
    )
    # TRL's keys exactly; labels=True adds the input ids where the completion mask is set.
    assert set(ours) == set(trl)
    labelled = PreferenceCollator(0, labels=True, **opts)(examples)
    labels = torch.where(ours["completion_mask"].bool(), ours["input_ids"], -100)
    assert torch.equal(labelled["labels"], labels)


@settings(max_examples=100, deadline=None)
@given(
    examples=st.lists(
        st.fixed_dictionaries(
            {"prompt_ids": ids, "completion_ids": completion, "label": st.booleans()}
        ),
        min_size=1,
        max_size=9,
    ),
    max_length=st.one_of(st.none(), st.integers(1, 90)),
    multiple=st.one_of(st.none(), st.integers(1, 16)),
)
def test_unpaired_equals_trl_with_its_kl_rotation(examples, max_length, multiple):
    comps = [e["completion_ids"] for e in examples]
    rotated = [comps[-1], *comps[:-1]]  # how TRL's KTO trainer builds KL_completion_ids
    trl_examples = [{**e, "KL_completion_ids": k} for e, k in zip(examples, rotated)]
    trl = DataCollatorForUnpairedPreference(0, max_length=max_length, pad_to_multiple_of=multiple)(
        trl_examples
    )
    ours = UnpairedCollator(0, max_length=max_length, pad_to_multiple_of=multiple)(examples)
    assert_same(trl, ours)
    data = UnpairedDataset(pa.Table.from_pylist(examples))
    via = UnpairedCollator(0, max_length=max_length, pad_to_multiple_of=multiple)(
        data.__getitems__(range(len(examples)))
    )
    assert_same(trl, via)


@settings(max_examples=100, deadline=None)
@given(
    examples=st.lists(
        st.fixed_dictionaries(
            {
                "prompt_ids": ids,
                "completion_ids": completion,
                "KL_completion_ids": completion,
                "label": st.booleans(),
            }
        ),
        min_size=1,
        max_size=9,
    ),
    max_length=st.one_of(st.none(), st.integers(1, 90)),
    order=st.randoms(use_true_random=False),
)
def test_unpaired_uses_the_given_kl_completions(examples, max_length, order):
    # Any KL completions, in any batch order (a shuffled sampler): TRL pairs each row
    # with its own KL_completion_ids, whatever else is in the batch.
    rows = list(range(len(examples)))
    order.shuffle(rows)
    batch = [examples[i] for i in rows]
    trl = DataCollatorForUnpairedPreference(0, max_length=max_length)(batch)
    ours = UnpairedCollator(0, max_length=max_length)(batch)
    assert_same(trl, ours)
    assert set(ours) == set(trl)
    data = UnpairedDataset(pa.Table.from_pylist(examples))
    assert_same(trl, UnpairedCollator(0, max_length=max_length)(data.__getitems__(rows)))
    plain = UnpairedCollator(0, max_length=max_length, kl=False)(data.__getitems__(rows))
    assert not any(k.startswith("KL_") for k in plain)


def unpad(padded: dict, prefix: str = "") -> list[list[int]]:
    mask = padded[f"{prefix}attention_mask"].bool()
    return [row[m].tolist() for row, m in zip(padded[f"{prefix}input_ids"], mask)]


@settings(max_examples=100, deadline=None)
@given(
    examples=st.lists(pair, min_size=1, max_size=9),
    max_length=st.one_of(st.none(), st.integers(1, 90)),
)
def test_padding_free_unpacks_to_the_padded_tokens(examples, max_length):
    padded = PreferenceCollator(0, max_length=max_length, labels=True)(examples)
    packed = PreferenceCollator(0, max_length=max_length, padding_free=True, labels=True)(examples)
    cu = packed["cu_seq_lens"].tolist()
    assert packed["cu_seq_lens"].dtype == torch.int32 and len(cu) == 2 * len(examples) + 1
    flat = packed["input_ids"][0]
    sequences = [flat[a:b].tolist() for a, b in itertools.pairwise(cu)]
    assert sequences == unpad(padded)
    assert packed["max_seq_len"] == max(map(len, sequences))
    for a, b in itertools.pairwise(cu):
        assert packed["position_ids"][0, a:b].tolist() == list(range(b - a))
    mask = padded["attention_mask"].bool()
    assert torch.equal(packed["completion_mask"][0], padded["completion_mask"][mask])
    assert torch.equal(packed["labels"][0], padded["labels"][mask])


@settings(max_examples=60, deadline=None)
@given(examples=st.lists(pair, min_size=1, max_size=9), opts=options)
def test_separate_layout_is_the_concat_halves_each_at_its_own_width(examples, opts):
    concat = PreferenceCollator(0, **opts)(examples)
    sep = PreferenceCollator(0, layout="separate", **opts)(examples)
    n = len(examples)
    assert unpad(sep, "chosen_") == unpad(concat)[:n]
    assert unpad(sep, "rejected_") == unpad(concat)[n:]
    longest = int(sep["chosen_attention_mask"].sum(1).max())
    m = opts["pad_to_multiple_of"] or 1
    assert sep["chosen_input_ids"].shape[1] == -(-longest // m) * m


def test_reference_logps_travel_with_the_batch():
    rows = [
        {
            "prompt_ids": [1],
            "chosen_ids": [2],
            "rejected_ids": [3],
            "ref_chosen_logps": -1.5,
            "ref_rejected_logps": -2.5,
        }
    ] * 3
    trl = DataCollatorForPreference(0)(rows)
    data = PreferenceDataset(pa.Table.from_pylist(rows))
    assert_same(trl, PreferenceCollator(0)(data.__getitems__([0, 1, 2])))


def test_numpy_output_needs_no_torch_objects():
    out = PreferenceCollator(0, return_tensors="np")(
        [{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3, 4]}]
    )
    assert isinstance(out["input_ids"], np.ndarray) and out["input_ids"].tolist() == [
        [1, 2, 0],
        [1, 3, 4],
    ]


def test_bad_input_names_column_and_row():
    ok = {"prompt_ids": [[1], [2]], "chosen_ids": [[3], [4]], "rejected_ids": [[5], [6]]}
    with pytest.raises(TypeError, match="column 'chosen_ids'"):
        PreferenceDataset({**ok, "chosen_ids": [[1.5], [2.0]]})
    with pytest.raises(TypeError, match="column 'chosen_ids'"):
        PreferenceDataset({**ok, "chosen_ids": [[[1]], [[2]]]})  # nested, not a token list
    with pytest.raises(TypeError, match="column 'prompt_ids'"):
        PreferenceCollator(0)([{"prompt_ids": [[1, 2]], "chosen_ids": [3], "rejected_ids": [4]}])
    with pytest.raises(TypeError, match="column 'chosen_ids'"):
        PreferenceCollator(0)([{"prompt_ids": [1], "chosen_ids": [2.5], "rejected_ids": [4]}])
    with pytest.raises(ValueError, match=r"column 'rejected_ids', row 1: missing"):
        PreferenceCollator(0)(
            [
                {"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]},
                {"prompt_ids": [1], "chosen_ids": [2]},
            ]
        )
    data = PreferenceDataset(ok, vocab_size=6)
    with pytest.raises(
        ValueError, match=r"column 'rejected_ids', row 1: token id 6 .* vocabulary of 6"
    ):
        PreferenceCollator(0)(data.__getitems__([0, 1]))
    with pytest.raises(ValueError, match=r"column 'chosen_ids', row 1: empty completion"):
        PreferenceCollator(0)(
            PreferenceDataset({**ok, "chosen_ids": [[3], []]}).__getitems__([0, 1])
        )
    with pytest.raises(ValueError, match=r"column 'prompt_ids', row 0: token id -1 .* negative"):
        PreferenceCollator(0)([{"prompt_ids": [-1], "chosen_ids": [3], "rejected_ids": [4]}])
    with pytest.raises(ValueError, match=r"column 'prompt_ids', row 1: token id .* does not fit"):
        PreferenceDataset({**ok, "prompt_ids": pa.array([[1], [2**40]], pa.list_(pa.int64()))})
    with pytest.raises(ValueError, match=r"column 'prompt_ids', row 1: null"):
        PreferenceDataset({**ok, "prompt_ids": [[1], None]})
    with pytest.raises(ValueError, match="empty batch"):
        PreferenceCollator(0)([])
    with pytest.raises(ValueError, match="padding-free"):
        PreferenceCollator(0, padding_free=True, pad_to_multiple_of=8)(data.__getitems__([0]))
    with pytest.raises(ValueError, match="layout"):
        PreferenceCollator(0, layout="stacked")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        PreferenceCollator(0)(data.__getitems__([5]))
    with pytest.raises(TypeError, match="column 'label'"):
        UnpairedDataset({"prompt_ids": [[1]], "completion_ids": [[2]], "label": [1]})


def budget_cost(lengths: np.ndarray, batch: list[int]) -> int:
    return len(batch) * int(lengths[batch].max())


def test_token_budget_sampler_contract():
    rng = np.random.default_rng(1)
    lengths = rng.integers(10, 500, size=3000)
    sampler = TokenBudgetSampler(lengths, max_tokens=4096, seed=3)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(3000))  # each example once
    assert all(budget_cost(lengths, b) <= 4096 for b in batches)

    # Similar lengths: the padding the budget sampler leaves is far below random batching.
    def waste(bs):
        padded = sum(budget_cost(lengths, b) for b in bs)
        return 1 - sum(int(lengths[b].sum()) for b in bs) / padded

    assert waste(batches) < 0.05
    assert waste(FixedBatchSampler(3000, 16, seed=3).batches()) > 0.3
    # Same seed, same batches; another epoch, another order.
    assert TokenBudgetSampler(lengths, 4096, seed=3).batches() == batches
    sampler.set_epoch(1)
    assert sampler.batches() != batches
    # Sharding: the union over ranks is the single-rank list (padded to a multiple).
    for replicas in (2, 3):
        shards = [
            list(TokenBudgetSampler(lengths, 4096, seed=3, num_replicas=replicas, rank=r))
            for r in range(replicas)
        ]
        assert len({len(s) for s in shards}) == 1
        interleaved = [b for group in zip(*shards) for b in group]
        assert interleaved[: len(batches)] == batches
    oversized = TokenBudgetSampler([10, 9000, 20], max_tokens=100, shuffle=False).batches()
    assert sorted(map(sorted, oversized)) == [[0, 2], [1]]
    with pytest.raises(ValueError, match="max_tokens"):
        TokenBudgetSampler(lengths, 0)
    with pytest.raises(ValueError, match="rank"):
        TokenBudgetSampler(lengths, 10, num_replicas=2, rank=2)


def sample_table(n: int = 300) -> pa.Table:
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(n):
        rows.append(
            {
                "prompt_ids": rng.integers(3, 900, rng.integers(1, 30)).tolist(),
                "chosen_ids": rng.integers(3, 900, rng.integers(1, 40)).tolist(),
                "rejected_ids": rng.integers(3, 900, rng.integers(1, 40)).tolist(),
            }
        )
    return pa.Table.from_pylist(rows)


def collect(loader) -> list[dict]:
    return [
        {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in b.items()} for b in loader
    ]


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_yield_the_same_batches(context):
    table = sample_table()
    kw = {"pad_token_id": 0, "max_tokens": 1024, "seed": 7, "collator_options": {"max_length": 48}}
    single = collect(dataloader(table, **kw))
    multi = collect(dataloader(table, num_workers=2, multiprocessing_context=context, **kw))
    assert len(single) == len(multi) > 5
    for a, b in zip(single, multi):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    fixed = collect(dataloader(table, pad_token_id=0, batch_size=32, shuffle=False))
    assert [len(b["input_ids"]) for b in fixed] == [64] * 9 + [24]
    first = PreferenceCollator(0)(PreferenceDataset(table).__getitems__(range(32)))
    assert_same(first, fixed[0])
    with pytest.raises(ValueError, match="exactly one"):
        dataloader(table, pad_token_id=0)


def _sampler_in_a_process_group(rank: int, world: int, store: str, out) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    lengths = np.random.default_rng(1).integers(10, 500, size=400)
    sampler = TokenBudgetSampler(lengths, max_tokens=2048, seed=3)  # no rank given
    loader = dataloader(
        {"prompt_ids": [[1]] * 10, "chosen_ids": [[2]] * 10, "rejected_ids": [[3]] * 10},
        pad_token_id=0,
        batch_size=2,
    )
    out.put((rank, sampler.num_replicas, sampler.rank, list(sampler), len(loader)))
    dist.destroy_process_group()


def test_samplers_default_to_the_process_groups_rank(tmp_path) -> None:
    # Under torchrun each rank must read its own share without being told its rank.
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    store = str(tmp_path / "store")
    procs = [
        ctx.Process(target=_sampler_in_a_process_group, args=(r, 2, store, out)) for r in range(2)
    ]
    for p in procs:
        p.start()
    got = sorted(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    lengths = np.random.default_rng(1).integers(10, 500, size=400)
    for rank, replicas, seen_rank, batches, loader_batches in got:
        assert (replicas, seen_rank) == (2, rank)
        explicit = TokenBudgetSampler(lengths, max_tokens=2048, seed=3, num_replicas=2, rank=rank)
        assert batches == list(explicit)
        assert loader_batches == 3  # 5 batches of 2 over 2 ranks, padded to 3 each
    assert TokenBudgetSampler(lengths, max_tokens=2048).num_replicas == 1


# TRL's own collator test cases (its tests/test_dpo_trainer.py and test_kto_trainer.py,
# TRL 1.16): inputs and expected outputs, held against prefcore's collators.
_TRL_PAIRS = [
    {"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5], "rejected_ids": [6]},
    {"prompt_ids": [7, 8], "chosen_ids": [9, 10], "rejected_ids": [11, 12, 13]},
]
_TRL_UNPAIRED = [
    {"prompt_ids": [1, 2, 3], "completion_ids": [4, 5], "KL_completion_ids": [6], "label": True},
    {
        "prompt_ids": [7, 8],
        "completion_ids": [9, 10],
        "KL_completion_ids": [11, 12, 13],
        "label": False,
    },
]
_TRL_CASES = [
    (
        PreferenceCollator(0),
        _TRL_PAIRS,
        {
            "input_ids": [[1, 2, 3, 4, 5], [7, 8, 9, 10, 0], [1, 2, 3, 6, 0], [7, 8, 11, 12, 13]],
            "attention_mask": [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 1, 0], [1] * 5],
            "completion_mask": [[0, 0, 0, 1, 1], [0, 0, 1, 1, 0], [0, 0, 0, 1, 0], [0, 0, 1, 1, 1]],
        },
    ),
    (
        PreferenceCollator(0),
        [
            {
                "prompt_ids": [1, 2],
                "chosen_ids": [3],
                "rejected_ids": [4],
                "ref_chosen_logps": 0.1,
                "ref_rejected_logps": 0.2,
            },
            {
                "prompt_ids": [5],
                "chosen_ids": [6, 7],
                "rejected_ids": [8, 9],
                "ref_chosen_logps": 0.3,
                "ref_rejected_logps": 0.4,
            },
        ],
        {
            "input_ids": [[1, 2, 3], [5, 6, 7], [1, 2, 4], [5, 8, 9]],
            "attention_mask": [[1, 1, 1]] * 4,
            "completion_mask": [[0, 0, 1], [0, 1, 1], [0, 0, 1], [0, 1, 1]],
            "ref_chosen_logps": [0.1, 0.3],
            "ref_rejected_logps": [0.2, 0.4],
        },
    ),
    (
        PreferenceCollator(0, pad_to_multiple_of=5),
        [
            {"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]},
            {"prompt_ids": [4, 5], "chosen_ids": [6, 7], "rejected_ids": [8, 9]},
        ],
        {
            "input_ids": [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0], [1, 3, 0, 0, 0], [4, 5, 8, 9, 0]],
            "attention_mask": [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]] * 2,
            "completion_mask": [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0]] * 2,
        },
    ),
    (
        UnpairedCollator(0),
        _TRL_UNPAIRED,
        {
            "input_ids": [[1, 2, 3, 4, 5], [7, 8, 9, 10, 0]],
            "attention_mask": [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]],
            "completion_mask": [[0, 0, 0, 1, 1], [0, 0, 1, 1, 0]],
            "KL_input_ids": [[1, 2, 3, 6, 0], [7, 8, 11, 12, 13]],
            "KL_attention_mask": [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]],
            "KL_completion_mask": [[0, 0, 0, 1, 0], [0, 0, 1, 1, 1]],
            "label": [True, False],
        },
    ),
    (
        UnpairedCollator(0, pad_to_multiple_of=5),
        [
            {"prompt_ids": [1], "completion_ids": [2], "KL_completion_ids": [3], "label": True},
            {
                "prompt_ids": [4, 5],
                "completion_ids": [6, 7],
                "KL_completion_ids": [8, 9],
                "label": False,
            },
        ],
        {
            "input_ids": [[1, 2, 0, 0, 0], [4, 5, 6, 7, 0]],
            "attention_mask": [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]],
            "completion_mask": [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0]],
            "KL_input_ids": [[1, 3, 0, 0, 0], [4, 5, 8, 9, 0]],
            "KL_attention_mask": [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]],
            "KL_completion_mask": [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0]],
            "label": [True, False],
        },
    ),
]


@pytest.mark.parametrize("collator, examples, expected", _TRL_CASES)
def test_trls_own_collator_cases(collator, examples, expected) -> None:
    got = collator(examples)
    assert set(got) == set(expected)
    for key, want in expected.items():
        if key.startswith("ref_"):
            assert got[key].tolist() == pytest.approx(want), key
        else:
            assert got[key].tolist() == want, key
            assert got[key].dtype == (torch.bool if key == "label" else torch.int64), key
