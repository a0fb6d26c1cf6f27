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

The overlaps and the least-squares solution of the ``match`` methods are in
:mod:`drizzlekit.steps.sky_match`. The per-chip pixel work
(:func:`sky_statistic`, :func:`~drizzlekit.steps.sky_match.overlap_statistics`)
can run elsewhere (Dask workers) and be given to :func:`compute_sky`
(``statistics=``, ``overlaps=``) with the same result.

Returned skies are in each chip's data units; nothing is subtracted here.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Hashable

import numpy as np
from astropy.wcs import WCS

from ..exceptions import InputError, ParameterError, ShapeError
from ..stats import image_stats

__all__ = ["SkyInput", "compute_sky", "sky_statistic", "chip_sky_terms", "StatisticsOnDemand",
           "NO_PIXELS", "SKY_METHODS", "SKY_STATS"]

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
                compat: bool = False, statistics=None, overlaps=None) -> np.ndarray:
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
        Every chip's :func:`sky_statistic`, computed elsewhere (Dask workers),
        for ``localmin``/``globalmin``, ``globalmin+match`` and a ``match``
        that falls back (read only then: it may be a lazy sequence).
    overlaps : sequence of lists, optional
        ``match`` methods: every chip's
        :func:`~drizzlekit.steps.sky_match.overlap_statistics` with one group per
        exposure, exposures in order of first appearance in ``inputs``. With
        ``statistics`` (and ``overlaps`` for a ``match`` method) the chips'
        ``data`` may be empty 2-D placeholders and ``wcs`` is needed only
        without ``idcscale``.

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
    matching = "match" in skymethod
    for i, c in enumerate(chips):
        _validate_chip(i, c, matching and overlaps is None)
    for what, given in (("statistics", statistics), ("overlaps", overlaps)):
        if given is not None and len(given) != len(chips):
            raise ShapeError(f"{what}: {len(given)} values for {len(chips)} chips")
    if overlaps is not None:
        nexp = len(_exposures(chips))
        bad = next((k for k, o in enumerate(overlaps) if len(o) != nexp), None)
        if bad is not None:
            raise ShapeError(f"overlaps[{bad}]: {len(overlaps[bad])} values for "
                             f"{nexp} exposures")
    opt = _StatOptions(skystat, lower, upper, int(nclip), lsigma, usigma, binwidth, compat)
    conv = np.array([_conversion(c) for c in chips])
    if matching:
        from .sky_match import match_sky

        try:
            return match_sky(chips, conv, opt, int(overlap_step), skymethod, match_down,
                             overlaps, statistics)
        except InputError as exc:  # NoOverlapError is an InputError
            if not fallback:
                raise
            log.warning("sky %s failed (%s); falling back", skymethod, exc)
            skymethod = "localmin" if skymethod == "match" else "globalmin"
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


#: The ``data`` of a :class:`SkyInput` placeholder given to :func:`compute_sky` with
#: ``statistics=`` / ``overlaps=`` (the pixel work was done chip by chip).
NO_PIXELS = np.zeros((0, 0), np.float32)


def chip_sky_terms(chip: SkyInput, skymethod: str, groups=None, exposure: int = 0, *,
                   overlap_step: int = 4, **kw) -> tuple:
    """One chip's share of :func:`compute_sky`: ``(statistic, overlaps)``.

    The pixel work of the sky step, one chip at a time (in one process with
    chips read lazily, or on a Dask worker): ``statistic`` is its
    :func:`sky_statistic` (None for ``match``, which needs it only when it
    falls back: see :class:`StatisticsOnDemand`), ``overlaps`` its
    :func:`~drizzlekit.steps.sky_match.overlap_statistics` against every
    other exposure for the ``match`` methods (else None).

    Parameters
    ----------
    chip : SkyInput
        With its pixels and mask (and WCS for the ``match`` methods).
    skymethod : str
    groups : sequence of sequences of (WCS, (ny, nx)), optional
        ``match`` methods: every exposure's chips (index = exposure number).
    exposure : int
        The chip's exposure number (its own group is left out).
    overlap_step, **kw
        As :func:`compute_sky` (``skystat``, ``lower``, ``upper``, ``nclip``,
        ``lsigma``, ``usigma``, ``binwidth``, ``compat``).
    """
    if "match" not in skymethod:
        return sky_statistic(chip, **kw), None
    from .sky_match import overlap_statistics

    mine = [() if j == exposure else g for j, g in enumerate(groups)]
    stat = sky_statistic(chip, **kw) if skymethod == "globalmin+match" else None
    return stat, overlap_statistics(chip, mine, overlap_step=overlap_step, **kw)


class StatisticsOnDemand(Sequence):
    """Every chip's statistic, computed by ``compute()`` when first read (a ``match``
    that falls back to ``localmin`` needs them; one that succeeds does not)."""

    def __init__(self, n: int, compute):
        self._n, self._compute, self._values = n, compute, None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):
        if self._values is None:
            self._values = self._compute()
        return self._values[k]
