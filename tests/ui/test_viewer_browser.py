"""Browser test of the image viewer: WebGL and PNG rendering, overlay, stretch, blink, linked zoom."""

from __future__ import annotations

import re

import pytest
from uihelpers import dot_count, grey_std, plot_area_shot, save_shot, status_text

pytestmark = pytest.mark.browser


def _state(page) -> str:
    return page.locator(".dk-status .dk-state").inner_text()


def test_viewer_renders_and_reacts(hermetic_page, notebook_url):
    page = hermetic_page
    page.goto(notebook_url("viewer.ipynb"))
    page.wait_for_selector(".dk-status .dk-state")
    n = int(re.search(r"markers=(\d+)", _state(page)).group(1))
    assert n > 10
    for css in (".dk-fig-gl", ".dk-fig-png"):
        page.wait_for_selector(f"{css} .dot >> nth={n - 1}")
        assert dot_count(page, css) == n
    assert page.evaluate("!!document.createElement('canvas').getContext('webgl2')")
    page.wait_for_timeout(1000)  # let the canvases paint
    assert page.dk_errors == []
    before = {}
    for css in (".dk-fig-gl", ".dk-fig-png"):
        shot = plot_area_shot(page, css)
        before[css] = shot
        assert grey_std(shot) > 10, f"{css} looks blank"
    save_shot(page, "viewer-0")

    # stretch dropdown -> kernel re-normalises -> new pixels in the GL figure
    state0 = _state(page)
    page.locator(".dk-viewer-gl .dk-stretch select").select_option("log")
    page.wait_for_function(
        "s => document.querySelector('.dk-status .dk-state').innerText !== s", arg=state0)
    assert "stretch=log" in _state(page)
    page.wait_for_timeout(500)
    assert plot_area_shot(page, ".dk-fig-gl") != before[".dk-fig-gl"]

    # blink -> frame 1
    page.locator(".dk-viewer-gl .dk-blink").click()
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-state').innerText.includes('frame=1')")

    # wheel zoom on the GL figure moves the shared scales: both figures show the same ticks
    view0 = page.locator(".dk-status .dk-view").inner_text()
    box = page.locator(".dk-fig-gl .plotarea_events").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function(
        "s => document.querySelector('.dk-status .dk-view').innerText !== s", arg=view0)
    page.wait_for_timeout(300)
    ticks = [page.locator(f"{css} .axis .tick text").first.text_content()
             for css in (".dk-fig-gl", ".dk-fig-png")]
    assert ticks[0] == ticks[1]
    # hover -> cursor readout (pixel, value, RA/Dec) comes back from the kernel
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55, steps=3)
    page.wait_for_function(
        "() => document.querySelector('.dk-viewer-gl .dk-readout').innerText.includes('RA=')")
    text = status_text(page, ".dk-viewer-gl .dk-readout")
    assert "value=" in text and "Dec=" in text
    save_shot(page, "viewer-1")
    assert page.dk_errors == []
