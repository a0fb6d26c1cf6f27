"""File-level TweakReg (drizzlekit.align.tweakreg) on simulated and real HST frames."""

import argparse
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits
from scipy.spatial import cKDTree

from drizzlekit.align.tweakreg import add_tweakreg_subcommand, tweakreg
from drizzlekit.datasets import load_hst_47tuc, simulate_dither
from drizzlekit.exceptions import (InputFileError, NonFiniteError, ParameterError,
                                   TooFewSourcesError)
from drizzlekit.io import wcs_update as wu
from drizzlekit.io.fits_input import read_exposure
from tests.helpers import copies_in

PSCALE = 0.05  # arcsec/pixel of the simulations


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    """Three dithered 2-chip exposures, pointing errors ~0.15", rolls ~0.02 deg, many CRs."""
    d = tmp_path_factory.mktemp("sim")
    sim = simulate_dither(n_exposures=3, shape=(160, 224), n_chips=2, n_stars=90,
                          n_galaxies=5, dithers="fewpixel", wcs_error_arcsec=0.15,
                          wcs_rotation_error_deg=0.02, cr_rate=4e-6, seed=11, outdir=d)
    return sim


@pytest.fixture()
def work(sim_files, tmp_path, monkeypatch):
    """Fresh copies of the simulated files in a temporary working directory."""
    monkeypatch.chdir(tmp_path)
    files = copies_in(tmp_path, sim_files.filenames)
    return files, sim_files.truth


def _star_pixels(truth, k, c):
    star = np.asarray(truth.catalog["kind"]) == "star"
    ra, dec = truth.catalog["ra"][star], truth.catalog["dec"][star]
    w = truth.wcs[k][c]
    x, y = w.all_world2pix(ra, dec, 0)
    nx, ny = w.pixel_shape
    ok = (x > 2) & (x < nx - 3) & (y > 2) & (y < ny - 3)
    return np.asarray(ra)[ok], np.asarray(dec)[ok], x[ok], y[ok]


def _sep_pixels(ra1, dec1, ra2, dec2):
    d = np.hypot((ra1 - ra2) * np.cos(np.deg2rad(dec1)), dec1 - dec2) * 3600
    return d / PSCALE


def test_simulated_relative_alignment(work):
    files, truth = work
    res = tweakreg(files, searchrad=1.0, runfile="tweakreg.log", shiftfile=True,
                   updatehdr=True)
    assert res.statuses[0] == "REFERENCE"
    assert res.statuses[1:] == ["SUCCESS", "SUCCESS"]
    # same star, same sky position in every image (reference: image 0's header WCS)
    ref_ra, ref_dec = {}, {}
    for c in range(2):
        ra, dec, x, y = _star_pixels(truth, 0, c)
        r, d = truth.header_wcs[0][c].all_pix2world(x, y, 0)
        ref_ra.update(zip(ra, r))
        ref_dec.update(zip(ra, d))
    for k in (1, 2):
        new = res[k].wcs
        assert isinstance(new, list) and len(new) == 2
        errs = []
        for c in range(2):
            ra, dec, x, y = _star_pixels(truth, k, c)
            r, d = new[c].all_pix2world(x, y, 0)
            both = np.array([a in ref_ra for a in ra])
            errs.append(_sep_pixels(np.array([ref_ra[a] for a in ra[both]]),
                                    np.array([ref_dec[a] for a in ra[both]]),
                                    r[both], d[both]))
            # before alignment the header WCS is off by pixels
            r0, d0 = truth.header_wcs[k][c].all_pix2world(x[both], y[both], 0)
            e0 = _sep_pixels(np.array([ref_ra[a] for a in ra[both]]),
                             np.array([ref_dec[a] for a in ra[both]]), r0, d0)
            assert np.median(e0) > 0.5
        errs = np.concatenate(errs)
        assert errs.size > 30 and np.max(errs) < 0.05
        assert res[k].rms_pixels < 0.1 and res[k].nused >= 30
    # header updated for all, the old WCS kept as alternate A
    for k, f in enumerate(files):
        for c in (1, 2):
            hdr = fits.getheader(f, ("SCI", c))
            assert hdr["WCSNAME"] == "TWEAK" and "CRVAL1A" in hdr
        x, y = np.array([10.0, 150.0]), np.array([20.0, 100.0])
        alt = wu.read_wcs(f, ("SCI", 1), key="A")
        np.testing.assert_allclose(alt.all_pix2world(x, y, 0),
                                   truth.header_wcs[k][0].all_pix2world(x, y, 0),
                                   rtol=0, atol=1e-10)
    # shift file: applying it to the original WCSs reproduces the aligned WCSs
    sf = wu.read_shiftfile("shifts.txt")
    assert [r.name for r in sf.rows] == [os.path.basename(f) for f in files]
    for k, f in enumerate(files):
        fixed = sf.correct(f, truth.header_wcs[k])
        for c in range(2):
            x, y = np.meshgrid(np.linspace(0, 223, 5), np.linspace(0, 159, 5))
            a = np.array(fixed[c].all_pix2world(x.ravel(), y.ravel(), 0))
            b = np.array(res[k].wcs[c].all_pix2world(x.ravel(), y.ravel(), 0))
            assert np.max(_sep_pixels(a[0], a[1], b[0], b[1])) < 1e-3
    # catalogs and the run log were written
    assert sorted(res.written["catalogs"]) == sorted(
        f"sim{k:02d}_sci{c}_xy_catalog.coo" for k in range(3) for c in (1, 2))
    assert "SUCCESS" in open("tweakreg.log").read()


