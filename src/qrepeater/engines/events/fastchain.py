"""Compiled (numba) transcription of the event agents for plain repeater chains.

Same kernel discipline and agents as the Python agents (:mod:`qrepeater.engines.events.simulation`) —
a binary heap of (time, priority, sequence) events, heralds drawn as geometric attempt counts,
swap-asap or nested swapping, Pauli-frame messages with forwarding and fibre latency, decay on every
wait, rounds that restart after each delivery, cut-off timers with the same level-restart semantics —
restricted to what a :class:`ChainSpec` without purification needs (one memory pair per hop).
Cancellation is lazy, by stamps: a herald carries its hop's generation number, a timer its round;
stale ones are skipped. :func:`run_chain_events` uses it for such specs; the compiled network agents
(:mod:`.fastnet`, the Python agents' run bit for bit) handle everything else. The two are checked against each other and against the exact engine in
``tests/test_events_fastchain.py``.

Randomness: numba's generator seeded from the ``SeedSequence`` (same seed → same result; the stream
differs from the Python agents', so the two agree statistically, not draw by draw).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..jit import announce_compile, register_event_kernel_cache
from .cutoff import GRID_TOL
from .kernel import PRIORITY_CUTOFF, PRIORITY_HERALD, PRIORITY_MESSAGE

register_event_kernel_cache()  # before the kernels below are decorated (cache stamp over all kernel sources)

_K_HERALD = 0
_K_MESSAGE = 1
_K_CUTOFF = 2


@numba.njit(cache=True)
def _age_pair(px, py, pz, pt, q, now, gt, gl):
    """Decay pair q's correlators from its last update to ``now`` (pair rates Γ⊥ = gt, Γ∥ = gl)."""
    dt = now - pt[q]
    if dt > 0.0:
        f = math.exp(-gt * dt)
        px[q] *= f
        py[q] *= f
        pz[q] *= math.exp(-gl * dt)
        pt[q] = now


@numba.njit(cache=True)
def _swap_entries(ht, hp, hs, hk, ha, hb, hc, i, j):
    """Exchange heap entries i and j in every column."""
    ht[i], ht[j] = ht[j], ht[i]
    hp[i], hp[j] = hp[j], hp[i]
    hs[i], hs[j] = hs[j], hs[i]
    hk[i], hk[j] = hk[j], hk[i]
    ha[i], ha[j] = ha[j], ha[i]
    hb[i], hb[j] = hb[j], hb[i]
    hc[i], hc[j] = hc[j], hc[i]


@numba.njit(cache=True)
def _push(ht, hp, hs, hk, ha, hb, hc, size, t, prio, seq, kind, a, b, c):
    i = size
    ht[i] = t
    hp[i] = prio
    hs[i] = seq
    hk[i] = kind
    ha[i] = a
    hb[i] = b
    hc[i] = c
    while i > 0:
        parent = (i - 1) >> 1
        if _less(ht, hp, hs, parent, i):
            break
        _swap_entries(ht, hp, hs, hk, ha, hb, hc, i, parent)
        i = parent
    return size + 1


@numba.njit(cache=True)
def _less(ht, hp, hs, i, j):
    if ht[i] != ht[j]:
        return ht[i] < ht[j]
    if hp[i] != hp[j]:
        return hp[i] < hp[j]
    return hs[i] < hs[j]


@numba.njit(cache=True)
def _pop(ht, hp, hs, hk, ha, hb, hc, size):
    """Remove the top; the caller has read it at index 0. Returns the new size."""
    size -= 1
    ht[0], hp[0], hs[0], hk[0], ha[0], hb[0], hc[0] = ht[size], hp[size], hs[size], hk[size], ha[size], hb[size], hc[size]
    _sift_down(ht, hp, hs, hk, ha, hb, hc, 0, size)
    return size


@numba.njit(cache=True)
def _sift_down(ht, hp, hs, hk, ha, hb, hc, i, size):
    while True:
        l = 2 * i + 1
        if l >= size:
            break
        m = l
        r = l + 1
        if r < size and _less(ht, hp, hs, r, l):
            m = r
        if _less(ht, hp, hs, i, m):
            break
        _swap_entries(ht, hp, hs, hk, ha, hb, hc, i, m)
        i = m


