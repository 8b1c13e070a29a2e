# Stubs of the Rust extension. The public, documented API is in prefcore.metrics.
from typing import Any

import pyarrow as pa

__all__ = [
    "__version__",
    "calibration",
    "compare",
    "contamination",
    "correlation",
    "degenerate_pairs",
    "evaluate_grouped",
    "evaluate_trec",
    "exact",
    "get_num_threads",
    "minhash",
    "normalize",
    "optimal_bands",
    "pairwise_accuracy",
    "read_trec_qrels",
    "read_trec_run",
    "set_num_threads",
    "signatures",
]
__version__: str

def evaluate_trec(
    run: Any,
    qrels: Any,
    metrics: list[str],
    *,
    query_col: str,
    doc_col: str,
    score_col: str,
    qrels_query_col: str,
    qrels_doc_col: str,
    rel_col: str,
    relevance_level: int,
    complete: bool,
) -> tuple[pa.Table, list[float]]: ...
def evaluate_grouped(
    scores: Any, labels: Any, metrics: list[str], *, ties: str, relevance_level: float
) -> tuple[pa.Table, list[float]]: ...
def pairwise_accuracy(
    chosen: Any, rejected: Any, subsets: Any | None, *, ties: str
) -> list[tuple[str, int, float, int]]: ...
def calibration(chosen: Any, rejected: Any, *, n_bins: int, scale: float) -> dict[str, Any]: ...
def correlation(x: Any, y: Any, *, method: str, variant: str) -> list[float]: ...
def compare(
    a: list[float], b: list[float], *, test: str, n_resamples: int, seed: int
) -> dict[str, Any]: ...
def read_trec_run(path: str) -> pa.Table: ...
def read_trec_qrels(path: str) -> pa.Table: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...

_NormalizeArgs = tuple[bool, str, bool, bool, bool] | None

def normalize(texts: Any, options: _NormalizeArgs) -> pa.Array: ...
def exact(
    table: Any, columns: list[str], options: _NormalizeArgs, keep: str
) -> tuple[pa.Int64Array, pa.Int64Array, int]: ...
def degenerate_pairs(
    table: Any, chosen: str, rejected: str, options: _NormalizeArgs
) -> pa.StringArray: ...
def signatures(
    texts: Any,
    options: _NormalizeArgs,
    *,
    num_perm: int,
    ngram: int,
    tokenizer: str,
    seed: int,
) -> pa.UInt64Array: ...
def minhash(
    table: Any,
    column: str,
    options: _NormalizeArgs,
    *,
    threshold: float,
    num_perm: int,
    ngram: int,
    tokenizer: str,
    seed: int,
    bands: int | None,
    rows: int | None,
    keep: str,
    verify: bool,
) -> tuple[pa.Int64Array, pa.Int64Array, int, int, int, int, int]: ...
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]: ...
def contamination(
    train: Any,
    reference: Any,
    column: str,
    reference_column: str,
    options: _NormalizeArgs,
    *,
    method: str,
    n: int,
    threshold: float,
    num_perm: int,
    seed: int,
) -> tuple[pa.Int64Array, pa.DoubleArray]: ...
