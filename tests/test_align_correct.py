"""Applying a fitted correction to a real distorted WCS."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from drizzlekit.align.correct import correct_wcs, correction_error
from drizzlekit.align.simulate import SkyTransform, exposure_center, load_chips, wcs_error_pixels
from drizzlekit.align.tangent import TangentPlane
from drizzlekit.exceptions import InputError

DATA = Path(__file__).parent / "data" / "align"


def _rot(deg, scale=1.0):
    t = np.deg2rad(deg)
    return scale * np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])


@pytest.fixture(scope="module", params=["2chipA", "2chipC"])
def chips(request):
    return load_chips(DATA / f"{request.param}.fits.gz")


def test_identity_is_a_no_op(chips):
    w = chips[0]
    plane = TangentPlane(*exposure_center(chips))
    new = correct_wcs(w, plane, np.eye(2), [0.0, 0.0])
    assert correction_error(w, new, plane, np.eye(2), [0, 0]) < 1e-6
    np.testing.assert_allclose(new.wcs.crval, w.wcs.crval, atol=1e-12)
    np.testing.assert_allclose(new.wcs.cd, w.wcs.cd, rtol=1e-9)


@pytest.mark.parametrize("rot,scale,shift", [(0.1, 1 + 1e-4, (2.0, -1.5)), (-0.3, 0.9999, (0, 30)),
                                             (0.0, 1.0, (-3.0, 0.2))])
def test_correction_reproduced_over_chip(chips, rot, scale, shift):
    plane = TangentPlane(*exposure_center(chips))
    m = _rot(rot, scale)
    for w in chips:
        new = correct_wcs(w, plane, m, shift)
        err = correction_error(w, new, plane, m, shift)
        assert err / 0.04 < 1e-3  # arcsec -> pixels (0.04-0.05 "/px), < 1 milli-pixel


def test_only_crval_and_cd_change(chips):
    w = chips[1]
    plane = TangentPlane(*exposure_center(chips))
    new = correct_wcs(w, plane, _rot(0.05, 1.00005), (1.0, 2.0))
    np.testing.assert_array_equal(new.wcs.crpix, w.wcs.crpix)
    np.testing.assert_array_equal(new.sip.a, w.sip.a)
    np.testing.assert_array_equal(new.sip.b, w.sip.b)
    for attr in ("cpdis1", "cpdis2", "det2im1", "det2im2"):
        a, b = getattr(w, attr), getattr(new, attr)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.data, b.data)
    assert w.wcs.ctype[0] == new.wcs.ctype[0] and new.wcs.has_cd()
    h0, h1 = w.to_header(relax=True), new.to_header(relax=True)
    changed = {k for k in set(h0) | set(h1) if h0.get(k) != h1.get(k)}
    # astropy writes CD as PC (CDELT = 1); LATPOLE is derived from CRVAL by WCSLIB
    assert changed <= {"CRVAL1", "CRVAL2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "LATPOLE"}, changed
    assert {"CRVAL1", "CRVAL2"} <= changed
    # input untouched
    assert not np.array_equal(new.wcs.crval, w.wcs.crval)


def test_rotation_convention_against_sphere_rotation(chips):
    """M = R(theta) in the plane equals rolling the sky by +theta about the tangent point."""
    center = exposure_center(chips)
    plane = TangentPlane(*center)
    for theta in (0.1, -0.25):
        sky = SkyTransform(center, rotation=theta, scale=2e-4, shift=(1.5, -0.7))
        m = _rot(theta, 1 + 2e-4)
        # the corrected WCS must equal sky ∘ W (exact rotations of the sphere, no tangent plane)
        for w in chips:
            new = correct_wcs(w, plane, m, (1.5, -0.7))
            nx, ny = w.pixel_shape
            gx, gy = np.meshgrid(np.linspace(0, nx - 1, 5), np.linspace(0, ny - 1, 5))
            r0, d0 = w.all_pix2world(gx.ravel(), gy.ravel(), 0)
            rt, dt = sky(r0, d0)
            r1, d1 = new.all_pix2world(gx.ravel(), gy.ravel(), 0)
            err = np.hypot((r1 - rt) * np.cos(np.deg2rad(dt)), d1 - dt) * 3600
            assert err.max() / 0.04 < 0.01, err.max()


def test_pc_cdelt_wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [512.0, 512.0]
    w.wcs.cdelt = [-0.1 / 3600, 0.1 / 3600]
    w.wcs.pc = _rot(20.0)
    w.wcs.set()
    w.pixel_shape = (1024, 1024)
    plane = TangentPlane(150.01, 2.01)
    m, t = _rot(0.2, 1.0001), (0.5, -0.25)
    new = correct_wcs(w, plane, m, t)
    assert not new.wcs.has_cd()
    np.testing.assert_array_equal(new.wcs.cdelt, w.wcs.cdelt)
    assert correction_error(w, new, plane, m, t) < 1e-5


def test_simulated_truth_helper_is_consistent(chips):
    # the simulate module's truth: correcting by the exact inverse gives ~0 error
    center = exposure_center(chips)
    sky = SkyTransform(center, rotation=0.0, scale=0.0, shift=(0.0, 0.0))
    assert wcs_error_pixels(chips[0], chips[0], sky) < 1e-6


def test_non_celestial_rejected():
    w = WCS(naxis=2)
    w.wcs.ctype = ["LINEAR", "LINEAR"]
    with pytest.raises(InputError, match="celestial"):
        correct_wcs(w, TangentPlane(0, 0), np.eye(2), (0, 0))


def test_lookup_table_headers_load():
    # the D2IM/CPDIS tables of 2chipA survive a correction and still apply
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        with fits.open(DATA / "2chipA.fits.gz") as h:
            w = WCS(h[1].header, h)
    w.pixel_shape = (4096, 2048)
    assert w.cpdis1 is not None
    new = correct_wcs(w, TangentPlane(*w.wcs.crval), np.eye(2), (0.1, 0.1))
    p = np.array([[100.0, 200.0], [3000.0, 1500.0]])
    # the distortion (pixel -> focal plane) is exactly the same, and not the identity
    np.testing.assert_array_equal(new.pix2foc(p, 0), w.pix2foc(p, 0))
    assert np.abs(w.pix2foc(p, 0) - p).max() > 0.1
