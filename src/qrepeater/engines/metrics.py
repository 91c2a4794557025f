"""Figures of merit of a repeater chain: :class:`ChainResult`.

Conventions
-----------
* Pairs are delivered one after the other: after a delivery every memory is free and the protocol
  restarts, so delivery intervals are i.i.d. and ``rate_hz = 1 / mean_waiting_time_s``.
* ``mean_fidelity`` is the mean Φ+ fidelity of delivered pairs; ``mean_state`` is the average
  delivered state (the state a key-distillation step sees).
* ``secret_key_fraction`` is the asymptotic BB84 (Shor–Preskill, PRL 85, 441 (2000)) fraction of the
  average delivered Bell-diagonal state, measured in the Z and X bases:
  r = max(0, 1 − h(e_z) − h(e_x)), with QBERs e_z = (1 − ⟨ZZ⟩)/2, e_x = (1 − ⟨XX⟩)/2 and h the binary
  entropy. (Entanglement-based BB84; sifting is not counted, i.e. efficient/biased basis choice.)
* ``secret_key_rate_bps`` = rate_hz × secret_key_fraction (bits/s).
* Comparison with the repeaterless bounds: one *channel use* is one optical mode sent once per
  attempt duration over the end-to-end distance; with M multiplexed modes and r link-level purification
  rounds (2^r memory pairs generating in parallel) an attempt uses the channel
  ``channel_uses_per_attempt`` = M·2^r times. So
  ``key_bits_per_channel_use = secret_key_rate_bps × attempt_duration_s / channel_uses_per_attempt`` and
  ``beats_plob`` is ``key_bits_per_channel_use > plob_bound`` with PLOB of the total fibre distance
  (Pirandola et al., Nat. Commun. 8, 15043 (2017)). The engines do not know the distance: call
  :meth:`ChainResult.with_distance`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..bounds import fiber_transmissivity, plob, tgw
from ..states import BELL_LABELS, BellDiagonal


def binary_entropy(p) -> np.ndarray | float:
    """h(p) = −p log2 p − (1 − p) log2(1 − p), with h(0) = h(1) = 0."""
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return float(h) if np.ndim(h) == 0 else h


def bb84_key_fraction(state: BellDiagonal) -> float:
    """Asymptotic BB84 secret-key fraction max(0, 1 − h(e_z) − h(e_x)) of a Bell-diagonal state."""
    t = state.correlators
    e_x = (1.0 - t[..., 0]) / 2.0
    e_z = (1.0 - t[..., 2]) / 2.0
    r = np.maximum(0.0, 1.0 - binary_entropy(e_z) - binary_entropy(e_x))
    return float(r) if np.ndim(r) == 0 else r


@dataclass(frozen=True)
class ChainResult:
    """What a chain delivers (see the module docstring for the conventions).

    Attributes
    ----------
    engine : str
        "exact", "montecarlo" or "events".
    rate_hz : float
        End-to-end pairs per second.
    mean_fidelity : float
        Mean Φ+ fidelity of the delivered pairs (dimensionless).
    fidelity_ci95 : (float, float)
        95 % confidence interval of the mean fidelity (zero width for the exact engine).
    mean_waiting_time_s : float
        Mean time (s) from empty memories to a delivered end-to-end pair.
    waiting_time_ci95 : (float, float)
        Its 95 % confidence interval (s); ``rate_ci95`` (Hz) is its inverse.
    mean_state : BellDiagonal
        Average delivered state.
    secret_key_fraction : float
        Asymptotic BB84 key fraction of ``mean_state`` (bit per pair).
    secret_key_rate_bps : float
        rate_hz × secret_key_fraction (bit/s); ``key_bits_per_channel_use`` (bit per mode per attempt).
    attempt_duration_s : float
        Duration (s) of one elementary-link attempt.
    multiplex : int
    channel_uses_per_attempt : int
        Optical modes sent per attempt duration (M × 2^purification_rounds).
    truncation_error : float or None
        Exact engine: probability mass of the waiting time beyond the computed grid.
    pairs : int or None
        Monte Carlo: number of delivered pairs sampled.
    distance_km, attenuation_db_per_km, plob_bound, tgw_bound, beats_plob :
        km, dB/km, bit per channel use, bit per channel use, bool; None until :meth:`with_distance` is
        called.
    """

    engine: str
    rate_hz: float
    mean_fidelity: float
    fidelity_ci95: tuple[float, float]
    mean_waiting_time_s: float
    waiting_time_ci95: tuple[float, float]
    mean_state: BellDiagonal
    attempt_duration_s: float
    multiplex: int = 1
    channel_uses_per_attempt: int = 1
    truncation_error: float | None = None
    pairs: int | None = None
    distance_km: float | None = None
    attenuation_db_per_km: float | None = None
    plob_bound: float | None = None
    tgw_bound: float | None = None

    @property
    def secret_key_fraction(self) -> float:
        return float(bb84_key_fraction(self.mean_state))

    @property
    def secret_key_rate_bps(self) -> float:
        return self.rate_hz * self.secret_key_fraction

    @property
    def key_bits_per_channel_use(self) -> float:
        """Secret-key bits per mode per attempt duration (the channel-use convention above)."""
        return self.secret_key_rate_bps * self.attempt_duration_s / self.channel_uses_per_attempt

    @property
    def beats_plob(self) -> bool | None:
        if self.plob_bound is None:
            return None
        return bool(self.key_bits_per_channel_use > self.plob_bound)

    @property
    def rate_ci95(self) -> tuple[float, float]:
        lo, hi = self.waiting_time_ci95
        return (1.0 / hi if hi > 0 else math.inf, 1.0 / lo if lo > 0 else math.inf)

    def with_distance(self, distance_km: float, attenuation_db_per_km: float = 0.2) -> "ChainResult":
        """Copy with the PLOB/TGW bounds of the total fibre distance filled in."""
        eta = fiber_transmissivity(distance_km, attenuation_db_per_km)
        return dataclasses.replace(
            self,
            distance_km=float(distance_km),
            attenuation_db_per_km=float(attenuation_db_per_km),
            plob_bound=float(plob(eta)),
            tgw_bound=float(tgw(eta)),
        )

    def to_dict(self) -> dict:
        """JSON-safe dictionary (floats, ints, bools, None, lists, nested dicts)."""

        def num(x):
            if x is None:
                return None
            x = float(x)
            return x if math.isfinite(x) else None

        return {
            "engine": self.engine,
            "rate_hz": num(self.rate_hz),
            "rate_ci95": [num(v) for v in self.rate_ci95],
            "mean_fidelity": num(self.mean_fidelity),
            "fidelity_ci95": [num(v) for v in self.fidelity_ci95],
            "mean_waiting_time_s": num(self.mean_waiting_time_s),
            "waiting_time_ci95": [num(v) for v in self.waiting_time_ci95],
            "mean_state": {k: float(v) for k, v in zip(BELL_LABELS, self.mean_state.coefficients)},
            "secret_key_fraction": num(self.secret_key_fraction),
            "secret_key_rate_bps": num(self.secret_key_rate_bps),
            "key_bits_per_channel_use": num(self.key_bits_per_channel_use),
            "attempt_duration_s": num(self.attempt_duration_s),
            "multiplex": int(self.multiplex),
            "channel_uses_per_attempt": int(self.channel_uses_per_attempt),
            "truncation_error": num(self.truncation_error),
            "pairs": None if self.pairs is None else int(self.pairs),
            "distance_km": num(self.distance_km),
            "attenuation_db_per_km": num(self.attenuation_db_per_km),
            "plob_bound": num(self.plob_bound),
            "tgw_bound": num(self.tgw_bound),
            "beats_plob": self.beats_plob,
        }

    def to_dataframe(self):
        """One-row :class:`pandas.DataFrame` of this result (pandas is imported here, on first use).

        Columns (named as the same figures of a sweep, :data:`qrepeater.studies.point.CHAIN_METRICS`):
        ``engine``, ``rate_hz``, ``rate_ci95_lo``/``_hi``, ``mean_fidelity``, ``fidelity_ci95_lo``/``_hi``,
        ``mean_waiting_time_s``, ``waiting_time_ci95_lo``/``_hi``, ``state_phi_plus`` … ``state_psi_minus``
        (Bell weights of ``mean_state``), ``secret_key_fraction``, ``secret_key_rate_bps``,
        ``key_bits_per_channel_use``, ``attempt_duration_s``, ``multiplex``, ``channel_uses_per_attempt``,
        ``truncation_error``, ``pairs``, ``distance_km``, ``attenuation_db_per_km``, ``plob_bound``,
        ``tgw_bound``, ``beats_plob``. Values are the attributes' own (``inf`` stays ``inf``, None is NaN
        for numbers); ``df.attrs["units"]`` maps every column that has a unit to it.
        """
        import pandas as pd

        def num(x):
            return math.nan if x is None else float(x)

        row: dict = {"engine": self.engine}
        for name, mean, (lo, hi) in (
            ("rate_hz", self.rate_hz, self.rate_ci95),
            ("mean_fidelity", self.mean_fidelity, self.fidelity_ci95),
            ("mean_waiting_time_s", self.mean_waiting_time_s, self.waiting_time_ci95),
        ):
            ci = name.removeprefix("mean_").removesuffix("_hz").removesuffix("_s")
            row[name], row[f"{ci}_ci95_lo"], row[f"{ci}_ci95_hi"] = float(mean), float(lo), float(hi)
        row.update({f"state_{k}": float(v) for k, v in zip(BELL_LABELS, self.mean_state.coefficients)})
        row.update(
            secret_key_fraction=self.secret_key_fraction,
            secret_key_rate_bps=self.secret_key_rate_bps,
            key_bits_per_channel_use=self.key_bits_per_channel_use,
            attempt_duration_s=float(self.attempt_duration_s),
            multiplex=int(self.multiplex),
            channel_uses_per_attempt=int(self.channel_uses_per_attempt),
            truncation_error=num(self.truncation_error),
            pairs=num(self.pairs),
            distance_km=num(self.distance_km),
            attenuation_db_per_km=num(self.attenuation_db_per_km),
            plob_bound=num(self.plob_bound),
            tgw_bound=num(self.tgw_bound),
            beats_plob=self.beats_plob,
        )
        df = pd.DataFrame([row])
        df.attrs["units"] = dict(CHAIN_RESULT_UNITS)
        return df


#: unit of every :meth:`ChainResult.to_dataframe` column that has one (the others are dimensionless)
CHAIN_RESULT_UNITS = {
    "rate_hz": "Hz",
    "rate_ci95_lo": "Hz",
    "rate_ci95_hi": "Hz",
    "mean_waiting_time_s": "s",
    "waiting_time_ci95_lo": "s",
    "waiting_time_ci95_hi": "s",
    "secret_key_fraction": "bit per pair",
    "secret_key_rate_bps": "bit/s",
    "key_bits_per_channel_use": "bit per channel use",
    "attempt_duration_s": "s",
    "distance_km": "km",
    "attenuation_db_per_km": "dB/km",
    "plob_bound": "bit per channel use",
    "tgw_bound": "bit per channel use",
}
