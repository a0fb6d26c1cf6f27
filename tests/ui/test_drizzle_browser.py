"""Browser test of the drizzle panel: SCI/WHT previews, CR overlay, pixfrac slider, context click."""

from __future__ import annotations

import re
import time

import pytest
from uihelpers import dot_count, grey_std, plot_area_shot, save_shot

pytestmark = pytest.mark.browser


def _status(page) -> str:
    return page.locator(".dk-status").first.inner_text()


def test_drizzle_panel_renders_and_reacts(hermetic_page, notebook_url):
    page = hermetic_page
    page.goto(notebook_url("drizzle.ipynb"))
    page.wait_for_selector(".dk-status .dk-drz")
    assert "crs=0" in _status(page)                  # the cosmic-ray overlay is off by default
    for css in (".dk-fig-drizzle-sci", ".dk-fig-drizzle-wht"):
        assert dot_count(page, css) == 0
    page.wait_for_timeout(1000)
    assert page.dk_errors == []
    before = plot_area_shot(page, ".dk-fig-drizzle-sci")
    assert grey_std(before) > 10
    assert grey_std(plot_area_shot(page, ".dk-fig-drizzle-wht")) > 10
    save_shot(page, "drizzle-0")

    # outline the cosmic rays (one path per view), hide them again
    page.locator(".dk-show-crs input").click()
    page.wait_for_function("() => /crs=[1-9]/.test(document.querySelector('.dk-status').innerText)")
    for css in (".dk-fig-drizzle-sci", ".dk-fig-drizzle-wht"):
        page.wait_for_selector(f"{css} path.line")
    page.locator(".dk-show-crs input").click()
    page.wait_for_function("() => /crs=0\\b/.test(document.querySelector('.dk-status').innerText)")
    status0 = _status(page)
    assert "pixfrac=1 " in status0
    handle = page.locator(".dk-param-final_pixfrac .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    t0 = time.perf_counter()
    for _ in range(40):
        handle.press("ArrowLeft")
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-drz').innerText.includes('pixfrac=0.6 ')")
    print(f"40 pixfrac steps to the final preview: {time.perf_counter() - t0:.2f} s")
    page.wait_for_timeout(500)
    after = plot_area_shot(page, ".dk-fig-drizzle-sci")
    assert after != before and grey_std(after) > 10

    # click the middle of the SCI image: the context lists the contributing inputs
    box = page.locator(".dk-fig-drizzle-sci .plotarea_events").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => document.querySelector('.dk-context').innerText.includes('input(s)')")
    text = page.locator(".dk-context").inner_text()
    n = int(re.search(r"(\d+) input\(s\)", text).group(1))
    assert 1 <= n <= 3 and len(re.findall(r"exp\d", text)) == n
    save_shot(page, "drizzle-1")
    assert page.dk_errors == []
