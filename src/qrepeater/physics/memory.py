"""Trapped-ion memory: storage-level decay, magnetic-field dephasing, dynamical decoupling, transfer.

The model of one ion memory (reference: 40Ca+, Liu et al., arXiv:2602.08472; see
``shared/reference/ustc2026.md``) has four mechanisms, each with its own parameter:

* **Storage-level decay.** The metastable D5/2 level decays with natural lifetime
  ``storage_level_lifetime_s`` (1.16 s [P]). Under dynamical decoupling (DD) the π pulses swap the two
  qubit levels every pulse interval, so on average each ion spends half its time in D5/2: a decay
  event occurs at rate ``1/(2 T1)`` and leaves the ion in a definite state, which removes that ion's
  share of *all* pair correlators. The pair's ⟨ZZ⟩ and ⟨XX⟩/⟨YY⟩ both decay at ``Σ_nodes 1/(2 T1)``
  from this mechanism.
* **Magnetic-field dephasing.** The qubit frequency fluctuates with the field: an Ornstein–Uhlenbeck
  frequency noise of rms ``field_noise_rms_rad_per_s`` and correlation time
  ``field_noise_correlation_time_s``. Without DD this gives a Gaussian free-induction decay with
  ``T2* = √2/σ``; with π pulses every ``Δt`` the long-time coherence decays exponentially at
  ``Γ_B = (σ²/2) ∫ e^{−|u|/τ_c} g(u) du`` where ``g`` is the triangle-wave autocorrelation of the DD
  switching function (filter-function result; limits ``σ²τ_c`` for ``Δt ≫ τ_c`` — motional
  narrowing — and ``σ²Δt²/(12 τ_c)`` for ``Δt ≪ τ_c``).
* **DD pulse errors.** Knill pulses every ``decoupling_pulse_interval_s`` (0.5 ms [P/S]) with error
  ``decoupling_error_per_pulse`` (6.1e-4 node A, 5.7e-4 node B [S]). Knill sequences are built to
  cancel pulse errors: only a fraction ``pulse_error_dephasing_weight`` of the quoted per-pulse error
  accumulates as loss of transverse coherence, ``Γ_pulse = w·ε/Δt``. The weight is not published; the
  reference preset sets it so that the [P] pair coherence time (550 ms) follows from the [S] pulse
  errors together with the other mechanisms (with full accumulation, ``w = 1``, the [S] errors alone
  would limit the pair to 424 ms, below the measured 550 ± 36 ms).
* **State transfer.** The stimulated-Raman transfer into the storage encoding has average state
  fidelity ``state_transfer_fidelity``; it acts as a depolarising channel with Bloch shrink
  ``2F − 1`` on that ion.

The ⟨ZZ⟩ decay at ``Σ 1/(2T1)`` and the ⟨XX⟩ decay at the total transverse rate reproduce the
[P] stored-pair figures (expected fidelity 0.578 with no window and 0.668 with a 450 ms window) —
see ``tests/test_link_reference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ..errors import check_range


def dd_dephasing_rate_hz(
    field_noise_rms_rad_per_s: float, correlation_time_s: float, pulse_interval_s: float | None
) -> float:
    """Long-time coherence decay rate (1/s) of one qubit in Ornstein–Uhlenbeck frequency noise.

    Parameters
    ----------
    field_noise_rms_rad_per_s : float
        rms of the qubit-frequency fluctuation σ (rad/s).
    correlation_time_s : float
        correlation time τ_c of the noise (s).
    pulse_interval_s : float or None
        spacing Δt of the π pulses (s); ``None`` means no decoupling.

    Returns
    -------
    float
        Γ such that the coherence decays as exp(−Γ t) for t ≫ max(Δt, τ_c):
        Γ = (σ²/2) ∫ e^{−|u|/τ_c} g(u) du with g the triangle-wave autocorrelation (period 2Δt) of
        the ±1 switching function; g ≡ 1 without pulses, giving the motional-narrowing rate σ²τ_c.
    """
    sigma2 = float(field_noise_rms_rad_per_s) ** 2
    tau = float(correlation_time_s)
    if sigma2 == 0.0:
        return 0.0
    if pulse_interval_s is None:
        return sigma2 * tau
    return 0.5 * sigma2 * _switching_integral(float(pulse_interval_s), tau)


def _switching_integral(dt: float, tau: float) -> float:
    """∫_{−∞}^{∞} e^{−|u|/τ} g(u) du for the triangle wave g of period 2Δt (g(0)=1, g(Δt)=−1).

    With b = Δt/τ and E = 1 − e^{−b}, integrating g = 1 − 2u/Δt on [0, Δt] and −3 + 2u/Δt on
    [Δt, 2Δt], summing the geometric series over periods and doubling for u < 0 gives

        I = 2Δt/(1 + e^{−b}) · [(2 − E)/b − 2E/b²]

    whose bracket cancels to b/6 − b²/12 + … for small b; there the series
    ``I = Δt·b/6·(1 − b²/10)`` is used instead.
    """
    b = dt / tau
    if b < 1e-2:
        return dt * b / 6.0 * (1.0 - b * b / 10.0)
    e = -np.expm1(-b)
    return 2.0 * dt / (1.0 + np.exp(-b)) * ((2.0 - e) / b - 2.0 * e / b**2)


@dataclass(frozen=True)
class IonMemory:
    """One trapped-ion quantum memory under dynamical decoupling.

    Parameters
    ----------
    storage_level_lifetime_s : float
        Natural lifetime T1 of the storage level (s); 40Ca+ D5/2: 1.16 s [P].
    decoupling_pulse_interval_s : float
        Spacing of the Knill DD pulses (s); 0.5 ms [P/S].
    decoupling_error_per_pulse : float
        Error of one DD pulse (dimensionless); 6.1e-4 (A), 5.7e-4 (B) [S].
    pulse_error_dephasing_weight : float
        Fraction of the per-pulse error that accumulates as transverse decoherence (dimensionless,
        [0, 1]); not published, calibrated in the preset (see module docstring).
    field_noise_rms_rad_per_s : float
        rms qubit-frequency noise from magnetic-field fluctuations (rad/s); not published.
    field_noise_correlation_time_s : float
        Correlation time of that noise (s); not published.
    state_transfer_fidelity : float
        Average state fidelity of the Raman transfer into the storage encoding; not published.
    """

    storage_level_lifetime_s: float = 1.16
    decoupling_pulse_interval_s: float = 0.5e-3
    decoupling_error_per_pulse: float = 6.1e-4
    pulse_error_dephasing_weight: float = 1.0
    field_noise_rms_rad_per_s: float = 0.0
    field_noise_correlation_time_s: float = 0.05
    state_transfer_fidelity: float = 1.0

    def __post_init__(self) -> None:
        check_range("storage_level_lifetime_s", self.storage_level_lifetime_s, 0, None, low_inclusive=False)
        check_range("decoupling_pulse_interval_s", self.decoupling_pulse_interval_s, 0, None, low_inclusive=False)
        check_range("decoupling_error_per_pulse", self.decoupling_error_per_pulse, 0, 1)
        check_range("pulse_error_dephasing_weight", self.pulse_error_dephasing_weight, 0, 1)
        check_range("field_noise_rms_rad_per_s", self.field_noise_rms_rad_per_s, 0, None)
        check_range("field_noise_correlation_time_s", self.field_noise_correlation_time_s, 0, None, low_inclusive=False)
        check_range("state_transfer_fidelity", self.state_transfer_fidelity, 0.5, 1)

    @property
    def storage_decay_rate_hz(self) -> float:
        """Rate (1/s) of storage-level decay events under DD: half the time in D5/2 → 1/(2 T1)."""
        return 0.5 / self.storage_level_lifetime_s

    @property
    def pulse_dephasing_rate_hz(self) -> float:
        """Transverse decoherence rate (1/s) from accumulated DD pulse errors, w·ε/Δt."""
        return self.pulse_error_dephasing_weight * self.decoupling_error_per_pulse / self.decoupling_pulse_interval_s

    @property
    def field_dephasing_rate_hz(self) -> float:
        """Residual magnetic-field dephasing rate (1/s) with the DD pulse train."""
        return dd_dephasing_rate_hz(
            self.field_noise_rms_rad_per_s, self.field_noise_correlation_time_s, self.decoupling_pulse_interval_s
        )

    @property
    def transverse_decay_rate_hz(self) -> float:
        """Total decay rate (1/s) of this ion's share of the ⟨XX⟩, ⟨YY⟩ correlators."""
        return self.storage_decay_rate_hz + self.pulse_dephasing_rate_hz + self.field_dephasing_rate_hz

    @property
    def longitudinal_decay_rate_hz(self) -> float:
        """Decay rate (1/s) of this ion's share of the ⟨ZZ⟩ correlator (population decay)."""
        return self.storage_decay_rate_hz

    @property
    def transfer_bloch_shrink(self) -> float:
        """Bloch-vector shrink 2F − 1 of the depolarising state transfer."""
        return 2.0 * self.state_transfer_fidelity - 1.0


@dataclass(frozen=True)
class PairDecay:
    """Decay rates (1/s) of a stored pair's correlators: the sums over its two memories."""

    transverse_rate_hz: float
    longitudinal_rate_hz: float

    @property
    def coherence_time_s(self) -> float:
        """1/e time (s) of ⟨XX⟩ — the 'remote-entanglement coherence time' of the reference."""
        return np.inf if self.transverse_rate_hz == 0 else 1.0 / self.transverse_rate_hz

    @property
    def decoherence_rate_hz(self) -> float:
        """Inverse coherence time (1/s), the r_dec of Humphreys et al. 2018."""
        return self.transverse_rate_hz


def pair_decay(memory_a: IonMemory, memory_b: IonMemory) -> PairDecay:
    """Decay rates of a pair shared between memories A and B (independent noise on each)."""
    return PairDecay(
        transverse_rate_hz=memory_a.transverse_decay_rate_hz + memory_b.transverse_decay_rate_hz,
        longitudinal_rate_hz=memory_a.longitudinal_decay_rate_hz + memory_b.longitudinal_decay_rate_hz,
    )
