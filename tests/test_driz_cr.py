"""driz_cr (spec §9; acceptance test §12 item 12) and qderiv (table of §9.1)."""

import numpy as np
import pytest
from scipy import signal

from drizzlekit.exceptions import ParameterError, ShapeError
from drizzlekit.steps import cr_clean, driz_cr, qderiv

SKY, RN = 100.0, 5.0
NOISE = np.sqrt(SKY + RN**2)  # sky_in_model: the blot holds the sky, bg not added again


# -- qderiv -------------------------------------------------------------------------
def table_deriv(a):
    """§9.1 table, one pixel at a time."""
    ny, nx = a.shape
    out = np.zeros(a.shape)
    for r in range(ny):
        for c in range(nx):
            nb = [
                a[r, c - 1] if (r <= ny - 2 and 1 <= c <= nx - 2) else 0.0,   # left
                a[r, c + 1] if (r <= ny - 2 and c <= nx - 3) else 0.0,        # right
                a[r - 1, c] if (1 <= r <= ny - 2 and c <= nx - 2) else 0.0,   # down
                a[r + 1, c] if (r <= ny - 3 and c <= nx - 2) else 0.0,        # up
            ]
            out[r, c] = max(abs(a[r, c] - v) for v in nb)
    return out.astype(np.float32)


def nearest_deriv(a):
    ny, nx = a.shape
    out = np.zeros(a.shape)
    for r in range(ny):
        for c in range(nx):
            nbs = [a[rr, cc] for rr, cc in ((r, c - 1), (r, c + 1), (r - 1, c), (r + 1, c))
                   if 0 <= rr < ny and 0 <= cc < nx]
            out[r, c] = max(abs(a[r, c] - v) for v in nbs)
    return out


@pytest.mark.parametrize("shape", [(6, 7), (5, 5), (9, 4)])
def test_qderiv_reference_table(shape):
    a = np.random.default_rng(1).normal(50, 10, shape)
    np.testing.assert_array_equal(qderiv(a, "reference"), table_deriv(a))


def test_qderiv_nearest_and_interior():
    a = np.random.default_rng(2).normal(50, 10, (8, 9))
    near = qderiv(a, "nearest")
    np.testing.assert_allclose(near, nearest_deriv(a), rtol=1e-6)
    assert near.dtype == np.float32
    # interior pixels (1 <= r <= ny-3, 1 <= c <= nx-3): both agree
    np.testing.assert_array_equal(qderiv(a, "reference")[1:-2, 1:-2], near[1:-2, 1:-2])
    # reference borders compare with 0: |A| on the last row
    np.testing.assert_allclose(qderiv(a, "reference")[-1], np.abs(a[-1]).astype(np.float32))
    np.testing.assert_array_equal(qderiv(np.full((4, 4), 3.0)), 0)  # flat -> 0


# -- driz_cr ------------------------------------------------------------------------
def scene(shape=(48, 52)):
    blot = np.full(shape, SKY)
    return blot.copy(), blot


def cr_at(mask_shape, points):
    m = np.zeros(mask_shape, bool)
    for r, c in points:
        m[r, c] = True
    return m


def test_single_pixel_and_2x2():
    sci, blot = scene()
    sci[10, 10] += 200
    sci[20:22, 30:32] += 200
    cr = driz_cr(sci, blot, rdnoise=RN)
    want = cr_at(sci.shape, [(10, 10)])
    want[20:22, 30:32] = True
    np.testing.assert_array_equal(cr, want)


def test_pass_two_only_next_to_pass_one():
    sci, blot = scene()
    t1, t2 = 3.5 * NOISE, 3.0 * NOISE
    between = 0.5 * (t1 + t2)
    sci[10, 10] += 200                # pass-1 failure
    sci[10, 11] += between            # fails pass 2 only, next to it -> CR
    sci[30, 30] += between            # fails pass 2 only, isolated -> kept
    sci[12, 10] += between            # two rows away from the CR -> kept
    cr = driz_cr(sci, blot, rdnoise=RN)
    np.testing.assert_array_equal(cr, cr_at(sci.shape, [(10, 10), (10, 11)]))


@pytest.mark.parametrize("grow, offsets", [
    (1, [(0, 0)]),
    (2, [(0, 0), (0, 1), (1, 0), (1, 1)]),            # even width grows towards +x, +y
    (3, [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]),
])
def test_grow(grow, offsets):
    sci, blot = scene()
    sci[15, 20] += 300
    cr = driz_cr(sci, blot, rdnoise=RN, grow=grow)
    np.testing.assert_array_equal(cr, cr_at(sci.shape, [(15 + i, 20 + j) for i, j in offsets]))


