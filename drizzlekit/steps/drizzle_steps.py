"""Steps 4 and 8: drizzle separate and the final drizzle (spec §6, §10).

Both steps drizzle chips onto an undistorted output frame with
:class:`drizzlekit.Drizzle`; they differ only in which chips share an output
(one product per exposure vs. one for everything), in the weights and in the
initial value and fill of the output.

Per chip ``k`` (spec §6.1, §10.1):

* data ``d = (SCI - sky) * eff_gain`` (no sky term when ``sky`` is None);
  count data are divided by EXPTIME inside the drizzle, so every product is
  a rate in electrons per second (x gain for count data);
* ``iscale = s**2`` and ``pixel_scale_ratio = s`` with
  ``s = pscale_out / pscale_k``, the output pixel scale over the chip's
  nominal undistorted scale (IDCSCALE): the output keeps the surface
  brightness per output pixel;
* weights (``M`` = the chip's good-pixel mask, DQ x static x CR):

  ============ ===================================== ======================
  type         input weight ``w_in``                 ``wt_scl``
  ============ ===================================== ======================
  EXP (and the EXPTIME * M                           from ``*_wt_scl``
  single step)
  ERR          M / var(rate), var(rate) =            1 / s**4
               (ERR * eff_gain / t_counts)**2
  IVM (file)   IVM * M                               EXPTIME**2 / s**4
  IVM (auto)   M / (dark + sky_e + rn**2)  [e-**-2]  EXPTIME**2 / s**4
  ============ ===================================== ======================

  ``t_counts`` is EXPTIME for count data and 1 for per-second data. For
  ACS/WFC3 electrons this is drizzlepac's ``(EXPTIME / ERR)**2``; for
  per-second data (WFC3/IR) drizzlepac's formula is off by EXPTIME**2 per
  chip, drizzlekit uses the true inverse variance of the rate.
* ``*_wt_scl``: ``'exptime'`` -> 1 (the weight already carries EXPTIME),
  ``'expsq'`` -> EXPTIME (weights EXPTIME**2; drizzlepac gives 1 here,
  spec Q1), a number -> that number.
* context: one id per chip, ``1..Nchips`` in processing order (bit
  ``(id-1) % 32`` of plane ``(id-1) // 32``).

The automatic IVM uses a flat field of 1 (P-flat reference files are not
read), the dark from the ``MEANDARK`` keyword (electrons, 0 when absent),
the sky in electrons and the read noise.
"""

from __future__ import annotations

import collections.abc
import logging
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from astropy.wcs import WCS

from ..exceptions import InputError, ParameterError, ShapeError
from ..kernels import get_kernel
from ..progress import progress_bar
from ..resample import Drizzle

__all__ = [
    "DrizzleInput",
    "DrizzleProduct",
    "WHT_TYPES",
    "parse_wt_scl",
    "output_pscale",
    "chip_data",
    "chip_weight",
    "drizzle_chips",
    "drizzle_separate",
    "final_drizzle",
    "final_units",
]

log = logging.getLogger(__name__)

#: Weight types of the final drizzle (``None`` = the single-drizzle EXPTIME weights).
WHT_TYPES = ("EXP", "ERR", "IVM")


