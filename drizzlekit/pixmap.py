"""Pixel maps between two images: where does each input pixel land in the output?

A *pixel map* (``pixmap``) is the geometry seam between WCS objects and the
drizzle kernels: a float64 array of shape ``(ny, nx, 2)`` whose element
``pixmap[j, i]`` holds the 0-based output pixel coordinates ``(x, y)`` of the
centre of input pixel ``(x=i, y=j)``.  The kernels never see a WCS.

Public functions
----------------
calc_pixmap
    The pixel map for any pair of APE-14 WCS objects (astropy ``WCS`` with
    SIP, CPDIS and D2IM distortions, or gwcs), evaluated exactly or, with
    ``stepsize=N``, exactly on a coarse grid and interpolated in between.
estimate_pixel_scale_ratio
    Ratio of output to input pixel scale near reference pixels.
decode_context
    Indices of the input images recorded in a drizzle context image.

All three follow the semantics of the functions of the same name in
``drizzle.utils`` (drizzle 3.0.0); differences are listed in each docstring.
"""

from __future__ import annotations

import copy
import logging
import math
import operator
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numba import njit

from drizzlekit._threads import num_threads, run_parts
from drizzlekit.exceptions import DtypeError, InputError, ShapeError

__all__ = ["calc_pixmap", "decode_context", "estimate_pixel_scale_ratio"]

log = logging.getLogger(__name__)

_DEG2RAD = math.pi / 180.0

#: Accepted values of ``disable_bbox``.
_BBOX_CHOICES = ("to", "from", "both", "none")

#: Number of pixels transformed per call of the WCS (row blocks of the exact path).
_BLOCK_PIXELS = 1 << 18

#: Number of interpolation nodes per axis (cubic Lagrange, i.e. bicubic in 2-D).
_NTAPS = 4

#: Grid cells whose interpolated centre pixel misses the exact map by more than
#: this (pixels) are evaluated exactly (guards against discontinuities).
_CHECK_TOL = 0.05

Intervals = tuple[tuple[float, float], tuple[float, float]]


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _is_fits_wcs(wcs: Any) -> bool:
    """Return True for an ``astropy.wcs.WCS`` (or subclass, e.g. stwcs HSTWCS)."""
    from astropy.wcs import WCS

    return isinstance(wcs, WCS)


def _physical_types(wcs: Any) -> tuple | None:
    try:
        types = tuple(wcs.world_axis_physical_types)
    except Exception:  # noqa: BLE001 - an APE-14 object may not implement it
        return None
    if any(t is None for t in types):
        return None
    return types


def _world_units(wcs: Any) -> tuple | None:
    try:
        units = tuple(str(u) for u in wcs.world_axis_units)
    except Exception:  # noqa: BLE001
        return None
    if any(u in ("", "None") for u in units):
        return None
    return units


def _check_wcs(wcs: Any, name: str) -> None:
    """Check that ``wcs`` is a 2-D celestial APE-14 WCS; raise InputError naming ``name``."""
    if wcs is None:
        raise InputError(f"{name} is None; a WCS object is required")
    for method in ("pixel_to_world_values", "world_to_pixel_values"):
        if not callable(getattr(wcs, method, None)):
            raise InputError(
                f"{name} (type {type(wcs).__name__}) is not an APE-14 WCS: "
                f"it has no {method}() method"
            )
    npix = getattr(wcs, "pixel_n_dim", None)
    nworld = getattr(wcs, "world_n_dim", None)
    if npix != 2 or nworld != 2:
        raise InputError(
            f"{name} must have 2 pixel and 2 world axes (an image with celestial "
            f"coordinates); it has pixel_n_dim={npix}, world_n_dim={nworld}"
        )
    if _is_fits_wcs(wcs):
        if not wcs.has_celestial:
            raise InputError(
                f"{name} has no celestial axes (CTYPE = {list(wcs.wcs.ctype)}); "
                "a sky WCS such as RA---TAN / DEC--TAN is required"
            )
        return
    types = _physical_types(wcs)
    if types is not None and not all(str(t).startswith("pos.") for t in types):
        raise InputError(
            f"{name} has no celestial axes (world axis types {types}); "
            "a sky WCS (e.g. pos.eq.ra, pos.eq.dec) is required"
        )


def _check_pair(wcs_from: Any, wcs_to: Any) -> None:
    """Check that the world axes of the two WCS agree (types, order and units)."""
    _check_wcs(wcs_from, "wcs_from")
    _check_wcs(wcs_to, "wcs_to")
    t_from, t_to = _physical_types(wcs_from), _physical_types(wcs_to)
    if t_from is not None and t_to is not None and t_from != t_to:
        if sorted(t_from) == sorted(t_to):
            raise InputError(
                f"the world axes of wcs_from {t_from} and wcs_to {t_to} are in a "
                "different order; reorder the axes of one WCS (e.g. with WCS.swapaxes)"
            )
        raise InputError(
            f"the world axes of wcs_from {t_from} and wcs_to {t_to} differ "
            "(different celestial frames); both WCS must use the same sky frame"
        )
    u_from, u_to = _world_units(wcs_from), _world_units(wcs_to)
    if u_from is not None and u_to is not None and u_from != u_to:
        raise InputError(
            f"the world axis units of wcs_from {u_from} and wcs_to {u_to} differ"
        )


