"""Compiled window sums of the classical-delay lattice (:mod:`.exact_lattice`), several delay rows.

Kept apart so that numba is imported only by chains whose lattice has more than one row of message
delays (a level with deterministic delays is one row and runs in numpy).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .jit import announce_compile


@numba.njit(cache=True)
def _window_lattice(ts, order, r, rates, cwin, want_surv, swap_p, factors):
    """Window sums and survival on the lattice, visiting its points in time order.

    ``ts`` are the sorted times and ``order`` the lattice (flat) index of each; ``r`` (4, N) is in
    lattice order. Computes, in lattice order,
    E_j(k) = Σ_{t_k' ≤ t_k, t_k − t_k' ≤ cwin} exp(−rates[j] (t_k − t_k')) r[j, k'] (ties: the points
    earlier in ``order``) and, with ``want_surv``, S(k) = max(0, 1 − Σ_{t_k' ≤ t_k + cwin} r[0, k']).

    Returns ``(e, surv)`` when ``swap_p`` < 0; otherwise the swap join itself, ``(succ (4, N),
    fail (2, N))``: succ = swap_p · (1, factors) · r · (2E − r), fail[0] = the failed swaps at the
    later point, fail[1] = 2 r₀ S, the cut-off discards of the earlier point.
    """
    n = ts.size
    rows = r.shape[0]
    swap = swap_p >= 0.0
    e = np.empty_like(r)
    surv = np.empty((2, n) if swap else (1, n if want_surv else 0))
    acc = np.zeros(rows)
    lo = 0
    hi = 0
    cum = 0.0
    prev = ts[0] if n else 0.0
    for i in range(n):
        k = order[i]
        dt = ts[i] - prev
        prev = ts[i]
        f = 1.0
        for j in range(rows):  # rows with equal rates (⟨XX⟩, ⟨YY⟩) share one exp
            if j == 0 or rates[j] != rates[j - 1]:
                f = math.exp(-rates[j] * dt) if dt > 0.0 and rates[j] > 0.0 else 1.0
            acc[j] = acc[j] * f + r[j, k]
        while ts[i] - ts[lo] > cwin:
            age = ts[i] - ts[lo]
            kl = order[lo]
            for j in range(rows):
                if j == 0 or rates[j] != rates[j - 1]:
                    f = math.exp(-rates[j] * age) if rates[j] > 0.0 else 1.0
                acc[j] -= r[j, kl] * f
            lo += 1
        s = 0.0
        if want_surv:
            limit = ts[i] + cwin
            while hi < n and ts[hi] <= limit:
                cum += r[0, order[hi]]
                hi += 1
            s = max(0.0, 1.0 - cum)
        if swap:
            pre = r[0, k] * (2.0 * acc[0] - r[0, k])
            e[0, k] = swap_p * pre
            for j in range(1, rows):
                e[j, k] = swap_p * factors[j - 1] * r[j, k] * (2.0 * acc[j] - r[j, k])
            surv[0, k] = pre - e[0, k]
            surv[1, k] = 2.0 * r[0, k] * s
        else:
            for j in range(rows):
                e[j, k] = acc[j]
            if want_surv:
                surv[0, k] = s
    return e, surv


def window_lattice(ts, order, r, rates, cwin, want_surv, swap_p, factors):
    """:func:`_window_lattice`, saying so on stderr the first time it is compiled."""
    announce_compile(_window_lattice, "classical-delay lattice kernel")
    return _window_lattice(ts, order, r, rates, cwin, want_surv, swap_p, factors)
