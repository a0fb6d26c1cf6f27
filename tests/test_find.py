"""Source finding (drizzlekit.align.find): imagefindpars on photutils, cosmic rays."""

import math

import numpy as np
import pytest
from photutils.detection import DAOStarFinder

from drizzlekit.align.find import (default_cr_minwidth, find_chip_sources, find_sources,
                                   pixel_noise, sky_stats, source_widths)
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import InputError, NonFiniteError, ParameterError, ShapeError
from drizzlekit.io.fits_input import read_exposure


@pytest.fixture(scope="module")
def crowded_crs():
    """Three 256x256 frames with ~150 cosmic-ray events each (more CRs than stars)."""
    out = []
    for seed, fwhm in ((1, 2.0), (2, 1.6), (3, 2.5)):
        sim = simulate_dither(n_exposures=1, shape=(256, 256), n_stars=60, n_galaxies=10,
                              cr_rate=5e-6, seed=seed, psf_fwhm=fwhm)
        h = sim.hdulists[0]
        t = sim.truth
        sx, sy = t.wcs[0][0].all_world2pix(t.catalog["ra"], t.catalog["dec"], 0)
        out.append((h["SCI", 1].data, h["DQ", 1].data, sx, sy, t.cr_masks[0][0]))
    return out


def _label(cat, sx, sy, crmask, radius=1.0):
    x, y = np.asarray(cat["x"]), np.asarray(cat["y"])
    d = np.hypot(x[:, None] - sx[None], y[:, None] - sy[None])
    true = d.min(axis=1) < radius
    ix = np.clip(np.rint(x).astype(int), 0, crmask.shape[1] - 1)
    iy = np.clip(np.rint(y).astype(int), 0, crmask.shape[0] - 1)
    cr = crmask[iy, ix] & ~true
    return true, cr, d


def test_finds_most_stars_and_few_cosmic_rays(crowded_crs):
    for data, dq, sx, sy, crmask in crowded_crs:
        ny, nx = data.shape
        inner = (sx > 4) & (sx < nx - 5) & (sy > 4) & (sy < ny - 5)
        cat = find_sources(data, dq=dq, dqbits=0)
        true, cr, d = _label(cat, sx, sy, crmask)
        found = (d.min(axis=0) < 1.0) & inner
        assert found.sum() >= 0.9 * inner.sum()
        # the brightest sources are real: at most 2 cosmic rays among the 30 brightest
        assert cr[:30].sum() <= 2
        assert cat.meta["n_cosmic_rays"] > 50  # many CR detections were rejected
        # without the cosmic-ray test, cosmic rays outnumber the stars
        raw = find_sources(data, dq=dq, dqbits=0, cr_minwidth=0)
        _, cr_raw, _ = _label(raw, sx, sy, crmask)
        assert cr_raw.sum() > 5 * max(cr.sum(), 1)
        assert cr_raw.sum() > 50


def test_centroids_match_truth(crowded_crs):
    data, dq, sx, sy, crmask = crowded_crs[0]
    cat = find_sources(data, dq=dq, dqbits=0)
    true, _, d = _label(cat, sx, sy, crmask)
    bright = true & (np.arange(len(cat)) < 30)
    err = d.min(axis=1)[bright]
    assert np.sqrt(np.mean(err ** 2)) < 0.1  # pixels


def test_same_positions_as_photutils():
    """The imagefindpars mapping: threshold*sigma, fwhm=conv_width, sigma_radius=nsigma."""
    sim = simulate_dither(n_exposures=1, shape=(200, 200), n_stars=40, cr_rate=0, seed=7)
    data = sim.hdulists[0]["SCI", 1].data.astype(float)
    cat = find_sources(data, conv_width=3.0, threshold=5.0, nsigma=2.0, cr_minwidth=0,
                       min_separation=0, exclude_border=False)
    sky = cat.meta["sky"]
    ref = DAOStarFinder(5.0 * cat.meta["sigma"], 3.0, sigma_radius=2.0, min_separation=0,
                        sharpness_range=None, roundness_range=None)(data - sky)
    assert len(ref) == len(cat) > 20
    order = np.argsort(-np.asarray(ref["flux"]))
    np.testing.assert_allclose(cat["x"], np.asarray(ref["x_centroid"])[order], atol=1e-9)
    np.testing.assert_allclose(cat["y"], np.asarray(ref["y_centroid"])[order], atol=1e-9)
    np.testing.assert_allclose(cat["flux"], np.asarray(ref["flux"])[order], rtol=1e-9)


