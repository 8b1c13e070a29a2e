from __future__ import annotations

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped:
        print(f"\nFAILED: {len(_skipped)} test(s) skipped: {_skipped[:10]}")
        session.exitstatus = 1
