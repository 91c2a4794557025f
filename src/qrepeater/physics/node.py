"""Trapped-ion repeater node as built: communication ions, memory ions, gates, crosstalk, timed swaps.

The idealised node of the ``ustc2026`` preset has one ion that both emits and stores, an instantaneous
swap, and no light on stored qubits. A node as built (Lai et al., arXiv:2405.13369, a 40Ca+ two-ion
node; Drmota et al., PRL 130, 090803 (2023), arXiv:2210.11447, 88Sr+ network / 43Ca+ memory) has

* ``communication_qubits`` = N communication ions per link side that make the heralded attempts;
* memory ions, of the same species (a second level scheme, "dual-type": the memory qubit in D5/2 while
  the communication qubit works in S1/2, Lai et al.) or of a second species / isotope (``memory_species``);
* a gate-based transfer of each heralded qubit from its communication ion to a memory ion;
* light of every attempt (cooling, pumping, excitation) that reaches stored memory ions (crosstalk);
* the swap as a gate sequence (two-qubit gate, then readout) that takes time;
* optionally motional heating between re-coolings, raising the gate error.

What the engines get (:mod:`qrepeater.engines.model`; the mapping is done by
:func:`qrepeater.builders.chain_segment` / :func:`~qrepeater.builders.swap_model`)
---------------------------------------------------------------------------------------------
``success_probability``
    1 − (1 − p)^N: N communication ions attempt in parallel, the first success wins — the engines'
    own multiplexing rule (engines/model.py), folded into the link so the chain's ``multiplex`` stays 1.
``fresh_state``
    the heralded pair after the transfer at both ends (Bloch shrink of each transferred qubit, below)
    and after the transfer duration of storage at the memories' rates.
``transverse_rate_hz`` / ``longitudinal_rate_hz``
    the memories' pair rates plus the crosstalk rates (below).
``classical_delay_s``
    fibre delay + processing + **swap duration** (gate + readout). The engines store a swapped pair,
    and it decays, until the outcome reaches its ends (``classical_delay_s`` per segment crossed), and a
    cut-off counts that time; a pair is likewise unusable until the swap's readout ends. For two
    segments (one swap level) this is exact: the output pair decays for t_swap + δ_fibre. In a nested
    chain the level-j outcome travels 2^(j−1) segments, so the swap duration is counted 2^(j−1) times at
    level j — an overestimate by (2^(j−1) − 1)·t_swap, the same convention as ``processing_delay_s``.
``SwapModel.gate_fidelity``
    the scenario's ``swap.gate_fidelity`` reduced by heating (below); ``readout_error`` as given.

Gate fidelities: the engines' convention (:func:`qrepeater.states.swap_noise_factors`) is the
*reliability* p₂ of Briegel, Dür, Cirac, Zoller, PRL 81, 5932 (1998): the gate acts perfectly with
probability p₂ and otherwise leaves both qubits maximally mixed. Every pure two-qubit state — the Bell
state the gate prepares among them — keeps fidelity p₂ + (1 − p₂)/4 = 1 − 3(1 − p₂)/4, so that is also the
gate's average fidelity, and a published fidelity F maps to p₂ = 1 − 4(1 − F)/3
(:func:`reliability_from_average_fidelity`).

Transfer. The memory ion is prepared in |0⟩ and the communication qubit moved onto it by two CNOTs
(c→m, then m→c: the three-CNOT SWAP m→c, c→m, m→c without its first CNOT, which does nothing while
the memory, its control, is in |0⟩). If either gate
fails (probability 1 − p₂ each) both ions are maximally mixed, and a later CNOT maps 𝟙/4 to 𝟙/4, so the
memory qubit is maximally mixed: the transfer is a depolarising channel of Bloch shrink p₂^n on that
qubit (n = ``transfer_gate_count``), every pair correlator is multiplied by it, once per end
(tested against a density-matrix simulation of the circuit). The n·``transfer_gate_duration_s`` of the
transfer is counted as storage at the memories' rates (the communication qubit's own dephasing during
the gates is part of the gate error) [U: a model choice].

Crosstalk: from a probability per attempt to a pair decay rate
------------------------------------------------------------------
Let p be the probability that one attempt's light makes a scatter event on a memory ion whose
population is entirely in the levels the light addresses. Attempts are independent, so k attempts leave
(1 − p)^k = exp(−k·n) with n = −ln(1 − p) (≈ p): the event rate while attempts run is n/τ per
communication ion (τ = attempt duration) — the rate p/τ for small p. A fraction f
(``crosstalk_coupled_fraction``) of a stored qubit's population is addressed: for a qubit in S1/2 and
D5/2 under dynamical decoupling (each state spends half the time in S1/2) and 397 nm light, f = ½; for
a ground-state (hyperfine) memory, f = 1; for a D5/2 Zeeman memory under 397/866 nm light, f = 0, under
854 nm light, f = 1. Per exposed memory ion the event rate is r = N·f·n/τ.

Action on the pair. A scatter reveals which level the ion was in (the photon is emitted only from the
addressed level), so it removes the ion's coherence: ⟨XX⟩, ⟨YY⟩ of the pair decay at r. With
probability λ (``scatter_leak_probability``) the ion also ends outside its qubit level (another Zeeman
sublevel, or S1/2 after a D5/2 quench: leakage, counted as a maximally mixed pair as in
:mod:`qrepeater.physics.memory`), which removes its ⟨Z⟩: ⟨ZZ⟩ decays at λ·r. Per exposed ion::

    Γ⊥ += r          Γ∥ += λ r          (λ = 1: depolarising / erasure; λ = 0: pure dephasing)

In Lindblad form: jump operators √(R(1−λ))|a⟩⟨a| and √(Rλ)|leak⟩⟨a| on the addressed level |a⟩ give
coherence decay R/2 + R/2 per unit population, population loss Rλ; averaging over the decoupling pulses
gives f = ½ of R for the S1/2–D5/2 qubit. The tests check Γ⊥ and Γ∥ against a density-matrix simulation
of a Bell pair with pulsed light, π pulses and these jumps. ``crosstalk_exposed_ions_per_pair`` (m) counts
the pair's ions that sit at a node whose links are still attempting: in a two-segment nested chain the
earlier pair waits at the middle node while the other link attempts, and its end node is idle (m = 1);
inner pairs of longer chains have m up to 2. The engines apply one rate to all storage, so the rate also
acts while an output pair waits for its swap message (δ ≪ the waiting time for its partner) [D].

The scatter probability p: ``crosstalk_model = "stated"`` takes it as given; ``"light"`` computes the
mean number of events n per attempt for a memory ion from the communication ion's light, held for
``light_exposure_s`` (cooling + pumping + excitation, from the scenario's timing) at saturation s and
detuning Δ_c from the communication line (two-level steady state; every figure tested against the
optical Bloch equations or checked for consistency):

* scattering rate R(s, Δ) = (Γ/2) s / (1 + s + (2Δ/Γ)²)  (two-level steady state, e.g. Foot, *Atomic
  Physics*, OUP 2005, §7.3 [not read here: the tests check it against the optical Bloch equations]);
* direct light: the memory ion sees the intensity fraction ε (``crosstalk_intensity_fraction``), at
  s_m = ε s I_sat,c/I_sat,m and detuning Δ_m = Δ_c − δ from its own line (δ = ``memory_line_offset_hz``:
  0 for the same line, the isotope shift or the line separation for a second species);
  I_sat = π h c Γ/(3 λ³);
* fluorescence: the communication ion scatters R(s, Δ_c)·t photons per attempt; at distance d
  (``ion_distance_m``) a fraction σ(Δ_m)/(4π d²) hits the memory ion and is absorbed, with the
  low-intensity cross-section σ(Δ) = σ₀/(1 + (2Δ/Γ_m)²), σ₀ = 3λ²/(2π) (isotropic emission assumed).

Same species on the same line (δ = 0): at d = 3.5 µm, s = 1, Δ_c = −Γ/2 and a 318 µs light slot the
fluorescence alone gives n ≈ 2 per attempt — the memory is destroyed at once, which is why nodes as built
keep the memory in levels the attempt light does not address (f = 0: dual-type, Lai et al.) or in a
second species (δ = 44 THz for 88Sr+ light at 422 nm on a 43Ca+ memory at 397 nm: n ≈ 1×10⁻⁹ even in the
full beam, ε = 1; both figures are tested). Off-resonant Rayleigh scattering that
leaves a clock qubit intact is not separated from state-changing Raman scattering here: every event counts
as a which-level measurement (an upper bound for a second species).

Heating (optional): the gate's depolarising probability 1 − p₂ grows by ``heating_gate_error_per_s`` per
second since the last re-cooling, so p₂ → max(0, p₂ − κ·t_rc) with t_rc = ``time_since_recooling_s``, for
the transfer and the swap gates. A stated linear model [U]; both default to 0 (off).

Platform defaults (40Ca+, grades as in the presets: [P] published and read here, [D] derived, [U] chosen)
------------------------------------------------------------------------------------------------------
* Two-qubit gate on 40Ca+ optical qubits: Bell state in 35 µs with infidelity 6(3)×10⁻⁴ (Clark et al.,
  PRL 127, 130505 (2021), arXiv:2105.05828, abstract read) [P] → p₂ = 1 − 4·6×10⁻⁴/3 = 0.9992 [D]; used for
  the transfer (two such gates [U]) and the swap.
* Readout: 99.99 % in 145 µs average detection time, 40Ca+ optical qubit (Myerson et al., PRL 100,
  200502 (2008), abstract read) [P] → readout error 1×10⁻⁴, 145 µs.
* Mixed-isotope alternative: a 40Ca+–43Ca+ Bell state of fidelity 99.8(6) %, ions 3.5 µm apart (Ballance
  et al., Nature 528, 384 (2015), arXiv:1505.04014, opening read) [P] — the default ion distance.
* 40Ca+ 4P1/2 lifetime 6.904(26) ns (Hettrich et al., PRL 115, 143003 (2015), abstract read) [P]:
  Γ = 1.448×10⁸ s⁻¹ of the 397 nm line; cooling at s = 1, Δ = −Γ/2 [U: the Doppler-cooling optimum].
* Crosstalk: none resolved — a 40Ca+ D5/2 memory kept its coherence time with and without the
  communication ion's attempts, 366(11) ms vs 368(9) ms (Lai et al., Nat. Commun. (2025), Fig. 4 caption
  read) [P]; the stated default is 0 and the ``ustc2026-node`` preset takes the bound it allows.
Not read (so not used for numbers): the gate durations and transfer circuit of Drmota et al. (only its
abstract: transfer fidelity 0.977(7)) and of the Tsinghua dual-type gate papers (arXiv:2410.05659,
2506.23562); Ozeri et al., PRA 75, 042329 (2007) on Raman vs Rayleigh scattering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import ParameterError, check_range

#: Whether the memory ion is the communication species (another level scheme) or a second species/isotope.
MEMORY_SPECIES: tuple[str, ...] = ("same", "other")
#: How the crosstalk scatter probability per attempt is obtained (module docstring).
CROSSTALK_MODELS: tuple[str, ...] = ("stated", "light")

_H = 6.62607015e-34  # Planck constant (J s), exact (SI 2019)
_C = 299_792_458.0  # speed of light (m/s), exact
_P2_CLARK_2021 = 1.0 - 4.0 * 6e-4 / 3.0  # [D] from the Bell-state infidelity 6(3)e-4 (module docstring)
_GAMMA_CA_P12 = 1.0 / 6.904e-9  # [P] 40Ca+ 4P1/2 decay rate (1/s), Hettrich et al. 2015


def reliability_from_average_fidelity(average_fidelity: float) -> float:
    """Reliability p₂ = 1 − 4(1 − F)/3 of a two-qubit depolarising gate of average (or Bell-state) fidelity F.

    The gate acts perfectly with probability p₂ and otherwise leaves 𝟙/4 (Briegel et al., PRL 81, 5932
    (1998)); its entanglement fidelity is F_e = p₂ + (1 − p₂)/16 and its average fidelity
    (d F_e + 1)/(d + 1) = 1 − 3(1 − p₂)/4 (d = 4), equal to the fidelity of every pure state after the gate,
    hence of the Bell state it prepares (checked on random states in the tests).
    """
    check_range("average_fidelity", float(average_fidelity), 0.25, 1.0)
    return 1.0 - 4.0 * (1.0 - float(average_fidelity)) / 3.0


def scattering_rate_hz(decay_rate_hz: float, saturation_parameter: float, detuning_hz: float) -> float:
    """Photon scattering rate (1/s) of a driven two-level atom in steady state.

    R = (Γ/2) s / (1 + s + (2Δ/Γ)²), Γ = ``decay_rate_hz`` (1/s), s = I/I_sat, Δ = 2π·``detuning_hz``
    (rad/s). Textbook result (e.g. Foot, *Atomic Physics* (2005) §7.3; not read here) — the tests check it
    against the steady state of the optical Bloch equations (Lindblad equation with Ω² = s Γ²/2).
    """
    gamma = float(decay_rate_hz)
    s = float(saturation_parameter)
    delta = 2.0 * math.pi * float(detuning_hz)
    return 0.5 * gamma * s / (1.0 + s + (2.0 * delta / gamma) ** 2)


def saturation_intensity_w_per_m2(wavelength_m: float, decay_rate_hz: float) -> float:
    """Two-level saturation intensity I_sat = π h c Γ / (3 λ³) (W/m²); with σ₀ = 3λ²/(2π) it makes the
    low-intensity scattering rate equal σ₀ I / (h c/λ) (checked in the tests)."""
    return math.pi * _H * _C * float(decay_rate_hz) / (3.0 * float(wavelength_m) ** 3)


def resonant_cross_section_m2(wavelength_m: float) -> float:
    """Resonant absorption cross-section σ₀ = 3λ²/(2π) (m²) of a two-level atom."""
    return 3.0 * float(wavelength_m) ** 2 / (2.0 * math.pi)


def reabsorption_probability(wavelength_m: float, decay_rate_hz: float, detuning_hz: float, distance_m: float) -> float:
    """Probability that one photon emitted isotropically at ``distance_m`` is absorbed by the ion:
    σ(Δ)/(4π d²) with σ(Δ) = σ₀/(1 + (2Δ/Γ)²), capped at 1."""
    delta = 2.0 * math.pi * float(detuning_hz)
    sigma = resonant_cross_section_m2(wavelength_m) / (1.0 + (2.0 * delta / float(decay_rate_hz)) ** 2)
    return min(1.0, sigma / (4.0 * math.pi * float(distance_m) ** 2))


@dataclass(frozen=True)
class RepeaterNode:
    """A trapped-ion repeater node with separate communication and memory ions (module docstring).

    Parameters
    ----------
    memory_species : {"same", "other"}
        Memory ion of the communication species (another level scheme) or of a second species / isotope.
    communication_qubits : int
        Communication ions per link side attempting in parallel (first success wins), N ≥ 1.
    transfer_gate_count : int
        Two-qubit gates of the communication → memory transfer (2: two CNOTs into a memory in |0⟩).
    transfer_gate_fidelity : float
        Reliability p₂ of each transfer gate (the convention of ``swap.gate_fidelity``; see
        :func:`reliability_from_average_fidelity`). Default 0.9992 [D] from Clark et al. 2021.
    transfer_gate_duration_s, swap_gate_duration_s : float
        Duration (s) of one transfer gate / of the swap's two-qubit gate; 35 µs [P] (Clark et al. 2021).
    readout_duration_s : float
        Duration (s) of the swap's readout (both ions at once); 145 µs [P] (Myerson et al. 2008).
    heating_gate_error_per_s, time_since_recooling_s : float
        Increase (1/s) of a gate's depolarising probability 1 − p₂ per second since the last re-cooling,
        and that time (s); both 0 (off) by default [U].
    crosstalk_model : {"stated", "light"}
        Scatter probability per attempt as stated, or from the light's intensity and detuning.
    crosstalk_scatter_probability_per_attempt : float
        The stated probability p (for a memory ion wholly in the addressed levels), per communication ion.
    crosstalk_coupled_fraction : float
        Share f of a stored qubit's population that the attempt light addresses.
    scatter_leak_probability : float
        Share λ of scatter events that also remove the ion's ⟨Z⟩ (leakage / random level); 1 = erasure.
    crosstalk_exposed_ions_per_pair : float
        Ions of a stored pair exposed to attempts, m ∈ [0, 2]; 1 for a two-segment chain [D].
    cooling_saturation_parameter, cooling_detuning_hz : float
        s and Δ_c/2π (Hz) of the attempt light at the communication ion, on its line ("light" model).
    communication_line_decay_rate_hz, communication_line_wavelength_m : float
        Γ (1/s) and λ (m) of the communication ion's addressed line (40Ca+ 397 nm by default).
    memory_line_offset_hz, memory_line_decay_rate_hz, memory_line_wavelength_m : float
        The memory ion's nearest line: frequency minus the communication line's (Hz; 0 for "same"), Γ, λ.
    crosstalk_intensity_fraction : float
        Intensity of the attempt light at the memory ion relative to the communication ion, ε.
    ion_distance_m : float
        Distance (m) from a communication ion to the memory ion (fluorescence reabsorption).
    """

    memory_species: Literal["same", "other"] = "same"
    communication_qubits: int = 1
    transfer_gate_count: int = 2
    transfer_gate_fidelity: float = _P2_CLARK_2021
    transfer_gate_duration_s: float = 35e-6
    swap_gate_duration_s: float = 35e-6
    readout_duration_s: float = 145e-6
    heating_gate_error_per_s: float = 0.0
    time_since_recooling_s: float = 0.0
    crosstalk_model: Literal["stated", "light"] = "stated"
    crosstalk_scatter_probability_per_attempt: float = 0.0
    crosstalk_coupled_fraction: float = 1.0
    scatter_leak_probability: float = 1.0
    crosstalk_exposed_ions_per_pair: float = 1.0
    cooling_saturation_parameter: float = 1.0
    cooling_detuning_hz: float = -0.25 * _GAMMA_CA_P12 / math.pi
    communication_line_decay_rate_hz: float = _GAMMA_CA_P12
    communication_line_wavelength_m: float = 396.96e-9
    memory_line_offset_hz: float = 0.0
    memory_line_decay_rate_hz: float = _GAMMA_CA_P12
    memory_line_wavelength_m: float = 396.96e-9
    crosstalk_intensity_fraction: float = 0.0
    ion_distance_m: float = 3.5e-6

    def __post_init__(self) -> None:
        if self.memory_species not in MEMORY_SPECIES:
            raise ParameterError("memory_species", self.memory_species, " | ".join(MEMORY_SPECIES))
        if self.crosstalk_model not in CROSSTALK_MODELS:
            raise ParameterError("crosstalk_model", self.crosstalk_model, " | ".join(CROSSTALK_MODELS))
        for name, low in (("communication_qubits", 1), ("transfer_gate_count", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ParameterError(name, value, f"an integer >= {low}")
        for name in ("transfer_gate_fidelity", "crosstalk_scatter_probability_per_attempt", "crosstalk_coupled_fraction",
                     "scatter_leak_probability", "crosstalk_intensity_fraction"):
            check_range(name, float(getattr(self, name)), 0.0, 1.0)
        for name in ("transfer_gate_duration_s", "swap_gate_duration_s", "readout_duration_s", "heating_gate_error_per_s",
                     "time_since_recooling_s", "cooling_saturation_parameter"):
            check_range(name, float(getattr(self, name)), 0.0, None)
        for name in ("communication_line_decay_rate_hz", "communication_line_wavelength_m", "memory_line_decay_rate_hz",
                     "memory_line_wavelength_m", "ion_distance_m"):
            check_range(name, float(getattr(self, name)), 0.0, None, low_inclusive=False)
        check_range("crosstalk_exposed_ions_per_pair", float(self.crosstalk_exposed_ions_per_pair), 0.0, 2.0)
        if self.memory_species == "same" and self.memory_line_offset_hz != 0.0:
            raise ParameterError("memory_line_offset_hz", self.memory_line_offset_hz,
                                 "0 for memory_species = 'same' (a second species or isotope: memory_species = 'other')")

    # -- gates ---------------------------------------------------------------------------------------
    def gate_reliability(self, reliability: float) -> float:
        """Reliability p₂ of a gate after heating: max(0, p₂ − κ·t_rc) (module docstring)."""
        check_range("gate reliability", float(reliability), 0.0, 1.0)
        return max(0.0, float(reliability) - self.heating_gate_error_per_s * self.time_since_recooling_s)

    @property
    def transfer_bloch_shrink(self) -> float:
        """Bloch shrink p₂^n of a qubit moved from its communication ion to a memory ion."""
        return self.gate_reliability(self.transfer_gate_fidelity) ** self.transfer_gate_count

    @property
    def transfer_duration_s(self) -> float:
        """Duration (s) of the transfer, counted as storage of the fresh pair."""
        return self.transfer_gate_count * self.transfer_gate_duration_s

    @property
    def swap_duration_s(self) -> float:
        """Duration (s) of the swap: the two-qubit gate, then the readout of both ions."""
        return self.swap_gate_duration_s + self.readout_duration_s

    def multiplexed_success_probability(self, success_probability: float) -> float:
        """Probability 1 − (1 − p)^N that at least one of the N communication ions heralds in an attempt."""
        p = float(success_probability)
        check_range("success_probability", p, 0.0, 1.0)
        return 1.0 if p == 1.0 else -math.expm1(self.communication_qubits * math.log1p(-p))

    # -- crosstalk -----------------------------------------------------------------------------------
    def scatter_events_per_attempt(self, light_exposure_s: float) -> float:
        """Mean number n of scatter events per attempt on a memory ion wholly in the addressed levels,
        from one communication ion: −ln(1 − p) when stated, else direct light + fluorescence."""
        if self.crosstalk_model == "stated":
            p = float(self.crosstalk_scatter_probability_per_attempt)
            return math.inf if p >= 1.0 else -math.log1p(-p)
        check_range("light_exposure_s", float(light_exposure_s), 0.0, None)
        gamma_c, gamma_m = self.communication_line_decay_rate_hz, self.memory_line_decay_rate_hz
        detuning_m = self.cooling_detuning_hz - self.memory_line_offset_hz
        isat_ratio = (saturation_intensity_w_per_m2(self.communication_line_wavelength_m, gamma_c)
                      / saturation_intensity_w_per_m2(self.memory_line_wavelength_m, gamma_m))
        s_memory = self.crosstalk_intensity_fraction * self.cooling_saturation_parameter * isat_ratio
        direct = scattering_rate_hz(gamma_m, s_memory, detuning_m) * light_exposure_s
        emitted = scattering_rate_hz(gamma_c, self.cooling_saturation_parameter, self.cooling_detuning_hz) * light_exposure_s
        absorbed = emitted * reabsorption_probability(self.memory_line_wavelength_m, gamma_m, detuning_m, self.ion_distance_m)
        return direct + absorbed

    def scatter_probability_per_attempt(self, light_exposure_s: float) -> float:
        """p = 1 − exp(−n): probability of at least one scatter event per attempt (one communication ion)."""
        return -math.expm1(-self.scatter_events_per_attempt(light_exposure_s))

    def crosstalk_event_rate_hz(self, attempt_duration_s: float, light_exposure_s: float) -> float:
        """Scatter-event rate r = N·f·n/τ (1/s) on one exposed memory ion while attempts run."""
        check_range("attempt_duration_s", float(attempt_duration_s), 0.0, None, low_inclusive=False)
        if self.crosstalk_coupled_fraction == 0.0:
            return 0.0
        n = self.scatter_events_per_attempt(light_exposure_s)
        return self.communication_qubits * self.crosstalk_coupled_fraction * n / float(attempt_duration_s)

    def crosstalk_pair_rates_hz(self, attempt_duration_s: float, light_exposure_s: float) -> tuple[float, float]:
        """Extra pair decay rates (Γ⊥, Γ∥) (1/s) from crosstalk: (m·r, m·λ·r)."""
        rate = self.crosstalk_exposed_ions_per_pair * self.crosstalk_event_rate_hz(attempt_duration_s, light_exposure_s)
        if math.isinf(rate):
            raise ParameterError("repeater_node.crosstalk_scatter_probability_per_attempt", 1.0,
                                 "[0, 1): a certain scatter every attempt destroys every stored qubit")
        return rate, self.scatter_leak_probability * rate
