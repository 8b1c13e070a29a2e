"""The inputs and faults users meet in the field: each case here crashed, hung or
gave a silently wrong answer once. Every case is checked against an independent
reference (the rows ``datasets`` itself shows, a hand-computed value) or asserts the
named error the user gets instead."""

from __future__ import annotations

import gzip
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

import prefcore
from prefcore import dedup, formats, listwise, match, metrics, pairs, ratings, report, unpaired
from prefcore.cli import main
from prefcore.io import AtomicWriter, open_source, temporary_path
from prefcore.tokenize import tokenize_pairs, tokenize_unpaired

# ------------------------------------------------------------ datasets views


def _pairs_dataset() -> datasets.Dataset:
    rows = {
        "prompt": ["p0", "p1", "p0", "p3", "p4", "p1", "p6", "p7"],
        "chosen": ["a b c", "d e f", "a b c", "g", "h i", "d e f", "j", "k l"],
        "rejected": ["x", "y", "x", "z", "w", "y", "v", "u"],
        "n": list(range(8)),
    }
    return datasets.Dataset.from_dict(rows)


def _views() -> dict[str, datasets.Dataset]:
    ds = _pairs_dataset()
    return {
        "filter": ds.filter(lambda r: r["n"] % 3 != 1),
        "select": ds.select([3, 1, 6]),
        "shuffle": ds.shuffle(seed=1),
        "split": ds.train_test_split(test_size=0.5, seed=2)["test"],
        "contiguous": ds.select(range(2, 6)),
    }


def _rows_as_seen(view: datasets.Dataset) -> pa.Table:
    """The view's rows as ``datasets`` itself yields them: the reference."""
    return pa.Table.from_pylist(list(view))


def _tokenizer() -> Tokenizer:
    words = sorted(
        {w for t in _pairs_dataset().to_dict().values() for v in t for w in str(v).split()}
    )
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(["[UNK]", "</s>", *words])}, "[UNK]"))
    tok.pre_tokenizer = Whitespace()
    return tok


ENTRY_POINTS: dict[str, Any] = {
    "dedup.exact": lambda t: dedup.exact(t, ["prompt", "chosen"]).cluster_id,
    "dedup.exact.apply": lambda t: dedup.exact(t, ["prompt"]).apply(t),
    "dedup.minhash": lambda t: dedup.minhash(t, "chosen", ngram=1, verify=True).cluster_id,
    "dedup.degenerate_pairs": lambda t: dedup.degenerate_pairs(t).reason,
    "dedup.contamination": lambda t: dedup.contamination(t, {"prompt": ["p3"]}, n=1).contaminated,
    "formats.validate": lambda t: formats.validate(t).format,
    "unpaired.unpair": lambda t: unpaired.unpair(t).table,
    "report.stats": lambda t: report.stats(t),
    "unpaired.pair": lambda t: unpaired.pair(unpaired.unpair(t).table).table,
    "tokenize_pairs": lambda t: tokenize_pairs(t, _tokenizer(), eos_token_id=1).table,
    "tokenize_unpaired": lambda t: (
        tokenize_unpaired(unpaired.unpair(t).table, _tokenizer(), eos_token_id=1).table
    ),
}


@pytest.mark.parametrize("view", sorted(_views()))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_datasets_views_are_read_as_the_user_sees_them(entry: str, view: str) -> None:
    v = _views()[view]
    reference = _rows_as_seen(v)
    got, want = ENTRY_POINTS[entry](v), ENTRY_POINTS[entry](reference)
    if isinstance(got, datasets.Dataset):  # apply gives the caller's type back
        got = list(got)
    if isinstance(got, pa.Table):
        got, want = got.to_pylist(), want.to_pylist()
    elif isinstance(got, (pa.Array, pa.ChunkedArray)):
        got, want = got.to_pylist(), want.to_pylist()
    if isinstance(want, pa.Table):
        want = want.to_pylist()
    assert got == want
    if entry == "dedup.exact.apply":
        assert len(got) <= len(v)  # never a row the view does not hold


