"""The console script: `prefcore eval` prints trec_eval's numbers, `prefcore demo`
runs on the embedded data and reports what an independent computation gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prefcore.cli import main
from prefcore.data import load_hh_rlhf
from prefcore.demo import last_response

DATA = Path(__file__).parent / "data" / "trec_eval"


def eval_args(*extra: str) -> list[str]:
    return [
        "eval",
        "--run",
        str(DATA / "results.test"),
        "--qrels",
        str(DATA / "qrels.test"),
        *extra,
    ]


def test_eval_prints_trec_eval_summary(capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(eval_args("-m", "map", "P.5", "num_rel_ret"))
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    # trec_eval's own output for the same files, line for line (names, padding, values).
    expected = {line.split()[0]: line for line in (DATA / "out.test").read_text().splitlines()}
    assert printed == [expected["map"], expected["P_5"], expected["num_rel_ret"]]
    assert expected["map"].endswith("\t0.1785")


def test_eval_json_and_errors(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    main(eval_args("-m", "bpref", "--json"))
    summary = json.loads(capsys.readouterr().out)
    assert list(summary) == ["bpref"]
    assert abs(summary["bpref"] - 0.1981) <= 0.5e-4  # trec_eval's out.test
    assert (
        main(["eval", "--run", str(tmp_path / "missing"), "--qrels", str(DATA / "qrels.test")]) == 1
    )
    assert "prefcore: error:" in capsys.readouterr().err


def test_eval_per_query_lines(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(eval_args("-m", "recip_rank", "-q")) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [
        line
        for line in (DATA / "out.test.aq").read_text().splitlines()
        if line.startswith("recip_rank ")
    ]
    assert lines == expected  # trec_eval -q's lines, per query then "all"


def test_eval_json_with_per_query_is_json_only(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(eval_args("-m", "recip_rank", "-q", "--json")) == 0
    out = json.loads(capsys.readouterr().out)  # one document: nothing else printed
    expected = {
        line.split()[1]: float(line.split()[2])
        for line in (DATA / "out.test.aq").read_text().splitlines()
        if line.startswith("recip_rank ")
    }
    assert out["all"]["recip_rank"] == pytest.approx(expected.pop("all"), abs=0.5e-4)
    got = {q: v["recip_rank"] for q, v in out["per_query"].items()}
    assert got == pytest.approx(expected, abs=0.5e-4)


def test_demo_reports_the_length_heuristic_accuracy() -> None:
    table = load_hh_rlhf()
    chosen = np.array([len(last_response(t)) for t in table.column("chosen").to_pylist()])
    rejected = np.array([len(last_response(t)) for t in table.column("rejected").to_pylist()])
    shorter_wins = np.mean(chosen < rejected)
    out = subprocess.run(
        [sys.executable, "-m", "prefcore.cli", "demo"], capture_output=True, text=True, check=True
    ).stdout
    assert f"({table.num_rows} pairs)" in out
    assert f"shorter is better  accuracy {shorter_wins:.4f}" in out
    assert "Kendall tau-b" in out


def test_every_subcommand_explains_each_option_and_shows_an_example() -> None:
    import argparse

    from prefcore.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == {
        "demo", "eval", "stats", "dedup", "decontaminate", "pairs", "pipeline", "bench", "ratings"
    }  # fmt: skip
    for name, sub in subparsers.choices.items():
        assert sub.description, name
        assert sub.epilog and "prefcore " + name in sub.epilog, name
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.option_strings or action.dest}"
    job = subparsers.choices["pipeline"].format_help()
    assert "[[steps]]" in job and "min_margin" in job


def _bench_files(tmp_path: Path) -> tuple[Path, Path, dict]:
    from prefcore.benchmarks import REWARDBENCH_COUNTS

    rng = np.random.default_rng(3)
    subsets = [s for s in REWARDBENCH_COUNTS for _ in range(6)]
    rows = {
        "id": list(range(len(subsets))),
        "subset": subsets,
        "score_chosen": rng.integers(1, 11, len(subsets)).astype(float).tolist(),
        "score_rejected": rng.integers(1, 11, len(subsets)).astype(float).tolist(),
    }
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    records = [dict(zip(rows, values)) for values in zip(*rows.values())]
    a.write_text("".join(json.dumps(r) + "\n" for r in records))
    flipped = [{**r, "score_chosen": r["score_rejected"], "score_rejected": r["score_chosen"]}
               for r in records]  # fmt: skip
    b.write_text("".join(json.dumps(r) + "\n" for r in flipped))
    return a, b, rows


def test_bench_prints_the_leaderboard_line_and_json(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from prefcore import benchmarks

    a, b, rows = _bench_files(tmp_path)
    want = benchmarks.rewardbench(rows)
    assert main(["bench", "rewardbench", str(a)]) == 0
    header, line = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["Chat", "Chat", "Hard", "Safety", "Reasoning", "Score"]
    assert float(line.split()[-1]) == want.score
    assert main(["bench", "rewardbench", str(a), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"] == pytest.approx(want.overall)
    # --against: the paired comparison; a model and its mirror image differ except on ties
    assert main(["bench", "rewardbench", str(a), "--against", str(b), "--json"]) == 0
    overall = json.loads(capsys.readouterr().out)["overall"]
    flipped = benchmarks.rewardbench({**rows, "score_chosen": rows["score_rejected"],
                                      "score_rejected": rows["score_chosen"]})  # fmt: skip
    assert overall["difference"] == pytest.approx(want.overall - flipped.overall)
    # a bad file: one line on stderr naming the column, exit 1
    assert main(["bench", "rm-bench", str(a)]) == 1
    assert "column 'domain' not found" in capsys.readouterr().err
    # --against on a benchmark without paired statistics: a named error, exit 1
    assert main(["bench", "rm-bench", str(a), "--against", str(b)]) == 1
    assert "--against compares RewardBench scores" in capsys.readouterr().err


def test_bench_alpaca_eval_with_the_gamed_rows(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from prefcore import benchmarks

    rng = np.random.default_rng(9)
    n = 120
    difficulty = rng.normal(size=n)
    gamed = pa.table({
        "index": np.tile(np.arange(n), 2), "preference": rng.random(2 * n),
        "std_delta_len": rng.normal(size=2 * n), "instruction_difficulty": np.tile(difficulty, 2),
        "not_gamed_baseline": [False] * (2 * n),
    })  # fmt: skip
    pcsv.write_csv(gamed, tmp_path / "gamed.csv")
    rows = {
        "generator_1": ["base"] * n, "generator_2": ["m"] * n,
        "preference": (1 + rng.random(n)).tolist(),
        "output_1": ["x" * int(k) for k in rng.integers(5, 500, n)],
        "output_2": ["y" * int(k) for k in rng.integers(5, 500, n)],
    }  # fmt: skip
    path = tmp_path / "annotations.jsonl"
    path.write_text("".join(json.dumps(dict(zip(rows, v))) + "\n" for v in zip(*rows.values())))
    want = benchmarks.alpaca_eval(rows, gamed=gamed).to_dict()["m"]
    assert (
        main(["bench", "alpaca-eval", str(path), "--gamed", str(tmp_path / "gamed.csv"), "--json"])
        == 0
    )
    got = json.loads(capsys.readouterr().out)["m"]
    assert got["length_controlled_winrate"] == pytest.approx(
        want["length_controlled_winrate"], abs=1e-12
    )
    assert got["win_rate"] == pytest.approx(want["win_rate"], abs=1e-12)
