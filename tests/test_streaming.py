"""prefcore.streaming: dedup across batches equals dedup of the whole table, and the
stateless halves (row hashes, band keys, clusters from pairs) agree with references."""

from __future__ import annotations

import datasets
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prefcore import dedup, streaming
from prefcore.data import load_hh_rlhf
from prefcore.errors import InvalidValueError, MissingColumnError


def batches_of(table: pa.Table, size: int) -> list[pa.Table]:
    return [table.slice(i, size) for i in range(0, table.num_rows, size)]


@given(
    st.lists(st.sampled_from(["a", "A ", "b", "B", "c", " c", "d"]), min_size=1, max_size=40),
    st.integers(1, 7),
)
@settings(max_examples=60, deadline=None)
def test_exact_stream_equals_exact_over_the_whole_table(texts, size):
    table = pa.table({"prompt": texts})
    stream = streaming.ExactStream("prompt")
    keep = np.concatenate([stream.push(b).to_numpy(False) for b in batches_of(table, size)])
    # Reference: first occurrence of each normalised text, computed in Python.
    seen: set[str] = set()
    expected = []
    for t in texts:
        key = " ".join(t.lower().split())
        expected.append(key not in seen)
        seen.add(key)
    assert keep.tolist() == expected
    assert keep.tolist() == dedup.exact(table, "prompt").keep.to_pylist()
    assert (stream.rows, stream.distinct) == (len(texts), len(seen))


def test_near_stream_equals_minhash_without_verification():
    hh = load_hh_rlhf().slice(0, 600)
    texts = hh.column("chosen").to_pylist()
    # Near copies: a third of the rows again with one word changed.
    edited = [t.replace(" the ", " a ", 1) for t in texts[:200]]
    table = pa.table({"text": texts + edited})
    whole = dedup.minhash(table, "text", threshold=0.7, verify=False)
    stream = streaming.NearStream("text", threshold=0.7)
    for b in batches_of(table, 97):
        stream.push(b)
    assert stream.rows == table.num_rows
    assert stream.key_bytes == table.num_rows * stream.bands * 8
    found = stream.finish()
    assert found.cluster_id.to_pylist() == whole.cluster_id.to_pylist()
    assert found.representative.to_pylist() == whole.representative.to_pylist()
    assert found.num_clusters == whole.stats["clusters"]
    assert stream.candidate_pairs == whole.stats["candidate_pairs"]
    assert (stream.bands, stream.rows_per_band) == (
        whole.stats["bands"],
        whole.stats["rows_per_band"],
    )
    assert stream.key_bytes == 0
    assert whole.stats["removed"] >= 150  # the edited copies are found


def test_stream_errors_count_rows_from_the_start_of_the_stream():
    stream = streaming.ExactStream(["prompt", "chosen"])
    stream.push({"prompt": ["p", "q"], "chosen": ["x", "y"]})
    with pytest.raises(InvalidValueError) as e:
        stream.push({"prompt": ["r", None], "chosen": ["z", "w"]})
    assert (e.value.column, e.value.row) == ("prompt", 3)
    near = streaming.NearStream("text", num_perm=16, bands=4, rows=4)
    near.push({"text": ["a b c d e f g"] * 5})
    with pytest.raises(InvalidValueError) as e:
        near.push({"text": ["x", "y", None]})
    assert (e.value.column, e.value.row) == ("text", 7)
    with pytest.raises(MissingColumnError):
        near.push({"other": ["x"]})


