"""An image viewer for notebooks: bqplot ``ImageGL`` with a PNG fallback.

* WebGL rendering with :class:`bqplot_image_gl.ImageGL`. The browser is
  asked whether it has WebGL (:mod:`drizzlekit.widgets.webgl`); where it
  has none, or with ``use_gl=False`` or ``DRIZZLEKIT_WEBGL=0``, the image
  is sent as a PNG to ``bqplot.Image`` and a small note says so.
* Fits its container: the figure is at most ``size`` CSS pixels wide and
  shrinks with the output area (square plot area, square pixels), so a
  panel can put controls beside it when there is room and below when not.
  ``viewer.widget`` is ``size`` px wide with ``max_width='100%'`` and
  ``flex='0 1 auto'``: in a ``flex_flow='row wrap'`` box next to a
  control column it sits beside the column or wraps above it.
* Interval / stretch / colour map computed in Python with
  :mod:`astropy.visualization` (:mod:`drizzlekit.widgets.stretch`); cut
  levels editable (named interval, or min/max typed in); a colour bar with
  the cut levels over a histogram of the data (:mod:`.colorbar`).
* Pan and zoom with the mouse; viewers created with ``share=other`` use the
  same scale objects, so panning or zooming one moves all of them.
* Cursor readout (pixel, value with unit, RA/Dec in sexagesimal and
  degrees), refreshed when the frame changes; click callbacks through
  :class:`bqplot_image_gl.interacts.MouseInteraction`.
* Several frames (exposures) that can be blinked, by button or animation.
* Named marker sets, thinned and shrunk when there are thousands, with
  size and visibility controls; mask outlines (:mod:`.markers`).
* The astrowidgets names where they apply (:mod:`.viewer_api`):
  ``center_on``, ``zoom_level``, ``zoom``, ``stretch``, ``cuts``,
  ``add_markers(table, x_colname=, y_colname=, skycoord_colname=,
  use_skycoord=, marker_name=)``, ``get_markers``, ``remove_markers``,
  ``reset_markers``, ``save``.

Coordinates are 0-based pixel centres: pixel ``(i, j)`` covers
``i - 0.5 .. i + 0.5`` in x and ``j - 0.5 .. j + 0.5`` in y; row 0 is at
the bottom.
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import bqplot
import ipywidgets as W
import numpy as np
import traitlets
from bqplot_image_gl import ImageGL
from bqplot_image_gl.interacts import MouseInteraction

from drizzlekit.exceptions import InputError, ShapeError

from .colorbar import colorbar_svg
from .markers import MarkerSet
from .stretch import COLORMAPS, INTERVALS, STRETCHES, _finite_sample, normalize, to_png
from .viewer_api import AstroWidgetsAPI
from .viewer_controls import MANUAL, ControlsMixin, css_name
from .viewer_overlays import OverlaysMixin
from .webgl import WebGLProbe, browser_webgl

__all__ = ["ImageViewer", "Frame", "webgl_default", "link_views"]

log = logging.getLogger(__name__)

#: Plot-area margins (CSS px); equal totals in x and y keep the plot area square
#: in a square figure box.
_MARGIN = {"top": 26, "bottom": 42, "left": 52, "right": 16}

# The figure's height follows its width (CSS aspect-ratio); bqplot redraws on resize.
# Delivered through an HTML widget: its value is set as innerHTML, so <style> applies.
_STYLE = (
    "<style>"
    ".dk-viewer .dk-fig.bqplot.figure{height:auto !important;aspect-ratio:1/1;"
    "min-height:0 !important;overflow:hidden}"
    ".dk-viewer .dk-title{font-weight:600;font-size:13px;margin:2px 0 0 6px;"
    "white-space:nowrap;overflow:hidden;text-overflow:ellipsis}"
    ".dk-viewer .dk-note{font-size:11px;color:#8a6d00;margin:0 0 0 6px}"
    ".dk-viewer .dk-readout-text{font-size:12px;white-space:normal;word-break:break-word}"
    ".dk-viewer .widget-dropdown select,.dk-viewer .widget-text input{font-size:12px}"
    "</style>"
)


#: bqplot 0.13's figures draw their own toolbar (hidden here); bqplot 0.12 (jdaviz's pin)
#: has no such trait and would warn about the unknown argument.
_NO_TOOLBAR = ({"display_toolbar": False}
               if "display_toolbar" in bqplot.Figure.class_trait_names() else {})


def webgl_default() -> bool:
    """True unless the environment variable ``DRIZZLEKIT_WEBGL`` is ``0``/``false``/``no``."""
    return os.environ.get("DRIZZLEKIT_WEBGL", "1").strip().lower() not in ("0", "false", "no")


@dataclass
class Frame:
    """One image shown by an :class:`ImageViewer`.

    Attributes
    ----------
    name : str
    data : ndarray (ny, nx)
        The values (any units) the readout reports.
    wcs : astropy.wcs.WCS or None
        Celestial WCS for the RA/Dec readout.
    unit : str
        Unit of the values (readout and colour bar), e.g. ``'electron/s'``.
    """

    name: str
    data: np.ndarray
    wcs: Any = None
    unit: str = ""


def _check_frame_data(data) -> tuple[np.ndarray, str]:
    unit = ""
    if hasattr(data, "unit") and hasattr(data, "value"):  # astropy Quantity
        unit = str(data.unit)
        data = data.value
    arr = np.asarray(data)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ShapeError(f"data: expected a 2-D image, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"data: expected a numeric image, got dtype {arr.dtype}")
    return arr, unit


class ImageViewer(ControlsMixin, OverlaysMixin, AstroWidgetsAPI, traitlets.HasTraits):
    """Display one or more images with stretch controls, overlays and readout.

    Parameters
    ----------
    data : array_like (ny, nx), optional
        First frame (an astropy ``Quantity`` gives the unit).
    wcs : astropy.wcs.WCS, optional
        Its WCS (for RA/Dec in the readout).
    name : str
        Viewer name; also its CSS class ``dk-fig-<name>``.
    title : str
        Title, shown above the figure.
    share : ImageViewer or (LinearScale, LinearScale), optional
        Share the x/y scales (linked pan and zoom) with another viewer.
    use_gl : bool, optional
        WebGL (``ImageGL``) or the PNG fallback; default: WebGL unless
        :func:`webgl_default` says no or the browser reported none. A
        browser without WebGL switches the viewer to PNG in any case.
    size : int
        Largest width of the figure, CSS pixels (it shrinks to fit).
    interval, stretch, colormap : str
        Initial display settings (keys of ``INTERVALS``, ``STRETCHES``,
        ``COLORMAPS``).
    controls : bool
        Show the stretch / cut / frame controls under the figure.
    unit : str
        Unit of the first frame's values.
    max_markers : int
        Most markers of one set drawn at a time (the rest appear on zooming in).

    Attributes
    ----------
    frame : int
        Index of the frame shown (traitlet).
    interval, stretch, colormap : str
        Display settings (traitlets; the dropdowns are linked to them).
        ``interval`` is ``'manual'`` after cut levels were typed in or set
        with :attr:`cuts`.
    cursor : dict
        Last readout: ``x``, ``y`` (pixels), ``value``, ``unit``, ``ra``, ``dec``.
    limits : tuple
        Data values shown as black and white (the cut levels).
    image01 : ndarray of float32
        The normalised image currently displayed.
    use_gl : bool
        Whether the image is drawn with WebGL now.
    figure : bqplot.Figure
    x_scale, y_scale : bqplot.LinearScale
    markers : dict
        Name -> :class:`~drizzlekit.widgets.markers.MarkerSet` (all positions).
    marker_marks : dict
        Name -> the bqplot mark drawing the set (a thinned subset for big sets).
    widget : ipywidgets.VBox
    """

    frame = traitlets.Int(0)
    interval = traitlets.Unicode("zscale")
    stretch = traitlets.Unicode("linear")
    colormap = traitlets.Unicode("gray")
    cursor = traitlets.Dict()
    limits = traitlets.Tuple((0.0, 1.0))

    def __init__(self, data=None, wcs=None, *, name: str = "image", title: str = "",
                 share: "ImageViewer | tuple | None" = None, use_gl: bool | None = None,
                 size: int = 420, interval: str = "zscale", stretch: str = "linear",
                 colormap: str = "gray", controls: bool = True, unit: str = "",
                 max_markers: int = 400):
        super().__init__()
        for what, val, table in (("interval", interval, INTERVALS),
                                 ("stretch", stretch, STRETCHES),
                                 ("colormap", colormap, COLORMAPS)):
            if val not in table:
                raise InputError(f"{what}: unknown {what} {val!r}; use one of {list(table)}")
        self.name = str(name)
        self.size = int(size)
        if use_gl is None:  # a browser that said "no WebGL" gets PNG from the start
            use_gl = webgl_default() and browser_webgl() is not False
        self.use_gl = bool(use_gl)
        self.max_markers = int(max_markers)
        self.marker_scale = 1.0
        self.frames: list[Frame] = []
        self.markers: dict[str, MarkerSet] = {}
        self.marker_marks: dict[str, bqplot.Mark] = {}
        self.image01 = np.zeros((1, 1), np.float32)
        self._manual_cuts: tuple[float, float] | None = None
        self._click_callbacks: list[Callable[[float, float], None]] = []
        self._fitted = False
        self._shown_shape: tuple | None = None
        self._last_xy: tuple[float, float] | None = None
        self._syncing_cuts = False
        if share is None:
            self.x_scale = bqplot.LinearScale(allow_padding=False)
            self.y_scale = bqplot.LinearScale(allow_padding=False)
        elif isinstance(share, ImageViewer):
            self.x_scale, self.y_scale = share.x_scale, share.y_scale
            self._fitted = share._fitted
        else:
            self.x_scale, self.y_scale = share
        self.color_scale = bqplot.ColorScale(min=0.0, max=1.0, colors=list(COLORMAPS[colormap]))
        self.set_trait("interval", interval)
        self.set_trait("stretch", stretch)
        self.set_trait("colormap", colormap)
        self._build_figure()
        self.title_html = W.HTML(value="", layout=W.Layout(width="100%", margin="0px"))
        self.title_html.add_class("dk-title-box")
        self.title = title
        self.note = W.HTML(value="", layout=W.Layout(width="100%", margin="0px", display="none"))
        self.note.add_class("dk-webgl-note")
        self.colorbar = W.HTML(value="", layout=W.Layout(width="100%", margin="0px"))
        self.colorbar.add_class("dk-colorbar")
        self.readout = W.HTML(value="&nbsp;", layout=W.Layout(width="100%", margin="0px",
                                                                  min_height="3em"))
        self.readout.add_class("dk-readout")
        self.probe = WebGLProbe(self._webgl_answer)
        self.widget = self._build_controls(controls)
        for sc in (self.x_scale, self.y_scale):
            sc.observe(self._view_changed, ["min", "max"])
        if data is not None:
            self.add_frame(data, wcs, name=self.name, unit=unit)

    # -- layout ------------------------------------------------------------
    def _make_image_mark(self) -> bqplot.Mark:
        scales = {"x": self.x_scale, "y": self.y_scale}
        ny, nx = self.image01.shape
        extent = {"x": (-0.5, nx - 0.5), "y": (-0.5, ny - 0.5)}
        if self.use_gl:
            return ImageGL(image=self.image01, scales={**scales, "image": self.color_scale},
                           **extent)
        return bqplot.Image(image=W.Image(value=to_png(self.image01, self.colormap),
                                          format="png"), scales=scales, **extent)

    def _build_figure(self) -> None:
        """(Re)create the image mark, interactions and figure for the current renderer."""
        self.image_mark = self._make_image_mark()
        self.panzoom = bqplot.interacts.PanZoom(scales={"x": [self.x_scale],
                                                        "y": [self.y_scale]})
        self.mouse = MouseInteraction(x_scale=self.x_scale, y_scale=self.y_scale,
                                      move_throttle=70, next=self.panzoom,
                                      events=["click", "dblclick", "mousemove"])
        self.mouse.on_msg(self._on_mouse)
        axes = [bqplot.Axis(scale=self.x_scale, label="x [pixel]", side="bottom", num_ticks=5),
                bqplot.Axis(scale=self.y_scale, label="y [pixel]", side="left", num_ticks=5)]
        self.figure = bqplot.Figure(
            marks=[self.image_mark] + list(self.marker_marks.values()),
            axes=axes, title="", interaction=self.mouse, **_NO_TOOLBAR,
            min_aspect_ratio=1.0, max_aspect_ratio=1.0, padding_x=0.0, padding_y=0.0,
            fig_margin=dict(_MARGIN),
            # the height is a fallback: the style sheet makes it follow the width
            layout=W.Layout(width="100%", max_width=f"{self.size}px", margin="0px",
                            height=f"{self.size}px", min_width="120px"))
        self.figure.add_class("dk-fig")
        self.figure.add_class(f"dk-fig-{css_name(self.name)}")

    @property
    def title(self) -> str:
        """Title shown above the figure (not in it, where the toolbar would cover it)."""
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = str(value or "")
        text = html.escape(self._title) if self._title else ""
        self.title_html.value = _STYLE + (f"<div class='dk-title'>{text}</div>" if text else "")

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        from IPython.display import display

        display(self.widget)

    # -- WebGL -------------------------------------------------------------
    def _webgl_answer(self, ok: bool) -> None:
        # The WebGL figure is shown at once (no wait for the answer); a browser without
        # WebGL fails to draw it and gets a new PNG figure in its place.
        if not ok and self.use_gl:
            self.use_png("this browser has no WebGL")

    def use_png(self, reason: str = "") -> None:
        """Switch to the PNG renderer (a new figure; markers, view and frames are kept)."""
        if not self.use_gl:
            return
        log.info("viewer '%s': PNG rendering (%s)", self.name, reason or "requested")
        self.use_gl = False
        old = self.figure
        old_parts = [old, self.image_mark, self.mouse, self.panzoom, *old.axes]
        self._build_figure()
        self.widget.children = tuple(self.figure if c is old else c
                                     for c in self.widget.children)
        for w in old_parts:  # the failed WebGL views go with their models
            w.close()
        if self.frames:
            self.refresh()
        self._show_png_note()

    def _show_png_note(self) -> None:
        self.note.value = ("<span class='dk-note'>WebGL is not available here: the image "
                           "is drawn as a PNG (updates are a little slower).</span>")
        self.note.layout.display = None

    # -- frames ------------------------------------------------------------
    def add_frame(self, data, wcs=None, name: str | None = None, *, show: bool = True,
                  unit: str | None = None) -> int:
        """Append a frame; returns its index.

        Parameters
        ----------
        data : array_like (ny, nx)
            An astropy ``Quantity`` gives the unit.
        wcs : astropy.wcs.WCS, optional
        name : str, optional
            Default ``'frame <n>'``.
        show : bool
            Display it now.
        unit : str, optional
            Unit of the values (readout, colour bar).
        """
        arr, qunit = _check_frame_data(data)
        fname = str(name) if name is not None else f"frame {len(self.frames)}"
        if any(f.name == fname for f in self.frames):
            fname = f"{fname} ({len(self.frames)})"
        self.frames.append(Frame(fname, arr, wcs, str(unit) if unit else qunit))
        self._sync_frame_widgets()
        if show or len(self.frames) == 1:
            self.show(len(self.frames) - 1)
        return len(self.frames) - 1

    def set_data(self, data, wcs=None, *, frame: int | None = None,
                 keep_view: bool = True, unit: str | None = None) -> None:
        """Replace the data (and WCS) of a frame (default: the one shown) and redraw."""
        arr, qunit = _check_frame_data(data)
        if not self.frames:
            self.add_frame(data, wcs, name=self.name, unit=unit)
            return
        k = self.frame if frame is None else int(frame)
        old = self.frames[k]
        self.frames[k] = Frame(old.name, arr, wcs if wcs is not None else old.wcs,
                               str(unit) if unit else (qunit or old.unit))
        if k == self.frame:
            if not keep_view or arr.shape != old.data.shape:
                self._fitted = False
            self.refresh()

    def clear_frames(self) -> None:
        """Remove all frames."""
        self.frames = []
        self._sync_frame_widgets()

    @property
    def frame_names(self) -> list[str]:
        return [f.name for f in self.frames]

    @property
    def current(self) -> Frame:
        """The frame shown."""
        if not self.frames:
            raise InputError(f"viewer '{self.name}': no image has been added")
        return self.frames[self.frame]

    def show(self, which: int | str) -> None:
        """Display a frame by index or name."""
        if isinstance(which, str):
            if which not in self.frame_names:
                raise InputError(f"frame: no frame named {which!r}; have {self.frame_names}")
            which = self.frame_names.index(which)
        k = int(which)
        if not 0 <= k < len(self.frames):
            raise InputError(f"frame: index {k} out of range (0..{len(self.frames) - 1})")
        if k == self.frame:
            self.refresh()
        else:
            self.frame = k  # the observer redraws

    def blink(self, step: int = 1) -> int:
        """Show the next (``step=-1``: previous) frame; returns its index."""
        if not self.frames:
            raise InputError(f"viewer '{self.name}': nothing to blink")
        self.show((self.frame + step) % len(self.frames))
        return self.frame

    @traitlets.observe("frame")
    def _frame_changed(self, change) -> None:
        if self.frames:
            if self.frame_select.value != change["new"]:
                self.frame_select.value = change["new"]
            self.refresh()

    @traitlets.validate("interval")
    def _valid_interval(self, proposal):
        v = proposal["value"]
        if v != MANUAL and v not in INTERVALS:
            raise InputError(f"interval: unknown interval {v!r}; use one of "
                             f"{list(INTERVALS) + [MANUAL]}")
        return v

    @traitlets.observe("interval", "stretch")
    def _display_changed(self, change) -> None:
        if change["name"] == "interval" and change["new"] == MANUAL \
                and self._manual_cuts is None:
            self._manual_cuts = tuple(self.limits)
        if self.frames:
            self.refresh()

    @traitlets.observe("colormap")
    def _colormap_changed(self, change) -> None:
        self.color_scale.colors = list(COLORMAPS[change["new"]])
        if self.frames:
            if not self.use_gl:
                self.refresh()
            else:
                self._draw_colorbar()

    # -- cut levels ----------------------------------------------------------
    def set_cuts(self, low: float, high: float) -> None:
        """Fix the cut levels (data units); the interval becomes ``'manual'``."""
        lo, hi = float(low), float(high)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise InputError(f"cuts: need finite low < high, got ({low}, {high})")
        self._manual_cuts = (lo, hi)
        if self.interval == MANUAL:
            if self.frames:
                self.refresh()
        else:
            self.interval = MANUAL  # the observer redraws

    # -- drawing -----------------------------------------------------------
    def refresh(self) -> None:
        """Re-normalise the current frame and send it to the front-end."""
        fr = self.current
        if self.interval == MANUAL and self._manual_cuts is not None:
            vmin, vmax = self._manual_cuts
            img, lim = normalize(fr.data, "minmax", self.stretch, vmin=vmin, vmax=vmax)
        else:
            img, lim = normalize(fr.data, "minmax" if self.interval == MANUAL else
                                 self.interval, self.stretch)
        ny, nx = img.shape
        self.image01 = img
        self.limits = lim
        with self.image_mark.hold_sync():
            if self.use_gl:
                self.image_mark.image = img
            else:  # a new Image widget: an in-place .value update does not repaint
                self.image_mark.image = W.Image(value=to_png(img, self.colormap), format="png")
            self.image_mark.x = (-0.5, nx - 0.5)
            self.image_mark.y = (-0.5, ny - 0.5)
        if not self._fitted or img.shape != self._shown_shape:
            self.fit_view()
        self._shown_shape = img.shape
        self._show_cut_values(lim)
        self._draw_colorbar()
        if self._last_xy is not None:  # the readout follows blink / new data
            self.read(*self._last_xy)

    def _draw_colorbar(self) -> None:
        if not self.frames:
            self.colorbar.value = ""
            return
        fr = self.current
        sample = _finite_sample(fr.data)
        lo, hi = self.limits
        s01 = None
        if self.stretch == "histeq" and sample.size:
            s01 = np.clip((sample - lo) / (hi - lo), 0.0, 1.0)
        try:
            self.colorbar.value = colorbar_svg(sample, (lo, hi), stretch=self.stretch,
                                               colormap=self.colormap, unit=fr.unit,
                                               uid=f"dk-{css_name(self.name)}-{id(self):x}",
                                               sample01=s01)
        except InputError:  # e.g. a flat image: no bar rather than a broken viewer
            self.colorbar.value = ""

    def fit_view(self) -> None:
        """Zoom out to show the whole current image (equal x/y ranges: square pixels)."""
        if not self.frames:
            return
        ny, nx = self.current.data.shape
        half = 0.5 * max(nx, ny)
        self.set_view(0.5 * (nx - 1) - half, 0.5 * (nx - 1) + half,
                      0.5 * (ny - 1) - half, 0.5 * (ny - 1) + half)
        self._fitted = True

    def set_view(self, xmin: float, xmax: float, ymin: float, ymax: float) -> None:
        """Show the region ``xmin..xmax``, ``ymin..ymax`` (pixels)."""
        if not (xmax > xmin and ymax > ymin):
            raise InputError(f"view: need xmax > xmin and ymax > ymin, got "
                             f"({xmin}, {xmax}, {ymin}, {ymax})")
        with self.x_scale.hold_sync(), self.y_scale.hold_sync():
            self.x_scale.min, self.x_scale.max = float(xmin), float(xmax)
            self.y_scale.min, self.y_scale.max = float(ymin), float(ymax)

    @property
    def view(self) -> tuple[float, float, float, float]:
        """Visible region ``(xmin, xmax, ymin, ymax)`` in pixels."""
        return (self.x_scale.min, self.x_scale.max, self.y_scale.min, self.y_scale.max)

    def zoom_to(self, x: float, y: float, half_width: float) -> None:
        """Centre the view on ``(x, y)`` showing ``±half_width`` pixels."""
        self.set_view(x - half_width, x + half_width, y - half_width, y + half_width)

    # -- cursor ------------------------------------------------------------
    def on_click(self, callback: Callable[[float, float], None]) -> None:
        """Call ``callback(x, y)`` (pixels) when the user clicks the image."""
        self._click_callbacks.append(callback)

    def _on_mouse(self, _widget, content, _buffers) -> None:
        event = content.get("event")
        dom = content.get("domain") or {}
        if "x" not in dom or "y" not in dom:
            return
        x, y = float(dom["x"]), float(dom["y"])
        if event == "mousemove":
            self.read(x, y)
        elif event == "click":
            self.read(x, y)
            for cb in list(self._click_callbacks):
                try:
                    cb(x, y)
                except Exception:  # keep the viewer alive; report in the log
                    log.exception("viewer '%s': click callback failed", self.name)

    def read(self, x: float, y: float) -> dict:
        """Readout at pixel ``(x, y)``: pixel, value, unit, RA/Dec; also shown under the figure."""
        out: dict[str, Any] = {"x": float(x), "y": float(y), "value": None, "unit": "",
                               "ra": None, "dec": None}
        self._last_xy = (float(x), float(y))
        if self.frames:
            fr = self.current
            out["unit"] = fr.unit
            i, j = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            ny, nx = fr.data.shape
            if 0 <= i < nx and 0 <= j < ny:
                out["value"] = float(fr.data[j, i])
                out["i"], out["j"] = i, j
            if fr.wcs is not None:
                try:
                    ra, dec = fr.wcs.all_pix2world(np.array([x]), np.array([y]), 0)
                    out["ra"], out["dec"] = float(ra[0]), float(dec[0])
                except Exception:  # a WCS may not be invertible far off the chip
                    pass
        self.cursor = out
        self.readout.value = _readout_html(out, self.current.name if self.frames else "")
        return out


def _readout_html(r: dict, frame: str) -> str:
    parts = [f"<b>{html.escape(frame)}</b>", f"x={r['x']:.2f} y={r['y']:.2f}"]
    if r.get("value") is not None:
        unit = f" {html.escape(r['unit'])}" if r.get("unit") else ""
        parts.append(f"value={r['value']:.6g}{unit}")
    if r.get("ra") is not None:
        from astropy.coordinates import Angle

        ra = Angle(r["ra"], "deg").to_string(unit="hourangle", sep=":", precision=3)
        dec = Angle(r["dec"], "deg").to_string(unit="deg", sep=":", precision=2,
                                               alwayssign=True)
        parts.append(f"RA={ra} Dec={dec} ({r['ra']:.6f}, {r['dec']:+.6f})")
    return "<span class='dk-readout-text' style='font-family:monospace'>" + \
        " &nbsp; ".join(parts) + "</span>"


def link_views(viewers: Sequence[ImageViewer]) -> None:
    """Link the pan/zoom of viewers created with separate scales (through the kernel).

    Viewers created with ``share=`` are linked in the browser already; this
    helper is for viewers that already exist.
    """
    if len(viewers) < 2:
        return
    first = viewers[0]
    for v in viewers[1:]:
        for a, b in ((first.x_scale, v.x_scale), (first.y_scale, v.y_scale)):
            if a is not b:
                W.link((a, "min"), (b, "min"))
                W.link((a, "max"), (b, "max"))
