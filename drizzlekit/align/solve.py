"""Matching and fitting of two position lists in one tangent plane.

:func:`align_catalogs` is the core of the alignment engine: given image and
reference positions already projected into one orthonormal tangent plane
(arcsec), it finds the starting transform (2-D histogram offset, the
``xoffset``/``yoffset`` prior, or an asterism match), iterates match → fit →
re-match down to the final ``tolerance``, and checks the result:

* at least ``minobj`` pairs kept by the clipping;
* more matches than chance explains (the chance rate is measured by
  re-matching with the solution displaced by 8-13 tolerance radii);
* an rms residual clearly below the tolerance;
* a proper rotation and a plausible scale and skew.

It needs no WCS and runs in a few milliseconds for 2 x 1000 sources, so a
notebook can re-run it while a user moves a slider; :func:`.engine.align_wcs`
wraps it with the WCS handling.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..exceptions import AlignmentError, InputError, NonFiniteError, TooFewSourcesError
from ..params import get_spec
from .fit import FIT_GEOMETRIES, LinearFit, iter_fit
from .match import (OffsetHistogram, TriangleMatch, isolated, match_pairs, offset_histogram,
                    triangle_match)

__all__ = ["CatalogAlignment", "align_catalogs"]

log = logging.getLogger(__name__)

_SPEC = get_spec("tweakreg")
_D = _SPEC.defaults()

#: Largest accepted |scale - 1| of a fitted correction.
MAX_SCALE_DEVIATION = 0.05
#: Largest accepted |skew| of a 'general' correction, degrees.
MAX_SKEW_DEG = 3.0
#: The rms residual must be below this fraction of the tolerance (chance pairs
#: spread uniformly over the tolerance disc have rms = 0.71 x tolerance).
MAX_RMS_FRACTION = 0.6
#: Matches must exceed this multiple of the chance expectation ...
CHANCE_FACTOR = 3.0
#: ... plus this many Poisson sigmas of it (see ``_assess``).
CHANCE_NSIGMA = 6.0
_MAX_ITER = 14
_MAX_WIDE_ITER = 6

_ENGINE_PARAMS = ("fitgeometry", "searchrad", "searchunits", "use2dhist", "xoffset", "yoffset",
                  "tolerance", "separation", "minobj", "nclip", "sigma", "enforce_user_order",
                  "expand_refcat", "hist_min_significance", "use_triangles")



@dataclass
class CatalogAlignment:
    """Matching and fitting of two position lists in one tangent plane.

    Positions and lengths are in arcsec; see :func:`align_catalogs`.

    Attributes
    ----------
    status : str
        ``'SUCCESS'`` or ``'FAILED: <reason>'``.
    method : str
        How the starting transform was found: ``'histogram'``, ``'offset'``
        (``xoffset``/``yoffset``), ``'triangles'`` or ``'none'``.
    fit : LinearFit or None
        Final fit ``ref ≈ M @ img + t`` over the matched pairs.
    img_idx, ref_idx : ndarray of int
        Matched pairs (indices into the inputs) at the final tolerance.
    histogram : OffsetHistogram or None
        2-D histogram of image-minus-reference offsets (when used).
    triangles : TriangleMatch or None
        Result of the asterism match (when tried).
    expected_chance : float
        Matches expected by chance at the final tolerance.
    fraction_matched : float
        Matches over the smaller number of (isolated) sources.
    iterations : int
        Match-fit cycles of the accepted attempt.
    """

    status: str
    method: str
    fit: LinearFit | None
    img_idx: np.ndarray
    ref_idx: np.ndarray
    histogram: OffsetHistogram | None = None
    triangles: TriangleMatch | None = None
    expected_chance: float = math.nan
    fraction_matched: float = 0.0
    iterations: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def nmatch(self) -> int:
        return int(self.img_idx.size)

    @property
    def nused(self) -> int:
        return 0 if self.fit is None else self.fit.nused


# ----------------------------------------------------------------------------------------
# parameters
def _params(kwargs: dict) -> dict:
    out = {}
    for name in _ENGINE_PARAMS:
        out[name] = _SPEC[name].coerce(kwargs[name])
    return out


def align_catalogs(img_xy, ref_xy, *, pixel_scale: float, jacobian=None, img_weights=None,
                   ref_weights=None, fitgeometry: str = _D["fitgeometry"],
                   searchrad: float = _D["searchrad"], searchunits: str = _D["searchunits"],
                   use2dhist: bool = _D["use2dhist"], xoffset: float = _D["xoffset"],
                   yoffset: float = _D["yoffset"], tolerance: float = _D["tolerance"],
                   separation: float = _D["separation"], minobj: int = _D["minobj"],
                   nclip: int = _D["nclip"], sigma: float = _D["sigma"],
                   hist_min_significance: float = _D["hist_min_significance"],
                   use_triangles: bool = _D["use_triangles"],
                   clip_accum: bool = False) -> CatalogAlignment:
    """Match two position lists in one tangent plane and fit a linear correction.

    Parameters
    ----------
    img_xy : array_like (N, 2)
        Image source positions in the plane, arcsec.
    ref_xy : array_like (M, 2)
        Reference source positions in the same plane, arcsec.
    pixel_scale : float
        Image pixel scale, arcsec/pixel (converts ``tolerance``,
        ``separation``, a ``searchrad`` in pixels, and sets the histogram bin).
    jacobian : array_like (2, 2), optional
        ``d(plane)/d(pixel)`` of the image, arcsec/pixel; converts
        ``xoffset``/``yoffset`` (default ``pixel_scale × identity``).
    img_weights, ref_weights : array_like, optional
        Weights of the positions in the fit.
    fitgeometry, searchrad, searchunits, use2dhist, xoffset, yoffset, tolerance, separation, \
