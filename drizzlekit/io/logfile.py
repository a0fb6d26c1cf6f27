"""The run's log file (``runfile``), which must never end a run with a traceback.

A full disk (or a file system that disappears) while the log is written makes
:class:`logging.FileHandler` print a "--- Logging error ---" traceback for
every record and raise from ``close()`` after all the computation.
:class:`RunLogHandler` instead stops writing at the first failure and reports
it once, as one ERROR line on the other handlers (the terminal); the run goes
on, and the products, which are checked and written separately, say for
themselves whether they could be written.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["RunLogHandler"]

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
