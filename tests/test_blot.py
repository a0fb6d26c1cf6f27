"""Tests of drizzlekit.blot.blot_image.

Side by side with drizzle 3.0.0 (``drizzle.resample.blot_image``) on a
distorted geometry, plus analytic checks (polynomial reproduction, integer
shifts, band-limited round trips), the fill rule, non-finite data and bad
inputs.

drizzle 3.0.0 has undefined behaviour in two places, which the side-by-side
helper keeps away from (the points are moved off the image before drizzle
sees them and compared separately against analytic values):

* ``nearest`` reads past the row/array end for points in the outer half of
  the last column/row (can crash the process);
* ``poly3`` reads uninitialised memory when ``int(y)`` is the last row.
"""

from __future__ import annotations

import numpy as np
import pytest

from drizzlekit.blot import INTERPOLANTS, blot_image
from drizzlekit.exceptions import DtypeError, InputError, ShapeError, UnknownKernelError

drizzle_resample = pytest.importorskip("drizzle.resample")

DRIZZLE_INTERPS = ("nearest", "linear", "poly3", "poly5", "lanczos3", "lanczos5")
OFF = -100.0  # a coordinate that is off the image for drizzle and drizzlekit


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _scene(shape=(96, 112), seed=3):
    """A smooth sky with a gradient, a few blurred 'stars' and mild noise."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    img = 20.0 + 0.05 * xx - 0.03 * yy + 5.0 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    for _ in range(6):
        x0, y0 = rng.uniform(5, nx - 5), rng.uniform(5, ny - 5)
        img += rng.uniform(50, 300) * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 1.8**2))
    img += rng.normal(0.0, 0.5, shape)
    return img.astype(np.float32)


def _distorted_pixmap(in_shape, ratio, out_shape=None, shift=(2.3, -3.1), rot_deg=2.0,
                      quad=4e-4):
    """Output pixel -> input position: scale by ``ratio`` (input px per output px),
    rotate, shift and add a quadratic distortion; covers slightly more than the
    input so that points fall off every edge."""
    ny, nx = in_shape
    if out_shape is None:
        out_shape = (int(round(1.1 * ny / ratio)), int(round(1.1 * nx / ratio)))
    oy, ox = np.mgrid[0:out_shape[0], 0:out_shape[1]].astype(float)
    u = (ox - (out_shape[1] - 1) / 2.0) * ratio
    v = (oy - (out_shape[0] - 1) / 2.0) * ratio
    th = np.deg2rad(rot_deg)
    x = np.cos(th) * u - np.sin(th) * v + quad * (u * u - 0.5 * v * v)
    y = np.sin(th) * u + np.cos(th) * v + quad * u * v
    x += (nx - 1) / 2.0 + shift[0]
    y += (ny - 1) / 2.0 + shift[1]
    return np.dstack([x, y])


def _drizzle_safe(pixmap, in_shape, interp):
    """Copy of ``pixmap`` with the points where drizzle 3.0.0 misbehaves moved
    off the image, and the mask of the points kept."""
    ny, nx = in_shape
    x = pixmap[..., 0].astype(np.float32)
    y = pixmap[..., 1].astype(np.float32)
    inside = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    bad = np.zeros(x.shape, dtype=bool)
    if interp == "nearest":
        bad = inside & ((x + 0.5 >= nx) | (y + 0.5 >= ny))
    elif interp == "poly3":
        bad = inside & (y.astype(np.int64) == ny - 1)
    safe = pixmap.copy()
    safe[bad] = OFF
    return safe, ~bad


def _tol(data):
    return dict(rtol=1e-5, atol=1e-5 * float(np.ptp(data)))


# --------------------------------------------------------------------------
# side by side with drizzle 3.0.0
# --------------------------------------------------------------------------
@pytest.mark.parametrize("interp", DRIZZLE_INTERPS)
@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_matches_drizzle_distorted_geometry(interp, ratio):
    data = _scene()
    pm = _distorted_pixmap(data.shape, ratio)
    pm, keep = _drizzle_safe(pm, data.shape, interp)
    ref = drizzle_resample.blot_image(data, pm, interp=interp, fillval=-77.0, iscale=1.7)
    out = blot_image(data, pm, interp=interp, fillval=-77.0, iscale=1.7, compat=True)
    assert out.dtype == np.float32 and out.shape == pm.shape[:2]
    filled = ref == -77.0
    # the geometry really does fall off the image, and most of it stays on
    assert 0.02 < filled.mean() < 0.6
    np.testing.assert_array_equal(out == -77.0, filled)
    np.testing.assert_allclose(out[keep], ref[keep], **_tol(1.7 * data))


def test_default_differs_from_drizzle_only_in_top_rows():
    """compat=False (correct reflection) equals drizzle's poly5 except where
    drizzle 3.0.0 substitutes image row ny-4 (int(y) >= ny-3); there the
    default reproduces a linear ramp exactly and drizzle does not."""
    data = _scene()
    pm = _distorted_pixmap(data.shape, 0.7)
    ref = drizzle_resample.blot_image(data, pm, interp="poly5")
    out = blot_image(data, pm, interp="poly5")
    y = pm[..., 1].astype(np.float32)
    top = (y >= data.shape[0] - 3) & (y < data.shape[0])
    assert top.sum() > 20
    np.testing.assert_allclose(out[~top], ref[~top], **_tol(data))

    ny, nx = 20, 16
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    ramp = (3.0 + 0.2 * xx + 1.5 * yy).astype(np.float32)
    rng = np.random.default_rng(8)
    pts = _random_points(rng, 400, 0.0, nx - 1e-3, 3.0 - 1e-3)
    pts[..., 1] += ny - 3  # int(y) in {ny-3, ny-2, ny-1}
    truth = 3.0 + 0.2 * pts[0, :, 0].astype(np.float32) + 1.5 * pts[0, :, 1].astype(np.float32)
    ours = blot_image(ramp, pts, interp="poly5")[0]
    theirs = drizzle_resample.blot_image(ramp, pts, interp="poly5")[0]
    np.testing.assert_allclose(blot_image(ramp, pts, interp="poly5", compat=True)[0], theirs,
                               **_tol(ramp))
    np.testing.assert_allclose(ours, truth, rtol=0, atol=1e-5 * np.ptp(ramp))
    assert np.abs(theirs - truth).max() > 1e-3 * np.ptp(ramp)


def test_compat_only_changes_poly5_top_rows():
    data = _scene()
    pm = _distorted_pixmap(data.shape, 1.0)
    for interp in INTERPOLANTS:
        a = blot_image(data, pm, interp=interp)
        b = blot_image(data, pm, interp=interp, compat=True)
        if interp != "poly5":
            np.testing.assert_array_equal(a, b)
        else:
            y = pm[..., 1].astype(np.float32)
            top = (y >= data.shape[0] - 3) & (y < data.shape[0])
            np.testing.assert_array_equal(a[~top], b[~top])
            assert not np.array_equal(a[top], b[top])


def test_fill_boundary_matches_drizzle():
    """On-image means 0 <= x < n in float32 (not [0, n-1], not [-0.5, n-0.5])."""
    data = _scene((12, 14))
    ny, nx = data.shape
    xs = np.array([-1e-3, -1e-7, 0.0, 1e-7, nx - 1, nx - 0.6, nx - 1e-4, nx - 1e-9, nx,
                   nx + 0.4, -0.5, 3.3])
    pm = np.zeros((2, xs.size, 2))
    pm[0, :, 0], pm[0, :, 1] = xs, 5.2  # x scan
    pm[1, :, 0], pm[1, :, 1] = 6.7, xs * (ny / nx)  # y scan
    for interp in ("linear", "poly5", "lanczos3"):
        ref = drizzle_resample.blot_image(data, pm, interp=interp, fillval=np.nan)
        out = blot_image(data, pm, interp=interp, fillval=np.nan)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    expected_off = np.array([1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0], dtype=bool)  # x scan
    np.testing.assert_array_equal(np.isnan(out[0]), expected_off)


def test_nan_and_inf_in_pixmap_give_fillval():
    data = _scene((20, 20))
    pm = np.full((3, 4, 2), 5.5)
    pm[0, 0, 0] = np.nan
    pm[1, 1, 1] = np.nan
    pm[2, 2, 0] = np.inf
    pm[2, 3, 1] = -np.inf
    for interp in INTERPOLANTS:
        out = blot_image(data, pm, interp=interp, fillval=-5.0)
        bad = ~np.isfinite(pm).all(axis=2)
        assert np.all(out[bad] == -5.0)
        assert np.all(out[~bad] != -5.0)


def test_iscale_scales_values_not_fill():
    data = _scene((40, 40))
    pm = _distorted_pixmap(data.shape, 1.0)
    a = blot_image(data, pm, fillval=3.0)
    b = blot_image(data, pm, fillval=3.0, iscale=2.5)
    on = a != 3.0
    assert on.any() and (~on).any()
    np.testing.assert_allclose(b[on], 2.5 * a[on], rtol=1e-6)
    assert np.all(b[~on] == 3.0)


# --------------------------------------------------------------------------
# exactness
# --------------------------------------------------------------------------
@pytest.mark.parametrize("interp", ["nearest", "linear", "poly3", "poly5", "sinc"])
@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-5, 7)])
def test_integer_shift_reproduces_image(interp, shift):
    data = _scene((40, 48))
    ny, nx = data.shape
    oy, ox = np.mgrid[0:ny, 0:nx].astype(float)
    pm = np.dstack([ox + shift[0], oy + shift[1]])
    out = blot_image(data, pm, interp=interp, fillval=np.nan)
    expected = np.full(data.shape, np.nan, dtype=np.float32)
    ys = slice(max(0, -shift[1]), min(ny, ny - shift[1]))
    xs = slice(max(0, -shift[0]), min(nx, nx - shift[0]))
    ys_in = slice(ys.start + shift[1], ys.stop + shift[1])
    xs_in = slice(xs.start + shift[0], xs.stop + shift[0])
    expected[ys, xs] = data[ys_in, xs_in]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6 * np.ptp(data))


def _random_points(rng, n, lo, hi_x, hi_y):
    return np.dstack([rng.uniform(lo, hi_x, (1, n)), rng.uniform(lo, hi_y, (1, n))])


def test_nearest_picks_rounded_pixel_and_clamps():
    rng = np.random.default_rng(0)
    ny, nx = 17, 23
    data = rng.normal(size=(ny, nx)).astype(np.float32)
    pm = _random_points(rng, 2000, 0.0, nx - 1e-3, ny - 1e-3)
    out = blot_image(data, pm, interp="nearest")
    i = np.minimum(np.floor(pm[0, :, 0] + 0.5).astype(int), nx - 1)
    j = np.minimum(np.floor(pm[0, :, 1] + 0.5).astype(int), ny - 1)
    np.testing.assert_array_equal(out[0], data[j, i])


@pytest.mark.parametrize("interp", ["linear", "poly3", "poly5"])
def test_linear_ramps_reproduced_everywhere(interp):
    """a + b x + c y (+ d x y for the tensor-product interpolants) is exact on
    [0, n-1] for linear and on [0, n) for the reflected polynomials."""
    rng = np.random.default_rng(1)
    ny, nx = 15, 19
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    f = lambda x, y: 2.0 + 0.5 * x - 0.75 * y + 0.02 * x * y  # noqa: E731
    data = f(xx, yy).astype(np.float32)
    hi = 1.0 if interp == "linear" else 1e-3
    pm = _random_points(rng, 3000, 0.0, nx - hi, ny - hi)
    # include the corners and edges exactly
    edge = np.array([[0, 0], [nx - 1, ny - 1], [nx - hi, 0], [0, ny - hi], [nx - hi, ny - hi]])
    pm = np.concatenate([pm, edge[None].astype(float)], axis=1)
    out = blot_image(data, pm, interp=interp)
    np.testing.assert_allclose(out[0], f(pm[0, :, 0].astype(np.float32),
                                         pm[0, :, 1].astype(np.float32)),
                               rtol=0, atol=2e-5 * np.ptp(data))


@pytest.mark.parametrize("interp,degree,margin", [("poly3", 3, 1), ("poly5", 5, 2)])
def test_polynomials_reproduced_in_interior(interp, degree, margin):
    """Everett's formula of order 3 (5) reproduces x^a y^b for a, b <= 3 (5)."""
    rng = np.random.default_rng(2)
    ny, nx = 16, 18
    coef = rng.normal(size=(degree + 1, degree + 1))
    coef /= (np.arange(degree + 1)[:, None] + np.arange(degree + 1)[None, :] + 1.0) ** 3

    def f(x, y):
        u, v = x / nx, y / ny
        return sum(coef[a, b] * u**a * v**b for a in range(degree + 1)
                   for b in range(degree + 1))

    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    data = f(xx, yy).astype(np.float32)
    pm = _random_points(rng, 3000, margin, nx - margin - 2, ny - margin - 2)
    x32, y32 = pm[0, :, 0].astype(np.float32), pm[0, :, 1].astype(np.float32)
    out = blot_image(data, pm, interp=interp)
    np.testing.assert_allclose(out[0], f(x32.astype(float), y32.astype(float)),
                               rtol=0, atol=1e-5 * np.ptp(data))


