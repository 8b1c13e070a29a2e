"""prefcore against the peers on generated inputs with many ties: pytrec_eval
(trec_eval's C code), ranx, scikit-learn and scipy."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import pytrec_eval
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import ndcg_score

from prefcore.cli import main
from prefcore.metrics import evaluate, evaluate_grouped, kendall_tau, spearman

TREC_DATA = Path(__file__).parent / "data" / "trec_eval"

# trec_eval measure -> pytrec_eval output key
TREC_MEASURES = {
    "map": "map",
    "ndcg": "ndcg",
    "ndcg_cut.3": "ndcg_cut_3",
    "ndcg_cut.10": "ndcg_cut_10",
    "map_cut.5": "map_cut_5",
    "P.1": "P_1",
    "P.5": "P_5",
    "recall.3": "recall_3",
    "recip_rank": "recip_rank",
    "Rprec": "Rprec",
    "bpref": "bpref",
    "success.1": "success_1",
    "success.5": "success_5",
    "num_ret": "num_ret",
    "num_rel": "num_rel",
    "num_rel_ret": "num_rel_ret",
}

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Doc ids whose byte order differs from their numeric order ("d10" < "d9").
doc_ids = st.sampled_from([f"d{i}" for i in range(14)])
# Few distinct scores: many ties, broken by doc id.
scores = st.sampled_from([0.0, 0.5, 1.0, 1.5, -2.0])


GRADES = st.integers(0, 3)


@st.composite
def trec_case(draw: st.DrawFn, grades: st.SearchStrategy[int] = GRADES) -> tuple[dict, dict]:
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(draw(st.integers(1, 4))):
        qid = f"q{q}"
        if draw(st.booleans()) or q == 0:
            judged = draw(st.dictionaries(doc_ids, grades, min_size=1, max_size=10))
            qrels[qid] = judged
        if draw(st.booleans()) or q == 0:
            run[qid] = draw(st.dictionaries(doc_ids, scores, min_size=1, max_size=12))
    return run, qrels


def to_table(nested: dict, value: str, int_ids: bool = False) -> pa.Table:
    rows = [(q, d, v) for q, docs in nested.items() for d, v in docs.items()]
    convert = (lambda x: int(x[1:])) if int_ids else (lambda x: x)
    return pa.table(
        {
            "query_id": [convert(r[0]) for r in rows],
            "doc_id": [convert(r[1]) for r in rows],
            value: [r[2] for r in rows],
        }
    )


@SETTINGS
@given(trec_case(), st.sampled_from([1, 2]), st.booleans())
def test_trec_tables_match_pytrec_eval(case: tuple[dict, dict], level: int, int_ids: bool) -> None:
    """String ids, or the same ids as integers (prefcore compares them as text, so
    "10" sorts before "9" as in the string run given to pytrec_eval)."""
    run, qrels = case
    common = sorted(set(run) & set(qrels))
    if not common:
        return
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, set(TREC_MEASURES), relevance_level=level)
    expected = evaluator.evaluate(run)
    ours = evaluate(
        to_table(run, "score", int_ids),
        to_table(qrels, "relevance", int_ids),
        list(TREC_MEASURES),
        per_query=True,
        relevance_level=level,
    )
    qids = ["q" + q for q in ours.column("query_id").to_pylist()] if int_ids else None
    qids = qids or ours.column("query_id").to_pylist()
    assert sorted(qids) == sorted(expected)
    for i, qid in enumerate(qids):
        for name, key in TREC_MEASURES.items():
            got, want = ours.column(name)[i].as_py(), expected[qid][key]
            assert math.isclose(got, want, abs_tol=1e-9), (qid, name, got, want)


@SETTINGS
@given(trec_case(), st.integers(1, 2))
def test_interpolated_precision_and_gm_map_match_pytrec_eval(
    case: tuple[dict, dict], level: int
) -> None:
    run, qrels = case
    if not set(run) & set(qrels):
        return
    expected = pytrec_eval.RelevanceEvaluator(
        qrels, {"iprec_at_recall", "gm_map"}, relevance_level=level
    ).evaluate(run)
    levels = [f"iprec_at_recall_{i / 10:.2f}" for i in range(11)]
    ours = evaluate(
        to_table(run, "score", False),
        to_table(qrels, "relevance", False),
        [*levels, "gm_map"],
        per_query=True,
        relevance_level=level,
    )
    for i, qid in enumerate(ours.column("query_id").to_pylist()):
        for name in levels:
            got, want = ours.column(name)[i].as_py(), expected[qid][name]
            assert math.isclose(got, want, abs_tol=1e-12), (qid, name, got, want)
        # pytrec_eval gives gm_map per query as ln(max(AP, 1e-5)); prefcore gives the AP.
        ap = ours.column("gm_map")[i].as_py()
        assert math.isclose(math.log(max(ap, 1e-5)), expected[qid]["gm_map"], abs_tol=1e-12)


@SETTINGS
@given(trec_case(grades=st.integers(-2, 3)), st.integers(1, 2))
def test_inferred_ap_and_judged_measures_match_pytrec_eval_with_sampled_judgements(
    case: tuple[dict, dict], level: int
) -> None:
    """Negative grades are pooled-but-unjudged documents: infAP counts them, the other
    measures treat them as unjudged, as trec_eval does."""
    run, qrels = case
    if not set(run) & set(qrels):
        return
    for judged in qrels.values():
        # trec_eval (so pytrec_eval) hangs or crashes on a query whose judgements are
        # all negative; prefcore scores such a query as one without relevant documents.
        if all(g < 0 for g in judged.values()):
            judged["unpooled-nonrel"] = 0
    names = {"infAP": "infAP", "map": "map", "bpref": "bpref", "P@5": "P_5", "ndcg": "ndcg"}
    expected = pytrec_eval.RelevanceEvaluator(
        qrels, {"infAP", "map", "bpref", "P", "ndcg"}, relevance_level=level
    ).evaluate(run)
    ours = evaluate(
        to_table(run, "score", False),
        to_table(qrels, "relevance", False),
        list(names),
        per_query=True,
        relevance_level=level,
    )
    for i, qid in enumerate(ours.column("query_id").to_pylist()):
        for name, key in names.items():
            got, want = ours.column(name)[i].as_py(), expected[qid][key]
            assert math.isclose(got, want, abs_tol=1e-12), (qid, name, got, want)


def test_a_query_judged_only_as_pooled_unjudged_scores_zero() -> None:
    run = {"query_id": ["q", "q"], "doc_id": ["a", "b"], "score": [2.0, 1.0]}
    qrels = {"query_id": ["q", "q"], "doc_id": ["a", "c"], "relevance": [-1, -1]}
    assert evaluate(run, qrels, ["infAP", "map", "bpref", "num_rel"]) == {
        "infAP": 0.0, "map": 0.0, "bpref": 0.0, "num_rel": 0.0,
    }  # fmt: skip


@st.composite
def groups(draw: st.DrawFn, max_len: int = 12) -> tuple[list[list[float]], list[list[int]]]:
    n_groups = draw(st.integers(1, 6))
    s, lab = [], []
    for _ in range(n_groups):
        n = draw(st.integers(1, max_len))
        s.append(draw(st.lists(scores, min_size=n, max_size=n)))
        lab.append(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return s, lab


@SETTINGS
@given(groups())
def test_grouped_stable_equals_trec_with_position_ids(case: tuple) -> None:
    """Stable ties = trec_eval when earlier candidates get larger doc ids."""
    s, lab = case
    run = {
        f"g{g:02d}": {f"{99 - i:02d}": sc for i, sc in enumerate(row)} for g, row in enumerate(s)
    }
    qrels = {
        f"g{g:02d}": {f"{99 - i:02d}": lb for i, lb in enumerate(row)} for g, row in enumerate(lab)
    }
    measures = [
        "ndcg",
        "ndcg_cut.3",
        "map",
        "map_cut.5",
        "P.5",
        "recall.3",
        "recip_rank",
        "Rprec",
        "success.1",
    ]
    expected = pytrec_eval.RelevanceEvaluator(qrels, set(measures)).evaluate(run)
    ours = evaluate_grouped(s, lab, measures, per_group=True)
    for g in range(len(s)):
        for name in measures:
            want = expected[f"g{g:02d}"][name.replace(".", "_")]
            got = ours.column(name)[g].as_py()
            assert math.isclose(got, want, abs_tol=1e-9), (g, name, got, want)


@SETTINGS
@given(groups(), st.sampled_from([None, 1, 3, 5]))
def test_grouped_average_ties_equal_sklearn_ndcg(case: tuple, k: int | None) -> None:
    s, lab = case
    name = "ndcg" if k is None else f"ndcg@{k}"
    ours = evaluate_grouped(s, lab, name, ties="average", per_group=True).column(name).to_pylist()
    for row_s, row_l, got in zip(s, lab, ours):
        if len(row_s) < 2:
            continue  # sklearn refuses single-document groups
        want = ndcg_score([row_l], [row_s], k=k)
        assert math.isclose(got, want, abs_tol=1e-9), (row_s, row_l, got, want)


def test_ranx_agrees_without_ties() -> None:
    """ranx breaks score ties differently, so this input has none."""
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    rng = np.random.default_rng(3)
    run: dict[str, dict[str, float]] = {}
    qrels: dict[str, dict[str, int]] = {}
    for q in range(40):
        docs = [f"d{i}" for i in rng.choice(200, size=30, replace=False)]
        run[f"q{q}"] = {d: float(v) for d, v in zip(docs, rng.permutation(30) / 7.0)}
        judged = rng.choice(docs + [f"x{i}" for i in range(5)], size=12, replace=False)
        qrels[f"q{q}"] = {d: int(rng.integers(0, 3)) for d in judged}
        qrels[f"q{q}"][docs[0]] = 1  # every query has a relevant document
    metrics = {
        "ndcg@10": "ndcg@10",
        "map@100": "map@100",
        "mrr@10": "mrr@10",
        "precision@10": "precision@10",
        "recall@20": "recall@20",
        "hit_rate@5": "hit_rate@5",
        "r_precision": "r-precision",
        "f1@10": "f1@10",
        "ndcg_burges@10": "ndcg_burges@10",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ranx_evaluate(
            Qrels(qrels), Run(run), list(metrics.values()), make_comparable=True
        )
    ours = evaluate(to_table(run, "score"), to_table(qrels, "relevance"), list(metrics))
    for name, ranx_name in metrics.items():
        assert math.isclose(ours[name], expected[ranx_name], abs_tol=1e-9), (
            name,
            ours[name],
            expected[ranx_name],
        )


@SETTINGS
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=0, max_size=25),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["b", "c"]),
)
def test_correlations_equal_scipy(groups_: list, variant: str) -> None:
    x = [[float(a) for a, _ in g] for g in groups_]
    y = [[float(b) for _, b in g] for g in groups_]
    xs = pa.array(x, pa.list_(pa.float64()))
    ys = pa.array(y, pa.list_(pa.float64()))
    tau = kendall_tau(xs, ys, variant=variant).per_group
    rho = spearman(xs, ys).per_group
    for i, (gx, gy) in enumerate(zip(x, y)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_tau = (
                stats.kendalltau(gx, gy, variant=variant).statistic if len(gx) >= 2 else np.nan
            )
            want_rho = stats.spearmanr(gx, gy).statistic if len(gx) >= 2 else np.nan
        for got, want in ((tau[i], want_tau), (rho[i], want_rho)):
            if np.isnan(want):
                assert np.isnan(got), (gx, gy, got)
            else:
                assert math.isclose(got, want, abs_tol=1e-9), (gx, gy, got, want)


@pytest.mark.parametrize("k", [1, 5, 10])
def test_large_random_grouped_matches_sklearn(k: int) -> None:
    rng = np.random.default_rng(k)
    s = rng.integers(0, 5, size=(300, 20)).astype(np.float64)  # heavy ties
    lab = rng.integers(0, 4, size=(300, 20))
    ours = evaluate_grouped(s, lab, f"ndcg@{k}", ties="average")[f"ndcg@{k}"]
    assert math.isclose(ours, ndcg_score(lab, s, k=k), abs_tol=1e-12)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 1.0, 2.0]), st.integers(0, 2)), min_size=1, max_size=6
    ),
    st.integers(1, 4),
)
def test_average_ties_equal_the_mean_over_all_tie_orders(items: list, k: int) -> None:
    """Brute force: every order of the tied candidates, each ranked stably, averaged."""
    import itertools

    scores = [s for s, _ in items]
    labels = [lab for _, lab in items]
    names = [f"precision@{k}", f"recall@{k}", f"dcg@{k}", f"ndcg_burges@{k}", "r_precision"]
    totals = dict.fromkeys(names, 0.0)
    perms = list(itertools.permutations(range(len(items))))
    for perm in perms:
        # A permutation of positions, then a stable sort by score: a random tie order.
        got = evaluate_grouped([[scores[i] for i in perm]], [[labels[i] for i in perm]], names)
        for n in names:
            totals[n] += got[n] / len(perms)
    averaged = evaluate_grouped([scores], [labels], names, ties="average")
    for n in names:
        assert math.isclose(averaged[n], totals[n], abs_tol=1e-9), (n, averaged[n], totals[n])


def test_cli_prints_interpolated_precision_and_gm_map_as_trec_eval(capsys) -> None:  # type: ignore[no-untyped-def]
    run_file, qrels_file = str(TREC_DATA / "results.test"), str(TREC_DATA / "qrels.test")
    argv = ["eval", "--run", run_file, "--qrels", qrels_file, "-m", "iprec_at_recall", "gm_map"]
    assert main([*argv, "map", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # gm_map (a summary only) and map: trec_eval's printed lines.
    expected = [
        line
        for line in (TREC_DATA / "out.test.aq").read_text().splitlines()
        if line.startswith(("gm_map ", "map "))
    ]
    assert sorted(ln for ln in lines if not ln.startswith("iprec")) == sorted(expected)
    # iprec_at_recall: trec_eval 9.0.8 as pytrec_eval embeds it. (The distribution's
    # out.test.aq comes from an older trec_eval that rounded a recall level to a count
    # of relevant documents differently: 6 of its 33 values differ from 9.0.8's.)
    run, qrels = {}, {}
    for line in (TREC_DATA / "results.test").read_text().splitlines():
        q, _, d, _, score, _ = line.split()
        run.setdefault(q, {})[d] = float(score)
    for line in (TREC_DATA / "qrels.test").read_text().splitlines():
        q, _, d, grade = line.split()
        qrels.setdefault(q, {})[d] = int(grade)
    theirs = pytrec_eval.RelevanceEvaluator(qrels, {"iprec_at_recall"}).evaluate(run)
    ours = [ln.split("\t") for ln in lines if ln.startswith("iprec")]
    per_query = [(m.strip(), q, float(v)) for m, q, v in ours if q != "all"]
    assert len(per_query) == 3 * 11
    for measure, q, value in per_query:
        assert value == pytest.approx(theirs[q][measure], abs=0.5e-4), (q, measure)
