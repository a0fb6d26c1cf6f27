"""Sky step (spec §5; acceptance test §12 item 9)."""

import logging

import numpy as np
import pytest
from astropy.wcs import WCS

from drizzlekit.exceptions import InputError, NoOverlapError, ParameterError, ShapeError
from drizzlekit.stats import image_stats
from drizzlekit.steps import SkyInput, compute_sky

RNG = np.random.default_rng(11)
STATS = dict(nclip=5, lsig=4.0, usig=4.0, binwidth=0.1)


def noisy(level, sigma, shape=(80, 90)):
    return (level + RNG.normal(0, sigma, shape)).astype(np.float32)


def tile_wcs(x0, y0=0.0, scale=0.1, shape=(100, 100)):
    """TAN WCS of a tile whose 0-based pixel (0, 0) is global pixel (x0, y0).

    ``scale`` in arcsec; global pixels are 0.1 arcsec, so a coarser tile of
    scale s covers s/0.1 global pixels per pixel.
    """
    f = scale / 0.1
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [30.0, -20.0]
    w.wcs.crpix = [(1000.0 - x0) / f + 1, (1000.0 - y0) / f + 1]
    w.wcs.cd = np.array([[-scale, 0.0], [0.0, scale]]) / 3600.0
    w.wcs.set()
    w.pixel_shape = shape[::-1]
    return w


def median_of(data, mask=None):
    vals = data if mask is None else data[mask]
    return image_stats(vals, fields="median", **STATS).median


# -- localmin / globalmin ----------------------------------------------------
@pytest.fixture
def mixed_chips():
    """Two exposures: e1 = 2 chips of counts (0.05"/pix, 100 s), e2 = 1 chip in e-/s (0.1")."""
    return [
        SkyInput(noisy(200.0, 3.0), "e1", exptime=100.0, in_units="counts", idcscale=0.05),
        SkyInput(noisy(230.0, 3.0), "e1", exptime=100.0, in_units="counts", idcscale=0.05),
        SkyInput(noisy(3.0, 0.05), "e2", exptime=50.0, in_units="cps", idcscale=0.1),
    ]


def test_localmin_different_scales_and_units(mixed_chips):
    sky = compute_sky(mixed_chips, skymethod="localmin")
    m = [median_of(c.data) for c in mixed_chips]
    # e1: brightness m/0.05^2/100 for both chips, the lower one wins
    np.testing.assert_allclose(sky, [min(m[0], m[1])] * 2 + [m[2]], rtol=1e-6)
    np.testing.assert_allclose(sky, [200, 200, 3], rtol=0.01)


def test_globalmin_converts_between_chips(mixed_chips):
    sky = compute_sky(mixed_chips, skymethod="globalmin")
    m = [median_of(c.data) for c in mixed_chips]
    b = [m[0] / 0.05**2 / 100, m[1] / 0.05**2 / 100, m[2] / 0.1**2]
    assert np.argmin(b) == 2  # the e-/s chip has the darkest sky (~300 vs ~800)
    np.testing.assert_allclose(sky, [b[2] * 0.05**2 * 100] * 2 + [m[2]], rtol=1e-6)
    np.testing.assert_allclose(sky[:2], 3.0 / 0.1**2 * 0.05**2 * 100, rtol=0.01)


@pytest.mark.parametrize("skystat", ["median", "mode", "mean"])
def test_statistics(skystat, mixed_chips):
    sky = compute_sky(mixed_chips, skymethod="localmin", skystat=skystat)
    np.testing.assert_allclose(sky, [200, 200, 3], rtol=0.02)


def test_mask_and_limits():
    data = noisy(50.0, 1.0, (60, 60))
    data[:20] = 5000.0  # a bright galaxy
    mask = np.ones(data.shape, bool)
    mask[:20] = False
    plain = compute_sky([SkyInput(data, idcscale=0.1, in_units="cps")], skystat="mean",
                        nclip=0)
    masked = compute_sky([SkyInput(data, mask=mask, idcscale=0.1, in_units="cps")],
                         skystat="mean", nclip=0)
    limited = compute_sky([SkyInput(data, idcscale=0.1, in_units="cps")], skystat="mean",
                          nclip=0, upper=100.0)
    assert plain[0] > 1000
    assert masked[0] == pytest.approx(data[20:].astype(np.float64).mean(), rel=1e-6)
    assert limited[0] == pytest.approx(masked[0], rel=1e-6)


def test_chips_without_valid_pixels(caplog):
    bad = SkyInput(noisy(10.0, 1.0, (20, 20)), "a", mask=np.zeros((20, 20), bool),
                   idcscale=0.1, in_units="cps")
    good = SkyInput(noisy(12.0, 1.0, (20, 20)), "a", idcscale=0.1, in_units="cps")
    lonely = SkyInput(np.full((20, 20), np.nan), "b", idcscale=0.1, in_units="cps")
    with caplog.at_level(logging.WARNING):
        sky = compute_sky([bad, good, lonely])
    assert "no valid pixels" in caplog.text
    assert sky[0] == sky[1] == pytest.approx(median_of(good.data)) and sky[2] == 0.0


