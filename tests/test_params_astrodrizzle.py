"""The astrodrizzle parameter specification against spec §1."""

import logging

import pytest

from drizzlekit.exceptions import InputFileError, ParameterError
from drizzlekit.params import get_spec
from drizzlekit.params.astrodrizzle import KERNELS

SPEC = get_spec("astrodrizzle")

# spec §1, typed: "" for numeric instrument values and None words become None,
# DQ bit strings of digits become ints, "a b" pairs become tuples.
EXPECTED = {
    # 1.1 global
    "input": "*flt.fits", "output": "", "runfile": "astrodrizzle.log", "wcskey": "",
    "proc_unit": "native", "coeffs": True, "context": True, "group": "", "build": True,  # drizzlekit: one _drz.fits
    "crbit": 4096, "stepsize": 10, "resetbits": 4096, "num_cores": None,
    "in_memory": False, "rules_file": "", "restore": False, "preserve": True,
    "overwrite": False, "clean": False, "mdriztab": False, "updatewcs": False,
    # 1.2 static mask
    "static": True, "static_sig": 4.0,
    # 1.3 sky
    "skysub": True, "skymethod": "localmin", "skystat": "median", "skywidth": 0.1,
    "skylower": None, "skyupper": None, "skyclip": 5, "skylsigma": 4.0, "skyusigma": 4.0,
    "skymask_cat": "", "use_static": True, "sky_bits": 0, "skyfile": "", "skyuser": "",
    # 1.4 drizzle separate
    "driz_separate": True, "driz_sep_kernel": "turbo", "driz_sep_wt_scl": "exptime",
    "driz_sep_pixfrac": 1.0, "driz_sep_fillval": None, "driz_sep_bits": 0,
    "driz_sep_compress": False, "driz_sep_wcs": False, "driz_sep_refimage": "",
    "driz_sep_rot": None, "driz_sep_scale": None, "driz_sep_outnx": None,
    "driz_sep_outny": None, "driz_sep_ra": None, "driz_sep_dec": None,
    "driz_sep_crpix1": None, "driz_sep_crpix2": None,
    # 1.5 median
    "median": True, "median_newmasks": True, "combine_maskpt": 0.3,
    "combine_type": "minmed", "combine_nsigma": (4.0, 3.0), "combine_nlow": 0,
    "combine_nhigh": 0, "combine_lthresh": None, "combine_hthresh": None,
    "combine_grow": 1, "combine_bufsize": None,
    # 1.6 blot
    "blot": True, "blot_interp": "poly5", "blot_sinscl": 1.0, "blot_addsky": True,
    "blot_skyval": 0.0,
    # 1.7 driz_cr
    "driz_cr": True, "driz_cr_corr": False, "driz_cr_snr": (3.5, 3.0),
    "driz_cr_scale": (1.2, 0.7), "driz_cr_grow": 1, "driz_cr_ctegrow": 0,
    # 1.8 final
    "driz_combine": True, "final_wht_type": "EXP", "final_kernel": "square",
    "final_wt_scl": "exptime", "final_pixfrac": 1.0, "final_fillval": None,
    "final_maskval": None, "final_bits": 0, "final_units": "cps", "final_wcs": False,
    "final_refimage": "", "final_rot": None, "final_scale": None, "final_outnx": None,
    "final_outny": None, "final_ra": None, "final_dec": None, "final_crpix1": None,
    "final_crpix2": None,
    # 1.9 instrument
    "gain": None, "gnkeyword": "", "rdnoise": None, "rnkeyword": "", "exptime": None,
    "expkeyword": "",
}

# drizzlekit-only switches: corrected behaviour where it measures better, else drizzlepac's
EXTRAS = {"stats_compat": False, "sky_overlap_step": 4, "combine_compat": False,
          "driz_cr_noise_model": "drizzlepac", "memory_limit": None, "driz_cr_single": "off",
          "final_err": False}


def test_every_spec_parameter_present_with_its_default():
    defaults = SPEC.defaults()
    missing = set(EXPECTED) - set(defaults)
    assert not missing
    for name, value in EXPECTED.items():
        assert defaults[name] == value, name
    assert set(defaults) == set(EXPECTED) | set(EXTRAS)
    for name, value in EXTRAS.items():
        assert defaults[name] == value


def test_sections_named_after_steps():
    assert list(SPEC.sections) == [
        "global", "input_files", "static_mask", "sky", "driz_separate",
        "driz_separate_wcs", "median", "blot", "driz_cr", "final_drizzle",
        "final_drizzle_wcs", "instrument"]
    assert SPEC["driz_cr_snr"].section == "driz_cr"
    assert SPEC["final_crpix2"].section == "final_drizzle_wcs"


def test_every_parameter_has_help():
    for p in SPEC:
        assert p.help and p.help[0].isupper(), p.name


