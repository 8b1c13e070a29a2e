"""prefcore.trl against TRL's own pipeline: DPOTrainer and KTOTrainer run the same steps
twice, once on TRL's preparation and collator and once on prefcore's, and must agree
on token ids, batches, losses, logged metrics and final weights (``rules="trl"``); with
prefcore's default rules, rows differ only where the documented rules differ."""

from __future__ import annotations

import logging
import os

import numpy as np
import pyarrow as pa
import pytest
import torch
import transformers
import trl
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from trl.data_utils import extract_prompt as trl_extract_prompt

import prefcore.trl as ptrl
from prefcore.data import load_hh_rlhf
from prefcore.formats import extract_prompt, parse_transcript
from prefcore.torch import PreferenceCollator, PrefixSharedCollator, UnpairedCollator

STEPS = 4
BATCH = 4


@pytest.fixture(scope="module")
def hh() -> pa.Table:
    return load_hh_rlhf()


@pytest.fixture(scope="module")
def tokenizer(hh: pa.Table) -> transformers.PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<eos>", "<unk>"], show_progress=False
    )
    bpe.train_from_iterator(hh.column("chosen").to_pylist()[:500], trainer)
    # No pad token: TRL pads with EOS then, and so must prefcore.
    return transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>")


def tiny_llama(vocab: int) -> transformers.LlamaForCausalLM:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
    )
    return transformers.LlamaForCausalLM(config)


def common_args(tmp_path: os.PathLike[str]) -> dict:
    return {
        "output_dir": str(tmp_path),
        "max_steps": STEPS,
        "per_device_train_batch_size": BATCH,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": True,
        "seed": 7,
        "max_length": 160,
        "dataloader_num_workers": 0,
    }


def trainer(cls: type, args: object, data: object, tokenizer: object) -> transformers.Trainer:
    """A trainer of ``cls`` on two identical tiny Llamas (policy and reference)."""
    vocab = len(tokenizer)  # type: ignore[arg-type]
    return cls(
        tiny_llama(vocab),
        ref_model=tiny_llama(vocab),
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
    )


def run(trainer: transformers.Trainer) -> tuple[list[dict], dict[str, torch.Tensor]]:
    trainer.train()
    logs = [{k: v for k, v in e.items() if k not in ("epoch",)} for e in trainer.state.log_history]
    steps = [e for e in logs if "loss" in e]
    weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    return steps, weights


def first_batches(trainer: transformers.Trainer, n: int) -> list[dict]:
    loader = trainer.get_train_dataloader()
    out = []
    for i, batch in enumerate(loader):
        if i == n:
            break
        out.append({k: v.clone() for k, v in batch.items()})
    return out


