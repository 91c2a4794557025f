"""One-way, syndrome-based LDPC information reconciliation for the binary symmetric channel.

Protocol (per frame of the mother code, Alice → Bob only)
--------------------------------------------------------
Alice and Bob hold ``k`` sifted key bits each; Bob's differ from Alice's by a BSC of crossover ``Q``
(the QBER). A frame of ``n`` code bits is filled with

* ``k`` key bits,
* ``p`` *punctured* bits: Alice fills them with fresh private random bits, Bob knows nothing about
  them (decoder prior 1/2),
* ``s`` *shortened* bits: public fixed values (zero), known to both (decoder prior 0),

with ``n = k + p + s`` (rate adaptation, Elkouss, Martinez-Mateo, Lancho, Martin, "Rate compatible
protocol for information reconciliation: an application to QKD", ITW 2010, arXiv:1006.2660).
Alice sends the syndrome ``H x_A`` (``m`` bits). Bob computes ``H x_B`` and decodes the error pattern
``e`` from ``H e = H x_A ⊕ H x_B`` with belief propagation (the ``ldpc`` package, ``BpDecoder`` with
``input_vector_type="syndrome"``); a frame whose decoder does not converge is discarded (Bob announces
one status bit per frame).

Leakage (exact accounting)
--------------------------
The syndrome reveals ``I(K; S) = H(S) − H(S | K) ≤ m − rank(H_P)`` bits about the key, where ``H_P``
are the columns of the punctured positions (given the key, ``S`` is uniform on the column space of
``H_P`` because the punctured bits are uniform). Shortened bits are public and reveal nothing more.
We count ``m − rank_GF(2)(H_P)`` syndrome bits plus one status bit per frame; the verification tag
(see :mod:`qrepeater.qkd.privacy`) is added by :mod:`qrepeater.qkd.distill`.

Codes
-----
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

Decoding (``decoder=``): by default the compiled sum-product decoder of
:mod:`qrepeater.qkd.bp_decoding` with the layered schedule, all frames of a batch decoded in parallel
threads; ``decoder="ldpc"`` uses ``ldpc.BpDecoder`` (ldpc 2.x, ``bp_method="product_sum"``, flooding
schedule), built once per code and reused (see :func:`_decoder`). With the flooding schedule both are
the same algorithm and the tests check that they need the same iterations and return the same
corrections. The columns of bits shortened in every frame are dropped from the decoding graph. Why the
compiled decoder is the default (measured at QBER 3.6 %, f = 1.12, benchmarks/RESULTS.md): ldpc 2.4.1
costs ~0.21 µs per edge update in product-sum (its serial schedule needs about half the iterations but
costs ~4× per iteration; its min-sum did not converge on these codes at scaling 0.75–0.9, up to
f = 1.25; ``omp_thread_count`` is not implemented and ``decode`` holds the GIL), which puts
distilling 4e5 rounds at ~17 s against ~1 s here.

The reconciliation efficiency is ``f = leak / (k · h(Q))`` (1 = Slepian–Wolf limit).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError

__all__ = [
    "DEGREE_DISTRIBUTIONS",
    "LDPCCode",
    "FramePlan",
    "ReconciliationResult",
    "binary_entropy",
    "build_code",
    "get_code",
    "choose_code",
    "plan_frame",
    "max_payload",
    "frame_code",
    "reconcile",
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
DEFAULT_MAX_ITER = 100
#: fraction of the frame available for puncturing + shortening (Elkouss 2010 use δ = 0.1)
DEFAULT_MODULATION = 0.1


def binary_entropy(p) -> np.ndarray | float:
    """Binary Shannon entropy h(p) = −p log2 p − (1−p) log2(1−p) in bits (h(0) = h(1) = 0)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    h = np.where((p <= 0.0) | (p >= 1.0), 0.0, h)
    return float(h) if h.ndim == 0 else h


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
    stale file is rebuilt. Writes are atomic (temporary file + ``os.replace``).
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, data=code.H.data, indices=code.H.indices, indptr=code.H.indptr,
                     shape=np.array(code.H.shape), order=code.order, ranks=code.punctured_rank)
        os.replace(tmp, path)
    except OSError:
        pass  # cache is an optimisation only
    return code


