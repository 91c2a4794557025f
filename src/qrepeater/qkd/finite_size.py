"""Finite-size key lengths for CHSH-based device-independent QKD: one entry point for every method.

Protocol (all methods): in each of ``rounds`` rounds the devices are used in a *test* round (Alice
x in {0,1}, Bob y in {0,1}, the CHSH game is scored) with probability ``test_fraction``, in a *key*
round (aligned settings x=0, y=2) with probability ``key_fraction``, otherwise the round is discarded.
Inputs are the **observed** counts when given (``test_rounds``, ``key_rounds``, the observed CHSH value
and QBER); without them the expected counts ``test_fraction * rounds`` etc. are used (planning).

Methods (:mod:`qrepeater.qkd.methods` lists them with their sources):

``"eat"``
    entropy accumulation, general attacks (a reconstruction): :mod:`qrepeater.qkd.eat`.
``"collective-aep"``
    collective attacks, quantum AEP: :mod:`qrepeater.qkd.collective`.
``"nadlinger2022"`` (default)
    the analysis of Nadlinger et al., Nature 607, 682 (2022), general attacks: :mod:`qrepeater.qkd.nadlinger`.
``"tan2022"``, ``"tan2022-collective"``
    Tan et al. (Quantum 2022) as restated in Tan's thesis, coherent / collective attacks, for *their*
    random-key-measurement protocol (key from both of Alice's settings): :mod:`qrepeater.qkd.tan2022`.
``"complementarity-reconstruction"`` (alias ``"complementarity"``)
    in-house phase-error model: :mod:`qrepeater.qkd.complementarity`.

Every result carries every security parameter it used (eps_sec, eps_cor, eps_PE, eps_PA, eps_smooth,
the completeness error eps_com of the acceptance test) and the error-correction leakage.  The acceptance
test has a completeness margin (:mod:`qrepeater.qkd.acceptance`) when ``eps_com`` is given: the CLI and
:func:`qkd_rate_summary` use :data:`DEFAULT_EPS_COM`; ``finite_key``'s own default is None (no margin)
because :mod:`qrepeater.qkd.distill` sizes keys after the fact with it.

Error correction: ``ec_leakage_bits=None`` means leak_EC = f * (Shannon cost) with the efficiency
``ec_efficiency`` f (default 1.1, typical LDPC), plus the method's verification-hash bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qrepeater.errors import ParameterError, check_range
from qrepeater.qkd import collective, complementarity, eat, nadlinger, tan2022
from qrepeater.qkd.acceptance import EpsilonBudget, allocate_eps
from qrepeater.qkd.methods import FINITE_DEFAULT, finite_methods, resolve_method
from qrepeater.qkd.rates import asymptotic_rate, validate_chsh_qber

FINITE_METHODS = finite_methods()
CONCENTRATIONS = ("azuma", "freedman")
#: Completeness error of the acceptance test used by the CLI, the summary and the planner.
DEFAULT_EPS_COM = 1e-2
DEFAULT_EC_EFFICIENCY = 1.1

#: Largest round count searched by :func:`minimum_rounds`.
MAX_ROUNDS = 10**14

_WEIGHTS = {"eat": eat.EPS_WEIGHTS, "collective-aep": collective.EPS_WEIGHTS,
            "complementarity-reconstruction": complementarity.EPS_WEIGHTS}
#: Methods whose key rounds are all non-test rounds (no key_fraction / key_rounds).
_ALL_NON_TEST_ARE_KEY = ("eat", "nadlinger2022", "tan2022", "tan2022-collective")
#: n -> infinity limit of a finite method, where it is not the method's own asymptotic entry.
_LIMIT = {"nadlinger2022": "pironio"}
#: Headline finite method of :func:`qkd_rate_summary` when the default cannot take the parameters.
FINITE_FALLBACK = "tan2022"


def _limit_rate(chsh: float, qber: float, method: str) -> float:
    """Asymptotic rate (per key round) of ``method``'s n -> infinity limit."""
    return asymptotic_rate(chsh, qber, _LIMIT.get(method, method))


