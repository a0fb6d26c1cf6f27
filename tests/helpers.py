"""Shared test helpers: synthetic pixmaps and images, and copies of input files."""

import numpy as np


def distorted_pixmap(shape, scale=1.0, rot_deg=17.0, offset=(60.0, 60.0), quad=(1e-4, 2e-4),
                     center=None):
    """Pixmap of a rotated, scaled image with a small quadratic distortion.

    Output = R (x - c) / scale + offset + quadratic terms.
    """
    ny, nx = shape
    y, x = np.indices(shape, dtype=float)
    cx, cy = center if center is not None else ((nx - 1) / 2, (ny - 1) / 2)
    th = np.deg2rad(rot_deg)
    X = (x - cx) * np.cos(th) - (y - cy) * np.sin(th)
    Y = (x - cx) * np.sin(th) + (y - cy) * np.cos(th)
    return np.dstack([X / scale + offset[0] + quad[0] * X**2,
                      Y / scale + offset[1] + quad[1] * X * Y])


def shift_pixmap(shape, dx, dy):
    y, x = np.indices(shape, dtype=float)
    return np.dstack([x + dx, y + dy])


def random_image(shape, seed=0, low=5.0, high=15.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, shape).astype(np.float32)


def copies_in(directory, filenames):
    """Copies of ``filenames`` in ``directory`` (tests never touch shared inputs)."""
    import os
    import shutil

    out = []
    for f in filenames:
        dst = os.path.join(directory, os.path.basename(f))
        shutil.copy(f, dst)
        out.append(str(dst))
    return out


def jdaviz_env_program(name: str):
    """Path of the program ``name`` (``python``, ``jupyter-lab``) of jdaviz's environment:
    ``.venv-jdaviz`` (``tests/compat/make_jdaviz_venv.sh``) or the folder of
    ``DRIZZLEKIT_JDAVIZ_PYTHON``. Skips the calling test when it is missing, except under
    ``CI=true``, where a missing environment is a broken set-up and fails it."""
    import os
    from pathlib import Path

    import pytest

    py = os.environ.get("DRIZZLEKIT_JDAVIZ_PYTHON")
    root = Path(__file__).resolve().parents[1]
    exe = Path(py).with_name(name) if py else root / ".venv-jdaviz" / "bin" / name
    if not exe.exists():
        msg = f"jdaviz environment missing ({exe}): run tests/compat/make_jdaviz_venv.sh"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe
