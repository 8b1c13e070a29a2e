"""Every table-taking function accepts pyarrow, polars, pandas and Hugging Face
datasets tables, and numpy for dense inputs; results are pyarrow."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from prefcore.metrics import evaluate, evaluate_grouped, pairwise_accuracy

RUN = {
    "query_id": ["1", "1", "1", "2", "2"],
    "doc_id": ["a", "b", "c", "a", "d"],
    "score": [3.0, 2.0, 1.0, 0.5, 0.7],
}
QRELS = {"query_id": ["1", "1", "2"], "doc_id": ["b", "c", "a"], "relevance": [2, 1, 1]}
METRICS = ["ndcg@2", "map", "mrr", "P.2"]


def expected() -> dict[str, float]:
    return evaluate(pa.table(RUN), pa.table(QRELS), METRICS)


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda d: pl.DataFrame(d), id="polars"),
        pytest.param(lambda d: pd.DataFrame(d), id="pandas"),
        pytest.param(lambda d: datasets.Dataset.from_dict(d), id="datasets"),
        pytest.param(lambda d: pa.table(d).to_batches()[0], id="record-batch"),
        pytest.param(lambda d: d, id="dict"),
        pytest.param(
            lambda d: pa.Table.from_batches(
                [pa.table(d).slice(0, 2).to_batches()[0], pa.table(d).slice(2).to_batches()[0]]
            ),
            id="chunked",
        ),
    ],
)
def test_table_kinds_give_the_same_values(convert) -> None:  # type: ignore[no-untyped-def]
    assert evaluate(convert(RUN), convert(QRELS), METRICS) == expected()


def test_values_are_hand_computed() -> None:
    got = expected()
    # q1: ranking a(0) b(2) c(1); q2: d(unjudged) a(1).
    ap1 = (1 / 2 + 2 / 3) / 2
    ap2 = 1 / 2
    assert got["map"] == pytest.approx((ap1 + ap2) / 2)
    assert got["mrr"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert got["P.2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    dcg1 = 2 / np.log2(3)
    idcg1 = 2 + 1 / np.log2(3)
    dcg2 = 1 / np.log2(3)
    assert got["ndcg@2"] == pytest.approx((dcg1 / idcg1 + dcg2 / 1) / 2)


def test_integer_ids_compare_as_text() -> None:
    """trec_eval reads ids as text: doc 10 ranks after doc 9 on a tie ("9" > "10")."""
    run = {"query_id": [7, 7], "doc_id": [9, 10], "score": [1.0, 1.0]}
    qrels = {"query_id": [7], "doc_id": [10], "relevance": [1]}
    assert evaluate(run, qrels, "mrr") == {"mrr": 0.5}
    table = evaluate(run, qrels, "mrr", per_query=True)
    assert table.column("query_id").to_pylist() == ["7"]


def test_custom_column_names() -> None:
    run = pa.table({"q": ["1"], "d": ["x"], "s": [1.0]})
    qrels = pa.table({"q": ["1"], "d": ["x"], "rel": [1]})
    assert evaluate(
        run, qrels, "P.1", query_col="q", doc_col="d", score_col="s", rel_col="rel"
    ) == {"P.1": 1.0}


def test_grouped_inputs() -> None:
    s = np.array([[0.1, 0.9, 0.3], [0.5, 0.2, 0.4]])
    lab = np.array([[0, 1, 1], [1, 0, 0]])
    want = evaluate_grouped(s.tolist(), lab.tolist(), ["ndcg@2", "map"])
    assert evaluate_grouped(s, lab, ["ndcg@2", "map"]) == want
    assert (
        evaluate_grouped(pl.Series(s.tolist()), pl.Series(lab.tolist()), ["ndcg@2", "map"]) == want
    )
    large = pa.array(s.tolist(), pa.large_list(pa.float32()))
    assert evaluate_grouped(large, pa.array(lab.tolist()), ["ndcg@2", "map"]) == pytest.approx(want)
    # Ragged groups are fine as list columns.
    ragged = evaluate_grouped([[1.0], [0.2, 0.8]], [[1], [0, 1]], "mrr", per_group=True)
    assert ragged.column("mrr").to_pylist() == [1.0, 1.0]
    assert ragged.column("group").to_pylist() == [0, 1]


def test_sliced_list_arrays_are_read_at_their_offset() -> None:
    s = pa.array([[9.0, 1.0], [0.1, 0.9], [0.3, 0.2]]).slice(1)
    lab = pa.array([[1, 0], [0, 1], [0, 1]]).slice(1)
    assert evaluate_grouped(s, lab, "mrr", per_group=True).column("mrr").to_pylist() == [1.0, 0.5]


def test_pairwise_accuracy_accepts_arrays_of_any_kind() -> None:
    c, r = [1.0, 2.0, 3.0], [0.0, 2.5, 1.0]
    want = pairwise_accuracy(c, r).accuracy
    assert pairwise_accuracy(np.array(c), np.array(r)).accuracy == want
    assert pairwise_accuracy(pl.Series(c), pl.Series(r)).accuracy == want
    assert pairwise_accuracy(pa.chunked_array([c[:1], c[1:]]), pa.array(r)).accuracy == want
    assert want == pytest.approx(2 / 3)


def test_per_query_rows_are_in_byte_order_of_long_ids() -> None:
    """Ids sharing a long prefix (the sort compares 8-byte prefixes first)."""
    ids = [f"query-with-long-prefix-{i}" for i in (10, 2, 33, 1, 200)] + ["q", "query-"]
    run = {"query_id": ids, "doc_id": ["d"] * len(ids), "score": [1.0] * len(ids)}
    qrels = {"query_id": ids, "doc_id": ["d"] * len(ids), "relevance": list(range(len(ids)))}
    table = evaluate(run, qrels, "num_rel", per_query=True)
    assert table.column("query_id").to_pylist() == sorted(ids)
    by_id = dict(zip(table.column("query_id").to_pylist(), table.column("num_rel").to_pylist()))
    assert by_id == {q: float(r >= 1) for q, r in zip(ids, range(len(ids)))}
