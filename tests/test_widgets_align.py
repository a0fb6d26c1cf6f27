"""Python-side tests of the alignment panel: live fits, overlays, plots, apply/revert."""

from __future__ import annotations

import time

import numpy as np
import pytest

W = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot_image_gl")

from astropy.io import fits  # noqa: E402
from astropy.table import Table  # noqa: E402
from astropy.wcs import WCS  # noqa: E402

from drizzlekit.align.tangent import pixel_to_sky  # noqa: E402
from drizzlekit.datasets import simulate_dither  # noqa: E402
from drizzlekit.exceptions import AlignmentError, InputError  # noqa: E402
from drizzlekit.io.wcs_update import wcs_names  # noqa: E402
from drizzlekit.widgets import AlignPanel, fit_exposure  # noqa: E402

N_OUT = 20          # outliers displaced by 0.5 pixel in exposure 1
NOISE = 0.02        # centroid noise per axis, pixels


def _scene(shape=(256, 256), n_stars=300, seed=3):
    sim = simulate_dither(n_exposures=2, shape=shape, n_stars=n_stars, n_galaxies=0,
                          wcs_error_arcsec=0.3, cr_rate=0, bad_pixel_fraction=0, seed=seed)
    rng = np.random.default_rng(seed)
    ny, nx = shape
    images, data, truth_xy = [], [], []
    for i, h in enumerate(sim.hdulists):
        x, y = sim.truth.wcs[i][0].all_world2pix(sim.truth.catalog["ra"],
                                                 sim.truth.catalog["dec"], 0)
        ok = np.flatnonzero((x > 2) & (y > 2) & (x < nx - 3) & (y < ny - 3))
        xm = x[ok] + rng.normal(0, NOISE, ok.size)
        ym = y[ok] + rng.normal(0, NOISE, ok.size)
        if i == 1:
            ang = rng.uniform(0, 2 * np.pi, N_OUT)
            xm[:N_OUT] += 0.5 * np.cos(ang)
            ym[:N_OUT] += 0.5 * np.sin(ang)
        w = WCS(h["SCI", 1].header)
        w.pixel_shape = (nx, ny)
        images.append((Table({"x": xm, "y": ym,
                              "flux": np.asarray(sim.truth.catalog["flux"])[ok]}), w))
        data.append(h["SCI", 1].data)
        truth_xy.append((ok, x, y))
    return sim, images, data, truth_xy


@pytest.fixture(scope="module")
def scene():
    return _scene()


@pytest.fixture
def panel(scene):
    _sim, images, data, _ = scene
    return AlignPanel(images, data=data, names=["e0", "e1"], use_gl=True)


def test_live_fit_aligns_exposure_1_onto_exposure_0(scene, panel):
    sim, images, _, truth = scene
    lf = panel.fit(1)
    assert lf.succeeded and lf.method == "histogram"
    assert 0.025 < lf.rms_pixels < 0.06                       # ~ 2 x NOISE in length
    # every displaced detection is clipped, almost no good one is
    clipped_rows = set(lf.img_rows[~lf.fitmask].tolist())
    assert set(range(N_OUT)) <= clipped_rows
    assert len(clipped_rows) - N_OUT <= 0.02 * lf.nmatch
    # apply: the star positions through the new WCS of e1 coincide with e0's header sky
    new = panel.apply_fit(1)
    ok0, x0, y0 = truth[0]
    ok1, x1, y1 = truth[1]
    common = np.intersect1d(ok0, ok1)
    ra0, dec0 = pixel_to_sky(images[0][1], x0[common], y0[common])
    ra1, dec1 = pixel_to_sky(new[0], x1[common], y1[common])
    d = np.hypot((ra1 - ra0) * np.cos(np.deg2rad(dec0)), dec1 - dec0) * 3600 / 0.05
    assert np.max(d) < 0.02                                   # pixels
    # and the next live fit starts aligned
    after = panel.fit(1)
    assert np.all(np.abs(after.shift_pixels) < 0.01)
    assert panel.applied[-1]["exposure"] == 1 and panel.applied[-1]["written"] is None


