"""Drizzle separate, overlap check and median with memory that grows with the inputs.

The pipeline's steps 4 and 5 (:func:`drizzlekit.pipeline.run_drizzle_separate`,
:func:`drizzlekit.pipeline.run_median`) call into this module:

* every exposure is drizzled onto its footprint (:mod:`drizzlekit.footprint`),
  kept in memory or, with ``in_memory=False``, in memory-mapped files
  (:mod:`drizzlekit.scratch`);
* the overlap check is one coverage count;
* the median is computed in row bands whose buffers take at most a quarter
  of the ``memory_limit`` parameter (:mod:`drizzlekit.memory`,
  :mod:`drizzlekit.tiles`), from the exposures that cover each band.

With a Dask client (:mod:`drizzlekit.distributed`) the single drizzles (one
task per batch of exposures) and median bands (at least two per worker) run as
tasks on the workers.

Peak memory of these steps: the footprints (about 8 bytes per output pixel
an exposure covers) + one full frame for the median (4 bytes per pixel) +
the median band buffers (``ScaleOptions.max_memory``); none of it is ``N x frame``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .footprint import (Footprint, SingleFrames, as_footprints, drop_margin, footprint_box,
                        lonely_footprints)
from .io.bits import combine_masks
from .scratch import Scratch

__all__ = ["ScaleOptions", "options", "start_scaling", "scratch_bytes", "drizzle_single",
           "run_drizzle_separate", "lonely_exposures", "run_median"]

log = logging.getLogger(__name__)


@dataclass
class ScaleOptions:
    """How a run keeps its intermediates and where it computes.

    Attributes
    ----------
    max_memory : int or None
        Bound (bytes) on the median's band buffers: a quarter of the run's
        ``memory_limit`` parameter (:func:`drizzlekit.memory.median_buffer_bytes`);
        None = :data:`drizzlekit.tiles.MAX_MEMORY`, 256 MiB.
    scratch : Scratch
        In memory, or memory-mapped files in a temporary directory.
    client : dask.distributed.Client or None
        Run per-chip and per-tile work on the client's workers.
    tile : int
        Side of the final-drizzle output tiles of a distributed run, pixels.
    packed : dict
        A distributed run's WCSs packed for the workers, made once per run.
    pending : dict
        A distributed run's futures kept between steps (the CR flagging that
        step 6 starts on the workers, collected by step 7).
    """

    max_memory: int | None = None
    scratch: Scratch = field(default_factory=lambda: Scratch(False))
    client: Any = None
    tile: int = 1024
    packed: dict = field(default_factory=dict, repr=False)
    pending: dict = field(default_factory=dict, repr=False)


def options(res) -> ScaleOptions:
    """The run's :class:`ScaleOptions` (defaults when none were set)."""
    opt = getattr(res, "scaling", None)
    if opt is None:
        from .memory import median_buffer_bytes

        opt = ScaleOptions(max_memory=median_buffer_bytes(
            getattr(res, "params", {}).get("memory_limit")))
        try:
            res.scaling = opt
        except AttributeError:  # pragma: no cover
            pass
    return opt


