"""Compiled network agents, part 2: swapping, Pauli-frame messages and consumers (twin of
:mod:`.swapping` and :mod:`.consumers`; same statement order, see :mod:`.fastnet_units`).

The Python swapping agent recurses (a swap-asap swap tries the new pair's ends, which may swap again);
:func:`swap_at` runs the same recursion on an explicit stack of frames (position, stage, new pair), so
the swaps, their random draws and their messages come in the same order.
"""

from __future__ import annotations

import math

from ...states.chsh import SQRT2
from .fastnet_heap import schedule
from .fastnet_state import (CDELIV, CDROP, CFWD, CMSG, CRESET, CSWAP, CSWAPFAIL, ERR_STACK, GCONT, GERR, GNESTED,
                            GNOW, GNROUTES, GNX, GNY, GNZ, GSTOP, GSWAP_P, GTARGET, K_MESSAGE, PHLI, PHLJ, PHTI,
                            PHTJ, PX, PY, PZ, QALIVE, QCUT, QI, QJ, QMI, QMJ, QR, QREF, QSPOS, QSUCC, QUA, QUB,
                            RCHSH, RCX, RCY, RCZ, RDELIV, RFSQ, RFSUM, RHOPS, RKIND, RLAST, RQBER, RWSQ, RWSUM,
                            UBUILD, UBUSYA, UBUSYB, UR, kernel_jit, tables)
from .fastnet_units import (advance, arm_cutoff, arm_cutoff_span, free_a, free_b, kill, list_remove, new_pair, restart_block,
                            restart_span, store, uniform, unstore)
from .kernel import PRIORITY_MESSAGE


@kernel_jit
def _pick(dp, r, k):
    """The two pairs ``Swapping._check_swap`` swaps at position ``k`` next, or (-1, -1)."""
    st = tables(dp)
    nl, nr = st.nlst[r, k, 0], st.nlst[r, k, 1]
    if nl == 0 or nr == 0:
        return -1, -1
    if not st.gi[GNESTED]:
        return st.lst[r, k, 0, 0], st.lst[r, k, 1, 0]
    s = k & -k
    pq = st.pq
    lp = -1
    for m in range(nl):
        q = st.lst[r, k, 0, m]
        if pq[q, QI] == k - s and pq[q, QMJ] == 0:
            lp = q
            break
    rp = -1
    for m in range(nr):
        q = st.lst[r, k, 1, m]
        if pq[q, QJ] == k + s and pq[q, QMI] == 0:
            rp = q
            break
    if lp < 0 or rp < 0:
        return -1, -1
    return lp, rp


@kernel_jit
def _swap(dp, r, k, lp, rp):
    """``Swapping._swap``; returns the new pair, or -1 if the swap failed."""
    st = tables(dp)
    pq, pf, gf = st.pq, st.pf, st.gf
    now = gf[GNOW]
    advance(st, lp, now)
    advance(st, rp, now)
    list_remove(st, r, k, 0, lp)
    list_remove(st, r, k, 1, rp)
    list_remove(st, r, pq[lp, QI], 1, lp)
    list_remove(st, r, pq[rp, QJ], 0, rp)
    pq[lp, QCUT] = -1
    pq[rp, QCUT] = -1
    kill(st, lp)
    kill(st, rp)
    pq[lp, QSPOS] = k
    pq[rp, QSPOS] = k
    free_b(st.dp, pq[lp, QUB])
    free_a(st.dp, pq[rp, QUA])
    if gf[GSWAP_P] < 1.0 and uniform(st) >= gf[GSWAP_P]:
        st.gi[CSWAPFAIL] += 1
        free_a(st.dp, pq[lp, QUA])
        free_b(st.dp, pq[rp, QUB])
        restart_span(st.dp, r, pq[lp, QI], pq[rp, QJ], math.nan)
        return -1
    st.gi[CSWAP] += 1
    p = new_pair(st.dp, r, pq[lp, QI], pq[rp, QJ])
    pq[p, QUA], pq[p, QUB] = pq[lp, QUA], pq[rp, QUB]
    pf[p, PX] = pf[lp, PX] * pf[rp, PX] * gf[GNX]
    pf[p, PY] = -(pf[lp, PY] * pf[rp, PY]) * gf[GNY]
    pf[p, PZ] = pf[lp, PZ] * pf[rp, PZ] * gf[GNZ]
    pf[p, PHTI], pf[p, PHLI] = pf[lp, PHTI], pf[lp, PHLI]
    pf[p, PHTJ], pf[p, PHLJ] = pf[rp, PHTJ], pf[rp, PHLJ]
    pq[p, QMI] = pq[lp, QMI] + pq[rp, QMI] + 1
    pq[p, QMJ] = pq[rp, QMJ] + pq[lp, QMJ] + 1
    pq[lp, QSUCC] = p
    pq[rp, QSUCC] = p
    # Pauli-frame messages to both ends of the new pair; each holds a reference (as do lp and rp)
    st.gi[CMSG] += 2
    i, j = pq[p, QI], pq[p, QJ]
    schedule(st, now + st.rplat[r, k, i], PRIORITY_MESSAGE, K_MESSAGE, p, i)
    schedule(st, now + st.rplat[r, k, j], PRIORITY_MESSAGE, K_MESSAGE, p, j)
    pq[p, QREF] += 4
    store(st, r, p)
    arm_cutoff_span(st, p, st.rhop[r, i, 0], st.rhop[r, j - 1, 0])
    return p


