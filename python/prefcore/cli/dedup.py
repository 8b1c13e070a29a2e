"""``prefcore dedup``: drop exact and near duplicates and degenerate pairs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from prefcore.cli._options import (
    COUNT,
    SEED,
    Files,
    add_file_command,
    option,
)
from prefcore.cli._options import from_args as options_from_args
from prefcore.dedup import MINHASH_NGRAM, MINHASH_NUM_PERM, MINHASH_THRESHOLD

__all__ = ["DedupOptions", "add_parser", "main", "run"]


@dataclass(frozen=True)
class DedupOptions:
    exact: tuple[str, ...] = option("columns whose tuple must be unique", default=(), kind=tuple)
    near: str | None = option("text column for MinHash near-duplicates", metavar="COL")
    threshold: float = option("Jaccard threshold", default=MINHASH_THRESHOLD, kind=float)
    num_perm: int = option("MinHash permutations", default=MINHASH_NUM_PERM, kind=COUNT)
    ngram: int = option("word shingle size", default=MINHASH_NGRAM, kind=COUNT)
    seed: int = option("MinHash seed", default=1, kind=SEED)
    bands: int | None = option("LSH bands (default: chosen from the threshold)", kind=COUNT)
    rows: int | None = option("rows per band (with --bands)", kind=COUNT)
    degenerate: bool = option("drop chosen == rejected or empty", default=False, kind=bool)
    no_normalize: bool = option("compare raw text", default=False, kind=bool)


def add_parser(sub: Any) -> None:
    add_file_command(
        sub,
        "dedup",
        DedupOptions,
        help="drop exact / near duplicates and degenerate pairs",
        description="Drop rows whose --exact columns repeat an earlier row, rows whose "
        "--near column is a MinHash-LSH near-duplicate of an earlier one, and (with "
        "--degenerate) pairs whose chosen equals rejected or is empty. The first row of "
        "each cluster is kept; the report counts what went and why.",
        epilog="example:\n  prefcore dedup raw.parquet clean.parquet --exact prompt chosen "
        "rejected \\\n      --near chosen --threshold 0.8 --degenerate --report dedup.json",
    )


def run(files: Files, options: DedupOptions) -> dict[str, Any]:
    from prefcore import pipeline

    files.refuse_overwrites()
    return pipeline.dedup_stream(
        files.source(),
        files.target(),
        exact=options.exact,
        near=options.near,
        threshold=options.threshold,
        num_perm=options.num_perm,
        ngram=options.ngram,
        seed=options.seed,
        bands=options.bands,
        rows=options.rows,
        degenerate=options.degenerate,
        normalize=not options.no_normalize,
        quiet=files.quiet,
        out_format=files.out_format,
    )


def main(args: argparse.Namespace) -> dict[str, Any]:
    return run(Files.from_args(args), options_from_args(DedupOptions, args))
