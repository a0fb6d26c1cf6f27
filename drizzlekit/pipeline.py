"""AstroDrizzle: the eight steps on real exposures, in memory (spec §2-§10).

:func:`astrodrizzle` runs everything and writes ``<output>_drz.fits``::

    >>> from drizzlekit import astrodrizzle                         # doctest: +SKIP
    >>> res = astrodrizzle("*_flt.fits", output="final", final_pixfrac=0.8)
    >>> res.sci.shape, res.cr_masks["j8bt06nyq_flt.fits", 1].sum()

The same work can be done one step at a time (e.g. in a notebook), looking
at every intermediate product between steps::

    >>> res = prepare("*_flt.fits", output="final")              # doctest: +SKIP
    >>> run_static_mask(res); run_sky(res); run_drizzle_separate(res)
    >>> run_median(res); run_blot(res); run_driz_cr(res)
    >>> run_final_drizzle(res); write_products(res)

Each ``run_*`` function fills its part of the :class:`AstrodrizzleResult`
and returns it; a step whose input is missing raises
:class:`~drizzlekit.exceptions.InputError` naming the step to run first.
Parameters are drizzlepac's names and defaults (``drizzlekit.params``,
``get_spec('astrodrizzle')``); an unknown name raises
:class:`~drizzlekit.exceptions.ParameterError` suggesting the closest one.

What differs from drizzlepac
----------------------------
* Input files are only ever opened read-only: no ``MDRIZSKY``, DQ reset or
  CR-bit updates, no WCS restore, no ``OrIg_files`` copies (spec Q15).
  ``resetbits`` is applied to the in-memory DQ arrays; the CR flags are
  returned in :attr:`AstrodrizzleResult.cr_masks` (``True`` = cosmic ray)
  and, unless ``in_memory=True``, written to new ``<root>_sci<N>_crmask.fits``
  files (uint8, 1 = good, drizzlepac's convention) next to the product.
* No intermediate single/median/blot files are kept (they are in the
  result object; with ``in_memory=False`` the single drizzles and the median
  live in memory-mapped files of a temporary directory that is removed when
  the run ends, see :mod:`drizzlekit.mosaic`); ``driz_sep_compress``,
  ``combine_bufsize``, ``clean``, ``preserve``, ``overwrite`` and ``restore``
  therefore have no effect (``memory_limit`` bounds the median's buffers).
* Step dependencies follow ``astrodrizzle.run`` (spec §2.2): with two or more
  exposures ``driz_cr`` forces ``blot``, ``blot`` forces ``median`` and
  ``median`` forces ``driz_separate``; with one exposure ``median``,
  ``blot`` and ``driz_cr`` are switched off.
* Cosmic-ray rejection needs exposures that overlap: if one exposure shares
  no pixel with any other, :class:`~drizzlekit.exceptions.NoOverlapError`
  is raised (drizzlepac silently skips the rejection); turn ``median``,
  ``blot`` and ``driz_cr`` off to drizzle a mosaic without overlaps.
* Not implemented (a clear ParameterError when used): ``wcskey``,
  ``skymask_cat``, ``mdriztab``, ``updatewcs``. ``rules_file`` (header
  blending) is ignored with a warning. A TweakReg *shift file* is applied
  in memory between :func:`prepare` and the first step by
  :func:`apply_shifts` (or run ``tweakreg(..., updatehdr=True)`` first).
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from .exceptions import InputError, InputFileError, NoOverlapError, ParameterError
from .io.bits import combine_masks, dq_to_mask
from .io.checks import check_inputs
from .io.fits_input import Chip, Exposure, read_exposure
from .io.stis import split_exposure
from .io.lazy import lazy_pixels, release_pixels
from .io.logfile import run_log
from .io.output_checks import check_output_files, check_output_size, output_errors
from .io.inputs import InputItem, expand_inputs, output_filename, rootname
from .memory import pixmap_cache_bytes
from .pixmap_store import PixmapStore

__all__ = [
    "AstrodrizzleResult",
    "astrodrizzle",
    "prepare",
    "run_static_mask",
    "run_sky",
    "run_drizzle_separate",
    "run_median",
    "run_blot",
    "run_driz_cr",
    "run_single_cr",
    "run_final_drizzle",
    "write_products",
    "apply_shifts",
    "STEPS",
]

log = logging.getLogger(__name__)

#: The steps in order: (name used in ``timings``, enabling parameter or None).
STEPS = (
    ("static_mask", "static"),
    ("sky", None),
    ("driz_separate", "driz_separate"),
    ("median", "median"),
    ("blot", "blot"),
    ("driz_cr", "driz_cr"),
    ("final_drizzle", "driz_combine"),
)

#: Pixel maps are kept between steps (drizzle separate, blot, final drizzle) while
#: their total size stays below this (bytes; 8 bytes per chip pixel, see
#: :mod:`drizzlekit.pixmap_store`).
PIXMAP_CACHE_BYTES = 512 * 2 ** 20

#: Parameters accepted for drizzlepac compatibility that have no effect here.
_NO_EFFECT = ("restore", "preserve", "overwrite", "clean", "driz_sep_compress",
              "combine_bufsize")
#: Parameters drizzlekit does not implement: (name, value that is fine).
_UNSUPPORTED = (("wcskey", ""), ("skymask_cat", ""), ("mdriztab", False),
                ("updatewcs", False))

ChipKey = tuple  # (exposure name, chip EXTVER)


# =========================================================================== result
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
        from .products import result_to_hdulist

        return result_to_hdulist(self)

    def to_nddata(self):
        """The final image as ``astropy.nddata.CCDData`` (unit, WCS, mask, provenance)."""
        from .products import result_to_nddata

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


# =========================================================================== parameters
def _validate(params: dict) -> dict:
    from .params import get_spec

    spec = get_spec("astrodrizzle")
    params = dict(params)
    objects = {}
    for key in ("driz_sep_refimage", "final_refimage"):  # accept WCS objects as well
        if isinstance(params.get(key), WCS):
            objects[key] = params.pop(key)
    p = spec.validate(params)
    p.update(objects)
    for name, fine in _UNSUPPORTED:
        if p.get(name, fine) not in (fine, None):
            raise ParameterError(f"parameter '{name}' is not supported by drizzlekit "
                                 f"(got {p[name]!r})")
    if p.get("rules_file"):
        log.warning("rules_file=%r: header blending rules are not implemented; ignored",
                    p["rules_file"])
    for name in _NO_EFFECT:
        if name in params:
            log.debug("parameter '%s' has no effect in drizzlekit", name)
    return p


def _apply_dependencies(p: dict, n_exposures: int) -> None:
    """Step dependencies of ``astrodrizzle.run`` (spec §2.2), in place."""
    if n_exposures >= 2:
        if p["driz_cr"] and not p["blot"]:
            log.info("driz_cr needs blot: switching blot on")
            p["blot"] = True
        if p["blot"] and not p["median"]:
            log.info("blot needs the median: switching median on")
            p["median"] = True
        if p["median"] and not p["driz_separate"]:
            log.info("the median needs the single-drizzled images: switching "
                     "driz_separate on")
            p["driz_separate"] = True
    else:
        for name in ("median", "blot", "driz_cr"):
            if p[name]:
                log.info("one input exposure: %s switched off", name)
            p[name] = False


# =========================================================================== inputs
def _is_memory(obj) -> bool:
    return isinstance(obj, (fits.HDUList, Exposure))


def _from_nddata(input):
    """NDData/CCDData inputs (one, or in a list) as HDU lists."""
    from .io.nddata_input import is_nddata, nddata_to_hdulist

    if is_nddata(input):
        return nddata_to_hdulist(input)
    if isinstance(input, (list, tuple)):
        return [nddata_to_hdulist(x, f"input[{k}]") if is_nddata(x) else x
                for k, x in enumerate(input)]
    return input


def _load_items(input) -> tuple[list, bool]:
    """(list of sources, all_files): a source is an InputItem, HDUList or Exposure
    (NDData/CCDData objects are turned into HDU lists)."""
    input = _from_nddata(input)
    if _is_memory(input):
        return [input], False
    if isinstance(input, (list, tuple)) and any(_is_memory(x) for x in input):
        out = []
        for k, x in enumerate(input):
            if _is_memory(x):
                out.append(x)
            elif isinstance(x, (str, os.PathLike, InputItem)):
                out.extend(expand_inputs([x]))
            else:
                raise InputError(f"input[{k}]: expected a file name, an HDUList or an "
                                 f"Exposure, got {type(x).__name__}")
        return out, False
    return expand_inputs(input), True


def _source_name(src, k: int) -> str:
    if isinstance(src, InputItem):
        return src.filename
    if isinstance(src, fits.HDUList):
        return src.filename() or f"<in-memory {k}>"
    return src.filename if src.filename != "<in-memory>" else f"<in-memory {k}>"


def _exposure_root(name: str, exp: Exposure, k: int) -> str:
    if exp.root:  # one exposure of a multi-exposure file (STIS imsets: io/stis.py)
        return exp.root
    if not name.startswith("<in-memory"):
        return rootname(name)
    root = str(exp.primary_header.get("ROOTNAME", "") or "").strip().lower()
    return root or f"input{k}"


def _group(value):
    """drizzlepac ``group`` syntax (``'1'``, ``'1,2'``, ``'sci,1'``) -> chip numbers."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip().strip("[]")
    parts = [t.strip() for t in text.split(",") if t.strip()]
    nums = [t for t in parts if t.lower() != "sci"]
    if not nums:
        raise ParameterError(f"group: {value!r} names no chip")
    return ",".join(nums)