def test_absolute_alignment_to_a_reference_catalog(scene):
    sim, images, data, _ = scene
    refcat = Table({"RA": sim.truth.catalog["ra"], "DEC": sim.truth.catalog["dec"]})
    panel = AlignPanel(images, refcat, data=data)
    for k in (0, 1):
        panel.select(k)
        new = panel.apply_fit()[0]
        gx, gy = np.meshgrid(np.linspace(0, 255, 6), np.linspace(0, 255, 6))
        ra_t, dec_t = pixel_to_sky(sim.truth.wcs[k][0], gx.ravel(), gy.ravel())
        ra_n, dec_n = pixel_to_sky(new, gx.ravel(), gy.ravel())
        err = np.hypot((ra_n - ra_t) * np.cos(np.deg2rad(dec_t)), dec_n - dec_t) * 3600 / 0.05
        assert err.max() < 0.02, k                            # pixels over the whole chip


def test_overlays_partition_the_sources(panel):
    lf = panel.fit(1)
    s = panel.sources[1]
    counts = panel.viewer.marker_counts()
    assert sum(counts[k] for k in ("matched", "clipped", "unmatched", "excluded")) == s.x.size
    assert counts["matched"] == lf.nused and counts["clipped"] == lf.nmatch - lf.nused
    clipped = lf.img_rows[~lf.fitmask]
    np.testing.assert_array_equal(np.sort(panel.viewer.markers["clipped"].x),
                                  np.sort(s.x[clipped]))
    # the reference markers are the reference sources seen through e1's header WCS
    ref = panel.viewer.markers["reference"]
    r0 = panel.sources[0]
    rx, ry = s.wcs[0].all_world2pix(r0.ra, r0.dec, 0)
    inside = (rx > -0.5) & (ry > -0.5) & (rx < 255.5) & (ry < 255.5)
    assert np.size(ref.x) == inside.sum()
    np.testing.assert_allclose(np.sort(ref.x), np.sort(rx[inside]), atol=1e-6)
    assert "clipped=" in panel.status.value and "rms=" in panel.status.value
    # the reference frame shows only its sources
    panel.select(0)
    assert panel.viewer.marker_counts()["matched"] == 0
    assert "reference exposure" in panel.status.value
    assert panel.viewer.marker_counts()["reference"] == r0.x.size


def test_residual_plots_hold_the_fit(panel):
    lf = panel.fit(1)
    s = panel.sources[1]
    m = lf.fitmask
    fig, used, clip, zero, *_ = panel.resid[("dx", "x")]
    np.testing.assert_array_equal(used.x, s.x[lf.img_rows][m])
    np.testing.assert_array_equal(used.y, lf.residuals_pixels[m, 0])
    np.testing.assert_array_equal(clip.y, lf.residuals_pixels[~m, 0])
    _, used_dy, _, _, *_ = panel.resid[("dy", "y")]
    np.testing.assert_array_equal(used_dy.x, s.y[lf.img_rows][m])
    np.testing.assert_array_equal(used_dy.y, lf.residuals_pixels[m, 1])
    # vectors: from each source along its residual, scaled; one NaN-separated polyline
    vx = np.append(np.asarray(panel.vec_used.x, float), np.nan).reshape(-1, 3)
    np.testing.assert_array_equal(vx[:, 0], s.x[lf.img_rows][m])
    np.testing.assert_allclose(vx[:, 1] - vx[:, 0],
                               panel.vector_scale * lf.residuals_pixels[m, 0], rtol=1e-12)
    assert np.isnan(vx[:, 2]).all()
    # the residuals are those of the engine's fit, in pixels
    jinv = np.linalg.inv(s.jacobian)
    np.testing.assert_allclose(lf.residuals_pixels, lf.fit.residuals @ jinv.T)
    # histogram: counts shown on a log scale, peak marked
    h = lf.histogram
    np.testing.assert_array_equal(panel.hist_counts, h.counts)
    np.testing.assert_allclose(panel.hist_mark.color, np.log10(1 + h.counts))
    assert list(panel.hist_peak.x) == [h.peak[0]] and list(panel.hist_peak.y) == [h.peak[1]]


