"""Exact engine: waiting-time distribution and average delivered state of nested repeater chains.

Method (Brand, Coopmans, Elkouss, IEEE JSAC 38, 619 (2020), arXiv:1912.07688; Li, Coopmans, Elkouss,
IEEE TQE 2, 4100815 (2021)). Time is counted in attempts. For each protocol level k we carry, on an
integer grid t = 0 … L−1, the four arrays

    R_k(t) = ( P(T_k = t),  E[⟨XX⟩ 1{T_k=t}],  E[⟨YY⟩ 1{T_k=t}],  E[⟨ZZ⟩ 1{T_k=t}] ),

i.e. the *unnormalised* average state of the pair delivered at time t. Every operation is a quantum
instrument (decay: linear; swap and purification: bilinear in two independent pairs; their success
probabilities are linear in the states), so carrying ensemble averages is exact — also through
purification, whose success probability depends on the state.

Level k joins two independent pairs of level k−1 produced in parallel, T_A, T_B. With D = |T_A − T_B|:

* if D ≤ c (cut-off in attempts, ∞ without cut-off) the earlier pair has decayed for D attempts —
  its correlators gain exp(−Γ τ D) — and the pair is joined at time max(T_A, T_B) by a swap (success
  probability p_s) or a purification round (success probability from the states);
* if D > c the earlier pair is discarded at min(T_A, T_B) + c;
* on any failure both inputs are gone and the level restarts from scratch (both sub-protocols anew:
  the renewal structure of Brand et al.).

With s(t) the sub-distribution of a successful attempt ending at t (carrying the output state) and
f(t) that of a failed one, T_k = F_1 + … + F_{K−1} + S, so in generating functions
R̂_k = ŝ / (1 − f̂). The inversion uses an FFT of the exponentially damped sequences (damping θ with
θ^L = 1e−6), which suppresses wrap-around by 1e−6 × (mass beyond the grid). The sums over D are
exponentially weighted moving windows, computed with a first-order recursive filter, so a level costs
O(L log L). Grid lengths are chosen per level from the level's exact mean (E[attempt]/P(success)) and
enlarged until the neglected mass is below ``tol``; the total neglected mass at the top level is
reported as ``truncation_error``.

Two grids. :func:`solve_exact` returns the whole distribution on the grid of single attempts described
here (its cost grows as 1/p). :func:`run_exact` needs only the means: without classical delay its levels
run on blocks of attempts (:mod:`qrepeater.engines.exact_blocks`: polynomial coefficients per block,
block length a divisor of the cut-off, cost independent of 1/p, error bound there), with delay on the
fine lattice below; on both the last level is reduced to its means (E[T] = Σ t S/Σ S + Σ t F/(1 − Σ F),
no renewal grid) by :func:`exact_means`. Chains whose segments differ (per-segment links or
multiplexing) run each sub-tree of the nested schedule on its own (:mod:`.exact_hetero`; means only).

Elementary links: geometric waiting time with success probability 1 − (1 − p)^M (M multiplexed
memories). Link-level purification rounds come first, then log2(segments) swap levels.

Classical delay. With δ = ``classical_delay_s`` > 0 a pair is used only once its outcome messages
arrived (protocol and cut-off rules: :mod:`qrepeater.engines.model`): a level-j swap's output is ready
2^(j−1)·δ after the swap, a purification outcome δ after the round, and a level-j pair's cut-off window
shrinks by its own message time. Times are then t = n τ + m δ, and each level is computed on the
(m, n) lattice by :func:`qrepeater.engines.exact_lattice.lattice_level` — the same recursion with the
partner sums taken in order of real time and a 2-D renewal; nothing is rounded to the attempt grid.
The result then also carries ``delay_steps_pmf`` (the distribution of m). With δ = 0 the 1-D path below
runs unchanged. Checked against closed forms (2 segments: E[T] = τ E[max(G₁, G₂)]/p_s + δ; nested
chains without cut-off: E[T] grows by δ (1/p_s + 2) for 4 segments, 7δ for 8 with certain swaps),
against the Monte Carlo engine and against the event engine's simulated messages
(``tests/test_engines_classical_delay.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..states import BellDiagonal
from ..states.purification import bbpssw_unnormalized, dejmps_unnormalized
from ..states.swapping import PHI_PLUS_CORRELATORS, swap_noise_factors
from .exact_lattice import _bell_to_tc, _renewal, _tc_to_bell, decayed_cumsum, lattice_level, lattice_top_means
from .metrics import ChainResult
from .model import ChainSpec, link_key

#: Largest waiting-time grid (attempts) the exact engine builds (≈ 0.5 GB of work arrays).
MAX_GRID = 2**24


@dataclass(frozen=True)
class ExactSolution:
    """Output of :func:`solve_exact`.

    Attributes
    ----------
    waiting_time_pmf : ndarray
        P(T = t) for t = 0 … L−1 attempts (end-to-end waiting time of one pair). With classical delay
        the waiting time is T = n τ + m δ and this is the distribution of its attempt part n.
    correlator_mass : ndarray, shape (3, L)
        E[(⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) 1{n = t}] of the delivered pair.
    truncation_error : float
        1 − Σ_t P(T = t): probability mass not represented on the grid.
    attempt_duration_s : float
    delay_steps_pmf : ndarray or None
        With classical delay δ > 0: P(m = k), k = 0 … (the number of one-segment message delays in T).
    classical_delay_s : float
        δ (s), one-way classical delay per segment.
    """

    waiting_time_pmf: np.ndarray
    correlator_mass: np.ndarray
    truncation_error: float
    attempt_duration_s: float
    delay_steps_pmf: np.ndarray | None = None
    classical_delay_s: float = 0.0

    @property
    def mean_waiting_time_attempts(self) -> float:
        """E[T]/τ = E[n] + E[m] δ/τ."""
        p = self.waiting_time_pmf
        mean = float((np.arange(p.size, dtype=float) * p).sum() / p.sum())  # no BLAS: tiny dots are slow threaded
        q = self.delay_steps_pmf
        if q is None or not self.classical_delay_s > 0:
            return mean
        return mean + float((np.arange(q.size, dtype=float) * q).sum() / q.sum()) * self.classical_delay_s / self.attempt_duration_s

    @property
    def mean_state(self) -> BellDiagonal:
        t = self.correlator_mass.sum(axis=1) / self.waiting_time_pmf.sum()
        return BellDiagonal.from_correlators(*np.clip(t, -1.0, 1.0))


def _window_sums(r: np.ndarray, q: np.ndarray, c: int | None) -> np.ndarray:
    """E_j(t) = Σ_{d=0}^{c} q_j^d r_j(t − d) for each row j (c=None: no upper limit)."""
    out = np.empty_like(r)
    for j in range(r.shape[0]):
        e = decayed_cumsum(r[j], q[j])
        if c is not None and c + 1 < r.shape[1]:
            e[c + 1 :] -= q[j] ** (c + 1) * e[: -(c + 1)]
        out[j] = e
    return out


def _level(
    r: np.ndarray,
    c: int | None,
    q: np.ndarray,
    op: str,
    swap_p: float,
    post: np.ndarray,
    tol: float,
    max_grid: int = 0,
) -> np.ndarray:
    """One protocol level: join two independent copies of ``r`` (shape (4, L)), renewal on failure."""
    L = r.shape[1]
    e = _window_sums(r, q, c)
    two_e = 2.0 * e - r  # symmetric bilinear op: B(R,E) + B(E,R) − B(R,R) = B(R, 2E − R)
    pre_trace = r[0] * two_e[0]
    if op == "swap":
        succ = np.empty_like(r)
        succ[0] = swap_p * pre_trace
        succ[1:] = swap_p * (PHI_PLUS_CORRELATORS * post)[:, None] * r[1:] * two_e[1:]
    else:
        fn = bbpssw_unnormalized if op == "bbpssw" else dejmps_unnormalized
        succ = _bell_to_tc(fn(_tc_to_bell(r), _tc_to_bell(two_e)))
        succ[1:] *= post[:, None]
    fail = pre_trace - succ[0]
    if c is not None:
        surv = np.clip(1.0 - np.cumsum(r[0]), 0.0, None)  # P(T > t)
        fc = np.zeros(L)
        if c < L:  # earlier pair at u, partner later than u + c: discarded at u + c
            fc[c:] = 2.0 * r[0][: L - c] * surv[c:]
        fail = fail + fc
    fail = np.clip(fail, 0.0, None)
    p_succ = succ[0].sum()
    if not p_succ > 0:
        raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
    t = np.arange(L, dtype=float)
    p_fail = fail.sum()
    mean = float((t * (succ[0] + fail)).sum() / p_succ)
    # mass the renewal would have on an infinite grid, given the (truncated) inputs
    expected = p_succ / (1.0 - p_fail) if p_fail < 1.0 else 1.0
    length = max(L, int(math.ceil(mean * (math.log(1.0 / tol) + 3.0))) + 8)
    while True:
        if length > (max_grid or MAX_GRID):
            raise ParameterError(
                "exact-engine grid",
                length,
                f"<= {max_grid or MAX_GRID} attempts: the mean waiting time ({mean:.3g} attempts) is too long for the exact "
                "engine; use engine 'montecarlo'",
            )
        out = _renewal(succ, fail, length)
        missing = expected - out[0].sum()
        if missing <= max(tol, 1e-9):
            return out
        length *= 2


def _post_factors(spec: ChainSpec, delay_s: float) -> np.ndarray:
    link = spec.link
    return np.exp(-delay_s * np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz]))


def _check_schedule(spec: ChainSpec) -> None:
    if spec.schedule == "swap-asap" and (spec.segments > 2 or (spec.segments == 2 and spec.rounds and spec.cutoff_s is not None)):
        raise ParameterError(
            "engine",
            "exact",
            "'montecarlo' for swap-asap chains (the exact recursion covers nested chains and swap-asap with "
            "at most 2 segments, without purification+cut-off)",
        )


def _cached(key: tuple, compute):
    hit = _CACHE.get(key)
    if hit is None:
        hit = compute()
        if len(_CACHE) >= 64:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = hit
    return hit


def solve_exact(spec: ChainSpec, tol: float = 1e-8, max_grid: int = MAX_GRID) -> ExactSolution:
    """Waiting-time distribution and delivered-state averages of ``spec`` on the grid of single attempts
    (see module docstring; its cost grows as 1/p — :func:`run_exact` needs only the means and uses the
    block grid of :mod:`.exact_blocks`).

    Raises
    ------
    ParameterError
        For ``schedule='swap-asap'`` with more than 2 segments (no exact recursion: use the Monte Carlo
        engine), or with 2 segments combined with both purification and a cut-off (the swap-asap
        cut-off then does not restart the partner link's purification, unlike the recursion).
    """
    _check_schedule(spec)
    if not spec.homogeneous:
        raise ParameterError("spec", "a per-segment chain", "exact_means or run_exact (the per-segment exact engine "
                             "returns the means, not the whole distribution)")
    spec = spec.as_homogeneous()
    return _cached(_spec_key(spec, float(tol)), lambda: _solve(spec, float(tol), int(max_grid)))


def exact_means(spec: ChainSpec, tol: float = 1e-8, max_grid: int = MAX_GRID) -> tuple[float, np.ndarray, float, str]:
    """(E[T] in attempts, mean (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) of the delivered pair, neglected probability mass, grid).

    Without classical delay the levels run on blocks of attempts (:func:`.exact_blocks.block_means`,
    cost independent of 1/p; ``grid`` = "blocks b x n"). With delay δ > 0 they run on the fine
    (delay steps, attempts) lattice of :mod:`.exact_lattice` (``grid`` = "lattice"); in both the last
    level is reduced to its means (no renewal grid for it).
    """
    _check_schedule(spec)
    if not spec.homogeneous:  # segments differ: every sub-tree on its own (:mod:`.exact_hetero`)
        from .exact_hetero import hetero_means

        return _cached(_spec_key(spec, float(tol)) + ("means",), lambda: hetero_means(spec, float(tol), int(max_grid)))
    spec = spec.as_homogeneous()
    return _cached(_spec_key(spec, float(tol)) + ("means",), lambda: _means(spec, float(tol), int(max_grid)))


def _means(spec: ChainSpec, tol: float, max_grid: int):
    if spec.link.classical_delay_s > 0 and (spec.rounds or spec.levels):
        r, level_tol = _link_level(spec, tol, max_grid)
        mean, corr, trunc = _solve_delayed(spec, r, level_tol, max_grid, means_only=True)
        return mean, corr, trunc, "lattice"
    from .exact_blocks import block_means

    mean, corr, trunc, (b, n) = block_means(spec, tol, max_grid)
    return mean, corr, trunc, f"blocks {b} x {n}"


_CACHE: dict[tuple, ExactSolution] = {}


def _spec_key(spec: ChainSpec, tol: float) -> tuple:
    link = spec.link
    return (
        float(link.success_probability), float(link.attempt_duration_s), tuple(link.fresh_state.coefficients.tolist()),
        float(link.transverse_rate_hz), float(link.longitudinal_rate_hz), float(link.classical_delay_s),
        spec.segments, spec.swap, spec.cutoff_s, spec.multiplex, spec.purification, spec.rounds, tol, spec.schedule,
    ) + (() if spec.homogeneous else (tuple(link_key(lk) for lk in spec.links), spec.multiplexes,
                                      spec.segment_cutoff_attempts))


def _link_level(spec: ChainSpec, tol: float, max_grid: int) -> tuple[np.ndarray, float]:
    """Elementary link on the grid of attempts (geometric, t ≥ 1) and the tolerance of each level."""
    link = spec.link
    p = spec.link_success_probability
    level_tol = tol / (2.0 * (spec.levels + spec.rounds + 1))
    L0 = int(math.ceil(math.log(1.0 / level_tol) / -math.log1p(-p))) + 2 if p < 1 else 2
    if L0 > max_grid:
        raise ParameterError(
            "exact-engine grid", L0, f"<= {max_grid} attempts: the link success probability {p:.3g} per attempt is too "
            "small for the exact engine; use engine 'montecarlo'",
        )
    pmf = np.zeros(L0)
    t = np.arange(1, L0)
    pmf[1:] = p * np.exp((t - 1) * math.log1p(-p)) if p < 1 else (t == 1).astype(float)
    return np.vstack([pmf, np.outer(link.fresh_state.correlators, pmf)]), level_tol


def _solve(spec: ChainSpec, tol: float, max_grid: int) -> ExactSolution:
    link = spec.link
    tau = link.attempt_duration_s
    q = np.exp(-tau * np.array([0.0, link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz]))
    c = spec.cutoff_attempts
    r, level_tol = _link_level(spec, tol, max_grid)
    if link.classical_delay_s > 0 and (spec.rounds or spec.levels):  # one bare segment waits for no message
        return _solve_delayed(spec, r, level_tol, max_grid)
    for _ in range(spec.rounds):
        r = _level(r, c, q, spec.purification, 1.0, _post_factors(spec, link.classical_delay_s), level_tol, max_grid)
    noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    for k in range(1, spec.levels + 1):
        post = noise * _post_factors(spec, 2 ** (k - 1) * link.classical_delay_s)
        r = _level(r, c, q, "swap", float(spec.swap.success_probability), post, level_tol, max_grid)
    r = np.clip(r, -1.0, 1.0)
    r[0] = np.clip(r[0], 0.0, None)
    trunc = float(abs(1.0 - r[0].sum()))  # neglected tail (plus ~1e-10 of FFT round-off)
    return ExactSolution(r[0].copy(), r[1:].copy(), trunc, tau)


def _solve_delayed(spec: ChainSpec, r: np.ndarray, level_tol: float, max_grid: int, means_only: bool = False):
    """Levels with classical delay δ > 0 on the (delay steps, attempts) lattice (:mod:`.exact_lattice`).

    Message times per level (module docstring of :mod:`qrepeater.engines.model`): a purification
    round's outcome (success or failure) is known δ later; a swap of level j is known at the next
    level's node and at the ends 2^(j−1)·δ later, a failed swap at once; a level-j (j ≥ 2) pair's
    cut-off counts its own message time 2^(j−2)·δ.
    """
    link = spec.link
    tau = link.attempt_duration_s
    delay = float(link.classical_delay_s)
    rates = tau * np.array([0.0, link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
    common = {"cutoff_attempts": spec.cutoff_attempts, "delay_attempts": delay / tau, "rates_per_attempt": rates,
              "tol": level_tol, "max_grid": max_grid}
    lat, m0 = r[:, None, :], 0
    # (operation, success probability, output factors, delay steps on success / on failure / off the cut-off)
    steps = [(spec.purification, 1.0, _post_factors(spec, delay), 1, 1, 0)] * spec.rounds
    noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    for k in range(1, spec.levels + 1):
        post = noise * _post_factors(spec, 2 ** (k - 1) * delay)
        steps.append(("swap", float(spec.swap.success_probability), post, 2 ** (k - 1), 0, 2 ** (k - 2) if k >= 2 else 0))
    for i, (op, swap_p, post, d_succ, d_fail, d_cut) in enumerate(steps):
        if means_only and i == len(steps) - 1:  # (E[T] in attempts, correlators, neglected mass)
            return lattice_top_means(lat, m0, op=op, swap_p=swap_p, post=post, d_succ=d_succ, d_fail=d_fail,
                                     d_cut=d_cut, **common)
        out = lattice_level(lat, m0, op=op, swap_p=swap_p, post=post, d_succ=d_succ, d_fail=d_fail, d_cut=d_cut,
                            top=i == len(steps) - 1, **common)
        if i == len(steps) - 1:
            n_marg, m_marg, m0 = out
        else:
            lat, m0 = out
    n_marg = np.clip(n_marg, -1.0, 1.0)
    n_marg[0] = np.clip(n_marg[0], 0.0, None)
    trunc = float(abs(1.0 - n_marg[0].sum()))
    delay_steps = np.zeros(m0 + m_marg.size)
    delay_steps[m0:] = np.clip(m_marg, 0.0, None)
    return ExactSolution(n_marg[0].copy(), n_marg[1:].copy(), trunc, tau, delay_steps, delay)


def run_exact(spec: ChainSpec, tol: float = 1e-8, max_grid: int = MAX_GRID) -> ChainResult:
    """:class:`ChainResult` of the exact engine for ``spec`` (its means: :func:`exact_means`).

    Parameters
    ----------
    spec : ChainSpec
    tol : float
        Probability mass of the waiting time allowed beyond the computed grid.
    max_grid : int
        Largest waiting-time grid (attempts) before the engine refuses.

    Returns
    -------
    ChainResult
        Frozen dataclass (:class:`qrepeater.engines.metrics.ChainResult`; ``.to_dict()`` is the JSON of
        ``qrepeater chain``, ``.to_dataframe()`` one pandas row). Fields and units: ``engine`` =
        ``"exact"``; ``rate_hz`` (Hz, end-to-end pairs per second, 1 / ``mean_waiting_time_s``);
        ``mean_waiting_time_s`` (s); ``mean_fidelity`` (1, Φ+ fidelity of the delivered pairs);
        ``mean_state`` (BellDiagonal, the average delivered state); ``rate_ci95``,
        ``fidelity_ci95``, ``waiting_time_ci95`` (95 % intervals, zero width here);
        ``secret_key_fraction`` (bit per pair, asymptotic BB84 of ``mean_state``);
        ``secret_key_rate_bps`` (bit/s); ``key_bits_per_channel_use`` (bit per mode per attempt);
        ``attempt_duration_s`` (s); ``multiplex``; ``channel_uses_per_attempt``; ``truncation_error``
        (1, waiting-time mass beyond the grid); ``pairs`` = None; and, after
        ``.with_distance(distance_km)``, ``distance_km`` (km), ``plob_bound`` and ``tgw_bound`` (bit per
        channel use) and ``beats_plob`` (bool).
    """
    mean_attempts, corr, trunc, _ = exact_means(spec, tol, max_grid)
    tau = spec.link.attempt_duration_s
    mean_t = mean_attempts * tau
    state = BellDiagonal.from_correlators(*np.clip(corr, -1.0, 1.0))
    f = float(state.fidelity)
    return ChainResult(
        engine="exact",
        rate_hz=1.0 / mean_t,
        mean_fidelity=f,
        fidelity_ci95=(f, f),
        mean_waiting_time_s=mean_t,
        waiting_time_ci95=(mean_t, mean_t),
        mean_state=state,
        attempt_duration_s=tau,
        multiplex=int(spec.multiplex),
        channel_uses_per_attempt=int(spec.multiplex) * 2**spec.rounds,
        truncation_error=float(trunc),
    )
