"""Prompt-once batches against the unshared padded layout (TRL's): the same per-sequence
log-probs, DPO loss and gradients from tiny models built here, fp32 on CPU."""

from __future__ import annotations

import random

import pytest
import torch
import transformers

from prefcore.torch import PreferenceCollator, PrefixSharedCollator, sequence_logps

VOCAB = 97


def tiny(kind: str, attention: str) -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    common = {
        "vocab_size": VOCAB,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
    }
    config = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[kind](**common)
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation=attention)
    return model.eval()


def random_examples(n: int, group: int, seed: int) -> list[dict]:
    rng = random.Random(seed)

    def ids(lo: int, hi: int) -> list[int]:
        return [rng.randrange(1, VOCAB) for _ in range(rng.randint(lo, hi))]

    if group == 2:
        return [
            {"prompt_ids": ids(1, 40), "chosen_ids": ids(1, 20), "rejected_ids": ids(1, 20)}
            for _ in range(n)
        ]
    return [
        {"prompt_ids": ids(1, 40), "completions": [ids(1, 20) for _ in range(group)]}
        for _ in range(n)
    ]


def unshared_logps(model, sequences: list[tuple[list[int], list[int]]]) -> torch.Tensor:
    """Summed log-probs of each completion after its prompt, from right-padded rows
    (TRL's layout, built by prefcore's PreferenceCollator)."""
    rows = [{"prompt_ids": p, "chosen_ids": c, "rejected_ids": c} for p, c in sequences]
    batch = PreferenceCollator(0, layout="separate")(rows)
    ids, mask = batch["chosen_input_ids"], batch["chosen_attention_mask"]
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    token = torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None]).squeeze(2)
    return (token * batch["chosen_completion_mask"][:, 1:]).sum(1)


def pair_sequences(examples):
    return [(e["prompt_ids"], e["chosen_ids"]) for e in examples] + [
        (e["prompt_ids"], e["rejected_ids"]) for e in examples
    ]


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_pair_logps_equal_the_unshared_layout(kind, attention) -> None:
    model = tiny(kind, attention)
    examples = random_examples(9, 2, seed=1)
    batch = PrefixSharedCollator(0, max_tokens=128, attention=attention)(examples)
    assert batch["input_ids"].shape[0] < len(examples)  # trees share rows
    with torch.no_grad():
        ours = sequence_logps(model, batch)
        want = unshared_logps(model, pair_sequences(examples))
    n = len(examples)
    torch.testing.assert_close(ours["chosen_logps"], want[:n], atol=1e-4, rtol=0)
    torch.testing.assert_close(ours["rejected_logps"], want[n:], atol=1e-4, rtol=0)
    assert ours["chosen_tokens"].tolist() == [len(e["chosen_ids"]) for e in examples]
    torch.testing.assert_close(
        ours["chosen_mean_logps"], ours["chosen_logps"] / ours["chosen_tokens"]
    )


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_groups_of_four_equal_the_unshared_layout(kind) -> None:
    model = tiny(kind, "sdpa")
    examples = random_examples(6, 4, seed=2)
    batch = PrefixSharedCollator(0, max_tokens=160)(examples)
    with torch.no_grad():
        ours = sequence_logps(model, batch)["logps"]
        want = unshared_logps(
            model, [(e["prompt_ids"], c) for e in examples for c in e["completions"]]
        )
    assert ours.shape == (6, 4)
    torch.testing.assert_close(ours.reshape(-1), want, atol=1e-4, rtol=0)


def test_flex_attention_block_mask_gives_the_same_logps() -> None:
    model = tiny("llama", "flex_attention")
    examples = random_examples(5, 2, seed=3)
    batch = PrefixSharedCollator(0, max_tokens=128, attention="flex")(examples)
    with torch.no_grad():
        ours = sequence_logps(model, batch)
        want = unshared_logps(tiny("llama", "sdpa"), pair_sequences(examples))
    torch.testing.assert_close(
        torch.cat([ours["chosen_logps"], ours["rejected_logps"]]), want, atol=1e-4, rtol=0
    )


