"""Headerlets written by drizzlekit, applied by stwcs (test-only peer, in a subprocess).

stwcs runs in the peer environment made by ``tests/peer/make_peer_venv.sh``
(``.venv-peers``; ``DRIZZLEKIT_PEER_PYTHON`` overrides), or in this
interpreter's environment when stwcs is installed there. The real HST
headers in ``tests/data/wcs_headers`` carry NPOL (``WCSDVARR``) and D2IM
(``D2IMARR``) lookup tables, which must travel inside the headerlet.
"""

import gzip
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from drizzlekit.io.headerlet import headerlet_hdulist, write_headerlet
from drizzlekit.io.wcs_update import updatehdr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "wcs_headers"
DRIVER = ROOT / "tests" / "peer" / "stwcs_apply_headerlet.py"
# (file, chips, NPOL arrays, D2IM arrays)
REAL = [("2chipA.fits.gz", 2, 4, 0), ("sample_flc_sci_wcs.fits.gz", 2, 4, 4)]


def _peer_python() -> str | None:
    cands = [os.environ.get("DRIZZLEKIT_PEER_PYTHON"), str(ROOT / ".venv-peers" / "bin" / "python"),
             sys.executable]
    for py in cands:
        if py and os.path.exists(py):
            r = subprocess.run([py, "-c", "import stwcs"], capture_output=True)
            if r.returncode == 0:
                return py
    return None


@pytest.fixture(scope="module")
def peer_python():
    py = _peer_python()
    if py is None:
        msg = "stwcs not installed (run tests/peer/make_peer_venv.sh)"
        if os.environ.get("CI") or os.environ.get("DRIZZLEKIT_REQUIRE_PEERS"):
            pytest.fail(msg)
        pytest.skip(msg)
    return py


def _copy(name: str, dst: Path) -> str:
    with gzip.open(DATA / name) as fi, open(dst, "wb") as fo:
        fo.write(fi.read())
    return str(dst)


def _quiet_wcs(hdul, ext):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(hdul[ext].header, hdul)


def _aligned_wcss(path: str) -> list:
    """Each chip's WCS (distortions included) with a small shift, rotation and scale."""
    out = []
    with fits.open(path) as h:
        for v in (1, 2):
            w = _quiet_wcs(h, ("SCI", v))
            a = np.deg2rad(0.013)
            rot = 1.00002 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            w.wcs.cd = w.wcs.cd @ rot
            w.wcs.crval = w.wcs.crval + [1.3e-4, -0.9e-4]
            out.append(w)
    return out


def _max_sep_deg(file_a: str, file_b: str) -> float:
    y, x = np.mgrid[0:2048:41j, 0:4096:41j]
    worst = 0.0
    with fits.open(file_a) as a, fits.open(file_b) as b:
        for v in (1, 2):
            ra, da = _quiet_wcs(a, ("SCI", v)).all_pix2world(x, y, 0)
            rb, db = _quiet_wcs(b, ("SCI", v)).all_pix2world(x, y, 0)
            sep = np.hypot((ra - rb) * np.cos(np.deg2rad(da)), da - db)
            worst = max(worst, float(sep.max()))
    return worst