@pytest.mark.parametrize("cte_dir, rows", [(1, [13, 14, 15]), (-1, [15, 16, 17]), (0, [15])])
def test_cte_tail(cte_dir, rows):
    sci, blot = scene()
    sci[15, 20] += 300
    cr = driz_cr(sci, blot, rdnoise=RN, ctegrow=2, cte_dir=cte_dir)
    np.testing.assert_array_equal(cr, cr_at(sci.shape, [(r, 20) for r in rows]))


def test_derivative_protects_stars():
    y, x = np.mgrid[:40, :40]
    star = 5000 * np.exp(-((x - 20) ** 2 + (y - 20) ** 2) / (2 * 1.2**2))
    shifted = 5000 * np.exp(-((x - 20.3) ** 2 + (y - 20) ** 2) / (2 * 1.2**2))
    blot, sci = SKY + star, SKY + shifted       # 0.3 pixel registration error
    assert not driz_cr(sci, blot, rdnoise=RN).any()
    assert driz_cr(sci, blot, rdnoise=RN, scale=(0.0, 0.0)).any()


def test_sky_in_model_and_noise_models():
    sci, blot = scene()
    sci[10, 10] += 45     # > 3.5*sqrt(100+25) = 39, < 3.0*sqrt(|100+400|+25) = 69
    kw = dict(rdnoise=RN, background=400.0, snr=(3.5, 3.0))
    assert not driz_cr(sci, blot, **kw)[10, 10]                       # default: drizzlepac (Q2)
    assert not driz_cr(sci, blot, noise_model="drizzlepac", **kw)[10, 10]
    assert driz_cr(sci, blot, noise_model="corrected", **kw)[10, 10]  # sky counted once
    assert not driz_cr(sci, blot, noise_model="corrected", sky_in_model=False,
                       **kw)[10, 10]                                  # sky counted twice
    # Q19: drizzlepac noise sqrt(g|B+bg| + rn^2)/g; with g=4 and bg=0: sqrt(425)/4 = 5.15
    sci2, blot2 = scene()
    sci2[10, 10] += 25
    assert driz_cr(sci2, blot2, rdnoise=RN, gain=4.0)[10, 10]
    assert not driz_cr(sci2, blot2, rdnoise=RN, gain=4.0,
                       noise_model="corrected")[10, 10]  # gain ignored: e- data
    with pytest.raises(ParameterError, match="noise_model"):
        driz_cr(sci, blot, noise_model="compat")


def test_corrected_thresholds_are_higher_and_its_default():
    from drizzlekit.steps.driz_cr import CORRECTED_SNR, DRIZZLEPAC_SNR
    assert DRIZZLEPAC_SNR == (3.5, 3.0)
    assert CORRECTED_SNR[0] > DRIZZLEPAC_SNR[0] and CORRECTED_SNR[1] > DRIZZLEPAC_SNR[1]
    sci, blot = scene()
    sci[10, 10] += 0.5 * (3.5 + CORRECTED_SNR[1]) * NOISE   # between the two pass-2 levels
    sci[10, 11] += 200.0
    assert driz_cr(sci, blot, rdnoise=RN, noise_model="corrected", snr=(3.5, 3.0))[10, 10]
    assert not driz_cr(sci, blot, rdnoise=RN, noise_model="corrected")[10, 10]


def reference_driz_cr(sci, blot, snr, scale, grow, ctegrow, cte_dir, gain, rn, bg):
    """§9 as drizzlepac computes it, with scipy's convolve2d (symmetric boundary)."""
    deriv = qderiv(blot, "reference")
    ta = np.sqrt(gain * np.abs(blot + bg) + rn * rn)
    ok1 = ~(np.abs(sci - blot) > scale[0] * deriv + snr[0] * ta / gain)
    n9 = signal.convolve2d(ok1.astype(int), np.ones((3, 3), int), boundary="symm", mode="same")
    good = ~((np.abs(sci - blot) > scale[1] * deriv + snr[1] * ta / gain) & (n9 < 9))
    g = signal.convolve2d(good.astype(int), np.ones((grow, grow), int), boundary="symm",
                          mode="same") >= grow * grow
    if ctegrow > 0 and cte_dir != 0:
        k = np.zeros((2 * ctegrow + 1, 2 * ctegrow + 1))
        if cte_dir == 1:
            k[0:ctegrow, ctegrow] = 1
        else:
            k[ctegrow + 1:, ctegrow] = 1
        g &= signal.convolve2d(good.astype(int), k, boundary="symm", mode="same") >= ctegrow
    return ~g


