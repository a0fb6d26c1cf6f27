"""Steps 2-6 and 8: static masks, sky, single drizzles, median, blot, final drizzle."""

from __future__ import annotations

import logging
import math
import os

import numpy as np

from ..exceptions import InputFileError, NoOverlapError
from ..io.bits import combine_masks
from ..scratch import release_pages
from .chips import (ChipInputs, chip_pixmap, chip_signature, chip_wcs, dq_mask,
                    drizzle_input, final_err_arguments, final_needs_err, read_ivm,
                    require_intermediate, spill, static_mask_of, with_progress)
from .outputs import exposure_root
from .result import AstrodrizzleResult

log = logging.getLogger(__name__)


def run_static_mask(res: AstrodrizzleResult) -> dict:
    """Step 2: one static mask per chip signature (spec §4).

    Returns
    -------
    dict
        ``(extver, (ny, nx))`` -> bool array, ``True`` = good
        (also stored in ``res.static_masks``).
    """
    from ..steps.static_mask import add_to_static_mask

    p = res.params
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from ..distributed import static_masks_on_client

        res.static_masks = static_masks_on_client(res)
    else:  # one chip at a time (static_sig > 0 checked by the parameter spec)
        res.static_masks, seen = {}, {}
        for _, _, chip in res.chips():
            sig = chip_signature(chip)
            good = res.static_masks.setdefault(sig, np.ones(chip.shape, dtype=bool))
            add_to_static_mask(good, chip.sci, p["static_sig"], compat=p["stats_compat"],
                               index=seen.get(sig, 0))
            seen[sig] = seen.get(sig, 0) + 1
    for sig, m in res.static_masks.items():
        log.info("static mask of chip %d %s: %d pixels flagged", sig[0], sig[1],
                 int((~m).sum()))
    return res.static_masks


def _read_sky_table(path: str, res: AstrodrizzleResult, what: str) -> tuple[dict, bool]:
    """``{(name, extver): value}`` from a sky file; and whether 'applied = yes'."""
    if not os.path.isfile(path):
        raise InputFileError(f"{path}: {what} not found")
    applied = False
    values: dict = {}
    bynames = {}
    for e, name in enumerate(res.names):
        bynames[name] = e
        bynames[os.path.basename(name)] = e
        bynames[exposure_root(name, res.exposures[e], e)] = e
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if text.startswith("#"):
                body = text[1:].replace(" ", "").lower()
                if body.startswith("applied="):
                    applied = body.split("=", 1)[1] in ("yes", "true", "y")
                continue
            if not text:
                continue
            cols = text.split()
            fname = cols[0].split("[")[0]
            e = bynames.get(fname, bynames.get(os.path.basename(fname)))
            if e is None:
                log.warning("%s:%d: %s is not an input; ignored", path, lineno, fname)
                continue
            try:
                vals = [float(v) for v in cols[1:]]
            except ValueError:
                raise InputFileError(f"{path}:{lineno}: sky values must be numbers") from None
            chips = res.exposures[e].chips
            if len(vals) == 1:
                vals = vals * len(chips)
            if len(vals) != len(chips):
                raise InputFileError(f"{path}:{lineno}: {len(vals)} sky values for "
                                     f"{len(chips)} chips of {fname}")
            for chip, v in zip(chips, vals):
                values[(res.names[e], chip.extver)] = v
    return values, applied