# -- one exposure ---------------------------------------------------------------------
def drizzle_single(chips: Sequence, pixmaps: Sequence[np.ndarray], frame_wcs,
                   frame_shape: tuple[int, int], *, kernel: str, pixfrac: float,
                   fillval, wt_scl, scratch: Scratch | None = None,
                   tag: str = "single") -> Footprint:
    """Drizzle one exposure's chips onto its footprint (``drizzle_chips`` numbers).

    Parameters
    ----------
    chips : sequence of DrizzleInput
        The exposure's chips (masks already combined).
    pixmaps : sequence of (ny, nx, 2) arrays
        Their pixel maps onto the full frame.
    frame_wcs : astropy.wcs.WCS
        The full frame (``single_wcs``; only its pixel scale is used).
    frame_shape : (ny, nx)
    kernel, pixfrac, fillval, wt_scl
        ``driz_sep_kernel``, ``driz_sep_pixfrac``, ``driz_sep_fillval``,
        ``driz_sep_wt_scl``.
    scratch : Scratch, optional
        Where the footprint's arrays live (default: memory).

    Returns
    -------
    Footprint
    """
    from .kernels import get_kernel
    from .resample import _fill_value
    from .steps.drizzle_steps import _chip_pscale, output_pscale
    from .tiles import drizzle_virtual

    kern = get_kernel(kernel)
    if not kern.conserves_flux:
        log.warning("kernel '%s' does not conserve flux", kernel)
    if not pixfrac > 0:
        from .exceptions import ParameterError

        raise ParameterError(f"pixfrac must be > 0, got {pixfrac}")
    out_ps = output_pscale(frame_wcs)
    margins = []
    for chip in chips:
        try:
            s = out_ps / _chip_pscale(chip)
        except Exception:  # invalid scalars: drizzle_virtual raises the proper error
            s = float("nan")
        margins.append(drop_margin(kernel, pixfrac, s))
    y0, y1, x0, x1 = footprint_box(pixmaps, margins, frame_shape)
    fill = _fill_value(fillval)
    fill = 0.0 if fill is None else float(fill)
    if y1 <= y0:  # nothing lands: a 1 x 1 box (still validated and warned about below)
        y0, y1, x0, x1 = 0, min(1, frame_shape[0]), 0, min(1, frame_shape[1])
    box = (y0, y1, x0, x1)
    sci, wht, _, _, misses, _ = drizzle_virtual(
        box, ((k, c, pm) for k, (c, pm) in enumerate(zip(chips, pixmaps))), frame_shape,
        out_ps, [box], nctx=len(chips), kernel=kernel, pixfrac=pixfrac, fillval=fillval,
        initial=0.0, wht_type=None, wt_scl=wt_scl, wt_scl_name="driz_sep_wt_scl",
        context=False)
    for chip, nmiss in zip(chips, misses):
        if nmiss == np.asarray(chip.data).size:
            log.warning("%s: no pixel lands on the output frame", chip.name)
    if scratch is not None:
        sci, wht = scratch.keep(sci, tag + "_sci"), scratch.keep(wht, tag + "_wht")
    return Footprint(y0, x0, sci, wht, fill)


def _exposure_inputs(res, e: int):
    """DrizzleInputs of exposure ``e`` for the single drizzle (masks combined)."""
    from . import pipeline as pl

    p = res.params
    exp = res.exposures[e]
    chips, raw = [], []
    for chip in exp.chips:
        key = (res.names[e], chip.extver)
        mask = combine_masks(pl.dq_mask(chip, p["driz_sep_bits"], "driz_sep_bits"),
                       pl.static_mask_of(res, chip))
        chips.append(pl.drizzle_input(res, key, e, chip, mask, err=False))  # no ERR weights
        raw.append(chip)
    return chips, raw


def run_drizzle_separate(res) -> dict:
    """Step 4 on footprints; sets ``res.single_sci`` / ``res.single_wht`` views."""
    from . import pipeline as pl

    p = res.params
    opt = options(res)
    shape = res.single_shape
    kw = dict(kernel=p["driz_sep_kernel"], pixfrac=p["driz_sep_pixfrac"],
              fillval=p["driz_sep_fillval"], wt_scl=p["driz_sep_wt_scl"])
    if opt.client is not None:
        from .distributed import drizzle_separate_tasks

        fps = drizzle_separate_tasks(res, opt, kw)
    else:
        fps = {}
        for e, _ in enumerate(pl.with_progress(res, res.exposures, "drizzle separate")):
            chips, raw = _exposure_inputs(res, e)
            pms = [pl.chip_pixmap(res, e, c, res.single_wcs) for c in raw]
            fps[res.names[e]] = drizzle_single(chips, pms, res.single_wcs, shape,
                                               scratch=opt.scratch, tag=f"single{e}", **kw)
            del pms
    total = sum(fp.nbytes for fp in fps.values())
    log.info("drizzle separate: %d footprint(s), %.1f MB (full frames would be %.1f MB)",
             len(fps), total / 2 ** 20, len(fps) * 8 * shape[0] * shape[1] / 2 ** 20)
    res.single_sci = SingleFrames(fps, "sci", shape)
    res.single_wht = SingleFrames(fps, "wht", shape)
    return res.single_sci


def lonely_exposures(res) -> list:
    """Names of exposures sharing no covered pixel with another one (coverage count)."""
    fps = as_footprints(res.single_sci, res.single_wht, list(res.single_wht))
    return lonely_footprints(fps, res.single_shape)


