"""Checks of what a run will write, before any computation; and FITS-safe text.

* :func:`check_output_files`: a product name is not an existing directory, fits
  the file system's name length (with the temporary name of the atomic write),
  and its folder exists and is writable.
* :func:`check_output_size`: the output frames fit in memory (half of the
  ``memory_limit`` parameter, GiB, or the memory available now) and the products
  fit on the disk -- ``final_scale=1e-9`` or inputs a degree apart are refused
  before anything is allocated, with an error naming the parameters.
* :func:`output_errors`: an ``OSError`` while the products are written (a full
  disk) becomes an :class:`~drizzlekit.exceptions.OutputFileError` naming the file.
* :func:`fits_text`: FITS header values hold printable ASCII only; file names
  with other characters are escaped instead of failing the write.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
from typing import Sequence

from ..exceptions import DrizzlekitError, OutputFileError, ParameterError

__all__ = [
    "check_output_files",
    "check_disk_space",
    "check_frame_memory",
    "check_output_size",
    "available_memory",
    "output_errors",
    "fits_text",
]

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- output
def _name_max(folder: str) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def check_output_files(paths: Sequence[str], parameter: str = "output") -> None:
    """Refuse product names that cannot be written (before any work).

    Parameters
    ----------
    paths : sequence of str
        Every file the run will write.
    parameter : str
        The parameter that chose the names, for the message.

    Raises
    ------
    drizzlekit.exceptions.OutputFileError
        A name is an existing directory, is too long for the file system
        (the temporary ``.<name>.XXXXXXXX.tmp`` of the atomic write included),
        or its folder is missing or not writable.
    """
    for path in paths:
        folder = os.path.dirname(path) or "."
        base = os.path.basename(path)
        if not base:
            raise OutputFileError(f"{parameter}: {path!r} names a folder, not a file")
        if os.path.isdir(path):
            raise OutputFileError(f"{parameter}: {path} is an existing directory; choose "
                                 "another output name")
        if not os.path.isdir(folder):
            raise OutputFileError(f"{parameter}: output directory {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputFileError(f"{parameter}: output directory {folder} is not writable")
        limit = _name_max(folder)
        longest = len(os.fsencode(base)) + 14  # atomic write: '.' + name + '.XXXXXXXX.tmp'
        if longest > limit:
            raise OutputFileError(
                f"{parameter}: the file name {base!r} is {len(os.fsencode(base))} bytes; the "
                f"file system allows {limit} (and {longest - len(os.fsencode(base))} are "
                "needed for the temporary file of the atomic write); choose a shorter "
                "output name")


def check_disk_space(folder: str, nbytes: int, parameter: str = "output",
                     what: str = "the products") -> None:
    """Refuse a run whose products (or ``what``) cannot fit on the disk, where that is known.

    Raises
    ------
    drizzlekit.exceptions.OutputFileError
        ``nbytes`` exceeds the free space of ``folder``'s file system.
    """
    try:
        free = shutil.disk_usage(folder or ".").free
    except OSError:
        return
    if nbytes > free:
        raise OutputFileError(
            f"{parameter}: {what} need about {_human(nbytes)} but {folder or '.'} has "
            f"only {_human(free)} free; free some space or choose another "
            f"{'output folder' if parameter == 'output' else parameter}")


def available_memory() -> int | None:
    """Memory available to new allocations, bytes (None if it cannot be known).

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (capped by a cgroup memory
    limit when one is set), else the physical memory size.
    """
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
            if text.isdigit():
                avail = min(avail, int(text))
        except OSError:
            continue
    return avail


def check_frame_memory(nbytes: int, what: str, memory_limit: float | None,
                       parameters: str) -> None:
    """Refuse output frames that cannot fit in memory, before they are allocated.

    Parameters
    ----------
    nbytes : int
        Lower bound of the memory the frames need, bytes.
    what : str
        Description of the frames (shapes), for the message.
    memory_limit : float or None
        The ``memory_limit`` parameter, GiB: the frames may take half of it
        (the other half is for the working buffers, :mod:`drizzlekit.memory`);
        None or 0 = the memory available now (:func:`available_memory`).
    parameters : str
        The parameters that set the frame size, for the message.

    Raises
    ------
    drizzlekit.exceptions.ParameterError
        Naming the frame-size parameters and ``memory_limit``.
    """
    from ..memory import frame_budget

    if memory_limit:
        limit = frame_budget(memory_limit)
        source = (f"half of memory_limit={memory_limit:g} GiB (the other half is for the "
                  "median and pixel-map buffers)")
    else:
        limit = available_memory()
        if limit is None:
            return
        source = (f"the {_human(limit)} of memory available (raise the limit with "
                  "memory_limit=<GiB>)")
    if nbytes > limit:
        raise ParameterError(
            f"{what} need at least {_human(nbytes)} of memory, more than {source}; check "
            f"{parameters}")


def _human(nbytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(nbytes) < 1024 or unit == "EiB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} EiB"  # pragma: no cover


# --------------------------------------------------------------------------- FITS text
def fits_text(text: str) -> str:
    """``text`` with every character FITS headers cannot hold escaped.

    FITS header values are printable ASCII; a file name such as
    ``'Übersicht_drz.fits'`` becomes ``'\\xdcbersicht_drz.fits'``.

    Examples
    --------
    >>> fits_text("caf\\u00e9_drz.fits")
    'caf\\\\xe9_drz.fits'
    """
    text = str(text)
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isascii() and ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)



def _frame_parameters(p: dict, prefix: str) -> str:
    if p.get(f"{prefix}_wcs"):
        return (f"{prefix}_scale, {prefix}_outnx, {prefix}_outny and {prefix}_refimage "
                "(the custom output frame)")
    return ("the inputs' WCSs: the frame covers every input, so inputs far apart on the "
            "sky make a huge frame (or set final_wcs=True with final_outnx, final_outny, "
            "final_scale)")


def check_output_size(res) -> None:
    """Refuse output frames that cannot fit in memory, or products that cannot fit
    on the disk, before anything is allocated.

    The memory needed is a lower bound: the final SCI and WHT (float32) and
    CTX (int32 per 32 chips) and, with CR rejection, the median image. It is
    compared with half of ``memory_limit`` (GiB; :mod:`drizzlekit.memory`) or,
    when that is unset, with the memory available now. The disk check compares
    the products' uncompressed size with the free space of the output folder.

    Raises
    ------
    drizzlekit.exceptions.ParameterError
        The frames need more memory than allowed (names the frame parameters
        and ``memory_limit``).
    drizzlekit.exceptions.OutputFileError
        Not enough free disk space for the products.
    """
    p = res.params
    nchips = sum(len(e.chips) for e in res.exposures)
    need, parts = 0, []
    prod_bytes = 0
    if p.get("driz_combine") and res.output_wcs is not None:
        ny, nx = res.output_shape
        planes = (nchips + 31) // 32 if p.get("context") else 0
        final = int(ny) * int(nx) * (8 + 4 * planes)
        need += final
        prod_bytes += final
        parts.append(f"the output frame ({ny} x {nx} pixels)")
        prefix = "final"
    if p.get("median") and res.single_wcs is not None and len(res.exposures) > 1:
        sy, sx = res.single_shape
        need += int(sy) * int(sx) * 4
        if not parts:
            parts.append(f"the median frame ({sy} x {sx} pixels)")
            prefix = "driz_sep"
    if not parts:
        return
    check_frame_memory(need, " and ".join(parts), p.get("memory_limit"),
                       _frame_parameters(p, prefix))
    if p.get("driz_cr") and len(res.exposures) > 1:
        chip_px = sum(int(c.shape[0]) * int(c.shape[1]) for _, _, c in res.chips())
        if not p.get("in_memory"):
            prod_bytes += chip_px  # uint8 CR masks
        if p.get("driz_cr_corr"):
            prod_bytes += chip_px * 8  # cleaned SCI + DQ
    if res.output:
        check_disk_space(os.path.dirname(res.output) or ".", prod_bytes)


def output_errors(func):
    """Decorator: an ``OSError`` while writing products (disk full, permission
    lost mid-run) becomes an :class:`~drizzlekit.exceptions.OutputFileError`
    naming the file and the reason, instead of a traceback."""
    @functools.wraps(func)
    def wrapper(res, *args, **kwargs):
        try:
            return func(res, *args, **kwargs)
        except DrizzlekitError:
            raise
        except OSError as exc:
            target = str(exc.filename or getattr(res, "output", None) or "output")
            tmp = re.match(r"^\.(.+)\.[^.]+\.tmp$", os.path.basename(target))
            if tmp:  # the temporary file of an atomic write: name the real one
                target = os.path.join(os.path.dirname(target), tmp.group(1))
            reason = exc.strerror or str(exc)
            raise OutputFileError(f"{target}: cannot be written ({reason}); the products "
                                  "of this run are incomplete") from exc

    return wrapper