def test_parameter_changes_refit(panel):
    lf = panel.fit(1)
    assert lf.nmatch - lf.nused >= N_OUT
    panel.params.set("nclip", 0)                              # no clipping at all
    lf0 = panel.fit(1)
    assert lf0 is not lf and lf0.nused == lf0.nmatch
    assert panel.viewer.marker_counts()["clipped"] == 0
    assert "nused=" + str(lf0.nmatch) in panel.status.value
    panel.params.set("fitgeometry", "shift")
    assert panel.fit(1).fit.fitgeom == "shift" and panel.fit(1).fit.rotation == 0.0
    # flux limits: sources below minflux are cut and drawn as such
    s = panel.sources[1]
    fmed = float(np.median(s.flux))
    panel.params.set("minflux", fmed)
    lf2 = panel.fit(1)
    assert lf2.selected.size == int(np.sum(s.flux >= fmed))
    assert panel.viewer.marker_counts()["excluded"] == int(np.sum(s.flux < fmed))
    assert np.all(s.flux[lf2.img_rows] >= fmed)
    # the generated control path: the slider's value reaches the fit
    panel.params.controls["tolerance"].input.value = 0.3
    assert panel.params.values["tolerance"] == 0.3 and panel.fit(1).succeeded


def test_failed_fit_is_reported_and_not_applied(panel):
    before = panel.sources[1].wcs[0].wcs.crval.copy()
    panel.params.set("minobj", 5000)
    lf = panel.fit(1)
    assert not lf.succeeded and "FAILED" in panel.status.value
    with pytest.raises(AlignmentError, match="e1.*did not succeed"):
        panel.apply_fit(1)
    panel.apply_button.click()                                # the button reports it
    assert "did not succeed" in panel.message.value
    np.testing.assert_array_equal(panel.sources[1].wcs[0].wcs.crval, before)
    with pytest.raises(AlignmentError, match="reference"):
        panel.apply_fit(0)


def test_apply_records_non_destructively(scene, tmp_path):
    sim, images, data, _ = scene
    hdul = fits.HDUList([h.copy() for h in sim.hdulists[1]])
    path = tmp_path / "e1_flt.fits"
    sim.hdulists[1].writeto(path)
    old_crval = fits.getheader(path, ("SCI", 1))["CRVAL1"]
    seen = []
    panel = AlignPanel(images, data=data, targets=[None, hdul],
                       on_apply=lambda k, name, wcs: seen.append((k, name, len(wcs))))
    panel.apply_button.click()
    hdr = hdul["SCI", 1].header
    assert hdr["WCSNAME"] == "TWEAK" and len(wcs_names(hdr)) == 2   # old one archived
    assert seen == [(1, "image 1", 1)]
    np.testing.assert_allclose(hdr["CRVAL1"], panel.sources[1].wcs[0].wcs.crval[0])
    # a file target is updated through drizzlekit.io.wcs_update (old WCS kept)
    panel2 = AlignPanel(images, data=data, targets=[None, str(path)])
    panel2.apply_fit(1)
    hdr = fits.getheader(path, ("SCI", 1))
    assert hdr["WCSNAME"] == "TWEAK"
    archived = [k for k in wcs_names(hdr) if k.strip()]
    assert archived and hdr["CRVAL1" + archived[0]] == old_crval
    assert "recorded in" in panel2.message.value
    # revert restores the panel's starting WCS (the file keeps its history)
    panel2.revert(1)
    np.testing.assert_array_equal(panel2.sources[1].wcs[0].wcs.crval,
                                  images[1][1].wcs.crval)
    assert abs(panel2.fit(1).shift_pixels[1]) > 1.0


def test_refit_round_trip_on_2x1000_sources():
    _, images, data, _ = _scene(shape=(512, 512), n_stars=1100, seed=5)
    assert min(len(t) for t, _ in images) >= 1000
    panel = AlignPanel(images, data=data)
    times = []
    for tol in (0.8, 1.2, 0.9, 1.0):
        t0 = time.perf_counter()
        panel.params.controls["tolerance"].input.value = tol     # as a slider release
        times.append(time.perf_counter() - t0)
        assert panel.fit(1).succeeded
    print(f"refit + redraw, 2x{min(len(t) for t, _ in images)} sources: "
          f"{1e3 * min(times):.0f}-{1e3 * max(times):.0f} ms")


