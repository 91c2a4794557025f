"""Quantum frequency conversion (393 nm → telecom) and the noise filter cascade.

The reference converts 393 nm photons to ≈1550 nm in one difference-frequency step in a PPLN waveguide
pumped at 527 nm (≈60 mW) [P/S]. The pump creates broadband noise photons with spectral density
1.3e5 photons s⁻¹ nm⁻¹ near 1550 nm [P], which a cascade of filters cuts down: a 100 GHz band-pass,
a 10 GHz volume Bragg grating (VBG) and a 40 MHz etalon, together 28 % transmission and 35 counts/s
of residual noise [P].

Noise after the cascade = S_λ · ∫ T(λ) dλ with T the product of the stage transmission spectra. A
stage's ``shape`` is one of

* ``"flat"``: transmission ``peak_transmission`` within ± bandwidth/2, zero outside;
* ``"gaussian"``: ``peak · exp(−4 ln2 ν²/FWHM²)`` (a VBG's reflection band is close to this);
* ``"airy"``: a Fabry–Pérot etalon, ``peak / (1 + K sin²(πν/FSR))`` with the coefficient of
  finesse K fixed by the FWHM: ``K sin²(π·FWHM/(2·FSR)) = 1``. An etalon transmits every
  free-spectral-range, so the noise it passes depends on how many of its orders the broader stages let
  through.

The signal sits at the centre of every stage, so the signal transmission is the product of the peaks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from ..errors import ParameterError, check_range
from .constants import SPEED_OF_LIGHT_M_PER_S

FilterShape = Literal["flat", "gaussian", "airy"]


def bandwidth_nm_from_hz(bandwidth_hz: float, wavelength_m: float) -> float:
    """Convert a bandwidth at ``wavelength_m`` from Hz to nm: Δλ = λ²Δν/c."""
    return wavelength_m**2 * bandwidth_hz / SPEED_OF_LIGHT_M_PER_S * 1e9


def difference_frequency_wavelength_m(signal_wavelength_m: float, pump_wavelength_m: float) -> float:
    """Output wavelength of difference-frequency generation: 1/λ_out = 1/λ_signal − 1/λ_pump."""
    inv = 1.0 / signal_wavelength_m - 1.0 / pump_wavelength_m
    if inv <= 0:
        raise ParameterError("pump_wavelength_m", pump_wavelength_m, f"> signal wavelength {signal_wavelength_m}")
    return 1.0 / inv


@dataclass(frozen=True)
class FilterStage:
    """One filter of the cascade.

    Parameters
    ----------
    name : str
        Label, e.g. ``"band-pass"``.
    shape : {"flat", "gaussian", "airy"}
        Transmission line shape (see module docstring).
    bandwidth_hz : float
        Full width at half maximum (Hz) — for ``flat`` the full passband width.
    peak_transmission : float
        Transmission at the signal frequency (dimensionless).
    free_spectral_range_hz : float, optional
        Only for ``airy``: spacing of the etalon's transmission orders (Hz).
    """

    name: str
    shape: FilterShape
    bandwidth_hz: float
    peak_transmission: float
    free_spectral_range_hz: float | None = None

    def __post_init__(self) -> None:
        check_range(f"{self.name}.bandwidth_hz", self.bandwidth_hz, 0, None, low_inclusive=False)
        check_range(f"{self.name}.peak_transmission", self.peak_transmission, 0, 1)
        if self.shape == "airy":
            if self.free_spectral_range_hz is None:
                raise ParameterError(f"{self.name}.free_spectral_range_hz", None, "> bandwidth_hz for an airy stage")
            check_range(
                f"{self.name}.free_spectral_range_hz", self.free_spectral_range_hz, self.bandwidth_hz, None, low_inclusive=False
            )
        elif self.shape not in ("flat", "gaussian"):
            raise ParameterError(f"{self.name}.shape", self.shape, "one of flat, gaussian, airy")

    @property
    def coefficient_of_finesse(self) -> float:
        """K of the Airy function (airy stages only)."""
        return 1.0 / math.sin(math.pi * self.bandwidth_hz / (2.0 * self.free_spectral_range_hz)) ** 2

    def transmission(self, detuning_hz: np.ndarray) -> np.ndarray:
        """Transmission at detuning ν (Hz) from the signal frequency."""
        nu = np.asarray(detuning_hz, dtype=float)
        if self.shape == "flat":
            return np.where(np.abs(nu) <= 0.5 * self.bandwidth_hz, self.peak_transmission, 0.0)
        if self.shape == "gaussian":
            return self.peak_transmission * np.exp(-4.0 * math.log(2.0) * (nu / self.bandwidth_hz) ** 2)
        k = self.coefficient_of_finesse
        return self.peak_transmission / (1.0 + k * np.sin(np.pi * nu / self.free_spectral_range_hz) ** 2)

    def support_hz(self) -> float:
        """Half-width (Hz) beyond which the stage transmits < 1e-12 of its peak (inf for airy)."""
        if self.shape == "flat":
            return 0.5 * self.bandwidth_hz
        if self.shape == "gaussian":
            return self.bandwidth_hz * math.sqrt(math.log(1e12) / (4.0 * math.log(2.0)))
        return math.inf


@dataclass(frozen=True)
class FilterCascade:
    """A cascade of filter stages in series."""

    stages: tuple[FilterStage, ...] = field(default_factory=tuple)

    @property
    def transmission(self) -> float:
        """Signal transmission: product of the stages' peak transmissions."""
        return float(np.prod([s.peak_transmission for s in self.stages])) if self.stages else 1.0

    def transmission_spectrum(self, detuning_hz: np.ndarray) -> np.ndarray:
        """Total transmission T(ν) of the cascade."""
        t = np.ones_like(np.asarray(detuning_hz, dtype=float))
        for s in self.stages:
            t = t * s.transmission(detuning_hz)
        return t

    def noise_bandwidth_hz(self) -> float:
        """Equivalent noise bandwidth ∫ T(ν) dν (Hz); cached per cascade (stages are immutable)."""
        return _noise_bandwidth_hz(self)

    def _integrate_noise_bandwidth_hz(self) -> float:
        """Equivalent noise bandwidth ∫ T(ν) dν (Hz), i.e. the integral of the *absolute* transmission.

        Integrated numerically on a grid that resolves the narrowest stage by ≥ 40 points per FWHM,
        over the span where the broadest-limiting non-periodic stage is non-negligible.
        """
        if not self.stages:
            raise ParameterError("filter cascade", "empty", "at least one non-periodic (flat or gaussian) stage")
        finite = [s.support_hz() for s in self.stages if math.isfinite(s.support_hz())]
        if not finite:
            raise ParameterError("filter cascade", "only etalons", "at least one flat or gaussian stage to bound the band")
        half_span = min(finite)
        step = min(s.bandwidth_hz for s in self.stages) / 40.0
        n = int(math.ceil(2 * half_span / step)) | 1
        nu = np.linspace(-half_span, half_span, max(n, 2001))
        return float(np.trapezoid(self.transmission_spectrum(nu), nu))


