"""Option values are defined once, in the core: the extension converts them at its
boundary (a bad one is an ``InvalidArgumentError`` naming the argument and the accepted
values), its stubs spell each vocabulary as a ``Literal`` equal to the core's, and every
public function that forwards an option to the core accepts exactly the core's values
(or a named subset of them)."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path
from types import UnionType
from typing import Any

import pyarrow as pa
import pytest

import prefcore
from prefcore import (
    _prefcore,
    dedup,
    match,
    metrics,
    pairs,
    pipeline,
    streaming,
    tokenize,
    torch,
)
from prefcore.errors import ArgumentTypeError, InvalidArgumentError

VOCABULARIES = {v.name: v for v in _prefcore.option_vocabularies()}
STUB = Path(_prefcore.__file__).with_name("_prefcore.pyi")


def stub_aliases() -> dict[str, list[str]]:
    """The ``_Name = Literal[...]`` aliases of the extension's stubs."""
    out = {}
    for node in ast.parse(STUB.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Subscript)
            and ast.unparse(node.value.value) == "Literal"
        ):
            target = node.targets[0]
            assert isinstance(target, ast.Name)
            out[target.id] = list(ast.literal_eval(ast.unparse(node.value.slice)))
    return out


def literal_values(fn: Any, parameter: str) -> list[Any]:
    """The values of the ``Literal`` in ``parameter``'s annotation (unions searched)."""
    # A class's options are its (dataclass) fields, each read in its own module.
    hints = typing.get_type_hints(fn if inspect.isclass(fn) else inspect.unwrap(fn))
    found: list[Any] = []

    def walk(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Literal:
            found.extend(typing.get_args(annotation))
        elif typing.get_origin(annotation) in (typing.Union, UnionType):
            for member in typing.get_args(annotation):
                walk(member)

    walk(hints[parameter])
    return found


def test_every_core_vocabulary_has_its_stub_alias_with_the_same_values() -> None:
    aliases = stub_aliases()
    assert len(VOCABULARIES) >= 17
    for name, vocabulary in VOCABULARIES.items():
        assert aliases.get(f"_{name}") == vocabulary.values, name
    # and no stub alias without a vocabulary of the core behind it
    assert {a[1:] for a in aliases} == set(VOCABULARIES)


def test_a_hand_checked_vocabulary() -> None:
    strategy = VOCABULARIES["Strategy"]
    assert strategy.argument == "strategy"
    assert strategy.values[:2] == ["best_worst", "best_random"] and len(strategy.values) == 6
    assert VOCABULARIES["Test"].values == [
        "t", "student", "randomization", "permutation", "fisher", "bootstrap"
    ]  # fmt: skip


# Each public option that reaches the core as it is: (function, parameter), the core's
# vocabulary, and the values the core accepts that the public API does not offer.
FORWARDED = [
    (dedup.contamination, "method", "ContaminationMethod", set()),
    (dedup.exact, "keep", "Keep", set()),
    (dedup.minhash, "keep", "Keep", set()),
    (dedup.minhash, "tokenizer", "Tokenizer", set()),
    (dedup.signatures, "tokenizer", "Tokenizer", set()),
    (streaming.band_keys, "tokenizer", "Tokenizer", set()),
    (streaming.clusters_from_pairs, "keep", "Keep", set()),
    (match.knn, "metric", "Metric", set()),
    (match.range_search, "metric", "Metric", set()),
    (match.match, "metric", "Metric", set()),
    (match.match, "method", "MatchMethod", set()),
    (metrics.compare, "test", "Test", {"student", "permutation", "fisher"}),  # aliases
    (metrics.compare_runs, "test", "Test", {"student", "permutation", "fisher"}),
    (metrics.evaluate_grouped, "ties", "GroupedTies", set()),
    (metrics.kendall_tau, "variant", "TauVariant", set()),
    (metrics.pairwise_accuracy, "ties", "PreferenceTies", set()),
    (pairs.from_scores, "strategy", "Strategy", set()),
    (pairs.from_scores, "ties", "PairTies", set()),
    (pairs.from_scores, "short_groups", "ShortGroups", set()),
    (pairs.from_scores, "texts", "Texts", set()),
    (pairs.from_rankings, "strategy", "Strategy", set()),
    (pairs.from_rankings, "ties", "PairTies", set()),
    (pairs.from_rankings, "short_groups", "ShortGroups", set()),
    (pairs.from_rankings, "texts", "Texts", set()),
    (pipeline.build_pairs, "strategy", "Strategy", set()),
    (pipeline.build_pairs, "ties", "PairTies", set()),
    (pipeline.build_pairs, "short_groups", "ShortGroups", set()),
    (pipeline.decontaminate, "method", "ContaminationMethod", set()),
    (tokenize.tokenize_pairs, "truncation", "Truncation", set()),
    (tokenize.tokenize_unpaired, "truncation", "Truncation", set()),
    (torch.PreferenceCollator, "truncation_mode", "Truncation", set()),
    (torch.PreferenceCollator, "layout", "PairLayout", set()),
    (torch.UnpairedCollator, "truncation_mode", "Truncation", set()),
]


@pytest.mark.parametrize(
    ("fn", "parameter", "vocabulary", "not_offered"),
    FORWARDED,
    ids=[f"{fn.__name__}.{p}" for fn, p, _, _ in FORWARDED],
)
def test_public_options_are_the_core_vocabulary(
    fn: Any, parameter: str, vocabulary: str, not_offered: set[str]
) -> None:
    core = VOCABULARIES[vocabulary].values
    public = literal_values(fn, parameter)
    # Values the Python layer handles itself, on top of the core's.
    own = (
        {"layout": {"prefix_shared"}}.get(parameter, set())
        if fn is torch.PreferenceCollator
        else set()
    )
    assert sorted(public) == sorted((set(core) - not_offered) | own)


def test_the_boundary_converts_options_and_names_the_argument() -> None:
    t = pa.table({"prompt": ["a b", "a b"]})
    with pytest.raises(InvalidArgumentError) as err:
        _prefcore.exact(t, ["prompt"], None, "middle")
    assert err.value.argument == "keep"
    assert str(err.value) == "keep must be one of 'first', 'last'; not 'middle'"
    with pytest.raises(ArgumentTypeError) as wrong_type:
        _prefcore.exact(t, ["prompt"], None, 1)
    assert wrong_type.value.argument == "keep" and "'first', 'last'" in str(wrong_type.value)
    with pytest.raises(InvalidArgumentError) as form:
        _prefcore.NormalizeOptions(
            lowercase=True,
            unicode="NFX",
            collapse_whitespace=True,
            strip_punctuation=False,
            digits_to_zero=False,
        )
    assert form.value.argument == "unicode"
    # Every vocabulary's argument is what the Python API calls it.
    arguments = {v.name: v.argument for v in VOCABULARIES.values()}
    assert arguments["Truncation"] == "truncation_mode" and arguments["PairLayout"] == "layout"


def test_a_public_call_refuses_a_value_outside_the_literal_before_the_core() -> None:
    with pytest.raises(InvalidArgumentError) as err:
        pairs.from_scores(
            {"prompt": ["p"], "completions": [["a", "b"]], "scores": [[1.0, 2.0]]},
            strategy="best",  # type: ignore[arg-type]
        )
    assert err.value.argument == "strategy"
    assert "'best_worst'" in str(err.value) and "'random_pairs'" in str(err.value)
    assert isinstance(err.value, prefcore.PrefcoreError)


def test_no_tuple_or_dict_crosses_the_boundary() -> None:
    """Every function and method of the extension returns a class, a table, an array or
    a plain value: no tuple whose places must be remembered, no dict of varying keys.
    (Read from the stub, which stubtest holds to the extension.)"""
    crossing = []
    for node in ast.walk(ast.parse(STUB.read_text())):
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            returned = ast.unparse(node.returns)
            if node.name.startswith("__arrow_c_"):
                continue  # the Arrow PyCapsule protocol's own (schema, array) pair
            if returned.startswith(("tuple[", "dict[")) or "| tuple[" in returned:
                crossing.append(f"{node.name} -> {returned}")
    assert crossing == []


def test_the_collators_arrays_come_back_as_classes() -> None:
    """The padded and packed collation returns typed arrays whose names the collator
    turns into TRL's batch keys."""
    settings = _prefcore.CollateSettings(
        pad_token_id=0, label_pad_id=-100, labels=True, max_length=None,
        truncation_mode="keep_start", pad_to_multiple_of=None, vocab_size=None,
        padding_free=False,
    )  # fmt: skip
    names = ["prompt_ids", "chosen_ids", "rejected_ids"]
    rows = [[[5, 6], [7]], [[1], [2, 3]], [[4], [8]]]
    ids = [_prefcore.token_lists(r, name) for r, name in zip(rows, names)]
    separate = _prefcore.collate_pairs(ids, names, [0, 1], settings, "separate")
    assert isinstance(separate, _prefcore.PairArrays) and separate.joint is None
    assert separate.chosen is not None and separate.rejected is not None
    assert separate.chosen.input_ids.tolist() == [[5, 6, 1], [7, 2, 3]]
    assert separate.chosen.labels.tolist() == [[-100, -100, 1], [-100, 2, 3]]
    assert separate.chosen.position_ids is None and separate.chosen.max_seq_len is None
    unpaired = _prefcore.collate_unpaired(ids[:2], names[:2], [1, 0], settings, True)
    assert unpaired.rows.input_ids.tolist() == [[7, 2, 3], [5, 6, 1]]
    assert unpaired.kl is not None  # each prompt with the row before's completion
    assert unpaired.kl.input_ids.tolist() == [[7, 1, 0, 0], [5, 6, 2, 3]]


def test_a_mistyped_argument_to_the_extension_is_named() -> None:
    """An internal caller passing the extension a value of the wrong type gets an
    ArgumentTypeError naming the argument, found from the call and the stub's
    annotations (not from pyo3's wording)."""
    with pytest.raises(ArgumentTypeError) as e:
        _prefcore.compare([0.1, 0.2], [0.3, 0.1], test="t", n_resamples="10", seed=0)
    assert e.value.argument == "n_resamples"
    assert str(e.value) == "n_resamples must be an integer, not str"
    with pytest.raises(ArgumentTypeError) as e:
        _prefcore.compare([0.1, 0.2], [0.3, 0.1], test="t", n_resamples=10, seed=0.5)
    assert e.value.argument == "seed"


def test_result_classes_of_the_core_are_the_public_types() -> None:
    """``compare`` and ``calibration`` return the extension's classes themselves, which
    pickle, compare and display like the package's result dataclasses."""
    import pickle

    from prefcore import metrics

    r = metrics.compare([0.5, 0.6, 0.7, 0.8], [0.4, 0.4, 0.6, 0.6], test="randomization")
    assert type(r) is metrics.ComparisonResult is _prefcore.ComparisonResult
    assert pickle.loads(pickle.dumps(r)) == r
    # Hand-computed: differences 0.1, 0.2, 0.1, 0.2; mean 0.15.
    assert r.n == 4 and abs(r.difference - 0.15) < 1e-12 and r.test == "randomization"
    assert repr(r).splitlines()[0] == "ComparisonResult(" and "  test: 'randomization'" in repr(r)
    c = metrics.calibration([1.0, 0.0], [0.0, 1.0], n_bins=2)
    assert type(c) is metrics.CalibrationResult
    again = pickle.loads(pickle.dumps(c))
    assert (again.ece, again.brier) == (c.ece, c.brier) and again.bins.equals(c.bins)
    assert "bins: pyarrow.Table: 2 rows x 5 columns" in repr(c)
    with pytest.raises(ArgumentTypeError) as e:
        metrics.ComparisonResult(4, "0.5", 0.4, 0.1, 1.0, 0.5, 0.2, "t")  # type: ignore[arg-type]
    assert e.value.argument == "mean_a"
