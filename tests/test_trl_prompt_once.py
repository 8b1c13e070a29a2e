"""Prompt-once trainers beyond DPO against their references: ORPO and CPO against TRL's
own (``trl.experimental``) trainers on the same rows, step for step in fp32, and the
listwise LiPO-λ trainer against DPO (two completions) and against a loss computed here
from padded sequences, independently of prefcore (four)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pyarrow as pa
import pytest
import torch
import transformers
import trl
from datasets import Dataset
from test_trl import common_args, hh, pairs, run, tiny_llama, tokenizer  # noqa: F401

import prefcore.trl as ptrl
from prefcore.formats import extract_prompt

with warnings.catch_warnings():  # TRL warns that these live in trl.experimental
    warnings.simplefilter("ignore")
    from trl.experimental.cpo import CPOConfig, CPOTrainer
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

#: Δ of two completions labelled 1 and 0: |2^1 - 2^0| * |1/log2(2) - 1/log2(3)|.
LAMBDA_OF_A_PAIR = 1.0 - 1.0 / np.log2(3.0)


@pytest.fixture(scope="module")
def padded_tokenizer(tokenizer):  # noqa: F811
    # TRL's ORPO and CPO collators pad with the tokenizer's pad token and need one.
    tok = copy.deepcopy(tokenizer)
    tok.pad_token = tok.eos_token
    return tok


@pytest.fixture(scope="module")
def split(pairs):  # noqa: F811
    return extract_prompt(pairs, rule="trl").table.slice(0, 16)


def token_rows(split: pa.Table, tok: object) -> Dataset:
    untruncated = trl.DPOConfig(output_dir="unused", use_cpu=True, max_length=None)
    return ptrl.dpo_dataset(split, tok, untruncated, rules="trl")


def agreeing_rows(split: pa.Table, tok: object, trl_tokenized: Dataset) -> pa.Table:
    """The rows TRL's ORPO/CPO tokenizer and ``dpo_dataset(rules="trl")`` cut alike.
    They differ where the tokenizer merges the last prompt character into the answer:
    TRL's ORPO and CPO then move the boundary per completion, so a row's chosen and
    rejected sequences no longer share their prompt tokens; DPOTrainer's rule, which
    ``dpo_dataset`` follows, keeps one prompt."""
    ours = token_rows(split, tok)
    keep = []
    for mine, theirs in zip(ours, trl_tokenized):
        same = True
        for side in ("chosen", "rejected"):
            labels = theirs[f"{side}_labels"]
            prompt = sum(1 for x in labels if x == -100)
            whole = mine["prompt_ids"] + mine[f"{side}_ids"]
            n = len(theirs[f"{side}_input_ids"])
            same &= prompt == len(mine["prompt_ids"]) and theirs[f"{side}_input_ids"] == whole[:n]
        keep.append(same)
    assert sum(keep) >= len(keep) - 2  # a rare case: the test still covers most rows
    return split.filter(pa.array(keep))


def trl_and_ours(theirs_cls: type, ours_cls: type, args: object, split: pa.Table, tok: object):
    """TRL's trainer on the text rows and prefcore's on ``dpo_dataset`` rows, both on the
    rows the two tokenizations cut alike."""

    def theirs_on(rows: pa.Table) -> transformers.Trainer:
        return theirs_cls(
            tiny_llama(len(tok)), args=args, processing_class=tok,
            train_dataset=Dataset.from_dict(rows.to_pydict()),
        )  # fmt: skip

    theirs = theirs_on(split)
    alike = agreeing_rows(split, tok, theirs.train_dataset)
    if alike.num_rows < split.num_rows:
        theirs = theirs_on(alike)
    ours = ours_cls(
        tiny_llama(len(tok)), args=args, processing_class=tok, train_dataset=token_rows(alike, tok)
    )
    return theirs, ours


def assert_same_steps(theirs: list[dict], ours: list[dict], keys: tuple[str, ...]) -> None:
    assert len(ours) == len(theirs) > 1
    for t, o in zip(theirs, ours, strict=True):
        assert set(o) == set(t)  # every metric TRL logs
        for key in keys:
            assert o[key] == pytest.approx(t[key], rel=1e-5, abs=1e-6), key


def first_step_dtypes(trainer: transformers.Trainer) -> tuple[dict, set]:
    """One training step's log and the dtypes a decoder layer's forward produced."""
    seen: set[torch.dtype] = set()
    layer = trainer.model.model.layers[0].mlp.down_proj
    hook = layer.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    (step,), _ = run(trainer)
    hook.remove()
    return step, seen


def assert_close_weights(theirs: dict, ours: dict) -> None:
    for name in theirs:
        torch.testing.assert_close(ours[name], theirs[name], atol=1e-4, rtol=1e-3)


PAIR_KEYS = ("loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen",
             "logps/rejected", "rewards/accuracies", "nll_loss")  # fmt: skip
ORPO_CASES = [{}, {"beta": 0.5, "cut": True}]


@pytest.mark.parametrize("case", ORPO_CASES, ids=["default", "beta-max_length"])
def test_prefix_shared_orpo_matches_trls_orpo_trainer(
    pairs,  # noqa: F811
    split,
    padded_tokenizer,
    tmp_path,
    case,
):
    limit = 512
    if case.pop("cut", False):
        # TRL cuts the completion only, so rows whose prompts fit under the limit, and
        # completions that do not.
        limit = 100
        every = extract_prompt(pairs, rule="trl").table
        prompts = np.array([len(p) for p in token_rows(every, padded_tokenizer)["prompt_ids"]])
        split = every.filter(pa.array(prompts < limit - 4))
    tok = padded_tokenizer
    rows = token_rows(split, tok)
    whole = [len(p) + len(c) for p, c in zip(rows["prompt_ids"], rows["chosen_ids"])]
    assert sum(w > limit for w in whole) >= (4 if limit < 512 else 0)
    args = ORPOConfig(**{**common_args(tmp_path), "max_length": limit, "bf16": False, **case})
    theirs, ours = trl_and_ours(ORPOTrainer, ptrl.PrefixSharedORPOTrainer, args, split, tok)
    (t_steps, t_weights), (o_steps, o_weights) = run(theirs), run(ours)
    assert_same_steps(t_steps, o_steps, (*PAIR_KEYS, "log_odds_ratio", "log_odds_chosen"))
    assert_close_weights(t_weights, o_weights)


CPO_CASES = [
    {"loss_type": "sigmoid"},
    {"loss_type": "sigmoid", "label_smoothing": 0.1},
    {"loss_type": "hinge"},
    {"loss_type": "ipo"},
    {"loss_type": "simpo", "simpo_gamma": 0.8},
    {"loss_type": "alphapo", "alpha": 0.2},
    {"loss_type": "sigmoid", "cpo_alpha": 0.0},
]


@pytest.mark.parametrize("case", CPO_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_prefix_shared_cpo_matches_trls_cpo_trainer(split, padded_tokenizer, tmp_path, case):
    args = CPOConfig(**{**common_args(tmp_path), "max_length": 512, "bf16": False, **case})
    theirs, ours = trl_and_ours(
        CPOTrainer, ptrl.PrefixSharedCPOTrainer, args, split, padded_tokenizer
    )
    (t_steps, t_weights), (o_steps, o_weights) = run(theirs), run(ours)
    assert_same_steps(t_steps, o_steps, PAIR_KEYS)
    if case.get("cpo_alpha") == 0.0:
        assert o_steps[0]["nll_loss"] == 0.0
    assert_close_weights(t_weights, o_weights)


@pytest.mark.parametrize(
    ("config", "theirs_cls", "ours_name"),
    [(ORPOConfig, ORPOTrainer, "PrefixSharedORPOTrainer"),
     (CPOConfig, CPOTrainer, "PrefixSharedCPOTrainer")],
    ids=["orpo", "cpo"],
)  # fmt: skip
def test_reference_free_trainers_run_under_the_trainers_bf16_autocast(
    split, padded_tokenizer, tmp_path, config, theirs_cls, ours_name
):
    args = config(**{**common_args(tmp_path), "max_length": 512, "bf16": True, "max_steps": 1})
    theirs, ours = trl_and_ours(theirs_cls, getattr(ptrl, ours_name), args, split, padded_tokenizer)
    (t_step, t_dtypes), (o_step, o_dtypes) = first_step_dtypes(theirs), first_step_dtypes(ours)
    assert t_dtypes == o_dtypes == {torch.bfloat16}  # the same dtype in both forwards
    assert o_step["loss"] == pytest.approx(t_step["loss"], rel=2e-2)  # bf16 tolerance


def test_reference_free_trainers_refuse_text_rows_by_name(split, padded_tokenizer, tmp_path):
    args = CPOConfig(**{**common_args(tmp_path), "max_length": 512, "bf16": False})
    with pytest.raises(ValueError, match="dpo_dataset") as e:
        ptrl.PrefixSharedCPOTrainer(
            tiny_llama(len(padded_tokenizer)), args=args, processing_class=padded_tokenizer,
            train_dataset=Dataset.from_dict(split.to_pydict()),
        )  # fmt: skip
    assert e.value.argument == "train_dataset"


# Listwise -------------------------------------------------------------------------


def groups_of(split: pa.Table, n: int) -> pa.Table:
    """Lists of ``n`` completions per prompt, scored: the chosen and rejected answers of
    this and the next rows, labelled by where they came from."""
    chosen, rejected = split.column("chosen").to_pylist(), split.column("rejected").to_pylist()
    rows = split.num_rows
    lists, labels = [], []
    for i in range(rows):
        pool = [chosen[i], rejected[i], chosen[(i + 1) % rows], rejected[(i + 1) % rows]]
        lists.append(pool[:n])
        labels.append([3.0, 0.0, 2.0, 1.0][:n] if n > 2 else [1.0, 0.0])
    return pa.table({"prompt": split.column("prompt"), "completions": lists, "scores": labels})


def sgd_args(tmp_path: object, lr: float) -> trl.DPOConfig:
    # Plain SGD without clipping: a loss scaled by a constant is then the same run with
    # the learning rate divided by that constant.
    return trl.DPOConfig(**{
        **common_args(tmp_path), "max_length": None, "bf16": False, "optim": "sgd",
        "learning_rate": lr, "max_grad_norm": 0.0, "lr_scheduler_type": "constant",
    })  # fmt: skip


def test_listwise_trainer_on_pairs_is_lambda_times_dpo(split, tokenizer, tmp_path):  # noqa: F811
    lr = 0.2
    pair_rows = ptrl.dpo_dataset(split, tokenizer, sgd_args(tmp_path, lr))
    lists = ptrl.listwise_dataset(groups_of(split, 2), tokenizer, sgd_args(tmp_path, lr))
    assert lists[0]["completions"] == [pair_rows[0]["chosen_ids"], pair_rows[0]["rejected_ids"]]

    def trainer(cls: type, data: Dataset, rate: float) -> transformers.Trainer:
        return cls(
            tiny_llama(len(tokenizer)), ref_model=tiny_llama(len(tokenizer)),
            args=sgd_args(tmp_path, rate), train_dataset=data, processing_class=tokenizer,
        )  # fmt: skip

    d_steps, d_weights = run(trainer(ptrl.DPOTrainer, pair_rows, lr))
    l_steps, l_weights = run(
        trainer(ptrl.PrefixSharedListwiseTrainer, lists, lr / LAMBDA_OF_A_PAIR)
    )
    assert l_steps[0]["loss"] == pytest.approx(LAMBDA_OF_A_PAIR * d_steps[0]["loss"], rel=1e-6)
    for d, lw in zip(d_steps, l_steps, strict=True):
        # Equal at step 0; after that the two float32 runs round apart slowly.
        assert lw["loss"] == pytest.approx(LAMBDA_OF_A_PAIR * d["loss"], rel=1e-4)
        assert lw["rewards/margins"] == pytest.approx(d["rewards/margins"], rel=1e-3, abs=5e-5)
        assert lw["rewards/accuracies"] == d["rewards/accuracies"]
    assert abs(d_steps[-1]["rewards/margins"]) > 1e-3  # the policy moved
    assert_close_weights(d_weights, l_weights)


def padded_logps(model: transformers.PreTrainedModel, prompt: list, completion: list) -> float:
    """log π(completion | prompt) from one unpadded sequence: no prefcore involved."""
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
    targets = ids[0, 1:]
    return float(logp[torch.arange(len(targets)), targets][len(prompt) - 1 :].sum())


def lipo_reference(rewards: np.ndarray, labels: np.ndarray) -> float:
    """LiPO-λ of one list, from the paper's formula, with ranks by reward."""
    order = np.argsort(-rewards, kind="stable")
    rank = np.empty(len(rewards))
    rank[order] = np.arange(1, len(rewards) + 1)
    gain, discount = 2.0**labels - 1.0, 1.0 / np.log2(1.0 + rank)
    loss = 0.0
    for i in range(len(rewards)):
        for j in range(len(rewards)):
            if labels[i] > labels[j]:
                delta = abs(gain[i] - gain[j]) * abs(discount[i] - discount[j])
                loss += delta * np.log1p(np.exp(-(rewards[i] - rewards[j])))
    return loss


