"""FITS exposure reader and input-list expansion."""

import hashlib
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import InputError, InputFileError
from drizzlekit.io.fits_input import read_exposure
from drizzlekit.io.inputs import (
    InputItem,
    default_output_name,
    expand_inputs,
    output_filename,
    read_asn_table,
    rootname,
)

SHARED = Path("/work/shared/data/wcs_headers")
need_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared real headers not present")


def _grid(shape, step=17):
    y, x = np.mgrid[0:shape[0]:step, 0:shape[1]:step]
    return x.ravel().astype(float), y.ravel().astype(float)


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    return simulate_dither(n_exposures=3, shape=(96, 128), n_chips=2, n_stars=15,
                           n_galaxies=2, gain=2.0, read_noise=4.0, exptime=300.0,
                           seed=3, outdir=d)


# --------------------------------------------------------------------------- reader


def test_read_simulated_units_gain_exptime(sim_files):
    path = sim_files.filenames[1]
    before = _md5(path)
    exp = read_exposure(path)
    assert _md5(path) == before  # never modified
    assert exp.filename == path
    assert exp.rootname == "sim01"
    assert exp.instrument == "DKSIM" and exp.detector == "CCD"
    assert exp.exptime == 300.0
    assert [c.extver for c in exp.chips] == [1, 2]
    for chip in exp.chips:
        assert chip.sci.dtype == np.float32 and chip.sci.shape == (96, 128)
        assert chip.err.shape == chip.sci.shape and chip.dq.shape == chip.sci.shape
        assert chip.gain == 2.0 and chip.rdnoise == 4.0 and chip.exptime == 300.0
        assert chip.bunit == "ELECTRONS" and chip.in_units == "counts"
        assert chip.eff_gain == 1.0 and chip.conversion_factor == 1.0
        assert chip.native_units == "ELECTRONS"
        assert chip.idcscale == pytest.approx(0.05)
        assert chip.mdrizsky is None and chip.cte_dir == 0
        # arrays equal to what was written
        hdul = sim_files.hdulists[1]
        assert np.array_equal(chip.sci, hdul["SCI", chip.extver].data)
        assert np.array_equal(chip.dq, hdul["DQ", chip.extver].data)


def test_sip_wcs_round_trip_matches_truth(sim_files):
    truth = sim_files.truth
    for i, path in enumerate(sim_files.filenames):
        exp = read_exposure(path)
        for k, chip in enumerate(exp.chips):
            assert chip.wcs.sip is not None
            x, y = _grid(chip.shape)
            got = np.array(chip.wcs.all_pix2world(x, y, 0))
            want = np.array(truth.wcs[i][k].all_pix2world(x, y, 0))
            assert np.max(np.abs(got - want)) < 1e-9
            # the SIP really acts: plain linear part differs by > 0.05 px somewhere
            lin = np.array(chip.wcs.wcs_pix2world(x, y, 0))
            assert np.max(np.abs(lin - got)) * 3600 / 0.05 > 0.05


def test_header_wcs_carries_injected_error(tmp_path):
    sim = simulate_dither(n_exposures=3, shape=(64, 64), n_stars=3, n_galaxies=0,
                          wcs_error_arcsec=0.2, seed=5)
    assert read_exposure(sim.hdulists[2]).rootname == "sim02"
    for i, hdul in enumerate(sim.hdulists):
        chip = read_exposure(hdul).chips[0]
        tw = sim.truth.wcs[i][0]
        ra_h, dec_h = chip.wcs.all_pix2world([32.0], [32.0], 0)
        ra_t, dec_t = tw.all_pix2world([32.0], [32.0], 0)
        east = (ra_h[0] - ra_t[0]) * np.cos(np.deg2rad(dec_t[0])) * 3600
        north = (dec_h[0] - dec_t[0]) * 3600
        assert east == pytest.approx(sim.truth.wcs_errors[i, 0], abs=1e-4)
        assert north == pytest.approx(sim.truth.wcs_errors[i, 1], abs=1e-4)
    assert np.all(np.abs(sim.truth.wcs_errors) > 0)


def test_group_selects_chips(sim_files):
    path = sim_files.filenames[0]
    assert [c.extver for c in read_exposure(path, group=2).chips] == [2]
    assert [c.extver for c in read_exposure(path, group="1,2").chips] == [1, 2]
    assert [c.extver for c in read_exposure(path, group=[("sci", 1)]).chips] == [1]
    with pytest.raises(InputError, match="group.*3"):
        read_exposure(path, group=3)


