"""Finite-size DI-QKD with random key measurements (``method="tan2022"`` and ``"tan2022-collective"``).

Source: E. Y.-Z. Tan, P. Sekatski, J.-D. Bancal, R. Schwonnek, R. Renner, N. Sangouard, C. C.-W. Lim,
"Improved DIQKD protocols with finite-size analysis", arXiv:2012.08714 (Quantum 6, 880 (2022)), read
in the restatement of E. Y.-Z. Tan's PhD thesis (ETH Zurich, arXiv:2111.11769v2), whose Chapter 4
"is based on [that paper], and the phrasing and presentation are essentially identical".  Equation
numbers below are the thesis's.  The thesis text was read in full (a PDF-to-text copy, see
docs/diqkd_security.md); the paper itself was not.  This analysis sharpens the EAT proofs of
Arnon-Friedman et al. (2018/2019) and of Murta et al. (arXiv:1811.07983, cited as [MDR+19]; thesis
footnote 8) for the CHSH protocol, and it is the closest *readable* statement of the improved
second-order EAT bound the issue asks for; it is not Murta et al.'s own formula.

Protocol 1 (thesis Sec. 4.1): in each of n rounds Alice picks x in {0, 1} uniformly; Bob picks a test
setting y in {2, 3} with probability gamma (the CHSH game is scored), else y in {0, 1} uniformly (a key
round).  Key rounds with x != y are sifted (both outputs set to 0); Alice may flip her key-round bit
with probability p (noisy preprocessing).  The raw key is Alice's outputs of *all* rounds; Bob learns it
by error correction (ECleak bits + a log2(1/eps_h)-bit hash); the run is accepted when the fraction of
won (lost) test rounds is at least (w_exp - delta_tol) gamma (at most (1 - w_exp + delta_tol) gamma).
*Both* of Alice's settings give key ("random key measurements"), so ``qber`` is taken to be the error
rate of the matched rounds for either setting: a different protocol from the one-key-setting CHSH
protocol of the other methods, with a sifting factor 1/2 but a larger certified entropy.

Entropy (Eq. 3.28): certified affine lower bounds r_p(S) = slope (S - 2) + offset on the entropy of
Alice's key bit averaged over her two settings, for p in {0, 0.2, 0.3, 0.4, 0.45}
(:data:`ENTROPY_BOUNDS`); single-round entropy g(w) = (1 - gamma)/2 r_p(w) + gamma r_0(w) (Eqs. 4.14,
4.54), w = (S + 4)/8 the CHSH winning probability.  Honest error-correction cost (Eq. 4.13)
h_hon = (1 - gamma)/2 h(p + (1 - 2p) Q) + gamma h(w).

Coherent attacks, Theorem 4.1, Eq. (4.18):

    l = n g(w - delta_tol) - n (alpha-1) ln2/2 V^2 - n (alpha-1)^2 K_alpha - n gamma
        - n (alpha'-1) V'^2 / 4 - theta(eps_s')/(alpha-1) - theta(eps_s'')/(alpha'-1)
        - (alpha/(alpha-1) + alpha'/(alpha'-1) - 2) log2(1/eps_EA) - 3 theta(eps_s - eps_s' - 2 eps_s'')
        - ECleak - log2(1/eps_h) - 2 log2(1/eps_PA) + 2,

with beta = g(1) (the thesis's own choice, Sec. 4.2), so Max f - Min f = g(1) - g(w_min) and
Var f <= w_max (g(1) - g(0))^2 / gamma (Eq. 4.20); V = sqrt(Var f + 2) + log2 33,
K_alpha = 2^{(alpha-1)(2 log2 4 + Max - Min)} ln^3(2^{2 log2 4 + Max - Min} + e^2) / (6 (2-alpha)^3 ln 2)
(Eq. 4.19), V' = 2 log2 5, alpha in (1, 2), alpha' in (1, 1 + 2/V'), theta(eps) = log2(1/(1 -
sqrt(1 - eps^2))).  Sound: max(eps_EA, eps_PA + 2 eps_s) + 2 eps_h; correct: eps_h (Eqs. 4.32, 4.43).
Reading of the text copy: the copy drops square-root signs; V is read as the Dupuis-Fawzi form
sqrt(Var + 2) + log2(2 d^2 + 1) with d = dim(S_j) = 4 that the thesis's Fact 4.2 restates.

Collective attacks, Theorem 4.4, Eqs. (4.66)-(4.67):

    l = n g(w - delta_tol - delta_stat) - sqrt(n) (2 log2 5) sqrt(log2(2/eps_s^2))
        - ECleak - log2(1/eps_h) - 2 log2(1/eps_PA) + 2,
    eps_stat >= B_{n, 1 - (w - delta_tol - delta_stat) gamma}(floor((1 - (w - delta_tol) gamma) n)),

sound max(eps_stat, eps_PA + 2 eps_s) + 2 eps_h (eps_stat plays eps_EA's part in the budget).

Completeness (Eq. 4.17): delta_tol is the smallest value with
B_{n, gamma w}(floor((w - delta) gamma n)) + B_{n, 1-gamma+gamma w}(floor((1 - gamma + w gamma - delta gamma) n))
<= eps_com^PE (B = binomial CDF); error correction (Eqs. 4.4, 4.5): ECleak = f n h_hon +
sqrt(n) (2 log2 5) sqrt(log2(2/eps~^2)) + 2 log2(1/(eps_com^EC - eps~)) + 4 with eps~ = eps_com^EC / 2
(f = 1 is the thesis's; ``ec_efficiency`` f >= 1 scales the Shannon part).  eps_com^PE = eps_com^EC =
eps_com / 2.  Without eps_com (after-the-fact sizing): delta_tol = 0 and ECleak = f n h_hon.

Free parameters (the thesis: "numerically optimized, except beta"): gamma on a grid when neither it nor
the observed test count is given, alpha on a grid, alpha' at its stationary point; eps_s' = eps_s/3,
eps_s'' = eps_s/6 (any admissible choice gives a valid bound).

Checks against numbers the thesis states (tests/test_qkd_tan2022.py): the depolarising-noise thresholds
8.39 %, 9.26 %, 9.33 % of Eq. (3.29) for p = 0, 0.2, 0.3 (Fig. 3.2); the asymptotic key rates of Fig.
4.1 (NV and atom Bell tests as estimated by Murta et al.: w = 0.797, Q = 6 %; w = 0.777, Q = 3.5 %);
and Sec. 4.4: those two need "approximately n ~ 10^8 and 10^10 rounds" for a positive key against
coherent attacks and "roughly 1-2 orders of magnitude" fewer against collective attacks
(eps_sou = 1e-3 ... 1e-9, eps_com = 1e-2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qrepeater.errors import ParameterError, check_range

from .acceptance import EpsilonBudget
from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability
from .nadlinger import theta  # theta(eps) = log2(1/(1 - sqrt(1 - eps^2))): thesis Eq. (4.19) = Nadlinger SI Eq. (66)

__all__ = [
    "ENTROPY_BOUNDS",
    "HASH_SHARE",
    "TanSecurity",
    "asymptotic_rate",
    "entropy_bound",
    "honest_ec_entropy",
    "protocol_key_length",
    "security_budget",
    "single_round_entropy",
    "tan_key_length",
    "theta",
    "tolerance_for_completeness",
]

#: Eq. (3.28): r_p(S) >= slope (S - 2) + offset, certified for these noisy-preprocessing p.
ENTROPY_BOUNDS: dict[float, tuple[float, float]] = {
    0.0: (1.190, -0.00454),
    0.2: (0.327, 0.72063),
    0.3: (0.139, 0.88051),
    0.4: (0.0341, 0.97055),
    0.45: (0.00855, 0.992487),
}
#: Share of eps_sec given to the error-correction hash eps_h when eps_cor allows more (log2(100) bits).
HASH_SHARE = 1e-2
#: w_min = (2 - sqrt 2)/4, the smallest quantum CHSH winning probability.
OMEGA_MIN = 1.0 - OMEGA_MAX
_LN2 = math.log(2.0)
_V_PRIME = 2.0 * math.log2(5.0)
_LOG2_33 = math.log2(33.0)
_DIM_TERM = 2.0 * math.log2(4.0)  # "2 log 4" in K_alpha (Eq. 4.19)
_ALPHA_MINUS_ONE = np.geomspace(1e-12, 0.98, 240)
_GAMMAS = np.geomspace(1e-7, 0.5, 57)


def _bound_coefficients(p: float) -> tuple[float, float]:
    for key, coeffs in ENTROPY_BOUNDS.items():
        if abs(key - p) < 1e-12:
            return coeffs
    raise ParameterError("preprocessing", p, f"one of {sorted(ENTROPY_BOUNDS)} (the p of Eq. 3.28)")


def entropy_bound(chsh, p: float = 0.0):
    """Certified entropy r_p(S) of Alice's key bit (both settings, bits per matched round), Eq. (3.28)."""
    slope, offset = _bound_coefficients(p)
    return slope * (np.asarray(chsh, dtype=float) - 2.0) + offset


