"""drizzle's ``cdrizzle``-only tests, re-expressed through drizzlekit's public API.

drizzle 3.0.0 tests its private C helpers directly: ``clip_polygon`` (the
overlap of a mapped input pixel with the output grid, and of the input image
with the output frame), ``invert_pixmap`` (output position -> input position)
and the C unit tests behind ``test_cdrizzle``. drizzlekit has no such private
entry points; what those helpers decide is visible in :class:`drizzlekit.Drizzle`'s
output, so the same facts are checked here through ``add_image``. The tests
that call ``cdrizzle.tdriz`` directly run unchanged against drizzlekit through
the shim (``shim/drizzle/cdrizzle.py``).
"""

import math

import numpy as np
import pytest

import drizzlekit as dk


def _affine_pixmap(shape, matrix, centre_in, centre_out):
    y, x = np.indices(shape, dtype=np.float64)
    dx, dy = x - centre_in[0], y - centre_in[1]
    ox = centre_out[0] + matrix[0][0] * dx + matrix[0][1] * dy
    oy = centre_out[1] + matrix[1][0] * dx + matrix[1][1] * dy
    return np.dstack([ox, oy])


def _one_pixel(pixmap, out_shape=(12, 12), kernel="square", pixfrac=1.0):
    data = np.ones(pixmap.shape[:2], np.float32)
    wht = np.zeros(pixmap.shape[:2], np.float32)
    wht[1, 1] = 1.0  # only the centre pixel's drop
    d = dk.Drizzle(kernel=kernel, out_shape=out_shape)
    d.add_image(data, 1.0, pixmap, weight_map=wht, pixfrac=pixfrac)
    return d.out_wht.astype(np.float64)


def test_polygon_intersection_with_self():
    """A pixel mapped exactly onto an output pixel overlaps it fully and nothing else."""
    w = _one_pixel(_affine_pixmap((3, 3), [[1, 0], [0, 1]], (1, 1), (5, 5)))
    assert w[5, 5] == 1.0 and w.sum() == 1.0


@pytest.mark.parametrize("shift", [(0.3, 0.6), (-0.25, 0.5), (0.9, -0.1)])
def test_polygon_intersection_shifted(shift):
    """A shifted unit square: overlaps are the products of the 1-D overlaps."""
    sx, sy = shift
    w = _one_pixel(_affine_pixmap((3, 3), [[1, 0], [0, 1]], (1, 1), (5 + sx, 5 + sy)))
    for (jj, ii), val in np.ndenumerate(w):
        ox = max(0.0, min(ii + 0.5, 5.5 + sx) - max(ii - 0.5, 4.5 + sx))
        oy = max(0.0, min(jj + 0.5, 5.5 + sy) - max(jj - 0.5, 4.5 + sy))
        assert val == pytest.approx(ox * oy, abs=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("flip", [(1, -1), (-1, 1), (-1, -1)])
def test_polygon_intersection_rotated45_and_flipped(flip):
    """A unit square turned by 45 degrees (any handedness) centred on a pixel centre:
    the centre pixel gets 1 - 4 h**2, each edge neighbour h**2, h = 1/sqrt(2) - 1/2."""
    c = math.sqrt(0.5)
    m = [[c * flip[0], -c * flip[1]], [c * flip[0], c * flip[1]]]
    w = _one_pixel(_affine_pixmap((3, 3), m, (1, 1), (5, 5)))
    h = math.sqrt(0.5) - 0.5
    assert w[5, 5] == pytest.approx(1 - 4 * h * h, abs=1e-6)
    for jj, ii in ((4, 5), (6, 5), (5, 4), (5, 6)):
        assert w[jj, ii] == pytest.approx(h * h, abs=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)


def test_drop_that_includes_the_output_pixel():
    """A drop 3 output pixels wide covers the 3x3 block around it, 1/9 each."""
    w = _one_pixel(_affine_pixmap((3, 3), [[3, 0], [0, 3]], (1, 1), (5, 5)))
    np.testing.assert_allclose(w[4:7, 4:7], 1 / 9, atol=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-6)


def _distorted(shape):
    y, x = np.indices(shape, dtype=np.float64)
    u, v = x - 40.0, y - 30.0
    u2 = u + 3e-4 * u * u - 2e-4 * u * v
    v2 = v + 2e-4 * v * v + 1e-4 * u * v
    c, s = math.cos(0.6), math.sin(0.6)
    return np.dstack([200 + 1.7 * (c * u2 - s * v2), 180 + 1.7 * (s * u2 + c * v2)])


@pytest.mark.parametrize("kernel", ["square", "turbo", "point"])
@pytest.mark.parametrize("window", [(0, 0, 230, 210), (150, 120, 90, 80), (230, 200, 60, 70)])
def test_partial_overlap_is_the_cut_of_the_full_result(kernel, window):
    """What drizzle's pixmap inversion and polygon clipping decide (which input pixels
    reach a partly covered output frame) is visible as: drizzling onto any window of the
    output equals the same cut of the result on a frame that holds everything."""
    pm = _distorted((60, 80))
    data = np.random.default_rng(1).uniform(1, 2, (60, 80)).astype(np.float32)
    full = dk.Drizzle(kernel=kernel, out_shape=(400, 400))
    full.add_image(data, 1.0, pm)
    x0, y0, nx, ny = window
    part = dk.Drizzle(kernel=kernel, out_shape=(ny, nx), on_no_overlap="ignore")
    shifted = pm - np.array([x0, y0], dtype=np.float64)
    part.add_image(data, 1.0, shifted)
    np.testing.assert_array_equal(part.out_wht, full.out_wht[y0:y0 + ny, x0:x0 + nx])
    np.testing.assert_array_equal(part.out_ctx[0], full.out_ctx[0, y0:y0 + ny, x0:x0 + nx])
    cut = full.out_wht[y0:y0 + ny, x0:x0 + nx] > 0
    np.testing.assert_array_equal(part.out_img[cut], full.out_img[y0:y0 + ny, x0:x0 + nx][cut])


def test_identity_pixmap_copies_the_input():
    """The C unit tests' basic case: identity pixmap, square kernel, pixfrac 1."""
    data = np.random.default_rng(2).uniform(0, 10, (100, 100)).astype(np.float32)
    y, x = np.indices(data.shape, dtype=np.float64)
    d = dk.Drizzle(kernel="square", out_shape=data.shape)
    d.add_image(data, 1.0, np.dstack([x, y]))
    np.testing.assert_array_equal(d.out_img, data)
    assert np.all(d.out_wht == 1.0) and np.all(d.out_ctx == 1)
