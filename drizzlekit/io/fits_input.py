"""Read FLT/FLC-style FITS exposures into plain in-memory objects.

One *exposure* is one file; each ``SCI`` extension of it is a *chip* (spec §0).
:func:`read_exposure` opens the file read-only, copies every array into memory,
builds the chip WCS (SIP plus CPDIS/D2IM lookup tables, read together with the
HDU list) and closes the file again: input files are never modified (spec §11 Q15).

Units, gain and read noise follow spec §0:

* ``bunit`` = ``BUNIT`` of the SCI header; missing or containing ``ergs`` means
  ``ELECTRONS/S``. ``in_units`` = ``'cps'`` for a rate per second, else ``'counts'``.
* ``eff_gain`` turns the data into electrons(-like) values and
  ``conversion_factor`` turns them into electrons integrated over the exposure:

  ============================  ==========  =====================
  data units (``BUNIT``)        eff_gain    conversion_factor
  ============================  ==========  =====================
  electrons (ACS, WFC3/UVIS)    1           1
  electrons/s (WFC3/IR)         1           exptime
  counts / DN / ADU (WFPC2)     gain        gain
  counts/s                      gain        gain * exptime
  ============================  ==========  =====================

  For HST FLT/FLC files this reproduces drizzlepac's instrument classes; it is
  derived from ``BUNIT`` for every instrument, so e.g. raw ACS frames in COUNTS
  are converted with the gain (drizzlepac would use 1).
* ``gain`` / ``rdnoise`` (e-/DN, e-): mean of the non-zero values of
  ``ATODGNA..D`` / ``READNSEA..D`` (primary header, then the SCI header). ACS/SBC
  uses gain 1, read noise 0. Other instruments fall back to ``GAIN``/``CCDGAIN``
  and ``RDNOISE``/``READNOISE``/``READNOIS`` keywords, and finally to the documented
  defaults gain = 1, rdnoise = 0 with a logged warning. STIS and WFPC2 follow drizzlepac's
  instrument classes instead (:mod:`drizzlekit.io.instruments`: ``ATODGAIN``/``READNSE``,
  WFPC2's per-chip table, DN times gain); WFPC2 GEIS and waivered files are converted in
  memory with DQ from the companion file (:mod:`drizzlekit.io.wfpc2`).
* ``exptime`` (s): ``EXPTIME`` (primary, then SCI header). With ``strict=True`` (as
  :func:`drizzlekit.astrodrizzle` reads) a missing, zero or negative value is an error
  naming the file and keyword; otherwise it becomes 1 s with a warning.
* ``BUNIT`` is parsed with :mod:`astropy.units` (:func:`drizzlekit.io.checks.parse_bunit`);
  with ``strict=True`` a unit that is not counts, electrons or a rate of them per second
  (``MJy/sr``, ``erg/s/cm2/A`` not spelled ``ergs``) is an error naming the file.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputError, InputFileError
from .instruments import fixed_gain_rdnoise, unit_factors

__all__ = ["Chip", "Exposure", "read_exposure", "read_chip_arrays", "parse_group"]

log = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]

#: Default gain (e-/DN) and read noise (e-) when a file carries neither.
DEFAULT_GAIN = 1.0
DEFAULT_RDNOISE = 0.0

_AMP_GAIN_KEYS = ("ATODGNA", "ATODGNB", "ATODGNC", "ATODGND")
_AMP_RN_KEYS = ("READNSEA", "READNSEB", "READNSEC", "READNSED")
_GENERIC_GAIN_KEYS = ("GAIN", "CCDGAIN", "ATODGAIN", "EGAIN")
_GENERIC_RN_KEYS = ("RDNOISE", "READNOISE", "READNOIS", "RON")

# instrument, detector -> native units (spec §0 table); others use BUNIT.
_NATIVE_UNITS = {
    ("ACS", "WFC"): "ELECTRONS",
    ("ACS", "HRC"): "ELECTRONS",
    ("ACS", "SBC"): "ELECTRONS",
    ("WFC3", "UVIS"): "ELECTRONS",
    ("WFC3", "IR"): "ELECTRONS/S",
    ("WFPC2", ""): "COUNTS",
}


@dataclass
class Chip:
    """One science chip (``SCI,extver``) of an exposure, fully in memory.

    Attributes
    ----------
    filename : str
        File the chip was read from.
    extver : int
        ``EXTVER`` of the ``SCI`` extension (1 for a single-extension file).
    sci : ndarray, float32, shape (ny, nx)
        Science data in ``bunit``.
    err : ndarray, float32, or None
        ``ERR`` array (same units as ``sci``), ``None`` if the file has none.
    dq : ndarray, int, or None
        ``DQ`` flags (``int16``/``uint16`` as stored), ``None`` if absent.
    wcs : astropy.wcs.WCS
        Full distorted WCS of the chip (SIP, CPDIS and D2IM when present).
    header : astropy.io.fits.Header
        Copy of the SCI header (the primary header for single-extension files).
    exptime : float
        Exposure time (s).
    gain : float
        Gain (e-/DN).
    rdnoise : float
        Read noise (e-).
    bunit : str
        Units of ``sci`` (``BUNIT``; ``ELECTRONS/S`` when missing).
    in_units : {'cps', 'counts'}
        ``'cps'`` for per-second data.
    eff_gain : float
        Factor turning the data into electrons(-like) values.
    conversion_factor : float
        Factor turning the data into electrons integrated over the exposure.
    native_units : str
        Units of the instrument's calibrated products.
    idcscale : float
        Nominal undistorted pixel scale (arcsec/pixel): ``IDCSCALE`` if present,
        else ``sqrt(|det CD|)`` of the linear WCS.
    mdrizsky : float or None
        ``MDRIZSKY`` of the SCI header (sky already measured, in ``bunit``) or ``None``.
    cte_dir : int
        CTE readout direction (-1, 0 or +1; spec §2.2).
    """

    filename: str
    extver: int
    sci: np.ndarray
    err: np.ndarray | None
    dq: np.ndarray | None
    wcs: WCS
    header: fits.Header
    exptime: float
    gain: float
    rdnoise: float
    bunit: str
    in_units: str
    eff_gain: float
    conversion_factor: float
    native_units: str
    idcscale: float
    mdrizsky: float | None
    cte_dir: int

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)`` in pixels."""
        return self.sci.shape  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """``filename[SCI,extver]``, for messages."""
        return f"{self.filename}[SCI,{self.extver}]"


