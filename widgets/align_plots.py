"""The fit diagnostics of the alignment panel: offsets histogram, residual vectors, dx/dy plots.

Six small bqplot figures: the 2-D histogram of offsets that gave the
starting offset (log counts, peak marked), the residual vectors drawn from
each matched source, and the residuals ``dx``, ``dy`` against ``x`` and
``y`` (pairs used by the fit and pairs rejected by the clipping drawn apart).

Redrawing is what a slider costs in the browser (the refit itself takes
15-200 ms in the kernel), so by default (``fast=True``) the plots send as
little as they can and give the browser as little to redraw:

* fixed axis ranges (the chip's extent; residuals on a symmetric range
  rounded up to 1, 1.2, 1.5, 2 ... 8 x 10^k), so that a data update does not
  change a scale's domain, which would make bqplot redraw every mark on
  that scale and its axes;
* the residual vectors as one NaN-separated polyline (one SVG path) instead
  of one path per vector;
* a mark is sent only when its data changed.

``fast=False`` keeps the older behaviour (data-driven ranges, one path per
vector), for comparisons (``benchmarks/bench_ui_latency.py --compare``).
"""

from __future__ import annotations

import math

import bqplot
import ipywidgets as W
import numpy as np

from .layout import flex_row

__all__ = ["AlignPlots", "COLORS", "nice_ceil"]

COLORS = {"reference": "#ff9800", "matched": "#00e676", "clipped": "#ff1744",
          "unmatched": "#40c4ff", "excluded": "#9e9e9e"}


