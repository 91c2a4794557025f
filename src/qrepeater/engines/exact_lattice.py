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

import numpy as np
import numpy.fft as nfft  # not scipy.fft: importing it costs ~0.2 s CPU of every `chain --engine exact`

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


def next_fast_len(target: int, real: bool = False) -> int:
    """Smallest length ≥ ``target`` whose prime factors are 2, 3, 5 (``real``) or 2, 3, 5, 7, 11: the FFT
    lengths ``scipy.fft.next_fast_len`` returns (the same lengths, so the same damping and results)."""
    target = int(target)
    if target <= 1:
        return 1
    odd = (3, 5) if real else (3, 5, 7, 11)
    best = 1 << (target - 1).bit_length()

    def search(product: int, k: int) -> None:
        nonlocal best
        if k == len(odd):
            while product < target:
                product *= 2
            best = min(best, product)
            return
        while True:
            search(product, k + 1)
            if product >= target:
                return
            product *= odd[k]

    search(1, 0)
    return best


def _renewal(succ: np.ndarray, fail: np.ndarray, length: int) -> np.ndarray:
    """Rows of succ * Σ_k fail^{*k} on [0, length) via damped FFT."""
    n = next_fast_len(length, real=True)
    damp = np.exp(np.arange(n, dtype=float) * (math.log(_DAMP_TOTAL) / n))  # θ^t with θ^n = 1e-6
    s = np.zeros((succ.shape[0], n))
    m = min(n, succ.shape[1])
    s[:, :m] = succ[:, :m] * damp[:m]
    f = np.zeros(n)
    m2 = min(n, fail.size)
    f[:m2] = fail[:m2] * damp[:m2]
    fh = nfft.rfft(f)
    out = nfft.irfft(nfft.rfft(s, axis=1) / (1.0 - fh), n=n, axis=1)
    return out[:, :length] / damp[:length]


