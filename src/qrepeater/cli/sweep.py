"""`qrepeater sweep`, `plot`, `sensitivity` and `report`: parameter sweeps, their plots and reports,
and "which hardware improvement buys the most".

Bounded work: a sweep of more than ``--max-points`` points, or a sensitivity study whose Monte Carlo
evaluations need more than ``--max-samples`` elementary-link samples, is refused before it starts;
``--workers`` is at most the number of CPUs. Ctrl-C on a sweep keeps every finished point and says
how to continue (``--resume``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

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
from .paths import distinct, input_file, output_file, output_folder
from .options import check_engine, engine_option, pairs_option, run_title
from .progress import Progress, ProgressOption, progress_wanted
from .tables import print_table

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")
#: default --max-points of a sweep (each point is a committed file while the sweep runs)
DEFAULT_MAX_POINTS = 100_000
#: default --max-samples of a Monte Carlo sensitivity study (all its evaluations together)
SENSITIVITY_MAX_SAMPLES = 10**9
#: evaluations per parameter: the elasticity's two, and about this many more for a --target factor
EVALUATIONS_PER_TARGET = 50
MAX_CONNECT_TIMEOUT_S = 3600.0
SENSITIVITY_ENGINES = ("link", "exact", "montecarlo")


def _check_exact_chains(spec) -> None:
    """A sweep whose exact-engine points have chains too long for its memory is refused up front."""
    engines = spec.parameters.get("engine", [spec.options.get("engine")])
    if "exact" in engines:
        where = "parameters.segments" if "segments" in spec.parameters else "options.segments"
        check_exact_segments(f"{spec.source}: {where}" if spec.source else where,
                             max(int(s) for s in spec.parameters.get("segments", [spec.options.get("segments") or 1])))


def _max_workers() -> int:
    return max(1, os.cpu_count() or 1)


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @handle_errors
    def sweep(
        spec_file: Path = typer.Argument(..., help="Sweep specification (TOML): base scenario, [parameters] grid, metrics, seed."),
        out: Path = typer.Option(Path("sweep.parquet"), "--out", "-o", help="Tidy Parquet results (one row per point, .parquet)."),
        workers: Optional[int] = typer.Option(
            None, "--workers", "-w", parser=count,
            help="Local worker processes (1: in-process, no cluster; at most the number of CPUs). Default: automatic — "
                 "in-process, moving to a local cluster of up to the CPUs once the remaining points would take over ~30 s.",
        ),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Use an existing dask scheduler, e.g. tcp://host:8786."),
        connect_timeout: float = typer.Option(15.0, "--connect-timeout", parser=positive_float, help="Seconds to try to reach --scheduler."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted sweep from <out>.parts/."),
        netcdf: Optional[Path] = typer.Option(None, "--netcdf", help="Also write the metrics as an xarray/netCDF cube (.nc)."),
        progress: Optional[bool] = ProgressOption,
        max_points: int = typer.Option(DEFAULT_MAX_POINTS, "--max-points", parser=count, help="Work limit: refuse a sweep with more points."),
        json_out: bool = JsonOption,
    ) -> None:
        """Run a parameter sweep on dask (local cluster or --scheduler); every point is committed as
        it finishes, so --resume after a crash or Ctrl-C loses and repeats nothing."""
        from ..errors import ParameterError
        from ..studies.sweep_runner import run_sweep
        from ..studies.sweep_spec import load_sweep

        input_file("SPEC_FILE", spec_file, "sweep TOML file", text=True)
        output_file("--out", out, "a results file", suffixes=(".parquet",))
        if netcdf is not None:
            output_file("--netcdf", netcdf, "a netCDF file", suffixes=(".nc",))
        distinct(("SPEC_FILE", spec_file), ("--out", out), ("--netcdf", netcdf))
        if scheduler is not None and not scheduler.strip():  # '' meant a local cluster of --workers 1e9 (20+ GB)
            raise ParameterError("--scheduler", scheduler, "the address of a running dask scheduler, e.g. tcp://host:8786")
        if not scheduler and workers is not None and workers > _max_workers():
            raise ParameterError("--workers", workers, f"an integer in [1, {_max_workers()}] (the CPUs of this machine)")
        if connect_timeout > MAX_CONNECT_TIMEOUT_S:
            raise ParameterError("--connect-timeout", connect_timeout, f"(0, {MAX_CONNECT_TIMEOUT_S:g}] s")
        spec = load_sweep(spec_file)
        check_work("SPEC_FILE", str(spec_file), spec.n_points, max_points, "--max-points", "points")
        _check_exact_chains(spec)
        with Progress("sweep", f"{spec.n_points} points of {spec.name}", progress_wanted(progress), total=spec.n_points) as bar:
            outcome = run_sweep(
                spec,
                out,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                netcdf=netcdf,
                progress=bar if bar.enabled else False,
                connect_timeout_s=connect_timeout,
            )
        if json_out:
            print_json(outcome.to_dict())
            return
        msg = (
            f"{outcome.n_points} points ({outcome.evaluated} evaluated, {outcome.resumed} resumed"
            f"{f', {outcome.failed_points} rejected by the model' if outcome.failed_points else ''}) "
            f"in {outcome.seconds:.1f} s → {outcome.out}" + (f", {outcome.netcdf}" if outcome.netcdf else "")
        )
        from rich.console import Console  # tables only: --json never loads rich

        Console(stderr=True).print(msg)

    @app.command("plot")
    @handle_errors
    def plot(
        results: Path = typer.Argument(..., help="Sweep results (.parquet, written by qrepeater sweep)."),
        x: str = typer.Option(..., "--x", help="Column on the x axis (usually a parameter, e.g. distance_km)."),
        y: str = typer.Option(..., "--y", help="Column on the y axis (a metric, e.g. rate_hz)."),
        hue: Optional[str] = typer.Option(None, "--hue", help="One line (colour) per value of this column."),
        out: Path = typer.Option(Path("plot.png"), "--out", "-o", help="Image file (.png, .svg or .pdf)."),
        logx: Optional[bool] = typer.Option(None, "--logx/--linx", help="Force a log / linear x axis (default: automatic)."),
        logy: Optional[bool] = typer.Option(None, "--logy/--liny", help="Force a log / linear y axis (default: automatic)."),
    ) -> None:
        """Plot one metric of a sweep against a parameter (PLOB bound drawn for per-channel-use metrics)."""
        from ..report.sweep_plots import plot_sweep
        from ..studies.sweep_files import read_results

        input_file("RESULTS", results, "results file (.parquet, from qrepeater sweep)")
        output_file("--out", out, "an image file", suffixes=IMAGE_SUFFIXES)
        distinct(("RESULTS", results), ("--out", out))
        df = read_results(results)
        path = plot_sweep(df, x, y, out, hue=hue, logx=logx, logy=logy)
        typer.echo(str(path))

    @app.command("sensitivity")
    @handle_errors
    def sensitivity_cmd(
        metric: str = typer.Option(..., "--metric", "-m", help="Metric to improve, e.g. link_efficiency, rate_hz, secret_key_rate_bps."),
        target: Optional[float] = typer.Option(None, "--target", parser=positive_float, help="Value to reach: rank by the factor each parameter alone needs."),
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        engine: str = engine_option("link", SENSITIVITY_ENGINES),
        distance_km: Optional[float] = typer.Option(None, "--distance-km", parser=finite_float, help="Total distance (default: the scenario's link.length_km)."),
        segments: int = typer.Option(1, "--segments", parser=count, help="Elementary links of the chain."),
        multiplex: int = typer.Option(1, "--multiplex", parser=count, help="Memories per node per link side."),
        cutoff_s: Optional[float] = typer.Option(None, "--cutoff-s", parser=positive_float, help="Memory cut-off (s)."),
        pairs: int = pairs_option(),
        per_node: bool = typer.Option(False, "--per-node", help="Treat node A and node B parameters separately."),
        include_setup: bool = typer.Option(False, "--include-setup", help="Also rank set-up choices (link.* operating point and geometry, wavelengths)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Bar chart of the elasticities (.png, .svg or .pdf)."),
        max_samples: int = typer.Option(SENSITIVITY_MAX_SAMPLES, "--max-samples", parser=count,
                                        help="Work limit of a montecarlo study: elementary-link samples over all its evaluations."),
        json_out: bool = JsonOption,
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Rank every hardware parameter by the elasticity d ln M / d ln p of a metric (and, with
        --target, by the improvement factor it alone would need)."""
        from ..errors import ParameterError
        from ..studies.point import check_option
        from .chain import MAX_SEGMENTS
        from ..studies.sensitivity import hardware_parameters, sensitivity

        if out is not None:
            output_file("--out", out, "a chart file", suffixes=IMAGE_SUFFIXES)
            distinct(("--config", config), ("--out", out))
        if segments > MAX_SEGMENTS:
            raise ParameterError("--segments", segments, f"an integer in [1, {MAX_SEGMENTS}]")
        if engine == "exact":
            check_exact_segments("--segments", segments)
        scenario = build_from_options(preset, config, overrides)
        options = {
            "engine": check_engine(engine, SENSITIVITY_ENGINES),
            "segments": check_option("segments", segments, "--segments"),
            "multiplex": check_option("multiplex", multiplex, "--multiplex"),
            "cutoff_s": None if cutoff_s is None else check_option("cutoff_s", cutoff_s, "--cutoff-s"),
            "pairs": check_option("pairs", pairs, "--pairs"),
        }
        if distance_km is not None:
            options["distance_km"] = check_option("distance_km", distance_km, "--distance-km")
        if engine == "montecarlo":
            evaluations = 1 + len(hardware_parameters(scenario, not per_node, include_setup)) * (
                2 + (EVALUATIONS_PER_TARGET if target is not None else 0))
            check_work("--pairs", pairs, evaluations * pairs * segments, max_samples, "--max-samples",
                       f"elementary-link samples ({evaluations} Monte Carlo evaluations)")
        n_params = len(hardware_parameters(scenario, not per_node, include_setup))
        with Progress("sensitivity", f"{metric} on the {engine} engine: elasticities of {n_params} parameters"
                      + (f" and the factor each needs for {target:g}" if target is not None else ""), progress_wanted(progress)):
            report = sensitivity(scenario, metric, options, target, tie_nodes=not per_node, include_setup=include_setup)
        from ..report.sensitivity_plots import factor_offered, factor_text
        from .improvements import improvement_direction

        # which way each parameter improves: a factor is offered only if it improves the parameter
        direction = {r.parameter: improvement_direction(r.parameter) for r in report.rows}
        chart = None
        if out is not None:
            from ..report.sensitivity_plots import plot_sensitivity

            chart = plot_sensitivity(report.ranked(), metric, out, target, directions=direction)
        if json_out:
            data = report.to_dict()
            for row in data["parameters"]:
                row["improvement_direction"] = direction[row["parameter"]]
            if target is not None:
                offered = {r.parameter: factor_offered(r, direction[r.parameter]) for r in report.rows}
                for row in data["parameters"]:
                    row["factor_offered"] = offered[row["parameter"]]
            data["chart"] = None if chart is None else str(chart)
            print_json(data)
            return
        from rich.console import Console  # tables only: --json never loads rich
        from rich.table import Table

        table = Table(title=run_title(f"sensitivity of {metric} = {report.value:.5g}" + (f" (target {target:g})" if target is not None else ""),
                                      scenario, overrides, distance_km=distance_km))
        table.add_column("#", justify="right")
        table.add_column("parameter", no_wrap=True)
        table.add_column("value", justify="right")
        table.add_column("elasticity", justify="right")
        if target is not None:
            table.add_column("factor needed", justify="right")
            table.add_column("new value", justify="right")
        rows = report.ranked_by_factor() if target is not None else report.ranked()
        if target is not None:  # improvements first; set-up choices, constants and worsening factors after
            rows = sorted(rows, key=lambda r: not factor_offered(r, direction[r.parameter]))
        for i, r in enumerate(rows, 1):
            e = "n/a" if r.elasticity is None else f"{r.elasticity:+.4f}"
            cells = [str(i), r.parameter, f"{r.value:.4g}", e]
            if target is not None:
                if factor_offered(r, direction[r.parameter]):
                    cells += [f"×{r.factor:.4g}", f"{r.new_value:.4g}"]
                else:
                    text = factor_text(r, direction[r.parameter])
                    cells += [f"[red]{text}[/red]" if text == "unreachable" else f"[dim]{text}[/dim]", "-"]
            table.add_row(*cells)
        console = Console()
        print_table(table, console)
        if chart is not None:
            console.print(f"chart: {chart}")

    @app.command("report")
    @handle_errors
    def report(
        results: Path = typer.Argument(..., help="Sweep results (.parquet, written by qrepeater sweep)."),
        out: Path = typer.Option(Path("sweep-report"), "--out", "-o", help="Folder for report.html and its plots."),
    ) -> None:
        """Self-contained HTML report of a sweep (summary, plots, results, specification)."""
        from ..report.html import write_sweep_report

        input_file("RESULTS", results, "results file (.parquet, from qrepeater sweep)")
        output_folder("--out", out, "a folder for the report")
        path = write_sweep_report(results, out)
        typer.echo(str(path))
