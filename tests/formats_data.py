"""Test helpers for the HST-format tests: unpack the real files in tests/data/formats and
write GEIS copies of the waivered WFPC2 files.

GEIS layout written here (as ``stsci.tools.readgeis`` reads it): the header file holds
80-character cards each followed by a newline, ending with ``END``; ``SIMPLE = F``,
``GROUPS = T``, ``GCOUNT``/``PCOUNT``/``PSIZE`` and ``PTYPEn``/``PDTYPEn``/``PSIZEn``
describe the groups; the data file holds, per group, the image followed by the packed
group parameters, in the byte order asked for.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits

FORMATS = Path(__file__).resolve().parent / "data" / "formats"
STIS_FLT = "o4k19a010_flt.fits.gz"
WFPC2_C0F = "u40x010hm_c0f.fits.gz"
WFPC2_C1F = "u40x010hm_c1f.fits.gz"


def unpack(name: str, dst: Path, new_name: str | None = None) -> Path:
    """Copy ``tests/data/formats/<name>`` to ``dst``, un-gzipped; returns the new path."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    out = dst / (new_name or name.removesuffix(".gz"))
    with gzip.open(FORMATS / name, "rb") as fin, open(out, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return out


def _param_type(fmt: str, unit: str | None) -> tuple[str, str, int]:
    """(PDTYPE, numpy code, bytes) of a waivered-FITS table column."""
    fmt = fmt.strip().upper()
    if unit and str(unit).upper().startswith("LOGICAL"):
        return "LOGICAL*4", "i4", 4
    if fmt[0] == "D":
        return "REAL*8", "f8", 8
    if fmt[0] in "EF":
        return "REAL*4", "f4", 4
    if fmt[0] == "I":
        return "INTEGER*4", "i4", 4
    n = int(fmt[1:])
    return f"CHARACTER*{n}", f"S{n}", n


_SKIP = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND", "GROUPS",
         "ORIGIN", "FITSDATE", "FILENAME", "ALLG-MAX", "ALLG-MIN", "ODATTYPE", "SDASMGNU",
         "OPSIZE", "CTYPE3", "CD3_3", "CD3_1", "CD1_3", "CD2_3", "CD3_2", "BSCALE", "BZERO",
         "END", "COMMENT", "HISTORY", ""}


def waivered_to_geis(src: Path, header_path: Path, order: str = "<") -> Path:
    """Write the GEIS form (``x.??h`` + ``x.??d``) of a waivered FITS file."""
    with fits.open(src) as hdul:
        cube = np.array(hdul[0].data)
        ph = hdul[0].header
        table = hdul[1]
        names = [n.upper() for n in table.columns.names]
        types = [_param_type(f, u) for f, u in zip(table.columns.formats, table.columns.units)]
        rows = table.data
        float_data = cube.dtype.kind == "f"
        cards = [fits.Card("SIMPLE", False, "data conform to FITS standard"),
                 fits.Card("BITPIX", 32 if float_data else 16, "bits per data value"),
                 fits.Card("DATATYPE", "REAL*4" if float_data else "INTEGER*2",
                           "datatype of the group array"),
                 fits.Card("NAXIS", 2, "number of data axes"),
                 fits.Card("NAXIS1", cube.shape[2], "length of the data axis 1"),
                 fits.Card("NAXIS2", cube.shape[1], "length of the data axis 2"),
                 fits.Card("GROUPS", True, "image is in group format"),
                 fits.Card("GCOUNT", cube.shape[0], "number of groups"),
                 fits.Card("PCOUNT", len(names), "number of parameters"),
                 fits.Card("PSIZE", 8 * sum(t[2] for t in types), "bits in the parameter block")]
        for k, (name, (pdtype, _, nbytes)) in enumerate(zip(names, types), start=1):
            cards += [fits.Card(f"PTYPE{k}", name, str(table.header.get(name, "") or "")),
                      fits.Card(f"PDTYPE{k}", pdtype, "datatype of parameter"),
                      fits.Card(f"PSIZE{k}", 8 * nbytes, "bits in parameter")]
        for card in ph.cards:
            if card.keyword.upper() not in _SKIP:
                cards.append(card)
        with open(header_path, "w", newline="\n") as fh:
            for card in cards:
                fh.write(card.image[:80].ljust(80) + "\n")
            fh.write("END".ljust(80) + "\n")
        pdt = np.dtype([(n, order + c if c[0] != "S" else c) for n, (_, c, _) in
                        zip(names, types)])
        data_dtype = np.dtype(order + ("f4" if float_data else "i2"))
        with open(str(header_path)[:-1] + "d", "wb") as fh:
            for g in range(cube.shape[0]):
                fh.write(cube[g].astype(data_dtype).tobytes())
                rec = np.zeros(1, dtype=pdt)
                for n, (pdtype, c, _) in zip(names, types):
                    v = rows[n][g]
                    if pdtype.startswith("LOGICAL"):
                        v = 1 if str(v).strip().upper() == "T" else 0
                    elif c[0] == "S":
                        v = str(v).encode("ascii")
                    rec[n] = v
                fh.write(rec.tobytes())
    return Path(header_path)