def _read_sources(sources, p: dict) -> tuple[list[Exposure], list[str]]:
    group = _group(p["group"])
    kw = dict(gain=p["gain"], rdnoise=p["rdnoise"], exptime=p["exptime"],
              gnkeyword=p["gnkeyword"] or None, rnkeyword=p["rnkeyword"] or None,
              expkeyword=p["expkeyword"] or None)
    exposures, names = [], []
    for k, src in enumerate(sources):
        name = _source_name(src, k)
        if name in names:
            raise InputError(f"input: {name} is given more than once")
        if isinstance(src, Exposure):
            exp = copy.deepcopy(src)  # the caller's object is never changed
        else:
            exp = read_exposure(src.filename if isinstance(src, InputItem) else src,
                                group, strict=True, **kw)
        if not exp.chips:
            raise InputFileError(f"{name}: no chip selected (group={p['group']!r})")
        ivm = src.ivm if isinstance(src, InputItem) else None
        for piece, piece_name in split_exposure(exp, name, ivm):  # STIS imsets: io/stis.py
            # Dask runs: the client keeps no pixels of file inputs (io/lazy.py)
            exposures.append(release_pixels(
                piece, src.filename if isinstance(src, InputItem) else src, p["resetbits"]))
            names.append(piece_name)
    return exposures, names


def _reset_dq(exposures: list[Exposure], resetbits) -> None:
    """Clear ``resetbits`` in the in-memory DQ arrays (never in the files)."""
    from .io.bits import interpret_bits

    bits = interpret_bits(resetbits, "resetbits")
    if not bits:
        return
    for exp in exposures:
        for chip in exp.chips:
            if getattr(chip, "lazy", False):  # cleared when read (io/lazy.py)
                continue
            if chip.dq is not None:
                chip.dq = (chip.dq.astype(np.int64) & ~int(bits)).astype(chip.dq.dtype)


def _chip_wcs(res: AstrodrizzleResult, chip: Chip) -> WCS:
    from .io.checks import linear_wcs  # coeffs=False: the WCS without its distortion

    return chip.wcs if res.params["coeffs"] else linear_wcs(chip.wcs)


def _hst_orientat(exp: Exposure) -> float | None:
    """drizzlepac's default orientation for HST chips with V2/V3 reference data."""
    from .outwcs import hst_reference_orientat

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
    from .outwcs import make_output_wcs

    p = res.params
    chips = [c for _, _, c in res.chips()]
    wcs_list = [_chip_wcs(res, c) for c in chips]
    shapes = [c.shape for c in chips]
    kw: dict[str, Any] = {}
    if enabled:
        for name in ("rot", "scale", "outnx", "outny", "ra", "dec", "crpix1", "crpix2"):
            kw[name] = p[f"{prefix}_{name}"]
        if p[f"{prefix}_refimage"]:
            kw["refimage"] = _read_refimage(p[f"{prefix}_refimage"])
    return make_output_wcs(wcs_list, shapes, pscale=chips[0].idcscale,
                           orientat=_hst_orientat(res.exposures[0]), **kw)[0]


