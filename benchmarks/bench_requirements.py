"""Wall time of the issue-14 question: what it takes for ``ustc2026`` at 100 km to deliver
``rate_hz >= 0.1`` and ``mean_fidelity >= 0.8`` (4 segments, exact engine, default --vary set).

``python benchmarks/bench_requirements.py [--quick] [--workers W]`` runs the command (3 times, or once
with ``--quick``) in a fresh interpreter each time, with the charts written to a scratch folder, and
prints each wall time, the median, the plan's feasibility, cost and evaluations, and the load average
before and after (the machine is shared: record the load with the figure).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    runs = 1 if "--quick" in argv else 3
    workers = argv[argv.index("--workers") + 1] if "--workers" in argv else "2"
    exe = Path(sys.executable).parent / "qrepeater"
    times = []
    print(f"nproc {os.cpu_count()}, load before {os.getloadavg()}")
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [str(exe), "requirements", "--preset", "ustc2026", "--distance-km", "100", "--segments", "4",
                   "--target", "rate_hz>=0.1", "--target", "mean_fidelity>=0.8", "--workers", workers,
                   "--seed", str(1 + i), "--out", str(Path(tmp) / "out"), "--json"]
            t0 = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            dt = time.perf_counter() - t0
            plan = json.loads(res.stdout)
            charts = [Path(c).name for c in plan["charts"]]
            times.append(dt)
            print(f"run {i + 1}: {dt:.1f} s wall, feasible {plan['feasible']}, cost {plan['cost']:.4f}, "
                  f"{plan['evaluations']} evaluations, charts {charts}, load {os.getloadavg()}")
    print(f"median {statistics.median(times):.1f} s over {runs} run(s); command: {' '.join(cmd[1:])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
