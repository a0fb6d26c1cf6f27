"""Python-side tests of the pipeline panel: step by step, products, errors, writing."""

from __future__ import annotations

import numpy as np
import pytest

W = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot_image_gl")

from drizzlekit.datasets import simulate_dither  # noqa: E402
from drizzlekit.exceptions import InputError  # noqa: E402
from drizzlekit.pipeline import STEPS, astrodrizzle  # noqa: E402
from drizzlekit.widgets import DrizzlePanel, PipelinePanel, list_products  # noqa: E402

MEM = {"in_memory": True, "runfile": ""}


@pytest.fixture(scope="module")
def sim():
    return simulate_dither(n_exposures=3, shape=(96, 96), n_stars=20, n_galaxies=2,
                           cr_rate=2e-5, seed=11)


def test_step_by_step_matches_astrodrizzle(sim, tmp_path):
    panel = PipelinePanel(sim.hdulists, params=MEM)
    assert panel.result is None and panel.pending() == [n for n, _ in STEPS]
    panel.prepare()
    assert panel.progress.value == 1 and len(panel.products) == 3        # the inputs
    added = {}
    while True:
        n0 = len(panel.products)
        name = panel.run_next()
        if name is None:
            break
        added[name] = len(panel.products) - n0
        assert panel.done[name] == "done"
        assert f"dk-step-{name}'><td>&#10004;" in panel.steps_html.value
    assert added == {"static_mask": 1, "sky": 0, "driz_separate": 6, "median": 1, "blot": 3,
                     "driz_cr": 3, "final_drizzle": 3}
    assert panel.progress.value == panel.progress.max
    assert panel.run_next() is None and "All steps done" in panel.status.value
    # the same functions in the same order as astrodrizzle(): identical products
    ref = astrodrizzle(sim.hdulists, output=str(tmp_path / "ref"), progress=False, **MEM)
    np.testing.assert_array_equal(panel.result.sci, ref.sci)
    np.testing.assert_array_equal(panel.result.wht, ref.wht)
    for key, m in ref.cr_masks.items():
        np.testing.assert_array_equal(panel.result.cr_masks[key], m)
    assert panel.result.sky == ref.sky


def test_products_are_browsable_frames(sim):
    panel = PipelinePanel(sim.hdulists, params=MEM)
    panel.run_all()
    labels = [p.label for p in panel.products]
    assert panel.viewer.frame_names == labels
    assert labels[-3:] == ["final SCI", "final WHT", "final CTX (inputs per pixel)"]
    assert panel.viewer.frame_names[panel.viewer.frame] == "final SCI"  # last step's product
    np.testing.assert_array_equal(panel.viewer.current.data, panel.result.sci)
    # context image -> number of contributing inputs per pixel
    ctx = panel.products[-1].data
    assert ctx.max() == 3 and np.all((ctx > 0) == (panel.result.wht > 0))
    # an input chip shows its flagged cosmic rays; the CR mask frame shows none
    key = (panel.result.names[0], 1)
    panel.viewer.show(f"input {key[0]}[1]")
    nflag = int(panel.result.cr_masks[key].sum())
    assert nflag > 0 and panel.viewer.marker_counts()["cosmic rays"] == nflag
    assert f">{nflag}<" in panel.shown.value
    assert panel.viewer.markers["cosmic rays"].kind == "outline"   # outlines, not crosses
    panel.viewer.show(f"CR mask {key[0]}[1]")
    assert panel.viewer.marker_counts().get("cosmic rays", 0) == 0
    panel.viewer.blink()                                      # browse on
    assert panel.viewer.frame_names[panel.viewer.frame].startswith("CR mask")


def test_switched_off_steps_are_skipped(sim):
    panel = PipelinePanel(sim.hdulists, params={**MEM, "static": False, "driz_cr": False,
                                                "blot": False, "median": False})
    panel.run_all()
    assert panel.done["static_mask"] == "skipped"
    assert [panel.done[s] for s in ("median", "blot", "driz_cr")] == ["skipped"] * 3
    assert panel.done["final_drizzle"] == "done" and panel.result.cr_masks == {}
    assert "static_mask</td><td class='dk-step-state'>skipped" in panel.steps_html.value


