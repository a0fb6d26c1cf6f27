"""The one parameter specification of drizzlekit.

Every user-facing task (``astrodrizzle``, ``tweakreg``, the source finder,
the drizzle core demo) declares its parameters exactly once, as a
:class:`ParamSpec` made of :class:`Param` entries: drizzlepac's name, its
default, the type, the allowed choices or range, the units and the help text.
From that single declaration come

* keyword validation of the Python API (:meth:`ParamSpec.validate`, which
  suggests the closest valid name for a typo),
* drizzlekit's own TOML config files (:meth:`ParamSpec.save`,
  :meth:`ParamSpec.load`) and drizzlepac ``.cfg`` files
  (:meth:`ParamSpec.read_drizzlepac_cfg`),
* the command-line flags (:meth:`ParamSpec.add_arguments`),
* and the widget panels (``drizzlekit.widgets``), which read the same table.

Values are typed: ``driz_cr_snr`` is ``(3.5, 3.0)``, never the string
``"3.5 3.0"``; ``final_fillval`` is ``None`` or a float, never ``"INDEF"``.
Strings in drizzlepac's spelling are accepted on input and converted.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..exceptions import ParameterError

__all__ = ["Param", "ParamSpec", "get_spec", "register_spec", "available_specs"]

#: The value kinds a :class:`Param` can hold.
KINDS = ("float", "int", "bool", "str", "choice", "bits", "pair", "path")

_NONE_WORDS = {"", "none", "indef"}


@dataclass(frozen=True)
class Param:
    """One parameter: name, default, kind, limits, units and help.

    Parameters
    ----------
    name : str
        drizzlepac's parameter name (``final_pixfrac``).
    default : object
        The typed default value (``None`` allowed when ``nullable``).
    kind : str
        One of ``float, int, bool, str, choice, bits, pair, path``.
        ``bits`` is a DQ bit specification (int, ``"4,8"``, ``"~4+8"`` or
        ``None``), kept as given after a syntax check; ``pair`` is a tuple of
        two floats (a single value means both).
    help : str
        One-line help (shown as the CLI help and the widget tooltip).
    section : str
        The step or group the parameter belongs to (a panel section).
    choices : tuple of str, optional
        Allowed values for ``choice``.
    vmin, vmax : float, optional
        Inclusive numeric limits for ``float``/``int``/``pair``.
    min_exclusive : bool
        If true, ``vmin`` itself is not allowed (``pixfrac > 0``).
    units : str
        Units of the value (``"pixels"``, ``"arcsec"``, ``"deg"`` ...).
    nullable : bool
        ``None`` is a valid value (meaning "not set / automatic").
    """

    name: str
    default: Any
    kind: str
    help: str
    section: str = "general"
    choices: tuple[str, ...] | None = None
    vmin: float | None = None
    vmax: float | None = None
    min_exclusive: bool = False
    units: str = ""
    nullable: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name!r}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"Param {self.name!r}: a choice needs choices")
        # the declared default must itself be valid
        object.__setattr__(self, "default", self.coerce(self.default))

    # -- conversion --------------------------------------------------------
    def coerce(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise.

        Raises
        ------
        ParameterError
            If the value cannot be converted or is out of range; the message
            names the parameter and the allowed values.
        """
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS
                             and self.kind not in ("str", "path", "bits")):
            if self.nullable or self.kind in ("str", "path", "bits"):
                return None if self.kind not in ("str", "path") else (value or "")
            raise ParameterError(f"parameter '{self.name}' must not be None")
        value = _from_quantity(self, value)
        try:
            out = _CONVERTERS[self.kind](self, value)
        except ParameterError:
            raise
        except (TypeError, ValueError) as exc:
            raise ParameterError(
                f"parameter '{self.name}': cannot interpret {value!r} as {self.kind} ({exc})"
            ) from None
        self._check_range(out)
        return out

    def _check_range(self, value: Any) -> None:
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            if isinstance(v, float) and math.isnan(v):
                raise ParameterError(f"parameter '{self.name}' must not be NaN")
            if self.vmin is not None:
                bad = v <= self.vmin if self.min_exclusive else v < self.vmin
                if bad:
                    op = ">" if self.min_exclusive else ">="
                    raise ParameterError(
                        f"parameter '{self.name}' must be {op} {self.vmin}, got {v}")
            if self.vmax is not None and v > self.vmax:
                raise ParameterError(f"parameter '{self.name}' must be <= {self.vmax}, got {v}")

    def to_text(self, value: Any) -> str:
        """Format a value for a CLI flag or a drizzlepac-style config."""
        if value is None:
            return ""
        if isinstance(value, tuple):
            return " ".join(f"{v:g}" for v in value)
        return str(value)


