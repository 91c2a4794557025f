"""Asymptotic device-independent QKD key rates for the CHSH-based protocol.

Rates are in secret bits per *key round* (rounds in which Alice and Bob use their aligned key settings),
in the asymptotic limit (infinitely many rounds, one-way error correction at the Shannon limit
H(A|B) = h(Q)), and clipped at 0.

Methods
-------
``"pironio"``
    Pironio et al., NJP 11, 045021 (2009): r = 1 - h(Q) - h((1 + sqrt((S/2)^2 - 1))/2)
    (collective attacks; by the entropy accumulation theorem the same first-order rate holds against
    general attacks).
``"noisy-preprocessing"``
    Ho et al., PRL 124, 230502 (2020): Alice flips each key bit with probability p before error
    correction.  r(p) = H(A'|E) - h(p + Q - 2pQ) with H(A'|E) from Eq. (4) of that paper
    (see :func:`qrepeater.qkd.entropy.noisy_preprocessing_entropy`), maximised over p in [0, 1/2].
``"eat"``, ``"collective-aep"``
    n -> infinity limits of the finite-size methods of the same names: the EAT first-order term
    (Arnon-Friedman et al., Nat. Commun. 9, 459 (2018)) and the quantum AEP's first-order term are the
    single-round von Neumann bound, so both *are* the ``"pironio"`` rate.
``"complementarity-reconstruction"`` (alias ``"complementarity"``)
    n -> infinity limit of the in-house phase-error model of :mod:`qrepeater.qkd.complementarity`:
    r = 1 - h(Q) - h(e_lin(S)) with the affine phase-error bound
    e_lin(S) = (2 sqrt 2 - S)/(4 (sqrt 2 - 1)) (see :func:`qrepeater.qkd.entropy.phase_error_bound_linear`).
    This is *lower* than Pironio's rate: counting phase errors over an eavesdropper's mixture of
    Jordan blocks requires the concave envelope of the per-block phase-error rate.  Zhang et al.
    (PRL 131, 140801 (2023)) report a sharper finite-size treatment whose exact formula we could not
    obtain; see docs/diqkd_security.md.  A reconstruction: never the default.

The default is ``"pironio"`` (:data:`qrepeater.qkd.methods.ASYMPTOTIC_DEFAULT`); every name is listed,
with its source, in :mod:`qrepeater.qkd.methods`.
"""

from __future__ import annotations

from scipy.optimize import minimize_scalar

from qrepeater.errors import ParameterError, check_range
from qrepeater.qkd.entropy import (
    TSIRELSON,
    binary_entropy,
    conditional_entropy_chsh,
    noisy_preprocessing_entropy,
    phase_error_bound_linear,
)
from qrepeater.qkd.methods import METHODS as _REGISTRY
from qrepeater.qkd.methods import resolve_method

#: Every method with an asymptotic value (the finite-size ones through their n -> infinity limit).
METHODS = tuple(_REGISTRY)


def validate_chsh_qber(chsh: float, qber: float, *, allow_local: bool = True) -> None:
    """Raise :class:`ParameterError` for values outside the physical range.

    ``chsh`` must be a finite number <= 2 sqrt 2 (+1e-9 rounding slack); values <= 2 are allowed when
    ``allow_local`` (they give zero key), else the allowed range is (2, 2 sqrt 2].  ``qber`` in [0, 0.5].
    """
    if isinstance(chsh, bool) or not isinstance(chsh, (int, float)):
        raise ParameterError("chsh", chsh, "a number")
    if isinstance(qber, bool) or not isinstance(qber, (int, float)):
        raise ParameterError("qber", qber, "a number")
    if allow_local:
        check_range("chsh", chsh, -TSIRELSON - 1e-9, TSIRELSON + 1e-9)
    else:
        check_range("chsh", chsh, 2.0, TSIRELSON + 1e-9, low_inclusive=False)
    check_range("qber", qber, 0.0, 0.5)


def _check_method(method: str) -> str:
    return resolve_method(method)


def pironio_rate(chsh: float, qber: float) -> float:
    """Unclipped Pironio et al. (2009) rate 1 - h(Q) - h((1 + sqrt((S/2)^2 - 1))/2) (S <= 2 gives -h(Q))."""
    return conditional_entropy_chsh(chsh) - binary_entropy(qber)


def noisy_preprocessing_rate(chsh: float, qber: float, flip_probability: float) -> float:
    """Unclipped rate with noisy preprocessing at flip probability p (Ho et al. 2020).

    r(p) = H(A'|E) - h(p + Q - 2 p Q): Alice's flipped bit disagrees with Bob's with probability
    p(1 - Q) + (1 - p) Q.  r(0) equals :func:`pironio_rate`.
    """
    p = flip_probability
    if not 0.0 <= p <= 0.5:
        raise ParameterError("flip_probability", p, "[0, 0.5]")
    if chsh <= 2.0:
        return -binary_entropy(qber)
    return noisy_preprocessing_entropy(chsh, p) - binary_entropy(p + qber - 2.0 * p * qber)


