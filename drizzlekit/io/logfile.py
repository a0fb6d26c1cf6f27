"""The run's log file (``runfile``), which must never end a run with a traceback.

A full disk (or a file system that disappears) while the log is written makes
:class:`logging.FileHandler` print a "--- Logging error ---" traceback for
every record and raise from ``close()`` after all the computation.
:class:`RunLogHandler` instead stops writing at the first failure and reports
it once, as one ERROR line on the other handlers (the terminal); the run goes
on, and the products, which are checked and written separately, say for
themselves whether they could be written.

:func:`run_log` is the one way a task (``astrodrizzle``, ``tweakreg``) logs
itself to its ``runfile``: the log is written beside the target and moved into
place only when the run succeeds, so a failed run never overwrites the log of
an earlier product.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from typing import Iterator

from ..exceptions import DrizzlekitError

__all__ = ["RunLogHandler", "run_log", "failed_log_name"]

log = logging.getLogger(__name__)


class RunLogHandler(logging.FileHandler):
    """A ``FileHandler`` (mode ``'w'``) that gives up quietly, once, on an OSError.

    Attributes
    ----------
    failed : OSError or None
        The error that stopped the log file, if any.
    """

    def __init__(self, path: str):
        super().__init__(path, mode="w")
        self.failed: OSError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.failed is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self._give_up(exc)

    def close(self) -> None:
        try:
            super().close()
        except OSError as exc:
            self.stream = None  # type: ignore[assignment]
            self._give_up(exc)

    def _give_up(self, exc: OSError) -> None:
        if self.failed is not None:
            return
        self.failed = exc
        stream, self.stream = self.stream, None  # type: ignore[assignment]
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
        log.error("cannot write the log file %s (%s); the log stops here, the run goes on",
                  self.baseFilename, exc.strerror or exc)


def _blank(path) -> bool:
    return path is None or (isinstance(path, str)
                            and path.strip().lower() in ("", "none", "indef"))


def failed_log_name(path: str) -> str:
    """Where the log of a failed run goes: ``<stem>_failed<ext>`` beside ``path``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}_failed{ext or '.log'}"


@contextmanager
def run_log(path, *, task: str | None = None,
            file_level: int = logging.INFO) -> Iterator[str | None]:
    """Log a run (records of the ``drizzlekit`` logger) to the file ``path``.

    Parameters
    ----------
    path : str, path-like or None
        The run file; None, ``""``, ``"none"`` or ``"INDEF"`` log nothing.
    task : str, optional
        The task's name: an exception leaving the run is logged as
        ``"<task> failed: ..."`` (in the file too) and raised on. A
        :class:`~drizzlekit.exceptions.DrizzlekitError` is marked so that the
        command line, which prints the error itself, does not print it twice.
    file_level : int
        Lowest level written to the file. The package logger is lowered to INFO
        for the run when it is set higher, so INFO records reach the file while
        the user's own handlers keep seeing only what they saw before.

    Yields
    ------
    str or None
        The log's final name, or None when nothing is logged.

    Notes
    -----
    A regular (or new) file is written to ``<path>.partial`` and moved to
    ``path`` when the run succeeds; a failed run's log goes to
    :func:`failed_log_name`, leaving ``path`` as it was. ``/dev/null``, a FIFO
    or a terminal is written as it is. A log file that cannot be opened, or
    fills the disk, is one warning or error line, never the end of the run.
    """
    if _blank(path):
        with _failure_logged(task):
            yield None
        return
    path = os.fspath(path)
    logger = logging.getLogger("drizzlekit")
    settle = not os.path.exists(path) or os.path.isfile(path)
    partial = path + ".partial" if settle else path
    try:
        handler = RunLogHandler(partial)
    except OSError as exc:
        log.warning("cannot open the log file %s (%s); not logging to a file", path, exc)
        with _failure_logged(task):
            yield None
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: "
                                           "%(message)s"))
    handler.setLevel(file_level)
    old_level, old_propagate = logger.level, logger.propagate
    effective = logger.getEffectiveLevel()
    forward = None
    if effective > logging.INFO:
        logger.setLevel(logging.INFO)
        if old_propagate:  # the user's handlers above keep their old threshold
            forward = _Forward(logger.parent, effective)
            logger.addHandler(forward)
            logger.propagate = False
    logger.addHandler(handler)
    ok = False
    try:
        with _failure_logged(task):
            yield path
        ok = True
    finally:
        logger.removeHandler(handler)
        if forward is not None:
            logger.removeHandler(forward)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        handler.close()
        if settle:
            _settle(partial, path, ok)


@contextmanager
def _failure_logged(task: str | None) -> Iterator[None]:
    """Log an exception leaving the block as the failure of ``task`` (then raise it)."""
    if task is None:
        yield
        return
    try:
        yield
    except DrizzlekitError as exc:
        log.error("%s failed: %s", task, exc, extra={"drizzlekit_reraised": True})
        raise
    except Exception:
        log.exception("%s failed", task)
        raise


def _settle(partial: str, path: str, ok: bool) -> None:
    """Move the finished log into place (success) or beside it (failure)."""
    final = path if ok else failed_log_name(path)
    try:
        os.replace(partial, final)
    except OSError as exc:
        log.warning("cannot move the log file to %s (%s); it is in %s", final, exc, partial)
        return
    if not ok:
        log.warning("the log of this failed run is %s (%s is unchanged)", final, path)


class _Forward(logging.Handler):
    """Pass records at or above ``level`` on to the handlers above ``parent``,
    as propagation would (used while the package logger is lowered to INFO)."""

    def __init__(self, parent: logging.Logger | None, level: int):
        super().__init__(level)
        self._parent = parent

    def emit(self, record: logging.LogRecord) -> None:
        node, found = self._parent, False
        while node is not None:
            for h in node.handlers:
                found = True
                if record.levelno >= h.level:
                    h.handle(record)
            node = node.parent if node.propagate else None
        if not found and logging.lastResort is not None and \
                record.levelno >= logging.lastResort.level:
            logging.lastResort.handle(record)
