"""Linear fits: known transforms, degenerate input, and tweakwcs side by side."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from drizzlekit.align.fit import FIT_GEOMETRIES, decompose_matrix, fit_linear, iter_fit
from drizzlekit.exceptions import AlignmentError, InputError, NonFiniteError, TooFewSourcesError

tweakwcs_linearfit = pytest.importorskip("tweakwcs.linearfit")

DATA = Path(__file__).parent / "data" / "align"


def _rot(deg, scale=1.0):
    t = np.deg2rad(deg)
    return scale * np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])


def _pts(n=200, seed=0, half=100.0):
    return np.random.default_rng(seed).uniform(-half, half, (n, 2))


@pytest.mark.parametrize("fitgeom,m", [
    ("shift", np.eye(2)),
    ("rshift", _rot(0.7)),
    ("rscale", _rot(-0.3, 1.0002)),
    ("general", np.array([[1.001, 0.002], [-0.003, 0.9995]])),
])
def test_exact_recovery(fitgeom, m):
    img = _pts()
    t = np.array([3.25, -1.5])
    ref = img @ m.T + t
    f = fit_linear(img, ref, fitgeom)
    np.testing.assert_allclose(f.matrix, m, atol=1e-12)
    np.testing.assert_allclose(f.shift, t, atol=1e-10)
    assert f.rmse < 1e-10 and f.nused == len(img)
    np.testing.assert_allclose(f.apply(img), ref, atol=1e-10)


def test_rotation_sign_and_decomposition():
    f = fit_linear(_pts(), _pts() @ _rot(0.25, 1.001).T, "rscale")
    assert abs(f.rotation - 0.25) < 1e-10 and abs(f.scale - 1.001) < 1e-12
    assert f.proper and f.skew == 0.0
    # a general matrix with different axis rotations has a skew
    m = _rot(0.0) @ np.array([[1.0, np.tan(np.deg2rad(0.5))], [0.0, 1.0]])
    d = decompose_matrix(m, "general")
    assert abs(abs(d["skew"]) - 0.5) < 1e-6


def test_reflection_is_detected():
    img = _pts()
    flip = np.array([[1.0, 0.0], [0.0, -1.0]])
    f = fit_linear(img, img @ flip.T, "rscale")
    assert not f.proper
    np.testing.assert_allclose(f.matrix, flip, atol=1e-12)


def test_clipping_removes_outliers_only():
    rng = np.random.default_rng(3)
    img = _pts(300, 3)
    ref = img @ _rot(0.1).T + [1.0, 2.0] + rng.normal(0, 0.01, img.shape)
    bad = rng.choice(300, 20, replace=False)
    ref[bad] += rng.uniform(1.0, 5.0, (20, 2)) * rng.choice([-1, 1], (20, 2))
    f = iter_fit(img, ref, "rscale", nclip=5, sigma=3.0)
    assert set(np.flatnonzero(~f.fitmask)) == set(bad)
    assert f.rmse < 0.02 and f.nclip_done >= 1
    assert f.residuals.shape == img.shape


def test_clip_accum_and_reentry():
    # without accumulation a pair clipped early can come back once the fit improves
    rng = np.random.default_rng(4)
    img = _pts(100, 4)
    ref = img + [0.5, 0.5] + rng.normal(0, 0.05, img.shape)
    ref[:3] += 30.0
    a = iter_fit(img, ref, "shift", nclip=10, sigma=2.5, clip_accum=True)
    b = iter_fit(img, ref, "shift", nclip=10, sigma=2.5, clip_accum=False)
    assert not a.fitmask[:3].any() and not b.fitmask[:3].any()
    assert b.nused >= a.nused


def test_weights():
    img = _pts(50, 5)
    ref = img + [1.0, -1.0]
    ref[0] += 10.0
    w = np.ones(50)
    w[0] = 0.0
    f = fit_linear(img, ref, "shift", wimg=w)
    np.testing.assert_allclose(f.shift, [1.0, -1.0], atol=1e-12)
    assert not f.fitmask[0]
    # combined weights: 1/w = 1/wimg + 1/wref
    wi = np.linspace(1, 2, 50)
    wr = np.linspace(3, 1, 50)
    g = fit_linear(img[1:], ref[1:], "shift", wimg=wi[1:], wref=wr[1:])
    assert np.allclose(g.weights, wi[1:] * wr[1:] / (wi[1:] + wr[1:]))


def test_bad_input():
    img = _pts(10)
    with pytest.raises(TooFewSourcesError, match="at least 3"):
        fit_linear(img[:2], img[:2], "general")
    with pytest.raises(TooFewSourcesError, match="at least 1"):
        fit_linear(np.empty((0, 2)), np.empty((0, 2)), "shift")
    line = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    with pytest.raises(AlignmentError, match="collinear"):
        fit_linear(line, line + 1, "general")
    with pytest.raises(AlignmentError, match="coincide"):
        fit_linear(np.ones((5, 2)), np.ones((5, 2)), "rscale")
    bad = img.copy()
    bad[3, 0] = np.nan
    with pytest.raises(NonFiniteError, match="img_xy"):
        fit_linear(bad, img)
    with pytest.raises(InputError, match="fitgeom"):
        fit_linear(img, img, "affine")
    with pytest.raises(InputError, match="same shape"):
        fit_linear(img, img[:5])
    with pytest.raises(InputError, match="wimg"):
        fit_linear(img, img, wimg=np.ones(3))


# ---------------------------------------------------------------------------------------
# side by side with tweakwcs.linearfit.iter_linear_fit on the same matched catalogs
def _tweakwcs_fit(img, ref, fitgeom, wimg=None, wref=None, nclip=0, sigma=3.0):
    """tweakwcs' fit of ref = F (img - c) + s + c, returned as (M, t, fitmask, rmse)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = tweakwcs_linearfit.iter_linear_fit(ref, img, wxy=wref, wuv=wimg, fitgeom=fitgeom,
                                               nclip=nclip, sigma=sigma, clip_accum=True)
    c = np.asarray(r["center"], float)
    m = np.asarray(r["matrix"], float)
    t = np.asarray(r["shift"], float) + c - m @ c
    return m, t, r["fitmask"], r["rmse"]


