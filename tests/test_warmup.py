"""drizzlekit.warmup and ``drizzlekit warmup``: what is compiled, ahead-of-time compilation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from drizzlekit import warmup as wu
from drizzlekit.cli import main


def test_groups_cover_every_builtin_kernel_and_the_helpers():
    groups = wu.loop_groups()
    for name in ("square", "turbo", "point", "gaussian", "tophat", "lanczos2", "lanczos3",
                 "blot", "pixmap", "pixmap_store", "stats", "driz_cr"):
        assert groups[name], name                      # each names at least one numba loop
    assert wu.is_compiled("blot:poly5") == wu.is_compiled("blot")
    assert wu.is_compiled("SQUARE") == wu.is_compiled("square")
    with pytest.raises(KeyError, match="known"):
        wu.is_compiled("no-such-kernel")
    assert set(wu.cold()) <= set(groups)


def test_a_loop_is_compiled_after_its_first_call():
    from drizzlekit.stats import image_stats

    image_stats(np.arange(100, dtype=np.float32), nclip=1, fields="mode")
    assert wu.is_compiled("stats")
    assert "stats" not in wu.cold(["stats"])


def test_warmup_runs_the_chosen_steps_and_reports(monkeypatch):
    lines = []
    times = wu.warmup(["stats", "driz_cr"], report=lines.append)
    assert set(times) == {"stats", "driz_cr"} and all(t >= 0 for t in times.values())
    assert len(lines) == 2 and lines[0].startswith("stats: ")
    assert wu.is_compiled("driz_cr")
    with pytest.raises(KeyError, match="unknown warm-up step"):
        wu.warmup(["everything"])
    # a failing step is reported, never fatal
    monkeypatch.setitem(wu.WARMUP_STEPS, "stats", lambda: 1 / 0)
    assert np.isnan(wu.warmup(["stats"], report=lines.append)["stats"])
    assert "FAILED" in lines[-1]


def test_final_err_step_compiles_the_variance_loop_and_writes_nothing_here(tmp_path,
                                                                           monkeypatch):
    from drizzlekit import astrodrizzle
    from drizzlekit.datasets import simulate_dither
    from drizzlekit.kernels import builtin as kb

    monkeypatch.chdir(tmp_path)
    assert not np.isnan(wu.warmup(["final_err"])["final_err"])
    assert list(tmp_path.iterdir()) == []  # the tiny product went to a temporary directory
    square = kb.BAND_FUNCTIONS[kb.SQUARE]
    known = set(square.signatures)
    sim = simulate_dither(n_exposures=2, shape=(40, 36), n_stars=5, n_galaxies=0, seed=8)
    res = astrodrizzle(sim.hdulists, str(tmp_path / "e"), progress=False, in_memory=True,
                       runfile="", final_err=True, median=False, blot=False, driz_cr=False)
    assert res.err is not None
    assert set(square.signatures) == known  # nothing new compiled for the ERR product


def test_cli(capsys):
    assert main(["warmup", "--step", "stats"]) == 0
    out = capsys.readouterr().out
    assert "warmup: stats:" in out and "still cold:" in out
    rc = main(["warmup", "--check"])
    out = capsys.readouterr().out
    assert out.startswith("cold (compile on first use): ") and rc in (0, 1)


def test_core_does_not_import_the_widgets():
    code = ("import sys, drizzlekit.warmup, drizzlekit.cli; "
            "bad = [m for m in ('ipywidgets', 'bqplot', 'drizzlekit.widgets', 'IPython') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