@pytest.mark.parametrize("bunit,gain,in_units,eff_gain,cf", [
    ("ELECTRONS/S", 1.5, "cps", 1.0, 200.0),
    ("COUNTS", 2.5, "counts", 2.5, 2.5),
])
def test_units_rules(bunit, gain, in_units, eff_gain, cf):
    sim = simulate_dither(n_exposures=1, shape=(64, 64), n_stars=4, n_galaxies=0,
                          bunit=bunit, gain=gain, exptime=200.0, cr_rate=0,
                          bad_pixel_fraction=0, seed=1)
    chip = read_exposure(sim.hdulists[0]).chips[0]
    assert chip.bunit == bunit and chip.in_units == in_units
    assert chip.eff_gain == pytest.approx(eff_gain)
    assert chip.conversion_factor == pytest.approx(cf)
    # data * conversion_factor is in electrons: matches the noiseless model
    resid = chip.sci.astype(float) * chip.conversion_factor - sim.truth.models[0][0]
    assert abs(np.median(resid)) < 1.0
    assert np.sum(chip.sci * chip.conversion_factor) == pytest.approx(
        sim.truth.models[0][0].sum(), rel=2e-3)


def test_generic_defaults_and_warning(tmp_path, caplog):
    path = tmp_path / "plain.fits"
    hdr = fits.Header()
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN", "DEC--TAN"
    hdr["CRVAL1"], hdr["CRVAL2"] = 10.0, 20.0
    hdr["CRPIX1"], hdr["CRPIX2"] = 5.0, 5.0
    hdr["CD1_1"], hdr["CD2_2"] = -1e-4, 1e-4
    hdr["EXPTIME"] = 30.0
    fits.PrimaryHDU(np.ones((10, 12), dtype=np.int16), header=hdr).writeto(path)
    with caplog.at_level(logging.WARNING, logger="drizzlekit.io.fits_input"):
        exp = read_exposure(path)
    chip = exp.chips[0]
    assert chip.sci.dtype == np.float32 and chip.sci.shape == (10, 12)
    assert chip.err is None and chip.dq is None
    assert chip.gain == 1.0 and chip.rdnoise == 0.0 and chip.exptime == 30.0
    assert chip.bunit == "ELECTRONS/S" and chip.in_units == "cps"  # no BUNIT -> e-/s
    assert chip.conversion_factor == 30.0
    assert chip.idcscale == pytest.approx(0.36)
    text = caplog.text
    assert "gain" in text and "rdnoise" in text and "plain.fits" in text


def test_instrument_parameter_overrides(sim_files):
    path = sim_files.filenames[0]
    chip = read_exposure(path, gain=3.0, rdnoise="0,6,0,8", exptime=12.0).chips[0]
    assert (chip.gain, chip.rdnoise, chip.exptime) == (3.0, 7.0, 12.0)
    chip = read_exposure(path, gnkeyword="ATODGNA,ATODGNB").chips[0]
    assert chip.gain == 2.0
    with pytest.raises(InputError, match="gain"):
        read_exposure(path, gain=2.0, gnkeyword="ATODGNA")
    with pytest.raises(InputFileError, match="NOSUCHKEY"):
        read_exposure(path, gnkeyword="NOSUCHKEY")


def test_constant_err_dq_arrays_expanded(tmp_path):
    path = tmp_path / "const_flt.fits"
    sci = fits.ImageHDU(np.zeros((6, 8), np.float32), name="SCI")
    err = fits.ImageHDU(name="ERR")
    err.header.update({"NPIX1": 8, "NPIX2": 6, "PIXVALUE": 2.5})
    dq = fits.ImageHDU(name="DQ")
    dq.header.update({"NPIX1": 8, "NPIX2": 6, "PIXVALUE": 4})
    for h in (sci, err, dq):
        h.header["EXTVER"] = 1
    sci.header.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 1.0,
                       "CRVAL2": 1.0, "CD1_1": -1e-5, "CD2_2": 1e-5, "BUNIT": "ELECTRONS"})
    fits.HDUList([fits.PrimaryHDU(), sci, err, dq]).writeto(path)
    chip = read_exposure(path).chips[0]
    assert chip.err.shape == (6, 8) and np.all(chip.err == 2.5)
    assert chip.dq.shape == (6, 8) and np.all(chip.dq == 4)