@pytest.mark.parametrize("name", ["driz_cr_snr", "driz_cr_scale", "combine_nsigma"])
@pytest.mark.parametrize("text, expected", [
    ("3.5 3.0", (3.5, 3.0)), ("4,3", (4.0, 3.0)), ("  5   2.5 ", (5.0, 2.5)),
    ((6, 2), (6.0, 2.0)), ("4", (4.0, 4.0)), (3, (3.0, 3.0)),
])
def test_pairs_parse(name, text, expected):
    assert SPEC.validate({name: text})[name] == expected


@pytest.mark.parametrize("bad", ["1 2 3", "a b", ""])
def test_bad_pair_names_parameter(bad):
    with pytest.raises(ParameterError, match="driz_cr_snr"):
        SPEC.validate(driz_cr_snr=bad)


@pytest.mark.parametrize("name", ["resetbits", "sky_bits", "driz_sep_bits", "final_bits"])
@pytest.mark.parametrize("value, expected", [
    ("0", 0), (96, 96), ("64,32", "64,32"), ("64+32", "64+32"), ("~4+8", "~4+8"),
    ("~4", "~4"), (None, None), ("None", None), ("INDEF", None), (-13, -13),
])
def test_bits_parse(name, value, expected):
    assert SPEC.validate({name: value})[name] == expected


def test_bad_bits_rejected():
    with pytest.raises(ParameterError, match="final_bits"):
        SPEC.validate(final_bits="64 or 32")


@pytest.mark.parametrize("name", ["driz_sep_kernel", "final_kernel"])
def test_all_kernels_allowed_in_both_drizzle_steps(name):
    for k in KERNELS:
        assert SPEC.validate({name: k.upper()})[name] == k
    with pytest.raises(ParameterError, match=name):
        SPEC.validate({name: "boxcar"})


@pytest.mark.parametrize("name", ["final_pixfrac", "driz_sep_pixfrac"])
def test_pixfrac_range_is_open_zero_closed_one(name):
    assert SPEC.validate({name: 1.0})[name] == 1.0
    assert SPEC.validate({name: 1e-3})[name] == 1e-3
    for bad in (0.0, -0.5, 1.0001):
        with pytest.raises(ParameterError, match=name):
            SPEC.validate({name: bad})


@pytest.mark.parametrize("name", ["final_fillval", "final_maskval", "driz_sep_fillval"])
def test_fill_values_none_or_float(name):
    assert SPEC.validate({name: "INDEF"})[name] is None
    assert SPEC.validate({name: "-5"})[name] == -5.0


def test_unknown_name_suggests_closest():
    with pytest.raises(ParameterError, match="did you mean 'final_pixfrac'"):
        SPEC.validate(final_pixfrc=0.8)
    with pytest.raises(ParameterError, match="did you mean 'driz_cr_snr'"):
        SPEC.validate(driz_cr_sn="3 2")


def test_out_of_range_values():
    with pytest.raises(ParameterError, match="driz_cr_grow"):
        SPEC.validate(driz_cr_grow=0)
    with pytest.raises(ParameterError, match="final_dec"):
        SPEC.validate(final_dec=95.0)
    with pytest.raises(ParameterError, match="skymethod"):
        SPEC.validate(skymethod="lowest")


CFG = """\
_task_name_ = astrodrizzle
input = "j8bt*_flt.fits"
output = "final47tuc"
crbit = 4096
resetbits = "4096"
num_cores = None

[STATE OF INPUT FILES]
preserve = False
clean = True

[STEP 1: STATIC MASK]
static = True
static_sig = 3.0

[STEP 2: SKY SUBTRACTION]
skymethod = "globalmin+match"
skystat = "mode"
skylower = -50.0
skyupper = None
sky_bits = "64,32"

[STEP 3: DRIZZLE SEPARATE IMAGES]
driz_sep_kernel = square
driz_sep_fillval = INDEF

[STEP 3a: CUSTOM WCS FOR SEPARATE OUTPUTS]
driz_sep_wcs = True
driz_sep_scale = 0.05
driz_sep_rot = None

[STEP 4: CREATE MEDIAN IMAGE]
combine_type = median
combine_nsigma = 6 3
combine_nhigh = 1
combine_lthresh = -10000

[STEP 6: REMOVE COSMIC RAYS WITH DERIV, DRIZ_CR]
driz_cr_snr = 5.0 4.0
driz_cr_scale = 1.5 0.9
driz_cr_grow = 3

[STEP 7: DRIZZLE FINAL COMBINED IMAGE]
final_kernel = lanczos3
final_fillval = 0
final_bits = "~4+8"
final_units = counts

[STEP 7a: CUSTOM WCS FOR FINAL OUTPUT]
final_wcs = True
final_outnx = 2048
final_outny = 1024
final_ra = 6.0225
final_dec = -72.0815

[INSTRUMENT PARAMETERS]
gain = ""
rdnoise = 4.7
exptime  = ""

[_RULES_]
_rule1_ = string_kw(default='', code='OUT = VAL')
"""


