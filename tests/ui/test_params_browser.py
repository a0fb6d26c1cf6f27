"""Browser test of a generated parameter panel: tooltip, inline error, reset, slider, dropdown."""

from __future__ import annotations

import pytest
from uihelpers import save_shot

pytestmark = pytest.mark.browser


def _values(page) -> str:
    return page.locator(".dk-status .dk-values").inner_text()


def _errors(page) -> str:
    return page.locator(".dk-status .dk-errors").inner_text()


def test_params_panel_in_the_browser(hermetic_page, notebook_url):
    page = hermetic_page
    page.goto(notebook_url("params.ipynb"))
    page.wait_for_selector(".dk-status .dk-values")
    page.wait_for_selector(".dk-params-astrodrizzle .dk-params-reset", timeout=90_000)
    assert "errors=none" in _errors(page)

    # help on hover: the tooltip is the title of the parameter's label
    title = page.locator(".dk-param-tolerance .widget-label").first.get_attribute("title")
    assert "Final matching radius" in title and "[pixels]" in title and "default: 1.0" in title

    # an invalid entry is rejected inline and reported
    box = page.locator(".dk-param-tolerance input").first
    box.fill("-1")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-errors').innerText.includes('tolerance')")
    err = page.locator(".dk-param-tolerance .dk-param-error").inner_text()
    assert "tolerance" in err and ">" in err
    assert "tolerance=1 " in _values(page) + " "       # the value was not taken

    # reset clears it
    page.locator(".dk-params-tweakreg .dk-params-reset").click()
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-errors').innerText.includes('none')")
    assert page.locator(".dk-param-tolerance .dk-param-error").inner_text().strip() == ""

    # slider: focus the handle and step it with the keyboard (one step per key)
    v0 = _values(page)
    handle = page.locator(".dk-param-searchrad .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-values').innerText.includes('searchrad=1.5')")
    assert _values(page) != v0

    # dropdown
    page.locator(".dk-param-fitgeometry select").select_option("general")
    page.wait_for_function(
        "() => document.querySelector('.dk-status .dk-values').innerText"
        ".includes('fitgeometry=general')")
    save_shot(page, "params")
    assert page.dk_errors == []
