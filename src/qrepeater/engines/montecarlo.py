"""Monte Carlo engine: sampled delivery times and states of repeater chains.

Implements the protocol of :mod:`qrepeater.engines.model` without any per-attempt loop: elementary
link generation is a geometric number of attempts (success probability 1 − (1 − p)^M for M
multiplexed memories: the first success among M parallel attempt streams), drawn with numpy.

* ``schedule="nested"`` (and link-level purification) is sampled level by level, vectorised, with
  exactly the semantics of the exact engine: two independent pairs of the level below are produced in
  parallel; if their delivery times differ by more than the cut-off the earlier is discarded at
  min + cut-off, otherwise the earlier decays for the difference and the two are joined (swap: success
  probability ``SwapModel.success_probability``; purification: success probability of the instrument
  for the sampled states); any failure restarts the level. Each level is a stream
  (:mod:`.mc_streams`) whose attempts made ahead of need are kept for the next request, not dropped.
* ``schedule="swap-asap"`` is an event-driven simulation (compiled with numba) of N segments: a
  segment that finishes generation creates a pair; a node holding two pairs swaps at once; a failed
  swap frees all memories of both pairs and those segments regenerate; a cut-off discards a pair
  whose *oldest* constituent link is older than ``cutoff_s`` (per-segment cut-offs: the stricter of its
  two end segments'; all its segments regenerate). Each
  elementary link is delivered by the (possibly purifying) link-level protocol above. The kernel is in
  :mod:`.swap_asap`.
* Classical delay δ > 0 (the message rules of :mod:`qrepeater.engines.model`): the nested levels keep
  times as whole attempts plus message delays; the swap-asap kernel follows when each end of a pair
  knows every swap outcome and delivers when both do.

Each delivered end-to-end pair starts from empty memories, so pairs are i.i.d.; the summary gives 95 %
confidence intervals (normal approximation, mean ± 1.96 s/√K). Randomness: ``seed`` (int or
:class:`numpy.random.SeedSequence`): generator k of the run (level k of the protocol, the swap-asap
uniforms) is seeded with the child ``spawn_key + (k,)`` of the seed; same seed, same result.

Bounded work and memory
-----------------------
:func:`run_montecarlo` takes pairs from the stream in batches of :func:`batch_pairs` pairs (about
:data:`BATCH_LINK_SAMPLES` elementary-link samples) and keeps only running statistics
(:class:`StreamStats`: means and variances, merged batch by batch, and fixed-bin histograms of the
waiting time and fidelity, from which quantiles are read), so its memory does not grow with ``pairs``.
The streams draw each generator in order and keep unused attempts, so the pairs of a seed — and the
result, up to the order of floating-point sums — do not depend on the batch size: a run of one batch
is exactly :func:`sample_chain`. A run stops with a :class:`~qrepeater.errors.ParameterError` once it
has drawn ``max_link_samples`` elementary-link samples (a low success probability or a short cut-off
can make one pair cost very many), and refuses at once when even the ideal cost
``pairs × segments × 2^rounds`` (:func:`link_samples_lower_bound`) is above that limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check_range
from ..states import BELL_LABELS, BellDiagonal
from .mc_streams import SwapAsapStream, nested_stream, pair_times
from .mc_stats import StreamStats
from .metrics import ChainResult
from .model import ChainSpec

#: elementary-link samples per batch (sets the batch size of a streamed run)
BATCH_LINK_SAMPLES = 1 << 20
#: default cap on the elementary-link samples one run may draw (~1-2 min of sampling)
DEFAULT_MAX_LINK_SAMPLES = 10**9


@dataclass(frozen=True)
class MonteCarloRun:
    """Samples and summary of :func:`run_montecarlo`.

    Attributes
    ----------
    waiting_times_s : ndarray, shape (K,), or None
        Time (s) from the start of the protocol (empty memories) to the delivery of each pair.
    delivery_times_s : ndarray, shape (K,), or None
        Cumulative delivery times (s) of the K pairs delivered one after the other.
    states : BellDiagonal, shape (K,), or None
        Delivered states (after all decay, at delivery).
    result : ChainResult
        Summary with 95 % confidence intervals.
    stats : StreamStats or None
        Running statistics of the run: waiting-time and fidelity histograms and quantiles
        (:meth:`StreamStats.waiting_time_quantiles_s`, :meth:`StreamStats.fidelity_quantiles`).
    link_samples : int
        Elementary-link samples drawn (the work of the run; ``link_samples / K`` per delivered pair).

    The per-pair samples are kept when the run is one batch (``pairs <= batch_pairs(spec)``); a
    longer run is streamed and keeps only ``result`` and ``stats`` (the three sample fields are None).
    """

    waiting_times_s: np.ndarray | None
    delivery_times_s: np.ndarray | None
    states: BellDiagonal | None
    result: ChainResult
    stats: StreamStats | None = None
    link_samples: int = 0

    def to_dataframe(self):
        """The delivered pairs as a :class:`pandas.DataFrame`, one row per pair (pandas imported here).

        Columns: ``waiting_time_s`` (s), ``delivery_time_s`` (s), ``fidelity`` (Φ+ fidelity) and the
        Bell weights ``state_phi_plus`` … ``state_psi_minus`` of each delivered state; units in
        ``df.attrs["units"]``. Only a one-batch run keeps its pairs (see the class docstring); for a
        streamed run this raises :class:`~qrepeater.errors.ParameterError` — its summary is
        ``run.result.to_dataframe()``.
        """
        import pandas as pd

        if self.waiting_times_s is None or self.states is None:
            raise ParameterError("pairs", self.result.pairs, "a one-batch run (pairs <= batch_pairs(spec)) to tabulate "
                                 "pairs; a streamed run keeps its summary only: run.result.to_dataframe()")
        weights = np.asarray(self.states.coefficients, float).reshape(-1, 4)
        df = pd.DataFrame({
            "waiting_time_s": np.asarray(self.waiting_times_s, float),
            "delivery_time_s": np.asarray(self.delivery_times_s, float),
            "fidelity": weights[:, 0],
            **{f"state_{k}": weights[:, i] for i, k in enumerate(BELL_LABELS)},
        })
        df.attrs["units"] = {"waiting_time_s": "s", "delivery_time_s": "s"}
        return df


class _Budget:
    """Counts elementary-link samples; raises ParameterError past ``limit``."""

    def __init__(self, limit: int | None, pairs: int):
        self.limit = limit
        self.pairs = pairs
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += int(n)
        if self.limit is not None and self.used > self.limit:
            raise ParameterError(
                "pairs", self.pairs,
                f"a run within max_link_samples = {self.limit:.3g} elementary-link samples (this chain needs more: "
                "its success probability per pair is low, e.g. a short cut-off); ask for fewer pairs or raise the "
                "limit (CLI: --max-samples)",
            )


def link_samples_lower_bound(spec: ChainSpec, pairs: int) -> int:
    """Fewest elementary-link samples ``pairs`` end-to-end pairs can take: ``pairs × segments × 2^rounds``
    (every swap and purification succeeds and nothing is cut off)."""
    return int(pairs) * int(spec.segments) * 2 ** int(spec.rounds)


def batch_pairs(spec: ChainSpec) -> int:
    """Pairs per batch of :func:`run_montecarlo`: about :data:`BATCH_LINK_SAMPLES` link samples, at least 1."""
    return max(1, BATCH_LINK_SAMPLES // (int(spec.segments) * 2 ** int(spec.rounds)))


def _stream(spec: ChainSpec, seed, budget: _Budget | None):
    """The stream of delivered pairs (:mod:`.mc_streams`): swap-asap kernel beyond 2 segments (or 2 with
    purification and cut-off), else the nested levels (the same protocol for ≤ 2 segments)."""
    if spec.schedule == "swap-asap" and (spec.segments > 2 or (spec.segments == 2 and spec.rounds and spec.cutoff_s is not None)):
        return SwapAsapStream(spec, seed, budget)
    return nested_stream(spec, seed, budget)


def _take(spec: ChainSpec, stream, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(waiting times in attempts, correlators (n, 3)) of the next ``n`` pairs of ``stream``."""
    if isinstance(stream, SwapAsapStream):
        return stream.take(n)
    tn, tm, corr = stream.take(n)
    return pair_times(spec, tn, tm), corr


