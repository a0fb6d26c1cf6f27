"""drizzle 3.0's ``drizzle.utils`` names, for code that imports them from there.

``from drizzle.utils import calc_pixmap`` becomes
``from drizzlekit.utils import calc_pixmap`` (or ``from drizzlekit import ...``).
"""

from .pixmap import calc_pixmap, decode_context, estimate_pixel_scale_ratio

__all__ = ["calc_pixmap", "decode_context", "estimate_pixel_scale_ratio"]
