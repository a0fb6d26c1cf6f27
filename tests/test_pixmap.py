"""Tests of drizzlekit.pixmap: calc_pixmap, estimate_pixel_scale_ratio, decode_context.

Side by side with drizzle 3.0.0 (``drizzle.utils``) on real HST headers
(tests/data/wcs_headers), plus analytic and invariant checks.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy import coordinates as coord
from astropy import units as u
from astropy.io import fits
from astropy.modeling import models
from astropy.wcs import WCS, FITSFixedWarning
from drizzle import utils as dutils

from drizzlekit import pixmap as pm
from drizzlekit.exceptions import DtypeError, InputError, ShapeError
from drizzlekit.pixmap import calc_pixmap, decode_context, estimate_pixel_scale_ratio

gwcs = pytest.importorskip("gwcs")
from gwcs import coordinate_frames as cf  # noqa: E402

DATA = Path(__file__).parent / "data" / "wcs_headers"
CHIP = (2048, 4096)  # ACS/WFC chip, numpy order (ny, nx)
UVIS = (2051, 4096)  # WFC3/UVIS chip

#: (file, extension, full chip shape) of the real distorted headers
REAL = [
    ("2chipA.fits.gz", ("SCI", 1), CHIP),
    ("2chipA.fits.gz", ("SCI", 2), CHIP),
    ("2chipB.fits.gz", ("SCI", 1), CHIP),
    ("2chipB.fits.gz", ("SCI", 2), CHIP),
    ("j94f05bgq_flt.fits", ("SCI", 1), CHIP),
    ("j94f05bgq_flt.fits", ("SCI", 2), CHIP),
    ("dist_lookup.fits.gz", ("SCI", 1), CHIP),
    ("ie6d07ujq_wcs.fits", 0, UVIS),
    ("sample_flc_sci_wcs.fits.gz", ("SCI", 1), CHIP),
    ("sample_flc_sci_wcs.fits.gz", ("SCI", 2), CHIP),
]
REAL_IDS = [f"{f.split('.')[0]}[{e if isinstance(e, int) else e[1]}]" for f, e, _ in REAL]


def load_wcs(name: str, ext, shape=None) -> WCS:
    """Astropy WCS (with SIP/CPDIS/D2IM) of a shipped header; pixel_shape set to ``shape``."""
    with fits.open(DATA / name) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        w = WCS(hdul[ext].header, hdul)
    if shape is not None:
        w.pixel_shape = shape[::-1]
    return w


def tan_wcs(crval, scale_arcsec=0.05, rot_deg=0.0, crpix=(2100.0, 2100.0)) -> WCS:
    """Undistorted north-up (rotated by ``rot_deg``) TAN WCS."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = crpix
    s = scale_arcsec / 3600.0
    c, sn = np.cos(np.deg2rad(rot_deg)), np.sin(np.deg2rad(rot_deg))
    w.wcs.cd = s * np.array([[-c, sn], [sn, c]])
    w.wcs.set()
    return w


def output_for(w: WCS, shape, rot_deg=12.0) -> WCS:
    """TAN output frame centred on the chip ``w`` of the given shape, 0.05"/pixel."""
    ny, nx = shape
    crval = w.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
    return tan_wcs(crval, 0.05, rot_deg)


def exact_points(w_from: WCS, w_to: WCS, xy: np.ndarray) -> np.ndarray:
    """Exact output pixels of (N, 2) input pixels, straight from astropy."""
    return np.column_stack(w_to.world_to_pixel_values(*w_from.pixel_to_world_values(xy[:, 0], xy[:, 1])))


def crop(w: WCS, y0: int, x0: int, n: int = 512) -> WCS:
    """An n x n sub-image WCS starting at pixel (x0, y0) (distortions included)."""
    return w[y0 : y0 + n, x0 : x0 + n]


