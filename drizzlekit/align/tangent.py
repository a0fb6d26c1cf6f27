"""An orthonormal sky tangent plane in arcseconds, and WCS helpers around it.

All matching and fitting in :mod:`drizzlekit.align` happens in the gnomonic
(tangent-plane) projection of the sky about a chosen point, with standard
coordinates ``xi`` (towards East) and ``eta`` (towards North) in arcsec. The
frame is orthonormal: a rotation of the sky about the tangent point is a
rotation of the plane, whatever the skew of a detector's CD matrix (see
``tweakreg.md`` §5.2 for what fitting in a skewed detector frame costs).

Formulas (gnomonic projection, angles in radians, tangent point
``(a0, d0)``)::

    cos c = sin d0 sin d + cos d0 cos d cos(a - a0)
    xi    = cos d sin(a - a0) / cos c
    eta   = (cos d0 sin d - sin d0 cos d cos(a - a0)) / cos c

and the inverse ``a = a0 + atan2(xi, cos d0 - eta sin d0)``,
``d = atan2(sin d0 + eta cos d0, hypot(xi, cos d0 - eta sin d0))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError

__all__ = [
    "ARCSEC_PER_RAD",
    "TangentPlane",
    "check_celestial_wcs",
    "pixel_to_sky",
    "sky_to_pixel",
    "pixel_jacobian",
    "unit_vectors",
    "mean_direction",
]

#: Arcseconds in one radian.
ARCSEC_PER_RAD = 180.0 * 3600.0 / np.pi


def unit_vectors(ra, dec) -> np.ndarray:
    """Unit vectors (N, 3) of sky positions ``ra``, ``dec`` in degrees."""
    a = np.deg2rad(np.asarray(ra, dtype=float))
    d = np.deg2rad(np.asarray(dec, dtype=float))
    cd = np.cos(d)
    return np.stack([cd * np.cos(a), cd * np.sin(a), np.sin(d)], axis=-1)


def mean_direction(ra, dec) -> tuple[float, float]:
    """RA, Dec (degrees) of the normalised mean unit vector of the positions.

    Raises
    ------
    InputError
        If there are no positions or they cancel out (antipodal spread).
    """
    v = unit_vectors(ra, dec).reshape(-1, 3)
    if v.shape[0] == 0:
        raise InputError("mean_direction: no positions given")
    m = v.mean(axis=0)
    n = np.linalg.norm(m)
    if not np.isfinite(n) or n < 1e-12:
        raise InputError("mean_direction: positions span the whole sky; no mean direction")
    m /= n
    return float(np.rad2deg(np.arctan2(m[1], m[0])) % 360.0), float(np.rad2deg(np.arcsin(m[2])))


@dataclass(frozen=True)
class TangentPlane:
    """Gnomonic projection of the sky about ``(ra0, dec0)``, in arcsec.

    Parameters
    ----------
    ra0, dec0 : float
        Tangent point, degrees.

    Notes
    -----
    ``xi`` grows towards East (increasing RA) and ``eta`` towards North;
    both are in arcsec. Points 90 degrees or more from the tangent point
    have no projection and come back as NaN.
    """

    ra0: float
    dec0: float

    def __post_init__(self):
        if not (np.isfinite(self.ra0) and np.isfinite(self.dec0)) or abs(self.dec0) > 90:
            raise InputError(f"TangentPlane: invalid tangent point ({self.ra0}, {self.dec0})")

    @classmethod
    def at_mean_of(cls, ra, dec) -> "TangentPlane":
        """A plane tangent at the mean direction of the given positions (degrees)."""
        return cls(*mean_direction(ra, dec))

    def sky_to_plane(self, ra, dec) -> tuple[np.ndarray, np.ndarray]:
        """Project sky positions (degrees) to ``(xi, eta)`` in arcsec."""
        a = np.deg2rad(np.asarray(ra, dtype=float)) - np.deg2rad(self.ra0)
        d = np.deg2rad(np.asarray(dec, dtype=float))
        d0 = np.deg2rad(self.dec0)
        sd, cd = np.sin(d), np.cos(d)
        sd0, cd0 = np.sin(d0), np.cos(d0)
        ca = np.cos(a)
        cosc = sd0 * sd + cd0 * cd * ca
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = np.where(cosc > 0, cd * np.sin(a) / cosc, np.nan)
            eta = np.where(cosc > 0, (cd0 * sd - sd0 * cd * ca) / cosc, np.nan)
        return xi * ARCSEC_PER_RAD, eta * ARCSEC_PER_RAD

    def plane_to_sky(self, xi, eta) -> tuple[np.ndarray, np.ndarray]:
        """Inverse projection: ``(xi, eta)`` in arcsec to RA, Dec in degrees."""
        x = np.asarray(xi, dtype=float) / ARCSEC_PER_RAD
        y = np.asarray(eta, dtype=float) / ARCSEC_PER_RAD
        d0 = np.deg2rad(self.dec0)
        sd0, cd0 = np.sin(d0), np.cos(d0)
        den = cd0 - y * sd0
        ra = np.rad2deg(np.arctan2(x, den)) + self.ra0
        dec = np.rad2deg(np.arctan2(sd0 + y * cd0, np.hypot(x, den)))
        return np.mod(ra, 360.0), dec

    def xy_from_sky(self, ra, dec) -> np.ndarray:
        """``(N, 2)`` array of plane positions (arcsec) of sky positions (degrees)."""
        xi, eta = self.sky_to_plane(ra, dec)
        return np.column_stack([np.ravel(xi), np.ravel(eta)])


def check_celestial_wcs(wcs, name: str = "wcs") -> None:
    """Raise :class:`InputError` unless ``wcs`` is a 2-axis celestial astropy WCS or gwcs.

    The longitude axis must be the first pixel/world axis (the usual
    ``RA---TAN``, ``DEC--TAN`` order).
    """
    from astropy.wcs import WCS

    from .gwcs_support import check_gwcs_celestial, is_gwcs

    if is_gwcs(wcs):
        check_gwcs_celestial(wcs, name)
        return
    if not isinstance(wcs, WCS):
        raise InputError(f"{name}: expected an astropy.wcs.WCS or a gwcs.wcs.WCS, got "
                         f"{type(wcs).__name__}")
    if wcs.naxis != 2 or not wcs.has_celestial:
        ctypes = list(getattr(wcs.wcs, "ctype", []))
        raise InputError(
            f"{name}: WCS must have exactly two celestial axes (RA/Dec); CTYPE = {ctypes}")
    if wcs.wcs.lng != 0 or wcs.wcs.lat != 1:
        raise InputError(f"{name}: WCS axes must be ordered longitude, latitude "
                         f"(CTYPE = {list(wcs.wcs.ctype)})")


def pixel_to_sky(wcs, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Sky positions (degrees) of 0-based pixel positions through the full WCS.

    Distortions (SIP, lookup tables, D2IM) are applied (``all_pix2world``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size == 0:
        return np.empty(x.shape), np.empty(y.shape)
    if not hasattr(wcs, "all_pix2world"):  # a gwcs
        from .gwcs_support import gwcs_pixel_to_sky

        return gwcs_pixel_to_sky(wcs, x, y)
    ra, dec = wcs.all_pix2world(x, y, 0)
    return np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)


def sky_to_pixel(wcs, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel positions of sky positions (degrees), distortions included."""
    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    if ra.size == 0:
        return np.empty(ra.shape), np.empty(dec.shape)
    if not hasattr(wcs, "all_world2pix"):  # a gwcs
        from .gwcs_support import gwcs_sky_to_pixel

        return gwcs_sky_to_pixel(wcs, ra, dec)
    x, y = wcs.all_world2pix(ra, dec, 0, tolerance=1e-8, maxiter=50, quiet=True)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def pixel_jacobian(wcs, plane: TangentPlane, x: float, y: float, step: float = 1.0) -> np.ndarray:
    """Local 2x2 Jacobian ``d(xi, eta)/d(x, y)`` (arcsec per pixel) at a pixel.

    Central differences of the full (distorted) WCS projected on ``plane``.
    ``sqrt(abs(det))`` of the result is the local pixel scale in arcsec.
    """
    px = np.array([x + step, x - step, x, x], dtype=float)
    py = np.array([y, y, y + step, y - step], dtype=float)
    xi, eta = plane.sky_to_plane(*pixel_to_sky(wcs, px, py))
    return np.array([[xi[0] - xi[1], xi[2] - xi[3]],
                     [eta[0] - eta[1], eta[2] - eta[3]]]) / (2.0 * step)
