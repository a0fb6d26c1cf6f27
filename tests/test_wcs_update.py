"""Header WCS updates, shift files, outwcs and catalogs (drizzlekit.io.wcs_update)."""

import glob
import math
import os

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from drizzlekit.align.catalogs import read_xy_catalog
from drizzlekit.align.correct import correct_wcs
from drizzlekit.align.tangent import TangentPlane
from drizzlekit.datasets import simulate_dither
from drizzlekit.exceptions import InputFileError, ParameterError
from drizzlekit.io import wcs_update as wu
from drizzlekit.io.fits_input import read_exposure
from drizzlekit.outwcs import make_output_wcs


@pytest.fixture()
def two_chip_file(tmp_path):
    sim = simulate_dither(n_exposures=1, shape=(64, 96), n_chips=2, n_stars=5, seed=3,
                          outdir=tmp_path)
    return sim.filenames[0]


def _grid(w, n=6):
    nx, ny = w.pixel_shape
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, n), np.linspace(0, ny - 1, n))
    return gx.ravel(), gy.ravel()


def _sky(w, x, y):
    return np.array(w.all_pix2world(x, y, 0))


def _shifted(wcs, east=0.3, north=-0.2, rot=0.01):
    """A corrected WCS: shift (arcsec) and rotation (deg) about the chip centre."""
    nx, ny = wcs.pixel_shape
    plane = TangentPlane(*wcs.all_pix2world([[nx / 2, ny / 2]], 0)[0])
    a = math.radians(rot)
    m = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return correct_wcs(wcs, plane, m, [east, north])


def test_update_round_trip_keeps_old_wcs(two_chip_file):
    f = two_chip_file
    old = [c.wcs for c in read_exposure(f).chips]
    new = [_shifted(w) for w in old]
    rep = wu.updatehdr(f, new, wcsname="TWEAK")
    assert rep[0]["archived"] == ["A", "A"]
    for k, (wo, wn) in enumerate(zip(old, new), 1):
        x, y = _grid(wo)
        prim = wu.read_wcs(f, ("SCI", k))
        alt = wu.read_wcs(f, ("SCI", k), key="A")
        np.testing.assert_allclose(_sky(prim, x, y), _sky(wn, x, y), rtol=0, atol=1e-10)
        np.testing.assert_allclose(_sky(alt, x, y), _sky(wo, x, y), rtol=0, atol=1e-10)
        hdr = fits.getheader(f, ("SCI", k))
        assert hdr["WCSNAME"] == "TWEAK"
        assert hdr["WCSNAMEA"] == "UNNAMED" or hdr["WCSNAMEA"] == wo.wcs.name
        assert hdr["CTYPE1A"] == hdr["CTYPE1"]  # distortion shared, CTYPE kept
        assert "A_ORDER" in hdr and "A_ORDERA" not in hdr
    # a second alignment archives TWEAK as B and never touches A
    newer = [_shifted(w, east=-0.1, north=0.05, rot=-0.004) for w in new]
    wu.updatehdr(f, newer, wcsname="TWEAK2")
    for k, (wo, wn) in enumerate(zip(old, new), 1):
        x, y = _grid(wo)
        names = wu.wcs_names(fits.getheader(f, ("SCI", k)))
        assert names[" "] == "TWEAK2" and names["B"] == "TWEAK"
        np.testing.assert_allclose(_sky(wu.read_wcs(f, ("SCI", k), key="A"), x, y),
                                   _sky(wo, x, y), rtol=0, atol=1e-10)
        np.testing.assert_allclose(_sky(wu.read_wcs(f, ("SCI", k), key="B"), x, y),
                                   _sky(wn, x, y), rtol=0, atol=1e-10)


def test_wcsname_reuse_rules(two_chip_file):
    f = two_chip_file
    old = [c.wcs for c in read_exposure(f).chips]
    wu.updatehdr(f, [_shifted(w) for w in old], wcsname="TWEAK")
    before = open(f, "rb").read()
    with pytest.raises(ParameterError, match="WCSNAME 'tweak' already exists"):
        wu.updatehdr(f, old, wcsname="tweak")
    assert open(f, "rb").read() == before
    # reusename: allowed; the previous TWEAK is archived (nothing destroyed)
    wu.updatehdr(f, old, wcsname="TWEAK", reusename=True)
    names = wu.wcs_names(fits.getheader(f, ("SCI", 1)))
    assert names[" "] == "TWEAK" and names["B"] == "TWEAK" and "A" in names
    # re-running archives the current TWEAK once (as C), then not again
    wu.updatehdr(f, old, wcsname="TWEAK", reusename=True)
    wu.updatehdr(f, old, wcsname="TWEAK", reusename=True)
    names = wu.wcs_names(fits.getheader(f, ("SCI", 1)))
    assert names["C"] == "TWEAK" and "D" not in names


