"""align_wcs with gwcs objects (the tweakwcs-user entry point): same answer as astropy WCS."""

import numpy as np
import pytest
from astropy.table import Table
from astropy.wcs import WCS

from drizzlekit.align import align_wcs
from drizzlekit.exceptions import InputError

gwcs = pytest.importorskip("gwcs")


def _fits_wcs(crval, rot_deg=20.0, scale_arcsec=0.1):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [512.5, 512.5]
    w.wcs.crval = list(crval)
    a = np.deg2rad(rot_deg)
    s = scale_arcsec / 3600.0
    w.wcs.cd = s * np.array([[-np.cos(a), np.sin(a)], [np.sin(a), np.cos(a)]])
    w.pixel_shape = (1024, 1024)
    w.wcs.set()
    return w


def _as_gwcs(w: WCS):
    """The same TAN WCS as a gwcs pipeline (0-based pixels, as astropy's APE-14 API)."""
    from astropy import coordinates as coord
    from astropy import units as u
    from astropy.modeling import models
    from gwcs import coordinate_frames as cf

    crpix = np.asarray(w.wcs.crpix) - 1.0
    fwd = ((models.Shift(-crpix[0]) & models.Shift(-crpix[1]))
           | models.AffineTransformation2D(matrix=np.asarray(w.wcs.cd), translation=[0, 0])
           | models.Pix2Sky_TAN()
           | models.RotateNative2Celestial(w.wcs.crval[0], w.wcs.crval[1], 180.0))
    det = cf.Frame2D(name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coord.ICRS(), name="icrs", unit=(u.deg, u.deg))
    g = gwcs.wcs.WCS([(det, fwd), (sky, None)])
    g.pixel_shape = (1024, 1024)
    return g


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(4)
    true = _fits_wcs((150.1, 2.2))
    x, y = rng.uniform(10, 1014, (2, 300))
    ra, dec = true.all_pix2world(x, y, 0)
    header = _fits_wcs((150.1 + 0.4 / 3600, 2.2 - 0.3 / 3600), rot_deg=20.02)
    cat = Table({"x": x + rng.normal(0, 0.02, x.size), "y": y + rng.normal(0, 0.02, y.size)})
    refcat = Table({"RA": ra, "DEC": dec})
    return true, header, cat, refcat


def _sep_arcsec(w1, w2, n=11):
    gx, gy = np.meshgrid(np.linspace(0, 1023, n), np.linspace(0, 1023, n))
    r1, d1 = (np.asarray(v) for v in w1.pixel_to_world_values(gx.ravel(), gy.ravel()))
    r2, d2 = (np.asarray(v) for v in w2.pixel_to_world_values(gx.ravel(), gy.ravel()))
    return np.hypot((r1 - r2) * np.cos(np.deg2rad(d1)), d1 - d2).max() * 3600


@pytest.mark.parametrize("fitgeometry", ["shift", "rscale", "general"])
def test_gwcs_alignment_equals_the_astropy_wcs_alignment(scene, fitgeometry):
    true, header, cat, refcat = scene
    g = _as_gwcs(header)
    assert _sep_arcsec(g, header) < 1e-9  # the two descriptions agree before alignment
    r_fits, = align_wcs([(cat, header)], refcat, fitgeometry=fitgeometry, searchrad=2.0)
    r_g, = align_wcs([(cat, g)], refcat, fitgeometry=fitgeometry, searchrad=2.0)
    assert r_fits.status == r_g.status == "SUCCESS"
    assert isinstance(r_g.wcs, gwcs.wcs.WCS) and r_g.wcs is not g
    np.testing.assert_allclose(r_g.matrix, r_fits.matrix, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r_g.shift, r_fits.shift, rtol=0, atol=1e-9)
    assert _sep_arcsec(r_g.wcs, r_fits.wcs) < 1e-6
    if fitgeometry != "shift":  # the truth is recovered (the header error is a roll + shift)
        assert _sep_arcsec(r_g.wcs, true) < 0.01
    assert _sep_arcsec(g, header) < 1e-9  # the input gwcs is unchanged
    # the corrected gwcs keeps an inverse
    ra, dec = r_g.wcs.pixel_to_world_values(np.array([100.0, 900.0]), np.array([50.0, 700.0]))
    x, y = r_g.wcs.world_to_pixel_values(ra, dec)
    np.testing.assert_allclose([x, y], [[100.0, 900.0], [50.0, 700.0]], atol=1e-6)


def test_a_non_celestial_gwcs_is_refused(scene):
    from astropy import units as u
    from astropy.modeling import models
    from gwcs import coordinate_frames as cf

    _, _, cat, refcat = scene
    det = cf.Frame2D(name="detector", unit=(u.pix, u.pix))
    out = cf.Frame2D(name="focal", unit=(u.arcsec, u.arcsec))
    g = gwcs.wcs.WCS([(det, models.Shift(1) & models.Shift(2)), (out, None)])
    with pytest.raises(InputError, match="celestial"):
        align_wcs([(cat, g)], refcat)
