"""Fixtures for the browser tests: voila on 127.0.0.1, Debian Chromium, hermetic pages.

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
import time
import urllib.request
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"

# the notebooks here are served to the browser by voila; the project-wide
# --nbval-lax option must not execute them a second time
collect_ignore_glob = ["notebooks/*.ipynb"]
CHROMIUM = os.environ.get("DRIZZLEKIT_CHROMIUM", "/usr/bin/chromium")

try:  # the browser tests need pytest-playwright; without it they are not collected
    import playwright  # noqa: F401
    import pytest_playwright  # noqa: F401
    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False
    collect_ignore_glob.append("test_*_browser.py")


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
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"],
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
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/voila/tree", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.terminate()
                pytest.fail(f"voila did not start; log:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.25)
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
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
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
    return page
