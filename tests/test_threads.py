"""The thread helper that runs the GIL-free loops on several cores."""

import threading

import pytest

from drizzlekit._threads import run_parts


@pytest.mark.parametrize("nparts, nworkers", [(1, None), (5, None), (7, 2), (3, 8), (0, 2)])
def test_every_part_runs_exactly_once(nparts, nworkers):
    done = []
    lock = threading.Lock()

    def task(k):
        with lock:
            done.append(k)

    run_parts(task, nparts, nworkers)
    assert sorted(done) == list(range(nparts))


def test_parts_run_on_more_than_one_thread():
    names = set()
    barrier = threading.Barrier(2, timeout=10)

    def task(k):
        names.add(threading.current_thread().name)
        barrier.wait()  # both parts must be running at the same time

    run_parts(task, 2)
    assert len(names) == 2


def test_an_exception_in_a_part_reaches_the_caller_after_all_parts_stop():
    finished = []
    started = []
    gate = threading.Event()

    def task(k):
        started.append(k)
        if k == 0:
            gate.wait(10)  # still running when part 1 fails
            finished.append(k)
            return
        if k == 1:
            try:
                raise ValueError("part 1 failed")
            finally:
                gate.set()
        finished.append(k)

    with pytest.raises(ValueError, match="part 1 failed"):
        run_parts(task, 40, nworkers=2)
    assert finished == [0]  # the running part ended before the call returned
    assert len(started) < 40  # no new parts were started after the failure


def test_the_per_pixel_loops_are_compiled_without_reference_counting():
    """The installed numba has the option the loops' speed depends on (see
    drizzlekit._jit); if a numba release drops it the loops still work, slower,
    and this test says why."""
    from drizzlekit._jit import LOOP_OPTIONS, NRT_FREE

    assert NRT_FREE and LOOP_OPTIONS["_nrt"] is False


def test_a_forked_child_process_still_runs_parts():
    """Worker threads do not survive fork(); the child must not wait for them."""
    import multiprocessing as mp

    run_parts(lambda k: None, 2)  # the parent's pool exists now
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(_parts_in_child).get(timeout=30) == [0, 1]


def _parts_in_child():
    done = []
    lock = threading.Lock()

    def task(k):
        with lock:
            done.append(k)

    run_parts(task, 2)  # as many parts as the parent left idle workers
    return sorted(done)


def test_drizzle_and_blot_from_several_user_threads_equal_serial_runs():
    """Thread safety: independent Drizzle/blot calls made at the same time from user threads
    (each also using the band threads) give exactly the serial results."""
    import numpy as np

    import drizzlekit as dk
    from tests.helpers import distorted_pixmap, random_image

    shape = (90, 80)
    jobs = [(random_image(shape, seed=s), distorted_pixmap(shape, rot_deg=4 * s, offset=(60, 70)),
             kernel) for s, kernel in enumerate(["square", "turbo", "gaussian", "lanczos3"])]

    def run(job):
        data, pm, kernel = job
        d = dk.Drizzle(kernel=kernel, out_shape=(220, 220))
        d.add_image(data, exptime=1.0, pixmap=pm, pixfrac=0.9)
        back = dk.blot_image(d.out_img, distorted_pixmap((120, 110), offset=(40, 50)),
                             interp="poly5", parallel=True)
        return d.out_img, d.out_wht, back

    serial = [run(job) for job in jobs]
    results = [None] * len(jobs)

    def worker(k):
        for _ in range(3):
            results[k] = run(jobs[k])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for a, b in zip(serial, results):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_an_interrupt_while_waiting_lets_the_running_parts_finish_first():
    """Ctrl-C in a notebook: run_parts re-raises only after no part is writing any more."""
    import signal
    import time

    started, finished = [], []

    def task(k):
        started.append(k)
        if k == 0:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C now
            time.sleep(0.5)
        else:
            time.sleep(0.1)
        finished.append(k)

    with pytest.raises(KeyboardInterrupt):
        run_parts(task, 8, nworkers=2)
    assert 0 in finished and sorted(finished) == sorted(started)  # nothing left running
