"""Engine options of one study point: their names, kinds, defaults and validation.

A study point is a scenario plus these options (which engine, total distance, number of segments,
multiplexing, cut-off, purification, schedule, Monte Carlo sample size). Sweeps, sensitivity and
the CLI all validate an option value here, so a bad value reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import ConfigError

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
        if int(value) < 1:
            raise fail_entry(source, entry, f"{value!r} is out of range; allowed: an integer >= 1")
        return int(value)
    if not is_number(value) or not math.isfinite(value):
        raise fail_entry(source, entry, f"{value!r}: expected a number")
    if name == "distance_km" and value < 0:
        raise fail_entry(source, entry, f"{value!r} is out of range; allowed: [0, inf)")
    if name == "cutoff_s" and value <= 0:
        raise fail_entry(source, entry, f"{value!r} is out of range; allowed: (0, inf) or \"none\"")
    return float(value)
