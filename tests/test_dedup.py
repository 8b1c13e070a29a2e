"""Dedup against independent plain-Python references: the normaliser against
unicodedata + str.lower, exact clusters against dict grouping, degenerate pairs
against direct comparison; and the real HH-RLHF sample."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefcore.data import load_hh_rlhf
from prefcore.dedup import Normalization, degenerate_pairs, exact, normalize

# Characters whose properties agree between Python's Unicode tables and Rust's
# (avoiding code points assigned in recent Unicode versions): ASCII, Latin-1,
# full-width forms, ligatures, Greek with final sigma, CJK, Arabic-Indic digits,
# typographic punctuation, emoji, and Unicode spaces.
ALPHABET = (
    [chr(c) for c in range(0x20, 0x7F)]
    + list("\t\n\r\x0b\x0c\u00a0\u2003\u3000\u0085")
    + list("ÀÉÎõüßÆ½²µ")
    + list("ＡＢｃｄ１２！？")
    + list("ﬁﬂ")
    + list("ΑΣΟΔσςΩ")
    + list("中文日本語。、")
    + list("٠١٢٣")
    + list("«»—–…‘’“”¿¡")
    + list("🙂👍")
    + list("İı")
)
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=30)


def reference(text: str, n: Normalization) -> str:
    if n.unicode:
        text = unicodedata.normalize(n.unicode, text)
    if n.lowercase:
        text = text.lower()
    kept = []
    for c in text:
        category = unicodedata.category(c)
        if n.strip_punctuation and category.startswith("P"):
            continue
        kept.append("0" if n.digits_to_zero and category == "Nd" else c)
    text = "".join(kept)
    return " ".join(text.split()) if n.collapse_whitespace else text


options = st.builds(
    Normalization,
    lowercase=st.booleans(),
    unicode=st.sampled_from(["NFKC", "NFC", "NFD", "NFKD", None]),
    collapse_whitespace=st.booleans(),
    strip_punctuation=st.booleans(),
    digits_to_zero=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=8), options)
def test_normalize_equals_the_python_reference(values: list[str], n: Normalization) -> None:
    got = normalize(
        values,
        lowercase=n.lowercase,
        unicode=n.unicode,
        collapse_whitespace=n.collapse_whitespace,
        strip_punctuation=n.strip_punctuation,
        digits_to_zero=n.digits_to_zero,
    ).to_pylist()
    assert got == [reference(v, n) for v in values]


def python_clusters(rows: list[tuple[str, ...]], keep: str) -> tuple[list[int], list[int]]:
    first: dict[tuple[str, ...], int] = {}
    last: dict[tuple[str, ...], int] = {}
    ids: dict[tuple[str, ...], int] = {}
    for i, key in enumerate(rows):
        first.setdefault(key, i)
        ids.setdefault(key, len(ids))
        last[key] = i
    chosen = first if keep == "first" else last
    return [ids[k] for k in rows], [chosen[k] for k in rows]


small_texts = st.sampled_from(["a", "A", " a ", "b", "B!", "b!", "", "Ａ", "ab", "a b"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(small_texts, small_texts), max_size=30),
    st.sampled_from(["first", "last"]),
    st.booleans(),
)
def test_exact_equals_python_grouping(rows: list, keep: str, normalized: bool) -> None:
    table = {"prompt": [r[0] for r in rows], "chosen": [r[1] for r in rows]}
    n = Normalization() if normalized else None
    result = exact(table, ["prompt", "chosen"], normalize=n, keep=keep)  # type: ignore[arg-type]
    keys = [tuple(reference(v, n) if n else v for v in r) for r in rows]
    ids, reps = python_clusters(keys, keep)
    assert result.cluster_id.to_pylist() == ids
    assert result.representative.to_pylist() == reps
    assert result.keep.to_pylist() == [reps[i] == i for i in range(len(rows))]
    assert result.stats["removed"] == len(rows) - len(set(keys))
    assert result.apply(table).num_rows == len(set(keys))


def test_exact_on_conversations_equals_exact_on_their_rendering() -> None:
    conv = [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello "}],
        [{"role": "user", "content": "Hi"}],
        [{"role": "assistant", "content": "Hi"}],
    ]
    rendered = ["\n".join(f"{m['role']}: {m['content']}" for m in c) for c in conv]
    by_conv = exact({"prompt": pa.array(conv)}).cluster_id.to_pylist()
    by_text = exact({"prompt": rendered}).cluster_id.to_pylist()
    assert by_conv == by_text == [0, 0, 1, 2]
    assert normalize(pa.array(conv[:1])).to_pylist() == ["user: hi assistant: hello"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(small_texts, small_texts), max_size=20))
def test_degenerate_pairs_equal_direct_comparison(rows: list) -> None:
    table = {"chosen": [r[0] for r in rows], "rejected": [r[1] for r in rows]}
    n = Normalization()
    expected = []
    for c, r in rows:
        c, r = reference(c, n), reference(r, n)
        if not c and not r:
            expected.append("both_empty")
        elif not c:
            expected.append("empty_chosen")
        elif not r:
            expected.append("empty_rejected")
        else:
            expected.append("identical" if c == r else None)
    result = degenerate_pairs(table)
    assert result.reason.to_pylist() == expected
    assert result.keep.to_pylist() == [e is None for e in expected]
    assert result.stats["removed"] == sum(e is not None for e in expected)


def test_real_hh_rlhf_duplicates_match_a_python_count() -> None:
    table = load_hh_rlhf()
    n = Normalization()
    chosen = [reference(t, n) for t in table.column("chosen").to_pylist()]
    rejected = [reference(t, n) for t in table.column("rejected").to_pylist()]
    result = exact(table, ["chosen"])
    assert result.stats["clusters"] == len(set(chosen))
    pairs = exact(table, ["chosen", "rejected"])
    assert pairs.stats["clusters"] == len(set(zip(chosen, rejected)))
    degenerate = degenerate_pairs(table)
    assert degenerate.stats["removed"] == sum(
        c == r or not c or not r for c, r in zip(chosen, rejected)
    )


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"column 'prompt', row 1: null text"):
        exact({"prompt": ["a", None]})
    with pytest.raises(TypeError, match=r"column 'prompt' has type Int64; expected strings"):
        exact({"prompt": [1, 2]})
    with pytest.raises(ValueError, match=r"column 'prompt' not found"):
        exact({"text": ["a"]})
    with pytest.raises(ValueError, match="keep must be one of 'first', 'last'; not 'middle'"):
        exact({"prompt": ["a"]}, keep="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unicode must be one of"):
        normalize(["a"], unicode="NFX")
    with pytest.raises(TypeError, match="normalize must be"):
        exact({"prompt": ["a"]}, normalize=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="this result is for 1"):
        exact({"prompt": ["a"]}).apply({"prompt": ["a", "b"]})


def test_more_bad_input_is_named() -> None:
    from prefcore.dedup import contamination, jaccard_estimate, optimal_bands

    with pytest.raises(ValueError, match=r"column 'rejected' not found"):
        degenerate_pairs({"chosen": ["a"], "answer": ["b"]})
    with pytest.raises(ValueError, match=r"column 'chosen', row 0: null text"):
        degenerate_pairs({"chosen": [None], "rejected": ["b"]})
    with pytest.raises(ValueError, match=r"column 'texts', row 1: null text"):
        normalize(["a", None])
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        optimal_bands(1.5, 128)
    with pytest.raises(ValueError, match="same non-empty shape"):
        jaccard_estimate([1, 2], [1, 2, 3])
    result = contamination({"prompt": ["a"]}, {"prompt": ["a"]})
    with pytest.raises(ValueError, match="this result is for 1"):
        result.apply({"prompt": ["a", "b"]})