def assert_same_batches(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert set(x) == set(y)
        for k in x:
            assert x[k].dtype == y[k].dtype, k
            assert torch.equal(x[k], y[k]), k


def assert_same_runs(theirs: tuple, ours: tuple) -> None:
    (t_steps, t_weights), (o_steps, o_weights) = theirs, ours
    assert len(t_steps) == STEPS
    # Losses and every logged metric, exactly.
    assert o_steps == t_steps
    assert t_weights.keys() == o_weights.keys()
    for k in t_weights:
        assert torch.equal(t_weights[k], o_weights[k]), k


def token_rows(dataset: Dataset, columns: tuple[str, ...]) -> list[tuple]:
    return list(zip(*(dataset[c] for c in columns)))


@pytest.fixture(scope="module")
def pairs(hh: pa.Table) -> pa.Table:
    # Transcripts with the prompt inside, as HH ships them: both pipelines split them.
    return hh.select(["chosen", "rejected"]).slice(0, 48)


def test_dpo_trainer_matches_trl_step_for_step(pairs, tokenizer, tmp_path) -> None:
    args = trl.DPOConfig(**common_args(tmp_path))
    theirs = trainer(trl.DPOTrainer, args, Dataset(pairs), tokenizer)
    train = ptrl.dpo_dataset(pairs, tokenizer, args, rules="trl")
    ours = trainer(ptrl.DPOTrainer, args, train, tokenizer)
    assert isinstance(ours.data_collator, PreferenceCollator)
    # TRL's filter dropped the same rows; the ids are TRL's, row for row.
    assert len(theirs.train_dataset) < len(pairs)
    columns = ptrl.DPO_COLUMNS
    assert token_rows(ours.train_dataset, columns) == token_rows(theirs.train_dataset, columns)
    assert_same_batches(first_batches(theirs, STEPS), first_batches(ours, STEPS))
    assert_same_runs(run(theirs), run(ours))


def test_dpo_with_prefcore_rules_differs_only_where_documented(pairs, tokenizer, tmp_path):
    args = trl.DPOConfig(**common_args(tmp_path))
    theirs = trainer(trl.DPOTrainer, args, Dataset(pairs), tokenizer)
    ours = ptrl.dpo_dataset(pairs, tokenizer, args)
    # No row is dropped: long prompts are cut instead.
    assert len(ours) == len(pairs)
    trl_split = extract_prompt(pairs, rule="trl").table.column("prompt").to_pylist()
    turn_split = extract_prompt(pairs).table.column("prompt").to_pylist()
    uncut = ptrl.dpo_dataset(
        pairs, tokenizer, trl.DPOConfig(**{**common_args(tmp_path), "max_length": None})
    )
    kept = {tuple(r[0]): r for r in token_rows(theirs.train_dataset, ptrl.DPO_COLUMNS)}
    compared = 0
    for row, (p, c, r) in enumerate(token_rows(ours, ptrl.DPO_COLUMNS)):
        full = uncut[row]
        same_split = trl_split[row] == turn_split[row]
        within = (
            len(full["prompt_ids"]) + max(len(full["chosen_ids"]), len(full["rejected_ids"])) <= 160
        )
        if same_split and within and tuple(p) in kept:
            # Same prompt, nothing cut: TRL's ids exactly.
            assert (p, c, r) == kept[tuple(p)]
            compared += 1
        else:
            # Cut rows fit the budget and keep their EOS (TRL's cut can lose it).
            assert len(p) + max(len(c), len(r)) <= 160
            assert c[-1] == r[-1] == tokenizer.eos_token_id
    assert compared >= 5


def unpaired_rows(hh: pa.Table, n: int) -> pa.Table:
    split = extract_prompt(hh.slice(0, n)).clean()
    k = split.num_rows
    return pa.table(
        {
            "prompt": pa.concat_arrays([split.column("prompt").combine_chunks()] * 2),
            "completion": pa.concat_arrays(
                [split.column("chosen").combine_chunks(), split.column("rejected").combine_chunks()]
            ),
            "label": [True] * k + [False] * k,
        }
    )


def test_kto_trainer_matches_trl_step_for_step(hh, tokenizer, tmp_path) -> None:
    rows = unpaired_rows(hh, 30)
    args = trl.KTOConfig(**common_args(tmp_path))
    theirs = trainer(trl.KTOTrainer, args, Dataset(rows), tokenizer)
    train = ptrl.kto_dataset(rows, tokenizer, args, rules="trl")
    ours = trainer(ptrl.KTOTrainer, args, train, tokenizer)
    assert isinstance(ours.data_collator, UnpairedCollator)
    columns = (*ptrl.KTO_COLUMNS, "KL_completion_ids")
    assert token_rows(ours.train_dataset, columns) == token_rows(theirs.train_dataset, columns)
    assert_same_batches(first_batches(theirs, STEPS), first_batches(ours, STEPS))
    assert_same_runs(run(theirs), run(ours))


def test_kto_from_pairs_unpairs_in_trls_order(hh, tokenizer, tmp_path) -> None:
    pairs = extract_prompt(hh.slice(0, 20)).clean()
    args = trl.KTOConfig(**{**common_args(tmp_path), "max_length": None})
    theirs = trainer(trl.KTOTrainer, args, Dataset(pairs), tokenizer)
    ours = ptrl.kto_dataset(pairs, tokenizer, args, rules="trl")
    columns = (*ptrl.KTO_COLUMNS, "KL_completion_ids")
    assert token_rows(ours, columns) == token_rows(theirs.train_dataset, columns)
    # prefcore's own order keeps each pair's two rows together.
    own = ptrl.kto_dataset(pairs, tokenizer, args)
    assert own["label"][:4] == [True, False, True, False]


def test_prompt_split_rule_trl_equals_trls_function(hh) -> None:
    ours = extract_prompt(hh, rule="trl").table.to_pylist()
    theirs = [trl_extract_prompt(r) for r in hh.select(["chosen", "rejected"]).to_pylist()]
    assert ours == theirs
    turn = extract_prompt(hh).table.column("prompt").to_pylist()
    differ = sum(a != b["prompt"] for a, b in zip(turn, theirs))
    # The documented figure: TRL splits 445 of the sample's 2,312 rows elsewhere.
    assert (hh.num_rows, differ) == (2312, 445)


def test_prompt_split_rule_trl_on_conversations_and_edge_cases() -> None:
    user = {"role": "user", "content": "hi"}
    rows = [
        {
            "chosen": [user, {"role": "assistant", "content": "a"}],
            "rejected": [user, {"role": "assistant", "content": "b"}],
        },
        {"chosen": "ab", "rejected": "abc"},
        {"chosen": "x y", "rejected": "x z"},
        {"chosen": "same", "rejected": "same"},
    ]
    for row in rows:
        got = extract_prompt(pa.Table.from_pylist([row]), rule="trl").table.to_pylist()[0]
        assert got == trl_extract_prompt(row)
    with pytest.raises(ValueError, match="row 0: empty transcript"):
        extract_prompt({"chosen": [""], "rejected": ["a"]}, rule="trl")
    with pytest.raises(ValueError, match="rule must be"):
        extract_prompt({"chosen": ["a"], "rejected": ["b"]}, rule="word")  # type: ignore[arg-type]


def test_kl_rotation_is_trls_batched_map() -> None:
    comps = [[i] for i in range(11)]
    ds = Dataset.from_dict({"completion_ids": comps})
    theirs = ds.map(
        lambda b: {"KL_completion_ids": [b["completion_ids"][-1], *b["completion_ids"][:-1]]},
        batched=True,
        batch_size=4,
    )["KL_completion_ids"]
    assert [comps[i] for i in ptrl.kl_rotation(11, 4)] == theirs


def test_dropped_rows_are_reported(pairs, tokenizer, tmp_path, caplog) -> None:
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": 32})
    with caplog.at_level(logging.WARNING, logger="prefcore.trl"):
        out = ptrl.dpo_dataset(pairs, tokenizer, args, rules="trl")
    assert len(out) < len(pairs)
    assert f"dropped {len(pairs) - len(out)} of {len(pairs)} rows" in caplog.text


def test_collators_fit_a_plain_hf_trainer_subclass(pairs, tokenizer, tmp_path) -> None:
    # A Trainer subclass of the user's own: the batch goes to the model as it is, so the
    # collator's keys must be ones the model takes, and labels must not come twice.
    class OwnTrainer(transformers.Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            mask = inputs.pop("completion_mask")
            labels = inputs["input_ids"].masked_fill(mask == 0, -100)
            out = model(**inputs, labels=labels)
            return (out.loss, out) if return_outputs else out.loss

    train = ptrl.dpo_dataset(pairs, tokenizer, trl.DPOConfig(**common_args(tmp_path)))
    hf_args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        report_to="none",
        use_cpu=True,
        remove_unused_columns=False,
        save_strategy="no",
    )
    trainer = OwnTrainer(
        model=tiny_llama(len(tokenizer)),
        args=hf_args,
        train_dataset=train,
        data_collator=PreferenceCollator.from_tokenizer(tokenizer),
    )
    result = trainer.train()
    assert np.isfinite(result.training_loss)


def test_unsupported_trl_versions_are_refused(monkeypatch) -> None:
    monkeypatch.setattr(trl, "__version__", "0.9.0")
    ptrl._trainers.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"tested with trl>=1\.16,<1\.17; trl 0\.9\.0"):
            ptrl.DPOTrainer  # noqa: B018
    finally:
        monkeypatch.undo()
        ptrl._trainers.cache_clear()
    assert ptrl.DPOTrainer.__mro__[1] is trl.DPOTrainer


