"""The final drizzle (step 8) as one Dask task per output tile (issue 12).

Every tile task replays, in the run's order, every chip whose drops can
reach the tile (its box in the output frame, from the single-drizzle
footprints or one small task per chip), onto a virtually allocated full
frame of which only the tile is kept (:func:`drizzlekit.tiles.drizzle_virtual`);
context ids and the order of the weighted sums are those of the full frame,
so the assembled product equals the in-process run bit for bit. The chips'
jobs (masks included) are scattered once; tiles are assembled in the client.
With ``final_wht_type='IVM'`` the workers read the @file's IVM files
themselves (:func:`~drizzlekit.distributed.worker.read_ivm_file`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .worker import ChipJob, cached_wcs, logged, replay

__all__ = ["tile_boxes", "chip_box", "wt_scale", "drizzle_tile", "final_drizzle_tasks",
           "final_drizzle_on_client"]


def tile_boxes(shape: tuple[int, int], tile: int) -> list:
    """``(y0, y1, x0, x1)`` of ``tile x tile`` tiles covering ``shape`` (row-major)."""
    ny, nx = shape
    return [(y, min(y + tile, ny), x, min(x + tile, nx))
            for y in range(0, ny, tile) for x in range(0, nx, tile)]


def chip_box(job: ChipJob, frame_packed, frame_key, frame_shape, stepsize, kernel: str,
             pixfrac: float) -> tuple:
    """Box ``(y0, y1, x0, x1)`` of the output frame that a chip's drops can reach."""
    from ..footprint import drop_margin, footprint_box
    from ..steps.drizzle_steps import _chip_pscale, output_pscale

    frame = cached_wcs(frame_packed, frame_key)
    pm = job.pixmap(frame_packed, frame_key, stepsize)
    try:
        s = output_pscale(frame) / _chip_pscale(replace(job.template,
                                                        wcs=cached_wcs(job.wcs, job.wcs_key)))
    except Exception:
        s = float("nan")
    return footprint_box([pm], [drop_margin(kernel, pixfrac, s)], frame_shape)


def wt_scale(chip, wht_type, wt_scl, s: float) -> float:
    """The weight scale ``drizzle_chips`` uses for ``chip`` (module table of drizzle_steps)."""
    from ..steps.drizzle_steps import parse_wt_scl

    kind = None if wht_type is None else str(wht_type).upper()
    t = float(chip.exptime)
    if kind in (None, "EXP"):
        return parse_wt_scl(wt_scl, t, "final_wt_scl")
    r4 = float(s) ** 4
    return 1.0 / r4 if kind == "ERR" else t * t / r4


def drizzle_tile(box, jobs, frame_packed, frame_key, stepsize, *, frame_shape, chip_boxes,
                 **kw):
    """One output tile of the final drizzle on a worker: ``(sci, wht, ctx or None, var or
    None)`` (``var`` with ``variance=True``).

    ``jobs`` (ChipJobs, in order, ``job.k`` = context id) are read and mapped here;
    ``kw`` as :func:`drizzlekit.tiles.drizzle_virtual`.
    """
    from ..kernels import get_kernel
    from ..steps.drizzle_steps import output_pscale
    from ..tiles import drizzle_virtual

    frame = cached_wcs(frame_packed, frame_key)
    get_kernel(kw["kernel"])

    def items():
        for job in jobs:
            yield job.k, job.load(), job.pixmap(frame_packed, frame_key, stepsize)

    sci, wht, ctx, _, _, var = drizzle_virtual(box, items(), frame_shape,
                                               output_pscale(frame), chip_boxes,
                                               clip_inputs=True, **kw)
    return sci, wht, ctx, var


def _tile_task(*args, **kw):
    """:func:`drizzle_tile` and the warnings it gave (a distributed run's task)."""
    return logged(drizzle_tile, *args, **kw)


def _tile_side(client, shape, tile: int) -> int:
    """``tile``, halved (not below 128) until there are two tiles per worker."""
    try:
        nworkers = max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # pragma: no cover - a client without scheduler info
        nworkers = 1
    while tile > 128 and math.ceil(shape[0] / tile) * math.ceil(shape[1] / tile) < 2 * nworkers:
        tile //= 2
    return tile


