"""Invariants and semantics of drizzlekit.Drizzle (no peer needed)."""

import numpy as np
import pytest

import drizzlekit as dk
from drizzlekit.exceptions import (DtypeError, InputError, NonFiniteError, NoOverlapError,
                                   ShapeError, UnknownKernelError)
from tests.helpers import distorted_pixmap, random_image, shift_pixmap

FLUX_KERNELS = ["square", "turbo", "point", "tophat"]


@pytest.mark.parametrize("kernel", FLUX_KERNELS)
@pytest.mark.parametrize("scale", [0.55, 1.0, 1.2])
@pytest.mark.parametrize("pixfrac", [0.5, 1.0])
def test_flux_conservation(kernel, scale, pixfrac):
    """sum(I W) == sum(d w) for drops entirely on the output (spec §12.1)."""
    shape = (50, 60)
    data = random_image(shape, seed=1)
    wht = random_image(shape, seed=2, low=0.5, high=1.0)
    pm = distorted_pixmap(shape, scale=scale, rot_deg=23, offset=(100, 100))
    d = dk.Drizzle(kernel=kernel, out_shape=(200, 200))
    d.add_image(data, exptime=1.0, pixmap=pm, weight_map=wht, pixfrac=pixfrac,
                pixel_scale_ratio=scale)
    good = d.out_wht > 0
    total_out = np.sum(d.out_img[good].astype(float) * d.out_wht[good])
    total_in = np.sum(data.astype(float) * wht)
    assert total_out == pytest.approx(total_in, rel=1e-4)
    assert d.out_wht.sum() == pytest.approx(wht.sum(), rel=1e-4)


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "tophat", "lanczos3"])
def test_identity_and_integer_shift_are_exact(kernel):
    shape = (30, 40)
    data = random_image(shape, seed=3)
    d = dk.Drizzle(kernel=kernel, out_shape=(50, 60))
    d.add_image(data, exptime=2.0, pixmap=shift_pixmap(shape, 7, 4))
    inner = (slice(4 + 1, 34 - 1), slice(7 + 1, 47 - 1))
    np.testing.assert_allclose(d.out_img[inner], data[1:-1, 1:-1], rtol=1e-6)
    if kernel != "tophat":  # a disk of diameter 1 spills into the neighbours
        np.testing.assert_allclose(d.out_wht[inner], 1.0, rtol=1e-6)
    assert np.isnan(d.out_img[0, 0]) and d.out_wht[0, 0] == 0


def test_square_rotation_by_90_degrees_is_exact():
    shape = (20, 30)
    data = random_image(shape, seed=4)
    y, x = np.indices(shape, dtype=float)
    pm = np.dstack([shape[0] - 1 - y + 5, x + 5])  # (x, y) -> (ny-1-y, x)
    d = dk.Drizzle(kernel="square", out_shape=(40, 30))
    d.add_image(data, exptime=1.0, pixmap=pm)
    expected = np.empty((30, 20), np.float32)  # out[x, ny-1-y] = data[y, x]
    expected[x.astype(int), (shape[0] - 1 - y).astype(int)] = data
    np.testing.assert_allclose(d.out_img[5:35, 5:25], expected, rtol=1e-6)
    np.testing.assert_allclose(d.out_wht[5:35, 5:25], 1.0, rtol=1e-6)


def test_square_half_pixel_offset_splits_in_quarters():
    data = np.zeros((3, 3), np.float32)
    wht = np.zeros((3, 3), np.float32)
    wht[1, 1] = 1
    d = dk.Drizzle(kernel="square", out_shape=(10, 10))
    d.add_image(data, exptime=1.0, pixmap=shift_pixmap((3, 3), 3.5, 3.5), weight_map=wht)
    np.testing.assert_allclose(d.out_wht[4:6, 4:6], 0.25, rtol=1e-12)
    assert d.out_wht.sum() == pytest.approx(1.0)


