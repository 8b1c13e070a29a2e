"""The command line never writes where it reads: an output inside an input directory
is refused before any work (a shard stays byte for byte what it was, and a rerun
never reads its own output), and a device or FIFO as output is written in place
(it stays a device)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from prefcore import errors
from prefcore.cli import main
from prefcore.io import Source
from prefcore.pipeline import dedup_stream

ROWS = [{"prompt": f"p{i % 5}", "chosen": "a", "rejected": "b"} for i in range(20)]


def _shards(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for s in range(2):
        (data / f"shard{s}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return data


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(directory.iterdir())}


@pytest.mark.parametrize("name", ["shard0.jsonl", "clean.parquet", "new.jsonl"])
def test_output_in_the_input_directory_is_refused(tmp_path: Path, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    data = _shards(tmp_path)
    before = _snapshot(data)
    assert main(["dedup", str(data), str(data / name), "--exact", "prompt"]) == 1
    assert "OUT is in the IN directory" in capsys.readouterr().err
    assert _snapshot(data) == before  # no shard touched, nothing added


def test_pipeline_job_and_api_refuse_an_output_in_the_input_directory(tmp_path: Path) -> None:
    data = _shards(tmp_path)
    before = _snapshot(data)
    job = tmp_path / "job.toml"
    job.write_text(
        f'input = "{data}"\noutput = "{data / "out.parquet"}"\n'
        '[[steps]]\nstep = "dedup"\nexact = ["prompt"]\n'
    )
    assert main(["pipeline", str(job)]) == 1
    with pytest.raises(errors.InvalidArgumentError, match="output is in the input directory"):
        dedup_stream(Source(data), str(data / "out.jsonl"), exact=["prompt"], quiet=True)
    assert _snapshot(data) == before


def test_a_rerun_reads_the_same_rows(tmp_path: Path) -> None:
    """Run twice with the output beside (not in) the input directory: both runs read
    the 40 input rows only, as Python counting the shards says."""
    data = _shards(tmp_path)
    out = tmp_path / "clean.jsonl"
    reports = []
    for _ in range(2):
        report = dedup_stream(Source(data), str(out), exact=["prompt"], quiet=True)
        reports.append((report["rows_in"], report["rows_out"]))
    expected_in = sum(len(f.read_text().splitlines()) for f in data.iterdir())
    expected_out = len({r["prompt"] for r in ROWS})
    assert reports == [(expected_in, expected_out)] * 2


@pytest.mark.parametrize("fmt", [[], ["--out-format", "parquet"]])
def test_dev_null_stays_a_device(tmp_path: Path, fmt: list[str]) -> None:
    data = _shards(tmp_path)
    assert main(["dedup", str(data), os.devnull, "--exact", "prompt", "--quiet", *fmt]) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_dev_stdout_gets_json_lines(tmp_path: Path) -> None:
    data = _shards(tmp_path)
    command = ["dedup", str(data), "/dev/stdout", "--exact", "prompt", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-m", "prefcore", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    got = [json.loads(line) for line in done.stdout.splitlines()]
    assert got == [r for i, r in enumerate(ROWS) if i < 5]


def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    data = _shards(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text()))
    reader.start()
    assert main(["dedup", str(data), str(fifo), "--exact", "prompt", "--quiet"]) == 0
    reader.join()
    assert [json.loads(line)["prompt"] for line in read[0].splitlines()] == [
        f"p{i}" for i in range(5)
    ]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_pipeline_to_dev_null_leaves_no_scratch_in_dev(tmp_path: Path) -> None:
    data = _shards(tmp_path)
    job = tmp_path / "job.toml"
    job.write_text(
        f'input = "{data}"\noutput = "{os.devnull}"\n'
        '[[steps]]\nstep = "dedup"\nexact = ["prompt"]\n'
        '[[steps]]\nstep = "dedup"\nexact = ["chosen"]\n'
    )
    before = set(os.listdir(os.path.dirname(os.devnull)))
    assert main(["pipeline", str(job), "--quiet"]) == 0
    assert set(os.listdir(os.path.dirname(os.devnull))) == before
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_stats_count_ties_alike_in_python_and_on_the_command_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from prefcore import report

    rows = [
        # equal scores, different texts: a tie by score
        {"prompt": "p", "chosen": "a", "rejected": "b", "score_chosen": 1.0, "score_rejected": 1.0},
        # same texts, different scores: no tie by score
        {"prompt": "p", "chosen": "c", "rejected": "c", "score_chosen": 2.0, "score_rejected": 1.0},
        {"prompt": "q", "chosen": "d", "rejected": "e", "score_chosen": 3.0, "score_rejected": 0.5},
        {
            "prompt": "q",
            "chosen": "f",
            "rejected": "g",
            "score_chosen": None,
            "score_rejected": 0.5,
        },
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    in_python = report.stats(rows_table := Source(path).read_all())
    assert main(["stats", str(path), "--quiet", "--batch-rows", "2"]) == 0
    on_the_cli = json.loads(capsys.readouterr().out)
    # By hand: one pair of four has equal scores.
    assert in_python["tie_rate"] == on_the_cli["tie_rate"] == 0.25
    assert in_python["tie_rule"] == on_the_cli["tie_rule"] == "equal scores"
    unscored = report.stats(rows_table.drop_columns(["score_chosen", "score_rejected"]))
    assert (unscored["tie_rate"], unscored["tie_rule"]) == (0.25, "identical texts")


def test_help_shows_every_default(capsys) -> None:  # type: ignore[no-untyped-def]
    from prefcore.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        with pytest.raises(SystemExit):
            sub.parse_args(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        for action in sub._actions:
            default = action.default
            if not action.option_strings or default in (None, False) or action.dest == "help":
                continue
            shown = " ".join(map(str, default)) if isinstance(default, list) else str(default)
            assert f"default: {shown})" in text or "default" in (action.help or ""), (
                f"prefcore {name} {action.option_strings[0]}: default {shown} not shown"
            )


def test_the_report_file_ends_with_a_newline(tmp_path: Path) -> None:
    data = _shards(tmp_path)
    report = tmp_path / "report.json"
    argv = ["dedup", str(data), str(tmp_path / "o.jsonl"), "--exact", "prompt", "--quiet"]
    assert main([*argv, "--report", str(report)]) == 0
    text = report.read_text()
    assert text.endswith("}\n") and json.loads(text)["rows_out"] == 5


def test_a_binary_file_with_a_text_extension_is_named(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    misnamed = tmp_path / "scored.jsonl"
    pq.write_table(pa.table({"prompt": ["a", "b"]}), misnamed)
    assert main(["stats", str(misnamed), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "this is a Parquet file, not jsonl" in err and "skip" not in err
    assert main(["stats", str(misnamed), "--quiet", "--in-format", "parquet"]) == 0


def test_q_is_quiet_except_in_eval_where_it_is_trec_evals(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = _shards(tmp_path)
    assert main(["stats", str(data), "-q"]) == 0
    assert capsys.readouterr().err == ""  # no progress
    assert main(["dedup", str(data), str(tmp_path / "o.jsonl"), "--exact", "prompt", "-q"]) == 0
    assert "rows in" not in capsys.readouterr().err
