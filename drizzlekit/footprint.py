"""Single drizzles kept on each exposure's own footprint (issue 12).

A mosaic's exposures each cover a small part of the output frame. Keeping a
full-frame image and weight per exposure makes memory grow with
``N x frame`` (``N**2`` for a mosaic); here every single drizzle is stored
on its *footprint*, the bounding box of its chips in the output frame,
widened by the drop size of the kernel.

The box holds every drop of the exposure's chips (pixel-map extent plus
the kernel's drop size, :func:`drop_margin`); the drizzle itself runs in
full-frame coordinates on a virtually allocated frame of which only the box
is touched (:func:`drizzlekit.tiles.drizzle_virtual`), so the box is the cut
of the full-frame result bit for bit. Outside the box the full-frame image
holds the initial value (0, or the fill value) and the weight 0. :class:`SingleFrames` rebuilds those full frames lazily,
so ``res.single_sci[name]`` keeps working for existing code.

The overlap check of the median step is a coverage count over the
footprints (O(total footprint pixels)) instead of comparing every pair of
full frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from numba import njit

from ._jit import LOOP_OPTIONS

__all__ = ["Footprint", "SingleFrames", "drop_margin", "footprint_box", "lonely_footprints",
           "coverage_count"]

#: Extra output pixels around the drops (distortion varies the drop size).
_EXTRA = 3


@dataclass
class Footprint:
    """One exposure's single drizzle on its bounding box in the output frame.

    Attributes
    ----------
    y0, x0 : int
        Output pixel of ``sci[0, 0]`` (0-based row, column).
    sci, wht : 2-D float32 arrays (or memory maps)
        Single-drizzled image (e-/s) and weight on the box.
    fill : float
        Value of ``sci`` outside the box in the full frame (0, or the
        drizzle fill value).
    """

    y0: int
    x0: int
    sci: np.ndarray
    wht: np.ndarray
    fill: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)`` of the box, pixels."""
        return tuple(self.sci.shape)  # type: ignore[return-value]

    @property
    def y1(self) -> int:
        return self.y0 + self.sci.shape[0]

    @property
    def x1(self) -> int:
        return self.x0 + self.sci.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes held by ``sci`` and ``wht``."""
        return int(self.sci.nbytes + self.wht.nbytes)

    def full(self, which: str, frame_shape: tuple[int, int]) -> np.ndarray:
        """The full-frame ``'sci'`` or ``'wht'`` image (a new float32 array)."""
        fill = self.fill if which == "sci" else 0.0
        out = np.full(frame_shape, np.float32(fill), dtype=np.float32)
        out[self.y0:self.y1, self.x0:self.x1] = getattr(self, which)
        return out

    def rows(self, which: str, r0: int, r1: int, nx: int) -> np.ndarray:
        """Full-width rows ``r0:r1`` of the full-frame image (float32 copy)."""
        fill = self.fill if which == "sci" else 0.0
        out = np.full((r1 - r0, nx), np.float32(fill), dtype=np.float32)
        a, b = max(r0, self.y0), min(r1, self.y1)
        if a < b:
            out[a - r0:b - r0, self.x0:self.x1] = getattr(self, which)[a - self.y0:b - self.y0]
        return out

    def cut_rows(self, r0: int, r1: int) -> "Footprint":
        """The footprint restricted to frame rows ``r0:r1`` (views; may be empty)."""
        a, b = max(r0, self.y0), min(r1, self.y1)
        if a >= b:
            empty = np.zeros((0, self.sci.shape[1]), np.float32)
            return Footprint(r0, self.x0, empty, empty, self.fill)
        return Footprint(a, self.x0, self.sci[a - self.y0:b - self.y0],
                         self.wht[a - self.y0:b - self.y0], self.fill)

    def intersects(self, r0: int, r1: int) -> bool:
        """Whether the box has a row in ``r0:r1``."""
        return self.sci.size > 0 and self.y0 < r1 and r0 < self.y1


class SingleFrames(Mapping):
    """Read-only ``name -> full-frame image`` view of footprints (built on access).

    ``res.single_sci`` and ``res.single_wht`` are such views: indexing
    returns a new full-frame float32 array (what earlier versions stored),
    while the pipeline itself only ever touches the footprints.

    Parameters
    ----------
    footprints : dict
        ``name -> Footprint``, in processing order.
    which : {'sci', 'wht'}
    frame_shape : (ny, nx)
        Shape of the full frame (``single_wcs``).
    """

    def __init__(self, footprints: dict, which: str, frame_shape: tuple[int, int]):
        self.footprints = footprints
        self.which = which
        self.frame_shape = tuple(int(n) for n in frame_shape)

    def __getitem__(self, name) -> np.ndarray:
        return self.footprints[name].full(self.which, self.frame_shape)

    def __contains__(self, name) -> bool:
        return name in self.footprints

    def __iter__(self) -> Iterator:
        return iter(self.footprints)

    def __len__(self) -> int:
        return len(self.footprints)

    def __repr__(self) -> str:
        return (f"SingleFrames({self.which}, {len(self)} exposure(s) on footprints, "
                f"frame {self.frame_shape})")


def as_footprints(single_sci: Mapping, single_wht: Mapping, names: Sequence[str],
                  fill: float = 0.0) -> dict:
    """``name -> Footprint`` from the result's single images.

    Footprint views give their footprints; plain dicts of full frames (set by
    a user) become full-frame footprints.
    """
    if isinstance(single_sci, SingleFrames):
        return {n: single_sci.footprints[n] for n in names if n in single_sci.footprints}
    out = {}
    for n in names:
        if n in single_sci:
            sci = np.asarray(single_sci[n])
            out[n] = Footprint(0, 0, sci, np.asarray(single_wht[n]), fill)
    return out


# -- boxes ----------------------------------------------------------------------------
def drop_margin(kernel: str, pixfrac: float, pixel_scale_ratio: float) -> int | None:
    """Half-size of a drop, output pixels, rounded up with a safety margin.

    Parameters
    ----------
    kernel : str
        Kernel name.
    pixfrac : float
        Drop size, fraction of an input pixel.
    pixel_scale_ratio : float
        ``s``: output over input pixel scale.

    Returns
    -------
    int or None
        None for kernels whose drop size is not known (registered by the user):
        the caller then uses the whole frame.
    """
    k = str(kernel).lower()
    p, s = float(pixfrac), float(pixel_scale_ratio)
    if not (s > 0 and math.isfinite(s) and math.isfinite(p)):
        return None
    if k == "gaussian":
        r = max(2.5 * p / 2.3548 / s, 1.2 / s)
    elif k in ("lanczos2", "lanczos3"):
        r = int(k[-1]) * p / s
    elif k == "point":
        r = 0.5
    elif k in ("square", "turbo", "tophat"):
        r = p / s / 2.0
    else:
        return None
    return int(math.ceil(r)) + _EXTRA


def footprint_box(pixmaps: Sequence[np.ndarray], margins: Sequence[int | None],
                  frame_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Box ``(y0, y1, x0, x1)`` of the output frame that holds every drop.

    Parameters
    ----------
    pixmaps : sequence of (ny, nx, 2) arrays
        Output positions (x, y; 0-based) of the chips' pixel centres.
    margins : sequence of int or None
        :func:`drop_margin` of every chip (None = whole frame).
    frame_shape : (ny, nx)

    Returns
    -------
    (int, int, int, int)
        Clipped to the frame; an empty box (``y0 == y1``) when nothing lands.
    """
    ny, nx = frame_shape
    lo = np.array([np.inf, np.inf])
    hi = np.array([-np.inf, -np.inf])
    ext = np.empty(5)
    for pm, m in zip(pixmaps, margins):
        if m is None:
            return 0, ny, 0, nx
        ext[:] = (np.inf, -np.inf, np.inf, -np.inf, 0.0)
        _extent(np.ascontiguousarray(pm, dtype=np.float64), ext)
        if ext[4] > 0:
            return 0, ny, 0, nx  # infinite positions: be safe
        if not np.isfinite(ext[0]):
            continue  # nothing of this chip on the sky
        for k in range(2):
            lo[k] = min(lo[k], math.floor(ext[2 * k]) - m)
            hi[k] = max(hi[k], math.ceil(ext[2 * k + 1]) + m + 1)
    if not np.all(np.isfinite(lo)):
        return 0, 0, 0, 0
    x0, y0 = int(max(lo[0], 0)), int(max(lo[1], 0))
    x1, y1 = int(min(hi[0], nx)), int(min(hi[1], ny))
    if x0 >= x1 or y0 >= y1:
        return 0, 0, 0, 0
    return y0, y1, x0, x1