def single_round_entropy(w, gamma, p: float = 0.0):
    """g(w) = (1 - gamma)/2 r_p(8w - 4) + gamma r_0(8w - 4), Eq. (4.14) (bits per round; affine in w)."""
    chsh = 8.0 * np.asarray(w, dtype=float) - 4.0
    return (1.0 - gamma) / 2.0 * entropy_bound(chsh, p) + gamma * entropy_bound(chsh, 0.0)


def honest_ec_entropy(w, qber, gamma, p: float = 0.0):
    """h_hon = (1 - gamma)/2 h(p + (1 - 2p) Q) + gamma h(w), Eq. (4.13) (bits per round)."""
    return (1.0 - gamma) / 2.0 * binary_entropy(p + (1.0 - 2.0 * p) * qber) + gamma * binary_entropy(w)


def asymptotic_rate(chsh: float, qber: float, p: float = 0.0) -> float:
    """n -> infinity key per round of Protocol 1, Eq. (4.26): (r_p(S) - h(p + (1-2p) Q)) / 2, floored at 0."""
    rate = 0.5 * (float(entropy_bound(chsh, p)) - binary_entropy(p + (1.0 - 2.0 * p) * qber))
    return max(rate, 0.0)


@dataclass(frozen=True)
class TanSecurity:
    """The epsilons of Theorems 4.1 / 4.4 (probabilities).

    ``eps_ea`` is eps_EA (coherent) or eps_stat (collective); ``eps_com_pe`` / ``eps_com_ec`` the
    completeness of the acceptance test / of error correction (None: no margin, delta_tol = 0).
    """

    eps_ea: float
    eps_pa: float
    eps_s: float
    eps_h: float
    eps_com_pe: float | None = None
    eps_com_ec: float | None = None

    @property
    def soundness(self) -> float:
        """max(eps_EA, eps_PA + 2 eps_s) + 2 eps_h (Theorem 4.1)."""
        return max(self.eps_ea, self.eps_pa + 2.0 * self.eps_s) + 2.0 * self.eps_h

    @property
    def secrecy(self) -> float:
        """max(eps_EA, eps_PA + 2 eps_s) + eps_h (Eq. 4.43)."""
        return max(self.eps_ea, self.eps_pa + 2.0 * self.eps_s) + self.eps_h


