"""`qrepeater reproduce EXPERIMENT` and `qrepeater calibrate PRESET`: the model against published figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .common import JsonOption, fail, handle_errors, print_json
from .paths import output_folder

ROLE_STYLE = {"prediction": "bold", "fitted": "dim", "derived": "dim", "formula": ""}


def _fmt(value, sigma=None) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if not sigma else f"{value:.4g} ± {sigma:.2g}"


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    @handle_errors
    def reproduce(
        experiment: str = typer.Argument(..., help="Published experiment to reproduce (e.g. ustc2026)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for plots, results.json and report.html [default: reproduce-EXPERIMENT]."),
        json_out: bool = JsonOption,
        no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots."),
        html: bool = typer.Option(True, "--html/--no-html", help="Also write the self-contained HTML report DIR/report.html."),
        strict: bool = typer.Option(False, "--strict", help="Exit 1 if an out-of-sample prediction misses its figure (|z| > 2)."),
    ) -> None:
        """Every published figure of an experiment beside the model, with its role and z-score.

        Rows are `prediction` (the evidence), `fitted` (calibration targets), `derived` (identities of
        other rows) or `formula` (published formulas at published inputs); the headline counts
        predictions only.
        """
        from ..validation import list_experiments, load_experiment

        if experiment not in list_experiments():
            fail(f"unknown experiment {experiment!r}; available: {', '.join(list_experiments())}")
        from ..builders import link_metrics
        from ..config import load_preset, preset_data
        from ..files import write_json_atomic
        from ..validation import reproduce as run_reproduction

        out = out if out is not None else Path(f"reproduce-{experiment}")
        output_folder("--out", out, "a folder for the plots, results.json and report.html")
        preset = load_experiment(experiment).preset
        result = run_reproduction(preset)
        payload = result.to_dict()
        plots: list[str] = []
        if not no_plots:
            from ..report import plots as P
            from ..validation import curves

            data = preset_data(preset)
            m = link_metrics(load_preset(preset))
            delivery = curves.delivery_fidelity_vs_link_efficiency(m.heralded_fidelity)
            plots = [
                str(P.plot_rate_and_fidelity_vs_alpha(curves.rate_and_fidelity_vs_alpha(data), out / "rate_fidelity_vs_alpha.png")),
                str(P.plot_stored_fidelity(curves.stored_fidelity_vs_time(data), out / "stored_fidelity_vs_time.png")),
                str(P.plot_delivery(delivery, m.link_efficiency, m.heralded_fidelity, out / "deterministic_delivery.png")),
            ]
        payload["plots"] = plots
        write_json_atomic(out / "results.json", payload)
        if html:
            from ..report.html import write_reproduce_report

            payload["report"] = str(write_reproduce_report(out, payload, plots, preset_data(preset)))
        if json_out:
            print_json(payload)
        else:
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
            console = Console(width=max(Console().width, 140))
            console.print(table)
            console.print(payload["headline"])
            console.print(f"results: {out / 'results.json'}" + (f"; plots: {', '.join(plots)}" if plots else "") + (f"; report: {payload['report']}" if "report" in payload else ""))
        if strict and payload["summary"]["predictions_within"] < payload["summary"]["predictions"]:
            raise typer.Exit(1)

    @app.command("calibrate")
    @handle_errors
    def calibrate(
        preset: str = typer.Argument(..., help="Preset whose [calibration] section declares free parameters and targets (e.g. ustc2026)."),
        json_out: bool = JsonOption,
        leave_one_out: bool = typer.Option(True, "--loo/--no-loo", help="Also refit without each target and predict it."),
    ) -> None:
        """Fit a preset's unpublished parameters to its declared published targets (weighted least squares).

        Reports each parameter's value, standard uncertainty and the targets that fix it, χ²/dof, and the
        leave-one-out prediction of every target.
        """
        from ..validation import calibrate as run_calibration

        report = run_calibration(preset, leave_one_out=leave_one_out).to_dict()
        if json_out:
            print_json(report)
            return
        console = Console(width=max(Console().width, 140))
        table = Table(title=f"qrepeater calibrate {preset}: fitted parameters")
        for col in ("parameter", "prior", "fitted ± 1σ", "shipped", "fixed by"):
            table.add_column(col)
        for p in report["parameters"]:
            table.add_row(p["path"] + (f" (= {', '.join(p['tied'])})" if p["tied"] else ""), _fmt(p["prior"]), _fmt(p["value"], p["uncertainty"]), _fmt(p["shipped"]), ", ".join(p["targets"]))
        console.print(table)
        dof = report["dof"]
        console.print(f"χ² = {report['chi2']:.3g} over {dof} degrees of freedom" + ("" if dof > 0 else " (as many parameters as targets: χ² is 0 by construction)"))
        if report["leave_one_out"]:
            loo = Table(title="leave-one-out: each target predicted by the fit without it")
            for col in ("target", "predicted ± 1σ", "paper ± 1σ", "z"):
                loo.add_column(col)
            for r in report["leave_one_out"]:
                loo.add_row(r["figure"], _fmt(r["predicted"], r["uncertainty"]), _fmt(r["paper"], r["paper_uncertainty"]), f"{r['z']:+.2f}")
            console.print(loo)
