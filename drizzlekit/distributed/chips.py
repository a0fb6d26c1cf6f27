"""The per-chip steps of AstroDrizzle as Dask tasks (issue 12).

The exposures are split into batches (:func:`batches`: whole exposures, about
:data:`BATCH_PIXELS` input pixels each and at least two batches per worker;
an ACS/WFC exposure is a batch by itself), the same in every step, and every
step runs one task per batch on the batch's worker:

* the **static mask** (step 2): each chip's "not far below the mode" test,
  ANDed per chip signature; the client ANDs the batches' masks;
* the **sky** (step 3): each chip's clipped statistic (a float comes back)
  and, for the ``match`` methods, its statistics over its overlaps with every
  other exposure (the task gets all chips' WCSs and shapes, no pixels); the
  client takes the small per-exposure / global minimum or solves the small
  least-squares problem (:mod:`drizzlekit.steps.sky_match`);
* the **single drizzle** (step 4): the batch's footprints come back, and
  stay on the worker until the median's band tasks (step 5) have cut their
  rows there (:func:`band_mapper`; the scheduler moves them between workers,
  not through the client);
* the **blot** (step 6): the median is broadcast once; the blots stay on
  the worker for
* **driz_cr** (step 7), submitted together with the blots: each task gets
  its batch's blots future.

So each worker reads a chip's pixels from its file and computes its pixel
maps once (:mod:`drizzlekit.distributed.worker`). The numbers are those of
the in-process steps bit for bit: the same functions run on the same arrays.
"""

from __future__ import annotations

import copy
import os
from dataclasses import replace

import numpy as np

from ..io.bits import combine_masks
from .wcs import pack_wcs
from .worker import ChipJob, cached_wcs, digest, logged, placer, replay, tuned_malloc

__all__ = ["chip_jobs", "packed", "batches", "static_masks_on_client", "sky_on_client",
           "drizzle_separate_tasks", "band_mapper", "blot_on_client", "driz_cr_on_client",
           "BATCH_PIXELS"]

_EMPTY = np.zeros((0, 0), np.float32)


def _options(res):
    from ..mosaic import options

    return options(res)


def packed(res, w) -> tuple:
    """``(pack_wcs(w), digest)``, made once per run and WCS object."""
    cache = _options(res).packed
    hit = cache.get(id(w))
    if hit is None or hit[0] is not w:
        p = pack_wcs(w)
        hit = (w, p, digest(p))
        cache[id(w)] = hit
    return hit[1], hit[2]


def _chip_packed(res, chip) -> tuple:
    """The packed WCS a chip is drizzled with (``coeffs=False``: without distortion)."""
    from .. import pipeline as pl

    if res.params["coeffs"]:
        return packed(res, chip.wcs)
    cache = _options(res).packed
    key = ("linear", id(chip.wcs))
    hit = cache.get(key)
    if hit is None or hit[0] is not chip.wcs:
        p = pack_wcs(pl.chip_wcs(res, chip))
        hit = (chip.wcs, p, digest(p))
        cache[key] = hit
    return hit[1], hit[2]


def _without_pixels(chip):
    """A copy of ``chip`` that holds no pixels (reads none either)."""
    c = copy.copy(chip)
    if getattr(chip, "lazy", False):
        c.__dict__["_own"] = {}
    c.sci, c.err, c.dq = _EMPTY, None, None
    return c


def _ivm_file(res, e: int) -> tuple | None:
    """``(path, input name)`` of exposure ``e``'s IVM file (@file column), or None."""
    path = res.ivm_files[e] if e < len(res.ivm_files) else None
    return (os.path.abspath(path), res.names[e]) if path else None


