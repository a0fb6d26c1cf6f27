"""Sanity checks around cosmic-ray rejection (step 7) that warn instead of failing.

* :func:`warn_mixed_filters`: the median of exposures taken through different
  filters is not a model of any of them, so every star differs from the blot
  by its colour term and is flagged. Measured: a wildcard over the 47 Tuc
  visit (F606W, F555W and F330W frames of the same field) flagged 20-40 % of
  every frame as cosmic rays (19-35 % per frame), where the F606W pair alone
  flags 0.3-0.5 %.
* :func:`warn_cr_fraction`: cosmic rays hit a few percent of the pixels of
  even long HST exposures (and 0.3-0.5 % of the shipped 60 s HRC frames);
  more than :data:`MAX_CR_FRACTION` of a chip flagged usually means the model
  does not fit (misalignment, mixed filters, wrong units or exposure time).
  The count is that of the final mask, so a large ``driz_cr_grow`` (a 3x3
  box multiplies isolated flags by 9) or ``driz_cr_ctegrow`` can trigger it.
* :func:`resolve_snr`: the thresholds that go with a noise model.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from .driz_cr import CORRECTED_SNR, DRIZZLEPAC_SNR

__all__ = ["CosmicRayWarning", "MAX_CR_FRACTION", "exposure_filter", "warn_mixed_filters",
           "warn_cr_fraction", "resolve_snr"]

log = logging.getLogger(__name__)

#: Fraction of a chip's pixels flagged as cosmic rays above which
#: :func:`warn_cr_fraction` warns (5 %).
MAX_CR_FRACTION = 0.05

#: Filter keywords read from the primary header, in order (ACS: FILTER1/2;
#: WFC3, STIS (OPT_ELEM is the grating), NICMOS: FILTER; WFPC2: FILTNAM1/2).
_FILTER_KEYS = ("FILTER", "FILTER1", "FILTER2", "FILTNAM1", "FILTNAM2")


class CosmicRayWarning(UserWarning):
    """Cosmic-ray rejection ran, but its result is probably not trustworthy."""


def exposure_filter(header) -> str:
    """The filter of an exposure as one string, e.g. ``'F606W'`` or ``'F555W;POL0V'``.

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
        Primary header of the exposure.

    Returns
    -------
    str
        The filter names of ``FILTER``, ``FILTER1``, ``FILTER2``, ``FILTNAM1``,
        ``FILTNAM2`` that are present and not clear/blank (``CLEAR*``, ``N/A``),
        upper case, joined by ``;``; ``''`` if there are none.
    """
    names = []
    for key in _FILTER_KEYS:
        value = str(header.get(key, "") or "").strip().upper()
        if not value or value.startswith("CLEAR") or value in ("N/A", "NONE", "BLANK"):
            continue
        if value not in names:
            names.append(value)
    return ";".join(names)


def warn_mixed_filters(headers: Sequence, names: Sequence[str]) -> dict[str, list[str]]:
    """Warn when the exposures of one cosmic-ray rejection run use different filters.

    Parameters
    ----------
    headers : sequence of astropy.io.fits.Header
        Primary headers of the exposures.
    names : sequence of str
        Their names (file names), for the message.

    Returns
    -------
    dict
        Filter -> exposure names (empty filters are left out).
    """
    groups: dict[str, list[str]] = {}
    for header, name in zip(headers, names):
        f = exposure_filter(header)
        if f:
            groups.setdefault(f, []).append(str(name))
    if len(groups) > 1:
        listing = "; ".join(f"{f}: {', '.join(n)}" for f, n in groups.items())
        msg = (f"driz_cr: the exposures were taken through {len(groups)} different filters "
               f"({', '.join(groups)}): the median is a model of none of them and stars "
               f"will be flagged as cosmic rays. Run astrodrizzle once per filter. "
               f"[{listing}]")
        log.warning(msg)
        warnings.warn(msg, CosmicRayWarning, stacklevel=3)
    return groups


def warn_cr_fraction(name: str, mask: np.ndarray, limit: float | None = None,
                     good: np.ndarray | None = None) -> float:
    """Warn when more than ``limit`` of a chip is flagged as cosmic rays.

    Parameters
    ----------
    name : str
        The chip, e.g. ``'file.fits[SCI,1]'``.
    mask : 2-D bool array
        ``True`` = cosmic ray.
    limit : float, optional
        Fraction above which to warn (default: :data:`MAX_CR_FRACTION` at call time).
    good : 2-D bool array, optional
        The pixels to count (DQ-good ones): bad pixels, e.g. WFPC2's pyramid
        shadow, have no median to compare with and are flagged by the
        reference too, so they must not make the fraction look alarming.

    Returns
    -------
    float
        The flagged fraction.
    """
    limit = MAX_CR_FRACTION if limit is None else float(limit)
    if good is not None:
        good = np.asarray(good, dtype=bool)
        frac = float(np.count_nonzero(mask & good)) / max(int(np.count_nonzero(good)), 1)
    else:
        frac = float(np.count_nonzero(mask)) / max(int(np.size(mask)), 1)
    if frac > limit:
        msg = (f"driz_cr: {frac:.1%} of {name} is flagged as cosmic rays (more than "
               f"{limit:.0%}); the median does not model this chip: check the alignment, "
               f"that all exposures share one filter, and the units and EXPTIME")
        log.warning(msg)
        warnings.warn(msg, CosmicRayWarning, stacklevel=3)
    return frac


def resolve_snr(noise_model: str, snr: Iterable[float]) -> tuple[float, float]:
    """The (snr1, snr2) thresholds to use with ``noise_model``.

    ``'corrected'`` with drizzlepac's default thresholds gets its own
    :data:`~drizzlekit.steps.driz_cr.CORRECTED_SNR`; anything else is used as given.
    """
    t = tuple(float(x) for x in np.atleast_1d(np.asarray(list(snr), dtype=float)))
    t = t * 2 if len(t) == 1 else t
    if noise_model == "corrected" and np.allclose(t, DRIZZLEPAC_SNR):
        return CORRECTED_SNR
    return t  # type: ignore[return-value]
