"""Cut-off agent: every pair gets a timer at creation (at its current level); on expiry it is
discarded, its memories freed and the affected link units restarted.

With ``cutoff_on_grid`` (the chain engines' convention) the cut-off is whole attempts and restarts are
snapped back onto the attempt grid (:data:`GRID_TOL`, shared with the compiled chain agents).
"""

from __future__ import annotations

import math

from .kernel import PRIORITY_CUTOFF
from .pairs import Pair
from .trace import EV_CUTOFF

# the cut-off timer fires this many attempt periods after the grid instant (see Cutoff._arm_cutoff)
GRID_TOL = 1e-6


def link_cutoff_s(link, protocol_cutoff_s):
    """Cut-off (s) of a link's memories, or None: its own (``math.inf``: none), else the protocol's."""
    c = protocol_cutoff_s if link.cutoff_s is None else link.cutoff_s
    return None if c is None or math.isinf(c) else float(c)


class Cutoff:
    """Cut-off agent, mixed into :class:`~qrepeater.engines.events.simulation.Simulation`."""

    def _arm_cutoff(self, pair: Pair, tau: float) -> None:
        c = self._pair_cutoff_s(pair) if self.per_link_cutoffs else self.cutoff_s
        if c is None:
            return
        if self.cutoff_on_grid:
            # whole attempts; the timer fires a hair after the grid instant so that float rounding of
            # herald times computed from different bases cannot decide a tie (a herald at exactly the
            # cut-off is in time); restarts are snapped back onto the grid (see _grid_base)
            c = math.floor(c / tau + 1e-9) * tau + GRID_TOL * tau
        pair.cut_ev = self.kernel.schedule(self.kernel.now + c, PRIORITY_CUTOFF, self._on_cutoff, pair)

    def _pair_cutoff_s(self, pair: Pair):
        """The stricter cut-off of the pair's two end links (None: none): it sits in the memories of the
        first and the last link it spans."""
        units = pair.route.units
        cuts = [c for c in (units[pair.i][0].cut, units[pair.j - 1][0].cut) if c is not None]
        return min(cuts) if cuts else None

    def _grid_base(self, tau: float) -> float:
        """Start time of restarted attempts: the grid instant of a cut-off, else now."""
        now = self.kernel.now
        return now - GRID_TOL * tau if self.cutoff_on_grid else now

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
                        self._occupy2(u.a, u.b, -1)
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
