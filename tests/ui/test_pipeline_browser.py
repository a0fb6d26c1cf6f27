"""Browser test of the pipeline panel: step by step with progress, then browse the products."""

from __future__ import annotations

import pytest
from uihelpers import dot_count, grey_std, plot_area_shot, save_shot

pytestmark = pytest.mark.browser


def _state(page, step: str) -> str:
    return page.locator(f".dk-steps .dk-step-{step} .dk-step-state").inner_text()


def test_pipeline_panel_steps_and_products(hermetic_page, notebook_url):
    page = hermetic_page
    page.goto(notebook_url("pipeline.ipynb"))
    page.wait_for_selector(".dk-status .dk-last-step", timeout=120_000)  # voila runs it all
    assert _state(page, "prepare") == "done" and _state(page, "static_mask") == "pending"
    page.wait_for_timeout(800)
    assert grey_std(plot_area_shot(page, ".dk-fig-pipeline")) > 10      # an input chip

    # one step at a time
    page.locator(".dk-next").click()
    page.wait_for_function(
        "() => document.querySelector('.dk-steps .dk-step-static_mask .dk-step-state')"
        ".innerText === 'done'")
    page.locator(".dk-next").click()
    page.wait_for_function(
        "() => document.querySelector('.dk-steps .dk-step-sky .dk-step-state')"
        ".innerText === 'done'")
    assert "sky" in page.locator(".dk-status").inner_text()

    # the rest
    page.locator(".dk-run-all").click()
    page.wait_for_function(
        "() => document.querySelector('.dk-steps .dk-step-final_drizzle .dk-step-state')"
        ".innerText === 'done'")
    nprod = int(page.locator(".dk-status .dk-nproducts").inner_text())
    bar = page.locator(".dk-progress .progress-bar").first.get_attribute("style") or ""
    assert "100%" in bar
    assert nprod == 20          # 3 inputs, 1 static mask, 3x2 singles, median, 3 blots,
    #                             3 CR masks, final SCI/WHT/CTX
    options = page.locator(".dk-viewer-pipeline .dk-frame select option")
    assert options.count() == nprod
    page.wait_for_timeout(800)
    assert "final SCI" in page.locator(".dk-shown").inner_text()
    assert grey_std(plot_area_shot(page, ".dk-fig-pipeline")) > 10      # the final image
    save_shot(page, "pipeline-0")

    # browse back to an input chip: its flagged cosmic rays are outlined (one path)
    page.locator(".dk-viewer-pipeline .dk-frame select").select_option(index=0)
    page.wait_for_function("() => document.querySelector('.dk-shown').innerText.includes('input')")
    ncr = int(page.locator(".dk-shown .dk-ncr").inner_text())
    assert ncr > 0
    page.wait_for_selector(".dk-fig-pipeline path.line")
    assert dot_count(page, ".dk-fig-pipeline") == 0          # no marker per pixel
    save_shot(page, "pipeline-1")
    assert page.dk_errors == []