def test_the_tested_trl_range_is_the_one_the_extras_pin() -> None:
    import importlib.metadata

    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    pins = [Requirement(r) for r in importlib.metadata.requires("prefcore") or []]
    trl_pins = {str(r.marker): r.specifier for r in pins if r.name == "trl"}
    assert trl_pins == {
        'extra == "trl"': SpecifierSet(",".join(ptrl.TESTED_TRL)),
        'extra == "test"': SpecifierSet(",".join(ptrl.TESTED_TRL)),
    }
    assert trl.__version__ in SpecifierSet(",".join(ptrl.TESTED_TRL))


CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<eos>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_chat_rows_match_trls_tokens_with_either_rules(hh, tokenizer, tmp_path) -> None:
    # Conversations: the template ends each turn with EOS and a newline; TRL adds no
    # EOS of its own there, and neither may prefcore (under either rules).
    chat = tokenizer.__class__(tokenizer_object=tokenizer.backend_tokenizer, eos_token="<eos>")
    chat.chat_template = CHAT_TEMPLATE
    split = extract_prompt(hh.slice(0, 40)).clean()
    conversations = pa.table(
        {
            "prompt": parse_transcript(split.column("prompt").combine_chunks()),
            "chosen": parse_transcript(
                pa.array(["\n\nAssistant:" + t for t in split.column("chosen").to_pylist()])
            ),
            "rejected": parse_transcript(
                pa.array(["\n\nAssistant:" + t for t in split.column("rejected").to_pylist()])
            ),
        }
    )
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": None})
    theirs = trainer(trl.DPOTrainer, args, Dataset(conversations), chat).train_dataset
    want = token_rows(theirs, ptrl.DPO_COLUMNS)
    for rules in ("trl", "prefcore"):
        ours = ptrl.dpo_dataset(conversations, chat, args, rules=rules)
        assert token_rows(ours, ptrl.DPO_COLUMNS) == want, rules
    assert all(c[-2:] == [chat.eos_token_id, chat.convert_tokens_to_ids("Ċ")] for _, c, _ in want)


