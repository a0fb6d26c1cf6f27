"""drizzlekit.Drizzle side by side with STScI's drizzle 3.0.0 on identical inputs."""

import warnings

import numpy as np
import pytest

import drizzlekit as dk
from tests.helpers import distorted_pixmap, random_image

dr = pytest.importorskip("drizzle.resample")

OUT = (240, 240)


def _both(kernel, data, pixmap, out_shape=OUT, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drizzle warns about non-flux-conserving kernels
        ref = dr.Drizzle(kernel=kernel, out_shape=out_shape)
        ref.add_image(data, pixmap=pixmap, **kw)
    new = dk.Drizzle(kernel=kernel, out_shape=out_shape)
    new.add_image(data, pixmap=pixmap, **kw)
    return ref, new


def _assert_same(ref, new, rtol=1e-5, border=0):
    sl = (slice(border, OUT[0] - border or None), slice(border, OUT[1] - border or None))
    w_ref, w_new = ref.out_wht[sl], new.out_wht[sl]
    good = w_ref > 0
    np.testing.assert_array_equal(good, w_new > 0)
    np.testing.assert_allclose(w_new[good], w_ref[good], rtol=rtol, atol=rtol * w_ref.max())
    i_ref, i_new = ref.out_img[sl][good], new.out_img[sl][good]
    np.testing.assert_allclose(i_new, i_ref, rtol=rtol, atol=rtol * np.abs(i_ref).max())
    np.testing.assert_array_equal(new.out_ctx[(slice(None),) + sl], ref.out_ctx[(slice(None),) + sl])


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian"])
@pytest.mark.parametrize("pixfrac", [0.5, 1.0])
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_kernels_match_drizzle(kernel, pixfrac, scale):
    shape = (80, 90)
    data = random_image(shape, seed=1)
    wht = random_image(shape, seed=2, low=0.2, high=1.0)
    pixmap = distorted_pixmap(shape, scale=scale, offset=(120, 120))
    ref, new = _both(kernel, data, pixmap, exptime=3.0, weight_map=wht, pixfrac=pixfrac,
                     pixel_scale_ratio=scale, iscale=scale**2, wht_scale=0.7)
    _assert_same(ref, new)


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian"])
def test_real_sip_pixmap_counts_dq_variance(kernel, sip_pixmap):
    """A real ACS/WFC SIP pixmap, counts units, DQ and a variance array."""
    data, pixmap, out_shape = sip_pixmap
    rng = np.random.default_rng(3)
    dq = rng.choice(np.array([0, 0, 0, 4, 16], np.uint32), size=data.shape)
    var = random_image(data.shape, seed=4, low=1, high=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = dr.Drizzle(kernel=kernel, out_shape=out_shape)
        ref.add_image(data, exptime=7.0, pixmap=pixmap, dq=dq, data2=var, in_units="counts")
    new = dk.Drizzle(kernel=kernel, out_shape=out_shape)
    new.add_image(data, exptime=7.0, pixmap=pixmap, dq=dq, data2=var, in_units="counts")
    good = ref.out_wht > 0
    np.testing.assert_array_equal(good, new.out_wht > 0)
    np.testing.assert_allclose(new.out_wht[good], ref.out_wht[good], rtol=1e-5)
    np.testing.assert_allclose(new.out_img[good], ref.out_img[good], rtol=1e-5)
    np.testing.assert_allclose(new.out_img2[0][good], ref.out_img2[0][good], rtol=1e-5)
    np.testing.assert_array_equal(new.out_dq, ref.out_dq)
    np.testing.assert_array_equal(new.out_ctx, ref.out_ctx)


@pytest.mark.parametrize("pattern", ["block", "scattered", "single"])
def test_nans_in_pixmap_skip_exactly_the_affected_pixels(pattern):
    """drizzle 3.0 can silently draw nothing at all (or drop rows) when the pixmap
    holds NaNs. drizzlekit skips exactly the pixels whose drop corners need a NaN
    node: the result equals drizzle's on the finite pixmap with those pixels
    masked by a zero weight."""
    from scipy.ndimage import binary_dilation

    shape = (60, 60)
    data = random_image(shape, seed=5)
    finite = distorted_pixmap(shape, scale=1.0, offset=(120, 120))
    pixmap = finite.copy()
    if pattern == "block":
        pixmap[20:30, 10:40] = np.nan
    elif pattern == "scattered":
        rng = np.random.default_rng(8)
        pixmap[rng.integers(1, 59, 12), rng.integers(1, 59, 12)] = np.nan
    else:
        pixmap[31, 17] = np.nan
    new = dk.Drizzle(kernel="square", out_shape=OUT)
    new.add_image(data, exptime=1.0, pixmap=pixmap)
    masked = ~binary_dilation(np.isnan(pixmap[..., 0]), np.ones((3, 3), bool))
    ref = dr.Drizzle(kernel="square", out_shape=OUT)
    ref.add_image(data, exptime=1.0, pixmap=finite, weight_map=masked.astype(np.float32))
    _assert_same(ref, new)
    assert new.out_wht.sum() > 0.7 * shape[0] * shape[1]


def test_partial_overlap_differs_only_at_the_output_edge():
    """The output cuts the image: inside, identical; at the edge, drizzlekit keeps
    the weight of straddling drops that drizzle 3.0 discards."""
    shape = (80, 80)
    data = random_image(shape, seed=6)
    pixmap = distorted_pixmap(shape, scale=1.0, offset=(10, 230))  # hangs off two sides
    ref, new = _both("square", data, pixmap, exptime=1.0)
    _assert_same(ref, new, border=2)
    assert new.out_wht.sum() > ref.out_wht.sum()
    assert np.all(new.out_wht >= ref.out_wht - 1e-6)


def test_several_images_accumulate_like_drizzle():
    shape = (50, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = dr.Drizzle(kernel="square", out_shape=OUT)
        new = dk.Drizzle(kernel="square", out_shape=OUT)
        for k in range(3):
            data = random_image(shape, seed=10 + k)
            pm = distorted_pixmap(shape, rot_deg=5 * k, offset=(100 + 0.3 * k, 110 - 0.7 * k))
            ref.add_image(data, exptime=1.0 + k, pixmap=pm, pixfrac=0.8)
            new.add_image(data, exptime=1.0 + k, pixmap=pm, pixfrac=0.8)
    _assert_same(ref, new)
    assert new.total_exptime == ref.total_exptime


@pytest.mark.parametrize("order", [2, 3])
def test_lanczos_is_analytic_where_drizzle_uses_a_table(order):
    """Deliberate difference: drizzle 3.0's Lanczos weights come from a coarse
    table (non-zero weight at integer offsets, errors ~1e-3); drizzlekit uses the
    analytic sinc(u) sinc(u/n). They agree to that table's precision."""
    shape = (40, 40)
    y, x = np.indices(shape, dtype=float)
    pm = np.dstack([x + 100.0, y + 100.0])  # integer shift: exact weights are 0/1
    data = random_image(shape, seed=7)
    ref, new = _both(f"lanczos{order}", data, pm, exptime=1.0)
    inner = (slice(105, 135), slice(105, 135))
    np.testing.assert_allclose(new.out_wht[inner], 1.0, atol=1e-6)  # analytic: exactly 1
    np.testing.assert_allclose(new.out_img[inner], data[5:35, 5:35], rtol=1e-6)
    assert np.abs(ref.out_wht[inner] - 1.0).max() > 1e-4  # drizzle's table is off
    pm2 = distorted_pixmap(shape, rot_deg=11, offset=(120, 120))
    ref2, new2 = _both(f"lanczos{order}", data, pm2, exptime=1.0)
    good = ref2.out_wht > 0.05
    np.testing.assert_allclose(new2.out_wht[good], ref2.out_wht[good], atol=1e-2 * order)


@pytest.mark.parametrize("kernel", ["square", "turbo", "point"])
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_flux_kernels_are_bit_identical_to_drizzle_inside_the_output(kernel, scale):
    """The README's claim: with every drop inside the output grid, square, turbo
    and point reproduce drizzle 3.0.0 exactly (float32 rounding included)."""
    shape = (80, 90)
    data = random_image(shape, seed=1)
    wht = random_image(shape, seed=2, low=0.2, high=1.0)
    pixmap = distorted_pixmap(shape, scale=scale, offset=(120, 120))
    ref, new = _both(kernel, data, pixmap, exptime=3.0, weight_map=wht, pixfrac=0.7,
                     pixel_scale_ratio=scale, iscale=scale**2)
    good = ref.out_wht > 0
    np.testing.assert_array_equal(new.out_wht, ref.out_wht)
    np.testing.assert_array_equal(new.out_img[good], ref.out_img[good])
    np.testing.assert_array_equal(new.out_ctx, ref.out_ctx)
