"""Numba building blocks shared by the drizzle kernels.

Conventions (the same as ``drizzle``'s C core): pixel ``i`` (0-based) spans
``[i - 0.5, i + 0.5]``; an output position ``x`` belongs to pixel
``fortran_round(x)`` (half away from zero); pixmaps are ``(ny, nx, 2)``
float64 arrays of output ``(x, y)`` for every input pixel centre.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def fortran_round(x):
    """Round half away from zero, as Fortran's NINT (returns int64)."""
    if x >= 0.0:
        return np.int64(math.floor(x + 0.5))
    return -np.int64(math.floor(-x + 0.5))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def deposit(ii, jj, d, dow, out_img, out_wht, out_ctx, ctx_bit, data2, j, i, out_img2,
            dq_val, out_dq):
    """Add one weighted contribution ``dow`` of value ``d`` to output pixel (jj, ii).

    Implements the running weighted mean of Fruchter & Hook (2002), eq. 4-5,
    with the float32 rounding of drizzle's C ``update_data`` so that results
    agree to the last bits::

        I' = d                               if W == 0
        I' = (I W + dow d) / (W + dow)       otherwise
        W' = W + dow

    ``data2[k, j, i]`` are the values drizzled with squared weights:
    ``I2' = (I2 W^2 + dow^2 d2) / (W + dow)^2``. ``out_ctx``, ``data2``
    (with ``out_img2``) and ``out_dq`` may be ``None``: numba then compiles
    the update without them. ``dow == 0`` changes nothing; context and DQ are
    marked for ``dow > 0`` only (lanczos has negative lobes).
    """
    if dow != 0.0:
        vc = out_wht[jj, ii]
        vc_plus_dow = np.float32(vc + dow)
        old = out_img[jj, ii]
        num = np.float32(old * vc) + np.float32(dow * d)
        mean = np.float32(np.float64(num) / np.float64(vc_plus_dow))
        # selects, not branches: "first contribution" is data-dependent and a
        # mispredicted branch costs more than the division. A zero total weight
        # (only reachable with the negative lobes of lanczos) keeps the value.
        mean = mean if vc_plus_dow != 0.0 else old
        out_img[jj, ii] = d if vc == 0.0 else mean
        out_wht[jj, ii] = vc_plus_dow
        if data2 is not None:
            _deposit_squared(jj, ii, dow, vc, vc_plus_dow, data2, j, i, out_img2)
        if dow > 0.0:
            if out_ctx is not None:
                out_ctx[jj, ii] |= ctx_bit
            if out_dq is not None:
                out_dq[jj, ii] |= dq_val


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _deposit_squared(jj, ii, dow, vc, vc_plus_dow, data2, j, i, out_img2):
    """The squared-weight co-adds of :func:`deposit` (variance propagation)."""
    for k in range(data2.shape[0]):
        d2 = data2[k, j, i]
        old2 = out_img2[k, jj, ii]
        num2 = np.float64(old2) * vc * vc + np.float64(dow) * dow * d2
        mean2 = np.float32(num2 / (np.float64(vc_plus_dow) ** 2))
        mean2 = mean2 if vc_plus_dow != 0.0 else old2
        out_img2[k, jj, ii] = d2 if vc == 0.0 else mean2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def interpolate_point(pixmap, x, y):
    """Bilinear interpolation of the pixmap at input position (x, y).

    Points outside the pixel-centre grid are linearly extrapolated from the
    edge cell (as drizzle does). Returns (nan, nan) where a node is NaN.
    Degenerate 1-pixel-wide axes are handled by the caller
    (:func:`degenerate_step`).
    """
    ny = pixmap.shape[0]
    nx = pixmap.shape[1]
    i0 = np.int64(x)  # C truncation toward zero; clamped just below
    j0 = np.int64(y)
    if i0 < 0:
        i0 = 0
    elif i0 > nx - 2:
        i0 = nx - 2
    if j0 < 0:
        j0 = 0
    elif j0 > ny - 2:
        j0 = ny - 2
    fx = x - i0
    fy = y - j0
    gx = 1.0 - fx
    gy = 1.0 - fy
    ox = (pixmap[j0, i0, 0] * gx * gy + pixmap[j0, i0 + 1, 0] * fx * gy
          + pixmap[j0 + 1, i0, 0] * gx * fy + pixmap[j0 + 1, i0 + 1, 0] * fx * fy)
    oy = (pixmap[j0, i0, 1] * gx * gy + pixmap[j0, i0 + 1, 1] * fx * gy
          + pixmap[j0 + 1, i0, 1] * gx * fy + pixmap[j0 + 1, i0 + 1, 1] * fx * fy)
    return ox, oy


