"""drizzlekit.stats.image_stats against a plain rendering of spec Appendix A."""

import math

import numpy as np
import pytest

from drizzlekit.exceptions import InputError
from drizzlekit.stats import image_stats


def reference_stats(values, nclip, lsig, usig, binwidth, compat):
    """Appendix A written out step by step (float64, python loops for the histogram)."""
    x = np.asarray(values, dtype=np.float32).astype(np.float64).ravel()
    x = x[np.isfinite(x)]
    lower, upper = x.min(), x.max()
    cmin, cmax = lower, upper
    for k in range(nclip + 1):
        good = x[(x >= cmin) & (x <= cmax)]
        npix, mean = good.size, good.mean()
        vmin, vmax = good.min(), good.max()
        std = math.sqrt(((good - mean) ** 2).sum() / (npix - 1))
        if k < nclip:
            cmin, cmax = max(lower, mean - lsig * std), min(upper, mean + usig * std)
    median = np.median(x[(x >= cmin) & (x <= cmax)]) if nclip else np.median(x)
    hwidth, drange = binwidth * std, vmax - vmin
    if hwidth > drange:
        width = hwidth if compat else drange
        return npix, mean, std, median, vmin + 0.5 * width, 1
    nbins = int(drange / hwidth) + 1
    dz = drange / (nbins - 1)
    hist = [0] * nbins
    for v in x:
        if vmin <= v < vmin + nbins * dz:
            hist[min(int((v - vmin) / dz), nbins - 1)] += 1
    k = hist.index(max(hist))
    if k in (0, nbins - 1):
        pos = k + 0.5
    else:
        h1, h2 = hist[k] - hist[k - 1], hist[k] - hist[k + 1]
        pos = k + 0.5 + (0.5 * (h1 - h2) / (h1 + h2) if h1 + h2 else 0.0)
    return npix, mean, std, median, vmin + pos * (hwidth if compat else dz), nbins


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("nclip", [0, 1, 3, 5])
@pytest.mark.parametrize("compat", [False, True])
def test_matches_plain_rendering(seed, nclip, compat):
    rng = np.random.default_rng(seed)
    data = np.concatenate([rng.normal(100.0, 7.0, 3000), rng.uniform(-200, 800, 60),
                           rng.exponential(30.0, 300) + 100.0]).astype(np.float32)
    st = image_stats(data, nclip=nclip, lsig=3.0, usig=2.5, binwidth=0.1,
                     fields="median,mode", compat=compat)
    npix, mean, std, median, mode, nbins = reference_stats(data, nclip, 3.0, 2.5, 0.1, compat)
    assert st.npix == npix and st.nbins == nbins
    assert st.mean == pytest.approx(mean, rel=1e-6)
    assert st.stddev == pytest.approx(std, rel=1e-6)
    assert st.median == pytest.approx(median, rel=1e-6)
    assert st.mode == pytest.approx(mode, rel=1e-6, abs=1e-6)


def test_gaussian_noise_recovers_parameters():
    rng = np.random.default_rng(42)
    data = rng.normal(10.0, 2.0, (400, 400))
    st = image_stats(data, fields="median,mode")
    assert st.npix == data.size
    assert st.mean == pytest.approx(10.0, abs=0.02)
    assert st.stddev == pytest.approx(2.0, rel=0.01)
    assert st.median == pytest.approx(10.0, abs=0.02)
    assert st.mode == pytest.approx(10.0, abs=0.1)  # half a 0.2-wide bin
    clipped = image_stats(data, nclip=3, lsig=3, usig=3, fields="median")
    # 3-sigma clipping of a Gaussian leaves ~99.7 % of it and sigma * 0.986
    assert clipped.npix / data.size == pytest.approx(0.997, abs=0.002)
    assert clipped.stddev == pytest.approx(2.0 * 0.9866, rel=0.01)
    assert clipped.clipmin == pytest.approx(10.0 - 3 * 2.0, abs=0.1)


