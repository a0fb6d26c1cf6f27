"""drizzle 3.0.0 drop-in: signatures, deprecated slots, warnings, variance planes, numbers.

Tests marked ``peer`` run the real drizzle 3.0.0 beside drizzlekit.
"""

import inspect
import warnings

import numpy as np
import pytest

import drizzlekit as dk
from drizzlekit import blot_image, calc_pixmap, decode_context, estimate_pixel_scale_ratio
from drizzlekit.exceptions import DtypeError, ShapeError
from drizzlekit.resample import SUPPORTED_DRIZZLE_KERNELS, estimate_pscale_from_pixmap
from tests.conftest import sip_chip_wcs, tan_output_wcs
from tests.helpers import distorted_pixmap, random_image

OUT = (120, 130)


def _grid(shape, scale=1.0, dx=3.3, dy=4.1):
    y, x = np.indices(shape, dtype=np.float64)
    return np.dstack([x / scale + dx, y / scale + dy])


# ---------------------------------------------------------------- signatures
def _params(func):
    return list(inspect.signature(func).parameters.values())


@pytest.mark.peer
@pytest.mark.parametrize("name", ["Drizzle.__init__", "Drizzle.add_image", "blot_image",
                                  "calc_pixmap", "estimate_pixel_scale_ratio",
                                  "decode_context"])
def test_signatures_are_drizzles_with_extras_keyword_only(name):
    """drizzle's parameters, in drizzle's positional order and with its defaults; every
    drizzlekit extra comes after them and is keyword-only."""
    dr = pytest.importorskip("drizzle.resample")
    du = pytest.importorskip("drizzle.utils")
    theirs_ns = {"Drizzle": dr.Drizzle, "blot_image": dr.blot_image,
                 "calc_pixmap": du.calc_pixmap,
                 "estimate_pixel_scale_ratio": du.estimate_pixel_scale_ratio,
                 "decode_context": du.decode_context}
    ours_ns = {"Drizzle": dk.Drizzle, "blot_image": blot_image, "calc_pixmap": calc_pixmap,
               "estimate_pixel_scale_ratio": estimate_pixel_scale_ratio,
               "decode_context": decode_context}
    head, _, attr = name.partition(".")
    theirs = getattr(theirs_ns[head], attr) if attr else theirs_ns[head]
    ours = getattr(ours_ns[head], attr) if attr else ours_ns[head]
    tp, op = _params(theirs), _params(ours)
    assert [p.name for p in op[:len(tp)]] == [p.name for p in tp]
    for t, o in zip(tp, op):
        assert o.kind == t.kind, o.name
        if t.default is inspect.Parameter.empty:
            assert o.default is inspect.Parameter.empty, o.name
        elif type(t.default) is object:  # drizzle's _DEPRECATED_ARG sentinel
            assert type(o.default) is object, o.name
        else:
            assert o.default == t.default, o.name
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in op[len(tp):])
    assert dr.SUPPORTED_DRIZZLE_KERNELS == SUPPORTED_DRIZZLE_KERNELS


def test_utils_module_has_drizzles_names():
    from drizzlekit import utils

    assert utils.calc_pixmap is calc_pixmap
    assert utils.decode_context is decode_context
    assert utils.estimate_pixel_scale_ratio is estimate_pixel_scale_ratio
    from drizzlekit.resample import blot_image as resample_blot

    assert resample_blot is blot_image


# ------------------------------------------------------ deprecated positional slots
def test_add_image_positional_scale_slot_after_dq():
    """``add_image(data, exptime, pixmap, data2, dq, scale)``: scale is drizzle's deprecated
    slot (iscale = scale**2, pixel_scale_ratio = scale), not iscale."""
    data = random_image((40, 50), seed=1)
    pm = _grid((40, 50), scale=2.0)
    a = dk.Drizzle(kernel="turbo", out_shape=OUT)
    with pytest.warns(DeprecationWarning, match="scale"):
        a.add_image(data, 1.0, pm, None, None, 2.0)
    b = dk.Drizzle(kernel="turbo", out_shape=OUT)
    b.add_image(data, 1.0, pm, iscale=4.0, pixel_scale_ratio=2.0)
    np.testing.assert_array_equal(a.out_img, b.out_img)
    np.testing.assert_array_equal(a.out_wht, b.out_wht)


