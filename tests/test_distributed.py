"""AstroDrizzle on a Dask cluster (issue 12): the product equals the in-process run bit for
bit; the array entry point equals a full-frame drizzle; WCSs travel exactly."""

import math
import pickle

import numpy as np
import pytest

from drizzlekit import pipeline as pl
from drizzlekit.datasets import simulate_dither
from drizzlekit.distributed import drizzle_to_dask, pack_wcs, unpack_wcs
from drizzlekit.pixmap import calc_pixmap
from drizzlekit.pixmap_store import PixmapStore
from drizzlekit.resample import Drizzle

distributed = pytest.importorskip("dask.distributed")


def _offsets(n, size, overlap=0.3):
    side = int(math.ceil(math.sqrt(max(1, n // 2))))
    step = size * (1 - overlap)
    return np.array([[(k // 2 % side) * step + 0.37 * (k % 2),
                      (k // 2 // side) * step + 0.61 * (k % 2)] for k in range(n)])


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_wcs_travels_bit_exact(tmp_path):
    sim = simulate_dither(n_exposures=2, shape=(64, 64), n_chips=2, seed=1,
                          outdir=tmp_path, n_stars=5, n_galaxies=0)
    res = pl.prepare(sim.filenames, output=str(tmp_path / "x"), runfile="", in_memory=True)
    chip = res.exposures[0].chips[1]
    ref = calc_pixmap(chip.wcs, res.single_wcs, shape=chip.shape, stepsize=10)
    w = unpack_wcs(pickle.loads(pickle.dumps(pack_wcs(chip.wcs))))
    f = unpack_wcs(pickle.loads(pickle.dumps(pack_wcs(res.single_wcs))))
    np.testing.assert_array_equal(calc_pixmap(w, f, shape=chip.shape, stepsize=10), ref)


def test_astrodrizzle_on_two_worker_processes_equals_the_in_process_run(tmp_path, client):
    n = 4
    sim = simulate_dither(n_exposures=n, shape=(96, 96), n_chips=2, dithers=_offsets(n, 96),
                          seed=5, outdir=tmp_path / "in", n_stars=20, n_galaxies=2)
    common = dict(runfile="", progress=False, in_memory=False, build=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "a" / "f"), **common)
    b = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "b" / "f"), client=client,
                        **common)
    for name in ("sci", "wht", "ctx", "median"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    for key in a.blots:
        np.testing.assert_array_equal(b.blots[key], a.blots[key])
        np.testing.assert_array_equal(b.cr_masks[key], a.cr_masks[key])
    for name in a.names:
        np.testing.assert_array_equal(b.single_sci[name], a.single_sci[name])
    assert [r.wt_scl for r in b.records] == [r.wt_scl for r in a.records]
    # the written products are the same bytes apart from the header dates
    from astropy.io import fits

    with fits.open(a.files_written[0]) as fa, fits.open(b.files_written[0]) as fb:
        np.testing.assert_array_equal(fa[1].data, fb[1].data)


def test_in_memory_inputs_are_shipped_to_the_workers(tmp_path, client):
    sim = simulate_dither(n_exposures=2, shape=(64, 64), seed=6, n_stars=10, n_galaxies=1)
    common = dict(runfile="", progress=False, in_memory=True, final_wht_type="ERR",
                  final_fillval=-1.0)
    a = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "a"), **common)
    b = pl.astrodrizzle(sim.hdulists, output=str(tmp_path / "b"), client=client, **common)
    np.testing.assert_array_equal(b.sci, a.sci)
    np.testing.assert_array_equal(b.wht, a.wht)


@pytest.mark.parametrize("kernel", ["square", "turbo", "lanczos3", "gaussian", "point"])
def test_drizzle_to_dask_tiles_equal_the_full_frame(kernel):
    import dask

    sim = simulate_dither(n_exposures=3, shape=(60, 50), dithers=_offsets(3, 50), seed=7,
                          n_stars=5, n_galaxies=0)
    res = pl.prepare(sim.hdulists, output="unused", runfile="", in_memory=True)
    frame, shape = res.output_wcs, res.output_shape
    inputs = [(c.sci, c.wcs) for _, _, c in res.chips()]
    full = Drizzle(kernel=kernel, out_shape=shape, begin_ctx_id=0, max_ctx_id=2)
    for data, wcs in inputs:
        pm = PixmapStore(calc_pixmap(wcs, frame, shape=data.shape, stepsize=10)).decode()
        full.add_image(data.astype(np.float32), exptime=1.0, pixmap=pm, pixfrac=0.8,
                       weight_map=np.ones(data.shape, np.float32), in_units="cps")
    with dask.config.set(scheduler="synchronous"):
        sci = drizzle_to_dask(inputs, frame, shape, tile=32, kernel=kernel, pixfrac=0.8)
        wht = drizzle_to_dask(inputs, frame, shape, tile=32, kernel=kernel, pixfrac=0.8,
                              what="wht")
        ctx = drizzle_to_dask(inputs, frame, shape, tile=32, kernel=kernel, pixfrac=0.8,
                              what="ctx")
        assert sci.chunks[0][0] == 32
        np.testing.assert_array_equal(sci.compute(), full.out_img)
        np.testing.assert_array_equal(wht.compute(), full.out_wht)
        np.testing.assert_array_equal(ctx.compute(), full.out_ctx)


# -- the per-chip steps on the workers, and a client that keeps no pixels ---------------------
def test_static_mask_sky_and_driz_cr_run_on_the_workers(tmp_path, client):
    """globalmin sky, driz_cr_corr, resetbits, ERR weights, final_err: all equal; the
    per-chip tasks ran."""
    n = 3
    sim = simulate_dither(n_exposures=n, shape=(80, 80), n_chips=2, dithers=_offsets(n, 80),
                          seed=11, outdir=tmp_path / "in", n_stars=15, n_galaxies=1,
                          cr_rate=2e-4)
    common = dict(runfile="", progress=False, in_memory=True, skymethod="globalmin",
                  driz_cr_corr=True, resetbits=4096, final_wht_type="ERR", final_err=True)
    a = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "a"), **common)
    with distributed.get_task_stream(client) as ts:
        b = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "b"), client=client, **common)
    names = {t["key"].split("-")[0] for t in ts.data if isinstance(t["key"], str)}
    for task in ("_static_batch", "_sky_batch", "_single_batch", "combine_band",
                 "_blot_batch", "_cr_batch", "_tile_task"):
        assert task in names, (task, sorted(names))
    assert b.sky == a.sky
    for sig in a.static_masks:
        np.testing.assert_array_equal(b.static_masks[sig], a.static_masks[sig])
    for key in a.cr_masks:
        np.testing.assert_array_equal(b.cr_masks[key], a.cr_masks[key])
        np.testing.assert_array_equal(b.cr_clean[key], a.cr_clean[key])
    for name in ("sci", "wht", "ctx", "median", "err"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    assert np.isfinite(b.err).any()
    from drizzlekit.mosaic import options

    assert not options(b).pending  # the CR tasks' futures are released after driz_cr


def test_the_client_keeps_no_exposure_pixels(tmp_path, client, monkeypatch):
    """Array-size accounting: with a small pixel cache the client process holds at most
    two chips' pixels at any time, never every exposure's; the product is unchanged."""
    from drizzlekit.io import lazy

    n = 4
    sim = simulate_dither(n_exposures=n, shape=(64, 64), dithers=_offsets(n, 64), seed=12,
                          outdir=tmp_path / "in", n_stars=10, n_galaxies=1)
    chip_bytes = 64 * 64 * (4 + 4 + 2)  # SCI float32, ERR float32, DQ int16
    monkeypatch.setattr(lazy, "CLIENT_PIXEL_BYTES", 2 * chip_bytes)
    peak = [0]
    put = lazy._PixelCache.put

    def counting_put(self, key, arrays):
        put(self, key, arrays)
        peak[0] = max(peak[0], self.nbytes)

    monkeypatch.setattr(lazy._PixelCache, "put", counting_put)
    lazy._CACHE.items.clear()
    lazy._CACHE.nbytes = 0
    common = dict(runfile="", progress=False, in_memory=True)
    b = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "b"), client=client, **common)
    assert 0 < peak[0] <= 2 * chip_bytes < n * chip_bytes
    assert lazy.pixels_held() <= 2 * chip_bytes
    for _, _, chip in b.chips():
        assert isinstance(chip, lazy.LazyChip)
        assert not chip.__dict__.get("_own")  # nothing copied into the chip
    # the lazily read pixels are those of the in-process run (resetbits applied)
    a = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "a"), **common)
    for (_, _, ca), (_, _, cb) in zip(a.chips(), b.chips()):
        for what in ("sci", "err", "dq"):
            np.testing.assert_array_equal(getattr(cb, what), getattr(ca, what))
    np.testing.assert_array_equal(b.sci, a.sci)


