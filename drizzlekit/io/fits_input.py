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

The pieces live in small modules and are importable from here as before:
:class:`Chip` and :class:`Exposure` in :mod:`drizzlekit.io.exposure_model`, file
opening and :func:`read_chip_arrays` in :mod:`drizzlekit.io.fits_arrays`, the
gain/read-noise/exposure-time/unit rules above in :mod:`drizzlekit.io.instrument_params`.
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputError, InputFileError
from .exposure_model import Chip, Exposure
from .fits_arrays import PathLike, _chip_arrays, _open_hst, _sci_hdus, read_chip_arrays
from .instrument_params import (
    _AMP_GAIN_KEYS,
    _AMP_RN_KEYS,
    _GENERIC_GAIN_KEYS,
    _GENERIC_RN_KEYS,
    _NATIVE_UNITS,
    DEFAULT_GAIN,
    DEFAULT_RDNOISE,
    _cte_dir,
    _header_value,
    _instr_param,
    _is_unset,
    _strict_exptime,
    _units,
)
from .instruments import fixed_gain_rdnoise, unit_factors

__all__ = ["Chip", "Exposure", "read_exposure", "read_chip_arrays", "parse_group"]

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
