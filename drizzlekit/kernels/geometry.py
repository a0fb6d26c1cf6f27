"""Exact overlap areas used by the ``square`` and ``tophat`` kernels (numba).

* :func:`clip_polygon` clips a convex polygon against one axis-aligned line
  (one step of Sutherland–Hodgman); :func:`polygon_area` is the shoelace
  formula. Together they give the exact area of a drop quadrilateral inside
  an output pixel.
* :func:`circle_rect_area` is the exact area of a disk inside an axis-aligned
  rectangle, from the closed-form primitive of ``sqrt(r^2 - x^2)``.
"""

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def clip_polygon(xs, ys, n, axis, bound, keep_above, out_x, out_y):
    """Clip polygon (xs[:n], ys[:n]) to the half-plane ``coord >= bound``
    (``keep_above``) or ``coord <= bound``; ``coord`` is x (axis 0) or y (1).

    Writes the clipped vertices to ``out_x``/``out_y`` and returns their count.
    """
    m = 0
    if n == 0:
        return 0
    px = xs[n - 1]
    py = ys[n - 1]
    pc = px if axis == 0 else py
    p_in = pc >= bound if keep_above else pc <= bound
    for k in range(n):
        cx = xs[k]
        cy = ys[k]
        cc = cx if axis == 0 else cy
        c_in = cc >= bound if keep_above else cc <= bound
        if c_in != p_in:
            t = (bound - pc) / (cc - pc)
            if axis == 0:
                out_x[m] = bound
                out_y[m] = py + t * (cy - py)
            else:
                out_x[m] = px + t * (cx - px)
                out_y[m] = bound
            m += 1
        if c_in:
            out_x[m] = cx
            out_y[m] = cy
            m += 1
        px = cx
        py = cy
        pc = cc
        p_in = c_in
    return m


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def polygon_area(xs, ys, n):
    """Absolute area of polygon (xs[:n], ys[:n]) by the shoelace formula."""
    a = 0.0
    for k in range(n):
        k1 = k + 1 if k + 1 < n else 0
        a += xs[k] * ys[k1] - xs[k1] * ys[k]
    return abs(0.5 * a)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def area_below(xs, ys, n, axis, bound):
    """Area of polygon (xs, ys)[:n] where ``coord <= bound`` (x for axis 0, y for 1).

    One Sutherland-Hodgman step with the shoelace sum accumulated on the fly,
    so no vertex buffer is written.
    """
    acc = 0.0
    have = False
    fx = 0.0
    fy = 0.0
    lx = 0.0
    ly = 0.0
    px = xs[n - 1]
    py = ys[n - 1]
    pc = px if axis == 0 else py
    p_in = pc <= bound
    for k in range(n):
        cx = xs[k]
        cy = ys[k]
        cc = cx if axis == 0 else cy
        c_in = cc <= bound
        for step in range(2):
            if step == 0:
                if c_in == p_in:
                    continue
                t = (bound - pc) / (cc - pc)
                if axis == 0:
                    vx = bound
                    vy = py + t * (cy - py)
                else:
                    vx = px + t * (cx - px)
                    vy = bound
            else:
                if not c_in:
                    continue
                vx = cx
                vy = cy
            if have:
                acc += lx * vy - vx * ly
            else:
                fx = vx
                fy = vy
                have = True
            lx = vx
            ly = vy
        px = cx
        py = cy
        pc = cc
        p_in = c_in
    if not have:
        return 0.0
    acc += lx * fy - fx * ly
    return abs(0.5 * acc)


@njit(cache=True, nogil=True, error_model="numpy")
def _chord_primitive(x, r):
    """Primitive of sqrt(r^2 - t^2): (t sqrt(r^2-t^2) + r^2 asin(t/r)) / 2."""
    if x <= -r:
        return -0.25 * math.pi * r * r
    if x >= r:
        return 0.25 * math.pi * r * r
    return 0.5 * (x * math.sqrt(r * r - x * x) + r * r * math.asin(x / r))


@njit(cache=True, nogil=True, error_model="numpy")
def _quadrant_area(x, y, r):
    """Area of the disk of radius r at the origin with X <= x and Y <= y."""
    if y <= -r or x <= -r:
        return 0.0
    xc = min(x, r)
    if y >= r:
        return 2.0 * (_chord_primitive(xc, r) - _chord_primitive(-r, r))
    c = math.sqrt(r * r - y * y)  # |X| < c: the line Y = y cuts the chord
    # inside |X| < c the vertical chord contributes (y + h(X));
    # outside it contributes 2 h(X) when y > 0 and nothing when y < 0.
    area = 0.0
    if y > 0.0:
        hi = min(xc, -c)
        if hi > -r:
            area += 2.0 * (_chord_primitive(hi, r) - _chord_primitive(-r, r))
        if xc > c:
            area += 2.0 * (_chord_primitive(xc, r) - _chord_primitive(c, r))
    lo = -c
    hi = min(xc, c)
    if hi > lo:
        area += y * (hi - lo) + _chord_primitive(hi, r) - _chord_primitive(lo, r)
    return area


@njit(cache=True, nogil=True, error_model="numpy")
def circle_rect_area(cx, cy, r, x0, x1, y0, y1):
    """Exact area of the disk (centre (cx, cy), radius r) inside [x0,x1]x[y0,y1]."""
    ax0 = x0 - cx
    ax1 = x1 - cx
    ay0 = y0 - cy
    ay1 = y1 - cy
    a = (_quadrant_area(ax1, ay1, r) - _quadrant_area(ax0, ay1, r)
         - _quadrant_area(ax1, ay0, r) + _quadrant_area(ax0, ay0, r))
    return a if a > 0.0 else 0.0


def polygon_box_area(xs, ys, x0, x1, y0, y1) -> float:
    """Area of a convex polygon inside the box [x0,x1]x[y0,y1] (Python helper for tests)."""
    bx = np.asarray(xs, dtype=np.float64).copy()
    by = np.asarray(ys, dtype=np.float64).copy()
    n = len(bx)
    wx = np.empty(2 * n + 8)
    wy = np.empty(2 * n + 8)
    cur_x = np.empty(2 * n + 8)
    cur_y = np.empty(2 * n + 8)
    cur_x[:n] = bx
    cur_y[:n] = by
    for axis, bound, above in ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)):
        n = clip_polygon(cur_x, cur_y, n, axis, bound, above, wx, wy)
        cur_x, wx = wx, cur_x
        cur_y, wy = wy, cur_y
    return polygon_area(cur_x, cur_y, n)
