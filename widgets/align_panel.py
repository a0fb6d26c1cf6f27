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
"""

from __future__ import annotations

import html
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import bqplot
import ipywidgets as W
import numpy as np
from astropy.wcs import WCS

from drizzlekit.align import OffsetHistogram, TangentPlane, align_catalogs, correct_wcs
from drizzlekit.align.tangent import (check_celestial_wcs, mean_direction, pixel_jacobian,
                                      pixel_to_sky, sky_to_pixel)
from drizzlekit.exceptions import AlignmentError, DrizzlekitError, InputError
from drizzlekit.params import get_spec

from .layout import PanelBox, flex_column, flex_row, gl_default
from .layout import item as flex_item
from .params_panel import ParamsPanel
from .viewer import ImageViewer

__all__ = ["AlignPanel", "LiveFit", "ExposureSources", "fit_exposure", "ALIGN_PARAMS"]

log = logging.getLogger(__name__)

#: TweakReg parameters the panel exposes (matching, fitting, flux limits).
ALIGN_PARAMS = ("searchrad", "searchunits", "use2dhist", "xoffset", "yoffset", "tolerance",
                "separation", "minobj", "fitgeometry", "nclip", "sigma", "minflux", "maxflux",
                "hist_min_significance", "use_triangles", "wcsname")

_ENGINE = ("fitgeometry", "searchrad", "searchunits", "use2dhist", "xoffset", "yoffset",
           "tolerance", "separation", "minobj", "nclip", "sigma", "hist_min_significance",
           "use_triangles")

COLORS = {"reference": "#ff9800", "matched": "#00e676", "clipped": "#ff1744",
          "unmatched": "#40c4ff", "excluded": "#9e9e9e"}


# ---------------------------------------------------------------------------- compute
@dataclass
class ExposureSources:
    """The sources of one exposure, projected once for fast re-fits.

    Attributes
    ----------
    name : str
    wcs : list of WCS
        Current WCS of each chip.
    x, y : ndarray
        Pixel positions (0-based) of all sources, chips stacked.
    chip : ndarray of int
        Chip of each source.
    flux : ndarray or None
        Flux of each source (catalog ``flux`` column).
    shapes : list of (ny, nx)
        Chip shapes (from ``wcs.pixel_shape`` or the catalog extent).
    plane : TangentPlane
        Plane tangent at the exposure centre.
    xy : ndarray (N, 2)
        Source positions in ``plane``, arcsec.
    ra, dec : ndarray
        Source sky positions through the current WCS, degrees.
    jacobian : ndarray (2, 2)
        ``d(plane)/d(pixel)`` at the first chip's centre, arcsec/pixel.
    pixel_scale : float
        arcsec/pixel.
    """

    name: str
    wcs: list
    x: np.ndarray
    y: np.ndarray
    chip: np.ndarray
    flux: np.ndarray | None
    shapes: list
    plane: TangentPlane = None
    xy: np.ndarray = None
    ra: np.ndarray = None
    dec: np.ndarray = None
    jacobian: np.ndarray = None
    pixel_scale: float = math.nan

    @classmethod
    def from_pairs(cls, pairs, name: str) -> "ExposureSources":
        xs, ys, cs, fs, wcss, shapes = [], [], [], [], [], []
        has_flux = True
        for c, (cat, w) in enumerate(pairs):
            check_celestial_wcs(w, f"{name} chip {c} wcs")
            cols = getattr(cat, "colnames", None) or list(getattr(cat, "keys", lambda: [])())
            if "x" not in cols or "y" not in cols:
                raise InputError(f"{name} chip {c}: the catalog needs 'x' and 'y' columns "
                                 f"(has {list(cols)})")
            x = np.asarray(cat["x"], float).ravel()
            y = np.asarray(cat["y"], float).ravel()
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise InputError(f"{name} chip {c}: non-finite x/y positions in the catalog")
            xs.append(x)
            ys.append(y)
            cs.append(np.full(x.size, c))
            if "flux" in cols:
                fs.append(np.asarray(cat["flux"], float).ravel())
            else:
                has_flux = False
            wcss.append(w)
            if w.pixel_shape is not None:
                shapes.append((int(w.pixel_shape[1]), int(w.pixel_shape[0])))
            else:
                shapes.append((int(np.ceil(y.max() + 1)) if y.size else 1,
                               int(np.ceil(x.max() + 1)) if x.size else 1))
        out = cls(name=name, wcs=wcss, x=np.concatenate(xs), y=np.concatenate(ys),
                  chip=np.concatenate(cs), flux=np.concatenate(fs) if has_flux else None,
                  shapes=shapes)
        out.project()
        return out

    def project(self) -> None:
        """(Re)compute sky and plane positions through the current WCS."""
        ra = np.empty(self.x.size)
        dec = np.empty(self.x.size)
        centres = []
        for c, w in enumerate(self.wcs):
            sel = self.chip == c
            ra[sel], dec[sel] = pixel_to_sky(w, self.x[sel], self.y[sel])
            ny, nx = self.shapes[c]
            centres.append(pixel_to_sky(w, np.array([(nx - 1) / 2]), np.array([(ny - 1) / 2])))
        self.ra, self.dec = ra, dec
        self.plane = TangentPlane(*mean_direction(np.concatenate([c[0] for c in centres]),
                                                  np.concatenate([c[1] for c in centres])))
        self.xy = self.plane.xy_from_sky(ra, dec)
        ny, nx = self.shapes[0]
        self.jacobian = pixel_jacobian(self.wcs[0], self.plane, (nx - 1) / 2, (ny - 1) / 2)
        self.pixel_scale = math.sqrt(abs(np.linalg.det(self.jacobian)))

    def reference_pixels(self, ra, dec, margin: float = 0.0) -> list[tuple]:
        """Per chip: ``(rows, x, y)`` of the reference sources within the chip + margin."""
        out = []
        u = self.plane.xy_from_sky(ra, dec)
        for c, w in enumerate(self.wcs):
            ny, nx = self.shapes[c]
            # cheap pre-selection on the plane, then the exact inverse WCS
            size = math.hypot(nx, ny) * self.pixel_scale * 1.5 + margin * self.pixel_scale
            cx, cy = self.plane.xy_from_sky(*pixel_to_sky(w, np.array([(nx - 1) / 2]),
                                                          np.array([(ny - 1) / 2])))[0]
            near = np.flatnonzero(np.hypot(u[:, 0] - cx, u[:, 1] - cy) < size)
            x, y = sky_to_pixel(w, np.asarray(ra)[near], np.asarray(dec)[near])
            ok = (np.isfinite(x) & np.isfinite(y) & (x >= -0.5 - margin) & (y >= -0.5 - margin)
                  & (x <= nx - 0.5 + margin) & (y <= ny - 0.5 + margin))
            out.append((near[ok], x[ok], y[ok]))
        return out


@dataclass
class LiveFit:
    """One live fit of an exposure to the reference.

    Attributes
    ----------
    status : str
        ``'SUCCESS'`` or ``'FAILED: <reason>'`` (from the engine).
    method : str
        How the starting offset was found.
    selected : ndarray of int
        Source rows passing the flux limits.
    ref_rows : ndarray of int
        Reference rows near the exposure (the candidates).
    img_rows, matched_ref : ndarray of int
        Matched pairs: source row and reference row.
    fitmask : ndarray of bool
        True for pairs used by the final fit (False: clipped).
    residuals_pixels : ndarray (nmatch, 2)
        Reference minus corrected position along the first chip's axes, pixels.
    histogram : OffsetHistogram or None
        Offsets histogram (arcsec).
    fit : LinearFit or None
    shift_pixels : ndarray (2,)
    rms_pixels : float
    elapsed_ms : float
        Time of the engine call.
    """

    status: str
    method: str
    selected: np.ndarray
    ref_rows: np.ndarray
    img_rows: np.ndarray
    matched_ref: np.ndarray
    fitmask: np.ndarray
    residuals_pixels: np.ndarray
    histogram: OffsetHistogram | None
    fit: Any
    shift_pixels: np.ndarray = field(default_factory=lambda: np.zeros(2))
    rms_pixels: float = math.nan
    elapsed_ms: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def nmatch(self) -> int:
        return int(self.img_rows.size)

    @property
    def nused(self) -> int:
        return int(np.count_nonzero(self.fitmask))


def _flux_selection(src: ExposureSources, minflux, maxflux) -> np.ndarray:
    keep = np.ones(src.x.size, bool)
    if src.flux is not None:
        if minflux is not None:
            keep &= src.flux >= minflux
        if maxflux is not None:
            keep &= src.flux <= maxflux
    return np.flatnonzero(keep)


def fit_exposure(src: ExposureSources, ref_ra, ref_dec, params: dict) -> LiveFit:
    """Match and fit one exposure's sources to reference positions.

    Parameters
    ----------
    src : ExposureSources
    ref_ra, ref_dec : ndarray
        Reference positions, degrees.
    params : dict
        TweakReg parameters (:data:`ALIGN_PARAMS`; missing ones take their
        defaults).

    Returns
    -------
    LiveFit
    """
    spec = get_spec("tweakreg")
    p = {**spec.defaults(), **params}
    sel = _flux_selection(src, p["minflux"], p["maxflux"])
    srad_pix = p["searchrad"] / (src.pixel_scale if p["searchunits"] == "arcseconds" else 1.0)
    margin = srad_pix + 2.0 * p["tolerance"] + 2.0
    ref_rows = np.unique(np.concatenate(
        [rows for rows, _, _ in src.reference_pixels(ref_ra, ref_dec, margin)] or [[]])
    ).astype(np.int64)
    empty = np.empty(0, np.int64)
    if sel.size == 0 or ref_rows.size == 0:
        why = "no sources pass the flux limits" if sel.size == 0 else \
            "no reference sources overlap the exposure"
        return LiveFit(f"FAILED: {why}", "none", sel, ref_rows, empty, empty,
                       np.empty(0, bool), np.empty((0, 2)), None, None)
    ref_xy = src.plane.xy_from_sky(np.asarray(ref_ra)[ref_rows], np.asarray(ref_dec)[ref_rows])
    t0 = time.perf_counter()
    try:
        sol = align_catalogs(src.xy[sel], ref_xy, pixel_scale=src.pixel_scale,
                             jacobian=src.jacobian, **{k: p[k] for k in _ENGINE})
    except AlignmentError as exc:  # e.g. too few sources for the geometry
        return LiveFit(f"FAILED: {exc}", "none", sel, ref_rows, empty, empty,
                       np.empty(0, bool), np.empty((0, 2)), None, None,
                       elapsed_ms=1e3 * (time.perf_counter() - t0))
    dt = 1e3 * (time.perf_counter() - t0)
    jinv = np.linalg.inv(src.jacobian)
    if sol.fit is not None and sol.img_idx.size:
        res_pix = sol.fit.residuals @ jinv.T
        fitmask = np.asarray(sol.fit.fitmask, bool)
        shift = jinv @ sol.fit.shift
        rms = sol.fit.rmse / src.pixel_scale
    else:
        res_pix, fitmask, shift, rms = np.empty((0, 2)), np.zeros(sol.img_idx.size, bool), \
            np.zeros(2), math.nan
    return LiveFit(sol.status, sol.method, sel, ref_rows, sel[sol.img_idx],
                   ref_rows[sol.ref_idx], fitmask, res_pix, sol.histogram, sol.fit,
                   shift_pixels=shift, rms_pixels=rms, elapsed_ms=dt)


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

    Attributes
    ----------
    params : ParamsPanel
    viewer : ImageViewer
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
                 use_gl: bool | None = None):
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
        self._build_plots()
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

    def _small_figure(self, title: str, xlabel: str, ylabel: str, css: str, size=250):
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

    def _build_plots(self) -> None:
        # 2-D offset histogram
        self.hist_fig, hx, hy = self._small_figure("Offsets (log N)",
                                                   "Δξ image − ref [arcsec]", "Δη [arcsec]",
                                                   "dk-fig-align-hist", size=255)
        self.hist_cs = bqplot.ColorScale(scheme="viridis")
        self.hist_counts = np.zeros((2, 2))
        self.hist_mark = bqplot.HeatMap(x=np.arange(2.0), y=np.arange(2.0),
                                        color=np.zeros((2, 2)), visible=False,
                                        scales={"x": hx, "y": hy, "color": self.hist_cs})
        self.hist_peak = bqplot.Scatter(x=[], y=[], scales={"x": hx, "y": hy}, marker="cross",
                                        colors=["#ff1744"], default_size=80)
        self.hist_fig.marks = [self.hist_mark, self.hist_peak]
        # vector plot
        self.vec_fig, vx, vy = self._small_figure("Residual vectors", "x [pixel]", "y [pixel]",
                                                  "dk-fig-align-vectors", size=255)
        self.vec_used = bqplot.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)),
                                     scales={"x": vx, "y": vy}, colors=[COLORS["matched"]],
                                     stroke_width=1.5)
        self.vec_clip = bqplot.Lines(x=np.zeros((1, 2)), y=np.zeros((1, 2)),
                                     scales={"x": vx, "y": vy}, colors=[COLORS["clipped"]],
                                     stroke_width=1.5)
        self.vec_fig.marks = [self.vec_used, self.vec_clip]
        # dx, dy against x, y
        self.resid = {}
        for comp in ("dx", "dy"):
            for axis in ("x", "y"):
                fig, xs, ys = self._small_figure(f"{comp} vs {axis}", f"{axis} [pixel]",
                                                 f"{comp} [pixel]",
                                                 f"dk-fig-align-{comp}-{axis}", size=255)
                used = bqplot.Scatter(x=[], y=[], scales={"x": xs, "y": ys},
                                      colors=[COLORS["matched"]], default_size=12,
                                      stroke="#1b5e20", stroke_width=0.5)
                clip = bqplot.Scatter(x=[], y=[], scales={"x": xs, "y": ys},
                                      colors=[COLORS["clipped"]], default_size=16,
                                      marker="cross")
                zero = bqplot.Lines(x=[0.0, 1.0], y=[0.0, 0.0], scales={"x": xs, "y": ys},
                                    colors=["#757575"], line_style="dashed")
                fig.marks = [zero, used, clip]
                self.resid[(comp, axis)] = (fig, used, clip, zero, xs, ys)

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
        self.plots = flex_row([self.hist_fig, self.vec_fig, self.resid[("dx", "x")][0],
                               self.resid[("dx", "y")][0], self.resid[("dy", "x")][0],
                               self.resid[("dy", "y")][0]], gap="4px", css="dk-align-plots")
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
        self._draw_histogram(lf)
        self._draw_residuals(k, lf)
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

    def _draw_histogram(self, lf) -> None:
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
        with self.hist_mark.hold_sync():  # log scale: the peak is one bin among many
            self.hist_mark.x, self.hist_mark.y = xc, yc
            self.hist_mark.color = np.log10(1.0 + counts)
            self.hist_mark.visible = True
        self.hist_counts = counts
        ok = np.all(np.isfinite(h.peak))
        self.hist_peak.x = [float(h.peak[0])] if ok else []
        self.hist_peak.y = [float(h.peak[1])] if ok else []

    def _draw_residuals(self, k, lf) -> None:
        s = self.sources[k]
        if lf is None or lf.nmatch == 0:
            x = y = np.empty(0)
            r = np.empty((0, 2))
            m = np.empty(0, bool)
        else:
            x, y = s.x[lf.img_rows], s.y[lf.img_rows]
            r, m = lf.residuals_pixels, lf.fitmask
        # vectors, scaled so that the longest used arrow is ~8% of the chip
        ny, nx = s.shapes[0]
        rmax = float(np.max(np.hypot(*r[m].T))) if m.any() else 0.0
        self.vector_scale = (0.08 * max(nx, ny) / rmax) if rmax > 0 else 1.0
        for mark, sel in ((self.vec_used, m), (self.vec_clip, ~m)):
            with mark.hold_sync():
                if sel.any():
                    mark.x = np.column_stack([x[sel], x[sel] + self.vector_scale * r[sel, 0]])
                    mark.y = np.column_stack([y[sel], y[sel] + self.vector_scale * r[sel, 1]])
                    mark.visible = True
                else:  # no NaN paths (console errors) and no stale arrows: hide it
                    mark.visible = False
        self.vec_fig.title = ("Residuals: reference exposure (no fit)" if lf is None else
                              f"Residual vectors (×{self.vector_scale:.3g})")
        for (comp, axis), (fig, used, clip, zero, xs, ys) in self.resid.items():
            v = r[:, 0] if comp == "dx" else r[:, 1]
            a = x if axis == "x" else y
            for mark, sel in ((used, m), (clip, ~m)):
                if not (np.array_equal(mark.x, a[sel]) and np.array_equal(mark.y, v[sel])):
                    with mark.hold_sync():
                        mark.x, mark.y = a[sel], v[sel]
                if mark.visible != bool(sel.any()):
                    mark.visible = bool(sel.any())
            extent = nx if axis == "x" else ny
            zero.x = [0.0, float(extent - 1)]

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