def _sky_offsets(filenames, levels):
    """Add ``levels[k]`` to every SCI pixel of file ``k`` (so ``match`` has work to do)."""
    from astropy.io import fits

    for name, level in zip(filenames, levels):
        with fits.open(name, mode="update") as hdul:
            for h in hdul:
                if h.name == "SCI":
                    h.data = (h.data + np.float32(level)).astype(h.data.dtype)


@pytest.mark.parametrize("skymethod", ["match", "globalmin+match"])
def test_sky_match_runs_on_the_workers_without_client_pixels(tmp_path, client, monkeypatch,
                                                             skymethod):
    """The overlap statistics come from the workers: the skies and the product equal the
    in-process run; the client reads no chip's pixels during the sky step."""
    from drizzlekit.io import lazy

    n = 3
    sim = simulate_dither(n_exposures=n, shape=(64, 96), n_chips=2 if skymethod == "match"
                          else 1, dithers=_offsets(n, 64), seed=16, outdir=tmp_path / "in",
                          n_stars=8, n_galaxies=1)
    _sky_offsets(sim.filenames, [3.0, 0.0, 7.5])
    reads = []
    pixels = lazy.LazyChip._pixels

    def counting(self):
        reads.append(self.source)
        return pixels(self)

    monkeypatch.setattr(lazy.LazyChip, "_pixels", counting)
    in_sky = []
    run_sky = pl.run_sky

    def watched(res):
        before = len(reads)
        out = run_sky(res)
        in_sky.append(len(reads) - before)
        return out

    monkeypatch.setattr(pl, "run_sky", watched)
    common = dict(runfile="", progress=False, in_memory=True, skymethod=skymethod,
                  sky_overlap_step=2, driz_cr=False)
    with distributed.get_task_stream(client) as ts:
        b = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "b"), client=client,
                           **common)
    assert in_sky == [0]  # no chip pixels read in the client for the sky
    names = {t["key"].split("-")[0] for t in ts.data if isinstance(t["key"], str)}
    assert "_sky_match_batch" in names and "_sky_batch" not in names, sorted(names)
    a = pl.astrodrizzle(sim.filenames, output=str(tmp_path / "a"), **common)
    assert b.sky == a.sky
    levels = {name: v for (name, _), v in a.sky.items()}
    assert len(set(levels.values())) == n  # distinct skies: the match did something
    for name in ("sci", "wht", "ctx"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)


