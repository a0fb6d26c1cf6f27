"""2-D histogram offset, mutual-nearest-neighbour matching and triangle matching."""

import numpy as np
import pytest

from drizzlekit.align.match import (
    gaussian_significance,
    isolated,
    match_pairs,
    offset_histogram,
    triangle_match,
)


def _field(n, seed, half=1000.0):
    return np.random.default_rng(seed).uniform(-half, half, (n, 2))


# -- 2-D histogram ---------------------------------------------------------------------
@pytest.mark.parametrize("searchrad", [1.0, 1.37, 2.5, 3.0, 3.0000009, 7.77, 100.38])
@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.31, -0.62), (-0.5, 0.5)])
def test_histogram_offset_unbiased_for_any_searchrad(searchrad, offset):
    """(d) the estimate does not depend on ceil(searchrad) - searchrad (tweakreg.md §5.1)."""
    rng = np.random.default_rng(1)
    ref = _field(800, 2)
    img = ref + offset + rng.normal(0, 0.02, ref.shape)
    img = np.vstack([img, _field(300, 3)])  # spurious detections
    pscale = 0.99999972  # WFC3/UVIS-like: bins of "one pixel" are not exactly 1
    h = offset_histogram(img, ref, searchrad, pscale)
    assert np.all(np.abs(h.peak - offset) < 0.02), (h.peak, offset)
    assert h.significance > 10
    # bin centres are exact multiples of the bin size around the prior (0, 0)
    xc, yc = h.centers
    k = np.round(xc / h.binsize)
    np.testing.assert_allclose(xc, k * h.binsize, atol=1e-12)
    assert np.any(np.abs(xc) < 1e-12) and xc[-1] >= searchrad - 1e-9


def test_tweakwcs_histogram_bias_for_reference():
    """The peer's estimate at default searchrad is biased by ceil(r) - r (documents §5.1)."""
    mu = pytest.importorskip("tweakwcs.matchutils")
    ref = _field(800, 2)
    img = ref + (0.3, -0.4)
    pscale = 0.99999972
    theirs = np.array(mu._estimate_2dhist_shift(img, ref, searchrad=3.0, pscale=pscale))
    ours = offset_histogram(img, ref, 3.0, pscale).peak
    assert np.all(np.abs(ours - (0.3, -0.4)) < 0.01)
    assert np.max(np.abs(theirs - (0.3, -0.4))) > 0.5


def test_histogram_prior_centres_search():
    ref = _field(500, 4)
    img = ref + (25.3, -40.1)
    h0 = offset_histogram(img, ref, 5.0, 1.0)
    assert h0.significance < 5  # true offset outside the search box
    h = offset_histogram(img, ref, 5.0, 1.0, prior=(24.0, -38.0))
    assert np.all(np.abs(h.peak - (25.3, -40.1)) < 0.01)
    assert h.xedges[0] < 25.3 < h.xedges[-1]


def test_peak_estimator_cannot_jump_a_bin():
    """A single-bin peak on a sparse background stays inside its bin (tweakreg.md §5.5)."""
    rng = np.random.default_rng(5)
    for trial in range(30):
        ref = _field(25, 100 + trial, half=300)
        true = rng.uniform(-2.5, 2.5, 2)
        img = np.vstack([ref + true, _field(15, 200 + trial, half=300)])
        h = offset_histogram(img, ref, 5.0, 1.0)
        assert np.all(np.abs(h.peak - true) < 0.5), (trial, h.peak, true)


def test_rotation_smeared_peak_found_with_boxes():
    # a 0.15 deg roll over +-1000 px smears the peak over ~5x5 bins
    ref = _field(1500, 6)
    t = np.deg2rad(0.15)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    img = ref @ rot.T + (1.7, -0.8)
    h = offset_histogram(img, ref, 10.0, 1.0)
    assert h.significance > 10 and h.box > 1
    assert np.all(np.abs(h.peak - (1.7, -0.8)) < 1.0)


def test_random_catalogs_not_significant():
    sigs = [offset_histogram(_field(500, 10 + s), _field(500, 50 + s), 20.0, 1.0).significance
            for s in range(10)]
    assert max(sigs) < 5.0, sigs


def test_histogram_empty_inputs():
    h = offset_histogram(np.empty((0, 2)), _field(10, 1), 3.0, 1.0)
    assert h.significance == 0 and np.all(np.isnan(h.peak)) and h.npairs == 0
    h = offset_histogram(_field(10, 1), _field(10, 2) + 1e4, 3.0, 1.0)
    assert h.npairs == 0 and h.significance == 0
    with pytest.raises(ValueError, match="searchrad"):
        offset_histogram(_field(10, 1), _field(10, 1), 0.0, 1.0)


