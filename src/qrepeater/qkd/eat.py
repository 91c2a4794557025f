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

Second-order term: the improved term of Dupuis & Fawzi, "Entropy accumulation with improved second-order
term", IEEE TIT 65, 7596 (2019), in the form Liu et al. (Nat. Phys. 17, 448 (2021), SI Thm 3) give it for
this infrequent-sampling CHSH channel and Nadlinger et al. (Nature 607, 682 (2022), SI Theorem 1,
Eqs. (61)-(70), (101)-(104)) use, d_O = 4, alpha in (1, 2):

    H_min^{eps_s} >= n f(omega_th) + n inf_omega [Delta(omega) - (alpha-1) V(omega)]
                     - (g(eps_s) + alpha log2(1/eps_pe))/(alpha-1) - n (alpha-1)^2 K_alpha,
    Delta(omega) = g(omega) - G(omega) >= 0,   V(omega) = ln2/2 (log2(2 d_O^2 + 1) + sqrt(2 + Var_omega f))^2,
    Var_omega f = (G(1) - G(0))^2 (1-omega)(1/gamma - (1-omega)),
    K_alpha = 2^{(alpha-1)(log2 d_O + X)} ln^3(2^{log2 d_O + X} + e^2) / (6 (2-alpha)^3 ln 2),
    X = Max f - min over quantum omega of f = G(1) - G(omega_min),
    g(eps) = -log2(1 - sqrt(1 - eps^2)),  omega in [omega_min, omega_max] = [(2-sqrt2)/4, (2+sqrt2)/4]
    (:func:`tradeoff_second_order`, :func:`exact_infimum`),