@dataclass
class Exposure:
    """One input file with its selected chips.

    Attributes
    ----------
    filename : str
        Path of the file (or ``'<in-memory>'``).
    chips : list of Chip
        The selected chips (``group``), ordered by ``EXTVER``.
    primary_header : astropy.io.fits.Header
        Copy of the primary header.
    exptime : float
        Exposure time (s).
    instrument : str
        ``INSTRUME`` (upper case, ``''`` if missing).
    detector : str
        ``DETECTOR`` (or NICMOS ``CAMERA``; ``''`` if missing).
    """

    filename: str
    chips: list[Chip]
    primary_header: fits.Header
    exptime: float
    instrument: str
    detector: str
    n_sci: int = field(default=0)
    #: Rootname set when one file holds several exposures (STIS imsets, io/stis.py).
    root: str | None = field(default=None)

    @property
    def rootname(self) -> str:
        """File name without directory, ``.fits[.gz]`` and a known suffix such as
        ``_flt``; for an in-memory exposure the ``ROOTNAME`` keyword."""
        from .inputs import rootname  # local import: inputs imports nothing from here

        if self.root:
            return self.root
        if self.filename == "<in-memory>":
            return str(self.primary_header.get("ROOTNAME", "") or "").strip().lower()
        return rootname(self.filename)

    def __len__(self) -> int:
        return len(self.chips)

    def __iter__(self):
        return iter(self.chips)


