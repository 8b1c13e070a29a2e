"""The benches that drive the CLI or TRL's trainers, run at a toy size.

They call ``prefcore`` as a user would (subprocesses with command-line flags), so a
renamed flag breaks them without breaking any unit test; ``make bench`` would only
find out after half an hour. Each runs here in seconds and must print its result
line; the timings themselves are not checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHES = Path(__file__).resolve().parent.parent / "benches"


def run_bench(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHES / script), *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_pipeline_bench_runs_and_both_sides_keep_the_same_rows() -> None:
    out = run_bench("bench_pipeline.py", "--rows", "2000")
    ours = next(line for line in out.splitlines() if line.startswith("prefcore dedup"))
    peer = next(line for line in out.splitlines() if line.startswith("datasets.map"))
    # The last column is the rows kept; 5% exact copies are dropped by both sides.
    kept_ours, kept_peer = (int(line.split()[-1].replace(",", "")) for line in (ours, peer))
    assert kept_ours <= 2000 - 100
    assert abs(kept_ours - kept_peer) <= 20, out
    assert "prefcore / peer:" in out


def test_memory_bench_runs() -> None:
    out = run_bench("bench_memory.py", "--gb", "0.002")
    assert "rows, " in out and "GiB of JSON Lines" in out
    assert "prefcore dedup (exact + near):" in out and "peak RSS" in out, out


def test_ray_bench_runs() -> None:
    pytest.importorskip("ray")
    out = run_bench("bench_ray.py", "--rows", "2000")
    assert "speed-up from 1 to 2 workers" in out, out


def test_trainer_bench_runs_every_trainer() -> None:
    out = run_bench("bench_trainers.py", "--steps", "1", "--batch", "1", "--layers", "1")
    rows = [line for line in out.splitlines() if line.startswith(("| DPO", "| reward model"))]
    assert len(rows) == 4, out  # DPO and reward model, long and HH-like prompts


def test_benchmark_scores_bench_runs_and_prints_every_score() -> None:
    out = run_bench("bench_benchmarks.py", "--rows", "4000", "--peer-rows", "2000", "--repeat", "1")
    for name in ("rewardbench", "rewardbench2", "rm_bench", "alpaca_eval", "paired", "LC win rate"):
        assert any(line.startswith(name) for line in out.splitlines()), (name, out)
    # both sides of the length-controlled fit print the same rate to a hundredth
    rates = out.split("LC win rate: prefcore ")[1].split(" (")[0]
    ours, theirs = rates.split(", alpaca-eval ")
    assert abs(float(ours) - float(theirs)) < 0.01, out


def test_arena_bench_runs_against_arena_rank() -> None:
    pytest.importorskip("arena_rank")
    out = run_bench("bench_arena.py", "--battles", "3000", "--models", "12", "--rounds", "20")
    # Times print as seconds, or milliseconds under a second.
    timed = (" s |", " ms |")
    rows = [
        line for line in out.splitlines() if line.startswith("| ") and any(t in line for t in timed)
    ]
    assert len(rows) == 5, out  # FastChat's lines without a reference time, arena-rank's with
    assert "arena-rank ContextualBradleyTerry" in out and "x |" in rows[-1], out