def test_listwise_trainer_loss_equals_the_formula_on_padded_sequences(split, tokenizer, tmp_path):  # noqa: F811
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": None, "bf16": False,
                            "max_steps": 1, "beta": 0.5})  # fmt: skip
    lists = ptrl.listwise_dataset(groups_of(split, 4), tokenizer, args)
    policy, reference = tiny_llama(len(tokenizer)), tiny_llama(len(tokenizer))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a reference unlike the policy: the rewards are not all 0
        for weight in reference.parameters():
            weight.add_(0.05 * torch.randn(weight.shape, generator=generator))
    want = []
    for row in lists.select(range(4)):  # one batch of four lists, collated below
        rewards = np.array([
            args.beta * (padded_logps(policy, row["prompt_ids"], c)
                         - padded_logps(reference, row["prompt_ids"], c))
            for c in row["completions"]
        ])  # fmt: skip
        want.append(lipo_reference(rewards, np.array(row["scores"])))
    trainer = ptrl.PrefixSharedListwiseTrainer(
        policy, ref_model=reference, args=args, train_dataset=lists, processing_class=tokenizer
    )
    batch = trainer.data_collator([lists[i] for i in range(4)])
    trainer.model.eval()
    with torch.no_grad():
        got = trainer.compute_loss(trainer.model, batch)
    assert float(got) == pytest.approx(float(np.mean(want)), rel=1e-5)
    assert np.std(want) > 0  # the lists differ