#: A *fit*, not a reproduction: settings under which the complementarity reconstruction gives 1,825 bits
#: for the USTC 2026 run (405,145 rounds, S = 2.5758, Q = 3.6 %), 4.8 % below the published 1,917.  The
#: error-correction efficiency 1.16 was picked *after* scanning standard values, and no completeness
#: margin is applied (eps_com None).  Kept because qrepeater.validation.qkd uses it; see
#: docs/diqkd_security.md for the per-method keys at principled defaults.
USTC2026_REFERENCE_CHOICES: dict[str, Any] = {
    "method": "complementarity-reconstruction",
    "eps_sec": 1e-10,
    "eps_cor": 1e-10,
    "test_fraction": None,
    "ec_efficiency": 1.16,
    "concentration": "azuma",
    "eps_com": None,
}


@dataclass(frozen=True)
class FiniteKeyResult:
    """Outcome of a finite-size key-length calculation.

    Attributes
    ----------
    key_bits : int
        Secret key length in bits (floor, >= 0).
    key_rate_per_round : float
        key_bits / rounds (per round of the whole run, test and discarded rounds included).
    method : str
        Canonical method name (an alias is resolved).
    eps_sec, eps_cor, eps_pe, eps_pa, eps_smooth : float
        Composed secrecy, correctness, parameter estimation, privacy amplification, smoothing (0 if
        the method has none).
    eps_com : float or None
        Completeness error of the acceptance test (None: no completeness margin).
    test_fraction : float
        Test-round probability used (the optimised value, or the observed m / rounds).
    ec_leakage_bits : float
        Bits revealed by error correction (without the verification hash).
    min_rounds_for_positive_key : int | None
        Smallest round count with a positive key at the same S, Q and settings (None if not computed
        or no key at any size).
    details : dict
        Intermediate quantities (thresholds, counts, entropy terms, reason for a zero key).
    """

    key_bits: int
    key_rate_per_round: float
    method: str
    eps_sec: float
    eps_cor: float
    test_fraction: float
    ec_leakage_bits: float
    min_rounds_for_positive_key: int | None
    details: dict[str, Any] = field(default_factory=dict)
    eps_pe: float = float("nan")
    eps_pa: float = float("nan")
    eps_smooth: float = 0.0
    eps_com: float | None = None

    def to_dataframe(self):
        """One-row :class:`pandas.DataFrame` (pandas is imported here, on first use).

        Columns: the attributes (``key_bits`` … ``eps_com``; a None count is NaN) and every scalar entry
        of ``details`` as ``details.<name>``; units in ``df.attrs["units"]``.
        """
        import pandas as pd

        row: dict[str, Any] = {
            "key_bits": int(self.key_bits), "key_rate_per_round": float(self.key_rate_per_round), "method": self.method,
            "eps_sec": self.eps_sec, "eps_cor": self.eps_cor, "eps_pe": self.eps_pe, "eps_pa": self.eps_pa,
            "eps_smooth": self.eps_smooth, "eps_com": math.nan if self.eps_com is None else self.eps_com,
            "test_fraction": self.test_fraction, "ec_leakage_bits": self.ec_leakage_bits,
            "min_rounds_for_positive_key": math.nan if self.min_rounds_for_positive_key is None else self.min_rounds_for_positive_key,
        }
        row.update({f"details.{k}": v for k, v in self.details.items() if v is None or isinstance(v, (int, float, str, bool))})
        df = pd.DataFrame([row])
        df.attrs["units"] = {"key_bits": "bit", "key_rate_per_round": "bit per round", "ec_leakage_bits": "bit",
                             "min_rounds_for_positive_key": "rounds"}
        return df

    def security_parameters(self) -> dict[str, Any]:
        """Every security parameter and the EC leakage, for JSON output."""
        return {"eps_sec": self.eps_sec, "eps_cor": self.eps_cor, "eps_pe": self.eps_pe,
                "eps_pa": self.eps_pa, "eps_smooth": self.eps_smooth, "eps_com": self.eps_com,
                "ec_leakage_bits": self.ec_leakage_bits}


def _check_count(name, value, rounds):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= rounds:
        raise ParameterError(name, value, f"an integer in [1, rounds = {rounds}]")


