from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def trec_dir() -> Path:
    return DATA / "trec_eval"
