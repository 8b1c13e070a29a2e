"""``prefcore stats``: the health report of a dataset, as JSON on stdout."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any

from prefcore.cli._options import Files, HelpFormat, add_io_options

__all__ = ["StatsOptions", "add_parser", "main", "run"]


@dataclass(frozen=True)
class StatsOptions:
    """``prefcore stats`` has no options of its own: the report covers every column."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "stats",
        help="health report of a dataset (format detected), as JSON",
        description="Report rows, prompts, pairs per prompt, length distributions, length "
        "bias, tie rate and repeated rows of a preference dataset, as JSON on stdout; the "
        "format (pairwise, HH transcripts, scored completions, ...) is detected.",
        epilog="example:\n  prefcore stats data.jsonl.zst --report stats.json",
        formatter_class=HelpFormat,
    )
    p.add_argument(
        "input", metavar="IN", help="Parquet, JSONL (.gz/.zst), CSV or IPC file or directory"
    )
    add_io_options(p, output=False)


def run(files: Files, options: StatsOptions) -> dict[str, Any]:
    from prefcore import pipeline

    report = pipeline.stats(files.source(), quiet=files.quiet)
    print(json.dumps(report, indent=2))
    return report


def main(args: argparse.Namespace) -> dict[str, Any]:
    files = Files.from_args(args)
    files.refuse_overwrites()
    return run(files, StatsOptions())
