"""Step 6: blot the median image back onto every chip (spec §8).

For every pixel of a chip its position in the median frame is found through
the chip's full (distorted) WCS and the undistorted median WCS (a pixel map,
:func:`drizzlekit.pixmap.calc_pixmap`, evaluated on a ``stepsize`` grid);
the median is interpolated there (:func:`drizzlekit.blot.blot_image`) and
turned back into the chip's native units::

    blot = interp(median) * EXPTIME / s**2 / conversion_factor + sky

``s = pscale_median / pscale_chip`` (output over nominal input pixel
scale) undoes the ``s**2`` surface-brightness scaling of the drizzle, the
EXPTIME and ``conversion_factor`` undo the rate and the unit conversion.
Chip pixels that fall off the median get 0 before the sky is added (the
sky is added everywhere, as in drizzlepac, spec Q16).
"""

from __future__ import annotations

import logging
import math

import numpy as np
from astropy.wcs import WCS

from ..blot import blot_image
from ..exceptions import InputError, ShapeError
from .drizzle_steps import output_pscale

__all__ = ["blot_chip"]

log = logging.getLogger(__name__)


def blot_chip(median: np.ndarray, median_wcs: WCS, chip_wcs: WCS | None,
              chip_shape: tuple[int, int], *, exptime: float, pscale: float | None = None,
              conversion_factor: float = 1.0, sky: float | None = 0.0,
              interp: str = "poly5", sinscl: float = 1.0, stepsize: int | None = 10,
              pixmap: np.ndarray | None = None, compat: bool = False) -> np.ndarray:
    """Blot the median image onto one chip, in the chip's native units.

    Parameters
    ----------
    median : 2-D array
        The median image (e-/s, x gain for count data) in the frame of
        ``median_wcs``.
    median_wcs : astropy.wcs.WCS
        Undistorted WCS of the median (``single_wcs``).
    chip_wcs : astropy.wcs.WCS or None
        Full (distorted) WCS of the chip; not needed when ``pixmap`` is given.
    chip_shape : (ny, nx)
        Shape of the chip, pixels.
    exptime : float
        Exposure time of the chip, s.
    pscale : float, optional
        Nominal (undistorted) pixel scale of the chip, arcsec/pixel
        (IDCSCALE); default sqrt|det CD| of ``chip_wcs``.
    conversion_factor : float
        Factor turning the chip's data into electrons (1 for ACS/WFC3
        electrons, EXPTIME for e-/s data, the gain for counts).
    sky : float or None
        Added to every pixel at the end (data units): the computed sky when
        ``blot_addsky``, else ``blot_skyval``; None = 0.
    interp : str
        ``nearest``, ``linear``, ``poly3``, ``poly5``, ``sinc`` (or the
        ``lanczos3``/``lanczos5`` of :func:`drizzlekit.blot.blot_image`).
    sinscl : float
        Scale of the sinc offsets.
    stepsize : int or None
        Grid spacing of the pixel map, input pixels (None/0 = exact).
    pixmap : array (ny, nx, 2), optional
        Precomputed median-frame positions (0-based) of the chip pixels.
    compat : bool
        drizzle 3.0's poly5 edge quirk (see :func:`drizzlekit.blot.blot_image`).

    Returns
    -------
    numpy.ndarray of float32, shape ``chip_shape``
        The blotted model of the chip, native units, sky included.

    Raises
    ------
    InputError, ShapeError
        Invalid scalars, or a pixmap of the wrong shape.
    """
    ny, nx = (int(n) for n in chip_shape)
    if not (math.isfinite(exptime) and exptime > 0):
        raise InputError(f"exptime must be > 0, got {exptime}")
    if not (math.isfinite(conversion_factor) and conversion_factor > 0):
        raise InputError(f"conversion_factor must be > 0, got {conversion_factor}")
    if pscale is None:
        if chip_wcs is None:
            raise InputError("give pscale or chip_wcs (nominal chip pixel scale)")
        pscale = output_pscale(chip_wcs)
    if not pscale > 0:
        raise InputError(f"pscale must be > 0, got {pscale}")
    s = output_pscale(median_wcs) / float(pscale)
    if pixmap is None:
        if chip_wcs is None:
            raise InputError("a chip WCS or a pixmap is needed")
        from ..pixmap import calc_pixmap

        step = None if not stepsize else int(stepsize)
        pixmap = calc_pixmap(chip_wcs, median_wcs, shape=(ny, nx), stepsize=step)
    elif np.shape(pixmap) != (ny, nx, 2):
        raise ShapeError(f"pixmap has shape {np.shape(pixmap)}, expected {(ny, nx, 2)}")
    scale = float(exptime) / (s * s) / float(conversion_factor)
    out = blot_image(median, pixmap, fillval=0.0, iscale=scale, interp=interp,
                     sinscl=sinscl, compat=compat)
    if sky:
        out += np.float32(sky)
    return out
