"""Every Python block of the README and the docs runs as written: a page's blocks in
order, in one fresh interpreter in an empty directory, as a reader pasting them would.
Every ``prefcore ...`` line of their shell blocks runs too, on the files the text
names, made by a fixture from the shipped sample. The other shell lines are ``make``
targets that ``make test`` itself runs (the wheel, installed and tested) and
``pip install prefcore``, which waits for the release."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(page: Path, language: str) -> list[str]:
    return [code for lang, code in FENCE.findall(page.read_text()) if lang == language]


WITH_PYTHON = [p for p in PAGES if blocks(p, "python")]


def test_the_pages_hold_python_examples() -> None:
    # The count the closing notes quote: every Python block of these pages runs below.
    assert sum(len(blocks(p, "python")) for p in WITH_PYTHON) >= 16
    assert {p.name for p in WITH_PYTHON} >= {"README.md", "index.md", "trl.md", "ray.md"}


@pytest.mark.parametrize("page", WITH_PYTHON, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    code = "\n\n".join(blocks(page, "python"))
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard
        env={**os.environ, "RAY_ADDRESS": "", "TOKENIZERS_PARALLELISM": "false"},
    )
    assert done.returncode == 0, f"{page.name}:\n{done.stderr[-4000:]}"


def _commands(page: Path) -> list[list[str]]:
    """The ``prefcore ...`` lines of the page's bash blocks, continuation lines joined
    and trailing comments dropped."""
    out = []
    for block in blocks(page, "bash"):
        text = re.sub(r"\\\n\s*", " ", block)
        for line in text.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("prefcore "):
                out.append(shlex.split(line)[1:])
    return out


@pytest.fixture
def cli_inputs(tmp_path: Path) -> Path:
    """The files the CLI examples name, made from the shipped HH sample and trec_eval's
    test files, in an empty directory (the reader's own data in the text)."""
    import gzip
    import json
    import shutil

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prefcore.benchmarks import REWARDBENCH_COUNTS
    from prefcore.data import load_hh_rlhf
    from prefcore.formats import extract_prompt

    pairs = extract_prompt(load_hh_rlhf()).table.slice(0, 400)
    rows = pairs.to_pylist()
    lines = "".join(json.dumps(r) + "\n" for r in rows).encode()
    with pa.CompressedOutputStream(str(tmp_path / "data.jsonl.zst"), "zstd") as f:
        f.write(lines)
    (tmp_path / "raw.jsonl.gz").write_bytes(gzip.compress(lines))
    pq.write_table(pa.concat_tables([pairs, pairs.slice(0, 20)]), tmp_path / "raw.parquet")
    evalset = "".join(json.dumps({"prompt": r["prompt"]}) + "\n" for r in rows[:10])
    (tmp_path / "eval.jsonl").write_text(evalset)
    scored = pa.table(
        {
            "prompt": [f"p{i}" for i in range(50)],
            "completions": [["a", "b", "c", "d"]] * 50,
            "scores": [[float((i + j) % 5) for j in range(4)] for i in range(50)],
        }
    )
    pq.write_table(scored, tmp_path / "scored.parquet")
    trec = ROOT / "tests" / "data" / "trec_eval"
    shutil.copy(trec / "results.test", tmp_path / "run.txt")
    shutil.copy(trec / "qrels.test", tmp_path / "qrels.txt")
    # Per-example RewardBench scores of two models (docs/guide/leaderboards.md).
    rng = np.random.default_rng(0)
    subsets = [s for s in REWARDBENCH_COUNTS for _ in range(5)]
    for name, shift in (("scores", 0.8), ("model_a", 0.8), ("model_b", 0.5)):
        chosen = rng.normal(shift, 1, len(subsets)).round(2).tolist()
        rejected = rng.normal(0, 1, len(subsets)).round(2).tolist()
        (tmp_path / f"{name}.jsonl").write_text("".join(
            json.dumps({"id": i, "subset": s, "score_chosen": c, "score_rejected": r}) + "\n"
            for i, (s, c, r) in enumerate(zip(subsets, chosen, rejected))
        ))  # fmt: skip
    # The job file is the one docs/guide/cli.md shows.
    (tmp_path / "job.toml").write_text(blocks(ROOT / "docs" / "guide" / "cli.md", "toml")[0])
    return tmp_path


@pytest.mark.parametrize(
    ("page", "least"),
    [("README.md", 6), ("docs/guide/cli.md", 6), ("docs/guide/leaderboards.md", 2)],
)
def test_cli_blocks_run_as_written(page: str, least: int, cli_inputs: Path) -> None:
    commands = _commands(ROOT / page)
    assert len(commands) >= least
    for argv in commands:
        done = subprocess.run(
            [sys.executable, "-m", "prefcore", *argv],
            cwd=cli_inputs,
            capture_output=True,
            text=True,
            timeout=900,  # a hang guard
        )
        assert done.returncode == 0, f"prefcore {' '.join(argv)}:\n{done.stderr[-3000:]}"


def test_every_public_function_and_tool_class_has_a_runnable_example() -> None:
    """docs/index.md promises it; the doctests run them."""
    import importlib
    import inspect

    tool_classes = {
        "ExactStream", "NearStream", "PreferenceCollator", "UnpairedCollator",
        "PrefixSharedCollator", "PreferenceDataset", "UnpairedDataset", "FixedBatchSampler",
        "TokenBudgetSampler",
    }  # fmt: skip
    package = ROOT / "python" / "prefcore"
    modules = (
        ["prefcore"]
        + [f"prefcore.{f.stem}" for f in sorted(package.glob("*.py")) if not f.stem.startswith("_")]
        + [f"prefcore.{d.parent.name}" for d in sorted(package.glob("*/__init__.py"))]
    )
    missing = []
    for name in modules:
        module = importlib.import_module(name)
        for item in getattr(module, "__all__", []):
            obj = getattr(module, item)
            wanted = inspect.isfunction(obj) or (inspect.isclass(obj) and item in tool_classes)
            if wanted and ">>>" not in (inspect.getdoc(obj) or ""):
                missing.append(f"{name}.{item}")
    assert missing == []
