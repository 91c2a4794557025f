"""Device-independent QKD: CHSH statistics, key rates, finite-size security, post-processing.

Submodules: ``entropy``, ``rates`` (asymptotic rates), ``finite_size`` (finite-size key lengths and
minimum rounds; the analyses themselves in ``complementarity`` and ``eat``), ``records`` (round-record
schema and validating reader), ``statistics`` (CHSH/QBER estimators), ``simulate`` (seeded round
simulator), ``ldpc_codes`` (LDPC mother codes: PEG construction, puncturing order, on-disk cache),
``rate_adaptation`` (code choice, puncturing/shortening, frame length), ``bp_decoding`` (compiled
belief-propagation decoder), ``reconciliation`` (syndrome-based error correction), ``privacy``
(Toeplitz hashing, verification), ``keyfile`` (0600 key files), ``distill`` (records → key).

Names are imported lazily (PEP 562): ``from qrepeater.qkd import asymptotic_rate`` loads only the
rates, not the LDPC machinery.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "entropy": ("binary_entropy", "conditional_entropy_chsh", "noisy_preprocessing_entropy", "phase_error_bound_linear"),
    "rates": ("asymptotic_rate", "complementarity_asymptotic_rate", "noisy_preprocessing_rate", "optimal_noisy_preprocessing", "pironio_rate"),
    "finite_size": ("USTC2026_REFERENCE_CHOICES", "FiniteKeyResult", "finite_key", "minimum_rounds", "qkd_rate_summary"),
    "records": ("make_records", "read_records", "validate_records", "write_records"),
    "statistics": ("ChshEstimate", "QberEstimate", "estimate_chsh", "estimate_qber"),
    "simulate": ("SimulationInfo", "expected_statistics", "simulate_records"),
    "reconciliation": ("ReconciliationResult", "reconcile"),
    "privacy": ("toeplitz_hash", "verification_tag"),
    "keyfile": ("read_key_file", "write_key_file"),
    "bff": ("bff_entropy_bound", "bff_key_rate", "correlators_of_bell_diagonal"),
    "nadlinger": ("protocol_key_length",),
    "methods": ("METHODS", "method_table"),
    "planning": ("plan_rounds",),
    "distill": ("DistillResult", "distill_file"),
}
# `distill` the function is exported as distill_records: a package attribute named `distill` would
# shadow the submodule qrepeater.qkd.distill.
_ALIASES = {"distill_records": ("distill", "distill")}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, *_ALIASES])


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    elif name in _ALIASES:
        module, attr = _ALIASES[name]
        value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
