"""drizzle's private C extension, re-expressed through drizzlekit's public API.

drizzle's tests call ``cdrizzle.tdriz`` and ``cdrizzle.tblot`` directly. Here
``tdriz`` is one :meth:`drizzlekit.Drizzle.add_image` call on the caller's
output arrays and ``tblot`` is :func:`drizzlekit.blot_image`, so those tests
exercise drizzlekit's public API (its warnings included). The pure geometry
helpers (``clip_polygon``, ``invert_pixmap``) and the C unit-test entry point
have no public drizzlekit counterpart: calling them skips the test (see
``tests/peer/README.md`` for where drizzlekit tests the same facts).
"""

import numpy as np
import pytest

from drizzlekit import Drizzle, blot_image


def _fill(value):
    if value is None:
        return None
    text = str(value).strip()
    return None if text.upper() in ("", "INDEF") else float(text)


def tdriz(input, weights, pixmap, output, counts, context, input2=None, output2=None,
          dq=None, outdq=None, uniqid=1, xmin=0, xmax=0, ymin=0, ymax=0, iscale=1.0,
          pscale_ratio=1.0, scale=None, pixfrac=1.0, kernel="square", in_units="cps",
          expscale=1.0, wtscale=1.0, fillstr="INDEF", fillstr2="INDEF"):
    """One drizzle pass into the caller's arrays; returns ("", nmiss, nskip)."""
    had_weight = counts is not None and np.any(counts != 0)
    driz = Drizzle(kernel=kernel, fillval=_fill(fillstr), fillval2=_fill(fillstr2),
                   out_img=output, out_wht=counts,
                   out_ctx=context if context is not None else None,
                   out_img2=output2, out_dq=outdq,
                   exptime=1.0 if had_weight else 0.0,
                   begin_ctx_id=int(uniqid) - 1, disable_ctx=context is None,
                   on_no_overlap="ignore")
    kwargs = {}
    if scale is not None:
        kwargs["scale"] = scale
    nmiss, nskip = driz.add_image(input, exptime=expscale, pixmap=pixmap, data2=input2,
                                  dq=dq, iscale=iscale, pixel_scale_ratio=pscale_ratio,
                                  weight_map=weights, wht_scale=wtscale, pixfrac=pixfrac,
                                  in_units=in_units, xmin=xmin, xmax=xmax or None,
                                  ymin=ymin, ymax=ymax or None, **kwargs)
    return "", nmiss, nskip


def tblot(source, pixmap, output, xmin=0, xmax=0, ymin=0, ymax=0, iscale=1.0, kscale=1.0,
          scale=1.0, interp="poly5", exptime=1.0, fillval=0.0, misval=0.0):
    """Blot ``source`` into ``output`` in place."""
    blot_image(source, pixmap, out_img=output, fillval=fillval, iscale=iscale, interp=interp)
    return 0


def _private(name):
    def call(*args, **kwargs):
        pytest.skip(f"cdrizzle.{name} is drizzle's private C helper with no drizzlekit "
                    "counterpart (see tests/peer/README.md)")
    call.__name__ = name
    return call


clip_polygon = _private("clip_polygon")
invert_pixmap = _private("invert_pixmap")
test_cdrizzle = _private("test_cdrizzle")
