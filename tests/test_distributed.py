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


@pytest.mark.parametrize("kernel", ["square", "turbo", "lanczos3"])
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
