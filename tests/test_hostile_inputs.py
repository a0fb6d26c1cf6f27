"""Hostile inputs and outputs (issue 9, items 3 and 5): every case fails before any
work with an error naming the file/chip or parameter, and leaves the inputs
byte-identical -- or, for odd but valid paths, simply works."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlekit import astrodrizzle
from drizzlekit.cli import main
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import (InputError, InputFileError, OutputFileError,
                                   ParameterError)
from drizzlekit.io import output_checks
from drizzlekit.io.checks import check_chip_wcs, parse_bunit
from drizzlekit.io.fits_input import read_exposure
from drizzlekit.pipeline import prepare

DATA = Path(__file__).parent / "data"


# =========================================================================== helpers
@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    """Two overlapping one-chip 48x48 exposures (SIP WCS, ELECTRONS, EXPTIME 400 s)."""
    d = tmp_path_factory.mktemp("sim")
    sim = simulate_dither(n_exposures=2, shape=(48, 48), n_chips=1, seed=9, n_stars=5,
                          n_galaxies=0, outdir=d)
    return [Path(f) for f in sim.filenames]


@pytest.fixture
def files(sim_dir, tmp_path):
    """Fresh copies of the two exposures in ``tmp_path/in``."""
    d = tmp_path / "in"
    d.mkdir()
    out = []
    for f in sim_dir:
        shutil.copy(f, d / f.name)
        out.append(str(d / f.name))
    return out


def _digest(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).iterdir()) if p.is_file() and not p.is_symlink()}


def _variant(src: str, name: str, edit) -> str:
    """A copy of ``src`` named ``name`` (same folder) with ``edit(hdul)`` applied."""
    dst = os.path.join(os.path.dirname(src), name)
    with fits.open(src) as hdul:
        copy = fits.HDUList([h.copy() for h in hdul])
    edit(copy)
    copy.writeto(dst)
    return dst


def _fails(tmp_path, inputs, exc, match, **kw):
    """The run fails with ``exc`` matching ``match``; inputs unchanged, nothing written."""
    folder = os.path.dirname(next(f for f in inputs if isinstance(f, str)))
    before = _digest(folder)
    kw.setdefault("output", str(tmp_path / "out"))
    with pytest.raises(exc, match=match):
        astrodrizzle(inputs, runfile="", progress=False, **kw)
    assert _digest(folder) == before
    assert not [p for p in tmp_path.glob("**/*_dr[zc]*.fits") if p.is_file()]
    assert not list(tmp_path.glob("**/*crmask*.fits"))


@pytest.fixture(autouse=True)
def _no_stale_cli_handler():
    """``main()`` adds a stderr handler; drop it so the next test's capsys is used."""
    def drop():
        logger = logging.getLogger("drizzlekit")
        for h in [h for h in logger.handlers if getattr(h, "_drizzlekit_cli", False)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)

    drop()
    yield
    drop()


# =========================================================================== EXPTIME
@pytest.mark.parametrize("how, match", [
    ("missing", "bad_flt.fits: keyword EXPTIME is missing"),
    (0.0, r"bad_flt.fits: EXPTIME = 0\.0"),
    (-30.0, r"bad_flt.fits: EXPTIME = -30\.0"),
])
def test_bad_exptime_is_an_error_naming_file_and_keyword(tmp_path, files, how, match):
    def edit(h):
        if how == "missing":
            del h[0].header["EXPTIME"]
        else:
            h[0].header["EXPTIME"] = how

    bad = _variant(files[0], "bad_flt.fits", edit)
    _fails(tmp_path, [files[1], bad], InputFileError, match)


def test_zero_exptime_from_expkeyword_or_parameter(tmp_path, files):
    bad = _variant(files[0], "bad_flt.fits", lambda h: h[0].header.set("MYEXP", 0.0))
    _fails(tmp_path, [bad], InputFileError, "bad_flt.fits: MYEXP = 0.0", expkeyword="MYEXP")
    _fails(tmp_path, files, ParameterError, "exptime", exptime=0.0)


