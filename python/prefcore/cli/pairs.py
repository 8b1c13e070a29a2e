"""``prefcore pairs``: chosen/rejected pairs from scored completions."""

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
from prefcore.pairs import ShortGroups, Strategy, Ties

__all__ = ["PairsOptions", "add_parser", "main", "run"]


@dataclass(frozen=True)
class PairsOptions:
    strategy: Strategy = option("which pairs each prompt gives", default="best_worst")
    min_margin: float = option("least chosen - rejected score difference", default=0.0, kind=float)
    seed: int = option("seed of the random choices", default=0, kind=SEED)
    prompt: str = option("prompt column", default="prompt")
    completions: str = option("completions column", default="completions")
    scores: str = option("scores column", default="scores")
    ties: Ties = option(
        "equal scores: never paired, earlier one chosen, at random",
        default="drop",
    )
    k: int = option(
        "rejections per prompt (best_random), ends (top_k_bottom_k), pairs per prompt "
        "(random_pairs)",
        default=1,
        kind=COUNT,
        short="-k",
    )
    short_groups: ShortGroups = option(
        "prompts with fewer than two completions: error or skip",
        default="error",
    )


def add_parser(sub: Any) -> None:
    add_file_command(
        sub,
        "pairs",
        PairsOptions,
        help="chosen/rejected pairs from scored completions",
        description="Build chosen/rejected pairs from a table of scored completions (one "
        "row per prompt with list columns, or one row per completion) by a strategy; "
        "random choices depend only on --seed.",
        epilog="example:\n  prefcore pairs scored.parquet pairs.parquet --strategy "
        "best_random -k 2 --min-margin 1 --seed 0",
    )


def run(files: Files, options: PairsOptions) -> dict[str, Any]:
    from prefcore import pipeline

    files.refuse_overwrites()
    return pipeline.build_pairs(
        files.source(),
        files.target(),
        strategy=options.strategy,
        min_margin=options.min_margin,
        seed=options.seed,
        prompt=options.prompt,
        completions=options.completions,
        scores=options.scores,
        ties=options.ties,
        k=options.k,
        short_groups=options.short_groups,
        quiet=files.quiet,
        out_format=files.out_format,
    )


def main(args: argparse.Namespace) -> dict[str, Any]:
    return run(Files.from_args(args), options_from_args(PairsOptions, args))
