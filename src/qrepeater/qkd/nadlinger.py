"""The finite-size analysis of the Oxford DI-QKD experiment (``method="nadlinger2022"``), general attacks.

Source: Nadlinger, Drmota, Nichol, Araneda, Main, Srinivas, Lucas, Ballance, Ivanov, Tan, Sekatski,
Urbanke, Renner, Sangouard, Bancal, "Experimental quantum key distribution certified by Bell's theorem",
Nature 607, 682 (2022), arXiv:2109.14600v2: main text, Methods and Supplementary Information (SI), read
in full.  Equation numbers below are the SI's.

Protocol (SI S4, Fig. S6): n rounds; Bob picks a test round (y in {0,1}) with probability gamma, else a
key round (y = 2, Alice x = 0); Alice's outputs of *all* rounds are the raw key; Alice sends a syndrome
of m bits (Eq. 23: m = n((1-gamma) h(Q) + gamma h((4-S)/8)) + 50 sqrt n); the run is accepted if at most
n gamma (1 - omega_thr) test rounds lose the CHSH game (Eq. 5), omega_thr = 1 - q_thr/gamma,
q_thr = q + k sqrt(q(1-q)/n), q = gamma(1 - omega), k = 3 (Eqs. 24, 25; omega = (4+S)/8 is the design
value).  Privacy amplification by a Trevisan extractor, hashes and authentication tags by 64-bit VHASH.

Key length (SI Proposition 2, Eq. 73):

    l = Upsilon_b( n g_t(omega_thr) + n inf_omega [Delta(f_t, omega) - (alpha'-1) V(f_t, q(omega))]
                   - n (alpha'-1)^2 K_alpha'(f_t) - n gamma - n (alpha''-1) (log2 5)^2
                   - (theta(eps_s') + alpha' log2(1/eps_EA))/(alpha'-1)
                   - (theta(eps_s'') + alpha'' log2(1/eps_EA))/(alpha''-1)
                   - 3 theta(eps_s - eps_s' - 2 eps_s'') - 5 log2(1/eps_PA) - m - 264 )

* g_t(omega) = eta(t) + (omega - t) eta'(t), the tangent at t of the CHSH entropy bound
  eta(omega) = 1 - h(1/2 + sqrt(16 omega(omega-1) + 3)/2) (Eqs. 61, 62); the first two lines are the
  EAT bound on H_min(A B'|X Y E) of Theorem 1 (Eq. 101 = Theorem 3 of Liu et al., Nat. Phys. 17, 448
  (2021), with the improved second-order term of Dupuis & Fawzi, IEEE TIT 65, 7596 (2019), d = 4):
  :func:`qrepeater.qkd.eat.tradeoff_second_order` computes Delta, V and K_alpha' (Eqs. 63-70, 102-104).
* n gamma + n (alpha''-1)(log2 5)^2 + (theta(eps_s'') + alpha'' log2(1/eps_EA))/(alpha''-1) bounds the
  smooth max-entropy of Bob's test outputs (Eq. 112, V' = 2 log2 5, alpha'' in (1, 1 + 1/log2 5));
  3 theta(...) is the chain rule (Eq. 94); theta(eps) = log2(1/(1 - sqrt(1 - eps^2))) (Eq. 66).
* 264 = 258 bits of public messages besides the syndrome (Eq. 93: four 64-bit tags, two flags) + 6 of
  the extractor (Eq. 53); Upsilon_b(x) solves y + b ln y = x, b = 4/ln 2 (Eq. 52; Eq. 55:
  x - b ln x <= Upsilon_b(x) <= x).
* Soundness: eps_sec = max(eps_EA, eps_PA + 2 eps_s) + 4 eps_h (Eq. 91), eps_cor = eps_h = 2^-61
  (Eq. 78, VHASH); eps_s' + 2 eps_s'' < eps_s (Eq. 72).

Free parameters t, alpha', alpha'' and the split of eps_s are optimised (the paper: "optimize all other
parameters"): t and alpha' on grids, alpha'' and the eps_s split at the stationary point of their terms
(any admissible choice is valid; these are near-optimal).  The infimum over omega of the reported key is
refined to ~1e-12 (:func:`qrepeater.qkd.eat.exact_infimum`), so the key is never above the bound.

Reading of the text copy (PDF to text garbles some typesetting): Eq. 69 is read as
V = ln2/2 (log2 33 + sqrt(2 + Var))^2 and Eq. 70 as K = 2^{(alpha-1)(2 + X)} ln^3(2^{2+X} + e^2) /
(6 (2-alpha)^3 ln 2), X = g_t(1) - g_t(omega_min): the Dupuis-Fawzi forms with d_A = 4 that SI footnote
[74] describes; "log2(5)" in Eq. 73 is (log2 5)^2, from Eq. 110 (n (alpha''-1) V'^2 / 4).

Reproduction (tests/test_qkd_nadlinger.py): at the published inputs (n = 1.5e6, gamma = 13/256,
S = 2.64, Q = 1.8 %, m = 296,517, eps_snd = 1e-10) this gives omega_thr = 0.825538 (published
0.825538) and 95,843 bits (published 95,884, main text, Fig. 4 and Table I: -0.04 %).

Inside :func:`qrepeater.qkd.finite_size.finite_key` (``nadlinger_key_length``): gamma from the observed
test count m/n, or ``test_fraction``, or optimised; the completeness margin for ``eps_com`` replaces
the paper's k = 3 (a normal approximation) by Bernstein's inequality on the count of lost test rounds
(a binomial with variance n q (1-q)): x^2 = 2 ln(1/eps_com)(n q(1-q) + x/3), q_thr = q + x/n (Bernstein,
see Boucheron, Lugosi, Massart, "Concentration Inequalities" (2013), Thm 2.10); ``eps_com=None`` puts
omega_thr at the observed omega.  leak = f [(n - m) h(Q) + m h(omega)] unless the syndrome length is
given.  eps_PA = 1e-3 of the budget eps_sec - 4 eps_h by default (:func:`security_budget`).
"""

