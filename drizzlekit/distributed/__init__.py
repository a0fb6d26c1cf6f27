"""Run AstroDrizzle's per-chip and per-tile work on a Dask cluster (issue 12).

``astrodrizzle(..., client=client)`` with a :class:`dask.distributed.Client`
runs, as tasks on the cluster's workers:

========================  ==========================================  =====================
step                      tasks                                       what comes back
========================  ==========================================  =====================
2 static mask             one per batch of chips (the chips' tests    the ANDed masks
                          ANDed per chip signature)
3 sky (localmin,          one per batch (every chip's statistic);     one float per chip
  globalmin)              the min per exposure / overall in the
                          client
3 sky (match,             one per batch (every chip's statistic       a few floats per
  globalmin+match)        over its overlap with each other            chip
                          exposure); the offsets solved in the
                          client
4 single drizzle          one per batch of exposures (the results     the footprints
                          stay on the workers for step 5)
5 median                  one per output row band, reading the        the band
                          footprint rows on the workers
6 blot                    one per batch (median broadcast once)       the blots
7 driz_cr                 one per batch, with the batch's blots       the CR masks (and
                          future, submitted with step 6               cleaned chips)
8 final drizzle           one per output tile                         the tile
========================  ==========================================  =====================

A batch is a group of whole exposures (about 4 Mpix of input, and at least
two batches per worker, :func:`~drizzlekit.distributed.chips.batches`; an
ACS/WFC exposure is a batch by itself), the same in every step and sent to
the same worker
(:mod:`~drizzlekit.distributed.chips`, :mod:`~drizzlekit.distributed.final`).
Workers read the IVM files of an @file's IVM column themselves
(``final_wht_type='IVM'``).

Where the pixels are: the client reads each input file once (headers, WCS,
the checks of step 1) and then keeps only a bounded cache of pixels
(:mod:`drizzlekit.io.lazy`); workers read the chips they need from the input
paths themselves (a shared file system on a cluster), with all tasks of one
exposure on one worker where possible, and keep chips, WCSs and pixel maps
in a per-process cache (:mod:`~drizzlekit.distributed.worker`). In-memory
inputs are shipped. Workers compute the pixel maps from exactly serialised
WCSs (:func:`pack_wcs`), so the product is bit-identical to the in-process
run (``tests/test_distributed.py``). Warnings logged by a task are logged
again by the client.

The same code runs on any ``dask.distributed`` deployment: a
``LocalCluster``, ``dask_jobqueue.SLURMCluster(...)``, or a Kubernetes
cluster (``dask_kubernetes``); only the ``Client`` changes. Workers need
drizzlekit installed (same version) and read access to the inputs.

:func:`drizzle_to_dask` (:mod:`~drizzlekit.distributed.arrays`) is the
lower-level entry for array users: drizzle many ``(data, wcs)`` inputs onto a
big output frame as a lazy dask array of tiles.

Nothing here mutates a shared WCS: every task works on its own copies.

Dask starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes
every large array a fresh ``mmap`` (measured: 1.8x the CPU time of a median);
drizzlekit's tasks raise glibc's ``mmap``/trim thresholds while they run and
put the worker's values back (and trim) when they end
(:func:`~drizzlekit.distributed.worker.tuned_malloc`;
``DRIZZLEKIT_WORKER_MALLOC=keep`` leaves the worker as it is).
"""

from .arrays import drizzle_to_dask
from .chips import (BATCH_PIXELS, band_mapper, batches, blot_on_client, chip_jobs,
                    driz_cr_on_client, drizzle_separate_tasks, sky_on_client,
                    static_masks_on_client)
from .final import (chip_box, drizzle_tile, final_drizzle_on_client, final_drizzle_tasks,
                    tile_boxes, wt_scale)
from .wcs import pack_wcs, unpack_wcs
from .worker import ChipJob

__all__ = ["pack_wcs", "unpack_wcs", "band_mapper", "drizzle_separate_tasks", "batches",
           "BATCH_PIXELS",
           "final_drizzle_tasks", "drizzle_to_dask", "tile_boxes", "drizzle_tile", "wt_scale",
           "chip_box", "chip_jobs", "ChipJob", "static_masks_on_client", "sky_on_client",
           "blot_on_client", "driz_cr_on_client", "final_drizzle_on_client"]
