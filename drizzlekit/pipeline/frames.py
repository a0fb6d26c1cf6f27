"""The output frames (``single_wcs``, ``output_wcs``) and the shift-file hook."""

from __future__ import annotations

import os
import warnings
from typing import Any

from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputError, InputFileError
from ..io.fits_input import Exposure
from .chips import chip_wcs
from .result import AstrodrizzleResult


def _hst_orientat(exp: Exposure) -> float | None:
    """drizzlepac's default orientation for HST chips with V2/V3 reference data."""
    from ..outwcs import hst_reference_orientat

    if exp.instrument not in ("ACS", "WFC3", "WFPC2", "STIS", "NICMOS"):
        return None
    chip = exp.chips[0]
    h, ph = chip.header, exp.primary_header
    try:
        pa_v3 = float(ph["PA_V3"])
        v2, v3 = float(h["IDCV2REF"]), float(h["IDCV3REF"])
        theta = float(h.get("IDCTHETA", 0.0))
    except (KeyError, TypeError, ValueError):
        return None
    parity = ((1.0, 0.0), (0.0, -1.0)) if (exp.instrument, exp.detector) == ("ACS", "WFC") \
        else ((-1.0, 0.0), (0.0, 1.0))
    dec = float(chip.wcs.wcs.crval[1])
    return hst_reference_orientat(pa_v3, dec, v2, v3, theta, parity)


def _read_refimage(ref) -> WCS:
    """WCS (with pixel_shape) of a reference image: a WCS or ``file[ext]``."""
    if isinstance(ref, WCS):
        if ref.pixel_shape is None:
            raise InputError("refimage WCS has no pixel_shape")
        return ref
    text = str(ref).strip()
    ext = None
    if text.endswith("]") and "[" in text:
        text, spec = text[:-1].split("[", 1)
        parts = [s.strip() for s in spec.split(",")]
        ext = (parts[0], int(parts[1])) if len(parts) == 2 else (
            int(parts[0]) if parts[0].isdigit() else parts[0])
    if not os.path.isfile(text):
        raise InputFileError(f"{text}: reference image not found")
    try:
        with fits.open(text, memmap=False) as hdul:
            hdus = [hdul[ext]] if ext is not None else list(hdul)
            for hdu in hdus:
                hdr = hdu.header
                if hdr.get("NAXIS", 0) != 2 or "CTYPE1" not in hdr:
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FITSFixedWarning)
                    w = WCS(hdr, hdul)
                if w.has_celestial:
                    w.pixel_shape = (int(hdr["NAXIS1"]), int(hdr["NAXIS2"]))
                    return w
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{text}: cannot read the reference image ({exc})") from exc
    raise InputFileError(f"{ref}: no 2-D image with a celestial WCS")


def _frame(res: AstrodrizzleResult, prefix: str, enabled: bool):
    from ..outwcs import make_output_wcs

    p = res.params
    chips = [c for _, _, c in res.chips()]
    wcs_list = [chip_wcs(res, c) for c in chips]
    shapes = [c.shape for c in chips]
    kw: dict[str, Any] = {}
    if enabled:
        for name in ("rot", "scale", "outnx", "outny", "ra", "dec", "crpix1", "crpix2"):
            kw[name] = p[f"{prefix}_{name}"]
        if p[f"{prefix}_refimage"]:
            kw["refimage"] = _read_refimage(p[f"{prefix}_refimage"])
    return make_output_wcs(wcs_list, shapes, pscale=chips[0].idcscale,
                           orientat=_hst_orientat(res.exposures[0]), **kw)[0]


def build_frames(res: AstrodrizzleResult) -> None:
    """``output_wcs`` and ``single_wcs`` (the same object unless a custom WCS is on)."""
    p = res.params
    custom_final = bool(p["final_wcs"] and p["driz_combine"])
    custom_single = bool(p["driz_sep_wcs"] and p["driz_separate"])
    res.output_wcs = _frame(res, "final", custom_final)
    if custom_single:
        res.single_wcs = _frame(res, "driz_sep", True)
    elif custom_final:
        res.single_wcs = _frame(res, "driz_sep", False)
    else:
        res.single_wcs = res.output_wcs
    res._pixmaps.clear()
    res._pixmap_bytes = 0


def apply_shifts(res: AstrodrizzleResult, shiftfile) -> None:
    """Correct the chip WCSs with a shift file before the output frame is built.

    Parameters
    ----------
    res : AstrodrizzleResult
        From :func:`prepare`; ``res.exposures`` are corrected in memory (the
        input files are not touched).
    shiftfile : str, path or drizzlekit.io.wcs_update.ShiftFile
        A shift file in drizzlepac's format, as ``drizzlekit.tweakreg(...,
        shiftfile=True)`` writes it (shift, rotation and scale in the frame of
        its reference WCS); exposures without a row are left as they are.

    Notes
    -----
    The output frames are rebuilt afterwards. The correction itself is
    :meth:`drizzlekit.io.wcs_update.ShiftFile.correct`, the same code that
    reads TweakReg's shift files everywhere else.
    """
    from ..io.wcs_update import ShiftFile, read_shiftfile

    sf = shiftfile if isinstance(shiftfile, ShiftFile) else read_shiftfile(shiftfile)
    for exp in res.exposures:
        fixed = sf.correct(exp.filename, [chip.wcs for chip in exp.chips])
        for chip, wcs in zip(exp.chips, fixed):
            chip.wcs = wcs
    build_frames(res)
