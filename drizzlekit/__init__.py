"""drizzlekit: align (TweakReg) and combine (AstroDrizzle) dithered telescope images.

The compute core imports only numpy, astropy, numba, scipy and photutils; the
Jupyter panels live in :mod:`drizzlekit.widgets`.
"""

import logging

from .exceptions import *  # noqa: F401,F403
from .kernels import available_kernels, get_kernel, register_kernel  # noqa: F401
from .resample import Drizzle  # noqa: F401

__version__ = "0.2.0.dev0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name):
    # lazily expose modules written alongside the core, so importing the
    # package stays fast and a partial checkout still imports
    lazy = {
        "blot_image": ("drizzlekit.blot", "blot_image"),
        "calc_pixmap": ("drizzlekit.pixmap", "calc_pixmap"),
        "estimate_pixel_scale_ratio": ("drizzlekit.pixmap", "estimate_pixel_scale_ratio"),
        "decode_context": ("drizzlekit.pixmap", "decode_context"),
        "utils": ("drizzlekit.utils", None),
        "params": ("drizzlekit.params", None),
        "datasets": ("drizzlekit.datasets", None),
        "align": ("drizzlekit.align", None),
        "astrodrizzle": ("drizzlekit.pipeline", "astrodrizzle"),
        "tweakreg": ("drizzlekit.align.tweakreg", "tweakreg"),
        "restore_wcs": ("drizzlekit.io.inplace", "restore_wcs"),
        "make_output_wcs": ("drizzlekit.outwcs", "make_output_wcs"),
        "reproject_drizzle": ("drizzlekit.reprojection", "reproject_drizzle"),
    }
    if name in lazy:
        import importlib

        mod, attr = lazy[name]
        m = importlib.import_module(mod)
        return m if attr is None else getattr(m, attr)
    raise AttributeError(f"module 'drizzlekit' has no attribute {name!r}")
