"""Chips whose pixels stay in their files until needed (issue 12).

With ``astrodrizzle(..., client=client)``, and in one process with
``in_memory=False`` (drizzlepac's default: like drizzlepac, each step reads
the chips it works on from their files), the process keeps each
input chip's headers, WCS and scalars but not its pixels: after an exposure
is read, its chips become :class:`LazyChip` objects whose ``sci``, ``err``
and ``dq`` are read again from the file on access
(:func:`drizzlekit.io.fits_input.read_chip_arrays`, the same arrays
``read_exposure`` gives, ``resetbits`` applied as the pipeline applies it).
Dask workers read the pixels they need themselves, so the client never holds
every exposure's pixels: the arrays read last are kept in a byte-bounded
cache (:data:`CLIENT_PIXEL_BYTES`, ``DRIZZLEKIT_CLIENT_PIXEL_CACHE_MB``, in a
Dask client and in an ``in_memory=False`` run alike), so a small run reads
each file once and a big one holds a bounded part.

Arrays handed out by a lazy chip are read-only (a change would be lost on
the next read); assigning ``chip.sci = array`` keeps that array in memory.
A file that changes (or goes) after it was first read is an
:class:`~drizzlekit.exceptions.InputFileError` on the next read, never a
silently different chip: its modification time and size are checked.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import os
import threading
from typing import Iterator

import numpy as np

from .fits_arrays import read_chip_err
from .fits_input import Chip, Exposure, read_chip_arrays

__all__ = ["LazyChip", "lazy_pixels", "release_pixels", "reset_bits", "pixels_held",
           "file_version", "check_unchanged", "CLIENT_PIXEL_BYTES"]

def _cache_bytes(default_mb: float = 256.0) -> int:
    text = os.environ.get("DRIZZLEKIT_CLIENT_PIXEL_CACHE_MB", "")
    try:
        mb = float(text) if text.strip() else default_mb
    except ValueError:
        mb = -1.0
    if not mb >= 0:
        import logging

        logging.getLogger(__name__).warning(
            "DRIZZLEKIT_CLIENT_PIXEL_CACHE_MB=%r is not a number of MB >= 0; using %g",
            text, default_mb)
        mb = default_mb
    return int(mb * 2 ** 20)


#: Bytes of lazily read chip pixels the process keeps (most recently used first).
CLIENT_PIXEL_BYTES = _cache_bytes()

_LAZY: contextvars.ContextVar = contextvars.ContextVar("drizzlekit_lazy_pixels",
                                                        default=False)
_ARRAYS = ("sci", "err", "dq")


def reset_bits(dq: np.ndarray | None, resetbits) -> np.ndarray | None:
    """``dq`` with the ``resetbits`` flags cleared (a new array; None stays None)."""
    from .bits import interpret_bits

    bits = interpret_bits(resetbits, "resetbits")
    if dq is None or not bits:
        return dq
    return (dq.astype(np.int64) & ~int(bits)).astype(dq.dtype)


def file_version(path: str) -> tuple[int, int] | None:
    """``(modification time in ns, size in bytes)`` of a file, or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def check_unchanged(path: str, version: tuple | None, who: str = "drizzlekit") -> None:
    """Raise InputFileError when ``path`` is not the file read before (``version``)."""
    if version is None:
        return
    now = file_version(path)
    if now == tuple(version):
        return
    from ..exceptions import InputFileError

    what = "was removed" if now is None else "changed"
    raise InputFileError(f"{path}: {what} since {who} first read it; inputs must stay "
                         "unchanged until the run (and any use of its result's chips) ends")


class _PixelCache:
    """Byte-bounded LRU of ``(path, extver, resetbits) -> (sci, dq)`` and
    ``(path, extver, resetbits, 'err') -> (err,)``."""

    def __init__(self):
        self.items: collections.OrderedDict = collections.OrderedDict()
        self.nbytes = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key, arrays) -> None:
        n = sum(a.nbytes for a in arrays if a is not None)
        with self.lock:
            if key in self.items:
                return
            self.items[key] = arrays
            self.nbytes += n
            while self.nbytes > CLIENT_PIXEL_BYTES and len(self.items) > 1:
                _, old = self.items.popitem(last=False)
                self.nbytes -= sum(a.nbytes for a in old if a is not None)