def run_median(res, names: Sequence[str], **combine) -> np.ndarray:
    """The median of ``names``'s single drizzles, in row bands (``combine_median`` numbers).

    Parameters
    ----------
    res : AstrodrizzleResult
    names : sequence of str
        Exposures to combine, in order.
    **combine
        ``combine_median`` keywords.
    """
    opt = options(res)
    fill = 0.0
    from .resample import _fill_value

    fv = _fill_value(res.params.get("driz_sep_fillval"))
    if fv is not None:
        fill = float(fv)
    fps = as_footprints(res.single_sci, res.single_wht, names, fill)
    frame = res.single_shape
    order = [fps[n] for n in names]
    out = opt.scratch.empty(frame, np.float32, "median")
    band_map, min_bands = None, 1
    if opt.client is not None:  # at least two bands per worker
        from .distributed import band_mapper

        kept = opt.pending.get("singles") or {}  # still on the workers (step 4)
        remote = [kept[n] if n in kept and kept[n][0] is fps[n] else None for n in names]
        band_map = band_mapper(opt.client, remote)
        try:
            min_bands = 2 * len(opt.client.scheduler_info()["workers"])
        except Exception:  # pragma: no cover - a client without scheduler info
            min_bands = 2
    from .tiles import median_bands

    try:
        return median_bands(order, frame, max_memory=opt.max_memory, out=out,
                            band_map=band_map, min_bands=min_bands, **combine)
    finally:
        if opt.client is not None:  # the workers' copies of the single drizzles go
            from .distributed.chips import release_singles

            release_singles(opt)


def start_scaling(res, client=None, max_memory: int | None = None,
                  scratch_dir=None) -> Scratch:
    """Set ``res.scaling`` for a run; returns the Scratch to close when it ends.

    ``in_memory=False`` (drizzlepac's default) keeps the single drizzles and
    the median in memory-mapped files under ``scratch_dir`` (default: the
    product's directory). ``max_memory`` (bytes) bounds the median's band
    buffers; None (what :func:`drizzlekit.astrodrizzle` passes): a quarter of
    the ``memory_limit`` parameter (:mod:`drizzlekit.memory`).
    """
    import os

    from .exceptions import ParameterError

    if max_memory is not None:
        try:
            ok = int(max_memory) == max_memory and max_memory > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(f"max_memory must be a positive number of bytes, "
                                 f"got {max_memory!r}")
    if client is not None and not (hasattr(client, "submit") and hasattr(client, "gather")):
        raise ParameterError(f"client must be a dask.distributed.Client, got "
                             f"{type(client).__name__}")
    where = scratch_dir
    if where is None:
        where = os.path.dirname(res.output or "") or "."
    if not res.params.get("in_memory", True) and not os.path.isdir(where):
        from .exceptions import InputFileError

        raise InputFileError(f"{where}: scratch directory does not exist")
    scratch = Scratch(on_disk=not res.params.get("in_memory", True), where=str(where))
    if scratch.on_disk:
        from .io.output_checks import check_disk_space

        check_disk_space(str(where), scratch_bytes(res, distributed=client is not None),
                         parameter="scratch_dir",
                         what="the intermediate files of in_memory=False")
    if max_memory is None:
        from .memory import median_buffer_bytes

        max_memory = median_buffer_bytes(res.params.get("memory_limit"))
    res.scaling = ScaleOptions(max_memory=int(max_memory), scratch=scratch, client=client)
    return scratch


def scratch_bytes(res, distributed: bool = False) -> int:
    """About how much scratch disk an ``in_memory=False`` run writes, bytes (a lower bound).

    Per input pixel: its pixel map (8 B, twice when the final frame differs
    from the single frame; not with a Dask client, whose workers keep them),
    the single drizzle's SCI and WHT (8 B per output pixel the chip covers,
    scaled by the chip's pixel area over the frame's; a footprint's bounding
    box can be larger), the blot (4 B), the CR mask (1 B) and with
    ``driz_cr_corr`` the cleaned chip (4 B); per single-frame pixel the
    median (4 B).
    """
    from .pipeline import same_frame
    from .steps.drizzle_steps import output_pscale

    p = res.params
    if res.single_wcs is None:
        return 0
    maps = 0 if distributed else 1
    if p.get("driz_combine") and res.output_wcs is not None and \
            not same_frame(res.single_wcs, res.output_wcs):
        maps *= 2
    frame_scale = output_pscale(res.single_wcs)
    need = 0
    for _, _, chip in res.chips():
        npix = int(chip.shape[0]) * int(chip.shape[1])
        area = (float(chip.idcscale) / frame_scale) ** 2 if chip.idcscale else 1.0
        need += 8 * npix * maps
        if p.get("driz_separate"):
            need += int(8 * npix * area)
        if p.get("blot"):
            need += 4 * npix
        if p.get("driz_cr"):
            need += npix * (5 if p.get("driz_cr_corr") else 1)
    if p.get("median") and len(res.exposures) > 1:
        need += 4 * int(res.single_shape[0]) * int(res.single_shape[1])
    return need