def make_gwcs(crval=(5.63, -72.05), crpix=(50.0, 20.0), scale_arcsec=0.05, rot_deg=30.0, bbox=None):
    """Simple imaging gwcs: shift | affine (scale+rotation) | Pix2Sky_TAN | RotateNative2Celestial."""
    c, s = np.cos(np.deg2rad(rot_deg)), np.sin(np.deg2rad(rot_deg))
    matrix = np.array([[-c, s], [s, c]]) * scale_arcsec / 3600.0
    transform = (
        (models.Shift(-crpix[0]) & models.Shift(-crpix[1]))
        | models.AffineTransformation2D(matrix=matrix)
        | models.Pix2Sky_TAN()
        | models.RotateNative2Celestial(crval[0], crval[1], 180.0)
    )
    det = cf.Frame2D(name="detector", axes_names=("x", "y"), unit=(u.pix, u.pix))
    sky = cf.CelestialFrame(reference_frame=coord.ICRS(), name="world", unit=(u.deg, u.deg))
    w = gwcs.wcs.WCS([(det, transform), (sky, None)])
    if bbox is not None:
        w.bounding_box = bbox
    return w


def fits_equivalent(crval, crpix, scale_arcsec, rot_deg) -> WCS:
    """The FITS TAN WCS equal to ``make_gwcs`` with the same arguments."""
    return tan_wcs(crval, scale_arcsec, rot_deg, crpix=(crpix[0] + 1.0, crpix[1] + 1.0))


class HoledWCS:
    """Minimal APE-14 WCS wrapping another one, with NaN world coordinates in a disk."""

    pixel_n_dim = 2
    world_n_dim = 2

    def __init__(self, wcs, center, radius, array_shape=None):
        self._wcs = wcs
        self._c = center
        self._r = radius
        self.array_shape = array_shape
        self.pixel_shape = None if array_shape is None else array_shape[::-1]
        self.world_axis_physical_types = wcs.world_axis_physical_types
        self.world_axis_units = wcs.world_axis_units

    def pixel_to_world_values(self, x, y):
        a, d = self._wcs.pixel_to_world_values(x, y)
        hole = (np.asarray(x) - self._c[0]) ** 2 + (np.asarray(y) - self._c[1]) ** 2 < self._r**2
        return np.where(hole, np.nan, a), np.where(hole, np.nan, d)

    def world_to_pixel_values(self, a, d):
        return self._wcs.world_to_pixel_values(a, d)


