"""Python-side state tests of the generated parameter panels (no browser)."""

from __future__ import annotations

import pytest

W = pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot_image_gl")

from drizzlekit.exceptions import InputError, InputFileError, ParameterError  # noqa: E402
from drizzlekit.params import Param, ParamSpec, get_spec  # noqa: E402
from drizzlekit.widgets import ParamsPanel, params_panel  # noqa: E402


@pytest.fixture
def spec():
    """A small spec with every kind of parameter."""
    return ParamSpec("demo", [
        Param("pixfrac", 1.0, "float", "Drop size", section="drizzle", vmin=0.0, vmax=1.0,
              min_exclusive=True),
        Param("scale", 0.05, "float", "Output pixel size", section="drizzle", vmin=0.0,
              min_exclusive=True, units="arcsec/pixel"),
        Param("rot", None, "float", "Output rotation", section="drizzle", nullable=True,
              vmin=-360.0, vmax=360.0, units="deg"),
        Param("niter", 3, "int", "Iterations", section="fit", vmin=0, vmax=20),
        Param("minobj", 15, "int", "Fewest matches", section="fit", vmin=1),
        Param("clean", False, "bool", "Delete temporary files", section="general"),
        Param("kernel", "square", "choice", "Drizzle kernel", section="drizzle",
              choices=("square", "point", "turbo")),
        Param("output", "final", "str", "Output root name", section="general"),
        Param("catfile", "", "path", "Catalog file", section="general"),
        Param("bits", "0", "bits", "Good DQ bits", section="general"),
        Param("snr", (3.5, 3.0), "pair", "Detection thresholds", section="fit",
              units="sigma", vmin=0.0),
    ], doc="A test task.")


def test_controls_follow_the_param_kind(spec):
    panel = ParamsPanel(spec)
    c = panel.controls
    assert isinstance(c["pixfrac"].input, W.FloatSlider)       # both limits -> slider
    assert (c["pixfrac"].input.min, c["pixfrac"].input.max) == (0.0, 1.0)
    assert isinstance(c["scale"].input, W.FloatText)           # one limit -> text box
    assert isinstance(c["rot"].input, W.FloatSlider)
    assert isinstance(c["rot"].auto, W.ToggleButton)           # nullable -> labelled toggle
    assert c["rot"].auto.value is True and c["rot"].input.disabled
    assert isinstance(c["niter"].input, W.IntSlider)
    assert isinstance(c["minobj"].input, W.IntText)
    assert isinstance(c["clean"].input, W.Checkbox)
    assert isinstance(c["kernel"].input, W.Dropdown)
    assert list(c["kernel"].input.options) == ["square", "point", "turbo"]
    for name in ("output", "catfile", "bits", "snr"):
        assert isinstance(c[name].input, W.Text)
    assert c["snr"].input.value == "3.5 3"
    assert panel.values == spec.defaults()
    # help on hover, with units and default
    tip = c["scale"].input.tooltip
    assert "Output pixel size" in tip and "arcsec/pixel" in tip and "0.05" in tip
    # one accordion section per spec section, in order
    acc = [w for w in panel.widget.children if isinstance(w, W.Accordion)][0]
    assert acc.titles == ("drizzle", "fit", "general")
    assert sum(len(ch.children) for ch in acc.children) == len(spec)


def test_edits_are_validated_inline(spec):
    panel = ParamsPanel(spec)
    seen = []
    panel.on_change(lambda values, changed: seen.append(changed))
    ctl = panel.controls["scale"]
    ctl.input.value = -1.0                                     # out of range
    assert panel.values["scale"] == 0.05                       # not taken
    assert "scale" in panel.errors and "must be > 0" in panel.errors["scale"]
    assert "must be &gt; 0" in ctl.error.value or "must be > 0" in ctl.error.value
    assert "dk-param-invalid" in ctl.box._dom_classes
    assert not panel.valid and seen == []
    ctl.input.value = 0.1
    assert panel.values["scale"] == 0.1 and panel.errors == {} and ctl.error.value == ""
    assert seen == [{"scale": 0.1}]

    panel.controls["snr"].input.value = "5, 4"
    assert panel.values["snr"] == (5.0, 4.0)
    panel.controls["snr"].input.value = "5 x"
    assert "snr" in panel.errors and panel.values["snr"] == (5.0, 4.0)
    panel.controls["bits"].input.value = "4,8"
    assert panel.values["bits"] == "4,8"
    panel.controls["bits"].input.value = ""
    assert panel.values["bits"] is None
    panel.controls["bits"].input.value = "four"
    assert "bits" in panel.errors
    panel.controls["pixfrac"].input.value = 0.0                # min_exclusive
    assert "pixfrac" in panel.errors and panel.values["pixfrac"] == 1.0
    panel.controls["kernel"].input.value = "turbo"
    assert panel.values["kernel"] == "turbo"


