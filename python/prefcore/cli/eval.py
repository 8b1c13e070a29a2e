"""``prefcore eval``: a TREC run against qrels, with trec_eval's semantics, measure
names and output."""

from __future__ import annotations

import argparse
import json
from typing import Any

from prefcore._trec_names import trec_line, trec_measures
from prefcore.cli._options import LEVEL, HelpFormat

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    ev = sub.add_parser(
        "eval",
        help="evaluate a TREC run against qrels (trec_eval semantics)",
        description="Evaluate a TREC run file against a qrels file with trec_eval's "
        "semantics and measure names; prints the summary (and per-query values with -q).",
        epilog="examples:\n  prefcore eval --run run.txt --qrels qrels.txt -m ndcg_cut.10 map\n"
        "  prefcore eval --run run.txt --qrels qrels.txt -m P.5,10 -q --json",
        formatter_class=HelpFormat,
    )
    ev.add_argument("--run", required=True, help="TREC run file")
    ev.add_argument("--qrels", required=True, help="TREC qrels file")
    ev.add_argument(
        "-m", "--metrics", nargs="+", action="extend", metavar="MEASURE",
        help="measures, trec_eval style; repeat -m to add more (P, ndcg_cut, map_cut, "
        "recall, success at trec_eval's cutoffs; P.5,10; all_trec). Default: map "
        "ndcg_cut.10 P.10",
    )  # fmt: skip
    ev.add_argument("-q", "--per-query", action="store_true", help="also print per-query values")
    ev.add_argument("-l", "--relevance-level", type=LEVEL, default=1,
                    help="least grade counted as relevant by the binary measures")  # fmt: skip
    ev.add_argument("-c", "--complete", action="store_true", help="average over all qrels queries")
    ev.add_argument("--json", action="store_true",
                    help="print JSON only: the summary {measure: value}, or with -q "
                    '{"per_query": {query: {measure: value}}, "all": summary}')  # fmt: skip
    ev.add_argument("--report", help="write the JSON report here")


def main(args: argparse.Namespace) -> dict[str, Any]:
    from prefcore.io import refuse_overwrites
    from prefcore.metrics import evaluate_trec_both

    refuse_overwrites({"--run": args.run, "--qrels": args.qrels}, {"--report": args.report})

    measures = trec_measures(args.metrics or ["map", "ndcg_cut.10", "P.10"])
    per_query, summary = evaluate_trec_both(
        args.run, args.qrels, measures, args.relevance_level, args.complete
    )
    rows = per_query.to_pylist() if args.per_query else []
    if args.json:  # one JSON document, nothing else on stdout
        if args.per_query:
            by_query = {row.pop("query_id"): row for row in rows}
            print(json.dumps({"per_query": by_query, "all": summary}))
        else:
            print(json.dumps(summary))
        return dict(summary)
    for row in rows:
        qid = row.pop("query_id")
        for name, value in row.items():
            if name != "gm_map":  # a summary only, as trec_eval prints it
                print(trec_line(name, qid, value))
    for name, value in summary.items():
        print(trec_line(name, "all", value))
    return dict(summary)
