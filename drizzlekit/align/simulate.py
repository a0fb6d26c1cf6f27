"""Synthetic source catalogs with a known WCS error, for tests and benchmarks.

A scene is a list of true sky positions. An exposure "observes" it through
the true WCS of each chip, but its header WCS is wrong by a known sky
transform ``T``: the catalog pixel positions are ``W⁻¹(T(s))`` for header WCS
``W`` and true position ``s``, so the header maps them to ``T(s)``, and the
correct WCS is ``T⁻¹ ∘ W``. ``T`` is built from exact rotations of the unit
sphere (roll about the exposure centre, a radial scale about it, then a
translation), independent of the tangent-plane code the engine uses, so a
test that compares an aligned WCS with ``T⁻¹ ∘ W`` checks the engine
against an independent truth.

Detections are thinned (``drop``), jittered (``noise``) and polluted with
spurious sources (``spurious``, e.g. cosmic rays, made bright on purpose);
the reference catalog can carry sources the image lacks (``ref_only``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tangent import TangentPlane, mean_direction, pixel_to_sky, sky_to_pixel, unit_vectors

__all__ = ["SkyTransform", "load_chips", "make_scene", "observe", "make_refcat",
           "wcs_error_pixels", "exposure_center"]


def _to_radec(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    ra = np.rad2deg(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    dec = np.rad2deg(np.arcsin(np.clip(v[..., 2], -1, 1)))
    return ra, dec


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation of vectors ``v`` (N, 3) about unit ``axis`` by ``angle`` (rad)."""
    k = axis / np.linalg.norm(axis)
    c, s = np.cos(angle), np.sin(angle)
    return v * c + np.cross(k, v) * s + np.outer(v @ k, k) * (1 - c)


@dataclass(frozen=True)
class SkyTransform:
    """A sky transform about ``center``: roll, radial scale, then translation.

    Parameters
    ----------
    center : (float, float)
        RA, Dec of the centre, degrees.
    rotation : float
        Roll about the centre, degrees; positive increases position angles
        (East of North).
    scale : float
        Fractional radial scale about the centre (angular distances become
        ``(1 + scale)`` times larger).
    shift : (float, float)
        Translation of the centre towards East and North, arcsec.
    """

    center: tuple
    rotation: float = 0.0
    scale: float = 0.0
    shift: tuple = (0.0, 0.0)

    def _frame(self):
        c = unit_vectors(*self.center).reshape(3)
        a, d = np.deg2rad(self.center[0]), np.deg2rad(self.center[1])
        east = np.array([-np.sin(a), np.cos(a), 0.0])
        north = np.array([-np.sin(d) * np.cos(a), -np.sin(d) * np.sin(a), np.cos(d)])
        return c, east, north

    def _scale(self, v, c, factor):
        t = v - np.outer(v @ c, c)
        n = np.linalg.norm(t, axis=1, keepdims=True)
        rho = np.arctan2(n[:, 0], v @ c)   # accurate for small angles (unlike arccos)
        t = np.divide(t, n, out=np.zeros_like(t), where=n > 0)
        r2 = rho * factor
        return np.outer(np.cos(r2), c) + t * np.sin(r2)[:, None]

    def __call__(self, ra, dec, inverse: bool = False):
        """Apply the transform (or its inverse) to RA, Dec in degrees."""
        v = unit_vectors(np.ravel(ra), np.ravel(dec)).reshape(-1, 3)
        c, east, north = self._frame()
        sh = np.asarray(self.shift, float) / 206264.80624709636
        ang = float(np.hypot(*sh))
        # a right-handed turn about c takes East towards North: position angle decreases
        roll = -np.deg2rad(self.rotation)
        if ang > 0:
            d = sh[0] * east + sh[1] * north
            axis = np.cross(c, d)
        if not inverse:
            v = _rotate(v, c, roll)
            v = self._scale(v, c, 1.0 + self.scale)
            if ang > 0:
                v = _rotate(v, axis, ang)
        else:
            if ang > 0:
                v = _rotate(v, axis, -ang)
            v = self._scale(v, c, 1.0 / (1.0 + self.scale))
            v = _rotate(v, c, -roll)
        ra2, dec2 = _to_radec(v)
        return ra2.reshape(np.shape(ra)), dec2.reshape(np.shape(dec))


