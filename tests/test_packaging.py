"""Project furniture: licence, version, typing marker, citation, packages listed."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import drizzlekit

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert importlib.metadata.version("drizzlekit") == drizzlekit.__version__


def test_licence_is_an_spdx_string_with_a_file():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    assert "BSD 3-Clause" in (ROOT / "LICENSE").read_text()


def test_typed_and_citable():
    assert (Path(drizzlekit.__file__).parent / "py.typed").exists()
    cff = (ROOT / "CITATION.cff").read_text()
    assert "10.1086/338393" in cff  # Fruchter & Hook 2002
    assert f"version: {drizzlekit.__version__}" in cff
    release = drizzlekit.__version__.split(".dev")[0]
    assert f"## {release}" in (ROOT / "CHANGELOG.md").read_text()


def test_widgets_without_the_extra_say_how_to_install_it():
    import subprocess
    import sys

    code = ("import sys; sys.modules['bqplot'] = None\n"
            "try:\n    import drizzlekit.widgets\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120).stdout
    assert "pip install 'drizzlekit[widgets]'" in out and "bqplot" in out


# pyproject.toml lists the packages explicitly: a package directory missing there is
# silently absent from a wheel (the editable install the tests run on has it anyway)
def _package_dirs(top: str, name: str) -> set[str]:
    base = ROOT / top
    return {".".join((name, *init.parent.relative_to(base).parts))
            for init in base.rglob("__init__.py") if "__pycache__" not in init.parts}


def test_every_package_directory_is_listed():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = _package_dirs("drizzlekit", "drizzlekit") | _package_dirs("widgets",
                                                                       "drizzlekit.widgets")
    missing = found - set(setuptools["packages"])
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages"
