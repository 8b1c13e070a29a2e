"""Functions that return rows give them back in the caller's table type: a
``datasets.Dataset`` (features of kept columns, a fingerprint that follows the call), a
polars or pandas frame, else a ``pyarrow.Table``. Values are compared with the same
call on a plain pyarrow table, the independent reference of what the rows hold."""

from __future__ import annotations

import datasets
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from prefcore import formats, listwise, pairs, unpaired

SCORED = {
    "prompt": ["p1", "p2", "p3"],
    "completions": [["a", "b", "c"], ["d", "e"], ["f", "g", "h"]],
    "scores": [[1.0, 3.0, 2.0], [0.5, 0.1], [2.0, 2.5, 0.0]],
    "source": ["x", "y", "x"],
}
PAIRS = {
    "prompt": ["p1", "p2", "p3"],
    "chosen": ["good", "fine", "nice"],
    "rejected": ["bad", "poor", "worse"],
}
TRANSCRIPTS = {
    "chosen": ["\n\nHuman: Hi?\n\nAssistant: Hello!", "\n\nHuman: 2+2?\n\nAssistant: 4"],
    "rejected": ["\n\nHuman: Hi?\n\nAssistant: Go away.", "\n\nHuman: 2+2?\n\nAssistant: 5"],
}


def _rows(result):
    """Rows as Python dicts, whatever the type."""
    if isinstance(result, pa.Table):
        return result.to_pylist()
    if isinstance(result, datasets.Dataset):
        return result.to_list()
    if isinstance(result, pl.DataFrame):
        return result.to_dicts()
    return pa.Table.from_pandas(result, preserve_index=False).to_pylist()  # lists as lists


CALLS = {
    "from_scores": (SCORED, lambda t: pairs.from_scores(t, strategy="all_pairs").table),
    "from_rankings": (
        {"prompt": ["p"], "completions": [["a", "b", "c"]], "ranking": [[2, 1, 3]]},
        lambda t: pairs.from_rankings(t).table,
    ),
    "unpair": (PAIRS, lambda t: unpaired.unpair(t).table),
    "pair": (
        {"prompt": ["p", "p", "q"], "completion": ["a", "b", "c"], "label": [True, False, True]},
        lambda t: unpaired.pair(t, pair_id=None).table,
    ),
    "listwise": (SCORED, listwise.listwise),
    "extract_prompt": (TRANSCRIPTS, lambda t: formats.extract_prompt(t).table),
}


def _as(kind, data):
    if kind == "datasets":
        return datasets.Dataset.from_dict(data)
    if kind == "polars":
        return pl.DataFrame(data)
    if kind == "pandas":
        return pd.DataFrame(data)
    return data


