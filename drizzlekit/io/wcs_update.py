"""Write TweakReg results: header WCS updates, shift files, reference WCS, catalogs.

Header updates (:func:`updatehdr`)
----------------------------------
The aligned WCS becomes the primary WCS of each ``SCI`` extension, named
``WCSNAME = wcsname``. Before that, the WCS it replaces is archived as a FITS
alternate WCS (Greisen & Calabretta 2002): its keywords are copied with a key
letter suffix (``CRVAL1A``, ``CD1_1A``, ``WCSNAMEA`` ...) into the first free
letter A-Z (``O`` is left alone: HST keeps the original pipeline WCS there).
Alternates are never overwritten or removed, and a WCS identical to an
archived one is not archived twice. A ``wcsname`` already present in the
file is refused unless ``reusename`` is true. Distortion keywords (SIP,
lookup tables) are shared by all WCSs of an extension and are not touched:
only CRVAL, the CD (or PC) matrix, CRPIX, WCSNAME and ``ORIENTAT`` change.

The file is rewritten atomically (:func:`drizzlekit.io.atomic.atomic_path`):
the new content is written to a temporary file that replaces the original
only when complete, so an error leaves the file byte-identical.

Shift files (:func:`write_shiftfile`, :func:`read_shiftfile`)
-------------------------------------------------------------
The text format TweakReg writes and AstroDrizzle reads::

    # frame: output
    # refimage: shifts_wcs.fits[wcs]
    # form: delta
    # units: pixels
    image1_flt.fits    0.100000  -0.250000    0.001000     1.000002   0.021000  0.019000

one row per aligned image: ``xsh ysh rot scale [xrms yrms]``, measured in the
pixel frame of the reference WCS stored (header only) in ``refimage``. As in
drizzlepac (``updatehdr.update_refchip_with_shift``), a sky position whose
reference-frame pixel position according to the image's *uncorrected* WCS
is ``p`` lies truly at ``q`` with::

    p - c = scale * R(-rot) (q - c) + (xsh, ysh)

where ``c`` is CRPIX of the reference WCS and ``R(a)`` the counter-clockwise
rotation of pixel coordinates by ``a`` degrees: the shifts are "image minus
reference". ``xrms``, ``yrms`` are the rms fit residuals along the reference
frame's x and y, pixels. :func:`apply_shift` applies a row to a WCS.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import os
import re
import shutil
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputError, InputFileError, ParameterError
from .textfile import read_text
from .atomic import atomic_path

__all__ = [
    "ALTERNATE_KEYS",
    "wcs_names",
    "archive_primary_wcs",
    "set_primary_wcs",
    "update_header_wcs",
    "updatehdr",
    "read_wcs",
    "ShiftRow",
    "ShiftFile",
    "shift_row",
    "apply_shift",
    "write_shiftfile",
    "read_shiftfile",
    "write_outwcs",
    "read_outwcs",
    "write_xy_catalog",
    "write_sky_catalog",
    "write_headerlet",
]

log = logging.getLogger(__name__)

#: Key letters used for archived WCSs, in order (``O`` is reserved by HST for
#: the original pipeline WCS and is never written).
ALTERNATE_KEYS = tuple(c for c in "ABCDEFGHIJKLMNPQRSTUVWXYZ")

#: Keywords of a celestial FITS WCS that an alternate WCS copies.
_WCS_KEYS = ("WCSAXES", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CTYPE1", "CTYPE2",
             "CUNIT1", "CUNIT2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2",
             "PC2_1", "PC2_2", "CDELT1", "CDELT2", "CROTA2", "LONPOLE", "LATPOLE",
             "RADESYS", "EQUINOX", "MJDREF", "WCSNAME")
_UNNAMED = "UNNAMED"


def _quiet_wcs(header, fobj=None, key: str = " ") -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header, fobj=fobj, key=key)


# ============================================================================ header WCS
def wcs_names(header: fits.Header) -> dict[str, str]:
    """WCS names in a header: ``{' ': primary name, 'A': WCSNAMEA, ...}``.

    A key letter counts as used when any of its WCSNAME, CRVAL1, CTYPE1 or
    CRPIX1 keywords is present (an unnamed alternate maps to ``''``).
    """
    out = {" ": str(header.get("WCSNAME", "")).strip()}
    for k in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if any(f"{base}{k}" in header for base in ("WCSNAME", "CRVAL1", "CTYPE1", "CRPIX1")):
            out[k] = str(header.get(f"WCSNAME{k}", "")).strip()
    return out


def _same_value(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip() == str(b).strip()
    try:
        return bool(np.isclose(float(a), float(b), rtol=1e-13, atol=0.0))
    except (TypeError, ValueError):
        return a == b


def _primary_keys(header: fits.Header) -> list[str]:
    return [k for k in _WCS_KEYS if k in header and k != "WCSNAME"]


def _is_archived(header: fits.Header, letter: str) -> bool:
    keys = _primary_keys(header)
    name = str(header.get("WCSNAME", _UNNAMED)).strip() or _UNNAMED
    if str(header.get(f"WCSNAME{letter}", "")).strip() != name:
        return False
    return all(f"{k}{letter}" in header and _same_value(header[k], header[f"{k}{letter}"])
               for k in keys)


def archive_primary_wcs(header: fits.Header, where: str = "header") -> str | None:
    """Copy the primary WCS of ``header`` into the first free alternate key.

    Nothing is written if an alternate already holds an identical copy (same
    name and values) or if the header has no celestial WCS keywords.

    Returns
    -------
    str or None
        The key letter written or found, or None when there is nothing to
        archive.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        If all 25 alternate keys are in use (message names ``where``).
    """
    keys = _primary_keys(header)
    if not any(k.startswith("CRVAL") for k in keys):
        return None
    used = wcs_names(header)
    for letter in used:
        if letter != " " and _is_archived(header, letter):
            return letter
    free = [k for k in ALTERNATE_KEYS if k not in used]
    if not free:
        raise InputFileError(f"{where}: no free alternate WCS key (A-Z) left to archive the "
                             f"current WCS '{used[' ']}'")
    letter = free[0]
    name = str(header.get("WCSNAME", "")).strip() or _UNNAMED
    for k in keys:
        header.set(f"{k}{letter}", header[k], header.comments[k])
    header.set(f"WCSNAME{letter}", name, "archived WCS")
    log.debug("%s: WCS '%s' archived as alternate %s", where, name, letter)
    return letter


def set_primary_wcs(header: fits.Header, new_wcs: WCS, wcsname: str) -> None:
    """Write the linear part of ``new_wcs`` (CRPIX, CRVAL, CD or PC) as the primary WCS.

    CTYPE, distortion keywords and all other cards are left unchanged; an
    ``ORIENTAT`` keyword is recomputed when present.
    """
    w = new_wcs.wcs
    header["CRPIX1"], header["CRPIX2"] = float(w.crpix[0]), float(w.crpix[1])
    header["CRVAL1"], header["CRVAL2"] = float(w.crval[0]), float(w.crval[1])
    if w.has_cd():
        cd = np.array(w.cd, dtype=float)
    else:
        cd = np.array(w.get_pc(), dtype=float) * np.asarray(w.cdelt, float)[:, None]
    use_pc = any(k in header for k in ("PC1_1", "PC1_2", "PC2_1", "PC2_2")) and \
        not any(k in header for k in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"))
    if use_pc:
        cdelt = np.array([header.get("CDELT1", 1.0), header.get("CDELT2", 1.0)], float)
        pc = cd / cdelt[:, None]
        for i in range(2):
            for j in range(2):
                header[f"PC{i + 1}_{j + 1}"] = float(pc[i, j])
    else:
        for i in range(2):
            for j in range(2):
                header[f"CD{i + 1}_{j + 1}"] = float(cd[i, j])
    if "ORIENTAT" in header:
        header["ORIENTAT"] = float(np.rad2deg(np.arctan2(cd[0, 1], cd[1, 1])))
    header["WCSNAME"] = wcsname


def update_header_wcs(header: fits.Header, new_wcs: WCS, *, wcsname: str = "TWEAK",
                      reusename: bool = False, where: str = "header",
                      history: str | None = None) -> str | None:
    """Archive the current WCS of ``header`` and make ``new_wcs`` the primary WCS.

    Parameters
    ----------
    header : astropy.io.fits.Header
        Modified in place.
    new_wcs : astropy.wcs.WCS
        The new celestial WCS (its CRPIX, CRVAL and CD/PC are written).
    wcsname : str
        WCSNAME of the new WCS.
    reusename : bool
        Allow ``wcsname`` to already exist in the header.
    where : str
        Name for messages (``file[SCI,1]``).
    history : str, optional
        A HISTORY card to add.

    Returns
    -------
    str or None
        Key letter under which the previous WCS is archived.

    Raises
    ------
    drizzlekit.exceptions.ParameterError
        Empty ``wcsname``, or ``wcsname`` already used and not ``reusename``.
    """
    wcsname = str(wcsname).strip()
    if not wcsname:
        raise ParameterError("wcsname: must not be empty")
    if not reusename and wcsname.upper() in {n.upper() for n in wcs_names(header).values()}:
        raise ParameterError(f"{where}: WCSNAME '{wcsname}' already exists; choose another "
                             "wcsname or allow reusing it (reusename=True; on the command line "
                             "--reusename)")
    letter = archive_primary_wcs(header, where)
    set_primary_wcs(header, new_wcs, wcsname)
    if history:
        from .output_checks import fits_text

        header.add_history(fits_text(history))
    return letter


def _sci_extensions(hdul: fits.HDUList) -> list[int]:
    exts = [i for i, h in enumerate(hdul)
            if str(h.header.get("EXTNAME", "")).strip().upper() == "SCI"]
    if not exts:
        return [0] if hdul[0].header.get("NAXIS", 0) == 2 else []
    return sorted(exts, key=lambda i: int(hdul[i].header.get("EXTVER", 1) or 1))


def _open_full(filename: str) -> fits.HDUList:
    try:
        hdul = fits.open(filename, memmap=False, lazy_load_hdus=False)
    except FileNotFoundError:
        raise InputFileError(f"{filename}: file not found") from None
    except OSError as exc:
        raise InputFileError(f"{filename}: cannot read the FITS file ({exc})") from None
    for h in hdul:  # load every array before the file can be replaced
        _ = h.data
    return hdul


def _write_hdulist(hdul: fits.HDUList, tmp, original: str) -> None:
    if original.lower().endswith(".gz"):
        buf = io.BytesIO()
        hdul.writeto(buf)
        with gzip.open(tmp, "wb") as gz:
            gz.write(buf.getvalue())
    else:
        hdul.writeto(tmp)
    try:
        shutil.copymode(original, tmp)
    except OSError:
        pass


def updatehdr(filenames: str | Sequence[str], new_wcs, *, wcsname: str = "TWEAK",
              reusename: bool = False, history: str | None = None) -> list[dict]:
    """Write aligned WCSs into the SCI headers of one or more files, atomically.

    Parameters
    ----------
    filenames : str or sequence of str
        FITS files (MEF with ``SCI`` extensions, or a single-image file).
    new_wcs : WCS, list of WCS, or (for several files) a list of those
        The new WCS of each SCI extension of each file, in ``EXTVER`` order.
    wcsname : str
        WCSNAME of the new WCS.
    reusename : bool
        Allow a ``wcsname`` that the file already uses.
    history : str, optional
        HISTORY text added to each updated header.

    Returns
    -------
    list of dict
        Per file: ``{'filename', 'archived': [key letter per chip]}``.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing/unreadable file, wrong number of WCSs for the SCI extensions,
        no free alternate key.
    drizzlekit.exceptions.ParameterError
        ``wcsname`` already present (without ``reusename``).

    Notes
    -----
    Every file is first updated in memory; only when all succeeded are they
    written, each to a temporary file that then replaces the original. An
    error before the final renames leaves every file byte-identical. Read-only
    files and files listed twice are refused before anything is read
    (:func:`drizzlekit.io.inplace.check_updatable`); a symbolic link is
    updated through the link (its target is replaced, the link stays).
    """
    single = isinstance(filenames, (str, os.PathLike))
    files = [os.fspath(filenames)] if single else [os.fspath(f) for f in filenames]
    per_file = [new_wcs] if single else list(new_wcs)
    if len(per_file) != len(files):
        raise InputError(f"new_wcs: {len(per_file)} WCS sets for {len(files)} files")
    from .inplace import check_updatable

    reals = check_updatable(files, "updatehdr")  # read-only / duplicates: refuse first
    prepared = []
    reports = []
    try:
        for fname, real, wcss in zip(files, reals, per_file):
            wlist = [wcss] if isinstance(wcss, WCS) else list(wcss)
            hdul = _open_full(real)
            prepared.append((real, hdul))
            exts = _sci_extensions(hdul)
            if len(exts) != len(wlist):
                raise InputFileError(f"{fname}: {len(exts)} SCI extension(s) but {len(wlist)} "
                                     "new WCS(s) given")
            letters = []
            for ext, w in zip(exts, wlist):
                hdr = hdul[ext].header
                where = f"{fname}[SCI,{hdr.get('EXTVER', 1)}]" if ext else f"{fname}[0]"
                letters.append(update_header_wcs(hdr, w, wcsname=wcsname, reusename=reusename,
                                                 where=where, history=history))
            reports.append({"filename": fname, "archived": letters})
        with ExitStack() as stack:
            for fname, hdul in prepared:
                tmp = stack.enter_context(atomic_path(fname))
                _write_hdulist(hdul, tmp, fname)
        for r in reports:
            log.info("%s: WCS '%s' written (previous WCS archived as %s)", r["filename"],
                     wcsname, ",".join(str(a) for a in r["archived"]))
        return reports
    finally:
        for _, hdul in prepared:
            hdul.close()


def read_wcs(source, ext=("SCI", 1), key: str = " ") -> WCS:
    """The WCS ``key`` (``' '`` primary, or an alternate letter) of one extension.

    ``source`` is a file name or an open HDUList; distortions (SIP, lookup
    tables) are included.
    """
    close = False
    if not isinstance(source, fits.HDUList):
        source = _open_full(os.fspath(source))
        close = True
    try:
        hdr = source[ext].header
        if key != " " and key not in wcs_names(hdr):
            raise InputError(f"key: no alternate WCS '{key}' in extension {ext}")
        w = _quiet_wcs(hdr, source, key=key)
        if hdr.get("NAXIS", 0) == 2:
            w.pixel_shape = (hdr["NAXIS1"], hdr["NAXIS2"])
        return w
    finally:
        if close:
            source.close()


# ============================================================================ shift files
@dataclass
class ShiftRow:
    """One shift-file row: ``name xsh ysh rot scale [xrms yrms]`` (pixels, degrees)."""

    name: str
    xsh: float
    ysh: float
    rot: float = 0.0
    scale: float = 1.0
    xrms: float | None = None
    yrms: float | None = None

    def format(self) -> str:
        s = f"{self.name}    {self.xsh:.6f}  {self.ysh:.6f}    {self.rot:.6f}     {self.scale:.6f}"
        if self.xrms is not None and self.yrms is not None:
            s += f"   {self.xrms:.6f}  {self.yrms:.6f}"
        return s


@dataclass
class ShiftFile:
    """Content of a shift file (:func:`read_shiftfile`)."""

    rows: list[ShiftRow]
    refimage: str | None = None
    frame: str = "output"
    form: str = "delta"
    units: str = "pixels"
    path: str | None = None
    order: list[str] = field(default_factory=list)

    def row_for(self, filename: str) -> ShiftRow | None:
        """The row of an image, matched by base name, then by rootname."""
        from .inputs import rootname

        base = os.path.basename(os.fspath(filename))
        for r in self.rows:
            if os.path.basename(r.name) == base:
                return r
        root = rootname(base)
        for r in self.rows:
            if rootname(r.name) == root:
                return r
        return None

    def refwcs(self) -> WCS:
        """The reference WCS named by ``refimage`` (path relative to the shift file)."""
        if not self.refimage:
            raise InputFileError(f"{self.path}: the shift file names no refimage")
        ref = re.sub(r"\[.*\]\s*$", "", self.refimage).strip()
        if not os.path.isabs(ref) and not os.path.exists(ref) and self.path:
            ref = os.path.join(os.path.dirname(os.path.abspath(self.path)), ref)
        return read_outwcs(ref)

    def correct(self, filename: str, chip_wcs: Sequence[WCS] | WCS):
        """Corrected WCS(s) of ``filename``'s chips, or the inputs if it has no row."""
        single = isinstance(chip_wcs, WCS)
        chips = [chip_wcs] if single else list(chip_wcs)
        row = self.row_for(filename)
        if row is None:
            out = [w.deepcopy() for w in chips]
        else:
            ref = self.refwcs()
            out = [apply_shift(w, ref, row) for w in chips]
        return out[0] if single else out


