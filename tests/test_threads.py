"""Results are bit-identical for 1 and N threads."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import prefcore
from prefcore.metrics import compare, evaluate, evaluate_grouped


def test_one_and_many_threads_agree_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    nq, nd = 300, 50
    q = np.repeat(np.arange(nq), nd).astype(str)
    d = rng.integers(0, 10_000, nq * nd).astype(str)
    d = np.char.add(d, np.char.add("-", np.tile(np.arange(nd), nq).astype(str)))
    run = pa.table({"query_id": q, "doc_id": d, "score": rng.integers(0, 20, nq * nd) / 4.0})
    qrels = run.select(["query_id", "doc_id"]).append_column(
        "relevance", pa.array(rng.integers(0, 3, nq * nd))
    )
    s = rng.integers(0, 6, (2000, 40)).astype(float)
    lab = rng.integers(0, 3, (2000, 40))
    metrics = ["ndcg@10", "map", "bpref", "P.5", "recall.20"]
    before = prefcore.get_num_threads()
    results = []
    try:
        for n in (1, 4):
            prefcore.set_num_threads(n)
            assert prefcore.get_num_threads() == n
            results.append(
                (
                    evaluate(run, qrels, metrics, per_query=True),
                    evaluate_grouped(s, lab, [*metrics[:2], "P.5"], per_group=True),
                    evaluate_grouped(s, lab, ["ndcg@5"], ties="average"),
                    compare(s[:, 0], s[:, 1], test="randomization", n_resamples=3000, seed=1),
                )
            )
    finally:
        prefcore.set_num_threads(before)
    assert results[0][0].equals(results[1][0])
    assert results[0][1].equals(results[1][1])
    assert results[0][2] == results[1][2]
    assert results[0][3] == results[1][3]


def test_env_var_sets_the_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "import prefcore; print(prefcore.get_num_threads())"],
        env={"PREFCORE_NUM_THREADS": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "3"


def _threads_in_child(value: str | None) -> tuple[int, str]:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin"}
    if value is not None:
        env["PREFCORE_NUM_THREADS"] = value
    out = subprocess.run(
        [sys.executable, "-c", "import prefcore; print(prefcore.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout), out.stderr


def test_env_var_far_above_the_cores_is_capped_and_said() -> None:
    cores, quiet = _threads_in_child(None)
    assert quiet == ""
    threads, err = _threads_in_child("100000")
    assert threads == max(8 * cores, 16)
    assert "RuntimeWarning" in err and "above the cap" in err and "100000" in err


def test_env_var_that_is_not_a_count_is_said_not_ignored() -> None:
    cores, _ = _threads_in_child(None)
    threads, err = _threads_in_child("four")
    assert threads == cores
    assert "RuntimeWarning" in err and '"four" is not a positive integer' in err


def test_set_num_threads_refuses_a_count_past_the_cap() -> None:
    import pytest

    with pytest.raises(prefcore.PrefcoreError, match="between 1 and"):
        prefcore.set_num_threads(1_000_000)
    with pytest.raises(prefcore.PrefcoreError, match="between 1 and"):
        prefcore.set_num_threads(0)
    assert prefcore.get_num_threads() >= 1