@njit(cache=True, nogil=True, error_model="numpy")
def band_limits(pixmap, xmin, xmax, ymin, ymax, margin, out_ny, nbands):
    """Split the output rows into ``nbands`` bands of similar input work.

    Returns (row_lo, row_hi, band_edges): per input row the output-y range
    (as int, clipped; lo > hi for rows that touch nothing) and the band edges
    (``band_edges[b] <= output row < band_edges[b+1]``).
    """
    n = ymax - ymin + 1
    ny = pixmap.shape[0]
    nx = pixmap.shape[1]
    # one pass over the pixmap: y range of every row involved (NaN rows: inf, -inf)
    r0 = max(ymin - 1, 0)
    r1 = min(ymax + 1, ny - 1)
    rmin = np.full(r1 - r0 + 1, np.inf)
    rmax = np.full(r1 - r0 + 1, -np.inf)
    c0 = max(xmin - 1, 0)
    c1 = min(xmax + 1, nx - 1)
    for r in range(r0, r1 + 1):
        lo = np.inf
        hi = -np.inf
        for c in range(c0, c1 + 1):
            v = pixmap[r, c, 1]
            if not math.isfinite(v):  # +-inf (or NaN) positions are skipped by the kernels
                continue
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        rmin[r - r0] = lo
        rmax[r - r0] = hi
    row_lo = np.empty(n, np.int64)
    row_hi = np.empty(n, np.int64)
    gmin = out_ny
    gmax = -1
    for k in range(n):
        # conservative extent of the drops of row j: the y values of rows
        # j-1..j+1 widened by their spread (bounding bilinear extrapolation at
        # the image edge) plus `margin` output pixels
        j = ymin + k
        lo = np.inf
        hi = -np.inf
        for r in range(max(j - 1, r0), min(j + 1, r1) + 1):
            lo = min(lo, rmin[r - r0])
            hi = max(hi, rmax[r - r0])
        if lo <= hi:
            spread = hi - lo
            lo = lo - spread - margin
            hi = hi + spread + margin
        if not (lo <= hi) or hi < -0.5 or lo > out_ny - 0.5:
            row_lo[k] = 1
            row_hi[k] = 0
            continue
        a = max(np.int64(math.floor(lo)), 0)
        b = min(np.int64(math.ceil(hi)), out_ny - 1)
        row_lo[k] = a
        row_hi[k] = b
        if a < gmin:
            gmin = a
        if b > gmax:
            gmax = b
    edges = np.empty(nbands + 1, np.int64)
    if gmax < gmin:
        edges[:] = 0
        return row_lo, row_hi, edges
    # balance the bands by the number of input rows reaching each output row
    counts = np.zeros(gmax - gmin + 2, np.float64)
    for k in range(n):
        if row_lo[k] <= row_hi[k]:
            w = 1.0 / (row_hi[k] - row_lo[k] + 1)
            counts[row_lo[k] - gmin] += w
            counts[row_hi[k] - gmin + 1] -= w
    total = 0.0
    dens = np.empty(gmax - gmin + 1, np.float64)
    run = 0.0
    for r in range(gmax - gmin + 1):
        run += counts[r]
        dens[r] = run
        total += run
    edges[0] = 0
    edges[nbands] = out_ny
    acc = 0.0
    b = 1
    for r in range(gmax - gmin + 1):
        acc += dens[r]
        while b < nbands and acc >= total * b / nbands:
            edges[b] = gmin + r + 1
            b += 1
    while b < nbands:
        edges[b] = out_ny
        b += 1
    return row_lo, row_hi, edges


@njit(cache=True, nogil=True, error_model="numpy")
def column_limits(pixmap, xmin, xmax, ymin, ymax, margin, out_ny, out_nx, pixfrac):
    """The input columns whose drops can reach the output, as ``(lo, hi)`` (lo > hi: none).

    A pixel can reach the output only if its mapped centre lies within the
    output grid widened by ``margin`` (the kernel's reach, output pixels) plus
    ``(1 + pixfrac)`` times the largest distance between neighbouring mapped
    centres (the extent of a ``square`` drop, measured on the pixmap itself).
    Skipping the other columns changes no output value; it makes drizzling a
    small output region (a live preview, a tile) cheap. NaN positions are
    ignored; the result is widened by one column each side.
    """
    ny = pixmap.shape[0]
    nx = pixmap.shape[1]
    step = 0.0  # largest neighbour-to-neighbour distance along either axis
    for r in range(ymin, ymax + 1):
        for c in range(xmin, xmax + 1):
            x = pixmap[r, c, 0]
            y = pixmap[r, c, 1]
            if c + 1 < nx:
                d = max(abs(pixmap[r, c + 1, 0] - x), abs(pixmap[r, c + 1, 1] - y))
                if d > step and d < np.inf:  # NaN/inf positions are skipped
                    step = d
            if r + 1 < ny:
                d = max(abs(pixmap[r + 1, c, 0] - x), abs(pixmap[r + 1, c, 1] - y))
                if d > step and d < np.inf:
                    step = d
    reach = margin + (1.0 + pixfrac) * step
    lo = xmax + 1
    hi = xmin - 1
    for r in range(ymin, ymax + 1):
        for c in range(xmin, xmax + 1):
            x = pixmap[r, c, 0]
            y = pixmap[r, c, 1]
            if (x > -0.5 - reach and x < out_nx - 0.5 + reach
                    and y > -0.5 - reach and y < out_ny - 0.5 + reach):
                if c < lo:
                    lo = c
                if c > hi:
                    hi = c
    if lo > hi:
        return lo, hi
    return max(lo - 1, xmin), min(hi + 1, xmax)


@njit(cache=True, nogil=True, error_model="numpy")
def border_inside(pixmap, xmin, xmax, ymin, ymax, out_ny, out_nx):
    """True when every pixel on the border of the input box maps inside the output grid.

    For a continuous pixel map the whole box then lands inside the output
    (the usual full-frame drizzle), and :func:`column_limits` would keep every
    column: the caller skips it. NaN on the border gives False.
    """
    for r in range(ymin, ymax + 1):
        step = 1 if r == ymin or r == ymax else max(xmax - xmin, 1)
        for c in range(xmin, xmax + 1, step):
            x = pixmap[r, c, 0]
            y = pixmap[r, c, 1]
            if not (x > -0.5 and x < out_nx - 0.5 and y > -0.5 and y < out_ny - 0.5):
                return False
    return True
