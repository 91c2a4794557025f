"""Benchmarks of the repeater-chain engines (prints medians; see benchmarks/RESULTS.md).

Run:  python benchmarks/bench_chain.py

* Monte Carlo, one 10 km link, p = 7.5e-4 per attempt, 375 µs attempts (stand-in for the `ustc2026`
  link): heralded pairs per wall-second (target ≥ 1e6).
* Monte Carlo, 5-node chain (4 segments, swap-asap, cut-off, probabilistic swaps) on the same link:
  end-to-end pairs per wall-second (target ≥ 5e4).
* Exact engine, 8 segments nested with cut-off: wall time per solve with the result cache cleared
  (target ≤ 10 ms), for several link success probabilities (the cost grows with the mean waiting time
  in attempts, since the grid is ~25× that long).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qrepeater.engines import ChainSpec, SwapModel, abstract_link, run_exact, run_montecarlo
from qrepeater.engines import exact as _exact

ATTEMPT_S = 375e-6
P_USTC = 7.5e-4


CPU_TIMES: dict[str, float] = {}


def _median_time(fn, repeats: int, label: str = "") -> float:
    """Median wall time (s); the median CPU time of the process goes to CPU_TIMES[label]."""
    ts, cs = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    CPU_TIMES[label] = statistics.median(cs)
    return statistics.median(ts)


def bench_link(repeats: int = 7) -> float:
    link = abstract_link(P_USTC, ATTEMPT_S, 0.95, 0.1, classical_delay_s=10 / 2e5)
    spec = ChainSpec(link, 1, SwapModel(), None)
    n = 2_000_000
    run_montecarlo(spec, 1000, seed=0)  # warm
    seeds = iter(range(1, 100))
    t = _median_time(lambda: run_montecarlo(spec, n, seed=next(seeds)), repeats, "link")
    CPU_TIMES["link"] = n / CPU_TIMES["link"]
    return n / t


def bench_chain4(repeats: int = 7) -> float:
    link = abstract_link(P_USTC, ATTEMPT_S, 0.95, 1.0, classical_delay_s=10 / 2e5)
    spec = ChainSpec(link, 4, SwapModel(0.9, 0.99, 0.005), cutoff_s=2.0, schedule="swap-asap")
    n = 100_000
    run_montecarlo(spec, 100, seed=0)  # compile / load the numba kernel
    seeds = iter(range(1, 100))
    t = _median_time(lambda: run_montecarlo(spec, n, seed=next(seeds)), repeats, "chain4")
    CPU_TIMES["chain4"] = n / CPU_TIMES["chain4"]
    return n / t


def bench_exact8(p: float, repeats: int = 9) -> tuple[float, float]:
    attempt = 1e-4
    link = abstract_link(p, attempt, 0.97, coherence_time_s=0.1, classical_delay_s=1e-5)
    # cut-off of two mean link-generation times
    spec = ChainSpec(link, 8, SwapModel(0.9, 0.995, 0.005), cutoff_s=2 * attempt / p)

    def solve():
        _exact._CACHE.clear()
        return run_exact(spec)

    res = solve()  # warm
    return _median_time(solve, repeats, f"exact{p}"), res.mean_waiting_time_s / attempt


def main() -> None:
    from common import machine

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    r = bench_link()
    print(f"MC single link (p={P_USTC}, {ATTEMPT_S * 1e6:.0f} us attempts): {r:.3g} heralded pairs / wall-s "
          f"({CPU_TIMES['link']:.3g} / CPU-s)")
    r = bench_chain4()
    print(f"MC 4-segment swap-asap chain, cut-off 2 s: {r:.3g} end-to-end pairs / wall-s ({CPU_TIMES['chain4']:.3g} / CPU-s)")
    for p in (0.5, 0.1, 0.03, 0.01, 1e-3):
        t, mean_attempts = bench_exact8(p)
        print(f"exact 8 segments nested + cut-off, p={p:g}: {t * 1e3:.2f} ms wall, {CPU_TIMES[f'exact{p}'] * 1e3:.2f} ms CPU "
              f"(mean wait {mean_attempts:.0f} attempts)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
