"""What a type checker sees of the public API: results and their stats are typed
records, so a misspelled stats key or a wrong value type is caught before running."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

USER_CODE = """
from typing import assert_type

import pyarrow as pa
from prefcore import dedup, formats, metrics, pairs, ratings, unpaired
from prefcore.tokenize import TokenizeStats, TokenizedTable

rows = {"prompt": ["a"], "completions": [["x", "y"]], "scores": [[1.0, 2.0]]}
built = pairs.from_scores(rows)
assert_type(built.stats["pairs"], int)
assert_type(built.stats["prompts_without_eligible_pair"], int)
assert_type(unpaired.unpair(rows).stats["desirable_share"], float)
assert_type(unpaired.pair(rows).stats.get("prompts_with_one_label"), int | None)
found = dedup.exact(rows)
assert_type(found.stats["by_reason"], dict[str, int])
assert_type(dedup.minhash(rows).stats.get("bands"), int | None)
assert_type(dedup.contamination(rows, rows).stats["threshold"], float)
assert_type(formats.extract_prompt(rows).stats["clean"], int)
assert_type(ratings.bradley_terry(rows).stats["models"], int)
assert_type(ratings.aggregate_votes(rows).agreement["fleiss_kappa"], float)
assert_type(metrics.evaluate(rows, rows, "map"), dict[str, float])
assert_type(metrics.evaluate(rows, rows, "map", per_query=True), pa.Table)
assert_type(metrics.evaluate_grouped([[1.0]], [[1]], "ndcg"), dict[str, float])

def tokenized(t: TokenizedTable) -> TokenizeStats:
    return t.stats
"""

MISTAKES = """
from prefcore import dedup, pairs

built = pairs.from_scores({})
built.stats["pair"]
dedup.exact({}).stats["removed"] + "rows"
"""


def _check(tmp_path: Path, code: str) -> tuple[str, int]:
    path = tmp_path / "user.py"
    path.write_text(textwrap.dedent(code))
    args = [str(path), "--strict", "--no-incremental", "--python-version", "3.11"]
    out, err, status = mypy_api.run([*args, "--cache-dir", str(tmp_path / ".mypy_cache")])
    return out + err, status


def test_results_and_stats_have_the_types_users_rely_on(tmp_path: Path) -> None:
    out, status = _check(tmp_path, USER_CODE)
    assert status == 0, out


def test_a_wrong_key_or_value_type_is_caught(tmp_path: Path) -> None:
    out, status = _check(tmp_path, MISTAKES)
    assert status == 1
    assert 'TypedDict "ConstructionStats" has no key "pair"' in out
    assert 'Unsupported operand types for + ("int" and "str")' in out
