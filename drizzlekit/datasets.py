"""Test and tutorial data: simulated dithered exposures with known truth, and real HST frames.

* :func:`simulate_dither` renders FLT-like exposures of a star + galaxy field through a
  known distorted (TAN-SIP) WCS, with Poisson and read noise, cosmic rays and bad
  pixels, and returns everything that was injected (catalogue, true WCS, WCS errors,
  cosmic-ray and bad-pixel masks).
* :func:`load_hst_47tuc` returns four real ACS/HRC frames of 47 Tuc shipped with the
  package (512x512 crops), made FLT-like and given a TAN-SIP distortion solution.
* :func:`crop_exposure` cuts a sub-array out of an FLT-like file, keeping its WCS exact.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from typing import Sequence

import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS, FITSFixedWarning
from scipy.special import erf

from .exceptions import InputError, ShapeError

__all__ = [
    "SimulatedTruth",
    "SimulatedDither",
    "simulate_dither",
    "dither_pattern",
    "crop_exposure",
    "HSTDataset",
    "load_hst_47tuc",
    "HST_47TUC_ROOTNAMES",
]

log = logging.getLogger(__name__)

_SQRT2 = np.sqrt(2.0)
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))

# Quadratic SIP coefficients in units of 1/R (R = half the chip size, pixels): the
# displacement at the chip edge is ~1e-3 R, i.e. ~2-3 px for a 4096-px ACS/WFC chip.
_SIP_BASE = {
    "A_2_0": 1.0e-3, "A_1_1": 0.6e-3, "A_0_2": -0.4e-3,
    "B_2_0": 0.3e-3, "B_1_1": -0.8e-3, "B_0_2": 1.2e-3,
}


# =========================================================================== results


@dataclass
class SimulatedTruth:
    """Everything :func:`simulate_dither` injected.

    Attributes
    ----------
    catalog : astropy.table.Table
        One row per source: ``id``, ``kind`` (``'star'``/``'galaxy'``), ``ra``, ``dec``
        (degrees), ``flux`` (electrons per exposure), ``flux_rate`` (e-/s),
        ``r_eff`` (galaxy half-light radius, pixels; 0 for stars), ``axis_ratio``,
        ``theta`` (galaxy position angle in the detector frame, degrees).
    wcs : list of list of astropy.wcs.WCS
        True TAN-SIP WCS of each ``[exposure][chip]`` (what the images were rendered with).
    header_wcs : list of list of astropy.wcs.WCS
        WCS written to the headers (true WCS plus the injected error).
    wcs_errors : ndarray, shape (n_exposures, 2)
        Injected pointing error (east, north) in arcsec: header CRVALs are the true
        ones moved by this offset on the sky.
    wcs_rotation_errors : ndarray, shape (n_exposures,)
        Injected roll error (degrees, about each exposure's boresight).
    dithers : ndarray, shape (n_exposures, 2)
        Pointing offsets (x, y) in pixels of the first exposure's frame; a source at
        pixel p in exposure 0 is near pixel p - dither in exposure i.
    cr_masks : list of list of ndarray of bool
        ``[exposure][chip]``; ``True`` where cosmic-ray charge was added.
    bad_pixel_masks : list of ndarray of bool
        ``[chip]``; ``True`` for bad detector pixels (the same in every exposure,
        flagged in DQ: 4 = dead/bad, 16 = hot).
    models : list of list of ndarray (float32)
        Noise-free images ``[exposure][chip]`` in electrons: sky + sources, without
        cosmic rays and bad pixels.
    sky : float
        Sky level, electrons per pixel per exposure.
    exptime, gain, read_noise, psf_fwhm, pixel_scale : float
        s, e-/DN, e-, pixels, arcsec/pixel.
    """

    catalog: Table
    wcs: list
    header_wcs: list
    wcs_errors: np.ndarray
    wcs_rotation_errors: np.ndarray
    dithers: np.ndarray
    cr_masks: list
    bad_pixel_masks: list
    models: list
    sky: float
    exptime: float
    gain: float
    read_noise: float
    psf_fwhm: float
    pixel_scale: float


@dataclass
class SimulatedDither:
    """Result of :func:`simulate_dither`.

    Attributes
    ----------
    exposures : list
        The written file paths when ``outdir`` was given, else the in-memory HDULists.
    hdulists : list of astropy.io.fits.HDUList
        FLT-like exposures (always available).
    filenames : list of str or None
        Paths of the written files (``None`` when nothing was written).
    truth : SimulatedTruth
    """

    exposures: list
    hdulists: list
    filenames: list | None
    truth: SimulatedTruth

    def __len__(self) -> int:
        return len(self.hdulists)


# =========================================================================== WCS helpers


def _rotation(deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def _tan_wcs(crval, cd, crpix=(1.0, 1.0)) -> WCS:
    """Plain TAN WCS; with the default CRPIX, 0-based pixel (0, 0) is at ``crval``."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [float(crval[0]), float(crval[1])]
    w.wcs.crpix = [float(crpix[0]), float(crpix[1])]
    w.wcs.cd = np.asarray(cd, dtype=float)
    w.wcs.set()
    return w


def _offset_sky(ra: float, dec: float, east_arcsec: float, north_arcsec: float):
    """Sky position (deg) at a tangent-plane offset (arcsec) from (ra, dec)."""
    w = _tan_wcs((ra, dec), np.eye(2) / 3600.0)
    r, d = w.wcs_pix2world([[east_arcsec, north_arcsec]], 0)[0]
    return float(r), float(d)


def _sip_coefficients(k: int, size: int, scale: float) -> dict:
    """Quadratic SIP terms of chip ``k`` (a slightly different copy per chip)."""
    r = size / 2.0
    f = 1.0 + 0.15 * k
    sign = -1.0 if k % 2 else 1.0
    out = {}
    for key, val in _SIP_BASE.items():
        v = val * f * scale / r
        if key in ("A_1_1", "B_2_0"):
            v *= sign
        out[key] = v
    return out


def _chip_wcs(boresight, cd, fp_offset, shape, sip) -> WCS:
    """TAN(-SIP) WCS of a chip whose centre sits ``fp_offset`` (pixels, focal-plane x, y)
    from the boresight of a linear pointing WCS (boresight, cd)."""
    ny, nx = shape
    lin = _tan_wcs(boresight, cd)
    crval = lin.wcs_pix2world([[fp_offset[0], fp_offset[1]]], 0)[0]
    hdr = fits.Header()
    hdr["WCSAXES"] = 2
    hdr["CTYPE1"] = "RA---TAN-SIP" if sip else "RA---TAN"
    hdr["CTYPE2"] = "DEC--TAN-SIP" if sip else "DEC--TAN"
    hdr["CRPIX1"] = (nx + 1) / 2.0
    hdr["CRPIX2"] = (ny + 1) / 2.0
    hdr["CRVAL1"] = float(crval[0])
    hdr["CRVAL2"] = float(crval[1])
    hdr["CD1_1"], hdr["CD1_2"] = float(cd[0, 0]), float(cd[0, 1])
    hdr["CD2_1"], hdr["CD2_2"] = float(cd[1, 0]), float(cd[1, 1])
    hdr["CUNIT1"] = hdr["CUNIT2"] = "deg"
    hdr["RADESYS"] = "ICRS"
    if sip:
        hdr["A_ORDER"] = 2
        hdr["B_ORDER"] = 2
        for key, val in sip.items():
            hdr[key] = val
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        w = WCS(hdr)
    w.pixel_shape = (nx, ny)
    return w


def _wcs_header(w: WCS) -> fits.Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdr = w.to_header(relax=True)
    for k in ("DATE-OBS", "MJD-OBS", "DATEREF", "MJDREF", "MJDREFI", "MJDREFF"):
        hdr.remove(k, ignore_missing=True)
    # HST style: a CD matrix instead of PC + CDELT
    cd = w.wcs.cd if w.wcs.has_cd() else w.wcs.get_pc() * w.wcs.cdelt[:, None]
    for k in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
        hdr.remove(k, ignore_missing=True)
    for i in range(2):
        for j in range(2):
            hdr.insert("CUNIT1", (f"CD{i + 1}_{j + 1}", float(cd[i, j]),
                                  "partial of axis coordinate w.r.t. pixel"))
    return hdr


# =========================================================================== rendering


def dither_pattern(kind, n: int) -> np.ndarray:
    """Pointing offsets (x, y) in pixels for ``n`` exposures.

    Parameters
    ----------
    kind : {'subpixel', 'fewpixel'} or array_like, shape (n, 2)
        ``'subpixel'``: the 4-point half-pixel box (0,0), (0.5,0), (0.5,0.5), (0,0.5),
        continued with a low-discrepancy (R2) sequence of fractional offsets.
        ``'fewpixel'``: the ACS/WFC ``DITHER-BOX`` pattern in pixels
        (0,0), (5,1.5), (2.5,4), (-2.5,2.5), continued with R2 offsets within 6 px.
    n : int
        Number of exposures.
    """
    if isinstance(kind, str):
        if kind == "subpixel":
            base = np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]])
            span = 1.0
        elif kind == "fewpixel":
            base = np.array([[0.0, 0.0], [5.0, 1.5], [2.5, 4.0], [-2.5, 2.5]])
            span = 6.0
        else:
            raise InputError(f"dithers: unknown pattern {kind!r}; use 'subpixel', "
                             "'fewpixel' or an (n_exposures, 2) array of pixel offsets")
        if n <= 4:
            return base[:n].copy()
        g = 1.32471795724474602596  # plastic number: R2 sequence
        a = np.array([1.0 / g, 1.0 / g ** 2])
        extra = np.array([(0.5 + a * (i + 1)) % 1.0 for i in range(n - 4)]) * span
        if kind == "fewpixel":
            extra -= span / 2.0
        return np.vstack([base, extra])
    arr = np.asarray(kind, dtype=float)
    if arr.shape != (n, 2):
        raise ShapeError(f"dithers: expected shape ({n}, 2) pixel offsets, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError("dithers: offsets must be finite")
    return arr.copy()


def _add_gaussian_stars(img, x, y, flux, sigma):
    """Add pixel-integrated circular Gaussians (0-based pixel-centre coordinates)."""
    ny, nx = img.shape
    h = int(np.ceil(6.0 * sigma)) + 1
    offs = np.arange(-h, h + 1)
    for xi, yi, fi in zip(x, y, flux):
        cx, cy = int(np.floor(xi + 0.5)), int(np.floor(yi + 0.5))
        xs, ys = cx + offs, cy + offs
        if xs[-1] < 0 or ys[-1] < 0 or xs[0] >= nx or ys[0] >= ny:
            continue
        ex = xs - 0.5 - xi
        ey = ys - 0.5 - yi
        px = 0.5 * (erf((ex + 1.0) / (_SQRT2 * sigma)) - erf(ex / (_SQRT2 * sigma)))
        py = 0.5 * (erf((ey + 1.0) / (_SQRT2 * sigma)) - erf(ey / (_SQRT2 * sigma)))
        mx = (xs >= 0) & (xs < nx)
        my = (ys >= 0) & (ys < ny)
        img[np.ix_(ys[my], xs[mx])] += fi * np.outer(py[my], px[mx])


def _add_galaxies(img, x, y, flux, r_eff, q, theta_deg, oversample=5):
    """Add elliptical exponential discs, each normalised to its total flux on a stamp
    of radius 6 r_eff (sampled on an ``oversample``^2 sub-grid per pixel)."""
    ny, nx = img.shape
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    for xi, yi, fi, re, qi, th in zip(x, y, flux, r_eff, q, theta_deg):
        h = int(np.ceil(6.0 * re)) + 1
        cx, cy = int(np.floor(xi + 0.5)), int(np.floor(yi + 0.5))
        xs = cx + np.arange(-h, h + 1)
        ys = cy + np.arange(-h, h + 1)
        if xs[-1] < 0 or ys[-1] < 0 or xs[0] >= nx or ys[0] >= ny:
            continue
        gx = (xs[None, :, None, None] + sub[None, None, None, :]) - xi
        gy = (ys[:, None, None, None] + sub[None, None, :, None]) - yi
        t = np.deg2rad(th)
        u = gx * np.cos(t) + gy * np.sin(t)
        v = -gx * np.sin(t) + gy * np.cos(t)
        rr = np.sqrt(u ** 2 + (v / qi) ** 2)
        scale = re / 1.678  # exponential scale length from the half-light radius
        prof = np.exp(-rr / scale)
        prof = np.where(rr <= 6.0 * re, prof, 0.0)
        stamp = prof.sum(axis=(2, 3))
        stamp *= fi / stamp.sum()
        mx = (xs >= 0) & (xs < nx)
        my = (ys >= 0) & (ys < ny)
        img[np.ix_(ys[my], xs[mx])] += stamp[np.ix_(my, mx)]


def _cosmic_rays(rng, shape, n_events):
    """Cosmic-ray charge image (electrons): single pixels and short straight tracks."""
    ny, nx = shape
    cr = np.zeros(shape, dtype=np.float64)
    for _ in range(n_events):
        x0, y0 = rng.uniform(0, nx), rng.uniform(0, ny)
        amp = rng.lognormal(np.log(800.0), 0.6)
        if rng.random() < 0.45:
            ix, iy = int(x0), int(y0)
            cr[iy, ix] += amp
            continue
        length = rng.uniform(2.0, 10.0)
        ang = rng.uniform(0, np.pi)
        t = np.arange(0.0, length + 1e-9, 0.3)
        px = np.floor(x0 + t * np.cos(ang)).astype(int)
        py = np.floor(y0 + t * np.sin(ang)).astype(int)
        pix = np.unique(np.stack([py, px], axis=1), axis=0)
        ok = (pix[:, 0] >= 0) & (pix[:, 0] < ny) & (pix[:, 1] >= 0) & (pix[:, 1] < nx)
        pix = pix[ok]
        if len(pix) == 0:
            continue
        cr[pix[:, 0], pix[:, 1]] += amp * rng.uniform(0.5, 1.5, len(pix))
    return cr


# =========================================================================== simulate


def simulate_dither(
    n_exposures: int = 4,
    shape: tuple[int, int] = (256, 256),
    n_chips: int = 1,
    dithers="subpixel",
    sip: bool | float = True,
    n_stars: int = 60,
    n_galaxies: int = 10,
    sky: float = 40.0,
    exptime: float = 400.0,
    read_noise: float = 5.0,
    gain: float = 1.0,
    cr_rate: float = 5.0e-6,
    bad_pixel_fraction: float = 1.0e-3,
    wcs_error_arcsec: float = 0.0,
    seed: int = 0,
    outdir: str | os.PathLike | None = None,
    *,
    wcs_rotation_error_deg: float = 0.0,
    pixel_scale: float = 0.05,
    pa_deg: float = 0.0,
    psf_fwhm: float = 2.0,
    star_flux: tuple[float, float] = (500.0, 50000.0),
    galaxy_flux: tuple[float, float] = (2000.0, 40000.0),
    ra: float = 150.1,
    dec: float = 2.2,
    chip_gap: int = 20,
    bunit: str = "ELECTRONS",
    instrument: str = "DKSIM",
    detector: str = "CCD",
    prefix: str = "sim",
) -> SimulatedDither:
    """Simulate dithered FLT-like exposures with a known truth.

    Each exposure points at ``(ra, dec)`` plus its dither offset. Sources are placed
    on the sky, projected through the **true** TAN-SIP WCS of each chip and rendered by
    integrating the PSF (circular Gaussian) exactly over each pixel, so every star
    deposits exactly ``flux`` electrons (galaxies: elliptical exponential discs, also
    normalised to ``flux``). A constant sky, Poisson and Gaussian read noise, cosmic
    rays (single pixels and short tracks) and bad pixels (flagged in DQ) are added.
    The headers carry the true WCS moved by the injected pointing error.

    Parameters
    ----------
    n_exposures : int
        Number of exposures (files).
    shape : (int, int)
        Chip shape ``(ny, nx)`` in pixels.
    n_chips : int
        Chips per exposure, stacked in y with ``chip_gap`` pixels between them.
    dithers : {'subpixel', 'fewpixel'} or array_like (n_exposures, 2)
        Pointing offsets in pixels, see :func:`dither_pattern`.
    sip : bool or float
        Add a quadratic SIP distortion (ACS-like: ~1e-3 x half the chip size at the
        edge). A number scales that amplitude; ``False``/``0`` gives plain TAN.
    n_stars, n_galaxies : int
        Number of sources (spread over the dithered footprint).
    sky : float
        Sky level, electrons per pixel per exposure.
    exptime : float
        Exposure time (s), the same for every exposure.
    read_noise : float
        Read noise (e-, Gaussian).
    gain : float
        Gain (e-/DN), written to ``ATODGNA..D``; used to convert to DN when
        ``bunit='COUNTS'``.
    cr_rate : float
        Cosmic-ray events per pixel per second (about 2.5 pixels per event).
    bad_pixel_fraction : float
        Fraction of bad detector pixels (half hot, DQ=16; half dead, DQ=4).
    wcs_error_arcsec : float
        RMS per axis of the pointing error written into the headers (arcsec).
    seed : int
        Random seed; the same seed gives identical output.
    outdir : path, optional
        If given, write ``<prefix>NN_flt.fits`` files there (created if needed).
    wcs_rotation_error_deg : float
        RMS roll error (degrees) written into the headers.
    pixel_scale : float
        Pixel scale (arcsec/pixel).
    pa_deg : float
        Rotation of the detector y axis from north, towards east (degrees).
    psf_fwhm : float
        PSF FWHM (pixels).
    star_flux, galaxy_flux : (float, float)
        Range of total source fluxes (electrons per exposure), drawn log-uniformly.
    ra, dec : float
        Pointing of the first exposure (degrees).
    chip_gap : int
        Gap between chips (pixels).
    bunit : {'ELECTRONS', 'ELECTRONS/S', 'COUNTS'}
        Units of the written SCI/ERR arrays.
    instrument, detector : str
        ``INSTRUME`` / ``DETECTOR`` keywords.
    prefix : str
        File-name prefix.

    Returns
    -------
    SimulatedDither

    Examples
    --------
    >>> sim = simulate_dither(n_exposures=2, shape=(64, 64), n_stars=5, n_galaxies=1)
    >>> len(sim.hdulists), sim.hdulists[0]["SCI", 1].data.shape
    (2, (64, 64))
    """
    n_exposures = int(n_exposures)
    n_chips = int(n_chips)
    if n_exposures < 1:
        raise InputError(f"n_exposures: must be >= 1, got {n_exposures}")
    if n_chips < 1:
        raise InputError(f"n_chips: must be >= 1, got {n_chips}")
    try:
        ny, nx = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ShapeError(f"shape: expected (ny, nx), got {shape!r}") from None
    if ny < 8 or nx < 8:
        raise ShapeError(f"shape: chips must be at least 8x8 pixels, got {shape!r}")
    for name, val in (("sky", sky), ("read_noise", read_noise), ("cr_rate", cr_rate),
                      ("bad_pixel_fraction", bad_pixel_fraction),
                      ("wcs_error_arcsec", wcs_error_arcsec),
                      ("wcs_rotation_error_deg", wcs_rotation_error_deg),
                      ("n_stars", n_stars), ("n_galaxies", n_galaxies)):
        if not np.isfinite(val) or val < 0:
            raise InputError(f"{name}: must be finite and >= 0, got {val!r}")
    for name, val in (("exptime", exptime), ("gain", gain), ("pixel_scale", pixel_scale),
                      ("psf_fwhm", psf_fwhm)):
        if not np.isfinite(val) or val <= 0:
            raise InputError(f"{name}: must be finite and > 0, got {val!r}")
    if bad_pixel_fraction > 0.5:
        raise InputError(f"bad_pixel_fraction: must be <= 0.5, got {bad_pixel_fraction}")
    bunit_u = str(bunit).strip().upper()
    if bunit_u not in ("ELECTRONS", "ELECTRONS/S", "COUNTS"):
        raise InputError(f"bunit: use 'ELECTRONS', 'ELECTRONS/S' or 'COUNTS', got {bunit!r}")
    sip_scale = float(sip) if not isinstance(sip, bool) else (1.0 if sip else 0.0)

    rng = np.random.default_rng(seed)
    dith = dither_pattern(dithers, n_exposures)

    scale_deg = pixel_scale / 3600.0
    # CD: x axis to the west (RA decreasing), y axis north, then rotated by pa_deg
    cd = _rotation(pa_deg) @ np.array([[-scale_deg, 0.0], [0.0, scale_deg]])
    base = _tan_wcs((ra, dec), cd)

    # focal-plane centres of the chips (pixels from the boresight)
    pitch = ny + chip_gap
    fp_offsets = [(0.0, (k - (n_chips - 1) / 2.0) * pitch) for k in range(n_chips)]
    size = max(nx, ny)
    sips = [_sip_coefficients(k, size, sip_scale) if sip_scale else None for k in range(n_chips)]

    # ---- pointing and WCS per exposure
    errors = rng.normal(0.0, 1.0, (n_exposures, 2)) * wcs_error_arcsec
    rot_errors = rng.normal(0.0, 1.0, n_exposures) * wcs_rotation_error_deg
    true_wcs, head_wcs = [], []
    for i in range(n_exposures):
        bore = base.wcs_pix2world([[dith[i, 0], dith[i, 1]]], 0)[0]
        true_wcs.append([_chip_wcs(bore, cd, fp_offsets[k], (ny, nx), sips[k])
                         for k in range(n_chips)])
        bore_h = _offset_sky(bore[0], bore[1], errors[i, 0], errors[i, 1])
        cd_h = _rotation(rot_errors[i]) @ cd
        head_wcs.append([_chip_wcs(bore_h, cd_h, fp_offsets[k], (ny, nx), sips[k])
                         for k in range(n_chips)])

    # ---- catalogue, uniform over the focal plane area covered by the dithers
    x_lo = -nx / 2.0 + dith[:, 0].min() + 2
    x_hi = nx / 2.0 + dith[:, 0].max() - 2
    y_lo = fp_offsets[0][1] - ny / 2.0 + dith[:, 1].min() + 2
    y_hi = fp_offsets[-1][1] + ny / 2.0 + dith[:, 1].max() - 2
    n_src = int(n_stars) + int(n_galaxies)
    fx = rng.uniform(x_lo, x_hi, n_src)
    fy = rng.uniform(y_lo, y_hi, n_src)
    src_ra, src_dec = base.wcs_pix2world(fx, fy, 0)
    kind = np.array(["star"] * int(n_stars) + ["galaxy"] * int(n_galaxies))
    lo, hi = np.log(star_flux[0]), np.log(star_flux[1])
    glo, ghi = np.log(galaxy_flux[0]), np.log(galaxy_flux[1])
    flux = np.concatenate([np.exp(rng.uniform(lo, hi, int(n_stars))),
                           np.exp(rng.uniform(glo, ghi, int(n_galaxies)))])
    r_eff = np.concatenate([np.zeros(int(n_stars)), rng.uniform(1.5, 4.0, int(n_galaxies))])
    q = np.concatenate([np.ones(int(n_stars)), rng.uniform(0.4, 1.0, int(n_galaxies))])
    theta = np.concatenate([np.zeros(int(n_stars)), rng.uniform(0, 180, int(n_galaxies))])
    catalog = Table(
        {
            "id": np.arange(1, n_src + 1),
            "kind": kind,
            "ra": src_ra,
            "dec": src_dec,
            "flux": flux,
            "flux_rate": flux / exptime,
            "r_eff": r_eff,
            "axis_ratio": q,
            "theta": theta,
        }
    )
    catalog["ra"].unit = catalog["dec"].unit = "deg"
    catalog["flux"].unit = "electron"
    catalog["flux_rate"].unit = "electron / s"
    catalog["r_eff"].unit = "pix"
    catalog["theta"].unit = "deg"
    is_star = kind == "star"

    # ---- detector defects (fixed per chip)
    bad_masks, dq_base, hot_values = [], [], []
    for k in range(n_chips):
        n_bad = int(round(bad_pixel_fraction * ny * nx))
        flat_idx = rng.choice(ny * nx, size=n_bad, replace=False) if n_bad else np.array([], int)
        mask = np.zeros(ny * nx, dtype=bool)
        mask[flat_idx] = True
        dq = np.zeros(ny * nx, dtype=np.int16)
        hot = np.zeros(ny * nx)
        n_hot = n_bad // 2
        dq[flat_idx[:n_hot]] = 16
        hot[flat_idx[:n_hot]] = rng.uniform(300.0, 3000.0, n_hot)
        dq[flat_idx[n_hot:]] = 4
        bad_masks.append(mask.reshape(ny, nx))
        dq_base.append(dq.reshape(ny, nx))
        hot_values.append(hot.reshape(ny, nx))

    sigma = psf_fwhm * _FWHM_TO_SIGMA
    to_units = {"ELECTRONS": 1.0, "ELECTRONS/S": 1.0 / exptime, "COUNTS": 1.0 / gain}[bunit_u]

    hdulists, cr_masks, models = [], [], []
    mjd0 = 60000.0
    for i in range(n_exposures):
        expstart = mjd0 + i * (exptime + 300.0) / 86400.0
        root = f"{prefix}{i:02d}"
        phdr = fits.Header()
        phdr["TELESCOP"] = ("DRIZZLEKIT", "simulated data (drizzlekit.datasets)")
        phdr["INSTRUME"] = instrument
        phdr["DETECTOR"] = detector
        phdr["FILENAME"] = f"{root}_flt.fits"
        phdr["ROOTNAME"] = root
        phdr["FILTER"] = "CLEAR"
        phdr["NEXTEND"] = 3 * n_chips
        phdr["EXPTIME"] = (float(exptime), "exposure duration (seconds)")
        phdr["EXPSTART"] = (expstart, "exposure start time (MJD)")
        phdr["EXPEND"] = (expstart + exptime / 86400.0, "exposure end time (MJD)")
        phdr["DATE-OBS"] = "2023-02-25"
        for amp in "ABCD":
            phdr[f"ATODGN{amp}"] = (float(gain), f"gain of amplifier {amp} (e-/DN)")
        for amp in "ABCD":
            phdr[f"READNSE{amp}"] = (float(read_noise), f"read noise of amplifier {amp} (e-)")
        phdr["POSTARG1"] = (float(dith[i, 0] * pixel_scale), "dither offset along x (arcsec)")
        phdr["POSTARG2"] = (float(dith[i, 1] * pixel_scale), "dither offset along y (arcsec)")
        phdr["SIMSEED"] = (int(seed), "drizzlekit.datasets.simulate_dither seed")
        hdul = fits.HDUList([fits.PrimaryHDU(header=phdr)])
        cr_row, model_row = [], []
        for k in range(n_chips):
            w = true_wcs[i][k]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sx, sy = w.all_world2pix(src_ra, src_dec, 0, tolerance=1e-10, maxiter=100)
            model = np.full((ny, nx), float(sky))
            _add_gaussian_stars(model, sx[is_star], sy[is_star], flux[is_star], sigma)
            g = ~is_star
            _add_galaxies(model, sx[g], sy[g], flux[g], r_eff[g], q[g], theta[g])

            n_cr = rng.poisson(cr_rate * exptime * ny * nx)
            cr = _cosmic_rays(rng, (ny, nx), n_cr)
            data = rng.poisson(model).astype(np.float64)
            data += rng.normal(0.0, read_noise, (ny, nx))
            data += cr
            bad = bad_masks[k]
            hot = dq_base[k] == 16
            data[hot] += hot_values[k][hot]
            dead = bad & ~hot
            data[dead] = rng.normal(0.0, read_noise, int(dead.sum()))
            err = np.sqrt(np.maximum(data, 0.0) + read_noise ** 2)

            shdr = fits.Header()
            shdr["EXTNAME"] = "SCI"
            shdr["EXTVER"] = k + 1
            shdr["BUNIT"] = (bunit_u, "brightness units")
            shdr["CCDCHIP"] = k + 1
            shdr["EXPNAME"] = root
            shdr["IDCSCALE"] = (float(pixel_scale), "nominal pixel scale (arcsec)")
            shdr.extend(_wcs_header(head_wcs[i][k]), update=True)
            ehdr = fits.Header()
            ehdr["EXTNAME"] = "ERR"
            ehdr["EXTVER"] = k + 1
            ehdr["BUNIT"] = bunit_u
            dhdr = fits.Header()
            dhdr["EXTNAME"] = "DQ"
            dhdr["EXTVER"] = k + 1
            hdul.append(fits.ImageHDU((data * to_units).astype(np.float32), header=shdr))
            hdul.append(fits.ImageHDU((err * to_units).astype(np.float32), header=ehdr))
            hdul.append(fits.ImageHDU(dq_base[k].copy(), header=dhdr))
            cr_row.append(cr > 0)
            model_row.append(model.astype(np.float32))
        hdulists.append(hdul)
        cr_masks.append(cr_row)
        models.append(model_row)

    filenames = None
    if outdir is not None:
        os.makedirs(outdir, exist_ok=True)
        filenames = []
        from .io.atomic import atomic_path

        for i, hdul in enumerate(hdulists):
            path = os.path.join(os.fspath(outdir), f"{prefix}{i:02d}_flt.fits")
            with atomic_path(path) as tmp:
                hdul.writeto(tmp)
            filenames.append(path)

    truth = SimulatedTruth(
        catalog=catalog,
        wcs=true_wcs,
        header_wcs=head_wcs,
        wcs_errors=errors,
        wcs_rotation_errors=rot_errors,
        dithers=dith,
        cr_masks=cr_masks,
        bad_pixel_masks=bad_masks,
        models=models,
        sky=float(sky),
        exptime=float(exptime),
        gain=float(gain),
        read_noise=float(read_noise),
        psf_fwhm=float(psf_fwhm),
        pixel_scale=float(pixel_scale),
    )
    return SimulatedDither(
        exposures=filenames if filenames is not None else hdulists,
        hdulists=hdulists,
        filenames=filenames,
        truth=truth,
    )


# =========================================================================== cropping

_LOOKUP_KEYS = ("CPDIS1", "CPDIS2", "D2IMDIS1", "D2IMDIS2", "D2IM1", "D2IM2")


def crop_exposure(hdul: fits.HDUList, x0: int, y0: int, nx: int, ny: int) -> fits.HDUList:
    """Cut ``[y0:y0+ny, x0:x0+nx]`` (0-based) out of every image extension.

    The WCS stays exact: SIP polynomials are defined relative to ``CRPIX``, so
    shifting ``CRPIX`` by the crop offset gives the same sky position for the same
    physical pixel. ``LTV1/LTV2`` are updated too. Extensions without 2-D data
    (the primary header, tables) are copied unchanged.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        FLT-like exposure (not modified).
    x0, y0 : int
        0-based origin of the crop (pixels).
    nx, ny : int
        Size of the crop (pixels).

    Returns
    -------
    astropy.io.fits.HDUList
        A new in-memory HDU list.

    Raises
    ------
    drizzlekit.exceptions.InputError
        The crop does not fit in an image, or a chip has lookup-table distortions
        (CPDIS/D2IM), whose tables this function does not shift.
    """
    x0, y0, nx, ny = int(x0), int(y0), int(nx), int(ny)
    if nx < 1 or ny < 1 or x0 < 0 or y0 < 0:
        raise InputError(f"crop: invalid region x0={x0}, y0={y0}, nx={nx}, ny={ny}")
    out = fits.HDUList()
    for idx, hdu in enumerate(hdul):
        data = hdu.data if hdu.is_image else None
        hdr = hdu.header.copy()
        if data is not None and np.ndim(data) == 2:
            h, w = data.shape
            if x0 + nx > w or y0 + ny > h:
                raise InputError(
                    f"crop: region x0={x0}, y0={y0}, nx={nx}, ny={ny} does not fit in "
                    f"extension {idx} of shape {data.shape}"
                )
            if any(k in hdr for k in _LOOKUP_KEYS):
                raise InputError(
                    f"crop: extension {idx} has lookup-table distortions (CPDIS/D2IM), "
                    "which crop_exposure does not support"
                )
            new = np.array(data[y0:y0 + ny, x0:x0 + nx], copy=True)
            for key in ("CRPIX1", "CRPIX2"):
                if key in hdr:
                    hdr[key] = float(hdr[key]) - (x0 if key.endswith("1") else y0)
            hdr["LTV1"] = float(hdr.get("LTV1", 0.0)) - x0
            hdr["LTV2"] = float(hdr.get("LTV2", 0.0)) - y0
            for key in ("WCSNAX1", "SIZAXIS1"):
                if key in hdr:
                    hdr[key] = nx
            for key in ("WCSNAX2", "SIZAXIS2"):
                if key in hdr:
                    hdr[key] = ny
            for key in ("BSCALE", "BZERO"):
                hdr.remove(key, ignore_missing=True)
            cls = fits.PrimaryHDU if idx == 0 else fits.ImageHDU
            out.append(cls(data=new, header=hdr))
        else:
            out.append(hdu.copy())
    return out


# =========================================================================== HST 47 Tuc


#: Rootnames of the shipped ACS/HRC frames (the calibrated FLT first).
HST_47TUC_ROOTNAMES = ("j8bt06nyq", "j8bt05njq", "j8bt06o6q", "j8bt09jcq")

_SIP_HEADER_FILE = "j8bt06nyq_sip.hdr"


@dataclass
class HSTDataset:
    """Real HST frames returned by :func:`load_hst_47tuc`.

    Attributes
    ----------
    exposures : list
        File paths when ``outdir`` was given, else the in-memory HDULists.
    hdulists : list of astropy.io.fits.HDUList
    filenames : list of str or None
    rootnames : list of str
    description : str
    """

    exposures: list
    hdulists: list
    filenames: list | None
    rootnames: list
    description: str = field(repr=False)

    def __len__(self) -> int:
        return len(self.hdulists)


_47TUC_DESCRIPTION = """\
ACS/HRC observations of 47 Tuc (NGC 104), HST proposal 9019 (PI Bohlin), 2002-04-13,
four 60-66 s exposures dithered by 8-17 arcsec (POSTARG), 0.025 arcsec/pixel:
  j8bt06nyq  F606W  60 s  calibrated FLT (bias, dark, flat; ELECTRONS; real ERR and DQ)
  j8bt05njq  F555W  60 s  RAW frame made FLT-like
  j8bt06o6q  F606W  60 s  RAW frame made FLT-like
  j8bt09jcq  F330W  66 s  RAW frame made FLT-like
Each frame is a 512x512 crop (about the common overlap) of the 1024x1024 image.
RAW -> FLT-like: overscan trimmed, overscan level subtracted, times gain 2.216 e-/DN,
ERR = sqrt(max(e-, 0) + 4.71^2), DQ = 0 (no bias/dark/flat correction, cosmic rays kept).
WCS: TAN-SIP (order 4) from the distortion-updated header of j8bt06nyq; the raws get the
same SIP with their own CRVAL and orientation. Header WCSs disagree by 10-35 mas
(0.4-1.3 pixels): alignment (TweakReg) is needed before drizzling.
Based on observations made with the NASA/ESA Hubble Space Telescope, obtained from the
Mikulski Archive for Space Telescopes (public data; carrier packages BSD-3, AURA).
"""


def _data_path(name: str):
    return resources.files("drizzlekit.data").joinpath(name)


def _read_sip_header() -> fits.Header:
    text = _data_path(_SIP_HEADER_FILE).read_text()
    return fits.Header.fromstring(text, sep="\n")


def _sip_cd(hdr: fits.Header, suffix: str = "") -> np.ndarray:
    return np.array([[hdr["CD1_1" + suffix], hdr["CD1_2" + suffix]],
                     [hdr["CD2_1" + suffix], hdr["CD2_2" + suffix]]], dtype=float)


def _apply_sip(sci_hdr: fits.Header, sip_hdr: fits.Header, crval, cd, crpix) -> None:
    """Write a TAN-SIP WCS (coefficients from ``sip_hdr``) into ``sci_hdr`` in place."""
    for key in list(sci_hdr.keys()):
        if (key[:2] in ("A_", "B_") and (key[2:3].isdigit() or key[2:] == "ORDER")) or \
                key.startswith(("AP_", "BP_")):
            sci_hdr.remove(key, ignore_missing=True, remove_all=True)
    sci_hdr["CTYPE1"] = "RA---TAN-SIP"
    sci_hdr["CTYPE2"] = "DEC--TAN-SIP"
    sci_hdr["CRPIX1"], sci_hdr["CRPIX2"] = float(crpix[0]), float(crpix[1])
    sci_hdr["CRVAL1"], sci_hdr["CRVAL2"] = float(crval[0]), float(crval[1])
    sci_hdr["CD1_1"], sci_hdr["CD1_2"] = float(cd[0, 0]), float(cd[0, 1])
    sci_hdr["CD2_1"], sci_hdr["CD2_2"] = float(cd[1, 0]), float(cd[1, 1])
    sci_hdr["A_ORDER"] = int(sip_hdr["A_ORDER"])
    sci_hdr["B_ORDER"] = int(sip_hdr["B_ORDER"])
    for key in sip_hdr:
        if key[:2] in ("A_", "B_") and key[2:3].isdigit():
            sci_hdr[key] = float(sip_hdr[key])
    sci_hdr["WCSNAME"] = "IDC_SIP"
    sci_hdr["IDCSCALE"] = float(sip_hdr.get("IDCSCALE", 0.025))


def _raw_to_flt(hdul: fits.HDUList, sip_hdr: fits.Header, flt_primary: fits.Header):
    """Shipped cropped RAW (counts) -> FLT-like HDUList in electrons with TAN-SIP."""
    phdr = hdul[0].header.copy()
    sci_hdr = hdul[1].header.copy()
    counts = np.asarray(hdul[1].data, dtype=np.float64)
    level = float(sci_hdr["OSCNLEV"])
    gain = float(flt_primary["ATODGNC"])
    rdn = float(flt_primary["READNSEC"])
    sci = ((counts - level) * gain).astype(np.float32)
    err = np.sqrt(np.maximum(sci.astype(np.float64), 0.0) + rdn ** 2).astype(np.float32)
    dq = np.zeros(sci.shape, dtype=np.int16)

    for key in ("ATODGNA", "ATODGNB", "ATODGNC", "ATODGND",
                "READNSEA", "READNSEB", "READNSEC", "READNSED"):
        phdr[key] = float(flt_primary[key])
    root = str(phdr.get("ROOTNAME", "")).strip().lower()
    phdr["FILENAME"] = f"{root}_flt.fits"
    phdr["FILETYPE"] = "SCI"
    phdr["HISTORY"] = ("drizzlekit: RAW made FLT-like: overscan level "
                       f"{level:.2f} DN subtracted, x gain {gain} e-/DN, ERR from "
                       f"Poisson + RN {rdn} e-, DQ = 0")

    # WCS: raw TAN WCS gives CRVAL (at the full trimmed frame's pixel 512,512) and
    # orientation; SIP and the linear part come from the j8bt06nyq distortion header,
    # rotated by the raw-vs-j8bt06nyq difference of their pipeline (OPUS) CD matrices.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        raw_wcs = WCS(sci_hdr)
    ltv1, ltv2 = float(sci_hdr.get("LTV1", 0.0)), float(sci_hdr.get("LTV2", 0.0))
    # pixel (511, 511) 0-based of the trimmed full frame, in this crop's pixels
    crval = raw_wcs.wcs_pix2world([[511.0 + ltv1, 511.0 + ltv2]], 0)[0]
    rot = _sip_cd(sci_hdr) @ np.linalg.inv(_sip_cd(sip_hdr, "O"))
    cd = rot @ _sip_cd(sip_hdr)
    crpix = (float(sip_hdr["CRPIX1"]) + ltv1, float(sip_hdr["CRPIX2"]) + ltv2)
    for key in ("OSCNLEV", "BSCALE", "BZERO", "DATAMIN", "DATAMAX"):
        sci_hdr.remove(key, ignore_missing=True)
    sci_hdr["BUNIT"] = "ELECTRONS"
    _apply_sip(sci_hdr, sip_hdr, crval, cd, crpix)
    sci_hdr["OSCNLEV"] = (level, "overscan level subtracted (DN)")

    ehdr = fits.Header()
    ehdr["EXTNAME"], ehdr["EXTVER"], ehdr["BUNIT"] = "ERR", 1, "ELECTRONS"
    dhdr = fits.Header()
    dhdr["EXTNAME"], dhdr["EXTVER"] = "DQ", 1
    return fits.HDUList([
        fits.PrimaryHDU(header=phdr),
        fits.ImageHDU(sci, header=sci_hdr),
        fits.ImageHDU(err, header=ehdr),
        fits.ImageHDU(dq, header=dhdr),
    ])


def _flt_with_sip(hdul: fits.HDUList, sip_hdr: fits.Header) -> fits.HDUList:
    out = fits.HDUList([h.copy() for h in hdul])
    sci_hdr = out["SCI", 1].header
    ltv1, ltv2 = float(sci_hdr.get("LTV1", 0.0)), float(sci_hdr.get("LTV2", 0.0))
    crpix = (float(sip_hdr["CRPIX1"]) + ltv1, float(sip_hdr["CRPIX2"]) + ltv2)
    _apply_sip(sci_hdr, sip_hdr, (sip_hdr["CRVAL1"], sip_hdr["CRVAL2"]), _sip_cd(sip_hdr), crpix)
    return out


def load_hst_47tuc(
    outdir: str | os.PathLike | None = None,
    rootnames: Sequence[str] | None = None,
) -> HSTDataset:
    """Load the shipped ACS/HRC frames of 47 Tuc as FLT-like exposures.

    Parameters
    ----------
    outdir : path, optional
        If given, write ``<rootname>_flt.fits`` files there (created if needed) and
        return their paths in ``.exposures``.
    rootnames : sequence of str, optional
        Subset of :data:`HST_47TUC_ROOTNAMES` (default: all four, FLT first).

    Returns
    -------
    HSTDataset
        ``.hdulists``: one FLT-like HDUList per frame (PRIMARY, SCI, ERR, DQ in
        ELECTRONS, 512x512, TAN-SIP WCS); ``.description`` says what they are.

    Notes
    -----
    See ``drizzlekit/data/README.md`` for provenance and how the crops were made.

    Examples
    --------
    >>> data = load_hst_47tuc()
    >>> data.rootnames[0], data.hdulists[0]["SCI", 1].data.shape
    ('j8bt06nyq', (512, 512))
    """
    if rootnames is None:
        rootnames = list(HST_47TUC_ROOTNAMES)
    else:
        rootnames = [str(r).strip().lower() for r in rootnames]
        unknown = [r for r in rootnames if r not in HST_47TUC_ROOTNAMES]
        if unknown:
            raise InputError(f"rootnames: unknown frame(s) {unknown}; "
                             f"available: {list(HST_47TUC_ROOTNAMES)}")
    sip_hdr = _read_sip_header()
    with fits.open(_data_path("j8bt06nyq_flt_crop.fits.gz"), memmap=False) as h:
        flt_primary = h[0].header.copy()
        flt = _flt_with_sip(h, sip_hdr) if "j8bt06nyq" in rootnames else None

    hdulists = []
    for root in rootnames:
        if root == "j8bt06nyq":
            hdulists.append(flt)
            continue
        with fits.open(_data_path(f"{root}_raw_crop.fits.gz"), memmap=False) as h:
            h[1].data  # load before closing
            hdulists.append(_raw_to_flt(h, sip_hdr, flt_primary))

    filenames = None
    if outdir is not None:
        from .io.atomic import atomic_path

        os.makedirs(outdir, exist_ok=True)
        filenames = []
        for root, hdul in zip(rootnames, hdulists):
            path = os.path.join(os.fspath(outdir), f"{root}_flt.fits")
            with atomic_path(path) as tmp:
                hdul.writeto(tmp)
            filenames.append(path)
    return HSTDataset(
        exposures=filenames if filenames is not None else hdulists,
        hdulists=hdulists,
        filenames=filenames,
        rootnames=list(rootnames),
        description=_47TUC_DESCRIPTION,
    )
