"""Run AstroDrizzle's per-chip and per-tile work on a Dask cluster (issue 12).

``astrodrizzle(..., client=client)`` with a :class:`dask.distributed.Client`
sends

* the single drizzle of every exposure (one task per exposure, onto its
  footprint),
* the median (one task per output row band),
* the blot of every chip (one task per chip),
* the final drizzle (one task per output tile, every chip that reaches the
  tile replayed in order, so context ids and the order of the weighted sums
  are those of the full frame)

to the workers. Workers read the chips' pixels from the input files
themselves (paths must be visible to them: a shared file system on a
cluster); in-memory inputs are shipped. Workers compute the pixel maps
themselves from exactly serialised WCSs (:func:`pack_wcs`), so the product
is bit-identical to the in-process run (``tests/test_distributed.py``).
Static masks, sky and cosmic-ray flagging run in the client process (they
are cheap and their inputs are already there).

The same code runs on any ``dask.distributed`` deployment: a
``LocalCluster``, ``dask_jobqueue.SLURMCluster(...)``, or a Kubernetes
cluster (``dask_kubernetes``); only the ``Client`` changes. Workers need
drizzlekit installed (same version) and read access to the inputs.

:func:`drizzle_to_dask` is the lower-level entry for array users: drizzle
many ``(data, wcs)`` inputs onto a big output frame as a lazy dask array of
tiles.

Nothing here mutates a shared WCS: every task unpickles its own copies.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

__all__ = ["pack_wcs", "unpack_wcs", "band_mapper", "drizzle_separate_tasks", "blot_tasks",
           "final_drizzle_tasks", "drizzle_to_dask", "tile_boxes"]

log = logging.getLogger(__name__)


# -- exact WCS transport -----------------------------------------------------------------
def pack_wcs(w) -> tuple:
    """A picklable, bit-exact description of an astropy WCS.

    ``pickle`` of a WCS goes through a FITS header and loses the last bits of
    its numbers; here the numeric parameters travel as arrays and are put
    back after unpickling.
    """
    if w is None:
        return None
    lin = {"crval": np.array(w.wcs.crval), "crpix": np.array(w.wcs.crpix),
           "lonpole": float(w.wcs.lonpole), "latpole": float(w.wcs.latpole)}
    if w.wcs.has_cd():
        lin["cd"] = np.array(w.wcs.cd)
    else:
        lin["pc"] = np.array(w.wcs.get_pc())
        lin["cdelt"] = np.array(w.wcs.cdelt)
    sip = None
    if w.sip is not None:
        sip = (w.sip.a, w.sip.b, w.sip.ap, w.sip.bp, np.array(w.sip.crpix))
    simple = (w.sip is None and w.cpdis1 is None and w.cpdis2 is None and w.det2im1 is None
              and w.det2im2 is None and w.wcs.has_cd() and w.naxis == 2)
    if simple:  # a plain TAN-like frame: rebuilt as drizzlekit.outwcs builds it
        return ("simple", list(w.wcs.ctype), lin, w.pixel_shape)
    return ("pickle", pickle.dumps(w), lin, sip, w.pixel_shape)


def unpack_wcs(packed):
    """The WCS of :func:`pack_wcs` (a new object)."""
    from astropy.wcs import WCS, Sip

    if packed is None:
        return None
    if packed[0] == "simple":
        _, ctype, lin, shape = packed
        w = WCS(naxis=2)
        w.wcs.ctype = ctype
        w.wcs.crval = lin["crval"]
        w.wcs.crpix = lin["crpix"]
        w.wcs.cd = lin["cd"]
        w.wcs.set()
    else:
        _, blob, lin, sip, shape = packed
        w = pickle.loads(blob)
        w.wcs.crval = lin["crval"]
        w.wcs.crpix = lin["crpix"]
        if "cd" in lin:  # the pickle carries PC + CDELT: back to the CD matrix
            try:
                del w.wcs.pc
            except AttributeError:  # pragma: no cover - no PC present
                pass
            w.wcs.cd = lin["cd"]
        else:
            w.wcs.pc = lin["pc"]
            w.wcs.cdelt = lin["cdelt"]
        w.wcs.lonpole = lin["lonpole"]
        w.wcs.latpole = lin["latpole"]
        if sip is not None:
            w.sip = Sip(*sip)
        w.wcs.set()
    if shape is not None:
        w.pixel_shape = shape
    return w


# -- chips on workers ------------------------------------------------------------------------
@dataclass
class ChipJob:
    """What a worker needs to rebuild one chip's :class:`DrizzleInput`.

    ``path`` is read on the worker (``read_exposure`` with the run's
    keywords, ``resetbits`` applied); without a path ``arrays`` holds
    ``(sci, err, dq)``. ``template`` is the DrizzleInput without arrays.
    """

    k: int
    path: str | None
    extver: int
    read_kw: dict
    resetbits: Any
    arrays: tuple | None
    template: Any
    wcs: tuple
    bits: Any
    bits_name: str
    static: Any = None
    extra_mask: Any = None   # e.g. not-CR, True = good
    ivm: Any = None

    def load(self):
        """The chip's :class:`DrizzleInput` with its pixels and combined mask."""
        from .io.bits import dq_to_mask

        if self.arrays is not None:
            sci, err, dq = self.arrays
        else:
            sci, err, dq = _read_chip(self.path, self.extver, self.read_kw, self.resetbits)
        mask = None
        for m in (None if dq is None or self.bits is None else
                  dq_to_mask(dq, self.bits, self.bits_name), self.static, self.extra_mask):
            if m is None:
                continue
            mask = m.copy() if mask is None else (mask & m)
        return replace(self.template, data=sci, err=err, mask=mask, ivm=self.ivm,
                       wcs=unpack_wcs(self.wcs))

    def pixmap(self, chip, frame, stepsize) -> np.ndarray:
        """The chip -> frame map, exactly as :func:`drizzlekit.pipeline._pixmap` makes it
        (kept in the worker's cache between the tasks of a run)."""
        from .pixmap import calc_pixmap
        from .pixmap_store import PixmapStore

        key = ("pixmap", _digest((self.wcs, pack_wcs(frame), tuple(chip.shape), stepsize)))
        store = _CACHE.get(key)
        if store is not None:
            return store.decode()
        pm = calc_pixmap(chip.wcs, frame, shape=chip.shape, stepsize=stepsize)
        if not np.isfinite(pm).all():
            return pm
        store = PixmapStore(pm)
        _CACHE.put(key, store, store.nbytes)
        return store.decode()


