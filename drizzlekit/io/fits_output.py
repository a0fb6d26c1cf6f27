"""Write AstroDrizzle products: the ``_drz`` image and optional per-chip files.

Every file is written atomically (a temporary file renamed into place), so a
failed run never leaves a half-written product; a product made of several
files (``build=False``) is renamed into place only after all of them were
written. Nothing here ever opens an input file for writing: the CR masks
and CR-cleaned images are *new* files.

The final product (spec §10.6)
------------------------------
``build=True``: ``<output>_drz.fits`` = PRIMARY (no data) + ``SCI`` +
``WHT`` + ``CTX``. ``build=False``: three simple FITS files
``<output>_drz_sci.fits``, ``_drz_wht.fits``, ``_drz_ctx.fits`` with
``FILETYPE`` = SCI/WHT/CTX. CTX is int32, 2-D for one plane, else
``(planes, ny, nx)``.

PRIMARY keywords: ``FILENAME, PROD_VER, DRIZPARS, ROOTNAME, DATE, EXPTIME =
TEXPTIME`` (sum over distinct exposures), ``EXPSTART`` (min), ``EXPEND``
(max), ``ASN_MTYP='PROD-DTH'``, ``NDRIZIM`` (chips drizzled), ``NEXTEND``,
history lines with package versions and, per chip ``nnn`` (1-based):
``DnnnVER, DnnnGEOM, DnnnDATA, DnnnDEXP, DnnnOUDA, DnnnOUWE, DnnnOUCO,
DnnnMASK, DnnnWTSC, DnnnKERN, DnnnPIXF, DnnnCOEF, DnnnOUUN, DnnnFVAL,
DnnnWKEY, DnnnSCAL, DnnnISCL``. The rest of the primary header is copied
from the first input (structural keywords and ``MDRIZSKY`` removed).

Extension headers: the undistorted output WCS in CD form, ``ORIENTAT``,
``VAFACTOR=1``, ``WCSNAME``, ``BUNIT`` (SCI), ``NCOMBINE`` (number of
exposures), ``CCDCHIP=-999``, ``EXPTIME`` and the photometry keywords
(``PHOT*``) of the first input chip.
"""

from __future__ import annotations

import datetime
import logging
import math
import os
import warnings
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .atomic import atomic_path
from .output_checks import fits_text

__all__ = [
    "ChipRecord",
    "product_filenames",
    "drizzle_product_hdus",
    "output_wcs_header",
    "write_drizzle_product",
    "write_crmask",
    "write_crclean",
]

log = logging.getLogger(__name__)

#: Keywords of the first input chip's SCI header copied into the product.
PHOT_KEYWORDS = ("PHOTMODE", "PHOTFLAM", "PHOTFNU", "PHOTZPT", "PHOTPLAM", "PHOTBW",
                 "FILTER1", "FILTER2")
_STRUCTURAL = ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND",
               "NEXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO", "EXTNAME", "EXTVER",
               "MDRIZSKY", "FILETYPE", "CHECKSUM", "DATASUM")
_MAX_CHIP_KEYWORDS = 999


def _put(hdr: fits.Header, key: str, value) -> None:
    """Set ``hdr[key]`` (``value`` or ``(value, comment)``), dropping a comment
    that would not fit on the card instead of letting astropy warn."""
    comment = None
    if isinstance(value, tuple):
        value, comment = value
    if isinstance(value, str):
        value = fits_text(value)  # non-ASCII file names: escaped, FITS holds only ASCII
    if comment:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits.Card(key, value, comment).image
        if caught:
            comment = None
    if comment:
        hdr[key] = (value, comment)
    else:
        hdr[key] = value


