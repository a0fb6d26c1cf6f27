"""Colour bar with the cut levels and a histogram of the data, as inline SVG.

The bar is drawn in *data* units: its x axis runs from a little below the
low cut level to a little above the high one, the histogram of the pixel
values sits above it, the two cut levels are marked, the transfer curve of
the stretch is drawn over the histogram, and the gradient under it shows
the colour each data value gets (so a ``log`` or ``sqrt`` stretch is
visible in the bar itself). Everything is computed in Python and sent as
one small SVG string (a few kB) in an ``ipywidgets.HTML``; it needs no
WebGL and no extra front-end package.

This module does not import ipywidgets.
"""

from __future__ import annotations

import html

import numpy as np

from drizzlekit.exceptions import InputError

from .stretch import STRETCHES, colormap_lut

__all__ = ["colorbar_svg", "bar_positions", "format_value"]

_W, _HIST_H, _BAR_H, _TEXT_H = 400.0, 38.0, 10.0, 13.0
_PAD = 0.15  # the axis extends this fraction of the cut range beyond each cut level


def format_value(v: float, span: float | None = None) -> str:
    """Short label of a data value: 4 significant digits, more when ``span`` is small.

    ``span`` (the range the label must resolve, e.g. ``high - low``) adds
    digits so that 399.59 and 400.42 do not both read ``400``.
    """
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    digits = 4
    if span is not None and np.isfinite(span) and span > 0:
        digits = int(min(max(4, np.ceil(np.log10(a / span)) + 3), 12))
    if 1e-3 <= a < 1e5:
        s = f"{v:.{digits}g}"
    else:
        s = f"{v:.{digits - 1}e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    return s


def _stretched(t: np.ndarray, stretch: str, sample01: np.ndarray | None) -> np.ndarray:
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    if stretch == "linear":
        return t
    return np.asarray(STRETCHES[stretch](sample01)(t, clip=True), dtype=float)


def bar_positions(values, limits: tuple[float, float]) -> np.ndarray:
    """x position (0..1 along the bar) of data values, for the bar's axis range."""
    lo, hi = limits
    span = hi - lo
    x0, x1 = lo - _PAD * span, hi + _PAD * span
    return (np.asarray(values, dtype=float) - x0) / (x1 - x0)


