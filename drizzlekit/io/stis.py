"""STIS multi-imset files: one exposure per imset, as drizzlepac splits them.

A STIS CR-split or repeat-obs product (``_flt.fits``, ``_crj.fits`` ...) holds one
``SCI``/``ERR``/``DQ`` imset per exposure, each with its own ``EXPTIME``, ``EXPSTART``
and ``EXPNAME`` in the ``SCI`` header. drizzlepac (``stsci.tools.check_files``,
``checkStisFiles``/``splitStis``) splits every STIS *imaging* file with more than one
``SCI`` extension into files named after each imset's ``EXPNAME``
(``<expname>_flt.fits``, each with ``SCI,1``); STIS spectroscopic files
(``OBSTYPE = 'SPECTROSCOPIC'``) are dropped from the input list.

drizzlekit follows the same rule in memory (no file is written):

* each selected imset becomes an :class:`~drizzlekit.io.fits_input.Exposure` with one
  chip, ``EXTVER`` 1, its own exposure time (the imset's ``EXPTIME``), and therefore
  its own sky, single-drizzled image, median weight and cosmic-ray mask;
* the exposure's *name* (used in messages and as the key of per-exposure results) is
  ``<file>[sci,<n>]``; its *rootname* (used for product names such as
  ``<root>_sci1_crmask.fits``) is the imset's ``EXPNAME`` lower-cased, as drizzlepac
  names the split files; ``<file rootname>_<n>`` when ``EXPNAME`` is missing or
  repeated;
* a spectroscopic STIS file is an :class:`~drizzlekit.exceptions.InputFileError`
  (drizzlepac drops it with a printed warning).
"""

from __future__ import annotations

import copy
import logging
import os

from ..exceptions import InputError, InputFileError
from .fits_input import Exposure

__all__ = ["is_multi_imset", "split_exposure"]

log = logging.getLogger(__name__)


def _is_stis(exp: Exposure) -> bool:
    return exp.instrument == "STIS"


def is_multi_imset(exp: Exposure) -> bool:
    """True when ``exp`` is a STIS file whose selected imsets are separate exposures."""
    return _is_stis(exp) and len(exp.chips) > 1


def _check_imaging(exp: Exposure, name: str) -> None:
    obstype = str(exp.primary_header.get("OBSTYPE", "") or "").strip().upper()
    if obstype == "SPECTROSCOPIC":
        raise InputFileError(
            f"{name}: STIS spectroscopic data (OBSTYPE='SPECTROSCOPIC') cannot be drizzled "
            "as an image; drizzlepac drops such files from its input list")


def split_exposure(exp: Exposure, name: str, ivm: str | None = None
                   ) -> list[tuple[Exposure, str]]:
    """One ``(exposure, name)`` per imset of a STIS multi-imset file.

    Parameters
    ----------
    exp : Exposure
        As read by :func:`~drizzlekit.io.fits_input.read_exposure`. Not modified.
    name : str
        The input's name (file path or ``<in-memory k>``).
    ivm : str, optional
        IVM file given for this input: refused for a file that is split (one IVM file
        cannot be matched to several exposures; drizzlepac ignores it).

    Returns
    -------
    list of (Exposure, str)
        ``[(exp, name)]`` unchanged for anything that is not a STIS multi-imset file.

    Raises
    ------
    drizzlekit.exceptions.InputFileError
        STIS spectroscopic data.
    drizzlekit.exceptions.InputError
        An IVM file given for a file that is split.
    """
    if not _is_stis(exp):
        return [(exp, name)]
    _check_imaging(exp, name)
    if len(exp.chips) <= 1:
        return [(exp, name)]
    if ivm:
        raise InputError(
            f"{name}: holds {len(exp.chips)} STIS exposures (imsets); an IVM file "
            f"({ivm}) cannot be used for a file that is split into exposures")
    file_root = exp.rootname or "stis"
    expnames = [str(c.header.get("EXPNAME", "") or "").strip().lower() for c in exp.chips]
    usable = all(expnames) and len(set(expnames)) == len(expnames)
    pieces = []
    for k, chip in enumerate(exp.chips):
        n = chip.extver
        piece_name = f"{name}[sci,{n}]"
        root = expnames[k] if usable else f"{file_root}_{n}"
        new_chip = copy.copy(chip)
        new_chip.filename = piece_name
        new_chip.extver = 1
        new_chip.header = chip.header.copy()
        piece = Exposure(
            filename=exp.filename,
            chips=[new_chip],
            primary_header=exp.primary_header.copy(),
            exptime=float(chip.exptime),
            instrument=exp.instrument,
            detector=exp.detector,
            n_sci=1,
        )
        piece.root = root
        pieces.append((piece, piece_name))
    log.info("%s: STIS file with %d imsets split into exposures %s (EXPTIME %s s)",
             os.path.basename(name) if not name.startswith("<") else name, len(pieces),
             ", ".join(p.root for p, _ in pieces),
             ", ".join(f"{p.exptime:g}" for p, _ in pieces))
    return pieces
