"""Scenario configuration: the pydantic schema, presets, TOML files and ``--set`` overrides.

A *scenario* is validated data only; :mod:`qrepeater.builders` turns it into physics, link and engine
objects. Every validation problem becomes one line naming the field, the value and what is allowed
(:class:`qrepeater.errors.ConfigError` / :class:`~qrepeater.errors.ParameterError`).
"""

from .loading import (
    apply_overrides,
    build_scenario,
    list_presets,
    load_preset,
    load_toml,
    override,
    preset_data,
    read_toml_file,
    validate_scenario,
)
from .schema import SCENARIO_TYPES, AbstractScenario, HardwareScenario, Scenario

__all__ = [
    "SCENARIO_TYPES",
    "AbstractScenario",
    "HardwareScenario",
    "Scenario",
    "apply_overrides",
    "build_scenario",
    "list_presets",
    "load_preset",
    "load_toml",
    "override",
    "preset_data",
    "read_toml_file",
    "validate_scenario",
]
