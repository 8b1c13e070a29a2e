"""prefcore's byte-level BPE encoder against the ``tokenizers`` library: the same ids on
the HH sample and on generated text, for each option it implements; the tokenizer's
own call for each one it does not."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import (
    AddedToken,
    Tokenizer,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

from prefcore._byte_level import ByteLevelEncoder
from prefcore.data import load_hh_rlhf
from prefcore.tokenize import tokenize_pairs


def train(
    texts: list[str], *, alphabet: bool, vocab: int = 900, unk: str | None = "<unk>"
) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=unk))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=["<eos>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if alphabet else [],
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return tok


def with_model(tok: Tokenizer, **changes) -> Tokenizer:
    spec = json.loads(tok.to_str())
    spec["model"].update(changes)
    return Tokenizer.from_str(json.dumps(spec))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    hh = load_hh_rlhf()
    return hh.column("chosen").to_pylist() + hh.column("rejected").to_pylist()


@pytest.fixture(scope="module")
def tokenizers(texts) -> dict[str, Tokenizer]:
    partial = train(texts[:300], alphabet=False)
    out = {
        "full alphabet": train(texts[:1500], alphabet=True, vocab=3000),
        "unknown bytes": partial,
        "unknown bytes fused": with_model(partial, fuse_unk=True),
        "unknown bytes dropped": with_model(partial, unk_token=None),
        "ignore merges": with_model(train(texts[:800], alphabet=True), ignore_merges=True),
    }
    templated = train(texts[:800], alphabet=True)
    templated.add_special_tokens(["<bos>"])
    templated.add_tokens(["Assistant:", AddedToken("<sep>", normalized=True)])
    templated.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>",
        special_tokens=[("<bos>", templated.token_to_id("<bos>")), ("<eos>", 0)],
    )
    out["added tokens and template"] = templated
    return out


def ours(tok: Tokenizer, batch: list[str], specials: bool) -> list[list[int]]:
    enc = ByteLevelEncoder(tok)
    assert enc.encoder is not None, enc.reason
    return enc.encoder.encode(pa.array(batch, pa.string()), "text", specials).to_pylist()


def theirs(tok: Tokenizer, batch: list[str], specials: bool) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(batch, add_special_tokens=specials)]


@pytest.mark.parametrize(
    "name",
    [
        "full alphabet",
        "unknown bytes",
        "unknown bytes fused",
        "unknown bytes dropped",
        "ignore merges",
        "added tokens and template",
    ],
)
def test_the_hh_sample_encodes_to_the_tokenizers_ids(tokenizers, texts, name) -> None:
    tok = tokenizers[name]
    for specials in (False, True):
        assert ours(tok, texts, specials) == theirs(tok, texts, specials)


fragment = st.one_of(
    st.sampled_from(list(" \t\n\r\x0b\x0c\u00a0\u2003\u3000\u0085'sStT1 é漢👍<>!?-_.:")),
    st.sampled_from(["'re", "'ll", "<eos>", "<bos>", "<sep>", "Assistant:", "\n\nHuman: "]),
    st.characters(codec="utf-8"),
)
unicode_text = st.lists(fragment, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(unicode_text, min_size=1, max_size=8))
def test_generated_text_encodes_to_the_tokenizers_ids(tokenizers, batch) -> None:
    for name, tok in tokenizers.items():
        for specials in (False, True):
            assert ours(tok, batch, specials) == theirs(tok, batch, specials), name


def test_long_runs_merge_like_the_tokenizer(tokenizers) -> None:
    tok = tokenizers["full alphabet"]
    batch = ["=" * 5000, "a" * 3000 + " b", " " * 4000 + "x", "ab" * 2500]
    assert ours(tok, batch, False) == theirs(tok, batch, False)


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda t: setattr(t, "normalizer", normalizers.NFC()), "a normalizer"),
        (
            lambda t: setattr(t, "pre_tokenizer", pre_tokenizers.Metaspace()),
            "pre-tokenizer Metaspace",
        ),
        (lambda t: t.add_tokens([AddedToken("<x>", lstrip=True)]), "strips or is a word"),
        (lambda t: t.enable_truncation(16), "truncation"),
        (
            lambda t: setattr(
                t, "post_processor", processors.BertProcessing(("<eos>", 0), ("<eos>", 0))
            ),
            "post-processor BertProcessing",
        ),
    ],
)
def test_other_tokenizers_are_encoded_by_the_tokenizer(texts, change, reason) -> None:
    tok = train(texts[:200], alphabet=True, vocab=400)
    change(tok)
    rows = {"prompt": texts[:5], "chosen": texts[5:10], "rejected": texts[10:15]}
    out = tokenize_pairs(rows, tok, eos_token_id=0)
    assert out.stats["encoder"].startswith("tokenizer (") and reason in out.stats["encoder"]
    assert out.table.column("prompt_ids").to_pylist() == theirs(tok, texts[:5], True)


def test_a_disagreeing_sample_falls_back_to_the_tokenizer(tokenizers) -> None:
    enc = ByteLevelEncoder(tokenizers["full alphabet"])
    wrong = enc.encode(["hello"], False, lambda batch: [[1, 2, 3] for _ in batch])
    assert wrong is None and enc.encoder is None and "differed" in (enc.reason or "")


def test_tokenize_pairs_reports_its_encoder(tokenizers, texts) -> None:
    tok = tokenizers["full alphabet"]
    rows = {"prompt": texts[:20], "chosen": texts[20:40], "rejected": texts[40:60]}
    out = tokenize_pairs(rows, tok, eos_token_id=0)
    assert out.stats["encoder"] == "prefcore"
    assert out.table.column("chosen_ids").to_pylist() == [
        [*ids, 0] for ids in theirs(tok, texts[20:40], False)
    ]


def _encode_in_child(args: tuple[str, list[str]]) -> list[list[int]]:
    spec, batch = args
    return ours(Tokenizer.from_str(spec), batch, False)


def test_forked_workers_encode_after_the_parent_did(tokenizers, texts) -> None:
    # datasets.map(num_proc=...) forks a process whose parent already ran the encoder
    # on its thread pool: the child must start its own, not wait on the parent's.
    import multiprocessing

    tok = tokenizers["full alphabet"]
    want = ours(tok, texts[:400], False)
    jobs = [(tok.to_str(), texts[i : i + 100]) for i in range(0, 400, 100)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(_encode_in_child, jobs).get(timeout=120)
    assert [ids for part in got for ids in part] == want
