"""Run drizzlepac's AstroDrizzle on copies of FITS files (executed by the peer venv).

Usage (from the peer tests, never imported by drizzlekit)::

    .venv-peers/bin/python tests/peer/run_drizzlepac.py WORKDIR OUTPUT PARAMS_JSON FILE...

``WORKDIR`` must hold the files (copies: drizzlepac edits its inputs). The run
keeps its intermediates (``clean=False``), does not recompute the WCS
(``updatewcs=False``) and archives nothing (``preserve=False``). Its stdin is
expected to answer drizzlepac's DGEOFILE prompt with ``c``.
"""

import json
import os
import sys


def main(argv):
    workdir, output, params = argv[1], argv[2], json.loads(argv[3])
    files = list(argv[4:])  # a Python list: a comma string would be sorted
    os.chdir(workdir)
    os.environ.setdefault("jref", workdir + os.sep)
    from drizzlepac import astrodrizzle

    kw = dict(output=output, build=True, clean=False, updatewcs=False, preserve=False,
              context=True, num_cores=1, runfile=output + ".log", in_memory=False)
    kw.update(params)
    astrodrizzle.AstroDrizzle(files, **kw)
    print("DRIZZLEPAC-DONE")


if __name__ == "__main__":
    main(sys.argv)
