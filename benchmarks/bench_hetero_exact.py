"""Exact engine: chains whose segments differ vs the one-link chain (issue 14 item 2).

Run: python benchmarks/bench_hetero_exact.py. Median of 3 cold solves (exact-engine cache cleared) per
chain: one link for all segments, two links alternating (two distinct sub-trees per level), and every
segment different (every sub-tree computed).
"""

import statistics
import time

from qrepeater.engines.exact import _CACHE, run_exact
from qrepeater.engines.model import ChainSpec, abstract_link


def median_ms(spec, repeats=3):
    times = []
    for _ in range(repeats):
        _CACHE.clear()
        t = time.perf_counter()
        run_exact(spec)
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main():
    print("| delay (s) | p, cut-off | segments | one link | two alternating | all different |")
    print("|---|---|---|---|---|---|")
    for delay in (0.0, 5e-4):
        for n in ((4, 8, 16, 32) if delay == 0 else (4, 8, 16)):  # 32 with delay: beyond the lattice limit
            hom = ChainSpec(link=abstract_link(1e-2, 1e-3, 0.97, 5.0, delay), segments=n, cutoff_s=0.1)
            alt = ChainSpec(link=tuple(abstract_link(1e-2 if i % 2 else 2e-2, 1e-3, 0.97, 5.0, delay) for i in range(n)),
                            segments=n, cutoff_s=0.1)
            dif = ChainSpec(link=tuple(abstract_link(1e-2 * (1 + 0.05 * i), 1e-3, 0.97, 5.0, delay) for i in range(n)),
                            segments=n, cutoff_s=0.1)
            row = [f"{median_ms(s):.0f} ms" for s in (hom, alt, dif)]
            print(f"| {delay:g} | 1e-2, 100 attempts | {n} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
