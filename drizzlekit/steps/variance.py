"""Error propagation of the final drizzle (``final_err=True``).

Each input pixel i of value ``d_i`` and variance ``v_i`` (its ERR squared,
both x ``eff_gain`` and scaled like the data) enters an output pixel o with
the weight ``w_io = a_io * w_i`` (overlap fraction x input weight). The
output value is the weighted mean ``I_o = sum(w_io d_i) / sum(w_io)``, so for
independent input pixels its variance is exactly::

    V_o = sum(w_io**2 v_i) / sum(w_io)**2

which is what the drizzle core accumulates in its squared-weight planes
(``Drizzle.add_image(..., data2=...)``). ``ERR_o = sqrt(V_o)`` is then
converted to the units of SCI with the same factor as SCI (rate or counts,
gain); the variance scales with the square of that factor.

Known limitation (correlated noise): ``V_o`` is the correct variance of
each output pixel on its own. When ``pixfrac`` or the output scale makes
an input pixel land on several output pixels, neighbouring output pixels
share inputs and are correlated, so the noise of a sum over an aperture is
larger than ``sqrt(sum(V_o))`` (Fruchter & Hook 2002, the noise-correlation
ratio R; e.g. R = 1 for pixfrac = 1 and output pixels the size of the input
pixels on an exact integer dither, and > 1 for sub-pixel dithers or smaller
output pixels).
"""

from __future__ import annotations

import numpy as np

from ..exceptions import InputError

__all__ = ["check_err", "chip_variance", "err_in_sci_units"]


def check_err(chip, wht_type: str | None) -> None:
    """Raise if ``chip`` cannot give a variance for every pixel it drizzles.

    Parameters
    ----------
    chip : DrizzleInput
        The chip (``err`` in data units, ``mask`` True = good).
    wht_type : {'EXP', 'ERR', 'IVM', None}
        The input weighting; with ``'ERR'`` pixels with an unusable ERR get
        zero weight anyway, so only a missing ERR array is an error.

    Raises
    ------
    InputError
        No ERR array, wrong shape, or non-finite / negative ERR values on
        good (unmasked) pixels.
    """
    if chip.err is None:
        raise InputError(f"{chip.name}: no ERR array; final_err=True needs the inputs' "
                         "ERR extensions (set final_err=False)")
    err = np.asarray(chip.err)
    if err.shape != np.shape(chip.data):
        raise InputError(f"{chip.name}: ERR has shape {err.shape}, SCI has "
                         f"{np.shape(chip.data)}")
    if wht_type is not None and str(wht_type).upper() == "ERR":
        return
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(err) & (err >= 0))
    if chip.mask is not None:
        bad &= np.asarray(chip.mask, dtype=bool)
    n = int(np.count_nonzero(bad))
    if n:
        raise InputError(f"{chip.name}: ERR is non-finite or negative on {n} good pixel(s); "
                         "flag them in DQ (final_bits) or set final_err=False")


def chip_variance(chip, weight: np.ndarray) -> np.ndarray:
    """Variance of ``drizzle_steps.chip_data``, float32.

    ``(ERR * eff_gain)**2`` in the chip's units (electrons**2, or (e-/s)**2
    for rate data; the drizzle core divides by ``exptime**2`` for count
    data and multiplies by ``iscale**2``); 0 where ``weight`` is 0.
    """
    sigma = np.asarray(chip.err, dtype=np.float64) * float(chip.eff_gain)
    with np.errstate(invalid="ignore", over="ignore"):
        var = np.where(np.asarray(weight) > 0, sigma * sigma, 0.0)
    var[~np.isfinite(var)] = 0.0  # only where the weight is 0 (check_err)
    return np.ascontiguousarray(var, dtype=np.float32)


def err_in_sci_units(var: np.ndarray, **units) -> np.ndarray:
    """ERR (1 sigma) in the units of the final SCI.

    Parameters
    ----------
    var : array
        Drizzled variance of the rate image ((e-/s)**2, x gain**2 for count
        data), NaN where nothing contributed.
    **units
        The keyword arguments given to
        ``drizzle_steps.final_units`` for SCI
        (``bunit``, ``native_units``, ``gain``, ``texptime``,
        ``final_units``, ``proc_unit``): ``sqrt(var)`` gets SCI's factor.

    Returns
    -------
    numpy.ndarray of float32
        NaN where ``var`` is NaN.
    """
    from .drizzle_steps import final_units

    with np.errstate(invalid="ignore"):
        err = np.sqrt(np.asarray(var, dtype=np.float32))
    return final_units(err, **units)[0].astype(np.float32, copy=False)