def _binom_cdf(k, n, p):
    from scipy.stats import binom  # noqa: PLC0415 - scipy only when a tan2022 key is sized

    return binom.cdf(k, n, np.clip(p, 0.0, 1.0))


def _smallest_passing(passes, top):
    """Elementwise smallest delta in [0, ``top``] with ``passes(delta)`` True (monotone), by 60 bisections;
    ``top`` where nothing passes."""
    lo, hi = np.zeros_like(top), top
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        ok = passes(mid)
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return hi


def tolerance_for_completeness(rounds: int, w, gamma, eps_com_pe: float | None):
    """Smallest delta_tol with the Eq. (4.17) abort probability <= ``eps_com_pe`` (0 if None).

    Vectorised over ``gamma`` (and ``w``); bisection to 1e-12 on delta in [0, w].
    """
    w = np.broadcast_to(np.asarray(w, dtype=float), np.shape(gamma)).astype(float)
    gamma = np.asarray(gamma, dtype=float)
    if eps_com_pe is None:
        return np.zeros_like(gamma)
    n = float(rounds)

    def abort(delta):
        first = _binom_cdf(np.floor((w - delta) * gamma * n), n, gamma * w)
        second = _binom_cdf(np.floor((1.0 - gamma + w * gamma - delta * gamma) * n), n, 1.0 - gamma + gamma * w)
        return first + second

    return _smallest_passing(lambda delta: abort(delta) <= eps_com_pe, w.copy())


def _statistical_margin(rounds: int, w_tol, gamma, eps_stat: float):
    """Smallest delta_stat in [0, w_tol) satisfying Eq. (4.66) (vectorised over gamma)."""
    n = float(rounds)
    gamma = np.asarray(gamma, dtype=float)
    w_tol = np.asarray(w_tol, dtype=float)
    k = np.floor((1.0 - w_tol * gamma) * n)

    def tail(delta):
        return _binom_cdf(k, n, 1.0 - (w_tol - delta) * gamma)

    return _smallest_passing(lambda delta: tail(delta) <= eps_stat, np.maximum(w_tol, 0.0))