def run_sky(res: AstrodrizzleResult) -> dict:
    """Step 3: the sky of every chip (spec §5; ``skysub``, ``skyfile``, ``skyuser``).

    Returns
    -------
    dict
        ``(name, extver)`` -> sky in data units (``res.sky``); the values
        subtracted on the fly are in ``res.computed_sky`` (None = none).
    """
    p = res.params
    keys = [k for k, _, _ in res.chips()]
    if not p["skysub"]:
        res.computed_sky = {k: None for k in keys}
        user = str(p["skyuser"] or "").strip()
        if user.startswith("@"):
            vals, _ = _read_sky_table(user[1:], res, "skyuser file")
            res.sky = {k: float(vals.get(k, 0.0)) for k in keys}
        elif user:
            res.sky = {}
            for k, e, chip in res.chips():
                v = chip.header.get(user, res.exposures[e].primary_header.get(user))
                if v is None:
                    raise InputFileError(f"{res.names[e]}[SCI,{chip.extver}]: skyuser "
                                         f"keyword {user} not found")
                res.sky[k] = float(v)
        else:
            res.sky = {k: float(chip.mdrizsky or 0.0) for k, _, chip in res.chips()}
        return res.sky
    if p["skyfile"]:
        vals, applied = _read_sky_table(p["skyfile"], res, "skyfile")
        for k in keys:
            if k not in vals:
                log.warning("skyfile %s has no value for %s[%d]; sky = 0", p["skyfile"],
                            *k)
        res.sky = {k: float(vals.get(k, 0.0)) for k in keys}
        res.computed_sky = {k: (None if applied else res.sky[k]) for k in keys}
        return res.sky
    if getattr(res.scaling, "client", None) is not None:  # Dask: pixel work per chip
        from ..distributed import sky_on_client

        res.sky = sky_on_client(res)
        res.computed_sky = dict(res.sky)
        for k, v in res.sky.items():
            log.info("sky %s[SCI,%d] = %.4f", k[0], k[1], v)
        return res.sky
    res.sky = {k: float(v) for k, v in zip(keys, _sky_chip_by_chip(res))}
    res.computed_sky = dict(res.sky)
    for k, v in res.sky.items():
        log.info("sky %s[SCI,%d] = %.4f", k[0], k[1], v)
    return res.sky


def _sky_chip_by_chip(res: AstrodrizzleResult) -> np.ndarray:
    """``compute_sky`` with the pixel work done one chip at a time (chips read lazily
    with ``in_memory=False`` are then held one at a time); the same numbers."""
    from ..steps.sky import NO_PIXELS, SkyInput, StatisticsOnDemand, chip_sky_terms, \
        compute_sky, sky_statistic

    p = res.params
    method = p["skymethod"]
    kw = dict(skystat=p["skystat"], lower=p["skylower"], upper=p["skyupper"],
              nclip=p["skyclip"], lsigma=p["skylsigma"], usigma=p["skyusigma"],
              binwidth=p["skywidth"], compat=p["stats_compat"])
    every = list(res.chips())

    def chip_input(k: int, pixels: bool = True):
        _, e, chip = every[k]
        mask = combine_masks(dq_mask(chip, p["sky_bits"], "sky_bits"),
                             static_mask_of(res, chip) if p["use_static"] else None) \
            if pixels else None
        return SkyInput(data=chip.sci if pixels else NO_PIXELS, exposure=e, mask=mask,
                        wcs=chip_wcs(res, chip), exptime=chip.exptime,
                        in_units=chip.in_units, idcscale=chip.idcscale)

    groups = [[(chip_wcs(res, c), c.shape) for c in exp.chips] for exp in res.exposures] \
        if "match" in method else None
    terms = [chip_sky_terms(chip_input(k), method, groups, every[k][1],
                            overlap_step=p["sky_overlap_step"], **kw)
             for k in range(len(every))]
    stats = [t[0] for t in terms]
    if method == "match":  # the statistics only if the match falls back
        stats = StatisticsOnDemand(len(every), lambda: [sky_statistic(chip_input(k), **kw)
                                                        for k in range(len(every))])
    return compute_sky([chip_input(k, pixels=False) for k in range(len(every))],
                       skymethod=method, statistics=stats,
                       overlaps=[t[1] for t in terms] if "match" in method else None,
                       overlap_step=p["sky_overlap_step"], **kw)


