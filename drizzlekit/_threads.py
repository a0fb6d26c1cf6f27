"""Run GIL-free numba loops on several cores with plain Python threads.

The compiled loops of drizzlekit (drizzle bands, blot rows) are ``nogil``
functions that write disjoint parts of their outputs. Running them from a
small thread pool gives the same parallelism as ``numba.prange`` without a
``parallel=True`` compilation (seconds of JIT per signature) and lets the
loops be compiled without numba's reference counting (see
:mod:`drizzlekit.kernels.builtin`). The number of threads follows
``numba.get_num_threads()``, so ``NUMBA_NUM_THREADS`` and
``numba.set_num_threads`` keep working.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

import numba

_POOL: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()


def num_threads() -> int:
    """Threads to use: numba's current setting (at least 1)."""
    return max(1, int(numba.get_num_threads()))


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(8, os.cpu_count() or 1),
                                       thread_name_prefix="drizzlekit")
        return _POOL


def _forget_pool_after_fork() -> None:
    """A forked child has none of the parent's worker threads: start afresh."""
    global _POOL, _LOCK
    _POOL = None
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def run_parts(task: Callable[[int], None], nparts: int, nworkers: int | None = None) -> None:
    """Call ``task(k)`` for every ``k < nparts`` on ``nworkers`` threads.

    ``nworkers`` defaults to ``nparts``; with fewer workers than parts each
    worker takes the next undone part (dynamic load balancing). An exception
    raised by a task stops the workers from starting further parts and
    propagates to the caller once every worker has stopped, so no thread is
    left writing into the outputs. The same holds for an interrupt (Ctrl-C in
    a notebook) while the caller waits.
    """
    nworkers = min(nparts, nparts if nworkers is None else max(1, nworkers))
    if nworkers <= 1:
        for k in range(nparts):
            task(k)
        return
    parts = iter(range(nparts))
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with lock:
                k = next(parts, None)
            if k is None:
                return
            try:
                task(k)
            except BaseException:
                stop.set()
                raise

    futures = []
    try:
        for _ in range(nworkers):
            futures.append(_pool().submit(worker))
        errors = [f.exception() for f in futures]
    except BaseException:  # interrupted while waiting: let the running parts end first
        stop.set()
        wait(futures)
        raise
    for err in errors:
        if err is not None:
            raise err


def run_row_blocks(loop: Callable[[int, int], None], nrows: int, nparts: int | None = None,
                   nworkers: int | None = None) -> None:
    """Call ``loop(j0, j1)`` on ``nparts`` contiguous row blocks covering ``0..nrows``.

    ``nparts`` defaults to :func:`num_threads`; ``nworkers`` as in :func:`run_parts`.
    """
    nparts = max(1, min(nrows, num_threads() if nparts is None else nparts))

    def part(b: int) -> None:
        loop((b * nrows) // nparts, ((b + 1) * nrows) // nparts)

    run_parts(part, nparts, nworkers)
