"""Fixtures for the browser tests: voila and JupyterLab on 127.0.0.1, Debian Chromium.

JupyterLab fixture API (for the panels' Lab tests)
--------------------------------------------------
``lab`` (function fixture) -> :class:`uihelpers.LabSession`. One JupyterLab server per
test session (``lab_server``: a free port on 127.0.0.1, no token, a temporary root
dir, temporary settings/workspaces dirs, news and update checks off) and one Chromium
page per ``lab.open`` call (every non-loopback request aborted)::

    def test_my_panel_in_lab(lab):
        page = lab.open("align.ipynb", viewport=(1280, 800))   # or webgl=False
        # the notebook (from tests/ui/notebooks, or a list of cell sources) was copied
        # into the server's root, opened in Lab, run (command notebook:run-all-cells), the
        # call returned when the kernel is idle, no cell shows [*] and every
        # widget view in the outputs has rendered.
        page.wait_for_selector(".dk-fig-align .plotarea_events")
        from uihelpers import (assert_figures_visible, assert_no_horizontal_scroll,
                               assert_not_blank, time_until_changed)
        assert_figures_visible(page)            # every .dk-fig fully inside the output area
        assert_no_horizontal_scroll(page)       # output areas do not scroll sideways
        assert_not_blank(page, ".dk-fig-align") # pixel std-dev of the plot area > 10
        assert page.dk_errors == []             # page errors + console errors (filtered)

``lab.open(notebook, *, viewport=(1400, 900), webgl=True, timeout=120)``
    ``notebook``: a file name in ``tests/ui/notebooks`` or a list of cell sources
    (written to a fresh ``.ipynb``). ``webgl=False`` opens it in a second Chromium
    launched with ``--disable-webgl --disable-3d-apis`` (no software WebGL either).
    Returns the playwright ``Page``; ``page.dk_errors`` (list of str) collects page
    errors and console errors (network-abort noise and the shared-module version
    warnings are dropped), ``page.dk_console`` keeps every console message.
``lab.rerun(page)``  run all cells again and wait (as ``open`` does).
``lab.server.url`` / ``lab.server.root``  the server and its root dir (a ``Path``).
A cell that raises makes ``open`` fail with the traceback. The notebook is rendered with
``windowingMode: none`` (every cell in the DOM); figures are scrolled into view by the
helpers. Screenshots go to ``$DK_UI_SHOTS`` when set (``uihelpers.save_shot(page, name,
css)`` scrolls ``css`` into view first). ``uihelpers.time_until_changed(page, css, action)``
returns the seconds from ``action()`` until the figure's pixels change (print it; never
assert timings). Layout gotcha the checks catch: an ipywidget with ``width='100%'`` keeps
its default 2-px margins and overflows its box by 4 px (a sideways scrollbar); give such
widgets ``margin='0px'`` (the viewer does).

The voila fixtures (below) are unchanged: ``notebook_url`` + ``hermetic_page``.

The notebooks in ``tests/ui/notebooks`` are served by one voila server (a
directory tree, one kernel per page). Playwright drives the system Chromium
(``/usr/bin/chromium``; ``playwright install`` is never needed), and every
request that does not go to the loopback server is aborted, so the tests run
offline and cannot leak requests.

The browser tests are skipped (or, without pytest-playwright, not collected)
when voila, playwright or Chromium are missing, so the plain test suite runs
anywhere; CI installs all three. ``DK_UI_SHOTS=<dir>`` keeps screenshots.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"

# the notebooks here are served to the browser by voila; the project-wide
# --nbval-lax option must not execute them a second time
collect_ignore_glob = ["notebooks/*.ipynb"]
if str(NOTEBOOKS.parent) not in sys.path:  # uihelpers (shared with benchmarks/)
    sys.path.insert(0, str(NOTEBOOKS.parent))
from uihelpers import CHROMIUM, CHROMIUM_ARGS, wait_for_server  # noqa: E402

try:  # the browser tests need pytest-playwright; without it they are not collected
    import playwright  # noqa: F401
    import pytest_playwright  # noqa: F401
    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False
    collect_ignore_glob.append("test_*_browser.py")
    collect_ignore_glob.append("test_lab_*.py")


def _voila_exe() -> str | None:
    cand = Path(sys.executable).with_name("voila")
    if cand.exists():
        return str(cand)
    return shutil.which("voila")


def pytest_configure(config):
    # pytest-playwright 0.10's base_url fixture triggers this pytest 9 deprecation
    config.addinivalue_line("filterwarnings", "ignore::pytest.PytestRemovedIn10Warning")


def pytest_collection_modifyitems(config, items):
    missing = []
    if _voila_exe() is None:
        missing.append("voila")
    if not Path(CHROMIUM).exists():
        missing.append(f"chromium ({CHROMIUM})")
    if _jupyter_exe() is None:
        missing.append("jupyterlab")
    if missing and os.environ.get("DRIZZLEKIT_REQUIRE_BROWSER"):
        # CI installs all of them: a missing one is a broken set-up, not a skip
        raise pytest.UsageError("browser tests need " + " and ".join(missing))
    if missing:
        skip = pytest.mark.skip(reason="browser tests need " + " and ".join(missing))
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


if HAVE_PLAYWRIGHT:
    @pytest.fixture(scope="session")
    def browser_type_launch_args(browser_type_launch_args):
        """Debian's Chromium (never a downloaded browser), no network side channels."""
        return {
            **browser_type_launch_args,
            "executable_path": CHROMIUM,
            "args": list(CHROMIUM_ARGS),
        }

    @pytest.fixture(scope="session")
    def browser_context_args(browser_context_args):
        return {**browser_context_args, "viewport": {"width": 1400, "height": 1100}}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory):
    """Base URL of a voila server rendering ``tests/ui/notebooks`` (loopback only)."""
    exe = _voila_exe()
    if exe is None:
        pytest.skip("voila is not installed")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("voila") / "voila.log"
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1"),
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(
            [exe, str(NOTEBOOKS), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
             "--Voila.port_retries=0", "--show_tracebacks=True"],
            stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=str(NOTEBOOKS))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(proc, base + "/voila/tree", log_path, 60, "voila")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def notebook_url(voila_server):
    """``notebook_url("viewer.ipynb")`` -> the URL voila renders it at."""
    def url(name: str) -> str:
        if not (NOTEBOOKS / name).exists():
            raise FileNotFoundError(NOTEBOOKS / name)
        return f"{voila_server}/voila/render/{name}"
    return url