def test_listwise_trainer_precomputes_reference_logps(split, tokenizer, tmp_path):  # noqa: F811
    base = {**common_args(tmp_path), "max_length": None, "bf16": False, "max_steps": 1}
    lists = ptrl.listwise_dataset(groups_of(split, 4), tokenizer, trl.DPOConfig(**base))

    def first_loss(precompute: bool) -> tuple[float, transformers.Trainer]:
        args = trl.DPOConfig(**base, precompute_ref_log_probs=precompute)
        t = ptrl.PrefixSharedListwiseTrainer(
            tiny_llama(len(tokenizer)), ref_model=tiny_llama(len(tokenizer)), args=args,
            train_dataset=lists, processing_class=tokenizer,
        )  # fmt: skip
        (step,), _ = run(t)
        return step["loss"], t

    stored, trainer = first_loss(True)
    live, _ = first_loss(False)
    assert "ref_logps" in trainer.train_dataset.column_names
    assert np.shape(trainer.train_dataset["ref_logps"]) == (len(lists), 4)
    assert stored == pytest.approx(live, rel=1e-5)


def test_listwise_dataset_and_trainer_refuse_what_they_cannot_train(split, tokenizer, tmp_path):  # noqa: F811
    args = trl.DPOConfig(**{**common_args(tmp_path), "bf16": False})
    ragged = groups_of(split, 4).to_pydict()
    ragged["completions"][3] = ragged["completions"][3][:3]
    with pytest.raises(ValueError, match="row 3") as e:
        ptrl.listwise_dataset(ragged, tokenizer, args)
    assert e.value.column == "completions"
    with pytest.raises(ValueError, match="at least 2"):
        ptrl.listwise_dataset(groups_of(split, 4).to_pydict() | {"completions": [["a"]] * 16,
                              "scores": [[1.0]] * 16}, tokenizer, args)  # fmt: skip
    pair_rows = ptrl.dpo_dataset(split, tokenizer, args)
    with pytest.raises(ValueError, match="listwise_dataset") as e:
        ptrl.PrefixSharedListwiseTrainer(
            tiny_llama(len(tokenizer)), args=args, train_dataset=pair_rows,
            processing_class=tokenizer,
        )  # fmt: skip
    assert e.value.argument == "train_dataset"
    ipo = trl.DPOConfig(**{**common_args(tmp_path), "bf16": False, "loss_type": ["ipo"]})
    lists = ptrl.listwise_dataset(groups_of(split, 4), tokenizer, args)
    with pytest.raises(ValueError, match="LiPO"):
        ptrl.PrefixSharedListwiseTrainer(
            tiny_llama(len(tokenizer)), args=ipo, train_dataset=lists, processing_class=tokenizer
        )


