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

    def task(k):
        if k == 1:
            raise ValueError("part 1 failed")
        finished.append(k)

    with pytest.raises(ValueError, match="part 1 failed"):
        run_parts(task, 4, nworkers=2)
    assert 1 not in finished and len(finished) >= 1


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