def chip_jobs(res, bits_key: str | None = None, extra=None, ivm: bool = False) -> list:
    """One :class:`ChipJob` per chip, in processing order.

    File inputs are read by the workers (lazily read chips never load their
    pixels in the client here); in-memory inputs ship their arrays. With
    ``ivm``, the workers read the IVM files of the @file's IVM column too.
    """
    from .. import pipeline as pl

    p = res.params
    jobs = []
    for k, (key, e, chip) in enumerate(res.chips()):
        name = res.names[e]
        if getattr(chip, "lazy", False):
            path = chip.source[0]
        elif (isinstance(name, str) and not name.startswith("<in-memory")
              and os.path.isfile(name) and not getattr(res.exposures[e], "root", None)):
            path = name  # a whole file (not a piece of a split one): read as the client did
        else:
            path = None
        tmpl = replace(pl.drizzle_input(res, key, e, _without_pixels(chip), None),
                       data=_EMPTY, err=None, wcs=None)
        wcs, wcs_key = _chip_packed(res, chip)
        jobs.append(ChipJob(
            k=k, path=path, extver=chip.extver, resetbits=p["resetbits"],
            arrays=None if path else (chip.sci, chip.err, chip.dq), template=tmpl,
            wcs=wcs, wcs_key=wcs_key, shape=tuple(chip.shape),
            bits=None if bits_key is None else p[bits_key], bits_name=bits_key or "",
            static=pl.static_mask_of(res, chip), extra_mask=None if extra is None else extra(key),
            ivm_file=_ivm_file(res, e) if ivm else None,
            version=getattr(chip, "version", None) if path else None))
    return jobs


# -- batches -----------------------------------------------------------------------------
#: Input pixels per task of the per-chip steps, about (small chips go several to a task, so
#: the scheduler's cost per task stays small against the work).
BATCH_PIXELS = 4 * 2 ** 20