@njit(**LOOP_OPTIONS)
def _extent(pm, out):  # pragma: no cover - compiled
    """x min, x max, y min, y max of the finite positions; out[4] += infinite ones."""
    for j in range(pm.shape[0]):
        for i in range(pm.shape[1]):
            x = pm[j, i, 0]
            y = pm[j, i, 1]
            if math.isinf(x) or math.isinf(y):
                out[4] += 1.0
            elif x == x and y == y:
                if x < out[0]:
                    out[0] = x
                if x > out[1]:
                    out[1] = x
                if y < out[2]:
                    out[2] = y
                if y > out[3]:
                    out[3] = y


# -- coverage ---------------------------------------------------------------------------
def coverage_count(footprints: Sequence[Footprint], frame_shape: tuple[int, int],
                   ) -> np.ndarray:
    """Number of exposures with weight > 0 at every output pixel (uint16/uint32)."""
    dtype = np.uint16 if len(footprints) < 65535 else np.uint32
    count = np.zeros(frame_shape, dtype=dtype)
    for fp in footprints:
        if fp.sci.size:
            count[fp.y0:fp.y1, fp.x0:fp.x1] += (np.asarray(fp.wht) > 0)
    return count


def lonely_footprints(footprints: dict, frame_shape: tuple[int, int]) -> list:
    """Names of exposures that share no covered pixel with any other one.

    Same answer as comparing every pair of full-frame weights, from one
    coverage count (memory: one uint16 frame; time: the footprint pixels).
    """
    count = coverage_count(list(footprints.values()), frame_shape)
    alone = []
    for name, fp in footprints.items():
        if not fp.sci.size:
            alone.append(name)
            continue
        cover = np.asarray(fp.wht) > 0
        if not np.any(cover & (count[fp.y0:fp.y1, fp.x0:fp.x1] >= 2)):
            alone.append(name)
    return alone


def max_coverage(footprints: Sequence[Footprint], frame_shape: tuple[int, int]) -> int:
    """Largest number of footprint *boxes* over one output row (band sizing)."""
    ny = frame_shape[0]
    diff = np.zeros(ny + 1, dtype=np.int64)
    for fp in footprints:
        if fp.sci.size:
            diff[fp.y0] += 1
            diff[fp.y1] -= 1
    return int(np.cumsum(diff).max()) if len(footprints) else 0
