"""Step 1 (:func:`prepare`): validate the parameters, read the inputs, build the
output frames."""

from __future__ import annotations

import copy
import logging
import os
import time

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..exceptions import InputError, InputFileError, ParameterError
from ..io.checks import check_inputs
from ..io.fits_input import Exposure, read_exposure
from ..io.inputs import InputItem, expand_inputs
from ..io.lazy import release_pixels
from ..io.output_checks import check_output_size
from ..io.stis import split_exposure
from .chips import read_ivm
from .frames import build_frames
from .outputs import check_distinct_inputs, check_output_paths, output_name
from .result import AstrodrizzleResult

log = logging.getLogger(__name__)

#: Parameters accepted for drizzlepac compatibility that have no effect here.
_NO_EFFECT = ("restore", "preserve", "overwrite", "clean", "driz_sep_compress",
              "combine_bufsize")
#: Parameters drizzlekit does not implement: (name, value that is fine).
_UNSUPPORTED = (("wcskey", ""), ("skymask_cat", ""), ("mdriztab", False),
                ("updatewcs", False))


def _validate(params: dict) -> dict:
    from ..params import get_spec

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
    from ..io.nddata_input import is_nddata, nddata_to_hdulist

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
    from ..io.bits import interpret_bits

    bits = interpret_bits(resetbits, "resetbits")
    if not bits:
        return
    for exp in exposures:
        for chip in exp.chips:
            if getattr(chip, "lazy", False):  # cleared when read (io/lazy.py)
                continue
            if chip.dq is not None:
                chip.dq = (chip.dq.astype(np.int64) & ~int(bits)).astype(chip.dq.dtype)


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
    check_distinct_inputs(sources)
    exposures, names = _read_sources(sources, p)
    _reset_dq(exposures, p["resetbits"])
    _apply_dependencies(p, len(exposures))
    ivm = [next((s.ivm for s in sources if isinstance(s, InputItem) and s.filename == n),
                None) for n in names]  # per exposure (a split STIS file has none)
    out_name = output_name(sources, all_files, input, p["output"], exposures, names)
    res = AstrodrizzleResult(params=p, exposures=exposures, names=names, ivm_files=ivm,
                             output=out_name, progress=progress)
    check_output_paths(res)
    check_inputs(res)  # exposure times, WCSs, usable pixels (drizzlekit.io.checks)
    if p["final_wht_type"] == "IVM" and p["driz_combine"]:
        for _, e, chip in res.chips():  # a bad IVM file fails now, not after the median
            read_ivm(res, e, chip)
    t0 = time.perf_counter()
    build_frames(res)
    check_output_size(res)  # memory and disk space, before anything is allocated
    res.timings["initialize"] = time.perf_counter() - t0
    log.info("output frame %s (ny, nx), %.4f arcsec/pixel; single frame %s",
             res.output_shape, _pscale(res.output_wcs), res.single_shape)
    return res


def _pscale(w: WCS) -> float:
    from ..steps.drizzle_steps import output_pscale

    return output_pscale(w)
