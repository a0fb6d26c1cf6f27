"""What a Dask worker process keeps between tasks, and how a task rebuilds a chip.

Every worker process has one :class:`WorkerCache` (byte-bounded LRU,
``DRIZZLEKIT_WORKER_CACHE_MB``, default 1024; 0 disables it) holding

* chips' pixels read from their files (:func:`read_chip`: only the arrays,
  no header parsing or WCS building, ``resetbits`` applied) and IVM arrays
  (:func:`read_ivm_file`),
* unpacked WCSs (:func:`cached_wcs` hands every task its own copy, so no
  task changes a WCS another task uses),
* pixel maps (:meth:`ChipJob.pixmap`, stored compactly as the client
  stores them, so both drizzle the same positions).

The dispatcher sends all tasks of one exposure to the same worker when it
can (:func:`placer`), so each file is read and mapped once per run.

:func:`logged` runs a task and returns the warnings it logged or raised, which
the client logs and raises again (:func:`replay`): a worker's log is not the
run's log.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import pickle
import threading
import warnings
from dataclasses import dataclass, replace
from typing import Any, Iterator

import numpy as np

from .wcs import unpack_wcs

__all__ = ["WorkerCache", "CACHE", "ChipJob", "read_chip", "read_ivm_file", "cached_wcs",
           "digest", "logged", "replay", "placer", "tuned_malloc"]

log = logging.getLogger("drizzlekit.distributed")


class WorkerCache:
    """A byte-bounded LRU store, one per worker process."""

    def __init__(self):
        import collections

        text = os.environ.get("DRIZZLEKIT_WORKER_CACHE_MB", "")
        try:
            mb = float(text) if text.strip() else 1024.0
        except ValueError:
            mb = -1.0
        if not mb >= 0:
            log.warning("DRIZZLEKIT_WORKER_CACHE_MB=%r is not a number of MB >= 0; using 1024",
                        text)
            mb = 1024.0
        self.limit = int(mb * 2 ** 20)
        self.items: "collections.OrderedDict" = collections.OrderedDict()
        self.nbytes = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.items.get(key)
            if hit is None:
                return None
            self.items.move_to_end(key)
            return hit[0]

    def put(self, key, value, nbytes: int) -> None:
        if nbytes > self.limit:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (value, nbytes)
            self.nbytes += nbytes
            while self.nbytes > self.limit:
                _, (_, n) = self.items.popitem(last=False)
                self.nbytes -= n


CACHE = WorkerCache()


def digest(obj) -> str:
    """A short, stable key of a picklable object."""
    import hashlib

    return hashlib.sha1(pickle.dumps(obj, protocol=4)).hexdigest()


def cached_wcs(packed, key: str | None = None):
    """A private copy of the WCS of :func:`~drizzlekit.distributed.wcs.pack_wcs` output."""
    if packed is None:
        return None
    key = ("wcs", key or digest(packed))
    w = CACHE.get(key)
    if w is None:
        w = unpack_wcs(packed)
        CACHE.put(key, w, 64 * 1024)
    return copy.deepcopy(w)


def read_chip(path: str, extver: int, resetbits, version=None):
    """``(sci, err, dq)`` of one chip as the client's ``read_exposure`` gives them
    (``resetbits`` cleared); cached per file version. Read-only arrays.
    ``version``: the file's ``(mtime in ns, size)`` when the client read it; a
    file changed since is an InputFileError, not different pixels."""
    from ..io.fits_input import read_chip_arrays
    from ..io.lazy import check_unchanged, reset_bits

    key = ("chip",) + _file_version(path, "input") + (int(extver), repr(resetbits))
    check_unchanged(path, version, "the client")
    hit = CACHE.get(key)
    if hit is not None:
        return hit
    sci, err, dq = read_chip_arrays(path, int(extver))
    out = (sci, err, reset_bits(dq, resetbits))
    for a in out:
        if a is not None:
            a.flags.writeable = False
    CACHE.put(key, out, sum(a.nbytes for a in out if a is not None))
    return out


def read_ivm_file(path: str, extver: int, shape: tuple, name: str) -> np.ndarray:
    """The IVM array of chip ``extver`` from an @file's IVM column, as the client's
    :func:`drizzlekit.pipeline.read_ivm` reads it (``name``: the input, for messages);
    cached per file version. Read-only."""
    from ..pipeline.chips import read_ivm_array

    key = ("ivm",) + _file_version(path, "IVM file") + (int(extver), tuple(shape))
    hit = CACHE.get(key)
    if hit is None:
        hit = read_ivm_array(path, int(extver), tuple(shape), name)
        hit.flags.writeable = False
        CACHE.put(key, hit, hit.nbytes)
    return hit


def _file_version(path: str, what: str) -> tuple:
    """``(absolute path, mtime in ns, size)``: a cache key part that changes with the file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        from ..exceptions import InputFileError

        raise InputFileError(f"{path}: a worker cannot read this {what} ({exc.strerror}); "
                             "the workers need the input files, unchanged, until the run "
                             "ends") from None
    return (os.path.abspath(path), st.st_mtime_ns, st.st_size)


