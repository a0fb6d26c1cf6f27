"""Helpers shared by the browser tests (screenshots, markers, status text)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def grey_std(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG screenshot (0 for a blank one)."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float(img.std())


def color_fraction(png: bytes, rgb: tuple[int, int, int], tol: int = 60) -> float:
    """Fraction of the pixels of a PNG within ``tol`` (per channel) of the colour ``rgb``."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float((np.abs(img - np.asarray(rgb)).max(axis=2) <= tol).mean())


def wait_for_plot(page, css: str, predicate, timeout: float = 30.0,
                  poll: float = 0.05) -> float:
    """Poll screenshots of the plot area of ``css`` until ``predicate(png)`` is true.

    Works for WebGL marks too (nothing in the DOM changes when they redraw).
    Returns the seconds it took; raises ``AssertionError`` after ``timeout``.
    """
    page.locator(css).first.scroll_into_view_if_needed()
    t0 = time.perf_counter()
    while True:
        if predicate(plot_area_shot(page, css)):
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            raise AssertionError(f"{css}: the plot did not reach the expected state "
                                 f"within {timeout} s")
        time.sleep(poll)


def plot_area_shot(page, css: str) -> bytes:
    """Screenshot of the plot area (the image region) of the figure ``css``."""
    area = page.locator(f"{css} .plotarea_events").first
    box = area.bounding_box()
    if box is None or box["width"] < 10:
        area = page.locator(css).first
        box = area.bounding_box()
    return page.screenshot(clip=box)


def shots_dir() -> Path | None:
    """Where screenshots are kept (``DK_UI_SHOTS``), or None."""
    d = os.environ.get("DK_UI_SHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        return Path(d)
    return None


def save_shot(page, name: str, css: str | None = None) -> None:
    """Save a full-page screenshot to ``$DK_UI_SHOTS/<name>.png`` when that is set.

    With ``css``, that element is scrolled into view first (JupyterLab
    scrolls inside the notebook panel, so a full-page shot shows only the
    visible part).
    """
    d = shots_dir()
    if d is not None:
        if css is not None:
            page.locator(css).first.scroll_into_view_if_needed()
        page.screenshot(path=str(d / f"{name}.png"), full_page=True)


def dot_count(page, css: str) -> int:
    """Number of bqplot Scatter markers (SVG ``.dot``) inside the figure ``css``."""
    return page.locator(f"{css} .dot").count()


def status_text(page, css: str = ".dk-status") -> str:
    return page.locator(css).first.inner_text()


# ----------------------------------------------------------------------------- JupyterLab
_HARMLESS_CONSOLE = ("Unsatisfied version", "net::ERR_", "Failed to load resource",
                     "ERR_FAILED")


def attach_error_log(page) -> None:
    """Collect page errors and console errors into ``page.dk_errors``.

    ``page.dk_console`` keeps every console message (type, text). Aborted
    requests (the tests are offline) and shared-module version warnings are
    not errors.
    """
    errors: list[str] = []
    console: list[tuple[str, str]] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(msg):
        console.append((msg.type, msg.text))
        if msg.type == "error" and not any(h in msg.text for h in _HARMLESS_CONSOLE):
            errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.dk_errors = errors
    page.dk_console = console


def route_loopback_only(page) -> list[str]:
    """Abort every request that does not go to 127.0.0.1 (or data:/blob:); returns the list."""
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.route("**/*", route)
    return blocked


@dataclass
class LabServer:
    """A running JupyterLab server (``url`` without token, ``root`` its root dir)."""

    url: str
    root: Path
    log: Path
    notebooks: Path
    proc: subprocess.Popen | None = None

    def stop(self) -> None:
        """Terminate the server (killed if it does not stop within 15 s)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


#: the system Chromium (``playwright install`` is never needed)
CHROMIUM = os.environ.get("DRIZZLEKIT_CHROMIUM", "/usr/bin/chromium")
#: Chromium flags: no sandbox (root), no network side channels; WebGL stays (SwiftShader)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
NOTEBOOKS = Path(__file__).parent / "notebooks"

_LAB_SETTINGS = {
    # no news/update toasts (they would cover the outputs), every cell in the DOM
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_lab_exe() -> str | None:
    """``jupyter-lab`` beside the running Python (the venv), or on PATH."""
    cand = Path(sys.executable).with_name("jupyter-lab")
    if cand.exists():
        return str(cand)
    return shutil.which("jupyter-lab")


def wait_for_server(proc, url: str, log_path: Path, timeout: float, what: str) -> None:
    """Poll ``url`` until the server answers; stop ``proc`` and raise RuntimeError (with the
    end of its log) when it exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.terminate()
                raise RuntimeError(f"{what} did not start; log:\n"
                                   + log_path.read_text()[-3000:]) from None
            time.sleep(0.25)


def start_lab_server(base: Path, notebooks: Path = NOTEBOOKS, timeout: float = 90.0,
                     env: dict | None = None) -> LabServer:
    """Start JupyterLab on a free 127.0.0.1 port with its dirs under ``base``.

    No token, news and update checks off, every cell in the DOM, the app
    exposed as ``window.jupyterapp``. Returns when ``/api/status`` answers;
    raises ``RuntimeError`` (with the end of the log) when it does not.
    Stop it with ``server.stop()``.
    """
    exe = jupyter_lab_exe()
    if exe is None:
        raise RuntimeError("jupyterlab is not installed")
    base = Path(base)
    root, settings, work = base / "root", base / "settings", base / "workspaces"
    for d in (root, settings, work):
        d.mkdir(parents=True, exist_ok=True)
    for rel, value in _LAB_SETTINGS.items():
        f = settings / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    port = free_port()
    log_path = base / "lab.log"
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1"),
           "PYTHONWARNINGS": "ignore::DeprecationWarning",
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"), **(env or {})}
    env.pop("DRIZZLEKIT_WEBGL", None)
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(
            [exe, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", "--IdentityProvider.token=",
             "--ServerApp.password=", "--ServerApp.allow_root=True",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
             "--LabApp.news_url=None", f"--LabApp.user_settings_dir={settings}",
             f"--LabApp.workspaces_dir={work}", "--ServerApp.disable_check_xsrf=True"],
            stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=str(root))
    url = f"http://127.0.0.1:{port}"
    wait_for_server(proc, url + "/api/status", log_path, timeout, "jupyter lab")
    return LabServer(url=url, root=root, log=log_path, notebooks=Path(notebooks), proc=proc)


_LAB_READY = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session
            && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content && w.content.widgets.length);
}"""

_LAB_DONE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const prompts = [...w.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                  .map(e => e.textContent.trim());
  if (!prompts.every(t => /^\\[\\d+\\]:$/.test(t))) return false;
  const outs = [...w.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]')];
  return outs.every(o => o.querySelector('.jupyter-widgets, .widget-container, .lm-Widget'));
}"""


