from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def trec_dir() -> Path:
    return DATA / "trec_eval"


# A skipped test is a failed guarantee: optional integrations are installed by
# `make test`, so nothing may skip. The session fails if anything did.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A module-level `importorskip` skips the whole file while collecting it, which
    # never reaches the hook above.
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped:
        print(f"\nFAILED: {len(_skipped)} test(s) skipped: {_skipped[:10]}")
        session.exitstatus = 1


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/gpu needs an NVIDIA GPU and faiss-gpu; it runs only when asked:
    `PREFCORE_GPU_TESTS=1 python -m pytest tests/gpu` on such a machine."""
    if "gpu" in collection_path.parts and os.environ.get("PREFCORE_GPU_TESTS") != "1":
        return True
    return None