def _ec_leak(rounds, w, qber, gamma, p, sec: TanSecurity, ec_efficiency):
    """ECleak of Eqs. (4.4)-(4.5) with the Shannon part scaled by f (bits; vectorised over gamma)."""
    leak = ec_efficiency * rounds * honest_ec_entropy(w, qber, gamma, p)
    if sec.eps_com_ec is not None:
        eps_tilde = sec.eps_com_ec / 2.0
        leak = leak + (math.sqrt(rounds) * _V_PRIME * math.sqrt(math.log2(2.0 / eps_tilde**2))
                       + 2.0 * math.log2(1.0 / (sec.eps_com_ec - eps_tilde)) + 4.0)
    return leak


def _coherent_second_order(rounds, gamma, p, sec: TanSecurity):
    """Best alpha, alpha' terms of Eq. (4.18) (bits; arrays over gamma) and the alpha chosen."""
    gamma = np.asarray(gamma, dtype=float)
    g1 = single_round_entropy(1.0, gamma, p)
    g0 = single_round_entropy(0.0, gamma, p)
    var = OMEGA_MAX * (g1 - g0) ** 2 / gamma
    v = np.sqrt(var + 2.0) + _LOG2_33
    spread = _DIM_TERM + g1 - single_round_entropy(OMEGA_MIN, gamma, p)
    eps_s1, eps_s2 = sec.eps_s / 3.0, sec.eps_s / 6.0
    log_ea = math.log2(1.0 / sec.eps_ea)
    a = _ALPHA_MINUS_ONE[:, None]
    k_alpha = (np.exp2(a * spread) * np.log(np.exp2(spread) + math.e**2) ** 3 / (6.0 * (1.0 - a) ** 3 * _LN2))
    alpha_cost = (rounds * a * _LN2 / 2.0 * v**2 + rounds * a**2 * k_alpha
                  + (float(theta(eps_s1)) + log_ea) / a)
    best = np.argmin(alpha_cost, axis=0)
    cost_alpha = alpha_cost[best, np.arange(gamma.size)]
    c2 = float(theta(eps_s2)) + log_ea
    a2 = min(math.sqrt(c2 / (rounds * _V_PRIME**2 / 4.0)), 2.0 / _V_PRIME * (1.0 - 1e-9))
    cost_alpha2 = rounds * a2 * _V_PRIME**2 / 4.0 + c2 / a2
    rest = 3.0 * float(theta(sec.eps_s - eps_s1 - 2.0 * eps_s2))
    return cost_alpha + cost_alpha2 + rest, 1.0 + _ALPHA_MINUS_ONE[best], 1.0 + a2


def protocol_key_length(rounds: int, w: float, qber: float, gamma, sec: TanSecurity, *,
                        attacks: str = "coherent", p: float = 0.0, ec_efficiency: float = 1.0,
                        ec_leakage_bits: float | None = None) -> dict:
    """Key length (bits, before flooring) of Protocol 1 at test probabilities ``gamma`` (array).

    ``attacks="coherent"``: Theorem 4.1 (Eq. 4.18); ``"collective"``: Theorem 4.4 (Eq. 4.67).  Returns
    a dict of arrays over ``gamma``: ``length``, ``delta_tol``, ``delta_stat`` (collective),
    ``leak_ec``, ``entropy_term`` (n g(...)), ``second_order`` and the alphas (coherent).
    """
    gamma = np.atleast_1d(np.asarray(gamma, dtype=float))
    n = float(rounds)
    delta_tol = tolerance_for_completeness(rounds, w, gamma, sec.eps_com_pe)
    leak = (np.full_like(gamma, float(ec_leakage_bits)) if ec_leakage_bits is not None
            else _ec_leak(rounds, w, qber, gamma, p, sec, ec_efficiency))
    fixed = math.log2(1.0 / sec.eps_h) + 2.0 * math.log2(1.0 / sec.eps_pa) - 2.0
    out = {"gamma": gamma, "delta_tol": delta_tol, "leak_ec": leak}
    if attacks == "collective":
        delta_stat = _statistical_margin(rounds, w - delta_tol, gamma, sec.eps_ea)
        entropy = n * single_round_entropy(w - delta_tol - delta_stat, gamma, p)
        second = math.sqrt(n) * _V_PRIME * math.sqrt(math.log2(2.0 / sec.eps_s**2))
        out.update(delta_stat=delta_stat, second_order=np.full_like(gamma, second))
    elif attacks == "coherent":
        entropy = n * single_round_entropy(w - delta_tol, gamma, p)
        second, alpha, alpha2 = _coherent_second_order(rounds, gamma, p, sec)
        second = second + n * gamma  # Bob's test outputs: H_max(B'|XYE) <= n gamma + ... (Eq. 4.52)
        out.update(second_order=second, alpha=alpha, alpha_prime=np.full_like(gamma, alpha2))
    else:
        raise ParameterError("attacks", attacks, "'coherent' or 'collective'")
    out["entropy_term"] = entropy
    out["length"] = entropy - second - leak - fixed
    return out


