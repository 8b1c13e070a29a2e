"""Every measure prefcore supports equals what trec_eval printed for its own test
files (the expected outputs ship with trec_eval), per query and overall."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prefcore.metrics import evaluate, read_trec_qrels, read_trec_run

DATA = Path(__file__).parent / "data" / "trec_eval"

# trec_eval measure names (as printed) that prefcore implements.
SUPPORTED = re.compile(
    r"^(num_ret|num_rel|num_rel_ret|map|Rprec|bpref|recip_rank|ndcg"
    r"|P_\d+|recall_\d+|ndcg_cut_\d+|map_cut_\d+|success_\d+)$"
)

# (expected output, qrels, run, options): the trec_eval command lines of the files.
CASES = [
    ("out.test", "qrels.test", "results.test", {}),
    ("out.test.a", "qrels.test", "results.test", {}),
    ("out.test.aq", "qrels.test", "results.test", {}),
    ("out.test.aqc", "qrels.test", "results.trunc", {"complete": True}),
    ("out.test.aql", "qrels.rel_level", "results.test", {"relevance_level": 2}),
]


def expected_values(name: str) -> dict[tuple[str, str], str]:
    out = {}
    for line in (DATA / name).read_text().splitlines():
        measure, qid, value = line.split()
        if SUPPORTED.match(measure):
            out[(measure, qid)] = value
    return out


def agrees(ours: float, printed: str) -> bool:
    # trec_eval prints counts as integers and everything else with 4 decimals.
    if "." not in printed:
        return ours == int(printed)
    return abs(ours - float(printed)) <= 0.5e-4 + 1e-9


@pytest.mark.parametrize(("out", "qrels", "run", "options"), CASES, ids=[c[0] for c in CASES])
def test_matches_trec_eval(out: str, qrels: str, run: str, options: dict) -> None:
    expected = expected_values(out)
    measures = sorted({m for m, _ in expected})
    assert len(measures) >= 8, "the expected file lists the measures we support"
    summary = evaluate(DATA / run, DATA / qrels, measures, **options)
    per_query = evaluate(DATA / run, DATA / qrels, measures, per_query=True, **options)
    qids = per_query.column("query_id").to_pylist()
    checked = 0
    for (measure, qid), printed in expected.items():
        if qid == "all":
            ours = summary[measure]
        else:
            ours = per_query.column(measure)[qids.index(qid)].as_py()
        assert agrees(ours, printed), (
            f"{out}: {measure} {qid}: prefcore {ours}, trec_eval {printed}"
        )
        checked += 1
    per_query_lines = [k for k in expected if k[1] != "all"]
    if per_query_lines:
        assert sorted({q for _, q in per_query_lines}) == qids
    assert checked == len(expected)


def test_tables_and_files_agree() -> None:
    run = read_trec_run(DATA / "results.test")
    qrels = read_trec_qrels(DATA / "qrels.test")
    from_tables = evaluate(run, qrels, ["map", "ndcg_cut.10", "bpref"])
    from_files = evaluate(
        DATA / "results.test", DATA / "qrels.test", ["map", "ndcg_cut.10", "bpref"]
    )
    assert from_tables == from_files
