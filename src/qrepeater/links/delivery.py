"""Deterministic delivery of entanglement: Humphreys et al., Nature 558, 268 (2018), Eqs. (1)–(2).

A node promises a state at the end of every window of length ``t_w``. Attempts run until the first
herald (rate ``r_ent``); the pair then waits in memory, decaying at ``r_dec``, until the window ends.
If no herald came, an unentangled state of fidelity ``F_unent`` is delivered (default: the maximally
mixed state, ``F_unent = 1/4``):

    F_det(t_w) = p_succ(t_w)·F_succ(t_w) + (1 − p_succ(t_w))·F_unent,      p_succ = 1 − e^{−r_ent t_w}

The stored pair decays by depolarisation towards the maximally mixed state,
``F(t) = 1/4 + (F0 − 1/4) e^{−r_dec t}``, so with ``x = r_ent/r_dec`` (the *quantum link efficiency*)
and ``s = r_dec t_w``:

    p_succ·F_succ = (1 − e^{−xs})/4 + (F0 − 1/4)·g(x, s),   g = x/(x − 1)·(e^{−s} − e^{−xs})

The deterministic-delivery fidelity is the maximum over ``t_w``; the *threshold* is the link efficiency
at which that maximum reaches 1/2, i.e. where the delivered state becomes entangled. With
``F_unent = 1/4`` the maximum has the closed form ``1/4 + (F0 − 1/4)·x^{1/(1−x)}`` (at
``s* = ln x/(x − 1)``), so for F0 = 1 the threshold solves ``x^{1/(1−x)} = 1/3``: x ≈ 0.83, the value
Humphreys et al. give. (With ``F_unent = 1/2`` any x > 0 would beat 1/2 and there is no threshold.)
"""

from __future__ import annotations

import math

from ..errors import check_range

F_UNENTANGLED = 0.25
ENTANGLEMENT_BOUND = 0.5


def delivered_fidelity(
    link_efficiency: float,
    window_in_coherence_times: float,
    fresh_fidelity: float = 1.0,
    unentangled_fidelity: float = F_UNENTANGLED,
) -> float:
    """F_det for a window of ``s = r_dec·t_w`` coherence times."""
    x, s, f0 = link_efficiency, window_in_coherence_times, fresh_fidelity
    p_succ = -math.expm1(-x * s)
    # x/(x − 1)·(e^{−s} − e^{−xs}) = x·e^{−s}·(1 − e^{−(x−1)s})/(x − 1), with expm1 so that it stays
    # accurate as x → 1 (limit x·s·e^{−s})
    t = x - 1.0
    decay_term = x * s * math.exp(-s) if t == 0 else x * math.exp(-s) * -math.expm1(-t * s) / t
    success_part = p_succ / 4.0 + (f0 - 0.25) * decay_term
    return success_part + (1.0 - p_succ) * unentangled_fidelity


def humphreys_delivery_fidelity(
    link_efficiency: float, fresh_fidelity: float = 1.0, unentangled_fidelity: float = F_UNENTANGLED
) -> float:
    """Best deterministic-delivery fidelity over the window length (Humphreys et al. 2018).

    With ``unentangled_fidelity = 1/4`` the closed form of the module docstring,
    ``max(1/4, 1/4 + (F0 − 1/4)·x^{1/(1−x)})`` (the maximum of F_det over every window s > 0);
    otherwise maximised numerically over log(window) (scipy ``minimize_scalar``, bounded). The closed
    form is tested against that numerical maximum.
    """
    check_range("link_efficiency", link_efficiency, 0, None)
    check_range("fresh_fidelity", fresh_fidelity, 0, 1)
    check_range("unentangled_fidelity", unentangled_fidelity, 0, 1)
    if link_efficiency == 0:
        return unentangled_fidelity
    if unentangled_fidelity == F_UNENTANGLED:
        return max(F_UNENTANGLED + (fresh_fidelity - F_UNENTANGLED) * best_decay_factor(link_efficiency), F_UNENTANGLED)
    from scipy import optimize  # only here: importing scipy.optimize costs more than the rest of `qrepeater link`

    res = optimize.minimize_scalar(
        lambda log_s: -delivered_fidelity(link_efficiency, math.exp(log_s), fresh_fidelity, unentangled_fidelity),
        bounds=(-12.0, 6.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return max(-res.fun, unentangled_fidelity)


def best_decay_factor(link_efficiency: float) -> float:
    """max over s of g(x, s) = x/(x − 1)·(e^{−s} − e^{−xs}): ``x^{1/(1−x)}`` at s* = ln x/(x − 1) (1/e at x = 1).

    Written ``exp(−ln(1 + t)/t)`` with t = x − 1 (``log1p``, series near t = 0) so that it is accurate
    on both sides of x = 1.
    """
    t = link_efficiency - 1.0
    if abs(t) < 1e-8:
        exponent = 1.0 - t / 2.0 + t * t / 3.0  # ln(1 + t)/t
    else:
        exponent = math.log1p(t) / t
    return math.exp(-exponent)


def delivery_threshold(fresh_fidelity: float = 1.0, unentangled_fidelity: float = F_UNENTANGLED) -> float:
    """Link efficiency r_ent/r_dec at which the best deterministic-delivery fidelity reaches 1/2.

    Found by root-finding (scipy ``brentq``) on the best F_det of :func:`humphreys_delivery_fidelity` (never hard-coded); ``inf`` if the fresh
    pair itself is not entangled, 0 if the unentangled fallback already reaches 1/2.
    """
    check_range("fresh_fidelity", fresh_fidelity, 0, 1)
    if fresh_fidelity <= ENTANGLEMENT_BOUND:
        return math.inf
    if unentangled_fidelity >= ENTANGLEMENT_BOUND:
        return 0.0

    def margin(x: float) -> float:
        return humphreys_delivery_fidelity(x, fresh_fidelity, unentangled_fidelity) - ENTANGLEMENT_BOUND

    from scipy import optimize  # only here: importing scipy.optimize costs more than the rest of `qrepeater link`

    hi = 1.0
    while margin(hi) <= 0:
        hi *= 2.0
        if hi > 1e9:
            return math.inf
    return float(optimize.brentq(margin, 1e-9, hi, xtol=1e-10))
