"""``in_memory=False`` in one process (issue 12): chips read from their files when a step
needs them, intermediates (single drizzles, pixel maps, blots, CR masks) in scratch files
whose pages leave resident memory after use; products identical to ``in_memory=True``.

Memory is checked by accounting (objects alive, bytes cached, pages resident), never by time.
"""

import gc
import sys
import weakref

import numpy as np
import pytest

from drizzlekit import pipeline as pl
from drizzlekit.datasets import simulate_dither
from drizzlekit.io import lazy
from drizzlekit.scratch import Scratch, release_pages

COMMON = dict(runfile="", progress=False, build=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    out = tmp_path_factory.mktemp("ondisk")
    sim = simulate_dither(n_exposures=3, shape=(64, 96), n_chips=2, seed=4, n_stars=12,
                          n_galaxies=2, outdir=out, prefix="od")
    return list(sim.filenames)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def test_scratch_keeps_read_only_copies_written_with_file_writes(tmp_path):
    data = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    with Scratch(on_disk=True, where=str(tmp_path)) as scratch:
        kept = scratch.keep(data, "x")
        assert isinstance(kept, np.memmap)
        np.testing.assert_array_equal(kept, data)
        with pytest.raises(ValueError):  # an intermediate cannot be changed in place
            kept[0, 0] = 1.0
        assert Scratch(on_disk=False).keep(data) is data
    release_pages(data, None, kept)  # plain arrays and None are left alone
    np.testing.assert_array_equal(kept, data)  # still readable after the directory went


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_release_pages_drops_what_a_memory_map_made_resident(tmp_path):
    big = np.ones((2048, 4096), np.float32)  # 32 MiB
    with Scratch(on_disk=True, where=str(tmp_path)) as scratch:
        kept = scratch.keep(big, "big")
        del big
        gc.collect()
        before = _resident_bytes()
        assert float(kept.sum(dtype=np.float64)) == 2048 * 4096  # every page read
        grown = _resident_bytes() - before
        release_pages(kept[100:200])  # a view releases its whole map
        dropped = before + grown - _resident_bytes()
        assert grown > 24 * 2 ** 20
        assert dropped > 24 * 2 ** 20
        assert float(kept[-1, -1]) == 1.0  # read again from the file


def test_on_disk_run_equals_in_memory_run_and_holds_one_chip_at_a_time(tmp_path, files,
                                                                       monkeypatch):
    ref = pl.astrodrizzle(files, output=str(tmp_path / "mem"), in_memory=True, **COMMON)
    assert not any(getattr(c, "lazy", False) for e in ref.exposures for c in e.chips)

    made, most = [], [0]
    real = pl.runners.drizzle_input

    def counting(*args, **kw):  # DrizzleInputs of the final drizzle alive at once
        item = real(*args, **kw)
        made.append(weakref.ref(item))
        most[0] = max(most[0], sum(r() is not None for r in made))
        return item

    monkeypatch.setattr(pl.runners, "drizzle_input", counting)
    monkeypatch.setattr(lazy, "CLIENT_PIXEL_BYTES", 1)  # keep no chip read earlier
    res = pl.astrodrizzle(files, output=str(tmp_path / "disk"), in_memory=False, **COMMON)

    chips = [c for e in res.exposures for c in e.chips]
    assert len(chips) == 6 and all(getattr(c, "lazy", False) for c in chips)
    assert len(lazy._CACHE.items) <= 1  # one chip's arrays at most
    assert 1 <= most[0] <= 2  # built when drizzled, dropped after (never all six)
    for key in res.blots:
        assert isinstance(res.blots[key], np.memmap)
        assert isinstance(res.cr_masks[key], np.memmap)
        np.testing.assert_array_equal(res.blots[key], ref.blots[key])
        np.testing.assert_array_equal(res.cr_masks[key], ref.cr_masks[key])
    for name in ("sci", "wht", "ctx", "median"):
        np.testing.assert_array_equal(getattr(res, name), getattr(ref, name), err_msg=name)


@pytest.mark.parametrize("method", ["localmin", "match"])
def test_on_disk_sky_holds_one_chip_at_a_time(tmp_path, files, monkeypatch, method):
    from drizzlekit.steps import sky

    ref = pl.prepare(files, output=str(tmp_path / "m"), in_memory=True, skymethod=method,
                     runfile="")
    pl.run_static_mask(ref)
    pl.run_sky(ref)

    seen, most = [], [0]
    real = sky.chip_sky_terms

    def counting(chip, *args, **kw):  # chips' pixels alive when the next one is worked on
        seen.append(weakref.ref(chip.data))
        most[0] = max(most[0], sum(r() is not None for r in seen))
        return real(chip, *args, **kw)

    monkeypatch.setattr(sky, "chip_sky_terms", counting)
    monkeypatch.setattr(lazy, "CLIENT_PIXEL_BYTES", 1)
    with lazy.lazy_pixels():
        res = pl.prepare(files, output=str(tmp_path / "d"), in_memory=False, skymethod=method,
                         runfile="")
    pl.run_static_mask(res)
    pl.run_sky(res)
    assert len(seen) == 6 and most[0] <= 2
    assert res.sky == ref.sky


@pytest.mark.parametrize("change", ["rewrite", "remove"])
def test_an_input_changed_during_the_run_is_an_error_not_new_pixels(tmp_path, files,
                                                                    monkeypatch, change):
    import os
    import shutil

    from drizzlekit.exceptions import InputFileError

    mine = []
    for f in files:
        shutil.copy(f, tmp_path / os.path.basename(f))
        mine.append(str(tmp_path / os.path.basename(f)))
    monkeypatch.setattr(lazy, "CLIENT_PIXEL_BYTES", 1)  # every step reads the files again
    with lazy.lazy_pixels():
        res = pl.prepare(mine, output=str(tmp_path / "x"), in_memory=False, runfile="")
    pl.run_static_mask(res)  # reads every chip: the files as they were
    if change == "remove":
        os.remove(mine[0])
    else:
        with open(mine[0], "r+b") as fh:  # same size, other bytes, later time
            fh.seek(-16, os.SEEK_END)
            fh.write(b"\x01" * 16)
        st = os.stat(mine[0])
        os.utime(mine[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    with pytest.raises(InputFileError, match=r"od00_flt.fits: (changed|was removed) since"):
        pl.run_sky(res)


def test_a_dask_worker_refuses_an_input_changed_since_the_client_read_it(tmp_path, files,
                                                                          monkeypatch):
    import os
    import shutil

    from drizzlekit.distributed import chip_jobs
    from drizzlekit.exceptions import InputFileError

    mine = []
    for f in files[:2]:
        shutil.copy(f, tmp_path / os.path.basename(f))
        mine.append(str(tmp_path / os.path.basename(f)))
    with lazy.lazy_pixels():
        res = pl.prepare(mine, output=str(tmp_path / "x"), in_memory=False, runfile="",
                         median=False, blot=False, driz_cr=False)
    jobs = chip_jobs(res)
    assert jobs[0].version == res.exposures[0].chips[0].version is not None
    sci, _, _ = jobs[0].pixels()  # what a worker does: unchanged file, same pixels
    np.testing.assert_array_equal(sci, res.exposures[0].chips[0].sci)
    st = os.stat(mine[0])  # (the worker cache is keyed by the file's version)
    os.utime(mine[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
    with pytest.raises(InputFileError, match="changed since the client first read it"):
        jobs[0].pixels()


def _folder_bytes(path):
    import os

    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


def test_scratch_estimate_is_a_close_lower_bound_and_checked_before_step_one(tmp_path, files,
                                                                            monkeypatch):
    from drizzlekit import mosaic
    from drizzlekit.exceptions import OutputFileError

    used = {}
    real = pl.write_products

    def measure(res):  # every intermediate is in the scratch folder by now
        if res.scaling.scratch.on_disk:
            used["bytes"] = _folder_bytes(res.scaling.scratch.path)
            used["estimate"] = mosaic.scratch_bytes(res)
        return real(res)

    monkeypatch.setattr(pl, "write_products", measure)
    pl.astrodrizzle(files, output=str(tmp_path / "a"), in_memory=False, **COMMON)
    assert 0.5 * used["bytes"] <= used["estimate"] <= used["bytes"]

    monkeypatch.setattr(mosaic, "scratch_bytes", lambda res, **kw: 10 ** 18)
    steps = []
    monkeypatch.setattr(pl, "run_static_mask", lambda res: steps.append(1))
    with pytest.raises(OutputFileError, match="scratch_dir: the intermediate files of "
                                              "in_memory=False need about"):
        pl.astrodrizzle(files, output=str(tmp_path / "b"), in_memory=False,
                        scratch_dir=str(tmp_path), **COMMON)
    assert steps == [] and not (tmp_path / "b_drz.fits").exists()
    pl.astrodrizzle(files, output=str(tmp_path / "c"), in_memory=True, **COMMON)  # no scratch


def test_a_full_scratch_disk_mid_run_names_the_folder_and_what_to_do(tmp_path, files,
                                                                     monkeypatch):
    import errno

    from drizzlekit.exceptions import OutputFileError

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", full)
    with pytest.raises(OutputFileError, match="drizzlekit-.*: cannot write the intermediate "
                                              "files of in_memory=False .No space left"):
        pl.astrodrizzle(files, output=str(tmp_path / "x"), in_memory=False,
                        scratch_dir=str(tmp_path), **COMMON)
    assert [p.name for p in tmp_path.iterdir()] == []  # scratch folder removed, no product


def test_err_arrays_are_read_only_for_err_weights(tmp_path, files, monkeypatch):
    from drizzlekit.io import fits_input

    reads = []
    real = lazy.read_chip_err
    monkeypatch.setattr(lazy, "read_chip_err", lambda *a: reads.append(a) or real(*a))
    monkeypatch.setattr(lazy, "CLIENT_PIXEL_BYTES", 1)
    pl.astrodrizzle(files, output=str(tmp_path / "exp"), in_memory=False, **COMMON)
    assert reads == []  # EXP weights: no ERR array read by any step
    res = pl.astrodrizzle(files, output=str(tmp_path / "err"), in_memory=False,
                          final_wht_type="ERR", **COMMON)
    assert len(reads) == 6  # the final drizzle, once per chip
    chip = res.exposures[1].chips[1]
    ref = fits_input.read_exposure(files[1]).chips[1]
    np.testing.assert_array_equal(chip.err, ref.err)
    np.testing.assert_array_equal(chip.sci, ref.sci)
    np.testing.assert_array_equal(chip.dq, ref.dq)
