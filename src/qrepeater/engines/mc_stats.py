"""Running statistics of a streamed Monte Carlo run: memory independent of the number of pairs.

* Means and variances are merged batch by batch (Chan, Golub, LeVeque, "Updating formulae and a
  pairwise algorithm for computing sample variances", 1979): count, mean and sum of squared deviations
  of two batches combine exactly.
* Distributions are fixed-bin histograms, the same whatever the batches: waiting times in attempts on
  log-spaced bins (:data:`BINS_PER_DECADE` per decade from 1 attempt to 10^14), fidelities on
  :data:`FIDELITY_BINS` equal bins of [0, 1]. A quantile is read from the cumulative histogram,
  interpolated inside its bin (log-linearly for waiting times), so it is within one bin width of the
  sample quantile: 0.46 % relative for waiting times, 1e-4 for fidelities.
"""

from __future__ import annotations

import math

import numpy as np

BINS_PER_DECADE = 500
DECADES = 14
FIDELITY_BINS = 10_000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


class _Moments:
    """Count, mean and sum of squared deviations, merged batch by batch."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> None:
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        m2b = float(((x - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    def ci(self) -> tuple[float, float, float]:
        """(mean, lower, upper) of the 95 % confidence interval (normal approximation)."""
        h = 1.96 * math.sqrt(self.m2 / (self.n - 1)) / math.sqrt(self.n) if self.n > 1 else math.inf
        return self.mean, self.mean - h, self.mean + h


class StreamStats:
    """Running statistics of delivered pairs: waiting time (s), fidelity and mean correlators."""

    def __init__(self, attempt_duration_s: float):
        self.attempt_duration_s = float(attempt_duration_s)
        self.wait, self.fidelity = _Moments(), _Moments()
        self.corr_sum = np.zeros(3)
        self.wait_counts = np.zeros(BINS_PER_DECADE * DECADES + 2, np.int64)  # [under, bins…, over]
        self.fid_counts = np.zeros(FIDELITY_BINS, np.int64)

    @property
    def pairs(self) -> int:
        return self.wait.n

    def add(self, wait_attempts: np.ndarray, fidelity: np.ndarray, corr: np.ndarray) -> None:
        """One batch: waiting times in attempts, fidelities and correlators (K, 3) of K pairs."""
        wait_attempts = np.asarray(wait_attempts, float)
        self.wait.add(wait_attempts * self.attempt_duration_s)
        self.fidelity.add(fidelity)
        self.corr_sum += corr.sum(axis=0)
        with np.errstate(divide="ignore"):
            idx = np.floor(np.log10(wait_attempts) * BINS_PER_DECADE)
        idx = np.clip(np.nan_to_num(idx, nan=-1.0, neginf=-1.0), -1, BINS_PER_DECADE * DECADES) + 1
        self.wait_counts += np.bincount(idx.astype(np.int64), minlength=self.wait_counts.size)
        f = np.clip((np.asarray(fidelity) * FIDELITY_BINS).astype(np.int64), 0, FIDELITY_BINS - 1)
        self.fid_counts += np.bincount(f, minlength=FIDELITY_BINS)

    def mean_correlators(self) -> np.ndarray:
        return self.corr_sum / max(self.pairs, 1)

    def waiting_time_histogram_s(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin edges in s, counts) of the waiting times (1 attempt … 10^14 attempts; values outside
        are counted in the first and last bin)."""
        edges = 10.0 ** (np.arange(BINS_PER_DECADE * DECADES + 1) / BINS_PER_DECADE) * self.attempt_duration_s
        counts = self.wait_counts[1:-1].copy()
        counts[0] += self.wait_counts[0]
        counts[-1] += self.wait_counts[-1]
        return edges, counts

    def fidelity_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        return np.linspace(0.0, 1.0, FIDELITY_BINS + 1), self.fid_counts.copy()

    def waiting_time_quantiles_s(self, qs=QUANTILES) -> dict[float, float]:
        edges, counts = self.waiting_time_histogram_s()
        return {float(q): float(np.exp(_quantile(np.log(edges), counts, q))) for q in qs}

    def fidelity_quantiles(self, qs=QUANTILES) -> dict[float, float]:
        edges, counts = self.fidelity_histogram()
        return {float(q): float(_quantile(edges, counts, q)) for q in qs}


def _quantile(edges: np.ndarray, counts: np.ndarray, q: float) -> float:
    """q-quantile of a histogram, linear inside the bin."""
    cum = np.cumsum(counts)
    total = cum[-1]
    if total == 0:
        return math.nan
    target = q * total
    i = int(np.searchsorted(cum, target, side="left"))
    i = min(i, counts.size - 1)
    before = cum[i - 1] if i > 0 else 0
    frac = (target - before) / counts[i] if counts[i] else 0.0
    return float(edges[i] + frac * (edges[i + 1] - edges[i]))