def test_sky_stats_follows_drizzlepac_rule():
    rng = np.random.default_rng(0)
    img = rng.poisson(100.0, (300, 300)).astype(float)  # electrons: variance = sky
    s = sky_stats(img)
    assert s.mode == pytest.approx(100.0, abs=1.5)
    assert s.sigma == pytest.approx(math.sqrt(2 * 100.0), rel=0.02)  # sqrt(2|mode|)
    assert s.std == pytest.approx(10.0, rel=0.03)  # the measured noise
    # sky-subtracted data: sqrt(2|mode|) ~ 0 would detect noise; the pixel noise is used
    s0 = sky_stats(img - 100.0)
    assert s0.sigma == pytest.approx(10.0, rel=0.03)
    s1 = sky_stats(img, computesig=False, skysigma=3.0)
    assert s1.sigma == 3.0
    with pytest.raises(InputError, match="skysigma"):
        sky_stats(img, computesig=False, skysigma=0.0)
    assert pixel_noise(img) == pytest.approx(10.0, rel=0.03)


def _gauss_image(shape, stars, sigma=1.0, sky=10.0, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    img = np.full(shape, sky) + rng.normal(0, noise, shape)
    for x, y, amp in stars:
        img += amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))
    return img


def test_dq_bits_masking():
    img = _gauss_image((80, 80), [(20.3, 30.1, 500.0), (60.2, 50.7, 400.0)])
    dq = np.zeros(img.shape, np.int16)
    dq[45:57, 55:66] = 16  # covers the second star
    kw = dict(computesig=False, skysigma=1.0, conv_width=2.5)
    assert len(find_sources(img, dq=dq, dqbits=None, **kw)) == 2  # DQ not used
    only_first = find_sources(img, dq=dq, dqbits=0, **kw)  # any flag is bad
    assert len(only_first) == 1 and abs(only_first["x"][0] - 20.3) < 0.2
    assert len(find_sources(img, dq=dq, dqbits=16, **kw)) == 2  # flag 16 ignored
    assert len(find_sources(img, dq=dq, dqbits="~16", **kw)) == 1


def test_flux_peak_limits_and_nbright():
    stars = [(15 + 12 * k, 20 + 9 * (k % 5), 50.0 * (k + 1)) for k in range(9)]
    img = _gauss_image((80, 130), stars)
    kw = dict(computesig=False, skysigma=1.0, conv_width=2.5)
    full = find_sources(img, **kw)
    assert len(full) == 9
    assert np.all(np.diff(full["flux"]) <= 0)  # brightest first
    f = np.sort(np.asarray(full["flux"]))
    lo, hi = 0.5 * (f[1] + f[2]), 0.5 * (f[6] + f[7])
    cut = find_sources(img, fluxmin=lo, fluxmax=hi, **kw)
    assert len(cut) == 5 and np.all((cut["flux"] >= lo) & (cut["flux"] <= hi))
    pk = np.sort(np.asarray(full["peak"]))
    pcut = find_sources(img, peakmin=0.5 * (pk[0] + pk[1]), peakmax=0.5 * (pk[-1] + pk[-2]),
                        **kw)
    assert len(pcut) == 7
    top = find_sources(img, nbright=3, **kw)
    np.testing.assert_allclose(top["flux"], full["flux"][:3])


