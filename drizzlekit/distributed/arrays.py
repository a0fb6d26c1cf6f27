"""Arrays in, dask array out: the lower-level entry for array users (issue 12)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .final import chip_box, drizzle_tile, tile_boxes
from .wcs import pack_wcs
from .worker import ChipJob, digest

__all__ = ["drizzle_to_dask"]


def drizzle_to_dask(inputs: Sequence[tuple], output_wcs, out_shape: tuple[int, int] | None = None,
                    *, tile: int = 1024, kernel: str = "square", pixfrac: float = 1.0,
                    fillval=None, exptime: float = 1.0, stepsize: int | None = 10,
                    context: bool = False, what: str = "sci"):
    """Drizzle many ``(data, wcs)`` inputs onto a big output frame, as a dask array of tiles.

    Parameters
    ----------
    inputs : sequence of (data, wcs)
        2-D arrays (rates, ``in_units='cps'``; NaN = bad pixel) and their
        full WCSs. Every input has weight ``exptime`` per pixel.
    output_wcs : astropy.wcs.WCS
        The output frame.
    out_shape : (ny, nx), optional
        Default ``output_wcs.pixel_shape``.
    tile : int
        Tile side, output pixels (the dask chunk size).
    kernel, pixfrac, fillval
        As :class:`drizzlekit.Drizzle`.
    exptime : float
        Exposure time of every input, s.
    stepsize : int or None
        Pixel-map grid spacing, input pixels.
    context : bool
        Keep context bits (returned with ``what='ctx'``).
    what : {'sci', 'wht', 'ctx'}
        Which output image the returned array holds.

    Returns
    -------
    dask.array.Array
        Lazy ``out_shape`` array (``(planes, ny, nx)`` for ``'ctx'``);
        every tile equals the cut of the full-frame drizzle bit for bit.
        Compute it with any scheduler (threads, processes, a distributed
        client).
    """
    import dask
    import dask.array as da

    from ..steps.drizzle_steps import DrizzleInput

    if out_shape is None:
        nx, ny = output_wcs.pixel_shape
        out_shape = (int(ny), int(nx))
    frame = pack_wcs(output_wcs)
    fkey = digest(frame)
    jobs = []
    for k, (data, wcs) in enumerate(inputs):
        tmpl = DrizzleInput(data=np.zeros((0, 0), np.float32), wcs=None, exptime=exptime,
                            in_units="cps", name=f"input {k}")
        w = pack_wcs(wcs)
        data = np.asarray(data, np.float32)
        jobs.append(ChipJob(k=k, path=None, extver=1, resetbits=None,
                            arrays=(data, None, None), template=tmpl, wcs=w,
                            wcs_key=digest(w), shape=tuple(data.shape)))
    boxes = [chip_box(j, frame, fkey, out_shape, stepsize, kernel, pixfrac) for j in jobs]
    index = {"sci": 0, "wht": 1, "ctx": 2}[what]
    nt_y = len(range(0, out_shape[0], tile))
    nt_x = len(range(0, out_shape[1], tile))
    blocks = [[None] * nt_x for _ in range(nt_y)]
    for t in tile_boxes(out_shape, tile):
        ty0, ty1, tx0, tx1 = t
        sel = [k for k, b in enumerate(boxes)
               if b[0] < ty1 and ty0 < b[1] and b[2] < tx1 and tx0 < b[3]]
        part = dask.delayed(drizzle_tile, pure=True)(
            t, [jobs[k] for k in sel], frame, fkey, stepsize, nctx=len(jobs),
            frame_shape=tuple(out_shape), chip_boxes=[boxes[k] for k in sel],
            kernel=kernel, pixfrac=pixfrac,
            fillval=fillval, initial=0.0, wht_type=None, wt_scl=1.0, wt_scl_name="wt_scl",
            context=context or what == "ctx", lanczos_pixfrac=False)  # as Drizzle
        shape = (ty1 - ty0, tx1 - tx0)
        if what == "ctx":
            nplanes = max(len(jobs) - 1, 0) // 32 + 1
            arr = da.from_delayed(part[index], (nplanes,) + shape, dtype=np.int32)
        else:
            arr = da.from_delayed(part[index], shape, dtype=np.float32)
        blocks[ty0 // tile][tx0 // tile] = arr
    return da.block(blocks)
