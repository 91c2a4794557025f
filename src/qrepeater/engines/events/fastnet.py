"""Compiled (numba) network agents: any :class:`~.network.NetworkModel` — several routes sharing
nodes, link units with recurrence purification, cut-offs on or off the attempt grid (per link: a pair
keeps the stricter of its two end links', ``LinkModel.cutoff_s``), swap-asap or
nested swapping, continuous or per-delivery operation, fidelity and DI-QKD consumers.

A transcription of the Python agents (:mod:`.simulation` with :mod:`.heralding`, :mod:`.purification`,
:mod:`.swapping`, :mod:`.cutoff`, :mod:`.consumers`) onto the arrays of :mod:`.fastnet_state`: the same
handlers in the same statement order, the same event order (:mod:`.fastnet_heap` numbers events as
:class:`~.kernel.Kernel` does) and the same random stream — the uniforms of the numpy generator the
Python agents draw from (``default_rng(SeedSequence(seed))``), taken one per draw in the same order
as ``Simulation._uniform`` (the wrapper refills them in blocks between events).
Same seed, same run, bit for bit: counts, occupancy and every consumer sum
(``tests/test_events_fastnet.py``). The Python agents stay the reference (and the only path that
records traces and timelines). :func:`qrepeater.engines.events.simulate` uses this path otherwise.

This module holds the handlers of heralds, purification outcomes and cut-off timers and the event
loop; :mod:`.fastnet_units` and :mod:`.fastnet_swap` hold the rest.
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import announce_compile
from .fastnet_heap import pop, schedule, stale
from .fastnet_state import (CCUT, CHERALD, COUNT_NAMES, CPUR, CPURFAIL, CPURMSG, GCONT, GCOUNT0, GDEJMPS, GERR,
                            GEXEC, GHSIZE, GNESTED, GNOW, GRESERVE, GROUNDS, GSLOTS, GSTARTED, GSTOP, GUI, GUNTIL,
                            HA, HB, HKIND, K_HERALD, K_MESSAGE, K_PURIFY, NAREA, NLAST, NOCC, NPEAK, PHLI, PHLJ,
                            PHTI, PHTJ, PX, PY, PZ, QALIVE, QCUT, QI, QJ, QLOCK, QR, QREF, QRND, QSLOT, QUA, QUB,
                            RCHSH, RCX, RCY, RCZ, RDELIV, RFSQ, RFSUM, RHOPS, RQBER, RWSQ, RWSUM, UDELAY, UFX, UFY,
                            UFZ, UHL, UHOP, UHT, UNA, UNB, UR, U_SLOT0, _i8p, capacities, kernel_jit, pack, tables)
from .fastnet_swap import output, on_message
from .fastnet_units import (advance, arm_cutoff, free_a, free_b, grid_base, kill, new_pair, occupy, release,
                            restart_block, restart_span, start_slot, start_unit, uniform, unref, unstore)
from .kernel import PRIORITY_MESSAGE


@kernel_jit
def purify_xyz(dejmps, ax, ay, az, bx, by, bz):
    """:func:`.purification.purify_correlators` (same expressions): (x, y, z, success probability)."""
    a0, a1, a2, a3 = (1 + ax - ay + az) / 4, (1 - ax + ay + az) / 4, (1 + ax + ay - az) / 4, (1 - ax - ay - az) / 4
    b0, b1, b2, b3 = (1 + bx - by + bz) / 4, (1 - bx + by + bz) / 4, (1 + bx + by - bz) / 4, (1 - bx - by - bz) / 4
    if dejmps:
        a1, a3 = a3, a1
        b1, b3 = b3, b1
    else:
        a1 = a2 = a3 = (a1 + a2 + a3) / 3
        b1 = b2 = b3 = (b1 + b2 + b3) / 3
    l0 = a0 * b0 + a1 * b1
    l1 = a0 * b1 + a1 * b0
    l2 = a2 * b2 + a3 * b3
    l3 = a2 * b3 + a3 * b2
    n = l0 + l1 + l2 + l3
    if n <= 0:
        return 0.0, 0.0, 0.0, 0.0
    l0, l1, l2, l3 = l0 / n, l1 / n, l2 / n, l3 / n
    return l0 - l1 + l2 - l3, -l0 + l1 + l2 - l3, l0 + l1 - l2 - l3, n


@kernel_jit
def _try_purify(dp, u, rep):
    """``Purification._try_purify``."""
    st = tables(dp)
    pq, pf, ui = st.pq, st.pf, st.ui
    p = ui[u, U_SLOT0 + rep]
    sib = rep ^ (1 << pq[p, QRND])
    q = ui[u, U_SLOT0 + sib]
    if q < 0 or pq[q, QLOCK] or pq[q, QRND] != pq[p, QRND] or pq[q, QSLOT] != sib:
        return
    keep, meas = (p, q) if rep < sib else (q, p)
    now = st.gf[GNOW]
    advance(st, keep, now)
    advance(st, meas, now)
    pq[keep, QCUT] = -1
    pq[meas, QCUT] = -1
    x, y, z, prob = purify_xyz(st.gi[GDEJMPS], pf[keep, PX], pf[keep, PY], pf[keep, PZ],
                               pf[meas, PX], pf[meas, PY], pf[meas, PZ])
    kill(st, meas)
    ui[u, U_SLOT0 + pq[meas, QSLOT]] = -1
    occupy(st, ui[u, UNA], -1)
    occupy(st, ui[u, UNB], -1)
    pq[keep, QLOCK] = 1
    ok = uniform(st) < prob
    if ok:
        pf[keep, PX], pf[keep, PY], pf[keep, PZ] = x, y, z
    st.gi[CPURMSG] += 2
    schedule(st, now + st.uf[u, UDELAY], PRIORITY_MESSAGE, K_PURIFY, keep, 1 if ok else 0)
    pq[keep, QREF] += 1  # the outcome message names the kept pair


@kernel_jit
def _on_purify_result(dp, keep, ok):
    """``Purification._on_purify_result``."""
    st = tables(dp)
    pq, ui = st.pq, st.ui
    if not pq[keep, QALIVE]:
        return
    u = pq[keep, QUA]
    block = 1 << (pq[keep, QRND] + 1)
    if not ok:
        st.gi[CPURFAIL] += 1
        kill(st, keep)
        ui[u, U_SLOT0 + pq[keep, QSLOT]] = -1
        occupy(st, ui[u, UNA], -1)
        occupy(st, ui[u, UNB], -1)
        for s in range(pq[keep, QSLOT], pq[keep, QSLOT] + block):
            start_slot(st.dp, u, s, math.nan)
        return
    st.gi[CPUR] += 1
    pq[keep, QLOCK] = 0
    pq[keep, QRND] += 1
    if pq[keep, QRND] == st.gi[GROUNDS]:
        ui[u, U_SLOT0 + pq[keep, QSLOT]] = -1
        pq[keep, QSLOT] = -1
        output(st.dp, u, keep)
    else:
        arm_cutoff(st, keep, u)
        _try_purify(st.dp, u, pq[keep, QSLOT])


@kernel_jit
def _on_herald(dp, u, s):
    """``LinkGeneration._on_herald``."""
    st = tables(dp)
    ui, uf, pf, pq = st.ui, st.uf, st.pf, st.pq
    ui[u, U_SLOT0 + st.gi[GSLOTS] + s] = -1
    hop = ui[u, UHOP]
    p = new_pair(st.dp, ui[u, UR], hop, hop + 1)
    pq[p, QUA] = u
    pq[p, QUB] = u
    pf[p, PX], pf[p, PY], pf[p, PZ] = uf[u, UFX], uf[u, UFY], uf[u, UFZ]
    pf[p, PHTI] = pf[p, PHTJ] = uf[u, UHT]
    pf[p, PHLI] = pf[p, PHLJ] = uf[u, UHL]
    st.gi[CHERALD] += 1
    occupy(st, ui[u, UNA], 1)
    occupy(st, ui[u, UNB], 1)
    if st.gi[GROUNDS] == 0:
        output(st.dp, u, p)
    else:
        pq[p, QSLOT] = s
        ui[u, U_SLOT0 + s] = p
        arm_cutoff(st, p, u)
        _try_purify(st.dp, u, s)


@kernel_jit
def _on_cutoff(dp, q):
    """``Cutoff._on_cutoff``."""
    st = tables(dp)
    pq, ui = st.pq, st.ui
    if not pq[q, QALIVE] or pq[q, QLOCK]:
        return
    st.gi[CCUT] += 1
    kill(st, q)
    r = pq[q, QR]
    cont = st.gi[GCONT]
    if pq[q, QSLOT] >= 0:  # intermediate pair inside a purification unit
        u = pq[q, QUA]
        ui[u, U_SLOT0 + pq[q, QSLOT]] = -1
        occupy(st, ui[u, UNA], -1)
        occupy(st, ui[u, UNB], -1)
        base = grid_base(st, u)
        size = 1 << pq[q, QRND]
        lo = pq[q, QSLOT]
        if not cont:
            # the purification level restarts (the partner block too)
            size *= 2
            lo -= lo % size
            slots = st.gi[GSLOTS]
            for s in range(lo, lo + size):
                ui[u, U_SLOT0 + slots + s] = -1
                q2 = ui[u, U_SLOT0 + s]
                if q2 >= 0 and pq[q2, QALIVE] and not pq[q2, QLOCK]:
                    kill(st, q2)
                    pq[q2, QCUT] = -1
                    ui[u, U_SLOT0 + s] = -1
                    occupy(st, ui[u, UNA], -1)
                    occupy(st, ui[u, UNB], -1)
        for s in range(lo, lo + size):
            start_slot(st.dp, u, s, base)
        return
    unstore(st, r, q)
    free_a(st.dp, pq[q, QUA])
    free_b(st.dp, pq[q, QUB])
    base = grid_base(st, pq[q, QUA])
    i, j = pq[q, QI], pq[q, QJ]
    if st.gi[GNESTED] and not cont:
        # nested rounds: the level restarts (the partner block is discarded and regenerated too)
        s2 = j - i
        lo = i - i % (2 * s2)
        restart_block(st.dp, r, lo, min(lo + 2 * s2, st.ri[r, RHOPS]), base)
    else:
        restart_span(st.dp, r, i, j, base)


@kernel_jit
def run_kernel(directory):
    """Entry point (the directory of :func:`~.fastnet_state.pack`): 0 = run over (targets, horizon or
    a full table, see ``gi[GERR]``), 1 = refill the uniforms and call again."""
    return _run(_i8p(directory.ctypes.data))


@kernel_jit
def _run(dp):
    """``Simulation.start`` then ``Kernel.run(until_s)``, resumable between events (see run_kernel)."""
    st = tables(dp)
    gi, gf, ht, hi = st.gi, st.gf, st.ht, st.hi
    if not gi[GSTARTED]:
        gi[GSTARTED] = 1
        for u in range(st.ui.shape[0]):
            start_unit(st.dp, u, math.nan)
    until = gf[GUNTIL]
    slots = gi[GSLOTS]
    reserve = gi[GRESERVE]
    while gi[GHSIZE] > 0 and gi[GERR] == 0:
        if ht[0] > until:
            break
        if st.ubuf.shape[0] - gi[GUI] < reserve:
            return 1  # between two events: nothing is half done
        t = ht[0]
        kind, a, b = hi[0, HKIND], hi[0, HA], hi[0, HB]
        cancelled = stale(hi, st.ui, st.pq, slots, 0)
        pop(ht, hi, gi)
        if cancelled:
            continue
        gf[GNOW] = t
        if kind == K_HERALD:
            _on_herald(st.dp, a, b)
        elif kind == K_MESSAGE:
            on_message(st.dp, a, b)
            unref(st, a)
        elif kind == K_PURIFY:
            _on_purify_result(st.dp, a, b)
            unref(st, a)
        else:
            _on_cutoff(st.dp, a)
        gi[GEXEC] += 1
        release(st.dp)
        if gi[GSTOP]:
            break
    if gi[GHSIZE] == 0 or ht[0] > until:
        if until != math.inf:
            gf[GNOW] = max(gf[GNOW], until)
    # Simulation.close: integrate the occupancy up to the final time
    now = gf[GNOW]
    for n in range(st.ni.shape[0]):
        st.nf[n, NAREA] += st.ni[n, NOCC] * (now - st.nf[n, NLAST])
        st.nf[n, NLAST] = now
    return 0


def eligible(trace: bool = False, timeline: bool = False) -> bool:
    """Whether the compiled path covers a run: every model, but no trace or timeline recording."""
    return not (trace or timeline)


def simulate_network_fast(model, pairs: int | None, duration_s: float | None, seed=0, caps=None):
    """Compiled run of ``model``; returns its final tables (:class:`~.fastnet_state.NetArrays`).

    Randomness: the numpy generator the Python agents would use (``default_rng(SeedSequence(seed))``);
    its uniforms are drawn here in blocks into ``ubuf`` (what is left of a block moves to the front,
    new draws follow), so the kernels see the stream the Python agents' ``_uniform`` returns.
    ``caps`` = initial (pairs, heap, list, stack, reserve) sizes (tests of the rerun path). A full
    table voids the run, which is rerun from the start with that table 4× larger: the same seed gives
    the same stream and event order, so the rerun is the same run, only completed.
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    caps = list(capacities(model) if caps is None else caps)
    announce_compile(run_kernel, "compiled network event engine")
    while True:
        st, directory = pack(model, pairs, duration_s, tuple(caps))
        rng = np.random.default_rng(ss)
        buf = st.ubuf
        buf[:] = rng.random(buf.size)
        while run_kernel(directory) == 1:
            used = int(st.gi[GUI])
            buf[: buf.size - used] = buf[used:]
            buf[buf.size - used:] = rng.random(used)
            st.gi[GUI] = 0
        err = int(st.gi[GERR])
        if err == 0:
            return st
        caps[err - 1] *= 4


def counts_of(st) -> dict:
    """The run's counters under the Python agents' names (``EventRun.counts``)."""
    return {name: int(st.gi[GCOUNT0 + k]) for k, name in enumerate(COUNT_NAMES)}


def occupancy_of(st) -> tuple[list, list]:
    """(occupancy area, peak) per node."""
    return [float(v) for v in st.nf[:, NAREA]], [int(v) for v in st.ni[:, NPEAK]]


def route_sums_of(st, k: int) -> tuple:
    """Route ``k``'s consumer sums as ``engine._route_result`` takes them: pairs, (Σf, Σf²), (Σw, Σw²),
    (Σx, Σy, Σz), ΣS, ΣQBER."""
    f = [float(v) for v in st.rf[k]]
    return (int(st.ri[k, RDELIV]), (f[RFSUM], f[RFSQ]), (f[RWSUM], f[RWSQ]), (f[RCX], f[RCY], f[RCZ]),
            f[RCHSH], f[RQBER])


def executed_of(st) -> tuple[int, float]:
    """(kernel events executed, final simulated time)."""
    return int(st.gi[GEXEC]), float(st.gf[GNOW])
