"""Python-side tests of the display normalisation and the image viewer (no browser)."""

from __future__ import annotations

import io

import numpy as np
import pytest

W = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot_image_gl")

from astropy import visualization as vis  # noqa: E402
from astropy.wcs import WCS  # noqa: E402
from bqplot_image_gl import ImageGL  # noqa: E402

from drizzlekit.exceptions import InputError, ShapeError  # noqa: E402
from drizzlekit.widgets import ImageViewer, link_views, normalize, to_png  # noqa: E402
from drizzlekit.widgets.stretch import colormap_lut, interval_limits  # noqa: E402


@pytest.fixture
def image():
    rng = np.random.default_rng(1)
    img = rng.normal(100.0, 5.0, (60, 100)).astype(np.float32)
    img[30, 40] = 5000.0
    img[5, 7] = np.nan
    return img


@pytest.fixture
def wcs():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [50.0, 30.0]
    w.wcs.cd = [[-1e-5, 0.0], [0.0, 1e-5]]
    return w


# ---------------------------------------------------------------------------- stretch
def test_normalize_linear_is_the_clipped_affine_map(image):
    out, (lo, hi) = normalize(image, stretch="linear", vmin=90.0, vmax=110.0)
    assert (lo, hi) == (90.0, 110.0) and out.dtype == np.float32
    ref = np.clip((image.astype(np.float64) - 90.0) / 20.0, 0, 1)
    ok = np.isfinite(image)
    np.testing.assert_allclose(out[ok], ref[ok], atol=1e-6)
    assert out[5, 7] == 0.0                                    # NaN -> 0
    assert out[30, 40] == 1.0


@pytest.mark.parametrize("name,cls", [("sqrt", vis.SqrtStretch), ("log", vis.LogStretch),
                                      ("asinh", vis.AsinhStretch)])
def test_normalize_applies_the_astropy_stretch(image, name, cls):
    lin, lim = normalize(image, "minmax", "linear")
    out, lim2 = normalize(image, "minmax", name)
    assert lim == lim2
    np.testing.assert_allclose(out, cls()(lin.astype(np.float64), clip=True), atol=2e-6)
    assert out.min() >= 0 and out.max() <= 1


def test_interval_limits_match_astropy(image):
    finite = image[np.isfinite(image)].astype(float)
    assert interval_limits(image, "minmax") == (finite.min(), finite.max())
    lo, hi = interval_limits(image, "99%")
    np.testing.assert_allclose((lo, hi), np.percentile(finite, [0.5, 99.5]), rtol=1e-6)
    lo, hi = interval_limits(image, "zscale")
    np.testing.assert_allclose((lo, hi), vis.ZScaleInterval().get_limits(finite), rtol=1e-6)
    assert interval_limits(np.full((4, 4), 3.0), "minmax") == (2.5, 3.5)  # flat image


def test_histeq_flattens_the_histogram():
    img = np.random.default_rng(0).exponential(1.0, (200, 200))
    out, _ = normalize(img, "minmax", "histeq")
    counts, _ = np.histogram(out, bins=10, range=(0, 1))
    assert counts.min() > 0.8 * counts.mean()


def test_normalize_bad_input(image):
    with pytest.raises(InputError, match="stretch.*'cubic'"):
        normalize(image, stretch="cubic")
    with pytest.raises(InputError, match="interval.*'median'"):
        normalize(image, interval="median")
    with pytest.raises(InputError, match="vmax"):
        normalize(image, vmin=5, vmax=5)
    with pytest.raises(ShapeError, match="data"):
        normalize(np.zeros((2, 3, 4)))


