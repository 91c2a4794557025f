"""Link generation agent: each link unit attempts in lock-step and heralds fresh pairs.

Attempts of period τ run from the moment both memories of a unit slot are free. No event per attempt:
the number of attempts to the next herald is geometric, G = 1 + ⌊ln U / ln(1 − p)⌋ (inverse CDF), and
one herald event is scheduled at t₀ + G·τ. When a protocol aborts a unit (reset, failure in its span)
the pending herald is cancelled and a new G is drawn when the unit restarts (memorylessness makes this
exact). A heralded pair goes to purification (2^rounds slots) or straight to the route.

Restart policy: with ``restart = "continuous"`` a unit restarts as soon as both its memories are free;
with ``"per-delivery"`` idle units restart after a failure or cut-off in their span, and every unit at
the end of a round.
"""

from __future__ import annotations

import math

from .kernel import PRIORITY_HERALD
from .pairs import Pair, RouteState, Unit
from .trace import EV_HERALD


class LinkGeneration:
    """Link generation agent, mixed into :class:`~qrepeater.engines.events.simulation.Simulation`."""

    def _attempts(self, unit: Unit) -> int:
        """Attempts up to and including the next herald: geometric on {1, 2, …} by inverse CDF."""
        if unit.p >= 1.0:
            return 1
        u = 1.0 - self._uniform()  # (0, 1]
        return 1 + int(math.log(u) / unit.log1mp)

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
                    self._occupy2(u.a, u.b, -1)
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

    # ------------------------------------------------------------------ memories freed, units restarted
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

    def _restart_block(self, rs: RouteState, lo: int, hi: int, base: float | None = None) -> None:
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
        self._occupy2(p.ua.a, p.ub.b, -1)