from __future__ import annotations

import math

import numpy as np

from qrepeater.errors import ParameterError, check_range

from .acceptance import EpsilonBudget
from .eat import (
    ALPHA_MINUS_ONE,
    _dg,
    _g,
    exact_infimum,
    fine_grid,
    tradeoff_second_order,
)
from .entropy import OMEGA_MAX, binary_entropy, chsh_to_winning_probability

__all__ = [
    "COMPLETENESS_SIGMAS",
    "EXTRA_MESSAGE_BITS",
    "PUBLISHED",
    "VHASH_COLLISION",
    "acceptance_threshold",
    "nadlinger_key_length",
    "protocol_key_length",
    "security_budget",
    "syndrome_bits",
    "theta",
    "upsilon",
]

#: eps_h of the 64-bit VHASH tags (SI S9 A): the correctness eps_cor (Eq. 78).
VHASH_COLLISION = 2.0**-61
#: 258 bits of public messages besides the syndrome (Eq. 93) + 6 bits of the extractor (Eq. 53).
EXTRA_MESSAGE_BITS = 264
#: k of the acceptance threshold (SI S7, Eq. 24): three standard deviations.
COMPLETENESS_SIGMAS = 3.0
#: Share of the budget eps_sec - 4 eps_h given to eps_PA when not set (eps_s gets the rest / 2).
PA_SHARE = 1e-3
#: The Oxford run (main text, Fig. 4, Table I, SI S6 E): inputs and the published key.
PUBLISHED = {"rounds": 1_500_000, "test_fraction": 13 / 256, "chsh": 2.64, "qber": 0.018,
             "syndrome_bits": 296_517, "eps_snd": 1e-10, "omega_threshold": 0.825538, "key_bits": 95_884}

_LN2 = math.log(2.0)
_B = 4.0 / _LN2  # b of Upsilon_b (Eq. 52)
_LOG5_SQ = math.log2(5.0) ** 2  # V'^2 / 4 (Eq. 110)
_ALPHA2_MAX = 1.0 + 1.0 / math.log2(5.0)  # alpha'' < 1 + 2/V' (Lemma 1)


