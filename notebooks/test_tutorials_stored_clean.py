"""The tutorials are committed clean, and the Binder set-up follows its convention.

The notebooks themselves are executed by nbval
(``pytest --nbval-lax --nbval-current-env notebooks/``); this file checks what nbval
does not: that they are stored without outputs or widget state, that the README lists
them and opens Binder at the first one, and the ``binder/`` files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))


def test_there_is_one_tutorial_per_step():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), [p.name for p in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 9


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"], f"{path.name}: saved widget state"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, f"{path.name}: no code cells"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: cell {i} has stored outputs"
            assert cell["execution_count"] is None, f"{path.name}: cell {i} was executed"
    # every tutorial ends with its checks
    last = "".join(code[-1]["source"])
    assert last.count("assert ") >= 3, f"{path.name}: the last cell should assert results"
    # offline only: no downloads in the tutorials
    text = "".join("".join(c["source"]) for c in code)
    for word in ("urlopen", "requests.", "download_file", "astroquery"):
        assert word not in text, f"{path.name}: uses {word}"


def test_readme_lists_every_tutorial_and_links_binder_to_the_first():
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert f"({path.name})" in readme, f"README does not link {path.name}"
    link = re.search(r"https://mybinder\.org/v2/gh/[^)\s]+", readme)
    assert link is not None
    assert link.group(0).endswith(f"?urlpath=lab/tree/notebooks/{NOTEBOOKS[0].name}")


def test_binder_configuration():
    binder = ROOT / "binder"
    req = [ln.strip() for ln in (binder / "requirements.txt").read_text().splitlines()
           if ln.strip() and not ln.lstrip().startswith("#")]
    assert req[-1] == ".", "binder/requirements.txt must end by installing the package"
    assert any(r.startswith("bqplot-image-gl[bqplot13]") for r in req)
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"
    # an environment.yml would silently override requirements.txt and runtime.txt
    assert not (binder / "environment.yml").exists()
    post = binder / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    script = post.read_text()
    assert "jupyter labextension list" in script
    for ext in ("bqplot-image-gl", "bqplot-gl"):
        assert ext in script
