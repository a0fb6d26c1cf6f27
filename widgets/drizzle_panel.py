"""The drizzle panel: kernel, pixfrac, scale and rotation with a live preview.

The preview drizzles the inputs onto a square region of the output frame
(``preview_size`` output pixels around a chosen centre) with the same
function the pipeline's final drizzle uses
(:func:`drizzlekit.steps.drizzle_steps.drizzle_chips`), so a change of any
control redraws SCI and WHT within a fraction of a second even for 1k x 1k
inputs. The region is an exact sub-array of the full output frame at that
scale and rotation (same tangent point, shifted reference pixel).

Cosmic-ray masks, when given, can be drawn as outlines around the flagged
pixels (off by default: with thousands of flagged pixels, markers would hide
the image) and used to mask the inputs. Clicking an
output pixel decodes the context image
(:func:`drizzlekit.pixmap.decode_context`) and lists the inputs that
contributed to it.
"""

from __future__ import annotations

import html
import logging
import time
from typing import Any, Sequence

import ipywidgets as W
import numpy as np
from astropy.wcs import WCS

from drizzlekit.exceptions import InputError, ShapeError
from drizzlekit.kernels import available_kernels
from drizzlekit.outwcs import make_output_wcs, merge_wcs, wcs_orientat, wcs_pscale
from drizzlekit.params import get_spec
from drizzlekit.pixmap import decode_context
from drizzlekit.steps.drizzle_steps import DrizzleInput, DrizzleProduct, drizzle_chips

from .layout import PanelBox, compiling_note, flex_column, flex_row, gl_default, item
from .params_panel import ParamsPanel
from .viewer import ImageViewer

__all__ = ["DrizzlePanel", "DRIZZLE_PARAMS", "preview_frame"]

log = logging.getLogger(__name__)

#: AstroDrizzle parameters the panel exposes.
DRIZZLE_PARAMS = ("final_kernel", "final_pixfrac", "final_scale", "final_rot")


def preview_frame(base: WCS, center: tuple[float, float], size: int, *,
                  scale: float | None = None, rot: float | None = None) -> tuple[WCS, WCS,
                                                                                 tuple[int, int]]:
    """The output frame at a scale/rotation and a square region of it.

    Parameters
    ----------
    base : astropy.wcs.WCS
        Undistorted output frame (``pixel_shape`` set).
    center : (float, float)
        RA, Dec of the region centre, degrees.
    size : int
        Region width and height, output pixels.
    scale : float, optional
        Output pixel scale, arcsec/pixel (None: that of ``base``).
    rot : float, optional
        Orientation of the output +y axis, degrees East of North (None: that
        of ``base``).

    Returns
    -------
    full : WCS
        The whole output frame (:func:`drizzlekit.outwcs.merge_wcs`).
    region : WCS
        The region: ``full`` with CRPIX shifted by the region origin.
    origin : (int, int)
        0-based ``(x0, y0)`` of the region in ``full``.
    """
    size = int(size)
    if size < 2:
        raise InputError(f"preview size must be at least 2 pixels, got {size}")
    full = merge_wcs(base, rot=rot, scale=scale)
    cx, cy = full.wcs_world2pix(np.array([[center[0], center[1]]]), 0)[0]
    x0 = int(round(cx - (size - 1) / 2.0))
    y0 = int(round(cy - (size - 1) / 2.0))
    region = full.deepcopy()
    region.wcs.crpix = full.wcs.crpix - np.array([x0, y0], float)
    region.pixel_shape = (size, size)
    region.wcs.set()
    return full, region, (x0, y0)


def _as_input(item, k: int, name: str) -> DrizzleInput:
    if isinstance(item, DrizzleInput):
        return item
    if isinstance(item, (tuple, list)) and len(item) in (2, 3):
        data, w = item[0], item[1]
        exptime = float(item[2]) if len(item) == 3 else 1.0
        if not isinstance(w, WCS):
            raise InputError(f"inputs[{k}]: the second item must be an astropy WCS")
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ShapeError(f"inputs[{k}]: data must be 2-D, got shape {arr.shape}")
        return DrizzleInput(data=arr, wcs=w, exptime=exptime, in_units="cps", name=name)
    raise InputError(f"inputs[{k}]: expected a DrizzleInput or a (data, wcs[, exptime]) tuple")


