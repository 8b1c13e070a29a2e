"""Every Python block of the README and the docs runs as written: a page's blocks in
order, in one fresh interpreter in an empty directory, as a reader pasting them would.
Shell blocks (install and build commands, CLI lines over the reader's own files) are
not run here; the CLI is tested by ``test_cli*.py``."""

from __future__ import annotations

import os
import re
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
