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

Arrays given to :meth:`Scratch.keep` are written with plain file writes and
handed back as read-only memory maps, so they take no resident memory until
read; the pages a step has read are part of the process's resident memory
until :func:`release_pages` drops them (the data stay in the file and are
read again on the next access). The steps call it after each chip or band,
so an ``in_memory=False`` run's resident memory does not grow with its
intermediates.
"""

from __future__ import annotations

import logging
import mmap
import os
import shutil
import tempfile
from typing import Any

import numpy as np

__all__ = ["Scratch", "release_pages"]

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
        try:
            return np.lib.format.open_memmap(self.filename(tag), mode="w+", dtype=dtype,
                                             shape=tuple(shape))
        except OSError as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: OSError):
        from .exceptions import OutputFileError

        where = self.path or self.where or tempfile.gettempdir()
        return OutputFileError(f"{where}: cannot write the intermediate files of "
                               f"in_memory=False ({exc.strerror or exc}); free some space, "
                               "choose another scratch_dir or use in_memory=True")

    def keep(self, arr: np.ndarray, tag: str = "array") -> np.ndarray:
        """``arr`` itself in memory, or a read-only memory-mapped copy on disk.

        The copy is written with file writes (no pages of it become resident
        in this process) and mapped read-only: a step that tries to change an
        intermediate in place gets an error instead of a silent change.
        """
        if not self.on_disk or arr.size == 0:
            return arr
        try:
            name = self.filename(tag)
            with open(name, "wb") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arr), allow_pickle=False)
        except OSError as exc:  # a full disk mid-run: say where and what to do
            raise self._write_error(exc) from exc
        return np.load(name, mmap_mode="r")

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


def release_pages(*arrays) -> None:
    """Drop the resident pages of memory-mapped arrays (their data stay in the files).

    Arrays that are not memory maps (or views of one) are left alone, so the
    steps call this on any intermediate. The next access reads the pages
    again (from the operating system's file cache when it still holds them).
    """
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None:  # pragma: no cover - platforms without madvise
        return
    for arr in arrays:
        mm = getattr(arr, "_mmap", None)
        if mm is None or getattr(mm, "closed", False):
            continue
        try:
            mm.madvise(advice)
        except (AttributeError, OSError, ValueError):  # pragma: no cover
            log.debug("could not release the pages of a memory map", exc_info=True)
