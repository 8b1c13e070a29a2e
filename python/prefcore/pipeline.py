"""The preprocessing steps of the command line, over streams of record batches.

What each step holds in memory, whatever the input size:

- ``stats``: per row, 4 bytes per text column (its length) and 16 bytes per distinct
  prompt and per distinct row (128-bit hashes, to count duplicates).
- ``dedup --exact``: 16 bytes per distinct key (a 128-bit hash; rows are compared by
  hash only, since the texts are gone once their batch is written); one pass.
- ``dedup --near``: 8 bytes per LSH band per row (e.g. 9 bands at threshold 0.8:
  72 bytes a row; the low half of the 128-bit keys of :func:`prefcore.dedup.minhash`),
  then one band's sorted keys (16 bytes a row) while clustering, and 17 bytes a row of
  cluster ids and masks; two passes (keys, then the filtered write). ``--degenerate``
  holds nothing.
- ``decontaminate``: the evaluation set, whole (it is the small side), one pass.
- ``pairs``: one batch at a time for one-row-per-prompt tables (random draws match a
  whole-table call); a long table (one row per completion) is grouped in memory.
- ``eval``: the run and the qrels (TREC files are read whole by the Rust reader).

Every step returns a JSON-serialisable report.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import dedup, formats, pairs
from prefcore._check import instance
from prefcore._progress import new_bar
from prefcore._typed import check_arguments
from prefcore.dedup import (
    MINHASH_NGRAM,
    MINHASH_NUM_PERM,
    MINHASH_THRESHOLD,
    ContaminationMethod,
    Normalization,
)
from prefcore.errors import InvalidArgumentError, MissingColumnError
from prefcore.io import AtomicWriter, Source, prefetched
from prefcore.pairs import ShortGroups, Strategy, Ties
from prefcore.report import PairStats, distribution
from prefcore.streaming import ExactStream, NearStream

__all__ = [
    "Progress",
    "build_pairs",
    "decontaminate",
    "dedup_stream",
    "stats",
]


class Progress:
    """Progress of one pass over a source, on stderr: tqdm's bar (rows, rows/s, ETA) in a
    terminal or notebook; where stderr is not a terminal (a log file, CI), no bar, only
    one summary line when the pass ends. Without a row count up front (JSON Lines), the
    bar counts the file's bytes, so it still has an ETA."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        quiet: bool = False,
        *,
        total_bytes: int | None = None,
    ) -> None:
        self.label, self.quiet = label, quiet
        self.rows = 0
        self.start = time.perf_counter()
        self._by_bytes = total is None and bool(total_bytes)
        self._bar: Any = None
        if not quiet:
            self._bar = new_bar(
                label,
                total_bytes if self._by_bytes else total,
                "B" if self._by_bytes else " rows",
                unit_scale=True,
                unit_divisor=1024 if self._by_bytes else 1000,
                disable=None,  # no bar where stderr is not a terminal
            )

    def update(self, rows: int, position: int | None = None) -> None:
        """``rows`` more rows done; ``position``: bytes of the input read so far."""
        self.rows += rows
        if self._bar is None:
            return
        if self._by_bytes and position is not None:
            self._bar.update(position - self._bar.n)
            self._bar.set_postfix_str(f"{self.rows:,} rows", refresh=False)
        elif not self._by_bytes:
            self._bar.update(rows)

    def done(self) -> float:
        """Closes the bar (or prints the summary line); returns the seconds taken."""
        seconds = time.perf_counter() - self.start
        if self._bar is not None:
            if self._by_bytes and self._bar.total:
                self._bar.update(self._bar.total - self._bar.n)
            silent = self._bar.disable
            self._bar.close()
            if silent:
                rate = self.rows / max(seconds, 1e-9)
                print(
                    f"{self.label}: {self.rows:,} rows in {seconds:.1f} s ({rate:,.0f} rows/s)",
                    file=sys.stderr,
                    flush=True,
                )
        return seconds


def _progress(label: str, source: Source, quiet: bool, total: int | None = None) -> Progress:
    rows = total if total is not None else source.num_rows()
    return Progress(label, rows, quiet, total_bytes=source.size_bytes)