def test_parameters_and_errors(sim, tmp_path):
    panel = PipelinePanel(sim.hdulists, params=MEM, sections=["final_drizzle"])
    assert {panel.params.spec[n].section for n in panel.params.controls} == {"final_drizzle"}
    panel.prepare()
    panel.params.set("final_pixfrac", 0.7)
    assert "press <b>Prepare</b>" in panel.status.value
    panel.prepare()                                           # a new run with the new value
    assert panel.result.params["final_pixfrac"] == 0.7 and panel.done == {"prepare": "done"}
    assert len(panel.viewer.frames) == 3
    panel.params.controls["final_pixfrac"].input.value = 0.0  # rejected inline
    with pytest.raises(InputError, match="final_pixfrac"):
        panel.prepare()
    panel.prepare_button.click()                              # the button reports it
    assert "final_pixfrac" in panel.status.value
    with pytest.raises(InputError, match="final drizzle"):
        PipelinePanel(sim.hdulists, params=MEM).write()
    bad = PipelinePanel(str(tmp_path / "missing_flt.fits"), params=MEM)
    bad.next_button.click()
    assert "missing_flt.fits" in bad.status.value and bad.result is None


def test_write_products(sim, tmp_path):
    panel = PipelinePanel(sim.hdulists, output=str(tmp_path / "demo"),
                          params={"runfile": "", "in_memory": True})
    panel.run_all()
    files = panel.write()
    assert files and files == panel.result.files_written
    assert all(f.startswith(str(tmp_path / "demo_drz")) and (tmp_path / f).exists()
               for f in files)
    assert "Wrote" in panel.status.value


def test_list_products_and_drizzle_panel(sim):
    panel = PipelinePanel(sim.hdulists, params=MEM)
    with pytest.raises(InputError, match="prepare"):
        panel.drizzle_panel()
    panel.run_all()
    prods = list_products(panel.result)
    steps = {p.step for p in prods}
    assert steps == {"input", "static_mask", "driz_separate", "median", "blot", "driz_cr",
                     "final_drizzle"}
    assert all(p.data.ndim == 2 for p in prods)
    dp = panel.drizzle_panel(preview_size=64)
    assert isinstance(dp, DrizzlePanel) and dp.cr_count == 0      # overlay off by default
    dp.show_crs.value = True
    assert dp.cr_count > 0


def test_message_before_the_first_step_not_an_empty_figure(sim):
    panel = PipelinePanel(sim.hdulists, params=MEM)
    assert list(panel._left.children) == [panel.empty_note]        # no blank figure
    assert "No products yet" in panel.empty_note.value and "Prepare" in panel.empty_note.value
    panel.prepare()
    assert list(panel._left.children) == [panel.viewer.widget]


def test_saved_notebook_placeholder(sim):
    """Displayed in a notebook, a panel leaves a 'run this cell' note that only the live
    panel hides (a notebook saved without widget state shows the note)."""
    panel = PipelinePanel(sim.hdulists, params=MEM)
    note = panel.widget.placeholder_html()
    assert "run this cell" in note and panel.widget._note_id in note
    hider = panel.widget.children[-1]
    assert f".{panel.widget._note_id}{{display:none" in hider.value


def test_compiling_note_is_shown_for_cold_loops(monkeypatch):
    import drizzlekit.warmup as wu
    from drizzlekit.widgets.layout import compiling_note

    status = W.HTML(value="before")
    monkeypatch.setattr(wu, "is_compiled", lambda name: name != "square")
    with compiling_note(["square", "turbo", "my-own-kernel"], status) as cold:
        assert cold == ["square"]
        assert "compiling kernels (square)" in status.value and "first run only" in status.value
    status.value = "before"
    monkeypatch.setattr(wu, "is_compiled", lambda name: True)
    with compiling_note(["square"], status) as cold:
        assert cold == [] and status.value == "before"             # nothing to say


def test_show_in_imviz_loads_the_products_without_importing_jdaviz_early(sim, monkeypatch,
                                                                         tmp_path):
    import sys
    import types

    import drizzlekit.widgets as dw

    calls = []

    class FakeApp:
        def load(self, obj, data_label=None):
            calls.append((data_label, obj))

        def show(self):
            calls.append(("show", None))

    fake = types.ModuleType("jdaviz")
    fake.App = FakeApp
    monkeypatch.setitem(sys.modules, "jdaviz", fake)
    res = astrodrizzle(sim.hdulists, output=str(tmp_path / "im"), progress=False, **MEM)
    app = dw.show_in_imviz(res, data_label="run")
    assert isinstance(app, FakeApp)
    assert [c[0] for c in calls] == ["run[SCI]", "run[WHT]", "show"]
    np.testing.assert_array_equal(calls[0][1].data, res.sci)
    assert calls[0][1].wcs is res.output_wcs
    with pytest.raises(InputError, match="no such file"):
        dw.show_in_imviz(str(tmp_path / "missing_drz.fits"))
    monkeypatch.setitem(sys.modules, "jdaviz", None)             # not installed
    with pytest.raises(ImportError, match="pip install jdaviz"):
        dw.show_in_imviz((res.sci, res.output_wcs))
