"""Model quantities that published figures are compared with.

A figure's ``model`` names one of these. Hardware quantities are computed from scenario data at an
operating point (:class:`Evaluation` builds each point once); formula quantities evaluate a published
formula at published inputs (other figures' paper values).
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Any, Callable

from ..builders import link_hardware, link_metrics, qkd_source, scenario_link
from ..config import apply_overrides, validate_scenario
from ..errors import ConfigError
from ..links import LinkMetrics, delivery_threshold
from ..links.storage import stored_fidelity
from ..qkd.entropy import TSIRELSON
from ..qkd.finite_size import DEFAULT_EPS_COM, finite_key, minimum_rounds
from ..qkd.nadlinger import protocol_key_length
from ..qkd.rates import asymptotic_rate, pironio_rate
from ..states import chsh_optimal_settings


class Point:
    """The model at one operating point (the scenario data with the point's overrides)."""

    def __init__(self, data: dict, overrides: tuple[str, ...]):
        self.scenario = validate_scenario(apply_overrides(data, list(overrides)) if overrides else data)

    @cached_property
    def metrics(self) -> LinkMetrics:
        return link_metrics(self.scenario)

    @cached_property
    def link(self):
        return scenario_link(self.scenario)

    @cached_property
    def chsh_qber(self) -> tuple[float, float]:
        """CHSH value with Bob's settings aligned to the state and the key-basis QBER of the measured
        state, readout errors included (:func:`qrepeater.states.chsh_optimal_settings`)."""
        source = qkd_source(self.scenario)
        xx, _, zz = source.state.correlators
        shrink = (1.0 - 2.0 * source.readout_error) ** 2
        return chsh_optimal_settings(xx * shrink, zz * shrink), (1.0 - zz * shrink) / 2.0


class Evaluation:
    """Every operating point of an experiment for one set of scenario data, each built once."""

    def __init__(self, data: dict, points: dict[str, tuple[str, ...]]):
        self.data = data
        self.points = points
        self._cache: dict[str, Point] = {}

    def at(self, point: str) -> Point:
        if point not in self._cache:
            if point not in self.points:
                raise ConfigError(f"unknown operating point {point!r}; defined: {', '.join(self.points)}")
            self._cache[point] = Point(self.data, self.points[point])
        return self._cache[point]


def _stored_fidelity(p: Point, ev: Evaluation, storage_time_s: float) -> float:
    rates = p.link.pair_decay
    return float(stored_fidelity(p.link.heralded_state, storage_time_s, rates.transverse_rate_hz, rates.longitudinal_rate_hz))


def _conversion_noise(p: Point, ev: Evaluation, per_detector: bool = False) -> float:
    """Conversion-noise counts per second one node causes at the station (both detectors, or one)."""
    both = link_hardware(p.scenario).conversion_noise_at_detectors_hz("a")
    return both / 2.0 if per_detector else both


def _rate_slope(p: Point, ev: Evaluation, from_point: str) -> float:
    """Secant of the heralding rate between two operating points, Hz per percent of α."""
    q = ev.at(from_point)
    d_alpha = p.scenario.link.excitation_probability - q.scenario.link.excitation_probability
    return (p.metrics.rate_hz - q.metrics.rate_hz) / (100.0 * d_alpha)


#: name → f(point, evaluation, **args): quantities of the hardware model at an operating point.
#: Every field of :class:`qrepeater.links.LinkMetrics` is one as well, under its own name.
HARDWARE: dict[str, Callable[..., float]] = {
    "stored_fidelity": _stored_fidelity,
    "module_to_detector_efficiency": lambda p, ev, probe="photon": link_hardware(p.scenario).module_to_detector_efficiency("a", probe),
    "conversion_noise_at_detectors_hz": _conversion_noise,
    "rate_slope_hz_per_percent": _rate_slope,
    "chsh": lambda p, ev: p.chsh_qber[0],
    "qber": lambda p, ev: p.chsh_qber[1],
}


@lru_cache(maxsize=256)
def _finite_key_bits(chsh: float, qber: float, rounds: int, method: str) -> float:
    """Finite-size key of ``method`` at its default security parameters (ε_sec = ε_cor = 1e-10,
    completeness ε_com = 1e-2, error-correction efficiency 1.1): nothing tuned to the published key."""
    return float(finite_key(int(rounds), chsh, qber, method=method, eps_com=DEFAULT_EPS_COM, compute_min_rounds=False).key_bits)


@lru_cache(maxsize=256)
def _min_rounds(chsh: float, qber: float, method: str) -> float:
    """Rounds ``method`` needs for a positive key at its default security parameters."""
    return float(minimum_rounds(chsh, qber, method, eps_com=DEFAULT_EPS_COM))


#: name → f(**inputs, **args): published formulas evaluated at published inputs.
FORMULAS: dict[str, Callable[..., float]] = {
    "delivery_threshold": lambda: delivery_threshold(1.0),
    "pironio_rate": lambda chsh, qber: asymptotic_rate(chsh, qber, "pironio"),
    "finite_key_bits": _finite_key_bits,
    "min_rounds": _min_rounds,
}


def hardware_quantity(ev: Evaluation, model: str, point: str, args: dict[str, Any]) -> float:
    """Value of hardware quantity ``model`` at ``point``."""
    p = ev.at(point)
    if model in HARDWARE:
        return float(HARDWARE[model](p, ev, **args))
    if model in LinkMetrics.__dataclass_fields__:
        value = getattr(p.metrics, model)
        if value is None:
            raise ConfigError(f"model quantity {model!r} is not defined for this scenario")
        return float(value)
    raise ConfigError(f"unknown model quantity {model!r}")


def formula_quantity(model: str, inputs: dict[str, float], args: dict[str, Any]) -> float:
    """Value of formula ``model`` at the given published inputs."""
    if model not in FORMULAS:
        raise ConfigError(f"unknown formula {model!r}; known: {', '.join(FORMULAS)}")
    return float(FORMULAS[model](**inputs, **args))


# ---------------------------------------------------------------- non-ion links (issue 12: munich2022,
# vanleent2022, delft2018). Quantities of abstract links: the measured state after storage, the
# standard-protocol key rate without clipping, and the two rescalings the papers' operating points need
# (a two-photon link moved along the fibre, a single-photon link moved along the bright-state population).
_SPEED_OF_LIGHT_KM_PER_S = 299_792.458


def _measured_fidelity(p: Point, ev: Evaluation) -> float:
    """Fidelity with Φ+ of the state the experiment measures: the heralded pair after
    ``qkd.measurement_delay_s`` of storage, estimated from its correlators with the readout error
    shrinking each by (1 − 2e)², F = (1 + s(⟨XX⟩ − ⟨YY⟩ + ⟨ZZ⟩))/4 (the Bell-state fidelity in terms
    of Pauli correlators)."""
    source = qkd_source(p.scenario)
    xx, yy, zz = source.state.correlators
    shrink = (1.0 - 2.0 * source.readout_error) ** 2
    return float((1.0 + shrink * (xx - yy + zz)) / 4.0)


def _pironio_rate_unclipped(p: Point, ev: Evaluation) -> float:
    """Pironio et al., NJP 11, 045021 (2009), r = 1 − h(Q) − h((1 + √((S/2)² − 1))/2), at the model's S
    and QBER, *not* clipped at 0, so that a 1σ propagates through a rate near zero (a negative value
    means no key)."""
    chsh, qber = p.chsh_qber
    return float(pironio_rate(min(chsh, TSIRELSON), qber))


def _two_photon_rate_at_length(p: Point, ev: Evaluation, length_km: float, attenuation_db_per_km: float,
                               group_index: float) -> float:
    """Heralding rate of the point's two-photon link moved to total fibre length ``length_km``.

    Both photons cross half the fibre to the station, so the success probability scales with the
    transmission of the whole length, p(L) = p(L₀)·10^(−a(L − L₀)/10); an attempt lasts at least the
    photons' flight to the station, so the attempt duration changes by the flight time of half the
    length difference, T(L) = T(L₀) + (L − L₀)/2 · n_g/c (the herald returns over a short cable:
    spooled fibre beside the nodes). L₀, p(L₀) and T(L₀) are the point's ``link`` values.
    """
    link = p.scenario.link
    dl = float(length_km) - link.length_km
    prob = link.success_probability * 10.0 ** (-attenuation_db_per_km * dl / 10.0)
    duration = link.attempt_duration_s + 0.5 * dl * group_index / _SPEED_OF_LIGHT_KM_PER_S
    if duration <= 0:
        raise ConfigError(f"two-photon rate at {length_km} km: the attempt would last {duration} s")
    return prob / duration


def _spi_rate(p: Point, ev: Evaluation, bright_state_population: float, reference_bright_state_population: float) -> float:
    """Heralding rate of a single-photon (single-click) link at bright-state population α, from the
    point's rate at α_ref: p ≈ 2·α·p_det for p_det ≪ 1 (Humphreys et al., Nature 558, 268 (2018)), so the
    rate scales as α/α_ref at a fixed attempt duration."""
    return p.metrics.rate_hz * bright_state_population / reference_bright_state_population


def _spi_fidelity(p: Point, ev: Evaluation, bright_state_population: float, reference_bright_state_population: float) -> float:
    """Heralded fidelity of a single-photon link at bright-state population α, from the point's at α_ref.

    Given a click, both nodes were bright with probability ≈ α (for p_det ≪ 1: α²·2p_det out of
    2α(1 − α)p_det + α²·2p_det), which caps the fidelity at 1 − α (Humphreys et al. 2018; Stolk et al.,
    Sci. Adv. 10, eadp6442 (2024)); the rest of the error (phase, distinguishability) is taken as
    independent of α, so F(α) = F(α_ref)·(1 − α)/(1 − α_ref). A reconstruction: the papers' own
    fidelity model (Hermans et al., arXiv:2208.07449) could not be read here.
    """
    return p.metrics.heralded_fidelity * (1.0 - bright_state_population) / (1.0 - reference_bright_state_population)


HARDWARE.update({
    "measured_fidelity": _measured_fidelity,
    "pironio_rate_unclipped": _pironio_rate_unclipped,
    "two_photon_rate_hz_at_length": _two_photon_rate_at_length,
    "spi_rate_hz": _spi_rate,
    "spi_heralded_fidelity": _spi_fidelity,
})


# ---------------------------------------------------------------- trapped-ion experiments (issue 12: oxford2022).
# The DI-QKD figures of a two-photon ion link: the CHSH value for the settings the experiment fixes in
# advance, the CHSH winning probability its acceptance test scores, the ratio of a quantity between two
# operating points, and the finite-size key of a protocol whose parameters are all published.
from ..states import chsh_fixed_settings as _chsh_fixed_settings  # noqa: E402


def _chsh_fixed(p: Point, ev: Evaluation) -> float:
    """CHSH value for fixed textbook settings (Alice Z, X; Bob (Z ± X)/√2), S = √2(⟨ZZ⟩ + ⟨XX⟩), of the
    measured state (:func:`qrepeater.states.chsh_fixed_settings`; Nadlinger et al., Nature 607, 682
    (2022), SI S2 C: Bob's angles are the ones optimal for a pure Bell state), readout errors included."""
    source = qkd_source(p.scenario)
    xx, _, zz = source.state.correlators
    shrink = (1.0 - 2.0 * source.readout_error) ** 2
    return float(_chsh_fixed_settings(xx * shrink, zz * shrink))


def _chsh_winning_probability(p: Point, ev: Evaluation) -> float:
    """Probability of winning the CHSH game with the fixed settings, ω = (4 + S)/8 (Nadlinger et al. 2022,
    main text: S = 4(2ω − 1); SI S7)."""
    return (4.0 + _chsh_fixed(p, ev)) / 8.0


def _ratio(p: Point, ev: Evaluation, quantity: str, from_point: str, **args: Any) -> float:
    """``quantity`` at this point divided by its value at ``from_point`` (e.g. the success probability
    after lengthening the fibre, relative to the published link)."""
    return _value_at(p, ev, quantity, args) / _value_at(ev.at(from_point), ev, quantity, args)


def _value_at(p: Point, ev: Evaluation, quantity: str, args: dict[str, Any]) -> float:
    """Hardware quantity ``quantity`` (a :data:`HARDWARE` entry or a LinkMetrics field) at point ``p``."""
    if quantity in HARDWARE:
        return float(HARDWARE[quantity](p, ev, **args))
    value = getattr(p.metrics, quantity, None) if quantity in LinkMetrics.__dataclass_fields__ else None
    if value is None:
        raise ConfigError(f"model quantity {quantity!r} is not defined for this scenario")
    return float(value)


def _finite_key_protocol(rounds: int, chsh: float, qber: float, method: str, test_fraction: float | None = None,
                         ec_leakage_bits: float | None = None, eps_sec: float = 1e-10, eps_cor: float = 1e-10) -> float:
    """Finite-size key of ``method`` (:func:`qrepeater.qkd.finite_size.finite_key`) at a protocol's own
    published parameters: rounds, test-round probability, error-correction syndrome length, security
    parameters; the completeness error of the acceptance test is :data:`DEFAULT_EPS_COM` (1 %, also
    Nadlinger et al.'s choice, SI S7). ``chsh`` and ``qber`` are the values the protocol was designed for."""
    return float(finite_key(int(rounds), chsh, qber, method=method, test_fraction=test_fraction,
                            ec_leakage_bits=ec_leakage_bits, eps_sec=eps_sec, eps_cor=eps_cor,
                            eps_com=DEFAULT_EPS_COM, compute_min_rounds=False).key_bits)


def _ec_leakage_protocol(rounds: int, chsh: float, qber: float, method: str, test_fraction: float) -> float:
    """Error-correction leakage (bits) qrepeater charges a protocol (:func:`qrepeater.qkd.finite_size.finite_key`,
    ``ec_efficiency`` 1.1 times the Shannon cost of reconciling key and test rounds), to compare with a
    published syndrome length."""
    return float(finite_key(int(rounds), chsh, qber, method=method, test_fraction=test_fraction,
                            eps_com=DEFAULT_EPS_COM, compute_min_rounds=False).ec_leakage_bits)


def _finite_key_nadlinger2022(rounds: int, test_fraction: float, chsh: float, qber: float, syndrome_bits: float,
                              eps_snd: float, completeness_sigmas: float = 3.0) -> float:
    """Key (bits, floored) of Nadlinger et al.'s analysis (:func:`qrepeater.qkd.nadlinger.protocol_key_length`,
    SI Proposition 2, Eq. (73)) at the protocol's own parameters: acceptance threshold from Eqs. (24)-(25)
    with k = ``completeness_sigmas`` at the design ``chsh``, syndrome length ``syndrome_bits``, soundness
    ``eps_snd``; the free parameters (tangent point, Renyi parameters, smoothing split) optimised."""
    length = protocol_key_length(int(rounds), test_fraction, chsh, qber, syndrome=syndrome_bits, eps_snd=eps_snd,
                                 sigmas=completeness_sigmas)[0]
    return float(int(length)) if length > 0 else 0.0  # floor of a positive length; -inf or <= 0: no key


HARDWARE.update({
    "chsh_fixed": _chsh_fixed,
    "chsh_winning_probability": _chsh_winning_probability,
    "ratio": _ratio,
})
FORMULAS.update({
    "finite_key_bits_protocol": _finite_key_protocol,
    "ec_leakage_bits_protocol": _ec_leakage_protocol,
    "finite_key_bits_nadlinger2022": _finite_key_nadlinger2022,
})


# ---------------------------------------------------------------- ion-photon entanglement (issue 12: innsbruck2024).
# An ion entangled with the polarisation of its photon; the photon is (optionally) converted to 1550 nm,
# sent down a fibre and analysed at its far end. In hardware terms this is node A's arm of a link whose
# station sits at node B (station_position = 1): the detection probability is the arm efficiency, and the
# state tomography sees the ion-photon state mixed with background clicks (Krutyanskiy et al., PRX
# Quantum 5, 020308 (2024), arXiv:2308.08891, Sec. III and App. C, D).
import math as _math

from ..states import BellDiagonal as _BellDiagonal


def _ion_photon_detection_probability(p: Point, ev: Evaluation) -> float:
    """Probability per attempt that node A's photon clicks a detector at the end of its arm: the product
    of the efficiency budget (fibre-coupled emission × converter and filters × fibre × detector × window
    capture, :meth:`qrepeater.links.heralding.LinkHardware.arm_efficiency`; Krutyanskiy et al. 2024,
    App. C lists the same factors)."""
    return float(link_hardware(p.scenario).arm_efficiency("a"))


def _ion_photon_state(p: Point, coherence_time_s: float) -> _BellDiagonal:
    """The ion-photon state a tomography conditioned on a click reconstructs (target Φ+-like |ψ(0)⟩).

    Signal: a maximally entangled pair whose Pauli correlators are shrunk by (1 − 2e)² with e =
    ``qkd.readout_error`` (a symmetric error per measured outcome, standing for every imperfection of the
    emitted state) and whose ion coherence (⟨XX⟩, ⟨YY⟩) decays as exp(−t/T₂) while the photon flies the
    arm, t = L·n_g/c (``coherence_time_s`` = T₂; populations are kept: the D5/2 lifetime, 1.16 s, is long).
    Background: a click without the photon — dark counts of both detectors plus node A's conversion noise,
    probability p_n = 1 − exp(−R·window) — has an outcome uncorrelated with the ion, so it adds zero
    correlators. Given a click, the photon caused it with probability w = p_s / (p_s + (1 − p_s)·p_n)
    (p_s: the detection probability; a photon and a background click in one window, O(p_s·p_n), is
    neglected), and every correlator is multiplied by w: the model of the paper's App. D, with the
    emitted state's imperfection added.
    """
    hw = link_hardware(p.scenario)
    signal = hw.arm_efficiency("a")
    det = hw.detector
    background_rate_hz = 2.0 * det.dark_count_rate_hz + hw.conversion_noise_at_detectors_hz("a")
    noise = -_math.expm1(-background_rate_hz * det.detection_window_s)
    weight = signal / (signal + (1.0 - signal) * noise)
    shrink = (1.0 - 2.0 * p.scenario.qkd.readout_error) ** 2
    coherence = _math.exp(-hw.fiber.delay_s(hw.arm_a_km) / coherence_time_s)
    c = weight * shrink
    return _BellDiagonal.from_correlators(c * coherence, -c * coherence, c)


def _ion_photon_fidelity(p: Point, ev: Evaluation, coherence_time_s: float) -> float:
    """Fidelity of the reconstructed ion-photon state with the maximally entangled target (see
    :func:`_ion_photon_state`)."""
    return float(_ion_photon_state(p, coherence_time_s).fidelity)


def _ion_photon_concurrence(p: Point, ev: Evaluation, coherence_time_s: float) -> float:
    """Concurrence (Hill & Wootters, PRL 78, 5022 (1997)) of the reconstructed ion-photon state; for a
    Bell-diagonal state with largest weight λ it is max(0, 2λ − 1) (Bennett, DiVincenzo, Smolin &
    Wootters, PRA 54, 3824 (1996): such a state is entangled iff λ > 1/2)."""
    lam = float(max(_ion_photon_state(p, coherence_time_s).coefficients))
    return max(0.0, 2.0 * lam - 1.0)


HARDWARE.update({
    "ion_photon_detection_probability": _ion_photon_detection_probability,
    "ion_photon_fidelity": _ion_photon_fidelity,
    "ion_photon_concurrence": _ion_photon_concurrence,
})
