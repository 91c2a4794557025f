"""Entropy-accumulation (EAT) finite-size key length of CHSH DI-QKD, general attacks (``method="eat"``).

Protocol (Arnon-Friedman, Dupuis, Fawzi, Renner, Vidick, Nat. Commun. 9, 459 (2018), "AFDFRV"): in
each of n rounds a test round (x, y uniform in {0,1}, CHSH game scored) happens with probability gamma,
otherwise a key round (x=0, y=2); Alice's outputs of *all* rounds form the raw key, Bob learns them by
error correction (so leak_EC covers the key rounds *and* Alice's test-round outputs), and the run is
accepted if the won fraction of test rounds is at least omega_th.

EAT registers (as AFDFRV arrange them, so that the theorem's conditions hold): the entropy is
accumulated on both outputs O_i = (A_i, B~_i), B~_i = Bob's output in a test round and a constant in a
key round (the score is then a function of O_i and the inputs, and the inputs, chosen independently,
are the only side information, so the Markov condition holds), d_O = 4.  Bob's test outputs are removed
afterwards: given T^n they take 2^m values, so H_min(A^n|T^n X^n Y^n E) >= H_min(O^n|T^n X^n Y^n E) - m
(a guess of O^n is a guess of A^n and a uniform guess of the m bits: p_guess(O) >= p_guess(A) 2^-m).

Entropy (single round, Pironio et al. 2009 Eq. (12) in AFDFRV's winning-probability form):
g(omega) = 1 - h(1/2 + 1/2 sqrt(16 omega(omega-1) + 3)).  Min-tradeoff function: the tangent of g at
omega_t, made "infrequent sampling" (AFDFRV): f = G(1) on non-test and won rounds, G(1) - (G(1) -
G(0))/gamma on lost rounds (G = the tangent), so that E f = G(omega), Max f = G(1),
Min f = G(1) - (G(1) - G(0))/gamma, Var f = (G(1) - G(0))^2 (1-omega)(1/gamma - (1-omega)).

Second-order term (Dupuis & Fawzi, "Entropy accumulation with improved second-order term", IEEE TIT 65,
7596 (2019), main theorem, alpha in (1, 2)):

    H_min^{eps_s} >= n f(omega_th) - n (alpha-1) ln2/2 V^2 - (g(eps_s) + alpha log2(1/eps_pe))/(alpha-1)
                     - n (alpha-1)^2 K_alpha,
    V = log2(2 d_O^2 + 1) + sqrt(2 + Var f),
    K_alpha = 2^{(alpha-1)(log2 d_O + Max f - Min f)} ln^3(2^{log2 d_O + Max f - Min f} + e^2)
              / (6 (2-alpha)^3 ln 2),
    g(eps) = -log2(1 - sqrt(1 - eps^2)),  d_O = 4,

with f lower-bounding H(O_i|X_i Y_i T_i E) >= H(A_i|X_i Y_i T_i E) >= g(omega) (Pironio's bound holds for
either of Alice's two CHSH inputs).

Key length: l = H_min^{eps_s} - m - leak_EC - log2(1/eps_cor) - 2 log2(1/(2 eps_pa)) (leftover hashing,
Tomamichel, Schaffner, Smith, Renner, IEEE TIT 57, 5524 (2011); log2(1/eps_cor) bits of verification
hash), leak_EC = f [n_key h(Q) + m h(omega_obs)] with the *observed* counts m (test) and n_key = n - m
(key), eps_sec = eps_pe + eps_pa + 2 eps_s.  omega_th = omega_obs - sqrt(ln(1/eps_com)/(2m)) is the
acceptance threshold with completeness margin (:mod:`qrepeater.qkd.acceptance`).  The tangent point and
alpha are optimised on grids, gamma too when neither it nor the observed test count is given.

Status: this is the analysis Murta et al. (arXiv:1811.07983) describe for coherent attacks (AFDFRV
sharpened by the Dupuis-Fawzi term), **reconstructed** from the theorems above: the Murta et al. text
and the Nadlinger et al. (Nature 607, 682 (2022)) supplement could not be read here, so no number of
theirs is reproduced (docs/diqkd_security.md).
"""