@pytest.mark.peer
def test_add_image_positional_call_equals_drizzle():
    dr = pytest.importorskip("drizzle.resample")
    data = random_image((40, 50), seed=2)
    wht = random_image((40, 50), seed=3, low=0.5, high=1.0)
    pm = _grid((40, 50), scale=1.5)
    args = (data, 3.0, pm, None, None, 1.5, 1.0, 1.0, wht, 0.7, 0.8, "counts", 2, 45, 1, 38)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = dr.Drizzle(kernel="square", out_shape=OUT)
        r = ref.add_image(*args)
        new = dk.Drizzle(kernel="square", out_shape=OUT)
        n = new.add_image(*args)
    # square with pixfrac < 1: a few pixels (0.15 %) differ by one float32 ulp
    np.testing.assert_allclose(new.out_wht, ref.out_wht, rtol=3e-7)
    np.testing.assert_allclose(new.out_img, ref.out_img, rtol=3e-7)
    assert new.total_exptime == ref.total_exptime
    assert n[0] >= 0  # (drizzle's own nmiss can come out negative here: r[0] == -38)
    assert r is not None


@pytest.mark.peer
@pytest.mark.parametrize("interp", ["lan3", "lan5"])
def test_blot_deprecated_arguments_equal_drizzle(interp):
    dr = pytest.importorskip("drizzle.resample")
    data = random_image((60, 70), seed=4)
    pm = _grid((50, 55), scale=1.0, dx=5.2, dy=3.7)
    with warnings.catch_warnings(record=True) as ref_w:
        warnings.simplefilter("always")
        ref = dr.blot_image(data, pm, 1.3, 2.0, (55, 50), None, 0.0, 1.5, interp)
    with warnings.catch_warnings(record=True) as our_w:
        warnings.simplefilter("always")
        ours = blot_image(data, pm, 1.3, 2.0, (55, 50), None, 0.0, 1.5, interp)
    assert sum(w.category is DeprecationWarning for w in our_w) == 4
    assert sum(w.category is DeprecationWarning for w in ref_w) == 4
    np.testing.assert_allclose(ours, ref, rtol=2e-3, atol=2e-3 * np.abs(ref).max())
    with pytest.raises(ShapeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blot_image(data, pm, output_pixel_shape=(50, 55))


def test_calc_pixmap_fourth_slot_is_disable_bbox():
    w = sip_chip_wcs()
    out = tan_output_wcs(w, (60, 60))
    a = calc_pixmap(w, out, (20, 30), "none")
    b = calc_pixmap(w, out, shape=(20, 30), disable_bbox="none")
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError):
        calc_pixmap(w, out, (20, 30), "to", 10)  # stepsize is keyword-only


# ------------------------------------------------------------- pixel_scale_ratio=None
@pytest.mark.parametrize("scale", [0.5, 1.0, 1.7])
def test_estimated_pixel_scale_ratio_is_the_true_one(scale):
    """``pixel_scale_ratio=None`` estimates s = output/input pixel size from the pixmap:
    the turbo result equals the one with the true s given explicitly (drizzle 3.0.0's C
    estimate returns 1/s, so its drops come out s**2 times too large in area)."""
    data = random_image((40, 50), seed=5)
    pm = distorted_pixmap((40, 50), scale=scale, quad=(0, 0), offset=(50, 50))
    s = estimate_pscale_from_pixmap(pm, (140, 150))
    assert s == pytest.approx(scale, rel=1e-6)
    a = dk.Drizzle(kernel="turbo", out_shape=(140, 150))
    a.add_image(data, 1.0, pm, pixel_scale_ratio=None, pixfrac=0.7)
    b = dk.Drizzle(kernel="turbo", out_shape=(140, 150))
    b.add_image(data, 1.0, pm, pixel_scale_ratio=s, pixfrac=0.7)
    np.testing.assert_array_equal(a.out_wht, b.out_wht)


