"""prefcore.tokenize on the embedded HH-RLHF sample, with tokenizers trained in the test
(nothing is downloaded). Expected ids come from calling the tokenizer directly, row by
row, and applying the documented rules in plain Python."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from prefcore.data import load_hh_rlhf
from prefcore.formats import extract_prompt
from prefcore.tokenize import tokenize_pairs, tokenize_unpaired

EOS = 1


@pytest.fixture(scope="module")
def hh() -> pa.Table:
    return extract_prompt(load_hh_rlhf()).clean()


@pytest.fixture(scope="module")
def bpe(hh: pa.Table) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500, special_tokens=["<pad>", "<eos>", "<unk>"], show_progress=False
    )
    texts = hh.column("prompt").to_pylist() + hh.column("chosen").to_pylist()
    tok.train_from_iterator(texts, trainer)
    return tok


def reference_row(tok, prompt, completions, max_length, max_prompt_length, keep):
    """The documented rules, written out plainly for one row."""
    p = tok.encode(prompt).ids
    cs = []
    for c in completions:
        ids = tok.encode(c, add_special_tokens=False).ids
        cs.append(ids if ids and ids[-1] == EOS else [*ids, EOS])
    if max_length is None:
        return p, cs
    longest = max(len(c) for c in cs)
    budget = (
        max_prompt_length
        if max_prompt_length is not None
        else max(max_length - longest, max_length // 2)
    )
    if len(p) > budget:
        p = p[:budget] if keep == "keep_start" else p[len(p) - budget :]
    room = max_length - len(p)
    return p, [c if len(c) <= room else [*c[: room - 1], EOS] for c in cs]


@pytest.mark.parametrize(
    ("max_length", "max_prompt_length", "keep"),
    [
        (None, None, "keep_start"),
        (256, None, "keep_start"),
        (200, 64, "keep_end"),
        (96, None, "keep_end"),
    ],
)
def test_pairs_match_the_rules_on_the_real_sample(hh, bpe, max_length, max_prompt_length, keep):
    out = tokenize_pairs(
        hh,
        bpe,
        eos_token_id=EOS,
        max_length=max_length,
        max_prompt_length=max_prompt_length,
        truncation=keep,
    )
    t = out.table
    rows = t.num_rows
    assert rows == hh.num_rows == 2312
    prompts, chosen, rejected = (hh.column(c).to_pylist() for c in ("prompt", "chosen", "rejected"))
    got_p, got_c, got_r = (
        t.column(c).to_pylist() for c in ("prompt_ids", "chosen_ids", "rejected_ids")
    )
    cut_c = 0
    for i in range(rows):
        p, (c, r) = reference_row(
            bpe, prompts[i], [chosen[i], rejected[i]], max_length, max_prompt_length, keep
        )
        assert (got_p[i], got_c[i], got_r[i]) == (p, c, r), i
        if max_length is not None:
            assert len(p) + max(len(c), len(r)) <= max_length
        assert c[-1] == EOS and r[-1] == EOS
        full = len(bpe.encode(chosen[i], add_special_tokens=False).ids) + 1
        cut_c += len(c) < full
    assert out.stats["truncated_chosen"] == cut_c == sum(t.column("truncated_chosen").to_pylist())
    if max_length is not None:
        assert cut_c > 0  # the sample is long enough to exercise truncation
    assert out.stats["chosen_tokens"] == sum(map(len, got_c))


def test_joint_boundary_counts_merges_across_the_prompt_end():
    # "hello" is one token, so a prompt ending in "hel" merges with a completion "lo".
    vocab = {"<eos>": 0, "<unk>": 1, "hel": 2, "lo": 3, "hello": 4, "a": 5, "b": 6}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="<unk>", continuing_subword_prefix=""))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    table = {"prompt": ["a hel", "a b"], "chosen": ["lo", " a"], "rejected": ["lo b", " b"]}
    joint = tokenize_pairs(table, tok, eos_token_id=0, boundary="joint")
    sep = tokenize_pairs(table, tok, eos_token_id=0, boundary="separate")
    assert joint.stats["boundary_moved"] == 1
    # Jointly, "hello" is one token: the completion starts where the joint ids leave
    # the prompt's ids, so the prompt loses its last token for both completions.
    assert joint.table.column("prompt_ids").to_pylist() == [[5], [5, 6]]
    assert joint.table.column("chosen_ids").to_pylist() == [[4, 0], [5, 0]]
    assert joint.table.column("rejected_ids").to_pylist() == [[4, 6, 0], [6, 0]]
    assert sep.stats["boundary_moved"] == 0
    assert sep.table.column("chosen_ids").to_pylist() == [[3, 0], [5, 0]]


def test_implicit_prompt_pairs_are_split_first(bpe):
    raw = load_hh_rlhf().slice(0, 50)
    out = tokenize_pairs(raw, bpe, eos_token_id=EOS)
    split = extract_prompt(raw).table
    assert out.table.column("prompt").to_pylist() == split.column("prompt").to_pylist()
    assert (
        out.table.column("prompt_ids")[0].as_py()
        == bpe.encode(split.column("prompt")[0].as_py()).ids
    )


def test_unpaired_rows_keep_their_label(hh, bpe):
    t = pa.table(
        {
            "prompt": hh.column("prompt").slice(0, 20),
            "completion": hh.column("chosen").slice(0, 20),
            "label": [i % 2 == 0 for i in range(20)],
        }
    )
    out = tokenize_unpaired(t, bpe, eos_token_id=EOS, max_length=128)
    assert out.table.column("label").to_pylist() == t.column("label").to_pylist()
    for i, ids in enumerate(out.table.column("completion_ids").to_pylist()):
        assert ids[-1] == EOS and len(ids) + len(out.table.column("prompt_ids")[i].as_py()) <= 128


def test_transformers_tokenizer_with_a_chat_template(bpe):
    transformers = pytest.importorskip("transformers")
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<eos>", pad_token="<pad>"
    )
    template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}<eos>\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    rows = {
        "prompt": [[{"role": "user", "content": "How do I bake bread?"}]],
        "chosen": [[{"role": "assistant", "content": "Mix flour and water."}]],
        "rejected": [[{"role": "assistant", "content": "No."}]],
    }
    out = tokenize_pairs(rows, hf, chat_template=template)
    prompt_text = "<user>How do I bake bread?<eos>\n<assistant>"
    assert (
        out.table.column("prompt_ids")[0].as_py()
        == bpe.encode(prompt_text, add_special_tokens=False).ids
    )
    # The template ends the turn itself (EOS, newline): no second EOS is appended.
    want = bpe.encode("Mix flour and water.<eos>\n", add_special_tokens=False).ids
    assert want.count(hf.eos_token_id) == 1
    assert out.table.column("chosen_ids")[0].as_py() == want
    # A bare tokenizers.Tokenizer has no chat template.
    with pytest.raises(TypeError, match="chat template"):
        tokenize_pairs(rows, bpe, eos_token_id=EOS)


def test_bad_input_is_reported_by_column_and_row(bpe):
    ok = {"prompt": ["hi", "yo"], "chosen": ["a", "b"], "rejected": ["c", "d"]}
    with pytest.raises(ValueError, match=r"column 'rejected', row 1: empty completion"):
        tokenize_pairs({**ok, "rejected": ["c", ""]}, bpe, eos_token_id=EOS)
    with pytest.raises(ValueError, match="no room for the completion"):
        tokenize_pairs(ok, bpe, eos_token_id=EOS, max_length=16, max_prompt_length=16)
    with pytest.raises(ValueError, match="eos_token_id"):
        tokenize_pairs(ok, bpe)
    with pytest.raises(ValueError, match=r"column 'chosen', row 0: null"):
        tokenize_pairs({**ok, "chosen": [None, "b"]}, bpe, eos_token_id=EOS)
    with pytest.raises(TypeError, match="column 'prompt' has type int64"):
        tokenize_pairs({**ok, "prompt": [1, 2]}, bpe, eos_token_id=EOS)
    with pytest.raises(ValueError, match="truncation"):
        tokenize_pairs(ok, bpe, eos_token_id=EOS, truncation="middle")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tokenizer must be"):
        tokenize_pairs(ok, object(), eos_token_id=EOS)