def _real_matches():
    """Matched pairs from aligning a simulated 2chipB exposure to 2chipA (arcsec plane)."""
    from drizzlekit.align import align_wcs
    from drizzlekit.align.simulate import (SkyTransform, exposure_center, load_chips,
                                           make_scene, observe)

    a = load_chips(DATA / "2chipA.fits.gz")
    b = load_chips(DATA / "2chipB.fits.gz")
    rng = np.random.default_rng(11)
    ra, dec = make_scene(rng, [a, b], density=0.01)
    t = SkyTransform(exposure_center(b), rotation=0.05, scale=5e-5, shift=(1.2, -2.0))
    res = align_wcs([list(zip(observe(rng, a, ra, dec), a)),
                     list(zip(observe(rng, b, ra, dec, transform=t, noise=0.3), b))],
                    searchrad=4.0, tolerance=2.0)[1]
    assert res.status == "SUCCESS"
    return res.image_xy, res.ref_xy, res.pixel_scale


@pytest.fixture(scope="module")
def matched():
    return _real_matches()


@pytest.mark.parametrize("fitgeom", sorted(FIT_GEOMETRIES))
@pytest.mark.parametrize("nclip", [0, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_fit_as_tweakwcs(matched, fitgeom, nclip, weighted):
    img, ref, pscale = matched
    rng = np.random.default_rng(7)
    wimg = rng.uniform(0.5, 2.0, len(img)) if weighted else None
    wref = rng.uniform(0.5, 2.0, len(img)) if weighted else None
    mine = iter_fit(img, ref, fitgeom, wimg=wimg, wref=wref, nclip=nclip, sigma=2.0,
                    clip_accum=True)
    m, t, mask, rmse = _tweakwcs_fit(img, ref, fitgeom, wimg, wref, nclip, 2.0)
    # the transformed positions agree to 1e-6 pixel over the whole field of the pairs
    span = np.array([[x, y] for x in (img[:, 0].min(), img[:, 0].max())
                     for y in (img[:, 1].min(), img[:, 1].max())])
    diff = (span @ mine.matrix.T + mine.shift) - (span @ m.T + t)
    assert np.abs(diff).max() / pscale < 1e-6
    assert np.array_equal(mine.fitmask, mask)
    assert abs(mine.rmse - rmse) / pscale < 1e-6
    if nclip and fitgeom != "shift":
        assert mine.nused < len(img)  # the clipping was exercised (sigma=2 clips Gaussian tails)


@pytest.mark.parametrize("fitgeom", ["rshift", "rscale", "general"])
def test_same_fit_as_tweakwcs_pixels_with_reflection(fitgeom):
    # detector-pixel-sized coordinates, a reflected target frame and noise
    rng = np.random.default_rng(8)
    img = rng.uniform(0, 4096, (500, 2))
    ref = img @ (np.array([[1.0, 0.0], [0.0, -1.0]]) @ _rot(1.0, 1.001)).T + [20.0, 4000.0]
    ref += rng.normal(0, 0.1, img.shape)
    mine = fit_linear(img, ref, fitgeom)
    m, t, _, _ = _tweakwcs_fit(img, ref, fitgeom)
    corners = np.array([[0, 0], [0, 4096], [4096, 0], [4096, 4096]], float)
    assert np.abs((corners @ mine.matrix.T + mine.shift) - (corners @ m.T + t)).max() < 1e-6
    assert not mine.proper


# ---- tweakwcs's exceptions and statistics (issue: sigma=None, mad, negative weights)
def test_sigma_none_with_clipping_is_a_value_error():
    from drizzlekit.align.fit import iter_fit

    rng = np.random.default_rng(1)
    p = rng.uniform(0, 100, (10, 2))
    with pytest.raises(ValueError, match="sigma"):
        iter_fit(p, p + 1, "shift", nclip=3, sigma=None)
    iter_fit(p, p + 1, "shift", nclip=0, sigma=None)  # no clipping: sigma unused
    with pytest.raises(ValueError, match="sigma"):
        iter_fit(p, p + 1, "shift", nclip=0, sigma=-1)  # as tweakwcs: refused regardless


def test_negative_weights_are_refused_not_zeroed():
    from drizzlekit.align.fit import fit_linear, iter_fit

    rng = np.random.default_rng(2)
    p = rng.uniform(0, 100, (10, 2))
    w = np.ones(10)
    w[3] = -1.0
    for kw in ({"wimg": w}, {"wref": w}, {"wimg": w, "wref": np.ones(10)}):
        with pytest.raises(ValueError, match="non-negative"):
            fit_linear(p, p + 1, "rscale", **kw)
        with pytest.raises(ValueError, match="non-negative"):
            iter_fit(p, p + 1, "rscale", **kw)
    w[3] = 0.0  # zero weight: the pair is left out
    assert iter_fit(p, p + 1, "rscale", wimg=w).nused == 9


def test_statistics_are_tweakwcs_definitions():
    from drizzlekit.align.fit import _MAD_TO_RMSE, _stats

    rng = np.random.default_rng(3)
    r = rng.normal(0, 1, (8, 2))  # an even count: the median is the mean of the middle two
    n = np.hypot(r[:, 0], r[:, 1])
    st = _stats(r, None)
    assert st["mad"] == pytest.approx(np.median(n) * _MAD_TO_RMSE, rel=1e-15)
    assert st["std"] == pytest.approx(np.linalg.norm(r.std(axis=0)), rel=1e-14)
    w = rng.uniform(0.1, 1, 8)
    wn = w / w.sum()
    st = _stats(r, w)
    var = wn @ ((r - wn @ r) ** 2).sum(axis=1)
    assert st["std"] == pytest.approx(np.sqrt(var / (1 - wn @ wn)), rel=1e-13)
    order = np.argsort(n)
    med = n[order][np.searchsorted(np.cumsum(wn[order]), 0.5)]
    assert st["mad"] == pytest.approx(med * _MAD_TO_RMSE, rel=1e-15)
    assert all(np.isnan(v) for v in _stats(r, np.zeros(8)).values())