@need_shared
def test_real_lookup_table_wcs_matches_astropy():
    path = SHARED / "dist_lookup.fits.gz"
    chip = read_exposure(path).chips[0]
    assert chip.wcs.sip is not None
    assert chip.wcs.cpdis1 is not None and chip.wcs.cpdis2 is not None
    assert chip.wcs.det2im1 is not None
    with fits.open(path) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = WCS(hdul[1].header, hdul)
        nolut_hdr = hdul[1].header.copy()
    for key in list(nolut_hdr.keys()):
        if key.startswith(("CPDIS", "DP1", "DP2", "CPERR", "D2IM")):
            nolut_hdr.remove(key, ignore_missing=True, remove_all=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sip_only = WCS(nolut_hdr)
    x, y = _grid((100, 100), step=7)
    got = np.array(chip.wcs.all_pix2world(x, y, 0))
    assert np.max(np.abs(got - np.array(ref.all_pix2world(x, y, 0)))) < 1e-12
    # the lookup tables matter: without them positions move by > 0.02 px
    diff_pix = np.max(np.abs(got - np.array(sip_only.all_pix2world(x, y, 0)))) * 3600 / 0.05
    assert diff_pix > 0.02


@need_shared
def test_real_acs_wfc_two_chip_headers():
    exp = read_exposure(SHARED / "2chipA.fits.gz")
    assert exp.instrument == "ACS" and exp.detector == "WFC"
    gains = [0.99989998, 0.97210002, 1.0107, 1.018]
    rns = [4.9699998, 4.8499999, 5.2399998, 4.8499999]
    assert [c.cte_dir for c in exp.chips] == [-1, 1]
    for c in exp.chips:
        assert c.gain == pytest.approx(np.mean(gains))
        assert c.rdnoise == pytest.approx(np.mean(rns))
        assert c.exptime == 400.0 and c.conversion_factor == 1.0
        assert c.wcs.cpdis1 is not None
        assert c.dq.dtype.kind in "iu"


# --------------------------------------------------------------------------- bad files


def _write_sci(path, sci, err=None, dq=None):
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI")]
    if err is not None:
        hdus.append(fits.ImageHDU(err, name="ERR"))
    if dq is not None:
        hdus.append(fits.ImageHDU(dq, name="DQ"))
    for h in hdus[1:]:
        h.header["EXTVER"] = 1
    fits.HDUList(hdus).writeto(path)


def test_bad_inputs_raise_input_file_error(tmp_path):
    cases = {}
    cases["missing"] = (tmp_path / "nope_flt.fits", "not found")
    junk = tmp_path / "junk_flt.fits"
    junk.write_bytes(b"this is not a FITS file at all" * 100)
    cases["junk"] = (junk, "cannot be read")
    nosci = tmp_path / "nosci_flt.fits"
    fits.HDUList([fits.PrimaryHDU(),
                  fits.BinTableHDU.from_columns([fits.Column("A", "J", array=[1])])]
                 ).writeto(nosci)
    cases["nosci"] = (nosci, "no SCI")
    cube = tmp_path / "cube_flt.fits"
    _write_sci(cube, np.zeros((2, 4, 4), np.float32))
    cases["cube"] = (cube, "2-D")
    errbad = tmp_path / "errbad_flt.fits"
    _write_sci(errbad, np.zeros((4, 4), np.float32), err=np.zeros((4, 5), np.float32))
    cases["err"] = (errbad, "ERR,1 shape")
    dqbad = tmp_path / "dqbad_flt.fits"
    _write_sci(dqbad, np.zeros((4, 4), np.float32), dq=np.zeros((3, 4), np.int16))
    cases["dq"] = (dqbad, "DQ,1 shape")
    for n_bytes in (2880 + 1000, 2 * 2880 + 100, 3 * 2880):
        trunc = tmp_path / f"trunc{n_bytes}_flt.fits"
        _write_sci(trunc, np.ones((64, 64), np.float32))
        trunc.write_bytes(trunc.read_bytes()[:n_bytes])
        cases[f"trunc{n_bytes}"] = (trunc, "truncated or corrupt")
    for name, (path, fragment) in cases.items():
        with pytest.raises(InputFileError) as info:
            read_exposure(path)
        msg = str(info.value)
        assert str(path) in msg, name
        assert fragment in msg, (name, msg)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(InputFileError, match="directory"):
        read_exposure(tmp_path)


def test_file_closed_after_read(sim_files):
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("no /proc")
    path = os.path.realpath(sim_files.filenames[0])
    read_exposure(path)
    open_targets = []
    for fd in os.listdir(fd_dir):
        try:
            open_targets.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            pass
    assert path not in open_targets


# --------------------------------------------------------------------------- inputs


@pytest.fixture
def files(tmp_path):
    names = ["b_flt.fits", "a_flt.fits", "c_flc.fits"]
    for n in names:
        fits.PrimaryHDU(np.zeros((2, 2))).writeto(tmp_path / n)
    return tmp_path


def test_expand_single_list_comma_wildcard(files):
    a, b, c = (str(files / n) for n in ("a_flt.fits", "b_flt.fits", "c_flc.fits"))
    assert expand_inputs(a) == [InputItem(a)]
    assert expand_inputs(Path(a)) == [InputItem(a)]
    # a Python list keeps its order
    assert [i.filename for i in expand_inputs([b, a])] == [b, a]
    # a comma string is sorted
    assert [i.filename for i in expand_inputs(f"{b}, {a}")] == [a, b]
    # wildcard, sorted
    assert [i.filename for i in expand_inputs(str(files / "*_fl?.fits"))] == [a, b, c]
    assert [i.filename for i in expand_inputs([str(files / "*_flt.fits")])] == [a, b]


def test_expand_atfile_with_ivm(files):
    for n in ("a_ivm.fits", "b_ivm.fits"):
        fits.PrimaryHDU(np.ones((2, 2))).writeto(files / n)
    at = files / "list.txt"
    at.write_text("# inputs\nb_flt.fits b_ivm.fits\n\na_flt.fits  a_ivm.fits\n")
    items = expand_inputs(f"@{at}")
    assert items == [InputItem(str(files / "b_flt.fits"), str(files / "b_ivm.fits")),
                     InputItem(str(files / "a_flt.fits"), str(files / "a_ivm.fits"))]
    plain = files / "plain.txt"
    plain.write_text("a_flt.fits\nc_flc.fits\n")
    assert [i.ivm for i in expand_inputs(f"@{plain}")] == [None, None]
    bad = files / "bad.txt"
    bad.write_text("a_flt.fits a_ivm.fits\nb_flt.fits missing_ivm.fits\n")
    with pytest.raises(InputFileError, match="missing_ivm.fits"):
        expand_inputs(f"@{bad}")
    with pytest.raises(InputFileError, match="nolist.txt"):
        expand_inputs(f"@{files / 'nolist.txt'}")


def _write_asn(path, members, product="J8BT05020", prsnt=None):
    names = list(members) + [product]
    types = ["EXP-DTH"] * len(members) + ["PROD-DTH"]
    present = prsnt if prsnt is not None else [True] * len(names)
    cols = [fits.Column("MEMNAME", "14A", array=names),
            fits.Column("MEMTYPE", "14A", array=types),
            fits.Column("MEMPRSNT", "L", array=present)]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)


