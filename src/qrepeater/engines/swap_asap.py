"""Compiled event kernel of swap-asap chains for the Monte Carlo engine (:mod:`.montecarlo`).

N segments, one memory pair per hop: a segment that finishes generation creates a pair; a node holding
two pairs swaps at once (blind: it does not wait for outcomes); a failed swap frees both pairs' memories
and their segments regenerate; a cut-off discards a pair whose *oldest* constituent link is older than
the pair's cut-off (its segments regenerate): with per-segment cut-offs, the strictest of the memories at
its two ends (segments i and j of a pair spanning i … j, :class:`qrepeater.engines.model.ChainSpec`). Elementary links (durations and states) come pre-sampled from the
link-level protocol; the classical messages of the swaps are followed as in
:mod:`qrepeater.engines.model` (see the kernel's docstring).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .jit import announce_compile


@numba.njit(cache=True)
def _pair_cutoff(cutoff, left, right):
    """Cut-off (attempts, −1: none) of the pair spanning segments left … right − 1."""
    a = cutoff[left]
    b = cutoff[right - 1]
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


@numba.njit(cache=True)
def _swap_asap_kernel(n_seg, trials, link_dur, link_corr, n_links, seg, uni, swap_p, cutoff, rates, noise, rho, out_t,
                      out_c, pos):
    """Event-driven swap-asap chain; returns −1 on success, else the trial at which a buffer ran out.

    Elementary links come from S streams: ``link_dur`` (S, K) and ``link_corr`` (S, K, 3), of which the
    first ``n_links[s]`` are valid; segment i draws from stream ``seg[i]`` (one stream for a chain of
    equal segments, one per segment when they differ). ``pos`` (int64, S + 1) receives the link positions
    of each stream and the uniform position at the start of the trial that ran out (or at the end): the
    caller keeps the samples from there on, so a stream of trials does not depend on the buffer sizes.

    ``cutoff`` (n_seg,): each segment's cut-off in attempts (−1: none); a pair keeps
    :func:`_pair_cutoff` of its two end segments.

    Times are float attempts (whole unless link purification adds message delays). ``rho`` = δ/τ: the
    outcome of every swap travels to both ends of the new pair (forwarded through nodes that swapped
    meanwhile); ``kl``/``kr`` hold, per stored pair, when its left/right end knows every outcome for it:
    swapping L = [i, k] and R = [k, j] at ``now`` gives kl = max(kl_L, max(now, kl_R) + (k − i) ρ) and
    kr = max(kr_R, max(now, kr_L) + (j − k) ρ). The end-to-end pair is delivered at max(kl, kr),
    decaying meanwhile, or discarded (all links restart) if that exceeds the cut-off after its swap.
    """
    lp = np.zeros(n_links.size, np.int64)  # next sample of each link stream
    up = 0
    n_streams = n_links.size
    n_uni = uni.shape[0]
    gen_done = np.empty(n_seg)
    gen_corr = np.empty((n_seg, 3))
    pr = np.empty(n_seg + 1, np.int64)
    pl = np.empty(n_seg + 1, np.int64)
    pbirth = np.empty(n_seg + 1)
    ptime = np.empty(n_seg + 1)
    kl = np.empty(n_seg + 1)
    kr = np.empty(n_seg + 1)
    pcorr = np.empty((n_seg + 1, 3))
    sign = np.array([1.0, -1.0, 1.0])
    has_cut = False
    for i in range(n_seg):
        if cutoff[i] >= 0:
            has_cut = True
    for k in range(trials):
        pos[:n_streams] = lp
        pos[n_streams] = up
        for i in range(n_seg):
            if lp[seg[i]] >= n_links[seg[i]]:
                return k
            gen_done[i] = link_dur[seg[i], lp[seg[i]]]
            for j in range(3):
                gen_corr[i, j] = link_corr[seg[i], lp[seg[i]], j]
            lp[seg[i]] += 1
        for i in range(n_seg + 1):
            pr[i] = -1
            pl[i] = -1
        delivered = False
        while not delivered:
            tg = -1.0
            ig = -1
            for i in range(n_seg):
                if gen_done[i] >= 0 and (ig < 0 or gen_done[i] < tg):
                    tg = gen_done[i]
                    ig = i
            if has_cut:
                tc = -1.0
                lc = -1
                for l in range(n_seg):
                    if pr[l] >= 0:
                        cl = _pair_cutoff(cutoff, l, pr[l])
                        if cl >= 0 and (lc < 0 or pbirth[l] + cl < tc):
                            tc = pbirth[l] + cl
                            lc = l
                if lc >= 0 and tc < tg:
                    r = pr[lc]
                    pr[lc] = -1
                    pl[r] = -1
                    for j in range(lc, r):
                        if lp[seg[j]] >= n_links[seg[j]]:
                            return k
                        gen_done[j] = tc + link_dur[seg[j], lp[seg[j]]]
                        for x in range(3):
                            gen_corr[j, x] = link_corr[seg[j], lp[seg[j]], x]
                        lp[seg[j]] += 1
                    continue
            now = tg
            gen_done[ig] = -1
            a = ig
            b = ig + 1
            pr[a] = b
            pl[b] = a
            pbirth[a] = now
            ptime[a] = now
            kl[a] = now
            kr[a] = now
            for x in range(3):
                pcorr[a, x] = gen_corr[ig, x]
            # swap at the left node, then at the right node, while possible
            for side in range(2):
                if side == 0:
                    if a == 0 or pl[a] < 0:
                        continue
                    left = pl[a]
                    mid = a
                    right = pr[a]
                else:
                    if b == n_seg or pr[b] < 0:
                        continue
                    left = a
                    mid = b
                    right = pr[b]
                if up >= n_uni:
                    return k
                success = uni[up] < swap_p
                up += 1
                newc = np.empty(3)
                for x in range(3):
                    ca = pcorr[left, x] * math.exp(-rates[x] * (now - ptime[left]))
                    cb = pcorr[mid, x] * math.exp(-rates[x] * (now - ptime[mid]))
                    newc[x] = sign[x] * ca * cb * noise[x]
                new_kl = max(kl[left], max(now, kl[mid]) + (mid - left) * rho)
                new_kr = max(kr[mid], max(now, kr[left]) + (right - mid) * rho)
                birth = min(pbirth[left], pbirth[mid])
                pr[left] = -1
                pl[mid] = -1
                pr[mid] = -1
                pl[right] = -1
                if success:
                    pr[left] = right
                    pl[right] = left
                    pbirth[left] = birth
                    ptime[left] = now
                    kl[left] = new_kl
                    kr[left] = new_kr
                    for x in range(3):
                        pcorr[left, x] = newc[x]
                    a = left
                    b = right
                else:
                    for j in range(left, right):
                        if lp[seg[j]] >= n_links[seg[j]]:
                            return k
                        gen_done[j] = now + link_dur[seg[j], lp[seg[j]]]
                        for x in range(3):
                            gen_corr[j, x] = link_corr[seg[j], lp[seg[j]], x]
                        lp[seg[j]] += 1
                    break
            if pr[0] == n_seg:
                wait = max(kl[0], kr[0]) - now  # the ends still wait for outcomes in flight
                c_end = _pair_cutoff(cutoff, 0, n_seg)
                if c_end >= 0 and wait > c_end + 1e-6:
                    pr[0] = -1
                    pl[n_seg] = -1
                    for j in range(n_seg):
                        if lp[seg[j]] >= n_links[seg[j]]:
                            return k
                        gen_done[j] = now + c_end + link_dur[seg[j], lp[seg[j]]]
                        for x in range(3):
                            gen_corr[j, x] = link_corr[seg[j], lp[seg[j]], x]
                        lp[seg[j]] += 1
                    continue
                out_t[k] = now + wait
                for x in range(3):
                    out_c[k, x] = pcorr[0, x] * math.exp(-rates[x] * wait)
                delivered = True
    pos[:n_streams] = lp
    pos[n_streams] = up
    return -1


def swap_asap_trials(n_seg, trials, link_dur, link_corr, n_links, seg, uni, swap_p, cutoff, rates, noise, rho, out_t,
                     out_c, pos):
    """:func:`_swap_asap_kernel`, saying so on stderr the first time it is compiled."""
    announce_compile(_swap_asap_kernel, "swap-asap Monte Carlo kernel")
    return _swap_asap_kernel(n_seg, trials, link_dur, link_corr, n_links, seg, uni, swap_p, cutoff, rates, noise, rho,
                             out_t, out_c, pos)
