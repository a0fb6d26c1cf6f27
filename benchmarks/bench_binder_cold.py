"""Benchmark: a tutorial's cold start in a fresh Binder-like environment.

Builds the environment the way repo2docker does from ``binder/`` and times
each stage a Binder user waits for:

1. **build**: the repository (tracked and untracked, not ignored files:
   what a clone of the working tree holds) is copied into a temporary
   directory; a new virtual environment is made with the Python of
   ``binder/runtime.txt`` and ``pip install -r binder/requirements.txt`` runs
   from the copy's root (its last line, ``.``, installs drizzlekit from the
   copy). pip may use its local cache: on Binder the wheels are downloaded,
   so this stage is a lower bound there.
2. **cold tutorials**: each tutorial executed with ``jupyter nbconvert
   --execute`` in that environment with an empty numba cache
   (``NUMBA_CACHE_DIR`` set to a new empty folder) and no warm-up: what a user
   gets when the image was built without ``drizzlekit warmup``.
3. **postBuild**: ``binder/postBuild`` with the environment active and
   ``NUMBA_CACHE_DIR`` unset, as in a Binder image (numba's cache then lives
   beside the installed modules, inside the image); it runs
   ``drizzlekit warmup``.
4. **warm tutorials**: the same notebooks right after ``postBuild`` (what a
   Binder user gets), and once more (fully warm: every loop the notebook uses
   is cached). A difference between those two rows is compilation that
   ``drizzlekit warmup`` missed.

Each notebook time is the wall time of ``jupyter nbconvert`` (kernel start-up
included); the time spent in its cells and the slowest cell come from the
executed notebook's timing metadata. A file that ``postBuild`` leaves in the
repository (which a Binder user would find in the file browser) is reported.
The load average is printed: on a shared machine absolute times are inflated,
compare within one run.

Not part of CI (it installs a whole JupyterLab environment).

Usage::

    python benchmarks/bench_binder_cold.py                        # notebooks 01 and 08
    python benchmarks/bench_binder_cold.py --notebooks 08 --keep /tmp/binder-env
    python benchmarks/bench_binder_cold.py --keep /tmp/binder-env   # reuse: reinstalls
                                                                    # drizzlekit only
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["copy_checkout", "build_env", "run_postbuild", "run_notebook", "main"]

REPO = Path(__file__).resolve().parents[1]


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def copy_checkout(dest: Path) -> Path:
    """Copy the working tree's tracked and untracked-but-not-ignored files to ``dest``."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, check=True, capture_output=True).stdout
    if dest.exists():
        shutil.rmtree(dest)
    for rel in sorted({p for p in out.decode().split("\0") if p}):
        src = REPO / rel
        if not src.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def _python_for_runtime(repo: Path) -> str:
    """The interpreter named by ``binder/runtime.txt`` (``python-3.11`` -> python3.11)."""
    try:
        spec = (repo / "binder" / "runtime.txt").read_text().strip()
    except OSError:
        return sys.executable
    if spec.startswith("python-"):
        exe = shutil.which("python" + spec[len("python-"):])
        if exe:
            return exe
    return sys.executable


def _env(venv: Path, numba_cache: str | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "NUMBA_CACHE_DIR", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    env["MPLBACKEND"] = "Agg"
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    return env


def _run(cmd, cwd: Path, env: dict, log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text()[-3000:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed (exit {proc.returncode}) after "
                           f"{wall:.0f} s; log {log}:\n{tail}")
    return wall


def build_env(repo: Path, venv: Path, logs: Path) -> float:
    """New venv + ``pip install -r binder/requirements.txt`` from ``repo``; seconds."""
    t0 = time.perf_counter()
    subprocess.run([_python_for_runtime(repo), "-m", "venv", str(venv)], check=True)
    env = _env(venv, None)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
         repo, env, logs / "pip-upgrade.log")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-r",
          "binder/requirements.txt"], repo, env, logs / "pip-install.log")
    return time.perf_counter() - t0


def reinstall_drizzlekit(repo: Path, venv: Path, logs: Path) -> float:
    """Reinstall only drizzlekit from ``repo`` into an existing venv; seconds."""
    return _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                 "--force-reinstall", "."], repo, _env(venv, None), logs / "pip-reinstall.log")


def clear_numba_cache(venv: Path) -> int:
    """Delete numba's cache files beside the installed drizzlekit; how many."""
    n = 0
    for lib in (venv / "lib").glob("python*/site-packages/drizzlekit"):
        for f in list(lib.rglob("*.nbi")) + list(lib.rglob("*.nbc")):
            f.unlink()
            n += 1
    return n


def _files(repo: Path) -> set:
    return {p.relative_to(repo) for p in repo.rglob("*") if p.is_file()}