class _WorkerCache:
    """A byte-bounded LRU store, one per worker process (chips read, pixel maps).

    ``DRIZZLEKIT_WORKER_CACHE_MB`` (default 1024) sets the bound; 0 disables it.
    """

    def __init__(self):
        import collections
        import os
        import threading

        self.limit = int(float(os.environ.get("DRIZZLEKIT_WORKER_CACHE_MB", "1024")) * 2 ** 20)
        self.items: "collections.OrderedDict" = collections.OrderedDict()
        self.nbytes = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            hit = self.items.get(key)
            if hit is None:
                return None
            self.items.move_to_end(key)
            return hit[0]

    def put(self, key, value, nbytes: int) -> None:
        if nbytes > self.limit:
            return
        with self.lock:
            if key in self.items:
                return
            self.items[key] = (value, nbytes)
            self.nbytes += nbytes
            while self.nbytes > self.limit:
                _, (_, n) = self.items.popitem(last=False)
                self.nbytes -= n


_CACHE = _WorkerCache()


def _digest(obj) -> str:
    import hashlib

    return hashlib.sha1(pickle.dumps(obj, protocol=4)).hexdigest()


def _read_chip(path: str, extver: int, read_kw: dict, resetbits):
    """``(sci, err, dq)`` of one chip read on the worker as the client read it
    (``read_exposure`` + ``resetbits``); cached per file version. Read-only arrays."""
    import os

    from .io.fits_input import read_exposure
    from .pipeline import _reset_dq

    st = os.stat(path)
    key = ("chip", os.path.abspath(path), st.st_mtime_ns, st.st_size, int(extver),
           repr(sorted(read_kw.items())), repr(resetbits))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    exp = read_exposure(path, str(extver), **read_kw)
    _reset_dq([exp], resetbits)
    chip = exp.chips[0]
    out = tuple(a for a in (chip.sci, chip.err, chip.dq))
    for a in out:
        if a is not None:
            a.flags.writeable = False
    _CACHE.put(key, out, sum(a.nbytes for a in out if a is not None))
    return out


def _read_kw(p: dict) -> dict:
    return dict(gain=p["gain"], rdnoise=p["rdnoise"], exptime=p["exptime"],
                gnkeyword=p["gnkeyword"] or None, rnkeyword=p["rnkeyword"] or None,
                expkeyword=p["expkeyword"] or None)


