"""Exact engine for chains whose segments differ (per-segment links and multiplexing).

A homogeneous chain joins two *copies* of one distribution per level (:mod:`.exact`), so a chain of
2^L segments costs L levels. When the segments differ, every sub-tree of the nested schedule (segments
lo … hi − 1, hi − lo = 2^k) has its own distribution, and a level joins two *different* independent
pairs A (left half) and B (right half) produced in parallel (Brand, Coopmans, Elkouss, IEEE JSAC 38, 619
(2020), Sec. IV, whose recursion is stated for two independent inputs). With D = T_B − T_A, the pair
that arrived first decays while it waits; at the later time t the joined mass is

    Σ_{d=0}^{c} q^d R_A(t − d) R_B(t) + Σ_{d=1}^{c} q^d R_B(t − d) R_A(t) = B(E_A, R_B) + B(R_A, E_B − R_B),

with E_X the window sums of :mod:`.exact` (A waited, or B strictly earlier waited; for A = B this is the
symmetric B(R, 2E − R)); a partner later than the window discards the earlier pair at (earlier) + c with
mass R_A,0(u) P(T_B > u + c) + R_B,0(u) P(T_A > u + c). The renewal on failure is unchanged. Sub-trees
with equal segments are computed once (a cache keyed by their links), so the cost is O(segments) levels
at most and O(log segments) for repeated blocks; the all-equal chain itself is routed to the homogeneous
engine by :func:`qrepeater.engines.exact.exact_means`.

Per-segment cut-offs (:class:`qrepeater.engines.model.ChainSpec`): a pair spanning segments lo … hi − 1 is
kept at most c = min(c_lo, c_(hi−1)) attempts (the strictest of its two memories), so the halves of a
sub-tree have their own c_A, c_B and the swap is asymmetric: B(E_A^{c_A}, R_B) + B(R_A, E_B^{c_B} − R_B),
the earlier pair discarded at (its time) + (its own cut-off) — R_A,0(u) P(T_B > u + c_A) at u + c_A and
R_B,0(u) P(T_A > u + c_B) at u + c_B (:meth:`PairBlockChain._join_asymmetric`; a segment's link-level
purification uses that segment's cut-off). The blocks divide every cut-off (their gcd). With a classical
delay the same join runs on the lattice (:func:`_lattice_pair_join`: each window c_X − d_cut·δ/τ, each
discard at +c_X attempts and −d_cut delay steps).

Per-segment links share the lock-step clock τ, the classical delay δ and the pair decay rates
(:class:`qrepeater.engines.model.ChainSpec`), so the decay factors, message times and cut-off windows are
those of the homogeneous engine; only the link-level distributions (success probability 1 − (1 − p_i)^M_i,
fresh state) differ. Without delay the levels run on blocks (:mod:`.exact_blocks`), with delay on the
lattice (:mod:`.exact_lattice`); the last level is reduced to its means in both.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ..states.swapping import PHI_PLUS_CORRELATORS, swap_noise_factors
from .exact_blocks import BlockChain, block_basis, choose_block
from .exact_lattice import (
    _grid,
    _renewal_2d,
    _windows,
    align,
    lattice_level,
    lattice_top_means,
)
from .model import CUTOFF_TIE_ATTEMPTS, ChainSpec, link_key


class PairBlockChain(BlockChain):
    """:class:`.exact_blocks.BlockChain` with the swap of two different pairs (module docstring); the
    ``partner`` of :meth:`level` / :meth:`means` is ``(r_B, c_A, c_B)``: the right input and the cut-offs
    (whole attempts or None) of the left and right pairs."""

    def _joined(self, r, op, swap_p, post, partner):
        if partner is None:
            return self.join(r, op, swap_p, post)
        rb, ca, cb = partner
        return self.join_pair(r, rb, swap_p, post, ca, cb)

    def _window_c(self, r: np.ndarray, c: int | None) -> np.ndarray:
        """:meth:`_window` with the cut-off ``c`` of the pair that waits (None: no cut-off)."""
        if c == 0:  # a cut-off shorter than one attempt: only a partner in the same attempt (d = 0)
            return r.copy()
        if c == self.c:
            return self._window(r)
        own, self.c = self.c, c
        try:
            return self._window(r)
        finally:
            self.c = own

    def _survival(self, r0: np.ndarray, N: int, shift: int) -> np.ndarray:
        """P(T > t) at the Gauss nodes of blocks 0 … N + shift − 1 (beyond the grid: the neglected mass)."""
        B = self.basis
        out = np.full((N + shift, B.phi_nodes.shape[1]), max(0.0, 1.0 - float(B.total(r0))))
        out[:N] = 1.0 - B.values(self._tail_sums(r0, 0.0))
        return out

    def join_pair(self, ra: np.ndarray, rb: np.ndarray, swap_p: float, post: np.ndarray, ca="chain", cb="chain"):
        """Succeeding (4, N, n) and failing (N', n) swaps of the independent pairs ra (left), rb (right),
        the left one kept at most ``ca`` attempts, the right one ``cb`` (default: the chain's cut-off)."""
        ca = self.c if ca == "chain" else ca
        cb = self.c if cb == "chain" else cb
        return self._join_asymmetric(ra, rb, swap_p, post, ca, cb)

    def _join_asymmetric(self, ra, rb, swap_p, post, ca, cb):
        """:meth:`join_pair` with different cut-offs: at the later time t the joined mass is
        Σ_{d=0}^{c_A} q^d R_A(t − d) R_B(t) + Σ_{d=1}^{c_B} q^d R_B(t − d) R_A(t) = B(E_A^{c_A}, R_B) +
        B(R_A, E_B^{c_B} − R_B) (A waited at most c_A, or B strictly earlier waited at most c_B); the earlier
        pair is discarded at (its time) + (its own cut-off): R_A,0(u) P(T_B > u + c_A) at u + c_A and
        R_B,0(u) P(T_A > u + c_B) at u + c_B."""
        B = self.basis
        N = max(ra.shape[-2], rb.shape[-2])
        ra, rb = (np.concatenate([x, np.zeros((4, N - x.shape[-2], B.n))], axis=1) for x in (ra, rb))
        av, bv = B.values(ra), B.values(rb)
        joined = B.values(self._window_c(ra, ca)) * bv + av * (B.values(self._window_c(rb, cb)) - bv)
        sv = np.empty_like(joined)
        sv[0] = swap_p * joined[0]
        sv[1:] = swap_p * (PHI_PLUS_CORRELATORS * post)[:, None, None] * joined[1:]
        succ = B.project(sv)
        if not float(B.total(succ[0])) > 0:
            raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
        fail_v = joined[0] - sv[0]
        # per side: (values of the waiting pair, the other's arrivals, shift in blocks); none beyond the grid
        sides = [(av[0], rb[0], c // B.b) for c in (ca,) if c is not None and c // B.b < N]
        sides += [(bv[0], ra[0], c // B.b) for c in (cb,) if c is not None and c // B.b < N]
        fail = np.zeros((N + max([s for _, _, s in sides], default=0), B.n))
        fail[:N] = B.project(fail_v)
        for waiting, other, shift in sides:
            fail[shift : shift + N] += B.project(waiting * self._survival(other, N, shift)[shift:])
        return succ, fail


def _lattice_pair_join(ra, rb, m0, ca, cb, delay_attempts, rates_per_attempt, swap_p, post, d_succ, d_cut):
    """Swap of two different pairs with their own cut-offs ``ca``, ``cb`` (attempts or None) on the delay
    lattice (:func:`.exact_lattice._join` with ``partner``, asymmetric): at the later point
    B(E_A^{w_A}, R_B) + B(R_A, E_B^{w_B} − R_B) with w_X = c_X − d_cut·ρ (+ tie) the earlier pair's window;
    the earlier pair is discarded at (its point) + w_X, weight R_X,0 · P(T_other > t + w_X), i.e. (+c_X
    attempts, −d_cut rows). Returns (succ (4, M, L) at rows m0 + d_succ …, fail (rows from 0, attempts))."""
    _, M, L = ra.shape
    rho = float(delay_attempts)
    t = order = None
    if M > 1:
        t = (np.arange(L, dtype=float)[None, :] + rho * (m0 + np.arange(M, dtype=float))[:, None]).ravel()
        order = np.argsort(t, kind="stable")
        t = t[order]
    va, vb = (np.ascontiguousarray(x.reshape(4, M * L)) for x in (ra, rb))
    rates = np.asarray(rates_per_attempt, float)
    win = [math.inf if c is None else c - d_cut * rho + CUTOFF_TIE_ATTEMPTS for c in (ca, cb)]
    ea = _windows(t, order, va, rates, win[0], False)[0]
    eb = _windows(t, order, vb, rates, win[1], False)[0]
    joined = ea * vb + va * (eb - vb)
    succ = np.empty_like(va)
    succ[0] = swap_p * joined[0]
    succ[1:] = float(swap_p) * (PHI_PLUS_CORRELATORS * post)[:, None] * joined[1:]
    if not succ[0].sum() > 0:
        raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
    # per side: (the waiting pair, the other pair, its cut-off); beyond the grid: the neglected mass
    sides = [(va, vb, ca, win[0]), (vb, va, cb, win[1])]
    sides = [(w, o, c, cw) for w, o, c, cw in sides if c is not None and c < L]
    fail_lat = np.zeros((m0 + M, L + max([c for _, _, c, _ in sides], default=0)))
    fail_lat[m0 : m0 + M, :L] = (joined[0] - succ[0]).reshape(M, L)
    lo = m0 - d_cut  # absolute row of lattice row 0 after the shift (rows below 0 hold round-off only)
    skip = max(0, -lo)
    for waiting, other, c, cw in sides:
        fc = (waiting[0] * _windows(t, order, other, rates, cw, True)[1]).reshape(M, L)
        if skip < M:
            fail_lat[lo + skip : lo + M, c : c + L] += fc[skip:]
    np.clip(fail_lat, 0.0, None, out=fail_lat)
    return succ.reshape(4, M, L), fail_lat


def _lattice_pair_level(ra, rb, m0, ca, cb, *, top, tol, max_grid, delay_attempts, d_succ, **kw):
    """:func:`.exact_lattice.lattice_level` (``top``: :func:`.exact_lattice.lattice_top_means`) of
    :func:`_lattice_pair_join`: the same renewal of the succeeding and failing attempts."""
    succ, fail = _lattice_pair_join(ra, rb, m0, ca, cb, delay_attempts, d_succ=d_succ, **kw)
    if top:  # E[T] = Σ t S / Σ S + Σ t F / (1 − Σ F), t = n + ρ m; state Σ S_corr / Σ S
        rho, s0 = float(delay_attempts), succ[0]
        p_s, p_f = float(s0.sum()), float(fail.sum())
        t_s = np.arange(s0.shape[1], dtype=float)[None, :] + rho * (m0 + d_succ + np.arange(s0.shape[0]))[:, None]
        t_f = np.arange(fail.shape[1], dtype=float)[None, :] + rho * np.arange(fail.shape[0], dtype=float)[:, None]
        mean = float((t_s * s0).sum()) / p_s + float((t_f * fail).sum()) / (1.0 - p_f)
        return mean, succ[1:].sum(axis=(1, 2)) / p_s, abs(1.0 - p_s / (1.0 - p_f))
    rows, cols = _grid(succ, fail, tol, max_grid)
    if rows * cols > max_grid:
        raise ParameterError("exact-engine grid", rows * cols, f"<= {max_grid} lattice points ({rows} delay steps x "
                             f"{cols} attempts): use engine 'montecarlo'")
    out = _renewal_2d(succ, fail, rows, cols)
    row_mass = np.abs(out[0].sum(axis=1))  # drop rows with (almost) no mass at either end, as lattice_level
    thr = 1e-3 * tol
    first = int(np.searchsorted(np.cumsum(row_mass), thr, side="right"))
    last = rows - int(np.searchsorted(np.cumsum(row_mass[::-1]), thr, side="right"))
    first = min(first, max(last - 1, 0))
    return np.ascontiguousarray(out[:, first:max(last, first + 1)]), m0 + d_succ + first


def _rates(spec: ChainSpec) -> np.ndarray:
    link = spec.link
    return link.attempt_duration_s * np.array([0.0, link.transverse_rate_hz, link.transverse_rate_hz,
                                               link.longitudinal_rate_hz])


def _post(spec: ChainSpec, delay_s: float) -> np.ndarray:
    link = spec.link
    return np.exp(-delay_s * np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz]))


def _subtrees(spec: ChainSpec, leaf, join):
    """Nested schedule over per-segment leaves: ``join(a, b, level, top, c_A, c_B)`` of the halves of every
    sub-tree (c_A, c_B: the halves' pair cut-offs, :meth:`ChainSpec.pair_cutoff_attempts`), computed once
    per distinct sub-tree (keyed by its links, multiplexing and cut-offs)."""
    keys = list(zip((link_key(lk) for lk in spec.links), spec.multiplexes, spec.segment_cutoff_attempts))
    memo: dict = {}

    def tree(lo: int, hi: int, top: bool):
        key = (tuple(keys[lo:hi]), top)
        if key not in memo:
            if hi - lo == 1:
                memo[key] = leaf(lo)
            else:
                mid = (lo + hi) // 2
                memo[key] = join(tree(lo, mid, False), tree(mid, hi, False), (hi - lo).bit_length() - 1, top,
                                 spec.pair_cutoff_attempts(lo, mid), spec.pair_cutoff_attempts(mid, hi))
        return memo[key]

    return tree(0, int(spec.segments), True)


def hetero_means(spec: ChainSpec, tol: float, max_grid: int) -> tuple[float, np.ndarray, float, str]:
    """(E[T] in attempts, mean (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩), neglected mass, grid) of a per-segment chain
    (nested, or swap-asap with 2 segments, which is the same protocol); see the module docstring."""
    n = int(spec.segments)
    if n & (n - 1):
        raise ParameterError("segments", n, "a power of two for the exact engine (nested schedule)")
    probs = spec.segment_success_probabilities
    fresh = [np.asarray(lk.fresh_state.correlators, float) for lk in spec.links]
    level_tol = tol / (2.0 * (spec.levels + spec.rounds + 1))
    noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    swap_p = float(spec.swap.success_probability)
    if spec.link.classical_delay_s > 0:
        return _lattice_means(spec, probs, fresh, level_tol, max_grid, noise, swap_p)
    return _block_means(spec, probs, fresh, level_tol, max_grid, noise, swap_p)


def _block_means(spec, probs, fresh, level_tol, max_grid, noise, swap_p):
    rates = _rates(spec)
    link_rates = [-math.log1p(-p) if p < 1.0 else math.inf for p in probs]
    steps = spec.rounds + spec.levels
    rate = 2.0 ** steps * (max(link_rates) + float(rates.max()))
    finite = [c for c in spec.segment_cutoff_attempts if c]  # (0 attempts: no break point inside a block)
    grid_cut = math.gcd(*finite) if finite else None  # blocks divide every cut-off: break points on block edges
    b, nc = choose_block(grid_cut, rate) if math.isfinite(rate) else (1, 1)
    basis = block_basis(b, nc)
    chain = PairBlockChain(basis, spec.cutoff_attempts, rates, max_grid)
    chains = {spec.cutoff_attempts: chain}

    def chain_for(c):  # link-level purification of a segment: its memories' cut-off
        if c not in chains:
            chains[c] = PairBlockChain(basis, c, rates, max_grid)
        return chains[c]
    slowest = min(link_rates)
    length = int(math.ceil(math.log(1.0 / level_tol) / slowest)) + 2 if math.isfinite(slowest) else 2
    nblocks = -(-length // b)

    def leaf(i):
        p = probs[i]
        if p < 1.0:
            pmf = p * basis.exponential(link_rates[i], nblocks)  # P(T = t) = p (1 − p)^(t − 1), t ≥ 1
        else:
            pmf = basis.project(np.where(np.arange(nblocks)[:, None] * b + basis.nodes[None, :] == 1.0, 1.0, 0.0))
        r = np.concatenate([pmf[None], fresh[i][:, None, None] * pmf[None]], axis=0)
        for _ in range(spec.rounds):
            r = chain_for(spec.segment_cutoff_attempts[i]).level(r, spec.purification, 1.0, np.ones(3), level_tol)
        return r

    def join(ra, rb, level, top, ca, cb):
        if top:
            return chain.means(ra, "swap", swap_p, noise, partner=(rb, ca, cb))
        return chain.level(ra, "swap", swap_p, noise, level_tol, partner=(rb, ca, cb))

    mean, corr, trunc = _subtrees(spec, leaf, join)
    return mean, corr, trunc, f"blocks {b} x {basis.n}"


def _lattice_means(spec, probs, fresh, level_tol, max_grid, noise, swap_p):
    tau, delay = spec.link.attempt_duration_s, float(spec.link.classical_delay_s)
    common = {"cutoff_attempts": spec.cutoff_attempts, "delay_attempts": delay / tau, "rates_per_attempt": _rates(spec),
              "tol": level_tol, "max_grid": max_grid}
    slowest = min(probs)
    L0 = int(math.ceil(math.log(1.0 / level_tol) / -math.log1p(-slowest))) + 2 if slowest < 1 else 2
    if L0 > max_grid:
        raise ParameterError("exact-engine grid", L0, f"<= {max_grid} attempts: the link success probability "
                             f"{slowest:.3g} per attempt is too small for the exact engine; use engine 'montecarlo'")

    def leaf(i):
        p, t = probs[i], np.arange(1, L0)
        pmf = np.zeros(L0)
        pmf[1:] = p * np.exp((t - 1) * math.log1p(-p)) if p < 1 else (t == 1).astype(float)
        lat, m0 = np.vstack([pmf, np.outer(fresh[i], pmf)])[:, None, :], 0
        own = {**common, "cutoff_attempts": spec.segment_cutoff_attempts[i]}  # the segment's memories
        for _ in range(spec.rounds):  # a purification outcome is known δ later (success or failure)
            lat, m0 = lattice_level(lat, m0, op=spec.purification, swap_p=1.0, post=_post(spec, delay), d_succ=1,
                                    d_fail=1, d_cut=0, **own)
        return lat, m0

    def join(a, b, level, top, ca, cb):
        ra, rb, m0 = align(a[0], a[1], b[0], b[1])
        post = noise * _post(spec, 2 ** (level - 1) * delay)
        d_succ, d_cut = 2 ** (level - 1), (2 ** (level - 2) if level >= 2 else 0)
        if ca != cb:  # the halves' own cut-offs (per-segment cut-offs)
            return _lattice_pair_level(ra, rb, m0, ca, cb, top=top, tol=level_tol, max_grid=max_grid,
                                       delay_attempts=delay / tau, rates_per_attempt=_rates(spec), swap_p=swap_p,
                                       post=post, d_succ=d_succ, d_cut=d_cut)
        kw = {"op": "swap", "swap_p": swap_p, "post": post, "d_succ": d_succ, "d_fail": 0, "d_cut": d_cut,
              "partner": rb}
        if top:
            return lattice_top_means(ra, m0, **kw, **{**common, "cutoff_attempts": ca})
        return lattice_level(ra, m0, **kw, **{**common, "cutoff_attempts": ca})

    mean, corr, trunc = _subtrees(spec, leaf, join)
    return mean, corr, trunc, "lattice"