@dataclass(frozen=True)
class ChipRecord:
    """Provenance of one drizzled chip (the ``Dnnn*`` keywords).

    Attributes
    ----------
    data : str
        ``file[sci,k]``.
    exptime : float
        Exposure time, s.
    wt_scl : float
        Weight scale used.
    kernel : str
        Kernel name.
    pixfrac : float
        Drop size.
    coeffs : str
        Distortion model used (``'SIP'`` or ``'none'``).
    units : str
        ``'cps'`` or ``'counts'``.
    fillval : float or None
        Fill value (None -> ``'INDEF'``).
    scale : float
        Output pixel scale, arcsec/pixel.
    idcscale : float
        Nominal input pixel scale, arcsec/pixel.
    mask : str
        What weight mask was used.
    wcskey : str
        WCS key of the input.
    """

    data: str
    exptime: float
    wt_scl: float
    kernel: str
    pixfrac: float
    coeffs: str
    units: str
    fillval: float | None
    scale: float
    idcscale: float
    mask: str = "in memory"
    wcskey: str = " "


def product_filenames(output: str, build: bool = True) -> dict[str, str]:
    """File names of the final product.

    Parameters
    ----------
    output : str
        The product name, e.g. ``'final_drz.fits'``.
    build : bool
        One multi-extension file, or three simple files.

    Returns
    -------
    dict
        Keys ``'sci'``, ``'wht'``, ``'ctx'`` (all the same file when ``build``).

    Examples
    --------
    >>> product_filenames("final_drz.fits", build=False)["wht"]
    'final_drz_wht.fits'
    """
    if build:
        return {"sci": output, "wht": output, "ctx": output}
    root = output[:-5] if output.lower().endswith(".fits") else output
    return {k: f"{root}_{k}.fits" for k in ("sci", "wht", "ctx")}


