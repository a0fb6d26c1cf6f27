"""Exact transport of astropy WCSs to Dask workers.

``pickle`` of an astropy WCS goes through a FITS header and loses the last
bits of its numbers; :func:`pack_wcs` sends the numeric parameters as arrays
and :func:`unpack_wcs` puts them back after unpickling, so a worker's pixel
maps equal the client's bit for bit (``tests/test_distributed.py``).
"""

from __future__ import annotations

import pickle

import numpy as np

__all__ = ["pack_wcs", "unpack_wcs"]


def pack_wcs(w) -> tuple | None:
    """A picklable, bit-exact description of an astropy WCS (None stays None)."""
    if w is None:
        return None
    lin = {"crval": np.array(w.wcs.crval), "crpix": np.array(w.wcs.crpix),
           "lonpole": float(w.wcs.lonpole), "latpole": float(w.wcs.latpole)}
    if w.wcs.has_cd():
        lin["cd"] = np.array(w.wcs.cd)
    else:
        lin["pc"] = np.array(w.wcs.get_pc())
        lin["cdelt"] = np.array(w.wcs.cdelt)
    sip = None
    if w.sip is not None:
        sip = (w.sip.a, w.sip.b, w.sip.ap, w.sip.bp, np.array(w.sip.crpix))
    simple = (w.sip is None and w.cpdis1 is None and w.cpdis2 is None and w.det2im1 is None
              and w.det2im2 is None and w.wcs.has_cd() and w.naxis == 2)
    if simple:  # a plain TAN-like frame: rebuilt as drizzlekit.outwcs builds it
        return ("simple", list(w.wcs.ctype), lin, w.pixel_shape)
    return ("pickle", pickle.dumps(w), lin, sip, w.pixel_shape)


def unpack_wcs(packed):
    """The WCS of :func:`pack_wcs` (a new object)."""
    from astropy.wcs import WCS, Sip

    if packed is None:
        return None
    if packed[0] == "simple":
        _, ctype, lin, shape = packed
        w = WCS(naxis=2)
        w.wcs.ctype = ctype
        w.wcs.crval = lin["crval"]
        w.wcs.crpix = lin["crpix"]
        w.wcs.cd = lin["cd"]
        w.wcs.set()
    else:
        _, blob, lin, sip, shape = packed
        w = pickle.loads(blob)
        w.wcs.crval = lin["crval"]
        w.wcs.crpix = lin["crpix"]
        if "cd" in lin:  # the pickle carries PC + CDELT: back to the CD matrix
            try:
                del w.wcs.pc
            except AttributeError:  # pragma: no cover - no PC present
                pass
            w.wcs.cd = lin["cd"]
        else:
            w.wcs.pc = lin["pc"]
            w.wcs.cdelt = lin["cdelt"]
        w.wcs.lonpole = lin["lonpole"]
        w.wcs.latpole = lin["latpole"]
        if sip is not None:
            w.sip = Sip(*sip)
        w.wcs.set()
    if shape is not None:
        w.pixel_shape = shape
    return w
