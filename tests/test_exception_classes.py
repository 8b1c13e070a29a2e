"""prefcore's exceptions: one root a caller can catch, subclasses to tell kinds apart,
and the place of the fault as attributes, from the core and from the Python layer."""

from __future__ import annotations

import pyarrow as pa
import pytest

import prefcore
from prefcore import errors, pairs, unpaired
from prefcore.metrics import evaluate, evaluate_grouped, read_trec_run

QRELS = {"query_id": ["q"], "doc_id": ["a"], "relevance": [1]}


def test_hierarchy() -> None:
    for cls in (
        errors.InvalidValueError,
        errors.InvalidQueryError,
        errors.MissingColumnError,
        errors.InvalidArgumentError,
        errors.InputError,
        errors.ColumnTypeError,
        errors.ArgumentTypeError,
    ):
        assert issubclass(cls, errors.PrefcoreError)
    assert issubclass(errors.PrefcoreError, ValueError)
    # Wrong types are caught by `except TypeError` and by `except PrefcoreError` alike.
    assert issubclass(errors.ColumnTypeError, TypeError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert prefcore.PrefcoreError is errors.PrefcoreError


def test_a_value_from_the_core_carries_column_and_row() -> None:
    run = {"query_id": ["q", "q", "q"], "doc_id": ["a", "b", "c"], "score": [1.0, 0.5, None]}
    with pytest.raises(errors.InvalidValueError) as e:
        evaluate(run, QRELS, "map")
    assert (e.value.column, e.value.row) == ("score", 2)
    assert str(e.value).startswith("column 'score', row 2:")
    assert e.value.query_id is None and e.value.path is None


def test_grouped_nan_names_the_list_row() -> None:
    with pytest.raises(errors.InvalidValueError) as e:
        evaluate_grouped([[0.1, 0.2], [0.5, float("nan")]], [[1, 0], [0, 1]], "ndcg@2")
    assert e.value.row == 1


def test_a_duplicate_document_names_the_query() -> None:
    run = {"query_id": ["q7", "q7"], "doc_id": ["a", "a"], "score": [1.0, 0.5]}
    qrels = {"query_id": ["q7"], "doc_id": ["a"], "relevance": [1]}
    with pytest.raises(errors.InvalidQueryError) as e:
        evaluate(run, qrels, "map")
    assert e.value.query_id == "q7"
    assert e.value.column == "doc_id"
    assert "query 'q7'" in str(e.value)


def test_a_malformed_file_line_names_path_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "run.txt"
    path.write_text("q1 Q0 d1 1 0.9 x\nq1 Q0 d2 2 not-a-number x\n")
    with pytest.raises(errors.InputError) as e:
        read_trec_run(path)
    assert e.value.path == str(path)
    assert e.value.line == 2


def test_missing_column_and_wrong_type() -> None:
    with pytest.raises(errors.MissingColumnError) as missing:
        evaluate({"query_id": ["q"], "doc_id": ["a"]}, QRELS, "map")
    assert missing.value.column == "score"
    bad = {"query_id": ["q"], "doc_id": ["a"], "score": ["high"]}
    with pytest.raises(errors.ColumnTypeError) as wrong:
        evaluate(bad, QRELS, "map")
    assert wrong.value.column == "score"


def test_an_unknown_option_is_an_argument_error() -> None:
    with pytest.raises(errors.InvalidArgumentError, match="ndcg"):
        evaluate({"query_id": ["q"], "doc_id": ["a"], "score": [1.0]}, QRELS, "ndgc@10")


def test_python_layer_errors_carry_the_same_fields() -> None:
    table = pa.table({"prompt": ["p", "q"], "completions": [["a", "b"], ["c", "d"]]})
    table = table.append_column("scores", pa.array([[1.0, 2.0], None], pa.list_(pa.float64())))
    with pytest.raises(errors.InvalidValueError) as e:
        pairs.from_scores(table)
    assert (e.value.column, e.value.row) == ("scores", 1)
    labels = pa.table({"prompt": ["p"], "completion": ["a"], "label": [1]})
    with pytest.raises(errors.ColumnTypeError) as wrong:
        unpaired.pair(labels)
    assert wrong.value.column == "label"


def test_jsonl_line_is_an_input_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prefcore import io

    path = tmp_path / "rows.jsonl"
    path.write_text('{"prompt": "a"}\n{"prompt": \n{"prompt": "c"}\n')
    with pytest.raises(errors.InputError) as e:
        list(io.open_source(path).batches())
    assert e.value.line == 2
    assert io.InputError is errors.InputError


def test_integer_options_out_of_range_name_the_argument() -> None:
    from prefcore import dedup

    for value in (-1, 2**70):
        with pytest.raises(errors.InvalidArgumentError) as e:
            dedup.signatures(["a b c"], seed=value)
        assert e.value.argument == "seed"
        assert "'seed' is out of range" in str(e.value)


def test_errors_made_in_the_binding_are_prefcore_errors() -> None:
    from prefcore.torch import PreferenceCollator

    with pytest.raises(errors.InvalidArgumentError) as e:
        prefcore.force_simd_level("sse9")
    assert e.value.argument == "level"
    with pytest.raises(errors.ArgumentTypeError):
        prefcore.set_num_threads("four")  # type: ignore[arg-type]
    collate = PreferenceCollator(pad_token_id=0, return_tensors="np")
    with pytest.raises(errors.ColumnTypeError) as c:
        collate([{"prompt_ids": [1], "chosen_ids": ["two"], "rejected_ids": [3]}])
    assert c.value.column == "chosen_ids"


def test_the_classes_are_the_extensions_own() -> None:
    """One hierarchy, made by the compiled core: the class a core error has is the one
    the Python layer raises and the one users import from ``prefcore.errors``."""
    from prefcore import _prefcore

    assert errors.PrefcoreError is _prefcore.PrefcoreError
    assert errors.ColumnTypeError is _prefcore.ColumnTypeError
    assert errors.InvalidValueError.__module__ == "prefcore.errors"
    with pytest.raises(errors.MissingColumnError) as from_core:
        evaluate({"query_id": ["q"], "doc_id": ["a"]}, QRELS, "map")
    assert type(from_core.value) is _prefcore.MissingColumnError
    assert from_core.value.column == "score"


def test_errors_keep_their_attributes_through_pickle_and_copy() -> None:
    """Ray sends exceptions between processes by pickle: the attributes must survive."""
    import copy
    import pickle

    made = errors.InvalidQueryError("query 'q7': twice", column="doc_id", query_id="q7")
    for again in (pickle.loads(pickle.dumps(made)), copy.copy(made)):
        assert type(again) is errors.InvalidQueryError
        fields = (again.column, again.query_id, again.row, again.argument)
        assert fields == ("doc_id", "q7", None, None)
        assert str(again) == "query 'q7': twice"
    with pytest.raises(errors.InvalidValueError) as e:
        evaluate_grouped([[0.5, float("nan")]], [[1, 0]], "ndcg@2")
    raised = pickle.loads(pickle.dumps(e.value))
    assert (raised.column, raised.row) == ("scores", 0)


def test_the_constructor_takes_the_attributes_by_keyword_only() -> None:
    import inspect

    params = inspect.signature(errors.ArgumentTypeError).parameters
    assert list(params) == ["message", "argument", "column", "row", "query_id", "path", "line"]
    assert params["row"].kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(TypeError):
        errors.PrefcoreError("message", colum="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        errors.PrefcoreError("message", "x")  # type: ignore[misc]

    class ProjectError(errors.InvalidArgumentError):
        """A user's own subclass keeps the keyword constructor."""

    mine = ProjectError("bad k", argument="k")
    assert mine.argument == "k" and isinstance(mine, errors.PrefcoreError)