@dataclass
class ChipJob:
    """What a worker needs to rebuild one chip's :class:`DrizzleInput`.

    ``path`` is read on the worker (:func:`read_chip`); without a path
    ``arrays`` holds ``(sci, err, dq)``. ``template`` is the DrizzleInput
    without arrays; ``wcs`` the packed chip WCS and ``wcs_key`` its digest.
    ``ivm_file`` (``(path, input name)``) is an IVM file the worker reads
    (:func:`read_ivm_file`); ``ivm`` an IVM array shipped instead.
    """

    k: int
    path: str | None
    extver: int
    resetbits: Any
    arrays: tuple | None
    template: Any
    wcs: tuple
    wcs_key: str
    shape: tuple
    bits: Any = None
    bits_name: str = ""
    static: Any = None
    extra_mask: Any = None   # e.g. not-CR, True = good
    ivm: Any = None
    ivm_file: Any = None
    version: Any = None      # the file's (mtime in ns, size) when the client read it

    def pixels(self) -> tuple:
        """``(sci, err, dq)`` (read-only when read from the file)."""
        if self.arrays is not None:
            return self.arrays
        return read_chip(self.path, self.extver, self.resetbits, self.version)

    def load(self):
        """The chip's :class:`DrizzleInput` with its pixels and combined mask."""
        from ..io.bits import dq_to_mask

        sci, err, dq = self.pixels()
        mask = None
        for m in (None if dq is None or self.bits is None else
                  dq_to_mask(dq, self.bits, self.bits_name), self.static, self.extra_mask):
            if m is None:
                continue
            mask = m.copy() if mask is None else (mask & m)
        ivm = self.ivm if self.ivm_file is None else \
            read_ivm_file(self.ivm_file[0], self.extver, self.shape, self.ivm_file[1])
        return replace(self.template, data=sci, err=err, mask=mask, ivm=ivm,
                       wcs=cached_wcs(self.wcs, self.wcs_key))

    def pixmap(self, frame_packed, frame_key: str, stepsize) -> np.ndarray:
        """The chip -> frame map, exactly as :func:`drizzlekit.pipeline.chip_pixmap` makes it
        (kept in the worker's cache between the tasks of a run)."""
        from ..pixmap import calc_pixmap
        from ..pixmap_store import PixmapStore

        key = ("pixmap", self.wcs_key, frame_key, tuple(self.shape), stepsize)
        store = CACHE.get(key)
        if store is not None:
            return store.decode()
        frame = cached_wcs(frame_packed, frame_key)
        pm = calc_pixmap(cached_wcs(self.wcs, self.wcs_key), frame, shape=tuple(self.shape),
                         stepsize=stepsize)
        if not np.isfinite(pm).all():
            return pm
        store = PixmapStore(pm)
        CACHE.put(key, store, store.nbytes)
        return store.decode()


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.records: list = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append((record.levelno, record.getMessage()))