def _renewal_2d(succ: np.ndarray, fail: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """succ (4, ·, ·) * Σ_k fail^{*k} (fail (·, ·), absolute rows) on [0, rows) × [0, cols)."""
    nm = next_fast_len(rows)
    nl = next_fast_len(cols, real=True)
    dm = np.exp(np.arange(nm, dtype=float) * (math.log(_DAMP_AXIS) / nm))
    dl = np.exp(np.arange(nl, dtype=float) * (math.log(_DAMP_AXIS) / nl))
    s = np.zeros((4, nm, nl))
    a, b = min(nm, succ.shape[1]), min(nl, succ.shape[2])
    np.multiply(succ[:, :a, :b], np.outer(dm[:a], dl[:b]), out=s[:, :a, :b])
    f = np.zeros((nm, nl))
    a, b = min(nm, fail.shape[0]), min(nl, fail.shape[1])
    np.multiply(fail[:a, :b], np.outer(dm[:a], dl[:b]), out=f[:a, :b])
    fh = nfft.rfft2(f)
    np.subtract(1.0, fh, out=fh)
    sh = nfft.rfft2(s, axes=(1, 2))
    sh /= fh
    out = nfft.irfft2(sh, s=(nm, nl), axes=(1, 2))[:, :rows, :cols]
    out /= np.outer(dm[:rows], dl[:cols])
    return out


def decayed_cumsum(x: np.ndarray, ratio: float) -> np.ndarray:
    """y_k = Σ_{k' ≤ k} ratio^(k − k') x_k' along the last axis (0 ≤ ratio ≤ 1): a first-order recursive
    filter as scaled cumulative sums, in chunks short enough that ratio^(−k) stays finite."""
    if ratio >= 1.0:
        return np.cumsum(x, axis=-1)
    if ratio <= 0.0:
        return np.array(x, dtype=float, copy=True)
    step = -math.log(ratio)
    chunk = max(1, int(600.0 / step))
    out = np.empty(x.shape, dtype=float)
    carry = np.zeros(x.shape[:-1])
    for lo in range(0, x.shape[-1], chunk):
        seg = x[..., lo : lo + chunk]
        k = np.arange(seg.shape[-1], dtype=float)
        y = np.cumsum(seg * np.exp(step * k), axis=-1)
        y *= np.exp(-step * k)
        y += carry[..., None] * np.exp(-step * (k + 1.0))
        out[..., lo : lo + chunk] = y
        carry = y[..., -1]
    return out


def window_sums(r: np.ndarray, rates: np.ndarray, window: int | None) -> np.ndarray:
    """E_j(t) = Σ_{d=0}^{window} exp(−rates_j d) r_j(t − d) for each row j of r (window None: no limit)."""
    out = np.empty(r.shape, dtype=float)
    for rate in np.unique(rates):
        rows = np.flatnonzero(rates == rate)
        a = decayed_cumsum(r[rows], math.exp(-rate))
        if window is not None and window + 1 < r.shape[-1]:
            a[..., window + 1 :] -= math.exp(-rate * (window + 1)) * a[..., : -(window + 1)]
        out[rows] = a
    return out


def _one_row_window(v, rates, cwin, want_surv):
    """The window sums and survival of :func:`.lattice_kernel._window_lattice` for a lattice of one row
    (all times n + const: time order is attempt order and the window is floor(c_win) attempts)."""
    window = None if math.isinf(cwin) else int(math.floor(cwin))
    e = window_sums(v, rates, window)
    if not want_surv:
        return e, None
    cum = np.cumsum(v[0])
    idx = np.minimum(np.arange(v.shape[1]) + window, v.shape[1] - 1)
    return e, np.clip(1.0 - cum[idx], 0.0, None)


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


def _purify(op, v, two_e, post):
    """Purification join B(R, 2E − R): (succeeding rows (4, N), failing trace (N,))."""
    fn = bbpssw_unnormalized if op == "bbpssw" else dejmps_unnormalized
    succ = _bell_to_tc(fn(_tc_to_bell(v), _tc_to_bell(two_e)))
    succ[1:] *= post[:, None]
    return succ, v[0] * two_e[0] - succ[0]


def align(ra: np.ndarray, m0a: int, rb: np.ndarray, m0b: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Two lattices (4, M, L) with row offsets on one common lattice: (ra', rb', m0), zero-padded."""
    m0 = min(m0a, m0b)
    rows = max(m0a + ra.shape[1], m0b + rb.shape[1]) - m0
    cols = max(ra.shape[2], rb.shape[2])
    out = []
    for r, m in ((ra, m0a), (rb, m0b)):
        x = np.zeros((4, rows, cols))
        x[:, m - m0 : m - m0 + r.shape[1], : r.shape[2]] = r
        out.append(x)
    return out[0], out[1], m0


def _windows(t, order, v, rates, cwin, want_surv):
    """Window sums E (4, N) and survival P(T > t + c_win) (N,) or None of the flat lattice rows v."""
    if order is None:
        return _one_row_window(v, rates, cwin, want_surv)
    from .lattice_kernel import window_lattice

    e, surv = window_lattice(t, order, v, rates, cwin, want_surv, -1.0, np.ones(3))
    return e, (surv[0] if want_surv else None)


def _swap_pair(t, order, va, vb, rates, cwin, want_surv, swap_p, post):
    """Swap of two *different* independent pairs A, B (a per-segment chain): the later one's time holds
    B(E_A, R_B) + B(R_A, E_B − R_B) (A waited for B, or B strictly earlier waited for A; the symmetric
    join B(R, 2E − R) of two copies is the case A = B). Returns (succ (4, N), failed swaps (N,),
    cut-off discards (N,) or None: A earlier and B later than its window, R_A,0 S_B + R_B,0 S_A)."""
    ea, sa = _windows(t, order, va, rates, cwin, want_surv)
    eb, sb = _windows(t, order, vb, rates, cwin, want_surv)
    joined = ea * vb + va * (eb - vb)
    succ = np.empty_like(va)
    succ[0] = swap_p * joined[0]
    succ[1:] = float(swap_p) * (PHI_PLUS_CORRELATORS * post)[:, None] * joined[1:]
    fc = va[0] * sb + vb[0] * sa if want_surv else None
    return succ, joined[0] - succ[0], fc


def _join(r, m0, cutoff_attempts, delay_attempts, rates_per_attempt, op, swap_p, post, d_succ, d_fail, d_cut,
          partner=None):
    """Steps 1–2 of a level: ``(succ (4, M, L) at rows m0 + d_succ …, fail (rows from 0, attempts))``;
    ``partner``: the other input (a swap of two different pairs, on r's lattice; see :func:`align`)."""
    _, M, L = r.shape
    rho = float(delay_attempts)
    if M > 1:
        t = (np.arange(L, dtype=float)[None, :] + rho * (m0 + np.arange(M, dtype=float))[:, None]).ravel()
        order = np.argsort(t, kind="stable")  # rows are sorted runs: the merge sort is ~linear
    c = cutoff_attempts
    cwin = math.inf if c is None else c - d_cut * rho + CUTOFF_TIE_ATTEMPTS
    v = np.ascontiguousarray(r.reshape(4, M * L))
    rates = np.asarray(rates_per_attempt, float)
    if partner is not None:
        if op != "swap":
            raise ParameterError("op", op, "swap (purification joins two copies of one segment's pairs)")
        vb = np.ascontiguousarray(partner.reshape(4, M * L))
        succ, fail_here, fc = _swap_pair(t[order] if M > 1 else None, order if M > 1 else None, v, vb, rates, cwin,
                                         c is not None, swap_p, post)
    elif M == 1:  # one row: numpy (no compiled kernel)
        e, surv = _one_row_window(v, rates, cwin, c is not None)
        two_e = 2.0 * e - v
        if op == "swap":
            succ = np.empty_like(v)
            pre = v[0] * two_e[0]
            succ[0] = swap_p * pre
            succ[1:] = float(swap_p) * (PHI_PLUS_CORRELATORS * post)[:, None] * v[1:] * two_e[1:]
            fail_here = pre - succ[0]
        else:
            succ, fail_here = _purify(op, v, two_e, post)
        fc = 2.0 * v[0] * surv if c is not None else None
    elif op == "swap":
        from .lattice_kernel import window_lattice

        succ, fails = window_lattice(t[order], order, v, rates, cwin, c is not None, float(swap_p),
                                     PHI_PLUS_CORRELATORS * post)
        fail_here, fc = fails[0], fails[1]
    else:
        from .lattice_kernel import window_lattice

        e, surv = window_lattice(t[order], order, v, rates, cwin, c is not None, -1.0, post)
        two_e = 2.0 * e - v
        succ, fail_here = _purify(op, v, two_e, post)
        fc = 2.0 * v[0] * surv[0] if c is not None else None
    # a cut-off beyond the whole grid: its partners later than the grid are at most the grid's neglected
    # mass, not placed c attempts out (as the fine grid and the block solver; placing them there made the
    # lattice L + c columns wide — 1.7 GB per row at a 1e5 s cut-off — and biased the mean waiting time)
    beyond = c is not None and c >= L
    fail_lat = np.zeros((m0 + M + d_fail, L + (0 if c is None or beyond else c)))
    fail_lat[m0 + d_fail : m0 + d_fail + M, :L] = fail_here.reshape(M, L)
    if c is not None and not beyond:  # the earlier pair at t is discarded at t + c_win if its partner is later
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
    partner: np.ndarray | None = None,
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
    partner : ndarray, optional
        A swap of two different pairs (per-segment chains): the other input, on r's lattice (:func:`align`).

    Returns
    -------
    (ndarray (4, M', L'), int)
        The level's lattice and its row offset; with ``top``: ``(n-marginal (4, L'), m-marginal of the
        trace (M',), row offset)``.
    """
    succ_lat, fail_lat = _join(r, m0, cutoff_attempts, delay_attempts, rates_per_attempt, op, swap_p, post,
                               d_succ, d_fail, d_cut, partner)
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


def lattice_top_means(
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
    partner: np.ndarray | None = None,
    **_,
) -> tuple[float, np.ndarray, float]:
    """Last level of :func:`lattice_level` reduced to means, without a renewal grid.

    With S and F the succeeding and failing attempts (lattices over (m, n)), T = F₁ + … + F_K + S gives
    E[T] = Σ t S / Σ S + Σ t F / (1 − Σ F) with t = n + (δ/τ) m, and the delivered state Σ S_corr / Σ S. Returns (E[T] in attempts, mean correlators (3,),
    neglected mass |1 − Σ S/(1 − Σ F)|).
    """
    succ, fail = _join(r, m0, cutoff_attempts, delay_attempts, rates_per_attempt, op, swap_p, post,
                       d_succ, d_fail, d_cut, partner)
    rho = float(delay_attempts)
    s0 = succ[0]
    p_s, p_f = float(s0.sum()), float(fail.sum())
    t_s = np.arange(s0.shape[1], dtype=float)[None, :] + rho * (m0 + d_succ + np.arange(s0.shape[0], dtype=float))[:, None]
    t_f = np.arange(fail.shape[1], dtype=float)[None, :] + rho * np.arange(fail.shape[0], dtype=float)[:, None]
    mean = float((t_s * s0).sum()) / p_s + float((t_f * fail).sum()) / (1.0 - p_f)
    corr = succ[1:].sum(axis=(1, 2)) / p_s
    return mean, corr, abs(1.0 - p_s / (1.0 - p_f))
