"""Exact engine with classical delay: distributions on the lattice of times t = n·τ + m·δ.

Why a lattice. With a one-way classical delay δ per segment (``SegmentLink.classical_delay_s``) the
protocol of :mod:`qrepeater.engines.model` makes times that are not whole attempts. A pair of a swap
level j is *ready* (usable by the next level) 2^(j−1)·δ after the swap, a purified pair and a failed
purification are known δ after the round, and a cut-off discard at level j ≥ 2 happens
c·τ − 2^(j−2)·δ after the earlier pair became ready (its timer started at its swap). Every time measured
from the start of a round is therefore t = n·τ + m·δ with integers n ≥ 0 (attempts, cut-offs) and
m ≥ 0 (message delays), and the arithmetic of the protocol (sums of durations, maxima, minima plus a
cut-off) stays on this lattice. Because τ/δ is in general irrational, two times are compared by their
real values, while sums are convolutions on the integer lattice (n, m). Nothing is rounded: the
result is exact up to the truncation of the lattice (reported) and floating point.

Each level carries R(m, n) = ( P(T = t),  E[⟨XX⟩ 1{T=t}],  E[⟨YY⟩ 1{T=t}],  E[⟨ZZ⟩ 1{T=t}] ) for
t = n τ + (m₀ + m) δ, the unnormalised delivered state as in :mod:`qrepeater.engines.exact`
(Brand, Coopmans, Elkouss, IEEE JSAC 38, 619 (2020)), with an offset m₀ so that a level whose delays
are deterministic needs a single row. One level joins two independent copies:

1. Sort the lattice points by real time. In that order the sums over the earlier partner,
   E_j(t) = Σ_{t' ≤ t, t − t' ≤ c_win} exp(−Γ_j (t − t')) R_j(t'), are one first-order recursion
   with a time-varying factor, and P(T > t + c_win) a second pointer (:func:`_window_lattice`; ties
   in time are harmless: a pair of tied points is counted once, in the sum of the one sorted later,
   with no decay).
2. Join B(R, 2E − R) at the later point (swap: correlator products, purification: the Bell-weight
   instrument), as the zero-delay engine; cut-off discards at (earlier point) + c_win with weight
   2 R₀(t)·P(T > t + c_win). Success moves the output by +d_succ rows (its message time), a failure
   by +d_fail, a cut-off discard by (+c attempts, −d_cut rows).
3. Renewal T = F₁ + … + F_K + S, i.e. R̂ = Ŝ / (1 − F̂) with a 2-D damped FFT over (m, n) (damping
   10⁻³ per axis: the round-off amplification at the far corner is the zero-delay engine's 10⁶).
   The grid is sized from the two marginals (1-D renewals of the n- and m-projections, which are exact
   projections of the 2-D one), each until its neglected mass is below tol/2; leading and trailing
   rows with mass below 10⁻³·tol are then dropped.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft as sfft

from ..errors import ParameterError
from ..states.purification import bbpssw_unnormalized, dejmps_unnormalized
from ..states.swapping import PHI_PLUS_CORRELATORS
from .model import CUTOFF_TIE_ATTEMPTS

_DAMP_TOTAL = 1e-6
_DAMP_AXIS = 1e-3


def _tc_to_bell(x: np.ndarray) -> np.ndarray:
    """(4, L) trace/correlator rows → (L, 4) unnormalised Bell weights (explicit, no BLAS)."""
    tr, tx, ty, tz = x
    return np.stack([tr + tx - ty + tz, tr - tx + ty + tz, tr + tx + ty - tz, tr - tx - ty - tz], axis=1) / 4.0


def _bell_to_tc(lam: np.ndarray) -> np.ndarray:
    """(L, 4) unnormalised Bell weights → (4, L) trace/correlator rows (inverse of the above)."""
    a, b, c, d = lam.T
    return np.stack([a + b + c + d, a - b + c - d, -a + b + c - d, a + b - c - d])


def _renewal(succ: np.ndarray, fail: np.ndarray, length: int) -> np.ndarray:
    """Rows of succ * Σ_k fail^{*k} on [0, length) via damped FFT."""
    n = sfft.next_fast_len(length, real=True)
    damp = np.exp(np.arange(n, dtype=float) * (math.log(_DAMP_TOTAL) / n))  # θ^t with θ^n = 1e-6
    s = np.zeros((succ.shape[0], n))
    m = min(n, succ.shape[1])
    s[:, :m] = succ[:, :m] * damp[:m]
    f = np.zeros(n)
    m2 = min(n, fail.size)
    f[:m2] = fail[:m2] * damp[:m2]
    fh = sfft.rfft(f)
    out = sfft.irfft(sfft.rfft(s, axis=1) / (1.0 - fh), n=n, axis=1)
    return out[:, :length] / damp[:length]


def _renewal_2d(succ: np.ndarray, fail: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """succ (4, ·, ·) * Σ_k fail^{*k} (fail (·, ·), absolute rows) on [0, rows) × [0, cols)."""
    nm = sfft.next_fast_len(rows)
    nl = sfft.next_fast_len(cols, real=True)
    dm = np.exp(np.arange(nm, dtype=float) * (math.log(_DAMP_AXIS) / nm))
    dl = np.exp(np.arange(nl, dtype=float) * (math.log(_DAMP_AXIS) / nl))
    s = np.zeros((4, nm, nl))
    a, b = min(nm, succ.shape[1]), min(nl, succ.shape[2])
    np.multiply(succ[:, :a, :b], np.outer(dm[:a], dl[:b]), out=s[:, :a, :b])
    f = np.zeros((nm, nl))
    a, b = min(nm, fail.shape[0]), min(nl, fail.shape[1])
    np.multiply(fail[:a, :b], np.outer(dm[:a], dl[:b]), out=f[:a, :b])
    fh = sfft.rfft2(f, overwrite_x=True)
    np.subtract(1.0, fh, out=fh)
    sh = sfft.rfft2(s, axes=(1, 2), overwrite_x=True)
    sh /= fh
    out = sfft.irfft2(sh, s=(nm, nl), axes=(1, 2), overwrite_x=True)[:, :rows, :cols]
    out /= np.outer(dm[:rows], dl[:cols])
    return out


@numba.njit(cache=True)
def _window_lattice(ts, order, r, rates, cwin, want_surv, swap_p, factors):
    """Window sums and survival on the lattice, visiting its points in time order.

    ``ts`` are the sorted times and ``order`` the lattice (flat) index of each; ``r`` (4, N) is in
    lattice order. Computes, in lattice order,
    E_j(k) = Σ_{t_k' ≤ t_k, t_k − t_k' ≤ cwin} exp(−rates[j] (t_k − t_k')) r[j, k'] (ties: the points
    earlier in ``order``) and, with ``want_surv``, S(k) = max(0, 1 − Σ_{t_k' ≤ t_k + cwin} r[0, k']).

    Returns ``(e, surv)`` when ``swap_p`` < 0; otherwise the swap join itself, ``(succ (4, N),
    fail (2, N))``: succ = swap_p · (1, factors) · r · (2E − r), fail[0] = the failed swaps at the
    later point, fail[1] = 2 r₀ S, the cut-off discards of the earlier point.
    """
    n = ts.size
    rows = r.shape[0]
    swap = swap_p >= 0.0
    e = np.empty_like(r)
    surv = np.empty((2, n) if swap else (1, n if want_surv else 0))
    acc = np.zeros(rows)
    lo = 0
    hi = 0
    cum = 0.0
    prev = ts[0] if n else 0.0
    for i in range(n):
        k = order[i]
        dt = ts[i] - prev
        prev = ts[i]
        f = 1.0
        for j in range(rows):  # rows with equal rates (⟨XX⟩, ⟨YY⟩) share one exp
            if j == 0 or rates[j] != rates[j - 1]:
                f = math.exp(-rates[j] * dt) if dt > 0.0 and rates[j] > 0.0 else 1.0
            acc[j] = acc[j] * f + r[j, k]
        while ts[i] - ts[lo] > cwin:
            age = ts[i] - ts[lo]
            kl = order[lo]
            for j in range(rows):
                if j == 0 or rates[j] != rates[j - 1]:
                    f = math.exp(-rates[j] * age) if rates[j] > 0.0 else 1.0
                acc[j] -= r[j, kl] * f
            lo += 1
        s = 0.0
        if want_surv:
            limit = ts[i] + cwin
            while hi < n and ts[hi] <= limit:
                cum += r[0, order[hi]]
                hi += 1
            s = max(0.0, 1.0 - cum)
        if swap:
            pre = r[0, k] * (2.0 * acc[0] - r[0, k])
            e[0, k] = swap_p * pre
            for j in range(1, rows):
                e[j, k] = swap_p * factors[j - 1] * r[j, k] * (2.0 * acc[j] - r[j, k])
            surv[0, k] = pre - e[0, k]
            surv[1, k] = 2.0 * r[0, k] * s
        else:
            for j in range(rows):
                e[j, k] = acc[j]
            if want_surv:
                surv[0, k] = s
    return e, surv


def _marginal_length(succ: np.ndarray, fail: np.ndarray, start: int, tol: float, cap: int, what: str) -> int:
    """Smallest doubling of ``start`` on which the 1-D renewal misses at most ``tol`` of its mass."""
    p_succ, p_fail = float(succ.sum()), float(fail.sum())
    expected = p_succ / (1.0 - p_fail) if p_fail < 1.0 else 1.0
    length = int(start)
    while True:
        if length > cap:
            raise ParameterError(
                "exact-engine grid", length, f"<= {cap} {what}: the waiting time is too long for the exact engine; use "
                "engine 'montecarlo'",
            )
        out = _renewal(succ[None, :], fail, length)
        if expected - out[0].sum() <= max(tol, 1e-9):
            return length
        length *= 2


def _join(r, m0, cutoff_attempts, delay_attempts, rates_per_attempt, op, swap_p, post, d_succ, d_fail, d_cut):
    """Steps 1–2 of a level: ``(succ (4, M, L) at rows m0 + d_succ …, fail (rows from 0, attempts))``."""
    _, M, L = r.shape
    rho = float(delay_attempts)
    t = (np.arange(L, dtype=float)[None, :] + rho * (m0 + np.arange(M, dtype=float))[:, None]).ravel()
    order = np.argsort(t, kind="stable")  # rows are sorted runs: the merge sort is ~linear
    c = cutoff_attempts
    cwin = math.inf if c is None else c - d_cut * rho + CUTOFF_TIE_ATTEMPTS
    v = np.ascontiguousarray(r.reshape(4, M * L))
    rates = np.asarray(rates_per_attempt, float)
    if op == "swap":
        succ, fails = _window_lattice(t[order], order, v, rates, cwin, c is not None, float(swap_p),
                                      PHI_PLUS_CORRELATORS * post)
        fail_here, fc = fails[0], fails[1]
    else:
        e, surv = _window_lattice(t[order], order, v, rates, cwin, c is not None, -1.0, post)
        two_e = 2.0 * e - v
        fn = bbpssw_unnormalized if op == "bbpssw" else dejmps_unnormalized
        succ = _bell_to_tc(fn(_tc_to_bell(v), _tc_to_bell(two_e)))
        succ[1:] *= post[:, None]
        fail_here = v[0] * two_e[0] - succ[0]
        fc = 2.0 * v[0] * surv[0] if c is not None else None
    fail_lat = np.zeros((m0 + M + d_fail, L + (c or 0)))
    fail_lat[m0 + d_fail : m0 + d_fail + M, :L] = fail_here.reshape(M, L)
    if c is not None:  # the earlier pair at t is discarded at t + c_win if its partner is later
        fc = fc.reshape(M, L)
        lo = m0 - d_cut  # absolute row of lattice row 0 after the shift (rows below 0 hold round-off only)
        skip = max(0, -lo)
        if skip < M:
            fail_lat[lo + skip : lo + M, c : c + L] += fc[skip:]
    np.clip(fail_lat, 0.0, None, out=fail_lat)
    if not succ[0].sum() > 0:
        raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
    return succ.reshape(4, M, L), fail_lat


def _grid(succ_lat, fail_lat, tol, max_grid):
    """(rows, cols) of the renewal's lattice: each marginal misses at most tol/2 of its mass."""
    _, M, L = succ_lat.shape
    p_succ = float(succ_lat[0].sum())
    cols_n = np.arange(fail_lat.shape[1], dtype=float)
    succ_n, fail_n = succ_lat[0].sum(axis=0), fail_lat.sum(axis=0)
    mean_n = float((cols_n[:L] * succ_n).sum() + (cols_n * fail_n).sum()) / p_succ
    start = max(L, math.ceil(mean_n * (math.log(1.0 / tol) + 3.0)) + 8)
    cols = _marginal_length(succ_n, fail_n, start, tol / 2, max_grid, "attempts")
    succ_m, fail_m = succ_lat[0].sum(axis=1), fail_lat.sum(axis=1)
    mean_fail_m = float((np.arange(fail_m.size) * fail_m).sum()) / p_succ
    start = M + (math.ceil(mean_fail_m * (math.log(1.0 / tol) + 3.0)) + 2 if mean_fail_m > 0 else 0)
    rows = _marginal_length(succ_m, fail_m, start, tol / 2, max_grid, "delay steps")
    return rows, cols


def lattice_level(
    r: np.ndarray,
    m0: int,
    *,
    cutoff_attempts: int | None,
    delay_attempts: float,
    rates_per_attempt: np.ndarray,
    op: str,
    swap_p: float,
    post: np.ndarray,
    d_succ: int,
    d_fail: int,
    d_cut: int,
    tol: float,
    max_grid: int,
    top: bool = False,
):
    """One protocol level on the (m, n) lattice (see the module docstring).

    Parameters
    ----------
    r : ndarray, shape (4, M, L)
        Level below: rows m (delay units above ``m0``), columns n (attempts).
    m0 : int
        Delay units of row 0.
    cutoff_attempts : int or None
        Cut-off c in whole attempts, counted from the pair's creation.
    delay_attempts : float
        δ/τ.
    rates_per_attempt : ndarray, shape (4,)
        (0, Γ⊥τ, Γ⊥τ, Γ∥τ).
    op : {"swap", "bbpssw", "dejmps"}
    swap_p : float
        Swap success probability (1 for purification).
    post : ndarray, shape (3,)
        Correlator factors of the output (gate/readout noise × decay during its messages).
    d_succ, d_fail, d_cut : int
        Delay units added on success, on failure, and removed from (earlier + c) on a cut-off discard
        (the earlier pair's own message time, which counts against its cut-off).
    top : bool
        Last level: return only the marginals (1-D renewals of the projections; no 2-D lattice).

    Returns
    -------
    (ndarray (4, M', L'), int)
        The level's lattice and its row offset; with ``top``: ``(n-marginal (4, L'), m-marginal of the
        trace (M',), row offset)``.
    """
    succ_lat, fail_lat = _join(r, m0, cutoff_attempts, delay_attempts, rates_per_attempt, op, swap_p, post,
                               d_succ, d_fail, d_cut)
    rows, cols = _grid(succ_lat, fail_lat, tol, max_grid)
    if top:
        n_marginal = _renewal(succ_lat.sum(axis=1), fail_lat.sum(axis=0), cols)
        m_marginal = _renewal(succ_lat[0].sum(axis=1)[None, :], fail_lat.sum(axis=1), rows)[0]
        return n_marginal, m_marginal, m0 + d_succ
    if rows * cols > max_grid:
        raise ParameterError(
            "exact-engine grid", rows * cols, f"<= {max_grid} lattice points ({rows} delay steps x {cols} attempts): "
            "use engine 'montecarlo'",
        )
    out = _renewal_2d(succ_lat, fail_lat, rows, cols)
    # drop rows that hold (almost) no mass at either end: a level with deterministic delays keeps one row
    row_mass = np.abs(out[0].sum(axis=1))
    thr = 1e-3 * tol
    first = int(np.searchsorted(np.cumsum(row_mass), thr, side="right"))
    last = rows - int(np.searchsorted(np.cumsum(row_mass[::-1]), thr, side="right"))
    first = min(first, max(last - 1, 0))
    return np.ascontiguousarray(out[:, first:max(last, first + 1)]), m0 + d_succ + first