@dataclass
class DrizzleInput:
    """One chip as the drizzle steps see it.

    Attributes
    ----------
    data : 2-D array
        SCI data in the chip's native units (sky not removed).
    wcs : astropy.wcs.WCS or None
        Full (distorted) chip WCS; not needed when ``pixmap`` is given.
    exptime : float
        Exposure time, s.
    in_units : {'counts', 'cps'}
        ``'cps'`` for per-second data.
    eff_gain : float
        Factor turning the data into electrons(-like) values.
    sky : float or None
        Sky subtracted on the fly (data units); None = nothing subtracted.
    mask : 2-D bool array, optional
        ``True`` = good pixel (DQ, static and CR masks combined).
    err : 2-D array, optional
        ERR array (data units), for ``wht_type='ERR'``.
    ivm : 2-D array, optional
        Inverse-variance map, for ``wht_type='IVM'``; when None an automatic
        one is built from ``sky_electrons``, ``rdnoise`` and ``dark``.
    pscale : float, optional
        Nominal undistorted pixel scale (IDCSCALE), arcsec/pixel; default
        sqrt|det CD| of ``wcs``.
    rdnoise : float
        Read noise, e- (automatic IVM).
    sky_electrons : float
        Sky in electrons per pixel (automatic IVM).
    dark : float
        Dark current in electrons per pixel (automatic IVM).
    name : str
        For messages (``file[SCI,k]``).
    pixmap : array (ny, nx, 2), optional
        Precomputed output positions of the chip's pixels (0-based).
    """

    data: np.ndarray
    wcs: WCS | None
    exptime: float
    in_units: str = "counts"
    eff_gain: float = 1.0
    sky: float | None = None
    mask: np.ndarray | None = None
    err: np.ndarray | None = None
    ivm: np.ndarray | None = None
    pscale: float | None = None
    rdnoise: float = 0.0
    sky_electrons: float = 0.0
    dark: float = 0.0
    name: str = ""
    pixmap: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """Chip shape ``(ny, nx)``, pixels."""
        return tuple(np.shape(self.data))  # type: ignore[return-value]


@dataclass
class DrizzleProduct:
    """Output of one drizzle product.

    Attributes
    ----------
    sci : float32 array
        Drizzled rate (e-/s, x gain for count data) per output pixel.
    wht : float32 array
        Accumulated weight.
    ctx : int32 array (planes, ny, nx) or None
        Context bits (None when disabled).
    wt_scl : list of float
        The weight scale used for every chip (``DnnnWTSC``).
    pixel_scale_ratio : list of float
        ``s`` of every chip.
    nmiss : list of int
        Input pixels of every chip that missed the output.
    var : float32 array or None
        Variance of ``sci`` ((e-/s)**2, x gain**2 for count data) from the
        chips' ERR arrays drizzled with squared weights (``variance=True``);
        NaN where ``wht`` is 0. None otherwise.
    """

    sci: np.ndarray
    wht: np.ndarray
    ctx: np.ndarray | None
    wt_scl: list
    pixel_scale_ratio: list
    nmiss: list
    var: np.ndarray | None = None


# -- scalars ----------------------------------------------------------------------
def parse_wt_scl(value, exptime: float, name: str = "wt_scl") -> float:
    """Weight scale from a ``*_wt_scl`` parameter (spec §6.2, Q1 fixed).

    Parameters
    ----------
    value : str, float or None
        ``'exptime'`` (-> 1, the weight already holds EXPTIME), ``'expsq'``
        (-> ``exptime``, so the weight becomes EXPTIME**2), a number or a
        numeric string, or None/'' (-> 1).
    exptime : float
        Exposure time of the chip, s.
    name : str
        Parameter name for error messages.
    """
    if value is None:
        return 1.0
    if isinstance(value, str):
        s = value.strip().lower()
        if s in ("", "none", "indef", "exptime"):
            return 1.0
        if s == "expsq":
            return float(exptime)
        try:
            out = float(s)
        except ValueError:
            raise ParameterError(f"{name}: expected 'exptime', 'expsq' or a number, "
                                 f"got {value!r}") from None
    else:
        out = float(value)
    if not (math.isfinite(out) and out >= 0):
        raise ParameterError(f"{name}: must be a finite number >= 0, got {value!r}")
    return out


def output_pscale(wcs: WCS) -> float:
    """Pixel scale of an (undistorted) output WCS, arcsec/pixel."""
    cd = np.asarray(wcs.celestial.pixel_scale_matrix, dtype=float)
    return math.sqrt(abs(np.linalg.det(cd))) * 3600.0


def _chip_pscale(chip: DrizzleInput) -> float:
    if chip.pscale is not None:
        if not chip.pscale > 0:
            raise InputError(f"{chip.name}: pscale must be > 0, got {chip.pscale}")
        return float(chip.pscale)
    if chip.wcs is None:
        raise InputError(f"{chip.name}: give pscale or wcs (nominal input pixel scale)")
    return output_pscale(chip.wcs)


