"""Work on parts of the output frame: the median in row bands, drizzling one box.

:func:`drizzle_virtual` drizzles chips onto one box of a big frame exactly as
the full frame gets them (single drizzles on footprints, final-drizzle tiles
of a distributed run).

The median in output row bands, from only the exposures that cover a band:

:func:`median_bands` gives exactly :func:`drizzlekit.steps.median.combine_median`
on the full-frame stack (bit for bit; ``tests/test_memory_scaling.py``) but
never builds that stack: the output rows are processed in bands whose
buffers (``k x rows x nx`` values, ``k`` = exposures whose footprint meets
the band) stay below ``max_memory`` bytes, and an exposure whose footprint
misses a band is left out of it.

Leaving an exposure out is exact when it is *bad* everywhere in the band:
weight masks on (``newmasks`` with ``maskpt > 0``) and a single image of 0
outside its footprint (no ``driz_sep_fillval``); the stack is then padded
with all-bad zero images to ``min(N, 3)`` so the rules that depend on the
stack size (minmed's mean for two images, the ``compat`` 'i' rule) see the
same case. Otherwise every exposure enters every band (still bounded in
memory, more work).

The per-image weight-mask level (``maskpt x`` mean positive weight) is
taken over the whole single image, as in ``combine_median``.
"""

from __future__ import annotations

import logging
import functools
from typing import Callable, Sequence

import numpy as np

from .footprint import Footprint, drop_margin
from .steps import median as med

__all__ = ["median_bands", "band_rows", "drizzle_virtual", "MAX_MEMORY"]

log = logging.getLogger(__name__)

#: Default bound (bytes) on the median's working buffers, see :func:`band_rows`.
MAX_MEMORY = 256 * 2 ** 20

#: Bytes per stacked value while combining: float32 data and weight, the bad
#: mask, and the float64 sort buffer and temporaries of ``combine_median``.
BYTES_PER_VALUE = 48


def band_rows(n_images: int, nx: int, max_memory: int | None = None, halo: int = 0) -> int:
    """Rows per band so that ``n_images x rows x nx`` values fit ``max_memory``.

    Parameters
    ----------
    n_images : int
        Largest number of images in a band.
    nx : int
        Row length, pixels.
    max_memory : int, optional
        Bytes (default :data:`MAX_MEMORY`).
    halo : int
        Extra rows above and below every band (minmed's ``grow``).

    Returns
    -------
    int
        At least 16 rows (and at least ``2 * halo + 1``).
    """
    budget = MAX_MEMORY if max_memory is None else int(max_memory)
    per_row = max(1, n_images) * max(1, nx) * BYTES_PER_VALUE
    rows = budget // per_row - 2 * halo
    return int(max(rows, 16, 2 * halo + 1))


def _weight_levels(footprints: Sequence[Footprint], maskpt: float) -> list:
    """``maskpt x`` mean positive weight of every image (None: no positive weight)."""
    out = []
    for fp in footprints:
        w = np.asarray(fp.wht)
        pos = w[w >= 1e-8]
        out.append(None if pos.size == 0 else maskpt * pos.mean(dtype=np.float64))
    return out


