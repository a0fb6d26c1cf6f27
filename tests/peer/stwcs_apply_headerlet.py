"""Apply a headerlet to an image with stwcs (run in the peer environment).

Usage: python stwcs_apply_headerlet.py IMAGE HEADERLET

Calls ``stwcs.wcsutil.headerlet.apply_headerlet_as_primary(IMAGE, HEADERLET,
attach=True, archive=True)`` -- the image is updated in place -- and prints one
JSON line with the stwcs version and the WCSNAME of each SCI extension.
Driven by tests/test_headerlet_stwcs.py through a subprocess, so that stwcs
never runs inside drizzlekit's own interpreter.
"""

import json
import sys
import warnings


def main(image: str, headerlet: str) -> int:
    warnings.simplefilter("ignore")
    import stwcs
    from astropy.io import fits
    from stwcs.wcsutil import headerlet as hl

    hl.apply_headerlet_as_primary(image, headerlet, attach=True, archive=True)
    with fits.open(image) as h:
        names = [x.header.get("WCSNAME") for x in h if x.name == "SCI"]
        nhdrlet = sum(1 for x in h if x.name == "HDRLET")
    print(json.dumps({"stwcs": stwcs.__version__, "wcsnames": names, "hdrlets": nhdrlet}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