# --------------------------------------------------------------------------------------------
# Rate adaptation
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FramePlan:
    """How one frame is filled: ``key_bits`` key bits, ``punctured`` and ``shortened`` bits."""

    key_bits: int
    punctured: int
    shortened: int
    leak_bits: int  # m − rank(H_P): syndrome information about the key


def choose_code(qber: float, efficiency: float) -> float:
    """Design rate of the mother code to use at ``qber`` for a target efficiency ``f``.

    The target code rate is ``R = 1 − f·h(Q)``. Among the tabulated rates whose BP threshold exceeds
    ``Q`` we take the one nearest to ``R``: a mother rate above ``R`` is lowered to it by shortening,
    one below is raised by puncturing (Elkouss et al. 2010). Nearest, not "largest below": at QBER
    3.6 % and f = 1.12 (R = 0.749) the rate-0.70 code punctured by 7 % failed 45 of 300 65,536-bit
    frames, the rate-0.75 code shortened by 0.2 % 2 of 300 (benchmarks/RESULTS.md).
    """
    target = 1.0 - efficiency * binary_entropy(qber)
    ok = [r for r in sorted(DEGREE_DISTRIBUTIONS) if DEGREE_DISTRIBUTIONS[r]["threshold"] > qber]
    if not ok:
        raise ParameterError("QBER", qber, f"< {max(d['threshold'] for d in DEGREE_DISTRIBUTIONS.values())} (highest code threshold)")
    # nearest rate; ties go to the lower rate (shortening is the safer adaptation)
    return min(ok, key=lambda r: (abs(r - target), r))


def plan_frame(code: LDPCCode, key_bits: int, qber: float, efficiency: float) -> FramePlan:
    """Puncture/shorten ``code`` so that ``key_bits`` bits leak about ``f·h(Q)·key_bits`` bits.

    ``p`` is the smallest number of punctured bits with ``m − rank(H_P) + 1 ≤ f h(Q) k`` (the 1 is
    the frame's status bit; ``p`` is clipped to the untainted-puncturing budget), and the frame is
    filled up with shortened bits.
    """
    n, m = code.n, code.m
    if key_bits <= 0 or key_bits > n:
        raise ParameterError("key bits per frame", key_bits, f"1..{n}")
    # the frame also costs one public status bit (decoded or not): keep syndrome + status ≤ f h(Q) k
    target_leak = efficiency * binary_entropy(qber) * key_bits - 1
    pmax = len(code.punctured_rank) - 1
    # leak(p) = m − rank(p) is non-increasing in p: smallest p reaching the target
    leaks = m - code.punctured_rank[: pmax + 1]
    idx = np.nonzero(leaks <= target_leak)[0]
    p = int(idx[0]) if idx.size else pmax
    s = n - key_bits - p
    return FramePlan(key_bits=key_bits, punctured=p, shortened=s, leak_bits=int(m - code.punctured_rank[p]))


def max_payload(code: LDPCCode, qber: float, efficiency: float) -> int:
    """Key bits per full frame: the largest ``k`` whose plan needs no negative shortening and leaks at
    least ``f·h(Q)·k`` bits when nothing is punctured.

    The second condition makes a mother code whose rate is above the target carry fewer key bits
    (more shortened bits) until its leak matches the target ``f``: the spare redundancy is spent on
    decoding margin instead of being left unused. ``p(k)`` (punctured bits) decreases as ``k`` grows,
    so ``k + p(k) ≤ n`` is monotone: bisection.
    """
    lo, hi = 1, code.n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if plan_frame(code, mid, qber, efficiency).shortened >= 0:
            lo = mid
        else:
            hi = mid - 1
    h = binary_entropy(qber)
    if h > 0:
        # with p = 0 the frame leaks m + 1 bits (syndrome + status): k ≤ (m + 1)/(f h) keeps f ≈ target
        lo = min(lo, max(1, int((code.m + 1) / (efficiency * h))))
    return lo


