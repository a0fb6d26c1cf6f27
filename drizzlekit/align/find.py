"""Source finding for alignment: drizzlepac's ``imagefindpars`` on photutils 3.

:func:`find_sources` finds point-like sources in one chip and returns a
catalog the alignment engine can use (0-based pixel ``x``, ``y``, ``flux``).
The parameters are TweakReg's ``imagefindpars`` with their drizzlepac
meaning, mapped onto :class:`photutils.detection.DAOStarFinder` (default) or
:class:`~photutils.detection.IRAFStarFinder`:

==================  ==========================================================
imagefindpars       what happens
==================  ==========================================================
computesig          sky noise ``sigma = sqrt(2 |mode|)`` of the image (the
                    drizzlepac rule for data in electrons), never below the
                    measured pixel-to-pixel noise (:func:`sky_stats`)
skysigma            the sky noise used when ``computesig`` is off
threshold           detection threshold ``threshold * sigma`` (DAOFIND
                    scaling by the kernel, photutils ``scale_threshold``)
conv_width          FWHM of the Gaussian detection kernel (``fwhm``), pixels
nsigma              kernel half-size in kernel sigmas (``sigma_radius``)
ratio, theta        kernel axis ratio and angle (DAOStarFinder only)
peakmax             ``peak_max`` (e.g. saturated stars)
peakmin, fluxmin,   cuts on the sky-subtracted ``peak`` and ``flux`` of each
fluxmax             source
dqbits              DQ flags *ignored*; pixels with other flags are masked
                    (:func:`drizzlekit.io.bits.dq_to_mask`)
use_sharp_round     apply ``sharplo..sharphi`` and ``roundlo..roundhi``
                    (photutils ``sharpness_range``, ``roundness_range``); off
                    means no sharpness/roundness cuts, as in drizzlepac
nbright             (TweakReg catalog parameter) keep the brightest sources
==================  ==========================================================

Detections closer than ``min_separation`` (default ``conv_width``) to a
brighter kept source are dropped; this is done after the cosmic-ray test so
that a rejected cosmic ray never hides a star next to it.

Cosmic rays
-----------
Unflagged cosmic rays and hot pixels are found as sources, are often as
bright as real stars and confuse the matching (``tweakreg.md`` §1, §5.6).
Independently of ``use_sharp_round``, every detection gets a *width*: the
rms width along the minor axis of its light in the 3x3 pixels around its
brightest pixel (second moments of the sky-subtracted values above 1 sigma).
A single-pixel hit has width 0 and a one-pixel-wide track about 0.0-0.35
pixel, while a star imaged through any optics broader than about one pixel
FWHM has 0.45 pixel or more. Detections narrower than ``cr_minwidth``
(default: 0.4 pixel, lowered automatically when ``conv_width`` implies a very
undersampled PSF) are dropped. On simulated frames (PSF FWHM 1.3-3 pixels,
more cosmic-ray events than stars) this removed 97-100% of the cosmic-ray
detections and kept 99-100% of the stars. ``fluxmin``/
``fluxmax``/``peakmax`` and ``nbright`` (the documented TweakReg remedies)
are applied afterwards.

All positions are 0-based pixels (the engine's convention); ``flux`` and
``peak`` are in the image's units, above the sky.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
from astropy.table import Table

from ..exceptions import InputError, NonFiniteError, ParameterError, ShapeError
from ..io.bits import dq_to_mask

__all__ = [
    "FIND_DEFAULTS",
    "FINDERS",
    "SkyStats",
    "sky_stats",
    "pixel_noise",
    "source_widths",
    "default_cr_minwidth",
    "find_sources",
    "find_chip_sources",
]

log = logging.getLogger(__name__)

#: Source finders understood by :func:`find_sources`.
FINDERS = ("dao", "iraf")

#: ``imagefindpars`` defaults (drizzlepac), used when the tweakreg
#: parameter specification does not provide them.
FIND_DEFAULTS: dict[str, Any] = dict(
    computesig=True, skysigma=0.0, conv_width=3.5, threshold=4.0, nsigma=1.5, ratio=1.0,
    theta=0.0, peakmin=None, peakmax=None, fluxmin=None, fluxmax=None, dqbits=None,
    use_sharp_round=False, sharplo=0.2, sharphi=1.0, roundlo=-1.0, roundhi=1.0,
)

_FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: Largest number of pixels used for the sky statistics (a regular subsample).
_MAX_STAT_PIXELS = 1_000_000
#: A ``sqrt(2|mode|)`` this many times below the pixel noise is reported.
_SIGMA_DISAGREEMENT = 3.0


class SkyStats(tuple):
    """``(mode, sigma, std)`` of the sky: mode and two noise estimates.

    ``sigma`` is the noise used for the threshold; ``std`` the pixel-to-pixel
    noise actually measured (:func:`pixel_noise`).
    """

    __slots__ = ()

    def __new__(cls, mode: float, sigma: float, std: float):
        return super().__new__(cls, (float(mode), float(sigma), float(std)))

    @property
    def mode(self) -> float:
        return self[0]

    @property
    def sigma(self) -> float:
        return self[1]

    @property
    def std(self) -> float:
        return self[2]


def _subsample(values: np.ndarray) -> np.ndarray:
    step = max(1, int(math.ceil(values.size / _MAX_STAT_PIXELS)))
    return values[::step]


def _histogram_mode(vals: np.ndarray, median: float, std: float) -> float:
    """Mode of ``vals``: peak of a smoothed histogram, refined by a parabola.

    Bins are 0.05 std wide, or a whole number of quanta for integer-valued
    data (raw counts), so that empty bins between the quantised values do not
    bias the peak.
    """
    if not std > 0:
        return median
    width = 0.05 * std
    lo = median - 3.0 * std
    sample = vals[:: max(1, vals.size // 10000)]
    if np.all(sample == np.round(sample)):
        width = max(1.0, float(np.round(width)))
        lo = np.floor(lo) - 0.5
    edges = np.arange(lo, median + 3.0 * std + width, width)
    if edges.size < 4:
        return median
    hist, edges = np.histogram(vals, bins=edges)
    if hist.sum() == 0:
        return median
    smooth = np.convolve(hist, np.ones(5) / 5.0, mode="same")
    k = int(np.argmax(smooth))
    centre = 0.5 * (edges[k] + edges[k + 1])
    if 0 < k < smooth.size - 1:
        a, b, c = smooth[k - 1], smooth[k], smooth[k + 1]
        den = a - 2.0 * b + c
        if den < 0:
            centre += width * float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return float(centre)


def pixel_noise(data: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Pixel-to-pixel noise: 3-sigma-clipped std of x-neighbour differences / sqrt(2).

    Insensitive to smooth structure and, unlike the standard deviation of the
    pixel values, hardly inflated by the light of crowded stars. Returns 0
    when fewer than 10 pairs of good neighbours exist.
    """
    arr = np.asarray(data, dtype=np.float64)
    good = np.isfinite(arr)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    step = max(1, int(math.ceil(arr.size / _MAX_STAT_PIXELS)))
    rows = slice(None, None, step)
    a, g = arr[rows], good[rows]
    d = (a[:, 1:] - a[:, :-1])[g[:, 1:] & g[:, :-1]]
    if d.size < 10:
        return 0.0
    from astropy.stats import sigma_clipped_stats

    _, _, std = sigma_clipped_stats(d, sigma=3.0, maxiters=10)
    return float(std) / math.sqrt(2.0)


