"""Event engine on general topologies: routing, shared memories, consumers, determinism, CLI."""

import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.engines.events import simulate
from qrepeater.builders.topology import load_topology, topology_from_dict
from qrepeater.engines.events.purification import purify_correlators
from qrepeater.states import BellDiagonal, purify_bbpssw, purify_dejmps

BASE = """
[hardware]
preset = "ustc2026"

[protocol]
schedule = "swap-asap"
cutoff_s = 1.0

[[nodes]]
name = "A"
memories = 2
[[nodes]]
name = "B"
memories = 4
[[nodes]]
name = "C"
memories = 4
[[nodes]]
name = "D"
memories = 2
[[nodes]]
name = "E"
memories = 2

[[links]]
a = "A"
b = "B"
length_km = 10
[[links]]
a = "B"
b = "C"
length_km = 12
[[links]]
a = "C"
b = "D"
length_km = 8
[[links]]
a = "B"
b = "E"
length_km = 5
[[links]]
a = "A"
b = "D"
length_km = 45

[[consumers]]
a = "A"
b = "D"
kind = "diqkd"
[[consumers]]
a = "E"
b = "C"
"""


@pytest.fixture()
def topo(tmp_path):
    p = tmp_path / "net.toml"
    p.write_text(BASE)
    return p


def test_scalar_purification_matches_the_states_library():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = BellDiagonal(coefficients=rng.dirichlet([8, 1, 1, 1]))
        b = BellDiagonal(coefficients=rng.dirichlet([8, 1, 1, 1]))
        for method, ref in (("dejmps", purify_dejmps), ("bbpssw", purify_bbpssw)):
            state, p = ref(a, b)
            x, y, z, q = purify_correlators(method, tuple(a.correlators), tuple(b.correlators))
            np.testing.assert_allclose([x, y, z], state.correlators, atol=1e-12)
            assert q == pytest.approx(p, abs=1e-12)


def test_routes_are_shortest_paths_and_memories_are_split(topo):
    m = load_topology(topo)
    assert m.routes[0].nodes == ("A", "B", "C", "D")  # 30 km beats the direct 45 km link
    assert m.routes[1].nodes == ("E", "B", "C")
    # B serves 4 route sides (A-D twice, E-C twice): 4 memories -> one per side
    assert all(k == 1 for k in m.units.values())
    # classical latency = fibre delay along the fastest path: A-D via the 30 km chain
    assert m.latency_s[("A", "D")] == pytest.approx(sum(m.link(u, v).classical_delay_s for u, v in (("A", "B"), ("B", "C"), ("C", "D"))))


def test_network_run_invariants(topo):
    m = load_topology(topo)
    run = simulate(m, duration_s=300.0, seed=3)
    for name, occ in run.occupancy.items():
        assert 0 <= occ["mean_occupied"] <= occ["peak_occupied"] <= occ["memories"]
    assert run.counts["deliveries"] == sum(r.pairs for r in run.routes) > 0
    assert run.counts["swaps"] + run.counts["swap_failures"] <= run.counts["heralds"]
    assert run.counts["messages_sent"] == 2 * run.counts["swaps"]
    assert run.counts["cutoff_discards"] > 0
    qkd = run.routes[0]
    assert qkd.mean_chsh == pytest.approx(math.sqrt(2) * (qkd.mean_correlators[0] + qkd.mean_correlators[2]), rel=1e-9)
    assert qkd.mean_qber == pytest.approx((1 - qkd.mean_correlators[2]) / 2, rel=1e-9)
    assert run.routes[1].mean_chsh is None