def test_drizzlepac_cfg_loads(tmp_path):
    path = tmp_path / "astrodrizzle.cfg"
    path.write_text(CFG)
    v = SPEC.read_drizzlepac_cfg(path)
    assert v["input"] == "j8bt*_flt.fits" and v["output"] == "final47tuc"
    assert v["preserve"] is False and v["clean"] is True
    assert v["static_sig"] == 3.0
    assert v["skymethod"] == "globalmin+match" and v["skystat"] == "mode"
    assert v["skylower"] == -50.0 and v["skyupper"] is None
    assert v["sky_bits"] == "64,32" and v["resetbits"] == 4096
    assert v["driz_sep_kernel"] == "square" and v["driz_sep_fillval"] is None
    assert v["driz_sep_wcs"] is True and v["driz_sep_scale"] == 0.05
    assert v["combine_type"] == "median" and v["combine_nsigma"] == (6.0, 3.0)
    assert v["combine_nhigh"] == 1 and v["combine_lthresh"] == -10000.0
    assert v["driz_cr_snr"] == (5.0, 4.0) and v["driz_cr_scale"] == (1.5, 0.9)
    assert v["driz_cr_grow"] == 3
    assert v["final_kernel"] == "lanczos3" and v["final_fillval"] == 0.0
    assert v["final_bits"] == "~4+8" and v["final_units"] == "counts"
    assert (v["final_outnx"], v["final_outny"]) == (2048, 1024)
    assert v["final_ra"] == 6.0225 and v["final_dec"] == -72.0815
    assert v["gain"] is None and v["rdnoise"] == 4.7 and v["exptime"] is None
    # untouched parameters keep their defaults
    assert v["final_pixfrac"] == 1.0 and v["driz_cr_ctegrow"] == 0


def test_drizzlepac_cfg_unknown_name(tmp_path, caplog):
    path = tmp_path / "old.cfg"
    path.write_text("final_pixfrac = 0.8\nproc_extra_thing = 0.7\n")
    with caplog.at_level(logging.WARNING):
        v = SPEC.read_drizzlepac_cfg(path)  # a name drizzlekit does not use: a warning
    assert v["final_pixfrac"] == 0.8
    assert "proc_extra_thing" in caplog.text
    path.write_text("final_pixfrac = 0.8\nfinal_pixfrax = 0.7\n")
    with pytest.raises(ParameterError, match="did you mean 'final_pixfrac'"):
        SPEC.read_drizzlepac_cfg(path)  # a near miss of a known name: a typo, an error


def test_drizzlepac_cfg_bad_value_names_file(tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text("final_pixfrac = 1.5\n")
    with pytest.raises(ParameterError, match="bad.cfg.*final_pixfrac"):
        SPEC.read_drizzlepac_cfg(path)
    with pytest.raises(InputFileError, match="missing.cfg"):
        SPEC.read_drizzlepac_cfg(tmp_path / "missing.cfg")


def test_toml_round_trip(tmp_path):
    values = {"driz_cr_snr": "4 3", "final_bits": "~4+8", "sky_bits": "~4",
              "final_fillval": -1.5, "final_scale": 0.04, "final_outnx": 100,
              "final_outny": 120, "skymethod": "match", "combine_compat": True,
              "final_kernel": "gaussian", "output": 'odd "name"'}
    path = tmp_path / "ad.toml"
    SPEC.save(path, values)
    loaded = SPEC.load(path)
    assert loaded == SPEC.validate(values)
    assert loaded["driz_cr_snr"] == (4.0, 3.0) and loaded["sky_bits"] == "~4"
    assert loaded["output"] == 'odd "name"'


def test_toml_defaults_round_trip(tmp_path):
    path = tmp_path / "defaults.toml"
    SPEC.save(path)
    assert SPEC.load(path) == SPEC.defaults()


def test_toml_round_trip_none_over_non_none_default(tmp_path):
    path = tmp_path / "none.toml"
    SPEC.save(path, {"sky_bits": None, "final_bits": None})
    loaded = SPEC.load(path)
    assert loaded["sky_bits"] is None and loaded["final_bits"] is None


def test_memory_limit_from_cfg_toml_and_command_line(tmp_path):
    """The one memory parameter (GiB) reaches every front end from the spec."""
    import argparse

    p = SPEC["memory_limit"]
    assert p.units == "GiB" and p.nullable and "quarter" in p.help
    cfg = tmp_path / "mem.cfg"
    cfg.write_text("[STATE OF INPUT FILES]\nin_memory = False\nmemory_limit = 2.5\n")
    assert SPEC.read_drizzlepac_cfg(cfg)["memory_limit"] == 2.5
    cfg.write_text("memory_limit = None\n")
    assert SPEC.read_drizzlepac_cfg(cfg)["memory_limit"] is None
    toml = tmp_path / "mem.toml"
    SPEC.save(toml, {"memory_limit": 0.5})
    assert SPEC.load(toml)["memory_limit"] == 0.5
    parser = argparse.ArgumentParser()
    SPEC.add_arguments(parser)
    args = vars(parser.parse_args(["--memory-limit", "3"]))
    assert SPEC.validate(args)["memory_limit"] == 3.0
    with pytest.raises(ParameterError, match="memory_limit"):
        SPEC.validate(memory_limit=0)
    assert "max_memory" not in SPEC  # one parameter, not two
