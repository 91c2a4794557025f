"""What the protocol agents act on: stored pairs, link units and per-route state (plain slotted records).

Memory decay: every pair keeps its correlators and the time of their last update; before any use the
correlators are multiplied by exp(−Γ⊥ Δt), exp(−Γ∥ Δt) (:func:`qrepeater.states.decay`), so a pair
decays through every wait, including while messages are in flight (:meth:`Pair.advance`).
"""

from __future__ import annotations

import math


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
        "route", "hop", "index", "a", "b", "p", "log1mp", "tau", "fresh", "ht", "hl", "delay", "cut",
        "slots", "events", "building", "busy_a", "busy_b",
    )


class RouteState:
    """One consumer route: its link units, the pairs stored at each position, the consumer's sums."""

    __slots__ = ("index", "name", "kind", "nodes", "hops", "units", "left", "right", "last_delivery", "delivered",
                 "fid_sum", "fid_sq", "wait_sum", "wait_sq", "corr_sum", "chsh_sum", "qber_sum", "node_idx", "plat")
