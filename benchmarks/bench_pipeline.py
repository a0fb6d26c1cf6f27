"""Benchmark: the whole AstroDrizzle pipeline, time per step and peak memory.

Simulates ``n_exposures`` dithered exposures of ``n_chips`` chips
(:func:`drizzlekit.datasets.simulate_dither`; default four two-chip
2048 x 4096 exposures, ACS/WFC size), writes them as FLT files, then runs
:func:`drizzlekit.astrodrizzle` on the files **in a fresh child process**, so
that the reported peak memory is the pipeline's and not the simulator's:

* ``tracemalloc`` peak: Python and numpy allocations made by the run;
* ``ru_maxrss``: the child's peak resident memory (includes the interpreter,
  numba, astropy, ~0.3 GB).

Before the timed run the child drizzles a tiny data set once, so numba's
on-disk caches are loaded (reported separately as "warm-up").

Usage::

    python benchmarks/bench_pipeline.py                       # 4 x 2 x 2048 x 4096
    python benchmarks/bench_pipeline.py --shape 256 512       # quick smoke run
    python benchmarks/bench_pipeline.py --datadir /tmp/bench  # keep/reuse the inputs
    python benchmarks/bench_pipeline.py --drizzlepac          # + peak memory vs drizzlepac
    python benchmarks/bench_pipeline.py --on-disk --rss-steps # in_memory=False, RSS per step

Targets (issue 3): under 30 s end to end and under 3 GB on the reference machine.
``--drizzlepac`` (issue 12: in-process peak no more than drizzlepac's) also runs
drizzlekit with ``in_memory=False`` and drizzlepac 3.11.0 (``.venv-peers``, one core,
``in_memory=False``, its default) on copies of the same files given the ACS/WFC header
keywords drizzlepac needs (``tests/peer/acs_headers.py``), and prints both peaks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["simulate", "run_pipeline", "main"]


def simulate(datadir: Path, shape, n_exposures: int, n_chips: int, seed: int = 0) -> list[str]:
    """Write the simulated FLT files (reused when they already exist)."""
    from drizzlekit.datasets import simulate_dither

    names = [datadir / f"bench{i:02d}_flt.fits" for i in range(n_exposures)]
    stamp = datadir / "bench.json"
    key = {"shape": list(shape), "n_exposures": n_exposures, "n_chips": n_chips, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == key and all(n.exists() for n in names):
        return [str(n) for n in names]
    ny, nx = shape
    density = ny * nx * n_chips / (2048 * 4096 * 2)
    sim = simulate_dither(n_exposures=n_exposures, shape=(ny, nx), n_chips=n_chips,
                          dithers="fewpixel", n_stars=max(20, int(3000 * density)),
                          n_galaxies=max(5, int(300 * density)), seed=seed, outdir=datadir,
                          prefix="bench")
    stamp.write_text(json.dumps(key))
    return list(sim.filenames)


class _RssSteps:
    """Peak resident memory per step: ``/proc/self/statm`` sampled every 20 ms, the
    steps told apart by the pipeline's "step ... done" log lines (Linux only)."""

    def __init__(self):
        import threading

        self.samples: list = []
        self.marks: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _mark(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("step "):  # a reading at every step end: short steps count too
            now = time.perf_counter()
            self.samples.append((now, self.rss()))
            self.marks.append((now, text.split()[1]))

    def _sample(self):
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.rss()))
            self._stop.wait(0.02)

    def __enter__(self):
        handler = logging.Handler()
        handler.emit = self._mark
        self._handler = handler
        logger = logging.getLogger("drizzlekit")
        self._level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        self.marks.append((time.perf_counter(), "start"))
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        logger = logging.getLogger("drizzlekit")
        logger.removeHandler(self._handler)
        logger.setLevel(self._level)

    def peaks(self) -> dict:
        """``{step: peak bytes}``; the first step includes reading the inputs."""
        out = {}
        for (t0, _), (t1, name) in zip(self.marks, self.marks[1:]):
            seg = [r for t, r in self.samples if t0 <= t <= t1]
            if seg:
                out[name] = max(seg)
        return out


def run_pipeline(files: list[str], outdir: str, use_tracemalloc: bool = True,
                 in_memory: bool = True, rss_steps: bool = False) -> dict:
    """Run the pipeline once (after a tiny warm-up) and measure it (child process)."""
    import contextlib
    import tracemalloc

    from drizzlekit.datasets import simulate_dither
    from drizzlekit.pipeline import astrodrizzle

    t0 = time.perf_counter()
    small = simulate_dither(n_exposures=2, shape=(32, 32), n_chips=1, n_stars=3,
                            n_galaxies=0, seed=1)
    astrodrizzle(small.hdulists, output=os.path.join(outdir, "warmup"), runfile="",
                 progress=False, in_memory=True)
    warmup = time.perf_counter() - t0

    if use_tracemalloc:
        tracemalloc.start()
    sampler = _RssSteps() if rss_steps else contextlib.nullcontext()
    t0 = time.perf_counter()
    with sampler:
        res = astrodrizzle(files, output=os.path.join(outdir, "bench"), build=True,
                           in_memory=in_memory, runfile="", progress=False)
    total = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if use_tracemalloc else None
    if use_tracemalloc:
        tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB
    nchips = sum(len(e.chips) for e in res.exposures)
    npix = sum(c.sci.size for e in res.exposures for c in e.chips)
    return {"total_s": total, "warmup_s": warmup, "steps_s": res.timings,
            "tracemalloc_peak_bytes": peak, "maxrss_bytes": maxrss, "n_chips": nchips,
            "input_pixels": npix, "output_shape": list(res.sci.shape),
            "cr_pixels": int(sum(int(m.sum()) for m in res.cr_masks.values())),
            "rss_steps": sampler.peaks() if rss_steps else None}


