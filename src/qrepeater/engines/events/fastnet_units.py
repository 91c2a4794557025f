"""Compiled network agents, part 1: pairs, memories and link units (twin of :mod:`.simulation`,
:mod:`.heralding` and :mod:`.cutoff`'s timers).

Each kernel transcribes the Python method named in its docstring statement by statement, in the same
order — random draws, scheduled events and floating-point operations alike — so that both give the
same run for the same seed (``tests/test_events_fastnet.py`` checks it bit for bit).

Pairs live in a pool; a row is reused once nothing can name it any more: its reference count
(:data:`~.fastnet_state.QREF`) holds one for being alive, one per pending frame message or purification
outcome naming it, and one per dead predecessor whose successor it is (messages walk those links).
Rows whose count drops to zero are freed at the end of the event (:func:`release`), so no row is
reused while a handler still reads it.
"""

from __future__ import annotations

import math

from .fastnet_heap import schedule
from .fastnet_state import (ERR_LIST, ERR_PAIRS, ERR_RANDOM, GCONT, GERR, GHASCUT, GNFREE, GNOW, GNPAIRS, GNZOMBIE,
                            GONGRID, GSLOTS, GUI, K_CUTOFF, K_HERALD, NAREA, NLAST, NOCC, NPEAK, PHLI, PHLJ, PHTI,
                            PHTJ, PT, PX, PY, PZ, QALIVE, QCUT, QI, QJ, QLOCK, QMI, QMJ, QR, QREF, QRND, QSLOT,
                            QSPOS, QSUCC, QUA, QUB, UBUILD, UBUSYA, UBUSYB, UCUT, ULOG1MP, UNA, UNB, UP, UTAU,
                            U_SLOT0, inline_jit, kernel_jit, tables)
from .cutoff import GRID_TOL
from .kernel import PRIORITY_CUTOFF, PRIORITY_HERALD


# ---------------------------------------------------------------- occupancy (Simulation._occupy)
@inline_jit
def occupy(st, node, delta):
    """``Simulation._occupy``: integrate the node's occupancy up to now, then change it by ``delta``."""
    now = st.gf[GNOW]
    st.nf[node, NAREA] += st.ni[node, NOCC] * (now - st.nf[node, NLAST])
    st.nf[node, NLAST] = now
    c = st.ni[node, NOCC] + delta
    st.ni[node, NOCC] = c
    if c > st.ni[node, NPEAK]:
        st.ni[node, NPEAK] = c


# ---------------------------------------------------------------- pairs
@kernel_jit
def new_pair(dp, r, i, j):
    """``Simulation._new_pair``: a live pair of route ``r`` between positions i < j, created now."""
    st = tables(dp)
    gi = st.gi
    if gi[GNFREE] > 0:
        gi[GNFREE] -= 1
        q = st.pfree[gi[GNFREE]]
    else:
        q = gi[GNPAIRS]
        if q >= st.pq.shape[0] - 1:  # the last row is scratch: the run is void and will be rerun
            gi[GERR] = ERR_PAIRS
            q = st.pq.shape[0] - 1
        else:
            gi[GNPAIRS] = q + 1
    pq = st.pq
    pq[q, QR], pq[q, QI], pq[q, QJ] = r, i, j
    pq[q, QALIVE] = 1
    pq[q, QSUCC] = -1
    pq[q, QSPOS] = -1
    pq[q, QCUT] = -1
    pq[q, QMI] = 0
    pq[q, QMJ] = 0
    pq[q, QRND] = 0
    pq[q, QSLOT] = -1
    pq[q, QLOCK] = 0
    pq[q, QREF] = 1
    st.pf[q, PT] = st.gf[GNOW]
    return q


@inline_jit
def unref(st, q):
    """Drop one reference to pair ``q``; at zero it waits in the zombie list until the event ends."""
    st.pq[q, QREF] -= 1
    if st.pq[q, QREF] == 0:
        st.zombie[st.gi[GNZOMBIE]] = q
        st.gi[GNZOMBIE] += 1


@inline_jit
def kill(st, q):
    """The pair stops being alive (``p.alive = False``)."""
    st.pq[q, QALIVE] = 0
    unref(st, q)


