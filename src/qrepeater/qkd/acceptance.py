"""Acceptance test, statistical margins and the split of the secrecy budget, shared by the finite-size methods.

Acceptance test with a completeness margin
------------------------------------------
A DI-QKD run is accepted when the fraction of won CHSH games among the m test rounds is at least a
threshold omega_th fixed *before* the run; the key length is computed at omega_th, not at the value
observed.  An honest device whose winning probability is omega_exp passes, except with probability
eps_com (the completeness error), when

    omega_th = omega_exp - sqrt(ln(1/eps_com) / (2 m))            (Hoeffding, JASA 58, 13 (1963), Thm 1)

because the m test rounds of an honest (i.i.d.) device are independent Bernoulli(omega_exp) trials.  When
sizing a key from a finished run, omega_exp is taken to be the observed winning fraction (the device's
demonstrated performance), so the margin is what a protocol designed for that device would have left.
``eps_com=None`` sets omega_th = omega_obs (no margin; kept for callers that size a key after the fact,
e.g. :mod:`qrepeater.qkd.distill`).

Secrecy budget
--------------
Each method composes its secrecy parameter from parameter estimation (eps_PE), privacy amplification
(eps_PA) and, where a smooth entropy is used, smoothing (eps_s) with method-specific weights, e.g.
eps_sec = eps_PE + eps_PA + 2 eps_s (leftover hash lemma against quantum side information with a
smoothed min-entropy, distance 2 eps_s + 2^{-(H_min^eps_s - l)/2}/2: Tomamichel, Schaffner, Smith,
Renner, IEEE TIT 57, 5524 (2011)).  :func:`allocate_eps` splits eps_sec into these parts; parts given explicitly are kept and the
rest of the budget is shared equally (per unit weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qrepeater.errors import ParameterError, check_range

__all__ = ["EpsilonBudget", "acceptance_threshold", "allocate_eps", "hoeffding_deviation"]


def hoeffding_deviation(trials: float, eps: float) -> float:
    """One-sided Hoeffding deviation t with P(mean - E mean >= t) <= eps for ``trials`` values in [0, 1].

    t = sqrt(ln(1/eps) / (2 trials))  (Hoeffding 1963, Thm 1).  ``trials`` may be a non-integer expected
    count (planning); it must be positive.
    """
    if trials <= 0:
        return math.inf
    return math.sqrt(math.log(1.0 / eps) / (2.0 * trials))


def acceptance_threshold(omega_expected: float, test_rounds: float, eps_com: float | None) -> float:
    """CHSH-game winning-fraction threshold of the acceptance test (module docstring).

    ``eps_com=None`` returns ``omega_expected`` (no completeness margin).
    """
    if eps_com is None:
        return omega_expected
    return omega_expected - hoeffding_deviation(test_rounds, eps_com)


@dataclass(frozen=True)
class EpsilonBudget:
    """The security parameters one finite-size calculation used (all explicit, all reported).

    ``eps_sec`` is the composed secrecy (weights of the method), ``eps_cor`` the correctness of the
    verification hash, ``eps_com`` the completeness error of the acceptance test (None: no margin).
    ``eps_smooth`` is 0.0 for methods without smoothing.
    """

    eps_sec: float
    eps_cor: float
    eps_pe: float
    eps_pa: float
    eps_smooth: float
    eps_com: float | None

    def as_dict(self) -> dict:
        return {"eps_sec": self.eps_sec, "eps_cor": self.eps_cor, "eps_pe": self.eps_pe,
                "eps_pa": self.eps_pa, "eps_smooth": self.eps_smooth, "eps_com": self.eps_com}


def allocate_eps(eps_sec: float, eps_cor: float, *, weights: dict[str, float], eps_pe: float | None = None,
                 eps_pa: float | None = None, eps_com: float | None = None) -> EpsilonBudget:
    """Split ``eps_sec`` = sum_k weights[k] * eps_k over the parts "pe", "pa" and (if weighted) "s".

    Parts given (``eps_pe``, ``eps_pa``) are kept; the remaining budget is shared equally per unit weight
    among the others.  If every part is given, their weighted sum must not exceed ``eps_sec`` and the
    returned ``eps_sec`` is that sum (the secrecy actually achieved).

    Raises
    ------
    ParameterError
        If the given parts leave no budget (``eps_pe``/``eps_pa`` too large for ``eps_sec``).
    """
    check_range("eps_sec", eps_sec, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range("eps_cor", eps_cor, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    for name, value in (("eps_pe", eps_pe), ("eps_pa", eps_pa), ("eps_com", eps_com)):
        if value is not None:
            check_range(name, value, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    given = {"pe": eps_pe, "pa": eps_pa}
    parts: dict[str, float] = {}
    used = 0.0
    free_weight = 0.0
    for key, w in weights.items():
        if given.get(key) is not None:
            parts[key] = float(given[key])
            used += w * parts[key]
        else:
            free_weight += w
    remaining = eps_sec - used
    if free_weight > 0.0:
        if remaining <= 0.0:
            raise ParameterError("eps_pe/eps_pa", (eps_pe, eps_pa),
                                 f"weighted sum below eps_sec = {eps_sec} ({weights})")
        share = remaining / free_weight
        for key in weights:
            parts.setdefault(key, share)
        total = eps_sec
    else:
        if remaining < -1e-15 * eps_sec:
            raise ParameterError("eps_pe/eps_pa", (eps_pe, eps_pa),
                                 f"weighted sum at most eps_sec = {eps_sec} ({weights})")
        total = used
    return EpsilonBudget(eps_sec=total, eps_cor=eps_cor, eps_pe=parts["pe"], eps_pa=parts["pa"],
                         eps_smooth=parts.get("s", 0.0), eps_com=eps_com)
