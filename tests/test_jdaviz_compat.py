"""drizzlekit beside jdaviz: the widgets on jdaviz's bqplot 0.12, and Imviz for real.

jdaviz 5 pins ``bqplot<0.13``, while drizzlekit's own environment has bqplot 0.13 with
bqplot-gl, so jdaviz lives in an environment of its own, ``.venv-jdaviz``
(``tests/compat/make_jdaviz_venv.sh``, called by ``.ci/run``;
``DRIZZLEKIT_JDAVIZ_PYTHON`` names another interpreter):

* :func:`test_widget_tests_pass_beside_jdaviz` runs ``tests/test_widgets_*.py`` and the
  Imviz tests of this file with that interpreter, in a subprocess. It is skipped when the
  environment is missing, except under ``CI=true`` (where that is a broken set-up).
* the Imviz tests below run where jdaviz imports (in ``.venv-jdaviz``, through the test
  above) and are skipped elsewhere.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from tests.helpers import jdaviz_env_program

ROOT = Path(__file__).resolve().parents[1]
HAVE_JDAVIZ = importlib.util.find_spec("jdaviz") is not None
NO_JDAVIZ = ("jdaviz is not installed here (it runs in .venv-jdaviz: "
             "tests/compat/make_jdaviz_venv.sh)")


@pytest.mark.slow
def test_widget_tests_pass_beside_jdaviz():
    """The widget tests and the Imviz round trip pass in jdaviz's environment (bqplot 0.12)."""
    if HAVE_JDAVIZ:
        pytest.skip("this is the jdaviz environment: its tests run directly")
    exe = jdaviz_env_program("python")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_widgets_*.py"))
    assert files, "no widget tests found"
    me = str(Path(__file__).relative_to(ROOT))
    cmd = [str(exe), "-m", "pytest", "-q", "-rs", "-o", "addopts=", "-p", "no:cacheprovider",
           *files, me, "--deselect", f"{me}::test_widget_tests_pass_beside_jdaviz"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DRIZZLEKIT_WEBGL")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    print(out[-1500:])
    assert proc.returncode == 0, f"tests failed beside jdaviz ({' '.join(cmd)}):\n{out[-6000:]}"
    skipped = [ln for ln in out.splitlines() if ln.startswith("SKIPPED")]
    assert not [ln for ln in skipped if "test_jdaviz_compat" in ln or "could not import" in ln], \
        f"tests skipped in the jdaviz environment:\n{skipped}"
    assert re.search(r"\b\d+ passed", out)


# ------------------------------------------------------------ in the jdaviz environment
@pytest.fixture(scope="module")
def drz(tmp_path_factory):
    """A small AstroDrizzle run: (result, path of its _drz.fits)."""
    if not HAVE_JDAVIZ:
        pytest.skip(NO_JDAVIZ)
    from drizzlekit.datasets import simulate_dither
    from drizzlekit.pipeline import astrodrizzle

    d = tmp_path_factory.mktemp("imviz")
    sim = simulate_dither(n_exposures=2, shape=(64, 64), n_stars=10, n_galaxies=2, seed=1)
    res = astrodrizzle(sim.hdulists, output=str(d / "tiny"), progress=False, runfile="",
                       in_memory=True)
    path = d / "tiny_drz.fits"
    assert path.exists()
    return res, path


def _same_sky(w1, w2, shape) -> None:
    ny, nx = shape
    x = np.array([0.0, nx - 1.0, 0.0, nx - 1.0, nx / 2])
    y = np.array([0.0, 0.0, ny - 1.0, ny - 1.0, ny / 2])
    for a, b in zip(w1.pixel_to_world_values(x, y), w2.pixel_to_world_values(x, y)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)   # degrees


@pytest.mark.skipif(not HAVE_JDAVIZ, reason=NO_JDAVIZ)
def test_this_environment_has_jdaviz_with_bqplot_012():
    from importlib.metadata import version

    major_minor = tuple(int(p) for p in version("bqplot").split(".")[:2])
    assert major_minor < (0, 13), "jdaviz's environment should have its own bqplot pin"
    assert importlib.util.find_spec("bqplot_image_gl") is not None


@pytest.mark.skipif(not HAVE_JDAVIZ, reason=NO_JDAVIZ)
def test_show_in_imviz_opens_a_drz_file_with_its_wcs(drz):
    from drizzlekit.widgets import show_in_imviz

    _, path = drz
    app = show_in_imviz(str(path), show=False)
    labels = list(app.datasets)
    assert labels == ["tiny_drz[SCI,1]", "tiny_drz[WHT,1]"]
    sci_label, wht_label = labels
    with fits.open(path) as hdul:
        sci, wht = hdul["SCI"].data.copy(), hdul["WHT"].data.copy()
        wcs = WCS(hdul["SCI"].header, hdul)
    nd = app.datasets[sci_label].get_data()
    np.testing.assert_array_equal(np.asarray(nd.data), sci)
    _same_sky(nd.wcs, wcs, sci.shape)                                 # Imviz has the WCS
    assert str(nd.unit) in ("electron / s", "e / s")
    np.testing.assert_array_equal(np.asarray(app.datasets[wht_label].get_data().data), wht)
    # both are in Imviz's image viewer, the science image visible
    (viewer,) = app.viewers.values()
    assert set(viewer.data_menu.data_labels_loaded) >= {sci_label, wht_label}
    assert viewer.data_menu.data_labels_visible == [sci_label]      # WHT loaded, hidden


@pytest.mark.skipif(not HAVE_JDAVIZ, reason=NO_JDAVIZ)
def test_show_in_imviz_adds_a_result_and_an_array_to_one_app(drz):
    from drizzlekit.widgets import show_in_imviz

    res, _ = drz
    app = show_in_imviz(res, data_label="run", show=False)
    more = show_in_imviz((res.wht, res.output_wcs), app=app, data_label="weights", show=False)
    assert more is app
    labels = list(app.datasets)
    sci_label = next(lab for lab in labels if lab.startswith("run[SCI]"))
    assert any(lab.startswith("run[WHT]") for lab in labels)
    assert any(lab.startswith("weights") for lab in labels)
    nd = app.datasets[sci_label].get_data()
    np.testing.assert_array_equal(np.asarray(nd.data), res.sci)
    _same_sky(nd.wcs, res.output_wcs, res.sci.shape)