def nice_ceil(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k that is >= ``value`` (> 0);
    1 for 0 or NaN."""
    if not (np.isfinite(value) and value > 0):
        return 1.0
    k = math.floor(math.log10(value))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        v = float(f"{m}e{k}")  # 0.6, not 6 * 0.1
        if v >= value * (1 - 1e-12):
            return v
    return 10.0 ** (k + 1)  # pragma: no cover - rounding guard


def _small_figure(title: str, xlabel: str, ylabel: str, css: str, size: int = 250):
    xs, ys = bqplot.LinearScale(), bqplot.LinearScale()
    axes = [bqplot.Axis(scale=xs, label=xlabel, num_ticks=4),
            bqplot.Axis(scale=ys, label=ylabel, side="left", num_ticks=4)]
    fig = bqplot.Figure(axes=axes, marks=[], title=title, padding_y=0.05,
                        fig_margin={"top": 30, "bottom": 40, "left": 55, "right": 10},
                        layout=W.Layout(width=f"{size}px", height=f"{size}px",
                                        max_width="100%", flex=f"0 1 {size}px",
                                        min_width="180px"))
    fig.add_class("dk-fig")
    fig.add_class(css)
    return fig, xs, ys


def _set_if_changed(obj, **traits) -> None:
    """Set traits whose value differs (lists/arrays compared by value); one message."""
    todo = {}
    for name, value in traits.items():
        old = getattr(obj, name)
        if isinstance(value, np.ndarray) or isinstance(old, np.ndarray):
            same = (np.shape(old) == np.shape(value)
                    and np.array_equal(np.asarray(old), np.asarray(value), equal_nan=True))
        else:
            same = old == value
        if not same:
            todo[name] = value
    if todo:
        with obj.hold_sync():
            for name, value in todo.items():
                setattr(obj, name, value)


def _polyline(x0, y0, x1, y1) -> tuple[np.ndarray, np.ndarray]:
    """Segments (x0, y0) -> (x1, y1) as one NaN-separated polyline (no trailing NaN)."""
    if np.size(x0) == 0:
        return np.zeros(2), np.zeros(2)
    nan = np.full(np.size(x0), np.nan)
    return (np.column_stack([x0, x1, nan]).ravel()[:-1],
            np.column_stack([y0, y1, nan]).ravel()[:-1])


def _scatter_gl():
    """``bqplot_gl.ScatterGL`` (WebGL scatter), or None without bqplot-gl or before bqplot
    0.13 (jdaviz's bqplot 0.12 environments, where bqplot-gl does not belong)."""
    major_minor = tuple(int(p) for p in bqplot.__version__.split(".")[:2] if p.isdigit())
    if major_minor < (0, 13):  # pragma: no cover - the test environment has bqplot 0.13
        return None
    try:
        from bqplot_gl import ScatterGL
    except ImportError:  # pragma: no cover - bqplot-gl is a dependency of the widgets extra
        return None
    return ScatterGL


def _residual_marks(scatter, xs, ys, used=None, clip=None):
    """The used (circles) and clipped (crosses) marks of a residual plot, of class
    ``scatter``; with ``used``/``clip`` given, their data and visibility are copied."""
    out = []
    for old, style in ((used, dict(colors=[COLORS["matched"]], default_size=12,
                                   stroke="#1b5e20", stroke_width=0.5)),
                       (clip, dict(colors=[COLORS["clipped"]], default_size=16,
                                   marker="cross"))):
        data = {} if old is None else dict(x=old.x, y=old.y, visible=old.visible)
        out.append(scatter(**{"x": [], "y": [], **data}, scales={"x": xs, "y": ys}, **style))
    return tuple(out)


class AlignPlots:
    """The six diagnostic figures of :class:`~drizzlekit.widgets.AlignPanel`.

    Parameters
    ----------
    size : int
        Width and height of each figure, CSS pixels.
    fast : bool
        Fixed axis ranges, one path for all vectors, only changed marks sent
        (see the module docstring); False: the older, slower redraw.
    gl : bool
        Residual points drawn with WebGL (``bqplot_gl.ScatterGL``): no SVG
        element per point, so a redraw of thousands of points is cheap. Use
        :meth:`use_svg` when the browser turns out to have no WebGL.

    Attributes
    ----------
    hist_fig, hist_mark, hist_peak : the histogram figure, its HeatMap and peak Scatter
    hist_counts : ndarray
        Counts shown (after block-summing large histograms).
    vec_fig, vec_used, vec_clip : the vector figure and its two Lines marks
    vector_scale : float
        Factor on the residuals drawn as vectors.
    resid : dict
        ``(comp, axis)`` -> ``(figure, used Scatter, clipped Scatter, zero Lines,
        x scale, y scale)`` for comp in dx, dy and axis in x, y.
    widget : ipywidgets.Box
        The six figures in a wrapping row.
    """

    def __init__(self, size: int = 255, fast: bool = True, gl: bool = False):
        self.fast = bool(fast)
        self.gl = bool(gl) and _scatter_gl() is not None
        scatter = _scatter_gl() if self.gl else bqplot.Scatter
        self.hist_counts = np.zeros((2, 2))
        self.vector_scale = 1.0
        # 2-D offset histogram
        self.hist_fig, hx, hy = _small_figure("Offsets (log N)", "Δξ image − ref [arcsec]",
                                              "Δη [arcsec]", "dk-fig-align-hist", size)
        self.hist_cs = bqplot.ColorScale(scheme="viridis")
        self.hist_mark = bqplot.HeatMap(x=np.arange(2.0), y=np.arange(2.0),
                                        color=np.zeros((2, 2)), visible=False,
                                        scales={"x": hx, "y": hy, "color": self.hist_cs})
        self.hist_peak = bqplot.Scatter(x=[], y=[], scales={"x": hx, "y": hy}, marker="cross",
                                        colors=["#ff1744"], default_size=80)
        self.hist_fig.marks = [self.hist_mark, self.hist_peak]
        # vector plot
        self.vec_fig, self.vec_xs, self.vec_ys = _small_figure(
            "Residual vectors", "x [pixel]", "y [pixel]", "dk-fig-align-vectors", size)
        sc = {"x": self.vec_xs, "y": self.vec_ys}
        self.vec_used = bqplot.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=sc,
                                     colors=[COLORS["matched"]], stroke_width=1.5)
        self.vec_clip = bqplot.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)), scales=sc,
                                     colors=[COLORS["clipped"]], stroke_width=1.5)
        self.vec_fig.marks = [self.vec_used, self.vec_clip]
        # dx, dy against x, y
        self._size = int(size)
        self.resid = {}
        for comp in ("dx", "dy"):
            for axis in ("x", "y"):
                self.resid[(comp, axis)] = self._resid_figure(comp, axis, scatter)
        self.widget = flex_row([self.hist_fig, self.vec_fig, self.resid[("dx", "x")][0],
                                self.resid[("dx", "y")][0], self.resid[("dy", "x")][0],
                                self.resid[("dy", "y")][0]], gap="4px", css="dk-align-plots")

    def _resid_figure(self, comp: str, axis: str, scatter, old: tuple | None = None):
        """A ``dx``/``dy`` against ``x``/``y`` figure with its marks (data, ranges and
        title copied from ``old``, a previous such tuple)."""
        fig, xs, ys = _small_figure(f"{comp} vs {axis}", f"{axis} [pixel]",
                                    f"{comp} [pixel]", f"dk-fig-align-{comp}-{axis}",
                                    self._size)
        prev = (None, None) if old is None else old[1:3]
        used, clip = _residual_marks(scatter, xs, ys, *prev)
        zero = bqplot.Lines(x=[0.0, 1.0] if old is None else old[3].x, y=[0.0, 0.0],
                            scales={"x": xs, "y": ys}, colors=["#757575"],
                            line_style="dashed")
        if old is not None:
            for new_scale, old_scale in ((xs, old[4]), (ys, old[5])):
                new_scale.min, new_scale.max = old_scale.min, old_scale.max
        fig.marks = [zero, used, clip]
        return fig, used, clip, zero, xs, ys

    def use_svg(self) -> None:
        """Draw the residual points as SVG (for a browser without WebGL); data kept.

        The figures are replaced, not only their marks: a figure whose WebGL
        context failed draws nothing more.
        """
        if not self.gl:
            return
        self.gl = False
        swap = {}
        for key, old in list(self.resid.items()):
            new = self._resid_figure(*key, bqplot.Scatter, old)
            self.resid[key] = new
            swap[old[0]] = new[0]
            for w in (old[0], *old[1:4], *old[0].axes):  # the failed views go with them
                w.close()
        self.widget.children = tuple(swap.get(c, c) for c in self.widget.children)

    # -- drawing -------------------------------------------------------------
    def draw(self, src, lf) -> None:
        """Draw the fit ``lf`` of the exposure ``src`` (``lf`` None: the reference exposure)."""
        self.draw_histogram(lf)
        self.draw_residuals(src, lf)

    def draw_histogram(self, lf) -> None:
        h = None if lf is None else lf.histogram
        if h is None or h.counts.size == 0:
            # nothing to show (reference exposure, failed fit): hide the mark rather than
            # draw a constant map (one flat colour) or keep the previous exposure's
            self.hist_mark.visible = False
            self.hist_peak.x, self.hist_peak.y = [], []
            self.hist_counts = np.zeros((2, 2))
            self.hist_fig.title = ("Offsets: reference exposure (no fit)" if lf is None
                                   else "Offsets: no histogram")
            return
        self.hist_fig.title = "Offsets (log N)"
        counts = h.counts.astype(float)
        xc, yc = h.centers
        f = max(1, int(math.ceil(max(counts.shape) / 120)))  # keep the HeatMap small
        if f > 1:
            ny, nx = (counts.shape[0] // f) * f, (counts.shape[1] // f) * f
            counts = counts[:ny, :nx].reshape(ny // f, f, nx // f, f).sum(axis=(1, 3))
            xc = xc[:nx].reshape(-1, f).mean(axis=1)
            yc = yc[:ny].reshape(-1, f).mean(axis=1)
        # log scale: the peak is one bin among many; unchanged histograms are not re-sent
        _set_if_changed(self.hist_mark, x=np.asarray(xc, float), y=np.asarray(yc, float),
                        color=np.log10(1.0 + counts), visible=True)
        self.hist_counts = counts
        ok = np.all(np.isfinite(h.peak))
        _set_if_changed(self.hist_peak, x=np.array([float(h.peak[0])] if ok else []),
                        y=np.array([float(h.peak[1])] if ok else []))

    def draw_residuals(self, src, lf) -> None:
        if lf is None or lf.nmatch == 0:
            x = y = np.empty(0)
            r = np.empty((0, 2))
            m = np.empty(0, bool)
        else:
            x, y = src.x[lf.img_rows], src.y[lf.img_rows]
            r, m = lf.residuals_pixels, lf.fitmask
        # vectors, scaled so that the longest used arrow is ~8% of the chip
        ny, nx = src.shapes[0]
        rmax = float(np.max(np.hypot(*r[m].T))) if m.any() else 0.0
        self.vector_scale = (0.08 * max(nx, ny) / rmax) if rmax > 0 else 1.0
        if self.fast:
            self._fixed_ranges(nx, ny, r)
        for mark, sel in ((self.vec_used, m), (self.vec_clip, ~m)):
            x1 = x[sel] + self.vector_scale * r[sel, 0]
            y1 = y[sel] + self.vector_scale * r[sel, 1]
            if self.fast:
                px, py = _polyline(x[sel], y[sel], x1, y1)
                _set_if_changed(mark, x=px, y=py, visible=bool(sel.any()))
                continue
            with mark.hold_sync():
                if sel.any():
                    mark.x = np.column_stack([x[sel], x1])
                    mark.y = np.column_stack([y[sel], y1])
                    mark.visible = True
                else:  # no NaN paths (console errors) and no stale arrows: hide it
                    mark.visible = False
        self.vec_fig.title = ("Residuals: reference exposure (no fit)" if lf is None else
                              f"Residual vectors (×{self.vector_scale:.3g})")
        for (comp, axis), (_fig, used, clip, zero, _xs, _ys) in self.resid.items():
            v = r[:, 0] if comp == "dx" else r[:, 1]
            a = x if axis == "x" else y
            for mark, sel in ((used, m), (clip, ~m)):
                if self.fast:
                    _set_if_changed(mark, x=a[sel], y=v[sel], visible=bool(sel.any()))
                    continue
                if not (np.array_equal(mark.x, a[sel]) and np.array_equal(mark.y, v[sel])):
                    with mark.hold_sync():
                        mark.x, mark.y = a[sel], v[sel]
                if mark.visible != bool(sel.any()):
                    mark.visible = bool(sel.any())
            extent = nx if axis == "x" else ny
            zero.x = [0.0, float(extent - 1)]

    def _fixed_ranges(self, nx: int, ny: int, r: np.ndarray) -> None:
        """Axis ranges that do not follow the data (sent only when they change)."""
        for scale, n in ((self.vec_xs, nx), (self.vec_ys, ny)):
            _set_if_changed(scale, min=-0.5, max=n - 0.5)
        # residuals: symmetric, rounded up, so that a refit rarely changes it
        big = float(np.max(np.abs(r))) if r.size else 0.0
        lim = nice_ceil(1.1 * big)
        for (_comp, axis), (_fig, _u, _c, _z, xs, ys) in self.resid.items():
            n = nx if axis == "x" else ny
            _set_if_changed(xs, min=-0.5, max=n - 0.5)
            _set_if_changed(ys, min=-lim, max=lim)
