"""DQ bit-flag parsing and masks, checked against astropy.nddata.bitmask."""

import warnings

import numpy as np
import pytest
from astropy.nddata import bitmask
from hypothesis import given, settings
from hypothesis import strategies as st

from drizzlekit.exceptions import DtypeError, ParameterError
from drizzlekit.io.bits import dq_to_mask, interpret_bits

SPEC_DQ = np.array([0, 4, 8, 12, 4096, 4100], dtype=np.int16)


def astropy_mask(dq, bits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bitmask.bitfield_to_boolean_mask(
            dq, ignore_flags=bits, good_mask_value=True, dtype=bool
        )


@pytest.mark.parametrize(
    "bits",
    [None, 0, 4, 96, "4,8", "4+8", "~4+8", "~(4+8)", "~4", -13, "64,32", "64+32",
     "12", "", "None", "INDEF", " 4 , 8 ", "4,4"],
)
def test_interpret_bits_matches_astropy(bits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = bitmask.interpret_bit_flags(bits)
    assert interpret_bits(bits) == expected


def test_spec_examples():
    # spec §0: values quoted from astropy.nddata.bitmask
    assert interpret_bits("4,8") == 12
    assert interpret_bits("~4+8") == -13
    assert interpret_bits("64,32") == 96
    assert dq_to_mask(SPEC_DQ, 0).tolist() == [True, False, False, False, False, False]
    assert dq_to_mask(SPEC_DQ, 4).tolist() == [True, True, False, False, False, False]
    # "~4": 4, 12, 4100 are bad
    assert dq_to_mask(SPEC_DQ, "~4").tolist() == [True, False, True, False, True, False]
    assert dq_to_mask(SPEC_DQ, None).all()


@pytest.mark.parametrize(
    "bits", [None, 0, 4, "4,8", "~4+8", "~4", -13, "64,32", 4096, "4096,4", "~4096"]
)
@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int32, np.uint8])
def test_mask_matches_astropy(bits, dtype):
    dq = np.array([0, 1, 4, 8, 12, 64, 96, 255], dtype=dtype)
    if np.dtype(dtype).itemsize >= 2:
        dq = np.concatenate([dq, np.array([4096, 4100, 16384], dtype=dtype)])
    assert np.array_equal(dq_to_mask(dq, bits), astropy_mask(dq, bits))


def test_int16_sign_bit_kept_as_uint16_pattern():
    # bit 15 (32768) stored as int16 -32768 must stay a flag, as with dq.astype(uint16)
    dq = np.array([-32768, -32768 + 4, 4], dtype=np.int16)
    assert dq_to_mask(dq, 4).tolist() == [False, False, True]
    assert dq_to_mask(dq, 32768 + 4).tolist() == [True, True, True]
    assert dq_to_mask(dq, "~4").tolist() == [True, False, False]
    assert np.array_equal(dq_to_mask(dq, 4), astropy_mask(dq.astype(np.uint16), 4))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 65535), min_size=1, max_size=40),
    st.one_of(
        st.none(),
        st.integers(-65536, 65535),
        st.lists(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
                                  4096, 8192, 16384]), min_size=1, max_size=5, unique=True)
        .flatmap(lambda fl: st.sampled_from([
            ",".join(map(str, fl)), "+".join(map(str, fl)), "~" + "+".join(map(str, fl))])),
    ),
)
def test_random_against_astropy(values, bits):
    dq = np.array(values, dtype=np.uint16)
    assert np.array_equal(dq_to_mask(dq, bits), astropy_mask(dq, bits))


def test_shape_preserved_2d():
    dq = np.array([[0, 4], [8, 16]], dtype=np.int16)
    m = dq_to_mask(dq, "4,16")
    assert m.shape == (2, 2)
    assert m.tolist() == [[True, True], [False, True]]


@pytest.mark.parametrize("bad", ["3,4", "4+x", "~", "4+", "(4+8", 4.0, True, [4, 8]])
def test_bad_bits_raise_parameter_error_naming_argument(bad):
    with pytest.raises(ParameterError, match="final_bits"):
        interpret_bits(bad, name="final_bits")


def test_float_dq_rejected():
    with pytest.raises(DtypeError, match="dq"):
        dq_to_mask(np.zeros(3, dtype=np.float32), 0)


def test_named_hst_flags():
    from drizzlekit.io.bits import interpret_bits
    from drizzlekit.params import get_spec

    assert interpret_bits("HOT,WARM") == 16 + 64
    assert interpret_bits("hot+warm") == 16 + 64
    assert interpret_bits("~SATURATED") == ~256
    assert dq_to_mask(np.array([0, 16, 256, 272]), "HOT").tolist() == [True, True, False, False]
    assert get_spec("astrodrizzle").validate(final_bits="HOT,WARM")["final_bits"] == "HOT,WARM"
    with pytest.raises(ParameterError, match="final_bits"):
        get_spec("astrodrizzle").validate(final_bits="HOTT")