def test_nullable_number_switch(spec):
    panel = ParamsPanel(spec)
    ctl = panel.controls["rot"]
    # None: the toggle is on, labelled, and the number is hidden behind the word
    assert ctl.auto.value and ctl.auto.description == "auto"
    assert ctl.input.layout.display == "none" and ctl.none_view.layout.display != "none"
    assert ctl.none_view.value.startswith("auto")
    ctl.auto.value = False
    assert panel.values["rot"] == ctl.input.value and not ctl.input.disabled
    assert ctl.input.layout.display != "none" and ctl.none_view.layout.display == "none"
    ctl.input.value = 45.0
    assert panel.values["rot"] == 45.0
    ctl.auto.value = True
    assert panel.values["rot"] is None and ctl.input.disabled
    panel.set("rot", -30)
    assert not ctl.auto.value and ctl.input.value == -30.0 and panel.values["rot"] == -30.0


def test_set_update_reset(spec):
    panel = ParamsPanel(spec, values={"niter": 5})
    assert panel.controls["niter"].input.value == 5
    notes = []
    panel.observe(lambda ch: notes.append(ch["new"]), "values")
    panel.update(niter=7, kernel="point", clean=True)
    assert len(notes) == 1                                     # one notification for the batch
    assert panel.controls["kernel"].input.value == "point"
    assert panel.controls["clean"].input.value is True
    with pytest.raises(ParameterError, match="niter"):
        panel.update(scale=0.2, niter=99)                      # nothing applied
    assert panel.values["scale"] == 0.05
    with pytest.raises(ParameterError, match="did you mean 'niter'"):
        panel.set("nitre", 2)
    panel.controls["scale"].input.value = -5.0                 # leave an error pending
    panel.reset()
    assert panel.values == spec.defaults() and panel.errors == {}
    assert panel.controls["niter"].input.value == 3
    assert "Defaults" in panel.status.value
    panel.set("niter", 9)
    panel.reset_button.click()
    assert panel.values["niter"] == 3


def test_slider_widens_instead_of_clamping():
    spec = ParamSpec("t", [Param("a", 1.0, "float", "a", vmin=0.0)])
    panel = ParamsPanel(spec, hints={"a": {"widget": "slider", "min": 0.0, "max": 2.0}})
    panel.set("a", 5.0)
    assert panel.controls["a"].input.value == 5.0 and panel.values["a"] == 5.0


def test_save_load_round_trip(spec, tmp_path):
    panel = ParamsPanel(spec)
    panel.update(pixfrac=0.6, rot=12.5, kernel="point", snr=(4.0, 2.5), bits="~4+8",
                 catfile="cat.txt", clean=True)
    path = panel.save(tmp_path / "demo.toml")
    assert spec.load(path) == panel.full_values()
    other = ParamsPanel(spec)
    other.load(path)
    assert other.values == panel.values
    assert not other.controls["rot"].auto.value and other.controls["snr"].input.value == "4 2.5"

    # the buttons use the path box and report in the status line
    other.reset()
    other.path.value = str(path)
    other.load_button.click()
    assert other.values == panel.values and "Loaded" in other.status.value
    other.path.value = str(tmp_path / "missing.toml")
    other.load_button.click()
    assert "not found" in other.status.value and "missing.toml" in other.status.value
    other.path.value = str(tmp_path / "again.toml")
    other.save_button.click()
    assert (tmp_path / "again.toml").exists() and "Saved" in other.status.value


