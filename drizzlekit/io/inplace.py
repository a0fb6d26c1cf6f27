"""Rewriting a user's input files in place, and going back.

Tasks that update input headers (``tweakreg(updatehdr=True)``, ``attach``,
:func:`restore_wcs`) leave the inputs as the user left them:

* a file the user cannot write or whose owner write bit is off (mode
  ``0444``: refused even for root), or whose directory does
  not allow the atomic replacement, is refused with
  :class:`~drizzlekit.exceptions.InputFileError` *before any file is touched*
  (:func:`check_updatable`); the check is on the file itself
  (``os.access(path, W_OK)``), not only on its directory, since an atomic
  rename needs only the latter;
* a symbolic link is updated *through* the link: the file it points to is
  rewritten (atomically, next to it) and the link stays a link
  (:func:`write_target`);
* a file listed twice -- by the same name, through a symbolic link, or as a
  hard link to the same inode -- is an error (:func:`check_distinct`).

:func:`restore_wcs` makes an archived (alternate) WCS the primary WCS again,
with the semantics of ``stwcs.wcsutil.altwcs.restoreWCS``: the alternate is
chosen by key letter (``wcskey``) or, with ``wcskey=' '``, by its
``WCSNAME`` (``wcsname``); its keywords replace the primary ones in every
selected extension that has it, ``WCSNAME`` included, and ``ORIENTAT`` is
recomputed. Unlike ``restoreWCS``, the primary WCS being replaced is first
archived under a free key (unless an identical copy is already archived),
so a restore never loses a solution, and the files are rewritten atomically.
"""

from __future__ import annotations

import logging
import os
import stat
from contextlib import ExitStack
from typing import Sequence

import numpy as np
from astropy.io import fits

from ..exceptions import InputError, InputFileError, ParameterError

__all__ = ["check_distinct", "check_updatable", "write_target", "restore_wcs"]

log = logging.getLogger(__name__)


def _as_list(files) -> list[str]:
    if isinstance(files, (str, os.PathLike)):
        return [os.fspath(files)]
    return [os.fspath(f) for f in files]


def check_distinct(files: Sequence[str | os.PathLike], what: str = "input") -> None:
    """Refuse a file listed more than once (same name, symlink alias or hard link).

    Raises
    ------
    drizzlekit.exceptions.InputError
        Naming both spellings of the repeated file.
    """
    seen: dict[tuple, str] = {}
    for f in _as_list(files):
        try:
            st = os.stat(f)
            key = (st.st_dev, st.st_ino)
        except OSError:
            key = ("path", os.path.realpath(f))
        if key in seen:
            first = seen[key]
            same = "listed twice" if os.path.abspath(first) == os.path.abspath(f) else \
                f"the same file as {first} (symbolic or hard link)"
            raise InputError(f"{what}: {f} is {same}; give each exposure once")
        seen[key] = f


def check_updatable(files: Sequence[str | os.PathLike], what: str = "updatehdr") -> list[str]:
    """Check, before anything is written, that every file can be rewritten in place.

    Parameters
    ----------
    files : str or sequence of str
        The files that will be updated.
    what : str
        The task or parameter asking, for the messages.

    Returns
    -------
    list of str
        The resolved paths (symbolic links followed) that will be written.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        A file is missing, read-only, or in a directory where the atomic
        replacement cannot create its temporary file.
    drizzlekit.exceptions.InputError
        A file is listed twice (see :func:`check_distinct`).
    """
    files = _as_list(files)
    check_distinct(files, what)
    out = []
    for f in files:
        real = os.path.realpath(f)
        if not os.path.isfile(real):
            raise InputFileError(f"{f}: file not found; {what} changed no file")
        via = "" if real == os.path.abspath(f) else f" (the target of the link, {real})"
        # the owner's write bit too: root may write anything, but a 0444 file was made
        # read-only on purpose
        if not os.access(real, os.W_OK) or not os.stat(real).st_mode & stat.S_IWUSR:
            raise InputFileError(f"{f}{via}: the file is read-only; {what} would rewrite it. "
                                 "Make it writable (chmod u+w) or leave updatehdr off; "
                                 "no file was changed")
        folder = os.path.dirname(real) or "."
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputFileError(f"{f}{via}: its folder {folder} is not writable, so the file "
                                 f"cannot be replaced atomically; {what} changed no file")
        nlink = os.stat(real).st_nlink
        if nlink > 1:
            log.warning("%s has %d hard links; the atomic update gives this name a new file "
                        "and the other names keep the old content", f, nlink)
        out.append(real)
    return out