def test_simulated_absolute_alignment_to_refcat(work):
    files, truth = work
    cat = truth.catalog
    with open("truth_refcat.txt", "w") as fh:
        fh.write("# RA DEC FLUX\n")
        for ra, dec, f in zip(cat["ra"], cat["dec"], cat["flux"]):
            fh.write(f"{ra:.12f} {dec:.12f} {-2.5 * np.log10(f):.4f}\n")
    res = tweakreg(files, refcat="truth_refcat.txt", rfluxcol=3, refnbright=80,
                   searchrad=1.0, writecat=False, runfile="")
    assert res.statuses == ["SUCCESS"] * 3
    assert len(res.refcat) == 80
    for k in range(3):
        for c in range(2):
            x, y = np.meshgrid(np.linspace(0, 223, 6), np.linspace(0, 159, 6))
            a = np.array(res[k].wcs[c].all_pix2world(x.ravel(), y.ravel(), 0))
            b = np.array(truth.wcs[k][c].all_pix2world(x.ravel(), y.ravel(), 0))
            assert np.max(_sep_pixels(a[0], a[1], b[0], b[1])) < 0.05  # whole chip
    assert "catalogs" not in res.written


def test_user_catalogs_and_exclusions(work):
    files, truth = work
    lines = []
    for k, f in enumerate(files):
        names = []
        for c in range(2):
            _, _, x, y = _star_pixels(truth, k, c)
            name = f"cat{k}_{c + 1}.txt"
            with open(name, "w") as fh:
                fh.write("# x y flux\n")
                for a, b in zip(x + 1, y + 1):  # 1-based
                    fh.write(f"{a:.5f} {b:.5f} 100\n")
            names.append(name)
        lines.append(f"{os.path.basename(f)} {names[0]} {names[1]}")
    with open("catfile.txt", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open("left.reg", "w") as fh:
        fh.write("image\n-box(56,80,112,200,0)\n")  # 1-based: excludes x < 112 (0-based)
    with open("excl.txt", "w") as fh:
        fh.write(f"{os.path.basename(files[1])} left.reg None\n")
    res = tweakreg(files, catfile="catfile.txt", fluxcol=3, exclusions="excl.txt",
                   searchrad=1.0, writecat=False, runfile="")
    assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS"]
    assert np.all(np.asarray(res.catalogs[1][0]["x"]) > 111.5)
    assert np.any(np.asarray(res.catalogs[1][1]["x"]) < 100)  # chip 2 not excluded
    assert np.any(np.asarray(res.catalogs[0][0]["x"]) < 100)
    for k in (1, 2):
        assert res[k].rms_pixels < 0.02  # exact positions: only WCS numerics left
    # a NaN position in a user catalog is a clear error naming the file
    with open("cat2_1.txt", "a") as fh:
        fh.write("nan 12.0 100\n")
    with pytest.raises(NonFiniteError, match="cat2_1.txt"):
        tweakreg(files, catfile="catfile.txt", runfile="")
    # empty catalogs everywhere: nothing to align
    for k in range(3):
        for c in (1, 2):
            open(f"cat{k}_{c}.txt", "w").write("# no sources\n")
    with pytest.raises(TooFewSourcesError, match="minobj"):
        tweakreg(files, catfile="catfile.txt", runfile="")


def test_failed_image_is_reported_and_left_alone(work, tmp_path):
    files, truth = work
    blank = simulate_dither(n_exposures=1, shape=(160, 224), n_chips=2, n_stars=0,
                            n_galaxies=0, cr_rate=0, seed=3, prefix="blank",
                            outdir=tmp_path)
    before = open(blank.filenames[0], "rb").read()
    res = tweakreg(files[:2] + blank.filenames, searchrad=1.0, updatehdr=True,
                   writecat=False, runfile="")
    assert res.statuses[:2] == ["REFERENCE", "SUCCESS"]
    assert res.statuses[2].startswith("FAILED") and "minobj" in res.statuses[2]
    assert not res.succeeded
    assert open(blank.filenames[0], "rb").read() == before
    assert res.written["headers"] == files[:2]
    blank2 = tmp_path / "blank01_flt.fits"
    shutil.copy(blank.filenames[0], blank2)  # a second (distinct) empty image
    with pytest.raises(TooFewSourcesError, match="blank00_flt.fits"):
        tweakreg(blank.filenames + [str(blank2)], runfile="")


def test_bad_parameters_and_files(work):
    files, _ = work
    with pytest.raises(InputFileError, match="nothere_flt.fits"):
        tweakreg(files + ["nothere_flt.fits"], runfile="")
    with pytest.raises(ParameterError, match="did you mean 'searchrad'"):
        tweakreg(files, serachrad=2.0)
    with pytest.raises(ParameterError, match="fitgeometry"):
        tweakreg(files, fitgeometry="affine")
    with pytest.raises(ParameterError, match="finder"):
        tweakreg(files, finder="sep")
    # an existing WCSNAME is refused before anything is written
    with fits.open(files[1], mode="update") as h:
        h["SCI", 1].header["WCSNAME"] = "TWEAK"
    before = [open(f, "rb").read() for f in files]
    with pytest.raises(ParameterError, match="WCSNAME 'TWEAK' already exists"):
        tweakreg(files, updatehdr=True, runfile="")
    assert [open(f, "rb").read() for f in files] == before
    assert not os.path.exists("sim00_sci1_xy_catalog.coo")


def test_refimage_outside_inputs_and_clean(work):
    files, truth = work
    res = tweakreg(files[1:], refimage=files[0], searchrad=1.0, clean=True, shiftfile=True,
                   runfile="")
    assert res.statuses == ["SUCCESS", "SUCCESS"]
    assert res.reference == files[0] and len(res.refcat) > 50
    assert not any(n.endswith(".coo") for n in os.listdir("."))  # clean removed them
    ref = wu.read_outwcs("shifts_wcs.fits")
    assert ref.pixel_shape is not None


def test_cli(work):
    files, _ = work
    parser = argparse.ArgumentParser(prog="drizzlekit")
    sub = parser.add_subparsers(dest="command")
    add_tweakreg_subcommand(sub)
    with open("pars.toml", "w") as fh:
        fh.write('task = "tweakreg"\n[matching]\nsearchrad = 1.0\n')
    args = parser.parse_args(["tweakreg", *files, "--config", "pars.toml", "--shiftfile",
                              "--no-writecat", "--runfile", "", "--outshifts", "cli.txt",
                              "--finder", "dao", "--fitgeometry", "rscale"])
    assert args.shiftfile is True and args.writecat is False
    assert args.func(args) == 0
    assert [r.name for r in wu.read_shiftfile("cli.txt").rows] == \
        [os.path.basename(f) for f in files]
    bad = parser.parse_args(["tweakreg", "missing_flt.fits", "--runfile", ""])
    assert bad.func(bad) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["tweakreg", *files, "--fitgeometry", "affine"])
    # through the drizzlekit console entry point (global -v/-q flags included)
    cli = pytest.importorskip("drizzlekit.cli")
    assert cli.main(["-q", "tweakreg", *files, "--searchrad", "1.0", "--runfile", "",
                     "--no-writecat", "--verbose"]) == 0


