"""Hostile inputs for every public entry point, run by ``test_adversarial.py`` in a
subprocess per target (so a crash or a hang fails that target instead of killing the
test session).

Each target draws a small "canonical" input (plain pyarrow, one chunk), then hands
prefcore the same rows in another layout a user might hold: several chunks (one of
them empty), a slice of a larger table, ``string_view`` / ``large_string`` /
dictionary columns, polars and pandas frames, a Hugging Face ``datasets`` view after
``select`` — or a deliberately bad variant: invalid UTF-8, NaN/±inf, nulls at some
nesting level, huge or negative integer options. The call must either give the result
the canonical input gives (same rows, same values), or raise ``ValueError`` /
``TypeError`` / ``MemoryError`` whose message names the offending argument or column.
Anything else (another exception, a changed row count, a crash, a hang) fails.

Run one target by hand: ``python tests/hostile.py TARGET EXAMPLES``.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import prefcore
from prefcore import (
    dedup,
    formats,
    listwise,
    match,
    metrics,
    pairs,
    ratings,
    report,
    rewards,
    unpaired,
)

# Bad input is a PrefcoreError (a ValueError; its type errors also TypeErrors).
ALLOWED = (prefcore.PrefcoreError, MemoryError)

# ---------------------------------------------------------------- values and layouts

WORDS = ["the", "cat", "sat", "on", "mat", "é", "日本", "🙂", "", " ", "\n\nHuman:"]
texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 2.0, 1e300, -1e300, 2000.0]),
)
hostile_ints = st.one_of(
    st.integers(-3, 300),
    st.sampled_from([0, -1, 2**31, 2**62, 2**63, 2**64, 10**12, -(2**63)]),
)


def invalid_utf8(values: list[str | None]) -> pa.Array:
    """``values`` as a string array whose last non-null value ends in a lone ``\\xe9``
    byte: what pyarrow's JSON reader keeps from a Latin-1 file."""
    data, offsets, valid = b"", [0], []
    last = max((i for i, v in enumerate(values) if v is not None), default=None)
    for i, v in enumerate(values):
        raw = (v or "").encode() + (b"\xe9" if i == last else b"")
        data += raw
        offsets.append(len(data))
        valid.append(v is not None)
    mask = pa.array(valid).buffers()[1] if not all(valid) else None
    return pa.Array.from_buffers(
        pa.string(),
        len(values),
        [mask, pa.py_buffer(np.array(offsets, np.int32).tobytes()), pa.py_buffer(data)],
        null_count=valid.count(False),
    )


