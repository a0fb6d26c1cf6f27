"""The built-in numba drizzle kernels.

Each ``_<name>_band`` function drizzles the input rows whose drops can reach
the output rows ``band_lo..band_hi`` and deposits **only** into those rows.
:func:`run_builtin` runs one band per thread (the band functions release the
GIL): bands never share an output pixel, and within a band input pixels are
visited in raster order, so the result is identical to a serial run (no
races, deterministic).

Every kernel follows drizzle's C core (``cdrizzlebox.c``) formulas, with two
deliberate differences (documented in :mod:`drizzlekit.kernels` and the README):
drops that straddle the edge of the output grid are clipped to it (drizzle
drops them, losing weight on tiles), and ``lanczos`` is evaluated
analytically rather than from a coarse look-up table.
"""

import math

import numpy as np
from numba import njit

from .._jit import LOOP_OPTIONS
from .._threads import run_parts
from ._common import deposit, fortran_round, interpolate_point
from .geometry import area_below, circle_rect_area, clip_polygon, polygon_area

SQUARE, TURBO, POINT, GAUSSIAN, TOPHAT, LANCZOS2, LANCZOS3 = range(7)

#: Options of the per-pixel loops: no allocation, no reference counting (see
#: :mod:`drizzlekit._jit`); scratch space comes in as ``work``.
_LOOP = LOOP_OPTIONS
#: Rows of the ``work`` scratch array each band gets from :func:`run_builtin`.
_WORK_ROWS = 6


@njit(**_LOOP)
def _fill_corner_row(pixmap, y, xs, npts, cx, cy, degenerate):
    """Map input points (xs[k], y) to the output; handles 1-pixel-wide inputs."""
    for k in range(npts):
        if degenerate:
            cx[k], cy[k] = _map_degenerate(pixmap, xs[k], y)
        else:
            cx[k], cy[k] = interpolate_point(pixmap, xs[k], y)


@njit(**_LOOP)
def _map_degenerate(pixmap, x, y):
    """Map a point of a one-row and/or one-column input.

    Along an axis of length 1 the pixmap carries no derivative; the local
    step along it is taken as the other axis' step rotated by +90 degrees
    (a conformal, parity-preserving assumption), or the identity if the
    input is a single pixel.
    """
    ny = pixmap.shape[0]
    nx = pixmap.shape[1]
    i0 = min(max(np.int64(x), 0), max(nx - 2, 0))
    j0 = min(max(np.int64(y), 0), max(ny - 2, 0))
    bx = pixmap[j0, i0, 0]
    by = pixmap[j0, i0, 1]
    if nx > 1:
        sxx = pixmap[j0, i0 + 1, 0] - bx
        sxy = pixmap[j0, i0 + 1, 1] - by
    else:
        sxx = np.nan
        sxy = np.nan
    if ny > 1:
        syx = pixmap[j0 + 1, i0, 0] - bx
        syy = pixmap[j0 + 1, i0, 1] - by
    else:
        syx = np.nan
        syy = np.nan
    if nx == 1 and ny == 1:
        sxx, sxy, syx, syy = 1.0, 0.0, 0.0, 1.0
    elif nx == 1:
        sxx, sxy = syy, -syx
    elif ny == 1:
        syx, syy = -sxy, sxx
    dx = x - i0
    dy = y - j0
    return bx + dx * sxx + dy * syx, by + dx * sxy + dy * syy


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _row_clip_area(ax, ay, m, yl, yr, clip_lo, clip_hi, bx, by, cx, cy):
    """Area of polygon (ax, ay)[:m] between y = yl and y = yr (buffers bx.., cx..)."""
    if clip_lo:
        m = clip_polygon(ax, ay, m, 1, yl, True, bx, by)
        if clip_hi:
            m = clip_polygon(bx, by, m, 1, yr, False, cx, cy)
            return polygon_area(cx, cy, m) if m >= 3 else 0.0
        return polygon_area(bx, by, m) if m >= 3 else 0.0
    m = clip_polygon(ax, ay, m, 1, yr, False, bx, by)
    return polygon_area(bx, by, m) if m >= 3 else 0.0


