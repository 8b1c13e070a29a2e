# Stubs of the Rust extension. The public, documented API is in prefcore.metrics.
from collections.abc import Iterable
from typing import Any, final

import numpy as np
import pyarrow as pa

__all__ = [
    "ByteLevelBpe",
    "ExactStream",
    "NearStream",
    "NormalizeOptions",
    "__version__",
    "aggregate_votes",
    "bradley_terry",
    "bt_unbounded_item",
    "calibration",
    "clusters_from_pairs",
    "collate_pairs",
    "collate_prefix_shared",
    "collate_unpaired",
    "compare",
    "contamination",
    "correlation",
    "cut_tokens",
    "degenerate_pairs",
    "evaluate_grouped",
    "evaluate_trec",
    "exact",
    "extract_prompt",
    "force_simd_level",
    "get_num_threads",
    "knn",
    "lipo_batch_weights",
    "listwise_weights",
    "lsh_band_keys",
    "match_sets",
    "minhash",
    "normalize",
    "normalize_tokens",
    "optimal_bands",
    "pairs_from_scores",
    "pairwise_accuracy",
    "parse_transcripts",
    "range_search",
    "read_trec_qrels",
    "read_trec_run",
    "render_transcripts",
    "row_hashes",
    "self_pairs",
    "set_num_threads",
    "signatures",
    "simd_level",
    "simd_levels",
    "split_joint_tokens",
    "token_lists",
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
    per_query: bool,
) -> tuple[pa.Table | None, list[str], list[float]]: ...
def evaluate_grouped(
    scores: Any,
    labels: Any,
    metrics: list[str],
    *,
    ties: str,
    relevance_level: float,
    per_group: bool,
) -> tuple[pa.Table | None, list[str], list[float]]: ...
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
def simd_level() -> str: ...
def simd_levels() -> list[str]: ...
def force_simd_level(level: str | None) -> None: ...

@final
class NormalizeOptions:
    def __new__(
        cls,
        *,
        lowercase: bool,
        unicode: str | None,
        collapse_whitespace: bool,
        strip_punctuation: bool,
        digits_to_zero: bool,
    ) -> NormalizeOptions: ...