def test_prefix_shared_dpo_trainer_follows_trls_losses_and_weights(pairs, tokenizer, tmp_path):
    # Prompt-once batches in TRL's trainer, in fp32 (DPOConfig's default is bf16, even
    # on a CPU): the same log-probs and losses step for step and the same final weights
    # as TRL's padded batches.
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": None, "bf16": False})
    train = ptrl.dpo_dataset(pairs, tokenizer, args)
    padded = trainer(ptrl.DPOTrainer, args, train, tokenizer)
    shared = trainer(ptrl.PrefixSharedDPOTrainer, args, train, tokenizer)
    assert isinstance(shared.data_collator, PrefixSharedCollator)
    (p_steps, p_weights), (s_steps, s_weights) = run(padded), run(shared)
    # Same weights at step 0: the same sums up to float32 summation order.
    assert s_steps[0]["logps/chosen"] == pytest.approx(p_steps[0]["logps/chosen"], rel=1e-6)
    for p, s in zip(p_steps, s_steps, strict=True):
        assert s["loss"] == pytest.approx(p["loss"], rel=1e-5)
        for key in ("logps/chosen", "logps/rejected"):
            assert s[key] == pytest.approx(p[key], rel=1e-5), key
        for key in ("rewards/chosen", "rewards/rejected", "rewards/margins"):
            assert s[key] == pytest.approx(p[key], abs=1e-4), key
        assert set(s) == set(p)  # every metric TRL logs
        for key in ("entropy", "logits/chosen", "logits/rejected", "mean_token_accuracy"):
            assert s[key] == pytest.approx(p[key], rel=1e-5, abs=1e-6), key
        assert s["num_tokens"] == p["num_tokens"]
    # In fp32 every weight agrees after the steps (Adam divides each update by the
    # gradient's own scale, so a weight with a near-zero gradient is the sensitive one).
    close = total = 0
    for name in p_weights:
        a, b = s_weights[name], p_weights[name]
        close += int(torch.isclose(a, b, atol=1e-4, rtol=1e-3).sum())
        total += a.numel()
        assert float((a - b).abs().max()) <= STEPS * args.learning_rate, name
    assert close == total, (close, total)


