"""Bad input has a decided behaviour: a ValueError/TypeError naming the column and the
row (or query / group), or a documented rule."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from prefcore.metrics import (
    calibration,
    compare,
    evaluate,
    evaluate_grouped,
    kendall_tau,
    pairwise_accuracy,
    read_trec_run,
)

QRELS = {"query_id": ["q"], "doc_id": ["a"], "relevance": [1]}


def run(**over: list) -> dict:
    base = {"query_id": ["q", "q"], "doc_id": ["a", "b"], "score": [1.0, 0.5]}
    base.update(over)
    return base


def test_nan_score_names_column_and_row() -> None:
    with pytest.raises(ValueError, match=r"column 'score', row 1: NaN score"):
        evaluate(run(score=[1.0, float("nan")]), QRELS, "map")


def test_infinite_scores_rank_first_and_last() -> None:
    got = evaluate(run(score=[-math.inf, math.inf], doc_id=["a", "b"]), QRELS, "mrr")
    assert got == {"mrr": 0.5}


def test_null_id_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"column 'doc_id', row 0: null"):
        evaluate(run(doc_id=[None, "b"]), QRELS, "map")
    with pytest.raises(ValueError, match=r"column 'query_id', row 1: null"):
        evaluate(run(query_id=["q", None]), QRELS, "map")


def test_null_score_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"column 'score', row 0: null"):
        evaluate(run(score=[None, 1.0]), QRELS, "map")


def test_duplicate_run_document_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"column 'doc_id', query 'q': document 'a' appears more"):
        evaluate(run(doc_id=["a", "a"]), QRELS, "map")


def test_duplicate_qrels_document_is_an_error() -> None:
    qrels = {"query_id": ["q", "q"], "doc_id": ["a", "a"], "relevance": [1, 0]}
    with pytest.raises(ValueError, match=r"query 'q': document 'a' appears more"):
        evaluate(run(), qrels, "map")


def test_negative_qrels_grade_means_unjudged() -> None:
    """trec_eval's -1: judged but outside the pool; like a missing judgement."""
    qrels = {"query_id": ["q", "q"], "doc_id": ["a", "b"], "relevance": [-1, 1]}
    missing = {"query_id": ["q"], "doc_id": ["b"], "relevance": [1]}
    names = ["map", "bpref", "ndcg", "num_rel"]
    assert evaluate(run(), qrels, names) == evaluate(run(), missing, names)


def test_fractional_grade_is_an_error() -> None:
    qrels = {"query_id": ["q"], "doc_id": ["a"], "relevance": [0.5]}
    with pytest.raises(
        ValueError, match=r"column 'relevance', row 0: relevance 0.5 is not a whole"
    ):
        evaluate(run(), qrels, "map")


def test_wrong_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match=r"column 'score' has type Utf8; expected a numeric type"):
        evaluate(run(score=["x", "y"]), QRELS, "map")
    with pytest.raises(TypeError, match=r"column 'doc_id' has type Float64"):
        evaluate(run(doc_id=[1.5, 2.5]), QRELS, "map")
    with pytest.raises(TypeError, match="must be an Arrow table"):
        evaluate(42, QRELS, "map")


def test_missing_column_lists_what_exists() -> None:
    with pytest.raises(
        ValueError, match=r"column 'score' not found; the table has columns \[query_id, doc_id, s\]"
    ):
        evaluate({"query_id": ["q"], "doc_id": ["a"], "s": [1.0]}, QRELS, "map")


def test_unknown_metric_lists_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown metric 'ndgc@10'; known metrics: ndcg"):
        evaluate(run(), QRELS, "ndgc@10")
    with pytest.raises(ValueError, match="needs a cutoff"):
        evaluate(run(), QRELS, "precision")


def test_no_common_query_is_an_error() -> None:
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate(run(query_id=["z", "z"]), QRELS, "map")


def test_empty_qrels_query_set_and_all_zero_relevance() -> None:
    qrels = {"query_id": ["q"], "doc_id": ["a"], "relevance": [0]}
    got = evaluate(run(), qrels, ["map", "ndcg", "P.1", "num_rel"])
    assert got == {"map": 0.0, "ndcg": 0.0, "P.1": 0.0, "num_rel": 0.0}