def test_sky_match_fallback_on_the_workers(tmp_path, client, caplog):
    """A ``match`` without overlaps falls back to ``localmin`` with the workers'
    statistics, like the in-process run."""
    import logging

    sim = simulate_dither(n_exposures=2, shape=(48, 64), dithers=[[0.0, 0.0], [400.0, 0.0]],
                          seed=17, outdir=tmp_path / "in", n_stars=5, n_galaxies=0)
    _sky_offsets(sim.filenames, [2.0, 0.0])
    from drizzlekit.mosaic import start_scaling

    res = [pl.prepare(sim.filenames, output=str(tmp_path / w), runfile="", in_memory=True,
                      skymethod="match") for w in "ab"]
    scratch = start_scaling(res[1], client)
    try:
        with caplog.at_level(logging.WARNING):
            got = [pl.run_sky(r) for r in res]
    finally:
        scratch.close()
    assert caplog.text.count("falling back") == 2
    assert got[1] == got[0]
    assert got[0][(res[0].names[0], 1)] > got[0][(res[0].names[1], 1)] + 1.0  # localmin


def test_ivm_files_are_read_by_the_workers(tmp_path, client, monkeypatch):
    """final_wht_type='IVM' with an @file IVM column: the workers read the IVM files (the
    client opens none during the final drizzle); the product equals the in-process run."""
    from pathlib import Path

    from astropy.io import fits

    n = 2
    sim = simulate_dither(n_exposures=n, shape=(64, 96), n_chips=2, dithers=_offsets(n, 64),
                          seed=18, outdir=tmp_path, n_stars=8, n_galaxies=1)
    rng = np.random.default_rng(18)
    lines, ivms = [], []
    for f in sim.filenames:
        ivm = f.replace("_flt.fits", "_ivm.fits")
        fits.HDUList([fits.PrimaryHDU()] + [
            fits.ImageHDU(rng.uniform(0.01, 0.05, (64, 96)).astype(np.float32), name="IVM",
                          ver=v) for v in (1, 2)]).writeto(ivm)
        lines.append(f"{Path(f).name} {Path(ivm).name}")
        ivms.append(str(Path(ivm).resolve()))
    (tmp_path / "in.lst").write_text("\n".join(lines) + "\n")
    opened = []
    fits_open = fits.open

    def recording(name, *args, **kw):
        opened.append(str(Path(name).resolve()) if isinstance(name, (str, Path)) else name)
        return fits_open(name, *args, **kw)

    final = pl.run_final_drizzle

    def watched(res):
        monkeypatch.setattr(fits, "open", recording)
        try:
            return final(res)
        finally:
            monkeypatch.setattr(fits, "open", fits_open)

    monkeypatch.setattr(pl, "run_final_drizzle", watched)
    common = dict(runfile="", progress=False, in_memory=True, final_wht_type="IVM",
                  driz_cr=False)
    b = pl.astrodrizzle(f"@{tmp_path / 'in.lst'}", output=str(tmp_path / "b"), client=client,
                        **common)
    assert not set(opened) & set(ivms)
    a = pl.astrodrizzle(f"@{tmp_path / 'in.lst'}", output=str(tmp_path / "a"), **common)
    assert set(opened) & set(ivms)  # the in-process run reads them here
    for name in ("sci", "wht", "ctx"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)