def test_colormaps_and_png(image):
    lut = colormap_lut("gray")
    assert tuple(lut[0]) == (0, 0, 0) and tuple(lut[-1]) == (255, 255, 255)
    assert tuple(colormap_lut("viridis")[0]) == (0x44, 0x01, 0x54)
    from PIL import Image

    img01 = np.zeros((4, 6), np.float32)
    img01[0, :] = 1.0                                           # bottom row bright
    rgb = np.asarray(Image.open(io.BytesIO(to_png(img01, "gray"))).convert("RGB"))
    assert rgb.shape == (4, 6, 3)
    assert (rgb[-1] == 255).all() and (rgb[:-1] == 0).all()     # flipped: PNG bottom = row 0
    with pytest.raises(InputError, match="colormap"):
        colormap_lut("jet")


# ---------------------------------------------------------------------------- viewer
def test_viewer_holds_the_normalised_image(image, wcs):
    v = ImageViewer(image, wcs, name="v", use_gl=True)
    assert isinstance(v.image_mark, ImageGL)
    ref, lim = normalize(image, "zscale", "linear")
    np.testing.assert_array_equal(v.image_mark.image, ref)
    assert v.limits == lim
    assert tuple(v.image_mark.x) == (-0.5, 99.5) and tuple(v.image_mark.y) == (-0.5, 59.5)
    x0, x1, y0, y1 = v.view                                      # square pixels:
    assert x1 - x0 == y1 - y0 == 100.0                           # equal ranges
    assert v.figure.min_aspect_ratio == v.figure.max_aspect_ratio == 1.0
    assert "dk-fig-v" in v.figure._dom_classes
    v.stretch_select.value = "sqrt"                              # dropdown -> trait -> redraw
    assert v.stretch == "sqrt"
    np.testing.assert_array_equal(v.image_mark.image, normalize(image, "zscale", "sqrt")[0])
    v.colormap = "magma"
    assert v.color_scale.colors[0] == "#000004"


def test_png_fallback_sends_a_new_image_widget(image):
    v = ImageViewer(image, use_gl=False)
    first = v.image_mark.image
    assert isinstance(first, W.Image) and first.format == "png"
    assert first.value[:8] == b"\x89PNG\r\n\x1a\n"
    v.interval = "minmax"
    assert v.image_mark.image is not first                      # repaint needs a new widget
    from PIL import Image

    png = np.asarray(Image.open(io.BytesIO(v.image_mark.image.value)).convert("L"), float)
    expect = np.flipud(np.round(normalize(image, "minmax")[0] * 255))
    assert np.abs(png - expect).max() <= 1


def test_linked_views_share_scales(image):
    a = ImageViewer(image, name="a")
    b = ImageViewer(image, name="b", share=a)
    assert b.x_scale is a.x_scale and b.y_scale is a.y_scale
    a.zoom_to(40, 30, 10)
    assert b.view == (30.0, 50.0, 20.0, 40.0)
    c = ImageViewer(image, name="c")
    link_views([a, c])
    a.set_view(0, 20, 0, 20)
    assert c.view == (0.0, 20.0, 0.0, 20.0)
    with pytest.raises(InputError, match="view"):
        a.set_view(5, 5, 0, 1)


def test_cursor_readout_and_click(image, wcs):
    v = ImageViewer(image, wcs)
    clicks = []
    v.on_click(lambda x, y: clicks.append((x, y)))
    v.mouse._handle_custom_msg({"event": "mousemove", "domain": {"x": 40.3, "y": 29.6}}, [])
    r = v.cursor
    assert (r["i"], r["j"]) == (40, 30) and r["value"] == 5000.0
    ra, dec = wcs.all_pix2world([40.3], [29.6], 0)
    assert r["ra"] == pytest.approx(ra[0], abs=1e-12) and r["dec"] == pytest.approx(dec[0])
    assert "value=5000" in v.readout.value and "RA=10:00:" in v.readout.value
    v.mouse._handle_custom_msg({"event": "click", "domain": {"x": 3.0, "y": 4.0}}, [])
    assert clicks == [(3.0, 4.0)]
    r = v.read(-10.0, 4.0)                                       # off the image: no value
    assert r["value"] is None and r["ra"] is not None


