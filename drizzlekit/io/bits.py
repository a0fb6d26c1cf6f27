"""DQ bit-flag parameters: parse them and turn a DQ array into a good-pixel mask.

The semantics follow drizzlepac (``stsci.tools.bitmask`` / ``astropy.nddata.bitmask``),
spec §0 "DQ bit parameters": a ``bits`` value lists the DQ flags that are *ignored*
(treated as good); a pixel is good iff ``(DQ & ~bits) == 0``.
"""

from __future__ import annotations

import logging
import re
from typing import Union

import numpy as np

from ..exceptions import DtypeError, ParameterError

__all__ = ["interpret_bits", "dq_to_mask"]

log = logging.getLogger(__name__)

BitsLike = Union[int, str, None]

_NONE_STRINGS = {"", "none", "indef"}
_SPLIT = re.compile(r"[,+]")


def _is_power_of_two(value: int) -> bool:
    return value > 0 and (value & (value - 1)) == 0


def interpret_bits(bits: BitsLike, name: str = "bits") -> int | None:
    """Convert a DQ bit-flag parameter to an integer (or ``None``).

    Parameters
    ----------
    bits : int, str or None
        * ``None``, ``""``, ``"None"``, ``"INDEF"``: do not use the DQ array at all
          (returns ``None``; every pixel is good).
        * an integer, e.g. ``96``: the flags to ignore. A negative integer is used as a
          two's-complement bit pattern, e.g. ``-(4 + 8 + 1) == ~12``: every flag
          *except* 4 and 8 is ignored.
        * a string with one integer (``"96"``) or a list of powers of two separated by
          ``,`` or ``+`` (``"64,32"``, ``"64+32"``), optionally preceded by ``~`` and
          optionally in parentheses (``"~4+8"``, ``"~(4+8)"``) to flip the meaning: the
          listed flags are the *bad* ones and everything else is ignored.
    name : str
        Name of the parameter, used in error messages (e.g. ``"final_bits"``).

    Returns
    -------
    int or None
        The integer ``bits`` value (negative when flipped), or ``None``.

    Raises
    ------
    drizzlekit.exceptions.ParameterError
        If the value cannot be parsed, or a list element is not a power of two.

    Examples
    --------
    >>> interpret_bits("4,8")
    12
    >>> interpret_bits("~4+8")
    -13
    >>> interpret_bits(None) is None
    True
    """
    if bits is None:
        return None
    if isinstance(bits, (bool, np.bool_)):
        raise ParameterError(f"{name}: a boolean is not a valid DQ bit-flag value ({bits!r})")
    if isinstance(bits, (int, np.integer)):
        return int(bits)
    if not isinstance(bits, str):
        raise ParameterError(
            f"{name}: expected an int, a string such as '4,8' or '~4+8', or None; "
            f"got {type(bits).__name__} {bits!r}"
        )

    text = bits.strip()
    if text.lower() in _NONE_STRINGS:
        return None

    flip = False
    if text.startswith("~"):
        flip = True
        text = text[1:].strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    elif "(" in text or ")" in text:
        raise ParameterError(f"{name}: unbalanced or misplaced parentheses in {bits!r}")
    if not text:
        raise ParameterError(f"{name}: empty bit-flag list in {bits!r}")

    parts = [p.strip() for p in _SPLIT.split(text)]
    values: list[int] = []
    for part in parts:
        try:
            values.append(int(part))
        except ValueError:
            raise ParameterError(
                f"{name}: {part!r} in {bits!r} is not an integer bit flag"
            ) from None

    if len(values) == 1:
        value = values[0]
    else:
        unique = set(values)
        for v in unique:
            if not _is_power_of_two(v):
                raise ParameterError(
                    f"{name}: {v} in {bits!r} is not a power of two; list form needs "
                    "single bit flags such as '4,8'"
                )
        if len(unique) != len(values):
            log.debug("%s: duplicate bit flags in %r are ignored", name, bits)
        value = sum(unique)
    return ~value if flip else value


def dq_to_mask(dq: np.ndarray, bits: BitsLike, name: str = "bits") -> np.ndarray:
    """Good-pixel mask of a DQ array (``True`` = good).

    Parameters
    ----------
    dq : ndarray of integers
        Data-quality flags (any shape).
    bits : int, str or None
        DQ flags to ignore, any form accepted by :func:`interpret_bits`.
        ``None`` means "do not use DQ": every pixel is good.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    ndarray of bool
        Same shape as ``dq``; ``True`` where ``(dq & ~bits) == 0``.

    Notes
    -----
    As in drizzlepac (``buildmask.buildMask``: ``dq.astype(np.uint16)``), DQ arrays of
    at most 16 bits (``int16``, ``uint16``, ``uint8`` ...) are treated as ``uint16`` bit
    patterns, so a negative ``int16`` value (bit 15 set) keeps all its bits. Wider
    integer arrays keep all their bits (drizzlepac would truncate them to 16 bits;
    the result is the same for every HST DQ array).

    Examples
    --------
    >>> import numpy as np
    >>> dq_to_mask(np.array([0, 4, 8, 12]), "4").tolist()
    [True, True, False, False]
    """
    ibits = interpret_bits(bits, name=name)
    arr = np.asarray(dq)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iu":
        raise DtypeError(f"dq: DQ array must have an integer dtype, got {arr.dtype}")
    if ibits is None:
        return np.ones(arr.shape, dtype=bool)

    if arr.dtype.itemsize <= 2:
        work = arr.astype(np.uint16)
        bad_bits = np.uint16((~ibits) & 0xFFFF)
    else:
        work = arr.astype(np.uint64)  # two's-complement pattern preserved by the cast
        bad_bits = np.uint64((~ibits) & 0xFFFFFFFFFFFFFFFF)
    return (work & bad_bits) == 0
