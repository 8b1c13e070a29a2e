"""prefcore: preference data and ranking metrics for alignment, with a Rust core.

>>> import prefcore
>>> prefcore.metrics.evaluate_grouped([[0.9, 0.1]], [[1, 0]], "ndcg@2")
{'ndcg@2': 1.0}
"""

from __future__ import annotations

from prefcore import _overflow, _prefcore

_overflow.install(_prefcore)  # before any module takes the extension's functions

from prefcore import dedup, formats, match, metrics, pairs  # noqa: E402
from prefcore._prefcore import __version__  # noqa: E402
from prefcore._prefcore import get_num_threads as _get_num_threads  # noqa: E402
from prefcore._prefcore import set_num_threads as _set_num_threads  # noqa: E402

__all__ = [
    "__version__",
    "dedup",
    "formats",
    "get_num_threads",
    "match",
    "metrics",
    "pairs",
    "set_num_threads",
]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for every prefcore computation from now on.

    The default is ``PREFCORE_NUM_THREADS`` or one per core. Results do not depend on
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
