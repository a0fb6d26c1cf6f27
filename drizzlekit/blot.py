"""Blot: interpolate a well-sampled image at the positions given by a pixmap.

Blotting is the inverse of drizzling. The drizzled (or median) image is
smooth and well sampled, so it can be *interpolated* (not flux-conservingly
resampled) at the position of every pixel of a distorted input frame. This is
step 6 of AstroDrizzle (spec section 8); the result is compared with the
input frame to find cosmic rays.

:func:`blot_image` has the call signature and the numbers of
``drizzle.resample.blot_image`` (drizzle 3.0.0), plus the ``sinc``
interpolant and its ``sinscl`` parameter, which drizzle 3.0 no longer has.

Where drizzlekit deliberately differs from drizzle 3.0.0
--------------------------------------------------------
* NaN (or infinite) pixmap coordinates give ``fillval``; drizzle raises.
* ``nearest`` clamps points in the outer half of the last row/column to the
  last pixel; drizzle 3.0.0 reads one element past the row (or the array).
* A non-contiguous ``out_img`` is filled in place; drizzle writes into a
  temporary copy and returns the untouched array.
* An ``out_img`` that is not float32 raises :class:`DtypeError` instead of
  being silently replaced by a float32 copy.
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
import warnings

import numpy as np
from numba import njit

from ._jit import LOOP_OPTIONS
from ._threads import num_threads, run_row_blocks
from .exceptions import DtypeError, InputError, ShapeError, UnknownKernelError

__all__ = ["blot_image", "INTERPOLANTS"]

log = logging.getLogger(__name__)

#: Names of the blot interpolants, in the order of their internal codes.
INTERPOLANTS = ("nearest", "linear", "poly3", "poly5", "sinc", "lanczos3", "lanczos5")

_NEAREST, _LINEAR, _POLY3, _POLY5, _SINC, _LANCZOS3, _LANCZOS5 = range(7)

#: Spacing (pixels) of the Lanczos look-up table, as in drizzle's C core.
_LUT_DELTA = 0.003

#: Half width of the sinc kernel (15 x 15 taps) and its taper constants.
_SINC_HALF = 7
_SINC_A2 = -0.49670
_SINC_A4 = 0.03705
#: Offsets below this (after ``sinscl``) in both axes return the pixel value.
_SINC_MINOFF = 0.001

#: Output pixel count above which the parallel path is used by default.
_PARALLEL_MIN_PIXELS = 1 << 16

#: Options of the per-pixel loops (no allocation, no reference counting; see
#: :mod:`drizzlekit._jit`). blot keeps numba's default Python error model.
_LOOP = dict(LOOP_OPTIONS, error_model="python")


# --------------------------------------------------------------------------
# Look-up tables (computed once per order, in float64 like drizzle 3.0)
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _lanczos_lut(order: int) -> np.ndarray:
    """Lanczos kernel sampled every ``_LUT_DELTA`` pixels from 0 to ``order``.

    ``lut[k] = sinc(x) sinc(x / order)`` at ``x = k * delta`` (0 beyond
    ``order``), with ``sinc(x) = sin(pi x) / (pi x)``; the table has
    ``ceil(order / delta) + 1`` entries.
    """
    n = math.ceil(order / _LUT_DELTA) + 1
    x = np.arange(n, dtype=np.float64) * _LUT_DELTA
    lut = np.zeros(n, dtype=np.float64)
    ok = (x > 0.0) & (x <= order)
    px = np.pi * x[ok]
    r = px / order
    lut[ok] = np.sin(px) * np.sin(r) / (px * r)
    lut[0] = 1.0
    lut.setflags(write=False)
    return lut


@functools.lru_cache(maxsize=None)
def _sinc_taper() -> np.ndarray:
    """Alternating-sign taper of the 15-tap sinc, index ``j + 7`` for j = -7..7.

    ``taper_j = (-1)^j (1 + a2 z + a4 z^2)^2`` with ``z = (pi j / 14)^2``.
    """
    j = np.arange(-_SINC_HALF, _SINC_HALF + 1, dtype=np.float64)
    z = (0.5 * np.pi * j / _SINC_HALF) ** 2
    sign = np.where(j % 2 == 0, 1.0, -1.0)
    taper = sign * (1.0 + _SINC_A2 * z + _SINC_A4 * z * z) ** 2
    taper.setflags(write=False)
    return taper


# --------------------------------------------------------------------------
# Numba kernels
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _clampi(i, n):
    if i < 0:
        return 0
    if i >= n:
        return n - 1
    return i


@njit(**_LOOP)
def _reflect_x(data, i, j):
    """data[j, i] with columns beyond an edge point-reflected about the edge pixel."""
    last = data.shape[1] - 1
    if i < 0:
        return 2.0 * np.float64(data[j, 0]) - np.float64(data[j, _clampi(-i, last + 1)])
    if i > last:
        return (2.0 * np.float64(data[j, last])
                - np.float64(data[j, _clampi(2 * last - i, last + 1)]))
    return np.float64(data[j, i])


@njit(**_LOOP)
def _reflect_xy(data, i, j):
    """data[j, i] extended by point reflection, first in x, then in y."""
    last = data.shape[0] - 1
    if j < 0:
        return 2.0 * _reflect_x(data, i, 0) - _reflect_x(data, i, _clampi(-j, last + 1))
    if j > last:
        return (2.0 * _reflect_x(data, i, last)
                - _reflect_x(data, i, _clampi(2 * last - j, last + 1)))
    return _reflect_x(data, i, j)


@njit(cache=True, nogil=True, inline="always")
def _nearest(data, x, y):
    ny, nx = data.shape
    i = np.int64(x + 0.5)
    j = np.int64(y + 0.5)
    if i > nx - 1:
        i = nx - 1
    if j > ny - 1:
        j = ny - 1
    return np.float64(data[j, i])


@njit(cache=True, nogil=True, inline="always")
def _linear(data, x, y):
    ny, nx = data.shape
    i = np.int64(x)
    j = np.int64(y)
    f00 = np.float64(data[j, i])
    if i == nx - 1:
        if j == ny - 1:
            return f00
        sy = y - j
        return (1.0 - sy) * f00 + sy * np.float64(data[j + 1, i])
    sx = x - i
    if j == ny - 1:
        return (1.0 - sx) * f00 + sx * np.float64(data[j, i + 1])
    sy = y - j
    tx = 1.0 - sx
    ty = 1.0 - sy
    return (tx * ty * f00 + sx * ty * np.float64(data[j, i + 1])
            + tx * sy * np.float64(data[j + 1, i]) + sx * sy * np.float64(data[j + 1, i + 1]))


@njit(cache=True, nogil=True, inline="always")
def _everett3(s):
    """Weights of the samples at offsets -1, 0, 1, 2 in Everett's cubic at fraction s.

    Everett's formula is linear in the samples; expanding
    ``s (f1 + (s^2-1) d2f1/6) + t (f0 + (t^2-1) d2f0/6)`` gives these weights.
    """
    t = 1.0 - s
    a = s * (s * s - 1.0) / 6.0
    b = t * (t * t - 1.0) / 6.0
    return (b, t + a - 2.0 * b, s - 2.0 * a + b, a)


@njit(cache=True, nogil=True, inline="always")
def _everett5(s):
    """Weights of the samples at offsets -2..3 in Everett's quintic at fraction s."""
    t = 1.0 - s
    s2m1 = s * s - 1.0
    t2m1 = t * t - 1.0
    a2 = s * s2m1 / 6.0
    a4 = s * s2m1 * (s * s - 4.0) / 120.0
    b2 = t * t2m1 / 6.0
    b4 = t * t2m1 * (t * t - 4.0) / 120.0
    return (b4, a4 + b2 - 4.0 * b4, t + a2 - 4.0 * a4 - 2.0 * b2 + 6.0 * b4,
            s - 2.0 * a2 + 6.0 * a4 + b2 - 4.0 * b4, a2 - 4.0 * a4 + b4, a4)


