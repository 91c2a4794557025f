"""`qrepeater reproduce EXPERIMENT` and `qrepeater calibrate PRESET`: the model against published figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import JsonOption, fail, handle_errors, print_json
from .paths import output_folder
from .progress import Progress, ProgressOption, progress_wanted
from .tables import print_table

ROLE_STYLE = {"prediction": "bold", "fitted": "dim", "derived": "dim", "formula": ""}


def _fmt(value, sigma=None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if not sigma else f"{value:.4g} ± {sigma:.2g}"


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    @handle_errors(interrupted="files already in --out are complete (each is written atomically), the rest were not "
                               "written; run reproduce again to write them all")
    def reproduce(
        experiment: Optional[str] = typer.Argument(None, help="Published experiment to reproduce (see --list)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for plots, results.json and the HTML report [default: reproduce-EXPERIMENT, or reproduce-all]."),
        json_out: bool = JsonOption,
        list_: bool = typer.Option(False, "--list", help="List the experiments with reference data and exit."),
        all_: bool = typer.Option(False, "--all", help="Run every experiment and write the suite page DIR/index.html with the pull plot."),
        no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots."),
        html: bool = typer.Option(True, "--html/--no-html", help="Also write the self-contained HTML report."),
        strict: bool = typer.Option(False, "--strict", help="Exit 1 if an out-of-sample prediction misses its figure (|z| > 2)."),
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Every published figure of an experiment beside the model, with its role and z-score.

        Rows are `prediction` (the evidence), `fitted` (calibration targets), `derived` (identities of
        other rows) or `formula` (published formulas at published inputs); the headline counts
        predictions only. `--all` runs the whole suite; `--list` names the experiments.
        """
        from ..validation import list_experiments, load_experiment

        if list_:
            rows = [{"name": e.name, "title": e.title, "platform": e.platform, "source": e.source} for e in map(load_experiment, list_experiments())]
            if json_out:
                print_json(rows)
            else:
                from rich.table import Table

                table = Table(title="experiments with reference data")
                for col in ("name", "platform", "title", "source"):
                    table.add_column(col)
                for r in rows:
                    table.add_row(r["name"], r["platform"], r["title"], r["source"])
                print_table(table)
            return
        if all_:
            if experiment is not None:
                fail(f"give either an experiment ({experiment!r}) or --all, not both")
            _suite(out if out is not None else Path("reproduce-all"), json_out, no_plots, html, strict, progress_wanted(progress))
            return
        if experiment is None:
            fail(f"name an experiment, or --list / --all; available: {', '.join(list_experiments())}")
        if experiment not in list_experiments():
            fail(f"unknown experiment {experiment!r}; available: {', '.join(list_experiments())}")
        from ..config import preset_data
        from ..files import write_json_atomic
        from ..validation import reproduce as run_reproduction

        out = out if out is not None else Path(f"reproduce-{experiment}")
        output_folder("--out", out, "a folder for the plots, results.json and report.html")
        preset = load_experiment(experiment).preset
        with Progress("reproduce", f"{experiment}: the model's figures with propagated uncertainties",
                      progress_wanted(progress)) as bar:
            payload = run_reproduction(preset).to_dict()
            if not no_plots:
                bar.status(f"{experiment}: plots")
            plots = [] if no_plots else _plots(payload, preset, out)
            payload["plots"] = plots
            write_json_atomic(out / "results.json", payload)
            if html:
                from ..report.html import write_reproduce_report

                bar.status(f"{experiment}: HTML report")
                payload["report"] = str(write_reproduce_report(out, payload, plots, preset_data(preset)))
        if json_out:
            print_json(payload)
        else:
            from rich.console import Console  # tables only: --json never loads rich

            _print_rows(payload, experiment)
            Console().print(f"results: {out / 'results.json'}" + (f"; plots: {', '.join(plots)}" if plots else "") + (f"; report: {payload['report']}" if "report" in payload else ""))
        if strict and payload["summary"]["predictions_within"] < payload["summary"]["predictions"]:
            raise typer.Exit(1)

    def _plots(payload: dict, preset: str, out: Path) -> list[str]:
        """The experiment's pull plot; for an SPEP hardware preset also the link curves."""
        from ..builders import link_metrics
        from ..config import HardwareScenario, load_preset, preset_data
        from ..report import plots as P

        from ..validation import load_experiment

        # each figure's acceptable |z| as the reference data record it (2 unless they say why more), as in --all
        bounds = {f.key: f.z_bound for f in load_experiment(payload["experiment"]).figures if f.z_bound}
        pulls = [{"experiment": payload["experiment"], "name": r["name"], "z": r["z"], "bound": bounds.get(r["name"], 2.0),
                  "role": r["role"]} for r in payload["figures"] if r["z"] is not None]
        plots = [str(P.plot_pulls(pulls, out / "pulls.png", title=f"{payload['experiment']}: every figure's pull (all roles)"))]
        scenario = load_preset(preset)
        if isinstance(scenario, HardwareScenario) and scenario.link.protocol == "spep":
            from ..validation import curves

            data = preset_data(preset)
            m = link_metrics(scenario)
            delivery = curves.delivery_fidelity_vs_link_efficiency(m.heralded_fidelity)
            plots += [
                str(P.plot_rate_and_fidelity_vs_alpha(curves.rate_and_fidelity_vs_alpha(data), out / "rate_fidelity_vs_alpha.png")),
                str(P.plot_stored_fidelity(curves.stored_fidelity_vs_time(data), out / "stored_fidelity_vs_time.png")),
                str(P.plot_delivery(delivery, m.link_efficiency, m.heralded_fidelity, out / "deterministic_delivery.png")),
            ]
        return plots

    def _print_rows(payload: dict, experiment: str) -> None:
        from rich.console import Console  # tables only: --json never loads rich
        from rich.table import Table

        table = Table(title=f"qrepeater reproduce {experiment}")
        for col, just in (("quantity", "left"), ("model ± 1σ", "right"), ("paper ± 1σ", "right"), ("z", "right"), ("role", "left"), ("grade", "center")):
            table.add_column(col, justify=just)
        for r in payload["figures"]:
            unit = f" {r['unit']}" if r["unit"] else ""
            paper = _fmt(r["paper"], r["paper_uncertainty"]) if r["paper_uncertainty"] is not None else f"> {r['paper']:.3g}"
            z = "" if r["z"] is None else f"{r['z']:+.2f}"
            if r["role"] == "prediction":
                z = f"[green]{z}[/green]" if r["within"] else f"[red]{z or 'NO'}[/red]"
            table.add_row(r["quantity"], _fmt(r["model"], r["model_uncertainty"]) + unit, paper + unit, z, r["role"], r["grade"], style=ROLE_STYLE[r["role"]])
        console = Console()
        print_table(table, console)
        console.print(payload["headline"])

    def _suite(out: Path, json_out: bool, no_plots: bool, html: bool, strict: bool, show: bool) -> None:
        from ..files import write_json_atomic
        from ..validation import list_experiments, reproduce_all

        output_folder("--out", out, "a folder for suite.json and index.html")
        names = list_experiments()
        with Progress("reproduce --all", f"{len(names)} experiments ({', '.join(names)})", show) as bar:
            suite = reproduce_all()
            plot = None
            if not no_plots:
                from ..report.plots import plot_pulls

                bar.status("pull plot")
                plot = str(plot_pulls(suite["pulls"], out / "pulls.png", title="Every out-of-sample prediction, all experiments"))
            suite["plots"] = [plot] if plot else []
            write_json_atomic(out / "suite.json", suite)
            if html:
                from ..report.html import write_suite_report

                bar.status("HTML suite page")
                suite["report"] = str(write_suite_report(out, suite, plot))
        if json_out:
            print_json(suite)
        else:
            from rich.console import Console  # tables only: --json never loads rich
            from rich.table import Table

            table = Table(title="qrepeater reproduce --all")
            for col in ("experiment", "platform", "predictions within 2σ", "fitted", "derived", "formula"):
                table.add_column(col)
            for e in suite["experiments"]:
                s = e["summary"]
                table.add_row(e["experiment"], e["platform"], f"{s['predictions_within']} / {s['predictions']}", str(s["fitted"]), str(s["derived"]), str(s["formula"]))
            console = Console()
            print_table(table, console)
            t = suite["totals"]
            console.print(f"{t['predictions_within']} of {t['predictions']} out-of-sample predictions within 2σ; {t['fitted']} figures used for calibration")
            console.print(f"results: {out / 'suite.json'}" + (f"; report: {suite['report']}" if "report" in suite else ""))
        t = suite["totals"]
        if strict and t["predictions_within"] < t["predictions"]:
            raise typer.Exit(1)

    @app.command("calibrate")
    @handle_errors
    def calibrate(
        preset: str = typer.Argument(..., help="Preset whose [calibration] section declares free parameters and targets (e.g. ustc2026)."),
        json_out: bool = JsonOption,
        leave_one_out: bool = typer.Option(True, "--loo/--no-loo", help="Also refit without each target and predict it."),
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Fit a preset's unpublished parameters to its declared published targets (weighted least squares).

        Reports each parameter's value, standard uncertainty and the targets that fix it, χ²/dof, and the
        leave-one-out prediction of every target.
        """
        from ..validation import calibrate as run_calibration

        with Progress("calibrate", f"{preset}: weighted least-squares fit" + (" and leave-one-out refits" if leave_one_out else ""),
                      progress_wanted(progress)):
            report = run_calibration(preset, leave_one_out=leave_one_out).to_dict()
        if json_out:
            print_json(report)
            return
        from rich.console import Console  # tables only: --json never loads rich
        from rich.table import Table

        console = Console()
        table = Table(title=f"qrepeater calibrate {preset}: fitted parameters")
        for col in ("parameter", "prior", "fitted ± 1σ", "shipped", "fixed by"):
            table.add_column(col)
        for p in report["parameters"]:
            table.add_row(p["path"] + (f" (= {', '.join(p['tied'])})" if p["tied"] else ""), _fmt(p["prior"]), _fmt(p["value"], p["uncertainty"]), _fmt(p["shipped"]), ", ".join(p["targets"]))
        print_table(table, console)
        dof = report["dof"]
        console.print(f"χ² = {report['chi2']:.3g} over {dof} degrees of freedom" + ("" if dof > 0 else " (as many parameters as targets: χ² is 0 by construction)"))
        if report["leave_one_out"]:
            loo = Table(title="leave-one-out: each target predicted by the fit without it")
            for col in ("target", "predicted ± 1σ", "paper ± 1σ", "z"):
                loo.add_column(col)
            for r in report["leave_one_out"]:
                loo.add_row(r["figure"], _fmt(r["predicted"], r["uncertainty"]), _fmt(r["paper"], r["paper_uncertainty"]), f"{r['z']:+.2f}")
            print_table(loo, console)
