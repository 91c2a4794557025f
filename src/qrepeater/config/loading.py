"""Load scenarios from presets and TOML files, apply ``--set dotted.path=value`` overrides, and turn
every validation problem into one clear line (:class:`qrepeater.errors.ConfigError` /
:class:`qrepeater.errors.ParameterError`)."""

from __future__ import annotations

import copy
import json
import math
import tomllib
import typing
from importlib import resources
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, ParameterError
from .schema import SCENARIO_TYPES, Scenario

PRESET_PACKAGE = "qrepeater.config.presets"


def list_presets() -> dict[str, str]:
    """Built-in presets: name → one-line description."""
    out = {}
    for entry in sorted(resources.files(PRESET_PACKAGE).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            out[entry.name[:-5]] = data.get("description", "")
    return out


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge: tables merge key by key, everything else (arrays too) is replaced."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_extends(data: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Apply ``extends = "preset"``: the named preset's data updated by this one's."""
    if "extends" not in data:
        return data
    base_name = data["extends"]
    if not isinstance(base_name, str):
        raise ConfigError(f"extends = {base_name!r}: expected a preset name")
    if base_name in seen:
        raise ConfigError(f"extends: cycle through presets {' -> '.join(seen + (base_name,))}")
    base = resolve_extends(_preset_raw(base_name), seen + (base_name,))
    rest = {k: v for k, v in data.items() if k != "extends"}
    return deep_merge(base, rest)


def _preset_raw(name: str) -> dict[str, Any]:
    presets = list_presets()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(presets)}")
    text = resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def preset_data(name: str) -> dict[str, Any]:
    """Raw TOML data of a built-in preset (with ``extends`` resolved)."""
    return resolve_extends(_preset_raw(name), (name,))


#: largest TOML file read (scenarios and topologies are a few kB; a bigger file is refused unread)
MAX_TOML_BYTES = 16 * 2**20


def read_toml_file(path: str | Path, what: str = "config") -> dict[str, Any]:
    """Parse a TOML file; a missing, unreadable, oversized or binary file, or a syntax error, becomes
    one line naming the file (and the line and column of a syntax error)."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError(f"{p}: is a folder; allowed: a {what} TOML file")
        size = p.stat().st_size
        if size > MAX_TOML_BYTES:
            raise ConfigError(f"{p}: {size} bytes; allowed: a {what} TOML file of at most {MAX_TOML_BYTES} bytes")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{p}: not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start}); allowed: a {what} TOML file"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a scenario TOML file (``extends`` resolved); errors name the file, line and column."""
    return resolve_extends(read_toml_file(path, "config"))


def _model_for(data: dict[str, Any]) -> type[BaseModel]:
    kind = data.get("kind", "hardware")
    if kind not in SCENARIO_TYPES:
        raise ConfigError(f"kind = {kind!r} is not a scenario kind; allowed: {', '.join(SCENARIO_TYPES)}")
    return SCENARIO_TYPES[kind]