@njit(**_LOOP)
def _square_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit,
                 data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax,
                 dscale, pscale_ratio, pixfrac, wtscale, band_lo, band_hi,
                 row_lo, row_hi, hits, work):
    nyo, nxo = out_img.shape
    dh = 0.5 * pixfrac
    n = xmax - xmin + 1
    shared = dh == 0.5
    npts = n + 1 if shared else 2 * n
    xs = work[0, :npts]
    for k in range(n):
        if shared:
            xs[k] = xmin + k - 0.5
        else:
            xs[2 * k] = xmin + k - dh
            xs[2 * k + 1] = xmin + k + dh
    if shared:
        xs[n] = xmax + 0.5
    degenerate = pixmap.shape[0] < 2 or pixmap.shape[1] < 2
    bx = work[1, :npts]
    by = work[2, :npts]
    tx = work[3, :npts]
    ty = work[4, :npts]
    small = work[5]  # 4 + 6 * 12 polygon buffers
    qx = small[0:4]
    qy = small[4:8]
    ax = small[8:20]
    ay = small[20:32]
    bx2 = small[32:44]
    by2 = small[44:56]
    cx2 = small[56:68]
    cy2 = small[68:80]
    last = -(1 << 40)
    for j in range(ymin, ymax + 1):
        kr = j - ymin
        if row_lo[kr] > band_hi or row_hi[kr] < band_lo:
            continue
        if shared and last == j - 1:
            bx, tx = tx, bx
            by, ty = ty, by
        else:
            _fill_corner_row(pixmap, j - dh, xs, npts, bx, by, degenerate)
        _fill_corner_row(pixmap, j + dh, xs, npts, tx, ty, degenerate)
        last = j
        for i in range(xmin, xmax + 1):
            # float32 product, as drizzle's C core (weight and wtscale are float32)
            w = np.float32((weight[j, i] if weight is not None else np.float32(1.0)) * wtscale)
            if not (w > 0.0 and w < np.inf):  # zero, NaN or inf weight: masked
                continue
            kl = i - xmin if shared else 2 * (i - xmin)
            kr2 = kl + 1
            # corners in drizzle's order: (-,+), (+,+), (+,-), (-,-)
            qx[0] = tx[kl]
            qy[0] = ty[kl]
            qx[1] = tx[kr2]
            qy[1] = ty[kr2]
            qx[2] = bx[kr2]
            qy[2] = by[kr2]
            qx[3] = bx[kl]
            qy[3] = by[kl]
            jaco = 0.5 * ((qx[1] - qx[3]) * (qy[0] - qy[2]) - (qx[0] - qx[2]) * (qy[1] - qy[3]))
            if not math.isfinite(jaco) or jaco == 0.0:
                continue
            jaco = abs(jaco)
            xlo = min(min(qx[0], qx[1]), min(qx[2], qx[3]))
            xhi = max(max(qx[0], qx[1]), max(qx[2], qx[3]))
            ylo = min(min(qy[0], qy[1]), min(qy[2], qy[3]))
            yhi = max(max(qy[0], qy[1]), max(qy[2], qy[3]))
            ext = max(xhi - xlo, yhi - ylo)
            if jaco <= 1e-9 * ext * ext:  # a numerically flat drop: no meaningful area
                continue
            ii0 = fortran_round(xlo)
            ii1 = fortran_round(xhi)
            jj0 = fortran_round(ylo)
            jj1 = fortran_round(yhi)
            ia = max(ii0, 0)
            ib = min(ii1, nxo - 1)
            ja = max(jj0, 0)
            jb = min(jj1, nyo - 1)
            if ia > ib or ja > jb:
                continue
            if band_lo <= ja <= band_hi:
                hits[kr] += 1
            ja = max(ja, band_lo)
            jb = min(jb, band_hi)
            if ja > jb:
                continue
            # areas in coordinates local to the first output pixel: the shoelace
            # on absolute coordinates would lose ~eps * x * y
            for k in range(4):
                qx[k] -= ii0
                qy[k] -= jj0
            xlo -= ii0
            xhi -= ii0
            ylo -= jj0
            yhi -= jj0
            d = np.float32(data[j, i] * dscale)
            if not math.isfinite(d):  # NaN/inf data: masked, never spread
                continue
            dqv = dq[j, i] if dq is not None else np.uint32(0)
            if ii0 == ii1 and jj0 == jj1:  # fast path: drop inside one output pixel
                deposit(ii0, jj0, d, np.float32(w), out_img, out_wht, out_ctx,
                        ctx_bit, data2, j, i, out_img2, dqv, out_dq)
                continue
            if ii1 - ii0 <= 1 and jj1 - jj0 <= 1:
                # drop over at most 2x2 output pixels: three clipped areas and
                # inclusion-exclusion give all four overlaps
                left = area_below(qx, qy, 4, 0, 0.5) if ii1 > ii0 else jaco
                below = area_below(qy, qx, 4, 0, 0.5) if jj1 > jj0 else jaco
                if ii1 > ii0 and jj1 > jj0:
                    m = clip_polygon(qx, qy, 4, 0, 0.5, False, bx2, by2)
                    corner = area_below(bx2, by2, m, 1, 0.5) if m >= 3 else 0.0
                else:
                    corner = min(left, below)
                tiny = 1e-12 * jaco
                for jj in range(ja, jb + 1):
                    for ii in range(ia, ib + 1):
                        if ii == ii0:
                            area = corner if jj == jj0 else left - corner
                        else:
                            area = below - corner if jj == jj0 else jaco - left - below + corner
                        if area > tiny:
                            # roundoff never gives a pixel more than the whole drop
                            deposit(ii, jj, d, np.float32(min(area / jaco, 1.0) * w), out_img,
                                    out_wht, out_ctx, ctx_bit, data2, j, i,
                                    out_img2, dqv, out_dq)
                continue
            for ii in range(ia, ib + 1):
                xl = ii - ii0 - 0.5
                xr = xl + 1.0
                for k in range(4):
                    ax[k] = qx[k]
                    ay[k] = qy[k]
                m = 4
                if xlo < xl:
                    m = clip_polygon(ax, ay, m, 0, xl, True, bx2, by2)
                    for k in range(m):
                        ax[k] = bx2[k]
                        ay[k] = by2[k]
                if xhi > xr:
                    m = clip_polygon(ax, ay, m, 0, xr, False, bx2, by2)
                    for k in range(m):
                        ax[k] = bx2[k]
                        ay[k] = by2[k]
                if m < 3:
                    continue
                col_area = polygon_area(ax, ay, m)
                if col_area <= 0.0:
                    continue
                pylo = ay[0]
                pyhi = ay[0]
                for k in range(1, m):
                    pylo = min(pylo, ay[k])
                    pyhi = max(pyhi, ay[k])
                for jj in range(ja, jb + 1):
                    yl = jj - jj0 - 0.5
                    yr = yl + 1.0
                    if pyhi <= yl or pylo >= yr:
                        continue
                    if pylo >= yl and pyhi <= yr:
                        area = col_area
                    else:
                        area = _row_clip_area(ax, ay, m, yl, yr, pylo < yl, pyhi > yr,
                                              bx2, by2, cx2, cy2)
                    if area > 0.0:
                        dow = np.float32(area / jaco * w)
                        deposit(ii, jj, d, dow, out_img, out_wht, out_ctx, ctx_bit,
                                data2, j, i, out_img2, dqv, out_dq)


