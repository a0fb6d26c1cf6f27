"""Benchmark the drizzle core against STScI's ``drizzle`` package, side by side.

Runs, in one process, drizzlekit and drizzle on the same 2048x4096 float32
chip with a real ACS/WFC SIP pixmap (tests/data/wcs_headers/2chipA.fits.gz,
chip 1, onto an undistorted TAN frame), alternating the two libraries,
median of ``repeats`` runs each, and prints input-Mpix/s and the speed ratio
for every kernel (drizzlekit on 1 thread and on all threads), for blot and
for pixmap computation. Peak memory and numba's JIT compile time are measured
in fresh subprocesses.

Usage::

    python benchmarks/bench_core.py            # full size, 5 repeats
    python benchmarks/bench_core.py --small    # 512x1024 smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "tests" / "data" / "wcs_headers" / "2chipA.fits.gz"
KERNELS = ["square", "turbo", "point", "gaussian", "lanczos3"]


def make_inputs(shape=(2048, 4096), seed=0):
    """(data, pixmap, out_shape) for a real SIP chip mapped onto a TAN frame."""
    from astropy.io import fits
    from astropy.wcs import WCS

    from drizzlekit.pixmap import calc_pixmap

    with fits.open(HEADER) as hdul:
        chip = WCS(hdul[("SCI", 1)].header, hdul)
    chip.pixel_shape = (shape[1], shape[0])
    out = WCS(naxis=2)
    out.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    out.wcs.crval = chip.all_pix2world([[shape[1] / 2, shape[0] / 2]], 0)[0]
    out.wcs.cd = chip.pixel_scale_matrix
    out_shape = (int(shape[0] * 1.25) + 64, int(shape[1] * 1.1) + 64)
    out.wcs.crpix = [out_shape[1] / 2, out_shape[0] / 2]
    pixmap = calc_pixmap(chip, out, shape=shape, stepsize=10)
    data = np.random.default_rng(seed).uniform(1, 2, shape).astype(np.float32)
    return data, pixmap, out_shape


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def bench_kernels(data, pixmap, out_shape, repeats=5, kernels=KERNELS):
    import numba

    import drizzle.resample as dr

    import drizzlekit as dk

    nthreads = numba.config.NUMBA_NUM_THREADS
    mpix = data.size / 1e6
    rows = []
    for kernel in kernels:
        def run_dr():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dr.Drizzle(kernel=kernel, out_shape=out_shape).add_image(
                    data, exptime=1.0, pixmap=pixmap)

        def run_dk():
            dk.Drizzle(kernel=kernel, out_shape=out_shape).add_image(
                data, exptime=1.0, pixmap=pixmap)

        run_dk()  # compile / load from cache
        t_dr, t_1, t_n = [], [], []
        for _ in range(repeats):  # alternate the libraries
            t_dr.append(_median_time(run_dr, 1))
            numba.set_num_threads(1)
            t_1.append(_median_time(run_dk, 1))
            numba.set_num_threads(nthreads)
            t_n.append(_median_time(run_dk, 1))
        m_dr, m_1, m_n = (float(np.median(t)) for t in (t_dr, t_1, t_n))
        rows.append(dict(what=f"drizzle {kernel}", drizzle_s=m_dr, drizzlekit_1t_s=m_1,
                         drizzlekit_s=m_n, threads=nthreads, ratio_1t=m_dr / m_1,
                         ratio=m_dr / m_n, mpix_per_s=mpix / m_n))
    return rows


def _child_memory(lib: str, kernel: str, small: bool) -> dict:
    """Peak RSS of one add_image call above the set-up, in a fresh process."""
    code = f"""
import json, sys, warnings, time
sys.path.insert(0, {str(ROOT)!r})
from benchmarks.bench_core import make_inputs
data, pixmap, out_shape = make_inputs({"(512, 1024)" if small else "(2048, 4096)"})
import numpy as np
if {lib!r} == "drizzle":
    from drizzle.resample import Drizzle
else:
    from drizzlekit import Drizzle
warnings.simplefilter("ignore")
def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
t0 = time.perf_counter()
Drizzle(kernel={kernel!r}, out_shape=(8, 8)).add_image(np.ones((4, 4), np.float32), exptime=1.0,
    pixmap=np.dstack(np.indices((4, 4), dtype=float)[::-1]))  # load code, not measured
