"""`qrepeater sweep`, `plot`, `sensitivity` and `report`: parameter sweeps, their plots and reports,
and "which hardware improvement buys the most"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    fail,
    handle_errors,
    print_json,
)


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @handle_errors
    def sweep(
        spec_file: Path = typer.Argument(..., help="Sweep specification (TOML): base scenario, [parameters] grid, metrics, seed."),
        out: Path = typer.Option(Path("sweep.parquet"), "--out", "-o", help="Tidy Parquet results (one row per point)."),
        workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w", help="Local worker processes (1: in-process, no cluster)."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Use an existing dask scheduler, e.g. tcp://host:8786."),
        connect_timeout: float = typer.Option(15.0, "--connect-timeout", help="Seconds to try to reach --scheduler."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted sweep from <out>.parts/."),
        netcdf: Optional[Path] = typer.Option(None, "--netcdf", help="Also write the metrics as an xarray/netCDF cube."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
        json_out: bool = JsonOption,
    ) -> None:
        """Run a parameter sweep on dask (local cluster or --scheduler); every point is committed as
        it finishes, so --resume after a crash loses and repeats nothing."""
        from ..studies.sweep_runner import run_sweep
        from ..studies.sweep_spec import load_sweep

        spec = load_sweep(spec_file)
        outcome = run_sweep(
            spec,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            netcdf=netcdf,
            progress=not (no_progress or json_out),
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
        Console(stderr=True).print(msg)

    @app.command("plot")
    @handle_errors
    def plot(
        results: Path = typer.Argument(..., help="Sweep results (.parquet)."),
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

        df = read_results(results)
        path = plot_sweep(df, x, y, out, hue=hue, logx=logx, logy=logy)
        typer.echo(str(path))

    @app.command("sensitivity")
    @handle_errors
    def sensitivity_cmd(
        metric: str = typer.Option(..., "--metric", "-m", help="Metric to improve, e.g. link_efficiency, rate_hz, secret_key_rate_bps."),
        target: Optional[float] = typer.Option(None, "--target", help="Value to reach: rank by the factor each parameter alone needs."),
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        engine: str = typer.Option("link", "--engine", help="link | exact | montecarlo."),
        distance_km: Optional[float] = typer.Option(None, "--distance-km", help="Total distance (default: the scenario's link.length_km)."),
        segments: int = typer.Option(1, "--segments", help="Elementary links of the chain."),
        multiplex: int = typer.Option(1, "--multiplex", help="Memories per node per link side."),
        cutoff_s: Optional[float] = typer.Option(None, "--cutoff-s", help="Memory cut-off (s)."),
        pairs: int = typer.Option(2000, "--pairs", help="Monte Carlo pairs."),
        per_node: bool = typer.Option(False, "--per-node", help="Treat node A and node B parameters separately."),
        include_setup: bool = typer.Option(False, "--include-setup", help="Also rank set-up choices (link.* operating point and geometry, wavelengths)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Bar chart of the elasticities (.png/.svg)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Rank every hardware parameter by the elasticity d ln M / d ln p of a metric (and, with
        --target, by the improvement factor it alone would need)."""
        from ..studies.point import check_option
        from ..studies.sensitivity import sensitivity

        scenario = build_from_options(preset, config, overrides)
        options = {
            "engine": check_option("engine", engine, "--engine"),
            "segments": check_option("segments", segments, "--segments"),
            "multiplex": check_option("multiplex", multiplex, "--multiplex"),
            "cutoff_s": None if cutoff_s is None else check_option("cutoff_s", cutoff_s, "--cutoff-s"),
            "pairs": check_option("pairs", pairs, "--pairs"),
        }
        if distance_km is not None:
            options["distance_km"] = check_option("distance_km", distance_km, "--distance-km")
        report = sensitivity(scenario, metric, options, target, tie_nodes=not per_node, include_setup=include_setup)
        chart = None
        if out is not None:
            from ..report.sweep_plots import plot_sensitivity

            chart = plot_sensitivity(report.ranked(), metric, out, target)
        if json_out:
            data = report.to_dict()
            data["chart"] = None if chart is None else str(chart)
            print_json(data)
            return
        table = Table(title=f"sensitivity of {metric} = {report.value:.5g}" + (f" (target {target:g})" if target is not None else "") + f" — {scenario.name}")
        table.add_column("#", justify="right")
        table.add_column("parameter", no_wrap=True)
        table.add_column("value", justify="right")
        table.add_column("elasticity", justify="right")
        if target is not None:
            table.add_column("factor needed", justify="right")
            table.add_column("new value", justify="right")
        rows = report.ranked_by_factor() if target is not None else report.ranked()
        for i, r in enumerate(rows, 1):
            e = "n/a" if r.elasticity is None else f"{r.elasticity:+.4f}"
            cells = [str(i), r.parameter, f"{r.value:.4g}", e]
            if target is not None:
                if r.factor is None:
                    cells += ["[red]unreachable[/red]", "-"]
                else:
                    cells += [f"×{r.factor:.4g}", f"{r.new_value:.4g}"]
            table.add_row(*cells)
        console = Console(width=max(Console().width, 120))
        console.print(table)
        if chart is not None:
            console.print(f"chart: {chart}")

    @app.command("report")
    @handle_errors
    def report(
        results: Path = typer.Argument(..., help="Sweep results (.parquet)."),
        out: Path = typer.Option(Path("sweep-report"), "--out", "-o", help="Folder for report.html and its plots."),
    ) -> None:
        """Self-contained HTML report of a sweep (summary, plots, results, specification)."""
        from ..report.html import write_sweep_report

        if out.exists() and not out.is_dir():
            fail(f"--out {out}: exists and is not a folder")
        path = write_sweep_report(results, out)
        typer.echo(str(path))
