"""Entropy helpers and single-round CHSH entropy bounds for device-independent QKD.

All entropies are in bits.  CHSH values ``S`` are in the convention where the local bound is 2 and
Tsirelson's bound is 2*sqrt(2); the CHSH game winning probability is ``omega = 1/2 + S/8``.

Sources
-------
* Pironio, Acin, Brunner, Gisin, Massar, Scarani, NJP 11, 045021 (2009), Eq. (12): against collective
  attacks, H(A|E) >= 1 - h((1 + sqrt((S/2)^2 - 1))/2).
* Arnon-Friedman, Dupuis, Fawzi, Renner, Vidick, Nat. Commun. 9, 459 (2018): the same function of the
  winning probability, 1 - h(1/2 + 1/2 sqrt(16 omega (omega - 1) + 3)), is the single-round von Neumann
  entropy bound used to build the EAT min-tradeoff function.
* Ho, Sekatski, Tan, Renner, Bancal, Sangouard, PRL 124, 230502 (2020), Eq. (4) (and Woodhead, Acin,
  Pironio, Quantum 5, 443 (2021), the ``f_q`` function): with noisy preprocessing (Alice flips her key
  bit with probability p), H(A'|E) >= 1 - h((1+sqrt((S/2)^2-1))/2) + h((1+sqrt(1-p(1-p)(8-S^2)))/2).
"""

from __future__ import annotations

import math

SQRT2 = math.sqrt(2.0)
TSIRELSON = 2.0 * SQRT2
#: Largest quantum CHSH-game winning probability, cos^2(pi/8) = (2 + sqrt 2)/4.
OMEGA_MAX = (2.0 + SQRT2) / 4.0


def binary_entropy(p: float) -> float:
    """Binary Shannon entropy h(p) = -p log2 p - (1-p) log2(1-p) in bits; h(0) = h(1) = 0.

    Arguments slightly outside [0, 1] from rounding (|excess| < 1e-12) are clipped; others raise.
    """
    if p < -1e-12 or p > 1 + 1e-12 or p != p:
        raise ValueError(f"binary_entropy needs p in [0, 1], got {p!r}")
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)


def binary_entropy_derivative(p: float) -> float:
    """dh/dp = log2((1-p)/p) for p in (0, 1)."""
    return math.log2((1.0 - p) / p)


def chsh_to_winning_probability(chsh: float) -> float:
    """CHSH game winning probability omega = 1/2 + S/8 (S = 4(2 omega - 1))."""
    return 0.5 + chsh / 8.0


def winning_probability_to_chsh(omega: float) -> float:
    """Inverse of :func:`chsh_to_winning_probability`: S = 8 omega - 4."""
    return 8.0 * omega - 4.0


def _bloch(chsh: float) -> float:
    """sqrt((S/2)^2 - 1), clipped to [0, 1] (0 at S <= 2, 1 at S = 2 sqrt 2)."""
    x = (chsh / 2.0) ** 2 - 1.0
    return math.sqrt(min(max(x, 0.0), 1.0))


def eve_information_chsh(chsh: float) -> float:
    """Pironio et al. (2009) bound on Eve's Holevo information, h((1 + sqrt((S/2)^2 - 1))/2).

    Equals 1 for S <= 2 (no security) and 0 at Tsirelson's bound.
    """
    return binary_entropy((1.0 + _bloch(chsh)) / 2.0)


def conditional_entropy_chsh(chsh: float) -> float:
    """Lower bound on H(A|E) per key round from the CHSH value (Pironio et al. 2009, Eq. 12)."""
    return 1.0 - eve_information_chsh(chsh)


def conditional_entropy_chsh_from_omega(omega: float) -> float:
    """The same bound written with the winning probability: 1 - h(1/2 + 1/2 sqrt(16 w (w-1) + 3)).

    This is the function ``g`` of Arnon-Friedman et al. (2018); 0 for omega <= 3/4.
    """
    return conditional_entropy_chsh(winning_probability_to_chsh(omega))


def conditional_entropy_chsh_derivative_omega(omega: float) -> float:
    """d/d omega of :func:`conditional_entropy_chsh_from_omega` (analytic; > 0 for 3/4 < omega < OMEGA_MAX).

    With x = 16 omega^2 - 16 omega + 3 and q = (1 + sqrt x)/2:
    dg/domega = -log2((1 - q)/q) * (32 omega - 16) / (4 sqrt x).
    """
    x = 16.0 * omega * omega - 16.0 * omega + 3.0
    if x <= 0.0:
        return math.inf
    if x >= 1.0:
        return math.inf
    rx = math.sqrt(x)
    q = (1.0 + rx) / 2.0
    return -binary_entropy_derivative(q) * (32.0 * omega - 16.0) / (4.0 * rx)


def noisy_preprocessing_entropy(chsh: float, flip_probability: float) -> float:
    """Ho et al. PRL 124, 230502 (2020), Eq. (4): H(A'|E) with Alice's bit flipped with probability p.

    H(A'|E) >= 1 - h((1 + sqrt((S/2)^2 - 1))/2) + h((1 + sqrt(1 - p(1-p)(8 - S^2)))/2).

    At p = 0 this is Pironio's bound; at p = 1/2 it is 1 (the flipped bit is uniformly random, and so
    is useless: the error-correction cost then is 1 too).  Callers treat S <= 2 as "no key".
    """
    p = flip_probability
    s2 = min(chsh * chsh, 8.0)
    inner = 1.0 - p * (1.0 - p) * (8.0 - s2)
    inner = min(max(inner, 0.0), 1.0)
    return 1.0 - eve_information_chsh(chsh) + binary_entropy((1.0 + math.sqrt(inner)) / 2.0)


def phase_error_bound_linear(chsh: float) -> float:
    """Affine upper bound on the phase-error rate of a key round from the CHSH value.

    Per Jordan block (a two-qubit block after Jordan's lemma), the complementarity picture gives a
    phase-error rate e(S) = (1 - sqrt((S/2)^2 - 1))/2 for S in [2, 2 sqrt 2] (the argument of the binary
    entropy in Pironio et al. 2009 / Zhang et al. PRL 131, 140801 (2023)), and e <= 1/2 otherwise after
    Alice's random bit relabelling.  e(S) is convex, so an eavesdropper mixing blocks can raise the
    average phase-error rate above e(average S): the tightest bound valid for every mixture is the
    concave envelope, i.e. the chord from (2, 1/2) to (2 sqrt 2, 0):

        e_ph <= (2 sqrt 2 - S) / (4 (sqrt 2 - 1)).

    Being affine, it can be summed round by round in a martingale (general attacks).  Clipped to
    [0, 1/2] here; the unclipped affine form is used inside the finite-size estimate.
    """
    e = (TSIRELSON - chsh) / (4.0 * (SQRT2 - 1.0))
    return min(max(e, 0.0), 0.5)
