"""Rate adaptation: which mother code to use and how each frame is filled (punctured, shortened bits).

A frame of ``n`` code bits carries ``k`` key bits, ``p`` *punctured* bits (private random filler,
unknown to Bob) and ``s`` *shortened* bits (public zeros), ``n = k + p + s`` (Elkouss,
Martinez-Mateo, Lancho, Martin, "Rate compatible protocol for information reconciliation: an
application to QKD", ITW 2010, arXiv:1006.2660). Puncturing raises the rate of a mother code,
shortening lowers it, so a few tabulated codes (:mod:`qrepeater.qkd.ldpc_codes`) serve every QBER
at a target reconciliation efficiency ``f`` (each frame leaks about ``f·h(Q)`` bits per key bit).

* :func:`choose_code`: the design rate of the mother code for (QBER, f);
* :func:`plan_frame`: punctured and shortened bits of one frame, and its exact leakage;
* :func:`max_payload`: key bits per full frame;
* :func:`frame_code`: the code length that carries a given number of key bits in nearly full frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .ldpc_codes import DEFAULT_FRAME_BITS, DEGREE_DISTRIBUTIONS, LDPCCode, get_code

__all__ = [
    "FRAME_GRANULE",
    "MIN_AUTO_FRAME_BITS",
    "FramePlan",
    "binary_entropy",
    "choose_code",
    "frame_code",
    "max_payload",
    "plan_frame",
]

#: automatic frame lengths are multiples of this (bounds the number of distinct cached codes)
FRAME_GRANULE = 1024
#: shortest automatic frame length (bits)
MIN_AUTO_FRAME_BITS = 4096


def binary_entropy(p) -> np.ndarray | float:
    """Binary Shannon entropy h(p) = −p log2 p − (1−p) log2(1−p) in bits (h(0) = h(1) = 0)."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    h = np.where((p <= 0.0) | (p >= 1.0), 0.0, h)
    return float(h) if h.ndim == 0 else h


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
