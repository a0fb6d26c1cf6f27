"""Output frame (spec §3.1, §3.4; acceptance tests §12 items 6 and 7)."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlekit.exceptions import InputError, ParameterError, ShapeError
from drizzlekit.outwcs import (hst_reference_orientat, make_output_wcs, merge_wcs,
                              wcs_orientat, wcs_pscale)


def tan_wcs(crval, scale, orientat, shape_xy, crpix=None, parity=-1):
    t = math.radians(orientat)
    c, s = math.cos(t), math.sin(t)
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = crval
    w.wcs.crpix = crpix if crpix is not None else [(n + 1) / 2 for n in shape_xy]
    w.wcs.cd = scale / 3600 * np.array([[parity * c, s], [-parity * s, c]])
    w.wcs.set()
    w.pixel_shape = shape_xy
    return w


@pytest.fixture
def chips():
    a = tan_wcs([150.0, 2.0], 0.1, 30.0, (200, 100))
    b = tan_wcs([150.006, 2.004], 0.12, 35.0, (150, 120))
    return a, b


def corner_world(w):
    nx, ny = w.pixel_shape
    xy = np.array([[0, 0], [0, ny - 1], [nx - 1, ny - 1], [nx - 1, 0]], float)
    return np.column_stack(w.all_pix2world(xy[:, 0], xy[:, 1], 0))


def edge_world(w, step=8):
    nx, ny = w.pixel_shape
    xs, ys = np.arange(-0.5, nx, step), np.arange(-0.5, ny, step)
    xs, ys = np.append(xs, nx - 0.5), np.append(ys, ny - 0.5)
    pts = [np.column_stack([xs, np.full_like(xs, y)]) for y in (-0.5, ny - 0.5)]
    pts += [np.column_stack([np.full_like(ys, x), ys]) for x in (-0.5, nx - 0.5)]
    xy = np.vstack(pts)
    return np.column_stack(w.all_pix2world(xy[:, 0], xy[:, 1], 0))


def spherical_mean(world):
    a, d = np.radians(world[:, 0]), np.radians(world[:, 1])
    v = np.column_stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)]).mean(0)
    return np.degrees(np.arctan2(v[1], v[0])) % 360, np.degrees(np.arctan2(v[2], np.hypot(*v[:2])))


# -- §12 item 6 ------------------------------------------------------------
def test_default_frame_by_hand(chips):
    a, b = chips
    world = np.vstack([corner_world(a), corner_world(b)])
    cd = 0.1 / 3600 * np.array([[-math.cos(math.radians(30)), math.sin(math.radians(30))],
                                [math.sin(math.radians(30)), math.cos(math.radians(30))]])
    hand = WCS(naxis=2)
    hand.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    hand.wcs.crval = spherical_mean(world)
    hand.wcs.cd = cd
    hand.wcs.crpix = [0, 0]
    xy = hand.wcs_world2pix(world, 0)
    extent = xy.max(0) - xy.min(0)
    naxis = np.ceil(extent).astype(int)

    out, shape = make_output_wcs([a, b])
    assert shape == (naxis[1], naxis[0])
    assert out.pixel_shape == (naxis[0], naxis[1])
    np.testing.assert_allclose(out.wcs.cd, cd, rtol=1e-12)
    np.testing.assert_allclose(out.wcs.crpix, naxis / 2.0)
    assert wcs_pscale(out) == pytest.approx(0.1) and wcs_orientat(out) == pytest.approx(30.0)
    # re-centred: lowest corner on 0-based pixel 0 (one drizzlepac re-centring step:
    # exact to the change of projection), the others spanning the hand extent
    pix = out.wcs_world2pix(world, 0)
    np.testing.assert_allclose(pix.min(0), 0.0, atol=1e-4)
    np.testing.assert_allclose(pix.max(0), extent, atol=1e-4)


def test_edges_coverage_contains_every_pixel(chips):
    a, b = chips
    out, (ny, nx) = make_output_wcs([a, b], coverage="edges")
    pix = out.wcs_world2pix(np.vstack([edge_world(a), edge_world(b)]), 0)
    np.testing.assert_allclose(pix.min(0), -0.5, atol=1e-6)
    assert np.all(pix.max(0) <= [nx - 0.5 + 1e-6, ny - 0.5 + 1e-6])
    corners_out, corner_shape = make_output_wcs([a, b])
    # edges add up to one pixel (the half pixels of the outer chips)
    assert all(0 <= e - c <= 2 for e, c in zip((ny, nx), corner_shape))


def test_corner_coverage_can_lose_half_a_pixel(chips):
    out, (ny, nx) = make_output_wcs(list(chips))
    pix = out.wcs_world2pix(np.vstack([edge_world(c) for c in chips]), 0)
    assert pix.min() < -0.5 + 1e-6  # outer half pixels of the low edges stick out


def test_idcscale_and_pscale(chips):
    a, b = chips
    a.idcscale = 0.05
    out, shape = make_output_wcs([a, b])
    assert wcs_pscale(out, nominal=False) == pytest.approx(0.05)
    ref, ref_shape = make_output_wcs([a, b], pscale=0.1)
    assert shape[0] == pytest.approx(2 * ref_shape[0], abs=2)
    assert shape[1] == pytest.approx(2 * ref_shape[1], abs=2)


def test_parity_plus_one_kept():
    w = tan_wcs([10.0, -30.0], 0.2, 10.0, (50, 40), parity=1)
    out, _ = make_output_wcs([w])
    assert np.linalg.det(out.wcs.cd) > 0
    assert wcs_orientat(out) == pytest.approx(10.0)


def test_shapes_argument_overrides_pixel_shape(chips):
    a, b = chips
    a.pixel_shape = None
    with pytest.raises(ShapeError, match="shapes"):
        make_output_wcs([a, b])
    out, shape = make_output_wcs([a, b], shapes=[(100, 200), (120, 150)])
    b2 = tan_wcs([150.0, 2.0], 0.1, 30.0, (200, 100))
    assert shape == make_output_wcs([b2, b])[1]


# -- §12 item 7: mergeWCS ----------------------------------------------------
@pytest.fixture
def base():
    return tan_wcs([150.0, 2.0], 0.1, 30.0, (300, 200), crpix=[150.5, 100.5])


def test_no_custom_parameters_is_identity(base):
    out = merge_wcs(base)
    np.testing.assert_allclose(out.wcs.cd, base.wcs.cd)
    np.testing.assert_allclose(out.wcs.crpix, base.wcs.crpix)
    assert out.pixel_shape == base.pixel_shape
    assert merge_wcs(base, scale=0.1 * (1 + 1e-15)).pixel_shape == (300, 200)


@pytest.mark.parametrize("scale", [0.05, 0.07, 0.3])
def test_scale_only(base, scale):
    r = 0.1 / scale
    out = merge_wcs(base, scale=scale)
    # ceil ignoring float excess < 1e-6 (0.1/0.3*300 = 100.00000000000001 -> 100)
    assert out.pixel_shape == (math.ceil(r * 300 - 1e-6), math.ceil(r * 200 - 1e-6))
    np.testing.assert_allclose(out.wcs.crpix, 1 + r * (np.array([150.5, 100.5]) - 1))
    np.testing.assert_allclose(out.wcs.cd, base.wcs.cd / r)
    assert wcs_pscale(out) == pytest.approx(scale)
    # pixel centre 1 (0-based 0) stays on the same sky position
    np.testing.assert_allclose(out.wcs_pix2world([[0, 0]], 0), base.wcs_pix2world([[0, 0]], 0),
                               atol=1e-10)


@pytest.mark.parametrize("rot", [120.0, 75.0, -10.0])
def test_rot_only(base, rot):
    delta = math.radians(30.0 - rot)
    c, s = math.cos(delta), math.sin(delta)
    corners = np.array([[0.5, 0.5], [300.5, 0.5], [0.5, 200.5], [300.5, 200.5]]) - [150.5, 100.5]
    x = corners[:, 0] * c - corners[:, 1] * s
    y = corners[:, 0] * s + corners[:, 1] * c
    out = merge_wcs(base, rot=rot)
    size = (math.ceil(x.max() - x.min() - 1e-6), math.ceil(y.max() - y.min() - 1e-6))
    assert out.pixel_shape == size
    np.testing.assert_allclose(out.wcs.crpix, [-x.min() + 0.5, -y.min() + 0.5])
    assert wcs_orientat(out) == pytest.approx(rot)
    assert wcs_pscale(out) == pytest.approx(0.1)
    # the old frame's outer corners lie on the new frame's edges or inside
    world = base.wcs_pix2world(corners + [150.5, 100.5], 1)
    pix = out.wcs_world2pix(world, 1)
    assert np.all(pix >= 0.5 - 1e-6) and np.all(pix <= np.array(out.pixel_shape) + 0.5 + 1e-6)


def test_rot_90_swaps_axes(base):
    out = merge_wcs(base, rot=120.0)
    assert out.pixel_shape == (200, 300)
    np.testing.assert_allclose(out.wcs.crpix, [100.5, 150.5])


def test_rot_on_mirrored_frame():
    w = tan_wcs([150.0, 2.0], 0.1, 30.0, (300, 200), parity=1)
    out = merge_wcs(w, rot=70.0)
    assert wcs_orientat(out) == pytest.approx(70.0)
    assert np.linalg.det(out.wcs.cd) > 0


def test_rot_and_scale(base):
    out = merge_wcs(base, rot=120.0, scale=0.05)
    assert out.pixel_shape == (400, 600)
    assert wcs_pscale(out) == pytest.approx(0.05) and wcs_orientat(out) == pytest.approx(120)


def test_outnx_outny(base):
    out = merge_wcs(base, outnx=101, outny=50.5)
    assert out.pixel_shape == (101, 51)
    np.testing.assert_allclose(out.wcs.crpix, [51.0, 26.0])
    out = merge_wcs(base, outnx=64, outny=64, crpix1=10, crpix2=20)
    np.testing.assert_allclose(out.wcs.crpix, [10, 20])
    np.testing.assert_allclose(out.wcs.crval, base.wcs.crval)


def test_ra_dec_only(base):
    out = merge_wcs(base, ra=151.0, dec=-1.5)
    np.testing.assert_allclose(out.wcs.crval, [151.0, -1.5])
    np.testing.assert_allclose(out.wcs.crpix, base.wcs.crpix)
    np.testing.assert_allclose(out.wcs.cd, base.wcs.cd)
    assert out.pixel_shape == base.pixel_shape


def test_refimage_used_as_read(chips, base):
    sip = base.deepcopy()
    sip.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    sip.wcs.cd = base.wcs.cd @ np.array([[1.0, 0.01], [0.0, 1.0]])  # a little skew
    sip.wcs.set()
    from astropy.wcs import Sip
    sip.sip = Sip(np.zeros((3, 3)) + [[0, 0, 1e-6], [0, 0, 0], [0, 0, 0]], np.zeros((3, 3)),
                  None, None, sip.wcs.crpix)
    out, shape = make_output_wcs(list(chips), refimage=sip)
    assert shape == (200, 300) and out.sip is None
    assert list(out.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    np.testing.assert_allclose(out.wcs.cd, sip.wcs.cd)
    out, shape = make_output_wcs(list(chips), refimage=sip, outnx=10, outny=12)
    assert shape == (12, 10)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"ra": 10.0}, ParameterError, "dec"),
    ({"crpix2": 3.0}, ParameterError, "crpix1"),
    ({"outnx": 10}, ParameterError, "outny"),
    ({"outnx": 0, "outny": 5}, ParameterError, "smaller than 1"),
    ({"scale": -0.1}, ParameterError, "scale"),
])
def test_bad_custom_parameters(base, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        merge_wcs(base, **kwargs)


def test_bad_inputs(chips):
    with pytest.raises(InputError, match="wcs_list"):
        make_output_wcs([])
    with pytest.raises(InputError, match=r"wcs_list\[1\]"):
        make_output_wcs([chips[0], "not a wcs"])
    with pytest.raises(ShapeError, match="shapes"):
        make_output_wcs(list(chips), shapes=[(10, 10)])
    with pytest.raises(InputError, match="coverage"):
        make_output_wcs(list(chips), coverage="pixels")
    with pytest.raises(InputError, match="refimage"):
        make_output_wcs(list(chips), refimage="file.fits")
    with pytest.raises(InputError, match="v2ref"):
        hst_reference_orientat(100.0, 20.0, 0.0, 0.0)


# -- a real ACS/WFC two-chip header with SIP + lookup tables ----------------------------
_NAME = "2chipA.fits.gz"
_CANDIDATES = [Path(__file__).parent / "data" / "wcs_headers" / _NAME,
               Path(__file__).resolve().parents[2] / "shared" / "data" / "wcs_headers" / _NAME]


@pytest.fixture
def wfc_chips():
    path = next((p for p in _CANDIDATES if p.exists()), None)
    if path is None:
        pytest.skip(f"{_NAME} not available")
    out = []
    with fits.open(path) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ext in (("SCI", 1), ("SCI", 2)):
            w = WCS(hdul[ext].header, fobj=hdul)
            w.idcscale = hdul[ext].header["IDCSCALE"]
            w.orientat_header = hdul[ext].header["ORIENTAT"]
            out.append(w)
    assert out[0].sip is not None and out[0].cpdis1 is not None
    return out


@pytest.mark.parametrize("coverage", ["corners", "edges"])
def test_real_two_chip_frame_covers_both_chips(wfc_chips, coverage):
    shapes = [(2048, 4096), (2048, 4096)]
    out, (ny, nx) = make_output_wcs(wfc_chips, shapes, coverage=coverage)
    assert wcs_pscale(out) == pytest.approx(0.05, rel=1e-12)
    assert wcs_orientat(out) == pytest.approx(wfc_chips[0].orientat_header, abs=1e-6)
    assert np.linalg.det(out.wcs.cd) < 0
    # ACS/WFC: ~202 arcsec field -> a bit more than 4000 pixels of 0.05"
    assert 4000 < nx < 4700 and 4000 < ny < 4700
    pts = []
    for w in wfc_chips:
        w.pixel_shape = (4096, 2048)
        pts.append(edge_world(w, step=32) if coverage == "edges" else corner_world(w))
    pix = out.wcs_world2pix(np.vstack(pts), 0)
    low = -0.5 if coverage == "edges" else 0.0
    # 'corners' re-centres in one step (drizzlepac): ~1e-3 pixel over a 4k frame
    np.testing.assert_allclose(pix.min(0), low, atol=1e-6 if coverage == "edges" else 2e-3)
    high = np.array([nx, ny]) - (0.5 if coverage == "edges" else 0.0)
    assert np.all(pix.max(0) <= high + 0.01)


# -- regression against a drizzlepac product ------------------------------------------
# The archive DRC of ACS/WFC exposure jbt122x8q (proposal 12546, both chips, default
# frame, 0.05"/pixel) as drizzlepac wrote it (shared/data/wcs_headers/sample_drc_header.fits,
# SCI header); the FLC chip headers are tests/data/wcs_headers/sample_flc_sci_wcs.fits.gz.
DRC = dict(crval=(150.03722364928083, 63.176834787333156), crpix=(2105.5, 2120.5),
           cd=((-7.0105912515100e-06, 1.19896974470648e-05),
               (1.19896974470648e-05, 7.01059125151000e-06)), orientat=59.68440749243758)


@pytest.fixture
def flc():
    path = Path(__file__).parent / "data" / "wcs_headers" / "sample_flc_sci_wcs.fits.gz"
    if not path.exists():
        pytest.skip("sample_flc_sci_wcs.fits.gz not available")
    with fits.open(path) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chips = []
        for ext in (("SCI", 1), ("SCI", 2)):
            w = WCS(hdul[ext].header, fobj=hdul)
            w.idcscale = hdul[ext].header["IDCSCALE"]
            chips.append(w)
        h0, h1 = hdul[0].header, hdul[("SCI", 1)].header
        keys = (h0["PA_V3"], h1["CRVAL2"], h1["IDCV2REF"], h1["IDCV3REF"], h1["IDCTHETA"])
    return chips, keys


def test_hst_reference_orientat_matches_drizzlepac(flc):
    _, keys = flc
    assert hst_reference_orientat(*keys) == pytest.approx(DRC["orientat"], abs=1e-9)
    # the chip's own ORIENTAT differs by ~2 degrees: the aperture roll matters
    assert abs(wcs_orientat(flc[0][0]) - DRC["orientat"]) > 1.0
    hrc = hst_reference_orientat(*keys, parity=((-1, 0), (0, 1)))
    assert (hrc - DRC["orientat"]) % 360 == pytest.approx(180.0)


def test_default_frame_reproduces_drizzlepac_drc(flc):
    chips, keys = flc
    out, shape = make_output_wcs(chips, [(2048, 4096)] * 2,
                                 orientat=hst_reference_orientat(*keys))
    assert shape == (4241, 4211)
    np.testing.assert_allclose(out.wcs.crpix, DRC["crpix"])
    np.testing.assert_allclose(out.wcs.cd, DRC["cd"], rtol=1e-12)
    np.testing.assert_allclose(out.wcs.crval, DRC["crval"], rtol=0, atol=1e-10)  # < 1 mas
    drc = WCS(naxis=2)
    drc.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    drc.wcs.crval, drc.wcs.crpix, drc.wcs.cd = DRC["crval"], DRC["crpix"], DRC["cd"]
    corners = np.array([[0, 0], [4210, 0], [0, 4240], [4210, 4240]], float)
    moved = drc.wcs_world2pix(out.wcs_pix2world(corners, 0), 0) - corners
    assert np.abs(moved).max() < 1e-5  # pixels