def run_drizzle_separate(res: AstrodrizzleResult) -> dict:
    """Step 4: drizzle every exposure onto ``single_wcs`` (spec §6).

    Returns
    -------
    dict
        ``name`` -> single-drizzled SCI (e-/s); the weights are in
        ``res.single_wht``.
    """
    # every exposure on its own footprint (memory grows with the inputs, issue 12);
    # res.single_sci/single_wht are full-frame views built on access
    from ..mosaic import run_drizzle_separate as _on_footprints

    return _on_footprints(res)


def _check_overlap(res: AstrodrizzleResult) -> None:
    """Every exposure must share pixels with another one for CR rejection."""
    from ..mosaic import lonely_exposures

    alone = lonely_exposures(res)  # one coverage count over the footprints
    if alone:
        raise NoOverlapError(
            "no overlap between exposures: " + ", ".join(alone) + " share(s) no pixel "
            "with any other input, so cosmic rays cannot be rejected; set median=False, "
            "blot=False, driz_cr=False to drizzle a mosaic without rejection")


def run_final_drizzle(res: AstrodrizzleResult) -> np.ndarray:
    """Step 8: drizzle all chips onto ``output_wcs`` (spec §10).

    Returns
    -------
    numpy.ndarray
        ``res.sci`` (in ``res.bunit``); ``res.wht`` and ``res.ctx`` are set too.
    """
    from ..io.fits_output import ChipRecord
    from ..steps.drizzle_steps import drizzle_chips, final_units, output_pscale

    p = res.params
    err_kw = final_err_arguments(res)
    every = list(res.chips())
    order = [(e, chip) for _, e, chip in every]
    client = getattr(res.scaling, "client", None)

    def chip_input(k: int):  # built when drizzled: one chip's pixels held at a time
        key, e, chip = every[k]
        cr = res.cr_masks.get(key)
        mask = combine_masks(dq_mask(chip, p["final_bits"], "final_bits"),
                             static_mask_of(res, chip), None if cr is None else ~cr)
        release_pages(cr)
        ivm = read_ivm(res, e, chip) if p["final_wht_type"] == "IVM" else None
        return drizzle_input(res, key, e, chip, mask, ivm, err=with_err)

    with_err = final_needs_err(res)
    chips = ChipInputs(len(every), chip_input)
    drizzle = drizzle_chips
    if client is not None:  # Dask: one task per output tile
        from ..distributed import final_drizzle_on_client

        chips = []  # the workers read pixels and masks themselves
        drizzle = final_drizzle_on_client(res)  # the same signature
    prod = drizzle(chips, res.output_wcs, res.output_shape, kernel=p["final_kernel"],
                   pixfrac=p["final_pixfrac"], fillval=p["final_fillval"],
                   initial=p["final_maskval"], wht_type=p["final_wht_type"],
                   wt_scl=p["final_wt_scl"], wt_scl_name="final_wt_scl",
                   context=p["context"], nctx=len(chips),
                   pixmap_cache=lambda k, c: chip_pixmap(res, order[k][0], order[k][1],
                                                         res.output_wcs),
                   progress=res.progress, desc="final drizzle", **err_kw)
    # drizzlepac converts to native units with the gain of the last chip drizzled
    # (WFPC2: chips differ by up to 0.3 %); measured against it in tests/test_formats_peer.py
    first = res.exposures[-1].chips[-1]
    res.sci, res.bunit = final_units(prod.sci, bunit=first.bunit,
                                     native_units=first.native_units, gain=first.gain,
                                     texptime=res.texptime, final_units=p["final_units"],
                                     proc_unit=p["proc_unit"])
    res.wht = prod.wht
    res.ctx = prod.ctx
    if err_kw:
        from ..steps.variance import err_in_sci_units

        res.err = err_in_sci_units(prod.var, bunit=first.bunit,
                                   native_units=first.native_units, gain=first.gain,
                                   texptime=res.texptime, final_units=p["final_units"],
                                   proc_unit=p["proc_unit"])
    scale = output_pscale(res.output_wcs)
    res.records = [
        ChipRecord(data=f"{os.path.basename(res.names[e])}[sci,{chip.extver}]",
                   exptime=chip.exptime, wt_scl=prod.wt_scl[k], kernel=p["final_kernel"],
                   pixfrac=p["final_pixfrac"],
                   coeffs="SIP" if (p["coeffs"] and chip.wcs.sip is not None) else "none",
                   units=p["final_units"], fillval=p["final_fillval"], scale=scale,
                   idcscale=chip.idcscale)
        for k, (e, chip) in enumerate(order)]
    n_empty = int(np.count_nonzero(res.wht == 0))
    log.info("final drizzle: %s (ny, nx), %d pixels without weight, BUNIT %s",
             res.sci.shape, n_empty, res.bunit)
    return res.sci


