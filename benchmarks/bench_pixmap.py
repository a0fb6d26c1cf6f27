"""Benchmark: drizzlekit.pixmap.calc_pixmap versus drizzle.utils.calc_pixmap.

A real ACS/WFC chip (2chipA.fits.gz, SCI,1: TAN-SIP order 4 + CPDIS tables)
is mapped onto an undistorted TAN output frame of the same scale (0.05"/pixel).
drizzle and drizzlekit runs alternate; the median of ``repeats`` runs is kept.

Run ``python benchmarks/bench_pixmap.py [nx ny [repeats]]`` to print a table.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from drizzle.utils import calc_pixmap as drizzle_calc_pixmap

from drizzlekit.pixmap import calc_pixmap


HEADERS = Path(__file__).resolve().parents[1] / "tests" / "data" / "wcs_headers"
HEADER = HEADERS / "2chipA.fits.gz"

#: the shipped real distorted chips: (file, extension, (ny, nx))
REAL_CHIPS = [
    ("2chipA.fits.gz", ("SCI", 1), (2048, 4096)),
    ("2chipA.fits.gz", ("SCI", 2), (2048, 4096)),
    ("j94f05bgq_flt.fits", ("SCI", 1), (2048, 4096)),
    ("dist_lookup.fits.gz", ("SCI", 1), (2048, 4096)),  # SIP + CPDIS + per-column D2IM
    ("ie6d07ujq_wcs.fits", 0, (2051, 4096)),
    ("sample_flc_sci_wcs.fits.gz", ("SCI", 1), (2048, 4096)),
]


def _wcs_pair(shape: tuple[int, int], header: Path = HEADER, ext=("SCI", 1)) -> tuple[WCS, WCS]:
    """Input chip WCS (pixel_shape set) and a TAN output WCS centred on it."""
    ny, nx = shape
    with fits.open(header) as hdul, warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        w_in = WCS(hdul[ext].header, hdul)
    w_in.pixel_shape = (nx, ny)
    crval = w_in.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
    w_out = WCS(naxis=2)
    w_out.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w_out.wcs.crval = crval
    w_out.wcs.crpix = [nx / 2 + 200.0, ny / 2 + 200.0]
    scale = 0.05 / 3600.0
    w_out.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    w_out.wcs.set()
    return w_in, w_out


def _time(func) -> float:
    gc.collect()
    t0 = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - t0
    del result
    return elapsed


def run(shape: tuple[int, int] = (4096, 2048), repeats: int = 5) -> list[dict]:
    """Time drizzle's and drizzlekit's ``calc_pixmap`` on a real SIP chip.

    Parameters
    ----------
    shape : tuple of int
        Input image size ``(nx, ny)`` in pixels, width first as chips are
        quoted (the default is a full 4096 x 2048 ACS/WFC chip; the pixel map
        has numpy shape ``(ny, nx, 2)``).
    repeats : int
        Timed runs of each implementation (alternating); the median is kept.

    Returns
    -------
    list of dict
        One row per drizzlekit mode (``'exact'``, ``'stepsize=10'``) with keys
        ``what``, ``drizzle_s`` and ``drizzlekit_s`` (median seconds),
        ``ratio`` (drizzle / drizzlekit time: the speed-up) and
        ``mpix_per_s`` (drizzlekit throughput, million input pixels per
        second).
    """
    nx, ny = shape
    w_in, w_out = _wcs_pair((ny, nx))
    calc_pixmap(w_in, w_out, shape=(40, 50), stepsize=10)  # numba compile / cache load

    modes = {"exact": None, "stepsize=10": 10}
    times: dict[str, list[float]] = {"drizzle": []} | {m: [] for m in modes}
    for _ in range(repeats):
        times["drizzle"].append(_time(lambda: drizzle_calc_pixmap(w_in, w_out, shape=(ny, nx))))
        for mode, step in modes.items():
            times[mode].append(_time(lambda s=step: calc_pixmap(w_in, w_out, shape=(ny, nx), stepsize=s)))

    t_drizzle = statistics.median(times["drizzle"])
    rows = []
    for mode in modes:
        t = statistics.median(times[mode])
        rows.append(
            {
                "what": f"{mode} {nx}x{ny}",
                "drizzle_s": t_drizzle,
                "drizzlekit_s": t,
                "ratio": t_drizzle / t,
                "mpix_per_s": nx * ny / 1e6 / t,
            }
        )
    return rows


def _accuracy(shape: tuple[int, int], header: Path = HEADER, ext=("SCI", 1)) -> float:
    """Max |stepsize=10 - exact| (pixels) over a chip of ``shape`` = (nx, ny)."""
    nx, ny = shape
    w_in, w_out = _wcs_pair((ny, nx), header, ext)
    a = calc_pixmap(w_in, w_out, shape=(ny, nx), stepsize=10)
    b = calc_pixmap(w_in, w_out, shape=(ny, nx))
    return float(np.nanmax(np.hypot(*(a - b).transpose(2, 0, 1))))


def main(argv: list[str]) -> None:
    shape = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (4096, 2048)
    repeats = int(argv[2]) if len(argv) >= 3 else 5
    rows = run(shape, repeats)
    print(f"calc_pixmap, 2chipA SCI,1 (SIP + CPDIS) -> TAN, median of {repeats}")
    print(f"{'what':<24}{'drizzle s':>11}{'drizzlekit s':>14}{'speed-up':>10}{'Mpix/s':>9}")
    for r in rows:
        print(
            f"{r['what']:<24}{r['drizzle_s']:>11.3f}{r['drizzlekit_s']:>14.3f}"
            f"{r['ratio']:>9.1f}x{r['mpix_per_s']:>9.1f}"
        )
    print("max |stepsize=10 - exact| over each full chip of the shipped real headers:")
    for name, ext, (ny, nx) in REAL_CHIPS:
        err = _accuracy((nx, ny), HEADERS / name, ext)
        print(f"  {name:<28}{str(ext):<12}{err:.1e} pixel")


if __name__ == "__main__":
    main(sys.argv[1:])
