"""Rebuild the shipped ACS/HRC 47 Tuc crops from the original MAST files.

Run once by the maintainers (not at import time)::

    python -m drizzlekit.data._build_hst_47tuc /path/to/hst_acs_hrc_47tuc

It reads ``j8bt06nyq_flt.fits.gz``, ``j8bt06nyq_sip_flt.fits`` and the three
``*_raw.fits.gz`` frames, and writes into this package directory:

* ``j8bt06nyq_flt_crop.fits.gz``: 512x512 crop of the calibrated FLT (SCI, ERR, DQ;
  headers as archived, CRPIX/LTV shifted by the crop).
* ``<root>_raw_crop.fits.gz``: the RAW science array with the overscan trimmed
  (``[0:1024, 19:1043]``) and then cropped, still in DN (uint16, lossless); the
  overscan level measured on the full frame is stored as ``OSCNLEV`` (DN).
* ``j8bt06nyq_sip.hdr``: the distortion-updated SCI header of j8bt06nyq (TAN-SIP).

The crop of every frame is centred on the same sky position, the middle of the
region that all four frames cover (their full frames overlap only there).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.wcs import WCS

from drizzlekit.datasets import crop_exposure

log = logging.getLogger(__name__)

CROP = 512
RAWS = ("j8bt05njq", "j8bt06o6q", "j8bt09jcq")
TRIM = (19, 0, 1024, 1024)  # x0, y0, nx, ny of the exposed area in the RAW frames


def _quiet_wcs(hdr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(hdr)


def _common_centre(wcss) -> tuple[float, float]:
    """Sky position (deg) at the centre of the region covered by all frames."""
    y, x = np.mgrid[-600:1624:4, -600:1624:4].astype(float)
    ra, dec = wcss[0].all_pix2world(x, y, 0)
    inside = np.ones(x.shape, dtype=bool)
    for w in wcss:
        xx, yy = w.all_world2pix(ra, dec, 0)
        inside &= (xx >= 0) & (xx < 1024) & (yy >= 0) & (yy < 1024)
    return float(ra[inside].mean()), float(dec[inside].mean())


def _origin(w, ra, dec) -> tuple[int, int]:
    px, py = w.all_world2pix([[ra, dec]], 0)[0]
    x0 = int(np.clip(round(px) - CROP // 2, 0, 1024 - CROP))
    y0 = int(np.clip(round(py) - CROP // 2, 0, 1024 - CROP))
    return x0, y0


def main(src: str, dst: str | None = None) -> None:
    dst = dst or os.path.dirname(os.path.abspath(__file__))
    sip_hdr = fits.getheader(os.path.join(src, "j8bt06nyq_sip_flt.fits"), 1)
    flt = fits.open(os.path.join(src, "j8bt06nyq_flt.fits.gz"), memmap=False)
    raws = {r: fits.open(os.path.join(src, f"{r}_raw.fits.gz"), memmap=False) for r in RAWS}

    trimmed = {}
    for r, h in raws.items():
        data = np.asarray(h[1].data, dtype=np.float64)
        # overscan: trailing physical columns and the virtual-overscan rows
        over = np.concatenate([data[:1024, 1043:].ravel(), data[1024:, 19:1043].ravel()])
        level = float(sigma_clipped_stats(over, sigma=3.0)[0])
        sci_only = fits.HDUList([fits.PrimaryHDU(header=h[0].header.copy()),
                                 fits.ImageHDU(np.asarray(h[1].data), header=h[1].header.copy())])
        t = crop_exposure(sci_only, *TRIM)
        t[1].header["OSCNLEV"] = (level, "overscan level of the full RAW frame (DN)")
        trimmed[r] = t

    wcss = [_quiet_wcs(sip_hdr)] + [_quiet_wcs(trimmed[r][1].header) for r in RAWS]
    ra, dec = _common_centre(wcss)
    log.info("crop centre RA, Dec = %.7f, %.7f", ra, dec)

    x0, y0 = _origin(wcss[0], ra, dec)
    out = crop_exposure(flt, x0, y0, CROP, CROP)
    out[0].header["HISTORY"] = f"drizzlekit: cropped [{y0}:{y0 + CROP}, {x0}:{x0 + CROP}]"
    out.writeto(os.path.join(dst, "j8bt06nyq_flt_crop.fits.gz"), overwrite=True)
    log.info("j8bt06nyq crop origin x0=%d y0=%d", x0, y0)
    for r, w in zip(RAWS, wcss[1:]):
        x0, y0 = _origin(w, ra, dec)
        c = crop_exposure(trimmed[r], x0, y0, CROP, CROP)
        c[1].data = c[1].data.astype(np.uint16)
        c[0].header["HISTORY"] = (f"drizzlekit: overscan trimmed [0:1024, 19:1043], then "
                                  f"cropped [{y0}:{y0 + CROP}, {x0}:{x0 + CROP}]")
        c.writeto(os.path.join(dst, f"{r}_raw_crop.fits.gz"), overwrite=True)
        log.info("%s crop origin x0=%d y0=%d", r, x0, y0)

    with open(os.path.join(dst, "j8bt06nyq_sip.hdr"), "w") as fh:
        fh.write(sip_hdr.tostring(sep="\n", endcard=False, padding=False))
        fh.write("\n")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main(*sys.argv[1:])
