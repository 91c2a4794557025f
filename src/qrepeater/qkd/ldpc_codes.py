"""LDPC mother codes for reconciliation: degree distributions, PEG construction, lifting, puncturing order.

Parity-check matrices: a base Tanner graph is grown by progressive edge growth (PEG: Hu, Eleftheriou,
Arnold, IEEE Trans. Inf. Theory 51, 386 (2005)) with the irregular variable-degree distributions
optimised for the BSC by discretised density evolution in Elkouss, Leverrier, Alléaume, Boutros,
"Efficient reconciliation protocol for discrete-variable quantum key distribution", ISIT 2009,
arXiv:0901.2140, Table I (rates 0.55–0.90, with their BSC thresholds); PEG's lowest-degree rule for
check nodes concentrates the check degrees as in their ρ(x). The base graph is then lifted by random
circulant permutations (a quasi-cyclic code of ``n = 65536`` bits by default): plain PEG costs time
quadratic in the number of edges (~50 s for 16 kbit in numba), the lifting keeps the degree
distribution at linear cost, and 64-kbit frames are needed for a frame error rate near 1e-2 at
f ≈ 1.15 (16-kbit PEG frames failed ~14 % of the time there; see benchmarks/RESULTS.md).
Punctured positions are chosen *untainted* (Elkouss, Martinez-Mateo, Martin, IEEE Wireless Commun.
Lett. 1, 585 (2012)): no check touches two punctured nodes, which makes ``rank(H_P) = p`` exactly.
Codes are cached in memory and on disk (``$QREPEATER_CACHE`` or ``~/.cache/qrepeater``).

How a code is chosen and a frame filled (puncturing, shortening, frame length) is in
:mod:`qrepeater.qkd.rate_adaptation`; the reconciliation protocol is in
:mod:`qrepeater.qkd.reconciliation`.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from ..files import write_bytes_atomic

__all__ = [
    "DEFAULT_FRAME_BITS",
    "DEFAULT_MODULATION",
    "DEGREE_DISTRIBUTIONS",
    "LDPCCode",
    "build_code",
    "get_code",
    "variable_degrees",
]


# Edge-perspective variable-degree distributions λ (degree: fraction of edges), check distributions ρ
# and BSC BP thresholds, from Elkouss et al. 2009 (arXiv:0901.2140) Table I. λ(x) = Σ λ_i x^{i-1}.
DEGREE_DISTRIBUTIONS: dict[float, dict] = {
    0.90: {
        "lambda": {2: 0.07689, 3: 0.28096, 5: 0.08933, 9: 0.19620, 12: 0.30631, 21: 0.05031},
        "rho": {50: 0.95025, 51: 0.04975},
        "threshold": 0.0109,
    },
    0.85: {
        "lambda": {2: 0.04528, 3: 0.20537, 4: 0.05878, 5: 0.094274, 6: 0.08454, 7: 0.01176, 9: 0.05137, 21: 0.50015},
        "rho": {41: 0.54204, 42: 0.45795},
        "threshold": 0.0199,
    },
    0.80: {
        "lambda": {2: 0.09420, 3: 0.18088, 6: 0.11972, 7: 0.08550, 8: 0.09816, 17: 0.07194, 26: 0.34960},
        "rho": {29: 0.58807, 30: 0.41193},
        "threshold": 0.0298,
    },
    0.75: {
        "lambda": {2: 0.10805, 3: 0.09511, 4: 0.01449, 5: 0.13764, 6: 0.10667, 7: 0.05288, 28: 0.01107, 31: 0.47408},
        "rho": {25: 0.74161, 26: 0.25839},
        "threshold": 0.0392,
    },
    0.70: {
        "lambda": {
            2: 0.05343, 3: 0.29406, 6: 0.00896, 9: 0.15571, 12: 0.12189,
            25: 0.19872, 46: 0.09572, 62: 0.02741, 65: 0.04056, 73: 0.00354,
        },
        "rho": {20: 0.76922, 21: 0.23077},
        "threshold": 0.0504,
    },
    0.65: {
        "lambda": {
            2: 0.10451, 3: 0.15652, 4: 0.08057, 5: 0.00056, 9: 0.12151,
            13: 0.10485, 15: 0.10719, 21: 0.00771, 51: 0.31656,
        },
        "rho": {2: 0.000578, 15: 0.06089, 16: 0.47001, 21: 0.46852},
        "threshold": 0.0633,
    },
    0.60: {
        "lambda": {2: 0.11040, 3: 0.20804, 8: 0.14163, 9: 0.14858, 26: 0.14438, 27: 0.08909, 46: 0.00748, 71: 0.15038},
        "rho": {2: 0.00036, 10: 0.13063, 13: 0.31068, 18: 0.49341, 19: 0.064915},
        "threshold": 0.0766,
    },
    0.55: {
        "lambda": {2: 0.16880, 3: 0.20994, 6: 0.18095, 15: 0.03846, 16: 0.02635, 18: 0.23454, 19: 0.05815, 31: 0.08280},
        "rho": {10: 0.27631, 11: 0.72369},
        "threshold": 0.0904,
    },
}

DEFAULT_FRAME_BITS = 65536
#: fraction of the frame available for puncturing + shortening (Elkouss 2010 use δ = 0.1)
DEFAULT_MODULATION = 0.1


# --------------------------------------------------------------------------------------------
# PEG construction
# --------------------------------------------------------------------------------------------
def variable_degrees(n: int, lam: dict[int, float]) -> np.ndarray:
    """Node degrees (ascending, as PEG wants them) of ``n`` variable nodes from edge-perspective λ.

    Node fractions: ``L_i = (λ_i / i) / Σ_j λ_j / j``; counts are rounded by largest remainder.
    """
    degs = np.array(sorted(lam), dtype=np.int64)
    w = np.array([lam[d] / d for d in degs])
    frac = w / w.sum() * n
    counts = np.floor(frac).astype(np.int64)
    short = n - counts.sum()
    order = np.argsort(-(frac - counts), kind="stable")
    counts[order[:short]] += 1
    return np.repeat(degs, counts)


@numba.njit(cache=True)
def _peg(n, m, vdeg, seed):  # pragma: no cover - compiled
    np.random.seed(seed)
    dmax = 0
    for j in range(n):
        if vdeg[j] > dmax:
            dmax = vdeg[j]
    total_edges = 0
    for j in range(n):
        total_edges += vdeg[j]
    ccap = 2 * (total_edges // m) + 8
    var_adj = np.full((n, dmax), -1, np.int64)
    vcount = np.zeros(n, np.int64)
    chk_adj = np.full((m, ccap), -1, np.int64)
    ccount = np.zeros(m, np.int64)
    clevel = np.full(m, -1, np.int64)  # BFS depth at which a check was reached (stamp-based)
    cstamp = np.full(m, -1, np.int64)
    vstamp = np.full(n, -1, np.int64)
    queue = np.empty(m, np.int64)
    stamp = 0
    for j in range(n):
        for k in range(vdeg[j]):
            stamp += 1
            if k == 0:
                # first edge: a check of lowest current degree (random tie-break)
                best = -1
                bestdeg = 1 << 60
                ties = 0
                for c in range(m):
                    d = ccount[c]
                    if d >= ccap:
                        continue
                    if d < bestdeg:
                        bestdeg = d
                        best = c
                        ties = 1
                    elif d == bestdeg:
                        ties += 1
                        if np.random.randint(ties) == 0:
                            best = c
            else:
                # BFS from variable j over the current graph
                head = 0
                tail = 0
                vstamp[j] = stamp
                for t in range(vcount[j]):
                    c = var_adj[j, t]
                    if cstamp[c] != stamp:
                        cstamp[c] = stamp
                        clevel[c] = 0
                        queue[tail] = c
                        tail += 1
                level = 0
                reached = tail
                last_complete = False
                while True:
                    level_start = head
                    level_end = tail
                    if level_end == level_start:
                        break
                    for q in range(level_start, level_end):
                        c = queue[q]
                        for t in range(ccount[c]):
                            u = chk_adj[c, t]
                            if vstamp[u] == stamp:
                                continue
                            vstamp[u] = stamp
                            for r in range(vcount[u]):
                                c2 = var_adj[u, r]
                                if cstamp[c2] != stamp:
                                    cstamp[c2] = stamp
                                    clevel[c2] = level + 1
                                    queue[tail] = c2
                                    tail += 1
                    head = level_end
                    level += 1
                    if tail == m:
                        last_complete = True
                        break
                    if tail == reached:
                        break
                    reached = tail
                # candidates: not reached (stagnation) or reached only at the final level (complete)
                best = -1
                bestdeg = 1 << 60
                ties = 0
                for c in range(m):
                    if ccount[c] >= ccap:
                        continue
                    if last_complete:
                        ok = clevel[c] == level and cstamp[c] == stamp
                    else:
                        ok = cstamp[c] != stamp
                    if not ok:
                        continue
                    d = ccount[c]
                    if d < bestdeg:
                        bestdeg = d
                        best = c
                        ties = 1
                    elif d == bestdeg:
                        ties += 1
                        if np.random.randint(ties) == 0:
                            best = c
                if best < 0:  # every check already adjacent (tiny codes): lowest degree non-neighbour
                    for c in range(m):
                        adj = False
                        for t in range(vcount[j]):
                            if var_adj[j, t] == c:
                                adj = True
                        if not adj and ccount[c] < ccap and (best < 0 or ccount[c] < ccount[best]):
                            best = c
            if best < 0:
                continue
            var_adj[j, vcount[j]] = best
            vcount[j] += 1
            chk_adj[best, ccount[best]] = j
            ccount[best] += 1
    return var_adj, vcount


@dataclass(frozen=True)
class LDPCCode:
    """A PEG-built mother code with a fixed puncturing order and rank profile.

    Attributes
    ----------
    H : scipy.sparse.csr_matrix (m × n, uint8)
    rate : float
        Design rate of the degree distribution (the actual rate is ``1 − m/n``).
    threshold : float
        BP threshold of the ensemble on the BSC (Elkouss et al. 2009, Table I).
    order : ndarray
        Random permutation of the columns: the first ``p`` are punctured, the next ``s`` shortened.
    punctured_rank : ndarray
        ``punctured_rank[p]`` = GF(2) rank of the first ``p`` columns of ``order`` (exact leakage);
        its length − 1 is the puncturing budget (the number of untainted nodes found).
    """

    H: sp.csr_matrix
    rate: float
    threshold: float
    seed: int
    order: np.ndarray
    punctured_rank: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.H.shape[1])

    @property
    def m(self) -> int:
        return int(self.H.shape[0])


def _untainted_puncturing(H: sp.csr_matrix, rng: np.random.Generator, budget: int) -> np.ndarray:
    """Greedy *untainted* puncturing order (Elkouss, Martinez-Mateo, Martin, IEEE Wireless Commun.
    Lett. 1, 585 (2012)): a node is selected only if none of its checks touches an already selected
    node; lowest-degree nodes first, random tie-break. Every punctured node then owns checks whose
    other neighbours are all unpunctured (one-step recoverable), and the punctured columns have
    disjoint supports, so ``rank(H_P) = p`` exactly."""
    Hc = H.tocsc()
    n = H.shape[1]
    deg = np.diff(Hc.indptr)
    cand = np.lexsort((rng.random(n), deg))
    claimed = np.zeros(H.shape[0], dtype=bool)
    chosen = []
    for v in cand:
        rows = Hc.indices[Hc.indptr[v] : Hc.indptr[v + 1]]
        if not claimed[rows].any():
            claimed[rows] = True
            chosen.append(v)
            if len(chosen) >= budget:
                break
    return np.asarray(chosen, dtype=np.int64)


def build_code(
    rate: float,
    n: int = DEFAULT_FRAME_BITS,
    seed: int = 1,
    *,
    lift: int = 16,
    modulation: float = DEFAULT_MODULATION,
) -> LDPCCode:
    """Build the mother code of ``n`` bits for the tabulated design ``rate`` (deterministic in ``seed``).

    A base graph of ``n / lift`` variable nodes is grown by PEG with the Table-I degree distribution,
    then lifted: every base edge becomes a ``lift × lift`` circulant permutation with a random shift
    (a quasi-cyclic code; degree distribution preserved, short cycles of the lifted graph only where a
    base cycle's shifts cancel, probability ``1/lift`` per cycle). The lifting keeps construction time
    linear in ``n`` where plain PEG is quadratic in the number of edges.
    """
    if rate not in DEGREE_DISTRIBUTIONS:
        raise ParameterError("code rate", rate, f"one of {sorted(DEGREE_DISTRIBUTIONS)}")
    if n % lift:
        raise ParameterError("frame bits", n, f"a multiple of the lifting size {lift}")
    dist = DEGREE_DISTRIBUTIONS[rate]
    n0 = n // lift
    m0 = int(round(n0 * (1.0 - rate)))
    vdeg = np.minimum(variable_degrees(n0, dist["lambda"]), m0)
    var_adj, vcount = _peg(n0, m0, vdeg.astype(np.int64), int(seed))
    base_rows = var_adj[var_adj >= 0]
    base_cols = np.repeat(np.arange(n0), vcount)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), n, lift, int(round(rate * 1000))]))
    shifts = rng.integers(0, lift, base_rows.size)
    i = np.arange(lift)
    rows = (base_rows[:, None] * lift + (i[None, :] + shifts[:, None]) % lift).ravel()
    cols = (base_cols[:, None] * lift + i[None, :]).ravel()
    m = m0 * lift
    H = sp.csr_matrix((np.ones(rows.size, np.uint8), (rows, cols)), shape=(m, n))
    budget = int(np.ceil(modulation * n))
    punct = _untainted_puncturing(H, rng, budget)
    rest = np.setdiff1d(np.arange(n), punct)
    order = np.concatenate([punct, rng.permutation(rest)])
    # rank of the first p punctured columns = p (disjoint supports), for p up to the untainted count
    ranks = np.arange(punct.size + 1, dtype=np.int64)
    return LDPCCode(H=H, rate=rate, threshold=dist["threshold"], seed=int(seed), order=order, punctured_rank=ranks)


def _cache_dir() -> Path:
    base = os.environ.get("QREPEATER_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "qrepeater")
    return Path(base) / "ldpc"


@lru_cache(maxsize=16)
def get_code(rate: float, n: int = DEFAULT_FRAME_BITS, seed: int = 1) -> LDPCCode:
    """:func:`build_code` with an in-memory and on-disk cache (``$QREPEATER_CACHE`` or ``~/.cache``).

    The cache file is keyed by (rate, n, seed) and a hash of the degree distribution; a corrupt or
    stale file is rebuilt. Writes are atomic (:func:`qrepeater.files.write_bytes_atomic`).
    """
    dist = DEGREE_DISTRIBUTIONS.get(rate)
    if dist is None:
        raise ParameterError("code rate", rate, f"one of {sorted(DEGREE_DISTRIBUTIONS)}")
    tag = hashlib.sha256(repr((sorted(dist["lambda"].items()), rate, n, seed, DEFAULT_MODULATION, "lifted-untainted-3")).encode()).hexdigest()[:16]
    path = _cache_dir() / f"peg_r{int(round(rate * 100))}_n{n}_s{seed}_{tag}.npz"
    try:
        z = np.load(path)
        H = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return LDPCCode(H=H, rate=rate, threshold=dist["threshold"], seed=seed, order=z["order"], punctured_rank=z["ranks"])
    except Exception:
        pass
    code = build_code(rate, n, seed)
    buf = io.BytesIO()
    np.savez(buf, data=code.H.data, indices=code.H.indices, indptr=code.H.indptr,
             shape=np.array(code.H.shape), order=code.order, ranks=code.punctured_rank)
    try:
        write_bytes_atomic(path, buf.getvalue())
    except OSError:
        pass  # cache is an optimisation only
    return code
