"""WFPC2 inputs: GEIS and waivered FITS read in memory, DQ from the companion file.

WFPC2 calibrated data come in four forms; drizzlepac takes all of them
(``stsci.tools.check_files.convert2fits`` converts the first two to multi-extension
FITS files on disk, next to the inputs; drizzlekit converts them in memory and never
writes anything):

==============================  ==============================  ====================
science file                    data quality (DQ) file          format
==============================  ==============================  ====================
``u*.c0h`` + ``u*.c0d``         ``u*.c1h`` + ``u*.c1d``         GEIS (header + data)
``u*_c0f.fits``                 ``u*_c1f.fits``                 waivered FITS
``u*_c0m.fits``/``u*_c0h.fits``  ``u*_c1m.fits``/``u*_c1h.fits``  multi-extension FITS
``u*_flt.fits``                 ``DQ`` extensions of that file   multi-extension FITS
==============================  ==============================  ====================

Format facts (from the GEIS and waivered-FITS descriptions that ``stsci.tools.readgeis``
and ``convertwaiveredfits`` implement):

* **GEIS**: the header file holds 80-character FITS cards, one per line, up to ``END``.
  The data file holds ``GCOUNT`` groups, each the image (``NAXIS1 x NAXIS2`` values of
  ``DATATYPE``, e.g. ``REAL*4``) followed by ``PSIZE`` bits of group parameters
  (``PTYPEn`` named, ``PDTYPEn`` typed: ``REAL*8``, ``REAL*4``, ``INTEGER*4``,
  ``INTEGER*2``, ``LOGICAL*4``, ``CHARACTER*n``). The byte order is that of the
  machine that wrote the file; it is detected from the values (see :func:`read_geis`).
* **Waivered FITS**: the primary HDU holds a ``(GCOUNT, NAXIS2, NAXIS1)`` cube and the
  first extension an ASCII table with one row of group parameters per group.

In both cases group ``i`` becomes extension ``SCI,i`` (DQ files: ``DQ,i``) whose header
holds the group parameters (the chip's WCS ``CRVAL``/``CRPIX``/``CD``, ``DETECTOR`` ...);
the primary header keeps the other keywords (``ATODGAIN``, ``EXPTIME`` ...).

Per-chip gain and read noise are drizzlepac's calibrated values (``wfpc2Data.py``),
selected by the chip's ``DETECTOR`` (1 = PC, 2-4 = WF2-WF4) and the primary header's
``ATODGAIN`` (7 or 15 e-/DN): see :data:`WFPC2_GAIN_RDNOISE`.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from typing import Union

import numpy as np
from astropy.io import fits

from ..exceptions import InputFileError

__all__ = [
    "WFPC2_GAIN_RDNOISE",
    "chip_gain_rdnoise",
    "is_geis_name",
    "read_geis",
    "read_geis_header",
    "is_waivered",
    "waivered_to_mef",
    "dq_companion",
    "open_wfpc2",
    "as_mef",
]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: Calibrated (gain e-/DN, read noise e-) per WFPC2 chip (``DETECTOR``) and
#: ``ATODGAIN`` setting, as drizzlepac 3.11.0 uses them (``wfpc2Data.WFPC2_GAINS``).
WFPC2_GAIN_RDNOISE: dict[int, dict[int, tuple[float, float]]] = {
    1: {7: (7.12, 5.24), 15: (13.99, 7.02)},
    2: {7: (7.12, 5.51), 15: (14.50, 7.84)},
    3: {7: (6.90, 5.22), 15: (13.95, 6.99)},
    4: {7: (7.10, 5.19), 15: (13.95, 8.32)},
}

# GEIS structural keywords: they describe the file layout, not the observation.
_GEIS_LAYOUT = re.compile(r"^(PTYPE|PDTYPE|PSIZE)\d+$")
_GEIS_LAYOUT_KEYS = ("GROUPS", "GCOUNT", "PCOUNT", "PSIZE", "DATATYPE", "BSCALE", "BZERO",
                     "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND",
                     "END")
# Waivered-FITS primary keywords that describe the cube or the conversion
# (convertwaiveredfits drops the same ones).
_WAIVER_DROP = ("ORIGIN", "FITSDATE", "FILENAME", "ALLG-MAX", "ALLG-MIN", "ODATTYPE",
                "SDASMGNU", "OPSIZE", "CTYPE3", "CD3_3", "CD3_1", "CD1_3", "CD2_3", "CD3_2",
                "NAXIS3", "CRVAL3", "CRPIX3", "CDELT3")

_GEIS_TYPES = {"REAL*4": "f4", "REAL*8": "f8", "INTEGER*2": "i2", "INTEGER*4": "i4",
               "UNSIGNED*2": "u2", "LOGICAL*4": "i4", "LOGICAL*2": "i2", "BYTE*1": "u1",
               "INTEGER*1": "u1"}


# --------------------------------------------------------------------------- gain / rdnoise


def chip_gain_rdnoise(detector, atodgain, filename: str) -> tuple[float, float]:
    """drizzlepac's calibrated ``(gain e-/DN, read noise e-)`` of one WFPC2 chip.

    Parameters
    ----------
    detector : int or str
        ``DETECTOR`` of the chip (1 = PC, 2, 3, 4 = WF2..WF4).
    atodgain : float
        ``ATODGAIN`` of the primary header (7 or 15 e-/DN).
    filename : str
        For the error message.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        ``DETECTOR`` or ``ATODGAIN`` missing or not a WFPC2 value.
    """
    try:
        det = int(detector)
        setting = int(round(float(atodgain)))
    except (TypeError, ValueError):
        raise InputFileError(
            f"{filename}: WFPC2 chip needs integer DETECTOR (1-4) and ATODGAIN (7 or 15); "
            f"found DETECTOR={detector!r}, ATODGAIN={atodgain!r}") from None
    try:
        return WFPC2_GAIN_RDNOISE[det][setting]
    except KeyError:
        raise InputFileError(
            f"{filename}: no WFPC2 calibrated gain for DETECTOR={det}, ATODGAIN={atodgain} "
            "(expected DETECTOR 1-4 and ATODGAIN 7 or 15); give gain= and rdnoise=") from None


# --------------------------------------------------------------------------- GEIS


def is_geis_name(path: PathLike) -> bool:
    """True for a GEIS header file name: ``.??h`` extension (``u1.c0h``, ``x.hhh``)."""
    name = os.path.basename(os.fspath(path))
    ext = os.path.splitext(name)[1]
    return len(ext) == 4 and ext[-1] in "hH" and not name.lower().endswith(".fits")


def _geis_cards(path: str) -> list[fits.Card]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the GEIS header ({exc})") from exc
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not a GEIS header (not ASCII text)") from None
    lines = text.splitlines() if ("\n" in text or "\r" in text) else \
        [text[i:i + 80] for i in range(0, len(text), 80)]
    cards = []
    for line in lines:
        line = line.rstrip("\r")[:80]
        if line[:8].strip().upper() == "END" and not line[8:].strip():
            return cards
        if not line.strip():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cards.append(fits.Card.fromstring(line[:8].upper() + line[8:]))
    raise InputFileError(f"{path}: GEIS header has no END card")


def read_geis_header(path: PathLike) -> fits.Header:
    """The header of a GEIS file (``.c0h``) as it is stored, layout keywords included."""
    return fits.Header(_geis_cards(os.fspath(path)))


def _geis_type(value: str, path: str, what: str) -> tuple[str, int]:
    text = str(value).strip().upper()
    if text.startswith("CHARACTER*"):
        n = int(text.split("*")[1])
        return f"S{n}", n
    if text not in _GEIS_TYPES:
        raise InputFileError(f"{path}: unsupported GEIS {what} {value!r}")
    code = _GEIS_TYPES[text]
    return code, int(code[1:])


def _plausible(values: np.ndarray) -> float:
    """Fraction of float values that look like numbers written in this byte order."""
    with np.errstate(all="ignore"):
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return 1.0
        a = np.abs(v)
        ok = np.isfinite(v) & ((a == 0) | ((a > 1e-30) & (a < 1e30)))
    return float(ok.mean())


def read_geis(path: PathLike) -> fits.HDUList:
    """Read a GEIS image (``x.??h`` header + ``x.??d`` data) as an in-memory MEF.

    Parameters
    ----------
    path : str or path-like
        The header file (``.c0h``, ``.c1h`` ...); the data file is the same name
        ending in ``d`` instead of ``h``.

    Returns
    -------
    astropy.io.fits.HDUList
        Primary HDU (no data) with the header's observation keywords, then one
        ``ImageHDU`` per group named ``FILETYPE`` (``SCI``, ``SDQ`` ...), ``EXTVER`` =
        group number, whose header holds the group parameters.

    Notes
    -----
    GEIS files carry no byte-order mark. Both orders are tried and the one whose
    floating-point group parameters and data are plausible numbers (finite, between
    1e-30 and 1e30 in magnitude, or 0) is kept; integer-only files with no
    floating-point parameter are read little-endian, as ``stsci.tools.readgeis`` does
    on Linux.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing data file, a header without the GEIS layout keywords, or a data file
        shorter than the header says.
    """
    path = os.fspath(path)
    cards = _geis_cards(path)
    header = fits.Header(cards)
    data_path = path[:-1] + ("d" if path[-1] == "h" else "D")
    if not os.path.isfile(data_path):
        raise InputFileError(f"{path}: GEIS data file {os.path.basename(data_path)} not found")
    try:
        naxis = int(header["NAXIS"])
        shape = tuple(int(header[f"NAXIS{k}"]) for k in range(naxis, 0, -1))
        gcount = int(header.get("GCOUNT", 1))
        pcount = int(header.get("PCOUNT", 0))
        psize = int(header.get("PSIZE", 0))
        datatype = header.get("DATATYPE")
        if datatype is None:
            bitpix = int(header["BITPIX"])
            datatype = {-32: "REAL*4", -64: "REAL*8", 16: "INTEGER*2", 32: "INTEGER*4",
                        8: "BYTE*1"}[bitpix]
        code, nbytes = _geis_type(datatype, path, "DATATYPE")
        params = []
        for k in range(1, pcount + 1):
            pdtype = str(header[f"PDTYPE{k}"]).strip().upper()
            pcode, _ = _geis_type(pdtype, path, f"PDTYPE{k}")
            params.append((str(header[f"PTYPE{k}"]).strip().upper(), pcode,
                           header.comments[f"PTYPE{k}"], pdtype.startswith("LOGICAL")))
    except InputFileError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(f"{path}: not a valid GEIS header ({exc})") from exc
    npix = int(np.prod(shape)) if shape else 0
    data_bytes = npix * nbytes
    group_bytes = data_bytes + psize // 8
    with open(data_path, "rb") as fh:
        raw = fh.read()
    if len(raw) < gcount * group_bytes:
        raise InputFileError(
            f"{data_path}: GEIS data file has {len(raw)} bytes; the header needs "
            f"{gcount} groups of {group_bytes} bytes")
    uint16 = code == "u2"

    def decode(order: str):
        dtype = np.dtype(order + ("i2" if uint16 else code))
        pdtype = np.dtype([(name, (order + pc) if pc[0] != "S" else pc)
                           for name, pc, _, _ in params]) if params else None
        groups = []
        for g in range(gcount):
            loc = g * group_bytes
            arr = np.frombuffer(raw, dtype=dtype, count=npix, offset=loc).reshape(shape)
            rec = np.frombuffer(raw, dtype=pdtype, count=1, offset=loc + data_bytes)[0] \
                if pdtype is not None and pdtype.itemsize <= psize // 8 else None
            groups.append((arr, rec))
        return groups

    def score(groups) -> float:
        floats = []
        for arr, rec in groups:
            if rec is not None:
                floats.extend(float(rec[n]) for n, pc, _, _ in params if pc[0] == "f")
        s = _plausible(np.array(floats)) if floats else None
        if code[0] == "f":
            sample = np.concatenate([a.ravel()[:: max(1, a.size // 4096)] for a, _ in groups])
            d = _plausible(sample)
            s = d if s is None else 0.5 * (s + d)
        return -1.0 if s is None else s

    little, big = decode("<"), decode(">")
    s_little, s_big = score(little), score(big)
    groups = big if s_big > s_little else little
    log.debug("%s: GEIS byte order %s (plausible %.3f vs %.3f)", path,
              "big" if s_big > s_little else "little", max(s_big, s_little),
              min(s_big, s_little))

    bscale = float(header.get("BSCALE", 1.0))
    bzero = float(header.get("BZERO", 0.0))
    filetype = str(header.get("FILETYPE", "SCI") or "SCI").strip().upper() or "SCI"
    pnames = {p[0] for p in params}
    primary = fits.Header()
    for card in header.cards:
        key = card.keyword.upper()
        if key in _GEIS_LAYOUT_KEYS or _GEIS_LAYOUT.match(key) or key in pnames:
            continue
        primary.append(card, end=True)
    primary["NEXTEND"] = (gcount, "Number of standard extensions")
    out = fits.HDUList([fits.PrimaryHDU(header=primary)])
    for g, (arr, rec) in enumerate(groups, start=1):
        data = np.array(arr, dtype=arr.dtype.newbyteorder("="))
        if uint16:
            data = data.astype(np.int32) + 32768
        if bscale != 1.0 or bzero != 0.0:
            data = data * bscale + bzero
        hdr = fits.Header()
        if rec is not None:
            for name, pc, comment, logical in params:
                val = rec[name]
                if pc[0] == "S":
                    val = val.decode("ascii", "replace").strip()
                elif logical:
                    val = bool(val)
                elif pc[0] == "f":
                    val = float(val)
                else:
                    val = int(val)
                hdr[name] = (val, comment)
        _name_extension(hdr, filetype, g, primary)
        out.append(fits.ImageHDU(data=data, header=hdr))
    return out


def _name_extension(hdr: fits.Header, extname: str, extver: int, primary: fits.Header):
    hdr["EXTNAME"] = (extname, "extension name")
    hdr["EXTVER"] = (extver, "extension version number")
    root = str(primary.get("ROOTNAME", "") or "").strip()
    if root:
        hdr["EXPNAME"] = (root, "9 character exposure identifier")
        hdr["ROOTNAME"] = (root, "rootname of the observation set")
    hdr["INHERIT"] = (True, "inherit the primary header")


# --------------------------------------------------------------------------- waivered FITS


def is_waivered(hdul: fits.HDUList) -> bool:
    """True for a waivered FITS file: a primary image cube (or image) whose group
    parameters are the rows of a table in the first extension, and no image extension."""
    if len(hdul) < 2 or not isinstance(hdul[1], (fits.TableHDU, fits.BinTableHDU)):
        return False
    if any(isinstance(h, fits.ImageHDU) for h in hdul[1:]):
        return False
    ph = hdul[0].header
    naxis = int(ph.get("NAXIS", 0) or 0)
    if naxis not in (2, 3):
        return False
    ngroups = int(ph.get("NAXIS3", 1)) if naxis == 3 else 1
    try:
        nrows = len(hdul[1].data)
    except Exception:
        return False
    names = [n.upper() for n in (hdul[1].columns.names or [])]
    return nrows == ngroups and "CRVAL1" in names


def _table_value(value, fmt: str, unit: str | None):
    if unit and str(unit).upper().startswith("LOGICAL"):
        return str(value).strip().upper() == "T"
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        return value.strip()
    if fmt and fmt[0].upper() in "EDF":
        return float(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    return float(value)


def waivered_to_mef(hdul: fits.HDUList, filename: str) -> fits.HDUList:
    """Convert an open waivered FITS file to an in-memory multi-extension HDU list.

    Group ``i`` (plane ``i`` of the primary cube) becomes ``FILETYPE,i`` (``SCI`` or
    ``SDQ``) with the group parameters of table row ``i`` in its header.
    """
    try:
        cube = np.array(hdul[0].data, copy=True)
        table = hdul[1]
        rows = table.data
        cols = table.columns
    except Exception as exc:
        raise InputFileError(f"{filename}: cannot read the waivered FITS data ({exc})") from exc
    if cube.ndim == 2:
        cube = cube[None]
    ph = hdul[0].header.copy()
    pnames = [n.upper() for n in cols.names]
    for key in list(_WAIVER_DROP) + pnames:
        while key in ph:
            del ph[key]
    for key in ("NAXIS1", "NAXIS2", "EXTEND"):
        while key in ph:
            del ph[key]
    ph["NAXIS"] = 0
    ph["NEXTEND"] = (cube.shape[0], "Number of standard extensions")
    filetype = str(ph.get("FILETYPE", "SCI") or "SCI").strip().upper() or "SCI"
    out = fits.HDUList([fits.PrimaryHDU(header=ph)])
    for g in range(cube.shape[0]):
        hdr = fits.Header()
        for name, fmt, unit in zip(cols.names, cols.formats, cols.units):
            comment = str(table.header.get(name, "") or "") if name in table.header else ""
            hdr[name.upper()] = (_table_value(rows[name][g], str(fmt), unit), comment)
        _name_extension(hdr, filetype, g + 1, ph)
        out.append(fits.ImageHDU(data=cube[g], header=hdr))
    return out


# --------------------------------------------------------------------------- DQ companion


_COMPANION = re.compile(r"(?i)(_c)0([a-z])(\.fits(?:\.gz)?)$")


def dq_companion(filename: str) -> str | None:
    """Name of the DQ file that goes with a WFPC2 science file (``None`` for ``_flt``).

    ``x.c0h`` -> ``x.c1h``; ``x_c0f.fits`` -> ``x_c1f.fits``; ``x_c0m.fits`` ->
    ``x_c1m.fits``; ``x_c0h.fits`` -> ``x_c1h.fits`` (drizzlepac's rule: the ``0`` of the
    suffix becomes ``1``).
    """
    base = os.path.basename(filename)
    m = _COMPANION.search(base)
    if m:
        new = base[: m.start()] + m.group(1) + "1" + m.group(2) + m.group(3)
        return os.path.join(os.path.dirname(filename), new)
    if is_geis_name(filename):
        ext = os.path.splitext(base)[1]
        if len(ext) == 4 and ext[2] == "0":
            new = base[: -len(ext)] + ext[:2] + "1" + ext[3]
            return os.path.join(os.path.dirname(filename), new)
    return None


def _read_any(path: str) -> fits.HDUList:
    """A WFPC2 file of any form as an in-memory multi-extension HDU list."""
    if is_geis_name(path):
        return read_geis(path)
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
            if is_waivered(hdul):
                return waivered_to_mef(hdul, path)
            return fits.HDUList([h.copy() for h in hdul])
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{path}: cannot be read as FITS ({exc})") from exc


def _image_extensions(hdul: fits.HDUList) -> list:
    return [h for h in hdul[1:] if isinstance(h, (fits.ImageHDU, fits.CompImageHDU))
            and h.data is not None]


def open_wfpc2(source: PathLike | fits.HDUList, filename: str) -> fits.HDUList:
    """A WFPC2 exposure as an in-memory MEF with ``SCI,i`` and ``DQ,i`` extensions.

    Parameters
    ----------
    source : str, path-like or astropy.io.fits.HDUList
        GEIS header file, waivered FITS, or an open HDU list (already MEF, or
        waivered).
    filename : str
        The science file name (the DQ companion is looked for next to it).

    Returns
    -------
    astropy.io.fits.HDUList
        Never backed by a file; the inputs are not modified.
    """
    if isinstance(source, fits.HDUList):  # copies: the caller's HDUs are never changed
        hdul = waivered_to_mef(source, filename) if is_waivered(source) else \
            fits.HDUList([h.copy() for h in source])
    else:
        hdul = _read_any(os.fspath(source))
    sci = _image_extensions(hdul)
    for h in sci:  # GEIS/waivered/old c0m: DN without BUNIT (see io/instruments.py)
        if not str(h.header.get("BUNIT", "") or "").strip():
            h.header["BUNIT"] = ("COUNTS", "drizzlekit: WFPC2 data are DN")
    names = {str(h.header.get("EXTNAME", "")).strip().upper() for h in sci}
    if "DQ" in names or not sci:
        return hdul  # _flt.fits form: DQ already in the file
    if names != {"SCI"}:  # e.g. c0m written with EXTNAME = FILETYPE
        for k, h in enumerate(sci, start=1):
            h.header["EXTNAME"] = "SCI"
            h.header.setdefault("EXTVER", k)
    companion = dq_companion(filename) if filename and filename != "<in-memory>" else None
    if companion is None or not os.path.isfile(companion):
        log.warning("%s: no WFPC2 data-quality file (%s); every pixel is treated as good",
                    filename, os.path.basename(companion) if companion else "none expected")
        return hdul
    dqs = _image_extensions(_read_any(companion))
    if len(dqs) != len(sci):
        raise InputFileError(
            f"{companion}: DQ file has {len(dqs)} groups but {filename} has {len(sci)}")
    out = fits.HDUList([hdul[0]] + [h for h in hdul[1:]])
    for k, (s, d) in enumerate(zip(sci, dqs), start=1):
        ev = int(s.header.get("EXTVER", k) or k)
        if d.data.shape != s.data.shape:
            raise InputFileError(
                f"{companion}: DQ group {k} has shape {d.data.shape}, SCI,{ev} of "
                f"{filename} has {s.data.shape}")
        hdr = fits.Header()
        hdr["EXTNAME"] = "DQ"
        hdr["EXTVER"] = ev
        out.append(fits.ImageHDU(data=np.asarray(d.data).astype(np.int32), header=hdr))
    return out


def as_mef(hdul: fits.HDUList, filename: str) -> fits.HDUList:
    """The hook :func:`drizzlekit.io.fits_input.read_exposure` calls on every opened file.

    WFPC2 files (any form) become an in-memory MEF with ``DQ`` from the companion
    file (:func:`open_wfpc2`); other waivered FITS files are converted without DQ;
    anything else is returned unchanged.
    """
    try:
        instrument = str(hdul[0].header.get("INSTRUME", "") or "").strip().upper()
    except Exception:
        return hdul
    if instrument == "WFPC2":
        return open_wfpc2(hdul, filename)
    if is_waivered(hdul):
        return waivered_to_mef(hdul, filename)
    return hdul