def run_median(res: AstrodrizzleResult) -> np.ndarray | None:
    """Step 5: combine the single-drizzled images (spec §7).

    Returns
    -------
    numpy.ndarray or None
        ``res.median`` (e-/s); None when ``nlow + nhigh`` reject every image
        (then blot and driz_cr are skipped, as in drizzlepac).
    """
    require_intermediate(res, "singles", "median", "run_drizzle_separate")
    p = res.params
    names = [n for n in res.names if n in res.single_sci]
    n = len(names)
    if p["combine_type"] not in ("sum", "minmed", "iminmed") and \
            n - p["combine_nlow"] - p["combine_nhigh"] < 1:
        log.warning("median: combine_nlow + combine_nhigh reject all %d images; median, "
                    "blot and driz_cr skipped", n)
        res.median = None
        return None
    if n > 1:
        _check_overlap(res)
    exptimes, rn, bg = [], [], []
    for name in names:
        exp = res.exposures[res.names.index(name)]
        exptimes.append(exp.exptime)
        rn.append(math.sqrt(float(np.mean([c.rdnoise ** 2 for c in exp.chips]))))
        bg.append(min(res.sky.get((name, c.extver), 0.0) * c.conversion_factor
                      for c in exp.chips))
    from ..mosaic import run_median as _median_in_bands

    res.median = _median_in_bands(
        res, names, combine_type=p["combine_type"], nlow=p["combine_nlow"],
        nhigh=p["combine_nhigh"],
        lthresh=p["combine_lthresh"], hthresh=p["combine_hthresh"],
        nsigma=p["combine_nsigma"], grow=p["combine_grow"], maskpt=p["combine_maskpt"],
        newmasks=p["median_newmasks"], exptimes=exptimes, readnoise=rn, backgrounds=bg,
        compat=p["combine_compat"])
    return res.median


def run_blot(res: AstrodrizzleResult) -> dict:
    """Step 6: blot the median onto every chip (spec §8).

    Returns
    -------
    dict
        ``(name, extver)`` -> blotted image, native units (``res.blots``).
    """
    from ..steps.blot_step import blot_chip

    require_intermediate(res, "median", "blot", "run_median")
    p = res.params
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from ..distributed import blot_on_client

        res.blots = blot_on_client(res)
        return res.blots
    res.blots = {}
    for key, e, chip in with_progress(res, list(res.chips()), "blot"):
        if p["blot_addsky"]:
            sky = res.computed_sky.get(key)
        else:
            sky = p["blot_skyval"]
        blot = blot_chip(
            res.median, res.single_wcs, None, chip.shape, exptime=chip.exptime,
            pscale=chip.idcscale, conversion_factor=chip.conversion_factor, sky=sky,
            interp=p["blot_interp"], sinscl=p["blot_sinscl"],
            pixmap=chip_pixmap(res, e, chip, res.single_wcs))
        res.blots[key] = spill(res, blot, f"blot{len(res.blots)}")  # in_memory=False: disk
        release_pages(res.median)
    return res.blots
