"""The final product of an AstroDrizzle run: its metadata, in memory or as astropy objects.

:func:`product_arguments` assembles what the product file holds besides the
arrays (PRIMARY keywords, HISTORY with software versions and every parameter
value). :func:`result_to_hdulist` and :func:`result_to_nddata` hand the
product to other astropy tools without writing a file (they back
``AstrodrizzleResult.to_hdulist()`` / ``.to_nddata()``).
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from .exceptions import InputError

__all__ = ["product_arguments", "parameter_lines", "result_to_hdulist", "result_to_nddata",
           "bunit_to_unit"]


def parameter_lines(p: dict) -> list[str]:
    """``name = value`` lines for every astrodrizzle parameter in ``p`` (provenance)."""
    from .params import get_spec

    spec = get_spec("astrodrizzle")
    lines = ["astrodrizzle parameters of this run:"]
    for name in spec.names:
        if name in p:
            lines.append(f"  {name} = {spec[name].to_text(p[name]) or 'None'}")
    return lines


def _history(p: dict) -> list[str]:
    from . import __version__

    history = [f"drizzlekit version {__version__} (AstroDrizzle re-implementation)"]
    for pkg in ("numpy", "astropy", "numba", "scipy"):
        try:
            history.append(f"{pkg} version {version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover
            pass
    return history + parameter_lines(p)


def product_arguments(res) -> dict[str, Any]:
    """Keyword arguments of :func:`drizzlekit.io.fits_output.write_drizzle_product`
    (and ``drizzle_product_hdus``) for a finished run, arrays included."""
    from . import __version__

    if res.sci is None:
        raise InputError("the run has no final image yet: call run_final_drizzle first")
    p = res.params
    prims = [exp.primary_header for exp in res.exposures]
    starts = [float(h["EXPSTART"]) for h in prims if "EXPSTART" in h]
    ends = [float(h["EXPEND"]) for h in prims if "EXPEND" in h]
    keywords: dict[str, Any] = {
        "PROD_VER": (f"drizzlekit {__version__}", "software that made this product"),
        "DRIZPARS": (os.path.basename(p["runfile"] or ""), "log file of the run"),
        "EXPTIME": (res.texptime, "total exposure time (s) of the inputs"),
        "TEXPTIME": (res.texptime, "total exposure time (s) of the inputs"),
        "_NCOMBINE": len(res.exposures),
    }
    if starts:
        keywords["EXPSTART"] = (min(starts), "exposure start time (MJD)")
    if ends:
        keywords["EXPEND"] = (max(ends), "exposure end time (MJD)")
    for key in ("DRIZCORR", "DITHCORR"):
        if key in prims[0]:
            keywords[key] = "COMPLETE"
    return dict(output=res.output or "drizzlekit_drz.fits", sci=res.sci, wht=res.wht,
                ctx=res.ctx if p["context"] else None, wcs=res.output_wcs, bunit=res.bunit,
                records=res.records, primary_template=prims[0],
                sci_template=res.exposures[0].chips[0].header, keywords=keywords,
                history=_history(p), build=bool(p["build"]),
                err=res.err if p.get("final_err") else None)


def result_to_hdulist(res) -> fits.HDUList:
    """The product of ``res`` as one multi-extension HDU list (PRIMARY, SCI, WHT[, CTX][, ERR])."""
    from .io.fits_output import drizzle_product_hdus

    args = product_arguments(res)
    args["build"] = True
    return drizzle_product_hdus(**args)[0][1]


_BUNIT_WORDS = {"electrons": "electron", "counts": "count", "cps": "count/s"}


def bunit_to_unit(bunit: str) -> u.UnitBase:
    """astropy unit of a product BUNIT ('ELECTRONS/S' -> electron / s)."""
    text = (bunit or "").strip().lower()
    for word, unit in _BUNIT_WORDS.items():
        text = text.replace(word, unit)
    if not text or text in ("unitless", "none"):
        return u.dimensionless_unscaled
    try:
        return u.Unit(text)
    except ValueError:
        return u.Unit(text, parse_strict="silent")


def result_to_nddata(res):
    """The final image as an ``astropy.nddata.CCDData``.

    ``data`` = SCI, ``unit`` from BUNIT, ``wcs`` = the output frame,
    ``mask`` = True where no input contributed (WHT = 0), ``uncertainty`` =
    the propagated variance (``VarianceUncertainty``) when the run made one
    (``res.var``), ``meta`` = the product's PRIMARY header (provenance
    included). The weight and context images are in :func:`result_to_hdulist`.
    """
    from astropy.nddata import CCDData, VarianceUncertainty

    hdul = result_to_hdulist(res)
    var = getattr(res, "var", None)
    uncertainty = VarianceUncertainty(np.asarray(var)) if var is not None else None
    meta = fits.Header(hdul[0].header)
    ccd = CCDData(np.asarray(res.sci), unit=bunit_to_unit(res.bunit), wcs=res.output_wcs,
                  mask=np.asarray(res.wht) <= 0, uncertainty=uncertainty, meta=meta)
    return ccd
