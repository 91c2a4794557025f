"""Shared CLI plumbing: one-line errors, JSON output, scenario options."""

from __future__ import annotations

import functools
import json
import math
import sys
from typing import Any, Callable, List, Optional

import numpy as np
import typer

from ..errors import QRepeaterError

EXIT_USER_ERROR = 2

PresetOption = typer.Option(None, "--preset", "-p", help="Built-in preset (see `qrepeater presets`).")
ConfigOption = typer.Option(None, "--config", "-c", help="Scenario TOML file.")
SetOption = typer.Option(None, "--set", help="Override a parameter: dotted.path=value (repeatable).")
JsonOption = typer.Option(False, "--json", help="Print one JSON object instead of a table.")


def fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    """Print ``error: message`` on one line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(func: Callable) -> Callable:
    """Turn user errors (QRepeaterError, ValueError from validation) into one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except QRepeaterError as exc:
            fail(str(exc))
        except FileNotFoundError as exc:
            fail(f"{exc.filename}: no such file")

    return wrapper


def _json_default(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def print_json(data: dict) -> None:
    """Print one JSON object (NaN/inf become null)."""
    sys.stdout.write(json.dumps(_clean(data), default=_json_default, indent=2) + "\n")


def quantity_table(title: str, rows: dict) -> None:
    """Print a two-column (quantity, value) rich table; floats with 6 significant digits."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, (list, tuple)):
            v = ", ".join(f"{u:.6g}" if isinstance(u, float) else str(u) for u in v)
        table.add_row(k, "" if v is None else str(v))
    Console().print(table)


def build_from_options(preset: Optional[str], config: Optional[str], overrides: Optional[List[str]]):
    """Scenario from the common --preset/--config/--set options."""
    from ..config import build_scenario

    return build_scenario(preset, config, list(overrides or []))