def test_square_45_degree_drop_against_analytic_areas():
    """A unit pixel rotated by 45 deg centred on an output pixel centre: the
    central pixel gets the octagon area 2(sqrt2 - 1), each edge neighbour
    (1 - (2 - sqrt2))/4 ... computed analytically."""
    from drizzlekit.kernels.geometry import polygon_box_area

    h = np.sqrt(0.5)
    qx, qy = np.array([0, h, 0, -h]), np.array([h, 0, -h, 0])
    centre = polygon_box_area(qx, qy, -0.5, 0.5, -0.5, 0.5)
    assert centre == pytest.approx(1 - 4 * (h - 0.5) ** 2)  # square minus 4 corner triangles
    side = polygon_box_area(qx, qy, 0.5, 1.5, -0.5, 0.5)
    assert side == pytest.approx((h - 0.5) ** 2)
    # and the kernel applies exactly these fractions
    shape = (3, 3)
    y, x = np.indices(shape, dtype=float)
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    pm = np.dstack([(x - 1) * c - (y - 1) * s + 5, (x - 1) * s + (y - 1) * c + 5])
    wht = np.zeros(shape, np.float32)
    wht[1, 1] = 1
    d = dk.Drizzle(kernel="square", out_shape=(11, 11))
    d.add_image(np.zeros(shape, np.float32), exptime=1.0, pixmap=pm, weight_map=wht)
    assert d.out_wht[5, 5] == pytest.approx(centre, rel=1e-6)
    assert d.out_wht[5, 6] == pytest.approx(side, rel=1e-6)


def test_tophat_overlaps_are_exact_disk_areas():
    from drizzlekit.kernels.geometry import circle_rect_area

    r = 0.7
    assert circle_rect_area(0, 0, r, -5, 5, -5, 5) == pytest.approx(np.pi * r * r)
    assert circle_rect_area(0, 0, r, 0, 5, 0, 5) == pytest.approx(np.pi * r * r / 4)
    assert circle_rect_area(0, 0, r, -5, 5, 0.2, 5) == pytest.approx(
        r * r * np.arccos(0.2 / r) - 0.2 * np.sqrt(r * r - 0.04))  # circular segment
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (400_000, 2))
    inside = (pts ** 2).sum(1) <= r * r
    box = (pts[:, 0] > -0.2) & (pts[:, 0] < 0.5) & (pts[:, 1] > 0.1) & (pts[:, 1] < 0.9)
    mc = 4.0 * np.mean(inside & box)
    assert circle_rect_area(0, 0, r, -0.2, 0.5, 0.1, 0.9) == pytest.approx(mc, abs=0.01)
    # a tophat drop of diameter pixfrac/s centred on a pixel centre, s = 1, p = 2
    wht = np.zeros((3, 3), np.float32)
    wht[1, 1] = 1
    d = dk.Drizzle(kernel="tophat", out_shape=(9, 9))
    d.add_image(np.ones((3, 3), np.float32), exptime=1.0,
                pixmap=shift_pixmap((3, 3), 3, 3), weight_map=wht, pixfrac=2.0)
    assert d.out_wht[4, 4] == pytest.approx(1.0 / np.pi)  # the unit square inside r = 1
    assert d.out_wht.sum() == pytest.approx(1.0)


