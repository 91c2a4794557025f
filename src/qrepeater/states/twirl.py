"""Werner twirl: the depolarisation that keeps only the fidelity of a two-qubit state.

Applying a random bilateral rotation U ⊗ U* (drawn from the Haar measure, or from a unitary 2-design
such as the 12 bilateral Clifford rotations of Bennett et al., PRL 76, 722 (1996)) maps any two-qubit
state to the Werner state with the same fidelity F to Φ+: weights (F, (1−F)/3, (1−F)/3, (1−F)/3).
"""

from __future__ import annotations

import numpy as np

from .bell_diagonal import BellDiagonal


def twirl_coefficients(coefficients: np.ndarray) -> np.ndarray:
    """Twirled Bell weights ``(..., 4)`` (works on unnormalised weights too: it is linear)."""
    lam = np.asarray(coefficients, float)
    f = lam[..., 0]
    rest = (lam.sum(axis=-1) - f) / 3.0
    return np.stack([f, rest, rest, rest], axis=-1)


def twirl(state: BellDiagonal) -> BellDiagonal:
    """Werner state with the same Φ+ fidelity as ``state`` (broadcast over batched states)."""
    return BellDiagonal(coefficients=twirl_coefficients(state.coefficients))
