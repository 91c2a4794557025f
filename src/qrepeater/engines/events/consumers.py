"""Consumers (one per route): take delivered end-to-end pairs and accumulate what they measure.

A fidelity probe records the delivered pair's state; a DI-QKD consumer also records the CHSH value of
the fixed textbook settings (:func:`qrepeater.states.chsh_fixed_settings`: S = √2(⟨XX⟩ + ⟨ZZ⟩), as the
settings are fixed before the delivered state is known) and the key-basis QBER (1 − ⟨ZZ⟩)/2. With per-delivery rounds a delivery
ends the round: the route is reset and all its units restart.
"""

from __future__ import annotations

from ...states import chsh_fixed_settings
from .pairs import Pair, RouteState
from .trace import EV_DELIVER


class Consumers:
    """Consumer agent, mixed into :class:`~qrepeater.engines.events.simulation.Simulation`."""

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
            rs.chsh_sum += chsh_fixed_settings(p.x, p.z)
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
        self._restart_block(rs, 0, rs.hops)
