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
from .exact_lattice import align, lattice_level, lattice_top_means
from .model import ChainSpec, link_key


class PairBlockChain(BlockChain):
    """:class:`.exact_blocks.BlockChain` with the swap of two different pairs (module docstring)."""

    def _survival(self, r0: np.ndarray, N: int, shift: int) -> np.ndarray:
        """P(T > t) at the Gauss nodes of blocks 0 … N + shift − 1 (beyond the grid: the neglected mass)."""
        B = self.basis
        out = np.full((N + shift, B.phi_nodes.shape[1]), max(0.0, 1.0 - float(B.total(r0))))
        out[:N] = 1.0 - B.values(self._tail_sums(r0, 0.0))
        return out

    def join_pair(self, ra: np.ndarray, rb: np.ndarray, swap_p: float, post: np.ndarray):
        """Succeeding (4, N, n) and failing (N', n) swaps of the independent pairs ra (left), rb (right)."""
        B = self.basis
        N = max(ra.shape[-2], rb.shape[-2])
        ra, rb = (np.concatenate([x, np.zeros((4, N - x.shape[-2], B.n))], axis=1) for x in (ra, rb))
        av, bv = B.values(ra), B.values(rb)
        joined = B.values(self._window(ra)) * bv + av * (B.values(self._window(rb)) - bv)
        sv = np.empty_like(joined)
        sv[0] = swap_p * joined[0]
        sv[1:] = swap_p * (PHI_PLUS_CORRELATORS * post)[:, None, None] * joined[1:]
        succ = B.project(sv)
        if not float(B.total(succ[0])) > 0:
            raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
        fail_v = joined[0] - sv[0]
        shift = None if self.c is None else self.c // B.b
        if shift is None or shift >= N:  # no cut-off, or partners beyond the grid: its neglected mass
            return succ, B.project(fail_v)
        sa, sb = self._survival(ra[0], N, shift), self._survival(rb[0], N, shift)
        fail = np.zeros((N + shift, B.n))
        fail[:N] = B.project(fail_v)
        fail[shift:] += B.project(av[0] * sb[shift:] + bv[0] * sa[shift:])
        return succ, fail


def _rates(spec: ChainSpec) -> np.ndarray:
    link = spec.link
    return link.attempt_duration_s * np.array([0.0, link.transverse_rate_hz, link.transverse_rate_hz,
                                               link.longitudinal_rate_hz])


def _post(spec: ChainSpec, delay_s: float) -> np.ndarray:
    link = spec.link
    return np.exp(-delay_s * np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz]))


def _subtrees(spec: ChainSpec, leaf, join):
    """Nested schedule over per-segment leaves: ``join(a, b, level, top)`` of the halves of every
    sub-tree, computed once per distinct sub-tree (keyed by its links and multiplexing)."""
    keys = [(link_key(lk), m) for lk, m in zip(spec.links, spec.multiplexes)]
    memo: dict = {}

    def tree(lo: int, hi: int, top: bool):
        key = (tuple(keys[lo:hi]), top)
        if key not in memo:
            if hi - lo == 1:
                memo[key] = leaf(lo)
            else:
                mid = (lo + hi) // 2
                memo[key] = join(tree(lo, mid, False), tree(mid, hi, False), (hi - lo).bit_length() - 1, top)
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
    b, nc = choose_block(spec.cutoff_attempts, rate) if math.isfinite(rate) else (1, 1)
    basis = block_basis(b, nc)
    chain = PairBlockChain(basis, spec.cutoff_attempts, rates, max_grid)
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
            r = chain.level(r, spec.purification, 1.0, np.ones(3), level_tol)
        return r

    def join(ra, rb, level, top):
        if top:
            return chain.means(ra, "swap", swap_p, noise, partner=rb)
        return chain.level(ra, "swap", swap_p, noise, level_tol, partner=rb)

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
        for _ in range(spec.rounds):  # a purification outcome is known δ later (success or failure)
            lat, m0 = lattice_level(lat, m0, op=spec.purification, swap_p=1.0, post=_post(spec, delay), d_succ=1,
                                    d_fail=1, d_cut=0, **common)
        return lat, m0

    def join(a, b, level, top):
        ra, rb, m0 = align(a[0], a[1], b[0], b[1])
        kw = {"op": "swap", "swap_p": swap_p, "post": noise * _post(spec, 2 ** (level - 1) * delay),
              "d_succ": 2 ** (level - 1), "d_fail": 0, "d_cut": 2 ** (level - 2) if level >= 2 else 0, "partner": rb}
        if top:
            return lattice_top_means(ra, m0, **kw, **common)
        return lattice_level(ra, m0, **kw, **common)

    mean, corr, trunc = _subtrees(spec, leaf, join)
    return mean, corr, trunc, "lattice"