def security_budget(eps_sec: float, eps_cor: float, eps_pe: float | None = None, eps_pa: float | None = None,
                    eps_com: float | None = None) -> EpsilonBudget:
    """eps of Theorems 4.1/4.4 from the CLI's eps_sec (secrecy, Eq. 4.43) and eps_cor (correctness).

    eps_h = min(eps_cor, :data:`HASH_SHARE` eps_sec) is both the hash collision probability and the
    correctness reported; the rest B = eps_sec - eps_h gives eps_EA (or eps_stat) = ``eps_pe`` or B,
    eps_PA = ``eps_pa`` or B/3, eps_s = (B - eps_PA)/2, so max(eps_EA, eps_PA + 2 eps_s) + eps_h = eps_sec.
    """
    check_range("eps_sec", eps_sec, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range("eps_cor", eps_cor, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if eps_com is not None:
        check_range("eps_com", eps_com, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    eps_h = min(eps_cor, HASH_SHARE * eps_sec)
    budget = eps_sec - eps_h
    eps_ea = budget if eps_pe is None else eps_pe
    eps_pa = budget / 3.0 if eps_pa is None else eps_pa
    if not 0.0 < eps_ea <= budget:
        raise ParameterError("eps_pe", eps_pe, f"in (0, eps_sec - eps_h = {budget:.6g}] (eps_EA of tan2022)")
    if not 0.0 < eps_pa < budget:
        raise ParameterError("eps_pa", eps_pa, f"in (0, eps_sec - eps_h = {budget:.6g})")
    return EpsilonBudget(eps_sec=eps_sec, eps_cor=eps_h, eps_pe=float(eps_ea), eps_pa=float(eps_pa),
                         eps_smooth=(budget - eps_pa) / 2.0, eps_com=eps_com)


def _security(eps: EpsilonBudget) -> TanSecurity:
    half = None if eps.eps_com is None else eps.eps_com / 2.0
    return TanSecurity(eps_ea=eps.eps_pe, eps_pa=eps.eps_pa, eps_s=eps.eps_smooth, eps_h=eps.eps_cor,
                       eps_com_pe=half, eps_com_ec=half)


def tan_key_length(rounds, chsh, qber, *, test_fraction, test_rounds, eps: EpsilonBudget, ec_leakage_bits,
                   ec_efficiency, attacks="coherent"):
    """(length before flooring, test fraction, leak, details) for :func:`~qrepeater.qkd.finite_size.finite_key`.

    gamma = ``test_rounds``/rounds (observed), else ``test_fraction``, else the best of a grid refined
    once; w = (S + 4)/8 and Q the observed values; no noisy preprocessing (p = 0, as in the thesis's
    Figs. 4.1, 4.2).
    """
    w = chsh_to_winning_probability(chsh)
    sec = _security(eps)
    kw = {"attacks": attacks, "ec_efficiency": ec_efficiency, "ec_leakage_bits": ec_leakage_bits}
    if test_rounds is not None:
        gammas = np.array([test_rounds / rounds])
    elif test_fraction is not None:
        gammas = np.array([float(test_fraction)])
    else:
        coarse = protocol_key_length(rounds, w, qber, _GAMMAS, sec, **kw)
        g0 = float(_GAMMAS[int(np.argmax(coarse["length"]))])
        gammas = np.clip(g0 * np.geomspace(0.75, 1.33, 11), 1e-9, 0.9)
    res = protocol_key_length(rounds, w, qber, gammas, sec, **kw)
    i = int(np.argmax(res["length"]))
    gam = float(gammas[i])
    length = float(res["length"][i])
    details = {key: float(val[i]) for key, val in res.items() if isinstance(val, np.ndarray)}
    details.update({
        "protocol": "random key measurements (Tan et al. 2022, Protocol 1): key from both of Alice's settings",
        "attacks": attacks, "noisy_preprocessing_p": 0.0, "omega_observed": w, "test_fraction": gam,
        "n_test_rounds": float(test_rounds) if test_rounds is not None else gam * rounds,
        "omega_threshold": w - details["delta_tol"],  # acceptance: won fraction of test rounds
        "omega_certified": w - details["delta_tol"] - details.get("delta_stat", 0.0),  # entropy taken at
        "soundness": sec.soundness, "eps_h": sec.eps_h,
        "counts": "observed" if test_rounds is not None else "expected",
        "completeness": "binomial (Eq. 4.17)" if sec.eps_com_pe is not None else "none",
    })
    if not math.isfinite(length):
        length = -math.inf
    return length, gam, float(res["leak_ec"][i]), details