def _check_stepsize(stepsize: Any) -> int | None:
    if stepsize is None:
        return None
    if isinstance(stepsize, (bool, np.bool_)):
        raise InputError(f"stepsize must be None or an integer >= 1, got {stepsize!r}")
    try:
        step = operator.index(stepsize)
    except TypeError:
        raise InputError(
            f"stepsize must be None or an integer >= 1, got {stepsize!r} "
            f"(type {type(stepsize).__name__})"
        ) from None
    if step < 1:
        raise InputError(f"stepsize must be None or an integer >= 1, got {step}")
    return int(step)


def _bbox_intervals(wcs: Any) -> Intervals | None:
    """Bounding box of ``wcs`` as ``((xlo, xhi), (ylo, yhi))`` (pixel x first), or None."""
    bbox = getattr(wcs, "bounding_box", None)
    if bbox is None:
        return None
    try:
        bbox = bbox.bounding_box(order="F")
    except AttributeError:
        bbox = tuple(bbox)
    arr = np.asarray(bbox, dtype=np.float64)
    if arr.shape != (2, 2):
        return None
    return ((float(arr[0, 0]), float(arr[0, 1])), (float(arr[1, 0]), float(arr[1, 1])))


def _pixel_bounds(wcs: Any) -> Intervals | None:
    """``pixel_bounds`` of an astropy WCS (which masks pixels outside it with NaN)."""
    if not _is_fits_wcs(wcs) or wcs.pixel_bounds is None:
        return None
    inf = math.inf
    b = [(-inf, inf) if lim is None else (float(lim[0]), float(lim[1])) for lim in wcs.pixel_bounds]
    return (b[0], b[1])


def _check_shape(shape: Any, what: str) -> tuple[int, int]:
    try:
        dims = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise ShapeError(
            f"{what} must be a tuple of two integers (ny, nx), got {shape!r}"
        ) from None
    if len(dims) != 2 or min(dims) < 1:
        raise ShapeError(
            f"{what} must be two positive integers (ny, nx), got {shape!r}"
        )
    return int(dims[0]), int(dims[1])


def _infer_shape(wcs_from: Any, shape: Any, bbox_from: Intervals | None) -> tuple[int, int]:
    """Pixel-map shape: ``shape``, else ``array_shape``/``pixel_shape``, else the bounding box."""
    if shape is not None:
        return _check_shape(shape, "shape")
    array_shape = getattr(wcs_from, "array_shape", None)
    if array_shape is None:
        pixel_shape = getattr(wcs_from, "pixel_shape", None)
        if pixel_shape is not None:
            array_shape = tuple(pixel_shape)[::-1]
    if array_shape is not None:
        return _check_shape(
            array_shape,
            "wcs_from.array_shape (pass shape=(ny, nx) to override it)",
        )
    if bbox_from is not None:
        (_, xhi), (_, yhi) = bbox_from
        if not (math.isfinite(xhi) and math.isfinite(yhi)):
            raise ShapeError(
                f"cannot infer the pixel-map shape from wcs_from.bounding_box {bbox_from} "
                "(infinite upper limit); pass shape=(ny, nx)"
            )
        return _check_shape(
            (math.ceil(yhi + 0.5), math.ceil(xhi + 0.5)),
            f"the shape from wcs_from.bounding_box {bbox_from}",
        )
    raise ShapeError(
        "cannot infer the pixel-map shape: wcs_from has no array_shape, pixel_shape "
        "or bounding_box; pass shape=(ny, nx)"
    )


def _bbox_targets(wcs_from: Any, wcs_to: Any, disable_bbox: str) -> list[Any]:
    """The WCS objects whose bounding box ``disable_bbox`` switches off (no duplicates)."""
    targets: list[Any] = []
    if disable_bbox in ("from", "both"):
        targets.append(wcs_from)
    if disable_bbox in ("to", "both") and not any(w is wcs_to for w in targets):
        targets.append(wcs_to)
    return [w for w in targets if getattr(w, "bounding_box", None) is not None]


#: Serialises the bounding-box toggling of concurrent calls (threads sharing a gwcs).
_BBOX_LOCK = threading.RLock()


