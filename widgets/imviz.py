"""Open drizzlekit products in jdaviz's Imviz (one line, jdaviz imported only when called).

::

    from drizzlekit.widgets import show_in_imviz
    imviz = show_in_imviz("final_drz.fits")          # or an AstrodrizzleResult, (data, wcs)

jdaviz pins ``bqplot<0.13``; install drizzlekit beside it with the ``imviz``
extra, which allows that bqplot: ``pip install jdaviz "drizzlekit[imviz]"`` (or
``uv pip install ...``, much faster; see ``tests/compat/make_jdaviz_venv.sh``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from drizzlekit.exceptions import InputError

__all__ = ["show_in_imviz", "imviz_items"]

log = logging.getLogger(__name__)


def imviz_items(product, data_label: str | None = None) -> list[tuple[str, Any]]:
    """What :func:`show_in_imviz` loads: ``(label, object)`` pairs.

    Parameters
    ----------
    product : str, path, HDUList, AstrodrizzleResult, NDData, (data, wcs) or ndarray
        A ``_drz.fits`` file or an in-memory HDU list (Imviz reads them; its
        SCI and WHT extensions are loaded), a pipeline result (its SCI and WHT, with the
        output WCS and units), an ``NDData`` or an image with an optional WCS.
    data_label : str, optional
        Label in Imviz (default: the file name without ``.fits`` or ``'drizzlekit'``).
    """
    from astropy.io import fits
    from astropy.nddata import NDData

    label = data_label
    if isinstance(product, (str, os.PathLike)):
        path = os.fspath(product)
        if not os.path.exists(path):
            raise InputError(f"show_in_imviz: {path}: no such file")
        stem = os.path.basename(path)
        for ext in (".fits.gz", ".fits", ".fit", ".fts"):
            if stem.lower().endswith(ext) and len(stem) > len(ext):
                stem = stem[:-len(ext)]
                break
        return [(label or stem, path)]
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


def _image_extensions(obj) -> list[str]:
    """The SCI and WHT extensions of a drizzled product, a file or an HDU list
    (``[]``: anything else, let Imviz choose)."""
    from astropy.io import fits

    def names(hdul):
        return [h.name for h in hdul[1:] if h.is_image and h.header.get("NAXIS", 0) == 2]

    if isinstance(obj, fits.HDUList):
        found = names(obj)
    elif isinstance(obj, str):
        try:
            with fits.open(obj) as hdul:
                found = names(hdul)
        except OSError:  # not FITS (a PNG, ASDF, ...): Imviz's own loaders decide
            return []
    else:
        return []
    return [n for n in ("SCI", "WHT") if n in found] if "SCI" in found else []


def _takes(func, name: str) -> bool:
    """Whether ``func`` accepts the keyword ``name`` (by name or through ``**kwargs``)."""
    import inspect

    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _dataset_labels(app) -> list[str]:
    """The app's data labels (``[]`` where this jdaviz has no ``datasets``)."""
    try:
        return list(getattr(app, "datasets", None) or [])
    except Exception:  # noqa: BLE001 - an app without the jdaviz 5 API
        return []


def _hide_weights(app, new_labels: list[str]) -> None:
    """Keep the SCI image in sight: Imviz draws the last loaded layer (the WHT map) on top."""
    weights = [lab for lab in new_labels if "[WHT" in lab]
    if not weights or len(weights) == len(new_labels):
        return
    try:
        for viewer in app.viewers.values():
            menu = viewer.data_menu
            for lab in weights:
                if lab in menu.data_labels_visible:
                    menu.set_layer_visibility(lab, False)
    except Exception as exc:  # noqa: BLE001 - a jdaviz without this API: leave it as loaded
        log.debug("show_in_imviz: could not hide %s (%s)", weights, exc)


def show_in_imviz(product, *, app=None, data_label: str | None = None, show: bool = True,
                  **load_kwargs):
    """Load a drizzlekit product into Imviz and (optionally) show it.

    Parameters
    ----------
    product
        See :func:`imviz_items`. A ``_drz.fits`` file is loaded with its SCI and
        WHT extensions (labels ``<name>[SCI,1]``, ``<name>[WHT,1]``), each with
        the file's WCS; the WHT layer is loaded hidden (the data menu shows it).
    app : jdaviz app, optional
        An existing ``jdaviz.App`` / ``jdaviz.Imviz`` to add to (default: a new
        ``jdaviz.App``, whose image viewer is Imviz's; ``jdaviz.Imviz`` where
        jdaviz has no ``App``, before 4.3).
    data_label : str, optional
    show : bool
        Call ``app.show()`` (displays it in the notebook).
    **load_kwargs
        Passed on to ``app.load`` (e.g. ``extension=["SCI"]``).

    Returns
    -------
    The jdaviz app.

    Raises
    ------
    ImportError
        jdaviz is not installed (with the command that installs it).
    InputError
        The file does not exist, or the product is not an image (checked before
        jdaviz is imported).
    """
    items = imviz_items(product, data_label)  # check the input before importing jdaviz
    exts = {lab: _image_extensions(obj) for lab, obj in items}
    try:
        import jdaviz
    except ImportError as exc:
        raise ImportError('show_in_imviz needs jdaviz: pip install jdaviz "drizzlekit[imviz]"'
                          ) from exc
    if app is None:
        # jdaviz 5 deprecates the Imviz helper ("use the top-level App"); older: Imviz
        app = jdaviz.App() if hasattr(jdaviz, "App") else jdaviz.Imviz()
    before = _dataset_labels(app)
    for lab, obj in items:
        if hasattr(app, "load"):
            kw = dict(load_kwargs)
            if exts.get(lab) and "extension" not in kw:
                kw["extension"] = exts[lab]
            if "format" not in kw and _takes(app.load, "format"):
                kw["format"] = "Image"  # a 2-D array could also be a 2-D spectrum
            app.load(obj, data_label=lab, **kw)
        else:  # jdaviz < 4.3
            app.load_data(obj, data_label=lab, **load_kwargs)
    _hide_weights(app, [lab for lab in _dataset_labels(app) if lab not in before])
    if show:
        app.show()
    return app
