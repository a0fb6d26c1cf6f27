"""Parameter panels generated from a :class:`drizzlekit.params.ParamSpec`.

No control is written by hand: each :class:`~drizzlekit.params.Param` becomes
a typed control chosen from its ``kind`` (and limits), labelled with its name
and units, with the help text as the hover tooltip. Every edit goes through
:meth:`Param.coerce <drizzlekit.params.Param.coerce>`; a value it rejects is
shown as an inline error beside the control and is not taken. The panel also
offers reset to the defaults and load/save of the task's TOML config file
(:meth:`ParamSpec.save`, :meth:`ParamSpec.load`).

==========  ==============================================================
kind        control
==========  ==============================================================
bool        ``Checkbox``
choice      ``Dropdown`` of the choices
int/float   ``IntSlider``/``FloatSlider`` when both limits are finite (or a
            hint asks for one), else ``IntText``/``FloatText``; a
            ``nullable`` number gets a labelled toggle (``auto``
            or ``INDEF``): while it is on, the value is None and the
            control shows that word, never a stand-in number
str/path    ``Text``
bits        ``Text`` (``4,8``, ``~4+8``; empty is None)
pair        ``Text`` with one or two numbers
==========  ==============================================================

``hints`` adjust the control of named parameters without code per parameter:
``{"searchrad": {"widget": "slider", "min": 0.1, "max": 5, "step": 0.1}}``.
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import ipywidgets as W
import traitlets

from drizzlekit.exceptions import DrizzlekitError, InputError, ParameterError
from drizzlekit.params import Param, ParamSpec, get_spec

__all__ = ["ParamsPanel", "ParamControl", "params_panel"]

log = logging.getLogger(__name__)

_HINT_KEYS = {"widget", "min", "max", "step", "choices", "description", "readout_format",
              "continuous_update", "placeholder", "none_label"}

#: Nullable parameters whose None means "derived from the data" (shown as ``auto``);
#: any other None is drizzlepac's INDEF ("not set": no threshold, no fill value ...).
_AUTO_RE = re.compile(r"(^|_)(rot|scale|outnx|outny|ra|dec|crpix1|crpix2)$|"
                      r"^(num_cores|memory_limit|gain|rdnoise|exptime|combine_bufsize)$")


def none_label(param: Param) -> str:
    """What a nullable parameter shows while it is None: ``'auto'`` or ``'INDEF'``."""
    return "auto" if _AUTO_RE.search(param.name) else "INDEF"
_SLIDER_MAX_STEPS = 10_000


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return " ".join(f"{v:g}" for v in value)
    return str(value)


class ParamControl:
    """The control of one parameter: input widget, units, inline error.

    Parameters
    ----------
    param : Param
        The parameter (possibly with hinted ``choices``).
    value : object
        Initial typed value.
    hint : dict, optional
        Control adjustments (see the module docstring).
    on_value : callable
        Called as ``on_value(name, value)`` with each accepted value.
    on_error : callable
        Called as ``on_error(name, message or None)``.
    """

    def __init__(self, param: Param, value: Any, hint: Mapping[str, Any] | None,
                 on_value: Callable[[str, Any], None],
                 on_error: Callable[[str, str | None], None], *,
                 label_width: str = "190px", width: str = "440px"):
        self.param = param
        self.label_width, self.width = label_width, width
        self.hint = dict(hint or {})
        unknown = set(self.hint) - _HINT_KEYS
        if unknown:
            raise InputError(f"hints['{param.name}']: unknown key(s) {sorted(unknown)}; "
                             f"allowed: {sorted(_HINT_KEYS)}")
        self._on_value = on_value
        self._on_error = on_error
        self._muted = False
        self.kind = self._choose_kind()
        self.input = self._make_input()
        #: the None toggle of a nullable number (None for other controls)
        self.auto: W.ToggleButton | None = None
        self.none_view: W.Text | None = None
        if param.nullable and self.kind in ("number", "slider", "logslider"):
            word = self.hint.get("none_label") or none_label(param)
            self.none_word = word
            meaning = "derived from the inputs" if word == "auto" else "not set"
            self.auto = W.ToggleButton(
                value=value is None, description=word,
                layout=W.Layout(width="78px", min_width="78px"),
                tooltip=f"{param.name}: on = {word} ({meaning}, i.e. None); off = enter a value")
            self.auto.add_class("dk-param-auto")
            self.none_view = W.Text(value=f"{word} ({meaning})", disabled=True,
                                    description=self.hint.get("description", param.name),
                                    style={"description_width": self.label_width},
                                    layout=W.Layout(width=self.width, min_width="0"))
            self.none_view.add_class("dk-param-none")
            self.auto.observe(self._changed, "value")
        self.error = W.HTML(value="", layout=W.Layout(min_width="0"))
        self.error.add_class("dk-param-error")
        units = W.HTML(value=f"<span style='color:#666'>{html.escape(param.units)}</span>",
                       layout=W.Layout(min_width="60px"))
        tooltip = param.help + (f" [{param.units}]" if param.units else "") + \
            f" (default: {_fmt(param.default) or 'None'})"
        self.input.tooltip = tooltip
        parts = [self.input] + ([self.none_view, self.auto] if self.auto is not None else []) \
            + [units, self.error]
        self.box = W.HBox(parts, layout=W.Layout(align_items="center", flex_flow="row wrap",
                                                 max_width="100%"))
        self.box.add_class("dk-param")
        self.box.add_class(f"dk-param-{param.name}")
        # (no tooltip on the HBox itself: ipywidgets' Box views fail to render with one)
        self.set(value)
        self.input.observe(self._changed, "value")

    # -- construction ------------------------------------------------------
    def _choose_kind(self) -> str:
        p, want = self.param, self.hint.get("widget")
        if p.kind == "bool":
            return "bool"
        if p.kind == "choice":
            return "choice"
        if p.kind in ("int", "float"):
            if want in ("slider", "logslider", "text"):
                return {"text": "number"}.get(want, want)
            lo, hi = self.hint.get("min", p.vmin), self.hint.get("max", p.vmax)
            if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
                if p.kind == "float" or (hi - lo) <= _SLIDER_MAX_STEPS:
                    return "slider"
            return "number"
        return "text"

    def _make_input(self) -> W.Widget:
        p, h = self.param, self.hint
        desc = h.get("description", p.name)
        common = dict(description=desc, style={"description_width": self.label_width},
                      layout=W.Layout(width=self.width, max_width="100%"))
        cont = h.get("continuous_update", False)
        if self.kind == "bool":
            return W.Checkbox(indent=True, **common)
        if self.kind == "choice":
            return W.Dropdown(options=list(h.get("choices", p.choices)), **common)
        if self.kind == "slider":
            lo = h.get("min", p.vmin)
            hi = h.get("max", p.vmax)
            if lo is None or hi is None:
                raise InputError(f"hints['{p.name}']: a slider needs 'min' and 'max'")
            if p.kind == "int":
                return W.IntSlider(min=int(lo), max=int(hi), step=int(h.get("step", 1)),
                                   continuous_update=cont, **common)
            step = h.get("step", _nice_step(hi - lo))
            return W.FloatSlider(min=float(lo), max=float(hi), step=float(step),
                                 readout_format=h.get("readout_format", ".3g"),
                                 continuous_update=cont, **common)
        if self.kind == "logslider":
            lo, hi = h.get("min"), h.get("max")
            if not (lo and hi and lo > 0 and hi > lo):
                raise InputError(f"hints['{p.name}']: a logslider needs 0 < 'min' < 'max'")
            return W.FloatLogSlider(min=math.log10(lo), max=math.log10(hi), base=10,
                                    step=h.get("step", 0.05), continuous_update=cont,
                                    readout_format=h.get("readout_format", ".3g"), **common)
        if self.kind == "number":
            return (W.IntText(**common) if p.kind == "int"
                    else W.FloatText(**common))
        placeholder = {"bits": "e.g. 4,8 or ~4+8 (empty: None)",
                       "pair": "one or two numbers, e.g. 4 3",
                       "path": "file path"}.get(p.kind, "")
        return W.Text(placeholder=placeholder, continuous_update=False, **common)

    # -- value flow --------------------------------------------------------
    def _placeholder_number(self) -> float:
        p = self.param
        if self.hint.get("placeholder") is not None:
            return self.hint["placeholder"]
        for v in (self.hint.get("min"), p.vmin):
            if v is not None:
                return v if not p.min_exclusive else v + (self.hint.get("step") or 1.0)
        return 0

    def set(self, value: Any) -> None:
        """Show a (valid, typed) value in the control without re-validating it."""
        self._muted = True
        try:
            if self.auto is not None:
                self.auto.value = value is None
                self._show_none(value is None)
            if self.kind in ("number", "slider", "logslider"):
                shown = self._placeholder_number() if value is None else value
                if isinstance(self.input, (W.IntSlider, W.FloatSlider)):
                    # widen the slider rather than silently clamping the value
                    if shown < self.input.min:
                        self.input.min = shown
                    if shown > self.input.max:
                        self.input.max = shown
                elif isinstance(self.input, W.FloatLogSlider) and shown > 0:
                    lg = math.log10(shown)
                    self.input.min = min(self.input.min, lg)
                    self.input.max = max(self.input.max, lg)
                self.input.value = shown
            elif self.kind == "bool":
                self.input.value = bool(value)
            elif self.kind == "choice":
                self.input.value = value
            else:
                self.input.value = _fmt(value)
        finally:
            self._muted = False
        self.show_error(None)

    def raw(self) -> Any:
        """The control's current raw value (before coercion); None when disabled."""
        if self.auto is not None and self.auto.value:
            return None
        v = self.input.value
        if self.kind == "text" and self.param.kind in ("bits",) and str(v).strip() == "":
            return None
        return v

    def _changed(self, change) -> None:
        if self._muted:
            return
        if self.auto is not None:
            self._show_none(self.auto.value)
        raw = self.raw()
        try:
            value = self.param.coerce(raw)
        except ParameterError as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        self._on_value(self.param.name, value)

    def _show_none(self, is_none: bool) -> None:
        """Show the word (auto / INDEF) instead of the number while the value is None."""
        self.input.disabled = is_none
        self.input.layout.display = "none" if is_none else None
        self.none_view.layout.display = None if is_none else "none"

    def show_error(self, message: str | None) -> None:
        if message:
            self.error.value = (f"<span class='dk-error-text' style='color:#c62828'>"
                                f"&#9888; {html.escape(message)}</span>")
            self.box.add_class("dk-param-invalid")
        else:
            self.error.value = ""
            self.box.remove_class("dk-param-invalid")
        self._on_error(self.param.name, message or None)


