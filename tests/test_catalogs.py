"""User catalogs, reference catalogs and exclusions (drizzlekit.align.catalogs)."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from drizzlekit.align.catalogs import (apply_exclusion, load_exclusion, lookup_image,
                                       read_catfile, read_columns, read_exclusions_file,
                                       read_reference_catalog, read_xy_catalog, select_sources)
from drizzlekit.exceptions import InputError, InputFileError, NonFiniteError, ParameterError


def _tan(crval=(150.0, 2.0), scale=0.05, shape=(200, 300)):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = list(crval)
    w.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    s = scale / 3600.0
    w.wcs.cd = [[-s * 0.8, s * 0.6], [s * 0.6, s * 0.8]]
    w.pixel_shape = (shape[1], shape[0])
    return w


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_xy_catalog_columns_one_based_and_skips(tmp_path):
    cat = _write(tmp_path / "c.coo", """# X Y ID FLUX
10.5  20.25  1  300.0
# comment line
11.0  INDEF  2  100.0

30.0  40.0   3  50.0   extra
5 6
""")
    t = read_xy_catalog(cat, xcol=1, ycol=2, fluxcol=4)
    # 1-based file positions -> 0-based; INDEF and short lines skipped
    np.testing.assert_allclose(t["x"], [9.5, 29.0])
    np.testing.assert_allclose(t["y"], [19.25, 39.0])
    np.testing.assert_allclose(t["flux"], [300.0, 50.0])
    t2 = read_xy_catalog(cat, xcol="c2", ycol=1)
    np.testing.assert_allclose(t2["x"], [19.25, 39.0, 5.0])
    assert "flux" not in t2.colnames


def test_flux_limits_counts_and_magnitudes():
    t = Table({"x": np.arange(6.0), "y": np.zeros(6), "flux": [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]})
    s = select_sources(t, minflux=2.0, maxflux=7.0)
    assert sorted(s["flux"]) == [2.0, 3.0, 5.0, 7.0]
    b = select_sources(t, nbright=2)
    assert list(b["flux"]) == [9.0, 7.0]
    # magnitudes: minflux is the faint limit (largest magnitude), maxflux the bright one
    m = select_sources(t, fluxunits="mag", minflux=7.0, maxflux=2.0)
    assert sorted(m["flux"]) == [2.0, 3.0, 5.0, 7.0]
    mb = select_sources(t, fluxunits="mag", nbright=2)
    assert list(mb["flux"]) == [1.0, 2.0]
    nof = Table({"x": [1.0], "y": [2.0]})
    assert len(select_sources(nof, minflux=3.0)) == 1  # no flux column: kept (warning)
    with pytest.raises(ParameterError, match="fluxunits"):
        select_sources(t, fluxunits="jy", minflux=1.0)


def test_xy_catalog_in_degrees_and_fits_table(tmp_path):
    w = _tan()
    x = np.array([10.0, 150.2, 280.7])
    y = np.array([5.0, 99.5, 190.1])
    ra, dec = w.all_pix2world(x, y, 0)
    ascii_cat = _write(tmp_path / "sky.txt",
                       "\n".join(f"{a:.12f} {d:.12f} {f}" for a, d, f in zip(ra, dec, [1, 2, 3])))
    t = read_xy_catalog(ascii_cat, w, xyunits="degrees", fluxcol=3)
    np.testing.assert_allclose(t["x"], x, atol=1e-6)
    np.testing.assert_allclose(t["y"], y, atol=1e-6)
    fpath = str(tmp_path / "cat.fits")
    Table({"XIMAGE": x + 1, "YIMAGE": y + 1, "MAG": [20.0, 21.0, 19.0]}).write(fpath)
    t = read_xy_catalog(fpath, xcol="XIMAGE", ycol=2, fluxcol="mag", fluxunits="mag",
                        nbright=2)
    np.testing.assert_allclose(sorted(t["x"]), sorted(x[[0, 2]]))
    with pytest.raises(ParameterError, match="degrees"):
        read_xy_catalog(ascii_cat, None, xyunits="degrees")
    with pytest.raises(InputFileError, match="no column named 'FLUXX'"):
        read_xy_catalog(fpath, fluxcol="FLUXX")


def test_reference_catalog_forms(tmp_path):
    refp = _write(tmp_path / "ref.txt", """# ra dec mag
