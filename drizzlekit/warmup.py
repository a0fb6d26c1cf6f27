"""Compile drizzlekit's numba loops ahead of time (``drizzlekit warmup``).

numba compiles each loop the first time it is called with a new combination
of argument types and stores the machine code in its on-disk cache
(``__pycache__`` beside the module, or ``NUMBA_CACHE_DIR``). With an empty
cache the first tutorial that drizzles, blots and flags cosmic rays spends
most of its time compiling (notebook 08: tens of seconds instead of a few).
:func:`warmup` runs every code path the tutorials and panels use on tiny
inputs, so that each loop is compiled once, for the argument types the real
calls use, and cached; Binder's ``postBuild`` calls it.

:func:`is_compiled` tells whether a kernel (``'square'``), a blot
interpolant (``'blot:poly5'``) or a group (``'stats'``, ``'driz_cr'`` ...)
can run without compiling: compiled in this process, or an up-to-date entry
in the on-disk cache. The widgets use it to show a "compiling kernels (first
run only)" note before the first call.

This module imports no UI code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
import warnings
from typing import Callable

import numpy as np

__all__ = ["warmup", "is_compiled", "cold", "loop_groups", "WARMUP_STEPS"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- what is compiled
def _dispatchers(module) -> list:
    """The numba dispatchers a module defines (inlined helpers excluded)."""
    from numba.core.registry import CPUDispatcher

    out = []
    for obj in vars(module).values():
        if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("inline", "never") == "never":
            out.append(obj)
    return out


def loop_groups() -> dict[str, list]:
    """Name -> numba dispatchers behind it.

    Names: every built-in drizzle kernel (``'square'``, ``'turbo'`` ...),
    ``'blot'`` (all interpolants share one loop), ``'pixmap'``,
    ``'pixmap_store'``, ``'stats'``, ``'driz_cr'`` and ``'geometry'``.
    """
    from . import blot, pixmap, pixmap_store, stats
    from .kernels import builtin as kb
    from .kernels import geometry

    driz_cr = importlib.import_module("drizzlekit.steps.driz_cr")  # the package re-exports
    # a function of the same name

    names = {kb.SQUARE: "square", kb.TURBO: "turbo", kb.POINT: "point",
             kb.GAUSSIAN: "gaussian", kb.TOPHAT: "tophat", kb.LANCZOS2: "lanczos2",
             kb.LANCZOS3: "lanczos3"}
    groups: dict[str, list] = {names[c]: [f] for c, f in kb.BAND_FUNCTIONS.items()}
    groups["blot"] = [blot._blot_rows]
    groups["pixmap"] = _dispatchers(pixmap)
    groups["pixmap_store"] = _dispatchers(pixmap_store)
    groups["stats"] = _dispatchers(stats)
    groups["driz_cr"] = _dispatchers(driz_cr)
    groups["geometry"] = _dispatchers(geometry)
    return groups


def _cached_on_disk(disp) -> bool:
    """True when numba's cache holds an entry for the dispatcher's current source."""
    try:
        cache = disp._cache  # numba's FunctionCache (a NullCache when cache=False)
        index = cache._cache_file._load_index()
    except Exception:  # private numba API: assume nothing is cached
        return False
    return bool(index)


def is_compiled(name: str) -> bool:
    """Whether ``name`` runs without compiling first.

    Parameters
    ----------
    name : str
        A drizzle kernel (``'square'``; case-insensitive), ``'blot'`` or
        ``'blot:<interp>'``, or a group of :func:`loop_groups`.

    Returns
    -------
    bool
        True when every loop of ``name`` is compiled in this process or has
        an up-to-date entry in numba's on-disk cache. (A cached loop may still
        compile when it is called with new argument types; the on-disk check
        does not look at types.)

    Raises
    ------
    KeyError
        Unknown name (listing the known ones).
    """
    key = str(name).lower()
    if key.startswith("blot:"):
        key = "blot"
    groups = loop_groups()
    if key not in groups:
        raise KeyError(f"unknown kernel or group {name!r}; known: {', '.join(sorted(groups))}")
    return all(bool(d.signatures) or _cached_on_disk(d) for d in groups[key])


def cold(names=None) -> list[str]:
    """The names (default: all of :func:`loop_groups`) that would compile on first use."""
    names = list(loop_groups()) if names is None else list(names)
    return [n for n in names if not is_compiled(n)]


# ---------------------------------------------------------------------------- warm-up steps
def _tiny_frames():
    from astropy.wcs import WCS

    def wcs(shift):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [150.1, 2.2]
        w.wcs.crpix = [12.0 + shift, 12.0 - shift]
        w.wcs.cdelt = [-0.05 / 3600, 0.05 / 3600]
        w.pixel_shape = (24, 24)
        w.wcs.set()
        return w

    return wcs(0.0), wcs(0.3)


def _warm_drizzle() -> None:
    """Every built-in kernel through :class:`Drizzle`, with the optional outputs
    the pipeline and the panels use (weights, context, none of them)."""
    from .kernels import available_kernels
    from .resample import Drizzle

    rng = np.random.default_rng(0)
    data = rng.random((24, 24)).astype(np.float32)
    wht = np.ones((24, 24), np.float32)
    y, x = np.indices((24, 24), dtype=float)
    pixmap = np.dstack([x * 0.9 + 2.3, y * 0.9 + 1.6])
    builtin = ("square", "turbo", "point", "tophat", "gaussian", "lanczos2", "lanczos3")
    for kernel in [k for k in available_kernels() if k in builtin]:
        # numba compiles one loop per combination of optional arrays (context image,
        # weight map): with both (final drizzle, panels), with neither (the tutorials'
        # kernel and noise comparisons), and for the separate-drizzle kernels the
        # weighted loop without context; Drizzle's default (context, no weights) for square
        variants = [(True, True), (False, False)]
        if kernel in ("turbo", "square"):
            variants.append((False, True))
        if kernel == "square":
            variants.append((True, False))
        for ctx, weighted in variants:
            d = Drizzle(kernel=kernel, out_shape=(26, 26), disable_ctx=not ctx)
            d.add_image(data, exptime=1.0, pixmap=pixmap, weight_map=wht if weighted else None,
                        pixfrac=0.8)


def _warm_blot() -> None:
    from .blot import INTERPOLANTS, blot_image

    data = np.random.default_rng(1).random((24, 24)).astype(np.float32)
    y, x = np.indices((20, 20), dtype=float)
    pixmap = np.dstack([x * 1.1 + 0.3, y * 1.1 + 0.6])
    for interp in INTERPOLANTS:
        blot_image(data, pixmap, interp=interp)


def _warm_pixmap() -> None:
    from .pixmap import calc_pixmap

    a, b = _tiny_frames()
    calc_pixmap(a, b)
    calc_pixmap(a, b, stepsize=10)


def _tiny_run(**params) -> None:
    """A quiet in-memory AstroDrizzle run on a tiny simulated dither; the product
    goes to a temporary directory (never the current one: Binder's postBuild
    runs in the repository)."""
    import contextlib
    import io
    import logging as _logging
    import os
    import tempfile

    from .datasets import simulate_dither
    from .pipeline import astrodrizzle

    sim = simulate_dither(n_exposures=3, shape=(48, 48), n_stars=8, n_galaxies=1, seed=3)
    quiet = _logging.getLogger("drizzlekit")
    level = quiet.level
    quiet.setLevel(_logging.WARNING)
    try:
        with tempfile.TemporaryDirectory(prefix="drizzlekit-warmup-") as tmp, \
                contextlib.redirect_stdout(io.StringIO()):
            astrodrizzle(sim.hdulists, os.path.join(tmp, "warmup"), progress=False,
                         in_memory=True, runfile="", **params)
    finally:
        quiet.setLevel(level)


def _warm_pipeline() -> None:
    """A tiny in-memory AstroDrizzle run (static mask, sky, separate drizzle,
    median, blot, driz_cr, final drizzle) and the step functions the tutorials
    call directly."""
    _tiny_run()


def _warm_final_err() -> None:
    """The final drizzle with the ERR product (``final_err=True``): the default
    square kernel's loop with variance planes, a separate compilation (tens of
    seconds on first use). The CR steps are off, they are warmed above."""
    _tiny_run(final_err=True, static=False, skysub=False, driz_separate=False, median=False,
              blot=False, driz_cr=False)


def _warm_stats() -> None:
    from .stats import image_stats

    v = np.random.default_rng(2).normal(10.0, 1.0, 4000).astype(np.float32)
    image_stats(v, nclip=3, fields="npix,mean,stddev,min,max,median,mode")


def _warm_driz_cr() -> None:
    driz_cr = importlib.import_module("drizzlekit.steps.driz_cr")

    img = np.random.default_rng(3).random((20, 20)).astype(np.float32)
    driz_cr.qderiv(img)
    driz_cr.qderiv(img, border="reference")


def _warm_align() -> None:
    from .align.find import find_sources
    from .datasets import simulate_dither

    sim = simulate_dither(n_exposures=1, shape=(64, 64), n_stars=10, n_galaxies=0, seed=5)
    find_sources(np.asarray(sim.hdulists[0]["SCI", 1].data, np.float32), threshold=4.0)


#: Warm-up steps in the order :func:`warmup` runs them (name -> function).
WARMUP_STEPS: dict[str, Callable[[], None]] = {
    "drizzle": _warm_drizzle,      # every kernel, with and without a context image
    "blot": _warm_blot,            # every interpolant
    "pixmap": _warm_pixmap,        # exact and stepsize=10 pixel maps
    "stats": _warm_stats,          # clipped statistics (sky, median)
    "driz_cr": _warm_driz_cr,      # derivative image
    "pipeline": _warm_pipeline,    # a tiny in-memory AstroDrizzle run (all steps)
    "final_err": _warm_final_err,  # the final drizzle's variance (ERR) loop, square kernel
    "find": _warm_align,           # TweakReg source finding
}


def warmup(steps=None, *, report: Callable[[str], None] | None = None) -> dict[str, float]:
    """Compile (and cache) the numba loops the tutorials and panels use.

    Parameters
    ----------
    steps : iterable of str, optional
        Names of :data:`WARMUP_STEPS` (default: all).
    report : callable, optional
        Called with one line per step (e.g. ``print``); default: the log.

    Returns
    -------
    dict
        Step name -> seconds. A step that fails is logged and reported as
        ``nan`` (a failed warm-up only costs time later).
    """
    todo = list(WARMUP_STEPS) if steps is None else list(steps)
    unknown = [s for s in todo if s not in WARMUP_STEPS]
    if unknown:
        raise KeyError(f"unknown warm-up step(s) {unknown}; known: {list(WARMUP_STEPS)}")
    say = report or log.info
    out: dict[str, float] = {}
    for name in todo:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():  # e.g. "not a flux-conserving kernel"
                warnings.simplefilter("ignore")
                WARMUP_STEPS[name]()
        except Exception as exc:  # never fatal: the loops compile on first use instead
            log.warning("warm-up step %r failed: %s", name, exc)
            out[name] = float("nan")
            say(f"{name}: FAILED ({exc})")
            continue
        out[name] = time.perf_counter() - t0
        say(f"{name}: {out[name]:.1f} s")
    return out


# ---------------------------------------------------------------------------- CLI
def add_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add ``drizzlekit warmup`` to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "warmup", help="compile the numba kernels once (first-run time), e.g. in a Docker "
                       "or Binder build",
        description="Compile and cache every numba loop the tutorials and panels use, so "
                    "the first real run does not pay for it. The cache goes to "
                    "NUMBA_CACHE_DIR when it is set, else beside the installed modules.")
    parser.add_argument("--step", action="append", choices=list(WARMUP_STEPS), default=None,
                        help="only this step (repeatable)")
    parser.add_argument("--check", action="store_true",
                        help="only list what would compile on first use; exit 1 if anything")
    parser.set_defaults(func=_run)
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.check:
        todo = cold()
        print("cold (compile on first use): " + (", ".join(todo) if todo else "none"))
        return 1 if todo else 0
    t0 = time.perf_counter()
    warmup(args.step, report=lambda line: print(f"warmup: {line}", flush=True))
    left = cold()
    print(f"warmup: done in {time.perf_counter() - t0:.1f} s; still cold: "
          f"{', '.join(left) if left else 'none'}", flush=True)
    return 0
