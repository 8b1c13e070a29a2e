"""``prefcore decontaminate``: drop the rows that overlap an evaluation set."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from prefcore.cli._options import (
    COUNT,
    Files,
    add_file_command,
    option,
)
from prefcore.cli._options import from_args as options_from_args
from prefcore.dedup import ContaminationMethod
from prefcore.io import Format

__all__ = ["DecontaminateOptions", "add_parser", "main", "run"]


@dataclass(frozen=True)
class DecontaminateOptions:
    against: str = option("the evaluation set", required=True, metavar="EVAL")
    against_format: Format | None = option("format of EVAL (from its name)")
    column: str = option("text column of IN", default="prompt")
    against_column: str | None = option("text column of EVAL (default: --column)")
    method: ContaminationMethod = option("overlap test", default="ngram")
    n: int = option("word n-gram size", default=13, kind=COUNT)
    threshold: float | None = option("least overlap that counts", kind=float)


def add_parser(sub: Any) -> None:
    add_file_command(
        sub,
        "decontaminate",
        DecontaminateOptions,
        help="drop rows that overlap an evaluation set",
        description="Drop the rows of IN whose text column shares a word n-gram with the "
        "evaluation set (--method ngram), is a MinHash near-duplicate of one of its texts "
        "(minhash) or equals one after normalisation (exact).",
        epilog="example:\n  prefcore decontaminate clean.parquet final.parquet --against "
        "eval.jsonl --n 13",
    )


def run(files: Files, options: DecontaminateOptions) -> dict[str, Any]:
    from prefcore import pipeline

    files.refuse_overwrites(against=options.against)
    return pipeline.decontaminate(
        files.source(),
        files.target(),
        files.source(options.against, options.against_format),
        column=options.column,
        against_column=options.against_column,
        method=options.method,
        n=options.n,
        threshold=options.threshold,
        quiet=files.quiet,
        out_format=files.out_format,
    )


def main(args: argparse.Namespace) -> dict[str, Any]:
    return run(Files.from_args(args), options_from_args(DecontaminateOptions, args))