class LabSession:
    """Open notebooks in JupyterLab pages (see ``tests/ui/conftest.py``)."""

    def __init__(self, server: LabServer, browser, launch_without_webgl):
        self.server = server
        self._browser = browser
        self._launch_without_webgl = launch_without_webgl
        self._nowebgl = None
        self._contexts: list = []
        self._count = 0

    def _write_notebook(self, notebook) -> str:
        self._count += 1
        if isinstance(notebook, (list, tuple)):
            cells = [{"cell_type": "code", "metadata": {}, "execution_count": None,
                      "outputs": [], "source": str(src)} for src in notebook]
            nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                  "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                              "language": "python"}}}
            stem = "cells"
        else:
            src = self.server.notebooks / notebook
            nb = json.loads(src.read_text())
            nb.setdefault("metadata", {})["kernelspec"] = {
                "name": "python3", "display_name": "Python 3", "language": "python"}
            stem = Path(notebook).stem
        name = f"{stem}-{os.getpid()}-{self._count}.ipynb"
        (self.server.root / name).write_text(json.dumps(nb))
        return name

    def open(self, notebook, *, viewport: tuple[int, int] = (1400, 900), webgl: bool = True,
             timeout: float = 120.0):
        """Open ``notebook`` in Lab, run all cells and wait for the widgets; returns the page."""
        name = self._write_notebook(notebook)
        if webgl:
            browser = self._browser
        else:
            if self._nowebgl is None:
                self._nowebgl = self._launch_without_webgl()
            browser = self._nowebgl
        ctx = browser.new_context(viewport={"width": int(viewport[0]),
                                            "height": int(viewport[1])})
        self._contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(timeout * 1000)
        page.dk_blocked = route_loopback_only(page)
        attach_error_log(page)
        page.goto(f"{self.server.url}/lab/tree/{name}?reset")
        page.wait_for_function(_LAB_READY, timeout=timeout * 1000, polling=200)
        self.rerun(page, timeout=timeout)
        return page

    def rerun(self, page, timeout: float = 120.0) -> None:
        """Run all cells (Run > Run All Cells) and wait until done and the widgets are drawn."""
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_timeout(300)
        deadline = time.monotonic() + timeout
        while True:
            page.wait_for_function(_LAB_DONE, timeout=max(deadline - time.monotonic(), 1) * 1000,
                                   polling=200)
            page.wait_for_timeout(500)  # still done half a second later: not between cells
            if page.evaluate(_LAB_DONE):
                break
        err = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                           ', .jp-OutputArea-output.jp-RenderedText[data-mime-type='
                           '"application/vnd.jupyter.error"]')
        tracebacks = [t for t in err.all_inner_texts() if "Traceback" in t or "Error" in t]
        if tracebacks:
            raise AssertionError("notebook raised:\n" + "\n".join(tracebacks)[-3000:])

    def close(self) -> None:
        for ctx in self._contexts:
            try:
                ctx.close()
            except Exception:  # already closed with its browser
                pass
        if self._nowebgl is not None:
            self._nowebgl.close()


