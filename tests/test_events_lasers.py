"""Independent lasers: interference contrast of SPEP links against the closed forms."""

import math

import numpy as np
import pytest

from qrepeater.engines.events import NodeLaser, hardware_with_lasers, interference_delay_s, laser_coherence
from qrepeater.builders.topology import topology_from_dict
from qrepeater.errors import ParameterError
from qrepeater.links import spep_link
from qrepeater.physics.fiber import independent_laser_coherence
from qrepeater.builders import link_hardware
from qrepeater.config import load_preset


@pytest.fixture(scope="module")
def hw():
    return link_hardware(load_preset("ustc2026"), 10.0)


def test_zero_linewidth_equals_the_shared_laser(hw):
    shared = spep_link(hw, 0.17)
    for laser in (NodeLaser("free-running", 0.0), NodeLaser("locked", residual_phase_noise_rad=0.0)):
        h2, c, _ = hardware_with_lasers(hw, laser, laser, 2e-5)
        assert c == 1.0
        np.testing.assert_array_equal(spep_link(h2, 0.17).heralded_state.coefficients, shared.heralded_state.coefficients)


@pytest.mark.parametrize("linewidth_hz", [10.0, 300.0, 3e3, 3e4])
@pytest.mark.parametrize("delay_s", [1e-6, 2.2e-5, 1e-4])
def test_free_running_contrast_is_the_closed_form_and_scales_the_coherence(hw, linewidth_hz, delay_s):
    laser = NodeLaser("free-running", linewidth_hz)
    h2, c, tau = hardware_with_lasers(hw, laser, laser, delay_s)
    assert tau == pytest.approx(delay_s)  # midpoint station: no arm delay difference
    assert c == pytest.approx(math.exp(-2 * math.pi * linewidth_hz * delay_s), rel=1e-12)
    assert c == pytest.approx(independent_laser_coherence(linewidth_hz, delay_s), rel=1e-12)
    # the heralded state's coherence <XX>, <YY> is scaled by exactly C; populations <ZZ> untouched
    t0 = spep_link(hw, 0.17).heralded_state.correlators
    t1 = spep_link(h2, 0.17).heralded_state.correlators
    np.testing.assert_allclose(t1[:2], c * t0[:2], rtol=1e-9, atol=1e-14)
    assert t1[2] == pytest.approx(t0[2], rel=1e-12)


def test_contrast_falls_monotonically_with_linewidth_times_delay():
    lw = np.logspace(0, 5, 12)
    c = [laser_coherence(NodeLaser("free-running", x), NodeLaser("free-running", x), 1e-5) for x in lw]
    assert all(a > b for a, b in zip(c, c[1:]))
    # only the product matters
    assert laser_coherence(NodeLaser("free-running", 100.0), NodeLaser("free-running", 100.0), 2e-5) == pytest.approx(
        laser_coherence(NodeLaser("free-running", 200.0), NodeLaser("free-running", 200.0), 1e-5), rel=1e-12)


def test_unequal_lasers_locked_lasers_and_arm_imbalance(hw):
    a, b = NodeLaser("free-running", 1e3), NodeLaser("free-running", 3e3)
    assert laser_coherence(a, b, 1e-5) == pytest.approx(math.exp(-math.pi * 4e3 * 1e-5), rel=1e-12)
    s1, s2 = 0.1, 0.2
    assert laser_coherence(NodeLaser("locked", residual_phase_noise_rad=s1), NodeLaser("locked", residual_phase_noise_rad=s2), 1.0) == pytest.approx(
        math.exp(-(s1**2 + s2**2) / 2), rel=1e-12)
    # off-centre station: the arm delay difference adds to the reference delay
    sc = load_preset("ustc2026")
    sc = sc.model_copy(update={"link": sc.link.model_copy(update={"station_position": 0.3})})
    h = link_hardware(sc, 10.0)
    tau = interference_delay_s(h.arm_a_km, h.arm_b_km, h.fiber, 0.0)
    assert tau == pytest.approx(4.0 * 1e3 * h.fiber.group_index / 299_792_458.0, rel=1e-9)
    with pytest.raises(ParameterError):
        NodeLaser("rubidium-clock")


def _topology(laser):
    return {
        "hardware": {"preset": "ustc2026"},
        "lasers": laser,
        "nodes": [{"name": "A", "memories": 1}, {"name": "B", "memories": 1}],
        "links": [{"a": "A", "b": "B", "length_km": 10.0, "reference_delay_s": 5e-5}],
        "consumers": [{"a": "A", "b": "B"}],
    }


def test_topology_feeds_the_laser_contrast_into_the_link():
    shared = topology_from_dict(_topology({"stabilisation": "shared"})).link("A", "B")
    zero = topology_from_dict(_topology({"stabilisation": "free-running", "linewidth_hz": 0.0})).link("A", "B")
    wide = topology_from_dict(_topology({"stabilisation": "free-running", "linewidth_hz": 2e3})).link("A", "B")
    assert zero.fresh_correlators == shared.fresh_correlators and zero.laser_coherence == 1.0
    c = math.exp(-2 * math.pi * 2e3 * 5e-5)
    assert wide.laser_coherence == pytest.approx(c, rel=1e-12)
    assert wide.fresh_correlators[0] == pytest.approx(c * shared.fresh_correlators[0], rel=1e-9)
    assert wide.fresh_fidelity < shared.fresh_fidelity
    assert wide.success_probability == shared.success_probability  # lasers change the state, not the rate