def _build_frames(res: AstrodrizzleResult) -> None:
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


def _output_name(sources, all_files: bool, input, output: str | None,
                 exposures: list[Exposure], names: list[str]) -> str:
    if all_files:
        return output_filename(input, output or None, sources)
    first = names[0]
    flc = first.lower().endswith(("_flc.fits", "_flc.fits.gz")) or str(
        exposures[0].primary_header.get("FILENAME", "")).lower().endswith("_flc.fits")
    suffix = "_drc" if flc else ("_drw" if exposures[0].instrument == "WFPC2" else "_drz")
    if not output:
        root = _exposure_root(first, exposures[0], 0) if len(exposures) == 1 else "final"
        return root + suffix + ".fits"
    low = output.lower()
    if ".fits" in low or suffix[:4] in low:
        return output
    return output + suffix + ".fits"


def prepare(input, output: str | None = None, *, progress: bool = False,
            **params) -> AstrodrizzleResult:
    """Step 1: validate parameters, read the inputs, build the output frames.

    Parameters
    ----------
    input : str, path, list, astropy.io.fits.HDUList or Exposure
        File name, wildcard, comma list, ``@file``, ASN table, a list of
        those, or in-memory HDU lists (e.g. from
        :func:`drizzlekit.datasets.simulate_dither`). None uses the
        ``input`` parameter's default (``'*flt.fits'``).
    output : str, optional
        Output root name (``<output>_drz.fits``); default as drizzlepac
        (the rootname of a single input, else ``'final'``).
    progress : bool
        Show progress bars in the long steps.
    **params
        AstroDrizzle parameters (drizzlepac names).

    Returns
    -------
    AstrodrizzleResult
        With ``exposures``, ``single_wcs`` and ``output_wcs`` set.

    Raises
    ------
    ParameterError
        Unknown parameter (closest name suggested), invalid or unsupported
        value.
    InputFileError
        A missing, unreadable or malformed input file.
    InputError
        Other invalid input (an input given twice, no chip selected ...).
    """
    if "input" in params:
        raise ParameterError("give the input as the first argument, not as input=")
    p = _validate({**params, "output": output or ""})
    if input is None:
        input = p["input"]
    sources, all_files = _load_items(input)
    _check_distinct(sources)
    exposures, names = _read_sources(sources, p)
    _reset_dq(exposures, p["resetbits"])
    _apply_dependencies(p, len(exposures))
    ivm = [next((s.ivm for s in sources if isinstance(s, InputItem) and s.filename == n),
                None) for n in names]  # per exposure (a split STIS file has none)
    out_name = _output_name(sources, all_files, input, p["output"], exposures, names)
    res = AstrodrizzleResult(params=p, exposures=exposures, names=names, ivm_files=ivm,
                             output=out_name, progress=progress)
    _check_output_paths(res)
    check_inputs(res)  # exposure times, WCSs, usable pixels (drizzlekit.io.checks)
    if p["final_wht_type"] == "IVM" and p["driz_combine"]:
        for _, e, chip in res.chips():  # a bad IVM file fails now, not after the median
            _read_ivm(res, e, chip)
    t0 = time.perf_counter()
    _build_frames(res)
    check_output_size(res)  # memory and disk space, before anything is allocated
    res.timings["initialize"] = time.perf_counter() - t0
    log.info("output frame %s (ny, nx), %.4f arcsec/pixel; single frame %s",
             res.output_shape, _pscale(res.output_wcs), res.single_shape)
    return res


def _pscale(w: WCS) -> float:
    from .steps.drizzle_steps import output_pscale

    return output_pscale(w)


# =========================================================================== files written
def _planned_files(res: AstrodrizzleResult) -> list[str]:
    from .io.fits_output import product_filenames

    p = res.params
    out = list(dict.fromkeys(product_filenames(res.output, bool(p["build"])).values()))
    if p["driz_cr"] and len(res.exposures) > 1:
        for key, e, chip in res.chips():
            if not p["in_memory"]:
                out.append(_crmask_name(res, e, chip))
        if p["driz_cr_corr"]:
            out.extend(_crclean_name(res, e) for e in range(len(res.exposures)))
    return out


def _out_dir(res: AstrodrizzleResult) -> str:
    return os.path.dirname(res.output) or "."


def _crmask_name(res: AstrodrizzleResult, e: int, chip: Chip) -> str:
    root = _exposure_root(res.names[e], res.exposures[e], e)
    return os.path.join(_out_dir(res), f"{root}_sci{chip.extver}_crmask.fits")


def _crclean_name(res: AstrodrizzleResult, e: int) -> str:
    root = _exposure_root(res.names[e], res.exposures[e], e)
    return os.path.join(_out_dir(res), f"{root}_crclean.fits")


def _check_distinct(sources) -> None:
    """The same file given twice (by name, symbolic or hard link) is an error."""
    from .io.inplace import check_distinct

    check_distinct([s.filename for s in sources if isinstance(s, InputItem)], "input")


def _check_output_paths(res: AstrodrizzleResult) -> None:
    """Fail early (before any work) if a product would overwrite an input or
    cannot be written."""
    outdir = _out_dir(res)
    if not os.path.isdir(outdir):
        raise InputFileError(f"{outdir}: output directory does not exist")
    if not os.access(outdir, os.W_OK):
        raise InputFileError(f"{outdir}: output directory is not writable")
    inputs = [n for n in res.names if not n.startswith("<in-memory")]
    inputs += [i for i in res.ivm_files if i]
    planned = _planned_files(res)
    check_output_files(planned)  # directories, name lengths, permissions
    if len(set(planned)) != len(planned):
        raise InputError("output: two products would get the same file name "
                         f"({sorted(planned)})")
    for path in planned:
        for inp in inputs:
            same = os.path.abspath(path) == os.path.abspath(inp) or (
                os.path.exists(path) and os.path.exists(inp) and os.path.samefile(path, inp))
            if same:
                raise InputError(f"output: product {path} would overwrite the input "
                                 f"file {inp}; choose another output name")


