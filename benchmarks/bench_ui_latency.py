"""Benchmark: slider -> redrawn figure round trips of the panels, in JupyterLab.

What a user feels when moving a slider of a panel: the browser sends the new
value to the kernel, the panel recomputes (a re-drizzle of the preview, a
re-fit of the alignment) and sends the changed marks back, and the browser
redraws them. This script measures that whole round trip in a real
JupyterLab 4 page in Debian's Chromium (headless, software WebGL), with the
browser test suite's helpers (``tests/ui/uihelpers.py``): one JupyterLab on a
free 127.0.0.1 port, every non-loopback request aborted, a window of
1280x800 with the file browser open.

Panels (the notebooks of ``tests/ui/notebooks``):

* ``DrizzlePanel`` (3 simulated 512² exposures, 256² preview): the
  ``final_pixfrac`` and ``final_scale`` sliders -> redrawn SCI/WHT previews;
* ``AlignPanel`` (2 x ~1000 sources): the ``sigma`` slider -> re-fit ->
  redrawn residual plots (vectors, dx/dy against x/y) and overlays.

Each slider is moved ``--repeats`` times by the keyboard (one arrow-key step
each) and ``--repeats`` times by a mouse drag (press on the handle, move in
8 steps, release). The clock runs in the page: from the ``keydown`` /
``pointerup`` event to the animation frame after the last change of the
panel's figures (an SVG mutation or a WebGL draw call), once the figures
have been quiet for 0.8 s. Steps that change nothing on screen (e.g. a sigma
step that clips the same pairs) are counted apart and not timed.

``--compare`` also opens the AlignPanel with its residual points drawn as SVG
(``plots_gl=False``, as in a browser without WebGL) and with the older redraw
(``fast_redraw=False``: SVG points, axis ranges following the data so that
every update redraws every mark on the scale, one SVG path per residual
vector), and prints all three.

Timings on a shared machine are noisy: the load average is printed with the
results; run it when the machine is idle and compare medians.

Usage::

    python benchmarks/bench_ui_latency.py                 # both panels, 5 + 5 moves each
    python benchmarks/bench_ui_latency.py --panels align --compare --repeats 7
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from uihelpers import (CHROMIUM, CHROMIUM_ARGS, NOTEBOOKS, LabSession,  # noqa: E402
                       save_shot, start_lab_server)

VIEWPORT = (1280, 800)

#: installed before the page loads: timestamps of every WebGL draw call
_GL_HOOK = """
(() => {
  window.__dkGL = [];
  for (const C of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    if (!C) continue;
    for (const f of ['drawArrays', 'drawElements']) {
      const orig = C.prototype[f];
      C.prototype[f] = function (...a) { window.__dkGL.push(performance.now());
                                         return orig.apply(this, a); };
    }
  }
})();
"""

#: watch the figures ``sel``: the last change's next animation frame, after the last input
_WATCH = """(sel) => {
  const st = window.__dkLat = {t0: null, last: null, n: 0, kind: null};
  const changed = () => requestAnimationFrame(() => {
      if (st.t0 !== null) { st.last = performance.now(); st.n++; } });
  const obs = new MutationObserver(changed);
  for (const e of document.querySelectorAll(sel))
    obs.observe(e, {subtree: true, childList: true, attributes: true, characterData: true});
  // WebGL figures draw without touching the DOM: poll the draw-call log each frame
  let seen = window.__dkGL.length;
  const poll = () => { if (window.__dkGL.length > seen) { seen = window.__dkGL.length;
                                                          changed(); }
                       requestAnimationFrame(poll); };
  requestAnimationFrame(poll);
  const start = (ev) => { st.t0 = performance.now(); st.last = null; st.n = 0;
                          st.kind = ev.type; };
  document.addEventListener('keydown', start, true);
  document.addEventListener('pointerup', start, true);
}"""

_STATE = """() => { const s = window.__dkLat;
  return {t0: s.t0, last: s.last, n: s.n, now: performance.now()}; }"""


def _settle(page, quiet_ms: float = 800.0, timeout: float = 20.0) -> float | None:
    """Seconds from the input event to the last redraw, or None when nothing changed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        s = page.evaluate(_STATE)
        if s["t0"] is None:
            continue
        ref = s["last"] if s["last"] is not None else s["t0"]
        wait = 2500.0 if s["last"] is None else quiet_ms   # a refit may take a while to start
        if s["now"] - ref > wait:
            return None if s["last"] is None else (s["last"] - s["t0"]) / 1e3
    raise RuntimeError("the figures did not settle")


def _idle(page, quiet_ms: float = 800.0) -> None:
    """Wait until the figures have not changed for ``quiet_ms`` (a previous move is done)."""
    page.evaluate("() => { window.__dkLat.t0 = performance.now(); window.__dkLat.last = null; }")
    _settle(page, quiet_ms)


def _handle(page, param: str):
    h = page.locator(f".dk-param-{param} .noUi-handle").first
    h.scroll_into_view_if_needed()
    return h


def _timed(page, moves) -> tuple[list, int]:
    """Make each ``move()`` and time the redraw it causes: (seconds per changed redraw,
    number of moves that changed nothing)."""
    out, unchanged = [], 0
    for move in moves:
        move()
        dt = _settle(page)
        if dt is None:
            unchanged += 1
        else:
            out.append(dt)
    return out, unchanged


