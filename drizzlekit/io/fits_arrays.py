"""Open HST files read-only and read one chip's SCI, ERR and DQ arrays into memory.

Shared by :func:`drizzlekit.io.fits_input.read_exposure` and
:func:`read_chip_arrays` (what Dask workers and lazily read chips use), so both
give the same arrays: MEF and single-image FITS, GEIS and waivered WFPC2 files
(converted by :mod:`drizzlekit.io.wfpc2`), HST constant arrays expanded; a
missing, truncated or malformed file is an
:class:`~drizzlekit.exceptions.InputFileError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from typing import Union

import numpy as np
from astropy.io import fits

from ..exceptions import InputFileError

__all__ = ["read_chip_arrays", "read_chip_err"]

PathLike = Union[str, os.PathLike]


def _open(path, filename: str) -> fits.HDUList:
    if not os.path.exists(path):
        raise InputFileError(f"{filename}: file not found")
    if os.path.isdir(path):
        raise InputFileError(f"{filename}: is a directory, not a FITS file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, mode="readonly", memmap=False, lazy_load_hdus=False)
        except Exception as exc:  # astropy raises OSError/ValueError/TypeError for junk
            raise InputFileError(f"{filename}: cannot be read as FITS ({exc})") from exc
    for w in caught:
        text = str(w.message)
        if "truncated" in text or "corrupted" in text:
            hdul.close()
            first = text.strip().splitlines()[0]
            raise InputFileError(f"{filename}: truncated or corrupt FITS file ({first})")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if len(hdul) == 0:
        hdul.close()
        raise InputFileError(f"{filename}: empty FITS file")
    return hdul


def _open_hst(filename: str) -> fits.HDUList:
    """:func:`_open`, or a GEIS header file (``.c0h``) read into memory."""
    from .wfpc2 import is_geis_name, read_geis

    if not is_geis_name(filename):
        return _open(filename, filename)
    if not os.path.isfile(filename):
        raise InputFileError(f"{filename}: file not found")
    return read_geis(filename)


def _hdu_array(hdu, filename: str, what: str) -> np.ndarray | None:
    """Data of an image HDU as an in-memory array; expands HST constant arrays."""
    hdr = hdu.header
    try:
        data = hdu.data
    except Exception as exc:
        raise InputFileError(f"{filename}: {what} data cannot be read ({exc})") from exc
    if data is None:
        if "PIXVALUE" in hdr and "NPIX1" in hdr and "NPIX2" in hdr:
            # HST "constant array": NAXIS=0 with PIXVALUE/NPIX1/NPIX2
            return np.full((int(hdr["NPIX2"]), int(hdr["NPIX1"])), hdr["PIXVALUE"])
        return None
    # one copy, in native byte order (FITS is big-endian): the float32 SCI/ERR
    # conversion that follows is then free, which halves the time of a chip read
    return np.array(data, dtype=data.dtype.newbyteorder("="), copy=True)


def _extver(hdu) -> int:
    return int(hdu.header.get("EXTVER", 1) or 1)


def _sci_hdus(hdul, filename: str) -> tuple[dict, bool]:
    """``{extver: SCI hdu}`` of a file, and whether it is a single-image file."""
    sci_hdus = {}
    for hdu in hdul[1:]:
        if isinstance(hdu, (fits.ImageHDU, fits.CompImageHDU)) and \
                str(hdu.header.get("EXTNAME", "")).strip().upper() == "SCI":
            ev = _extver(hdu)
            if ev in sci_hdus:
                raise InputFileError(f"{filename}: more than one SCI extension with EXTVER={ev}")
            sci_hdus[ev] = hdu
    if sci_hdus:
        return sci_hdus, False
    if hdul[0].header.get("NAXIS", 0) == 2 and hdul[0].data is not None:
        return {1: hdul[0]}, True
    raise InputFileError(f"{filename}: no SCI extension (and no 2-D image in the primary HDU)")


def _companion_hdu(hdul, extname: str, ev: int, single: bool):
    """The ``extname,ev`` HDU beside a SCI extension (None in a single-image file)."""
    if single:
        return None
    for h in hdul[1:]:
        name = str(h.header.get("EXTNAME", "")).strip().upper()
        if name == extname and _extver(h) == ev:
            return h
    return None


def _chip_arrays(hdul, hdu, ev: int, single: bool, filename: str, what: str,
                 with_err: bool = True):
    """``(sci float32, err float32 or None, dq int or None)`` of one chip, checked
    (``with_err=False``: ERR not read, None)."""
    def find(extname):
        return _companion_hdu(hdul, extname, ev, single)

    sci = _hdu_array(hdu, filename, what)
    if sci is None or sci.ndim != 2 or sci.size == 0:
        nd = ("no data" if sci is None else f"{sci.ndim}-D data" if sci.ndim != 2
              else f"an empty array of shape {sci.shape}")
        raise InputFileError(f"{filename}: {what} must hold a 2-D image, found {nd}")
    sci = sci.astype(np.float32, copy=False)
    err = _companion_array(find("ERR"), "ERR", filename, ev, sci.shape) if with_err else None
    if err is not None:
        err = err.astype(np.float32, copy=False)
    dq = _companion_array(find("DQ"), "DQ", filename, ev, sci.shape)
    if dq is not None and dq.dtype.kind not in "iu":
        if dq.dtype.kind == "f" and np.all(np.isfinite(dq)) and np.all(dq == np.round(dq)):
            dq = dq.astype(np.int32)
        else:
            raise InputFileError(f"{filename}: DQ,{ev} is not an integer array")
    return sci, err, dq


def _companion_array(hdu, extname: str, filename: str, ev, shape) -> np.ndarray | None:
    """The ERR or DQ array beside SCI,``ev`` (None without one); its shape must match."""
    if hdu is None:
        return None
    arr = _hdu_array(hdu, filename, f"{extname},{ev}")
    if arr is not None and arr.shape != shape:
        raise InputFileError(f"{filename}: {extname},{ev} shape {arr.shape} differs from "
                             f"SCI,{ev} shape {shape}")
    return arr


def read_chip_arrays(path: PathLike, extver: int, *, err: bool = True):
    """The pixels of one chip, exactly as :func:`read_exposure` reads them.

    Parameters
    ----------
    path : str or path-like
        The file (any format :func:`read_exposure` reads).
    extver : int
        ``EXTVER`` of the SCI extension.
    err : bool
        Read the ERR array too (False: None in its place; see
        :func:`read_chip_err`).

    Returns
    -------
    (sci, err, dq)
        float32 SCI, float32 ERR or None, integer DQ or None; no headers or
        WCS are built (what Dask workers and lazily read chips use,
        :mod:`drizzlekit.io.lazy`).
    """
    filename = os.fspath(path)
    with _chip_hdus(filename, extver) as (hdul, hdu, single, what):
        return _chip_arrays(hdul, hdu, int(extver), single, filename, what, with_err=err)


def read_chip_err(path: PathLike, extver: int, shape: tuple[int, int]) -> np.ndarray | None:
    """Only the ERR array of one chip (float32, None without one), checked against the
    SCI ``shape``, as :func:`read_chip_arrays` reads it."""
    filename = os.fspath(path)
    with _chip_hdus(filename, extver) as (hdul, _, single, _):
        err = _companion_array(_companion_hdu(hdul, "ERR", int(extver), single), "ERR",
                               filename, int(extver), tuple(shape))
    return None if err is None else err.astype(np.float32, copy=False)


@contextlib.contextmanager
def _chip_hdus(filename: str, extver: int):
    """``(hdul, SCI hdu, single, what)`` of chip ``extver`` of an open file (closed after)."""
    raw = _open_hst(filename)
    try:
        from .wfpc2 import as_mef

        hdul = as_mef(raw, filename)
        sci_hdus, single = _sci_hdus(hdul, filename)
        if int(extver) not in sci_hdus:
            raise InputFileError(f"{filename}: no SCI,{extver} extension")
        yield hdul, sci_hdus[int(extver)], single, \
            "the primary HDU" if single else f"SCI,{extver}"
    finally:
        raw.close()
