"""The command line and its streamed steps, compared row for row with the in-memory
functions on the same data, plus the faults a long preprocessing run meets."""

from __future__ import annotations

import gzip
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from prefcore import dedup, pairs, report
from prefcore.cli import main
from prefcore.data import load_hh_rlhf
from prefcore.formats import extract_prompt
from prefcore.io import AtomicWriter, interrupt_guard, open_source


@pytest.fixture(scope="module")
def hh() -> pa.Table:
    """The HH sample with 150 repeated rows and a few near copies, shuffled."""
    t = extract_prompt(load_hh_rlhf()).clean()
    near = t.slice(0, 40).set_column(
        1, "chosen", pa.array([c + " Indeed." for c in t.column("chosen")[:40].to_pylist()])
    )
    t = pa.concat_tables([t, t.slice(500, 150), near])
    order = np.random.default_rng(0).permutation(t.num_rows)
    return t.take(pa.array(order))


def write_jsonl(table: pa.Table, path: Path) -> Path:
    """JSON Lines, compressed as the extension says (.gz, .zst)."""
    text = "".join(json.dumps(row) + "\n" for row in table.to_pylist())
    with pa.output_stream(str(path), compression="detect") as f:
        f.write(text.encode())
    return path


def run_cli(*argv: str) -> int:
    return main([*argv, "--quiet"] if argv[0] not in ("eval",) else list(argv))


def test_dedup_equals_the_in_memory_functions(hh, tmp_path):
    src = write_jsonl(hh, tmp_path / "hh.jsonl")
    out = tmp_path / "out.parquet"
    report = tmp_path / "r.json"
    args = ["dedup", str(src), str(out), "--exact", "prompt", "chosen", "rejected"]
    args += ["--near", "chosen", "--threshold", "0.7", "--degenerate", "--batch-rows", "300"]
    assert run_cli(*args, "--report", str(report)) == 0
    keep = np.ones(hh.num_rows, dtype=bool)
    degenerate = dedup.degenerate_pairs(hh, "chosen", "rejected").keep.to_numpy(False)
    exact = dedup.exact(hh, ["prompt", "chosen", "rejected"]).keep.to_numpy(False)
    near = dedup.minhash(hh, "chosen", threshold=0.7, ngram=5).keep.to_numpy(False)
    keep &= degenerate & exact & near
    got = pq.read_table(out)
    assert got.equals(hh.filter(pa.array(keep)))
    r = json.loads(report.read_text())
    assert r["rows_in"] == hh.num_rows and r["rows_out"] == int(keep.sum())
    assert sum(r["by_reason"].values()) == r["removed"] > 190
    assert r["by_reason"]["near_duplicate"] >= 35  # the appended near copies


def test_stats_agree_with_pairs_stats(hh, tmp_path, capsys):
    src = tmp_path / "hh.parquet"
    pq.write_table(hh, src, row_group_size=500)
    assert main(["stats", str(src), "--quiet", "--batch-rows", "256"]) == 0
    streamed = json.loads(capsys.readouterr().out)
    whole = report.stats(hh)
    assert streamed["rows"] == whole["rows"] and streamed["format"] == "pairwise"
    assert streamed["prompts"] == whole["prompts"]
    for key in ("chosen_longer_rate", "tie_rate", "duplicate_rate"):
        assert streamed[key] == pytest.approx(whole[key]), key
    for key in ("prompt_chars", "chosen_chars", "rejected_chars"):
        assert streamed[key] == pytest.approx(whole[key]), key


def test_decontaminate_equals_contamination(hh, tmp_path):
    src = write_jsonl(hh, tmp_path / "hh.jsonl.gz")
    evalset = hh.slice(0, 30).select(["prompt"])
    ev = tmp_path / "eval.csv"
    pa_csv.write_csv(evalset, ev)
    out = tmp_path / "clean.arrow"
    assert run_cli("decontaminate", str(src), str(out), "--against", str(ev), "--n", "8") == 0
    want = dedup.contamination(hh, evalset, n=8).apply(hh)
    assert feather.read_table(out).equals(want)


def scored(n: int = 600) -> pa.Table:
    rng = np.random.default_rng(3)
    return pa.table(
        {
            "prompt": [f"p{i}" for i in range(n)],
            "completions": [[f"c{i}_{j}" for j in range(5)] for i in range(n)],
            "scores": rng.integers(1, 6, size=(n, 5)).tolist(),
        }
    )


def test_pairs_stream_equals_one_whole_table_call(tmp_path):
    t = scored()
    src = tmp_path / "scored.parquet"
    pq.write_table(t, src)
    out = tmp_path / "pairs.parquet"
    args = ["pairs", str(src), str(out), "--strategy", "best_random", "-k", "2"]
    assert run_cli(*args, "--seed", "5", "--batch-rows", "64") == 0
    want = pairs.from_scores(t, strategy="best_random", k=2, seed=5).table
    assert pq.read_table(out).equals(want)


