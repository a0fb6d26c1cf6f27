"""Benchmark: drizzlekit.blot.blot_image against drizzle 3.0.0's blot_image.

Both blot the same float32 "median" image onto a distorted chip grid
(rotation, ~1 % scale change, shift and a quadratic SIP-like distortion,
with a strip of the chip falling off the median image). Runs alternate
between the two packages and the median of ``repeats`` runs is reported.

Run ``python benchmarks/bench_blot.py [ny nx [repeats]]`` for a table.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np

from drizzlekit.blot import blot_image

log = logging.getLogger(__name__)

__all__ = ["make_inputs", "run"]


def make_inputs(shape=(4096, 2048), seed=0):
    """Median image and chip pixmap for a chip of ``shape`` = (ny, nx) pixels.

    Returns
    -------
    data : ndarray, float32, about 1.05 x the chip in each axis
    pixmap : ndarray, float64, (ny, nx, 2): median-image (x, y) of every chip pixel
    """
    ny, nx = shape
    rng = np.random.default_rng(seed)
    my, mx = int(1.05 * ny) + 8, int(1.05 * nx) + 8
    data = rng.normal(100.0, 5.0, (my, mx)).astype(np.float32)
    yy, xx = np.mgrid[0:my:8, 0:mx:8]
    data[yy, xx] += 500.0  # a grid of sharp "stars" so the data are not smooth
    oy, ox = np.mgrid[0:ny, 0:nx]
    u = (ox - nx / 2.0) / nx
    v = (oy - ny / 2.0) / ny
    th = np.deg2rad(0.7)
    scale = 1.012
    x = scale * (np.cos(th) * (ox - nx / 2.0) - np.sin(th) * (oy - ny / 2.0))
    y = scale * (np.sin(th) * (ox - nx / 2.0) + np.cos(th) * (oy - ny / 2.0))
    x += 0.004 * nx * (u * u - 0.5 * v * v) + mx / 2.0 + 3.3
    y += 0.004 * ny * (u * v) + my / 2.0 - 0.06 * ny  # bottom strip off the image
    return data, np.dstack([x, y])


def _median_time(fn, repeats):
    return float(np.median([fn() for _ in range(repeats)]))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(shape=(4096, 2048), repeats=5, interps=("poly5", "linear", "poly3")):
    """Time drizzle vs drizzlekit blot for each interpolant.

    Parameters
    ----------
    shape : tuple of int
        (ny, nx) of the blotted chip, pixels.
    repeats : int
        Timed runs per package (alternating); the median is reported.
    interps : sequence of str
        Interpolants to time (not ``nearest``: drizzle 3.0.0 reads out of
        bounds for points in the outer half of the last row).

    Returns
    -------
    list of dict
        ``{'what', 'drizzle_s', 'drizzlekit_s', 'ratio', 'mpix_per_s'}`` per
        interpolant, for drizzlekit's default (auto-parallel) path and its
        serial path; ``ratio = drizzle_s / drizzlekit_s`` (> 1: drizzlekit is
        faster); ``mpix_per_s`` is drizzlekit's output rate.
    """
    from drizzle.resample import blot_image as drizzle_blot

    data, pixmap = make_inputs(shape)
    npix = shape[0] * shape[1]
    rows = []
    for interp in interps:
        out_dk = np.empty(shape, np.float32)
        blot_image(data, pixmap[:16, :16], interp=interp)  # compile / load the cache
        blot_image(data, pixmap[:512, :512], interp=interp, parallel=True)
        ref = drizzle_blot(data, pixmap, interp=interp)
        got = blot_image(data, pixmap, out_img=out_dk, interp=interp, compat=True)
        ysafe = pixmap[..., 1] < data.shape[0] - 4  # away from drizzle's top-row quirks
        np.testing.assert_allclose(got[ysafe], ref[ysafe], rtol=1e-5,
                                   atol=1e-5 * float(np.ptp(data)))

        t_dr, t_auto, t_ser = [], [], []
        for r in range(repeats):
            calls = [
                (t_dr, lambda: drizzle_blot(data, pixmap, interp=interp)),
                (t_auto, lambda: blot_image(data, pixmap, out_img=out_dk, interp=interp)),
                (t_ser, lambda: blot_image(data, pixmap, out_img=out_dk, interp=interp,
                                           parallel=False)),
            ]
            if r % 2:
                calls.reverse()
            for store, fn in calls:
                store.append(_timed(fn))
        dr = float(np.median(t_dr))
        for label, ts in ((interp, t_auto), (f"{interp} serial", t_ser)):
            dk = float(np.median(ts))
            rows.append({"what": label, "drizzle_s": dr, "drizzlekit_s": dk,
                         "ratio": dr / dk, "mpix_per_s": npix / dk / 1e6})
            log.info("%s: drizzle %.4f s, drizzlekit %.4f s", label, dr, dk)
    return rows


def _print_table(rows, shape):
    import numba

    print(f"blot {shape[0]}x{shape[1]} chip, numba threads = {numba.get_num_threads()}")
    print(f"{'what':<16}{'drizzle_s':>11}{'drizzlekit_s':>14}{'ratio':>8}{'Mpix/s':>9}")
    for r in rows:
        print(f"{r['what']:<16}{r['drizzle_s']:>11.4f}{r['drizzlekit_s']:>14.4f}"
              f"{r['ratio']:>8.2f}{r['mpix_per_s']:>9.1f}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    shp = (args[0], args[1]) if len(args) >= 2 else (4096, 2048)
    reps = args[2] if len(args) >= 3 else 5
    _print_table(run(shp, reps), shp)
