"""pytest plugin: run tweakwcs's own ``test_linearfit.py`` against drizzlekit.align.fit.

Loaded with ``-p tweakwcs_adapter`` by ``tests/test_align_tweakwcs_suite.py``. It replaces
``tweakwcs.linearfit`` (in ``sys.modules`` and as the package attribute) by a small module
whose functions call :func:`drizzlekit.align.fit.fit_linear` / :func:`~.iter_fit` and
translate arguments and results:

* tweakwcs fits ``xy ≈ F (uv - c) + s + c`` (``uv`` the positions that are transformed);
  drizzlekit fits ``ref ≈ M img + t``. So ``img = uv``, ``ref = xy``, ``F = M``,
  ``s = t + M c - c``; ``wxy``/``wuv`` are drizzlekit's ``wref``/``wimg``;
* the result is tweakwcs's dict (``shift``, ``matrix``, ``rot``, ``<rot>``, ``scale``,
  ``<scale>``, ``skew``, ``proper``, ``fitmask``, ``eff_nclip``, ``rmse``, ``mae``, ``std``,
  ``mad``, ``resids`` of the fitted pairs, ``center``);
* exception classes: tweakwcs's ``NotEnoughPointsError`` is drizzlekit's
  ``TooFewSourcesError`` and ``SingularMatrixError`` its ``AlignmentError``; ``ValueError``
  is caught as is (drizzlekit's ``InputError`` is a ``ValueError``).

``tweakwcs.matchutils._xy_2dhist`` is drizzlekit's :func:`~drizzlekit.align.match.
offset_histogram` (same bin layout). Names drizzlekit does not provide
(``build_fit_matrix``, a test-data helper; ``_LevMarLSQFitter2x2``, an astropy fitter; the
matching helpers ``_find_peak``, ``_estimate_2dhist_shift``, ``XYXYMatch`` with semantics
drizzlekit does not share) come from tweakwcs itself, and their tests are skipped here with
the reason (``NOT_MAPPED``), so that no tweakwcs code is ever counted as a drizzlekit pass.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

NOT_MAPPED = {
    "test_build_fit_matrix": "tweakwcs's test-data helper, not a drizzlekit API",
    "test_levmar2x2_multivariate": "an astropy LM fitter subclass, not a drizzlekit API",
    "test_iter_rscale_invalid_scale": "fit_rscale(scale=...) fixed scales: drizzlekit "
                                      "offers rshift (scale 1) and rscale only",
    "test_matchutils.py::test_find_peak": "tweakwcs's peak fit and its status strings "
                                          "(drizzlekit: box significance, no statuses)",
    "test_matchutils.py::test_estimate_2dhist_shift": "built on tweakwcs's _find_peak "
                                                      "statuses and log messages",
    "test_matchutils.py::test_tpmatch": "tweakwcs's XYXYMatch class (TPx/TPy tables); "
                                        "drizzlekit's matcher takes arrays",
    "test_matchutils.py::test_multi_match_error": "xyxymatch's confusion error; drizzlekit "
                                                  "matches mutual nearest neighbours",
    "test_matchutils.py::test_match_catalogs_abc": "tweakwcs's abstract base class",
}


def _make_adapter():
    import tweakwcs.linearfit as real

    from drizzlekit.align import fit as dkfit
    from drizzlekit.exceptions import AlignmentError, TooFewSourcesError

    mod = types.ModuleType("tweakwcs.linearfit")
    mod.__doc__ = "tweakwcs.linearfit API on drizzlekit.align.fit (test adapter)"
    mod.SUPPORTED_FITGEOM_MODES = dict(dkfit.FIT_GEOMETRIES)
    mod.NotEnoughPointsError = TooFewSourcesError
    mod.SingularMatrixError = AlignmentError
    mod.build_fit_matrix = real.build_fit_matrix
    mod._LevMarLSQFitter2x2 = real._LevMarLSQFitter2x2

    def _as_dict(f, center=(0.0, 0.0), resids_all=False):
        c = np.asarray(center, dtype=float)
        m = np.asarray(f.matrix, dtype=float)
        shift = f.shift + m @ c - c
        res = f.residuals if resids_all else f.residuals[f.fitmask]
        out = {
            "shift": shift, "shift_ld": shift.astype(np.longdouble),
            "matrix": m, "matrix_ld": m.astype(np.longdouble),
            "proper_rot": f.rotation, "rot": tuple(f.rot_xy), "<rot>": f.rotation,
            "scale": tuple(f.scale_xy), "<scale>": f.scale, "skew": f.skew,
            "proper": bool(f.proper), "fitgeom": f.fitgeom, "resids": res,
            "rmse": f.rmse, "mae": f.mae, "std": f.std, "mad": f.mad,
        }
        return out

    def _fit(fitgeom):
        def fit(xy, uv, wxy=None, wuv=None):
            f = dkfit.fit_linear(uv, xy, fitgeom, wimg=wuv, wref=wxy)
            return _as_dict(f, resids_all=True)
        fit.__name__ = f"fit_{fitgeom}"
        return fit

    mod.fit_shifts = _fit("shift")
    mod.fit_rshift = _fit("rshift")
    mod.fit_general = _fit("general")

    def fit_rscale(xy, uv, wxy=None, wuv=None, scale=None):
        if scale is None:
            return _fit("rscale")(xy, uv, wxy, wuv)
        if scale == 1:
            return _fit("rshift")(xy, uv, wxy, wuv)
        raise NotImplementedError("drizzlekit has no fixed-scale rscale fit")

    mod.fit_rscale = fit_rscale

    def iter_linear_fit(xy, uv, wxy=None, wuv=None, fitgeom="general", center=None, nclip=3,
                        sigma=(3.0, "rmse"), clip_accum=False):
        fitgeom_l = str(fitgeom).lower() if isinstance(fitgeom, str) else fitgeom
        f = dkfit.iter_fit(uv, xy, fitgeom_l, wimg=wuv, wref=wxy, nclip=nclip, sigma=sigma,
                           clip_accum=clip_accum)
        if center is None:  # tweakwcs: plain mean of the uv positions with valid weights
            uvv = np.asarray(uv, dtype=float)
            valid = np.ones(len(uvv), bool)
            for w in (wxy, wuv):
                if w is not None:
                    valid &= np.asarray(w) > 0
            center = uvv[valid].mean(axis=0)
        out = _as_dict(f, center)
        out["center"] = np.asarray(center, dtype=float)
        out["center_ld"] = out["center"].astype(np.longdouble)
        out["fitmask"] = f.fitmask
        out["eff_nclip"] = f.nclip_done
        return out

    mod.iter_linear_fit = iter_linear_fit

    def _compute_stat(fit, residuals, weights):
        fit.update(dkfit._stats(np.asarray(residuals, dtype=float),
                                None if weights is None else np.asarray(weights, float)))

    mod._compute_stat = _compute_stat

    def __getattr__(name):  # for tweakwcs modules importing other names at import time
        return getattr(real, name)

    mod.__getattr__ = __getattr__
    return mod, real


def _make_match_adapter():
    """``tweakwcs.matchutils`` with ``_xy_2dhist`` from drizzlekit's offset histogram."""
    import tweakwcs.matchutils as real

    from drizzlekit.align.match import offset_histogram

    mod = types.ModuleType("tweakwcs.matchutils")

    def _xy_2dhist(imgxy, refxy, r):
        # the same layout: bins of width 1 centred on -r..r, counts[y, x]
        return offset_histogram(imgxy, refxy, searchrad=r, binsize=1.0).counts.astype(float)

    mod._xy_2dhist = _xy_2dhist

    def __getattr__(name):  # names whose tests are not mapped (see NOT_MAPPED)
        return getattr(real, name)

    mod.__getattr__ = __getattr__
    return mod


def pytest_configure(config):
    import tweakwcs

    adapter, _ = _make_adapter()
    sys.modules["tweakwcs.linearfit"] = adapter
    tweakwcs.linearfit = adapter
    madapter = _make_match_adapter()
    sys.modules["tweakwcs.matchutils"] = madapter
    tweakwcs.matchutils = madapter


def pytest_collection_modifyitems(config, items):
    for item in items:
        for key, reason in NOT_MAPPED.items():
            if key in item.nodeid:
                item.add_marker(pytest.mark.skip(reason=f"not mapped: {reason}"))
