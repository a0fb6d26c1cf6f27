"""Marker sets and mask outlines drawn over the image viewer (mixin of ``ImageViewer``).

Each named set keeps all its positions (:class:`.markers.MarkerSet`); the
viewer draws a ``bqplot.Scatter`` of the part that is shown: at most
``max_markers`` inside the visible region (highest ``priority`` first),
drawn smaller the more there are, and redrawn when the view pans or
zooms. Mask outlines (cosmic rays, bad pixels) are one ``bqplot.Lines``
each. A row under the figure holds a marker-size slider and one toggle per
set; a note says when a set is thinned.
"""

from __future__ import annotations

import html

import bqplot
import ipywidgets as W
import numpy as np

from drizzlekit.exceptions import InputError

from .markers import DEFAULT_STYLE, MarkerSet, mask_outline, shown_indices, size_factor

__all__ = ["OverlaysMixin"]


class OverlaysMixin:
    """Marker and outline overlays; needs ``figure``, ``x_scale``, ``y_scale``, ``view``."""

    # -- overlays ----------------------------------------------------------
    def set_markers(self, name: str, x, y, *, color: str = DEFAULT_STYLE["color"],
                    size: int = DEFAULT_STYLE["size"], marker: str = DEFAULT_STYLE["marker"],
                    fill: bool = False, stroke_width: float = 1.5, opacity: float = 1.0,
                    priority=None, visible: bool | None = None) -> bqplot.Scatter:
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
            Marker area, square CSS pixels, for up to ~150 markers shown;
            more markers are drawn smaller (see :func:`.markers.size_factor`).
        marker : str
            bqplot marker (``circle``, ``square``, ``cross``, ``diamond``,
            ``triangle-up`` ...).
        priority : array_like, optional
            When the set has more than ``max_markers`` markers in view,
            the highest values (e.g. flux) are drawn first.
        visible : bool, optional
            Show the set (default: as before, or True for a new set).

        Returns
        -------
        bqplot.Scatter
            The mark drawing the set (a subset of it when thinned).
        """
        old = self.markers.get(name)
        if visible is None:
            visible = old.visible if old is not None else True
        style = {"color": color, "size": int(size), "marker": marker, "fill": bool(fill),
                 "stroke_width": float(stroke_width), "opacity": float(opacity)}
        ms = MarkerSet(name, x, y, style=style, visible=bool(visible), priority=priority)
        self.markers[name] = ms
        mark = self._draw_set(ms)
        self._sync_marker_row()
        return mark

    def add_mask_outline(self, name: str, mask, *, color: str = "#ff1744",
                         stroke_width: float = 1.0, opacity: float = 0.9,
                         visible: bool | None = None, max_segments: int = 20_000
                         ) -> bqplot.Lines:
        """Draw the outlines of the True regions of a mask (e.g. cosmic rays) as a named set.

        One ``bqplot.Lines`` of NaN-separated pixel-edge runs; masks with more
        than ``max_segments`` edges are outlined on blocks of 2, 4 ... pixels.
        ``marker_counts()[name]`` is the number of masked pixels.
        """
        m = np.asarray(mask, dtype=bool)
        x, y, block = mask_outline(m, max_segments=max_segments)
        old = self.markers.get(name)
        if visible is None:
            visible = old.visible if old is not None else True
        ms = MarkerSet(name, x, y, style={"color": color, "stroke_width": float(stroke_width),
                                          "opacity": float(opacity), "block": block,
                                          "count": int(m.sum())},
                       visible=bool(visible), kind="outline")
        self.markers[name] = ms
        mark = self._draw_set(ms)
        self._sync_marker_row()
        return mark

    def _draw_set(self, ms: MarkerSet) -> bqplot.Mark:
        mark = self.marker_marks.get(ms.name)
        st = ms.style
        if ms.kind == "outline":
            if not isinstance(mark, bqplot.Lines):
                self._drop_mark(ms.name)
                mark = bqplot.Lines(x=ms.x, y=ms.y, scales={"x": self.x_scale,
                                                            "y": self.y_scale},
                                    colors=[st["color"]], stroke_width=st["stroke_width"],
                                    opacities=[st["opacity"]], display_legend=False,
                                    labels=[ms.name], visible=ms.visible)
                self._add_mark(ms.name, mark)
                return mark
            with mark.hold_sync():
                mark.x, mark.y = ms.x, ms.y
                mark.colors, mark.visible = [st["color"]], ms.visible
            return mark
        idx = shown_indices(ms, self.view, self.max_markers)
        xs, ys = ms.x[idx], ms.y[idx]
        f = size_factor(idx.size) * self.marker_scale
        size = max(4, int(round(st["size"] * f * f)))
        if not isinstance(mark, bqplot.Scatter):
            self._drop_mark(ms.name)
            mark = bqplot.Scatter(x=xs, y=ys, scales={"x": self.x_scale, "y": self.y_scale},
                                  marker=st["marker"], colors=[st["color"]],
                                  stroke=st["color"], fill=st["fill"], default_size=size,
                                  stroke_width=st["stroke_width"], opacities=[st["opacity"]],
                                  display_legend=False, labels=[ms.name], visible=ms.visible)
            self._add_mark(ms.name, mark)
            return mark
        with mark.hold_sync():  # only what changed goes to the front-end
            if not (np.array_equal(mark.x, xs) and np.array_equal(mark.y, ys)):
                mark.x, mark.y = xs, ys
            for trait, value in (("colors", [st["color"]]), ("stroke", st["color"]),
                                 ("default_size", size), ("marker", st["marker"]),
                                 ("fill", st["fill"]), ("stroke_width", st["stroke_width"]),
                                 ("visible", ms.visible)):
                if getattr(mark, trait) != value:
                    setattr(mark, trait, value)
        return mark

    def _add_mark(self, name: str, mark: bqplot.Mark) -> None:
        self.marker_marks[name] = mark
        self.figure.marks = list(self.figure.marks) + [mark]

    def _drop_mark(self, name: str) -> None:
        mark = self.marker_marks.pop(name, None)
        if mark is not None:
            self.figure.marks = [m for m in self.figure.marks if m is not mark]

    def _remove_set(self, name: str) -> None:
        self.markers.pop(name, None)
        self._drop_mark(name)
        self._sync_marker_row()

    def marker_counts(self) -> dict[str, int]:
        """Markers in each set (all, shown or not; masked pixels for outlines)."""
        return {k: int(ms.style.get("count", ms.n)) if ms.kind == "outline" else ms.n
                for k, ms in self.markers.items()}

    def set_marker_visible(self, name: str, visible: bool) -> None:
        """Show or hide a marker set."""
        if name not in self.markers:
            raise InputError(f"markers: no marker set named {name!r}; have {list(self.markers)}")
        self.markers[name].visible = bool(visible)
        self._draw_set(self.markers[name])
        tog = {t.description: t for t in self.marker_toggles.children}
        if name in tog and tog[name].value != bool(visible):
            tog[name].value = bool(visible)

    def _marker_size_changed(self, change) -> None:
        self.marker_scale = float(change["new"])
        for ms in self.markers.values():
            if ms.kind == "points":
                self._draw_set(ms)

    def _view_changed(self, _change) -> None:
        for ms in self.markers.values():  # thinned sets show what is in view
            if ms.kind == "points" and ms.n > self.max_markers:
                self._draw_set(ms)
        self._update_marker_info()

    def _sync_marker_row(self) -> None:
        names = list(self.markers)
        if [t.description for t in self.marker_toggles.children] != names:
            toggles = []
            for n in names:
                t = W.ToggleButton(value=self.markers[n].visible, description=n,
                                   tooltip=f"Show the '{n}' markers",
                                   layout=W.Layout(width="auto", max_width="160px"))
                t.add_class("dk-marker-toggle")
                t.observe(lambda ch, n=n: self.set_marker_visible(n, ch["new"]), "value")
                toggles.append(t)
            self.marker_toggles.children = toggles
        else:
            for t in self.marker_toggles.children:
                if t.value != self.markers[t.description].visible:
                    t.value = self.markers[t.description].visible
        self.marker_row.layout.display = "flex" if names else "none"
        self._update_marker_info()

    def _update_marker_info(self) -> None:
        parts = []
        for n, ms in self.markers.items():
            if ms.kind == "points" and ms.n > self.max_markers:
                shown = np.size(self.marker_marks[n].x)
                parts.append(f"{html.escape(n)}: {shown} of {ms.n} shown (zoom in for more)")
            elif ms.kind == "outline" and ms.style.get("block", 1) > 1:
                parts.append(f"{html.escape(n)}: outlined on {ms.style['block']}-pixel blocks")
        text = "<span style='font-size:11px'>" + "; ".join(parts) + "</span>" if parts else ""
        if self.marker_info.value != text:
            self.marker_info.value = text
