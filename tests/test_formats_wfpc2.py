"""WFPC2 in every form drizzlepac takes: GEIS, waivered FITS, c0m/c0h MEF, FLT (issue 9).

Real data: ``tests/data/formats/u40x010hm_c0f.fits.gz`` + ``_c1f.fits.gz``, 200x200
cuts of the four chips of a real WFPC2 exposure (waivered FITS) from the stwcs 1.7.7
sdist; the GEIS and MEF forms are written from them here (tests/formats_data.py).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
from astropy.io import fits

import drizzlekit as dk
from drizzlekit.exceptions import InputFileError
from drizzlekit.io.fits_input import read_exposure
from drizzlekit.io.inputs import expand_inputs, output_filename, rootname
from drizzlekit.io.wfpc2 import (WFPC2_GAIN_RDNOISE, dq_companion, read_geis,
                                 waivered_to_mef)

from formats_data import (FORMATS, WFPC2_C0F, WFPC2_C1F, cr_scores, unpack,
                          wfpc2_geis, wfpc2_pair_with_cosmic_rays)


@pytest.fixture(scope="module")
def reference():
    """The waivered pair read as drizzlekit reads it (every other form must equal it)."""
    with fits.open(FORMATS / WFPC2_C1F) as h:
        dq = np.array(h[0].data)
    return read_exposure(FORMATS / WFPC2_C0F), dq


@pytest.fixture
def waivered(tmp_path):
    unpack(WFPC2_C1F, tmp_path)
    return unpack(WFPC2_C0F, tmp_path)


def _same(exp, ref):
    assert len(exp.chips) == 4
    for a, b in zip(exp.chips, ref.chips):
        np.testing.assert_array_equal(a.sci, b.sci)
        np.testing.assert_array_equal(a.dq, b.dq)
        assert (a.gain, a.rdnoise, a.eff_gain, a.conversion_factor) == \
            (b.gain, b.rdnoise, b.eff_gain, b.conversion_factor)
        np.testing.assert_allclose(a.wcs.wcs.crval, b.wcs.wcs.crval, rtol=0, atol=1e-9)
        np.testing.assert_allclose(a.wcs.wcs.crpix, b.wcs.wcs.crpix, rtol=0, atol=1e-6)
        np.testing.assert_allclose(a.wcs.wcs.cd, b.wcs.wcs.cd, rtol=1e-6)


def test_waivered_chips_gain_readnoise_units_dq(reference):
    exp, dq = reference
    assert exp.instrument == "WFPC2" and exp.exptime == 100.0
    for k, chip in enumerate(exp.chips, start=1):
        det = int(chip.header["DETECTOR"])
        assert det == k
        assert (chip.gain, chip.rdnoise) == WFPC2_GAIN_RDNOISE[det][7]  # ATODGAIN = 7
        # DN: drizzlepac multiplies by the chip gain whatever BUNIT says; no BUNIT in a
        # waivered file is read as DN (drizzlepac: ELECTRONS/S, see io/instruments.py)
        assert chip.eff_gain == chip.conversion_factor == chip.gain
        assert chip.bunit == "COUNTS" and chip.in_units == "counts"
        assert chip.native_units == "COUNTS" and chip.cte_dir == -1
        np.testing.assert_array_equal(chip.dq, dq[k - 1])       # from the _c1f file
        assert 0.1 < np.mean(chip.dq != 0) < 0.35                # the pyramid shadow
    assert exp.chips[0].idcscale == pytest.approx(0.0455, abs=2e-4)   # PC
    assert exp.chips[1].idcscale == pytest.approx(0.0996, abs=2e-4)   # WF2


@pytest.mark.parametrize("order", ["<", ">"])
def test_geis_either_byte_order(tmp_path, reference, order):
    c0h = wfpc2_geis(tmp_path, order)
    exp = read_exposure(c0h)
    _same(exp, reference[0])
    assert exp.rootname == "u40x010hm"
    assert exp.primary_header["ATODGAIN"] == 7.0
    assert "GCOUNT" not in exp.primary_header and "PTYPE1" not in exp.primary_header


@pytest.mark.parametrize("sci_suffix,dq_suffix", [("_c0h", "_c1h"), ("_c0m", "_c1m")])
def test_mef_forms_with_companion(tmp_path, reference, waivered, sci_suffix, dq_suffix):
    with fits.open(waivered) as h:
        waivered_to_mef(h, str(waivered)).writeto(tmp_path / f"u40x010hm{sci_suffix}.fits")
    with fits.open(str(waivered).replace("_c0f", "_c1f")) as h:
        waivered_to_mef(h, "").writeto(tmp_path / f"u40x010hm{dq_suffix}.fits")
    exp = read_exposure(tmp_path / f"u40x010hm{sci_suffix}.fits")
    _same(exp, reference[0])


def test_flt_form_has_its_own_dq(tmp_path, reference, waivered):
    with fits.open(waivered) as h:
        mef = waivered_to_mef(h, str(waivered))
    dq = reference[1]
    for k in range(4):
        mef.append(fits.ImageHDU(dq[k].astype(np.int16), name="DQ", ver=k + 1))
    mef.writeto(tmp_path / "u40x010hm_flt.fits")
    _same(read_exposure(tmp_path / "u40x010hm_flt.fits"), reference[0])


def test_missing_dq_file_warns(tmp_path, caplog):
    c0f = unpack(WFPC2_C0F, tmp_path)
    with caplog.at_level(logging.WARNING):
        exp = read_exposure(c0f)
    assert exp.chips[0].dq is None
    assert "u40x010hm_c1f.fits" in caplog.text and "data-quality" in caplog.text


def test_bad_atodgain_names_the_file(waivered):
    with fits.open(waivered, mode="update") as h:
        h[0].header["ATODGAIN"] = 10.0
    with pytest.raises(InputFileError, match="u40x010hm_c0f.fits.*ATODGAIN"):
        read_exposure(waivered)
    chip = read_exposure(waivered, gain=7.0, rdnoise=5.0).chips[0]   # user values win
    assert (chip.gain, chip.rdnoise) == (7.0, 5.0)


def test_dq_file_with_other_groups_is_refused(tmp_path, waivered):
    c1f = str(waivered).replace("_c0f", "_c1f")
    with fits.open(c1f) as h:
        h[0].data = h[0].data[:3]
        h[0].header["NAXIS3"] = 3
        h[1].data = h[1].data[:3]
        h.writeto(c1f, overwrite=True)
    with pytest.raises(InputFileError, match="3 groups"):
        read_exposure(waivered)


def test_geis_damaged_files(tmp_path):
    c0h = wfpc2_geis(tmp_path)
    d = str(c0h)[:-1] + "d"
    raw = open(d, "rb").read()
    open(d, "wb").write(raw[: len(raw) // 2])
    with pytest.raises(InputFileError, match="c0d.*groups"):
        read_exposure(c0h)
    os.remove(d)
    with pytest.raises(InputFileError, match="data file u40x010hm.c0d not found"):
        read_exposure(c0h)
    c1h = tmp_path / "u40x010hm.c1h"
    c1h.write_text(c1h.read_text().replace("END" + " " * 77, "X" * 80))
    with pytest.raises(InputFileError, match="END"):
        read_geis(c1h)


def test_names_and_wildcards(tmp_path):
    c0h = wfpc2_geis(tmp_path / "geis")
    assert rootname(c0h) == "u40x010hm"
    assert dq_companion(str(c0h)).endswith("u40x010hm.c1h")
    assert dq_companion("a/u1_c0f.fits.gz") == os.path.join("a", "u1_c1f.fits.gz")
    assert dq_companion("u1_c0m.fits") == "u1_c1m.fits"
    assert dq_companion("u1_flt.fits") is None
    assert output_filename(str(c0h)) == "u40x010hm_drw.fits"
    # a wildcard over the visit gives the science files only
    got = [os.path.basename(i.filename) for i in expand_inputs(str(tmp_path / "geis" / "u*"))]
    assert got == ["u40x010hm.c0h"]
    unpack(WFPC2_C0F, tmp_path / "w")
    unpack(WFPC2_C1F, tmp_path / "w")
    got = [os.path.basename(i.filename) for i in expand_inputs(str(tmp_path / "w" / "*.fits"))]
    assert got == ["u40x010hm_c0f.fits"]


def test_pipeline_product_in_dn_per_second_and_dq_used(tmp_path, waivered):
    """The _drw product is in DN/s (drizzlepac's DN divided by EXPTIME,
    tests/test_formats_peer.py measures it) -- not 7x too faint -- and the DQ-flagged
    pixels are not drizzled."""
    before = waivered.read_bytes()
    res = dk.astrodrizzle(str(waivered), runfile="", progress=False,
                          output=str(tmp_path / "u40x010hm"))
    assert waivered.read_bytes() == before
    assert res.output.endswith("u40x010hm_drw.fits")
    with fits.open(res.output) as h:
        sci, wht = h["SCI"].data * 100.0, h["WHT"].data     # DN/s -> DN
        assert h[0].header["EXPTIME"] == 100.0
        assert h["SCI"].header["BUNIT"] == "COUNTS/S"
    exp = read_exposure(waivered)
    good = np.concatenate([c.sci[c.dq == 0] - res.sky[(str(waivered), c.extver)]
                           for c in exp.chips[1:]])
    # WF chips (same pixel scale ratio): sky-subtracted DN percentiles agree in and out
    ratio = np.percentile(sci[wht > 0], 99.5) / np.percentile(good, 99.5)
    assert 0.1 < ratio < 0.5   # WF pixels spread over (0.0996/0.0455)^2 = 4.8 PC pixels
    covered = np.count_nonzero(wht > 0) * (0.0455 / 0.0996) ** 2
    good_px = sum(np.count_nonzero(c.dq == 0) for c in exp.chips[1:])
    assert covered < 1.05 * good_px + np.count_nonzero(exp.chips[0].dq == 0)


def test_asn_member_resolves_to_a_wfpc2_file(tmp_path):
    unpack(WFPC2_C0F, tmp_path)
    unpack(WFPC2_C1F, tmp_path)
    cols = [fits.Column("MEMNAME", "14A", array=["U40X010HM", "U40X010H0"]),
            fits.Column("MEMTYPE", "14A", array=["EXP-DTH", "PROD-DTH"])]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(
        tmp_path / "u40x010h0_asn.fits")
    items = expand_inputs(str(tmp_path / "u40x010h0_asn.fits"))
    assert [os.path.basename(i.filename) for i in items] == ["u40x010hm_c0f.fits"]


def test_two_exposures_known_cosmic_rays(tmp_path):
    """Two copies of the real exposure with 150 known cosmic rays per chip each: found
    and few false flags (drizzlepac 3.11.0 on the same files, reading no BUNIT as a rate:
    ~10000 false flags per chip, 73 % found; tests/test_formats_peer.py)."""
    paths, truth = wfpc2_pair_with_cosmic_rays(tmp_path)
    res = dk.astrodrizzle([str(p) for p in paths], output=str(tmp_path / "pair"),
                          runfile="", progress=False)
    masks, dq = {}, {}
    for name, exp in zip(res.names, res.exposures):
        for chip in exp.chips:
            masks[(exp.rootname, chip.extver)] = res.cr_masks[(name, chip.extver)]
            dq[(exp.rootname, chip.extver)] = chip.dq
    recall, false = cr_scores(masks, truth, dq)
    assert recall > 0.98 and false < 400


def test_in_memory_hdulist_is_not_changed(tmp_path, waivered, reference):
    with fits.open(waivered) as h:
        mef = waivered_to_mef(h, str(waivered))
    before = [hdu.header.tostring() for hdu in mef]
    exp = read_exposure(mef)
    assert [hdu.header.tostring() for hdu in mef] == before
    assert exp.chips[0].bunit == "COUNTS" and exp.chips[0].dq is None  # no file, no DQ
