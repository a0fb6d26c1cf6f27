"""Cheap sanity checks of the inputs, run before any heavy computation.

No silent wrong answer: every check raises an
:class:`~drizzlekit.exceptions.InputFileError` whose message names the file
and chip at fault and what to do about it. :func:`check_inputs` runs them all in
:func:`drizzlekit.pipeline.prepare`, before step 1; together they cost about
0.1 s for eight 2048x4096 chips (the distortion is sampled on a coarse grid,
the data only where a strided look is not enough). The products are checked by
:mod:`drizzlekit.io.output_checks`.

What is checked
---------------
* **Units** (:func:`parse_bunit`): ``BUNIT`` is parsed with
  :mod:`astropy.units` after mapping the HST spellings (``ELECTRONS``,
  ``COUNTS/S``, ``DN``, ``e-/s``, ``CTS``, ``/SEC`` ...) to unit names. Only
  electrons, counts (DN, ADU) and rates of them per second are accepted:
  ``MJy/sr`` is not a count rate just because it contains ``/s``.
* **Exposure time** (:func:`check_exptime`): missing, zero, negative or
  non-finite is an error (it used to become 1 s).
* **Chip WCS** (:func:`check_chip_wcs`): finite ``CRVAL``/``CRPIX``/CD, a CD
  matrix that is not singular, and a distortion that neither folds the chip
  over itself nor stretches it absurdly (the Jacobian of the distorted ->
  undistorted pixel map, sampled on a grid over the chip).
* **Usable pixels** (:func:`check_chip_usable`): a chip whose pixels are all
  NaN/inf or all flagged by the DQ bits in use.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from typing import Sequence

import numpy as np

from ..exceptions import InputFileError

__all__ = [
    "parse_bunit",
    "check_exptime",
    "check_chip_wcs",
    "check_chip_usable",
    "check_inputs",
]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- units
#: HST (and common) spellings of unit names -> astropy.units names (lower case keys).
_UNIT_ALIASES = {
    "electrons": "electron", "electron": "electron", "e-": "electron", "e": "electron",
    "elec": "electron",
    "counts": "count", "count": "count", "cts": "count", "ct": "count",
    "dn": "DN", "adu": "adu", "cps": "count/s",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s", "s": "s",
}
_TOKEN = re.compile(r"[A-Za-z]+(?:-(?![0-9]))?|[^A-Za-z]+")


def _to_astropy_unit(text: str):
    import astropy.units as u

    tokens = _TOKEN.findall(text)
    mapped = "".join(_UNIT_ALIASES.get(t.lower(), t) for t in tokens)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        return u.Unit(mapped, parse_strict="raise")


def parse_bunit(bunit: str, filename: str = "", *, strict: bool = True) -> tuple[str, bool]:
    """Classify a ``BUNIT`` value as counts/electrons or a rate of them.

    Parameters
    ----------
    bunit : str
        The ``BUNIT`` text, e.g. ``'ELECTRONS'``, ``'COUNTS/S'``, ``'e-/s'``.
    filename : str
        Named in the error message (``file[SCI,n]``).
    strict : bool
        Raise on a unit that is not counts, electrons or a rate of them;
        otherwise log a warning and classify it as counts (the old behaviour).

    Returns
    -------
    (in_units, electrons) : (str, bool)
        ``in_units`` is ``'cps'`` for a rate per second, else ``'counts'``;
        ``electrons`` is True for electrons (gain 1), False for counts/DN/ADU
        (multiplied by the gain).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        (``strict``) Anything else, e.g. ``MJy/sr``, ``erg/s/cm2/A`` or an
        unparsable string; the message names the file.

    Examples
    --------
    >>> parse_bunit("ELECTRONS/S")
    ('cps', True)
    >>> parse_bunit("COUNTS")
    ('counts', False)
    """
    import astropy.units as u

    text = str(bunit).strip()
    try:
        unit = _to_astropy_unit(text)
    except Exception:
        unit = None
    if unit is not None:
        for base, electrons in ((u.electron, True), (u.count, False), (u.DN, False),
                                (u.adu, False)):
            ratio = (unit / base).decompose()
            if ratio == u.dimensionless_unscaled:
                return "counts", electrons
            if (ratio * u.s).decompose() == u.dimensionless_unscaled:
                return "cps", electrons
    msg = (f"{filename}: BUNIT = {text!r} is not counts, electrons, DN or a rate of them "
           "per second; drizzlekit cannot convert it to electrons (give calibrated "
           "FLT/FLC data, or fix BUNIT if it is wrong)")
    if strict:
        raise InputFileError(msg)
    log.warning("%s; treated as counts", msg)
    return ("cps" if "/s" in text.lower() else "counts"), False


# --------------------------------------------------------------------------- exposure time
def check_exptime(value, filename: str, keyword: str = "EXPTIME", raw=None) -> float:
    """The exposure time, or an error naming the file and keyword.

    Parameters
    ----------
    value : float or None
        Exposure time (s) as resolved (None = not found).
    filename : str
        File (and chip) for the message.
    keyword : str
        Header keyword(s) or parameter it came from.
    raw : object, optional
        The value as stored (shown when ``value`` is None because it was 0).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing, zero, negative or non-finite exposure time.
    """
    if value is None:
        if raw is None:
            what = f"keyword {keyword} is missing (primary and SCI headers)"
        else:
            what = f"{keyword} = {raw!r}"
        raise InputFileError(
            f"{filename}: {what}; the exposure time must be a positive number of "
            "seconds (give exptime= or expkeyword= to override)")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputFileError(f"{filename}: {keyword} = {value!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise InputFileError(
            f"{filename}: {keyword} = {value!r}; the exposure time must be a positive "
            "number of seconds (give exptime= or expkeyword= to override)")
    return v


# --------------------------------------------------------------------------- WCS
#: wcslib stores an undefined (NaN) header value as this number.
_WCS_UNDEFINED = 1e30
#: Accepted range of the local area ratio (distorted / undistorted pixel) of a
#: distortion model; real HST models stay within a few per cent of 1.
DISTORTION_AREA_RANGE = (0.25, 4.0)


def linear_wcs(w):
    """``w`` without SIP, lookup-table and D2IM distortion (a copy)."""
    out = w.deepcopy()
    out.sip = None
    out.cpdis1 = out.cpdis2 = None
    out.det2im1 = out.det2im2 = None
    out.wcs.ctype = [c.replace("-SIP", "") for c in out.wcs.ctype]
    out.wcs.set()
    return out


def _has_distortion(w) -> bool:
    return any(getattr(w, a, None) is not None
               for a in ("sip", "cpdis1", "cpdis2", "det2im1", "det2im2"))


def check_chip_wcs(wcs, shape: tuple[int, int], name: str, *, distortion: bool = True,
                   ngrid: int = 25) -> None:
    """Refuse a chip WCS that cannot be drizzled sensibly.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        The chip WCS (with its distortion).
    shape : (ny, nx)
        Chip shape, pixels.
    name : str
        ``file[SCI,n]`` for the message.
    distortion : bool
        Check the distortion too (off when ``coeffs=False``: it is not used).
    ngrid : int
        Samples per axis of the distortion check (``ngrid**2`` points).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Non-finite ``CRVAL``/``CRPIX``/CD, a singular CD matrix, a distortion
        giving non-finite coordinates, folding the chip over itself
        (Jacobian determinant <= 0) or changing the pixel area by more than
        :data:`DISTORTION_AREA_RANGE`.
    """
    c = wcs.wcs
    crval = np.asarray(c.crval, float)
    if not np.all(np.isfinite(crval)) or np.any(np.abs(crval) > _WCS_UNDEFINED):
        raise InputFileError(f"{name}: CRVAL {list(crval)} is not finite; the WCS is unusable")
    crpix = np.asarray(c.crpix, float)
    if not np.all(np.isfinite(crpix)) or np.any(np.abs(crpix) > _WCS_UNDEFINED):
        raise InputFileError(f"{name}: CRPIX {list(crpix)} is not finite; the WCS is unusable")
    try:
        cd = np.asarray(wcs.celestial.pixel_scale_matrix, float)
    except Exception as exc:
        raise InputFileError(f"{name}: the CD matrix cannot be evaluated ({exc})") from exc
    if not np.all(np.isfinite(cd)) or np.any(np.abs(cd) > _WCS_UNDEFINED):
        raise InputFileError(f"{name}: the CD matrix holds NaN or infinite values; the WCS "
                             "is unusable")
    norm = float(np.abs(cd).max())
    det = float(np.linalg.det(cd))
    if norm == 0.0 or abs(det) <= 1e-8 * norm * norm:
        raise InputFileError(
            f"{name}: the CD matrix {cd.tolist()} is singular (determinant {det:.3g}); "
            "the chip would collapse onto a line in the sky")
    if not distortion or not _has_distortion(wcs):
        return
    ny, nx = int(shape[0]), int(shape[1])
    xs = np.linspace(0.0, nx - 1.0, min(ngrid, nx))
    ys = np.linspace(0.0, ny - 1.0, min(ngrid, ny))
    gx, gy = np.meshgrid(xs, ys)
    try:
        ra, dec = wcs.all_pix2world(gx, gy, 0)
        u, v = linear_wcs(wcs).wcs_world2pix(ra, dec, 0)
    except Exception as exc:
        raise InputFileError(f"{name}: the distortion model cannot be evaluated over the "
                             f"chip ({exc})") from exc
    bad = ~(np.isfinite(u) & np.isfinite(v))
    if bad.any():
        j, i = np.argwhere(bad)[0]
        raise InputFileError(f"{name}: the distortion model gives no sky position for pixel "
                             f"({gx[j, i]:.0f}, {gy[j, i]:.0f}); the WCS is unusable")
    if len(xs) < 2 or len(ys) < 2:
        return
    dx, dy = np.diff(xs)[None, :], np.diff(ys)[:, None]
    dudx = np.diff(u, axis=1)[:-1, :] / dx
    dvdx = np.diff(v, axis=1)[:-1, :] / dx
    dudy = np.diff(u, axis=0)[:, :-1] / dy
    dvdy = np.diff(v, axis=0)[:, :-1] / dy
    jac = dudx * dvdy - dudy * dvdx
    lo, hi = DISTORTION_AREA_RANGE
    worst = int(np.argmin(jac))
    if jac.flat[worst] <= 0:
        j, i = np.unravel_index(worst, jac.shape)
        raise InputFileError(
            f"{name}: the distortion model folds the chip over itself near pixel "
            f"({xs[i]:.0f}, {ys[j]:.0f}) (Jacobian determinant {jac.flat[worst]:.3g}); "
            "check the SIP / lookup-table distortion keywords")
    if jac.min() < lo or jac.max() > hi:
        k = int(np.argmax(np.abs(np.log(jac))))
        j, i = np.unravel_index(k, jac.shape)
        raise InputFileError(
            f"{name}: the distortion model changes the pixel area by a factor "
            f"{jac.flat[k]:.3g} near pixel ({xs[i]:.0f}, {ys[j]:.0f}) (real distortion "
            f"stays within {lo}-{hi}); check the SIP / lookup-table distortion keywords")


# --------------------------------------------------------------------------- data
def check_chip_usable(sci: np.ndarray, dq: np.ndarray | None,
                      bits: Sequence[tuple[object, str]], name: str) -> None:
    """Refuse a chip with no finite pixel, or none that the DQ bits in use keep.

    Parameters
    ----------
    sci : 2-D array
        The chip's science data.
    dq : 2-D integer array or None
        The chip's DQ flags (None: no DQ array).
    bits : sequence of (bits, parameter name)
        The DQ bit settings the run uses (``(final_bits, 'final_bits')`` ...);
        ``bits=None`` means the DQ is not used by that step.
    name : str
        ``file[SCI,n]`` for the message.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Every pixel is NaN/inf, or every finite pixel is flagged bad for one
        of ``bits`` (the message names the parameter).

    Notes
    -----
    A strided look (every 7th pixel of every 7th row) settles any ordinary
    chip; the whole chip is examined only when that look finds nothing.
    """
    from .bits import dq_to_mask

    used = [(b, pname) for b, pname in bits if dq is not None and b is not None]
    for step in (7, 1):
        finite = np.isfinite(sci[::step, ::step])
        if not finite.any():
            continue
        if all((finite & dq_to_mask(dq[::step, ::step], b, pname)).any() for b, pname in used):
            return
    if not np.isfinite(sci).any():
        raise InputFileError(f"{name}: every pixel is NaN or infinite; the chip has no data "
                             "(leave it out, or select the good chips with group=)")
    finite = np.isfinite(sci)
    for b, pname in used:
        if not (finite & dq_to_mask(dq, b, pname)).any():
            raise InputFileError(
                f"{name}: every pixel with data is flagged bad in the DQ array for "
                f"{pname}={b!r}; nothing would be drizzled (check the DQ array, or add its "
                f"flags to {pname} to treat them as good)")


# --------------------------------------------------------------------------- a whole run
#: Instruments whose calibrated files always carry a distortion model once
#: ``updatewcs`` has run (as the archive's products do).
_DISTORTED = ("ACS", "WFC3")


def _bits_in_use(p: dict) -> list[tuple[object, str]]:
    bits = []
    if p.get("driz_separate"):
        bits.append((p.get("driz_sep_bits"), "driz_sep_bits"))
    if p.get("driz_combine"):
        bits.append((p.get("final_bits"), "final_bits"))
    return bits


def check_inputs(res) -> None:
    """Every chip of a prepared run: exposure time, WCS and usable pixels.

    Parameters
    ----------
    res : drizzlekit.pipeline.AstrodrizzleResult
        After the inputs were read (``params``, ``exposures``, ``names``).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        See :func:`check_exptime`, :func:`check_chip_wcs` and
        :func:`check_chip_usable`; the message names the file and chip.
    """
    p = res.params
    bits = _bits_in_use(p)
    for (name, extver), e, chip in res.chips():
        where = f"{name}[SCI,{extver}]"
        check_exptime(chip.exptime, where, "exptime")
        check_chip_wcs(chip.wcs, chip.shape, where, distortion=bool(p.get("coeffs", True)))
        check_chip_usable(chip.sci, chip.dq, bits, where)
        if res.exposures[e].instrument in _DISTORTED and p.get("coeffs", True) and \
                not _has_distortion(chip.wcs):
            log.warning("%s: %s data but the WCS has no distortion model (no SIP or lookup "
                        "tables): drizzlekit does not run updatewcs, so the product will not "
                        "be corrected for distortion (see the README, 'Your own HST data')",
                        where, res.exposures[e].instrument)
