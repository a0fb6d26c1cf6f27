"""Memory that grows with the inputs (issue 12): single drizzles on footprints, the median
in row bands, the overlap check by coverage count, intermediates on disk.

Every rewritten step is checked bit for bit against the full-frame computation it
replaces; memory is checked by array-size accounting and tracemalloc, never by time.
"""

import math
import os
import tracemalloc

import numpy as np
import pytest

from drizzlekit import pipeline as pl
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import NoOverlapError
from drizzlekit.io.bits import combine_masks
from drizzlekit.footprint import Footprint, SingleFrames, lonely_footprints
from drizzlekit.mosaic import ScaleOptions
from drizzlekit.steps.drizzle_steps import drizzle_chips
from drizzlekit.steps.median import combine_median
from drizzlekit.tiles import median_bands

COMMON = dict(runfile="", progress=False, in_memory=True)


def mosaic_offsets(n, size, overlap=0.3):
    """Pointings on a grid (``overlap`` of a chip shared), two sub-pixel dithers each."""
    side = int(math.ceil(math.sqrt(max(1, n // 2))))
    step = size * (1 - overlap)
    return np.array([[(k // 2 % side) * step + 0.37 * (k % 2),
                      (k // 2 // side) * step + 0.61 * (k % 2)] for k in range(n)])


def _mosaic(n, size=64, seed=1, **kw):
    return simulate_dither(n_exposures=n, shape=(size, size), dithers=mosaic_offsets(n, size),
                           seed=seed, n_stars=10, n_galaxies=2, **kw)


def _prepared(sim, tmp_path, max_memory=None, **params):
    res = pl.prepare(sim.hdulists, output=str(tmp_path / "m"), **COMMON, **params)
    res.scaling = ScaleOptions(max_memory=max_memory)
    pl.run_static_mask(res)
    pl.run_sky(res)
    return res


def _full_singles(res):
    """The single drizzles as before issue 12: every exposure on the full frame."""
    p = res.params
    sci, wht = [], []
    for e, exp in enumerate(res.exposures):
        chips, raw = [], []
        for chip in exp.chips:
            mask = combine_masks(pl.dq_mask(chip, p["driz_sep_bits"], "driz_sep_bits"),
                           pl.static_mask_of(res, chip))
            chips.append(pl.drizzle_input(res, (res.names[e], chip.extver), e, chip, mask))
            raw.append(chip)
        prod = drizzle_chips(chips, res.single_wcs, res.single_shape,
                             kernel=p["driz_sep_kernel"], pixfrac=p["driz_sep_pixfrac"],
                             fillval=p["driz_sep_fillval"], initial=0.0, wht_type=None,
                             wt_scl=p["driz_sep_wt_scl"], wt_scl_name="driz_sep_wt_scl",
                             context=False,
                             pixmap_cache=lambda k, c, e=e, cs=raw:
                             pl.chip_pixmap(res, e, cs[k], res.single_wcs))
        sci.append(prod.sci)
        wht.append(prod.wht)
    return sci, wht


def _median_reference(res, sci, wht):
    p = res.params
    exps = [e.exptime for e in res.exposures]
    rn = [math.sqrt(float(np.mean([c.rdnoise ** 2 for c in e.chips]))) for e in res.exposures]
    bg = [min(res.sky.get((nm, c.extver), 0.0) * c.conversion_factor for c in e.chips)
          for nm, e in zip(res.names, res.exposures)]
    return combine_median(sci, wht, combine_type=p["combine_type"], nlow=p["combine_nlow"],
                          nhigh=p["combine_nhigh"], lthresh=p["combine_lthresh"],
                          hthresh=p["combine_hthresh"], nsigma=p["combine_nsigma"],
                          grow=p["combine_grow"], maskpt=p["combine_maskpt"],
                          newmasks=p["median_newmasks"], exptimes=exps, readnoise=rn,
                          backgrounds=bg, compat=p["combine_compat"])


@pytest.mark.parametrize("params", [
    dict(),
    dict(driz_sep_kernel="square", driz_sep_pixfrac=0.7),
    dict(driz_sep_kernel="lanczos3", combine_type="median"),
    dict(driz_sep_kernel="gaussian", combine_type="iminmed", combine_compat=True),
    dict(driz_sep_fillval=5.0, combine_type="imedian", combine_compat=True),
    dict(combine_type="mean", combine_nlow=1, median_newmasks=False),
    dict(combine_type="sum"),
])
def test_footprints_and_banded_median_equal_the_full_frame_run(tmp_path, params):
    sim = _mosaic(6)
    res = _prepared(sim, tmp_path, max_memory=1, **params)  # 16-row bands
    pl.run_drizzle_separate(res)
    assert isinstance(res.single_sci, SingleFrames)
    sci, wht = _full_singles(res)
    fps = res.single_sci.footprints
    for k, name in enumerate(res.names):
        np.testing.assert_array_equal(res.single_sci[name], sci[k])
        np.testing.assert_array_equal(res.single_wht[name], wht[k])
    # the footprints are much smaller than the frame
    frame = res.single_shape[0] * res.single_shape[1]
    assert sum(fp.sci.size for fp in fps.values()) < 0.6 * len(fps) * frame
    pl.run_median(res)
    np.testing.assert_array_equal(res.median, _median_reference(res, sci, wht))


def test_median_bands_match_combine_median_for_any_band_split():
    rng = np.random.default_rng(3)
    ny, nx = 70, 40
    fps, sci, wht = [], [], []
    for k in range(5):
        y0, x0 = int(rng.integers(0, 30)), int(rng.integers(0, 10))
        h, w = int(rng.integers(20, ny - y0)), int(rng.integers(15, nx - x0))
        s = rng.normal(10, 2, (h, w)).astype(np.float32)
        s[rng.random((h, w)) < 0.02] = 500.0  # cosmic rays
        wt = np.full((h, w), 100.0 + k, np.float32)
        wt[:, :3] = 0.0
        fps.append(Footprint(y0, x0, s, wt))
        sci.append(fps[-1].full("sci", (ny, nx)))
        wht.append(fps[-1].full("wht", (ny, nx)))
    kw = dict(exptimes=[100.0 + k for k in range(5)], readnoise=[3.0] * 5,
              backgrounds=[1.0] * 5)
    ref = combine_median(sci, wht, grow=2, **kw)
    for rows in (1, 7, 16, 70):
        bands = [(r, min(r + rows, ny)) for r in range(0, ny, rows)]
        got = median_bands(fps, (ny, nx), grow=2, bands=bands, **kw)
        np.testing.assert_array_equal(got, ref)


def test_overlap_check_is_a_coverage_count(tmp_path):
    shape = (30, 30)
    w = np.ones((10, 10), np.float32)
    fps = {"a": Footprint(0, 0, w, w), "b": Footprint(5, 5, w, w),
           "c": Footprint(20, 20, w, w), "d": Footprint(0, 0, w[:0], w[:0])}
    assert lonely_footprints(fps, shape) == ["c", "d"]
    # in the pipeline: an exposure far from the others is refused before the median
    sim = simulate_dither(n_exposures=3, shape=(48, 48), dithers=[[0, 0], [0.5, 0.5],
                                                                   [200, 0]], seed=2,
                          n_stars=5, n_galaxies=0)
    res = _prepared(sim, tmp_path)
    pl.run_drizzle_separate(res)
    with pytest.raises(NoOverlapError, match="in-memory 2"):
        pl.run_median(res)


def _step_peak(n, tmp_path):
    """tracemalloc peak (bytes) of drizzle separate + median for an n-exposure mosaic."""
    sim = _mosaic(n, size=48, seed=4)
    res = _prepared(sim, tmp_path / f"n{n}", max_memory=2 ** 20)
    inputs = sum(c.sci.size for _, _, c in res.chips())
    pl.run_drizzle_separate(res)  # warm-up (compilation, pixel-map cache)
    tracemalloc.start()
    try:
        pl.run_drizzle_separate(res)
        pl.run_median(res)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stored = sum(fp.nbytes for fp in res.single_sci.footprints.values())
    frame = res.single_shape[0] * res.single_shape[1]
    return peak, stored, inputs, frame


def test_memory_grows_with_the_inputs_not_n_times_the_frame(tmp_path):
    (tmp_path / "n4").mkdir()
    (tmp_path / "n16").mkdir()
    p4, s4, i4, f4 = _step_peak(4, tmp_path)
    p16, s16, i16, f16 = _step_peak(16, tmp_path)
    grow = i16 / i4  # 4x the input pixels
    # the footprints hold ~8 bytes per covered output pixel, linear in the inputs
    assert s16 <= 1.2 * grow * s4
    # full-frame singles would have grown with N x frame
    assert 16 * f16 * 8 > 2.0 * grow * (4 * f4 * 8)
    # and so does the peak of the two steps (median frame + bands + footprints)
    assert p16 <= 1.2 * grow * p4


def test_in_memory_false_keeps_intermediates_in_a_removed_temporary_directory(tmp_path):
    sim = _mosaic(4, size=48)
    scr = tmp_path / "scratch"
    scr.mkdir()
    seen = []
    real = pl.run_median

    def spy(res):
        seen.extend(os.listdir(res.scaling.scratch.path))
        assert isinstance(res.single_sci.footprints[res.names[0]].sci, np.memmap)
        return real(res)

    ref = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "mem"), runfile="",
                          progress=False, in_memory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl, "run_median", spy)  # the module's global, as astrodrizzle sees it
        res = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "disk"), runfile="",
                              progress=False, in_memory=False, scratch_dir=str(scr))
    assert seen and any(f.endswith(".npy") for f in seen)
    assert os.listdir(scr) == []  # removed after success
    np.testing.assert_array_equal(res.sci, ref.sci)
    np.testing.assert_array_equal(res.median, ref.median)  # still readable afterwards
    np.testing.assert_array_equal(res.single_sci[res.names[1]], ref.single_sci[ref.names[1]])


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_temporary_directory_is_removed_on_failure_and_ctrl_c(tmp_path, error):
    sim = _mosaic(4, size=48)
    scr = tmp_path / "scratch"
    scr.mkdir()

    def fail(res):
        assert os.listdir(res.scaling.scratch.path)  # the singles are on disk
        raise error

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl, "run_blot", fail)
        with pytest.raises(type(error)):
            pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "x"), runfile="",
                            progress=False, in_memory=False, scratch_dir=str(scr))
    assert os.listdir(scr) == []
    assert not (tmp_path / "x_drz.fits").exists()


def test_max_memory_keyword_points_to_memory_limit(tmp_path):
    from drizzlekit.exceptions import ParameterError

    sim = _mosaic(2, size=32)
    with pytest.raises(ParameterError, match="max_memory .*replaced by .*memory_limit"):
        pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "x"), max_memory=2 ** 20,
                        **COMMON)
    with pytest.raises(ParameterError, match="memory_limit"):
        pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "x"), memory_limit=-5, **COMMON)


