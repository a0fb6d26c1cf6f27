"""Simulated dithered exposures and the shipped HST 47 Tuc frames."""

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.wcs import WCS
from photutils.centroids import centroid_com
from photutils.detection import DAOStarFinder

from drizzlekit.datasets import (
    HST_47TUC_ROOTNAMES,
    crop_exposure,
    dither_pattern,
    load_hst_47tuc,
    simulate_dither,
)
from drizzlekit.exceptions import InputError, ShapeError
from drizzlekit.io.fits_input import read_exposure

SHARED_47TUC = Path("/work/shared/data/hst_acs_hrc_47tuc")
SHARED_HDR = Path("/work/shared/data/wcs_headers")


def quiet_wcs(header, fobj=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(header, fobj)


@pytest.fixture(scope="module")
def sim():
    return simulate_dither(seed=11)


@pytest.fixture(scope="module")
def clean_sim():
    return simulate_dither(n_exposures=2, cr_rate=0.0, bad_pixel_fraction=0.0,
                           star_flux=(20000.0, 60000.0), seed=4)


def star_pixels(s, i, k=0):
    cat = s.truth.catalog
    stars = cat[cat["kind"] == "star"]
    x, y = s.truth.wcs[i][k].all_world2pix(stars["ra"], stars["dec"], 0, tolerance=1e-10)
    return stars, x, y


def isolated(s, i, k=0, min_sep=15.0, edge=12.0):
    cat = s.truth.catalog
    x, y = s.truth.wcs[i][k].all_world2pix(cat["ra"], cat["dec"], 0, tolerance=1e-10)
    ny, nx = s.hdulists[i]["SCI", k + 1].data.shape
    ok = []
    for j in np.flatnonzero(cat["kind"] == "star"):
        # galaxy discs reach 6 r_eff; keep them off the star's aperture
        d = np.hypot(x - x[j], y - y[j]) - 6.0 * np.asarray(cat["r_eff"])
        d[j] = np.inf
        if d.min() > min_sep and edge < x[j] < nx - 1 - edge and edge < y[j] < ny - 1 - edge:
            ok.append(j)
    return np.array(ok, dtype=int), x, y


def aperture_sum(img, x, y, r):
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    m = np.hypot(xx - x, yy - y) <= r
    return img[m].sum(), m.sum()


# --------------------------------------------------------------------------- structure


def test_structure_and_headers(sim):
    assert len(sim) == 4 and sim.filenames is None and sim.exposures is sim.hdulists
    for i, hdul in enumerate(sim.hdulists):
        p = hdul[0].header
        assert p["INSTRUME"] == "DKSIM" and p["DETECTOR"] == "CCD"
        assert p["EXPTIME"] == sim.truth.exptime
        assert [h.name for h in hdul[1:]] == ["SCI", "ERR", "DQ"]
        sci = hdul["SCI", 1]
        assert sci.header["BUNIT"] == "ELECTRONS" and sci.header["EXTVER"] == 1
        assert sci.header["CTYPE1"] == "RA---TAN-SIP" and sci.header["A_ORDER"] == 2
        assert sci.data.dtype == np.float32 and sci.data.shape == (256, 256)
        assert hdul["DQ", 1].data.dtype == np.int16
        assert np.all(hdul["ERR", 1].data > 0)
    cat = sim.truth.catalog
    assert set(cat.colnames) >= {"ra", "dec", "flux", "kind"}
    assert (cat["kind"] == "star").sum() == 60 and (cat["kind"] == "galaxy").sum() == 10
    assert np.allclose(cat["flux_rate"] * sim.truth.exptime, cat["flux"])


def test_reproducible_by_seed():
    a = simulate_dither(n_exposures=2, shape=(48, 48), n_stars=5, n_galaxies=1, seed=7)
    b = simulate_dither(n_exposures=2, shape=(48, 48), n_stars=5, n_galaxies=1, seed=7)
    c = simulate_dither(n_exposures=2, shape=(48, 48), n_stars=5, n_galaxies=1, seed=8)
    assert np.array_equal(a.hdulists[1]["SCI", 1].data, b.hdulists[1]["SCI", 1].data)
    assert not np.array_equal(a.hdulists[1]["SCI", 1].data, c.hdulists[1]["SCI", 1].data)


def test_default_is_fast():
    simulate_dither(n_exposures=1, shape=(32, 32))  # warm imports
    t0 = time.perf_counter()
    simulate_dither()
    elapsed = time.perf_counter() - t0
    print(f"simulate_dither() default: {elapsed:.2f} s")  # measured, not asserted


def test_writes_files(tmp_path):
    s = simulate_dither(n_exposures=2, shape=(40, 50), n_stars=3, n_galaxies=0,
                        outdir=tmp_path / "out", prefix="dk")
    assert s.exposures == s.filenames
    assert [Path(f).name for f in s.filenames] == ["dk00_flt.fits", "dk01_flt.fits"]
    with fits.open(s.filenames[1]) as h:
        assert np.array_equal(h["SCI", 1].data, s.hdulists[1]["SCI", 1].data)


def test_bad_arguments():
    with pytest.raises(ShapeError, match="dithers"):
        simulate_dither(n_exposures=3, dithers=np.zeros((2, 2)))
    with pytest.raises(InputError, match="dithers"):
        simulate_dither(dithers="spiral")
    with pytest.raises(InputError, match="n_exposures"):
        simulate_dither(n_exposures=0)
    with pytest.raises(ShapeError, match="shape"):
        simulate_dither(shape=(4, 4))
    with pytest.raises(InputError, match="exptime"):
        simulate_dither(exptime=-1)
    with pytest.raises(InputError, match="bunit"):
        simulate_dither(bunit="JY")


# --------------------------------------------------------------------------- truth


def test_noiseless_model_flux_is_exact(clean_sim):
    s = clean_sim
    for i in range(2):
        idx, x, y = isolated(s, i)
        assert len(idx) >= 3
        model = s.truth.models[i][0].astype(np.float64)
        for j in idx:
            total, npix = aperture_sum(model, x[j], y[j], 7.0)
            assert total - s.truth.sky * npix == pytest.approx(s.truth.catalog["flux"][j],
                                                              rel=1e-5)


def test_isolated_star_flux_in_noisy_exposure(clean_sim):
    s = clean_sim
    idx, x, y = isolated(s, 0)
    data = s.hdulists[0]["SCI", 1].data.astype(np.float64)
    ratios, sig = [], []
    for j in idx:
        flux = s.truth.catalog["flux"][j]
        total, npix = aperture_sum(data, x[j], y[j], 6.0)
        ratios.append((total - s.truth.sky * npix) / flux)
        sig.append(np.sqrt(flux + npix * (s.truth.sky + s.truth.read_noise ** 2)) / flux)
    ratios, sig = np.array(ratios), np.array(sig)
    assert len(ratios) >= 5
    # each star within 4 sigma of its noise (sigma ~0.4-0.8% here), the mean within 1%
    assert np.all(np.abs(ratios - 1) < 4 * sig)
    assert abs(ratios.mean() - 1) < 0.01


def test_stars_centred_at_true_wcs_positions(clean_sim):
    s = clean_sim
    for i in range(2):
        idx, x, y = isolated(s, i)
        model = s.truth.models[i][0] - s.truth.sky
        for j in idx:
            cx, cy = int(round(x[j])), int(round(y[j]))
            box = model[cy - 6:cy + 7, cx - 6:cx + 7]
            gx, gy = centroid_com(box)
            assert abs(gx + cx - 6 - x[j]) < 0.01 and abs(gy + cy - 6 - y[j]) < 0.01


def test_dither_offsets_move_stars():
    s = simulate_dither(n_exposures=4, dithers="fewpixel", sip=False, n_stars=10,
                        n_galaxies=0, seed=2)
    d = dither_pattern("fewpixel", 4)
    assert np.allclose(s.truth.dithers, d)
    _, x0, y0 = star_pixels(s, 0)
    for i in range(1, 4):
        _, xi, yi = star_pixels(s, i)
        # without distortion a source moves by minus the dither (to < 1e-3 px)
        assert np.allclose(xi - x0, -d[i, 0], atol=1e-3)
        assert np.allclose(yi - y0, -d[i, 1], atol=1e-3)
    frac = dither_pattern("subpixel", 4) % 1
    assert sorted(map(tuple, frac)) == [(0, 0), (0, 0.5), (0.5, 0), (0.5, 0.5)]
    assert dither_pattern("subpixel", 9).shape == (9, 2)


def test_cosmic_ray_masks_match_injected_pixels(sim):
    s = sim
    n_cr = 0
    for i in range(4):
        data = s.hdulists[i]["SCI", 1].data.astype(np.float64)
        model = s.truth.models[i][0].astype(np.float64)
        sigma = np.sqrt(model + s.truth.read_noise ** 2)
        z = (data - model) / sigma
        cr = s.truth.cr_masks[i][0]
        bad = s.truth.bad_pixel_masks[0]
        n_cr += cr.sum()
        assert cr.dtype == bool and cr.shape == data.shape
        # every injected pixel stands out; every other good pixel is just noise
        assert np.mean(z[cr & ~bad] > 5) > 0.99
        assert np.max(np.abs(z[~cr & ~bad])) < 7
    # about cr_rate * exptime * 2.5 pixels per event
    expected = 5e-6 * 400 * 2.5 * 256 * 256 * 4
    assert 0.5 * expected < n_cr < 2 * expected


def test_bad_pixels_flagged_in_dq(sim):
    bad = sim.truth.bad_pixel_masks[0]
    assert bad.sum() == round(1e-3 * 256 * 256)
    for i in range(4):
        dq = sim.hdulists[i]["DQ", 1].data
        assert np.array_equal(dq != 0, bad)
        assert set(np.unique(dq[bad])) <= {4, 16}
        data = sim.hdulists[i]["SCI", 1].data
        model = sim.truth.models[i][0]
        hot = dq == 16
        assert np.all(data[hot] - model[hot] > 150)


def test_multichip_geometry():
    s = simulate_dither(n_exposures=2, shape=(64, 96), n_chips=2, n_stars=40, n_galaxies=0,
                        seed=9)
    assert [h.header["EXTVER"] for h in s.hdulists[0] if h.name == "SCI"] == [1, 2]
    w1, w2 = s.truth.wcs[0]
    # chip 2 sits above chip 1 with a 20-px gap: its first row is 84 px above chip 1's
    ra, dec = w2.all_pix2world([48.0], [0.0], 0)
    x, y = w1.all_world2pix(ra, dec, 0)
    assert y[0] == pytest.approx(84.0, abs=0.5) and x[0] == pytest.approx(48.0, abs=0.5)
    for k in range(2):
        _, x, y = star_pixels(s, 0, k)
        assert np.sum((x > 0) & (x < 95) & (y > 0) & (y < 63)) > 0


# --------------------------------------------------------------------------- crop


def test_crop_keeps_sky_positions():
    s = simulate_dither(n_exposures=1, shape=(120, 100), n_chips=2, n_stars=5,
                        n_galaxies=0, seed=1)
    full = s.hdulists[0]
    cut = crop_exposure(full, 17, 31, 50, 60)
    for k in (1, 2):
        wf = quiet_wcs(full["SCI", k].header)
        wc = quiet_wcs(cut["SCI", k].header)
        assert np.array_equal(cut["SCI", k].data, full["SCI", k].data[31:91, 17:67])
        assert np.array_equal(cut["DQ", k].data, full["DQ", k].data[31:91, 17:67])
        assert cut["SCI", k].header["LTV1"] == -17 and cut["SCI", k].header["LTV2"] == -31
        _, x, y = star_pixels(s, 0, k - 1)
        xc, yc = np.array([3.3, 40.0, 49.0]), np.array([5.5, 12.25, 59.0])
        a = np.array(wc.all_pix2world(xc, yc, 0))
        b = np.array(wf.all_pix2world(xc + 17, yc + 31, 0))
        assert np.max(np.abs(a - b)) < 1e-12
    with pytest.raises(InputError, match="does not fit"):
        crop_exposure(full, 80, 0, 50, 10)


@pytest.mark.skipif(not SHARED_HDR.is_dir(), reason="shared headers not present")
def test_crop_refuses_lookup_tables():
    with fits.open(SHARED_HDR / "dist_lookup.fits.gz") as h:
        with pytest.raises(InputError, match="lookup"):
            crop_exposure(h, 0, 0, 10, 10)


# --------------------------------------------------------------------------- HST 47 Tuc


@pytest.fixture(scope="module")
def tuc():
    return load_hst_47tuc()


def test_47tuc_frames(tuc, tmp_path):
    assert tuc.rootnames == list(HST_47TUC_ROOTNAMES)
    assert "47 Tuc" in tuc.description and "Hubble" in tuc.description
    exptimes = {"j8bt06nyq": 60.0, "j8bt05njq": 60.0, "j8bt06o6q": 60.0, "j8bt09jcq": 66.0}
    sub = load_hst_47tuc(outdir=tmp_path, rootnames=["j8bt09jcq"])
    assert [Path(f).name for f in sub.exposures] == ["j8bt09jcq_flt.fits"]
    for root, hdul in zip(tuc.rootnames, tuc.hdulists):
        exp = read_exposure(hdul)
        chip = exp.chips[0]
        assert chip.shape == (512, 512)
        assert chip.bunit == "ELECTRONS" and chip.conversion_factor == 1.0
        assert chip.gain == pytest.approx(2.216, abs=1e-4)
        assert chip.rdnoise == pytest.approx(4.71, abs=1e-4)
        assert chip.exptime == exptimes[root]
        assert chip.wcs.sip is not None and chip.wcs.sip.a_order == 4
        assert chip.cte_dir == -1  # HRC amplifier C
        assert chip.err is not None and np.all(chip.err > 0)
        med = np.median(chip.sci)
        assert 0 < med < 1000  # overscan removed, electrons
    chip = read_exposure(sub.exposures[0]).chips[0]
    assert np.array_equal(chip.sci, tuc.hdulists[3]["SCI", 1].data)
    with pytest.raises(InputError, match="rootnames"):
        load_hst_47tuc(rootnames=["j8bt99xxq"])


def _bright_stars(img, n=60):
    _, med, sd = sigma_clipped_stats(img, sigma=3.0)
    tab = DAOStarFinder(30 * sd, 3.0, exclude_border=True)(img - med)
    tab = tab[(tab["peak"] < 40000)]
    tab.sort("flux", reverse=True)
    return np.array([tab["x_centroid"], tab["y_centroid"]]).T[:n], med


def _centroid(img, x, y, half=4):
    cx, cy = int(round(x)), int(round(y))
    if not (half <= cx < img.shape[1] - half and half <= cy < img.shape[0] - half):
        return None
    box = img[cy - half:cy + half + 1, cx - half:cx + half + 1]
    gx, gy = centroid_com(box - np.median(box))
    return cx - half + gx, cy - half + gy


def test_47tuc_same_star_same_sky_position(tuc):
    ref = tuc.hdulists[0]["SCI", 1].data
    wref = quiet_wcs(tuc.hdulists[0]["SCI", 1].header)
    xy, _ = _bright_stars(ref)
    ra, dec = wref.all_pix2world(xy[:, 0], xy[:, 1], 0)
    cosd = np.cos(np.deg2rad(dec.mean()))
    for hdul in tuc.hdulists[1:]:
        img = hdul["SCI", 1].data
        w = quiet_wcs(hdul["SCI", 1].header)
        px, py = w.all_world2pix(ra, dec, 0)
        seps = []
        for j in range(len(ra)):
            c = _centroid(img, px[j], py[j])
            if c is None:
                continue
            r2, d2 = w.all_pix2world([c[0]], [c[1]], 0)
            seps.append(np.hypot((r2[0] - ra[j]) * cosd, d2[0] - dec[j]) * 3600)
        seps = np.array(seps)
        assert len(seps) >= 10
        assert np.median(seps) < 0.1  # arcsec; header WCSs agree to 10-35 mas


@pytest.mark.skipif(not SHARED_47TUC.is_dir(), reason="original MAST files not present")
def test_47tuc_crop_matches_full_frames(tuc):
    sip_hdr = fits.getheader(SHARED_47TUC / "j8bt06nyq_sip_flt.fits", 1)
    wfull = quiet_wcs(sip_hdr)
    full = fits.getdata(SHARED_47TUC / "j8bt06nyq_flt.fits.gz", 1)
    crop = tuc.hdulists[0]["SCI", 1]
    x0, y0 = -int(crop.header["LTV1"]), -int(crop.header["LTV2"])
    assert np.array_equal(crop.data, full[y0:y0 + 512, x0:x0 + 512])
    wcrop = quiet_wcs(crop.header)
    xy, _ = _bright_stars(crop.data, n=20)
    a = np.array(wcrop.all_pix2world(xy[:, 0], xy[:, 1], 0))
    b = np.array(wfull.all_pix2world(xy[:, 0] + x0, xy[:, 1] + y0, 0))
    assert np.max(np.abs(a - b)) * 3600 < 1e-6
    # the RAW frames: shipped DN equal the trimmed full RAW array
    for k, root in enumerate(HST_47TUC_ROOTNAMES[1:], start=1):
        with fits.open(SHARED_47TUC / f"{root}_raw.fits.gz") as h:
            raw = np.asarray(h[1].data, dtype=np.float64)
            raw_wcs = quiet_wcs(h[1].header)
        sci = tuc.hdulists[k]["SCI", 1]
        x0, y0 = -int(sci.header["LTV1"]), -int(sci.header["LTV2"])
        level = sci.header["OSCNLEV"]
        assert 1120 < level < 1150
        expect = (raw[y0:y0 + 512, 19 + x0:19 + x0 + 512] - level) * 2.2160001
        assert np.allclose(sci.data, expect, atol=1e-2)
        # SIP frame agrees with the RAW header TAN frame at the full-frame centre
        wc = quiet_wcs(sci.header)
        ra1, dec1 = wc.all_pix2world([511.0 - x0], [511.0 - y0], 0)
        ra2, dec2 = raw_wcs.all_pix2world([511.0 + 19], [511.0], 0)
        assert abs(ra1[0] - ra2[0]) < 1e-9 and abs(dec1[0] - dec2[0]) < 1e-9