def load_chips(path, shape=None) -> list:
    """The SCI WCSs (with distortions) of a multi-chip FITS header file.

    ``shape`` = ``(nx, ny)`` sets ``pixel_shape`` (header-only files often
    carry dummy NAXIS values); default: 4096 x 2051 for WFC3/UVIS, 4096 x
    2048 otherwise.
    """
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    out = []
    with fits.open(path) as hdul:
        inst = str(hdul[0].header.get("INSTRUME", "")).upper()
        if shape is None:
            shape = (4096, 2051) if inst == "WFC3" else (4096, 2048)
        for hdu in hdul:
            if hdu.name == "SCI":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FITSFixedWarning)
                    w = WCS(hdu.header, hdul)
                w.pixel_shape = tuple(shape)
                out.append(w)
    return out


def exposure_center(chips) -> tuple[float, float]:
    """RA, Dec (degrees) of the mean direction of the chips' centres."""
    ras, decs = [], []
    for w in chips:
        nx, ny = w.pixel_shape
        r, d = pixel_to_sky(w, np.array([(nx - 1) / 2]), np.array([(ny - 1) / 2]))
        ras.append(r[0])
        decs.append(d[0])
    return mean_direction(ras, decs)


def _region(chip_sets, margin: float):
    ras, decs = [], []
    for chips in chip_sets:
        for w in chips:
            nx, ny = w.pixel_shape
            gx, gy = np.meshgrid(np.linspace(0, nx - 1, 5), np.linspace(0, ny - 1, 5))
            r, d = pixel_to_sky(w, gx.ravel(), gy.ravel())
            ras.append(r)
            decs.append(d)
    ra, dec = np.concatenate(ras), np.concatenate(decs)
    plane = TangentPlane.at_mean_of(ra, dec)
    xi, eta = plane.sky_to_plane(ra, dec)
    return plane, (xi.min() - margin, xi.max() + margin, eta.min() - margin, eta.max() + margin)


def make_scene(rng, chip_sets, density: float = 0.03, margin: float = 20.0):
    """Uniformly distributed true star positions covering all chips (+ margin).

    Parameters
    ----------
    rng : numpy.random.Generator
    chip_sets : list of list of WCS
        The exposures (their chips) the scene must cover.
    density : float
        Stars per square arcsec.
    margin : float
        Extra border, arcsec.

    Returns
    -------
    ra, dec : ndarray
        Degrees.
    """
    plane, (x0, x1, y0, y1) = _region(chip_sets, margin)
    n = rng.poisson(density * (x1 - x0) * (y1 - y0))
    xi = rng.uniform(x0, x1, n)
    eta = rng.uniform(y0, y1, n)
    return plane.plane_to_sky(xi, eta)