def test_listwise_trainer_runs_under_the_trainers_bf16_autocast(split, tokenizer, tmp_path):  # noqa: F811
    base = {**common_args(tmp_path), "max_length": None, "max_steps": 1}
    lists = ptrl.listwise_dataset(groups_of(split, 2), tokenizer, trl.DPOConfig(**base))
    pair_rows = ptrl.dpo_dataset(split, tokenizer, trl.DPOConfig(**base))

    def first_step(cls: type, data: Dataset) -> tuple[dict, set]:
        return first_step_dtypes(cls(
            tiny_llama(len(tokenizer)), ref_model=tiny_llama(len(tokenizer)),
            args=trl.DPOConfig(**base, bf16=True), train_dataset=data, processing_class=tokenizer,
        ))  # fmt: skip

    ours, dtypes = first_step(ptrl.PrefixSharedListwiseTrainer, lists)
    assert dtypes == {torch.bfloat16}  # as DPOTrainer's forward runs
    dpo, dpo_dtypes = first_step(ptrl.DPOTrainer, pair_rows)
    assert dpo_dtypes == {torch.bfloat16}
    assert ours["loss"] == pytest.approx(LAMBDA_OF_A_PAIR * dpo["loss"], rel=2e-2)


LAYOUT_CASES = [
    ("KTOTrainer", "pairs", "dpo_dataset's output"),
    ("KTOTrainer", "lists", "listwise_dataset's output"),
    ("DPOTrainer", "unpaired", "kto_dataset's output"),
    ("DPOTrainer", "lists", "PrefixSharedListwiseTrainer"),
    ("PrefixSharedDPOTrainer", "lists", "PrefixSharedListwiseTrainer"),
    ("PrefixSharedListwiseTrainer", "unpaired", "listwise_dataset"),
    ("PrefixSharedCPOTrainer", "unpaired", "dpo_dataset"),
]


