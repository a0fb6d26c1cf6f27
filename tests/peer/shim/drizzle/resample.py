"""``drizzle.resample`` served by :mod:`drizzlekit.resample`."""

from drizzlekit.resample import (  # noqa: F401
    CTX_PLANE_BITS,
    SUPPORTED_DRIZZLE_KERNELS,
    Drizzle,
    blot_image,
)

__all__ = ["Drizzle", "blot_image"]