# ------------------------------------------------------------------------ warnings
@pytest.mark.parametrize("kernel", ["gaussian", "lanczos2", "lanczos3"])
def test_non_flux_conserving_kernels_warn_like_drizzle(kernel):
    d = dk.Drizzle(kernel=kernel, out_shape=OUT)
    with pytest.warns(Warning, match=f"Kernel '{kernel}' is not a flux-conserving kernel"):
        d.add_image(random_image((20, 20)), 1.0, _grid((20, 20)))


@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "tophat"])
def test_flux_conserving_kernels_do_not_warn(kernel):
    d = dk.Drizzle(kernel=kernel, out_shape=OUT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.add_image(random_image((20, 20)), 1.0, _grid((20, 20)))


def test_tiny_pixfrac_resets_to_point_like_drizzle():
    data = random_image((20, 20))
    a = dk.Drizzle(kernel="square", out_shape=OUT)
    with pytest.warns(Warning, match="Kernel reset to 'point'"):
        a.add_image(data, 1.0, _grid((20, 20)), pixfrac=0.0005)
    b = dk.Drizzle(kernel="point", out_shape=OUT)
    b.add_image(data, 1.0, _grid((20, 20)), pixfrac=0.0005)
    np.testing.assert_array_equal(a.out_img, b.out_img)


# --------------------------------------------------------------- variance planes
def test_data2_count_must_match_out_img2():
    data = random_image((20, 20))
    pm = _grid((20, 20))
    d = dk.Drizzle(out_shape=OUT, out_img2=[np.zeros(OUT, np.float32)] * 2)
    with pytest.raises(ShapeError, match="out_img2"):
        d.add_image(data, 1.0, pm, data2=data)
    with pytest.raises(ShapeError, match="out_img2"):
        d.add_image(data, 1.0, pm)  # planes exist: data2 is required
    assert d.ctx_id == 0 and d.total_exptime == 0.0  # nothing consumed


def test_data2_cannot_appear_after_the_first_image():
    data = random_image((20, 20))
    d = dk.Drizzle(out_shape=OUT)
    d.add_image(data, 1.0, _grid((20, 20)))
    with pytest.raises(ShapeError, match="earlier"):
        d.add_image(data, 1.0, _grid((20, 20)), data2=data)


def test_data2_and_out_img2_shapes_and_dtypes_checked():
    data = random_image((20, 20))
    with pytest.raises(ShapeError, match="data2"):
        dk.Drizzle(out_shape=OUT).add_image(data, 1.0, _grid((20, 20)),
                                            data2=np.ones((20, 21), np.float32))
    with pytest.raises(ShapeError, match="data2"):
        dk.Drizzle(out_shape=OUT).add_image(data, 1.0, _grid((20, 20)),
                                            data2=[data, np.ones((3, 3), np.float32)])
    with pytest.raises(ShapeError):
        dk.Drizzle(out_shape=OUT, out_img2=np.zeros((5, 5), np.float32))
    with pytest.raises(DtypeError):
        dk.Drizzle(out_shape=OUT, out_img2=np.zeros(OUT, np.float64))
    with pytest.raises(DtypeError):
        dk.Drizzle(out_shape=OUT).add_image(data, 1.0, _grid((20, 20)), data2="var")


def test_none_data2_items_drizzle_zeros_and_user_planes_are_filled():
    """As drizzle: a None item is drizzled as zeros (its plane is re-weighted); when every
    item is None no plane changes; the caller's arrays are updated in place."""
    data = random_image((20, 20))
    mine = [np.full(OUT, 7.0, np.float32), np.zeros(OUT, np.float32)]
    d = dk.Drizzle(out_shape=OUT, out_img2=mine)
    d.add_image(data, 1.0, _grid((20, 20)), data2=[None, None])
    assert np.all(mine[0] == 7.0) and np.all(mine[1] == 0.0)
    d.add_image(data, 1.0, _grid((20, 20)), data2=[None, data])
    assert d.out_img2[0] is mine[0] and d.out_img2[1] is mine[1]
    both = d.out_wht == 2.0  # weight 1 from each call
    # plane 0: 7 from the constructor, re-weighted by (1 / 2)**2 with a zero added
    np.testing.assert_allclose(mine[0][both], 7.0 / 4, rtol=1e-6)
    assert np.all(np.isfinite(mine[1][both])) and np.any(mine[1][both] != 0)


@pytest.mark.peer
def test_none_data2_items_equal_drizzle():
    dr = pytest.importorskip("drizzle.resample")
    data = random_image((20, 20))
    var = random_image((20, 20), seed=8)
    out = []
    for mod in (dr, dk):
        d = mod.Drizzle(out_shape=OUT, out_img2=[np.zeros(OUT, np.float32) for _ in range(3)])
        d.add_image(data, 1.0, _grid((20, 20)), data2=[var, None, np.array([])])
        d.add_image(data, 1.0, _grid((20, 20), dx=3.6), data2=[None, var, var])
        out.append(d.out_img2)
    for a, b in zip(*out):
        np.testing.assert_allclose(b, a, rtol=1e-6)


@pytest.mark.peer
def test_variance_errors_are_raised_where_drizzle_raises():
    dr = pytest.importorskip("drizzle.resample")
    data = random_image((20, 20))
    pm = _grid((20, 20))
    cases = [
        dict(init={"out_img2": [np.zeros(OUT, np.float32)] * 2}, add={"data2": data}),
        dict(init={"out_img2": [np.zeros(OUT, np.float32)]}, add={}),
        dict(init={}, add={"data2": np.ones((20, 21), np.float32)}),
    ]
    for case in cases:
        with pytest.raises(ValueError):
            dr.Drizzle(out_shape=OUT, **case["init"]).add_image(data, 1.0, pm, **case["add"])
        with pytest.raises(ValueError):
            dk.Drizzle(out_shape=OUT, **case["init"]).add_image(data, 1.0, pm, **case["add"])


# ---------------------------------------------------------------- numbers vs drizzle
@pytest.mark.peer
@pytest.mark.parametrize("kernel", ["square", "turbo", "point"])
def test_bit_identical_with_unrepresentable_scalars(kernel, sip_pixmap):
    """drizzle's C core holds pscale_ratio, iscale and wht_scale in float32. With a scale
    ratio from a real WCS (not a float32 number) drizzlekit used it in float64, and turbo's
    drop edges moved by ~1e-9 pixel: 66 of 1.58M weights differed. Now bit-identical."""
    dr = pytest.importorskip("drizzle.resample")
    data, pixmap, out_shape = sip_pixmap
    wht = random_image(data.shape, seed=9, low=0.3, high=1.0)
    kw = dict(exptime=3.0, pixmap=pixmap, weight_map=wht, pixel_scale_ratio=1.0370000001234,
              iscale=1.0370000001234 ** 2, wht_scale=0.7123456789, pixfrac=1.0,
              in_units="counts")
    ref = dr.Drizzle(kernel=kernel, out_shape=out_shape)
    ref.add_image(data, **kw)
    new = dk.Drizzle(kernel=kernel, out_shape=out_shape)
    new.add_image(data, **kw)
    np.testing.assert_array_equal(new.out_wht, ref.out_wht)
    np.testing.assert_array_equal(new.out_img, ref.out_img)
    np.testing.assert_array_equal(new.out_ctx, ref.out_ctx)


@pytest.mark.peer
@pytest.mark.parametrize("order", [2, 3])
def test_lanczos_has_drizzles_normalisation_and_footprint(order, sip_pixmap):
    """Same definition as drizzle 3.0.0's C kernel: weight L(dx s) L(dy s), no
    normalisation, output pixels with |dx| < n/s; the only difference is drizzle's
    0.003-step table (weights within 1%, median offset < 5e-4)."""
    dr = pytest.importorskip("drizzle.resample")
    data, pixmap, out_shape = sip_pixmap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = dr.Drizzle(kernel=f"lanczos{order}", out_shape=out_shape)
        ref.add_image(data, exptime=1.0, pixmap=pixmap)
        new = dk.Drizzle(kernel=f"lanczos{order}", out_shape=out_shape)
        new.add_image(data, exptime=1.0, pixmap=pixmap)
    solid = ref.out_wht > 0.5
    ratio = new.out_wht[solid] / ref.out_wht[solid]
    assert abs(np.median(ratio) - 1) < 5e-4
    assert np.abs(ratio - 1).max() < 1e-2
    np.testing.assert_array_equal(new.out_ctx, ref.out_ctx)


# ------------------------------------------------------- non-finite pixmap positions
@pytest.mark.parametrize("kernel", ["square", "turbo", "point", "gaussian", "lanczos3",
                                    "tophat"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
@pytest.mark.parametrize("axis", [0, 1])
def test_infinite_pixmap_value_skips_what_nan_skips(kernel, bad, axis):
    """Issue 9: one +-inf y value dropped three whole input rows. An infinite x or y
    must skip exactly what a NaN there skips (for the centred kernels: that pixel)."""
    data = random_image((30, 40), seed=6)
    pm = distorted_pixmap((30, 40), scale=1.0, offset=(40, 40))
    bad_pm = pm.copy()
    bad_pm[14, 20, axis] = bad
    nan_pm = pm.copy()
    nan_pm[14, 20, axis] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = dk.Drizzle(kernel=kernel, out_shape=OUT)
        a.add_image(data, 1.0, bad_pm)
        b = dk.Drizzle(kernel=kernel, out_shape=OUT)
        b.add_image(data, 1.0, nan_pm)
        np.testing.assert_array_equal(a.out_wht, b.out_wht)
        np.testing.assert_array_equal(a.out_img, b.out_img)
        if kernel != "square":
            wht = np.ones(data.shape, np.float32)
            wht[14, 20] = 0
            c = dk.Drizzle(kernel=kernel, out_shape=OUT)
            c.add_image(data, 1.0, pm, weight_map=wht)
            np.testing.assert_array_equal(a.out_wht, c.out_wht)


def test_readme_drizzle_core_snippet_runs_as_written():
    """The first snippet of the README's "Quick start in Python" defines all its names."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Quick start in Python\n")
    block = re.findall(r"```python\n(.*?)```", text[start:], flags=re.S)[0]
    ns: dict = {}
    exec(compile(block, "README.md: drizzle core", "exec"), ns)
    assert ns["model"].shape == (512, 512)
    assert np.nanmax(np.abs(ns["model"][100:400, 100:400] - 10.0)) < 5.0
    assert ns["d"].out_wht.max() > 0


def test_lanczos_pixfrac_scaled_when_asked_as_drizzlepac_does():
    import warnings as _w

    from drizzlekit import Drizzle

    y, x = np.indices((40, 40), dtype=float)
    pixmap = np.dstack([x + 0.3, y - 0.2])
    data = np.zeros((40, 40), np.float32)
    data[20, 20] = 100.0
    outs = {}
    for flag in (False, True):
        for pf in (1.0, 0.5):
            d = Drizzle(kernel="lanczos3", out_shape=(40, 40), lanczos_pixfrac=flag)
            with _w.catch_warnings(record=True) as rec:
                _w.simplefilter("always")
                d.add_image(data, exptime=1.0, pixmap=pixmap, pixfrac=pf)
            ignored = any("pixel_fraction is ignored" in str(r.message) for r in rec)
            assert ignored == (not flag and pf != 1.0)
            outs[flag, pf] = d.out_img.copy()
    np.testing.assert_array_equal(outs[False, 0.5], outs[False, 1.0])  # drizzle 3.0
    assert not np.allclose(outs[True, 0.5], outs[True, 1.0])          # drizzlepac
    np.testing.assert_array_equal(outs[True, 1.0], outs[False, 1.0])
