"""The alignment panel: live TweakReg-style matching and fitting with diagnostics.

Each exposure (one or more chips, each a source catalog with its WCS) is
shown with its sources and the reference sources overlaid; matched pairs
used by the fit, matched pairs rejected by the clipping, unmatched sources
and sources cut by the flux limits are drawn distinctly. Beside it: the 2-D
histogram of offsets that gave the starting offset, the residual vector plot
and the residuals ``dx``, ``dy`` against ``x`` and ``y``.

Moving any matching or fitting control (``searchrad``, ``tolerance``,
``fitgeometry``, ``nclip``, ``sigma``, ``minflux``/``maxflux`` ...) re-runs
:func:`drizzlekit.align.align_catalogs` on positions already projected into
the image's tangent plane (a few ms for 2 x 1000 sources) and redraws.
*Apply fit* corrects the WCS of the exposure shown with
:func:`drizzlekit.align.correct_wcs` and, when the panel was given files or
HDU lists, records it non-destructively (the previous WCS is kept as an
alternate WCS) with :mod:`drizzlekit.io.wcs_update`.

The fits themselves live in :mod:`.align_fit` (plain numpy), the diagnostic
figures and how they are redrawn cheaply in :mod:`.align_plots`; this module
holds the panel: viewer overlays, controls, status, apply/revert.
"""

from __future__ import annotations

import html
import logging
import math
import os
import time
from typing import Callable, Sequence

import ipywidgets as W
import numpy as np
from astropy.wcs import WCS

from drizzlekit.align import correct_wcs
from drizzlekit.exceptions import AlignmentError, DrizzlekitError, InputError
from drizzlekit.params import get_spec

from .align_fit import ALIGN_PARAMS, ExposureSources, LiveFit, fit_exposure
from .align_plots import COLORS, AlignPlots
from .layout import PanelBox, flex_column, flex_row, gl_default
from .layout import item as flex_item
from .params_panel import ParamsPanel
from .viewer import ImageViewer

__all__ = ["AlignPanel", "LiveFit", "ExposureSources", "fit_exposure", "ALIGN_PARAMS"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- panel
def _is_pair(item) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], WCS)