# -- match ----------------------------------------------------------------------
def tiles(levels, scales=(0.1, 0.1, 0.1), sigma=0.3):
    """Three 100x100-pixel tiles, 60 global pixels apart: 0-1 and 1-2 overlap."""
    out = []
    for k, (level, scale) in enumerate(zip(levels, scales)):
        n = int(round(100 * 0.1 / scale))
        per_pixel = level * (scale / 0.1) ** 2  # same surface brightness per arcsec^2
        out.append(SkyInput(noisy(per_pixel, sigma, (n, n)), f"exp{k}",
                            wcs=tile_wcs(60.0 * k, scale=scale, shape=(n, n)),
                            exptime=1.0, in_units="cps", idcscale=scale))
    return out


@pytest.mark.parametrize("step", [1, 4])
def test_match_recovers_offsets(step):
    chips = tiles([10.0, 13.0, 7.0])
    sky = compute_sky(chips, skymethod="match", overlap_step=step)
    np.testing.assert_allclose(sky, [3.0, 6.0, 0.0], atol=0.03)


def test_match_with_different_pixel_scales():
    chips = tiles([10.0, 13.0, 7.0], scales=(0.1, 0.1, 0.2))
    sky = compute_sky(chips, skymethod="match", overlap_step=2)
    # tile 2 has pixels 4x larger: 0 per pixel; tiles 0/1 in their own units
    np.testing.assert_allclose(sky, [3.0, 6.0, 0.0], atol=0.05)
    both = compute_sky(chips, skymethod="globalmin+match", overlap_step=2)
    np.testing.assert_allclose(both, [10.0, 13.0, 28.0], rtol=0.01)


def test_globalmin_plus_match():
    chips = tiles([10.0, 13.0, 7.0])
    sky = compute_sky(chips, skymethod="globalmin+match")
    np.testing.assert_allclose(sky, [10.0, 13.0, 7.0], atol=0.05)


def test_match_multichip_exposures_and_counts():
    """Exposure 1 has two chips side by side, one in counts (2 s)."""
    left = SkyInput(noisy(2 * 20.0, 0.3, (100, 50)), "e1", wcs=tile_wcs(0.0, shape=(100, 50)),
                    exptime=2.0, in_units="counts", idcscale=0.1)
    right = SkyInput(noisy(20.0, 0.3, (100, 50)), "e1", wcs=tile_wcs(50.0, shape=(100, 50)),
                     exptime=1.0, in_units="cps", idcscale=0.1)
    other = SkyInput(noisy(15.0, 0.3), "e2", wcs=tile_wcs(30.0, 40.0, shape=(80, 90)),
                     exptime=1.0, in_units="cps", idcscale=0.1)
    sky = compute_sky([left, right, other], skymethod="match")
    np.testing.assert_allclose(sky, [2 * 5.0, 5.0, 0.0], atol=0.05)


def test_match_disconnected_groups(caplog):
    a = tiles([10.0, 13.0, 7.0])[:2]
    b = [SkyInput(c.data + 100.0, f"far{k}", wcs=tile_wcs(5000.0 + 60 * k), exptime=1.0,
                  in_units="cps", idcscale=0.1) for k, c in enumerate(a)]
    with caplog.at_level(logging.WARNING):
        sky = compute_sky(a + b, skymethod="match")
    assert "disconnected" in caplog.text
    assert sky[1] - sky[0] == pytest.approx(3.0, abs=0.03)
    assert sky[3] - sky[2] == pytest.approx(3.0, abs=0.03)
    assert min(sky) == 0.0


def test_match_fallbacks(caplog):
    chips = tiles([10.0, 13.0, 7.0])
    one = [chips[0]]
    with caplog.at_level(logging.WARNING):
        sky = compute_sky(one, skymethod="match")
    assert "falling back" in caplog.text
    assert sky[0] == pytest.approx(median_of(chips[0].data))
    with pytest.raises(InputError, match="two exposures"):
        compute_sky(one, skymethod="match", fallback=False)
    apart = [chips[0], SkyInput(chips[2].data, "x", wcs=tile_wcs(500.0), idcscale=0.1,
                                in_units="cps")]
    with pytest.raises(NoOverlapError, match="overlap"):
        compute_sky(apart, skymethod="globalmin+match", fallback=False)
    sky = compute_sky(apart, skymethod="globalmin+match")  # -> globalmin
    assert sky[0] == sky[1] == pytest.approx(median_of(chips[2].data))


def _per_chip(chips, step, **kw):
    """Every chip's overlap and whole-chip statistics, as Dask workers compute them
    (the other chips as WCS and shape only)."""
    from drizzlekit.steps.sky import sky_statistic
    from drizzlekit.steps.sky_match import overlap_statistics

    exps = list(dict.fromkeys(c.exposure for c in chips))
    frames = [[(c.wcs, c.data.shape) for c in chips if c.exposure == e] for e in exps]
    overlaps = [overlap_statistics(c, [() if e == c.exposure else f
                                       for e, f in zip(exps, frames)], overlap_step=step, **kw)
                for c in chips]
    return overlaps, [sky_statistic(c, **kw) for c in chips]


