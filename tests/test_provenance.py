"""Provenance: every parameter in the product and the log; logs never clobbered by a
failed run; reruns say that they overwrite."""

from __future__ import annotations

import logging

import pytest
from astropy.io import fits

import drizzlekit as dk
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import DrizzlekitError


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("prov")
    return simulate_dither(n_exposures=2, shape=(48, 56), n_chips=1, seed=5, n_stars=8,
                           n_galaxies=1, outdir=d).filenames


def test_parameters_in_product_and_log_and_failed_log_kept(sim, tmp_path, caplog):
    log = tmp_path / "run.log"
    out = tmp_path / "prod"
    dk.astrodrizzle(sim, str(out), runfile=str(log), final_pixfrac=0.8, driz_cr=False,
                    median=False, blot=False, progress=False)
    history = "\n".join(fits.getheader(f"{out}_drz.fits")["HISTORY"])
    assert "final_pixfrac = 0.8" in history and "final_kernel = square" in history
    text = log.read_text()
    assert "final_pixfrac = 0.8" in text
    assert not (tmp_path / "run.log.partial").exists()

    with caplog.at_level(logging.WARNING, logger="drizzlekit"):
        dk.astrodrizzle(sim, str(out), runfile=str(log), driz_cr=False, median=False,
                        blot=False, progress=False)
    assert any("overwriting the existing product" in r.getMessage() for r in caplog.records)
    good_log = log.read_text()

    with pytest.raises(DrizzlekitError):
        dk.astrodrizzle(sim, str(out), runfile=str(log), final_pixfrac=-1, progress=False)
    assert log.read_text() == good_log  # the log DRIZPARS points to is untouched
    failed = tmp_path / "run_failed.log"
    assert failed.exists() and "final_pixfrac" in failed.read_text()


def test_runfile_dev_null_is_left_a_device(sim, tmp_path):
    import os
    import stat

    dk.astrodrizzle(sim, str(tmp_path / "p"), runfile=os.devnull, driz_cr=False,
                    median=False, blot=False, progress=False)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_first_run_says_it_compiles(sim, tmp_path, caplog, monkeypatch):
    import drizzlekit.warmup as warmup

    monkeypatch.setattr(warmup, "is_compiled", lambda name: name != "square")
    with caplog.at_level(logging.INFO, logger="drizzlekit"):
        dk.astrodrizzle(sim, str(tmp_path / "c"), runfile="", driz_cr=False, median=False,
                        blot=False, progress=False)
    assert any("compiling kernels (first run only): square" in r.getMessage()
               for r in caplog.records)
