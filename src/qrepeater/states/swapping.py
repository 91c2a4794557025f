"""Entanglement swapping of Bell-diagonal pairs (vectorised).

A Bell-diagonal state is a Pauli channel applied to one half of Φ+: Φ+ ↔ 𝟙, Φ− ↔ Z, Ψ+ ↔ X,
Ψ− ↔ Y. A Bell measurement on the middle qubits of two such pairs followed by the Pauli-frame
correction composes the two Pauli errors, so the output weights are the convolution of the input
weights over the Klein four-group (Dür, Briegel, Cirac, Zoller, PRA 59, 169 (1999)). In terms of the
Pauli correlators t = (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) the convolution is a product:

    t_out = (t1x·t2x, −t1y·t2y, t1z·t2z)

(the minus sign because Φ+ itself has ⟨YY⟩ = −1). Imperfections of the swap:

* ``gate_fidelity`` p₂: the two-qubit gate of the Bell measurement acts, with probability p₂,
  perfectly and otherwise replaces the pair by the maximally mixed state — the gate-reliability model
  of Briegel, Dür, Cirac, Zoller, PRL 81, 5932 (1998). Referred to the output pair it is the
  depolarising channel ρ → p₂ ρ + (1 − p₂) 𝟙/4, i.e. every correlator is multiplied by p₂.
* ``readout_error`` ε: each of the two measured qubits is read wrongly with probability ε. A wrong
  Z-correction bit applies Z to the output (flips ⟨XX⟩, ⟨YY⟩), a wrong X-correction bit applies X
  (flips ⟨YY⟩, ⟨ZZ⟩), so ⟨XX⟩ and ⟨ZZ⟩ gain a factor (1 − 2ε) and ⟨YY⟩ a factor (1 − 2ε)².

The success probability of the (linear-optics or gate-based) Bell measurement is *not* modelled here:
the engines in :mod:`qrepeater.engines` draw it from ``SwapModel.success_probability``.
"""

from __future__ import annotations

import numpy as np

from ..errors import check_range
from .bell_diagonal import BellDiagonal

#: Correlators of Φ+ (the sign pattern that makes the swap a plain product in "s-form").
PHI_PLUS_CORRELATORS = np.array([1.0, -1.0, 1.0])


def swap_noise_factors(gate_fidelity: float = 1.0, readout_error: float = 0.0) -> np.ndarray:
    """Multipliers ``(3,)`` of (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) applied to the swapped pair by gate and readout noise.

    Parameters
    ----------
    gate_fidelity : float
        Depolarising reliability p₂ ∈ [0, 1] of the Bell-measurement gate (Briegel et al. 1998).
    readout_error : float
        Probability ε ∈ [0, 0.5] that one measured qubit is read wrongly (independent per qubit).
    """
    check_range("gate_fidelity", float(gate_fidelity), 0.0, 1.0)
    check_range("readout_error", float(readout_error), 0.0, 0.5)
    r = 1.0 - 2.0 * float(readout_error)
    return float(gate_fidelity) * np.array([r, r * r, r])


def swap_correlators(t1: np.ndarray, t2: np.ndarray, noise_factors: np.ndarray | None = None) -> np.ndarray:
    """Correlators ``(..., 3)`` of the swapped pair from those of the inputs (broadcast).

    This is bilinear, so it also holds for *unnormalised* ensembles (trace × correlators), which is
    what the exact engine carries.
    """
    out = PHI_PLUS_CORRELATORS * np.asarray(t1, float) * np.asarray(t2, float)
    if noise_factors is not None:
        out = out * noise_factors
    return out


def swap(a: BellDiagonal, b: BellDiagonal, gate_fidelity: float = 1.0, readout_error: float = 0.0):
    """Entanglement swapping of pair ``a`` (nodes A–B) and pair ``b`` (nodes B–C) at node B.

    Parameters
    ----------
    a, b : BellDiagonal
        Input pairs (broadcast over their leading shapes).
    gate_fidelity : float
        Reliability p₂ of the two-qubit gate (depolarising the output with 1 − p₂), Briegel et al.,
        PRL 81, 5932 (1998).
    readout_error : float
        Per-qubit readout flip probability ε of the two measured qubits.

    Returns
    -------
    (BellDiagonal, float)
        The A–C pair after Pauli-frame correction and the success probability of this operation,
        which is 1: the Bell-measurement success probability is applied by the engines.
    """
    t = swap_correlators(a.correlators, b.correlators, swap_noise_factors(gate_fidelity, readout_error))
    return BellDiagonal.from_correlators(t[..., 0], t[..., 1], t[..., 2]), 1.0
