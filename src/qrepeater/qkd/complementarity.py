"""In-house phase-error finite-size key length of CHSH DI-QKD (``method="complementarity-reconstruction"``).

**A reconstruction, never a default.**  ``"complementarity"`` is still accepted as an alias because
:mod:`qrepeater.qkd.distill` and :mod:`qrepeater.validation.qkd` call it.

Protocol, counts and error-correction leakage as in :mod:`qrepeater.qkd.finite_size`, which
dispatches here.

Idea of Zhang, Zeng, Ye, Lo, Ma, "Quantum complementarity approach to device-independent security",
PRL 131, 140801 (2023), arXiv:2111.13855: the key is secure if the *phase errors* of the key rounds
(errors in the complementary observable) can be corrected, and their number is bounded by the Bell
violation.  **We could not obtain the paper's finite-size formula**; this is our own, conservative
reconstruction from standard parts:

1. per round, phase-error probability e_i <= a - b * omega_i, the affine bound of
   :func:`qrepeater.qkd.entropy.phase_error_bound_linear` written with the CHSH winning probability
   omega = 1/2 + S/8 (b = 1/(2(omega_max - 3/4)), a = b omega_max).  An affine bound is what a
   mixture of Jordan blocks chosen by the eavesdropper allows;
2. Z_i = [key_i] E_i / p_key - [test_i] (a - b W_i) / p_test is a supermartingale (E_i = phase
   error, W_i = CHSH win); Azuma-Hoeffding (default) or Freedman's inequality (``concentration=
   "freedman"``, with the worst-case conditional variance) bounds sum Z_i by t except with
   probability eps_pe, so the phase-error rate of the key rounds is at most
   e_U = a - b omega_obs + t / rounds;
3. key length (phase-error / uncertainty-relation form, Tomamichel, Lim, Gisin, Renner, Nat.
   Commun. 3, 634 (2012)):
   l = n_key (1 - h(e_U)) - leak_EC - log2(2/eps_cor) - 2 log2(1/(2 eps_pa)),
   with eps_sec = 2 eps_pe + eps_pa (eps_pe = eps_pa = eps_sec / 3 unless given).

Acceptance: omega_obs above is replaced by the acceptance threshold omega_th = omega_obs -
sqrt(ln(1/eps_com)/(2 m)) when a completeness error eps_com is given
(:mod:`qrepeater.qkd.acceptance`); observed counts m (test) and n_key (key) replace the expected
ones when given.

The n -> infinity limit is 1 - h(e_lin(S)) - f h(Q) per key round, *below* Pironio's rate; see
:func:`qrepeater.qkd.rates.complementarity_asymptotic_rate`.
"""

from __future__ import annotations

import math

import numpy as np

from .acceptance import EpsilonBudget, acceptance_threshold
from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability

__all__ = ["EPS_WEIGHTS", "complementarity_key_length"]

#: eps_sec = 2 eps_pe + eps_pa (two estimation steps, step 2 and the QBER-free key formula of step 3).
EPS_WEIGHTS = {"pe": 2.0, "pa": 1.0}

_B_LIN = 1.0 / (2.0 * (OMEGA_MAX - 0.75))
_A_LIN = _B_LIN * OMEGA_MAX


def _phase_error_deviation(rounds: float, p_test: float, p_key: float, eps_pe: float,
                           concentration: str) -> float:
    """Deviation t / rounds of the phase-error rate bound (step 2 of the module docstring)."""
    a, b = _A_LIN, _B_LIN
    log_term = math.log(1.0 / eps_pe)
    z_hi = max(1.0 / p_key, (b - a) / p_test)  # key round with a phase error / test round won
    z_lo = -a / p_test  # test round lost
    if concentration == "azuma":
        c = z_hi - z_lo
        t = c * math.sqrt(rounds * log_term / 2.0)
    else:  # Freedman with the worst-case conditional variance over e in [0, 1/2], omega in [0, 1]
        e = np.linspace(0.0, 0.5, 101)[:, None]
        w = np.linspace(0.0, 1.0, 201)[None, :]
        second = e / p_key + (a * a + (b * b - 2.0 * a * b) * w) / p_test
        mean = e - a + b * w
        v_max = float(np.max(second - mean * mean))
        c_up = z_hi + a  # Z_i - E[Z_i | past] <= z_hi - min(mean) = z_hi + a
        lin = c_up * log_term / 3.0
        t = lin + math.sqrt(lin * lin + 2.0 * rounds * v_max * log_term)
    return t / rounds


