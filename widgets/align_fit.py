"""Live TweakReg-style fits of one exposure to a reference, for the alignment panel.

:class:`ExposureSources` projects an exposure's sources once into the plane
tangent at its centre; :func:`fit_exposure` then matches and fits them to
the reference positions with :func:`drizzlekit.align.align_catalogs` (a few
ms for 2 x 1000 sources) and returns a :class:`LiveFit` holding everything
the panel draws: matched pairs, the clipping mask, residuals in pixels and
the offsets histogram. Plain numpy + astropy (no widgets).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from drizzlekit.align import OffsetHistogram, TangentPlane, align_catalogs
from drizzlekit.align.tangent import (check_celestial_wcs, mean_direction, pixel_jacobian,
                                      pixel_to_sky, sky_to_pixel)
from drizzlekit.exceptions import AlignmentError, InputError
from drizzlekit.params import get_spec

__all__ = ["ExposureSources", "LiveFit", "fit_exposure", "ALIGN_PARAMS"]

#: TweakReg parameters the panel exposes (matching, fitting, flux limits).
ALIGN_PARAMS = ("searchrad", "searchunits", "use2dhist", "xoffset", "yoffset", "tolerance",
                "separation", "minobj", "fitgeometry", "nclip", "sigma", "minflux", "maxflux",
                "hist_min_significance", "use_triangles", "wcsname")

_ENGINE = ("fitgeometry", "searchrad", "searchunits", "use2dhist", "xoffset", "yoffset",
           "tolerance", "separation", "minobj", "nclip", "sigma", "hist_min_significance",
           "use_triangles")


# ---------------------------------------------------------------------------- compute
@dataclass
class ExposureSources:
    """The sources of one exposure, projected once for fast re-fits.

    Attributes
    ----------
    name : str
    wcs : list of WCS
        Current WCS of each chip.
    x, y : ndarray
        Pixel positions (0-based) of all sources, chips stacked.
    chip : ndarray of int
        Chip of each source.
    flux : ndarray or None
        Flux of each source (catalog ``flux`` column).
    shapes : list of (ny, nx)
        Chip shapes (from ``wcs.pixel_shape`` or the catalog extent).
    plane : TangentPlane
        Plane tangent at the exposure centre.
    xy : ndarray (N, 2)
        Source positions in ``plane``, arcsec.
    ra, dec : ndarray
        Source sky positions through the current WCS, degrees.
    jacobian : ndarray (2, 2)
        ``d(plane)/d(pixel)`` at the first chip's centre, arcsec/pixel.
    pixel_scale : float
        arcsec/pixel.
    """

    name: str
    wcs: list
    x: np.ndarray
    y: np.ndarray
    chip: np.ndarray
    flux: np.ndarray | None
    shapes: list
    plane: TangentPlane = None
    xy: np.ndarray = None
    ra: np.ndarray = None
    dec: np.ndarray = None
    jacobian: np.ndarray = None
    pixel_scale: float = math.nan

    @classmethod
    def from_pairs(cls, pairs, name: str) -> "ExposureSources":
        xs, ys, cs, fs, wcss, shapes = [], [], [], [], [], []
        has_flux = True
        for c, (cat, w) in enumerate(pairs):
            check_celestial_wcs(w, f"{name} chip {c} wcs")
            cols = getattr(cat, "colnames", None) or list(getattr(cat, "keys", lambda: [])())
            if "x" not in cols or "y" not in cols:
                raise InputError(f"{name} chip {c}: the catalog needs 'x' and 'y' columns "
                                 f"(has {list(cols)})")
            x = np.asarray(cat["x"], float).ravel()
            y = np.asarray(cat["y"], float).ravel()
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise InputError(f"{name} chip {c}: non-finite x/y positions in the catalog")
            xs.append(x)
            ys.append(y)
            cs.append(np.full(x.size, c))
            if "flux" in cols:
                fs.append(np.asarray(cat["flux"], float).ravel())
            else:
                has_flux = False
            wcss.append(w)
            if w.pixel_shape is not None:
                shapes.append((int(w.pixel_shape[1]), int(w.pixel_shape[0])))
            else:
                shapes.append((int(np.ceil(y.max() + 1)) if y.size else 1,
                               int(np.ceil(x.max() + 1)) if x.size else 1))
        out = cls(name=name, wcs=wcss, x=np.concatenate(xs), y=np.concatenate(ys),
                  chip=np.concatenate(cs), flux=np.concatenate(fs) if has_flux else None,
                  shapes=shapes)
        out.project()
        return out

    def project(self) -> None:
        """(Re)compute sky and plane positions through the current WCS."""
        ra = np.empty(self.x.size)
        dec = np.empty(self.x.size)
        centres = []
        for c, w in enumerate(self.wcs):
            sel = self.chip == c
            ra[sel], dec[sel] = pixel_to_sky(w, self.x[sel], self.y[sel])
            ny, nx = self.shapes[c]
            centres.append(pixel_to_sky(w, np.array([(nx - 1) / 2]), np.array([(ny - 1) / 2])))
        self.ra, self.dec = ra, dec
        self.plane = TangentPlane(*mean_direction(np.concatenate([c[0] for c in centres]),
                                                  np.concatenate([c[1] for c in centres])))
        self.xy = self.plane.xy_from_sky(ra, dec)
        ny, nx = self.shapes[0]
        self.jacobian = pixel_jacobian(self.wcs[0], self.plane, (nx - 1) / 2, (ny - 1) / 2)
        self.pixel_scale = math.sqrt(abs(np.linalg.det(self.jacobian)))

    def reference_pixels(self, ra, dec, margin: float = 0.0) -> list[tuple]:
        """Per chip: ``(rows, x, y)`` of the reference sources within the chip + margin."""
        out = []
        u = self.plane.xy_from_sky(ra, dec)
        for c, w in enumerate(self.wcs):
            ny, nx = self.shapes[c]
            # cheap pre-selection on the plane, then the exact inverse WCS
            size = math.hypot(nx, ny) * self.pixel_scale * 1.5 + margin * self.pixel_scale
            cx, cy = self.plane.xy_from_sky(*pixel_to_sky(w, np.array([(nx - 1) / 2]),
                                                          np.array([(ny - 1) / 2])))[0]
            near = np.flatnonzero(np.hypot(u[:, 0] - cx, u[:, 1] - cy) < size)
            x, y = sky_to_pixel(w, np.asarray(ra)[near], np.asarray(dec)[near])
            ok = (np.isfinite(x) & np.isfinite(y) & (x >= -0.5 - margin) & (y >= -0.5 - margin)
                  & (x <= nx - 0.5 + margin) & (y <= ny - 0.5 + margin))
            out.append((near[ok], x[ok], y[ok]))
        return out


@dataclass
class LiveFit:
    """One live fit of an exposure to the reference.

    Attributes
    ----------
    status : str
        ``'SUCCESS'`` or ``'FAILED: <reason>'`` (from the engine).
    method : str
        How the starting offset was found.
    selected : ndarray of int
        Source rows passing the flux limits.
    ref_rows : ndarray of int
        Reference rows near the exposure (the candidates).
    img_rows, matched_ref : ndarray of int
        Matched pairs: source row and reference row.
    fitmask : ndarray of bool
        True for pairs used by the final fit (False: clipped).
    residuals_pixels : ndarray (nmatch, 2)
        Reference minus corrected position along the first chip's axes, pixels.
    histogram : OffsetHistogram or None
        Offsets histogram (arcsec).
    fit : LinearFit or None
    shift_pixels : ndarray (2,)
    rms_pixels : float
    elapsed_ms : float
        Time of the engine call.
    """

    status: str
    method: str
    selected: np.ndarray
    ref_rows: np.ndarray
    img_rows: np.ndarray
    matched_ref: np.ndarray
    fitmask: np.ndarray
    residuals_pixels: np.ndarray
    histogram: OffsetHistogram | None
    fit: Any
    shift_pixels: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rms_pixels: float = math.nan
    elapsed_ms: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def nmatch(self) -> int:
        return int(self.img_rows.size)

    @property
    def nused(self) -> int:
        return int(np.count_nonzero(self.fitmask))


def _flux_selection(src: ExposureSources, minflux, maxflux) -> np.ndarray:
    keep = np.ones(src.x.size, bool)
    if src.flux is not None:
        if minflux is not None:
            keep &= src.flux >= minflux
        if maxflux is not None:
            keep &= src.flux <= maxflux
    return np.flatnonzero(keep)


def fit_exposure(src: ExposureSources, ref_ra, ref_dec, params: dict) -> LiveFit:
    """Match and fit one exposure's sources to reference positions.

    Parameters
    ----------
    src : ExposureSources
    ref_ra, ref_dec : ndarray
        Reference positions, degrees.
    params : dict
        TweakReg parameters (:data:`ALIGN_PARAMS`; missing ones take their
        defaults).

    Returns
    -------
    LiveFit
    """
    spec = get_spec("tweakreg")
    p = {**spec.defaults(), **params}
    sel = _flux_selection(src, p["minflux"], p["maxflux"])
    srad_pix = p["searchrad"] / (src.pixel_scale if p["searchunits"] == "arcseconds" else 1.0)
    margin = srad_pix + 2.0 * p["tolerance"] + 2.0
    ref_rows = np.unique(np.concatenate(
        [rows for rows, _, _ in src.reference_pixels(ref_ra, ref_dec, margin)] or [[]])
    ).astype(np.int64)
    empty = np.empty(0, np.int64)
    if sel.size == 0 or ref_rows.size == 0:
        why = "no sources pass the flux limits" if sel.size == 0 else \
            "no reference sources overlap the exposure"
        return LiveFit(f"FAILED: {why}", "none", sel, ref_rows, empty, empty,
                       np.empty(0, bool), np.empty((0, 2)), None, None)
    ref_xy = src.plane.xy_from_sky(np.asarray(ref_ra)[ref_rows], np.asarray(ref_dec)[ref_rows])
    t0 = time.perf_counter()
    try:
        sol = align_catalogs(src.xy[sel], ref_xy, pixel_scale=src.pixel_scale,
                             jacobian=src.jacobian, **{k: p[k] for k in _ENGINE})
    except AlignmentError as exc:  # e.g. too few sources for the geometry
        return LiveFit(f"FAILED: {exc}", "none", sel, ref_rows, empty, empty,
                       np.empty(0, bool), np.empty((0, 2)), None, None,
                       elapsed_ms=1e3 * (time.perf_counter() - t0))
    dt = 1e3 * (time.perf_counter() - t0)
    jinv = np.linalg.inv(src.jacobian)
    if sol.fit is not None and sol.img_idx.size:
        res_pix = sol.fit.residuals @ jinv.T
        fitmask = np.asarray(sol.fit.fitmask, bool)
        shift = jinv @ sol.fit.shift
        rms = sol.fit.rmse / src.pixel_scale
    else:
        res_pix, fitmask, shift, rms = np.empty((0, 2)), np.zeros(sol.img_idx.size, bool), \
            np.zeros(2), math.nan
    return LiveFit(sol.status, sol.method, sel, ref_rows, sel[sol.img_idx],
                   ref_rows[sol.ref_idx], fitmask, res_pix, sol.histogram, sol.fit,
                   shift_pixels=shift, rms_pixels=rms, elapsed_ms=dt)