def test_frames_and_blink(image, wcs):
    v = ImageViewer(image, wcs, name="blinker")
    other = image[::-1].copy()
    assert v.add_frame(other, wcs, name="flipped", show=False) == 1
    assert v.frame == 0 and v.frame_names == ["blinker", "flipped"]
    assert v.frame_row.layout.display == "flex"
    assert v.blink() == 1
    np.testing.assert_array_equal(v.image_mark.image, normalize(other)[0])
    assert v.frame_select.value == 1
    assert v.blink() == 0 and v.blink(-1) == 1
    v.show(0)
    v.play.value = 1                                            # animation ticks show frames
    assert v.frame == 1
    v.show("flipped")
    assert v.frame == 1
    with pytest.raises(InputError, match="no frame named"):
        v.show("missing")
    with pytest.raises(InputError, match="out of range"):
        v.show(5)
    with pytest.raises(ShapeError, match="2-D"):
        v.add_frame(np.zeros((2, 2, 2)))


def test_markers(image):
    v = ImageViewer(image)
    sc = v.add_markers("cat", [1, 2, 3], [4, 5, 6], color="red")
    assert sc in v.figure.marks and v.marker_counts() == {"cat": 3}
    assert sc.scales["x"] is v.x_scale and sc.scales["y"] is v.y_scale
    same = v.add_markers("cat", [7], [8])
    assert same is sc and list(sc.x) == [7.0] and len(v.figure.marks) == 2
    v.remove_markers("cat")
    assert sc not in v.figure.marks and v.marker_counts() == {}
    with pytest.raises(ShapeError, match="differ in length"):
        v.add_markers("bad", [1, 2], [1])


def test_viewer_bad_arguments(image):
    with pytest.raises(InputError, match="interval"):
        ImageViewer(image, interval="nope")
    with pytest.raises(InputError, match="no image"):
        ImageViewer().current


def test_stretch_change_sends_one_image_update(image, monkeypatch):
    """Only the changed traits go to the front-end, once."""
    v = ImageViewer(image, use_gl=True)
    sent = []
    monkeypatch.setattr(v.image_mark.comm, "send",
                        lambda data=None, metadata=None, buffers=None: sent.append(data))
    v.stretch = "asinh"
    states = [m["state"] for m in sent if m and m.get("method") == "update"]
    assert sum("image" in s for s in states) == 1


def test_webgl_switch(image, monkeypatch):
    from drizzlekit.widgets import webgl_default

    monkeypatch.setenv("DRIZZLEKIT_WEBGL", "0")
    assert webgl_default() is False
    v = ImageViewer(image)
    assert not isinstance(v.image_mark, ImageGL) and isinstance(v.image_mark.image, W.Image)
    monkeypatch.setenv("DRIZZLEKIT_WEBGL", "1")
    assert isinstance(ImageViewer(image).image_mark, ImageGL)


def test_frames_of_another_shape_refit_the_view(image):
    v = ImageViewer(image)                                      # 100 x 60
    v.zoom_to(10, 10, 5)
    v.add_frame(np.ones((30, 40)), name="small")                # shown: view refits
    assert v.view == (-0.5, 39.5, -5.5, 34.5)
    v.zoom_to(10, 10, 5)
    v.add_frame(np.zeros((30, 40)), name="same shape")          # same shape: view kept
    assert v.view == (5.0, 15.0, 5.0, 15.0)


# ---------------------------------------------------------------------------- issue 11
def test_viewer_fits_its_container(image):
    """No fixed width wider than the output area: the figure is 100 % wide up to ``size``."""
    v = ImageViewer(image, size=480, title="A title")
    lay = v.figure.layout
    assert lay.width == "100%" and lay.max_width == "480px"
    assert v.widget.layout.width == "480px" and v.widget.layout.max_width == "100%"
    assert v.widget.layout.flex == "0 1 auto"
    for w in (v.title_html, v.colorbar, v.readout):             # 100 % wide, no margin
        assert w.layout.width == "100%" and w.layout.margin == "0px"
    m = v.figure.fig_margin                                      # square box -> square plot
    assert m["left"] + m["right"] == m["top"] + m["bottom"]
    assert "aspect-ratio:1/1" in v.title_html.value
    assert v.figure.title == "" and "A title" in v.title_html.value  # not under the toolbar
    if v.figure.has_trait("display_toolbar"):                   # bqplot 0.13 (0.12 has none)
        assert v.figure.display_toolbar is False