def sky_stats(data: np.ndarray, mask: np.ndarray | None = None, *, computesig: bool = True,
              skysigma: float = 0.0) -> SkyStats:
    """Sky level and noise of an image.

    Parameters
    ----------
    data : ndarray (ny, nx)
        Image, any units.
    mask : ndarray of bool, optional
        True for pixels to ignore.
    computesig : bool
        Noise from the image as drizzlepac computes it, ``sqrt(2 |mode|)``
        (right for data in electrons, where the sky variance equals the sky
        level), but never below the measured pixel-to-pixel noise
        (:func:`pixel_noise`): for sky-subtracted data or count rates
        ``sqrt(2|mode|)`` can be far too small and would turn noise into
        thousands of detections.
    skysigma : float
        The noise to use when ``computesig`` is false (image units, > 0).

    Returns
    -------
    SkyStats
        ``(mode, sigma, std)``: the sky mode (peak of the histogram of the
        3-sigma-clipped pixels), the noise used, and the pixel-to-pixel
        noise measured.

    Raises
    ------
    drizzlekit.exceptions.InputError
        If fewer than 10 finite unmasked pixels are left, or ``computesig``
        is false and ``skysigma`` is not positive.
    """
    from astropy.stats import sigma_clipped_stats

    arr = np.asarray(data)
    good = np.isfinite(arr)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    vals = _subsample(arr[good].astype(np.float64, copy=False))
    if vals.size < 10:
        raise InputError("data: fewer than 10 usable (finite, unmasked) pixels for the sky "
                         "statistics")
    _, median, std = sigma_clipped_stats(vals, sigma=3.0, maxiters=5)
    mode = _histogram_mode(vals, float(median), float(std))
    noise = pixel_noise(arr, ~good)
    if not computesig:
        if not (skysigma is not None and np.isfinite(skysigma) and skysigma > 0):
            raise InputError(f"skysigma: must be > 0 when computesig is False, got {skysigma!r}")
        return SkyStats(mode, float(skysigma), noise)
    sigma = math.sqrt(2.0 * abs(mode))
    if sigma < noise:
        if sigma < noise / _SIGMA_DISAGREEMENT:
            log.info("computesig: sqrt(2|mode|) = %.4g is below the pixel noise %.4g (data "
                     "not in electrons, or sky-subtracted?); using the pixel noise", sigma, noise)
        sigma = noise
    if not sigma > 0:
        sigma = float(std) if std > 0 else 1.0
    return SkyStats(mode, sigma, noise)