def test_memory_limit_shares():
    from drizzlekit import memory
    from drizzlekit.tiles import MAX_MEMORY

    gib = 2 ** 30
    assert memory.median_buffer_bytes(None) == MAX_MEMORY
    assert memory.pixmap_cache_bytes(None) == pl.PIXMAP_CACHE_BYTES
    assert memory.frame_budget(None) is None
    assert memory.median_buffer_bytes(1.0) == gib // 4
    assert memory.pixmap_cache_bytes(1.0) == gib // 4
    assert memory.pixmap_cache_bytes(64.0) == pl.PIXMAP_CACHE_BYTES  # capped
    assert memory.frame_budget(2.0) == gib


def _band_sizes(monkeypatch):
    """Record (stacked images, rows with the halo, nx) of every median band computed:
    the shape of the band's ``(k, rows, nx)`` working stacks."""
    from drizzlekit import tiles

    seen = []
    real = tiles.combine_band

    def spy(band, footprints, **kw):
        lo, hi = max(0, band[0] - kw["g"]), min(kw["ny"], band[1] + kw["g"])
        k = sum(fp.intersects(lo, hi) for fp in footprints)
        seen.append((max(k, min(kw["n_total"], 3)), hi - lo, kw["nx"]))
        return real(band, footprints, **kw)

    monkeypatch.setattr(tiles, "combine_band", spy)
    return seen