def _chunked(table: pa.Table, cuts: list[int]) -> pa.Table:
    n = table.num_rows
    bounds = sorted({0, n, *(c % (n + 1) for c in cuts)})
    batches = [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]
    batches.insert(len(batches) // 2, table.slice(0, 0))  # an empty chunk too
    return pa.concat_tables(batches)


def _sliced(table: pa.Table) -> pa.Table:
    padding = table.slice(0, min(2, table.num_rows))
    return (
        pa.concat_tables([padding, table, padding])
        .combine_chunks()
        .slice(padding.num_rows, table.num_rows)
    )


def _cast_texts(table: pa.Table, to: pa.DataType) -> pa.Table:
    for i, f in enumerate(table.schema):
        if f.type == pa.string():
            table = table.set_column(i, f.name, table.column(i).cast(to))
        elif pa.types.is_list(f.type) and f.type.value_type == pa.string():
            table = table.set_column(i, f.name, table.column(i).cast(pa.list_(to)))
    return table


def _as_list_view(chunk: pa.ListArray, large: bool) -> pa.Array:
    """``chunk`` as a (large) list_view array over the same child values: Arrow casts
    no list to a list view, so the views are built from the offsets."""
    kind = pa.LargeListViewArray if large else pa.ListViewArray
    width = pa.int64() if large else pa.int32()
    offsets = np.asarray(chunk.offsets)
    return kind.from_arrays(
        pa.array(offsets[:-1], width),
        pa.array(np.diff(offsets), width),
        chunk.values,
        mask=chunk.is_null() if chunk.null_count else None,
    )


def _cast_lists(table: pa.Table, layout: str) -> pa.Table:
    """Every list column in another list layout of the same values: ``large_list``
    (polars, datasets) or ``list_view`` / ``large_list_view`` (Arrow-native producers)."""
    for i, f in enumerate(table.schema):
        if not pa.types.is_list(f.type):
            continue
        column = table.column(i)
        if layout == "large_list":
            column = column.cast(pa.large_list(f.type.value_type))
        else:
            large = layout == "large_list_view"
            column = pa.chunked_array(
                [_as_list_view(c, large) for c in column.chunks],
                (pa.large_list_view if large else pa.list_view)(f.type.value_type),
            )
        table = table.set_column(i, f.name, column)
    return table


def _dictionary(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if f.type == pa.string():
            table = table.set_column(i, f.name, table.column(i).dictionary_encode())
    return table


def _dataset_view(table: pa.Table, contiguous: bool) -> Any:
    """A ``datasets.Dataset`` whose visible rows are ``table``'s, stored among rows
    that must never be read: behind a decoy block (a contiguous view), or each row
    after a decoy row (a view through a scattered indices mapping)."""
    import datasets

    n = table.num_rows
    if n == 0:
        return datasets.Dataset(table)
    decoys = table.take(pa.array(np.arange(n)[::-1]))
    if contiguous:
        stored = pa.concat_tables([decoys, table]).combine_chunks()
        return datasets.Dataset(stored).select(range(n, 2 * n))
    # Real rows and decoys stored in a scrambled order; the view selects the real
    # ones back in their order: a scattered indices mapping.
    combined = pa.concat_tables([table, decoys]).combine_chunks()
    stored_from = np.random.default_rng(n).permutation(2 * n)
    stored = combined.take(pa.array(stored_from))
    where = np.argsort(stored_from)  # where[k]: the stored position of combined row k
    return datasets.Dataset(stored).select([int(where[k]) for k in range(n)])


LAYOUTS: dict[str, Callable[[pa.Table], Any]] = {
    "chunked": lambda t: _chunked(t, [1, 3]),
    "sliced": _sliced,
    "large_string": lambda t: _cast_texts(t, pa.large_string()),
    "string_view": lambda t: _cast_texts(t, pa.string_view()),
    "dictionary": _dictionary,
    "large_list": lambda t: _cast_lists(t, "large_list"),
    "list_view": lambda t: _cast_lists(t, "list_view"),
    "large_list_view": lambda t: _cast_lists(t, "large_list_view"),
    "polars": lambda t: __import__("polars").from_arrow(t),
    "polars_categorical": lambda t: (
        __import__("polars")
        .from_arrow(t)
        .with_columns(
            [
                __import__("polars").col(f.name).cast(__import__("polars").Categorical)
                for f in t.schema
                if f.type == pa.string()
            ]
        )
    ),
    "pandas": lambda t: t.to_pandas(types_mapper=__import__("pandas").ArrowDtype),
    "datasets": lambda t: _dataset_view(t, contiguous=False),
    "datasets_contiguous": lambda t: _dataset_view(t, contiguous=True),
}
layouts = st.sampled_from(sorted(LAYOUTS))


# ---------------------------------------------------------------- the contract


def _frame_as_arrow(result: Any) -> pa.Table | None:
    """A ``datasets``, polars or pandas result as a ``pyarrow.Table``; None otherwise."""
    module, name = type(result).__module__, type(result).__name__
    if module.startswith("datasets") and name == "Dataset":
        return result.with_format("arrow")[:]
    if module.startswith("polars") and name == "DataFrame":
        return result.to_arrow()
    if module.startswith("pandas") and name == "DataFrame":
        return pa.Table.from_pandas(result, preserve_index=False)
    return None


def canonical(result: Any) -> Any:
    """A result as plain Python values, comparable across layouts (string types and
    dictionary encodings differ by layout; the values must not)."""
    if isinstance(result, pa.Table):
        return {n: canonical(result.column(n)) for n in result.column_names}
    frame = _frame_as_arrow(result)  # rows come back in the caller's type
    if frame is not None:
        return canonical(frame)
    if isinstance(result, (pa.ChunkedArray, pa.Array)):
        if pa.types.is_dictionary(result.type):
            result = result.cast(result.type.value_type)
        return [canonical(v) for v in result.to_pylist()]
    if isinstance(result, np.ndarray):
        return canonical(result.tolist())
    if isinstance(result, dict):
        return {k: canonical(v) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return [canonical(v) for v in result]
    if isinstance(result, float) and math.isnan(result):
        return "NaN"
    if hasattr(result, "__dataclass_fields__"):
        return {k: canonical(getattr(result, k)) for k in result.__dataclass_fields__}
    return result


def outcome(call: Callable[[], Any], names: tuple[str, ...]) -> Any:
    """The call's canonical result, or ``("error", type)`` for an allowed error whose
    message names one of ``names``; any other failure propagates."""
    try:
        return canonical(call())
    except ALLOWED as err:
        message = str(err)
        assert any(n in message for n in names), (
            f"{type(err).__name__} names none of {names}: {message}"
        )
        return ("error", type(err).__name__)


def is_error(result: Any) -> bool:
    return isinstance(result, tuple) and len(result) == 2 and result[0] == "error"


def same_everywhere(
    run: Callable[[Any], Any], table: pa.Table, layout: str, names: tuple[str, ...]
) -> None:
    """``run`` gives the same outcome on ``table`` and on ``table`` in ``layout``."""
    want = outcome(lambda: run(table), names)
    try:
        variant = LAYOUTS[layout](table)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, TypeError):
        return  # a layout this data cannot take (e.g. pandas of a null-typed column)
    got = outcome(lambda: run(variant), names)
    assert got == want, f"{layout}: {got} != canonical {want}"


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )


# ---------------------------------------------------------------- targets

TARGETS: dict[str, Callable[[int], None]] = {}


def target(fn: Callable[[int], None]) -> Callable[[int], None]:
    TARGETS[fn.__name__] = fn
    return fn


pairwise_rows = st.lists(
    st.tuples(texts, st.one_of(texts, st.none()), texts), min_size=0, max_size=8
)


def pairwise_table(rows: list[tuple[str, str | None, str]]) -> pa.Table:
    return pa.table(
        {
            "prompt": pa.array([r[0] for r in rows], pa.string()),
            "chosen": pa.array([r[1] for r in rows], pa.string()),
            "rejected": pa.array([r[2] for r in rows], pa.string()),
        }
    )


@target
def text_functions(examples: int) -> None:
    @_settings(examples)
    @given(pairwise_rows, layouts, st.booleans())
    def check(rows: Any, layout: str, bad_bytes: bool) -> None:
        t = pairwise_table(rows)
        if bad_bytes and rows:
            t = t.set_column(0, "prompt", invalid_utf8([r[0] for r in rows]))
            for run in (
                lambda x: dedup.exact(x, ["prompt"]).keep,
                lambda x: dedup.normalize(x.column("prompt")),
                lambda x: dedup.minhash(x, "prompt", ngram=2, verify=True).cluster_id,
                lambda x: dedup.contamination(x, x, "prompt", n=2).contaminated,
            ):
                assert is_error(outcome(lambda run=run: run(t), ("prompt", "texts")))
            return
        same_everywhere(
            lambda x: dedup.exact(x, ["prompt", "rejected"]).keep, t, layout, ("prompt", "rejected")
        )
        same_everywhere(
            lambda x: dedup.minhash(x, "rejected", ngram=2, verify=True).cluster_id,
            t,
            layout,
            ("rejected",),
        )
        same_everywhere(
            lambda x: dedup.contamination(x, x, "rejected", n=2).score, t, layout, ("rejected",)
        )
        same_everywhere(
            lambda x: formats.validate(x).format, t, layout, ("chosen", "prompt", "rejected")
        )
        same_everywhere(
            lambda x: unpaired.unpair(x).table, t, layout, ("chosen", "prompt", "rejected")
        )
        same_everywhere(lambda x: report.stats(x), t, layout, ("chosen", "prompt", "rejected"))

    check()


scored_rows = st.lists(
    st.lists(st.tuples(texts, floats), min_size=0, max_size=5), min_size=0, max_size=6
)


def scored_table(groups: list[list[tuple[str, float]]]) -> pa.Table:
    return pa.table(
        {
            "prompt": pa.array([f"p{i}" for i in range(len(groups))], pa.string()),
            "completions": pa.array([[c for c, _ in g] for g in groups], pa.list_(pa.string())),
            "scores": pa.array([[s for _, s in g] for g in groups], pa.list_(pa.float64())),
        }
    )


@target
def pair_construction(examples: int) -> None:
    strategies = st.sampled_from(["best_worst", "all_pairs", "best_vs_rest", "random_pairs"])

    @_settings(examples)
    @given(scored_rows, layouts, strategies, st.sampled_from(["drop", "keep"]), hostile_ints)
    def check(groups: Any, layout: str, strategy: str, ties: str, seed: int) -> None:
        t = scored_table(groups)
        names = ("scores", "completions", "seed", "prompt", "short_groups", "group")

        def run(x: Any) -> Any:
            return pairs.from_scores(
                x, strategy=strategy, ties=ties, seed=seed, short_groups="skip"
            ).table

        same_everywhere(run, t, layout, names)
        same_everywhere(lambda x: listwise.listwise(x), t, layout, ("scores", "completions"))

    check()


@target
def ranking_metrics(examples: int) -> None:
    lists = st.lists(st.lists(floats, min_size=0, max_size=6), min_size=1, max_size=5)
    metric_names = st.sampled_from(["ndcg@3", "ndcg_burges@3", "map", "mrr", "P@2", "recall@2"])

    @_settings(examples)
    @given(lists, st.data(), metric_names, floats)
    def check(scores: Any, data: Any, metric: str, level: float) -> None:
        labels = [data.draw(st.lists(floats, min_size=len(g), max_size=len(g))) for g in scores]
        names = ("scores", "labels", "relevance_level", "ties")

        def run(s: Any, y: Any) -> Any:
            out = metrics.evaluate_grouped(s, y, metric, relevance_level=level)
            assert all(math.isfinite(v) for v in out.values()), out
            return out

        want = outcome(lambda: run(scores, labels), names)
        for layout in (pa.list_(pa.float64()), pa.large_list(pa.float32())):
            s, y = pa.array(scores, layout), pa.array(labels, layout)
            try:
                got = outcome(lambda s=s, y=y: run(s, y), names)
            except OverflowError:  # float32 cannot hold 1e300: not a prefcore matter
                continue
            if layout.value_type == pa.float64():
                assert got == want

    check()


@target
def reward_metrics(examples: int) -> None:
    @_settings(examples)
    @given(st.lists(st.tuples(floats, floats), min_size=0, max_size=8), hostile_ints)
    def check(rows: Any, n_bins: int) -> None:
        c = [a for a, _ in rows]
        r = [b for _, b in rows]
        names = ("chosen", "rejected", "n_bins", "pair")
        outcome(lambda: metrics.pairwise_accuracy(c, r), names)
        outcome(lambda: metrics.calibration(c, r, n_bins=n_bins), names)
        outcome(lambda: metrics.kendall_tau([c], [r]), (*names, "x", "y", "group"))

    check()


@target
def embedding_matching(examples: int) -> None:
    matrices = st.integers(1, 4).flatmap(
        lambda d: st.tuples(
            st.lists(st.lists(floats, min_size=d, max_size=d), min_size=1, max_size=5),
            st.lists(st.lists(floats, min_size=d, max_size=d), min_size=1, max_size=5),
        )
    )

    @_settings(examples)
    @given(
        matrices,
        hostile_ints,
        st.sampled_from(["ip", "l2", "cosine"]),
        st.sampled_from(["rust", "faiss", "torch"]),
    )
    def check(qc: Any, k: int, metric: str, backend: str) -> None:
        q = np.array(qc[0], dtype=np.float64)  # prefcore casts to float32 itself
        c = np.array(qc[1], dtype=np.float64)
        names = ("queries", "corpus", "k")
        if backend != "rust" and k > 10_000:
            return  # faiss and torch allocate [nq, k] themselves
        got = outcome(lambda: match.knn(q, c, k=k, metric=metric, backend=backend), names)
        if not is_error(got):
            assert all(math.isfinite(v) or abs(v) > 1e38 for v in np.ravel(got[0]))
        outcome(lambda: match.range_search(q, c, 0.5, metric=metric), names)
        if k < 1000:
            outcome(
                lambda: match.match(q, c, method="mutual", rescore="csls", csls_k=k),
                (*names, "a", "b", "csls_k"),
            )

    check()


@target
def ratings_and_votes(examples: int) -> None:
    battles = st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.sampled_from("abcd"),
            st.sampled_from(["model_a", "model_b", "tie", "x"]),
        ),
        min_size=0,
        max_size=10,
    )

    @_settings(examples)
    @given(
        battles,
        floats,
        st.lists(st.tuples(st.integers(0, 3), st.sampled_from("xyz"), floats), max_size=10),
    )
    def check(rows: Any, anchor: float, votes: Any) -> None:
        t = pa.table(
            {
                "model_a": [r[0] for r in rows],
                "model_b": [r[1] for r in rows],
                "winner": [r[2] for r in rows],
            }
        )
        outcome(
            lambda: ratings.bradley_terry(t, anchor=("a", anchor), alpha=0.1),
            ("model_a", "model_b", "winner", "anchor", "battles", "alpha"),
        )
        v = pa.table(
            {
                "item": [r[0] for r in votes],
                "annotator": [r[1] for r in votes],
                "vote": pa.array([r[2] for r in votes], pa.float64()),
            }
        )
        outcome(lambda: ratings.aggregate_votes(v), ("item", "annotator", "vote"))

    check()


