"""Protocol agents of the event engine, driven by the kernel.

Each node runs the same agents; they act on local state and talk only through kernel events
(heralds, classical messages, timers):

* **link generation** (per link unit): lock-step attempts of period τ from the moment both memories
  are free. No event per attempt: the number of attempts to the next herald is geometric,
  G = 1 + ⌊ln U / ln(1 − p)⌋ (inverse CDF), and one herald event is scheduled at t₀ + G·τ. When a
  protocol aborts a unit (reset, failure in its span) the pending herald is cancelled and a new G is
  drawn when the unit restarts (memorylessness makes this exact).
* **purification** (per link unit with 2^r slots): two pairs of the same round in sibling slots are
  purified (:func:`purify_correlators`, a scalar transcription of
  :func:`qrepeater.states.purify_bbpssw` / :func:`~qrepeater.states.purify_dejmps` tested against them); both
  nodes measure and exchange outcomes over the link's classical channel, so the kept pair is usable
  one classical delay later and decays meanwhile; a failure restarts the slots of the block.
* **swapping** (per interior node of a route): ``swap-asap`` swaps blind as soon as the node holds a
  pair on each side (oldest first); ``nested`` swaps two pairs of span 2^(k−1) once the node *knows*
  their spans (all Pauli-frame messages for its ends arrived). Gate and readout noise as
  :func:`qrepeater.states.swap` (Briegel et al. 1998), success with ``SwapModel.success_probability``.
* **Pauli-frame messages**: a swap at node k sends its Bell-measurement outcome to both ends of the new
  pair (shortest classical path). A message that reaches a node whose memory has been swapped on
  meanwhile is forwarded to the new end (the swap records travel along the chain). A pair is usable by
  a consumer once both ends hold every record; until then it sits in memory and decays.
* **cut-off**: every pair gets a timer at creation (at its current level); on expiry it is discarded
  and its memories freed.
* **consumers** (per route): a fidelity probe records the delivered pair's state; a DI-QKD consumer
  also records the CHSH value S = √2(⟨XX⟩ + ⟨ZZ⟩) of the standard settings (A ∈ {Z, X},
  B ∈ {(Z ± X)/√2}; Clauser, Horne, Shimony, Holt, PRL 23, 880 (1969)) and the key-basis QBER
  (1 − ⟨ZZ⟩)/2.

Memory decay: every pair keeps its correlators and the time of their last update; before any use the
correlators are multiplied by exp(−Γ⊥ Δt), exp(−Γ∥ Δt) (:func:`qrepeater.states.decay`), so a pair
decays through every wait, including while messages are in flight.
"""

from __future__ import annotations

import math

import numpy as np

from ...states import swap_noise_factors
from .kernel import PRIORITY_CUTOFF, PRIORITY_HERALD, PRIORITY_MESSAGE, Kernel
from .network import NetworkModel

# trace event codes
EV_HERALD, EV_SWAP, EV_SWAP_FAIL, EV_MESSAGE, EV_FORWARD, EV_DROP, EV_DELIVER, EV_CUTOFF, EV_PURIFY, EV_PURIFY_FAIL, EV_RESET = range(11)
EVENT_NAMES = ("herald", "swap", "swap_fail", "message", "forward", "drop", "deliver", "cutoff", "purify", "purify_fail", "reset")

_SQRT2 = math.sqrt(2.0)
_GRID_TOL = 1e-6


def purify_correlators(method: str, a: tuple, b: tuple):
    """One recurrence round on pairs with correlators ``a`` (kept) and ``b`` (measured).

    Scalar transcription of :func:`qrepeater.states.purify_bbpssw` / :func:`~qrepeater.states.purify_dejmps`
    (bilateral CNOT + Z-parity check on Bell weights; DEJMPS rotates Φ− ↔ Ψ− first, BBPSSW twirls to
    Werner form first), checked against them in ``tests/test_events_network.py``.

    Returns
    -------
    (x, y, z, success_probability)
    """
    ax, ay, az = a
    bx, by, bz = b
    a0, a1, a2, a3 = (1 + ax - ay + az) / 4, (1 - ax + ay + az) / 4, (1 + ax + ay - az) / 4, (1 - ax - ay - az) / 4
    b0, b1, b2, b3 = (1 + bx - by + bz) / 4, (1 - bx + by + bz) / 4, (1 + bx + by - bz) / 4, (1 - bx - by - bz) / 4
    if method == "dejmps":
        a1, a3 = a3, a1
        b1, b3 = b3, b1
    else:  # bbpssw: twirl both inputs
        a1 = a2 = a3 = (a1 + a2 + a3) / 3
        b1 = b2 = b3 = (b1 + b2 + b3) / 3
    l0 = a0 * b0 + a1 * b1
    l1 = a0 * b1 + a1 * b0
    l2 = a2 * b2 + a3 * b3
    l3 = a2 * b3 + a3 * b2
    n = l0 + l1 + l2 + l3
    if n <= 0:
        return 0.0, 0.0, 0.0, 0.0
    l0, l1, l2, l3 = l0 / n, l1 / n, l2 / n, l3 / n
    return l0 - l1 + l2 - l3, -l0 + l1 + l2 - l3, l0 + l1 - l2 - l3, n