def test_compat_mode_uses_nominal_bin_width():
    rng = np.random.default_rng(7)
    data = rng.normal(50.0, 3.0, 20000) + rng.exponential(20.0, 20000) * (rng.random(20000) < 0.2)
    good = image_stats(data, fields="mode")
    comp = image_stats(data, fields="mode", compat=True)
    hwidth = 0.1 * good.stddev
    dz = (good.max - good.min) / (good.nbins - 1)
    assert dz > hwidth
    # same peak position in bins, scaled by the two widths
    assert (comp.mode - good.min) == pytest.approx((good.mode - good.min) * hwidth / dz)
    assert abs(comp.mode - good.mode) <= dz  # the spec's "within one bin"


def test_constant_data_single_bin():
    st = image_stats(np.full(100, 3.5), fields="mode,median")
    assert st.nbins == 1 and st.stddev == 0.0
    assert st.mode == st.median == st.mean == 3.5


def test_hard_limits_and_nonfinite_ignored():
    data = np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.inf, 100.0])
    st = image_stats(data, lower=1.5, upper=10.0, fields="median")
    assert (st.npix, st.mean, st.min, st.max) == (3, 3.0, 2.0, 4.0)
    assert st.median == 3.0 and st.stddev == pytest.approx(1.0)
    # with nclip = 0 the median ignores the hard limits (as the reference does)
    assert image_stats(data, lower=1.5, fields="median").median == 3.0


def test_two_bin_mode():
    data = np.array([0.0] * 5 + [1.0] * 3)
    st = image_stats(data, binwidth=1.5, fields="mode")  # hwidth 0.76 < drange 1
    assert st.nbins == 2
    assert st.mode == pytest.approx(0.5)  # first bin higher: min + dz/2
    assert image_stats(data, binwidth=1.5, fields="mode", compat=True).mode == pytest.approx(
        0.5 * 1.5 * st.stddev)


@pytest.mark.parametrize("kwargs, match", [
    ({"values": []}, "values"),
    ({"values": [np.nan, np.inf]}, "values"),
    ({"values": [1, 2, 3], "lower": 5}, "lower"),
    ({"values": [1, 2, 3], "upper": 0}, "upper"),
    ({"values": [1, 2, 3], "lower": 2.5, "upper": 2.0}, "lower"),
    ({"values": [1, 2, 3], "nclip": -1}, "nclip"),
    ({"values": [1, 2, 3], "lsig": 0}, "lsig"),
    ({"values": [1, 2, 3], "binwidth": -0.1}, "binwidth"),
    ({"values": [1, 2, 3], "fields": "mean,midpt"}, "fields"),
    ({"values": np.array(["a", "b"])}, "values"),
])
def test_bad_input(kwargs, match):
    values = kwargs.pop("values")
    with pytest.raises(InputError, match=match):
        image_stats(values, **kwargs)


@pytest.mark.parametrize("nclip", [1, 3, 5])
def test_clipping_equals_astropy_sigmaclip(nclip):
    """image_stats' window is astropy's SigmaClip(cenfunc='mean', std with ddof=1)."""
    from astropy.stats import SigmaClip

    rng = np.random.default_rng(nclip)
    x = rng.normal(40.0, 7.0, 50_000).astype(np.float32)
    x[rng.integers(0, x.size, 300)] += rng.exponential(300.0, 300).astype(np.float32)
    st = image_stats(x, nclip=nclip, lsig=3.0, usig=2.5)

    def std1(a, axis=None):
        return np.nanstd(a, axis=axis, ddof=1)

    kept = SigmaClip(sigma_lower=3.0, sigma_upper=2.5, maxiters=nclip, cenfunc="mean",
                     stdfunc=std1)(x, masked=False)
    kept = kept[np.isfinite(kept)]
    assert kept.size == st.npix
    assert kept.min() == st.min and kept.max() == st.max
    assert st.mean == pytest.approx(float(np.mean(kept, dtype=np.float64)), rel=1e-6)
    assert st.stddev == pytest.approx(float(np.std(kept, ddof=1, dtype=np.float64)), rel=1e-6)
