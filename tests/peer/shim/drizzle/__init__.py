"""A stand-in ``drizzle`` package that serves drizzle 3.0.0's API from drizzlekit.

Used only by ``tests/peer/run_drizzle_suite.py``, which copies this folder
into a temporary directory, puts it first on ``sys.path`` of a separate
pytest process and runs drizzle's own test suite against it. The real
``drizzle`` stays importable everywhere else.
"""

from . import cdrizzle, resample, utils  # noqa: F401

__version__ = "3.0.0+drizzlekit"
