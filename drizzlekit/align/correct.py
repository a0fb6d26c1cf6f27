"""Apply a fitted linear sky correction to an astropy WCS.

The alignment engine fits ``u' = M @ u + t`` in a tangent plane ``P``
(:class:`~drizzlekit.align.tangent.TangentPlane`, arcsec): every sky position
``s`` the WCS gives should move to ``P⁻¹(M P(s) + t)``. A FITS celestial WCS
maps a pixel through its distortions (SIP, lookup tables, D2IM) to a focal
plane offset ``f`` from CRPIX, then linearly (CD) to intermediate world
coordinates ``x = CD f`` and projects them about CRVAL. The correction
touches only the last two steps:

* the new CRVAL is the corrected sky position of the old CRVAL (the focal
  plane point ``f = 0``);
* the new CD is the least-squares linear map ``f -> x'`` where ``x'`` are the
  intermediate world coordinates, about the new CRVAL, of the corrected sky
  positions of a grid of focal-plane points covering the chip.

CRPIX, SIP coefficients and lookup tables are left exactly as they were, so
the distortion model is untouched. Because the tangent planes of the fit and
of the WCS differ only slightly, the map ``f -> x'`` is linear to far better
than a milli-pixel over a chip; :func:`correction_error` measures it.
"""

from __future__ import annotations

import numpy as np

from .tangent import TangentPlane, check_celestial_wcs

__all__ = ["correct_wcs", "linear_wcs", "correction_error"]


def linear_wcs(wcs):
    """A copy of ``wcs`` without its distortions (SIP, lookup tables, D2IM)."""
    lin = wcs.deepcopy()
    lin.sip = None
    lin.cpdis1 = None
    lin.cpdis2 = None
    lin.det2im1 = None
    lin.det2im2 = None
    lin.wcs.set()
    return lin


def _cd_of(wcs) -> np.ndarray:
    if wcs.wcs.has_cd():
        return np.array(wcs.wcs.cd, dtype=float)
    return np.array(wcs.wcs.get_pc(), dtype=float) * np.asarray(wcs.wcs.cdelt, float)[:, None]


def _focal_grid(wcs, extent, n: int = 7) -> np.ndarray:
    """Focal-plane offsets (pixels from CRPIX) of an n x n grid over the chip."""
    if extent is None:
        if wcs.pixel_shape is not None and min(wcs.pixel_shape) > 16:
            nx, ny = wcs.pixel_shape
            extent = (0.0, nx - 1.0, 0.0, ny - 1.0)
        else:
            c = np.asarray(wcs.wcs.crpix, float) - 1.0
            extent = (c[0] - 1024, c[0] + 1024, c[1] - 1024, c[1] + 1024)
    x0, x1, y0, y1 = extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    crpix = np.asarray(wcs.wcs.crpix, float)
    f = np.column_stack([gx.ravel() + 1.0 - crpix[0], gy.ravel() + 1.0 - crpix[1]])
    return f


def correct_wcs(wcs, plane: TangentPlane, matrix, shift, *, extent=None):
    """A new WCS whose sky positions are corrected by ``u' = matrix @ u + shift``.

    Parameters
    ----------
    wcs : astropy.wcs.WCS or gwcs.wcs.WCS
        Celestial WCS of one chip (distortions allowed); not modified. A
        gwcs gets the exact correction appended to its pipeline
        (:mod:`.gwcs_support`).
    plane : TangentPlane
        The plane (arcsec) in which the correction was fitted.
    matrix : array_like (2, 2)
        Linear part of the correction.
    shift : array_like (2,)
        Translation, arcsec.
    extent : (x0, x1, y0, y1), optional
        0-based pixel range over which the new CD is fitted (default: the
        WCS's ``pixel_shape``, else ±1024 pixels about CRPIX).

    Returns
    -------
    astropy.wcs.WCS
        A copy with new CRVAL and CD (or PC, when the input uses PC/CDELT);
        CRPIX, SIP and lookup tables unchanged.

    Raises
    ------
    drizzlekit.exceptions.InputError
        If ``wcs`` is not a 2-axis celestial WCS.
    """
    from .gwcs_support import correct_gwcs, is_gwcs

    if is_gwcs(wcs):  # the correction goes into the gwcs pipeline
        return correct_gwcs(wcs, plane, matrix, shift)
    check_celestial_wcs(wcs, "wcs")
    m = np.asarray(matrix, dtype=float).reshape(2, 2)
    t = np.asarray(shift, dtype=float).reshape(2)
    lin = linear_wcs(wcs)
    crpix = np.asarray(lin.wcs.crpix, float)
    f = _focal_grid(wcs, extent)

    def corrected(ra, dec):
        u = plane.xy_from_sky(ra, dec) @ m.T + t
        return plane.plane_to_sky(u[:, 0], u[:, 1])

    ra0, dec0 = corrected(*lin.wcs_pix2world(crpix[None, 0], crpix[None, 1], 1))
    new_crval = np.array([float(ra0[0]), float(dec0[0])])
    ra, dec = corrected(*lin.wcs_pix2world(crpix[0] + f[:, 0], crpix[1] + f[:, 1], 1))

    # intermediate world coordinates about the new CRVAL: a unit-CD copy at CRPIX 0
    aux = lin.deepcopy()
    aux.wcs.crval = new_crval
    aux.wcs.crpix = [0.0, 0.0]
    if aux.wcs.has_cd():
        aux.wcs.cd = np.eye(2)
    else:
        aux.wcs.pc = np.eye(2)
        aux.wcs.cdelt = [1.0, 1.0]
    aux.wcs.set()
    xw = np.column_stack(aux.wcs_world2pix(ra, dec, 1))
    # least squares xw ≈ f @ CD'ᵀ (no intercept: f = 0 maps to CRVAL exactly)
    cdt, *_ = np.linalg.lstsq(f, xw, rcond=None)
    new_cd = cdt.T

    out = wcs.deepcopy()
    out.wcs.crval = new_crval
    if out.wcs.has_cd():
        out.wcs.cd = new_cd
    else:
        cdelt = np.asarray(out.wcs.cdelt, float)
        out.wcs.pc = new_cd / cdelt[:, None]
    out.wcs.set()
    return out


def correction_error(old_wcs, new_wcs, plane: TangentPlane, matrix, shift, *, extent=None,
                     n: int = 9) -> float:
    """Largest distance (arcsec) between ``new_wcs`` and the exact correction of ``old_wcs``.

    Both WCSs are evaluated with their distortions on an ``n x n`` grid of
    the chip (``extent`` as in :func:`correct_wcs`).
    """
    from .tangent import pixel_to_sky

    f = _focal_grid(old_wcs, extent, n)
    crpix = np.asarray(old_wcs.wcs.crpix, float)
    x = f[:, 0] + crpix[0] - 1.0
    y = f[:, 1] + crpix[1] - 1.0
    m = np.asarray(matrix, dtype=float)
    u = plane.xy_from_sky(*pixel_to_sky(old_wcs, x, y)) @ m.T + np.asarray(shift, float)
    v = plane.xy_from_sky(*pixel_to_sky(new_wcs, x, y))
    return float(np.max(np.hypot(*(u - v).T)))
