"""Monte Carlo engine: sampled delivery times and states of repeater chains.

Implements the protocol of :mod:`qrepeater.engines.model` without any per-attempt loop: elementary
link generation is a geometric number of attempts (success probability 1 − (1 − p)^M for M
multiplexed memories: the first success among M parallel attempt streams), drawn with numpy.

* ``schedule="nested"`` (and link-level purification) is sampled level by level, vectorised over all
  pairs still pending at that level, with exactly the semantics of the exact engine: two independent
  pairs of the level below are produced in parallel; if their delivery times differ by more than the
  cut-off the earlier is discarded at min + cut-off, otherwise the earlier decays for the difference
  and the two are joined (swap: success probability ``SwapModel.success_probability``; purification:
  success probability of the instrument for the sampled states); any failure restarts the level.
* ``schedule="swap-asap"`` is an event-driven simulation (compiled with numba) of N segments: a
  segment that finishes generation creates a pair; a node holding two pairs swaps at once; a failed
  swap frees all memories of both pairs and those segments regenerate; a cut-off discards a pair
  whose *oldest* constituent link is older than ``cutoff_s`` (all its segments regenerate). Each
  elementary link is delivered by the (possibly purifying) link-level protocol above. The kernel is in
  :mod:`.swap_asap`.
* Classical delay δ > 0 (the message rules of :mod:`qrepeater.engines.model`): the nested levels keep
  times as whole attempts plus message delays (``_DelayedNestedSampler``); the swap-asap kernel
  follows when each end of a pair knows every swap outcome and delivers when both do.

Each delivered end-to-end pair starts from empty memories, so pairs are i.i.d.; the summary gives 95 %
confidence intervals (normal approximation, mean ± 1.96 s/√K). Randomness: ``seed`` (int or
:class:`numpy.random.SeedSequence`) → :func:`numpy.random.default_rng`; same seed, same result.

Bounded work
------------
:func:`run_montecarlo` samples in batches of :func:`batch_pairs` pairs (a fixed number for a given
chain, about :data:`BATCH_LINK_SAMPLES` elementary-link samples: ~100 MB) and keeps only running sums, so its
memory does not grow with ``pairs``. Batch 0 is drawn from ``seed`` itself (a run of at most one batch
is exactly the unbatched run); batch ``k ≥ 1`` from the child ``SeedSequence(entropy,
spawn_key + (k,))`` of the seed: i.i.d. pairs, the same result for the same seed. A run stops with a
:class:`~qrepeater.errors.ParameterError` once it has drawn ``max_link_samples`` elementary-link
samples (a low success probability or a short cut-off can make one pair cost very many), and refuses
at once when even the ideal cost ``pairs × segments × 2^rounds`` (:func:`link_samples_lower_bound`)
is above that limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_range
from ..states import BellDiagonal
from ..states.purification import bbpssw_unnormalized, dejmps_unnormalized
from ..states.swapping import PHI_PLUS_CORRELATORS, swap_noise_factors
from .metrics import ChainResult
from .model import CUTOFF_TIE_ATTEMPTS, ChainSpec
from .swap_asap import _swap_asap_kernel


#: elementary-link samples per batch (sets the batch size, hence the memory of a run)
BATCH_LINK_SAMPLES = 1 << 20
#: default cap on the elementary-link samples one run may draw (~1-2 min of sampling)
DEFAULT_MAX_LINK_SAMPLES = 10**9
#: largest pool of attempts drawn at once by one level of the nested sampler
MAX_POOL = 1 << 20


@dataclass(frozen=True)
class MonteCarloRun:
    """Samples and summary of :func:`run_montecarlo`.

    Attributes
    ----------
    waiting_times_s : ndarray, shape (K,), or None
        Time (s) from the start of the protocol (empty memories) to the delivery of each pair.
    delivery_times_s : ndarray, shape (K,), or None
        Cumulative delivery times (s) of the K pairs delivered one after the other.
    states : BellDiagonal, shape (K,), or None
        Delivered states (after all decay, at delivery).
    result : ChainResult
        Summary with 95 % confidence intervals.

    The per-pair samples are kept when the run is one batch (``pairs <= batch_pairs(spec)``); a
    longer run is streamed and keeps only ``result`` (the three sample fields are None).
    """

    waiting_times_s: np.ndarray | None
    delivery_times_s: np.ndarray | None
    states: BellDiagonal | None
    result: ChainResult


def _weights(corr: np.ndarray) -> np.ndarray:
    """(n, 3) correlators → (n, 4) Bell weights, column-wise (small matmuls are slow with threaded BLAS)."""
    x, y, z = corr[:, 0], corr[:, 1], corr[:, 2]
    return np.stack([1 + x - y + z, 1 - x + y + z, 1 + x + y - z, 1 - x - y - z], axis=1) / 4.0


def _correlators(lam: np.ndarray) -> np.ndarray:
    """(n, 4) (unnormalised) Bell weights → (n, 3) (unnormalised) correlators."""
    a, b, c, d = lam[:, 0], lam[:, 1], lam[:, 2], lam[:, 3]
    return np.stack([a - b + c - d, -a + b + c - d, a + b - c - d], axis=1)


class _NestedSampler:
    """Vectorised sampler of levels 0 (link), 1..rounds (purification), then swap levels."""

    def __init__(self, spec: ChainSpec, rng: np.random.Generator, budget: "_Budget | None" = None):
        link = spec.link
        self.rng = rng
        self.budget = budget
        self.p = spec.link_success_probability
        self.fresh = link.fresh_state.correlators
        self.c = spec.cutoff_attempts
        tau = link.attempt_duration_s
        self.rates = tau * np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
        pair_rates = np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
        self.rounds = spec.rounds
        self.method = spec.purification
        self.swap_p = float(spec.swap.success_probability)
        noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
        self.pur_post = np.exp(-pair_rates * link.classical_delay_s)
        self._success_estimate: dict[int, float] = {}
        self.swap_post = [noise * np.exp(-pair_rates * 2 ** (k - 1) * link.classical_delay_s) for k in range(1, 40)]

    def link(self, n: int):
        if self.budget is not None:
            self.budget.spend(n)
        if self.p >= 1.0:
            t = np.ones(n, dtype=np.int64)
        else:
            t = self.rng.geometric(self.p, size=n).astype(np.int64)
        return t, np.broadcast_to(self.fresh, (n, 3)).copy()

    def level(self, k: int, n: int):
        """Delivery times (attempts) and correlators (n, 3) of n independent level-k pairs.

        Attempts at level k are i.i.d., so a pool of attempts is drawn at once and consumed in order:
        each pair takes the attempts up to and including the next successful one. Pool sizes follow the
        observed success fraction; unused trailing attempts are dropped (they are independent of the
        assignment, so nothing is biased).
        """
        if k == 0:
            return self.link(n)
        is_purification = k <= self.rounds
        times, corrs = [], []
        need = n
        carry = 0
        est = self._success_estimate.get(k, 0.5)
        while need > 0:
            m = int(min(need / max(est, 1e-6) * 1.15 + 16, MAX_POOL))
            ta, ca = self.level(k - 1, m)
            tb, cb = self.level(k - 1, m)
            d = np.abs(ta - tb)
            factor = np.exp(-np.outer(d, self.rates))
            a_earlier = (ta < tb)[:, None]
            ca = np.where(a_earlier, ca * factor, ca)
            cb = np.where(a_earlier, cb, cb * factor)
            u = self.rng.random(m)
            if is_purification:
                fn = bbpssw_unnormalized if self.method == "bbpssw" else dejmps_unnormalized
                out = fn(_weights(ca), _weights(cb))
                ps = out.sum(axis=1)
                out_corr = _correlators(out) / np.where(ps > 0, ps, 1.0)[:, None] * self.pur_post
                success = u < ps
            else:
                out_corr = PHI_PLUS_CORRELATORS * ca * cb * self.swap_post[k - self.rounds - 1]
                success = u < self.swap_p
            if self.c is None:
                duration = np.maximum(ta, tb)
            else:
                within = d <= self.c
                success &= within
                duration = np.where(within, np.maximum(ta, tb), np.minimum(ta, tb) + self.c)
            est = max(float(success.mean()), 1.0 / (2 * m))
            csum = np.cumsum(duration)
            take = np.flatnonzero(success)[:need]
            if take.size:
                t = np.diff(csum[take], prepend=0)
                t[0] += carry
                times.append(t)
                corrs.append(out_corr[take])
                carry = int(csum[-1] - csum[take[-1]])
            else:
                carry += int(csum[-1])
            need -= take.size
        self._success_estimate[k] = est
        return np.concatenate(times), np.concatenate(corrs)


class _DelayedNestedSampler(_NestedSampler):
    """The nested sampler with classical delay δ > 0 (protocol: :mod:`qrepeater.engines.model`).

    Times are kept as whole attempts n and one-segment message delays m, t = n τ + m δ (both int64, so
    sums stay exact); pairs are compared by real time. A level-j swap's output is ready 2^(j−1) δ after
    the swap, a failed swap restarts at once, a purification outcome (either) is known δ later, and a
    level-j (j ≥ 2) pair may wait c − 2^(j−2) δ for its partner (its own message time counts against
    the cut-off), being discarded at (ready) + c − 2^(j−2) δ otherwise.
    """

    def __init__(self, spec: ChainSpec, rng: np.random.Generator, budget: _Budget | None = None):
        super().__init__(spec, rng, budget)
        self.rho = spec.link.classical_delay_s / spec.link.attempt_duration_s

    def level(self, k: int, n: int):
        """Delivery times (attempts, float: n + m δ/τ) and correlators (n, 3) of n level-k pairs."""
        tn, tm, corr = self.level_nm(k, n)
        return tn + self.rho * tm, corr

    def level_nm(self, k: int, n: int):
        """(attempts n, message delays m, correlators) of n independent level-k pairs (see ``level``)."""
        if k == 0:
            t, corr = self.link(n)
            return t, np.zeros(n, np.int64), corr
        rho = self.rho
        if k <= self.rounds:
            d_succ, d_fail, d_cut = 1, 1, 0
        else:
            j = k - self.rounds
            d_succ, d_fail, d_cut = 2 ** (j - 1), 0, (2 ** (j - 2) if j >= 2 else 0)
        times_n, times_m, corrs = [], [], []
        need = n
        carry_n = carry_m = 0
        est = self._success_estimate.get(k, 0.5)
        while need > 0:
            m = int(min(need / max(est, 1e-6) * 1.15 + 16, MAX_POOL))
            na, ma, ca = self.level_nm(k - 1, m)
            nb, mb, cb = self.level_nm(k - 1, m)
            ra, rb = na + rho * ma, nb + rho * mb
            d = np.abs(ra - rb)
            factor = np.exp(-np.outer(d, self.rates))
            a_earlier = (ra < rb)[:, None]
            ca = np.where(a_earlier, ca * factor, ca)
            cb = np.where(a_earlier, cb, cb * factor)
            u = self.rng.random(m)
            if k <= self.rounds:
                fn = bbpssw_unnormalized if self.method == "bbpssw" else dejmps_unnormalized
                out = fn(_weights(ca), _weights(cb))
                ps = out.sum(axis=1)
                out_corr = _correlators(out) / np.where(ps > 0, ps, 1.0)[:, None] * self.pur_post
                joined = u < ps
            else:
                out_corr = PHI_PLUS_CORRELATORS * ca * cb * self.swap_post[k - self.rounds - 1]
                joined = u < self.swap_p
            a_later = ra >= rb
            dur_n = np.where(a_later, na, nb)
            dur_m = np.where(a_later, ma, mb) + np.where(joined, d_succ, d_fail)
            if self.c is None:
                success = joined
            else:
                within = d <= self.c - d_cut * rho + CUTOFF_TIE_ATTEMPTS
                success = joined & within
                dur_n = np.where(within, dur_n, np.where(a_later, nb, na) + self.c)
                dur_m = np.where(within, dur_m, np.where(a_later, mb, ma) - d_cut)
            est = max(float(success.mean()), 1.0 / (2 * m))
            csum_n, csum_m = np.cumsum(dur_n), np.cumsum(dur_m)
            take = np.flatnonzero(success)[:need]
            if take.size:
                tn, tm = np.diff(csum_n[take], prepend=0), np.diff(csum_m[take], prepend=0)
                tn[0] += carry_n
                tm[0] += carry_m
                times_n.append(tn)
                times_m.append(tm)
                corrs.append(out_corr[take])
                carry_n, carry_m = int(csum_n[-1] - csum_n[take[-1]]), int(csum_m[-1] - csum_m[take[-1]])
            else:
                carry_n += int(csum_n[-1])
                carry_m += int(csum_m[-1])
            need -= take.size
        self._success_estimate[k] = est
        return np.concatenate(times_n), np.concatenate(times_m), np.concatenate(corrs)


def _sampler(spec: ChainSpec, rng: np.random.Generator, budget: _Budget | None = None) -> _NestedSampler:
    """The nested sampler; its delayed variant when messages take time and are waited for."""
    if spec.link.classical_delay_s > 0 and (spec.rounds or spec.segments > 1):
        return _DelayedNestedSampler(spec, rng, budget)
    return _NestedSampler(spec, rng, budget)


class _Budget:
    """Counts elementary-link samples; raises ParameterError past ``limit``."""

    def __init__(self, limit: int | None, pairs: int):
        self.limit = limit
        self.pairs = pairs
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += int(n)
        if self.limit is not None and self.used > self.limit:
            raise ParameterError(
                "pairs", self.pairs,
                f"a run within max_link_samples = {self.limit:.3g} elementary-link samples (this chain needs more: "
                "its success probability per pair is low, e.g. a short cut-off); ask for fewer pairs or raise the "
                "limit (CLI: --max-samples)",
            )


def link_samples_lower_bound(spec: ChainSpec, pairs: int) -> int:
    """Fewest elementary-link samples ``pairs`` end-to-end pairs can take: ``pairs × segments × 2^rounds``
    (every swap and purification succeeds and nothing is cut off)."""
    return int(pairs) * int(spec.segments) * 2 ** int(spec.rounds)


def batch_pairs(spec: ChainSpec) -> int:
    """Pairs per batch of :func:`run_montecarlo`: about :data:`BATCH_LINK_SAMPLES` link samples, at least 1."""
    return max(1, BATCH_LINK_SAMPLES // (int(spec.segments) * 2 ** int(spec.rounds)))


def _sample_swap_asap(spec: ChainSpec, pairs: int, seed, budget: _Budget | None = None) -> tuple[np.ndarray, np.ndarray]:
    link = spec.link
    pair_rates = np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
    rates = pair_rates * link.attempt_duration_s
    noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    rho = link.classical_delay_s / link.attempt_duration_s
    cutoff = -1 if spec.cutoff_attempts is None else spec.cutoff_attempts
    n = spec.segments
    size = pairs * n * 4 + 1024
    while True:  # rerun from scratch with larger buffers if they run out (keeps every trial unbiased)
        rng = np.random.default_rng(seed)
        sampler = _sampler(spec, rng, budget)
        dur, corr = sampler.level(spec.rounds, size)
        dur = np.asarray(dur, dtype=float)
        uni = rng.random(size)
        out_t = np.empty(pairs)
        out_c = np.empty((pairs, 3))
        status = _swap_asap_kernel(
            n, pairs, dur, corr, uni, float(spec.swap.success_probability), cutoff, rates, noise, rho, out_t, out_c
        )
        if status < 0:
            return out_t, out_c
        # grow the buffers from the consumption seen so far (deterministic given the seed)
        size = int(size * min(64.0, 1.3 * pairs / max(status, 1))) + 1024


def _sample(spec: ChainSpec, pairs: int, seed, budget: _Budget | None) -> tuple[np.ndarray, np.ndarray]:
    if spec.schedule == "swap-asap" and spec.segments > 2 or (spec.schedule == "swap-asap" and spec.segments == 2 and spec.rounds and spec.cutoff_s is not None):
        return _sample_swap_asap(spec, pairs, seed, budget)
    # nested schedules, and swap-asap chains for which it is the same protocol (≤ 2 segments)
    sampler = _sampler(spec, np.random.default_rng(seed), budget)
    return sampler.level(spec.rounds + spec.levels, pairs)


def _check_work(spec: ChainSpec, pairs: int, max_link_samples: int | None) -> _Budget:
    if max_link_samples is not None:
        need = link_samples_lower_bound(spec, pairs)
        if need > max_link_samples:
            raise ParameterError(
                "pairs", pairs,
                f"at most {max_link_samples // (need // pairs)} pairs of this {spec.segments}-segment chain within "
                f"max_link_samples = {max_link_samples:.3g} elementary-link samples (it needs at least {need:.3g}); "
                "raise the limit to run it (CLI: --max-samples)",
            )
    return _Budget(max_link_samples, pairs)


def sample_chain(spec: ChainSpec, pairs: int, seed=None, *, max_link_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Waiting times (attempts; float for swap-asap or with classical delay) and correlators (K, 3) of
    ``pairs`` delivered pairs, in one batch
    (memory grows with ``pairs``; :func:`run_montecarlo` streams)."""
    pairs = int(check_range("pairs", int(pairs), 1, None))
    return _sample(spec, pairs, seed, _check_work(spec, pairs, max_link_samples))