def test_failed_write_leaves_file_byte_identical(two_chip_file, monkeypatch, tmp_path):
    f = two_chip_file
    before = open(f, "rb").read()
    old = [c.wcs for c in read_exposure(f).chips]
    real_writeto = fits.HDUList.writeto

    def broken(self, fileobj, *args, **kwargs):
        real_writeto(self, fileobj, *args, **kwargs)  # a complete temporary file ...
        with open(fileobj, "r+b") as fh:               # ... then truncated by a "disk error"
            fh.truncate(100)
        raise OSError("simulated write error")

    monkeypatch.setattr(fits.HDUList, "writeto", broken)
    with pytest.raises(OSError, match="simulated"):
        wu.updatehdr(f, [_shifted(w) for w in old], wcsname="TWEAK")
    monkeypatch.undo()
    assert open(f, "rb").read() == before
    assert glob.glob(os.path.join(os.path.dirname(f), ".*.tmp")) == []
    # several files: an error in the second (wrong WCS count) leaves the first untouched
    sim2 = simulate_dither(n_exposures=1, shape=(32, 32), n_stars=3, seed=5,
                           outdir=tmp_path / "b")
    with pytest.raises(InputFileError, match="2 SCI extension"):
        wu.updatehdr([sim2.filenames[0], f], [_shifted(read_exposure(sim2.filenames[0])
                                                       .chips[0].wcs), old[:1]])
    assert open(f, "rb").read() == before


def test_gzip_and_permissions(tmp_path):
    sim = simulate_dither(n_exposures=1, shape=(32, 40), n_stars=3, seed=1)
    gz = str(tmp_path / "im_flt.fits.gz")
    sim.hdulists[0].writeto(gz)
    os.chmod(gz, 0o640)
    w = read_exposure(gz).chips[0].wcs
    wu.updatehdr(gz, _shifted(w), wcsname="TWEAK")
    assert open(gz, "rb").read(2) == b"\x1f\x8b"  # still gzip
    assert oct(os.stat(gz).st_mode & 0o777) == oct(0o640)
    assert fits.getheader(gz, 1)["WCSNAME"] == "TWEAK"


def _ref_and_chip(tmp_path):
    sim = simulate_dither(n_exposures=1, shape=(120, 160), n_chips=2, n_stars=5, seed=2,
                          pa_deg=25.0)
    chips = read_exposure(sim.hdulists[0]).chips
    ref, _ = make_output_wcs([c.wcs for c in chips], [c.shape for c in chips])
    return [c.wcs for c in chips], ref


def test_pure_shift_row_follows_drizzlepac_convention(tmp_path):
    """xsh = image minus reference, in reference pixels: corrected q = p - (xsh, ysh)."""
    wcss, ref = _ref_and_chip(tmp_path)
    row = wu.ShiftRow("im", xsh=1.5, ysh=-0.75)
    for w in wcss:
        new = wu.apply_shift(w, ref, row)
        x, y = _grid(w)
        p = np.array(ref.wcs_world2pix(*w.all_pix2world(x, y, 0), 1))
        q = np.array(ref.wcs_world2pix(*new.all_pix2world(x, y, 0), 1))
        np.testing.assert_allclose(p - q, np.array([[1.5], [-0.75]]) * np.ones(x.size),
                                   atol=2e-4)
    # rotation and scale: p - c = scale R(-rot) (q - c)
    row = wu.ShiftRow("im", 0.0, 0.0, rot=0.05, scale=1.0002)
    new = wu.apply_shift(wcss[0], ref, row)
    x, y = _grid(wcss[0])
    c = ref.wcs.crpix[:, None]
    p = np.array(ref.wcs_world2pix(*wcss[0].all_pix2world(x, y, 0), 1)) - c
    q = np.array(ref.wcs_world2pix(*new.all_pix2world(x, y, 0), 1)) - c
    a = math.radians(-0.05)
    rm = 1.0002 * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    np.testing.assert_allclose(p, rm @ q, atol=2e-4)


