"""Image alignment (the TweakReg engine) at the array / WCS level.

* :func:`align_wcs` — align catalogs + WCSs (astropy ``WCS`` or ``gwcs``) of
  one- or multi-chip images to a reference catalog or image; returns
  :class:`AlignResult` per image, with the corrected WCS objects.
* :func:`align_catalogs` — the same matching and fitting on positions already
  in a tangent plane (fast enough for live re-fits; :mod:`.solve`).
* Building blocks: :mod:`.tangent` (orthonormal tangent plane, arcsec),
  :mod:`.match` (2-D histogram offset, mutual-nearest-neighbour and triangle
  matching), :mod:`.fit` (shift / rshift / rscale / general fits with
  clipping), :mod:`.correct` (apply a correction to an astropy WCS),
  :mod:`.simulate` (synthetic catalogs with a known WCS error).
"""

from .correct import correct_wcs
from .engine import AlignResult, align_wcs
from .find import find_sources
from .fit import FIT_GEOMETRIES, LinearFit, fit_linear, iter_fit
from .match import OffsetHistogram, match_pairs, offset_histogram, triangle_match
from .solve import CatalogAlignment, align_catalogs
from .tangent import TangentPlane

__all__ = [
    "find_sources",
    "align_wcs",
    "align_catalogs",
    "AlignResult",
    "CatalogAlignment",
    "correct_wcs",
    "iter_fit",
    "fit_linear",
    "LinearFit",
    "FIT_GEOMETRIES",
    "offset_histogram",
    "OffsetHistogram",
    "match_pairs",
    "triangle_match",
    "TangentPlane",
]