# --------------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------------
@dataclass
class ReconciliationResult:
    """Outcome of reconciling two bit strings frame by frame.

    Attributes
    ----------
    alice, bob : ndarray of uint8
        Reconciled strings (frames whose decoding failed are removed from both).
    kept : ndarray of bool
        Per input bit: whether it survived (its frame decoded).
    leak_bits : int
        Syndrome leakage (``Σ m − rank(H_P)``) plus one status bit per frame, over *all* frames
        (discarded frames included, conservatively).
    frames, failed_frames : int
    input_bits : int
    qber : float
        QBER the codes were designed for.
    code_rate : float
        Design rate of the mother code used.
    bit_errors_corrected : int
        Bits Bob flipped in frames that decoded.
    """

    alice: np.ndarray
    bob: np.ndarray
    kept: np.ndarray
    leak_bits: int
    frames: int
    failed_frames: int
    input_bits: int
    qber: float
    code_rate: float
    frame_bits: int
    bit_errors_corrected: int

    @property
    def efficiency(self) -> float:
        """f = leak / (k_in · h(Q)) over all input bits (discarded frames counted in both)."""
        h = binary_entropy(self.qber)
        return float(self.leak_bits / (self.input_bits * h)) if h > 0 and self.input_bits else float("inf")

    @property
    def frame_error_rate(self) -> float:
        return self.failed_frames / self.frames if self.frames else 0.0


def _syndrome(H: sp.csr_matrix, x: np.ndarray) -> np.ndarray:
    return (H @ x.astype(np.int32)).astype(np.int64) & 1


_DECODERS = threading.local()


def _decoder(code: LDPCCode, max_iter: int, bp_method: str, schedule: str, drop: tuple[int, int] = (0, 0)):
    """``(decoder, columns)``: an ``ldpc.BpDecoder`` for ``code`` without the shortened columns
    ``code.order[drop[0]:drop[1]]``, and the columns of ``code.H`` it keeps (sorted).

    Shortened bits are known zeros on both sides: they change neither syndrome, so their columns are
    removed from the Tanner graph instead of being decoded with a near-certain prior (this saves their
    edges, ~15 % of the work at the reference point, and gives the same messages up to ~1e-12).
    Building the C++ graph of a 65,536-bit code costs ~0.25 CPU-s, so decoders are built once per
    (code, dropped range, settings) and reused; channel probabilities are reset per frame with
    ``update_channel_probs``. A decoder holds per-decode state: the cache is thread-local and keeps
    the last two decoders.
    """
    from ldpc import BpDecoder

    cache = getattr(_DECODERS, "cache", None)
    if cache is None:
        cache = _DECODERS.cache = {}
    key = (id(code.H), code.n, code.m, code.seed, code.rate, tuple(drop), max_iter, bp_method, schedule)
    hit = cache.get(key)
    if hit is None or hit[0] is not code.H:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))
        cols = np.setdiff1d(np.arange(code.n), code.order[drop[0] : drop[1]])
        Hd = code.H.tocsc()[:, cols]
        bp = BpDecoder(Hd, error_rate=0.05, max_iter=max_iter, bp_method=bp_method, schedule=schedule,
                       input_vector_type="syndrome")
        hit = cache[key] = (code.H, bp, cols)
    return hit[1], hit[2]


#: automatic frame lengths are multiples of this (bounds the number of distinct cached codes)
FRAME_GRANULE = 1024
#: shortest automatic frame length (bits)
MIN_AUTO_FRAME_BITS = 4096


def frame_code(rate: float, total_bits: int, qber: float, efficiency: float, frame_bits: int | None = None,
               code_seed: int = 1) -> tuple[LDPCCode, int]:
    """``(code, k_max)``: the mother code that carries ``total_bits`` key bits in nearly full frames.

    With ``frame_bits`` given, that length is used. Otherwise the frame count is fixed by
    :data:`DEFAULT_FRAME_BITS` (``F = ⌈total / k_max⌉``) and the code length is then shrunk, in steps of
    :data:`FRAME_GRANULE`, to the shortest whose full-frame payload still holds ``⌈total / F⌉`` bits.
    Why: a fixed-length frame that is only partly filled must be punctured *and* shortened heavily to
    keep the leak at ``f·h(Q)`` (Elkouss et al. recommend ≤ 10 % of the frame); at QBER 3.6 %,
    f = 1.12, four 65,536-bit frames of 50,000 key bits (6 % punctured, 18 % shortened) failed 12.5 %
    of the time, where 50,176-bit frames of the same degree distribution fill up with ≤ 1 % adaptation
    (benchmarks/RESULTS.md). Codes are built on demand (~1.5 s) and cached on disk.
    """
    if frame_bits is not None:
        code = get_code(rate, int(frame_bits), code_seed)
        return code, max_payload(code, qber, efficiency)
    code = get_code(rate, DEFAULT_FRAME_BITS, code_seed)
    k_max = max_payload(code, qber, efficiency)
    if total_bits <= 0 or total_bits % k_max == 0 and total_bits >= k_max:
        return code, k_max
    frames = int(np.ceil(total_bits / k_max))
    need = int(np.ceil(total_bits / frames))
    n = int(np.ceil(DEFAULT_FRAME_BITS * need / k_max / FRAME_GRANULE)) * FRAME_GRANULE
    n = max(MIN_AUTO_FRAME_BITS, n)
    while n < DEFAULT_FRAME_BITS:
        small = get_code(rate, n, code_seed)
        k_small = max_payload(small, qber, efficiency)
        if k_small >= need:
            return small, k_small
        n += FRAME_GRANULE
    return code, k_max


