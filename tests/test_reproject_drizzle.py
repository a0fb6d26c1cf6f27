"""reproject_drizzle: reproject's calling convention, reproject_exact's values."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlekit.exceptions import ParameterError
from drizzlekit import reproject_drizzle


def _tan(shape, scale_deg, rot_deg=0.0, crval=(10.0, -30.0), crpix=None):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    ny, nx = shape
    w.wcs.crpix = list(crpix) if crpix else [nx / 2 + 0.5, ny / 2 + 0.5]
    c, s = np.cos(np.radians(rot_deg)), np.sin(np.radians(rot_deg))
    w.wcs.cd = scale_deg * np.array([[-c, s], [s, c]])
    w.pixel_shape = (nx, ny)
    return w


def _image(shape, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.indices(shape)
    return (10 + np.sin(x / 7.0) + np.cos(y / 5.0) + rng.normal(0, 0.1, shape)).astype(float)


@pytest.mark.peer
def test_square_pixfrac_1_equals_reproject_exact():
    reproject = pytest.importorskip("reproject")
    wcs_in = _tan((60, 70), 1e-4, 0.0)
    wcs_out = _tan((50, 50), 1.3e-4, 17.0)
    data = _image((60, 70))
    ours, fp = reproject_drizzle((data, wcs_in), wcs_out, shape_out=(50, 50), stepsize=None)
    ref, ref_fp = reproject.reproject_exact((data, wcs_in), wcs_out, shape_out=(50, 50))
    full = (fp > 0.999) & (ref_fp > 0.999)
    assert full.sum() > 1000
    np.testing.assert_allclose(ours[full], ref[full], rtol=2e-5)
    np.testing.assert_allclose(fp, ref_fp, atol=2e-4)
    assert np.all(np.isnan(ours[fp == 0]))


@pytest.mark.peer
def test_plugs_into_reproject_and_coadd():
    pytest.importorskip("reproject")
    from reproject.mosaicking import reproject_and_coadd

    wcs_out = _tan((80, 120), 1e-4, 0.0)
    tiles = []
    for k, dx in enumerate((-25, 25)):
        w = _tan((70, 70), 1e-4, 3.0 * k, crpix=(35.5 - dx, 35.5))
        tiles.append((np.full((70, 70), 5.0 + k), w))
    mosaic, footprint = reproject_and_coadd(tiles, wcs_out, shape_out=(80, 120),
                                            reproject_function=reproject_drizzle,
                                            combine_function="mean")
    left = mosaic[20:60, 5:30]
    right = mosaic[20:60, 90:115]
    np.testing.assert_allclose(left, 5.0, rtol=1e-6)
    np.testing.assert_allclose(right, 6.0, rtol=1e-6)
    assert footprint.max() <= 2 + 1e-6


def test_input_forms_and_errors(tmp_path):
    wcs_in = _tan((30, 30), 1e-4)
    data = _image((30, 30))
    hdu = fits.PrimaryHDU(data, header=wcs_in.to_header())
    path = tmp_path / "in.fits"
    hdu.writeto(path)
    a1 = reproject_drizzle(str(path), wcs_in, shape_out=(30, 30), return_footprint=False)
    a2 = reproject_drizzle(fits.HDUList([hdu]), wcs_in.to_header(), shape_out=(30, 30),
                           return_footprint=False)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_allclose(a1, data, rtol=1e-6)  # identity frame
    out = np.empty((30, 30))
    res, _ = reproject_drizzle((data, wcs_in), wcs_in, shape_out=(30, 30), output_array=out)
    assert res is out
    with pytest.raises(ParameterError):
        reproject_drizzle((data, wcs_in), WCS(naxis=2))
    with pytest.raises(ParameterError):
        reproject_drizzle((data, wcs_in), wcs_in, return_type="dask")
