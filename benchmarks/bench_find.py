"""Benchmark: drizzlekit.align.find.find_sources versus photutils alone.

A synthetic 2048 x 4096 chip (ACS/WFC size, ``shape=(4096, 2048)``) holds
sky (electrons, Poisson + read noise), Gaussian stars (FWHM 2 pixels) and
cosmic rays (single pixels and short tracks, as many events as stars).

* **photutils alone**: ``sigma_clipped_stats`` for the noise and one
  ``DAOStarFinder`` call (threshold 4 sigma, ``fwhm=3.5``, its default
  sharpness/roundness cuts) - the minimal equivalent pipeline.
* **drizzlekit**: :func:`find_sources` with TweakReg's defaults (sky mode and
  noise, DAOStarFinder, cosmic-ray width test, brightness-ordered output).

Both see the same image; the median of ``repeats`` runs is reported together
with the number of sources and how many of them are cosmic rays.

Run ``python benchmarks/bench_find.py [ny nx [repeats]]`` to print a table.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
from astropy.stats import sigma_clipped_stats
from photutils.detection import DAOStarFinder

from drizzlekit.align.find import find_sources


def make_chip(shape=(4096, 2048), n_stars: int = 4000, n_cr: int | None = None,
              fwhm: float = 2.0, sky: float = 80.0, seed: int = 0):
    """Synthetic chip: returns ``(image, star_xy, cr_mask)`` (0-based positions)."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    img = np.full(shape, sky, dtype=np.float64)
    sig = fwhm / 2.3548
    xs = rng.uniform(5, nx - 6, n_stars)
    ys = rng.uniform(5, ny - 6, n_stars)
    flux = np.exp(rng.uniform(np.log(300.0), np.log(2e5), n_stars))
    o = np.arange(-5, 6)
    for x, y, f in zip(xs, ys, flux):
        ix, iy = int(x), int(y)
        gx = np.exp(-0.5 * ((ix + o - x) / sig) ** 2)
        gy = np.exp(-0.5 * ((iy + o - y) / sig) ** 2)
        stamp = np.outer(gy, gx)
        img[iy - 5:iy + 6, ix - 5:ix + 6] += f * stamp / stamp.sum()
    img = rng.poisson(img).astype(np.float64) + rng.normal(0, 4.0, shape)
    crm = np.zeros(shape, bool)
    for _ in range(n_stars if n_cr is None else n_cr):
        x0, y0 = rng.uniform(0, nx - 1), rng.uniform(0, ny - 1)
        amp = rng.lognormal(np.log(1500.0), 0.6)
        n = 1 if rng.random() < 0.45 else int(rng.integers(2, 8))
        ang = rng.uniform(0, np.pi)
        px = np.clip(np.floor(x0 + np.arange(n) * np.cos(ang)).astype(int), 0, nx - 1)
        py = np.clip(np.floor(y0 + np.arange(n) * np.sin(ang)).astype(int), 0, ny - 1)
        img[py, px] += amp
        crm[py, px] = True
    return img.astype(np.float32), np.column_stack([xs, ys]), crm


def _photutils_alone(img):
    _, med, std = sigma_clipped_stats(img, sigma=3.0)
    tab = DAOStarFinder(4.0 * std, 3.5)(img - med)
    return tab, np.column_stack([tab["x_centroid"], tab["y_centroid"]]) if tab is not None \
        else np.empty((0, 2))


def _drizzlekit(img):
    cat = find_sources(img)
    return cat, np.column_stack([cat["x"], cat["y"]])


def _n_cr(xy, crm):
    if len(xy) == 0:
        return 0
    ix = np.clip(np.rint(xy[:, 0]).astype(int), 0, crm.shape[1] - 1)
    iy = np.clip(np.rint(xy[:, 1]).astype(int), 0, crm.shape[0] - 1)
    return int(crm[iy, ix].sum())


def run(shape=(4096, 2048), n_stars: int = 4000, repeats: int = 3, seed: int = 0) -> dict:
    """Time both finders on one synthetic chip; returns a dict of results (seconds)."""
    img, stars, crm = make_chip(shape, n_stars, seed=seed)
    out = {"shape": tuple(shape), "n_stars": n_stars}
    for name, fn in (("photutils", _photutils_alone), ("drizzlekit", _drizzlekit)):
        times = []
        xy = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, xy = fn(img)
            times.append(time.perf_counter() - t0)
        out[name] = {"seconds": statistics.median(times), "n_sources": int(len(xy)),
                     "n_cosmic_rays": _n_cr(xy, crm)}
    out["ratio"] = out["drizzlekit"]["seconds"] / out["photutils"]["seconds"]
    return out


def _main(argv: list[str]) -> None:
    ny = int(argv[0]) if len(argv) > 0 else 4096
    nx = int(argv[1]) if len(argv) > 1 else 2048
    repeats = int(argv[2]) if len(argv) > 2 else 3
    n_stars = max(20, int(4000 * ny * nx / (4096 * 2048)))
    r = run((ny, nx), n_stars=n_stars, repeats=repeats)
    sys.stdout.write(f"source finding on a {nx} x {ny} chip, {n_stars} stars + as many "
                     f"cosmic-ray events (median of {repeats})\n")
    sys.stdout.write(f"{'':12s} {'time [s]':>10s} {'sources':>9s} {'cosmic rays':>12s}\n")
    for name in ("photutils", "drizzlekit"):
        d = r[name]
        sys.stdout.write(f"{name:12s} {d['seconds']:10.3f} {d['n_sources']:9d} "
                         f"{d['n_cosmic_rays']:12d}\n")
    sys.stdout.write(f"drizzlekit / photutils time: {r['ratio']:.2f}\n")


if __name__ == "__main__":
    _main(sys.argv[1:])
