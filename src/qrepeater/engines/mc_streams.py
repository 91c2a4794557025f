"""Streams of delivered pairs for the Monte Carlo engine: bounded memory, nothing drawn in vain.

Every level of the protocol (:mod:`qrepeater.engines.model`) is a stream: level 0 draws elementary
links (geometric attempts, generator 0), level k ≥ 1 makes *attempts*, attempt j joining pairs 2j and
2j + 1 of level k − 1 with the j-th uniform of its own generator k, and a level-k pair is the run of
attempts up to and including the next successful one. Attempts made ahead of need stay in a buffer
for the next request instead of being dropped, so

* no sample is drawn and thrown away (only the buffers left at the very end of a run);
* each generator is consumed in order, so the sequence of pairs of a seed does not depend on how
  many are asked for at once: a run in batches gives the same pairs as one call;
* pools are at most :data:`MAX_POOL` attempts per level, so memory does not grow with the request.

Pool sizes follow the level's success probability, first from its value for fresh links (swap
success × P(|G₁ − G₂| ≤ c) for two geometric links at level 1, the purification success of two fresh
pairs), then from the fraction observed so far.

Classical delay δ > 0: times are attempts n plus one-segment message delays m (both int64, exact;
compared by n + (δ/τ) m), with the message rules of :mod:`qrepeater.engines.model`.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from ..states.purification import bbpssw_unnormalized, dejmps_unnormalized
from ..states.swapping import PHI_PLUS_CORRELATORS, swap_noise_factors
from .model import CUTOFF_TIE_ATTEMPTS, ChainSpec

#: most attempts one level draws at once (sets the memory of a stream: a few MB per level)
MAX_POOL = 1 << 16
#: most elementary links one swap-asap trial may hold in its buffers (~40 B each: 0.7 GB); a trial is
#: not resumable, so a chain whose single pair needs more (a cut-off that discards nearly every pair)
#: is refused instead of doubling the buffers until the machine runs out (issue 15: 10 GB seen)
MAX_TRIAL_LINKS = 1 << 24


def child_seed(seed, k: int) -> np.random.SeedSequence:
    """Generator ``k`` of a run: the child ``spawn_key + (k,)`` of the seed (the seed is not mutated)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (int(k),), pool_size=ss.pool_size)


def _weights(corr: np.ndarray) -> np.ndarray:
    """(n, 3) correlators → (n, 4) Bell weights, column-wise (small matmuls are slow with threaded BLAS)."""
    x, y, z = corr[:, 0], corr[:, 1], corr[:, 2]
    return np.stack([1 + x - y + z, 1 - x + y + z, 1 + x + y - z, 1 - x - y - z], axis=1) / 4.0


def _correlators(lam: np.ndarray) -> np.ndarray:
    """(n, 4) (unnormalised) Bell weights → (n, 3) (unnormalised) correlators."""
    a, b, c, d = lam[:, 0], lam[:, 1], lam[:, 2], lam[:, 3]
    return np.stack([a - b + c - d, -a + b + c - d, a + b - c - d], axis=1)


class LinkStream:
    """Elementary links: (attempts n, delays m = 0 (None without delay), fresh correlators), counted
    against ``budget``."""

    def __init__(self, spec: ChainSpec, seed, budget=None, segment: int | None = None):
        if segment is None:  # every segment alike: one stream for all
            self.p = spec.link_success_probability
            self.fresh = np.asarray(spec.link.fresh_state.correlators, float)
            self.rng = np.random.default_rng(child_seed(seed, 0))
        else:  # segment i of a per-segment chain: generator (0, i)
            self.p = spec.segment_success_probabilities[segment]
            self.fresh = np.asarray(spec.links[segment].fresh_state.correlators, float)
            self.rng = np.random.default_rng(child_seed(child_seed(seed, 0), segment))
        self.delayed = spec.link.classical_delay_s > 0
        self.budget = budget
        self.drawn = 0

    def take(self, n: int):
        if self.budget is not None:
            self.budget.spend(n)
        self.drawn += n
        t = np.ones(n, np.int64) if self.p >= 1.0 else self.rng.geometric(self.p, size=n).astype(np.int64)
        return t, (np.zeros(n, np.int64) if self.delayed else None), np.broadcast_to(self.fresh, (n, 3)).copy()