class Pair:
    """A stored pair between route positions i < j (correlators in the Φ+ frame)."""

    __slots__ = (
        "pid", "route", "i", "j", "ua", "ub", "t", "x", "y", "z", "hti", "htj", "hli", "hlj",
        "created", "cut_ev", "mi", "mj", "alive", "succ", "swap_pos", "rnd", "slot", "locked",
    )

    def advance(self, now: float) -> None:
        """Apply memory decay from the last update to ``now``."""
        dt = now - self.t
        if dt > 0.0:
            ft = math.exp(-(self.hti + self.htj) * dt)
            self.x *= ft
            self.y *= ft
            self.z *= math.exp(-(self.hli + self.hlj) * dt)
            self.t = now

    @property
    def fidelity(self) -> float:
        return (1.0 + self.x - self.y + self.z) / 4.0


class Unit:
    """One link unit of a route hop: 2^rounds memory pairs between route positions hop, hop+1."""

    __slots__ = (
        "route", "hop", "index", "a", "b", "p", "log1mp", "tau", "fresh", "ht", "hl", "delay",
        "slots", "events", "building", "busy_a", "busy_b",
    )


class RouteState:
    __slots__ = ("index", "name", "kind", "nodes", "hops", "units", "left", "right", "last_delivery", "delivered",
                 "fid_sum", "fid_sq", "wait_sum", "wait_sq", "corr_sum", "chsh_sum", "qber_sum", "node_idx", "plat")