_CACHE = _PixelCache()


def pixels_held() -> int:
    """Bytes of lazily read pixels this process holds in its cache."""
    return _CACHE.nbytes


def _frozen(arrays):
    for a in arrays:
        if a is not None:
            a.flags.writeable = False
    return arrays


class LazyChip(Chip):
    """A :class:`~drizzlekit.io.fits_input.Chip` whose pixels are read from its file on access.

    Made by :func:`release_pixels`; ``shape`` needs no read.
    """

    lazy = True

    def _pixels(self):
        """``(sci, dq)``; ERR, which most steps do not use, is read on its own."""
        src = self.__dict__["_source"]
        hit = _CACHE.get(src)
        if hit is None:
            path, extver, resetbits = src
            check_unchanged(path, self.__dict__.get("_version"))
            sci, _, dq = read_chip_arrays(path, extver, err=False)
            hit = _frozen((sci, reset_bits(dq, resetbits)))
            _CACHE.put(src, hit)
        return hit

    def _err(self):
        key = self.__dict__["_source"] + ("err",)
        hit = _CACHE.get(key)
        if hit is None:
            path, extver, _ = self.__dict__["_source"]
            check_unchanged(path, self.__dict__.get("_version"))
            hit = _frozen((read_chip_err(path, extver, self.shape),))
            _CACHE.put(key, hit)
        return hit[0]

    def _get(self, k: int):
        own = self.__dict__.setdefault("_own", {})
        name = _ARRAYS[k]
        if name in own:
            return own[name]
        if name == "err":
            return self._err()
        sci, dq = self._pixels()
        return sci if name == "sci" else dq

    def _set(self, k: int, value) -> None:
        self.__dict__.setdefault("_own", {})[_ARRAYS[k]] = value

    sci = property(lambda self: self._get(0), lambda self, v: self._set(0, v))
    err = property(lambda self: self._get(1), lambda self, v: self._set(1, v))
    dq = property(lambda self: self._get(2), lambda self, v: self._set(2, v))

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)`` in pixels (no read)."""
        return self.__dict__["_shape"]

    def __deepcopy__(self, memo):
        """An independent copy is a plain :class:`Chip` holding its pixels."""
        import copy
        from dataclasses import fields

        return Chip(**{f.name: copy.deepcopy(getattr(self, f.name), memo)
                       for f in fields(Chip)})

    @property
    def version(self) -> tuple | None:
        """``(mtime in ns, size)`` of the file when it was first read."""
        return self.__dict__.get("_version")

    @property
    def source(self) -> tuple:
        """``(path, extver, resetbits)``: where the pixels are read from."""
        return self.__dict__["_source"]


@contextlib.contextmanager
def lazy_pixels(on: bool = True) -> Iterator[None]:
    """Within the block, :func:`release_pixels` releases the pixels of chips read from files."""
    token = _LAZY.set(bool(on))
    try:
        yield
    finally:
        _LAZY.reset(token)


def release_pixels(exp: Exposure, path, resetbits) -> Exposure:
    """Turn the chips of ``exp`` (read from the file ``path``) into :class:`LazyChip`\\ s.

    Does nothing outside :func:`lazy_pixels`, for in-memory inputs or pieces
    of a split file. ``resetbits`` is cleared in the DQ arrays read later (the
    pipeline must then not clear it itself: lazy chips have ``lazy = True``).
    The pixels just read go into the cache.
    """
    if not _LAZY.get() or not isinstance(path, (str, os.PathLike)) or \
            getattr(exp, "root", None) or not os.path.isfile(path):
        return exp
    path = os.path.abspath(os.fspath(path))
    version = file_version(path)  # after the read: a later change is an error, not new data
    for chip in exp.chips:
        arrays = (chip.sci, chip.err, chip.dq)
        src = (path, int(chip.extver), resetbits)
        shape = tuple(chip.sci.shape)
        for name in _ARRAYS:
            del chip.__dict__[name]
        chip.__class__ = LazyChip
        chip.__dict__["_source"] = src
        chip.__dict__["_shape"] = shape
        chip.__dict__["_version"] = version
        sci, err, dq = arrays
        _CACHE.put(src, _frozen((sci, reset_bits(dq, resetbits))))  # ERR: read when asked
    return exp
