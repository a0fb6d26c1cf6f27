"""Benchmark: how fast a slider of the drizzle panel can re-drizzle, against ``drizzle``.

When a slider of :class:`drizzlekit.widgets.DrizzlePanel` moves (pixfrac,
scale, rotation, kernel), the panel re-drizzles every input onto a square
preview region of the output frame: one pixel map per chip
(``calc_pixmap(stepsize=10)``) and one ``add_image`` per chip, through
:func:`drizzlekit.steps.drizzle_steps.drizzle_chips` -- exactly what this
script times (the drawing is not included). The peer does the same work with
STScI's ``drizzle`` 3.0.0: ``drizzle.utils.calc_pixmap`` and
``drizzle.resample.Drizzle.add_image`` per chip, in the same process,
alternating, median of ``repeats`` runs.

Inputs: four simulated two-chip exposures of 512 x 1024 pixels (8 chips,
4.2 Mpix), the preview a square of 256 or 512 output pixels at the frame centre.

Usage::

    python benchmarks/bench_live.py
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_chips(shape=(512, 1024), n_exposures=4):
    """DrizzleInputs of a simulated dither set (in memory)."""
    from drizzlekit.datasets import simulate_dither
    from drizzlekit.io.fits_input import read_exposure
    from drizzlekit.steps.drizzle_steps import DrizzleInput

    sim = simulate_dither(n_exposures=n_exposures, shape=shape, n_chips=2, n_stars=200,
                          n_galaxies=20, seed=5)
    chips = []
    for hdul in sim.hdulists:
        for c in read_exposure(hdul).chips:
            chips.append(DrizzleInput(data=c.sci, wcs=c.wcs, exptime=c.exptime,
                                      in_units=c.in_units, name=f"chip {len(chips)}"))
    return chips


def run(repeats=7, sizes=(256, 512), kernels=("square", "turbo", "lanczos3")):
    import drizzle.resample as dr
    import drizzle.utils as du

    from benchmarks.bench_core import _median_time
    from drizzlekit.outwcs import make_output_wcs
    from drizzlekit.steps.drizzle_steps import drizzle_chips
    from drizzlekit.widgets.drizzle_panel import preview_frame

    chips = make_chips()
    base, _ = make_output_wcs([c.wcs for c in chips], [c.shape for c in chips])
    rows = []
    for size in sizes:
        _, region, _ = preview_frame(base, tuple(base.wcs.crval), size)
        for kernel in kernels:
            def run_dk():
                drizzle_chips(chips, region, kernel=kernel, pixfrac=0.8, fillval=None,
                              initial=0.0, context=True)

            def run_dr():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    d = dr.Drizzle(kernel=kernel, out_shape=(size, size))
                    for c in chips:
                        pm = du.calc_pixmap(c.wcs, region, shape=c.shape)
                        d.add_image(np.asarray(c.data, np.float32), exptime=c.exptime,
                                    pixmap=pm, pixfrac=0.8)

            run_dk()  # numba caches
            t_dk, t_dr = [], []
            for _ in range(repeats):  # alternate the libraries
                t_dr.append(_median_time(run_dr, 1))
                t_dk.append(_median_time(run_dk, 1))
            m_dk, m_dr = (1e3 * float(np.median(t)) for t in (t_dk, t_dr))
            rows.append(dict(preview=size, kernel=kernel, drizzle_ms=m_dr, drizzlekit_ms=m_dk,
                             ratio=m_dr / m_dk, updates_per_s=1e3 / m_dk))
    return rows, len(chips), chips[0].shape


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    rows, nchips, shape = run(args.repeats)
    print(f"re-drizzle of {nchips} chips of {shape[0]}x{shape[1]} onto a preview region "
          f"(pixmap + add_image per chip), median of {args.repeats} alternating runs")
    print(f"{'preview':>8s} {'kernel':>9s} {'drizzle ms':>11s} {'drizzlekit ms':>14s} "
          f"{'x':>6s} {'updates/s':>10s}")
    for r in rows:
        print(f"{r['preview']:>8d} {r['kernel']:>9s} {r['drizzle_ms']:11.1f} "
              f"{r['drizzlekit_ms']:14.1f} {r['ratio']:6.1f} {r['updates_per_s']:10.1f}")


if __name__ == "__main__":
    main()
