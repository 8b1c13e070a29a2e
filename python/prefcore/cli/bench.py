"""``prefcore bench``: a benchmark's scores from a file of per-example scores, printed
as the leaderboard shows them (and as JSON with ``--json`` or ``--report``)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pyarrow as pa

from prefcore.cli._options import COUNT, SEED, HelpFormat, add_io_options
from prefcore.errors import InvalidArgumentError

BENCHMARKS = ("rewardbench", "rewardbench2", "rm-bench", "alpaca-eval")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="score RewardBench, RewardBench 2, RM-Bench or AlpacaEval from per-example scores",
        description="Score a benchmark from a file of per-example scores, with the "
        "benchmark's own rules (strict ties, weights, Prior Sets, the Ties composite, the "
        "style matrix, length-controlled win rates); prints the leaderboard's table. With "
        "--against, compares two models on the same examples (McNemar, bootstrap, Holm).",
        epilog="examples:\n  prefcore bench rewardbench scores.jsonl\n"
        "  prefcore bench rewardbench2 scores.jsonl --ties-impl 0.1.4 --json\n"
        "  prefcore bench rewardbench model_a.jsonl --against model_b.jsonl",
        formatter_class=HelpFormat,
    )
    p.add_argument("benchmark", choices=BENCHMARKS, help="which benchmark the scores are of")
    p.add_argument("input", metavar="IN", help="the per-example scores (Parquet, JSONL, CSV, IPC)")
    p.add_argument(
        "--partial",
        action="store_true",
        help="score the subsets present when some are missing (not the leaderboard's score)",
    )
    p.add_argument(
        "--ties-impl",
        choices=["head", "0.1.4"],
        default="head",
        help="rewardbench2: the Ties scoring of the repository's head or of the 0.1.4 release",
    )
    p.add_argument(
        "--gamed",
        metavar="FILE",
        help="alpaca-eval: AlpacaEval's gamed-baseline rows (df_gamed.csv without its model "
        "column), for the length-controlled win rate",
    )
    p.add_argument(
        "--against",
        metavar="IN_B",
        help="a second model's scores on the same examples: paired statistics",
    )
    p.add_argument("--bootstrap", type=COUNT, default=1000, help="--against: bootstrap rounds")
    p.add_argument("--seed", type=SEED, default=0, help="--against: the bootstrap's seed")
    p.add_argument("--json", action="store_true", help="print JSON only")
    add_io_options(p, output=False)


def _read(path: str, args: argparse.Namespace) -> pa.Table:
    from prefcore.io import open_source

    source = open_source(path, args.in_format, on_error=args.on_error, batch_rows=args.batch_rows)
    return pa.Table.from_batches(list(source.batches()))


def main(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import benchmarks
    from prefcore.io import refuse_overwrites

    inputs = {"IN": args.input, "--against": args.against, "--gamed": args.gamed}
    refuse_overwrites(inputs, {"--report": args.report})

    scores = _read(args.input, args)
    if args.against:
        if args.benchmark != "rewardbench":
            raise InvalidArgumentError(
                "--against compares RewardBench scores (per-example 0/1 results)",
                argument="--against",
            )
        other = _read(args.against, args)
        paired = benchmarks.paired(scores, other, bootstrap=args.bootstrap, seed=args.seed)
        report: dict[str, Any] = paired.to_dict()
        table = paired.table
    elif args.benchmark == "rewardbench":
        rb = benchmarks.rewardbench(scores, partial=args.partial)
        report, table = rb.to_dict(), _sections(rb.sections, rb.prior_sets, rb.score)
    elif args.benchmark == "rewardbench2":
        rb2 = benchmarks.rewardbench2(scores, partial=args.partial, ties_impl=args.ties_impl)
        report = rb2.to_dict()
        table = _columns({**{k: v * 100 for k, v in report["subsets"].items()}, "Score": rb2.score})
    elif args.benchmark == "rm-bench":
        rm = benchmarks.rm_bench(scores, partial=args.partial)
        report = rm.to_dict()
        cells = {
            d: v * 100
            for d, v in zip(
                rm.table.column("domain").to_pylist(), rm.table.column("average").to_pylist()
            )
        }
        table = _columns(
            {
                **cells,
                "Hard": rm.hard * 100,
                "Normal": rm.normal * 100,
                "Easy": rm.easy * 100,
                "Score": rm.score,
            }
        )
    else:
        gamed = _read(args.gamed, args) if args.gamed else None
        ae = benchmarks.alpaca_eval(scores, gamed=gamed)
        report, table = ae.to_dict(), ae.table
    if args.json:
        print(json.dumps(report, indent=2, default=float))
    else:
        print(format_table(table, digits=1 if table.num_rows == 1 else 2))
        baselines = report.get("baselines")
        if baselines:
            print("length baselines: " + ", ".join(f"{k} {v}" for k, v in baselines.items()))
    return report


def _sections(sections: dict[str, float], prior: float | None, score: float) -> pa.Table:
    cells = {name: value * 100 for name, value in sections.items()}
    if prior is not None:
        cells["Prior Sets"] = prior * 100
    return _columns({**cells, "Score": score})


def _columns(cells: dict[str, float]) -> pa.Table:
    """One leaderboard line: a column per cell, in percent to one decimal."""
    return pa.table({k: [round(v, 1)] for k, v in cells.items()})


def format_table(table: pa.Table, digits: int = 2) -> str:
    """A table as aligned text columns, floats to ``digits`` decimals.

    >>> print(format_table(pa.table({"model": ["a", "bb"], "score": [1.0, 22.25]})))
    model  score
    a       1.00
    bb     22.25
    """

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.{digits}f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"
        return "" if v is None else str(v)

    columns = [
        [name] + [cell(v) for v in table.column(name).to_pylist()] for name in table.column_names
    ]
    widths = [max(len(x) for x in col) for col in columns]
    lines = []
    for i in range(table.num_rows + 1):
        parts = []
        for col, w in zip(columns, widths):
            text = col[i]
            numeric = (
                i > 0 and text.replace(".", "", 1).replace("-", "", 1).replace("e", "", 1).isdigit()
            )
            parts.append(text.rjust(w) if numeric else text.ljust(w))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)