def test_lenient_reader_keeps_the_old_default_for_other_tasks(files, caplog):
    bad = _variant(files[0], "bad_flt.fits", lambda h: h[0].header.remove("EXPTIME"))
    with caplog.at_level(logging.WARNING, logger="drizzlekit"):
        exp = read_exposure(bad)  # e.g. tweakreg, which needs no exposure time
    assert exp.exptime == 1.0 and "no exptime" in caplog.text
    with pytest.raises(InputFileError, match="EXPTIME"):
        read_exposure(bad, strict=True)


# =========================================================================== BUNIT
@pytest.mark.parametrize("bunit, in_units, electrons", [
    ("ELECTRONS", "counts", True), ("ELECTRONS/S", "cps", True), ("electrons/sec", "cps", True),
    ("e-", "counts", True), ("e-/s", "cps", True), ("e/s", "cps", True),
    ("electron / s", "cps", True), ("COUNTS", "counts", False), ("COUNTS/S", "cps", False),
    ("counts/sec", "cps", False), ("CTS/S", "cps", False), ("count s-1", "cps", False),
    ("DN", "counts", False), ("DN/S", "cps", False), ("ADU", "counts", False),
])
def test_real_bunit_spellings_parse(bunit, in_units, electrons):
    assert parse_bunit(bunit) == (in_units, electrons)


@pytest.mark.parametrize("bunit", ["MJy/sr", "erg/s/cm2/A", "JY/PIXEL", "furlongs",
                                   "ELECTRONS/KS", "10**3 count"])
def test_non_count_bunit_is_refused(bunit):
    with pytest.raises(InputFileError, match="f.fits.*BUNIT"):
        parse_bunit(bunit, "f.fits")


@pytest.mark.parametrize("bunit", ["MJy/sr", "nonsense"])
def test_non_count_bunit_fails_the_run(tmp_path, files, bunit):
    bad = _variant(files[0], "bad_flt.fits", lambda h: h["SCI"].header.set("BUNIT", bunit))
    _fails(tmp_path, [files[1], bad], InputFileError, r"bad_flt.fits\[SCI,1\].*BUNIT")


@pytest.mark.parametrize("bunit, cf", [("COUNTS/S", 2.0 * 400), ("DN", 2.0),
                                       ("ELECTRONS/S", 400.0), ("e-", 1.0)])
def test_bunit_conversion_factors(files, bunit, cf):
    def edit(h):
        h["SCI"].header["BUNIT"] = bunit
        for amp in "ABCD":
            h[0].header[f"ATODGN{amp}"] = 2.0

    f = _variant(files[0], "u_flt.fits", edit)
    chip = read_exposure(f, strict=True).chips[0]
    assert chip.conversion_factor == pytest.approx(cf)


# =========================================================================== WCS
def _set_sip(a20):
    def edit(h):
        hdr = h["SCI"].header
        hdr["A_2_0"] = a20
        hdr["A_0_2"] = 0.0
        hdr["A_1_1"] = 0.0
    return edit


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["SCI"].header.update(CD2_1=h["SCI"].header["CD1_1"],
                                      CD2_2=h["SCI"].header["CD1_2"]), "singular"),
    (_set_sip(0.05), "folds the chip over itself"),   # du/dx = 1 + 2 A x' < 0 at the edge
    (_set_sip(0.02), "changes the pixel area by a factor"),  # 0.04 .. 1.96
], ids=["singular-CD", "folding-SIP", "absurd-SIP"])
def test_unusable_wcs_is_an_error_naming_file_and_chip(tmp_path, files, edit, match):
    bad = _variant(files[0], "bad_flt.fits", edit)
    _fails(tmp_path, [files[1], bad], InputFileError, r"bad_flt.fits\[SCI,1\].*" + match)


@pytest.mark.parametrize("what", ["crval", "cd"])
def test_non_finite_wcs_in_memory(tmp_path, files, what):
    exp = read_exposure(files[0], strict=True)
    if what == "crval":
        exp.chips[0].wcs.wcs.crval = [np.nan, 2.2]
        match = "CRVAL"
    else:
        exp.chips[0].wcs.wcs.cd = [[np.nan, 0.0], [0.0, 1e-5]]
        match = "CD matrix holds NaN"
    with pytest.raises(InputFileError, match=match):
        prepare([files[1], exp], output=str(tmp_path / "out"))