class LevelStream:
    """Level k ≥ 1 of the nested protocol (purification rounds first, then swap levels). ``cut`` = (c_A, c_B):
    the cut-offs (whole attempts or None) of the left and right inputs (per-segment cut-offs: a pair keeps
    the strictest of its two memories, :meth:`ChainSpec.pair_cutoff_attempts`); default the chain's."""

    def __init__(self, spec: ChainSpec, k: int, below, seed, right=None, tag: int | None = None, cut=None):
        link = spec.link
        self.below, self.right = below, right  # right: the other input of a per-segment chain's swap
        self.rng = np.random.default_rng(child_seed(seed, k) if tag is None else child_seed(child_seed(seed, k), tag))
        self.c = spec.cutoff_attempts
        self.cut = (self.c, self.c) if cut is None else tuple(cut)
        if self.cut[0] == self.cut[1]:
            self.c = self.cut[0]
        self.rho = link.classical_delay_s / link.attempt_duration_s
        pair_rates = np.array([link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
        self.rates = link.attempt_duration_s * pair_rates
        self.purify = k <= spec.rounds
        if self.purify:
            self.method = spec.purification
            self.post = np.exp(-pair_rates * link.classical_delay_s)
            self.d_succ, self.d_fail, self.d_cut = 1, 1, 0
            fresh = _weights(np.asarray(link.fresh_state.correlators, float)[None, :])
            est = float(self._fn()(fresh, fresh).sum())
        else:
            j = k - spec.rounds
            self.swap_p = float(spec.swap.success_probability)
            noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
            self.post = PHI_PLUS_CORRELATORS * noise * np.exp(-pair_rates * 2 ** (j - 1) * link.classical_delay_s)
            self.d_succ, self.d_fail, self.d_cut = 2 ** (j - 1), 0, (2 ** (j - 2) if j >= 2 else 0)
            est = self.swap_p
            if k == 1 and self.c is not None and spec.homogeneous and spec.link_success_probability < 1.0:
                q = 1.0 - spec.link_success_probability  # P(|G1 − G2| > c) = 2 q^(c+1) / (1 + q)
                est *= 1.0 - 2.0 * q ** (self.c + 1) / (1.0 + q)
        self.attempts, self.successes, self.est0 = 0, 0, max(est, 1e-6)
        self.buf = None  # attempts made ahead of need: (dur_n, dur_m, success, corr)

    def _fn(self):
        return bbpssw_unnormalized if self.method == "bbpssw" else dejmps_unnormalized

    def _decay(self, ca, cb, d, a_earlier):
        """Correlators of the two pairs after the earlier one waited d attempts (float, (m,))."""
        rates = self.rates
        if rates[0] == rates[1] == rates[2]:
            factor = np.exp(-rates[0] * d)[:, None]
        else:
            factor = np.exp(-d[:, None] * rates[None, :])
        ca = np.where(a_earlier[:, None], ca * factor, ca)
        cb = np.where(a_earlier[:, None], cb, cb * factor)
        return ca, cb

    def _join(self, ca, cb, u):
        """(output correlators, joined flags) of swaps / purification rounds of the pairs ca, cb."""
        if self.purify:
            out = self._fn()(_weights(ca), _weights(cb))
            ps = out.sum(axis=1)
            corr = _correlators(out) / np.where(ps > 0, ps, 1.0)[:, None] * self.post
            return corr, u < ps
        corr = ca * cb
        corr *= self.post
        return corr, u < self.swap_p

    def _earlier_cutoff(self, a_later):
        """Cut-off of the earlier pair of each attempt (B when A is later or tied): None (no cut-off), the
        common int, or an int64 array (a side without cut-off: a wait no draw reaches)."""
        ca, cb = self.cut
        if ca == cb:
            return ca
        never = np.iinfo(np.int64).max // 4
        return np.where(a_later, never if cb is None else cb, never if ca is None else ca)

    def _attempts(self, m: int):
        """m new attempts: durations (attempts n, delays m or None), success flags, output correlators."""
        if self.right is None:  # two copies of one stream: consecutive pairs
            na, ma, ca = self.below.take(2 * m)
            na, nb, ca, cb = na[0::2], na[1::2], ca[0::2], ca[1::2]
            ma, mb = (None, None) if ma is None else (ma[0::2], ma[1::2])
        else:  # the left and right halves of a per-segment chain
            na, ma, ca = self.below.take(m)
            nb, mb, cb = self.right.take(m)
        u = self.rng.random(m)
        if ma is None:  # no classical delay: times are whole attempts
            diff = na - nb
            a_later = diff >= 0
            d = np.abs(diff).astype(float)
            ca, cb = self._decay(ca, cb, d, ~a_later)
            corr, success = self._join(ca, cb, u)
            dur_n = np.maximum(na, nb)
            c = self._earlier_cutoff(a_later)
            if c is not None:
                within = d <= c
                success &= within
                dur_n = np.where(within, dur_n, np.minimum(na, nb) + c)
            return dur_n, None, success, corr
        ra, rb = na + self.rho * ma, nb + self.rho * mb
        d = np.abs(ra - rb)
        ca, cb = self._decay(ca, cb, d, ra < rb)
        corr, joined = self._join(ca, cb, u)
        a_later = ra >= rb
        dur_n = np.where(a_later, na, nb)
        dur_m = np.where(a_later, ma, mb) + np.where(joined, self.d_succ, self.d_fail)
        success = joined
        c = self._earlier_cutoff(a_later)
        if c is not None:
            within = d <= c - self.d_cut * self.rho + CUTOFF_TIE_ATTEMPTS
            success = joined & within
            dur_n = np.where(within, dur_n, np.where(a_later, nb, na) + c)
            dur_m = np.where(within, dur_m, np.where(a_later, mb, ma) - self.d_cut)
        return dur_n, dur_m, success, corr

    def take(self, n: int):
        """(attempts n, delays m, correlators (n, 3)) of the next ``n`` pairs of this level.

        The attempts behind them are held until the n-th success: a request that would hold more than
        :data:`MAX_TRIAL_LINKS` of them (a low success probability, e.g. a short cut-off) is taken in
        parts, and a single pair that needs more is refused (ParameterError on ``pairs``)."""
        if n <= 0:
            return np.zeros(0, np.int64), (None if self.rho == 0 else np.zeros(0, np.int64)), np.zeros((0, 3))
        est = self.successes / self.attempts if self.successes else self.est0
        part = max(1, int(MAX_TRIAL_LINKS * est / 4))
        if n > part:  # bounded memory: consecutive takes continue the same stream
            pieces = [self.take(min(part, n - k)) for k in range(0, n, part)]
            tn, tm, corr = (None if x[0] is None else np.concatenate(x) for x in zip(*pieces))
            return tn, tm, corr
        parts = [self.buf] if self.buf is not None else []
        have = int(parts[0][2].sum()) if parts else 0
        held = int(parts[0][2].size) if parts else 0
        while have < n:
            if held > MAX_TRIAL_LINKS:
                raise ParameterError(
                    "pairs", n,
                    f"a chain whose pairs need at most {MAX_TRIAL_LINKS:.3g} attempts each at one protocol level (they "
                    "are held in memory); this one needs more: its cut-off or purification discards nearly every "
                    "pair - use a longer cut-off or fewer segments",
                )
            est = self.successes / self.attempts if self.successes else self.est0
            short = n - have  # attempts for `short` successes, +2 standard deviations (binomial)
            m = int(min(MAX_POOL, math.ceil((short + 2.0 * math.sqrt(short * (1.0 - est))) / est) + 1))
            new = self._attempts(m)
            self.attempts += m
            held += m
            got = int(new[2].sum())
            self.successes += got
            have += got
            parts.append(new)
        if len(parts) > 1:
            dur_n, dur_m, success, corr = (None if x[0] is None else np.concatenate(x) for x in zip(*parts))
        else:
            dur_n, dur_m, success, corr = parts[0]
        take = np.flatnonzero(success)[:n]
        end = int(take[-1]) + 1
        self.buf = (dur_n[end:], None if dur_m is None else dur_m[end:], success[end:], corr[end:])
        tn = np.diff(np.cumsum(dur_n[:end])[take], prepend=0)
        tm = None if dur_m is None else np.diff(np.cumsum(dur_m[:end])[take], prepend=0)
        return tn, tm, corr[take]


def segment_stream(spec: ChainSpec, i: int, seed, budget=None):
    """Link-level pairs (after purification) of segment ``i`` of a per-segment chain (generators tagged i)."""
    stream = LinkStream(spec, seed, budget, segment=i)
    for k in range(1, spec.rounds + 1):
        stream = LevelStream(spec, k, stream, seed, tag=i, cut=(spec.segment_cutoff_attempts[i],) * 2)
    return stream


def hetero_stream(spec: ChainSpec, seed, budget=None):
    """Delivered pairs of a nested chain whose segments differ: each sub-tree lo … hi − 1 is its own
    stream, joining its left and right halves (generator of level k tagged lo)."""

    def tree(lo: int, hi: int):
        if hi - lo == 1:
            return segment_stream(spec, lo, seed, budget)
        mid = (lo + hi) // 2
        k = spec.rounds + (hi - lo).bit_length() - 1
        return LevelStream(spec, k, tree(lo, mid), seed, right=tree(mid, hi), tag=lo,
                           cut=(spec.pair_cutoff_attempts(lo, mid), spec.pair_cutoff_attempts(mid, hi)))

    return tree(0, int(spec.segments))


def nested_stream(spec: ChainSpec, seed, budget=None, top: int | None = None):
    """The stream of level ``top`` (default: the delivered end-to-end pairs) of a nested chain."""
    if not spec.homogeneous and top is None:
        return hetero_stream(spec, seed, budget)
    if not spec.homogeneous:
        raise ParameterError("top", top, "None for a per-segment chain (its levels are sub-trees)")
    stream = LinkStream(spec, seed, budget)
    for k in range(1, (spec.rounds + spec.levels if top is None else top) + 1):
        stream = LevelStream(spec, k, stream, seed)
    return stream


def pair_times(spec: ChainSpec, tn: np.ndarray, tm: np.ndarray):
    """Waiting times in attempts: the int64 attempt counts without delay, n + (δ/τ) m (float) with."""
    rho = spec.link.classical_delay_s / spec.link.attempt_duration_s
    return tn if tm is None else tn + rho * tm


class SwapAsapStream:
    """Trials of the compiled swap-asap kernel (:mod:`.swap_asap`), fed from the link-level stream(s) and
    its own uniforms; unused samples carry over, so the trials do not depend on the buffer sizes. A chain
    whose segments differ has one link-level stream per segment (:func:`segment_stream`)."""

    def __init__(self, spec: ChainSpec, seed, budget=None):
        link = spec.link
        self.spec = spec
        n = int(spec.segments)
        if spec.homogeneous:
            self.links = [nested_stream(spec, seed, budget, top=spec.rounds)]
            self.seg = np.zeros(n, np.int64)
        else:
            self.links = [segment_stream(spec, i, seed, budget) for i in range(n)]
            self.seg = np.arange(n, dtype=np.int64)
        self.rng = np.random.default_rng(child_seed(seed, spec.rounds + 1))
        self.rates = link.attempt_duration_s * np.array([link.transverse_rate_hz, link.transverse_rate_hz,
                                                         link.longitudinal_rate_hz])
        self.noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
        self.rho = link.classical_delay_s / link.attempt_duration_s
        # per segment: its memories' cut-off (attempts, -1: none); the kernel keeps a pair the strictest of its ends'
        self.cutoff = np.array([-1.0 if c is None else float(c) for c in spec.segment_cutoff_attempts])
        self.dur = [np.empty(0) for _ in self.links]
        self.corr = [np.empty((0, 3)) for _ in self.links]
        self.uni = np.empty(0)
        share = n / len(self.links)  # segments per stream
        self.per_trial = (1.5 * share + 2, float(n))  # links per stream, uniforms (then observed)
        self.done, self.used = 0, [0, 0]

    def _refill(self, trials: int, grow: float) -> None:
        want_links = int((self.per_trial[0] * trials * 1.1 + 4 * self.spec.segments) * grow)
        want_uni = int((self.per_trial[1] * trials * 1.1 + 4 * self.spec.segments) * grow)
        for s, stream in enumerate(self.links):
            if self.dur[s].size < want_links:
                tn, tm, c = stream.take(want_links - self.dur[s].size)
                self.dur[s] = np.concatenate([self.dur[s], np.asarray(pair_times(self.spec, tn, tm), float)])
                self.corr[s] = np.concatenate([self.corr[s], c])
        if self.uni.size < want_uni:
            self.uni = np.concatenate([self.uni, self.rng.random(want_uni - self.uni.size)])

    def _link_cost(self) -> float:
        """Elementary links behind one link-level pair so far (purification: 2 inputs per attempt over
        the attempts per success of each round; 1 without purification)."""
        cost = 1.0
        stream = self.links[0]
        while isinstance(stream, LevelStream):
            cost *= 2.0 * max(stream.attempts, 1) / max(stream.successes, 1)
            stream = stream.below
        return cost

    def _buffers(self):
        """Link buffers as the kernel's (S, K) and (S, K, 3) arrays with the valid lengths (S,)."""
        sizes = np.array([d.size for d in self.dur], np.int64)
        if len(self.dur) == 1:
            return self.dur[0][None, :], self.corr[0][None, :, :], sizes
        dur = np.zeros((len(self.dur), int(sizes.max())))
        corr = np.zeros((len(self.dur), int(sizes.max()), 3))
        for s, (d, c) in enumerate(zip(self.dur, self.corr)):
            dur[s, : d.size], corr[s, : d.size] = d, c
        return dur, corr, sizes

    def take(self, trials: int):
        """(waiting times in attempts (float), correlators (trials, 3)) of the next ``trials`` pairs."""
        from .swap_asap import swap_asap_trials

        out_t, out_c = np.empty(trials), np.empty((trials, 3))
        streams = len(self.links)
        pos = np.zeros(streams + 1, np.int64)
        done, grow = 0, 1.0
        while done < trials:
            chunk = max(1, min(trials - done, int(4 * MAX_POOL / self.per_trial[0])))
            self._refill(chunk, grow)
            dur, corr, sizes = self._buffers()
            status = swap_asap_trials(self.spec.segments, chunk, dur, corr, sizes, self.seg, self.uni,
                                      float(self.spec.swap.success_probability), self.cutoff, self.rates, self.noise,
                                      self.rho, out_t[done:], out_c[done:], pos)
            finished = chunk if status < 0 else int(status)
            up = int(pos[streams])
            for s in range(streams):
                self.dur[s], self.corr[s] = self.dur[s][int(pos[s]):], self.corr[s][int(pos[s]):]
            self.uni = self.uni[up:]
            if finished:
                self.used[0] += int(pos[:streams].max())
                self.used[1] += up
                self.done += finished
                self.per_trial = (max(1.0, self.used[0] / self.done), max(1.0, self.used[1] / self.done))
                done += finished
                grow = 1.0
            else:  # not even one trial fitted in the buffers: grow them
                if 2.0 * grow * (self.per_trial[0] * chunk * 1.1 + 4 * self.spec.segments) * self._link_cost() > MAX_TRIAL_LINKS:
                    raise ParameterError(
                        "pairs", trials,
                        f"a chain whose single pair needs at most {MAX_TRIAL_LINKS:.3g} elementary-link samples (one "
                        "swap-asap trial is held in memory); this one needs more: its cut-off discards nearly every "
                        "pair - use a longer cut-off, fewer segments or the nested schedule",
                    )
                grow *= 2.0
        return out_t, out_c
