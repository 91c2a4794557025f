"""Event heap of the compiled network agents: the :class:`~.kernel.Kernel` discipline on arrays.

Entries are ordered by (time, priority, sequence), the sequence being the number of events scheduled
before (cancelled ones included), exactly as the Python kernel numbers them — so the compiled and the
Python agents run their events in the same order. Cancellation is lazy and needs no set: a herald is
live while its unit slot still names its sequence number, a cut-off timer while its pair does
(:func:`stale`); frame messages and purification outcomes are never cancelled. A full heap drops its
stale entries (order is unaffected: it is a total order on unique keys); if still crowded the run stops
with :data:`~.fastnet_state.ERR_HEAP` and is rerun with a larger heap.
"""

from __future__ import annotations

from .fastnet_state import (ERR_HEAP, GERR, GHSIZE, GSEQ, GSLOTS, HA, HB, HKEY, HKIND, K_CUTOFF, K_HERALD,
                            KEY_SHIFT, QCUT, SEQ_MASK, U_SLOT0, inline_jit, kernel_jit)


@inline_jit
def _less(ht, hi, i, j):
    if ht[i] != ht[j]:
        return ht[i] < ht[j]
    return hi[i, HKEY] < hi[j, HKEY]


@inline_jit
def _exchange(ht, hi, i, j):
    ht[i], ht[j] = ht[j], ht[i]
    for c in range(4):
        hi[i, c], hi[j, c] = hi[j, c], hi[i, c]


@kernel_jit
def _sift_down(ht, hi, i, size):
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        m = left
        if left + 1 < size and _less(ht, hi, left + 1, left):
            m = left + 1
        if _less(ht, hi, i, m):
            return
        _exchange(ht, hi, i, m)
        i = m


@kernel_jit
def stale(st, k):
    """Whether heap entry ``k`` was cancelled (see module docstring)."""
    kind = st.hi[k, HKIND]
    seq = st.hi[k, HKEY] & SEQ_MASK
    if kind == K_HERALD:
        return st.ui[st.hi[k, HA], U_SLOT0 + st.gi[GSLOTS] + st.hi[k, HB]] != seq
    if kind == K_CUTOFF:
        return st.pq[st.hi[k, HA], QCUT] != seq
    return False


@kernel_jit
def _compact(st, size):
    ht, hi = st.ht, st.hi
    m = 0
    for k in range(size):
        if stale(st, k):
            continue
        ht[m] = ht[k]
        for c in range(4):
            hi[m, c] = hi[k, c]
        m += 1
    for k in range((m - 2) // 2, -1, -1):
        _sift_down(ht, hi, k, m)
    return m


@kernel_jit
def schedule(st, t, priority, kind, a, b):
    """Schedule event ``kind(a, b)`` at time ``t``; returns its sequence number (the Python kernel's id)."""
    gi = st.gi
    seq = gi[GSEQ]
    gi[GSEQ] = seq + 1
    ht, hi = st.ht, st.hi
    cap = ht.shape[0]
    size = gi[GHSIZE]
    if size >= cap:
        size = _compact(st, size)
        gi[GHSIZE] = size
        if 4 * size > 3 * cap:
            gi[GERR] = ERR_HEAP
            return seq
    i = size
    ht[i] = t
    hi[i, HKEY] = (priority << KEY_SHIFT) | seq
    hi[i, HKIND] = kind
    hi[i, HA] = a
    hi[i, HB] = b
    while i > 0:
        parent = (i - 1) >> 1
        if _less(ht, hi, parent, i):
            break
        _exchange(ht, hi, i, parent)
        i = parent
    gi[GHSIZE] = size + 1
    return seq


@kernel_jit
def pop(st):
    """Remove the top entry (the caller has read row 0)."""
    gi = st.gi
    size = gi[GHSIZE] - 1
    ht, hi = st.ht, st.hi
    ht[0] = ht[size]
    for c in range(4):
        hi[0, c] = hi[size, c]
    gi[GHSIZE] = size
    _sift_down(ht, hi, 0, size)