def test_shift_row_inverts_apply_shift(tmp_path):
    wcss, ref = _ref_and_chip(tmp_path)
    row = wu.ShiftRow("im", xsh=-2.25, ysh=0.4, rot=359.97, scale=0.99985)
    new = [wu.apply_shift(w, ref, row) for w in wcss]
    got = wu.shift_row("im", wcss, new, ref)
    assert got.xsh == pytest.approx(row.xsh, abs=1e-5)
    assert got.ysh == pytest.approx(row.ysh, abs=1e-5)
    assert got.rot == pytest.approx(row.rot, abs=1e-6)
    assert got.scale == pytest.approx(row.scale, abs=1e-8)
    # residual rms along the reference axes (arcsec -> reference pixels)
    res = np.array([[0.05, 0.0], [-0.05, 0.0], [0.0, 0.1], [0.0, -0.1]])
    r = wu.shift_row("im", wcss, new, ref, residuals=res,
                     fitmask=[True, True, True, False])
    ps = math.sqrt(abs(np.linalg.det(ref.pixel_scale_matrix))) * 3600
    rp = res[:3] @ np.linalg.inv(ref.pixel_scale_matrix * 3600).T
    assert r.xrms == pytest.approx(np.sqrt(np.mean(rp[:, 0] ** 2)), rel=1e-9)
    assert r.yrms == pytest.approx(np.sqrt(np.mean(rp[:, 1] ** 2)), rel=1e-9)
    assert 0.5 * 0.1 / ps < max(r.xrms, r.yrms) < 2 * 0.1 / ps


def test_shiftfile_and_outwcs_round_trip(tmp_path, monkeypatch):
    wcss, ref = _ref_and_chip(tmp_path)
    outwcs = wu.write_outwcs(tmp_path / "shifts_wcs.fits", ref)
    back = wu.read_outwcs(outwcs)
    assert back.pixel_shape == ref.pixel_shape
    x, y = _grid(ref)
    np.testing.assert_allclose(_sky(back, x, y), _sky(ref, x, y), rtol=0, atol=1e-10)
    assert fits.getheader(outwcs, "WCS")["NPIX1"] == ref.pixel_shape[0]
    with fits.open(outwcs) as h:
        assert all(hdu.data is None for hdu in h)  # header only
    rows = [wu.ShiftRow("a_flt.fits", 0.0, 0.0, 0.0, 1.0, 0.0, 0.0),
            wu.ShiftRow("b_flt.fits", 1.234567, -0.5, 359.999, 1.000012, 0.03, 0.04)]
    path = wu.write_shiftfile(tmp_path / "shifts.txt", rows, refimage="shifts_wcs.fits")
    text = open(path).read()
    assert text.startswith("# frame: output\n# refimage: shifts_wcs.fits[wcs]\n"
                           "# form: delta\n# units: pixels\n")
    sf = wu.read_shiftfile(path)
    assert [r.name for r in sf.rows] == ["a_flt.fits", "b_flt.fits"]
    b = sf.row_for("/some/dir/b_flt.fits")
    assert (b.xsh, b.ysh, b.rot, b.scale, b.xrms, b.yrms) == \
        (1.234567, -0.5, 359.999, 1.000012, 0.03, 0.04)
    assert sf.row_for("b_flc.fits") is b  # by rootname
    # refimage is found relative to the shift file, and correct() applies the row
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    fixed = sf.correct("b_flt.fits", wcss)
    expect = [wu.apply_shift(w, ref, b) for w in wcss]
    for f, e in zip(fixed, expect):
        np.testing.assert_allclose(_sky(f, *_grid(wcss[0])), _sky(e, *_grid(wcss[0])),
                                   atol=1e-12)
    assert wu.write_shiftfile(tmp_path / "none.txt", [], refimage="x") is None


