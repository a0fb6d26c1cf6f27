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

# Import order follows the dependencies: result <- chips <- frames, outputs <-
# preparation, runners, cosmic_rays, writing <- task.
from .result import AstrodrizzleResult
from .chips import (PIXMAP_CACHE_BYTES, chip_pixmap, chip_wcs, dq_mask, drizzle_input,
                    read_ivm, same_frame, static_mask_of, with_progress)
from .frames import apply_shifts
from .preparation import prepare
from .runners import (run_blot, run_drizzle_separate, run_final_drizzle, run_median,
                      run_sky, run_static_mask)
from .cosmic_rays import cr_arguments, run_driz_cr, run_single_cr
from .writing import write_products
# astrodrizzle looks prepare, STEPS, the run_* functions and write_products up in
# this package's namespace at call time, so that replacing one here (tests
# monkeypatch them) is what the task runs.
from .task import STEPS, astrodrizzle

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
    # used by drizzlekit.mosaic, drizzlekit.distributed and drizzlekit.memory
    "PIXMAP_CACHE_BYTES",
    "chip_pixmap",
    "chip_wcs",
    "cr_arguments",
    "dq_mask",
    "drizzle_input",
    "read_ivm",
    "same_frame",
    "static_mask_of",
    "with_progress",
]