@njit(cache=True, nogil=True, inline="always")
def _row4(data, jj, i0, w):
    return (w[0] * np.float64(data[jj, i0]) + w[1] * np.float64(data[jj, i0 + 1])
            + w[2] * np.float64(data[jj, i0 + 2]) + w[3] * np.float64(data[jj, i0 + 3]))


@njit(cache=True, nogil=True, inline="always")
def _row6(data, jj, i0, w):
    return (w[0] * np.float64(data[jj, i0]) + w[1] * np.float64(data[jj, i0 + 1])
            + w[2] * np.float64(data[jj, i0 + 2]) + w[3] * np.float64(data[jj, i0 + 3])
            + w[4] * np.float64(data[jj, i0 + 4]) + w[5] * np.float64(data[jj, i0 + 5]))


@njit(**_LOOP)
def _poly_edge(data, i0, j0, wx, wy, compat):
    """Separable weighted sum over a block that crosses an image edge.

    Samples beyond the image are point-reflected about the edge pixel. With
    ``compat`` (6 x 6 block only), the block's top row, when it lies beyond
    the last image row, is image row ``ny - 4`` instead, as in drizzle 3.0.0.
    """
    ny = data.shape[0]
    n = len(wx)
    acc = 0.0
    for r in range(n):
        row = 0.0
        if compat and n == 6 and r == 5 and j0 + r > ny - 1:
            jc = _clampi(ny - 4, ny)
            for c in range(n):
                row += wx[c] * _reflect_x(data, i0 + c, jc)
        else:
            for c in range(n):
                row += wx[c] * _reflect_xy(data, i0 + c, j0 + r)
        acc += wy[r] * row
    return acc


