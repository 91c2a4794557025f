"""Finite-size key length against collective attacks via the quantum AEP (``method="collective-aep"``).

Under collective attacks every round is the same measurement on the same state, so the n_key key rounds
form an i.i.d. state rho_{AE}^{tensor n_key} and three standard results compose:

1. Parameter estimation.  The m test rounds are i.i.d. CHSH games with winning probability omega; the
   run is accepted if the won fraction is at least omega_th (completeness margin, see
   :mod:`qrepeater.qkd.acceptance`).  By Hoeffding's inequality (JASA 58, 13 (1963), Thm 1), except with
   probability eps_pe, acceptance implies omega >= omega_L = omega_th - sqrt(ln(1/eps_pe)/(2m)).
2. Single-round entropy.  Pironio et al., NJP 11, 045021 (2009), Eq. (12):
   H(A|E) >= 1 - h((1 + sqrt((S_L/2)^2 - 1))/2), S_L = 8 omega_L - 4 (the bound is increasing in S).
3. Quantum asymptotic equipartition property (Tomamichel, Colbeck, Renner, IEEE TIT 55, 5840 (2009),
   Thm 9): H_min^{eps_s}(A^n|E^n) >= n H(A|E) - sqrt(n) delta(eps_s, eta),
   delta = 4 log2(eta) sqrt(log2(2/eps_s^2)), eta <= sqrt(2^{-H_min(A|E)}) + sqrt(2^{H_max(A|E)}) + 1
   <= 2 + sqrt 2 for a classical bit A (0 <= H_min <= H_max <= 1), valid for n >= (8/5) log2(2/eps_s^2).

Key length: l = H_min^{eps_s} - leak_EC - log2(1/eps_cor) - 2 log2(1/(2 eps_pa)) (leftover hashing,
Tomamichel, Schaffner, Smith, Renner, IEEE TIT 57, 5524 (2011)); leak_EC = f n_key h(Q);
eps_sec = eps_pe + eps_pa + 2 eps_s.  Counts m, n_key are the observed ones when given.

Status: this is the route Murta et al. (arXiv:1811.07983, Sec. 4.1) take for collective attacks,
**reconstructed** from the three cited theorems (their text could not be read here; no number of theirs
is reproduced).  The n -> infinity limit is Pironio's rate.
"""

from __future__ import annotations

import math

import numpy as np

from .acceptance import EpsilonBudget, acceptance_threshold, hoeffding_deviation
from .entropy import (
    binary_entropy,
    chsh_to_winning_probability,
    conditional_entropy_chsh,
)

__all__ = ["AEP_ETA", "EPS_WEIGHTS", "aep_penalty_per_sqrt_round", "collective_key_length"]

EPS_WEIGHTS = {"pe": 1.0, "pa": 1.0, "s": 2.0}
#: eta of the AEP for a classical bit: sqrt(2^0) + sqrt(2^1) + 1 (Tomamichel, Colbeck, Renner 2009, Thm 9).
AEP_ETA = 2.0 + math.sqrt(2.0)


def aep_penalty_per_sqrt_round(eps_smooth: float) -> float:
    """delta(eps_s, eta) = 4 log2(eta) sqrt(log2(2/eps_s^2)) of the quantum AEP (Thm 9 of TCR 2009)."""
    return 4.0 * math.log2(AEP_ETA) * math.sqrt(math.log2(2.0 / eps_smooth**2))


def _length(rounds, omega_obs, qber, m, n_key, eps: EpsilonBudget, ec_leak, ec_efficiency):
    omega_th = acceptance_threshold(omega_obs, m, eps.eps_com)
    omega_l = omega_th - hoeffding_deviation(m, eps.eps_pe)
    s_l = 8.0 * omega_l - 4.0
    leak = ec_efficiency * n_key * binary_entropy(qber) if ec_leak is None else float(ec_leak)
    details = {
        "n_test_rounds": m, "n_key_rounds": n_key, "omega_observed": omega_obs,
        "omega_threshold": omega_th, "chsh_threshold": 8.0 * omega_th - 4.0,
        "omega_lower_bound": omega_l, "chsh_lower_bound": s_l,
    }
    if s_l <= 2.0 or n_key < 1.0 or n_key < 1.6 * math.log2(2.0 / eps.eps_smooth**2):
        details["reason"] = ("the statistical lower bound on S is <= 2" if s_l <= 2.0
                             else "too few key rounds for the quantum AEP")
        return -math.inf, leak, details
    entropy_rate = conditional_entropy_chsh(s_l)
    penalty = math.sqrt(n_key) * aep_penalty_per_sqrt_round(eps.eps_smooth)
    h_min = n_key * entropy_rate - penalty
    length = h_min - leak - math.log2(1.0 / eps.eps_cor) - 2.0 * math.log2(1.0 / (2.0 * eps.eps_pa))
    details.update({"entropy_rate_per_key_round": entropy_rate, "aep_penalty_bits": penalty,
                    "smooth_min_entropy_bits": h_min})
    return length, leak, details


def collective_key_length(rounds, chsh, qber, *, test_fraction, key_fraction, test_rounds, key_rounds,
                          eps: EpsilonBudget, ec_leakage_bits, ec_efficiency):
    """(length before flooring, test fraction, leak, details), S > 2 (formulas: module docstring).

    Observed ``test_rounds``/``key_rounds`` are used as given; otherwise expected counts
    ``test_fraction * rounds`` and ``key_fraction * rounds`` (key_fraction defaults to 1 - test_fraction)
    with the test fraction optimised on a grid when not given.
    """
    omega = chsh_to_winning_probability(chsh)

    def at(gam):
        m = float(test_rounds) if test_rounds is not None else gam * rounds
        if key_rounds is not None:
            n_key = float(key_rounds)
        else:
            n_key = (key_fraction if key_fraction is not None else 1.0 - gam) * rounds
        return _length(rounds, omega, qber, m, n_key, eps, ec_leakage_bits, ec_efficiency)

    if test_rounds is not None:
        gam = test_rounds / rounds
    elif test_fraction is not None:
        gam = test_fraction
    else:
        grid = np.linspace(0.01, 0.99, 99)
        if key_fraction is not None:
            grid = grid[grid + key_fraction <= 1.0 + 1e-12]
        vals = [at(float(g))[0] for g in grid]
        i = int(np.argmax(vals))
        fine = np.linspace(max(grid[i] - 0.01, 0.001), min(grid[i] + 0.01, 0.999), 41)
        if key_fraction is not None:
            fine = fine[fine + key_fraction <= 1.0 + 1e-12]
        best = max([(vals[i], float(grid[i]))] + [(at(float(g))[0], float(g)) for g in fine])
        gam = best[1]
    length, leak, details = at(gam)
    details["test_fraction"] = gam
    details["key_fraction"] = details["n_key_rounds"] / rounds
    details["counts"] = "observed" if test_rounds is not None else "expected"
    return length, gam, leak, details