@numba.njit(cache=True)
def _stale(kind, c, a, gen, rnd, alive):
    """Lazy cancellation: a herald of an aborted hop (generation ``c`` is old) or a cut-off timer of a
    pair already used or of a past round (``c`` is the round)."""
    if kind == _K_HERALD:
        return c != gen[a]
    if kind == _K_CUTOFF:
        return c != rnd or not alive[a]
    return False


@numba.njit(cache=True)
def _attempts(p, log1mp):
    """Attempts up to and including the next herald: geometric on {1, 2, …} by inverse CDF
    (``log1mp`` = ln(1 − p)); the compiled twin of ``LinkGeneration._attempts``."""
    return 1 if p >= 1.0 else 1 + int(math.log(1.0 - np.random.random()) / log1mp)


@numba.njit(cache=True)
def _chain_kernel(n, target, seed, p, tau, fx, fy, fz, gt, gl, delta, nested, swap_p, nx, ny, nz, cutoff, cap_heap, cap, out, counts):
    np.random.seed(seed)
    gen = np.zeros(n, np.int64)
    tol = GRID_TOL * tau
    n_cut = 0
    ht = np.empty(cap_heap)
    hp = np.empty(cap_heap, np.int64)
    hs = np.empty(cap_heap, np.int64)
    hk = np.empty(cap_heap, np.int64)
    ha = np.empty(cap_heap, np.int64)
    hb = np.empty(cap_heap, np.int64)
    hc = np.empty(cap_heap, np.int64)
    size = 0
    seq = 0
    pi = np.empty(cap, np.int64)
    pj = np.empty(cap, np.int64)
    px = np.empty(cap)
    py = np.empty(cap)
    pz = np.empty(cap)
    pt = np.empty(cap)
    mi = np.empty(cap, np.int64)
    mj = np.empty(cap, np.int64)
    alive = np.empty(cap, np.bool_)
    succ = np.empty(cap, np.int64)
    spos = np.empty(cap, np.int64)
    left = -np.ones(n + 1, np.int64)
    right = -np.ones(n + 1, np.int64)
    work = np.empty(4 * n + 8, np.int64)
    log1mp = math.log1p(-p) if p < 1.0 else -math.inf
    npairs = 0
    rnd = 0
    now = 0.0
    last = 0.0
    delivered = 0
    events = 0
    n_herald = 0
    n_swap = 0
    n_fail = 0
    n_msg = 0
    n_fwd = 0
    n_drop = 0
    # start every hop
    for h in range(n):
        g = _attempts(p, log1mp)
        size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + g * tau, PRIORITY_HERALD, seq, _K_HERALD, h, 0, gen[h])
        seq += 1
    while size > 0 and delivered < target:
        if size + 4 * n + 16 > cap_heap:
            # drop stale (cancelled) entries, re-heapify, and grow the arrays if still crowded
            m = 0
            for i in range(size):
                if _stale(hk[i], hc[i], ha[i], gen, rnd, alive):
                    continue
                ht[m], hp[m], hs[m], hk[m], ha[m], hb[m], hc[m] = ht[i], hp[i], hs[i], hk[i], ha[i], hb[i], hc[i]
                m += 1
            size = m
            for i in range((size - 2) // 2, -1, -1):
                _sift_down(ht, hp, hs, hk, ha, hb, hc, i, size)
            if size + 4 * n + 16 > cap_heap // 2:
                return -2  # the wrapper reruns with a larger heap (same seed, same result)
        now = ht[0]
        kind = hk[0]
        a = ha[0]
        b = hb[0]
        c = hc[0]
        size = _pop(ht, hp, hs, hk, ha, hb, hc, size)
        # lazy cancellation: heralds of aborted hops and timers of pairs already used are stale
        if _stale(kind, c, a, gen, rnd, alive):
            continue
        events += 1
        nwork = 0
        deliver = -1
        if kind == _K_CUTOFF:
            n_cut += 1
            alive[a] = False
            if right[pi[a]] == a:
                right[pi[a]] = -1
            if left[pj[a]] == a:
                left[pj[a]] = -1
            base = now - tol
            lo = pi[a]
            hi = pj[a]
            if nested:
                # the level restarts: the partner block is discarded and regenerated too
                s2 = pj[a] - pi[a]
                lo = pi[a] - pi[a] % (2 * s2)
                hi = min(lo + 2 * s2, n)
                for k in range(lo, hi + 1):
                    q = right[k]
                    if q >= 0 and pj[q] <= hi:
                        alive[q] = False
                        right[k] = -1
                        left[pj[q]] = -1
            for h in range(lo, hi):
                gen[h] += 1
                g = _attempts(p, log1mp)
                size = _push(ht, hp, hs, hk, ha, hb, hc, size, base + g * tau, PRIORITY_HERALD, seq, _K_HERALD, h, 0, gen[h])
                seq += 1
            continue
        if kind == _K_HERALD:
            n_herald += 1
            if npairs >= cap:
                return -1  # the wrapper reruns with a larger pair table
            q = npairs
            npairs += 1
            pi[q] = a
            pj[q] = a + 1
            px[q] = fx
            py[q] = fy
            pz[q] = fz
            pt[q] = now
            mi[q] = 0
            mj[q] = 0
            alive[q] = True
            succ[q] = -1
            spos[q] = -1
            right[a] = q
            left[a + 1] = q
            if cutoff >= 0.0:
                size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + cutoff + tol, PRIORITY_CUTOFF, seq, _K_CUTOFF, q, 0, rnd)
                seq += 1
            if n == 1:
                deliver = q
            else:
                if a > 0:
                    work[nwork] = a
                    nwork += 1
                if a + 1 < n:
                    work[nwork] = a + 1
                    nwork += 1
        else:
            if c != rnd:
                n_drop += 1
                continue
            x = a
            e = b
            while True:
                if alive[x]:
                    if e == pi[x]:
                        mi[x] -= 1
                    else:
                        mj[x] -= 1
                    if mi[x] == 0 and mj[x] == 0 and pi[x] == 0 and pj[x] == n:
                        deliver = x
                    elif nested and 0 < e < n:
                        work[nwork] = e
                        nwork += 1
                    break
                s = succ[x]
                if s < 0:
                    n_drop += 1
                    break
                if spos[x] == e:
                    tgt = pj[s] if pi[x] == pi[s] else pi[s]
                    n_fwd += 1
                    size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + abs(tgt - e) * delta, PRIORITY_MESSAGE, seq, _K_MESSAGE, s, tgt, rnd)
                    seq += 1
                    break
                x = s
        # swapping agents at the positions to check
        while nwork > 0:
            nwork -= 1
            k = work[nwork]
            L = left[k]
            R = right[k]
            if L < 0 or R < 0:
                continue
            if nested:
                s2 = k & -k
                if not (pi[L] == k - s2 and mj[L] == 0 and pj[R] == k + s2 and mi[R] == 0):
                    continue
            _age_pair(px, py, pz, pt, L, now, gt, gl)
            _age_pair(px, py, pz, pt, R, now, gt, gl)
            left[k] = -1
            right[k] = -1
            right[pi[L]] = -1
            left[pj[R]] = -1
            alive[L] = False
            alive[R] = False
            spos[L] = k
            spos[R] = k
            if swap_p < 1.0 and np.random.random() >= swap_p:
                n_fail += 1
                for h in range(pi[L], pj[R]):
                    g = _attempts(p, log1mp)
                    size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + g * tau, PRIORITY_HERALD, seq, _K_HERALD, h, 0, gen[h])
                    seq += 1
                continue
            n_swap += 1
            if npairs >= cap:
                return -1  # the wrapper reruns with a larger pair table
            P = npairs
            npairs += 1
            pi[P] = pi[L]
            pj[P] = pj[R]
            px[P] = px[L] * px[R] * nx
            py[P] = -(py[L] * py[R]) * ny
            pz[P] = pz[L] * pz[R] * nz
            pt[P] = now
            mi[P] = mi[L] + mi[R] + 1
            mj[P] = mj[R] + mj[L] + 1
            alive[P] = True
            succ[P] = -1
            spos[P] = -1
            succ[L] = P
            succ[R] = P
            n_msg += 2
            size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + (k - pi[P]) * delta, PRIORITY_MESSAGE, seq, _K_MESSAGE, P, pi[P], rnd)
            seq += 1
            size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + (pj[P] - k) * delta, PRIORITY_MESSAGE, seq, _K_MESSAGE, P, pj[P], rnd)
            seq += 1
            right[pi[P]] = P
            left[pj[P]] = P
            if cutoff >= 0.0:
                size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + cutoff + tol, PRIORITY_CUTOFF, seq, _K_CUTOFF, P, 0, rnd)
                seq += 1
            if not nested:
                if pi[P] > 0:
                    work[nwork] = pi[P]
                    nwork += 1
                if pj[P] < n:
                    work[nwork] = pj[P]
                    nwork += 1
        if deliver >= 0:
            q = deliver
            _age_pair(px, py, pz, pt, q, now, gt, gl)
            fid = (1.0 + px[q] - py[q] + pz[q]) / 4.0
            w = now - last
            last = now
            out[0] += fid
            out[1] += fid * fid
            out[2] += w
            out[3] += w * w
            out[4] += px[q]
            out[5] += py[q]
            out[6] += pz[q]
            delivered += 1
            # round ends: all memories free, every hop restarts now (messages still in flight belong
            # to the old round and are dropped on arrival)
            rnd += 1
            npairs = 0
            for k in range(n + 1):
                left[k] = -1
                right[k] = -1
            for h in range(n):
                g = _attempts(p, log1mp)
                size = _push(ht, hp, hs, hk, ha, hb, hc, size, now + g * tau, PRIORITY_HERALD, seq, _K_HERALD, h, 0, gen[h])
                seq += 1
    out[7] = now
    counts[0] = events
    counts[1] = n_herald
    counts[2] = n_swap
    counts[3] = n_fail
    counts[4] = n_msg
    counts[5] = n_fwd
    counts[6] = n_drop
    counts[7] = delivered
    counts[8] = n_cut
    return 0


