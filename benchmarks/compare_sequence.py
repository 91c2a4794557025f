"""qrepeater vs SeQUeNCe 0.8.5 on the same 2-node, 10 km heralded-entanglement link (issue 3).

Run with the qrepeater venv::

    python benchmarks/compare_sequence.py            # 3 repeats, SeQUeNCe capped at 60 wall-s per repeat
    python benchmarks/compare_sequence.py --quick    # 1 repeat, 15 s cap (smoke test)

SeQUeNCe lives in its OWN virtual environment (it pulls in jupyter/dash/qutip/pinned numpy and must not
enter the qrepeater venv). Install it once with::

    python3 -m venv benchmarks/.venv-sequence && benchmarks/.venv-sequence/bin/pip install sequence==0.8.5

If that venv is absent the script prints "skipped: ..." and exits 0.

Scenario. qrepeater: the ``ustc2026`` preset's link rebuilt for one 10 km segment
(``chain_segment(load_preset("ustc2026"), 10.0)``: single-photon-interference ("spep") link, midpoint
station, p ≈ 8.24e-4 per attempt, attempt period ≈ 370 µs), as a 1-segment ``ChainSpec``, sampled by
the Monte Carlo engine (``run_montecarlo``) and by the event engine (``run_chain_events``), 1e6 pairs
per call. SeQUeNCe (``benchmarks/sequence_link.py``, run by the SeQUeNCe venv's python): two memories,
5 km of 0.2 dB/km fibre each to a midpoint ``BSMNode``, its default Barrett–Kok
``EntanglementGenerationA``; detector efficiency 0.9, no dark counts, memory efficiency chosen so that
p = ½ (η_mem η_fibre η_det)² equals the qrepeater link's p, one attempt started every
``attempt_duration_s`` of simulated time. The figure is heralded pairs per wall-second; the ratio is
qrepeater / SeQUeNCe. Both sides report the herald probability they actually achieved.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEQ_VENV = HERE / ".venv-sequence"
SEQ_PYTHON = SEQ_VENV / "bin" / "python"
INSTALL = "python3 -m venv benchmarks/.venv-sequence && benchmarks/.venv-sequence/bin/pip install sequence==0.8.5"

sys.path.insert(0, str(HERE))


def qrepeater_link():
    from qrepeater import load_preset
    from qrepeater.builders import chain_segment

    return chain_segment(load_preset("ustc2026"), 10.0)


def bench_qrepeater(link, pairs: int, repeats: int) -> dict:
    from qrepeater.engines import ChainSpec, run_montecarlo
    from qrepeater.engines.events import run_chain_events

    spec = ChainSpec(link, 1)
    out = {}
    engines = {
        "montecarlo": lambda seed: run_montecarlo(spec, pairs, seed=seed).result,
        "events": lambda seed: run_chain_events(spec, pairs, seed=seed),
    }
    for name, fn in engines.items():
        fn(10_000)  # warm-up: numba compile / cache load
        walls, cpus, probs = [], [], []
        for i in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            res = fn(i + 1)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            probs.append(link.attempt_duration_s / res.mean_waiting_time_s)
        out[name] = {
            "pairs": pairs,
            "wall_s": walls,
            "rate": pairs / statistics.median(walls),
            "rate_cpu": pairs / statistics.median(cpus),
            "herald_probability": statistics.mean(probs),
        }
    return out


def sequence_memory_efficiency(p: float, distance_km: float, att_db_per_km: float, det_eff: float) -> float:
    """Memory efficiency giving SeQUeNCe's Barrett–Kok herald probability ½ (η_mem η_fib η_det)² = p."""
    eta = math.sqrt(2.0 * p)
    fibre = 10 ** (-att_db_per_km * distance_km / 2 / 10)
    return eta / (fibre * det_eff)


