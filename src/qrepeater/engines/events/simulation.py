"""One run of the event engine: the network's state and the protocol agents, driven by the kernel.

Each node runs the same agents; they act on local state and talk only through kernel events
(heralds, classical messages, timers). One module per agent, each a mixin of :class:`Simulation`:

* :mod:`.heralding` — link generation: lock-step attempts, one herald event per geometric number of
  attempts, units aborted and restarted;
* :mod:`.purification` — recurrence purification inside a link unit, outcomes exchanged over the link;
* :mod:`.swapping` — swap-asap or nested swapping at interior nodes and the Pauli-frame messages;
* :mod:`.cutoff` — a timer per pair; on expiry the pair is discarded and its units restarted;
* :mod:`.consumers` — fidelity probes and DI-QKD consumers (CHSH value, QBER) at the route ends.

The records they act on (:class:`~.pairs.Pair`, :class:`~.pairs.Unit`, :class:`~.pairs.RouteState`)
are in :mod:`.pairs`, the trace event codes in :mod:`.trace`. This module holds what they share:
the random stream, memory-occupancy bookkeeping, the trace log and new pairs.
"""

from __future__ import annotations

import math

import numpy as np

from ...states import swap_noise_factors
from .consumers import Consumers
from .cutoff import Cutoff, link_cutoff_s
from .heralding import LinkGeneration
from .kernel import Kernel
from .network import NetworkModel
from .pairs import Pair, RouteState, Unit
from .purification import Purification
from .swapping import Swapping


