"""Battles read in one pass of the extension and counted per (pair, outcome) cell: the
same leaderboard as battle by battle, from every string layout users hold, with the
same errors."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from arena_cases import battle_set

from prefcore import _prefcore, ratings
from prefcore._battles import read_battle_cells, read_battles
from prefcore.errors import InvalidArgumentError, InvalidValueError

TABLE_COLUMNS = ["model", "rank", "rank_lower", "rank_upper", "battles", "wins", "ties"]


def quietly(battles, **kwargs) -> ratings.ArenaResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ratings.arena(battles, **kwargs)


def assert_same_board(cells: ratings.ArenaResult, rows: ratings.ArenaResult) -> None:
    for column in TABLE_COLUMNS:
        assert cells.table.column(column).equals(rows.table.column(column)), column
    for column in ("rating", "lower", "upper"):
        got, want = (np.asarray(r.table.column(column), float) for r in (cells, rows))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    assert {k: v for k, v in cells.stats.items() if k != "iterations"} == {
        k: v for k, v in rows.stats.items() if k != "iterations"
    }


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 7, 13, 21])
@pytest.mark.parametrize(
    "options",
    [
        {"compat": "prefcore"},
        {"compat": "fastchat"},
        {"compat": "arena-rank"},
        {"compat": "prefcore", "ties": "davidson"},
        {"compat": "fastchat", "anchor": ("m01", 1200.0)},
    ],
    ids=["prefcore", "fastchat", "arena-rank", "davidson", "anchor"],
)
def test_cells_give_the_board_of_the_battles(seed, options):
    # A weight column of ones is read battle by battle; no weights, as cells.
    b = battle_set(seed)
    ones = {**b, "w": [1.0] * len(b["winner"])}
    if options.get("ties") and not any(w.startswith("tie") for w in b["winner"]):
        for battles, weights in ((b, None), (ones, "w")):
            with pytest.raises(InvalidArgumentError, match="needs both ties"):
                quietly(battles, ci="sandwich", weights=weights, **options)
        return
    cells = quietly(b, ci="sandwich", **options)
    rows = quietly(ones, ci="sandwich", weights="w", **options)
    assert_same_board(cells, rows)


@pytest.mark.parametrize("seed", [0, 3, 8])
def test_ipw_cells_give_the_weights_of_the_battles(seed):
    b = battle_set(seed)
    pairs = Counter(frozenset(p) for p in zip(b["model_a"], b["model_b"]))
    ipw = [1.0 / max(pairs[frozenset(p)], 50) for p in zip(b["model_a"], b["model_b"])]
    cells = quietly(b, compat="arena-rank", weights="ipw", ci="sandwich")
    rows = quietly({**b, "w": ipw}, compat="arena-rank", weights="w", ci="sandwich")
    for column in ("rating", "lower", "upper"):
        got, want = (np.asarray(r.table.column(column), float) for r in (cells, rows))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_cells_count_every_battle_once():
    b = battle_set(5)
    t = pa.table(b)
    cells = read_battle_cells(t, "model_a", "model_b", "winner", "test")
    names = cells.names.to_pylist()
    counted: Counter = Counter()
    for x, y, w in zip(b["model_a"], b["model_b"], b["winner"]):
        score = {"model_a": 1.0, "model_b": 0.0}.get(w, 0.5)
        if x > y:  # the lower name first, the outcome from its side
            x, y, score = y, x, 1.0 - score
        counted[(x, y, score)] += 1
    got = {
        (names[a], names[c], s): n for a, c, s, n in zip(cells.a, cells.b, cells.score, cells.count)
    }
    assert got == dict(counted)
    assert all(cells.a < cells.b)
    np.testing.assert_array_equal(cells.tie, cells.score == 0.5)


def layouts(b: dict) -> list[pa.Table]:
    """The battles as users hold them: large strings, string views, dictionaries,
    columns chunked at different rows, a polars frame's Arrow."""
    t = pa.table({k: b[k] for k in ("model_a", "model_b", "winner")})
    out = [
        t.cast(pa.schema([(k, pa.large_string()) for k in t.column_names])),
        t.cast(pa.schema([(k, pa.string_view()) for k in t.column_names])),
        pa.table({k: pa.array(b[k]).dictionary_encode() for k in t.column_names}),
        pa.table(
            {
                "model_a": pa.chunked_array([t.column(0).chunk(0)[:5], t.column(0).chunk(0)[5:]]),
                "model_b": pa.chunked_array([t.column(1).chunk(0)[:11], t.column(1).chunk(0)[11:]]),
                "winner": t.column(2),
            }
        ),
    ]
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame(b).with_columns(pl.col("model_b").cast(pl.Categorical))
    out.append(frame.select("model_a", "model_b", "winner").to_arrow())
    return out