def test_diqkd_consumer_on_one_link_sees_the_heralded_state():
    data = {
        "nodes": [{"name": "A", "memories": 1}, {"name": "B", "memories": 1}],
        "links": [{"a": "A", "b": "B", "length_km": 10.0}],
        "consumers": [{"a": "A", "b": "B", "kind": "diqkd"}],
    }
    m = topology_from_dict(data)
    x, y, z = m.link("A", "B").fresh_correlators
    r = simulate(m, pairs=200, seed=1).routes[0]
    assert r.mean_chsh == pytest.approx(math.sqrt(2) * (x + z), rel=1e-12)
    assert r.mean_qber == pytest.approx((1 - z) / 2, rel=1e-12)
    assert r.mean_fidelity == pytest.approx(m.link("A", "B").fresh_fidelity, rel=1e-12)
    # rate of a single link: p / attempt duration
    link = m.link("A", "B")
    run = simulate(m, duration_s=4000.0, seed=2).routes[0]
    sigma = (run.waiting_time_ci95[1] - run.waiting_time_ci95[0]) / (2 * 1.96)
    assert abs(run.mean_waiting_time_s - link.attempt_duration_s / link.success_probability) < 4 * sigma


def test_same_seed_same_trace_bit_for_bit(topo, tmp_path):
    m = load_topology(topo)
    a = simulate(m, duration_s=100.0, seed=42, trace=True)
    b = simulate(m, duration_s=100.0, seed=42, trace=True)
    c = simulate(m, duration_s=100.0, seed=43, trace=True)
    assert len(a.trace) > 100
    assert a.trace_table().equals(b.trace_table())
    assert not a.trace_table().equals(c.trace_table())
    a.write_trace(tmp_path / "a.parquet")
    b.write_trace(tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet", "net.toml"]  # no temporary left


runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, list(args))


