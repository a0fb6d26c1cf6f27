"""Headerlets in the STScI format that ``stwcs`` reads and applies.

A headerlet (STScI ISR ACS 2012-02; ``stwcs.wcsutil.headerlet``) is a small
FITS file carrying the complete WCS of one exposure, so that a solution can
be shared and applied without the pixels. Its layout, as
``stwcs.wcsutil.headerlet.apply_headerlet_as_primary`` expects it:

* primary header: ``HDRNAME``, ``DESTIM`` (the ``ROOTNAME`` of the image the
  headerlet belongs to), ``WCSNAME``, ``AUTHOR``, ``DESCRIP``, ``CATALOG``,
  ``RMS_RA``, ``RMS_DEC``, ``NMATCH``, the names of the distortion model
  (``SIPNAME``, ``IDCTAB``, ``NPOLFILE``, ``D2IMFILE``, ``DISTNAME``: copied
  from the image, since alignment does not change the distortion; stwcs
  refuses, unless forced, a headerlet whose ``DISTNAME`` differs from the
  image's), ``UPWCSVER`` and ``PYWCSVER``;
* one header-only ``SIPWCS`` extension per chip, ``EXTVER`` 1, 2 ..., with the
  full WCS (CRPIX, CRVAL, CD, SIP), the lookup-table distortion keywords of the
  chip's SCI header (``CPDIS``/``DPj`` for the non-polynomial ``WCSDVARR``
  tables, ``D2IMDIS``/``D2IMj`` for the detector-to-image ``D2IMARR``
  tables, their error and file keywords), the ``IDC*``/``OCX``/``OCY``
  distortion-model keywords, and ``TG_ENAME``/``TG_EVER`` naming the SCI
  extension it applies to;
* the ``WCSDVARR`` and ``D2IMARR`` arrays of every chip, renumbered in the
  headerlet (``DPj.EXTVER`` / ``D2IMj.EXTVER`` point to them).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..exceptions import InputFileError

__all__ = ["write_headerlet", "headerlet_hdulist"]

log = logging.getLogger(__name__)

#: SCI-header keywords (prefixes) of the lookup-table distortions (Calabretta et al.
#: "distortion paper" records and the HST D2IM correction).
_LOOKUP_PREFIXES = ("CPDIS", "DP1", "DP2", "CPERR", "NPOLEXT", "D2IMDIS", "D2IM1", "D2IM2",
                    "D2IMERR", "D2IMEXT", "AXISCORR")
#: SCI-header keywords of HST's distortion model that stwcs reads back (``_idc2hdr``).
_IDC_KEYS = ("IDCTAB", "IDCSCALE", "IDCV2REF", "IDCV3REF", "IDCTHETA", "IDCXREF", "IDCYREF",
             "OCX10", "OCX11", "OCY10", "OCY11", "VAFACTOR", "TDDALPHA", "TDDBETA")
#: Linear WCS keywords replaced by the new WCS.
_LINEAR = ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2", "CD1_1", "CD1_2", "CD2_1",
           "CD2_2")


def _extract_root(value, suffix: str) -> str:
    """``jref$qbu1641sj_idc.fits`` -> ``qbu1641sj`` ('NONE' for blank / N/A)."""
    v = str(value or "").strip()
    if v.upper() in ("", "N/A", "NONE", "NOMODEL"):
        return "NONE"
    v = os.path.basename(v.split("$")[-1])
    v = v.split(".fits")[0]
    return v[:-len(suffix)] if v.endswith(suffix) else v


def _distortion_names(primary: fits.Header, root: str, has_npol: bool,
                      has_d2im: bool, has_sip: bool) -> dict:
    """SIPNAME, IDCTAB, NPOLFILE, D2IMFILE, DISTNAME of an image.

    Copied when present; otherwise built by stwcs's rules (``utils.build_*name``),
    so that stwcs finds the headerlet's DISTNAME equal to the image's.
    """
    idctab = str(primary.get("IDCTAB", "N/A"))
    idcname = _extract_root(idctab, "_idc")
    sipname = str(primary.get("SIPNAME", "")).strip() or \
        (f"{root}_{idcname}" if idcname != "NONE" else ("UNKNOWN" if has_sip else "NOMODEL"))
    npolfile = str(primary.get("NPOLFILE", "N/A"))
    d2imfile = str(primary.get("D2IMFILE", "N/A"))
    if "DISTNAME" in primary:
        distname = str(primary["DISTNAME"])
    else:
        npol = _extract_root(npolfile, "_npl")
        d2im = _extract_root(d2imfile, "_d2i")
        npol = ("UNKNOWN" if has_npol else "NOMODEL") if npol == "NONE" else npol
        d2im = ("UNKNOWN" if has_d2im else "NOMODEL") if d2im == "NONE" else d2im
        distname = f"{sipname}-{npol}-{d2im}"
    return {"SIPNAME": sipname, "IDCTAB": idctab, "NPOLFILE": npolfile,
            "D2IMFILE": d2imfile, "DISTNAME": distname}


def _linear_cards(w: WCS) -> fits.Header:
    """The new WCS as header cards, with a CD matrix (HST's convention) and SIP."""
    h = w.to_header(relax=True)
    cd = np.array(w.wcs.cd, float) if w.wcs.has_cd() else \
        np.array(w.wcs.get_pc(), float) * np.asarray(w.wcs.cdelt, float)[:, None]
    for k in _LINEAR:
        h.remove(k, ignore_missing=True, remove_all=True)
    for i in range(2):
        for j in range(2):
            h[f"CD{i + 1}_{j + 1}"] = float(cd[i, j])
    h["ORIENTAT"] = (float(np.rad2deg(np.arctan2(cd[0, 1], cd[1, 1]))),
                     "position angle of image y axis (deg. e of n)")
    return h


def _copy_lookup(src_hdr: fits.Header, dst: fits.Header, src: fits.HDUList,
                 out: list, counters: dict, where: str) -> None:
    """Copy the chip's lookup-table keywords and arrays, renumbering the arrays."""
    for card in src_hdr.cards:
        if card.keyword.startswith(_LOOKUP_PREFIXES) or card.keyword in _IDC_KEYS:
            dst.append(card, end=True)
    for rec, extname in (("DP1", "WCSDVARR"), ("DP2", "WCSDVARR"), ("D2IM1", "D2IMARR"),
                         ("D2IM2", "D2IMARR")):
        key = f"{rec}.EXTVER"
        if key not in src_hdr:
            continue
        ver = int(src_hdr[key])
        try:
            arr = src[(extname, ver)]
        except KeyError:
            raise InputFileError(f"{where}: {rec} points to {extname},{ver}, which the file "
                                 "does not have") from None
        counters[extname] += 1
        new = fits.ImageHDU(np.array(arr.data), arr.header.copy())
        new.header["EXTNAME"] = extname
        new.header["EXTVER"] = counters[extname]
        out.append(new)
        dst[key] = float(counters[extname])


def headerlet_hdulist(filename: str | os.PathLike, chip_wcs: Sequence[WCS], *,
                      hdrname: str, wcsname: str, author: str = "", descrip: str = "",
                      catalog: str = "", history: str = "", rms_ra: float | None = None,
                      rms_dec: float | None = None, nmatch: int | None = None
                      ) -> fits.HDUList:
    """Build (in memory) the headerlet of ``filename`` with the new chip WCSs.

    Parameters
    ----------
    filename : str or path-like
        The image the headerlet belongs to (read for ``ROOTNAME``, the
        distortion model names, the chips' lookup-table keywords and arrays).
    chip_wcs : sequence of astropy.wcs.WCS
        The new WCS of each SCI extension, in ``EXTVER`` order.
    hdrname, wcsname, author, descrip, catalog : str
        Primary-header values (``HDRNAME``, ``WCSNAME``, ...).
    history : str
        Text (or the name of a text file) written as HISTORY cards.
    rms_ra, rms_dec : float, optional
        Fit rms along RA and Dec, arcsec.
    nmatch : int, optional
        Number of matched sources of the fit.

    Returns
    -------
    astropy.io.fits.HDUList
    """
    import astropy

    from .wcs_update import _open_full, _sci_extensions

    filename = os.fspath(filename)
    src = _open_full(filename)
    try:
        exts = _sci_extensions(src)
        if len(exts) != len(chip_wcs):
            raise InputFileError(f"{filename}: {len(exts)} SCI extension(s) but "
                                 f"{len(chip_wcs)} WCS(s) for the headerlet")
        prim = src[0].header
        # stwcs matches DESTIM with the image's ROOTNAME, or without one with its name
        # up to '.fits'
        root = str(prim.get("ROOTNAME", "")).strip() or \
            os.path.basename(filename).split(".fits")[0]
        first = src[1].header if len(src) > 1 else prim  # the extension stwcs looks at
        names = _distortion_names(prim, root, any(h.name == "WCSDVARR" for h in src),
                                  any(h.name == "D2IMARR" for h in src),
                                  "A_ORDER" in first or "B_ORDER" in first)
        ph = fits.Header()
        ph["EXTNAME"] = "PRIMARY"
        ph["HDRNAME"] = (hdrname, "headerlet name")
        ph["DESTIM"] = (root, "destination observation root name")
        ph["WCSNAME"] = (wcsname, "coordinate system title")
        ph["DATE"] = (time.strftime("%Y-%m-%dT%H:%M:%S"), "date the file was written")
        for k, v in names.items():
            ph[k] = v
        ph["AUTHOR"] = (author, "headerlet created by this user")
        ph["DESCRIP"] = (descrip, "short description of the solution")
        ph["RMS_RA"] = (float(rms_ra) if rms_ra is not None else 0.0, "RMS in RA (arcsec)")
        ph["RMS_DEC"] = (float(rms_dec) if rms_dec is not None else 0.0, "RMS in Dec (arcsec)")
        ph["NMATCH"] = (int(nmatch) if nmatch is not None else 0, "number of matched sources")
        ph["CATALOG"] = (catalog, "astrometric catalog used for the fit")
        ph["UPWCSVER"] = (str(prim.get("UPWCSVER", " ")), "STWCS version of the distortion")
        ph["PYWCSVER"] = (astropy.__version__, "astropy version used to write the WCS")
        if history:
            hist = history
            if os.path.exists(history):
                with open(history, encoding="utf-8") as fh:
                    hist = fh.read()
            for line in hist.splitlines():
                ph.add_history(line)
        hdus: list = [fits.PrimaryHDU(header=ph)]
        arrays: list = []
        counters = {"WCSDVARR": 0, "D2IMARR": 0}
        for k, (ext, w) in enumerate(zip(exts, chip_wcs), 1):
            sci = src[ext].header
            h = _linear_cards(w)
            h["WCSNAME"] = (wcsname, "coordinate system title")
            h["HDRNAME"] = hdrname
            _copy_lookup(sci, h, src, arrays, counters, f"{filename}[{ext}]")
            h["TG_ENAME"] = (str(sci.get("EXTNAME", "PRIMARY")).strip() or "PRIMARY",
                             "target science data extname")
            h["TG_EVER"] = (int(sci.get("EXTVER", 1) or 1), "target science data extver")
            hdu = fits.ImageHDU(None, h, name="SIPWCS")
            hdu.ver = k
            hdus.append(hdu)
        return fits.HDUList(hdus + arrays)
    finally:
        src.close()


def write_headerlet(path: str | os.PathLike, filename: str | os.PathLike,
                    chip_wcs: Sequence[WCS], *, clobber: bool = False, **kw) -> str:
    """Write :func:`headerlet_hdulist` to ``path`` atomically (keywords as there).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        If ``path`` exists and ``clobber`` is false, or the image cannot be read.
    """
    from .atomic import atomic_path

    path = os.fspath(path)
    if os.path.exists(path) and not clobber:
        raise InputFileError(f"{path}: headerlet file exists (set clobber=True to replace it)")
    hdul = headerlet_hdulist(filename, chip_wcs, **kw)
    with atomic_path(path) as tmp:
        hdul.writeto(tmp)
    return path