@pytest.mark.parametrize("name", ["wcs_headers/2chipA.fits.gz", "core/j94f05bgq_flt.fits",
                                  "wcs_headers/sample_flc_sci_wcs.fits.gz"])
def test_real_distortions_pass(name):
    # ACS/WFC SIP + lookup tables (+ D2IM): the largest real distortions; the check
    # must not refuse them (their area ratio is 0.92-1.07)
    import warnings

    from astropy.wcs import WCS

    with fits.open(DATA / name) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for hdu in hdul:
            if hdu.name == "SCI":
                w = WCS(hdu.header, hdul)
                assert w.sip is not None
                check_chip_wcs(w, (2048, 4096), f"{name}[SCI,{hdu.ver}]")


# =========================================================================== duplicates
@pytest.mark.parametrize("kind", ["symlink", "hardlink", "same name"])
def test_the_same_exposure_twice_is_an_error(tmp_path, files, kind):
    alias = os.path.join(os.path.dirname(files[0]), "alias_flt.fits")
    if kind == "symlink":
        os.symlink(files[0], alias)
    elif kind == "hardlink":
        os.link(files[0], alias)
    else:
        alias = files[0]
    _fails(tmp_path, files + [alias], InputError, "given more than once|same file|twice")


# =========================================================================== data
def test_all_nan_chip(tmp_path, files):
    bad = _variant(files[0], "bad_flt.fits",
                   lambda h: h["SCI"].data.__setitem__(Ellipsis, np.nan))
    _fails(tmp_path, [files[1], bad], InputFileError,
           r"bad_flt.fits\[SCI,1\]: every pixel is NaN")


def test_all_bad_dq_chip(tmp_path, files):
    bad = _variant(files[0], "bad_flt.fits",
                   lambda h: h["DQ"].data.__setitem__(Ellipsis, 256))
    _fails(tmp_path, [files[1], bad], InputFileError,
           r"bad_flt.fits\[SCI,1\]: every pixel with data is flagged bad.*driz_sep_bits")
    # the same chip is fine once its flag is declared good
    res = prepare([files[1], bad], output=str(tmp_path / "ok"), driz_sep_bits="256",
                  final_bits="256")
    assert len(res.exposures) == 2


# =========================================================================== output paths
def test_output_is_an_existing_directory(tmp_path, files):
    (tmp_path / "out_drz.fits").mkdir()
    _fails(tmp_path, files, OutputFileError, "out_drz.fits is an existing directory",
           output=str(tmp_path / "out_drz.fits"))


def test_output_name_too_long(tmp_path, files):
    name = "x" * 249  # the product is <name>_drz.fits: 258 bytes
    _fails(tmp_path, files, OutputFileError, "bytes; the file system allows",
           output=str(tmp_path / name))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write anywhere")
def test_output_directory_not_writable(tmp_path, files):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _fails(tmp_path, files, OutputFileError, "not writable", output=str(ro / "out"))
    finally:
        ro.chmod(0o755)


def test_output_directory_not_writable_as_seen_by_access(tmp_path, files, monkeypatch):
    # the same refusal where the test runs as root (who may write anywhere)
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False
                        if os.path.abspath(p) == str(ro) and mode & os.W_OK
                        else real(p, mode, *a, **k))
    _fails(tmp_path, files, InputFileError, "ro.*not writable", output=str(ro / "out"))


def test_not_enough_disk_space(tmp_path, files, monkeypatch):
    real = shutil.disk_usage
    monkeypatch.setattr(output_checks.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=1000))
    _fails(tmp_path, files, OutputFileError, "products need about .* free")


# =========================================================================== frame size
def test_huge_custom_frame_refused_before_allocating(tmp_path, files):
    _fails(tmp_path, files, ParameterError, "60000 x 60000.*memory_limit=8 GiB.*final_outnx",
           final_wcs=True, final_outnx=60000, final_outny=60000, memory_limit=8)
    _fails(tmp_path, files, ParameterError, "final_scale", final_wcs=True, final_scale=1e-9)


def test_inputs_far_apart_make_a_refused_frame(tmp_path, files):
    def move(h):  # one degree away in RA and in Dec: a 72000 x 72000 frame at 0.05"
        h["SCI"].header["CRVAL1"] += 1.0
        h["SCI"].header["CRVAL2"] += 1.0

    far = _variant(files[0], "far_flt.fits", move)
    _fails(tmp_path, [files[1], far], ParameterError, "far apart on the sky",
           median=False, blot=False, driz_cr=False, memory_limit=16)