def _jobs(res, client, bits_key: str, extra=None, ivm=False) -> list:
    """One ChipJob per chip, in processing order."""
    from . import pipeline as pl

    p = res.params
    jobs = []
    for k, (key, e, chip) in enumerate(res.chips()):
        name = res.names[e]
        # read on the worker only what read_exposure gives back unchanged: a plain
        # file (not one piece of a split multi-exposure file); else the pixels travel
        from_file = (isinstance(name, str) and not name.startswith("<in-memory")
                     and os.path.isfile(name) and not getattr(res.exposures[e], "root", None))
        tmpl = pl._drizzle_input(res, key, e, chip, None)
        tmpl = replace(tmpl, data=np.zeros((0, 0), np.float32), err=None, wcs=None)
        st = pl._static(res, chip)  # bool, 1 byte per chip pixel
        jobs.append(ChipJob(
            k=k, path=name if from_file else None, extver=chip.extver, read_kw=_read_kw(p),
            resetbits=p["resetbits"],
            arrays=None if from_file else (chip.sci, chip.err, chip.dq), template=tmpl,
            wcs=pack_wcs(pl._chip_wcs(res, chip)), bits=p[bits_key], bits_name=bits_key,
            static=st, extra_mask=None if extra is None else extra(key),
            ivm=pl._read_ivm(res, e, chip) if ivm else None))
    return jobs


# -- tasks ----------------------------------------------------------------------------------------
def _single_task(jobs, frame_packed, frame_shape, stepsize, kw):
    from .mosaic import drizzle_single

    frame = unpack_wcs(frame_packed)
    chips = [j.load() for j in jobs]
    pms = [j.pixmap(c, frame, stepsize) for j, c in zip(jobs, chips)]
    return drizzle_single(chips, pms, frame, frame_shape, **kw)


def drizzle_separate_tasks(res, opt, kw) -> dict:
    """Single drizzles on the workers: ``name -> Footprint`` (gathered)."""
    client = opt.client
    jobs = _jobs(res, client, "driz_sep_bits")
    frame = pack_wcs(res.single_wcs)
    step = res.params["stepsize"] or None
    futures, k = [], 0
    for e, exp in enumerate(res.exposures):
        mine = jobs[k:k + len(exp.chips)]
        k += len(exp.chips)
        futures.append(client.submit(_single_task, mine, frame, res.single_shape, step, kw,
                                     pure=False))
    fps = client.gather(futures)
    out = {}
    for e, fp in enumerate(fps):
        if opt.scratch.on_disk:
            fp.sci = opt.scratch.keep(fp.sci, f"single{e}_sci")
            fp.wht = opt.scratch.keep(fp.wht, f"single{e}_wht")
        out[res.names[e]] = fp
    return out


def band_mapper(client):
    """``band_map`` for :func:`drizzlekit.tiles.median_bands` on a client."""
    def run(func, bands, cuts):
        futures = client.map(func, bands, cuts, pure=False)
        return client.gather(futures)

    return run


def _blot_task(job, median, frame_packed, stepsize, kw):
    from .steps.blot_step import blot_chip

    frame = unpack_wcs(frame_packed)
    kw = dict(kw)
    shape = kw.pop("shape")
    pm = job.pixmap(_Shaped(unpack_wcs(job.wcs), shape), frame, stepsize)
    return blot_chip(median, frame, None, shape, pixmap=pm, **kw)


@dataclass
class _Shaped:
    wcs: Any
    shape: tuple


def blot_tasks(res, client, per_chip: list) -> dict:
    """Blots on the workers: ``(name, extver) -> array``.

    ``per_chip``: ``(key, e, chip, blot keywords)`` for every chip.
    """
    from . import pipeline as pl

    median = client.scatter(np.asarray(res.median), broadcast=True)
    frame = pack_wcs(res.single_wcs)
    step = res.params["stepsize"] or None
    futures = []
    for key, e, chip, kw in per_chip:
        job = ChipJob(k=0, path=None, extver=chip.extver, read_kw={}, resetbits=None,
                      arrays=None, template=None, wcs=pack_wcs(pl._chip_wcs(res, chip)),
                      bits=None, bits_name="")
        futures.append(client.submit(_blot_task, job, median, frame, step,
                                     dict(kw, shape=chip.shape), pure=False))
    return {key: arr for (key, *_), arr in zip(per_chip, client.gather(futures))}


