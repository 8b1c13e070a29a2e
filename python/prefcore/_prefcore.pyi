# Stubs of the Rust extension, checked against it by stubtest. The public, documented
# API is in the Python modules; this is their private contract with the core.
from collections.abc import Callable, Iterable
from typing import ClassVar, Literal, Protocol, final

import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes

# The option vocabularies the extension converts at its boundary, one alias per core
# option type (``option_vocabularies()`` lists the core's own; tests/test_options.py
# holds these to it).
_PairLayout = Literal["concat", "separate"]
_Truncation = Literal["keep_start", "keep_end"]
_Keep = Literal["first", "last"]
_ContaminationMethod = Literal["ngram", "exact", "minhash"]
_Tokenizer = Literal["word", "char"]
_UnicodeForm = Literal["NFC", "NFKC", "NFD", "NFKD"]
_Metric = Literal["ip", "cosine", "l2"]
_MatchMethod = Literal["greedy", "mutual", "hungarian", "stable"]
_CorrelationMethod = Literal["kendall", "spearman"]
_TauVariant = Literal["b", "c"]
_GroupedTies = Literal["stable", "average"]
_PreferenceTies = Literal["wrong", "half", "drop"]
_Test = Literal["t", "student", "randomization", "permutation", "fisher", "bootstrap"]
_ShortGroups = Literal["error", "skip"]
_Strategy = Literal[
    "best_worst", "best_random", "best_vs_rest", "top_k_bottom_k", "all_pairs", "random_pairs"
]
_Texts = Literal["copy", "dictionary"]
_PairTies = Literal["drop", "keep", "random"]

__all__ = [
    "ArenaFit",
    "ArgumentTypeError",
    "BattleCodes",
    "BradleyTerryFit",
    "ByteLevelBpe",
    "CalibrationResult",
    "Clusters",
    "CollateSettings",
    "ColumnTypeError",
    "ComparisonResult",
    "CutTokens",
    "EloFit",
    "EvaluationOut",
    "ExactStream",
    "InputError",
    "InvalidArgumentError",
    "InvalidQueryError",
    "InvalidValueError",
    "JointSplit",
    "L1LogisticFit",
    "ListwiseWeights",
    "LshBands",
    "MinHashOptions",
    "MissingColumnError",
    "NearDuplicates",
    "NearStream",
    "Neighbours",
    "NormalizeOptions",
    "OptionVocabulary",
    "Overlaps",
    "PairArrays",
    "PairCounts",
    "PairTable",
    "PrefcoreError",
    "PrefixSharedArrays",
    "PromptSplit",
    "SequenceArrays",
    "SubsetAccuracy",
    "UnboundedItem",
    "UnpairedArrays",
    "VoteSummary",
    "__version__",
    "aggregate_votes",
    "arena_fit",
    "battle_codes",
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
    "l1_logistic_cv",
    "lipo_batch_weights",
    "listwise_weights",
    "lsh_band_keys",
    "match_sets",
    "minhash",
    "normalize",
    "normalize_tokens",
    "online_elo",
    "optimal_bands",
    "option_vocabularies",
    "pairs_from_scores",
    "pairwise_accuracy",
    "parse_transcripts",
    "range_search",
    "read_trec_qrels",
    "read_trec_run",
    "render_transcripts",
    "robust_covariance",
    "row_hashes",
    "self_pairs",
    "set_num_threads",
    "set_progress",
    "signatures",
    "simd_level",
    "simd_levels",
    "split_joint_tokens",
    "thread_setting_warning",
    "token_lists",
]
__version__: str

# What the extension reads through the Arrow PyCapsule interface: arrays (pyarrow,
# polars, nanoarrow, ...) or streams of them (chunked arrays), and tables.
class _ArrayExport(Protocol):
    def __arrow_c_array__(
        self, requested_schema: object | None = None
    ) -> tuple[object, object]: ...

