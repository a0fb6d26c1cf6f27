"""final_err: the inputs' ERR arrays propagated into a drizzled ERR (issue 13 item 2).

Analytic cases (constant variance, exact overlap) and Monte-Carlo checks
against the measured scatter of many noise realisations.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import StdDevUncertainty
from astropy.wcs import WCS

import drizzlekit as dk
from drizzlekit.exceptions import InputError
from drizzlekit.steps.drizzle_steps import DrizzleInput, drizzle_chips

from tests.helpers import shift_pixmap

SHAPE = (40, 44)
PSCALE = 0.05  # arcsec/pixel, input and output


def _out_wcs(shape=SHAPE):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    w.wcs.cdelt = [-PSCALE / 3600, PSCALE / 3600]
    w.pixel_shape = (shape[1], shape[0])
    return w


def _chip(data, err, shift, exptime=100.0, in_units="counts", mask=None, eff_gain=1.0):
    return DrizzleInput(data=data, wcs=None, exptime=exptime, in_units=in_units,
                        eff_gain=eff_gain, err=err, mask=mask, pscale=PSCALE,
                        pixmap=shift_pixmap(np.shape(data), *shift), name=f"chip{shift}")


INNER = (slice(6, -6), slice(6, -6))
SHIFTS = [(0, 0), (2, 1), (-1, 3), (3, -2)]


def test_constant_variance_exact_overlap_gives_sigma_over_sqrt_n():
    """N exposures of ERR = sigma counts, EXPTIME t: ERR_out = sigma / (t sqrt(N)) e-/s."""
    sigma, t = 7.0, 100.0
    chips = [_chip(np.full(SHAPE, 50.0, np.float32), np.full(SHAPE, sigma, np.float32), s,
                   exptime=t) for s in SHIFTS]
    prod = drizzle_chips(chips, _out_wcs(), variance=True, context=False)
    err = np.sqrt(prod.var[INNER])
    np.testing.assert_allclose(err, sigma / t / np.sqrt(len(SHIFTS)), rtol=1e-2)
    # without the switch nothing changes and there is no variance
    plain = drizzle_chips(chips, _out_wcs(), context=False)
    assert plain.var is None
    np.testing.assert_array_equal(plain.sci, prod.sci)
    np.testing.assert_array_equal(plain.wht, prod.wht)
    # no weight: NaN
    assert np.all(np.isnan(prod.var[prod.wht == 0]))


def test_unequal_exptimes_and_err_weights():
    """EXP weights: V = sum(sigma_i^2) / (sum t_i)^2; ERR weights: 1/V = sum(1/v_i)."""
    ts = [50.0, 100.0, 200.0]
    sig = [3.0, 5.0, 11.0]  # counts
    chips = [_chip(np.full(SHAPE, 1.0, np.float32), np.full(SHAPE, s, np.float32), sh,
                   exptime=t) for t, s, sh in zip(ts, sig, SHIFTS)]
    exp = drizzle_chips(chips, _out_wcs(), variance=True, context=False, wht_type="EXP")
    want = np.sum(np.square(sig)) / np.sum(ts) ** 2
    np.testing.assert_allclose(exp.var[INNER], want, rtol=1e-5)
    errw = drizzle_chips(chips, _out_wcs(), variance=True, context=False, wht_type="ERR")
    want = 1.0 / np.sum([(t / s) ** 2 for t, s in zip(ts, sig)])
    np.testing.assert_allclose(errw.var[INNER], want, rtol=1e-5)
    # rate data: ERR already in e-/s, x eff_gain
    rate = [_chip(np.ones(SHAPE, np.float32), np.full(SHAPE, 0.2, np.float32), sh,
                  in_units="cps", eff_gain=2.0) for sh in SHIFTS[:2]]
    prod = drizzle_chips(rate, _out_wcs(), variance=True, context=False)
    np.testing.assert_allclose(np.sqrt(prod.var[INNER]), 0.4 / np.sqrt(2), rtol=1e-5)


def _monte_carlo(shifts, pixfrac, n_real=150, sigma=4.0, seed=3):
    rng = np.random.default_rng(seed)
    errs = [np.full(SHAPE, sigma, np.float32)] * len(shifts)
    outs, var = [], None
    for _ in range(n_real):
        chips = [_chip(rng.normal(0.0, sigma, SHAPE).astype(np.float32), e, s, exptime=1.0)
                 for e, s in zip(errs, shifts)]
        prod = drizzle_chips(chips, _out_wcs(), variance=True, context=False,
                             pixfrac=pixfrac)
        outs.append(prod.sci)
        var = prod.var
    return np.array(outs), var


@pytest.mark.parametrize("pixfrac", [1.0, 0.6])
def test_err_matches_scatter_of_noise_realisations(pixfrac):
    """Per pixel, the drizzled ERR is the standard deviation of the drizzled noise."""
    shifts = [(0.0, 0.0), (0.5, 0.25), (0.25, 0.5), (0.75, 0.75)]  # sub-pixel dithers
    outs, var = _monte_carlo(shifts, pixfrac)
    measured = outs[:, INNER[0], INNER[1]].var(axis=0, ddof=1)
    ratio = measured / var[INNER]
    # 150 realisations: each pixel's ratio scatters by ~12 %, their mean by < 1 %
    assert abs(np.mean(ratio) - 1.0) < 0.03
    assert abs(np.median(ratio) - 1.0) < 0.05
    if pixfrac == 1.0:
        # the pixel-to-pixel scatter of the images matches the ERR too
        spatial = np.mean([o[INNER].std(ddof=1) for o in outs])
        assert abs(spatial / np.sqrt(np.mean(var[INNER])) - 1.0) < 0.03
        # known caveat (documented in drizzlekit.steps.variance): sub-pixel dithers
        # correlate neighbouring output pixels, so sums over apertures are noisier
        # than sqrt(sum of the variances)
        box = outs[:, 10:30:2, 10:30:2] + outs[:, 11:31:2, 10:30:2] + \
            outs[:, 10:30:2, 11:31:2] + outs[:, 11:31:2, 11:31:2]
        predicted = np.sqrt(4 * np.mean(var[INNER]))
        assert box.std() / predicted > 1.1


def test_exact_overlap_has_no_correlation():
    """pixfrac = 1 on integer dithers: output pixels are independent, boxes add up."""
    outs, var = _monte_carlo(SHIFTS, 1.0, n_real=60)
    box = outs[:, 10:30:2, 10:30:2] + outs[:, 11:31:2, 10:30:2] + \
        outs[:, 10:30:2, 11:31:2] + outs[:, 11:31:2, 11:31:2]
    assert abs(box.std() / np.sqrt(4 * np.mean(var[INNER])) - 1.0) < 0.05


def test_missing_or_bad_err_is_an_error():
    good = np.full(SHAPE, 2.0, np.float32)
    data = np.ones(SHAPE, np.float32)
    with pytest.raises(InputError, match="no ERR"):
        drizzle_chips([_chip(data, None, (0, 0))], _out_wcs(), variance=True)
    bad = good.copy()
    bad[5, 5] = np.nan
    bad[6, 6] = -1.0
    with pytest.raises(InputError, match="2 good pixel"):
        drizzle_chips([_chip(data, good, (0, 0)), _chip(data, bad, (1, 0))], _out_wcs(),
                      variance=True)
    # masked bad values are fine (and ERR weighting gives them zero weight anyway)
    mask = np.ones(SHAPE, bool)
    mask[5, 5] = mask[6, 6] = False
    prod = drizzle_chips([_chip(data, bad, (0, 0), mask=mask)], _out_wcs(), variance=True)
    assert np.isnan(prod.var[5, 5]) and np.isfinite(prod.var[10, 10])
    drizzle_chips([_chip(data, bad, (0, 0))], _out_wcs(), variance=True, wht_type="ERR")


# -- the pipeline ---------------------------------------------------------------
SIGMA, T, N = 5.0, 100.0, 3


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from drizzlekit.datasets import simulate_dither

    d = tmp_path_factory.mktemp("final_err")
    sim = simulate_dither(n_exposures=N, shape=SHAPE, n_chips=1,
                          dithers=[[0, 0], [3, 1], [-2, 4]], sip=False, n_stars=0,
                          n_galaxies=0, cr_rate=0.0, bad_pixel_fraction=0.0, seed=1,
                          outdir=d, exptime=T)
    for f in sim.filenames:
        with fits.open(f, mode="update") as h:
            h["ERR"].data[:] = SIGMA
    return d, sim.filenames


def _run(inputs, name, **kw):
    d, files = inputs
    return dk.astrodrizzle(files, str(d / name), runfile="", progress=False,
                           skysub=False, driz_separate=False, median=False, blot=False,
                           driz_cr=False, final_wcs=True,
                           final_refimage=str(files[0]) + "[sci,1]", **kw)


def test_pipeline_err_product(inputs):
    res = _run(inputs, "rate", final_err=True, build=True)
    full = res.wht > (N - 0.01) * T  # pixels every exposure covers
    assert full.sum() > 500
    np.testing.assert_allclose(res.err[full], SIGMA / T / np.sqrt(N), rtol=1e-2)
    with fits.open(res.output) as h:
        assert [x.name for x in h] == ["PRIMARY", "SCI", "WHT", "CTX", "ERR"]
        assert h["ERR"].header["BUNIT"] == h["SCI"].header["BUNIT"] == res.bunit
        assert h[0].header["NEXTEND"] == 4
        np.testing.assert_array_equal(h["ERR"].data, res.err)
    np.testing.assert_allclose(res.var, res.err.astype(np.float64) ** 2, rtol=1e-6)
    ccd = res.to_nddata()
    std = ccd.uncertainty.represent_as(StdDevUncertainty)
    np.testing.assert_allclose(std.array[full], res.err[full], rtol=1e-6)
    # the SCI is the one of a run without the switch
    plain = _run(inputs, "plain", build=True)
    assert plain.err is None and plain.var is None
    np.testing.assert_array_equal(plain.sci, res.sci)
    with fits.open(plain.output) as h:
        assert "ERR" not in h


def test_pipeline_err_in_counts_and_separate_files(inputs):
    res = _run(inputs, "counts", final_err=True, final_units="counts", build=False)
    full = res.wht > (N - 0.01) * T
    # x texptime = N t: sigma * sqrt(N) electrons
    np.testing.assert_allclose(res.err[full], SIGMA * np.sqrt(N), rtol=1e-2)
    err_file = [f for f in res.files_written if f.endswith("_err.fits")]
    assert len(err_file) == 1
    with fits.open(err_file[0]) as h:
        assert h[0].header["BUNIT"] == res.bunit == "ELECTRONS"
        np.testing.assert_array_equal(h[0].data, res.err)
