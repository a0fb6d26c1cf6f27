"""Drizzle as a reprojection function with the calling convention of ``reproject``.

:func:`reproject_drizzle` has the signature of ``reproject.reproject_exact``,
so it can be used on its own or plugged into
``reproject.mosaicking.reproject_and_coadd(..., reproject_function=reproject_drizzle)``.

What it returns, with ``w_i`` the overlap area (in output pixels) of the drop
of input pixel ``i`` with an output pixel and ``d_i`` its value::

    array     = sum_i w_i d_i / sum_i w_i      (NaN where nothing lands)
    footprint = sum_i w_i / s**2               (0 = not covered, 1 = fully covered)

where ``s`` is the output/input pixel-scale ratio (at the reference pixel:
for strongly distorted inputs the footprint's scale is that of the centre).

For the ``square`` kernel with ``pixfrac=1`` this is the same surface-brightness
conserving average that ``reproject_exact`` computes (both values are
intensities, not fluxes); smaller ``pixfrac`` shrinks the drops as in
AstroDrizzle. reproject is *not* a dependency of drizzlekit: this module only
parses the common input forms itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .exceptions import InputError, ParameterError

__all__ = ["reproject_drizzle"]


def _wcs_and_data_from_hdu(hdu) -> tuple[np.ndarray, WCS]:
    if hdu.data is None:
        raise InputError(f"HDU {hdu.name!r} has no data")
    return np.asarray(hdu.data), WCS(hdu.header)


def _parse_input(input_data, hdu_in) -> tuple[np.ndarray, Any]:
    """(array, WCS) from the input forms reproject accepts."""
    if isinstance(input_data, (str, Path)):
        with fits.open(input_data) as hdul:
            data, wcs = _wcs_and_data_from_hdu(hdul[hdu_in or 0])
            return data.copy(), wcs
    if isinstance(input_data, fits.HDUList):
        return _wcs_and_data_from_hdu(input_data[hdu_in or 0])
    if isinstance(input_data, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        return _wcs_and_data_from_hdu(input_data)
    if isinstance(input_data, tuple) and len(input_data) == 2:
        data, wcs = input_data
        if isinstance(wcs, fits.Header):
            wcs = WCS(wcs)
        return np.asarray(data), wcs
    if hasattr(input_data, "data") and hasattr(input_data, "wcs"):  # NDData, CCDData
        if input_data.wcs is None:
            raise InputError("the NDData input has no WCS")
        return np.asarray(input_data.data), input_data.wcs
    raise InputError(f"cannot read an image and its WCS from {type(input_data).__name__}")


def _parse_output(output_projection, shape_out) -> tuple[Any, tuple[int, int]]:
    if isinstance(output_projection, fits.Header):
        wcs = WCS(output_projection)
        if shape_out is None and output_projection.get("NAXIS", 0) == 2:
            shape_out = (output_projection["NAXIS2"], output_projection["NAXIS1"])
    else:
        wcs = output_projection
        if shape_out is None and getattr(wcs, "array_shape", None) is not None:
            shape_out = tuple(wcs.array_shape)
    if shape_out is None:
        raise ParameterError("shape_out is needed when the output WCS has no shape")
    shape_out = tuple(int(n) for n in shape_out)
    if len(shape_out) != 2 or min(shape_out) < 1:
        raise ParameterError(f"shape_out must be two positive sizes, got {shape_out}")
    return wcs, shape_out


def reproject_drizzle(input_data, output_projection, shape_out=None, hdu_in=0,
                      output_array=None, output_footprint=None, return_footprint=True,
                      block_size=None, parallel=False, return_type=None, dask_method=None,
                      *, kernel: str = "square", pixfrac: float = 1.0,
                      weights=None, stepsize: int | None = 10):
    """Drizzle one image onto a new WCS, with ``reproject.reproject_exact``'s signature.

    Parameters
    ----------
    input_data : str, Path, HDUList, ImageHDU, (array, WCS or Header), NDData
        The image and its celestial WCS.
    output_projection : WCS or Header
        The output frame.
    shape_out : (ny, nx), optional
        Output shape; taken from the WCS/Header when it has one.
    hdu_in : int or str
        HDU to read from a file name or an HDUList.
    output_array, output_footprint : ndarray, optional
        Arrays to fill in place (as in reproject).
    return_footprint : bool
        Return ``(array, footprint)`` (default) or just the array.
    block_size, parallel, dask_method
        Accepted for compatibility; drizzlekit already runs its loops on
        ``numba.get_num_threads()`` threads.
    return_type : {None, 'numpy'}
        Only NumPy arrays are returned.
    kernel : str
        Drizzle kernel (``drizzlekit.available_kernels()``).
    pixfrac : float
        Linear drop size in input pixels.
    weights : 2-D array, optional
        Input weight map (>= 0).
    stepsize : int or None
        Grid spacing of the exact WCS evaluation of the pixel map (None/0: exact
        everywhere).

    Returns
    -------
    array : ndarray
        Surface-brightness-conserving average of the input values (NaN where no
        input lands).
    footprint : ndarray
        Covered fraction of each output pixel (x weight).

    Examples
    --------
    With reproject installed::

        from reproject.mosaicking import reproject_and_coadd
        mosaic, fp = reproject_and_coadd(hdus, wcs_out, shape_out=shape,
                                         reproject_function=reproject_drizzle)
    """
    from .pixmap import calc_pixmap, estimate_pixel_scale_ratio
    from .resample import Drizzle

    if return_type not in (None, "numpy"):
        raise ParameterError(f"return_type={return_type!r}: reproject_drizzle returns NumPy arrays")
    data, wcs_in = _parse_input(input_data, hdu_in)
    if data.ndim != 2:
        raise InputError(f"reproject_drizzle takes 2-D images, got {data.ndim}-D")
    wcs_out, shape = _parse_output(output_projection, shape_out)
    pixmap = calc_pixmap(wcs_in, wcs_out, shape=data.shape, stepsize=stepsize)
    ratio = estimate_pixel_scale_ratio(wcs_in, wcs_out)
    d = Drizzle(kernel=kernel, out_shape=shape, on_no_overlap="ignore")
    d.add_image(np.asarray(data, dtype=np.float32), exptime=1.0, pixmap=pixmap,
                weight_map=weights, pixfrac=pixfrac, pixel_scale_ratio=ratio)
    array = np.where(d.out_wht > 0, d.out_img, np.nan)
    # out_wht sums overlap x weight in input-pixel areas; reproject's footprint is
    # the covered fraction of each output pixel
    footprint = d.out_wht.astype(float) / ratio ** 2
    if output_array is not None:
        output_array[...] = array
        array = output_array
    if output_footprint is not None:
        output_footprint[...] = footprint
        footprint = output_footprint
    return (array, footprint) if return_footprint else array