def test_context_planes_beyond_32_inputs():
    shape = (8, 8)
    d = dk.Drizzle(kernel="point", out_shape=(20, 20))
    for k in range(40):
        wht = np.zeros(shape, np.float32)
        wht[k % 8, (k // 8) % 8] = 1.0
        d.add_image(np.ones(shape, np.float32), exptime=1.0,
                    pixmap=shift_pixmap(shape, 2, 2), weight_map=wht)
    assert d.out_ctx.shape == (2, 20, 20)
    for k in (0, 31, 32, 39):
        j, i = k % 8 + 2, (k // 8) % 8 + 2
        plane, bit = divmod(k, 32)
        assert d.out_ctx[plane, j, i].view(np.uint32) & np.uint32(1 << bit)
    assert d.out_ctx[1, 2, 6] == 1 << 0  # image 32 -> plane 1 bit 0
    assert d.out_ctx[0, 9, 5] < 0  # image 31 -> plane 0 bit 31 (sign bit)


def test_tile_equals_the_cut_of_the_full_grid():
    """Drizzling onto tiles of a mosaic gives exactly the full-grid result.
    drizzle 3.0.0 discards drops straddling a tile edge and loses weight there."""
    shape = (60, 70)
    data = random_image(shape, seed=5)
    pm = distorted_pixmap(shape, scale=0.8, rot_deg=31, offset=(60, 55))
    full = dk.Drizzle(kernel="square", out_shape=(110, 120))
    full.add_image(data, exptime=1.0, pixmap=pm, pixfrac=0.9)
    for y0, x0 in [(0, 0), (0, 61), (47, 0), (47, 61)]:
        tile_pm = pm - np.array([x0, y0], float)
        tile = dk.Drizzle(kernel="square", out_shape=(63, 59))
        tile.add_image(data, exptime=1.0, pixmap=tile_pm, pixfrac=0.9)
        cut = (slice(y0, y0 + 63), slice(x0, x0 + 59))
        np.testing.assert_array_equal(tile.out_wht, full.out_wht[cut])
        np.testing.assert_array_equal(tile.out_img, full.out_img[cut])


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "tophat",
                                    "lanczos3"])
@pytest.mark.parametrize("scale, pixfrac", [(1.0, 1.0), (0.3, 1.5), (2.5, 0.5)])
def test_small_regions_in_the_middle_equal_the_cut_of_the_full_grid(kernel, scale, pixfrac):
    """A preview-sized region cuts the input on every side (only the columns and rows
    that can reach it are drizzled): every value equals the full-grid result."""
    shape = (70, 90)
    data = random_image(shape, seed=9)
    weight = random_image(shape, seed=10, low=0.2, high=1.0)
    n_full = int(140 / scale) + 80
    pm = distorted_pixmap(shape, scale=scale, rot_deg=23, offset=(n_full / 2, n_full / 2 + 3))
    full = dk.Drizzle(kernel=kernel, out_shape=(n_full, n_full))
    full.add_image(data, exptime=1.0, pixmap=pm, pixfrac=pixfrac, weight_map=weight,
                   pixel_scale_ratio=scale)
    assert pm.min() > 5 and pm.max() < full.out_wht.shape[0] - 5  # all inside the full grid
    corner = pm[3, 4]  # a region at the image's edge, one at its centre, one beside it
    centre = pm[35, 45]
    for (x, y), n in [(corner, 9), (centre, 13), (centre + [11.0, -7.0], 24)]:
        x0, y0 = int(x) - n // 2, int(y) - n // 2
        region = dk.Drizzle(kernel=kernel, out_shape=(n, n + 3))
        region.add_image(data, exptime=1.0, pixmap=pm - np.array([x0, y0], float),
                         pixfrac=pixfrac, weight_map=weight, pixel_scale_ratio=scale)
        cut = (slice(y0, y0 + n), slice(x0, x0 + n + 3))
        np.testing.assert_array_equal(region.out_wht, full.out_wht[cut])
        np.testing.assert_array_equal(region.out_img, full.out_img[cut])
        np.testing.assert_array_equal(region.out_ctx[0], full.out_ctx[0][cut])


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "tophat",
                                    "lanczos3"])
