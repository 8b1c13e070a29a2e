"""Job files read into the same typed options as the command line: what a flag accepts
a step accepts, a bad value is one line naming the file, the step and the key (before
any step runs), and a step gives what the command gives."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from prefcore.cli import build_parser, main
from prefcore.cli.pipeline import STEPS, read_job
from prefcore.data import load_hh_rlhf
from prefcore.errors import InvalidArgumentError
from prefcore.formats import extract_prompt


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    t = extract_prompt(load_hh_rlhf()).clean().slice(0, 300)
    t = pa.concat_tables([t, t.slice(0, 30)])  # 30 exact repeats
    path = tmp_path_factory.mktemp("jobs") / "in.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in t.to_pylist()))
    return path


def job(tmp_path: Path, source: Path, steps: str, output: str = "out.parquet") -> Path:
    path = tmp_path / "job.toml"
    head = f'input = "{source}"\noutput = "{tmp_path / output}"\n'
    path.write_text(head + textwrap.dedent(steps))
    return path


def fails(argv: list[str], expected: str, capsys: Any) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_a_step_gives_what_its_command_gives(source: Path, tmp_path: Path) -> None:
    flags = ["--exact", "prompt", "--near", "chosen", "--threshold", "0.7", "--num-perm", "64"]
    flags += ["--seed", "3", "--degenerate"]
    assert main(["dedup", str(source), str(tmp_path / "cli.parquet"), *flags, "-q"]) == 0
    path = job(
        tmp_path,
        source,
        """
        [[steps]]
        step = "dedup"
        exact = "prompt"      # one column, as --exact prompt
        near = "chosen"
        threshold = 0.7
        num_perm = 64
        seed = 3
        degenerate = true
        """,
    )
    assert main(["pipeline", str(path), "-q"]) == 0
    cli = pq.read_table(tmp_path / "cli.parquet")
    assert cli.num_rows < 300  # the repeats and some near copies went
    assert pq.read_table(tmp_path / "out.parquet").equals(cli)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ('step = "dedup"\nseed = -1', "step 1 (dedup): seed must be an integer in [0, "),
        ('step = "dedup"\nnum_perm = "128"', "'num_perm' must be an integer in [1, "),
        ('step = "dedup"\nnum_perm = 0', "num_perm must be an integer in [1, "),
        ('step = "dedup"\ndegenerate = "yes"', "'degenerate' must be true or false, not 'yes'"),
        ('step = "dedup"\nexact = ["prompt", 3]', "'exact' must be a column name or a list"),
        ('step = "dedup"\nthreshold = "high"', "'threshold' must be a number, not 'high'"),
        ('step = "dedup"\ntresh = 0.5', "step 1 (dedup): unknown keys ['tresh']; this step takes"),
        ('step = "pairs"\nstrategy = "best"', "'strategy' must be one of ['best_worst', "),
        ('step = "pairs"\nk = 1.5', "'k' must be an integer in [1, "),
        ('step = "decontaminate"\nn = 8', "step 1 (decontaminate): 'against' is missing"),
        ('step = "decontaminate"\nagainst = 5', "'against' must be a string, not 5"),
        ('step = "stats"\nnear = "prompt"', "step 1 (stats): unknown keys ['near']"),
        ('step = "sort"', "step 1: unknown step 'sort'; steps are ['decontaminate', "),
    ],
)
def test_a_bad_value_is_one_line_naming_the_step_and_key_before_any_step_runs(
    source: Path, tmp_path: Path, capsys: Any, step: str, expected: str
) -> None:
    # The good first step would write its scratch output; the bad second one stops the
    # job before it starts.
    path = job(
        tmp_path, source, f'[[steps]]\nstep = "dedup"\nexact = "prompt"\n[[steps]]\n{step}\n'
    )
    fails(["pipeline", str(path)], expected.replace("step 1", "step 2"), capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.toml"]


def test_bad_top_level_values_are_named(source: Path, tmp_path: Path, capsys: Any) -> None:
    path = job(tmp_path, source, '[[steps]]\nstep = "stats"\n')
    path.write_text(path.read_text() + 'on_error = "ignore"\n')
    # on_error after [[steps]] belongs to the step in TOML: the step refuses it.
    fails(["pipeline", str(path)], "step 1 (stats): unknown keys ['on_error']", capsys)
    path.write_text('on_error = "ignore"\n' + path.read_text().replace('on_error = "ignore"\n', ""))
    fails(["pipeline", str(path)], "'on_error' must be 'fail' or 'skip', not 'ignore'", capsys)
    with pytest.raises(InvalidArgumentError) as err:
        read_job(str(path))
    assert err.value.argument == "on_error"


def test_every_flag_of_a_step_command_is_a_job_key_and_nothing_else(tmp_path: Path) -> None:
    # The file options (IN, OUT, formats, --report, -q) belong to the job, not the steps.
    files = {"input", "output", "in_format", "out_format", "on_error", "batch_rows", "report"}
    files |= {"quiet", "help"}
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, (options, _) in STEPS.items():
        flags = {a.dest for a in commands[name]._actions} - files
        assert flags == set(options.__dataclass_fields__), name


def test_read_job_gives_typed_options(source: Path, tmp_path: Path) -> None:
    path = job(
        tmp_path,
        source,
        f"""
        [[steps]]
        step = "pairs"
        min_margin = 1
        k = 2
        [[steps]]
        step = "decontaminate"
        against = "{source}"
        method = "exact"
        """,
    )
    config, steps = read_job(str(path))
    (first, pairs), (second, decon) = steps
    assert (first, second) == ("pairs", "decontaminate")
    assert pairs.min_margin == 1.0 and isinstance(pairs.min_margin, float)
    assert (pairs.k, pairs.strategy, pairs.ties) == (2, "best_worst", "drop")  # defaults kept
    assert (decon.against, decon.method, decon.n, decon.column) == (
        str(source),
        "exact",
        13,
        "prompt",
    )
    assert config["input"] == str(source)
