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
