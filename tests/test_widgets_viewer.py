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