def test_fit_exposure_without_panel(scene):
    _, images, _, _ = scene
    panel = AlignPanel(images)                                # blank frames, no data
    src0, src1 = panel.sources
    lf = fit_exposure(src1, src0.ra, src0.dec, {"minflux": 1e9})
    assert lf.status.startswith("FAILED") and "flux limits" in lf.status
    assert panel.viewer.current.data.shape == (256, 256)


def test_from_exposures_finds_sources():
    sim = simulate_dither(n_exposures=2, shape=(192, 192), n_stars=60, n_galaxies=0,
                          wcs_error_arcsec=0.2, seed=7)
    panel = AlignPanel.from_exposures(sim.hdulists, find_params={"threshold": 5.0})
    assert panel.names == ["sim00", "sim01"]
    assert all(s.x.size > 20 for s in panel.sources)
    lf = panel.fit(1)
    assert lf.succeeded
    # the injected relative error, in pixels of exposure 1's header frame (x west, y north)
    d = (sim.truth.wcs_errors[1] - sim.truth.wcs_errors[0]) / 0.05
    np.testing.assert_allclose(lf.shift_pixels, [d[0], -d[1]], atol=0.1)


def test_bad_input(scene):
    _, images, data, _ = scene
    with pytest.raises(InputError, match="names"):
        AlignPanel(images, names=["one"])
    with pytest.raises(InputError, match="two exposures"):
        AlignPanel([images[0]])
    bad = (Table({"xx": [1.0], "y": [2.0]}), images[0][1])
    with pytest.raises(InputError, match="'x' and 'y'"):
        AlignPanel([bad, images[1]])
    with pytest.raises(InputError, match="refcat.*'RA'"):
        AlignPanel(images, Table({"ra_deg": [1.0]}))
    with pytest.raises(InputError, match="targets"):
        AlignPanel(images, targets=[None])
    with pytest.raises(InputError, match="images\\[0\\]"):
        AlignPanel([("not", "pairs"), images[1]])
    panel = AlignPanel(images)
    with pytest.raises(InputError, match="does not exist"):
        panel.select(5)


def test_reference_exposure_shows_its_sources_and_says_so(panel):
    """Selecting the reference: its sources, a clear label, no fit plots, no Apply."""
    panel.select(1)
    assert panel.hist_mark.visible and panel.vec_used.visible    # a fitted exposure first
    panel.select(panel.reference)
    s = panel.sources[panel.reference]
    assert panel.counts["reference"] == int(np.count_nonzero(s.chip == 0)) > 0
    assert panel.viewer.marker_counts()["reference"] == panel.counts["reference"]
    assert all(panel.counts[n] == 0 for n in ("matched", "clipped", "unmatched", "excluded"))
    assert "is the reference exposure" in panel.role.value
    assert "reference exposure" in panel.status.value and "nothing to fit" in panel.status.value
    # no stale plots of the previous exposure, no flat histogram, no NaN paths
    assert not panel.hist_mark.visible and "reference" in panel.hist_fig.title
    assert not panel.vec_used.visible and not panel.vec_clip.visible
    for fig, used, clip, *_ in panel.resid.values():
        assert not used.visible and not clip.visible and len(used.x) == 0
    for mark in (panel.vec_used, panel.vec_clip):
        assert not np.isnan(np.asarray(mark.x, float)).any()
    assert panel.apply_button.disabled
    panel.select(1)
    assert panel.hist_mark.visible and not panel.apply_button.disabled
    assert "matched to" in panel.role.value


def test_layout_wraps_controls_beside_or_below_the_image(panel):
    """The panel is a wrapping flex row: image first, controls second, plots wrap too."""
    top = panel.widget.children[0]
    assert top.layout.flex_flow == "row wrap" and top.layout.max_width == "100%"
    image, side = top.children
    assert panel.viewer.widget in image.children
    assert side.layout.flex.endswith("340px") and side.layout.min_width
    assert panel.params.widget in side.children
    assert panel.plots.layout.flex_flow == "row wrap"
    for fig in panel.plots.children:
        assert fig.layout.max_width == "100%"