def dpo_loss(chosen, rejected, ref_chosen, ref_rejected, beta=0.1):
    margin = beta * ((chosen - ref_chosen) - (rejected - ref_rejected))
    return -torch.nn.functional.logsigmoid(margin).mean()


def test_dpo_loss_and_gradients_equal_the_unshared_ones() -> None:
    examples = random_examples(7, 2, seed=4)
    ref = torch.linspace(-40.0, -10.0, 14)
    n = len(examples)

    shared = tiny("llama", "sdpa")
    out = sequence_logps(shared, PrefixSharedCollator(0, max_tokens=100)(examples))
    loss_shared = dpo_loss(out["chosen_logps"], out["rejected_logps"], ref[:n], ref[n:])
    loss_shared.backward()

    unshared = tiny("llama", "sdpa")
    want = unshared_logps(unshared, pair_sequences(examples))
    loss_unshared = dpo_loss(want[:n], want[n:], ref[:n], ref[n:])
    loss_unshared.backward()

    torch.testing.assert_close(loss_shared, loss_unshared, atol=1e-6, rtol=1e-5)
    for (name, a), (_, b) in zip(shared.named_parameters(), unshared.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-4, msg=name)


def test_rows_hold_each_prompt_once_and_pad_only_the_tail() -> None:
    examples = random_examples(20, 2, seed=5)
    batch = PrefixSharedCollator(0, max_tokens=256, attention="none")(examples)
    real = int((batch["tree_ids"] >= 0).sum())
    assert real == sum(
        len(e["prompt_ids"]) + len(e["chosen_ids"]) + len(e["rejected_ids"]) for e in examples
    )
    padded = PreferenceCollator(0)(examples)["input_ids"].numel()
    assert real < padded
    # Every token of a tree sits in one row, and branch positions restart at the prompt's end.
    for e_index, e in enumerate(examples):
        rows = (batch["tree_ids"] == e_index).any(1).nonzero().flatten().tolist()
        assert len(rows) == 1
        row = rows[0]
        where = batch["tree_ids"][row] == e_index
        ids = batch["input_ids"][row][where].tolist()
        assert ids == e["prompt_ids"] + e["chosen_ids"] + e["rejected_ids"]
        pos = batch["position_ids"][row][where].tolist()
        p = len(e["prompt_ids"])
        assert pos[p + len(e["chosen_ids"]) :] == list(range(p, p + len(e["rejected_ids"])))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="every example needs as many"):
        PrefixSharedCollator(0)(
            [
                {"prompt_ids": [1], "completions": [[2], [3]]},
                {"prompt_ids": [1], "completions": [[2]]},
            ]
        )
    with pytest.raises(ValueError, match=r"column 'rejected_ids', row 0: empty completion"):
        PrefixSharedCollator(0)([{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": []}])
    with pytest.raises(ValueError, match="chosen_ids"):
        PrefixSharedCollator(0)([{"prompt_ids": [1], "answer": [2]}])
    with pytest.raises(ValueError, match="attention must be"):
        PrefixSharedCollator(0, attention="flash")  # type: ignore[arg-type]


def test_reference_logps_are_stored_fingerprinted_and_travel_with_batches(tmp_path) -> None:
    import pyarrow as pa

    from prefcore.torch import (
        PreferenceDataset,
        attach_ref_logps,
        compute_ref_logps,
        ref_logps_fingerprint,
        save_ref_logps,
    )

    model = tiny("llama", "sdpa")
    examples = random_examples(11, 2, seed=6)
    table = pa.Table.from_pylist(examples)
    settings = {"max_length": 512}
    store = compute_ref_logps(
        model, table, model_id="tiny-llama", pad_token_id=0, settings=settings, batch_size=4
    )
    with torch.no_grad():
        want = unshared_logps(model, pair_sequences(examples))
    got = torch.tensor(
        store.column("ref_chosen_logps").to_pylist()
        + store.column("ref_rejected_logps").to_pylist(),
        dtype=torch.float64,
    )
    torch.testing.assert_close(got, want.double(), atol=1e-4, rtol=0)

    path = tmp_path / "ref.parquet"
    save_ref_logps(store, path)
    # Another chunking of the same rows has the same fingerprint.
    rechunked = pa.concat_tables([table.slice(0, 5), table.slice(5)])
    attached = attach_ref_logps(rechunked, path, model_id="tiny-llama", settings=settings)
    batch = PreferenceCollator(0)(PreferenceDataset(attached).__getitems__([3, 1]))
    assert batch["ref_chosen_logps"].tolist() == pytest.approx(
        [got[3].item(), got[1].item()], abs=1e-5
    )
    for wrong in (
        {"model_id": "another-model", "settings": settings},
        {"model_id": "tiny-llama", "settings": {"max_length": 256}},
    ):
        with pytest.raises(ValueError, match="recompute them"):
            attach_ref_logps(table, path, **wrong)
    changed = table.set_column(
        1, "chosen_ids", pa.array([[5]] + [e["chosen_ids"] for e in examples[1:]])
    )
    with pytest.raises(ValueError, match="recompute them"):
        attach_ref_logps(changed, path, model_id="tiny-llama", settings=settings)
    assert ref_logps_fingerprint(rechunked, model_id="m") == ref_logps_fingerprint(
        table, model_id="m"
    )
    groups = pa.Table.from_pylist(random_examples(3, 4, seed=7))
    group_store = compute_ref_logps(model, groups, model_id="tiny-llama", pad_token_id=0)
    assert [len(v) for v in group_store.column("ref_logps").to_pylist()] == [4, 4, 4]


def test_the_dataloader_budgets_trees_and_keeps_padding_low() -> None:
    import numpy as np
    import pyarrow as pa

    from prefcore.torch import PreferenceDataset, dataloader

    rng = np.random.default_rng(0)

    def ids(lo: int, hi: int) -> list[int]:
        return rng.integers(1, VOCAB, size=int(rng.integers(lo, hi + 1))).tolist()

    # Long prompts (1,000-2,000 tokens) and completions of 100-500, as in the bench.
    rows = [
        {"prompt_ids": ids(1000, 2000), "chosen_ids": ids(100, 500), "rejected_ids": ids(100, 500)}
        for _ in range(1024)
    ]
    table = pa.Table.from_pylist(rows)
    sizes = PreferenceDataset(table).tree_lengths()
    loader = dataloader(
        table,
        pad_token_id=0,
        max_tokens=int(8 * np.median(sizes)),
        prefix_shared=True,
        collator_options={"attention": "none"},
    )
    real = total = seen = 0
    for batch in loader:
        real += int((batch["tree_ids"] >= 0).sum())
        total += batch["input_ids"].numel()
        seen += batch["branch_tokens"].numel() // 2
    assert seen == len(rows)
    assert real == int(sizes.sum())
    assert 1 - real / total <= 0.01  # the padding target of prompt-once batches, on this set


def test_dataset_rows_collate_like_example_dicts() -> None:
    import pyarrow as pa

    from prefcore.torch import PreferenceDataset

    examples = random_examples(12, 2, seed=8)
    for e, v in zip(examples, range(12)):
        e["ref_chosen_logps"], e["ref_rejected_logps"] = -float(v), -2.0 * v
    data = PreferenceDataset(pa.Table.from_pylist(examples))
    order = [5, 0, 11, 3]
    a = PrefixSharedCollator(0, max_tokens=90)(data.__getitems__(order))
    b = PrefixSharedCollator(0, max_tokens=90)([examples[i] for i in order])
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
    assert a["ref_chosen_logps"].tolist() == [-5.0, 0.0, -11.0, -3.0]


def test_the_reference_store_refuses_what_does_not_match_it() -> None:
    import numpy as np
    import pyarrow as pa

    from prefcore import errors
    from prefcore.torch import attach_ref_logps, compute_ref_logps

    examples = random_examples(6, 2, seed=8)
    table = pa.Table.from_pylist(examples)
    # Dropout on and the model in training mode: the reference pass must still be the
    # deterministic eval-mode forward (the unshared reference), and leave the mode be.
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, attention_dropout=0.5,
    )  # fmt: skip
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    model.train()
    store = compute_ref_logps(model, table, model_id="m", pad_token_id=0, batch_size=4)
    assert model.training
    model.eval()
    with torch.no_grad():
        want = unshared_logps(model, pair_sequences(examples)).double()
    got = (
        store.column("ref_chosen_logps").to_pylist()
        + store.column("ref_rejected_logps").to_pylist()
    )
    torch.testing.assert_close(torch.tensor(got, dtype=torch.float64), want, atol=1e-4, rtol=0)

    reordered = store.take(pa.array(np.arange(6)[::-1])).replace_schema_metadata(
        store.schema.metadata
    )
    with pytest.raises(errors.InvalidArgumentError, match="rows reordered, filtered or edited"):
        attach_ref_logps(table, reordered, model_id="m")
    values = store.column("ref_rejected_logps").to_pylist()
    values[4] = float("nan")
    poisoned = store.set_column(1, "ref_rejected_logps", pa.array(values))
    with pytest.raises(errors.InvalidArgumentError, match="rows reordered, filtered or edited"):
        attach_ref_logps(
            table, poisoned.replace_schema_metadata(store.schema.metadata), model_id="m"
        )
    attached = attach_ref_logps(table, store, model_id="m")
    assert attached.column_names[-2:] == ["ref_chosen_logps", "ref_rejected_logps"]
    with pytest.raises(
        errors.InvalidArgumentError, match="already has a column 'ref_chosen_logps'"
    ):
        attach_ref_logps(attached, store, model_id="m")


def test_token_stats_equal_the_unshared_layouts() -> None:
    # Entropy, mean logit and argmax hits per completion, against the padded layout's
    # logits computed directly; the head is scaled so the logits are far from zero.
    model = tiny("llama", "sdpa")
    with torch.no_grad():
        model.lm_head.weight.mul_(40.0)
    examples = random_examples(7, 2, seed=3)
    batch = PrefixSharedCollator(0, max_tokens=128)(examples)
    rows = [
        {"prompt_ids": p, "chosen_ids": c, "rejected_ids": c} for p, c in pair_sequences(examples)
    ]
    padded = PreferenceCollator(0, layout="separate")(rows)
    ids, mask = padded["chosen_input_ids"], padded["chosen_attention_mask"]
    completion = padded["chosen_completion_mask"][:, 1:].float()
    with torch.no_grad():
        ours = sequence_logps(model, batch, token_stats=True)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1)
    entropy = (-(logp.exp() * logp).sum(-1) * completion).sum(1)
    mean_logit = (logits.mean(-1) * completion).sum(1)
    top1 = ((logits.argmax(-1) == ids[:, 1:]).float() * completion).sum(1)
    n = len(examples)
    for name, want in (("entropy_sums", entropy), ("logit_sums", mean_logit)):
        got = torch.cat([ours[name][:, 0], ours[name][:, 1]])
        torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-4, msg=name)
    assert float(mean_logit.abs().max()) > 0.1  # the check above is not about zeros
    got_top1 = torch.cat([ours["top1_counts"][:, 0], ours["top1_counts"][:, 1]])
    assert got_top1.tolist() == top1.tolist()
    assert ours["entropy_sums"].shape == (n, 2)