def test_load_and_save_errors(spec, tmp_path):
    panel = ParamsPanel(spec)
    with pytest.raises(InputFileError, match="nope.toml"):
        panel.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "demo"\n[fit]\nniter = 99\n')
    with pytest.raises(ParameterError, match="bad.toml.*niter"):
        panel.load(bad)
    assert panel.values == spec.defaults()                     # unchanged
    panel.controls["scale"].input.value = -1.0
    with pytest.raises(ParameterError, match="scale"):
        panel.save(tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()


def test_selection_hints_and_bad_arguments(spec):
    panel = ParamsPanel(spec, sections=["fit"], exclude=["minobj"])
    assert list(panel.controls) == ["niter", "snr"]
    assert panel.full_values()["kernel"] == "square"           # hidden params kept
    panel = ParamsPanel(spec, names=["kernel", "scale"],
                        hints={"scale": {"widget": "logslider", "min": 0.01, "max": 1.0},
                               "kernel": {"choices": ["point", "square"]}})
    assert isinstance(panel.controls["scale"].input, W.FloatLogSlider)
    assert list(panel.controls["kernel"].input.options) == ["point", "square"]
    with pytest.raises(InputError, match="sections.*nope"):
        ParamsPanel(spec, sections=["nope"])
    with pytest.raises(ParameterError, match="unknown demo parameter 'scal'"):
        ParamsPanel(spec, hints={"scal": {}})
    with pytest.raises(InputError, match="hints\\['scale'\\].*colour"):
        ParamsPanel(spec, hints={"scale": {"colour": "red"}})
    with pytest.raises(InputError, match="layout"):
        ParamsPanel(spec, layout="grid")
    with pytest.raises(InputError, match="no parameter"):
        ParamsPanel(spec, names=["kernel"], exclude=["kernel"])


@pytest.mark.parametrize("task", ["astrodrizzle", "tweakreg"])
def test_real_specs_generate_a_control_per_parameter(task):
    spec = get_spec(task)
    panel = ParamsPanel(task)
    assert list(panel.controls) == spec.names
    assert panel.values == spec.defaults()
    for name, ctl in panel.controls.items():
        p = spec[name]
        # what the control shows reads back as the default
        assert p.coerce(ctl.raw()) == p.default, name
        assert p.help in ctl.input.tooltip
    acc = [w for w in panel.widget.children if isinstance(w, W.Accordion)][0]
    assert len(acc.children) == len(spec.sections)


def test_step_panels():
    finder = params_panel("tweakreg", "imagefindpars")
    assert set(finder.controls) == {p.name for p in get_spec("tweakreg").sections["imagefindpars"]}
    cr = params_panel("astrodrizzle", ["driz_cr", "blot"])
    assert {get_spec("astrodrizzle")[n].section for n in cr.controls} == {"driz_cr", "blot"}
    cr.controls["driz_cr_snr"].input.value = "4 2"
    assert cr.values["driz_cr_snr"] == (4.0, 2.0)


def test_none_defaults_show_auto_or_indef_never_a_number():
    """final_dec / final_rot / final_fillval / minflux: a word, not -90 / -360 / 0 / 10."""
    drz = ParamsPanel("astrodrizzle")
    words = {"final_rot": "auto", "final_dec": "auto", "final_scale": "auto",
             "final_fillval": "INDEF", "combine_lthresh": "INDEF"}
    for name, word in words.items():
        ctl = drz.controls[name]
        assert drz.values[name] is None
        assert ctl.auto.value and ctl.auto.description == word
        assert ctl.input.layout.display == "none"            # the stand-in number is hidden
        assert ctl.none_view.value.startswith(word) and ctl.none_view.layout.display != "none"
    tw = ParamsPanel("tweakreg", names=["minflux", "maxflux"],
                     hints={"minflux": {"widget": "logslider", "min": 10, "max": 1e6}})
    assert tw.controls["minflux"].auto.description == "INDEF"
    assert tw.controls["minflux"].input.layout.display == "none"
    # a hint may rename the word
    p = ParamsPanel("astrodrizzle", names=["final_rot"],
                    hints={"final_rot": {"none_label": "native"}})
    assert p.controls["final_rot"].auto.description == "native"