def _batch_seed(seed, k: int):
    """Seed of batch ``k``: the seed itself for batch 0, its child ``spawn_key + (k,)`` after."""
    if k == 0:
        return seed
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (k,), pool_size=ss.pool_size)


def _ci(x: np.ndarray) -> tuple[float, float, float]:
    m = float(x.mean())
    h = 1.96 * float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else math.inf
    return m, m - h, m + h


class _Moments:
    """Count, mean and sum of squared deviations, merged batch by batch (Chan et al. 1979)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> None:
        nb = x.size
        mb = float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    def ci(self) -> tuple[float, float, float]:
        h = 1.96 * math.sqrt(self.m2 / (self.n - 1)) / math.sqrt(self.n) if self.n > 1 else math.inf
        return self.mean, self.mean - h, self.mean + h


def _bell_weights(corr: np.ndarray) -> np.ndarray:
    x, y, z = corr[:, 0], corr[:, 1], corr[:, 2]
    lam = np.empty((corr.shape[0], 4))
    lam[:, 0] = 1.0 + x - y + z
    lam[:, 1] = 1.0 - x + y + z
    lam[:, 2] = 1.0 + x + y - z
    lam[:, 3] = 1.0 - x - y - z
    lam *= 0.25
    return lam


def _result(spec: ChainSpec, wait_ci, fid_ci, mean_corr, pairs: int) -> ChainResult:
    mw, wlo, whi = wait_ci
    mf, flo, fhi = fid_ci
    return ChainResult(
        engine="montecarlo",
        rate_hz=1.0 / mw,
        mean_fidelity=mf,
        fidelity_ci95=(flo, fhi),
        mean_waiting_time_s=mw,
        waiting_time_ci95=(wlo, whi),
        mean_state=BellDiagonal.from_correlators(*mean_corr),
        attempt_duration_s=spec.link.attempt_duration_s,
        multiplex=int(spec.multiplex),
        channel_uses_per_attempt=int(spec.multiplex) * 2**spec.rounds,
        pairs=int(pairs),
    )


def run_montecarlo(spec: ChainSpec, pairs: int = 10_000, seed=None, *,
                   max_link_samples: int | None = DEFAULT_MAX_LINK_SAMPLES) -> MonteCarloRun:
    """Sample ``pairs`` end-to-end pairs of ``spec``; see the module docstring for the protocol and
    for the batches that keep memory bounded (``max_link_samples=None``: no work limit)."""
    pairs = int(check_range("pairs", int(pairs), 1, None))
    budget = _check_work(spec, pairs, max_link_samples)
    tau = spec.link.attempt_duration_s
    per_batch = batch_pairs(spec)
    if pairs <= per_batch:
        t, corr = _sample(spec, pairs, seed, budget)
        wait = t * tau
        np.clip(corr, -1.0, 1.0, out=corr)
        states = BellDiagonal(coefficients=_bell_weights(corr))
        fid = states.coefficients[:, 0]
        result = _result(spec, _ci(wait), _ci(fid), corr.mean(axis=0), t.size)
        return MonteCarloRun(wait, np.cumsum(wait), states, result)
    if seed is None:  # one entropy for all batches, so they are independent children of it
        seed = np.random.SeedSequence()
    wait_m, fid_m = _Moments(), _Moments()
    corr_sum = np.zeros(3)
    done = 0
    for k in range(-(-pairs // per_batch)):
        n = min(per_batch, pairs - done)
        t, corr = _sample(spec, n, _batch_seed(seed, k), budget)
        np.clip(corr, -1.0, 1.0, out=corr)
        wait_m.add(t * tau)
        fid_m.add(BellDiagonal(coefficients=_bell_weights(corr)).coefficients[:, 0])
        corr_sum += corr.sum(axis=0)
        done += n
    return MonteCarloRun(None, None, None, _result(spec, wait_m.ci(), fid_m.ci(), corr_sum / done, done))