def theta(eps):
    """theta_eps = log2(1/(1 - sqrt(1 - eps^2))) (Eq. 66), computed without cancellation."""
    eps = np.asarray(eps, dtype=float)
    return -np.log2(-np.expm1(0.5 * np.log1p(-eps * eps)))


def upsilon(x: float) -> float:
    """Upsilon_b(x) = b W(e^{x/b}/b), b = 4/ln 2 (Eq. 52): the y >= 1 with y + 4 log2 y = x (x >= 1).

    Newton's method on y + b ln y = x (no overflow of e^{x/b}); x < 1 is returned unchanged (no key).
    """
    if not x >= 1.0:
        return float(x)
    y = max(1.0, x - _B * math.log(x))  # the lower bound of Eq. 55
    for _ in range(100):
        step = (y + _B * math.log(y) - x) / (1.0 + _B / y)
        y -= step
        if abs(step) < 1e-12 * max(1.0, y):
            break
    return y


def syndrome_bits(rounds: float, test_fraction: float, chsh: float, qber: float) -> float:
    """Error-correction syndrome length of Eq. (23): n((1-gamma) h(Q) + gamma h((4-S)/8)) + 50 sqrt n."""
    return (rounds * ((1.0 - test_fraction) * binary_entropy(qber)
                      + test_fraction * binary_entropy((4.0 - chsh) / 8.0)) + 50.0 * math.sqrt(rounds))


def acceptance_threshold(rounds: float, test_fraction: float, omega: float, *,
                         sigmas: float | None = COMPLETENESS_SIGMAS, eps_com: float | None = None) -> float:
    """omega_thr of the acceptance test (Eq. 5): at most n gamma (1 - omega_thr) lost test rounds.

    q = gamma (1 - omega); with ``sigmas`` k the paper's Eqs. (24), (25): q_thr = q + k sqrt(q(1-q)/n);
    with ``eps_com`` (and ``sigmas=None``) Bernstein's inequality on the binomial count of lost tests,
    x^2 = 2 ln(1/eps_com)(n q(1-q) + x/3), q_thr = q + x/n; with neither, omega_thr = omega.
    """
    q = test_fraction * (1.0 - omega)
    if sigmas is not None:
        x = sigmas * math.sqrt(rounds * q * (1.0 - q))
    elif eps_com is not None:
        ln = math.log(1.0 / eps_com)
        x = ln / 3.0 + math.sqrt((ln / 3.0) ** 2 + 2.0 * ln * rounds * q * (1.0 - q))
    else:
        x = 0.0
    return 1.0 - (q + x / rounds) / test_fraction


