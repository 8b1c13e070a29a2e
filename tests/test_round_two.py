"""Inputs as users hold them at the edges: JSON Lines as producers write them (read
against Python's json), streams shared by threads, KTO labels, special ids, and
log-probs that are not finite."""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import prefcore.io as pio
from prefcore import errors
from prefcore.streaming import ExactStream, NearStream, clusters_from_pairs


def _read(tmp_path: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    monkeypatch.setattr(pio, "JSONL_BLOCK_BYTES", 64)  # a block every line or two
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return pio.open_source(path).read_all().to_pylist()


def _as_json(lines: list[str]) -> list[dict]:
    """Python's json, with every row holding every key (absent: None) and numbers of a
    column holding a float read as floats, as a table column must."""
    rows = [json.loads(ln) for ln in lines]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    floats = {k for r in rows for k, v in r.items() if isinstance(v, float)}
    return [
        {k: float(r[k]) if k in floats and r.get(k) is not None else r.get(k) for k in keys}
        for r in rows
    ]


@pytest.mark.parametrize(
    "lines",
    [
        ['{"a": 1, "s": null}'] * 5 + ['{"a": 1.5, "s": "x"}'],  # int then float
        ['{"a": 2.5}'] + ['{"a": 3}'] * 4,  # float then int
        ['{"s": null}'] * 6 + ['{"s": "late"}'],  # null then typed
        ['{"a": 1}'] * 3 + ['{"a": 1, "b": [1, 2]}'],  # a column appears later
        ['{"big": 9007199254740993}', '{"big": 1}'],  # an integral column stays exact
        ['{"l": [null]}'] * 3 + ['{"l": ["x"]}'],
    ],
)
def test_jsonl_reads_as_pythons_json(
    tmp_path: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    got = _read(tmp_path, lines, monkeypatch)
    assert got == _as_json(lines)
    for row, want in zip(got, _as_json(lines)):
        for k, v in want.items():
            assert type(row[k]) is type(v), (k, row[k], v)


@pytest.mark.parametrize(
    "lines",
    [
        ['{"a": 1}'] * 4 + ['{"a": 9007199254740993}', '{"a": 0.5}'],
        ['{"a": 9007199254740993, "b": 0.5}', '{"a": 2.5}'],
    ],
)
def test_jsonl_never_rounds_an_integer(
    tmp_path: Path, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(errors.InputError, match="9007199254740993") as e:
        _read(tmp_path, lines, monkeypatch)
    want = 1 + next(i for i, ln in enumerate(lines) if "9007199254740993" in ln)
    assert e.value.line == want


def test_jsonl_deep_nesting_is_a_named_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = '{"a": ' + "[" * 20_000 + "]" * 20_000 + "}"
    with pytest.raises(errors.InputError, match="nested deeper") as e:
        _read(tmp_path, ['{"a": []}', deep], monkeypatch)
    assert e.value.line == 2
    # Brackets inside strings are text, not nesting.
    text = '{"a": "' + "[" * 5000 + '"}'
    assert _read(tmp_path, [text], monkeypatch) == [json.loads(text)]


def test_jsonl_mixed_types_name_the_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Within one block Arrow's parser names the column; across blocks the reader does.
    with pytest.raises(errors.InputError, match=r"/a\)|'a'"):
        _read(tmp_path, ['{"a": 1}'] * 6 + ['{"a": "x"}'], monkeypatch)
    with pytest.raises(errors.InputError, match="column 'a' holds string"):
        _read(tmp_path, ['{"a": 1, "pad": "' + "p" * 80 + '"}', '{"a": "x"}'], monkeypatch)


def test_streams_shared_by_threads_lose_no_row() -> None:
    stream = ExactStream("prompt")
    near = NearStream("prompt", num_perm=16, ngram=2)
    batches = [{"prompt": [f"t{t} r{i} words here" for i in range(2000)]} for t in range(8)]
    masks: list[pa.BooleanArray] = []
    failures: list[BaseException] = []

    def work(batch: dict) -> None:
        try:
            masks.append(stream.push(batch))
            near.push(batch)
        except BaseException as err:
            failures.append(err)

    threads = [threading.Thread(target=work, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert stream.rows == 16_000 and stream.distinct == 16_000
    assert sum(m.true_count for m in masks) == 16_000
    assert near.rows == 16_000
    alone = NearStream("prompt", num_perm=16, ngram=2)
    for b in batches:
        alone.push(b)
    # Clusters are connected components: the order the threads pushed in is no matter.
    assert near.finish().num_clusters == alone.finish().num_clusters


def test_near_stream_refuses_use_after_finish() -> None:
    near = NearStream("prompt", num_perm=16, ngram=2)
    near.push({"prompt": ["a b c", "a b c"]})
    assert near.finish().num_clusters == 1
    with pytest.raises(errors.PrefcoreError, match="finished"):
        near.finish()
    with pytest.raises(errors.PrefcoreError, match="finished"):
        near.push({"prompt": ["x"]})


def test_clusters_from_pairs_refuses_unequal_lengths_and_nulls() -> None:
    with pytest.raises(errors.PrefcoreError, match="differ in length"):
        clusters_from_pairs([0, 1, 2], [1], 4)
    with pytest.raises(errors.InvalidValueError) as e:
        clusters_from_pairs([0, None], [1, 2], 4)
    assert (e.value.column, e.value.row) == ("row_a", 1)


@pytest.mark.parametrize("label", [None, "False", "True", 2, 0.5])
def test_unpaired_collator_refuses_labels_that_are_not_booleans(label: object) -> None:
    from prefcore.torch import UnpairedCollator

    rows = [
        {"prompt_ids": [1, 2], "completion_ids": [3], "label": True},
        {"prompt_ids": [1], "completion_ids": [4, 5], "label": label},
    ]
    with pytest.raises(errors.InvalidValueError) as e:
        UnpairedCollator(pad_token_id=0, return_tensors="np")(rows)
    assert (e.value.column, e.value.row) == ("label", 1)


def test_unpaired_collator_reads_numpy_and_integer_labels() -> None:
    from prefcore.torch import UnpairedCollator

    rows = [
        {"prompt_ids": [1], "completion_ids": [3], "label": np.bool_(False)},
        {"prompt_ids": [1], "completion_ids": [4], "label": 1},
    ]
    out = UnpairedCollator(pad_token_id=0, return_tensors="np")(rows)
    assert out["label"].tolist() == [False, True]


def test_special_ids_outside_the_vocabulary_are_refused() -> None:
    from prefcore.torch import PreferenceCollator

    with pytest.raises(errors.InvalidArgumentError, match="outside the vocabulary"):
        PreferenceCollator(pad_token_id=300, vocab_size=256)
    with pytest.raises(errors.InvalidArgumentError) as e:
        PreferenceCollator(pad_token_id=-1)
    assert e.value.argument == "pad_token_id"
    from tokenizers import Tokenizer, models

    from prefcore.tokenize import tokenize_pairs

    tok = Tokenizer(models.WordLevel({"<eos>": 0, "hi": 1, "yes": 2, "no": 3}, unk_token="<eos>"))
    row = {"prompt": ["hi"], "chosen": ["yes"], "rejected": ["no"]}
    for eos in (-1, 4, 300):  # the vocabulary has 4 ids
        with pytest.raises(errors.InvalidArgumentError) as e:
            tokenize_pairs(row, tok, eos_token_id=eos)
        assert e.value.argument == "eos_token_id"
    assert tokenize_pairs(row, tok, eos_token_id=3).table.column("chosen_ids").to_pylist() == [
        [2, 3]
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [("chosen_logps", -np.inf), ("rejected_logps", np.nan), ("chosen_tokens", 0.0)],
)
def test_ranking_diagnostics_refuse_values_that_make_nan(name: str, value: float) -> None:
    from prefcore.metrics import ranking_diagnostics

    args = {
        "chosen_logps": [-1.0, -2.0],
        "rejected_logps": [-3.0, -1.0],
        "chosen_tokens": [2.0, 3.0],
        "rejected_tokens": [2.0, 2.0],
    }
    args[name] = [args[name][0], value]
    with pytest.raises(errors.InvalidValueError) as e:
        ranking_diagnostics(**args)
    assert (e.value.column, e.value.row) == (name, 1)


@pytest.mark.parametrize("num_perm", [100, 300, 512])
def test_band_choice_equals_datasketch_on_a_threshold_grid(num_perm: int) -> None:
    from datasketch.lsh import _optimal_param

    from prefcore.dedup import optimal_bands

    for threshold in [*np.round(np.arange(0.05, 1.0, 0.05), 2).tolist(), 1.0]:
        want = _optimal_param(threshold, num_perm, 0.5, 0.5)
        assert optimal_bands(threshold, num_perm) == want, threshold


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["user", "assistant"]),
            st.lists(
                st.sampled_from(["a", " ", "\n", "\n\n", "Human", "Assistant", ":", "é"]),
                max_size=8,
            ).map("".join),
        ),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=300, deadline=None, database=None, derandomize=True)
def test_render_parses_back_or_refuses_the_message(messages: list[tuple[str, str]]) -> None:
    """HH text has no escape: a content holding a turn marker is refused by row and
    message (Python's own search decides which do); every other conversation parses
    back to itself."""
    from prefcore import formats

    msgs = [{"role": r, "content": c} for r, c in messages]
    marked = [i for i, (_, c) in enumerate(messages) if "\n\nHuman:" in c or "\n\nAssistant:" in c]
    if marked:
        with pytest.raises(errors.InvalidValueError, match=f"message {marked[0]} holds") as e:
            formats.render_transcript(msgs)
        assert e.value.row == 0
    else:
        assert formats.parse_transcript(formats.render_transcript(msgs)) == msgs


def test_bradley_terry_warns_of_a_model_that_never_wins() -> None:
    from prefcore.ratings import bradley_terry

    battles = {
        "model_a": ["x", "y", "x", "z", "z", "y"],
        "model_b": ["y", "x", "z", "x", "y", "z"],
        "winner": ["model_a", "model_a", "model_a", "model_b", "model_b", "model_a"],
    }
    # By hand: z loses all four of its battles; x and y each win and lose.
    with pytest.warns(RuntimeWarning, match="model 'z' lost every battle it played"):
        bradley_terry(battles)
    battles["winner"][2] = "model_b"  # now z beats x once
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bradley_terry(battles)
    with pytest.raises(errors.InvalidArgumentError, match="'z' lost every battle"):
        bradley_terry(
            {**battles, "winner": ["model_a"] * 3 + ["model_b"] * 2 + ["model_a"]}, alpha=0
        )


def test_lipo_weights_of_half_precision_scores_are_those_of_their_exact_values() -> None:
    import torch

    from prefcore.listwise import lipo_lambda_weights

    torch.manual_seed(0)
    scores = torch.randn(3, 5)
    labels = torch.randint(0, 4, (3, 5)).float()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[0, 3:] = False
    for dtype in (torch.bfloat16, torch.float16):
        low = scores.to(dtype)
        got = lipo_lambda_weights(low, labels.to(dtype), mask)
        # The same scores widened to float64 by numpy: bf16 and fp16 values are exact there.
        want = lipo_lambda_weights(
            low.float().numpy().astype(np.float64), labels.numpy(), mask.numpy()
        )
        assert got.dtype == dtype
        torch.testing.assert_close(got, torch.from_numpy(want).to(dtype))


@pytest.mark.parametrize("collator", ["PreferenceCollator", "PrefixSharedCollator"])
def test_a_datasets_slice_collates_like_its_rows(collator: str) -> None:
    import datasets

    import prefcore.torch as pt

    rows = [
        {"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4, 5], "ref_chosen_logps": -1.5,
         "ref_rejected_logps": -2.0},
        {"prompt_ids": [6], "chosen_ids": [7, 8], "rejected_ids": [9], "ref_chosen_logps": -0.5,
         "ref_rejected_logps": -3.0},
    ]  # fmt: skip
    collate = getattr(pt, collator)(0)
    ds = datasets.Dataset.from_list(rows)
    from_slice, from_rows = collate(ds[:2]), collate(rows)
    assert from_slice.keys() == from_rows.keys()
    for k in from_rows:
        assert np.array_equal(np.asarray(from_slice[k]), np.asarray(from_rows[k])), k
    for bad in (5, np.zeros((2, 2)), "prompt_ids", [rows[0], [1, 2]]):
        with pytest.raises(errors.ArgumentTypeError, match="list of example dicts"):
            collate(bad)
    with pytest.raises(errors.InvalidValueError) as e:
        collate([rows[0], {**rows[1], "ref_rejected_logps": "x"}])
    assert (e.value.column, e.value.row) == ("ref_rejected_logps", 1)


def test_unpair_takes_chosen_and_rejected_in_different_string_layouts() -> None:
    from prefcore.unpaired import unpair

    plain = {"prompt": ["p", "q"], "chosen": ["good", "fine"], "rejected": ["bad", "poor"]}
    mixed = pa.table(
        {
            "prompt": plain["prompt"],
            "chosen": pa.array(plain["chosen"], pa.string()),
            "rejected": pa.array(plain["rejected"], pa.large_string()),
        }
    )
    want = [("p", "good", True), ("p", "bad", False), ("q", "fine", True), ("q", "poor", False)]
    for table in (plain, mixed):
        got = unpair(table).table.to_pydict()
        assert list(zip(got["prompt"], got["completion"], got["label"])) == want
    with pytest.raises(errors.ColumnTypeError) as e:
        unpair({"prompt": ["p"], "chosen": [{"a": 1}], "rejected": [[["x"]]]})
    assert e.value.column == "rejected"


def test_lipo_weights_name_an_argument_that_is_not_numbers() -> None:
    from prefcore.listwise import lipo_lambda_weights

    with pytest.raises(errors.ArgumentTypeError) as e:
        lipo_lambda_weights({"a": 1}, [[1.0]])
    assert e.value.argument == "scores"


def test_evaluate_takes_pytrec_and_ranx_judgements_in_their_order() -> None:
    import pytrec_eval
    from ranx import Qrels, Run

    from prefcore.metrics import evaluate

    qrels = {"q1": {"d1": 2, "d2": 0, "d3": 1}, "q2": {"d1": 1, "d4": 1}}
    run = {"q1": {"d1": 0.2, "d2": 0.9, "d3": 0.5}, "q2": {"d4": 1.5, "d5": 0.3}}
    measures = {"map", "ndcg", "recip_rank"}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    want = {m: np.mean([per_query[q][m] for q in per_query]) for m in measures}
    names = ["map", "ndcg", "recip_rank"]
    for call in (
        lambda: evaluate(run, qrels, names),  # prefcore's order
        lambda: evaluate(qrels, run, names),  # pytrec_eval's and ranx's order
        lambda: evaluate(qrels=qrels, run=run, metrics=names),
        lambda: evaluate(Qrels(qrels), Run(run), names),
    ):
        got = call()
        assert got == pytest.approx(want, abs=1e-12)
    long_qrels = {"query_id": ["q1"], "doc_id": ["d1"], "relevance": [1]}
    long_run = {"query_id": ["q1", "q1"], "doc_id": ["d1", "d2"], "score": [0.1, 0.9]}
    assert evaluate(long_qrels, long_run, "recip_rank") == {"recip_rank": 0.5}
    with pytest.raises(errors.InvalidArgumentError, match="cannot be told"):
        evaluate({"q": {"d": 1}}, {"q": {"d": 3}}, "map")


def test_results_display_counts_and_sizes_not_values() -> None:
    from prefcore import dedup, formats
    from prefcore.data import load_hh_rlhf

    split = formats.extract_prompt(load_hh_rlhf())
    found = dedup.exact(split.table, ["prompt"])
    for result in (split, found):
        text = repr(result)
        lines = text.splitlines()
        assert len(lines) <= 10, text
        assert lines[0] == f"{type(result).__name__}(" and lines[1].startswith("  stats: ")
        assert "2,312 values" in text or "2,312 rows" in text
        assert "True" not in text  # no row-level values
        html = result._repr_html_()
        assert html.startswith(f"<b>{type(result).__name__}</b><table>") and "stats" in html
    assert f"removed': {found.stats['removed']}" in repr(found)


def test_apply_gives_the_rows_back_in_the_callers_type() -> None:
    import datasets
    import pandas as pd
    import polars as pl

    from prefcore import dedup

    prompts = ["a", "b", "a", "c", "b", "d"]
    seen: set[str] = set()
    first = [not (p in seen or seen.add(p)) for p in prompts]  # by hand: first of each
    want = [p for p, k in zip(prompts, first) if k]
    base = datasets.Dataset.from_dict({"prompt": ["z", *prompts], "n": list(range(7))})
    view = base.select(range(1, 7))  # a view, as after filter/select
    frame = pl.DataFrame({"prompt": prompts}).with_columns(pl.col("prompt").cast(pl.Categorical))
    pandas_frame = pd.DataFrame({"prompt": prompts}, index=[10, 11, 12, 13, 14, 15])
    for table, kind in (
        (view, datasets.Dataset),
        (frame, pl.DataFrame),
        (pandas_frame, pd.DataFrame),
        ({"prompt": prompts}, pa.Table),
    ):
        kept = dedup.exact(table, ["prompt"], normalize=None).apply(table)
        assert isinstance(kept, kind)
        got = kept.column("prompt").to_pylist() if kind is pa.Table else list(kept["prompt"])
        assert got == want
    assert view.features == dedup.exact(view, ["prompt"]).apply(view).features
    assert frame.schema == dedup.exact(frame, ["prompt"]).apply(frame).schema
    assert list(dedup.exact(pandas_frame, ["prompt"]).apply(pandas_frame).index) == [10, 11, 13, 15]
    with pytest.raises(errors.InvalidArgumentError, match="has 5 rows; this result is for 6"):
        dedup.exact(frame, ["prompt"]).apply(frame.head(5))


def test_compare_runs_reports_what_ranx_compare_reports() -> None:
    from ranx import Qrels, Run, compare

    from prefcore.metrics import compare_runs

    rng = np.random.default_rng(0)
    qrels = {
        f"q{i}": {f"d{j}": int(rng.integers(1, 3)) for j in rng.choice(30, 5, replace=False)}
        for i in range(40)
    }
    runs = {
        name: {
            q: {
                f"d{j}": float(rng.random() + (0.2 * k if f"d{j}" in qrels[q] else 0))
                for j in range(30)
            }
            for q in qrels
        }
        for k, name in enumerate(["bm25", "dense", "hybrid", "rerank"])
    }
    metrics = ["map", "ndcg@10", "mrr"]
    theirs = compare(
        Qrels(qrels), runs=[Run(r, name=n) for n, r in runs.items()], metrics=metrics,
        max_p=0.05, stat_test="student",
    ).to_dict()  # fmt: skip
    ours = compare_runs(qrels, runs, metrics, test="t", max_p=0.05)
    for i, name in enumerate(runs):
        for m in metrics:
            assert ours.table.column(m)[i].as_py() == pytest.approx(
                theirs[name]["scores"][m], abs=1e-12
            )
            better = [
                o for o in runs if o != name and theirs[name]["comparisons"][o][m] < 0.05
                and theirs[name]["scores"][m] > theirs[o]["scores"][m]
            ]  # fmt: skip
            assert ours.beats[name][m] == better, (name, m)
    p = {(r["metric"], r["run_a"], r["run_b"]): r["p_value"] for r in ours.p_values.to_pylist()}
    for (m, a, b), value in p.items():
        assert value == pytest.approx(float(theirs[a]["comparisons"][b][m]), rel=1e-6, abs=1e-300)
    assert ours.to_markdown().count("\n") == len(runs) + 1
    assert "\\toprule" in ours.to_latex() and "ndcg@10" in ours.to_latex()


def test_new_entry_points_name_their_bad_arguments() -> None:
    from prefcore.data import sample_tokenizer
    from prefcore.metrics import compare_runs

    qrels = {"query_id": ["q"], "doc_id": ["d"], "relevance": [1]}
    run = {"query_id": ["q"], "doc_id": ["d"], "score": [1.0]}
    with pytest.raises(errors.InvalidArgumentError) as e:
        compare_runs(qrels, {"only": run}, "map")
    assert e.value.argument == "runs"
    with pytest.raises(errors.InvalidArgumentError) as e:
        compare_runs(qrels, {"a": run, "b": run}, "map", max_p=1.5)
    assert e.value.argument == "max_p"
    for bad in (0, -5):
        with pytest.raises(errors.InvalidArgumentError) as e:
            sample_tokenizer(bad)
        assert e.value.argument == "vocab_size"
    with pytest.raises(errors.ArgumentTypeError):
        sample_tokenizer("big")  # type: ignore[arg-type]