def observe(rng, chips, ra, dec, *, transform: SkyTransform | None = None, drop: float = 0.25,
            spurious: float = 0.4, noise: float = 0.05, bright_spurious: bool = True):
    """Catalogs (one astropy Table per chip) of a scene seen through wrong headers.

    Parameters
    ----------
    rng : numpy.random.Generator
    chips : list of WCS
        Header WCS of each chip (with ``pixel_shape``).
    ra, dec : ndarray
        True star positions, degrees.
    transform : SkyTransform, optional
        Error of the header WCS (None: the header is right).
    drop : float
        Fraction of detectable stars left out.
    spurious : float
        Spurious detections added, as a fraction of the stars kept.
    noise : float
        Gaussian centroid error per axis, pixels.
    bright_spurious : bool
        Give spurious sources fluxes brighter than most stars.

    Returns
    -------
    list of astropy.table.Table
        Columns ``x``, ``y`` (0-based pixels), ``flux`` and ``true`` (True
        for real stars).
    """
    from astropy.table import Table

    sra, sdec = (ra, dec) if transform is None else transform(ra, dec)
    out = []
    for w in chips:
        nx, ny = w.pixel_shape
        x, y = sky_to_pixel(w, sra, sdec)
        ok = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x <= nx - 1) & (y >= 0) & (y <= ny - 1)
        idx = np.flatnonzero(ok)
        keep = idx[rng.random(idx.size) >= drop]
        xs = x[keep] + rng.normal(0, noise, keep.size)
        ys = y[keep] + rng.normal(0, noise, keep.size)
        flux = 10 ** rng.uniform(2, 4, keep.size)
        ns = int(round(spurious * keep.size))
        xc = rng.uniform(0, nx - 1, ns)
        yc = rng.uniform(0, ny - 1, ns)
        fc = 10 ** rng.uniform(3.5, 4.5, ns) if bright_spurious else 10 ** rng.uniform(2, 4, ns)
        order = rng.permutation(keep.size + ns)
        t = Table()
        t["x"] = np.concatenate([xs, xc])[order]
        t["y"] = np.concatenate([ys, yc])[order]
        t["flux"] = np.concatenate([flux, fc])[order]
        t["true"] = np.concatenate([np.ones(keep.size, bool), np.zeros(ns, bool)])[order]
        out.append(t)
    return out


def make_refcat(rng, chip_sets, ra, dec, *, ref_only: float = 0.2, margin: float = 5.0):
    """Reference catalog: true positions of the stars near the exposures plus extras.

    ``ref_only`` extra sources (as a fraction of the stars kept) are placed at
    random in the same region. Returns an astropy Table with ``RA``, ``DEC``
    (degrees) and ``mag``.
    """
    from astropy.table import Table

    plane, (x0, x1, y0, y1) = _region(chip_sets, margin)
    xi, eta = plane.sky_to_plane(ra, dec)
    sel = (xi >= x0) & (xi <= x1) & (eta >= y0) & (eta <= y1)
    n_extra = int(round(ref_only * sel.sum()))
    ex_ra, ex_dec = plane.plane_to_sky(rng.uniform(x0, x1, n_extra), rng.uniform(y0, y1, n_extra))
    t = Table()
    t["RA"] = np.concatenate([np.asarray(ra)[sel], ex_ra])
    t["DEC"] = np.concatenate([np.asarray(dec)[sel], ex_dec])
    t["mag"] = rng.uniform(16, 24, len(t))
    return t


def wcs_error_pixels(aligned_wcs, header_wcs, transform: SkyTransform | None, n: int = 9
                     ) -> float:
    """Largest error (pixels) of an aligned WCS over the whole chip.

    Compares ``aligned_wcs`` with the true WCS ``T⁻¹ ∘ header_wcs`` on an
    ``n x n`` grid spanning ``header_wcs.pixel_shape``; the angular error is
    divided by the local pixel scale.
    """
    from astropy.wcs.utils import proj_plane_pixel_scales

    nx, ny = header_wcs.pixel_shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, n), np.linspace(0, ny - 1, n))
    gx, gy = gx.ravel(), gy.ravel()
    ra_t, dec_t = pixel_to_sky(header_wcs, gx, gy)
    if transform is not None:
        ra_t, dec_t = transform(ra_t, dec_t, inverse=True)
    ra_a, dec_a = pixel_to_sky(aligned_wcs, gx, gy)
    v1 = unit_vectors(ra_t, dec_t)
    v2 = unit_vectors(ra_a, dec_a)
    sep = 2 * np.arcsin(np.clip(np.linalg.norm(v1 - v2, axis=1) / 2, 0, 1))
    pscale = float(np.sqrt(np.prod(proj_plane_pixel_scales(header_wcs.celestial)))) * np.pi / 180
    return float(np.max(sep) / pscale)
