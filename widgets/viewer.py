"""An image viewer for notebooks: bqplot ``ImageGL`` with a PNG fallback.

* WebGL rendering with :class:`bqplot_image_gl.ImageGL`; where WebGL is not
  available (``use_gl=False``, or the environment variable
  ``DRIZZLEKIT_WEBGL=0``) the image is sent as a PNG to ``bqplot.Image``.
* Interval / stretch / colour map computed in Python with
  :mod:`astropy.visualization` (:mod:`drizzlekit.widgets.stretch`).
* Square pixels: a square plot area and equal x and y ranges.
* Pan and zoom with the mouse; viewers created with ``share=other`` use the
  same scale objects, so panning or zooming one moves all of them.
* Cursor readout (pixel, RA/Dec through the frame's WCS, value) and click
  callbacks through :class:`bqplot_image_gl.interacts.MouseInteraction`.
* Several frames (exposures) that can be blinked, by button or animation.
* Named marker sets (``bqplot.Scatter`` on the image scales) for catalogs.

Coordinates are 0-based pixel centres: pixel ``(i, j)`` covers
``i - 0.5 .. i + 0.5`` in x and ``j - 0.5 .. j + 0.5`` in y; row 0 is at
the bottom.
"""

from __future__ import annotations

import html
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import bqplot
import ipywidgets as W
import numpy as np
import traitlets
from bqplot_image_gl import ImageGL
from bqplot_image_gl.interacts import MouseInteraction

from drizzlekit.exceptions import InputError, ShapeError

from .stretch import COLORMAPS, INTERVALS, STRETCHES, normalize, to_png

__all__ = ["ImageViewer", "Frame", "webgl_default", "link_views"]

