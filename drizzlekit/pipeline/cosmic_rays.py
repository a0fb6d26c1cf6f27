"""Step 7 (cosmic rays against the blotted median) and L.A.Cosmic on a lone exposure."""

from __future__ import annotations

import logging

import numpy as np

from ..exceptions import InputError
from ..io.bits import dq_to_mask
from ..io.fits_input import Chip
from ..scratch import release_pages
from .chips import require_intermediate, spill, with_progress
from .result import AstrodrizzleResult, ChipKey

log = logging.getLogger(__name__)


def run_driz_cr(res: AstrodrizzleResult) -> dict:
    """Step 7: flag cosmic rays against the blotted median (spec §9).

    Returns
    -------
    dict
        ``(name, extver)`` -> bool array, ``True`` = cosmic ray (``res.cr_masks``).
        With ``driz_cr_corr`` the cleaned chips are in ``res.cr_clean``.
    """
    from ..steps.cr_checks import resolve_snr, warn_mixed_filters

    require_intermediate(res, "blots", "driz_cr", "run_blot")
    p = res.params
    res.cr_masks, res.cr_clean = {}, {}
    warn_mixed_filters([e.primary_header for e in res.exposures], res.names)
    snr = resolve_snr(p["driz_cr_noise_model"], p["driz_cr_snr"])
    for key, e, chip in res.chips():
        if key not in res.blots:
            raise InputError(f"step 'driz_cr': no blot for {key}; call run_blot first")
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from ..distributed import driz_cr_on_client

        flagged = driz_cr_on_client(res, snr)
    else:
        flagged = ((key, _flag(res, key, chip, snr))
                   for key, e, chip in with_progress(res, list(res.chips()), "driz_cr"))
    for k, (key, (mask, clean)) in enumerate(flagged):
        log.info("driz_cr %s[SCI,%d]: %d pixels flagged", key[0], key[1], int(mask.sum()))
        res.cr_masks[key] = spill(res, mask, f"crmask{k}")  # in_memory=False: on disk
        if clean is not None:
            res.cr_clean[key] = spill(res, clean, f"crclean{k}")
    return res.cr_masks


def _flag(res: AstrodrizzleResult, key: ChipKey, chip: Chip, snr):
    """``(mask, clean)`` of one chip; a blot kept on disk then leaves resident memory."""
    from ..steps.driz_cr import flag_chip

    out = flag_chip(chip.sci, chip.dq, res.blots[key], **cr_arguments(res, key, chip, snr))
    release_pages(res.blots[key])
    return out


def cr_arguments(res: AstrodrizzleResult, key: ChipKey, chip: Chip, snr) -> dict:
    """:func:`drizzlekit.steps.driz_cr.flag_chip` keywords of one chip (all but pixels);
    ``snr`` from :func:`drizzlekit.steps.cr_checks.resolve_snr`."""
    p = res.params
    cf = chip.conversion_factor
    # does the blot contain the sky? (then it is not added to the noise again)
    if not p["blot_addsky"]:
        in_model = False
    elif res.computed_sky.get(key) is not None:
        in_model = True  # subtracted on the fly, added back by the blot
    else:  # nothing subtracted: the data (and median) still hold the sky, unless
        in_model = not p["skysub"] and not str(p["skyuser"] or "").strip()
    return dict(name=f"{key[0]}[SCI,{key[1]}]", cf=cf, sep_bits=p["driz_sep_bits"],
                corr=bool(p["driz_cr_corr"]), crbit=p["crbit"], snr=snr,
                scale=p["driz_cr_scale"], grow=p["driz_cr_grow"], ctegrow=p["driz_cr_ctegrow"],
                cte_dir=chip.cte_dir, gain=chip.eff_gain, rdnoise=chip.rdnoise,
                background=res.sky.get(key, 0.0) * cf, sky_in_model=in_model,
                noise_model=p["driz_cr_noise_model"])


def run_single_cr(res: AstrodrizzleResult) -> dict:
    """Cosmic rays of a lone exposure by L.A.Cosmic (``driz_cr_single='lacosmic'``).

    A run with one exposure has no median to compare with, so step 7 flags
    nothing (as in drizzlepac). This searches each chip on its own
    (:func:`drizzlekit.steps.single_cr.lacosmic_mask`); the masks go to
    ``res.cr_masks`` and are applied by the final drizzle.

    Returns
    -------
    dict
        ``(name, extver)`` -> bool array, ``True`` = cosmic ray.
    """
    from ..steps.cr_checks import warn_cr_fraction
    from ..steps.single_cr import lacosmic_mask

    p = res.params
    res.cr_masks = {}
    for key, e, chip in with_progress(res, list(res.chips()), "single-exposure CRs"):
        cf = chip.conversion_factor
        bad = None
        if chip.dq is not None:
            bad = ~dq_to_mask(chip.dq, p["final_bits"], "final_bits")
        mask = lacosmic_mask(chip.sci.astype(np.float64) * cf, rdnoise=chip.rdnoise, bad=bad)
        res.cr_masks[key] = mask
        log.info("L.A.Cosmic %s[SCI,%d]: %d pixels flagged", key[0], key[1], int(mask.sum()))
        warn_cr_fraction(f"{key[0]}[SCI,{key[1]}]", mask)
    return res.cr_masks


def wants_single_cr(res: AstrodrizzleResult) -> bool:
    return res.params.get("driz_cr_single", "off") != "off" and len(res.exposures) == 1
