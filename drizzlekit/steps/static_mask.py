"""Step 2: the static mask (spec §4).

Pixels far *below* the sky in every exposure of a chip (over-subtracted hot
pixels, dark residuals) are flagged. For each exposure of one chip
"signature" (same chip, same shape) the raw SCI array is summarised by
:func:`drizzlekit.stats.image_stats` (``nclip=3, lsig=usig=3,
binwidth=0.1``, mode requested); a pixel is bad in that exposure if it lies
more than ``static_sig`` standard deviations below the mode. The mask is the
AND over exposures of the "not bad" tests. DQ arrays are not used (the
reference code does not either, spec Q13).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from ..exceptions import InputError, ShapeError
from ..stats import image_stats

__all__ = ["static_mask"]

log = logging.getLogger(__name__)


def _check_arrays(sci_arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(sci_arrays, np.ndarray) and sci_arrays.ndim == 2:
        sci_arrays = [sci_arrays]
    arrays = [np.asarray(a) for a in sci_arrays]
    if not arrays:
        raise InputError("sci_arrays: at least one image is needed")
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.ndim != 2:
            raise ShapeError(f"sci_arrays[{i}] must be 2-D, got shape {a.shape}")
        if a.shape != shape:
            raise ShapeError(f"sci_arrays[{i}] has shape {a.shape}, expected {shape} "
                             "(one static mask per chip signature)")
    return arrays


def static_mask(sci_arrays: Sequence[np.ndarray], static_sig: float = 4.0, *,
                compat: bool = False) -> np.ndarray:
    """Build the static mask of one chip signature.

    Parameters
    ----------
    sci_arrays : sequence of 2-D arrays
        The SCI data of that chip in every exposure (native units, sky not
        removed), all of the same shape.
    static_sig : float
        Clip level below the mode, in standard deviations.
    compat : bool
        Use the reference's mode placement (spec Q10), see
        :func:`drizzlekit.stats.image_stats`.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = good pixel. NaN pixels are never flagged (they fail no
        comparison); exposures without any finite value, or whose histogram
        has a single bin, leave the mask unchanged (as in the reference).

    Raises
    ------
    InputError, ShapeError
        Empty input, non-2-D or mismatched arrays, ``static_sig <= 0``.
    """
    if not static_sig > 0:
        raise InputError(f"static_sig must be > 0, got {static_sig!r}")
    arrays = _check_arrays(sci_arrays)
    good = np.ones(arrays[0].shape, dtype=bool)
    for i, data in enumerate(arrays):
        add_to_static_mask(good, data, static_sig, compat=compat, index=i)
    return good


def add_to_static_mask(good: np.ndarray, data: np.ndarray, static_sig: float = 4.0, *,
                       compat: bool = False, index: int = 0) -> np.ndarray:
    """Clear in ``good`` the pixels of one exposure's chip more than ``static_sig``
    standard deviations below its mode (one term of :func:`static_mask`).

    ``good`` (bool, ``True`` = good) is changed in place and returned; the
    pipeline builds a mask one chip at a time with it, so only one exposure's
    pixels are in memory. ``index`` numbers the exposure in the warnings.
    """
    if data.shape != good.shape:
        raise ShapeError(f"sci_arrays[{index}] has shape {data.shape}, expected {good.shape} "
                         "(one static mask per chip signature)")
    if not np.isfinite(data).any():
        log.warning("static mask: sci_arrays[%d] has no finite values; skipped", index)
        return good
    st = image_stats(data, nclip=3, lsig=3.0, usig=3.0, binwidth=0.1,
                     fields="mode", compat=compat)
    if st.nbins < 2:
        log.warning("static mask: sci_arrays[%d] histogram has one bin; skipped", index)
        return good
    with np.errstate(invalid="ignore"):
        good &= ~(data < st.mode - static_sig * st.stddev)
    return good