def _tracked(source: Source, progress: Progress) -> Iterator[pa.RecordBatch]:
    for batch in prefetched(source.batches()):
        progress.update(batch.num_rows, source.bytes_read)
        yield batch


def _require(batch: pa.RecordBatch, names: Sequence[str], source: Source) -> None:
    missing = [n for n in names if n not in batch.schema.names]
    if missing:
        raise MissingColumnError(
            f"{source.path}: column(s) {missing} not found; the input has {batch.schema.names}",
            column=missing[0],
        )


def _skipped(source: Source) -> dict[str, Any]:
    if not source.skipped:
        return {}
    f, line = source.skipped[0]
    print(
        f"prefcore: skipped {len(source.skipped)} malformed line(s); first: {f}, line {line}",
        file=sys.stderr,
    )
    return {"skipped_lines": len(source.skipped), "first_skipped": f"{f}:{line}"}


_SIDES = ("chosen", "rejected")


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _source(name: str, value: Any) -> Source:
    source: Source = instance(
        name, value, Source, "a prefcore.io.Source (prefcore.io.open_source(path))"
    )
    return source


def stats(source: Source, *, quiet: bool = False) -> dict[str, Any]:
    """A health report of any dataset, read once: rows, columns, nulls, the detected
    format, text lengths, and for pairwise data the prompt count, length bias, ties
    and duplicate rate (the same definitions as :func:`prefcore.report.stats`).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.jsonl"
    >>> _ = path.write_text('{"prompt": "p", "chosen": "long one", "rejected": "no"}\\n' * 2)
    >>> r = stats(Source(path), quiet=True)
    >>> r["rows"], r["format"], r["prompts"], r["chosen_longer_rate"], r["duplicate_rate"]
    (2, 'pairwise', 1, 1.0, 0.5)
    """
    progress = _progress("stats", _source("source", source), quiet)
    rows = 0
    nulls: dict[str, int] = {}
    lengths: dict[str, list[np.ndarray]] = {}
    detected: str | None = None
    pairwise: PairStats | None = None
    for batch in _tracked(source, progress):
        if detected is None:
            try:
                detected = formats.detect(batch).format
            except ValueError:
                detected = "unknown"  # not a preference format; the rest still applies
            names = batch.schema.names
            if all(n in names and _is_text(batch.schema.field(n).type) for n in _SIDES):
                pairwise = PairStats(prompt="prompt" if "prompt" in names else None)
        rows += batch.num_rows
        for name, column in zip(batch.schema.names, batch.columns):
            nulls[name] = nulls.get(name, 0) + column.null_count
            if _is_text(column.type):
                n = pc.fill_null(pc.utf8_length(column), 0)
                lengths.setdefault(name, []).append(n.to_numpy().astype(np.int32))
        if pairwise is not None:
            pairwise.add(batch)
    seconds = progress.done()
    if detected is None:
        raise InvalidArgumentError(f"{source.path}: no rows")
    report: dict[str, Any] = {
        "rows": rows,
        "format": detected,
        "columns": {n: str(t) for n, t in zip(source.schema.names, source.schema.types)}
        if source.schema
        else {},
        "nulls": {k: v for k, v in nulls.items() if v},
    }
    for name, parts in lengths.items():
        report[f"{name}_chars"] = distribution(np.concatenate(parts).astype(np.float64))
    if pairwise is not None:
        # The pairwise figures, defined once in prefcore.report.
        report |= {k: v for k, v in pairwise.result().items() if k not in report}
    report |= _skipped(source)
    report["seconds"] = round(seconds, 3)
    return report