def _submodel(model: type[BaseModel], loc: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Walk ``loc`` through nested models; return (model owning the last key, its FieldInfo)."""
    current: Any = model
    owner: type[BaseModel] | None = model
    info = None
    for key in loc:
        if isinstance(key, int):
            ann = getattr(info, "annotation", None)
            args = getattr(ann, "__args__", ())
            current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or key not in current.model_fields:
            return current if isinstance(current, type) else None, None
        owner = current
        info = current.model_fields[key]
        ann = info.annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else ann
    return owner, info


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The nested model class found by walking ``loc`` (list indices step into the item type)."""
    current: Any = model
    for key in loc:
        if isinstance(key, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or key not in current.model_fields:
            return None
        ann = current.model_fields[key].annotation
        args = getattr(ann, "__args__", ())
        current = ann if isinstance(ann, type) else next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _allowed_range(info) -> str | None:
    lo = hi = None
    lo_inc = hi_inc = True
    for m in getattr(info, "metadata", []):
        if isinstance(m, annotated_types.Ge):
            lo, lo_inc = m.ge, True
        elif isinstance(m, annotated_types.Gt):
            lo, lo_inc = m.gt, False
        elif isinstance(m, annotated_types.Le):
            hi, hi_inc = m.le, True
        elif isinstance(m, annotated_types.Lt):
            hi, hi_inc = m.lt, False
    if lo is None and hi is None:
        return None
    return ("[" if lo_inc and lo is not None else "(") + f"{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}" + ("]" if hi_inc and hi is not None else ")")


def _dotted(loc: tuple) -> str:
    return ".".join(str(k) for k in loc)


def _one_line(model: type[BaseModel], exc: ValidationError, source: str) -> Exception:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    path = _dotted(loc)
    prefix = f"{source}: " if source else ""
    if err["type"] == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        valid = ", ".join(owner.model_fields) if owner is not None and hasattr(owner, "model_fields") else "?"
        where = _dotted(loc[:-1]) or "top level"
        return ConfigError(f"{prefix}unknown key {path!r}; valid keys at {where}: {valid}")
    _, info = _submodel(model, loc)
    rng = _allowed_range(info) if info is not None else None
    if rng is not None and err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        pe = ParameterError(path, err.get("input"), rng)
        return pe if not prefix else ConfigError(prefix + str(pe))
    return ConfigError(f"{prefix}{path} = {err.get('input')!r}: {err['msg']}")


def _base_types(annotation) -> set:
    """The plain types an annotation admits (through Optional, Union and Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        out: set = set()
        for arg in typing.get_args(annotation):
            out |= _base_types(arg)
        return out
    return {annotation}


def _item_model(annotation) -> type[BaseModel] | None:
    """The model of the items of a ``tuple[Model, ...]`` / ``list[Model]`` field, if any."""
    if typing.get_origin(annotation) in (tuple, list):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _check_numbers(model: type[BaseModel], data: Any, loc: tuple, prefix: str) -> None:
    """Every float field holds a finite number: not a boolean (TOML ``true`` is not 1.0), not a
    string, not NaN or ±inf (no field of the schema documents an infinite value)."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        info = model.model_fields.get(key) if isinstance(key, str) else None
        if info is None:
            continue
        path = loc + (key,)
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            _check_numbers(ann, value, path, prefix)
            continue
        item = _item_model(ann)
        if item is not None and isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                _check_numbers(item, v, path + (i,), prefix)
            continue
        if float not in _base_types(ann) or value is None:
            continue
        _, finfo = _submodel(model, (key,))
        rng = _allowed_range(finfo) if finfo is not None else None
        allowed = "a finite number" + (f" in {rng}" if rng else "")
        where = _dotted(path)
        if isinstance(value, bool):
            raise ConfigError(f"{prefix}{where} = {str(value).lower()}: a boolean is not a number; allowed: {allowed}")
        if isinstance(value, str):
            raise ConfigError(f"{prefix}{where} = {value!r}: a string is not a number; allowed: {allowed}")
        if isinstance(value, float) and not math.isfinite(value):
            pe = ParameterError(where, value, allowed)
            raise pe if not prefix else ConfigError(prefix + str(pe))


def validate_scenario(data: dict[str, Any], source: str = "") -> Scenario:
    """Validate raw data into a scenario; the first problem becomes one line.

    Besides the schema's ranges: every number is finite and a boolean or a string is not a number
    (:func:`_check_numbers`), so ``--set fiber.attenuation_db_per_km=inf`` or
    ``--set link.excitation_probability=true`` is refused instead of taken as inf or 1.0.
    """
    model = _model_for(data)
    _check_numbers(model, data, (), f"{source}: " if source else "")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _one_line(model, exc, source) from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value``; the value is read as a TOML value (number, bool, string, array)."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected dotted.path=value")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {text!r}: empty key")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``dotted.path=value`` override applied.

    An unknown key is an error that lists the valid keys at that level.
    """
    out = copy.deepcopy(data)
    model = _model_for(out)
    for text in overrides:
        path, value = parse_override(text)
        current_model: Any = model
        target = out
        for i, key in enumerate(path):
            fields = current_model.model_fields if isinstance(current_model, type) and issubclass(current_model, BaseModel) else None
            if fields is None or key not in fields:
                where = ".".join(path[:i]) or "top level"
                valid = ", ".join(fields) if fields else "(none: not a section)"
                raise ConfigError(f"--set {'.'.join(path)}: unknown key {key!r}; valid keys at {where}: {valid}")
            ann = fields[key].annotation
            if i == len(path) - 1:
                if key == "kind" and value != out.get("kind", "hardware"):
                    raise ConfigError("--set kind: the scenario kind cannot be overridden; pick another preset")
                if isinstance(ann, type) and issubclass(ann, BaseModel) and not isinstance(value, dict):
                    raise ConfigError(f"--set {text.strip()!r}: {'.'.join(path)} is a section, not a value; allowed: "
                                      f"a key inside it ({', '.join(ann.model_fields)}) or an inline table {{key = value}}")
                target[key] = value
            else:
                if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                    raise ConfigError(f"--set {'.'.join(path)}: {'.'.join(path[: i + 1])} is a value, not a section")
                target = target.setdefault(key, {})
                if not isinstance(target, dict):  # e.g. `link = 10` in the scenario file
                    raise ConfigError(f"--set {text.strip()!r}: {'.'.join(path[: i + 1])} = {target!r} is not a section; "
                                      f"allowed: a table of the keys {', '.join(ann.model_fields)}")
                current_model = ann
    return out


def build_scenario(preset: str | None = None, config_path: str | Path | None = None, overrides=()) -> Scenario:
    """Scenario from a preset or a TOML file (default preset: ``ustc2026``) plus overrides.

    Parameters
    ----------
    preset : str, optional
        Built-in preset name (``qrepeater presets`` lists them).
    config_path : str or Path, optional
        A scenario TOML file (instead of a preset).
    overrides : iterable of str
        ``"dotted.path=value"`` overrides, as ``--set`` (e.g. ``"link.length_km=20"``).

    Returns
    -------
    Scenario
        A validated pydantic model (``HardwareScenario`` or ``AbstractScenario``); its sections
        (``link``, ``fiber``, ``node_a``, ``swap``, ...) hold the numbers in SI units with the unit in
        each field name; ``.model_dump()`` is the data.
    """
    if preset is not None and config_path is not None:
        raise ConfigError("give either --preset or --config, not both")
    if config_path is not None:
        data, source = load_toml(config_path), str(config_path)
    else:
        name = preset or "ustc2026"
        data, source = preset_data(name), ""
    if overrides:
        data = apply_overrides(data, list(overrides))
    return validate_scenario(data, source)


def load_preset(name: str) -> Scenario:
    """Validated scenario of a built-in preset (``build_scenario(preset=name)``; see there for what it
    returns)."""
    return build_scenario(preset=name)


def toml_literal(value) -> str:
    """The TOML spelling of a scalar, for ``dotted.path=value`` overrides."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise ConfigError(f"cannot use {value!r} as a parameter value")


def override(data: dict, path: str, value) -> dict:
    """``data`` with ``path`` set to ``value`` (the path is checked against the scenario model)."""
    return apply_overrides(data, [f"{path}={toml_literal(value)}"])