def test_expand_asn_table(files):
    asn = files / "j8bt05020_asn.fits"
    _write_asn(asn, ["B", "A", "C"])
    items = expand_inputs(str(asn))
    # ASN order, resolved to _flt first, then _flc
    assert [i.filename for i in items] == [str(files / "b_flt.fits"), str(files / "a_flt.fits"),
                                          str(files / "c_flc.fits")]
    tab = read_asn_table(asn)
    assert tab.members == ("B", "A", "C") and tab.product == "J8BT05020"
    assert default_output_name(str(asn)) == "j8bt05020"
    assert output_filename(str(asn)) == "j8bt05020_drz.fits"
    # members flagged not present are skipped
    asn2 = files / "x_asn.fits"
    _write_asn(asn2, ["A", "C"], prsnt=[False, True, True])
    assert [i.filename for i in expand_inputs(str(asn2))] == [str(files / "c_flc.fits")]


def test_asn_errors(files):
    missing = files / "m_asn.fits"
    _write_asn(missing, ["A", "ZZZ"])
    with pytest.raises(InputFileError, match="ZZZ"):
        expand_inputs(str(missing))
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(files / "a_flc.fits")
    dup = files / "d_asn.fits"
    _write_asn(dup, ["A"])
    with pytest.raises(InputFileError, match="a_flt.fits and a_flc.fits"):
        expand_inputs(str(dup))
    notab = files / "n_asn.fits"
    fits.PrimaryHDU().writeto(notab)
    with pytest.raises(InputFileError, match="n_asn.fits.*MEMNAME"):
        expand_inputs(str(notab))


def test_missing_inputs_named(files):
    with pytest.raises(InputFileError, match="zz_flt.fits"):
        expand_inputs(str(files / "zz_flt.fits"))
    with pytest.raises(InputFileError, match=r"q\*.fits"):
        expand_inputs(str(files / "q*.fits"))
    with pytest.raises(InputFileError, match="zz_flt.fits"):
        expand_inputs([str(files / "a_flt.fits"), str(files / "zz_flt.fits")])
    with pytest.raises(InputError, match="input"):
        expand_inputs([])
    with pytest.raises(InputError, match="input"):
        expand_inputs(42)


def test_output_names(files):
    a, c = str(files / "a_flt.fits"), str(files / "c_flc.fits")
    assert rootname(a) == "a" and rootname("x/y_z.fits.gz") == "y_z"
    assert default_output_name(a) == "a"
    assert default_output_name([a, c]) == "final"
    assert output_filename(a) == "a_drz.fits"
    assert output_filename([c, a]) == "final_drc.fits"
    assert output_filename([a], output="mosaic") == "mosaic_drz.fits"
    assert output_filename([a], output="mosaic.fits") == "mosaic.fits"
    assert output_filename([a], output="mosaic_drz") == "mosaic_drz"