def test_branch_scores_and_ld_alpha_refuse_what_they_cannot_read() -> None:
    from prefcore.torch import branch_scores

    lm = tiny("llama", "sdpa")  # a causal LM: no score head
    pair = PrefixSharedCollator(0)(random_examples(2, 2, seed=4))
    with pytest.raises(ValueError, match="sequence classifier") as e:
        branch_scores(lm, pair, pad_token_id=0)
    assert e.value.argument == "model"
    groups = PrefixSharedCollator(0)(random_examples(2, 3, seed=4))
    with pytest.raises(ValueError, match="ld_alpha weighs pairs"):
        sequence_logps(lm, groups, ld_alpha=0.5)
    with torch.no_grad():  # ld_alpha=1 weighs every token as usual
        torch.testing.assert_close(
            sequence_logps(lm, pair, ld_alpha=1.0)["chosen_logps"],
            sequence_logps(lm, pair)["chosen_logps"],
        )


def test_prefix_shared_is_a_layout_of_the_pair_collator() -> None:
    from prefcore.torch import PrefixSharedBatch

    examples = random_examples(6, 2, seed=11)
    shared = PrefixSharedCollator(0, max_length=50, pad_to_multiple_of=8)(examples)
    layout = PreferenceCollator(0, max_length=50, pad_to_multiple_of=8, layout="prefix_shared")
    same = layout(examples)
    assert isinstance(shared, PrefixSharedBatch) and isinstance(same, PrefixSharedBatch)
    assert sorted(shared) == sorted(same)
    for key, value in shared.items():
        other = same[key]
        assert value.equal(other) if isinstance(value, torch.Tensor) else value == other, key
    assert shared.input_ids.shape[1] % 8 == 0  # the shared option, read by the Rust side
    # Every prompt + completion cut to 50 tokens, as the padded layouts cut them.
    assert int(shared.branch_tokens.max()) <= 50 - 1


