"""Per-chip instrument parameters: gain, read noise, exposure time, units, CTE direction.

The keyword lookups and defaults of spec §0 that
:func:`drizzlekit.io.fits_input.read_exposure` applies to every chip (the rules
are listed in that module's docstring); STIS and WFPC2 specifics live in
:mod:`drizzlekit.io.instruments`.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from astropy.io import fits

from ..exceptions import InputError, InputFileError

__all__ = ["DEFAULT_GAIN", "DEFAULT_RDNOISE"]

# the warnings keep the logger name they had before this module was split out
log = logging.getLogger("drizzlekit.io.fits_input")

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
            raise InputError(f"{what}: {value!r} is not a number or comma list of "
                             "numbers") from None
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