def _report(r: dict, shape, n_exposures: int, n_chips: int) -> str:
    gb = 1024 ** 3
    lines = [f"AstroDrizzle on {n_exposures} exposures x {n_chips} chips of {shape[0]} x "
             f"{shape[1]} pixels ({r['input_pixels'] / 1e6:.1f} Mpix in, output "
             f"{r['output_shape'][0]} x {r['output_shape'][1]})",
             f"  {'step':<16s}{'seconds':>9s}"]
    for name, sec in r["steps_s"].items():
        lines.append(f"  {name:<16s}{sec:9.2f}")
    lines.append(f"  {'total':<16s}{r['total_s']:9.2f}   (target < 30 s)")
    lines.append(f"  warm-up (numba caches, tiny run): {r['warmup_s']:.2f} s")
    if r["tracemalloc_peak_bytes"] is not None:
        peak = r["tracemalloc_peak_bytes"] / gb
        lines.append(f"  peak traced memory (tracemalloc): {peak:.2f} GB   (target < 3 GB)")
    lines.append(f"  peak resident memory (ru_maxrss): {r['maxrss_bytes'] / gb:.2f} GB")
    lines.append(f"  cosmic-ray pixels flagged: {r['cr_pixels']}")
    if r.get("rss_steps"):
        lines.append("  peak resident memory per step (GB; the first includes reading the "
                     "inputs):")
        lines.append("    " + ", ".join(f"{k} {v / gb:.2f}" for k, v in r["rss_steps"].items()))
    return "\n".join(lines)


def _versus_drizzlepac(files: list[str], tmp: Path, cmd: list[str]) -> str:
    """Peak RSS of drizzlekit (``in_memory=False``) and drizzlepac on the same pixels."""
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_scale import drizzlepac_peak

    gb = 1024 ** 3
    proc = subprocess.run(cmd + ["--on-disk", "--no-tracemalloc"], capture_output=True,
                          text=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT "))
    ours = json.loads(line[len("BENCH-RESULT "):])
    work = tmp / "drizzlepac"
    work.mkdir()
    names = []
    for f in files:
        shutil.copy(f, work / Path(f).name)
        names.append(Path(f).name)
    root = Path(__file__).resolve().parents[1]
    exe = root / ".venv-peers" / "bin" / "python"
    if not exe.exists():
        return "  drizzlepac: peer environment missing (bash tests/peer/make_peer_venv.sh)"
    subprocess.run([str(exe), str(root / "tests" / "peer" / "acs_headers.py"), *names],
                   cwd=work, check=True)
    t0 = time.perf_counter()
    peak = drizzlepac_peak(work, names, output="dp")
    wall = time.perf_counter() - t0
    if peak is None:
        return "  drizzlepac: run failed (see above)"
    return (f"  in_memory=False, peak resident memory: drizzlekit {ours['maxrss_bytes'] / gb:.2f}"
            f" GB ({ours['total_s']:.1f} s), drizzlepac 3.11.0 {peak / gb:.2f} GB "
            f"({wall:.1f} s, one core) -> ratio {ours['maxrss_bytes'] / peak:.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", nargs=2, type=int, default=(2048, 4096),
                        metavar=("NY", "NX"), help="chip shape (default 2048 4096)")
    parser.add_argument("--n-exposures", type=int, default=4)
    parser.add_argument("--n-chips", type=int, default=2)
    parser.add_argument("--datadir", default=None,
                        help="directory for the simulated inputs (kept and reused)")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="do not trace allocations (slightly faster)")
    parser.add_argument("--json", default=None, help="also write the numbers as JSON here")
    parser.add_argument("--drizzlepac", action="store_true",
                        help="also compare peak memory with drizzlepac 3.11.0 (in_memory=False)")
    parser.add_argument("--on-disk", action="store_true",
                        help="run with in_memory=False (drizzlekit's and drizzlepac's "
                             "default) instead of in_memory=True")
    parser.add_argument("--rss-steps", action="store_true",
                        help="also print the peak resident memory of every step (Linux)")
    parser.add_argument("--child", nargs=2, metavar=("FILELIST", "OUTDIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # the measured run, in its own process
        files = Path(args.child[0]).read_text().split()
        result = run_pipeline(files, args.child[1], not args.no_tracemalloc,
                              in_memory=not args.on_disk, rss_steps=args.rss_steps)
        sys.stdout.write("BENCH-RESULT " + json.dumps(result) + "\n")
        return 0

    with tempfile.TemporaryDirectory(prefix="drizzlekit-bench-") as tmp:
        datadir = Path(args.datadir) if args.datadir else Path(tmp) / "data"
        datadir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = simulate(datadir, tuple(args.shape), args.n_exposures, args.n_chips)
        sys.stdout.write(f"inputs ready in {time.perf_counter() - t0:.1f} s: {datadir}\n")
        listfile = Path(tmp) / "files.txt"
        listfile.write_text("\n".join(files))
        outdir = Path(tmp) / "out"
        outdir.mkdir()
        cmd = [sys.executable, __file__, "--child", str(listfile), str(outdir)]
        if args.no_tracemalloc:
            cmd.append("--no-tracemalloc")
        if args.rss_steps:
            cmd.append("--rss-steps")
        if args.on_disk:
            cmd.append("--on-disk")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            return proc.returncode
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH-RESULT "))
        result = json.loads(line[len("BENCH-RESULT "):])
        if args.drizzlepac:
            peer = _versus_drizzlepac(files, Path(tmp), cmd)
    sys.stdout.write(_report(result, args.shape, args.n_exposures, args.n_chips) + "\n")
    if args.drizzlepac:
        sys.stdout.write(peer + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
