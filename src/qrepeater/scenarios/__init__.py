"""Validated scenarios: presets, TOML configs, overrides, and their link / chain / QKD inputs."""

from .build import QKDSource, chain_segment, link_hardware, link_metrics, qkd_source, scenario_link, swap_model
from .config import AbstractScenario, HardwareScenario, Scenario
from .loading import apply_overrides, build_scenario, list_presets, load_preset, load_toml, validate_scenario

__all__ = [
    "AbstractScenario",
    "HardwareScenario",
    "QKDSource",
    "Scenario",
    "apply_overrides",
    "build_scenario",
    "chain_segment",
    "link_hardware",
    "link_metrics",
    "list_presets",
    "load_preset",
    "load_toml",
    "qkd_source",
    "scenario_link",
    "swap_model",
    "validate_scenario",
]