def test_streams_read_polars_and_dataset_views():
    texts = ["one", "ONE", "two", "three", "two ", "four"]
    frame = pl.DataFrame({"prompt": texts}).with_columns(pl.col("prompt").cast(pl.Categorical))
    assert streaming.ExactStream("prompt").push(frame).to_pylist() == [
        True, False, True, True, False, True,
    ]  # fmt: skip
    view = datasets.Dataset.from_dict({"prompt": texts}).select([5, 4, 2, 1])
    # The view's rows only: four, two , two, ONE.
    assert streaming.ExactStream("prompt").push(view).to_pylist() == [True, True, False, True]


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="bands"):
        streaming.NearStream("text", num_perm=16, bands=5, rows=4)
    with pytest.raises(ValueError, match="both bands and rows"):
        streaming.NearStream("text", bands=4)
    with pytest.raises(TypeError, match="Normalization"):
        streaming.ExactStream("prompt", normalize="lower")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one key column"):
        streaming.ExactStream([])


def test_row_hashes_group_rows_as_exact_does():
    table = pa.table({"p": ["Hi", "hi", "yo", "Yo  ", "hi"], "c": ["x", "x", "x", "x", "y"]})
    hashes = streaming.row_hashes(table, ["p", "c"]).to_pylist()
    assert len(hashes[0]) == 16
    first_of: dict[bytes, int] = {}
    ids = [first_of.setdefault(h, len(first_of)) for h in hashes]
    assert ids == dedup.exact(table, ["p", "c"]).cluster_id.to_pylist() == [0, 0, 1, 1, 2]
    raw = streaming.row_hashes(table, "p", normalize=None).to_pylist()
    assert raw[0] != raw[1] and raw[1] == raw[4]


def test_band_keys_match_signature_bands():
    texts = ["the cat sat on the mat today", "the cat sat on the mat today", "dogs bark"]
    keys = streaming.band_keys({"t": texts}, "t", bands=4, rows=4, num_perm=16, ngram=2)
    k = keys.to_numpy().reshape(3, 4)
    assert (k[0] == k[1]).all() and not (k[0] == k[2]).any()
    # Rows share a band key exactly when their signatures agree on that band.
    sig = dedup.signatures(texts, num_perm=16, ngram=2)
    for band in range(4):
        same_sig = (sig[0, band * 4 : band * 4 + 4] == sig[2, band * 4 : band * 4 + 4]).all()
        assert same_sig == (k[0, band] == k[2, band])


@given(st.integers(1, 30), st.data())
@settings(max_examples=80, deadline=None)
def test_clusters_from_pairs_are_connected_components(n, data):
    pairs = data.draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40)
    )
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    found = streaming.clusters_from_pairs(pa.array(a, pa.int64()), pa.array(b, pa.int64()), n)
    # Reference: repeated relabelling to the smallest row reachable.
    label = list(range(n))
    changed = True
    while changed:
        changed = False
        for x, y in pairs:
            low = min(label[x], label[y])
            if label[x] != low or label[y] != low:
                label[x] = label[y] = low
                changed = True
    assert found.representative.to_pylist() == label
    assert found.num_clusters == len(set(label))
    order = {rep: i for i, rep in enumerate(dict.fromkeys(label))}
    assert found.cluster_id.to_pylist() == [order[x] for x in label]


def test_empty_batches_are_no_rows_not_errors():
    empty = pa.table({"p": pa.array([], pa.string())})
    hashes = streaming.row_hashes(empty, "p")
    assert (len(hashes), hashes.type) == (0, pa.binary(16))
    stream = streaming.ExactStream("p")
    assert stream.push(empty).to_pylist() == []
    assert stream.push({"p": ["a", "a"]}).to_pylist() == [True, False]
    assert len(streaming.band_keys(empty, "p", bands=4, rows=2, num_perm=8)) == 0


def test_out_of_range_options_name_the_argument() -> None:
    # A negative seed or band count is a ValueError naming it, as for any function.
    with pytest.raises(ValueError, match="'seed' is out of range"):
        streaming.NearStream("prompt", seed=-1)
    with pytest.raises(ValueError, match="'bands' is out of range"):
        streaming.NearStream("prompt", bands=-2, rows=3)
    with pytest.raises(TypeError, match="num_perm must be an integer, not str"):
        streaming.band_keys({"p": ["a b"]}, "p", num_perm="many", bands=1, rows=1)  # type: ignore[arg-type]