def test_cli_network_json_trace_and_plot(topo, tmp_path):
    trace, plot = tmp_path / "t.parquet", tmp_path / "p.png"
    r = _cli("network", str(topo), "--duration-s", "50", "--seed", "1", "--json", "--trace", str(trace), "--plot", str(plot))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["engine"] == "events" and len(out["consumers"]) == 2 and out["events"] > 0
    assert {"A", "B", "C", "D", "E"} == set(out["occupancy"])
    import pyarrow.parquet as pq

    t = pq.read_table(trace)
    assert set(t.column_names) >= {"time_s", "event", "node", "pair_id", "fidelity"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r2 = _cli("network", str(topo), "--duration-s", "50", "--seed", "1")
    assert r2.exit_code == 0 and "memory occupancy" in r2.stdout


BAD = {
    "disconnected": (BASE.replace('[[consumers]]\na = "E"\nb = "C"', '[[nodes]]\nname = "F"\n[[consumers]]\na = "E"\nb = "F"'), "not connected"),
    "missing node": (BASE.replace('a = "B"\nb = "E"', 'a = "B"\nb = "X"'), "node 'X' is not defined"),
    "negative length": (BASE.replace("length_km = 12", "length_km = -12"), "length_km"),
    "unknown key": (BASE.replace("memories = 4\n[[nodes]]\nname = \"C\"", "memoris = 4\n[[nodes]]\nname = \"C\""), "unknown key 'memoris'"),
    "too few memories": (BASE.replace('name = "B"\nmemories = 4', 'name = "B"\nmemories = 3'), "needs at least 4"),
    "nested needs 2^n hops": (BASE.replace('schedule = "swap-asap"', 'schedule = "nested"'), "power-of-two"),
    "bad toml": ("[[nodes]\nname=", "invalid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_malformed_topologies_give_one_line_and_exit_2(tmp_path, case):
    text, needle = BAD[case]
    p = tmp_path / "bad.toml"
    p.write_text(text)
    r = _cli("network", str(p), "--duration-s", "1")
    assert r.exit_code == 2, (case, r.output)
    err = r.stderr.strip()
    assert err.startswith("error:") and "\n" not in err and needle in err, err
    assert "Traceback" not in r.output


def test_cli_bad_options(topo):
    assert _cli("network", str(topo), "--duration-s", "-1").exit_code == 2
    assert _cli("network", "does-not-exist.toml").exit_code == 2


def test_network_with_purification_nested_and_lasers_runs_and_purifies():
    data = {
        "hardware": {"preset": "ustc2026", "set": ["link.excitation_probability=0.05"]},
        "protocol": {"schedule": "nested", "purification": "dejmps", "purification_rounds": 1, "cutoff_s": 2.0},
        "lasers": {"stabilisation": "free-running", "linewidth_hz": 50.0},
        "nodes": [{"name": "A", "memories": 2}, {"name": "B", "memories": 4}, {"name": "C", "memories": 2}],
        "links": [{"a": "A", "b": "B", "length_km": 10.0}, {"a": "B", "b": "C", "length_km": 20.0}],
        "consumers": [{"a": "A", "b": "C", "kind": "diqkd"}],
    }
    m = topology_from_dict(data)
    ab, bc = m.link("A", "B"), m.link("B", "C")
    assert ab.attempt_duration_s < bc.attempt_duration_s and ab.success_probability > bc.success_probability
    assert 0 < bc.laser_coherence < 1
    run = simulate(m, duration_s=3000.0, seed=5)
    c = run.counts
    assert c["purifications"] > 0 and c["purification_failures"] > 0
    done = 2 * (c["purifications"] + c["purification_failures"])
    assert done <= c["classical_messages_purification"] <= done + 2 * sum(m.units.values())  # some in flight
    assert run.routes[0].pairs > 0
    for occ in run.occupancy.values():
        assert occ["peak_occupied"] <= occ["memories"]


def test_diqkd_consumer_reproduces_the_ustc_chsh_and_qber(tmp_path):
    """One 10 km link with the ustc2026-qkd preset (alpha = 2.5 %): the consumer's S and QBER are the
    published 2.5758 +- 0.0059 and 3.60 +- 0.06 % [P] (Liu et al. 2026; shared/reference/ustc2026.md),
    and the CLI adds the asymptotic key per pair (0.325 [S])."""
    p = tmp_path / "qkd.toml"
    p.write_text('[hardware]\npreset = "ustc2026-qkd"\n[[nodes]]\nname = "A"\nmemories = 1\n[[nodes]]\nname = "B"\n'
                 'memories = 1\n[[links]]\na = "A"\nb = "B"\nlength_km = 10\n[[consumers]]\na = "A"\nb = "B"\nkind = "diqkd"\n')
    r = _cli("network", str(p), "--pairs", "50", "--json")
    assert r.exit_code == 0, r.output
    c = json.loads(r.stdout)["consumers"][0]
    assert abs(c["mean_chsh"] - 2.5758) <= 0.0059
    assert abs(c["mean_qber"] - 0.0360) <= 0.0006
    assert abs(c["asymptotic_key_per_pair"] - 0.325) <= 0.01


def test_two_hop_network_in_continuous_operation_matches_the_exact_engine():
    """With one memory per link side and no classical delay, a 2-hop route in continuous operation is
    the 2-segment chain of the closed-form engines (the ends hold the pair until it is consumed)."""
    from qrepeater.engines.exact import run_exact
    from qrepeater.engines.model import ChainSpec, SwapModel

    data = {
        "hardware": {"preset": "abstract", "set": ["link.success_probability=0.05", "memory.coherence_time_s=0.05"]},
        "protocol": {"swap": {"success_probability": 0.9, "gate_fidelity": 0.98, "readout_error": 0.01}},
        "nodes": [{"name": "A", "memories": 1}, {"name": "B", "memories": 2}, {"name": "C", "memories": 1}],
        "links": [{"a": "A", "b": "B", "length_km": 1.0}, {"a": "B", "b": "C", "length_km": 1.0}],
        "consumers": [{"a": "A", "b": "C"}],
    }
    m = topology_from_dict(data)
    assert m.protocol.restart == "continuous"
    from qrepeater.builders import chain_segment
    from qrepeater.config import build_scenario

    sc = build_scenario("abstract", None, data["hardware"]["set"])
    spec = ChainSpec(link=chain_segment(sc, 1.0), segments=2, swap=SwapModel(0.9, 0.98, 0.01), schedule="swap-asap")
    ex = run_exact(spec)
    r = simulate(m, pairs=8_000, seed=4).routes[0]
    sw = (r.waiting_time_ci95[1] - r.waiting_time_ci95[0]) / (2 * 1.96)
    sf = (r.fidelity_ci95[1] - r.fidelity_ci95[0]) / (2 * 1.96)
    assert abs(r.mean_waiting_time_s - ex.mean_waiting_time_s) <= 4 * sw
    assert abs(r.mean_fidelity - ex.mean_fidelity) <= 4 * sf