@njit(cache=True, nogil=True, error_model="numpy")
def _lanczos(u, order):
    """Lanczos window sinc(u) sinc(u/order) for |u| < order, else 0."""
    u = abs(u)
    if u >= order:
        return 0.0
    if u < 1e-12:
        return 1.0
    pu = math.pi * u
    return math.sin(pu) / pu * math.sin(pu / order) / (pu / order)


#: sin and cos of pi * 2k / _SINCOS_N for k = 0.._SINCOS_N (one period of sin(pi u)).
_SINCOS_N = 1024
_SINCOS_TABLE = np.stack([np.sin(np.pi * 2.0 * np.arange(_SINCOS_N + 1) / _SINCOS_N),
                          np.cos(np.pi * 2.0 * np.arange(_SINCOS_N + 1) / _SINCOS_N)])


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sincospi(u):
    """(sin(pi u), cos(pi u)) to double precision (error < 1e-15), without libm calls.

    A table node within pi/512 of the angle, then angle addition with the
    Taylor series of the remainder d (|d| < 3.1e-3; truncation ~d^7/5040).
    """
    x = u - 2.0 * math.floor(0.5 * u)  # u mod 2, in [0, 2)
    k = np.int64(x * (0.5 * _SINCOS_N))
    d = math.pi * (x - k * (2.0 / _SINCOS_N))
    d2 = d * d
    sd = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0))
    cd = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0))
    s0 = _SINCOS_TABLE[0, k]
    c0 = _SINCOS_TABLE[1, k]
    return s0 * cd + c0 * sd, c0 * cd - s0 * sd