#: glibc ``mallopt`` parameters and the values a drizzlekit task uses.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TASK_MMAP_THRESHOLD, _TASK_TRIM_THRESHOLD = 32 * 2 ** 20, 64 * 2 ** 20
_GLIBC_MMAP_THRESHOLD = 128 * 1024  # glibc's default (the adaptive threshold is off)
_malloc_lock = threading.Lock()
_malloc_users = 0


def _libc():
    """glibc through ctypes, or None (another C library, or ``DRIZZLEKIT_WORKER_MALLOC=keep``)."""
    if os.environ.get("DRIZZLEKIT_WORKER_MALLOC", "").strip().lower() == "keep":
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc only
        return libc
    except Exception:  # pragma: no cover - not glibc
        log.debug("mallopt unavailable", exc_info=True)
        return None


def _env_bytes(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@contextlib.contextmanager
def tuned_malloc() -> Iterator[None]:
    """While a drizzlekit task runs on a Dask worker, undo the cost of Dask's
    ``MALLOC_TRIM_THRESHOLD_``; the worker's own settings come back afterwards.

    Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (so that freed
    memory goes back to the system), which also turns off glibc's adaptive
    ``mmap`` threshold: every array above 128 KiB is then a fresh ``mmap`` whose
    pages are faulted in and zeroed again. The median bands and tiles allocate
    many such arrays; measured, a median took 1.8x the CPU time of the same call
    without the variable. With the variable set, the ``mmap`` and trim thresholds
    are 32 and 64 MiB while drizzlekit tasks run (tasks on several threads of a
    worker share one setting, counted); when the last one ends, the worker's
    values come back (``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_`` or
    glibc's 128 KiB) and ``malloc_trim`` gives the memory kept meanwhile back to
    the system, so other work on the worker sees what Dask set up. Nothing
    happens without the variable, off glibc, or with ``DRIZZLEKIT_WORKER_MALLOC=keep``.
    """
    global _malloc_users
    libc = _libc() if "MALLOC_TRIM_THRESHOLD_" in os.environ else None
    if libc is None:
        yield
        return
    with _malloc_lock:
        _malloc_users += 1
        if _malloc_users == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _TASK_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, _TASK_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _malloc_lock:
            _malloc_users -= 1
            if _malloc_users == 0:
                libc.mallopt(_M_MMAP_THRESHOLD,
                             _env_bytes("MALLOC_MMAP_THRESHOLD_", _GLIBC_MMAP_THRESHOLD))
                libc.mallopt(_M_TRIM_THRESHOLD, _env_bytes("MALLOC_TRIM_THRESHOLD_", 65536))
                libc.malloc_trim(0)


def logged(func, *args, **kw):
    """``(func(*args, **kw), records)``: the result and the warnings it logged or raised
    (Python warnings), for :func:`replay` in the client."""
    logger = logging.getLogger("drizzlekit")
    handler = _Capture()
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught, tuned_malloc():
            warnings.simplefilter("always")
            result = func(*args, **kw)
    finally:
        logger.removeHandler(handler)
    return result, handler.records + [(w.category, str(w.message)) for w in caught]


def replay(records) -> None:
    """Log (and warn) a task's warnings again in the client process."""
    for level, msg in records:
        if isinstance(level, int):
            log.log(level, "%s", msg)
        else:
            warnings.warn(msg, level, stacklevel=2)


def placer(client):
    """``place(k)``: ``submit`` keywords that put the tasks of exposure ``k`` on one
    worker (loosely: the scheduler may still move them); one scheduler query."""
    try:
        workers = sorted(client.scheduler_info()["workers"])
    except Exception:  # pragma: no cover - a client without scheduler info
        workers = []

    def place(k: int) -> dict:
        if not workers:
            return {}
        return {"workers": [workers[k % len(workers)]], "allow_other_workers": True}

    return place
