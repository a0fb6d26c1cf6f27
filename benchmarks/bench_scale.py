"""Benchmark: how AstroDrizzle's memory and time scale with the number of exposures.

Simulated mosaics of N exposures (pointings on a grid, 30 % overlap, two
sub-pixel dithers per pointing, one ``size x size`` chip each) are written as
FLT files and run with :func:`drizzlekit.astrodrizzle`

* in process, and
* on a ``dask.distributed.LocalCluster`` of 2 worker processes (1 thread each),
  ``astrodrizzle(..., client=client)``,

each in a fresh child process after a tiny warm-up run (numba caches, worker
start-up), so the numbers are the run's own. Reported per run: wall time,
peak RSS of the process (``VmHWM``, reset after the warm-up) and the part
above the resident memory before the run, the workers' peak RSS, and the
largest difference between the in-process and the distributed products
(sci, wht, ctx, median).

Targets (issue 12): peak RSS above the set-up grows no faster than the input
pixels (<= 1.2x the linear extrapolation from the smallest N); distributed
products identical; distributed wall time <= 1.5x in-process on 2 workers.

Usage::

    python benchmarks/bench_scale.py                    # N = 4, 16, 64, 256 x 256 chips
    python benchmarks/bench_scale.py --n 4 16 --size 128
    python benchmarks/bench_scale.py --hrc              # + full 1024 x 1024 HRC frames
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["mosaic_offsets", "simulate", "drizzlepac_peak", "main"]


def mosaic_offsets(n: int, size: int, overlap: float = 0.3):
    """Pixel offsets: pointings on a square grid, two sub-pixel dithers per pointing."""
    import numpy as np

    side = int(math.ceil(math.sqrt(max(1, n // 2))))
    step = size * (1 - overlap)
    return np.array([[(k // 2 % side) * step + 0.37 * (k % 2),
                      (k // 2 // side) * step + 0.61 * (k % 2)] for k in range(n)])


def simulate(datadir: Path, n: int, size: int, seed: int = 0) -> list[str]:
    """Write (or reuse) the FLT files of an ``n``-exposure mosaic."""
    from drizzlekit.datasets import simulate_dither

    datadir.mkdir(parents=True, exist_ok=True)
    stamp = datadir / "mosaic.json"
    key = {"n": n, "size": size, "seed": seed}
    names = [datadir / f"m{k:03d}_flt.fits" for k in range(n)]
    if stamp.exists() and json.loads(stamp.read_text()) == key and all(p.exists() for p in names):
        return [str(p) for p in names]
    density = size * size / (2048 * 4096)
    simulate_dither(n_exposures=n, shape=(size, size), dithers=mosaic_offsets(n, size),
                    n_stars=max(10, int(3000 * density)), n_galaxies=max(2, int(300 * density)),
                    seed=seed, outdir=datadir, prefix="m")
    produced = sorted(datadir.glob("m*_flt.fits"))
    for src, dst in zip(produced, names):
        if src != dst:
            src.rename(dst)
    stamp.write_text(json.dumps(key))
    return [str(p) for p in names]


# -- child side ---------------------------------------------------------------------------------
_CHILD = r"""
import json, os, sys, time, glob
import numpy as np

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0

def reset_peak():
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")

mode, datadir, out, warmdir = sys.argv[1:5]
import drizzlekit as dk
files = sorted(glob.glob(os.path.join(datadir, "m*_flt.fits")))
warm = sorted(glob.glob(os.path.join(warmdir, "m*_flt.fits")))
common = dict(runfile="", progress=False, in_memory=False, context=True)
client = cluster = None
if mode == "dask":
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
dk.astrodrizzle(warm, output=os.path.join(out, "warm"), client=client, **common)
if client is not None:  # every worker loads every numba kernel once
    def warm_worker(k=[0]):
        import drizzlekit
        k[0] += 1
        drizzlekit.astrodrizzle(warm, output=os.path.join(out, f"warm{os.getpid()}"),
                                **common)
    client.run(warm_worker)
    client.run(reset_peak)
