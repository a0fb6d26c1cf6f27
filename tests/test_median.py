"""Median step (spec §7; acceptance test §12 item 10)."""

import numpy as np
import pytest
from scipy import signal

from drizzlekit.exceptions import InputError, ParameterError, ShapeError
from drizzlekit.steps import combine_median, weight_masks


# -- plain renderings of the recipes (pixel by pixel) ----------------------------------
def ref_numcombine(values, bad, kind, nlow, nhigh, fill_ok=True):
    """§7.2 for one pixel: values/bad are 1-D over the stack."""
    good = sorted(v for v, b in zip(values, bad) if not b)
    if not good and kind.startswith("i") and fill_ok:
        good = [next((v for v in values if v != 0), None)]
        good = [] if good[0] is None else good
    g = len(good)
    if g == 0:
        return 0.0
    while nlow + nhigh >= g:
        nhigh, nlow = max(nhigh - 1, 0), max(nlow - 1, 0)
    kept = good[nlow:g - nhigh]
    return float(np.median(kept) if kind.endswith("median") else np.mean(kept))


def ref_combine(images, bad, kind, nlow=0, nhigh=0):
    n, ny, nx = images.shape
    out = np.zeros((ny, nx))
    for r in range(ny):
        for c in range(nx):
            out[r, c] = ref_numcombine(images[:, r, c], bad[:, r, c], kind, nlow, nhigh)
    return out


def ref_minmed(images, weights, bad, exptimes, rn, bg, n1, n2, grow, fill=False):
    """§7.3 written out; masks always used."""
    n, ny, nx = images.shape
    med = np.zeros((ny, nx))
    mn = np.zeros((ny, nx))
    for r in range(ny):
        for c in range(nx):
            v, b = images[:, r, c], bad[:, r, c]
            kind = ("imean" if fill else "mean") if n == 2 else ("imedian" if fill else "median")
            med[r, c] = ref_numcombine(v, b, kind, 0, 0 if n == 2 else 1)
            if n >= 3 and b.sum() == n - 1:
                med[r, c] = v[~b][0]
            mn[r, c] = v[~b].min() if (~b).any() else 0.0
    wsum = weights.sum(0)
    bgsum = sum(w * bgi / t for w, bgi, t in zip(weights, bg, exptimes))
    rn2 = sum((~bi) * rni**2 for bi, rni in zip(bad, rn))
    med_e, min_e = med * wsum, mn * wsum
    sig = np.sqrt(np.maximum(med_e + bgsum + rn2, 0))
    t = med_e - n1 * sig
    if grow > 0:
        flag = (min_e < t).astype(float)
        k = np.ones((2 * grow + 1, 2 * grow + 1)) / (2 * grow + 1) ** 2
        grown = signal.convolve2d(flag, k, boundary="fill", mode="same")
        t = np.where(grown == 0, med_e - n1 * sig, med_e - n2 * sig)
    out = np.where(min_e < t, mn, med)
    out[bad.all(0)] = 0
    return out


# -- stacks ------------------------------------------------------------------------
def stack(n, seed=0, shape=(12, 14), level=5.0):
    """n single-drizzled images (e-/s) with weights ~ exptime, and hand-placed events."""
    rng = np.random.default_rng(seed)
    exptimes = np.array([400.0, 500.0, 350.0, 450.0][:n])
    sky = 0.2
    imgs = np.empty((n,) + shape)
    for i, t in enumerate(exptimes):
        imgs[i] = level + sky + rng.normal(0, np.sqrt((level + sky) * t) / t, shape)
    wts = np.tile(exptimes[:, None, None], (1,) + shape).astype(float)
    imgs[0, 3, 4] += 50.0                     # CR in one image
    imgs[0, 7, 7] += 40.0                     # CR in two images at the same pixel
    imgs[1, 7, 7] += 60.0
    wts[:, 10, 2] = 0.0                       # all masked
    wts[1:, 5, 10] = 0.0                      # one good
    wts[0, 1, 1] = 0.0                        # one masked
    return imgs, wts, exptimes, np.full(n, 4.5), np.full(n, sky) * exptimes


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("kind", ["minmed", "iminmed"])
@pytest.mark.parametrize("grow", [0, 1, 2])
def test_minmed_matches_recipe(n, kind, grow):
    imgs, wts, t, rn, bg = stack(n, seed=n)
    got = combine_median(imgs, wts, combine_type=kind, nsigma=(4, 3), grow=grow,
                         exptimes=t, readnoise=rn, backgrounds=bg)
    bad = weight_masks(wts, 0.3)
    want = ref_minmed(imgs, wts, bad, t, rn, bg, 4, 3, grow, fill=kind == "iminmed")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.dtype == np.float64
    assert got[10, 2] == 0.0                        # all masked -> 0
    assert got[5, 10] == pytest.approx(imgs[0, 5, 10])  # one good -> that value