def test_datasets_views_in_trec_evaluation_and_scored_pairs() -> None:
    run = datasets.Dataset.from_dict(
        {"query_id": ["q1"] * 4, "doc_id": ["d1", "d2", "d3", "d4"], "score": [4.0, 3.0, 2.0, 1.0]}
    )
    qrels = pa.table({"query_id": ["q1"] * 2, "doc_id": ["d1", "d4"], "relevance": [1, 1]})
    kept = run.filter(lambda r: r["doc_id"] != "d1")  # the user dropped d1
    # By hand: d4 is the only relevant document left, at rank 3 of 3: AP = (1/3) / 2.
    assert metrics.evaluate(kept, qrels, "map")["map"] == pytest.approx(1 / 6)
    scored = datasets.Dataset.from_dict(
        {
            "prompt": ["a", "b", "c"],
            "completions": [["x", "y"]] * 3,
            "scores": [[1, 2], [2, 1], [3, 0]],
        }
    )
    one = scored.select([2])
    r = pairs.from_scores(one).table  # a Dataset back, as the input
    assert r["prompt"] == ["c"] and r["chosen"] == ["x"]
    assert listwise.listwise(one)["prompt"] == ["c"]
    assert formats.detect(one).format == "scored"


# ------------------------------------------------------------ polars layouts


def test_polars_categorical_and_string_view_columns() -> None:
    frame = pl.DataFrame(
        {"prompt": ["p", "q", "p"], "chosen": ["a b", "c", "a b"], "rejected": ["d", "e", "d"]}
    )
    cat = frame.with_columns(pl.col("prompt").cast(pl.Categorical))
    plain = frame.to_arrow().cast(
        pa.schema([(n, pa.string()) for n in ("prompt", "chosen", "rejected")])
    )
    assert formats.detect(cat).format == "pairwise"
    assert formats.validate(frame).format == "pairwise"  # string_view columns
    kto_rows = unpaired.unpair(cat).table  # a polars frame back, the Categorical kept
    assert kto_rows.schema["prompt"] == pl.Categorical
    assert kto_rows.to_dicts() == unpaired.unpair(plain).table.to_pylist()
    assert report.stats(cat) == report.stats(plain)
    tok = _tokenizer()
    assert (
        tokenize_pairs(cat, tok, eos_token_id=1).table["chosen_ids"].to_list()
        == tokenize_pairs(plain, tok, eos_token_id=1).table.column("chosen_ids").to_pylist()
    )
    scored = pl.DataFrame(
        {
            "prompt": ["p", "q"],
            "completions": [["x", "y"], ["z", "w"]],
            "scores": [[1.0, 2.0], [3.0, 1.0]],
        }
    ).with_columns(pl.col("prompt").cast(pl.Categorical))
    assert pairs.from_scores(scored).table["chosen"].to_list() == ["y", "z"]


# ------------------------------------------------------------ the command line


