"""prefcore: preference data and ranking metrics for alignment, with a Rust core.

>>> import prefcore
>>> prefcore.metrics.evaluate_grouped([[0.9, 0.1]], [[1, 0]], "ndcg@2")
{'ndcg@2': 1.0}
"""

from __future__ import annotations

from prefcore import _overflow, _prefcore
from prefcore._typed import check_arguments

_overflow.install(_prefcore)  # before any module takes the extension's functions

from prefcore import (  # noqa: E402
    dedup,
    errors,
    formats,
    listwise,
    match,
    metrics,
    pairs,
    ratings,
    report,
    rewards,
    unpaired,
)
from prefcore._prefcore import __version__  # noqa: E402
from prefcore._prefcore import force_simd_level as _force_simd_level  # noqa: E402
from prefcore._prefcore import get_num_threads as _get_num_threads  # noqa: E402
from prefcore._prefcore import set_num_threads as _set_num_threads  # noqa: E402
from prefcore._prefcore import simd_level as _simd_level  # noqa: E402
from prefcore._prefcore import simd_levels as _simd_levels  # noqa: E402
from prefcore.errors import PrefcoreError  # noqa: E402

# A PREFCORE_NUM_THREADS that is not a count, or above the cap, is said once, here.
if (_note := _prefcore.thread_setting_warning()) is not None:
    import warnings

    warnings.warn(_note, RuntimeWarning, stacklevel=2)

__all__ = [
    "PrefcoreError",
    "__version__",
    "dedup",
    "errors",
    "force_simd_level",
    "formats",
    "get_num_threads",
    "listwise",
    "match",
    "metrics",
    "pairs",
    "ratings",
    "report",
    "rewards",
    "set_num_threads",
    "simd_level",
    "simd_levels",
    "unpaired",
]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for every prefcore computation from now on.

    The default is ``PREFCORE_NUM_THREADS`` or one per core. At most 8 threads per core
    (and at least 16) are accepted: more only adds switching. Results do not depend on
    the thread count.

    >>> import prefcore
    >>> prefcore.set_num_threads(2)
    >>> prefcore.get_num_threads()
    2
    """
    _set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads prefcore computes on.

    >>> import prefcore
    >>> prefcore.get_num_threads() >= 1
    True
    """
    return _get_num_threads()


def simd_level() -> str:
    """The SIMD variant of the kernels in use: ``"baseline"``, ``"avx2"`` or ``"avx512"``.

    It is the best this CPU runs, unless ``PREFCORE_SIMD`` (read at import) or
    :func:`force_simd_level` chose a lower one. Every variant gives identical results.

    >>> import prefcore
    >>> prefcore.simd_level() in prefcore.simd_levels()
    True
    """
    return _simd_level()


def simd_levels() -> list[str]:
    """Every SIMD variant this CPU runs, lowest first (``"baseline"`` always).

    >>> import prefcore
    >>> prefcore.simd_levels()[0]
    'baseline'
    """
    return _simd_levels()


def force_simd_level(level: str | None) -> None:
    """Run the kernels' ``level`` variant from now on (``None`` or ``"auto"``: the best).

    For comparing variants and timing them; results do not change. A level the CPU
    does not run is a ``ValueError``. ``PREFCORE_SIMD=avx2`` does the same at import.

    >>> import prefcore
    >>> prefcore.force_simd_level("baseline")
    >>> prefcore.simd_level()
    'baseline'
    >>> prefcore.force_simd_level(None)
    """
    _force_simd_level(level)


check_arguments(__name__)  # each public function checks its arguments' annotations
