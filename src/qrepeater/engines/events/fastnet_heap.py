"""Event heap of the compiled network agents: the :class:`~.kernel.Kernel` discipline on arrays.

Entries are ordered by (time, priority, sequence), the sequence being the number of events scheduled
before (cancelled ones included), exactly as the Python kernel numbers them — so the compiled and the
Python agents run their events in the same order. Cancellation is lazy and needs no set: a herald is
live while its unit slot still names its sequence number, a cut-off timer while its pair does
(:func:`stale`); frame messages and purification outcomes are never cancelled. Cancelled entries stay
on the heap until they reach the top, as in the Python kernel (whose top, cancelled or not, decides
the final time of a run that stops at its horizon); a full heap voids the run, which is rerun with a
4× larger one (:data:`~.fastnet_state.ERR_HEAP`; the heap holds the events pending within the
longest herald or cut-off delay, so it stops growing early in a run).
"""

from __future__ import annotations

from .fastnet_state import (ERR_HEAP, GERR, GHSIZE, GSEQ, HA, HB, HKEY, HKIND, KEY_SHIFT, K_CUTOFF,
                            K_HERALD, QCUT, SEQ_MASK, U_SLOT0, inline_jit, kernel_jit)


@inline_jit
def _before(t1, k1, t2, k2):
    """Entry (t1, key k1) runs before (t2, k2): earlier time, then smaller (priority, sequence) key."""
    return t1 < t2 or (t1 == t2 and k1 < k2)


@kernel_jit
def _sift_down(ht, hi, i, size, t, key, kind, a, b):
    """Put entry (t, key, kind, a, b) into the hole at ``i``, moving smaller children up."""
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _before(ht[c + 1], hi[c + 1, HKEY], ht[c], hi[c, HKEY]):
            c += 1
        if _before(t, key, ht[c], hi[c, HKEY]):
            break
        ht[i] = ht[c]
        for col in range(4):
            hi[i, col] = hi[c, col]
        i = c
    ht[i] = t
    hi[i, HKEY], hi[i, HKIND], hi[i, HA], hi[i, HB] = key, kind, a, b


@inline_jit
def stale(hi, ui, pq, slots, k):
    """Whether heap entry ``k`` was cancelled (see module docstring)."""
    kind = hi[k, HKIND]
    seq = hi[k, HKEY] & SEQ_MASK
    if kind == K_HERALD:
        return ui[hi[k, HA], U_SLOT0 + slots + hi[k, HB]] != seq
    if kind == K_CUTOFF:
        return pq[hi[k, HA], QCUT] != seq
    return False


@kernel_jit
def _push(ht, hi, gi, t, key, kind, a, b):
    """Sift-up with a hole: parents that run later move down, the entry is written once."""
    i = gi[GHSIZE]
    while i > 0:
        parent = (i - 1) >> 1
        if _before(ht[parent], hi[parent, HKEY], t, key):
            break
        ht[i] = ht[parent]
        for c in range(4):
            hi[i, c] = hi[parent, c]
        i = parent
    ht[i] = t
    hi[i, HKEY], hi[i, HKIND], hi[i, HA], hi[i, HB] = key, kind, a, b
    gi[GHSIZE] += 1


@inline_jit
def schedule(st, t, priority, kind, a, b):
    """Schedule event ``kind(a, b)`` at time ``t``; returns its sequence number (the Python kernel's id)."""
    gi = st.gi
    seq = gi[GSEQ]
    gi[GSEQ] = seq + 1
    if gi[GHSIZE] >= st.ht.shape[0]:
        gi[GERR] = ERR_HEAP
        return seq
    _push(st.ht, st.hi, gi, t, (priority << KEY_SHIFT) | seq, kind, a, b)
    return seq


@kernel_jit
def pop(ht, hi, gi):
    """Remove the top entry (the caller has read row 0): the last entry sifts down from the root."""
    size = gi[GHSIZE] - 1
    gi[GHSIZE] = size
    if size > 0:
        _sift_down(ht, hi, 0, size, ht[size], hi[size, HKEY], hi[size, HKIND], hi[size, HA], hi[size, HB])
