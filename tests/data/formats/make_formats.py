"""Rebuild the cropped real HST files in this folder from the STScI source distributions.

Run from the repository root after unpacking the sdists (see README.md here)::

    python tests/data/formats/make_formats.py /path/to/stwcs-1.7.7/stwcs/tests/data

Every header card is kept; the pixel arrays are cut to a 200 x 200 window and the WCS
reference pixel (``CRPIX1/2``, plus ``LTV1/2`` for STIS) is moved with the cut, so each
kept pixel has the sky position it had in the full frame.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 200
STIS_ORIGIN = (412, 412)   # (y0, x0) of the STIS cut (0-based)
WFPC2_ORIGIN = (20, 20)    # (y0, x0) of the cut of every WFPC2 group (includes the
#                            pyramid-shadow edge, flagged in the DQ file)


def crop_stis(src: str, dst: str) -> None:
    y0, x0 = STIS_ORIGIN
    with fits.open(src) as hdul:
        out = fits.HDUList([fits.PrimaryHDU(header=hdul[0].header.copy())])
        for hdu in hdul[1:]:
            hdr = hdu.header.copy()
            data = hdu.data[y0:y0 + SIZE, x0:x0 + SIZE].copy()
            for axis, off in (("1", x0), ("2", y0)):
                if "CRPIX" + axis in hdr:
                    hdr["CRPIX" + axis] = hdr["CRPIX" + axis] - off
                if "LTV" + axis in hdr:
                    hdr["LTV" + axis] = hdr["LTV" + axis] - off
            out.append(fits.ImageHDU(data=data, header=hdr))
        out.writeto(dst, overwrite=True, checksum=False)


def crop_waivered(src: str, dst: str) -> None:
    y0, x0 = WFPC2_ORIGIN
    with fits.open(src) as hdul:
        phdr = hdul[0].header.copy()
        data = hdul[0].data[:, y0:y0 + SIZE, x0:x0 + SIZE].copy()
        table = hdul[1].copy()
        names = table.columns.names
        if "CRPIX1" in names:
            table.data["CRPIX1"] = table.data["CRPIX1"] - x0
            table.data["CRPIX2"] = table.data["CRPIX2"] - y0
            phdr["CRPIX1"] = phdr["CRPIX1"] - x0
            phdr["CRPIX2"] = phdr["CRPIX2"] - y0
        prim = fits.PrimaryHDU(data=data, header=phdr)
        fits.HDUList([prim, table]).writeto(dst, overwrite=True, checksum=False)


def main(srcdir: str) -> None:
    crop_stis(os.path.join(srcdir, "o4k19a010_flt.fits"),
              os.path.join(HERE, "o4k19a010_flt.fits.gz"))
    for kind in ("c0f", "c1f"):
        crop_waivered(os.path.join(srcdir, f"u40x010hm_{kind}.fits"),
                      os.path.join(HERE, f"u40x010hm_{kind}.fits.gz"))


if __name__ == "__main__":
    main(sys.argv[1])
