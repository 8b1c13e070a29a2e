"""The standing adversarial suite: every target of ``hostile.py`` in a subprocess of
its own with a time limit, so a crash (a signal), a panic or a hang fails the target.

``PREFCORE_ADVERSARIAL_EXAMPLES`` sets the examples per target (CI: 100; a longer
hunt: e.g. 2000, with ``PREFCORE_ADVERSARIAL_TIMEOUT`` raised to match).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile import TARGETS

EXAMPLES = int(os.environ.get("PREFCORE_ADVERSARIAL_EXAMPLES", "100"))
TIMEOUT = float(os.environ.get("PREFCORE_ADVERSARIAL_TIMEOUT", "240"))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_hostile_inputs_give_results_or_named_errors(target: str) -> None:
    script = Path(__file__).parent / "hostile.py"
    try:
        run = subprocess.run(
            # A numpy warning (an invalid cast, an overflow) means a garbage value slipped by.
            [sys.executable, "-W", "error::RuntimeWarning", str(script), target, str(EXAMPLES)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={**os.environ, "PREFCORE_NUM_THREADS": "2"},
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{target}: no answer within {TIMEOUT} s (a hang?)\n{err.stdout}\n{err.stderr}")
    assert run.returncode == 0, (
        f"{target}: exit {run.returncode} (negative: killed by a signal)\n"
        f"{run.stdout[-3000:]}\n{run.stderr[-6000:]}"
    )