@contextmanager
def _bbox_disabled(targets: list[Any]) -> Iterator[None]:
    """Temporarily remove the bounding boxes of ``targets``; always restore them.

    Calls that toggle a bounding box hold a module lock meanwhile, so two threads
    mapping with the same gwcs cannot see each other's toggles (FITS WCSs have no
    bounding box and never take the lock).
    """
    if not targets:
        yield
        return
    with _BBOX_LOCK:
        saved = [(w, w.bounding_box) for w in targets]
        try:
            for w, _ in saved:
                w.bounding_box = None
            yield
        finally:
            for w, bbox in saved:
                w.bounding_box = bbox


# ---------------------------------------------------------------------------
# Exact evaluation of the mapping on (N, 2) arrays of pixel positions
# ---------------------------------------------------------------------------


def _fast_fits(wcs: Any) -> bool:
    """True when ``wcs`` is evaluated through astropy's C pipeline directly."""
    return _is_fits_wcs(wcs) and wcs.pixel_bounds is None


def _pix2world(wcs: Any) -> Callable[[np.ndarray], np.ndarray]:
    """(N, 2) pixel positions -> (N, 2) world values (degrees for celestial axes)."""
    if _fast_fits(wcs):
        # Same C pipeline as pixel_to_world_values (SIP, CPDIS, D2IM included),
        # without splitting and re-stacking coordinate columns.
        return lambda xy: wcs.all_pix2world(xy, 0)

    def generic(xy: np.ndarray) -> np.ndarray:
        world = wcs.pixel_to_world_values(xy[:, 0], xy[:, 1])
        return np.column_stack([np.asarray(w, dtype=np.float64) for w in world])

    return generic


def _world2pix(wcs: Any) -> Callable[[np.ndarray, np.ndarray], None]:
    """(N, 2) world values -> (N, 2) pixel positions written into ``out``."""
    if _fast_fits(wcs):
        from astropy.wcs import NoConvergence

        if not wcs.has_distortion:

            def linear(world: np.ndarray, out: np.ndarray) -> None:
                out[...] = wcs.wcs_world2pix(world, 0)

            return linear

        def iterative(world: np.ndarray, out: np.ndarray) -> None:
            # same call and fallback as astropy's world_to_pixel_values
            try:
                out[...] = wcs.all_world2pix(world, 0)
            except NoConvergence as exc:
                warnings.warn(str(exc), stacklevel=4)
                out[...] = exc.best_solution

        return iterative

    def generic(world: np.ndarray, out: np.ndarray) -> None:
        x, y = wcs.world_to_pixel_values(world[:, 0], world[:, 1])
        out[:, 0] = x
        out[:, 1] = y

    return generic


