"""Run the event engine: networks from a :class:`NetworkModel`, chains from a :class:`ChainSpec`.

:func:`run_chain_events` is the chain engine entry point (same :class:`ChainResult` as the exact and
Monte Carlo engines). A :class:`ChainSpec` maps onto a linear network with the closed-form engines'
conventions: all links attempt in lock-step from the start of a round, M multiplexed memories become
the per-attempt success probability 1 − (1 − p)^M, one link unit (2^rounds memory pairs) per hop,
the cut-off is rounded down to whole attempts, and a round ends when the end-to-end pair is delivered
(``restart = "per-delivery"``: then every memory is free and all links restart). Unlike those engines
the classical messages are simulated: a swap outcome reaches the ends after the fibre latency from
the swapping node, the end nodes hold the pair until every outcome arrived, and the next round starts
after the delivery — so with classical delay on, both the fidelity (storage while messages fly) and
the rate (rounds last longer) change; with zero delay the engines agree (``tests/test_events_chain.py``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ...errors import ParameterError
from ...files import atomic_path
from ...states import BellDiagonal
from ..metrics import ChainResult
from ..model import ChainSpec
from .network import LinkModel, NetworkModel, ProtocolConfig, Route
from .simulation import Simulation
from .trace import EVENT_NAMES

_Z95 = 1.959963984540054


def _ci(total: float, total_sq: float, n: int) -> tuple[float, float, float]:
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = total / n
    var = max(0.0, total_sq / n - mean * mean) * n / (n - 1) if n > 1 else 0.0
    half = _Z95 * math.sqrt(var / n)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class RouteResult:
    """What one consumer route received."""

    name: str
    nodes: tuple[str, ...]
    kind: str
    pairs: int
    rate_hz: float
    mean_fidelity: float
    fidelity_ci95: tuple[float, float]
    mean_waiting_time_s: float
    waiting_time_ci95: tuple[float, float]
    mean_correlators: tuple[float, float, float]
    mean_chsh: float | None = None
    mean_qber: float | None = None

    @property
    def mean_state(self) -> BellDiagonal:
        return BellDiagonal.from_correlators(*np.clip(self.mean_correlators, -1.0, 1.0))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "nodes": list(self.nodes),
            "kind": self.kind,
            "pairs": self.pairs,
            "rate_hz": self.rate_hz,
            "mean_fidelity": self.mean_fidelity,
            "fidelity_ci95": list(self.fidelity_ci95),
            "mean_waiting_time_s": self.mean_waiting_time_s,
            "waiting_time_ci95": list(self.waiting_time_ci95),
            "mean_correlators": {"xx": self.mean_correlators[0], "yy": self.mean_correlators[1], "zz": self.mean_correlators[2]},
            "mean_chsh": self.mean_chsh,
            "mean_qber": self.mean_qber,
        }


def _route_result(name, nodes, kind: str, n: int, fid_sums, wait_sums, corr_sums,
                  chsh_sum: float = 0.0, qber_sum: float = 0.0) -> RouteResult:
    """:class:`RouteResult` of a consumer from its running sums.

    ``fid_sums``, ``wait_sums``: (Σ, Σ²) of the delivered fidelities and waiting times; ``corr_sums``:
    Σ of the three correlators; ``chsh_sum``, ``qber_sum``: Σ of a DI-QKD consumer's S and QBER.
    """
    f, flo, fhi = _ci(fid_sums[0], fid_sums[1], n)
    w, wlo, whi = _ci(wait_sums[0], wait_sums[1], n)
    qkd = n > 0 and kind == "diqkd"
    return RouteResult(
        name=name,
        nodes=tuple(nodes),
        kind=kind,
        pairs=n,
        rate_hz=(1.0 / w) if n and w > 0 else 0.0,
        mean_fidelity=f,
        fidelity_ci95=(flo, fhi),
        mean_waiting_time_s=w,
        waiting_time_ci95=(wlo, whi),
        mean_correlators=tuple(float(c) / n for c in corr_sums) if n else (math.nan,) * 3,
        mean_chsh=(chsh_sum / n) if qkd else None,
        mean_qber=(qber_sum / n) if qkd else None,
    )


@dataclass(frozen=True)
class EventRun:
    """Result of :func:`simulate`.

    Attributes
    ----------
    routes : tuple of RouteResult
    simulated_time_s : float
    wall_time_s : float
    events : int
        Kernel events executed (heralds, messages, purification outcomes, cut-offs); swaps and
        deliveries are local actions inside them and are counted in ``counts``.
    counts : dict
        heralds, swaps, swap_failures, messages_sent/forwarded/dropped, purifications,
        purification_failures, cutoff_discards, deliveries, resets, classical_messages_purification.
    occupancy : dict
        Per node: memories, time-averaged number of memories holding a pair, peak.
    timeline : list of (time_s, node, occupied) or None
    trace : list of (time_s, event, node, route, pair_id, value) or None
    node_names : tuple of str
    """

    routes: tuple
    simulated_time_s: float
    wall_time_s: float
    events: int
    counts: dict
    occupancy: dict
    node_names: tuple
    seed: object = None
    timeline: list | None = field(default=None, repr=False)
    trace: list | None = field(default=None, repr=False)

    @property
    def events_per_wall_s(self) -> float:
        return self.events / self.wall_time_s if self.wall_time_s > 0 else math.inf

    @property
    def pairs_per_wall_s(self) -> float:
        n = sum(r.pairs for r in self.routes)
        return n / self.wall_time_s if self.wall_time_s > 0 else math.inf

    def to_dict(self) -> dict:
        return {
            "engine": "events",
            "simulated_time_s": self.simulated_time_s,
            "wall_time_s": self.wall_time_s,
            "events": self.events,
            "events_per_wall_s": self.events_per_wall_s,
            "pairs_per_wall_s": self.pairs_per_wall_s,
            "counts": dict(self.counts),
            "occupancy": self.occupancy,
            "consumers": [r.to_dict() for r in self.routes],
        }

    def to_dataframe(self):
        """One row per consumer route as a :class:`pandas.DataFrame` (pandas is imported here).

        Columns: ``name``, ``nodes`` (the path joined by ``-``), ``kind``, ``pairs``, ``rate_hz`` (Hz),
        ``mean_fidelity``, ``fidelity_ci95_lo``/``_hi``, ``mean_waiting_time_s`` (s),
        ``waiting_time_ci95_lo``/``_hi`` (s), ``mean_xx``/``mean_yy``/``mean_zz`` (correlators of the
        delivered pairs), ``mean_chsh`` and ``mean_qber`` (DI-QKD consumers; NaN otherwise). The run's
        totals (``simulated_time_s``, ``wall_time_s``, ``events``, ``counts``, ``seed``) are in
        ``df.attrs``, units in ``df.attrs["units"]``.
        """
        import pandas as pd

        rows = []
        for r in self.routes:
            row = {"name": r.name, "nodes": "-".join(r.nodes), "kind": r.kind, "pairs": int(r.pairs),
                   "rate_hz": float(r.rate_hz), "mean_fidelity": float(r.mean_fidelity)}
            row["fidelity_ci95_lo"], row["fidelity_ci95_hi"] = (float(v) for v in r.fidelity_ci95)
            row["mean_waiting_time_s"] = float(r.mean_waiting_time_s)
            row["waiting_time_ci95_lo"], row["waiting_time_ci95_hi"] = (float(v) for v in r.waiting_time_ci95)
            row.update({f"mean_{c}": float(v) for c, v in zip(("xx", "yy", "zz"), r.mean_correlators)})
            row["mean_chsh"] = math.nan if r.mean_chsh is None else float(r.mean_chsh)
            row["mean_qber"] = math.nan if r.mean_qber is None else float(r.mean_qber)
            rows.append(row)
        df = pd.DataFrame(rows)
        df.attrs.update(simulated_time_s=self.simulated_time_s, wall_time_s=self.wall_time_s, events=self.events,
                        counts=dict(self.counts), seed=self.seed)
        df.attrs["units"] = {"rate_hz": "Hz", "mean_waiting_time_s": "s", "waiting_time_ci95_lo": "s",
                             "waiting_time_ci95_hi": "s", "simulated_time_s": "s", "wall_time_s": "s"}
        return df

    def chain_result(self, attempt_duration_s: float, multiplex: int = 1, route: int = 0,
                     channel_uses_per_attempt: int | None = None) -> ChainResult:
        """:class:`ChainResult` of one route (the chain engines' figures of merit).

        ``channel_uses_per_attempt`` defaults to ``multiplex`` (the chain engines count M × 2^rounds).
        """
        r = self.routes[route]
        if r.pairs == 0:
            raise ParameterError("pairs delivered", 0, ">= 1 (simulate longer)")
        return ChainResult(
            engine="events",
            rate_hz=1.0 / r.mean_waiting_time_s,
            mean_fidelity=r.mean_fidelity,
            fidelity_ci95=r.fidelity_ci95,
            mean_waiting_time_s=r.mean_waiting_time_s,
            waiting_time_ci95=r.waiting_time_ci95,
            mean_state=r.mean_state,
            attempt_duration_s=float(attempt_duration_s),
            multiplex=int(multiplex),
            channel_uses_per_attempt=int(multiplex if channel_uses_per_attempt is None else channel_uses_per_attempt),
            pairs=r.pairs,
        )

    # ---------------------------------------------------------------- files
    def trace_table(self):
        """The event trace as a :class:`pyarrow.Table` (requires ``trace=True``)."""
        import pyarrow as pa

        if self.trace is None:
            raise ParameterError("trace", None, "a run made with trace=True")
        cols = list(zip(*self.trace)) if self.trace else [(), (), (), (), (), ()]
        names = self.node_names
        route_names = [r.name for r in self.routes]
        return pa.table(
            {
                "seq": pa.array(np.arange(len(self.trace), dtype=np.int64)),
                "time_s": pa.array(cols[0], type=pa.float64()),
                "event": pa.array([EVENT_NAMES[c] for c in cols[1]], type=pa.string()),
                "node": pa.array([names[n] for n in cols[2]], type=pa.string()),
                "consumer": pa.array([route_names[k] for k in cols[3]], type=pa.string()),
                "pair_id": pa.array(cols[4], type=pa.int64()),
                # null where the event carries no state (messages, drops, cut-offs, failures)
                "fidelity": pa.array(np.asarray(cols[5], dtype=float), type=pa.float64(),
                                     mask=np.isnan(np.asarray(cols[5], dtype=float))),
            }
        )

    def write_trace(self, path: str | os.PathLike) -> None:
        """Write the trace as Parquet atomically (:func:`qrepeater.files.atomic_path`)."""
        import pyarrow.parquet as pq

        table = self.trace_table()
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)

    def plot_timeline(self, path: str | os.PathLike) -> None:
        """PNG of per-node memory occupancy over time and the deliveries (matplotlib, Agg)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if self.timeline is None:
            raise ParameterError("timeline", None, "a run made with timeline=True")
        n = len(self.node_names)
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 2 + 0.5 * n), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1]})
        per_node: dict[int, list] = {k: [(0.0, 0)] for k in range(n)}
        for t, node, c in self.timeline:
            per_node[node].append((t, c))
        offsets, off = [], 0.0
        for k in range(n):
            offsets.append(off)
            off += max(1, self.occupancy[self.node_names[k]]["peak_occupied"]) + 0.5
        for k in range(n):
            pts = per_node[k] + [(self.simulated_time_s, per_node[k][-1][1])]
            t, c = zip(*pts)
            ax.step(t, np.asarray(c) + offsets[k], where="post", lw=0.8)
        ax.set_yticks(offsets, list(self.node_names))
        ax.set_ylabel("memories holding a pair (offset per node)")
        deliveries = [(row[0], row[5]) for row in (self.trace or []) if EVENT_NAMES[row[1]] == "deliver"]
        if deliveries:
            t, f = zip(*deliveries)
            ax2.plot(t, f, "k.", ms=3)
        ax2.set_ylabel("delivered F")
        ax2.set_xlabel("time (s)")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)