def colorbar_svg(sample: np.ndarray, limits: tuple[float, float], *, stretch: str = "linear",
                 colormap: str = "gray", unit: str = "", uid: str = "cb",
                 sample01: np.ndarray | None = None, bins: int = 80) -> str:
    """Inline SVG: histogram of ``sample``, cut levels, stretch curve, colour gradient.

    Parameters
    ----------
    sample : ndarray
        Finite pixel values (data units), any shape; a sample of the image
        is enough.
    limits : (float, float)
        Low and high cut levels (data units), ``hi > lo``.
    stretch : str
        Key of :data:`drizzlekit.widgets.stretch.STRETCHES`.
    colormap : str
        Key of :data:`drizzlekit.widgets.stretch.COLORMAPS`.
    unit : str
        Unit of the data values, shown in the labels (e.g. ``'electron/s'``).
    uid : str
        Unique id prefix (the gradient is referenced by id inside the page).
    sample01 : ndarray, optional
        The sample normalised to 0..1 (needed by the ``histeq`` stretch).
    bins : int
        Number of histogram bins.

    Returns
    -------
    str
        An ``<svg>`` element 100 % wide (viewBox 400 wide), about 75 px tall.
    """
    lo, hi = float(limits[0]), float(limits[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise InputError(f"limits: need finite lo < hi, got ({lo}, {hi})")
    span = hi - lo
    x0, x1 = lo - _PAD * span, hi + _PAD * span
    vals = np.asarray(sample, dtype=float).ravel()
    vals = vals[np.isfinite(vals)]
    counts, edges = np.histogram(vals, bins=bins, range=(x0, x1))
    h = np.log1p(counts.astype(float))
    h = h / h.max() if h.max() > 0 else h

    def X(v):
        return (np.asarray(v, dtype=float) - x0) / (x1 - x0) * _W

    top = 2.0
    base = top + _HIST_H
    # histogram: one path of bars
    parts = []
    for k in np.nonzero(h > 0)[0]:
        xa, xb = X(edges[k]), X(edges[k + 1])
        parts.append(f"M{xa:.1f} {base:.1f}V{base - h[k] * _HIST_H:.1f}H{xb:.1f}V{base:.1f}Z")
    hist = f"<path d='{''.join(parts)}' fill='#9e9e9e' stroke='none'/>" if parts else ""
    # stretch (transfer) curve between the cut levels
    t = np.linspace(0.0, 1.0, 41)
    s = _stretched(t, stretch, sample01)
    pts = " ".join(f"{X(lo + ti * span):.1f},{base - si * _HIST_H:.1f}" for ti, si in zip(t, s))
    curve = (f"<polyline points='{pts}' fill='none' stroke='#ff9800' stroke-width='1.5'>"
             f"<title>{html.escape(stretch)} stretch</title></polyline>")
    # gradient: colour of data value v = colormap(stretch((v - lo) / span))
    lut = colormap_lut(colormap)
    stops = []
    for tv in np.linspace(0.0, 1.0, 33):
        c = lut[int(round(_stretched(np.array([tv]), stretch, sample01)[0] * 255))]
        stops.append(f"<stop offset='{tv:.4f}' stop-color='#{c[0]:02x}{c[1]:02x}{c[2]:02x}'/>")
    gid = html.escape(f"{uid}-grad")
    c0, c1 = lut[0], lut[-1]
    ybar = base + 3.0
    xl, xh = X(lo), X(hi)
    bar = (f"<defs><linearGradient id='{gid}' x1='0' x2='1' y1='0' y2='0'>{''.join(stops)}"
           f"</linearGradient></defs>"
           f"<rect x='0' y='{ybar}' width='{xl:.1f}' height='{_BAR_H}' "
           f"fill='#{c0[0]:02x}{c0[1]:02x}{c0[2]:02x}'/>"
           f"<rect x='{xl:.1f}' y='{ybar}' width='{xh - xl:.1f}' height='{_BAR_H}' "
           f"fill='url(#{gid})'/>"
           f"<rect x='{xh:.1f}' y='{ybar}' width='{_W - xh:.1f}' height='{_BAR_H}' "
           f"fill='#{c1[0]:02x}{c1[1]:02x}{c1[2]:02x}'/>"
           f"<rect x='0' y='{ybar}' width='{_W}' height='{_BAR_H}' fill='none' "
           f"stroke='#757575' stroke-width='0.5'/>")
    # cut levels: lines through histogram and bar, labels under the bar
    u = f" {html.escape(unit)}" if unit else ""
    ylab = ybar + _BAR_H + _TEXT_H - 2
    cuts = (f"<line x1='{xl:.1f}' x2='{xl:.1f}' y1='{top}' y2='{ybar + _BAR_H}' "
            f"stroke='#1e88e5' stroke-width='1.5'/>"
            f"<line x1='{xh:.1f}' x2='{xh:.1f}' y1='{top}' y2='{ybar + _BAR_H}' "
            f"stroke='#e53935' stroke-width='1.5'/>"
            f"<text x='{xl:.1f}' y='{ylab:.1f}' text-anchor='middle' fill='#1e88e5'>"
            f"{html.escape(format_value(lo, span))}</text>"
            f"<text x='{xh:.1f}' y='{ylab:.1f}' text-anchor='end' fill='#e53935'>"
            f"{html.escape(format_value(hi, span))}{u}</text>")
    mid = lo + 0.5 * span
    ticks = (f"<line x1='{X(mid):.1f}' x2='{X(mid):.1f}' y1='{ybar + _BAR_H}' "
             f"y2='{ybar + _BAR_H + 3}' stroke='#757575'/>"
             f"<text x='{X(mid):.1f}' y='{ylab:.1f}' text-anchor='middle' fill='#616161'>"
             f"{html.escape(format_value(mid, span))}</text>")
    total_h = ylab + 3
    n_in = int(((vals >= lo) & (vals <= hi)).sum())
    frac = 100.0 * n_in / vals.size if vals.size else 0.0
    title = (f"cut levels {format_value(lo, span)} .. {format_value(hi, span)}{u}; "
             f"{frac:.1f} % of the pixels inside; {stretch} stretch, {colormap}")
    return (f"<svg class='dk-colorbar-svg' viewBox='0 0 {_W:.0f} {total_h:.0f}' "
            f"width='100%' style='display:block;font:10px sans-serif'>"
            f"<title>{html.escape(title)}</title>{hist}{curve}{bar}{cuts}{ticks}</svg>")
