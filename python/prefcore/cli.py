"""The `prefcore` command line."""

from __future__ import annotations

import argparse
import json
import sys

import prefcore


def _eval(args: argparse.Namespace) -> int:
    from prefcore.metrics import evaluate_trec_both

    per_query, summary = evaluate_trec_both(
        args.run, args.qrels, args.metrics, args.relevance_level, args.complete
    )
    if args.per_query:
        for row in per_query.to_pylist():
            qid = row.pop("query_id")
            for name, value in row.items():
                print(f"{name}\t{qid}\t{value:.4f}")
    if args.json:
        print(json.dumps(summary))
    else:
        for name, value in summary.items():
            print(f"{name}\tall\t{value:.4f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``prefcore`` command line; returns the exit code (0 ok, 1 error, 2 usage).

    >>> main(["eval", "--run", "missing.run", "--qrels", "missing.qrels"])
    1
    """
    parser = argparse.ArgumentParser(
        prog="prefcore", description=prefcore.__doc__.splitlines()[0] if prefcore.__doc__ else None
    )
    parser.add_argument("--version", action="version", version=f"prefcore {prefcore.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the demo on the embedded HH-RLHF sample")
    ev = sub.add_parser("eval", help="evaluate a TREC run against qrels (trec_eval semantics)")
    ev.add_argument("--run", required=True, help="TREC run file")
    ev.add_argument("--qrels", required=True, help="TREC qrels file")
    ev.add_argument("-m", "--metrics", nargs="+", default=["map", "ndcg_cut.10", "P.10"])
    ev.add_argument("-q", "--per-query", action="store_true", help="also print per-query values")
    ev.add_argument("-l", "--relevance-level", type=int, default=1)
    ev.add_argument("-c", "--complete", action="store_true", help="average over all qrels queries")
    ev.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from prefcore import demo

            demo.run()
            return 0
        return _eval(args)
    except (ValueError, TypeError, OSError) as e:
        print(f"prefcore: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