def median_bands(footprints: Sequence[Footprint], frame_shape: tuple[int, int], *,
                 combine_type: str = "minmed", nlow: int = 0, nhigh: int = 0,
                 lthresh: float | None = None, hthresh: float | None = None,
                 nsigma=(4.0, 3.0), grow: int = 1, maskpt: float = 0.3,
                 newmasks: bool = True, exptimes: Sequence[float] | None = None,
                 readnoise: Sequence[float] | None = None,
                 backgrounds: Sequence[float] | None = None, compat: bool = False,
                 max_memory: int | None = None, out: np.ndarray | None = None,
                 bands: Sequence[tuple[int, int]] | None = None,
                 band_map: Callable | None = None, min_bands: int = 1) -> np.ndarray:
    """Median of single drizzles stored on footprints (``combine_median``'s numbers).

    Parameters
    ----------
    footprints : sequence of Footprint
        The single drizzles, in processing order.
    frame_shape : (ny, nx)
        The full frame.
    combine_type ... compat
        As :func:`drizzlekit.steps.median.combine_median`.
    max_memory : int, optional
        Bound on the band buffers, bytes (default :data:`MAX_MEMORY`).
    out : float32 array, optional
        Where to write the median (e.g. a memory map); default a new array.
    bands : sequence of (r0, r1), optional
        Row bands to compute (default: all rows, sized by ``max_memory``).
    band_map : callable, optional
        ``band_map(func, bands, cuts)`` returning ``[func(b, c) for b, c in zip(bands,
        cuts)]`` (the distributed dispatcher passes its own); ``cuts`` hold only the
        footprint rows each band reads.
    min_bands : int
        Split the rows into at least this many bands (work for several
        workers); the result does not depend on the bands.

    Returns
    -------
    numpy.ndarray of float32, shape ``frame_shape``
    """
    ny, nx = (int(v) for v in frame_shape)
    n = len(footprints)
    nsigma = tuple(np.atleast_1d(np.asarray(nsigma, dtype=float)).tolist())
    nsigma = nsigma * 2 if len(nsigma) == 1 else nsigma
    med.check_options(combine_type, nlow, nhigh, grow, nsigma, n, ny)
    minmed = combine_type.endswith("minmed")
    per_image = None
    if minmed:
        per_image = (med.per_image_values(exptimes, n, "exptimes", positive=True),
                     med.per_image_values(readnoise, n, "readnoise"),
                     med.per_image_values(backgrounds, n, "backgrounds"))
    levels = _weight_levels(footprints, maskpt) if (newmasks and combine_type != "sum") \
        else None
    zero_fill = all(float(fp.fill) == 0.0 for fp in footprints)
    if combine_type == "sum":
        can_skip = zero_fill
    else:
        can_skip = zero_fill and bool(newmasks) and maskpt > 0
    g = int(grow) if minmed else 0
    if out is None:
        out = np.empty((ny, nx), dtype=np.float32)
    if bands is None:
        rows = band_rows(n if not can_skip else _band_count(footprints, ny), nx, max_memory, g)
        rows = min(rows, max(16, 2 * g + 1, -(-ny // max(1, int(min_bands)))))
        bands = [(r0, min(r0 + rows, ny)) for r0 in range(0, ny, rows)]
    common = dict(ny=ny, nx=nx, combine_type=combine_type, nlow=int(nlow), nhigh=int(nhigh),
                  lthresh=lthresh, hthresh=hthresh, nsigma=nsigma, g=g,
                  newmasks=bool(newmasks), levels=levels, per_image=per_image,
                  compat=compat, can_skip=can_skip, n_total=n)

    def cut(band):  # only the rows (with the halo) that the band reads
        lo, hi = max(0, band[0] - g), min(ny, band[1] + g)
        return [fp.cut_rows(lo, hi) for fp in footprints]

    if band_map is None:
        results = (combine_band(b, cut(b), **common) for b in bands)
    else:
        results = band_map(functools.partial(combine_band, **common), bands,
                           [cut(b) for b in bands])
    from .scratch import release_pages

    for (r0, r1), part in zip(bands, results):
        out[r0:r1] = part
        # memory-mapped single drizzles and median (in_memory=False): the rows just
        # read or written leave this process's resident memory (they stay in the files)
        release_pages(out, *(a for fp in footprints for a in (fp.sci, fp.wht)))
    return out


def _band_count(footprints: Sequence[Footprint], ny: int) -> int:
    from .footprint import max_coverage

    return max(max_coverage(footprints, (ny, 1)), min(len(footprints), 3))


def combine_band(band: tuple[int, int], footprints: Sequence[Footprint], *, ny, nx,
                 combine_type, nlow, nhigh, lthresh, hthresh, nsigma, g, newmasks, levels,
                 per_image, compat, can_skip, n_total) -> np.ndarray:
    """The median rows ``band[0]:band[1]`` (float32, ``(rows, nx)``).

    ``footprints``: every image (in order), at least the band's rows and halo.
    """
    r0, r1 = band
    lo, hi = max(0, r0 - g), min(ny, r1 + g)
    n = n_total
    if can_skip:
        idx = [i for i, fp in enumerate(footprints) if fp.intersects(lo, hi)]
    else:
        idx = list(range(n))
    pad = max(0, min(n, 3) - len(idx)) if combine_type != "sum" else 0
    k = len(idx) + pad
    if k == 0:  # sum over nothing
        return np.zeros((r1 - r0, nx), dtype=np.float32)
    data = np.zeros((k, hi - lo, nx), dtype=np.float32)
    for j, i in enumerate(idx):
        data[j] = footprints[i].rows("sci", lo, hi, nx)
    if combine_type == "sum":
        res = data.sum(axis=0, dtype=np.float64)
        return res[r0 - lo:r1 - lo].astype(np.float32)
    w = np.zeros((k, hi - lo, nx), dtype=np.float32)
    for j, i in enumerate(idx):
        w[j] = footprints[i].rows("wht", lo, hi, nx)
    if newmasks:
        bad = np.ones(data.shape, dtype=bool)
        for j, i in enumerate(idx):
            if levels[i] is not None:
                bad[j] = w[j] < levels[i]
    else:
        bad = np.zeros(data.shape, dtype=bool)
        bad[len(idx):] = True
    bad |= ~np.isfinite(data)
    if combine_type.endswith("minmed"):
        exps, rns, bgs = (np.concatenate([v[idx], np.full(pad, fill)]) for v, fill in
                          zip(per_image, (1.0, 0.0, 0.0)))
        chunk = np.where(np.isfinite(data), data, 0)
        part = med.minmed_rows(chunk, w, bad, bool(newmasks), combine_type, nsigma, g,
                               exps, rns, bgs, compat)
    else:
        bad |= med.threshold_bad(data, lthresh, hthresh)
        part = med.numcombine(combine_type, data, bad, nlow, nhigh, compat)
    return part[r0 - lo:r1 - lo].astype(np.float32)


# -- drizzling one box of a big frame ------------------------------------------------------
def _input_range(pm: np.ndarray, box, margin: int | None) -> dict | None:
    """``xmin, xmax, ymin, ymax`` (inclusive) of the input pixels whose drops can reach
    ``box`` (pixel centres within ``margin`` + 2 output pixels of it); ``{}`` = all
    (unknown drop size), None = none."""
    if margin is None:
        return {}
    y0, y1, x0, x1 = box
    m = float(margin) + 2.0
    x, y = pm[..., 0], pm[..., 1]
    with np.errstate(invalid="ignore"):
        sel = (x > x0 - m) & (x < x1 + m) & (y > y0 - m) & (y < y1 + m)
    rows = np.flatnonzero(sel.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(sel.any(axis=0))
    return dict(xmin=int(cols[0]), xmax=int(cols[-1]), ymin=int(rows[0]), ymax=int(rows[-1]))


def drizzle_virtual(box, items, frame_shape, out_pscale: float, chip_boxes, *, nctx,
                    kernel, pixfrac, fillval, initial, wht_type, wt_scl, wt_scl_name,
                    context, lanczos_pixfrac: bool = True, variance: bool = False,
                    clip_inputs: bool = False):
    """Drizzle chips onto the ``box`` of a full frame, exactly as the full frame would get them.

    The chips are drizzled in full-frame coordinates onto full-frame arrays that are
    only *virtually* allocated (``np.zeros``: pages nobody writes take no memory);
    only the tile and the chips' boxes are initialised and touched. (Shifting the
    pixel maps to a small array instead changes the rounding of drop corners in the
    last bit for a few pixels.)

    Parameters
    ----------
    box : (y0, y1, x0, x1)
        The part of the frame returned.
    items : iterable of (k, DrizzleInput, pixmap)
        Chips in order with their 0-based context ids and full-frame pixel maps.
    frame_shape : (ny, nx)
    out_pscale : float
        Output pixel scale, arcsec.
    chip_boxes : sequence of (y0, y1, x0, x1)
        Where the chips' drops can land.
    nctx, kernel ... context
        As :func:`drizzlekit.steps.drizzle_steps.drizzle_chips`.
    lanczos_pixfrac : bool
        Scale ``lanczos2/3`` by ``pixfrac`` as drizzlepac does (the pipeline);
        False: ignore it as ``drizzle`` 3.0 does (:class:`drizzlekit.Drizzle`).
    variance : bool
        Also propagate the chips' ERR arrays as ``drizzle_chips(...,
        variance=True)`` does (``final_err``).
    clip_inputs : bool
        Drizzle only the input pixels whose drops can reach ``box`` (a box much
        smaller than the chips: the final-drizzle tiles); the others add nothing
        to it, and every output pixel of the box gets the same contributions in
        the same order.

    Returns
    -------
    (sci, wht, ctx or None, wt_scl list, nmiss list, var or None)
        The box's cut (copies).
    """
    from .resample import Drizzle, _fill_value
    from .steps.drizzle_steps import _check_chip, _chip_pscale, chip_data, chip_weight

    y0, y1, x0, x1 = box
    tile = (slice(y0, y1), slice(x0, x1))
    if 0 < pixfrac < 0.001:
        kernel = "point"
    init = np.float32(np.nan if initial is None else float(initial))
    fv = _fill_value(fillval)
    out_img = np.zeros(tuple(frame_shape), dtype=np.float32)  # virtual until written
    out_wht = np.zeros(tuple(frame_shape), dtype=np.float32)
    if init != 0:
        out_img[tile] = init
        for by0, by1, bx0, bx1 in chip_boxes:
            out_img[by0:by1, bx0:bx1] = init
    out_var = None
    if variance:  # NaN where drizzle_chips starts from NaN (wherever drops can land)
        from .steps.variance import check_err, chip_variance

        out_var = np.zeros(tuple(frame_shape), dtype=np.float32)
        out_var[tile] = np.nan
        for by0, by1, bx0, bx1 in chip_boxes:
            out_var[by0:by1, bx0:bx1] = np.nan
    # exptime > 0: no scan of the (virtual) outputs for earlier weights
    driz = Drizzle(kernel=kernel, fillval=None, out_img=out_img, out_wht=out_wht,
                   out_img2=out_var, exptime=1.0, begin_ctx_id=0, max_ctx_id=max(nctx - 1, 0),
                   disable_ctx=not context, on_no_overlap="ignore",
                   lanczos_pixfrac=lanczos_pixfrac)
    scales, misses, n = [], [], 0
    for k, chip, pm in items:
        n += 1
        _check_chip(chip)
        s = out_pscale / _chip_pscale(chip)
        weight, wscale = chip_weight(chip, wht_type, wt_scl, s, wt_scl_name=wt_scl_name)
        if context:
            driz._ctx_id = k
        data2 = None
        if variance:
            check_err(chip, wht_type)
            data2 = chip_variance(chip, weight)
        rng = {} if not clip_inputs else _input_range(pm, box, drop_margin(kernel, pixfrac, s))
        if rng is None:  # no drop reaches the box
            nmiss = int(np.asarray(chip.data).size)
        else:
            nmiss, _ = driz.add_image(chip_data(chip), exptime=float(chip.exptime), pixmap=pm,
                                      data2=data2, iscale=s * s, pixel_scale_ratio=s,
                                      weight_map=weight, wht_scale=wscale, pixfrac=pixfrac,
                                      in_units=chip.in_units, **rng)
        scales.append(wscale)
        misses.append(int(nmiss))
        if fv is not None:  # Drizzle's fill after every image, on the box only
            cut = driz.out_img[tile]
            cut[driz.out_wht[tile] == 0] = fv
    # the box's cut: a copy frees the rest of the virtual frame; a box of most of the
    # frame is kept as a view (no copy; its untouched pages still take no memory)
    whole = 2 * (y1 - y0) * (x1 - x0) >= frame_shape[0] * frame_shape[1]
    if whole:
        driz_img, driz_wht = driz.out_img[tile], driz.out_wht[tile]
    sci = driz_img if whole else np.array(driz.out_img[tile])
    wht = driz_wht if whole else np.array(driz.out_wht[tile])
    if not n and fv is not None:
        sci[...] = fv
    ctx = None
    if context:
        nplanes = max(nctx - 1, 0) // 32 + 1
        ctx = driz.out_ctx[(slice(None),) + tile]
        ctx = ctx if whole else np.array(ctx)
        if ctx.shape[0] < nplanes:
            ctx = np.concatenate([ctx, np.zeros((nplanes - ctx.shape[0],) + ctx.shape[1:],
                                                np.int32)])
    var = None
    if variance:
        var = out_var[tile] if whole else np.array(out_var[tile])
        var[wht == 0] = np.nan
    return sci, wht, ctx, scales, misses, var
