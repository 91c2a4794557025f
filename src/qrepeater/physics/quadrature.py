"""Adaptive composite Gauss–Legendre quadrature on numpy arrays (no scipy import at start-up).

Used by the filter-cascade overlap (:mod:`qrepeater.physics.conversion`) and the servo integral
(:mod:`qrepeater.physics.phase_servo`), which run on every ``qrepeater link``: importing
``scipy.integrate`` costs more than the rest of the command.

Method (textbook: Davis & Rabinowitz, *Methods of Numerical Integration*, 2nd ed., §2.7 Gauss–Legendre
rules and §6.2 adaptive subdivision): every piece [a, b] is integrated with the n-point Gauss–Legendre
rule once over the piece (G) and once over each half (G_L + G_R). A piece is accepted, with the value
G_L + G_R, when ``|G − (G_L + G_R)| ≤ max(epsabs, epsrel·|G_L + G_R|)``; otherwise its two halves are
examined in the next round. All pieces of a round are evaluated in one vectorised call of the integrand.
Because the difference estimates the error of the coarser value G, the accepted value is normally far
more accurate than the tolerance. Agreement with ``scipy.integrate.quad`` is tested in
tests/test_startup_numerics.py.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np


@lru_cache(maxsize=8)
def _legendre_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _gauss_legendre(integrand: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, order: int) -> np.ndarray:
    nodes, weights = _legendre_rule(order)
    half = 0.5 * (hi - lo)
    points = (0.5 * (hi + lo))[:, None] + half[:, None] * nodes[None, :]
    return (integrand(points) @ weights) * half


def integrate_pieces(
    integrand: Callable[[np.ndarray], np.ndarray],
    edges,
    epsabs: float = 1e-14,
    epsrel: float = 1e-11,
    order: int = 16,
    max_rounds: int = 50,
    max_pieces: int = 20_000,
    stalled_rel: float = 1e-6,
) -> float:
    """∫ integrand over [edges[0], edges[-1]], each piece [edges[i], edges[i+1]] refined adaptively.

    Parameters
    ----------
    integrand : callable
        Vectorised: maps an array of abscissae to an array of values of the same shape.
    edges : array_like
        Increasing break points; put every kink, jump or narrow peak of the integrand on one.
    epsabs, epsrel : float
        Per-piece acceptance tolerance (module docstring).
    order : int
        Gauss–Legendre points per piece.
    max_rounds, max_pieces : int
        Halvings allowed, and pieces examined at once, before refinement stops (bounds the work where
        round-off keeps the tolerance out of reach).
    stalled_rel : float
        When refinement stops, the pieces still missing the tolerance are kept if their summed error
        estimates stay within this fraction of the integral.

    Raises
    ------
    ArithmeticError
        If refinement stops with a larger summed error estimate.
    """
    edges = np.asarray(edges, dtype=float)
    lo, hi = edges[:-1], edges[1:]
    total = 0.0
    for round_ in range(max_rounds):
        mid = 0.5 * (lo + hi)
        whole = _gauss_legendre(integrand, lo, hi, order)
        halves = _gauss_legendre(integrand, lo, mid, order) + _gauss_legendre(integrand, mid, hi, order)
        error = np.abs(whole - halves)
        done = error <= np.maximum(epsabs, epsrel * np.abs(halves))
        total += halves[done].sum()
        todo = ~done
        if not todo.any():
            return float(total)
        if round_ == max_rounds - 1 or 2 * todo.sum() > max_pieces:
            # Out of halvings: keep the pieces' best values if their error estimates together stay within
            # ``stalled_rel`` of the integral (round-off bound, as where the integrand cancels).
            total += halves[todo].sum()
            if error[todo].sum() <= stalled_rel * abs(total):
                return float(total)
            raise ArithmeticError(
                f"adaptive quadrature: {todo.sum()} pieces miss the tolerance, estimated error "
                f"{error[todo].sum():.3g} of {total:.6g}"
            )
        lo, hi, mid = lo[todo], hi[todo], mid[todo]
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
    return float(total)  # max_rounds == 0: nothing integrated
