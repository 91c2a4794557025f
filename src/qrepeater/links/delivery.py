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

from scipy import optimize

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
    if abs(x - 1.0) < 1e-9:
        decay_term = s * math.exp(-s)
    else:
        decay_term = x / (x - 1.0) * (math.exp(-s) - math.exp(-x * s))
    success_part = p_succ / 4.0 + (f0 - 0.25) * decay_term
    return success_part + (1.0 - p_succ) * unentangled_fidelity


def humphreys_delivery_fidelity(
    link_efficiency: float, fresh_fidelity: float = 1.0, unentangled_fidelity: float = F_UNENTANGLED
) -> float:
    """Best deterministic-delivery fidelity over the window length (Humphreys et al. 2018).

    Maximised numerically over log(window); see the module docstring for the closed form it must
    match when ``unentangled_fidelity = 1/4``.
    """
    check_range("link_efficiency", link_efficiency, 0, None)
    check_range("fresh_fidelity", fresh_fidelity, 0, 1)
    check_range("unentangled_fidelity", unentangled_fidelity, 0, 1)
    if link_efficiency == 0:
        return unentangled_fidelity
    res = optimize.minimize_scalar(
        lambda log_s: -delivered_fidelity(link_efficiency, math.exp(log_s), fresh_fidelity, unentangled_fidelity),
        bounds=(-12.0, 6.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return max(-res.fun, unentangled_fidelity)


def delivery_threshold(fresh_fidelity: float = 1.0, unentangled_fidelity: float = F_UNENTANGLED) -> float:
    """Link efficiency r_ent/r_dec at which the best deterministic-delivery fidelity reaches 1/2.

    Found by root-finding on the numerically maximised F_det (never hard-coded); ``inf`` if the fresh
    pair itself is not entangled, 0 if the unentangled fallback already reaches 1/2.
    """
    check_range("fresh_fidelity", fresh_fidelity, 0, 1)
    if fresh_fidelity <= ENTANGLEMENT_BOUND:
        return math.inf
    if unentangled_fidelity >= ENTANGLEMENT_BOUND:
        return 0.0

    def margin(x: float) -> float:
        return humphreys_delivery_fidelity(x, fresh_fidelity, unentangled_fidelity) - ENTANGLEMENT_BOUND

    hi = 1.0
    while margin(hi) <= 0:
        hi *= 2.0
        if hi > 1e9:
            return math.inf
    return float(optimize.brentq(margin, 1e-9, hi, xtol=1e-10))
