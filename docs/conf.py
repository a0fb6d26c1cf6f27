"""Sphinx configuration: numpydoc API reference and the tutorials rendered by myst-nb.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (CI builds it with warnings
as errors through ``tests/test_docs.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import drizzlekit

HERE = Path(__file__).parent
ROOT = HERE.parent

project = "drizzlekit"
author = "the drizzlekit developers"
copyright = "2026, the drizzlekit developers"
release = drizzlekit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
]

# the tutorials live in notebooks/ (run by nbval in CI); the docs render copies of them
_TUTORIALS = HERE / "tutorials"
_TUTORIALS.mkdir(exist_ok=True)
for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
    shutil.copy2(nb, _TUTORIALS / nb.name)

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
nb_execution_mode = "off"  # nbval executes every tutorial in CI already
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"

html_theme = "alabaster"
html_title = f"drizzlekit {release}"