def test_minmed_rejects_cosmic_rays():
    imgs, wts, t, rn, bg = stack(4, seed=9)
    out = combine_median(imgs, wts, exptimes=t, readnoise=rn, backgrounds=bg)
    clean = np.delete(imgs, [0, 1], axis=0)
    assert out[3, 4] < 5.5 and out[7, 7] < 5.5   # single and double CR hits removed
    assert np.isclose(out[7, 7], clean[:, 7, 7]).any()  # 4 images: nhigh=1 median is clean
    # 3 images, 2 hit: the median (mean of the 2 lowest) is high, the minimum is taken
    imgs, wts, t, rn, bg = stack(3, seed=9)
    out = combine_median(imgs, wts, exptimes=t, readnoise=rn, backgrounds=bg)
    assert out[7, 7] == imgs[2, 7, 7]
    med_only = combine_median(imgs, wts, combine_type="median", nhigh=1)
    assert med_only[7, 7] > 20


def test_minmed_without_masks():
    imgs, wts, t, rn, bg = stack(3, seed=4)
    got = combine_median(imgs, wts, newmasks=False, grow=0, exptimes=t, readnoise=rn,
                         backgrounds=bg)
    med = np.sort(imgs, axis=0)[:2].mean(0)  # median with nhigh=1 of 3 = mean of 2 lowest
    mn = imgs.min(0)
    w = wts.sum(0)
    sig = np.sqrt(np.maximum(med * w + (wts * (bg / t)[:, None, None]).sum(0) + 3 * 4.5**2, 0))
    want = np.where(mn * w < med * w - 4 * sig, mn, med)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    single = combine_median(imgs[:1], wts[:1], newmasks=False, exptimes=t[:1],
                            readnoise=rn[:1], backgrounds=bg[:1])
    np.testing.assert_allclose(single, imgs[0])


@pytest.mark.parametrize("kind", ["median", "mean", "imedian", "imean"])
@pytest.mark.parametrize("nlow, nhigh", [(0, 0), (0, 1), (1, 1), (1, 2)])
def test_numcombine_matches_recipe(kind, nlow, nhigh):
    imgs, wts, *_ = stack(4, seed=5)
    imgs[2, 2, 2] = 0.0
    wts[:, 2, 2] = 0.0  # all masked, first non-zero is image 0
    got = combine_median(imgs, wts, combine_type=kind, nlow=nlow, nhigh=nhigh)
    want = ref_combine(imgs, weight_masks(wts, 0.3), kind, nlow, nhigh)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if kind.startswith("i"):
        assert got[10, 2] == pytest.approx(imgs[0, 10, 2])
    else:
        assert got[10, 2] == 0.0


def test_thresholds_and_sum():
    imgs, wts, *_ = stack(3, seed=6)
    bad = weight_masks(wts, 0.3) | (imgs < 5.0) | (imgs >= 5.3)
    got = combine_median(imgs, wts, combine_type="median", lthresh=5.0, hthresh=5.3)
    np.testing.assert_allclose(got, ref_combine(imgs, bad, "median"), rtol=1e-12)
    total = combine_median(imgs, wts, combine_type="sum", lthresh=5.0)
    np.testing.assert_allclose(total, imgs.sum(0))


