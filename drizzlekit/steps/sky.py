"""Step 3: sky values per chip (spec §5).

Every chip's sky statistic ``S_k`` (median, mode or mean of its good pixels,
:func:`drizzlekit.stats.image_stats`) is converted to a *brightness*
``b_k = S_k * c_k`` with ``c_k = 1 / idcscale_k**2`` (``/ exptime_k`` as well
for count data), so that chips of different pixel area and exposure time
compare. The methods:

``localmin``
    per exposure, the lowest brightness of its chips, back in each chip's units.
``globalmin``
    the lowest brightness of all chips.
``match``
    relative offsets between exposures from their overlaps, solved by least
    squares (pseudo-inverse), lowest exposure at 0 (``match_down``).
``globalmin+match``
    ``match``, then the lowest residual brightness added to every chip.

Overlaps for ``match`` are found on the pixel grid instead of with spherical
polygons (drizzlepac/skypac): every ``overlap_step``-th pixel centre of a
chip is mapped through its full WCS onto the sky and into the pixel frame of
the other exposure's chips; a block of ``overlap_step`` x ``overlap_step``
pixels belongs to the overlap when its centre falls inside another chip
(pixel edges included). Overlap borders are therefore exact to about
``overlap_step / 2`` pixels (exact for ``overlap_step=1``).

Returned skies are in each chip's data units; nothing is subtracted here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
from astropy.wcs import WCS

from ..exceptions import InputError, NoOverlapError, ParameterError, ShapeError
from ..stats import image_stats

__all__ = ["SkyInput", "compute_sky", "sky_statistic", "SKY_METHODS", "SKY_STATS"]

log = logging.getLogger(__name__)

SKY_METHODS = ("localmin", "globalmin", "match", "globalmin+match")
SKY_STATS = ("median", "mode", "mean")


@dataclass(frozen=True)
class SkyInput:
    """One chip as the sky step sees it.

    Attributes
    ----------
    data : 2-D array
        SCI data in native units (``in_units``).
    exposure : hashable
        Identifier of the exposure (file) the chip belongs to.
    mask : 2-D bool array, optional
        ``True`` = usable for the sky (DQ, static and user masks combined).
    wcs : astropy.wcs.WCS, optional
        Full (distorted) WCS of the chip, numpy pixel order; needed for
        ``match`` and as the scale fallback.
    exptime : float
        Exposure time in seconds.
    in_units : {'counts', 'cps'}
        ``'cps'`` if the data are a rate (BUNIT contains ``/s``).
    idcscale : float, optional
        Nominal pixel scale in arcsec/pixel (IDCSCALE); default
        sqrt|det CD| of ``wcs``.
    """

    data: np.ndarray
    exposure: Hashable = 0
    mask: np.ndarray | None = None
    wcs: WCS | None = None
    exptime: float = 1.0
    in_units: str = "counts"
    idcscale: float | None = None


@dataclass(frozen=True)
class _StatOptions:
    skystat: str
    lower: float | None
    upper: float | None
    nclip: int
    lsigma: float
    usigma: float
    binwidth: float
    compat: bool


# -- validation and conversion ----------------------------------------------
def _validate_chip(i: int, c: SkyInput, need_wcs: bool) -> None:
    if np.ndim(c.data) != 2:
        raise ShapeError(f"inputs[{i}].data must be 2-D, got shape {np.shape(c.data)}")
    if c.mask is not None and np.shape(c.mask) != np.shape(c.data):
        raise ShapeError(f"inputs[{i}].mask has shape {np.shape(c.mask)}, "
                         f"data has {np.shape(c.data)}")
    if c.in_units not in ("counts", "cps"):
        raise InputError(f"inputs[{i}].in_units must be 'counts' or 'cps', got {c.in_units!r}")
    if not (np.isfinite(c.exptime) and c.exptime > 0):
        raise InputError(f"inputs[{i}].exptime must be > 0, got {c.exptime!r}")
    if c.idcscale is None and c.wcs is None:
        raise InputError(f"inputs[{i}]: give idcscale or wcs (needed for the pixel area)")
    if c.idcscale is not None and not c.idcscale > 0:
        raise InputError(f"inputs[{i}].idcscale must be > 0, got {c.idcscale!r}")
    if need_wcs and not isinstance(c.wcs, WCS):
        raise InputError(f"inputs[{i}].wcs is required for overlap matching")


def _conversion(c: SkyInput) -> float:
    """Data -> brightness factor c_k (spec §5.3)."""
    scale = c.idcscale
    if scale is None:
        scale = math.sqrt(abs(np.linalg.det(c.wcs.celestial.pixel_scale_matrix))) * 3600.0
    factor = 1.0 / scale ** 2
    return factor / c.exptime if c.in_units == "counts" else factor


def _sky_stat(values: np.ndarray, opt: _StatOptions) -> tuple[float, int] | None:
    """(statistic, npix) of ``values``, or None when no value survives."""
    if values.size == 0:
        return None
    try:
        st = image_stats(values, nclip=opt.nclip, lsig=opt.lsigma, usig=opt.usigma,
                         binwidth=opt.binwidth, lower=opt.lower, upper=opt.upper,
                         fields=opt.skystat, compat=opt.compat)
    except InputError:
        return None
    return float(getattr(st, opt.skystat)), st.npix


def _good_values(c: SkyInput, region: np.ndarray | None = None) -> np.ndarray:
    data = np.asarray(c.data)
    sel = np.isfinite(data)
    if c.mask is not None:
        sel &= np.asarray(c.mask, dtype=bool)
    if region is not None:
        sel &= region
    return data[sel]


# -- min methods -------------------------------------------------------------
def _chip_brightness(chips, conv, opt, stats=None) -> np.ndarray:
    """b_k per chip (NaN where no pixel survives); ``stats``: the statistics, if known."""
    out = np.full(len(chips), np.nan)
    for k, c in enumerate(chips):
        if stats is None:
            res = _sky_stat(_good_values(c), opt)
        else:
            res = None if stats[k] is None else (float(stats[k]), 0)
        if res is None:
            log.warning("sky: chip %d (exposure %r) has no valid pixels", k, c.exposure)
        else:
            out[k] = res[0] * conv[k]
    return out


def _localmin(chips, conv, bright) -> np.ndarray:
    sky = np.zeros(len(chips))
    for exp in _exposures(chips):
        idx = [k for k, c in enumerate(chips) if c.exposure == exp]
        b = bright[idx]
        if np.all(np.isnan(b)):
            continue
        sky[idx] = np.nanmin(b) / conv[idx]
    return sky


def _globalmin(conv, bright) -> np.ndarray:
    if np.all(np.isnan(bright)):
        return np.zeros(conv.size)
    return np.nanmin(bright) / conv


def _exposures(chips) -> list:
    seen: list = []
    for c in chips:
        if c.exposure not in seen:
            seen.append(c.exposure)
    return seen


# -- overlaps ------------------------------------------------------------------
def _block_centres(shape, step: int):
    ny, nx = shape
    ys = np.arange(0, ny, step) + (min(step, ny) - 1) / 2.0
    xs = np.arange(0, nx, step) + (min(step, nx) - 1) / 2.0
    return np.minimum(xs, nx - 1), np.minimum(ys, ny - 1)


def _inside(c: SkyInput, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Which sky points fall on chip ``c`` (pixel edges included)."""
    ny, nx = np.shape(c.data)
    margin = 0.25 * max(nx, ny) + 16.0
    xl, yl = c.wcs.wcs_world2pix(ra, dec, 0)
    cand = ((xl > -margin) & (xl < nx + margin) & (yl > -margin) & (yl < ny + margin))
    out = np.zeros(ra.shape, dtype=bool)
    if not cand.any():
        return out
    x, y = c.wcs.all_world2pix(ra[cand], dec[cand], 0, quiet=True)
    out[cand] = (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
    return out


def _overlap_region(c: SkyInput, others: Sequence[SkyInput], step: int,
                    sky_points) -> np.ndarray:
    """Full-resolution bool map of chip ``c`` pixels that lie on any of ``others``."""
    ra, dec, nblk = sky_points
    hit = np.zeros(ra.shape, dtype=bool)
    for o in others:
        hit |= _inside(o, ra, dec)
    blocks = hit.reshape(nblk)
    ny, nx = np.shape(c.data)
    return np.repeat(np.repeat(blocks, step, axis=0), step, axis=1)[:ny, :nx]


def _sky_points(c: SkyInput, step: int):
    xs, ys = _block_centres(np.shape(c.data), step)
    gx, gy = np.meshgrid(xs, ys)
    ra, dec = c.wcs.all_pix2world(gx.ravel(), gy.ravel(), 0)
    return np.asarray(ra), np.asarray(dec), gx.shape


def _overlap_matrices(chips, conv, opt, step: int):
    exps = _exposures(chips)
    members = [[k for k, c in enumerate(chips) if c.exposure == e] for e in exps]
    points = [_sky_points(c, step) for c in chips]
    n = len(exps)
    a, w = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            others = [chips[k] for k in members[j]]
            total, wsum = 0.0, 0
            for k in members[i]:
                region = _overlap_region(chips[k], others, step, points[k])
                res = _sky_stat(_good_values(chips[k], region), opt) if region.any() else None
                if res is not None:
                    total += res[0] * conv[k] * res[1]
                    wsum += res[1]
            if wsum > 0:
                a[i, j], w[i, j] = total / wsum, wsum
    return exps, members, a, w


def _solve_deltas(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    rows, rhs, used = [], [], np.zeros(n, dtype=bool)
    for i in range(n):
        for j in range(i + 1, n):
            if w[i, j] > 0 and w[j, i] > 0:
                wm = 0.5 * (w[i, j] + w[j, i])
                row = np.zeros(n)
                row[i], row[j] = wm, -wm
                rows.append(row)
                rhs.append(wm * (a[i, j] - a[j, i]))
                used[[i, j]] = True
    if not rows:
        raise NoOverlapError("sky match: no two exposures share usable overlapping pixels")
    k = np.array(rows)
    if np.linalg.matrix_rank(k, 1e-12) < n - 1:
        log.warning("sky match: exposures form disconnected groups; each group is "
                    "matched internally only")
    deltas = np.linalg.pinv(k, rcond=1e-12) @ np.array(rhs)
    deltas[~used] = np.nan
    return deltas


def _match(chips, conv, opt, step: int, match_down: bool) -> np.ndarray:
    if len(_exposures(chips)) < 2:
        raise InputError("skymethod 'match' needs at least two exposures")
    exps, members, a, w = _overlap_matrices(chips, conv, opt, step)
    deltas = _solve_deltas(a, w)
    if match_down:
        deltas = deltas - np.nanmin(deltas)
    sky = np.zeros(len(chips))
    for e, idx in enumerate(members):
        if np.isfinite(deltas[e]):
            sky[idx] = deltas[e] / conv[idx]
    return sky


def _globalmin_match(chips, conv, opt, step: int) -> np.ndarray:
    sky = _match(chips, conv, opt, step, match_down=True)
    bright = _chip_brightness(chips, conv, opt)
    resid = bright - sky * conv
    if np.all(np.isnan(resid)):
        return sky
    return sky + np.nanmin(resid) / conv


# -- public ----------------------------------------------------------------
def _check_method(skymethod: str, skystat: str, overlap_step: int) -> None:
    if skymethod not in SKY_METHODS:
        raise ParameterError(f"skymethod must be one of {', '.join(SKY_METHODS)}; "
                             f"got {skymethod!r}")
    if skystat not in SKY_STATS:
        raise ParameterError(f"skystat must be one of {', '.join(SKY_STATS)}; got {skystat!r}")
    if int(overlap_step) != overlap_step or overlap_step < 1:
        raise ParameterError(f"overlap_step must be a positive integer, got {overlap_step!r}")


def compute_sky(inputs: Sequence[SkyInput], *, skymethod: str = "localmin",
                skystat: str = "median", lower: float | None = None,
                upper: float | None = None, nclip: int = 5, lsigma: float = 4.0,
                usigma: float = 4.0, binwidth: float = 0.1, match_down: bool = True,
                overlap_step: int = 4, fallback: bool = True,
                compat: bool = False, statistics=None) -> np.ndarray:
    """Sky value of every chip, in that chip's data units (spec §5).

    Parameters
    ----------
    inputs : sequence of SkyInput
        All member chips of all exposures.
    skymethod : {'localmin', 'globalmin', 'match', 'globalmin+match'}
    skystat : {'median', 'mode', 'mean'}
    lower, upper : float, optional
        Hard data limits for the statistic (input data units).
    nclip : int
        Clipping iterations.
    lsigma, usigma : float
        Clipping limits in standard deviations.
    binwidth : float
        Histogram bin width for ``mode``, in standard deviations.
    match_down : bool
        ``match``: put the lowest exposure at 0 (AstroDrizzle always does).
    overlap_step : int
        Sampling step of the overlap maps, input pixels (see module notes).
    fallback : bool
        If ``match`` fails (one exposure, no overlap), log a warning and use
        ``localmin`` (``globalmin`` for ``globalmin+match``) as AstroDrizzle
        does; if false the error propagates.
    compat : bool
        Reference mode placement in the statistic (spec Q10).
    statistics : sequence of float or None, optional
        ``localmin``/``globalmin``: every chip's :func:`sky_statistic`, computed
        elsewhere (Dask workers); the chips' ``data`` may then be empty 2-D
        placeholders.

    Returns
    -------
    numpy.ndarray
        float64, one sky value per input chip, data units. Chips without
        usable pixels get the value of their exposure (``localmin``), or 0.

    Raises
    ------
    InputError, ShapeError, ParameterError, NoOverlapError
    """
    chips = list(inputs)
    if not chips:
        raise InputError("inputs: no chips given")
    _check_method(skymethod, skystat, overlap_step)
    need_wcs = "match" in skymethod
    for i, c in enumerate(chips):
        _validate_chip(i, c, need_wcs)
    opt = _StatOptions(skystat, lower, upper, int(nclip), lsigma, usigma, binwidth, compat)
    conv = np.array([_conversion(c) for c in chips])
    if need_wcs:
        try:
            if skymethod == "match":
                return _match(chips, conv, opt, int(overlap_step), match_down)
            return _globalmin_match(chips, conv, opt, int(overlap_step))
        except InputError as exc:  # NoOverlapError is an InputError
            if not fallback:
                raise
            log.warning("sky %s failed (%s); falling back", skymethod, exc)
            skymethod = "localmin" if skymethod == "match" else "globalmin"
    if statistics is not None and len(statistics) != len(chips):
        raise ShapeError(f"statistics: {len(statistics)} values for {len(chips)} chips")
    bright = _chip_brightness(chips, conv, opt, statistics)
    if skymethod == "localmin":
        return _localmin(chips, conv, bright)
    return _globalmin(conv, bright)


def sky_statistic(chip: SkyInput, *, skystat: str = "median", lower: float | None = None,
                  upper: float | None = None, nclip: int = 5, lsigma: float = 4.0,
                  usigma: float = 4.0, binwidth: float = 0.1,
                  compat: bool = False) -> float | None:
    """The clipped statistic of one chip's usable pixels, data units (the per-chip part of
    ``localmin``/``globalmin``; keywords as :func:`compute_sky`).

    Returns
    -------
    float or None
        None when no pixel survives the mask and the clipping.
    """
    _check_method("localmin", skystat, 1)
    _validate_chip(0, chip, False)
    opt = _StatOptions(skystat, lower, upper, int(nclip), lsigma, usigma, binwidth, compat)
    res = _sky_stat(_good_values(chip), opt)
    return None if res is None else res[0]