def simulate(
    model: NetworkModel,
    *,
    pairs: int | None = None,
    duration_s: float | None = None,
    seed=0,
    trace: bool = False,
    timeline: bool = False,
    compiled: bool | None = None,
) -> EventRun:
    """Run the event engine on ``model`` until every consumer received ``pairs`` pairs or the simulated
    time reaches ``duration_s`` (at least one of them must be given).

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        Same seed → same run (and trace), bit for bit.
    trace : bool
        Record every protocol event (herald, swap, message, forward, drop, deliver, cut-off, purify).
    timeline : bool
        Record per-node memory occupancy changes (for :meth:`EventRun.plot_timeline`).
    compiled : bool or None
        Run the compiled agents (:mod:`.fastnet`: the same run as the Python agents, bit for bit, ~10×
        faster) or the Python agents (the reference; the only ones that record traces and timelines).
        ``None``: compiled unless a trace or timeline is asked for.

    Returns
    -------
    EventRun
        ``routes`` (one :class:`RouteResult` per consumer: ``pairs``, ``rate_hz`` (Hz),
        ``mean_fidelity``, ``mean_waiting_time_s`` (s), their 95 % intervals, ``mean_correlators``,
        DI-QKD ``mean_chsh``/``mean_qber``), ``simulated_time_s`` (s), ``wall_time_s`` (s), ``events``,
        ``counts`` and ``occupancy`` (see :class:`EventRun`); ``.to_dataframe()``: one row per route,
        ``.chain_result(attempt_duration_s)``: a route's :class:`ChainResult`.
    """
    if pairs is None and duration_s is None:
        raise ParameterError("pairs/duration_s", None, "give a number of pairs or a duration")
    if pairs is not None and (int(pairs) != pairs or pairs < 1):
        raise ParameterError("pairs", pairs, "an integer >= 1")
    if duration_s is not None and not duration_s > 0:
        raise ParameterError("duration_s", duration_s, "> 0")
    recording = trace or timeline
    if compiled and recording:
        raise ParameterError("compiled", True, "False (or None) with trace/timeline: the Python agents record them")
    if not recording and compiled is not False:
        return _simulate_compiled(model, None if pairs is None else int(pairs), duration_s, seed)
    sim = Simulation(model, seed, target_pairs=None if pairs is None else int(pairs), trace=trace, timeline=timeline)
    t0 = time.perf_counter()
    sim.start()
    sim.kernel.run(until_s=math.inf if duration_s is None else float(duration_s))
    wall = time.perf_counter() - t0
    sim.close()
    routes = [
        _route_result(rs.name, rs.nodes, rs.kind, rs.delivered, (rs.fid_sum, rs.fid_sq), (rs.wait_sum, rs.wait_sq),
                      rs.corr_sum, rs.chsh_sum, rs.qber_sum)
        for rs in sim.routes
    ]
    T = sim.kernel.now
    occupancy = {
        name: {
            "memories": int(model.memories[name]),
            "mean_occupied": (sim.occ_area[k] / T) if T > 0 else 0.0,
            "peak_occupied": int(sim.occ_peak[k]),
        }
        for k, name in enumerate(sim.node_names)
    }
    return EventRun(
        routes=tuple(routes),
        simulated_time_s=T,
        wall_time_s=wall,
        events=sim.kernel.executed,
        counts=dict(sim.counts),
        occupancy=occupancy,
        node_names=tuple(sim.node_names),
        seed=seed,
        timeline=sim.timeline,
        trace=sim.trace,
    )