reset_peak()
base = status("VmRSS")
t0 = time.perf_counter()
res = dk.astrodrizzle(files, output=os.path.join(out, mode), client=client, **common)
wall = time.perf_counter() - t0
peak = status("VmHWM")
workers = []
if client is not None:
    workers = sorted(client.run(lambda: status("VmHWM")).values())
    client.close(); cluster.close()
for name in ("sci", "wht", "ctx", "median"):
    np.save(os.path.join(out, f"{mode}_{name}.npy"), np.asarray(getattr(res, name)))
inputs = sum(c.sci.size for _, _, c in res.chips())
print(json.dumps({"wall": wall, "peak": peak, "base": base, "workers": workers,
                  "inputs": inputs, "frame": list(res.output_shape),
                  "timings": res.timings}))
"""


def _child(mode: str, datadir: Path, out: Path, warmdir: Path) -> dict:
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, str(datadir), str(out),
                           str(warmdir)], capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{mode} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _max_diff(out: Path) -> float:
    import numpy as np

    worst = 0.0
    for name in ("sci", "wht", "ctx", "median"):
        a = np.load(out / f"inproc_{name}.npy").astype(float)
        b = np.load(out / f"dask_{name}.npy").astype(float)
        both = np.isnan(a) & np.isnan(b)
        d = np.abs(np.where(both, 0.0, a - b))
        worst = max(worst, float(np.nanmax(d)) if d.size else 0.0)
        if np.any(np.isnan(a) != np.isnan(b)):
            worst = float("inf")
    return worst


_HRC = r"""
import json, os, sys, time
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0
import drizzlekit as dk
outdir = sys.argv[1]
data = dk.datasets.load_hst_47tuc(outdir=os.path.join(outdir, "in"),
                                  rootnames=["j8bt06nyq", "j8bt06o6q"])
files = [str(f) for f in data.filenames]
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
base = status("VmRSS")
t0 = time.perf_counter()
res = dk.astrodrizzle(files, output=os.path.join(outdir, "hrc"), runfile="", progress=False,
                      in_memory=sys.argv[2] == "1")
print(json.dumps({"wall": time.perf_counter() - t0, "peak": status("VmHWM"), "base": base,
                  "n": len(files)}))