from __future__ import annotations

import math

import numpy as np

from .acceptance import EpsilonBudget, hoeffding_deviation
from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability

__all__ = ["EPS_WEIGHTS", "eat_key_length"]

#: eps_sec = eps_pe + eps_pa + 2 eps_s (eps_pe is the EAT's event error eps_EA).
EPS_WEIGHTS = {"pe": 1.0, "pa": 1.0, "s": 2.0}

_LN2 = math.log(2.0)
#: Dimension of the accumulated register O_i = (Alice's output, Bob's test output).
_D_O = 4.0


def _g(w):
    """Vectorised g(omega) = 1 - h(1/2 + 1/2 sqrt(16 w (w-1) + 3)) (0 below omega = 3/4)."""
    x = np.clip(16.0 * w * (w - 1.0) + 3.0, 0.0, 1.0)
    q = np.clip((1.0 + np.sqrt(x)) / 2.0, 0.5, 1.0 - 1e-16)
    return 1.0 - (-q * np.log2(q) - (1.0 - q) * np.log2(1.0 - q))


def _dg(w):
    x = np.clip(16.0 * w * (w - 1.0) + 3.0, 1e-300, 1.0 - 1e-15)
    rx = np.sqrt(x)
    q = (1.0 + rx) / 2.0
    return -np.log2((1.0 - q) / q) * (32.0 * w - 16.0) / (4.0 * rx)


def _eat_grid(rounds, omega_obs, qber, gammas, test_counts, eps: EpsilonBudget, ec_efficiency, ec_leak):
    """Key length on a grid gamma x omega_t x alpha; returns (best length, params, leak)."""
    gam = np.asarray(gammas, dtype=float)[:, None, None]
    m = np.asarray(test_counts, dtype=float)[:, None, None]
    if eps.eps_com is None:
        omega_th = np.full_like(m, omega_obs)
    else:
        omega_th = omega_obs - np.vectorize(lambda k: hoeffding_deviation(k, eps.eps_com))(m)
    w_ref = float(np.max(omega_th))
    w_hi = min(OMEGA_MAX - 1e-9, w_ref + 0.02)
    w_lo = max(0.75 + 1e-6, min(w_ref, OMEGA_MAX - 1e-6) - 0.06)
    wt = np.linspace(w_lo, w_hi, 41)[None, :, None]
    alpha = (1.0 + np.geomspace(1e-10, 0.4, 91))[None, None, :]
    slope = _dg(wt)
    g_t = _g(wt)
    g0 = g_t + slope * (0.0 - wt)  # tangent at a lost game
    g1 = g_t + slope * (1.0 - wt)  # tangent at a won game
    f_th = g_t + slope * (omega_th - wt)  # f at the acceptance threshold
    spread = g1 - g0  # = slope
    f_max = g1
    f_min = g1 - spread / gam
    w_var = np.clip(omega_th, 0.0, 1.0)
    var_f = spread**2 * (1.0 - w_var) * (1.0 / gam - (1.0 - w_var))
    v = math.log2(2.0 * _D_O**2 + 1.0) + np.sqrt(2.0 + var_f)
    x = math.log2(_D_O) + f_max - f_min
    eps_s = eps.eps_smooth
    with np.errstate(over="ignore", invalid="ignore"):
        # ln(2^x + e^2) as logaddexp(x ln 2, 2): no overflow when Max f - Min f is large (small gamma)
        k_alpha = (np.exp((alpha - 1.0) * x * _LN2) * np.logaddexp(x * _LN2, 2.0) ** 3
                   / (6.0 * (2.0 - alpha) ** 3 * _LN2))
        g_eps = -math.log2(-math.expm1(0.5 * math.log1p(-eps_s * eps_s)))
        h_min_outputs = (rounds * f_th - rounds * (alpha - 1.0) * _LN2 / 2.0 * v**2
                         - (g_eps + alpha * math.log2(1.0 / eps.eps_pe)) / (alpha - 1.0)
                         - rounds * (alpha - 1.0) ** 2 * k_alpha)
    h_min = h_min_outputs - m  # Bob's m test outputs removed (module docstring)
    if ec_leak is None:
        leak = ec_efficiency * ((rounds - m) * binary_entropy(qber) + m * binary_entropy(omega_obs))
    else:
        leak = np.full_like(m, float(ec_leak))
    length = (h_min - leak - math.log2(1.0 / eps.eps_cor) - 2.0 * math.log2(1.0 / (2.0 * eps.eps_pa)))
    length = np.where(np.isfinite(length) & (omega_th > 0.75), length, -np.inf)
    idx = np.unravel_index(int(np.argmax(length)), length.shape)
    best = float(length[idx])
    params = {
        "test_fraction": float(gam[idx[0], 0, 0]),
        "n_test_rounds": float(m[idx[0], 0, 0]),
        "n_key_rounds": float(rounds - m[idx[0], 0, 0]),
        "omega_observed": omega_obs,
        "omega_threshold": float(omega_th[idx[0], 0, 0]),
        "chsh_threshold": 8.0 * float(omega_th[idx[0], 0, 0]) - 4.0,
        "tangent_omega": float(wt[0, idx[1], 0]),
        "renyi_alpha": float(alpha[0, 0, idx[2]]),
        "entropy_rate_first_order": float(np.broadcast_to(f_th, length.shape)[idx]),
        "smooth_min_entropy_bits": float(np.broadcast_to(h_min, length.shape)[idx]),
    }
    leak_best = float(np.broadcast_to(leak, length.shape)[idx])
    return best, params, leak_best


