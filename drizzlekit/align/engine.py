"""The alignment engine: catalogs + WCSs in, corrected WCSs and diagnostics out.

:func:`align_wcs` aligns each image (one or more chips, each a source
catalog with its WCS) to a reference catalog, which is either given
(``refcat``, RA/Dec) or built from one of the images. For every image:

1. the chips' sources go to the sky through their full WCS (distortions
   included) and then into an orthonormal tangent plane (arcsec) centred on
   the image; the reference sources near the image footprint go into the
   same plane (:mod:`.tangent`);
2. the initial offset comes from the 2-D histogram of position differences
   (:func:`.match.offset_histogram`), or from ``xoffset``/``yoffset``;
3. match → fit → re-match: mutual nearest neighbours within a radius that
   starts wide enough for the histogram peak's spread and shrinks to
   ``tolerance`` once a fit is in hand, until the matches no longer change;
   the fit (:func:`.fit.iter_fit`) is one linear correction for all chips;
4. if the histogram had no significant peak, or the result fails the checks
   below, an asterism (triangle) match (:func:`.match.triangle_match`)
   supplies the starting transform instead;
5. the result is checked: at least ``minobj`` pairs kept by the clipping;
   more matches than chance gives (measured by re-matching with the solution
   displaced by many tolerance radii); an rms residual clearly below the
   tolerance; a proper rotation and a plausible scale and skew. A result
   failing any check is ``'FAILED: <reason>'`` and keeps the input WCS;
6. the correction is applied to each chip's WCS (:mod:`.correct`): new CRVAL
   and CD, with CRPIX and the distortion model unchanged.

:func:`~drizzlekit.align.solve.align_catalogs` runs steps 2-5 on positions
already in a tangent plane; it is fast enough (a few ms for 2 x 1000
sources) to re-run while a user moves a slider. Input reading and footprints
live in :mod:`._inputs`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InputError, TooFewSourcesError
from ._inputs import _Image, _parse_images, _parse_refcat, _Ref
from .correct import correct_wcs
from .gwcs_support import copy_wcs
from .fit import LinearFit
from .match import OffsetHistogram
from .solve import _D, _params, _solve, CatalogAlignment, align_catalogs
from .tangent import TangentPlane, pixel_jacobian

__all__ = ["AlignResult", "CatalogAlignment", "align_wcs", "align_catalogs"]

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------
# results
@dataclass
class AlignResult:
    """Alignment of one image (all its chips) to the reference.

    Sign conventions: the correction maps the image's sky positions ``u``
    (tangent plane centred on the image, ``xi`` East, ``eta`` North,
    arcsec) to ``matrix @ u + shift``; ``shift`` is therefore how far the
    image centre moves, and ``rotation`` is the change of position angle
    (degrees, East of North).

    Attributes
    ----------
    name : str
        Image name (``names`` argument, else ``'image <i>'``).
    status : str
        ``'SUCCESS'``, ``'REFERENCE'`` or ``'FAILED: <reason>'``.
    wcs : astropy.wcs.WCS or list of WCS
        Corrected WCS (a list for multi-chip input); the unchanged input
        WCS (copied) unless the status is SUCCESS.
    fitgeometry : str
        Geometry fitted.
    method : str
        Starting transform: ``'histogram'``, ``'offset'``, ``'triangles'``,
        ``'reference'`` or ``'none'``.
    shift : ndarray (2,)
        Correction of the image centre, arcsec (East, North).
    shift_pixels : ndarray (2,)
        The same correction in pixels along the first chip's x and y axes.
    rotation : float
        Rotation of the correction, degrees (position angle change).
    rot_xy : tuple of float
        Rotations of the two plane axes, degrees.
    scale : float
        Mean scale of the correction.
    scale_xy : tuple of float
        Scales along the two plane axes.
    skew : float
        Skew, degrees (non-zero only for ``general``).
    matrix : ndarray (2, 2)
        Linear part of the correction.
    plane : TangentPlane or None
        Tangent plane of the fit (centred on the image).
    pixel_scale : float
        Pixel scale of the first chip at its centre, arcsec/pixel.
    rms, mae : float
        Root-mean-square and mean length of the residuals of the pairs used,
        arcsec.
    rms_pixels, mae_pixels : float
        The same in pixels.
    nmatch : int
        Matched pairs at the final tolerance.
    nused : int
        Pairs kept by the sigma clipping.
    matched_image_idx : ndarray of int (nmatch,)
        Rows of the image's stacked catalog (chips in order; see
        ``source_chip``/``source_row``).
    matched_ref_idx : ndarray of int (nmatch,)
        Rows of the reference catalog (``refcat``, or the reference image's
        stacked catalog, followed by sources added with ``expand_refcat``).
    fitmask : ndarray of bool (nmatch,)
        True for pairs used in the final fit, False for clipped ones.
    residuals : ndarray (nmatch, 2)
        Reference minus corrected image position, arcsec (East, North).
    residuals_pixels : ndarray (nmatch, 2)
        The same along the first chip's pixel axes.
    image_xy, ref_xy : ndarray (nmatch, 2)
        Matched positions in ``plane`` before the correction, arcsec.
    source_chip, source_row : ndarray of int
        For each row of the stacked image catalog, its chip and its row.
    histogram : OffsetHistogram or None
        The 2-D histogram of offsets (for plotting), arcsec.
    significance : float
        Significance of the histogram peak (0 when not computed).
    expected_chance : float
        Matches expected by chance.
    fraction_matched : float
        Matches over the smaller number of candidate sources.
    iterations : int
        Match-fit cycles.
    fit : LinearFit or None
        The full fit result.
    refcat_sky : tuple of two ndarray or None
        With ``expand_refcat``: RA and Dec (degrees) of the whole reference
        catalog after this image's unmatched sources were added (what
        TweakReg writes as ``cumulative_sky_refcat_<image>.coo``).
    """

    name: str
    status: str
    wcs: object
    fitgeometry: str
    method: str = "none"
    shift: np.ndarray = field(default_factory=lambda: np.zeros(2))
    shift_pixels: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rotation: float = 0.0
    rot_xy: tuple = (0.0, 0.0)
    scale: float = 1.0
    scale_xy: tuple = (1.0, 1.0)
    skew: float = 0.0
    matrix: np.ndarray = field(default_factory=lambda: np.eye(2))
    plane: TangentPlane | None = None
    pixel_scale: float = math.nan
    rms: float = math.nan
    mae: float = math.nan
    rms_pixels: float = math.nan
    mae_pixels: float = math.nan
    nmatch: int = 0
    nused: int = 0
    matched_image_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    matched_ref_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    fitmask: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    residuals: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    residuals_pixels: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    image_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    ref_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    source_chip: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    source_row: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    histogram: OffsetHistogram | None = None
    significance: float = 0.0
    expected_chance: float = math.nan
    fraction_matched: float = 0.0
    iterations: int = 0
    fit: LinearFit | None = None
    refcat_sky: tuple | None = None

    @property
    def succeeded(self) -> bool:
        """True for SUCCESS (not for REFERENCE or FAILED)."""
        return self.status == "SUCCESS"

    def matches_table(self):
        """The matched pairs as an ``astropy.table.QTable`` (one row per pair).

        Columns: ``chip`` and ``row`` (the source in the image's chip catalogs,
        0-based), ``ref_row`` (in the reference catalog), ``image_xi``,
        ``image_eta`` and ``ref_xi``, ``ref_eta`` (positions in the fit's tangent
        plane before the correction, arcsec), ``dxi``, ``deta`` (reference minus
        corrected image position, arcsec) and ``used`` (kept by the clipping).
        """
        from astropy import units as u
        from astropy.table import QTable

        idx = np.asarray(self.matched_image_idx, dtype=np.int64)
        chip = self.source_chip[idx] if self.source_chip.size else np.zeros(idx.size, np.int64)
        row = self.source_row[idx] if self.source_row.size else idx
        image_xy = self.image_xy.reshape(-1, 2)
        ref_xy = self.ref_xy.reshape(-1, 2)
        resid = self.residuals.reshape(-1, 2)
        return QTable({
            "chip": chip, "row": row, "ref_row": np.asarray(self.matched_ref_idx, np.int64),
            "image_xi": image_xy[:, 0] * u.arcsec, "image_eta": image_xy[:, 1] * u.arcsec,
            "ref_xi": ref_xy[:, 0] * u.arcsec, "ref_eta": ref_xy[:, 1] * u.arcsec,
            "dxi": resid[:, 0] * u.arcsec, "deta": resid[:, 1] * u.arcsec,
            "used": np.asarray(self.fitmask, dtype=bool)})

    @property
    def clipped_image_idx(self) -> np.ndarray:
        """Stacked-catalog rows of the matched sources rejected by clipping."""
        return self.matched_image_idx[~self.fitmask]

    @property
    def clipped_ref_idx(self) -> np.ndarray:
        """Reference rows of the matched sources rejected by clipping."""
        return self.matched_ref_idx[~self.fitmask]

    def summary(self) -> str:
        """One line: status, shift, rotation, scale, rms and counts."""
        if self.status != "SUCCESS":
            return f"{self.name}: {self.status}"
        return (f"{self.name}: {self.status} [{self.method}] shift ({self.shift[0]:+.4f}, "
                f"{self.shift[1]:+.4f})\" = ({self.shift_pixels[0]:+.3f}, "
                f"{self.shift_pixels[1]:+.3f}) px, rot {self.rotation:+.5f} deg, "
                f"scale {self.scale:.6f}, rms {self.rms * 1000:.2f} mas "
                f"({self.rms_pixels:.3f} px), {self.nused}/{self.nmatch} used")


# ----------------------------------------------------------------------------------------
def align_wcs(images, refcat=None, *, fitgeometry: str = _D["fitgeometry"],
              searchrad: float = _D["searchrad"], searchunits: str = _D["searchunits"],
              use2dhist: bool = _D["use2dhist"], xoffset: float = _D["xoffset"],
              yoffset: float = _D["yoffset"], tolerance: float = _D["tolerance"],
              separation: float = _D["separation"], minobj: int = _D["minobj"],
              nclip: int = _D["nclip"], sigma: float = _D["sigma"],
              enforce_user_order: bool = _D["enforce_user_order"],
              expand_refcat: bool = _D["expand_refcat"],
              hist_min_significance: float = _D["hist_min_significance"],
              use_triangles: bool = _D["use_triangles"], clip_accum: bool = False,
              names=None) -> list[AlignResult]:
    """Align the WCS of each image to a reference catalog.

    Parameters
    ----------
    images : list
        One item per exposure: a ``(catalog, wcs)`` pair, or a list of pairs
        for a multi-chip exposure (fitted with one correction). ``catalog``
        is an astropy Table (or a structured array or dict of arrays) with
        0-based pixel columns ``x``, ``y`` (and an optional ``weight``);
        ``wcs`` an astropy WCS with its distortions, or a ``gwcs.wcs.WCS``
        with a celestial output frame (the corrected gwcs gets the
        correction appended to its pipeline; ``drizzlekit.align.gwcs_support``).
    refcat : astropy.table.Table, optional
        Reference catalog with ``RA``, ``DEC`` in degrees (optional
        ``weight``). If None, the reference is the first image when
        ``enforce_user_order``, otherwise the image with the largest overlap.
    fitgeometry : {'shift', 'rshift', 'rscale', 'general'}
        Correction fitted.
    searchrad : float
        Largest offset searched by the 2-D histogram, in ``searchunits``.
    searchunits : {'arcseconds', 'pixels'}
        Units of ``searchrad``.
    use2dhist : bool
        Find the initial offset with the 2-D histogram (else ``xoffset``,
        ``yoffset``).
    xoffset, yoffset : float
        Prior offset of the image relative to the reference, pixels of the
        image's first chip (the histogram is centred on it).
    tolerance : float
        Final matching radius, pixels.
    separation : float
        Sources closer than this to another of their catalog are not matched,
        pixels.
    minobj : int
        Least number of pairs the fit must keep for SUCCESS.
    nclip : int
        Sigma-clipping iterations.
    sigma : float
        Clipping limit in units of the rms residual.
    enforce_user_order : bool
        Align in the given order (the first image is the reference when
        ``refcat`` is None); else start from the largest overlap and go on
        in order of overlap with the reference.
    expand_refcat : bool
        Add each aligned image's unmatched sources to the reference.
    hist_min_significance : float
        Least significance of a trusted histogram peak.
    use_triangles : bool
        Fall back to asterism matching when the histogram fails.
    clip_accum : bool
        Clipped pairs never return in later clipping iterations.
    names : list of str, optional
        Names of the images (for results and log messages).

    Returns
    -------
    list of AlignResult
        One per image, in input order.

    Raises
    ------
    drizzlekit.exceptions.InputError
        Malformed input (missing columns, WCS without celestial axes, a
        single image without ``refcat``); ``NonFiniteError`` for NaN
        positions; ``TooFewSourcesError`` for an empty ``refcat`` or when no
        image has any source. An image with an empty catalog, or one that
        cannot be aligned, gets a FAILED status instead.
    drizzlekit.exceptions.ParameterError
        An invalid parameter value.

    Examples
    --------
    >>> results = align_wcs([(cat1, wcs1), [(cat2a, wcs2a), (cat2b, wcs2b)]],
    ...                     searchrad=3.0)                          # doctest: +SKIP
    >>> [r.status for r in results]                                 # doctest: +SKIP
    ['REFERENCE', 'SUCCESS']
    """
    p = _params(dict(fitgeometry=fitgeometry, searchrad=searchrad, searchunits=searchunits,
                     use2dhist=use2dhist, xoffset=xoffset, yoffset=yoffset, tolerance=tolerance,
                     separation=separation, minobj=minobj, nclip=nclip, sigma=sigma,
                     enforce_user_order=enforce_user_order, expand_refcat=expand_refcat,
                     hist_min_significance=hist_min_significance, use_triangles=use_triangles))
    imgs = _parse_images(images, names)
    ref = _parse_refcat(refcat) if refcat is not None else None
    if ref is None and len(imgs) < 2:
        raise InputError("images: at least two images are needed when refcat is None")

    results: list[AlignResult | None] = [None] * len(imgs)
    for k, im in enumerate(imgs):
        if im.nsrc == 0:
            results[k] = _failed(im, p, "FAILED: the image catalog is empty")
    todo = [k for k in range(len(imgs)) if results[k] is None]
    if not todo:
        raise TooFewSourcesError("images: no image has any source")

    if ref is None:
        if p["enforce_user_order"]:
            kref = todo[0]
        else:
            kref = _largest_overlap(imgs, todo)
        rim = imgs[kref]
        ref = _Ref(rim.ra.copy(), rim.dec.copy(), None if rim.w is None else rim.w.copy())
        results[kref] = _reference_result(rim, p)
        todo.remove(kref)
        log.info("align_wcs: '%s' is the reference image", rim.name)

    while todo:
        if p["enforce_user_order"]:
            k = todo.pop(0)
        else:
            k = max(todo, key=lambda j: int(imgs[j].contains(ref.ra, ref.dec, 0.0).sum()))
            todo.remove(k)
        res = _align_image(imgs[k], ref, p, clip_accum)
        results[k] = res
        log.info("align_wcs: %s", res.summary())
        if p["expand_refcat"] and res.succeeded:
            _expand(ref, imgs[k], res)
            res.refcat_sky = (ref.ra.copy(), ref.dec.copy())
    return results


def _failed(im: _Image, p: dict, status: str, **kw) -> AlignResult:
    wcs = [copy_wcs(ch.wcs) for ch in im.chips]
    return AlignResult(name=im.name, status=status, wcs=wcs if im.multichip else wcs[0],
                       fitgeometry=p["fitgeometry"], source_chip=im.chip_of,
                       source_row=im.row_of, **kw)


def _reference_result(im: _Image, p: dict) -> AlignResult:
    ch0 = _first_chip(im)
    jac = pixel_jacobian(ch0.wcs, im.plane, *ch0.center())
    res = _failed(im, p, "REFERENCE", method="reference", plane=im.plane,
                  pixel_scale=math.sqrt(abs(np.linalg.det(jac))))
    res.rms = res.mae = res.rms_pixels = res.mae_pixels = 0.0
    return res


def _first_chip(im: _Image):
    """The first chip with a known extent (its pixel frame reports pixel shifts)."""
    return next((c for c in im.chips if c.extent is not None), im.chips[0])


def _largest_overlap(imgs: list[_Image], cand: list[int]) -> int:
    """Index of the image with the largest summed overlap area with the others."""
    grids = {k: imgs[k].grid_sky(15) for k in cand}
    score = {}
    for k in cand:
        ra, dec = grids[k]
        per_pt = imgs[k].area() / max(ra.size, 1)
        score[k] = sum(per_pt * int(imgs[j].contains(ra, dec, 0.0).sum()) for j in cand if j != k)
    return max(cand, key=lambda k: (score[k], -k))


def _align_image(im: _Image, ref: _Ref, p: dict, clip_accum: bool) -> AlignResult:
    ch0 = _first_chip(im)
    plane = im.plane
    jac = pixel_jacobian(ch0.wcs, plane, *ch0.center())
    pscale = math.sqrt(abs(np.linalg.det(jac)))
    srad_pix = p["searchrad"] / (pscale if p["searchunits"] == "arcseconds" else 1.0)
    margin = srad_pix + 2.0 * p["tolerance"] + 2.0
    inside = np.flatnonzero(im.contains(ref.ra, ref.dec, margin))
    if inside.size == 0:
        return _failed(im, p, "FAILED: no reference sources overlap the image footprint",
                       plane=plane, pixel_scale=pscale)
    img_xy = plane.xy_from_sky(im.ra, im.dec)
    ref_xy = plane.xy_from_sky(ref.ra[inside], ref.dec[inside])
    sol = _solve(img_xy, ref_xy, im.w, None if ref.w is None else ref.w[inside], pscale, jac,
                 p, clip_accum)

    kw = dict(plane=plane, pixel_scale=pscale, method=sol.method, histogram=sol.histogram,
              significance=0.0 if sol.histogram is None else sol.histogram.significance,
              expected_chance=sol.expected_chance, fraction_matched=sol.fraction_matched,
              iterations=sol.iterations)
    fit = sol.fit
    if fit is not None and sol.img_idx.size:
        jinv = np.linalg.inv(jac)
        ii, jj = sol.img_idx, sol.ref_idx
        kw.update(fit=fit, nmatch=sol.nmatch, nused=fit.nused, matched_image_idx=ii,
                  matched_ref_idx=inside[jj], fitmask=fit.fitmask, residuals=fit.residuals,
                  residuals_pixels=fit.residuals @ jinv.T, image_xy=img_xy[ii], ref_xy=ref_xy[jj],
                  rms=fit.rmse, mae=fit.mae, rms_pixels=fit.rmse / pscale,
                  mae_pixels=fit.mae / pscale)
    if not sol.succeeded:
        return _failed(im, p, sol.status, **kw)

    jinv = np.linalg.inv(jac)
    new = [correct_wcs(ch.wcs, plane, fit.matrix, fit.shift, extent=ch.extent)
           for ch in im.chips]
    return AlignResult(name=im.name, status="SUCCESS", wcs=new if im.multichip else new[0],
                       fitgeometry=p["fitgeometry"], shift=fit.shift.copy(),
                       shift_pixels=jinv @ fit.shift, rotation=fit.rotation, rot_xy=fit.rot_xy,
                       scale=fit.scale, scale_xy=fit.scale_xy, skew=fit.skew,
                       matrix=fit.matrix.copy(), source_chip=im.chip_of, source_row=im.row_of,
                       **kw)


def _expand(ref: _Ref, im: _Image, res: AlignResult) -> None:
    """Append the image's unmatched sources (corrected sky positions) to the reference."""
    unmatched = np.ones(im.nsrc, bool)
    unmatched[res.matched_image_idx] = False
    if not unmatched.any():
        return
    u = res.plane.xy_from_sky(im.ra[unmatched], im.dec[unmatched]) @ res.matrix.T + res.shift
    ra, dec = res.plane.plane_to_sky(u[:, 0], u[:, 1])
    n_new = ra.size
    ref.ra = np.concatenate([ref.ra, ra])
    ref.dec = np.concatenate([ref.dec, dec])
    if ref.w is not None or im.w is not None:
        old = ref.w if ref.w is not None else np.ones(ref.ra.size - n_new)
        new = im.w[unmatched] if im.w is not None else np.ones(n_new)
        ref.w = np.concatenate([old, new])