warm = time.perf_counter() - t0
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS mark (Linux)
base = rss_mb()
t0 = time.perf_counter()
Drizzle(kernel={kernel!r}, out_shape=out_shape).add_image(data, exptime=1.0, pixmap=pixmap)
first = time.perf_counter() - t0
t0 = time.perf_counter()
Drizzle(kernel={kernel!r}, out_shape=out_shape).add_image(data, exptime=1.0, pixmap=pixmap)
second = time.perf_counter() - t0
peak = hwm_mb()
print(json.dumps(dict(base_mb=base, peak_mb=peak, warm_s=warm, first_s=first, second_s=second)))
"""
    env = dict(os.environ)
    if lib == "drizzlekit-cold":
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="dk-numba-")
        code = code.replace('"drizzlekit-cold"', '"drizzlekit"')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_jit_per_kernel(kernels=("square", "turbo", "point", "gaussian", "tophat",
                                   "lanczos2", "lanczos3")) -> dict:
    """Seconds of numba compilation for each kernel's first call, in a fresh process
    with an empty cache (kernels compiled one after the other, in this order)."""
    code = f"""
import json, time
import numpy as np
from drizzlekit import Drizzle
pm = np.dstack(np.indices((4, 4), dtype=float)[::-1])
out = {{}}
for k in {list(kernels)!r}:
    t0 = time.perf_counter()
    Drizzle(kernel=k, out_shape=(8, 8)).add_image(np.ones((4, 4), np.float32), exptime=1.0,
                                                  pixmap=pm)
    out[k] = time.perf_counter() - t0
print(json.dumps(out))
"""
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="dk-numba-"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_memory_and_jit(small=False, kernel="square"):
    rows = []
    dr_mem = _child_memory("drizzle", kernel, small)
    dk_mem = _child_memory("drizzlekit", kernel, small)
    cold = _child_memory("drizzlekit-cold", kernel, small)
    rows.append(dict(what=f"peak memory above set-up ({kernel})",
                     drizzle_mb=dr_mem["peak_mb"] - dr_mem["base_mb"],
                     drizzlekit_mb=dk_mem["peak_mb"] - dk_mem["base_mb"],
                     drizzle_total_mb=dr_mem["peak_mb"], drizzlekit_total_mb=dk_mem["peak_mb"]))
    rows.append(dict(what="numba JIT compile of the kernels (empty cache, first tiny call)",
                     seconds=cold["warm_s"], with_cache_s=dk_mem["warm_s"]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="512x1024 smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    shape = (512, 1024) if args.small else (2048, 4096)
    sys.path.insert(0, str(ROOT))
    data, pixmap, out_shape = make_inputs(shape)
    print(f"input {shape[0]}x{shape[1]} float32, real ACS/WFC SIP pixmap, output {out_shape}; "
          f"median of {args.repeats} alternating runs")
    rows = bench_kernels(data, pixmap, out_shape, args.repeats)
    print(f"\n{'kernel':18s} {'drizzle s':>10s} {'dk 1 thr s':>11s} {'dk N thr s':>11s} "
          f"{'x (1 thr)':>9s} {'x (N thr)':>9s} {'Mpix/s':>8s}")
    for r in rows:
        print(f"{r['what']:18s} {r['drizzle_s']:10.3f} {r['drizzlekit_1t_s']:11.3f} "
              f"{r['drizzlekit_s']:11.3f} {r['ratio_1t']:9.2f} {r['ratio']:9.2f} "
              f"{r['mpix_per_s']:8.1f}")
    from benchmarks import bench_blot, bench_pixmap

    blot_rows = bench_blot.run(shape=(shape[1], shape[0]) if False else shape[::-1],
                               repeats=args.repeats)
    pix_rows = bench_pixmap.run(shape=shape[::-1], repeats=args.repeats)
    print(f"\n{'what':28s} {'drizzle s':>10s} {'drizzlekit s':>13s} {'x':>7s} {'Mpix/s':>8s}")
    for r in blot_rows + pix_rows:
        print(f"{r['what']:28s} {r['drizzle_s']:10.3f} {r['drizzlekit_s']:13.3f} "
              f"{r['ratio']:7.2f} {r['mpix_per_s']:8.1f}")
    extra = bench_memory_and_jit(small=args.small)
    jit = bench_jit_per_kernel()
    extra.append(dict(what="numba JIT of each kernel's first call (empty cache, in order)",
                      **{k: round(v, 2) for k, v in jit.items()}))
    print()
    for r in extra:
        print(", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in r.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(rows + blot_rows + pix_rows + extra, indent=1))


if __name__ == "__main__":
    main()