def test_float32_output_and_nan_inputs():
    imgs, wts, t, rn, bg = stack(3, seed=8)
    imgs = imgs.astype(np.float32)
    imgs[1, 4, 4] = np.nan
    out = combine_median(imgs, wts, combine_type="median")
    assert out.dtype == np.float32
    assert out[4, 4] == pytest.approx(0.5 * (imgs[0, 4, 4] + imgs[2, 4, 4]), rel=1e-6)
    assert np.isfinite(combine_median(imgs, wts, exptimes=t, readnoise=rn, backgrounds=bg)).all()


def test_weight_masks():
    w = np.array([[[10.0, 10.0, 2.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]]])
    bad = weight_masks(w, 0.3)
    # mean of the positive weights of image 0 is 22/3, 0.3 of it is 2.2
    np.testing.assert_array_equal(bad[0], [[False, False, True, True]])
    assert bad[1].all()


def test_compat_quirks():
    imgs = np.array([[[1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0]]])
    wts = np.zeros_like(imgs)  # everything masked: only the "i" fill gives values
    wts[:, :, :] = 1.0
    wts[:, 0, :2] = 0.0
    fixed = combine_median(imgs, wts, combine_type="imedian")
    compat = combine_median(imgs, wts, combine_type="imedian", compat=True)
    np.testing.assert_allclose(fixed, [[1.0, 2.0, 6.0]])
    np.testing.assert_allclose(compat, [[1.0, 0.0, 6.0]])  # fill only in column 0
    # mean: nlow+nhigh >= good count -> reduced (fixed) or 0 (compat)
    wts2 = np.ones_like(imgs)
    wts2[0, 0, 1] = 0.0
    kw = dict(combine_type="mean", nlow=1, nhigh=1)
    assert combine_median(imgs, wts2, **kw)[0, 1] == pytest.approx(6.5)
    assert combine_median(imgs, wts2, compat=True, **kw)[0, 1] == 0.0


def test_chunking_gives_same_result(monkeypatch):
    import drizzlekit.steps.median as med
    imgs, wts, *_ = stack(4, seed=12, shape=(40, 16))
    whole = combine_median(imgs, wts, combine_type="imedian", nhigh=1)
    monkeypatch.setattr(med, "_ROWS_PER_CHUNK", 7)
    np.testing.assert_array_equal(combine_median(imgs, wts, combine_type="imedian", nhigh=1),
                                  whole)


def test_bad_input():
    imgs, wts, t, rn, bg = stack(3)
    with pytest.raises(ShapeError, match="images"):
        combine_median([])
    with pytest.raises(ShapeError, match="images"):
        combine_median([np.zeros((3, 3)), np.zeros((3, 4))])
    with pytest.raises(ShapeError, match="weights"):
        combine_median(imgs, wts[:2], combine_type="median")
    with pytest.raises(ParameterError, match="combine_type"):
        combine_median(imgs, wts, combine_type="average")
    with pytest.raises(InputError, match="reject all"):
        combine_median(imgs, wts, combine_type="median", nlow=2, nhigh=1)
    with pytest.raises(InputError, match="exptimes"):
        combine_median(imgs, wts, readnoise=rn, backgrounds=bg)
    with pytest.raises(ShapeError, match="readnoise"):
        combine_median(imgs, wts, exptimes=t, readnoise=rn[:2], backgrounds=bg)
    with pytest.raises(InputError, match="exptimes"):
        combine_median(imgs, wts, exptimes=[1, 0, 1], readnoise=rn, backgrounds=bg)
    with pytest.raises(ParameterError, match="grow"):
        combine_median(imgs, wts, grow=-1, exptimes=t, readnoise=rn, backgrounds=bg)
    with pytest.raises(InputError, match="grow"):
        combine_median(imgs, wts, grow=6, exptimes=t, readnoise=rn, backgrounds=bg)
    with pytest.raises(InputError, match="weights"):
        combine_median(imgs, None, combine_type="median")
    with pytest.raises(ParameterError, match="maskpt"):
        combine_median(imgs, wts, combine_type="median", maskpt=1.5)
    with pytest.raises(ParameterError, match="nsigma"):
        combine_median(imgs, wts, nsigma=(4, -1), exptimes=t, readnoise=rn, backgrounds=bg)


