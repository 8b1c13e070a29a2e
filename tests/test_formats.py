"""prefcore.formats: detection, validation, prompt extraction and transcripts, checked
against plain-Python references and the embedded HH-RLHF sample."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prefcore import formats
from prefcore.data import load_hh_rlhf

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))


def reference_split(chosen: str, rejected: str) -> tuple[str, str, str] | str:
    """Plain-Python prompt split of HH-style transcripts (independent reference)."""
    if chosen == rejected:
        return "identical"
    shared = os.path.commonprefix([chosen, rejected])  # noqa: RUF071 (characters are meant)
    cut = shared.rfind("\n\nAssistant:")
    if cut < 0:
        return "no_shared_prompt"
    cut += len("\n\nAssistant:")
    if "\n\nHuman:" in chosen[cut:] or "\n\nHuman:" in rejected[cut:]:
        return "diverges_before_last_turn"
    return chosen[:cut], chosen[cut:], rejected[cut:]


def test_extract_prompt_on_the_hh_sample_agrees_with_a_plain_reference() -> None:
    t = load_hh_rlhf()
    split = formats.extract_prompt(t)
    got = split.table.to_pylist()
    reasons = split.reason.to_pylist()
    unclean = 0
    for row, (c, r) in enumerate(
        zip(t.column("chosen").to_pylist(), t.column("rejected").to_pylist())
    ):
        want = reference_split(c, r)
        if isinstance(want, str):
            unclean += 1
            assert reasons[row] == want
            assert got[row] == {"prompt": None, "chosen": None, "rejected": None}
        else:
            assert reasons[row] is None
            assert (got[row]["prompt"], got[row]["chosen"], got[row]["rejected"]) == want
    # Every pair of this sample splits cleanly (counted, not assumed).
    assert unclean == 0
    assert split.stats == {"rows": 2312, "clean": 2312, "by_reason": {}}
    assert split.clean().num_rows == 2312


def test_extract_prompt_reports_rows_without_a_clean_split() -> None:
    t = {
        "chosen": [
            "\n\nHuman: a\n\nAssistant: b",
            "\n\nHuman: a\n\nAssistant: x\n\nHuman: c\n\nAssistant: d",
            "\n\nHuman: a",
            "\n\nHuman: a\n\nAssistant: ok",
        ],
        "rejected": [
            "\n\nHuman: a\n\nAssistant: b",
            "\n\nHuman: a\n\nAssistant: y\n\nHuman: c\n\nAssistant: d",
            "\n\nHuman: b",
            "\n\nHuman: a\n\nAssistant: no",
        ],
    }
    split = formats.extract_prompt(t)
    assert split.reason.to_pylist() == [
        "identical",
        "diverges_before_last_turn",
        "no_shared_prompt",
        None,
    ]
    assert split.stats["clean"] == 1
    assert split.table.column("chosen").to_pylist() == [None, None, None, " ok"]


def test_conversational_extract_matches_the_string_split() -> None:
    t = load_hh_rlhf().slice(0, 200)
    conv = pa.table(
        {
            "chosen": formats.parse_transcript(t.column("chosen")),
            "rejected": formats.parse_transcript(t.column("rejected")),
        }
    )
    text = formats.extract_prompt(t).table.to_pylist()
    split = formats.extract_prompt(conv)
    assert split.reason.null_count == 200
    for want, got in zip(text, split.table.to_pylist()):
        assert got["prompt"][-1]["role"] == "user"
        assert formats.render_transcript(got["prompt"]) + "\n\nAssistant:" == want["prompt"]
        assert formats.render_transcript(got["chosen"]) == "\n\nAssistant:" + want["chosen"]
        assert formats.render_transcript(got["rejected"]) == "\n\nAssistant:" + want["rejected"]


def test_conversational_split_backs_off_shared_assistant_messages() -> None:
    c = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "same"},
        {"role": "assistant", "content": "x"},
    ]
    r = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "same"},
        {"role": "assistant", "content": "y"},
    ]
    out = formats.extract_prompt(
        pa.table({"chosen": pa.array([c], MESSAGES), "rejected": pa.array([r], MESSAGES)})
    )
    row = out.table.to_pylist()[0]
    assert row["prompt"] == [{"role": "user", "content": "q"}]
    assert row["chosen"] == c[1:]
    assert row["rejected"] == r[1:]


def test_transcripts_round_trip_on_the_hh_sample() -> None:
    t = load_hh_rlhf()
    for name in ("chosen", "rejected"):
        parsed = formats.parse_transcript(t.column(name))
        assert parsed.type == MESSAGES
        assert formats.render_transcript(parsed).to_pylist() == t.column(name).to_pylist()


contents = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20).filter(
    lambda s: (
        "\n\nHuman:" not in s
        and "\n\nAssistant:" not in s
        and not s.endswith("\n\nHuman")
        and not s.endswith("\n\nAssistant")
        and not s.endswith("\n")
    )
)


@given(
    st.lists(st.tuples(st.sampled_from(["user", "assistant"]), contents), min_size=1, max_size=6)
)
def test_parse_inverts_render(messages: list[tuple[str, str]]) -> None:
    msgs = [{"role": r, "content": c} for r, c in messages]
    assert formats.parse_transcript(formats.render_transcript(msgs)) == msgs


def test_parse_and_render_with_other_speaker_names() -> None:
    text = "\n\nUser: hi\n\nBot: hello"
    msgs = formats.parse_transcript(text, roles=("User", "Bot"))
    assert msgs == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    assert formats.render_transcript(msgs, roles=("User", "Bot")) == text


def test_transcript_errors_name_the_row() -> None:
    with pytest.raises(ValueError, match="row 1: no 'Human:' or 'Assistant:' turn marker"):
        formats.parse_transcript(pa.array(["\n\nHuman: a", "plain text"]))
    with pytest.raises(ValueError, match="row 0: text before the first turn marker"):
        formats.parse_transcript("preamble\n\nHuman: a")
    with pytest.raises(ValueError, match="role 'system' has no transcript marker"):
        formats.render_transcript([{"role": "system", "content": "be nice"}])
    with pytest.raises(TypeError, match="both strings or both lists"):
        formats.extract_prompt({"chosen": ["a"], "rejected": [1]})
    with pytest.raises(ValueError, match="column 'chosen', row 0: null transcript"):
        formats.extract_prompt({"chosen": pa.array([None], pa.string()), "rejected": ["a"]})


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ({"prompt": ["q"], "chosen": ["a"], "rejected": ["b"]}, "pairwise"),
        ({"chosen": ["a"], "rejected": ["b"]}, "transcript"),
        ({"prompt": ["q"], "completion": ["a"], "label": [True]}, "unpaired"),
        ({"prompt": ["q"], "completions": [["a", "b"]], "scores": [[1, 2]]}, "scored"),
        ({"completions": [["a", "b"]], "ranking": [[2, 1]]}, "ranked"),
    ],
)
def test_detect_and_validate(columns: dict[str, list[object]], expected: str) -> None:
    info = formats.detect(columns)
    assert info.format == expected
    assert formats.validate(columns).format == expected
    assert not info.conversational


def test_detect_conversational_and_unknown() -> None:
    def conv(role: str, text: str) -> pa.Array:
        return pa.array([[{"role": role, "content": text}]], MESSAGES)

    t = pa.table({"prompt": conv("user", "q"), "chosen": conv("assistant", "a"),
                  "rejected": conv("assistant", "b")})  # fmt: skip
    assert formats.detect(t).conversational
    with pytest.raises(ValueError, match="no preference format matches the columns \\['text'\\]"):
        formats.detect({"text": ["a"]})


def test_validate_errors_name_column_and_row() -> None:
    with pytest.raises(ValueError, match="column 'chosen', row 1: null value"):
        formats.validate({"prompt": ["q", "q"], "chosen": ["a", None], "rejected": ["b", "c"]})
    with pytest.raises(TypeError, match="column 'rejected' has type int64"):
        formats.validate({"prompt": ["q"], "chosen": ["a"], "rejected": [3]})
    with pytest.raises(ValueError, match="column 'scores', row 1: 1 values for 2 entries"):
        formats.validate({"completions": [["a"], ["b", "c"]], "scores": [[1.0], [2.0]]})
    with pytest.raises(ValueError, match="column 'scores', row 1: NaN"):
        formats.validate(
            {"completions": [["a"], ["b", "c"]], "scores": [[1.0], [2.0, float("nan")]]}
        )
    with pytest.raises(ValueError, match="unpaired data needs column 'label'"):
        formats.validate({"prompt": ["q"], "completion": ["a"]}, "unpaired")
    with pytest.raises(ValueError, match="format must be one of"):
        formats.validate({"prompt": ["q"]}, "listwise")  # type: ignore[arg-type]