with f lower-bounding H(O_i|X_i Y_i T_i E) >= H(A_i|X_i Y_i T_i E) >= g(omega) (Pironio's bound holds for
either of Alice's two CHSH inputs).  Until 2026-11-30 this module took Min f over *all* distributions
(G(1) - (G(1) - G(0))/gamma, a lost test round), which no quantum device produces: X ~ 240 instead of
~10 at gamma = 13/256, and K_alpha ~ 8,000 times too large; and V at omega_th only, where the theorem
needs the infimum over omega.  At n = 1.5e6, S = 2.64, Q = 1.8 %, gamma = 13/256, m = 296,517 bits,
eps_sec = eps_cor = 5e-11, eps_com = 1e-2 the key went from 1,481 to ~131,000 bits.

Key length: l = H_min^{eps_s} - m - leak_EC - log2(1/eps_cor) - 2 log2(1/(2 eps_pa)) (leftover hashing,
Tomamichel, Schaffner, Smith, Renner, IEEE TIT 57, 5524 (2011); log2(1/eps_cor) bits of verification
hash), leak_EC = f [n_key h(Q) + m h(omega_obs)] with the *observed* counts m (test) and n_key = n - m
(key), eps_sec = eps_pe + eps_pa + 2 eps_s.  omega_th = omega_obs - sqrt(ln(1/eps_com)/(2m)) is the
acceptance threshold with completeness margin (:mod:`qrepeater.qkd.acceptance`).  The tangent point and
alpha are optimised on grids, gamma too when neither it nor the observed test count is given.

Status: this is the analysis Murta et al. (arXiv:1811.07983) describe for coherent attacks (AFDFRV
sharpened by the Dupuis-Fawzi term), **reconstructed** from the theorems above: the Murta et al. text
could not be read here.  Compared with the published Nadlinger et al. analysis
(:mod:`qrepeater.qkd.nadlinger`, same EAT bound), Bob's test outputs cost exactly m bits here instead of
their smooth max-entropy bound (Eq. 112 there: n gamma plus a second-order term), and privacy
amplification is leftover hashing instead of Trevisan extraction, so this key is larger at equal inputs.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from .acceptance import EpsilonBudget, hoeffding_deviation
from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability

__all__ = ["ALPHA_MINUS_ONE", "ALPHA_STEP", "EPS_WEIGHTS", "OMEGA_MIN", "eat_key_length", "exact_infimum",
           "fine_grid", "tradeoff_second_order"]

#: eps_sec = eps_pe + eps_pa + 2 eps_s (eps_pe is the EAT's event error eps_EA).
EPS_WEIGHTS = {"pe": 1.0, "pa": 1.0, "s": 2.0}

_LN2 = math.log(2.0)
#: Dimension of the accumulated register O_i = (Alice's output, Bob's test output).
_D_O = 4.0
#: Smallest quantum CHSH-game winning probability, (2 - sqrt 2)/4.
OMEGA_MIN = 1.0 - OMEGA_MAX
#: Grid of alpha - 1 for the Renyi parameter (consecutive points differ by the factor ALPHA_STEP).
ALPHA_MINUS_ONE = np.geomspace(1e-9, 0.3, 44)
ALPHA_STEP = float(ALPHA_MINUS_ONE[1] / ALPHA_MINUS_ONE[0])


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


def tradeoff_second_order(gamma, tangent, alpha, *, omega_points=24, d=_D_O):
    """Second-order terms of the EAT with the improved (Dupuis-Fawzi) term, on a grid of tangent points.

    For the CHSH infrequent-sampling channel (test probability ``gamma``) and the min-tradeoff function
    f_t = the tangent g_t(omega) = eta(t) + (omega - t) eta'(t) of eta = Pironio's bound, made affine on
    {lost, won, no test} (f_t(lost) = g_t(1) - eta'(t)/gamma, f_t(won) = f_t(no test) = g_t(1)), this
    returns, following Nadlinger et al., Nature 607, 682 (2022), SI Eqs. (61)-(70), (101)-(104) (their
    Theorem 1 = Theorem 3 of Liu et al., Nat. Phys. 17, 448 (2021), built on Dupuis & Fawzi, IEEE TIT 65,
    7596 (2019), with d = 4 for the accumulated registers A_i B'_i):

        inf_{omega in [omega_min, omega_max]} [Delta(f_t, omega) - (alpha - 1) V(f_t, q(omega))]
        Delta(f_t, omega) = eta(omega) - g_t(omega)                                     (Eq. 68)
        V(f_t, p) = ln2/2 (log2(2 d^2 + 1) + sqrt(2 + Var_p(f_t)))^2                    (Eq. 69)
        Var_{q(omega)}(f_t) = p0 (1 - p0) (eta'(t)/gamma)^2,  p0 = gamma (1 - omega)   (Eq. 65, 67)
        K_alpha = 2^{(alpha-1)(log2 d + X)} ln^3(2^{log2 d + X} + e^2) / (6 (2-alpha)^3 ln2),
        X = Max(f_t) - Min_{Q_gamma}(f_t) = g_t(1) - g_t(omega_min)                     (Eqs. 70, 103, 104)

    The minimum of f_t over the distributions a quantum device can produce is g_t(omega_min), not the
    value f_t(lost) of a lost test: this is what makes the term small for small ``gamma``.

    Parameters
    ----------
    gamma : float
        Test-round probability.
    tangent : ndarray, shape (T, 1)
        Tangent points t in (3/4, omega_max).
    alpha : ndarray, shape (1, A)
        Renyi parameters in (1, 2).
    omega_points : int
        Grid points for the infimum over omega (denser near t); :func:`exact_infimum` refines it.

    Returns
    -------
    infimum, k_alpha : ndarray, shape (T, A)
    """
    t = np.asarray(tangent, dtype=float)
    a = np.asarray(alpha, dtype=float)
    slope = _dg(t)
    u = np.linspace(0.0, 1.0, omega_points)
    below = t - (t - OMEGA_MIN) * u**2  # dense near t, where the infimum lies
    above = t + (OMEGA_MAX - t) * np.linspace(0.0, 1.0, 9)[1:]
    w = np.concatenate([below, above], axis=-1)  # (T, W)
    delta = _g(w) - (_g(t) + (w - t) * slope)
    p0 = gamma * (1.0 - w)
    var = p0 * (1.0 - p0) * (slope / gamma) ** 2
    v = _LN2 / 2.0 * (math.log2(2.0 * d * d + 1.0) + np.sqrt(2.0 + var)) ** 2
    infimum = np.min(delta[:, None, :] - (a[..., None] - 1.0) * v[:, None, :], axis=-1)
    x = math.log2(d) + slope * (1.0 - OMEGA_MIN)  # log2 d + g_t(1) - g_t(omega_min)
    with np.errstate(over="ignore"):
        # ln(2^x + e^2) as logaddexp(x ln2, 2): no overflow for steep tangents
        k_alpha = (np.exp((a - 1.0) * x * _LN2) * np.logaddexp(x * _LN2, 2.0) ** 3
                   / (6.0 * (2.0 - a) ** 3 * _LN2))
    return infimum, k_alpha


def exact_infimum(gamma: float, tangent: float, alpha: float, d: float = _D_O) -> float:
    """The infimum of :func:`tradeoff_second_order` for one (gamma, t, alpha), refined to ~1e-12.

    A 4001-point grid over [omega_min, omega_max] and Brent's method in the bracket of the smallest
    grid value; the result is never above the grid value (the key stays a lower bound).
    """
    def obj(w):
        w = np.asarray(w, dtype=float)
        slope = float(_dg(tangent))
        p0 = gamma * (1.0 - w)
        v = _LN2 / 2.0 * (math.log2(2.0 * d * d + 1.0) + np.sqrt(2.0 + p0 * (1.0 - p0) * (slope / gamma) ** 2)) ** 2
        return _g(w) - (_g(tangent) + (w - tangent) * slope) - (alpha - 1.0) * v

    grid = np.linspace(OMEGA_MIN, OMEGA_MAX, 4001)
    vals = obj(grid)
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(lambda w: float(obj(w)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-12})
    return float(min(vals[i], res.fun))


def fine_grid(t: float, alpha: float, t_step: float, points: int = 17):
    """(T, 1) tangent and (1, A) Renyi arrays spanning one coarse grid step around (t, alpha)."""
    tt = np.linspace(max(0.75 + 1e-6, t - t_step), min(OMEGA_MAX - 1e-9, t + t_step), points)[:, None]
    aa = (1.0 + (alpha - 1.0) * np.geomspace(1.0 / ALPHA_STEP, ALPHA_STEP, points))[None, :]
    return tt, aa


def _h_min_outputs(rounds, gam, omega_th, wt, alpha, eps: EpsilonBudget, g_eps, omega_points=24):
    """EAT bound on H_min(O^n|...) over the (T, 1) x (1, A) grid, and f at omega_th (T, 1)."""
    infimum, k_alpha = tradeoff_second_order(gam, wt, alpha, omega_points=omega_points)
    f_th = _g(wt) + _dg(wt) * (omega_th - wt)  # f at the acceptance threshold
    with np.errstate(over="ignore", invalid="ignore"):
        h = (rounds * f_th + rounds * infimum - (g_eps + alpha * math.log2(1.0 / eps.eps_pe)) / (alpha - 1.0)
             - rounds * (alpha - 1.0) ** 2 * k_alpha)
    return np.where(np.isfinite(h), h, -np.inf), f_th


def _eat_grid(rounds, omega_obs, qber, gammas, test_counts, eps: EpsilonBudget, ec_efficiency, ec_leak):
    """Key length on a grid gamma x omega_t x alpha; returns (best length, params, leak)."""
    eps_s = eps.eps_smooth
    g_eps = -math.log2(-math.expm1(0.5 * math.log1p(-eps_s * eps_s)))
    alpha = (1.0 + ALPHA_MINUS_ONE)[None, :]
    best = (-math.inf, None)
    for gam, m in zip(np.atleast_1d(np.asarray(gammas, dtype=float)), np.atleast_1d(test_counts)):
        m = float(m)
        omega_th = omega_obs if eps.eps_com is None else omega_obs - hoeffding_deviation(m, eps.eps_com)
        if not omega_th > 0.75:
            continue
        w_hi = min(OMEGA_MAX - 1e-9, omega_th + 0.01)
        w_lo = max(0.75 + 1e-6, min(omega_th, OMEGA_MAX - 1e-6) - 0.05)
        wt = np.linspace(w_lo, w_hi, 21)[:, None]
        h_min, f_th = _h_min_outputs(rounds, float(gam), omega_th, wt, alpha, eps, g_eps)
        if ec_leak is None:
            leak = ec_efficiency * ((rounds - m) * binary_entropy(qber) + m * binary_entropy(omega_obs))
        else:
            leak = float(ec_leak)
        tail = m + leak + math.log2(1.0 / eps.eps_cor) + 2.0 * math.log2(1.0 / (2.0 * eps.eps_pa))
        length = h_min - tail
        i, j = np.unravel_index(int(np.argmax(length)), length.shape)
        if length[i, j] > best[0]:
            best = (float(length[i, j]), (float(gam), m, omega_th, float(wt[i, 0]), float(alpha[0, j]), leak,
                                          tail, float(wt[1, 0] - wt[0, 0])))
    if best[1] is None:
        gam, m = float(np.atleast_1d(gammas)[0]), float(np.atleast_1d(test_counts)[0])
        omega_th = omega_obs if eps.eps_com is None else omega_obs - hoeffding_deviation(m, eps.eps_com)
        params = {"test_fraction": gam, "n_test_rounds": m, "n_key_rounds": float(rounds - m),
                  "omega_observed": omega_obs, "omega_threshold": omega_th, "chsh_threshold": 8 * omega_th - 4,
                  "reason": "acceptance threshold at or below omega = 3/4: no certified entropy"}
        leak = float(ec_leak) if ec_leak is not None else ec_efficiency * (
            (rounds - m) * binary_entropy(qber) + m * binary_entropy(omega_obs))
        return -math.inf, params, leak
    gam, m, omega_th, t, a, leak, tail, t_step = best[1]
    # a finer search around the best grid point, then the refined infimum over omega
    tt, aa = fine_grid(t, a, t_step)
    h_min = _h_min_outputs(rounds, gam, omega_th, tt, aa, eps, g_eps, omega_points=64)[0]
    i, j = np.unravel_index(int(np.argmax(h_min)), h_min.shape)
    t, a = float(tt[i, 0]), float(aa[0, j])
    f_th = float(_g(t) + _dg(t) * (omega_th - t))
    # the reported key uses the refined infimum over omega (never above the grid value)
    infimum = exact_infimum(gam, t, a)
    k_alpha = float(tradeoff_second_order(gam, np.array([[t]]), np.array([[a]]))[1][0, 0])
    second = rounds * infimum - (g_eps + a * math.log2(1.0 / eps.eps_pe)) / (a - 1.0) - rounds * (a - 1.0) ** 2 * k_alpha
    h_min_outputs = rounds * f_th + second
    params = {
        "test_fraction": gam,
        "n_test_rounds": m,
        "n_key_rounds": float(rounds - m),
        "omega_observed": omega_obs,
        "omega_threshold": omega_th,
        "chsh_threshold": 8.0 * omega_th - 4.0,
        "tangent_omega": t,
        "renyi_alpha": a,
        "entropy_rate_first_order": f_th,
        "second_order_bits": second,
        "k_alpha": k_alpha,
        "smooth_min_entropy_bits": h_min_outputs - m,
    }
    return h_min_outputs - tail, params, leak


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