class AlignPanel:
    """Interactive alignment of exposures to a reference.

    Parameters
    ----------
    images : list
        One item per exposure: a ``(catalog, wcs)`` pair or a list of pairs
        (one per chip), as for :func:`drizzlekit.align.align_wcs`. Catalogs
        have 0-based ``x``, ``y`` and optionally ``flux``.
    refcat : astropy.table.Table, optional
        Reference catalog with ``RA``, ``DEC`` (degrees). None: the exposure
        ``reference`` is the reference (through its current WCS).
    data : list, optional
        Per exposure, the image (or list of chip images) to display.
        Without it the sources are drawn on a blank frame.
    names : list of str, optional
    reference : int
        Reference exposure when ``refcat`` is None.
    params : dict, optional
        Starting TweakReg parameters.
    targets : list, optional
        Per exposure, where *Apply fit* records the new WCS: a FITS file name
        (:func:`drizzlekit.io.wcs_update.updatehdr`, atomically, the old WCS
        kept as an alternate), an ``HDUList`` (its SCI headers, in memory) or
        None (the panel's WCS only).
    on_apply : callable, optional
        Called as ``on_apply(index, name, new_wcs_list)`` after a fit is applied.
    size : int
        Image viewer size, CSS pixels.
    use_gl : bool, optional
        WebGL or the PNG fallback.
    fast_redraw : bool
        Redraw the diagnostic plots with fixed axis ranges, WebGL residual
        points (see ``plots_gl``) and only the marks that changed
        (:mod:`.align_plots`); False: the older, slower SVG redraw (kept for
        ``benchmarks/bench_ui_latency.py --compare``).
    plots_gl : bool, optional
        Residual points drawn with WebGL (None: when the viewer uses WebGL;
        switched to SVG if the browser reports no WebGL).

    Attributes
    ----------
    params : ParamsPanel
    viewer : ImageViewer
    diagnostics : AlignPlots
        The histogram, vector and residual figures (:mod:`.align_plots`);
        ``hist_fig``, ``hist_mark``, ``vec_used``, ``resid`` ... are its marks.
    fits : dict
        Exposure index -> :class:`LiveFit` (computed lazily, cleared on
        parameter changes).
    sources : list of ExposureSources
    original_wcs : list of list of WCS
    widget : ipywidgets.VBox
    """

    def __init__(self, images: Sequence, refcat=None, *, data: Sequence | None = None,
                 names: Sequence[str] | None = None, reference: int = 0,
                 params: dict | None = None, targets: Sequence | None = None,
                 on_apply: Callable | None = None, size: int = 460,
                 use_gl: bool | None = None, fast_redraw: bool = True,
                 plots_gl: bool | None = None):
        if _is_pair(images):
            images = [images]
        images = list(images)
        if not images:
            raise InputError("images: at least one exposure is needed")
        if names is not None and len(names) != len(images):
            raise InputError(f"names: {len(names)} names for {len(images)} exposures")
        self.names = [str(n) for n in names] if names is not None else \
            [f"image {k}" for k in range(len(images))]
        self.sources = []
        for k, item in enumerate(images):
            pairs = [item] if _is_pair(item) else list(item)
            if not pairs or not all(_is_pair(p) for p in pairs):
                raise InputError(f"images[{k}]: expected a (catalog, wcs) pair or a list of pairs")
            pairs = [(cat, w.deepcopy()) for cat, w in pairs]
            self.sources.append(ExposureSources.from_pairs(pairs, self.names[k]))
        self.original_wcs = [[w.deepcopy() for w in s.wcs] for s in self.sources]
        if refcat is None:
            if len(images) < 2:
                raise InputError("images: two exposures are needed when refcat is None")
            if not 0 <= reference < len(images):
                raise InputError(f"reference: index {reference} out of range")
            self.refcat = None
        else:
            cols = {c.lower(): c for c in refcat.colnames}
            if "ra" not in cols or "dec" not in cols:
                raise InputError(f"refcat: needs 'RA' and 'DEC' columns (has {refcat.colnames})")
            self.refcat = refcat
            self._ref_radec = (np.asarray(refcat[cols["ra"]], float),
                               np.asarray(refcat[cols["dec"]], float))
        self.reference = int(reference) if refcat is None else None
        if targets is not None and len(targets) != len(images):
            raise InputError(f"targets: {len(targets)} targets for {len(images)} exposures")
        self.targets = list(targets) if targets is not None else [None] * len(images)
        self.on_apply = on_apply
        self.fits: dict[int, LiveFit] = {}
        self.applied: list[dict] = []
        self.last_timing: dict[str, float] = {}

        spec = get_spec("tweakreg")
        hints = self._hints()
        self.params = ParamsPanel(spec, params, names=ALIGN_PARAMS, hints=hints, layout="flat",
                                  title="Matching and fitting", label_width="140px",
                                  control_width="360px")
        self.params.widget.add_class("dk-align-params")
        self.params.on_change(self._params_changed)
        self._size = int(size)
        self._build_viewer(data, size, gl_default(use_gl))
        self._build_plots(fast_redraw, plots_gl)
        self._build_layout()
        self.refresh()

    # -- construction ------------------------------------------------------
    def _hints(self) -> dict:
        fl = [s.flux for s in self.sources if s.flux is not None and s.flux.size]
        hints = {
            "searchrad": {"widget": "slider", "min": 0.05, "max": 10.0, "step": 0.05},
            "tolerance": {"widget": "slider", "min": 0.1, "max": 10.0, "step": 0.05},
            "separation": {"widget": "slider", "min": 0.0, "max": 10.0, "step": 0.1},
            "sigma": {"widget": "slider", "min": 0.5, "max": 10.0, "step": 0.1},
            "nclip": {"widget": "slider", "min": 0, "max": 10},
            "xoffset": {"widget": "text"}, "yoffset": {"widget": "text"},
        }
        if fl:
            allf = np.concatenate(fl)
            pos = allf[np.isfinite(allf) & (allf > 0)]
            if pos.size:
                lo, hi = 10 ** math.floor(math.log10(pos.min())), \
                    10 ** math.ceil(math.log10(pos.max()))
                if hi <= lo:
                    hi = lo * 10
                for name in ("minflux", "maxflux"):
                    hints[name] = {"widget": "logslider", "min": lo, "max": hi, "step": 0.05}
        return hints

    def _frame_index(self) -> list[tuple[int, int]]:
        return [(k, c) for k, s in enumerate(self.sources) for c in range(len(s.wcs))]

    def _build_viewer(self, data, size, use_gl) -> None:
        self.viewer = ImageViewer(name="align", title="Sources and reference", size=size,
                                  use_gl=use_gl)
        self._frames = self._frame_index()
        for k, c in self._frames:
            img = None
            if data is not None:
                d = data[k]
                img = d[c] if isinstance(d, (list, tuple)) else (d if c == 0 else None)
            if img is None:
                img = np.zeros(self.sources[k].shapes[c], np.float32)
            label = self.names[k] + (f" [chip {c + 1}]" if len(self.sources[k].wcs) > 1 else "")
            if k == self.reference:
                label += " (reference)"
            self.viewer.add_frame(img, self.sources[k].wcs[c], name=label, show=False)
        first = next((i for i, (k, _) in enumerate(self._frames) if k != self.reference), 0)
        self.viewer.frame = first
        self.viewer.observe(lambda _ch: self.refresh(), "frame")

    def _build_plots(self, fast: bool, plots_gl: bool | None) -> None:
        gl = self.viewer.use_gl if plots_gl is None else bool(plots_gl)
        self.diagnostics = AlignPlots(size=255, fast=fast, gl=fast and gl)
        self.viewer.probe.on_answer(self._webgl_answer)
        d = self.diagnostics
        self.hist_fig, self.hist_mark, self.hist_peak = d.hist_fig, d.hist_mark, d.hist_peak
        self.hist_cs = d.hist_cs
        self.vec_fig, self.vec_used, self.vec_clip = d.vec_fig, d.vec_used, d.vec_clip
        self.resid = d.resid

    def _webgl_answer(self, ok: bool) -> None:
        if not ok:
            self.diagnostics.use_svg()

    @property
    def hist_counts(self) -> np.ndarray:
        """Histogram counts shown (see :class:`.align_plots.AlignPlots`)."""
        return self.diagnostics.hist_counts

    @property
    def vector_scale(self) -> float:
        """Factor on the residuals drawn as vectors."""
        return self.diagnostics.vector_scale

    def _build_layout(self) -> None:
        self.status = W.HTML(value="")
        self.status.add_class("dk-status")
        self.apply_button = W.Button(description="Apply fit", icon="check", button_style="success",
                                     tooltip="Correct the WCS of the exposure shown with this fit")
        self.apply_button.add_class("dk-apply")
        self.apply_button.on_click(lambda _b: self._guard(self.apply_fit))
        self.revert_button = W.Button(description="Revert WCS", icon="undo",
                                      tooltip="Restore the WCS the panel started with")
        self.revert_button.add_class("dk-revert")
        self.revert_button.on_click(lambda _b: self._guard(self.revert))
        self.message = W.HTML(value="")
        self.message.add_class("dk-align-message")
        legend = " ".join(
            f"<span style='color:{c}'>&#9679; {html.escape(n)}</span>"
            for n, c in (("reference", COLORS["reference"]), ("matched & used", COLORS["matched"]),
                         ("clipped", COLORS["clipped"]), ("unmatched", COLORS["unmatched"]),
                         ("cut by flux limits", COLORS["excluded"])))
        self.role = W.HTML(value="")
        self.role.add_class("dk-align-role")
        # the image first; the parameters beside it when there is room, below it when
        # not; then the diagnostics, wrapping as many per row as fit
        left = flex_item(W.VBox([self.viewer.widget]), f"{self._size}px")
        right = flex_column([self.role, W.HTML(legend, layout=W.Layout(max_width="100%")),
                             W.HBox([self.apply_button, self.revert_button],
                                    layout=W.Layout(flex_flow="row wrap")),
                             self.message, self.params.widget], basis="340px",
                            min_width="280px", css="dk-align-side")
        self.plots = self.diagnostics.widget
        self.widget = PanelBox([flex_row([left, right], css="dk-align-top"), self.status,
                                self.plots], label="AlignPanel",
                               layout=W.Layout(width="100%", max_width="100%"))
        self.widget.add_class("dk-align-panel")

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        from IPython.display import display

        display(self.widget)

    # -- state -------------------------------------------------------------
    @property
    def current(self) -> tuple[int, int]:
        """``(exposure, chip)`` of the frame shown."""
        return self._frames[self.viewer.frame]

    def reference_radec(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference positions (degrees): the catalog, or the reference exposure's sources."""
        if self.refcat is not None:
            return self._ref_radec
        s = self.sources[self.reference]
        return s.ra, s.dec

    def select(self, exposure: int, chip: int = 0) -> None:
        """Show an exposure (and chip)."""
        try:
            self.viewer.show(self._frames.index((int(exposure), int(chip))))
        except ValueError:
            raise InputError(f"exposure/chip ({exposure}, {chip}) does not exist") from None

    def fit(self, exposure: int | None = None) -> LiveFit | None:
        """The live fit of an exposure (default: the one shown), computed if needed.

        Returns None for the reference exposure.
        """
        k = self.current[0] if exposure is None else int(exposure)
        if k == self.reference:
            return None
        if k not in self.fits:
            ra, dec = self.reference_radec()
            self.fits[k] = fit_exposure(self.sources[k], ra, dec, self.params.full_values())
        return self.fits[k]

    def _params_changed(self, values, changed) -> None:
        if set(changed) <= {"wcsname"}:
            return
        self.fits.clear()
        self.refresh()

    # -- drawing -----------------------------------------------------------
    def refresh(self) -> None:
        """Fit the exposure shown (if needed) and redraw overlays, plots and status."""
        t0 = time.perf_counter()
        k, c = self.current
        lf = self.fit(k)
        t1 = time.perf_counter()
        self._draw_overlays(k, c, lf)
        self.diagnostics.draw(self.sources[k], lf)
        t2 = time.perf_counter()
        self.last_timing = {"fit_ms": 1e3 * (t1 - t0), "draw_ms": 1e3 * (t2 - t1)}
        self._draw_status(k, lf)

    def overlay_positions(self, k: int, c: int, lf: LiveFit | None) -> dict[str, tuple]:
        """Pixel positions of every marker set on chip ``c`` of exposure ``k``."""
        s = self.sources[k]
        on_chip = s.chip == c
        rows = np.arange(s.x.size)
        out = {}
        ra, dec = self.reference_radec()
        if k == self.reference:
            out["reference"] = (s.x[on_chip], s.y[on_chip])
            for name in ("matched", "clipped", "unmatched", "excluded"):
                out[name] = (np.empty(0), np.empty(0))
            return out
        _, rx, ry = s.reference_pixels(ra, dec)[c]
        out["reference"] = (rx, ry)
        excluded = np.ones(s.x.size, bool)
        excluded[lf.selected] = False
        used = np.zeros(s.x.size, bool)
        clipped = np.zeros(s.x.size, bool)
        used[lf.img_rows[lf.fitmask]] = True
        clipped[lf.img_rows[~lf.fitmask]] = True
        unmatched = ~(excluded | used | clipped)
        for name, m in (("matched", used), ("clipped", clipped), ("unmatched", unmatched),
                        ("excluded", excluded)):
            sel = rows[m & on_chip]
            out[name] = (s.x[sel], s.y[sel])
        return out

    def _draw_overlays(self, k, c, lf) -> None:
        pos = self.overlay_positions(k, c, lf)
        style = {"reference": dict(marker="square", size=90, stroke_width=1.0),
                 "unmatched": dict(marker="circle", size=40),
                 "excluded": dict(marker="circle", size=10, fill=True),
                 "matched": dict(marker="circle", size=40),
                 "clipped": dict(marker="cross", size=60, fill=True)}
        for name in ("reference", "excluded", "unmatched", "matched", "clipped"):
            x, y = pos[name]
            self.viewer.add_markers(name, x, y, color=COLORS[name], **style[name])
        self.counts = {name: int(np.size(pos[name][0])) for name in pos}

    def _draw_status(self, k, lf) -> None:
        name = html.escape(self.names[k])
        is_ref = k == self.reference
        ref = ("the reference catalog" if self.refcat is not None
               else html.escape(self.names[self.reference]) + " (the reference)")
        self.role.value = (
            f"<span class='dk-role-text' style='font-weight:bold;color:{COLORS['reference']}'>"
            f"{name} is the reference exposure</span>" if is_ref else
            f"<span class='dk-role-text'>{name} matched to {ref}</span>")
        self.apply_button.disabled = is_ref
        self.apply_button.tooltip = ("The reference exposure is not fitted" if is_ref else
                                     "Correct the WCS of the exposure shown with this fit")
        counts = " ".join(f"{n}={v}" for n, v in self.counts.items())
        if lf is None:
            nref = self.counts.get("reference", 0)
            info = (f"{name}: reference exposure &mdash; its {nref} sources (squares) are what "
                    f"the other exposures are matched to; nothing to fit")
        elif lf.fit is None:
            info = f"{name}: {html.escape(lf.status)}"
        else:
            f = lf.fit
            info = (f"{name}: {html.escape(lf.status)} [{lf.method}] "
                    f"nmatch={lf.nmatch} nused={lf.nused} "
                    f"shift=({lf.shift_pixels[0]:+.3f}, {lf.shift_pixels[1]:+.3f}) px "
                    f"rot={f.rotation:+.4f}° scale={f.scale:.6f} ")
        rms = "" if lf is None or not np.isfinite(lf.rms_pixels) else \
            f"<span class='dk-rms'>rms={lf.rms_pixels:.4f} px</span>"
        t = self.last_timing
        self.status.value = (f"<span class='dk-fitinfo'>{info}</span> {rms} "
                             f"<span class='dk-counts'>{counts}</span> "
                             f"<span class='dk-timing' style='color:#888'>"
                             f"(fit {t['fit_ms']:.0f} ms, draw {t['draw_ms']:.0f} ms)</span>")

    # -- actions -----------------------------------------------------------
    def _guard(self, action) -> None:
        try:
            action()
        except (DrizzlekitError, OSError) as exc:
            self.message.value = (f"<span class='dk-error-text' style='color:#c62828'>"
                                  f"{html.escape(str(exc))}</span>")

    def apply_fit(self, exposure: int | None = None) -> list:
        """Correct the WCS of an exposure (default: the one shown) with its live fit.

        The new WCS replaces the panel's copy (the sources are re-projected, so
        the next fit starts from the aligned frame) and is recorded in the
        exposure's target (file or HDU list) when one was given.

        Returns
        -------
        list of WCS
            The corrected WCS of each chip.

        Raises
        ------
        AlignmentError
            If the live fit did not succeed (nothing is changed).
        """
        k = self.current[0] if exposure is None else int(exposure)
        if k == self.reference:
            raise AlignmentError(f"{self.names[k]} is the reference; there is no fit to apply")
        lf = self.fit(k)
        if not lf.succeeded:
            raise AlignmentError(f"{self.names[k]}: the fit did not succeed ({lf.status}); "
                                 "nothing applied")
        s = self.sources[k]
        new = []
        for c, w in enumerate(s.wcs):
            ny, nx = s.shapes[c]
            new.append(correct_wcs(w, s.plane, lf.fit.matrix, lf.fit.shift,
                                   extent=(0.0, nx - 1.0, 0.0, ny - 1.0)))
        written = self._record(k, new)
        s.wcs = new
        s.project()
        for idx, (kk, c) in enumerate(self._frames):
            if kk == k:
                self.viewer.frames[idx].wcs = new[c]
        self.applied.append({"exposure": k, "name": self.names[k], "status": lf.status,
                             "shift_pixels": lf.shift_pixels.copy(), "written": written})
        self.fits.clear()
        self.message.value = (f"Applied fit to {html.escape(self.names[k])}: shift "
                              f"({lf.shift_pixels[0]:+.3f}, {lf.shift_pixels[1]:+.3f}) px"
                              + (f"; WCS recorded in {html.escape(str(written))}" if written
                                 else ""))
        if self.on_apply is not None:
            self.on_apply(k, self.names[k], new)
        self.refresh()
        return new

    def _record(self, k: int, new: list) -> str | None:
        target = self.targets[k]
        if target is None:
            return None
        from drizzlekit.io import wcs_update

        p = self.params.full_values()
        hist = f"drizzlekit AlignPanel: WCS aligned ({p['fitgeometry']})"
        if isinstance(target, (str, os.PathLike)):
            wcs_update.updatehdr(os.fspath(target), new, wcsname=p["wcsname"],
                                 reusename=p["reusename"], history=hist)
            return os.fspath(target)
        for c, w in enumerate(new):  # an HDUList in memory
            wcs_update.update_header_wcs(target["SCI", c + 1].header, w, wcsname=p["wcsname"],
                                         reusename=p["reusename"],
                                         where=f"{self.names[k]}[SCI,{c + 1}]", history=hist)
        return f"{self.names[k]} (in memory)"

    def revert(self, exposure: int | None = None) -> None:
        """Restore the starting WCS of an exposure (default: the one shown) in the panel.

        Files or HDU lists already updated keep their new WCS (and the
        archived one): revert those with :mod:`drizzlekit.io.wcs_update`.
        """
        k = self.current[0] if exposure is None else int(exposure)
        s = self.sources[k]
        s.wcs = [w.deepcopy() for w in self.original_wcs[k]]
        s.project()
        for idx, (kk, c) in enumerate(self._frames):
            if kk == k:
                self.viewer.frames[idx].wcs = s.wcs[c]
        self.fits.clear()
        self.message.value = f"Restored the starting WCS of {html.escape(self.names[k])}."
        self.refresh()

    # -- construction from images -------------------------------------------
    @classmethod
    def from_exposures(cls, exposures: Sequence, refcat=None, *, names=None,
                       find_params: dict | None = None, record: bool = False,
                       **kwargs) -> "AlignPanel":
        """Find sources in FLT-like exposures and open the panel on them.

        Parameters
        ----------
        exposures : list of str or HDUList
            Files or HDU lists with ``SCI`` extensions (one per chip).
        refcat : astropy.table.Table, optional
        names : list of str, optional
            Default: the file names or ``ROOTNAME``.
        find_params : dict, optional
            TweakReg ``imagefindpars`` (:func:`drizzlekit.align.find.find_sources`).
        record : bool
            Record applied fits in the files / HDU lists (non-destructively).
        **kwargs
            Passed to :class:`AlignPanel`.
        """
        from astropy.io import fits

        from drizzlekit.align.find import find_sources

        fp = dict(find_params or {})
        images, data, labels, targets = [], [], [], []
        for k, exp in enumerate(exposures):
            hdul = fits.open(exp) if isinstance(exp, (str, os.PathLike)) else exp
            try:
                pairs, chips = [], []
                extvers = [h.ver for h in hdul if h.name == "SCI"]
                if not extvers:
                    raise InputError(f"exposures[{k}]: no SCI extension")
                for v in extvers:
                    sci = np.asarray(hdul["SCI", v].data, dtype=np.float32)
                    w = WCS(hdul["SCI", v].header, hdul)
                    w.pixel_shape = (sci.shape[1], sci.shape[0])
                    pairs.append((find_sources(sci, **fp), w))
                    chips.append(sci)
                label = os.path.basename(os.fspath(exp)) if isinstance(exp, (str, os.PathLike)) \
                    else hdul[0].header.get("ROOTNAME", f"image {k}")
            finally:
                if isinstance(exp, (str, os.PathLike)):
                    hdul.close()
            images.append(pairs)
            data.append(chips)
            labels.append(label)
            targets.append(exp if record else None)
        return cls(images, refcat, data=data, names=names or labels, targets=targets, **kwargs)