def bench_sequence(link, repeats: int, wall_cap: float, pairs: int) -> list[dict]:
    eff = sequence_memory_efficiency(link.success_probability, 10.0, 0.2, 0.9)
    runs = []
    for i in range(repeats):
        cmd = [str(SEQ_PYTHON), str(HERE / "sequence_link.py"), "--distance-km", "10", "--attenuation-db-per-km", "0.2",
               "--detector-efficiency", "0.9", "--dark-count", "0", "--memory-efficiency", f"{eff:.6g}",
               "--attempt-period-s", f"{link.attempt_duration_s:.6g}", "--pairs", str(pairs),
               "--wall-cap", str(wall_cap), "--seed", str(100 + 10 * i)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = runs[-1]
        print(f"  SeQUeNCe repeat {i + 1}: {r['pairs']} pairs / {r['attempts']} attempts in {r['wall_s']:.1f} wall-s "
              f"({r['sim_s']:.1f} simulated s, {r['events']} events) -> {r['pairs'] / r['wall_s']:.3g} pairs/wall-s",
              flush=True)
    return runs


def main() -> int:
    ap = argparse.ArgumentParser(description="qrepeater vs SeQUeNCe 0.8.5, 2-node 10 km link")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--wall-cap", type=float, default=60.0, help="SeQUeNCe wall seconds per repeat")
    ap.add_argument("--seq-pairs", type=int, default=200, help="SeQUeNCe stops early after this many pairs")
    ap.add_argument("--pairs", type=int, default=1_000_000, help="qrepeater pairs per call")
    ap.add_argument("--quick", action="store_true", help="1 repeat, 15 s SeQUeNCe cap")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.wall_cap = 1, 15.0

    if not SEQ_PYTHON.exists():
        print(f"skipped: SeQUeNCe venv not found at {SEQ_VENV}, install with: {INSTALL}")
        return 0

    from common import machine

    print(f"machine: {machine()}; nproc {os.cpu_count()}; load average {os.getloadavg()[0]:.2f}")
    ver = subprocess.run([str(SEQ_PYTHON), "-c", "import importlib.metadata as m; print(m.version('sequence'))"],
                         capture_output=True, text=True).stdout.strip()
    link = qrepeater_link()
    print(f"qrepeater link (ustc2026, 10 km): p = {link.success_probability:.4e}, "
          f"attempt = {link.attempt_duration_s * 1e6:.1f} us")
    print(f"SeQUeNCe {ver}: memory efficiency {sequence_memory_efficiency(link.success_probability, 10, 0.2, 0.9):.5f} "
          f"(0.2 dB/km, 2 x 5 km, detector efficiency 0.9)")

    seq = bench_sequence(link, args.repeats, args.wall_cap, args.seq_pairs)
    seq_rates = [r["pairs"] / r["wall_s"] for r in seq]
    seq_rate = statistics.median(seq_rates)
    tot_pairs = sum(r["pairs"] for r in seq)
    tot_att = sum(r["attempts"] for r in seq)
    seq_p = tot_pairs / tot_att
    p_err = math.sqrt(tot_pairs) / tot_att
    att_rate = statistics.median(r["attempts"] / r["wall_s"] for r in seq)
    ev_rate = statistics.median(r["events"] / r["wall_s"] for r in seq)
    # attempts/wall-s x the target p: the same figure without the Poisson noise of ~1e2 pairs
    seq_rate_nominal = att_rate * link.success_probability
    print(f"SeQUeNCe: median {seq_rate:.3g} pairs/wall-s ({tot_pairs} pairs in {tot_att} attempts, "
          f"p achieved = {seq_p:.3e} +- {p_err:.1e}); {att_rate:.4g} attempts/wall-s, {ev_rate:.4g} events/wall-s, "
          f"mean simulated attempt period {statistics.median(r['mean_attempt_period_s'] for r in seq) * 1e6:.1f} us; "
          f"attempts/wall-s x p_target = {seq_rate_nominal:.3g} pairs/wall-s")

    q = bench_qrepeater(link, args.pairs, max(3, args.repeats + 2))
    for name, r in q.items():
        print(f"qrepeater {name}: median {r['rate']:.3g} pairs/wall-s ({r['rate_cpu']:.3g} / CPU-s), "
              f"p achieved = {r['herald_probability']:.4e}; ratio qrepeater/SeQUeNCe = {r['rate'] / seq_rate:.3g} "
              f"(vs the noise-free SeQUeNCe figure: {r['rate'] / seq_rate_nominal:.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
