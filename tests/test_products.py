"""AstrodrizzleResult.to_hdulist() / to_nddata(): the product as astropy objects."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import CCDData

import drizzlekit as dk
from drizzlekit.datasets import simulate_dither
from drizzlekit.products import bunit_to_unit


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("products")
    sim = simulate_dither(n_exposures=2, shape=(48, 56), n_chips=1, seed=7, n_stars=8,
                          n_galaxies=1, outdir=d)
    return dk.astrodrizzle(sim.filenames, str(d / "final"), runfile="", progress=False,
                           final_pixfrac=0.9)


def test_to_hdulist_holds_what_the_file_holds(result):
    hdul = result.to_hdulist()
    assert [h.name for h in hdul] == ["PRIMARY", "SCI", "WHT", "CTX"]
    np.testing.assert_array_equal(hdul["SCI"].data, result.sci.astype(np.float32))
    with fits.open(result.output) as on_disk:
        assert on_disk["SCI"].header["BUNIT"] == hdul["SCI"].header["BUNIT"]
        np.testing.assert_array_equal(on_disk["WHT"].data, hdul["WHT"].data)
    assert "final_pixfrac = 0.9" in "\n".join(hdul[0].header["HISTORY"])


def test_to_nddata(result):
    ccd = result.to_nddata()
    assert isinstance(ccd, CCDData)
    assert ccd.unit == bunit_to_unit(result.bunit)
    np.testing.assert_array_equal(ccd.mask, result.wht <= 0)
    assert ccd.wcs.pixel_shape == result.output_wcs.pixel_shape
    assert "HISTORY" in ccd.meta
    # it feeds the rest of the ecosystem as it is, e.g. drizzlekit's reproject adapter
    back = dk.reproject_drizzle(ccd, result.output_wcs, shape_out=result.sci.shape,
                                return_footprint=False)
    inner = result.wht > 0.9 * result.wht.max()
    np.testing.assert_allclose(back[inner], result.sci[inner], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bunit, unit", [("ELECTRONS/S", u.electron / u.s),
                                         ("ELECTRONS", u.electron),
                                         ("COUNTS/S", u.count / u.s), ("", u.one)])
def test_bunit_to_unit(bunit, unit):
    assert bunit_to_unit(bunit) == unit


def test_nddata_inputs_give_the_same_product(tmp_path):
    from astropy.nddata import StdDevUncertainty
    from astropy.wcs import WCS

    sim = simulate_dither(n_exposures=2, shape=(48, 56), n_chips=1, seed=7, n_stars=8,
                          n_galaxies=1)
    ccds = []
    for hdul in sim.hdulists:
        sci = hdul["SCI"]
        ccds.append(CCDData(sci.data, unit=u.electron, wcs=WCS(sci.header),
                            uncertainty=StdDevUncertainty(hdul["ERR"].data),
                            mask=hdul["DQ"].data != 0, meta=hdul[0].header))
    kw = dict(runfile="", progress=False, driz_cr=False, median=False, blot=False)
    from_files = dk.astrodrizzle(sim.hdulists, str(tmp_path / "a"), **kw)
    from_ccd = dk.astrodrizzle(ccds, str(tmp_path / "b"), **kw)
    np.testing.assert_allclose(from_ccd.sci, from_files.sci, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(from_ccd.wht, from_files.wht, rtol=1e-6)