@lru_cache(maxsize=64)
def _noise_bandwidth_hz(cascade: FilterCascade) -> float:
    return cascade._integrate_noise_bandwidth_hz()


@dataclass(frozen=True)
class FrequencyConverter:
    """Single-step difference-frequency converter with its filter cascade.

    Parameters
    ----------
    external_efficiency : float
        Probability that a 393 nm photon in the input fibre leaves the module converted, before the
        filter cascade (waveguide coupling × internal conversion × optics); not published.
    noise_spectral_density_per_s_per_nm : float
        Pump-induced noise photons per second per nm near the output wavelength before filtering
        (1.3e5 s⁻¹ nm⁻¹ [P]).
    filters : FilterCascade
        The filter cascade after the converter.
    input_wavelength_m, pump_wavelength_m : float
        393 nm signal, 527 nm pump [S]; the output wavelength follows from energy conservation.
    pump_power_w : float
        Pump power (W), ≈ 60 mW [S]; recorded for reference (the noise density is given at this power).
    """

    external_efficiency: float = 0.57
    noise_spectral_density_per_s_per_nm: float = 1.3e5
    filters: FilterCascade = field(default_factory=FilterCascade)
    input_wavelength_m: float = 393e-9
    pump_wavelength_m: float = 527e-9
    pump_power_w: float = 0.060

    def __post_init__(self) -> None:
        check_range("external_efficiency", self.external_efficiency, 0, 1)
        check_range("noise_spectral_density_per_s_per_nm", self.noise_spectral_density_per_s_per_nm, 0, None)
        check_range("pump_power_w", self.pump_power_w, 0, None)

    @property
    def output_wavelength_m(self) -> float:
        """Converted wavelength (m) from 1/λ_out = 1/λ_in − 1/λ_pump (≈1546 nm for 393/527 nm)."""
        return difference_frequency_wavelength_m(self.input_wavelength_m, self.pump_wavelength_m)

    @property
    def filter_transmission(self) -> float:
        """Signal transmission of the filter cascade."""
        return self.filters.transmission

    @property
    def efficiency(self) -> float:
        """Converted-and-filtered efficiency of the module: external efficiency × filter transmission."""
        return self.external_efficiency * self.filter_transmission

    @property
    def noise_counts_per_s(self) -> float:
        """Noise photons per second after the cascade: S_λ · ∫T dλ (bandwidth converted at λ_out)."""
        bw_nm = bandwidth_nm_from_hz(self.filters.noise_bandwidth_hz(), self.output_wavelength_m)
        return self.noise_spectral_density_per_s_per_nm * bw_nm