def optimal_noisy_preprocessing(chsh: float, qber: float) -> tuple[float, float]:
    """Return (rate, p*) maximising :func:`noisy_preprocessing_rate` over p in [0, 1/2] (unclipped rate).

    Bounded scalar minimisation (scipy) plus the end points, so p* = 0 is found when preprocessing
    does not help.
    """
    validate_chsh_qber(chsh, qber)
    if chsh <= 2.0:
        return -binary_entropy(qber), 0.0
    res = minimize_scalar(
        lambda p: -noisy_preprocessing_rate(chsh, qber, p),
        bounds=(0.0, 0.5),
        method="bounded",
        options={"xatol": 1e-10},
    )
    candidates = [(noisy_preprocessing_rate(chsh, qber, 0.0), 0.0)]
    if res.success:
        candidates.append((-float(res.fun), float(res.x)))
    return max(candidates)


def complementarity_asymptotic_rate(chsh: float, qber: float) -> float:
    """Unclipped n -> infinity limit of the complementarity model: 1 - h(e_lin(S)) - h(Q)."""
    return 1.0 - binary_entropy(phase_error_bound_linear(chsh)) - binary_entropy(qber)


def asymptotic_rate(chsh: float, qber: float, method: str = "pironio") -> float:
    """Asymptotic DI-QKD secret-key rate in bits per key round, clipped at 0.

    Parameters
    ----------
    chsh : float
        CHSH value S, at most 2 sqrt 2.  S <= 2 is not an error: the rate is 0.
    qber : float
        Quantum bit error rate Q of the key rounds, in [0, 0.5].
    method : {"pironio", "noisy-preprocessing", "bff", "eat", "nadlinger2022", "tan2022", "tan2022-collective", "collective-aep", "complementarity-reconstruction"}
        See the module docstring; ``"eat"``, ``"nadlinger2022"`` and ``"collective-aep"`` return the
        Pironio rate (their first-order term), ``"bff"`` the Brown-Fawzi-Fawzi SDP bound with the CHSH
        value as its only constraint (:func:`qrepeater.qkd.bff.bff_key_rate`; seconds per call),
        ``"tan2022"`` and ``"tan2022-collective"`` the n -> infinity key per round of their
        random-key-measurement protocol, (r_0(S) - h(Q))/2 (:func:`qrepeater.qkd.tan2022.asymptotic_rate`), and
        ``"complementarity-reconstruction"`` (alias ``"complementarity"``) the n -> infinity limit of this
        package's phase-error model.

    Returns
    -------
    float
        Secret-key bits per key round (bit/round, >= 0), the n -> infinity rate; multiply by the key
        rounds per second for bit/s.

    Examples
    --------
    >>> round(asymptotic_rate(2.5758, 0.036), 4)
    0.326
    """
    validate_chsh_qber(chsh, qber)
    method = _check_method(method)
    if chsh <= 2.0:
        return 0.0
    if method in ("pironio", "eat", "collective-aep", "nadlinger2022"):
        r = pironio_rate(chsh, qber)
    elif method == "noisy-preprocessing":
        r, _ = optimal_noisy_preprocessing(chsh, qber)
    elif method in ("tan2022", "tan2022-collective"):
        from .tan2022 import asymptotic_rate as tan_rate

        r = tan_rate(chsh, qber)
    elif method == "bff":
        from .bff import bff_key_rate

        # m = 8 Gauss-Radau nodes reach Pironio's bound within 1e-3 up to S ~ 2.79; above, 32 do
        r = bff_key_rate(chsh=chsh, qber=qber, m=8 if chsh <= 2.75 else 32)
    else:
        r = complementarity_asymptotic_rate(chsh, qber)
    # at p -> 1/2 the noisy-preprocessing rate is 1 - 1 up to rounding: do not report 1e-16 as a key
    return float(r) if r > 1e-12 else 0.0


def rate_explanation(chsh: float, qber: float, method: str = "pironio") -> str:
    """One-line reason for a zero rate ("" when the rate is positive)."""
    if chsh <= 2.0:
        return f"CHSH value {chsh} <= 2: no Bell violation, no device-independent key"
    if asymptotic_rate(chsh, qber, method) <= 0.0:
        return f"error-correction cost h(Q) exceeds the certified entropy for method {resolve_method(method)!r}"
    return ""


__all__ = [
    "METHODS",
    "asymptotic_rate",
    "complementarity_asymptotic_rate",
    "noisy_preprocessing_rate",
    "optimal_noisy_preprocessing",
    "pironio_rate",
    "rate_explanation",
    "validate_chsh_qber",
]