def test_browser_without_webgl_switches_to_png(image, wcs, monkeypatch):
    from drizzlekit.widgets import webgl

    monkeypatch.setitem(webgl.BROWSER_WEBGL, "webgl", None)
    v = ImageViewer(image, wcs, name="gl")
    v.set_markers("cat", [1, 2], [3, 4])
    v.zoom_to(20, 20, 10)
    old_fig = v.figure
    assert v.use_gl and isinstance(v.image_mark, ImageGL) and v.note.layout.display == "none"
    v.probe.text.value = "1"                                    # browser: WebGL present
    assert v.use_gl and v.figure is old_fig
    v.probe.text.value = "0"                                    # browser: no WebGL
    assert not v.use_gl and isinstance(v.image_mark.image, W.Image)
    assert v.figure is not old_fig and v.figure in v.widget.children
    assert old_fig not in v.widget.children
    assert "WebGL is not available" in v.note.value and v.note.layout.display is None
    assert v.marker_marks["cat"] in v.figure.marks              # overlays and view kept
    assert v.view == (10.0, 30.0, 10.0, 30.0)
    assert "dk-fig-gl" in v.figure._dom_classes
    assert webgl.browser_webgl() is False
    assert ImageViewer(image).use_gl is False                   # later viewers start as PNG
    assert 'onerror="' in v.probe.html.value and "webgl" in v.probe.html.value


def test_colorbar_shows_cut_levels_histogram_and_units():
    from drizzlekit.widgets.colorbar import colorbar_svg, format_value

    wht = 399.59 + 0.83 * np.linspace(0, 1, 400 * 300).reshape(300, 400)
    v = ImageViewer(wht, interval="minmax", unit="s", stretch="sqrt", colormap="viridis")
    svg = v.colorbar.value
    assert svg.startswith("<svg") and "399.59" in svg and "400.42 s" in svg
    assert "linearGradient" in svg and "sqrt stretch" in svg and "<path d='M" in svg
    assert format_value(399.59, 0.83) == "399.59" and format_value(399.59) == "399.6"
    v.stretch = "log"
    assert "log stretch" in v.colorbar.value
    with pytest.raises(InputError, match="limits"):
        colorbar_svg(np.ones(4), (1.0, 1.0))


def test_cut_levels_editable(image):
    v = ImageViewer(image, interval="minmax")
    finite = image[np.isfinite(image)]
    assert v.cuts == (finite.min(), finite.max())
    assert (v.cut_low.value, v.cut_high.value) == pytest.approx(v.cuts, rel=1e-6)
    v.cut_high.value = 120.0                                    # typed in the box
    assert v.interval == "manual" and v.cuts == (finite.min(), 120.0)
    np.testing.assert_array_equal(v.image01, normalize(image, vmin=finite.min(),
                                                       vmax=120.0)[0])
    v.cuts = (90, 110)                                          # astrowidgets: tuple
    assert v.cuts == (90.0, 110.0) and v.cut_low.value == 90.0
    v.cuts = "99%"                                              # ... or an interval name
    assert v.interval == "99%" and v.cuts == interval_limits(image, "99%")
    v.cuts = vis.ManualInterval(95, 105)                        # ... or an astropy interval
    assert v.cuts == (95.0, 105.0)
    v.cut_low.value = 200.0                                     # invalid: boxes restored
    assert v.cuts == (95.0, 105.0) and v.cut_low.value == 95.0
    assert "greater than min" in v.readout.value
    with pytest.raises(InputError, match="interval"):
        v.cuts = "median"
    with pytest.raises(InputError, match="cuts"):
        v.cuts = (5, 1)


