"""The `prefcore` command line.

Exit codes: 0 ok, 1 failure (one line on stderr), 2 usage. Outputs are written to a
temporary file and renamed on success, so a failed or interrupted run leaves no OUT.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import prefcore
from prefcore import _cli_eval
from prefcore.errors import InvalidArgumentError
from prefcore.io import is_device, refuse_overwrites

__all__ = [
    "build_parser",
    "main",
]

FORMATS = ["parquet", "jsonl", "csv", "arrow", "hf"]


def _source(path: str, args: argparse.Namespace, fmt: Any = None) -> Any:
    from prefcore.io import open_source

    return open_source(
        path, fmt or args.in_format, on_error=args.on_error, batch_rows=args.batch_rows
    )


def _check_out(args: argparse.Namespace) -> None:
    refuse_overwrites(
        {"IN": args.input, "--against": getattr(args, "against", None)},
        {"OUT": args.output, "--report": getattr(args, "report", None)},
    )


def _stats(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import pipeline

    report = pipeline.stats(_source(args.input, args), quiet=args.quiet)
    print(json.dumps(report, indent=2))
    return report


def _dedup(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import pipeline

    _check_out(args)
    return pipeline.dedup_stream(
        _source(args.input, args),
        args.output,
        exact=args.exact or (),
        near=args.near,
        threshold=args.threshold,
        num_perm=args.num_perm,
        ngram=args.ngram,
        seed=args.seed,
        bands=args.bands,
        rows=args.rows,
        degenerate=args.degenerate,
        normalize=not args.no_normalize,
        quiet=args.quiet,
        out_format=args.out_format,
    )


def _decontaminate(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import pipeline

    _check_out(args)
    return pipeline.decontaminate(
        _source(args.input, args),
        args.output,
        _source(args.against, args, args.against_format),
        column=args.column,
        against_column=args.against_column,
        method=args.method,
        n=args.n,
        threshold=args.threshold,
        quiet=args.quiet,
        out_format=args.out_format,
    )


def _pairs(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import pipeline

    _check_out(args)
    return pipeline.build_pairs(
        _source(args.input, args),
        args.output,
        strategy=args.strategy,
        min_margin=args.min_margin,
        seed=args.seed,
        prompt=args.prompt,
        completions=args.completions,
        scores=args.scores,
        ties=args.ties,
        k=args.k,
        short_groups=args.short_groups,
        quiet=args.quiet,
        out_format=args.out_format,
    )


STEP_KEYS = {
    "stats": set(),
    "dedup": {"exact", "near", "threshold", "num_perm", "ngram", "seed", "bands", "rows",
              "degenerate", "no_normalize"},
    "decontaminate": {"against", "against_format", "column", "against_column", "method", "n",
                      "threshold"},
    "pairs": {"strategy", "min_margin", "seed", "prompt", "completions", "scores", "ties", "k",
              "short_groups"},
}  # fmt: skip


def _remove_stale_scratch(directory: Path) -> None:
    """Scratch directories of pipeline runs that were killed (their PID is gone)."""
    from prefcore.io import process_alive

    for old in directory.glob(".prefcore-pipeline-*-*"):
        pid = old.name[len(".prefcore-pipeline-") :].split("-", 1)[0]
        if old.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


def _pipeline(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Run the steps of a TOML config, each step's output feeding the next."""
    # tomllib is in the standard library from 3.11; tomli (a dependency on 3.10) is the
    # same parser under its original name.
    toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    config: dict[str, Any] = toml.loads(Path(args.config).read_text())
    for key in ("input", "steps"):
        if key not in config:
            raise InvalidArgumentError(f"{args.config}: '{key}' is missing")
    unknown_top = set(config) - {"input", "output", "steps", "on_error"}
    if unknown_top:
        raise InvalidArgumentError(
            f"{args.config}: unknown keys {sorted(unknown_top)}; a job file has input, "
            "output, on_error and [[steps]]"
        )
    steps = config["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise InvalidArgumentError(
            f"{args.config}: 'steps' must be a list of tables ([[steps]] with step = ...), "
            f"not {steps!r}"
        )
    writes = [s for s in steps if s.get("step") != "stats"]
    if writes and "output" not in config:
        raise InvalidArgumentError(f"{args.config}: 'output' is missing")
    inputs = {"input": config["input"], "job file": args.config}
    inputs |= {f"step {i + 1} against": s.get("against") for i, s in enumerate(steps)}
    refuse_overwrites(inputs, {"output": config.get("output"), "--report": args.report})
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    defaults: dict[str, argparse.ArgumentParser] = subparsers.choices
    current = config["input"]
    reports = []
    output = Path(config.get("output", "x"))
    # Intermediate steps go beside the output (same filesystem), or to the temporary
    # directory when the output is a device such as /dev/null.
    out_dir = Path(tempfile.gettempdir()) if is_device(output) else output.parent
    _remove_stale_scratch(out_dir)
    scratch = Path(tempfile.mkdtemp(prefix=f".prefcore-pipeline-{os.getpid()}-", dir=out_dir))
    try:
        for i, step in enumerate(steps):
            name = step.get("step")
            if name not in STEP_KEYS:
                raise InvalidArgumentError(f"{args.config}: step {i + 1}: unknown step {name!r}")
            unknown = set(step) - STEP_KEYS[name] - {"step"}
            if unknown:
                raise InvalidArgumentError(
                    f"{args.config}: step {i + 1} ({name}): unknown keys {sorted(unknown)}"
                )
            last_write = writes and step is writes[-1]
            target = config["output"] if last_write else str(scratch / f"step{i + 1}.parquet")
            argv = [current] + ([] if name == "stats" else [target])
            for key, value in step.items():
                flag = "-k" if key == "k" else "--" + key.replace("_", "-")
                if key == "step" or value is False:
                    continue
                if value is True:
                    argv.append(flag)
                else:
                    argv += [flag, *map(str, value if isinstance(value, list) else [value])]
            argv += ["--on-error", config.get("on_error", "fail")]
            step_args = defaults[name].parse_args(argv)
            step_args.quiet = args.quiet
            reports.append({"step": name, **COMMANDS[name](step_args)})
            if name != "stats":
                current = target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"steps": reports}


