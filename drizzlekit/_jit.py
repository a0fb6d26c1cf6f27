"""numba options shared by drizzlekit's per-pixel loops.

:data:`LOOP_OPTIONS` compiles a loop cached, GIL-free and **without numba's
reference counting** (NRT). Inside loops that call other compiled functions
taking arrays (the drizzle ``deposit``, the blot interpolants), numba wraps
every call in atomic incref/decref pairs that its pruning pass does not
always remove; measured on a 2048x4096 ``turbo`` drizzle, that made the loop
3.5x slower than the same loop written out by hand (0.74 s vs 0.21 s). A loop
compiled this way must not allocate arrays: callers hand it scratch space.

``_nrt`` is an option of numba's CPU target rather than a documented
decorator argument, so it is used only when the installed numba has it
(:data:`NRT_FREE` says which); the loops stay correct without it, only
slower.
"""

from __future__ import annotations

from numba.core import cpu


def _has_nrt_option() -> bool:
    options = getattr(cpu, "CPUTargetOptions", None)
    mapping = getattr(options, "_nrt", None) if options is not None else None
    return mapping is not None and getattr(mapping, "flag_name", None) == "nrt"


#: True when the loops are compiled without reference counting.
NRT_FREE: bool = _has_nrt_option()

#: ``njit`` options of the per-pixel loops.
LOOP_OPTIONS: dict = dict(cache=True, nogil=True, error_model="numpy",
                          **({"_nrt": False} if NRT_FREE else {}))
