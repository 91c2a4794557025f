"""Swapping agent and the Pauli-frame messages it sends (per interior node of a route).

* **swapping**: ``swap-asap`` swaps blind as soon as the node holds a pair on each side (oldest
  first); ``nested`` swaps two pairs of span 2^(k−1) once the node *knows* their spans (all
  Pauli-frame messages for its ends arrived). Gate and readout noise as :func:`qrepeater.states.swap`
  (Briegel et al. 1998), success with ``SwapModel.success_probability``.
* **Pauli-frame messages**: a swap at node k sends its Bell-measurement outcome to both ends of the
  new pair (shortest classical path). A message that reaches a node whose memory has been swapped on
  meanwhile is forwarded to the new end (the swap records travel along the chain). A pair is usable by
  a consumer once both ends hold every record; until then it sits in memory and decays.
"""

from __future__ import annotations

from .kernel import PRIORITY_MESSAGE
from .pairs import Pair, RouteState, Unit
from .trace import EV_DROP, EV_FORWARD, EV_MESSAGE, EV_SWAP, EV_SWAP_FAIL


class Swapping:
    """Swapping agent, mixed into :class:`~qrepeater.engines.events.simulation.Simulation`."""

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
        self._swap_at_ends(rs, p)

    def _swap_at_ends(self, rs: RouteState, p: Pair) -> None:
        """A pair was stored on the route: try swapping at its ends that are interior nodes."""
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
            self._swap_at_ends(rs, p)

    # ------------------------------------------------------------------ Pauli-frame messages
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