@pytest.mark.parametrize("name, nchip, nnpol, nd2im", REAL)
def test_headerlet_carries_the_lookup_tables(tmp_path, name, nchip, nnpol, nd2im):
    src = _copy(name, tmp_path / "img.fits")
    wcss = _aligned_wcss(src)
    hl = headerlet_hdulist(src, wcss, hdrname="H", wcsname="TWEAK")
    names = [h.name for h in hl]
    assert names.count("SIPWCS") == nchip
    assert names.count("WCSDVARR") == nnpol and names.count("D2IMARR") == nd2im
    with fits.open(src) as img:
        for k in (1, 2):
            assert hl[0].header["DESTIM"] == img[0].header["ROOTNAME"]
            for key in ("SIPNAME", "DISTNAME", "NPOLFILE", "D2IMFILE", "IDCTAB"):
                assert hl[0].header[key] == img[0].header.get(key, "N/A")
            sip = hl[("SIPWCS", k)].header
            assert (sip["TG_ENAME"], sip["TG_EVER"]) == ("SCI", k)
            # the headerlet alone gives the full WCS (lookup tables included)
            got, want = _quiet_wcs(hl, ("SIPWCS", k)), wcss[k - 1]
            assert (got.cpdis1 is None) == (want.cpdis1 is None)
            assert (got.det2im1 is None) == (want.det2im1 is None)
            y, x = np.mgrid[0:2048:21j, 0:4096:21j]
            np.testing.assert_allclose(got.all_pix2world(x, y, 0), want.all_pix2world(x, y, 0),
                                       rtol=0, atol=1e-11)


@pytest.mark.peer
@pytest.mark.parametrize("name, nchip, nnpol, nd2im", REAL)
def test_stwcs_applies_drizzlekit_headerlets(tmp_path, peer_python, name, nchip, nnpol, nd2im):
    """stwcs's apply_headerlet_as_primary gives drizzlekit's own header update."""
    by_stwcs = _copy(name, tmp_path / "by_stwcs.fits")
    by_dk = _copy(name, tmp_path / "by_drizzlekit.fits")
    wcss = _aligned_wcss(by_dk)
    hlet = write_headerlet(tmp_path / "x_hlet.fits", by_dk, wcss, hdrname="x_TWEAK",
                           wcsname="TWEAK", author="drizzlekit test")
    r = subprocess.run([peer_python, str(DRIVER), by_stwcs, hlet], capture_output=True,
                       text=True, timeout=300, cwd=tmp_path)  # stwcs writes headerlet.log
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["wcsnames"] == ["TWEAK", "TWEAK"]
    updatehdr(by_dk, wcss, wcsname="TWEAK")
    sep = _max_sep_deg(by_stwcs, by_dk)
    print(f"{name}: stwcs {info['stwcs']} vs drizzlekit updatehdr, max separation {sep:.2e} deg")
    assert sep < 1e-10


@pytest.mark.peer
def test_stwcs_applies_tweakreg_headerlets(tmp_path, peer_python, monkeypatch):
    """tweakreg(headerlet=True) on simulated frames: stwcs's result == updatehdr's."""
    import shutil

    from drizzlekit.align.tweakreg import tweakreg
    from drizzlekit.datasets import simulate_dither

    sim = simulate_dither(n_exposures=2, shape=(160, 224), n_chips=2, n_stars=80, n_galaxies=0,
                          dithers="fewpixel", wcs_error_arcsec=0.15, cr_rate=0, seed=5,
                          outdir=tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    monkeypatch.chdir(tmp_path / "a")
    names = [os.path.basename(f) for f in sim.filenames]
    res = tweakreg(names, searchrad=1.0, headerlet=True, attach=False, updatehdr=True,
                   writecat=False, runfile="")
    assert res.statuses == ["REFERENCE", "SUCCESS"]
    monkeypatch.chdir(tmp_path / "b")
    hlet = str(tmp_path / "a" / "sim01_hlet.fits")
    r = subprocess.run([peer_python, str(DRIVER), names[1], hlet], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    y, x = np.mgrid[0:160:9j, 0:224:9j]
    with fits.open(names[1]) as a, fits.open(tmp_path / "a" / names[1]) as b:
        for v in (1, 2):
            ra, da = _quiet_wcs(a, ("SCI", v)).all_pix2world(x, y, 0)
            rb, db = _quiet_wcs(b, ("SCI", v)).all_pix2world(x, y, 0)
            sep = np.hypot((ra - rb) * np.cos(np.deg2rad(da)), da - db).max()
            print(f"tweakreg headerlet, chip {v}: stwcs vs updatehdr {sep:.2e} deg")
            assert sep < 1e-10
