"""Jupyter panels for drizzlekit (``pip install drizzlekit[widgets]``).

* :class:`ParamsPanel` / :func:`params_panel` — controls generated from a
  task's parameter specification (:mod:`drizzlekit.params`).
* :class:`ImageViewer` — WebGL image display (PNG fallback) with astropy
  stretches, linked pan/zoom, cursor readout, blink and catalog overlays.
* :class:`AlignPanel` — live TweakReg-style matching and fitting with
  overlays, offset histogram and residual plots.
* :class:`DrizzlePanel` — kernel / pixfrac / scale / rotation with a live
  preview of SCI and WHT and a context readout.
* :class:`PipelinePanel` — run AstroDrizzle step by step and browse every
  intermediate product.
* :func:`show_in_imviz` — open a product in jdaviz's Imviz (jdaviz imported
  only when called).

The panels lay out responsively: the image first, the controls beside it when
the output area is wide enough and below it when not (no sideways scrolling).

The widgets only edit parameters, call the core and draw what it returns;
the compute lives in :mod:`drizzlekit`.
"""

try:  # the panels need the optional 'widgets' extra
    import bqplot  # noqa: F401
    import ipywidgets  # noqa: F401
except ImportError as _exc:
    raise ImportError(
        f"drizzlekit.widgets needs the optional packages of the 'widgets' extra "
        f"(missing: {_exc.name}); install them with: pip install 'drizzlekit[widgets]'"
    ) from _exc

from .align_panel import AlignPanel, ExposureSources, LiveFit, fit_exposure
from .drizzle_panel import DrizzlePanel, preview_frame
from .imviz import show_in_imviz
from .params_panel import ParamControl, ParamsPanel, params_panel
from .pipeline_panel import PipelinePanel, Product, list_products
from .stretch import COLORMAPS, INTERVALS, STRETCHES, normalize, to_png
from .viewer import Frame, ImageViewer, link_views, webgl_default

__all__ = [
    "AlignPanel",
    "ExposureSources",
    "LiveFit",
    "fit_exposure",
    "DrizzlePanel",
    "preview_frame",
    "show_in_imviz",
    "PipelinePanel",
    "Product",
    "list_products",
    "ParamsPanel",
    "ParamControl",
    "params_panel",
    "ImageViewer",
    "Frame",
    "link_views",
    "webgl_default",
    "normalize",
    "to_png",
    "INTERVALS",
    "STRETCHES",
    "COLORMAPS",
]
