"""CHSH values of a two-qubit Bell-diagonal state: two meanings, two names.

A Bell-diagonal state is fixed by its correlators t = (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩); for measurement directions
a (Alice) and b (Bob) the correlation is E(a, b) = Σ_i a_i t_i b_i, and the CHSH value is
S = E(a0, b0) + E(a0, b1) + E(a1, b0) − E(a1, b1) (Clauser, Horne, Shimony, Holt, PRL 23, 880 (1969)).
Which S a model quotes depends on which settings the experiment uses:

* :func:`chsh_fixed_settings` — the textbook settings chosen before the state is known: Alice Z and X,
  Bob (Z + X)/√2 and (Z − X)/√2, giving S = √2 (⟨ZZ⟩ + ⟨XX⟩). Used where settings are fixed in advance
  (the event engine's DI-QKD consumer).
* :func:`chsh_optimal_settings` — Alice still Z and X, Bob's two directions optimised in the X–Z plane
  for the state at hand (angles :func:`optimal_bob_angles`), giving S = 2 √(⟨ZZ⟩² + ⟨XX⟩²); this is the
  Horodecki maximum (Horodecki, Horodecki, Horodecki, Phys. Lett. A 200, 340 (1995)) when ⟨XX⟩ and
  ⟨ZZ⟩ are the two largest |t_i|. Used for the DI-QKD settings of an experiment that aligns Bob's
  measurements to its state (the round simulator and the reference comparison).

They agree exactly when |⟨XX⟩| = |⟨ZZ⟩| (then both are 2√2·|t| for a Werner-like pair) and the optimal
value is never smaller.
"""

from __future__ import annotations

import math

SQRT2 = math.sqrt(2.0)


def chsh_fixed_settings(xx: float, zz: float) -> float:
    """CHSH value S = √2 (⟨ZZ⟩ + ⟨XX⟩) for the fixed textbook settings (module docstring).

    Parameters
    ----------
    xx, zz : float
        Correlators ⟨XX⟩ and ⟨ZZ⟩ of the measured state (dimensionless, in [−1, 1]).
    """
    return SQRT2 * (zz + xx)


def optimal_bob_angles(xx: float, zz: float) -> tuple[float, float]:
    """Bob's directions (θ0, θ1) = (φ, −φ) from Z towards X, φ = atan2(⟨XX⟩, ⟨ZZ⟩), that maximise S for
    Alice's Z and X (rad)."""
    phi = math.atan2(xx, zz)
    return phi, -phi


def chsh_optimal_settings(xx: float, zz: float) -> float:
    """CHSH value S = 2 √(⟨ZZ⟩² + ⟨XX⟩²) with Bob's settings optimised in the X–Z plane (module docstring)."""
    return 2.0 * math.hypot(xx, zz)


__all__ = ["chsh_fixed_settings", "chsh_optimal_settings", "optimal_bob_angles"]