@target
def collation(examples: int) -> None:
    ids = st.lists(
        st.one_of(st.integers(0, 50), st.sampled_from([-5, 2**40])), min_size=0, max_size=6
    )

    @_settings(examples)
    @given(
        st.lists(st.tuples(ids, ids, ids), min_size=0, max_size=4),
        hostile_ints,
        st.one_of(st.none(), hostile_ints),
    )
    def check(rows: Any, pad: int, multiple: int | None) -> None:
        from prefcore.torch import PreferenceCollator

        names = (
            "pad_token_id",
            "pad_to_multiple_of",
            "prompt_ids",
            "chosen_ids",
            "rejected_ids",
            "batch",
            "ids",
            "max_length",
        )
        examples_ = [{"prompt_ids": p, "chosen_ids": c, "rejected_ids": r} for p, c, r in rows]

        def run() -> Any:
            out = PreferenceCollator(
                pad_token_id=pad, pad_to_multiple_of=multiple, return_tensors="np"
            )(examples_)
            assert out["input_ids"].shape[0] == 2 * len(rows)  # chosen rows, then rejected
            return out

        outcome(run, names)

    check()


@target
def transcripts(examples: int) -> None:
    role = st.sampled_from(["Human", "Assistant", "", "A:B", "User", "Human"])

    @_settings(examples)
    @given(st.lists(st.one_of(texts, st.none()), max_size=5), role, role, st.booleans())
    def check(values: Any, user: str, assistant: str, bad: bool) -> None:
        arr = invalid_utf8(values) if bad and values else pa.array(values, pa.string())
        names = ("roles", "text", "texts", "user", "assistant")
        got = outcome(lambda: formats.parse_transcript(arr, roles=(user, assistant)), names)
        if not is_error(got):
            assert len(got) == len(values)

    check()