@pytest.mark.slow
def test_hst_hrc_frames_align_to_a_few_mas(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = load_hst_47tuc(outdir=tmp_path)
    old = [read_exposure(f).chips[0].wcs for f in data.filenames]
    res = tweakreg(data.filenames, searchrad=1.0, updatehdr=True, shiftfile=True,
                   runfile="")
    assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS", "SUCCESS"]
    for r in res.results[1:]:
        assert r.method == "histogram"
        assert r.rms < 0.005  # arcsec: a few mas
        assert r.nused > 500
        assert abs(r.scale - 1) < 1e-3 and abs(r.rotation) < 0.01
    # independent check: the same stars, found in two aligned images, coincide on the sky
    pos = []
    for k in range(4):
        w = wu.read_wcs(data.filenames[k])  # the updated header
        cat = res.catalogs[k][0][:400]
        pos.append(np.array(w.all_pix2world(cat["x"], cat["y"], 0)).T)
    for k in (1, 2, 3):
        d, _ = cKDTree(pos[0] * [np.cos(np.deg2rad(pos[0][0, 1])), 1]).query(
            pos[k] * [np.cos(np.deg2rad(pos[0][0, 1])), 1], distance_upper_bound=0.05 / 3600)
        d = d[np.isfinite(d)] * 3600
        assert d.size > 150 and np.median(d) < 0.004
        # before alignment (original headers) the offsets were 10-35 mas
        w0 = old[k]
        cat = res.catalogs[k][0][:400]
        p0 = np.array(w0.all_pix2world(cat["x"], cat["y"], 0)).T
        d0, _ = cKDTree(pos[0] * [np.cos(np.deg2rad(pos[0][0, 1])), 1]).query(
            p0 * [np.cos(np.deg2rad(pos[0][0, 1])), 1], distance_upper_bound=0.1 / 3600)
        assert np.median(d0[np.isfinite(d0)] * 3600) > np.median(d)
    sf = wu.read_shiftfile("shifts.txt")
    for k, f in enumerate(data.filenames):
        fixed = sf.correct(f, old[k])
        x, y = np.meshgrid(np.linspace(0, 511, 5), np.linspace(0, 511, 5))
        a = np.array(fixed.all_pix2world(x.ravel(), y.ravel(), 0))
        b = np.array(res[k].wcs.all_pix2world(x.ravel(), y.ravel(), 0))
        assert np.max(np.hypot((a[0] - b[0]) * np.cos(np.deg2rad(a[1])), a[1] - b[1])) \
            * 3600 < 1e-4


def test_astrodrizzle_applies_tweakreg_shift_file(work):
    """The shift file TweakReg writes corrects the WCSs of an astrodrizzle run in
    memory (inputs untouched) exactly as updatehdr would have."""
    from drizzlekit.pipeline import apply_shifts, prepare

    files, truth = work
    before = [open(f, "rb").read() for f in files]
    res = tweakreg(files, searchrad=1.0, shiftfile=True, updatehdr=False)
    assert res.statuses[1:] == ["SUCCESS", "SUCCESS"]
    run = prepare(files, output="shifted", in_memory=True, runfile="")
    apply_shifts(run, "shifts.txt")
    x, y = np.meshgrid(np.linspace(0, 223, 5), np.linspace(0, 159, 5))
    for k, exp in enumerate(run.exposures):
        for c, chip in enumerate(exp.chips):
            a = np.array(chip.wcs.all_pix2world(x.ravel(), y.ravel(), 0))
            b = np.array(res[k].wcs[c].all_pix2world(x.ravel(), y.ravel(), 0))
            assert np.max(_sep_pixels(a[0], a[1], b[0], b[1])) < 1e-3
    assert [open(f, "rb").read() for f in files] == before


def test_expand_refcat_writes_the_growing_reference_catalog(work):
    files, _ = work
    res = tweakreg(files, searchrad=1.0, expand_refcat=True, enforce_user_order=True)
    assert res.statuses == ["REFERENCE", "SUCCESS", "SUCCESS"]
    written = res.written["cumulative_refcat"]
    assert written == ["cumulative_sky_refcat_sim01.coo", "cumulative_sky_refcat_sim02.coo"]
    first, second = (np.loadtxt(f, comments="#", ndmin=2) for f in written)
    n_ref = sum(len(c) for c in res.catalogs[0])
    # each file holds the previous catalog plus the newly added, unmatched sources
    assert n_ref < len(first) < len(second)
    np.testing.assert_array_equal(second[:len(first)], first)
    for k, table in ((1, first), (2, second)):
        ra, dec = res[k].refcat_sky
        np.testing.assert_allclose(table[:, 0], ra, atol=1e-11)
        np.testing.assert_allclose(table[:, 1], dec, atol=1e-11)
    # without expand_refcat nothing of the kind is written
    plain = tweakreg(files, searchrad=1.0)
    assert "cumulative_refcat" not in plain.written and plain[1].refcat_sky is None


def test_headerlets_are_written_and_attached_to_the_aligned_images(work):
    files, _ = work
    res = tweakreg(files, searchrad=1.0, headerlet=True, wcsname="TWEAK")
    assert res.written["headerlets"] == [f"sim{k:02d}_hlet.fits" for k in range(3)]
    assert res.written["attached"] == files
    for k, f in enumerate(files):
        (hlet,) = wu.read_attached_headerlets(f)
        assert hlet[0].header["HDRNAME"] == f"sim{k:02d}_TWEAK"
        w = wu.read_wcs(hlet, ("SIPWCS", 1))
        x, y = np.array([5.0, 200.0]), np.array([7.0, 150.0])
        np.testing.assert_allclose(w.all_pix2world(x, y, 0),
                                   res[k].wcs[0].all_pix2world(x, y, 0), rtol=0, atol=1e-10)
        with fits.open(f) as h:  # the header itself was not updated (updatehdr=False)
            assert h[("SCI", 1)].header.get("WCSNAME") != "TWEAK"
    kept = tweakreg(files, searchrad=1.0, headerlet=True, attach=False, clobber=True)
    assert "attached" not in kept.written
    assert all(len(wu.read_attached_headerlets(f)) == 1 for f in files)


@pytest.mark.parametrize("clobber, message", [(False, "headerlet file exists"),
                                              (True, "is already attached")])
def test_a_headerlet_that_cannot_be_written_stops_the_run_before_any_input_changes(
        work, clobber, message):
    files, _ = work
    tweakreg(files, searchrad=1.0, headerlet=True, updatehdr=True)
    before = [open(f, "rb").read() for f in files]
    with pytest.raises(InputFileError, match=message):
        tweakreg(files, searchrad=1.0, headerlet=True, updatehdr=True, reusename=True,
                 clobber=clobber)
    assert [open(f, "rb").read() for f in files] == before
