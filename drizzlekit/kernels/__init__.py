"""Drizzle kernels as plug-ins.

A kernel decides how the flux of one input pixel (a "drop") is shared among
output pixels. drizzlekit ships seven numba kernels and lets you register your
own::

    >>> from drizzlekit.kernels import available_kernels, get_kernel
    >>> available_kernels()
    ['gaussian', 'lanczos2', 'lanczos3', 'point', 'square', 'tophat', 'turbo']

The kernel interface
--------------------
A kernel is a :class:`Kernel`: a name, whether it conserves flux, and a
callable ``drizzle(job: DrizzleJob) -> (nmiss, nskip)`` that adds one input
image to the output arrays **in place**. :class:`DrizzleJob` holds only plain
arrays and numbers (listed below), so the same job can be handed to a numba
kernel, a pure-numpy reference or a CUDA implementation that copies the
arrays to the device and the results back: same arrays in, same arrays out.

For every input pixel ``(j, i)`` inside ``[ymin..ymax] x [xmin..xmax]`` with
weight ``w = weight[j, i] * wtscale > 0`` the kernel computes overlap
fractions ``a_o`` for the output pixels ``o`` its drop touches and applies,
for each, with ``d = data[j, i] * dscale`` and ``dow = a_o * w``::

    out_img[o] = d                                    if out_wht[o] == 0
    out_img[o] = (out_img[o] out_wht[o] + dow d) / (out_wht[o] + dow)
    out_wht[o] += dow
    out_ctx[o] |= ctx_bit;  out_dq[o] |= dq[j, i]     (when dow > 0)
    out_img2[k, o] = (out_img2[k, o] W^2 + dow^2 data2[k, j, i]) / (W + dow)^2

(:func:`drizzlekit.kernels._common.deposit` implements exactly this with
float32 rounding identical to drizzle's C core.) Non-finite pixmap positions
are skipped. Drops that cross the edge of the output grid are clipped to it,
never discarded, so drizzling onto a tile gives exactly that tile of the full
result.

Overlap fractions of the built-in kernels (``p`` = pixfrac, ``s`` =
pixel_scale_ratio, output/input pixel size):

============ ============================================================ =========
kernel       drop and overlap                                             flux
============ ============================================================ =========
square       input pixel shrunk by p, its 4 corners mapped through the    yes
             pixmap; a_o = exact polygon overlap / drop area
turbo        axis-aligned square of side p/s centred on the mapped        yes
             centre; a_o = overlap area * s^2/p^2
point        all weight to the output pixel holding the mapped centre     yes
tophat       disk of diameter p/s; a_o = exact disk-pixel overlap area /  yes
             disk area (drizzle removed its broken tophat; this one is
             exact)
gaussian     a_o = exp(-r^2/(2 sigma^2)) / (2 pi sigma^2),                no
             sigma = p/(2.3548 s), over +-max(2.5 sigma, 1.2/s)
lanczos2/3   a_o = L(dx s/p) L(dy s/p), L(u) = sinc(u) sinc(u/n),         no
             for abs(dx), abs(dy) < n p/s, not normalised, evaluated
             analytically (drizzle 3.0.0 reads a 0.003-step table).
             ``Drizzle.add_image`` passes p = 1 with drizzle's warning
             when pixfrac != 1, as drizzle ignores pixfrac here
============ ============================================================ =========
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from .._threads import num_threads
from ..exceptions import UnknownKernelError
from . import builtin as _b
from ._common import band_limits, border_inside, column_limits

__all__ = ["Kernel", "DrizzleJob", "get_kernel", "register_kernel", "available_kernels",
           "unregister_kernel"]


class DrizzleJob(NamedTuple):
    """Everything a kernel needs to add one image (arrays are validated).

    Attributes
    ----------
    data : float32 (ny, nx)
        Input values.
    weight : float32 (ny, nx) or None
        Input weights (finite, >= 0; masked pixels have 0). ``None`` (all
        ones) and non-finite values only reach kernels registered with
        ``handles_nonfinite=True``.
    pixmap : float64 (ny, nx, 2)
        Output (x, y) of every input pixel centre, 0-based output pixels.
    out_img, out_wht : float32 (NY, NX)
        Output image and weight, updated in place.
    out_ctx : int32 (NY, NX) or None
        The context plane to mark, updated in place.
    ctx_bit : int
        Bit value (``1 << (ctx_id % 32)``, as int32) set in ``out_ctx``.
    data2 : float32 (k, ny, nx)
        Arrays drizzled with squared weights (variances); ``k`` may be 0.
    out_img2 : float32 (k, NY, NX)
        Their outputs, updated in place.
    dq : uint32 (ny, nx) or None; out_dq : uint32 (NY, NX) or None
        Input DQ, OR-combined into the output DQ.
    xmin, xmax, ymin, ymax : int
        Inclusive input pixel range to drizzle.
    dscale : float
        Data multiplier (``iscale``, divided by the exposure time for counts).
    pixel_scale_ratio : float
        Output pixel size in input pixels (``s``).
    pixfrac : float
        Linear drop size in input pixels (``p``).
    wtscale : float
        Weight multiplier.
    """

    data: np.ndarray
    weight: np.ndarray
    pixmap: np.ndarray
    out_img: np.ndarray
    out_wht: np.ndarray
    out_ctx: np.ndarray | None
    ctx_bit: int
    data2: np.ndarray
    out_img2: np.ndarray
    dq: np.ndarray | None
    out_dq: np.ndarray | None
    xmin: int
    xmax: int
    ymin: int
    ymax: int
    dscale: float
    pixel_scale_ratio: float
    pixfrac: float
    wtscale: float


@dataclass(frozen=True)
class Kernel:
    """A registered drizzle kernel.

    Parameters
    ----------
    name : str
        Lower-case name used by ``Drizzle(kernel=...)``.
    drizzle : callable
        ``drizzle(job: DrizzleJob) -> (nmiss, nskip)``, adding one image in place.
    conserves_flux : bool
        Whether the overlap fractions of a drop sum to 1.
    description : str
        One line for listings and widgets.
    """

    name: str
    drizzle: Callable[[DrizzleJob], tuple[int, int]]
    conserves_flux: bool
    description: str = ""
    #: True for kernels that skip NaN/inf data and weights themselves and accept
    #: ``job.weight is None`` (all ones); others get pre-masked arrays.
    handles_nonfinite: bool = False


def _radius(code: int, s: float, p: float) -> float:
    """Half-size of a drop in output pixels (for banding)."""
    if code == _b.GAUSSIAN:
        return max(2.5 * p / 2.3548 / s, 1.2 / s)
    if code in (_b.LANCZOS2, _b.LANCZOS3):
        return (2 if code == _b.LANCZOS2 else 3) * p / s
    if code == _b.POINT:
        return 0.5
    return p / s / 2.0


def _builtin_runner(code: int) -> Callable[[DrizzleJob], tuple[int, int]]:
    def run(job: DrizzleJob) -> tuple[int, int]:
        nbands = max(1, min(num_threads(), job.out_img.shape[0]))
        margin = _radius(code, job.pixel_scale_ratio, job.pixfrac) + 2.0
        row_lo, row_hi, edges = band_limits(job.pixmap, job.xmin, job.xmax, job.ymin,
                                            job.ymax, margin, job.out_img.shape[0], nbands)
        use_dq = job.dq is not None and job.out_dq is not None
        use_var = job.data2.shape[0] > 0
        # only the columns that can reach the output (cheap previews and tiles)
        ny_out, nx_out = job.out_img.shape
        if border_inside(job.pixmap, job.xmin, job.xmax, job.ymin, job.ymax, ny_out, nx_out):
            x0, x1 = job.xmin, job.xmax
        else:
            x0, x1 = column_limits(job.pixmap, job.xmin, job.xmax, job.ymin, job.ymax, margin,
                                   ny_out, nx_out, float(job.pixfrac))
        if x0 > x1:
            ncols = job.xmax - job.xmin + 1
            nrows = job.ymax - job.ymin + 1
            return ncols * nrows, nrows
        hits = _b.run_builtin(
            code, job.data, job.weight, job.pixmap, job.out_img, job.out_wht, job.out_ctx,
            np.int32(job.ctx_bit), job.data2 if use_var else None,
            job.out_img2 if use_var else None, job.dq if use_dq else None,
            job.out_dq if use_dq else None, x0, x1, job.ymin, job.ymax,
            float(job.dscale), float(job.pixel_scale_ratio), float(job.pixfrac),
            float(job.wtscale), row_lo, row_hi, edges)
        ncols = job.xmax - job.xmin + 1
        nmiss = int(ncols * hits.size - hits.sum())
        nskip = int(np.count_nonzero(hits == 0))
        return nmiss, nskip

    return run


_REGISTRY: dict[str, Kernel] = {}


def register_kernel(name: str, kernel: Kernel | Callable[[DrizzleJob], tuple[int, int]], *,
                    conserves_flux: bool = False, description: str = "",
                    overwrite: bool = False) -> Kernel:
    """Register a drizzle kernel under ``name`` (case-insensitive).

    Parameters
    ----------
    name : str
        Kernel name.
    kernel : Kernel or callable
        A :class:`Kernel`, or a ``drizzle(job)`` callable (then
        ``conserves_flux`` and ``description`` describe it).
    overwrite : bool
        Allow replacing an existing kernel (built-ins included).

    Returns
    -------
    Kernel
    """
    key = name.lower()
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"kernel '{key}' is already registered (use overwrite=True)")
    if not isinstance(kernel, Kernel):
        if not callable(kernel):
            raise TypeError("kernel must be a Kernel or a callable drizzle(job)")
        kernel = Kernel(key, kernel, conserves_flux, description)
    elif kernel.name != key:
        kernel = Kernel(key, kernel.drizzle, kernel.conserves_flux, kernel.description,
                        kernel.handles_nonfinite)
    _REGISTRY[key] = kernel
    return kernel


def unregister_kernel(name: str) -> None:
    """Remove a kernel from the registry."""
    _REGISTRY.pop(name.lower(), None)


def get_kernel(name: str) -> Kernel:
    """Return the registered :class:`Kernel` called ``name`` (case-insensitive).

    Raises
    ------
    UnknownKernelError
        Listing the available kernels.
    """
    if not isinstance(name, str):
        raise UnknownKernelError(f"kernel must be a name (str), got {type(name).__name__}")
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise UnknownKernelError(
            f"unknown kernel '{name}'; available kernels: {', '.join(available_kernels())}"
        ) from None


def available_kernels() -> list[str]:
    """Sorted names of all registered kernels."""
    return sorted(_REGISTRY)


for _name, _code, _flux, _desc in (
    ("square", _b.SQUARE, True, "exact overlap of the mapped, shrunken input pixel"),
    ("turbo", _b.TURBO, True, "axis-aligned square drop (fast approximation of square)"),
    ("point", _b.POINT, True, "all flux to the output pixel under the pixel centre"),
    ("tophat", _b.TOPHAT, True, "circular drop of diameter pixfrac, exact overlap"),
    ("gaussian", _b.GAUSSIAN, False, "Gaussian drop with FWHM = pixfrac"),
    ("lanczos2", _b.LANCZOS2, False, "Lanczos-2 weights (only sensible for p = s = 1)"),
    ("lanczos3", _b.LANCZOS3, False, "Lanczos-3 weights (only sensible for p = s = 1)"),
):
    register_kernel(_name, Kernel(_name, _builtin_runner(_code), _flux, _desc,
                                  handles_nonfinite=True))

del _name, _code, _flux, _desc