def _bench(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import _cli_bench

    return _cli_bench.run(args)


def _ratings(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import _cli_ratings

    return _cli_ratings.run(args)


def _eval(args: argparse.Namespace) -> dict[str, Any]:
    return _cli_eval.run(args)


COMMANDS = {
    "eval": _eval,
    "stats": _stats,
    "dedup": _dedup,
    "decontaminate": _decontaminate,
    "pairs": _pairs,
    "bench": _bench,
    "ratings": _ratings,
}


def _io_options(p: argparse.ArgumentParser, output: bool = True) -> None:
    p.add_argument("--in-format", choices=FORMATS, help="input format (default: from IN)")
    if output:
        p.add_argument(
            "--out-format", choices=FORMATS[:-1], help="output format (default: from OUT)"
        )
    p.add_argument("--on-error", choices=["fail", "skip"], default="fail",
                   help="malformed JSONL lines: fail (default) or skip and count them")  # fmt: skip
    p.add_argument("--batch-rows", type=COUNT, default=16_384, help="rows per record batch")
    p.add_argument("--report", help="write the JSON report here")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (eval's -q is trec_eval's per-query)")  # fmt: skip


def _int_type(minimum: int, maximum: int = 2**63 - 1) -> Any:
    """An argparse type: an integer in [minimum, maximum] (``_check.integer``'s rule),
    else a usage error."""
    from prefcore._check import integer

    def parse(text: str) -> int:
        try:
            return integer("value", int(text), minimum=minimum, maximum=maximum)
        except ValueError as err:
            message = str(err) if "must be" in str(err) else f"{text!r} is not an integer"
            raise argparse.ArgumentTypeError(message) from None

    parse.__name__ = "integer"
    return parse


COUNT = _int_type(1)  # sizes and counts: at least 1
SEED = _int_type(0, 2**64 - 1)  # seeds: any unsigned 64-bit value
LEVEL = _int_type(-(2**63))  # relevance levels: any 64-bit value


class HelpFormat(argparse.RawDescriptionHelpFormatter):
    """Subcommand help keeps the examples' line breaks, and every option with a default
    says it, in one form: ``(default: X)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default in (None, argparse.SUPPRESS)
            or isinstance(default, bool)
            or "default" in text  # says it in its own words
        ):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})".replace("%", "%%")


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

    _cli_eval.add_parser(sub, HelpFormat, LEVEL)

    st = sub.add_parser(
        "stats",
        help="health report of a dataset (format detected), as JSON",
        description="Report rows, prompts, pairs per prompt, length distributions, length "
        "bias, tie rate and repeated rows of a preference dataset, as JSON on stdout; the "
        "format (pairwise, HH transcripts, scored completions, ...) is detected.",
        epilog="example:\n  prefcore stats data.jsonl.zst --report stats.json",
        formatter_class=HelpFormat,
    )
    st.add_argument(
        "input", metavar="IN", help="Parquet, JSONL (.gz/.zst), CSV or IPC file or directory"
    )
    _io_options(st, output=False)

    dd = sub.add_parser(
        "dedup",
        help="drop exact / near duplicates and degenerate pairs",
        description="Drop rows whose --exact columns repeat an earlier row, rows whose "
        "--near column is a MinHash-LSH near-duplicate of an earlier one, and (with "
        "--degenerate) pairs whose chosen equals rejected or is empty. The first row of "
        "each cluster is kept; the report counts what went and why.",
        epilog="example:\n  prefcore dedup raw.parquet clean.parquet --exact prompt chosen "
        "rejected \\\n      --near chosen --threshold 0.8 --degenerate --report dedup.json",
        formatter_class=HelpFormat,
    )
    dd.add_argument("input", metavar="IN", help="input file or directory")
    dd.add_argument("output", metavar="OUT", help="output file (written atomically)")
    dd.add_argument("--exact", nargs="+", metavar="COL", help="columns whose tuple must be unique")
    dd.add_argument("--near", metavar="COL", help="text column for MinHash near-duplicates")
    dd.add_argument("--threshold", type=float, default=prefcore.dedup.MINHASH_THRESHOLD,
                    help="Jaccard threshold")  # fmt: skip
    dd.add_argument("--num-perm", type=COUNT, default=prefcore.dedup.MINHASH_NUM_PERM,
                    help="MinHash permutations")  # fmt: skip
    dd.add_argument("--ngram", type=COUNT, default=prefcore.dedup.MINHASH_NGRAM,
                    help="word shingle size")  # fmt: skip
    dd.add_argument("--seed", type=SEED, default=1, help="MinHash seed")
    dd.add_argument("--bands", type=COUNT, help="LSH bands (default: chosen from the threshold)")
    dd.add_argument("--rows", type=COUNT, help="rows per band (with --bands)")
    dd.add_argument("--degenerate", action="store_true", help="drop chosen == rejected or empty")
    dd.add_argument("--no-normalize", action="store_true", help="compare raw text")
    _io_options(dd)

    dc = sub.add_parser(
        "decontaminate",
        help="drop rows that overlap an evaluation set",
        description="Drop the rows of IN whose text column shares a word n-gram with the "
        "evaluation set (--method ngram), is a MinHash near-duplicate of one of its texts "
        "(minhash) or equals one after normalisation (exact).",
        epilog="example:\n  prefcore decontaminate clean.parquet final.parquet --against "
        "eval.jsonl --n 13",
        formatter_class=HelpFormat,
    )
    dc.add_argument("input", metavar="IN", help="input file or directory")
    dc.add_argument("output", metavar="OUT", help="output file (written atomically)")
    dc.add_argument("--against", required=True, metavar="EVAL", help="the evaluation set")
    dc.add_argument("--against-format", choices=FORMATS, help="format of EVAL (from its name)")
    dc.add_argument("--column", default="prompt", help="text column of IN")
    dc.add_argument("--against-column", help="text column of EVAL (default: --column)")
    dc.add_argument("--method", choices=["ngram", "minhash", "exact"], default="ngram",
                    help="overlap test")  # fmt: skip
    dc.add_argument("--n", type=COUNT, default=13, help="word n-gram size")
    dc.add_argument("--threshold", type=float, help="least overlap that counts")
    _io_options(dc)

    pr = sub.add_parser(
        "pairs",
        help="chosen/rejected pairs from scored completions",
        description="Build chosen/rejected pairs from a table of scored completions (one "
        "row per prompt with list columns, or one row per completion) by a strategy; "
        "random choices depend only on --seed.",
        epilog="example:\n  prefcore pairs scored.parquet pairs.parquet --strategy "
        "best_random -k 2 --min-margin 1 --seed 0",
        formatter_class=HelpFormat,
    )
    pr.add_argument("input", metavar="IN", help="input file or directory")
    pr.add_argument("output", metavar="OUT", help="output file (written atomically)")
    pr.add_argument("--strategy", default="best_worst",
                    choices=["best_worst", "best_random", "best_vs_rest", "top_k_bottom_k",
                             "all_pairs", "random_pairs"],
                    help="which pairs each prompt gives")  # fmt: skip
    pr.add_argument("--min-margin", type=float, default=0.0,
                    help="least chosen - rejected score difference")  # fmt: skip
    pr.add_argument("--seed", type=SEED, default=0, help="seed of the random choices")
    pr.add_argument("--prompt", default="prompt", help="prompt column")
    pr.add_argument("--completions", default="completions", help="completions column")
    pr.add_argument("--scores", default="scores", help="scores column")
    pr.add_argument("--ties", choices=["drop", "keep", "random"], default="drop",
                    help="equal scores: never paired, earlier one chosen, at random")  # fmt: skip
    pr.add_argument("-k", type=COUNT, default=1,
                    help="rejections per prompt (best_random), ends (top_k_bottom_k), "
                    "pairs per prompt (random_pairs)")  # fmt: skip
    pr.add_argument("--short-groups", choices=["error", "skip"], default="error",
                    help="prompts with fewer than two completions: error or skip")  # fmt: skip
    _io_options(pr)

    from prefcore import _cli_bench

    _cli_bench.add_parser(sub, HelpFormat, _io_options, SEED, COUNT)
    from prefcore import _cli_ratings

    _cli_ratings.add_parser(sub, HelpFormat, _io_options, SEED, COUNT)

    pl = sub.add_parser(
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
    pl.add_argument("config", metavar="CONFIG.toml", help="the job file")
    pl.add_argument("--report", help="write the JSON report here")
    pl.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    for command in sub.choices.values():  # the raw format keeps the examples' lines only
        command.description = textwrap.fill(command.description or "", 88)
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

        if args.command == "eval":
            refuse_overwrites({"--run": args.run, "--qrels": args.qrels}, {"--report": args.report})
        elif args.command in ("stats", "bench"):
            inputs = {
                "IN": args.input,
                "--against": getattr(args, "against", None),
                "--gamed": getattr(args, "gamed", None),
            }
            refuse_overwrites(inputs, {"--report": args.report})
        if getattr(args, "report", None):
            require_writable(args.report)  # before any work, not after OUT is written
        with interrupt_guard():
            if args.command == "pipeline":
                report = _pipeline(args, parser)
            else:
                report = COMMANDS[args.command](args)
        if getattr(args, "report", None):
            _write_report(args.report, report)
        if args.command in ("dedup", "decontaminate", "pairs") and not args.quiet:
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


if __name__ == "__main__":
    sys.exit(main())
