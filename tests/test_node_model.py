"""Repeater node as built (physics/node.py, builders.hardware.node_segment, preset ustc2026-node).

Each mapping is checked against an independent number: density-matrix simulations of the transfer
circuit and of scatter events on one ion of a Bell pair under decoupling pulses, the optical Bloch
equations for the scattering rate, the engines' own delay identities for the swap duration, and the three
engines against each other on a two-segment chain built from the preset.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.linalg import expm, null_space

import qrepeater
from qrepeater.builders import chain_segment, swap_model
from qrepeater.builders.hardware import repeater_node
from qrepeater.config import build_scenario
from qrepeater.config.schema import RepeaterNodeConfig
from qrepeater.engines import ChainSpec, run_exact, run_montecarlo, solve_exact
from qrepeater.engines.events import run_chain_events
from qrepeater.errors import ParameterError
from qrepeater.physics.node import (
    RepeaterNode,
    reabsorption_probability,
    reliability_from_average_fidelity,
    resonant_cross_section_m2,
    saturation_intensity_w_per_m2,
    scattering_rate_hz,
)
from qrepeater.states import BellDiagonal

X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
I2 = np.eye(2)


def _kron(*ops):
    out = np.eye(1)
    for op in ops:
        out = np.kron(out, op)
    return out


def _liouvillian(h, jumps):
    """Column-stacking superoperator of dρ/dt = −i[H, ρ] + Σ L ρ L† − ½{L†L, ρ}."""
    d = h.shape[0]
    one = np.eye(d)
    out = -1j * (np.kron(one, h) - np.kron(h.T, one))
    for L in jumps:
        ldl = L.conj().T @ L
        out += np.kron(L.conj(), L) - 0.5 * np.kron(one, ldl) - 0.5 * np.kron(ldl.T, one)
    return out


def _vec(rho):
    return rho.reshape(-1, order="F")


def _unvec(v, d):
    return v.reshape(d, d, order="F")


# ------------------------------------------------------------------------------------------- gates
def test_reliability_maps_a_published_fidelity_onto_the_depolarising_gate():
    """A depolarising gate of reliability p₂ leaves every pure two-qubit state (and the Bell state it
    prepares) with fidelity p₂ + (1 − p₂)/4; the mapping must return the p₂ that gives fidelity F."""
    rng = np.random.default_rng(7)
    for f in (0.9994, 0.998, 0.95):
        p2 = reliability_from_average_fidelity(f)
        for _ in range(5):
            psi = rng.normal(size=4) + 1j * rng.normal(size=4)
            psi /= np.linalg.norm(psi)
            rho = p2 * np.outer(psi, psi.conj()) + (1 - p2) * np.eye(4) / 4
            assert np.real(psi.conj() @ rho @ psi) == pytest.approx(f, abs=1e-12)
    assert reliability_from_average_fidelity(1 - 6e-4) == pytest.approx(RepeaterNode().transfer_gate_fidelity)


def _depolarise_last_two(rho, p2):
    """ρ → p₂ ρ + (1 − p₂) Tr_{CM}(ρ) ⊗ 𝟙/4 on qubits (P, C, M)."""
    r = rho.reshape(2, 4, 2, 4)
    partner = np.einsum("aibi->ab", r)
    return p2 * rho + (1 - p2) * np.kron(partner, np.eye(4) / 4)


def _cnot(control, target, n=3):
    out = np.zeros((2**n, 2**n))
    for i in range(2**n):
        bits = [(i >> (n - 1 - k)) & 1 for k in range(n)]
        if bits[control]:
            bits[target] ^= 1
        out[int("".join(map(str, bits)), 2), i] = 1
    return out


@pytest.mark.parametrize("heating", [0.0, 40.0])
def test_transfer_circuit_density_matrix(heating):
    """Partner P and communication ion C share a Bell-diagonal pair, the memory M starts in |0⟩; CNOT(C→M)
    and CNOT(M→C), each followed by two-qubit depolarising noise of reliability p₂ (minus heating), must
    leave the P–M pair with every correlator × p₂² — the node's transfer Bloch shrink."""
    pair = BellDiagonal(0.8, 0.09, 0.07, 0.04)
    rho = np.kron(pair.density_matrix(), np.diag([1.0, 0.0]))
    node = RepeaterNode(transfer_gate_fidelity=0.97, heating_gate_error_per_s=heating, time_since_recooling_s=2e-4)
    p2 = 0.97 - heating * 2e-4
    for gate in (_cnot(1, 2), _cnot(2, 1)):
        rho = _depolarise_last_two(gate @ rho @ gate.T, p2)
    pm = _trace_middle(rho)
    got = np.real([np.trace(pm @ np.kron(a, a)) for a in (X, Y, Z)])
    np.testing.assert_allclose(got, pair.correlators * node.transfer_bloch_shrink, atol=1e-12)
    assert node.transfer_bloch_shrink == pytest.approx(p2**2)


