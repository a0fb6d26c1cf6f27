"""TweakReg: align the WCS of calibrated images, file in, headers/shift file out.

:func:`tweakreg` is drizzlepac's ``TweakReg`` with the same parameter names
and defaults (the ``tweakreg`` :class:`~drizzlekit.params.ParamSpec`):

1. ``input`` is expanded (file, wildcard, comma list, ``@file``, ASN table)
   and each file is read into memory (:func:`drizzlekit.io.fits_input.read_exposure`);
2. per chip, sources are found (:mod:`.find`, the ``imagefindpars``
   parameters) or read from the user catalogs of ``catfile``
   (:mod:`.catalogs`); ``exclusions`` (DS9 regions or FITS masks) and
   ``nbright`` trim them;
3. the reference is ``refcat`` (external RA/Dec catalog), else the sources of
   ``refimage``, else one of the inputs (the first, or the one with the
   largest overlap when ``enforce_user_order`` is off);
4. the engine :func:`drizzlekit.align.align_wcs` matches and fits every
   image (all chips of an exposure with one correction);
5. outputs: with ``updatehdr`` the corrected WCS is written into the SCI
   headers under ``wcsname``, the previous WCS kept as an alternate WCS
   (:func:`drizzlekit.io.wcs_update.updatehdr`, atomic); ``shiftfile`` writes
   ``outshifts`` and the reference WCS ``outwcs``; ``writecat`` the chip
   catalogs (``<rootname>_sci<N>_xy_catalog.coo`` in the current directory;
   removed again with ``clean``); ``expand_refcat`` the reference catalog as
   it grew after each aligned image (``cumulative_sky_refcat_<rootname>.coo``);
   ``headerlet`` a headerlet file per image (with ``attach`` also appended to
   the image as an ``HDRLET`` extension, atomically); ``runfile`` a log of the run.

Images the engine cannot align get a ``'FAILED: <reason>'`` status and keep
their WCS; nothing is written into their headers. Plots (``see2dplot``,
``residplot``) and prompts (``interactive``) belong to the notebook panels
and are not produced here.

Two drizzlekit additions may be passed as keywords: ``finder`` (``'dao'``,
the default, or ``'iraf'``) and ``cr_minwidth`` (cosmic-ray width limit in
pixels, see :mod:`.find`), unless the parameter specification declares them.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from astropy.table import Table

from ..exceptions import DrizzlekitError, InputError, InputFileError, ParameterError, \
    TooFewSourcesError
from ..io.logfile import run_log
from ..params import get_spec
from .catalogs import (Exclusion, apply_exclusion, load_exclusion, lookup_image, read_catfile,
                       read_exclusions_file, read_reference_catalog, read_xy_catalog,
                       select_sources)
from .find import FIND_DEFAULTS, FINDERS, find_chip_sources

__all__ = ["tweakreg", "TweakRegResult", "add_tweakreg_subcommand", "run_tweakreg_cli"]

log = logging.getLogger(__name__)

#: drizzlekit additions accepted by :func:`tweakreg` besides the parameter spec.
EXTRA_PARAMS = {"finder": "dao", "cr_minwidth": None}


# ============================================================================ result
@dataclass
class TweakRegResult:
    """Outcome of :func:`tweakreg`.

    Attributes
    ----------
    results : list of AlignResult
        One per input file, in input order (see
        :class:`drizzlekit.align.AlignResult`): ``status`` is ``'SUCCESS'``,
        ``'REFERENCE'`` or ``'FAILED: <reason>'``; ``wcs`` the corrected WCS
        (a list for multi-chip files).
    filenames : list of str
        The input files.
    catalogs : list of list of astropy.table.Table
        Per file and chip, the sources used (0-based ``x``, ``y``, ``flux``).
    reference : str
        What the images were aligned to (``refcat`` file, ``refimage`` file,
        or the name of the reference input).
    refwcs : astropy.wcs.WCS or None
        Undistorted frame of the reference (the shift file's frame).
    refcat : astropy.table.Table or None
        The reference catalog (``RA``, ``DEC``) when one was given or built
        from ``refimage``.
    written : dict
        Files written, by kind (``'headers'``, ``'shiftfile'``, ``'outwcs'``,
        ``'catalogs'``, ``'headerlets'``, ``'runfile'``).
    params : dict
        The validated parameters of the run.
    """

    results: list
    filenames: list
    catalogs: list
    reference: str
    refwcs: Any = None
    refcat: Table | None = None
    written: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, k):
        return self.results[k]

    def __iter__(self):
        return iter(self.results)

    @property
    def statuses(self) -> list[str]:
        return [r.status for r in self.results]

    @property
    def succeeded(self) -> bool:
        """True when no image FAILED."""
        return all(not s.startswith("FAILED") for s in self.statuses)

    def summary(self) -> str:
        """One line per image."""
        return "\n".join(r.summary() for r in self.results)


# ============================================================================ helpers
@dataclass
class _Image:
    filename: str
    name: str
    exposure: Any
    catalogs: list = field(default_factory=list)


def _split_params(params: dict) -> tuple[dict, dict]:
    spec = get_spec("tweakreg")
    extras = {}
    for k, default in EXTRA_PARAMS.items():
        if k not in spec:
            extras[k] = params.pop(k, default)
    p = spec.validate(params)
    for k in FIND_DEFAULTS:  # imagefindpars not (yet) in the spec: drizzlepac defaults
        p.setdefault(k, FIND_DEFAULTS[k])
    for k in EXTRA_PARAMS:
        if k in extras:
            p[k] = extras[k]
    if p.get("finder") not in FINDERS:
        raise ParameterError(f"parameter 'finder' must be one of {', '.join(FINDERS)}; "
                             f"got {p.get('finder')!r}")
    return p, extras


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in ("", "none", "indef"))


@contextmanager
def _verbose(on: bool) -> Iterator[None]:
    root = logging.getLogger("drizzlekit")
    old = root.level
    if on:
        root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.setLevel(old)


def _check_wcsnames(filenames: list[str], wcsname: str) -> None:
    from astropy.io import fits

    from ..io.wcs_update import wcs_names

    for f in filenames:
        with fits.open(f, memmap=False) as hdul:
            for h in hdul:
                if h.header.get("EXTNAME", "PRIMARY").strip().upper() not in ("SCI", "PRIMARY"):
                    continue
                names = {n.upper() for n in wcs_names(h.header).values()}
                if wcsname.strip().upper() in names:
                    raise ParameterError(
                        f"{f}: WCSNAME '{wcsname}' already exists; choose another wcsname or "
                        "set reusename=True")


def _chip_exclusions(img: _Image, mapping: dict | None) -> list[Exclusion | None]:
    chips = img.exposure.chips
    if mapping is None:
        return [None] * len(chips)
    items = lookup_image(mapping, img.filename)
    if items is None:
        return [None] * len(chips)
    if len(items) > len(chips):
        raise InputFileError(f"exclusions: {len(items)} entries for {img.filename}, which has "
                             f"{len(chips)} chip(s)")
    out = []
    for k, ch in enumerate(chips):
        item = items[k] if k < len(items) else None
        out.append(None if item is None else load_exclusion(item, ch.shape, ch.wcs))
    return out


def _find_params(p: dict) -> dict:
    keys = list(FIND_DEFAULTS) + ["finder", "cr_minwidth"]
    return {k: p[k] for k in keys if k in p}


def _build_catalogs(img: _Image, p: dict, catmap: dict | None,
                    exclusions: list[Exclusion | None]) -> list[Table]:
    chips = img.exposure.chips
    cats = []
    if catmap is not None:
        items = lookup_image(catmap, img.filename)
        if items is None:
            raise InputFileError(f"{p['catfile']}: no catalog listed for image {img.filename}")
        if len(items) > len(chips):
            raise InputFileError(f"{p['catfile']}: {len(items)} catalogs for {img.filename}, "
                                 f"which has {len(chips)} chip(s)")
        for k, ch in enumerate(chips):
            path = items[k] if k < len(items) else None
            if path is None:
                log.warning("%s: no catalog for chip %d", img.filename, k + 1)
                cat = Table({"x": np.empty(0), "y": np.empty(0)})
            else:
                cat = read_xy_catalog(path, ch.wcs, xcol=p["xcol"], ycol=p["ycol"],
                                      fluxcol=p["fluxcol"], xyunits=p["xyunits"],
                                      fluxunits=p["fluxunits"], minflux=p["minflux"],
                                      maxflux=p["maxflux"], nbright=None)
            cat = apply_exclusion(cat, exclusions[k], where=ch.name)
            cat = select_sources(cat, fluxunits=p["fluxunits"], nbright=p["nbright"],
                                 where=ch.name)
            cats.append(cat)
        return cats
    fp = _find_params(p)
    for k, ch in enumerate(chips):
        cat = find_chip_sources(ch, **fp)
        cat = apply_exclusion(cat, exclusions[k], where=ch.name)
        cat = select_sources(cat, fluxunits="counts", nbright=p["nbright"], where=ch.name)
        cats.append(cat)
    return cats


def _engine_catalog(cat: Table) -> Table:
    out = Table({"x": np.asarray(cat["x"], float), "y": np.asarray(cat["y"], float)})
    if "flux" in cat.colnames:
        out["flux"] = np.asarray(cat["flux"], float)
    return out


def _engine_item(img: _Image):
    pairs = [(_engine_catalog(c), ch.wcs) for c, ch in zip(img.catalogs, img.exposure.chips)]
    return pairs[0] if len(pairs) == 1 else pairs


def _sky_table(img: _Image) -> Table:
    from .tangent import pixel_to_sky

    ras, decs, fluxes = [], [], []
    for cat, ch in zip(img.catalogs, img.exposure.chips):
        ra, dec = pixel_to_sky(ch.wcs, np.asarray(cat["x"], float), np.asarray(cat["y"], float))
        ras.append(ra)
        decs.append(dec)
        fluxes.append(np.asarray(cat["flux"], float) if "flux" in cat.colnames
                      else np.full(len(cat), np.nan))
    return Table({"RA": np.concatenate(ras), "DEC": np.concatenate(decs),
                  "flux": np.concatenate(fluxes)}, meta={"catalog": img.filename})


def _ref_frame(exposure):
    from ..outwcs import make_output_wcs

    wcss = []
    for ch in exposure.chips:
        w = ch.wcs.deepcopy()
        w.idcscale = ch.idcscale  # nominal scale used by make_output_wcs
        wcss.append(w)
    shapes = [ch.shape for ch in exposure.chips]
    w, _ = make_output_wcs(wcss, shapes)
    return w


def _failed_result(img: _Image, p: dict, status: str):
    from .engine import AlignResult

    wcs = [ch.wcs.deepcopy() for ch in img.exposure.chips]
    n = [len(c) for c in img.catalogs] if img.catalogs else [0] * len(wcs)
    chip = np.concatenate([np.full(m, k, np.int64) for k, m in enumerate(n)]) if n else None
    row = np.concatenate([np.arange(m, dtype=np.int64) for m in n]) if n else None
    return AlignResult(name=img.name, status=status, wcs=wcs if len(wcs) > 1 else wcs[0],
                       fitgeometry=p["fitgeometry"], source_chip=chip, source_row=row)


def _reference_result(img: _Image, p: dict):
    res = _failed_result(img, p, "REFERENCE")
    res.method = "reference"
    res.rms = res.mae = res.rms_pixels = res.mae_pixels = 0.0
    return res


def _as_list(w):
    return list(w) if isinstance(w, (list, tuple)) else [w]


# ============================================================================ main entry
def tweakreg(input, **params: Any) -> TweakRegResult:
    """Align the WCSs of calibrated images (drizzlepac's TweakReg).

    Parameters
    ----------
    input : str, path or list
        Images: a file, wildcard, comma-separated list, ``@file`` or ASN
        table (see :func:`drizzlekit.io.inputs.expand_inputs`).
    **params
        Any ``tweakreg`` parameter (``drizzlekit.params.get_spec('tweakreg')``),
        e.g. ``searchrad=2.0``, ``fitgeometry='general'``, ``updatehdr=True``,
        ``wcsname='TWEAK'``, ``refcat='gaia.txt'``, ``catfile='cats.txt'``,
        ``exclusions='excl.txt'``, ``shiftfile=True``, ``threshold=5`` ... plus
        the drizzlekit additions ``finder`` and ``cr_minwidth``. Unknown
        names raise a :class:`~drizzlekit.exceptions.ParameterError` that
        suggests the closest valid one.

    Returns
    -------
    TweakRegResult
        Per-image :class:`~drizzlekit.align.AlignResult` (in input order),
        catalogs, the reference, and the files written.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or unreadable input, catalog, exclusion or reference file.
    drizzlekit.exceptions.ParameterError
        Unknown or invalid parameter; ``wcsname`` already in a file without
        ``reusename``.
    drizzlekit.exceptions.TooFewSourcesError
        When fewer than two images (or one image and a reference) have at
        least ``minobj`` sources, so nothing can be aligned.

    Examples
    --------
    >>> res = tweakreg("j8bt*_flt.fits", searchrad=1.0, updatehdr=True)  # doctest: +SKIP
    >>> res.statuses                                                       # doctest: +SKIP
    ['REFERENCE', 'SUCCESS', 'SUCCESS', 'SUCCESS']
    """
    params = dict(params)
    params.pop("input", None)
    p, _ = _split_params(params)
    p["input"] = input
    with _verbose(bool(p["verbose"])), \
            run_log(p["runfile"], task="tweakreg", file_level=logging.DEBUG) as runfile:
        res = _run(input, p)
        if runfile:
            res.written.setdefault("runfile", []).append(runfile)
    return res


def _run(input, p: dict) -> TweakRegResult:
    from ..io.fits_input import read_exposure
    from ..io.inplace import check_distinct, check_updatable
    from ..io.inputs import expand_inputs, rootname
    from .engine import align_wcs

    items = expand_inputs(input)
    filenames = [it.filename for it in items]
    log.info("tweakreg: %d input image(s): %s", len(filenames), ", ".join(filenames))
    check_distinct(filenames, "input")  # same file twice (name, symlink or hard link)
    if p["updatehdr"] or (p["headerlet"] and p["attach"]):
        check_updatable(filenames, "updatehdr" if p["updatehdr"] else "attach")
    if p["updatehdr"] and not p["reusename"]:
        _check_wcsnames(filenames, p["wcsname"])
    for key in ("interactive", "see2dplot"):
        if p.get(key):
            log.debug("tweakreg: '%s' is handled by the notebook panels; ignored here", key)

    if len(filenames) == 1 and _blank(p["refimage"]) and _blank(p["refcat"]):
        raise TooFewSourcesError(
            f"input: only one image ({filenames[0]}): TweakReg aligns images to each other, "
            "so give a second image, a reference image (refimage) or a reference catalog "
            "(refcat)")
    images = [_Image(f, os.path.basename(f), read_exposure(f)) for f in filenames]
    catmap = None if _blank(p["catfile"]) else read_catfile(p["catfile"])
    exclmap = None if _blank(p["exclusions"]) else read_exclusions_file(p["exclusions"])
    for img in images:
        img.catalogs = _build_catalogs(img, p, catmap, _chip_exclusions(img, exclmap))

    # ---- reference
    refimg_exp = None
    ref_in_inputs = None
    refcat = None
    reference = ""
    if not _blank(p["refimage"]):
        rpath = os.path.realpath(p["refimage"])
        for k, img in enumerate(images):
            if os.path.realpath(img.filename) == rpath:
                ref_in_inputs = k
        if ref_in_inputs is not None:
            refimg = images[ref_in_inputs]
        else:
            refimg = _Image(p["refimage"], os.path.basename(p["refimage"]),
                            read_exposure(p["refimage"]))
            refimg.catalogs = _build_catalogs(
                refimg, {**p, "catfile": ""}, None, _chip_exclusions(refimg, exclmap))
        refimg_exp = refimg.exposure
        refcat = _sky_table(refimg)
        reference = refimg.filename
    if not _blank(p["refcat"]):
        ref_wcs = refimg_exp.chips[0].wcs if refimg_exp is not None else None
        refcat = read_reference_catalog(
            p["refcat"], ref_wcs, refxcol=p["refxcol"], refycol=p["refycol"],
            rfluxcol=p["rfluxcol"], refxyunits=p["refxyunits"], rfluxunits=p["rfluxunits"],
            rminflux=p["rminflux"], rmaxflux=p["rmaxflux"], refnbright=p["refnbright"])
        reference = p["refcat"]
        if len(refcat) == 0:
            raise TooFewSourcesError(f"{p['refcat']}: the reference catalog has no source "
                                     "after the flux limits")
    elif refcat is not None and len(refcat) < p["minobj"]:
        raise TooFewSourcesError(f"{reference}: only {len(refcat)} source(s) found in the "
                                 f"reference image (minobj = {p['minobj']})")

    # ---- which images go to the engine
    results: list = [None] * len(images)
    todo = []
    for k, img in enumerate(images):
        if k == ref_in_inputs:
            results[k] = _reference_result(img, p)
            continue
        n = sum(len(c) for c in img.catalogs)
        if n < p["minobj"]:
            results[k] = _failed_result(img, p, f"FAILED: only {n} source(s) in the image "
                                                f"catalog(s) (minobj = {p['minobj']})")
            log.warning("tweakreg: %s", f"{img.filename}: {results[k].status}")
            continue
        todo.append(k)
    need = 1 if refcat is not None else 2
    if len(todo) < need:
        bad = [f"{images[k].filename} ({sum(len(c) for c in images[k].catalogs)} sources)"
               for k in range(len(images)) if k != ref_in_inputs]
        raise TooFewSourcesError(
            "input: too few images with at least minobj = "
            f"{p['minobj']} sources to align: " + ", ".join(bad)
            + ("" if refcat is not None else " (and no refimage/refcat given)"))

    sig = inspect.signature(align_wcs).parameters
    kw = {k: p[k] for k in sig if k in p and k not in ("images", "refcat", "names")}
    eng = align_wcs([_engine_item(images[k]) for k in todo], refcat=refcat,
                    names=[images[k].name for k in todo], **kw)
    for k, r in zip(todo, eng):
        results[k] = r
        if r.status == "REFERENCE":
            reference = images[k].filename
    for r in results:
        log.info("tweakreg: %s", r.summary())

    # ---- reference frame of the shift file
    if refimg_exp is not None:
        refwcs = _ref_frame(refimg_exp)
    else:
        kref = next((k for k, r in enumerate(results) if r.status == "REFERENCE"), todo[0])
        refwcs = _ref_frame(images[kref].exposure)

    out = TweakRegResult(results=results, filenames=filenames,
                         catalogs=[img.catalogs for img in images], reference=reference,
                         refwcs=refwcs, refcat=refcat, params=dict(p))
    _write_outputs(out, images, p, rootname)
    return out


def _headerlet_targets(images: list[_Image], p: dict, rootname,
                       ok: list[int]) -> list[tuple[int, str, str]]:
    """(image index, headerlet file, HDRNAME) of every headerlet to write."""
    targets = []
    for k in ok:
        root = rootname(images[k].filename)
        path = p["hdrfile"] if (not _blank(p["hdrfile"]) and len(ok) == 1) \
            else f"{root}_hlet.fits"
        targets.append((k, os.fspath(path), p["hdrname"] or f"{root}_{p['wcsname']}"))
    return targets


def _check_headerlets(targets: list[tuple[int, str, str]], images: list[_Image],
                      p: dict) -> None:
    """Refuse, before any input is touched, headerlets that could not be written."""
    from ..io import wcs_update as wu

    for k, path, hdrname in targets:
        if os.path.exists(path) and not p["clobber"]:
            raise InputFileError(f"{path}: headerlet file exists (set clobber=True to "
                                 "replace it); nothing was written")
        if p["attach"] and hdrname in wu.attached_headerlet_names(images[k].filename):
            raise InputFileError(f"{images[k].filename}: a headerlet named '{hdrname}' is "
                                 "already attached (choose another hdrname or wcsname); "
                                 "nothing was written")


def _fit_rms(r) -> dict:
    """RMS_RA, RMS_DEC (arcsec) and NMATCH of a result, for its headerlet."""
    used = np.asarray(r.residuals)[np.asarray(r.fitmask, bool)] if r.nused else None
    if used is None or used.size == 0:
        return {}
    rms = np.sqrt(np.mean(used ** 2, axis=0))
    return {"rms_ra": float(rms[0]), "rms_dec": float(rms[1]), "nmatch": int(r.nused)}


def _write_outputs(out: TweakRegResult, images: list[_Image], p: dict, rootname) -> None:
    from ..io import wcs_update as wu

    written = out.written
    ok = [k for k, r in enumerate(out.results) if r.status in ("SUCCESS", "REFERENCE")]
    # the reference image alone is never rewritten: with no image aligned there is
    # nothing to record (no new WCSNAME, no HISTORY, no headerlet)
    aligned = any(r.status == "SUCCESS" for r in out.results)
    upd = ok if aligned else []
    if not aligned and (p["updatehdr"] or p["headerlet"]):
        log.warning("tweakreg: no image was aligned; no header was updated and no headerlet "
                    "written")
    targets = _headerlet_targets(images, p, rootname, upd) if p["headerlet"] else []
    _check_headerlets(targets, images, p)  # before anything is written
    # catalogs
    catfiles = []
    if p["writecat"]:
        for img in images:
            root = rootname(img.filename)
            for cat, ch in zip(img.catalogs, img.exposure.chips):
                path = f"{root}_sci{ch.extver}_xy_catalog.coo"
                catfiles.append(wu.write_xy_catalog(path, cat, source=ch.name))
        written["catalogs"] = catfiles

    # header updates
    if p["updatehdr"]:
        failed = [images[k].filename for k, r in enumerate(out.results)
                  if r.status.startswith("FAILED")]
        if failed:
            log.warning("tweakreg: headers of %s not updated (alignment FAILED)",
                        ", ".join(failed))
        if upd:
            files = [images[k].filename for k in upd]
            wcss = [_as_list(out.results[k].wcs) for k in upd]
            hist = (f"drizzlekit tweakreg: WCS aligned to {out.reference or 'the reference'} "
                    f"({p['fitgeometry']})")
            wu.updatehdr(files, wcss, wcsname=p["wcsname"], reusename=p["reusename"],
                         history=hist)
            written["headers"] = files

    # shift file + reference WCS
    if p["shiftfile"]:
        rows = []
        for k in ok:
            r, img = out.results[k], images[k]
            old = [ch.wcs for ch in img.exposure.chips]
            if r.status == "REFERENCE":
                rows.append(wu.ShiftRow(img.name, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0))
            else:
                rows.append(wu.shift_row(img.name, old, _as_list(r.wcs), out.refwcs,
                                         residuals=r.residuals, fitmask=r.fitmask))
        if rows:
            wu.write_outwcs(p["outwcs"], out.refwcs)
            written["outwcs"] = [os.fspath(p["outwcs"])]
            path = wu.write_shiftfile(p["outshifts"], rows, refimage=os.fspath(p["outwcs"]))
            written["shiftfile"] = [path]

    # the reference catalog as it grew (expand_refcat), one file per aligned image
    if p["expand_refcat"]:
        cumulative = []
        for img, r in zip(images, out.results):
            if r.refcat_sky is not None:
                root = os.path.basename(rootname(img.filename))
                cumulative.append(wu.write_sky_catalog(
                    f"cumulative_sky_refcat_{root}.coo", *r.refcat_sky,
                    source=f"the reference catalog after adding {img.name}"))
        written["cumulative_refcat"] = cumulative

    # headerlets
    if targets:
        hlets = []
        for k, path, hdrname in targets:
            img, r = images[k], out.results[k]
            hlets.append(wu.write_headerlet(
                path, img.filename, _as_list(r.wcs), hdrname=hdrname, wcsname=p["wcsname"],
                author=p["author"], descrip=p["descrip"], catalog=p["catalog"],
                history=p["history"], clobber=p["clobber"], **_fit_rms(r)))
        written["headerlets"] = hlets
        if p["attach"]:
            for (k, _, _), path in zip(targets, hlets):
                wu.attach_headerlet(images[k].filename, path)
            written["attached"] = [images[k].filename for k, _, _ in targets]

    if p["clean"] and catfiles:
        for f in catfiles:
            try:
                os.remove(f)
            except OSError:
                pass
        written["catalogs"] = []


# ============================================================================ CLI
def add_tweakreg_subcommand(subparsers) -> argparse.ArgumentParser:
    """Add ``tweakreg`` to an ``argparse`` subparsers object.

    Flags come from the ``tweakreg`` parameter specification
    (``--searchrad 2``, ``--fitgeometry general``, ``--updatehdr`` ...);
    images are positional (``drizzlekit tweakreg j8bt*_flt.fits``) or
    ``--input``. ``--config FILE`` reads a drizzlekit TOML file or a
    drizzlepac ``.cfg`` file first; flags override it.
    """
    spec = get_spec("tweakreg")
    parser = subparsers.add_parser(
        "tweakreg", help="align the WCS of images (TweakReg)", description=spec.doc)
    parser.add_argument("files", nargs="*", metavar="INPUT",
                        help="images: files, wildcards, @file or ASN table")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="parameter file: drizzlekit TOML or drizzlepac .cfg")
    if "finder" not in spec:
        parser.add_argument("--finder", choices=FINDERS, default=argparse.SUPPRESS,
                            help="source finder: photutils DAOStarFinder or IRAFStarFinder "
                                 "(default: dao)")
    if "cr_minwidth" not in spec:
        parser.add_argument("--cr-minwidth", dest="cr_minwidth", type=float,
                            default=argparse.SUPPRESS, metavar="PIXELS",
                            help="reject detections narrower than this as cosmic rays "
                                 "(default: automatic from conv_width; 0 disables)")
    spec.add_arguments(parser)
    parser.set_defaults(func=run_tweakreg_cli)
    return parser


def run_tweakreg_cli(args: argparse.Namespace) -> int:
    """Run :func:`tweakreg` from parsed arguments; exit status 0 if nothing FAILED.

    Returns 1 when some image FAILED and 2 on an error (message logged).
    """
    spec = get_spec("tweakreg")
    values: dict[str, Any] = {}
    cfg = getattr(args, "config", None)
    try:
        if cfg:
            loader = spec.read_drizzlepac_cfg if str(cfg).lower().endswith(".cfg") else spec.load
            loaded = loader(cfg)
            defaults = spec.defaults()
            values.update({k: v for k, v in loaded.items() if v != defaults.get(k)})
        for k, v in vars(args).items():
            if k in EXTRA_PARAMS or (k in spec and k != "input"):
                if k in spec and spec[k].kind == "bool" and type(v) is int:
                    v = bool(v)  # e.g. a global -v/--verbose counter
                values[k] = v
        files = list(getattr(args, "files", []) or [])
        inp = files if files else getattr(args, "input", "")
        if not inp:
            raise InputError("input: no images given (positional INPUT or --input)")
        res = tweakreg(inp, **values)
    except DrizzlekitError as exc:
        sys.stderr.write(f"drizzlekit tweakreg: error: {exc}\n")
        return 2
    sys.stdout.write(res.summary() + "\n")
    if not values.get("updatehdr"):
        sys.stdout.write("headers not updated (run with --updatehdr to write the corrected "
                         "WCS into the images)\n")
    return 0 if res.succeeded else 1
