"""User catalogs, reference catalogs and exclusion regions for TweakReg.

File conventions follow drizzlepac's TweakReg:

* **catfile** — a text file with one line per image: the image file name,
  then one source catalog per chip (in SCI extension order), separated by
  blanks or commas. ``None`` stands for a chip without catalog.
* **source catalogs** — ASCII (blank-separated columns, ``#`` comments; lines
  containing ``INDEF`` are skipped) or a FITS table (first table extension).
  Columns are chosen by 1-based number (``xcol=1``, ``ycol=2``,
  ``fluxcol``) or by name. Pixel positions are FITS **1-based** (IRAF/DS9
  convention); they are converted to 0-based here. With
  ``xyunits='degrees'`` the columns are RA/Dec, converted to pixels with the
  chip's WCS.
* **reference catalogs** (``refcat``) — RA/Dec in degrees (or sexagesimal
  ``hh:mm:ss``/``dd:mm:ss``), or pixels of the reference image with
  ``refxyunits='pixels'``.
* **flux limits** — ``minflux``/``maxflux`` keep fluxes in
  ``[minflux, maxflux]``; for ``fluxunits='mag'`` they are magnitudes:
  ``minflux`` is the *faint* limit (largest magnitude) and ``maxflux`` the
  bright one. ``nbright`` then keeps the brightest sources.
* **exclusions** — a text file with one line per image: the image name,
  then per chip a DS9 region file or a FITS mask (``None`` for no
  exclusion). Region files are read with the ``regions`` package, in image
  or sky coordinates; regions are applied in order (include regions add
  usable area, ``-``-prefixed exclude regions remove it); a file made only of
  exclude regions starts from the whole image. In a FITS mask 0 marks
  excluded pixels.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from astropy.table import Table

from ..exceptions import InputError, InputFileError, NonFiniteError, ParameterError
from ..io.textfile import read_text

__all__ = [
    "read_list_file",
    "read_catfile",
    "read_exclusions_file",
    "lookup_image",
    "read_columns",
    "read_xy_catalog",
    "read_reference_catalog",
    "select_sources",
    "Exclusion",
    "load_exclusion",
    "apply_exclusion",
]

log = logging.getLogger(__name__)

_NONE_WORDS = {"none", "", "indef"}
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz")


# ----------------------------------------------------------------------------- list files
def read_list_file(path: str | os.PathLike, what: str = "catfile") -> list[tuple[str, list]]:
    """Read a TweakReg list file: ``image  item_chip1  item_chip2 ...`` per line.

    Items are separated by blanks or commas; ``None`` becomes ``None``;
    relative item paths are resolved against the list file's directory.
    ``#`` starts a comment.

    Returns
    -------
    list of (str, list of str or None)
        The image name as written, and its per-chip items.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        If the file is missing or a line names no image.
    """
    path = os.fspath(path)
    lines = read_text(path, what).splitlines()
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[\s,]+", line) if p]
        items = []
        for p in parts[1:]:
            if p.lower() in _NONE_WORDS:
                items.append(None)
            elif os.path.isabs(p) or os.path.exists(p):
                items.append(p)
            else:
                items.append(os.path.normpath(os.path.join(base, p)))
        out.append((parts[0], items))
    return out


def _as_mapping(entries) -> dict[str, list]:
    out: dict[str, list] = {}
    for image, items in entries:
        out[os.path.basename(image)] = items
    return out


def read_catfile(catfile: str | os.PathLike) -> dict[str, list]:
    """Per-image, per-chip catalog files of a ``catfile`` (keys: image base names)."""
    return _as_mapping(read_list_file(catfile, "catfile"))


def read_exclusions_file(exclusions: str | os.PathLike) -> dict[str, list]:
    """Per-image, per-chip region files or masks of an ``exclusions`` file."""
    return _as_mapping(read_list_file(exclusions, "exclusions"))


def lookup_image(mapping: dict[str, list], filename: str) -> list | None:
    """Entry of ``filename`` in a list-file mapping (by base name, then rootname)."""
    from ..io.inputs import rootname

    base = os.path.basename(os.fspath(filename))
    if base in mapping:
        return mapping[base]
    root = rootname(base)
    for key, items in mapping.items():
        if rootname(key) == root:
            return items
    return None


# ----------------------------------------------------------------------------- columns
def _is_fits(path: str) -> bool:
    low = path.lower()
    return low.endswith(_FITS_SUFFIXES)


def _column_index(spec, names: Sequence[str] | None, path: str, what: str) -> int:
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        idx = int(spec) - 1
        if idx < 0:
            raise ParameterError(f"{what}: column numbers start at 1, got {spec}")
        return idx
    s = str(spec).strip()
    if s.lower().startswith("c") and s[1:].isdigit():
        s = s[1:]
    if s.isdigit():
        return _column_index(int(s), names, path, what)
    if names is None:
        raise ParameterError(f"{what}: column '{spec}' given by name, but {path} has no "
                             "column names (give a 1-based column number)")
    lowered = [n.lower() for n in names]
    if s.lower() not in lowered:
        raise InputFileError(f"{path}: no column named '{spec}' ({what}); columns are "
                             f"{list(names)}")
    return lowered.index(s.lower())


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return np.nan


def read_columns(path: str | os.PathLike, columns: Sequence, *, what: Sequence[str] | None = None,
                 sexagesimal: bool = False) -> list[np.ndarray]:
    """Read columns of an ASCII or FITS table as float arrays.

    Parameters
    ----------
    path : path
        The table. FITS (``.fits``, ``.fit``, ``.fts``, ``.fits.gz``): the first
        table extension. ECSV (``.ecsv``): read with astropy. Anything else:
        blank-separated ASCII with ``#`` comments; lines containing ``INDEF``
        or with too few fields are skipped.
    columns : sequence of int or str
        1-based column numbers (or ``'c3'``) or column names.
    what : sequence of str, optional
        Parameter name of each column, for messages (``'xcol'`` ...).
    sexagesimal : bool
        The first two columns are RA/Dec that may be written ``hh:mm:ss``
        and ``dd:mm:ss``; they are returned in degrees.

    Returns
    -------
    list of ndarray (float64)

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or unreadable file, missing column, non-numeric values.
    """
    path = os.fspath(path)
    what = list(what) if what is not None else [f"column {c}" for c in columns]
    if not os.path.exists(path):
        raise InputFileError(f"{path}: catalog file not found")
    if _is_fits(path) or path.lower().endswith(".ecsv"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tab = Table.read(path) if not _is_fits(path) else _read_fits_table(path)
        except InputFileError:
            raise
        except Exception as exc:
            raise InputFileError(f"{path}: cannot read the catalog table ({exc})") from None
        names = list(tab.colnames)
        idxs = [_column_index(spec, names, path, w) for spec, w in zip(columns, what)]
        for idx, spec, w in zip(idxs, columns, what):
            if idx >= len(names):
                raise InputFileError(f"{path}: {w}={spec} but the table has only "
                                     f"{len(names)} columns")
        cols = [np.asarray(tab[names[i]]) for i in idxs]
        if sexagesimal and any(c.dtype.kind in "US" for c in cols[:2]):
            cols[0], cols[1] = _sexagesimal(cols[0].astype(str), cols[1].astype(str), path)
        out = []
        for i, c, w in zip(idxs, cols, what):
            try:
                out.append(np.asarray(c, dtype=np.float64))
            except (TypeError, ValueError):
                raise InputFileError(f"{path}: column '{names[i]}' ({w}) is not numeric") \
                    from None
        return out

    idxs = [_column_index(spec, None, path, w) for spec, w in zip(columns, what)]
    need = max(idxs) + 1
    rows = []
    try:
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                line = raw.split("#", 1)[0].strip()
                if not line or "INDEF" in line.upper():
                    continue
                fields = line.replace(",", " ").split()
                if len(fields) < need:
                    continue
                rows.append([fields[i] for i in idxs])
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the catalog ({exc})") from None
    if not rows:
        return [np.empty(0) for _ in idxs]
    cols = list(zip(*rows))
    out = []
    for k, (vals, w) in enumerate(zip(cols, what)):
        if sexagesimal and k < 2 and any(":" in v for v in vals):
            out.append(None)
            continue
        arr = np.array([_to_float(v) for v in vals])
        bad = [v for v, a in zip(vals, arr) if np.isnan(a) and v.lower() != "nan"]
        if bad:
            raise InputFileError(f"{path}: {w} column holds non-numeric value(s) such as "
                                 f"{bad[0]!r}")
        out.append(arr)
    if sexagesimal and (out[0] is None or out[1] is None):
        out[0], out[1] = _sexagesimal(np.array(cols[0]), np.array(cols[1]), path)
    return out


def _read_fits_table(path: str) -> Table:
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        for hdu in hdul:
            if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
                return Table(hdu.data)
    raise InputFileError(f"{path}: no table extension found")


def _sexagesimal(ra, dec, path: str) -> tuple[np.ndarray, np.ndarray]:
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    try:
        c = SkyCoord([f"{a} {d}" for a, d in zip(ra, dec)],
                     unit=(u.hourangle, u.deg) if any(":" in str(a) for a in ra)
                     else (u.deg, u.deg))
    except Exception as exc:
        raise InputFileError(f"{path}: cannot interpret RA/Dec values ({exc})") from None
    return np.asarray(c.ra.deg, float), np.asarray(c.dec.deg, float)


# ----------------------------------------------------------------------------- selection
def select_sources(table: Table, *, fluxcol: str = "flux", fluxunits: str = "counts",
                   minflux: float | None = None, maxflux: float | None = None,
                   nbright: int | None = None, where: str = "catalog") -> Table:
    """Apply flux limits and keep the ``nbright`` brightest sources.

    Parameters
    ----------
    table : astropy.table.Table
        Catalog with a ``fluxcol`` column (if absent, limits are ignored with
        a warning).
    fluxunits : {'counts', 'cps', 'mag'}
        With ``'mag'``, brighter means smaller: ``minflux`` is the faint
        (largest) magnitude limit and ``maxflux`` the bright one.
    minflux, maxflux : float, optional
        Accepted flux range (inclusive).
    nbright : int, optional
        Number of brightest sources kept (after the limits).
    where : str
        Name used in log messages.

    Returns
    -------
    astropy.table.Table
        The selected rows, brightest first when a flux column exists and
        ``nbright`` is set; otherwise in the input order.
    """
    if fluxunits not in ("counts", "cps", "mag"):
        raise ParameterError(f"fluxunits must be 'counts', 'cps' or 'mag', got {fluxunits!r}")
    if nbright is not None and (int(nbright) != nbright or nbright < 1):
        raise ParameterError(f"nbright must be a positive integer or None, got {nbright!r}")
    if minflux is None and maxflux is None and nbright is None:
        return table
    if fluxcol not in table.colnames:
        log.warning("%s: flux limits/nbright requested but the catalog has no flux column; "
                    "all %d sources kept", where, len(table))
        return table
    f = np.asarray(table[fluxcol], dtype=float)
    keep = np.isfinite(f)
    mag = fluxunits == "mag"
    if minflux is not None:
        keep &= (f <= minflux) if mag else (f >= minflux)
    if maxflux is not None:
        keep &= (f >= maxflux) if mag else (f <= maxflux)
    idx = np.flatnonzero(keep)
    if len(table) - idx.size:
        log.info("%s: %d of %d sources removed by the flux limits", where,
                 len(table) - idx.size, len(table))
    if nbright is not None:
        order = np.argsort(f[idx] if mag else -f[idx], kind="stable")
        idx = idx[order][: int(nbright)]
    return table[idx]


def _check_finite(x, y, path: str, names: str) -> None:
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        rows = (np.flatnonzero(bad)[:5] + 1).tolist()
        raise NonFiniteError(f"{path}: {int(bad.sum())} source(s) with non-finite {names} "
                             f"(data rows {rows}{'...' if bad.sum() > 5 else ''})")


def read_xy_catalog(path: str | os.PathLike, wcs=None, *, xcol=1, ycol=2, fluxcol=None,
                    xyunits: str = "pixels", fluxunits: str = "counts",
                    minflux: float | None = None, maxflux: float | None = None,
                    nbright: int | None = None) -> Table:
    """Read a user source catalog of one chip (TweakReg ``catfile`` entry).

    Parameters
    ----------
    path : path
        Catalog file (see :func:`read_columns`).
    wcs : astropy.wcs.WCS, optional
        The chip's WCS; required for ``xyunits='degrees'``.
    xcol, ycol, fluxcol : int or str
        Columns of x (or RA), y (or Dec) and the optional flux.
    xyunits : {'pixels', 'degrees'}
        Pixel positions are FITS 1-based; degrees are RA/Dec.
    fluxunits, minflux, maxflux, nbright
        See :func:`select_sources`.

    Returns
    -------
    astropy.table.Table
        Columns ``x``, ``y`` (0-based pixels) and ``flux`` when ``fluxcol``
        is given; ``meta['catalog']`` is the file name.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or malformed file.
    drizzlekit.exceptions.NonFiniteError
        NaN/inf positions (message names the file and rows).
    drizzlekit.exceptions.ParameterError
        Bad units, or ``xyunits='degrees'`` without a WCS.
    """
    path = os.fspath(path)
    if xyunits not in ("pixels", "degrees"):
        raise ParameterError(f"xyunits must be 'pixels' or 'degrees', got {xyunits!r}")
    cols = [xcol, ycol] + ([fluxcol] if fluxcol is not None else [])
    names = ["xcol", "ycol"] + (["fluxcol"] if fluxcol is not None else [])
    data = read_columns(path, cols, what=names, sexagesimal=xyunits == "degrees")
    a, b = data[0], data[1]
    _check_finite(a, b, path, "positions")
    if xyunits == "degrees":
        if wcs is None:
            raise ParameterError(f"{path}: xyunits='degrees' needs the image WCS")
        from .tangent import sky_to_pixel

        x, y = sky_to_pixel(wcs, a, b)
        _check_finite(x, y, path, "pixel positions (RA/Dec outside the WCS?)")
    else:
        x, y = a - 1.0, b - 1.0
    tab = Table({"x": x, "y": y}, meta={"catalog": path})
    if fluxcol is not None:
        tab["flux"] = data[2]
    out = select_sources(tab, fluxunits=fluxunits, minflux=minflux, maxflux=maxflux,
                         nbright=nbright, where=path)
    log.info("%s: %d sources read (%d after flux limits)", path, len(tab), len(out))
    return out


def read_reference_catalog(path: str | os.PathLike, wcs=None, *, refxcol=1, refycol=2,
                           rfluxcol=None, refxyunits: str = "degrees",
                           rfluxunits: str = "mag", rminflux: float | None = None,
                           rmaxflux: float | None = None,
                           refnbright: int | None = None) -> Table:
    """Read an external reference catalog (TweakReg ``refcat``).

    Parameters
    ----------
    path : path
        Catalog file (see :func:`read_columns`).
    wcs : astropy.wcs.WCS, optional
        WCS of the reference image; required for ``refxyunits='pixels'``
        (1-based pixel positions).
    refxcol, refycol, rfluxcol : int or str
        Columns of RA (or x), Dec (or y) and the optional flux/magnitude.
    refxyunits : {'degrees', 'pixels'}
    rfluxunits, rminflux, rmaxflux, refnbright
        See :func:`select_sources`.

    Returns
    -------
    astropy.table.Table
        ``RA``, ``DEC`` (degrees) and ``flux`` when ``rfluxcol`` is given.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or malformed file.
    drizzlekit.exceptions.NonFiniteError
        NaN positions.
    drizzlekit.exceptions.InputError
        Dec outside [-90, 90]; ``refxyunits='pixels'`` without a WCS.
    """
    path = os.fspath(path)
    if refxyunits not in ("pixels", "degrees"):
        raise ParameterError(f"refxyunits must be 'degrees' or 'pixels', got {refxyunits!r}")
    cols = [refxcol, refycol] + ([rfluxcol] if rfluxcol is not None else [])
    names = ["refxcol", "refycol"] + (["rfluxcol"] if rfluxcol is not None else [])
    data = read_columns(path, cols, what=names, sexagesimal=refxyunits == "degrees")
    a, b = data[0], data[1]
    _check_finite(a, b, path, "positions")
    if refxyunits == "pixels":
        if wcs is None:
            raise ParameterError(f"{path}: refxyunits='pixels' needs a reference image "
                                 "(refimage) whose WCS converts them")
        from .tangent import pixel_to_sky

        ra, dec = pixel_to_sky(wcs, a - 1.0, b - 1.0)
    else:
        ra, dec = np.mod(a, 360.0), b
        if np.any(np.abs(dec) > 90):
            raise InputError(f"{path}: Dec values outside [-90, 90] degrees (refycol={refycol})")
    tab = Table({"RA": ra, "DEC": dec}, meta={"catalog": path})
    if rfluxcol is not None:
        tab["flux"] = data[2]
    out = select_sources(tab, fluxunits=rfluxunits, minflux=rminflux, maxflux=rmaxflux,
                         nbright=refnbright, where=path)
    log.info("%s: %d reference sources read (%d after flux limits)", path, len(tab), len(out))
    return out


# ----------------------------------------------------------------------------- exclusions
@dataclass
class Exclusion:
    """Usable area of one chip: from DS9 regions or a FITS mask.

    Attributes
    ----------
    source : str
        File the exclusion came from.
    regions : list or None
        Pixel regions (``regions`` package) with their ``include`` flags, in
        file order.
    start_included : bool
        Whether the whole image is usable before the regions are applied.
    mask : ndarray of bool or None
        Usable pixels (True = usable) from a FITS mask.
    """

    source: str
    regions: list | None = None
    start_included: bool = False
    mask: np.ndarray | None = None

    def usable(self, x, y) -> np.ndarray:
        """True for 0-based pixel positions inside the usable area."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.mask is not None:
            ny, nx = self.mask.shape
            ix = np.rint(x).astype(np.int64)
            iy = np.rint(y).astype(np.int64)
            inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
            out = np.zeros(x.shape, bool)
            out[inside] = self.mask[iy[inside], ix[inside]]
            return out
        from regions import PixCoord

        out = np.full(x.shape, bool(self.start_included))
        if x.size == 0:
            return out
        pc = PixCoord(x=x, y=y)
        for reg, include in self.regions or []:
            inside = np.asarray(reg.contains(pc), dtype=bool)
            out = (out | inside) if include else (out & ~inside)
        return out

    def pixel_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean image of excluded pixels (True = excluded), pixel centres tested."""
        ny, nx = shape
        if self.mask is not None:
            if self.mask.shape != (ny, nx):
                raise InputError(f"{self.source}: mask shape {self.mask.shape} differs from "
                                 f"the image shape {(ny, nx)}")
            return ~self.mask
        yy, xx = np.mgrid[0:ny, 0:nx]
        return ~self.usable(xx.ravel().astype(float), yy.ravel().astype(float)).reshape(ny, nx)


def load_exclusion(path: str | os.PathLike, shape: tuple[int, int] | None = None,
                   wcs=None) -> Exclusion:
    """Read a DS9 region file or FITS mask describing one chip's usable area.

    Parameters
    ----------
    path : path
        DS9 region file (image or sky coordinates), or a FITS file whose
        first image extension (or primary array) of shape ``shape`` is the
        mask: non-zero = usable, 0 = excluded.
    shape : (ny, nx), optional
        Image shape (checked against a FITS mask).
    wcs : astropy.wcs.WCS, optional
        Chip WCS, needed for regions in sky coordinates.

    Returns
    -------
    Exclusion

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or unreadable file, no mask of the right shape, region file
        that cannot be parsed, or sky regions without a WCS.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputFileError(f"{path}: exclusion file not found")
    if _is_fits(path):
        return Exclusion(source=path, mask=_read_fits_mask(path, shape))
    from regions import Regions, PixelRegion

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            regs = Regions.read(path, format="ds9")
    except Exception as exc:
        raise InputFileError(f"{path}: cannot parse the DS9 region file ({exc})") from None
    pix = []
    for reg in regs:
        include = bool(reg.meta.get("include", True))
        if not isinstance(reg, PixelRegion):
            if wcs is None:
                raise InputFileError(f"{path}: region {type(reg).__name__} is in sky "
                                     "coordinates but no WCS was given to convert it")
            reg = reg.to_pixel(wcs)
        if not hasattr(reg, "area") or type(reg).__name__.startswith(("Point", "Line", "Text")):
            log.warning("%s: %s has no area and is ignored", path, type(reg).__name__)
            continue
        pix.append((reg, include))
    if not pix:
        log.warning("%s: no usable region found; the whole image is used", path)
        return Exclusion(source=path, regions=[], start_included=True)
    start = all(not inc for _, inc in pix)
    return Exclusion(source=path, regions=pix, start_included=start)


def _read_fits_mask(path: str, shape) -> np.ndarray:
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            for hdu in hdul:
                data = getattr(hdu, "data", None)
                if data is None or not isinstance(data, np.ndarray) or data.ndim != 2:
                    continue
                if shape is not None and data.shape != tuple(shape):
                    continue
                return np.asarray(data) != 0
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the FITS mask ({exc})") from None
    raise InputFileError(f"{path}: no 2-D image extension"
                         + (f" of shape {tuple(shape)}" if shape is not None else ""))


def apply_exclusion(table: Table, exclusion: Exclusion | None, *, where: str = "catalog") -> Table:
    """Drop the sources (0-based ``x``, ``y``) outside the usable area."""
    if exclusion is None or len(table) == 0:
        return table
    keep = exclusion.usable(np.asarray(table["x"], float), np.asarray(table["y"], float))
    n = int((~keep).sum())
    if n:
        log.info("%s: %d of %d sources excluded by %s", where, n, len(table), exclusion.source)
    return table[keep]