def default_cr_minwidth(conv_width: float) -> float:
    """Default cosmic-ray width limit (pixels) for a detection kernel FWHM.

    ``conv_width`` is about twice the PSF FWHM (TweakReg's advice), so the
    PSF sigma is ``conv_width / 2 / 2.3548``. A star centred on a pixel has a
    3x3 minor-axis rms width of ``sqrt(2 e / (1 + 2 e))`` with
    ``e = exp(-1 / (2 sigma^2))``; the limit is 0.4 pixel, or 75% of that
    width if it is smaller (very undersampled PSFs).
    """
    s = max(float(conv_width), 1e-3) / 2.0 * _FWHM_TO_SIGMA
    e = math.exp(-1.0 / (2.0 * s * s))
    star = math.sqrt(2.0 * e / (1.0 + 2.0 * e))
    return min(0.4, 0.75 * star)


def _peak_pixels(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brightest pixel in the 3x3 box around each rounded position (padded image indices)."""
    cx = np.rint(x).astype(np.int64) + 2
    cy = np.rint(y).astype(np.int64) + 2
    best = np.full(x.size, -np.inf)
    bx, by = cx.copy(), cy.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            v = img[cy + dy, cx + dx]
            better = v > best
            best[better] = v[better]
            bx[better] = cx[better] + dx
            by[better] = cy[better] + dy
    return bx, by


def source_widths(data: np.ndarray, x, y, sigma: float, sky: float = 0.0) -> np.ndarray:
    """Minor-axis rms width (pixels) of the light around each source.

    Second moments of the sky-subtracted values above ``sigma`` in the 3x3
    pixels centred on the brightest pixel near ``(x, y)`` (0-based); the
    width is the square root of the smaller eigenvalue. A single hot pixel
    gives 0, a one-pixel-wide cosmic-ray track at most about 0.35 pixel.

    Parameters
    ----------
    data : ndarray (ny, nx)
        Image (NaNs count as sky).
    x, y : array_like
        Source positions, 0-based pixels.
    sigma : float
        Sky noise (image units).
    sky : float
        Sky level subtracted from ``data`` (image units).

    Returns
    -------
    ndarray of float
        Width per source, pixels (0 where nothing is above ``sigma``).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.size == 0:
        return np.empty(0)
    img = np.asarray(data, dtype=np.float64) - sky
    img = np.pad(np.where(np.isfinite(img), img, 0.0), 2, constant_values=0.0)
    bx, by = _peak_pixels(img, x, y)
    off = np.array([-1, 0, 1])
    oy, ox = np.meshgrid(off, off, indexing="ij")
    stamps = img[by[:, None, None] + oy[None], bx[:, None, None] + ox[None]]
    w = np.where(stamps > sigma, stamps, 0.0)
    tot = w.sum(axis=(1, 2))
    ok = tot > 0
    tot = np.where(ok, tot, 1.0)
    mx = (w * ox).sum(axis=(1, 2)) / tot
    my = (w * oy).sum(axis=(1, 2)) / tot
    cxx = (w * ox * ox).sum(axis=(1, 2)) / tot - mx * mx
    cyy = (w * oy * oy).sum(axis=(1, 2)) / tot - my * my
    cxy = (w * ox * oy).sum(axis=(1, 2)) / tot - mx * my
    half_tr = 0.5 * (cxx + cyy)
    lmin = half_tr - np.sqrt(np.maximum(half_tr * half_tr - (cxx * cyy - cxy * cxy), 0.0))
    return np.where(ok, np.sqrt(np.maximum(lmin, 0.0)), 0.0)


def _check_image(data, mask) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.size == 0:
        raise ShapeError(f"data: expected a non-empty 2-D image, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"data: expected a numeric image, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape != arr.shape:
            raise ShapeError(f"mask: shape {m.shape} differs from the image shape {arr.shape}")
        bad = bad | m.astype(bool)
    if bad.all():
        raise InputError("data: every pixel is masked or non-finite")
    return arr.astype(np.float64, copy=False), bad


def _limit(name: str, value) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter '{name}': expected a number or None, got {value!r}") \
            from None
    if math.isnan(v):
        raise ParameterError(f"parameter '{name}' must not be NaN")
    return v


def find_sources(data: np.ndarray, *, mask: np.ndarray | None = None,
                 dq: np.ndarray | None = None, dqbits=None, finder: str = "dao",
                 computesig: bool = True, skysigma: float = 0.0, conv_width: float = 3.5,
                 threshold: float = 4.0, nsigma: float = 1.5, ratio: float = 1.0,
                 theta: float = 0.0, peakmin: float | None = None,
                 peakmax: float | None = None, fluxmin: float | None = None,
                 fluxmax: float | None = None, use_sharp_round: bool = False,
                 sharplo: float = 0.2, sharphi: float = 1.0, roundlo: float = -1.0,
                 roundhi: float = 1.0, nbright: int | None = None,
                 cr_minwidth: float | None = None, min_separation: float | None = None,
                 exclude_border: bool = True) -> Table:
    """Find point sources in one image (chip) with TweakReg's ``imagefindpars``.

    Parameters
    ----------
    data : ndarray (ny, nx)
        The image (any units; NaN pixels are ignored).
    mask : ndarray of bool, optional
        True for pixels to ignore (e.g. an exclusion mask).
    dq : ndarray of int, optional
        Data-quality array; used only when ``dqbits`` is not None.
    dqbits : int, str or None
        DQ flags to *ignore* (treat as good); pixels with any other flag are
        masked. None: the DQ array is not used.
    finder : {'dao', 'iraf'}
        photutils ``DAOStarFinder`` or ``IRAFStarFinder``.
    computesig, skysigma
        Sky noise: ``sqrt(2|mode|)`` of the image, or ``skysigma`` (image
        units); see :func:`sky_stats`.
    conv_width : float
        FWHM of the Gaussian detection kernel, pixels (about twice the PSF
        FWHM: 3.5 for ACS/WFC and WFC3/UVIS, 2.5 for WFC3/IR).
    threshold : float
        Detection threshold in units of the sky noise.
    nsigma : float
        Kernel half-size in kernel sigmas.
    ratio, theta : float
        Kernel minor/major axis ratio and major-axis angle (degrees,
        counter-clockwise from +x); DAOStarFinder only.
    peakmin, peakmax : float, optional
        Accepted range of the sky-subtracted peak pixel (image units).
    fluxmin, fluxmax : float, optional
        Accepted range of the sky-subtracted flux (image units).
    use_sharp_round : bool
        Apply the sharpness (``sharplo``, ``sharphi``) and roundness
        (``roundlo``, ``roundhi``) limits of the finder.
    nbright : int, optional
        Keep only this many sources, the brightest by flux.
    cr_minwidth : float, optional
        Detections whose light is narrower than this (minor-axis rms width in
        pixels, :func:`source_widths`) are rejected as cosmic rays or hot
        pixels. None: :func:`default_cr_minwidth` of ``conv_width``; 0
        disables the test.
    min_separation : float, optional
        Smallest distance between two kept sources, pixels: a source closer
        than this to a brighter one is dropped. It is applied *after* the
        cosmic-ray test, so that a cosmic ray cannot suppress a star next to
        it (photutils' own ``min_separation``, applied before, is set to 0).
        None: ``conv_width`` (about two PSF FWHM; closer pairs are blends,
        and a bright extended source is not split into several).
    exclude_border : bool
        Ignore sources within half a kernel of the image edge.

    Returns
    -------
    astropy.table.Table
        One row per source, brightest first: ``id`` (1..N), ``x``, ``y``
        (0-based pixels), ``flux``, ``peak`` (above the sky, image units),
        ``sharpness``, ``roundness1``, ``roundness2`` (DAO; IRAF fills
        ``roundness2`` with its ``roundness``), ``width`` (pixels).
        ``meta`` holds ``sky``, ``sigma``, ``std``, ``threshold`` (absolute,
        image units), ``finder``, ``cr_minwidth`` and the counts
        ``n_detected``, ``n_cosmic_rays``, ``n_cut``.

    Raises
    ------
    drizzlekit.exceptions.ShapeError
        Non-2-D data, or a mask/DQ of another shape.
    drizzlekit.exceptions.InputError
        Every pixel masked; ``skysigma`` <= 0 with ``computesig`` off.
    drizzlekit.exceptions.ParameterError
        Unknown ``finder`` or invalid limits.

    Examples
    --------
    >>> from drizzlekit.datasets import simulate_dither
    >>> sim = simulate_dither(n_exposures=1, shape=(128, 128), n_stars=20, seed=3)
    >>> cat = find_sources(sim.hdulists[0]["SCI", 1].data, conv_width=3.5)
    >>> sorted(cat.colnames)[:3]
    ['flux', 'id', 'peak']
    """
    from photutils.detection import DAOStarFinder, IRAFStarFinder

    finder = str(finder).strip().lower()
    if finder not in FINDERS:
        raise ParameterError(f"parameter 'finder' must be one of {', '.join(FINDERS)}; "
                             f"got {finder!r}")
    for name, val in (("conv_width", conv_width), ("threshold", threshold),
                      ("nsigma", nsigma), ("ratio", ratio)):
        v = _limit(name, val)
        if v is None or not (np.isfinite(v) and v > 0):
            raise ParameterError(f"parameter '{name}' must be a finite number > 0, got {val!r}")
    if ratio > 1:
        raise ParameterError(f"parameter 'ratio' must be <= 1, got {ratio}")
    peakmin, peakmax = _limit("peakmin", peakmin), _limit("peakmax", peakmax)
    fluxmin, fluxmax = _limit("fluxmin", fluxmin), _limit("fluxmax", fluxmax)
    if nbright is not None and (int(nbright) != nbright or nbright < 1):
        raise ParameterError(f"parameter 'nbright' must be a positive integer or None, "
                             f"got {nbright!r}")

    arr, bad = _check_image(data, mask)
    if dqbits is not None and dq is not None:
        dqa = np.asarray(dq)
        if dqa.shape != arr.shape:
            raise ShapeError(f"dq: shape {dqa.shape} differs from the image shape {arr.shape}")
        bad = bad | ~dq_to_mask(dqa, dqbits, name="dqbits")
        if bad.all():
            raise InputError(f"dqbits: every pixel is flagged by DQ bits other than {dqbits!r}")

    sky = sky_stats(arr, bad, computesig=computesig, skysigma=skysigma)
    img = np.where(bad, 0.0, arr - sky.mode)
    abs_thr = float(threshold) * sky.sigma
    minsep = float(conv_width) if min_separation is None else float(min_separation)
    if not (np.isfinite(minsep) and minsep >= 0):
        raise ParameterError(f"parameter 'min_separation' must be >= 0, got {min_separation!r}")
    sharp = (float(sharplo), float(sharphi)) if use_sharp_round else None
    rnd = (float(roundlo), float(roundhi)) if use_sharp_round else None
    common = dict(sigma_radius=float(nsigma), exclude_border=bool(exclude_border),
                  peak_max=peakmax, min_separation=0.0, sharpness_range=sharp,
                  roundness_range=rnd)
    if finder == "dao":
        sf = DAOStarFinder(abs_thr, float(conv_width), ratio=float(ratio), theta=float(theta),
                           **common)
    else:
        if ratio != 1.0 or theta != 0.0:
            log.warning("find_sources: ratio and theta are ignored by the 'iraf' finder "
                        "(circular kernel)")
        sf = IRAFStarFinder(abs_thr, float(conv_width), **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no sources found" and similar
        tab = sf(img, mask=bad)

    cr_lim = default_cr_minwidth(conv_width) if cr_minwidth is None else float(cr_minwidth)
    meta = dict(sky=sky.mode, sigma=sky.sigma, std=sky.std, threshold=abs_thr, finder=finder,
                cr_minwidth=cr_lim, n_detected=0, n_cosmic_rays=0, n_cut=0)
    if tab is None or len(tab) == 0:
        log.info("find_sources: no sources above %.4g (threshold %.3g x sigma %.4g)",
                 abs_thr, threshold, sky.sigma)
        return _empty_catalog(meta)

    x = np.asarray(tab["x_centroid"], dtype=float)
    y = np.asarray(tab["y_centroid"], dtype=float)
    flux = np.asarray(tab["flux"], dtype=float)
    peak = np.asarray(tab["peak"], dtype=float)
    sharpness = np.asarray(tab["sharpness"], dtype=float)
    if finder == "dao":
        r1 = np.asarray(tab["roundness1"], dtype=float)
        r2 = np.asarray(tab["roundness2"], dtype=float)
    else:
        r2 = np.asarray(tab["roundness"], dtype=float)
        r1 = np.full(r2.shape, np.nan)
    finite = np.isfinite(x) & np.isfinite(y) & np.isfinite(flux)
    width = np.zeros(x.size)
    width[finite] = source_widths(img, x[finite], y[finite], sky.sigma)
    keep = finite.copy()
    meta["n_detected"] = int(finite.sum())
    is_cr = finite & (width < cr_lim)
    keep &= ~is_cr
    meta["n_cosmic_rays"] = int(is_cr.sum())
    cut = np.zeros(x.size, bool)
    if peakmin is not None:
        cut |= peak < peakmin
    if peakmax is not None:
        cut |= peak > peakmax
    if fluxmin is not None:
        cut |= flux < fluxmin
    if fluxmax is not None:
        cut |= flux > fluxmax
    meta["n_cut"] = int((cut & keep).sum())
    keep &= ~cut

    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(-flux[idx], kind="stable")]
    if minsep > 0 and idx.size > 1:
        idx = idx[_isolate(x[idx], y[idx], minsep)]
    if nbright is not None:
        idx = idx[: int(nbright)]
    out = Table(
        {
            "id": np.arange(1, idx.size + 1, dtype=np.int64),
            "x": x[idx],
            "y": y[idx],
            "flux": flux[idx],
            "peak": peak[idx],
            "sharpness": sharpness[idx],
            "roundness1": r1[idx],
            "roundness2": r2[idx],
            "width": width[idx],
        },
        meta=meta,
    )
    log.debug("find_sources: %d detected, %d cosmic-ray-like, %d cut by peak/flux limits, "
              "%d kept", meta["n_detected"], meta["n_cosmic_rays"], meta["n_cut"], len(out))
    return out


def _isolate(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Indices (in order) of sources with no earlier (brighter) kept source within ``radius``."""
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([x, y]))
    pairs = tree.query_pairs(radius, output_type="ndarray")
    if pairs.size == 0:
        return np.arange(x.size)
    neighbours = [[] for _ in range(x.size)]
    for a, b in pairs:
        lo, hi = (a, b) if a < b else (b, a)
        neighbours[hi].append(lo)
    kept = np.zeros(x.size, bool)
    for k in range(x.size):
        kept[k] = not any(kept[j] for j in neighbours[k])
    return np.flatnonzero(kept)


def _empty_catalog(meta: dict) -> Table:
    cols = {"id": np.empty(0, np.int64)}
    for name in ("x", "y", "flux", "peak", "sharpness", "roundness1", "roundness2", "width"):
        cols[name] = np.empty(0, float)
    return Table(cols, meta=meta)


def find_chip_sources(chip, *, exclusion_mask: np.ndarray | None = None,
                      **params: Any) -> Table:
    """Find sources in a :class:`drizzlekit.io.fits_input.Chip`.

    The chip's DQ array is used with ``dqbits``; ``exclusion_mask`` (True =
    excluded) and NaN pixels are ignored. Other keywords are those of
    :func:`find_sources`; unknown tweakreg parameters are ignored.

    Returns
    -------
    astropy.table.Table
        As :func:`find_sources`, with ``meta['chip']`` = the chip's name.

    Raises
    ------
    drizzlekit.exceptions.NonFiniteError
        If the chip holds no finite pixel (message names the chip).
    """
    import inspect

    allowed = set(inspect.signature(find_sources).parameters) - {"data", "mask", "dq"}
    kw = {k: v for k, v in params.items() if k in allowed}
    sci = np.asarray(chip.sci)
    if not np.isfinite(sci).any():
        raise NonFiniteError(f"{chip.name}: the science array has no finite pixel")
    try:
        cat = find_sources(sci, mask=exclusion_mask, dq=chip.dq, **kw)
    except (InputError, ShapeError) as exc:
        raise type(exc)(f"{chip.name}: {exc}") from None
    cat.meta["chip"] = chip.name
    log.info("%s: %d sources (%d detections, %d cosmic-ray-like, sky %.4g, sigma %.4g)",
             chip.name, len(cat), cat.meta["n_detected"], cat.meta["n_cosmic_rays"],
             cat.meta["sky"], cat.meta["sigma"])
    return cat
