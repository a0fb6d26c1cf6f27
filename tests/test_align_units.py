"""Reference catalogs as SkyCoord, and table units honoured (never silently dropped)."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from drizzlekit.align import align_wcs
from drizzlekit.align.simulate import (SkyTransform, exposure_center, load_chips, make_refcat,
                                       make_scene, observe)
from drizzlekit.exceptions import InputError

DATA = Path(__file__).parent / "data" / "align"


@pytest.fixture(scope="module")
def case():
    c = load_chips(DATA / "2chipC.fits.gz")
    rng = np.random.default_rng(11)
    ra, dec = make_scene(rng, [c], density=0.03)
    t = SkyTransform(exposure_center(c), rotation=0.03, scale=0.0, shift=(1.5, -0.7))
    ref = make_refcat(rng, [c], ra, dec, ref_only=0.1)
    cats = observe(rng, c, ra, dec, transform=t)
    return c, cats, ref


def _align(case, refcat):
    c, cats, _ = case
    return align_wcs([list(zip(cats, c))], refcat, searchrad=4.0)[0]


def test_skycoord_and_unit_columns_give_the_same_fit(case):
    ref = case[2]
    base = _align(case, ref)
    assert base.status == "SUCCESS"
    sky = SkyCoord(np.asarray(ref["RA"]) * u.deg, np.asarray(ref["DEC"]) * u.deg)
    arcsec = QTable({"RA": np.asarray(ref["RA"]) * 3600 * u.arcsec,
                     "DEC": np.asarray(ref["DEC"]) * 3600 * u.arcsec})
    for other in (_align(case, sky), _align(case, arcsec)):
        assert other.status == "SUCCESS"
        np.testing.assert_allclose(other.shift, base.shift, atol=1e-9)
        assert abs(other.rotation - base.rotation) < 1e-9


def test_non_angle_units_are_an_error(case):
    ref = case[2]
    bad = QTable({"RA": np.asarray(ref["RA"]) * u.m, "DEC": np.asarray(ref["DEC"]) * u.deg})
    with pytest.raises(InputError, match="RA"):
        _align(case, bad)
    c, cats, _ = case
    cat = Table(cats[0], copy=True)
    cat["x"].unit = u.arcsec
    with pytest.raises(InputError, match="'x'"):
        align_wcs([[(cat, c[0])]], ref, searchrad=4.0)


def test_matches_as_a_qtable(case):
    res = _align(case, case[2])
    table = res.matches_table()
    assert len(table) == res.nmatch and table["used"].sum() == res.nused
    assert table["dxi"].unit == u.arcsec
    rms = np.sqrt(np.mean(table["dxi"][table["used"]].value ** 2
                          + table["deta"][table["used"]].value ** 2))
    np.testing.assert_allclose(rms, res.rms, rtol=1e-3)  # the fit's rms, from the table
    c = case[0]
    assert set(np.unique(table["chip"])) <= set(range(len(c)))
