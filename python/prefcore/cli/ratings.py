"""``prefcore ratings``: a leaderboard from a file of battles (:func:`prefcore.ratings.arena`
or :func:`prefcore.ratings.rankings`), printed and optionally written with ``-o``."""

from __future__ import annotations

import argparse
import math
from typing import Any

import pyarrow as pa

from prefcore._arena import ARENA_COMPAT
from prefcore._rankings import RANKING_METHODS
from prefcore.cli._options import COUNT, SEED, HelpFormat, add_io_options


def _anchor(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        rating = float(value)
    except ValueError:
        rating = math.nan
    if not sep or not name or not math.isfinite(rating):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=RATING (a finite number)")
    return name, rating


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "ratings",
        help="a leaderboard from battles: Bradley-Terry (style control, intervals) or a ranking",
        description="Rate the models of a file of battles (model_a, model_b, winner) as a "
        "leaderboard does: Bradley-Terry with optional style control, Davidson ties and "
        "bootstrap or sandwich intervals, under FastChat's, arena-rank's, arena-hard's "
        "(--baseline) or prefcore's rules (--compat); or rank them by counting, win rate, "
        "Newman, eigenvector, PageRank or rank centrality (--method). Prints the table; -o "
        "writes it.",
        epilog="examples:\n"
        "  prefcore ratings battles.jsonl --style-control --bootstrap 1000 \\\n"
        "      --anchor gpt-4o=1200 --compat fastchat -o leaderboard.csv\n"
        "  prefcore ratings battles.parquet --compat arena-rank --weights ipw\n"
        "  prefcore ratings battles.jsonl --method pagerank",
        formatter_class=HelpFormat,
    )
    p.add_argument("input", metavar="IN", help="battles (Parquet, JSONL, CSV, IPC)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the leaderboard here")
    p.add_argument("--compat", choices=ARENA_COMPAT, default="prefcore",
                   help="whose definitions to reproduce")  # fmt: skip
    p.add_argument("--method", choices=("bradley-terry", *RANKING_METHODS), default="bradley-terry",
                   help="bradley-terry (the arena fit) or one of the rankings")  # fmt: skip
    p.add_argument(
        "--style-control",
        action="store_true",
        help="control for style: FastChat's token, header, list and bold counts (columns "
        "or a conv_metadata struct)",
    )
    p.add_argument(
        "--style",
        nargs=2,
        action="append",
        metavar=("COL_A", "COL_B"),
        help="a style feature from a pair of per-side columns (repeatable)",
    )
    p.add_argument("--ties", choices=["half", "davidson"], default="half",
                   help="a tie is half a win, or Davidson's tie model")  # fmt: skip
    p.add_argument("--ci", choices=["auto", "bootstrap", "sandwich", "none"], default="auto",
                   help="interval: bootstrap with --bootstrap, else sandwich (auto)")  # fmt: skip
    p.add_argument("--bootstrap", type=COUNT, help="bootstrap rounds")
    p.add_argument("--seed", type=SEED, default=0, help="the bootstrap's seed")
    p.add_argument("--level", type=float,
                   help="the intervals' coverage (0.95; arena-hard 0.9)")  # fmt: skip
    p.add_argument("--anchor", type=_anchor, metavar="NAME=RATING", help="pin one model")
    p.add_argument("--baseline", metavar="NAME",
                   help="--compat arena-hard: the model every game is judged against")  # fmt: skip
    p.add_argument("--weights", metavar="ipw|COLUMN",
                   help="weights: ipw (1/max(pair battles, 50)) or a column")  # fmt: skip
    p.add_argument("--model-a", default="model_a", help="the first model's column")
    p.add_argument("--model-b", default="model_b", help="the second model's column")
    p.add_argument("--winner", default="winner", help="the outcome's column")
    p.add_argument("--json", action="store_true", help="print the leaderboard as JSON lines")
    add_io_options(p)


def main(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore import ratings
    from prefcore.cli.bench import format_table
    from prefcore.io import AtomicWriter, open_source, refuse_overwrites

    refuse_overwrites({"IN": args.input}, {"OUT": args.output, "--report": args.report})
    source = open_source(
        args.input, args.in_format, on_error=args.on_error, batch_rows=args.batch_rows
    )
    battles = pa.Table.from_batches(list(source.batches()))
    columns = {"a": args.model_a, "b": args.model_b, "winner": args.winner}
    report: dict[str, Any] = {"battles": battles.num_rows, "method": args.method}
    if args.method == "bradley-terry":
        style: Any = "fastchat" if args.style_control else None
        if args.style:
            style = {f"{ca}-{cb}": (ca, cb) for ca, cb in args.style}
        result = ratings.arena(
            battles, **columns, compat=args.compat, style=style, ties=args.ties,
            ci=None if args.ci == "none" else args.ci, bootstrap=args.bootstrap or 0,
            seed=args.seed, level=args.level, anchor=args.anchor, weights=args.weights,
            baseline=args.baseline,
            progress=False if args.quiet else None,
        )  # fmt: skip
        table = result.table
        report |= {"compat": args.compat, "stats": dict(result.stats)}
        if result.coefficients.num_rows:
            report["coefficients"] = result.coefficients.to_pylist()
    else:
        ranked = ratings.rankings(battles, args.method, **columns, weights=args.weights)
        table = ranked.table
        report["tie_propensity"] = ranked.tie_propensity
    report["leaderboard"] = table.to_pylist()
    if args.output:
        with AtomicWriter(args.output, args.out_format, reads={"IN": args.input}) as out:
            out.write(table)
    if args.json:
        import json

        for row in table.to_pylist():
            print(json.dumps(row))
    else:
        print(format_table(table))
        for row in report.get("coefficients", []):
            print(f"style {row['feature']}: {row['coefficient']:+.4f}")
    return report
