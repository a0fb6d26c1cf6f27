"""Cross-matching of two position lists in a common plane.

Three tools, all on ``(N, 2)`` arrays in one unit (arcsec in the engine):

:func:`offset_histogram`
    The 2-D histogram of all image-minus-reference position differences
    within a search radius, its peak (the initial offset) and the peak's
    significance. Bin centres are exact multiples of the bin size about the
    prior offset, so a non-integer search radius does not bias the offset
    (``tweakreg.md`` §5.1). The peak is searched in the raw histogram and in
    box-summed versions of it (3, 5, 7 bins wide) so that a peak smeared by
    a rotation is still found; the offset is the median of the differences
    inside the winning box, so it can never leave that box (§5.5).
:func:`match_pairs`
    Mutual-nearest-neighbour matching within a radius: a pair is kept only
    when each member is the other's nearest neighbour. One source is never
    matched twice, so there is no allocation to overflow (§5.4), and sources
    with a same-catalog neighbour closer than ``separation`` are left out.
:func:`triangle_match`
    An asterism (triangle) matcher for when the histogram has no significant
    peak: triangles of each source and pairs of its nearest neighbours are
    compared by their shape, every triangle pair votes for its three vertex
    correspondences, and the best-supported candidate transforms are verified
    against all sources. Spurious (even bright) sources only add triangles
    that find no partner; brightness is not used.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from ..exceptions import AlignmentError
from .fit import solve_transform

__all__ = [
    "OffsetHistogram",
    "offset_histogram",
    "match_pairs",
    "isolated",
    "TriangleMatch",
    "triangle_match",
    "gaussian_significance",
]

#: Largest number of histogram bins per axis; wider searches use coarser bins.
MAX_HIST_BINS = 1025
#: Largest expected number of pairs histogrammed; beyond it the image list is subsampled.
MAX_PAIRS = 2_000_000


@dataclass
class OffsetHistogram:
    """A 2-D histogram of image-minus-reference offsets and its peak.

    Attributes
    ----------
    counts : ndarray of int (ny, nx)
        Number of pairs per bin; ``counts[j, i]`` covers
        ``xedges[i]..xedges[i+1]`` and ``yedges[j]..yedges[j+1]``.
    xedges, yedges : ndarray
        Bin edges (position units, e.g. arcsec), image minus reference.
    binsize : float
        Bin width.
    peak : ndarray (2,)
        Estimated offset (image minus reference); NaN when no pair was found.
    significance : float
        Gaussian-equivalent significance of the peak box against a Poisson
        background, after multiplying its probability by the number of boxes
        searched (0 when there is no peak).
    npeak : int
        Pairs inside the peak box.
    box : int
        Width (bins) of the box that gave the most significant peak.
    npairs : int
        Pairs within the histogram.
    background : float
        Expected chance pairs in the peak box.
    """

    counts: np.ndarray
    xedges: np.ndarray
    yedges: np.ndarray
    binsize: float
    peak: np.ndarray
    significance: float
    npeak: int
    box: int
    npairs: int
    background: float

    @property
    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Bin centres along x and y."""
        return (0.5 * (self.xedges[1:] + self.xedges[:-1]),
                0.5 * (self.yedges[1:] + self.yedges[:-1]))


def gaussian_significance(logp: float) -> float:
    """One-sided Gaussian significance of a probability given as ``log(p)``.

    Returns 0 for ``p >= 0.5``; for very small ``p`` an asymptotic inversion
    of the Gaussian tail is used.
    """
    from scipy.special import ndtri

    if not logp < math.log(0.5):
        return 0.0
    if logp > -700.0:
        return float(-ndtri(math.exp(logp)))
    # tail: p ≈ exp(-z²/2) / (z sqrt(2π)); solve by fixed-point iteration
    z = math.sqrt(-2.0 * logp)
    for _ in range(4):
        z = math.sqrt(max(-2.0 * logp - math.log(2.0 * math.pi) - 2.0 * math.log(z), 1.0))
    return z