@target
def integer_options(examples: int) -> None:
    @_settings(examples)
    @given(hostile_ints, hostile_ints, hostile_ints)
    def check(num_perm: int, ngram: int, seed: int) -> None:
        t = {"prompt": ["a b c d", "a b c e"]}
        names = ("num_perm", "ngram", "seed", "threshold", "bands")
        if num_perm < 5000:
            outcome(lambda: dedup.minhash(t, num_perm=num_perm, ngram=ngram, seed=seed), names)
        outcome(
            lambda: dedup.signatures(
                t["prompt"], num_perm=min(num_perm, 4096), ngram=ngram, seed=seed
            ),
            names,
        )
        outcome(
            lambda: prefcore.metrics.evaluate_grouped([[1.0, 0.0]], [[1, 0]], f"ndcg@{seed}"),
            ("ndcg", "cutoff", "metric"),
        )

    check()


trec_rows = st.lists(
    st.tuples(
        st.sampled_from(["q1", "q2", "10", ""]),
        st.sampled_from(["d1", "d2", "d3", "é"]),
        floats,
        st.one_of(st.integers(-2, 3), st.sampled_from([2**62, -(2**63)])),
    ),
    min_size=0,
    max_size=10,
)


@target
def trec_tables(examples: int) -> None:
    measures = st.sampled_from(["map", "ndcg", "P@5", "bpref", "recall@10", "num_rel_ret"])

    @_settings(examples)
    @given(trec_rows, trec_rows, layouts, measures, hostile_ints)
    def check(run_rows: Any, qrel_rows: Any, layout: str, measure: str, level: int) -> None:
        run = pa.table(
            {
                "query_id": pa.array([r[0] for r in run_rows], pa.string()),
                "doc_id": pa.array([r[1] for r in run_rows], pa.string()),
                "score": pa.array([r[2] for r in run_rows], pa.float64()),
            }
        )
        qrels = pa.table(
            {
                "query_id": pa.array([r[0] for r in qrel_rows], pa.string()),
                "doc_id": pa.array([r[1] for r in qrel_rows], pa.string()),
                "relevance": pa.array([r[3] for r in qrel_rows], pa.int64()),
            }
        )
        names = ("query_id", "doc_id", "score", "relevance", "relevance_level", "run", "qrels")
        same_everywhere(
            lambda x: metrics.evaluate(x, qrels, measure, relevance_level=level, per_query=True),
            run,
            layout,
            names,
        )

    check()


