"""Keep a pixel map compactly between pipeline steps.

A chip's pixel map is nearly affine: ``pixmap = origin + i * ax + j * ay +
residual``, where the residual is the geometric distortion (a few pixels).
:class:`PixmapStore` keeps the affine part as six numbers and the residual in
float32: half the memory of the float64 map, and the decoded map differs from
the original by ~1e-6 pixel at most, far below the error of the ``stepsize``
interpolation that made it. Every decode returns the same numbers, so every
step that drizzles or blots a chip uses the same map.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._jit import LOOP_OPTIONS
from ._threads import run_row_blocks

__all__ = ["PixmapStore"]


@njit(cache=True, nogil=True, inline="always")
def _affine(origin, ax, ay, i, j, k):  # pragma: no cover - compiled
    """Coordinate ``k`` of the affine part at input pixel (j, i)."""
    return ay[k] * j + (origin[k] + ax[k] * i)


@njit(**LOOP_OPTIONS)
def _encode_rows(pm, origin, ax, ay, residual, j0, j1):  # pragma: no cover - compiled
    for j in range(j0, j1):
        for i in range(pm.shape[1]):
            for k in range(2):
                residual[j, i, k] = np.float32(pm[j, i, k] - _affine(origin, ax, ay, i, j, k))


@njit(**LOOP_OPTIONS)
def _decode_rows(residual, origin, ax, ay, out, j0, j1):  # pragma: no cover - compiled
    for j in range(j0, j1):
        for i in range(residual.shape[1]):
            for k in range(2):
                out[j, i, k] = _affine(origin, ax, ay, i, j, k) + np.float64(residual[j, i, k])


class PixmapStore:
    """A pixel map (``(ny, nx, 2)`` float64, finite) stored as affine part + float32 residual.

    Parameters
    ----------
    pm : ndarray (ny, nx, 2)
        The pixel map (output x, y of every input pixel centre, pixels).
    """

    def __init__(self, pm: np.ndarray):
        pm = np.ascontiguousarray(pm, dtype=np.float64)
        ny, nx = pm.shape[:2]
        self.origin = np.array(pm[0, 0], dtype=np.float64)
        self.ax = (pm[0, -1] - self.origin) / max(nx - 1, 1)
        self.ay = (pm[-1, 0] - self.origin) / max(ny - 1, 1)
        self.residual = np.empty(pm.shape, np.float32)
        run_row_blocks(lambda j0, j1: _encode_rows(pm, self.origin, self.ax, self.ay,
                                                   self.residual, j0, j1), ny)
        #: Bytes held.
        self.nbytes = self.residual.nbytes

    def decode(self) -> np.ndarray:
        """The pixel map, float64 ``(ny, nx, 2)`` (a new array on every call)."""
        out = np.empty(self.residual.shape, np.float64)
        run_row_blocks(lambda j0, j1: _decode_rows(self.residual, self.origin, self.ax,
                                                   self.ay, out, j0, j1), out.shape[0])
        return out
