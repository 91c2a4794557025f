"""qrepeater vs SeQUeNCe 0.8.5: a 2-node 10 km link (issue 3) and 3- and 5-node chains on SeQUeNCe's
router stack (issue 16), in one run.

Run with the qrepeater venv::

    python benchmarks/compare_sequence.py                 # link + chains, 3 repeats, SeQUeNCe capped at 60 wall-s per repeat
    python benchmarks/compare_sequence.py --only chains   # the 3- and 5-node chains only
    python benchmarks/compare_sequence.py --quick         # 1 repeat, 15 s cap (smoke test)

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

Chains (3 and 5 nodes, 10 km links, one memory per link side, end-to-end pairs between the two ends).
SeQUeNCe (``benchmarks/sequence_chain.py``): ``RouterNetTopo`` of ``QuantumRouter`` nodes with BSM
stations at the link midpoints, a ``RequestApp`` reservation from the first to the last router; the
reservation protocol loads the rule-based resource manager's generation / purification / swapping
rules on every router (SeQUeNCe's router stack). Its swapping rules are nested (5 nodes: routers 1 and
3 swap first, then router 2), memories are re-entangled as soon as they are freed, delivered pairs
are freed at both ends. Barrett–Kok generation with the memory efficiency matched to the link's p as
above, detector efficiency 0.9, no dark counts, pair fidelity tag 0.8, no decoherence, swaps always
succeed (SeQUeNCe's rules create them with success probability 1 and fidelity factor 0.95), target
fidelity 0.01 (below every tag: no purification), classical delay 10 km / 2e8 m/s per link.
qrepeater: the same chain as a topology (``topology_from_dict``: ustc2026 hardware, 10 km links, 1
memory at the ends and 2 inside, ``schedule = "nested"``, continuous operation, no cut-off) run by
``simulate`` on the compiled agents (its default) and on the Python agents (``compiled=False``).
Figures: end-to-end pairs per wall-second and kernel events per wall-second on both sides; ratio
qrepeater / SeQUeNCe. The physics differs where the APIs do (see RESULTS.md): qrepeater's link is
single-photon interference with its own attempt period, heralded state, memory decay and swap noise;
the rates per *simulated* second are printed for both so the difference is visible.
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


def chain_topology(nodes: int) -> dict:
    """qrepeater topology of the chain SeQUeNCe runs: ustc2026 hardware, 10 km links, nested swaps."""
    names = [f"r{i}" for i in range(nodes)]
    return {
        "hardware": {"preset": "ustc2026"},
        "protocol": {"schedule": "nested"},  # continuous operation and no cut-off are the defaults
        "nodes": [{"name": n, "memories": 1 if i in (0, nodes - 1) else 2} for i, n in enumerate(names)],
        "links": [{"a": a, "b": b, "length_km": 10.0} for a, b in zip(names, names[1:])],
        "consumers": [{"a": names[0], "b": names[-1]}],
    }


def bench_qrepeater_chain(nodes: int, pairs: int, repeats: int) -> dict:
    from qrepeater.builders.topology import topology_from_dict
    from qrepeater.engines.events import simulate

    model = topology_from_dict(chain_topology(nodes))
    out = {}
    for name, compiled, n_pairs in (("compiled agents", True, pairs), ("Python agents", False, max(pairs // 10, 100))):
        simulate(model, pairs=100, seed=10_000, compiled=compiled)  # warm-up: numba compile / cache load
        walls, runs = [], []
        for i in range(repeats):
            t0 = time.perf_counter()
            run = simulate(model, pairs=n_pairs, seed=i + 1, compiled=compiled)
            walls.append(time.perf_counter() - t0)
            runs.append(run)
        out[name] = {
            "pairs": n_pairs,
            "pairs_per_wall_s": statistics.median(r.routes[0].pairs / w for r, w in zip(runs, walls)),
            "events_per_wall_s": statistics.median(r.events / w for r, w in zip(runs, walls)),
            "simulated_rate_hz": statistics.median(r.routes[0].rate_hz for r in runs),
            "mean_fidelity": statistics.median(r.routes[0].mean_fidelity for r in runs),
        }
    return out


def bench_sequence_chain(link, nodes: int, repeats: int, wall_cap: float, pairs: int) -> list[dict]:
    eff = sequence_memory_efficiency(link.success_probability, 10.0, 0.2, 0.9)
    runs = []
    for i in range(repeats):
        cmd = [str(SEQ_PYTHON), str(HERE / "sequence_chain.py"), "--nodes", str(nodes), "--link-km", "10",
               "--attenuation-db-per-km", "0.2", "--detector-efficiency", "0.9", "--dark-count", "0",
               "--memory-efficiency", f"{eff:.6g}", "--pairs", str(pairs), "--wall-cap", str(wall_cap),
               "--seed", str(100 + 10 * i)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=wall_cap + 120)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if not r["reservation_accepted"]:
            raise RuntimeError(f"SeQUeNCe refused the reservation: {r}")
        runs.append(r)
        print(f"  SeQUeNCe {nodes}-node repeat {i + 1}: {r['pairs']} e2e pairs, {r['link_attempts']} link attempts, "
              f"{r['link_heralds']} heralds in {r['wall_s']:.1f} wall-s ({r['sim_s']:.2f} simulated s, {r['events']} events)"
              f" -> {r['pairs'] / r['wall_s']:.3g} pairs/wall-s, {r['events'] / r['wall_s']:.4g} events/wall-s", flush=True)
    return runs


def compare_chains(link, args) -> list[dict]:
    rows = []
    for nodes in (3, 5):
        print(f"{nodes}-node chain, 10 km links (SeQUeNCe router stack vs qrepeater event engine)", flush=True)
        seq = bench_sequence_chain(link, nodes, args.repeats, args.wall_cap, args.chain_seq_pairs)
        seq_pairs = statistics.median(r["pairs"] / r["wall_s"] for r in seq)
        seq_events = statistics.median(r["events"] / r["wall_s"] for r in seq)
        tot_pairs, tot_sim = sum(r["pairs"] for r in seq), sum(r["sim_s"] for r in seq)
        heralds, attempts = sum(r["link_heralds"] for r in seq), sum(r["link_attempts"] for r in seq)
        print(f"  SeQUeNCe: median {seq_pairs:.3g} e2e pairs/wall-s, {seq_events:.4g} events/wall-s; "
              f"{tot_pairs} pairs in {tot_sim:.1f} simulated s ({tot_pairs / tot_sim:.3g} Hz simulated); "
              f"link p achieved {heralds / attempts:.3e} ({heralds} / {attempts})", flush=True)
        q = bench_qrepeater_chain(nodes, args.chain_pairs, max(3, args.repeats + 2))
        for name, r in q.items():
            ratio_pairs, ratio_events = r["pairs_per_wall_s"] / seq_pairs, r["events_per_wall_s"] / seq_events
            print(f"  qrepeater {name} ({r['pairs']} pairs per call): median {r['pairs_per_wall_s']:.3g} e2e pairs/wall-s, "
                  f"{r['events_per_wall_s']:.4g} events/wall-s, {r['simulated_rate_hz']:.3g} Hz simulated, "
                  f"F = {r['mean_fidelity']:.3f}; ratio qrepeater/SeQUeNCe: pairs/wall-s x{ratio_pairs:.3g}, "
                  f"events/wall-s x{ratio_events:.3g}", flush=True)
            rows.append({"nodes": nodes, "qrepeater": name, "ratio_pairs_per_wall_s": ratio_pairs,
                         "ratio_events_per_wall_s": ratio_events, **{f"q_{k}": v for k, v in r.items()},
                         "seq_pairs_per_wall_s": seq_pairs, "seq_events_per_wall_s": seq_events,
                         "seq_pairs": tot_pairs, "seq_simulated_rate_hz": tot_pairs / tot_sim,
                         "seq_link_p": heralds / attempts})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description="qrepeater vs SeQUeNCe 0.8.5: 2-node 10 km link, 3- and 5-node chains")
    ap.add_argument("--only", choices=("all", "link", "chains"), default="all")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--wall-cap", type=float, default=60.0, help="SeQUeNCe wall seconds per repeat")
    ap.add_argument("--seq-pairs", type=int, default=200, help="SeQUeNCe link: stop early after this many pairs")
    ap.add_argument("--chain-seq-pairs", type=int, default=1000, help="SeQUeNCe chains: stop early after this many pairs")
    ap.add_argument("--pairs", type=int, default=1_000_000, help="qrepeater pairs per call (link)")
    ap.add_argument("--chain-pairs", type=int, default=200_000, help="qrepeater pairs per call (chains, compiled agents; "
                                                                       "the Python agents run a tenth)")
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
    if args.only == "chains":
        print(f"SeQUeNCe {ver}; qrepeater link (ustc2026, 10 km): p = {link.success_probability:.4e}")
        rows = compare_chains(link, args)
        print("summary " + json.dumps(rows))
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        return 0
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
    if args.only == "all":
        rows = compare_chains(link, args)
        print("summary " + json.dumps(rows))
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
