"""The compact pixel-map store the pipeline keeps between steps."""

import numpy as np
import pytest

from drizzlekit.pixmap import calc_pixmap
from drizzlekit.pixmap_store import PixmapStore
from tests.test_pixmap import load_wcs, output_for


@pytest.fixture(scope="module")
def real_pixmap():
    """A real ACS/WFC SIP chip (cropped) onto a rotated TAN frame."""
    w = load_wcs("2chipA.fits.gz", ("SCI", 1), shape=(300, 400))
    return calc_pixmap(w, output_for(w, (300, 400)), shape=(300, 400), stepsize=10)


def test_decode_is_within_a_micro_pixel_and_repeatable(real_pixmap):
    store = PixmapStore(real_pixmap)
    assert store.nbytes == real_pixmap.size * 4  # half the float64 map
    a, b = store.decode(), store.decode()
    np.testing.assert_array_equal(a, b)
    assert a is not b and a.dtype == np.float64
    assert np.abs(a - real_pixmap).max() < 1e-6
    assert np.abs(real_pixmap - real_pixmap[0, 0]).max() > 100  # not a trivial map


def test_decode_equals_the_formula_on_several_threads(real_pixmap, monkeypatch):
    """origin + i ax + j ay + float32 residual, the same numbers on 1 or 3 threads."""
    import drizzlekit._threads as threads

    store = PixmapStore(real_pixmap)
    ny, nx = real_pixmap.shape[:2]
    j, i = np.indices((ny, nx), dtype=np.float64)
    for k in range(2):
        affine = store.ay[k] * j + (store.origin[k] + store.ax[k] * i)
        np.testing.assert_array_equal(store.residual[..., k],
                                      (real_pixmap[..., k] - affine).astype(np.float32))
        np.testing.assert_array_equal(store.decode()[..., k],
                                      affine + store.residual[..., k].astype(np.float64))
    monkeypatch.setattr(threads, "num_threads", lambda: 3)
    np.testing.assert_array_equal(PixmapStore(real_pixmap).decode(), store.decode())


def test_single_row_and_column_maps():
    for shape in ((1, 5), (4, 1), (1, 1)):
        pm = np.dstack(np.indices(shape, dtype=float)[::-1]) * 1.5 + 7.25
        np.testing.assert_allclose(PixmapStore(pm).decode(), pm, atol=1e-9)
