"""Give simulated FLT files the ACS/WFC header keywords drizzlepac requires (peer venv).

Usage (benchmarks only; never imported by drizzlekit)::

    .venv-peers/bin/python tests/peer/acs_headers.py FILE...

drizzlepac 3.11.0 refuses ``drizzlekit.datasets.simulate_dither``'s instrument
(``DKSIM``) and then needs, for ACS/WFC: ``CCDAMP``/``CCDGAIN``/``ATODGN*``/
``READNSE*`` (gain 2, read noise 5 e-, as the simulation), ``PA_V3``, ``NGOODPIX``
and ``MEANDARK`` (0: the simulation has no dark) per SCI extension, and ERR/DQ
headers that are not empty. The pixels and WCS are not touched, so both
pipelines drizzle the same data. Edits the files in place: run it on copies.
"""

import sys

from astropy.io import fits


def as_acs_wfc(path: str) -> None:
    with fits.open(path, mode="update") as hdul:
        p = hdul[0].header
        p["INSTRUME"], p["DETECTOR"] = "ACS", "WFC"
        p.setdefault("FILTER1", "F606W")
        p.setdefault("FILTER2", "CLEAR2L")
        p["CCDAMP"], p["CCDGAIN"] = "ABCD", 2.0
        for amp in "ABCD":
            p[f"ATODGN{amp}"], p[f"READNSE{amp}"] = 2.0, 5.0
        p.setdefault("PA_V3", 0.0)
        p.setdefault("FLASHDUR", 0.0)
        p.setdefault("DARKTIME", p["EXPTIME"])
        for ext in hdul[1:]:
            if ext.name in ("ERR", "DQ"):
                ext.header.setdefault("INHERIT", True)
                ext.header.setdefault("ORIGIN", "drizzlekit simulate_dither")
            if ext.name == "SCI":
                ext.header["NGOODPIX"] = int(ext.data.size)
                ext.header["MEANDARK"] = 0.0
                for key, value in (("LTV1", 0.0), ("LTV2", 0.0), ("LTM1_1", 1.0),
                                   ("LTM2_2", 1.0)):
                    ext.header.setdefault(key, value)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        as_acs_wfc(name)
