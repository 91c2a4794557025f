"""Result of a heralded-entanglement protocol: per-attempt success and heralded state."""

from __future__ import annotations

from dataclasses import dataclass

from ..physics.memory import PairDecay
from ..states import BellDiagonal


@dataclass(frozen=True)
class HeraldedLink:
    """What a heralded link delivers per attempt.

    Attributes
    ----------
    protocol : str
        ``"spep"`` or ``"two-photon"``.
    success_probability : float
        Probability that one attempt heralds (signal or noise).
    attempt_duration_s : float
        Duration of one attempt (s).
    heralded_state : BellDiagonal
        State of the memories at the herald, in the Φ+ frame (after the known Pauli correction).
    pair_decay : PairDecay
        Decay rates of the stored pair.
    signal_fraction : float
        Fraction of heralds caused by the ions' photons (the rest are noise clicks).
    """

    protocol: str
    success_probability: float
    attempt_duration_s: float
    heralded_state: BellDiagonal
    pair_decay: PairDecay
    signal_fraction: float

    @property
    def rate_hz(self) -> float:
        """Mean heralding rate (1/s) = p / attempt duration (geometric attempts)."""
        return self.success_probability / self.attempt_duration_s

    @property
    def heralded_fidelity(self) -> float:
        return float(self.heralded_state.fidelity)
