"""qrepeater.qkd"""
from qrepeater.qkd.entropy import (  # noqa: E402
    binary_entropy,
    conditional_entropy_chsh,
    noisy_preprocessing_entropy,
    phase_error_bound_linear,
)
from qrepeater.qkd.rates import (  # noqa: E402
    asymptotic_rate,
    complementarity_asymptotic_rate,
    noisy_preprocessing_rate,
    optimal_noisy_preprocessing,
    pironio_rate,
)
from qrepeater.qkd.finite_size import (  # noqa: E402
    USTC2026_REFERENCE_CHOICES,
    FiniteKeyResult,
    finite_key,
    minimum_rounds,
    qkd_rate_summary,
)
# DI-QKD post-processing: round records → statistics → LDPC reconciliation → Toeplitz hashing → key
from qrepeater.qkd.records import make_records, read_records, validate_records, write_records  # noqa: E402
from qrepeater.qkd.statistics import ChshEstimate, QberEstimate, estimate_chsh, estimate_qber  # noqa: E402
from qrepeater.qkd.simulate import SimulationInfo, expected_statistics, simulate_records  # noqa: E402
from qrepeater.qkd.reconciliation import ReconciliationResult, reconcile  # noqa: E402
from qrepeater.qkd.privacy import toeplitz_hash, verification_tag  # noqa: E402
from qrepeater.qkd.keyfile import read_key_file, write_key_file  # noqa: E402
# (the function is exported as distill_records: a package attribute named `distill` would shadow the
# submodule qrepeater.qkd.distill for `import qrepeater.qkd.distill as m`)
from qrepeater.qkd.distill import DistillResult, distill_file  # noqa: E402
from qrepeater.qkd.distill import distill as distill_records  # noqa: E402
