"""Benchmarks of the repeater-chain engines (prints medians; see benchmarks/RESULTS.md).

Run:  python benchmarks/bench_chain.py

* Monte Carlo, one 10 km link, p = 7.5e-4 per attempt, 375 µs attempts (stand-in for the `ustc2026`
  link): heralded pairs per wall-second (target ≥ 1e6).
* Monte Carlo, 5-node chain (4 segments, swap-asap, cut-off, probabilistic swaps) on the same link:
  end-to-end pairs per wall-second (target ≥ 5e4).
* Exact engine, 8 segments nested with cut-off: wall time per solve with the result cache cleared
  (target ≤ 10 ms), for several link success probabilities (with classical delay: the fine lattice,
  whose cost grows with the mean waiting time in attempts).
* Exact engine at small p (issue 16): 8 segments nested, cut-off of two mean link times, coherence time
  30 mean link times, no classical delay — the block grid, ≤ 20 ms warm at p = 1e-4; the fine grid
  (``solve_exact``) alongside where it runs, and the largest relative difference of the means.
* Monte Carlo memory (issue 16): peak RSS of a child process running 1e7 pairs of an 8-segment chain,
  and elementary-link samples drawn per delivered pair (the old sampler: 4.19 / 41.0 / 322 at 2 / 8 / 32
  segments with certain swaps; the ideal is the number of segments).

Run one part: ``python benchmarks/bench_chain.py small-p`` or ``... memory``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
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


def bench_small_p(repeats: int = 9) -> None:
    """Block grid (run_exact) against the fine grid (solve_exact) at small p; no classical delay."""
    from qrepeater.engines.exact import exact_means, solve_exact

    attempt = 1e-4
    for p in (1e-2, 1e-3, 1e-4, 1e-5):
        link = abstract_link(p, attempt, 0.97, coherence_time_s=30 * attempt / p)
        spec = ChainSpec(link, 8, SwapModel(0.9, 0.995, 0.005), cutoff_s=(2 / p + 1) * attempt)

        def solve():
            _exact._CACHE.clear()
            return exact_means(spec)

        mean, corr, _, grid = solve()
        t = _median_time(solve, repeats, f"blocks{p}")
        line = (f"exact blocks, 8 seg nested + cut-off, p={p:g}: {t * 1e3:.2f} ms wall, "
                f"{CPU_TIMES[f'blocks{p}'] * 1e3:.2f} ms CPU ({grid})")
        if p >= 1e-3:
            def fine():
                _exact._CACHE.clear()
                return solve_exact(spec)

            sol = fine()
            tf = _median_time(fine, 3, f"fine{p}")
            ref = sol.correlator_mass.sum(axis=1) / sol.waiting_time_pmf.sum()
            diff = max(abs(mean / sol.mean_waiting_time_attempts - 1), float(abs(corr - ref).max()))
            line += f"; fine grid {tf * 1e3:.1f} ms; largest difference of the means {diff:.1e}"
        print(line)


_MEMORY_CHILD = """
import resource, sys, time
from qrepeater.engines import ChainSpec, SwapModel, abstract_link
from qrepeater.engines.montecarlo import run_montecarlo
pairs, seg, ps = int(float(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3])
link = abstract_link(7.5e-4, 375e-6, 0.97, 1.0)
spec = ChainSpec(link, seg, SwapModel(ps, 0.99, 0.005), cutoff_s=None if ps == 1.0 else 2.0)
t0 = time.perf_counter()
run = run_montecarlo(spec, pairs, seed=1, max_link_samples=None)
print(time.perf_counter() - t0, run.link_samples / pairs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def bench_memory() -> None:
    """Peak RSS (MB) of a fresh process sampling 1e7 pairs; link samples per delivered pair."""
    for pairs, seg, ps in ((1e7, 8, 1.0), (1e7, 8, 0.9), (1e6, 2, 1.0), (1e5, 32, 1.0)):
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(pairs), str(seg), str(ps)],
                             capture_output=True, text=True, check=True).stdout.split()
        wall, per_pair, rss = (float(x) for x in out)
        what = "certain swaps" if ps == 1.0 else f"swap success {ps}, cut-off 2 s"
        print(f"MC {pairs:.0e} pairs, {seg} segments nested ({what}): peak RSS {rss:.0f} MB, "
              f"{per_pair:.2f} link samples per pair (ideal >= {seg}), {wall:.1f} s wall")


def main() -> None:
    from common import machine

    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    part = sys.argv[1] if len(sys.argv) > 1 else "all"
    if part in ("small-p", "all"):
        bench_small_p()
    if part in ("memory", "all"):
        bench_memory()
    if part != "all":
        return
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