def test_pipeline_config_chains_the_steps(hh, tmp_path):
    src = write_jsonl(hh, tmp_path / "in.jsonl")
    pa_csv.write_csv(hh.slice(0, 20).select(["prompt"]), tmp_path / "eval.csv")
    config = tmp_path / "job.toml"
    config.write_text(
        f'input = "{src}"\noutput = "{tmp_path / "final.parquet"}"\n'
        '[[steps]]\nstep = "stats"\n'
        '[[steps]]\nstep = "dedup"\nexact = ["prompt", "chosen", "rejected"]\n'
        f'[[steps]]\nstep = "decontaminate"\nagainst = "{tmp_path / "eval.csv"}"\nn = 8\n'
    )
    assert main(["pipeline", str(config), "--quiet", "--report", str(tmp_path / "r.json")]) == 0
    step1 = hh.filter(dedup.exact(hh, ["prompt", "chosen", "rejected"]).keep)
    want = dedup.contamination(step1, hh.slice(0, 20).select(["prompt"]), n=8).apply(step1)
    assert pq.read_table(tmp_path / "final.parquet").equals(want)
    report = json.loads((tmp_path / "r.json").read_text())
    assert [s["step"] for s in report["steps"]] == ["stats", "dedup", "decontaminate"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".prefcore")]


def test_every_input_format_reads_the_same_rows(hh, tmp_path):
    datasets = pytest.importorskip("datasets")
    t = hh.slice(0, 400)
    shards = tmp_path / "shards"
    shards.mkdir()
    pq.write_table(t.slice(0, 150), shards / "part-0.parquet")
    pq.write_table(t.slice(150), shards / "part-1.parquet")
    paths = {
        "jsonl": write_jsonl(t, tmp_path / "a.jsonl"),
        "jsonl.zst": write_jsonl(t, tmp_path / "a.jsonl.zst"),
        "csv": tmp_path / "a.csv",
        "arrow": tmp_path / "a.arrow",
        "shards": shards,
        "hf": tmp_path / "hf",
    }
    pa_csv.write_csv(t, paths["csv"])
    feather.write_feather(t, paths["arrow"])
    datasets.Dataset(t).save_to_disk(str(paths["hf"]))
    for name, path in paths.items():
        got = open_source(path, batch_rows=100).read_all()
        assert got.select(t.column_names).to_pylist() == t.to_pylist(), name
    # Output formats written by the CLI read back equal.
    for ext in ("jsonl.gz", "csv", "arrow", "parquet"):
        out = tmp_path / f"o.{ext}"
        assert run_cli("dedup", str(paths["arrow"]), str(out), "--exact", "prompt") == 0
        want = t.filter(dedup.exact(t, "prompt").keep)
        assert open_source(out).read_all().to_pylist() == want.to_pylist(), ext


def test_malformed_jsonl_lines_fail_or_are_skipped_and_counted(tmp_path, capsys):
    lines = [json.dumps({"prompt": f"p{i}", "chosen": "a", "rejected": "b"}) for i in range(10)]
    lines[3] = '{"prompt": "broken'
    lines[7] = "not json at all"
    src = tmp_path / "bad.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.parquet"
    assert run_cli("dedup", str(src), str(out), "--exact", "prompt") == 1
    err = capsys.readouterr().err
    assert "bad.jsonl, line 4: malformed JSON" in err and not out.exists()
    args = ["dedup", str(src), str(out), "--exact", "prompt", "--on-error", "skip"]
    assert run_cli(*args, "--report", str(tmp_path / "r.json")) == 0
    assert pq.read_table(out).num_rows == 8
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["skipped_lines"] == 2 and report["first_skipped"].endswith(":4")
    assert "skipped 2 malformed line(s)" in capsys.readouterr().err


def test_bad_input_and_outputs_fail_cleanly(hh, tmp_path, capsys):
    src = tmp_path / "in.parquet"
    pq.write_table(hh.slice(0, 50), src)
    out = tmp_path / "out.parquet"

    def fails(*argv: str, says: str) -> None:
        assert run_cli(*argv) == 1
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
        assert not out.exists()

    fails("dedup", str(src), str(out), "--exact", "nope", says="column(s) ['nope'] not found")
    fails("dedup", str(src), str(src), "--exact", "prompt", says="OUT is the IN file")
    fails("dedup", str(src), str(tmp_path / "no" / "o.parquet"), "--exact", "prompt",
          says="output directory does not exist")  # fmt: skip
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    fails("stats", str(empty), says="no rows")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(pa.table({"prompt": ["a"], "n": [1]}), mixed / "0.parquet")
    pq.write_table(pa.table({"prompt": ["b"], "n": ["x"]}), mixed / "1.parquet")
    fails("stats", str(mixed), says="column 'n' is string here but int64")
    fails("stats", str(tmp_path / "missing.jsonl"), says="no such file")
    (tmp_path / "x.txt").write_text("hello")
    fails("stats", str(tmp_path / "x.txt"), says="cannot tell the format")
    with pytest.raises(SystemExit) as usage:
        main(["dedup", str(src)])
    assert usage.value.code == 2


