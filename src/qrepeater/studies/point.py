"""What one study point takes and what it gives: engine options and metric columns.

A study point is a scenario plus engine options (which engine, total distance, number of segments,
multiplexing, cut-off, purification, schedule, Monte Carlo sample size); evaluating it
(:mod:`qrepeater.studies.evaluate`) gives the metric columns named here. Sweeps, sensitivity and the
CLI validate an option value with :func:`check_option`, so a bad value reads the same everywhere.
This module computes nothing, so the report layer may read the column names from it.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError
from ..physics.fiber import MAX_FIBRE_KM

#: largest chain built (a longer one is refused, not allocated); memories per node and link side
MAX_SEGMENTS = 4096
MAX_MULTIPLEX = 10**9
#: delivered pairs one Monte Carlo point may sample: the chain command's default --max-samples, so a
#: study file cannot ask one point for more work than `qrepeater chain` runs by default
MAX_PAIRS = 10**9
_INT_MAX = {"segments": MAX_SEGMENTS, "multiplex": MAX_MULTIPLEX, "pairs": MAX_PAIRS}

#: Engine options: name → (kind, default, description). ``kind`` is "float", "int" or a tuple of
#: allowed strings. ``distance_km`` defaults to the scenario's ``link.length_km``.
ENGINE_OPTIONS: dict[str, tuple[Any, Any, str]] = {
    "engine": (("link", "exact", "montecarlo"), "link", "link: metrics of one elementary segment; exact / montecarlo: repeater-chain engines"),
    "distance_km": ("float", None, "total fibre distance (km); a segment is distance_km / segments long"),
    "segments": ("int", 1, "number of elementary links of the chain"),
    "multiplex": ("int", 1, "memories (modes) per node per link side"),
    "cutoff_s": ("float", None, "memory cut-off (s); \"none\" for no cut-off"),
    "purify": (("none", "bbpssw", "dejmps"), "none", "link-level recurrence purification"),
    "purification_rounds": ("int", 1, "nested purification rounds"),
    "schedule": (("nested", "swap-asap"), "nested", "swapping schedule"),
    "pairs": ("int", 2000, "delivered pairs sampled by the Monte Carlo engine"),
}


def fail_entry(source: str, entry: str, message: str) -> ConfigError:
    """One-line error naming the file (``source``, may be empty) and the entry in it."""
    prefix = f"{source}: " if source else ""
    return ConfigError(f"{prefix}{entry}: {message}")


def is_number(v) -> bool:
    """True for an int or float that is not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_option(name: str, value, entry: str, source: str = ""):
    """Validate one engine option value; return it normalised (e.g. ``cutoff_s = "none"`` → None)."""
    kind = ENGINE_OPTIONS[name][0]
    if isinstance(kind, tuple):
        if value not in kind:
            raise fail_entry(source, entry, f"{value!r} is not allowed; allowed: {', '.join(kind)}")
        return value
    if name == "cutoff_s" and value in ("none", None):
        return None
    if kind == "int":
        if not (is_number(value) and float(value) == int(value)):
            raise fail_entry(source, entry, f"{value!r}: expected an integer")
        top = _INT_MAX.get(name)
        if int(value) < 1 or (top is not None and int(value) > top):
            allowed = "an integer >= 1" if top is None else f"an integer in [1, {top:g}]"
            raise fail_entry(source, entry, f"{value!r} is out of range; allowed: {allowed}")
        return int(value)
    if not is_number(value) or not math.isfinite(value):
        raise fail_entry(source, entry, f"{value!r}: expected a number")
    if name == "distance_km" and not 0 <= value <= MAX_FIBRE_KM:
        raise fail_entry(source, entry, f"{value!r} is out of range; allowed: [0, {MAX_FIBRE_KM:g}] km (Earth's circumference)")
    if name == "cutoff_s" and value <= 0:
        raise fail_entry(source, entry, f"{value!r} is out of range; allowed: (0, inf) or \"none\"")
    return float(value)


DEFAULT_ATTENUATION_DB_PER_KM = 0.2

#: Fields of :class:`qrepeater.links.LinkMetrics` that the link engine reports as they are.
LINK_FIELDS = (
    "success_probability",
    "attempt_duration_s",
    "rate_hz",
    "mean_generation_time_s",
    "heralded_fidelity",
    "decoherence_rate_hz",
    "coherence_time_s",
    "link_efficiency",
    "deterministic_delivery_fidelity",
    "expected_stored_fidelity",
    "expected_stored_fidelity_window",
    "storage_window_s",
    "time_above_half_s",
    "signal_fraction",
    "noise_counts_per_s",
    "filter_transmission",
    "interference_contrast",
    "arm_efficiency",
    "detected_noise_rate_hz",
)
_COMMON = ("segment_length_km", "transmissivity", "plob_bound")
LINK_METRICS = LINK_FIELDS + ("pairs_per_channel_use",) + _COMMON
CHAIN_METRICS = (
    "rate_hz",
    "rate_ci95_lo",
    "rate_ci95_hi",
    "mean_fidelity",
    "fidelity_ci95_lo",
    "fidelity_ci95_hi",
    "mean_waiting_time_s",
    "waiting_time_ci95_lo",
    "waiting_time_ci95_hi",
    "state_phi_plus",
    "state_phi_minus",
    "state_psi_plus",
    "state_psi_minus",
    "secret_key_fraction",
    "secret_key_rate_bps",
    "key_bits_per_channel_use",
    "attempt_duration_s",
    "truncation_error",
    "pairs_sampled",
    "tgw_bound",
    "beats_plob",
) + _COMMON

#: Metrics that are "per channel use" and therefore comparable with the PLOB bound.
PER_CHANNEL_USE_METRICS = ("key_bits_per_channel_use", "pairs_per_channel_use")


def metric_names(engine: str) -> tuple[str, ...]:
    """Metric columns the given engine produces."""
    return LINK_METRICS if engine == "link" else CHAIN_METRICS


def split_point(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split point parameters into (engine options, scenario overrides by dotted path)."""
    opts = {k: v for k, v in params.items() if k in ENGINE_OPTIONS}
    paths = {k: v for k, v in params.items() if k not in ENGINE_OPTIONS}
    return opts, paths