@njit(**_LOOP)
def _poly3(data, x, y):
    """Everett cubic on the 4 x 4 block at offsets -1..2 from (int(x), int(y))."""
    ny, nx = data.shape
    i = np.int64(x)
    j = np.int64(y)
    wx = _everett3(x - i)
    wy = _everett3(y - j)
    i0 = i - 1
    j0 = j - 1
    if i0 >= 0 and j0 >= 0 and i0 + 4 <= nx and j0 + 4 <= ny:
        return (wy[0] * _row4(data, j0, i0, wx) + wy[1] * _row4(data, j0 + 1, i0, wx)
                + wy[2] * _row4(data, j0 + 2, i0, wx) + wy[3] * _row4(data, j0 + 3, i0, wx))
    return _poly_edge(data, i0, j0, wx, wy, False)


@njit(**_LOOP)
def _poly5(data, x, y, compat):
    """Everett quintic on the 6 x 6 block at offsets -2..3 from (int(x), int(y))."""
    ny, nx = data.shape
    i = np.int64(x)
    j = np.int64(y)
    wx = _everett5(x - i)
    wy = _everett5(y - j)
    i0 = i - 2
    j0 = j - 2
    if i0 >= 0 and j0 >= 0 and i0 + 6 <= nx and j0 + 6 <= ny:
        return (wy[0] * _row6(data, j0, i0, wx) + wy[1] * _row6(data, j0 + 1, i0, wx)
                + wy[2] * _row6(data, j0 + 2, i0, wx) + wy[3] * _row6(data, j0 + 3, i0, wx)
                + wy[4] * _row6(data, j0 + 4, i0, wx) + wy[5] * _row6(data, j0 + 5, i0, wx))
    return _poly_edge(data, i0, j0, wx, wy, compat)


@njit(**_LOOP)
def _lanczos(data, x, y, order, lut, delta, wx):
    """Lanczos interpolation with drizzle's truncated look-up table, unnormalised.

    Taps are the pixels within ``order`` of (x, y) that lie on the image
    (no reflection); the box limits are computed in float32 like the C code.
    """
    ny, nx = data.shape
    nlut = lut.shape[0]
    xf = np.float32(x)
    yf = np.float32(y)
    of = np.float32(order)
    ixs = max(np.int64(math.floor(xf - of)) + 1, 0)
    ixe = min(np.int64(math.floor(xf + of)), nx - 1)
    iys = max(np.int64(math.floor(yf - of)) + 1, 0)
    iye = min(np.int64(math.floor(yf + of)), ny - 1)
    # Every tap of the box is within ``order`` (+ float32 rounding) of the
    # point, so its table index is < nlut; the clamp only guards the table.
    nxt = ixe - ixs + 1
    for k in range(nxt):
        wx[k] = lut[min(np.int64(abs(x - (ixs + k)) / delta), nlut - 1)]
    acc = 0.0
    for jj in range(iys, iye + 1):
        wyj = lut[min(np.int64(abs(y - jj) / delta), nlut - 1)]
        row = 0.0
        for k in range(nxt):
            row += wx[k] * np.float64(data[jj, ixs + k])
        acc += wyj * row
    return acc