# -- final drizzle in tiles --------------------------------------------------------------------
def tile_boxes(shape: tuple[int, int], tile: int) -> list:
    """``(y0, y1, x0, x1)`` of ``tile x tile`` tiles covering ``shape`` (row-major)."""
    ny, nx = shape
    return [(y, min(y + tile, ny), x, min(x + tile, nx))
            for y in range(0, ny, tile) for x in range(0, nx, tile)]


def _chip_box_task(job, shape, frame_packed, frame_shape, stepsize, kernel, pixfrac):
    """Box ``(y0, y1, x0, x1)`` of the output frame that a chip's drops can reach."""
    from .footprint import drop_margin, footprint_box
    from .steps.drizzle_steps import _chip_pscale, output_pscale

    frame = unpack_wcs(frame_packed)
    chip = replace(job.template, wcs=unpack_wcs(job.wcs))
    pm = job.pixmap(_Shaped(chip.wcs, tuple(shape)), frame, stepsize)
    try:
        s = output_pscale(frame) / _chip_pscale(chip)
    except Exception:
        s = float("nan")
    return footprint_box([pm], [drop_margin(kernel, pixfrac, s)], frame_shape)


def wt_scale(chip, wht_type, wt_scl, s: float) -> float:
    """The weight scale ``drizzle_chips`` uses for ``chip`` (module table of drizzle_steps)."""
    from .steps.drizzle_steps import parse_wt_scl

    kind = None if wht_type is None else str(wht_type).upper()
    t = float(chip.exptime)
    if kind in (None, "EXP"):
        return parse_wt_scl(wt_scl, t, "final_wt_scl")
    r4 = float(s) ** 4
    return 1.0 / r4 if kind == "ERR" else t * t / r4


def drizzle_tile(box, jobs, frame_packed, stepsize, *, frame_shape, chip_boxes, **kw):
    """One output tile of the final drizzle on a worker: ``(sci, wht, ctx or None)``.

    ``jobs`` (ChipJobs, in order, ``job.k`` = context id) are read and mapped here;
    ``kw`` as :func:`drizzle_virtual`.
    """
    from .kernels import get_kernel
    from .steps.drizzle_steps import output_pscale

    frame = unpack_wcs(frame_packed)
    get_kernel(kw["kernel"])

    def items():
        for job in jobs:
            chip = job.load()
            yield job.k, chip, job.pixmap(chip, frame, stepsize)

    from .tiles import drizzle_virtual

    sci, wht, ctx, _, _ = drizzle_virtual(box, items(), frame_shape, output_pscale(frame),
                                          chip_boxes, **kw)
    return sci, wht, ctx


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
    from .footprint import SingleFrames, drop_margin
    from .pipeline import _same_frame
    from .steps.drizzle_steps import output_pscale

    if not isinstance(res.single_sci, SingleFrames) or \
            not _same_frame(res.single_wcs, res.output_wcs):
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
    """The final drizzle on the workers, tile by tile: ``(sci, wht, ctx, wt_scl list)``."""
    from .steps.drizzle_steps import _chip_pscale, output_pscale

    client = opt.client
    p = res.params
    jobs = _jobs(res, client, "final_bits", extra=extra_mask,
                 ivm=p["final_wht_type"] == "IVM")
    frame = pack_wcs(res.output_wcs)
    shape = res.output_shape
    step = p["stepsize"] or None
    boxes = _boxes_from_footprints(res, kw["kernel"], kw["pixfrac"])
    if boxes is None:  # another frame: one small task per chip finds its box
        box_jobs = [replace(j, arrays=None, static=None, extra_mask=None, ivm=None)
                    for j in jobs]
        boxes = client.gather([client.submit(_chip_box_task, j, c.shape, frame, shape, step,
                                             kw["kernel"], kw["pixfrac"], pure=False)
                               for j, (_, _, c) in zip(box_jobs, res.chips())])
    tiles = tile_boxes(shape, _tile_side(client, shape, int(opt.tile)))
    # a chip's job (masks included) goes to the cluster once, not once per tile
    shared = client.scatter(jobs)
    futures = []
    for t in tiles:
        ty0, ty1, tx0, tx1 = t
        sel = [k for k, b in enumerate(boxes)
               if b[0] < ty1 and ty0 < b[1] and b[2] < tx1 and tx0 < b[3]]
        futures.append(client.submit(drizzle_tile, t, [shared[k] for k in sel], frame, step,
                                     nctx=len(jobs), frame_shape=shape,
                                     chip_boxes=[boxes[k] for k in sel], pure=False, **kw))
    sci = np.empty(shape, np.float32)
    wht = np.empty(shape, np.float32)
    ctx = None
    for t, fut in zip(tiles, futures):
        ty0, ty1, tx0, tx1 = t
        s, w, c = fut.result()
        sci[ty0:ty1, tx0:tx1] = s
        wht[ty0:ty1, tx0:tx1] = w
        if c is not None:
            if ctx is None:
                ctx = np.zeros((c.shape[0],) + tuple(shape), np.int32)
            ctx[:, ty0:ty1, tx0:tx1] = c
        fut.release()
    out_ps = output_pscale(res.output_wcs)
    scales = [wt_scale(j.template, kw["wht_type"], kw["wt_scl"],
                       out_ps / _chip_pscale(j.template)) for j in jobs]
    return sci, wht, ctx, scales