def test_poly_edge_reflection_formula():
    """Beyond the edge poly3 uses f(-k) = 2 f(0) - f(k) (x first, then y):
    checked on random data against an explicit padded-array evaluation."""
    rng = np.random.default_rng(4)
    ny, nx = 9, 10
    data = rng.normal(size=(ny, nx)).astype(np.float32)
    d = data.astype(float)
    # pad by 2 with point reflection, x then y
    px = np.concatenate([2 * d[:, :1] - d[:, 2:0:-1], d, 2 * d[:, -1:] - d[:, -2:-4:-1]], axis=1)
    p = np.concatenate([2 * px[:1] - px[2:0:-1], px, 2 * px[-1:] - px[-2:-4:-1]], axis=0)

    def everett3(f, s):  # f: samples at -1, 0, 1, 2
        t = 1 - s
        return (s * (f[2] + (s * s - 1) * (f[3] - 2 * f[2] + f[1]) / 6)
                + t * (f[1] + (t * t - 1) * (f[2] - 2 * f[1] + f[0]) / 6))

    pts = [(0.3, 0.2), (nx - 0.2, 3.4), (4.6, ny - 0.1), (nx - 0.5, ny - 0.7), (0.0, ny - 0.3)]
    pm = np.array(pts, dtype=float)[None]
    out = blot_image(data, pm, interp="poly3")
    for k, (x, y) in enumerate(pts):
        i, j = int(x), int(y)
        rows = [everett3(p[j - 1 + r + 2, i - 1 + 2:i + 3 + 2], x - i) for r in range(4)]
        assert out[0, k] == pytest.approx(everett3(rows, y - j), abs=1e-5)


