"""Progress bars for calls that can run for seconds.

Every such call takes ``progress=``: ``None`` (the default) shows a bar where a person
is watching (stderr is a terminal, or a Jupyter kernel) and nothing in logs; ``True``
shows it anywhere (a log gets tqdm's plain-text lines), ``False`` never. The bar is
the one the CLI draws (tqdm on stderr) and appears only once a call has run for a
second, so quick calls stay silent. The Rust core says which stage it is in and how
far it is between waves of work; Python loops update the same bar themselves.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import _prefcore

__all__ = ["Progress", "enabled", "new_bar", "reporting"]

#: ``progress=`` of long calls: ``None`` automatic, ``True`` always, ``False`` never.
Progress = bool | None

#: Seconds a call runs before its bar appears.
DELAY = 1.0


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    ip = get() if get is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def enabled(progress: Progress) -> bool:
    """Whether a call given ``progress`` draws a bar."""
    if progress is not None:
        if not isinstance(progress, bool):
            from .errors import ArgumentTypeError

            raise ArgumentTypeError(
                f"progress must be True, False or None, not {type(progress).__name__}",
                argument="progress",
            )
        return progress
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty is not None and isatty()) or _in_notebook()


def new_bar(label: str, total: int | None, unit: str, *, delay: float = 0.0, **kw: Any) -> Any:
    """The bar every progress display of prefcore uses (tqdm on stderr)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=label,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        delay=delay,
        **kw,
    )


class _CallBar:
    """The bars of one call: one per stage the core names (a finished stage's bar stays
    on screen as its line), all held back until the call has run for :data:`DELAY`."""

    def __init__(self, label: str, total: int | None, unit: str) -> None:
        self.label, self.unit, self.stage = label, unit, ""
        self.start = time.monotonic()
        self.bar = self._new(label, total)

    def _new(self, desc: str, total: int | None) -> Any:
        delay = max(0.0, DELAY - (time.monotonic() - self.start))
        return new_bar(desc, total, self.unit, delay=delay, unit_scale=True)

    def core(self, stage: str, done: int, total: int) -> None:
        """The core's report: ``done`` of ``total`` units of ``stage``."""
        if stage != self.stage or total != self.bar.total:
            self.stage = stage
            self.bar.close()
            self.bar = self._new(f"{self.label} · {stage}" if stage else self.label, total)
        self.bar.update(done - self.bar.n)

    def update(self, n: int) -> None:
        """``n`` more units done by a Python loop."""
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass


@contextmanager
def reporting(
    progress: Progress,
    label: str,
    total: int | None = None,
    unit: str = " rows",
    *,
    core: bool = True,
) -> Iterator[_CallBar | _NoBar]:
    """Within the block, the core's long kernels on this thread (unless ``core`` is
    false: a Python loop that counts its own units) and the block's own
    ``bar.update(n)`` advance one bar labelled ``label``."""
    if not enabled(progress):
        yield _NoBar()
        return
    bar = _CallBar(label, total, unit)
    previous = _prefcore.set_progress(bar.core if core else None)
    try:
        yield bar
    finally:
        _prefcore.set_progress(previous)
        bar.close()