#: Parameter units that astropy understands, as astropy unit strings.
_ASTROPY_UNITS = {"arcsec/pixel": "arcsec / pix", "deg": "deg", "e-": "electron",
                  "e-/DN": "electron / adu", "e-/s": "electron / s", "pixels": "pix",
                  "s": "s", "MB": "MB", "GiB": "GiB", "arcsec": "arcsec"}


def _from_quantity(p: Param, value: Any) -> Any:
    """An astropy ``Quantity`` converted to the parameter's units (a plain number).

    ``final_scale=0.05 * u.arcsec`` and ``final_rot=np.pi / 2 * u.rad`` work;
    a Quantity for a parameter without physical units, or in units that do
    not convert, is a :class:`ParameterError`.
    """
    try:
        import astropy.units as u
    except ImportError:  # pragma: no cover - astropy is a dependency
        return value
    if not isinstance(value, u.Quantity):
        return value
    target = _ASTROPY_UNITS.get(p.units or "")
    if target is None:
        if value.unit.is_equivalent(u.dimensionless_unscaled):
            return value.to_value(u.dimensionless_unscaled)
        raise ParameterError(f"parameter '{p.name}' has no physical units "
                             f"({p.units or 'a plain number'}); got {value}")
    try:
        number = value.to_value(u.Unit(target))
    except u.UnitConversionError:
        # an output scale given per pixel or not: 0.05 arcsec means 0.05 arcsec/pixel
        if target == "arcsec / pix" and value.unit.is_equivalent(u.arcsec):
            number = value.to_value(u.arcsec)
        else:
            raise ParameterError(f"parameter '{p.name}' is in {p.units}; cannot convert "
                                 f"{value}") from None
    return float(number) if getattr(number, "ndim", 0) == 0 else number


def _to_float(p: Param, v: Any) -> float:
    if isinstance(v, bool):
        raise TypeError("a bool is not a number")
    return float(v)


def _to_int(p: Param, v: Any) -> int:
    if isinstance(v, bool):
        raise TypeError("a bool is not a number")
    f = float(v)
    if f != int(f):
        raise ValueError("not an integer")
    return int(f)