# =========================================================================== helpers
def _signature(chip: Chip) -> tuple:
    return (chip.extver, chip.shape)


def _static(res: AstrodrizzleResult, chip: Chip) -> np.ndarray | None:
    return res.static_masks.get(_signature(chip))


def _dq_mask(chip: Chip, bits, name: str) -> np.ndarray | None:
    if chip.dq is None or bits is None:
        return None
    return dq_to_mask(chip.dq, bits, name)


def _iterate(res: AstrodrizzleResult, items, desc: str):
    from .progress import progress_bar

    return progress_bar(items, res.progress, desc)


def _same_frame(a: WCS, b: WCS) -> bool:
    if a is b:
        return True
    return (a.pixel_shape == b.pixel_shape and np.allclose(a.wcs.crval, b.wcs.crval, 0, 1e-12)
            and np.allclose(a.wcs.crpix, b.wcs.crpix, 0, 1e-9)
            and np.allclose(a.pixel_scale_matrix, b.pixel_scale_matrix, 1e-12, 0)
            and list(a.wcs.ctype) == list(b.wcs.ctype))


def _pixmap(res: AstrodrizzleResult, e: int, chip: Chip, frame: WCS) -> np.ndarray:
    """Chip -> frame pixel map, kept (compactly) while the cache has room."""
    from .pixmap import calc_pixmap

    tag = "single" if _same_frame(frame, res.single_wcs) else "final"
    key = (e, chip.extver, tag)
    if key in res._pixmaps:
        return res._pixmaps[key].decode()
    step = res.params["stepsize"] or None
    pm = calc_pixmap(_chip_wcs(res, chip), frame, shape=chip.shape, stepsize=step)
    if not np.isfinite(pm).all():
        return pm
    # always the stored numbers (cached or not), so a Dask worker that computes the
    # map itself (drizzlekit.distributed) drizzles exactly the same positions
    store = PixmapStore(pm)
    if res._pixmap_bytes + store.nbytes <= pixmap_cache_bytes(res.params.get("memory_limit")):
        res._pixmaps[key] = store
        res._pixmap_bytes += store.nbytes
    return store.decode()  # the same numbers in every step


def _require(res: AstrodrizzleResult, what: str, step: str, first: str) -> None:
    missing = {"singles": not res.single_sci, "median": res.median is None,
               "blots": not res.blots}[what]
    if missing:
        raise InputError(f"step '{step}' needs the {what}: call {first}(result) first")


# =========================================================================== step 2
def run_static_mask(res: AstrodrizzleResult) -> dict:
    """Step 2: one static mask per chip signature (spec §4).

    Returns
    -------
    dict
        ``(extver, (ny, nx))`` -> bool array, ``True`` = good
        (also stored in ``res.static_masks``).
    """
    from .steps.static_mask import static_mask

    p = res.params
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from .distributed import static_masks_on_client

        res.static_masks = static_masks_on_client(res)
    else:
        groups: dict[tuple, list[np.ndarray]] = {}
        for _, _, chip in res.chips():
            groups.setdefault(_signature(chip), []).append(chip.sci)
        res.static_masks = {sig: static_mask(arrs, p["static_sig"], compat=p["stats_compat"])
                            for sig, arrs in groups.items()}
    for sig, m in res.static_masks.items():
        log.info("static mask of chip %d %s: %d pixels flagged", sig[0], sig[1],
                 int((~m).sum()))
    return res.static_masks


# =========================================================================== step 3
def _read_sky_table(path: str, res: AstrodrizzleResult, what: str) -> tuple[dict, bool]:
    """``{(name, extver): value}`` from a sky file; and whether 'applied = yes'."""
    if not os.path.isfile(path):
        raise InputFileError(f"{path}: {what} not found")
    applied = False
    values: dict = {}
    bynames = {}
    for e, name in enumerate(res.names):
        bynames[name] = e
        bynames[os.path.basename(name)] = e
        bynames[_exposure_root(name, res.exposures[e], e)] = e
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if text.startswith("#"):
                body = text[1:].replace(" ", "").lower()
                if body.startswith("applied="):
                    applied = body.split("=", 1)[1] in ("yes", "true", "y")
                continue
            if not text:
                continue
            cols = text.split()
            fname = cols[0].split("[")[0]
            e = bynames.get(fname, bynames.get(os.path.basename(fname)))
            if e is None:
                log.warning("%s:%d: %s is not an input; ignored", path, lineno, fname)
                continue
            try:
                vals = [float(v) for v in cols[1:]]
            except ValueError:
                raise InputFileError(f"{path}:{lineno}: sky values must be numbers") from None
            chips = res.exposures[e].chips
            if len(vals) == 1:
                vals = vals * len(chips)
            if len(vals) != len(chips):
                raise InputFileError(f"{path}:{lineno}: {len(vals)} sky values for "
                                     f"{len(chips)} chips of {fname}")
            for chip, v in zip(chips, vals):
                values[(res.names[e], chip.extver)] = v
    return values, applied


