"""Python-side tests of the drizzle panel: region exactness, invariants, context, CR overlay."""

from __future__ import annotations

import time

import numpy as np
import pytest

W = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot_image_gl")

from astropy.wcs import WCS  # noqa: E402

from drizzlekit.datasets import simulate_dither  # noqa: E402
from drizzlekit.exceptions import InputError, ShapeError  # noqa: E402
from drizzlekit.kernels import available_kernels  # noqa: E402
from drizzlekit.outwcs import wcs_orientat, wcs_pscale  # noqa: E402
from drizzlekit.steps.drizzle_steps import drizzle_chips  # noqa: E402
from drizzlekit.widgets import DrizzlePanel, preview_frame  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    return simulate_dither(n_exposures=2, shape=(200, 200), n_stars=40, n_galaxies=4,
                           cr_rate=1e-5, sip=False, seed=1)


def _inputs(sim):
    return [(h["SCI", 1].data, WCS(h["SCI", 1].header), 400.0) for h in sim.hdulists]


@pytest.mark.parametrize("kernel", ["square", "point", "gaussian"])
def test_preview_is_a_subarray_of_the_full_frame(sim, kernel):
    panel = DrizzlePanel(_inputs(sim), preview_size=96, params={"final_kernel": kernel},
                         preview_scale="native")
    full, region, (x0, y0) = preview_frame(panel.base_wcs, panel.center, 96)
    ref = drizzle_chips(panel.inputs, full, kernel=kernel, initial=0.0)
    np.testing.assert_allclose(panel.product.sci, ref.sci[y0:y0 + 96, x0:x0 + 96],
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(panel.product.wht, ref.wht[y0:y0 + 96, x0:x0 + 96], rtol=1e-5)
    # the viewers show it
    np.testing.assert_array_equal(panel.sci_view.current.data, panel.product.sci)
    np.testing.assert_array_equal(panel.wht_view.current.data, panel.product.wht)
    assert panel.wht_view.x_scale is panel.sci_view.x_scale       # linked pan/zoom


def test_rotation_by_90_degrees_rotates_the_preview(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=128, preview_scale="native")
    orient = wcs_orientat(panel.base_wcs)
    s0 = panel.product.sci.copy()
    panel.params.set("final_rot", orient + 90.0)
    s90 = panel.product.sci
    # +90 deg of position angle turns the image by 90 deg on the output grid
    np.testing.assert_allclose(s90, np.rot90(s0, 1), atol=1e-3 * np.abs(s0).max())
    assert "rot=90" in panel.status.value


def test_finer_scale_keeps_flux_per_area(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=96, preview_scale="native")
    s0 = wcs_pscale(panel.base_wcs)
    sky0 = np.median(panel.product.sci[panel.product.wht > 0])
    panel.params.set("final_scale", 2 * s0)
    sky2 = np.median(panel.product.sci[panel.product.wht > 0])
    # iscale = s**2: an output pixel of twice the size collects four times the flux
    assert sky2 / sky0 == pytest.approx(4.0, rel=0.03)
    assert sky0 == pytest.approx(sim.truth.sky, rel=0.05)  # (data, wcs) tuples are rates


def test_every_kernel_renders(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=64, preview_scale="native")
    assert list(panel.params.controls["final_kernel"].input.options) == available_kernels()
    for k in available_kernels():
        panel.params.controls["final_kernel"].input.value = k
        assert panel.settings()["final_kernel"] == k
        sci = panel.product.sci
        assert np.isfinite(sci).all() and np.mean(panel.product.wht > 0) > 0.9, k
        assert f"kernel={k}" in panel.status.value


def test_invalid_pixfrac_is_rejected_inline(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=64)
    before = panel.product
    panel.params.controls["final_pixfrac"].input.value = 0.0
    assert "final_pixfrac" in panel.params.errors and panel.product is before
    panel.params.controls["final_pixfrac"].input.value = 0.5
    assert panel.product is not before and "pixfrac=0.5" in panel.status.value
    assert panel.params.errors == {}


def test_context_click_lists_the_contributing_inputs():
    sim = simulate_dither(n_exposures=1, shape=(128, 128), n_stars=20, n_galaxies=0,
                          cr_rate=0, sip=False, seed=2)
    data = sim.hdulists[0]["SCI", 1].data
    w = WCS(sim.hdulists[0]["SCI", 1].header)
    w.pixel_shape = (128, 128)
    half = w[:, :64]                                           # the left half only
    half.pixel_shape = (64, 128)
    panel = DrizzlePanel([(data, w, 1.0), (data[:, :64], half, 1.0)], names=["A", "B"],
                         output_wcs=w, preview_size=128, preview_scale="native")
    assert panel.origin == (0, 0)
    assert panel.inspect(20.0, 60.0) == ["A", "B"]
    assert "2 input(s): A, B" in panel.context_info.value
    assert panel.inspect(100.0, 60.0) == ["A"]
    panel.sci_view.mouse._handle_custom_msg(
        {"event": "click", "domain": {"x": 110.2, "y": 5.0}}, [])  # through the viewer
    assert panel.contributors == ["A"] and "pixel (110, 5)" in panel.context_info.value
    assert panel.inspect(500.0, 5.0) == [] and "outside" in panel.context_info.value


def test_cosmic_rays_outlined_on_request_and_masked(sim):
    crs = [m[0] for m in sim.truth.cr_masks]
    panel = DrizzlePanel(_inputs(sim), cr_masks=crs, preview_size=200, preview_scale="native")
    # off by default: nothing drawn over the preview
    assert panel.show_crs.value is False and panel.cr_count == 0
    assert "cosmic rays" not in panel.sci_view.markers
    x, y = panel.cr_positions()
    # the region covers (almost all of) the frame: every flagged pixel lands in it
    total = sum(int(m.sum()) for m in crs)
    assert 0.99 * total <= x.size <= total
    panel.show_crs.value = True
    m = panel.cr_map()
    assert panel.cr_count == int(m.sum()) > 0 and f"crs={panel.cr_count}" in panel.status.value
    for v in (panel.sci_view, panel.wht_view):   # outlines (a Lines mark), not markers
        assert v.markers["cosmic rays"].kind == "outline" and v.markers["cosmic rays"].visible
        assert v.marker_counts()["cosmic rays"] == int(m.sum())
    i, j = np.round(x).astype(int), np.round(y).astype(int)
    inside = (i >= 0) & (j >= 0) & (i < 200) & (j < 200)
    wht_before = panel.product.wht[j[inside], i[inside]].copy()
    panel.mask_crs.value = True                                 # drop CR pixels
    assert np.all(panel.product.wht[j[inside], i[inside]] <= wht_before + 1e-3)
    assert np.mean(panel.product.wht[j[inside], i[inside]] < wht_before - 1) > 0.5
    panel.show_crs.value = False
    assert not panel.sci_view.markers["cosmic rays"].visible and "crs=0" in panel.status.value


def test_default_preview_scale_makes_pixfrac_visible(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=96)
    s0 = wcs_pscale(panel.base_wcs)
    assert panel.settings()["final_scale"] == pytest.approx(0.5 * s0, rel=1e-4)
    before = panel.product.sci.copy()
    panel.params.set("final_pixfrac", 0.5)
    changed = np.mean(np.abs(panel.product.sci - before) > 1e-3 * np.abs(before).max())
    assert changed > 0.05                          # a visible change, not a few pixels
    native = DrizzlePanel(_inputs(sim), preview_size=96, preview_scale="native")
    assert native.settings()["final_scale"] is None
    assert native.params.controls["final_scale"].auto.value   # shown as "auto"


def test_preview_of_512_inputs_follows_pixfrac():
    """Each pixfrac change re-drizzles the preview (timings printed, not asserted)."""
    sim = simulate_dither(n_exposures=2, shape=(512, 512), n_stars=50, n_galaxies=5, seed=3)
    panel = DrizzlePanel(_inputs(sim), preview_size=256)
    times, peaks, flux = [], [], []
    for pf in (0.8, 0.3, 0.9):
        t0 = time.perf_counter()
        panel.params.set("final_pixfrac", pf)
        times.append(time.perf_counter() - t0)
        sci, wht = panel.product.sci, panel.product.wht
        peaks.append(np.nanmax(sci))
        flux.append(np.nansum(sci.astype(float) * wht))
    print(f"preview 256^2 from 2x512^2: {1e3 * min(times):.0f}-{1e3 * max(times):.0f} ms")
    assert panel.product.sci.shape == (256, 256)
    assert peaks[1] > peaks[0] > peaks[2]  # smaller drops: sharper stars
    np.testing.assert_allclose(flux, flux[0], rtol=1e-3)  # same flux whatever pixfrac


def test_recentre_and_region_size(sim):
    panel = DrizzlePanel(_inputs(sim), preview_size=64)
    panel.size_select.value = 128
    assert panel.product.sci.shape == (128, 128)
    panel.sci_view.zoom_to(20.0, 30.0, 10.0)
    panel.recentre_on_view()
    ra, dec = panel.region_wcs.all_pix2world([63.5], [63.5], 0)
    assert np.hypot(ra[0] - panel.center[0], dec[0] - panel.center[1]) * 3600 < 0.05


def test_from_pipeline_result():
    from drizzlekit.pipeline import astrodrizzle

    sim = simulate_dither(n_exposures=3, shape=(96, 96), n_stars=15, n_galaxies=2,
                          cr_rate=2e-5, bad_pixel_fraction=0.0, seed=4)
    res = astrodrizzle(sim.hdulists, in_memory=True, runfile="", progress=False)
    nx, ny = res.output_wcs.pixel_shape
    c = res.output_wcs.all_pix2world([(nx - 1) / 2], [(ny - 1) / 2], 0)
    panel = DrizzlePanel.from_result(res, preview_size=max(nx, ny), preview_scale="native",
                                     center=(float(c[0][0]), float(c[1][0])))
    panel.show_crs.value = True
    assert len(panel.inputs) == 3 and panel.cr_count > 0
    assert panel.base_wcs is res.output_wcs
    panel.mask_crs.value = True          # the run's CR masks, as its final drizzle used them
    assert panel.origin == (0, 0) and nx == ny
    sub, wsub = panel.product.sci, panel.product.wht
    both = (res.wht > 0) & (wsub > 0)
    close = np.abs(sub - res.sci) <= 1e-4 * np.abs(res.sci).max()
    # identical except where the run also masked pixels (static mask)
    assert close[both].mean() > 0.99


def test_bad_input(sim):
    inputs = _inputs(sim)
    with pytest.raises(InputError, match="nothing"):
        DrizzlePanel([])
    with pytest.raises(InputError, match="inputs\\[0\\]"):
        DrizzlePanel([(inputs[0][0], "no wcs")])
    with pytest.raises(ShapeError, match="cr_masks\\[0\\]"):
        DrizzlePanel(inputs, cr_masks=[np.zeros((3, 3), bool), None])
    with pytest.raises(InputError, match="names"):
        DrizzlePanel(inputs, names=["a"])
    with pytest.raises(InputError, match="preview size"):
        preview_frame(WCS(inputs[0][1].to_header()), (0.0, 0.0), 1)