def _check_chip(chip: DrizzleInput) -> None:
    shape = np.shape(chip.data)
    if len(shape) != 2:
        raise ShapeError(f"{chip.name}: data must be 2-D, got shape {shape}")
    for what in ("mask", "err", "ivm"):
        arr = getattr(chip, what)
        if arr is not None and np.shape(arr) != shape:
            raise ShapeError(f"{chip.name}: {what} has shape {np.shape(arr)}, "
                             f"data has {shape}")
    if chip.in_units not in ("counts", "cps"):
        raise InputError(f"{chip.name}: in_units must be 'counts' or 'cps', "
                         f"got {chip.in_units!r}")
    if not (math.isfinite(chip.exptime) and chip.exptime > 0):
        raise InputError(f"{chip.name}: exptime must be > 0, got {chip.exptime}")
    if not (math.isfinite(chip.eff_gain) and chip.eff_gain > 0):
        raise InputError(f"{chip.name}: eff_gain must be > 0, got {chip.eff_gain}")


# -- per-chip arrays -------------------------------------------------------------------
def chip_data(chip: DrizzleInput) -> np.ndarray:
    """``(SCI - sky) * eff_gain`` as float32 (electrons, or e-/s for rate data)."""
    d = np.asarray(chip.data, dtype=np.float32)
    if chip.sky is not None and chip.sky != 0.0:
        d = d - np.float32(chip.sky)
    if chip.eff_gain != 1.0:
        d = d * np.float32(chip.eff_gain)
    return np.ascontiguousarray(d, dtype=np.float32)


def chip_weight(chip: DrizzleInput, wht_type: str | None = "EXP", wt_scl="exptime",
                pixel_scale_ratio: float = 1.0, *,
                wt_scl_name: str = "wt_scl") -> tuple[np.ndarray, float]:
    """Input weight map and weight scale of one chip (module table).

    Parameters
    ----------
    chip : DrizzleInput
    wht_type : {'EXP', 'ERR', 'IVM', None}
        None = the single-drizzle weights (same as EXP).
    wt_scl : str or float
        The ``*_wt_scl`` parameter (used for EXP and None only).
    pixel_scale_ratio : float
        ``s`` of the chip (ERR and IVM scales).
    wt_scl_name : str
        Parameter name for messages.

    Returns
    -------
    (numpy.ndarray of float32, float)
        ``w_in`` (>= 0, 0 where masked or undefined) and ``wt_scl``.
    """
    shape = np.shape(chip.data)
    mask = (np.ones(shape, dtype=bool) if chip.mask is None
            else np.asarray(chip.mask, dtype=bool))
    t = float(chip.exptime)
    r4 = float(pixel_scale_ratio) ** 4
    kind = None if wht_type is None else str(wht_type).upper()
    if kind in (None, "EXP"):
        w = np.where(mask, np.float32(t), np.float32(0.0))
        return w.astype(np.float32, copy=False), parse_wt_scl(wt_scl, t, wt_scl_name)
    if kind == "ERR":
        if chip.err is None:
            log.warning("%s: no ERR array for final_wht_type='ERR'; using the mask as "
                        "weight", chip.name)
            return mask.astype(np.float32), 1.0 / r4
        tc = t if chip.in_units == "counts" else 1.0
        sigma = np.asarray(chip.err, dtype=np.float64) * (chip.eff_gain / tc)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / (sigma * sigma)
        ok = mask & np.isfinite(inv) & (sigma > 0)
        return np.where(ok, inv, 0.0).astype(np.float32), 1.0 / r4
    if kind == "IVM":
        if chip.ivm is not None:
            ivm = np.asarray(chip.ivm, dtype=np.float64)
        else:
            var = chip.dark + chip.sky_electrons + chip.rdnoise ** 2
            if not var > 0:
                raise InputError(f"{chip.name}: automatic IVM needs a positive "
                                 "dark + sky + read noise**2")
            ivm = np.full(shape, 1.0 / var)
        ok = mask & np.isfinite(ivm) & (ivm > 0)
        return np.where(ok, ivm, 0.0).astype(np.float32), t * t / r4
    raise ParameterError(f"final_wht_type must be one of {', '.join(WHT_TYPES)}, "
                         f"got {wht_type!r}")