# --------------------------------------------------------------------------- helpers


def parse_group(group, available: Sequence[int], filename: str) -> list[int]:
    """Resolve a ``group`` selection to a sorted list of SCI ``EXTVER`` values.

    Parameters
    ----------
    group : None, int, str or sequence of int
        ``None`` selects all chips; an int or ``"1,2"`` or ``[1, 2]`` selects chips
        by ``EXTVER`` (chip number); ``("sci", 1)`` tuples are accepted too.
    available : sequence of int
        EXTVERs present in the file.
    filename : str
        For error messages.
    """
    if group is None or (isinstance(group, str) and group.strip().lower() in ("", "none")):
        return sorted(available)
    items: list = []
    if isinstance(group, str):
        items = [p for p in group.replace(" ", "").split(",") if p]
        if items and items[0].lower() == "sci":  # drizzlepac's "sci,1" form
            items = items[1:]
    elif isinstance(group, (int, np.integer)):
        items = [int(group)]
    elif isinstance(group, tuple) and len(group) == 2 and isinstance(group[0], str):
        items = [group[1]]
    else:
        for g in group:
            if isinstance(g, tuple) and len(g) == 2:
                g = g[1]
            items.append(g)
    out = []
    for item in items:
        try:
            ev = int(item)
        except (TypeError, ValueError):
            raise InputError(f"group: {item!r} is not a chip number (for {filename})") from None
        if ev not in available:
            raise InputError(
                f"group: chip {ev} is not in {filename}; it has SCI extvers {sorted(available)}"
            )
        out.append(ev)
    return sorted(set(out))


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
    return np.array(data, copy=True)


def _header_value(key: str, *headers: fits.Header):
    for h in headers:
        if h is not None and key in h:
            val = h[key]
            if val is not None and not isinstance(val, fits.card.Undefined):
                return val
    return None


def _mean_nonzero(keys: Sequence[str], headers, filename: str, strict: bool) -> float | None:
    """Mean of the non-zero values of ``keys``; ``None`` if none is found/non-zero."""
    values = []
    for k in keys:
        v = _header_value(k, *headers)
        if v is None:
            if strict:
                raise InputFileError(f"{filename}: keyword {k} not found")
            continue
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise InputFileError(f"{filename}: keyword {k}={v!r} is not a number") from None
        if fv != 0.0:
            values.append(fv)
    if not values:
        return None
    return float(np.mean(values))


def _value_from_list(value, what: str) -> float:
    """A user value: a number or a comma list (mean of its non-zero entries)."""
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise InputError(f"{what}: {value!r} is not a number or comma list of numbers") from None
        nz = [n for n in nums if n != 0.0]
        return float(np.mean(nz)) if nz else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: {value!r} is not a number") from None


def _is_unset(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip().upper() in ("", "NONE", "INDEF"))


def _instr_param(value, keyword, default_keys, fallback_keys, headers, filename, what,
                 default, fixed=None):
    """Resolve gain / rdnoise / exptime from a user value, a keyword or defaults."""
    if not _is_unset(value) and not _is_unset(keyword):
        raise InputError(
            f"{what}: give either a value or a header keyword, not both "
            f"(got {value!r} and {keyword!r})"
        )
    if not _is_unset(value):
        return _value_from_list(value, what)
    if not _is_unset(keyword):
        keys = [k.strip().upper() for k in str(keyword).split(",") if k.strip()]
        v = _mean_nonzero(keys, headers, filename, strict=True)
        return 0.0 if v is None else v
    if fixed is not None:
        return fixed
    v = _mean_nonzero(default_keys, headers, filename, strict=False)
    if v is None and fallback_keys:
        v = _mean_nonzero(fallback_keys, headers, filename, strict=False)
    if v is None:
        if default is None:  # the caller decides (read_exposure(strict=True))
            return None
        log.warning("%s: no %s in the headers; using the default %s", filename, what, default)
        return default
    return v


