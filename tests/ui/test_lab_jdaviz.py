"""drizzlekit's panels beside Imviz in JupyterLab, on jdaviz's bqplot 0.12.

JupyterLab is served from ``.venv-jdaviz`` (``tests/compat/make_jdaviz_venv.sh``), so the
kernel and the front-end extensions are jdaviz's: bqplot 0.12.47 and bqplot-image-gl 1.10
without bqplot-gl. Playwright and Chromium are driven from this environment, as in the
other Lab tests. One notebook shows a DrizzlePanel, an AlignPanel and a ``_drz.fits`` in
Imviz (``show_in_imviz``); at 1280x800 every image must be drawn (not blank), fully
visible, with no sideways scrolling and no console errors. Skipped without the jdaviz
environment (a failure under ``CI=true``).
"""

from __future__ import annotations

import re

import pytest
import uihelpers
from uihelpers import (LabSession, assert_figures_visible, assert_no_horizontal_scroll,
                       assert_not_blank, save_shot)

from tests.helpers import jdaviz_env_program

pytestmark = pytest.mark.browser


#: ipypopout (a jdaviz dependency) logs this with console.error when solara is installed;
#: it is a notice, not a failure
_JDAVIZ_NOTICES = ("Solara found, using Solara popout page",)

CELLS = [
    """import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import bqplot, jdaviz
import numpy as np
from astropy.table import Table
from astropy.wcs import WCS
from drizzlekit.datasets import simulate_dither
from drizzlekit.pipeline import astrodrizzle
from drizzlekit.widgets import AlignPanel, DrizzlePanel, show_in_imviz
assert bqplot.__version__.startswith("0.12."), bqplot.__version__
sim = simulate_dither(n_exposures=2, shape=(128, 128), n_stars=40, n_galaxies=3, seed=4)
res = astrodrizzle(sim.hdulists, output="jdz", progress=False, runfile="", in_memory=True)
inputs = [(h["SCI", 1].data, WCS(h["SCI", 1].header), 400.0) for h in sim.hdulists]
images = []
for i, h in enumerate(sim.hdulists):
    w = WCS(h["SCI", 1].header)
    w.pixel_shape = (128, 128)
    cat = sim.truth.catalog
    x, y = sim.truth.wcs[i][0].all_world2pix(cat["ra"], cat["dec"], 0)
    ok = (x > 2) & (y > 2) & (x < 125) & (y < 125)
    images.append((Table({"x": x[ok], "y": y[ok]}), w))""",
    """dpanel = DrizzlePanel(inputs, names=["exp0", "exp1"], preview_size=128, size=400)
dpanel.widget""",
    """apanel = AlignPanel(images, data=[h["SCI", 1].data for h in sim.hdulists],
                    names=["exposure 0", "exposure 1"], size=400)
apanel.widget""",
    """imviz = show_in_imviz("jdz_drz.fits")""",
    """menu = imviz.viewers["Image"].data_menu
print(f"bqplot={bqplot.__version__} jdaviz={jdaviz.__version__} "
      f"drizzle_gl={dpanel.sci_view.use_gl} align_gl={apanel.viewer.use_gl} "
      f"imviz={list(imviz.datasets)} visible={menu.data_labels_visible}")""",
]


@pytest.fixture(scope="module")
def jdaviz_lab(tmp_path_factory):
    """JupyterLab served from the jdaviz environment (its kernel and extensions)."""
    exe = jdaviz_env_program("jupyter-lab")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(uihelpers, "jupyter_lab_exe", lambda: str(exe))
        try:
            server = uihelpers.start_lab_server(tmp_path_factory.mktemp("lab-jdaviz"))
        except RuntimeError as exc:
            pytest.fail(str(exc))
    yield server
    server.stop()


def test_panels_and_imviz_render_on_bqplot_012(jdaviz_lab, browser):
    session = LabSession(jdaviz_lab, browser, None)
    try:
        page = session.open(CELLS, viewport=(1280, 800), timeout=300)
        info = page.locator(".jp-OutputArea-output >> text=/bqplot=/").first.inner_text()
        print("\n[jdaviz lab]", info)
        assert "bqplot=0.12." in info
        assert "drizzle_gl=True" in info and "align_gl=True" in info   # ImageGL on 0.12
        assert re.search(r"visible=\['jdz_drz\[SCI,1\]'\]", info)
        for css in (".dk-fig-drizzle-sci", ".dk-fig-drizzle-wht", ".jdaviz .bqplot.figure"):
            page.wait_for_selector(f"{css} .plotarea_events")
        page.wait_for_timeout(1500)                              # let the canvases paint
        save_shot(page, "lab-jdaviz-drizzle", ".dk-fig-drizzle-sci")
        save_shot(page, "lab-jdaviz-imviz", ".jdaviz")
        for css in (".dk-fig-drizzle-sci", ".dk-fig-drizzle-wht", ".dk-fig-align",
                    ".jdaviz .bqplot.figure"):
            assert_not_blank(page, css)
        assert assert_figures_visible(page, ".dk-fig") >= 3
        assert_figures_visible(page, ".jdaviz .bqplot.figure")
        assert_figures_visible(page, ".jdaviz")                  # the whole Imviz app
        assert_no_horizontal_scroll(page)
        errors = [e for e in page.dk_errors if not any(n in e for n in _JDAVIZ_NOTICES)]
        assert errors == []
    finally:
        session.close()
