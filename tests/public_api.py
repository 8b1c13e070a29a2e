"""The public modules of prefcore: what the packaging checks import and what the
bad-argument walk calls."""

PUBLIC_MODULES = [
    "prefcore",
    "prefcore.benchmarks",
    "prefcore.cli",
    "prefcore.dedup",
    "prefcore.demo",
    "prefcore.errors",
    "prefcore.formats",
    "prefcore.io",
    "prefcore.listwise",
    "prefcore.match",
    "prefcore.metrics",
    "prefcore.pairs",
    "prefcore.pipeline",
    "prefcore.plot",
    "prefcore.ratings",
    "prefcore.ray",
    "prefcore.report",
    "prefcore.rewards",
    "prefcore.streaming",
    "prefcore.tokenize",
    "prefcore.torch",
    "prefcore.trl",
    "prefcore.unpaired",
]
