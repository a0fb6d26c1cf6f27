"""Ask the browser whether it has WebGL, from a plain ipywidgets box.

``bqplot_image_gl.ImageGL`` needs WebGL; without it the figure stays
blank (title only) and the browser console logs "Error creating WebGL
context". Nothing reaches the kernel. :class:`WebGLProbe` is how the
viewer finds out, with stock ipywidgets only (no custom front-end code,
so it works wherever ipywidgets render: JupyterLab 4, Notebook 7, voila):

* an ``ipywidgets.HTML`` whose value holds an ``<img>`` with an empty
  ``data:`` source and an ``onerror`` handler. The HTML widget sets its
  value as ``innerHTML``, so ``<script>`` elements would not run, but the
  image's error event does (no request leaves the page: ``data:,`` fails
  to decode locally);
* the handler creates a canvas, asks for a ``webgl2`` / ``webgl`` context,
  and types ``"1"`` or ``"0"`` into a hidden ``ipywidgets.Text`` beside it
  (dispatching an ``input`` event, so the Text view syncs the value to the
  kernel like a keystroke would);
* the kernel observes that Text and calls back.

A front-end that blocks inline event handlers (a strict Content Security
Policy) never answers; the viewer then keeps WebGL, as before. The answer
is remembered for the kernel in :data:`BROWSER_WEBGL` so that later viewers
start with the right renderer.
"""

from __future__ import annotations

from typing import Callable

import ipywidgets as W

__all__ = ["WebGLProbe", "BROWSER_WEBGL", "browser_webgl"]

#: What the last browser said: True / False, or None before any answer.
BROWSER_WEBGL: dict[str, bool | None] = {"webgl": None}


def browser_webgl() -> bool | None:
    """Whether the browser showing this kernel's widgets has WebGL (None: not known yet)."""
    return BROWSER_WEBGL["webgl"]


# The handler walks up to the probe's own box (class dk-webgl-probe) and retries for a
# few seconds in case the Text view is attached after the image fails to load.
_HANDLER = (
    "var img=this;var go=function(n){var box=img.closest('.dk-webgl-probe');"
    "var t=box&&box.querySelector('input');"
    "if(!t){if(n<50){setTimeout(function(){go(n+1);},100);}return;}"
    "var ok=false;try{var c=document.createElement('canvas');"
    "ok=!!(c.getContext('webgl2')||c.getContext('webgl'));}catch(e){ok=false;}"
    "var v=ok?'1':'0';if(t.value!==v){t.value=v;"
    "t.dispatchEvent(new Event('input',{bubbles:true}));"
    "t.dispatchEvent(new Event('change',{bubbles:true}));}};go(0);"
)


class WebGLProbe:
    """A tiny invisible box that reports the browser's WebGL support to the kernel.

    Parameters
    ----------
    callback : callable(bool)
        Called with True/False when the browser answers (each time a view
        of the probe is rendered and the answer differs from the last one).

    Attributes
    ----------
    widget : ipywidgets.HBox
        Put it anywhere in the displayed tree (it takes no space).
    answer : bool or None
    """

    def __init__(self, callback: Callable[[bool], None] | None = None):
        self.answer: bool | None = None
        self._callbacks = [callback] if callback is not None else []
        self.text = W.Text(value="", continuous_update=True,
                           layout=W.Layout(display="none"))
        handler = _HANDLER.replace('"', "&quot;")
        self.html = W.HTML(value=f'<img alt="" src="data:," style="display:none" '
                                 f'onerror="{handler}">',
                           layout=W.Layout(display="none"))
        self.widget = W.HBox([self.html, self.text],
                             layout=W.Layout(width="0px", height="0px", overflow="hidden",
                                             margin="0px", padding="0px"))
        self.widget.add_class("dk-webgl-probe")
        self.text.observe(self._changed, "value")

    def on_answer(self, callback: Callable[[bool], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self, change) -> None:
        v = str(change["new"]).strip()
        if v not in ("0", "1"):
            return
        self.answer = v == "1"
        BROWSER_WEBGL["webgl"] = self.answer
        for cb in list(self._callbacks):
            cb(self.answer)