def run_sky(res: AstrodrizzleResult) -> dict:
    """Step 3: the sky of every chip (spec §5; ``skysub``, ``skyfile``, ``skyuser``).

    Returns
    -------
    dict
        ``(name, extver)`` -> sky in data units (``res.sky``); the values
        subtracted on the fly are in ``res.computed_sky`` (None = none).
    """
    from .steps.sky import SkyInput, compute_sky

    p = res.params
    keys = [k for k, _, _ in res.chips()]
    if not p["skysub"]:
        res.computed_sky = {k: None for k in keys}
        user = str(p["skyuser"] or "").strip()
        if user.startswith("@"):
            vals, _ = _read_sky_table(user[1:], res, "skyuser file")
            res.sky = {k: float(vals.get(k, 0.0)) for k in keys}
        elif user:
            res.sky = {}
            for k, e, chip in res.chips():
                v = chip.header.get(user, res.exposures[e].primary_header.get(user))
                if v is None:
                    raise InputFileError(f"{res.names[e]}[SCI,{chip.extver}]: skyuser "
                                         f"keyword {user} not found")
                res.sky[k] = float(v)
        else:
            res.sky = {k: float(chip.mdrizsky or 0.0) for k, _, chip in res.chips()}
        return res.sky
    if p["skyfile"]:
        vals, applied = _read_sky_table(p["skyfile"], res, "skyfile")
        for k in keys:
            if k not in vals:
                log.warning("skyfile %s has no value for %s[%d]; sky = 0", p["skyfile"],
                            *k)
        res.sky = {k: float(vals.get(k, 0.0)) for k in keys}
        res.computed_sky = {k: (None if applied else res.sky[k]) for k in keys}
        return res.sky
    if getattr(res.scaling, "client", None) is not None and \
            p["skymethod"] in ("localmin", "globalmin"):  # Dask: statistics per chip
        from .distributed import sky_on_client

        res.sky = sky_on_client(res)
        res.computed_sky = dict(res.sky)
        for k, v in res.sky.items():
            log.info("sky %s[SCI,%d] = %.4f", k[0], k[1], v)
        return res.sky
    inputs = []
    for k, e, chip in res.chips():
        mask = combine_masks(_dq_mask(chip, p["sky_bits"], "sky_bits"),
                    _static(res, chip) if p["use_static"] else None)
        inputs.append(SkyInput(data=chip.sci, exposure=e, mask=mask, wcs=_chip_wcs(res, chip),
                               exptime=chip.exptime, in_units=chip.in_units,
                               idcscale=chip.idcscale))
    sky = compute_sky(inputs, skymethod=p["skymethod"], skystat=p["skystat"],
                      lower=p["skylower"], upper=p["skyupper"], nclip=p["skyclip"],
                      lsigma=p["skylsigma"], usigma=p["skyusigma"], binwidth=p["skywidth"],
                      overlap_step=p["sky_overlap_step"], compat=p["stats_compat"])
    res.sky = {k: float(v) for k, v in zip(keys, sky)}
    res.computed_sky = dict(res.sky)
    for k, v in res.sky.items():
        log.info("sky %s[SCI,%d] = %.4f", k[0], k[1], v)
    return res.sky


# =========================================================================== steps 4 and 8
def _drizzle_input(res: AstrodrizzleResult, key: ChipKey, e: int, chip: Chip, mask,
                   ivm=None):
    from .steps.drizzle_steps import DrizzleInput

    cf = chip.conversion_factor
    sky = res.sky.get(key, 0.0)
    return DrizzleInput(
        data=chip.sci, wcs=_chip_wcs(res, chip), exptime=chip.exptime,
        in_units=chip.in_units, eff_gain=chip.eff_gain, sky=res.computed_sky.get(key),
        mask=mask, err=chip.err, ivm=ivm, pscale=chip.idcscale, rdnoise=chip.rdnoise,
        sky_electrons=float(sky) * cf, dark=float(chip.header.get(
            "MEANDARK", res.exposures[e].primary_header.get("MEANDARK", 0.0)) or 0.0),
        name=f"{res.names[e]}[SCI,{chip.extver}]")


def run_drizzle_separate(res: AstrodrizzleResult) -> dict:
    """Step 4: drizzle every exposure onto ``single_wcs`` (spec §6).

    Returns
    -------
    dict
        ``name`` -> single-drizzled SCI (e-/s); the weights are in
        ``res.single_wht``.
    """
    # every exposure on its own footprint (memory grows with the inputs, issue 12);
    # res.single_sci/single_wht are full-frame views built on access
    from .mosaic import run_drizzle_separate as _on_footprints

    return _on_footprints(res)


def _check_overlap(res: AstrodrizzleResult) -> None:
    """Every exposure must share pixels with another one for CR rejection."""
    from .mosaic import lonely_exposures

    alone = lonely_exposures(res)  # one coverage count over the footprints
    if alone:
        raise NoOverlapError(
            "no overlap between exposures: " + ", ".join(alone) + " share(s) no pixel "
            "with any other input, so cosmic rays cannot be rejected; set median=False, "
            "blot=False, driz_cr=False to drizzle a mosaic without rejection")


def run_final_drizzle(res: AstrodrizzleResult) -> np.ndarray:
    """Step 8: drizzle all chips onto ``output_wcs`` (spec §10).

    Returns
    -------
    numpy.ndarray
        ``res.sci`` (in ``res.bunit``); ``res.wht`` and ``res.ctx`` are set too.
    """
    from .io.fits_output import ChipRecord
    from .steps.drizzle_steps import drizzle_chips, final_units, output_pscale

    p = res.params
    err_kw = _final_err_args(res)
    chips, order = [], []
    client = getattr(res.scaling, "client", None)
    for key, e, chip in res.chips():
        order.append((e, chip))
        if client is not None:  # the workers read pixels and masks themselves
            continue
        cr = res.cr_masks.get(key)
        mask = combine_masks(_dq_mask(chip, p["final_bits"], "final_bits"), _static(res, chip),
                    None if cr is None else ~cr)
        ivm = _read_ivm(res, e, chip) if p["final_wht_type"] == "IVM" else None
        chips.append(_drizzle_input(res, key, e, chip, mask, ivm))
    if client is not None:  # Dask: one task per output tile
        from .distributed import final_drizzle_on_client

        drizzle_chips = final_drizzle_on_client(res)  # noqa: F811 - same signature
    prod = drizzle_chips(chips, res.output_wcs, res.output_shape, kernel=p["final_kernel"],
                         pixfrac=p["final_pixfrac"], fillval=p["final_fillval"],
                         initial=p["final_maskval"], wht_type=p["final_wht_type"],
                         wt_scl=p["final_wt_scl"], wt_scl_name="final_wt_scl",
                         context=p["context"], nctx=len(chips),
                         pixmap_cache=lambda k, c: _pixmap(res, order[k][0], order[k][1],
                                                           res.output_wcs),
                         progress=res.progress, desc="final drizzle", **err_kw)
    # drizzlepac converts to native units with the gain of the last chip drizzled
    # (WFPC2: chips differ by up to 0.3 %); measured against it in tests/test_formats_peer.py
    first = res.exposures[-1].chips[-1]
    res.sci, res.bunit = final_units(prod.sci, bunit=first.bunit,
                                     native_units=first.native_units, gain=first.gain,
                                     texptime=res.texptime, final_units=p["final_units"],
                                     proc_unit=p["proc_unit"])
    res.wht = prod.wht
    res.ctx = prod.ctx
    if err_kw:
        from .steps.variance import err_in_sci_units

        res.err = err_in_sci_units(prod.var, bunit=first.bunit,
                                   native_units=first.native_units, gain=first.gain,
                                   texptime=res.texptime, final_units=p["final_units"],
                                   proc_unit=p["proc_unit"])
    scale = output_pscale(res.output_wcs)
    res.records = [
        ChipRecord(data=f"{os.path.basename(res.names[e])}[sci,{chip.extver}]",
                   exptime=chip.exptime, wt_scl=prod.wt_scl[k], kernel=p["final_kernel"],
                   pixfrac=p["final_pixfrac"],
                   coeffs="SIP" if (p["coeffs"] and chip.wcs.sip is not None) else "none",
                   units=p["final_units"], fillval=p["final_fillval"], scale=scale,
                   idcscale=chip.idcscale)
        for k, (e, chip) in enumerate(order)]
    n_empty = int(np.count_nonzero(res.wht == 0))
    log.info("final drizzle: %s (ny, nx), %d pixels without weight, BUNIT %s",
             res.sci.shape, n_empty, res.bunit)
    return res.sci


