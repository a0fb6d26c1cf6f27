"""Marker sets for the image viewer: thinning, automatic sizing, mask outlines.

Plain numpy (no ipywidgets), so the rules are testable on their own:

* :class:`MarkerSet` keeps *all* positions of a named set, its style and
  whether it is shown; the viewer draws a subset of it.
* :func:`shown_indices` thins a crowded set: inside the visible region,
  at most ``max_shown`` markers, the highest ``priority`` first (e.g.
  flux), or a fixed, spatially uniform random subset when there is no
  priority. Zooming in reveals the rest.
* :func:`size_factor` shrinks markers as more are shown, so that a field of
  thousands of sources is not carpeted by fixed-size circles.
* :func:`mask_outline` turns a boolean mask (cosmic rays, bad pixels) into
  the outlines of its regions, as one NaN-separated polyline (a single
  ``bqplot.Lines``), instead of one marker per flagged pixel.

Positions are 0-based pixel centres (pixel ``(i, j)`` spans ``i ± 0.5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drizzlekit.exceptions import ShapeError

__all__ = ["MarkerSet", "shown_indices", "size_factor", "mask_outline", "DEFAULT_STYLE"]

DEFAULT_STYLE = {"color": "#00e676", "size": 64, "marker": "circle", "fill": False,
                 "stroke_width": 1.5, "opacity": 1.0}


def _order(n: int, priority: np.ndarray | None) -> np.ndarray:
    if priority is not None:
        p = np.where(np.isfinite(priority), priority, -np.inf)
        return np.argsort(-p, kind="stable")
    return np.random.default_rng(12345).permutation(n)


@dataclass
class MarkerSet:
    """All markers of one named set.

    Attributes
    ----------
    name : str
    x, y : ndarray of float
        Pixel positions (all of them, whether shown or not).
    style : dict
        ``color``, ``size`` (marker area, square CSS pixels), ``marker``,
        ``fill``, ``stroke_width``, ``opacity``.
    visible : bool
    priority : ndarray or None
        Larger first when thinning (e.g. flux).
    kind : str
        ``'points'`` (a Scatter) or ``'outline'`` (a Lines of mask outlines).
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    style: dict = field(default_factory=lambda: dict(DEFAULT_STYLE))
    visible: bool = True
    priority: np.ndarray | None = None
    kind: str = "points"
    order: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.x = np.asarray(self.x, dtype=float).ravel()
        self.y = np.asarray(self.y, dtype=float).ravel()
        if self.x.shape != self.y.shape:
            raise ShapeError(f"markers '{self.name}': x and y differ in length "
                             f"({self.x.size} != {self.y.size})")
        if self.priority is not None:
            self.priority = np.asarray(self.priority, dtype=float).ravel()
            if self.priority.shape != self.x.shape:
                raise ShapeError(f"markers '{self.name}': priority has {self.priority.size} "
                                 f"values for {self.x.size} markers")
        self.order = _order(self.x.size, self.priority) if self.kind == "points" else \
            np.arange(0)

    @property
    def n(self) -> int:
        return int(self.x.size)


def shown_indices(ms: MarkerSet, view: tuple[float, float, float, float] | None,
                  max_shown: int) -> np.ndarray:
    """Indices of the markers to draw: inside ``view``, at most ``max_shown``.

    ``view`` is ``(xmin, xmax, ymin, ymax)`` in pixels (None: everywhere).

    All markers are returned (in their original order) when the set is small
    enough; otherwise the in-view markers of highest priority (or of a fixed
    random order) are kept.
    """
    n = ms.n
    if n <= max_shown:
        return np.arange(n)
    if view is None or any(v is None for v in view):
        inside = np.ones(n, bool)
    else:
        x0, x1, y0, y1 = view
        inside = (ms.x >= x0) & (ms.x <= x1) & (ms.y >= y0) & (ms.y <= y1)
    idx = ms.order[inside[ms.order]][:max(int(max_shown), 0)]
    return np.sort(idx)


def size_factor(n_shown: int, comfortable: int = 150, floor: float = 0.35) -> float:
    """Factor on the marker *diameter*: 1 up to ``comfortable`` markers, then sqrt(comf./n)."""
    if n_shown <= comfortable:
        return 1.0
    return float(max(floor, np.sqrt(comfortable / n_shown)))


def _runs(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 1 of a 2-D bool array whose first and last columns are False.

    Returns (row, first column, last column) of each run.
    """
    d = np.diff(edges.astype(np.int8), axis=1)
    rs, cs = np.nonzero(d == 1)
    _re, ce = np.nonzero(d == -1)
    return rs, cs + 1, ce


def _outline_segments(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    m = np.pad(mask, 1)
    # horizontal edges: between padded rows r and r+1, i.e. at y = r - 0.5
    rs, c0, c1 = _runs(m[1:, :] != m[:-1, :])
    hx0, hx1, hy = c0 - 1.5, c1 - 0.5, rs - 0.5
    # vertical edges: between padded columns c and c+1, i.e. at x = c - 0.5
    cs, r0, r1 = _runs((m[:, 1:] != m[:, :-1]).T)
    vy0, vy1, vx = r0 - 1.5, r1 - 0.5, cs - 0.5
    xa = np.concatenate([hx0, vx]).astype(float)
    xb = np.concatenate([hx1, vx]).astype(float)
    ya = np.concatenate([hy, vy0]).astype(float)
    yb = np.concatenate([hy, vy1]).astype(float)
    return xa, xb, ya, yb


def mask_outline(mask, max_segments: int = 20_000) -> tuple[np.ndarray, np.ndarray, int]:
    """Outlines of the True regions of a mask, as a NaN-separated polyline.

    Parameters
    ----------
    mask : array_like of bool (ny, nx)
    max_segments : int
        When the outline has more straight segments than this, the mask is
        first reduced by blocks (a block is set when any of its pixels is),
        doubling the block size until it fits.

    Returns
    -------
    x, y : ndarray of float
        ``x0, x1, nan, x0, x1, nan, ..., x0, x1`` (pixel coordinates, on pixel
        edges); empty for an empty mask.
    block : int
        Block size used (1: exact outlines).
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ShapeError(f"mask: expected a 2-D array, got shape {m.shape}")
    block = 1
    work = m
    while True:
        xa, xb, ya, yb = _outline_segments(work)
        if xa.size <= max_segments or min(work.shape) <= 1:
            break
        block *= 2
        ny, nx = m.shape
        py, px = (-ny) % block, (-nx) % block
        padded = np.pad(m, ((0, py), (0, px)))
        work = padded.reshape(padded.shape[0] // block, block,
                              padded.shape[1] // block, block).any(axis=(1, 3))
    if block > 1:  # coarse edge at c - 0.5 -> pixel edge c * block - 0.5
        xa, xb, ya, yb = ((v + 0.5) * block - 0.5 for v in (xa, xb, ya, yb))
    nan = np.full(xa.size, np.nan)
    # no trailing NaN: bqplot places the line's label at its last point
    x = np.column_stack([xa, xb, nan]).ravel()[:-1]
    y = np.column_stack([ya, yb, nan]).ravel()[:-1]
    return x, y, block