# --------------------------------------------------------------------------
# band-limited round trip
# --------------------------------------------------------------------------
def _bandlimited(x, y):
    return (np.cos(2 * np.pi * (0.05 * x + 0.03 * y))
            + 0.5 * np.sin(2 * np.pi * (0.08 * x - 0.04 * y) + 0.3))


@pytest.mark.parametrize("interp", ["poly3", "poly5", "sinc"])
@pytest.mark.parametrize("shift", [(0.3, 0.7), (0.5, 0.5), (0.13, -0.41)])
def test_bandlimited_round_trip(interp, shift):
    n = 80
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    data = _bandlimited(xx, yy)
    pm = np.dstack([xx + shift[0], yy + shift[1]])
    out = blot_image(data, pm, interp=interp)
    truth = _bandlimited(pm[..., 0].astype(np.float32), pm[..., 1].astype(np.float32))
    inner = (slice(12, n - 12),) * 2
    err = np.abs(out - truth)[inner].max() / np.abs(data).max()
    assert err < 1e-3
    # linear interpolation is clearly worse: the test is sensitive
    lin = blot_image(data, pm, interp="linear")
    assert np.abs(lin - truth)[inner].max() / np.abs(data).max() > 5e-3


def test_sinc_sinscl_scales_the_offsets():
    """sinscl=1 is the default sinc; sinscl=s at x equals sinscl=1 at
    round(x) + s (x - round(x))."""
    rng = np.random.default_rng(5)
    n = 48
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    data = _bandlimited(xx, yy).astype(np.float32)
    # centres plus offsets that are multiples of 1/64: every product below is exact
    centres = rng.integers(10, n - 10, size=(1, 500, 2)).astype(float)
    pm = centres + rng.integers(-31, 32, size=(1, 500, 2)) / 64.0
    base = blot_image(data, pm, interp="sinc")
    np.testing.assert_array_equal(base, blot_image(data, pm, interp="sinc", sinscl=1.0))
    for s in (0.5, 1.5):
        scaled = blot_image(data, pm, interp="sinc", sinscl=s)
        r = np.floor(pm + 0.5)
        moved = r + s * (pm - r)
        ref = blot_image(data, moved, interp="sinc")
        ok = np.all(np.abs(s * (pm - r)) < 0.49, axis=2)  # same centre pixel
        assert ok.mean() > 0.3
        np.testing.assert_allclose(scaled[ok], ref[ok], rtol=0, atol=1e-6)
        assert np.abs(scaled - base).max() > 1e-2


