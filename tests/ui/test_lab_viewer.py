"""The image viewer in JupyterLab: layout at 1400x900 and 1280x800, pixels, WebGL fallback.

The notebook (``notebooks/lab_viewer.ipynb``) puts a 480-px viewer beside a
control column, as the panels do, with a linked WHT view under it, 2212
crowded markers and cosmic-ray outlines. The slider -> redrawn-figure time
is printed (``-s`` shows it), never asserted.
"""

from __future__ import annotations

import re

import pytest
from uihelpers import (assert_figures_visible, assert_no_horizontal_scroll, assert_not_blank,
                       dot_count, save_shot, time_until_changed)

pytestmark = pytest.mark.browser

NB = "lab_viewer.ipynb"


def _state(page) -> str:
    return page.locator(".dk-status .dk-state").first.inner_text()


def _check_layout(page, label: str) -> None:
    save_shot(page, f"lab-viewer-{label}", ".dk-fig-sci")
    for css in (".dk-fig-sci", ".dk-fig-wht"):
        assert_not_blank(page, css)
    n = assert_figures_visible(page, ".dk-fig")
    assert n == 2
    assert_figures_visible(page, ".dk-colorbar svg")
    assert_no_horizontal_scroll(page)


def test_viewer_in_lab(lab):
    page = lab.open(NB, viewport=(1400, 900))
    page.wait_for_selector(".dk-fig-sci .plotarea_events")
    page.wait_for_selector(".dk-fig-wht .plotarea_events")
    # the browser answered the WebGL probe, and has WebGL: ImageGL stays
    page.wait_for_function("() => document.querySelector('.dk-status .dk-state')"
                           ".innerText.includes('probe=True')")
    assert "webgl=True" in _state(page)
    assert page.locator(".dk-webgl-note").first.inner_text().strip() == ""
    # the crowded set is thinned to max_markers, the outlines are one path
    shown = int(re.search(r"shown=(\d+)", _state(page)).group(1))
    assert 0 < shown <= 400                     # max_markers, of 2212
    page.wait_for_selector(f".dk-fig-sci .dot >> nth={shown - 1}")
    assert dot_count(page, ".dk-fig-sci") == shown
    assert "2212" in page.locator(".dk-viewer-sci .dk-marker-info").inner_text()
    # the colour bar shows the WHT cut levels with enough digits
    assert "399.59" in page.locator(".dk-viewer-wht .dk-colorbar").text_content()
    page.wait_for_timeout(500)  # let the canvases paint
    _check_layout(page, "1400x900")
    # image first, controls beside it when there is room
    fig = page.locator(".dk-fig-sci").bounding_box()
    ctl = page.locator(".dk-shift").bounding_box()
    assert ctl["x"] >= fig["x"] + fig["width"] - 1, "controls should sit beside the image"

    # slider -> kernel -> redrawn image, measured in the browser (reported, not asserted)
    handle = page.locator(".dk-shift .noUi-handle")
    handle.scroll_into_view_if_needed()

    def step():
        handle.focus()
        page.keyboard.press("ArrowRight")

    dt = time_until_changed(page, ".dk-fig-sci", step)
    print(f"\n[lab 1400x900] slider -> redrawn ImageGL figure: {dt:.3f} s")
    page.wait_for_function("() => document.querySelector('.dk-status .dk-state')"
                           ".innerText.includes('shift=4')")

    # hover -> readout with unit and sky position; blink refreshes it
    box = page.locator(".dk-fig-sci .plotarea_events").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55, steps=3)
    page.wait_for_function("() => document.querySelector('.dk-viewer-sci .dk-readout')"
                           ".innerText.includes('electron/s')")
    text = page.locator(".dk-viewer-sci .dk-readout").inner_text()
    assert "RA=" in text and "Dec=" in text and "(" in text  # sexagesimal and degrees
    page.locator(".dk-viewer-sci .dk-blink").click()
    page.wait_for_function("() => document.querySelector('.dk-viewer-sci .dk-readout')"
                           ".innerText.includes('exposure 1')")

    # a narrower window: everything still fits, nothing scrolls sideways
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(1200)
    _check_layout(page, "1280x800")
    assert page.dk_errors == []


def test_viewer_without_webgl_falls_back_to_png(lab):
    page = lab.open(NB, viewport=(1280, 800), webgl=False)
    assert not page.evaluate("() => { const c = document.createElement('canvas');"
                             " return !!(c.getContext('webgl2') || c.getContext('webgl')); }")
    page.wait_for_function("() => document.querySelector('.dk-status .dk-state')"
                           ".innerText.includes('webgl=False')")
    page.wait_for_selector(".dk-viewer-sci .dk-webgl-note >> text=WebGL is not available")
    page.wait_for_selector(".dk-fig-sci .plotarea_events")
    page.wait_for_selector(".dk-fig-sci image")  # the PNG, as an SVG <image>
    page.wait_for_timeout(800)
    save_shot(page, "lab-viewer-nowebgl", ".dk-fig-sci")
    for css in (".dk-fig-sci", ".dk-fig-wht"):
        assert_not_blank(page, css)
    assert_figures_visible(page, ".dk-fig")
    assert_no_horizontal_scroll(page)
    # panning and zooming the PNG figure raises nothing (the failed WebGL views are gone)
    n_errors = len(page.dk_errors)
    box = page.locator(".dk-fig-sci .plotarea_events").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(800)
    assert page.dk_errors[n_errors:] == []
    assert_not_blank(page, ".dk-fig-sci")
    # the only errors are those of the WebGL figure the PNG one replaced
    print("\n[no webgl] errors:", page.dk_errors)
    other = [e for e in page.dk_errors
             if not re.search(r"WebGL|getScales|Could not create a view|three", e, re.I)]
    assert other == []