# ----------------------------------------------------------------------------- layout checks
_VISIBLE_JS = """([css, inset, idx]) => {
  const bad = [];
  const all = [...document.querySelectorAll(css)];
  const figs = idx === null ? all : all.slice(idx, idx + 1);
  for (const f of figs) {
    const r = f.getBoundingClientRect();
    if (r.width < 20 || r.height < 20) { bad.push(['tiny', r.width, r.height]); continue; }
    // the scrolling container (Lab: the notebook panel) must show the whole figure
    let clip = {left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight};
    for (let p = f.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (/(auto|scroll|hidden|clip)/.test(s.overflowX + s.overflowY)) {
        const q = p.getBoundingClientRect();
        clip = {left: Math.max(clip.left, q.left), top: Math.max(clip.top, q.top),
                right: Math.min(clip.right, q.right), bottom: Math.min(clip.bottom, q.bottom)};
      }
    }
    if (r.left < clip.left - 1 || r.right > clip.right + 1) {
      bad.push(['clipped-x', f.className.baseVal || f.className, r.left, r.right,
                clip.left, clip.right]);
      continue;
    }
    const pts = [[r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
                 [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset],
                 [(r.left + r.right) / 2, (r.top + r.bottom) / 2]];
    for (const [x, y] of pts) {
      if (y < clip.top || y > clip.bottom) continue;   // scrolled out vertically: not clipping
      const e = document.elementFromPoint(x, y);
      if (!e || !(f === e || f.contains(e))) {
        bad.push(['covered', f.className.baseVal || f.className, x, y,
                  e ? (e.className.baseVal || e.className || e.tagName) : null]);
      }
    }
  }
  return {n: figs.length, bad};
}"""


def figures_visible(page, css: str = ".dk-fig", inset: float = 4.0) -> dict:
    """Check that every element ``css`` lies fully inside its scrolling containers.

    Each figure is scrolled into view first; then its box must lie within
    the horizontal extent of every clipping ancestor (no sideways clipping)
    and ``document.elementFromPoint`` at its inset corners and centre must
    hit the figure itself (nothing covers it). Returns ``{'n': .., 'bad': [...]}``.
    """
    bad, n = [], 0
    loc = page.locator(css)
    for k in range(loc.count()):
        loc.nth(k).scroll_into_view_if_needed()
        page.wait_for_timeout(50)
        res = page.evaluate(_VISIBLE_JS, [css, inset, k])
        n += res["n"]
        bad += res["bad"]
    return {"n": n, "bad": bad}


def assert_figures_visible(page, css: str = ".dk-fig") -> int:
    """Assert :func:`figures_visible` finds no problem; returns the number of figures."""
    res = figures_visible(page, css)
    assert res["n"] > 0, f"no {css} on the page"
    assert res["bad"] == [], f"figures clipped or covered: {res['bad']}"
    return res["n"]


_HSCROLL_JS = """(sel) => [...document.querySelectorAll(sel)]
  .filter(e => e.scrollWidth > e.clientWidth + 1
               && /(auto|scroll)/.test(getComputedStyle(e).overflowX))
  .map(e => [e.className, e.scrollWidth, e.clientWidth])"""


def horizontal_scrollers(page, sel: str = ".jp-OutputArea-output, .jp-OutputArea, "
                         ".jp-WindowedPanel-outer, .jp-Notebook, .jp-Cell-outputArea, "
                         ".jupyter-widgets, body") -> list:
    """Elements that scroll sideways (``scrollWidth > clientWidth``, overflow-x auto/scroll)."""
    return page.evaluate(_HSCROLL_JS, sel)


def assert_no_horizontal_scroll(page) -> None:
    found = horizontal_scrollers(page)
    assert found == [], f"horizontal scrollbars: {found}"
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not wide, "the page scrolls sideways"


def assert_not_blank(page, css: str, threshold: float = 10.0) -> float:
    """Screenshot the plot area of figure ``css``; its grey std-dev must exceed ``threshold``."""
    page.locator(css).first.scroll_into_view_if_needed()
    std = grey_std(plot_area_shot(page, css))
    assert std > threshold, f"{css} looks blank (grey std {std:.2f})"
    return std


def drag_slider_past_end(page, param: str, steps: int = 8) -> None:
    """Press the handle of the parameter slider ``param`` and drag it past the track's right
    end; the mouse stays pressed (the caller releases it: ``page.mouse.up()``), so the
    round trip can be timed from the release."""
    handle = page.locator(f".dk-param-{param} .noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = page.locator(f".dk-param-{param} .noUi-target").first.bounding_box()
    hb = handle.bounding_box()
    y = hb["y"] + hb["height"] / 2
    page.mouse.move(hb["x"] + hb["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] + 20, y, steps=steps)


def time_until_changed(page, css: str, action, timeout: float = 20.0,
                       poll: float = 0.02) -> float:
    """Seconds from ``action()`` until the plot area of ``css`` looks different (screenshots).

    For reporting round trips (slider -> kernel -> redrawn figure); never assert on it.
    """
    before = plot_area_shot(page, css)
    t0 = time.perf_counter()
    action()
    while time.perf_counter() - t0 < timeout:
        if plot_area_shot(page, css) != before:
            return time.perf_counter() - t0
        time.sleep(poll)
    raise AssertionError(f"{css} did not change within {timeout} s")
