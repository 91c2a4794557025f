"""Entanglement purification (recurrence protocols) of Bell-diagonal pairs, vectorised.

Both protocols take two pairs shared by Alice and Bob, apply bilateral CNOTs (pair ``a`` control,
pair ``b`` target), measure the target pair in Z on both sides and keep the control pair if the two
outcomes agree. With Bell states written as Pauli errors on Φ+ (Φ+ ↔ 𝟙, Φ− ↔ Z, Ψ+ ↔ X, Ψ− ↔ Y),
bilateral CNOT copies the X part of the control error to the target and the Z part of the target
error to the control; the check keeps exactly the pairs whose X parts agree. For Bell-diagonal
inputs λ, μ the *unnormalised* output is therefore

    Φ+ : λΦ+ μΦ+ + λΦ− μΦ−        Φ− : λΦ+ μΦ− + λΦ− μΦ+
    Ψ+ : λΨ+ μΨ+ + λΨ− μΨ−        Ψ− : λΨ+ μΨ− + λΨ− μΨ+

with success probability N = (λΦ+ + λΦ−)(μΦ+ + μΦ−) + (λΨ+ + λΨ−)(μΨ+ + μΨ−).

* **BBPSSW** (Bennett, Brassard, Popescu, Schumacher, Smolin, Wootters, PRL 76, 722 (1996)) twirls
  both inputs to Werner form first; for two Werner pairs of fidelity F this gives
  F' = (F² + ((1−F)/3)²) / (F² + 2F(1−F)/3 + 5((1−F)/3)²), and p = the denominator.
* **DEJMPS** (Deutsch, Ekert, Jozsa, Macchiavello, Popescu, Sanpera, PRL 77, 2818 (1996)) instead
  applies Rx(π/2) on Alice's and Rx(−π/2) on Bob's qubits, which swaps Φ− ↔ Ψ− and keeps Φ+, Ψ+.
  In the paper's labelling A, B, C, D are the weights of Φ+, Ψ−, Ψ+, Φ− (ours: indices 0, 3, 2, 1),
  and the map is A' = (A²+B²)/N, B' = 2CD/N, C' = (C²+D²)/N, D' = 2AB/N, N = (A+B)² + (C+D)².

The bilinear "unnormalised" maps (trace = success probability) are exported for the exact engine:
purification is a quantum instrument, so applying it to ensemble-averaged states is exact.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, check_range
from .bell_diagonal import BellDiagonal
from .twirl import twirl_coefficients

PURIFICATION_METHODS = ("bbpssw", "dejmps")


def recurrence_unnormalized(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Unnormalised output weights of bilateral CNOT + Z-parity check (no local rotations).

    ``lam`` is the control pair, ``mu`` the target pair, both ``(..., 4)`` in (Φ+, Φ−, Ψ+, Ψ−) order;
    the sum of the result is the success probability. The map is symmetric and bilinear.
    """
    lam = np.asarray(lam, float)
    mu = np.asarray(mu, float)
    a0, a1, a2, a3 = (lam[..., k] for k in range(4))
    b0, b1, b2, b3 = (mu[..., k] for k in range(4))
    return np.stack(
        [a0 * b0 + a1 * b1, a0 * b1 + a1 * b0, a2 * b2 + a3 * b3, a2 * b3 + a3 * b2], axis=-1
    )


def _dejmps_rotate(lam: np.ndarray) -> np.ndarray:
    """Bilateral Rx(π/2) ⊗ Rx(−π/2): exchanges the Φ− and Ψ− weights."""
    lam = np.asarray(lam, float)
    return lam[..., [0, 3, 2, 1]]


def dejmps_unnormalized(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Unnormalised DEJMPS output weights (sum = success probability), bilinear in the inputs."""
    return recurrence_unnormalized(_dejmps_rotate(lam), _dejmps_rotate(mu))


def bbpssw_unnormalized(lam: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Unnormalised BBPSSW output weights: twirl both inputs, then the recurrence (bilinear)."""
    return recurrence_unnormalized(twirl_coefficients(lam), twirl_coefficients(mu))


def _unnormalized(method: str):
    if method == "bbpssw":
        return bbpssw_unnormalized
    if method == "dejmps":
        return dejmps_unnormalized
    raise ParameterError("method", method, "one of " + ", ".join(PURIFICATION_METHODS))


def _normalise(out: np.ndarray):
    p = out.sum(axis=-1)
    safe = np.where(p > 0, p, 1.0)
    coeff = np.where((p > 0)[..., None], out / safe[..., None], np.array([0.25, 0.25, 0.25, 0.25]))
    state = BellDiagonal(coefficients=coeff)
    return state, (float(p) if np.ndim(p) == 0 else p)


def purify_bbpssw(a: BellDiagonal, b: BellDiagonal):
    """One BBPSSW round on pairs ``a`` (kept) and ``b`` (measured).

    Returns
    -------
    (BellDiagonal, float or ndarray)
        The kept pair conditioned on success (Bell-diagonal; its fidelity is the closed form F' for
        Werner inputs; it is not re-twirled — the next round twirls its inputs) and the success
        probability.
    """
    return _normalise(bbpssw_unnormalized(a.coefficients, b.coefficients))


def purify_dejmps(a: BellDiagonal, b: BellDiagonal):
    """One DEJMPS round on pairs ``a`` (kept) and ``b`` (measured); returns (state, success probability)."""
    return _normalise(dejmps_unnormalized(a.coefficients, b.coefficients))


def bbpssw_werner_fidelity(fidelity):
    """Closed form of BBPSSW on two Werner pairs of fidelity F: returns (F', success probability)."""
    f = np.asarray(fidelity, float)
    q = (1.0 - f) / 3.0
    n = f * f + 2.0 * f * q + 5.0 * q * q
    return (f * f + q * q) / n, n


def pump(stored: BellDiagonal, fresh: BellDiagonal, rounds: int, method: str = "dejmps"):
    """Entanglement pumping: purify ``stored`` with a new copy of ``fresh`` ``rounds`` times.

    Dür, Briegel, Cirac, Zoller, PRA 59, 169 (1999): the stored pair is always the kept (control) pair
    and each round consumes one fresh elementary pair.

    Returns
    -------
    (BellDiagonal, float or ndarray)
        The pumped pair given that every round succeeded, and the probability that all rounds succeed
        (product of the per-round success probabilities).
    """
    rounds = int(check_range("rounds", int(rounds), 0, None))
    op = _unnormalized(method)
    lam = stored.coefficients
    total = np.ones(lam.shape[:-1])
    for _ in range(rounds):
        out = op(lam, fresh.coefficients)
        p = out.sum(axis=-1)
        total = total * p
        lam = out / np.where(p > 0, p, 1.0)[..., None]
    state = BellDiagonal(coefficients=lam)
    return state, (float(total) if np.ndim(total) == 0 else total)