def _simulate_compiled(model: NetworkModel, pairs: int | None, duration_s: float | None, seed) -> EventRun:
    """:func:`simulate` on the compiled agents (:mod:`.fastnet`); same :class:`EventRun`, no trace/timeline."""
    from .fastnet import counts_of, executed_of, occupancy_of, route_sums_of, simulate_network_fast

    t0 = time.perf_counter()
    st = simulate_network_fast(model, pairs, None if duration_s is None else float(duration_s), seed)
    wall = time.perf_counter() - t0
    events, T = executed_of(st)
    routes = [_route_result(r.name, r.nodes, r.kind, *route_sums_of(st, k)) for k, r in enumerate(model.routes)]
    area, peak = occupancy_of(st)
    occupancy = {
        name: {"memories": int(model.memories[name]), "mean_occupied": (area[k] / T) if T > 0 else 0.0,
               "peak_occupied": peak[k]}
        for k, name in enumerate(model.nodes)
    }
    return EventRun(routes=tuple(routes), simulated_time_s=T, wall_time_s=wall, events=events, counts=counts_of(st),
                    occupancy=occupancy, node_names=tuple(model.nodes), seed=seed)


def chain_model(spec: ChainSpec) -> NetworkModel:
    """The linear network that reproduces ``spec``'s protocol (see module docstring)."""
    if not isinstance(spec, ChainSpec):
        raise ParameterError("spec", spec, "a ChainSpec")
    n = int(spec.segments)
    nodes = tuple(f"n{k}" for k in range(n + 1))
    size = 2**spec.rounds
    memories = {name: (size if k in (0, n) else 2 * size) for k, name in enumerate(nodes)}
    links = {}
    for k, (seg, p) in enumerate(zip(spec.links, spec.segment_success_probabilities)):  # per segment
        # per-segment cut-offs: the link's memories (inf: none); a pair keeps the stricter of its end links'
        own = {} if spec.uniform_cutoff else {"cutoff_s": spec.segment_cutoffs_s[k] or math.inf}
        lm = LinkModel.from_segment(nodes[k], nodes[k + 1], seg, **own)
        # M multiplexed memories: first success among M lock-step streams (the model's convention)
        links[(nodes[k], nodes[k + 1])] = LinkModel(**{**lm.__dict__, "success_probability": p})
    proto = ProtocolConfig(
        schedule=spec.schedule,
        swap=spec.swap,
        cutoff_s=spec.cutoff_s,
        purification=spec.purification,
        purification_rounds=spec.rounds if spec.purification != "none" else 0,
        restart="per-delivery",
        cutoff_on_grid=True,
    )
    return NetworkModel(nodes=nodes, memories=memories, links=links,
                        routes=(Route(name="chain", nodes=nodes, kind="fidelity"),), protocol=proto)