"""


_PEAK = r"""
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], input="c\nc\nc\nc\n", text=True, capture_output=True)
print("DONE" if "DRIZZLEPAC-DONE" in p.stdout else p.stderr[-2000:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
"""


def drizzlepac_peak(workdir: Path, names: list[str], output: str = "dp",
                    params: dict | None = None) -> int | None:
    """Peak RSS (bytes) of drizzlepac 3.11.0's AstroDrizzle on the FLT files ``names`` in
    ``workdir`` (copies: drizzlepac edits them; ``in_memory=False``, one core), or None when
    the peer environment (``tests/peer/make_peer_venv.sh``) is missing or the run fails."""
    root = Path(__file__).resolve().parents[1]
    exe = root / ".venv-peers" / "bin" / "python"
    if not exe.exists():
        return None
    cmd = [str(exe), str(root / "tests" / "peer" / "run_drizzlepac.py"), str(workdir), output,
           json.dumps(params or {})] + list(names)
    proc = subprocess.run([sys.executable, "-c", _PEAK] + cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    lines = proc.stdout.strip().splitlines()
    if not lines or lines[0] != "DONE":
        print("drizzlepac run failed:", proc.stdout[-1500:], proc.stderr[-1500:])
        return None
    return int(lines[-1])


def _drizzlepac_hrc(workdir: Path) -> int | None:
    """:func:`drizzlepac_peak` on the two F606W HRC frames of 47 Tuc."""
    from drizzlekit.datasets import load_hst_47tuc

    names = ["j8bt06nyq", "j8bt06o6q"]
    load_hst_47tuc(outdir=workdir, rootnames=names)
    return drizzlepac_peak(workdir, [f"{r}_flt.fits" for r in names], output="f606w")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--size", type=int, default=256, help="chip side, pixels")
    ap.add_argument("--datadir", default=None, help="keep/reuse the inputs here")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--hrc", action="store_true",
                    help="also the full 1024 x 1024 HRC frames, in process")
    args = ap.parse_args(argv)
    root = Path(args.datadir or tempfile.mkdtemp(prefix="bench_scale_"))
    warm = root / "warm"
    simulate(warm, 2, 64, seed=9)
    mb = 2 ** 20
    rows = []
    for n in args.n:
        data = root / f"n{n}"
        t0 = time.perf_counter()
        simulate(data, n, args.size)
        sim_s = time.perf_counter() - t0
        out = data / "out"
        out.mkdir(exist_ok=True)
        load0 = os.getloadavg()[0]
        a = _child("inproc", data, out, warm)
        b = None if args.no_dask else _child("dask", data, out, warm)
        diff = None if b is None else _max_diff(out)
        rows.append((n, a, b, diff))
        print(f"N={n:4d}: inputs {a['inputs'] / 1e6:.2f} Mpix, frame {a['frame']}, "
              f"simulated in {sim_s:.0f} s; load average {load0:.1f} -> "
              f"{os.getloadavg()[0]:.1f} (other jobs slow both runs)", flush=True)
        print(f"   in process : {a['wall']:7.2f} s  peak RSS {a['peak'] / mb:7.0f} MB "
              f"(+{(a['peak'] - a['base']) / mb:.0f} MB over {a['base'] / mb:.0f} MB)")
        steps = "  ".join(f"{k} {v:.1f}" for k, v in a["timings"].items())
        print(f"      steps: {steps}")
        if b is not None:
            w = ", ".join(f"{x / mb:.0f}" for x in b["workers"])
            print(f"   2 workers  : {b['wall']:7.2f} s  client peak {b['peak'] / mb:7.0f} MB "
                  f"(+{(b['peak'] - b['base']) / mb:.0f}), workers peak {w} MB; "
                  f"wall ratio {b['wall'] / a['wall']:.2f}; max |diff| {diff:g}")
            steps = "  ".join(f"{k} {v:.1f}" for k, v in b["timings"].items())
            print(f"      steps: {steps}")
    if len(rows) > 1:
        n0, a0 = rows[0][0], rows[0][1]
        print(f"\nscaling against N={n0} (linear extrapolation in input pixels):")
        for n, a, b, _ in rows[1:]:
            f = a["inputs"] / a0["inputs"]
            inc0 = a0["peak"] - a0["base"]
            print(f"   N={n:4d}: inputs x{f:.1f}; peak RSS x{a['peak'] / a0['peak']:.2f} "
                  f"(ratio to linear {a['peak'] / (f * a0['peak']):.2f}); peak above set-up "
                  f"x{(a['peak'] - a['base']) / inc0:.2f} (ratio to linear "
                  f"{(a['peak'] - a['base']) / (f * inc0):.2f})")
    if args.hrc:
        peer = _drizzlepac_hrc(root / "hrc_dp")
        if peer is not None:
            print(f"HRC 2 x 1024 x 1024, drizzlepac 3.11.0 (in_memory=False): "
                  f"peak RSS {peer / mb:.0f} MB")
        for in_memory in ("1", "0"):
            proc = subprocess.run([sys.executable, "-c", _HRC, str(root / "hrc"), in_memory],
                                  capture_output=True, text=True)
            if proc.returncode:
                print("HRC run failed:", proc.stderr[-2000:])
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"HRC {r['n']} x 1024 x 1024, in_memory={in_memory == '1'}: "
                  f"{r['wall']:.1f} s, peak RSS {r['peak'] / mb:.0f} MB "
                  f"(+{(r['peak'] - r['base']) / mb:.0f} MB over the set-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