@njit(**_LOOP)
def _lanczos_row(u0, step, order, rot, out, n):
    """``out[k] = L(u0 - k step)`` for k < n, L the Lanczos window of :func:`_lanczos`.

    Per row, sin and cos of pi u0 and pi u0 / order from :func:`_sincospi`;
    along the row sin(pi u) and sin(pi u / order) advance by angle-addition
    rotations (error ~1e-15). ``rot`` holds sin and cos of the steps
    ``pi step`` and ``pi step / order``.
    """
    sa, ca = _sincospi(u0)
    sb, cb = _sincospi(u0 / order)
    sda, cda, sdb, cdb = rot[0], rot[1], rot[2], rot[3]
    for k in range(n):
        u = u0 - k * step
        au = abs(u)
        if au >= order:
            out[k] = 0.0
        elif au < 1e-12:
            out[k] = 1.0
        else:
            pu = math.pi * u
            out[k] = sa * sb * order / (pu * pu)
        sa, ca = sa * cda - ca * sda, ca * cda + sa * sda
        sb, cb = sb * cdb - cb * sdb, cb * cdb + sb * sdb


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _centred_band(code, data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit,
                  data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax,
                  dscale, pscale_ratio, pixfrac, wtscale, band_lo, band_hi,
                  row_lo, row_hi, hits, work):
    """Kernels whose drop is centred on the mapped pixel centre (all but square).

    Inlined into one small wrapper per kernel (below) that passes a constant
    ``code``, so each kernel's machine code has the other kernels' branches
    folded away.
    """
    nyo, nxo = out_img.shape
    s = pscale_ratio
    p = pixfrac
    area_norm = 1.0
    efac = 0.0
    es = 0.0
    order = 3
    sdp = 1.0
    if code == TURBO:
        pfo = p / s / 2.0
        area_norm = (1.0 / (p * p)) * s * s  # drizzle's "ac * s * s", same rounding
    elif code == GAUSSIAN:
        pfo = max(2.5 * p / 2.3548 / s, 1.2 / s)
        efac = (2.3548 * 2.3548) * s * s / (p * p) / 2.0
        es = efac / math.pi
    elif code == TOPHAT:
        pfo = p / s / 2.0  # radius of the circular drop in output pixels
        area_norm = 1.0 / (math.pi * pfo * pfo)
    elif code == LANCZOS2 or code == LANCZOS3:
        order = 2 if code == LANCZOS2 else 3
        pfo = order * p / s
        sdp = s / p
    else:
        pfo = 0.0
    rot = work[2, :4]  # sin, cos of the Lanczos rotation steps (see _lanczos_row)
    rot[0] = math.sin(math.pi * sdp)
    rot[1] = math.cos(math.pi * sdp)
    rot[2] = math.sin(math.pi * sdp / order)
    rot[3] = math.cos(math.pi * sdp / order)
    sep_x = work[0]
    sep_y = work[1]
    for j in range(ymin, ymax + 1):
        kr = j - ymin
        if row_lo[kr] > band_hi or row_hi[kr] < band_lo:
            continue
        for i in range(xmin, xmax + 1):
            # float32 product, as drizzle's C core (weight and wtscale are float32)
            w = np.float32((weight[j, i] if weight is not None else np.float32(1.0)) * wtscale)
            if not (w > 0.0 and w < np.inf):  # zero, NaN or inf weight: masked
                continue
            ox = pixmap[j, i, 0]
            oy = pixmap[j, i, 1]
            if not (math.isfinite(ox) and math.isfinite(oy)):
                continue
            if code == POINT:
                ii0 = fortran_round(ox)
                jj0 = fortran_round(oy)
                ii1 = ii0
                jj1 = jj0
            elif code == LANCZOS2 or code == LANCZOS3:
                ii0 = np.int64(math.ceil(ox - pfo))
                ii1 = np.int64(math.floor(ox + pfo))
                jj0 = np.int64(math.ceil(oy - pfo))
                jj1 = np.int64(math.floor(oy + pfo))
            else:
                ii0 = fortran_round(ox - pfo)
                ii1 = fortran_round(ox + pfo)
                jj0 = fortran_round(oy - pfo)
                jj1 = fortran_round(oy + pfo)
            ia = max(ii0, 0)
            ib = min(ii1, nxo - 1)
            ja = max(jj0, 0)
            jb = min(jj1, nyo - 1)
            if ia > ib or ja > jb:
                continue
            if band_lo <= ja <= band_hi:
                hits[kr] += 1
            ja = max(ja, band_lo)
            jb = min(jb, band_hi)
            d = np.float32(data[j, i] * dscale)
            if not math.isfinite(d):  # NaN/inf data: masked, never spread
                continue
            dqv = dq[j, i] if dq is not None else np.uint32(0)
            if code == POINT:  # one output pixel: no footprint loops
                if ja <= jb:
                    deposit(ia, ja, d, np.float32(w), out_img, out_wht, out_ctx,
                            ctx_bit, data2, j, i, out_img2, dqv, out_dq)
                continue
            if code == TURBO and ii1 - ii0 <= 1 and jj1 - jj0 <= 1:
                # box over at most 2x2 output pixels: its overlaps in closed form
                xa = ox - pfo
                xb = ox + pfo
                ya = oy - pfo
                yb = oy + pfo
                for jj in range(ja, jb + 1):
                    dy = min(yb, jj + 0.5) - max(ya, jj - 0.5)
                    if dy <= 0.0:
                        continue
                    for ii in range(ia, ib + 1):
                        dx = min(xb, ii + 0.5) - max(xa, ii - 0.5)
                        if dx <= 0.0:
                            continue
                        deposit(ii, jj, d, np.float32(dx * dy * area_norm * w), out_img,
                                out_wht, out_ctx, ctx_bit, data2, j, i,
                                out_img2, dqv, out_dq)
                continue
            separable = ((code == GAUSSIAN or code == LANCZOS2 or code == LANCZOS3
                          or code == TURBO)
                         and ib - ia < sep_x.shape[0] and jb - ja < sep_y.shape[0])
            if separable:  # box overlap, exp and sinc are products of 1-D factors
                if code == LANCZOS2 or code == LANCZOS3:
                    _lanczos_row((ox - ia) * sdp, sdp, order, rot, sep_x, ib - ia + 1)
                    _lanczos_row((oy - ja) * sdp, sdp, order, rot, sep_y, jb - ja + 1)
                for ii in range(ia, ib + 1):
                    if code == TURBO:
                        sep_x[ii - ia] = max(0.0, min(ox + pfo, ii + 0.5) - max(ox - pfo, ii - 0.5))
                    elif code == GAUSSIAN:
                        sep_x[ii - ia] = math.exp(-((ox - ii) ** 2) * efac)
                for jj in range(ja, jb + 1):
                    if code == TURBO:
                        sep_y[jj - ja] = max(0.0, min(oy + pfo, jj + 0.5) - max(oy - pfo, jj - 0.5))
                    elif code == GAUSSIAN:
                        sep_y[jj - ja] = es * math.exp(-((oy - jj) ** 2) * efac)
            for jj in range(ja, jb + 1):
                for ii in range(ia, ib + 1):
                    if separable:
                        if code == TURBO:
                            a = sep_x[ii - ia] * sep_y[jj - ja]
                            if a <= 0.0:
                                continue
                            dow = np.float32(a * area_norm * w)
                        elif code == GAUSSIAN:
                            dow = np.float32(np.float32(sep_y[jj - ja] * sep_x[ii - ia]) * w)
                        else:
                            dow = np.float32(sep_y[jj - ja] * sep_x[ii - ia] * w)
                    elif code == POINT:
                        dow = np.float32(w)
                    elif code == TURBO:
                        dx = min(ox + pfo, ii + 0.5) - max(ox - pfo, ii - 0.5)
                        dy = min(oy + pfo, jj + 0.5) - max(oy - pfo, jj - 0.5)
                        if dx <= 0.0 or dy <= 0.0:
                            continue
                        dow = np.float32(dx * dy * area_norm * w)
                    elif code == GAUSSIAN:
                        r2 = (ox - ii) ** 2 + (oy - jj) ** 2
                        dow = np.float32(np.float32(es * math.exp(-r2 * efac)) * w)
                    elif code == TOPHAT:
                        a = circle_rect_area(ox, oy, pfo, ii - 0.5, ii + 0.5, jj - 0.5, jj + 0.5)
                        if a <= 0.0:
                            continue
                        dow = np.float32(a * area_norm * w)
                    else:
                        dow = np.float32(_lanczos((ox - ii) * sdp, order)
                                         * _lanczos((oy - jj) * sdp, order) * w)
                    deposit(ii, jj, d, dow, out_img, out_wht, out_ctx, ctx_bit,
                            data2, j, i, out_img2, dqv, out_dq)