def first_logged_step(cls: type, args: object, train: object, tokenizer: object) -> dict:
    t = trainer(cls, args, train, tokenizer)
    t.args.max_steps = 1
    steps, _ = run(t)
    return steps[0]


def test_prefix_shared_trainer_truncates_to_max_length_as_trl(pairs, tokenizer, tmp_path):
    # rules="trl" rows are untruncated; TRL's collator cuts prompt + completion to
    # max_length (keep_start), and so must the prompt-once collator.
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": 96})
    train = ptrl.dpo_dataset(pairs, tokenizer, args, rules="trl")
    longest = max(len(p) + max(len(c), len(r)) for p, c, r in token_rows(train, DPO_IDS))
    assert longest > 96  # the cut matters on this data
    padded = first_logged_step(ptrl.DPOTrainer, args, train, tokenizer)
    shared = first_logged_step(ptrl.PrefixSharedDPOTrainer, args, train, tokenizer)
    for key in ("logps/chosen", "logps/rejected"):
        assert shared[key] == pytest.approx(padded[key], rel=1e-5), key
    uncut = trl.DPOConfig(**{**common_args(tmp_path), "max_length": None})
    assert (
        first_logged_step(ptrl.PrefixSharedDPOTrainer, uncut, train, tokenizer)["logps/chosen"]
        < shared["logps/chosen"] - 1.0
    )  # longer sequences: far lower log-probs
    keep_end = trl.DPOConfig(**{**common_args(tmp_path), "truncation_mode": "keep_end"})
    with pytest.raises(ValueError, match="keep_end"):
        trainer(ptrl.PrefixSharedDPOTrainer, keep_end, train, tokenizer)


DPO_IDS = ("prompt_ids", "chosen_ids", "rejected_ids")


def test_prefix_shared_trainer_runs_under_the_trainers_bf16_autocast(pairs, tokenizer, tmp_path):
    args = trl.DPOConfig(**{**common_args(tmp_path), "bf16": True})
    train = ptrl.dpo_dataset(pairs, tokenizer, args)
    shared = trainer(ptrl.PrefixSharedDPOTrainer, args, train, tokenizer)
    seen: list[torch.dtype] = []
    layer = shared.model.model.layers[0].mlp.down_proj
    hook = layer.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    shared.args.max_steps = 1
    (step,), _ = run(shared)
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}  # as DPOTrainer's forward runs
    padded = first_logged_step(ptrl.DPOTrainer, args, train, tokenizer)
    assert step["loss"] == pytest.approx(padded["loss"], rel=2e-2)  # bf16 tolerance
    for key in ("logps/chosen", "logps/rejected"):
        assert step[key] == pytest.approx(padded[key], rel=2e-2), key


