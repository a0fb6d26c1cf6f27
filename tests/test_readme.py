"""The README's runnable examples run as written (in a temporary directory)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks(section: str) -> list[str]:
    """The ```python blocks of the README section titled ``section``."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start:end if end > 0 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_quick_start_whole_pipeline_runs_as_written():
    block = next(b for b in _python_blocks("Quick start in Python")
                 if "simulate_dither" in b)
    ns: dict = {}
    exec(compile(block, "README.md: quick start", "exec"), ns)
    res = ns["result"]
    assert res.sci is not None and res.cr_masks
    assert Path("final_drz.fits").is_file()


def test_your_own_hst_data_walkthrough_runs_as_written():
    (block,) = _python_blocks("Your own HST data")
    ns: dict = {}
    exec(compile(block, "README.md: your own HST data", "exec"), ns)
    assert sorted(ns["by_filter"]) == ["F330W", "F555W", "F606W"]
    assert [r.status for r in ns["tw"].results] == ["REFERENCE", "SUCCESS"]
    res = ns["res"]
    assert Path("f606w_drz.fits").is_file() and len(res.cr_masks) == 2
    assert all(0 < m.sum() < 0.01 * m.size for m in res.cr_masks.values())


def test_astropy_ecosystem_example_runs_as_written():
    (block,) = _python_blocks("With the rest of the astropy ecosystem")
    ns: dict = {}
    exec(compile(block, "README.md: astropy ecosystem", "exec"), ns)
    assert ns["ccd"].unit is not None and ns["mosaic"].shape == ns["res"].sci.shape
    assert ns["again"].sci.shape == ns["res"].sci.shape