# -- arrays in, dask array out --------------------------------------------------------------
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

    from .steps.drizzle_steps import DrizzleInput

    if out_shape is None:
        nx, ny = output_wcs.pixel_shape
        out_shape = (int(ny), int(nx))
    frame = pack_wcs(output_wcs)
    jobs = []
    for k, (data, wcs) in enumerate(inputs):
        tmpl = DrizzleInput(data=np.zeros((0, 0), np.float32), wcs=None, exptime=exptime,
                            in_units="cps", name=f"input {k}")
        mask = None
        jobs.append(ChipJob(k=k, path=None, extver=1, read_kw={}, resetbits=None,
                            arrays=(np.asarray(data, np.float32), None, None), template=tmpl,
                            wcs=pack_wcs(wcs), bits=None, bits_name="", static=mask,
                            ivm=None))
    boxes = [_chip_box_task(j, np.shape(j.arrays[0]), frame, out_shape, stepsize, kernel,
                            pixfrac) for j in jobs]
    tiles = tile_boxes(out_shape, tile)
    index = {"sci": 0, "wht": 1, "ctx": 2}[what]
    nt_y = len(range(0, out_shape[0], tile))
    nt_x = len(range(0, out_shape[1], tile))
    blocks = [[None] * nt_x for _ in range(nt_y)]
    for t in tiles:
        ty0, ty1, tx0, tx1 = t
        sel = [k for k, b in enumerate(boxes)
               if b[0] < ty1 and ty0 < b[1] and b[2] < tx1 and tx0 < b[3]]
        part = dask.delayed(drizzle_tile, pure=True)(
            t, [jobs[k] for k in sel], frame, stepsize, nctx=len(jobs),
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



# -- hooks used by drizzlekit.pipeline ----------------------------------------------------------
def final_drizzle_on_client(res):
    """A stand-in for ``drizzle_chips`` that runs the final drizzle tile by tile on the client.

    It takes ``drizzle_chips``' arguments (the chips and the pixel-map cache
    are rebuilt on the workers) and returns the same DrizzleProduct.
    """
    from .mosaic import options
    from .steps.drizzle_steps import DrizzleProduct, _chip_pscale, output_pscale

    opt = options(res)

    def extra(key):
        cr = res.cr_masks.get(key)
        return None if cr is None else ~cr

    def run(chips, output_wcs, out_shape=None, *, kernel, pixfrac, fillval, initial,
            wht_type, wt_scl, wt_scl_name, context, nctx=None, pixmap_cache=None,
            progress=False, desc=""):
        kw = dict(kernel=kernel, pixfrac=pixfrac, fillval=fillval, initial=initial,
                  wht_type=wht_type, wt_scl=wt_scl, wt_scl_name=wt_scl_name, context=context)
        sci, wht, ctx, scales = final_drizzle_tasks(res, opt, extra, kw)
        out_ps = output_pscale(output_wcs)
        ratios = [out_ps / _chip_pscale(c) for c in chips]
        return DrizzleProduct(sci, wht, ctx, scales, ratios, [0] * len(chips))

    return run


def blot_on_client(res) -> dict:
    """Step 6 with one task per chip: ``(name, extver) -> blot`` (``run_blot``'s numbers)."""
    from .mosaic import options

    p = res.params
    per_chip = []
    for key, e, chip in res.chips():
        sky = res.computed_sky.get(key) if p["blot_addsky"] else p["blot_skyval"]
        per_chip.append((key, e, chip, dict(exptime=chip.exptime, pscale=chip.idcscale,
                                            conversion_factor=chip.conversion_factor,
                                            sky=sky, interp=p["blot_interp"],
                                            sinscl=p["blot_sinscl"])))
    return blot_tasks(res, options(res).client, per_chip)