def test_lazy_chips_read_what_read_exposure_reads(tmp_path):
    from drizzlekit.io.fits_input import read_chip_arrays, read_exposure
    from drizzlekit.io.lazy import LazyChip, lazy_pixels

    sim = simulate_dither(n_exposures=1, shape=(40, 50), n_chips=2, seed=13, outdir=tmp_path)
    path = sim.filenames[0]
    exp = read_exposure(path)
    for chip in exp.chips:
        sci, err, dq = read_chip_arrays(path, chip.extver)
        np.testing.assert_array_equal(sci, chip.sci)
        np.testing.assert_array_equal(err, chip.err)
        np.testing.assert_array_equal(dq, chip.dq)
        assert sci.dtype == chip.sci.dtype and dq.dtype == chip.dq.dtype
    res = pl.prepare([path], output=str(tmp_path / "x"), runfile="", resetbits=4096)
    with lazy_pixels():
        lz = pl.prepare([path], output=str(tmp_path / "y"), runfile="", resetbits=4096)
    for (_, _, c), (_, _, l) in zip(res.chips(), lz.chips()):
        assert isinstance(l, LazyChip) and l.shape == c.shape
        np.testing.assert_array_equal(l.dq, c.dq)  # resetbits cleared once, on reading
        np.testing.assert_array_equal(l.sci, c.sci)
        with pytest.raises(ValueError):
            l.sci[0, 0] = 1.0  # read-only: a change would be lost on the next read
        l.sci = np.zeros(c.shape, np.float32)  # an assigned array is kept
        assert not l.sci.any()
    assert not isinstance(res.exposures[0].chips[0], LazyChip)  # only inside lazy_pixels
    import copy

    twin = copy.deepcopy(lz.exposures[0].chips[1])  # an independent copy holds its pixels
    assert type(twin).__name__ == "Chip" and twin.sci.flags.writeable
    np.testing.assert_array_equal(twin.dq, res.exposures[0].chips[1].dq)


def test_cached_wcs_copies_map_like_the_original(tmp_path):
    from drizzlekit.distributed.worker import cached_wcs

    sim = simulate_dither(n_exposures=1, shape=(48, 48), seed=14, outdir=tmp_path,
                          n_stars=3, n_galaxies=0)
    res = pl.prepare(sim.filenames, output=str(tmp_path / "x"), runfile="")
    chip = res.exposures[0].chips[0]
    packed = pack_wcs(chip.wcs)
    a, b = cached_wcs(packed), cached_wcs(packed)
    assert a is not b  # every task its own copy
    ref = calc_pixmap(chip.wcs, res.single_wcs, shape=chip.shape, stepsize=10)
    np.testing.assert_array_equal(calc_pixmap(b, res.single_wcs, shape=chip.shape,
                                              stepsize=10), ref)


@pytest.mark.parametrize("failure", ["input vanished", "ctrl-c"])
def test_a_failed_distributed_run_removes_its_scratch_directory(tmp_path, client, failure):
    """A worker that cannot read an input raises the reader's error (naming the file);
    Ctrl-C while CR tasks run: either way the temporary directory goes, nothing is written."""
    import os

    from drizzlekit.exceptions import InputFileError

    n = 2
    sim = simulate_dither(n_exposures=n, shape=(48, 48), dithers=_offsets(n, 48), seed=15,
                          outdir=tmp_path / "in", n_stars=8, n_galaxies=1)
    scr = tmp_path / "scratch"
    scr.mkdir()
    victim, step = (sim.filenames[0], "run_static_mask") if failure == "input vanished" \
        else (None, "run_blot")
    original = getattr(pl, step)

    def patched(res):
        if victim:
            os.remove(victim)  # after the client read it: only the workers miss it
            return original(res)
        original(res)
        assert os.listdir(res.scaling.scratch.path)  # intermediates on disk
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pl, step, patched)
        with pytest.raises(InputFileError if victim else KeyboardInterrupt) as err:
            pl.astrodrizzle(sim.filenames, output=str(tmp_path / "x"), client=client,
                            runfile="", progress=False, in_memory=False,
                            scratch_dir=str(scr))
    if victim:
        assert os.path.basename(victim) in str(err.value)
    assert os.listdir(scr) == []
    assert not (tmp_path / "x_drz.fits").exists()