def _final_err_args(res: AstrodrizzleResult) -> dict:
    """``{'variance': True}`` for ``final_err=True`` (ERR product), else ``{}``."""
    if not res.params.get("final_err"):
        return {}
    return {"variance": True}  # with a Dask client too: the tiles carry the variance


def _read_ivm(res: AstrodrizzleResult, e: int, chip: Chip) -> np.ndarray | None:
    """IVM array of a chip from the @file's IVM column (None = automatic IVM)."""
    path = res.ivm_files[e] if e < len(res.ivm_files) else None
    if not path:
        return None
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = None
            for h in hdul:
                if str(h.header.get("EXTNAME", "")).strip().upper() == "IVM" and \
                        int(h.header.get("EXTVER", 1) or 1) == chip.extver:
                    hdu = h
                    break
            if hdu is None and len(hdul) == 1 and chip.extver == 1:
                hdu = hdul[0]
            if hdu is None or hdu.data is None:
                raise InputFileError(f"{path}: no IVM,{chip.extver} extension")
            ivm = np.array(hdu.data, dtype=np.float32)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read the IVM file ({exc})") from exc
    if ivm.shape != chip.shape:
        raise InputFileError(f"{path}: IVM,{chip.extver} shape {ivm.shape} differs from "
                             f"{res.names[e]}[SCI,{chip.extver}] shape {chip.shape}")
    return ivm


# =========================================================================== step 5
def run_median(res: AstrodrizzleResult) -> np.ndarray | None:
    """Step 5: combine the single-drizzled images (spec §7).

    Returns
    -------
    numpy.ndarray or None
        ``res.median`` (e-/s); None when ``nlow + nhigh`` reject every image
        (then blot and driz_cr are skipped, as in drizzlepac).
    """
    _require(res, "singles", "median", "run_drizzle_separate")
    p = res.params
    names = [n for n in res.names if n in res.single_sci]
    n = len(names)
    if p["combine_type"] not in ("sum", "minmed", "iminmed") and \
            n - p["combine_nlow"] - p["combine_nhigh"] < 1:
        log.warning("median: combine_nlow + combine_nhigh reject all %d images; median, "
                    "blot and driz_cr skipped", n)
        res.median = None
        return None
    if n > 1:
        _check_overlap(res)
    exptimes, rn, bg = [], [], []
    for name in names:
        exp = res.exposures[res.names.index(name)]
        exptimes.append(exp.exptime)
        rn.append(math.sqrt(float(np.mean([c.rdnoise ** 2 for c in exp.chips]))))
        bg.append(min(res.sky.get((name, c.extver), 0.0) * c.conversion_factor
                      for c in exp.chips))
    from .mosaic import run_median as _median_in_bands

    res.median = _median_in_bands(
        res, names, combine_type=p["combine_type"], nlow=p["combine_nlow"],
        nhigh=p["combine_nhigh"],
        lthresh=p["combine_lthresh"], hthresh=p["combine_hthresh"],
        nsigma=p["combine_nsigma"], grow=p["combine_grow"], maskpt=p["combine_maskpt"],
        newmasks=p["median_newmasks"], exptimes=exptimes, readnoise=rn, backgrounds=bg,
        compat=p["combine_compat"])
    return res.median


# =========================================================================== step 6
def run_blot(res: AstrodrizzleResult) -> dict:
    """Step 6: blot the median onto every chip (spec §8).

    Returns
    -------
    dict
        ``(name, extver)`` -> blotted image, native units (``res.blots``).
    """
    from .steps.blot_step import blot_chip

    _require(res, "median", "blot", "run_median")
    p = res.params
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from .distributed import blot_on_client

        res.blots = blot_on_client(res)
        return res.blots
    res.blots = {}
    for key, e, chip in _iterate(res, list(res.chips()), "blot"):
        if p["blot_addsky"]:
            sky = res.computed_sky.get(key)
        else:
            sky = p["blot_skyval"]
        res.blots[key] = blot_chip(
            res.median, res.single_wcs, None, chip.shape, exptime=chip.exptime,
            pscale=chip.idcscale, conversion_factor=chip.conversion_factor, sky=sky,
            interp=p["blot_interp"], sinscl=p["blot_sinscl"],
            pixmap=_pixmap(res, e, chip, res.single_wcs))
    return res.blots