def _log_poisson_tail(c: float, lam: float) -> float:
    """``log P(X >= c)`` for ``X ~ Poisson(lam)``, accurate far into the tail."""
    from scipy.special import gammainc, gammaln

    if c <= 0:
        return 0.0
    p = float(gammainc(c, lam))  # regularized lower incomplete gamma = P(X >= c)
    if p > 1e-250:
        return math.log(p)
    # tail dominated by its first term: pmf(c) / (1 - lam / (c + 1))
    return c * math.log(lam) - lam - float(gammaln(c + 1.0)) - math.log1p(-lam / (c + 1.0))


def _box_sums(a: np.ndarray, k: int) -> np.ndarray:
    """Sums over k x k windows centred on each bin (zero outside)."""
    if k == 1:
        return a.astype(float)
    h = k // 2
    p = np.pad(a.astype(float), h)
    c = np.zeros((p.shape[0] + 1, p.shape[1] + 1))
    c[1:, 1:] = p.cumsum(0).cumsum(1)
    ny, nx = a.shape
    return c[k:k + ny, k:k + nx] - c[:ny, k:k + nx] - c[k:k + ny, :nx] + c[:ny, :nx]


def offset_histogram(img_xy, ref_xy, searchrad: float, binsize: float, *, prior=(0.0, 0.0),
                     boxes=(1, 3, 5, 7)) -> OffsetHistogram:
    """Histogram all image-minus-reference offsets within ``searchrad`` of ``prior``.

    Parameters
    ----------
    img_xy, ref_xy : array_like (N, 2), (M, 2)
        Positions of the image and reference sources.
    searchrad : float
        Largest offset (from ``prior``, per axis) searched.
    binsize : float
        Bin width (the engine uses one image pixel). Widened automatically
        so that there are at most :data:`MAX_HIST_BINS` bins per axis.
    prior : (float, float)
        Offset the histogram is centred on.
    boxes : sequence of int
        Odd box widths (bins) in which the peak is searched.

    Returns
    -------
    OffsetHistogram

    Notes
    -----
    The bins are centred on ``prior + j * binsize`` for
    ``j = -n..n``, ``n = ceil(searchrad / binsize)``. For each box width ``k``
    the box sum ``C`` at the maximum is compared with the background
    ``λ = μ k²`` (``μ``: mean pairs per bin outside the box) through the
    Poisson tail ``P(X >= C | λ)``, multiplied by the number of bins and of
    box widths tried; the box with the highest significance wins.
    """
    img = np.asarray(img_xy, dtype=float).reshape(-1, 2)
    ref = np.asarray(ref_xy, dtype=float).reshape(-1, 2)
    prior = np.asarray(prior, dtype=float)
    binsize = float(binsize)
    searchrad = float(searchrad)
    if not (binsize > 0 and searchrad > 0):
        raise ValueError("offset_histogram: searchrad and binsize must be > 0")
    nb = int(math.ceil(searchrad / binsize - 1e-9))
    if 2 * nb + 1 > MAX_HIST_BINS:
        binsize = searchrad / ((MAX_HIST_BINS - 1) // 2)
        nb = (MAX_HIST_BINS - 1) // 2
    nbin = 2 * nb + 1
    half = (nb + 0.5) * binsize
    edges = (np.arange(nbin + 1) - nb - 0.5) * binsize
    xedges = edges + prior[0]
    yedges = edges + prior[1]
    counts = np.zeros((nbin, nbin), dtype=np.int64)
    empty = OffsetHistogram(counts, xedges, yedges, binsize, np.full(2, np.nan), 0.0, 0, 1, 0, 0.0)
    if img.shape[0] == 0 or ref.shape[0] == 0:
        return empty

    # crowded fields with a wide search: histogram a random subset of the image sources so
    # that the number of pairs stays bounded (the peak's significance grows with its size)
    area = max(float(np.ptp(ref[:, 0]) * np.ptp(ref[:, 1])), (2 * half) ** 2)
    expected = img.shape[0] * ref.shape[0] * (2 * half) ** 2 / area
    if expected > MAX_PAIRS:
        keep = np.random.default_rng(12345).random(img.shape[0]) < MAX_PAIRS / expected
        img = img[keep]
    d = _pair_offsets(img - prior, ref, half)
    if d.shape[0] == 0:
        return empty
    ix = np.clip(np.floor((d[:, 0] + half) / binsize).astype(np.int64), 0, nbin - 1)
    iy = np.clip(np.floor((d[:, 1] + half) / binsize).astype(np.int64), 0, nbin - 1)
    counts = np.bincount(iy * nbin + ix, minlength=nbin * nbin).reshape(nbin, nbin)
    npairs = int(d.shape[0])

    usable = [k for k in boxes if k % 2 == 1 and (k == 1 or 3 * k <= nbin)]
    ntrials = nbin * nbin * len(usable)
    best = None
    for k in usable:
        sums = _box_sums(counts, k)
        j, i = np.unravel_index(int(np.argmax(sums)), sums.shape)
        c = float(sums[j, i])
        h = k // 2
        a = float((min(i + h, nbin - 1) - max(i - h, 0) + 1)
                  * (min(j + h, nbin - 1) - max(j - h, 0) + 1))  # bins of the box in range
        # background per bin outside the box; at least "half a pair" overall
        mu = max((npairs - c) / max(nbin * nbin - a, 1.0), 0.5 / (nbin * nbin))
        lam = mu * a
        logp = _log_poisson_tail(c, lam) + math.log(ntrials)
        sig = gaussian_significance(logp)
        if best is None or sig > best[0] + 1e-9:
            best = (sig, k, j, i, int(c), lam)
    sig, k, j, i, c, lam = best
    h = max(1, k // 2)
    inbox = (np.abs(ix - i) <= h) & (np.abs(iy - j) <= h)
    peak = np.median(d[inbox], axis=0) + prior
    return OffsetHistogram(counts, xedges, yedges, binsize, peak, sig, c, k, npairs, lam)


def _pair_offsets(img: np.ndarray, ref: np.ndarray, half: float) -> np.ndarray:
    """Offsets ``img[i] - ref[j]`` of all pairs with both components within ``half``."""
    ti = cKDTree(img)
    tr = cKDTree(ref)
    pairs = ti.sparse_distance_matrix(tr, half, p=np.inf, output_type="ndarray")
    if pairs.size == 0:
        return np.empty((0, 2))
    d = img[pairs["i"]] - ref[pairs["j"]]
    keep = (np.abs(d[:, 0]) < half) & (np.abs(d[:, 1]) < half)
    return d[keep]


def isolated(xy, separation: float) -> np.ndarray:
    """Boolean mask of sources with no other source closer than ``separation``."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = xy.shape[0]
    if n < 2 or not separation > 0:
        return np.ones(n, bool)
    dist, _ = cKDTree(xy).query(xy, k=2)
    return dist[:, 1] >= separation


def match_pairs(img_xy, ref_xy, radius: float, *, img_ok=None, ref_ok=None, ref_tree=None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mutual-nearest-neighbour pairs closer than ``radius``.

    Parameters
    ----------
    img_xy, ref_xy : array_like (N, 2), (M, 2)
        Positions (the image ones already transformed into the reference frame).
    radius : float
        Largest pair distance.
    img_ok, ref_ok : array_like of bool, optional
        Sources allowed to match (e.g. from :func:`isolated`).
    ref_tree : cKDTree, optional
        A tree of ``ref_xy[ref_ok]`` to reuse.

    Returns
    -------
    img_idx, ref_idx : ndarray of int
        Indices of the matched sources, sorted by image index.
    dist : ndarray
        Pair distances.
    """
    img = np.asarray(img_xy, dtype=float).reshape(-1, 2)
    ref = np.asarray(ref_xy, dtype=float).reshape(-1, 2)
    iok = np.flatnonzero(np.ones(img.shape[0], bool) if img_ok is None else img_ok)
    rok = np.flatnonzero(np.ones(ref.shape[0], bool) if ref_ok is None else ref_ok)
    none = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if iok.size == 0 or rok.size == 0 or not radius > 0:
        return none
    tr = ref_tree if ref_tree is not None else cKDTree(ref[rok])
    d1, j1 = tr.query(img[iok], k=1, distance_upper_bound=radius)
    hit = np.isfinite(d1)
    if not hit.any():
        return none
    ii = np.flatnonzero(hit)          # positions in iok
    jj = j1[hit]                       # positions in rok
    # reverse direction: nearest image source of each reference source hit
    ujj, inv = np.unique(jj, return_inverse=True)
    ti = cKDTree(img[iok])
    d2, i2 = ti.query(ref[rok[ujj]], k=1, distance_upper_bound=radius)
    mutual = i2[inv] == ii
    ii, jj, dd = ii[mutual], jj[mutual], d1[hit][mutual]
    return iok[ii], rok[jj], dd


# -- triangles ---------------------------------------------------------------------------
@dataclass
class TriangleMatch:
    """Result of :func:`triangle_match`.

    Attributes
    ----------
    matrix, shift : ndarray
        Similarity transform ``ref ≈ matrix @ img + shift``.
    ninliers : int
        Sources matched within the verification radius by this transform.
    ncandidates : int
        Triangle pairs whose shapes agreed.
    nhypotheses : int
        Candidate transforms verified.
    """

    matrix: np.ndarray
    shift: np.ndarray
    ninliers: int
    ncandidates: int
    nhypotheses: int


def _triangles(xy: np.ndarray, k: int, min_side: float):
    """Triangles of each source with pairs of its ``k`` nearest neighbours.

    Returns vertex indices ordered by the length of the opposite side
    (longest first), invariants ``(mid/long, short/long)``, the longest side
    length, the orientation sign and the direction angle of side v0->v1.
    """
    n = xy.shape[0]
    kk = min(k, n - 1)
    if kk < 2:
        return None
    _, nn = cKDTree(xy).query(xy, k=kk + 1)
    combos = np.array(list(itertools.combinations(range(1, kk + 1), 2)))
    tri = np.empty((n * len(combos), 3), dtype=np.int64)
    tri[:, 0] = np.repeat(np.arange(n), len(combos))
    tri[:, 1] = nn[:, combos[:, 0]].ravel()
    tri[:, 2] = nn[:, combos[:, 1]].ravel()
    tri = np.unique(np.sort(tri, axis=1), axis=0)
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    # side opposite each vertex
    sa = np.hypot(*(b - c).T)
    sb = np.hypot(*(c - a).T)
    sc = np.hypot(*(a - b).T)
    sides = np.column_stack([sa, sb, sc])
    order = np.argsort(-sides, axis=1)
    s = np.take_along_axis(sides, order, axis=1)
    v = np.take_along_axis(tri, order, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.column_stack([s[:, 1] / s[:, 0], s[:, 2] / s[:, 0]])
        # drop degenerate, tiny and nearly isosceles triangles (ambiguous vertex order)
        good = ((s[:, 0] >= min_side) & (inv[:, 1] > 0.15)
                & ((s[:, 0] - s[:, 1]) > 0.03 * s[:, 0]) & ((s[:, 1] - s[:, 2]) > 0.03 * s[:, 0]))
    v, inv, s0 = v[good], inv[good], s[good, 0]
    p0, p1, p2 = xy[v[:, 0]], xy[v[:, 1]], xy[v[:, 2]]
    e1, e2 = p1 - p0, p2 - p0
    orient = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    ang = np.arctan2(e1[:, 1], e1[:, 0])
    return v, inv, s0, orient, ang


def _similarity_batch(p: np.ndarray, q: np.ndarray):
    """Least-squares proper similarities ``q ≈ M p + t`` for a batch of 3-point sets.

    ``p``, ``q``: (H, 3, 2). Returns ``a``, ``b`` (M = [[a, b], [-b, a]]) and ``t`` (H, 2).
    """
    pm = p.mean(axis=1, keepdims=True)
    qm = q.mean(axis=1, keepdims=True)
    P, Q = p - pm, q - qm
    s = (P ** 2).sum(axis=(1, 2))
    a = (P[..., 0] * Q[..., 0] + P[..., 1] * Q[..., 1]).sum(axis=1) / s
    b = (P[..., 1] * Q[..., 0] - P[..., 0] * Q[..., 1]).sum(axis=1) / s
    pm, qm = pm[:, 0, :], qm[:, 0, :]
    t = np.column_stack([qm[:, 0] - (a * pm[:, 0] + b * pm[:, 1]),
                         qm[:, 1] - (-b * pm[:, 0] + a * pm[:, 1])])
    return a, b, t


def triangle_match(img_xy, ref_xy, tolerance: float, *, k: int = 6, eps: float = 0.01,
                   max_scale_dev: float = 0.05, max_rotation: float = 10.0,
                   max_hypotheses: int = 60, min_inliers: int = 4,
                   max_shift: float | None = None, max_sources: int = 800
                   ) -> TriangleMatch | None:
    """Find a similarity transform ``ref ≈ M @ img + t`` by matching asterisms.

    Parameters
    ----------
    img_xy, ref_xy : array_like (N, 2), (M, 2)
        Positions of the image and reference sources.
    tolerance : float
        Matching radius used to verify a candidate transform.
    k : int
        Neighbours per source used to form triangles (``k(k-1)/2`` each).
    eps : float
        Largest distance between the shape invariants of two matching triangles.
    max_scale_dev : float
        Largest accepted ``|scale - 1|`` of a triangle pair.
    max_rotation : float
        Largest accepted rotation of a triangle pair, degrees.
    max_hypotheses : int
        Largest number of distinct candidate transforms verified.
    min_inliers : int
        Fewer verified matches than this gives None.
    max_shift : float, optional
        Largest accepted translation of the centre of the image sources.
    max_sources : int
        Large lists are cut to the ``max_sources`` image sources nearest to
        their centre (and the reference sources around them), which keeps
        the cost bounded in crowded fields.

    Returns
    -------
    TriangleMatch or None

    Notes
    -----
    Triangles are formed by each source and every pair of its ``k`` nearest
    neighbours; their shape is described by the side ratios
    ``(mid/long, short/long)`` and the vertices are ordered by the length of
    the opposite side. Nearly isosceles (ambiguous order), very flat and very
    small triangles are not used. Each pair of triangles with close shapes,
    the same orientation and a plausible scale and rotation votes for its
    three vertex correspondences; candidate pairs whose correspondences have
    the most votes give the transforms that are verified (and refined)
    against all sources.
    """
    img = np.asarray(img_xy, dtype=float).reshape(-1, 2)
    ref = np.asarray(ref_xy, dtype=float).reshape(-1, 2)
    if img.shape[0] < 3 or ref.shape[0] < 3:
        return None
    if img.shape[0] > max_sources:
        c0 = np.median(img, axis=0)
        r_img = np.hypot(*(img - c0).T)
        sel = np.argsort(r_img)[:max_sources]
        radius = r_img[sel].max()
        margin = max(0.3 * radius, 0.0 if max_shift is None else max_shift)
        img = img[sel]
        ref = ref[np.hypot(*(ref - c0).T) <= radius + margin]
        if ref.shape[0] < 3:
            return None
    min_side = 10.0 * tolerance
    ti = _triangles(img, k, min_side)
    tr = _triangles(ref, k, min_side)
    if ti is None or tr is None or ti[0].shape[0] == 0 or tr[0].shape[0] == 0:
        return None
    vi, invi, si, oi, ai = ti
    vr, invr, sr, orr, ar = tr
    pairs = cKDTree(invi).sparse_distance_matrix(cKDTree(invr), eps, output_type="ndarray")
    if pairs.size == 0:
        return None
    ci = pairs["i"].astype(np.int64)
    cr = pairs["j"].astype(np.int64)
    ratio = sr[cr] / si[ci]
    dang = np.rad2deg((ar[cr] - ai[ci] + np.pi) % (2 * np.pi) - np.pi)
    ok = ((oi[ci] == orr[cr]) & (np.abs(ratio - 1.0) <= max_scale_dev)
          & (np.abs(dang) <= max_rotation))
    ci, cr = ci[ok], cr[ok]
    ncand = int(ci.size)
    if ncand == 0:
        return None
    # votes for vertex correspondences
    nref = ref.shape[0]
    keys = (vi[ci] * nref + vr[cr]).ravel()      # (ncand*3,)
    _, kinv, kcnt = np.unique(keys, return_inverse=True, return_counts=True)
    votes = kcnt[kinv].reshape(-1, 3)
    score = votes.min(axis=1) * 1000 + votes.sum(axis=1)
    order = np.argsort(-score, kind="stable")[:max(50 * max_hypotheses, 1000)]

    # candidate transforms, then distinct ones in order of support
    a, b, t = _similarity_batch(img[vi[ci[order]]], ref[vr[cr[order]]])
    center = img.mean(axis=0)
    cshift = np.column_stack([a * center[0] + b * center[1], -b * center[0] + a * center[1]]) \
        + t - center
    rot = np.arctan2(b, a)
    good = np.isfinite(a) & (np.abs(np.hypot(a, b) - 1.0) <= max_scale_dev)
    if max_shift is not None:
        good &= np.hypot(*cshift.T) <= max_shift
    if not good.any():
        return None
    cell = np.column_stack([np.floor(cshift[:, 0] / (2 * tolerance)),
                            np.floor(cshift[:, 1] / (2 * tolerance)),
                            np.floor(rot / 2e-3)]).astype(np.int64)
    idx = np.flatnonzero(good)
    _, first = np.unique(cell[idx], axis=0, return_index=True)
    hyp = idx[np.sort(first)][:max_hypotheses]

    ref_tree = cKDTree(ref)
    best = None
    for h in hyp:
        m = np.array([[a[h], b[h]], [-b[h], a[h]]])
        nin, m, sh = _verify(img, ref, ref_tree, m, t[h], tolerance)
        if best is None or nin > best[0]:
            best = (nin, m, sh)
            if nin >= max(min_inliers, 0.5 * min(img.shape[0], ref.shape[0])):
                break
    if best is None or best[0] < min_inliers:
        return None
    s = math.sqrt(abs(np.linalg.det(best[1])))
    if abs(s - 1.0) > max_scale_dev:
        return None
    return TriangleMatch(best[1], best[2], int(best[0]), ncand, len(hyp))


def _verify(img, ref, ref_tree, m, sh, tolerance, niter=3):
    """Count matches of a candidate transform, refining it on its own matches.

    The first pass matches within three tolerances (a transform from one small
    triangle is imprecise far from it), later passes within the tolerance.
    Returns ``(count within tolerance, matrix, shift)``.
    """
    radius = 3.0 * tolerance
    for _ in range(niter):
        d, j = ref_tree.query(img @ m.T + sh, k=1, distance_upper_bound=radius)
        hit = np.isfinite(d)
        if np.count_nonzero(hit) < 3:
            break
        try:
            m, sh = solve_transform(img[hit], ref[j[hit]], None, "rscale")
        except AlignmentError:
            break
        radius = tolerance
    d, _ = ref_tree.query(img @ m.T + sh, k=1, distance_upper_bound=tolerance)
    return int(np.count_nonzero(np.isfinite(d))), m, sh
