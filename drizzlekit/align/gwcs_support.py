"""Generalized WCS (``gwcs``) objects in the alignment engine.

:func:`~drizzlekit.align.align_wcs` takes, for every chip, either an
:class:`astropy.wcs.WCS` or a :class:`gwcs.wcs.WCS` (JWST, Roman and other
ASDF-based data) whose output frame is celestial (RA, Dec in degrees, in that
order). Sources go to the sky through the gwcs's forward transform and back
through its inverse (``world_to_pixel_values``).

The correction ``u' = M u + t`` fitted in the tangent plane ``plane``
(:mod:`.tangent`: ``xi`` East, ``eta`` North, arcsec, gnomonic) is appended
to the gwcs pipeline as one model at the end of the transform into the
output frame::

    sky -> native (pole at the tangent point, lon_pole 180) -> TAN plane
        -> affine (M, t / 3600) -> TAN sky -> celestial

The FITS ``TAN`` intermediate coordinates with ``lon_pole = 180`` are
``(xi, eta)`` in degrees, so the affine model is the fitted one with the
translation in degrees. Every piece has an analytic inverse, so a gwcs whose
forward transform has an inverse keeps one. The input object is not modified
(a deep copy is corrected), as tweakwcs's correctors leave theirs unchanged
until asked.
"""

from __future__ import annotations

import copy

import numpy as np

from ..exceptions import InputError

__all__ = ["is_gwcs", "check_gwcs_celestial", "gwcs_pixel_to_sky", "gwcs_sky_to_pixel",
           "correct_gwcs", "copy_wcs"]


def is_gwcs(obj) -> bool:
    """True for a :class:`gwcs.wcs.WCS` (checked without importing gwcs)."""
    return any(c.__module__.startswith("gwcs") and c.__name__ == "WCS"
               for c in type(obj).__mro__)


def check_gwcs_celestial(w, name: str = "wcs") -> None:
    """Raise :class:`InputError` unless ``w`` maps 2 pixel axes to (RA, Dec)."""
    try:
        npix, nworld = w.pixel_n_dim, w.world_n_dim
        types = list(w.world_axis_physical_types)
    except Exception as exc:  # noqa: BLE001 - any gwcs without frames
        raise InputError(f"{name}: gwcs without usable input/output frames ({exc})") from None
    if npix != 2 or nworld != 2:
        raise InputError(f"{name}: gwcs must map 2 pixel axes to 2 world axes; has "
                         f"{npix} -> {nworld}")
    if not (str(types[0]).startswith("pos.eq.ra") and str(types[1]).startswith("pos.eq.dec")):
        raise InputError(f"{name}: gwcs output frame must be celestial (RA, Dec) in that order; "
                         f"has {types}")


def gwcs_pixel_to_sky(w, x, y) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec (degrees) of 0-based pixel positions through a gwcs."""
    ra, dec = w.pixel_to_world_values(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(ra, dtype=float) % 360.0, np.asarray(dec, dtype=float)


def gwcs_sky_to_pixel(w, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel positions of RA, Dec (degrees) through a gwcs's inverse."""
    x, y = w.world_to_pixel_values(np.asarray(ra, float), np.asarray(dec, float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _tangent_correction(ra0: float, dec0: float, matrix, shift_arcsec):
    from astropy.modeling import models

    m = np.asarray(matrix, dtype=float).reshape(2, 2)
    t = np.asarray(shift_arcsec, dtype=float).reshape(2) / 3600.0
    to_plane = models.RotateCelestial2Native(ra0, dec0, 180.0) | models.Sky2Pix_TAN()
    from_plane = models.Pix2Sky_TAN() | models.RotateNative2Celestial(ra0, dec0, 180.0)
    corr = to_plane | models.AffineTransformation2D(matrix=m, translation=t) | from_plane
    corr.name = "drizzlekit_tangent_correction"
    return corr


def correct_gwcs(w, plane, matrix, shift):
    """A corrected deep copy of a gwcs (see the module notes); ``w`` is unchanged.

    Parameters
    ----------
    w : gwcs.wcs.WCS
    plane : TangentPlane
        Plane of the fit (its tangent point is the correction's).
    matrix : array_like (2, 2)
        Linear part of the correction.
    shift : array_like (2,)
        Translation, arcsec.
    """
    check_gwcs_celestial(w)
    out = copy.deepcopy(w)
    out.insert_transform(out.output_frame, _tangent_correction(plane.ra0, plane.dec0, matrix,
                                                               shift), after=False)
    return out


def copy_wcs(w):
    """A copy of an astropy WCS (``deepcopy()``) or a gwcs (``copy.deepcopy``)."""
    return copy.deepcopy(w) if is_gwcs(w) else w.deepcopy()