# =========================================================================== step 7
def run_driz_cr(res: AstrodrizzleResult) -> dict:
    """Step 7: flag cosmic rays against the blotted median (spec §9).

    Returns
    -------
    dict
        ``(name, extver)`` -> bool array, ``True`` = cosmic ray (``res.cr_masks``).
        With ``driz_cr_corr`` the cleaned chips are in ``res.cr_clean``.
    """
    from .steps.cr_checks import resolve_snr, warn_mixed_filters
    from .steps.driz_cr import flag_chip

    _require(res, "blots", "driz_cr", "run_blot")
    p = res.params
    res.cr_masks, res.cr_clean = {}, {}
    warn_mixed_filters([e.primary_header for e in res.exposures], res.names)
    snr = resolve_snr(p["driz_cr_noise_model"], p["driz_cr_snr"])
    for key, e, chip in res.chips():
        if key not in res.blots:
            raise InputError(f"step 'driz_cr': no blot for {key}; call run_blot first")
    if getattr(res.scaling, "client", None) is not None:  # Dask: one task per chip
        from .distributed import driz_cr_on_client

        flagged = driz_cr_on_client(res, snr)
    else:
        flagged = ((key, flag_chip(chip.sci, chip.dq, res.blots[key],
                                   **cr_arguments(res, key, chip, snr)))
                   for key, e, chip in _iterate(res, list(res.chips()), "driz_cr"))
    for key, (mask, clean) in flagged:
        res.cr_masks[key] = mask
        log.info("driz_cr %s[SCI,%d]: %d pixels flagged", key[0], key[1], int(mask.sum()))
        if clean is not None:
            res.cr_clean[key] = clean
    return res.cr_masks


def cr_arguments(res: AstrodrizzleResult, key: ChipKey, chip: Chip, snr) -> dict:
    """:func:`drizzlekit.steps.driz_cr.flag_chip` keywords of one chip (all but pixels);
    ``snr`` from :func:`drizzlekit.steps.cr_checks.resolve_snr`."""
    p = res.params
    cf = chip.conversion_factor
    # does the blot contain the sky? (then it is not added to the noise again)
    if not p["blot_addsky"]:
        in_model = False
    elif res.computed_sky.get(key) is not None:
        in_model = True  # subtracted on the fly, added back by the blot
    else:  # nothing subtracted: the data (and median) still hold the sky, unless
        in_model = not p["skysub"] and not str(p["skyuser"] or "").strip()
    return dict(name=f"{key[0]}[SCI,{key[1]}]", cf=cf, sep_bits=p["driz_sep_bits"],
                corr=bool(p["driz_cr_corr"]), crbit=p["crbit"], snr=snr,
                scale=p["driz_cr_scale"], grow=p["driz_cr_grow"], ctegrow=p["driz_cr_ctegrow"],
                cte_dir=chip.cte_dir, gain=chip.eff_gain, rdnoise=chip.rdnoise,
                background=res.sky.get(key, 0.0) * cf, sky_in_model=in_model,
                noise_model=p["driz_cr_noise_model"])


def run_single_cr(res: AstrodrizzleResult) -> dict:
    """Cosmic rays of a lone exposure by L.A.Cosmic (``driz_cr_single='lacosmic'``).

    A run with one exposure has no median to compare with, so step 7 flags
    nothing (as in drizzlepac). This searches each chip on its own
    (:func:`drizzlekit.steps.single_cr.lacosmic_mask`); the masks go to
    ``res.cr_masks`` and are applied by the final drizzle.

    Returns
    -------
    dict
        ``(name, extver)`` -> bool array, ``True`` = cosmic ray.
    """
    from .steps.cr_checks import warn_cr_fraction
    from .steps.single_cr import lacosmic_mask

    p = res.params
    res.cr_masks = {}
    for key, e, chip in _iterate(res, list(res.chips()), "single-exposure CRs"):
        cf = chip.conversion_factor
        bad = None
        if chip.dq is not None:
            bad = ~dq_to_mask(chip.dq, p["final_bits"], "final_bits")
        mask = lacosmic_mask(chip.sci.astype(np.float64) * cf, rdnoise=chip.rdnoise, bad=bad)
        res.cr_masks[key] = mask
        log.info("L.A.Cosmic %s[SCI,%d]: %d pixels flagged", key[0], key[1], int(mask.sum()))
        warn_cr_fraction(f"{key[0]}[SCI,{key[1]}]", mask)
    return res.cr_masks


def _wants_single_cr(res: AstrodrizzleResult) -> bool:
    return res.params.get("driz_cr_single", "off") != "off" and len(res.exposures) == 1


# =========================================================================== writing
@output_errors  # disk full / permission lost while writing -> OutputFileError
def write_products(res: AstrodrizzleResult) -> list[str]:
    """Write the final product (and CR masks / cleaned images) atomically.

    Returns
    -------
    list of str
        The files written (also appended to ``res.files_written``).
    """
    from .io.fits_output import write_crclean, write_crmask, write_drizzle_product
    from .products import product_arguments

    if res.sci is None:
        raise InputError("write_products needs the final image: call run_final_drizzle "
                         "first")
    _check_output_paths(res)
    p = res.params
    _announce_overwrites(res.output, bool(p["build"]))
    written = write_drizzle_product(**product_arguments(res))
    if res.cr_masks and not p["in_memory"]:
        for key, e, chip in res.chips():
            if key in res.cr_masks:
                written.append(write_crmask(_crmask_name(res, e, chip), res.cr_masks[key],
                                            wcs=chip.wcs, source=res.names[e],
                                            extver=chip.extver, crbit=p["crbit"]))
    if res.cr_clean:
        for e, exp in enumerate(res.exposures):
            cleaned, dq = {}, {}
            for chip in exp.chips:
                key = (res.names[e], chip.extver)
                if key not in res.cr_clean:
                    continue
                cleaned[chip.extver] = res.cr_clean[key]
                good = ~res.cr_masks[key]
                if chip.dq is not None:
                    good &= dq_to_mask(chip.dq, p["crbit"], "crbit")
                dq[chip.extver] = np.where(good, 0, p["crbit"]).astype(np.int32)
            if cleaned:
                src = res.names[e]
                if src.startswith("<in-memory"):
                    src = _memory_hdulist(exp)
                written.append(write_crclean(_crclean_name(res, e), src, cleaned, dq))
    res.files_written.extend(written)
    return written


def _announce_compiling(p: dict) -> None:
    """Say so when this run will compile numba kernels first (an empty cache)."""
    from .warmup import cold

    try:
        pending = cold([p["driz_sep_kernel"], p["final_kernel"], "blot", "stats", "driz_cr"])
    except Exception as exc:  # the check is a courtesy; it must never stop a run
        log.debug("could not tell whether kernels are compiled: %s", exc)
        return
    if pending:
        log.info("compiling kernels (first run only): %s; 'drizzlekit warmup' does this "
                 "ahead of time", ", ".join(dict.fromkeys(pending)))