def test_sharp_round_cuts_and_iraf_finder():
    # a round star and an elongated source
    yy, xx = np.mgrid[0:60, 0:90]
    img = 10 + np.random.default_rng(1).normal(0, 1.0, (60, 90))
    img += 400 * np.exp(-((xx - 20) ** 2 + (yy - 30) ** 2) / (2 * 1.0 ** 2))
    img += 400 * np.exp(-((xx - 60) ** 2 / (2 * 4.0 ** 2) + (yy - 30) ** 2 / (2 * 0.8 ** 2)))
    kw = dict(computesig=False, skysigma=1.0, conv_width=2.5, threshold=10.0)
    loose = find_sources(img, **kw)
    strict = find_sources(img, use_sharp_round=True, roundlo=-0.3, roundhi=0.3, **kw)
    assert len(strict) < len(loose)
    assert np.all(np.abs(strict["x"] - 20) < 1.0)
    iraf = find_sources(img, finder="iraf", **kw)
    assert np.any(np.hypot(iraf["x"] - 20, iraf["y"] - 30) < 0.3)


def test_source_widths_analytic():
    img = np.zeros((21, 21))
    img[10, 10] = 100.0  # hot pixel
    img[3, 2:9] = 100.0  # horizontal track
    w = source_widths(img, [10.0, 5.0], [10.0, 3.0], sigma=1e-3)
    np.testing.assert_allclose(w, [0.0, 0.0], atol=1e-12)
    # a pixel-sampled Gaussian centred on a pixel: sqrt(2e / (1 + 2e)), e = exp(-1/(2 s^2))
    for s in (0.6, 0.9, 1.3):
        yy, xx = np.mgrid[0:21, 0:21]
        g = np.exp(-((xx - 10) ** 2 + (yy - 10) ** 2) / (2 * s * s))
        e = math.exp(-1 / (2 * s * s))
        assert source_widths(g, [10.2], [9.8], sigma=1e-9)[0] == \
            pytest.approx(math.sqrt(2 * e / (1 + 2 * e)), rel=1e-9)
    assert default_cr_minwidth(3.5) == 0.4
    assert default_cr_minwidth(2.0) < 0.4  # undersampled PSF: a lower limit


def test_empty_and_bad_inputs():
    rng = np.random.default_rng(2)
    blank = rng.normal(100, 10, (64, 64))
    cat = find_sources(blank, threshold=10.0)
    assert len(cat) == 0 and {"x", "y", "flux"} <= set(cat.colnames)
    with pytest.raises(ShapeError, match="data"):
        find_sources(np.zeros((4, 4, 4)))
    with pytest.raises(ShapeError, match="mask"):
        find_sources(blank, mask=np.zeros((3, 3), bool))
    with pytest.raises(ShapeError, match="dq"):
        find_sources(blank, dq=np.zeros((3, 3), np.int16), dqbits=0)
    with pytest.raises(InputError, match="masked"):
        find_sources(blank, mask=np.ones(blank.shape, bool))
    with pytest.raises(ParameterError, match="finder"):
        find_sources(blank, finder="sextractor")
    with pytest.raises(ParameterError, match="conv_width"):
        find_sources(blank, conv_width=-1)
    with pytest.raises(ParameterError, match="nbright"):
        find_sources(blank, nbright=0)
    with pytest.raises(InputError, match="skysigma"):
        find_sources(blank, computesig=False, skysigma=0.0)


def test_find_chip_sources_names_the_chip():
    sim = simulate_dither(n_exposures=1, shape=(96, 96), n_stars=15, seed=4)
    exp = read_exposure(sim.hdulists[0])
    chip = exp.chips[0]
    cat = find_chip_sources(chip, dqbits=0, threshold=5.0, unknown_tweakreg_par=1)
    assert len(cat) >= 5 and cat.meta["chip"] == chip.name
    chip.sci[:] = np.nan
    with pytest.raises(NonFiniteError, match=r"SCI,1"):
        find_chip_sources(chip)
