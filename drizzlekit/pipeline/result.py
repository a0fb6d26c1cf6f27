"""The result of an AstroDrizzle run: every intermediate product, in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..io.fits_input import Chip

__all__ = ["AstrodrizzleResult", "ChipKey"]

ChipKey = tuple  # (exposure name, chip EXTVER)


@dataclass
class AstrodrizzleResult:
    """Everything one AstroDrizzle run produced (all arrays in memory).

    Chips are identified by ``(name, extver)``, ``name`` being the input file
    name as given (or ``'<in-memory N>'`` for an in-memory HDU list) and
    ``extver`` the SCI extension version.

    Attributes
    ----------
    params : dict
        The validated parameters (after the step dependencies of spec §2.2).
    exposures : list of Exposure
        The inputs as read (in-memory copies; DQ after ``resetbits``).
    names : list of str
        Exposure names, in processing order.
    ivm_files : list of str or None
        IVM file of every exposure (the second column of an ``@file``).
    output : str or None
        The product file name (``<output>_drz.fits``).
    single_wcs, output_wcs : astropy.wcs.WCS
        Frames of the single/median images and of the final product.
    static_masks : dict
        ``(extver, (ny, nx))`` -> bool array, ``True`` = good.
    sky : dict
        ``(name, extver)`` -> sky value of the chip (``MDRIZSKY``, data units).
    computed_sky : dict
        ``(name, extver)`` -> sky subtracted on the fly, or None.
    single_sci, single_wht : dict
        ``name`` -> single-drizzled image (e-/s) and weight.
    median : numpy.ndarray or None
        The median image (e-/s) on ``single_wcs``.
    blots : dict
        ``(name, extver)`` -> blotted median in the chip's native units.
    cr_masks : dict
        ``(name, extver)`` -> bool array, ``True`` where a cosmic ray was flagged.
    cr_clean : dict
        ``(name, extver)`` -> CR-cleaned chip (``driz_cr_corr``), native units.
    sci, wht, ctx : numpy.ndarray or None
        Final science image (``bunit``), weight, context (planes, ny, nx).
    err : numpy.ndarray or None
        With ``final_err=True``: 1-sigma error of ``sci`` (``bunit``) from the
        inputs' ERR arrays (NaN where ``wht`` is 0); ``var`` is its square.
    bunit : str
        Units of ``sci``.
    files_written : list of str
        Files created by :func:`write_products`.
    timings : dict
        Step name -> seconds.
    """

    params: dict
    exposures: list
    names: list
    ivm_files: list = field(repr=False)
    output: str | None = None
    single_wcs: WCS | None = field(default=None, repr=False)
    output_wcs: WCS | None = field(default=None, repr=False)
    static_masks: dict = field(default_factory=dict, repr=False)
    sky: dict = field(default_factory=dict)
    computed_sky: dict = field(default_factory=dict, repr=False)
    single_sci: dict = field(default_factory=dict, repr=False)
    single_wht: dict = field(default_factory=dict, repr=False)
    median: np.ndarray | None = field(default=None, repr=False)
    blots: dict = field(default_factory=dict, repr=False)
    cr_masks: dict = field(default_factory=dict, repr=False)
    cr_clean: dict = field(default_factory=dict, repr=False)
    sci: np.ndarray | None = field(default=None, repr=False)
    wht: np.ndarray | None = field(default=None, repr=False)
    ctx: np.ndarray | None = field(default=None, repr=False)
    err: np.ndarray | None = field(default=None, repr=False)
    bunit: str = ""
    records: list = field(default_factory=list, repr=False)
    files_written: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    progress: bool = field(default=False, repr=False)
    _pixmaps: dict = field(default_factory=dict, repr=False)
    _pixmap_bytes: int = field(default=0, repr=False)
    #: Memory bound, scratch files and Dask client (:class:`drizzlekit.mosaic.ScaleOptions`).
    scaling: Any = field(default=None, repr=False)

    # -- convenience ---------------------------------------------------------
    @property
    def var(self) -> np.ndarray | None:
        """Variance of ``sci`` (``bunit`` squared): ``err**2``, or None."""
        return None if self.err is None else np.square(self.err, dtype=np.float32)

    def chips(self) -> Iterator[tuple[ChipKey, int, Chip]]:
        """``((name, extver), exposure index, Chip)`` for every chip, in order."""
        for e, exp in enumerate(self.exposures):
            for chip in exp.chips:
                yield (self.names[e], chip.extver), e, chip

    @property
    def output_shape(self) -> tuple[int, int] | None:
        """``(ny, nx)`` of the final product."""
        return None if self.output_wcs is None else _shape_of(self.output_wcs)

    @property
    def single_shape(self) -> tuple[int, int] | None:
        """``(ny, nx)`` of the single/median images."""
        return None if self.single_wcs is None else _shape_of(self.single_wcs)

    @property
    def texptime(self) -> float:
        """Total exposure time of the distinct exposures, s."""
        return float(sum(exp.exptime for exp in self.exposures))

    def dq_with_crs(self, key: ChipKey) -> np.ndarray:
        """The chip's DQ with ``crbit`` set where a cosmic ray was flagged.

        This is what drizzlepac writes back into the input file; drizzlekit
        returns it instead.
        """
        e = self.names.index(key[0])
        chip = next(c for c in self.exposures[e].chips if c.extver == key[1])
        dq = np.zeros(chip.shape, np.int32) if chip.dq is None else chip.dq.astype(np.int32)
        if key in self.cr_masks:
            dq = dq | np.where(self.cr_masks[key], int(self.params["crbit"]), 0)
        return dq

    def to_hdulist(self) -> fits.HDUList:
        """The final product in memory: PRIMARY, SCI, WHT (CTX, ERR), as written."""
        from ..products import result_to_hdulist

        return result_to_hdulist(self)

    def to_nddata(self):
        """The final image as ``astropy.nddata.CCDData`` (unit, WCS, mask, provenance)."""
        from ..products import result_to_nddata

        return result_to_nddata(self)

    def summary(self) -> str:
        """A few lines describing the run."""
        lines = [f"AstroDrizzle: {len(self.exposures)} exposure(s), "
                 f"{sum(len(e.chips) for e in self.exposures)} chip(s)"]
        if self.output_wcs is not None:
            lines.append(f"  output frame {self.output_shape} (ny, nx)")
        for key, val in self.sky.items():
            lines.append(f"  sky {key[0]}[{key[1]}] = {val:.4g}")
        for key, m in self.cr_masks.items():
            lines.append(f"  CR pixels {key[0]}[{key[1]}]: {int(m.sum())}")
        for name, sec in self.timings.items():
            lines.append(f"  {name:<14s} {sec:8.2f} s")
        for f in self.files_written:
            lines.append(f"  wrote {f}")
        return "\n".join(lines)


def _shape_of(w: WCS) -> tuple[int, int]:
    nx, ny = w.pixel_shape
    return int(ny), int(nx)
