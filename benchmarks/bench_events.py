"""Event-engine speed on a 5-node chain with the ustc2026 hardware (4 × 10 km, one memory per link side).

Run: ``python benchmarks/bench_events.py [--quick]``

Workloads, median of 5 runs each (3 with ``--quick``) after one warm-up:

* ``chain (compiled)``: ``simulate_chain_compiled`` — the numba transcription of the chain agents that
  ``run_chain_events`` uses for chains without purification (swap-asap, rounds restart after
  each delivery, Pauli-frame messages over the 10 km fibre latency);
* ``chain (Python agents)``: ``simulate_chain(..., compiled=False)`` of the same spec (the reference
  agents, also the only ones that record traces);
* ``network``: the same 5 nodes as a topology (continuous operation: every link restarts as soon as
  its memories are free, cut-off 1 s), on the Python agents (``simulate(..., compiled=False)``, the
  path of every network before issue 16) and on the compiled network agents (``simulate``'s default,
  :mod:`qrepeater.engines.events.fastnet`: the same run bit for bit — the script checks it), the same
  simulated time, then the compiled agents on a 10× longer run (per-call set-up amortised);
  the ratio of events per CPU-second of the two is printed.

Figures: kernel events per wall-second (heralds, messages, purification outcomes, cut-offs, resets —
every handler the heap runs), kernel events per CPU-second (``time.process_time``: the less noisy
figure on a shared machine), protocol actions per wall-second (kernel events + swaps + deliveries,
which run inside those handlers), delivered end-to-end pairs per wall-second, and the entanglement
attempts the run stands for (simulated time / attempt duration × links) per wall-second: no attempt
is an event (geometric sampling), which is where the speed comes from.

Reference: SeQUeNCe reports ≈ 21k events per wall-second, 7k on a 5-node chain (the issue's figures);
``compare_sequence.py`` measures its router stack in the same run as qrepeater (1.4e4 events per
wall-second on 3 and 5 nodes, benchmarks/RESULTS.md).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

from qrepeater.engines.events import simulate, simulate_chain, simulate_chain_compiled  # noqa: E402
from qrepeater.builders.topology import topology_from_dict  # noqa: E402
from qrepeater.engines.model import ChainSpec  # noqa: E402
from qrepeater.builders import chain_segment, swap_model  # noqa: E402
from qrepeater.config import load_preset  # noqa: E402


def _measure(fn, repeats):
    fn()  # warm-up (and numba compilation / cache load)
    runs = []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        run = fn()
        wall = time.perf_counter() - t0
        runs.append((wall, run, time.process_time() - c0))
    return runs


def _report(label, runs, tau, links) -> float:
    ev = [r.events / w for w, r, _ in runs]
    ev_cpu = [r.events / c for _, r, c in runs]
    act = [(r.events + r.counts["swaps"] + r.counts["deliveries"]) / w for w, r, _ in runs]
    pairs = [r.counts["deliveries"] / w for w, r, _ in runs]
    att = [r.simulated_time_s / tau * links / w for w, r, _ in runs]
    r0 = runs[0][1]
    print(f"{label}: {r0.counts['deliveries']} pairs, {r0.events} kernel events per run; "
          f"F = {r0.routes[0].mean_fidelity:.4f}, rate = {r0.routes[0].rate_hz:.4g} Hz (simulated)")
    print(f"  median kernel events/s   {statistics.median(ev):,.0f}  (SeQUeNCe 5-node: 7,000 -> x{statistics.median(ev) / 7e3:.0f}; 21,000 -> x{statistics.median(ev) / 21e3:.0f})")
    print(f"  median kernel events per CPU-second {statistics.median(ev_cpu):,.0f}")
    print(f"  median protocol actions/s {statistics.median(act):,.0f}")
    print(f"  median e2e pairs/s       {statistics.median(pairs):,.0f}")
    print(f"  median attempts stood for /s {statistics.median(att):.3g}")
    return statistics.median(ev_cpu)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    pairs = 5_000 if quick else 40_000
    repeats = 3 if quick else 5
    sc = load_preset("ustc2026")
    seg = chain_segment(sc, 10.0)
    spec = ChainSpec(link=seg, segments=4, swap=swap_model(sc), schedule="swap-asap")
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} (shared machine)")
    print(f"command: python benchmarks/bench_events.py{' --quick' if quick else ''}")
    print(f"ustc2026 segment: p = {seg.success_probability:.3g} per {seg.attempt_duration_s * 1e6:.0f} us attempt, "
          f"classical delay {seg.classical_delay_s * 1e6:.1f} us per segment")
    runs = _measure(lambda: simulate_chain_compiled(spec, 10 * pairs, seed=1), repeats)
    _report(f"chain (compiled agents, {10 * pairs} pairs)", runs, seg.attempt_duration_s, 4)
    runs = _measure(lambda: simulate_chain(spec, pairs, seed=1, compiled=False), repeats)
    _report(f"chain (Python agents, {pairs} pairs)", runs, seg.attempt_duration_s, 4)

    names = ["A", "B", "C", "D", "E"]
    topo = {
        "hardware": {"preset": "ustc2026"},
        "protocol": {"schedule": "swap-asap", "cutoff_s": 1.0},
        "nodes": [{"name": n, "memories": 1 if n in ("A", "E") else 2} for n in names],
        "links": [{"a": a, "b": b, "length_km": 10.0} for a, b in zip(names, names[1:])],
        "consumers": [{"a": "A", "b": "E"}],
    }
    model = topology_from_dict(topo)
    duration = 2_000.0 if quick else 20_000.0
    py = _measure(lambda: simulate(model, duration_s=duration, seed=1, compiled=False), repeats)
    py_cpu = _report(f"network, Python agents (continuous, cut-off 1 s, {duration:.0f} s simulated)", py,
                     seg.attempt_duration_s, 4)
    fast = _measure(lambda: simulate(model, duration_s=duration, seed=1), repeats)
    fast_cpu = _report(f"network, compiled agents (same workload, {duration:.0f} s simulated)", fast,
                       seg.attempt_duration_s, 4)
    same = all(a[1].counts == b[1].counts and a[1].routes == b[1].routes and a[1].events == b[1].events
               for a, b in zip(py, fast))
    print(f"  compiled / Python events per CPU-second: x{fast_cpu / py_cpu:.1f} (same run, bit for bit: {same})")
    long = _measure(lambda: simulate(model, duration_s=10 * duration, seed=1), repeats)
    _report(f"network, compiled agents ({10 * duration:.0f} s simulated)", long, seg.attempt_duration_s, 4)


if __name__ == "__main__":
    main(sys.argv[1:])