minobj, nclip, sigma, hist_min_significance, use_triangles
        As in the ``tweakreg`` parameter specification (defaults from it).
    clip_accum : bool
        Clipped pairs never return in later clipping iterations.

    Returns
    -------
    CatalogAlignment
    """
    p = _params(dict(fitgeometry=fitgeometry, searchrad=searchrad, searchunits=searchunits,
                     use2dhist=use2dhist, xoffset=xoffset, yoffset=yoffset, tolerance=tolerance,
                     separation=separation, minobj=minobj, nclip=nclip, sigma=sigma,
                     enforce_user_order=True, expand_refcat=False,
                     hist_min_significance=hist_min_significance, use_triangles=use_triangles))
    img = np.asarray(img_xy, dtype=float).reshape(-1, 2)
    ref = np.asarray(ref_xy, dtype=float).reshape(-1, 2)
    for a, name in ((img, "img_xy"), (ref, "ref_xy")):
        if not np.all(np.isfinite(a)):
            raise NonFiniteError(f"{name}: positions must be finite")
    if not (pixel_scale > 0 and np.isfinite(pixel_scale)):
        raise InputError(f"pixel_scale must be a positive number, got {pixel_scale}")
    jac = pixel_scale * np.eye(2) if jacobian is None else np.asarray(jacobian, float)
    if jac.shape != (2, 2) or not np.all(np.isfinite(jac)):
        raise InputError(f"jacobian: expected a finite 2x2 array, got shape {jac.shape}")
    wi = _check_weights(img_weights, img.shape[0], "img_weights")
    wr = _check_weights(ref_weights, ref.shape[0], "ref_weights")
    return _solve(img, ref, wi, wr, float(pixel_scale), jac, p, clip_accum)


def _check_weights(w, n: int, name: str):
    if w is None:
        return None
    w = np.asarray(w, dtype=float)
    if w.shape != (n,):
        raise InputError(f"{name}: expected {n} weights, got shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(f"{name}: weights must be finite and >= 0")
    return w


def _solve(img, ref, wi, wr, pscale, jac, p, clip_accum) -> CatalogAlignment:
    none = np.empty(0, np.int64)
    if img.shape[0] == 0:
        return CatalogAlignment("FAILED: the image catalog is empty", "none", None, none, none)
    if ref.shape[0] == 0:
        return CatalogAlignment("FAILED: no reference sources overlap the image", "none", None,
                                none, none)
    tol = p["tolerance"] * pscale
    sep = p["separation"] * pscale
    srad = p["searchrad"] * (pscale if p["searchunits"] == "pixels" else 1.0)
    iso_i = isolated(img, sep)
    iso_r = isolated(ref, sep)
    if not iso_i.any() or not iso_r.any():
        return CatalogAlignment("FAILED: no sources left after removing those closer than "
                                "'separation'", "none", None, none, none)
    ref_tree = cKDTree(ref[iso_r])
    ctx = _Ctx(img, ref, wi, wr, iso_i, iso_r, ref_tree, tol, pscale, p, clip_accum)
    prior = jac @ np.array([p["xoffset"], p["yoffset"]])
    dnn = _median_nn(ref[iso_r])

    attempts: list[CatalogAlignment] = []
    reasons: list[str] = []
    hist = None
    if p["use2dhist"]:
        hist = offset_histogram(img, ref, srad, pscale, prior=prior)
        if hist.significance >= p["hist_min_significance"]:
            r0 = (hist.box // 2 + 1) * hist.binsize * math.sqrt(2.0)
            r0 = max(tol, min(r0, 0.5 * dnn)) if np.isfinite(dnn) else max(tol, r0)
            attempts.append(_refine(ctx, np.eye(2), -hist.peak, r0, "histogram"))
        else:
            reasons.append(f"no significant 2-D histogram peak (significance "
                           f"{hist.significance:.1f} < {p['hist_min_significance']:g})")
    else:
        r0 = max(tol, min(srad, 0.5 * dnn)) if np.isfinite(dnn) else max(tol, srad)
        attempts.append(_refine(ctx, np.eye(2), -prior, r0, "offset"))

    tri = None
    if p["use_triangles"] and not any(a.succeeded for a in attempts):
        ii = np.flatnonzero(iso_i)
        rr = np.flatnonzero(iso_r)
        tri = triangle_match(img[ii], ref[rr], tol,
                             min_inliers=max(4, FIT_GEOMETRIES[p["fitgeometry"]] + 1),
                             max_scale_dev=MAX_SCALE_DEVIATION)
        if tri is None:
            reasons.append("no asterism (triangle) match")
        else:
            attempts.append(_refine(ctx, tri.matrix, tri.shift, 2.0 * tol, "triangles"))

    for a in attempts:
        if not a.succeeded:
            reasons.append(f"{a.method}: {a.status[len('FAILED: '):]}")
    good = [a for a in attempts if a.succeeded]
    if good:
        res = good[0]
    elif attempts:
        res = max(attempts, key=lambda a: a.nused)
        res.status = "FAILED: " + "; ".join(reasons)
    else:
        res = CatalogAlignment("FAILED: " + "; ".join(reasons), "none", None, none, none)
    res.histogram = hist
    res.triangles = tri
    log.debug("align_catalogs: %s via %s, %d/%d pairs used, %d iterations", res.status,
              res.method, res.nused, res.nmatch, res.iterations)
    return res


@dataclass
class _Ctx:
    img: np.ndarray
    ref: np.ndarray
    wi: np.ndarray | None
    wr: np.ndarray | None
    iso_i: np.ndarray
    iso_r: np.ndarray
    ref_tree: cKDTree
    tol: float
    pscale: float
    p: dict
    clip_accum: bool


def _median_nn(xy: np.ndarray) -> float:
    if xy.shape[0] < 2:
        return math.inf
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1]))


def _refine(c: _Ctx, m0, t0, r0: float, method: str) -> CatalogAlignment:
    """Iterate match -> fit -> re-match from a starting transform."""
    p = c.p
    geom = p["fitgeometry"]
    need = FIT_GEOMETRIES[geom]
    m, t = np.asarray(m0, float), np.asarray(t0, float)
    radius = float(r0)
    prev = None
    fit = None
    ii = jj = np.empty(0, np.int64)
    none = np.empty(0, np.int64)
    it = 0
    for it in range(1, _MAX_ITER + 1):
        moved = c.img @ m.T + t
        ii, jj, _ = match_pairs(moved, c.ref, radius, img_ok=c.iso_i, ref_ok=c.iso_r,
                                ref_tree=c.ref_tree)
        if ii.size < need:
            return CatalogAlignment(
                f"FAILED: only {ii.size} match(es) within {radius / c.pscale:.3g} pixels",
                method, fit, none, none, iterations=it)
        try:
            fit = iter_fit(c.img[ii], c.ref[jj], geom,
                           wimg=None if c.wi is None else c.wi[ii],
                           wref=None if c.wr is None else c.wr[jj],
                           nclip=p["nclip"], sigma=p["sigma"], clip_accum=c.clip_accum,
                           minobj=need)
        except (TooFewSourcesError, AlignmentError) as exc:
            return CatalogAlignment(f"FAILED: {exc}", method, None, none, none, iterations=it)
        m, t = fit.matrix, fit.shift
        key = (ii.tobytes(), jj.tobytes())
        if radius > c.tol:
            # wide phase: shrink towards the tolerance as the fit tightens; a stable match set
            # or too many wide iterations moves on to the tolerance
            new_radius = max(c.tol, min(radius, 3.0 * fit.rmse))
            if (new_radius == radius and key == prev) or it >= _MAX_WIDE_ITER:
                new_radius = c.tol
            prev = key if new_radius == radius else None
            radius = new_radius
        else:
            if key == prev:
                break
            prev = key
    res = CatalogAlignment("SUCCESS", method, fit, ii, jj, iterations=it)
    _assess(c, res)
    return res


def _chance_matches(c: _Ctx, m, t) -> float:
    """Mean number of matches within the tolerance with the solution displaced."""
    moved = c.img[c.iso_i] @ m.T + t
    n = 8
    ang = 2 * np.pi * (np.arange(n) + 0.5) / n
    rad = c.tol * np.where(np.arange(n) % 2 == 0, 8.0, 13.0)
    total = 0
    for a, r in zip(ang, rad):
        d, _ = c.ref_tree.query(moved + r * np.array([np.cos(a), np.sin(a)]), k=1,
                                distance_upper_bound=c.tol)
        total += int(np.count_nonzero(np.isfinite(d)))
    return total / n


def _assess(c: _Ctx, res: CatalogAlignment) -> None:
    """Sanity checks; sets ``res.status`` to FAILED with the reason.

    * at least ``minobj`` pairs kept by the clipping;
    * more matches than chance can explain: ``nmatch >= CHANCE_FACTOR × n_c +
      CHANCE_NSIGMA × sqrt(n_c) + k + 3``, where ``n_c`` is the number of
      matches found with the solution displaced by 8-13 tolerance radii (the
      local chance rate), and ``k`` the pairs a fit (or a triangle hypothesis)
      matches by construction: 1 (shift), 2 (rshift, rscale), 3 (general,
      triangles). The factor allows for the transform having been optimised
      to catch as many pairs as possible;
    * an rms residual, corrected for the fitted degrees of freedom, below
      ``MAX_RMS_FRACTION × tolerance``;
    * a proper rotation, ``|scale - 1| <= MAX_SCALE_DEVIATION`` and
      ``|skew| <= MAX_SKEW_DEG``.
    """
    fit = res.fit
    p = c.p
    nmatch, nused = res.nmatch, fit.nused
    chance = _chance_matches(c, fit.matrix, fit.shift)
    res.expected_chance = chance
    res.fraction_matched = nmatch / max(1, min(int(c.iso_i.sum()), int(c.iso_r.sum())))
    free = _FREE_PAIRS[p["fitgeometry"]]
    if res.method == "triangles":
        free = max(free, 3)
    dof = _FIT_PARAMS[p["fitgeometry"]] / 2.0
    rms = fit.rmse * math.sqrt(nused / (nused - dof)) if nused > dof else math.inf
    if nused < p["minobj"]:
        res.status = (f"FAILED: only {nused} matched source(s) kept by the fit "
                      f"(minobj = {p['minobj']})")
    elif nmatch < CHANCE_FACTOR * chance + CHANCE_NSIGMA * math.sqrt(chance) + free + 3:
        res.status = (f"FAILED: {nmatch} matches ({100 * res.fraction_matched:.1f}% of the "
                      f"sources) are consistent with chance ({chance:.1f} expected from the "
                      "source densities)")
    elif rms > MAX_RMS_FRACTION * c.tol:
        res.status = (f"FAILED: rms residual {rms / c.pscale:.3f} pixels is close to the "
                      f"tolerance ({p['tolerance']:g} pixels); the matches look random")
    elif not fit.proper:
        res.status = "FAILED: the fitted correction includes a reflection"
    elif abs(fit.scale - 1.0) > MAX_SCALE_DEVIATION:
        res.status = f"FAILED: implausible fitted scale {fit.scale:.4f}"
    elif abs(fit.skew) > MAX_SKEW_DEG:
        res.status = f"FAILED: implausible fitted skew {fit.skew:.3f} deg"


_FREE_PAIRS = {"shift": 1, "rshift": 2, "rscale": 2, "general": 3}
_FIT_PARAMS = {"shift": 2, "rshift": 3, "rscale": 4, "general": 6}