def _validate(rounds, chsh, qber, method, test_fraction, key_fraction, ec_leakage_bits, ec_efficiency,
              concentration, test_rounds=None, key_rounds=None):
    integral = isinstance(rounds, (int, np.integer)) or (isinstance(rounds, float) and rounds.is_integer())
    if isinstance(rounds, bool) or not integral or rounds < 1:
        raise ParameterError("rounds", rounds, "an integer >= 1")
    validate_chsh_qber(chsh, qber)
    method = resolve_method(method, "finite")
    if test_fraction is not None:
        check_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if key_fraction is not None:
        check_range("key_fraction", key_fraction, 0.0, 1.0, low_inclusive=False)
        tf = test_fraction if test_fraction is not None else 0.0
        if key_fraction + tf > 1.0 + 1e-12:
            raise ParameterError("key_fraction", key_fraction, f"(0, 1 - test_fraction] = (0, {1.0 - tf}]")
    _check_count("test_rounds", test_rounds, int(rounds))
    _check_count("key_rounds", key_rounds, int(rounds))
    if test_rounds is not None and key_rounds is not None and test_rounds + key_rounds > rounds:
        raise ParameterError("key_rounds", key_rounds, f"at most rounds - test_rounds = {rounds - test_rounds}")
    if method in _ALL_NON_TEST_ARE_KEY and (key_fraction is not None or key_rounds is not None):
        raise ParameterError("key_fraction" if key_fraction is not None else "key_rounds",
                             key_fraction if key_fraction is not None else key_rounds,
                             f"None for method {method!r} (key rounds are all non-test rounds)")
    if ec_leakage_bits is not None:
        check_range("ec_leakage_bits", ec_leakage_bits, 0.0)
    check_range("ec_efficiency", ec_efficiency, 1.0)
    if concentration not in CONCENTRATIONS:
        raise ParameterError("concentration", concentration, ", ".join(CONCENTRATIONS))
    return method


def security_budget(method: str, eps_sec: float, eps_cor: float, eps_pe: float | None = None,
                    eps_pa: float | None = None, eps_com: float | None = None) -> EpsilonBudget:
    """The :class:`~qrepeater.qkd.acceptance.EpsilonBudget` of ``method`` (its weights of eps_sec)."""
    if resolve_method(method, "finite") == "nadlinger2022":  # eps_sec = max(...) + 4 eps_h (Eq. 91)
        return nadlinger.security_budget(eps_sec, eps_cor, eps_pe, eps_pa, eps_com)
    if resolve_method(method, "finite") in ("tan2022", "tan2022-collective"):  # max(...) + eps_h (Eq. 4.43)
        return tan2022.security_budget(eps_sec, eps_cor, eps_pe, eps_pa, eps_com)
    return allocate_eps(eps_sec, eps_cor, weights=_WEIGHTS[resolve_method(method, "finite")],
                        eps_pe=eps_pe, eps_pa=eps_pa, eps_com=eps_com)


def raw_key_length(rounds, chsh, qber, method, eps: EpsilonBudget, *, test_fraction=None, key_fraction=None,
                   test_rounds=None, key_rounds=None, ec_leakage_bits=None,
                   ec_efficiency=DEFAULT_EC_EFFICIENCY, concentration="azuma"):
    """(length before flooring, test fraction, leak, details) of a validated ``method``; -inf if S <= 2."""
    if chsh <= 2.0:
        return -math.inf, test_fraction, 0.0, {
            "reason": f"CHSH value {chsh} <= 2: no Bell violation, no device-independent key"}
    common = {"test_fraction": test_fraction, "test_rounds": test_rounds, "eps": eps,
              "ec_leakage_bits": ec_leakage_bits, "ec_efficiency": ec_efficiency}
    if method == "eat":
        return eat.eat_key_length(rounds, chsh, qber, **common)
    if method == "nadlinger2022":
        return nadlinger.nadlinger_key_length(rounds, chsh, qber, **common)
    if method in ("tan2022", "tan2022-collective"):
        return tan2022.tan_key_length(rounds, chsh, qber, attacks="collective" if method.endswith("collective")
                                      else "coherent", **common)
    if method == "collective-aep":
        return collective.collective_key_length(rounds, chsh, qber, key_fraction=key_fraction,
                                                key_rounds=key_rounds, **common)
    return complementarity.complementarity_key_length(rounds, chsh, qber, key_fraction=key_fraction,
                                                      key_rounds=key_rounds, concentration=concentration,
                                                      **common)


