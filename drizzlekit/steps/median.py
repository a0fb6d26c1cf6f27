"""Step 5: combine the single-drizzled images into the median (spec §7).

Combination types (per output pixel, over the stack of N values):

``median`` / ``mean``
    of the good values after dropping ``nlow`` lowest and ``nhigh`` highest
    (both reduced one by one while they would leave nothing); 0 where no
    value is good.
``imedian`` / ``imean``
    as above, but where every value is bad the first non-zero value of the
    stack is used (the "i" rule).
``sum``
    plain sum of all values (masks, thresholds and nlow/nhigh ignored).
``minmed`` / ``iminmed``
    the median (``nhigh=1``; mean for N = 2), replaced by the minimum where
    the median is significantly above it in the noise model of §7.3.

A value is bad where its weight mask says so (``W_i < maskpt * mean(W_i)``,
§7.1), where it is below ``lthresh`` or at/above ``hthresh`` (not for
minmed), or where it is not finite (drizzlekit: NaN never enters a median).

``compat=True`` reproduces two quirks of ``stsci.image``'s C combiner
(spec Q5): the "i" rule is applied only in column 0 of each row when N > 1,
and ``mean`` does not reduce nlow/nhigh (it returns 0 where they would
reject every good value).

Thresholds are used as given, in the units of the images (spec Q6).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..exceptions import InputError, ParameterError, ShapeError

try:  # optional: the plain stack median is faster with it, values identical
    import bottleneck as _bn

    _HAVE_BOTTLENECK = True
except ImportError:  # pragma: no cover - numpy fallback
    _bn = None
    _HAVE_BOTTLENECK = False

__all__ = ["combine_median", "weight_masks", "COMBINE_TYPES", "check_options",
           "per_image_values", "threshold_bad", "numcombine", "minmed_rows"]

COMBINE_TYPES = ("minmed", "iminmed", "median", "mean", "imedian", "imean", "sum")
_ROWS_PER_CHUNK = 256  # bounds the (N, rows, nx) sort buffer
_BN_MAX_IMAGES = 8  # up to this many images bottleneck's median beats the sort


# -- validation ----------------------------------------------------------------
def _stack(images: Sequence[np.ndarray], name: str) -> np.ndarray:
    try:
        arr = np.asarray(images)
    except ValueError:
        raise ShapeError(f"{name} must be 2-D arrays of one shape") from None
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise ShapeError(f"{name} must be a non-empty sequence of 2-D arrays of one shape, "
                         f"got array shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def per_image_values(values, n: int, name: str, positive: bool = False) -> np.ndarray:
    """``values`` as a float64 array of one value per image (checked: length ``n``,
    finite, ``> 0`` when ``positive``); ``name`` is the keyword named in errors."""
    if values is None:
        raise InputError(f"{name} is required for minmed (one value per image)")
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size != n:
        raise ShapeError(f"{name} has {arr.size} values for {n} images")
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)):
        raise InputError(f"{name} must be finite{' and > 0' if positive else ''}: {arr}")
    return arr


# -- masks -----------------------------------------------------------------------
def weight_masks(weights: Sequence[np.ndarray], maskpt: float) -> np.ndarray:
    """Bad-pixel masks from single-drizzle weights (spec §7.1).

    ``bad_i = W_i < maskpt * mean(W_i[W_i >= 1e-8])``. An image without any
    positive weight is bad everywhere.

    Returns
    -------
    numpy.ndarray of bool, shape (N, ny, nx)
        ``True`` = bad.
    """
    w = _stack(weights, "weights")
    if not 0 <= maskpt <= 1:
        raise ParameterError(f"maskpt must be within [0, 1], got {maskpt}")
    bad = np.empty(w.shape, dtype=bool)
    for i, wi in enumerate(w):
        pos = wi[wi >= 1e-8]
        bad[i] = True if pos.size == 0 else wi < maskpt * pos.mean(dtype=np.float64)
    return bad


def threshold_bad(data: np.ndarray, lthresh, hthresh) -> np.ndarray:
    """Bad mask of a stack: not finite, below ``lthresh`` or above ``hthresh``
    (data units; None = no limit)."""
    bad = ~np.isfinite(data)
    with np.errstate(invalid="ignore"):
        if lthresh is not None:
            bad |= data < lthresh
        if hthresh is not None:
            bad |= data >= hthresh
    return bad


# -- the numcombine rules, vectorised over a chunk of rows -----------------------
def _reduce_rejection(good: np.ndarray, nlow: int, nhigh: int):
    """Per-pixel nlow/nhigh after the 'reduce until something is left' rule."""
    nl = np.full(good.shape, nlow, dtype=np.int64)
    nh = np.full(good.shape, nhigh, dtype=np.int64)
    for _ in range(max(nlow, nhigh)):
        over = (good > 0) & (nl + nh >= good)
        nh = np.where(over & (nh > 0), nh - 1, nh)
        nl = np.where(over & (nl > 0), nl - 1, nl)
    return nl, nh


def _sorted_good(data, bad):
    vals = np.where(bad, np.inf, data.astype(np.float64))
    vals.sort(axis=0)
    return vals, (~bad).sum(axis=0)


def _median_rows(data, bad, nlow, nhigh):
    if _HAVE_BOTTLENECK and nlow == 0 and nhigh == 0 and data.shape[0] <= _BN_MAX_IMAGES:
        return _bn_median_rows(data, bad)
    vals, g = _sorted_good(data, bad)
    nl, nh = _reduce_rejection(g, nlow, nhigh)
    m = g - nl - nh
    ok = m > 0
    lo = np.clip(nl + (m - 1) // 2, 0, data.shape[0] - 1)
    hi = np.clip(nl + m // 2, 0, data.shape[0] - 1)
    pair = np.take_along_axis(vals, np.stack([lo, hi]), axis=0)
    return np.where(ok, 0.5 * (pair[0] + pair[1]), 0.0)


def _bn_median_rows(data, bad):
    """:func:`_median_rows` without rejection, by ``bottleneck.nanmedian``.

    Identical values (float64, mean of the two middle good values, 0 where
    none is good; ``tests/test_median.py``) and faster than the full sort
    for a few images: per 256-row chunk of 2048 columns, 33 vs 106 ms (3
    images, 3.2x), 53 vs 110 ms (4, 2.1x), 73 vs 99 ms (6, 1.4x), 71 vs 91 ms
    (8, 1.3x), but 230 vs 162 ms (12, 0.7x), hence ``_BN_MAX_IMAGES``
    (``benchmarks/bench_stats_libs.py``, 2 shared cores). Masking the rejected
    extremes first (``nhigh=1`` of minmed) was slower than the sort (0.5-1.0x),
    so rejection keeps the sort rule.
    """
    vals = np.where(bad, np.nan, data.astype(np.float64))
    med = _bn.nanmedian(vals, axis=0)
    med[np.isnan(med)] = 0.0
    return med


def _mean_rows(data, bad, nlow, nhigh, compat):
    vals, g = _sorted_good(data, bad)
    if compat:
        nl, nh = np.full(g.shape, nlow), np.full(g.shape, nhigh)
    else:
        nl, nh = _reduce_rejection(g, nlow, nhigh)
    m = g - nl - nh
    csum = np.concatenate([np.zeros((1,) + g.shape), np.cumsum(np.where(
        np.isinf(vals), 0.0, vals), axis=0)])
    hi = np.clip(nl + m, 0, data.shape[0])
    total = (np.take_along_axis(csum, hi[None], axis=0)[0]
             - np.take_along_axis(csum, nl[None], axis=0)[0])
    return np.where(m > 0, total / np.maximum(m, 1), 0.0)


def _combine_rows(kind, data, bad, nlow, nhigh, compat):
    if kind.startswith("i"):
        bad = _fill_bad(data, bad, compat)
    if kind.endswith("median"):
        return _median_rows(data, bad, nlow, nhigh)
    return _mean_rows(data, bad, nlow, nhigh, compat)


def _fill_bad(data, bad, compat: bool):
    """Unmask the first non-zero value where every value is bad (the 'i' rule)."""
    allbad = bad.all(axis=0)
    if compat and data.shape[0] > 1:
        allbad[..., 1:] = False
    nonzero = (data != 0) & np.isfinite(data)  # NaN never enters a median
    target = allbad & nonzero.any(axis=0)
    first = np.argmax(nonzero, axis=0)
    bad = bad.copy()
    r, c = np.nonzero(target)
    bad[first[r, c], r, c] = False
    return bad


def numcombine(kind: str, data: np.ndarray, bad: np.ndarray, nlow: int, nhigh: int,
               compat: bool) -> np.ndarray:
    """``'median'``/``'mean'``/``'imedian'``/``'imean'`` of a ``(n, ny, nx)`` stack,
    ignoring ``bad`` and the ``nlow``/``nhigh`` extremes (float64 ``(ny, nx)``)."""
    out = np.empty(data.shape[1:], dtype=np.float64)
    for r0 in range(0, data.shape[1], _ROWS_PER_CHUNK):
        sl = slice(r0, r0 + _ROWS_PER_CHUNK)
        out[sl] = _combine_rows(kind, data[:, sl], bad[:, sl], nlow, nhigh, compat)
    return out


# -- minmed ----------------------------------------------------------------------
def _box_count(flag: np.ndarray, grow: int) -> np.ndarray:
    """(2g+1)^2 box sum of ``flag`` with zeros outside the image."""
    k = 2 * grow + 1
    p = np.pad(flag.astype(np.int64), grow)
    c = np.pad(p.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def _minmed_median(data, bad, kind, use_masks, compat):
    n = data.shape[0]
    fill = kind == "iminmed"
    if n == 2:
        return numcombine("imean" if fill else "mean", data, bad, 0, 0, compat)
    if not use_masks and n == 1:
        return data[0].astype(np.float64)
    med = numcombine("imedian" if fill else "median", data, bad, 0, 1, compat)
    if use_masks:  # exactly one good value: that value (undoes nhigh=1)
        one_good = bad.sum(axis=0) == n - 1
        first = np.argmin(bad, axis=0)[None]
        med[one_good] = np.take_along_axis(data, first, axis=0)[0][one_good]
    return med


def _min_good(data, bad):
    """Minimum over good values, 0 where all are bad (image by image: no stack copy)."""
    mn = np.full(data.shape[1:], np.inf)
    for di, bi in zip(data, bad):
        np.minimum(mn, np.where(bi, np.inf, di), out=mn)
    mn[np.isinf(mn)] = 0.0
    return mn


def _noise_terms(weights, bad, exptimes, readnoise, backgrounds):
    """Wsum, BG and RN^2 of spec §7.3 (electrons)."""
    wsum, bg, rn2 = (np.zeros(weights.shape[1:]) for _ in range(3))
    for wi, bi, t, rn, b in zip(weights, bad, exptimes, readnoise, backgrounds):
        w = wi.astype(np.float64)
        wsum += w
        bg += w * (b / t)
        rn2 += np.where(bi, 0.0, rn * rn)
    return wsum, bg, rn2


def minmed_rows(data, weights, bad, use_masks, kind, nsigma, grow, exptimes, readnoise,
                backgrounds, compat) -> np.ndarray:
    """The ``minmed``/``iminmed`` rule on rows of a stack (float64 ``(rows, nx)``);
    arguments as :func:`combine_median`, per-image values as arrays."""
    allbad = bad.all(axis=0)
    med = _minmed_median(data, bad, kind, use_masks, compat)
    mn = _min_good(data, bad)
    wsum, bg, rn2 = _noise_terms(weights, bad, exptimes, readnoise, backgrounds)
    med_e, min_e = med * wsum, mn * wsum
    sigma = np.sqrt(np.maximum(med_e + bg + rn2, 0.0))
    thresh = med_e - nsigma[0] * sigma
    if grow > 0:
        near = _box_count(min_e < thresh, grow) > 0
        thresh = np.where(near, med_e - nsigma[1] * sigma, thresh)
    out = np.where(min_e < thresh, mn, med)
    out[allbad] = 0.0
    return out


# -- public ------------------------------------------------------------------------
def check_options(combine_type, nlow, nhigh, grow, nsigma, n, ny) -> None:
    """Raise ParameterError/InputError for options :func:`combine_median` rejects."""
    if combine_type not in COMBINE_TYPES:
        raise ParameterError(f"combine_type must be one of {', '.join(COMBINE_TYPES)}; "
                             f"got {combine_type!r}")
    if nlow < 0 or nhigh < 0 or int(nlow) != nlow or int(nhigh) != nhigh:
        raise ParameterError(f"nlow/nhigh must be non-negative integers, got {nlow}, {nhigh}")
    if combine_type not in ("sum", "minmed", "iminmed") and n - nlow - nhigh < 1:
        raise InputError(f"nlow={nlow} + nhigh={nhigh} reject all {n} images")
    if int(grow) != grow or grow < 0:
        raise ParameterError(f"grow must be a non-negative integer, got {grow}")
    if combine_type.endswith("minmed") and 2 * grow + 1 > ny:
        raise InputError(f"grow={grow}: box of {2 * grow + 1} rows exceeds the image ({ny} rows)")
    if len(nsigma) != 2 or min(nsigma) <= 0:
        raise ParameterError(f"nsigma must be two positive numbers, got {nsigma}")


def _weights(weights, shape, combine_type: str, newmasks: bool) -> np.ndarray | None:
    if weights is None:
        if combine_type.endswith("minmed"):
            raise InputError("weights are required for minmed")
        if newmasks:
            raise InputError("weights are required to build weight masks (newmasks=True)")
        return None
    w = _stack(weights, "weights")
    if w.shape != shape:
        raise ShapeError(f"weights have shape {w.shape}, images {shape}")
    return w


def combine_median(images: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None,
                   *, combine_type: str = "minmed", nlow: int = 0, nhigh: int = 0,
                   lthresh: float | None = None, hthresh: float | None = None,
                   nsigma: tuple[float, float] = (4.0, 3.0), grow: int = 1,
                   maskpt: float = 0.3, newmasks: bool = True,
                   exptimes: Sequence[float] | None = None,
                   readnoise: Sequence[float] | None = None,
                   backgrounds: Sequence[float] | None = None,
                   compat: bool = False) -> np.ndarray:
    """Combine single-drizzled images into the median image (spec §7).

    Parameters
    ----------
    images : sequence of 2-D arrays
        Single-drizzled SCI images ``S_i`` (e-/s), one shape.
    weights : sequence of 2-D arrays, optional
        Their WHT images ``W_i`` (~ exposure time x coverage, s). Required
        for minmed and for ``newmasks``.
    combine_type : str
        One of ``minmed, iminmed, median, mean, imedian, imean, sum``.
    nlow, nhigh : int
        Lowest/highest values rejected per pixel (not used by minmed).
    lthresh, hthresh : float, optional
        Values ``< lthresh`` or ``>= hthresh`` are bad (image units; not
        used by minmed).
    nsigma : (float, float)
        minmed significances (n1, n2).
    grow : int
        minmed: half-size (pixels) of the box where n2 replaces n1.
    maskpt : float
        Weight-mask level, fraction of the mean weight.
    newmasks : bool
        Build weight masks (§7.1); if false no weight masks are used.
    exptimes, readnoise, backgrounds : sequence of float
        minmed noise model: EXPTIME_i (s), read noise rn_i (e-), sky bg_i
        (e- per input pixel).
    compat : bool
        Reproduce the C combiner quirks (module notes).

    Returns
    -------
    numpy.ndarray
        The median image, dtype float32 for float32 (or narrower) input,
        float64 otherwise.

    Raises
    ------
    ShapeError, InputError, ParameterError
    """
    data = _stack(images, "images")
    n, ny, _ = data.shape
    nsigma = tuple(np.atleast_1d(np.asarray(nsigma, dtype=float)).tolist())
    nsigma = nsigma * 2 if len(nsigma) == 1 else nsigma
    check_options(combine_type, nlow, nhigh, grow, nsigma, n, ny)
    out_dtype = np.result_type(data.dtype, np.float32)
    if combine_type == "sum":
        return data.sum(axis=0, dtype=np.float64).astype(out_dtype)
    w = _weights(weights, data.shape, combine_type, newmasks)
    bad = weight_masks(w, maskpt) if newmasks else np.zeros(data.shape, dtype=bool)
    bad |= ~np.isfinite(data)
    if combine_type.endswith("minmed"):
        per_image = (per_image_values(exptimes, n, "exptimes", positive=True),
                     per_image_values(readnoise, n, "readnoise"),
                     per_image_values(backgrounds, n, "backgrounds"))
        res = np.empty((ny, data.shape[2]), dtype=np.float64)
        g = int(grow)
        # rows in chunks with a halo of `grow` rows (the only non-local step is
        # the box count), so memory stays bounded on full-size mosaics
        for r0 in range(0, ny, _ROWS_PER_CHUNK):
            r1 = min(r0 + _ROWS_PER_CHUNK, ny)
            lo, hi = max(0, r0 - g), min(ny, r1 + g)
            chunk = data[:, lo:hi]
            if chunk.dtype.kind not in "biu":
                chunk = np.where(np.isfinite(chunk), chunk, 0)
            part = minmed_rows(chunk, w[:, lo:hi], bad[:, lo:hi], bool(newmasks),
                               combine_type, nsigma, g, *per_image, compat)
            res[r0:r1] = part[r0 - lo:r0 - lo + (r1 - r0)]
    else:
        bad |= threshold_bad(data, lthresh, hthresh)
        res = numcombine(combine_type, data, bad, int(nlow), int(nhigh), compat)
    return res.astype(out_dtype)