def eligible(spec) -> bool:
    """Whether :func:`simulate_chain_fast` covers ``spec`` (no purification, all segments alike: a chain
    whose segments differ runs on the network agents, which take each link's own parameters)."""
    return spec.rounds == 0 and spec.homogeneous


def simulate_chain_fast(spec, pairs: int, seed=None, initial_capacity: tuple[int, int] | None = None):
    """Compiled chain run; returns ``(sums, counts)`` with the same accumulators as the Python agents.

    sums: fidelity Σ, Σ², waiting Σ, Σ², correlator Σ (x, y, z), final time; counts: events, heralds,
    swaps, swap failures, messages sent, forwarded, dropped, deliveries, cut-off discards.
    ``initial_capacity`` = (heap entries, pairs per round) to start from (tests of the rerun path).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    s = int(ss.generate_state(1, np.uint32)[0])
    link = spec.link
    t = link.fresh_state.correlators
    from ...states import swap_noise_factors

    nf = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    # cut-off in whole attempts (the chain engines' convention), as the Python agents' cutoff_on_grid
    cutoff = -1.0 if spec.cutoff_s is None else math.floor(spec.cutoff_s / link.attempt_duration_s + 1e-9) * link.attempt_duration_s
    cap_heap, cap_pairs = initial_capacity or (16 * int(spec.segments) + 256, 4096)
    announce_compile(_chain_kernel, "compiled chain event engine")
    while True:
        out = np.zeros(8)
        counts = np.zeros(9, np.int64)
        code = _chain_kernel(
            int(spec.segments), int(pairs), s, float(spec.link_success_probability), float(link.attempt_duration_s),
            float(t[0]), float(t[1]), float(t[2]), float(link.transverse_rate_hz), float(link.longitudinal_rate_hz),
            float(link.classical_delay_s), spec.schedule == "nested", float(spec.swap.success_probability),
            float(nf[0]), float(nf[1]), float(nf[2]), float(cutoff), cap_heap, cap_pairs, out, counts,
        )
        # tables too small: rerun from the start with larger ones. The heap pops in (time, priority,
        # sequence) order whatever its capacity, so the rerun is the same run, only completed.
        if code == -1:
            cap_pairs *= 8
        elif code == -2:
            cap_heap *= 8
        else:
            return out, counts
