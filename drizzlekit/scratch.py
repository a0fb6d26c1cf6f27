"""On-disk intermediates for ``in_memory=False`` (drizzlepac's meaning).

:class:`Scratch` hands out arrays: plain numpy arrays when in memory, else
memory-mapped ``.npy`` files in a private temporary directory. The
directory is removed when the run ends, after success, failure or Ctrl-C
(``KeyboardInterrupt``): use it as a context manager.

On POSIX systems a memory map stays readable after its file is deleted (the
disk space is freed when the last array referring to it goes away), so the
intermediates in the returned :class:`~drizzlekit.pipeline.AstrodrizzleResult`
remain usable after the directory is gone. Pages of a memory map are
file-backed: the operating system writes them out and drops them under
memory pressure, so intermediates larger than RAM work.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

import numpy as np

__all__ = ["Scratch"]

log = logging.getLogger(__name__)


class Scratch:
    """Allocator of intermediate arrays, in memory or memory-mapped on disk.

    Parameters
    ----------
    on_disk : bool
        Memory-map every array in a temporary directory.
    where : str, optional
        Parent directory of the temporary directory (default: the system
        temporary directory). It must be large enough for the intermediates
        (see the README's capacity plan) and, for a distributed run, visible
        to every worker.
    """

    def __init__(self, on_disk: bool, where: str | None = None):
        self.on_disk = bool(on_disk)
        self.where = where
        self.path: str | None = None
        self._count = 0
        self._cleanups: list = []

    def __enter__(self) -> "Scratch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _dir(self) -> str:
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="drizzlekit-", dir=self.where)
            log.debug("intermediates in %s", self.path)
        return self.path

    def filename(self, tag: str) -> str:
        """A new file name in the scratch directory (created on first use)."""
        self._count += 1
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tag)[:60]
        return os.path.join(self._dir(), f"{self._count:05d}_{safe}.npy")

    def empty(self, shape, dtype=np.float32, tag: str = "array") -> np.ndarray:
        """An uninitialised array (a writable memory map when on disk)."""
        if not self.on_disk or int(np.prod(shape)) == 0:
            return np.empty(shape, dtype=dtype)
        return np.lib.format.open_memmap(self.filename(tag), mode="w+", dtype=dtype,
                                         shape=tuple(shape))

    def keep(self, arr: np.ndarray, tag: str = "array") -> np.ndarray:
        """``arr`` itself in memory, or a memory-mapped copy on disk."""
        if not self.on_disk or arr.size == 0:
            return arr
        out = self.empty(arr.shape, arr.dtype, tag)
        out[...] = arr
        return out

    def on_close(self, func) -> None:
        """Call ``func()`` when the run ends (:meth:`close`), e.g. to release the
        results a distributed run keeps on its workers between steps."""
        self._cleanups.append(func)

    def close(self) -> None:
        """Remove the directory and everything in it (idempotent)."""
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception:  # pragma: no cover - a closed client, say
                log.debug("clean-up failed", exc_info=True)
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            log.debug("removed %s", self.path)
            self.path = None
