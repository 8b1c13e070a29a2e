"""Every public function and class, called with bad arguments, raises one of prefcore's
own exceptions (a ``PrefcoreError``: ``ValueError``, and ``TypeError`` for wrong types),
never an ``AttributeError``, a bare ``TypeError`` from deep inside, or a crash.

The walk finds the callables from each public module's ``__all__``, so a new function
is walked without being listed here."""

from __future__ import annotations

import importlib
import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from public_api import PUBLIC_MODULES

from prefcore.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    MissingColumnError,
    PrefcoreError,
)

# The command line and the demo take argv and nothing else; errors holds the classes.
MODULES = [
    m for m in PUBLIC_MODULES if m not in ("prefcore.cli", "prefcore.demo", "prefcore.errors")
]


class Junk:
    """An object no prefcore function accepts for anything."""


BAD_VALUES: dict[str, Callable[[], Any]] = {
    "object": Junk,
    "negative": lambda: -1,
    "nan": lambda: math.nan,
    "string": lambda: "no-such-value",
    "empty mapping": dict,
    "huge": lambda: 2**70,
}


def public_callables() -> list[tuple[str, Any]]:
    found: dict[int, tuple[str, Any]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if callable(obj) and not inspect.ismodule(obj) and id(obj) not in found:
                if inspect.isclass(obj) and issubclass(obj, BaseException):
                    continue
                found[id(obj)] = (f"{name}.{attr}", obj)
    return sorted(found.values(), key=lambda item: item[0])


CALLABLES = public_callables()


def required_parameters(fn: Any) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )
    return [p for p in signature.parameters.values() if p.default is p.empty and p.kind in kinds]


def call_with(fn: Any, parameters: list[inspect.Parameter], make: Callable[[], Any]) -> None:
    args = [make() for p in parameters if p.kind != inspect.Parameter.KEYWORD_ONLY]
    kwargs = {p.name: make() for p in parameters if p.kind == inspect.Parameter.KEYWORD_ONLY}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(*args, **kwargs)


def test_the_walk_covers_the_api() -> None:
    names = {name for name, _ in CALLABLES}
    # A sample of each kind of callable: functions, result-taking helpers, tool classes.
    for expected in (
        "prefcore.dedup.minhash",
        "prefcore.metrics.evaluate",
        "prefcore.ratings.arena",
        "prefcore.plot.rating_intervals",
        "prefcore.torch.TokenBudgetSampler",
        "prefcore.trl.kl_rotation",
        "prefcore.io.open_source",
        "prefcore.ray.stats",
    ):
        assert expected in names
    assert len([n for n, fn in CALLABLES if required_parameters(fn)]) > 100


@pytest.mark.parametrize(("name", "fn"), CALLABLES, ids=[name for name, _ in CALLABLES])
def test_bad_required_arguments_raise_prefcore_errors(name: str, fn: Any) -> None:
    parameters = required_parameters(fn)
    if not parameters:
        return  # nothing to get wrong: the call needs no argument
    for kind, make in BAD_VALUES.items():
        try:
            call_with(fn, parameters, make)
        except PrefcoreError:
            pass
        except OSError:
            pass  # a path that does not exist: the operating system's own error
        except BaseException as err:
            pytest.fail(f"{name} with {kind} arguments raised {type(err).__name__}: {err}")


def test_the_walk_would_catch_a_stray_exception() -> None:
    def careless(table: Any) -> Any:
        return table.num_rows  # AttributeError on anything but a table

    with pytest.raises(pytest.fail.Exception, match="AttributeError"):
        test_bad_required_arguments_raise_prefcore_errors("careless", careless)


# Functions with a valid call, whose every keyword option is then given bad values.
def _valid_calls() -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
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

    pairs_table = {"prompt": ["p", "q"], "chosen": ["a b c", "d e"], "rejected": ["x", "y z"]}
    scored = {"prompt": ["p"], "completions": [["a", "b", "c"]], "scores": [[1.0, 3.0, 2.0]]}
    run = {"query_id": ["q", "q"], "doc_id": ["a", "b"], "score": [1.0, 0.5]}
    qrels = {"query_id": ["q"], "doc_id": ["a"], "relevance": [1]}
    battles = {
        "model_a": ["m1", "m2", "m3", "m1"],
        "model_b": ["m2", "m3", "m1", "m3"],
        "winner": ["model_a", "model_b", "tie", "model_a"],
    }
    vectors = np.eye(4, dtype=np.float32)
    transcripts = {
        "chosen": ["\n\nHuman: Hi\n\nAssistant: Hello"],
        "rejected": ["\n\nHuman: Hi\n\nAssistant: Go away"],
    }
    return {
        "dedup.exact": (dedup.exact, (pairs_table, ["prompt"])),
        "dedup.minhash": (dedup.minhash, (pairs_table, "chosen")),
        "dedup.contamination": (dedup.contamination, (pairs_table, pairs_table)),
        "pairs.from_scores": (pairs.from_scores, (scored,)),
        "unpaired.unpair": (unpaired.unpair, (pairs_table,)),
        "listwise.listwise": (listwise.listwise, (scored,)),
        "metrics.evaluate": (metrics.evaluate, (run, qrels, "ndcg@2")),
        "metrics.evaluate_grouped": (metrics.evaluate_grouped, ([[0.5, 0.1]], [[1, 0]], "map")),
        "ratings.arena": (ratings.arena, (battles,)),
        "ratings.bradley_terry": (ratings.bradley_terry, (battles,)),
        "ratings.online_elo": (ratings.online_elo, (battles,)),
        "match.knn": (match.knn, (vectors, vectors)),
        "report.stats": (report.stats, (pairs_table,)),
        "rewards.transform_rewards": (rewards.transform_rewards, ([1.0, 2.0], [0.5, 0.5])),
        "formats.extract_prompt": (formats.extract_prompt, (transcripts,)),
    }


VALID_CALLS = _valid_calls()


def optional_parameters(fn: Any, given: int = 0) -> list[str]:
    """The options of ``fn`` that the first ``given`` positional arguments leave free."""
    parameters = list(inspect.signature(fn).parameters.values())
    return [
        p.name
        for p in parameters[given:]
        if p.default is not p.empty and p.name not in ("progress",)
    ]


# Old names kept one release: a bad value may be named by the new one.
RENAMED = {"batch_size": "corpus_block"}


@pytest.mark.parametrize("name", sorted(VALID_CALLS))
def test_bad_options_raise_prefcore_errors(name: str) -> None:
    fn, args = VALID_CALLS[name]
    fn(*args)  # the call itself is valid
    options = optional_parameters(fn, len(args))
    assert options, name
    for option in options:
        for kind, make in BAD_VALUES.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn(*args, **{option: make()})
            except (ArgumentTypeError, InvalidArgumentError) as err:
                # The error names the option it is about, whichever layer noticed.
                named = err.argument
                assert named in (option, RENAMED.get(option)), f"{name}({option}=<{kind}>): {err!r}"
            except MissingColumnError as err:  # a column option naming no column
                assert err.column == "no-such-value", f"{name}({option}=<{kind}>): {err!r}"
            except PrefcoreError:
                pass
            except BaseException as err:
                pytest.fail(f"{name}({option}=<{kind}>) raised {type(err).__name__}: {err}")