def test_lanczos_uses_drizzle_table_not_exact_at_integers():
    """drizzle's Lanczos is an unnormalised table lookup (index int(u/0.003)):
    at integer positions it is close to, but not exactly, the pixel value."""
    data = _scene((30, 30))
    oy, ox = np.mgrid[8:20, 8:20].astype(float)
    pm = np.dstack([ox, oy])
    for interp in ("lanczos3", "lanczos5"):
        out = blot_image(data, pm, interp=interp)
        ref = drizzle_resample.blot_image(data, pm, interp=interp)
        np.testing.assert_allclose(out, ref, **_tol(data))
        diff = np.abs(out - data[8:20, 8:20])
        assert 0 < diff.max() < 0.05 * np.ptp(data)


# --------------------------------------------------------------------------
# non-finite data
# --------------------------------------------------------------------------
def _footprint(interp, x, y, p, q):
    """True where pixel (p, q) is in the footprint of the point (x, y)."""
    i, j = np.floor(x).astype(int), np.floor(y).astype(int)
    if interp == "nearest":
        return (np.floor(x + 0.5) == p) & (np.floor(y + 0.5) == q)
    if interp == "sinc":
        ri, rj = np.floor(x + 0.5), np.floor(y + 0.5)
        return (np.abs(ri - p) <= 7) & (np.abs(rj - q) <= 7)
    if interp.startswith("lanczos"):
        n = int(interp[-1])
        return ((np.floor(x - n) + 1 <= p) & (p <= np.floor(x + n))
                & (np.floor(y - n) + 1 <= q) & (q <= np.floor(y + n)))
    lo, hi = {"linear": (0, 1), "poly3": (-1, 2), "poly5": (-2, 3)}[interp]
    return (i + lo <= p) & (p <= i + hi) & (j + lo <= q) & (q <= j + hi)