def test_histogram_bins_capped_for_huge_search():
    h = offset_histogram(_field(100, 1), _field(100, 1) + 5, 5000.0, 1.0)
    assert h.counts.shape[0] <= 1025 and h.binsize > 1.0


def test_gaussian_significance():
    from scipy.stats import norm

    for z in (1.0, 3.0, 5.0, 20.0):
        assert abs(gaussian_significance(norm.logsf(z)) - z) < 1e-6
    assert gaussian_significance(np.log(0.7)) == 0.0
    z = gaussian_significance(-5000.0)  # far tail, asymptotic branch
    assert abs(norm.logsf(z) + 5000.0) < 0.1


# -- matching -------------------------------------------------------------------------
def _brute_mutual(img, ref, radius):
    d = np.hypot(*(img[:, None, :] - ref[None, :, :]).transpose(2, 0, 1))
    out = set()
    for i in range(len(img)):
        j = int(np.argmin(d[i]))
        if d[i, j] < radius and int(np.argmin(d[:, j])) == i:
            out.add((i, j))
    return out


def test_mutual_nn_matches_brute_force():
    rng = np.random.default_rng(9)
    ref = _field(400, 9, half=200)
    img = np.vstack([ref[:300] + rng.normal(0, 0.4, (300, 2)), _field(150, 10, half=200)])
    ii, jj, dd = match_pairs(img, ref, 2.0)
    assert set(zip(ii.tolist(), jj.tolist())) == _brute_mutual(img, ref, 2.0)
    assert len(set(ii.tolist())) == ii.size and len(set(jj.tolist())) == jj.size
    assert np.all(dd < 2.0)


def test_tolerance_larger_than_separation_never_overflows():
    """tweakreg.md §5.4: xyxymatch overflowed; one-to-one matching cannot."""
    rng = np.random.default_rng(12)
    ref = _field(3000, 12, half=300)  # crowded: many neighbours within the tolerance
    img = ref + rng.normal(0, 0.3, ref.shape)
    ii, jj, _ = match_pairs(img, ref, 3.0)
    assert ii.size > 2000
    assert np.unique(ii).size == ii.size and np.unique(jj).size == jj.size


def test_separation_removes_close_pairs():
    ref = np.array([[0.0, 0.0], [0.3, 0.0], [10.0, 10.0], [20.0, 5.0]])
    ok = isolated(ref, 0.5)
    assert ok.tolist() == [False, False, True, True]
    img = ref + 0.05
    ii, jj, _ = match_pairs(img, ref, 1.0, img_ok=isolated(img, 0.5), ref_ok=ok)
    assert sorted(jj.tolist()) == [2, 3]
    assert isolated(ref, 0.0).all()


def test_match_pairs_empty():
    ii, jj, dd = match_pairs(np.empty((0, 2)), _field(5, 1), 1.0)
    assert ii.size == jj.size == dd.size == 0
    ii, _, _ = match_pairs(_field(5, 1), _field(5, 2) + 1e5, 1.0)
    assert ii.size == 0


# -- triangles ------------------------------------------------------------------------
def test_triangle_match_with_bright_spurious_sources():
    rng = np.random.default_rng(21)
    ref = _field(300, 21, half=100.0)  # arcsec
    t = np.deg2rad(1.5)
    m = 1.0003 * np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    shift = np.array([35.0, -22.0])  # far beyond any histogram search radius
    keep = rng.random(300) > 0.25
    # image positions such that ref = m @ img + shift
    img = (ref[keep] - shift) @ np.linalg.inv(m).T + rng.normal(0, 0.003, (keep.sum(), 2))
    img = np.vstack([img, rng.uniform(-100, 100, (int(0.4 * keep.sum()), 2))])
    res = triangle_match(img, ref, 0.05)
    assert res is not None and res.ninliers > 150
    np.testing.assert_allclose(res.matrix, m, atol=2e-5)
    np.testing.assert_allclose(res.shift, shift, atol=0.01)


def test_triangle_match_random_catalogs():
    res = [triangle_match(_field(300, 30 + s, half=100), _field(300, 60 + s, half=100), 0.05)
           for s in range(3)]
    assert all(r is None or r.ninliers < 10 for r in res)
    assert triangle_match(_field(2, 1), _field(10, 2), 0.05) is None