def test_prefix_shared_trainer_precomputes_reference_logps(pairs, tokenizer, tmp_path):
    args = trl.DPOConfig(**{**common_args(tmp_path), "precompute_ref_log_probs": True})
    train = ptrl.dpo_dataset(pairs, tokenizer, args)
    shared = trainer(ptrl.PrefixSharedDPOTrainer, args, train, tokenizer)
    padded = trainer(ptrl.DPOTrainer, args, train, tokenizer)
    for name in ("ref_chosen_logps", "ref_rejected_logps"):
        ours = torch.tensor(shared.train_dataset[name])
        theirs = torch.tensor(padded.train_dataset[name])
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-4)
    live = trl.DPOConfig(**common_args(tmp_path))
    first = first_logged_step(ptrl.PrefixSharedDPOTrainer, live, train, tokenizer)
    shared.args.max_steps = 1
    (stored,), _ = run(shared)
    assert stored["loss"] == pytest.approx(first["loss"], rel=1e-5)


def test_prefix_shared_masks_follow_the_models_attention(tokenizer, tmp_path):
    from prefcore.torch import mask_for, sequence_logps

    config = tiny_llama(len(tokenizer)).config
    eager = transformers.LlamaForCausalLM._from_config(config, attn_implementation="eager")
    args = trl.DPOConfig(**common_args(tmp_path))
    assert ptrl.prefix_shared_collator(args, tokenizer, eager).attention == "eager"
    assert mask_for(eager) == "eager"
    example = [{"prompt_ids": [5, 6, 7], "chosen_ids": [8, 9], "rejected_ids": [10]}]
    sdpa_batch = PrefixSharedCollator(0, attention="sdpa")(example)
    with pytest.raises(
        ValueError, match="collate with PrefixSharedCollator\\(attention='eager'\\)"
    ):
        sequence_logps(eager, sdpa_batch)
    plain = PrefixSharedCollator(0, attention="none")(example)
    with pytest.raises(ValueError, match="no attention mask"):
        sequence_logps(eager, plain)
    right = sequence_logps(eager, PrefixSharedCollator(0, attention="eager")(example))
    assert right["chosen_logps"].shape == (1,)


LOSS_CASES = [
    *[{"loss_type": [t]} for t in ("sigmoid", "hinge", "ipo", "nca_pair", "robust", "bco_pair")],
    *[{"loss_type": [t]} for t in ("sppo_hard", "aot", "aot_unpaired", "apo_zero", "apo_down")],
    {"loss_type": ["discopop"]},
    {"loss_type": ["sigmoid_norm"]},
    {"loss_type": ["exo_pair"], "label_smoothing": 1e-3},
    {"loss_type": ["robust"], "label_smoothing": 0.1},
    {"loss_type": ["aot"], "label_smoothing": 0.1},
    {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]},
    {"loss_type": ["sigmoid"], "f_divergence_type": "forward_kl"},
    {"loss_type": ["hinge"], "f_divergence_type": "js_divergence"},
    {"loss_type": ["ipo"], "f_divergence_type": "alpha_divergence", "f_alpha_divergence_coef": 0.5},
    {"loss_type": ["sigmoid"], "ld_alpha": 0.5},
    {"loss_type": ["sigmoid", "ipo"], "loss_weights": [1.0, 0.2], "use_weighting": True},
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_every_dpo_loss_type_matches_dpo_trainer(pairs, tokenizer, tmp_path, case):
    # fp32, two steps: the first with equal weights, the second after one update.
    args = trl.DPOConfig(
        **{**common_args(tmp_path), "max_length": 128, "bf16": False, "max_steps": 2, **case}
    )
    train = ptrl.dpo_dataset(pairs.slice(0, 16), tokenizer, args, rules="trl")

    def with_other_reference(cls: type) -> transformers.Trainer:
        # A reference unlike the policy, so the log-ratios are not zero at step 0.
        reference = tiny_llama(len(tokenizer))
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for weight in reference.parameters():
                weight.add_(0.01 * torch.randn(weight.shape, generator=generator))
        return cls(
            tiny_llama(len(tokenizer)), ref_model=reference, args=args, train_dataset=train,
            processing_class=tokenizer,
        )  # fmt: skip

    p_steps, _ = run(with_other_reference(ptrl.DPOTrainer))
    s_steps, _ = run(with_other_reference(ptrl.PrefixSharedDPOTrainer))
    (p0, p1), (s0, s1) = p_steps, s_steps
    assert abs(p0["rewards/margins"]) > 1e-4  # the losses see real log-ratios
    assert s0["loss"] == pytest.approx(p0["loss"], rel=1e-5, abs=1e-7)
    assert s0["rewards/margins"] == pytest.approx(p0["rewards/margins"], rel=1e-4, abs=1e-6)
    # After one update the weights differ by the two backward passes' float32 rounding
    # (TRL's fused head has its own backward), which the steeper losses amplify.
    assert s1["loss"] == pytest.approx(p1["loss"], rel=1e-4, abs=1e-7)
    assert s1["rewards/margins"] == pytest.approx(p1["rewards/margins"], abs=5e-5)


