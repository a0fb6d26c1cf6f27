"""How the ``memory_limit`` parameter (GiB) is shared out in a run.

``memory_limit`` is the memory an AstroDrizzle run may use. It is split in
two halves:

* the **output frames** (final SCI and WHT, the CTX planes and, with cosmic-ray
  rejection, the median image) must fit in one half: a run whose frames do
  not is refused before the first step
  (:func:`drizzlekit.io.output_checks.check_output_size`);
* the other half is for **working buffers**: the median's row bands get a
  quarter of ``memory_limit`` (:func:`median_buffer_bytes`, used by
  :func:`drizzlekit.tiles.median_bands`) and the pixel-map cache kept between
  the drizzle and blot steps another quarter, at most 512 MiB
  (:func:`pixmap_cache_bytes`).

With ``memory_limit=None`` (the default, shown as ``auto``) the frames are
compared with the memory available now
(:func:`drizzlekit.io.output_checks.available_memory`) and the buffers keep
their fixed defaults (256 MiB for the median bands,
:data:`drizzlekit.tiles.MAX_MEMORY`; 512 MiB for the pixel-map cache,
:data:`drizzlekit.pipeline.PIXMAP_CACHE_BYTES`).

Not inside the limit: with ``in_memory=True`` the exposures as read (about
10 bytes per input pixel), the blotted images and CR masks (5 bytes per chip
pixel) and the single drizzles (8 bytes per output pixel an exposure covers).
With ``in_memory=False`` (drizzlepac's default) the steps read each chip from
its file when they need it, keeping the chips read last up to 256 MiB
(:data:`drizzlekit.io.lazy.CLIENT_PIXEL_BYTES`), and the single drizzles,
pixel maps, blots and CR masks are scratch files whose pages leave resident
memory after each chip or band (:mod:`drizzlekit.scratch`); the pixel-map
cache is then on disk and not limited.
"""

from __future__ import annotations

__all__ = ["GIB", "FRAME_SHARE", "MEDIAN_SHARE", "PIXMAP_SHARE", "limit_bytes",
           "frame_budget", "median_buffer_bytes", "pixmap_cache_bytes"]

#: Bytes per GiB, the unit of ``memory_limit``.
GIB = 2 ** 30
#: Share of ``memory_limit`` the output frames may take.
FRAME_SHARE = 0.5
#: Share of ``memory_limit`` for the median's row-band buffers.
MEDIAN_SHARE = 0.25
#: Share of ``memory_limit`` for the pixel-map cache (at most its default).
PIXMAP_SHARE = 0.25


def limit_bytes(memory_limit: float | None) -> int | None:
    """``memory_limit`` (GiB) in bytes; None when unset (None or 0)."""
    if not memory_limit:
        return None
    return int(float(memory_limit) * GIB)


def frame_budget(memory_limit: float | None) -> int | None:
    """Bytes the output frames may take (half of ``memory_limit``); None when unset."""
    total = limit_bytes(memory_limit)
    return None if total is None else int(total * FRAME_SHARE)


def median_buffer_bytes(memory_limit: float | None) -> int:
    """Bound on the median's row-band buffers, bytes.

    A quarter of ``memory_limit``; 256 MiB when it is None. A band holds at
    least 16 rows, so a stack of very many wide images can exceed a tiny
    limit (see :func:`drizzlekit.tiles.band_rows`).
    """
    from .tiles import MAX_MEMORY

    total = limit_bytes(memory_limit)
    if total is None:
        return MAX_MEMORY
    return max(1, int(total * MEDIAN_SHARE))


def pixmap_cache_bytes(memory_limit: float | None) -> int:
    """Largest size of the pixel-map cache, bytes.

    A quarter of ``memory_limit``, at most 512 MiB (the default when it is
    None); a pixel map that does not fit is recomputed when a later step
    needs it (same numbers, more time). With ``in_memory=False`` the cache is
    in scratch files and this bound does not apply.
    """
    from .pipeline import PIXMAP_CACHE_BYTES

    total = limit_bytes(memory_limit)
    if total is None:
        return PIXMAP_CACHE_BYTES
    return min(PIXMAP_CACHE_BYTES, int(total * PIXMAP_SHARE))