@pytest.mark.parametrize("interp", INTERPOLANTS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_data_stays_in_footprint(interp, bad):
    data = _scene((48, 48))
    p, q = 23, 26
    data[q, p] = bad
    oy, ox = np.mgrid[0:48, 0:48].astype(float)
    pm = np.dstack([ox + 0.3, oy - 0.4])
    out = blot_image(data, pm, interp=interp)
    x, y = pm[..., 0].astype(np.float32), pm[..., 1].astype(np.float32)
    foot = _footprint(interp, x.astype(float), y.astype(float), p, q)
    foot &= (x >= 0) & (y >= 0)
    assert foot.any()
    np.testing.assert_array_equal(~np.isfinite(out), foot)


def test_sinc_on_pixel_column_uses_only_that_column():
    """With dx == 0 the sinc reduces to a 1-D sinc in y: a NaN off the column
    does not reach the output."""
    data = _scene((48, 48))
    data[26, 20] = np.nan  # column 20; the points below sit on column 23
    oy, ox = np.mgrid[10:38, 23:24].astype(float)
    pm = np.dstack([ox, oy + 0.4])
    out = blot_image(data, pm, interp="sinc")
    assert np.all(np.isfinite(out))
    data[26, 23] = np.nan
    out = blot_image(data, pm, interp="sinc")
    rows = np.floor(pm[..., 1] + 0.5)
    np.testing.assert_array_equal(np.isnan(out), np.abs(rows - 26) <= 7)


# --------------------------------------------------------------------------
# output array, dtypes, parallel path
# --------------------------------------------------------------------------
def test_out_img_filled_in_place_contiguous_and_strided():
    data = _scene((40, 40))
    pm = _distorted_pixmap(data.shape, 1.0, out_shape=(30, 35))
    fresh = blot_image(data, pm)
    out = np.zeros((30, 35), dtype=np.float32)
    res = blot_image(data, pm, out_img=out)
    assert res is out
    np.testing.assert_array_equal(out, fresh)
    big = np.full((60, 35), 123.0, dtype=np.float32)
    view = big[::2]  # not C-contiguous: must be written, not copied away
    res = blot_image(data, pm, out_img=view)
    assert res is view
    np.testing.assert_array_equal(big[::2], fresh)
    assert np.all(big[1::2] == 123.0)
    fview = np.asfortranarray(np.zeros((30, 35), np.float32))
    np.testing.assert_array_equal(blot_image(data, pm, out_img=fview), fresh)
    # blotting an image onto itself reads the original values, not half-written ones
    square = _distorted_pixmap(data.shape, 1.0, out_shape=data.shape)
    expected = blot_image(data, square)
    inplace = data.copy()
    assert blot_image(inplace, square, out_img=inplace) is inplace
    np.testing.assert_array_equal(inplace, expected)


def test_input_dtypes_and_pixmap_precision():
    data = _scene((32, 32))
    pm = _distorted_pixmap(data.shape, 1.0).astype(np.float32)
    ref = blot_image(data, pm.astype(np.float64))
    np.testing.assert_array_equal(blot_image(data, pm), ref)
    np.testing.assert_array_equal(blot_image(data.astype(np.float64), pm), ref)
    ints = np.round(data).astype(np.int32)
    np.testing.assert_array_equal(blot_image(ints, pm), blot_image(ints.astype(np.float32), pm))


@pytest.mark.parametrize("interp", ["linear", "poly5", "sinc", "lanczos3"])
def test_parallel_equals_serial(interp):
    data = _scene((64, 64))
    pm = _distorted_pixmap(data.shape, 0.8)
    a = blot_image(data, pm, interp=interp, parallel=False)
    b = blot_image(data, pm, interp=interp, parallel=True)
    np.testing.assert_array_equal(a, b)


def test_fillval_none_means_zero_like_drizzle():
    data = _scene((10, 10))
    pm = np.full((2, 2, 2), -5.0)
    np.testing.assert_array_equal(blot_image(data, pm, fillval=None), 0.0)
    np.testing.assert_array_equal(drizzle_resample.blot_image(data, pm, fillval=None), 0.0)


# --------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------
def test_unknown_interp_lists_valid_names():
    data = _scene((10, 10))
    pm = np.zeros((2, 2, 2))
    with pytest.raises(UnknownKernelError) as exc:
        blot_image(data, pm, interp="cubic")
    msg = str(exc.value)
    assert "interp" in msg and "cubic" in msg
    for name in INTERPOLANTS:
        assert name in msg
    assert isinstance(exc.value, KeyError) and isinstance(exc.value, InputError)
    with pytest.raises(UnknownKernelError):
        blot_image(data, pm, interp=None)


@pytest.mark.parametrize("bad_data,exc,word", [
    (np.ones((5, 5), dtype=complex), DtypeError, "data"),
    (np.array([["a", "b"], ["c", "d"]]), DtypeError, "data"),
    (np.ones((5, 5), dtype=bool), DtypeError, "data"),
    (np.ones((2, 5, 5)), ShapeError, "data"),
    (np.ones(5), ShapeError, "data"),
    (np.ones((0, 5)), ShapeError, "data"),
])
def test_bad_data(bad_data, exc, word):
    with pytest.raises(exc, match=word):
        blot_image(bad_data, np.zeros((2, 2, 2)))


@pytest.mark.parametrize("bad_pm,exc", [
    (np.zeros((2, 2, 3)), ShapeError),
    (np.zeros((2, 2)), ShapeError),
    (np.zeros((2, 2, 2), dtype=complex), DtypeError),
])
def test_bad_pixmap(bad_pm, exc):
    with pytest.raises(exc, match="pixmap"):
        blot_image(np.ones((5, 5)), bad_pm)


def test_bad_out_img():
    data, pm = np.ones((5, 5)), np.zeros((2, 3, 2))
    with pytest.raises(DtypeError, match="out_img"):
        blot_image(data, pm, out_img=np.zeros((2, 3)))  # float64 would be copied away
    with pytest.raises(DtypeError, match="out_img"):
        blot_image(data, pm, out_img=[[0.0] * 3] * 2)
    with pytest.raises(ShapeError, match="out_img"):
        blot_image(data, pm, out_img=np.zeros((3, 2), np.float32))
    ro = np.zeros((2, 3), np.float32)
    ro.setflags(write=False)
    with pytest.raises(InputError, match="out_img"):
        blot_image(data, pm, out_img=ro)


@pytest.mark.parametrize("kw,word", [
    (dict(iscale=np.nan), "iscale"),
    (dict(iscale="2"), "iscale"),
    (dict(sinscl=0.0), "sinscl"),
    (dict(sinscl=-1.0), "sinscl"),
    (dict(sinscl=np.inf), "sinscl"),
    (dict(fillval="nan"), "fillval"),
    (dict(fillval=[0.0]), "fillval"),
])
def test_bad_scalars(kw, word):
    with pytest.raises(InputError, match=word):
        blot_image(np.ones((5, 5)), np.zeros((2, 2, 2)), **kw)