def wfpc2_geis(dst: Path, order: str = "<") -> Path:
    """GEIS pair ``u40x010hm.c0h/.c0d`` + ``.c1h/.c1d`` in ``dst``; returns the ``.c0h``."""
    dst = Path(dst)
    c0f = unpack(WFPC2_C0F, dst / "_waivered")
    c1f = unpack(WFPC2_C1F, dst / "_waivered")
    waivered_to_geis(c1f, dst / "u40x010hm.c1h", order)
    out = waivered_to_geis(c0f, dst / "u40x010hm.c0h", order)
    shutil.rmtree(dst / "_waivered")
    return out


def wfpc2_pair_with_cosmic_rays(dst: Path, n_cr: int = 150, seed: int = 1):
    """Two waivered WFPC2 exposures (``u40x010hm``, ``u40x010hn``) in ``dst``: copies of
    the real exposure, each with ``n_cr`` different cosmic rays (200-2000 DN single
    pixels) added to every chip. Returns ``(c0f paths, truth)`` where ``truth[(root,
    chip)]`` is the boolean map of the added cosmic rays."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth, paths = {}, []
    for root in ("u40x010hm", "u40x010hn"):
        for kind in ("c0f", "c1f"):
            with gzip.open(FORMATS / f"u40x010hm_{kind}.fits.gz") as fh, fits.open(fh) as h:
                if kind == "c0f":
                    data = h[0].data.astype(np.float32)
                    for g in range(data.shape[0]):
                        ys, xs = rng.integers(0, 200, n_cr), rng.integers(0, 200, n_cr)
                        data[g, ys, xs] += rng.uniform(200, 2000, n_cr).astype(np.float32)
                        t = np.zeros(data.shape[1:], bool)
                        t[ys, xs] = True
                        truth[(root, g + 1)] = t
                    h[0].data = data
                h[0].header["ROOTNAME"] = root
                h.writeto(dst / f"{root}_{kind}.fits")
        paths.append(dst / f"{root}_c0f.fits")
    return paths, truth


def cr_scores(masks: dict, truth: dict, dq: dict) -> tuple[float, float]:
    """(recall, false flags per chip) over DQ-good pixels; ``masks``, ``truth`` and
    ``dq`` keyed by ``(root, chip)``, masks True = flagged."""
    recall, false = [], []
    for key, t in truth.items():
        good = dq[key] == 0
        m = masks[key] & good
        t = t & good
        recall.append(np.count_nonzero(m & t) / np.count_nonzero(t))
        false.append(np.count_nonzero(m & ~t))
    return float(np.mean(recall)), float(np.mean(false))