@njit(**_LOOP)
def _turbo_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(TURBO, data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit,
                  data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale,
                  pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work)


@njit(**_LOOP)
def _point_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(POINT, data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit,
                  data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale,
                  pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work)


@njit(**_LOOP)
def _gaussian_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                   out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                   pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(GAUSSIAN, data, weight, pixmap, out_img, out_wht, out_ctx,
                  ctx_bit, data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax,
                  dscale, pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi,
                  hits, work)


@njit(**_LOOP)
def _tophat_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                 out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                 pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(TOPHAT, data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit,
                  data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale,
                  pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work)


@njit(**_LOOP)
def _lanczos2_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                   out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                   pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(LANCZOS2, data, weight, pixmap, out_img, out_wht, out_ctx,
                  ctx_bit, data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax,
                  dscale, pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi,
                  hits, work)


@njit(**_LOOP)
def _lanczos3_band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                   out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio,
                   pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi, hits, work):
    _centred_band(LANCZOS3, data, weight, pixmap, out_img, out_wht, out_ctx,
                  ctx_bit, data2, out_img2, dq, out_dq, xmin, xmax, ymin, ymax,
                  dscale, pscale_ratio, pixfrac, wtscale, band_lo, band_hi, row_lo, row_hi,
                  hits, work)


