"""Per-chip helpers shared by the steps (and by :mod:`drizzlekit.mosaic` and
:mod:`drizzlekit.distributed`): a chip's WCS, masks, pixel map, drizzle input, IVM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..exceptions import InputError, InputFileError
from ..io.bits import dq_to_mask
from ..io.fits_input import Chip
from ..memory import pixmap_cache_bytes
from ..pixmap_store import PixmapStore
from ..scratch import release_pages
from .result import AstrodrizzleResult, ChipKey

#: Pixel maps are kept between steps (drizzle separate, blot, final drizzle) while
#: their total size stays below this (bytes; 8 bytes per chip pixel, see
#: :mod:`drizzlekit.pixmap_store`).
PIXMAP_CACHE_BYTES = 512 * 2 ** 20


def chip_wcs(res: AstrodrizzleResult, chip: Chip) -> WCS:
    """The chip's WCS as the steps use it (without distortion when ``coeffs=False``)."""
    from ..io.checks import linear_wcs  # coeffs=False: the WCS without its distortion

    return chip.wcs if res.params["coeffs"] else linear_wcs(chip.wcs)


def chip_signature(chip: Chip) -> tuple:
    """``(extver, (ny, nx))``: chips with the same signature share a static mask."""
    return (chip.extver, chip.shape)


def static_mask_of(res: AstrodrizzleResult, chip: Chip) -> np.ndarray | None:
    """The static mask of the chip (``True`` = good), or None before step 2."""
    return res.static_masks.get(chip_signature(chip))


def dq_mask(chip: Chip, bits, name: str) -> np.ndarray | None:
    """Good-pixel mask from the chip's DQ and the ``bits`` parameter ``name`` (None: all)."""
    if chip.dq is None or bits is None:
        return None
    return dq_to_mask(chip.dq, bits, name)


def with_progress(res: AstrodrizzleResult, items, desc: str):
    """``items``, with a progress bar labelled ``desc`` when the run shows them."""
    from ..progress import progress_bar

    return progress_bar(items, res.progress, desc)


def same_frame(a: WCS, b: WCS) -> bool:
    """Whether two output WCSs describe the same pixel grid."""
    if a is b:
        return True
    return (a.pixel_shape == b.pixel_shape and np.allclose(a.wcs.crval, b.wcs.crval, 0, 1e-12)
            and np.allclose(a.wcs.crpix, b.wcs.crpix, 0, 1e-9)
            and np.allclose(a.pixel_scale_matrix, b.pixel_scale_matrix, 1e-12, 0)
            and list(a.wcs.ctype) == list(b.wcs.ctype))


def chip_pixmap(res: AstrodrizzleResult, e: int, chip: Chip, frame: WCS) -> np.ndarray:
    """Chip -> frame pixel map, kept (compactly) while the cache has room."""
    from ..pixmap import calc_pixmap

    tag = "single" if same_frame(frame, res.single_wcs) else "final"
    key = (e, chip.extver, tag)
    if key in res._pixmaps:
        return _decoded(res._pixmaps[key])
    step = res.params["stepsize"] or None
    pm = calc_pixmap(chip_wcs(res, chip), frame, shape=chip.shape, stepsize=step)
    if not np.isfinite(pm).all():
        return pm
    # always the stored numbers (cached or not), so a Dask worker that computes the
    # map itself (drizzlekit.distributed) drizzles exactly the same positions
    store = PixmapStore(pm)
    del pm
    scratch = getattr(getattr(res, "scaling", None), "scratch", None)
    if scratch is not None and scratch.on_disk:  # in_memory=False: the cache is on disk
        store.residual = scratch.keep(store.residual, f"pixmap{e}_{chip.extver}_{tag}")
        res._pixmaps[key] = store
    elif res._pixmap_bytes + store.nbytes <= pixmap_cache_bytes(res.params.get("memory_limit")):
        res._pixmaps[key] = store
        res._pixmap_bytes += store.nbytes
    return _decoded(store)  # the same numbers in every step


def _decoded(store: PixmapStore) -> np.ndarray:
    pm = store.decode()
    release_pages(store.residual)  # a map kept on disk leaves resident memory
    return pm


def require_intermediate(res: AstrodrizzleResult, what: str, step: str, first: str) -> None:
    """Raise InputError when ``what`` (singles, median, blots) is missing for ``step``."""
    missing = {"singles": not res.single_sci, "median": res.median is None,
               "blots": not res.blots}[what]
    if missing:
        raise InputError(f"step '{step}' needs the {what}: call {first}(result) first")


