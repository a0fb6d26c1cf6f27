"""Open drizzlekit products in jdaviz's Imviz (one line, jdaviz imported only when called).

::

    from drizzlekit.widgets import show_in_imviz
    app = show_in_imviz("final_drz.fits")            # or an AstrodrizzleResult, (data, wcs)

jdaviz pins ``bqplot<0.13``; install drizzlekit beside it with the ``imviz``
extra (``pip install jdaviz "drizzlekit[imviz]"``), which allows that bqplot.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from drizzlekit.exceptions import InputError

__all__ = ["show_in_imviz", "imviz_items"]


def imviz_items(product, data_label: str | None = None) -> list[tuple[str, Any]]:
    """What :func:`show_in_imviz` loads: ``(label, object)`` pairs.

    Parameters
    ----------
    product : str, path, HDUList, AstrodrizzleResult, NDData, (data, wcs) or ndarray
        A ``_drz.fits`` file (Imviz reads its SCI/WHT/CTX extensions itself),
        an in-memory HDU list, a pipeline result (its SCI and WHT, with the
        output WCS and units), an ``NDData`` or an image with an optional WCS.
    data_label : str, optional
        Label in Imviz (default: the file name or ``'drizzlekit'``).
    """
    from astropy.io import fits
    from astropy.nddata import NDData

    label = data_label
    if isinstance(product, (str, os.PathLike)):
        path = os.fspath(product)
        if not os.path.exists(path):
            raise InputError(f"show_in_imviz: {path}: no such file")
        return [(label or os.path.basename(path), path)]
    if isinstance(product, fits.HDUList):
        return [(label or "drizzlekit", product)]
    if isinstance(product, NDData):
        return [(label or "drizzlekit", product)]
    if hasattr(product, "sci") and hasattr(product, "output_wcs"):  # AstrodrizzleResult
        if product.sci is None:
            raise InputError("show_in_imviz: the run has no final product yet (run the final "
                             "drizzle first)")
        base = label or "drizzlekit"
        unit = _unit(getattr(product, "bunit", None))
        items = [(f"{base}[SCI]", NDData(np.asarray(product.sci), wcs=product.output_wcs,
                                        unit=unit))]
        if getattr(product, "wht", None) is not None:
            items.append((f"{base}[WHT]", NDData(np.asarray(product.wht),
                                                 wcs=product.output_wcs)))
        return items
    if isinstance(product, tuple) and len(product) == 2:
        data, wcs = product
        return [(label or "drizzlekit", NDData(np.asarray(data), wcs=wcs))]
    arr = np.asarray(product)
    if arr.ndim != 2:
        raise InputError(f"show_in_imviz: expected a file, HDUList, pipeline result, NDData, "
                         f"(data, wcs) or a 2-D image; got {type(product).__name__}")
    return [(label or "drizzlekit", NDData(arr))]


def _unit(text):
    """An astropy unit from a BUNIT-like string (``'ELECTRONS/S'`` too), or None."""
    if not text:
        return None
    import astropy.units as u

    for cand in (str(text), str(text).lower().replace("electrons", "electron")):
        try:
            return u.Unit(cand)
        except ValueError:
            pass
    return None


def show_in_imviz(product, *, app=None, data_label: str | None = None, show: bool = True):
    """Load a drizzlekit product into Imviz and (optionally) show it.

    Parameters
    ----------
    product
        See :func:`imviz_items`.
    app : jdaviz app, optional
        An existing ``jdaviz.App`` / ``Imviz`` to add to (default: a new one:
        ``jdaviz.App`` where jdaviz has it, else ``jdaviz.Imviz``).
    data_label : str, optional
    show : bool
        Call ``app.show()`` (displays it in the notebook).

    Returns
    -------
    The jdaviz app.

    Raises
    ------
    ImportError
        jdaviz is not installed (with the command that installs it).
    """
    items = imviz_items(product, data_label)  # check the input before importing jdaviz
    try:
        import jdaviz
    except ImportError as exc:
        raise ImportError('show_in_imviz needs jdaviz: pip install jdaviz "drizzlekit[imviz]"'
                          ) from exc
    if app is None:
        app = jdaviz.App() if hasattr(jdaviz, "App") else jdaviz.Imviz()
    for lab, obj in items:
        if hasattr(app, "load"):
            app.load(obj, data_label=lab)
        else:  # jdaviz < 4.3
            app.load_data(obj, data_label=lab)
    if show:
        app.show()
    return app