class _StreamExport(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

_ArrowArray = _ArrayExport | _StreamExport
_ArrowTable = _StreamExport | _ArrayExport

class PrefcoreError(ValueError):
    """Bad input to a prefcore call: the root of prefcore's exceptions."""

    argument: str | None
    column: str | None
    row: int | None
    query_id: str | None
    path: str | None
    line: int | None
    def __init__(
        self,
        message: str,
        *,
        argument: str | None = None,
        column: str | None = None,
        row: int | None = None,
        query_id: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ) -> None: ...

class InvalidValueError(PrefcoreError):
    """One value is invalid (a null, NaN, a negative grade, an id out of range):
    ``column`` and ``row`` (0-based, in the input as given) say which."""

class InvalidQueryError(PrefcoreError):
    """A whole query of a TREC run or qrels is invalid (a document listed twice):
    ``column`` and ``query_id`` say which."""

class MissingColumnError(PrefcoreError):
    """A column the call needs is not in the table; ``column`` names it."""

class InvalidArgumentError(PrefcoreError):
    """An argument that is not a column (an option, a metric name, a cutoff) is
    invalid; ``argument`` names it where one argument is at fault."""

class InputError(PrefcoreError):
    """A file cannot be read as asked: ``path``, and ``line`` for a malformed line."""

class ColumnTypeError(PrefcoreError, TypeError):
    """A column has a type the call cannot use; also a ``TypeError``, with ``column``."""

class ArgumentTypeError(PrefcoreError, TypeError):
    """An argument that is not a column has the wrong type (a string where a number
    belongs); also a ``TypeError``, with ``argument``."""

@final
class CalibrationResult:
    """Expected (``ece``) and maximum (``mce``) calibration error, Brier score of
    P(chosen wins), and the reliability table ``bins``
    (``bin_lower, bin_upper, count, mean_predicted, fraction_positive``)."""

    _fields: ClassVar[list[str]]
    def __new__(cls, ece: float, mce: float, brier: float, bins: pa.Table) -> CalibrationResult: ...
    @property
    def ece(self) -> float: ...
    @property
    def mce(self) -> float: ...
    @property
    def brier(self) -> float: ...
    @property
    def bins(self) -> pa.Table: ...
    def plot(self, ax: Axes | None = None) -> Axes:
        """The reliability diagram (:func:`prefcore.plot.reliability_diagram`)."""
    def _repr_html_(self) -> str: ...

@final
class ComparisonResult:
    """A paired comparison of two systems on the same queries: ``n`` queries, each
    system's mean, their ``difference`` (a - b), the ``test``'s statistic and two-sided
    ``p_value``, and the paired Cohen's d as ``effect_size``."""

    _fields: ClassVar[list[str]]
    def __new__(
        cls,
        n: int,
        mean_a: float,
        mean_b: float,
        difference: float,
        statistic: float,
        p_value: float,
        effect_size: float,
        test: str,
    ) -> ComparisonResult: ...
    @property
    def n(self) -> int: ...
    @property
    def mean_a(self) -> float: ...
    @property
    def mean_b(self) -> float: ...
    @property
    def difference(self) -> float: ...
    @property
    def statistic(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def effect_size(self) -> float: ...
    @property
    def test(self) -> str: ...
    def _repr_html_(self) -> str: ...

@final
class PairCounts:
    def __new__(cls) -> PairCounts: ...
    @property
    def prompts(self) -> int: ...
    @property
    def prompts_with_pairs(self) -> int: ...
    @property
    def prompts_skipped_short(self) -> int: ...
    @property
    def prompts_without_eligible_pair(self) -> int: ...
    @property
    def pairs_capped(self) -> int: ...

def evaluate_trec(
    run: _ArrowTable,
    qrels: _ArrowTable,
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
) -> EvaluationOut: ...

@final
class EvaluationOut:
    @property
    def table(self) -> pa.Table | None: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def summary(self) -> list[float]: ...

def evaluate_grouped(
    scores: _ArrowArray,
    labels: _ArrowArray,
    metrics: list[str],
    *,
    ties: _GroupedTies,
    relevance_level: float,
    per_group: bool,
) -> EvaluationOut: ...
def pairwise_accuracy(
    chosen: _ArrowArray,
    rejected: _ArrowArray,
    subsets: _ArrowArray | None,
    *,
    ties: _PreferenceTies,
) -> list[SubsetAccuracy]: ...

@final
class SubsetAccuracy:
    @property
    def subset(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def correct(self) -> float: ...
    @property
    def ties(self) -> int: ...

def calibration(
    chosen: _ArrowArray, rejected: _ArrowArray, *, n_bins: int, scale: float
) -> CalibrationResult: ...
def correlation(
    x: _ArrowArray, y: _ArrowArray, *, method: _CorrelationMethod, variant: _TauVariant
) -> list[float]: ...
def compare(
    a: list[float], b: list[float], *, test: _Test, n_resamples: int, seed: int
) -> ComparisonResult: ...
def read_trec_run(path: str) -> pa.Table: ...
def read_trec_qrels(path: str) -> pa.Table: ...
def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def set_progress(
    callback: Callable[[str, int, int], object] | None,
) -> Callable[[str, int, int], object] | None: ...
def thread_setting_warning() -> str | None: ...
def simd_level() -> str: ...
def simd_levels() -> list[str]: ...
def force_simd_level(level: str | None) -> None: ...

@final
class NormalizeOptions:
    def __new__(
        cls,
        *,
        lowercase: bool,
        unicode: str | None,  # a _UnicodeForm in any case
        collapse_whitespace: bool,
        strip_punctuation: bool,
        digits_to_zero: bool,
    ) -> NormalizeOptions: ...

_NormalizeArgs = NormalizeOptions | None

@final
class MinHashOptions:
    def __new__(
        cls, *, num_perm: int, ngram: int, tokenizer: _Tokenizer, seed: int
    ) -> MinHashOptions: ...

def normalize(texts: _ArrowArray, options: _NormalizeArgs) -> pa.Array: ...

@final
class Clusters:
    def __new__(cls) -> Clusters: ...
    @property
    def cluster_id(self) -> pa.Int64Array: ...
    @property
    def representative(self) -> pa.Int64Array: ...
    @property
    def num_clusters(self) -> int: ...

def exact(
    table: _ArrowTable, columns: list[str], options: _NormalizeArgs, keep: _Keep
) -> Clusters: ...
def degenerate_pairs(
    table: _ArrowTable, chosen: str, rejected: str, options: _NormalizeArgs
) -> pa.StringArray: ...
def signatures(
    texts: _ArrowArray, options: _NormalizeArgs, minhash: MinHashOptions
) -> pa.UInt64Array: ...

@final
class NearDuplicates:
    def __new__(cls) -> NearDuplicates: ...
    @property
    def clusters(self) -> Clusters: ...
    @property
    def candidate_pairs(self) -> int: ...
    @property
    def merged_a(self) -> pa.Int64Array: ...
    @property
    def merged_b(self) -> pa.Int64Array: ...
    @property
    def bands(self) -> int: ...
    @property
    def rows_per_band(self) -> int: ...

def minhash(
    table: _ArrowTable,
    column: str,
    options: _NormalizeArgs,
    minhash: MinHashOptions,
    *,
    threshold: float,
    bands: int | None,
    rows: int | None,
    keep: _Keep,
    verify: bool,
) -> NearDuplicates: ...
def optimal_bands(threshold: float, num_perm: int) -> LshBands: ...

@final
class LshBands:
    @property
    def bands(self) -> int: ...
    @property
    def rows(self) -> int: ...

@final
class Overlaps:
    @property
    def reference_row(self) -> pa.Int64Array: ...
    @property
    def score(self) -> pa.DoubleArray: ...

def contamination(
    train: _ArrowTable,
    reference: _ArrowTable,
    column: str,
    reference_column: str,
    options: _NormalizeArgs,
    *,
    method: _ContaminationMethod,
    n: int,
    threshold: float,
    num_perm: int,
    seed: int,
) -> Overlaps: ...
def pairs_from_scores(
    table: _ArrowTable,
    prompt: str | None,
    completions: str,
    scores: _ArrowArray,
    scores_name: str,
    strategy: _Strategy,
    min_margin: float,
    ties: _PairTies,
    k: int,
    seed: int,
    max_pairs_per_prompt: int | None,
    score_range: tuple[float, float] | None,
    short_groups: _ShortGroups,
    group_offset: int,
    texts: _Texts,
) -> PairTable: ...

@final
class PairTable:
    @property
    def table(self) -> pa.Table: ...
    @property
    def counts(self) -> PairCounts: ...

def extract_prompt(
    table: _ArrowTable, chosen: str, rejected: str, user: str, assistant: str
) -> PromptSplit: ...

@final
class PromptSplit:
    @property
    def prompt(self) -> pa.StringArray: ...
    @property
    def chosen(self) -> pa.StringArray: ...
    @property
    def rejected(self) -> pa.StringArray: ...
    @property
    def reason(self) -> pa.StringArray: ...

def parse_transcripts(texts: _ArrowArray, user: str, assistant: str) -> pa.Array: ...
def render_transcripts(messages: _ArrowArray, user: str, assistant: str) -> pa.Array: ...
def listwise_weights(
    scores: _ArrowArray, labels: _ArrowArray, scores_name: str, labels_name: str
) -> ListwiseWeights: ...

@final
class ListwiseWeights:
    @property
    def order(self) -> pa.ListArray: ...
    @property
    def weights(self) -> pa.ListArray: ...

def lipo_batch_weights(scores: np.ndarray, labels: np.ndarray, valid: np.ndarray) -> np.ndarray: ...
def bt_unbounded_item(
    a: _ArrowArray, b: _ArrowArray, score_a: _ArrowArray, n_items: int
) -> UnboundedItem | None: ...

@final
class UnboundedItem:
    @property
    def item(self) -> int: ...
    @property
    def outcome(self) -> Literal["won", "lost"]: ...

@final
class BradleyTerryFit:
    def __new__(cls) -> BradleyTerryFit: ...
    @property
    def theta(self) -> list[float]: ...
    @property
    def variance(self) -> list[float]: ...
    @property
    def bootstrap(self) -> list[list[float]]: ...

def bradley_terry(
    a: _ArrowArray,
    b: _ArrowArray,
    score_a: _ArrowArray,
    n_items: int,
    *,
    alpha: float,
    bootstrap: int,
    seed: int,
    reference: int | None,
) -> BradleyTerryFit: ...

@final
class L1LogisticFit:
    def __new__(cls) -> L1LogisticFit: ...
    @property
    def coefficients(self) -> list[float]: ...
    @property
    def penalty(self) -> float: ...
    @property
    def scores(self) -> list[float]: ...

def l1_logistic_cv(
    x: np.ndarray,
    label: np.ndarray,
    weight: np.ndarray,
    penalties: list[float],
    *,
    n_splits: int,
    weighted_score: bool,
) -> L1LogisticFit: ...

@final
class ArenaFit:
    def __new__(cls) -> ArenaFit: ...
    @property
    def ratings(self) -> list[float]: ...
    @property
    def coefs(self) -> list[float]: ...
    @property
    def log_tie(self) -> float: ...
    @property
    def iterations(self) -> int: ...
    @property
    def hessian(self) -> np.ndarray | None: ...
    @property
    def scores(self) -> np.ndarray | None: ...
    @property
    def boot_ratings(self) -> np.ndarray | None: ...
    @property
    def boot_coefs(self) -> np.ndarray | None: ...
    @property
    def boot_log_tie(self) -> np.ndarray | None: ...
    @property
    def boot_fallbacks(self) -> int: ...

def arena_fit(
    a: np.ndarray,
    b: np.ndarray,
    win: np.ndarray,
    tie: np.ndarray,
    weight: np.ndarray,
    features: np.ndarray,
    n_models: int,
    *,
    unit: float,
    ridge_ratings: float,
    ridge_coefs: float,
    divisor: float,
    davidson: bool,
    fallback_ridge: float,
    curvature: bool,
    bootstrap: int,
    seed: int,
    resample_indices: np.ndarray | None,
    resample_weights: np.ndarray | None,
    counts: np.ndarray | None = None,
) -> ArenaFit: ...

@final
class BattleCodes:
    def __new__(cls) -> BattleCodes: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def a(self) -> np.ndarray | None: ...
    @property
    def b(self) -> np.ndarray | None: ...
    @property
    def outcome(self) -> np.ndarray | None: ...
    @property
    def cell_a(self) -> np.ndarray | None: ...
    @property
    def cell_b(self) -> np.ndarray | None: ...
    @property
    def cell_outcome(self) -> np.ndarray | None: ...
    @property
    def cell_count(self) -> np.ndarray | None: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def problem_row(self) -> int | None: ...

def robust_covariance(h: np.ndarray, g: np.ndarray) -> np.ndarray | None: ...
def battle_codes(
    a: _ArrowArray,
    b: _ArrowArray,
    winner: _ArrowArray,
    *,
    columns: tuple[str, str, str],
    rows: bool,
) -> BattleCodes: ...

@final
class EloFit:
    def __new__(cls) -> EloFit: ...
    @property
    def ratings(self) -> list[float]: ...
    @property
    def bootstrap(self) -> list[list[float]]: ...

def online_elo(
    a: _ArrowArray,
    b: _ArrowArray,
    score_a: _ArrowArray,
    n_items: int,
    *,
    k: float,
    base: float,
    scale: float,
    init: float,
    bootstrap: int,
    seed: int,
    resamples: np.ndarray | None,
) -> EloFit: ...

@final
class VoteSummary:
    def __new__(cls) -> VoteSummary: ...
    @property
    def consensus(self) -> pa.UInt32Array: ...
    @property
    def support(self) -> pa.DoubleArray: ...
    @property
    def tied(self) -> pa.BooleanArray: ...
    @property
    def n_votes(self) -> pa.UInt32Array: ...
    @property
    def raw_agreement(self) -> float: ...
    @property
    def fleiss_kappa(self) -> float: ...
    @property
    def krippendorff_alpha(self) -> float: ...
    @property
    def items_rated_twice(self) -> int: ...
    @property
    def iterations(self) -> int: ...
    @property
    def annotator_votes(self) -> pa.UInt32Array: ...
    @property
    def annotator_agreement(self) -> pa.DoubleArray: ...

def aggregate_votes(
    item: _ArrowArray,
    annotator: _ArrowArray,
    vote: _ArrowArray,
    *,
    n_items: int,
    n_annotators: int,
    n_classes: int,
    method: Literal["majority", "dawid_skene"],
) -> VoteSummary: ...
def knn(
    queries: _ArrowArray,
    nq: int,
    corpus: _ArrowArray,
    nc: int,
    dim: int,
    k: int,
    metric: _Metric,
    corpus_block: int | None,
    exclude_self: bool,
) -> Neighbours: ...

@final
class Neighbours:
    @property
    def scores(self) -> pa.FloatArray: ...
    @property
    def indices(self) -> pa.Int64Array: ...

def range_search(
    queries: _ArrowArray,
    nq: int,
    corpus: _ArrowArray,
    nc: int,
    dim: int,
    threshold: float,
    metric: _Metric,
    corpus_block: int | None,
    exclude_self: bool,
) -> pa.Table: ...
def self_pairs(
    data: _ArrowArray, n: int, dim: int, threshold: float, metric: _Metric, corpus_block: int | None
) -> pa.Table: ...
def clusters_from_pairs(
    row_a: _ArrowArray, row_b: _ArrowArray, n: int, keep: _Keep
) -> Clusters: ...
def match_sets(
    a: _ArrowArray,
    na: int,
    b: _ArrowArray,
    nb: int,
    dim: int,
    metric: _Metric,
    method: _MatchMethod,
    csls_k: int | None,
) -> pa.Table: ...
def normalize_tokens(ids: _ArrowArray, column: str) -> pa.Array: ...
def collate_prefix_shared(
    prompt: _ArrowArray,
    branches: list[_ArrowArray],
    names: list[str],
    per_row: int,
    rows: list[int],
    settings: CollateSettings,
    max_tokens: int | None,
) -> PrefixSharedArrays: ...

@final
class PrefixSharedArrays:
    @property
    def input_ids(self) -> np.ndarray: ...
    @property
    def position_ids(self) -> np.ndarray: ...
    @property
    def tree_ids(self) -> np.ndarray: ...
    @property
    def branch_ids(self) -> np.ndarray: ...
    @property
    def logit_index(self) -> np.ndarray: ...
    @property
    def target_ids(self) -> np.ndarray: ...
    @property
    def branch_index(self) -> np.ndarray: ...
    @property
    def branch_tokens(self) -> np.ndarray: ...

def token_lists(rows: Iterable[Iterable[int]], column: str) -> pa.Array: ...
def cut_tokens(
    prompt: _ArrowArray,
    completions: list[_ArrowArray],
    names: list[str],
    max_length: int | None,
    max_prompt_length: int | None,
    truncation: _Truncation,
    eos: int | None,
) -> CutTokens: ...

@final
class CutTokens:
    @property
    def prompt(self) -> pa.Array: ...
    @property
    def completions(self) -> list[pa.Array]: ...
    @property
    def prompt_truncated(self) -> pa.BooleanArray: ...
    @property
    def completion_truncated(self) -> list[pa.BooleanArray]: ...

def split_joint_tokens(
    prompt: _ArrowArray, joints: list[_ArrowArray], names: list[str]
) -> JointSplit: ...

@final
class JointSplit:
    @property
    def prompt(self) -> pa.Array: ...
    @property
    def completions(self) -> list[pa.Array]: ...
    @property
    def boundary_moved(self) -> pa.BooleanArray: ...

@final
class CollateSettings:
    def __new__(
        cls,
        *,
        pad_token_id: int,
        label_pad_id: int,
        labels: bool,
        max_length: int | None,
        truncation_mode: _Truncation,
        pad_to_multiple_of: int | None,
        vocab_size: int | None,
        padding_free: bool,
    ) -> CollateSettings: ...

def collate_pairs(
    columns: list[_ArrowArray],
    names: list[str],
    rows: list[int],
    settings: CollateSettings,
    layout: _PairLayout,
) -> PairArrays: ...
def collate_unpaired(
    columns: list[_ArrowArray],
    names: list[str],
    rows: list[int],
    settings: CollateSettings,
    kl: bool,
) -> UnpairedArrays: ...

@final
class SequenceArrays:
    @property
    def input_ids(self) -> np.ndarray: ...
    @property
    def attention_mask(self) -> np.ndarray | None: ...
    @property
    def position_ids(self) -> np.ndarray | None: ...
    @property
    def completion_mask(self) -> np.ndarray: ...
    @property
    def labels(self) -> np.ndarray | None: ...
    @property
    def cu_seq_lens(self) -> np.ndarray | None: ...
    @property
    def max_seq_len(self) -> int | None: ...

@final
class PairArrays:
    @property
    def joint(self) -> SequenceArrays | None: ...
    @property
    def chosen(self) -> SequenceArrays | None: ...
    @property
    def rejected(self) -> SequenceArrays | None: ...

@final
class UnpairedArrays:
    @property
    def rows(self) -> SequenceArrays: ...
    @property
    def kl(self) -> SequenceArrays | None: ...

@final
class ExactStream:
    def __new__(cls, options: _NormalizeArgs) -> ExactStream: ...
    def push(self, columns: list[_ArrowArray], names: list[str]) -> pa.BooleanArray: ...
    @property
    def rows(self) -> int: ...
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
    def encode(self, texts: _ArrowArray, column: str, add_special_tokens: bool) -> pa.Array: ...

@final
class NearStream:
    def __new__(
        cls, options: _NormalizeArgs, minhash: MinHashOptions, *, bands: int, rows: int
    ) -> NearStream: ...
    def push(self, texts: _ArrowArray, column: str) -> None: ...
    def finish(self, keep: _Keep) -> Clusters: ...
    @property
    def candidate_pairs(self) -> int | None: ...
    @property
    def rows(self) -> int: ...
    @property
    def key_bytes(self) -> int: ...

def row_hashes(
    columns: list[_ArrowArray], names: list[str], options: _NormalizeArgs
) -> pa.FixedSizeBinaryArray: ...
def lsh_band_keys(
    texts: _ArrowArray,
    column: str,
    options: _NormalizeArgs,
    minhash: MinHashOptions,
    *,
    bands: int,
    rows: int,
) -> pa.UInt64Array: ...

@final
class OptionVocabulary:
    @property
    def name(self) -> str: ...
    @property
    def argument(self) -> str: ...
    @property
    def values(self) -> list[str]: ...

def option_vocabularies() -> list[OptionVocabulary]: ...