#: decoders understood by :func:`reconcile`
DECODERS = ("compiled", "ldpc")
#: frames decoded per call of the compiled decoder (bounds memory: frames × n LLRs)
_BATCH_FRAMES = 16


def _compiled_graph(code: LDPCCode, drop: tuple[int, int]):
    """``(TannerGraph, columns)`` of ``code`` without the shortened columns ``order[drop[0]:drop[1]]``."""
    from .bp_decoding import tanner_graph

    cache = getattr(_DECODERS, "graphs", None)
    if cache is None:
        cache = _DECODERS.graphs = {}
    key = (id(code.H), code.n, code.m, code.seed, code.rate, tuple(drop))
    hit = cache.get(key)
    if hit is None or hit[0] is not code.H:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))
        cols = np.setdiff1d(np.arange(code.n), code.order[drop[0] : drop[1]])
        hit = cache[key] = (code.H, tanner_graph(code.H.tocsc()[:, cols].tocsr()), cols)
    return hit[1], hit[2]


def reconcile(
    alice: np.ndarray,
    bob: np.ndarray,
    qber: float,
    *,
    efficiency: float = 1.15,
    frame_bits: int | None = None,
    code_seed: int = 1,
    seed=None,
    max_iter: int = DEFAULT_MAX_ITER,
    decoder: str = "compiled",
    schedule: str | None = None,
    bp_method: str = "product_sum",
    code_rate: float | None = None,
) -> ReconciliationResult:
    """Reconcile Bob's string to Alice's with one-way syndrome LDPC coding, frame by frame.

    Parameters
    ----------
    alice, bob : array of {0,1}
        Sifted keys of equal length.
    qber : float
        Error rate the codes are adapted to (the estimate from parameter estimation).
    efficiency : float
        Target ``f``: each frame leaks about ``f·h(Q)`` bits per key bit.
    frame_bits : int, optional
        Mother-code length ``n``; default: chosen by :func:`frame_code` (at most
        :data:`DEFAULT_FRAME_BITS`, sized so the frames are nearly full).
    seed : int, SeedSequence or None
        Randomness of Alice's punctured bits (``None``: operating-system entropy via ``secrets``).
    max_iter : int
        Belief-propagation iteration limit per frame.
    decoder : {"compiled", "ldpc"}
        ``"compiled"``: sum-product BP of :mod:`qrepeater.qkd.bp_decoding` (numba; frames decoded in
        parallel threads); ``"ldpc"``: the ``ldpc`` package's ``BpDecoder`` (the reference; ~20× slower
        per frame on one core, see benchmarks/RESULTS.md). With ``schedule="parallel"`` both run the
        same flooding sum-product algorithm (the tests check equal iteration counts and outputs).
    schedule : str, optional
        ``"layered"`` (default of ``"compiled"``) or ``"parallel"``; for ``"ldpc"``: ``"parallel"``
        (default), ``"serial"`` or ``"serial_relative"``.
    bp_method : str
        ``ldpc`` only: ``"product_sum"`` (default) or ``"minimum_sum"``; the compiled decoder is
        product-sum (sum-product) only.
    """
    if decoder not in DECODERS:
        raise ParameterError("decoder", decoder, f"one of {DECODERS}")
    if decoder == "compiled":
        from .bp_decoding import SCHEDULES

        schedule = schedule or "layered"
        if schedule not in SCHEDULES:
            raise ParameterError("schedule", schedule, f"one of {SCHEDULES} for the compiled decoder")
        if bp_method != "product_sum":
            raise ParameterError("bp_method", bp_method, "'product_sum' for the compiled decoder")
    else:
        schedule = schedule or "parallel"
    a = np.asarray(alice, dtype=np.uint8).ravel()
    b = np.asarray(bob, dtype=np.uint8).ravel()
    if a.shape != b.shape:
        raise ParameterError("bob key length", b.size, f"equal to alice key length {a.size}")
    if not 0.0 < qber < 0.5:
        raise ParameterError("QBER", qber, "(0, 0.5)")
    rate = code_rate if code_rate is not None else choose_code(qber, efficiency)
    total = a.size
    code, k_max = frame_code(rate, total, qber, efficiency, frame_bits, code_seed)
    n, H = code.n, code.H
    from .privacy import random_bits

    # punctured filler must be uniform and private: OS randomness unless a test seed is given
    rng = np.random.default_rng(seed) if seed is not None else None

    frames = max(1, int(np.ceil(total / k_max))) if total else 0
    bounds = np.linspace(0, total, frames + 1).round().astype(int) if frames else np.array([0])
    spans = [(int(bounds[f]), int(bounds[f + 1])) for f in range(frames) if bounds[f + 1] > bounds[f]]
    plans = [plan_frame(code, hi - lo, qber, efficiency) for lo, hi in spans]
    # positions shortened in every frame (order[p : p + s] of each plan) are dropped from the decoder
    drop = (max(pl.punctured for pl in plans), min(pl.punctured + pl.shortened for pl in plans)) if plans else (0, 0)
    if drop[1] <= drop[0]:
        drop = (0, 0)
    if decoder == "compiled":
        graph, cols = _compiled_graph(code, drop)
    else:
        ldpc_decoder, cols = _decoder(code, int(max_iter), bp_method, schedule, drop)
    kept = np.zeros(total, dtype=bool)
    bob_out = b.copy()
    leak = 0
    failed = 0
    corrected = 0
    for start in range(0, len(spans), _BATCH_FRAMES):
        batch = range(start, min(start + _BATCH_FRAMES, len(spans)))
        synds, channels = [], []
        for f in batch:
            lo, hi = spans[f]
            p, s = plans[f].punctured, plans[f].shortened
            punct, keypos = code.order[:p], code.order[p + s :]
            xa = np.zeros(n, np.uint8)
            xb = np.zeros(n, np.uint8)
            xa[keypos] = a[lo:hi]
            xb[keypos] = b[lo:hi]
            # Alice's private filler (Bob guesses 0)
            xa[punct] = rng.integers(0, 2, p, dtype=np.uint8) if rng is not None else random_bits(p)
            synds.append((_syndrome(H, xa) ^ _syndrome(H, xb)).astype(np.uint8))
            channel = np.full(n, float(qber))
            channel[punct] = 0.5
            channel[code.order[p : p + s]] = 1e-12  # (outside the dropped range: a frame may shorten one more bit)
            channels.append(channel[cols])
        if decoder == "compiled":
            from .bp_decoding import decode_frames

            found, iters = decode_frames(graph, np.array(synds), np.array(channels), max_iter=int(max_iter),
                                         schedule=schedule)
            converged = iters >= 0
        else:
            found, converged = [], []
            for synd, channel in zip(synds, channels):
                ldpc_decoder.update_channel_probs(channel)
                found.append(np.asarray(ldpc_decoder.decode(synd), dtype=np.uint8))
                converged.append(bool(ldpc_decoder.converge))
        for i, f in enumerate(batch):
            lo, hi = spans[f]
            p, s = plans[f].punctured, plans[f].shortened
            e = np.zeros(n, np.uint8)
            e[cols] = found[i]
            leak += plans[f].leak_bits + 1  # syndrome information + one status bit (success/failure)
            # shortened bits are known zeros on both sides: a valid correction never flips them
            ok = (bool(converged[i]) and not e[code.order[p : p + s]].any()
                  and np.array_equal(_syndrome(H, e), synds[i]))
            if ok:
                fix = e[code.order[p + s :]]
                bob_out[lo:hi] ^= fix
                corrected += int(fix.sum())
                kept[lo:hi] = True
            else:
                failed += 1
    return ReconciliationResult(
        alice=a[kept], bob=bob_out[kept], kept=kept, leak_bits=int(leak), frames=frames, failed_frames=failed,
        input_bits=int(total), qber=float(qber), code_rate=float(rate), frame_bits=n, bit_errors_corrected=corrected,
    )
