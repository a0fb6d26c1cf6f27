"""STIS multi-imset files (CR-split / repeat-obs): one exposure per imset (issue 9).

Real data: ``tests/data/formats/o4k19a010_flt.fits.gz``, a 200x200 cut of a STIS/CCD
repeat-obs FLT (two SCI/ERR/DQ imsets of 150 s, EXPNAME o4k19ac3q / o4k19ac4q),
from the stwcs 1.7.7 sdist (see tests/data/formats/README.md).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from astropy.io import fits

import drizzlekit as dk
from drizzlekit.exceptions import InputError, InputFileError
from drizzlekit.io.fits_input import read_exposure
from drizzlekit.io.stis import split_exposure

from formats_data import STIS_FLT, unpack


@pytest.fixture
def stis(tmp_path):
    return unpack(STIS_FLT, tmp_path)


def _edit(path, primary=None, sci=None):
    with fits.open(path, mode="update") as h:
        for k, v in (primary or {}).items():
            h[0].header[k] = v
        for k, v in (sci or {}).items():
            for hdu in h[1:]:
                if hdu.header.get("EXTNAME") == "SCI":
                    if v is None:
                        del hdu.header[k]
                    else:
                        hdu.header[k] = v


def test_ccd_gain_readnoise_units(stis):
    exp = read_exposure(stis)
    assert exp.instrument == "STIS" and exp.detector == "CCD" and len(exp.chips) == 2
    for chip in exp.chips:
        assert chip.gain == 1.0                 # ATODGAIN
        assert chip.rdnoise == pytest.approx(3.99)  # READNSE (was 0 before issue 9)
        assert chip.bunit == "COUNTS" and chip.in_units == "counts"
        assert chip.eff_gain == chip.conversion_factor == 1.0
        assert chip.native_units == "COUNTS"
        assert chip.cte_dir == 1
        assert chip.exptime == 150.0            # the imset's own EXPTIME


def test_atodgain_and_readnse_are_read_and_user_values_win(stis):
    _edit(stis, primary={"ATODGAIN": 4.016, "READNSE": 7.5, "CCDGAIN": 4})
    chip = read_exposure(stis).chips[0]
    assert chip.gain == pytest.approx(4.016) and chip.rdnoise == pytest.approx(7.5)
    assert chip.eff_gain == pytest.approx(4.016)  # COUNTS -> electrons with ATODGAIN
    chip = read_exposure(stis, gain=2.0, rdnoise=3.0).chips[0]
    assert (chip.gain, chip.rdnoise) == (2.0, 3.0)


def test_mama_gain_one_readnoise_zero(stis):
    _edit(stis, primary={"DETECTOR": "FUV-MAMA", "ATODGAIN": 0.0, "READNSE": 0.0})
    chip = read_exposure(stis).chips[0]
    assert (chip.gain, chip.rdnoise, chip.cte_dir) == (1.0, 0.0, 0)


def test_split_into_exposures_named_after_expname(stis):
    exp = read_exposure(stis)
    pieces = split_exposure(exp, str(stis))
    assert [n for _, n in pieces] == [f"{stis}[sci,1]", f"{stis}[sci,2]"]
    assert [p.rootname for p, _ in pieces] == ["o4k19ac3q", "o4k19ac4q"]
    for k, (p, _) in enumerate(pieces):
        assert len(p.chips) == 1 and p.chips[0].extver == 1
        assert p.exptime == 150.0
        np.testing.assert_array_equal(p.chips[0].sci, exp.chips[k].sci)
    assert [c.extver for c in exp.chips] == [1, 2]  # the input object is not changed


def test_split_names_without_expname(stis):
    _edit(stis, sci={"EXPNAME": None})
    pieces = split_exposure(read_exposure(stis), str(stis))
    assert [p.rootname for p, _ in pieces] == ["o4k19a010_1", "o4k19a010_2"]


def test_single_imset_selected_is_not_split(stis):
    exp = read_exposure(stis, group=2)
    (piece, name), = split_exposure(exp, str(stis))
    assert piece is exp and name == str(stis)


def test_spectroscopic_is_refused(stis):
    _edit(stis, primary={"OBSTYPE": "SPECTROSCOPIC"})
    with pytest.raises(InputFileError, match="SPECTROSCOPIC"):
        dk.astrodrizzle(str(stis), output=str(stis.parent / "x"), runfile="")


def test_ivm_for_a_split_file_is_refused(stis, tmp_path):
    ivm = tmp_path / "ivm.fits"
    fits.PrimaryHDU(np.ones((200, 200), np.float32)).writeto(ivm)
    lst = tmp_path / "list.txt"
    lst.write_text(f"{stis} {ivm}\n")
    with pytest.raises(InputError, match="IVM"):
        dk.astrodrizzle(f"@{lst}", output=str(tmp_path / "x"), runfile="")


def test_pipeline_runs_two_exposures_with_cr_rejection(stis, caplog):
    before = stis.read_bytes()
    with caplog.at_level(logging.INFO, logger="drizzlekit"):
        res = dk.astrodrizzle(str(stis), runfile="", progress=False,
                              output=str(stis.parent / "o4k19a010"))
    assert stis.read_bytes() == before                    # input untouched
    assert res.names == [f"{stis}[sci,1]", f"{stis}[sci,2]"]
    assert [e.exptime for e in res.exposures] == [150.0, 150.0]
    assert res.texptime == 300.0
    with fits.open(res.output) as h:
        assert h[0].header["EXPTIME"] == 300.0
    skies = [res.sky[(n, 1)] for n in res.names]
    assert skies[0] != skies[1]                           # one sky per exposure
    for n in res.names:                                   # one CR mask per exposure
        flagged = int(np.count_nonzero(res.cr_masks[(n, 1)]))
        assert 20 < flagged < 2000
    for root in ("o4k19ac3q", "o4k19ac4q"):
        assert os.path.exists(stis.parent / f"{root}_sci1_crmask.fits")
    assert "split into exposures o4k19ac3q, o4k19ac4q" in caplog.text
