"""Regenerate the ``reference_*.fits`` truth files of drizzle 3.0.0's test suite with drizzle.

drizzle's tests compare their output with ``reference_*.fits`` files that are
not published anywhere reachable (they were stored with Git LFS). Each file
holds the output WCS of a test (extension 1) and the image drizzle produced
on that grid. This script makes them again with the **real** drizzle 3.0.0:
for every file it chooses an output TAN frame centred on the input frame
``j8bt06nyq_flt.fits`` (ACS/HRC, 1024 x 1024) and runs exactly the
calculation of the test that reads it, so each test then checks that its
library (drizzle itself, or drizzlekit through the shim) reproduces drizzle.

Run it in a process where ``import drizzle`` is the real package::

    python tests/peer/make_references.py INPUT_FLT OUTDIR

The output frames: north up, pixel scale equal to the input's linear scale
(``sqrt|det CD|``, 0.0283"), 1400 x 1400 pixels (the rotated input fits with
a margin), reference pixel at the centre; kernel and blot files store the
matrix as ``PCi_j`` with ``CDELT = 1`` (those tests read ``wcs.pc``), the
``*_image`` files as ``CDi_j`` (those tests read ``wcs.cd``).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

import drizzle
from drizzle import resample, utils

# the image makers of drizzle's own test module (installed with the wheel)
from drizzle.tests.test_resample import make_grid_image, make_point_image

OUT_SIZE = 1400

KERNEL_FILES = [("square", "point"), ("square", "grid"), ("point", "grid"), ("turbo", "grid"),
                ("lanczos3", "grid"), ("gaussian", "grid")]
BLOT_FILES = [("poly5", "point"), ("default", "grid"), ("lanczos3", "grid"),
              ("lanczos5", "grid")]


def _output_wcs(inwcs: WCS, use_cd: bool) -> WCS:
    scale = float(np.sqrt(abs(np.linalg.det(inwcs.wcs.cd))))
    mat = np.array([[-scale, 0.0], [0.0, scale]])
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = inwcs.wcs.crval
    w.wcs.crpix = [OUT_SIZE / 2 + 0.5, OUT_SIZE / 2 + 0.5]
    if use_cd:
        w.wcs.cd = mat
    else:
        w.wcs.pc = mat
        w.wcs.cdelt = [1.0, 1.0]
    w.wcs.set()
    w.array_shape = (OUT_SIZE, OUT_SIZE)
    return w


def _header(w: WCS, use_cd: bool) -> fits.Header:
    hdr = w.to_header()
    if use_cd:  # astropy writes PC + CDELT; the *_image tests read wcs.cd
        for i in (1, 2):
            for j in (1, 2):
                hdr[f"CD{i}_{j}"] = float(w.wcs.cd[i - 1, j - 1])
                hdr.remove(f"PC{i}_{j}", ignore_missing=True)
            hdr.remove(f"CDELT{i}", ignore_missing=True)
    return hdr


def _write(path: Path, w: WCS, use_cd: bool, sci, extra=()) -> None:
    hdus = [fits.PrimaryHDU(), fits.ImageHDU(np.asarray(sci, np.float32),
                                             header=_header(w, use_cd), name="SCI")]
    for name, arr in extra:
        hdus.append(fits.ImageHDU(arr, name=name))
    fits.HDUList(hdus).writeto(path, overwrite=True)


def make_all(flt: Path, outdir: Path) -> list[Path]:
    """Write every reference file into ``outdir``; returns their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    with fits.open(flt) as hdul:
        inwcs = WCS(hdul[1].header, hdul)
        insci = hdul[1].data.astype(np.float32)
    inwcs.array_shape = insci.shape
    written = []

    # test_resample_kernel: point / grid images drizzled onto a PC frame
    outwcs = _output_wcs(inwcs, use_cd=False)
    pixmap = utils.calc_pixmap(inwcs, outwcs)
    ratio = np.sqrt(np.sum(outwcs.wcs.pc**2, axis=0)[0] / np.sum(inwcs.wcs.cd**2, axis=0)[0])
    for kernel, kind in KERNEL_FILES:
        if kind == "point":
            img = make_point_image(inwcs.array_shape, (500, 200), 100.0)
        else:
            img = make_grid_image(inwcs.array_shape, 64, 100.0)
        ps = 1.0 if kernel == "point" else ratio
        driz = resample.Drizzle(kernel=kernel, out_shape=outwcs.array_shape, fillval=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            driz.add_image(img, exptime=1.0, pixmap=pixmap, weight_map=np.ones_like(img),
                           iscale=ps**2, pixel_scale_ratio=ps)
        path = outdir / f"reference_{kernel}_{kind}.fits"
        _write(path, outwcs, False, driz.out_img)
        written.append(path)

    # test_resample_kernel_image: the real frame onto a CD frame (SCI, CTX, WHT)
    outwcs_cd = _output_wcs(inwcs, use_cd=True)
    pixmap = utils.calc_pixmap(inwcs, outwcs_cd)
    ratio = np.sqrt(np.sum(outwcs_cd.wcs.cd**2, axis=0)[0] / np.sum(inwcs.wcs.cd**2, axis=0)[0])
    for kernel in ("square", "turbo"):
        driz = resample.Drizzle(kernel=kernel, out_shape=outwcs_cd.array_shape, fillval=0.0)
        driz.add_image(insci, exptime=1.0, pixmap=pixmap, weight_map=np.ones_like(insci),
                       iscale=ratio**2, pixel_scale_ratio=ratio)
        path = outdir / f"reference_{kernel}_image.fits"
        _write(path, outwcs_cd, True, driz.out_img,
               [("CTX", driz.out_ctx[0]), ("WHT", driz.out_wht)])
        written.append(path)

    # test_blot_interpolation: images on the input frame blotted onto a PC frame
    blotwcs = _output_wcs(inwcs, use_cd=False)
    pixmap = utils.calc_pixmap(blotwcs, inwcs)
    ratio = np.sqrt(np.sum(blotwcs.wcs.pc**2, axis=0)[0] / np.sum(inwcs.wcs.cd**2, axis=0)[0])
    for interp, kind in BLOT_FILES:
        if kind == "point":
            img = make_point_image(inwcs.array_shape, (500, 200), 40.0)
            name = "reference_blot_point.fits"
        else:
            img = make_grid_image(inwcs.array_shape, 64, 100.0)
            name = f"reference_blot_{interp}.fits"
        kwargs = {} if interp == "default" else {"interp": interp}
        out = resample.blot_image(img, pixmap=pixmap, iscale=1.0 / ratio**2, **kwargs)
        path = outdir / name
        _write(path, blotwcs, False, out)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    if not getattr(drizzle, "__version__", "").startswith("3.0.0"):
        raise SystemExit(f"needs the real drizzle 3.0.0, got {drizzle.__version__!r}")
    for path in make_all(Path(argv[1]), Path(argv[2])):
        print(path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