def test_output_bands_on_threads_give_bit_identical_results(kernel, monkeypatch):
    """Bands on 3 threads (more than this machine's cores) == one serial band,
    with weights, DQ, context and a variance plane all in use."""
    import drizzlekit.kernels as kernels

    shape = (120, 100)
    data = random_image(shape, seed=6)
    weight = random_image(shape, seed=7)
    dq = np.random.default_rng(8).integers(0, 4, shape).astype(np.uint32)
    pm = distorted_pixmap(shape, scale=1.1, rot_deg=3, offset=(80, 90))
    results = []
    for n in (1, 3):
        monkeypatch.setattr(kernels, "num_threads", lambda n=n: n)
        d = dk.Drizzle(kernel=kernel, out_shape=(200, 200))
        d.add_image(data, exptime=1.0, pixmap=pm, weight_map=weight, pixfrac=0.8,
                    data2=data * 0.5, dq=dq)
        results.append(d)
    for name in ("out_img", "out_wht", "out_ctx", "out_img2", "out_dq"):
        a, b = getattr(results[0], name), getattr(results[1], name)
        if isinstance(a, list):
            a, b = np.array(a), np.array(b)
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert results[0].out_wht.max() > 0


# -- where drizzle 3.0.0 is wrong ------------------------------------------

def test_derived_output_shape_is_ny_nx():
    shape = (10, 30)
    d = dk.Drizzle()
    d.add_image(np.ones(shape, np.float32), exptime=1.0, pixmap=shift_pixmap(shape, 4.2, 7.7))
    assert d.out_img.shape == (10 + 1, 30 + 1)  # covers the mapped positions, (ny, nx)


def test_non_contiguous_outputs_are_filled_in_place():
    big_img = np.zeros((40, 80), np.float32)
    big_wht = np.zeros((40, 80), np.float32)
    out_img, out_wht = big_img[:, ::2], big_wht[:, ::2]
    d = dk.Drizzle(out_img=out_img, out_wht=out_wht, disable_ctx=True)
    d.add_image(np.full((10, 10), 3, np.float32), exptime=1.0, pixmap=shift_pixmap((10, 10), 5, 5))
    assert out_wht.sum() == pytest.approx(100.0)
    assert big_img[5:15, 10:30:2].mean() == pytest.approx(3.0)
    assert big_wht[:, 1::2].sum() == 0  # the skipped columns are untouched


def test_wrong_output_dtype_is_refused_not_copied():
    with pytest.raises(DtypeError, match="out_img"):
        dk.Drizzle(out_img=np.zeros((5, 5), np.float64))


def test_infinite_positions_skip_only_those_pixels():
    shape = (20, 20)
    pm = shift_pixmap(shape, 5, 5)
    pm[10, 3] = (np.inf, 15.0)
    d = dk.Drizzle(kernel="point", out_shape=(40, 40))
    d.add_image(np.ones(shape, np.float32), exptime=1.0, pixmap=pm)
    assert d.out_wht.sum() == pytest.approx(shape[0] * shape[1] - 1)


def test_negative_weights_and_nan_pixfrac_are_rejected():
    d = dk.Drizzle(out_shape=(10, 10))
    w = np.ones((5, 5), np.float32)
    w[2, 2] = -1
    with pytest.raises(InputError, match="weight_map"):
        d.add_image(np.ones((5, 5)), exptime=1.0, pixmap=shift_pixmap((5, 5), 2, 2), weight_map=w)
    with pytest.raises(InputError, match="pixfrac"):
        d.add_image(np.ones((5, 5)), exptime=1.0, pixmap=shift_pixmap((5, 5), 2, 2), pixfrac=np.nan)
    with pytest.raises(InputError, match="pixfrac"):
        d.add_image(np.ones((5, 5)), exptime=1.0, pixmap=shift_pixmap((5, 5), 2, 2), pixfrac=0.0)


