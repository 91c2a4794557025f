"""Entropy-accumulation (EAT) finite-size key length of CHSH DI-QKD (``method="eat"``).

Protocol, counts and error-correction leakage as in :mod:`qrepeater.qkd.finite_size`, which
dispatches here.

Arnon-Friedman, Dupuis, Fawzi, Renner, Vidick, Nat. Commun. 9, 459 (2018) protocol and min-tradeoff
function (the tangent of g(omega) = 1 - h(1/2 + 1/2 sqrt(16 omega(omega-1)+3)) at omega_t, made
into an infrequent-sampling tradeoff function), with the improved second-order term of Dupuis &
Fawzi, IEEE TIT 65, 7596 (2019), Thm 3.6 (the form used in the supplement of Nadlinger et al.,
Nature 607, 682 (2022)):

    H_min^{eps_s} >= n f(q) - n (alpha-1) ln2/2 V^2 - (g(eps_s) + alpha log2(1/eps_ea))/(alpha-1)
                     - n (alpha-1)^2 K_alpha,
    V = log2(2 d_A^2 + 1) + sqrt(2 + Var f),
    K_alpha = 2^{(alpha-1)(log2 d_A + Max f - Min f)} ln^3(2^{log2 d_A + Max f - Min f} + e^2)
              / (6 (2-alpha)^3 ln 2),
    g(eps) = -log2(1 - sqrt(1 - eps^2)),  d_A = 2,

key length l = H_min - leak_EC - 2 log2(1/eps_pa) with leak_EC = f n [(1-gamma) h(Q) + gamma h(omega)]
(Bob must also learn Alice's test-round outputs to score the game), eps_s = eps_ea = eps_pa =
eps_sec/3.  The tangent point omega_t, the Renyi order alpha and (if not given) gamma are optimised
on grids.  The acceptance threshold is the observed winning rate (soundness only; no completeness
margin is charged).  The Nadlinger et al. supplement adds refinements we did not reproduce.
"""

from __future__ import annotations

import math

import numpy as np

from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability

__all__ = ["eat_key_length"]

_LN2 = math.log(2.0)
_D_A = 2.0


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


def _eat_grid(rounds, omega, qber, gammas, eps_s, eps_ea, eps_pa, ec_efficiency, ec_leak):
    """Key length on a grid gamma x omega_t x alpha; returns (best length, params, leak)."""
    w_hi = min(OMEGA_MAX - 1e-9, omega + 0.02)
    w_lo = max(0.75 + 1e-6, omega - 0.06)
    wt = np.linspace(w_lo, w_hi, 41)[None, :, None]
    alpha = (1.0 + np.geomspace(1e-6, 0.4, 61))[None, None, :]
    gam = np.asarray(gammas, dtype=float)[:, None, None]
    slope = _dg(wt)
    g_t = _g(wt)
    g0 = g_t + slope * (0.0 - wt)  # tangent at a lost game
    g1 = g_t + slope * (1.0 - wt)  # tangent at a won game
    f_q = g_t + slope * (omega - wt)  # f at the observed statistics
    spread = g1 - g0  # = slope
    f_max = g1
    f_min = g1 - spread / gam
    var_f = spread**2 * (1.0 - omega) * (1.0 / gam - (1.0 - omega))
    v = math.log2(2.0 * _D_A**2 + 1.0) + np.sqrt(2.0 + var_f)
    x = math.log2(_D_A) + f_max - f_min
    with np.errstate(over="ignore", invalid="ignore"):
        k_alpha = (np.exp((alpha - 1.0) * x * _LN2) * np.log(np.exp(x * _LN2) + math.e**2) ** 3
                   / (6.0 * (2.0 - alpha) ** 3 * _LN2))
        g_eps = -math.log2(-math.expm1(0.5 * math.log1p(-eps_s * eps_s)))
        h_min = (rounds * f_q - rounds * (alpha - 1.0) * _LN2 / 2.0 * v**2
                 - (g_eps + alpha * math.log2(1.0 / eps_ea)) / (alpha - 1.0)
                 - rounds * (alpha - 1.0) ** 2 * k_alpha)
    if ec_leak is None:
        leak = ec_efficiency * rounds * ((1.0 - gam) * binary_entropy(qber)
                                         + gam * binary_entropy(omega))
    else:
        leak = np.full_like(gam, float(ec_leak))
    length = h_min - leak - 2.0 * math.log2(1.0 / eps_pa)
    length = np.where(np.isfinite(length), length, -np.inf)
    idx = np.unravel_index(int(np.argmax(length)), length.shape)
    best = float(length[idx])
    params = {
        "test_fraction": float(gam[idx[0], 0, 0]),
        "tangent_omega": float(wt[0, idx[1], 0]),
        "renyi_alpha": float(alpha[0, 0, idx[2]]),
        "entropy_rate_first_order": float(f_q[0, idx[1], 0]),
        "smooth_min_entropy_bits": float(np.broadcast_to(h_min, length.shape)[idx]),
    }
    leak_best = float(np.broadcast_to(leak, length.shape)[idx])
    return best, params, leak_best


def eat_key_length(rounds, chsh, qber, test_fraction, eps_sec, ec_leakage_bits, ec_efficiency):
    """(length before flooring, test fraction, leak, details) of the EAT analysis, S > 2.

    ``test_fraction=None`` optimises the test probability gamma (a coarse, then a fine grid);
    ``ec_leakage_bits=None`` means ``ec_efficiency`` times the Shannon cost of all rounds (see the
    module docstring).
    """
    eps_s = eps_ea = eps_pa = eps_sec / 3.0
    omega = chsh_to_winning_probability(chsh)
    if test_fraction is None:
        gammas = np.geomspace(1e-4, 0.9, 60)
        best, params, leak = _eat_grid(rounds, omega, qber, gammas, eps_s, eps_ea, eps_pa,
                                       ec_efficiency, ec_leakage_bits)
        g0 = params["test_fraction"]
        fine = np.clip(g0 * np.geomspace(0.8, 1.25, 21), 1e-5, 0.95)
        best2, params2, leak2 = _eat_grid(rounds, omega, qber, fine, eps_s, eps_ea, eps_pa,
                                          ec_efficiency, ec_leakage_bits)
        if best2 > best:
            best, params, leak = best2, params2, leak2
    else:
        best, params, leak = _eat_grid(rounds, omega, qber, [test_fraction], eps_s, eps_ea,
                                       eps_pa, ec_efficiency, ec_leakage_bits)
    params.update({"eps_s": eps_s, "eps_ea": eps_ea, "eps_pa": eps_pa,
                   "key_fraction": 1.0 - params["test_fraction"]})
    return best, params["test_fraction"], leak, params