class Simulation(LinkGeneration, Purification, Swapping, Cutoff, Consumers):
    """State and agents of one run (see module docstring). Use :func:`qrepeater.engines.events.simulate`."""

    def __init__(self, model: NetworkModel, seed, *, target_pairs: int | None, trace: bool = False,
                 timeline: bool = False, cutoff_on_grid: bool | None = None):
        self.model = model
        self.kernel = Kernel()
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rng = np.random.default_rng(ss)
        self._ubuf: list = []
        self._ui = 0
        proto = model.protocol
        self.rounds = proto.rounds
        self.nested = proto.schedule == "nested"
        self.continuous = proto.restart == "continuous"
        self.cutoff_s = proto.cutoff_s
        self.per_link_cutoffs = False  # some link has its own cut-off (LinkModel.cutoff_s)
        self.cutoff_on_grid = proto.cutoff_on_grid if cutoff_on_grid is None else cutoff_on_grid
        self.swap_p = float(proto.swap.success_probability)
        nf = swap_noise_factors(proto.swap.gate_fidelity, proto.swap.readout_error)
        self.nx, self.ny, self.nz = float(nf[0]), float(nf[1]), float(nf[2])
        self.purify = proto.purification
        self.target = target_pairs
        self.node_names = list(model.nodes)
        nidx = {n: k for k, n in enumerate(self.node_names)}
        self.occ = [0] * len(self.node_names)
        self.occ_area = [0.0] * len(self.node_names)
        self.occ_last = [0.0] * len(self.node_names)
        self.occ_peak = [0] * len(self.node_names)
        self.timeline = [] if timeline else None
        self.trace = [] if trace else None
        self.lat = {(nidx[a], nidx[b]): d for (a, b), d in model.latency_s.items()}
        self.counts = {k: 0 for k in ("heralds", "swaps", "swap_failures", "messages_sent", "messages_forwarded",
                                      "messages_dropped", "purifications", "purification_failures",
                                      "cutoff_discards", "deliveries", "resets", "classical_messages_purification")}
        self._pid = 0
        self.n_heralds = self.n_swaps = self.n_messages = self.n_deliveries = 0
        self.delivered_total = 0
        self.routes: list[RouteState] = []
        for ri, r in enumerate(model.routes):
            rs = RouteState()
            rs.index, rs.name, rs.kind, rs.nodes, rs.hops = ri, r.name, r.kind, r.nodes, r.hops
            rs.node_idx = [nidx[n] for n in r.nodes]
            # one-way classical latency between route positions (list of lists: fast lookup)
            rs.plat = [[model.latency_s[(a, b)] for b in r.nodes] for a in r.nodes]
            rs.left = [[] for _ in range(r.hops + 1)]
            rs.right = [[] for _ in range(r.hops + 1)]
            rs.last_delivery = 0.0
            rs.delivered = 0
            rs.fid_sum = rs.fid_sq = rs.wait_sum = rs.wait_sq = rs.chsh_sum = rs.qber_sum = 0.0
            rs.corr_sum = [0.0, 0.0, 0.0]
            rs.units = []
            for h in range(r.hops):
                link = model.link(r.nodes[h], r.nodes[h + 1])
                hop_units = []
                for k in range(model.units[(ri, h)]):
                    u = Unit()
                    u.route, u.hop, u.index = rs, h, k
                    u.a, u.b = rs.node_idx[h], rs.node_idx[h + 1]
                    u.p = float(link.success_probability)
                    u.log1mp = math.log1p(-u.p) if u.p < 1.0 else -math.inf
                    u.tau = float(link.attempt_duration_s)
                    u.fresh = tuple(float(v) for v in link.fresh_correlators)
                    u.ht = 0.5 * float(link.transverse_rate_hz)
                    u.hl = 0.5 * float(link.longitudinal_rate_hz)
                    u.delay = float(link.classical_delay_s)
                    u.cut = link_cutoff_s(link, proto.cutoff_s)
                    self.per_link_cutoffs |= link.cutoff_s is not None
                    size = 2**self.rounds
                    u.slots = [None] * size
                    u.events = [-1] * size
                    u.building = False
                    u.busy_a = u.busy_b = False
                    hop_units.append(u)
                rs.units.append(hop_units)
            self.routes.append(rs)

    # ------------------------------------------------------------------ randomness
    def _uniform(self) -> float:
        i = self._ui
        if i >= len(self._ubuf):
            self._ubuf = self.rng.random(16384).tolist()
            i = 0
        self._ui = i + 1
        return self._ubuf[i]

    # ------------------------------------------------------------------ bookkeeping
    def _occupy(self, node: int, delta: int) -> None:
        now = self.kernel.now
        self.occ_area[node] += self.occ[node] * (now - self.occ_last[node])
        self.occ_last[node] = now
        c = self.occ[node] + delta
        self.occ[node] = c
        if c > self.occ_peak[node]:
            self.occ_peak[node] = c
        if self.timeline is not None:
            self.timeline.append((now, node, c))

    def _occupy2(self, a: int, b: int, delta: int) -> None:
        """Both memories of a pair (nodes a and b) change occupancy by ``delta`` (hot path: one call)."""
        now = self.kernel.now
        occ, area, last = self.occ, self.occ_area, self.occ_last
        for node in (a, b):
            c = occ[node]
            area[node] += c * (now - last[node])
            last[node] = now
            c += delta
            occ[node] = c
            if c > self.occ_peak[node]:
                self.occ_peak[node] = c
            if self.timeline is not None:
                self.timeline.append((now, node, c))

    def _log(self, code: int, node: int, route: int, pid: int, value: float = math.nan) -> None:
        self.trace.append((self.kernel.now, code, node, route, pid, value))

    def _new_pair(self, rs: RouteState, i: int, j: int) -> Pair:
        p = Pair()
        p.pid = self._pid
        self._pid += 1
        p.route = rs
        p.i, p.j = i, j
        p.alive = True
        p.succ = None
        p.swap_pos = -1
        p.cut_ev = -1
        p.mi = p.mj = 0
        p.rnd = 0
        p.slot = -1
        p.locked = False
        p.created = p.t = self.kernel.now
        return p

    def close(self) -> None:
        """Integrate the occupancy up to the final time and merge the hot-path counters."""
        self.counts["heralds"] = self.n_heralds
        self.counts["swaps"] = self.n_swaps
        self.counts["messages_sent"] = self.n_messages
        self.counts["deliveries"] = self.n_deliveries
        now = self.kernel.now
        for n in range(len(self.occ)):
            self.occ_area[n] += self.occ[n] * (now - self.occ_last[n])
            self.occ_last[n] = now
