"""Progress bars that do not garble logs, and only where someone is watching.

``progress=None`` (the default of :func:`drizzlekit.astrodrizzle`) means
"automatic": bars are shown when standard error is a terminal or the code
runs in a Jupyter kernel, never when stderr is redirected to a file or a
pipe. While bars are shown, log records of the ``drizzlekit`` logger (and
the root logger) are written through ``tqdm.write`` so that an INFO line
never lands in the middle of a bar.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterable, Iterator

__all__ = ["want_progress", "progress_bar", "logs_beside_bars"]


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:  # IPython present but not running
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


def want_progress(progress: bool | None) -> bool:
    """Resolve ``progress``: ``None`` -> a terminal or a notebook is watching."""
    if progress is not None:
        return bool(progress)
    stream = sys.stderr
    try:
        tty = bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        tty = False
    return tty or _in_jupyter_kernel()


def progress_bar(items: Iterable, enabled: bool, desc: str) -> Iterable:
    """``items`` wrapped in a ``tqdm.auto`` bar when ``enabled`` (else unchanged)."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


class _BarSafeStream:
    """A console stream whose writes go through ``tqdm.write`` (bars cleared first)."""

    def __init__(self, stream, tqdm_class):
        self._stream, self._tqdm = stream, tqdm_class

    def write(self, text: str) -> None:
        self._tqdm.write(text, file=self._stream, end="")

    def flush(self) -> None:
        self._stream.flush()


@contextlib.contextmanager
def logs_beside_bars(enabled: bool) -> Iterator[None]:
    """Route console log handlers through ``tqdm.write`` while bars may be shown.

    The handlers of the root and ``drizzlekit`` loggers that write to
    stdout/stderr keep their level, filters and format; only their stream is
    swapped for the duration.
    """
    if not enabled:
        yield
        return
    from tqdm.auto import tqdm

    swapped = []
    for logger in (logging.root, logging.getLogger("drizzlekit")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and \
                    not isinstance(handler, logging.FileHandler) and \
                    handler.stream in (sys.stdout, sys.stderr):
                old = handler.stream
                handler.setStream(_BarSafeStream(old, tqdm))
                swapped.append((handler, old))
    try:
        yield
    finally:
        for handler, old in swapped:
            handler.setStream(old)