@pytest.fixture
def small(tmp_path: Path) -> Path:
    src = tmp_path / "in.jsonl"
    rows = [{"prompt": f"p{i % 3}", "chosen": "a b c d", "rejected": "x"} for i in range(6)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return src


def _fails(argv: list[str], says: str, capsys: Any) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert says in err, err


def test_cli_refuses_every_output_that_is_an_input(
    small: Path, tmp_path: Path, capsys: Any
) -> None:
    before = small.read_bytes()
    out = tmp_path / "out.jsonl"
    _fails(["dedup", str(small), str(out), "--exact", "prompt", "--report", str(small)],
           "--report is the IN file", capsys)  # fmt: skip
    link = tmp_path / "hard-link.jsonl"
    os.link(small, link)
    _fails(["dedup", str(small), str(link), "--exact", "prompt"], "OUT is the IN file", capsys)
    _fails(["stats", str(small), "--report", str(small)], "--report is the IN file", capsys)
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text('{"prompt": "p1"}\n')
    _fails(["decontaminate", str(small), str(evalset), "--against", str(evalset)],
           "OUT is the --against file", capsys)  # fmt: skip
    run, qrels = tmp_path / "run", tmp_path / "qrels"
    run.write_text("q Q0 d 1 1.0 t\n")
    qrels.write_text("q 0 d 1\n")
    _fails(["eval", "--run", str(run), "--qrels", str(qrels), "--report", str(qrels)],
           "--report is the --qrels file", capsys)  # fmt: skip
    job = tmp_path / "job.toml"
    job.write_text(
        textwrap.dedent(f"""
        input = "{small}"
        output = "{small}"
        [[steps]]
        step = "dedup"
        exact = ["prompt"]
        [[steps]]
        step = "dedup"
        degenerate = true
    """)
    )
    _fails(["pipeline", str(job)], "output is the input file", capsys)
    assert small.read_bytes() == before and evalset.read_text() == '{"prompt": "p1"}\n'
    assert qrels.read_text() == "q 0 d 1\n" and not out.exists()


def test_cli_job_files_and_numbers_get_one_line_errors(
    small: Path, tmp_path: Path, capsys: Any
) -> None:
    job = tmp_path / "job.toml"
    job.write_text(f'input = "{small}"\noutput = "{tmp_path}/o.jsonl"\nsteps = "dedup"\n')
    _fails(["pipeline", str(job)], "'steps' must be a list of tables", capsys)
    job.write_text(
        f'input = "{small}"\noutput = "{tmp_path}/o.jsonl"\nouput = 1\n[[steps]]\nstep = "stats"\n'
    )
    _fails(["pipeline", str(job)], "unknown keys ['ouput']", capsys)
    for flag in (["--seed", "-1"], ["--num-perm", "-5"], ["--batch-rows", "0"]):
        with pytest.raises(SystemExit) as usage:
            main(["dedup", str(small), str(tmp_path / "o.jsonl"), "--near", "prompt", *flag])
        assert usage.value.code == 2
        assert "must be an integer in [" in capsys.readouterr().err
    # A report that cannot be written fails before OUT is written, not after.
    out = tmp_path / "o.jsonl"
    report = str(tmp_path / "no" / "r.json")
    argv = ["dedup", str(small), str(out), "--exact", "prompt", "--report", report]
    _fails(argv, "output directory does not exist", capsys)
    assert not out.exists()


def test_cli_eval_accumulates_and_expands_measures(tmp_path: Path, capsys: Any) -> None:
    run, qrels = tmp_path / "run", tmp_path / "qrels"
    run.write_text("".join(f"q Q0 d{i} {i} {10 - i} t\n" for i in range(12)))
    qrels.write_text("q 0 d1 1\nq 0 d5 1\n")
    assert main(["eval", "--run", str(run), "--qrels", str(qrels), "-m", "map", "-m", "P.10"]) == 0
    names = [line.split("\t")[0].rstrip() for line in capsys.readouterr().out.splitlines()]
    assert names == ["map", "P_10"]  # trec_eval's printed names
    assert (
        main(["eval", "--run", str(run), "--qrels", str(qrels), "-m", "P", "ndcg_cut", "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert list(summary)[:9] == [f"P.{k}" for k in (5, 10, 15, 20, 30, 100, 200, 500, 1000)]
    assert "ndcg_cut.1000" in summary and summary["P.5"] == pytest.approx(1 / 5)
    assert main(["eval", "--run", str(run), "--qrels", str(qrels), "-m", "all_trec", "--json"]) == 0
    assert {"map", "bpref", "recip_rank", "Rprec", "success.10"} <= set(
        json.loads(capsys.readouterr().out)
    )
    # -q is trec_eval's per-query flag in eval; elsewhere quiet is --quiet.
    assert main(["eval", "--run", str(run), "--qrels", str(qrels), "-m", "map", "-q"]) == 0
    assert f"{'map':<22}\tq\t" in capsys.readouterr().out


# ------------------------------------------------------------ text that is not UTF-8


def _latin1_strings() -> pa.Array:
    data = "café".encode("latin-1") + b"ok"
    return pa.Array.from_buffers(
        pa.string(),
        2,
        [None, pa.py_buffer(np.array([0, 4, 6], np.int32).tobytes()), pa.py_buffer(data)],
    )


def test_invalid_utf8_is_an_error_naming_column_and_row(tmp_path: Path, capsys: Any) -> None:
    bad = _latin1_strings()
    with pytest.raises(ValueError, match=r"column 'texts', row 0: text is not valid UTF-8"):
        dedup.normalize(bad)
    with pytest.raises(ValueError, match=r"column 'prompt', row 0: text is not valid UTF-8"):
        dedup.exact(pa.table({"prompt": bad}), ["prompt"])
    src = tmp_path / "latin1.jsonl"
    src.write_bytes(b'{"prompt": "caf\xe9"}\n{"prompt": "ok"}\n')
    cli = [
        sys.executable,
        "-m",
        "prefcore.cli",
        "dedup",
        str(src),
        str(tmp_path / "o.jsonl"),
        "--exact",
        "prompt",
    ]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=600)  # a hang guard
    assert proc.returncode == 1, proc.stderr
    assert "not valid UTF-8" in proc.stderr


# ------------------------------------------------------------ fork, threads, Ctrl-C


def _normalize_in_child(i: int) -> str:
    return dedup.normalize([f"Hello  World {i}"] * 2000).to_pylist()[0]


def test_children_of_a_process_that_used_prefcore_keep_working() -> None:
    dedup.normalize(["warm the pool up"] * 5000)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(_normalize_in_child, range(4)).get(timeout=60)
    assert got == [f"hello world {i}" for i in range(4)]
    ds = datasets.Dataset.from_dict({"text": [f"Some  Text {i}" for i in range(64)]})
    mapped = ds.map(
        lambda b: {"norm": dedup.normalize(b["text"]).to_pylist()},
        batched=True,
        batch_size=8,
        num_proc=2,
    )
    assert mapped["norm"] == [f"some text {i}" for i in range(64)]


def _interrupt_during(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code``, which prints ``started`` just before its long call, and send
    SIGINT a second into that call."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(
    "call",
    [
        "dedup.optimal_bands(0.5, 3_000_000)",
        "ratings.bradley_terry({'model_a': ['a', 'b'] * 50, 'model_b': ['b', 'c'] * 50,"
        " 'winner': ['model_a', 'tie'] * 50}, alpha=0.1, bootstrap=10**7)",
        "dedup.semantic(x, threshold=0.99)",
        "match.knn(x, x, k=10)",
    ],
)
def test_long_calls_notice_ctrl_c(call: str) -> None:
    # The input is made before "started", so the signal lands inside the call; pandas,
    # which pyarrow imports lazily on the first conversion, is imported first too (on a
    # loaded machine its import alone can outlast the second before the signal).
    code = (
        "import numpy, pandas, prefcore; from prefcore import dedup, match, ratings; "
        "x = numpy.random.default_rng(0).standard_normal((100_000, 384), dtype='float32'); "
        f"print('started', flush=True); {call}"
    )
    # Each call runs for tens of seconds uninterrupted. "KeyboardInterrupt: interrupted"
    # is the core's own error, raised where a kernel checked between chunks; a signal
    # noticed only after the call returned is Python's bare KeyboardInterrupt. No
    # clock is read: a loaded machine changes how long, not whether.
    done = _interrupt_during(code)
    assert "KeyboardInterrupt: interrupted" in done.stderr, done.stderr[-2000:]


def test_minhash_verification_of_identical_rows_is_near_linear() -> None:
    r = dedup.minhash({"prompt": ["the very same words again"] * 12_000}, ngram=2, verify=True)
    assert r.stats["clusters"] == 1 and r.stats["removed"] == 11_999
    # Equal rows are joined by their equal shingle sets, not compared pairwise.
    assert r.stats["candidate_pairs"] < 12_000 * 4


# ------------------------------------------------------------ sizes from arguments


def test_sizes_taken_from_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_bins must be in"):
        metrics.calibration([1.0], [0.0], n_bins=10**10)
    eye = np.eye(2, dtype=np.float32)
    for k in (10**13, 2**62):
        with pytest.raises(MemoryError, match="not enough memory for k"):
            match.knn(eye, eye, k=k)
    from prefcore.torch import PreferenceCollator

    collate = PreferenceCollator(pad_token_id=0, pad_to_multiple_of=10**12, return_tensors="np")
    with pytest.raises(MemoryError, match="pad_to_multiple_of"):
        collate([{"prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3]}])
    with pytest.raises(MemoryError, match="bootstrap"):
        ratings.bradley_terry(
            {"model_a": ["a", "b"], "model_b": ["b", "a"], "winner": ["model_a", "model_b"]},
            bootstrap=10**15,
        )
    with pytest.raises(ValueError, match="max_length must be an integer in"):
        PreferenceCollator(pad_token_id=0, max_length=-1)


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: dedup.signatures(["a b c"], seed=-1), "'seed'"),
        (lambda: dedup.signatures(["a b c"], num_perm=2**70), "'num_perm'"),
        (lambda: dedup.minhash({"prompt": ["a b"]}, ngram=-3), "'ngram'"),
        (
            lambda: match.knn(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), k=-2),
            "k must be",
        ),
    ],
)
def test_negative_and_huge_integers_are_value_errors_naming_the_argument(
    call: Any, names: str
) -> None:
    with pytest.raises(ValueError, match=names):
        call()


# ------------------------------------------------------------ silently wrong before


def test_values_that_used_to_pass_silently() -> None:
    with pytest.raises(ValueError, match=r"n \(the n-gram size in words\) must be at least 1"):
        dedup.contamination({"prompt": ["hello world"]}, {"prompt": ["other text"]}, n=0)
    # Gold absent from the 2 candidates is a miss at k = 5 too.
    assert match.evaluate_matching(np.array([[1, 2]]), [7], ks=(1, 5))["hits@5"] == 0.0
    with pytest.raises(
        ValueError, match=r"column 'completions', row 0: 3 completions for 2 scores"
    ):
        listwise.listwise(
            {"prompt": ["p"], "completions": [["a", "b", "c"]], "scores": [[1.0, 2.0]]}
        )
    with pytest.raises(ValueError, match=r"column 'completions', row 1: null value"):
        formats.validate({"prompt": ["p", "q"], "completions": [["a", "b"], ["c", None]],
                          "scores": [[1.0, 2.0], [1.0, 2.0]]})  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'chosen', row 1: null value"):
        unpaired.unpair({"prompt": ["p", "q"], "chosen": ["a", None], "rejected": ["b", "c"]})
    twins = pa.Table.from_arrays(
        [pa.array(["p"]), pa.array(["a"]), pa.array(["b"])], names=["prompt", "chosen", "chosen"]
    )
    with pytest.raises(ValueError, match="two columns named 'chosen'"):
        formats.detect(twins)


@pytest.mark.parametrize("backend", ["rust", "faiss", "torch"])
def test_knn_backends_refuse_nan_queries(backend: str) -> None:
    q = np.array([[np.nan, 1.0]], dtype=np.float32)
    with pytest.raises(
        ValueError, match=r"column 'queries', row 0: non-finite value at dimension 0"
    ):
        match.knn(q, np.eye(2, dtype=np.float32), k=1, backend=backend)


def test_non_finite_values_never_reach_a_result() -> None:
    with pytest.raises(ValueError, match=r"column 'labels', row 0: label inf"):
        metrics.evaluate_grouped([[0.9, 0.1]], [[math.inf, 0]], "ndcg@2")
    with pytest.raises(ValueError, match="relevance_level must be a number"):
        metrics.evaluate_grouped([[0.9, 0.1]], [[1, 0]], "P@1", relevance_level=math.nan)
    with pytest.raises(ValueError, match="label 1100 at position 0 is too large"):
        metrics.evaluate_grouped([[0.9, 0.1]], [[1100, 0]], "ndcg_burges@2")
    # The largest label whose gain is finite still works: 2^1023 - 1 over itself.
    assert metrics.evaluate_grouped([[0.9, 0.1]], [[1023, 0]], "ndcg_burges@2") == {
        "ndcg_burges@2": 1.0
    }
    with pytest.raises(ValueError, match=r"column 'chosen', row 0: NaN or infinite score"):
        metrics.calibration([math.inf], [math.inf])
    with pytest.raises(ValueError, match=r"weights\['b'\] must be a finite number >= 0"):
        metrics.pairwise_accuracy(
            [1.0, 2.0], [0.0, 3.0], subsets=["a", "b"], weights={"a": 1.0, "b": -1.0}
        )
    with pytest.raises(ValueError, match=r"column 'scores', row 0: label 2000"):
        listwise.listwise({"prompt": ["p"], "completions": [["a", "b"]], "scores": [[2000.0, 0.0]]})
    with pytest.raises(ValueError, match=r"column 'labels', row 0: 2000 at position 0"):
        listwise.lipo_lambda_weights(np.array([[1.0, 0.0]]), np.array([[2000.0, 0.0]]))
    big = np.array([[1e20, 0.0]], dtype=np.float32)
    with pytest.raises(ValueError, match=r"column 'queries', row 0: squared norm"):
        match.knn(big, np.eye(2, dtype=np.float32), k=1, metric="l2")
    eye = np.eye(2, dtype=np.float32)
    with pytest.raises(ValueError, match="threshold must be a number"):
        match.match(eye, eye, threshold=math.nan)
    with pytest.raises(ValueError, match="csls_k must be at least 1"):
        match.match(eye, eye, rescore="csls", csls_k=0)
    with pytest.raises(ValueError, match=r"column 'vote', row 1: nan is not a finite value"):
        ratings.aggregate_votes({"item": [1, 1], "annotator": ["a", "b"], "vote": [1.0, math.nan]})
    with pytest.raises(ValueError, match="anchor value must be a finite number"):
        ratings.bradley_terry({"model_a": ["a"], "model_b": ["b"], "winner": ["model_a"]},
                            alpha=0.1, anchor=("a", math.nan))  # fmt: skip


def test_ties_keep_pairs_equal_infinities() -> None:
    t = {
        "prompt": ["p"],
        "completions": [["a", "b", "c"]],
        "scores": [[math.inf, math.inf, -math.inf]],
    }
    r = pairs.from_scores(t, strategy="all_pairs", ties="keep").table
    # By hand: (a, b) tie at +inf and is kept; a and b each beat c.
    got = list(zip(r.column("chosen").to_pylist(), r.column("rejected").to_pylist()))
    assert got == [("a", "b"), ("a", "c"), ("b", "c")]


def test_transcript_roles_that_cannot_be_told_apart() -> None:
    with pytest.raises(ValueError, match="roles must differ"):
        formats.parse_transcript("\n\nHuman: hi\n\nHuman: again", roles=("Human", "Human"))
    with pytest.raises(ValueError, match="must be a non-empty name"):
        formats.parse_transcript("\n\nHuman: hi", roles=("", "Assistant"))


def test_trec_files_and_tables_as_trec_eval_reads_them(tmp_path: Path) -> None:
    cr_only = tmp_path / "cr.qrels"
    cr_only.write_bytes(b"\xef\xbb\xbfq1 0 d1 1\rq2 0 d2 0\rq3 0 d3 2\r")
    q = metrics.read_trec_qrels(cr_only)
    assert q.column("query_id").to_pylist() == ["q1", "q2", "q3"]  # no BOM, three records
    latin = tmp_path / "latin.run"
    latin.write_bytes(b"q Q0 d 1 1.0 t\nq Q0 caf\xe9 2 0.5 t\n")
    with pytest.raises(ValueError, match=r"latin.run, line 2: not valid UTF-8"):
        metrics.read_trec_run(latin)
    for big in (pa.array([2**63 + 5], pa.uint64()), pa.array([1e19])):
        qrels = pa.table({"query_id": ["q"], "doc_id": ["d"], "relevance": big})
        run = pa.table({"query_id": ["q"], "doc_id": ["d"], "score": [1.0]})
        with pytest.raises(
            ValueError, match=r"column 'relevance', row 0: relevance .* does not fit"
        ):
            metrics.evaluate(run, qrels, "ndcg")


# ------------------------------------------------------------ files and names


def test_damaged_files_are_named(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"prompt": ["a"] * 1000}), good)
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(good.read_bytes()[:-40])
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"prompt": "a"}\n' * 5000)[:-30])
    for path in (truncated, empty, gz):
        with pytest.raises(ValueError, match=str(path.name)):
            open_source(path).read_all()