@pytest.mark.parametrize(("name", "layout", "says"), LAYOUT_CASES)
def test_each_trainer_refuses_the_other_layouts_by_name(
    split, padded_tokenizer, tmp_path, name, layout, says
):
    tok = padded_tokenizer
    config = {**common_args(tmp_path), "bf16": False}
    made = {
        "pairs": lambda: ptrl.dpo_dataset(split, tok, trl.DPOConfig(**config)),
        "unpaired": lambda: ptrl.kto_dataset(split, tok, trl.KTOConfig(**config)),
        "lists": lambda: ptrl.listwise_dataset(groups_of(split, 4), tok, trl.DPOConfig(**config)),
    }[layout]()
    args = {"KTOTrainer": trl.KTOConfig, "PrefixSharedCPOTrainer": CPOConfig}.get(
        name, trl.DPOConfig
    )(**config)
    extra = {} if "CPO" in name else {"ref_model": tiny_llama(len(tok))}
    with pytest.raises(ValueError, match=says) as e:
        getattr(ptrl, name)(
            tiny_llama(len(tok)), args=args, train_dataset=made, processing_class=tok, **extra
        )
    assert e.value.argument == "train_dataset"


# Reward models on groups ------------------------------------------------------------


def whole_pairs(lists: Dataset) -> Dataset:
    """Every ordered pair of every group as TRL's RewardTrainer reads a pair: the whole
    sequences, prompt included, in ``chosen_ids`` / ``rejected_ids``."""
    chosen, rejected = [], []
    for row in lists:
        for i, better in enumerate(row["completions"]):
            for j, worse in enumerate(row["completions"]):
                if row["scores"][i] > row["scores"][j]:
                    chosen.append(row["prompt_ids"] + better)
                    rejected.append(row["prompt_ids"] + worse)
    return Dataset.from_dict({"chosen_ids": chosen, "rejected_ids": rejected})


