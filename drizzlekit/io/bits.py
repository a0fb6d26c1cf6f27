"""DQ bit-flag parameters: parse them and turn a DQ array into a good-pixel mask.

The semantics follow drizzlepac (``stsci.tools.bitmask`` / ``astropy.nddata.bitmask``),
spec §0 "DQ bit parameters": a ``bits`` value lists the DQ flags that are *ignored*
(treated as good); a pixel is good iff ``(DQ & ~bits) == 0``.
"""

from __future__ import annotations

import re
import warnings
from typing import Union

import numpy as np
from astropy.nddata import bitmask

from ..exceptions import DtypeError, ParameterError

__all__ = ["interpret_bits", "dq_to_mask", "combine_masks", "HSTDQFlags"]

BitsLike = Union[int, str, None]

_NONE_STRINGS = {"", "none", "indef"}


class HSTDQFlags(bitmask.BitFlagNameMap):
    """Names of the ACS and WFC3 DQ flags (instrument handbooks); usable in any
    bit-flag parameter, e.g. ``final_bits="HOT,WARM"``."""

    REED_SOLOMON = 1
    DATA_FILL = 2
    BAD_DETECTOR = 4
    DATA_MASKED = 8
    HOT = 16
    CTE_TAIL = 32
    WARM = 64
    BAD_BIAS = 128
    SATURATED = 256
    BAD_FLAT = 512
    CHARGE_TRAP = 1024
    ATODSAT = 2048
    CR = 4096
    CR_SPLIT = 8192


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
        * HST DQ flag names instead of numbers (``"HOT,WARM"``, ``"~SATURATED"``;
          :class:`HSTDQFlags`).
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
    if isinstance(bits, (bool, np.bool_)):
        raise ParameterError(f"{name}: a boolean is not a valid DQ bit-flag value ({bits!r})")
    if bits is not None and not isinstance(bits, (int, np.integer, str)):
        raise ParameterError(
            f"{name}: expected an int, a string such as '4,8' or '~4+8', or None; "
            f"got {type(bits).__name__} {bits!r}"
        )
    if isinstance(bits, str):
        if bits.strip().lower() in _NONE_STRINGS:
            return None
        bits = bits.strip().upper() if re.search(r"[A-Za-z]", bits) else bits.strip()
    try:
        with warnings.catch_warnings():  # duplicate flags are allowed and ignored
            warnings.simplefilter("ignore")
            value = bitmask.interpret_bit_flags(bits, flag_name_map=HSTDQFlags)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ParameterError(f"{name}: cannot interpret {bits!r} as DQ bit flags ({exc})") \
            from None
    return None if value is None else int(value)


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


def combine_masks(*masks: np.ndarray | None) -> np.ndarray | None:
    """Good-pixel masks ANDed together; ``None`` entries (no mask) are skipped.

    Returns
    -------
    numpy.ndarray of bool or None
        A new array (the inputs are not modified), or None when every entry is None.
    """
    out = None
    for m in masks:
        if m is None:
            continue
        out = m.copy() if out is None else (out & m)
    return out