class Simulation:
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

    def _attempts(self, unit: Unit) -> int:
        """Attempts up to and including the next herald: geometric on {1, 2, …} by inverse CDF."""
        if unit.p >= 1.0:
            return 1
        u = 1.0 - self._uniform()  # (0, 1]
        return 1 + int(math.log(u) / unit.log1mp)

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
        """Both memories of a pair (nodes a and b) change occupancy by ``delta``."""
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

    def _arm_cutoff(self, pair: Pair, tau: float) -> None:
        if self.cutoff_s is None:
            return
        c = self.cutoff_s
        if self.cutoff_on_grid:
            # whole attempts; the timer fires a hair after the grid instant so that float rounding of
            # herald times computed from different bases cannot decide a tie (a herald at exactly the
            # cut-off is in time); restarts are snapped back onto the grid (see _grid_base)
            c = math.floor(c / tau + 1e-9) * tau + _GRID_TOL * tau
        pair.cut_ev = self.kernel.schedule(self.kernel.now + c, PRIORITY_CUTOFF, self._on_cutoff, pair)

    def _grid_base(self, tau: float) -> float:
        """Start time of restarted attempts: the grid instant of a cut-off, else now."""
        now = self.kernel.now
        return now - _GRID_TOL * tau if self.cutoff_on_grid else now

    # ------------------------------------------------------------------ link generation agent
    def start(self) -> None:
        """Start every link unit at t = 0."""
        for rs in self.routes:
            for hop_units in rs.units:
                for u in hop_units:
                    self._start_unit(u)

    def _start_unit(self, u: Unit, base: float | None = None) -> None:
        u.building = True
        for s in range(len(u.slots)):
            self._start_slot(u, s, base)

    def _start_slot(self, u: Unit, s: int, base: float | None = None) -> None:
        if u.slots[s] is None and u.events[s] < 0:
            g = self._attempts(u)
            t0 = self.kernel.now if base is None else base
            u.events[s] = self.kernel.schedule(t0 + g * u.tau, PRIORITY_HERALD, self._on_herald, (u, s))

    def _abort_unit(self, u: Unit) -> None:
        """Cancel the unit's pending heralds and discard its intermediate (slot) pairs."""
        for s in range(len(u.slots)):
            if u.events[s] >= 0:
                self.kernel.cancel(u.events[s])
                u.events[s] = -1
            p = u.slots[s]
            if p is not None:
                if p.alive:
                    p.alive = False
                    self.kernel.cancel(p.cut_ev)
                    self._occupy(u.a, -1)
                    self._occupy(u.b, -1)
                u.slots[s] = None
        u.building = False

    def _on_herald(self, arg) -> None:
        u, s = arg
        u.events[s] = -1
        rs = u.route
        p = self._new_pair(rs, u.hop, u.hop + 1)
        p.ua = p.ub = u
        p.x, p.y, p.z = u.fresh
        p.hti = p.htj = u.ht
        p.hli = p.hlj = u.hl
        self.n_heralds += 1
        self._occupy2(u.a, u.b, 1)
        if self.trace is not None:
            self._log(EV_HERALD, u.a, rs.index, p.pid, p.fidelity)
        if self.rounds == 0:
            self._output(u, p)
        else:
            p.slot = s
            u.slots[s] = p
            self._arm_cutoff(p, u.tau)
            self._try_purify(u, s)

    # ------------------------------------------------------------------ purification agent
    def _try_purify(self, u: Unit, rep: int) -> None:
        p = u.slots[rep]
        sib = rep ^ (1 << p.rnd)
        q = u.slots[sib]
        if q is None or q.locked or q.rnd != p.rnd or q.slot != sib:
            return
        keep, meas = (p, q) if rep < sib else (q, p)
        now = self.kernel.now
        keep.advance(now)
        meas.advance(now)
        self.kernel.cancel(keep.cut_ev)
        self.kernel.cancel(meas.cut_ev)
        x, y, z, prob = purify_correlators(self.purify, (keep.x, keep.y, keep.z), (meas.x, meas.y, meas.z))
        # the measured pair's memories are free again (idle until the block restarts)
        meas.alive = False
        u.slots[meas.slot] = None
        self._occupy2(u.a, u.b, -1)
        keep.locked = True
        ok = self._uniform() < prob
        if ok:
            keep.x, keep.y, keep.z = x, y, z
        self.counts["classical_messages_purification"] += 2
        self.kernel.schedule(now + u.delay, PRIORITY_MESSAGE, self._on_purify_result, (u, keep, ok))

    def _on_purify_result(self, arg) -> None:
        u, keep, ok = arg
        if not keep.alive:  # the unit was aborted while the outcomes were in flight
            return
        rs = u.route
        block = 1 << (keep.rnd + 1)
        if not ok:
            self.counts["purification_failures"] += 1
            if self.trace is not None:
                self._log(EV_PURIFY_FAIL, u.a, rs.index, keep.pid)
            keep.alive = False
            u.slots[keep.slot] = None
            self._occupy2(u.a, u.b, -1)
            for s in range(keep.slot, keep.slot + block):
                self._start_slot(u, s)
            return
        self.counts["purifications"] += 1
        keep.locked = False
        keep.rnd += 1
        keep.created = self.kernel.now  # decay during the exchange is applied lazily from keep.t
        if self.trace is not None:
            keep.advance(self.kernel.now)
            self._log(EV_PURIFY, u.a, rs.index, keep.pid, keep.fidelity)
        if keep.rnd == self.rounds:
            u.slots[keep.slot] = None
            keep.slot = -1
            self._output(u, keep)
        else:
            self._arm_cutoff(keep, u.tau)
            self._try_purify(u, keep.slot)

    # ------------------------------------------------------------------ route level: output, swap
    def _output(self, u: Unit, p: Pair) -> None:
        """The unit's final pair joins the route (ready for swapping or delivery)."""
        u.building = False
        u.busy_a = u.busy_b = True
        rs = u.route
        rs.right[p.i].append(p)
        rs.left[p.j].append(p)
        self._arm_cutoff(p, u.tau)
        if p.i == 0 and p.j == rs.hops:
            self._deliver(rs, p)
            return
        if p.i > 0:
            self._check_swap(rs, p.i)
        if p.alive and p.j < rs.hops:
            self._check_swap(rs, p.j)

    def _check_swap(self, rs: RouteState, k: int) -> None:
        left, right = rs.left[k], rs.right[k]
        if self.nested:
            s = k & -k
            while True:
                lp = next((p for p in left if p.i == k - s and p.mj == 0), None)
                rp = next((p for p in right if p.j == k + s and p.mi == 0), None)
                if lp is None or rp is None:
                    return
                self._swap(rs, k, lp, rp)
        else:
            while left and right:
                self._swap(rs, k, left[0], right[0])

    def _free_a(self, u: Unit) -> None:
        u.busy_a = False
        self._occupy(u.a, -1)
        if self.continuous and not u.busy_b and not u.building:
            self._start_unit(u)

    def _free_b(self, u: Unit) -> None:
        u.busy_b = False
        self._occupy(u.b, -1)
        if self.continuous and not u.busy_a and not u.building:
            self._start_unit(u)

    def _restart_span(self, rs: RouteState, i: int, j: int, base: float | None = None) -> None:
        """Per-delivery rounds: restart the idle units of hops i … j−1 after a failure/cut-off."""
        if self.continuous:
            return
        for h in range(i, j):
            for u in rs.units[h]:
                if not u.building and not u.busy_a and not u.busy_b:
                    self._start_unit(u, base)

    def _swap(self, rs: RouteState, k: int, lp: Pair, rp: Pair) -> None:
        now = self.kernel.now
        lp.advance(now)
        rp.advance(now)
        rs.left[k].remove(lp)
        rs.right[k].remove(rp)
        rs.right[lp.i].remove(lp)
        rs.left[rp.j].remove(rp)
        kern = self.kernel
        kern.cancel(lp.cut_ev)
        kern.cancel(rp.cut_ev)
        lp.alive = rp.alive = False
        lp.swap_pos = rp.swap_pos = k
        self._free_b(lp.ub)
        self._free_a(rp.ua)
        if self.swap_p < 1.0 and self._uniform() >= self.swap_p:
            self.counts["swap_failures"] += 1
            if self.trace is not None:
                self._log(EV_SWAP_FAIL, rs.node_idx[k], rs.index, lp.pid)
            self._free_a(lp.ua)
            self._free_b(rp.ub)
            self._restart_span(rs, lp.i, rp.j)
            return
        self.n_swaps += 1
        p = self._new_pair(rs, lp.i, rp.j)
        p.ua, p.ub = lp.ua, rp.ub
        p.x = lp.x * rp.x * self.nx
        p.y = -(lp.y * rp.y) * self.ny
        p.z = lp.z * rp.z * self.nz
        p.hti, p.hli = lp.hti, lp.hli
        p.htj, p.hlj = rp.htj, rp.hlj
        p.mi = lp.mi + rp.mi + 1
        p.mj = rp.mj + lp.mj + 1
        lp.succ = rp.succ = p
        if self.trace is not None:
            self._log(EV_SWAP, rs.node_idx[k], rs.index, p.pid, p.fidelity)
        # Pauli-frame messages to both ends of the new pair
        lat = rs.plat[k]
        sched = kern.schedule
        self.n_messages += 2
        sched(now + lat[p.i], PRIORITY_MESSAGE, self._on_message, (p, p.i))
        sched(now + lat[p.j], PRIORITY_MESSAGE, self._on_message, (p, p.j))
        rs.right[p.i].append(p)
        rs.left[p.j].append(p)
        self._arm_cutoff(p, rs.units[p.i][0].tau)
        if not self.nested:
            if p.i > 0:
                self._check_swap(rs, p.i)
            if p.alive and p.j < rs.hops:
                self._check_swap(rs, p.j)

    # ------------------------------------------------------------------ classical messages
    def _on_message(self, arg) -> None:
        x, e = arg
        while True:
            if x.alive:
                if e == x.i:
                    x.mi -= 1
                else:
                    x.mj -= 1
                if self.trace is not None:
                    self._log(EV_MESSAGE, x.route.node_idx[e], x.route.index, x.pid)
                rs = x.route
                if x.mi == 0 and x.mj == 0 and x.i == 0 and x.j == rs.hops:
                    self._deliver(rs, x)
                elif self.nested and 0 < e < rs.hops:
                    self._check_swap(rs, e)
                return
            s = x.succ
            if s is None:
                self.counts["messages_dropped"] += 1
                if self.trace is not None:
                    self._log(EV_DROP, x.route.node_idx[e], x.route.index, x.pid)
                return
            if x.swap_pos == e:
                target = s.j if x.i == s.i else s.i
                rs = x.route
                self.counts["messages_forwarded"] += 1
                if self.trace is not None:
                    self._log(EV_FORWARD, rs.node_idx[e], rs.index, s.pid)
                self.kernel.schedule(self.kernel.now + rs.plat[e][target],
                                     PRIORITY_MESSAGE, self._on_message, (s, target))
                return
            x = s

    # ------------------------------------------------------------------ cut-off agent
    def _on_cutoff(self, p: Pair) -> None:
        if not p.alive or p.locked:
            return
        self.counts["cutoff_discards"] += 1
        p.alive = False
        rs = p.route
        if self.trace is not None:
            self._log(EV_CUTOFF, rs.node_idx[p.i], rs.index, p.pid)
        if p.slot >= 0:  # intermediate pair inside a purification unit
            u = p.ua
            u.slots[p.slot] = None
            self._occupy2(u.a, u.b, -1)
            base = self._grid_base(u.tau)
            size = 1 << p.rnd
            lo = p.slot
            if not self.continuous:
                # rounds as in the closed-form engines: the purification level restarts (the partner
                # block too)
                size *= 2
                lo -= lo % size
                for s in range(lo, lo + size):
                    if u.events[s] >= 0:
                        self.kernel.cancel(u.events[s])
                        u.events[s] = -1
                    q = u.slots[s]
                    if q is not None and q.alive and not q.locked:
                        q.alive = False
                        self.kernel.cancel(q.cut_ev)
                        u.slots[s] = None
                        self._occupy(u.a, -1)
                        self._occupy(u.b, -1)
            for s in range(lo, lo + size):
                self._start_slot(u, s, base)
            return
        rs.right[p.i].remove(p)
        rs.left[p.j].remove(p)
        self._free_a(p.ua)
        self._free_b(p.ub)
        base = self._grid_base(p.ua.tau)
        if self.nested and not self.continuous:
            # nested rounds (the closed-form engines' renewal): the level restarts, i.e. the partner
            # block [sibling] is discarded and regenerated too
            s = p.j - p.i
            lo = p.i - p.i % (2 * s)
            self._restart_block(rs, lo, min(lo + 2 * s, rs.hops), base)
        else:
            self._restart_span(rs, p.i, p.j, base)

    def _restart_block(self, rs: RouteState, lo: int, hi: int, base: float) -> None:
        """Discard every pair inside positions [lo, hi] and restart all units of hops lo … hi−1."""
        for k in range(lo, hi + 1):
            for q in list(rs.right[k]):
                if q.j <= hi:
                    self._discard_route_pair(rs, q)
        for h in range(lo, hi):
            for u in rs.units[h]:
                self._abort_unit(u)
                u.busy_a = u.busy_b = False
                self._start_unit(u, base)

    def _discard_route_pair(self, rs: RouteState, p: Pair) -> None:
        """Drop a stored pair of the route: cancel its cut-off, unlink it, free both memories."""
        self.kernel.cancel(p.cut_ev)
        p.alive = False
        p.succ = None
        rs.right[p.i].remove(p)
        rs.left[p.j].remove(p)
        p.ua.busy_a = False
        p.ub.busy_b = False
        self._occupy(p.ua.a, -1)
        self._occupy(p.ub.b, -1)

    # ------------------------------------------------------------------ consumers
    def _deliver(self, rs: RouteState, p: Pair) -> None:
        now = self.kernel.now
        p.advance(now)
        self.kernel.cancel(p.cut_ev)
        p.alive = False
        rs.right[p.i].remove(p)
        rs.left[p.j].remove(p)
        f = p.fidelity
        w = now - rs.last_delivery
        rs.last_delivery = now
        rs.delivered += 1
        rs.fid_sum += f
        rs.fid_sq += f * f
        rs.wait_sum += w
        rs.wait_sq += w * w
        c = rs.corr_sum
        c[0] += p.x
        c[1] += p.y
        c[2] += p.z
        if rs.kind == "diqkd":
            rs.chsh_sum += _SQRT2 * (p.x + p.z)
            rs.qber_sum += 0.5 * (1.0 - p.z)
        self.n_deliveries += 1
        self.delivered_total += 1
        if self.trace is not None:
            self._log(EV_DELIVER, rs.node_idx[0], rs.index, p.pid, f)
        self._free_a(p.ua)
        self._free_b(p.ub)
        if not self.continuous:
            self._reset_route(rs)
        if self.target is not None and rs.delivered >= self.target and all(r.delivered >= self.target for r in self.routes):
            self.kernel.stop()

    def _reset_route(self, rs: RouteState) -> None:
        """Per-delivery rounds: discard everything on the route and restart all its units now."""
        self.counts["resets"] += 1
        for k in range(rs.hops + 1):
            for p in list(rs.right[k]):
                self._discard_route_pair(rs, p)
        for hop_units in rs.units:
            for u in hop_units:
                self._abort_unit(u)
                u.busy_a = u.busy_b = False
                self._start_unit(u)

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
