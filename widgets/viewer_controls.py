"""The controls under the image viewer's figure (mixin of ``ImageViewer``).

Interval (cut levels by name, or ``'manual'``), stretch and colour-map
dropdowns; min/max boxes for typed cut levels; frame selector, blink and
play; the marker row (size slider, one toggle per set). Every row wraps
(``flex_flow='row wrap'``), so the controls never make the viewer wider
than its container.
"""

from __future__ import annotations

import re

import ipywidgets as W

from .stretch import COLORMAPS, INTERVALS, STRETCHES

__all__ = ["ControlsMixin", "MANUAL"]

#: Interval name shown when the cut levels were typed in or set with ``cuts``.
MANUAL = "manual"


def css_name(name: str) -> str:
    """A CSS-class-safe form of a viewer name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "view"


def _shown(v: float) -> float:
    """A cut level as the min/max boxes show it (7 significant digits)."""
    return float(f"{float(v):.7g}")


class ControlsMixin:
    """Builds ``widget`` (the viewer's VBox) and reacts to its controls."""

    def _build_controls(self, controls: bool) -> W.VBox:
        small = W.Layout(width="112px")
        self.interval_select = W.Dropdown(options=list(INTERVALS) + [MANUAL],
                                          value=self.interval, layout=small,
                                          tooltip="Cut levels: data values shown as black "
                                          "and white")
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
        self.reset_view_button = W.Button(icon="expand", layout=W.Layout(width="36px"),
                                          tooltip="Show the whole image")
        self.reset_view_button.on_click(lambda _b: self.fit_view())
        cut = W.Layout(width="150px")
        self.cut_low = W.FloatText(description="min", layout=cut, style={"description_width":
                                                                          "30px"},
                                   tooltip="Low cut level (data units)")
        self.cut_high = W.FloatText(description="max", layout=cut, style={"description_width":
                                                                           "30px"},
                                    tooltip="High cut level (data units)")
        self.cut_low.add_class("dk-cut-low")
        self.cut_high.add_class("dk-cut-high")
        for w in (self.cut_low, self.cut_high):
            w.observe(self._cut_typed, "value")
        wrap = W.Layout(flex_flow="row wrap")
        row1 = W.HBox([self.interval_select, self.stretch_select, self.colormap_select,
                       self.reset_view_button], layout=wrap)
        row2 = W.HBox([self.cut_low, self.cut_high], layout=W.Layout(flex_flow="row wrap"))
        self.frame_select = W.Dropdown(options=[], layout=W.Layout(width="200px",
                                                                   max_width="100%"),
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
        self.frame_row = W.HBox([self.frame_select, self.blink_button, self.play],
                                layout=W.Layout(flex_flow="row wrap"))
        self.frame_row.layout.display = "none"
        self.marker_size = W.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.25,
                                            description="size", readout=False,
                                            continuous_update=False,
                                            layout=W.Layout(width="190px"),
                                            style={"description_width": "32px"},
                                            tooltip="Marker size")
        self.marker_size.add_class("dk-marker-size")
        self.marker_size.observe(self._marker_size_changed, "value")
        self.marker_toggles = W.HBox([], layout=W.Layout(flex_flow="row wrap"))
        self.marker_info = W.HTML(value="")
        self.marker_info.add_class("dk-marker-info")
        self.marker_row = W.HBox([self.marker_size, self.marker_toggles, self.marker_info],
                                 layout=W.Layout(flex_flow="row wrap", display="none"))
        self.marker_row.add_class("dk-marker-row")
        parts = [self.title_html, self.note, self.figure, self.colorbar]
        if controls:
            parts += [row1, row2, self.frame_row]
        parts += [self.marker_row, self.readout, self.probe.widget]
        box = W.VBox(parts, layout=W.Layout(width=f"{self.size}px", max_width="100%",
                                            min_width="0px", flex="0 1 auto"))
        box.add_class("dk-viewer")
        box.add_class(f"dk-viewer-{css_name(self.name)}")
        return box

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

    def _cut_typed(self, change) -> None:
        if self._syncing_cuts:
            return
        # a box left as displayed (rounded) means the level in use, at full precision
        lo, hi = (float(lim) if box.value == _shown(lim) else box.value
                  for box, lim in ((self.cut_low, self.limits[0]),
                                   (self.cut_high, self.limits[1])))
        if not hi > lo:  # keep the last valid levels in the boxes
            self._show_cut_values(self.limits)
            self.readout.value = ("<span class='dk-readout-text'>cut levels: max must be "
                                  "greater than min</span>")
            return
        self.set_cuts(lo, hi)

    def _show_cut_values(self, lim) -> None:
        self._syncing_cuts = True
        try:
            # 7 significant digits are shown; the levels in use keep full precision
            self.cut_low.value, self.cut_high.value = (_shown(v) for v in lim)
        finally:
            self._syncing_cuts = False