_NormalizeArgs = NormalizeOptions | None

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
) -> tuple[
    pa.Int64Array, pa.Int64Array, int, int, tuple[pa.Int64Array, pa.Int64Array], int, int
]: ...
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
def pairs_from_scores(
    table: Any,
    prompt: str | None,
    completions: str,
    scores: Any,
    scores_name: str,
    strategy: str,
    min_margin: float,
    ties: str,
    k: int,
    seed: int,
    max_pairs_per_prompt: int | None,
    score_range: tuple[float, float] | None,
    short_groups: str,
    first_group: int,
    texts: str,
) -> tuple[pa.Table, dict[str, Any]]: ...
def extract_prompt(
    table: Any, chosen: str, rejected: str, user: str, assistant: str
) -> list[pa.Array]: ...
def parse_transcripts(texts: Any, user: str, assistant: str) -> pa.Array: ...
def render_transcripts(messages: Any, user: str, assistant: str) -> pa.Array: ...
def listwise_weights(
    scores: Any, labels: Any, scores_name: str, labels_name: str
) -> tuple[pa.Array, pa.Array]: ...
def lipo_batch_weights(scores: np.ndarray, labels: np.ndarray, valid: np.ndarray) -> np.ndarray: ...
def bt_unbounded_item(a: Any, b: Any, score_a: Any, n_items: int) -> tuple[int, str] | None: ...
def bradley_terry(
    a: Any,
    b: Any,
    score_a: Any,
    n_items: int,
    alpha: float,
    bootstrap: int,
    seed: int,
    reference: int | None,
) -> tuple[list[float], list[float], list[list[float]]]: ...
def aggregate_votes(
    item: Any,
    annotator: Any,
    vote: Any,
    n_items: int,
    n_annotators: int,
    n_classes: int,
    method: str,
) -> dict[str, Any]: ...
def knn(
    queries: Any,
    nq: int,
    corpus: Any,
    nc: int,
    dim: int,
    k: int,
    metric: str,
    corpus_block: int | None,
    exclude_self: bool,
) -> tuple[pa.FloatArray, pa.Int64Array]: ...
def range_search(
    queries: Any,
    nq: int,
    corpus: Any,
    nc: int,
    dim: int,
    threshold: float,
    metric: str,
    corpus_block: int | None,
    exclude_self: bool,
) -> tuple[pa.Int64Array, pa.Int64Array, pa.FloatArray]: ...
def self_pairs(
    data: Any, n: int, dim: int, threshold: float, metric: str, block: int | None
) -> tuple[pa.Int64Array, pa.Int64Array, pa.FloatArray]: ...
def clusters_from_pairs(
    row_a: Any, row_b: Any, n: int, keep: str
) -> tuple[pa.Int64Array, pa.Int64Array, int]: ...
def match_sets(
    a: Any,
    na: int,
    b: Any,
    nb: int,
    dim: int,
    metric: str,
    method: str,
    csls_k: int | None,
) -> list[pa.Array]: ...
def normalize_tokens(ids: Any, column: str) -> pa.Array: ...
def collate_prefix_shared(
    prompt: Any,
    branches: list[Any],
    names: list[str],
    per_row: int,
    rows: list[int],
    pad_token_id: int,
    max_tokens: int | None,
    pad_to_multiple_of: int | None,
    vocab_size: int | None,
) -> dict[str, np.ndarray]: ...
def token_lists(rows: Iterable[Iterable[int]], column: str) -> pa.Array: ...
def cut_tokens(
    prompt: Any,
    completions: list[Any],
    names: list[str],
    max_length: int | None,
    max_prompt_length: int | None,
    truncation: str,
    eos: int | None,
) -> tuple[pa.Array, list[pa.Array], pa.Array, list[pa.Array]]: ...
def split_joint_tokens(
    prompt: Any, joints: list[Any], names: list[str]
) -> tuple[pa.Array, list[pa.Array], pa.Array]: ...
def collate_pairs(
    columns: list[Any], names: list[str], rows: list[int], settings: Any, layout: str
) -> dict[str, Any]: ...
def collate_unpaired(
    columns: list[Any], names: list[str], rows: list[int], settings: Any, kl: bool
) -> dict[str, Any]: ...

@final
class ExactStream:
    def __new__(cls, options: Any) -> ExactStream: ...
    def push(self, columns: list[Any], names: list[str]) -> pa.Array: ...
    @property
    def distinct(self) -> int: ...

@final
class ByteLevelBpe:
    def __new__(
        cls,
        vocab: list[tuple[str, int]],
        merges: list[tuple[str, str]],
        added: list[tuple[str, int, bool]],
        unk_id: int | None,
        fuse_unk: bool,
        ignore_merges: bool,
        prefix: list[int],
        suffix: list[int],
    ) -> ByteLevelBpe: ...
    def encode(self, texts: Any, column: str, add_special_tokens: bool) -> pa.Array: ...

@final
class NearStream:
    def __new__(
        cls,
        options: Any,
        *,
        num_perm: int,
        ngram: int,
        tokenizer: str,
        seed: int,
        bands: int,
        rows: int,
    ) -> NearStream: ...
    def push(self, texts: Any, column: str) -> None: ...
    def finish(self, keep: str) -> tuple[pa.Array, pa.Array, int, int]: ...
    @property
    def key_bytes(self) -> int: ...

def row_hashes(columns: list[Any], names: list[str], options: Any) -> pa.Array: ...
def lsh_band_keys(
    texts: Any,
    column: str,
    options: Any,
    *,
    num_perm: int,
    ngram: int,
    tokenizer: str,
    seed: int,
    bands: int,
    rows: int,
) -> pa.Array: ...
