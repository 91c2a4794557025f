"""Sweep specifications: a TOML file naming a base scenario, the parameters to vary and the metrics.

File format (every key optional except ``[parameters]``)::

    preset = "ustc2026"                       # base scenario: a preset ...
    # config = "my-scenario.toml"             # ... or a scenario file (relative to the sweep file)
    set = ["fiber.attenuation_db_per_km=0.18"]  # fixed overrides of the base
    metrics = ["rate_hz", "heralded_fidelity"]  # columns to record (default: all of the engine)
    seed = 2026                               # root seed; point i uses SeedSequence(seed).spawn(n)[i]

    [options]                                 # fixed engine options (see ENGINE_OPTIONS)
    engine = "exact"

    [parameters]                              # the grid: the Cartesian product of these axes
    distance_km = { start = 50, stop = 500, num = 10, scale = "log" }
    segments = [1, 2, 4, 8]
    "link.excitation_probability" = [0.02, 0.05, 0.17]

A parameter is either an engine option (:data:`ENGINE_OPTIONS`) or any dotted path of the scenario
model (``link.excitation_probability``, ``node_a.memory.storage_level_lifetime_s``, ...). An axis is
an array of values, or a table ``{start, stop, num, scale = "linear" | "log"}``, ``{start, stop, step}``
or ``{values = [...]}``. Every value is checked before anything runs — the path against the scenario
model (:func:`~qrepeater.config.apply_overrides`), the value against its range and type
(:func:`~qrepeater.config.validate_scenario`) — and the first problem is one line naming the entry
(:class:`qrepeater.errors.ConfigError`).

Points are numbered in C order over the axes as written (the last axis varies fastest).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import (
    apply_overrides,
    load_toml,
    override,
    preset_data,
    validate_scenario,
)
from ..errors import ConfigError, QRepeaterError
from .point import ENGINE_OPTIONS, check_option, fail_entry, is_number, metric_names

TOP_LEVEL_KEYS = ("preset", "config", "set", "metrics", "seed", "name", "description", "options", "parameters")
#: most values one axis may have (each is validated before the sweep runs; a bigger grid is refused
#: before it is built)
MAX_AXIS_VALUES = 10_000


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep.

    Attributes
    ----------
    base_data : dict
        Raw scenario data (``extends`` resolved, fixed ``set`` overrides applied).
    parameters : dict[str, list]
        Axis name → grid values, in file order.
    options : dict
        Fixed engine options (every key of :data:`ENGINE_OPTIONS` not swept).
    metrics : tuple[str, ...]
        Metric columns to record (empty: all the engine produces).
    seed : int
        Root seed.
    name, source, text :
        Sweep name, the file it came from and its TOML text (stored with the results).
    """

    base_data: dict
    parameters: dict[str, list]
    options: dict
    metrics: tuple[str, ...] = ()
    seed: int = 0
    name: str = "sweep"
    source: str = ""
    text: str = ""
    shape: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(len(v) for v in self.parameters.values()))

    @property
    def n_points(self) -> int:
        return int(math.prod(self.shape)) if self.shape else 1

    def point(self, point_id: int) -> dict[str, Any]:
        """Parameter values of point ``point_id`` (C order over the axes)."""
        if not 0 <= point_id < self.n_points:
            raise IndexError(point_id)
        idx = np.unravel_index(point_id, self.shape) if self.shape else ()
        return {name: values[i] for (name, values), i in zip(self.parameters.items(), idx)}

    def payload(self) -> dict:
        """Plain-data description (JSON-able) sent to workers and stored with the results."""
        return {
            "name": self.name,
            "base_data": self.base_data,
            "parameters": self.parameters,
            "options": self.options,
            "metrics": list(self.metrics),
            "seed": self.seed,
            "n_points": self.n_points,
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical payload: a resumed sweep must have the same one."""
        return hashlib.sha256(json.dumps(self.payload(), sort_keys=True, default=str).encode()).hexdigest()


def _expand_axis(name: str, raw, source: str) -> list:
    entry = f"parameters.{name}"
    if isinstance(raw, dict):
        keys = set(raw)
        if keys == {"values"}:
            values = raw["values"]
            if not isinstance(values, list):
                raise fail_entry(source, entry, "'values' must be an array")
        elif {"start", "stop"} <= keys and keys <= {"start", "stop", "num", "scale", "step"}:
            start, stop = raw["start"], raw["stop"]
            if not (is_number(start) and is_number(stop)):
                raise fail_entry(source, entry, f"start/stop must be numbers, got {start!r}, {stop!r}")
            if "step" in raw:
                if "num" in raw or "scale" in raw:
                    raise fail_entry(source, entry, "give either step or num/scale, not both")
                step = raw["step"]
                if not is_number(step) or step <= 0:
                    raise fail_entry(source, entry, f"step = {step!r}: must be a positive number")
                if stop < start:
                    raise fail_entry(source, entry, f"empty grid: stop {stop!r} < start {start!r}")
                span = (stop - start) / step
                if not math.isfinite(span) or span + 1 > MAX_AXIS_VALUES:
                    raise fail_entry(source, entry, f"{span + 1:.3g} values; allowed: at most {MAX_AXIS_VALUES} per axis")
                n = int(math.floor(span + 1e-9)) + 1
                values = [start + i * step for i in range(n)]
                if all(isinstance(v, int) for v in (start, stop, step)):
                    values = [int(v) for v in values]
                else:
                    values = [float(v) for v in values]
            else:
                num = raw.get("num")
                if num is None:
                    raise fail_entry(source, entry, "a range needs num (number of points) or step")
                if not isinstance(num, int) or isinstance(num, bool):
                    raise fail_entry(source, entry, f"num = {num!r}: must be an integer")
                if num < 1:
                    raise fail_entry(source, entry, f"empty grid (num = {num})")
                if num > MAX_AXIS_VALUES:
                    raise fail_entry(source, entry, f"num = {num}; allowed: at most {MAX_AXIS_VALUES} values per axis")
                scale = raw.get("scale", "linear")
                if scale not in ("linear", "log"):
                    raise fail_entry(source, entry, f"scale = {scale!r}: allowed: linear, log")
                if scale == "log":
                    if not (start > 0 and stop > 0):
                        raise fail_entry(source, entry, f"scale = 'log' needs start and stop > 0, got {start!r}, {stop!r}")
                    values = np.geomspace(start, stop, num)
                else:
                    values = np.linspace(start, stop, num)
                values = [float(v) for v in values]
                if num >= 2:  # exact end points despite rounding
                    values[0], values[-1] = float(start), float(stop)
        else:
            raise fail_entry(
                source, entry, f"a range table takes {{start, stop, num, scale}}, {{start, stop, step}} or {{values}}; got keys {sorted(keys)}"
            )
    elif isinstance(raw, list):
        values = raw
    else:
        values = [raw]
    if len(values) == 0:
        raise fail_entry(source, entry, "empty grid")
    if len(values) > MAX_AXIS_VALUES:
        raise fail_entry(source, entry, f"{len(values)} values; allowed: at most {MAX_AXIS_VALUES} per axis")
    kinds = {"number" if is_number(v) else type(v).__name__ for v in values}
    if len(kinds) > 1:
        raise fail_entry(source, entry, f"mixed value types {sorted(kinds)} in the grid")
    if kinds - {"number", "str", "bool"}:
        raise fail_entry(source, entry, f"values must be numbers, strings or booleans, got {values[0]!r}")
    if len(set(map(repr, values))) != len(values):
        raise fail_entry(source, entry, "repeated values in the grid")
    return list(values)


def _value_at(data: dict, path: list[str]):
    cur: Any = data
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _check_scenario_value(base: dict, defaults: dict, path: str, value, entry: str, source: str) -> None:
    try:
        data = override(base, path, value)
    except ConfigError as exc:
        msg = str(exc)
        if msg.startswith("--set "):  # "--set a.b: unknown key ..." → "unknown key ..."
            msg = msg.split(": ", 1)[1] if ": " in msg else msg
        if "valid keys at top level" in msg:
            msg = f"unknown parameter {path!r}: neither an engine option ({', '.join(ENGINE_OPTIONS)}) nor a scenario path; {msg.split('; ', 1)[-1]}"
        raise fail_entry(source, entry, msg) from None
    current = _value_at(defaults, path.split("."))
    if isinstance(current, (dict, list, tuple)):
        raise fail_entry(source, entry, f"{path} is a section or a list, not a single value")
    if current is not None:
        if is_number(current) and not is_number(value):
            raise fail_entry(source, entry, f"{value!r}: expected a number")
        if isinstance(current, str) and not isinstance(value, str):
            raise fail_entry(source, entry, f"{value!r}: expected a string")
        if isinstance(current, bool) and not isinstance(value, bool):
            raise fail_entry(source, entry, f"{value!r}: expected true or false")
    try:
        validate_scenario(data)
    except QRepeaterError as exc:
        raise fail_entry(source, entry, str(exc)) from None


def parse_sweep(data: dict, source: str = "", base_dir: Path | None = None, text: str = "") -> SweepSpec:
    """Validate the parsed TOML of a sweep file into a :class:`SweepSpec` (see the module docstring)."""
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise fail_entry(source, unknown[0], f"unknown key; valid keys: {', '.join(TOP_LEVEL_KEYS)}")
    # base scenario
    if "preset" in data and "config" in data:
        raise fail_entry(source, "preset", "give either preset or config, not both")
    try:
        if "config" in data:
            cfg = data["config"]
            if not isinstance(cfg, str):
                raise fail_entry(source, "config", f"{cfg!r}: expected a file name")
            path = Path(cfg)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            base = load_toml(path)
        else:
            preset = data.get("preset", "ustc2026")
            if not isinstance(preset, str):
                raise fail_entry(source, "preset", f"{preset!r}: expected a preset name")
            base = preset_data(preset)
    except ConfigError as exc:
        if str(exc).startswith(f"{source}: "):
            raise
        raise fail_entry(source, "config" if "config" in data else "preset", str(exc)) from None
    fixed = data.get("set", [])
    if isinstance(fixed, str):
        fixed = [fixed]
    if not isinstance(fixed, list) or not all(isinstance(s, str) for s in fixed):
        raise fail_entry(source, "set", "expected an array of \"dotted.path=value\" strings")
    try:
        base = apply_overrides(base, fixed)
        scenario = validate_scenario(base)
    except QRepeaterError as exc:
        raise fail_entry(source, "set", str(exc)) from None
    defaults = scenario.model_dump(mode="python")
    # options
    raw_options = data.get("options", {})
    if not isinstance(raw_options, dict):
        raise fail_entry(source, "options", "expected a table")
    options = {}
    for key, value in raw_options.items():
        if key not in ENGINE_OPTIONS:
            raise fail_entry(source, f"options.{key}", f"unknown engine option; valid: {', '.join(ENGINE_OPTIONS)}")
        options[key] = check_option(key, value, f"options.{key}", source)
    # parameters
    raw_params = data.get("parameters")
    if not isinstance(raw_params, dict) or not raw_params:
        raise fail_entry(source, "parameters", "a sweep needs a [parameters] table with at least one axis")
    parameters: dict[str, list] = {}
    for name, raw in raw_params.items():
        entry = f"parameters.{name}"
        if name in options:
            raise fail_entry(source, entry, "also fixed in [options]; give it in one place")
        values = _expand_axis(name, raw, source)
        if name in ENGINE_OPTIONS:
            values = [check_option(name, v, entry, source) for v in values]
        else:
            for v in values:
                _check_scenario_value(base, defaults, name, v, entry, source)
        parameters[name] = values
    for key, (_, default, _) in ENGINE_OPTIONS.items():
        if key not in options and key not in parameters:
            options[key] = default if key != "distance_km" else float(scenario.link.length_km)
    _check_combinations(parameters, options, source)
    # metrics
    metrics = data.get("metrics", [])
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise fail_entry(source, "metrics", "expected an array of metric names")
    engines = parameters.get("engine", [options.get("engine")])
    allowed = set().union(*(metric_names(e) for e in engines))
    for m in metrics:
        if m not in allowed:
            raise fail_entry(source, "metrics", f"unknown metric {m!r}; available: {', '.join(sorted(allowed))}")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise fail_entry(source, "seed", f"{seed!r}: expected a non-negative integer")
    name = data.get("name", Path(source).stem if source else "sweep")
    return SweepSpec(
        base_data=base,
        parameters=parameters,
        options=options,
        metrics=tuple(metrics),
        seed=seed,
        name=str(name),
        source=source,
        text=text,
    )


def _check_combinations(parameters: dict, options: dict, source: str) -> None:
    def values(key):
        return parameters.get(key, [options.get(key)])

    if "schedule" not in parameters and options.get("schedule") == "nested" and set(values("engine")) & {"exact", "montecarlo"}:
        for s in values("segments"):
            if s & (s - 1):
                where = "parameters.segments" if "segments" in parameters else "options.segments"
                raise fail_entry(source, where, f"{s} segments: the nested schedule needs a power of two (1, 2, 4, 8, ...)")


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep TOML file; any problem is one line naming the file and the entry."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such sweep file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    return parse_sweep(data, str(p), p.parent, text)


def parse_sweep_text(text: str, source: str = "<sweep>", base_dir: Path | None = None) -> SweepSpec:
    """:func:`load_sweep` for TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    return parse_sweep(data, source, base_dir, text)


__all__ = ["SweepSpec", "load_sweep", "parse_sweep", "parse_sweep_text"]