def eat_key_length(rounds, chsh, qber, *, test_fraction, test_rounds, eps: EpsilonBudget,
                   ec_leakage_bits, ec_efficiency):
    """(length before flooring, test fraction, leak, details) of the EAT analysis, S > 2.

    ``test_rounds`` (observed count m) fixes gamma = m / rounds; else ``test_fraction`` with the
    expected count gamma * rounds; if both are None gamma is optimised (a coarse, then a fine grid).
    ``ec_leakage_bits=None`` means ``ec_efficiency`` times the Shannon cost of the key rounds and of
    Alice's test-round outputs (module docstring).
    """
    omega = chsh_to_winning_probability(chsh)
    if test_rounds is not None:
        gammas = [test_rounds / rounds]
        best, params, leak = _eat_grid(rounds, omega, qber, gammas, [float(test_rounds)], eps,
                                       ec_efficiency, ec_leakage_bits)
    elif test_fraction is not None:
        best, params, leak = _eat_grid(rounds, omega, qber, [test_fraction], [test_fraction * rounds],
                                       eps, ec_efficiency, ec_leakage_bits)
    else:
        gammas = np.geomspace(1e-4, 0.9, 60)
        best, params, leak = _eat_grid(rounds, omega, qber, gammas, gammas * rounds, eps,
                                       ec_efficiency, ec_leakage_bits)
        fine = np.clip(params["test_fraction"] * np.geomspace(0.8, 1.25, 21), 1e-5, 0.95)
        best2, params2, leak2 = _eat_grid(rounds, omega, qber, fine, fine * rounds, eps, ec_efficiency,
                                          ec_leakage_bits)
        if best2 > best:
            best, params, leak = best2, params2, leak2
    params["key_fraction"] = 1.0 - params["test_fraction"]
    params["counts"] = "observed" if test_rounds is not None else "expected"
    return best, params["test_fraction"], leak, params