def _key_at_fractions(rounds, chsh, qber, p_test, p_key, eps: EpsilonBudget, ec_leak, ec_efficiency,
                      concentration, m=None, n_key=None):
    """(length, leak, details) at fixed test and key fractions ``p_test``, ``p_key`` (step 3).

    ``m``/``n_key``: observed test/key counts (default: the expected ``p_test * rounds`` etc.).
    """
    omega = chsh_to_winning_probability(chsh)
    m = p_test * rounds if m is None else float(m)
    n_key = p_key * rounds if n_key is None else float(n_key)
    omega_th = acceptance_threshold(omega, m, eps.eps_com)
    dev = _phase_error_deviation(rounds, p_test, p_key, eps.eps_pe, concentration)
    e_obs = _A_LIN - _B_LIN * omega_th
    e_u = min(0.5, e_obs + dev)
    leak = ec_efficiency * n_key * binary_entropy(qber) if ec_leak is None else float(ec_leak)
    length = (n_key * (1.0 - binary_entropy(e_u)) - leak - math.log2(2.0 / eps.eps_cor)
              - 2.0 * math.log2(1.0 / (2.0 * eps.eps_pa)))
    details = {
        "key_fraction": p_key,
        "n_key_rounds": n_key,
        "n_test_rounds": m,
        "omega_observed": omega,
        "omega_threshold": omega_th,
        "chsh_threshold": 8.0 * omega_th - 4.0,
        "phase_error_observed_bound": e_obs,
        "phase_error_deviation": dev,
        "phase_error_upper": e_u,
        "concentration": concentration,
    }
    return length, leak, details


def complementarity_key_length(rounds, chsh, qber, *, test_fraction, key_fraction, test_rounds, key_rounds,
                               eps: EpsilonBudget, ec_leakage_bits, ec_efficiency, concentration):
    """(length before flooring, test fraction, leak, details) of the complementarity reconstruction, S > 2.

    Observed ``test_rounds``/``key_rounds`` fix the fractions (m / rounds, n_key / rounds).  Otherwise
    ``test_fraction=None`` optimises it (a grid of 99 values, then 41 around the best) and
    ``key_fraction=None`` means ``1 - test_fraction``; ``ec_leakage_bits=None`` means
    ``ec_efficiency`` times the Shannon cost of the key rounds.
    """
    if test_rounds is not None or key_rounds is not None:
        m = test_rounds if test_rounds is not None else (test_fraction or 0.5) * rounds
        n_key = key_rounds if key_rounds is not None else (
            key_fraction * rounds if key_fraction is not None else rounds - m)
        p_test, p_key = m / rounds, n_key / rounds
        length, leak, details = _key_at_fractions(rounds, chsh, qber, p_test, p_key, eps, ec_leakage_bits,
                                                  ec_efficiency, concentration, m, n_key)
        details["counts"] = "observed"
        return length, p_test, leak, details

    def val(gam):
        pk = key_fraction if key_fraction is not None else 1.0 - gam
        if pk + gam > 1.0 + 1e-12:
            return -math.inf
        return _key_at_fractions(rounds, chsh, qber, gam, pk, eps, ec_leakage_bits, ec_efficiency,
                                 concentration)[0]

    if test_fraction is None:
        grid = np.linspace(0.01, 0.99, 99)
        vals = [val(float(g)) for g in grid]
        i = int(np.argmax(vals))
        fine = np.linspace(max(grid[i] - 0.01, 0.001), min(grid[i] + 0.01, 0.999), 41)
        best_val, best_gam = vals[i], float(grid[i])
        for gam in fine:
            v = val(float(gam))
            if v > best_val:
                best_val, best_gam = v, float(gam)
        test_fraction = best_gam
    pk = key_fraction if key_fraction is not None else 1.0 - test_fraction
    length, leak, details = _key_at_fractions(rounds, chsh, qber, test_fraction, pk, eps, ec_leakage_bits,
                                              ec_efficiency, concentration)
    details["counts"] = "expected"
    return length, test_fraction, leak, details
