"""Orthonormal tangent plane (arcsec) against astropy's own TAN projection."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from drizzlekit.align.tangent import (
    TangentPlane,
    check_celestial_wcs,
    mean_direction,
    pixel_jacobian,
)
from drizzlekit.exceptions import InputError


def _astropy_tan(ra0, dec0):
    """A TAN WCS whose pixel offsets are (xi, eta) in arcsec (East, North)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [0.0, 0.0]
    w.wcs.cdelt = [1 / 3600.0, 1 / 3600.0]
    w.wcs.set()
    return w


@pytest.mark.parametrize("ra0,dec0", [(5.63, -72.05), (201.7, -47.5), (359.99, 0.0), (10.0, 89.9)])
def test_matches_astropy_gnomonic(ra0, dec0):
    rng = np.random.default_rng(1)
    plane = TangentPlane(ra0, dec0)
    xi = rng.uniform(-600, 600, 200)
    eta = rng.uniform(-600, 600, 200)
    ra, dec = _astropy_tan(ra0, dec0).wcs_pix2world(xi, eta, 1)
    x2, y2 = plane.sky_to_plane(ra, dec)
    np.testing.assert_allclose(x2, xi, atol=1e-7)
    np.testing.assert_allclose(y2, eta, atol=1e-7)
    ra3, dec3 = plane.plane_to_sky(xi, eta)
    sep = SkyCoord(ra3, dec3, unit="deg").separation(SkyCoord(ra, dec, unit="deg")).arcsec
    assert sep.max() < 1e-7


def test_axes_east_north_and_orthonormal():
    plane = TangentPlane(150.0, 30.0)
    c = SkyCoord(150.0, 30.0, unit="deg")
    for pa in (0.0, 37.0, 90.0, 211.0):
        p = c.directional_offset_by(pa * u.deg, 1.0 * u.arcsec)
        x, y = plane.sky_to_plane(p.ra.deg, p.dec.deg)
        # PA is East of North: (xi, eta) = (sin PA, cos PA)
        assert abs(x - np.sin(np.deg2rad(pa))) < 1e-6
        assert abs(y - np.cos(np.deg2rad(pa))) < 1e-6


def test_far_side_is_nan():
    plane = TangentPlane(0.0, 0.0)
    x, y = plane.sky_to_plane([180.0, 10.0], [0.0, 0.0])
    assert np.isnan(x[0]) and np.isnan(y[0]) and np.isfinite(x[1])


def test_mean_direction_wraps_ra():
    ra, dec = mean_direction([359.9, 0.1], [10.0, 10.0])
    assert abs(((ra + 180) % 360) - 180) < 1e-9 and abs(dec - 10.0) < 1e-4
    with pytest.raises(InputError, match="no positions"):
        mean_direction([], [])


def test_invalid_tangent_point():
    with pytest.raises(InputError, match="tangent point"):
        TangentPlane(10.0, 95.0)


def test_pixel_jacobian_of_linear_wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [30.0, -20.0]
    w.wcs.crpix = [100.0, 100.0]
    th = np.deg2rad(25.0)
    s = 0.05 / 3600
    w.wcs.cd = s * np.array([[-np.cos(th), np.sin(th)], [np.sin(th), np.cos(th)]])
    w.wcs.set()
    jac = pixel_jacobian(w, TangentPlane(30.0, -20.0), 99.0, 99.0)
    np.testing.assert_allclose(jac, w.wcs.cd * 3600, atol=1e-9)
    assert abs(np.sqrt(abs(np.linalg.det(jac))) - 0.05) < 1e-9


def test_check_celestial():
    w = WCS(naxis=2)
    w.wcs.ctype = ["WAVE", "FREQ"]
    with pytest.raises(InputError, match="celestial"):
        check_celestial_wcs(w, "mywcs")
    with pytest.raises(InputError, match="astropy.wcs.WCS"):
        check_celestial_wcs("not a wcs", "mywcs")
    w3 = WCS(naxis=3)
    w3.wcs.ctype = ["RA---TAN", "DEC--TAN", "WAVE"]
    with pytest.raises(InputError, match="two celestial"):
        check_celestial_wcs(w3)
    swapped = WCS(naxis=2)
    swapped.wcs.ctype = ["DEC--TAN", "RA---TAN"]
    swapped.wcs.set()
    with pytest.raises(InputError, match="longitude, latitude"):
        check_celestial_wcs(swapped)