class _Mapper:
    """Exact input-pixel -> output-pixel mapping, evaluated in blocks of points.

    When both WCS are astropy FITS WCS, whose C routines release the GIL, row
    blocks are spread over ``numba.get_num_threads()`` threads, each with its
    own deep copy of the two WCS (wcslib structures are not shared between
    threads).  The numbers do not depend on the number of threads.
    """

    def __init__(self, wcs_from: Any, wcs_to: Any) -> None:
        self._pair = (wcs_from, wcs_to)
        self._p2w = _pix2world(wcs_from)
        self._w2p = _world2pix(wcs_to)
        self._threadable = _fast_fits(wcs_from) and _fast_fits(wcs_to)

    def _map(self, xy: np.ndarray, out: np.ndarray) -> None:
        self._w2p(self._p2w(xy), out)

    def points(self, xy: np.ndarray, out: np.ndarray) -> None:
        """Map (N, 2) input pixel positions ``xy`` into ``out`` (N, 2), in blocks."""
        for i0 in range(0, xy.shape[0], _BLOCK_PIXELS):
            i1 = min(i0 + _BLOCK_PIXELS, xy.shape[0])
            self._map(xy[i0:i1], out[i0:i1])

    def grid(self, xs: np.ndarray, ys: np.ndarray, out: np.ndarray) -> None:
        """Map the grid ``xs`` x ``ys`` into ``out`` of shape (len(ys), len(xs), 2), row blocks."""
        nx = xs.size
        rows = max(1, _BLOCK_PIXELS // nx)
        flat = out.reshape(-1, 2)
        starts = list(range(0, ys.size, rows))

        def run_blocks(block_starts: list[int], mapper: Callable[[np.ndarray, np.ndarray], None]) -> None:
            for r0 in block_starts:
                r1 = min(r0 + rows, ys.size)
                xy = np.empty(((r1 - r0) * nx, 2))
                xy[:, 0] = np.tile(xs, r1 - r0)
                xy[:, 1] = np.repeat(ys[r0:r1], nx)
                mapper(xy, flat[r0 * nx : r1 * nx])

        nthreads = min(num_threads(), len(starts)) if self._threadable else 1
        mappers = [self._map] + [_Mapper(*copy.deepcopy(self._pair))._map for _ in range(nthreads - 1)]
        run_parts(lambda k: run_blocks(starts[k::nthreads], mappers[k]), nthreads)


# ---------------------------------------------------------------------------
# Interpolation from a coarse grid (numba kernels)
# ---------------------------------------------------------------------------


def _grid_nodes(n: int, step: int) -> np.ndarray:
    """Node positions 0, step, 2*step, ... always ending with the last pixel n - 1."""
    nodes = np.arange(0, n, step, dtype=np.float64)
    if nodes[-1] != n - 1:
        nodes = np.append(nodes, float(n - 1))
    return nodes


@njit(cache=True, nogil=True)
def _lagrange_stencils(nodes, n, ntaps):  # pragma: no cover - compiled
    """Stencil start index and Lagrange weights for every pixel 0..n-1.

    Pixel ``i`` in the interval ``[nodes[k], nodes[k+1]]`` uses the ``ntaps``
    nodes centred on that interval (shifted inwards at the ends), so the
    interpolant never extrapolates.  At a node the weights are exactly 1 and 0.
    """
    m = nodes.size
    taps = min(ntaps, m)
    start = np.empty(n, dtype=np.int64)
    weights = np.zeros((n, ntaps), dtype=np.float64)
    k = 0
    for i in range(n):
        xi = float(i)
        while k < m - 2 and nodes[k + 1] <= xi:
            k += 1
        s = k - (taps // 2 - 1)
        if s > m - taps:
            s = m - taps
        if s < 0:
            s = 0
        start[i] = s
        for a in range(taps):
            w = 1.0
            xa = nodes[s + a]
            for b in range(taps):
                if b != a:
                    xb = nodes[s + b]
                    w *= (xi - xb) / (xa - xb)
            weights[i, a] = w
    return start, weights


@njit(cache=True, nogil=True)
def _interp_separable(grid, sx, wx, sy, wy, out):  # pragma: no cover - compiled
    """Tensor-product Lagrange interpolation of ``grid`` (my, mx, 2) into ``out`` (ny, nx, 2).

    First along x on every grid row, then along y for every output row.  NaN
    nodes propagate (NaN * 0 is NaN) to every pixel whose stencil touches them.
    Returns the number of output pixels with a NaN component.
    """
    my = grid.shape[0]
    mx = grid.shape[1]
    ny = out.shape[0]
    nx = out.shape[1]
    kx = min(wx.shape[1], mx)
    ky = min(wy.shape[1], my)
    rows = np.empty((my, nx, 2), dtype=np.float64)
    for r in range(my):
        for i in range(nx):
            s = sx[i]
            a0 = 0.0
            a1 = 0.0
            for b in range(kx):
                w = wx[i, b]
                a0 += w * grid[r, s + b, 0]
                a1 += w * grid[r, s + b, 1]
            rows[r, i, 0] = a0
            rows[r, i, 1] = a1
    nnan = 0
    for j in range(ny):
        s = sy[j]
        if ky == 4:
            w0 = wy[j, 0]
            w1 = wy[j, 1]
            w2 = wy[j, 2]
            w3 = wy[j, 3]
            for i in range(nx):
                for c in range(2):
                    v = (
                        w0 * rows[s, i, c]
                        + w1 * rows[s + 1, i, c]
                        + w2 * rows[s + 2, i, c]
                        + w3 * rows[s + 3, i, c]
                    )
                    out[j, i, c] = v
                if out[j, i, 0] != out[j, i, 0] or out[j, i, 1] != out[j, i, 1]:
                    nnan += 1
        else:
            for i in range(nx):
                for c in range(2):
                    v = 0.0
                    for b in range(ky):
                        v += wy[j, b] * rows[s + b, i, c]
                    out[j, i, c] = v
                if out[j, i, 0] != out[j, i, 0] or out[j, i, 1] != out[j, i, 1]:
                    nnan += 1
    return nnan


def _inside_range(n: int, lo: float, hi: float) -> tuple[int, int]:
    """Index range [i0, i1) of integer pixel positions 0..n-1 with lo <= i <= hi."""
    i0 = 0 if not np.isfinite(lo) else max(0, math.ceil(lo))
    i1 = n if not np.isfinite(hi) else min(n, math.floor(hi) + 1)
    return i0, max(i0, i1)


def _mask_outside(values: np.ndarray, limits: list[Intervals]) -> None:
    """Set to NaN the (..., 2) output positions outside any of the ``limits`` boxes."""
    for (xlo, xhi), (ylo, yhi) in limits:
        px = values[..., 0]
        py = values[..., 1]
        outside = (px < xlo) | (px > xhi) | (py < ylo) | (py > yhi)
        values[outside] = np.nan


def _exact_at(mapper: _Mapper, pixmap: np.ndarray, mask: np.ndarray, to_limits: list[Intervals]) -> int:
    """Replace the pixels selected by ``mask`` with the exact mapping; return their number."""
    jj, ii = np.nonzero(mask)
    if jj.size:
        xy = np.column_stack([ii.astype(np.float64), jj.astype(np.float64)])
        exact = np.empty_like(xy)
        mapper.points(xy, exact)
        _mask_outside(exact, to_limits)
        pixmap[jj, ii] = exact
    return int(jj.size)


def _check_cells(
    mapper: _Mapper,
    pixmap: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    to_limits: list[Intervals],
) -> np.ndarray:
    """Mask of the grid cells whose interpolated centre pixel is wrong.

    The exact map is evaluated at the centre pixel of every grid cell; a cell
    is flagged when the interpolant misses it by more than ``_CHECK_TOL``
    pixel or when only one of them is NaN (a discontinuity such as a
    projection seam, or a NaN island between the nodes).
    """
    ny, nx = pixmap.shape[:2]
    bad = np.zeros((ny, nx), dtype=bool)
    cx, kx = _check_positions(xs)
    cy, ky = _check_positions(ys)
    exact = np.empty((cy.size, cx.size, 2))
    mapper.grid(cx.astype(np.float64), cy.astype(np.float64), exact)
    _mask_outside(exact, to_limits)
    interp = pixmap[np.ix_(cy, cx)]
    nan_e = np.isnan(exact).any(axis=-1)
    nan_i = np.isnan(interp).any(axis=-1)
    with np.errstate(invalid="ignore"):
        err = np.hypot(exact[..., 0] - interp[..., 0], exact[..., 1] - interp[..., 1])
        wrong = (nan_e != nan_i) | (err > _CHECK_TOL)
    rows, cols = np.nonzero(wrong)
    for a, b in set(zip(ky[rows].tolist(), kx[cols].tolist(), strict=True)):
        j0, j1 = int(ys[a]), int(ys[min(a + 1, ys.size - 1)])
        i0, i1 = int(xs[b]), int(xs[min(b + 1, xs.size - 1)])
        bad[j0 : j1 + 1, i0 : i1 + 1] = True
    return bad


def _check_positions(nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check pixels along one axis and the grid cell each belongs to.

    The middle pixel of every cell; a cell one pixel wide holds no pixel
    between its nodes, so both of its (node) pixels are checked instead (the
    interpolation along the other axis is still to be verified there).
    """
    pos: list[int] = []
    cell: list[int] = []
    for k in range(nodes.size - 1):
        a, b = int(nodes[k]), int(nodes[k + 1])
        picks = [(a + b) // 2] if b - a >= 2 else [a, b]
        pos.extend(picks)
        cell.extend([k] * len(picks))
    if not pos:  # a single node along this axis: check it
        pos, cell = [int(nodes[0])], [0]
    return np.asarray(pos, dtype=np.intp), np.asarray(cell, dtype=np.intp)


def _interpolated_pixmap(
    mapper: _Mapper,
    shape: tuple[int, int],
    step: int,
    from_limits: list[Intervals],
    to_limits: list[Intervals],
) -> np.ndarray:
    """Pixel map from the exact mapping on a grid every ``step`` pixels, interpolated."""
    ny, nx = shape
    xs = _grid_nodes(nx, step)
    ys = _grid_nodes(ny, step)
    grid = np.empty((ys.size, xs.size, 2))
    mapper.grid(xs, ys, grid)

    sx, wx = _lagrange_stencils(xs, nx, _NTAPS)
    sy, wy = _lagrange_stencils(ys, ny, _NTAPS)
    pixmap = np.empty((ny, nx, 2))
    nnan = _interp_separable(grid, sx, wx, sy, wy, pixmap)

    # Pixels outside the valid input region (bounding box / pixel_bounds) are
    # NaN in the exact map: reproduce that, and only re-evaluate inside it.
    x0, x1, y0, y1 = 0, nx, 0, ny
    for (xlo, xhi), (ylo, yhi) in from_limits:
        a, b = _inside_range(nx, xlo, xhi)
        x0, x1 = max(x0, a), min(x1, b)
        a, b = _inside_range(ny, ylo, yhi)
        y0, y1 = max(y0, a), min(y1, b)
    inside = None
    if (x0, x1, y0, y1) != (0, nx, 0, ny):
        inside = np.zeros((ny, nx), dtype=bool)
        inside[y0:y1, x0:x1] = True
        pixmap[~inside] = np.nan
        nnan = int(np.count_nonzero(np.isnan(pixmap[y0:y1, x0:x1]).any(axis=-1)))

    if nnan:
        # A NaN grid node poisons every pixel whose stencil touches it: fall back
        # to the exact transform for those pixels (they may be truly NaN).
        mask = np.isnan(pixmap).any(axis=-1)
        if inside is not None:
            mask &= inside
    _mask_outside(pixmap, to_limits)
    if nnan:
        n = _exact_at(mapper, pixmap, mask, to_limits)
        log.debug("calc_pixmap: %d pixels near NaN grid nodes evaluated exactly", n)

    bad = _check_cells(mapper, pixmap, xs, ys, to_limits)
    if inside is not None:
        bad &= inside
    if bad.any():
        n = _exact_at(mapper, pixmap, bad, to_limits)
        log.debug("calc_pixmap: %d pixels in grid cells failing the centre check evaluated exactly", n)
    return pixmap


def _exact_pixmap(mapper: _Mapper, shape: tuple[int, int]) -> np.ndarray:
    ny, nx = shape
    pixmap = np.empty((ny, nx, 2))
    mapper.grid(np.arange(nx, dtype=np.float64), np.arange(ny, dtype=np.float64), pixmap)
    return pixmap


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def calc_pixmap(
    wcs_from: Any,
    wcs_to: Any,
    shape: tuple[int, int] | None = None,
    disable_bbox: str = "to",
    *,
    stepsize: int | None = None,
) -> np.ndarray:
    """Map every pixel of the input image onto the output image.

    Parameters
    ----------
    wcs_from : APE-14 WCS
        WCS of the input image (astropy ``WCS``, including SIP, CPDIS and D2IM
        distortions, or ``gwcs.WCS``).  Two pixel axes and two celestial world
        axes are required.
    wcs_to : APE-14 WCS
        WCS of the output image; its world axes must have the same types, order
        and units as those of ``wcs_from``.
    shape : tuple of int, optional
        Shape ``(ny, nx)`` of the input image (numpy order), in pixels.  By
        default taken from ``wcs_from.array_shape``, else from
        ``wcs_from.pixel_shape``, else from ``wcs_from.bounding_box`` (the
        upper limit ``u`` of each axis gives ``ceil(u + 0.5)`` pixels).
    disable_bbox : {"to", "from", "both", "none"}, optional
        Which bounding boxes to ignore while computing the map: those of
        ``wcs_to`` (default), ``wcs_from``, both or none.  Pixels outside an
        active bounding box become NaN.  The bounding boxes are restored on
        return, even after an error.
    stepsize : int, optional, keyword-only
        If given (>= 1), evaluate the exact transformation only on a grid
        every ``stepsize`` input pixels (always including the last row and
        column) and interpolate between the grid nodes with a bicubic
        (4 x 4 node Lagrange) interpolant.  ``None`` (default) evaluates every
        pixel exactly.  With ``stepsize=10`` the error on real HST ACS/WFC
        and WFC3/UVIS chips (SIP + lookup tables) is below 0.01 pixel:
        ~1e-8 pixel for SIP alone, up to ~6e-3 pixel where a column-by-column
        D2IM table adds structure finer than the grid.

    Returns
    -------
    pixmap : numpy.ndarray
        Float64 array of shape ``(ny, nx, 2)``: ``pixmap[j, i, 0]`` and
        ``pixmap[j, i, 1]`` are the 0-based output x and y (pixels) of the
        centre of input pixel ``(x=i, y=j)``.

    Raises
    ------
    InputError
        A WCS is not a 2-D celestial APE-14 WCS, the world axes of the two
        WCS differ, or ``stepsize`` / ``disable_bbox`` is invalid.
    ShapeError
        ``shape`` is invalid or cannot be inferred from ``wcs_from``.

    Notes
    -----
    The exact path is ``wcs_to.world_to_pixel_values(*wcs_from.pixel_to_world_values(x, y))``
    as in ``drizzle.utils.calc_pixmap``, evaluated in blocks of
    ~260 000 pixels to bound memory.  For astropy FITS WCS the C pipeline
    (``all_pix2world`` / ``wcs_world2pix`` or ``all_world2pix``) is called
    directly on ``(N, 2)`` arrays, which gives identical numbers; as those
    routines release the GIL, the blocks are spread over
    ``numba.get_num_threads()`` threads (set ``NUMBA_NUM_THREADS`` or call
    ``numba.set_num_threads`` to limit them; results do not depend on it).

    The interpolated path works on output *pixel* coordinates, which are
    smooth across the RA = 0/360 degree wrap, so the wrap needs no special
    care.  Interpolation is separable: cubic Lagrange through the 4 nodes
    around each pixel's interval, first along x, then along y; at the grid
    nodes the map is exact.  Three guards keep it from returning silent
    garbage:

    * a NaN node (e.g. outside a bounding box) makes the interpolant NaN
      over its stencil, and those pixels are then evaluated exactly;
    * the exact map is also evaluated at the middle pixel of every grid cell;
      cells where the interpolant misses it by more than 0.05 pixel, or where
      only one of the two is NaN (a discontinuity such as the seam of an
      all-sky output projection, or a NaN island), are evaluated exactly;
    * active bounding boxes (and astropy ``pixel_bounds``) are applied to the
      interpolated map as the exact transform would apply them.

    NaN islands that touch neither a node nor a cell's middle pixel cannot be
    seen by the grid.  The extra evaluations cost about as much as the grid
    itself (~(ny / stepsize) * (nx / stepsize) points).

    The bounding boxes are switched off by assigning ``None`` to the WCS
    objects' ``bounding_box`` attribute for the duration of the call, so a
    WCS must not be used concurrently from another thread meanwhile.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> w = WCS(naxis=2)
    >>> w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    >>> w.wcs.cdelt = [-1e-5, 1e-5]
    >>> calc_pixmap(w, w, shape=(2, 3))[1, 2]
    array([2., 1.])
    """
    if disable_bbox not in _BBOX_CHOICES:
        raise InputError(
            f"disable_bbox must be one of {_BBOX_CHOICES}, got {disable_bbox!r}"
        )
    step = _check_stepsize(stepsize)
    _check_pair(wcs_from, wcs_to)
    bbox_from = _bbox_intervals(wcs_from)
    bbox_to = _bbox_intervals(wcs_to)
    shape = _infer_shape(wcs_from, shape, bbox_from)

    targets = _bbox_targets(wcs_from, wcs_to, disable_bbox)
    mapper = _Mapper(wcs_from, wcs_to)
    with _bbox_disabled(targets):
        if step is None or step == 1:
            return _exact_pixmap(mapper, shape)
        # limits that the exact transform would enforce with NaN
        from_limits = [b for b in (_pixel_bounds(wcs_from),) if b is not None]
        if bbox_from is not None and not any(w is wcs_from for w in targets):
            from_limits.append(bbox_from)
        to_limits = [b for b in (_pixel_bounds(wcs_to),) if b is not None]
        if bbox_to is not None and not any(w is wcs_to for w in targets):
            to_limits.append(bbox_to)
        return _interpolated_pixmap(mapper, shape, step, from_limits, to_limits)


def _refpix(wcs: Any, refpix: Any, name: str) -> np.ndarray:
    if refpix is not None:
        try:
            ref = np.asarray(refpix, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be two pixel coordinates (x, y), got {refpix!r}") from None
        if ref.shape != (2,) or not np.all(np.isfinite(ref)):
            raise InputError(f"{name} must be two finite pixel coordinates (x, y), got {refpix!r}")
        return ref
    bbox = _bbox_intervals(wcs)
    if bbox is not None:
        return np.array([0.5 * (bbox[0][0] + bbox[0][1]), 0.5 * (bbox[1][0] + bbox[1][1])])
    pixel_shape = getattr(wcs, "pixel_shape", None)
    if pixel_shape:
        return np.array([(n - 1) // 2 for n in pixel_shape], dtype=np.float64)
    return np.zeros(2)


def _wrap_degrees(a: float) -> float:
    """Bring a longitude difference (degrees) into [-180, 180] without touching small values."""
    if a > 180.0:
        return a - 360.0
    if a < -180.0:
        return a + 360.0
    return a


def _pixel_scale(wcs: Any, ref: np.ndarray, name: str) -> float:
    """Square root of the solid angle (radians) of the unit pixel square centred on ``ref``.

    The four corners ``(l_k, b_k)`` (degrees) give the spherical area
    ``A = |(l4 - l2)(sin b1 - sin b3) + (l1 - l3)(sin b2 - sin b4)| / 2``
    (JPL TRS 2014/40409); the scale is ``sqrt(A)``.
    """
    offsets = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [0.5, -0.5]])
    corners = ref + offsets
    lon, lat = wcs.pixel_to_world_values(corners[:, 0], corners[:, 1])
    l1, l2, l3, l4 = (float(v) for v in np.asarray(lon, dtype=np.float64))
    s1, s2, s3, s4 = (math.sin(_DEG2RAD * float(v)) for v in np.asarray(lat, dtype=np.float64))
    # a pixel straddling RA = 0/360 must not see a 360-degree jump
    area = _DEG2RAD * abs(0.5 * (_wrap_degrees(l4 - l2) * (s1 - s3) + _wrap_degrees(l1 - l3) * (s2 - s4)))
    scale = math.sqrt(area) if math.isfinite(area) else math.nan
    if not (scale > 0.0 and math.isfinite(scale)):
        raise InputError(
            f"the pixel scale of {name} at pixel ({ref[0]:g}, {ref[1]:g}) is not a "
            "positive finite number; is the reference pixel outside the valid region?"
        )
    return scale


def estimate_pixel_scale_ratio(
    wcs_from: Any,
    wcs_to: Any,
    refpix_from: Sequence[float] | np.ndarray | None = None,
    refpix_to: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Ratio of the output ("to") to the input ("from") pixel scale.

    Each pixel scale is the square root of the solid angle of a unit pixel
    (assumed square) centred on a reference pixel.

    Parameters
    ----------
    wcs_from, wcs_to : APE-14 WCS
        WCS of the input and of the output image (2 pixel axes, celestial
        world axes in degrees).
    refpix_from, refpix_to : sequence of 2 float, optional
        0-based pixel position ``(x, y)`` at which to measure each scale.
        Default: the centre of the WCS's bounding box if it has one, else
        ``((nx - 1) // 2, (ny - 1) // 2)`` from ``pixel_shape``, else
        ``(0, 0)`` (as in drizzle 3.0.0).

    Returns
    -------
    float
        Pixel scale of ``wcs_to`` divided by that of ``wcs_from``
        (dimensionless; e.g. 2.0 when output pixels are twice as wide).

    Raises
    ------
    InputError
        A WCS is not a 2-D celestial WCS, a reference pixel is not two finite
        numbers, or a scale is zero/NaN there.

    Notes
    -----
    Unlike drizzle, a pixel that straddles RA = 0/360 degrees gets the
    correct scale (longitude differences are wrapped into [-180, 180)).
    """
    _check_wcs(wcs_from, "wcs_from")
    _check_wcs(wcs_to, "wcs_to")
    ref_from = _refpix(wcs_from, refpix_from, "refpix_from")
    ref_to = _refpix(wcs_to, refpix_to, "refpix_to")
    return _pixel_scale(wcs_to, ref_to, "wcs_to") / _pixel_scale(wcs_from, ref_from, "wcs_from")


def _as_index_array(values: Any, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be an integer or a 1-D sequence of integers, got ndim={arr.ndim}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DtypeError(f"{name} must hold integer pixel indices, got dtype {arr.dtype}")
    return arr.astype(np.intp, copy=False)


def decode_context(context: np.ndarray, x: Any, y: Any) -> list[np.ndarray]:
    """Indices of the input images that contributed to output pixels ``(x, y)``.

    Bit ``b`` of plane ``p`` of a drizzle context image is set when input
    image ``p * nbits + b`` contributed to that pixel, with ``nbits`` the bit
    width of the context dtype (32 for drizzle's int32 context).

    Parameters
    ----------
    context : numpy.ndarray
        Integer context image, shape ``(nplanes, ny, nx)``, or ``(ny, nx)`` for
        a single plane.
    x, y : int or sequence of int
        0-based column and row indices (pixels) of the output pixels; equal
        lengths.

    Returns
    -------
    list of numpy.ndarray
        One sorted 1-D integer array of 0-based input-image indices per
        ``(x, y)`` pair.

    Raises
    ------
    DtypeError
        ``context`` or the coordinates are not integers.
    ShapeError
        ``context`` is not 2-D/3-D, the coordinates are not scalars or 1-D,
        or ``x`` and ``y`` differ in length.
    InputError
        A coordinate lies outside the context image (negative indices are
        rejected, unlike drizzle which would wrap them around).

    Examples
    --------
    >>> import numpy as np
    >>> ctx = np.zeros((2, 1, 2), dtype=np.int32)
    >>> ctx[0, 0, 1] = 0b101
    >>> ctx[1, 0, 1] = 1
    >>> decode_context(ctx, [1], [0])
    [array([ 0,  2, 32])]
    """
    if not isinstance(context, np.ndarray):
        context = np.asarray(context)
    if not np.issubdtype(context.dtype, np.integer):
        raise DtypeError(f"context must be an integer array, got dtype {context.dtype}")
    if context.ndim == 2:
        context = context[np.newaxis]
    if context.ndim != 3:
        raise ShapeError(
            f"context must be a 2-D (ny, nx) or 3-D (nplanes, ny, nx) array, got ndim={context.ndim}"
        )
    xs = _as_index_array(x, "x")
    ys = _as_index_array(y, "y")
    if xs.size != ys.size:
        raise ShapeError(f"x and y must have the same length, got {xs.size} and {ys.size}")
    _, ny, nx = context.shape
    for arr, n, name in ((xs, nx, "x"), (ys, ny, "y")):
        bad = (arr < 0) | (arr >= n)
        if np.any(bad):
            raise InputError(
                f"{name} = {arr[bad][0]} is outside the context image (valid 0..{n - 1})"
            )
    if not context.dtype.isnative:
        context = context.astype(context.dtype.newbyteorder("="))
    nbits = 8 * context.dtype.itemsize
    unsigned = context.view(np.dtype(f"u{context.dtype.itemsize}"))
    words = unsigned[:, ys, xs].T  # (npoints, nplanes)
    shifts = np.arange(nbits, dtype=unsigned.dtype)
    bits = (words[..., np.newaxis] >> shifts) & 1  # (npoints, nplanes, nbits)
    return [np.flatnonzero(b) for b in bits]