def _units(bunit_raw, gain: float, exptime: float, filename: str = "",
           strict: bool = False) -> tuple[str, str, float, float]:
    """(bunit, in_units, eff_gain, conversion_factor) from BUNIT (spec §0).

    ``BUNIT`` is parsed with astropy.units (:func:`drizzlekit.io.checks.parse_bunit`);
    with ``strict`` a unit that is not counts, electrons or a rate of them is an
    :class:`~drizzlekit.exceptions.InputFileError` naming ``filename``.
    """
    from .checks import parse_bunit

    if bunit_raw is None or not str(bunit_raw).strip() or "ergs" in str(bunit_raw).lower():
        bunit = "ELECTRONS/S"  # drizzlepac's rule for a missing or flux-calibrated BUNIT
    else:
        bunit = str(bunit_raw).strip()
    in_units, electrons = parse_bunit(bunit, filename, strict=strict)
    eff_gain = 1.0 if electrons else gain
    cf = eff_gain * (exptime if in_units == "cps" else 1.0)
    return bunit, in_units, eff_gain, cf


def _strict_exptime(value, given, expkeyword, headers, filename: str) -> float:
    """The resolved exposure time, or an error naming the file and keyword."""
    from .checks import check_exptime

    if not _is_unset(given):
        return check_exptime(value, filename, "exptime (the parameter)")
    key = "EXPTIME" if _is_unset(expkeyword) else str(expkeyword).strip().upper()
    raw = _header_value(key.split(",")[0].strip(), *headers)
    return check_exptime(value, filename, key, raw)


def _cte_dir(instrument: str, detector: str, extver: int, primary: fits.Header) -> int:
    from .instruments import cte_direction  # STIS, WFPC2 (drizzlepac's classes)

    hst = cte_direction(instrument, detector)
    if hst is not None:
        return hst
    if (instrument, detector) in (("ACS", "WFC"), ("WFC3", "UVIS")):
        return -1 if extver == 1 else 1
    if (instrument, detector) == ("ACS", "HRC"):
        amp = str(primary.get("CCDAMP", "")).strip().upper()
        if amp in ("A", "B"):
            return 1
        if amp in ("C", "D"):
            return -1
    return 0


def _make_wcs(header: fits.Header, hdul: fits.HDUList, filename: str, what: str) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            w = WCS(header, fobj=hdul)
        except Exception as exc:
            raise InputFileError(f"{filename}: cannot build the WCS of {what} ({exc})") from exc
    if w.naxis != 2 or not w.has_celestial:
        raise InputFileError(f"{filename}: {what} has no 2-D celestial WCS")
    return w


def _idcscale(header: fits.Header, primary: fits.Header, w: WCS) -> float:
    v = _header_value("IDCSCALE", header, primary)
    if v is not None:
        try:
            fv = float(v)
            if fv > 0:
                return fv
        except (TypeError, ValueError):
            pass
    m = w.celestial.pixel_scale_matrix
    return float(np.sqrt(abs(np.linalg.det(m))) * 3600.0)


def _extver(hdu) -> int:
    return int(hdu.header.get("EXTVER", 1) or 1)


# --------------------------------------------------------------------------- reader


