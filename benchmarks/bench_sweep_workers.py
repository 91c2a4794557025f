"""Wall time of `qrepeater sweep` on a 32-point sweep: the default worker count against --workers 1 and
--workers N (issue 17: `--workers 4` was 3x slower than `--workers 1` on a 2-core machine).

Three sweeps. Each configuration runs the real command in a fresh process (as a user would), REPEATS times in turn;
the median wall time is printed with the machine's CPU count and load: a cheap link sweep
(the README's kind; ~0.03 s a point), a Monte Carlo chain sweep (~0.2 s a point) and a heavy one
(~3 s a point), where the automatic default moves to a local cluster.

    python benchmarks/bench_sweep_workers.py [--repeats 3] [--first 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINK = """name = "bench-link-32"
preset = "ustc2026"
seed = 1
metrics = ["rate_hz", "heralded_fidelity", "pairs_per_channel_use"]
[parameters]
distance_km = { start = 5, stop = 300, num = 16, scale = "log" }
"link.excitation_probability" = [0.05, 0.17]
"""
MONTECARLO = """name = "bench-mc-32"
preset = "ustc2026"
seed = 2
metrics = ["rate_hz", "mean_fidelity"]
[options]
engine = "montecarlo"
segments = 4
pairs = 200000
[parameters]
distance_km = { start = 20, stop = 200, num = 16, scale = "log" }
"link.excitation_probability" = [0.05, 0.17]
"""
HEAVY = MONTECARLO.replace("bench-mc-32", "bench-mc-heavy-32").replace("pairs = 200000", "pairs = 3000000")


def _run(spec: Path, out: Path, extra: list[str]) -> float:
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qrepeater.cli.main", "sweep", str(spec), "--out", str(out), "--no-progress", *extra],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--first", type=int, default=0, help="skip the first FIRST sweeps")
    args = ap.parse_args()
    cpus = os.cpu_count() or 1
    configs = [("default", []), ("--workers 1", ["--workers", "1"]), (f"--workers {cpus}", ["--workers", str(cpus)])]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sweeps = (("link sweep, 32 points", LINK), ("Monte Carlo sweep, 32 points, 2e5 pairs", MONTECARLO),
                  ("Monte Carlo sweep, 32 points, 3e6 pairs", HEAVY))
        for name, text in sweeps[args.first:]:
            spec = tmp / "s.toml"
            spec.write_text(text)
            times: dict[str, list[float]] = {c: [] for c, _ in configs}
            loads = []
            for _ in range(args.repeats):
                for c, extra in configs:
                    loads.append(os.getloadavg()[0])
                    times[c].append(_run(spec, tmp / "r.parquet", extra))
            print(f"{name}: nproc {cpus}, load average {statistics.median(loads):.1f}")
            for c, ts in times.items():
                print(f"  {c:>12}: median {statistics.median(ts):.1f} s  (runs: {', '.join(f'{t:.1f}' for t in ts)})")


if __name__ == "__main__":
    main()
