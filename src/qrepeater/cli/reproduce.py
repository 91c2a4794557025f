"""`qrepeater reproduce ustc2026`: the reference system's published figures against the model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .common import JsonOption, fail, handle_errors, print_json

TARGETS = {"ustc2026": "ustc2026"}


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    @handle_errors
    def reproduce(
        target: str = typer.Argument(..., help="Published system to reproduce: ustc2026."),
        out: Path = typer.Option(Path("reproduce-ustc2026"), "--out", "-o", help="Folder for plots and results.json."),
        json_out: bool = JsonOption,
        no_plots: bool = typer.Option(False, "--no-plots", help="Skip the plots."),
        html: bool = typer.Option(True, "--html/--no-html", help="Also write the self-contained HTML report DIR/report.html."),
    ) -> None:
        """Compare every published figure of a reference system with the model; write plots.

        Exits 1 if a [P] (published) figure falls outside its error bar.
        """
        if target not in TARGETS:
            fail(f"unknown target {target!r}; available: {', '.join(TARGETS)}")
        from ..builders import link_metrics
        from ..config import load_preset, preset_data
        from ..files import write_json_atomic
        from ..validation import reproduce as run_reproduction

        preset = TARGETS[target]
        rows = run_reproduction(preset)
        payload = {"target": target, "preset": preset, "rows": [r.to_dict() for r in rows]}
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
        failed_p = [r for r in rows if r.figure.grade == "P" and not r.within]
        if json_out:
            print_json(payload)
        else:
            table = Table(title=f"qrepeater reproduce {target}")
            for col, just in (("quantity", "left"), ("model", "right"), ("paper", "right"), ("error bar", "right"), ("grade", "center"), ("within?", "center")):
                table.add_column(col, justify=just)
            for r in rows:
                f = r.figure
                unit = f" {f.unit}" if f.unit else ""
                table.add_row(
                    f.quantity,
                    f"{r.model:.4g}{unit}",
                    f"{f.paper_display()}{unit}",
                    f.error_text() + (f" ({f.note})" if f.note else ""),
                    f.grade,
                    "[green]yes[/green]" if r.within else "[red]NO[/red]",
                )
            console = Console(width=max(Console().width, 130))
            console.print(table)
            console.print(
                f"results: {out / 'results.json'}" + (f"; plots: {', '.join(plots)}" if plots else "") + (f"; report: {payload['report']}" if "report" in payload else "")
            )
        if failed_p:
            raise typer.Exit(1)