def test_cache_sizes_from_the_environment(monkeypatch):
    from drizzlekit.distributed.worker import WorkerCache
    from drizzlekit.io.lazy import _cache_bytes

    monkeypatch.setenv("DRIZZLEKIT_CLIENT_PIXEL_CACHE_MB", "2")
    monkeypatch.setenv("DRIZZLEKIT_WORKER_CACHE_MB", "0")
    assert _cache_bytes() == 2 * 2 ** 20
    assert WorkerCache().limit == 0  # 0 disables the worker cache
    monkeypatch.setenv("DRIZZLEKIT_CLIENT_PIXEL_CACHE_MB", "lots")  # a typo: the default
    monkeypatch.setenv("DRIZZLEKIT_WORKER_CACHE_MB", "-1")
    assert _cache_bytes() == 256 * 2 ** 20
    assert WorkerCache().limit == 1024 * 2 ** 20


def _batch(fps):
    return fps, []  # a step-4 batch result: (footprints, log records)


def test_band_tasks_cut_the_footprints_kept_on_the_workers(client):
    """Band tasks given step-4 futures (and one shipped footprint) give the same median."""
    from drizzlekit.distributed import band_mapper
    from drizzlekit.footprint import Footprint
    from drizzlekit.tiles import median_bands

    rng = np.random.default_rng(3)
    fps = [Footprint(int(y), int(x), rng.random((40, 50), dtype=np.float32),
                     rng.random((40, 50), dtype=np.float32) + 0.5)
           for y, x in [(0, 0), (20, 30), (50, 10), (60, 40)]]
    kw = dict(exptimes=[1.0] * 4, readnoise=[2.0] * 4, backgrounds=[0.0] * 4, min_bands=5)
    batch = client.submit(_batch, fps[:3], pure=False)
    remote = [(fp, batch, i) for i, fp in enumerate(fps[:3])] + [None]
    with distributed.get_task_stream(client) as ts:
        got = median_bands(fps, (100, 90), band_map=band_mapper(client, remote), **kw)
    np.testing.assert_array_equal(got, median_bands(fps, (100, 90), **kw))
    assert sum(str(t["key"]).startswith("combine_band") for t in ts.data) >= 5
    batch.release()


def test_tuned_malloc_raises_thresholds_only_while_drizzlekit_tasks_run(monkeypatch):
    """Workers started with MALLOC_TRIM_THRESHOLD_ get glibc's mmap/trim thresholds raised
    while drizzlekit tasks run (overlapping tasks counted) and the worker's own values
    back, with a trim, when the last one ends; DRIZZLEKIT_WORKER_MALLOC=keep and
    processes without the variable are left alone (no real mallopt here)."""
    import ctypes

    from drizzlekit.distributed import worker

    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

        def malloc_trim(self, pad):
            calls.append(("trim", pad))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    monkeypatch.setenv("DRIZZLEKIT_WORKER_MALLOC", "keep")
    with worker.tuned_malloc():
        pass
    assert calls == []
    monkeypatch.delenv("DRIZZLEKIT_WORKER_MALLOC")
    with worker.tuned_malloc():
        with worker.tuned_malloc():  # a second task on another thread of the worker
            assert calls == [(-3, 32 * 2 ** 20), (-1, 64 * 2 ** 20)]
        assert len(calls) == 2  # still running: nothing restored yet
    assert calls[2:] == [(-3, 128 * 1024), (-1, 65536), ("trim", 0)]
    calls.clear()
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1000000")  # the worker's own value returns
    with pytest.raises(RuntimeError):
        with worker.tuned_malloc():
            raise RuntimeError("a failing task restores too")
    assert calls[2:] == [(-3, 1000000), (-1, 65536), ("trim", 0)]
    calls.clear()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    with worker.tuned_malloc():  # not a Dask worker: nothing
        pass
    assert calls == []
