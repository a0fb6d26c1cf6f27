"""``drizzle.utils`` served by :mod:`drizzlekit.utils`."""

from drizzlekit.utils import calc_pixmap, decode_context, estimate_pixel_scale_ratio  # noqa: F401

__all__ = ["calc_pixmap", "decode_context", "estimate_pixel_scale_ratio"]


def _estimate_pixel_scale(wcs, refpix):
    """drizzle's private helper (its tests import it): pixel scale in radians at ``refpix``."""
    from drizzlekit.pixmap import _pixel_scale, _refpix

    return _pixel_scale(wcs, _refpix(wcs, refpix, "refpix"), "wcs")