_HARMLESS = ("Unsatisfied version", "ERR_FAILED", "net::ERR_", "Failed to load resource")


@pytest.fixture
def hermetic_page(page):
    """A page whose non-loopback requests are aborted; ``page.dk_errors`` collects errors.

    Page errors (uncaught exceptions) and console errors saying a widget view
    could not be created are recorded; blocked-request noise and the
    shared-module version warnings voila prints are not.
    """
    from uihelpers import route_loopback_only

    blocked = route_loopback_only(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def console(msg):
        text = msg.text
        if msg.type == "error" and ("Could not create a view" in text
                                    or "Error creating WebGL" in text):
            errors.append(f"console: {text}")

    page.on("console", console)
    page.dk_errors = errors
    page.dk_blocked = blocked
    page.set_default_timeout(30_000)
    # voila runs every cell before it answers: on a busy machine that takes a while
    page.set_default_navigation_timeout(180_000)
    return page


# ----------------------------------------------------------------------------- JupyterLab
def _jupyter_exe() -> str | None:
    from uihelpers import jupyter_lab_exe

    return jupyter_lab_exe()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on 127.0.0.1 (no token, temporary root dir); see the module docstring."""
    from uihelpers import start_lab_server

    if _jupyter_exe() is None:
        pytest.skip("jupyterlab is not installed")
    try:
        server = start_lab_server(tmp_path_factory.mktemp("lab"), NOTEBOOKS)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


if HAVE_PLAYWRIGHT:
    @pytest.fixture
    def lab(lab_server, browser, launch_browser, browser_type_launch_args):
        """Open notebooks in JupyterLab and run them; see the module docstring."""
        from uihelpers import LabSession

        base_args = list(browser_type_launch_args.get("args", []))

        def launch_without_webgl():
            return launch_browser(
                args=base_args + ["--disable-webgl", "--disable-3d-apis",
                                  "--disable-software-rasterizer"],
                ignore_default_args=["--enable-unsafe-swiftshader"])

        session = LabSession(lab_server, browser, launch_without_webgl)
        yield session
        session.close()
