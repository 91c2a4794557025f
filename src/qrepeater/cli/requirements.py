"""`qrepeater requirements`: the cheapest combination of hardware improvements that meets targets.

The study itself is :func:`qrepeater.studies.requirements.find_requirements` (differential evolution
on improvement factors, each evaluation on the exact engine); the cost model and the mapping of a
factor per parameter kind are in :mod:`qrepeater.studies.requirements_model`. With ``--out DIR`` the
result (``requirements.json``) and its charts are written into DIR; with several ``--distance-km``
values the charts include the cost-vs-distance curve.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

from .budget import check_exact_segments, check_work
from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    count,
    finite_float,
    handle_errors,
    positive_float,
    print_json,
)
from .paths import output_folder
from .options import check_engine, engine_option, pairs_option, seed_option
from .progress import Progress, ProgressOption, progress_wanted
from .tables import print_table

#: default --max-samples of a Monte Carlo requirements study (all its evaluations together)
MAX_SAMPLES = 10**9
#: evaluations beyond --max-evaluations: polish (≈ 20 SLSQP steps × (variables + 1)) and reports
POLISH_EVALUATIONS_PER_VARIABLE = 25
MAX_DISTANCES = 50
REQUIREMENTS_ENGINES = ("link", "exact", "montecarlo")


def _max_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _weights(items: Optional[List[str]]) -> dict[str, float]:
    from ..errors import ConfigError

    out: dict[str, float] = {}
    for text in items or []:
        if "=" not in text:
            raise ConfigError(f"--weight {text!r}: expected PARAMETER=WEIGHT, e.g. swap.gate_fidelity=2")
        name, raw = text.rsplit("=", 1)
        try:
            out[name.strip()] = float(raw)
        except ValueError:
            raise ConfigError(f"--weight {text!r}: {raw!r} is not a number") from None
    return out


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))


def _print_plan(plan: dict, console: Console) -> None:
    from rich.table import Table  # tables only: --json never loads rich

    state = "[green]feasible[/green]" if plan["feasible"] else "[red]infeasible[/red]"
    table = Table(title=f"requirements at {plan['distance_km']:g} km, {plan['segments']} segments: {state}, "
                        f"cost {plan['cost']:.4g} ({plan['evaluations']} evaluations)")
    for col in ("parameter", "kind", "baseline", "required", "factor"):
        table.add_column(col, justify="left" if col in ("parameter", "kind") else "right", no_wrap=True)
    for r in plan["improvements"]:
        table.add_row(r["parameter"], r["kind"], _fmt(r["baseline"]), _fmt(r["required"]), f"×{r['factor']:.4g}")
    print_table(table, console)
    targets = Table(title="targets")
    for col in ("target", "achieved", "met", "best found"):
        targets.add_column(col, justify="right")
    for t in plan["targets"]:
        targets.add_row(t["target"], _fmt(t["achieved"]), "yes" if t["met"] else "[red]no[/red]", _fmt(t["best_found"]))
    print_table(targets, console)
    console.print(plan["message"])


def register(app: typer.Typer) -> None:
    @app.command("requirements")
    @handle_errors(interrupted="nothing was written (requirements writes its result at the end); run it again, "
                               "with fewer --max-evaluations for a shorter run")
    def requirements(
        target: List[str] = typer.Option(..., "--target", "-t", help="Requirement METRIC>=VALUE (or >, <=, <), e.g. rate_hz>=0.1 (repeatable)."),
        distance_km: List[float] = typer.Option(..., "--distance-km", parser=finite_float,
                                                help="Total distance (km); repeat it for a cost-vs-distance study."),
        segments: int = typer.Option(4, "--segments", parser=count, help="Elementary links of the chain."),
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        vary: Optional[List[str]] = typer.Option(None, "--vary", help="Parameter to improve (dotted path as --set takes it; "
                                                 "node_{a,b}.x for both nodes); repeatable; default: a hardware set, see the docs."),
        max_factor: float = typer.Option(100.0, "--max-factor", parser=positive_float, help="Largest improvement factor of any parameter."),
        cost: str = typer.Option("log-factor", "--cost", help="Cost model: log-factor (Σ w·ln k)."),
        weight: Optional[List[str]] = typer.Option(None, "--weight", help="Cost weight of a varied parameter, PARAMETER=W (default 1)."),
        per_node: bool = typer.Option(False, "--per-node", help="Improve node A and node B parameters separately."),
        engine: str = engine_option("exact", REQUIREMENTS_ENGINES),
        multiplex: int = typer.Option(1, "--multiplex", parser=count, help="Memories per node per link side."),
        cutoff_s: Optional[float] = typer.Option(None, "--cutoff-s", parser=positive_float, help="Memory cut-off (s)."),
        pairs: int = pairs_option(),
        workers: int = typer.Option(1, "--workers", "-w", parser=count, help="Worker processes (at most the number of CPUs)."),
        seed: Optional[int] = seed_option("It seeds the search and every Monte Carlo evaluation."),
        max_evaluations: int = typer.Option(800, "--max-evaluations", parser=count, help="Evaluations of the global search (the polish adds a few hundred)."),
        max_samples: int = typer.Option(MAX_SAMPLES, "--max-samples", parser=count,
                                        help="Work limit of a montecarlo study: elementary-link samples over all evaluations."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for requirements.json and the charts."),
        progress: Optional[bool] = ProgressOption,
        json_out: bool = JsonOption,
    ) -> None:
        """Cheapest set of hardware improvement factors (cost Σ ln k) meeting every --target, found by
        differential evolution with each evaluation on the exact engine."""
        from ..errors import ParameterError
        from ..files import write_json_atomic
        from ..studies.requirements import find_requirements, requirements_vs_distance
        from ..studies.requirements_model import parse_target, resolve_variables
        from .chain import MAX_SEGMENTS

        if out is not None:
            output_folder("--out", out, "a folder for the result and its charts")
        if segments > MAX_SEGMENTS:
            raise ParameterError("--segments", segments, f"an integer in [1, {MAX_SEGMENTS}]")
        if workers > _max_workers():
            raise ParameterError("--workers", workers, f"an integer in [1, {_max_workers()}] (the CPUs of this machine)")
        if len(distance_km) > MAX_DISTANCES:
            raise ParameterError("--distance-km", f"{len(distance_km)} values", f"at most {MAX_DISTANCES} distances")
        for d in distance_km:
            if d < 0:
                raise ParameterError("--distance-km", d, "[0, inf)")
        check_engine(engine, REQUIREMENTS_ENGINES)
        if engine == "exact":
            check_exact_segments("--segments", segments)
        targets = [parse_target(t, engine) for t in target]
        scenario = build_from_options(preset, config, overrides)
        weights = _weights(weight)
        variables = resolve_variables(scenario, vary, max_factor=max_factor, weights=weights, per_node=per_node)
        if engine == "montecarlo":
            evaluations = len(distance_km) * (max_evaluations + POLISH_EVALUATIONS_PER_VARIABLE * (len(variables) + 1))
            check_work("--pairs", pairs, evaluations * pairs * segments, max_samples, "--max-samples",
                       f"elementary-link samples (about {evaluations} Monte Carlo evaluations)")
        options = {"multiplex": multiplex, "cutoff_s": cutoff_s, "pairs": pairs}
        show = progress_wanted(progress)
        with Progress("requirements", f"differential evolution over {len(variables)} parameters, {engine} engine, "
                      f"{len(distance_km)} distance(s)", show) as bar:
            kwargs = dict(segments=segments, engine=engine, options=options, vary=vary, max_factor=max_factor,
                          weights=weights, per_node=per_node, cost=cost, workers=workers, max_evaluations=max_evaluations,
                          progress=bar.status if show else None)
            if len(distance_km) == 1:
                plans = [find_requirements(scenario, targets, distance_km=distance_km[0], seed=seed, **kwargs).to_dict()]
            else:
                plans = [p.to_dict() for p in requirements_vs_distance(scenario, targets, distance_km, seed=seed, **kwargs)]
        charts: list[str] = []
        if out is not None:
            from ..report.requirements_plots import plot_requirements

            charts = [str(p) for p in plot_requirements(plans, out)]
        data = dict(plans[0]) if len(plans) == 1 else {"plans": plans}
        data["charts"] = charts
        if out is not None:
            write_json_atomic(Path(out) / "requirements.json", data)
        if json_out:
            print_json(data)
            return
        from rich.console import Console  # tables only: --json never loads rich

        console = Console()
        for plan in plans:
            _print_plan(plan, console)
        for c in charts:
            console.print(f"chart: {c}")