def test_minmed_in_row_chunks_equals_whole_image(monkeypatch):
    """minmed runs over row chunks with a `grow` halo: identical to one pass."""
    import drizzlekit.steps.median as median_mod

    rng = np.random.default_rng(42)
    imgs = [rng.normal(100, 5, (300, 40)).astype(np.float32) for _ in range(4)]
    for k, im in enumerate(imgs):  # cosmic rays that straddle chunk edges
        im[rng.integers(0, 300, 30), rng.integers(0, 40, 30)] += 500 + 50 * k
    whts = [np.full((300, 40), 100.0, np.float32) for _ in range(4)]
    kw = dict(combine_type="minmed", nsigma=(4, 3), grow=2, exptimes=[100] * 4,
              readnoise=[5] * 4, backgrounds=[10] * 4)
    monkeypatch.setattr(median_mod, "_ROWS_PER_CHUNK", 32)
    chunked = median_mod.combine_median(imgs, whts, **kw)
    monkeypatch.setattr(median_mod, "_ROWS_PER_CHUNK", 10_000)
    whole = median_mod.combine_median(imgs, whts, **kw)
    np.testing.assert_array_equal(chunked, whole)


def test_corrected_combiner_is_closer_to_the_truth():
    """Why combine_compat defaults to False (README, "Cosmic-ray defaults measured";
    ``benchmarks/bench_cr_truth.py`` measures the same on 200x200 stacks)."""
    rng = np.random.default_rng(2)
    n, shape, truth = 4, (40, 40), 1.0
    imgs = truth + rng.normal(0, 0.05, (n,) + shape)
    wts = np.full((n,) + shape, 400.0)
    allbad = rng.random(shape) < 0.1
    wts[:, allbad] = 1.0                   # every input masked there
    for kind, kw, where in (("imedian", {}, allbad), ("mean", dict(nlow=1, nhigh=1), None)):
        w = wts
        if where is None:                  # only two good inputs: nlow + nhigh reject both
            where = rng.random(shape) < 0.1
            w = np.full((n,) + shape, 400.0)
            w[:2, where] = 1.0
        rms = {c: np.sqrt(np.mean((combine_median(list(imgs), list(w), combine_type=kind,
                                                  compat=c, **kw)[where] - truth) ** 2))
               for c in (False, True)}
        assert rms[False] < 0.1 < 0.9 < rms[True], (kind, rms)


@pytest.mark.parametrize("kind, nlow, nhigh", [("median", 0, 0), ("imedian", 0, 0),
                                               ("median", 1, 1), ("median", 0, 2),
                                               ("minmed", 0, 0), ("iminmed", 0, 0)])
def test_bottleneck_median_identical_to_sort_rule(monkeypatch, kind, nlow, nhigh):
    """bottleneck.nanmedian (masking the rejected extremes) gives the sort rule's values."""
    pytest.importorskip("bottleneck")
    import drizzlekit.steps.median as median_mod

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 4, 5, 8):
        imgs = np.round(rng.normal(10, 3, (n, 30, 20)), 1).astype(np.float32)  # ties
        imgs[:, 3, 4] = np.nan
        whts = np.where(rng.random((n, 30, 20)) < 0.3, 0.0, 100.0).astype(np.float32)
        whts[:, 5, :3] = 0.0  # nothing good
        kw = dict(combine_type=kind, nlow=nlow, nhigh=nhigh)
        if kind.endswith("minmed"):
            kw.update(exptimes=[100] * n, readnoise=[5] * n, backgrounds=[10] * n)
        if n - nlow - nhigh < 1 and not kind.endswith("minmed"):
            continue
        monkeypatch.setattr(median_mod, "_HAVE_BOTTLENECK", True)
        fast = median_mod.combine_median(list(imgs), list(whts), **kw)
        monkeypatch.setattr(median_mod, "_HAVE_BOTTLENECK", False)
        slow = median_mod.combine_median(list(imgs), list(whts), **kw)
        np.testing.assert_array_equal(fast, slow)
        assert np.all(np.isfinite(fast))  # NaN never enters a median, also with 'i'