@njit(cache=True, nogil=True, inline="always")
def _sinc_weights(d, taper, w):
    """Tapered-sinc weights at offset d for taps -7..7; returns their sum."""
    n = taper.shape[0]
    half = n // 2
    total = 0.0
    if d == 0.0:
        for k in range(n):
            w[k] = 0.0
        w[half] = 1.0
        return 1.0
    for k in range(n):
        v = taper[k] / (d - (k - half))
        w[k] = v
        total += v
    return total


@njit(**_LOOP)
def _sinc(data, x, y, sinscl, taper, wx, wy):
    """15 x 15 tapered sinc centred on the nearest pixel; edges replicated."""
    ny, nx = data.shape
    half = taper.shape[0] // 2
    i = np.int64(math.floor(x + 0.5))
    j = np.int64(math.floor(y + 0.5))
    dx = (x - i) * sinscl
    dy = (y - j) * sinscl
    if abs(dx) < _SINC_MINOFF and abs(dy) < _SINC_MINOFF:
        return np.float64(data[_clampi(j, ny), _clampi(i, nx)])
    sx = _sinc_weights(dx, taper, wx)
    sy = _sinc_weights(dy, taper, wy)
    acc = 0.0
    interior = i - half >= 0 and i + half < nx
    for r in range(taper.shape[0]):
        if wy[r] == 0.0:  # dy == 0: only the centre row contributes
            continue
        jj = _clampi(j + r - half, ny)
        if dx == 0.0:  # only the centre column contributes
            row = np.float64(data[jj, _clampi(i, nx)])
        elif interior:
            row = 0.0
            for c in range(taper.shape[0]):
                row += wx[c] * np.float64(data[jj, i + c - half])
        else:
            row = 0.0
            for c in range(taper.shape[0]):
                row += wx[c] * np.float64(data[jj, _clampi(i + c - half, nx)])
        acc += wy[r] * row
    return acc / (sx * sy)


@njit(**_LOOP)
def _blot_rows(data, pixmap, out, j0, j1, code, fillval, scale, sinscl, order, aux, delta,
               compat, wx, wy):
    """Blot output rows j0..j1-1 of ``out`` (serial; ``wx``, ``wy``: scratch of >= 16)."""
    ny, nx = data.shape
    nxf = np.float32(nx)
    nyf = np.float32(ny)
    ffill = np.float32(fillval)
    ncol = out.shape[1]
    for j in range(j0, j1):
        for i in range(ncol):
            xf = np.float32(pixmap[j, i, 0])
            yf = np.float32(pixmap[j, i, 1])
            # NaN fails every comparison and falls through to the fill value.
            if not (xf >= 0.0 and xf < nxf and yf >= 0.0 and yf < nyf):
                out[j, i] = ffill
                continue
            x = np.float64(xf)
            y = np.float64(yf)
            if code == _NEAREST:
                v = _nearest(data, x, y)
            elif code == _LINEAR:
                v = _linear(data, x, y)
            elif code == _POLY3:
                v = _poly3(data, x, y)
            elif code == _POLY5:
                v = _poly5(data, x, y, compat)
            elif code == _SINC:
                v = _sinc(data, x, y, sinscl, aux, wx, wy)
            else:
                v = _lanczos(data, x, y, order, aux, delta, wx)
            out[j, i] = np.float32(v * scale)


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------
def _real_scalar(value, name: str, *, finite: bool = True) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if finite and not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {v!r}")
    return v