def dedup_stream(
    source: Source,
    out: str | os.PathLike[str],
    *,
    exact: Sequence[str] = (),
    near: str | None = None,
    threshold: float = MINHASH_THRESHOLD,
    num_perm: int = MINHASH_NUM_PERM,
    ngram: int = MINHASH_NGRAM,
    seed: int = 1,
    bands: int | None = None,
    rows: int | None = None,
    degenerate: bool = False,
    chosen: str = "chosen",
    rejected: str = "rejected",
    normalize: bool = True,
    quiet: bool = False,
    out_format: Any = None,
) -> dict[str, Any]:
    """Drop exact duplicates of the ``exact`` columns, near duplicates of ``near``
    (MinHash LSH, as :func:`prefcore.dedup.minhash` with ``verify=False``) and
    degenerate pairs, keeping the first row of each cluster; write the rest to ``out``.
    Each removed row is counted under one reason (the first that applies, in the
    order degenerate, exact, near).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> lines = ['{"prompt": "Hi"}', '{"prompt": "hi "}', '{"prompt": "bye"}']
    >>> _ = (d / "in.jsonl").write_text("\\n".join(lines))
    >>> src, out = Source(d / "in.jsonl"), str(d / "out.parquet")
    >>> r = dedup_stream(src, out, exact=["prompt"], quiet=True)
    >>> r["rows_out"], r["by_reason"]["exact_duplicate"]
    (2, 1)
    """
    if not (exact or near or degenerate):
        raise InvalidArgumentError("nothing to do: give --exact, --near and/or --degenerate")
    norm = Normalization() if normalize else None
    exact_state = ExactStream(exact, normalize=norm) if exact else None
    near_state = None
    if near:
        near_state = NearStream(
            near, threshold=threshold, num_perm=num_perm, ngram=ngram, seed=seed,
            bands=bands, rows=rows, normalize=norm,
        )  # fmt: skip
    counts = {"degenerate": 0, "exact_duplicate": 0, "near_duplicate": 0}
    masks: list[np.ndarray] = []
    rows_in = 0
    progress = _progress(
        "dedup" + (" (pass 1 of 2)" if near else ""), _source("source", source), quiet
    )
    with AtomicWriter(out, out_format, reads={"input": source.path}) as writer:
        for batch in _tracked(source, progress):
            rows_in += batch.num_rows
            keep = np.ones(batch.num_rows, dtype=bool)
            if degenerate:
                _require(batch, [chosen, rejected], source)
                reason = dedup.degenerate_pairs(batch, chosen, rejected).reason
                bad = np.asarray(reason.is_valid().to_numpy(zero_copy_only=False))
                counts["degenerate"] += int(bad.sum())
                keep &= ~bad
            if exact_state is not None:
                _require(batch, exact, source)
                first = exact_state.push(batch)
                seen = ~np.asarray(first.to_numpy(zero_copy_only=False))
                counts["exact_duplicate"] += int((seen & keep).sum())
                keep &= ~seen
            if near_state is not None and near is not None:
                _require(batch, [near], source)
                near_state.push(batch)
                masks.append(keep)
            else:
                writer.write(batch.filter(pa.array(keep)))
        progress.done()
        report: dict[str, Any] = {"rows_in": rows_in}
        # The exact-dedup hashes are done with; free them before clustering.
        exact_state = None
        if near_state is not None:
            report["near_key_bytes"] = near_state.key_bytes
            found = near_state.finish("first")
            rep = found.representative.to_numpy()
            near_keep = rep == np.arange(len(rep))
            keep_all = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
            masks.clear()
            counts["near_duplicate"] = int((keep_all & ~near_keep).sum())
            keep_all &= near_keep
            report |= {"near_clusters": found.num_clusters}
            report |= {"candidate_pairs": near_state.candidate_pairs}
            report |= {"bands": near_state.bands, "rows_per_band": near_state.rows_per_band}
            second = _progress("dedup (pass 2 of 2)", source, quiet, total=rows_in)
            start = 0
            for batch in _tracked(source, second):
                mask = keep_all[start : start + batch.num_rows]
                start += batch.num_rows
                writer.write(batch.filter(pa.array(mask)))
            second.done()
            if start != rows_in:
                raise InvalidArgumentError(f"{source.path} changed while it was read")
        writer_rows = writer.rows
        writer.close(source.schema)
    report |= {"rows_out": writer_rows, "removed": rows_in - writer_rows, "by_reason": counts}
    report |= _skipped(source)
    report["seconds"] = round(time.perf_counter() - progress.start, 3)
    return report