def simulate_chain(spec: ChainSpec, pairs: int, seed=0, *, trace: bool = False, timeline: bool = False,
                   compiled: bool | None = None) -> EventRun:
    """Full event-engine output (counts, occupancy, trace) for a chain (``compiled`` as in :func:`simulate`)."""
    return simulate(chain_model(spec), pairs=pairs, seed=seed, trace=trace, timeline=timeline, compiled=compiled)


def simulate_chain_compiled(spec: ChainSpec, pairs: int, seed=0) -> EventRun:
    """:class:`EventRun` of the compiled chain agents (:mod:`.fastchain`; chains without purification).

    Occupancy, timeline and trace are not recorded on this path (``occupancy`` is empty).
    """
    from .fastchain import eligible, simulate_chain_fast

    if not eligible(spec):
        raise ParameterError("spec", "purification or segments that differ",
                             "a chain without purification whose segments are alike (use simulate_chain)")
    if int(pairs) != pairs or pairs < 1:
        raise ParameterError("pairs", pairs, "an integer >= 1")
    t0 = time.perf_counter()
    out, c = simulate_chain_fast(spec, int(pairs), seed)
    wall = time.perf_counter() - t0
    n = int(c[7])
    nodes = tuple(f"n{k}" for k in range(spec.segments + 1))
    route = _route_result("chain", nodes, "fidelity", n, out[0:2], out[2:4], out[4:7])
    counts = {"heralds": int(c[1]), "swaps": int(c[2]), "swap_failures": int(c[3]), "messages_sent": int(c[4]),
              "messages_forwarded": int(c[5]), "messages_dropped": int(c[6]), "deliveries": n, "resets": n,
              "cutoff_discards": int(c[8])}
    return EventRun(routes=(route,), simulated_time_s=float(out[7]), wall_time_s=wall, events=int(c[0]),
                    counts=counts, occupancy={}, node_names=nodes, seed=seed)


