"""astropy Quantities are accepted wherever a parameter has physical units."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from drizzlekit.exceptions import ParameterError
from drizzlekit.params import get_spec


def test_quantities_are_converted_to_the_parameter_units():
    v = get_spec("astrodrizzle").validate(final_scale=50 * u.mas, final_rot=np.pi / 2 * u.rad,
                                          final_pixfrac=0.5 * u.one,
                                          driz_sep_outnx=100 * u.pix)
    assert v["final_scale"] == pytest.approx(0.05)
    assert v["final_rot"] == pytest.approx(90.0)
    assert v["final_pixfrac"] == 0.5 and v["driz_sep_outnx"] == 100


@pytest.mark.parametrize("bad", [dict(final_scale=3 * u.s), dict(final_pixfrac=2 * u.m),
                                 dict(final_kernel=1 * u.m)])
def test_wrong_units_are_refused_by_name(bad):
    name = next(iter(bad))
    with pytest.raises(ParameterError, match=name):
        get_spec("astrodrizzle").validate(**bad)


def test_tweakreg_pixel_parameters():
    spec = get_spec("tweakreg")
    pixel_params = [p for p in spec if p.units == "pixels" and p.kind == "float"]
    assert pixel_params
    for p in pixel_params:
        assert spec.validate(**{p.name: 2 * u.pix})[p.name] == pytest.approx(2.0)