def _check_data(data) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype.kind not in "iuf":
        raise DtypeError(
            f"data must hold real numbers (int or float), got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(f"data must be a 2-D image, got {arr.ndim} dimension(s) {arr.shape}")
    if arr.size == 0:
        raise ShapeError(f"data must not be empty, got shape {arr.shape}")
    # The C core works on float32 data; so does drizzlekit (no copy if already so).
    return np.ascontiguousarray(arr, dtype=np.float32)


def _check_pixmap(pixmap) -> np.ndarray:
    arr = np.asarray(pixmap)
    if arr.dtype.kind not in "iuf":
        raise DtypeError(f"pixmap must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise ShapeError(f"pixmap must have shape (ny, nx, 2), got {arr.shape}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _check_out(out_img, shape) -> np.ndarray:
    if out_img is None:
        return np.empty(shape, dtype=np.float32)
    if not isinstance(out_img, np.ndarray):
        raise DtypeError(
            f"out_img must be a float32 numpy.ndarray, got {type(out_img).__name__}")
    if out_img.dtype != np.float32:
        raise DtypeError(f"out_img must have dtype float32, got {out_img.dtype}")
    if out_img.shape != tuple(shape):
        raise ShapeError(
            f"out_img shape {out_img.shape} does not match the pixmap's output shape "
            f"{tuple(shape)}")
    if not out_img.flags.writeable:
        raise InputError("out_img is read-only")
    return out_img


def _interp_code(interp) -> int:
    name = interp.strip().lower() if isinstance(interp, str) else interp
    if name not in INTERPOLANTS:
        raise UnknownKernelError(
            f"interp {interp!r} is not a blot interpolant; valid names: "
            + ", ".join(INTERPOLANTS))
    return INTERPOLANTS.index(name)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
_DEPRECATED_ARG = object()  # marks drizzle's deprecated positional slots as "not given"


def _apply_deprecated(pix_ratio, exptime, output_pixel_shape, iscale, interp):
    """drizzle 3.0.0's deprecated blot arguments: same warnings, same meaning."""
    if isinstance(interp, str) and interp.strip().lower() in ("lan3", "lan5"):
        new = interp.strip().lower().replace("lan", "lanczos")
        warnings.warn(f"Interpolation method '{interp}' is deprecated (as in drizzle); "
                      f"use '{new}' instead.", DeprecationWarning, stacklevel=3)
        interp = new
    if pix_ratio is not _DEPRECATED_ARG:
        warnings.warn("Argument 'pix_ratio' is deprecated (as in drizzle 2.2.0); use "
                      "iscale=1.0 / pix_ratio**2 instead.", DeprecationWarning, stacklevel=3)
        ratio = _real_scalar(pix_ratio, "pix_ratio")
        iscale = _real_scalar(iscale, "iscale") / (ratio * ratio)
    if exptime is not _DEPRECATED_ARG:
        warnings.warn("Argument 'exptime' is deprecated (as in drizzle 2.2.0); use "
                      "iscale=exptime instead.", DeprecationWarning, stacklevel=3)
        iscale = _real_scalar(iscale, "iscale") * _real_scalar(exptime, "exptime")
    shape = None
    if output_pixel_shape is not _DEPRECATED_ARG:
        warnings.warn("Argument 'output_pixel_shape' is deprecated (as in drizzle 2.2.0): "
                      "the output shape is the pixmap's.", DeprecationWarning, stacklevel=3)
        try:
            shape = tuple(int(n) for n in output_pixel_shape)[::-1]
        except (TypeError, ValueError):
            raise InputError("output_pixel_shape must be two integers (nx, ny), got "
                             f"{output_pixel_shape!r}") from None
    return iscale, interp, shape


def blot_image(
    data,
    pixmap,
    pix_ratio=_DEPRECATED_ARG,
    exptime=_DEPRECATED_ARG,
    output_pixel_shape=_DEPRECATED_ARG,
    out_img: np.ndarray | None = None,
    fillval: float | None = 0.0,
    iscale: float = 1.0,
    interp: str = "poly5",
    *,
    sinscl: float = 1.0,
    parallel: bool | None = None,
    compat: bool = False,
) -> np.ndarray:
    """Interpolate ``data`` at the positions given by ``pixmap``.

    Parameters
    ----------
    data : array_like, shape (Ny_in, Nx_in)
        The well-sampled source image (e.g. the median image), any real
        numeric dtype; converted to float32 (data units, e.g. e-/s).
    pixmap : array_like, shape (Ny, Nx, 2)
        For every output pixel ``(j, i)``, the 0-based position
        ``(x, y) = pixmap[j, i]`` in ``data`` at which to interpolate
        (pixels; pixel ``k`` is centred on ``k``). Coordinates are rounded to
        float32, as in drizzle.
    pix_ratio, exptime, output_pixel_shape : optional, deprecated
        drizzle 3.0.0's deprecated positional slots, accepted with the same
        ``DeprecationWarning`` and meaning: ``iscale`` is divided by
        ``pix_ratio**2`` and multiplied by ``exptime``; ``output_pixel_shape``
        ``(nx, ny)`` must equal the pixmap's shape.
    out_img : numpy.ndarray of float32, shape (Ny, Nx), optional
        Array to fill in place (any memory layout; it may even be ``data``
        itself). A new C-contiguous array is allocated when omitted.
    fillval : float or None, optional
        Value of output pixels that map outside ``data`` (or to NaN); ``None``
        means 0, as in drizzle. NaN and +-inf are allowed.
    iscale : float, optional
        Multiplier applied to every interpolated value (not to ``fillval``),
        e.g. ``EXPTIME / s**2`` in AstroDrizzle's blot step.
    interp : str, optional
        ``"nearest"``, ``"linear"``, ``"poly3"``, ``"poly5"`` (default),
        ``"sinc"``, ``"lanczos3"`` or ``"lanczos5"`` (drizzle's deprecated
        ``"lan3"``/``"lan5"`` are accepted with a ``DeprecationWarning``).
    sinscl : float, optional, keyword-only
        Scale of the sinc offsets (``interp="sinc"`` only; > 0): the offsets
        from the nearest pixel are multiplied by ``sinscl`` before the sinc
        weights are computed, so ``sinscl=1`` is the plain tapered sinc.
    parallel : bool or None, keyword-only
        Split the output rows into bands processed by numba threads. ``None``
        (default) does so when numba has more than one thread and the output
        has at least 65536 pixels. The result does not depend on it.
    compat : bool, keyword-only
        Reproduce drizzle 3.0.0's ``poly5`` treatment of the top three image
        rows (see Notes). Default False: correct edge reflection.

    Returns
    -------
    numpy.ndarray of float32, shape (Ny, Nx)
        The blotted image (``out_img`` itself when it was given).

    Raises
    ------
    DtypeError
        ``data`` or ``pixmap`` is not real numeric; ``out_img`` is not a
        float32 ndarray.
    ShapeError
        ``data`` is not 2-D or is empty; ``pixmap`` is not (Ny, Nx, 2);
        ``out_img`` has another shape.
    UnknownKernelError
        ``interp`` is not one of :data:`INTERPOLANTS`.
    InputError
        ``fillval``, ``iscale`` or ``sinscl`` is not a valid number;
        ``out_img`` is read-only.

    Notes
    -----
    A point ``(x, y)`` is on the image when ``0 <= x < Nx_in`` and
    ``0 <= y < Ny_in`` (in float32), exactly as in drizzle; anything else,
    including NaN, gets ``fillval``. With ``i = int(x)``, ``s = x - i``,
    ``t = 1 - s``:

    * ``nearest``: ``data[int(y + 0.5), int(x + 0.5)]``, clamped to the last
      row/column.
    * ``linear``: bilinear on the 2 x 2 cell; in the last column (row) only
      along y (x), the last pixel is constant.
    * ``poly3``: Everett's cubic on the 4 x 4 block (offsets -1..2), per axis
      ``z = s (f1 + (s^2-1) d2f1/6) + t (f0 + (t^2-1) d2f0/6)``.
    * ``poly5``: Everett's quintic on 6 x 6 (offsets -2..3),
      ``z = s (f1 + (s^2-1)(d2f1/6 + (s^2-4) d4f1/120)) + t (...f0...)``.
      Polynomial samples beyond an edge are point-reflected about the edge
      pixel, ``f(-k) = 2 f(0) - f(k)`` (x first, then y). drizzle 3.0.0 does
      the same except (a) ``poly3`` with ``int(y) = Ny_in - 1`` reads
      uninitialised memory (drizzlekit reflects), and (b) ``poly5`` with
      ``int(y) >= Ny_in - 3`` takes image row ``Ny_in - 4`` (unreflected) as
      its top sample row; ``compat=True`` reproduces (b).
    * ``lanczosN``: ``sum f_ij L(|x-i|) L(|y-j|)`` over on-image pixels within
      N, with ``L(u) = sinc(u) sinc(u/N)`` taken from drizzle's table of step
      0.003 (index ``int(u / 0.003)``); not renormalised, so values fall off
      within N pixels of the edges, as in drizzle.
    * ``sinc``: 15 x 15 tapered sinc around the nearest pixel; with offsets
      ``dx, dy`` (times ``sinscl``) the weights are ``taper_k / (dx - k)``,
      ``taper_k = (-1)^k (1 - 0.49670 z + 0.03705 z^2)^2``, ``z = (pi k/14)^2``,
      normalised by their sums; if both offsets are below 0.001 the pixel
      value is returned. Beyond the edge the edge pixels are replicated.

    Non-finite ``data`` values (NaN, inf) are not masked: an output pixel is
    NaN/inf exactly when such a value lies in its interpolation footprint
    (1, 2 x 2, 4 x 4, 6 x 6, 2N x 2N or 15 x 15 pixels, plus the mirror pixels
    used for edge reflection), and nowhere else.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[0:8, 0:8].astype(float)
    >>> pixmap = np.dstack([xx + 1.5, yy])          # 1.5-pixel shift in x
    >>> out = blot_image(xx * 2.0, pixmap, interp="linear", fillval=-1.0)
    >>> out[0, 2], out[0, 6], out[0, 7]             # x = 3.5, 7.5 (last column), 8.5 (off)
    (np.float32(7.0), np.float32(14.0), np.float32(-1.0))
    """
    iscale, interp, dep_shape = _apply_deprecated(pix_ratio, exptime, output_pixel_shape,
                                                  iscale, interp)
    code = _interp_code(interp)
    data32 = _check_data(data)
    pmap = _check_pixmap(pixmap)
    if dep_shape is not None and dep_shape != pmap.shape[:2]:
        raise ShapeError(f"output_pixel_shape {dep_shape[::-1]} (nx, ny) does not match the "
                         f"pixmap's {pmap.shape[1::-1]}")
    if fillval is None:
        fillval = 0.0
    fill = _real_scalar(fillval, "fillval", finite=False)
    scale = _real_scalar(iscale, "iscale")
    scl = _real_scalar(sinscl, "sinscl")
    if scl <= 0.0:
        raise InputError(f"sinscl must be > 0, got {scl!r}")
    out_shape = pmap.shape[:2]
    result = _check_out(out_img, out_shape)
    # write through a temporary when out_img is strided or overlaps the inputs
    direct = (result.flags.c_contiguous and not np.may_share_memory(result, data32)
              and not np.may_share_memory(result, pmap))
    target = result if direct else np.empty(out_shape, dtype=np.float32)
    compat = bool(compat)

    order = 0
    if code == _SINC:
        aux = _sinc_taper()
    elif code in (_LANCZOS3, _LANCZOS5):
        order = 3 if code == _LANCZOS3 else 5
        aux = _lanczos_lut(order)
    else:
        aux = np.zeros(1, dtype=np.float64)

    npix = out_shape[0] * out_shape[1]
    nthreads = num_threads()
    if parallel is None:
        use_par = nthreads > 1 and npix >= _PARALLEL_MIN_PIXELS
    else:
        use_par = bool(parallel)
    log.debug("blot_image: %s, %s -> %s, parallel=%s", INTERPOLANTS[code], data32.shape,
              out_shape, use_par)
    nscratch = max(16, 2 * order + 2)

    def blot_rows(j0: int, j1: int) -> None:
        _blot_rows(data32, pmap, target, j0, j1, code, fill, scale, scl, order, aux,
                   _LUT_DELTA, compat, np.empty(nscratch), np.empty(nscratch))

    if npix:  # a few blocks per thread balance rows that fall off the image (cheap fills)
        run_row_blocks(blot_rows, out_shape[0], 8 * nthreads if use_par else 1,
                       nworkers=nthreads)
    if target is not result:
        result[...] = target
    return result
