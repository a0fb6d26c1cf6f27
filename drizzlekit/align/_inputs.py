"""Reading the alignment engine's inputs: catalogs, WCSs and image footprints.

Private helpers of :func:`drizzlekit.align.align_wcs`: each image becomes an
:class:`_Image` of :class:`_Chip` objects holding the 0-based pixel positions,
their sky positions through the full WCS, and a footprint model (a quadratic
map from a local tangent plane to the chip's pixels) used to find the
reference sources that overlap the chip and to estimate overlap areas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError, NonFiniteError, TooFewSourcesError
from .gwcs_support import is_gwcs
from .tangent import TangentPlane, check_celestial_wcs, mean_direction, pixel_to_sky

@dataclass
class _Chip:
    wcs: object
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray | None
    extent: tuple | None
    ra: np.ndarray = None
    dec: np.ndarray = None
    # footprint model: quadratic map local plane -> pixel
    _plane: TangentPlane | None = None
    _coef: np.ndarray | None = None
    _slack: float = 0.0

    def grid(self, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
        x0, x1, y0, y1 = self.extent
        gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return gx.ravel(), gy.ravel()

    def build_footprint(self) -> None:
        if self.extent is None:
            return
        gx, gy = self.grid(7)
        ra, dec = pixel_to_sky(self.wcs, gx, gy)
        self._plane = TangentPlane(*mean_direction(ra, dec))
        u, v = self._plane.sky_to_plane(ra, dec)
        a = _quad_basis(u, v)
        self._coef, *_ = np.linalg.lstsq(a, np.column_stack([gx, gy]), rcond=None)
        self._slack = float(np.max(np.abs(a @ self._coef - np.column_stack([gx, gy])))) + 0.5

    def contains(self, ra, dec, margin_pix: float) -> np.ndarray:
        ra = np.asarray(ra, float)
        if self._coef is None or ra.size == 0:
            return np.zeros(ra.shape, bool)
        u, v = self._plane.sky_to_plane(ra, dec)
        ok = np.isfinite(u) & np.isfinite(v)
        # only points within a generous radius are mapped (the quadratic is local)
        x0, x1, y0, y1 = self.extent
        size = math.hypot(x1 - x0, y1 - y0) * self.pscale()
        ok &= np.hypot(np.nan_to_num(u, nan=1e30), np.nan_to_num(v, nan=1e30)) < \
            size + margin_pix * self.pscale()
        out = np.zeros(ra.shape, bool)
        if ok.any():
            xy = _quad_basis(u[ok], v[ok]) @ self._coef
            m = margin_pix + self._slack
            out[ok] = ((xy[:, 0] >= x0 - m) & (xy[:, 0] <= x1 + m)
                       & (xy[:, 1] >= y0 - m) & (xy[:, 1] <= y1 + m))
        return out

    def center(self) -> tuple[float, float]:
        x0, x1, y0, y1 = self.extent
        return 0.5 * (x0 + x1), 0.5 * (y0 + y1)

    def pscale(self) -> float:
        # arcsec per pixel from the footprint model
        c = self._coef
        jac = np.linalg.inv(np.array([[c[1, 0], c[2, 0]], [c[1, 1], c[2, 1]]]) / 100.0)
        return math.sqrt(abs(np.linalg.det(jac)))

    def area(self) -> float:
        """Chip area in arcsec²."""
        if self.extent is None or self._coef is None:
            return 0.0
        x0, x1, y0, y1 = self.extent
        return (x1 - x0 + 1) * (y1 - y0 + 1) * self.pscale() ** 2


def _quad_basis(u, v) -> np.ndarray:
    u = np.asarray(u, float) / 100.0
    v = np.asarray(v, float) / 100.0
    return np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v])


@dataclass
class _Image:
    name: str
    chips: list
    multichip: bool
    ra: np.ndarray = None
    dec: np.ndarray = None
    w: np.ndarray | None = None
    chip_of: np.ndarray = None
    row_of: np.ndarray = None
    plane: TangentPlane | None = None

    @property
    def nsrc(self) -> int:
        return int(self.ra.size)

    def contains(self, ra, dec, margin_pix: float) -> np.ndarray:
        out = np.zeros(np.shape(ra), bool)
        for ch in self.chips:
            out |= ch.contains(ra, dec, margin_pix)
        return out

    def area(self) -> float:
        return sum(ch.area() for ch in self.chips)

    def grid_sky(self, n: int = 9) -> tuple[np.ndarray, np.ndarray]:
        ras, decs = [], []
        for ch in self.chips:
            if ch.extent is None:
                continue
            gx, gy = ch.grid(n)
            r, d = pixel_to_sky(ch.wcs, gx, gy)
            ras.append(r)
            decs.append(d)
        if not ras:
            return np.empty(0), np.empty(0)
        return np.concatenate(ras), np.concatenate(decs)


def _in_unit(column, unit: str | None, where: str) -> np.ndarray:
    """A column as plain floats in ``unit``; its own unit (astropy Column/Quantity) is
    honoured, never dropped: RA in arcsec becomes degrees, a length unit is an error."""
    col_unit = getattr(column, "unit", None)
    if col_unit is None or unit is None:
        return np.asarray(column, dtype=float).ravel()
    import astropy.units as u

    try:
        col_unit = u.Unit(col_unit)
        if col_unit == u.dimensionless_unscaled:
            return np.asarray(column, dtype=float).ravel()
        factor = col_unit.to(u.Unit(unit))
    except (ValueError, u.UnitConversionError):
        raise InputError(f"{where} is in {col_unit}, which is not convertible to {unit}") \
            from None
    return np.asarray(getattr(column, "value", column), dtype=float).ravel() * factor


def _column(cat, names, what: str, where: str, unit: str | None = None):
    if getattr(cat, "colnames", None) is not None:          # astropy Table
        cols = list(cat.colnames)
    elif getattr(getattr(cat, "dtype", None), "names", None):  # numpy structured array
        cols = list(cat.dtype.names)
    elif hasattr(cat, "keys"):                                # dict of arrays, DataFrame
        cols = list(cat.keys())
    else:
        raise InputError(f"{where}: expected a table with named columns, got "
                         f"{type(cat).__name__}")
    low = {str(c).lower(): c for c in cols}
    for n in names:
        key = n if n in cols else low.get(n.lower())
        if key is not None:
            return _in_unit(cat[key], unit, f"{where}: column {key!r}")
    if what is None:
        return None
    raise InputError(f"{where}: catalog has no {what} column (expected one of {list(names)}; "
                     f"has {cols})")


def _parse_chip(item, where: str) -> _Chip:
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise InputError(f"{where}: expected a (catalog, wcs) pair")
    cat, wcs = item
    check_celestial_wcs(wcs, f"{where} wcs")
    if cat is None:
        x = y = np.empty(0)
        w = None
    else:
        try:
            x = _column(cat, ("x",), "'x'", where, unit="pix")
            y = _column(cat, ("y",), "'y'", where, unit="pix")
        except (TypeError, KeyError) as exc:
            raise InputError(f"{where}: cannot read the catalog ({exc})") from None
        w = _column(cat, ("weight",), None, where)
    if x.shape != y.shape:
        raise InputError(f"{where}: 'x' and 'y' columns differ in length")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise NonFiniteError(f"{where}: catalog has {int(bad.sum())} non-finite x/y "
                             f"position(s) (rows {np.flatnonzero(bad)[:5].tolist()}...)")
    if w is not None:
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError(f"{where}: 'weight' column must be finite and >= 0")
    ext = None
    if getattr(wcs, "pixel_shape", None) is not None:
        nx, ny = wcs.pixel_shape
        ext = [0.0, nx - 1.0, 0.0, ny - 1.0]
    if x.size:
        if ext is None:
            ext = [x.min(), x.max(), y.min(), y.max()]
        else:
            ext = [min(ext[0], x.min()), max(ext[1], x.max()),
                   min(ext[2], y.min()), max(ext[3], y.max())]
    if ext is not None and (ext[1] - ext[0] < 1 or ext[3] - ext[2] < 1):
        ext = [ext[0] - 1, ext[1] + 1, ext[2] - 1, ext[3] + 1]
    return _Chip(wcs=wcs, x=x, y=y, w=w, extent=None if ext is None else tuple(ext))


def _parse_images(images, names) -> list[_Image]:
    from astropy.wcs import WCS

    def _is_wcs(obj) -> bool:
        return isinstance(obj, WCS) or is_gwcs(obj)

    if isinstance(images, (tuple, list)) and len(images) == 2 and _is_wcs(images[1]):
        images = [images]
    try:
        images = list(images)
    except TypeError:
        raise InputError("images: expected a list of (catalog, wcs) pairs or lists of pairs") \
            from None
    if names is not None and len(names) != len(images):
        raise InputError(f"names: {len(names)} names for {len(images)} images")
    out = []
    for k, item in enumerate(images):
        name = str(names[k]) if names is not None else f"image {k}"
        single = isinstance(item, (tuple, list)) and len(item) == 2 and _is_wcs(item[1])
        pairs = [item] if single else list(item) if isinstance(item, (list, tuple)) else None
        if not pairs:
            raise InputError(f"images[{k}]: expected a (catalog, wcs) pair or a non-empty list "
                             "of pairs")
        chips = [_parse_chip(pc, f"images[{k}]" if single else f"images[{k}][{c}]")
                 for c, pc in enumerate(pairs)]
        img = _Image(name=name, chips=chips, multichip=not single)
        ras, decs, ws, cof, rof = [], [], [], [], []
        for c, ch in enumerate(chips):
            ch.ra, ch.dec = pixel_to_sky(ch.wcs, ch.x, ch.y)
            if ch.x.size and not (np.all(np.isfinite(ch.ra)) and np.all(np.isfinite(ch.dec))):
                raise NonFiniteError(f"images[{k}] chip {c}: the WCS gives non-finite sky "
                                     "positions for some sources")
            ch.build_footprint()
            ras.append(ch.ra)
            decs.append(ch.dec)
            ws.append(ch.w if ch.w is not None else np.ones(ch.x.size))
            cof.append(np.full(ch.x.size, c, np.int64))
            rof.append(np.arange(ch.x.size, dtype=np.int64))
        img.ra = np.concatenate(ras)
        img.dec = np.concatenate(decs)
        img.w = np.concatenate(ws) if any(ch.w is not None for ch in chips) else None
        img.chip_of = np.concatenate(cof)
        img.row_of = np.concatenate(rof)
        centers = [pixel_to_sky(ch.wcs, *map(np.atleast_1d, ch.center()))
                   for ch in chips if ch.extent is not None]
        if centers:
            img.plane = TangentPlane(*mean_direction(np.concatenate([c[0] for c in centers]),
                                                     np.concatenate([c[1] for c in centers])))
        out.append(img)
    return out


@dataclass
class _Ref:
    ra: np.ndarray
    dec: np.ndarray
    w: np.ndarray | None


def _parse_refcat(refcat) -> _Ref:
    from astropy.coordinates import SkyCoord

    if isinstance(refcat, SkyCoord):  # e.g. a Gaia query result
        icrs = refcat.icrs
        return _checked_ref(np.atleast_1d(icrs.ra.deg).astype(float),
                            np.atleast_1d(icrs.dec.deg).astype(float), None)
    if isinstance(refcat, (str, bytes)) or not hasattr(refcat, "__getitem__"):
        raise InputError("refcat: expected a SkyCoord or an astropy Table with 'RA' and "
                         "'DEC' columns (degrees unless the columns carry units); file "
                         "names are handled by tweakreg()")
    ra = _column(refcat, ("RA",), "'RA'", "refcat", unit="deg")
    dec = _column(refcat, ("DEC",), "'DEC'", "refcat", unit="deg")
    w = _column(refcat, ("weight",), None, "refcat")
    return _checked_ref(ra, dec, w)


def _checked_ref(ra: np.ndarray, dec: np.ndarray, w: np.ndarray | None) -> _Ref:
    bad = ~(np.isfinite(ra) & np.isfinite(dec))
    if bad.any():
        raise NonFiniteError(f"refcat: {int(bad.sum())} non-finite RA/DEC value(s)")
    if np.any(np.abs(dec) > 90):
        raise InputError("refcat: DEC values must be within [-90, 90] degrees")
    if ra.size == 0:
        raise TooFewSourcesError("refcat: the reference catalog is empty")
    if w is not None and (not np.all(np.isfinite(w)) or np.any(w < 0)):
        raise InputError("refcat: 'weight' column must be finite and >= 0")
    return _Ref(ra, dec, w)
