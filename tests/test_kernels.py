"""The kernel plug-in registry, a custom kernel, and property tests."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import drizzlekit as dk
from drizzlekit.kernels import DrizzleJob, Kernel, available_kernels, get_kernel, register_kernel
from drizzlekit.kernels import unregister_kernel
from tests.helpers import distorted_pixmap, random_image


def test_builtin_kernels_are_registered():
    assert set(available_kernels()) >= {"square", "turbo", "point", "gaussian", "tophat",
                                        "lanczos2", "lanczos3"}
    assert get_kernel("square").conserves_flux and not get_kernel("gaussian").conserves_flux


def _numpy_point_kernel(job: DrizzleJob):
    """A pure-numpy nearest-pixel kernel: an independent oracle for 'point'."""
    ny_o, nx_o = job.out_img.shape
    nmiss = 0
    for j in range(job.ymin, job.ymax + 1):
        for i in range(job.xmin, job.xmax + 1):
            x, y = job.pixmap[j, i]
            w = np.float32(job.weight[j, i] * job.wtscale)
            if not np.isfinite(x + y) or w == 0:
                nmiss += 1
                continue
            ii, jj = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
            if not (0 <= ii < nx_o and 0 <= jj < ny_o):
                nmiss += 1
                continue
            d = np.float32(job.data[j, i] * job.dscale)
            vc = job.out_wht[jj, ii]
            job.out_img[jj, ii] = d if vc == 0 else (job.out_img[jj, ii] * vc + w * d) / (vc + w)
            job.out_wht[jj, ii] = vc + w
            if job.out_ctx is not None:
                job.out_ctx[jj, ii] |= job.ctx_bit
    return nmiss, 0


def test_custom_kernel_registers_and_drizzles():
    register_kernel("numpy_point", _numpy_point_kernel, conserves_flux=True,
                    description="reference")
    try:
        shape = (25, 30)
        data = random_image(shape, seed=1)
        wht = random_image(shape, seed=2, low=0.1, high=1)
        pm = distorted_pixmap(shape, scale=0.7, offset=(40, 40))
        outs = []
        for name in ("numpy_point", "point"):
            d = dk.Drizzle(kernel=name, out_shape=(80, 80))
            d.add_image(data, exptime=2.0, pixmap=pm, weight_map=wht, iscale=0.49)
            outs.append(d)
        np.testing.assert_array_equal(outs[0].out_wht, outs[1].out_wht)
        np.testing.assert_allclose(outs[0].out_img, outs[1].out_img, rtol=1e-6)
        np.testing.assert_array_equal(outs[0].out_ctx, outs[1].out_ctx)
    finally:
        unregister_kernel("numpy_point")
    assert "numpy_point" not in available_kernels()


def test_register_refuses_to_shadow_without_overwrite():
    with pytest.raises(ValueError, match="already registered"):
        register_kernel("square", _numpy_point_kernel)
    with pytest.raises(TypeError):
        register_kernel("not_callable", 42)
    k = Kernel("x", _numpy_point_kernel, True)
    assert register_kernel("MyK", k).name == "myk"
    unregister_kernel("myk")


finite_or_not = st.one_of(st.floats(-50, 80), st.just(np.nan), st.just(np.inf),
                          st.just(-np.inf), st.floats(-1e12, 1e12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pixmap=arrays(np.float64, (6, 7, 2), elements=finite_or_not),
       kernel=st.sampled_from(["square", "turbo", "point", "gaussian", "tophat", "lanczos3"]),
       pixfrac=st.floats(0.05, 2.0), scale=st.floats(0.3, 3.0))
def test_random_pixmaps_never_crash_or_write_out_of_bounds(pixmap, kernel, pixfrac, scale):
    guard = np.full((24, 26), -7.0, np.float32)
    guard_w = np.full((24, 26), -7.0, np.float32)
    out_img = guard[2:-2, 3:-3]
    out_wht = guard_w[2:-2, 3:-3]
    out_wht[...] = 0
    d = dk.Drizzle(kernel=kernel, out_img=out_img, out_wht=out_wht, on_no_overlap="ignore")
    data = np.ones((6, 7), np.float32)
    d.add_image(data, exptime=1.0, pixmap=pixmap, pixfrac=pixfrac, pixel_scale_ratio=scale)
    # the frame around the output view is untouched
    for g in (guard, guard_w):
        assert np.all(g[:2] == -7) and np.all(g[-2:] == -7)
        assert np.all(g[:, :3] == -7) and np.all(g[:, -3:] == -7)
    assert np.all(np.isfinite(out_wht))
    if kernel in ("square", "turbo", "point", "tophat"):
        assert out_wht.sum() <= data.size * (1 + 1e-5)
        touched = out_wht > 0
        np.testing.assert_allclose(out_img[touched], 1.0, rtol=1e-5)


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("pixfrac, scale", [(1.0, 1.0), (0.7, 1.3), (1.4, 0.6)])
def test_lanczos_weights_equal_the_analytic_window(order, pixfrac, scale):
    """One drop: every output weight is L(dx s) L(dy s), L(u) = sinc(u) sinc(u/n),
    evaluated here directly with numpy (the kernel advances the sines by rotations).
    As in drizzle 3.0.0, ``pixfrac`` is ignored (with its warning) and ``s`` is
    rounded to float32; no normalisation."""
    pm = np.array([[[40.37, 38.81]]])
    d = dk.Drizzle(kernel=f"lanczos{order}", out_shape=(80, 80))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d.add_image(np.ones((1, 1), np.float32), exptime=1.0, pixmap=pm, pixfrac=pixfrac,
                    pixel_scale_ratio=scale)
    texts = [str(w.message) for w in caught]
    assert f"Kernel 'lanczos{order}' is not a flux-conserving kernel." in texts
    assert any("pixel_fraction is ignored" in t for t in texts) == (pixfrac != 1.0)
    jj, ii = np.indices(d.out_wht.shape)
    sdp = float(np.float32(scale))

    def window(u):
        return np.where(np.abs(u) < order, np.sinc(u) * np.sinc(u / order), 0.0)

    expected = (window((pm[0, 0, 0] - ii) * sdp) * window((pm[0, 0, 1] - jj) * sdp))
    np.testing.assert_allclose(d.out_wht, expected.astype(np.float32), rtol=2e-7, atol=1e-9)
    assert np.count_nonzero(d.out_wht) >= (2 * order / scale) ** 2 * 0.5


def test_sincospi_is_accurate_to_double_precision():
    """The table + Taylor sin/cos behind the Lanczos weights, against numpy."""
    from numba import njit

    from drizzlekit.kernels.builtin import _sincospi

    @njit
    def evaluate(u):
        s = np.empty(u.size)
        c = np.empty(u.size)
        for k in range(u.size):
            s[k], c[k] = _sincospi(u[k])
        return s, c

    u = np.concatenate([np.random.default_rng(0).uniform(-12, 12, 200_000),
                        np.arange(-12, 12.01, 0.25), [1e-300, -1e-300, -2.2e-16, 2 - 2.2e-16]])
    s, c = evaluate(u)
    assert np.abs(s - np.sin(np.pi * u)).max() < 1e-14
    assert np.abs(c - np.cos(np.pi * u)).max() < 1e-14