@target
def more_pairs(examples: int) -> None:
    unpaired_rows = st.lists(
        st.tuples(st.sampled_from(["p", "q", "r"]), texts, st.booleans(), st.integers(0, 3)),
        max_size=8,
    )

    @_settings(examples)
    @given(scored_rows, unpaired_rows, layouts, pairwise_rows, hostile_ints)
    def check(groups: Any, kto_rows: Any, layout: str, rows: Any, seed: int) -> None:
        t = scored_table(groups)
        ranks = pa.array(
            [[int(abs(x)) % 4 if math.isfinite(x) else 0 for _, x in g] for g in groups],
            pa.list_(pa.int64()),
        )
        ranked = t.set_column(2, "ranking", ranks)
        same_everywhere(
            lambda x: pairs.from_rankings(x, short_groups="skip").table,
            ranked,
            layout,
            ("ranking", "completions", "prompt", "seed"),
        )
        u = pa.table(
            {
                "prompt": [r[0] for r in kto_rows],
                "completion": [r[1] for r in kto_rows],
                "label": [r[2] for r in kto_rows],
                "pair_id": pa.array([r[3] for r in kto_rows], pa.int64()),
            }
        )
        names = ("prompt", "completion", "label", "pair_id", "seed")
        same_everywhere(lambda x: unpaired.pair(x, seed=seed).table, u, layout, names)
        same_everywhere(lambda x: unpaired.pair(x, pair_id=None, seed=seed).table, u, layout, names)
        p = pairwise_table(rows)
        same_everywhere(
            lambda x: dedup.degenerate_pairs(x).reason, p, layout, ("chosen", "rejected")
        )
        same_everywhere(
            lambda x: formats.extract_prompt(x).table, p, layout, ("chosen", "rejected")
        )

    check()