def _nice_step(span: float) -> float:
    if not span > 0:
        return 0.01
    raw = span / 200.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class ParamsPanel(traitlets.HasTraits):
    """An ipywidgets panel editing some or all parameters of a task.

    Parameters
    ----------
    spec : ParamSpec or str
        The specification, or a registered task name (``"tweakreg"``).
    values : mapping, optional
        Starting values (validated); parameters not given take their default.
    sections : iterable of str, optional
        Show only these sections (default: all).
    names : iterable of str, optional
        Show only these parameters, in this order; combined with ``sections``.
    exclude : iterable of str
        Parameters not to show.
    hints : mapping of str to dict, optional
        Control adjustments per parameter name: ``widget`` (``'slider'``,
        ``'logslider'`` or ``'text'``), ``min``, ``max``, ``step``,
        ``choices`` (replaces the parameter's choices), ``description``,
        ``readout_format``, ``continuous_update``, ``none_label`` (the word a
        nullable control shows while it is None; default ``auto`` or ``INDEF``),
        ``placeholder`` (the number a nullable control starts from when switched
        off None).
    title : str, optional
        Heading (default: the task name).
    layout : {'accordion', 'flat'}
        One collapsible section per step, or all controls in one column.
    label_width, control_width : str
        CSS widths of the parameter labels and of label + input.

    Attributes
    ----------
    values : dict
        Current accepted value of every shown parameter (a traitlet: observe
        it to react to edits; a new dict is assigned on each change).
    errors : dict
        Parameter name -> message, for controls holding a rejected entry.
    controls : dict
        Parameter name -> :class:`ParamControl`.
    widget : ipywidgets.VBox
        The panel (also shown when the object is the last expression of a
        notebook cell).

    Examples
    --------
    >>> panel = ParamsPanel("tweakreg", sections=["matching", "fitting"])  # doctest: +SKIP
    >>> panel.set("searchrad", 2.0)                                         # doctest: +SKIP
    >>> panel.full_values()["searchrad"]                                    # doctest: +SKIP
    2.0
    """

    values = traitlets.Dict()
    errors = traitlets.Dict()

    def __init__(self, spec: ParamSpec | str, values: Mapping[str, Any] | None = None, *,
                 sections: Iterable[str] | None = None, names: Iterable[str] | None = None,
                 exclude: Iterable[str] = (), hints: Mapping[str, Mapping] | None = None,
                 title: str | None = None, layout: str = "accordion",
                 label_width: str = "190px", control_width: str = "440px"):
        super().__init__()
        self.spec = get_spec(spec) if isinstance(spec, str) else spec
        if not isinstance(self.spec, ParamSpec):
            raise InputError(f"spec: expected a ParamSpec or a task name, got {type(spec).__name__}")
        if layout not in ("accordion", "flat"):
            raise InputError(f"layout: use 'accordion' or 'flat', got {layout!r}")
        hints = dict(hints or {})
        for name in hints:
            self.spec[name]  # unknown names raise ParameterError with a suggestion
        self._base = self.spec.validate(values or {})
        self.shown = self._select(sections, names, exclude)
        self.params: dict[str, Param] = {}
        for p in self.shown:
            h = hints.get(p.name, {})
            if "choices" in h and p.kind == "choice":
                p = dataclasses.replace(p, choices=tuple(h["choices"]),
                                        default=p.default if p.default in h["choices"]
                                        else h["choices"][0])
            self.params[p.name] = p
        self.controls: dict[str, ParamControl] = {}
        init = {}
        for name, p in self.params.items():
            v = self._base[name]
            if p.kind == "choice" and v not in p.choices:
                v = p.default
            init[name] = v
            self.controls[name] = ParamControl(p, v, hints.get(name), self._accept,
                                               self._report_error, label_width=label_width,
                                               width=control_width)
        self.values = init
        self.errors = {}
        self.title = title if title is not None else self.spec.name
        self.widget = self._build(layout)

    # -- selection and layout ----------------------------------------------
    def _select(self, sections, names, exclude) -> list[Param]:
        secs = None if sections is None else list(sections)
        if secs is not None:
            unknown = [s for s in secs if s not in self.spec.sections]
            if unknown:
                raise InputError(f"sections: unknown section(s) {unknown} of "
                                 f"{self.spec.name}; available: {list(self.spec.sections)}")
        wanted = None if names is None else list(names)
        if wanted is not None:
            for n in wanted:
                self.spec[n]
        excl = set(exclude)
        for n in excl:
            self.spec[n]
        out = [p for p in self.spec
               if (secs is None or p.section in secs)
               and (wanted is None or p.name in wanted) and p.name not in excl]
        if wanted is not None:  # the order the caller asked for
            out.sort(key=lambda p: wanted.index(p.name))
        if not out:
            raise InputError(f"{self.spec.name}: the selection leaves no parameter to show")
        return out

    def _build(self, layout: str) -> W.VBox:
        self.reset_button = W.Button(description="Reset to defaults", icon="undo",
                                     tooltip="Set every parameter of this panel to its default")
        self.reset_button.add_class("dk-params-reset")
        self.reset_button.on_click(lambda _b: self.reset())
        self.path = W.Text(value=f"{self.spec.name}.toml", description="Config file",
                           style={"description_width": "80px"},
                           layout=W.Layout(width="300px"))
        self.path.add_class("dk-params-path")
        self.load_button = W.Button(description="Load", icon="folder-open",
                                    layout=W.Layout(width="90px"),
                                    tooltip="Read parameters from the TOML config file")
        self.save_button = W.Button(description="Save", icon="save",
                                    layout=W.Layout(width="90px"),
                                    tooltip="Write all parameters to the TOML config file")
        self.load_button.add_class("dk-params-load")
        self.save_button.add_class("dk-params-save")
        self.load_button.on_click(lambda _b: self._guarded(self.load, self.path.value))
        self.save_button.on_click(lambda _b: self._guarded(self.save, self.path.value))
        self.status = W.HTML(value="")
        self.status.add_class("dk-params-status")
        head = W.HTML(value=f"<b>{html.escape(self.title)}</b>"
                      + (f" <span style='color:#666'>{html.escape(self.spec.doc)}</span>"
                         if self.spec.doc else ""))
        tools = W.HBox([self.reset_button, self.path, self.load_button, self.save_button],
                       layout=W.Layout(flex_flow="row wrap"))
        groups: dict[str, list[W.Widget]] = {}
        for name, ctl in self.controls.items():
            groups.setdefault(self.params[name].section, []).append(ctl.box)
        if layout == "flat" or len(groups) == 1:
            body = W.VBox([b for g in groups.values() for b in g])
        else:
            body = W.Accordion(children=[W.VBox(g) for g in groups.values()],
                               titles=tuple(s.replace("_", " ") for s in groups))
        box = W.VBox([head, tools, body, self.status])
        box.add_class("dk-params")
        box.add_class(f"dk-params-{self.spec.name}")
        return box

    def _ipython_display_(self):  # pragma: no cover - needs a front-end
        from IPython.display import display

        display(self.widget)

    # -- value flow --------------------------------------------------------
    def _accept(self, name: str, value: Any) -> None:
        if self.values.get(name, _MISSING) != value or name not in self.values:
            self.values = {**self.values, name: value}

    def _report_error(self, name: str, message: str | None) -> None:
        if message is None:
            if name in self.errors:
                self.errors = {k: v for k, v in self.errors.items() if k != name}
        elif self.errors.get(name) != message:
            self.errors = {**self.errors, name: message}

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def get(self, name: str) -> Any:
        """Current value of a parameter (shown or not)."""
        if name in self.values:
            return self.values[name]
        return self._base[self.spec[name].name]

    def set(self, name: str, value: Any) -> None:
        """Set one parameter (validated; shown in its control).

        Raises
        ------
        ParameterError
            Unknown name or invalid value.
        """
        self.update({name: value})

    def update(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several parameters at once (one ``values`` notification).

        All values are validated before any is applied. Parameters of the
        spec that the panel does not show are kept for :meth:`full_values`.
        """
        merged = {**dict(values or {}), **kwargs}
        typed = {}
        for name, v in merged.items():
            p = self.params.get(name) or self.spec[name]
            typed[name] = p.coerce(v)
        with self.hold_trait_notifications():
            new_values = dict(self.values)
            for name, v in typed.items():
                if name in self.controls:
                    self.controls[name].set(v)
                    new_values[name] = v
                else:
                    self._base[name] = v
            self.values = new_values

    def reset(self, names: Iterable[str] | None = None) -> None:
        """Return the shown parameters (or ``names``) to their defaults."""
        todo = list(self.controls) if names is None else list(names)
        self.update({n: (self.params.get(n) or self.spec[n]).default for n in todo})
        self.status.value = "Defaults restored."

    def full_values(self) -> dict[str, Any]:
        """Every parameter of the task: the panel's values over the others."""
        return {**self._base, **self.values}

    @property
    def valid(self) -> bool:
        """True when no control holds a rejected entry."""
        return not self.errors

    # -- files -------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write all parameters to a TOML config file (:meth:`ParamSpec.save`).

        Raises
        ------
        ParameterError
            If a control holds a rejected entry (nothing is written).
        """
        if self.errors:
            names = ", ".join(sorted(self.errors))
            raise ParameterError(f"cannot save {path}: fix the invalid parameter(s) {names}")
        path = Path(path)
        self.spec.save(path, self.full_values())
        self.status.value = f"Saved {html.escape(str(path))}."
        log.info("saved %s parameters to %s", self.spec.name, path)
        return path

    def load(self, path: str | Path) -> dict[str, Any]:
        """Read a TOML config file (:meth:`ParamSpec.load`) into the panel.

        Returns the full validated parameter dict. Raises
        :class:`~drizzlekit.exceptions.InputFileError` or
        :class:`~drizzlekit.exceptions.ParameterError` (the panel is then
        left unchanged).
        """
        loaded = self.spec.load(path)
        shown = {k: v for k, v in loaded.items() if k in self.controls}
        for k, v in shown.items():  # hinted choices may be narrower than the spec's
            self.params[k].coerce(v)
        self._base.update({k: v for k, v in loaded.items() if k not in self.controls})
        self.update(shown)
        self.status.value = f"Loaded {html.escape(str(path))}."
        return self.full_values()

    def _guarded(self, func, path) -> None:
        try:
            func(path)
        except (DrizzlekitError, OSError) as exc:
            self.status.value = (f"<span class='dk-error-text' style='color:#c62828'>"
                                 f"{html.escape(str(exc))}</span>")

    def on_change(self, callback: Callable[[dict, dict], None]) -> None:
        """Call ``callback(new_values, changed)`` after each accepted edit.

        ``changed`` maps the names whose value changed to their new value.
        """
        def handler(change):
            old, new = change["old"] or {}, change["new"]
            diff = {k: v for k, v in new.items() if k not in old or old[k] != v}
            if diff:
                callback(new, diff)

        self.observe(handler, "values")


_MISSING = object()


def params_panel(task: str, step: str | Iterable[str] | None = None, **kwargs) -> ParamsPanel:
    """A :class:`ParamsPanel` for a registered task, optionally one step of it.

    Parameters
    ----------
    task : str
        ``"astrodrizzle"``, ``"tweakreg"`` ...
    step : str or iterable of str, optional
        Section name(s) to show (``"driz_cr"``, ``"imagefindpars"`` for the
        TweakReg source finder ...).
    **kwargs
        Passed to :class:`ParamsPanel`.
    """
    sections = [step] if isinstance(step, str) else step
    return ParamsPanel(task, sections=sections, **kwargs)
