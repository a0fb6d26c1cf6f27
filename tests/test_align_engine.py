"""align_wcs end to end on real two-chip HST headers with simulated catalogs.

The truth is independent of the engine: catalogs are made through header WCSs
that are wrong by an exact rotation/scale/translation of the sphere
(:class:`drizzlekit.align.simulate.SkyTransform`), and an aligned WCS is
compared with ``T⁻¹ ∘ W`` over the whole chip.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from astropy.wcs import WCS

from drizzlekit.align import align_catalogs, align_wcs
from drizzlekit.align.simulate import (
    SkyTransform,
    exposure_center,
    load_chips,
    make_refcat,
    make_scene,
    observe,
    wcs_error_pixels,
)
from drizzlekit.align.tangent import pixel_jacobian
from drizzlekit.exceptions import (
    InputError,
    NonFiniteError,
    ParameterError,
    TooFewSourcesError,
)

DATA = Path(__file__).parent / "data" / "align"


@pytest.fixture(scope="module")
def chips():
    return {k: load_chips(DATA / f"2chip{k}.fits.gz") for k in "ABC"}


def _rand_t(rng, chips, max_shift=3.0, max_rot=0.1, max_scale=1e-4):
    d = rng.normal(size=2)
    sh = d / np.hypot(*d) * rng.uniform(0, max_shift)
    return SkyTransform(exposure_center(chips), rotation=rng.uniform(-max_rot, max_rot),
                        scale=rng.uniform(-max_scale, max_scale), shift=tuple(sh))


def _pairs(cats, chips):
    return list(zip(cats, chips))


def _worst(res, header_chips, t):
    return max(wcs_error_pixels(w, h, t) for w, h in zip(res.wcs, header_chips))


def _run_trial(chips, trial):
    """One seeded trial; returns a list of (result, header chips, transform)."""
    a, b, c = chips["A"], chips["B"], chips["C"]
    rng = np.random.default_rng(1000 + trial)
    kind = trial % 3
    if kind == 0:    # two ACS exposures, the first is the reference
        ra, dec = make_scene(rng, [a, b], density=0.02)
        t = _rand_t(rng, b)
        res = align_wcs([_pairs(observe(rng, a, ra, dec), a),
                         _pairs(observe(rng, b, ra, dec, transform=t), b)], searchrad=4.0)
        assert res[0].status == "REFERENCE" and 0.04 < res[0].pixel_scale < 0.06
        return [(res[1], b, t)]
    if kind == 1:    # WFC3/UVIS exposure against a reference catalog with extra sources
        ra, dec = make_scene(rng, [c], density=0.03)
        t = _rand_t(rng, c)
        ref = make_refcat(rng, [c], ra, dec, ref_only=0.2)
        res = align_wcs([_pairs(observe(rng, c, ra, dec, transform=t), c)], ref, searchrad=4.0)
        return [(res[0], c, t)]
    ra, dec = make_scene(rng, [a, b], density=0.02)   # two ACS exposures to a refcat
    ta, tb = _rand_t(rng, a), _rand_t(rng, b)
    ref = make_refcat(rng, [a, b], ra, dec, ref_only=0.2)
    res = align_wcs([_pairs(observe(rng, a, ra, dec, transform=ta), a),
                     _pairs(observe(rng, b, ra, dec, transform=tb), b)], ref, searchrad=4.0)
    return [(res[0], a, ta), (res[1], b, tb)]


# -- (a) recovery of known perturbations ------------------------------------------------
@pytest.mark.parametrize("trial", [0, 1, 2])
def test_recovery_quick(chips, trial):
    for res, hdr, t in _run_trial(chips, trial):
        assert res.status == "SUCCESS", res.status
        assert _worst(res, hdr, t) < 0.1


@pytest.mark.slow
def test_recovery_many_trials(chips):
    """45 seeded trials: shifts <= 3", rolls <= 0.1 deg, scale <= 1e-4, 25% dropped, 40%
    spurious, 20% reference-only; every one better than 0.1 pixel over the whole chip."""
    worst = []
    for trial in range(45):
        for res, hdr, t in _run_trial(chips, trial):
            assert res.status == "SUCCESS", (trial, res.status)
            worst.append(_worst(res, hdr, t))
    assert max(worst) < 0.1, max(worst)
    assert np.median(worst) < 0.03


def test_reported_parameters_match_truth(chips):
    a, b = chips["A"], chips["B"]
    rng = np.random.default_rng(7)
    ra, dec = make_scene(rng, [a, b], density=0.02)
    t = SkyTransform(exposure_center(b), rotation=0.08, scale=8e-5, shift=(2.0, -1.0))
    ref = make_refcat(rng, [b], ra, dec, ref_only=0.0)
    cats = observe(rng, b, ra, dec, transform=t, drop=0.0, spurious=0.0, noise=0.02)
    res = align_wcs([_pairs(cats, b)], ref, searchrad=4.0, fitgeometry="rscale")[0]
    assert res.status == "SUCCESS"
    # the correction undoes the transform: rotation -0.08 deg, scale 1/(1+8e-5), the centre
    # moves back by about (-2, +1) arcsec (the plane is centred near the exposure centre)
    assert abs(res.rotation + 0.08) < 2e-4
    assert abs(res.scale - 1 / (1 + 8e-5)) < 2e-6
    assert np.all(np.abs(res.shift - (-2.0, 1.0)) < 0.02)
    # the pixel version of the shift is the same vector on the first chip's axes
    j = pixel_jacobian(b[0], res.plane, 2047.5, 1023.5)
    np.testing.assert_allclose(j @ res.shift_pixels, res.shift, atol=1e-9)
    assert abs(res.rms_pixels - res.rms / res.pixel_scale) < 1e-12
    assert 0.04 < res.pixel_scale < 0.06
    assert res.nmatch == res.nused == len(res.residuals) == res.fitmask.size
    assert res.rms < 0.005 and res.iterations >= 2 and res.method == "histogram"
    assert res.histogram is not None and res.significance > 10


def test_per_source_bookkeeping(chips):
    a, b = chips["A"], chips["B"]
    rng = np.random.default_rng(8)
    ra, dec = make_scene(rng, [a, b], density=0.02)
    t = _rand_t(rng, b)
    cats = observe(rng, b, ra, dec, transform=t)
    ref = make_refcat(rng, [b], ra, dec)
    res = align_wcs([_pairs(cats, b)], ref, searchrad=4.0)[0]
    assert res.status == "SUCCESS"
    n = sum(len(c) for c in cats)
    assert res.source_chip.size == res.source_row.size == n
    chip = res.source_chip[res.matched_image_idx]
    row = res.source_row[res.matched_image_idx]
    is_true = np.array([cats[c]["true"][r] for c, r in zip(chip, row)])
    # spurious detections (40%, bright) almost never survive matching + clipping
    assert is_true[res.fitmask].mean() > 0.99
    assert set(chip.tolist()) == {0, 1}           # both chips fitted together
    assert res.matched_ref_idx.max() < len(ref)
    assert np.all(np.isin(res.clipped_image_idx, res.matched_image_idx))
    assert isinstance(res.wcs, list) and len(res.wcs) == 2
    assert "SUCCESS" in res.summary()


def test_single_chip_pair_returns_single_wcs(chips):
    c = chips["C"]
    rng = np.random.default_rng(9)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = _rand_t(rng, c)
    cats = observe(rng, c, ra, dec, transform=t)
    ref = make_refcat(rng, [c], ra, dec)
    res = align_wcs([(cats[0], c[0])], ref, searchrad=4.0)[0]
    assert res.status == "SUCCESS" and isinstance(res.wcs, WCS)
    assert wcs_error_pixels(res.wcs, c[0], t) < 0.1
    assert np.all(res.source_chip == 0)


@pytest.mark.parametrize("fitgeometry", ["shift", "rshift", "general"])
def test_other_geometries(chips, fitgeometry):
    c = chips["C"]
    rng = np.random.default_rng(10)
    ra, dec = make_scene(rng, [c], density=0.03)
    rot = 0.0 if fitgeometry == "shift" else 0.05
    t = SkyTransform(exposure_center(c), rotation=rot, shift=(1.0, 2.0))
    ref = make_refcat(rng, [c], ra, dec)
    res = align_wcs([_pairs(observe(rng, c, ra, dec, transform=t), c)], ref, searchrad=4.0,
                    fitgeometry=fitgeometry)[0]
    assert res.status == "SUCCESS" and res.fitgeometry == fitgeometry
    assert _worst(res, c, t) < 0.1


def test_triangle_fallback_when_offset_exceeds_searchrad(chips):
    c = chips["C"]
    rng = np.random.default_rng(12)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = SkyTransform(exposure_center(c), rotation=0.05, shift=(6.0, -5.0))  # 7.8" > searchrad
    ref = make_refcat(rng, [c], ra, dec)
    cats = observe(rng, c, ra, dec, transform=t)
    res = align_wcs([_pairs(cats, c)], ref, searchrad=1.0)[0]
    assert res.status == "SUCCESS" and res.method == "triangles"
    assert res.significance < 5
    assert _worst(res, c, t) < 0.1
    off = align_wcs([_pairs(cats, c)], ref, searchrad=1.0, use_triangles=False)[0]
    assert off.status.startswith("FAILED: no significant 2-D histogram peak")
    # a prior offset centres the histogram: with it the small search radius suffices
    # the prior is image minus reference (pixels): the header error (6, -5)" on chip 1's axes
    jac_px = np.linalg.solve(pixel_jacobian(c[0], res.plane, 2047.5, 1025.0),
                             np.array([6.0, -5.0]))
    pri = align_wcs([_pairs(cats, c)], ref, searchrad=1.0, use_triangles=False,
                    xoffset=jac_px[0], yoffset=jac_px[1])[0]
    assert pri.status == "SUCCESS" and pri.method == "histogram"


def test_use2dhist_false_uses_offsets(chips):
    c = chips["C"]
    rng = np.random.default_rng(13)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = SkyTransform(exposure_center(c), rotation=0.02, shift=(0.02, -0.03))
    ref = make_refcat(rng, [c], ra, dec)
    res = align_wcs([_pairs(observe(rng, c, ra, dec, transform=t), c)], ref,
                    use2dhist=False, use_triangles=False)[0]
    assert res.status == "SUCCESS" and res.method == "offset" and res.histogram is None
    assert _worst(res, c, t) < 0.1


def test_weights_are_used(chips):
    c = chips["C"]
    rng = np.random.default_rng(14)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = _rand_t(rng, c)
    ref = make_refcat(rng, [c], ra, dec)
    cats = observe(rng, c, ra, dec, transform=t)
    for cat in cats:
        cat["weight"] = np.where(cat["true"], 1.0, 0.0)
    res = align_wcs([_pairs(cats, c)], ref, searchrad=4.0)[0]
    assert res.status == "SUCCESS"
    chip, row = res.source_chip[res.matched_image_idx], res.source_row[res.matched_image_idx]
    w = np.array([cats[k]["weight"][r] for k, r in zip(chip, row)])
    assert not np.any(res.fitmask & (w == 0))
    assert res.fit.weights is not None


# -- reference choice and expand_refcat ---------------------------------------------------
def _shifted(chips, east_arcsec):
    """Copies of the chips with CRVAL moved towards East (a new pointing)."""
    t = SkyTransform(exposure_center(chips), shift=(east_arcsec, 0.0))
    out = []
    for w in chips:
        n = w.deepcopy()
        r, d = t(np.array([w.wcs.crval[0]]), np.array([w.wcs.crval[1]]))
        n.wcs.crval = [r[0], d[0]]
        n.wcs.set()
        out.append(n)
    return out


@pytest.fixture(scope="module")
def mosaic(chips):
    """Three pointings: A, E (125" East: overlaps A and D) and D (250" East: misses A)."""
    a = chips["A"]
    e, d = _shifted(a, 125.0), _shifted(a, 250.0)
    rng = np.random.default_rng(15)
    ra, dec = make_scene(rng, [a, e, d], density=0.04)
    te, td = _rand_t(rng, e), _rand_t(rng, d)
    cats = {"A": observe(rng, a, ra, dec), "E": observe(rng, e, ra, dec, transform=te),
            "D": observe(rng, d, ra, dec, transform=td)}
    return {"A": (a, None), "E": (e, te), "D": (d, td)}, cats


def test_expand_refcat_reaches_non_overlapping_image(mosaic):
    geo, cats = mosaic
    imgs = [_pairs(cats[k], geo[k][0]) for k in "AED"]
    plain = align_wcs(imgs, searchrad=4.0, names=["A", "E", "D"])
    assert plain[0].status == "REFERENCE" and plain[1].status == "SUCCESS"
    assert plain[2].status.startswith("FAILED") and "overlap" in plain[2].status
    assert plain[2].name == "D"
    grown = align_wcs(imgs, searchrad=4.0, expand_refcat=True)
    assert [r.status for r in grown] == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert _worst(grown[2], geo["D"][0], geo["D"][1]) < 0.1
    assert grown[2].matched_ref_idx.max() >= sum(len(c) for c in cats["A"])  # added sources


def test_reference_by_largest_overlap(mosaic):
    geo, cats = mosaic
    imgs = [_pairs(cats[k], geo[k][0]) for k in "DAE"]
    first = align_wcs(imgs, searchrad=4.0, enforce_user_order=True)
    assert first[0].status == "REFERENCE"
    res = align_wcs(imgs, searchrad=4.0, enforce_user_order=False)
    assert res[2].status == "REFERENCE"     # E overlaps both others
    assert res[0].status == "SUCCESS" and res[1].status == "SUCCESS"
    # A's header was right and E (wrong by T_E) is the reference frame: A must map to T_E ∘ W_A
    te = geo["E"][1]
    for w_new, w_hdr in zip(res[1].wcs, geo["A"][0]):
        gx, gy = np.meshgrid(np.linspace(0, 4095, 7), np.linspace(0, 2047, 5))
        r0, d0 = w_hdr.all_pix2world(gx.ravel(), gy.ravel(), 0)
        rt, dt = te(r0, d0)
        r1, d1 = w_new.all_pix2world(gx.ravel(), gy.ravel(), 0)
        err = np.hypot((r1 - rt) * np.cos(np.deg2rad(dt)), d1 - dt) * 3600 / 0.05
        assert err.max() < 0.1, err.max()


# -- (c) failure modes: FAILED or a specific exception, never SUCCESS --------------------
def test_too_few_sources(chips):
    c = chips["C"]
    rng = np.random.default_rng(20)
    ra, dec = make_scene(rng, [c], density=0.0003)   # ~10 stars
    ref = make_refcat(rng, [c], ra, dec, ref_only=0.0)
    cats = observe(rng, c, ra, dec, transform=_rand_t(rng, c), drop=0.0, spurious=0.0)
    assert sum(len(x) for x in cats) < 15
    res = align_wcs([_pairs(cats, c)], ref, searchrad=4.0)[0]
    assert res.status.startswith("FAILED")
    for w, h in zip(res.wcs, c):
        np.testing.assert_array_equal(w.wcs.crval, h.wcs.crval)   # input WCS kept


def test_no_overlap(chips):
    rng = np.random.default_rng(21)
    ra, dec = make_scene(rng, [chips["C"]], density=0.02)      # omega Cen field
    ref = make_refcat(rng, [chips["C"]], ra, dec)
    ra2, dec2 = make_scene(rng, [chips["A"]], density=0.02)    # 47 Tuc field
    cats = observe(rng, chips["A"], ra2, dec2)
    res = align_wcs([_pairs(cats, chips["A"])], ref)[0]
    assert res.status == "FAILED: no reference sources overlap the image footprint"


def test_empty_catalogs(chips):
    a, b = chips["A"], chips["B"]
    empty = Table({"x": np.empty(0), "y": np.empty(0)})
    rng = np.random.default_rng(22)
    ra, dec = make_scene(rng, [a, b], density=0.01)
    res = align_wcs([_pairs(observe(rng, a, ra, dec), a), [(empty, b[0]), (empty, b[1])]])
    assert res[0].status == "REFERENCE"
    assert res[1].status == "FAILED: the image catalog is empty"
    with pytest.raises(TooFewSourcesError, match="no image has any source"):
        align_wcs([[(empty, a[0])], [(empty, b[0])]])
    with pytest.raises(TooFewSourcesError, match="refcat"):
        align_wcs([_pairs(observe(rng, a, ra, dec), a)], Table({"RA": [], "DEC": []}))


def test_nan_positions(chips):
    a = chips["A"]
    cat = Table({"x": [1.0, np.nan, 3.0], "y": [1.0, 2.0, 3.0]})
    ref = Table({"RA": [5.6], "DEC": [-72.0]})
    with pytest.raises(NonFiniteError, match=r"images\[0\]\[1\].*non-finite"):
        align_wcs([[(cat[:0], a[0]), (cat, a[1])]], ref)
    with pytest.raises(NonFiniteError, match="refcat"):
        align_wcs([[(cat[:1], a[0])]], Table({"RA": [np.nan], "DEC": [1.0]}))
    with pytest.raises(NonFiniteError, match="img_xy"):
        align_catalogs(np.array([[np.nan, 0.0]]), np.zeros((3, 2)), pixel_scale=0.05)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("crowded", [False, True])
def test_random_catalogs_never_succeed(chips, seed, crowded):
    """Unrelated catalogs: FAILED even with minobj=3 'general' (tweakreg.md §5.3)."""
    c = chips["C"]
    rng = np.random.default_rng(30 + seed)
    dens = 0.3 if crowded else 0.02
    ra, dec = make_scene(rng, [c], density=dens)
    ra2, dec2 = make_scene(rng, [c], density=dens)          # an unrelated scene
    ref = make_refcat(rng, [c], ra, dec)
    cats = observe(rng, c, ra2, dec2)
    for kw in ({}, {"minobj": 3, "fitgeometry": "general", "searchrad": 10.0}):
        res = align_wcs([_pairs(cats, c)], ref, **kw)[0]
        assert res.status.startswith("FAILED"), (kw, res.status)


def test_catalog_containers(chips):
    c = chips["C"]
    rng = np.random.default_rng(23)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = _rand_t(rng, c)
    ref = make_refcat(rng, [c], ra, dec)
    cats = observe(rng, c, ra, dec, transform=t)
    structured = [np.array(list(zip(x["x"], x["y"])), dtype=[("x", float), ("y", float)])
                  for x in cats]
    as_dict = [{"x": np.asarray(x["x"]), "y": np.asarray(x["y"])} for x in cats]
    ref_dict = {"RA": np.asarray(ref["RA"]), "DEC": np.asarray(ref["DEC"])}
    r1 = align_wcs([_pairs(structured, c)], ref, searchrad=4.0)[0]
    r2 = align_wcs([_pairs(as_dict, c)], ref_dict, searchrad=4.0)[0]
    assert r1.status == r2.status == "SUCCESS"
    np.testing.assert_allclose(r1.matrix, r2.matrix, rtol=0, atol=1e-12)
    with pytest.raises(InputError, match="named columns"):
        align_wcs([[(np.zeros(5), c[0])]], ref)


def test_bad_inputs(chips):
    a = chips["A"]
    cat = Table({"x": [1.0, 2.0], "y": [1.0, 2.0]})
    ref = Table({"RA": [5.6], "DEC": [-72.0]})
    with pytest.raises(InputError, match="at least two images"):
        align_wcs([(cat, a[0])])
    spectral = WCS(naxis=2)
    spectral.wcs.ctype = ["WAVE", "FREQ"]
    with pytest.raises(InputError, match=r"images\[0\] wcs.*celestial"):
        align_wcs([(cat, spectral)], ref)
    with pytest.raises(InputError, match="'x'"):
        align_wcs([(Table({"xc": [1.0], "y": [1.0]}), a[0])], ref)
    with pytest.raises(InputError, match="'DEC'"):
        align_wcs([(cat, a[0])], Table({"RA": [1.0]}))
    with pytest.raises(InputError, match="refcat"):
        align_wcs([(cat, a[0])], "gaia.csv")
    with pytest.raises(InputError, match="pair"):
        align_wcs([[cat]], ref)
    with pytest.raises(InputError, match="names"):
        align_wcs([(cat, a[0])], ref, names=["a", "b"])
    with pytest.raises(ParameterError, match="fitgeometry"):
        align_wcs([(cat, a[0])], ref, fitgeometry="affine")
    with pytest.raises(ParameterError, match="tolerance"):
        align_wcs([(cat, a[0])], ref, tolerance=-1)
    with pytest.raises(InputError, match="weight"):
        align_wcs([(Table({"x": [1.0], "y": [1.0], "weight": [-1.0]}), a[0])], ref)


# -- side by side with tweakwcs.align_wcs -------------------------------------------------
def test_same_result_as_tweakwcs_on_easy_case(chips):
    """Shift-only error: tweakwcs (with the workarounds of tweakreg.md §5) and drizzlekit
    give WCSs that agree with each other and with the truth."""
    tw = pytest.importorskip("tweakwcs")
    a, b = chips["A"], chips["B"]
    rng = np.random.default_rng(40)
    ra, dec = make_scene(rng, [a, b], density=0.02)
    t = SkyTransform(exposure_center(b), shift=(1.3, -0.9))
    cats_a = observe(rng, a, ra, dec, spurious=0.1)
    cats_b = observe(rng, b, ra, dec, transform=t, spurious=0.1)
    ours = align_wcs([_pairs(cats_a, a), _pairs(cats_b, b)], searchrad=3.0)[1]
    assert ours.status == "SUCCESS"
    correctors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for gid, (cats, hdr) in enumerate(((cats_a, a), (cats_b, b))):
            for k, (cat, w) in enumerate(zip(cats, hdr)):
                correctors.append(tw.FITSWCSCorrector(
                    w.deepcopy(), meta={"catalog": Table({"x": cat["x"], "y": cat["y"]}),
                                        "group_id": gid, "name": f"g{gid}c{k}"}))
        # workarounds: searchrad just below an integer number of pixels, separation > tolerance
        match = tw.XYXYMatch(searchrad=59.9, separation=6.0, tolerance=2.0, use2dhist=True)
        tw.align_wcs(correctors, match=match, fitgeom="rscale", minobj=15)
    assert correctors[2].meta["fit_info"]["status"] == "SUCCESS"
    for k in range(2):
        theirs = correctors[2 + k].wcs
        assert wcs_error_pixels(theirs, b[k], t) < 0.1
        assert wcs_error_pixels(ours.wcs[k], b[k], t) < 0.1
        # agree with each other over the whole chip
        nx, ny = b[k].pixel_shape
        gx, gy = np.meshgrid(np.linspace(0, nx - 1, 7), np.linspace(0, ny - 1, 7))
        p1 = np.column_stack(theirs.all_pix2world(gx.ravel(), gy.ravel(), 0))
        p2 = np.column_stack(ours.wcs[k].all_pix2world(gx.ravel(), gy.ravel(), 0))
        d = np.hypot((p1[:, 0] - p2[:, 0]) * np.cos(np.deg2rad(p1[:, 1])), p1[:, 1] - p2[:, 1])
        assert d.max() * 3600 / 0.05 < 0.1


def test_align_catalogs_core():
    rng = np.random.default_rng(50)
    ref = rng.uniform(-100, 100, (1000, 2))
    t = np.deg2rad(0.1)
    m = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    img = (ref[:800] - [0.4, -0.3]) @ m.T + rng.normal(0, 0.002, (800, 2))
    img = np.vstack([img, rng.uniform(-100, 100, (300, 2))])
    sol = align_catalogs(img, ref, pixel_scale=0.05, searchrad=1.0)
    assert sol.succeeded and sol.nmatch >= 780
    back = sol.fit.apply(img[:800])
    assert np.abs(back - ref[:800]).max() < 0.02
    assert sol.expected_chance < 5 and 0.5 < sol.fraction_matched <= 1.0
    bad = align_catalogs(img, ref + 500.0, pixel_scale=0.05)
    assert bad.status.startswith("FAILED")
    empty = align_catalogs(np.empty((0, 2)), ref, pixel_scale=0.05)
    assert empty.status == "FAILED: the image catalog is empty"
    with pytest.raises(InputError, match="pixel_scale"):
        align_catalogs(img, ref, pixel_scale=0.0)
    with pytest.raises(InputError, match="img_weights"):
        align_catalogs(img, ref, pixel_scale=0.05, img_weights=np.ones(3))
    with pytest.raises(InputError, match="jacobian"):
        align_catalogs(img, ref, pixel_scale=0.05, jacobian=np.eye(3))