def test_shiftfile_reader_variants_and_errors(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("# units: pixels\n# reference: ref.fits[wcs]\nim1.fits 1 2\nim2.fits 1 2 0.5\n"
                 "im3.fits 1 2 0.5 1.01\n")
    sf = wu.read_shiftfile(p)
    assert sf.refimage == "ref.fits[wcs]"
    assert [(r.rot, r.scale) for r in sf.rows] == [(0.0, 1.0), (0.5, 1.0), (0.5, 1.01)]
    p.write_text("im1.fits 1 2 3 4 5\n")
    with pytest.raises(InputFileError, match=r"s.txt:1: expected"):
        wu.read_shiftfile(p)
    p.write_text("im1.fits 1 x\n")
    with pytest.raises(InputFileError, match="non-numeric"):
        wu.read_shiftfile(p)
    p.write_text("# frame: input\nim1.fits 1 2\n")
    with pytest.raises(InputFileError, match="frame: input"):
        wu.read_shiftfile(p)
    with pytest.raises(InputFileError, match="not found"):
        wu.read_shiftfile(tmp_path / "missing.txt")


def test_xy_catalog_written_and_read_back(tmp_path):
    t = Table({"id": [1, 2], "x": [0.0, 10.25], "y": [5.5, 7.0], "flux": [100.0, 20.0]})
    path = wu.write_xy_catalog(tmp_path / "c.coo", t, source="im[SCI,1]")
    back = read_xy_catalog(path, fluxcol=3)
    np.testing.assert_allclose(back["x"], t["x"])
    np.testing.assert_allclose(back["y"], t["y"])
    np.testing.assert_allclose(back["flux"], t["flux"])
    assert "1.000000  6.500000" in open(path).read()  # 1-based in the file


def test_headerlet(two_chip_file, tmp_path):
    wcss = [c.wcs for c in read_exposure(two_chip_file).chips]
    path = wu.write_headerlet(tmp_path / "h.fits", two_chip_file, wcss, hdrname="H1",
                              wcsname="TWEAK", author="me", history="line one\nline two")
    with fits.open(path) as h:
        assert h[0].header["HDRNAME"] == "H1" and h[0].header["DESTIM"] == "sim00"
        assert len(h) == 3 and h[2].header["EXTNAME"] == "SIPWCS"
    with pytest.raises(InputFileError, match="clobber"):
        wu.write_headerlet(path, two_chip_file, wcss, hdrname="H1", wcsname="TWEAK")


def test_attach_headerlet_appends_an_hdrlet_extension_and_keeps_the_rest(two_chip_file,
                                                                         tmp_path):
    wcss = [_shifted(c.wcs) for c in read_exposure(two_chip_file).chips]
    path = wu.write_headerlet(tmp_path / "h.fits", two_chip_file, wcss, hdrname="H1",
                              wcsname="TWEAK")
    with fits.open(two_chip_file) as before:
        n_before = len(before)
        data_before = [None if h.data is None else h.data.copy() for h in before]
        headers_before = [h.header.copy() for h in before]
    assert wu.attach_headerlet(two_chip_file, path) == 1
    with fits.open(two_chip_file) as after:
        assert len(after) == n_before + 1
        assert after[-1].header["EXTNAME"] == "HDRLET" and after[-1].header["HDRNAME"] == "H1"
        assert after[-1].header["XTENSION"] == "HDRLET"
        for k in range(n_before):  # the image itself is untouched
            assert after[k].header == headers_before[k]
            if data_before[k] is not None:
                np.testing.assert_array_equal(after[k].data, data_before[k])
    (hlet,) = wu.read_attached_headerlets(two_chip_file)
    assert hlet[0].header["HDRNAME"] == "H1" and hlet[0].header["DESTIM"] == "sim00"
    for k, w in enumerate(wcss, 1):  # the aligned WCS travels inside the extension
        got = wu.read_wcs(hlet, ("SIPWCS", k))
        x, y = _grid(w)
        np.testing.assert_allclose(got.all_pix2world(x, y, 0), w.all_pix2world(x, y, 0),
                                   rtol=0, atol=1e-10)


def test_attaching_the_same_headerlet_twice_is_refused_and_changes_nothing(two_chip_file,
                                                                          tmp_path):
    wcss = [c.wcs for c in read_exposure(two_chip_file).chips]
    path = wu.write_headerlet(tmp_path / "h.fits", two_chip_file, wcss, hdrname="H1",
                              wcsname="TWEAK")
    wu.attach_headerlet(two_chip_file, path)
    raw = open(two_chip_file, "rb").read()
    listing = sorted(os.listdir(os.path.dirname(two_chip_file)))
    with pytest.raises(InputFileError, match="'H1' is already attached"):
        wu.attach_headerlet(two_chip_file, path)
    with pytest.raises(InputFileError, match="not found"):
        wu.attach_headerlet(two_chip_file, tmp_path / "missing.fits")
    assert open(two_chip_file, "rb").read() == raw
    assert sorted(os.listdir(os.path.dirname(two_chip_file))) == listing  # no temporaries
