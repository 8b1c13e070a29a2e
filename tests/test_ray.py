"""prefcore.ray on a local Ray cluster (2 CPUs: two worker processes), compared row for
row with the single-machine functions on the same data and seed."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

ray = pytest.importorskip("ray")

import prefcore.ray as pray  # noqa: E402
from prefcore import dedup, pairs, report  # noqa: E402
from prefcore.data import load_hh_rlhf  # noqa: E402
from prefcore.formats import extract_prompt  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def hh() -> pa.Table:
    t = extract_prompt(load_hh_rlhf()).clean().slice(0, 1200)
    near = t.slice(0, 30).set_column(
        1, "chosen", pa.array([c + " Indeed." for c in t.column("chosen")[:30].to_pylist()])
    )
    t = pa.concat_tables([t, t.slice(100, 60), near])
    return t.take(pa.array(np.random.default_rng(0).permutation(t.num_rows)))


def blocks(table: pa.Table, n: int = 6):
    step = -(-table.num_rows // n)
    return ray.data.from_arrow([table.slice(i, step) for i in range(0, table.num_rows, step)])


def rows_of(ds) -> pa.Table:
    return pa.concat_tables(list(ds.iter_batches(batch_format="pyarrow")))


def test_near_dedup_equals_minhash(cluster, hh):
    out, report = pray.dedup(blocks(hh), "chosen", 0.7)
    want = hh.filter(dedup.minhash(hh, "chosen", threshold=0.7).keep)
    assert rows_of(out).to_pylist() == want.to_pylist()
    assert report["components"] == "driver union-find" and report["removed"] >= 80


def test_label_propagation_gives_the_same_rows(cluster, hh):
    out, report = pray.dedup(blocks(hh), "chosen", 0.7, driver_edges=0)
    want = hh.filter(dedup.minhash(hh, "chosen", threshold=0.7).keep)
    assert report["components"] == "label propagation"
    assert rows_of(out).to_pylist() == want.to_pylist()


def test_exact_dedup_equals_exact(cluster, hh):
    out, _ = pray.exact_dedup(blocks(hh), ["prompt", "chosen"])
    want = hh.filter(dedup.exact(hh, ["prompt", "chosen"]).keep)
    assert rows_of(out).to_pylist() == want.to_pylist()


def test_build_pairs_equals_one_call(cluster):
    rng = np.random.default_rng(4)
    n = 500
    t = pa.table(
        {
            "prompt": [f"p{i}" for i in range(n)],
            "completions": [[f"c{i}_{j}" for j in range(4)] for i in range(n)],
            "scores": rng.integers(1, 6, size=(n, 4)).tolist(),
        }
    )
    got = rows_of(pray.build_pairs(blocks(t, 7), strategy="best_random", k=2, seed=9))
    want = pairs.from_scores(t, strategy="best_random", k=2, seed=9).table
    assert got.to_pylist() == want.to_pylist()


def test_stats_equal_pairs_stats(cluster, hh):
    got, want = pray.stats(blocks(hh)), report.stats(hh)
    for key in ("rows", "prompts", "chosen_longer_rate", "tie_rate", "duplicate_rate"):
        assert got[key] == pytest.approx(want[key]), key
    assert got["chosen_chars"] == pytest.approx(want["chosen_chars"])
    assert got["pairs_per_prompt"] == pytest.approx(want["pairs_per_prompt"])


def test_blocks_run_in_two_worker_processes(cluster, hh):
    def pid_of(t: pa.Table) -> pa.Table:
        time.sleep(0.5)  # long enough that both workers take blocks
        return pa.table({"pid": [os.getpid()] * t.num_rows})

    pids = blocks(hh, 8).map_batches(pid_of, batch_format="pyarrow")
    assert len(set(rows_of(pids).column("pid").to_pylist())) >= 2


def test_a_killed_worker_does_not_break_the_job(cluster, hh):
    """A worker killed mid-run: Ray retries its task; the result is still exact."""
    import psutil

    big = pa.concat_tables([hh] * 8)
    want = big.filter(dedup.minhash(big, "chosen", threshold=0.7).keep)
    result: dict[str, object] = {}

    def job() -> None:
        try:
            out, _ = pray.dedup(blocks(big, 32), "chosen", 0.7)
            result["rows"] = rows_of(out)
        except Exception as err:  # a clean failure is acceptable, a hang is not
            result["error"] = err

    thread = threading.Thread(target=job)
    thread.start()
    killed = 0
    # No clock: look for a worker until one is killed or the job ends on its own.
    while thread.is_alive() and not killed:
        for p in psutil.process_iter(["cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            # A worker retitles itself "ray::<task>": kill one computing band keys
            # (a task, which Ray retries; system actors are left alone).
            if cmd.startswith("ray::MapBatches(keys_of)"):
                p.kill()
                killed += 1
                break
        time.sleep(0.01)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the job hung after a worker was killed"
    assert killed == 1
    if "rows" in result:
        assert result["rows"].to_pylist() == want.to_pylist()
    else:
        assert isinstance(result["error"], Exception)