def test_memory_limit_parameter(tmp_path, files):
    with pytest.raises(ParameterError, match="memory_limit=1e-06 GiB"):
        prepare(files, output=str(tmp_path / "o"), memory_limit=1e-6)
    res = prepare(files, output=str(tmp_path / "o"), memory_limit=1.0)
    assert res.output_shape is not None
    with pytest.raises(ParameterError, match="memory_limit"):
        prepare(files, output=str(tmp_path / "o"), memory_limit=-1)


# =========================================================================== odd paths
def test_non_ascii_and_space_paths_end_to_end(tmp_path, sim_dir, capsys):
    d = tmp_path / "dïr é"
    d.mkdir()
    names = []
    for f in sim_dir:
        dst = d / ("ü " + f.name)
        shutil.copy(f, dst)
        names.append(str(dst))
    before = _digest(d)
    res = astrodrizzle(names, output=str(d / "résumé out"), runfile=str(d / "lög.txt"),
                       progress=False)
    assert Path(res.output).name == "résumé out_drz.fits" and os.path.isfile(res.output)
    with fits.open(res.output) as hdul:
        assert hdul[0].header["FILENAME"] == "r\\xe9sum\\xe9 out_drz.fits"
        assert hdul[0].header["D001DATA"].startswith("\\xfc sim00_flt.fits")
    assert (d / "lög.txt").read_text()
    # the CLI as well, with one line per product and no traceback
    rc = main(["astrodrizzle", *names, "--output", str(d / "clï"), "--runfile", ""])
    out, err = capsys.readouterr()
    assert rc == 0 and "Traceback" not in err and "clï_drz.fits" in out
    after = _digest(d)
    assert {k: after[k] for k in before} == before


# =========================================================================== full disk
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_while_writing_the_log(tmp_path, files, caplog, capsys, monkeypatch):
    from drizzlekit.io.logfile import RunLogHandler

    # the log file's stream is /dev/full: every write fails with ENOSPC (the run file
    # itself is an ordinary path, so nothing outside tmp_path is ever created)
    monkeypatch.setattr(RunLogHandler, "_open",
                        lambda self: open("/dev/full", "w", encoding="utf-8"))
    with caplog.at_level(logging.ERROR, logger="drizzlekit"):
        res = astrodrizzle(files, output=str(tmp_path / "out"),
                           runfile=str(tmp_path / "run.log"), progress=False)
    assert os.path.isfile(res.output)
    errors = [r for r in caplog.records if "cannot write the log file" in r.getMessage()]
    assert len(errors) == 1 and "No space left" in errors[0].getMessage()
    assert "Logging error" not in capsys.readouterr().err
    rc = main(["astrodrizzle", *files, "--output", str(tmp_path / "cli"),
               "--runfile", str(tmp_path / "cli.log")])
    err = capsys.readouterr().err
    assert rc == 0 and "Traceback" not in err and "cannot write the log file" in err


def test_full_disk_while_writing_the_product(tmp_path, files, monkeypatch, capsys):
    import errno

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(a[0]) if a else None)

    monkeypatch.setattr(fits.HDUList, "writeto", full)
    before = _digest(os.path.dirname(files[0]))
    with pytest.raises(OutputFileError, match="cannot be written .No space left"):
        astrodrizzle(files, output=str(tmp_path / "out"), runfile="", progress=False)
    rc = main(["astrodrizzle", *files, "--output", str(tmp_path / "cli"), "--runfile", ""])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and "No space left" in err
    assert _digest(os.path.dirname(files[0])) == before
    assert not list(tmp_path.glob("**/*_drz*.fits"))


def test_cli_prints_one_line_for_a_hostile_input(tmp_path, files, capsys):
    bad = _variant(files[0], "bad_flt.fits", lambda h: h["SCI"].header.set("BUNIT", "MJy/sr"))
    rc = main(["astrodrizzle", files[1], bad, "--output", str(tmp_path / "o"),
               "--runfile", ""])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "error: " in err and "bad_flt.fits[SCI,1]" in err and "MJy/sr" in err