def _rot(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def _chip_grid(w: WCS, n: int = 7, extent=None) -> tuple[np.ndarray, np.ndarray]:
    if extent is None:
        if w.pixel_shape is not None:
            nx, ny = w.pixel_shape
            extent = (0.0, nx - 1.0, 0.0, ny - 1.0)
        else:
            c = np.asarray(w.wcs.crpix, float) - 1.0
            extent = (c[0] - 512, c[0] + 512, c[1] - 512, c[1] + 512)
    gx, gy = np.meshgrid(np.linspace(extent[0], extent[1], n), np.linspace(extent[2], extent[3], n))
    return gx.ravel(), gy.ravel()


def _linear(ref: WCS) -> WCS:
    from ..align.correct import linear_wcs

    return linear_wcs(ref)


def shift_row(name: str, old_wcs: Sequence[WCS] | WCS, new_wcs: Sequence[WCS] | WCS,
              ref_wcs: WCS, *, residuals=None, fitmask=None) -> ShiftRow:
    """Shift-file row equivalent to the change from ``old_wcs`` to ``new_wcs``.

    Sky positions of a grid over each chip, through the old and the new WCS,
    are projected into the reference frame (linear part of ``ref_wcs``,
    1-based pixels); ``p - c = scale R(-rot) (q - c) + (xsh, ysh)`` is
    fitted by least squares (``p`` old, ``q`` new, ``c`` = reference CRPIX).

    Parameters
    ----------
    name : str
        Image name written in the row.
    old_wcs, new_wcs : WCS or list of WCS
        Chip WCSs before and after alignment (same order).
    ref_wcs : astropy.wcs.WCS
        The reference WCS of the shift file.
    residuals : array_like (N, 2), optional
        Fit residuals in arcsec (East, North); their rms along the reference
        frame's axes become ``xrms``, ``yrms`` (pixels).
    fitmask : array_like of bool, optional
        Residuals used by the fit (default: all).

    Returns
    -------
    ShiftRow
    """
    olds = [old_wcs] if isinstance(old_wcs, WCS) else list(old_wcs)
    news = [new_wcs] if isinstance(new_wcs, WCS) else list(new_wcs)
    if len(olds) != len(news):
        raise InputError("old_wcs, new_wcs: different numbers of chips")
    lin = _linear(ref_wcs)
    c = np.asarray(lin.wcs.crpix, float)
    p_all, q_all = [], []
    for wo, wn in zip(olds, news):
        gx, gy = _chip_grid(wo)
        p = np.column_stack(lin.wcs_world2pix(*wo.all_pix2world(gx, gy, 0), 1)) - c
        q = np.column_stack(lin.wcs_world2pix(*wn.all_pix2world(gx, gy, 0), 1)) - c
        p_all.append(p)
        q_all.append(q)
    p = np.concatenate(p_all)
    q = np.concatenate(q_all)
    zp = p[:, 0] + 1j * p[:, 1]
    zq = q[:, 0] + 1j * q[:, 1]
    a_mat = np.column_stack([zq, np.ones_like(zq)])
    (a, b), *_ = np.linalg.lstsq(a_mat, zp, rcond=None)
    scale = abs(a)
    rot = (-math.degrees(np.angle(a))) % 360.0
    xrms = yrms = None
    if residuals is not None:
        r = np.asarray(residuals, dtype=float).reshape(-1, 2)
        if fitmask is not None:
            r = r[np.asarray(fitmask, bool)]
        if r.size:
            cd = _cd(lin) * 3600.0  # arcsec per reference pixel, (xi, eta) = cd @ dpix
            rp = r @ np.linalg.inv(cd).T
            xrms = float(np.sqrt(np.mean(rp[:, 0] ** 2)))
            yrms = float(np.sqrt(np.mean(rp[:, 1] ** 2)))
    return ShiftRow(name=name, xsh=float(b.real), ysh=float(b.imag), rot=float(rot),
                    scale=float(scale), xrms=xrms, yrms=yrms)


def _cd(w: WCS) -> np.ndarray:
    if w.wcs.has_cd():
        return np.array(w.wcs.cd, dtype=float)
    return np.array(w.wcs.get_pc(), dtype=float) * np.asarray(w.wcs.cdelt, float)[:, None]


def apply_shift(chip_wcs: WCS, ref_wcs: WCS, row: ShiftRow, *, extent=None) -> WCS:
    """Correct a chip WCS with a shift-file row (drizzlepac convention, see module doc).

    Parameters
    ----------
    chip_wcs : astropy.wcs.WCS
        The chip's current (distorted) WCS; not modified.
    ref_wcs : astropy.wcs.WCS
        Reference WCS of the shift file (its linear part defines the frame).
    row : ShiftRow
        Shifts (reference pixels), rotation (degrees) and scale.
    extent : (x0, x1, y0, y1), optional
        0-based chip pixel range used to fit the new CD (default: the chip's
        ``pixel_shape``).

    Returns
    -------
    astropy.wcs.WCS
        A copy with new CRVAL and CD; CRPIX and the distortion unchanged.
    """
    from ..align.correct import correct_wcs
    from ..align.tangent import TangentPlane

    if not (row.scale > 0 and np.isfinite(row.scale)):
        raise InputError(f"shift row '{row.name}': scale must be > 0, got {row.scale}")
    lin = _linear(ref_wcs)
    plane = TangentPlane(float(lin.wcs.crval[0]), float(lin.wcs.crval[1]))
    # q - c = A (p - c - sh), A = R(rot) / scale; plane u = K (pix - c), K = CD [arcsec]
    a_m = _rot(row.rot) / row.scale
    k = _cd(lin) * 3600.0
    if lin.wcs.lonpole != 180.0 and not np.isclose(lin.wcs.lonpole, 180.0):
        raise InputError("ref_wcs: only a TAN reference frame with LONPOLE = 180 is supported")
    matrix = k @ a_m @ np.linalg.inv(k)
    shift = -(k @ a_m @ np.array([row.xsh, row.ysh]))
    return correct_wcs(chip_wcs, plane, matrix, shift, extent=extent)


def write_shiftfile(path: str | os.PathLike, rows: Iterable[ShiftRow], *,
                    refimage: str) -> str | None:
    """Write a TweakReg/AstroDrizzle shift file atomically (nothing if no rows).

    Parameters
    ----------
    path : path
        Output text file (``outshifts``).
    rows : iterable of ShiftRow
    refimage : str
        File holding the reference WCS (``outwcs``); written as
        ``refimage[wcs]``.

    Returns
    -------
    str or None
        The path written, or None when there were no rows.
    """
    from .atomic import atomic_write_text

    rows = list(rows)
    if not rows:
        log.warning("shiftfile: no successful fit; %s not written", path)
        return None
    lines = ["# frame: output", f"# refimage: {refimage}[wcs]", "# form: delta",
             "# units: pixels"]
    lines += [r.format() for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
    log.info("shift file %s written (%d images)", path, len(rows))
    return os.fspath(path)


def read_shiftfile(path: str | os.PathLike) -> ShiftFile:
    """Read a shift file (TweakReg's, or any with 2, 3, 4 or 6 values per row).

    Missing ``rot`` is 0 and missing ``scale`` 1.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing file, a row with a wrong number of values or a non-number,
        or a header this reader does not support (``frame`` other than
        ``output``, ``form`` other than ``delta``, ``units`` other than
        ``pixels``). The message names the file and line.
    """
    path = os.fspath(path)
    lines = read_text(path, "shift").splitlines()
    info = {"frame": "output", "refimage": None, "form": "delta", "units": "pixels"}
    rows = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            body = line.lstrip("#").strip()
            if ":" in body:
                key, val = (s.strip() for s in body.split(":", 1))
                key = key.lower()
                if key == "reference":
                    key = "refimage"
                if key in info:
                    info[key] = val
            continue
        parts = line.split()
        vals = parts[1:]
        if len(vals) not in (2, 3, 4, 6):
            raise InputFileError(f"{path}:{lineno}: expected 'name xsh ysh [rot [scale "
                                 f"[xrms yrms]]]', found {len(vals)} values")
        try:
            num = [float(v) for v in vals]
        except ValueError:
            raise InputFileError(f"{path}:{lineno}: non-numeric shift value in {line!r}") \
                from None
        if not all(np.isfinite(num)):
            raise InputFileError(f"{path}:{lineno}: non-finite shift value in {line!r}")
        row = ShiftRow(parts[0], num[0], num[1], num[2] if len(num) > 2 else 0.0,
                       num[3] if len(num) > 3 else 1.0)
        if len(num) == 6:
            row.xrms, row.yrms = num[4], num[5]
        rows.append(row)
    for key, allowed in (("frame", "output"), ("form", "delta"), ("units", "pixels")):
        if str(info[key]).strip().lower() != allowed:
            raise InputFileError(f"{path}: '{key}: {info[key]}' is not supported (only "
                                 f"'{key}: {allowed}')")
    return ShiftFile(rows=rows, refimage=info["refimage"], path=path,
                     order=[r.name for r in rows])


# ============================================================================ outwcs
def write_outwcs(path: str | os.PathLike, ref_wcs: WCS) -> str:
    """Write the reference WCS as a header-only FITS file (extension ``WCS``).

    The header carries the linear TAN WCS, ``NPIX1``/``NPIX2`` (frame size)
    and ``ORIENTAT``, as TweakReg's ``outwcs`` file does. Written atomically.
    """
    lin = _linear(ref_wcs)
    hdr = lin.to_header()
    hdr["EXTNAME"] = "WCS"
    hdr["EXTVER"] = 1
    if lin.pixel_shape is not None:
        hdr["NPIX1"] = (int(lin.pixel_shape[0]), "length of array axis 1")
        hdr["NPIX2"] = (int(lin.pixel_shape[1]), "length of array axis 2")
    cd = _cd(lin)
    hdr["ORIENTAT"] = (float(np.rad2deg(np.arctan2(cd[0, 1], cd[1, 1]))),
                       "position angle of image y axis (deg. e of n)")
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(None, hdr)])
    with atomic_path(path) as tmp:
        hdul.writeto(tmp)
    log.info("reference WCS written to %s", path)
    return os.fspath(path)