def _pixmap(chip: DrizzleInput, output_wcs: WCS, stepsize: int | None) -> np.ndarray:
    if chip.pixmap is not None:
        pm = np.asarray(chip.pixmap)
        if pm.shape != chip.shape + (2,):
            raise ShapeError(f"{chip.name}: pixmap has shape {pm.shape}, expected "
                             f"{chip.shape + (2,)}")
        return pm
    if chip.wcs is None:
        raise InputError(f"{chip.name}: a WCS or a pixmap is needed")
    from ..pixmap import calc_pixmap

    step = None if not stepsize else int(stepsize)
    return calc_pixmap(chip.wcs, output_wcs, shape=chip.shape, stepsize=step)


def _iterate(items, progress, desc):
    return progress_bar(items, progress, desc)


# -- the drizzle loops ------------------------------------------------------------------
def drizzle_chips(chips: Sequence[DrizzleInput], output_wcs: WCS,
                  out_shape: tuple[int, int] | None = None, *, kernel: str = "square",
                  pixfrac: float = 1.0, fillval: float | None = None,
                  initial: float | None = 0.0, wht_type: str | None = "EXP",
                  wt_scl="exptime", wt_scl_name: str = "wt_scl", context: bool = True,
                  ctx_offset: int = 0, nctx: int | None = None,
                  stepsize: int | None = 10,
                  pixmap_cache: Callable[[int, DrizzleInput], np.ndarray] | None = None,
                  progress: bool = False, desc: str = "drizzle",
                  variance: bool = False) -> DrizzleProduct:
    """Drizzle ``chips`` onto one output (the core of both drizzle steps).

    Parameters
    ----------
    chips : sequence of DrizzleInput
    output_wcs : astropy.wcs.WCS
        Undistorted output frame.
    out_shape : (ny, nx), optional
        Output shape; default from ``output_wcs.pixel_shape``.
    kernel : str
        Any registered kernel (:func:`drizzlekit.kernels.available_kernels`).
    pixfrac : float
        Drop size, fraction of an input pixel.
    fillval : float or None
        Value of output pixels without weight at the end (None = leave).
    initial : float or None
        Initial value of the output image (None = NaN).
    wht_type : {'EXP', 'ERR', 'IVM', None}
        Input weighting (module table).
    wt_scl : str or float
        Weight scale parameter (EXP/None).
    wt_scl_name : str
        Its name, for messages.
    context : bool
        Keep the context image.
    ctx_offset : int
        0-based context id of the first chip.
    nctx : int, optional
        Total number of context ids (sets the number of planes).
    stepsize : int or None
        Grid spacing of the pixel map (input pixels; None/0 = exact).
    pixmap_cache : callable, optional
        ``pixmap_cache(k, chip)`` returning the pixmap of chip ``k`` (used
        instead of computing it, e.g. to share pixmaps between steps).
    progress : bool
        Show a progress bar.
    desc : str
        Progress-bar label.
    variance : bool
        Also propagate the chips' ``err`` arrays (:func:`chip_variance`) with
        squared weights into ``DrizzleProduct.var``.

    Returns
    -------
    DrizzleProduct

    Raises
    ------
    InputError
        With ``variance``: a chip without ``err``, or with non-finite or
        negative ERR on a good pixel (checked before anything is drizzled).
    """
    # a Sequence is used as it is: the pipeline hands one that builds each chip's
    # input (pixels, masks) only when it is drizzled (pipeline.chips.ChipInputs)
    chips = chips if isinstance(chips, collections.abc.Sequence) else list(chips)
    if not len(chips):
        raise InputError("chips: nothing to drizzle")
    if variance:
        from .variance import check_err

        for chip in chips:
            check_err(chip, wht_type)
    if out_shape is None:
        if output_wcs.pixel_shape is None:
            raise ShapeError("output_wcs has no pixel_shape; give out_shape")
        nx, ny = output_wcs.pixel_shape
        out_shape = (int(ny), int(nx))
    kern = get_kernel(kernel)
    if not kern.conserves_flux:
        log.warning("kernel '%s' does not conserve flux", kernel)
    if not pixfrac > 0:
        raise ParameterError(f"pixfrac must be > 0, got {pixfrac}")
    if 0 < pixfrac < 0.001:  # spec §6.4 (iii)
        log.info("pixfrac %g < 0.001: using the 'point' kernel", pixfrac)
        kernel = "point"
    out_pscale = output_pscale(output_wcs)
    init = np.nan if initial is None else float(initial)
    out_img = np.full(out_shape, init, dtype=np.float32)
    out_wht = np.zeros(out_shape, dtype=np.float32)
    total = ctx_offset + len(chips) if nctx is None else int(nctx)
    out_var = np.full(out_shape, np.nan, dtype=np.float32) if variance else None
    driz = Drizzle(kernel=kernel, fillval=fillval, out_img=out_img, out_wht=out_wht,
                   out_img2=out_var,
                   begin_ctx_id=ctx_offset, max_ctx_id=max(total - 1, ctx_offset),
                   disable_ctx=not context, on_no_overlap="ignore",
                   lanczos_pixfrac=True)  # drizzlepac scales lanczos by pixfrac
    wtscales, ratios, misses = [], [], []
    for k, chip in enumerate(_iterate(chips, progress, desc)):
        _check_chip(chip)
        s = out_pscale / _chip_pscale(chip)
        weight, wscale = chip_weight(chip, wht_type, wt_scl, s, wt_scl_name=wt_scl_name)
        pixmap = pixmap_cache(k, chip) if pixmap_cache is not None else \
            _pixmap(chip, output_wcs, stepsize)
        if variance:
            from .variance import chip_variance

            data2 = chip_variance(chip, weight)
        else:
            data2 = None
        nmiss, _ = driz.add_image(chip_data(chip), exptime=float(chip.exptime),
                                  pixmap=pixmap, data2=data2, iscale=s * s,
                                  pixel_scale_ratio=s,
                                  weight_map=weight, wht_scale=wscale, pixfrac=pixfrac,
                                  in_units=chip.in_units)
        del pixmap, weight
        if nmiss == chip.data.size:
            log.warning("%s: no pixel lands on the output frame", chip.name)
        wtscales.append(wscale)
        ratios.append(s)
        misses.append(int(nmiss))
    if variance:
        out_var[driz.out_wht == 0] = np.nan
    return DrizzleProduct(driz.out_img, driz.out_wht, driz.out_ctx if context else None,
                          wtscales, ratios, misses, out_var)