def output_wcs_header(wcs: WCS, name: str = "DRZWCS") -> fits.Header:
    """Header cards of an undistorted output WCS (CD form, ORIENTAT, no SIP)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdr = wcs.celestial.to_header()
    cd = np.asarray(wcs.celestial.pixel_scale_matrix, dtype=float)
    for k in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2", "MJDREF",
              "DATE-OBS", "MJD-OBS", "DATEREF"):
        hdr.remove(k, ignore_missing=True)
    for i in range(2):
        for j in range(2):
            _put(hdr, f"CD{i + 1}_{j + 1}",
                 (float(cd[i, j]), "partial of axis coordinate w.r.t. pixel"))
    _put(hdr, "ORIENTAT", (math.degrees(math.atan2(cd[0, 1], cd[1, 1])),
                           "position angle of image y axis (deg. e of n)"))
    _put(hdr, "VAFACTOR", (1.0, "velocity aberration plate scale factor"))
    _put(hdr, "WCSNAME", (name, "name of the output WCS"))
    return hdr


def _primary_header(template: fits.Header | None, filename: str, keywords: Mapping,
                    records: Sequence[ChipRecord], outnames: Mapping[str, str],
                    history: Sequence[str]) -> fits.Header:
    hdr = fits.Header()
    if template is not None:
        # copies of the cards: the template (an input's header) must not change
        for card in template.copy(strip=True).cards:
            if card.keyword in _STRUCTURAL or card.keyword in ("", "COMMENT", "HISTORY"):
                continue
            hdr.append(card, end=True)
    _put(hdr, "FILENAME", (os.path.basename(filename), "name of file"))
    for key, value in keywords.items():
        _put(hdr, key, value)
    _put(hdr, "NDRIZIM", (len(records), "drizzle, no. images drizzled onto output"))
    if len(records) > _MAX_CHIP_KEYWORDS:
        log.warning("%d chips drizzled; D### keywords written for the first %d only",
                    len(records), _MAX_CHIP_KEYWORDS)
    version = str(keywords.get("PROD_VER", "drizzlekit"))
    if isinstance(keywords.get("PROD_VER"), tuple):
        version = str(keywords["PROD_VER"][0])
    for n, rec in enumerate(records[:_MAX_CHIP_KEYWORDS], start=1):
        fval = "INDEF" if rec.fillval is None else str(rec.fillval)
        cards = (
            ("VER", version, "drizzle, task version"),
            ("GEOM", "user parameters", "drizzle, source of geometric information"),
            ("DATA", rec.data, "drizzle, input data image"),
            ("DEXP", float(rec.exptime), "drizzle, input image exposure time (s)"),
            ("OUDA", os.path.basename(outnames["sci"]), "drizzle, output data image"),
            ("OUWE", os.path.basename(outnames["wht"]), "drizzle, output weighting image"),
            ("OUCO", os.path.basename(outnames["ctx"]), "drizzle, output context image"),
            ("MASK", rec.mask, "drizzle, input weighting image"),
            ("WTSC", float(rec.wt_scl), "drizzle, weighting factor for input image"),
            ("KERN", rec.kernel, "drizzle, form of weight distribution kernel"),
            ("PIXF", float(rec.pixfrac), "drizzle, linear size of drop"),
            ("COEF", rec.coeffs, "drizzle, source of coefficients"),
            ("OUUN", rec.units, "drizzle, units of output image - counts or cps"),
            ("FVAL", fval, "drizzle, fill value for zero weight output pix"),
            ("WKEY", rec.wcskey, "input image WCS key"),
            ("SCAL", float(rec.scale), "drizzle, pixel size (arcsec) of output image"),
            ("ISCL", float(rec.idcscale), "drizzle, default IDCTAB pixel size (arcsec)"),
        )
        for suffix, value, comment in cards:
            _put(hdr, f"D{n:03d}{suffix}", (value, comment))
    for line in history:
        hdr["HISTORY"] = fits_text(line)  # paths may hold non-ASCII characters
    return hdr


def _ext_header(wcs_hdr: fits.Header, extname: str, common: Mapping) -> fits.Header:
    hdr = fits.Header()
    _put(hdr, "EXTNAME", extname)
    _put(hdr, "EXTVER", 1)
    for key, value in common.items():
        _put(hdr, key, value)
    hdr.extend(wcs_hdr, update=True)
    return hdr


def drizzle_product_hdus(output: str, sci: np.ndarray, wht: np.ndarray,
                         ctx: np.ndarray | None, wcs: WCS, *, bunit: str,
                         records: Sequence[ChipRecord] = (),
                         primary_template: fits.Header | None = None,
                         sci_template: fits.Header | None = None,
                         keywords: Mapping | None = None,
                         history: Sequence[str] = (),
                         build: bool = True,
                         err: np.ndarray | None = None) -> list[tuple[str, fits.HDUList]]:
    """The final product as in-memory HDU lists, one per file, with their names.

    Takes the parameters of :func:`write_drizzle_product` (without
    ``overwrite``); nothing is written.

    Returns
    -------
    list of (str, astropy.io.fits.HDUList)
        One ``(file name, HDUList)`` per product file (one with ``build``).
    """
    names = product_filenames(output, build)
    keywords = dict(keywords or {})
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    keywords.setdefault("DATE", (now, "date this file was written (UTC)"))
    keywords.setdefault("ASN_MTYP", ("PROD-DTH", "role of the member in the association"))
    keywords.setdefault("ROOTNAME", (os.path.basename(output).split("_")[0],
                                     "rootname of the observation set"))
    nexp = keywords.pop("_NCOMBINE", None)
    wcs_hdr = output_wcs_header(wcs)
    common: dict = {}
    if "EXPTIME" in keywords:
        common["EXPTIME"] = keywords["EXPTIME"]
    if nexp is not None:
        common["NCOMBINE"] = (int(nexp), "number of image sets combined")
    common["CCDCHIP"] = (-999, "CCD chip (not applicable to a combined image)")
    sci_extra = {}
    if sci_template is not None:
        for key in PHOT_KEYWORDS:
            if key in sci_template:
                sci_extra[key] = (sci_template[key], sci_template.comments[key])
    ctx_out = None
    if ctx is not None:
        ctx_out = np.asarray(ctx, dtype=np.int32)
        if ctx_out.ndim == 3 and ctx_out.shape[0] == 1:
            ctx_out = ctx_out[0]

    hdu_sets: list[tuple[str, list[fits.hdu.base.ExtensionHDU]]] = []
    if build:
        phdr = _primary_header(primary_template, names["sci"], keywords, records, names,
                               history)
        _put(phdr, "NEXTEND", (2 + (ctx_out is not None) + (err is not None),
                               "number of extensions"))
        hdus = [fits.PrimaryHDU(header=phdr)]
        hdus.append(fits.ImageHDU(np.asarray(sci, dtype=np.float32),
                                  header=_ext_header(wcs_hdr, "SCI", {
                                      **common, **sci_extra,
                                      "BUNIT": (bunit, "brightness units")})))
        hdus.append(fits.ImageHDU(np.asarray(wht, dtype=np.float32),
                                  header=_ext_header(wcs_hdr, "WHT", {
                                      **common, "BUNIT": ("UNITLESS", "weight")})))
        if ctx_out is not None:
            hdus.append(fits.ImageHDU(ctx_out, header=_ext_header(wcs_hdr, "CTX", {
                **common, "BUNIT": ("UNITLESS", "context bits (one per chip)")})))
        if err is not None:  # last, so SCI/WHT/CTX keep drizzlepac's extension numbers
            hdus.append(fits.ImageHDU(np.asarray(err, dtype=np.float32),
                                      header=_ext_header(wcs_hdr, "ERR", {
                                          **common, "BUNIT": (bunit, "1-sigma error of SCI")})))
        hdu_sets.append((names["sci"], hdus))
    else:
        items = [("sci", sci, np.float32, bunit), ("wht", wht, np.float32, "UNITLESS")]
        if ctx_out is not None:
            items.append(("ctx", ctx_out, np.int32, "UNITLESS"))
        if err is not None:
            names = {**names, "err": product_filenames(output, False)["sci"][:-8] + "err.fits"}
            items.append(("err", err, np.float32, bunit))
        for kind, arr, dtype, unit in items:
            phdr = _primary_header(primary_template, names[kind], keywords, records, names,
                                   history)
            _put(phdr, "FILETYPE", (kind.upper(), "type of data in this file"))
            _put(phdr, "BUNIT", unit)
            for key, value in {**common, **(sci_extra if kind == "sci" else {})}.items():
                _put(phdr, key, value)
            phdr.extend(wcs_hdr, update=True)
            hdu_sets.append((names[kind], [fits.PrimaryHDU(np.asarray(arr, dtype=dtype),
                                                           header=phdr)]))

    return [(name, fits.HDUList(hdus)) for name, hdus in hdu_sets]


def write_drizzle_product(output: str, sci: np.ndarray, wht: np.ndarray,
                          ctx: np.ndarray | None, wcs: WCS, *, bunit: str,
                          records: Sequence[ChipRecord] = (),
                          primary_template: fits.Header | None = None,
                          sci_template: fits.Header | None = None,
                          keywords: Mapping | None = None,
                          history: Sequence[str] = (), build: bool = True,
                          overwrite: bool = True, err: np.ndarray | None = None) -> list[str]:
    """Write the final drizzle product atomically.

    Parameters
    ----------
    output : str
        Product file name (``<root>_drz.fits``).
    sci, wht : 2-D arrays
        Final science (in ``bunit``) and weight images.
    ctx : int32 array (planes, ny, nx) or (ny, nx), or None
        Context image (None: no CTX written).
    wcs : astropy.wcs.WCS
        The output frame (undistorted).
    bunit : str
        Units of ``sci``.
    records : sequence of ChipRecord
        One per drizzled chip (``Dnnn*`` keywords).
    primary_template : astropy.io.fits.Header, optional
        Primary header of the first input, copied (minus structural keys).
    sci_template : astropy.io.fits.Header, optional
        SCI header of the first input chip (``PHOT*`` keywords copied).
    keywords : mapping, optional
        Extra PRIMARY keywords (``EXPTIME``, ``TEXPTIME``, ``EXPSTART``, ...);
        values may be ``(value, comment)`` tuples.
    history : sequence of str
        HISTORY lines.
    build : bool
        One MEF file (True) or three simple files.
    overwrite : bool
        Replace an existing product (atomically); if False an existing file
        raises :class:`FileExistsError`.
    err : 2-D array, optional
        1-sigma error of ``sci`` (same units): an ``ERR`` extension after
        the others (``build``) or a ``<root>_err.fits`` file. None (default):
        none is written.

    Returns
    -------
    list of str
        The files written.
    """
    names = product_filenames(output, build)
    if err is not None and not build:
        names["err"] = names["sci"][:-8] + "err.fits"
    unique = list(dict.fromkeys(names.values()))
    if not overwrite:
        for n in unique:
            if os.path.exists(n):
                raise FileExistsError(f"{n}: output file exists (overwrite=False)")
    hdu_sets = drizzle_product_hdus(
        output, sci, wht, ctx, wcs, bunit=bunit, records=records,
        primary_template=primary_template, sci_template=sci_template, keywords=keywords,
        history=history, build=build, err=err)
    with ExitStack() as stack:  # every file is renamed into place only if all succeed
        for name, hdulist in hdu_sets:
            tmp = stack.enter_context(atomic_path(name))
            hdulist.writeto(tmp)
    for name in unique:
        log.info("wrote %s", name)
    return unique


def write_crmask(path: str, cr_mask: np.ndarray, *, wcs: WCS | None = None,
                 source: str = "", extver: int = 1, crbit: int = 4096) -> str:
    """Write a CR mask as a new FITS file (uint8, drizzlepac convention 1 = good).

    Parameters
    ----------
    path : str
        File to write (``<root>_sci<N>_crmask.fits``).
    cr_mask : 2-D bool array
        ``True`` where a cosmic ray was flagged (drizzlekit convention).
    wcs : astropy.wcs.WCS, optional
        Chip WCS written into the header.
    source : str
        Input file the mask belongs to.
    extver : int
        Chip number.
    crbit : int
        The DQ bit that marks CRs (recorded).

    Returns
    -------
    str
        ``path``.
    """
    hdr = fits.Header()
    if wcs is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdr.extend(wcs.to_header(relax=True), update=True)
    _put(hdr, "SRCFILE", (os.path.basename(source), "input file of this CR mask"))
    _put(hdr, "SRCCHIP", (int(extver), "SCI extension version of the chip"))
    _put(hdr, "CRBIT", (int(crbit), "DQ bit value marking cosmic rays"))
    _put(hdr, "MASKTYPE", ("CRMASK", "1 = good pixel, 0 = cosmic ray"))
    good = (~np.asarray(cr_mask, dtype=bool)).astype(np.uint8)
    with atomic_path(path) as tmp:
        fits.PrimaryHDU(good, header=hdr).writeto(tmp)
    return path


def write_crclean(path: str, source: str | fits.HDUList, cleaned: Mapping[int, np.ndarray],
                  dq: Mapping[int, np.ndarray]) -> str:
    """Write a CR-cleaned copy of an input exposure to a *new* file.

    Parameters
    ----------
    path : str
        File to write (``<root>_crclean.fits``); must not be the input.
    source : str or astropy.io.fits.HDUList
        The input exposure (opened read-only; an HDUList is copied).
    cleaned : mapping extver -> 2-D array
        New SCI data per chip (native units).
    dq : mapping extver -> 2-D integer array
        New DQ per chip (``crbit`` where replaced, 0 elsewhere).

    Returns
    -------
    str
        ``path``.
    """
    if isinstance(source, fits.HDUList):
        hdul = fits.HDUList([h.copy() for h in source])
    else:
        if os.path.exists(path) and os.path.samefile(path, source):
            raise OSError(f"{path}: refusing to overwrite the input file")
        with fits.open(source, mode="readonly", memmap=False) as src:
            hdul = fits.HDUList([h.copy() for h in src])
    for hdu in hdul[1:]:
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        ev = int(hdu.header.get("EXTVER", 1) or 1)
        if name == "SCI" and ev in cleaned:
            hdu.data = np.asarray(cleaned[ev], dtype=np.float32)
        elif name == "DQ" and ev in dq:
            hdu.data = np.asarray(dq[ev], dtype=np.int16)
    if len(hdul) == 1 and 1 in cleaned:  # single-image file
        hdul[0].data = np.asarray(cleaned[1], dtype=np.float32)
    hdul[0].header["FILENAME"] = fits_text(os.path.basename(path))
    with atomic_path(path) as tmp:
        hdul.writeto(tmp)
    return path