def security_budget(eps_sec: float, eps_cor: float, eps_pe: float | None = None, eps_pa: float | None = None,
                    eps_com: float | None = None) -> EpsilonBudget:
    """The eps of Proposition 2: eps_sec = max(eps_EA, eps_PA + 2 eps_s) + 4 eps_h (Eq. 91).

    ``eps_pe`` is eps_EA (default: all of eps_sec - 4 eps_h), ``eps_pa`` eps_PA (default
    :data:`PA_SHARE` of it), eps_s = (eps_sec - 4 eps_h - eps_PA)/2.  The correctness is fixed by the
    64-bit VHASH tags, eps_cor = eps_h = 2^-61 (Eq. 78), which is reported; ``eps_cor`` only has to
    allow it.
    """
    check_range("eps_sec", eps_sec, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if not VHASH_COLLISION <= eps_cor < 1.0:  # NaN fails too
        raise ParameterError("eps_cor", eps_cor, f"[2^-61 = {VHASH_COLLISION:.3g}, 1): nadlinger2022's correctness is "
                             "fixed at 2^-61 by its 64-bit VHASH tags (SI Eq. 78)")
    budget = eps_sec - 4.0 * VHASH_COLLISION
    if budget <= 0.0:
        raise ParameterError("eps_sec", eps_sec, f"> 4 eps_h = {4.0 * VHASH_COLLISION:.3g}")
    if eps_com is not None:
        check_range("eps_com", eps_com, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    eps_ea = budget if eps_pe is None else eps_pe
    eps_pa = PA_SHARE * budget if eps_pa is None else eps_pa
    if not 0.0 < eps_ea <= budget:
        raise ParameterError("eps_pe", eps_pe, f"in (0, eps_sec - 4 eps_h = {budget:.6g}] (eps_EA)")
    if not 0.0 < eps_pa < budget:
        raise ParameterError("eps_pa", eps_pa, f"in (0, eps_sec - 4 eps_h = {budget:.6g})")
    return EpsilonBudget(eps_sec=eps_sec, eps_cor=VHASH_COLLISION, eps_pe=float(eps_ea), eps_pa=float(eps_pa),
                         eps_smooth=(budget - eps_pa) / 2.0, eps_com=eps_com)


def _renyi2_and_split(rounds, alpha1, eps: EpsilonBudget):
    """alpha'' and (eps_s', eps_s'', eps_s - eps_s' - 2 eps_s'') for each alpha' (arrays like alpha1).

    Stationary point of the alpha''- and smoothing terms of Eq. 73 with theta_eps ~ log2(2/eps^2):
    alpha'' - 1 = sqrt((theta(eps_s'') + log2(1/eps_EA)) / (n (log2 5)^2)) (capped below 1 + 1/log2 5),
    and eps_s', 2 eps_s'', the rest in the ratio 1/(alpha'-1) : 1/(alpha''-1) : 3 (Eq. 72 holds).
    """
    log_ea = math.log2(1.0 / eps.eps_pe)
    c1 = 1.0 / (np.asarray(alpha1, dtype=float) - 1.0)
    a2m1 = np.full_like(c1, 0.1)
    for _ in range(4):
        total = c1 + 1.0 / a2m1 + 3.0
        e2 = eps.eps_smooth / a2m1 / total / 2.0
        a2m1 = np.clip(np.sqrt((theta(e2) + log_ea) / (rounds * _LOG5_SQ)), 1e-9, 0.999 * (_ALPHA2_MAX - 1.0))
    total = c1 + 1.0 / a2m1 + 3.0
    split = (eps.eps_smooth * c1 / total, eps.eps_smooth / a2m1 / total / 2.0, eps.eps_smooth * 3.0 / total)
    return 1.0 + a2m1, split


def _argument(rounds, gamma, omega_thr, syndrome, eps: EpsilonBudget, t, alpha1, infimum, k_alpha):
    """The argument of Upsilon_b in Eq. (73) (arrays broadcast over t (T,1) and alpha' (1,A))."""
    alpha2, (e1, e2, e3) = _renyi2_and_split(rounds, alpha1, eps)
    log_ea = math.log2(1.0 / eps.eps_pe)
    first = rounds * (_g(t) + (omega_thr - t) * _dg(t))
    with np.errstate(over="ignore", invalid="ignore"):
        terms = {
            "first_order": first + 0.0 * alpha1,
            "infimum": rounds * infimum,
            "k_alpha": -rounds * (alpha1 - 1.0) ** 2 * k_alpha,
            "bob_test_outputs": -rounds * gamma - rounds * (alpha2 - 1.0) * _LOG5_SQ + 0.0 * t,
            "smoothing_alpha1": -(theta(e1) + alpha1 * log_ea) / (alpha1 - 1.0) + 0.0 * t,
            "smoothing_alpha2": -(theta(e2) + alpha2 * log_ea) / (alpha2 - 1.0) + 0.0 * t,
            "chain_rule": -3.0 * theta(e3) + 0.0 * t,
            "privacy_amplification": -5.0 * math.log2(1.0 / eps.eps_pa) + 0.0 * t * alpha1,
            "syndrome": -float(syndrome) + 0.0 * t * alpha1,
            "messages": -float(EXTRA_MESSAGE_BITS) + 0.0 * t * alpha1,
        }
    total = sum(terms.values())
    return np.where(np.isfinite(total), total, -np.inf), terms, alpha2, (e1, e2, e3)


def _best_at(rounds, gamma, omega_thr, syndrome, eps: EpsilonBudget, exact=False):
    """Largest argument of Eq. (73) over the t and alpha' grids at one gamma: (value, t, alpha')."""
    if not 0.75 < omega_thr < OMEGA_MAX:
        return -math.inf, None, None
    t = np.linspace(max(0.75 + 1e-6, omega_thr - 0.05), min(OMEGA_MAX - 1e-9, omega_thr + 0.01), 21)[:, None]
    alpha1 = (1.0 + ALPHA_MINUS_ONE)[None, :]
    infimum, k_alpha = tradeoff_second_order(gamma, t, alpha1)
    value = _argument(rounds, gamma, omega_thr, syndrome, eps, t, alpha1, infimum, k_alpha)[0]
    i, j = np.unravel_index(int(np.argmax(value)), value.shape)
    return float(value[i, j]), float(t[i, 0]), float(alpha1[0, j])


def _polish(rounds, gamma, omega_thr, syndrome, eps: EpsilonBudget, t, alpha1):
    """A finer (t, alpha') grid, one coarse step around the best point of :func:`_best_at`."""
    t_fine, a_fine = fine_grid(t, alpha1, 0.06 / 20.0)
    infimum, k_alpha = tradeoff_second_order(gamma, t_fine, a_fine, omega_points=64)
    value = _argument(rounds, gamma, omega_thr, syndrome, eps, t_fine, a_fine, infimum, k_alpha)[0]
    i, j = np.unravel_index(int(np.argmax(value)), value.shape)
    return float(t_fine[i, 0]), float(a_fine[0, j])


def _report(rounds, gamma, omega_obs, omega_thr, syndrome, eps: EpsilonBudget, t, alpha1):
    """Eq. (73) at (t, alpha') with the refined infimum: (key length before flooring, details)."""
    t, alpha1 = _polish(rounds, gamma, omega_thr, syndrome, eps, t, alpha1)
    infimum = exact_infimum(gamma, t, alpha1)
    k_alpha = float(tradeoff_second_order(gamma, np.array([[t]]), np.array([[alpha1]]))[1][0, 0])
    arg, terms, alpha2, split = _argument(rounds, gamma, omega_thr, syndrome, eps, np.array([[t]]),
                                          np.array([[alpha1]]), np.array([[infimum]]), np.array([[k_alpha]]))
    x = float(arg[0, 0])
    length = upsilon(x)
    details = {
        "test_fraction": gamma, "n_test_rounds": gamma * rounds, "n_key_rounds": (1.0 - gamma) * rounds,
        "omega_observed": omega_obs, "omega_threshold": omega_thr, "chsh_threshold": 8.0 * omega_thr - 4.0,
        "tangent_omega": t, "renyi_alpha": alpha1, "renyi_alpha2": float(alpha2[0, 0]),
        "eps_smooth_split": [float(np.ravel(s)[0]) for s in split], "k_alpha": k_alpha,
        "min_tradeoff_at_threshold": float(_g(t) + (omega_thr - t) * _dg(t)),
        "terms_bits": {k: float(np.ravel(v)[0]) for k, v in terms.items()},
        "extractor_input_bits": x, "syndrome_bits": float(syndrome),
        "eps_sec": eps.eps_sec, "eps_cor": eps.eps_cor, "eps_snd_prop2": eps.eps_sec,
    }
    return length, details


def protocol_key_length(rounds: int = PUBLISHED["rounds"], test_fraction: float = PUBLISHED["test_fraction"],
                        chsh: float = PUBLISHED["chsh"], qber: float = PUBLISHED["qber"], *,
                        syndrome: float | None = PUBLISHED["syndrome_bits"], eps_snd: float = PUBLISHED["eps_snd"],
                        sigmas: float = COMPLETENESS_SIGMAS, eps_pa: float | None = None) -> tuple[float, dict]:
    """Key length (bits, before flooring) and details of the paper's protocol at its own parameters.

    ``chsh``, ``qber`` are the design values of SI S5; omega_thr from Eqs. (24), (25) with k = ``sigmas``;
    the syndrome length m is ``syndrome`` (Eq. 23 if None); ``eps_snd`` is Proposition 2's soundness
    max(eps_EA, eps_PA + 2 eps_s) + 4 eps_h (eps_EA = eps_snd - 4 eps_h).  Defaults: the Oxford run,
    :data:`PUBLISHED`.
    """
    omega = chsh_to_winning_probability(chsh)
    omega_thr = acceptance_threshold(rounds, test_fraction, omega, sigmas=sigmas)
    m = syndrome_bits(rounds, test_fraction, chsh, qber) if syndrome is None else float(syndrome)
    eps = security_budget(eps_snd, VHASH_COLLISION, eps_pa=eps_pa)
    _, t, alpha1 = _best_at(rounds, test_fraction, omega_thr, m, eps)
    if t is None:
        return -math.inf, {"omega_threshold": omega_thr, "reason": "omega_thr outside (3/4, omega_max)"}
    return _report(rounds, test_fraction, omega, omega_thr, m, eps, t, alpha1)


def nadlinger_key_length(rounds, chsh, qber, *, test_fraction, test_rounds, eps: EpsilonBudget,
                         ec_leakage_bits, ec_efficiency):
    """(length before flooring, test fraction, leak, details) for :func:`~qrepeater.qkd.finite_size.finite_key`.

    gamma = ``test_rounds``/rounds (observed count), else ``test_fraction``, else optimised on a grid;
    omega_thr by Bernstein's inequality for ``eps.eps_com`` (or the observed omega if None); the
    syndrome is ``ec_leakage_bits`` or f [(n - m) h(Q) + m h(omega)] (module docstring).
    """
    omega = chsh_to_winning_probability(chsh)

    def leak_at(gam):
        if ec_leakage_bits is not None:
            return float(ec_leakage_bits)
        return ec_efficiency * rounds * ((1.0 - gam) * binary_entropy(qber) + gam * binary_entropy(omega))

    def thr(gam):
        return acceptance_threshold(rounds, gam, omega, sigmas=None, eps_com=eps.eps_com)

    def value(gam):
        return _best_at(rounds, gam, thr(gam), leak_at(gam), eps)

    if test_rounds is not None:
        gammas = [test_rounds / rounds]
    elif test_fraction is not None:
        gammas = [test_fraction]
    else:
        coarse = np.geomspace(1e-5, 0.6, 36)
        best_g = float(coarse[int(np.argmax([value(float(g))[0] for g in coarse]))])
        gammas = list(np.clip(best_g * np.geomspace(0.8, 1.25, 13), 1e-6, 0.95)) + [best_g]
    results = [(value(float(g)), float(g)) for g in gammas]
    (_, t, alpha1), gam = max(results, key=lambda r: r[0][0])
    leak = leak_at(gam)
    if t is None:
        omega_thr = thr(gam)
        details = {"test_fraction": gam, "n_test_rounds": gam * rounds, "n_key_rounds": (1.0 - gam) * rounds,
                   "omega_observed": omega, "omega_threshold": omega_thr, "chsh_threshold": 8 * omega_thr - 4,
                   "reason": "acceptance threshold at or below omega = 3/4: no certified entropy"}
        length = -math.inf
    else:
        length, details = _report(rounds, gam, omega, thr(gam), leak, eps, t, alpha1)
    if test_rounds is not None:
        details["n_test_rounds"], details["n_key_rounds"] = float(test_rounds), float(rounds - test_rounds)
    details["key_fraction"] = 1.0 - gam
    details["counts"] = "observed" if test_rounds is not None else "expected"
    details["completeness"] = "Bernstein" if eps.eps_com is not None else "none"
    return length, gam, leak, details