def drizzle_input(res: AstrodrizzleResult, key: ChipKey, e: int, chip: Chip, mask,
                  ivm=None, err: bool = True):
    """The :class:`drizzlekit.steps.drizzle_steps.DrizzleInput` of one chip.

    ``err=False`` leaves its ERR array out (the weights of ``wht_type`` None, EXP
    and IVM do not use it; a chip read lazily then does not read it).
    """
    from ..steps.drizzle_steps import DrizzleInput

    cf = chip.conversion_factor
    sky = res.sky.get(key, 0.0)
    return DrizzleInput(
        data=chip.sci, wcs=chip_wcs(res, chip), exptime=chip.exptime,
        in_units=chip.in_units, eff_gain=chip.eff_gain, sky=res.computed_sky.get(key),
        mask=mask, err=chip.err if err else None, ivm=ivm, pscale=chip.idcscale,
        rdnoise=chip.rdnoise,
        sky_electrons=float(sky) * cf, dark=float(chip.header.get(
            "MEANDARK", res.exposures[e].primary_header.get("MEANDARK", 0.0)) or 0.0),
        name=f"{res.names[e]}[SCI,{chip.extver}]")


def read_ivm(res: AstrodrizzleResult, e: int, chip: Chip) -> np.ndarray | None:
    """IVM array of a chip from the @file's IVM column (None = automatic IVM)."""
    path = res.ivm_files[e] if e < len(res.ivm_files) else None
    if not path:
        return None
    return read_ivm_array(path, chip.extver, chip.shape, res.names[e])


def read_ivm_array(path: str, extver: int, shape: tuple[int, int], name: str) -> np.ndarray:
    """The ``IVM,extver`` array of an IVM file (float32), checked against the chip's
    ``shape``; ``name`` is the input, for messages. Dask workers read with it too."""
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = None
            for h in hdul:
                if str(h.header.get("EXTNAME", "")).strip().upper() == "IVM" and \
                        int(h.header.get("EXTVER", 1) or 1) == extver:
                    hdu = h
                    break
            if hdu is None and len(hdul) == 1 and extver == 1:
                hdu = hdul[0]
            if hdu is None or hdu.data is None:
                raise InputFileError(f"{path}: no IVM,{extver} extension")
            ivm = np.array(hdu.data, dtype=np.float32)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{path}: cannot read the IVM file ({exc})") from exc
    if ivm.shape != tuple(shape):
        raise InputFileError(f"{path}: IVM,{extver} shape {ivm.shape} differs from "
                             f"{name}[SCI,{extver}] shape {tuple(shape)}")
    return ivm


def final_needs_err(res: AstrodrizzleResult) -> bool:
    """Whether the final drizzle uses the chips' ERR arrays (ERR weights or ``final_err``)."""
    p = res.params
    return str(p.get("final_wht_type") or "").upper() == "ERR" or bool(p.get("final_err"))


def final_err_arguments(res: AstrodrizzleResult) -> dict:
    """``{'variance': True}`` for ``final_err=True`` (ERR product), else ``{}``."""
    if not res.params.get("final_err"):
        return {}
    return {"variance": True}  # with a Dask client too: the tiles carry the variance


class ChipInputs(Sequence):
    """The chips of a drizzle, each built only when it is drizzled.

    ``build(k)`` returns chip ``k``'s :class:`~drizzlekit.steps.drizzle_steps.DrizzleInput`;
    nothing is kept, so a run whose chips are read lazily (``in_memory=False``)
    holds one chip's pixels and masks at a time.
    """

    def __init__(self, n: int, build: Callable[[int], object]):
        self._n = int(n)
        self._build = build

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._n))]
        if not -self._n <= k < self._n:
            raise IndexError(k)
        return self._build(k % self._n)


def spill(res: AstrodrizzleResult, arr: np.ndarray | None, tag: str) -> np.ndarray | None:
    """``arr`` kept as the run keeps intermediates: itself, or on disk with ``in_memory=False``.

    See :meth:`drizzlekit.scratch.Scratch.keep` (a read-only memory map whose
    pages leave resident memory after :func:`drizzlekit.scratch.release_pages`).
    """
    scratch = getattr(getattr(res, "scaling", None), "scratch", None)
    if arr is None or scratch is None or isinstance(arr, np.memmap):  # already on disk
        return arr
    return scratch.keep(arr, tag)