def keyboard_moves(page, param: str, key: str, n: int, start_keys=()) -> tuple[list, int]:
    """``n`` single key presses on the slider; returns (seconds per changed redraw, unchanged)."""
    h = _handle(page, param)
    h.focus()
    for k in start_keys:
        h.press(k)
        _idle(page)
    return _timed(page, (lambda: h.press(key) for _ in range(n)))


def drag_moves(page, param: str, fractions: tuple[float, float], n: int) -> tuple[list, int]:
    """``n`` drags of the slider's handle, alternately to the two track ``fractions``."""
    def drag(i: int) -> None:
        h = _handle(page, param)
        track = page.locator(f".dk-param-{param} .noUi-target").first.bounding_box()
        hb = h.bounding_box()
        y = hb["y"] + hb["height"] / 2
        page.mouse.move(hb["x"] + hb["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(track["x"] + fractions[i % 2] * track["width"], y, steps=8)
        page.mouse.up()

    return _timed(page, (functools.partial(drag, i) for i in range(n)))


def _summary(label: str, times: list, unchanged: int) -> str:
    if not times:
        return f"  {label:44s} no redraw measured ({unchanged} moves changed nothing)"
    med = statistics.median(times)
    extra = f", {unchanged} moves without a redraw" if unchanged else ""
    return (f"  {label:44s} median {med:5.2f} s  range {min(times):.2f}-{max(times):.2f} s  "
            f"(n={len(times)}{extra})")


def _align_cells(extra: str = "") -> list[str]:
    nb = json.loads((NOTEBOOKS / "align.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    if extra:
        cells = [c.replace("size=440)", f"size=440, {extra})") for c in cells]
    return cells


def bench_align(lab, repeats: int, extra: str = "") -> list[str]:
    page = lab.open(_align_cells(extra), viewport=VIEWPORT, timeout=240)
    page.wait_for_selector(".dk-status .dk-rms")
    page.wait_for_selector(".dk-fig-align-dx-x .plotarea_events")
    page.evaluate(_WATCH, ".dk-align-plots .dk-fig, .dk-fig-align")
    _idle(page)
    tag = f" [{extra}]" if extra else ""
    lines = []
    # sigma 1.0 -> 1.1 -> ...: each step clips a few more or fewer pairs
    t, u = keyboard_moves(page, "sigma", "ArrowRight", repeats,
                          start_keys=["Home"] + ["ArrowRight"] * 5)
    lines.append(_summary(f"align sigma, keyboard step{tag}", t, u))
    t, u = drag_moves(page, "sigma", (0.08, 0.22), repeats)
    lines.append(_summary(f"align sigma, mouse drag{tag}", t, u))
    save_shot(page, "bench-align" + "".join(c for c in extra if c.isalpha()), ".dk-align-plots")
    timing = page.locator(".dk-status .dk-timing").first.inner_text()
    lines.append(f"  {'':44s} last Python side: {timing.strip('()')}")
    page.context.close()
    return lines


def bench_drizzle(lab, repeats: int) -> list[str]:
    page = lab.open("drizzle.ipynb", viewport=VIEWPORT, timeout=300)
    page.wait_for_selector(".dk-status .dk-drz")
    page.evaluate(_WATCH, ".dk-fig-drizzle-sci, .dk-fig-drizzle-wht")
    _idle(page)
    lines = []
    for param, key, fr in (("final_pixfrac", "ArrowLeft", (0.5, 0.9)),
                           ("final_scale", "ArrowRight", (0.3, 0.6))):
        t, u = keyboard_moves(page, param, key, repeats)
        lines.append(_summary(f"drizzle {param}, keyboard step", t, u))
        t, u = drag_moves(page, param, fr, repeats)
        lines.append(_summary(f"drizzle {param}, mouse drag", t, u))
    save_shot(page, "bench-drizzle", ".dk-fig-drizzle-sci")
    page.context.close()
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="moves per slider and method")
    ap.add_argument("--panels", default="drizzle,align", help="drizzle,align")
    ap.add_argument("--compare", action="store_true",
                    help="also time AlignPanel(plots_gl=False) (SVG residual points) and "
                         "AlignPanel(fast_redraw=False) (the older redraw)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    lines = [f"JupyterLab + Chromium (headless, SwiftShader), {VIEWPORT[0]}x{VIEWPORT[1]}, "
             f"{os.cpu_count()} cores, load average at start {load0[0]:.2f}"]
    with tempfile.TemporaryDirectory(prefix="dk-bench-ui-") as tmp, sync_playwright() as pw:
        server = start_lab_server(Path(tmp))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        orig_new_context = browser.new_context

        def new_context(**kw):  # the WebGL draw-call hook in every page
            ctx = orig_new_context(**kw)
            ctx.add_init_script(_GL_HOOK)
            return ctx

        browser.new_context = new_context
        lab = LabSession(server, browser, None)
        try:
            panels = [p.strip() for p in args.panels.split(",") if p.strip()]
            if "drizzle" in panels:
                lines += bench_drizzle(lab, args.repeats)
            if "align" in panels:
                lines += bench_align(lab, args.repeats)
                if args.compare:
                    lines += bench_align(lab, args.repeats, "plots_gl=False")
                    lines += bench_align(lab, args.repeats, "fast_redraw=False")
        finally:
            lab.close()
            browser.close()
            server.stop()
    lines.append(f"load average at end {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
