"""SeQUeNCe side of ``compare_sequence.py --chains``: a linear repeater chain on SeQUeNCe's router stack.

Runs with the SeQUeNCe venv's python (imports only ``sequence`` + stdlib), NOT the qrepeater venv::

    benchmarks/.venv-sequence/bin/python benchmarks/sequence_chain.py --nodes 5 --memory-efficiency 0.0568

Stack (SeQUeNCe 0.8.5, as its network-manager tutorial drives it): a ``RouterNetTopo`` built from a
JSON description (``QuantumRouter`` nodes with a ``MemoryArray``, ``meet_in_the_middle`` quantum
connections that create a ``BSMNode`` with a ``SingleAtomBSM`` per link, classical connections between
every pair of routers), and a ``RequestApp`` on the first router asking the last one for a reservation.
The reservation protocol (RSVP) then loads, on every router, the rule-based resource manager's rules
for entanglement generation (Barrett–Kok ``EntanglementGenerationA``), purification (BBPSSW, only if a
pair is below the target fidelity) and swapping (``EntanglementSwappingA``/``B`` in SeQUeNCe's nested
order: odd-indexed routers first, then every second of the rest). The ``RequestApp`` counts end-to-end
pairs at the initiator and frees their memories, which the rules then entangle again (continuous
operation for the whole reservation).

The run is cut into slices of simulated time; it stops after ``--pairs`` end-to-end pairs or at the
first slice boundary past ``--wall-cap`` wall seconds. Prints one JSON line: pairs, wall_s, sim_s,
events (kernel events executed), link attempts and heralds (counted by wrapping the protocol's
and success/failure handlers), parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from sequence.app.request_app import RequestApp
from sequence.entanglement_management.generation import EntanglementGenerationA
from sequence.entanglement_management.generation.barret_kok import BarretKokA
from sequence.topology.router_net_topo import RouterNetTopo

PS = 1e-12  # SeQUeNCe's time unit
LIGHT_IN_FIBRE_M_PER_S = 2e8


def topology_config(args) -> dict:
    """The JSON description RouterNetTopo reads (keys from SeQUeNCe's topology classes)."""
    names = [f"r{i}" for i in range(args.nodes)]
    link_m = args.link_km * 1e3
    memory = {"fidelity": args.fidelity, "efficiency": args.memory_efficiency, "frequency": args.memory_frequency,
              "coherence_time": -1, "wavelength": 1550}
    detector = {"efficiency": args.detector_efficiency, "dark_count": args.dark_count}
    return {
        "stop_time": 10**23,
        "templates": {"router": {"MemoryArray": memory}, "station": {"SingleAtomBSM": {"detectors": [detector, detector]}}},
        # one memory per link side: 1 at the ends, 2 inside (the reservation asks for memory_size 1)
        "nodes": [{"name": n, "type": "QuantumRouter", "seed": args.seed + i, "template": "router",
                   "memo_size": 1 if i in (0, args.nodes - 1) else 2} for i, n in enumerate(names)],
        "qconnections": [{"node1": a, "node2": b, "attenuation": args.attenuation_db_per_km * 1e-3, "distance": link_m,
                          "type": "meet_in_the_middle", "seed": args.seed + 100 + i, "template": "station"}
                         for i, (a, b) in enumerate(zip(names, names[1:]))],
        "cconnections": [{"node1": names[i], "node2": names[j],
                          "delay": int(round((j - i) * link_m / LIGHT_IN_FIBRE_M_PER_S / PS))}
                         for i in range(args.nodes) for j in range(i + 1, args.nodes)],
    }


class _Tally:
    """Counts finished link-level attempts (Barrett–Kok protocol instances ending in success or failure,
    each on both link sides) and heralds (successes); counting only, behaviour unchanged."""

    failed = 0
    succeeded = 0

    @classmethod
    def install(cls) -> None:
        fail, succeed = EntanglementGenerationA._entanglement_fail, BarretKokA._entanglement_succeed

        def counted_fail(self):
            cls.failed += 1
            return fail(self)

        def counted_succeed(self):
            cls.succeeded += 1
            return succeed(self)

        EntanglementGenerationA._entanglement_fail = counted_fail
        BarretKokA._entanglement_succeed = counted_succeed


def run(args) -> dict:
    _Tally.install()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(topology_config(args), fh)
    try:
        topo = RouterNetTopo(fh.name)
    finally:
        os.unlink(fh.name)
    tl = topo.get_timeline()
    routers = {r.name: r for r in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}
    initiator, responder = routers["r0"], routers[f"r{args.nodes - 1}"]
    app = RequestApp(initiator)
    RequestApp(responder)  # the responder's app frees its end of each delivered pair
    start_ps = int(1e-3 / PS)  # 1 ms: the reservation's messages cross the chain before it starts
    tl.init()
    app.start(responder.name, start_ps, 10**21, 1, args.target_fidelity)

    slice_ps = int(args.slice_s / PS)
    tl.stop_time = start_ps
    tl.run()  # the reservation
    wall0 = time.perf_counter()
    events0 = tl.run_counter
    failed0, succeeded0 = _Tally.failed, _Tally.succeeded
    while app.memory_counter < args.pairs and time.perf_counter() - wall0 < args.wall_cap:
        tl.stop_time += slice_ps
        tl.run()
    wall = time.perf_counter() - wall0
    return {
        "simulator": "SeQUeNCe",
        "stack": "RouterNetTopo + RequestApp (RSVP, rule-based resource manager)",
        "nodes": args.nodes,
        "pairs": app.memory_counter,
        "reservation_accepted": app.reservation_result,
        "path": app.path,
        "wall_s": wall,
        "sim_s": (tl.now() - start_ps) * PS,
        "events": tl.run_counter - events0,
        "link_attempts": (_Tally.failed - failed0 + _Tally.succeeded - succeeded0) // 2,
        "link_heralds": (_Tally.succeeded - succeeded0) // 2,
        "params": {k: v for k, v in vars(args).items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--link-km", type=float, default=10.0)
    ap.add_argument("--attenuation-db-per-km", type=float, default=0.2)
    ap.add_argument("--memory-efficiency", type=float, default=0.0568)
    ap.add_argument("--memory-frequency", type=float, default=1e7, help="max excitation rate (Hz)")
    ap.add_argument("--detector-efficiency", type=float, default=0.9)
    ap.add_argument("--dark-count", type=float, default=0.0)
    ap.add_argument("--fidelity", type=float, default=0.8, help="fidelity tag of a generated pair")
    ap.add_argument("--target-fidelity", type=float, default=0.01,
                    help="reservation's target: below every delivered pair's tag, so no purification runs")
    ap.add_argument("--pairs", type=int, default=1000, help="stop after this many end-to-end pairs ...")
    ap.add_argument("--wall-cap", type=float, default=60.0, help="... or after this many wall seconds")
    ap.add_argument("--slice-s", type=float, default=0.05, help="simulated seconds between wall-clock checks")
    ap.add_argument("--seed", type=int, default=0)
    print(json.dumps(run(ap.parse_args())))


if __name__ == "__main__":
    main()