@pytest.mark.parametrize("coefficient", [None, 0.01])
def test_reward_trainer_on_groups_is_trls_loss_over_their_pairs(
    split,
    tokenizer,  # noqa: F811
    tmp_path,
    coefficient,
):
    from test_trl import tiny_reward_model

    args = trl.RewardConfig(**{**common_args(tmp_path), "max_length": None, "bf16": False,
                               "center_rewards_coefficient": coefficient})  # fmt: skip
    lists = ptrl.listwise_dataset(
        groups_of(split, 4), tokenizer, trl.DPOConfig(**common_args(tmp_path))
    )
    pad = tokenizer.eos_token_id
    ours = ptrl.PrefixSharedRewardTrainer(
        tiny_reward_model(len(tokenizer), pad), args=args, train_dataset=lists,
        processing_class=tokenizer,
    )  # fmt: skip
    batch = lists.select(range(3))
    theirs = trl.RewardTrainer(
        tiny_reward_model(len(tokenizer), pad), args=args, train_dataset=whole_pairs(batch),
        processing_class=tokenizer,
    )  # fmt: skip
    pairs_of_batch = whole_pairs(batch)
    assert len(pairs_of_batch) == 3 * 6  # four distinct labels: six ordered pairs a group
    losses, logged = [], []
    for trainer, rows in ((theirs, pairs_of_batch), (ours, batch)):
        inputs = trainer.data_collator(list(rows))
        trainer.model.train()
        with torch.no_grad():
            losses.append(float(trainer.compute_loss(trainer.model, inputs)))
        logged.append({k: v[-1] for k, v in trainer._metrics["train"].items()})
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    # (num_tokens differs by design: TRL's rows repeat each completion in every pair.)
    for key in ("accuracy", "margin"):
        assert logged[1][key] == pytest.approx(logged[0][key], rel=1e-5, abs=1e-7), key


def test_reward_trainer_on_groups_of_two_trains_as_trls_on_pairs(split, tokenizer, tmp_path):  # noqa: F811
    from test_trl import tiny_reward_model

    args = trl.RewardConfig(**{**common_args(tmp_path), "max_length": None, "bf16": False})
    lists = ptrl.listwise_dataset(
        groups_of(split, 2), tokenizer, trl.DPOConfig(**common_args(tmp_path))
    )
    pad = tokenizer.eos_token_id

    def trainer(cls: type, data: Dataset) -> transformers.Trainer:
        return cls(tiny_reward_model(len(tokenizer), pad), args=args, train_dataset=data,
                   processing_class=tokenizer)  # fmt: skip

    (t_steps, t_weights) = run(trainer(trl.RewardTrainer, whole_pairs(lists)))
    (o_steps, o_weights) = run(trainer(ptrl.PrefixSharedRewardTrainer, lists))
    for t, o in zip(t_steps, o_steps, strict=True):
        assert set(o) == set(t)
        for key in ("loss", "mean_reward", "min_reward", "max_reward", "margin", "accuracy"):
            assert o[key] == pytest.approx(t[key], rel=1e-5, abs=1e-6), key
        assert o["num_tokens"] == t["num_tokens"]
    assert_close_weights(t_weights, o_weights)