def test_the_batch_is_typed_and_still_a_mapping() -> None:
    from prefcore.torch import PrefixSharedBatch

    batch = PrefixSharedCollator(0)(random_examples(3, 4, seed=2))
    assert batch.input_ids is batch["input_ids"] and batch.attention_mask is batch["attention_mask"]
    assert (batch.group_size, batch.pairs) == (4, False)
    assert batch.ref_logps is None and batch.scores is None
    # What a Trainer does to move a batch: rebuild its type from a dict.
    moved = type(batch)({k: v.to("cpu") if hasattr(v, "to") else v for k, v in batch.items()})
    assert isinstance(moved, PrefixSharedBatch) and moved.target_ids.equal(batch.target_ids)
    assert batch.to("cpu").branch_index.equal(batch.branch_index)
    model = tiny("llama", "sdpa")
    plain = dict(batch)  # a plain mapping is read the same way
    assert sequence_logps(model, plain)["logps"].equal(sequence_logps(model, batch)["logps"])
    del plain["logit_index"]
    with pytest.raises(ValueError, match=r"batch has no \['logit_index'\]") as err:
        sequence_logps(model, plain)
    assert err.value.argument == "batch"  # type: ignore[attr-defined]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_numpy_batches_equal_the_torch_ones(attention: str) -> None:
    import numpy as np

    examples = random_examples(5, 2, seed=4)
    pt = PrefixSharedCollator(0, attention=attention, max_tokens=60)(examples)
    np_batch = PrefixSharedCollator(0, attention=attention, max_tokens=60, return_tensors="np")(
        examples
    )
    assert sorted(pt) == sorted(np_batch)
    for key, value in pt.items():
        if isinstance(value, torch.Tensor):
            assert isinstance(np_batch[key], np.ndarray), key
            np.testing.assert_array_equal(np_batch[key], value.numpy(), err_msg=key)
    with pytest.raises(ValueError, match="BlockMask"):
        PrefixSharedCollator(0, attention="flex", return_tensors="np")


def test_the_shared_options_are_checked_as_every_collator_checks_them() -> None:
    with pytest.raises(ValueError, match="truncation_mode must be 'keep_start'"):
        PrefixSharedCollator(0, truncation_mode="keep_end")
    with pytest.warns(DeprecationWarning, match="truncation is now called truncation_mode"):
        PrefixSharedCollator(0, truncation="keep_start")
    for name in ("padding_free", "labels"):
        with pytest.raises(ValueError, match=f"{name}=True belongs to the padded layouts"):
            PrefixSharedCollator(0, **{name: True})
    with pytest.raises(ValueError, match="pad_token_id=120 is outside the vocabulary"):
        PrefixSharedCollator(120, vocab_size=100)
    with pytest.raises(ValueError, match=r"column 'chosen_ids', row 0"):
        PrefixSharedCollator(0, vocab_size=10)(
            [{"prompt_ids": [1], "chosen_ids": [50], "rejected_ids": [2]}]
        )