def _sample_swap_asap(spec: ChainSpec, pairs: int, seed, budget: _Budget | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``pairs`` trials of the swap-asap kernel (any number of segments)."""
    return SwapAsapStream(spec, seed, budget).take(pairs)


def _check_work(spec: ChainSpec, pairs: int, max_link_samples: int | None) -> _Budget:
    if max_link_samples is not None:
        need = link_samples_lower_bound(spec, pairs)
        if need > max_link_samples:
            raise ParameterError(
                "pairs", pairs,
                f"at most {max_link_samples // (need // pairs)} pairs of this {spec.segments}-segment chain within "
                f"max_link_samples = {max_link_samples:.3g} elementary-link samples (it needs at least {need:.3g}); "
                "raise the limit to run it (CLI: --max-samples)",
            )
    return _Budget(max_link_samples, pairs)


def sample_chain(spec: ChainSpec, pairs: int, seed=None, *, max_link_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Waiting times (attempts; float for swap-asap or with classical delay) and correlators (K, 3) of
    ``pairs`` delivered pairs, all kept (memory grows with ``pairs``; :func:`run_montecarlo` streams)."""
    pairs = int(check_range("pairs", int(pairs), 1, None))
    budget = _check_work(spec, pairs, max_link_samples)
    return _take(spec, _stream(spec, seed, budget), pairs)


def _bell_weights(corr: np.ndarray) -> np.ndarray:
    x, y, z = corr[:, 0], corr[:, 1], corr[:, 2]
    lam = np.empty((corr.shape[0], 4))
    lam[:, 0] = 1.0 + x - y + z
    lam[:, 1] = 1.0 - x + y + z
    lam[:, 2] = 1.0 + x + y - z
    lam[:, 3] = 1.0 - x - y - z
    lam *= 0.25
    return lam


def _result(spec: ChainSpec, stats: StreamStats) -> ChainResult:
    mw, wlo, whi = stats.wait.ci()
    mf, flo, fhi = stats.fidelity.ci()
    return ChainResult(
        engine="montecarlo",
        rate_hz=1.0 / mw,
        mean_fidelity=mf,
        fidelity_ci95=(flo, fhi),
        mean_waiting_time_s=mw,
        waiting_time_ci95=(wlo, whi),
        mean_state=BellDiagonal.from_correlators(*stats.mean_correlators()),
        attempt_duration_s=spec.link.attempt_duration_s,
        multiplex=int(spec.multiplex),
        channel_uses_per_attempt=int(spec.multiplex) * 2**spec.rounds,
        pairs=int(stats.pairs),
    )


def run_montecarlo(spec: ChainSpec, pairs: int = 10_000, seed=None, *,
                   max_link_samples: int | None = DEFAULT_MAX_LINK_SAMPLES) -> MonteCarloRun:
    """Sample ``pairs`` end-to-end pairs of ``spec``; see the module docstring for the protocol and
    for the batches that keep memory bounded (``max_link_samples=None``: no work limit).

    Parameters
    ----------
    spec : ChainSpec
    pairs : int
        End-to-end pairs to deliver (≥ 1).
    seed : int or numpy.random.SeedSequence, optional
        Same seed, same result; None: fresh OS entropy.
    max_link_samples : int or None
        Most elementary-link samples the run may draw.

    Returns
    -------
    MonteCarloRun
        ``run.result`` is the :class:`~qrepeater.engines.metrics.ChainResult` (the fields and units of
        :func:`qrepeater.engines.exact.run_exact`, with ``engine = "montecarlo"``, ``pairs`` = the pairs
        sampled, 95 % intervals mean ± 1.96 s/√K, ``truncation_error`` None); ``run.waiting_times_s``
        (s), ``run.delivery_times_s`` (s) and ``run.states`` are the K delivered pairs of a one-batch
        run (``run.to_dataframe()``: one row per pair), ``run.stats`` the running histograms and
        ``run.link_samples`` the elementary-link samples drawn.
    """
    pairs = int(check_range("pairs", int(pairs), 1, None))
    budget = _check_work(spec, pairs, max_link_samples)
    tau = spec.link.attempt_duration_s
    per_batch = batch_pairs(spec)
    if seed is None:  # one entropy for the whole run
        seed = np.random.SeedSequence()
    stream = _stream(spec, seed, budget)
    stats = StreamStats(tau)
    done = 0
    while done < pairs:
        n = min(per_batch, pairs - done)
        t, corr = _take(spec, stream, n)
        np.clip(corr, -1.0, 1.0, out=corr)
        weights = _bell_weights(corr)
        stats.add(t, weights[:, 0], corr)
        done += n
        if pairs <= per_batch:  # one batch: keep the pairs
            wait = t * tau
            states = BellDiagonal(coefficients=weights)
            return MonteCarloRun(wait, np.cumsum(wait), states, _result(spec, stats), stats, budget.used)
    return MonteCarloRun(None, None, None, _result(spec, stats), stats, budget.used)
