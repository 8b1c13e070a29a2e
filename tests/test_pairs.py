"""prefcore.pairs: strategies against a plain-Python reference, properties, and bad
input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prefcore
from prefcore import listwise, pairs, ratings, report, rewards, unpaired

DETERMINISTIC = ["best_worst", "best_vs_rest", "top_k_bottom_k", "all_pairs"]


def reference_pairs(
    s: list[float], strategy: str, min_margin: float, ties: str, k: int
) -> list[tuple[int, int]]:
    """Plain-Python pairs of one group, for the strategies without randomness."""
    n = len(s)

    def eligible(c: int, r: int) -> bool:
        tie_ok = s[c] == s[r] and ties != "drop"
        return c != r and s[c] - s[r] >= min_margin and (s[c] > s[r] or tie_ok)

    best = s.index(max(s))
    if strategy == "best_worst":
        others = [i for i in range(n) if i != best]
        low = min(s[i] for i in others)
        worst = max(i for i in others if s[i] == low)
        return [(best, worst)] if eligible(best, worst) else []
    if strategy == "best_vs_rest":
        return [(best, r) for r in range(n) if eligible(best, r)]
    if strategy == "top_k_bottom_k":
        order = sorted(range(n), key=lambda i: -s[i])
        top = order[: min(k, n - 1)]
        bottom = order[max(n - k, len(top)) :]
        return [(c, r) for c in top for r in bottom if eligible(c, r)]
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            if s[i] > s[j] and s[i] - s[j] >= min_margin:
                out.append((i, j))
            elif s[j] > s[i] and s[j] - s[i] >= min_margin:
                out.append((j, i))
            elif s[i] == s[j] and ties == "keep" and min_margin <= 0:
                out.append((i, j))
    return out


groups = st.lists(st.lists(st.integers(0, 4), min_size=2, max_size=6), min_size=1, max_size=8)


def scored(score_lists: list[list[int]]) -> dict[str, list[object]]:
    return {
        "prompt": [f"p{g}" for g in range(len(score_lists))],
        "completions": [[f"c{g}.{i}" for i in range(len(s))] for g, s in enumerate(score_lists)],
        "scores": [[float(x) for x in s] for s in score_lists],
    }


@settings(max_examples=150, deadline=None)
@given(
    groups,
    st.sampled_from(DETERMINISTIC),
    st.sampled_from([0.0, 1.0, 2.0]),
    st.sampled_from(["drop", "keep"]),
    st.integers(1, 3),
)
def test_deterministic_strategies_match_the_reference(
    score_lists: list[list[int]], strategy: str, min_margin: float, ties: str, k: int
) -> None:
    r = pairs.from_scores(
        scored(score_lists),
        strategy=strategy,
        min_margin=min_margin,
        ties=ties,
        k=k,  # type: ignore[arg-type]
    )
    cols = r.table.select(["group_id", "chosen_index", "rejected_index"]).to_pydict()
    got = list(zip(*cols.values()))
    want = [(g, c, rj) for g, s in enumerate(score_lists) for c, rj in reference_pairs(
        [float(x) for x in s], strategy, min_margin, ties, k)]  # fmt: skip
    assert got == want
    for row in r.table.to_pylist():
        g, c, rj = row["group_id"], row["chosen_index"], row["rejected_index"]
        assert row["chosen"] == f"c{g}.{c}" and row["rejected"] == f"c{g}.{rj}"
        assert row["score_chosen"] == score_lists[g][c]
        assert row["margin"] == score_lists[g][c] - score_lists[g][rj]
    assert r.stats["prompts"] == len(score_lists)
    with_pairs = len({g for g, _, _ in want})
    assert r.stats["prompts_with_pairs"] == with_pairs
    assert r.stats["prompts_without_eligible_pair"] == len(score_lists) - with_pairs


@settings(max_examples=150, deadline=None)
@given(
    groups,
    st.sampled_from(["best_random", "random_pairs", "all_pairs", "best_worst", "top_k_bottom_k"]),
    st.sampled_from([0.0, 1.0]),
    st.sampled_from(["drop", "keep", "random"]),
    st.integers(1, 3),
    st.integers(0, 2**32),
)
def test_every_pair_obeys_margin_and_tie_rules(
    score_lists: list[list[int]], strategy: str, min_margin: float, ties: str, k: int, seed: int
) -> None:
    r = pairs.from_scores(
        scored(score_lists),
        strategy=strategy,
        min_margin=min_margin,
        ties=ties,
        k=k,
        seed=seed,  # type: ignore[arg-type]
    )
    seen = set()
    for row in r.table.to_pylist():
        assert row["chosen_index"] != row["rejected_index"]
        assert row["margin"] >= min_margin
        if ties == "drop":
            assert row["margin"] > 0
        key = (row["group_id"], row["chosen_index"], row["rejected_index"])
        assert key not in seen
        seen.add(key)
    per_group = np.bincount(r.table.column("group_id").to_numpy(), minlength=len(score_lists))
    for g, s in enumerate(score_lists):
        n_all = len(
            reference_pairs(
                [float(x) for x in s],
                "all_pairs",
                min_margin,
                "keep" if ties != "drop" else "drop",
                k,
            )
        )
        if strategy == "random_pairs":
            assert per_group[g] == min(k, n_all)
        if strategy == "best_random" and ties != "random":
            eligible = reference_pairs([float(x) for x in s], "best_vs_rest", min_margin, ties, k)
            assert per_group[g] == min(k, len(eligible))
    again = pairs.from_scores(
        scored(score_lists),
        strategy=strategy,
        min_margin=min_margin,
        ties=ties,
        k=k,
        seed=seed,  # type: ignore[arg-type]
    )
    assert again.table.equals(r.table)


def test_hand_computed_strategies_and_ties() -> None:
    t = {"prompt": ["p"], "completions": [["a", "b", "c", "d"]], "scores": [[3.0, 1.0, 3.0, 1.0]]}

    def run(**kw: object) -> list[tuple[str, str]]:
        r = pairs.from_scores(t, **kw)  # type: ignore[arg-type]
        return list(
            zip(r.table.column("chosen").to_pylist(), r.table.column("rejected").to_pylist())
        )

    # First best (a), last worst (d).
    assert run(strategy="best_worst") == [("a", "d")]
    assert run(strategy="best_vs_rest") == [("a", "b"), ("a", "d")]
    assert run(strategy="best_vs_rest", ties="keep") == [("a", "b"), ("a", "c"), ("a", "d")]
    assert run(strategy="all_pairs") == [("a", "b"), ("a", "d"), ("c", "b"), ("c", "d")]
    assert run(strategy="all_pairs", ties="keep") == [
        ("a", "b"), ("a", "c"), ("a", "d"), ("c", "b"), ("b", "d"), ("c", "d"),
    ]  # fmt: skip
    assert run(strategy="all_pairs", min_margin=3.0) == []
    assert run(strategy="top_k_bottom_k", k=2) == [("a", "b"), ("a", "d"), ("c", "b"), ("c", "d")]
    assert run(strategy="all_pairs", max_pairs_per_prompt=2, seed=1) in (
        [p, q]
        for i, p in enumerate(run(strategy="all_pairs"))
        for q in run(strategy="all_pairs")[i + 1 :]
    )
    # Random ties: the best is a or c, the worst b or d, over seeds both appear.
    seen = {run(strategy="best_worst", ties="random", seed=s)[0] for s in range(40)}
    assert seen == {("a", "b"), ("a", "d"), ("c", "b"), ("c", "d")}
    # best_random draws one of the two lower completions.
    drawn = {run(strategy="best_random", seed=s)[0] for s in range(40)}
    assert drawn == {("a", "b"), ("a", "d")}


def test_results_do_not_depend_on_thread_count() -> None:
    rng = np.random.default_rng(5)
    score_lists = rng.integers(1, 11, size=(20_000, 5)).tolist()
    t = scored(score_lists)
    before = prefcore.get_num_threads()
    try:
        out = []
        for threads in (1, 2, 3):
            prefcore.set_num_threads(threads)
            out.append(
                pairs.from_scores(t, strategy="random_pairs", k=3, ties="random", seed=9).table
            )
        assert out[0].equals(out[1]) and out[0].equals(out[2])
    finally:
        prefcore.set_num_threads(before)


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("with_prompt", [True, False])
def test_texts_of_outputs_spanning_many_blocks_follow_their_indices(
    text_type: pa.DataType, with_prompt: bool
) -> None:
    # 6,000 prompts x 8 completions give about 150,000 all_pairs rows: several of the
    # text gather's 32,768-row blocks, split across tasks at other boundaries.
    rng = np.random.default_rng(11)
    n, k = 6_000, 8
    completions = [
        [f"c{g}-{j}" + "x" * int(rng.integers(0, 40)) for j in range(k)] for g in range(n)
    ]
    prompts = [f"prompt {g} " + "y" * (g % 50) for g in range(n)]
    t = pa.table(
        {
            "prompt": pa.array(prompts, text_type),
            "completions": pa.array(completions, pa.list_(text_type)),
            "scores": rng.integers(1, 11, size=(n, k)).tolist(),
        }
    )
    r = pairs.from_scores(
        t, prompt="prompt" if with_prompt else None, strategy="all_pairs", min_margin=1
    ).table
    assert r.num_rows > 4 * 32_768
    cols = r.to_pydict()
    for i in range(0, r.num_rows, 97):
        g, c, j = cols["group_id"][i], cols["chosen_index"][i], cols["rejected_index"][i]
        assert cols["chosen"][i] == completions[g][c]
        assert cols["rejected"][i] == completions[g][j]
        if with_prompt:
            assert cols["prompt"][i] == prompts[g]
    assert "prompt" in cols if with_prompt else "prompt" not in cols


@pytest.mark.parametrize("texts", ["copy", "dictionary"])
def test_large_outputs_read_back_row_for_row(texts: str) -> None:
    # 40,000 prompts x 8 distinct scores give 1.12M pairs: columns of several MB, which
    # are written staggered within their buffers. Every row is checked against the
    # input through pyarrow's own take.
    n, k = 40_000, 8
    rng = np.random.default_rng(5)
    scores = np.argsort(rng.random((n, k)), axis=1).astype(np.float64)
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    flat_texts = pa.array([f"c{i}" + "z" * (i % 7) for i in range(n * k)])
    t = pa.table(
        {
            "prompt": pa.array([f"p{g}" for g in range(n)]),
            "completions": pa.ListArray.from_arrays(offsets, flat_texts),
            "scores": pa.ListArray.from_arrays(offsets, pa.array(scores.reshape(-1))),
        }
    )
    r = pairs.from_scores(t, strategy="all_pairs", texts=texts).table
    r.validate(full=True)
    assert r.num_rows == n * k * (k - 1) // 2
    group = r.column("group_id").to_numpy()
    chosen = group * k + r.column("chosen_index").to_numpy()
    rejected = group * k + r.column("rejected_index").to_numpy()
    flat_scores = scores.reshape(-1)
    assert np.array_equal(r.column("score_chosen").to_numpy(), flat_scores[chosen])
    assert np.array_equal(r.column("score_rejected").to_numpy(), flat_scores[rejected])
    assert np.array_equal(
        r.column("margin").to_numpy(), flat_scores[chosen] - flat_scores[rejected]
    )
    assert (flat_scores[chosen] > flat_scores[rejected]).all()
    assert np.array_equal(np.bincount(group, minlength=n), np.full(n, k * (k - 1) // 2))
    decoded = r.cast(
        pa.schema(
            [
                f.with_type(pa.string()) if f.name in ("prompt", "chosen", "rejected") else f
                for f in r.schema
            ]
        )
    )
    assert decoded.column("chosen").equals(pa.chunked_array([flat_texts.take(pa.array(chosen))]))
    assert decoded.column("rejected").equals(
        pa.chunked_array([flat_texts.take(pa.array(rejected))])
    )
    assert decoded.column("prompt").equals(
        pa.chunked_array([t.column("prompt").chunk(0).take(pa.array(group))])
    )


@pytest.mark.parametrize("min_margin", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("ties", ["drop", "keep"])
def test_all_pairs_of_groups_past_64_completions_match_the_reference(
    min_margin: float, ties: str
) -> None:
    # all_pairs takes a completion's partners 64 at a time: sizes around and past
    # those blocks, with scores drawn from few values (many ties), and -0.0 vs 0.0.
    rng = np.random.default_rng(5)
    sizes = [2, 63, 64, 65, 127, 128, 129, 200]
    score_lists = [rng.integers(0, 6, n).astype(float).tolist() for n in sizes]
    score_lists[3][:4] = [0.0, -0.0, 0.0, -0.0]
    r = pairs.from_scores(
        scored(score_lists),  # type: ignore[arg-type]
        strategy="all_pairs",
        min_margin=min_margin,
        ties=ties,  # type: ignore[arg-type]
    )
    cols = r.table.select(["group_id", "chosen_index", "rejected_index"]).to_pydict()
    want = [(g, c, rj) for g, s in enumerate(score_lists) for c, rj in reference_pairs(
        s, "all_pairs", min_margin, ties, 1)]  # fmt: skip
    assert list(zip(*cols.values())) == want


@pytest.mark.parametrize("texts", ["copy", "dictionary"])
def test_positions_past_65536_completions_in_a_group(texts: str) -> None:
    # Positions within a group are held in 16 bits while every group fits; one group
    # of 70,000 completions takes the 32-bit path, beside a small group.
    n = 70_000
    big = np.zeros(n)
    big[[65_535, 65_536, 69_999]] = [2.0, 5.0, -1.0]
    t = pa.table(
        {
            "prompt": ["big", "small"],
            "completions": [[f"c{i}" for i in range(n)], ["x", "y"]],
            "scores": [big.tolist(), [1.0, 2.0]],
        }
    )
    r = pairs.from_scores(t, strategy="best_worst", texts=texts)  # type: ignore[arg-type]
    r.table.validate(full=True)
    # to_pydict reads dictionary columns as their values.
    assert r.table.to_pydict() == {
        "prompt": ["big", "small"],
        "chosen": ["c65536", "y"],
        "rejected": ["c69999", "x"],
        "score_chosen": [5.0, 2.0],
        "score_rejected": [-1.0, 1.0],
        "margin": [6.0, 1.0],
        "group_id": [0, 1],
        "chosen_index": [65_536, 1],
        "rejected_index": [69_999, 0],
    }


def _conversation(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _dictionary_cases() -> list[tuple[str, dict[str, Any], Any]]:
    strings = pa.table(
        {
            "prompt": ["p0", "p1", "p2", "p3"],
            "completions": [["a", "b", "x"], ["c", "d"], ["e", "f", "g", "h"], ["i", "j"]],
            "scores": [[3, 1, 2], [1, 2], [4, 4, 1, 2], [1, 1]],
        }
    )
    large = strings.cast(
        pa.schema(
            [
                ("prompt", pa.large_string()),
                ("completions", pa.list_(pa.large_string())),
                ("scores", pa.list_(pa.int64())),
            ]
        )
    )
    conversations = {
        "prompt": [_conversation("q0"), _conversation("q1")],
        "completions": [[_conversation(x) for x in "abc"], [_conversation(x) for x in "de"]],
        "scores": [[1.0, 3.0, 2.0], [2.0, 1.0]],
    }
    long = {
        "prompt": ["p", "q", "p", "q", "p"],
        "completions": ["a", "x", "b", "y", "c"],
        "scores": [1.0, 2.0, 3.0, 1.0, 2.0],
    }
    return [
        ("strings", {"strategy": "all_pairs", "ties": "keep"}, strings),
        ("no prompt", {"strategy": "all_pairs", "prompt": None}, large),
        ("sliced input", {"strategy": "best_vs_rest"}, strings.slice(1)),
        ("random draws", {"strategy": "best_random", "seed": 3, "k": 2}, strings),
        ("capped", {"strategy": "all_pairs", "max_pairs_per_prompt": 1}, strings),
        ("batch offset", {"strategy": "all_pairs", "group_offset": 10}, strings),
        ("conversations", {"strategy": "all_pairs"}, conversations),
        ("long table", {"strategy": "all_pairs"}, long),
    ]


@pytest.mark.parametrize("texts", ["copy", "dictionary"])
def test_null_prompts_and_completions_are_errors_naming_the_row(texts: str) -> None:
    # A pair with a null side cannot be trained on: it is refused, not passed on.
    null_completion = {"prompt": ["p", "q"], "completions": [["a", "b"], ["c", None]],
                       "scores": [[1.0, 2.0], [2.0, 1.0]]}  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'completions', row 1: null value"):
        pairs.from_scores(null_completion, texts=texts)
    null_prompt = {"prompt": ["p", None], "completions": [["a", "b"], ["c", "d"]],
                   "scores": [[1.0, 2.0], [2.0, 1.0]]}  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'prompt', row 1: null value"):
        pairs.from_scores(null_prompt, texts=texts)


@pytest.mark.parametrize("case", _dictionary_cases(), ids=lambda c: c[0])
def test_dictionary_texts_decode_to_the_copied_texts(
    case: tuple[str, dict[str, Any], Any],
) -> None:
    _, options, table = case
    copied = pairs.from_scores(table, **options).table
    encoded = pairs.from_scores(table, texts="dictionary", **options)
    text_columns = [c for c in ("prompt", "chosen", "rejected") if c in copied.column_names]
    for name in text_columns:
        kind = encoded.table.schema.field(name).type
        assert pa.types.is_dictionary(kind) and kind.index_type == pa.int32()
    # pyarrow reads a dictionary column as its values.
    assert encoded.table.to_pydict() == copied.to_pydict()
    assert encoded.stats == pairs.from_scores(table, **options).stats


def test_dictionary_texts_index_the_input_without_copies() -> None:
    completions = [[f"completion {g}.{i}" for i in range(16)] for g in range(500)]
    t = pa.table(
        {
            "prompt": [f"prompt {g}" for g in range(500)],
            "completions": completions,
            "scores": np.tile(np.arange(16, dtype=float), (500, 1)).tolist(),
        }
    )
    r = pairs.from_scores(t, strategy="all_pairs", texts="dictionary").table
    assert r.num_rows == 500 * 120
    chosen = r.column("chosen").chunk(0)
    # The dictionary is the input's flat completion array, not a copy of it.
    flat = t.column("completions").chunk(0).values
    assert chosen.dictionary.equals(flat)
    assert chosen.dictionary.buffers()[2].address == flat.buffers()[2].address
    assert r.column("prompt").chunk(0).dictionary.equals(t.column("prompt").chunk(0))
    copied = pairs.from_scores(t, strategy="all_pairs").table
    assert r.nbytes < copied.nbytes * 0.85


def test_prefcore_functions_accept_dictionary_columns() -> None:
    import polars as pl

    t = {
        "prompt": ["p", "q"],
        "completions": [["a", "b", "c"], ["x", "y"]],
        "scores": [[2, 9, 5], [1, 2]],
    }
    copied = pairs.from_scores(t, strategy="all_pairs").table
    encoded = pairs.from_scores(t, strategy="all_pairs", texts="dictionary").table
    assert unpaired.unpair(encoded).table.equals(unpaired.unpair(copied).table)
    assert prefcore.formats.detect(encoded) == prefcore.formats.detect(copied)
    # Through the Arrow stream (polars categoricals) the Rust side decodes them.
    frame = pl.from_arrow(encoded.select(["prompt", "chosen"]))
    assert str(frame.schema["chosen"]) == "Categorical"
    ids = prefcore.dedup.exact(frame, ["prompt"], normalize=None).cluster_id
    assert (
        ids.to_pylist()
        == prefcore.dedup.exact(copied, ["prompt"], normalize=None).cluster_id.to_pylist()
    )
    talk = _dictionary_cases()[6][2]
    conv = pairs.from_scores(talk, strategy="all_pairs", texts="dictionary").table
    plain = pairs.from_scores(talk, strategy="all_pairs").table
    assert unpaired.unpair(conv).table.equals(unpaired.unpair(plain).table)
    with pytest.raises(ValueError, match="texts"):
        pairs.from_scores(t, texts="views")  # type: ignore[arg-type]


def test_multi_aspect_scores_are_combined_by_the_stated_rule() -> None:
    ratings = [[[5, 1], [3, 4], [2, 2]]]
    t = {"prompt": ["p"], "completions": [["a", "b", "c"]], "scores": ratings}
    mean = pairs.from_scores(t, strategy="best_worst")
    assert mean.table.column("score_chosen").to_pylist() == [3.5]
    assert mean.table.column("chosen").to_pylist() == ["b"]
    low = pairs.from_scores(t, strategy="best_worst", aggregate="min")
    assert low.table.select(["chosen", "rejected"]).to_pylist() == [
        {"chosen": "b", "rejected": "a"}
    ]
    weighted = pairs.from_scores(t, strategy="best_worst", aggregate=[1.0, 0.0])
    assert weighted.table.select(["chosen", "rejected"]).to_pylist() == [
        {"chosen": "a", "rejected": "c"}
    ]
    structs = {
        "prompt": ["p"],
        "completions": [["a", "b"]],
        "scores": [[{"helpfulness": 5, "honesty": 1}, {"helpfulness": 2, "honesty": 5}]],
    }
    by_name = pairs.from_scores(structs, aggregate={"honesty": 1.0})
    assert by_name.table.column("chosen").to_pylist() == ["b"]


def test_score_range_catches_a_rating_on_the_wrong_scale() -> None:
    # The UltraFeedback bug: one rating of 10 on a 1-5 scale.
    t = {"prompt": ["p", "q"], "completions": [["a", "b"], ["c", "d"]], "scores": [[1, 5], [10, 2]]}
    with pytest.raises(
        ValueError,
        match=r"column 'scores', row 1: score 10 at position 0 is outside score_range \[1, 5\]",
    ):
        pairs.from_scores(t, score_range=(1, 5))
    aspects = {"prompt": ["p"], "completions": [["a", "b"]], "scores": [[[1, 2], [3, 10]]]}
    with pytest.raises(
        ValueError, match=r"column 'scores', row 0: a rating at position 1 is outside"
    ):
        pairs.from_scores(aspects, score_range=(1, 5))


def test_long_tables_group_by_prompt() -> None:
    long = {
        "prompt": ["p", "q", "p", "q", "p"],
        "completions": ["a", "x", "b", "y", "c"],
        "scores": [1.0, 2.0, 3.0, 1.0, 2.0],
    }
    r = pairs.from_scores(long, strategy="all_pairs")
    rows = r.table.select(
        ["prompt", "chosen", "rejected", "group_id", "chosen_index", "rejected_index"]
    )
    assert rows.to_pylist() == [
        {
            "prompt": "p",
            "chosen": "b",
            "rejected": "a",
            "group_id": 0,
            "chosen_index": 2,
            "rejected_index": 0,
        },
        {
            "prompt": "p",
            "chosen": "c",
            "rejected": "a",
            "group_id": 0,
            "chosen_index": 4,
            "rejected_index": 0,
        },
        {
            "prompt": "p",
            "chosen": "b",
            "rejected": "c",
            "group_id": 0,
            "chosen_index": 2,
            "rejected_index": 4,
        },
        {
            "prompt": "q",
            "chosen": "x",
            "rejected": "y",
            "group_id": 1,
            "chosen_index": 1,
            "rejected_index": 3,
        },
    ]


def test_bad_input_gets_clear_errors() -> None:
    ok = {"prompt": ["p"], "completions": [["a", "b"]], "scores": [[1.0, 2.0]]}
    with pytest.raises(ValueError, match="column 'scores', row 0: 3 scores for 2 completions"):
        pairs.from_scores({**ok, "scores": [[1.0, 2.0, 3.0]]})
    with pytest.raises(ValueError, match="column 'scores', row 0: NaN at position 1"):
        pairs.from_scores({**ok, "scores": [[1.0, float("nan")]]})
    with pytest.raises(
        ValueError, match="column 'scores', row 1: 0 completion\\(s\\); a pair needs at least 2"
    ):
        pairs.from_scores(
            {"prompt": ["p", "q"], "completions": [["a", "b"], []], "scores": [[1.0, 2.0], []]}
        )
    with pytest.raises(ValueError, match="row 0: 1 completion\\(s\\)"):
        pairs.from_scores({"prompt": ["p"], "completions": [["a"]], "scores": [[1.0]]})
    skipped = pairs.from_scores(
        {"prompt": ["p", "q"], "completions": [["a"], ["b", "c"]], "scores": [[1.0], [1.0, 2.0]]},
        short_groups="skip",
    )
    assert skipped.stats["prompts_skipped_short"] == 1 and skipped.stats["pairs"] == 1
    with pytest.raises(ValueError, match="strategy must be one of 'best_worst'"):
        pairs.from_scores(ok, strategy="best_of_n")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ties must be one of"):
        pairs.from_scores(ok, ties="coin")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_margin must be >= 0"):
        pairs.from_scores(ok, min_margin=-1)
    with pytest.raises(ValueError, match="column 'score' not found"):
        pairs.from_scores(ok, scores="score")
    with pytest.raises(TypeError, match="column 'scores' has type"):
        pairs.from_scores({**ok, "scores": [["x", "y"]]})


def test_from_rankings_matches_scores_of_negated_ranks() -> None:
    t = {
        "prompt": ["p", "q"],
        "completions": [["a", "b", "c"], ["x", "y"]],
        "ranking": [[2, 1, 2], [1, 2]],
    }
    r = pairs.from_rankings(t)
    assert r.table.select(
        ["chosen", "rejected", "rank_chosen", "rank_rejected", "margin"]
    ).to_pylist() == [
        {"chosen": "b", "rejected": "a", "rank_chosen": 1, "rank_rejected": 2, "margin": 1.0},
        {"chosen": "b", "rejected": "c", "rank_chosen": 1, "rank_rejected": 2, "margin": 1.0},
        {"chosen": "x", "rejected": "y", "rank_chosen": 1, "rank_rejected": 2, "margin": 1.0},
    ]
    with pytest.raises(ValueError, match="column 'ranking', row 1: ranks start at 1"):
        pairs.from_rankings({**t, "ranking": [[1, 2, 3], [0, 1]]})


pair_tables = st.lists(
    st.tuples(st.sampled_from(["p", "q", "r"]), st.text(max_size=5), st.text(max_size=5)),
    min_size=0,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(pair_tables)
def test_unpair_then_pair_round_trips(rows: list[tuple[str, str, str]]) -> None:
    t = pa.table(
        {
            "prompt": pa.array([r[0] for r in rows], pa.string()),
            "chosen": pa.array([r[1] for r in rows], pa.string()),
            "rejected": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    u = unpaired.unpair(t)
    assert u.stats["desirable"] == u.stats["undesirable"] == len(rows)
    back = unpaired.pair(u.table)
    assert back.table.equals(t)


def test_pair_without_ids_matches_within_prompts() -> None:
    u = {
        "prompt": ["p", "p", "p", "q", "q", "r"],
        "completion": ["a", "b", "c", "d", "e", "f"],
        "label": [True, False, True, False, False, True],
    }
    r = unpaired.pair(u, pair_id=None, seed=3)
    rows = r.table.to_pylist()
    assert len(rows) == 1 and rows[0]["prompt"] == "p" and rows[0]["rejected"] == "b"
    assert rows[0]["chosen"] in ("a", "c")
    assert r.stats["unmatched_desirable"] == 2 and r.stats["unmatched_undesirable"] == 2
    assert r.stats["prompts_with_one_label"] == 2
    assert r.stats["desirable_share"] == 0.5
    with pytest.raises(ValueError, match="pair 0 has 2 rows with 2 desirable"):
        unpaired.pair(
            {
                "prompt": ["p", "p"],
                "completion": ["a", "b"],
                "label": [True, True],
                "pair_id": [0, 0],
            }
        )


def lipo_reference(scores: list[float], labels: list[float]) -> np.ndarray:
    n = len(scores)
    order = sorted(range(n), key=lambda i: -scores[i])
    tau = {i: r + 1 for r, i in enumerate(order)}
    w = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            gi, gj = 2 ** labels[i] - 1, 2 ** labels[j] - 1
            w[i, j] = abs(gi - gj) * abs(1 / np.log2(1 + tau[i]) - 1 / np.log2(1 + tau[j]))
    return w


def test_listwise_and_lipo_weights_follow_the_formula() -> None:
    t = {
        "prompt": ["p", "q"],
        "completions": [["a", "b", "c"], ["x", "y"]],
        "scores": [[0.2, 0.9, 0.5], [1.0, 1.0]],
        "labels": [[1.0, 3.0, 0.0], [2.0, 0.0]],
    }
    out = listwise.listwise(t, labels="labels")
    assert out.column("completions").to_pylist() == [["b", "c", "a"], ["x", "y"]]
    assert out.column("labels").to_pylist() == [[3.0, 0.0, 1.0], [2.0, 0.0]]
    assert out.column("original_index").to_pylist() == [[1, 2, 0], [0, 1]]
    for row, (s, y) in enumerate(zip(t["scores"], t["labels"])):
        ranked = out.column("original_index")[row].as_py()
        want = lipo_reference(s, y)[np.ix_(ranked, ranked)]
        got = np.array(out.column("lambda_weights")[row].as_py()).reshape(len(s), len(s))
        np.testing.assert_allclose(got, want, rtol=1e-12)
    scores = np.array([[0.2, 0.9, 0.5]])
    labels = np.array([[1.0, 3.0, 0.0]])
    np.testing.assert_allclose(
        listwise.lipo_lambda_weights(scores, labels)[0],
        lipo_reference([0.2, 0.9, 0.5], [1.0, 3.0, 0.0]),
    )


def test_lipo_weights_in_torch_match_numpy_and_honour_the_mask() -> None:
    import torch

    rng = np.random.default_rng(0)
    s = rng.normal(size=(4, 6))
    y = rng.integers(0, 4, size=(4, 6)).astype(float)
    mask = np.ones((4, 6), bool)
    mask[1, 4:] = False
    w_np = listwise.lipo_lambda_weights(s, y, mask)
    w_t = listwise.lipo_lambda_weights(torch.tensor(s), torch.tensor(y), torch.tensor(mask))
    assert isinstance(w_t, torch.Tensor)
    np.testing.assert_allclose(w_t.numpy(), w_np, rtol=1e-12)
    assert (w_np[1, 4:, :] == 0).all() and (w_np[1, :, 4:] == 0).all()
    np.testing.assert_allclose(
        w_np[1, :4, :4], lipo_reference(list(s[1, :4]), list(y[1, :4])), rtol=1e-12
    )


def test_transform_rewards_is_log_sigmoid_and_combines_by_sum() -> None:
    import torch

    r = np.array([-50.0, -1.0, 0.0, 2.0, 800.0])
    u = rewards.transform_rewards(r, 0.5)
    want = np.log(1 / (1 + np.exp(-(r[:4] - 0.5))))
    np.testing.assert_allclose(u[:4], want, rtol=1e-12)
    assert u[4] == 0.0 and np.isfinite(u).all()
    torch_u = rewards.transform_rewards(torch.tensor(r), 0.5)
    np.testing.assert_allclose(torch_u.numpy(), u, rtol=1e-12)
    np.testing.assert_allclose(rewards.transform_rewards(r, 0.5, "center"), r - 0.5)
    both = rewards.combine(u, rewards.transform_rewards(r, 1.0), weights=[2.0, 1.0])
    np.testing.assert_allclose(both, 2 * u + rewards.transform_rewards(r, 1.0))
    with pytest.raises(ValueError, match="method must be"):
        rewards.transform_rewards(r, 0.0, "exp")  # type: ignore[arg-type]


def test_conversational_completions_pair_and_unpair() -> None:
    def reply(text: str) -> list[dict[str, str]]:
        return [{"role": "assistant", "content": text}]

    t = {
        "prompt": [[{"role": "user", "content": "q"}]],
        "completions": [[reply("a"), reply("b"), reply("c")]],
        "scores": [[1.0, 3.0, 2.0]],
    }
    r = pairs.from_scores(t, strategy="best_worst")
    assert r.table.select(["prompt", "chosen", "rejected"]).to_pylist() == [
        {"prompt": t["prompt"][0], "chosen": reply("b"), "rejected": reply("a")}
    ]
    u = unpaired.unpair(r.table)
    assert u.table.column("completion").to_pylist() == [reply("b"), reply("a")]
    assert unpaired.pair(u.table).table.equals(r.table.select(["prompt", "chosen", "rejected"]))


def test_an_empty_typed_table_gives_an_empty_result_of_the_right_types() -> None:
    t = pa.table(
        {
            "prompt": pa.array([], pa.string()),
            "completions": pa.array([], pa.list_(pa.string())),
            "scores": pa.array([], pa.list_(pa.float64())),
        }
    )
    r = pairs.from_scores(t, strategy="all_pairs")
    assert r.table.num_rows == 0 and r.stats["prompts"] == 0
    assert r.table.schema.field("chosen").type == pa.string()
    assert listwise.listwise(t).num_rows == 0


def test_bad_input_of_the_other_pair_functions() -> None:
    with pytest.raises(ValueError, match="column 'chosen' not found"):
        unpaired.unpair({"prompt": ["p"], "rejected": ["r"]})
    with pytest.raises(TypeError, match="column 'label' has type int64; expected bool"):
        unpaired.pair({"prompt": ["p"], "completion": ["a"], "label": [1]})
    with pytest.raises(ValueError, match="column 'labels' not found"):
        listwise.listwise(
            {"prompt": ["p"], "completions": [["a"]], "scores": [[1.0]]}, labels="labels"
        )
    with pytest.raises(ValueError, match="column 'labels', row 0: 1 labels for 2 scores"):
        listwise.listwise(
            {
                "prompt": ["p"],
                "completions": [["a", "b"]],
                "scores": [[1.0, 2.0]],
                "labels": [[1.0]],
            },
            labels="labels",
        )
    with pytest.raises(ValueError, match="scores and labels must be 2-D of one shape"):
        listwise.lipo_lambda_weights(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="combine needs at least one reward array"):
        rewards.combine()
    with pytest.raises(ValueError, match="2 weights for 1 reward arrays"):
        rewards.combine(np.zeros(2), weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="column 'prompt' not found"):
        report.stats({"chosen": ["a"], "rejected": ["b"]})
    fit = ratings.bradley_terry(
        {"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["x", "y"]}
    )
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['w'\]"):
        ratings.predict_win_rate(fit, "w", "x")


def test_long_table_in_a_later_batch_points_at_input_rows_and_dataset_groups() -> None:
    # Prompt p is rows 0, 2, 4 (scores 1, 3, 2), prompt q rows 1, 3 (scores 2, 1); as
    # the batch after 10 prompts, the groups are 10 and 11 of the dataset.
    long = {
        "prompt": ["p", "q", "p", "q", "p"],
        "completions": ["a", "x", "b", "y", "c"],
        "scores": [1.0, 2.0, 3.0, 1.0, 2.0],
    }
    got = pairs.from_scores(long, strategy="all_pairs", group_offset=10).table
    rows = zip(
        *(
            got.column(c).to_pylist()
            for c in ("group_id", "chosen_index", "rejected_index", "chosen")
        )
    )
    assert sorted(rows) == [(10, 2, 0, "b"), (10, 2, 4, "b"), (10, 4, 0, "c"), (11, 1, 3, "x")]


OLD_NAMES = {
    "aggregate_votes": ratings,
    "bradley_terry": ratings,
    "predict_win_rate": ratings,
    "BradleyTerryResult": ratings,
    "VoteResult": ratings,
    "combine": rewards,
    "transform_rewards": rewards,
    "lipo_lambda_weights": listwise,
    "listwise": listwise,
    "pair": unpaired,
    "unpair": unpaired,
    "PairingStats": unpaired,
    "UnpairStats": unpaired,
    "stats": report,
}


@pytest.mark.parametrize("name", sorted(OLD_NAMES))
def test_old_names_under_pairs_warn_and_give_the_new_function(name: str) -> None:
    home = OLD_NAMES[name]
    with pytest.warns(DeprecationWarning, match=rf"prefcore\.pairs\.{name} is now {home.__name__}"):
        old = getattr(pairs, name)
    assert old is getattr(home, name)
    assert name not in pairs.__all__
    assert name in home.__all__


def test_old_name_by_from_import_warns_and_unknown_names_stay_attribute_errors() -> None:
    with pytest.warns(DeprecationWarning, match="prefcore.unpaired.unpair"):
        from prefcore.pairs import unpair
    assert unpair is unpaired.unpair
    with pytest.raises(AttributeError, match="no attribute 'from_score'"):
        pairs.from_score  # noqa: B018