def test_json_lines_that_are_not_objects_are_skipped_or_named(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    src.write_text('{"prompt": "a"}\n[1, 2]\n"text"\n{"prompt": "b"}\n')
    source = open_source(src, on_error="skip")
    assert source.read_all().column("prompt").to_pylist() == ["a", "b"]
    assert [line for _, line in source.skipped] == [2, 3]
    with pytest.raises(
        ValueError, match=r"mixed.jsonl, line 2: malformed JSON Lines record \(a JSON list"
    ):
        open_source(src).read_all()


def test_internal_names_do_not_leak() -> None:
    with pytest.raises(ValueError) as err:
        pairs.from_rankings({"prompt": ["p"], "completions": [["a", "b"]], "ranking": [[1, 2, 3]]})
    assert "'ranking'" in str(err.value) and "__" not in str(err.value)
    with pytest.raises(ValueError, match="batch_rows must be an integer in"):
        open_source(Path(__file__), format="jsonl", batch_rows=0)
    import torch

    half = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert metrics.pairwise_accuracy(half, torch.tensor([0.0, 3.0])).accuracy == 0.5
    nulls = pa.array([[1.0, 0.0], None], pa.list_(pa.float32(), 2))
    with pytest.raises(ValueError, match=r"column 'corpus', row 1: null embedding"):
        match.knn(np.eye(2, dtype=np.float32), nulls, k=1)


def test_stats_takes_a_tokenizer_file_or_says_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    _tokenizer().save(str(path))
    t = {"prompt": ["p0"], "chosen": ["a b c"], "rejected": ["x"]}
    assert report.stats(t, tokenizer=str(path))["chosen_tokens"]["max"] == 3.0
    with pytest.raises(ValueError, match="tokenizer 'no/such-tokenizer'"):
        report.stats(t, tokenizer="no/such-tokenizer")
    with pytest.raises(TypeError, match="tokenizer must be"):
        report.stats(t, tokenizer=42)


def test_two_writers_of_one_output_in_one_process(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    a, b = AtomicWriter(out), AtomicWriter(out)
    assert a.tmp != b.tmp
    a.write(pa.table({"x": [1]}))
    b.write(pa.table({"x": [2, 3]}))
    a.close()
    assert pq.read_table(out).column("x").to_pylist() == [1]
    b.close()
    assert pq.read_table(out).column("x").to_pylist() == [2, 3]


def test_temporary_files_of_killed_runs_are_cleaned_up(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".o.parquet.prefcore-{dead.stdout.strip()}-abcd1234.tmp"
    stale.write_text("left by a killed run")
    mine = tmp_path / f".o.parquet.prefcore-{os.getpid()}-abcd1234.tmp"
    mine.write_text("a live writer's")
    temporary_path(out)
    assert not stale.exists() and mine.exists()


def test_a_full_disk_names_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "o.jsonl"
    writer = AtomicWriter(out)

    class FullDisk:
        closed = False

        def write(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(pa, "OSFile", lambda *a, **k: FullDisk())
    with pytest.raises(OSError, match=r"o.jsonl: cannot write the output: .*No space left"):
        writer.write(pa.table({"prompt": ["a"]}))
    assert not out.exists() and not writer.tmp.exists()


def test_thread_count_does_not_change_results() -> None:
    texts = [f"row {i % 50} with some words {i % 7}" for i in range(3000)]
    prefcore.set_num_threads(1)
    one = dedup.minhash({"prompt": texts}, ngram=2, verify=True)
    prefcore.set_num_threads(2)
    two = dedup.minhash({"prompt": texts}, ngram=2, verify=True)
    assert one.cluster_id.to_pylist() == two.cluster_id.to_pylist()
    assert one.pairs is not None and two.pairs is not None
    assert one.pairs.to_pylist() == two.pairs.to_pylist()


@pytest.mark.parametrize("texts", ["copy", "dictionary"])
def test_invalid_utf8_completions_are_named_by_pair_construction(texts: str) -> None:
    flat = _latin1_strings()  # row 0 is Latin-1 "café"
    completions = pa.ListArray.from_arrays(pa.array([0, 1, 2], pa.int32()), flat)
    table = pa.table({"prompt": ["p", "q"], "completions": completions, "scores": [[1.0], [2.0]]})
    two = pa.table(
        {
            "prompt": ["p", "q"],
            "completions": pa.ListArray.from_arrays(
                pa.array([0, 2, 4], pa.int32()), pa.concat_arrays([pa.array(["ok", "fine"]), flat])
            ),
            "scores": [[1.0, 2.0], [1.0, 2.0]],
        }
    )
    # Row 1's "café" is chosen: the error names the completions column and row 1.
    with pytest.raises(ValueError, match=r"column 'completions', row 1: text is not valid UTF-8"):
        pairs.from_scores(two, texts=texts)
    # A bad text that no pair uses still fails the dictionary layout, which hands every
    # completion on; copied texts hold only the pairs' own.
    if texts == "dictionary":
        with pytest.raises(ValueError, match="not valid UTF-8"):
            pairs.from_scores(table, texts=texts, short_groups="skip")
    else:
        assert pairs.from_scores(table, texts=texts, short_groups="skip").table.num_rows == 0


def test_scratch_of_a_killed_pipeline_is_removed(small: Path, tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".prefcore-pipeline-{dead.stdout.strip()}-x1y2"
    stale.mkdir()
    (stale / "step1.parquet").write_bytes(b"partial")
    job = tmp_path / "job.toml"
    steps = '[[steps]]\nstep = "dedup"\nexact = ["prompt"]\n'
    job.write_text(f'input = "{small}"\noutput = "{tmp_path}/o.jsonl"\n{steps}')
    assert main(["pipeline", str(job), "--quiet"]) == 0
    assert not stale.exists() and (tmp_path / "o.jsonl").exists()
