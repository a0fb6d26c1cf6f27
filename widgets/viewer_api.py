"""The astrowidgets image-widget names on :class:`~drizzlekit.widgets.ImageViewer`.

astrowidgets (``ImageWidget``) defines the community's API for an image
widget; the names that apply to a bqplot viewer are provided here, with
astrowidgets' signatures, so code written for it reads the same:

=========================  =====================================================
``center_on(point)``       ``(x, y)`` pixels or a ``SkyCoord`` (needs the WCS)
``offset_by(dx, dy)``      pan by pixels
``zoom_level``             screen pixels per image pixel (``'fit'``: whole image)
``zoom(val)``              multiply ``zoom_level`` by ``val``
``stretch``                ``'linear'``, ``'sqrt'``, ``'log'``, ``'asinh'`` ...
``cuts``                   ``(low, high)`` data values, or an interval name
                           (``'zscale'``, ``'minmax'``, ``'99%'`` ...) or an
                           astropy interval object
``marker``                 ``{'type': 'circle', 'color': 'red', 'radius': 8}``
``add_markers(table, x_colname='x', y_colname='y', skycoord_colname='coord',
use_skycoord=False, marker_name=None)``  append rows of a table to a marker set
``get_markers(x_colname='x', y_colname='y', skycoord_colname='coord',
marker_name=None)``        a ``Table`` of a set (``'all'``: every set), or None
``remove_markers(marker_name=None)``  one set, a list of sets, or ``'all'``
``reset_markers()``        remove every set
``save(filename, overwrite=False)``  the visible part of the image as PNG
=========================  =====================================================

Differences: ``zoom_level`` counts CSS pixels of the figure at its full
``size`` (the kernel does not know how far the browser shrank it);
``remove_markers`` of a name that does not exist does nothing; ``save``
writes the image as displayed (cut levels, stretch, colour map) without
the overlays, from the kernel (no browser round trip).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from drizzlekit.exceptions import InputError

__all__ = ["AstroWidgetsAPI", "DEFAULT_MARKER_NAME"]

#: astrowidgets' name for markers added without ``marker_name``.
DEFAULT_MARKER_NAME = "default-marker-name"
_RESERVED = ("all",)
_MARKER_TYPES = {"circle": "circle", "cross": "cross", "plus": "cross", "square": "square",
                 "diamond": "diamond", "triangle": "triangle-up"}


class AstroWidgetsAPI:
    """Mixin: astrowidgets-style methods over the viewer's own primitives."""

    _marker_dict: dict = {"type": "circle", "color": "#00e676", "radius": 8}

    # -- view --------------------------------------------------------------
    def _plot_width(self) -> float:
        m = self.figure.fig_margin
        return float(self.size - m["left"] - m["right"])

    def center_on(self, point) -> None:
        """Centre the view on ``point``: ``(x, y)`` in pixels, or a ``SkyCoord``."""
        if hasattr(point, "ra") and hasattr(point, "dec") and hasattr(point, "frame"):
            wcs = self.current.wcs
            if wcs is None:
                raise InputError(f"center_on: viewer '{self.name}' frame "
                                 f"'{self.current.name}' has no WCS for a sky position")
            icrs = point.icrs
            x, y = wcs.all_world2pix(np.atleast_1d(icrs.ra.deg), np.atleast_1d(icrs.dec.deg), 0)
            x, y = float(x[0]), float(y[0])
        else:
            try:
                x, y = (float(v) for v in point)
            except (TypeError, ValueError):
                raise InputError(f"center_on: expected (x, y) pixels or a SkyCoord, "
                                 f"got {point!r}") from None
        x0, x1, y0, y1 = self.view
        if None in (x0, x1, y0, y1):
            self.fit_view()
            x0, x1, y0, y1 = self.view
        hx, hy = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
        self.set_view(x - hx, x + hx, y - hy, y + hy)

    def offset_by(self, dx: float, dy: float) -> None:
        """Pan the view by ``(dx, dy)`` pixels."""
        x0, x1, y0, y1 = self.view
        self.set_view(x0 + dx, x1 + dx, y0 + dy, y1 + dy)

    @property
    def zoom_level(self) -> float:
        """Screen (CSS) pixels per image pixel at the figure's full size."""
        x0, x1, _y0, _y1 = self.view
        if x0 is None or x1 is None:
            return 1.0
        return self._plot_width() / (x1 - x0)

    @zoom_level.setter
    def zoom_level(self, value) -> None:
        if isinstance(value, str):
            if value != "fit":
                raise InputError(f"zoom_level: expected a number or 'fit', got {value!r}")
            self.fit_view()
            return
        level = float(value)
        if not (np.isfinite(level) and level > 0):
            raise InputError(f"zoom_level: must be a positive number, got {value!r}")
        x0, x1, y0, y1 = self.view
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        self.zoom_to(cx, cy, self._plot_width() / (2.0 * level))

    def zoom(self, val: float) -> None:
        """Zoom in by the factor ``val`` (``< 1`` zooms out)."""
        self.zoom_level = self.zoom_level * float(val)

    # -- display -------------------------------------------------------------
    @property
    def cuts(self) -> tuple[float, float]:
        """Cut levels ``(low, high)`` in data units.

        Set with a tuple, an interval name (``'zscale'``, ``'minmax'``,
        ``'99.5%'`` ...) or an astropy interval object (its limits on the
        current frame are used).
        """
        return tuple(self.limits)

    @cuts.setter
    def cuts(self, value) -> None:
        if isinstance(value, str):
            self.interval = value
            return
        if hasattr(value, "get_limits"):
            lo, hi = value.get_limits(np.asarray(self.current.data, dtype=float)
                                      [np.isfinite(self.current.data)])
            self.set_cuts(lo, hi)
            return
        try:
            lo, hi = value
        except (TypeError, ValueError):
            raise InputError(f"cuts: expected (low, high), an interval name or an astropy "
                             f"interval, got {value!r}") from None
        self.set_cuts(lo, hi)

    # -- markers -------------------------------------------------------------
    @property
    def marker(self) -> dict:
        """Style of markers added with :meth:`add_markers`: ``type``, ``color``, ``radius``."""
        return dict(self._marker_dict)

    @marker.setter
    def marker(self, val: dict) -> None:
        new = {**self._marker_dict, **dict(val)}
        if new["type"] not in _MARKER_TYPES:
            raise InputError(f"marker: type {new['type']!r} is not one of {list(_MARKER_TYPES)}")
        self._marker_dict = new

    def add_markers(self, table, x_colname="x", y_colname="y", skycoord_colname="coord",
                    use_skycoord: bool = False, marker_name: str | None = None, **style):
        """Add markers from a table (astrowidgets), appending to the set ``marker_name``.

        Parameters
        ----------
        table : astropy.table.Table
            Rows to mark; a ``flux`` column, when present, decides which
            markers stay visible when a crowded set is thinned.
        x_colname, y_colname : str
            Pixel columns (0-based).
        skycoord_colname : str
            ``SkyCoord`` column, used with ``use_skycoord=True`` (needs the
            frame's WCS).
        use_skycoord : bool
        marker_name : str, optional
            Set name; default ``'default-marker-name'``.

        Notes
        -----
        The older form ``add_markers(name, x, y, color=..., size=...)``
        (a name and two arrays) replaces the set, as :meth:`set_markers`.
        """
        if isinstance(table, str):  # add_markers(name, x, y, **style)
            return self.set_markers(table, x_colname, y_colname, **style)
        name = DEFAULT_MARKER_NAME if marker_name is None else str(marker_name)
        if name in _RESERVED:
            raise InputError(f"marker_name: {name!r} is reserved; use another name")
        cols = getattr(table, "colnames", None)
        if cols is None:
            raise InputError(f"add_markers: expected an astropy Table, got {type(table).__name__}")
        if use_skycoord:
            if skycoord_colname not in cols:
                raise InputError(f"add_markers: no column {skycoord_colname!r} in {cols}")
            wcs = self.current.wcs
            if wcs is None:
                raise InputError(f"add_markers: frame '{self.current.name}' has no WCS for "
                                 f"sky positions")
            sky = table[skycoord_colname].icrs
            x, y = wcs.all_world2pix(np.atleast_1d(sky.ra.deg), np.atleast_1d(sky.dec.deg), 0)
        else:
            missing = [c for c in (x_colname, y_colname) if c not in cols]
            if missing:
                raise InputError(f"add_markers: no column(s) {missing} in {cols}")
            x = np.asarray(table[x_colname], dtype=float)
            y = np.asarray(table[y_colname], dtype=float)
        prio = np.asarray(table["flux"], dtype=float) if "flux" in cols else None
        old = self.markers.get(name)
        if old is not None and old.kind == "points":
            x = np.concatenate([old.x, x])
            y = np.concatenate([old.y, y])
            if prio is not None or old.priority is not None:
                p_old = old.priority if old.priority is not None else np.full(old.n, -np.inf)
                p_new = prio if prio is not None else np.full(len(table), -np.inf)
                prio = np.concatenate([p_old, p_new])
        m = self._marker_dict
        kw = {"color": m["color"], "size": int(round(float(m["radius"]) ** 2)),
              "marker": _MARKER_TYPES[m["type"]]}
        kw.update(style)
        return self.set_markers(name, x, y, priority=prio, **kw)

    def get_markers(self, x_colname="x", y_colname="y", skycoord_colname="coord",
                    marker_name: str | None = None):
        """Table of the markers of a set (``'all'``: every set, with a ``marker name`` column).

        Sky positions are added when the frame shown has a WCS. Returns None
        when there are no such markers.
        """
        from astropy.table import Table, vstack

        name = DEFAULT_MARKER_NAME if marker_name is None else marker_name
        names = [n for n, ms in self.markers.items() if ms.kind == "points"] \
            if name == "all" else [name]
        tables = []
        for n in names:
            ms = self.markers.get(n)
            if ms is None or ms.kind != "points" or ms.n == 0:
                continue
            t = Table({x_colname: ms.x.copy(), y_colname: ms.y.copy()})
            wcs = self.current.wcs if self.frames else None
            if wcs is not None:
                from astropy.coordinates import SkyCoord

                ra, dec = wcs.all_pix2world(ms.x, ms.y, 0)
                t[skycoord_colname] = SkyCoord(ra, dec, unit="deg")
            t["marker name"] = [n] * ms.n
            tables.append(t)
        if not tables:
            return None
        return tables[0] if len(tables) == 1 else vstack(tables)

    def remove_markers(self, marker_name: str | list | None = None) -> None:
        """Remove a marker set, a list of sets, or ``'all'`` (a name not present is ignored)."""
        if marker_name is None:
            marker_name = DEFAULT_MARKER_NAME
        if marker_name == "all":
            names = list(self.markers)
        elif isinstance(marker_name, str):
            names = [marker_name]
        else:
            names = list(marker_name)
        for n in names:
            self._remove_set(n)

    def reset_markers(self) -> None:
        """Remove every marker set."""
        self.remove_markers("all")

    # -- saving --------------------------------------------------------------
    def save(self, filename, overwrite: bool = False) -> Path:
        """Write the visible part of the image, as displayed, to a PNG file (atomically).

        Parameters
        ----------
        filename : str or Path
            Must end in ``.png``.
        overwrite : bool
            Replace an existing file.
        """
        from .stretch import to_png

        path = Path(filename)
        if path.suffix.lower() != ".png":
            raise InputError(f"save: {path}: only .png is supported")
        if path.exists() and not overwrite:
            raise InputError(f"save: {path} exists and overwrite=False")
        if not self.frames:
            raise InputError(f"save: viewer '{self.name}' shows no image")
        img = self.image01
        ny, nx = img.shape
        x0, x1, y0, y1 = self.view
        i0, i1 = max(int(np.floor(x0 + 0.5)), 0), min(int(np.ceil(x1 + 0.5)), nx)
        j0, j1 = max(int(np.floor(y0 + 0.5)), 0), min(int(np.ceil(y1 + 0.5)), ny)
        crop = img[j0:j1, i0:i1] if (i1 > i0 and j1 > j0) else img
        data = to_png(crop, self.colormap)
        fd, tmp = tempfile.mkstemp(prefix=".dk-save-", suffix=".png",
                                   dir=str(path.parent.resolve()))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return path