class DrizzlePanel:
    """Live drizzle preview with kernel / pixfrac / scale / rotation controls.

    Parameters
    ----------
    inputs : list
        :class:`~drizzlekit.steps.drizzle_steps.DrizzleInput` objects or
        ``(data, wcs[, exptime])`` tuples (data taken as a rate, e-/s).
    names : list of str, optional
    output_wcs : astropy.wcs.WCS, optional
        The output frame (``pixel_shape`` set); default
        :func:`drizzlekit.outwcs.make_output_wcs` of the inputs.
    cr_masks : list of ndarray of bool, optional
        Per input, ``True`` where a cosmic ray was flagged.
    preview_size : int
        Region size, output pixels.
    center : (float, float), optional
        RA, Dec of the region centre (default: the frame's reference point).
    params : dict, optional
        Starting ``final_kernel``, ``final_pixfrac``, ``final_scale``,
        ``final_rot``.
    preview_scale : float, 'native' or None
        Output pixel scale (arcsec/pixel) the preview starts at when
        ``params`` gives no ``final_scale``. Default (None): half the output
        frame's scale, so that ``pixfrac`` and kernel changes are visible (at
        the native scale with ``pixfrac=1`` they hardly are). ``'native'``:
        the frame's scale (``final_scale`` left to auto).
    size : int
        Viewer size, CSS pixels.
    use_gl : bool, optional

    Attributes
    ----------
    params : ParamsPanel
    sci_view, wht_view : ImageViewer
        Linked (shared pan/zoom) viewers of the preview.
    product : DrizzleProduct
        The last preview (``sci``, ``wht``, ``ctx``).
    region_wcs : WCS
    contributors : list of str
        Inputs contributing to the last clicked pixel.
    widget : ipywidgets.VBox
    """

    def __init__(self, inputs: Sequence, *, names: Sequence[str] | None = None,
                 output_wcs: WCS | None = None, cr_masks: Sequence | None = None,
                 preview_size: int = 256, center: tuple[float, float] | None = None,
                 params: dict | None = None, preview_scale: float | str | None = None,
                 size: int = 380, use_gl: bool | None = None):
        inputs = list(inputs)
        if not inputs:
            raise InputError("inputs: nothing to drizzle")
        if names is not None and len(names) != len(inputs):
            raise InputError(f"names: {len(names)} names for {len(inputs)} inputs")
        self.names = [str(n) for n in names] if names is not None else \
            [f"input {k}" for k in range(len(inputs))]
        self.inputs = [_as_input(it, k, self.names[k]) for k, it in enumerate(inputs)]
        if cr_masks is not None:
            if len(cr_masks) != len(self.inputs):
                raise InputError(f"cr_masks: {len(cr_masks)} masks for {len(inputs)} inputs")
            for k, (m, c) in enumerate(zip(cr_masks, self.inputs)):
                if m is not None and np.shape(m) != c.shape:
                    raise ShapeError(f"cr_masks[{k}]: shape {np.shape(m)} differs from the "
                                     f"input's {c.shape}")
        self.cr_masks = list(cr_masks) if cr_masks is not None else [None] * len(self.inputs)
        self._base_masks = [c.mask for c in self.inputs]
        if output_wcs is None:
            output_wcs, _ = make_output_wcs([c.wcs for c in self.inputs],
                                            [c.shape for c in self.inputs])
        if output_wcs.pixel_shape is None:
            raise InputError("output_wcs: needs pixel_shape")
        self.base_wcs = output_wcs
        self.center = tuple(center) if center is not None else \
            tuple(float(v) for v in output_wcs.wcs.crval)
        # no bigger than the output frame (a region beyond it would be mostly empty)
        self.preview_size = max(2, min(int(preview_size), max(output_wcs.pixel_shape)))
        self.product: DrizzleProduct | None = None
        self.contributors: list[str] = []
        self.last_timing: dict[str, float] = {}
        s0 = wcs_pscale(output_wcs)
        spec = get_spec("astrodrizzle")
        hints = {
            "final_kernel": {"choices": available_kernels()},
            "final_pixfrac": {"widget": "slider", "min": 0.0, "max": 1.0, "step": 0.01},
            "final_scale": {"widget": "slider", "min": round(0.25 * s0, 6),
                            "max": round(2.0 * s0, 6), "step": round(s0 / 40.0, 7),
                            "readout_format": ".4f", "placeholder": round(s0, 6)},
            "final_rot": {"widget": "slider", "min": -180.0, "max": 180.0, "step": 1.0,
                          "readout_format": ".0f",
                          "placeholder": float(round(wcs_orientat(output_wcs)))},
        }
        start = dict(params or {})
        if start.get("final_scale") is None and preview_scale != "native":
            start["final_scale"] = (round(0.5 * s0, 6) if preview_scale is None
                                    else float(preview_scale))
        self.params = ParamsPanel(spec, start, names=DRIZZLE_PARAMS, hints=hints,
                                  layout="flat", title="Final drizzle",
                                  label_width="90px", control_width="330px")
        self.params.widget.add_class("dk-drizzle-params")
        self.params.on_change(self._params_changed)
        self._size = int(size)
        self._build(size, gl_default(use_gl))
        with compiling_note([self.settings()["final_kernel"]], self.status, transient=True):
            self.refresh()

    # -- layout ------------------------------------------------------------
    def _build(self, size, use_gl) -> None:
        self.sci_view = ImageViewer(name="drizzle-sci", title="SCI (preview)", size=size,
                                    use_gl=use_gl)
        self.wht_view = ImageViewer(name="drizzle-wht", title="WHT", size=size, use_gl=use_gl,
                                    share=self.sci_view, interval="minmax")
        for v in (self.sci_view, self.wht_view):
            v.on_click(self.inspect)
        sizes = sorted({64, 128, 256, 512, self.preview_size})
        self.size_select = W.Dropdown(options=sizes, value=self.preview_size,
                                      description="region", layout=W.Layout(width="170px"),
                                      style={"description_width": "50px"},
                                      tooltip="Preview region size, output pixels")
        self.size_select.add_class("dk-region-size")
        self.size_select.observe(self._size_changed, "value")
        self.recentre_button = W.Button(description="Recentre on view", icon="crosshairs",
                                        tooltip="Move the preview region to the centre of the "
                                                "current view")
        self.recentre_button.on_click(lambda _b: self.recentre_on_view())
        self.mask_crs = W.Checkbox(value=False, description="mask cosmic rays", indent=False,
                                   disabled=all(m is None for m in self.cr_masks))
        self.mask_crs.add_class("dk-mask-crs")
        self.mask_crs.observe(lambda _ch: self.refresh(), "value")
        self.show_crs = W.Checkbox(value=False, description="outline cosmic rays", indent=False,
                                   disabled=all(m is None for m in self.cr_masks))
        self.show_crs.add_class("dk-show-crs")
        self.show_crs.observe(lambda _ch: self._redraw_crs(), "value")
        self.status = W.HTML(value="")
        self.status.add_class("dk-status")
        self.context_info = W.HTML(value="Click an output pixel to list the inputs that "
                                         "contributed to it.")
        self.context_info.add_class("dk-context")
        tools = W.HBox([self.size_select, self.recentre_button, self.mask_crs, self.show_crs],
                       layout=W.Layout(flex_flow="row wrap", max_width="100%"))
        # SCI first, the controls beside it (below it when the output is narrow), WHT next
        side = flex_column([self.params.widget, tools, self.status, self.context_info],
                           basis="330px", min_width="280px", css="dk-drizzle-side")
        self.widget = PanelBox([flex_row([item(self.sci_view.widget, f"{self._size}px"), side,
                                          item(self.wht_view.widget, f"{self._size}px")],
                                         css="dk-drizzle-row")],
                               label="DrizzlePanel",
                               layout=W.Layout(width="100%", max_width="100%"))
        self.widget.add_class("dk-drizzle-panel")

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        from IPython.display import display

        display(self.widget)

    def _params_changed(self, values, changed) -> None:
        with compiling_note([values["final_kernel"]], self.status):
            self.refresh()

    # -- compute -----------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """Current ``final_kernel``, ``final_pixfrac``, ``final_scale``, ``final_rot``."""
        return {k: self.params.values[k] for k in DRIZZLE_PARAMS}

    def _chips(self) -> list[DrizzleInput]:
        if not self.mask_crs.value:
            return [c if c.mask is m else _with_mask(c, m)
                    for c, m in zip(self.inputs, self._base_masks)]
        out = []
        for c, m0, cr in zip(self.inputs, self._base_masks, self.cr_masks):
            good = None if m0 is None else np.asarray(m0, bool)
            if cr is not None:
                good = ~np.asarray(cr, bool) if good is None else good & ~np.asarray(cr, bool)
            out.append(_with_mask(c, good))
        return out

    def compute(self) -> DrizzleProduct:
        """Drizzle the preview region with the current settings (no drawing)."""
        p = self.settings()
        self.full_wcs, self.region_wcs, self.origin = preview_frame(
            self.base_wcs, self.center, self.preview_size, scale=p["final_scale"],
            rot=p["final_rot"])
        return drizzle_chips(self._chips(), self.region_wcs, kernel=p["final_kernel"],
                             pixfrac=p["final_pixfrac"], fillval=None, initial=0.0,
                             context=True)

    def refresh(self) -> None:
        """Recompute the preview and redraw both views, the overlays and the status."""
        t0 = time.perf_counter()
        self.product = self.compute()
        t1 = time.perf_counter()
        sci, wht = self.product.sci, self.product.wht
        self.sci_view.set_data(sci, self.region_wcs)
        self.wht_view.set_data(wht, self.region_wcs)
        self._draw_crs()
        t2 = time.perf_counter()
        self.last_timing = {"drizzle_ms": 1e3 * (t1 - t0), "draw_ms": 1e3 * (t2 - t1)}
        self.refresh_status()

    def refresh_status(self) -> None:
        """Rewrite the status line (settings, region, statistics, timing)."""
        p = self.settings()
        sci, wht = self.product.sci, self.product.wht
        good = wht > 0
        covered = float(np.mean(good))
        nx, ny = self.full_wcs.pixel_shape
        self.status.value = (
            f"<span class='dk-drz'>kernel={p['final_kernel']} pixfrac={p['final_pixfrac']:g} "
            f"scale={_fmt(p['final_scale'])} rot={_fmt(p['final_rot'])}</span> "
            f"<span class='dk-region'>region {self.preview_size}x{self.preview_size} at "
            f"({self.origin[0]}, {self.origin[1]}) of {nx}x{ny}</span> "
            f"<span class='dk-stats'>coverage={covered:.3f} "
            f"sci_mean={float(sci[good].mean()) if good.any() else 0.0:.4g} "
            f"wht_mean={float(wht[good].mean()) if good.any() else 0.0:.4g} "
            f"crs={self.cr_count}</span> "
            f"<span class='dk-timing' style='color:#888'>(drizzle "
            f"{self.last_timing['drizzle_ms']:.0f} ms, draw {self.last_timing['draw_ms']:.0f} "
            f"ms)</span>")

    def cr_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Preview-region pixel positions of all flagged cosmic-ray pixels."""
        xs, ys = [], []
        for c, cr in zip(self.inputs, self.cr_masks):
            if cr is None or not np.any(cr):
                continue
            j, i = np.nonzero(np.asarray(cr, bool))
            ra, dec = c.wcs.all_pix2world(i.astype(float), j.astype(float), 0)
            x, y = self.region_wcs.all_world2pix(ra, dec, 0)
            n = self.preview_size
            ok = (x > -0.5) & (y > -0.5) & (x < n - 0.5) & (y < n - 0.5)
            xs.append(x[ok])
            ys.append(y[ok])
        if not xs:
            return np.empty(0), np.empty(0)
        return np.concatenate(xs), np.concatenate(ys)

    def _redraw_crs(self) -> None:
        self._draw_crs()
        self.refresh_status()

    def cr_map(self) -> np.ndarray:
        """Preview-region pixels covered by a flagged cosmic-ray pixel (bool, (n, n)).

        Each flagged input pixel marks the output pixels within half an input
        pixel of its mapped centre.
        """
        n = self.preview_size
        out = np.zeros((n, n), bool)
        x, y = self.cr_positions()
        if x.size == 0:
            return out
        s_in = float(np.median([wcs_pscale(c.wcs) for c in self.inputs]))
        ratio = s_in / wcs_pscale(self.region_wcs)
        half = max(0, int(np.floor(ratio / 2.0)))
        i0, j0 = np.rint(x).astype(int), np.rint(y).astype(int)
        for dj in range(-half, half + 1):
            for di in range(-half, half + 1):
                i, j = i0 + di, j0 + dj
                ok = (i >= 0) & (j >= 0) & (i < n) & (j < n)
                out[j[ok], i[ok]] = True
        return out

    def _draw_crs(self) -> None:
        """Outline the flagged regions (closed contours, not a marker per pixel) when
        *outline cosmic rays* is ticked (the viewers' ``'cosmic rays'`` set)."""
        if not self.show_crs.value:
            self.cr_count = 0
            for v in (self.sci_view, self.wht_view):
                if "cosmic rays" in v.markers:
                    v.set_marker_visible("cosmic rays", False)
            return
        m = self.cr_map()
        self.cr_count = int(np.count_nonzero(m))
        for v in (self.sci_view, self.wht_view):
            v.add_mask_outline("cosmic rays", m, visible=True)

    # -- interaction -------------------------------------------------------
    def inspect(self, x: float, y: float) -> list[str]:
        """Names of the inputs that contributed to preview pixel ``(x, y)`` (context image)."""
        i, j = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        n = self.preview_size
        if self.product is None or self.product.ctx is None or not (0 <= i < n and 0 <= j < n):
            self.contributors = []
            self.context_info.value = f"({x:.1f}, {y:.1f}) is outside the preview region."
            return []
        idx = decode_context(self.product.ctx, [i], [j])[0]
        self.contributors = [self.names[k] for k in idx]
        who = ", ".join(html.escape(s) for s in self.contributors) or "none"
        self.context_info.value = (
            f"<span class='dk-context-text'>pixel ({i}, {j}) of the region "
            f"[({i + self.origin[0]}, {j + self.origin[1]}) of the frame]: "
            f"{len(self.contributors)} input(s): {who}; "
            f"SCI={float(self.product.sci[j, i]):.5g} "
            f"WHT={float(self.product.wht[j, i]):.5g}</span>")
        return self.contributors

    def set_center(self, ra: float, dec: float) -> None:
        """Move the preview region to RA, Dec (degrees)."""
        self.center = (float(ra), float(dec))
        self.refresh()

    def recentre_on_view(self) -> None:
        """Centre the preview region on the middle of the current view."""
        x0, x1, y0, y1 = self.sci_view.view
        ra, dec = self.region_wcs.all_pix2world([(x0 + x1) / 2], [(y0 + y1) / 2], 0)
        self.sci_view._fitted = False
        self.set_center(float(ra[0]), float(dec[0]))

    def _size_changed(self, change) -> None:
        self.preview_size = int(change["new"])
        self.sci_view._fitted = False
        self.refresh()

    # -- construction from a pipeline run ---------------------------------
    @classmethod
    def from_result(cls, res, **kwargs) -> "DrizzlePanel":
        """A panel on the chips of an :class:`~drizzlekit.pipeline.AstrodrizzleResult`.

        The inputs carry the sky and units of the run, the output frame is the
        run's, and its cosmic-ray masks are overlaid.
        """
        inputs, names, crs = [], [], []
        for key, _e, chip in res.chips():
            sky = res.sky.get(key)
            inputs.append(DrizzleInput(data=chip.sci, wcs=chip.wcs, exptime=chip.exptime,
                                       in_units=chip.in_units, eff_gain=chip.eff_gain,
                                       sky=sky, pscale=chip.idcscale,
                                       name=f"{key[0]}[SCI,{key[1]}]"))
            names.append(f"{key[0]}[{key[1]}]")
            crs.append(res.cr_masks.get(key))
        kwargs.setdefault("output_wcs", res.output_wcs)
        kwargs.setdefault("params", {k: res.params[k] for k in DRIZZLE_PARAMS})
        return cls(inputs, names=names, cr_masks=crs, **kwargs)


def _with_mask(c: DrizzleInput, mask) -> DrizzleInput:
    import dataclasses

    return dataclasses.replace(c, mask=mask)


def _fmt(v) -> str:
    return "native" if v is None else f"{v:g}"
