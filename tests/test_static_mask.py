"""Static mask (spec §4) on Gaussian noise with injected low pixels."""

import numpy as np
import pytest

from drizzlekit.exceptions import InputError, ShapeError
from drizzlekit.stats import image_stats
from drizzlekit.steps import static_mask

SKY, SIGMA = 100.0, 5.0


@pytest.fixture
def exposures():
    rng = np.random.default_rng(3)
    a = rng.normal(SKY, SIGMA, (200, 180)).astype(np.float32)
    b = rng.normal(SKY + 20.0, SIGMA, (200, 180)).astype(np.float32)  # other sky level
    low_a = (rng.integers(0, 200, 25), rng.integers(0, 180, 25))
    low_b = (rng.integers(0, 200, 10), rng.integers(0, 180, 10))
    a[low_a] = SKY - 12 * SIGMA
    b[low_b] = SKY + 20.0 - 9 * SIGMA
    b[5:8, 5:8] = SKY + 1000.0  # bright pixels are never flagged
    return a, b, low_a, low_b


def expected_mask(arrays, sig):
    good = np.ones(arrays[0].shape, bool)
    for a in arrays:
        st = image_stats(a, nclip=3, lsig=3, usig=3, binwidth=0.1, fields="mode")
        good &= ~(a < st.mode - sig * st.stddev)
    return good


def test_flags_low_pixels_of_any_exposure(exposures):
    a, b, low_a, low_b = exposures
    mask = static_mask([a, b], static_sig=4.0)
    assert mask.dtype == bool and mask.shape == a.shape
    assert not mask[low_a].any() and not mask[low_b].any()
    assert mask[5:8, 5:8].all()
    np.testing.assert_array_equal(mask, expected_mask([a, b], 4.0))
    injected = np.zeros(a.shape, bool)
    injected[low_a] = injected[low_b] = True
    # Gaussian 4-sigma lower tail: ~3e-5 per pixel per exposure, ~2 expected
    assert (~mask & ~injected).sum() <= 10


def test_threshold_scales_with_static_sig(exposures):
    a, b, *_ = exposures
    loose, tight = static_mask([a, b], 2.0), static_mask([a, b], 6.0)
    assert (~loose).sum() > (~static_mask([a, b], 4.0)).sum() >= (~tight).sum()
    assert np.all(loose <= tight)  # every pixel flagged at 6 sigma is flagged at 2
    # 2-sigma tail of two exposures: 1 - (1 - 0.0228)^2 of the pixels
    assert (~loose).mean() == pytest.approx(1 - (1 - 0.02275) ** 2, rel=0.1)


def test_single_array_and_nan(exposures):
    a = exposures[0].copy()
    a[0, :4] = np.nan
    mask = static_mask(a)
    assert mask[0, :4].all()
    np.testing.assert_array_equal(mask, expected_mask([a], 4.0))


def test_constant_exposure_is_skipped():
    flat = np.full((20, 20), 7.0)
    noisy = np.random.default_rng(0).normal(0, 1, (20, 20))
    noisy[3, 3] = -50
    mask = static_mask([flat, noisy])
    assert not mask[3, 3]
    np.testing.assert_array_equal(mask, expected_mask([noisy], 4.0))


def test_bad_input():
    with pytest.raises(InputError, match="sci_arrays"):
        static_mask([])
    with pytest.raises(ShapeError, match=r"sci_arrays\[1\]"):
        static_mask([np.zeros((4, 4)), np.zeros((4, 5))])
    with pytest.raises(ShapeError, match=r"sci_arrays\[0\]"):
        static_mask([np.zeros(4)])
    with pytest.raises(InputError, match="static_sig"):
        static_mask([np.zeros((4, 4))], static_sig=0)
