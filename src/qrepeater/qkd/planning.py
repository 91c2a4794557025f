"""Planning a DI-QKD run: how many rounds (and hours) a finite-size method needs for a target key length.

``qrepeater diqkd plan`` answers with :func:`plan_rounds`: the smallest round count N whose key under
``method`` (expected counts N * test_fraction etc., the test fraction optimised at each N unless given,
acceptance test with completeness margin eps_com) is at least ``target_bits``, and the run time
N / round_rate_hz.

The default round rate is the USTC 2026 DI-QKD run's: 405,145 rounds in 386.1 valid hours
(Liu et al., arXiv:2602.08472 [P]) = 0.2915 rounds per second.
"""

from __future__ import annotations

import math
from typing import Any

from qrepeater.errors import ParameterError, check_range
from qrepeater.qkd.finite_size import (
    DEFAULT_EC_EFFICIENCY,
    DEFAULT_EPS_COM,
    finite_key,
    minimum_rounds,
)
from qrepeater.qkd.methods import FINITE_DEFAULT, resolve_method
from qrepeater.qkd.rates import asymptotic_rate, validate_chsh_qber

__all__ = ["USTC2026_ROUND_RATE_HZ", "plan_rounds"]

#: 405,145 rounds / 386.1 h (USTC 2026 DI-QKD run, [P]).
USTC2026_ROUND_RATE_HZ = 405_145 / (386.1 * 3600.0)


def plan_rounds(chsh: float, qber: float, target_bits: float, *, method: str = FINITE_DEFAULT,
                round_rate_hz: float = USTC2026_ROUND_RATE_HZ, eps_sec: float = 1e-10, eps_cor: float = 1e-10,
                eps_pe: float | None = None, eps_pa: float | None = None,
                eps_com: float | None = DEFAULT_EPS_COM, test_fraction: float | None = None,
                ec_efficiency: float = DEFAULT_EC_EFFICIENCY) -> dict[str, Any]:
    """Rounds and hours needed for ``target_bits`` of key at expected CHSH value ``chsh`` and QBER ``qber``.

    Returns a dict with ``rounds`` (None if no key at any size: S <= 2 or zero asymptotic rate),
    ``hours``, ``method``, ``target_bits``, ``key_bits`` (the key at ``rounds``, >= target),
    ``test_fraction``, ``round_rate_hz``, ``asymptotic_rate`` (the method's n -> infinity limit per key
    round), the security parameters and ``ec_leakage_bits`` at ``rounds``, and ``reason`` ("" unless
    ``rounds`` is None).
    """
    validate_chsh_qber(chsh, qber)
    method = resolve_method(method, "finite")
    if isinstance(target_bits, bool) or not isinstance(target_bits, (int, float)):
        raise ParameterError("target_bits", target_bits, "a number >= 1")
    check_range("target_bits", target_bits, 1.0)
    check_range("round_rate_hz", round_rate_hz, 0.0, low_inclusive=False)
    out: dict[str, Any] = {"rounds": None, "hours": None, "method": method, "target_bits": target_bits,
                           "chsh": chsh, "qber": qber, "round_rate_hz": round_rate_hz, "key_bits": None,
                           "test_fraction": None, "asymptotic_rate": asymptotic_rate(chsh, qber, method),
                           "reason": ""}
    kw = {"eps_sec": eps_sec, "eps_cor": eps_cor, "eps_pe": eps_pe, "eps_pa": eps_pa, "eps_com": eps_com,
          "test_fraction": test_fraction, "ec_efficiency": ec_efficiency}
    n = minimum_rounds(chsh, qber, method, target_bits=target_bits, **kw)
    if n is None:
        out["reason"] = (f"CHSH value {chsh} <= 2: no Bell violation" if chsh <= 2.0 else
                         f"method {method!r} gives no key at S={chsh}, Q={qber} at any number of rounds"
                         if out["asymptotic_rate"] <= 0.0 else "no key below 1e14 rounds")
        return out
    res = finite_key(n, chsh, qber, method=method, compute_min_rounds=False, **kw)
    out.update({"rounds": n, "hours": n / round_rate_hz / 3600.0, "key_bits": res.key_bits,
                "test_fraction": res.test_fraction, **res.security_parameters()})
    if not math.isfinite(out["hours"]):
        out["hours"] = None
    return out
