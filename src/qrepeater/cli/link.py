"""`qrepeater link` and `qrepeater presets`."""

from __future__ import annotations

from typing import List, Optional

import typer

from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    finite_float,
    handle_errors,
    print_json,
)
from .options import run_title
from .tables import print_table

UNITS = {
    "success_probability": "",
    "attempt_duration_s": "s",
    "rate_hz": "Hz",
    "mean_generation_time_s": "s",
    "heralded_fidelity": "",
    "decoherence_rate_hz": "Hz",
    "coherence_time_s": "s",
    "memory_encoding": "",
    "pair_decay_rates_per_s": "1/s",
    "link_efficiency": "",
    "deterministic_delivery_fidelity": "",
    "expected_stored_fidelity": "",
    "expected_stored_fidelity_window": "",
    "storage_window_s": "s",
    "time_above_half_s": "s",
    "signal_fraction": "",
    "noise_counts_per_s": "1/s",
    "filter_transmission": "",
    "interference_contrast": "",
    "arm_efficiency": "",
    "detected_noise_rate_hz": "Hz",
}


def register(app: typer.Typer) -> None:
    @app.command("presets")
    @handle_errors
    def presets(json_out: bool = JsonOption) -> None:
        """List the built-in presets."""
        from ..config import list_presets

        items = list_presets()
        if json_out:
            print_json(items)
            return
        from rich.table import Table

        table = Table(title="qrepeater presets")
        table.add_column("preset")
        table.add_column("description")
        for name, desc in items.items():
            table.add_row(name, desc)
        print_table(table)

    @app.command("link")
    @handle_errors
    def link(
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        distance_km: Optional[float] = typer.Option(
            None, "--distance-km", parser=finite_float,
            help="Link length (km): the fibre between the two nodes (default: the scenario's link.length_km; "
                 "the same as --set link.length_km=...).",
        ),
        json_out: bool = JsonOption,
    ) -> None:
        """Figures of merit of one heralded link (rate, fidelity, coherence, link efficiency, ...)."""
        from ..builders import link_metrics
        from ..errors import ParameterError

        if distance_km is not None and not distance_km > 0:
            raise ParameterError("--distance-km", distance_km, "(0, inf)")
        length = [] if distance_km is None else [f"link.length_km={distance_km!r}"]
        scenario = build_from_options(preset, config, list(overrides or []) + length)
        metrics = link_metrics(scenario).to_dict()
        if json_out:
            print_json(metrics)
            return
        from rich.table import Table

        table = Table(title=run_title("link", scenario, overrides, distance_km=distance_km))
        table.add_column("quantity")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for key, value in metrics.items():
            shown = "-" if value is None else (f"{value:.6g}" if isinstance(value, float) else str(value))
            table.add_row(key, shown, UNITS.get(key, ""))
        print_table(table)
