"""Memory decay of a stored Bell pair as a Pauli channel on its correlators.

A pair stored for a time ``t`` (s) keeps its ⟨ZZ⟩ correlator (populations) with factor
``exp(−Γ_∥ t)`` and its ⟨XX⟩, ⟨YY⟩ correlators (coherence) with factor ``exp(−Γ_⊥ t)``. The rates are
the *pair* rates, i.e. the sums over both memories; they come from :mod:`qrepeater.physics.memory`.
With ``Γ_∥ = Γ_⊥ = 1/T`` this is depolarisation with Werner-parameter 1/e time ``T``.
"""

from __future__ import annotations

import numpy as np

from .bell_diagonal import BellDiagonal


def decay_factors(storage_time_s, transverse_rate_hz, longitudinal_rate_hz) -> np.ndarray:
    """Correlator multipliers ``(..., 3)`` for ⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩ after ``storage_time_s``."""
    t = np.asarray(storage_time_s, dtype=float)
    ft = np.exp(-np.asarray(transverse_rate_hz, float) * t)
    fl = np.exp(-np.asarray(longitudinal_rate_hz, float) * t)
    ft, fl = np.broadcast_arrays(ft, fl)
    return np.stack([ft, ft, fl], axis=-1)


def decay(state: BellDiagonal, storage_time_s, transverse_rate_hz, longitudinal_rate_hz) -> BellDiagonal:
    """State after storage for ``storage_time_s`` seconds (broadcast over arrays of states and times)."""
    t = state.correlators * decay_factors(storage_time_s, transverse_rate_hz, longitudinal_rate_hz)
    return BellDiagonal.from_correlators(t[..., 0], t[..., 1], t[..., 2])
