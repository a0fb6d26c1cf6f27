"""The 'tweakreg' parameter specification and its link to the alignment engine."""

import inspect

import pytest

from drizzlekit.exceptions import ParameterError
from drizzlekit.params import available_specs, get_spec

# drizzlepac defaults, as listed in tweakreg.md §1 / §1.6 (tweakreg.cfg, imagefindpars.help)
DRIZZLEPAC_DEFAULTS = {
    "minobj": 15, "searchrad": 1.0, "searchunits": "arcseconds", "use2dhist": True,
    "see2dplot": True, "separation": 0.5, "tolerance": 1.0, "xoffset": 0.0, "yoffset": 0.0,
    "fitgeometry": "rscale", "residplot": "both", "nclip": 3, "sigma": 3.0,
    "enforce_user_order": True, "expand_refcat": False, "updatehdr": False, "wcsname": "TWEAK",
    "interactive": True, "reusename": False, "headerlet": False, "attach": True,
    "clobber": False, "shiftfile": False, "outshifts": "shifts.txt",
    "outwcs": "shifts_wcs.fits", "writecat": True, "clean": False, "verbose": False,
    "runfile": "tweakreg.log", "xcol": 1, "ycol": 2, "fluxunits": "counts",
    "xyunits": "pixels", "nbright": None, "refxcol": 1, "refycol": 2,
    "refxyunits": "degrees", "rfluxunits": "mag", "refnbright": None, "maxflux": None,
    "minflux": None, "rmaxflux": None, "rminflux": None, "ylimit": None, "labelsize": 8,
    # imagefindpars
    "computesig": True, "skysigma": 0.0, "conv_width": 3.5, "threshold": 4.0, "nsigma": 1.5,
    "ratio": 1.0, "theta": 0.0, "peakmin": None, "peakmax": None, "fluxmin": None,
    "fluxmax": None, "dqbits": None, "use_sharp_round": False, "sharplo": 0.2,
    "sharphi": 1.0, "roundlo": -1.0, "roundhi": 1.0,
}


def test_registered():
    assert "tweakreg" in available_specs()
    spec = get_spec("tweakreg")
    assert spec.name == "tweakreg"


@pytest.mark.parametrize("name,value", sorted(DRIZZLEPAC_DEFAULTS.items()))
def test_drizzlepac_defaults(name, value):
    assert get_spec("tweakreg")[name].default == value


def test_every_param_documented():
    for p in get_spec("tweakreg"):
        assert p.help and len(p.help) > 10, p.name
        assert p.section, p.name


def test_choices_and_ranges():
    spec = get_spec("tweakreg")
    assert set(spec["fitgeometry"].choices) == {"shift", "rshift", "rscale", "general"}
    assert set(spec["searchunits"].choices) == {"arcseconds", "pixels"}
    assert spec["tolerance"].units == "pixels"
    with pytest.raises(ParameterError, match="fitgeometry"):
        spec.validate(fitgeometry="affine")
    with pytest.raises(ParameterError, match="tolerance"):
        spec.validate(tolerance=0.0)
    with pytest.raises(ParameterError, match="nclip"):
        spec.validate(nclip=-1)
    with pytest.raises(ParameterError, match="did you mean 'searchrad'"):
        spec.validate(serachrad=2.0)
    assert spec.validate(fitgeometry="GENERAL")["fitgeometry"] == "general"


def test_toml_roundtrip(tmp_path):
    spec = get_spec("tweakreg")
    spec.save(tmp_path / "t.toml", {"searchrad": 3.5, "fitgeometry": "general"})
    vals = spec.load(tmp_path / "t.toml")
    assert vals["searchrad"] == 3.5 and vals["fitgeometry"] == "general"
    assert vals["nbright"] is None


def test_drizzlepac_cfg(tmp_path):
    cfg = tmp_path / "tweakreg.cfg"
    cfg.write_text("_task_name_ = tweakreg\n[OBJECT MATCHING PARAMETERS]\nminobj = 10\n"
                   "searchrad = 2.5\nuse2dhist = False\nfluxcol = \"\"\n"
                   "[CATALOG FITTING PARAMETERS]\nfitgeometry = general\nylimit = None\n")
    vals = get_spec("tweakreg").read_drizzlepac_cfg(cfg)
    assert vals["minobj"] == 10 and vals["searchrad"] == 2.5 and vals["use2dhist"] is False
    assert vals["fitgeometry"] == "general" and vals["fluxcol"] is None


@pytest.mark.parametrize("func", ["align_wcs", "align_catalogs"])
def test_engine_defaults_come_from_spec(func):
    import drizzlekit.align as align

    spec = get_spec("tweakreg")
    sig = inspect.signature(getattr(align, func))
    n = 0
    for name, par in sig.parameters.items():
        if name in spec and name != "refcat":  # refcat: a Table here, a file name in the spec
            assert par.default == spec[name].default, name
            n += 1
    assert n >= 13
