"""Inputs as the user left them: tweakreg(updatehdr) against hostile inputs, restore_wcs.

Read-only files, symbolic links, files listed twice and runs where every image
FAILED; after every refusal the inputs are byte-identical.
"""

import os
import shutil
import stat

import numpy as np
import pytest
from astropy.io import fits

import drizzlekit
from drizzlekit.align.tweakreg import tweakreg
from drizzlekit.cli import main
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import InputError, InputFileError, ParameterError
from drizzlekit.io.inplace import check_distinct, check_updatable
from tests.helpers import copies_in


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sim_inplace")
    return simulate_dither(n_exposures=3, shape=(160, 224), n_chips=1, n_stars=80,
                           n_galaxies=0, dithers="fewpixel", wcs_error_arcsec=0.15,
                           cr_rate=0, seed=5, outdir=d)


@pytest.fixture()
def work(sim_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = copies_in(tmp_path, sim_files.filenames)
    return files


def _bytes(files):
    return [open(f, "rb").read() for f in files]


def _crval(f):
    with fits.open(f) as h:
        hdr = h["SCI", 1].header
        return np.array([hdr["CRVAL1"], hdr["CRVAL2"]]), str(hdr.get("WCSNAME", ""))


def test_read_only_input_is_refused_before_anything_is_written(work):
    files = work
    os.chmod(files[1], stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # 0444 (refused for root too)
    try:
        before = _bytes(files)
        with pytest.raises(InputFileError, match=r"sim01_flt.fits.*read-only"):
            tweakreg(files, searchrad=1.0, updatehdr=True, writecat=True, runfile="")
        assert _bytes(files) == before
        assert not any(n.endswith(".coo") for n in os.listdir("."))  # nothing computed/written
        # without updatehdr a read-only input is fine
        res = tweakreg(files, searchrad=1.0, updatehdr=False, writecat=False, runfile="")
        assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS"]
        assert _bytes(files) == before
    finally:
        os.chmod(files[1], 0o644)


def test_check_updatable_tests_the_file_itself_not_only_its_folder(tmp_path, monkeypatch):
    f = tmp_path / "a_flt.fits"
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(f)
    assert check_updatable([str(f)]) == [os.path.realpath(f)]
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **k: False if os.fspath(p) == str(f)
                        else real_access(p, m, **k))  # as a 0444 file for a non-root user
    with pytest.raises(InputFileError, match="read-only"):
        check_updatable([str(f)])


def test_symlinked_input_is_updated_through_the_link(work, tmp_path):
    files = work
    real_dir = tmp_path / "archive"
    real_dir.mkdir()
    target = real_dir / "sim01_flt.fits"
    shutil.move(files[1], target)
    os.symlink(target, files[1])
    old, _ = _crval(target)
    res = tweakreg(files, searchrad=1.0, updatehdr=True, writecat=False, runfile="")
    assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert os.path.islink(files[1]) and os.readlink(files[1]) == str(target)
    new, name = _crval(target)
    assert name == "TWEAK" and not np.allclose(new, old, rtol=0, atol=1e-9)
    assert not any(n.startswith(".sim01") for n in os.listdir(tmp_path))  # no temp left


def test_a_file_listed_twice_is_an_error(work, tmp_path):
    files = work
    before = _bytes(files)
    with pytest.raises(InputError, match="listed twice"):
        tweakreg(files + [files[1]], updatehdr=True, runfile="")
    alias = tmp_path / "alias_flt.fits"
    os.symlink(files[2], alias)
    with pytest.raises(InputError, match="same file as"):
        tweakreg(files + [str(alias)], updatehdr=False, runfile="")
    hard = tmp_path / "hard_flt.fits"
    os.link(files[0], hard)
    with pytest.raises(InputError, match="same file as"):
        check_distinct([files[0], str(hard)])
    assert _bytes(files) == before


def test_reference_is_not_rewritten_when_every_other_image_failed(work, tmp_path):
    files = work
    # a different star field at the same pointing: nothing matches the reference
    other = simulate_dither(n_exposures=2, shape=(160, 224), n_chips=1, n_stars=80,
                            n_galaxies=0, cr_rate=0, seed=99, prefix="other",
                            outdir=tmp_path / "o")
    inputs = [files[0]] + other.filenames
    before = _bytes(inputs)
    res = tweakreg(inputs, searchrad=1.0, updatehdr=True, headerlet=True, writecat=False,
                   runfile="", refimage=files[0])
    assert res.statuses[0] == "REFERENCE"
    assert all(s.startswith("FAILED") for s in res.statuses[1:]), res.statuses
    assert _bytes(inputs) == before
    assert "headers" not in res.written and not res.written.get("headerlets")


def test_restore_wcs_undoes_updatehdr(work):
    files = work
    orig = [_crval(f) for f in files]
    res = tweakreg(files, searchrad=1.0, updatehdr=True, writecat=False, runfile="")
    assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert _crval(files[1])[1] == "TWEAK"
    aligned = _crval(files[1])[0]
    with fits.open(files[1]) as h:
        name = h["SCI", 1].header["WCSNAMEA"]  # the archived original ('UNNAMED' here)
    reports = drizzlekit.restore_wcs(files[1:], wcsname=name)
    assert [r["restored"] for r in reports] == [["A"], ["A"]]
    for f, (crval, _) in zip(files[1:], orig[1:]):
        back, bname = _crval(f)
        assert bname == name and np.array_equal(back, crval)
    # the replaced (aligned) WCS was archived, so it can come back too
    with fits.open(files[1]) as h:
        hdr = h["SCI", 1].header
        key = next(k for k in "BCDEFGH" if hdr.get(f"WCSNAME{k}") == "TWEAK")
    assert main(["restore-wcs", "--wcskey", key, files[1]]) == 0
    assert np.array_equal(_crval(files[1])[0], aligned)
    # unknown name: a KeyError (as stwcs restoreWCS), file untouched
    before = _bytes(files)
    with pytest.raises(ParameterError, match="no archived WCS named 'NOPE'") as ei:
        drizzlekit.restore_wcs(files[1], wcsname="NOPE")
    assert isinstance(ei.value, KeyError)
    assert main(["restore-wcs", "--wcsname", "NOPE", files[1]]) == 2
    assert _bytes(files) == before


def test_restore_wcs_refuses_read_only_and_follows_links(work, tmp_path):
    files = work
    tweakreg(files, searchrad=1.0, updatehdr=True, writecat=False, runfile="")
    name = "TWEAK"
    link = tmp_path / "link_flt.fits"
    os.symlink(files[1], link)
    with fits.open(files[1]) as h:
        orig_name = h["SCI", 1].header["WCSNAMEA"]
    drizzlekit.restore_wcs(str(link), wcsname=orig_name)
    assert os.path.islink(link) and _crval(files[1])[1] == orig_name
    os.chmod(files[2], 0o444)
    try:
        before = _bytes(files)
        with pytest.raises(InputFileError, match="read-only"):
            drizzlekit.restore_wcs(files[2], wcsname=name)
        assert _bytes(files) == before
    finally:
        os.chmod(files[2], 0o644)


def test_restore_wcs_on_a_real_hst_header(tmp_path):
    """Back to the OPUS WCS of an ACS/WFC FLC, and back again to the Gaia-aligned one."""
    import gzip

    src = os.path.join(os.path.dirname(__file__), "data", "wcs_headers",
                       "sample_flc_sci_wcs.fits.gz")
    f = str(tmp_path / "jbt122x8q_flc.fits")
    with gzip.open(src) as fi, open(f, "wb") as fo:
        fo.write(fi.read())
    with fits.open(f) as h:
        hdr = h["SCI", 2].header
        opus = [hdr["CRVAL1O"], hdr["CRVAL2O"], hdr["CD1_1O"]]
        gaia = [hdr["CRVAL1"], hdr["CRVAL2"], hdr["CD1_1"]]
        name = hdr["WCSNAME"]
    rep = drizzlekit.restore_wcs(f, "SCI", wcskey=" ", wcsname="opus")
    assert rep[0]["restored"] == ["O", "O"]
    with fits.open(f) as h:
        hdr = h["SCI", 2].header
        assert [hdr["CRVAL1"], hdr["CRVAL2"], hdr["CD1_1"]] == opus
        assert hdr["WCSNAME"] == "OPUS"
        assert hdr["ORIENTAT"] == pytest.approx(np.rad2deg(np.arctan2(hdr["CD1_2"], hdr["CD2_2"])))
        key = rep[0]["archived"][1]  # the Gaia WCS was archived before being replaced
        assert hdr[f"WCSNAME{key}"] == name
    drizzlekit.restore_wcs(f, wcsname=name)
    with fits.open(f) as h:
        hdr = h["SCI", 2].header
        assert [hdr["CRVAL1"], hdr["CRVAL2"], hdr["CD1_1"]] == gaia