def run_postbuild(repo: Path, venv: Path, logs: Path) -> tuple[float, str]:
    """``binder/postBuild`` with the venv active; (seconds, its warm-up summary and any
    file it left in the repository, which a Binder user would find there)."""
    log = logs / "postBuild.log"
    before = _files(repo)
    wall = _run(["bash", "binder/postBuild"], repo, _env(venv, None), log)
    stray = sorted(str(p) for p in _files(repo) - before)
    summary = [ln[len("warmup: "):] for ln in log.read_text().splitlines()
               if ln.startswith("warmup:")]
    note = "warm-up " + "; ".join(summary)
    if stray:
        note += "; LEFT IN THE REPOSITORY: " + ", ".join(stray)
    return wall, note


def _cell_times(nb_path: Path) -> tuple[float, float, int]:
    """(sum over cells, slowest cell, its index), seconds, from nbclient's timing metadata."""
    nb = json.loads(nb_path.read_text())
    best, total = (0.0, -1), 0.0
    for i, cell in enumerate(nb.get("cells", [])):
        ex = cell.get("metadata", {}).get("execution", {})
        a, b = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
        if not (a and b):
            continue
        dt = (_dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
              - _dt.datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds()
        best = max(best, (dt, i))
        total += dt
    return total, best[0], best[1]


def run_notebook(repo: Path, venv: Path, name: str, numba_cache: str | None,
                 outdir: Path, tag: str) -> dict:
    """Execute one tutorial with ``jupyter nbconvert --execute``; times in seconds."""
    nb = next((repo / "notebooks").glob(f"{name}*.ipynb"))
    out = outdir / tag
    out.mkdir(parents=True, exist_ok=True)
    cmd = [str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.timeout=3600", "--ExecutePreprocessor.kernel_name=python3",
           "--output-dir", str(out), str(nb)]
    wall = _run(cmd, nb.parent, _env(venv, numba_cache), outdir / f"{tag}-{nb.stem}.log")
    cells, cell_s, cell_i = _cell_times(out / nb.name)
    return {"notebook": nb.stem, "wall": wall, "cells": cells, "slowest_cell": cell_s,
            "cell": cell_i}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notebooks", nargs="+", default=["01", "08"],
                    help="tutorial number prefixes (default: 01 08)")
    ap.add_argument("--keep", metavar="DIR", default=None,
                    help="build the environment in DIR and leave it there; if DIR already "
                         "holds one, reuse it (drizzlekit is reinstalled from this checkout "
                         "and numba's cache beside it is emptied)")
    args = ap.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="binder-cold-"))
    work.mkdir(parents=True, exist_ok=True)
    venv, logs = work / "venv", work / "logs"
    logs.mkdir(exist_ok=True)
    load0 = os.getloadavg()
    rows = []
    try:
        _say(f"copying the checkout to {work / 'repo'}")
        repo = copy_checkout(work / "repo")
        if (venv / "bin" / "jupyter").exists():
            t = reinstall_drizzlekit(repo, venv, logs)
            removed = clear_numba_cache(venv)
            rows.append(("environment reused: drizzlekit reinstalled", t,
                         f"{removed} numba cache files removed"))
        else:
            _say("building the environment (pip install -r binder/requirements.txt)")
            t = build_env(repo, venv, logs)
            rows.append(("environment build (venv + pip install -r binder/requirements.txt)",
                         t, "pip's local cache may be used"))
        _say(rows[-1][0] + f": {t:.0f} s")
        cold_cache = tempfile.mkdtemp(prefix="numba-empty-", dir=work)
        for name in args.notebooks:
            cache = tempfile.mkdtemp(prefix=f"numba-empty-{name}-", dir=cold_cache)
            r = run_notebook(repo, venv, name, cache, work / "executed", "cold")
            rows.append((f"{r['notebook']}: empty numba cache, no warm-up", r["wall"],
                         f"cells {r['cells']:.1f} s, slowest {r['slowest_cell']:.1f} s (#{r['cell']})"))
            _say(f"{rows[-1][0]}: {r['wall']:.1f} s")
        _say("binder/postBuild (drizzlekit warmup)")
        t, summary = run_postbuild(repo, venv, logs)
        rows.append(("binder/postBuild (drizzlekit warmup)", t, summary))
        _say(f"postBuild: {t:.0f} s")
        for tag, what in (("warm", "after postBuild"), ("warm2", "again (fully warm)")):
            for name in args.notebooks:
                r = run_notebook(repo, venv, name, None, work / "executed", tag)
                rows.append((f"{r['notebook']}: {what}", r["wall"],
                             f"cells {r['cells']:.1f} s, slowest {r['slowest_cell']:.1f} s (#{r['cell']})"))
                _say(f"{rows[-1][0]}: {r['wall']:.1f} s")
    finally:
        load1 = os.getloadavg()
        if rows:
            print(f"\nBinder-like cold start ({sys.platform}, {os.cpu_count()} CPUs, "
                  f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end)")
            width = max(len(r[0]) for r in rows)
            print(f"{'stage':<{width}}  {'seconds':>8}  notes")
            for what, sec, note in rows:
                print(f"{what:<{width}}  {sec:8.1f}  {note}")
        if args.keep:
            print(f"\nenvironment kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