@kernel_jit
def swap_at(dp, r, k0, p0):
    """``Swapping._check_swap(k0)`` if ``p0 < 0``, else ``Swapping._swap_at_ends(p0)``, recursion included.

    Frame stages: 0 = the ``while`` of ``_check_swap`` at its position; 1 = after a successful
    swap-asap swap, try the new pair's left end; 2 = then, if it is still stored, its right end.
    """
    st = tables(dp)
    stack = st.stack
    cap = stack.shape[0]
    pq = st.pq
    hops = st.ri[r, RHOPS]
    nested = st.gi[GNESTED]
    stack[0, 0], stack[0, 1], stack[0, 2] = (k0, 0, -1) if p0 < 0 else (-1, 1, p0)
    sp = 1
    while sp > 0:
        f = sp - 1
        stage = stack[f, 1]
        if stage == 0:
            k = stack[f, 0]
            lp, rp = (-1, -1) if k < 0 else _pick(st.dp, r, k)
            if lp < 0:
                sp -= 1
                continue
            p = _swap(st.dp, r, k, lp, rp)
            if p >= 0 and not nested:
                stack[f, 1] = 1
                stack[f, 2] = p
            continue
        p = stack[f, 2]
        if stage == 1:
            stack[f, 1] = 2
            nxt = pq[p, QI] if pq[p, QI] > 0 else -1
        else:
            stack[f, 1] = 0
            nxt = pq[p, QJ] if pq[p, QALIVE] and pq[p, QJ] < hops else -1
        if nxt >= 0:
            if sp >= cap:
                st.gi[GERR] = ERR_STACK
                return
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = nxt, 0, -1
            sp += 1


@kernel_jit
def output(dp, u, q):
    """``Swapping._output``: the unit's final pair joins the route."""
    st = tables(dp)
    ui = st.ui
    ui[u, UBUILD] = 0
    ui[u, UBUSYA] = 1
    ui[u, UBUSYB] = 1
    r = ui[u, UR]
    store(st, r, q)
    arm_cutoff(st, q, u)
    if st.pq[q, QI] == 0 and st.pq[q, QJ] == st.ri[r, RHOPS]:
        deliver(st.dp, r, q)
        return
    swap_at(st.dp, r, -1, q)


@kernel_jit
def deliver(dp, r, q):
    """``Consumers._deliver`` (and ``_reset_route`` in per-delivery rounds)."""
    st = tables(dp)
    pq, pf, rf = st.pq, st.pf, st.rf
    now = st.gf[GNOW]
    advance(st, q, now)
    pq[q, QCUT] = -1
    kill(st, q)
    unstore(st, r, q)
    f = (1.0 + pf[q, PX] - pf[q, PY] + pf[q, PZ]) / 4.0
    w = now - rf[r, RLAST]
    rf[r, RLAST] = now
    st.ri[r, RDELIV] += 1
    rf[r, RFSUM] += f
    rf[r, RFSQ] += f * f
    rf[r, RWSUM] += w
    rf[r, RWSQ] += w * w
    rf[r, RCX] += pf[q, PX]
    rf[r, RCY] += pf[q, PY]
    rf[r, RCZ] += pf[q, PZ]
    if st.ri[r, RKIND] == 1:
        rf[r, RCHSH] += SQRT2 * (pf[q, PZ] + pf[q, PX])
        rf[r, RQBER] += 0.5 * (1.0 - pf[q, PZ])
    st.gi[CDELIV] += 1
    free_a(st.dp, pq[q, QUA])
    free_b(st.dp, pq[q, QUB])
    if not st.gi[GCONT]:
        st.gi[CRESET] += 1
        restart_block(st.dp, r, 0, st.ri[r, RHOPS], math.nan)
    target = st.gi[GTARGET]
    if target >= 0 and st.ri[r, RDELIV] >= target:
        for r2 in range(st.gi[GNROUTES]):
            if st.ri[r2, RDELIV] < target:
                return
        st.gi[GSTOP] = 1


@kernel_jit
def on_message(dp, x, e):
    """``Swapping._on_message``: a frame message for pair ``x`` reaches route position ``e``."""
    st = tables(dp)
    pq = st.pq
    while True:
        r = pq[x, QR]
        if pq[x, QALIVE]:
            if e == pq[x, QI]:
                pq[x, QMI] -= 1
            else:
                pq[x, QMJ] -= 1
            hops = st.ri[r, RHOPS]
            if pq[x, QMI] == 0 and pq[x, QMJ] == 0 and pq[x, QI] == 0 and pq[x, QJ] == hops:
                deliver(st.dp, r, x)
            elif st.gi[GNESTED] and 0 < e < hops:
                swap_at(st.dp, r, e, -1)
            return
        s = pq[x, QSUCC]
        if s < 0:
            st.gi[CDROP] += 1
            return
        if pq[x, QSPOS] == e:
            tgt = pq[s, QJ] if pq[x, QI] == pq[s, QI] else pq[s, QI]
            st.gi[CFWD] += 1
            schedule(st, st.gf[GNOW] + st.rplat[r, e, tgt], PRIORITY_MESSAGE, K_MESSAGE, s, tgt)
            pq[s, QREF] += 1
            return
        x = s