#: The band function of every built-in kernel code.
BAND_FUNCTIONS = {SQUARE: _square_band, TURBO: _turbo_band, POINT: _point_band,
                  GAUSSIAN: _gaussian_band, TOPHAT: _tophat_band, LANCZOS2: _lanczos2_band,
                  LANCZOS3: _lanczos3_band}


def run_builtin(code, data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2,
                out_img2, dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio, pixfrac,
                wtscale, row_lo, row_hi, edges):
    """Run built-in kernel ``code`` over the output bands ``edges``, one thread per band.

    The band functions release the GIL, so the bands run on separate cores.
    ``weight``, ``out_ctx``, ``data2``/``out_img2`` and ``dq``/``out_dq`` may be
    ``None`` (all ones / not wanted); numba compiles a loop without them.
    Returns the number of drops that reached the output, per input row.
    """
    band = BAND_FUNCTIONS[code]
    nbands = edges.shape[0] - 1
    hits = np.zeros((nbands, ymax - ymin + 1), np.int64)
    # scratch per band: corner rows of the square kernel (2 points per pixel
    # + 1), the separable factors of the others (128) and polygon buffers (80)
    nwork = max(2 * (xmax - xmin + 1) + 2, 128)

    def run_band(b: int) -> None:
        lo = int(edges[b])
        hi = int(edges[b + 1]) - 1
        if hi >= lo:
            band(data, weight, pixmap, out_img, out_wht, out_ctx, ctx_bit, data2, out_img2,
                 dq, out_dq, xmin, xmax, ymin, ymax, dscale, pscale_ratio, pixfrac, wtscale,
                 lo, hi, row_lo, row_hi, hits[b], np.empty((_WORK_ROWS, nwork)))

    run_parts(run_band, nbands)
    return hits.sum(axis=0)