def write_target(path: str | os.PathLike) -> str:
    """The file to replace when rewriting ``path``: the link's target for a symlink."""
    return os.path.realpath(os.fspath(path))


# ============================================================================ restore
def _find_key(header: fits.Header, wcskey: str, wcsname: str, where: str) -> str:
    from .wcs_update import wcs_names

    names = wcs_names(header)
    key = str(wcskey or " ").upper()
    if key.strip():
        if len(key) != 1 or key not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            raise ParameterError(f"wcskey: must be a letter A-Z or ' ', got {wcskey!r}")
        return key if key in names else ""
    name = str(wcsname or "").strip()
    if not name:
        raise ParameterError("restore_wcs: give wcskey (a letter A-Z) or wcsname")
    for k, n in names.items():
        if k != " " and n.upper() == name.upper():
            return k
    avail = ", ".join(f"{k}={n!r}" for k, n in names.items() if k != " ") or "none"
    raise ParameterError(f"{where}: no archived WCS named '{name}' (archived: {avail})")


def _restore_header(header: fits.Header, key: str, where: str, archive: bool) -> str | None:
    from .wcs_update import _WCS_KEYS, archive_primary_wcs

    saved = archive_primary_wcs(header, where) if archive else None
    for k in _WCS_KEYS:
        if f"{k}{key}" in header:
            header.set(k, header[f"{k}{key}"], header.comments[f"{k}{key}"])
    if f"WCSNAME{key}" not in header:
        header["WCSNAME"] = ""
    if key == "O":  # the OPUS WCS has no time-dependent skew (as restoreWCS)
        for kw in ("TDDALPHA", "TDDBETA"):
            if kw in header:
                header[kw] = 0.0
    if "ORIENTAT" in header and "CD1_2" in header and "CD2_2" in header:
        header["ORIENTAT"] = float(np.rad2deg(np.arctan2(header["CD1_2"], header["CD2_2"])))
    return saved


def restore_wcs(f, ext="SCI", wcskey: str = " ", wcsname: str = " ", *,
                archive: bool = True) -> list[dict]:
    """Make an archived (alternate) WCS the primary WCS again, in place and atomically.

    The same call as ``stwcs.wcsutil.altwcs.restoreWCS(f, ext, wcskey, wcsname)``
    (see the module notes for the one difference, ``archive``). Typical use,
    undoing ``tweakreg(updatehdr=True)``::

        drizzlekit.restore_wcs("j8bt05njq_flt.fits", wcsname="OPUS")

    Parameters
    ----------
    f : str, path-like, or sequence of them
        FITS files (symbolic links are followed; the link stays a link).
    ext : str, int, tuple or list of them
        Extensions to restore: an EXTNAME (every extension with that name,
        default ``'SCI'``; a single-image file's primary HDU when it has
        none), an index, an ``(EXTNAME, EXTVER)`` tuple, or a list.
    wcskey : str
        Key letter ``'A'``-``'Z'`` of the alternate WCS, or ``' '`` to find it
        by ``wcsname``.
    wcsname : str
        ``WCSNAME`` of the alternate WCS (case-insensitive), with ``wcskey=' '``.
    archive : bool
        Archive the primary WCS being replaced under a free key first
        (``restoreWCS`` does not; with ``False`` it is lost unless already
        archived).

    Returns
    -------
    list of dict
        Per file: ``{'filename', 'restored': [key per extension], 'archived':
        [key per extension]}`` (None where an extension had no such WCS).

    Raises
    ------
    drizzlekit.exceptions.ParameterError
        (a ``KeyError``, as in ``restoreWCS``) no archived WCS of that name,
        or none of the extensions has the key.
    drizzlekit.exceptions.InputFileError
        Missing, unreadable or read-only file, unknown extension.
    drizzlekit.exceptions.InputError
        A file listed twice.

    Notes
    -----
    Every file is checked and updated in memory first; only when all
    succeeded are they written, so an error leaves every file byte-identical.
    """
    from .atomic import atomic_path
    from .wcs_update import _open_full, _write_hdulist

    files = _as_list(f)
    if not files:
        raise InputError("restore_wcs: no file given")
    reals = check_updatable(files, "restore_wcs")
    prepared, reports = [], []
    try:
        for fname, real in zip(files, reals):
            hdul = _open_full(real)
            prepared.append((fname, real, hdul))
            exts = _resolve_ext(hdul, ext, fname)
            restored, archived = [], []
            for e in exts:
                hdr = hdul[e].header
                where = f"{fname}[{e}]"
                key = _find_key(hdr, wcskey, wcsname, where)
                if not key:
                    restored.append(None)
                    archived.append(None)
                    continue
                archived.append(_restore_header(hdr, key, where, archive))
                restored.append(key)
            if not any(restored):
                raise ParameterError(f"{fname}: no extension has an archived WCS with key "
                                     f"{wcskey!r}; nothing was restored")
            reports.append({"filename": fname, "restored": restored, "archived": archived})
        with ExitStack() as stack:
            for fname, real, hdul in prepared:
                tmp = stack.enter_context(atomic_path(real))
                _write_hdulist(hdul, tmp, real)
        for r in reports:
            log.info("%s: archived WCS %s restored as the primary WCS", r["filename"],
                     ",".join(str(k) for k in r["restored"]))
        return reports
    finally:
        for _, _, hdul in prepared:
            hdul.close()