def drizzle_separate(exposures: Sequence[Sequence[DrizzleInput]], output_wcs: WCS,
                     out_shape: tuple[int, int] | None = None, *, kernel: str = "turbo",
                     pixfrac: float = 1.0, fillval: float | None = None,
                     wt_scl="exptime", stepsize: int | None = 10,
                     pixmap_cache: Callable[[int, int, DrizzleInput], np.ndarray] | None = None,
                     progress: bool = False) -> list[DrizzleProduct]:
    """Step 4: drizzle every exposure onto its own copy of the output frame.

    Parameters
    ----------
    exposures : sequence of sequences of DrizzleInput
        The chips of every exposure (masks: DQ(driz_sep_bits) x static).
    output_wcs : astropy.wcs.WCS
        ``single_wcs``.
    out_shape : (ny, nx), optional
        Default from ``output_wcs``.
    kernel, pixfrac, fillval, wt_scl
        ``driz_sep_kernel``, ``driz_sep_pixfrac``, ``driz_sep_fillval``
        (None leaves untouched pixels at 0), ``driz_sep_wt_scl``.
    stepsize : int or None
        Pixel-map grid spacing, input pixels.
    pixmap_cache : callable, optional
        ``pixmap_cache(e, k, chip)`` -> pixmap of chip ``k`` of exposure ``e``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of DrizzleProduct
        One per exposure: ``sci`` in e-/s (0 where nothing landed), ``wht``
        (~ EXPTIME x coverage), no context.
    """
    out = []
    for e, chips in enumerate(_iterate(list(exposures), progress, "drizzle separate")):
        cache = None if pixmap_cache is None else (lambda k, c, e=e: pixmap_cache(e, k, c))
        out.append(drizzle_chips(chips, output_wcs, out_shape, kernel=kernel,
                                 pixfrac=pixfrac, fillval=fillval, initial=0.0,
                                 wht_type=None, wt_scl=wt_scl,
                                 wt_scl_name="driz_sep_wt_scl", context=False,
                                 stepsize=stepsize, pixmap_cache=cache))
    return out