def test_readout_units_and_refresh_on_blink(image, wcs):
    from astropy import units as u

    v = ImageViewer(image * u.electron / u.s, wcs, name="first")
    v.add_frame(image[::-1] * 2, wcs, name="second", show=False, unit="adu")
    r = v.read(40.0, 30.0)
    assert r["unit"] == "electron / s" and "5000 electron / s" in v.readout.value
    assert "RA=10:00:" in v.readout.value and "(150.0" in v.readout.value  # hms and degrees
    v.blink()                                                   # same cursor, new frame
    assert v.cursor["value"] == float(image[::-1][30, 40] * 2)
    assert "second" in v.readout.value and "adu" in v.readout.value


def test_astrowidgets_view_api(image, wcs):
    from astropy.coordinates import SkyCoord

    v = ImageViewer(image, wcs, size=420)
    v.center_on((40, 30))
    x0, x1, y0, y1 = v.view
    assert (x0 + x1) / 2 == 40 and (y0 + y1) / 2 == 30
    v.zoom_level = 4                                            # 4 screen px per pixel
    assert v.zoom_level == pytest.approx(4.0)
    v.zoom(0.5)
    assert v.zoom_level == pytest.approx(2.0)
    ra, dec = wcs.all_pix2world([10.0], [20.0], 0)
    v.center_on(SkyCoord(ra[0], dec[0], unit="deg"))
    x0, x1, y0, y1 = v.view
    assert (x0 + x1) / 2 == pytest.approx(10.0) and (y0 + y1) / 2 == pytest.approx(20.0)
    v.offset_by(5, -5)
    assert (v.view[0] + v.view[1]) / 2 == pytest.approx(15.0)
    v.zoom_level = "fit"
    assert v.view == (-0.5, 99.5, -20.5, 79.5)
    v.stretch = "asinh"                                         # a plain trait, as before
    with pytest.raises(InputError, match="zoom_level"):
        v.zoom_level = -1
    with pytest.raises(InputError, match="center_on"):
        v.center_on("middle")