def test_interrupted_run_leaves_no_output(tmp_path):
    rows = [
        {"prompt": f"prompt number {i} " * 20, "chosen": "a", "rejected": "b"} for i in range(4000)
    ]
    src = write_jsonl(pa.Table.from_pylist(rows * 40), tmp_path / "big.jsonl")
    out = tmp_path / "out.parquet"
    cmd = [sys.executable, "-m", "prefcore.cli", "dedup", str(src), str(out), "--near", "prompt"]
    # Tiny batches keep the run long enough to be interrupted mid-way; the signal goes
    # once the hidden partial output exists, whatever this machine's speed.
    proc = subprocess.Popen([*cmd, "--batch-rows", "10"], stderr=subprocess.PIPE, text=True)
    # No clock: the loop ends when the partial output appears or the run ends.
    while not [p for p in tmp_path.iterdir() if p.name.startswith(".")]:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1 and "interrupted" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_atomic_writer_removes_its_file_on_failure(tmp_path):
    out = tmp_path / "o.parquet"
    with pytest.raises(RuntimeError), AtomicWriter(out) as w:
        w.write(pa.table({"a": [1]}))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_memory_stays_bounded_on_an_input_larger_than_the_budget(tmp_path):
    """A scaled-down run of the 10 GB claim: peak RSS of a near + exact dedup stays far
    below the input size (the input is ~5x the allowed growth)."""
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(5000)])
    src = tmp_path / "big.jsonl"
    with open(src, "w") as f:
        for _ in range(12):
            ids = rng.integers(0, len(words), size=(10_000, 150))
            for row in ids:
                text = " ".join(words[row])
                f.write(
                    json.dumps({"prompt": text[:300], "chosen": text, "rejected": text[::-1]})
                    + "\n"
                )
    size_mb = src.stat().st_size / 2**20
    code = (
        "import resource, sys\n"
        "from prefcore.cli import main\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "rc = main(sys.argv[1:])\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(rc, base // 1024, peak // 1024)\n"
    )
    out = tmp_path / "out.parquet"
    args = [
        "dedup",
        str(src),
        str(out),
        "--exact",
        "prompt",
        "chosen",
        "--near",
        "chosen",
        "--quiet",
    ]
    res = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    rc, base, peak = map(int, res.stdout.split())
    assert rc == 0 and pq.read_metadata(out).num_rows == 120_000
    budget = size_mb / 5
    print(f"input {size_mb:.0f} MiB, peak RSS growth {peak - base} MiB")
    assert peak - base < budget, (peak, base, size_mb)


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_is_one_line_in_logs_and_a_bar_with_eta_in_terminals(tmp_path, monkeypatch):
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for i in range(3000):
            f.write(
                json.dumps({"prompt": f"p{i % 1000}", "chosen": "a" * (i % 7), "rejected": "b"})
            )
            f.write("\n")
    # A log file: no carriage returns, one summary line per pass.
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    main(["dedup", str(path), str(tmp_path / "out.parquet"), "--exact", "prompt"])
    assert "\r" not in log.getvalue()
    passes = [ln for ln in log.getvalue().splitlines() if ln.startswith("dedup:")]
    assert len(passes) == 1
    assert "3,000 rows in" in passes[0] and "rows/s" in passes[0]
    # A terminal: tqdm's bar. JSON Lines has no row count up front, so the bar counts
    # the file's compressed bytes up to their total, and shows the rows beside them.
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    main(["dedup", str(path), str(tmp_path / "out2.parquet"), "--exact", "prompt"])
    shown = term.getvalue()
    size = path.stat().st_size
    assert "dedup" in shown and "100%" in shown and "3,000 rows" in shown
    assert f"{size}/{size}B" in shown.replace(" ", "") or f"{size / 1024:.2f}k" in shown


def test_a_ctrl_c_python_swallowed_still_stops_the_output(tmp_path):
    # Python drops an exception raised while a finalizer runs ("Exception ignored in"),
    # a KeyboardInterrupt too; the run would then go on and put its output in place.
    out = tmp_path / "o.parquet"
    with pytest.raises(KeyboardInterrupt), interrupt_guard(), AtomicWriter(out) as w:
        w.write(pa.record_batch({"n": [1, 2]}))
        handler = signal.getsignal(signal.SIGINT)
        assert handler is not signal.default_int_handler
        try:
            handler(signal.SIGINT, None)  # what a signal arriving in a finalizer runs
        except KeyboardInterrupt:
            pass  # the finalizer's caller swallows it
        w.write(pa.record_batch({"n": [3]}))
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # Once the guard is left, writers commit again.
    with interrupt_guard(), AtomicWriter(out) as w:
        w.write(pa.record_batch({"n": [1]}))
    assert pq.read_table(out).num_rows == 1


def test_a_swallowed_ctrl_c_is_raised_again_when_the_guard_ends():
    # A run that writes no file of its own (eval, stats) must still end as interrupted.
    ran_on = []
    with pytest.raises(KeyboardInterrupt), interrupt_guard():
        try:
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        except KeyboardInterrupt:
            pass
        ran_on.append("after")
    assert ran_on == ["after"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupt_guard():  # and a later guard starts clean
        pass