@pytest.mark.parametrize("skymethod", ["match", "globalmin+match"])
@pytest.mark.parametrize("skystat", ["median", "mode"])
def test_precomputed_overlaps_give_the_same_skies(skymethod, skystat):
    """compute_sky from per-chip statistics (no pixels) equals the full computation
    bit for bit."""
    chips = tiles([10.0, 13.0, 7.0], scales=(0.1, 0.1, 0.2))
    chips.append(SkyInput(noisy(15.0, 0.3, (40, 30)), "exp1", wcs=tile_wcs(120.0, 10.0,
                          shape=(40, 30)), exptime=2.0, in_units="counts", idcscale=0.1))
    kw = dict(skystat=skystat, nclip=3)
    ref = compute_sky(chips, skymethod=skymethod, overlap_step=3, **kw)
    overlaps, stats = _per_chip(chips, 3, **kw)
    assert overlaps[0][0] is None and overlaps[0][1] is not None  # own exposure: None
    bare = [SkyInput(np.zeros((0, 0)), c.exposure, exptime=c.exptime, in_units=c.in_units,
                     idcscale=c.idcscale) for c in chips]
    got = compute_sky(bare, skymethod=skymethod, overlap_step=3, overlaps=overlaps,
                      statistics=stats, **kw)
    np.testing.assert_array_equal(got, ref)


def test_precomputed_statistics_are_read_only_on_fallback():
    class Counted(list):
        reads = 0

        def __getitem__(self, k):
            Counted.reads += 1
            return list.__getitem__(self, k)

    chips = tiles([10.0, 13.0, 7.0])
    overlaps, stats = _per_chip(chips, 4)
    compute_sky(chips, skymethod="match", overlaps=overlaps, statistics=Counted(stats))
    assert Counted.reads == 0
    apart = [chips[0], SkyInput(chips[2].data, "x", wcs=tile_wcs(500.0), idcscale=0.1,
                                in_units="cps")]
    overlaps, stats = _per_chip(apart, 4)
    assert overlaps == [[None, None], [None, None]]
    sky = compute_sky(apart, skymethod="match", overlaps=overlaps, statistics=Counted(stats))
    assert Counted.reads > 0  # localmin from the given statistics
    np.testing.assert_array_equal(sky, compute_sky(apart, skymethod="match"))
    with pytest.raises(ShapeError, match="overlaps"):
        compute_sky(apart, skymethod="match", overlaps=overlaps[:1])
    with pytest.raises(ShapeError, match=r"overlaps\[1\]"):
        compute_sky(apart, skymethod="match", overlaps=[[None, None], [None]])


# -- bad input ------------------------------------------------------------------
def test_bad_input():
    ok = SkyInput(np.zeros((5, 5)), idcscale=0.1)
    with pytest.raises(InputError, match="inputs"):
        compute_sky([])
    with pytest.raises(ParameterError, match="skymethod"):
        compute_sky([ok], skymethod="lowest")
    with pytest.raises(ParameterError, match="skystat"):
        compute_sky([ok], skystat="midpt")
    with pytest.raises(ParameterError, match="overlap_step"):
        compute_sky([ok], overlap_step=0)
    with pytest.raises(ShapeError, match=r"inputs\[1\].mask"):
        compute_sky([ok, SkyInput(np.zeros((5, 5)), mask=np.ones((4, 5)), idcscale=0.1)])
    with pytest.raises(ShapeError, match=r"inputs\[0\].data"):
        compute_sky([SkyInput(np.zeros(5), idcscale=0.1)])
    with pytest.raises(InputError, match="in_units"):
        compute_sky([SkyInput(np.zeros((5, 5)), in_units="electrons", idcscale=0.1)])
    with pytest.raises(InputError, match="exptime"):
        compute_sky([SkyInput(np.zeros((5, 5)), exptime=0.0, idcscale=0.1)])
    with pytest.raises(InputError, match="idcscale or wcs"):
        compute_sky([SkyInput(np.zeros((5, 5)))])
    with pytest.raises(InputError, match=r"inputs\[0\].wcs"):
        compute_sky([ok, ok], skymethod="match")


def test_corrected_mode_placement_is_less_biased():
    """Why stats_compat defaults to False: on frames with a known sky the mode of
    drizzlepac's placement sits further below the truth (README)."""
    rng = np.random.default_rng(5)
    err = {False: [], True: []}
    for _ in range(12):
        sky = rng.uniform(20.0, 80.0)
        data = rng.normal(sky, np.sqrt(sky + 25.0), 40_000)
        for compat in (False, True):
            st = image_stats(data, nclip=5, lsig=4.0, usig=4.0, binwidth=0.1, fields="mode",
                             compat=compat)
            err[compat].append(st.mode - sky)
    assert abs(np.mean(err[False])) < abs(np.mean(err[True]))
    assert np.mean(np.subtract(err[True], err[False])) < 0  # compat always sits lower
