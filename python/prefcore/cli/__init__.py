"""The `prefcore` command line: one module per command.

Each command module adds its subparser (``add_parser``) and runs it (``main``); the
file commands a job file can chain (stats, dedup, decontaminate, pairs) read their
options into a typed dataclass (``prefcore.cli._options``) that the pipeline fills from
the job file as well.

Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage. Outputs are written to a
temporary file and renamed on success, so a failed or interrupted run leaves no OUT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from typing import Any

import prefcore
from prefcore.cli import bench, decontaminate, dedup, pairs, pipeline, ratings, stats
from prefcore.cli import eval as eval_command
from prefcore.cli._options import HelpFormat

__all__ = [
    "build_parser",
    "main",
]

# Every command's module, in the order of the help.
COMMANDS = {
    "eval": eval_command,
    "stats": stats,
    "dedup": dedup,
    "decontaminate": decontaminate,
    "pairs": pairs,
    "bench": bench,
    "ratings": ratings,
    "pipeline": pipeline,
}
WRITERS = ("dedup", "decontaminate", "pairs")  # commands that print a one-line summary


def build_parser() -> argparse.ArgumentParser:
    """The ``prefcore`` command line's parser, a subcommand each.

    >>> args = build_parser().parse_args(["dedup", "in.jsonl", "out.parquet", "--exact", "prompt"])
    >>> args.command, args.exact, args.threshold
    ('dedup', ['prompt'], 0.8)
    """
    parser = argparse.ArgumentParser(
        prog="prefcore", description=prefcore.__doc__.splitlines()[0] if prefcore.__doc__ else None
    )
    parser.add_argument("--version", action="version", version=f"prefcore {prefcore.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "demo",
        help="run the demo on the embedded HH-RLHF sample",
        description="Run every capability once on the 2,312-row HH-RLHF sample shipped "
        "in the package: no download, no arguments.",
        epilog="example:\n  prefcore demo",
        formatter_class=HelpFormat,
    )
    for command in COMMANDS.values():
        command.add_parser(sub)
    for subparser in sub.choices.values():  # the raw format keeps the examples' lines only
        subparser.description = textwrap.fill(subparser.description or "", 88)
    return parser


def _write_report(path: str, report: dict[str, Any]) -> None:
    from prefcore.io import temporary_path

    tmp = temporary_path(path)
    try:
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2, default=str)
            f.write("\n")  # a text file ends with a newline
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Run the ``prefcore`` command line; returns the exit code (0 ok, 1 error, 2 usage).

    >>> main(["eval", "--run", "missing.run", "--qrels", "missing.qrels"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from prefcore import demo

            demo.run()
            return 0
        from prefcore.io import interrupt_guard, require_writable

        if getattr(args, "report", None):
            require_writable(args.report)  # before any work, not after OUT is written
        with interrupt_guard():
            report = COMMANDS[args.command].main(args)
        if getattr(args, "report", None):
            _write_report(args.report, report)
        if args.command in WRITERS and not args.quiet:
            summary = {k: v for k, v in report.items() if not isinstance(v, dict)}
            print(f"prefcore {args.command}: {json.dumps(summary)}", file=sys.stderr)
        return 0
    except (ValueError, TypeError, OSError, KeyError, OverflowError, MemoryError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"prefcore: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("prefcore: interrupted; no output was written", file=sys.stderr)
        return 1
