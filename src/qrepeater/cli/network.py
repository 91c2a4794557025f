"""`qrepeater network`: the event-driven engine on a topology file (see docs/events_engine.md).

Bounded work: the engine runs until every consumer has ``--pairs`` pairs or the simulated time reaches
``--duration-s``. Before it starts, the number of events is bounded from above by the heralds the links
can produce (every memory pair of a link attempting at ``p/τ``) × :data:`EVENTS_PER_HERALD`; a
request above ``--max-events`` is refused in one line. A ``--pairs`` run is also given a simulated-time
cap at which that bound reaches ``--max-events``: if the pairs are not in by then, the command stops
with one line saying so (nothing is written).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from ..errors import ParameterError
from .budget import MemoryLimitOption, check_memory, check_work
from .common import JsonOption, count, handle_errors, positive_float, print_json
from .paths import distinct, input_file, output_file
from .options import fresh_seed, seed_option
from .progress import Progress, ProgressOption, progress_wanted
from .tables import print_table

DEFAULT_DURATION_S = 100.0
#: default --max-events, about 1-2 minutes of work on the path the run takes: the compiled agents (the
#: default) run ~4-8e6 events per CPU-s, the Python agents (used for --trace/--plot) ~1.5-3.6e5
#: (benchmarks/RESULTS.md, "Compiled general networks")
DEFAULT_MAX_EVENTS = 5 * 10**8
DEFAULT_MAX_EVENTS_RECORDING = 2 * 10**7
#: events per herald, an upper estimate (measured ~2 on chains: herald + swap/delivery + messages)
EVENTS_PER_HERALD = 3
#: memory of one recorded trace row or timeline point (bytes, Python tuples)
TRACE_BYTES_PER_EVENT = 400
#: memory of one link unit (a memory pair attempting; its Python objects and pending events), bytes
UNIT_BYTES = 2000


def herald_rate_bound_hz(model) -> float:
    """Upper bound on heralds per second: every link attempts with all the memory pairs its two end
    nodes have, each herald a Bernoulli(p) per attempt period τ."""
    rate = 0.0
    for link in model.links.values():
        pairs = min(int(model.memories[link.a]), int(model.memories[link.b]))
        rate += pairs * float(link.success_probability) / float(link.attempt_duration_s)
    return rate


def register(app: typer.Typer) -> None:
    @app.command("network")
    @handle_errors(interrupted="nothing was written (the trace and plot are written at the end); run it again, "
                               "with a shorter --duration-s or fewer --pairs for a shorter run")
    def network(
        topology: str = typer.Argument(..., help="Topology TOML file (nodes, links, consumers, hardware, protocol, lasers)."),
        duration_s: Optional[float] = typer.Option(None, "--duration-s", parser=positive_float,
                                                   help="Simulated time (s); default 100 s unless --pairs is given."),
        pairs: Optional[int] = typer.Option(None, "--pairs", parser=count,
                                            help="Delivered pairs to sample per consumer: stop once every consumer has them."),
        seed: Optional[int] = seed_option("The run (and its trace) is repeated bit for bit; the seed used is reported."),
        json_out: bool = JsonOption,
        trace: Optional[str] = typer.Option(None, "--trace", help="Write the event trace to this Parquet file (.parquet)."),
        plot: Optional[str] = typer.Option(None, "--plot", help="Write a timeline image (.png, .svg or .pdf): memory occupancy per node, delivered fidelities."),
        max_events: Optional[int] = typer.Option(
            None, "--max-events", parser=count,
            help=f"Work limit: refuse (or stop) a run estimated to need more events (default {DEFAULT_MAX_EVENTS:.0e}, "
                 f"{DEFAULT_MAX_EVENTS_RECORDING:.0e} with --trace/--plot, which run the slower Python agents: "
                 "1-2 minutes either way)."),
        memory_limit_gb: Optional[float] = MemoryLimitOption,
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Simulate a quantum network event by event: classical latency, shared memories, cut-offs,
        independent lasers; per-consumer rate and fidelity, memory occupancy, message counts."""
        from ..builders.topology import load_topology
        from ..engines.events import simulate

        input_file("TOPOLOGY", topology, "topology TOML file", text=True)
        if trace is not None:
            output_file("--trace", trace, "a trace file", suffixes=(".parquet",))
        if plot is not None:
            output_file("--plot", plot, "a timeline image", suffixes=(".png", ".svg", ".pdf"))
        distinct(("TOPOLOGY", topology), ("--trace", trace), ("--plot", plot))
        if duration_s is None and pairs is None:
            duration_s = DEFAULT_DURATION_S
        recording = trace is not None or plot is not None
        if max_events is None:
            max_events = DEFAULT_MAX_EVENTS_RECORDING if recording else DEFAULT_MAX_EVENTS
        model = load_topology(topology)
        units = sum(int(u) for u in model.units.values())
        check_memory("TOPOLOGY", topology, units * UNIT_BYTES, memory_limit_gb, f"its {units} link units (memory pairs)")
        check_work("TOPOLOGY", topology, units * EVENTS_PER_HERALD, max_events, "--max-events",
                   f"events to start its {units} link units")
        rate = herald_rate_bound_hz(model)
        events_per_s = EVENTS_PER_HERALD * rate
        cap_s = max_events / events_per_s if events_per_s > 0 else math.inf
        if duration_s is not None:
            check_work("--duration-s", duration_s, duration_s * events_per_s, max_events, "--max-events", "events")
        if pairs is not None:
            hops = min(len(r.nodes) - 1 for r in model.routes)
            check_work("--pairs", pairs, pairs * hops * EVENTS_PER_HERALD, max_events, "--max-events", "events")
        if recording:
            horizon = duration_s if duration_s is not None else cap_s
            check_memory("--trace/--plot", trace or plot, min(horizon * events_per_s, max_events) * TRACE_BYTES_PER_EVENT,
                         memory_limit_gb, "recording every event")
        run_s = duration_s if duration_s is not None else cap_s
        seed = fresh_seed(seed)
        goal = f"{pairs} pairs per consumer" if pairs is not None else f"{duration_s:g} s simulated"
        with Progress("network", f"event engine on {Path(topology).name} until {goal}"
                      + (", recording every event" if recording else " (its first run after install compiles the kernels, ~20 s)"),
                      progress_wanted(progress)):
            run = simulate(model, pairs=pairs, duration_s=None if math.isinf(run_s) else run_s, seed=seed,
                           trace=recording, timeline=plot is not None)
        if duration_s is None and any(r.pairs < pairs for r in run.routes):
            got = min(r.pairs for r in run.routes)
            raise ParameterError(
                "--pairs", pairs,
                f"a number of pairs reached within --max-events {max_events:.3g} events (stopped at {run.simulated_time_s:.4g} s "
                f"simulated with {got} pairs for the slowest consumer; nothing written); raise --max-events, or give --duration-s",
            )
        if trace is not None:
            run.write_trace(trace)
        if plot is not None:
            from ..report.network_plots import plot_network_timeline

            plot_network_timeline(run, plot, title=f"Memories holding a pair, per node: {Path(topology).name}, "
                                                   f"{run.simulated_time_s:.4g} s simulated, seed {seed}")
        out = run.to_dict()
        out["seed"] = seed
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
        from rich.console import Console  # tables only: --json never loads rich
        from rich.table import Table

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
        print_table(t, console)
        lt = Table(title="links")
        for col in ("link", "km", "p/attempt", "attempt (s)", "heralded F", "laser coherence"):
            lt.add_column(col)
        for l in model.links.values():
            lt.add_row(f"{l.a}-{l.b}", f"{l.length_km:.4g}", f"{l.success_probability:.4g}", f"{l.attempt_duration_s:.4g}",
                       f"{l.fresh_fidelity:.4f}", f"{l.laser_coherence:.4f}")
        print_table(lt, console)
        ot = Table(title="memory occupancy (time average / peak / memories)")
        for col in ("node", "mean", "peak", "memories"):
            ot.add_column(col)
        for name, o in run.occupancy.items():
            ot.add_row(name, f"{o['mean_occupied']:.3f}", str(o["peak_occupied"]), str(o["memories"]))
        print_table(ot, console)
        console.print(", ".join(f"{k}={v}" for k, v in run.counts.items()))
        console.print(f"{run.events} events in {run.wall_time_s:.3g} s wall ({run.events_per_wall_s:.3g} events/s)")
