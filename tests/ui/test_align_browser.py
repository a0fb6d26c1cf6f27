"""Browser test of the alignment panel: overlays, plots, a slider re-fits live."""

from __future__ import annotations

import re
import time

import pytest
from uihelpers import (color_fraction, dot_count, drag_slider_past_end, grey_std, plot_area_shot,
                       save_shot, wait_for_plot)

pytestmark = pytest.mark.browser

USED, CLIPPED = (0x00, 0xE6, 0x76), (0xFF, 0x17, 0x44)   # the panel's colours


def _counts(page) -> dict:
    text = page.locator(".dk-status .dk-counts").inner_text()
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def _fitinfo(page) -> dict:
    text = page.locator(".dk-status .dk-fitinfo").inner_text()
    return {k: int(v) for k, v in re.findall(r"(nmatch|nused)=(\d+)", text)}


def test_align_panel_renders_and_refits(hermetic_page, notebook_url):
    page = hermetic_page
    page.goto(notebook_url("align.ipynb"))
    page.wait_for_selector(".dk-status .dk-rms")
    counts, info = _counts(page), _fitinfo(page)
    total = sum(counts.values())
    assert counts["matched"] > 800 and counts["clipped"] > 0 and counts["reference"] > 800
    page.wait_for_selector(".dk-fig-align .dot")
    page.wait_for_timeout(500)
    # crowded sets are thinned by the viewer (zoom in for the rest): never more than all
    assert 0 < dot_count(page, ".dk-fig-align") <= total
    # the residual points are WebGL (no SVG element per point): look at the pixels,
    # used pairs in green and clipped ones in red
    for css in (".dk-fig-align-dx-x", ".dk-fig-align-dy-y"):
        wait_for_plot(page, css, lambda png: color_fraction(png, CLIPPED) > 0
                      and color_fraction(png, USED) > 0.002)
    page.wait_for_timeout(1000)
    assert page.dk_errors == []
    assert grey_std(plot_area_shot(page, ".dk-fig-align")) > 10
    assert grey_std(plot_area_shot(page, ".dk-fig-align-hist")) > 10
    save_shot(page, "align-0")

    # drag the sigma slider to its right end: nothing is clipped any more
    status0 = page.locator(".dk-status").inner_text()
    drag_slider_past_end(page, "sigma", steps=8)
    t0 = time.perf_counter()
    page.mouse.up()
    page.wait_for_function("s => document.querySelector('.dk-status').innerText !== s",
                           arg=status0)
    round_trip = time.perf_counter() - t0
    counts1, info1 = _counts(page), _fitinfo(page)
    assert counts1["clipped"] == 0 and info1["nused"] == info1["nmatch"] > info["nused"]
    # the residual plots follow: no clipped (red) markers left
    wait_for_plot(page, ".dk-fig-align-dx-x", lambda png: color_fraction(png, CLIPPED) == 0)
    assert grey_std(plot_area_shot(page, ".dk-fig-align-dx-x")) > 5
    print(f"slider -> refit -> status round trip: {round_trip * 1000:.0f} ms")
    save_shot(page, "align-1")
    assert page.dk_errors == []
