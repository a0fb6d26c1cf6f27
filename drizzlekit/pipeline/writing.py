"""Writing the products (atomically) and the announcements made around a run."""

from __future__ import annotations

import logging
import os

import numpy as np
from astropy.io import fits

from ..exceptions import InputError
from ..io.bits import dq_to_mask
from ..io.fits_input import Exposure
from ..io.output_checks import output_errors
from .outputs import check_output_paths, crclean_name, crmask_name
from .result import AstrodrizzleResult

log = logging.getLogger(__name__)


@output_errors  # disk full / permission lost while writing -> OutputFileError
def write_products(res: AstrodrizzleResult) -> list[str]:
    """Write the final product (and CR masks / cleaned images) atomically.

    Returns
    -------
    list of str
        The files written (also appended to ``res.files_written``).
    """
    from ..io.fits_output import write_crclean, write_crmask, write_drizzle_product
    from ..products import product_arguments

    if res.sci is None:
        raise InputError("write_products needs the final image: call run_final_drizzle "
                         "first")
    check_output_paths(res)
    p = res.params
    _announce_overwrites(res.output, bool(p["build"]))
    written = write_drizzle_product(**product_arguments(res))
    if res.cr_masks and not p["in_memory"]:
        for key, e, chip in res.chips():
            if key in res.cr_masks:
                written.append(write_crmask(crmask_name(res, e, chip), res.cr_masks[key],
                                            wcs=chip.wcs, source=res.names[e],
                                            extver=chip.extver, crbit=p["crbit"]))
    if res.cr_clean:
        for e, exp in enumerate(res.exposures):
            cleaned, dq = {}, {}
            for chip in exp.chips:
                key = (res.names[e], chip.extver)
                if key not in res.cr_clean:
                    continue
                cleaned[chip.extver] = res.cr_clean[key]
                good = ~res.cr_masks[key]
                if chip.dq is not None:
                    good &= dq_to_mask(chip.dq, p["crbit"], "crbit")
                dq[chip.extver] = np.where(good, 0, p["crbit"]).astype(np.int32)
            if cleaned:
                src = res.names[e]
                if src.startswith("<in-memory"):
                    src = _memory_hdulist(exp)
                written.append(write_crclean(crclean_name(res, e), src, cleaned, dq))
    res.files_written.extend(written)
    return written


def announce_compiling(p: dict) -> None:
    """Say so when this run will compile numba kernels first (an empty cache)."""
    from ..warmup import cold

    try:
        pending = cold([p["driz_sep_kernel"], p["final_kernel"], "blot", "stats", "driz_cr"])
    except Exception as exc:  # the check is a courtesy; it must never stop a run
        log.debug("could not tell whether kernels are compiled: %s", exc)
        return
    if pending:
        log.info("compiling kernels (first run only): %s; 'drizzlekit warmup' does this "
                 "ahead of time", ", ".join(dict.fromkeys(pending)))


def _announce_overwrites(output: str, build: bool) -> None:
    from ..io.fits_output import product_filenames

    for name in dict.fromkeys(product_filenames(output, build).values()):
        if os.path.exists(name):
            log.warning("overwriting the existing product %s", name)


def _memory_hdulist(exp: Exposure) -> fits.HDUList:
    hdus = [fits.PrimaryHDU(header=exp.primary_header)]
    for chip in exp.chips:
        hdus.append(fits.ImageHDU(chip.sci, header=chip.header))
        if chip.dq is not None:
            hdus.append(fits.ImageHDU(chip.dq, name="DQ", ver=chip.extver))
    return fits.HDUList(hdus)