def final_drizzle(chips: Sequence[DrizzleInput], output_wcs: WCS,
                  out_shape: tuple[int, int] | None = None, *, kernel: str = "square",
                  pixfrac: float = 1.0, fillval: float | None = None,
                  maskval: float | None = None, wht_type: str = "EXP",
                  wt_scl="exptime", context: bool = True, stepsize: int | None = 10,
                  pixmap_cache: Callable[[int, DrizzleInput], np.ndarray] | None = None,
                  progress: bool = False) -> DrizzleProduct:
    """Step 8: drizzle all chips of all exposures into the final product.

    Parameters
    ----------
    chips : sequence of DrizzleInput
        Every chip, in processing order (masks: DQ(final_bits) x static x
        not-CR).
    output_wcs : astropy.wcs.WCS
        ``final_wcs``.
    out_shape : (ny, nx), optional
        Default from ``output_wcs``.
    kernel, pixfrac, fillval, wht_type, wt_scl
        ``final_kernel``, ``final_pixfrac``, ``final_fillval`` (value of
        zero-weight pixels; None = no fill), ``final_wht_type``,
        ``final_wt_scl``.
    maskval : float or None
        ``final_maskval``: initial value of the output (None = NaN), kept by
        pixels that no chip touches.
    context : bool
        Build the context image (one bit per chip).
    stepsize : int or None
        Pixel-map grid spacing, input pixels.
    pixmap_cache : callable, optional
        ``pixmap_cache(k, chip)`` -> pixmap of chip ``k``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    DrizzleProduct
        ``sci`` in e-/s (x gain for count data; see :func:`final_units`).
    """
    wht_type = str(wht_type).upper()
    if wht_type not in WHT_TYPES:
        raise ParameterError(f"final_wht_type must be one of {', '.join(WHT_TYPES)}, "
                             f"got {wht_type!r}")
    return drizzle_chips(chips, output_wcs, out_shape, kernel=kernel, pixfrac=pixfrac,
                         fillval=fillval, initial=maskval, wht_type=wht_type,
                         wt_scl=wt_scl, wt_scl_name="final_wt_scl", context=context,
                         stepsize=stepsize, pixmap_cache=pixmap_cache, progress=progress,
                         desc="final drizzle")


def final_units(sci: np.ndarray, *, bunit: str, native_units: str, gain: float,
                texptime: float, final_units: str = "cps",
                proc_unit: str = "native") -> tuple[np.ndarray, str]:
    """Convert the final drizzled rate to the requested units (spec §10.4).

    Parameters
    ----------
    sci : array
        Drizzled rate (data x eff_gain / s).
    bunit : str
        BUNIT of the (first) input chip.
    native_units : str
        Native units of the instrument (``'ELECTRONS'``, ``'COUNTS'`` ...).
    gain : float
        Gain (e-/DN) of the (first) input chip.
    texptime : float
        Total exposure time of the distinct exposures, s.
    final_units : {'cps', 'counts'}
        Rate or integrated over ``texptime``.
    proc_unit : {'native', 'electrons'}
        For count-unit instruments, ``'native'`` divides by the gain.

    Returns
    -------
    (numpy.ndarray, str)
        The converted image (float32; a new array unless no scaling is
        needed) and its BUNIT.
    """
    if final_units not in ("cps", "counts"):
        raise ParameterError(f"final_units must be 'cps' or 'counts', got {final_units!r}")
    if proc_unit not in ("native", "electrons"):
        raise ParameterError(f"proc_unit must be 'native' or 'electrons', got {proc_unit!r}")
    factor = 1.0
    unit = str(bunit).strip() or "ELECTRONS/S"
    if proc_unit == "native" and native_units.strip().lower().startswith("counts"):
        factor /= float(gain)
        unit = native_units.strip()
    elif unit.lower().startswith(("counts", "dn", "adu")):
        unit = "ELECTRONS" + unit[unit.find("/"):] if "/" in unit else "ELECTRONS"
    base = unit.split("/")[0].strip()
    if final_units == "counts":
        factor *= float(texptime)
        unit = base
    else:
        unit = base + "/S"
    out = sci if factor == 1.0 else (sci * np.float32(factor)).astype(np.float32)
    return out, unit
