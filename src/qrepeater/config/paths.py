"""Dotted paths into scenario data: parse, read, write, and the allowed range of the field there.

A path names a value of the scenario model, with integer parts for array entries:
``"node_a.memory.state_transfer_fidelity"``, ``"conversion.filters.2.peak_transmission"``.
"""

from __future__ import annotations

from typing import Any

import annotated_types
from pydantic import BaseModel

from ..errors import ConfigError
from .loading import _submodel

Path_ = tuple[str | int, ...]


def parse_path(path: str | Path_) -> Path_:
    """``"a.b.2.c"`` → ``("a", "b", 2, "c")`` (a tuple is returned as it is)."""
    if isinstance(path, tuple):
        return path
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


def get_path(data: Any, path: str | Path_) -> Any:
    """The value at ``path`` in nested dicts/lists ``data``."""
    cur = data
    for key in parse_path(path):
        try:
            cur = cur[key]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"{path}: no such entry in the scenario") from None
    return cur


def set_path(data: Any, path: str | Path_, value: Any) -> None:
    """Set the value at ``path`` in place (the entry must exist)."""
    keys = parse_path(path)
    parent = get_path(data, keys[:-1]) if len(keys) > 1 else data
    try:
        parent[keys[-1]]
    except (KeyError, IndexError, TypeError):
        raise ConfigError(f"{path}: no such entry in the scenario") from None
    parent[keys[-1]] = value


def field_bounds(model: type[BaseModel], path: str | Path_) -> tuple[float | None, bool, float | None, bool]:
    """(low, low inclusive, high, high inclusive) of the field at ``path`` of ``model`` (None: open)."""
    _, info = _submodel(model, parse_path(path))
    lo = hi = None
    lo_inc = hi_inc = True
    for m in getattr(info, "metadata", []) or []:
        if isinstance(m, annotated_types.Ge):
            lo, lo_inc = float(m.ge), True
        elif isinstance(m, annotated_types.Gt):
            lo, lo_inc = float(m.gt), False
        elif isinstance(m, annotated_types.Le):
            hi, hi_inc = float(m.le), True
        elif isinstance(m, annotated_types.Lt):
            hi, hi_inc = float(m.lt), False
    return lo, lo_inc, hi, hi_inc
