"""drizzlekit's statistics vs the maintained libraries doing the same (issue 13 item 8).

Prints, for the sizes the pipeline uses (a 2048 x 4096 ACS/WFC chip for the
sky and static-mask statistics; single-drizzled stacks for the median), the
time of drizzlekit's code, of the library and their ratio, and whether the
results are identical:

* clipped mean/stddev: ``drizzlekit.stats.image_stats`` (numba loops) vs
  ``astropy.stats.SigmaClip(cenfunc='mean', stdfunc=<std ddof=1>)``;
* the median of the clipped values: ``np.median`` vs ``bottleneck.median``;
* the stack median without rejection (``combine_type='median'``, nlow =
  nhigh = 0): drizzlekit's sort-based rule vs ``bottleneck.nanmedian`` along
  axis 0, whole ``combine_median`` calls and one 256-row chunk.

Run: ``python -m benchmarks.bench_stats_libs [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _best(func, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _sky_like(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(40.0, 7.0, n).astype(np.float32)
    hot = rng.integers(0, n, n // 200)
    x[hot] += rng.exponential(500.0, hot.size).astype(np.float32)  # sources, CRs
    return x


def clipping(n, nclip=5):
    from astropy.stats import SigmaClip

    from drizzlekit.stats import image_stats

    x = _sky_like(n)
    image_stats(x[:1000], nclip=1)  # compile
    t_dk, st = _best(lambda: image_stats(x, nclip=nclip, lsig=3.0, usig=3.0))

    def std1(a, axis=None):
        return np.nanstd(a, axis=axis, ddof=1)

    sc = SigmaClip(sigma_lower=3.0, sigma_upper=3.0, maxiters=nclip, cenfunc="mean",
                   stdfunc=std1)

    def astropy_stats():
        c = sc(x, masked=False, return_bounds=True, copy=False)
        kept = c[0]
        kept = kept[np.isfinite(kept)]
        return kept.size, float(np.mean(kept, dtype=np.float64)), float(np.std(kept, ddof=1))

    t_ap, (npix, mean, std) = _best(astropy_stats)
    same = (npix == st.npix, abs(mean - st.mean) / st.stddev, abs(std / st.stddev - 1))
    print(f"clipped stats, {n / 1e6:.1f} M values, nclip={nclip}: drizzlekit {t_dk * 1e3:.1f} ms, "
          f"astropy SigmaClip {t_ap * 1e3:.1f} ms, astropy/drizzlekit = {t_ap / t_dk:.2f}; "
          f"same npix: {same[0]}, |dmean|/std = {same[1]:.1e}, |dstd|/std = {same[2]:.1e}")


def median_1d(n):
    import bottleneck as bn

    x = _sky_like(n)
    t_np, m_np = _best(lambda: np.median(x))
    t_bn, m_bn = _best(lambda: bn.median(x))
    print(f"median of {n / 1e6:.1f} M float32 values: numpy {t_np * 1e3:.1f} ms, bottleneck "
          f"{t_bn * 1e3:.1f} ms, numpy/bottleneck = {t_np / t_bn:.2f}; identical: "
          f"{np.float32(m_np) == np.float32(m_bn)} ({m_np!r} vs {m_bn!r})")


def median_stack(n_img, shape, bad_fraction=0.05, combine_type="median"):
    from drizzlekit.steps.median import combine_median

    rng = np.random.default_rng(1)
    images = [rng.normal(10.0, 2.0, shape).astype(np.float32) for _ in range(n_img)]
    weights = [np.where(rng.random(shape) < bad_fraction, 0.0, 1.0).astype(np.float32)
               for _ in range(n_img)]
    import drizzlekit.steps.median as med

    def run():
        kw = {}
        if combine_type.endswith("minmed"):
            kw = dict(exptimes=[100.0] * n_img, readnoise=[5.0] * n_img,
                      backgrounds=[40.0] * n_img)
        return combine_median(images, weights, combine_type=combine_type, newmasks=True,
                              maskpt=0.5, **kw)

    saved = med._HAVE_BOTTLENECK
    try:
        med._HAVE_BOTTLENECK = False
        t_np, a = _best(run, 2)
        med._HAVE_BOTTLENECK = saved
        t_bn, b = _best(run, 2)
    finally:
        med._HAVE_BOTTLENECK = saved
    print(f"{combine_type} of {n_img} images {shape}: sort rule {t_np:.2f} s, bottleneck.nanmedian "
          f"{t_bn:.2f} s, ratio = {t_np / t_bn:.2f}; identical: {np.array_equal(a, b)}")


def median_rows_chunk(shape=(256, 2048), repeat=5):
    """The per-chunk kernel alone, interleaved (less sensitive to a busy machine)."""
    import drizzlekit.steps.median as med

    rng = np.random.default_rng(0)
    saved = med._HAVE_BOTTLENECK
    try:
        for n_img in (3, 4, 6, 8, 12):
            data = rng.normal(10, 2, (n_img,) + shape).astype(np.float32)
            bad = rng.random(data.shape) < 0.05
            best = {False: np.inf, True: np.inf}
            for _ in range(repeat):
                for flag in (False, True):
                    med._HAVE_BOTTLENECK = flag
                    fn = med._bn_median_rows if flag else med._median_rows
                    args = (data, bad) if flag else (data, bad, 0, 0)
                    t0 = time.perf_counter()
                    fn(*args)
                    best[flag] = min(best[flag], time.perf_counter() - t0)
            print(f"one {shape} chunk of {n_img} images: sort rule {best[False] * 1e3:.0f} ms, "
                  f"bottleneck.nanmedian {best[True] * 1e3:.0f} ms, "
                  f"ratio = {best[False] / best[True]:.2f}")
    finally:
        med._HAVE_BOTTLENECK = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    args = ap.parse_args()
    n = 1_000_000 if args.quick else 2048 * 4096
    clipping(n)
    median_1d(n)
    shape = (512, 1024) if args.quick else (2048, 2048)
    for n_img in (3, 4, 8):  # above 8 images (_BN_MAX_IMAGES) the sort rule is used
        median_stack(n_img, shape)
    median_rows_chunk()


if __name__ == "__main__":
    main()
