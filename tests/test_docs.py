"""The documentation site builds with warnings as errors (API reference + tutorials)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    api = (out / "api.html").read_text()
    for name in ("Drizzle", "blot_image", "calc_pixmap", "astrodrizzle", "tweakreg",
                 "reproject_drizzle"):
        assert name in api
    tutorials = sorted(p.name for p in (out / "tutorials").glob("*.html"))
    assert len(tutorials) == len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