def read_exposure(
    path: PathLike | fits.HDUList,
    group=None,
    *,
    gain=None,
    rdnoise=None,
    exptime=None,
    gnkeyword: str | None = None,
    rnkeyword: str | None = None,
    expkeyword: str | None = None,
    strict: bool = False,
) -> Exposure:
    """Read one FLT/FLC-style exposure (multi-extension or single-image FITS).

    Parameters
    ----------
    path : str, path-like or astropy.io.fits.HDUList
        The file. An open ``HDUList`` (e.g. from :func:`drizzlekit.datasets.simulate_dither`)
        is read the same way; it is not closed.
    group : None, int, str or sequence of int
        Chips (SCI ``EXTVER``) to read; ``None`` = all.
    gain, rdnoise, exptime : float or str, optional
        Override values (e-/DN, e-, s); a string may be a comma list whose
        non-zero entries are averaged (drizzlepac ``[INSTRUMENT PARAMETERS]``).
    gnkeyword, rnkeyword, expkeyword : str, optional
        Header keyword(s) to read instead, comma separated, e.g.
        ``"ATODGNA,ATODGNB"`` (mean of the non-zero values). Giving both a value
        and a keyword for the same quantity is an error.
    strict : bool
        Refuse what would silently give wrong numbers (what
        :func:`drizzlekit.astrodrizzle` uses): a missing, zero, negative or
        non-finite exposure time, and a ``BUNIT`` that is not counts, electrons
        or a rate of them (see :mod:`drizzlekit.io.checks`). Without it a missing
        exposure time becomes 1 s and an unknown unit counts, with a warning.

    Returns
    -------
    Exposure

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or unreadable file, no SCI extension, SCI not 2-D, ERR/DQ shape
        different from SCI, a WCS that cannot be built. The message names the file.
    drizzlekit.exceptions.InputError
        Bad ``group`` or instrument parameters.

    Examples
    --------
    >>> exp = read_exposure("j8bt06nyq_flt.fits")            # doctest: +SKIP
    >>> exp.chips[0].sci.shape, exp.chips[0].gain            # doctest: +SKIP
    ((1024, 1024), 2.216)
    """
    if isinstance(path, fits.HDUList):
        filename = path.filename() or "<in-memory>"
        hdul, close = path, False
    else:
        filename = os.fspath(path)
        hdul, close = _open_hst(filename), True
    try:
        from .wfpc2 import as_mef  # WFPC2 GEIS/waivered/c0m: in-memory MEF + DQ file

        return _read(as_mef(hdul, filename), filename, group, gain, rdnoise, exptime,
                     gnkeyword, rnkeyword, expkeyword, strict=strict)
    finally:
        if close:
            hdul.close()


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


def _chip_arrays(hdul, hdu, ev: int, single: bool, filename: str, what: str):
    """``(sci float32, err float32 or None, dq int or None)`` of one chip, checked."""
    def find(extname):
        if single:
            return None
        for h in hdul[1:]:
            name = str(h.header.get("EXTNAME", "")).strip().upper()
            if name == extname and _extver(h) == ev:
                return h
        return None

    sci = _hdu_array(hdu, filename, what)
    if sci is None or sci.ndim != 2 or sci.size == 0:
        nd = ("no data" if sci is None else f"{sci.ndim}-D data" if sci.ndim != 2
              else f"an empty array of shape {sci.shape}")
        raise InputFileError(f"{filename}: {what} must hold a 2-D image, found {nd}")
    sci = sci.astype(np.float32, copy=False)
    err = _companion_array(find("ERR"), "ERR", filename, ev, sci.shape)
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


def read_chip_arrays(path: PathLike, extver: int):
    """The pixels of one chip, exactly as :func:`read_exposure` reads them.

    Parameters
    ----------
    path : str or path-like
        The file (any format :func:`read_exposure` reads).
    extver : int
        ``EXTVER`` of the SCI extension.

    Returns
    -------
    (sci, err, dq)
        float32 SCI, float32 ERR or None, integer DQ or None; no headers or
        WCS are built (what Dask workers and lazily read chips use,
        :mod:`drizzlekit.io.lazy`).
    """
    filename = os.fspath(path)
    raw = _open_hst(filename)
    try:
        from .wfpc2 import as_mef

        hdul = as_mef(raw, filename)
        sci_hdus, single = _sci_hdus(hdul, filename)
        if int(extver) not in sci_hdus:
            raise InputFileError(f"{filename}: no SCI,{extver} extension")
        what = "the primary HDU" if single else f"SCI,{extver}"
        return _chip_arrays(hdul, sci_hdus[int(extver)], int(extver), single, filename, what)
    finally:
        raw.close()


