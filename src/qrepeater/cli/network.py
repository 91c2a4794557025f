"""`qrepeater network`: the event-driven engine on a topology file (see docs/events_engine.md)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .common import JsonOption, fail, handle_errors, print_json


def register(app: typer.Typer) -> None:
    @app.command("network")
    @handle_errors
    def network(
        topology: str = typer.Argument(..., help="Topology TOML file (nodes, links, consumers, hardware, protocol, lasers)."),
        duration_s: Optional[float] = typer.Option(None, "--duration-s", help="Simulated time (s); default 100 s unless --pairs is given."),
        pairs: Optional[int] = typer.Option(None, "--pairs", help="Stop once every consumer received this many pairs."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed -> same run, bit for bit)."),
        json_out: bool = JsonOption,
        trace: Optional[str] = typer.Option(None, "--trace", help="Write the event trace to this Parquet file."),
        plot: Optional[str] = typer.Option(None, "--plot", help="Write a timeline PNG (memory occupancy, deliveries)."),
    ) -> None:
        """Simulate a quantum network event by event: classical latency, shared memories, cut-offs,
        independent lasers; per-consumer rate and fidelity, memory occupancy, message counts."""
        from ..builders.topology import load_topology
        from ..engines.events import simulate

        if duration_s is None and pairs is None:
            duration_s = 100.0
        if duration_s is not None and not duration_s > 0:
            fail(f"--duration-s = {duration_s!r} is out of range; allowed: (0, inf)")
        if pairs is not None and pairs < 1:
            fail(f"--pairs = {pairs!r} is out of range; allowed: an integer >= 1")
        for opt, path in (("--trace", trace), ("--plot", plot)):
            if path is not None:
                import os

                folder = os.path.dirname(os.path.abspath(path))
                if not os.path.isdir(folder):
                    fail(f"{opt} {path}: folder {folder} does not exist")
        model = load_topology(topology)
        run = simulate(model, pairs=pairs, duration_s=duration_s, seed=seed,
                       trace=trace is not None or plot is not None, timeline=plot is not None)
        if trace is not None:
            run.write_trace(trace)
        if plot is not None:
            run.plot_timeline(plot)
        out = run.to_dict()
        # DI-QKD consumers: asymptotic key per round from the mean S and QBER of the delivered pairs
        # (Pironio et al., NJP 11, 045021 (2009), qrepeater.qkd.asymptotic_rate) and bits per second
        from ..qkd import asymptotic_rate

        for entry, r in zip(out["consumers"], run.routes):
            if r.kind == "diqkd" and r.pairs:
                key = asymptotic_rate(float(min(r.mean_chsh, 2 * 2**0.5)), float(min(max(r.mean_qber, 0.0), 0.5)))
                entry["asymptotic_key_per_pair"] = key
                entry["asymptotic_key_rate_bps"] = key * r.rate_hz
        out["links"] = [
            {"a": l.a, "b": l.b, "length_km": l.length_km, "success_probability": l.success_probability,
             "attempt_duration_s": l.attempt_duration_s, "heralded_fidelity": l.fresh_fidelity,
             "laser_coherence": l.laser_coherence, "laser_delay_s": l.laser_delay_s,
             "classical_delay_s": l.classical_delay_s}
            for l in model.links.values()
        ]
        if json_out:
            print_json(out)
            return
        console = Console()
        t = Table(title=f"network: {topology} ({run.simulated_time_s:.4g} s simulated, seed {seed})")
        for col in ("consumer", "route", "pairs", "rate (Hz)", "mean F", "F 95% CI", "CHSH", "QBER", "key/pair"):
            t.add_column(col)
        for r, entry in zip(run.routes, out["consumers"]):
            key = entry.get("asymptotic_key_per_pair")
            t.add_row(r.name, "-".join(r.nodes), str(r.pairs), f"{r.rate_hz:.4g}", f"{r.mean_fidelity:.4f}",
                      f"[{r.fidelity_ci95[0]:.4f}, {r.fidelity_ci95[1]:.4f}]",
                      "-" if r.mean_chsh is None else f"{r.mean_chsh:.4f}",
                      "-" if r.mean_qber is None else f"{r.mean_qber:.4f}",
                      "-" if key is None else f"{key:.4g}")
        console.print(t)
        lt = Table(title="links")
        for col in ("link", "km", "p/attempt", "attempt (s)", "heralded F", "laser coherence"):
            lt.add_column(col)
        for l in model.links.values():
            lt.add_row(f"{l.a}-{l.b}", f"{l.length_km:.4g}", f"{l.success_probability:.4g}", f"{l.attempt_duration_s:.4g}",
                       f"{l.fresh_fidelity:.4f}", f"{l.laser_coherence:.4f}")
        console.print(lt)
        ot = Table(title="memory occupancy (time average / peak / memories)")
        for col in ("node", "mean", "peak", "memories"):
            ot.add_column(col)
        for name, o in run.occupancy.items():
            ot.add_row(name, f"{o['mean_occupied']:.3f}", str(o["peak_occupied"]), str(o["memories"]))
        console.print(ot)
        console.print(", ".join(f"{k}={v}" for k, v in run.counts.items()))
        console.print(f"{run.events} events in {run.wall_time_s:.3g} s wall ({run.events_per_wall_s:.3g} events/s)")