def batches(res, client) -> list:
    """The exposures in contiguous groups, one task each: ``[[(job index, e), ...], ...]``.

    About :data:`BATCH_PIXELS` input pixels per group but at least two groups per
    worker (an ACS/WFC exposure is a group by itself); the same groups in every step,
    so every step sends a group to the same worker.
    """
    n = len(res.exposures)
    try:
        nworkers = max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # pragma: no cover - a client without scheduler info
        nworkers = 1
    total = sum(int(c.shape[0]) * int(c.shape[1]) for _, _, c in res.chips())
    nb = max(1, min(n, max(2 * nworkers, -(-total // BATCH_PIXELS))))
    index, k = [], 0
    for e, exp in enumerate(res.exposures):
        index.append([(k + i, e) for i in range(len(exp.chips))])
        k += len(exp.chips)
    return [[item for e in range(b * n // nb, (b + 1) * n // nb) for item in index[e]]
            for b in range(nb)]


def _groups(res, client, jobs):
    """``(batch number, [jobs], [(key, e, chip)])`` of every batch."""
    chips = list(res.chips())
    for b, batch in enumerate(batches(res, client)):
        yield b, [jobs[k] for k, _ in batch], [chips[k] for k, _ in batch]


# -- step 2 ------------------------------------------------------------------------------
def _static_batch(jobs, static_sig: float, compat: bool):
    """``{signature: AND of the chips' static-mask tests}`` of a batch."""
    from ..steps.static_mask import static_mask

    def run():
        out = {}
        for job in jobs:
            good = static_mask([job.pixels()[0]], static_sig, compat=compat)
            sig = (job.extver, tuple(job.shape))
            out[sig] = good if sig not in out else (out[sig] & good)
        return out

    return logged(run)


def static_masks_on_client(res) -> dict:
    """Step 2, per-chip tests on the workers: ``(extver, shape) -> bool mask`` (True = good).

    The AND over exposures is exact in any order.
    """
    p = res.params
    client = _options(res).client
    place = placer(client)
    futs = [client.submit(_static_batch, jobs, p["static_sig"], p["stats_compat"], pure=False,
                          **place(b))
            for b, jobs, _ in _groups(res, client, chip_jobs(res))]
    out: dict = {}
    for fut in futs:
        part, records = fut.result()
        replay(records)
        fut.release()
        for sig, good in part.items():
            out[sig] = good if sig not in out else (out[sig] & good)
    return out


# -- step 3 ------------------------------------------------------------------------------
def _sky_chip(job, sky_bits, use_static: bool, wcs: bool = False):
    """The :class:`~drizzlekit.steps.sky.SkyInput` of a job's chip (as ``run_sky`` makes it;
    ``wcs``: with the chip's WCS, for the ``match`` methods)."""
    from ..io.bits import dq_to_mask
    from ..steps.sky import SkyInput

    sci, _, dq = job.pixels()
    mask = combine_masks(None if dq is None or sky_bits is None
                         else dq_to_mask(dq, sky_bits, "sky_bits"),
                         job.static if use_static else None)
    t = job.template
    return SkyInput(data=sci, mask=mask, exptime=t.exptime, in_units=t.in_units,
                    idcscale=t.pscale, wcs=cached_wcs(job.wcs, job.wcs_key) if wcs else None)


def _sky_batch(jobs, sky_bits, use_static: bool, kw: dict):
    """Every chip's :func:`~drizzlekit.steps.sky.sky_statistic` (None: no pixel left)."""
    from ..steps.sky import sky_statistic

    def run():
        return [sky_statistic(_sky_chip(job, sky_bits, use_static), **kw) for job in jobs]

    return logged(run)


def _sky_match_batch(jobs, exposures, frames, sky_bits, use_static: bool, kw: dict,
                     step: int, with_statistic: bool):
    """``[(statistic or None, overlaps)]`` of a batch's chips for the ``match`` methods:
    each chip's :func:`~drizzlekit.steps.sky_match.overlap_statistics` against every
    other exposure (``frames[j]``: exposure ``j``'s chips as ``(packed WCS, key,
    shape)``; ``exposures``: each job's exposure), and its
    :func:`~drizzlekit.steps.sky.sky_statistic` with ``with_statistic``."""
    from ..steps.sky import chip_sky_terms

    def run():
        groups = [[(cached_wcs(w, key), tuple(shape)) for w, key, shape in f] for f in frames]
        out = []
        for job, e in zip(jobs, exposures):
            chip = _sky_chip(job, sky_bits, use_static, wcs=True)
            method = "globalmin+match" if with_statistic else "match"
            out.append(chip_sky_terms(chip, method, groups, e, overlap_step=step, **kw))
        return out

    return logged(run)


def _collect(futs) -> list:
    """The batches' per-chip results, in chip order (warnings logged again here)."""
    out = []
    for fut in futs:
        values, records = fut.result()
        replay(records)
        fut.release()
        out.extend(values)
    return out


def sky_on_client(res) -> dict:
    """Step 3 with the chips' pixel work on the workers: ``(name, extver) -> sky``
    (data units), ``compute_sky``'s numbers.

    ``localmin``/``globalmin``: every chip's statistic comes back.
    ``match``/``globalmin+match``: every chip's statistics over its overlaps with
    the other exposures (each task gets the WCSs and shapes of all chips, no
    pixels) come back, and for ``globalmin+match`` its statistic (for ``match``
    only if the match fails and falls back); the client solves for the offsets.
    """
    from .. import pipeline as pl
    from ..steps.sky import SkyInput, StatisticsOnDemand, compute_sky

    p = res.params
    client = _options(res).client
    place = placer(client)
    method = p["skymethod"]
    kw = dict(skystat=p["skystat"], lower=p["skylower"], upper=p["skyupper"],
              nclip=p["skyclip"], lsigma=p["skylsigma"], usigma=p["skyusigma"],
              binwidth=p["skywidth"], compat=p["stats_compat"])
    jobs = chip_jobs(res)
    groups = list(_groups(res, client, jobs))
    chips = list(res.chips())

    def statistics() -> list:
        return _collect([client.submit(_sky_batch, batch, p["sky_bits"],
                                       bool(p["use_static"]), kw, pure=False, **place(b))
                         for b, batch, _ in groups])

    overlaps = None
    if "match" in method:
        frames: list = [[] for _ in res.exposures]
        for job, (_, e, _) in zip(jobs, chips):
            frames[e].append((job.wcs, job.wcs_key, tuple(job.shape)))
        both = method == "globalmin+match"
        got = _collect([client.submit(_sky_match_batch, batch, [e for _, e, _ in members],
                                      frames, p["sky_bits"], bool(p["use_static"]), kw,
                                      int(p["sky_overlap_step"]), both, pure=False,
                                      **place(b))
                        for b, batch, members in groups])
        overlaps = [ov for _, ov in got]
        stats = [st for st, _ in got] if both else StatisticsOnDemand(len(got), statistics)
    else:
        stats = statistics()
    inputs = [SkyInput(data=_EMPTY, exposure=e, exptime=chip.exptime, in_units=chip.in_units,
                       idcscale=chip.idcscale,
                       wcs=None if chip.idcscale else pl.chip_wcs(res, chip))
              for _, e, chip in chips]
    sky = compute_sky(inputs, skymethod=method, statistics=stats, overlaps=overlaps,
                      overlap_step=p["sky_overlap_step"], **kw)
    return {k: float(v) for (k, _, _), v in zip(chips, sky)}


# -- step 4 ------------------------------------------------------------------------------
def _single_batch(jobs, frame_packed, frame_key, frame_shape, stepsize, kw):
    """The footprints of a batch's exposures (``jobs``: one list per exposure)."""
    from ..mosaic import drizzle_single

    def run():
        frame = cached_wcs(frame_packed, frame_key)
        out = []
        for mine in jobs:
            chips = [j.load() for j in mine]
            pms = [j.pixmap(frame_packed, frame_key, stepsize) for j in mine]
            out.append(drizzle_single(chips, pms, frame, frame_shape, **kw))
        return out

    return logged(run)


def drizzle_separate_tasks(res, opt, kw) -> dict:
    """Single drizzles on the workers (a batch of exposures per task): ``name -> Footprint``."""
    client = opt.client
    frame, fkey = packed(res, res.single_wcs)
    step = res.params["stepsize"] or None
    place = placer(client)
    futures = []
    for b, jobs, chips in _groups(res, client, chip_jobs(res, "driz_sep_bits")):
        per_exp: dict = {}
        for job, (_, e, _) in zip(jobs, chips):
            per_exp.setdefault(e, []).append(job)
        futures.append((list(per_exp), client.submit(
            _single_batch, list(per_exp.values()), frame, fkey, res.single_shape, step, kw,
            pure=False, **place(b))))
    out = {}
    kept = {}  # name -> (client's Footprint, batch future, index): the median reads these
    for exps, fut in futures:
        fps, records = fut.result()
        replay(records)
        for i, (e, fp) in enumerate(zip(exps, fps)):
            if opt.scratch.on_disk:
                fp.sci = opt.scratch.keep(fp.sci, f"single{e}_sci")
                fp.wht = opt.scratch.keep(fp.wht, f"single{e}_wht")
            out[res.names[e]] = fp
            kept[res.names[e]] = (fp, fut, i)
    release_singles(opt)
    opt.pending["singles"] = kept
    opt.scratch.on_close(lambda: release_singles(opt))
    return {name: out[name] for name in res.names if name in out}


def release_singles(opt) -> None:
    """Let the workers drop the single drizzles kept for the median."""
    kept = opt.pending.pop("singles", None) or {}
    for fut in {id(f): f for _, f, _ in kept.values()}.values():
        fut.release()


# -- step 5 ------------------------------------------------------------------------------
def _cut_on_worker(batch, i: int, r0: int, r1: int):
    """Rows ``r0:r1`` of footprint ``i`` of a step-4 batch result (on the worker)."""
    return batch[0][i].cut_rows(r0, r1)


def _band_task(func, band, cuts):
    """``func(band, cuts)`` with the remote cuts ``(batch, i, r0, r1)`` made here."""
    with tuned_malloc():
        return func(band, [c if not isinstance(c, tuple) else _cut_on_worker(*c)
                           for c in cuts])


def band_mapper(client, remote=None):
    """``band_map`` for :func:`drizzlekit.tiles.median_bands` on a client.

    ``remote[j]``: ``(footprint, batch future, index)`` when footprint ``j`` is
    still on the worker that made it (step 4); a band task then gets the
    future and cuts the rows there (the scheduler moves batches between
    workers, not through the client). Other footprints' rows are shipped.
    """
    def run(func, bands, cuts):
        args = []
        for band_cuts in cuts:
            row = []
            for j, c in enumerate(band_cuts):
                hit = None if remote is None else remote[j]
                if hit is not None and c.sci.size:
                    row.append((hit[1], hit[2], c.y0, c.y1))
                else:
                    row.append(c)
            args.append(row)
        import uuid

        futures = [client.submit(_band_task, func, b, row, key=f"combine_band-{uuid.uuid4().hex}")
                   for b, row in zip(bands, args)]
        return client.gather(futures)

    return run


# -- step 6 ------------------------------------------------------------------------------
def _blot_batch(jobs, median, frame_packed, frame_key, stepsize, kws):
    """The blots of a batch's chips (``kws``: each chip's ``blot_chip`` keywords)."""
    from ..steps.blot_step import blot_chip

    with tuned_malloc():
        frame = cached_wcs(frame_packed, frame_key)
        return [blot_chip(median, frame, None, tuple(job.shape),
                          pixmap=job.pixmap(frame_packed, frame_key, stepsize), **kw)
                for job, kw in zip(jobs, kws)]


def blot_on_client(res) -> dict:
    """Step 6 on the workers: ``(name, extver) -> blot`` (``run_blot``'s numbers).

    The median is broadcast once. With ``driz_cr`` on, step 7's tasks are
    submitted at once, each with its batch's blots future (on the worker that
    made them), and run while the client collects the blots (kept in the
    scratch files with ``in_memory=False``).
    """
    from ..steps.cr_checks import resolve_snr

    p = res.params
    opt = _options(res)
    client = opt.client
    median = client.scatter(np.asarray(res.median), broadcast=True)
    frame, fkey = packed(res, res.single_wcs)
    step = p["stepsize"] or None
    place = placer(client)
    groups = list(_groups(res, client, chip_jobs(res)))
    futures = []
    for b, jobs, chips in groups:
        kws = []
        for key, e, chip in chips:
            sky = res.computed_sky.get(key) if p["blot_addsky"] else p["blot_skyval"]
            kws.append(dict(exptime=chip.exptime, pscale=chip.idcscale,
                            conversion_factor=chip.conversion_factor, sky=sky,
                            interp=p["blot_interp"], sinscl=p["blot_sinscl"]))
        futures.append(client.submit(_blot_batch, jobs, median, frame, fkey, step, kws,
                                     pure=False, **place(b)))
    opt.pending.pop("driz_cr", None)
    if p["driz_cr"]:
        snr = resolve_snr(p["driz_cr_noise_model"], p["driz_cr_snr"])
        opt.pending["driz_cr"] = (snr, _submit_cr(res, snr, groups, futures))
    out, k = {}, 0
    for (_, _, chips), fut in zip(groups, futures):  # in_memory=False: kept on disk
        for (key, _, _), blot in zip(chips, fut.result()):
            out[key] = opt.scratch.keep(blot, f"blot{k}")
            k += 1
    return {key: out[key] for key, _, _ in res.chips()}


# -- step 7 ------------------------------------------------------------------------------
def _cr_batch(jobs, blots, kws):
    """``[(mask, clean or None)]`` of a batch's chips (``blots`` in the same order)."""
    from ..steps.driz_cr import flag_chip

    def run():
        out = []
        for job, blot, kw in zip(jobs, blots, kws):
            sci, _, dq = job.pixels()
            out.append(flag_chip(sci, dq, blot, **kw))
        return out

    return logged(run)


def _submit_cr(res, snr, groups, blots) -> list:
    """``[(keys, future)]``: the CR flagging of every batch (``blots``: one future or
    list of arrays per batch)."""
    from .. import pipeline as pl

    client = _options(res).client
    place = placer(client)
    out = []
    for (b, jobs, chips), blot in zip(groups, blots):
        kws = [pl.cr_arguments(res, key, chip, snr) for key, _, chip in chips]
        out.append(([key for key, _, _ in chips],
                    client.submit(_cr_batch, jobs, blot, kws, pure=False, **place(b))))
    return out


def driz_cr_on_client(res, snr):
    """Step 7 on the workers; yields ``(key, (mask, clean or None))`` in order.

    The tasks step 6 started are collected (when made with the same ``snr``);
    otherwise they are submitted now with the blot arrays.
    """
    opt = _options(res)
    started = opt.pending.pop("driz_cr", None)
    keys = [key for key, _, _ in res.chips()]
    if started is not None and started[0] == snr and \
            [k for ks, _ in started[1] for k in ks] == keys:
        futs = started[1]
    else:
        groups = list(_groups(res, opt.client, chip_jobs(res)))
        futs = _submit_cr(res, snr, groups,
                          [[res.blots[key] for key, _, _ in chips] for _, _, chips in groups])
    k = 0
    for batch_keys, fut in futs:
        results, records = fut.result()
        replay(records)
        fut.release()
        for key, (mask, clean) in zip(batch_keys, results):
            if clean is not None:  # in_memory=False: kept on disk
                clean = opt.scratch.keep(clean, f"crclean{k}")
            k += 1
            yield key, (mask, clean)