def _read(hdul, filename, group, gain, rdnoise, exptime, gnkeyword, rnkeyword, expkeyword,
          strict=False):
    try:
        primary = hdul[0].header.copy()
    except Exception as exc:
        raise InputFileError(f"{filename}: cannot read the primary header ({exc})") from exc

    instrument = str(primary.get("INSTRUME", "") or "").strip().upper()
    if instrument == "NICMOS":
        detector = str(primary.get("CAMERA", "") or "").strip().upper()
    else:
        detector = str(primary.get("DETECTOR", "") or "").strip().upper()

    sci_hdus, single = _sci_hdus(hdul, filename)
    selected = parse_group(group, list(sci_hdus), filename)
    n_sci = len(sci_hdus)

    chips = []
    exp_exptime = None
    for ev in selected:
        hdu = sci_hdus[ev]
        what = "the primary HDU" if single else f"SCI,{ev}"
        sci, err, dq = _chip_arrays(hdul, hdu, ev, single, filename, what)
        header = hdu.header.copy()

        headers = (primary,) if single else (primary, header)
        c_exptime = _instr_param(exptime, expkeyword, ("EXPTIME",), (), headers,
                                 filename, "exptime", None if strict else 1.0)
        if strict:
            c_exptime = _strict_exptime(c_exptime, exptime, expkeyword, headers, filename)
        if instrument == "ACS" and detector == "SBC":
            fixed_gain = 1.0 if _is_unset(gain) and _is_unset(gnkeyword) else None
            fixed_rn = 0.0 if _is_unset(rdnoise) and _is_unset(rnkeyword) else None
        else:
            fixed_gain = fixed_rn = None
        fixed_gain, fixed_rn = fixed_gain_rdnoise(  # STIS, WFPC2 (io/instruments.py)
            instrument, detector, primary, header, filename, gain=gain, gnkeyword=gnkeyword,
            rdnoise=rdnoise, rnkeyword=rnkeyword, fixed_gain=fixed_gain, fixed_rn=fixed_rn)
        c_gain = _instr_param(gain, gnkeyword, _AMP_GAIN_KEYS, _GENERIC_GAIN_KEYS, headers,
                              filename, "gain", DEFAULT_GAIN, fixed=fixed_gain)
        c_rn = _instr_param(rdnoise, rnkeyword, _AMP_RN_KEYS, _GENERIC_RN_KEYS, headers,
                            filename, "rdnoise", DEFAULT_RDNOISE, fixed=fixed_rn)

        bunit, in_units, eff_gain, cf = _units(header.get("BUNIT"), c_gain, c_exptime,
                                               f"{filename}[{what}]", strict)
        eff_gain, cf = unit_factors(instrument, in_units, eff_gain, cf, c_gain)  # WFPC2: DN
        native = _NATIVE_UNITS.get((instrument, detector if instrument != "WFPC2" else ""),
                                   bunit.upper())

        wcs = _make_wcs(header, hdul, filename, what)
        mdrizsky = header.get("MDRIZSKY") if not single else None
        chips.append(Chip(
            filename=filename,
            extver=ev,
            sci=sci,
            err=err,
            dq=dq,
            wcs=wcs,
            header=header,
            exptime=float(c_exptime),
            gain=float(c_gain),
            rdnoise=float(c_rn),
            bunit=bunit,
            in_units=in_units,
            eff_gain=float(eff_gain),
            conversion_factor=float(cf),
            native_units=native,
            idcscale=_idcscale(header, primary, wcs),
            mdrizsky=None if mdrizsky is None else float(mdrizsky),
            cte_dir=_cte_dir(instrument, detector, ev, primary),
        ))
        if exp_exptime is None:
            exp_exptime = float(c_exptime)

    if exp_exptime is None:  # group selected nothing (cannot happen: parse_group checks)
        exp_exptime = 1.0
    return Exposure(
        filename=filename,
        chips=chips,
        primary_header=primary,
        exptime=exp_exptime,
        instrument=instrument,
        detector=detector,
        n_sci=n_sci,
    )
