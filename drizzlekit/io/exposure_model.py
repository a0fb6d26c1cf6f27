"""The in-memory data model of an input exposure: :class:`Chip` and :class:`Exposure`.

:func:`drizzlekit.io.fits_input.read_exposure` builds them (one :class:`Exposure`
per file, one :class:`Chip` per ``SCI`` extension, spec §0); the pipeline, the
aligners and the Dask workers pass them around (both pickle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

__all__ = ["Chip", "Exposure"]


@dataclass
class Chip:
    """One science chip (``SCI,extver``) of an exposure, fully in memory.

    Attributes
    ----------
    filename : str
        File the chip was read from.
    extver : int
        ``EXTVER`` of the ``SCI`` extension (1 for a single-extension file).
    sci : ndarray, float32, shape (ny, nx)
        Science data in ``bunit``.
    err : ndarray, float32, or None
        ``ERR`` array (same units as ``sci``), ``None`` if the file has none.
    dq : ndarray, int, or None
        ``DQ`` flags (``int16``/``uint16`` as stored), ``None`` if absent.
    wcs : astropy.wcs.WCS
        Full distorted WCS of the chip (SIP, CPDIS and D2IM when present).
    header : astropy.io.fits.Header
        Copy of the SCI header (the primary header for single-extension files).
    exptime : float
        Exposure time (s).
    gain : float
        Gain (e-/DN).
    rdnoise : float
        Read noise (e-).
    bunit : str
        Units of ``sci`` (``BUNIT``; ``ELECTRONS/S`` when missing).
    in_units : {'cps', 'counts'}
        ``'cps'`` for per-second data.
    eff_gain : float
        Factor turning the data into electrons(-like) values.
    conversion_factor : float
        Factor turning the data into electrons integrated over the exposure.
    native_units : str
        Units of the instrument's calibrated products.
    idcscale : float
        Nominal undistorted pixel scale (arcsec/pixel): ``IDCSCALE`` if present,
        else ``sqrt(|det CD|)`` of the linear WCS.
    mdrizsky : float or None
        ``MDRIZSKY`` of the SCI header (sky already measured, in ``bunit``) or ``None``.
    cte_dir : int
        CTE readout direction (-1, 0 or +1; spec §2.2).
    """

    filename: str
    extver: int
    sci: np.ndarray
    err: np.ndarray | None
    dq: np.ndarray | None
    wcs: WCS
    header: fits.Header
    exptime: float
    gain: float
    rdnoise: float
    bunit: str
    in_units: str
    eff_gain: float
    conversion_factor: float
    native_units: str
    idcscale: float
    mdrizsky: float | None
    cte_dir: int

    @property
    def shape(self) -> tuple[int, int]:
        """Array shape ``(ny, nx)`` in pixels."""
        return self.sci.shape  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """``filename[SCI,extver]``, for messages."""
        return f"{self.filename}[SCI,{self.extver}]"


@dataclass
class Exposure:
    """One input file with its selected chips.

    Attributes
    ----------
    filename : str
        Path of the file (or ``'<in-memory>'``).
    chips : list of Chip
        The selected chips (``group``), ordered by ``EXTVER``.
    primary_header : astropy.io.fits.Header
        Copy of the primary header.
    exptime : float
        Exposure time (s).
    instrument : str
        ``INSTRUME`` (upper case, ``''`` if missing).
    detector : str
        ``DETECTOR`` (or NICMOS ``CAMERA``; ``''`` if missing).
    """

    filename: str
    chips: list[Chip]
    primary_header: fits.Header
    exptime: float
    instrument: str
    detector: str
    n_sci: int = field(default=0)
    #: Rootname set when one file holds several exposures (STIS imsets, io/stis.py).
    root: str | None = field(default=None)

    @property
    def rootname(self) -> str:
        """File name without directory, ``.fits[.gz]`` and a known suffix such as
        ``_flt``; for an in-memory exposure the ``ROOTNAME`` keyword."""
        from .inputs import rootname  # local import: inputs imports nothing from here

        if self.root:
            return self.root
        if self.filename == "<in-memory>":
            return str(self.primary_header.get("ROOTNAME", "") or "").strip().lower()
        return rootname(self.filename)

    def __len__(self) -> int:
        return len(self.chips)

    def __iter__(self):
        return iter(self.chips)