def test_astrowidgets_marker_api(image, wcs):
    from astropy.table import Table

    v = ImageViewer(image, wcs)
    t = Table({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    v.add_markers(t)                                            # default name
    v.add_markers(Table({"x": [5.0], "y": [6.0]}))              # appends
    got = v.get_markers()
    assert list(got["x"]) == [1.0, 2.0, 5.0] and "coord" in got.colnames
    v.marker = {"type": "cross", "color": "red", "radius": 5}
    sky = got["coord"][:2]
    v.add_markers(Table({"coord": sky}), use_skycoord=True, marker_name="sky")
    np.testing.assert_allclose(v.get_markers(marker_name="sky")["x"], [1.0, 2.0], atol=1e-6)
    sc = v.marker_marks["sky"]
    assert sc.marker == "cross" and sc.colors == ["red"] and sc.default_size == 25
    both = v.get_markers(marker_name="all")
    assert len(both) == 5 and set(both["marker name"]) == {"default-marker-name", "sky"}
    v.remove_markers(marker_name="sky")
    assert v.get_markers(marker_name="sky") is None and "sky" not in v.marker_marks
    v.remove_markers("not there")                               # ignored
    v.reset_markers()
    assert v.markers == {} and len(v.figure.marks) == 1
    with pytest.raises(InputError, match="reserved"):
        v.add_markers(t, marker_name="all")
    with pytest.raises(InputError, match="column"):
        v.add_markers(Table({"a": [1.0]}))


def test_crowded_markers_are_thinned_and_shrunk(image):
    from astropy.table import Table

    rng = np.random.default_rng(3)
    n = 2212
    t = Table({"x": rng.uniform(0, 99, n), "y": rng.uniform(0, 59, n),
               "flux": rng.pareto(1.5, n)})
    v = ImageViewer(image, max_markers=600)
    v.add_markers(t, marker_name="sources")
    sc = v.marker_marks["sources"]
    assert v.marker_counts() == {"sources": n} and len(sc.x) == 600
    brightest = np.argsort(-t["flux"])[:600]                   # the brightest are kept
    assert set(np.asarray(sc.x)) == set(np.asarray(t["x"])[brightest])
    assert sc.default_size < 64                                # and drawn smaller
    assert "600 of 2212 shown" in v.marker_info.value
    v.zoom_to(20, 20, 5)                                        # zoom in: all in view shown
    inside = (t["x"] >= 15) & (t["x"] <= 25) & (t["y"] >= 15) & (t["y"] <= 25)
    assert len(sc.x) == inside.sum() and len(sc.x) < 600
    size0 = sc.default_size
    v.marker_size.value = 2.0                                  # the size control
    assert sc.default_size > size0
    toggle = v.marker_toggles.children[0]
    assert toggle.description == "sources" and v.marker_row.layout.display == "flex"
    toggle.value = False                                        # the visibility control
    assert sc.visible is False and v.markers["sources"].visible is False
    v.set_marker_visible("sources", True)
    assert sc.visible is True and toggle.value is True


def test_mask_outline_draws_region_edges():
    from drizzlekit.widgets.markers import mask_outline

    m = np.zeros((5, 6), bool)
    m[1:3, 2:5] = True                                          # one 3 x 2 block
    x, y, block = mask_outline(m)
    assert block == 1
    segs = np.column_stack([x, y])[~np.isnan(x)].reshape(-1, 2, 2)
    assert len(segs) == 4                                       # merged into 4 sides
    xs, ys = segs[..., 0], segs[..., 1]
    assert xs.min() == 1.5 and xs.max() == 4.5 and ys.min() == 0.5 and ys.max() == 2.5
    assert np.isfinite(x[-1])                                   # no trailing NaN
    noisy = np.random.default_rng(0).random((400, 400)) < 0.05
    x, y, block = mask_outline(noisy, max_segments=2000)       # too many edges: blocks
    assert block > 1 and np.isfinite(x).sum() // 2 <= 2000
    v = ImageViewer(np.zeros((5, 6)))
    lines = v.add_mask_outline("cosmic rays", m)
    assert lines in v.figure.marks and v.marker_counts() == {"cosmic rays": 6}
    v.set_marker_visible("cosmic rays", False)
    assert lines.visible is False


def test_save_writes_the_visible_region(image, tmp_path):
    from PIL import Image

    v = ImageViewer(image, colormap="gray")
    v.set_view(9.5, 29.5, 4.5, 24.5)
    out = v.save(tmp_path / "view.png")
    png = np.asarray(Image.open(out).convert("L"), float)
    assert png.shape == (20, 20)
    expect = np.flipud(np.round(v.image01[5:25, 10:30] * 255))
    assert np.abs(png - expect).max() <= 1
    with pytest.raises(InputError, match="exists"):
        v.save(out)
    v.save(out, overwrite=True)
    with pytest.raises(InputError, match="png"):
        v.save(tmp_path / "view.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["view.png"]  # no temp files left



def test_overlay_bad_inputs(image):
    v = ImageViewer(image)
    with pytest.raises(ShapeError, match="mask"):
        v.add_mask_outline("cr", np.zeros((2, 3, 4), bool))
    with pytest.raises(ShapeError, match="priority"):
        v.set_markers("s", [1, 2], [3, 4], priority=[1.0])
    with pytest.raises(InputError, match="no marker set"):
        v.set_marker_visible("nothing", True)
    with pytest.raises(InputError, match="marker"):
        v.marker = {"type": "star"}
    empty = v.add_mask_outline("empty", np.zeros(image.shape, bool))
    assert len(empty.x) == 0 and v.marker_counts()["empty"] == 0
    assert v.markers == {"empty": v.markers["empty"]}          # failed calls added nothing
