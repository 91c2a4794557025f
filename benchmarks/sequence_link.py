"""SeQUeNCe side of ``compare_sequence.py``: one 10 km heralded-entanglement link, pairs per wall-second.

Runs with the SeQUeNCe venv's python (imports only ``sequence`` + stdlib), NOT the qrepeater venv::

    python3 -m venv benchmarks/.venv-sequence && benchmarks/.venv-sequence/bin/pip install sequence==0.8.5
    benchmarks/.venv-sequence/bin/python benchmarks/sequence_link.py --memory-efficiency 0.0568 --wall-cap 60

Scenario (SeQUeNCe 0.8.5, its default Barrett–Kok ``EntanglementGenerationA`` / ``BarretKokA`` with the
``BSMNode`` + ``SingleAtomBSM`` midpoint station, ket-vector formalism — the structure of SeQUeNCe's
``example/two_node_eg`` example): two end nodes, each with one ``Memory``, 5 km of fibre
(``QuantumChannel``, 0.2 dB/km) to a midpoint ``BSMNode``; classical channels between all three nodes
(2e8 m/s). Each attempt is one full protocol run (NEGOTIATE/ACK, two emission rounds, BSM results);
a failed attempt resets the memories and the next attempt starts one attempt period after the previous
one started (or as soon as the protocol finishes, if later). Detector efficiency, dark counts and the
memory efficiency set the herald probability; the memory efficiency is chosen by the caller to match
the qrepeater link's probability.

Prints one JSON line: pairs, attempts, wall_s, sim_s, events (kernel events executed), herald
probability achieved, mean simulated attempt period, parameters.
"""

from __future__ import annotations

import argparse
import json
import time

from sequence.components.memory import Memory
from sequence.components.optical_channel import ClassicalChannel, QuantumChannel
from sequence.entanglement_management.generation import EntanglementGenerationA
from sequence.kernel.timeline import Timeline
from sequence.topology.node import BSMNode, Node

PS = 1e-12  # SeQUeNCe's time unit


class _Manager:
    """Minimal resource manager (as in SeQUeNCe's two_node_eg example): records the outcome, frees memory."""

    def __init__(self, owner: "_EndNode", memory_name: str):
        self.owner = owner
        self.memory_name = memory_name
        self.raw = 0
        self.entangled = 0

    def update(self, protocol, memory, state):
        if state == "RAW":
            self.raw += 1
        else:
            self.entangled += 1
        memory.reset()

    def create_protocol(self, middle: str, other: str):
        memory = self.owner.components[self.memory_name]
        self.owner.protocols = [EntanglementGenerationA.create(self.owner, f"{self.owner.name}.eg", middle, other, memory)]


class _EndNode(Node):
    def __init__(self, name, tl, memory_kwargs):
        super().__init__(name, tl)
        memory_name = f"{name}.memo"
        memory = Memory(name=memory_name, timeline=tl, **memory_kwargs)
        memory.owner = self
        memory.add_receiver(self)
        self.add_component(memory)
        self.resource_manager = _Manager(self, memory_name)

    def init(self):
        self.components[self.resource_manager.memory_name].reset()

    def receive_message(self, src, msg):
        self.protocols[0].received_message(src, msg)

    def get(self, photon, **kwargs):
        self.send_qubit(kwargs["dst"], photon)


def _pair(a: _EndNode, b: _EndNode) -> None:
    pa, pb = a.protocols[0], b.protocols[0]
    pa.set_others(pb.name, b.name, [b.resource_manager.memory_name])
    pb.set_others(pa.name, a.name, [a.resource_manager.memory_name])


def run(args) -> dict:
    tl = Timeline()
    memory_kwargs = dict(fidelity=args.fidelity, frequency=args.memory_frequency, efficiency=args.memory_efficiency,
                         coherence_time=-1, wavelength=1550)
    n1 = _EndNode("node1", tl, memory_kwargs)
    n2 = _EndNode("node2", tl, memory_kwargs)
    bsm_node = BSMNode("bsm", tl, ["node1", "node2"])
    n1.set_seed(args.seed)
    n2.set_seed(args.seed + 1)
    bsm_node.set_seed(args.seed + 2)
    bsm = bsm_node.get_components_by_type("SingleAtomBSM")[0]
    bsm.update_detectors_params("efficiency", args.detector_efficiency)
    bsm.update_detectors_params("dark_count", args.dark_count)

    arm_m = args.distance_km * 1e3 / 2
    for node in (n1, n2):
        qc = QuantumChannel(f"qc_{node.name}", tl, attenuation=args.attenuation_db_per_km * 1e-3, distance=arm_m)
        qc.set_ends(node, bsm_node.name)
    dist = {("node1", "node2"): 2 * arm_m, ("node1", "bsm"): arm_m, ("node2", "bsm"): arm_m}
    nodes = (n1, n2, bsm_node)
    for src in nodes:
        for dst in nodes:
            if src is dst:
                continue
            d = dist.get((src.name, dst.name)) or dist[(dst.name, src.name)]
            ClassicalChannel(f"cc_{src.name}_{dst.name}", tl, d).set_ends(src, dst.name)

    period_ps = int(round(args.attempt_period_s / PS))
    tl.init()
    attempts = 0
    t_next = 0
    wall0 = time.perf_counter()
    deadline = wall0 + args.wall_cap
    while n1.resource_manager.entangled < args.pairs and (attempts % 64 or time.perf_counter() < deadline):
        tl.time = max(tl.now(), t_next)
        t_next = tl.now() + period_ps
        n1.resource_manager.create_protocol("bsm", "node2")
        n2.resource_manager.create_protocol("bsm", "node1")
        _pair(n1, n2)
        n1.protocols[0].start()
        n2.protocols[0].start()
        tl.run()
        attempts += 1
    wall = time.perf_counter() - wall0
    pairs = n1.resource_manager.entangled
    assert pairs == n2.resource_manager.entangled
    sim_s = tl.now() * PS
    return {
        "simulator": "SeQUeNCe",
        "pairs": pairs,
        "attempts": attempts,
        "wall_s": wall,
        "sim_s": sim_s,
        "events": tl.run_counter,
        "herald_probability": pairs / attempts,
        "mean_attempt_period_s": sim_s / attempts,
        "params": {
            "protocol": type(n1.protocols[0]).__name__,
            "distance_km": args.distance_km,
            "attenuation_db_per_km": args.attenuation_db_per_km,
            "memory_efficiency": args.memory_efficiency,
            "memory_frequency_hz": args.memory_frequency,
            "detector_efficiency": args.detector_efficiency,
            "dark_count_hz": args.dark_count,
            "attempt_period_s": args.attempt_period_s,
            "seed": args.seed,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distance-km", type=float, default=10.0)
    ap.add_argument("--attenuation-db-per-km", type=float, default=0.2)
    ap.add_argument("--memory-efficiency", type=float, default=0.0568)
    ap.add_argument("--memory-frequency", type=float, default=1e7, help="max excitation rate (Hz)")
    ap.add_argument("--detector-efficiency", type=float, default=0.9)
    ap.add_argument("--dark-count", type=float, default=0.0)
    ap.add_argument("--fidelity", type=float, default=0.8)
    ap.add_argument("--attempt-period-s", type=float, default=3.7e-4)
    ap.add_argument("--pairs", type=int, default=200, help="stop after this many heralded pairs ...")
    ap.add_argument("--wall-cap", type=float, default=60.0, help="... or after this many wall seconds")
    ap.add_argument("--seed", type=int, default=0)
    print(json.dumps(run(ap.parse_args())))


if __name__ == "__main__":
    main()