def _trace_middle(rho):
    r = rho.reshape(2, 2, 2, 2, 2, 2)  # (p, c, m, p', c', m')
    return np.einsum("pcmqcn->pmqn", r).reshape(4, 4)


# ------------------------------------------------------------------------------------------ light
@pytest.mark.parametrize("s, detuning_over_gamma", [(0.2, 0.0), (1.0, -0.5), (3.0, 1.7), (0.05, -12.0)])
def test_scattering_rate_matches_the_optical_bloch_equations(s, detuning_over_gamma):
    """Steady state of a driven two-level atom (H = −Δ|e⟩⟨e| + Ω/2 σx, L = √Γ|g⟩⟨e|, s = 2Ω²/Γ²): Γ ρ_ee."""
    gamma = 1.3e8
    delta = detuning_over_gamma * gamma
    omega = gamma * math.sqrt(s / 2)
    h = np.array([[0, omega / 2], [omega / 2, -delta]], complex)
    lower = np.array([[0, math.sqrt(gamma)], [0, 0]], complex)
    v = null_space(_liouvillian(h, [lower]))[:, 0]
    rho = _unvec(v, 2)
    rho /= np.trace(rho)
    expected = gamma * np.real(rho[1, 1])
    assert scattering_rate_hz(gamma, s, delta / (2 * math.pi)) == pytest.approx(expected, rel=1e-9)


def test_cross_section_and_saturation_intensity_are_consistent():
    """At low intensity the scattering rate is the absorbed photon flux σ(Δ)·I/(hc/λ), I = s·I_sat."""
    lam, gamma = 396.96e-9, 1.448e8
    for det in (0.0, 3e6, -40e6):
        s = 1e-6
        sigma = resonant_cross_section_m2(lam) / (1 + (4 * math.pi * det / gamma) ** 2)
        flux = s * saturation_intensity_w_per_m2(lam, gamma) / (6.62607015e-34 * 299792458.0 / lam)
        assert scattering_rate_hz(gamma, s, det) == pytest.approx(sigma * flux, rel=1e-5)
    # isotropic emission: the fraction at distance d falls as 1/d²
    assert reabsorption_probability(lam, gamma, 0, 2e-6) / reabsorption_probability(lam, gamma, 0, 4e-6) == pytest.approx(4)


def test_light_model_same_line_destroys_a_memory_and_a_second_species_does_not():
    """The two limits the module docstring states: same line at 3.5 µm, 318 µs of s = 1 light at −Γ/2:
    about two events per attempt; 88Sr+ light (422 nm) on a 43Ca+ memory (397 nm, ~45 THz away) in the
    full beam: below 1e-8; far off resonance the events fall as 1/δ²."""
    same = RepeaterNode(crosstalk_model="light")
    assert 1.5 < same.scatter_events_per_attempt(318e-6) < 2.5
    offset = 299792458.0 / 396.96e-9 - 299792458.0 / 421.67e-9
    other = RepeaterNode(crosstalk_model="light", memory_species="other", memory_line_offset_hz=offset,
                         communication_line_wavelength_m=421.67e-9, crosstalk_intensity_fraction=1.0)
    n = other.scatter_events_per_attempt(318e-6)
    assert 0 < n < 1e-8
    double = dataclasses.replace(other, memory_line_offset_hz=2 * offset)
    assert n / double.scatter_events_per_attempt(318e-6) == pytest.approx(4.0, rel=1e-4)
    with pytest.raises(ParameterError, match="memory_line_offset_hz"):
        RepeaterNode(memory_line_offset_hz=1e9)