def decontaminate(
    source: Source,
    out: str | os.PathLike[str],
    against: Source,
    *,
    column: str = "prompt",
    against_column: str | None = None,
    method: ContaminationMethod = "ngram",
    n: int = 13,
    threshold: float | None = None,
    quiet: bool = False,
    out_format: Any = None,
) -> dict[str, Any]:
    """Drop the rows of ``source`` that overlap the evaluation set ``against``
    (:func:`prefcore.dedup.contamination`); the evaluation set is read whole.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train.jsonl").write_text('{"prompt": "What is 2+2?"}\\n{"prompt": "Hello"}\\n')
    >>> _ = (d / "eval.jsonl").write_text('{"prompt": "what is 2+2?"}\\n')
    >>> r = decontaminate(Source(d / "train.jsonl"), str(d / "clean.jsonl"),
    ...                   Source(d / "eval.jsonl"), method="exact", quiet=True)
    >>> r["rows_out"], r["contaminated"]
    (1, 1)
    """
    progress = _progress("decontaminate", _source("source", source), quiet)
    reference = _source("against", against).read_all()
    rows_in = removed = 0
    reads = {"input": source.path, "against": against.path}
    with AtomicWriter(out, out_format, reads=reads) as writer:
        for batch in _tracked(source, progress):
            _require(batch, [column], source)
            rows_in += batch.num_rows
            result = dedup.contamination(
                pa.Table.from_batches([batch]),
                reference,
                column,
                method=method,
                n=n,
                threshold=threshold,
                reference_column=against_column,
            )
            hit = np.asarray(result.contaminated.to_numpy(zero_copy_only=False), dtype=bool)
            removed += int(hit.sum())
            writer.write(batch.filter(pa.array(~hit)))
        progress.done()
        writer.close(source.schema)
    report: dict[str, Any] = {"rows_in": rows_in, "rows_out": rows_in - removed}
    report["contaminated"] = removed
    report |= {"reference_rows": reference.num_rows, "method": method}
    return report | _skipped(source)


def build_pairs(
    source: Source,
    out: str | os.PathLike[str],
    *,
    strategy: Strategy = "best_worst",
    min_margin: float = 0.0,
    seed: int = 0,
    prompt: str = "prompt",
    completions: str = "completions",
    scores: str = "scores",
    ties: Ties = "drop",
    k: int = 1,
    short_groups: ShortGroups = "error",
    quiet: bool = False,
    out_format: Any = None,
) -> dict[str, Any]:
    """Chosen/rejected pairs from scored completions (:func:`prefcore.pairs.from_scores`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> row = '{"prompt": "p", "completions": ["a", "b", "c"], "scores": [1, 3, 2]}'
    >>> _ = (d / "scored.jsonl").write_text(row + "\\n")
    >>> r = build_pairs(Source(d / "scored.jsonl"), str(d / "pairs.parquet"), quiet=True)
    >>> import pyarrow.parquet as pq
    >>> r["pairs"], pq.read_table(d / "pairs.parquet").column("chosen").to_pylist()
    (1, ['b'])
    """
    progress = _progress("pairs", _source("source", source), quiet)
    totals: dict[str, int] = {}
    options: dict[str, Any] = {
        "prompt": prompt,
        "completions": completions,
        "scores": scores,
        "strategy": strategy,
        "min_margin": min_margin,
        "ties": ties,
        "k": k,
        "seed": seed,
        "short_groups": short_groups,
    }
    batches = _tracked(source, progress)
    first = next(batches, None)
    if first is None:
        raise InvalidArgumentError(f"{source.path}: no rows")
    _require(first, [completions, scores], source)
    long_table = not pa.types.is_list(first.schema.field(completions).type) and not (
        pa.types.is_large_list(first.schema.field(completions).type)
    )
    groups = 0
    with AtomicWriter(out, out_format, reads={"input": source.path}) as writer:
        chunks: Iterator[pa.Table]
        if long_table:  # groups may span batches: group in memory
            whole = pa.Table.from_batches([first, *batches])
            chunks = iter([whole])
        else:
            chunks = (pa.Table.from_batches([b]) for b in _chain(first, batches))
        for chunk in chunks:
            result = pairs.from_scores(chunk, group_offset=groups, **options)
            groups += chunk.num_rows
            writer.write(result.table)
            for key, value in result.stats.items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        progress.done()
        writer.close()
    return {"pairs": writer.rows, **totals, **_skipped(source)}


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


check_arguments(__name__)  # each public function checks its arguments' annotations
