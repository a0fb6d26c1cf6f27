"""Shared pytest fixtures."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

DATA = Path(__file__).parent / "data"


def sip_chip_wcs(ext=("SCI", 1)):
    """The real ACS/WFC chip WCS (TAN-SIP) of tests/data/core/j94f05bgq_flt.fits."""
    with fits.open(DATA / "core" / "j94f05bgq_flt.fits") as hdul:
        hdr = hdul[ext].header
        w = WCS(hdr, hdul)
    w.pixel_shape = (hdr.get("NAXIS1", 4096) if hdr.get("NAXIS1", 1) > 1 else 4096,
                     hdr.get("NAXIS2", 2048) if hdr.get("NAXIS2", 1) > 1 else 2048)
    return w


def tan_output_wcs(chip_wcs, shape, scale_ratio=1.0, x0=0.0, y0=0.0):
    """An undistorted TAN frame near ``chip_wcs`` pixel (x0, y0) with the chip's scale."""
    out = WCS(naxis=2)
    out.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    ra, dec = chip_wcs.all_pix2world([[x0, y0]], 0)[0]
    out.wcs.crval = [ra, dec]
    out.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    cd = chip_wcs.pixel_scale_matrix
    out.wcs.cd = cd * scale_ratio
    out.pixel_shape = (shape[1], shape[0])
    return out


@pytest.fixture(scope="session")
def sip_pixmap():
    """(data, pixmap, out_shape): a 120x150 cut of a real SIP chip mapped onto TAN."""
    chip = sip_chip_wcs()
    ny, nx = 120, 150
    y0, x0 = 1500, 3500  # near a chip corner, where the distortion is largest
    y, x = np.indices((ny, nx), dtype=float)
    ra, dec = chip.all_pix2world(x + x0, y + y0, 0)
    out_shape = (200, 220)
    out = tan_output_wcs(chip, out_shape, 1.0, x0 + nx / 2, y0 + ny / 2)
    ox, oy = out.wcs_world2pix(ra, dec, 0)
    rng = np.random.default_rng(0)
    data = rng.uniform(5, 15, (ny, nx)).astype(np.float32)
    return data, np.dstack([ox, oy]), out_shape


@pytest.fixture(autouse=True)
def _run_in_tmp_dir(tmp_path, monkeypatch):
    """Every test runs in its own temporary directory: nothing lands in the checkout."""
    monkeypatch.chdir(tmp_path)
