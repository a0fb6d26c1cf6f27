"""Expand the ``input`` argument into a list of files (spec §2.1).

Accepted forms:

* one file name, a Python list of names, or a comma-separated string;
* wildcards (``*``, ``?``, ``[...]``) anywhere in those names;
* ``@list.txt``: one file per line; if the first line has two columns the second
  column is the IVM file of that input (for ``final_wht_type='IVM'``);
* an association table (a name containing ``_asn`` or ``_asc``): the ``EXP*``
  members of its ``MEMNAME``/``MEMTYPE`` table, each rootname resolved to an
  existing ``<root>_flt.fits`` or ``<root>_flc.fits`` next to the table.

WFPC2 science files may be GEIS (``*.c0h``), waivered (``*_c0f.fits``) or MEF
(``*_c0m.fits``); a wildcard drops the data-quality and GEIS data files that go with a
matched science file (they are read with it, :mod:`drizzlekit.io.wfpc2`).

A string input gives a sorted list (drizzlepac sorts it); a Python list keeps its order.
Every file must exist; otherwise :class:`~drizzlekit.exceptions.InputFileError`
names it. Nothing here opens or modifies the inputs except the ASN table itself.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
from astropy.io import fits

from ..exceptions import InputError, InputFileError

__all__ = [
    "InputItem",
    "AsnTable",
    "expand_inputs",
    "read_asn_table",
    "rootname",
    "default_output_name",
    "output_filename",
]

PathLike = Union[str, os.PathLike]

_WILDCARD = re.compile(r"[*?\[]")
_GEIS_EXT = re.compile(r"\.[A-Za-z0-9]{2}[hHdD]$")
#: Suffixes stripped from a file name to get its rootname (plus ``.fits[.gz]``).
KNOWN_SUFFIXES = (
    "_flt", "_flc", "_raw", "_crj", "_crc", "_sfl", "_drz", "_drc", "_drw",
    "_c0m", "_c0h", "_c0f", "_c1m", "_c1h", "_cal", "_ima",
)
#: Suffixes tried, in order, when an ASN member rootname is resolved to a file.
ASN_MEMBER_SUFFIXES = ("_flt.fits", "_flc.fits")
#: Tried in order, when no ``_flt``/``_flc`` file exists, for WFPC2 ASN members.
WFPC2_MEMBER_SUFFIXES = ("_c0m.fits", "_c0h.fits", "_c0f.fits", ".c0h")


@dataclass(frozen=True)
class InputItem:
    """One input exposure: its file and, optionally, its inverse-variance map file."""

    filename: str
    ivm: str | None = None


@dataclass(frozen=True)
class AsnTable:
    """Content of an association table: member rootnames and the product name."""

    filename: str
    members: tuple[str, ...]
    product: str | None


# --------------------------------------------------------------------------- names


def rootname(filename: PathLike) -> str:
    """Rootname of a file name: no directory, no ``.fits``/``.fits.gz``, and no
    trailing known suffix such as ``_flt``/``_flc``.

    Examples
    --------
    >>> rootname("/data/j8bt06nyq_flt.fits")
    'j8bt06nyq'
    >>> rootname("image.fits")
    'image'
    """
    name = os.path.basename(os.fspath(filename))
    low = name.lower()
    for ext in (".fits.gz", ".fits.fz", ".fits", ".fit", ".fts"):
        if low.endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        if _GEIS_EXT.search(name) and len(name) > 4:  # GEIS u1234567m.c0h (WFPC2)
            return name[:-4]
    low = name.lower()
    for suf in KNOWN_SUFFIXES:
        if low.endswith(suf) and len(name) > len(suf):
            return name[: -len(suf)]
    return name


def _is_asn(text: str) -> bool:
    low = text.lower()
    return "_asn" in low or "_asc" in low


def default_output_name(input, items: Sequence[InputItem] | None = None) -> str:
    """Default ``output`` rootname (spec §2.1 item 4).

    The ASN product name (lower case) for an association table; the input's
    rootname for a single input; ``"final"`` for several.
    """
    if isinstance(input, (str, os.PathLike)) and not str(input).startswith("@") \
            and _is_asn(os.fspath(input)):
        asn = read_asn_table(input)
        if asn.product:
            return asn.product.lower()
    if items is None:
        items = expand_inputs(input)
    if len(items) == 1:
        return rootname(items[0].filename)
    return "final"


def output_filename(input, output: str | None = None,
                    items: Sequence[InputItem] | None = None) -> str:
    """Final product file name (spec §2.1 items 4-5).

    Parameters
    ----------
    input
        The ``input`` argument as given to :func:`expand_inputs`.
    output : str, optional
        User's output name. Without ``.fits`` and without ``_dr?`` the suffix is
        appended; ``None`` uses :func:`default_output_name`.
    items : list of InputItem, optional
        Already expanded inputs (saves a second expansion).

    Returns
    -------
    str
        e.g. ``"final_drz.fits"``; ``_drc.fits`` when the first input ends in
        ``_flc.fits``; ``_drw.fits`` for WFPC2 (``INSTRUME`` of the first input).
    """
    if items is None:
        items = expand_inputs(input)
    first = items[0].filename if items else ""
    suffix = "_drc" if first.lower().endswith(("_flc.fits", "_flc.fits.gz")) else "_drz"
    if first and os.path.exists(first):
        try:
            from .wfpc2 import is_geis_name, read_geis_header

            head = read_geis_header(first) if is_geis_name(first) else \
                fits.getheader(first, ext=0)
            if str(head.get("INSTRUME", "")).strip().upper() == "WFPC2":
                suffix = "_drw"
        except Exception:
            pass
    if output is None or str(output).strip() in ("", "None"):
        return default_output_name(input, items) + suffix + ".fits"
    output = str(output)
    low = output.lower()
    if ".fits" in low:
        return output
    if suffix[:4] in low:  # already has _dr? : drizzlepac then keeps the name as is
        return output
    return output + suffix + ".fits"


# --------------------------------------------------------------------------- expansion


def _check_exists(path: str, origin: str | None = None) -> str:
    if not os.path.isfile(path):
        where = f" (listed in {origin})" if origin else ""
        raise InputFileError(f"{path}: input file not found{where}")
    return path


def _expand_name(name: str, origin: str | None = None) -> list[str]:
    """One name, possibly a wildcard, to the list of existing files."""
    name = name.strip()
    if not name:
        return []
    if _WILDCARD.search(name):
        found = sorted(p for p in glob.glob(name) if os.path.isfile(p))
        if not found:
            where = f" (listed in {origin})" if origin else ""
            raise InputFileError(f"{name}: wildcard matches no file{where}")
        return _drop_wfpc2_companions(found)
    return [_check_exists(name, origin)]


def _drop_wfpc2_companions(found: list[str]) -> list[str]:
    """A wildcard's matches without the files that belong to another match: WFPC2
    data-quality files (``x_c1f.fits`` next to ``x_c0f.fits``, ``x.c1h`` next to
    ``x.c0h``, ``x_c1m.fits``/``x_c1h.fits`` next to ``x_c0m.fits``/``x_c0h.fits``)
    and GEIS data files (``x.c0d`` next to ``x.c0h``)."""
    from .wfpc2 import dq_companion, is_geis_name

    present = set(found)
    drop = set()
    for f in found:
        dq = dq_companion(f)
        if dq in present:
            drop.add(dq)
        if is_geis_name(f):
            drop.add(f[:-1] + ("d" if f[-1] == "h" else "D"))
    return [f for f in found if f not in drop]


def _read_atfile(spec: str) -> list[InputItem]:
    path = spec[1:].strip()
    if not os.path.isfile(path):
        raise InputFileError(f"{path}: @-file not found")
    base = os.path.dirname(path)
    rows = []
    with open(path) as fh:
        for line in fh:
            text = line.split("#", 1)[0].strip()
            if text:
                rows.append(text.split())
    if not rows:
        raise InputFileError(f"{path}: @-file lists no input files")
    with_ivm = len(rows[0]) >= 2

    def resolve(name):
        return name if os.path.isabs(name) else os.path.join(base, name)

    items: list[InputItem] = []
    for cols in rows:
        if with_ivm:
            if len(cols) < 2:
                raise InputFileError(
                    f"{path}: line {' '.join(cols)!r} has no IVM column but the first "
                    "line has one"
                )
            names = _expand_name(resolve(cols[0]), origin=path)
            if len(names) != 1:
                raise InputFileError(
                    f"{path}: {cols[0]!r} matches {len(names)} files; with an IVM "
                    "column each line must name exactly one input"
                )
            ivm = _check_exists(resolve(cols[1]), origin=path)
            items.append(InputItem(names[0], ivm))
        else:
            items.extend(InputItem(n) for n in _expand_name(resolve(cols[0]), origin=path))
    return items


def read_asn_table(path: PathLike) -> AsnTable:
    """Read an association table (``MEMNAME``, ``MEMTYPE``[, ``MEMPRSNT``] columns).

    Members are the rows whose ``MEMTYPE`` starts with ``EXP`` (and whose
    ``MEMPRSNT`` is true when that column exists); the product is the first row with
    ``MEMTYPE`` starting with ``PROD``. Names are returned as stored (stripped).

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        The file is missing, unreadable or has no such table.
    """
    filename = os.fspath(path)
    if not os.path.isfile(filename):
        raise InputFileError(f"{filename}: association table not found")
    try:
        with fits.open(filename, memmap=False) as hdul:
            table = None
            for hdu in hdul[1:]:
                if isinstance(hdu, fits.BinTableHDU) and hdu.columns is not None:
                    names = [n.upper() for n in hdu.columns.names]
                    if "MEMNAME" in names and "MEMTYPE" in names:
                        table = hdu
                        break
            if table is None:
                raise InputFileError(
                    f"{filename}: no binary table with MEMNAME and MEMTYPE columns"
                )
            data = table.data
            memname = [str(v).strip() for v in data["MEMNAME"]]
            memtype = [str(v).strip().upper() for v in data["MEMTYPE"]]
            cols = [n.upper() for n in table.columns.names]
            present = (
                [bool(v) for v in np.asarray(data["MEMPRSNT"])]
                if "MEMPRSNT" in cols else [True] * len(memname)
            )
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"{filename}: cannot read association table ({exc})") from exc

    members = tuple(n for n, t, p in zip(memname, memtype, present) if t.startswith("EXP") and p)
    products = [n for n, t in zip(memname, memtype) if t.startswith("PROD")]
    return AsnTable(filename, members, products[0] if products else None)


def _resolve_member(member: str, base: str, asn: str) -> str:
    name = member.lower()
    if name.endswith((".fits", ".fits.gz")):
        candidates = [os.path.join(base, name)]
    elif rootname(name) != name:  # already has a suffix such as _flt
        candidates = [os.path.join(base, name + ".fits")]
    else:
        candidates = [os.path.join(base, name + suf) for suf in ASN_MEMBER_SUFFIXES]
    found = [c for c in candidates if os.path.isfile(c)]
    if not found and rootname(name) == name:  # WFPC2 members: c0m, waivered, GEIS
        wfpc2 = [os.path.join(base, name + suf) for suf in WFPC2_MEMBER_SUFFIXES]
        found = [c for c in wfpc2 if os.path.isfile(c)][:1]
        candidates += wfpc2
    if not found:
        raise InputFileError(
            f"{asn}: member {member} has no calibrated file "
            f"(looked for {', '.join(os.path.basename(c) for c in candidates)})"
        )
    if len(found) > 1:
        raise InputFileError(
            f"{asn}: member {member} has both {' and '.join(os.path.basename(f) for f in found)}; "
            "give the files explicitly (e.g. a wildcard '*_flc.fits') to choose one"
        )
    return found[0]


def expand_inputs(input) -> list[InputItem]:
    """Expand the ``input`` argument into a list of existing input files.

    Parameters
    ----------
    input : str, path-like or sequence of them
        A file name, a comma-separated list, a wildcard, ``"@list.txt"``, an
        ``*_asn.fits`` association table, or a Python list/tuple of names (which may
        contain wildcards). Relative names in an @-file or ASN table are relative to
        that file's directory.

    Returns
    -------
    list of InputItem
        Sorted for a string input; in the given order for a list.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        A named file is missing, a wildcard matches nothing, or an @-file/ASN table
        is missing or malformed. The message names the file.
    drizzlekit.exceptions.InputError
        ``input`` is empty or of an unsupported type.

    Examples
    --------
    >>> expand_inputs("j8bt*_flt.fits")                        # doctest: +SKIP
    [InputItem(filename='j8bt05njq_flt.fits', ivm=None), ...]
    """
    if input is None:
        raise InputError("input: no input files given (input=None)")
    if isinstance(input, os.PathLike):
        input = os.fspath(input)

    if isinstance(input, str):
        text = input.strip()
        if not text:
            raise InputError("input: empty string")
        if text.startswith("@"):
            items = _read_atfile(text)
            return items
        if _is_asn(text) and "," not in text and not _WILDCARD.search(text):
            asn = read_asn_table(text)
            if not asn.members:
                raise InputFileError(f"{text}: association table lists no EXP members")
            base = os.path.dirname(text)
            return [InputItem(_resolve_member(m, base, text)) for m in asn.members]
        names: list[str] = []
        for part in text.split(","):
            names.extend(_expand_name(part))
        if not names:
            raise InputError(f"input: {input!r} names no file")
        return [InputItem(n) for n in sorted(names)]

    if isinstance(input, (list, tuple)):
        if len(input) == 0:
            raise InputError("input: empty list")
        items = []
        for entry in input:
            if isinstance(entry, InputItem):
                _check_exists(entry.filename)
                if entry.ivm is not None:
                    _check_exists(entry.ivm)
                items.append(entry)
                continue
            if isinstance(entry, os.PathLike):
                entry = os.fspath(entry)
            if not isinstance(entry, str):
                raise InputError(
                    f"input: list entries must be file names, got {type(entry).__name__}"
                )
            items.extend(InputItem(n) for n in _expand_name(entry))
        return items

    raise InputError(
        f"input: expected a file name, list, wildcard, @-file or ASN table; "
        f"got {type(input).__name__}"
    )