def _boxes_from_footprints(res, kernel: str, pixfrac: float) -> list | None:
    """Every chip's output box from its exposure's single-drizzle footprint (same frame).

    The footprint holds the drops of the single-drizzle kernel; it is widened by the
    difference of the final kernel's drop margin. None when the frames differ, a
    margin is unknown or there are no footprints.
    """
    from ..footprint import SingleFrames, drop_margin
    from ..pipeline import same_frame
    from ..steps.drizzle_steps import output_pscale

    if not isinstance(res.single_sci, SingleFrames) or \
            not same_frame(res.single_wcs, res.output_wcs):
        return None
    p = res.params
    ps = output_pscale(res.output_wcs)
    ny, nx = res.output_shape
    boxes = []
    for key, e, chip in res.chips():
        fp = res.single_sci.footprints.get(res.names[e])
        if fp is None:
            return None
        s = ps / float(chip.idcscale) if chip.idcscale else float("nan")
        m_sep = drop_margin(p["driz_sep_kernel"], p["driz_sep_pixfrac"], s)
        m_fin = drop_margin(kernel, pixfrac, s)
        if m_sep is None or m_fin is None:
            return None
        if fp.sci.size <= 1:  # nothing landed in the single frame
            boxes.append((0, 0, 0, 0))
            continue
        g = max(0, m_fin - m_sep)
        boxes.append((max(fp.y0 - g, 0), min(fp.y1 + g, ny), max(fp.x0 - g, 0),
                      min(fp.x1 + g, nx)))
    return boxes


def final_drizzle_tasks(res, opt, extra_mask, kw) -> tuple:
    """The final drizzle on the workers, tile by tile:
    ``(sci, wht, ctx, var, wt_scl list, pixel-scale ratio list)``."""
    from ..steps.drizzle_steps import _chip_pscale, output_pscale
    from .chips import chip_jobs, packed

    client = opt.client
    p = res.params
    jobs = chip_jobs(res, "final_bits", extra=extra_mask, ivm=p["final_wht_type"] == "IVM")
    frame, fkey = packed(res, res.output_wcs)
    shape = res.output_shape
    step = p["stepsize"] or None
    boxes = _boxes_from_footprints(res, kw["kernel"], kw["pixfrac"])
    if boxes is None:  # another frame: one small task per chip finds its box
        box_jobs = [replace(j, arrays=None if j.path else j.arrays, static=None,
                            extra_mask=None, ivm=None, ivm_file=None) for j in jobs]
        boxes = client.gather([client.submit(chip_box, j, frame, fkey, shape, step,
                                             kw["kernel"], kw["pixfrac"], pure=False)
                               for j in box_jobs])
    tiles = tile_boxes(shape, _tile_side(client, shape, int(opt.tile)))
    # a chip's job (masks included) goes to the cluster once, not once per tile
    shared = client.scatter(jobs)
    futures = []
    for t in tiles:
        ty0, ty1, tx0, tx1 = t
        sel = [k for k, b in enumerate(boxes)
               if b[0] < ty1 and ty0 < b[1] and b[2] < tx1 and tx0 < b[3]]
        futures.append(client.submit(_tile_task, t, [shared[k] for k in sel], frame, fkey,
                                     step, nctx=len(jobs), frame_shape=shape,
                                     chip_boxes=[boxes[k] for k in sel], pure=False, **kw))
    sci = np.empty(shape, np.float32)
    wht = np.empty(shape, np.float32)
    var = np.empty(shape, np.float32) if kw.get("variance") else None
    ctx = None
    records: list = []
    for t, fut in zip(tiles, futures):
        ty0, ty1, tx0, tx1 = t
        (s, w, c, v), rec = fut.result()
        records.extend(r for r in rec if r not in records)  # once per run, not per tile
        sci[ty0:ty1, tx0:tx1] = s
        wht[ty0:ty1, tx0:tx1] = w
        if var is not None:
            var[ty0:ty1, tx0:tx1] = v
        if c is not None:
            if ctx is None:
                ctx = np.zeros((c.shape[0],) + tuple(shape), np.int32)
            ctx[:, ty0:ty1, tx0:tx1] = c
        fut.release()
    replay(records)
    out_ps = output_pscale(res.output_wcs)
    ratios = [out_ps / _chip_pscale(j.template) for j in jobs]
    scales = [wt_scale(j.template, kw["wht_type"], kw["wt_scl"], s)
              for j, s in zip(jobs, ratios)]
    return sci, wht, ctx, var, scales, ratios


def final_drizzle_on_client(res):
    """A stand-in for ``drizzle_chips`` that runs the final drizzle tile by tile on the client.

    It takes ``drizzle_chips``' arguments (``chips`` is empty: the chips and
    the pixel-map cache are rebuilt on the workers) and returns the same
    DrizzleProduct.
    """
    from ..mosaic import options
    from ..steps.drizzle_steps import DrizzleProduct

    opt = options(res)

    def extra(key):
        cr = res.cr_masks.get(key)
        return None if cr is None else ~cr

    def run(chips, output_wcs, out_shape=None, *, kernel, pixfrac, fillval, initial,
            wht_type, wt_scl, wt_scl_name, context, nctx=None, pixmap_cache=None,
            progress=False, desc="", variance=False):
        kw = dict(kernel=kernel, pixfrac=pixfrac, fillval=fillval, initial=initial,
                  wht_type=wht_type, wt_scl=wt_scl, wt_scl_name=wt_scl_name, context=context,
                  variance=bool(variance))
        sci, wht, ctx, var, scales, ratios = final_drizzle_tasks(res, opt, extra, kw)
        return DrizzleProduct(sci, wht, ctx, scales, ratios, [0] * len(scales), var)

    return run