@pytest.mark.parametrize("grow", [1, 2, 3, 4])
@pytest.mark.parametrize("ctegrow, cte_dir", [(0, 0), (2, 1), (3, -1)])
def test_drizzlepac_model_matches_scipy_rendering(grow, ctegrow, cte_dir):
    rng = np.random.default_rng(grow * 10 + ctegrow)
    y, x = np.mgrid[:60, :64]
    blot = 300 + 2000 * np.exp(-((x - 30) ** 2 + (y - 25) ** 2) / 8.0)
    sci = blot + rng.normal(0, np.sqrt(blot / 2.0 + 16))
    hits = rng.integers(0, 60, 40), rng.integers(0, 64, 40)
    sci[hits] += rng.uniform(20, 800, 40)
    sci[0, :5] += 500
    sci[-1, -3:] += 500   # CRs on the borders exercise the mirror boundaries
    kw = dict(snr=(3.5, 3.0), scale=(1.2, 0.7), grow=grow, ctegrow=ctegrow, cte_dir=cte_dir)
    got = driz_cr(sci, blot, gain=2.0, rdnoise=4.0, background=300.0, **kw)
    want = reference_driz_cr(sci, blot, kw["snr"], kw["scale"], grow, ctegrow, cte_dir,
                             2.0, 4.0, 300.0)
    np.testing.assert_array_equal(got, want)
    assert 10 < got.sum() < 0.5 * got.size


def test_nan_never_flagged():
    sci, blot = scene()
    sci[5, 5] = np.nan
    sci[6, 6] += 500
    cr = driz_cr(sci, blot, rdnoise=RN)
    assert not cr[5, 5] and cr[6, 6]


def test_cr_clean():
    sci, blot = scene()
    sci[10, 10] += 200
    cr = driz_cr(sci, blot, rdnoise=RN)
    clean = cr_clean(sci, blot, cr)
    np.testing.assert_array_equal(clean, blot)
    dq_good = np.ones(sci.shape, bool)
    dq_good[0, 0] = False
    sci[0, 0] = -1.0
    assert cr_clean(sci, blot, cr, dq_good)[0, 0] == SKY


def test_bad_input():
    sci, blot = scene()
    with pytest.raises(ShapeError, match="blot"):
        driz_cr(sci, blot[:-1])
    with pytest.raises(ShapeError, match="sci"):
        driz_cr(sci[0], blot[0])
    with pytest.raises(ParameterError, match="grow"):
        driz_cr(sci, blot, grow=0)
    with pytest.raises(ParameterError, match="ctegrow"):
        driz_cr(sci, blot, ctegrow=-1)
    with pytest.raises(ParameterError, match="cte_dir"):
        driz_cr(sci, blot, cte_dir=2)
    with pytest.raises(ParameterError, match="snr"):
        driz_cr(sci, blot, snr=(3.5, 0))
    with pytest.raises(ParameterError, match="scale"):
        driz_cr(sci, blot, scale=(1, 2, 3))
    with pytest.raises(ParameterError, match="gain"):
        driz_cr(sci, blot, gain=0)
    with pytest.raises(ParameterError, match="border"):
        qderiv(sci, "wrap")
    with pytest.raises(ShapeError, match="crmask"):
        cr_clean(sci, blot, np.zeros((2, 2), bool))


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 2), (3, 7), (41, 33)])
@pytest.mark.parametrize("border", ["nearest", "reference"])
def test_numba_qderiv_equals_numpy_rendering(shape, border):
    from drizzlekit.steps.driz_cr import qderiv_numpy

    rng = np.random.default_rng(sum(shape))
    a = rng.normal(100, 10, shape)
    if a.size > 4:
        a[rng.random(shape) < 0.05] = np.nan  # NaN propagates like np.maximum
    np.testing.assert_array_equal(qderiv(a, border), qderiv_numpy(a, border))


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (2, 2), (3, 7), (41, 33)])
@pytest.mark.parametrize("box", [(1, 1), (2, 2), (3, 3), (4, 5), (7, 3)])
def test_numba_box_sum_equals_mirror_padded_cumsum(shape, box):
    from drizzlekit.steps.driz_cr import _box_sum, box_sum_numpy

    mask = np.random.default_rng(7).random(shape) < 0.6
    np.testing.assert_array_equal(_box_sum(mask, *box), box_sum_numpy(mask, *box))


@pytest.mark.parametrize("g, bg, rn2", [(1.0, 0.0, 0.0), (2.0, 35.0, 25.0)])
def test_numba_thresholds_equal_numpy_rendering(g, bg, rn2):
    from drizzlekit.steps.driz_cr import _threshold_loop, _thresholds_numpy

    rng = np.random.default_rng(4)
    y, x = np.indices((67, 81), dtype=float)
    blot = 100.0 + 0.5 * x + 0.2 * y  # a smooth model
    sci = blot + rng.normal(0, 10, blot.shape)
    sci[rng.integers(0, 67, 40), rng.integers(0, 81, 40)] += 400.0  # cosmic rays
    sci[5, 7] = np.nan
    blot[9, 11] = -250.0  # negative model: |blot + bg| in the noise
    deriv = qderiv(blot)
    args = (sci, blot, deriv, g, bg, rn2, 1.2, 3.5, 0.7, 3.0)
    ok1, fail2 = _threshold_loop(*args)
    ref1, ref2 = _thresholds_numpy(*args)
    np.testing.assert_array_equal(ok1, ref1)
    np.testing.assert_array_equal(fail2, ref2)
    assert ok1[5, 7] and not fail2[5, 7]  # NaN is never a cosmic ray
    assert 0 < np.count_nonzero(~ok1) and 0 < np.count_nonzero(fail2)


