"""Purification agent: recurrence rounds inside a link unit of 2^rounds memory-pair slots.

Two pairs of the same round in sibling slots are purified (:func:`purify_correlators`, a scalar
transcription of :func:`qrepeater.states.purify_bbpssw` / :func:`~qrepeater.states.purify_dejmps`
tested against them); both nodes measure and exchange outcomes over the link's classical channel, so
the kept pair is usable one classical delay later and decays meanwhile; a failure restarts the slots
of the block. After the last round the pair joins the route (:meth:`Swapping._output`).
"""

from __future__ import annotations

from .kernel import PRIORITY_MESSAGE
from .pairs import Unit
from .trace import EV_PURIFY, EV_PURIFY_FAIL


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


class Purification:
    """Purification agent, mixed into :class:`~qrepeater.engines.events.simulation.Simulation`."""

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