def _resolve_ext(hdul: fits.HDUList, ext, fname: str) -> list[int]:
    from .wcs_update import _sci_extensions

    items = ext if isinstance(ext, list) else [ext]
    out: list[int] = []
    for e in items:
        if isinstance(e, str):
            if e.upper() == "SCI":
                idx = _sci_extensions(hdul)
            else:
                idx = [i for i, h in enumerate(hdul)
                       if str(h.header.get("EXTNAME", "")).strip().upper() == e.upper()]
            if not idx:
                raise InputFileError(f"{fname}: no extension named {e!r}")
            out.extend(idx)
        else:
            try:
                out.append(hdul.index_of(tuple(e) if isinstance(e, list) else e))
            except (KeyError, IndexError):
                raise InputFileError(f"{fname}: no extension {e!r}") from None
    return out


# ============================================================================ CLI
def add_restore_wcs_subcommand(subparsers):
    """Add ``restore-wcs`` (alias ``restorewcs``) to an ``argparse`` subparsers object.

    ``drizzlekit restore-wcs --wcsname OPUS j8bt*_flt.fits`` or
    ``drizzlekit restore-wcs --wcskey A j8bt05njq_flt.fits``.
    """
    parser = subparsers.add_parser(
        "restore-wcs", aliases=["restorewcs"],
        help="make an archived WCS the primary WCS again (undo tweakreg --updatehdr)",
        description="Copy an archived (alternate) WCS back to the primary WCS of the SCI "
                    "extensions, as stwcs.wcsutil.altwcs.restoreWCS does; the WCS being "
                    "replaced is archived first (--no-archive: not). Files are rewritten "
                    "atomically; symbolic links are followed.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="FITS files (wildcards allowed)")
    sel = parser.add_mutually_exclusive_group(required=True)
    sel.add_argument("--wcsname", help="WCSNAME of the archived WCS (e.g. OPUS, IDC_xxx)")
    sel.add_argument("--wcskey", help="key letter A-Z of the archived WCS")
    parser.add_argument("--ext", default="SCI",
                        help="EXTNAME of the extensions to restore (default: SCI)")
    parser.add_argument("--no-archive", dest="archive", action="store_false",
                        help="do not archive the WCS being replaced")
    parser.set_defaults(func=_run_restore_wcs_cli)
    return parser


def _run_restore_wcs_cli(args) -> int:
    import sys

    from ..exceptions import DrizzlekitError
    from .inputs import expand_inputs

    try:
        files = [it.filename for it in expand_inputs(list(args.files))]
        reports = restore_wcs(files, args.ext, wcskey=args.wcskey or " ",
                              wcsname=args.wcsname or " ", archive=args.archive)
    except DrizzlekitError as exc:
        sys.stderr.write(f"drizzlekit restore-wcs: error: {exc}\n")
        return 2
    for r in reports:
        sys.stdout.write(f"{r['filename']}: restored WCS "
                         f"{','.join(str(k) for k in r['restored'])}\n")
    return 0