def pixel_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels) between two pixmaps / (N, 2) arrays."""
    return np.hypot(a[..., 0] - b[..., 0], a[..., 1] - b[..., 1])


# ---------------------------------------------------------------------------
# calc_pixmap, exact path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ext", "full"), REAL, ids=REAL_IDS)
def test_exact_matches_drizzle_on_real_headers(name, ext, full):
    w = load_wcs(name, ext, full)
    out = output_for(w, full)
    # lower-left corner region and the far corner (a cropped WCS) of the chip
    for w_in in (w, crop(w, full[0] - 160, full[1] - 320, 160)):
        ours = calc_pixmap(w_in, out, shape=(160, 320))
        ref = dutils.calc_pixmap(w_in, out, shape=(160, 320))
        assert ours.shape == (160, 320, 2) and ours.dtype == np.float64
        assert np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_exact_distorted_to_distorted_matches_drizzle():
    # chip 1 of one visit onto chip 2 of another: the "to" side needs the
    # iterative all_world2pix inverse of SIP + lookup tables
    w_from = load_wcs("2chipA.fits.gz", ("SCI", 1), CHIP)
    w_to = load_wcs("2chipB.fits.gz", ("SCI", 2), CHIP)
    ours = calc_pixmap(w_from, w_to, shape=(200, 300))
    ref = dutils.calc_pixmap(w_from, w_to, shape=(200, 300))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_exact_row_blocks_match_single_call(monkeypatch):
    # many small blocks, the last one partial, must give the same map
    monkeypatch.setattr(pm, "_BLOCK_PIXELS", 1000)
    w = load_wcs("dist_lookup.fits.gz", ("SCI", 1), CHIP)
    out = output_for(w, CHIP)
    ours = calc_pixmap(w, out, shape=(97, 301))
    ref = dutils.calc_pixmap(w, out, shape=(97, 301))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)
    # blocks spread over threads (each with its own WCS copies): same numbers
    monkeypatch.setattr(pm, "num_threads", lambda: 3)
    np.testing.assert_array_equal(calc_pixmap(w, out, shape=(97, 301)), ours)


def test_shape_from_wcs_array_shape():
    w = load_wcs("2chipA.fits.gz", ("SCI", 1))  # NAXIS 10 x 10
    out = output_for(w, CHIP)
    ours = calc_pixmap(w, out)
    assert ours.shape == (10, 10, 2)
    np.testing.assert_allclose(ours, dutils.calc_pixmap(w, out), rtol=0, atol=1e-10)
    w.pixel_shape = (37, 21)  # nx, ny
    assert calc_pixmap(w, out).shape == (21, 37, 2)


def test_identity_mapping_is_pixel_indices():
    w = tan_wcs((150.0, 2.2), 0.04, 33.0)
    y, x = np.indices((64, 96), dtype=float)
    got = calc_pixmap(w, w, shape=(64, 96))
    np.testing.assert_allclose(got[..., 0], x, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got[..., 1], y, rtol=0, atol=1e-8)
    # with SIP + lookup tables the inverse is iterative (astropy tolerance 1e-4 pixel)
    wd = load_wcs("dist_lookup.fits.gz", ("SCI", 1), CHIP)
    got = calc_pixmap(wd, wd, shape=(64, 96))
    assert pixel_error(got, np.dstack([x, y])).max() < 1e-4
    got = calc_pixmap(wd, wd, shape=(64, 96), stepsize=10)
    assert pixel_error(got, np.dstack([x, y])).max() < 1e-4


# ---------------------------------------------------------------------------
# calc_pixmap, stepsize (grid + bicubic interpolation)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ext", "full"), REAL, ids=REAL_IDS)
def test_stepsize10_error_on_cropped_real_chips(name, ext, full):
    """Error of stepsize=10 on 512x512 crops at three places of each real chip."""
    w = load_wcs(name, ext, full)
    out = output_for(w, full)
    ny, nx = full
    worst = 0.0
    for y0, x0 in ((0, 0), (ny // 2 - 256, nx // 2 - 256), (ny - 512, nx - 512)):
        sub = crop(w, y0, x0)
        approx = calc_pixmap(sub, out, shape=(512, 512), stepsize=10)
        exact = calc_pixmap(sub, out, shape=(512, 512))
        worst = max(worst, pixel_error(approx, exact).max())
        # grid nodes (every 10th pixel and the last) are exact
        nodes = np.r_[0:512:10, 511]
        at_nodes = np.ix_(nodes, nodes)
        np.testing.assert_allclose(approx[at_nodes], exact[at_nodes], rtol=0, atol=1e-9)
    assert worst <= 0.01, f"{name}[{ext}]: max error {worst:.2e} pixel"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "ext", "full"), REAL, ids=REAL_IDS)
def test_stepsize10_error_full_chip(name, ext, full):
    """Full 4096x2048 chips: stepsize=10 versus the exact map, <= 0.01 pixel."""
    w = load_wcs(name, ext, full)
    out = output_for(w, full)
    approx = calc_pixmap(w, out, shape=full, stepsize=10)
    exact = calc_pixmap(w, out, shape=full)
    err = pixel_error(approx, exact)
    assert np.all(np.isfinite(err))
    assert err.max() <= 0.01, f"max error {err.max():.2e} pixel"


@pytest.mark.slow
def test_exact_full_chip_matches_drizzle():
    w = load_wcs("2chipA.fits.gz", ("SCI", 1), CHIP)
    out = output_for(w, CHIP)
    ours = calc_pixmap(w, out, shape=CHIP)
    np.testing.assert_allclose(ours, dutils.calc_pixmap(w, out, shape=CHIP), rtol=0, atol=1e-10)


def test_stepsize_one_is_exact_and_large_steps_work():
    w = load_wcs("j94f05bgq_flt.fits", ("SCI", 2), CHIP)
    out = output_for(w, CHIP)
    exact = calc_pixmap(w, out, shape=(50, 70))
    np.testing.assert_array_equal(calc_pixmap(w, out, shape=(50, 70), stepsize=1), exact)
    # a step larger than the image: nodes are only the first and last pixel
    big = calc_pixmap(w, out, shape=(50, 70), stepsize=1000)
    # ... so the interpolant is bilinear between the four exact corners
    y, x = np.indices((50, 70), dtype=float)
    tx, ty = (x / 69.0)[..., None], (y / 49.0)[..., None]
    c00, c01, c10, c11 = exact[0, 0], exact[0, 69], exact[49, 0], exact[49, 69]
    bilinear = (1 - ty) * ((1 - tx) * c00 + tx * c01) + ty * ((1 - tx) * c10 + tx * c11)
    np.testing.assert_allclose(big, bilinear, rtol=0, atol=1e-9)
    # single row and single column images
    for shape in ((1, 70), (50, 1)):
        np.testing.assert_allclose(
            calc_pixmap(w, out, shape=shape, stepsize=7), calc_pixmap(w, out, shape=shape), rtol=0, atol=1e-3
        )


def test_lagrange_kernel_reproduces_bicubic_polynomials():
    """The separable 4-node Lagrange interpolant is exact for degree <= 3 per axis."""
    ny, nx = 53, 71
    xs, ys = pm._grid_nodes(nx, 8), pm._grid_nodes(ny, 8)  # uneven last interval
    assert xs[-1] == nx - 1 and ys[-1] == ny - 1 and xs[-1] - xs[-2] < 8

    def f(x, y):
        return np.stack([0.3 + 1e-2 * x**3 - 2e-3 * x * y**2 + y, 5.0 - x * y + 1e-4 * x**3 * y**3], axis=-1)

    grid = f(*np.meshgrid(xs, ys))
    sx, wx = pm._lagrange_stencils(xs, nx, 4)
    sy, wy = pm._lagrange_stencils(ys, ny, 4)
    out = np.empty((ny, nx, 2))
    assert pm._interp_separable(grid, sx, wx, sy, wy, out) == 0
    y, x = np.indices((ny, nx), dtype=float)
    np.testing.assert_allclose(out, f(x, y), rtol=1e-12, atol=1e-9)


def test_kernel_propagates_nan_node_to_its_stencil():
    ny, nx = 41, 41
    xs = ys = pm._grid_nodes(41, 10)  # 0, 10, 20, 30, 40
    grid = np.ones((ys.size, xs.size, 2))
    grid[2, 2] = np.nan  # node at pixel (20, 20)
    sx, wx = pm._lagrange_stencils(xs, nx, 4)
    sy, wy = pm._lagrange_stencils(ys, ny, 4)
    out = np.empty((ny, nx, 2))
    nnan = pm._interp_separable(grid, sx, wx, sy, wy, out)
    bad = np.isnan(out).any(axis=-1)
    assert nnan == bad.sum() > 0
    # every pixel whose x- and y-stencils both contain node 2 is NaN, all others are exact
    uses = lambda s: (s <= 2) & (2 < s + 4)  # noqa: E731
    expect = uses(sy)[:, None] & uses(sx)[None, :]
    np.testing.assert_array_equal(bad, expect)
    np.testing.assert_allclose(out[~bad], 1.0, rtol=0, atol=1e-12)


def test_nan_grid_nodes_fall_back_to_exact():
    base = tan_wcs((10.0, -30.0), 0.05, 20.0, crpix=(150.0, 100.0))
    holed = HoledWCS(base, center=(150.0, 100.0), radius=25.0, array_shape=(200, 300))
    out = tan_wcs((10.0, -30.0), 0.1, 0.0)
    exact = calc_pixmap(holed, out)
    approx = calc_pixmap(holed, out, stepsize=10)
    ref = dutils.calc_pixmap(holed, out)
    np.testing.assert_allclose(exact, ref, rtol=0, atol=1e-10, equal_nan=True)
    nan_exact = np.isnan(exact).any(axis=-1)
    assert 1500 < nan_exact.sum() < 2500  # ~ pi * 25**2 pixels
    np.testing.assert_array_equal(np.isnan(approx).any(axis=-1), nan_exact)
    assert pixel_error(approx[~nan_exact], exact[~nan_exact]).max() < 1e-3


def test_ra_wrap_at_zero():
    w = load_wcs("2chipA.fits.gz", ("SCI", 1), CHIP)
    w.wcs.crval = [0.0, -72.05]
    w.wcs.set()
    sub = crop(w, 768, 1792)  # around CRPIX: straddles RA = 0
    ra, _ = sub.pixel_to_world_values(*np.meshgrid(np.arange(512.0), np.arange(512.0)))
    assert ra.min() < 0.5 and ra.max() > 359.5
    out = tan_wcs((359.99, -72.04), 0.05, 0.0)
    exact = calc_pixmap(sub, out, shape=(512, 512))
    np.testing.assert_allclose(exact, dutils.calc_pixmap(sub, out, shape=(512, 512)), rtol=0, atol=1e-10)
    approx = calc_pixmap(sub, out, shape=(512, 512), stepsize=10)
    assert pixel_error(approx, exact).max() < 1e-3
    # the map is smooth across the wrap: neighbouring pixels ~1 output pixel apart
    step = pixel_error(exact[:, 1:], exact[:, :-1])
    assert 0.9 < step.min() and step.max() < 1.1


# ---------------------------------------------------------------------------
# gwcs
# ---------------------------------------------------------------------------


def test_gwcs_matches_drizzle_and_fits_equivalent():
    kw = dict(crval=(5.63, -72.05), crpix=(50.0, 20.0), scale_arcsec=0.05, rot_deg=30.0)
    g = make_gwcs(**kw)
    f = fits_equivalent(**kw)
    out = tan_wcs((5.631, -72.049), 0.1, -10.0)
    ours = calc_pixmap(g, out, shape=(80, 120))
    np.testing.assert_allclose(ours, dutils.calc_pixmap(g, out, shape=(80, 120)), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours, calc_pixmap(f, out, shape=(80, 120)), rtol=0, atol=1e-7)
    # gwcs as the output too
    g_out = make_gwcs(crval=(5.631, -72.049), crpix=(300.0, 200.0), scale_arcsec=0.1, rot_deg=-10.0)
    ours = calc_pixmap(f, g_out, shape=(80, 120))
    np.testing.assert_allclose(ours, dutils.calc_pixmap(f, g_out, shape=(80, 120)), rtol=0, atol=1e-10)
    approx = calc_pixmap(g, g_out, shape=(80, 120), stepsize=10)
    assert pixel_error(approx, ours).max() < 1e-3


@pytest.mark.parametrize("disable_bbox", ["to", "from", "both", "none"])
@pytest.mark.parametrize("stepsize", [None, 10])
def test_gwcs_bounding_boxes(disable_bbox, stepsize):
    # input bbox narrower than the image (shape given), output bbox cutting the map
    g_from = make_gwcs(crpix=(60.0, 40.0), bbox=((3.2, 97.5), (-0.5, 49.5)))
    g_to = make_gwcs(crpix=(60.0, 40.0), rot_deg=35.0, bbox=((10.0, 90.0), (5.0, 200.0)))
    before = (g_from.bounding_box.bounding_box(order="F"), g_to.bounding_box.bounding_box(order="F"))
    ref = dutils.calc_pixmap(
        copy.deepcopy(g_from), copy.deepcopy(g_to), shape=(60, 120), disable_bbox=disable_bbox
    )
    ours = calc_pixmap(g_from, g_to, shape=(60, 120), stepsize=stepsize, disable_bbox=disable_bbox)
    after = (g_from.bounding_box.bounding_box(order="F"), g_to.bounding_box.bounding_box(order="F"))
    assert after == before
    nan_ref = np.isnan(ref).any(axis=-1)
    np.testing.assert_array_equal(np.isnan(ours).any(axis=-1), nan_ref)
    assert nan_ref.any() == (disable_bbox != "both")
    if stepsize is None:
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10, equal_nan=True)
    else:
        assert pixel_error(ours[~nan_ref], ref[~nan_ref]).max() < 1e-3


def test_gwcs_shape_from_bounding_box():
    g = make_gwcs(bbox=((-0.5, 99.5), (-0.5, 49.5)))
    out = tan_wcs((5.63, -72.05), 0.05)
    ours = calc_pixmap(g, out)
    assert ours.shape == (50, 100, 2)
    np.testing.assert_allclose(ours, dutils.calc_pixmap(g, out), rtol=0, atol=1e-10)


# ---------------------------------------------------------------------------
# calc_pixmap, bad input
# ---------------------------------------------------------------------------


def test_calc_pixmap_bad_wcs():
    good = tan_wcs((10.0, 10.0))
    linear = WCS(naxis=2)
    linear.wcs.ctype = ["LINEAR", "LINEAR"]
    with pytest.raises(InputError, match="wcs_from.*celestial"):
        calc_pixmap(linear, good, shape=(5, 5))
    with pytest.raises(InputError, match="wcs_to.*celestial"):
        calc_pixmap(good, linear, shape=(5, 5))
    cube = WCS(naxis=3)
    cube.wcs.ctype = ["RA---TAN", "DEC--TAN", "FREQ"]
    with pytest.raises(InputError, match="wcs_to.*pixel_n_dim=3"):
        calc_pixmap(good, cube, shape=(5, 5))
    with pytest.raises(InputError, match="wcs_from.*APE-14"):
        calc_pixmap(np.eye(2), good, shape=(5, 5))
    with pytest.raises(InputError, match="wcs_to is None"):
        calc_pixmap(good, None, shape=(5, 5))
    gal = WCS(naxis=2)
    gal.wcs.ctype = ["GLON-TAN", "GLAT-TAN"]
    with pytest.raises(InputError, match="wcs_from.*wcs_to.*differ"):
        calc_pixmap(good, gal, shape=(5, 5))
    swapped = WCS(naxis=2)
    swapped.wcs.ctype = ["DEC--TAN", "RA---TAN"]
    with pytest.raises(InputError, match="different order"):
        calc_pixmap(good, swapped, shape=(5, 5))
    frame2d = gwcs.wcs.WCS(
        [(cf.Frame2D(name="detector"), models.Shift(1) & models.Shift(2)), (cf.Frame2D(name="focal"), None)]
    )
    with pytest.raises(InputError, match="wcs_from.*celestial"):
        calc_pixmap(frame2d, good, shape=(5, 5))


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True, np.float64(10.0)])
def test_calc_pixmap_bad_stepsize(bad):
    w = tan_wcs((10.0, 10.0))
    with pytest.raises(InputError, match="stepsize"):
        calc_pixmap(w, w, shape=(5, 5), stepsize=bad)


def test_calc_pixmap_numpy_integer_stepsize_ok():
    w = tan_wcs((10.0, 10.0))
    np.testing.assert_allclose(
        calc_pixmap(w, w, shape=(30, 30), stepsize=np.int64(10)), calc_pixmap(w, w, shape=(30, 30)), atol=1e-7
    )


def test_calc_pixmap_bad_disable_bbox():
    w = tan_wcs((10.0, 10.0))
    with pytest.raises(InputError, match="disable_bbox"):
        calc_pixmap(w, w, shape=(5, 5), disable_bbox="sometimes")


def test_calc_pixmap_bad_shape():
    w = tan_wcs((10.0, 10.0))  # no NAXIS: no array_shape
    with pytest.raises(ShapeError, match="cannot infer"):
        calc_pixmap(w, w)
    for shape in ((0, 5), (5,), (2, 3, 4), (4.5, 3), "ab"):
        with pytest.raises(ShapeError, match="shape"):
            calc_pixmap(w, w, shape=shape)
    empty = load_wcs("sample_flc_sci_wcs.fits.gz", ("SCI", 1))  # NAXIS1 = 0
    with pytest.raises(ShapeError, match="wcs_from.array_shape"):
        calc_pixmap(empty, tan_wcs((150.0, 63.0)))
    # an explicit shape overrides the empty array_shape
    assert calc_pixmap(empty, tan_wcs((150.0, 63.0)), shape=(4, 6)).shape == (4, 6, 2)


# ---------------------------------------------------------------------------
# estimate_pixel_scale_ratio
# ---------------------------------------------------------------------------


def test_pixel_scale_ratio_analytic():
    a = tan_wcs((30.0, 40.0), 0.05, 10.0, crpix=(1.0, 1.0))
    b = tan_wcs((30.0, 40.0), 0.1, -20.0, crpix=(1.0, 1.0))
    assert estimate_pixel_scale_ratio(a, b) == pytest.approx(2.0, rel=1e-9)
    assert estimate_pixel_scale_ratio(b, a) == pytest.approx(0.5, rel=1e-9)


def test_pixel_scale_ratio_matches_drizzle():
    w = load_wcs("2chipA.fits.gz", ("SCI", 1), CHIP)
    out = tan_wcs(w.wcs.crval, 0.1, 0.0)
    cases = [
        (w, out, None, None),
        (w, out, (100.0, 1900.0), (2000.0, 2100.0)),
        (load_wcs("dist_lookup.fits.gz", ("SCI", 1)), out, None, [5.0, 7.0]),  # pixel_shape (100, 100)
        # default refpix: centre of the bounding box
        (make_gwcs(bbox=((-0.5, 99.5), (-0.5, 49.5))), make_gwcs(scale_arcsec=0.2), None, None),
    ]
    for wf, wt, rf, rt in cases:
        ours = estimate_pixel_scale_ratio(wf, wt, rf, rt)
        ref = dutils.estimate_pixel_scale_ratio(wf, wt, rf, rt)
        assert ours == pytest.approx(ref, rel=1e-12)
    # ACS/WFC chip 1: ~0.05"/pixel with a slightly skewed pixel
    assert 1.95 < estimate_pixel_scale_ratio(w, out) < 2.05


def test_pixel_scale_ratio_across_ra_zero():
    # the reference pixel straddles RA = 0: same scale as the same WCS at RA = 180
    a = tan_wcs((0.0, 20.0), 0.05, 0.0, crpix=(11.0, 11.0))
    b = tan_wcs((180.0, 20.0), 0.05, 0.0, crpix=(11.0, 11.0))
    # (precision limited by longitudes ~360 deg differing by ~1e-5 deg)
    assert estimate_pixel_scale_ratio(a, b, (10.0, 10.0), (10.0, 10.0)) == pytest.approx(1.0, rel=1e-7)
    # drizzle 3.0.0 sees a 360-degree jump there
    assert dutils.estimate_pixel_scale_ratio(a, b, (10.0, 10.0), (10.0, 10.0)) < 0.1


def test_pixel_scale_ratio_bad_input():
    w = tan_wcs((30.0, 40.0))
    with pytest.raises(InputError, match="refpix_from"):
        estimate_pixel_scale_ratio(w, w, refpix_from=(1.0,))
    with pytest.raises(InputError, match="refpix_to"):
        estimate_pixel_scale_ratio(w, w, refpix_to=(np.nan, 2.0))
    linear = WCS(naxis=2)
    with pytest.raises(InputError, match="wcs_to"):
        estimate_pixel_scale_ratio(w, linear)
    g = make_gwcs(bbox=((-0.5, 99.5), (-0.5, 49.5)))
    with pytest.raises(InputError, match="wcs_from.*500"):
        estimate_pixel_scale_ratio(g, w, refpix_from=(500.0, 10.0))  # outside the bounding box


# ---------------------------------------------------------------------------
# decode_context
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int16, np.int64, np.dtype(">i4")])
def test_decode_context_matches_drizzle(dtype):
    rng = np.random.default_rng(7)
    nbits = 8 * np.dtype(dtype).itemsize
    raw = rng.integers(0, 2, size=(3, 6, 5, nbits), dtype=np.uint64)
    raw[raw.sum(axis=-1) > nbits // 2] = 0  # some empty words
    words = (raw << np.arange(nbits, dtype=np.uint64)).sum(axis=-1)
    ctx = words.astype(np.dtype(f"u{nbits // 8}")).view(np.dtype(dtype).newbyteorder("="))
    ctx = ctx.astype(dtype)
    x = [0, 4, 2, 3, 1]
    y = [5, 0, 2, 2, 3]
    ours = decode_context(ctx, x, y)
    ref = dutils.decode_context(ctx.astype(ctx.dtype.newbyteorder("=")), x, y)
    assert len(ours) == len(ref) == 5
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    # image indices from the raw bits
    for k, (xi, yi) in enumerate(zip(x, y, strict=True)):
        np.testing.assert_array_equal(ours[k], np.flatnonzero(raw[:, yi, xi, :]))


def test_decode_context_drizzle_docstring_example():
    ctx = np.zeros((3, 5, 6), dtype=np.int32)
    ctx[:, 1, 3] = [36196864, 67125536, 8203]
    ctx[:, 4, 2] = [537920000, 163856, 32865]
    ours = decode_context(ctx, [3, 2], [1, 4])
    ref = dutils.decode_context(ctx, [3, 2], [1, 4])
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    assert ours[0].size == 14 and ours[1].size == 10


def test_decode_context_2d_and_scalars():
    ctx = np.zeros((4, 4), dtype=np.int32)
    ctx[2, 1] = -(1 << 31) | 0b1010  # sign bit = image 31
    (got,) = decode_context(ctx, 1, 2)
    np.testing.assert_array_equal(got, [1, 3, 31])
    np.testing.assert_array_equal(decode_context(ctx, np.array([1]), np.array([2]))[0], [1, 3, 31])
    assert decode_context(ctx, 0, 0)[0].size == 0


def test_decode_context_bad_input():
    ctx = np.zeros((2, 4, 5), dtype=np.int32)
    with pytest.raises(DtypeError, match="context"):
        decode_context(ctx.astype(float), 1, 1)
    with pytest.raises(ShapeError, match="context"):
        decode_context(np.zeros((1, 2, 4, 5), np.int32), 1, 1)
    with pytest.raises(DtypeError, match="x"):
        decode_context(ctx, 1.5, 1)
    with pytest.raises(DtypeError, match="y"):
        decode_context(ctx, 1, [1.0])
    with pytest.raises(ShapeError, match="same length"):
        decode_context(ctx, [1, 2], [1])
    with pytest.raises(ShapeError, match="x"):
        decode_context(ctx, [[1, 2]], [1, 2])
    with pytest.raises(InputError, match="x = 5"):
        decode_context(ctx, [1, 5], [1, 1])
    with pytest.raises(InputError, match="y = -1"):
        decode_context(ctx, [1], [-1])


def test_stepsize_guards_projection_seam():
    """An all-sky (CAR) output whose seam at RA = 0 crosses the input: no garbage."""
    w = tan_wcs((0.0, 0.5), 1.0, 6.0, crpix=(256.3, 256.0))
    car = WCS(naxis=2)
    car.wcs.ctype = ["RA---CAR", "DEC--CAR"]
    car.wcs.crval = [180.0, 0.0]
    car.wcs.crpix = [1000.0, 1000.0]
    car.wcs.cdelt = [-2.0 / 3600.0, 2.0 / 3600.0]
    car.wcs.set()
    exact = calc_pixmap(w, car, shape=(512, 511))
    np.testing.assert_allclose(exact, dutils.calc_pixmap(w, car, shape=(512, 511)), rtol=0, atol=1e-10)
    jumps = np.abs(np.diff(exact[..., 0], axis=1))
    assert jumps.max() > 1e5  # the seam really crosses the image
    for step in (7, 10, 64):
        approx = calc_pixmap(w, car, shape=(512, 511), stepsize=step)
        assert pixel_error(approx, exact).max() < 1e-3, step


def test_astropy_pixel_bounds_are_honoured():
    """astropy's pixel_bounds turn pixels outside them into NaN, on both sides."""
    w_from = load_wcs("j94f05bgq_flt.fits", ("SCI", 1), CHIP)
    w_from.pixel_bounds = [(5.5, 250.0), (-0.5, 80.2)]
    out = output_for(w_from, CHIP, rot_deg=0.0)
    y0 = calc_pixmap(w_from, out, shape=(100, 300))[40, 150, 1]
    w_to = copy.deepcopy(out)
    w_to.pixel_bounds = [None, (y0 - 30.3, y0 + 1e6)]  # cuts the map at output y
    ref = dutils.calc_pixmap(w_from, w_to, shape=(100, 300))
    exact = calc_pixmap(w_from, w_to, shape=(100, 300))
    np.testing.assert_allclose(exact, ref, rtol=0, atol=1e-10, equal_nan=True)
    nan_ref = np.isnan(ref).any(axis=-1)
    assert nan_ref[:, :5].all() and nan_ref[:, 251:].all() and nan_ref[81:].all()
    assert nan_ref[:80, 6:250].any() and not nan_ref[:80, 6:250].all()  # cut by w_to
    approx = calc_pixmap(w_from, w_to, shape=(100, 300), stepsize=10)
    np.testing.assert_array_equal(np.isnan(approx).any(axis=-1), nan_ref)
    assert pixel_error(approx[~nan_ref], ref[~nan_ref]).max() < 1e-3


def test_shape_from_unusable_bounding_box():
    g = make_gwcs(bbox=((-2.5, -0.5), (-0.5, 49.5)))  # no pixel along x
    out = tan_wcs((5.63, -72.05), 0.05)
    with pytest.raises(ShapeError, match="bounding_box"):
        calc_pixmap(g, out)
    g = make_gwcs(bbox=((-0.5, np.inf), (-0.5, 49.5)))
    with pytest.raises(ShapeError, match="bounding_box"):
        calc_pixmap(g, out)
