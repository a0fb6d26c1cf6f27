"""Linear fits between matched positions, with iterative sigma clipping.

The model is ``ref ≈ M @ img + t`` for matched pairs of 2-D positions
(``img`` from the image being aligned, ``ref`` from the reference), solved
by weighted least squares in one of four geometries:

``shift``
    ``M`` is the identity; ``t`` is the weighted mean offset.
``rshift``
    ``M`` is a rotation (or, if the data demand it, a reflection).
``rscale``
    ``M`` is a rotation (or reflection) times one scale.
``general``
    ``M`` is any 2x2 matrix (6-parameter affine).

For the similarity fits (``rshift``, ``rscale``) the least-squares
solution is closed-form: with ``P``, ``Q`` the image and reference positions
about their weighted means and ``S = Σ w |P|²``,

* proper: ``M = [[a, b], [-b, a]]`` with ``a = Σ w (Px Qx + Py Qy) / S``,
  ``b = Σ w (Py Qx - Px Qy) / S``;
* reflected: ``M = [[a, b], [b, -a]]`` with ``a = Σ w (Px Qx - Py Qy) / S``,
  ``b = Σ w (Py Qx + Px Qy) / S``;

the one with the larger ``a² + b²`` (smaller residual) wins, which is the
same as taking the sign of the determinant of the cross-covariance
``Σ w Q Pᵀ``. ``rshift`` keeps the angle of ``(a, b)`` and sets the scale
to one. In all geometries ``t = q̄ - M p̄``.

Weights: a pair's weight is ``w = 1 / (1/w_img + 1/w_ref)`` when both are
given (the variances add), or whichever is given; pairs with a weight of
zero are left out of the fit, and a negative weight is an error
(:class:`~drizzlekit.exceptions.InputError`, a ``ValueError``, as in
tweakwcs's ``fit_*`` functions).

Rotation convention: in the tangent plane of :mod:`.tangent` (``xi`` East,
``eta`` North) ``M = s [[cos θ, sin θ], [-sin θ, cos θ]]`` rotates a
direction's position angle (East of North) by ``+θ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import AlignmentError, InputError, NonFiniteError, TooFewSourcesError

__all__ = ["FIT_GEOMETRIES", "LinearFit", "fit_linear", "iter_fit", "decompose_matrix",
           "solve_transform"]

#: Supported geometries and the least number of pairs each needs.
FIT_GEOMETRIES = {"shift": 1, "rshift": 2, "rscale": 2, "general": 3}

_SIGMA_STATS = ("rmse", "mae", "std", "mad")
_MAD_TO_RMSE = 1.0 / math.sqrt(math.log(2.0))  # Rayleigh median -> rms for 2-D Gaussian errors


@dataclass
class LinearFit:
    """Result of a linear fit ``ref ≈ matrix @ img + shift``.

    Attributes
    ----------
    fitgeom : str
        The geometry fitted.
    matrix : ndarray (2, 2)
        Linear part ``M``.
    shift : ndarray (2,)
        Translation ``t`` (units of the input positions), for rotations
        about the origin of the input coordinates.
    rotation : float
        Rotation angle, degrees (mean of the x and y axis rotations for
        ``general``).
    rot_xy : tuple of float
        Rotation of the x and of the y axis, degrees.
    scale : float
        Mean scale ``sqrt(|det M|)``.
    scale_xy : tuple of float
        Scale along x and y (lengths of the columns of ``M``).
    skew : float
        ``rot_y - rot_x`` wrapped to [-180, 180), degrees (0 except for
        ``general``).
    proper : bool
        False if ``M`` includes a reflection.
    fitmask : ndarray of bool (N,)
        True for pairs used in the final fit.
    residuals : ndarray (N, 2)
        ``ref - (M @ img + t)`` for every pair, used or not.
    rmse, mae, std, mad : float
        Statistics of the residual lengths of the used pairs, defined as in
        tweakwcs: root mean square, mean, standard deviation about the mean
        residual (population value without weights; with weights divided by
        ``1 - Σ w²`` for normalised weights ``w``), and
        ``median / sqrt(ln 2)`` (equal to the rms for Gaussian errors; the
        ordinary median without weights, the inverted-CDF weighted median
        with them).
    weights : ndarray (N,) or None
        Combined weights of the pairs (None when unweighted).
    nclip_done : int
        Clipping iterations that changed the set of pairs.
    """

    fitgeom: str
    matrix: np.ndarray
    shift: np.ndarray
    rotation: float
    rot_xy: tuple
    scale: float
    scale_xy: tuple
    skew: float
    proper: bool
    fitmask: np.ndarray
    residuals: np.ndarray
    rmse: float
    mae: float
    std: float
    mad: float
    weights: np.ndarray | None = None
    nclip_done: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def nused(self) -> int:
        """Number of pairs used in the final fit."""
        return int(np.count_nonzero(self.fitmask))

    def apply(self, xy) -> np.ndarray:
        """Apply the fitted transform to ``(N, 2)`` positions."""
        xy = np.asarray(xy, dtype=float)
        return xy @ self.matrix.T + self.shift

    def shift_about(self, center) -> np.ndarray:
        """Translation of the point ``center``: ``(M - I) @ center + t``."""
        c = np.asarray(center, dtype=float)
        return self.matrix @ c + self.shift - c


def decompose_matrix(matrix, fitgeom: str = "general") -> dict:
    """Rotation, scale and skew of a 2x2 matrix (see the module notes).

    Returns a dict with ``rotation``, ``rot_xy``, ``scale``, ``scale_xy``,
    ``skew`` (degrees / dimensionless) and ``proper``.
    """
    m = np.asarray(matrix, dtype=float)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    sdet = 1.0 if det >= 0 else -1.0
    scale = math.sqrt(abs(det))
    if fitgeom == "general":
        sx = math.hypot(m[0, 0], m[1, 0])
        sy = math.hypot(m[0, 1], m[1, 1])
    else:
        sx = sy = scale
    if sx == 0 or sy == 0:
        return {"rotation": 0.0, "rot_xy": (0.0, 0.0), "scale": scale, "scale_xy": (sx, sy),
                "skew": 0.0, "proper": det >= 0}
    w = m / np.array([sx, sy])
    prop_rot = math.degrees(math.atan2(w[0, 1] - sdet * w[1, 0], w[0, 0] + sdet * w[1, 1]))
    if det >= 0 and fitgeom in ("shift", "rshift", "rscale"):
        rotx = roty = rot = prop_rot
        skew = 0.0
    else:
        rotx = math.degrees(math.atan2(-w[1, 0], w[0, 0]))
        roty = math.degrees(math.atan2(w[0, 1], w[1, 1]))
        rot = 0.5 * (rotx + roty) if fitgeom == "general" or det < 0 else prop_rot
        skew = (roty - rotx - 180.0) % 360.0 - 180.0
    if fitgeom == "shift":
        rotx = roty = rot = 0.0
    return {"rotation": float(rot), "rot_xy": (float(rotx), float(roty)), "scale": float(scale),
            "scale_xy": (float(sx), float(sy)), "skew": float(skew), "proper": bool(det >= 0)}


def _combine_weights(n: int, wimg, wref) -> np.ndarray | None:
    def check(w, name):
        w = np.asarray(w, dtype=float)
        if w.shape != (n,):
            raise InputError(f"{name}: expected {n} weights, got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise NonFiniteError(f"{name}: weights must be finite")
        if np.any(w < 0):
            # tweakwcs's fit_* functions raise ValueError here too
            raise InputError(f"{name}: weights must be non-negative ({int(np.sum(w < 0))} "
                             "negative); give a weight of 0 to leave a pair out")
        return w

    if wimg is None and wref is None:
        return None
    if wimg is None:
        return check(wref, "wref")
    if wref is None:
        return check(wimg, "wimg")
    a = check(wimg, "wimg")
    b = check(wref, "wref")
    w = np.zeros(n)
    ok = (a > 0) & (b > 0)
    w[ok] = a[ok] * b[ok] / (a[ok] + b[ok])
    return w


def solve_transform(p: np.ndarray, q: np.ndarray, w: np.ndarray | None, fitgeom: str):
    """Least-squares ``M, t`` for ``q ≈ M p + t`` (no checks, no clipping).

    Parameters
    ----------
    p, q : ndarray (N, 2)
        Finite image and reference positions.
    w : ndarray (N,) or None
        Positive weights.
    fitgeom : {'shift', 'rshift', 'rscale', 'general'}

    Returns
    -------
    matrix : ndarray (2, 2)
    shift : ndarray (2,)

    Raises
    ------
    AlignmentError
        Degenerate positions.
    """
    if w is None:
        pm = p.mean(axis=0)
        qm = q.mean(axis=0)
        P = p - pm
        Q = q - qm
        ww = None
    else:
        sw = w.sum()
        pm = (w @ p) / sw
        qm = (w @ q) / sw
        P = p - pm
        Q = q - qm
        ww = w

    def wsum(v):
        return float(v.sum()) if ww is None else float(ww @ v)

    if fitgeom == "shift":
        m = np.eye(2)
    elif fitgeom in ("rscale", "rshift"):
        s = wsum(P[:, 0] ** 2 + P[:, 1] ** 2)
        if not s > 0:
            raise AlignmentError(f"'{fitgeom}' fit: all image positions coincide")
        sxx = wsum(P[:, 0] * Q[:, 0])
        syy = wsum(P[:, 1] * Q[:, 1])
        sxy = wsum(P[:, 0] * Q[:, 1])  # Σ Px Qy
        syx = wsum(P[:, 1] * Q[:, 0])  # Σ Py Qx
        # sign of det(Σ Q Pᵀ) decides proper rotation vs reflection
        det_c = sxx * syy - syx * sxy
        if det_c >= 0:
            a, b = (sxx + syy) / s, (syx - sxy) / s
        else:
            a, b = (sxx - syy) / s, (syx + sxy) / s
        if fitgeom == "rshift":
            h = math.hypot(a, b)
            if h == 0:
                raise AlignmentError("'rshift' fit: rotation undefined (degenerate positions)")
            a, b = a / h, b / h
        m = np.array([[a, b], [-b, a]]) if det_c >= 0 else np.array([[a, b], [b, -a]])
    elif fitgeom == "general":
        if ww is None:
            ppt = P.T @ P
            qpt = Q.T @ P
        else:
            ppt = (P * ww[:, None]).T @ P
            qpt = (Q * ww[:, None]).T @ P
        det = ppt[0, 0] * ppt[1, 1] - ppt[0, 1] * ppt[1, 0]
        scale2 = ppt[0, 0] + ppt[1, 1]
        if not det > 1e-12 * scale2 * scale2:
            raise AlignmentError("'general' fit: singular system; the positions are collinear")
        m = qpt @ np.linalg.inv(ppt)
    else:  # pragma: no cover - checked by callers
        raise InputError(f"unknown fit geometry {fitgeom!r}")
    t = qm - m @ pm
    return m, t


def _stats(r: np.ndarray, w: np.ndarray | None) -> dict:
    n = np.hypot(r[:, 0], r[:, 1])
    if r.shape[0] == 0 or (w is not None and not float(np.sum(w)) > 0):
        return {"rmse": math.nan, "mae": math.nan, "std": math.nan, "mad": math.nan}
    if w is None:
        wn = np.full(r.shape[0], 1.0 / r.shape[0])
    else:
        wn = w / w.sum()
    rmse = math.sqrt(float(wn @ (n * n)))
    mae = float(wn @ n)
    rm = wn @ r
    d = r - rm
    var = float(wn @ (d[:, 0] ** 2 + d[:, 1] ** 2))
    if w is None:
        # unweighted: population std (ddof=0) and the ordinary median, as tweakwcs
        std = math.sqrt(var)
        med = float(np.median(n))
    else:
        # weighted: reliability-weight correction 1 / (1 - sum(w^2)) and the
        # inverted-CDF weighted median, as tweakwcs (one pair: std = 0)
        v2 = float(wn @ wn)
        std = math.sqrt(var / (1.0 - v2)) if r.shape[0] > 1 and v2 < 1.0 else 0.0
        order = np.argsort(n)
        cw = np.cumsum(wn[order])
        med = float(n[order][min(np.searchsorted(cw, 0.5 * cw[-1]), n.size - 1)])
    return {"rmse": rmse, "mae": mae, "std": std, "mad": med * _MAD_TO_RMSE}


def _as_float(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None


def _check_xy(xy, name: str) -> np.ndarray:
    a = np.asarray(xy, dtype=float)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InputError(f"{name}: expected an (N, 2) array of positions, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        nbad = int(np.count_nonzero(~np.isfinite(a)))
        raise NonFiniteError(f"{name}: positions must be finite ({nbad} non-finite values)")
    return a


def fit_linear(img_xy, ref_xy, fitgeom: str = "rscale", *, wimg=None, wref=None) -> LinearFit:
    """One weighted least-squares fit ``ref ≈ M @ img + t`` (no clipping).

    Parameters
    ----------
    img_xy, ref_xy : array_like (N, 2)
        Matched positions (any common unit; arcsec in the alignment engine).
    fitgeom : {'shift', 'rshift', 'rscale', 'general'}
        Geometry of ``M``.
    wimg, wref : array_like (N,), optional
        Weights of the image and reference positions.

    Raises
    ------
    TooFewSourcesError
        Fewer valid pairs than the geometry needs.
    AlignmentError
        Degenerate positions (coincident or collinear).
    """
    return iter_fit(img_xy, ref_xy, fitgeom, wimg=wimg, wref=wref, nclip=0)


def iter_fit(img_xy, ref_xy, fitgeom: str = "rscale", *, wimg=None, wref=None, nclip: int = 3,
             sigma: float | tuple = 3.0, clip_accum: bool = False,
             minobj: int | None = None) -> LinearFit:
    """Fit ``ref ≈ M @ img + t`` with iterative sigma clipping.

    Each iteration fits the pairs kept so far, computes every valid pair's
    residual length ``|r|`` and keeps those with ``|r| < sigma × stat``,
    where ``stat`` is the chosen statistic (default the rms residual) of the
    fitted pairs. With ``clip_accum`` a rejected pair never returns;
    otherwise every pair is re-tested against each new fit. Clipping stops
    after ``nclip`` iterations, when the kept set no longer changes, or when
    fewer than ``minobj`` pairs would remain.

    Parameters
    ----------
    img_xy, ref_xy : array_like (N, 2)
        Matched positions.
    fitgeom : {'shift', 'rshift', 'rscale', 'general'}
        Geometry of the fit.
    wimg, wref : array_like (N,), optional
        Weights (see the module notes); zero-weight pairs are not used.
    nclip : int
        Largest number of clipping iterations (0: a single fit).
    sigma : float or (float, str)
        Clipping limit in units of the statistic; a tuple names the statistic
        (``'rmse'``, ``'mae'``, ``'std'`` or ``'mad'``).
    clip_accum : bool
        Keep rejected pairs out for good.
    minobj : int, optional
        Smallest number of pairs clipping may leave (default: the least the
        geometry needs).

    Returns
    -------
    LinearFit
    """
    fitgeom = str(fitgeom).lower()
    if fitgeom not in FIT_GEOMETRIES:
        raise InputError(f"fitgeom: must be one of {', '.join(FIT_GEOMETRIES)}; got {fitgeom!r}")
    p = _check_xy(img_xy, "img_xy")
    q = _check_xy(ref_xy, "ref_xy")
    if p.shape != q.shape:
        raise InputError(f"img_xy and ref_xy must have the same shape, got {p.shape} and {q.shape}")
    if nclip is None:
        nclip = 0
    if sigma is None:
        if nclip > 0:
            raise InputError("sigma: must not be None when nclip is a positive number")
        sigma = 3.0  # unused without clipping
    if isinstance(sigma, (tuple, list)):
        if len(sigma) != 2:
            raise InputError(f"sigma: expected a number or (number, statistic); got {sigma!r}")
        nsig, stat = _as_float(sigma[0], "sigma"), str(sigma[1])
    else:
        nsig, stat = _as_float(sigma, "sigma"), "rmse"
    if stat not in _SIGMA_STATS:
        raise InputError(f"sigma: statistic must be one of {', '.join(_SIGMA_STATS)}; got {stat!r}")
    if nclip < 0:
        raise InputError(f"nclip must be >= 0, got {nclip}")
    if not nsig > 0:
        raise InputError(f"sigma must be > 0, got {nsig}")
    need = FIT_GEOMETRIES[fitgeom]
    minkeep = max(need, int(minobj) if minobj is not None else need)

    n = p.shape[0]
    w = _combine_weights(n, wimg, wref)
    valid = np.ones(n, bool) if w is None else w > 0
    nvalid = int(np.count_nonzero(valid))
    if nvalid < need:
        raise TooFewSourcesError(
            f"'{fitgeom}' fit needs at least {need} matched pair(s) with positive weight; "
            f"got {nvalid}")

    mask = valid.copy()
    ndone = 0
    m, t = solve_transform(p[mask], q[mask], None if w is None else w[mask], fitgeom)
    for _ in range(int(nclip)):
        r = q - (p @ m.T + t)
        st = _stats(r[mask], None if w is None else w[mask])
        cut = nsig * st[stat]
        keep = valid & (np.hypot(r[:, 0], r[:, 1]) < cut)
        if clip_accum:
            keep &= mask
        if np.count_nonzero(keep) < minkeep or np.array_equal(keep, mask):
            break
        mask = keep
        ndone += 1
        m, t = solve_transform(p[mask], q[mask], None if w is None else w[mask], fitgeom)

    r = q - (p @ m.T + t)
    st = _stats(r[mask], None if w is None else w[mask])
    dec = decompose_matrix(m, fitgeom)
    return LinearFit(fitgeom=fitgeom, matrix=m, shift=t, rotation=dec["rotation"],
                     rot_xy=dec["rot_xy"], scale=dec["scale"], scale_xy=dec["scale_xy"],
                     skew=dec["skew"], proper=dec["proper"], fitmask=mask, residuals=r,
                     weights=w, nclip_done=ndone, **st)