def tiny_reward_model(vocab: int, pad: int) -> transformers.LlamaForSequenceClassification:
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        num_labels=1, pad_token_id=pad,
    )  # fmt: skip
    return transformers.LlamaForSequenceClassification(config)


@pytest.mark.parametrize("extra", [{}, {"center_rewards_coefficient": 0.01, "max_length": 140}])
def test_prefix_shared_reward_trainer_matches_trls_reward_trainer(
    pairs, tokenizer, tmp_path, extra
):
    # TRL tokenizes prompt + completion from text; prefcore's rows hold the same ids
    # with the prompt apart (rules="trl"), and the prompt runs once for both completions.
    split = extract_prompt(pairs, rule="trl").table.slice(0, 16)
    args = trl.RewardConfig(**{**common_args(tmp_path), "max_length": None, "bf16": False, **extra})
    untruncated = trl.DPOConfig(**{**common_args(tmp_path), "max_length": None})
    rows = ptrl.dpo_dataset(split, tokenizer, untruncated, rules="trl")
    theirs = trl.RewardTrainer(
        tiny_reward_model(len(tokenizer), tokenizer.eos_token_id), args=args,
        train_dataset=Dataset.from_dict(split.to_pydict()), processing_class=tokenizer,
    )  # fmt: skip
    ours = ptrl.PrefixSharedRewardTrainer(
        tiny_reward_model(len(tokenizer), tokenizer.eos_token_id), args=args,
        train_dataset=rows, processing_class=tokenizer,
    )  # fmt: skip
    assert len(ours.train_dataset) == len(theirs.train_dataset)  # the same rows dropped
    assert len(ours.train_dataset) < 16 if "max_length" in extra else len(ours.train_dataset) == 16
    (t_steps, t_weights), (o_steps, o_weights) = run(theirs), run(ours)
    for t, o in zip(t_steps, o_steps, strict=True):
        assert set(o) == set(t)
        for key in ("loss", "mean_reward", "min_reward", "max_reward", "margin", "accuracy"):
            assert o[key] == pytest.approx(t[key], rel=1e-5, abs=1e-6), key
        assert o["num_tokens"] == t["num_tokens"]
    for name in t_weights:
        torch.testing.assert_close(o_weights[name], t_weights[name], atol=1e-4, rtol=1e-3)


def test_trls_reward_trainer_refuses_prompt_split_rows(pairs, tokenizer, tmp_path):
    rows = ptrl.dpo_dataset(pairs.slice(0, 8), tokenizer, trl.DPOConfig(**common_args(tmp_path)))
    with pytest.raises(ValueError, match="PrefixSharedRewardTrainer") as e:
        ptrl.RewardTrainer(
            tiny_reward_model(len(tokenizer), tokenizer.eos_token_id),
            args=trl.RewardConfig(**common_args(tmp_path)), train_dataset=rows,
            processing_class=tokenizer,
        )  # fmt: skip
    assert e.value.argument == "train_dataset"