@kernel_jit
def release(dp):
    """End of an event: free the rows nobody names any more (and drop their hold on their successors)."""
    st = tables(dp)
    gi = st.gi
    while gi[GNZOMBIE] > 0:
        gi[GNZOMBIE] -= 1
        q = st.zombie[gi[GNZOMBIE]]
        st.pfree[gi[GNFREE]] = q
        gi[GNFREE] += 1
        s = st.pq[q, QSUCC]
        if s >= 0:
            unref(st, s)


@inline_jit
def advance(st, q, now):
    """``Pair.advance``: memory decay from the pair's last update to ``now``."""
    pf = st.pf
    dt = now - pf[q, PT]
    if dt > 0.0:
        ft = math.exp(-(pf[q, PHTI] + pf[q, PHTJ]) * dt)
        pf[q, PX] *= ft
        pf[q, PY] *= ft
        pf[q, PZ] *= math.exp(-(pf[q, PHLI] + pf[q, PHLJ]) * dt)
        pf[q, PT] = now


# ---------------------------------------------------------------- pairs stored at route positions
@inline_jit
def list_append(st, r, k, side, q):
    n = st.nlst[r, k, side]
    if n >= st.lst.shape[3]:
        st.gi[GERR] = ERR_LIST
        return
    st.lst[r, k, side, n] = q
    st.nlst[r, k, side] = n + 1


@inline_jit
def list_remove(st, r, k, side, q):
    """``list.remove``: drop ``q`` keeping the order of the others."""
    n = st.nlst[r, k, side]
    lst = st.lst
    m = 0
    while m < n and lst[r, k, side, m] != q:
        m += 1
    for x in range(m, n - 1):
        lst[r, k, side, x] = lst[r, k, side, x + 1]
    if m < n:
        st.nlst[r, k, side] = n - 1


@inline_jit
def store(st, r, q):
    """The pair joins ``rs.right[i]`` and ``rs.left[j]``."""
    list_append(st, r, st.pq[q, QI], 1, q)
    list_append(st, r, st.pq[q, QJ], 0, q)


@inline_jit
def unstore(st, r, q):
    list_remove(st, r, st.pq[q, QI], 1, q)
    list_remove(st, r, st.pq[q, QJ], 0, q)


# ---------------------------------------------------------------- cut-off timers (Cutoff)
@inline_jit
def arm_cutoff(st, q, u):
    """``Cutoff._arm_cutoff`` with the period of unit ``u`` (delay precomputed per unit; inf: no cut-off)."""
    if st.gi[GHASCUT] and st.uf[u, UCUT] < math.inf:
        st.pq[q, QCUT] = schedule(st, st.gf[GNOW] + st.uf[u, UCUT], PRIORITY_CUTOFF, K_CUTOFF, q, 0)


@inline_jit
def arm_cutoff_span(st, q, ul, ur):
    """``Cutoff._arm_cutoff`` of a pair whose end links have units ``ul``, ``ur``: the stricter cut-off."""
    if st.gi[GHASCUT]:
        c = min(st.uf[ul, UCUT], st.uf[ur, UCUT])
        if c < math.inf:
            st.pq[q, QCUT] = schedule(st, st.gf[GNOW] + c, PRIORITY_CUTOFF, K_CUTOFF, q, 0)


@inline_jit
def grid_base(st, u):
    """``Cutoff._grid_base``: restart time of attempts after a cut-off."""
    now = st.gf[GNOW]
    return now - GRID_TOL * st.uf[u, UTAU] if st.gi[GONGRID] else now


# ---------------------------------------------------------------- link generation (LinkGeneration)
@inline_jit
def uniform(st):
    """``Simulation._uniform``: the next uniform of the run's stream (refilled between events by the
    wrapper; running dry within one event voids the run, see ERR_RANDOM)."""
    i = st.gi[GUI]
    if i >= st.ubuf.shape[0]:
        st.gi[GERR] = ERR_RANDOM
        return 0.5
    st.gi[GUI] = i + 1
    return st.ubuf[i]


@inline_jit
def attempts(st, u):
    """``LinkGeneration._attempts``: geometric attempts to the next herald, by inverse CDF."""
    if st.uf[u, UP] >= 1.0:
        return 1
    x = 1.0 - uniform(st)
    return 1 + int(math.log(x) / st.uf[u, ULOG1MP])


