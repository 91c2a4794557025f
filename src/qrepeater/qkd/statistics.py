"""Parameter estimation from round records: CHSH value and QBER with confidence intervals.

CHSH
----
``E_xy = P(a = b | x, y) − P(a ≠ b | x, y)`` and ``S = E00 + E01 + E10 − E11`` (Clauser, Horne,
Shimony, Holt, PRL 23, 880 (1969)) over test rounds with ``y ∈ {0, 1}``. Each ``Ê_xy`` is the mean of
``N_xy`` independent ±1 values, so ``Var Ê_xy = (1 − E_xy²)/N_xy`` exactly (given the setting
counts), and the four estimates are independent, so

    σ_S² = Σ_xy (1 − E_xy²) / N_xy,

evaluated at the estimates (plug-in). The 95 % interval is ``S ± 1.96 σ_S`` (normal approximation;
``N_xy`` is 1e4–1e5 in practice).

QBER
----
Fraction of key rounds (``x = 0, y = 2``) with ``a ≠ b``; binomial standard error
``sqrt(Q(1−Q)/n)``, the Wilson score interval (Wilson, JASA 22, 209 (1927)) and the exact
Clopper–Pearson interval (Biometrika 26, 404 (1934)) from Beta quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import RecordsError

__all__ = ["ChshEstimate", "QberEstimate", "estimate_chsh", "estimate_qber", "wilson_interval", "clopper_pearson_interval"]

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class ChshEstimate:
    """CHSH estimate from test rounds.

    Attributes
    ----------
    value : float
        Ŝ = Ê00 + Ê01 + Ê10 − Ê11.
    stderr : float
        σ_S (see module docstring).
    ci95 : tuple of float
        Ŝ ∓ 1.96 σ_S.
    correlators : ndarray (2, 2)
        Ê_xy.
    counts : ndarray (2, 2)
        Number of test rounds per setting pair.
    """

    value: float
    stderr: float
    ci95: tuple[float, float]
    correlators: np.ndarray
    counts: np.ndarray

    @property
    def rounds(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class QberEstimate:
    """QBER estimate from key rounds: value, errors, rounds, standard error, Wilson and Clopper–Pearson 95 % intervals."""

    value: float
    errors: int
    rounds: int
    stderr: float
    wilson95: tuple[float, float]
    clopper_pearson95: tuple[float, float]


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n."""
    if n <= 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z / den * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval: Beta(α/2; k, n−k+1) and Beta(1−α/2; k+1, n−k) quantiles."""
    if n <= 0:
        return (0.0, 1.0)
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return (lo, hi)


def _columns(records):
    """(test, x, y, a, b) numpy arrays from a pyarrow table or a mapping of arrays."""
    get = (lambda c: records.column(c).to_numpy(zero_copy_only=False)) if hasattr(records, "column") else (lambda c: np.asarray(records[c]))
    return tuple(np.asarray(get(c)) for c in ("test", "x", "y", "a", "b"))


def estimate_chsh(records) -> ChshEstimate:
    """CHSH value and its standard error from the test rounds of ``records``.

    Raises
    ------
    RecordsError
        If any of the four setting pairs has no test round.
    """
    test, x, y, a, b = _columns(records)
    sel = test.astype(bool) & (y < 2)
    x, y, agree = x[sel].astype(np.int64), y[sel].astype(np.int64), (a[sel] == b[sel])
    idx = 2 * x + y
    counts = np.bincount(idx, minlength=4).astype(np.int64)
    if np.any(counts == 0):
        missing = [f"(x={i // 2}, y={i % 2})" for i in range(4) if counts[i] == 0]
        raise RecordsError(f"no test rounds for setting pair(s) {', '.join(missing)}: cannot estimate CHSH")
    same = np.bincount(idx, weights=agree.astype(float), minlength=4)
    E = (2.0 * same - counts) / counts
    S = E[0] + E[1] + E[2] - E[3]
    var = np.sum((1.0 - E**2) / counts)
    sd = float(np.sqrt(var))
    return ChshEstimate(
        value=float(S), stderr=sd, ci95=(float(S - Z95 * sd), float(S + Z95 * sd)),
        correlators=E.reshape(2, 2), counts=counts.reshape(2, 2),
    )


def estimate_qber(records) -> QberEstimate:
    """QBER over key rounds (``test = False``, ``x = 0``, ``y = 2``) with its intervals."""
    test, x, y, a, b = _columns(records)
    sel = ~test.astype(bool) & (x == 0) & (y == 2)
    n = int(sel.sum())
    if n == 0:
        raise RecordsError("no key rounds (test=false, x=0, y=2): cannot estimate the QBER")
    k = int(np.count_nonzero(a[sel] != b[sel]))
    q = k / n
    return QberEstimate(
        value=q, errors=k, rounds=n, stderr=float(np.sqrt(q * (1 - q) / n)),
        wilson95=wilson_interval(k, n), clopper_pearson95=clopper_pearson_interval(k, n),
    )
