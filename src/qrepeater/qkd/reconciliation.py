"""One-way, syndrome-based LDPC information reconciliation for the binary symmetric channel.

Protocol (per frame of the mother code, Alice → Bob only)
--------------------------------------------------------
Alice and Bob hold ``k`` sifted key bits each; Bob's differ from Alice's by a BSC of crossover ``Q``
(the QBER). A frame of ``n`` code bits is filled with

* ``k`` key bits,
* ``p`` *punctured* bits: Alice fills them with fresh private random bits, Bob knows nothing about
  them (decoder prior 1/2),
* ``s`` *shortened* bits: public fixed values (zero), known to both (decoder prior 0),

with ``n = k + p + s`` (rate adaptation, :mod:`qrepeater.qkd.rate_adaptation`; the mother codes are
built in :mod:`qrepeater.qkd.ldpc_codes`).
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

import importlib.util
import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from .ldpc_codes import LDPCCode
from .rate_adaptation import binary_entropy, choose_code, frame_code, plan_frame

__all__ = ["DECODERS", "DEFAULT_MAX_ITER", "ReconciliationResult", "reconcile"]

DEFAULT_MAX_ITER = 100
#: decoders understood by :func:`reconcile`
DECODERS = ("compiled", "ldpc")
#: frames decoded per call of the compiled decoder (bounds memory: frames × n LLRs)
_BATCH_FRAMES = 16


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


def _require_ldpc() -> None:
    """``ldpc`` is optional (the ``test`` extra installs it): without it, ``decoder="ldpc"`` is one line."""
    if importlib.util.find_spec("ldpc") is None:
        raise ParameterError("decoder", "ldpc", "'compiled' (the default); for the ldpc reference decoder: pip install ldpc")


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
    from ldpc import BpDecoder  # optional package, checked by _require_ldpc before any work

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
        Mother-code length ``n``; default: chosen by :func:`~qrepeater.qkd.rate_adaptation.frame_code`
        (at most :data:`~qrepeater.qkd.ldpc_codes.DEFAULT_FRAME_BITS`, sized so the frames are nearly full).
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
    if decoder == "ldpc":
        _require_ldpc()
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
