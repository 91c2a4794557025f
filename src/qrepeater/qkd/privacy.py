"""Toeplitz hashing over GF(2): privacy amplification and key verification.

An ``m × n`` Toeplitz matrix is fixed by ``n + m − 1`` seed bits: ``T[i, j] = s[i − j + n − 1]``.
For uniformly random seeds the family ``{x ↦ T x mod 2}`` is universal with collision probability
exactly ``2^{−m}`` for any two distinct inputs (Mansour, Nisan, Tiwari, STOC 1990; Krawczyk, CRYPTO
1994), so it serves both

* privacy amplification (leftover hash lemma: Impagliazzo, Levin, Luby 1989; Renner, PhD thesis 2005),
  output length from the finite-size analysis, and
* verification of the reconciled keys: a ``t``-bit tag gives ``ε_cor = 2^{−t}``.

``T x`` is a slice of the linear convolution ``s * x``: ``(T x)_i = Σ_j s[i − j + n − 1] x_j =
(s * x)[i + n − 1]``. We compute the *integer* convolution with a real FFT (scipy.fft), round, and
reduce mod 2; the sums are at most ``n`` so float64 represents them exactly and the rounding residual
is checked (< 0.25) before it is trusted, with an exact blocked fallback otherwise.
"""

from __future__ import annotations

import secrets

import numpy as np
import scipy.fft as sfft

__all__ = ["random_bits", "toeplitz_hash", "toeplitz_hash_direct", "toeplitz_matrix", "verification_tag"]

#: max |residual| accepted after rounding the FFT convolution
_MAX_RESIDUAL = 0.25


def random_bits(count: int, seed=None) -> np.ndarray:
    """``count`` uniformly random bits (uint8); from the OS (``secrets``) when ``seed`` is None.

    A seed (int or SeedSequence) is for tests and reproducible examples only.
    """
    count = int(count)
    if count < 0:
        raise ValueError("count must be >= 0")
    if seed is None:
        raw = np.frombuffer(secrets.token_bytes((count + 7) // 8), dtype=np.uint8)
        return np.unpackbits(raw)[:count].copy()
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, count, dtype=np.uint8)


def toeplitz_matrix(seed_bits: np.ndarray, out_len: int, in_len: int) -> np.ndarray:
    """Dense ``out_len × in_len`` Toeplitz matrix ``T[i, j] = s[i − j + in_len − 1]`` (small sizes)."""
    s = np.asarray(seed_bits, dtype=np.uint8)
    if s.size != out_len + in_len - 1:
        raise ValueError(f"need {out_len + in_len - 1} seed bits, got {s.size}")
    i = np.arange(out_len)[:, None]
    j = np.arange(in_len)[None, :]
    return s[i - j + in_len - 1]


def toeplitz_hash_direct(bits: np.ndarray, seed_bits: np.ndarray, out_len: int) -> np.ndarray:
    """Reference implementation: explicit GF(2) matrix–vector product (O(m n) memory)."""
    x = np.asarray(bits, dtype=np.int64)
    T = toeplitz_matrix(seed_bits, out_len, x.size).astype(np.int64)
    return ((T @ x) & 1).astype(np.uint8)


def _conv_slice_fft(x: np.ndarray, s: np.ndarray, start: int, count: int) -> np.ndarray:
    n_full = x.size + s.size - 1
    # only indices [start, start + count) are needed: circular length start + count avoids aliasing
    L = sfft.next_fast_len(max(start + count, 1), real=True)
    L = max(L, 1)
    if L >= n_full:
        L = sfft.next_fast_len(n_full, real=True)
    fx = sfft.rfft(x.astype(np.float64), L)
    fs = sfft.rfft(s.astype(np.float64), L)
    c = sfft.irfft(fx * fs, L)[start : start + count]
    r = np.rint(c)
    if c.size and float(np.max(np.abs(c - r))) >= _MAX_RESIDUAL:
        raise ArithmeticError("FFT convolution not exact")
    return r.astype(np.int64)


def toeplitz_hash(bits: np.ndarray, seed_bits: np.ndarray, out_len: int) -> np.ndarray:
    """``T x mod 2`` for the ``out_len × len(bits)`` Toeplitz matrix of ``seed_bits`` (FFT, exact).

    Parameters
    ----------
    bits : array of {0,1}, length n
    seed_bits : array of {0,1}, length n + out_len − 1
    out_len : int
    """
    x = np.asarray(bits, dtype=np.uint8).ravel()
    s = np.asarray(seed_bits, dtype=np.uint8).ravel()
    n = x.size
    out_len = int(out_len)
    if out_len < 0:
        raise ValueError("out_len must be >= 0")
    if out_len == 0:
        return np.zeros(0, np.uint8)
    if s.size != n + out_len - 1:
        raise ValueError(f"need {n + out_len - 1} seed bits, got {s.size}")
    if n == 0:
        return np.zeros(out_len, np.uint8)
    # Index i + n − 1 of s * x. Circular convolution of length L ≥ n + out_len − 1 leaves these intact:
    # aliased terms come from indices ≥ L + n − 1 > len(s) + n − 2, which are zero.
    L = sfft.next_fast_len(n + out_len - 1, real=True)
    try:
        fx = sfft.rfft(x.astype(np.float64), L)
        fs = sfft.rfft(s.astype(np.float64), L)
        c = sfft.irfft(fx * fs, L)[n - 1 : n - 1 + out_len]
        r = np.rint(c)
        if float(np.max(np.abs(c - r))) >= _MAX_RESIDUAL:
            raise ArithmeticError
        return (r.astype(np.int64) & 1).astype(np.uint8)
    except (ArithmeticError, MemoryError):
        return _toeplitz_blocked(x, s, out_len)


def _toeplitz_blocked(x: np.ndarray, s: np.ndarray, out_len: int, block: int = 1 << 16) -> np.ndarray:
    """Exact fallback: the input in blocks, each block's (small) convolution by FFT, XOR of parities."""
    n = x.size
    acc = np.zeros(out_len, np.int64)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        # contribution of x[lo:hi]: Σ_j s[i − j + n − 1] x_j, j in [lo, hi)
        seg = s[n - hi : n - lo + out_len - 1]
        acc ^= _conv_slice_fft(x[lo:hi], seg, hi - lo - 1, out_len) & 1
    return acc.astype(np.uint8)


def verification_tag(bits: np.ndarray, seed_bits: np.ndarray, tag_bits: int = 64) -> np.ndarray:
    """``tag_bits``-bit Toeplitz hash used to verify reconciled keys (ε_cor = 2^{−tag_bits})."""
    return toeplitz_hash(bits, seed_bits, tag_bits)
