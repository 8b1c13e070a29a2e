"""``prefcore pipeline``: the steps of a TOML job file, each on the previous one's output.

Each ``[[steps]]`` table is read into its command's typed options (the same dataclass
its flags fill), so a job file accepts exactly what the command line accepts, and a bad
value is an error naming the file, the step and the key.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from prefcore.cli import decontaminate, dedup, pairs, stats
from prefcore.cli._options import Files, HelpFormat, from_table
from prefcore.errors import InvalidArgumentError

__all__ = ["STEPS", "add_parser", "main", "run"]

# The commands a job can run, with their typed options and what runs them.
STEPS: dict[str, Any] = {
    "stats": (stats.StatsOptions, stats.run),
    "dedup": (dedup.DedupOptions, dedup.run),
    "decontaminate": (decontaminate.DecontaminateOptions, decontaminate.run),
    "pairs": (pairs.PairsOptions, pairs.run),
}
TOP_KEYS = ("input", "output", "on_error", "steps")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "pipeline",
        help="run the steps of a TOML config in order",
        description="Run the steps of a job file in order, each on the previous one's "
        "output. The job file names `input`, `output`, optionally `on_error` (fail or "
        "skip), and one [[steps]] table per step: `step` is a subcommand (stats, dedup, "
        "decontaminate, pairs) and the other keys are its options, spelt with "
        "underscores (--min-margin is min_margin). Intermediate results go to a scratch "
        "directory next to the output, removed afterwards.",
        epilog="example job.toml:\n"
        '  input = "raw.jsonl.gz"\n  output = "train.parquet"\n  [[steps]]\n'
        '  step = "dedup"\n  exact = ["prompt", "chosen", "rejected"]\n'
        '  [[steps]]\n  step = "decontaminate"\n  against = "eval.jsonl"\n\n'
        "run it:\n  prefcore pipeline job.toml --report report.json",
        formatter_class=HelpFormat,
    )
    p.add_argument("config", metavar="CONFIG.toml", help="the job file")
    p.add_argument("--report", help="write the JSON report here")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _remove_stale_scratch(directory: Path) -> None:
    """Scratch directories of pipeline runs that were killed (their PID is gone)."""
    from prefcore.io import process_alive

    for old in directory.glob(".prefcore-pipeline-*-*"):
        pid = old.name[len(".prefcore-pipeline-") :].split("-", 1)[0]
        if old.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def read_job(path: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The job file's top-level keys and its steps, each as ``(name, typed options)``;
    every key is checked before any step runs."""
    # tomllib is in the standard library from 3.11; tomli (a dependency on 3.10) is the
    # same parser under its original name.
    toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    config: dict[str, Any] = toml.loads(Path(path).read_text())
    for key in ("input", "steps"):
        if key not in config:
            raise InvalidArgumentError(f"{path}: '{key}' is missing", argument=key)
    unknown_top = sorted(set(config) - set(TOP_KEYS))
    if unknown_top:
        raise InvalidArgumentError(
            f"{path}: unknown keys {unknown_top}; a job file has input, output, on_error "
            "and [[steps]]",
            argument=unknown_top[0],
        )
    raw = config["steps"]
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise InvalidArgumentError(
            f"{path}: 'steps' must be a list of tables ([[steps]] with step = ...), not {raw!r}",
            argument="steps",
        )
    if config.get("on_error", "fail") not in ("fail", "skip"):
        raise InvalidArgumentError(
            f"{path}: 'on_error' must be 'fail' or 'skip', not {config['on_error']!r}",
            argument="on_error",
        )
    steps = []
    for i, table in enumerate(raw):
        name = table.get("step")
        if name not in STEPS:
            raise InvalidArgumentError(
                f"{path}: step {i + 1}: unknown step {name!r}; steps are {sorted(STEPS)}",
                argument="step",
            )
        options_type = STEPS[name][0]
        fields = {k: v for k, v in table.items() if k != "step"}
        steps.append((name, from_table(options_type, fields, f"{path}: step {i + 1} ({name})")))
    if "output" not in config and any(name != "stats" for name, _ in steps):
        raise InvalidArgumentError(f"{path}: 'output' is missing", argument="output")
    return config, steps


def run(config_path: str, *, report: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run a job file; the report has one entry per step."""
    from prefcore.io import is_device, refuse_overwrites

    config, steps = read_job(config_path)
    inputs = {"input": config["input"], "job file": config_path}
    inputs |= {
        f"step {i + 1} against": getattr(options, "against", None)
        for i, (_, options) in enumerate(steps)
    }
    refuse_overwrites(inputs, {"output": config.get("output"), "--report": report})
    last_write = max((i for i, (name, _) in enumerate(steps) if name != "stats"), default=-1)
    output = Path(config.get("output", "x"))
    # Intermediate steps go beside the output (same filesystem), or to the temporary
    # directory when the output is a device such as /dev/null.
    out_dir = Path(tempfile.gettempdir()) if is_device(output) else output.parent
    _remove_stale_scratch(out_dir)
    scratch = Path(tempfile.mkdtemp(prefix=f".prefcore-pipeline-{os.getpid()}-", dir=out_dir))
    current, reports = config["input"], []
    try:
        for i, (name, options) in enumerate(steps):
            target = config["output"] if i == last_write else str(scratch / f"step{i + 1}.parquet")
            files = Files(
                input=current,
                output=None if name == "stats" else target,
                on_error=config.get("on_error", "fail"),
                quiet=quiet,
            )
            reports.append({"step": name, **STEPS[name][1](files, options)})
            if name != "stats":
                current = target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"steps": reports}


def main(args: argparse.Namespace) -> dict[str, Any]:
    return run(args.config, report=args.report, quiet=args.quiet)