def test_nonfinite_data_is_masked_not_spread():
    shape = (20, 20)
    data = np.ones(shape, np.float32)
    data[10, 10] = np.nan
    wht = np.ones(shape, np.float32)
    wht[5, 5] = np.inf
    d = dk.Drizzle(kernel="square", out_shape=(30, 30))
    d.add_image(data, exptime=1.0, pixmap=shift_pixmap(shape, 4.5, 4.5), weight_map=wht)
    good = d.out_wht > 0
    assert np.all(np.isfinite(d.out_img[good]))
    np.testing.assert_allclose(d.out_img[good], 1.0)
    assert d.out_wht.sum() == pytest.approx(shape[0] * shape[1] - 2)
    strict = dk.Drizzle(out_shape=(30, 30), nonfinite="raise")
    with pytest.raises(NonFiniteError, match="data"):
        strict.add_image(data, exptime=1.0, pixmap=shift_pixmap(shape, 4.5, 4.5))


def test_failed_add_image_changes_nothing():
    d = dk.Drizzle(out_shape=(10, 10))
    d.add_image(np.ones((5, 5)), exptime=2.0, pixmap=shift_pixmap((5, 5), 2, 2))
    before = (d.ctx_id, d.total_exptime, d.out_img.copy(), d.out_wht.copy())
    with pytest.raises(ShapeError, match="pixmap"):
        d.add_image(np.ones((5, 5)), exptime=3.0, pixmap=np.zeros((4, 5, 2)))
    with pytest.raises(NoOverlapError):
        d.add_image(np.ones((5, 5)), exptime=3.0, pixmap=shift_pixmap((5, 5), 200, 200))
    assert (d.ctx_id, d.total_exptime) == before[:2]
    np.testing.assert_array_equal(d.out_img, before[2])
    np.testing.assert_array_equal(d.out_wht, before[3])


def test_kernel_names_are_case_insensitive_and_checked_early():
    dk.Drizzle(kernel="SQUARE", out_shape=(5, 5))
    with pytest.raises(UnknownKernelError, match="available kernels"):
        dk.Drizzle(kernel="boxcar")


@pytest.mark.parametrize("shape", [(1, 12), (12, 1), (1, 1)])
def test_single_row_column_and_pixel_inputs(shape):
    d = dk.Drizzle(kernel="square", out_shape=(30, 30))
    d.add_image(np.full(shape, 2.0, np.float32), exptime=1.0, pixmap=shift_pixmap(shape, 9.3, 9.6))
    assert d.out_wht.sum() == pytest.approx(shape[0] * shape[1], rel=1e-6)
    assert np.nanmax(d.out_img) == pytest.approx(2.0)


# -- bad input --------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(data=np.ones((5, 5, 2))), ShapeError, "data"),
    (dict(data=np.ones((5, 5), complex)), DtypeError, "data"),
    (dict(pixmap=np.ones((5, 5, 3))), ShapeError, "pixmap"),
    (dict(pixmap=np.ones((5, 5, 2), complex)), DtypeError, "pixmap"),  # ints are fine
    (dict(weight_map=np.ones((4, 5))), ShapeError, "weight_map"),
    (dict(dq=np.ones((5, 5), np.float32)), DtypeError, "dq"),
    (dict(dq=np.ones((5, 5), np.int64)), DtypeError, "dq"),
    (dict(exptime=0.0), InputError, "exptime"),
    (dict(in_units="electrons"), InputError, "in_units"),
    (dict(pixel_scale_ratio=-1.0), InputError, "pixel_scale_ratio"),
])
def test_bad_input_names_the_argument(kwargs, exc, word):
    args = dict(data=np.ones((5, 5), np.float32), exptime=1.0, pixmap=shift_pixmap((5, 5), 1, 1))
    args.update(kwargs)
    d = dk.Drizzle(out_shape=(10, 10))
    with pytest.raises(exc, match=word):
        d.add_image(**args)
    assert d.ctx_id == 0 and d.total_exptime == 0.0


def test_inconsistent_output_arrays():
    with pytest.raises(ShapeError):
        dk.Drizzle(out_shape=(5, 5), out_img=np.zeros((6, 5), np.float32))
    with pytest.raises(InputError, match="out_ctx"):
        dk.Drizzle(out_wht=np.ones((5, 5), np.float32), out_ctx=np.zeros((5, 5), np.int32),
                   exptime=1.0)
