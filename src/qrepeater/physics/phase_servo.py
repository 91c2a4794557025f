"""Residual phase noise of an actively stabilised fibre arm: free-running fibre noise, servo gain, loop delay.

Model (a reconstruction from the loop equations below, not the equations of a paper read here):

* **Fibre noise.** Each arm of length L accumulates a free-running optical phase N(t) with one-sided power
  spectral density ``S_N(f) = h · L / f²`` (rad²/Hz): white frequency noise, with a level ``h`` per km
  at 1 Hz. The per-km scaling assumes the perturbations (temperature, acoustics) of different stretches
  of fibre are uncorrelated, so their phase variances add. The 1/f² shape is an assumption, the common
  one-parameter description of fibre noise in the acoustic band; the real spectrum of the reference's
  spools is not published.
* **Servo.** The phase error e(t) of the co-propagating reference is measured at the station and
  corrected by an integrating actuator, ``da/dt = −2π f_c · e(t − τ)``, whose correction reaches the
  station after the loop delay τ (reference flight to the station, return of the correction to the
  node, electronics). With e = N + a(delayed), in the Fourier domain

      e(f) = N(f) / (1 + f_c e^{−i2πfτ} / (i f)),
      |1 + f_c e^{−i2πfτ}/(if)|² = (f² + f_c² − 2 f f_c sin 2πfτ) / f²,

  so the residual spectrum is ``S_e = S_N f² / (f² + f_c² − 2 f f_c sin 2πfτ)`` and, with S_N = hL/f²,

      σ² = h L ∫₀^∞ df / (f² + f_c² − 2 f f_c sin 2πfτ) = (h L / f_c) · J(f_c τ),
      J(u) = ∫₀^∞ dx / (x² + 1 − 2x sin 2πux).

  J(0) = π/2 (no delay: σ² = πhL/(2f_c)); for small delay J(u) = π/2 + π²u + O(u²) (expand the sine:
  ∫ 4πu x²/(1+x²)² dx = π²u). The loop is stable only for f_c τ < 1/4 (the open-loop phase −90° − 360°·fτ
  reaches −180° at f = 1/(4τ), where the open-loop gain is 4 f_c τ), and J diverges there.
* **Bandwidth.** For a given delay σ² = hLτ · J(u)/u is smallest at u* = f_c τ ≈ 0.1176
  (J(u*)/u* ≈ 30.24): an operator sets the gain there unless the actuator limits the bandwidth first,
  so ``f_c = min(stabilisation_bandwidth_hz, u*/τ)``. Short links are bandwidth-limited (σ² ∝ L/f_c),
  long links delay-limited (σ² ≈ 30.24·hLτ ∝ L², because τ ∝ L).

The form of the result — residual phase variance proportional to the fibre length and growing with
delay × bandwidth, with the usable bandwidth below 1/(4τ) — is the standard one for stabilised fibre links
(e.g. Williams, Swann & Newbury, "High-stability transfer of an optical frequency over long fiber-optic
links", JOSA B 25, 1284 (2008), who treat round-trip detection, where the delay-unsuppressed noise of
distributed fibre noise is (1/3)(2πfτ)² S_N). That paper could not be read here; the loop above is the
one-way-detection variant and is checked in the tests against a time-domain simulation of the loop.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import ParameterError, check_range
from .quadrature import integrate_pieces

#: f_c·τ above which the delayed integrator loop is unstable (open-loop gain 1 at −180°).
STABILITY_LIMIT_DELAY_BANDWIDTH = 0.25

_TAIL_START = 1000.0  # J's integrand is 1/x² + O(1/x³) beyond this; the tail is added as 1/X


@lru_cache(maxsize=4096)
def delayed_servo_residual_integral(delay_bandwidth_product: float) -> float:
    """J(u) = ∫₀^∞ dx / (x² + 1 − 2x sin 2πux) for u = f_c τ (module docstring); π/2 at u = 0.

    Adaptive Gauss–Legendre quadrature (:func:`qrepeater.physics.quadrature.integrate_pieces`) on pieces
    no wider than half an oscillation period up to x = 1000, plus the tail 1/1000 (the neglected terms are
    O(10⁻⁶) of J). Tested against ``scipy.integrate.quad`` on the same pieces (relative 1e-10).
    """
    u = float(delay_bandwidth_product)
    check_range("servo delay × bandwidth", u, 0, None)
    if u >= STABILITY_LIMIT_DELAY_BANDWIDTH:
        raise ParameterError("servo delay × bandwidth", u, f"< {STABILITY_LIMIT_DELAY_BANDWIDTH} (unstable loop)")
    step = min(0.5 / u, 50.0) if u > 0 else 50.0
    # increasing break points (np.unique would import numpy.ma, 8 ms of start-up)
    edges = np.concatenate([np.linspace(0.0, 4.0, 41)[:-1], np.arange(4.0, _TAIL_START, step), [_TAIL_START]])

    def integrand(x: np.ndarray) -> np.ndarray:
        return 1.0 / (x * x + 1.0 - 2.0 * x * np.sin(2.0 * math.pi * u * x))

    body = integrate_pieces(integrand, edges, epsabs=1e-13, epsrel=1e-11)
    return body + 1.0 / _TAIL_START


#: u* = argmin J(u)/u, computed once by bounded Brent minimisation (``scipy.optimize.minimize_scalar``,
#: bounds (1e-3, 0.249), xatol 1e-9) of :func:`delayed_servo_residual_integral`; a constant so that
#: start-up does not import scipy.optimize. tests/test_startup_numerics.py recomputes it that way.
OPTIMAL_DELAY_BANDWIDTH_PRODUCT = 0.1176290810


def optimal_delay_bandwidth_product() -> float:
    """u* = f_c τ that minimises the residual σ² ∝ J(u)/u at a fixed loop delay (≈ 0.1176)."""
    return OPTIMAL_DELAY_BANDWIDTH_PRODUCT


def servo_bandwidth_hz(max_bandwidth_hz: float, loop_delay_s: float) -> float:
    """Unity-gain frequency the servo runs at: min(actuator limit, u*/τ)."""
    check_range("stabilisation_bandwidth_hz", max_bandwidth_hz, 0, None, low_inclusive=False)
    check_range("loop delay (s)", loop_delay_s, 0, None)
    if loop_delay_s == 0:
        return max_bandwidth_hz
    return min(max_bandwidth_hz, optimal_delay_bandwidth_product() / loop_delay_s)


def stabilised_fiber_phase_variance_rad2(noise_level_rad2_per_hz: float, max_bandwidth_hz: float, loop_delay_s: float) -> float:
    """Residual phase variance (rad²) of a stabilised arm: (h L / f_c) · J(f_c τ) (module docstring).

    Parameters
    ----------
    noise_level_rad2_per_hz : float
        h·L: level at 1 Hz of the arm's free-running phase noise S_N(f) = hL/f² (rad²/Hz).
    max_bandwidth_hz : float
        Actuator-limited servo bandwidth (Hz); the servo runs at min(this, u*/τ).
    loop_delay_s : float
        Delay τ (s) from the noise reaching the station to its correction arriving there.
    """
    check_range("fibre phase-noise level (rad²/Hz)", noise_level_rad2_per_hz, 0, None)
    f_c = servo_bandwidth_hz(max_bandwidth_hz, loop_delay_s)
    return noise_level_rad2_per_hz * delayed_servo_residual_integral(f_c * loop_delay_s) / f_c