10.5 -20.25 18.0
10.6 -20.30 21.0
10.7 -20.35 19.0
""")
    r = read_reference_catalog(refp, rfluxcol=3, rminflux=20.0)  # mag: fainter than 20 out
    np.testing.assert_allclose(r["RA"], [10.5, 10.7])
    np.testing.assert_allclose(r["DEC"], [-20.25, -20.35])
    sexa = _write(tmp_path / "sexa.txt", "00:42:00.0 -20:15:00.0\n00:42:24.0 +20:18:00.0\n")
    s = read_reference_catalog(sexa)
    np.testing.assert_allclose(s["RA"], [10.5, 10.6])
    np.testing.assert_allclose(s["DEC"], [-20.25, 20.3])
    w = _tan()
    pix = _write(tmp_path / "pix.txt", "11.0 6.0\n151.2 100.5\n")
    p = read_reference_catalog(pix, w, refxyunits="pixels")
    ra, dec = w.all_pix2world([10.0, 150.2], [5.0, 99.5], 0)
    np.testing.assert_allclose(p["RA"], ra, rtol=0, atol=1e-10)
    np.testing.assert_allclose(p["DEC"], dec, rtol=0, atol=1e-10)
    with pytest.raises(ParameterError, match="refimage"):
        read_reference_catalog(pix, None, refxyunits="pixels")
    bad = _write(tmp_path / "bad.txt", "10.0 95.0\n")
    with pytest.raises(InputError, match="Dec"):
        read_reference_catalog(bad)


def test_bad_catalog_files(tmp_path):
    with pytest.raises(InputFileError, match="missing.coo"):
        read_xy_catalog(tmp_path / "missing.coo")
    nan = _write(tmp_path / "nan.coo", "1 2\nnan 3\n4 5\n")
    with pytest.raises(NonFiniteError, match=r"nan.coo.*rows \[2\]"):
        read_xy_catalog(nan)
    text = _write(tmp_path / "text.coo", "1 2\nabc 3\n")
    with pytest.raises(InputFileError, match="xcol.*'abc'"):
        read_xy_catalog(text)
    empty = _write(tmp_path / "empty.coo", "# nothing\n")
    assert len(read_xy_catalog(empty)) == 0
    with pytest.raises(ParameterError, match="start at 1"):
        read_columns(nan, [0, 1])


def test_list_files(tmp_path):
    (tmp_path / "sub").mkdir()
    lst = _write(tmp_path / "sub" / "catfile.txt", """# image  chip1  chip2
a_flt.fits  a_sci1.coo  a_sci2.coo
/data/b_flt.fits, None, b2.coo
""")
    m = read_catfile(lst)
    assert m["a_flt.fits"] == [str(tmp_path / "sub" / "a_sci1.coo"),
                               str(tmp_path / "sub" / "a_sci2.coo")]
    assert m["b_flt.fits"][0] is None
    assert lookup_image(m, "/elsewhere/b_flt.fits") == m["b_flt.fits"]
    assert lookup_image(m, "a_flc.fits") == m["a_flt.fits"]  # same rootname
    assert lookup_image(m, "c_flt.fits") is None
    assert read_exclusions_file(lst) == m
    with pytest.raises(InputFileError, match="exclusions file not found"):
        read_exclusions_file(tmp_path / "nope.txt")


def _grid_table(n=20, size=100.0):
    g = np.linspace(2.0, size - 3.0, n)
    xx, yy = np.meshgrid(g, g)
    return Table({"x": xx.ravel(), "y": yy.ravel()})


def test_ds9_exclusions_image_coordinates(tmp_path):
    t = _grid_table()
    reg = _write(tmp_path / "ex.reg", """# Region file format: DS9 version 4.1
global color=green
image
-circle(51,51,20)
""")
    ex = load_exclusion(reg, (100, 100))
    kept = apply_exclusion(t, ex)
    # DS9 image coordinates are 1-based: the circle is centred on 0-based (50, 50)
    r_all = np.hypot(t["x"] - 50.0, t["y"] - 50.0)
    r_kept = np.hypot(kept["x"] - 50.0, kept["y"] - 50.0)
    assert np.all(r_kept > 20.0)
    assert len(kept) == int(np.sum(r_all > 20.0))
    # include region first, then an exclude region inside it (processed in order)
    reg2 = _write(tmp_path / "in.reg", """image
box(51,51,60,60,0)
-circle(51,51,10)
""")
    k2 = apply_exclusion(t, load_exclusion(reg2, (100, 100)))
    assert np.all((np.abs(k2["x"] - 50) <= 30) & (np.abs(k2["y"] - 50) <= 30))
    assert np.all(np.hypot(k2["x"] - 50, k2["y"] - 50) > 10)
    assert 0 < len(k2) < len(t)
    mask = load_exclusion(reg2, (100, 100)).pixel_mask((100, 100))
    assert mask[50, 50] and not mask[50, 72] and mask[5, 5]


def test_ds9_exclusions_sky_coordinates_and_fits_mask(tmp_path):
    w = _tan(shape=(100, 100))
    ra, dec = w.all_pix2world([[30.0, 60.0]], 0)[0]
    reg = _write(tmp_path / "sky.reg", f"""fk5
-circle({ra:.10f},{dec:.10f},0.5")
""")  # 0.5 arcsec = 10 pixels
    t = _grid_table()
    kept = apply_exclusion(t, load_exclusion(reg, (100, 100), w))
    r = np.hypot(kept["x"] - 30.0, kept["y"] - 60.0)
    assert np.all(r > 9.9) and len(kept) < len(t)
    with pytest.raises(InputFileError, match="sky coordinates"):
        load_exclusion(reg, (100, 100), None)
    m = np.ones((100, 100), np.uint8)
    m[:, :50] = 0  # left half excluded
    mpath = str(tmp_path / "mask.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(m)]).writeto(mpath)
    km = apply_exclusion(t, load_exclusion(mpath, (100, 100)))
    assert np.all(km["x"] >= 49.5) and len(km) == int(np.sum(np.rint(t["x"]) >= 50))
    with pytest.raises(InputFileError, match="shape"):
        load_exclusion(mpath, (64, 64))
    with pytest.raises(InputFileError, match="not found"):
        load_exclusion(tmp_path / "none.reg")