@kernel_jit
def start_slot(dp, u, s, base):
    """``LinkGeneration._start_slot`` (``base`` NaN = now)."""
    st = tables(dp)
    ev = U_SLOT0 + st.gi[GSLOTS] + s
    if st.ui[u, U_SLOT0 + s] < 0 and st.ui[u, ev] < 0:
        g = attempts(st, u)
        t0 = st.gf[GNOW] if base != base else base
        st.ui[u, ev] = schedule(st, t0 + g * st.uf[u, UTAU], PRIORITY_HERALD, K_HERALD, u, s)


@kernel_jit
def start_unit(dp, u, base):
    st = tables(dp)
    st.ui[u, UBUILD] = 1
    for s in range(st.gi[GSLOTS]):
        start_slot(st.dp, u, s, base)


@kernel_jit
def abort_unit(dp, u):
    """``LinkGeneration._abort_unit``: cancel the unit's heralds, discard its slot pairs."""
    st = tables(dp)
    slots = st.gi[GSLOTS]
    ui = st.ui
    for s in range(slots):
        if ui[u, U_SLOT0 + slots + s] >= 0:
            ui[u, U_SLOT0 + slots + s] = -1
        q = ui[u, U_SLOT0 + s]
        if q >= 0:
            if st.pq[q, QALIVE]:
                st.pq[q, QCUT] = -1
                kill(st, q)
                occupy(st, ui[u, UNA], -1)
                occupy(st, ui[u, UNB], -1)
            ui[u, U_SLOT0 + s] = -1
    ui[u, UBUILD] = 0


@kernel_jit
def free_a(dp, u):
    """``LinkGeneration._free_a`` (continuous operation restarts a unit whose memories are both free)."""
    st = tables(dp)
    st.ui[u, UBUSYA] = 0
    occupy(st, st.ui[u, UNA], -1)
    if st.gi[GCONT] and not st.ui[u, UBUSYB] and not st.ui[u, UBUILD]:
        start_unit(st.dp, u, math.nan)


@kernel_jit
def free_b(dp, u):
    st = tables(dp)
    st.ui[u, UBUSYB] = 0
    occupy(st, st.ui[u, UNB], -1)
    if st.gi[GCONT] and not st.ui[u, UBUSYA] and not st.ui[u, UBUILD]:
        start_unit(st.dp, u, math.nan)


@kernel_jit
def restart_span(dp, r, i, j, base):
    """``LinkGeneration._restart_span``: per-delivery rounds restart the idle units of hops i … j−1."""
    st = tables(dp)
    if st.gi[GCONT]:
        return
    ui = st.ui
    for h in range(i, j):
        u0 = st.rhop[r, h, 0]
        for u in range(u0, u0 + st.rhop[r, h, 1]):
            if not ui[u, UBUILD] and not ui[u, UBUSYA] and not ui[u, UBUSYB]:
                start_unit(st.dp, u, base)


@kernel_jit
def discard_route_pair(dp, r, q):
    """``LinkGeneration._discard_route_pair``."""
    st = tables(dp)
    pq = st.pq
    pq[q, QCUT] = -1
    kill(st, q)
    unstore(st, r, q)
    st.ui[pq[q, QUA], UBUSYA] = 0
    st.ui[pq[q, QUB], UBUSYB] = 0
    occupy(st, st.ui[pq[q, QUA], UNA], -1)
    occupy(st, st.ui[pq[q, QUB], UNB], -1)


@kernel_jit
def restart_block(dp, r, lo, hi, base):
    """``LinkGeneration._restart_block``: discard the pairs inside [lo, hi], restart hops lo … hi−1."""
    st = tables(dp)
    for k in range(lo, hi + 1):
        m = 0
        while m < st.nlst[r, k, 1]:
            q = st.lst[r, k, 1, m]
            if st.pq[q, QJ] <= hi:
                discard_route_pair(st.dp, r, q)  # removes entry m; the next one moves into it
            else:
                m += 1
    ui = st.ui
    for h in range(lo, hi):
        u0 = st.rhop[r, h, 0]
        for u in range(u0, u0 + st.rhop[r, h, 1]):
            abort_unit(st.dp, u)
            ui[u, UBUSYA] = 0
            ui[u, UBUSYB] = 0
            start_unit(st.dp, u, base)