@target
def rewards_and_significance(examples: int) -> None:
    vectors = st.lists(floats, min_size=0, max_size=8)

    @_settings(examples)
    @given(vectors, vectors, hostile_ints, st.sampled_from(["t", "randomization", "bootstrap"]))
    def check(a: Any, b: Any, n: int, test: str) -> None:
        x, y = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
        names = (
            "rewards",
            "reference",
            "weights",
            "reward array",
            "row",
            "a",
            "b",
            "per_query",
            "n_resamples",
            "seed",
        )
        got = outcome(lambda: rewards.transform_rewards(x, y), names)
        if not is_error(got):
            assert len(got) == len(x)
        outcome(lambda: rewards.combine(x, y, weights=[1.0, 2.0]), names)
        if n <= 20_000:
            outcome(lambda: metrics.compare(x, y, test=test, n_resamples=n, seed=n), names)
        outcome(lambda: metrics.spearman([a], [b]), ("x", "y", "group"))

    check()


@target
def semantic_dedup(examples: int) -> None:
    @_settings(examples)
    @given(
        st.integers(1, 3).flatmap(
            lambda d: st.lists(st.lists(floats, min_size=d, max_size=d), min_size=0, max_size=6)
        ),
        floats,
        st.one_of(st.none(), st.lists(floats, min_size=0, max_size=6)),
    )
    def check(rows: Any, threshold: float, quality: Any) -> None:
        e = np.array(rows, dtype=np.float64).reshape(len(rows), -1) if rows else np.zeros((0, 2))
        names = ("embeddings", "threshold", "quality", "corpus", "queries")
        got = outcome(lambda: dedup.semantic(e, threshold=threshold, quality=quality).keep, names)
        if not is_error(got):
            assert len(got) == len(rows)

    check()


