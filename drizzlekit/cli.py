"""The ``drizzlekit`` command line.

::

    drizzlekit astrodrizzle 'j8bt*_flt.fits' --output final --final-pixfrac 0.8
    drizzlekit astrodrizzle @inputs.txt --config mypars.toml --driz-cr-snr "4 3.5"
    drizzlekit demo --outdir demo
    drizzlekit tweakreg 'j8bt*_flt.fits' --updatehdr        (when drizzlekit.align has it)

Every ``astrodrizzle`` flag comes from the parameter specification
(``drizzlekit.params.get_spec('astrodrizzle')``): ``final_kernel`` is
``--final-kernel``, booleans have ``--name/--no-name``. ``--config FILE``
reads a drizzlekit TOML file (``ParamSpec.save``) or a drizzlepac ``.cfg``
file first; flags given on the command line override it.

Subcommands are registered in :data:`SUBCOMMANDS` (name -> function adding
the subparser); :func:`register_subcommand` adds one from another module.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from typing import Any, Callable, Sequence

from .exceptions import DrizzlekitError, InputError

__all__ = ["main", "build_parser", "register_subcommand", "run_demo", "SUBCOMMANDS"]

log = logging.getLogger(__name__)

#: Subcommand name -> callable(subparsers) that adds its parser and sets ``func``.
SUBCOMMANDS: dict[str, Callable[[Any], argparse.ArgumentParser]] = {}


def register_subcommand(name: str, add: Callable[[Any], argparse.ArgumentParser]) -> None:
    """Register a subcommand: ``add(subparsers)`` must create the parser and call
    ``parser.set_defaults(func=run)`` with ``run(args) -> int`` (exit status)."""
    SUBCOMMANDS[name] = add


# ============================================================================ astrodrizzle
def _add_astrodrizzle(subparsers) -> argparse.ArgumentParser:
    from .params import get_spec

    spec = get_spec("astrodrizzle")
    parser = subparsers.add_parser(
        "astrodrizzle", help="combine dithered exposures, rejecting cosmic rays",
        description=spec.doc,
        epilog="drizzlepac's spellings of the flags (--final_pixfrac) are accepted too.")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="input exposures: files, wildcards, comma list, @file or ASN "
                             "table (or --input)")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="parameter file: drizzlekit TOML or drizzlepac .cfg")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: when stderr is a terminal or in a "
                             "notebook)")
    spec.add_arguments(parser)
    parser.set_defaults(func=_run_astrodrizzle)
    return parser


def _config_values(spec, path: str) -> dict:
    """Values of a config file that differ from the defaults."""
    loader = spec.read_drizzlepac_cfg if str(path).lower().endswith(".cfg") else spec.load
    loaded = loader(path)
    defaults = spec.defaults()
    return {k: v for k, v in loaded.items() if v != defaults.get(k)}


def _run_astrodrizzle(args: argparse.Namespace) -> int:
    from .params import get_spec
    from .pipeline import astrodrizzle

    spec = get_spec("astrodrizzle")
    try:
        values: dict[str, Any] = {}
        if args.config:
            values.update(_config_values(spec, args.config))
        for key, value in vars(args).items():
            if key in spec:
                values[key] = value
        inputs = list(args.inputs or [])
        cfg_input = values.pop("input", None)
        if inputs and "input" in vars(args):
            raise InputError("input: give the inputs either as arguments or with --input")
        if not inputs:  # drizzlepac's default: every *flt.fits file here
            inputs = [cfg_input or spec["input"].default]
            log.info("input: none given, using %r", inputs[0])
        inp = inputs[0] if len(inputs) == 1 else inputs
        output = values.pop("output", None) or None
        res = astrodrizzle(inp, output, progress=args.progress, **values)
    except DrizzlekitError as exc:
        sys.stderr.write(f"drizzlekit astrodrizzle: error: {exc}\n")
        return 2
    except MemoryError:  # the size checks are lower bounds; say what to change
        sys.stderr.write("drizzlekit astrodrizzle: error: out of memory; use a smaller output "
                         "frame (final_scale, final_outnx, final_outny), fewer inputs, or "
                         "--memory-limit <GiB> (the memory the run may use; it also sizes "
                         "the working buffers)\n")
        return 2
    except OSError as exc:  # a file system failure the checks could not foresee
        sys.stderr.write(f"drizzlekit astrodrizzle: error: {exc}\n")
        return 2
    for name in res.files_written:
        sys.stdout.write(f"wrote {name}\n")
    return 0


# ============================================================================ demo
def _add_demo(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo", help="simulate a small dither set and run the whole pipeline on it",
        description="Simulate four dithered two-chip exposures with stars, galaxies and "
                    "cosmic rays (drizzlekit.datasets.simulate_dither), align them when "
                    "drizzlekit.align is available, and run AstroDrizzle, writing "
                    "demo_drz.fits.")
    parser.add_argument("--outdir", default=".", metavar="DIR",
                        help="where to write demo_drz.fits (inputs go to DIR/demo_data; "
                             "default: the current directory)")
    parser.add_argument("--n-exposures", type=int, default=4, metavar="N",
                        help="number of exposures (default: 4)")
    parser.add_argument("--size", type=int, default=256, metavar="PIXELS",
                        help="chip size, pixels (default: 256)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--align", action=argparse.BooleanOptionalAction, default=True,
                        help="align the exposures first when drizzlekit.align is available "
                             "(default: yes)")
    parser.set_defaults(func=_run_demo_cli)
    return parser


def _align_available():
    """``drizzlekit.align.align_wcs`` or None."""
    try:
        from .align import align_wcs
    except Exception as exc:  # the alignment package is optional for the demo
        log.info("alignment not available (%s)", exc)
        return None
    return align_wcs


def _demo_catalog(data, dq):
    """x, y of bright point sources in one chip (photutils DAOStarFinder)."""
    import numpy as np
    from astropy.stats import sigma_clipped_stats
    from astropy.table import Table
    from photutils.detection import DAOStarFinder

    mask = dq != 0
    with warnings.catch_warnings():  # photutils 2 vs 3 parameter/column names
        warnings.simplefilter("ignore")
        _, med, std = sigma_clipped_stats(data, mask=mask, sigma=3.0)
        finder = DAOStarFinder(fwhm=2.5, threshold=10.0 * std)
        found = finder(np.asarray(data, dtype=float) - med, mask=mask)
        if found is None:
            return Table({"x": np.empty(0), "y": np.empty(0)})
        return Table({"x": np.asarray(found["xcentroid"], float),
                      "y": np.asarray(found["ycentroid"], float)})


def _set_header_wcs(hdr, w) -> None:
    """Replace the WCS keywords of a SCI header by ``w`` (CD form, SIP kept)."""
    import numpy as np

    for key in list(hdr.keys()):
        if key.startswith(("CRPIX", "CRVAL", "CD1_", "CD2_", "PC1_", "PC2_", "CDELT", "CTYPE",
                           "A_", "B_", "AP_", "BP_")):
            hdr.remove(key, ignore_missing=True, remove_all=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = w.to_header(relax=True)
    cd = w.wcs.cd if w.wcs.has_cd() else w.wcs.get_pc() * w.wcs.cdelt[:, None]
    for key in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2", "MJDREF",
                "DATE-OBS", "MJD-OBS", "DATEREF", "WCSAXES"):
        new.remove(key, ignore_missing=True)
    hdr.extend(new, update=True)
    for i in range(2):
        for j in range(2):
            hdr[f"CD{i + 1}_{j + 1}"] = float(np.asarray(cd)[i, j])
    hdr["WCSNAME"] = "DEMO_ALIGNED"


def _align_demo(sim, align_wcs) -> str:
    """Align the simulated exposures in memory; returns a one-line report."""
    from .io.fits_input import read_exposure

    images = []
    for hdul in sim.hdulists:
        exp = read_exposure(hdul)
        images.append([(_demo_catalog(c.sci, c.dq if c.dq is not None else 0 * c.sci), c.wcs)
                       for c in exp.chips])
    results = align_wcs(images, searchrad=1.0, fitgeometry="rscale", minobj=5,
                        names=[f"demo{i:02d}" for i in range(len(images))])
    nok = 0
    for hdul, r in zip(sim.hdulists, results):
        if not str(r.status).startswith("SUCCESS"):
            continue
        nok += 1
        wcs_list = r.wcs if isinstance(r.wcs, list) else [r.wcs]
        for k, w in enumerate(wcs_list, start=1):
            _set_header_wcs(hdul["SCI", k].header, w)
    return (f"aligned {nok} of {len(results) - 1} exposures to the first "
            f"(statuses: {', '.join(str(r.status) for r in results)})")


def run_demo(outdir: str = ".", *, n_exposures: int = 4, size: int = 256, seed: int = 0,
             align: bool = True, progress: bool | None = False):
    """Simulate a dither set, align it (if possible) and drizzle it.

    Parameters
    ----------
    outdir : str
        Directory of ``demo_drz.fits`` (created if needed); the simulated
        inputs go to ``<outdir>/demo_data``.
    n_exposures : int
        Number of exposures.
    size : int
        Chip size (pixels); every exposure has two chips.
    seed : int
        Random seed.
    align : bool
        Align the exposures with :func:`drizzlekit.align.align_wcs` first
        (skipped when the alignment package is not available).
    progress : bool
        Progress bars.

    Returns
    -------
    AstrodrizzleResult
    """
    from .datasets import simulate_dither
    from .io.atomic import atomic_path
    from .pipeline import astrodrizzle

    os.makedirs(outdir, exist_ok=True)
    datadir = os.path.join(outdir, "demo_data")
    os.makedirs(datadir, exist_ok=True)
    align_wcs = _align_available() if align else None
    sim = simulate_dither(n_exposures=n_exposures, shape=(size, size), n_chips=2,
                          dithers="fewpixel", n_stars=80, n_galaxies=12, seed=seed,
                          wcs_error_arcsec=0.02 if align_wcs is not None else 0.0,
                          prefix="demo")
    if align_wcs is not None:
        try:
            log.info(_align_demo(sim, align_wcs))
        except Exception as exc:  # the demo must run even if alignment is unhappy
            log.warning("alignment skipped: %s", exc)
    files = []
    for i, hdul in enumerate(sim.hdulists):
        path = os.path.join(datadir, f"demo{i:02d}_flt.fits")
        with atomic_path(path) as tmp:
            hdul.writeto(tmp)
        files.append(path)
    return astrodrizzle(files, os.path.join(outdir, "demo"), build=True, in_memory=True,
                        runfile=os.path.join(outdir, "demo.log"), progress=progress)


def _run_demo_cli(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        res = run_demo(args.outdir, n_exposures=args.n_exposures, size=args.size,
                       seed=args.seed, align=args.align, progress=None)
    except DrizzlekitError as exc:
        sys.stderr.write(f"drizzlekit demo: error: {exc}\n")
        return 2
    ncr = sum(int(m.sum()) for m in res.cr_masks.values())
    sys.stdout.write(
        f"drizzlekit demo: {len(res.exposures)} exposures x 2 chips, {ncr} cosmic-ray "
        f"pixels flagged, output {res.sci.shape[1]} x {res.sci.shape[0]} pixels "
        f"({time.perf_counter() - t0:.1f} s)\n")
    sys.stdout.write(f"wrote {os.path.abspath(res.output)}\n")
    return 0


# ============================================================================ parser
register_subcommand("astrodrizzle", _add_astrodrizzle)
register_subcommand("demo", _add_demo)


def _add_tweakreg(subparsers):
    """``drizzlekit tweakreg``: provided by :mod:`drizzlekit.align.tweakreg`."""
    try:
        from .align.tweakreg import add_tweakreg_subcommand
    except ImportError as exc:
        log.debug("tweakreg subcommand not available: %s", exc)
        return None
    return add_tweakreg_subcommand(subparsers)


register_subcommand("tweakreg", _add_tweakreg)


def _add_restore_wcs(subparsers):
    """``drizzlekit restore-wcs``: provided by :mod:`drizzlekit.io.inplace`."""
    from .io.inplace import add_restore_wcs_subcommand

    return add_restore_wcs_subcommand(subparsers)


register_subcommand("restore-wcs", _add_restore_wcs)


def _add_warmup(subparsers):
    """``drizzlekit warmup``: provided by :mod:`drizzlekit.warmup`."""
    from .warmup import add_subcommand

    return add_subcommand(subparsers)


register_subcommand("warmup", _add_warmup)


def build_parser() -> argparse.ArgumentParser:
    """The ``drizzlekit`` argument parser with every registered subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="drizzlekit",
        description="Align (TweakReg) and combine (AstroDrizzle) dithered telescope images.")
    parser.add_argument("--version", action="version", version=f"drizzlekit {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log messages (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, add in SUBCOMMANDS.items():
        add(sub)
    return parser


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("drizzlekit")
    handler = next((h for h in logger.handlers if getattr(h, "_drizzlekit_cli", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        # errors the command reports itself are printed once, by the command
        handler.addFilter(lambda r: not getattr(r, "drizzlekit_reraised", False))
        handler._drizzlekit_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    else:  # sys.stderr may have been replaced (and the old one closed) since
        handler.stream = sys.stderr
    handler.setLevel(level)
    logger.setLevel(level)


def _subparser(parser: argparse.ArgumentParser, command: str | None):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return None


def _unknown_flags_message(parser: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """'unrecognized arguments' with a "did you mean" for each near-miss flag."""
    import difflib

    known = [opt for action in parser._actions for opt in action.option_strings]
    hints = []
    for extra in extras:
        flag = extra.split("=", 1)[0]
        if not flag.startswith("--"):
            continue
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
        if not close and "_" in flag:
            close = difflib.get_close_matches(flag.replace("_", "-"), known, n=1, cutoff=0.75)
        if close:
            hints.append(f"{flag}: did you mean {close[0]}?")
    return "unrecognized arguments: " + " ".join(extras) + "".join(f"\n  {h}" for h in hints)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``drizzlekit`` console script; returns the exit status."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # the subcommand's usage and a hint, not the top-level usage
        sub = _subparser(parser, getattr(args, "command", None)) or parser
        sub.error(_unknown_flags_message(sub, extras))
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    _configure_logging(args.verbose, args.quiet)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
