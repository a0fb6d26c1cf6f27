"""Layout helpers shared by the panels: responsive rows, the saved-notebook
placeholder and the "compiling kernels" note.

Responsive rows are CSS flex boxes that wrap (``flex-flow: row wrap``): the
image comes first, the controls sit beside it while the output area is wide
enough for both (their ``flex-basis``) and drop below it when it is not, so
nothing is clipped and the output never scrolls sideways (JupyterLab with the
file browser open at 1280x800, voila, or a ~700-px VS Code output).
"""

from __future__ import annotations

import html
import logging
import uuid
from contextlib import contextmanager
from typing import Iterable, Iterator

import ipywidgets as W

__all__ = ["flex_row", "flex_column", "PanelBox", "compiling_note", "gl_default"]

log = logging.getLogger(__name__)


def flex_row(children, *, gap: str = "8px 16px", css: str | None = None) -> W.Box:
    """A row that wraps its children onto new lines when they do not fit.

    Parameters
    ----------
    children : list of Widget
    gap : str
        CSS gap between rows and columns.
    css : str, optional
        CSS class added to the box.
    """
    # overflow-x "clip": the few pixels of widget margins a full-width child adds must not
    # give the row a sideways scrollbar (items shrink or wrap long before real content
    # could be cut; the browser tests check that every figure is fully visible)
    box = W.Box(list(children), layout=W.Layout(display="flex", flex_flow="row wrap",
                                                align_items="flex-start", width="100%",
                                                max_width="100%", grid_gap=gap,
                                                overflow="clip visible"))
    if css:
        box.add_class(css)
    return box


def flex_column(children, *, basis: str = "360px", min_width: str = "300px",
                grow: int = 1, css: str | None = None) -> W.VBox:
    """A column for a :func:`flex_row`: it takes ``basis`` (and grows), never less
    than ``min_width`` (it wraps below instead), never more than the row."""
    box = W.VBox(list(children), layout=W.Layout(flex=f"{grow} 1 {basis}", min_width=min_width,
                                                 max_width="100%", overflow="visible"))
    if css:
        box.add_class(css)
    return box


def gl_default(use_gl: bool | None) -> bool | None:
    """``use_gl`` for the panels' viewers: False (the PNG path) when bqplot 0.13 runs without
    ``bqplot-gl``, where an ``ImageGL`` figure would stay blank (e.g. the ``imviz`` extra
    installed without jdaviz's bqplot 0.12); otherwise ``use_gl`` unchanged."""
    if use_gl is not None:
        return use_gl
    import importlib.util

    import bqplot

    major_minor = tuple(int(p) for p in bqplot.__version__.split(".")[:2] if p.isdigit())
    if major_minor >= (0, 13) and importlib.util.find_spec("bqplot_gl") is None:
        log.warning("bqplot %s without bqplot-gl: images are sent as PNG (pip install "
                    "bqplot-gl for WebGL)", bqplot.__version__)
        return False
    return None


def item(widget: W.Widget, basis: str) -> W.Widget:
    """Give a widget a fixed flex basis (it may shrink, never below 0, never grow)."""
    widget.layout.flex = f"0 1 {basis}"
    widget.layout.max_width = "100%"
    widget.layout.min_width = "0"
    return widget


class PanelBox(W.VBox):
    """The top widget of a panel; in a notebook it also leaves a note for readers
    of the saved file.

    A notebook saved without widget state shows "Error displaying widget: model
    not found" where a panel was. Displayed as a cell's result, this box first
    emits a small HTML note ("run the cell to show the panel"); the live panel
    hides that note with a style only it carries, so the note is seen only when
    the panel cannot be shown (reopened notebook, nbviewer, GitHub).
    """

    def __init__(self, children=(), *, label: str = "panel", **kwargs):
        self._note_id = "dk-ph-" + uuid.uuid4().hex[:12]
        self._label = label
        hide = W.HTML(value=f"<style>.{self._note_id}{{display:none !important}}</style>",
                      layout=W.Layout(display="none"))
        super().__init__(list(children) + [hide], **kwargs)

    def placeholder_html(self) -> str:
        """The note a reader sees when the live panel is not available."""
        return (f"<div class='dk-placeholder {self._note_id}' style='padding:6px 10px;"
                f"border:1px dashed #999;color:#555;font-size:90%'>"
                f"drizzlekit {html.escape(self._label)}: run this cell to show the interactive "
                f"panel (widget state is not stored in the notebook).</div>")

    def _ipython_display_(self):  # pragma: no cover - needs IPython's display machinery
        from IPython.display import HTML, display

        display(HTML(self.placeholder_html()))
        display(self._repr_mimebundle_(), raw=True)


@contextmanager
def compiling_note(names: Iterable[str], status: W.HTML | None = None, *,
                   transient: bool = False) -> Iterator[list[str]]:
    """Tell the user that numba is compiling, while it does.

    Parameters
    ----------
    names : iterable of str
        Kernels or loop groups the coming call uses
        (:func:`drizzlekit.warmup.is_compiled` names).
    status : ipywidgets.HTML, optional
        A status line shown while compiling (restored afterwards by the
        caller's next update).
    transient : bool
        Also show the note in the running cell's output (for work done before
        the panel is displayed, e.g. in its constructor); it is erased after.

    Yields
    ------
    list of str
        The names that were cold (empty: nothing to compile, nothing shown).
    """
    from drizzlekit.warmup import is_compiled

    cold = []
    for n in names:
        try:
            if not is_compiled(n):
                cold.append(n)
        except KeyError:  # a user-registered kernel: not numba's business
            pass
    if not cold:
        yield cold
        return
    text = (f"<span class='dk-compiling' style='color:#8a6d00'>&#9203; compiling kernels "
            f"({html.escape(', '.join(cold))}) &mdash; first run only, later runs start at "
            f"once (<code>drizzlekit warmup</code> does this ahead of time)</span>")
    log.info("compiling numba kernels: %s (first run only)", ", ".join(cold))
    if status is not None:
        status.value = text
    handle = None
    if transient:
        try:
            from IPython import get_ipython
            from IPython.display import HTML, display

            if get_ipython() is not None:
                handle = display(HTML(text), display_id=True)
        except Exception:  # no IPython: the log line is enough
            handle = None
    try:
        yield cold
    finally:
        if handle is not None:
            try:
                from IPython.display import HTML

                handle.update(HTML(""))
            except Exception:
                pass