def test_every_layout_reads_as_plain_strings():
    b = battle_set(9)
    want = read_battles(pa.table(b), "model_a", "model_b", "winner", "test")
    board = quietly(b, ci="sandwich")
    for t in layouts(b):
        got = read_battles(t, "model_a", "model_b", "winner", "test")
        assert got[2].equals(want[2])
        for x, y in zip(got[:2] + got[3:], want[:2] + want[3:]):
            np.testing.assert_array_equal(x, y)
        assert_same_board(quietly(t, ci="sandwich"), board)


def test_the_one_pass_reading_matches_arrow_hashing():
    # Names are coded in sorted order, as Arrow's own dictionary encoding and a sort
    # would code them, and the winner spellings read as documented.
    rng = np.random.default_rng(0)
    names = ["gpt-4o", "claude-3-5-sonnet-20240620", "a", "é-model", "llama-3.1-405b-instruct"]
    a = rng.integers(0, 5, 5000)
    b = (a + rng.integers(1, 5, 5000)) % 5
    spellings = ["model_a", "model_b", "tie", "tie (bothbad)", "draw", "a", "B"]
    w = [spellings[i] for i in rng.integers(0, len(spellings), 5000)]
    col = lambda codes: pa.array([names[i] for i in codes])  # noqa: E731
    read = _prefcore.battle_codes(col(a), col(b), pa.array(w), columns=("a", "b", "w"), rows=True)
    assert read.names == sorted(names)
    order = {n: i for i, n in enumerate(sorted(names))}
    np.testing.assert_array_equal(read.a, [order[names[i]] for i in a])
    np.testing.assert_array_equal(read.b, [order[names[i]] for i in b])
    outcome = {"model_a": 2, "a": 2, "model_b": 0, "B": 0}
    np.testing.assert_array_equal(read.outcome, [outcome.get(v, 1) for v in w])
    assert read.cell_count.sum() == 5000


def test_errors_name_the_row_in_every_layout():
    b = battle_set(0)
    cases = [
        ("winner", 3, None, "column 'winner', row 3: null"),
        ("winner", 2, "maybe", "column 'winner', row 2: 'maybe' is not 'model_a'"),
        ("model_a", 4, None, "column 'model_a', row 4: null model"),
        ("model_b", 6, None, "column 'model_b', row 6: null model"),
    ]
    for column, row, value, message in cases:
        bad = {**b, column: list(b[column])}
        bad[column][row] = value
        for t in [pa.table(bad), *layouts(bad)[:3]]:
            with pytest.raises(InvalidValueError, match=message) as e:
                ratings.arena(t)
            assert (e.value.column, e.value.row) == (column, row)
    same = {**b, "model_b": list(b["model_b"])}
    same["model_b"][5] = b["model_a"][5]
    for t in [pa.table(same), *layouts(same)[:3]]:
        with pytest.raises(InvalidValueError, match="row 5: a model cannot battle itself") as e:
            ratings.arena(t)
        assert (e.value.column, e.value.row) == ("model_b", 5)


def test_columns_that_are_not_text_are_counted_too():
    # Integer model ids and 1/0/0.5 winners take the battle-by-battle reading, then
    # the same counting.
    b = battle_set(4)
    ids = {n: i for i, n in enumerate(sorted(set(b["model_a"]) | set(b["model_b"])))}
    numeric = {
        "model_a": [ids[x] for x in b["model_a"]],
        "model_b": [ids[x] for x in b["model_b"]],
        "winner": [{"model_a": 1.0, "model_b": 0.0}.get(w, 0.5) for w in b["winner"]],
    }
    text = quietly(b, ci="sandwich")
    board = quietly(numeric, ci="sandwich")
    np.testing.assert_allclose(
        np.asarray(board.table.column("rating")), np.asarray(text.table.column("rating")), atol=1e-7
    )
    assert board.table.column("battles").equals(text.table.column("battles"))


def test_names_that_are_not_utf8_are_named():
    # Bytes that are not UTF-8 in a string column (as a C-interface import brings
    # them): the error names the column and the first row holding one.
    b = battle_set(0)
    raw = [x.encode() for x in b["model_b"]]
    raw[4] = b"m\xe9"
    bad = pa.array(raw, pa.binary()).view(pa.string())
    with pytest.raises(InvalidValueError, match="column 'model_b', row 4: text is not valid UTF-8"):
        ratings.arena(pa.table({"model_a": b["model_a"], "model_b": bad, "winner": b["winner"]}))
