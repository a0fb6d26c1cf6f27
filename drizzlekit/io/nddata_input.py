"""In-memory ``NDData`` / ``CCDData`` inputs, as the HDU lists the pipeline reads.

An NDData becomes an HST-like exposure with one chip: PRIMARY (``meta`` when it
is a FITS header or a dict of keywords), ``SCI`` (data, ``BUNIT`` from the unit,
the WCS), ``ERR`` (from a ``StdDevUncertainty`` or ``VarianceUncertainty``) and
``DQ`` (1 where ``mask`` is true). The exposure time must be in ``meta``
(``EXPTIME``), as it must be in a file.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from ..exceptions import InputError

__all__ = ["is_nddata", "nddata_to_hdulist"]


def is_nddata(obj) -> bool:
    from astropy.nddata import NDData

    return isinstance(obj, NDData)


def _unit_text(unit, name: str) -> str:
    """HST BUNIT spelling of an astropy unit: electrons or counts, or a rate of them."""
    import astropy.units as u

    if unit is None:
        raise InputError(f"{name}: an NDData input needs a unit (electron, electron/s, "
                         "count, count/s)")
    unit = u.Unit(unit)
    for base, word in ((u.electron, "ELECTRONS"), (u.count, "COUNTS"), (u.adu, "DN")):
        if unit == base:
            return word
        if unit == base / u.s:
            return word + "/S"
    raise InputError(f"{name}: unit {unit} is not electrons, counts or DN, nor a rate of them")


def nddata_to_hdulist(nd, name: str = "<NDData>") -> fits.HDUList:
    """The HDU list (PRIMARY, SCI, [ERR], [DQ]) that stands for ``nd``."""
    from astropy.nddata import StdDevUncertainty, VarianceUncertainty
    from astropy.wcs import WCS

    if nd.wcs is None:
        raise InputError(f"{name}: the NDData input has no WCS")
    data = np.asarray(nd.data)
    if data.ndim != 2:
        raise InputError(f"{name}: expected a 2-D image, got {data.ndim}-D")
    primary = fits.Header()
    for key, value in dict(nd.meta or {}).items():
        if isinstance(key, str) and len(key) <= 8 and isinstance(value, (str, int, float, bool)):
            primary[key] = value
    wcs = nd.wcs if isinstance(nd.wcs, WCS) else None
    if wcs is None:
        raise InputError(f"{name}: the NDData WCS must be an astropy.wcs.WCS "
                         f"(got {type(nd.wcs).__name__})")
    sci_header = wcs.to_header(relax=True)
    sci_header["BUNIT"] = _unit_text(nd.unit, name)
    if "EXPTIME" in primary:
        sci_header["EXPTIME"] = primary["EXPTIME"]
    hdus = [fits.PrimaryHDU(header=primary),
            fits.ImageHDU(data, header=sci_header, name="SCI", ver=1)]
    unc = nd.uncertainty
    if isinstance(unc, StdDevUncertainty):
        hdus.append(fits.ImageHDU(np.asarray(unc.array, dtype=np.float32), name="ERR", ver=1))
    elif isinstance(unc, VarianceUncertainty):
        hdus.append(fits.ImageHDU(np.sqrt(np.asarray(unc.array, dtype=np.float32)),
                                  name="ERR", ver=1))
    elif unc is not None:
        raise InputError(f"{name}: uncertainty of type {type(unc).__name__} is not supported "
                         "(use StdDevUncertainty or VarianceUncertainty)")
    if nd.mask is not None:
        hdus.append(fits.ImageHDU(np.asarray(nd.mask, dtype=bool).astype(np.int16),
                                  name="DQ", ver=1))
    return fits.HDUList(hdus)
