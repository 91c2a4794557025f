"""The repeater node's parameters (issue 14 item 1) can be varied by `qrepeater requirements`, each with a
declared improvement rule, and improving one raises the fidelity of the chain it acts on."""

import pytest

from qrepeater import build_scenario
from qrepeater.studies.requirements_model import PARAMETER_KINDS, improved_value, resolve_variables

NODE = ["repeater_node.enabled=true", "repeater_node.crosstalk_scatter_probability_per_attempt=1e-3",
        "repeater_node.heating_gate_error_per_s=50", "repeater_node.time_since_recooling_s=1e-3",
        "repeater_node.crosstalk_intensity_fraction=0.01"]
KEYS = sorted(k for k in PARAMETER_KINDS if k.startswith("repeater_node."))


def test_every_repeater_node_parameter_resolves_with_its_kind():
    scenario = build_scenario("ustc2026", None, NODE)
    assert len(KEYS) >= 8
    for key in KEYS:
        (var,) = resolve_variables(scenario, [key])
        assert var.kind == PARAMETER_KINDS[key] and var.paths == (tuple(key.split(".")),)


@pytest.mark.parametrize("key", ["repeater_node.transfer_gate_fidelity", "repeater_node.heating_gate_error_per_s",
                                 "repeater_node.crosstalk_scatter_probability_per_attempt",
                                 "repeater_node.swap_gate_duration_s"])
def test_improving_a_node_parameter_raises_the_chain_fidelity(key):
    from qrepeater.builders import chain_segment, swap_model
    from qrepeater.engines import ChainSpec, run_exact

    def fidelity(extra):
        s = build_scenario("ustc2026", None, NODE + extra)
        spec = ChainSpec(link=chain_segment(s, 5.0), segments=2, swap=swap_model(s))
        return run_exact(spec).mean_fidelity

    scenario = build_scenario("ustc2026", None, NODE)
    (var,) = resolve_variables(scenario, [key])
    better = improved_value(var.kind, var.baselines[0], 10.0)
    assert fidelity([f"{key}={better!r}"]) > fidelity([])
