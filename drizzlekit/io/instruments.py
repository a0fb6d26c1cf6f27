"""Per-instrument chip parameters that the generic ``BUNIT``/keyword rules get wrong.

:func:`drizzlekit.io.fits_input.read_exposure` derives gain, read noise and units from
generic keywords (``ATODGNA..D``, ``READNSEA..D``, ``BUNIT``). Two HST instruments
need drizzlepac's instrument classes instead (``stisData.py``, ``wfpc2Data.py``):

=================  =============================  =============================  ======
instrument         gain (e-/DN)                   read noise (e-)                cte_dir
=================  =============================  =============================  ======
STIS CCD           ``ATODGAIN`` (primary)         ``READNSE`` (primary)          +1
STIS MAMA          1                              0                              0
WFPC2              per chip, from ``DETECTOR``    per chip, from ``DETECTOR``    -1
                   and ``ATODGAIN`` (table)       and ``ATODGAIN`` (table)
=================  =============================  =============================  ======

WFPC2 data are DN: as drizzlepac, drizzlekit multiplies them by the chip's gain
(``eff_gain`` = ``conversion_factor`` = gain) whatever ``BUNIT`` says and divides the final
product by the gain again (``proc_unit='native'``). One deliberate difference: GEIS and
waivered files (and old ``c0m`` files) have no ``BUNIT``, which drizzlepac takes as
``ELECTRONS/S`` (``in_units = 'cps'``): its ``_drw`` product is then in DN although drizzled
as a rate, and its cosmic-ray step compares a blot in the wrong units with the data (two
copies of a real exposure with 150 known cosmic rays per chip: drizzlepac 3.11.0 flags
~10000 good pixels per 200x200 chip wrongly and finds 73 % of the cosmic rays). drizzlekit
reads a WFPC2 science array without ``BUNIT`` as ``COUNTS`` (:func:`.wfpc2.open_wfpc2`):
217 false flags per chip, 99.4 % found, and a product in DN/s (drizzlepac's values divided
by EXPTIME; measured in tests/test_formats_peer.py).

A user value or keyword (``gain``/``gnkeyword``, ``rdnoise``/``rnkeyword``) always wins.
"""

from __future__ import annotations

from astropy.io import fits

from .wfpc2 import chip_gain_rdnoise

__all__ = ["fixed_gain_rdnoise", "unit_factors", "cte_direction"]


def _unset(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip().upper() in ("", "NONE", "INDEF"))


def _first(key: str, *headers: fits.Header):
    for h in headers:
        if h is not None and key in h and h[key] is not None and \
                not isinstance(h[key], fits.card.Undefined):
            return h[key]
    return None


def _number(value, key: str, filename: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        from ..exceptions import InputFileError

        raise InputFileError(f"{filename}: keyword {key}={value!r} is not a number") from None


def fixed_gain_rdnoise(instrument: str, detector: str, primary: fits.Header,
                       header: fits.Header, filename: str, *, gain=None, gnkeyword=None,
                       rdnoise=None, rnkeyword=None, fixed_gain: float | None = None,
                       fixed_rn: float | None = None) -> tuple[float | None, float | None]:
    """Instrument gain and read noise of one chip, where the instrument defines them.

    Parameters
    ----------
    instrument, detector : str
        ``INSTRUME`` and ``DETECTOR`` (upper case) of the exposure.
    primary, header : astropy.io.fits.Header
        Primary and SCI headers of the chip.
    filename : str
        For error messages.
    gain, gnkeyword, rdnoise, rnkeyword
        The user's instrument parameters; a set one disables the default for that
        quantity.
    fixed_gain, fixed_rn : float or None
        Values already fixed by the caller (returned unchanged where this function
        has no rule).

    Returns
    -------
    (float or None, float or None)
        Gain (e-/DN) and read noise (e-); ``None`` = use the generic keyword rules.
    """
    user_gain = not (_unset(gain) and _unset(gnkeyword))
    user_rn = not (_unset(rdnoise) and _unset(rnkeyword))
    g, rn = None, None
    if instrument == "STIS":
        if detector == "CCD":
            g = _number(_first("ATODGAIN", primary, header), "ATODGAIN", filename)
            rn = _number(_first("READNSE", primary, header), "READNSE", filename)
        elif "MAMA" in detector:
            g, rn = 1.0, 0.0
    elif instrument == "WFPC2" and not (user_gain and user_rn):
        g, rn = chip_gain_rdnoise(_first("DETECTOR", header, primary),
                                  _first("ATODGAIN", primary, header), filename)
    out_g = fixed_gain if (user_gain or g is None) else g
    out_rn = fixed_rn if (user_rn or rn is None) else rn
    return out_g, out_rn


def unit_factors(instrument: str, in_units: str, eff_gain: float, conversion_factor: float,
                 gain: float) -> tuple[float, float]:
    """``(eff_gain, conversion_factor)`` with drizzlepac's instrument rule applied.

    WFPC2: both equal the chip gain (data in DN, whatever ``BUNIT`` says); every
    other instrument keeps the values derived from ``BUNIT``.
    """
    if instrument == "WFPC2":
        return float(gain), float(gain)
    return eff_gain, conversion_factor


def cte_direction(instrument: str, detector: str) -> int | None:
    """drizzlepac's CTE readout direction for STIS and WFPC2 (``None``: not defined here)."""
    if instrument == "WFPC2":
        return -1
    if instrument == "STIS":
        return 1 if detector == "CCD" else 0
    return None