log = logging.getLogger(__name__)


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
    """

    name: str
    data: np.ndarray
    wcs: Any = None


def _css_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "view"


def _check_frame_data(data) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ShapeError(f"data: expected a 2-D image, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"data: expected a numeric image, got dtype {arr.dtype}")
    return arr


class ImageViewer(traitlets.HasTraits):
    """Display one or more images with stretch controls, overlays and readout.

    Parameters
    ----------
    data : array_like (ny, nx), optional
        First frame.
    wcs : astropy.wcs.WCS, optional
        Its WCS (for RA/Dec in the readout).
    name : str
        Viewer name; also its CSS class ``dk-fig-<name>``.
    title : str
        Figure title.
    share : ImageViewer or (LinearScale, LinearScale), optional
        Share the x/y scales (linked pan and zoom) with another viewer.
    use_gl : bool, optional
        WebGL (``ImageGL``) or the PNG fallback; default from
        :func:`webgl_default`.
    size : int
        Figure width and height, CSS pixels.
    interval, stretch, colormap : str
        Initial display settings (keys of ``INTERVALS``, ``STRETCHES``,
        ``COLORMAPS``).
    controls : bool
        Show the stretch / frame controls under the figure.

    Attributes
    ----------
    frame : int
        Index of the frame shown (traitlet).
    interval, stretch, colormap : str
        Display settings (traitlets; the dropdowns are linked to them).
    cursor : dict
        Last readout: ``x``, ``y`` (pixels), ``value``, ``ra``, ``dec``.
    limits : tuple
        Data values shown as black and white.
    image01 : ndarray of float32
        The normalised image currently displayed.
    figure : bqplot.Figure
    x_scale, y_scale : bqplot.LinearScale
    markers : dict
        Name -> ``bqplot.Scatter`` of each marker set.
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
                 colormap: str = "gray", controls: bool = True):
        super().__init__()
        for what, val, table in (("interval", interval, INTERVALS),
                                 ("stretch", stretch, STRETCHES),
                                 ("colormap", colormap, COLORMAPS)):
            if val not in table:
                raise InputError(f"{what}: unknown {what} {val!r}; use one of {list(table)}")
        self.name = str(name)
        self.use_gl = webgl_default() if use_gl is None else bool(use_gl)
        self.frames: list[Frame] = []
        self.markers: dict[str, bqplot.Scatter] = {}
        self.image01 = np.zeros((1, 1), np.float32)
        self._click_callbacks: list[Callable[[float, float], None]] = []
        self._fitted = False
        self._shown_shape: tuple | None = None
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
        scales = {"x": self.x_scale, "y": self.y_scale}
        if self.use_gl:
            self.image_mark = ImageGL(image=self.image01, scales={**scales,
                                                                  "image": self.color_scale},
                                      x=(-0.5, 0.5), y=(-0.5, 0.5))
        else:
            self.image_mark = bqplot.Image(image=W.Image(value=to_png(self.image01),
                                                         format="png"),
                                           scales=scales, x=(-0.5, 0.5), y=(-0.5, 0.5))
        self.panzoom = bqplot.interacts.PanZoom(scales={"x": [self.x_scale],
                                                        "y": [self.y_scale]})
        self.mouse = MouseInteraction(x_scale=self.x_scale, y_scale=self.y_scale,
                                      move_throttle=70, next=self.panzoom,
                                      events=["click", "dblclick", "mousemove"])
        self.mouse.on_msg(self._on_mouse)
        axes = [bqplot.Axis(scale=self.x_scale, label="x [pixel]", side="bottom", num_ticks=5),
                bqplot.Axis(scale=self.y_scale, label="y [pixel]", side="left",
                            num_ticks=5)]
        self.figure = bqplot.Figure(
            marks=[self.image_mark], axes=axes, title=title, interaction=self.mouse,
            min_aspect_ratio=1.0, max_aspect_ratio=1.0, padding_x=0.0, padding_y=0.0,
            fig_margin={"top": 30, "bottom": 42, "left": 52, "right": 20},
            layout=W.Layout(width=f"{int(size)}px", height=f"{int(size)}px"))
        self.figure.add_class("dk-fig")
        self.figure.add_class(f"dk-fig-{_css_name(self.name)}")
        self.readout = W.HTML(value="&nbsp;", layout=W.Layout(width=f"{int(size)}px",
                                                              min_height="3em"))
        self.readout.add_class("dk-readout")
        self.widget = self._build_controls(controls)
        if data is not None:
            self.add_frame(data, wcs, name=self.name)

    # -- layout ------------------------------------------------------------
    def _build_controls(self, controls: bool) -> W.VBox:
        small = W.Layout(width="130px")
        self.interval_select = W.Dropdown(options=list(INTERVALS), value=self.interval,
                                          layout=small, tooltip="Interval: data values "
                                          "mapped to black and white")
        self.stretch_select = W.Dropdown(options=list(STRETCHES), value=self.stretch,
                                         layout=small, tooltip="Stretch (transfer curve)")
        self.colormap_select = W.Dropdown(options=list(COLORMAPS), value=self.colormap,
                                          layout=small, tooltip="Colour map")
        self.interval_select.add_class("dk-interval")
        self.stretch_select.add_class("dk-stretch")
        self.colormap_select.add_class("dk-colormap")
        W.link((self.interval_select, "value"), (self, "interval"))
        W.link((self.stretch_select, "value"), (self, "stretch"))
        W.link((self.colormap_select, "value"), (self, "colormap"))
        self.frame_select = W.Dropdown(options=[], layout=W.Layout(width="230px"),
                                       tooltip="Frame shown")
        self.frame_select.add_class("dk-frame")
        self.frame_select.observe(self._frame_selected, "value")
        self.blink_button = W.Button(description="Blink", icon="exchange",
                                     layout=W.Layout(width="80px"),
                                     tooltip="Show the next frame")
        self.blink_button.add_class("dk-blink")
        self.blink_button.on_click(lambda _b: self.blink())
        self.play = W.Play(value=0, min=0, max=1, step=1, interval=700, repeat=True,
                           tooltip="Blink continuously")
        self.play.add_class("dk-play")
        self.play.observe(self._play_tick, "value")
        self.reset_view_button = W.Button(icon="expand", layout=W.Layout(width="40px"),
                                          tooltip="Show the whole image")
        self.reset_view_button.on_click(lambda _b: self.fit_view())
        row1 = W.HBox([self.interval_select, self.stretch_select, self.colormap_select,
                       self.reset_view_button])
        self.frame_row = W.HBox([self.frame_select, self.blink_button, self.play],
                                layout=W.Layout(flex_flow="row wrap"))
        self.frame_row.layout.display = "none"
        parts = [self.figure] + ([row1, self.frame_row] if controls else []) + [self.readout]
        box = W.VBox(parts)
        box.add_class("dk-viewer")
        box.add_class(f"dk-viewer-{_css_name(self.name)}")
        return box

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        from IPython.display import display

        display(self.widget)

    # -- frames ------------------------------------------------------------
    def add_frame(self, data, wcs=None, name: str | None = None, *, show: bool = True) -> int:
        """Append a frame; returns its index.

        Parameters
        ----------
        data : array_like (ny, nx)
        wcs : astropy.wcs.WCS, optional
        name : str, optional
            Default ``'frame <n>'``.
        show : bool
            Display it now.
        """
        arr = _check_frame_data(data)
        fname = str(name) if name is not None else f"frame {len(self.frames)}"
        if any(f.name == fname for f in self.frames):
            fname = f"{fname} ({len(self.frames)})"
        self.frames.append(Frame(fname, arr, wcs))
        self._sync_frame_widgets()
        if show or len(self.frames) == 1:
            self.show(len(self.frames) - 1)
        return len(self.frames) - 1

    def set_data(self, data, wcs=None, *, frame: int | None = None,
                 keep_view: bool = True) -> None:
        """Replace the data (and WCS) of a frame (default: the one shown) and redraw."""
        arr = _check_frame_data(data)
        if not self.frames:
            self.add_frame(arr, wcs, name=self.name)
            return
        k = self.frame if frame is None else int(frame)
        old = self.frames[k]
        self.frames[k] = Frame(old.name, arr, wcs if wcs is not None else old.wcs)
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

    def _sync_frame_widgets(self) -> None:
        names = self.frame_names
        self.frame_select.unobserve(self._frame_selected, "value")
        self.frame_select.options = [(n, i) for i, n in enumerate(names)]
        if names:
            self.frame_select.value = min(self.frame, len(names) - 1)
        self.frame_select.observe(self._frame_selected, "value")
        self.play.max = max(len(names) - 1, 1)
        self.frame_row.layout.display = "flex" if len(names) > 1 else "none"

    def _frame_selected(self, change) -> None:
        if change["new"] is not None:
            self.show(change["new"])

    def _play_tick(self, change) -> None:
        if self.frames:
            self.show(int(change["new"]) % len(self.frames))

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

    @traitlets.observe("interval", "stretch")
    def _display_changed(self, change) -> None:
        if self.frames:
            self.refresh()

    @traitlets.observe("colormap")
    def _colormap_changed(self, change) -> None:
        self.color_scale.colors = list(COLORMAPS[change["new"]])
        if self.frames and not self.use_gl:
            self.refresh()

    # -- drawing -----------------------------------------------------------
    def refresh(self) -> None:
        """Re-normalise the current frame and send it to the front-end."""
        fr = self.current
        img, lim = normalize(fr.data, self.interval, self.stretch)
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

    # -- overlays ----------------------------------------------------------
    def add_markers(self, name: str, x, y, *, color: str = "#00e676", size: int = 64,
                    marker: str = "circle", fill: bool = False, stroke_width: float = 1.5,
                    opacity: float = 1.0) -> bqplot.Scatter:
        """Draw (or replace) a named set of markers at pixel positions.

        Parameters
        ----------
        name : str
            Marker-set name (``'sources'``, ``'reference'`` ...).
        x, y : array_like
            0-based pixel positions.
        color : str
            CSS colour.
        size : int
            Marker area, square CSS pixels.
        marker : str
            bqplot marker (``circle``, ``square``, ``cross``, ``diamond``,
            ``triangle-up`` ...).
        """
        xs = np.asarray(x, dtype=float).ravel()
        ys = np.asarray(y, dtype=float).ravel()
        if xs.shape != ys.shape:
            raise ShapeError(f"markers '{name}': x and y differ in length "
                             f"({xs.size} != {ys.size})")
        if name in self.markers:
            sc = self.markers[name]
            with sc.hold_sync():  # only what changed goes to the front-end
                if not (np.array_equal(sc.x, xs) and np.array_equal(sc.y, ys)):
                    sc.x, sc.y = xs, ys
                for trait, value in (("colors", [color]), ("stroke", color),
                                     ("default_size", int(size)), ("marker", marker),
                                     ("fill", bool(fill)), ("stroke_width", stroke_width)):
                    if getattr(sc, trait) != value:
                        setattr(sc, trait, value)
            return sc
        sc = bqplot.Scatter(x=xs, y=ys, scales={"x": self.x_scale, "y": self.y_scale},
                            marker=marker, colors=[color], stroke=color, fill=bool(fill),
                            default_size=int(size), stroke_width=stroke_width,
                            opacities=[opacity], display_legend=False, labels=[name])
        self.markers[name] = sc
        self.figure.marks = list(self.figure.marks) + [sc]
        return sc

    def remove_markers(self, name: str) -> None:
        """Remove a marker set (no error if absent)."""
        sc = self.markers.pop(name, None)
        if sc is not None:
            self.figure.marks = [m for m in self.figure.marks if m is not sc]

    def marker_counts(self) -> dict[str, int]:
        """Number of markers in each set."""
        return {k: int(np.size(sc.x)) for k, sc in self.markers.items()}

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
        """Readout at pixel ``(x, y)``: pixel, value, RA/Dec; also shown under the figure."""
        out: dict[str, Any] = {"x": float(x), "y": float(y), "value": None,
                               "ra": None, "dec": None}
        if self.frames:
            fr = self.current
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
        parts.append(f"value={r['value']:.6g}")
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
