"""The ``drizzlekit`` command line: demo, astrodrizzle (flags, config files, errors)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from drizzlekit.cli import build_parser, main
from drizzlekit.datasets import simulate_dither
from drizzlekit.params import get_spec


def _digest(paths):
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_in")
    return simulate_dither(n_exposures=3, shape=(64, 80), n_chips=2, seed=21, n_stars=15,
                           n_galaxies=2, outdir=d).filenames


def _check_product(path, nchips):
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX"]
        assert hdul[0].header["NDRIZIM"] == nchips
        sci, wht = hdul["SCI"].data, hdul["WHT"].data
        assert sci.shape == wht.shape == hdul["CTX"].data.shape
        assert np.isfinite(sci[wht > 0]).all() and (wht > 0).mean() > 0.5
        return hdul[0].header.copy()


@pytest.mark.slow
def test_demo_console_script_in_tmp_dir(tmp_path):
    """``drizzlekit demo`` as installed (console script) writes demo_drz.fits in the cwd."""
    exe = Path(sys.executable).with_name("drizzlekit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "drizzlekit.cli"]
    proc = subprocess.run(cmd + ["-q", "demo"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "demo_drz.fits"
    assert f"wrote {out}" in proc.stdout
    _check_product(out, 8)
    assert sorted(p.name for p in (tmp_path / "demo_data").iterdir()) == \
        [f"demo{i:02d}_flt.fits" for i in range(4)]


def test_demo_in_process(tmp_path, capsys):
    assert main(["-q", "demo", "--outdir", str(tmp_path / "d"), "--size", "96",
                 "--n-exposures", "3"]) == 0
    out = tmp_path / "d" / "demo_drz.fits"
    assert str(out) in capsys.readouterr().out
    hdr = _check_product(out, 6)
    assert hdr["D001DATA"] == "demo00_flt.fits[sci,1]"
    assert (tmp_path / "d" / "demo.log").read_text().count("step") >= 7


def test_astrodrizzle_flags(sim_files, tmp_path, capsys):
    before = _digest(sim_files)
    out = tmp_path / "final"
    rc = main(["-q", "astrodrizzle", *sim_files, "--output", str(out), "--build",
               "--final-kernel", "turbo", "--final-pixfrac", "0.8", "--driz-cr-snr", "4 3.5",
               "--runfile", "", "--in-memory", "--no-progress"])
    assert rc == 0
    assert f"wrote {out}_drz.fits" in capsys.readouterr().out
    hdr = _check_product(f"{out}_drz.fits", 6)
    assert hdr["D001KERN"] == "turbo" and hdr["D006PIXF"] == 0.8
    assert _digest(sim_files) == before
    assert not list(Path(sim_files[0]).parent.glob("*crmask*"))  # --in-memory


def test_astrodrizzle_wildcard_and_separate_files(sim_files, tmp_path):
    pattern = str(Path(sim_files[0]).parent / "sim0*_flt.fits")
    rc = main(["-q", "astrodrizzle", pattern, "--output", str(tmp_path / "w"),
               "--runfile", str(tmp_path / "w.log"), "--no-build", "--in-memory",
               "--no-progress"])
    assert rc == 0
    for kind in ("sci", "wht", "ctx"):
        with fits.open(tmp_path / f"w_drz_{kind}.fits") as hdul:
            assert hdul[0].header["FILETYPE"] == kind.upper()
            assert hdul[0].data.ndim == 2
    assert "final_drizzle" in (tmp_path / "w.log").read_text()


def test_config_files_and_override(sim_files, tmp_path):
    spec = get_spec("astrodrizzle")
    toml = tmp_path / "pars.toml"
    spec.save(toml, {"final_pixfrac": 0.7, "final_kernel": "point", "build": True,
                     "in_memory": True, "runfile": ""})
    rc = main(["-q", "astrodrizzle", *sim_files, "--config", str(toml), "--output",
               str(tmp_path / "t"), "--final-kernel", "square", "--no-progress"])
    assert rc == 0
    hdr = fits.getheader(tmp_path / "t_drz.fits")
    assert hdr["D001PIXF"] == 0.7  # from the config
    assert hdr["D001KERN"] == "square"  # the flag wins
    cfg = tmp_path / "pars.cfg"  # drizzlepac configobj style
    cfg.write_text("_task_name_ = astrodrizzle\nbuild = True\nin_memory = True\n"
                   "runfile = ''\n[STEP 7: DRIZZLE FINAL COMBINED IMAGE]\n"
                   "final_pixfrac = 0.6\nfinal_units = counts\n")
    rc = main(["-q", "astrodrizzle", *sim_files, "--config", str(cfg), "--output",
               str(tmp_path / "c"), "--no-progress"])
    assert rc == 0
    with fits.open(tmp_path / "c_drz.fits") as hdul:
        assert hdul[0].header["D001PIXF"] == 0.6
        assert hdul["SCI"].header["BUNIT"] == "ELECTRONS"


def test_errors_exit_status_and_nothing_written(sim_files, tmp_path, capsys):
    before = _digest(sim_files)
    missing = str(tmp_path / "missing_flt.fits")
    assert main(["-q", "astrodrizzle", sim_files[0], missing, "--output",
                 str(tmp_path / "x"), "--runfile", "", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "missing_flt.fits" in err and "not found" in err
    assert main(["-q", "astrodrizzle", *sim_files, "--output", str(tmp_path / "x"),
                 "--final-pixfrac", "3", "--runfile", "", "--no-progress"]) == 2
    assert "final_pixfrac" in capsys.readouterr().err
    assert not list(tmp_path.glob("x_drz*"))
    assert _digest(sim_files) == before
    with pytest.raises(SystemExit):  # argparse rejects a kernel that is not a choice
        main(["astrodrizzle", *sim_files, "--final-kernel", "boxcar"])


def test_no_input_uses_drizzlepacs_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "astrodrizzle", "--runfile", "", "--no-progress"]) == 2
    assert "*flt.fits" in capsys.readouterr().err  # the documented default, matching nothing
    assert main(["-q", "astrodrizzle", "--input", "*flt.fits", "--runfile", "",
                 "--no-progress"]) == 2
    assert "matches no file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_parser_lists_subcommands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"astrodrizzle", "demo"} <= set(sub.choices)
    try:
        import drizzlekit.align.tweakreg  # noqa: F401
    except ImportError:
        pass
    else:
        assert "tweakreg" in sub.choices
    ad = sub.choices["astrodrizzle"]
    flags = {s for a in ad._actions for s in a.option_strings}
    assert {"--final-kernel", "--driz-cr-snr", "--config", "--skysub", "--no-skysub"} <= flags


def test_help_lists_choices_and_has_no_internal_references(capsys):
    with pytest.raises(SystemExit):
        main(["astrodrizzle", "--help"])
    out = capsys.readouterr().out
    assert "{square,point,turbo" in out and "CHOICE" not in out
    assert "spec Q" not in out and "spec §" not in out


def test_drizzlepac_spellings_are_aliases():
    parser = build_parser()
    args = parser.parse_args(["astrodrizzle", "x_flt.fits", "--final_pixfrac", "0.7",
                              "--no-driz_cr", "--final_kernel", "turbo"])
    assert args.final_pixfrac == "0.7" or float(args.final_pixfrac) == 0.7
    assert args.driz_cr is False and args.final_kernel == "turbo"


def test_misspelled_flag_gets_the_subcommand_usage_and_a_hint(capsys):
    with pytest.raises(SystemExit) as info:
        main(["astrodrizzle", "x_flt.fits", "--final-pixfracc", "0.5"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage: drizzlekit astrodrizzle" in err
    assert "did you mean --final-pixfrac?" in err


def test_an_error_is_printed_once(tmp_path, capsys):
    missing = str(tmp_path / "missing_flt.fits")
    assert main(["astrodrizzle", missing, "--runfile", "", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("missing_flt.fits: input file not found") == 1


def test_python_dash_m(tmp_path):
    out = subprocess.run([sys.executable, "-m", "drizzlekit", "--version"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("drizzlekit ")


def test_cfg_typo_is_an_error_with_a_hint(tmp_path):
    from drizzlekit.exceptions import ParameterError

    cfg = tmp_path / "pars.cfg"
    cfg.write_text("[STEP 7: DRIZ_CR]\nfinal_pixfarc = 0.5\nsome_drizzlepac_only = 1\n")
    with pytest.raises(ParameterError, match="did you mean 'final_pixfrac'"):
        get_spec("astrodrizzle").read_drizzlepac_cfg(cfg)


def test_tweakreg_messages(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = simulate_dither(n_exposures=2, shape=(128, 128), n_chips=1, seed=1, outdir=".",
                            wcs_error_arcsec=0.05).filenames
    before = _digest(files)
    # one image: the message names what is missing, not minobj; printed once
    assert main(["tweakreg", files[0], "--no-updatehdr"]) == 2
    err = capsys.readouterr().err
    assert "only one image" in err and "minobj" not in err
    assert err.count("only one image") == 1, err
    # without --updatehdr the user is told the headers were left alone
    assert main(["-q", "tweakreg", *files]) == 0
    assert "headers not updated" in capsys.readouterr().out
    assert _digest(files) == before
