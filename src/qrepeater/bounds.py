"""Repeaterless capacity bounds of the pure-loss channel (leaf module).

All bounds are in bits per channel use (one optical mode sent once through the channel).

* PLOB: the two-way assisted secret-key capacity of the pure-loss channel with transmissivity η is
  −log2(1 − η) (Pirandola, Laurenza, Ottaviani, Banchi, Nat. Commun. 8, 15043 (2017)).
* TGW: the earlier squashed-entanglement upper bound log2((1 + η)/(1 − η)) (Takeoka, Guha, Wilde,
  Nat. Commun. 5, 5235 (2014)); it is looser than PLOB (about 2× at small η).
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError


def _eta(transmissivity) -> np.ndarray:
    eta = np.asarray(transmissivity, dtype=float)
    bad = ~((eta >= 0.0) & (eta <= 1.0))
    if np.any(bad):
        raise ParameterError("transmissivity", float(np.asarray(eta)[bad].flat[0]), "[0, 1]")
    return eta


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def plob(transmissivity):
    """PLOB bound −log2(1 − η) in bits per channel use (inf at η = 1); vectorised."""
    eta = _eta(transmissivity)
    with np.errstate(divide="ignore"):
        return _out(-np.log1p(-eta) / np.log(2.0))


def tgw(transmissivity):
    """TGW bound log2((1 + η)/(1 − η)) in bits per channel use (inf at η = 1); vectorised."""
    eta = _eta(transmissivity)
    with np.errstate(divide="ignore"):
        return _out((np.log1p(eta) - np.log1p(-eta)) / np.log(2.0))


def fiber_transmissivity(distance_km, attenuation_db_per_km: float = 0.2):
    """Transmissivity 10^(−α L / 10) of a fibre of length ``distance_km`` (km) and loss α (dB/km)."""
    d = np.asarray(distance_km, dtype=float)
    if np.any(~(d >= 0)):
        raise ParameterError("distance_km", float(np.min(d)), "[0, inf)")
    a = float(attenuation_db_per_km)
    if not a >= 0:
        raise ParameterError("attenuation_db_per_km", a, "[0, inf)")
    return _out(10.0 ** (-a * d / 10.0))