def _to_bool(p: Param, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("yes", "true", "on", "1"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("no", "false", "off", "0"):
        return False
    raise ValueError("expected True/False")


def _to_str(p: Param, v: Any) -> str:
    return str(v)


def _to_choice(p: Param, v: Any) -> str:
    s = str(v).strip()
    for c in p.choices:
        if s.lower() == c.lower():
            return c
    raise ParameterError(
        f"parameter '{p.name}' must be one of {', '.join(p.choices)}; got {v!r}")




def _to_bits(p: Param, v: Any) -> int | str | None:
    if isinstance(v, bool):
        raise TypeError("a bool is not a bit specification")
    if isinstance(v, (int,)) or (isinstance(v, float) and v == int(v)):
        return int(v)
    s = str(v).strip()
    if s.lower() in _NONE_WORDS:
        return None
    if re.fullmatch(r"-\d+", s):  # a negative integer flips the meaning (drizzlepac)
        return int(s)
    from ..io.bits import interpret_bits  # the one parser (astropy.nddata.bitmask)

    try:
        interpret_bits(s, p.name)
    except ParameterError:
        raise ValueError("use an integer, '4,8', '4+8', '~4+8', flag names such as "
                         "'HOT,WARM', or None") from None
    return int(s) if s.isdigit() else s


def _to_pair(p: Param, v: Any) -> tuple[float, float]:
    if isinstance(v, str):
        parts = [x for x in re.split(r"[\s,]+", v.strip()) if x]
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        parts = [v]
    else:
        parts = list(v)
    vals = [float(x) for x in parts]
    if len(vals) == 1:  # drizzlepac documents one value as allowed (spec Q7)
        vals = vals * 2
    if len(vals) != 2:
        raise ValueError("expected one or two numbers")
    return (vals[0], vals[1])


_CONVERTERS = {
    "float": _to_float, "int": _to_int, "bool": _to_bool, "str": _to_str,
    "choice": _to_choice, "bits": _to_bits, "pair": _to_pair, "path": _to_str,
}


@dataclass
class ParamSpec:
    """An ordered set of :class:`Param` for one task.

    Parameters
    ----------
    name : str
        Task name (``"astrodrizzle"``, ``"tweakreg"`` ...).
    params : iterable of Param
        The parameters, in display order.
    doc : str
        One paragraph describing the task.
    """

    name: str
    params: Iterable[Param]
    doc: str = ""
    _by_name: dict[str, Param] = field(init=False, repr=False)

    def __post_init__(self):
        self.params = tuple(self.params)
        self._by_name = {}
        for p in self.params:
            if p.name in self._by_name:
                raise ValueError(f"{self.name}: duplicate parameter {p.name!r}")
            self._by_name[p.name] = p

    def __getitem__(self, name: str) -> Param:
        try:
            return self._by_name[name]
        except KeyError:
            raise ParameterError(self._unknown_message(name)) from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def sections(self) -> dict[str, list[Param]]:
        """Parameters grouped by section, in declaration order."""
        out: dict[str, list[Param]] = {}
        for p in self.params:
            out.setdefault(p.section, []).append(p)
        return out

    def defaults(self) -> dict[str, Any]:
        """A fresh dict of every parameter's default value."""
        return {p.name: p.default for p in self.params}

    def _unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown {self.name} parameter '{name}'{hint}"

    def validate(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Merge ``values`` over the defaults, converting and checking each.

        Raises
        ------
        ParameterError
            For an unknown name (with the closest valid one suggested) or an
            invalid value.
        """
        merged = dict(values or {})
        merged.update(kwargs)
        out = self.defaults()
        for key, value in merged.items():
            out[key] = self[key].coerce(value)
        return out

    # -- config files ------------------------------------------------------
    def save(self, path: str | Path, values: Mapping[str, Any] | None = None) -> None:
        """Write a TOML config file with all parameters (``values`` over defaults).

        ``None`` values are written as commented-out lines, because TOML has no
        null. The file is written atomically.
        """
        from ..io.atomic import atomic_write_text

        vals = self.validate(values or {})
        lines = [f"# drizzlekit {self.name} parameters", f'task = "{self.name}"', ""]
        for section, params in self.sections.items():
            lines.append(f"[{section}]")
            for p in params:
                lines.append(f"# {p.help}" + (f" [{p.units}]" if p.units else ""))
                v = vals[p.name]
                # TOML has no null: None is written as the string "None", which
                # every nullable kind reads back as None
                lines.append(f'{p.name} = "None"' if v is None else f"{p.name} = {_toml_value(v)}")
            lines.append("")
        atomic_write_text(Path(path), "\n".join(lines))

    def load(self, path: str | Path) -> dict[str, Any]:
        """Read a TOML config written by :meth:`save` (or by hand) and validate it.

        Raises
        ------
        drizzlekit.exceptions.InputFileError
            If the file is missing or is not valid TOML.
        ParameterError
            If it names an unknown parameter or holds an invalid value.
        """
        from ..exceptions import InputFileError
        from ..io.textfile import read_text

        path = Path(path)
        try:
            data = tomllib.loads(read_text(path, "config"))
        except tomllib.TOMLDecodeError as exc:
            raise InputFileError(f"{path}: not a valid TOML config ({exc})") from None
        task = data.pop("task", self.name)
        if task != self.name:
            raise ParameterError(f"{path}: config is for task '{task}', not '{self.name}'")
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                flat.update(value)
            else:
                flat[key] = value
        try:
            return self.validate(flat)
        except ParameterError as exc:
            raise ParameterError(f"{path}: {exc}") from None

    def read_drizzlepac_cfg(self, path: str | Path, *, strict: bool = False) -> dict[str, Any]:
        """Read a drizzlepac ``.cfg`` (configobj) file into typed values.

        Section headers (``[STEP 3: ...]``) are ignored; names drizzlepac uses
        for bookkeeping (``_task_name_``, ``_RULES_`` ...) are skipped. Names
        that drizzlekit does not implement are skipped with a logged warning
        unless ``strict`` is true; a name that is a near miss of a known one
        (a typo such as ``final_pixfarc``) is always an error with a
        "did you mean" hint.
        """
        import logging

        from ..exceptions import InputFileError
        from ..io.textfile import read_text

        log = logging.getLogger(__name__)
        path = Path(path)
        text = read_text(path, "config")
        values: dict[str, Any] = {}
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith("["):
                continue
            if "=" not in line:
                raise InputFileError(f"{path}:{lineno}: cannot parse line {raw!r}")
            key, value = (s.strip() for s in line.split("=", 1))
            value = value.strip("\"'")
            if key.startswith("_"):
                continue
            if key not in self:
                close = difflib.get_close_matches(key, self.names, n=1, cutoff=0.8)
                if strict or close:  # a near miss of a known name is a typo, not a
                    # drizzlepac parameter drizzlekit does without
                    raise ParameterError(f"{path}:{lineno}: {self._unknown_message(key)}")
                log.warning("%s:%d: parameter '%s' is not used by drizzlekit", path, lineno, key)
                continue
            values[key] = value
        try:
            return self.validate(values)
        except ParameterError as exc:
            raise ParameterError(f"{path}: {exc}") from None

    # -- command line ------------------------------------------------------
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add one ``--flag`` per parameter (``final_kernel`` → ``--final-kernel``).

        drizzlepac's spelling (``--final_kernel``) is accepted as an alias;
        choice parameters list their choices.
        """
        for section, params in self.sections.items():
            group = parser.add_argument_group(section)
            for p in params:
                helptext = p.help + (f" [{p.units}]" if p.units else "")
                helptext += f" (default: {p.to_text(p.default) or 'None'})"
                flags = ["--" + p.name.replace("_", "-")]
                if "_" in p.name:  # drizzlepac's spelling, accepted but not listed
                    flags.append("--" + p.name)
                for k, flag in enumerate(flags):
                    shown = helptext if k == 0 else argparse.SUPPRESS
                    if p.kind == "bool":
                        group.add_argument(flag, dest=p.name, default=argparse.SUPPRESS,
                                           action=argparse.BooleanOptionalAction, help=shown)
                    else:
                        metavar = ("{" + ",".join(p.choices) + "}") if p.choices \
                            else p.kind.upper()
                        group.add_argument(flag, dest=p.name, default=argparse.SUPPRESS,
                                           choices=p.choices, metavar=metavar, help=shown)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


_REGISTRY: dict[str, ParamSpec] = {}


def register_spec(spec: ParamSpec) -> ParamSpec:
    """Register a task's parameter specification (returns it)."""
    _REGISTRY[spec.name] = spec
    return spec


def _load_builtin_specs() -> None:
    import importlib

    for mod in ("drizzle", "astrodrizzle", "tweakreg"):
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as exc:  # a spec module not written yet
            if exc.name != f"{__name__}.{mod}":
                raise


def get_spec(name: str) -> ParamSpec:
    """Return the :class:`ParamSpec` of task ``name`` (``"astrodrizzle"`` ...)."""
    if name not in _REGISTRY:
        _load_builtin_specs()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ParameterError(f"unknown task '{name}'{hint}") from None


def available_specs() -> list[str]:
    """Names of all registered tasks."""
    _load_builtin_specs()
    return sorted(_REGISTRY)