def test_stated_crosstalk_rates_closed_form():
    """r = N f (−ln(1 − p))/τ per exposed ion; (Γ⊥, Γ∥) += (m r, m λ r)."""
    node = RepeaterNode(crosstalk_scatter_probability_per_attempt=0.01, communication_qubits=3,
                        crosstalk_coupled_fraction=0.5, scatter_leak_probability=0.25, crosstalk_exposed_ions_per_pair=2)
    r = 3 * 0.5 * -math.log(0.99) / 4e-4
    assert node.crosstalk_pair_rates_hz(4e-4, 1e-4) == pytest.approx((2 * r, 2 * 0.25 * r))
    assert RepeaterNode(crosstalk_scatter_probability_per_attempt=1e-6).crosstalk_event_rate_hz(1e-4, 0) == pytest.approx(
        1e-6 / 1e-4, rel=1e-5)  # the rate p/τ for small p


@pytest.mark.parametrize("leak", [0.0, 0.4, 1.0])
def test_crosstalk_rates_against_a_density_matrix_simulation(leak):
    """One ion of a Bell-diagonal pair holds its qubit in S (addressed) and D under π pulses every 0.5 ms
    (S ↔ D); each 300 µs attempt shines 120 µs of light that scatters at R from S: jump operators
    √(R(1−λ))|S⟩⟨S| and √(Rλ)|L⟩⟨S| (L outside the qubit). After 600 attempts (360 pulses) the pair's
    ⟨XX⟩, ⟨YY⟩ must have decayed at the node's Γ⊥ and ⟨ZZ⟩ at Γ∥ (f = ½ for this qubit)."""
    rate, t_on, tau, pulse = 30.0, 120, 300, 500  # 1/s, µs, µs, µs
    attempts = 600
    total = attempts * tau
    ket = np.eye(3)
    s_, d_, l_ = (np.outer(ket[i], ket[i]) for i in range(3))
    jumps = [np.kron(math.sqrt(rate * (1 - leak)) * s_, I2), np.kron(math.sqrt(rate * leak) * np.outer(ket[2], ket[0]), I2)]
    gen = _liouvillian(np.zeros((6, 6), complex), jumps)
    flip = np.kron(np.outer(ket[0], ket[1]) + np.outer(ket[1], ket[0]) + l_, I2)
    embed = np.zeros((3, 2))
    embed[0, 0] = embed[1, 1] = 1
    pair = BellDiagonal(0.75, 0.1, 0.1, 0.05)
    e2 = np.kron(embed, I2)
    rho = e2 @ pair.density_matrix() @ e2.T
    events = sorted({*(k * tau for k in range(attempts)), *(k * tau + t_on for k in range(attempts)),
                     *(k * pulse for k in range(1, total // pulse + 1))})
    cache, t, v = {}, 0, _vec(rho)
    for t_next in events:
        if t_next > t and (t % tau) < t_on:  # light on during [t, t_next)
            dt = t_next - t
            if dt not in cache:
                cache[dt] = expm(gen * dt * 1e-6)
            v = cache[dt] @ v
        t = t_next
        if t % pulse == 0 and t > 0:
            r = _unvec(v, 6)
            v = _vec(flip @ r @ flip.T)
    rho = _unvec(v, 6)
    paulis = [embed @ p @ embed.T for p in (X, Y, Z)]
    got = np.real([np.trace(rho @ np.kron(p, q)) for p, q in zip(paulis, (X, Y, Z))])
    node = RepeaterNode(crosstalk_scatter_probability_per_attempt=-math.expm1(-rate * t_on * 1e-6),
                        crosstalk_coupled_fraction=0.5, scatter_leak_probability=leak)
    g_perp, g_par = node.crosstalk_pair_rates_hz(tau * 1e-6, 0.0)
    factors = np.exp(-np.array([g_perp, g_perp, g_par]) * total * 1e-6)
    np.testing.assert_allclose(got, pair.correlators * factors, rtol=1e-9, atol=1e-12)
    assert factors[0] < 0.5  # the decay is large enough to matter


# ------------------------------------------------------------------------------ scenario → engines
def _scenario(*overrides):
    return build_scenario("ustc2026-node", None, list(overrides))


def test_section_defaults_come_from_the_dataclass_and_disabled_changes_nothing():
    cfg = RepeaterNodeConfig()
    assert not cfg.enabled
    assert RepeaterNode(**cfg.model_dump(exclude={"enabled"})) == RepeaterNode()
    assert {f.name for f in dataclasses.fields(RepeaterNode)} == set(cfg.model_dump()) - {"enabled"}
    base = qrepeater.load_preset("ustc2026")
    assert not base.repeater_node.enabled
    plain = build_scenario("ustc2026", None, ["repeater_node.communication_qubits=4",
                                              "repeater_node.crosstalk_scatter_probability_per_attempt=0.1"])
    a, b = chain_segment(plain, 7.0), chain_segment(base, 7.0)
    np.testing.assert_array_equal(a.fresh_state.coefficients, b.fresh_state.coefficients)
    assert dataclasses.replace(a, fresh_state=b.fresh_state) == b
    assert swap_model(plain) == swap_model(base)


def test_node_segment_mapping_closed_forms():
    """Against the same scenario with the node switched off: p → 1 − (1 − p)^N, correlators × p₂⁴
    × exp(−Γ t_transfer), rates + crosstalk (light held for cooling + pumping + excitation), delay + swap."""
    over = ["repeater_node.communication_qubits=3", "repeater_node.crosstalk_scatter_probability_per_attempt=2e-3",
            "repeater_node.heating_gate_error_per_s=5", "repeater_node.time_since_recooling_s=1e-3"]
    node_s = _scenario(*over)
    off = _scenario(*over, "repeater_node.enabled=false")
    seg, ref = chain_segment(node_s, 6.0), chain_segment(off, 6.0)
    p2 = 0.9992 - 5e-3
    assert seg.success_probability == pytest.approx(1 - (1 - ref.success_probability) ** 3, rel=1e-12)
    assert seg.attempt_duration_s == ref.attempt_duration_s
    decay = np.exp(-np.array([ref.transverse_rate_hz] * 2 + [ref.longitudinal_rate_hz]) * 2 * 35e-6)
    np.testing.assert_allclose(seg.fresh_state.correlators, ref.fresh_state.correlators * p2**4 * decay, rtol=1e-12)
    r = 3 * -math.log1p(-2e-3) / ref.attempt_duration_s
    assert seg.transverse_rate_hz == pytest.approx(ref.transverse_rate_hz + r, rel=1e-12)
    assert seg.longitudinal_rate_hz == pytest.approx(ref.longitudinal_rate_hz + r, rel=1e-12)
    assert seg.classical_delay_s == pytest.approx(ref.classical_delay_s + 35e-6 + 145e-6, rel=1e-12)
    assert swap_model(node_s).gate_fidelity == pytest.approx(0.9992 - 5e-3)
    assert swap_model(off).gate_fidelity == pytest.approx(0.9992)
    light = _scenario("repeater_node.crosstalk_model=light", "repeater_node.crosstalk_coupled_fraction=0.5")
    t = light.timing
    n = repeater_node(light).scatter_events_per_attempt(t.cooling_duration_s + t.state_preparation_s + t.excitation_s)
    lseg = chain_segment(light, 6.0)
    assert lseg.transverse_rate_hz - ref.transverse_rate_hz == pytest.approx(0.5 * n / ref.attempt_duration_s, rel=1e-9)


def test_swap_duration_is_storage_and_delay_in_a_two_segment_chain():
    """Two segments, no cut-off: the swapped pair is ready δ after the later herald, so the gate + readout
    time adds exactly t_swap to the mean waiting time and exp(−Γ t_swap) to each correlator."""
    slow = _scenario("repeater_node.readout_duration_s=2e-3", "link.excitation_probability=0.3")
    link = chain_segment(slow, 3.0)
    t_swap = 35e-6 + 2e-3
    without = dataclasses.replace(link, classical_delay_s=link.classical_delay_s - t_swap)
    s1 = solve_exact(ChainSpec(link, 2, swap_model(slow)), tol=1e-11)
    s0 = solve_exact(ChainSpec(without, 2, swap_model(slow)), tol=1e-11)
    tau = link.attempt_duration_s
    assert s1.mean_waiting_time_attempts - s0.mean_waiting_time_attempts == pytest.approx(t_swap / tau, rel=1e-7)
    rates = np.array([link.transverse_rate_hz] * 2 + [link.longitudinal_rate_hz])
    c1 = s1.correlator_mass.sum(axis=1) / s1.waiting_time_pmf.sum()
    c0 = s0.correlator_mass.sum(axis=1) / s0.waiting_time_pmf.sum()
    np.testing.assert_allclose(c1 / c0, np.exp(-rates * t_swap), rtol=1e-7)


def test_preset_ustc2026_node():
    s = qrepeater.load_preset("ustc2026-node")
    assert s.repeater_node.enabled and s.node_a.memory.storage_encoding == "zeeman_d52"
    assert s.calibration.experiment == "" and not s.calibration.parameters
    seg = chain_segment(s, 10.0)
    base_rates = chain_segment(_scenario("repeater_node.enabled=false"), 10.0)
    # the stated crosstalk is the bound read off the published coherence times: r = 0.214 /s per memory ion
    assert seg.transverse_rate_hz - base_rates.transverse_rate_hz == pytest.approx(0.214, rel=2e-3)


# ------------------------------------------------------------------------------------ three engines
Z_BOUND = 4.0


def _sigma(ci):
    return (ci[1] - ci[0]) / 3.92


def _node_chain_spec():
    """ustc2026-node at 2 km in 2 segments, excitation 0.2, two communication ions per side, crosstalk
    raised to 5e-4 per attempt and a 1 ms readout (so crosstalk and the timed swap both move the result)."""
    s = _scenario("link.excitation_probability=0.2", "repeater_node.communication_qubits=2",
                  "repeater_node.crosstalk_scatter_probability_per_attempt=5e-4", "repeater_node.readout_duration_s=1e-3")
    return ChainSpec(chain_segment(s, 1.0), 2, swap_model(s))


@pytest.mark.parametrize("cutoff_s, seed", [(None, 11), (0.08, 13)])
def test_two_segment_node_chain_runs_on_three_engines_and_they_agree(cutoff_s, seed):
    """Measured (40,000 pairs each): no cut-off, MC rate z = +0.73, fidelity z = −0.58, events −0.55, +0.18;
    80 ms cut-off (the swap's 1.04 ms counts against it): MC +0.03, +0.72, events +1.73, −0.89."""
    spec = dataclasses.replace(_node_chain_spec(), cutoff_s=cutoff_s)
    ex = run_exact(spec)
    assert ex.truncation_error < 1e-7
    mc = run_montecarlo(spec, 40_000, seed=seed).result
    ev = run_chain_events(spec, 40_000, seed=seed + 1)
    for res in (mc, ev):
        for value, mean, ci in ((ex.rate_hz, res.rate_hz, res.rate_ci95), (ex.mean_fidelity, res.mean_fidelity, res.fidelity_ci95)):
            assert abs(mean - value) <= Z_BOUND * _sigma(ci), (res.engine, value, mean, _sigma(ci))
    if cutoff_s is not None:
        return
    # crosstalk is visible at this precision
    spec0 = dataclasses.replace(spec, link=dataclasses.replace(
        spec.link, transverse_rate_hz=spec.link.transverse_rate_hz - 2 * -math.log1p(-5e-4) / spec.link.attempt_duration_s))
    assert run_exact(spec0).mean_fidelity - ex.mean_fidelity > 10 * _sigma(mc.fidelity_ci95)


def test_cli_chain_with_the_node_preset():
    from typer.testing import CliRunner

    from qrepeater.cli.main import app

    out = CliRunner().invoke(app, ["chain", "--preset", "ustc2026-node", "--distance-km", "10", "--segments", "2", "--json"])
    assert out.exit_code == 0, out.output
    row = json.loads(out.output)
    assert row["rate_hz"] > 0 and 0.25 < row["mean_fidelity"] < 1
    bad = CliRunner().invoke(app, ["chain", "--preset", "ustc2026-node", "--distance-km", "10",
                                   "--set", "repeater_node.communication_qubits=0"])
    assert bad.exit_code == 2 and "communication_qubits" in bad.output