def _announce_overwrites(output: str, build: bool) -> None:
    from .io.fits_output import product_filenames

    for name in dict.fromkeys(product_filenames(output, build).values()):
        if os.path.exists(name):
            log.warning("overwriting the existing product %s", name)


def _memory_hdulist(exp: Exposure) -> fits.HDUList:
    hdus = [fits.PrimaryHDU(header=exp.primary_header)]
    for chip in exp.chips:
        hdus.append(fits.ImageHDU(chip.sci, header=chip.header))
        if chip.dq is not None:
            hdus.append(fits.ImageHDU(chip.dq, name="DQ", ver=chip.extver))
    return fits.HDUList(hdus)


# =========================================================================== shifts hook
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
    from .io.wcs_update import ShiftFile, read_shiftfile

    sf = shiftfile if isinstance(shiftfile, ShiftFile) else read_shiftfile(shiftfile)
    for exp in res.exposures:
        fixed = sf.correct(exp.filename, [chip.wcs for chip in exp.chips])
        for chip, wcs in zip(exp.chips, fixed):
            chip.wcs = wcs
    _build_frames(res)


# =========================================================================== the task
@contextmanager
def _threads(num_cores):
    if not num_cores:
        yield
        return
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(num_cores), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _timed(res: AstrodrizzleResult, name: str, func) -> None:
    t0 = time.perf_counter()
    func(res)
    res.timings[name] = time.perf_counter() - t0
    log.info("step %s done in %.2f s", name, res.timings[name])


def astrodrizzle(input, output: str | None = None, *, progress: bool | None = None,
                 client=None, scratch_dir: str | os.PathLike | None = None,
                 **params) -> AstrodrizzleResult:
    """Combine dithered exposures, rejecting cosmic rays (drizzlepac's AstroDrizzle).

    Parameters
    ----------
    input : str, path, list, astropy.io.fits.HDUList or Exposure
        File name, wildcard, comma list, ``@file`` (optional IVM column),
        ASN table, or a list of names / in-memory HDU lists.
    output : str, optional
        Output root name; the product is ``<output>_drz.fits`` (``_drc`` for
        FLC inputs). Default: the rootname of a single input, else ``'final'``.
    progress : bool or None
        Show progress bars on the long steps; None (default): only when stderr
        is a terminal or in a Jupyter notebook. Log lines are written beside
        the bars, never through them.
    client : dask.distributed.Client, optional
        Run the per-chip steps (static mask, sky statistics, single drizzles,
        blots, driz_cr) and the per-tile steps (median bands, final-drizzle
        tiles) as tasks on the client's workers, which read the pixels from
        the input paths (:mod:`drizzlekit.distributed`); the product is
        bit-identical to the in-process run.
    scratch_dir : str or path, optional
        With ``in_memory=False``, where the temporary directory of the
        intermediates is made (default: the product's directory). It is
        removed when the run ends, also on failure or Ctrl-C.
    **params
        AstroDrizzle parameters with drizzlepac's names (``final_kernel``,
        ``final_pixfrac``, ``driz_cr_snr`` ...), see
        ``drizzlekit.params.get_spec('astrodrizzle')``. ``memory_limit``
        (GiB) is the memory the run may use: output frames needing more than
        half of it are refused before the first step, and the median's row
        bands and the pixel-map cache are sized from the rest
        (:mod:`drizzlekit.memory`).

    Returns
    -------
    AstrodrizzleResult
        Every intermediate and the final ``sci``/``wht``/``ctx``.

    Raises
    ------
    ParameterError
        Unknown (closest name suggested), invalid or unsupported parameter.
    InputFileError
        Missing, unreadable or malformed input file.
    NoOverlapError
        An exposure shares no pixel with the others while CR rejection is on.
    InputError
        Other invalid input. On any error nothing is written (except the log
        file) and the inputs are untouched.

    Examples
    --------
    >>> res = astrodrizzle("*_flt.fits", output="final", final_kernel="square",
    ...                    final_pixfrac=0.8, build=True)             # doctest: +SKIP
    >>> res.files_written                                             # doctest: +SKIP
    ['final_drz.fits', ...]
    """
    if "max_memory" in params:  # a keyword of 0.2.0 development builds only
        raise ParameterError("max_memory (bytes) was replaced by the memory_limit parameter "
                             "(GiB, the memory the run may use; the median's buffers get a "
                             "quarter of it)")
    runfile = params.get("runfile", None)
    if runfile is None:
        from .params import get_spec

        runfile = get_spec("astrodrizzle")["runfile"].default
    scratch = None
    from .products import parameter_lines
    from .progress import logs_beside_bars, want_progress

    progress = want_progress(progress)
    with run_log(runfile, task="astrodrizzle"), logs_beside_bars(progress):
        try:
            with lazy_pixels(client is not None):  # workers read the pixels themselves
                res = prepare(input, output, progress=progress, **params)
            p = res.params
            log.info("%s", "\n".join(parameter_lines(p)))
            _announce_compiling(p)
            from .mosaic import start_scaling

            scratch = start_scaling(res, client, None, scratch_dir)
            _final_err_args(res)  # unsupported combinations fail before the steps
            with _threads(p["num_cores"]):
                for name, flag in STEPS:
                    if flag is not None and not p[flag]:
                        continue
                    func = {"static_mask": run_static_mask, "sky": run_sky,
                            "driz_separate": run_drizzle_separate, "median": run_median,
                            "blot": run_blot, "driz_cr": run_driz_cr,
                            "final_drizzle": run_final_drizzle}[name]
                    if name in ("blot", "driz_cr") and res.median is None:
                        continue
                    if name == "final_drizzle" and _wants_single_cr(res):
                        _timed(res, "single_cr", run_single_cr)
                    _timed(res, name, func)
            if p["driz_combine"]:
                _timed(res, "write", write_products)
            res._pixmaps.clear()
            res._pixmap_bytes = 0
        finally:  # intermediates on disk go, also on failure and Ctrl-C
            if scratch is not None:
                scratch.close()
    log.info("astrodrizzle finished:\n%s", res.summary())
    return res