def read_outwcs(path: str | os.PathLike) -> WCS:
    """Read a reference WCS written by :func:`write_outwcs` (or TweakReg)."""
    path = os.fspath(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = None
            for h in hdul:
                if str(h.header.get("EXTNAME", "")).strip().upper() == "WCS":
                    hdu = h
                    break
            if hdu is None:
                hdu = hdul[0]
            hdr = hdu.header.copy()
    except FileNotFoundError:
        raise InputFileError(f"{path}: reference WCS file not found") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the reference WCS ({exc})") from None
    w = _quiet_wcs(hdr)
    if not w.has_celestial:
        raise InputFileError(f"{path}: no celestial WCS in the reference WCS file")
    if "NPIX1" in hdr and "NPIX2" in hdr:
        w.pixel_shape = (int(hdr["NPIX1"]), int(hdr["NPIX2"]))
    return w


# ============================================================================ catalogs
def write_xy_catalog(path: str | os.PathLike, table, *, source: str = "") -> str:
    """Write a chip source catalog: ``X Y FLUX ID`` with 1-based pixel positions.

    The format is TweakReg's ``*_xy_catalog.coo`` (blank-separated, ``#``
    header) and is read back by
    :func:`drizzlekit.align.catalogs.read_xy_catalog` with the defaults
    ``xcol=1, ycol=2`` (``fluxcol=3``).
    """
    from .atomic import atomic_write_text

    lines = [f"# Source catalog derived for {source}", "# Columns:",
             "#    X      Y         Flux       ID", "#   (pixels)   (pixels)"]
    x = np.asarray(table["x"], float) + 1.0
    y = np.asarray(table["y"], float) + 1.0
    f = np.asarray(table["flux"], float) if "flux" in table.colnames else np.zeros(x.size)
    ids = np.asarray(table["id"]) if "id" in table.colnames else np.arange(1, x.size + 1)
    lines += [f"{a:.6f}  {b:.6f}  {c:.6g}  {int(d)}" for a, b, c, d in zip(x, y, f, ids)]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return os.fspath(path)


def write_sky_catalog(path: str | os.PathLike, ra, dec, *, source: str = "") -> str:
    """Write ``RA Dec`` (degrees, 12 decimals) of a catalog, TweakReg style."""
    from .atomic import atomic_write_text

    lines = [f"# Sky positions for: {source}", "# RA        Dec", "# (deg)     (deg)"]
    lines += [f"{a:.12f}  {d:.12f}" for a, d in zip(np.ravel(ra), np.ravel(dec))]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return os.fspath(path)


# ============================================================================ headerlets
def write_headerlet(path: str | os.PathLike, filename: str, chip_wcs: Sequence[WCS], *,
                    hdrname: str, wcsname: str, author: str = "", descrip: str = "",
                    catalog: str = "", history: str = "", clobber: bool = False,
                    rms_ra: float | None = None, rms_dec: float | None = None,
                    nmatch: int | None = None) -> str:
    """Write a stand-alone headerlet file holding the aligned WCS of each chip.

    The STScI headerlet format that ``stwcs`` applies
    (``apply_headerlet_as_primary``), distortion lookup tables included; see
    :mod:`drizzlekit.io.headerlet`. Written atomically.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        If ``path`` exists and ``clobber`` is false.
    """
    from .headerlet import write_headerlet as _write

    return _write(path, filename, chip_wcs, hdrname=hdrname, wcsname=wcsname, author=author,
                  descrip=descrip, catalog=catalog, history=history, clobber=clobber,
                  rms_ra=rms_ra, rms_dec=rms_dec, nmatch=nmatch)


def attach_headerlet(filename: str | os.PathLike, headerlet: str | os.PathLike) -> int:
    """Append a headerlet file to an image as an ``HDRLET`` extension, atomically.

    The headerlet is embedded whole, uncompressed, the way STScI's headerlet
    extensions carry it (astropy's :class:`~astropy.io.fits.FitsHDU`
    encapsulation with ``XTENSION = 'HDRLET'``, ``EXTNAME = 'HDRLET'``, the
    next free ``EXTVER`` and the headerlet's ``HDRNAME`` and ``WCSNAME``).
    The image is rewritten through a temporary file; on any error it is left
    byte-identical.

    Returns
    -------
    int
        The ``EXTVER`` of the new extension.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        Missing or unreadable image or headerlet, or a headerlet with the
        same ``HDRNAME`` already attached.
    """
    from .inplace import check_updatable

    filename = os.fspath(filename)
    real = check_updatable([filename], "attach")[0]  # symlink: rewrite its target
    hlet = _open_full(os.fspath(headerlet))
    try:
        hdrname = str(hlet[0].header.get("HDRNAME", "")).strip()
        hdul = _open_full(real)
        try:
            present = [h for h in hdul
                       if str(h.header.get("EXTNAME", "")).strip().upper() == "HDRLET"]
            if any(str(h.header.get("HDRNAME", "")).strip() == hdrname for h in present):
                raise InputFileError(f"{filename}: a headerlet named '{hdrname}' is already "
                                     "attached")
            extver = 1 + max((int(h.header.get("EXTVER", 1) or 1) for h in present), default=0)
            hdu = fits.FitsHDU.fromhdulist(hlet, compress=False)
            hdu.header["XTENSION"] = "HDRLET"
            hdu.header["EXTNAME"] = ("HDRLET", "a headerlet (an encapsulated FITS file)")
            hdu.header["EXTVER"] = extver
            hdu.header["HDRNAME"] = hdrname
            hdu.header["WCSNAME"] = str(hlet[0].header.get("WCSNAME", ""))
            hdul.append(hdu)
            with atomic_path(real) as tmp:
                _write_hdulist(hdul, tmp, real)
        finally:
            hdul.close()
    finally:
        hlet.close()
    log.info("%s: headerlet '%s' attached as HDRLET,%d", filename, hdrname, extver)
    return extver


def attached_headerlet_names(filename: str | os.PathLike) -> list[str]:
    """``HDRNAME`` of every headerlet attached to an image (headers only are read)."""
    filename = os.fspath(filename)
    try:
        with fits.open(filename) as hdul:
            return [str(h.header.get("HDRNAME", "")).strip() for h in hdul
                    if str(h.header.get("EXTNAME", "")).strip().upper() == "HDRLET"]
    except FileNotFoundError:
        raise InputFileError(f"{filename}: file not found") from None
    except OSError as exc:
        raise InputFileError(f"{filename}: cannot read the FITS file ({exc})") from None


def read_attached_headerlets(filename: str | os.PathLike) -> list[fits.HDUList]:
    """The headerlets attached to an image (``HDRLET`` extensions), in file order."""
    hdul = _open_full(os.fspath(filename))
    try:
        return [fits.HDUList.fromstring(np.asarray(h.data, np.uint8).tobytes()) for h in hdul
                if str(h.header.get("EXTNAME", "")).strip().upper() == "HDRLET"]
    finally:
        hdul.close()
