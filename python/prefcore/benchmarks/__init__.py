"""Reward-model and judge benchmark scores, computed exactly as the benchmarks' own code
and leaderboards compute them, with the traps of each written down.

- :func:`rewardbench`: RewardBench (strict ties, example-count weights, Prior Sets).
- :func:`rewardbench2`: RewardBench 2 (best-of-N with tie penalty, the Ties composite
  in either of its two published versions).
- :func:`rm_bench`: RM-Bench (the 3 x 3 style matrix, hard / normal / easy).
- :func:`alpaca_eval`: AlpacaEval win rates and the length-controlled win rate.
- :func:`position_consistency`, :func:`judge_agreement`: how far a judge can be trusted.
- :func:`paired`: whether two models' scores on the same examples differ (McNemar,
  bootstrap intervals, Holm's correction).

>>> every = list(REWARDBENCH_COUNTS)
>>> rows = {"id": list(range(len(every))), "subset": every,
...         "score_chosen": [1.0] * len(every), "score_rejected": [0.0] * len(every)}
>>> rewardbench(rows).score
100.0
"""

from prefcore._typed import check_arguments
from prefcore.benchmarks._alpaca_eval import GLMS, AlpacaEvalResult, alpaca_eval
from prefcore.benchmarks._judges import (
    JudgeAgreement,
    PositionConsistency,
    judge_agreement,
    position_consistency,
)
from prefcore.benchmarks._paired import PairedComparison, holm, mcnemar, paired
from prefcore.benchmarks._rewardbench import (
    PRIOR_SETS,
    REWARDBENCH_COUNTS,
    REWARDBENCH_SECTIONS,
    RewardBenchResult,
    rewardbench,
)
from prefcore.benchmarks._rewardbench2 import (
    REWARDBENCH2_SUBSETS,
    RewardBench2Result,
    rewardbench2,
)
from prefcore.benchmarks._rm_bench import RM_BENCH_DOMAINS, RM_BENCH_STYLES, RMBenchResult, rm_bench

__all__ = [
    "GLMS",
    "PRIOR_SETS",
    "REWARDBENCH2_SUBSETS",
    "REWARDBENCH_COUNTS",
    "REWARDBENCH_SECTIONS",
    "RM_BENCH_DOMAINS",
    "RM_BENCH_STYLES",
    "AlpacaEvalResult",
    "JudgeAgreement",
    "PairedComparison",
    "PositionConsistency",
    "RMBenchResult",
    "RewardBench2Result",
    "RewardBenchResult",
    "alpaca_eval",
    "holm",
    "judge_agreement",
    "mcnemar",
    "paired",
    "position_consistency",
    "rewardbench",
    "rewardbench2",
    "rm_bench",
]


check_arguments(__name__)  # each public function checks its arguments' annotations