# -- warnings around the step (issue 9: mixed filters, too many flags) -------------------
def test_exposure_filter_reads_every_instrument_keyword():
    from drizzlekit.steps.cr_checks import exposure_filter

    assert exposure_filter({"FILTER1": "F606W", "FILTER2": "CLEAR2S"}) == "F606W"   # ACS
    assert exposure_filter({"FILTER1": "CLEAR1L", "FILTER2": "F814W"}) == "F814W"
    assert exposure_filter({"FILTER1": "F555W", "FILTER2": "POL0V"}) == "F555W;POL0V"
    assert exposure_filter({"FILTER": "f160w"}) == "F160W"                         # WFC3
    assert exposure_filter({"FILTNAM1": "F555W", "FILTNAM2": ""}) == "F555W"       # WFPC2
    assert exposure_filter({"FILTER": "CLEAR"}) == "" and exposure_filter({}) == ""


def _tiny(filters=None, patch=False):
    from drizzlekit.datasets import simulate_dither

    sim = simulate_dither(n_exposures=3, shape=(48, 56), seed=21, n_stars=10, n_galaxies=1)
    for k, h in enumerate(sim.hdulists):
        if filters:
            h[0].header["FILTER"] = filters[k]
    if patch:  # something in one exposure the others do not have (a ghost, a satellite)
        sim.hdulists[1]["SCI", 1].data[10:30, 10:30] += 600.0
    return sim.hdulists


def _run(hdulists, tmp_path):
    import warnings

    import drizzlekit as dk
    from drizzlekit.steps.cr_checks import CosmicRayWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = dk.astrodrizzle(hdulists, output=str(tmp_path / "w"), in_memory=True,
                              runfile="", progress=False, driz_combine=False, build=True)
    return res, [str(w.message) for w in caught if issubclass(w.category, CosmicRayWarning)]


def test_mixed_filters_warn_naming_the_filters(tmp_path):
    _, msgs = _run(_tiny(["F606W", "F606W", "F814W"]), tmp_path)
    mixed = [m for m in msgs if "different filters" in m]
    assert len(mixed) == 1 and "F606W" in mixed[0] and "F814W" in mixed[0]
    assert "once per filter" in mixed[0]
    _, msgs = _run(_tiny(["F606W"] * 3), tmp_path)
    assert not msgs                       # one filter, clean data: no warning at all


def test_too_many_cosmic_rays_warn(tmp_path):
    from drizzlekit.steps import cr_checks

    res, msgs = _run(_tiny(patch=True), tmp_path)
    flagged = [m for m in msgs if "flagged as cosmic rays" in m]
    assert len(flagged) == 1 and "<in-memory 1>[SCI,1]" in flagged[0]
    frac = max(m.mean() for m in res.cr_masks.values())
    assert frac > cr_checks.MAX_CR_FRACTION == 0.05
    with pytest.warns(cr_checks.CosmicRayWarning, match="6.0%"):
        cr_checks.warn_cr_fraction("x[SCI,1]", np.arange(100) < 6)
    assert cr_checks.warn_cr_fraction("x[SCI,1]", np.arange(100) < 5) == 0.05  # no warning


def test_corrected_model_gets_its_own_thresholds():
    from drizzlekit.steps.cr_checks import resolve_snr
    from drizzlekit.steps.driz_cr import CORRECTED_SNR

    assert resolve_snr("drizzlepac", (3.5, 3.0)) == (3.5, 3.0)
    assert resolve_snr("corrected", (3.5, 3.0)) == CORRECTED_SNR
    assert resolve_snr("corrected", (5.0, 4.0)) == (5.0, 4.0)   # explicit values are kept
    assert resolve_snr("corrected", [4.0]) == (4.0, 4.0)


def test_cr_fraction_counts_only_dq_good_pixels():
    import warnings as _w

    from drizzlekit.steps.cr_checks import warn_cr_fraction

    mask = np.zeros((10, 10), bool)
    mask[:3] = True                      # 30 % flagged, all of it on bad pixels
    good = np.ones((10, 10), bool)
    good[:3] = False
    with _w.catch_warnings():
        _w.simplefilter("error")
        assert warn_cr_fraction("chip", mask, good=good) == 0.0
    with pytest.warns(UserWarning, match="30.0%"):
        warn_cr_fraction("chip", mask)
