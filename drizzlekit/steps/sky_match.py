"""Step 3, the ``match`` and ``globalmin+match`` sky methods (spec §5).

Overlaps are found on the pixel grid instead of with spherical polygons
(drizzlepac/skypac): every ``overlap_step``-th pixel centre of a chip is
mapped through its full WCS onto the sky and into the pixel frame of the
other exposure's chips; a block of ``overlap_step`` x ``overlap_step``
pixels belongs to the overlap when its centre falls inside another chip
(pixel edges included). Overlap borders are therefore exact to about
``overlap_step / 2`` pixels (exact for ``overlap_step=1``).

The work splits in two:

* per chip, :func:`overlap_statistics`: the clipped statistic of the chip's
  usable pixels over its overlap with each other exposure. It needs that
  chip's pixels and only the WCSs and shapes of the others, so it can run
  where the chip is (a Dask worker, :mod:`drizzlekit.distributed.chips`);
* for the run, :func:`match_sky`: the exposures' mean overlap brightnesses
  ``a[i, j]`` (chips' statistics weighted by their pixel counts, in chip
  order), relative offsets between exposures by least squares
  (pseudo-inverse), the lowest exposure at 0.

:func:`drizzlekit.steps.sky.compute_sky` calls both, or only the second when
the per-chip statistics are given (``overlaps=``); the numbers are the same.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..exceptions import InputError, NoOverlapError
from .sky import (SkyInput, _chip_brightness, _check_method, _exposures, _good_values,
                  _sky_stat, _StatOptions, _validate_chip)

__all__ = ["overlap_statistics", "match_sky"]

log = logging.getLogger(__name__)

#: One chip of another exposure as the overlap search sees it: ``(wcs, (ny, nx))``.
Frame = tuple


# -- overlaps ------------------------------------------------------------------
def _block_centres(shape, step: int):
    ny, nx = shape
    ys = np.arange(0, ny, step) + (min(step, ny) - 1) / 2.0
    xs = np.arange(0, nx, step) + (min(step, nx) - 1) / 2.0
    return np.minimum(xs, nx - 1), np.minimum(ys, ny - 1)


def _inside(frame: Frame, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Which sky points fall on the chip ``frame = (wcs, shape)`` (pixel edges included)."""
    wcs, (ny, nx) = frame
    margin = 0.25 * max(nx, ny) + 16.0
    xl, yl = wcs.wcs_world2pix(ra, dec, 0)
    cand = ((xl > -margin) & (xl < nx + margin) & (yl > -margin) & (yl < ny + margin))
    out = np.zeros(ra.shape, dtype=bool)
    if not cand.any():
        return out
    x, y = wcs.all_world2pix(ra[cand], dec[cand], 0, quiet=True)
    out[cand] = (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
    return out


def _overlap_region(c: SkyInput, others: Sequence[Frame], step: int,
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


def _chip_overlaps(c: SkyInput, groups: Sequence[Sequence[Frame]], opt: _StatOptions,
                   step: int) -> list:
    """``(statistic, npix)`` or None of chip ``c`` over each group of frames."""
    points = _sky_points(c, step)
    out = []
    for others in groups:
        region = _overlap_region(c, others, step, points) if len(others) else None
        out.append(_sky_stat(_good_values(c, region), opt)
                   if region is not None and region.any() else None)
    return out


def overlap_statistics(chip: SkyInput, groups: Sequence[Sequence[Frame]], *,
                       skystat: str = "median", lower: float | None = None,
                       upper: float | None = None, nclip: int = 5, lsigma: float = 4.0,
                       usigma: float = 4.0, binwidth: float = 0.1, overlap_step: int = 4,
                       compat: bool = False) -> list:
    """The per-chip part of ``match``: the chip's statistic over each overlap.

    Parameters
    ----------
    chip : SkyInput
        The chip, with its pixels, mask and full WCS.
    groups : sequence of sequences of (WCS, (ny, nx))
        For every exposure, its chips' WCSs and shapes (no pixels needed);
        an empty group (e.g. for the chip's own exposure) gives None.
    skystat, lower, upper, nclip, lsigma, usigma, binwidth, overlap_step, compat
        As :func:`~drizzlekit.steps.sky.compute_sky`.

    Returns
    -------
    list
        Per group, ``(statistic in data units, number of pixels)`` of the
        chip's usable pixels on any chip of the group, or None where there
        is no such pixel. ``compute_sky(..., overlaps=...)`` takes these.
    """
    _check_method("match", skystat, overlap_step)
    _validate_chip(0, chip, True)
    opt = _StatOptions(skystat, lower, upper, int(nclip), lsigma, usigma, binwidth, compat)
    return _chip_overlaps(chip, groups, opt, int(overlap_step))


# -- the run's solution --------------------------------------------------------
def _overlap_matrices(chips, conv, opt, step: int, overlaps=None):
    exps = _exposures(chips)
    members = [[k for k, c in enumerate(chips) if c.exposure == e] for e in exps]
    n = len(exps)
    if overlaps is None:
        frames = [[(chips[k].wcs, np.shape(chips[k].data)) for k in m] for m in members]
        overlaps = [_chip_overlaps(c, [() if e == c.exposure else frames[j]
                                       for j, e in enumerate(exps)], opt, step)
                    for c in chips]
    a, w = np.zeros((n, n)), np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            total, wsum = 0.0, 0
            for k in members[i]:
                res = overlaps[k][j]
                if res is not None:
                    total += res[0] * conv[k] * res[1]
                    wsum += res[1]
            if wsum > 0:
                a[i, j], w[i, j] = total / wsum, wsum
    return members, a, w


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


def _match(chips, conv, opt, step: int, match_down: bool, overlaps=None) -> np.ndarray:
    if len(_exposures(chips)) < 2:
        raise InputError("skymethod 'match' needs at least two exposures")
    members, a, w = _overlap_matrices(chips, conv, opt, step, overlaps)
    deltas = _solve_deltas(a, w)
    if match_down:
        deltas = deltas - np.nanmin(deltas)
    sky = np.zeros(len(chips))
    for e, idx in enumerate(members):
        if np.isfinite(deltas[e]):
            sky[idx] = deltas[e] / conv[idx]
    return sky


def match_sky(chips: Sequence[SkyInput], conv: np.ndarray, opt: _StatOptions, step: int,
              skymethod: str, match_down: bool, overlaps=None,
              statistics=None) -> np.ndarray:
    """Sky of every chip by ``match`` or ``globalmin+match`` (inputs validated by
    :func:`~drizzlekit.steps.sky.compute_sky`, which documents the arguments).

    Raises
    ------
    InputError
        Fewer than two exposures.
    NoOverlapError
        No two exposures share usable pixels.
    """
    if skymethod == "match":
        return _match(chips, conv, opt, step, match_down, overlaps)
    sky = _match(chips, conv, opt, step, True, overlaps)
    bright = _chip_brightness(chips, conv, opt, statistics)
    resid = bright - sky * conv
    if np.all(np.isnan(resid)):
        return sky
    return sky + np.nanmin(resid) / conv