def test_prefix_shared_dpo_accumulates_gradients_as_dpo_trainer(pairs, tokenizer, tmp_path):  # noqa: F811
    # Two micro-batches of 2 per step: the same losses and weights as TRL's trainer.
    args = trl.DPOConfig(**{**common_args(tmp_path), "max_length": 128, "bf16": False,
                            "per_device_train_batch_size": 2, "gradient_accumulation_steps": 2,
                            "max_steps": 3})  # fmt: skip
    train = ptrl.dpo_dataset(pairs.slice(0, 16), tokenizer, args, rules="trl")

    def trainer(cls: type) -> transformers.Trainer:
        return cls(tiny_llama(len(tokenizer)), ref_model=tiny_llama(len(tokenizer)), args=args,
                   train_dataset=train, processing_class=tokenizer)  # fmt: skip

    (p_steps, p_weights), (s_steps, s_weights) = (
        run(trainer(ptrl.DPOTrainer)),
        run(trainer(ptrl.PrefixSharedDPOTrainer)),
    )
    assert len(p_steps) == 3
    for p, s in zip(p_steps, s_steps, strict=True):
        assert s["loss"] == pytest.approx(p["loss"], rel=1e-5)
        assert s["num_tokens"] == p["num_tokens"]
    assert_close_weights(p_weights, s_weights)


def test_reward_trainer_on_groups_runs_under_the_trainers_bf16_autocast(
    split,
    tokenizer,  # noqa: F811
    tmp_path,
):
    from test_trl import tiny_reward_model

    args = trl.RewardConfig(**{**common_args(tmp_path), "max_length": None, "max_steps": 1})
    assert args.bf16  # TRL's default, even on a CPU
    lists = ptrl.listwise_dataset(
        groups_of(split, 2), tokenizer, trl.DPOConfig(**common_args(tmp_path))
    )
    pad = tokenizer.eos_token_id
    runs = [
        first_step_dtypes(cls(tiny_reward_model(len(tokenizer), pad), args=args,
                              train_dataset=data, processing_class=tokenizer))
        for cls, data in ((trl.RewardTrainer, whole_pairs(lists)),
                          (ptrl.PrefixSharedRewardTrainer, lists))
    ]  # fmt: skip
    (t_step, t_dtypes), (o_step, o_dtypes) = runs
    assert t_dtypes == o_dtypes == {torch.bfloat16}
    assert o_step["loss"] == pytest.approx(t_step["loss"], rel=2e-2)


@pytest.mark.parametrize("name", ["PrefixSharedDPOTrainer", "PrefixSharedListwiseTrainer"])
def test_a_missing_reference_model_is_refused_not_replaced_by_the_policy(
    split,
    tokenizer,  # noqa: F811
    tmp_path,
    name,
):
    # TRL leaves ref_model None for a PEFT policy; the prompt-once pass cannot disable
    # adapters, and scoring against the policy itself would make every log-ratio 0.
    args = trl.DPOConfig(**{**common_args(tmp_path), "bf16": False, "max_length": None})
    rows = (
        ptrl.listwise_dataset(groups_of(split, 3), tokenizer, args)
        if "Listwise" in name
        else ptrl.dpo_dataset(split, tokenizer, args)
    )
    trainer = getattr(ptrl, name)(
        tiny_llama(len(tokenizer)), ref_model=tiny_llama(len(tokenizer)), args=args,
        train_dataset=rows, processing_class=tokenizer,
    )  # fmt: skip
    trainer.ref_model = None
    batch = trainer.data_collator([rows[i] for i in range(2)])
    with pytest.raises(ValueError, match="no reference model") as e:
        trainer.compute_loss(trainer.model, batch)
    assert e.value.argument == "ref_model"