def test_complete_counts_queries_missing_from_the_run() -> None:
    qrels = {"query_id": ["q", "r"], "doc_id": ["a", "x"], "relevance": [1, 1]}
    assert evaluate(run(), qrels, "map") == {"map": 1.0}
    assert evaluate(run(), qrels, "map", complete=True) == {"map": 0.5}


def test_grouped_mismatched_lengths_name_the_group() -> None:
    with pytest.raises(
        ValueError, match=r"column 'labels', row 1: 1 labels for 2 scores in 'scores'"
    ):
        evaluate_grouped([[1.0], [1.0, 2.0]], [[1], [1]], "ndcg")
    with pytest.raises(ValueError, match="'scores' has 2 groups but 'labels' has 1"):
        evaluate_grouped([[1.0], [1.0]], [[1]], "ndcg")


def test_grouped_nan_and_null_and_negative() -> None:
    with pytest.raises(ValueError, match=r"column 'scores', row 1: NaN at position 0"):
        evaluate_grouped([[1.0], [float("nan")]], [[1], [1]], "ndcg")
    with pytest.raises(ValueError, match=r"column 'labels', row 0: null value at position 1"):
        evaluate_grouped([[1.0, 2.0]], [[1, None]], "ndcg")
    with pytest.raises(ValueError, match=r"column 'labels', row 0: negative label -1"):
        evaluate_grouped([[1.0]], [[-1]], "ndcg")
    with pytest.raises(ValueError, match="must be 2-D"):
        evaluate_grouped(np.zeros(3), np.zeros(3), "ndcg")


def test_grouped_empty_group_scores_zero() -> None:
    got = evaluate_grouped(
        pa.array([[], [1.0]], pa.list_(pa.float64())), [[], [1]], ["ndcg", "mrr"], per_group=True
    )
    assert got.column("ndcg").to_pylist() == [0.0, 1.0]


def test_average_ties_rejected_for_nonlinear_metrics() -> None:
    with pytest.raises(ValueError, match="ties='average' is defined for metrics linear"):
        evaluate_grouped([[1.0]], [[1]], "map", ties="average")
    with pytest.raises(ValueError, match="ties must be one of 'stable', 'average'; not 'random'"):
        evaluate_grouped([[1.0]], [[1]], "ndcg", ties="random")  # type: ignore[arg-type]


def test_preference_errors() -> None:
    with pytest.raises(ValueError, match=r"column 'chosen', row 1: NaN score"):
        pairwise_accuracy([1.0, float("nan")], [0.0, 0.0])
    with pytest.raises(ValueError, match="differ in length"):
        pairwise_accuracy([1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"weights has no entry for subsets \['b'\]"):
        pairwise_accuracy([1.0, 1.0], [0.0, 0.0], subsets=["a", "b"], weights={"a": 1.0})
    with pytest.raises(ValueError, match=r"n_bins must be in \[1, 1000000\], not 0"):
        calibration([1.0], [0.0], n_bins=0)
    with pytest.raises(ValueError, match="at least 2 queries"):
        compare([1.0], [0.0])
    with pytest.raises(ValueError, match="must be paired"):
        compare([1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="variant must be one of 'b', 'c'; not 'a'"):
        kendall_tau([1, 2], [1, 2], variant="a")  # type: ignore[arg-type]


def test_file_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        read_trec_run(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("q Q0 d 1 1.0 tag\nq Q0 d 1 oops tag\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2: score 'oops' is not a number"):
        read_trec_run(bad)


def test_more_metric_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prefcore.metrics import read_trec_qrels

    bad = tmp_path / "qrels.txt"
    bad.write_text("q 0 d 1\nq 0 d two\n")
    with pytest.raises(ValueError, match=r"qrels.txt, line 2: relevance 'two' is not an integer"):
        read_trec_qrels(bad)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        calibration([1.0], [0.0], scale=0.0)
    with pytest.raises(ValueError, match="calibration needs at least one pair"):
        calibration([], [])
    with pytest.raises(ValueError, match="test must be one of 't', 'randomization', 'bootstrap'"):
        compare([1.0, 2.0], [0.0, 1.0], test="z")  # type: ignore[arg-type]
