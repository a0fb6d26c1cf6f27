"""The AstroDrizzle task: :func:`prepare`, then every enabled step, then the products."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager

from ..exceptions import ParameterError
from ..io.lazy import lazy_pixels
from ..io.logfile import run_log
from .chips import final_err_arguments
from .cosmic_rays import wants_single_cr
from .result import AstrodrizzleResult
from .writing import announce_compiling

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


def _in_memory(params: dict) -> bool:
    """The run's ``in_memory`` parameter (its default when not given; a wrong value
    is reported by :func:`~drizzlekit.pipeline.prepare`)."""
    from ..params import get_spec

    spec = get_spec("astrodrizzle")["in_memory"]
    try:
        return bool(spec.coerce(params.get("in_memory", spec.default)))
    except Exception:
        return True


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
        from ..params import get_spec

        runfile = get_spec("astrodrizzle")["runfile"].default
    # The public steps are looked up in the package namespace (drizzlekit.pipeline)
    # at call time, not imported here: replacing one there (tests monkeypatch
    # pipeline.run_median, ...) is what this task then runs.
    from .. import pipeline

    scratch = None
    from ..products import parameter_lines
    from ..progress import logs_beside_bars, want_progress

    progress = want_progress(progress)
    with run_log(runfile, task="astrodrizzle"), logs_beside_bars(progress):
        try:
            # Dask: the workers read the pixels themselves; in_memory=False: the steps
            # read each chip from its file when they need it (io/lazy.py)
            with lazy_pixels(client is not None or not _in_memory(params)):
                res = pipeline.prepare(input, output, progress=progress, **params)
            p = res.params
            log.info("%s", "\n".join(parameter_lines(p)))
            announce_compiling(p)
            from ..mosaic import start_scaling

            scratch = start_scaling(res, client, None, scratch_dir)
            final_err_arguments(res)  # unsupported combinations fail before the steps
            with _threads(p["num_cores"]):
                for name, flag in pipeline.STEPS:
                    if flag is not None and not p[flag]:
                        continue
                    func = {"static_mask": pipeline.run_static_mask, "sky": pipeline.run_sky,
                            "driz_separate": pipeline.run_drizzle_separate,
                            "median": pipeline.run_median, "blot": pipeline.run_blot,
                            "driz_cr": pipeline.run_driz_cr,
                            "final_drizzle": pipeline.run_final_drizzle}[name]
                    if name in ("blot", "driz_cr") and res.median is None:
                        continue
                    if name == "final_drizzle" and wants_single_cr(res):
                        _timed(res, "single_cr", pipeline.run_single_cr)
                    _timed(res, name, func)
            if p["driz_combine"]:
                _timed(res, "write", pipeline.write_products)
            res._pixmaps.clear()
            res._pixmap_bytes = 0
        finally:  # intermediates on disk go, also on failure and Ctrl-C
            if scratch is not None:
                scratch.close()
    log.info("astrodrizzle finished:\n%s", res.summary())
    return res