def finite_key(
    rounds: int,
    chsh: float,
    qber: float,
    *,
    method: str = FINITE_DEFAULT,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-10,
    eps_pe: float | None = None,
    eps_pa: float | None = None,
    eps_com: float | None = None,
    test_fraction: float | None = None,
    key_fraction: float | None = None,
    test_rounds: int | None = None,
    key_rounds: int | None = None,
    ec_leakage_bits: float | None = None,
    ec_efficiency: float = DEFAULT_EC_EFFICIENCY,
    concentration: str = "azuma",
    compute_min_rounds: bool = True,
) -> FiniteKeyResult:
    """Finite-size secret key length of a CHSH DI-QKD run.

    Parameters
    ----------
    rounds : int
        Number of rounds (entangled pairs used), >= 1.
    chsh, qber : float
        Observed CHSH value S (<= 2 sqrt 2; S <= 2 gives key 0 with a reason) and key-round QBER in
        [0, 0.5].
    method : {"eat", "collective-aep", "nadlinger2022", "tan2022", "tan2022-collective", "complementarity-reconstruction"}
        Alias ``"complementarity"`` = ``"complementarity-reconstruction"``.  Default ``"nadlinger2022"``.
    eps_sec, eps_cor : float
        Secrecy and correctness parameters in (0, 1).
    eps_pe, eps_pa : float, optional
        Parameter-estimation and privacy-amplification errors; by default the method's weighted share
        of ``eps_sec`` (:func:`security_budget`).
    eps_com : float, optional
        Completeness error of the acceptance test: the key is computed at the threshold
        omega_obs - sqrt(ln(1/eps_com)/(2 m)).  None: at the observed value (no margin).
    test_fraction, key_fraction : float, optional
        Round-type probabilities (expected counts); test_fraction optimised if None, key_fraction
        defaults to 1 - test_fraction.  Uniform Alice {0,1} x Bob {0,1,2} settings: 2/3 and 1/6.
    test_rounds, key_rounds : int, optional
        Observed counts; they override the fractions.
    ec_leakage_bits : float, optional
        Error-correction leakage; default ``ec_efficiency`` * (Shannon cost).  For ``"eat"`` it must
        include what Bob needs to learn Alice's test-round outputs.
    ec_efficiency : float
        f >= 1 in the default leakage (1.1).
    concentration : {"azuma", "freedman"}
        Martingale bound of the complementarity reconstruction.
    compute_min_rounds : bool
        Also compute ``min_rounds_for_positive_key`` (a bisection; set False in loops).

    Returns
    -------
    FiniteKeyResult
        ``key_bits`` (bit, the secret key length, >= 0), ``key_rate_per_round`` (bit per round of the
        whole run), ``method``, the security parameters ``eps_sec``, ``eps_cor``, ``eps_pe``, ``eps_pa``,
        ``eps_smooth``, ``eps_com`` (probabilities), ``test_fraction`` (1), ``ec_leakage_bits`` (bit),
        ``min_rounds_for_positive_key`` (rounds, or None) and ``details`` (intermediate terms and the
        ``reason`` of a zero key); ``.to_dataframe()``: one pandas row.
    """
    method = _validate(rounds, chsh, qber, method, test_fraction, key_fraction, ec_leakage_bits, ec_efficiency,
                       concentration, test_rounds, key_rounds)
    eps = security_budget(method, eps_sec, eps_cor, eps_pe, eps_pa, eps_com)
    rounds = int(rounds)
    length, gam, leak, details = raw_key_length(
        rounds, chsh, qber, method, eps, test_fraction=test_fraction, key_fraction=key_fraction,
        test_rounds=test_rounds, key_rounds=key_rounds, ec_leakage_bits=ec_leakage_bits,
        ec_efficiency=ec_efficiency, concentration=concentration)
    bits = math.floor(length) if math.isfinite(length) and length > 0 else 0
    details = dict(details)
    details["key_length_unclipped"] = length
    details["asymptotic_rate_per_key_round"] = _limit_rate(chsh, qber, method)
    details["ec_efficiency"] = ec_efficiency if ec_leakage_bits is None else None
    if bits == 0 and "reason" not in details:
        if details["asymptotic_rate_per_key_round"] <= 0.0:
            details["reason"] = (f"the asymptotic rate of method {method!r} is 0 at S={chsh}, Q={qber}: "
                                 "no key at any number of rounds")
        else:
            details["reason"] = f"finite-size corrections exceed the certified entropy at {rounds} rounds"
    min_rounds = None
    if compute_min_rounds and chsh > 2.0:
        min_rounds = minimum_rounds(chsh, qber, method=method, eps_sec=eps_sec, eps_cor=eps_cor, eps_pe=eps_pe,
                                    eps_pa=eps_pa, eps_com=eps_com, test_fraction=test_fraction,
                                    key_fraction=key_fraction, ec_efficiency=ec_efficiency,
                                    concentration=concentration)
    return FiniteKeyResult(
        key_bits=bits, key_rate_per_round=bits / rounds, method=method, eps_sec=eps.eps_sec,
        eps_cor=eps.eps_cor, test_fraction=float(gam) if gam is not None else float("nan"),
        ec_leakage_bits=float(leak), min_rounds_for_positive_key=min_rounds, details=details,
        eps_pe=eps.eps_pe, eps_pa=eps.eps_pa, eps_smooth=eps.eps_smooth, eps_com=eps.eps_com)


