"""The pipeline panel: AstroDrizzle step by step, with every intermediate product.

The panel drives :mod:`drizzlekit.pipeline` exactly as
:func:`drizzlekit.pipeline.astrodrizzle` does — :func:`~drizzlekit.pipeline.prepare`
and then the ``run_*`` step functions in :data:`~drizzlekit.pipeline.STEPS`
order, skipping the steps switched off by the parameters — but one step at a
time (*Run next step*) or all at once (*Run all*), with a progress bar and a
per-step status line. After each step the viewer's frame list offers every
product made so far (input chips, static masks, single drizzles and their
weights, the median, blotted images, cosmic-ray masks, the final SCI, WHT and
context), which can be blinked; cosmic rays are marked on the chip images.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import ipywidgets as W
import numpy as np

from drizzlekit import pipeline as pl
from drizzlekit.exceptions import DrizzlekitError, InputError

from .layout import PanelBox, compiling_note, flex_column, flex_row, gl_default, item
from .params_panel import ParamsPanel
from .viewer import ImageViewer

__all__ = ["PipelinePanel", "Product", "list_products"]

log = logging.getLogger(__name__)

_STEP_FUNCS: dict[str, Callable] = {
    "static_mask": pl.run_static_mask,
    "sky": pl.run_sky,
    "driz_separate": pl.run_drizzle_separate,
    "median": pl.run_median,
    "blot": pl.run_blot,
    "driz_cr": pl.run_driz_cr,
    "final_drizzle": pl.run_final_drizzle,
}


@dataclass
class Product:
    """One browsable intermediate product.

    Attributes
    ----------
    label : str
    data : ndarray (ny, nx)
    wcs : astropy.wcs.WCS or None
    step : str
        The step that made it (``'input'`` for the inputs).
    chip : tuple or None
        ``(name, extver)`` for chip-shaped products (cosmic rays are marked).
    """

    label: str
    data: np.ndarray
    wcs: Any
    step: str
    chip: tuple | None = None


def list_products(res) -> list[Product]:
    """Every 2-D product an :class:`~drizzlekit.pipeline.AstrodrizzleResult` holds so far."""
    out: list[Product] = []
    for key, _e, chip in res.chips():
        out.append(Product(f"input {key[0]}[{key[1]}]", chip.sci, chip.wcs, "input", key))
    for (extver, shape), mask in res.static_masks.items():
        out.append(Product(f"static mask [SCI,{extver}] {shape[1]}x{shape[0]}",
                           np.asarray(mask, np.float32), None, "static_mask"))
    for name in res.names:
        if name in res.single_sci:
            out.append(Product(f"single sci {name}", res.single_sci[name], res.single_wcs,
                               "driz_separate"))
            out.append(Product(f"single wht {name}", res.single_wht[name], res.single_wcs,
                               "driz_separate"))
    if res.median is not None:
        out.append(Product("median", res.median, res.single_wcs, "median"))
    for key, _e, chip in res.chips():
        if key in res.blots:
            out.append(Product(f"blot {key[0]}[{key[1]}]", res.blots[key], chip.wcs, "blot",
                               key))
    for key, _e, chip in res.chips():
        if key in res.cr_masks:
            out.append(Product(f"CR mask {key[0]}[{key[1]}]",
                               np.asarray(res.cr_masks[key], np.float32), chip.wcs, "driz_cr",
                               key))
        if key in res.cr_clean:
            out.append(Product(f"CR clean {key[0]}[{key[1]}]", res.cr_clean[key], chip.wcs,
                               "driz_cr", key))
    if res.sci is not None:
        out.append(Product("final SCI", res.sci, res.output_wcs, "final_drizzle"))
        out.append(Product("final WHT", res.wht, res.output_wcs, "final_drizzle"))
        if res.ctx is not None:
            nin = np.bitwise_count(np.asarray(res.ctx).view(np.uint32)).sum(axis=0)
            out.append(Product("final CTX (inputs per pixel)", nin.astype(np.float32),
                               res.output_wcs, "final_drizzle"))
    return out


class PipelinePanel:
    """Run AstroDrizzle step by step and browse the intermediate products.

    Parameters
    ----------
    input : str, list or HDUList(s)
        What :func:`drizzlekit.pipeline.prepare` accepts (files, wildcards,
        in-memory HDU lists ...).
    output : str, optional
        Output root name.
    params : dict, optional
        Starting AstroDrizzle parameters.
    sections : list of str, optional
        Parameter sections to show (default: all steps).
    size : int
        Viewer size, CSS pixels.
    use_gl : bool, optional

    Attributes
    ----------
    params : ParamsPanel
    result : AstrodrizzleResult or None
        The run in progress (after :meth:`prepare`).
    done : dict
        Step name -> ``'done'`` / ``'skipped'`` / ``'failed'``.
    products : list of Product
    viewer : ImageViewer
        Its frames are the products.
    widget : ipywidgets.VBox
    """

    def __init__(self, input, output: str | None = None, *, params: dict | None = None,
                 sections=None, size: int = 460, use_gl: bool | None = None):
        self.input = input
        self.output = output
        self.result = None
        self.done: dict[str, str] = {}
        self.products: list[Product] = []
        self.params = ParamsPanel("astrodrizzle", params, sections=sections,
                                  exclude=("input", "output"), title="AstroDrizzle parameters")
        self.params.on_change(self._params_changed)
        self._size = int(size)
        self.viewer = ImageViewer(name="pipeline", title="Products", size=size,
                                  use_gl=gl_default(use_gl))
        self.viewer.observe(lambda _ch: self._draw_crs(), "frame")
        self.shown = W.HTML(value="")
        self.shown.add_class("dk-shown")
        self._build()
        self._draw_steps()

    # -- layout ------------------------------------------------------------
    def _build(self) -> None:
        self.prepare_button = W.Button(description="Prepare", icon="refresh",
                                       tooltip="Read the inputs and build the output frame "
                                               "(starts a new run)")
        self.next_button = W.Button(description="Run next step", icon="step-forward",
                                    button_style="primary")
        self.all_button = W.Button(description="Run all", icon="fast-forward")
        self.write_button = W.Button(description="Write products", icon="save",
                                     tooltip="Write <output>_drz.fits (and CR masks)")
        for b, css, action in ((self.prepare_button, "dk-prepare", self.prepare),
                               (self.next_button, "dk-next", self.run_next),
                               (self.all_button, "dk-run-all", self.run_all),
                               (self.write_button, "dk-write", self.write)):
            b.add_class(css)
            b.on_click(lambda _b, a=action: self._guard(a))
        self.progress = W.IntProgress(value=0, min=0, max=len(pl.STEPS) + 1,
                                      description="progress",
                                      layout=W.Layout(width="420px"))
        self.progress.add_class("dk-progress")
        self.steps_html = W.HTML()
        self.steps_html.add_class("dk-steps")
        self.status = W.HTML(value="")
        self.status.add_class("dk-status")
        buttons = W.HBox([self.prepare_button, self.next_button, self.all_button,
                          self.write_button], layout=W.Layout(flex_flow="row wrap"))
        self.progress.layout.max_width = "100%"
        # before the first product the viewer would be an empty figure: say what to do
        self.empty_note = W.HTML(
            value=("<div class='dk-empty-text' style='padding:24px 16px;color:#555;"
                   f"border:1px dashed #aaa;box-sizing:border-box;min-height:"
                   f"{min(self._size, 240)}px'>"
                   "<b>No products yet.</b><br>Press <b>Prepare</b> to read the inputs, then "
                   "<b>Run next step</b> (or <b>Run all</b>): each step's products (input "
                   "chips, single drizzles, median, blots, cosmic-ray masks, final SCI/WHT/CTX) "
                   "appear here as they are made.</div>"),
            layout=W.Layout(width=f"{self._size}px", max_width="100%", margin="0"))
        self.empty_note.add_class("dk-pipeline-empty")
        right = flex_column([buttons, self.progress, self.steps_html, self.status, self.shown],
                            basis="320px", min_width="260px", css="dk-pipeline-side")
        self._left = W.VBox([self.empty_note])
        left = item(self._left, f"{self._size}px")
        self.widget = PanelBox([flex_row([left, right], css="dk-pipeline-row"),
                                self.params.widget], label="PipelinePanel",
                               layout=W.Layout(width="100%", max_width="100%"))
        self.widget.add_class("dk-pipeline-panel")
        self._show_viewer(False)

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        self.widget._ipython_display_()

    def _show_viewer(self, shown: bool) -> None:
        """The viewer once there is a product; the "no products yet" note before.

        (The viewer is left out of the page until then: a figure laid out in a hidden
        box has no size, and bqplot logs errors drawing it.)
        """
        want = [self.viewer.widget] if shown else [self.empty_note]
        if list(self._left.children) != want:
            self._left.children = want

    # -- running -----------------------------------------------------------
    def _guard(self, action) -> None:
        try:
            action()
        except (DrizzlekitError, OSError) as exc:
            self.status.value = (f"<span class='dk-error-text' style='color:#c62828'>"
                                 f"{html.escape(type(exc).__name__)}: "
                                 f"{html.escape(str(exc))}</span>")

    def _params_changed(self, values, changed) -> None:
        if self.result is not None:
            self.status.value = ("Parameters changed: press <b>Prepare</b> to start a new run "
                                 "with them.")

    def prepare(self) -> None:
        """Start a new run: validate parameters, read inputs, build the frames."""
        if self.params.errors:
            raise InputError("fix the invalid parameter(s) first: "
                             + ", ".join(sorted(self.params.errors)))
        p = {k: v for k, v in self.params.full_values().items()
             if k not in ("input", "output")}
        self.result = None
        self.done = {}
        self.progress.value = 0
        self.viewer.clear_frames()
        self._show_viewer(False)
        t0 = time.perf_counter()
        self.result = pl.prepare(self.input, self.output, progress=False, **p)
        self.done["prepare"] = "done"
        self.progress.value = 1
        self._after_step("prepare", time.perf_counter() - t0)

    def pending(self) -> list[str]:
        """Steps not yet run or skipped, in order."""
        return [name for name, _ in pl.STEPS if name not in self.done]

    def _should_skip(self, name: str, flag: str | None) -> bool:
        p = self.result.params
        if flag is not None and not p[flag]:
            return True
        return name in ("blot", "driz_cr") and self.result.median is None

    def run_next(self) -> str | None:
        """Run (or skip) the next step; returns its name (None when all are done)."""
        if self.result is None:
            self.prepare()
        for name, flag in pl.STEPS:
            if name in self.done:
                continue
            if self._should_skip(name, flag):
                self.done[name] = "skipped"
                self.progress.value += 1
                continue
            t0 = time.perf_counter()
            try:
                with compiling_note(self._loops(name), self.status):
                    _STEP_FUNCS[name](self.result)
            except Exception:
                self.done[name] = "failed"
                self._draw_steps()
                raise
            dt = time.perf_counter() - t0
            self.result.timings[name] = dt
            self.done[name] = "done"
            self.progress.value += 1
            self._after_step(name, dt)
            return name
        self._draw_steps()
        self.status.value = "All steps done."
        return None

    def _loops(self, name: str) -> list[str]:
        """The numba loop groups a step uses (for the first-run compile note)."""
        p = self.result.params
        return {"static_mask": ["stats"], "sky": ["stats"],
                "driz_separate": [p.get("driz_sep_kernel", "turbo"), "pixmap", "pixmap_store"],
                "median": ["stats"], "blot": ["blot", "pixmap"], "driz_cr": ["driz_cr"],
                "final_drizzle": [p.get("final_kernel", "square"), "pixmap", "pixmap_store"],
                }.get(name, [])

    def run_all(self) -> None:
        """Run every remaining step."""
        if self.result is None:
            self.prepare()
        while self.pending():
            if self.run_next() is None:
                break

    def write(self) -> list[str]:
        """Write the products (:func:`drizzlekit.pipeline.write_products`)."""
        if self.result is None or self.result.sci is None:
            raise InputError("run the final drizzle before writing the products")
        files = pl.write_products(self.result)
        self.status.value = "Wrote " + ", ".join(html.escape(f) for f in files)
        return files

    # -- drawing -----------------------------------------------------------
    def _after_step(self, name: str, seconds: float) -> None:
        shown = self.viewer.frame_names[self.viewer.frame] if self.viewer.frames else None
        self.products = list_products(self.result)
        known = set(self.viewer.frame_names)
        new = [pr for pr in self.products if pr.label not in known]
        for pr in new:
            self.viewer.add_frame(pr.data, pr.wcs, name=pr.label, show=False)
        self._show_viewer(bool(self.viewer.frames))
        made = [pr for pr in new if pr.step == name]
        target = made[0].label if made else shown or self.products[0].label
        self.viewer._fitted = False
        self.viewer.show(target)
        self._draw_crs()
        self._draw_steps()
        extra = ""
        res = self.result
        if name == "sky" and res.sky:
            extra = "; sky " + ", ".join(f"{k[0]}[{k[1]}]={v:.4g}" for k, v in res.sky.items())
        elif name == "driz_cr":
            extra = "; CR pixels " + ", ".join(f"{k[0]}[{k[1]}]={int(np.sum(m))}"
                                               for k, m in res.cr_masks.items())
        self.status.value = (f"<span class='dk-last-step'>{html.escape(name)} done in "
                             f"{seconds:.2f} s</span>; products="
                             f"<span class='dk-nproducts'>{len(self.products)}</span>"
                             f"{html.escape(extra)}")

    def _draw_steps(self) -> None:
        icons = {"done": "&#10004;", "skipped": "&#8631;", "failed": "&#10008;"}
        rows = []
        for name in ["prepare"] + [n for n, _ in pl.STEPS]:
            state = self.done.get(name, "pending")
            t = "" if self.result is None else self.result.timings.get(
                "initialize" if name == "prepare" else name)
            rows.append(f"<tr class='dk-step-{name}'><td>{icons.get(state, '&#8226;')}</td>"
                        f"<td>{name}</td><td class='dk-step-state'>{state}</td>"
                        f"<td>{'' if not t else f'{t:.2f} s'}</td></tr>")
        self.steps_html.value = "<table>" + "".join(rows) + "</table>"

    def _draw_crs(self) -> None:
        if not self.viewer.frames or self.result is None:
            return
        label = self.viewer.frame_names[self.viewer.frame]
        pr = next((p for p in self.products if p.label == label), None)
        mask = None if pr is None or pr.chip is None else self.result.cr_masks.get(pr.chip)
        if mask is None or label.startswith("CR mask"):
            nflag = 0
            if "cosmic rays" in self.viewer.markers:
                self.viewer.remove_markers("cosmic rays")
        else:  # outlines of the flagged regions, not a cross per pixel
            nflag = int(np.count_nonzero(mask))
            self.viewer.add_mask_outline("cosmic rays", mask)
        ny, nx = self.viewer.current.data.shape
        self.shown.value = (f"<span class='dk-shown-text'>showing {html.escape(label)} "
                            f"({nx}x{ny}); cosmic-ray pixels outlined: "
                            f"<span class='dk-ncr'>{nflag}</span></span>")

    def drizzle_panel(self, **kwargs):
        """A :class:`~drizzlekit.widgets.DrizzlePanel` on this run's chips and CR masks."""
        from .drizzle_panel import DrizzlePanel

        if self.result is None:
            raise InputError("prepare the run first")
        return DrizzlePanel.from_result(self.result, **kwargs)