@pytest.mark.parametrize("kind", ["datasets", "polars", "pandas", "dict"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_rows_come_back_in_the_callers_type_with_the_same_values(name, kind):
    data, call = CALLS[name]
    reference = call(pa.table(data))
    assert isinstance(reference, pa.Table)
    got = call(_as(kind, data))
    want_type = {
        "datasets": datasets.Dataset,
        "polars": pl.DataFrame,
        "pandas": pd.DataFrame,
        "dict": pa.Table,
    }[kind]
    assert isinstance(got, want_type)
    assert _rows(got) == _rows(reference)


def test_a_dataset_view_keeps_features_info_and_gets_a_call_fingerprint():
    features = datasets.Features(
        {
            "prompt": datasets.Value("string"),
            "chosen": datasets.Value("string"),
            "rejected": datasets.Value("string"),
            "topic": datasets.ClassLabel(names=["math", "chat"]),
        }
    )
    base = datasets.Dataset.from_dict(
        {**{k: ["zero", *v] for k, v in PAIRS.items()}, "topic": [0, 1, 0, 1]},
        info=datasets.DatasetInfo(description="hand-made pairs", features=features),
    )
    view = base.filter(lambda row: row["prompt"] != "zero")  # a view with an indices map
    assert view.num_rows == 3
    split = formats.extract_prompt(
        view.map(lambda r: {"chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"]})
    )
    assert isinstance(split.table, datasets.Dataset)

    ranked = listwise.listwise(
        datasets.Dataset.from_dict(SCORED).cast_column(
            "source", datasets.ClassLabel(names=["x", "y"])
        )
    )
    assert isinstance(ranked, datasets.Dataset)

    out = unpaired.unpair(view).table
    assert out.info.description == "hand-made pairs"
    assert out.features["prompt"] == datasets.Value("string")
    assert out.features["label"] == datasets.Value("bool")
    # Same call on the same rows: same fingerprint; another option or other rows: another.
    again = unpaired.unpair(view).table
    assert out._fingerprint == again._fingerprint != view._fingerprint
    assert unpaired.unpair(base.select(range(1, 4))).table._fingerprint != out._fingerprint
    assert unpaired.unpair(view, rejected="chosen").table._fingerprint != out._fingerprint


def test_features_of_kept_columns_survive_pair_construction():
    labelled = datasets.Dataset.from_dict(
        {
            "prompt": ["p1", "p2"],
            "completions": [["a", "b"], ["c", "d"]],
            "scores": [[1.0, 2.0], [2.0, 1.0]],
            "lang": [0, 1],
        },
    ).cast_column("lang", datasets.ClassLabel(names=["en", "de"]))
    ranked = listwise.listwise(labelled)
    assert list(ranked["completions"]) == [["b", "a"], ["c", "d"]]
    # listwise keeps the prompt and the ranked lists; the kept prompt keeps its feature
    assert ranked.features["prompt"] == labelled.features["prompt"]


def test_polars_categorical_and_pandas_category_and_index_are_kept():
    frame = pl.DataFrame(PAIRS).with_columns(pl.col("prompt").cast(pl.Categorical))
    out = unpaired.unpair(frame).table
    assert out.schema["prompt"] == pl.Categorical
    assert out["prompt"].to_list() == ["p1", "p1", "p2", "p2", "p3", "p3"]

    indexed = pd.DataFrame(TRANSCRIPTS, index=[7, 9])
    split = formats.extract_prompt(indexed)
    assert list(split.table.index) == [7, 9]  # the same rows: the index is kept
    assert list(split.clean().index) == [7, 9]
    cat = pd.DataFrame(PAIRS).astype({"prompt": "category"})
    assert str(unpaired.unpair(cat).table["prompt"].dtype) == "category"


def test_tokenized_rows_come_back_as_a_dataset_with_the_input_index_kept():
    tokenizers = pytest.importorskip("tokenizers")
    from prefcore.tokenize import tokenize_pairs

    vocab = {"<eos>": 0, "p1": 1, "p2": 2, "p3": 3, "good": 4, "bad": 5}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<eos>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    plain = tokenize_pairs(pa.table(PAIRS), tok, eos_token_id=0).table
    labelled = datasets.Dataset.from_dict({**PAIRS, "topic": [0, 1, 0]}).cast_column(
        "topic", datasets.ClassLabel(names=["math", "chat"])
    )
    ds = tokenize_pairs(labelled, tok, eos_token_id=0).table
    assert isinstance(ds, datasets.Dataset)
    assert ds.features["topic"] == datasets.ClassLabel(names=["math", "chat"])
    ds = ds.remove_columns("topic")
    assert ds.to_list() == plain.to_pylist()
    assert ds.features["chosen_ids"] == datasets.Sequence(datasets.Value("int32")) or (
        ds.features["chosen_ids"] == datasets.List(datasets.Value("int32"))
    )
    frame = pd.DataFrame(PAIRS, index=["a", "b", "c"])
    out = tokenize_pairs(frame, tok, eos_token_id=0).table
    assert list(out.index) == ["a", "b", "c"]
    assert out["chosen_ids"].map(list).tolist() == plain.column("chosen_ids").to_pylist()
    assert plain.column("chosen_ids")[0].as_py() == [4, 0]  # "good", then EOS


def test_results_describe_frames_by_size():
    r = unpaired.unpair(pl.DataFrame(PAIRS))
    assert "polars.DataFrame: 6 rows x 4 columns [prompt, completion, label, pair_id]" in repr(r)
    r = unpaired.unpair(datasets.Dataset.from_dict(PAIRS))
    assert "datasets.Dataset: 6 rows x 4 columns" in repr(r)