def run_chain_events(spec: ChainSpec, pairs: int, seed=None, *, compiled: bool | None = None) -> ChainResult:
    """Event-engine :class:`ChainResult` of ``spec`` from ``pairs`` delivered pairs.

    ``compiled`` (default ``None`` = ``True``): the compiled chain agents (:mod:`.fastchain`) when they
    cover the spec (no purification, equal segments), else the compiled network agents (:mod:`.fastnet`, the same run
    as the Python agents); ``False``: the Python agents.

    Returns
    -------
    ChainResult
        The fields and units of :func:`qrepeater.engines.exact.run_exact` with ``engine = "events"``,
        ``pairs`` = the delivered pairs, 95 % intervals mean ± 1.96 s/√K and ``truncation_error`` None
        (``.to_dataframe()``: one pandas row).
    """
    from .fastchain import eligible

    if spec.homogeneous:  # equal segments given one by one: the same run as one link
        spec = spec.as_homogeneous()
    if compiled is False:
        run = simulate_chain(spec, pairs, seed, compiled=False)
    elif eligible(spec):
        run = simulate_chain_compiled(spec, pairs, seed)
    else:
        run = simulate_chain(spec, pairs, seed, compiled=True)
    return run.chain_result(spec.link.attempt_duration_s, spec.multiplex,
                            channel_uses_per_attempt=int(spec.multiplex) * 2**spec.rounds)