def test_memory_limit_bounds_the_median_band_buffers(tmp_path, monkeypatch):
    """One parameter: a quarter of ``memory_limit`` bounds every band's buffers
    (array-size accounting), the pixel-map cache stays within its quarter, and
    the median is the one of the default run."""
    from drizzlekit.tiles import BYTES_PER_VALUE

    sim = _mosaic(6, size=64)
    ref = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "ref"), **COMMON)
    ny, nx = ref.single_shape
    limit_gib = 40 * 6 * nx * BYTES_PER_VALUE * 4 / 2 ** 30  # ~40-row bands for 6 images
    seen = _band_sizes(monkeypatch)
    res = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "lim"),
                          memory_limit=limit_gib, **COMMON)
    budget = int(limit_gib * 2 ** 30 / 4)
    assert res.scaling.max_memory == budget
    assert len(seen) > 1  # the frame was split into bands
    for images, rows, width in seen:
        assert images * rows * width * BYTES_PER_VALUE <= budget
    np.testing.assert_array_equal(res.median, ref.median)
    np.testing.assert_array_equal(res.sci, ref.sci)


def test_memory_limit_caps_the_pixel_map_cache(tmp_path):
    sim = _mosaic(4, size=64)
    free = pl.prepare(sim.hdulists, output=str(tmp_path / "f"), **COMMON)
    (ny, nx), (sy, sx) = free.output_shape, free.single_shape
    limit = 2.05 * (ny * nx * 12 + sy * sx * 4) / 2 ** 30  # the frames just fit in half
    res = pl.prepare(sim.hdulists, output=str(tmp_path / "m"), memory_limit=limit, **COMMON)
    for r in (free, res):
        pl.run_static_mask(r)
        pl.run_sky(r)
        pl.run_drizzle_separate(r)
    cap = int(limit * 2 ** 30 / 4)
    assert free._pixmap_bytes > cap  # without the limit the cache holds more
    assert 0 < res._pixmap_bytes <= cap
    np.testing.assert_array_equal(res.single_sci[res.names[2]], free.single_sci[free.names[2]])


def test_memory_limit_refuses_frames_needing_more_than_half(tmp_path):
    from drizzlekit.exceptions import ParameterError

    sim = _mosaic(2, size=48)
    res = pl.prepare(sim.hdulists, output=str(tmp_path / "a"), **COMMON)
    ny, nx = res.output_shape
    sy, sx = res.single_shape
    need = ny * nx * (8 + 4) + sy * sx * 4  # sci + wht, one ctx plane, the median
    too_small = 1.5 * need / 2 ** 30  # the frames fit in it, but not in its half
    with pytest.raises(ParameterError, match=r"half of memory_limit=.* GiB.*final_"):
        pl.prepare(sim.hdulists, output=str(tmp_path / "b"), memory_limit=too_small,
                   **COMMON)
    pl.prepare(sim.hdulists, output=str(tmp_path / "c"), memory_limit=2.5 * need / 2 ** 30,
               **COMMON)
