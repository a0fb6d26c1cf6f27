"""Display normalisation of images: interval, stretch and colour map.

Everything here is plain numpy + :mod:`astropy.visualization`; it does not
import ipywidgets, so it can be used (and tested) without a front-end.

* :func:`normalize` maps an image to float32 values in 0..1 with an astropy
  *interval* (which data values become 0 and 1) and an astropy *stretch*
  (the transfer curve), without ``ImageNormalize`` (which needs matplotlib).
* :data:`COLORMAPS` holds a few perceptual colour maps as anchor colours;
  the same anchors drive the WebGL colour scale and the PNG fallback, so
  both render the same colours.
* :func:`to_png` renders a normalised image through a colour map to PNG
  bytes (for ``bqplot.Image``, the no-WebGL fallback).
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from astropy import visualization as vis

from drizzlekit.exceptions import InputError, ShapeError

__all__ = ["INTERVALS", "STRETCHES", "COLORMAPS", "normalize", "interval_limits",
           "colormap_lut", "to_png"]

#: Interval names -> factory taking the data (for data-dependent intervals).
INTERVALS: dict[str, Callable[[], object]] = {
    "zscale": lambda: vis.ZScaleInterval(),
    "minmax": lambda: vis.MinMaxInterval(),
    "99.5%": lambda: vis.PercentileInterval(99.5, n_samples=200_000),
    "99%": lambda: vis.PercentileInterval(99.0, n_samples=200_000),
    "95%": lambda: vis.PercentileInterval(95.0, n_samples=200_000),
    "90%": lambda: vis.PercentileInterval(90.0, n_samples=200_000),
}

#: Stretch names -> factory taking the data normalised to 0..1.
STRETCHES: dict[str, Callable[[np.ndarray], object]] = {
    "linear": lambda d: vis.LinearStretch(),
    "sqrt": lambda d: vis.SqrtStretch(),
    "log": lambda d: vis.LogStretch(),
    "asinh": lambda d: vis.AsinhStretch(),
    "sinh": lambda d: vis.SinhStretch(),
    "squared": lambda d: vis.SquaredStretch(),
    # the equalisation table is built from 1025 quantiles of a sample (fast on big images)
    "histeq": lambda d: vis.HistEqStretch(np.quantile(d, np.linspace(0.0, 1.0, 1025))
                                          if d is not None and d.size else np.linspace(0, 1, 2)),
}

# Ten evenly spaced anchor colours of each map (low -> high).
COLORMAPS: dict[str, tuple[str, ...]] = {
    "gray": ("#000000", "#ffffff"),
    "viridis": ("#440154", "#482878", "#3e4989", "#31688e", "#26828e",
                "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"),
    "inferno": ("#000004", "#1b0c41", "#4a0c6b", "#781c6d", "#a52c60",
                "#cf4446", "#ed6925", "#fb9b06", "#f7d13d", "#fcffa4"),
    "magma": ("#000004", "#180f3d", "#440f76", "#721f81", "#9e2f7f",
              "#cd4071", "#f1605d", "#fd9668", "#feca8d", "#fcfdbf"),
    "plasma": ("#0d0887", "#47039f", "#7301a8", "#9c179e", "#bd3786",
               "#d8576b", "#ed7953", "#fb9f3a", "#fdca26", "#f0f921"),
}

_SAMPLE = 250_000  # pixels used to estimate histeq / zscale on big images


def _check_image(data) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim != 2 or arr.size == 0:
        raise ShapeError(f"data: expected a non-empty 2-D image, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(f"data: expected a numeric image, got dtype {arr.dtype}")
    return arr


def _finite_sample(arr: np.ndarray) -> np.ndarray:
    flat = arr.ravel()
    if flat.size > _SAMPLE:
        step = flat.size // _SAMPLE + 1
        flat = flat[::step]
    flat = flat[np.isfinite(flat)]
    return flat.astype(np.float64, copy=False)


def interval_limits(data, interval: str = "zscale") -> tuple[float, float]:
    """Data values that map to 0 and 1 under a named interval.

    Parameters
    ----------
    data : array_like (ny, nx)
        Image (any units); NaN and inf are ignored.
    interval : str
        A key of :data:`INTERVALS`.

    Returns
    -------
    vmin, vmax : float
        Limits in data units (``vmax > vmin``; a flat image gives
        ``(v - 0.5, v + 0.5)``).
    """
    if interval not in INTERVALS:
        raise InputError(f"interval: unknown interval {interval!r}; use one of {list(INTERVALS)}")
    arr = _check_image(data)
    sample = _finite_sample(arr)
    if sample.size == 0:
        return 0.0, 1.0
    vmin, vmax = INTERVALS[interval]().get_limits(sample)
    vmin, vmax = float(vmin), float(vmax)
    if not vmax > vmin:
        vmin, vmax = vmin - 0.5, vmin + 0.5
    return vmin, vmax


def normalize(data, interval: str = "zscale", stretch: str = "linear", *,
              vmin: float | None = None, vmax: float | None = None
              ) -> tuple[np.ndarray, tuple[float, float]]:
    """Map an image to 0..1 for display.

    Parameters
    ----------
    data : array_like (ny, nx)
        Image in any units.
    interval : str
        A key of :data:`INTERVALS`; ignored for a limit given explicitly.
    stretch : str
        A key of :data:`STRETCHES`.
    vmin, vmax : float, optional
        Fixed limits (data units) overriding the interval.

    Returns
    -------
    image : ndarray of float32 (ny, nx)
        Values in 0..1; non-finite pixels become 0.
    limits : (float, float)
        The data values mapped to 0 and 1.
    """
    if stretch not in STRETCHES:
        raise InputError(f"stretch: unknown stretch {stretch!r}; use one of {list(STRETCHES)}")
    arr = _check_image(data)
    if vmin is None or vmax is None:
        lo, hi = interval_limits(arr, interval)
        vmin = lo if vmin is None else float(vmin)
        vmax = hi if vmax is None else float(vmax)
    if not vmax > vmin:
        raise InputError(f"vmin/vmax: vmax ({vmax}) must be greater than vmin ({vmin})")
    out = arr.astype(np.float32, copy=True)
    out -= np.float32(vmin)
    out *= np.float32(1.0 / (vmax - vmin))
    np.nan_to_num(out, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    np.clip(out, 0.0, 1.0, out=out)
    if stretch != "linear":
        sample = _finite_sample(out) if stretch == "histeq" else None
        out = np.asarray(STRETCHES[stretch](sample)(out, clip=True), dtype=np.float32)
    return out, (float(vmin), float(vmax))


def colormap_lut(name: str, n: int = 256) -> np.ndarray:
    """``(n, 3)`` uint8 RGB table of a colour map of :data:`COLORMAPS`."""
    if name not in COLORMAPS:
        raise InputError(f"colormap: unknown colour map {name!r}; use one of {list(COLORMAPS)}")
    anchors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in COLORMAPS[name]],
                       dtype=float)
    t = np.linspace(0.0, 1.0, n)
    ta = np.linspace(0.0, 1.0, len(anchors))
    lut = np.column_stack([np.interp(t, ta, anchors[:, k]) for k in range(3)])
    return np.round(lut).astype(np.uint8)


def to_png(image01: np.ndarray, colormap: str = "gray") -> bytes:
    """PNG bytes of a 0..1 image through a colour map.

    Row 0 of ``image01`` is the *bottom* of the displayed image (the
    astronomical convention), so the rows are flipped: PNG row 0 is the top.
    """
    from PIL import Image

    arr = np.asarray(image01, dtype=np.float32)
    if arr.ndim != 2:
        raise ShapeError(f"image01: expected a 2-D image, got shape {arr.shape}")
    idx = np.clip(np.nan_to_num(arr, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgb = colormap_lut(colormap)[np.flipud(idx)]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