@target
def tokenization(examples: int) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    from prefcore.tokenize import tokenize_pairs

    vocab = {
        w: i
        for i, w in enumerate(["[UNK]", "</s>", *sorted({w for t in WORDS for w in t.split()})])
    }
    tok = Tokenizer(WordLevel(vocab, "[UNK]"))
    tok.pre_tokenizer = Whitespace()

    @_settings(examples)
    @given(pairwise_rows, layouts, st.one_of(st.none(), hostile_ints))
    def check(rows: Any, layout: str, max_length: int | None) -> None:
        t = pairwise_table(rows)
        names = ("prompt", "chosen", "rejected", "max_length", "max_prompt_length")

        def run(x: Any) -> Any:
            out = tokenize_pairs(x, tok, eos_token_id=1, max_length=max_length).table
            return out.select(["chosen_ids", "rejected_ids", "prompt_ids"])

        same_everywhere(run, t, layout, names)

    check()


@target
def jsonl_reader(examples: int) -> None:
    import tempfile
    from pathlib import Path

    from prefcore.io import open_source

    lines = st.lists(
        st.one_of(
            st.just(b'{"prompt": "a", "n": 1}'),
            st.just(b'{"prompt": "caf\xe9"}'),
            st.just(b"[1, 2]"),
            st.just(b'"text"'),
            st.just(b"{"),
            st.just(b""),
            st.just(b'{"prompt": null}'),
            st.binary(max_size=12),
        ),
        max_size=8,
    )

    @_settings(examples)
    @given(lines, st.sampled_from(["fail", "skip"]))
    def check(content: Any, on_error: str) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "input.jsonl"
            path.write_bytes(b"\n".join(content) + b"\n")
            source = open_source(path, on_error=on_error)
            try:
                table = source.read_all()
            except prefcore.PrefcoreError as err:
                assert "input.jsonl" in str(err), str(err)
                return
            # Rows and skipped lines together: at most the lines of the file (an item
            # of `content` may hold a newline itself).
            lines_in_file = (b"\n".join(content) + b"\n").count(b"\n")
            assert table.num_rows + len(source.skipped) <= lines_in_file

    check()


def main() -> int:
    name, examples = sys.argv[1], int(sys.argv[2])
    TARGETS[name](examples)
    print(f"{name}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