def _sent(monkeypatch):
    """Record (widget class, synced trait names) of every update sent to the front-end."""
    log = []
    orig = W.Widget._send

    def send(self, msg, buffers=None):
        if isinstance(msg, dict) and msg.get("method") == "update":
            log.append((type(self).__name__, tuple(sorted(msg.get("state", {})))))
        return orig(self, msg, buffers)

    monkeypatch.setattr(W.Widget, "_send", send)
    return log


def test_fast_redraw_fixed_ranges_and_one_message_per_changed_mark(panel, monkeypatch):
    """The plots keep their axis ranges across refits (no scale update, so the browser
    redraws only the marks that changed), residual points are WebGL, vectors one path."""
    from drizzlekit.widgets.align_plots import _scatter_gl, nice_ceil

    gl = "ScatterGL" if _scatter_gl() is not None else "Scatter"  # bqplot 0.12 (jdaviz): SVG
    lf = panel.fit(1)
    fig, used, clip, zero, xs, ys = panel.resid[("dx", "x")]
    assert type(used).__name__ == gl and type(clip).__name__ == gl
    assert (xs.min, xs.max) == (-0.5, 255.5)
    r = np.abs(lf.residuals_pixels).max()
    assert ys.min == -ys.max and r <= ys.max == nice_ceil(1.1 * r) < 2 * r
    assert panel.vec_used.x.ndim == 1                         # one NaN-separated polyline
    log = _sent(monkeypatch)
    panel.params.set("sigma", 1.5)                            # clips more pairs
    lf2 = panel.fit(1)
    assert lf2.nused != lf.nused
    names = [c for c, _ in log]
    assert "LinearScale" not in names                         # ranges unchanged
    assert names.count(gl) == 8 or (gl == "Scatter" and names.count(gl) > 8)  # used +
    # clipped, 4 plots (with SVG points the viewer's source markers are Scatter marks too)
    assert names.count("Lines") <= 2                          # the two vector polylines
    # unchanged fit: nothing but the status line (and the slider's own value)
    log.clear()
    panel.params.set("sigma", 1.5)
    assert {c for c, _ in log} <= {"HTML", "FloatSlider", "FloatText", "BoundedFloatText"}


def test_no_webgl_switches_residual_points_to_svg(panel):
    used0 = panel.resid[("dy", "y")][1]
    x0 = np.asarray(used0.x).copy()
    panel.viewer.probe.text.value = "0"                        # the browser says: no WebGL
    try:
        for fig, used, clip, zero, *_ in panel.resid.values():
            assert type(used) is type(clip) is __import__("bqplot").Scatter
            assert fig.marks == [zero, used, clip] and fig in panel.plots.children
        np.testing.assert_array_equal(panel.resid[("dy", "y")][1].x, x0)
        panel.params.set("nclip", 0)                          # still redrawn
        lf = panel.fit(1)
        np.testing.assert_array_equal(panel.resid[("dx", "x")][1].y,
                                      lf.residuals_pixels[:, 0])
        assert not panel.viewer.use_gl
    finally:
        from drizzlekit.widgets.webgl import BROWSER_WEBGL  # the module the viewer reads
        BROWSER_WEBGL["webgl"] = None


def test_fast_redraw_off_keeps_the_older_plots(scene):
    _sim, images, data, _ = scene
    panel = AlignPanel(images, data=data, use_gl=True, fast_redraw=False)
    lf = panel.fit(1)
    m = lf.fitmask
    fig, used, clip, zero, xs, ys = panel.resid[("dx", "x")]
    assert type(used).__name__ == "Scatter" and xs.min is None and ys.max is None
    np.testing.assert_array_equal(used.y, lf.residuals_pixels[m, 0])
    vx = np.asarray(panel.vec_used.x)
    assert vx.shape == (m.sum(), 2)


def test_nice_ceil():
    from drizzlekit.widgets.align_plots import nice_ceil

    assert [nice_ceil(v) for v in (0.55, 0.5, 1.0, 1.01, 7.0, 0.031)] == \
        [0.6, 0.5, 1.0, 1.2, 8.0, 0.04]
    assert nice_ceil(0.0) == 1.0 and nice_ceil(float("nan")) == 1.0