def smallest_rounds(enough, start: int = 1000, limit: int = MAX_ROUNDS) -> int | None:
    """Smallest n >= 1 with ``enough(n)`` True, assuming monotonicity; None if none up to ``limit``.

    Geometric search (factor 4) from ``start``, then bisection.
    """
    hi = start
    while not enough(hi):
        hi *= 4
        if hi > limit:
            return None
    lo = max(1, hi // 4)
    if enough(lo):
        if enough(1):
            return 1
        lo = 1
    while hi - lo > 1:  # invariant: not enough(lo), enough(hi)
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def minimum_rounds(
    chsh: float,
    qber: float,
    method: str = FINITE_DEFAULT,
    *,
    eps_sec: float = 1e-10,
    eps_cor: float = 1e-10,
    eps_pe: float | None = None,
    eps_pa: float | None = None,
    eps_com: float | None = None,
    test_fraction: float | None = None,
    key_fraction: float | None = None,
    ec_efficiency: float = DEFAULT_EC_EFFICIENCY,
    concentration: str = "azuma",
    target_bits: float = 1.0,
) -> int | None:
    """Smallest number of rounds whose key (expected counts) is at least ``target_bits`` (default 1).

    Returns None if S <= 2, if the asymptotic rate is zero, or if no such key appears below
    :data:`MAX_ROUNDS` rounds.  The key length is treated as monotone in the round count (true for the
    optimised fractions; with everything fixed it is monotone past the threshold).
    """
    method = _validate(1, chsh, qber, method, test_fraction, key_fraction, None, ec_efficiency, concentration)
    if chsh <= 2.0 or _limit_rate(chsh, qber, method) <= 0.0:
        return None
    eps = security_budget(method, eps_sec, eps_cor, eps_pe, eps_pa, eps_com)

    def enough(n: int) -> bool:
        length = raw_key_length(n, chsh, qber, method, eps, test_fraction=test_fraction,
                                key_fraction=key_fraction, ec_efficiency=ec_efficiency,
                                concentration=concentration)[0]
        return math.isfinite(length) and length >= max(target_bits, 1.0)

    return smallest_rounds(enough)


def qkd_rate_summary(chsh: float, qber: float, rounds: int | None = None, method: str = "pironio",
                     **finite_kwargs: Any) -> dict[str, Any]:
    """Numbers for ``qrepeater diqkd rate``: asymptotic rate, finite key, minimum rounds, all eps.

    Keys: ``method``, ``chsh``, ``qber``, ``rounds``, ``asymptotic_rate`` (of ``method``; for a finite
    method its n -> infinity limit), ``asymptotic_rate_pironio``, ``asymptotic_rate_noisy_preprocessing``,
    ``finite_method`` (``method`` if finite, else ``"nadlinger2022"``, or ``"tan2022"`` when eps_cor is below
    nadlinger2022's fixed 2^-61), ``finite_key_bits`` (None without
    ``rounds``), ``finite_key_rate_per_round``, ``min_rounds`` (of ``finite_method``), the security
    parameters and EC leakage used by ``finite_method`` (``eps_sec``, ``eps_cor``, ``eps_pe``,
    ``eps_pa``, ``eps_smooth``, ``eps_com``, ``ec_efficiency``, ``ec_leakage_bits``),
    ``finite_keys`` (with ``rounds``: one row per finite method, same parameters; a method that cannot
    take them — ``nadlinger2022`` with ``eps_cor`` below its fixed 2^-61 — has ``key_bits`` None,
    ``applicable`` False and the one-line ``not_applicable_reason``, instead of refusing the whole table;
    every other row has ``applicable`` True) and ``reason``.
    ``eps_com`` defaults to :data:`DEFAULT_EPS_COM` here.  Other keyword arguments go to
    :func:`finite_key`.
    """
    validate_chsh_qber(chsh, qber)
    canonical = resolve_method(method)
    finite_method = canonical if canonical in FINITE_METHODS else FINITE_DEFAULT
    kw = {k: v for k, v in finite_kwargs.items() if k not in ("compute_min_rounds", "method")}
    kw.setdefault("eps_com", DEFAULT_EPS_COM)
    kw.setdefault("ec_efficiency", DEFAULT_EC_EFFICIENCY)
    budget_args = (kw.get("eps_sec", 1e-10), kw.get("eps_cor", 1e-10), kw.get("eps_pe"), kw.get("eps_pa"),
                   kw["eps_com"])
    try:
        eps = security_budget(finite_method, *budget_args)
    except ParameterError:
        if canonical in FINITE_METHODS:  # asked for by name: refuse
            raise
        # the default (nadlinger2022: eps_cor >= 2^-61) cannot take these parameters: the headline finite
        # key comes from the other published analysis read in full, which takes any eps_cor
        finite_method = FINITE_FALLBACK
        eps = security_budget(finite_method, *budget_args)
    out: dict[str, Any] = {
        "method": canonical, "finite_method": finite_method, "chsh": chsh, "qber": qber, "rounds": rounds,
        "asymptotic_rate": _limit_rate(chsh, qber, canonical),
        "asymptotic_rate_pironio": asymptotic_rate(chsh, qber, "pironio"),
        "asymptotic_rate_noisy_preprocessing": asymptotic_rate(chsh, qber, "noisy-preprocessing"),
        "finite_key_bits": None, "finite_key_rate_per_round": None, "min_rounds": None,
        **eps.as_dict(), "ec_efficiency": kw["ec_efficiency"], "ec_leakage_bits": kw.get("ec_leakage_bits"),
        "finite_keys": None, "reason": "",
    }
    if chsh <= 2.0:
        out["reason"] = f"CHSH value {chsh} <= 2: no Bell violation, no device-independent key"
        if rounds is not None:
            out["finite_key_bits"], out["finite_key_rate_per_round"] = 0, 0.0
        return out
    if out["asymptotic_rate"] <= 0.0:
        out["reason"] = f"error-correction cost h(Q) exceeds the certified entropy for method {canonical!r}"
    no_leak = {k: v for k, v in kw.items() if k not in ("ec_leakage_bits", "test_rounds", "key_rounds")}
    out["min_rounds"] = minimum_rounds(chsh, qber, finite_method, **no_leak)
    if rounds is None:
        return out
    rows = {}
    for name in FINITE_METHODS:
        own = {k: v for k, v in kw.items()
               if not (name in _ALL_NON_TEST_ARE_KEY and k in ("key_fraction", "key_rounds"))
               and not (name != "complementarity-reconstruction" and k == "concentration")}
        try:
            res = finite_key(rounds, chsh, qber, method=name, compute_min_rounds=False, **own)
        except ParameterError as err:
            if name == finite_method:  # the method asked for cannot take these parameters: refuse
                raise
            # another method of the side-by-side table cannot take these parameters (nadlinger2022:
            # eps_cor is fixed at 2^-61 by its 64-bit tags): show the row as not applicable, say why
            why = f"not applicable: {err}"
            rows[name] = {"key_bits": None, "key_rate_per_round": None, "test_fraction": None,
                          "applicable": False, "not_applicable_reason": why, "reason": why}
            continue
        rows[name] = {"key_bits": res.key_bits, "key_rate_per_round": res.key_rate_per_round,
                      "test_fraction": res.test_fraction, **res.security_parameters(),
                      "applicable": True, "not_applicable_reason": None,
                      "reason": res.details.get("reason", "")}
    main = rows[finite_method]
    out.update({"finite_key_bits": main["key_bits"], "finite_key_rate_per_round": main["key_rate_per_round"],
                "finite_test_fraction": main["test_fraction"], "ec_leakage_bits": main["ec_leakage_bits"],
                "finite_keys": rows})
    if main["key_bits"] == 0 and not out["reason"]:
        out["reason"] = main["reason"]
    return out


__all__ = [
    "CONCENTRATIONS",
    "DEFAULT_EC_EFFICIENCY",
    "DEFAULT_EPS_COM",
    "FINITE_METHODS",
    "USTC2026_REFERENCE_CHOICES",
    "FiniteKeyResult",
    "finite_key",
    "minimum_rounds",
    "qkd_rate_summary",
    "raw_key_length",
    "security_budget",
    "smallest_rounds",
]
