"""Bell-diagonal / Werner state algebra: construction, fidelity, decay, swapping, purification, CHSH values."""

from .bell_diagonal import BELL_LABELS, BellDiagonal, from_density_matrix, werner, werner_parameter
from .chsh import chsh_fixed_settings, chsh_optimal_settings, optimal_bob_angles
from .decay import decay, decay_factors

__all__ = [
    "BELL_LABELS",
    "BellDiagonal",
    "chsh_fixed_settings",
    "chsh_optimal_settings",
    "decay",
    "decay_factors",
    "from_density_matrix",
    "optimal_bob_angles",
    "werner",
    "werner_parameter",
]

from .purification import (  # noqa: E402
    PURIFICATION_METHODS,
    bbpssw_unnormalized,
    bbpssw_werner_fidelity,
    dejmps_unnormalized,
    pump,
    purify_bbpssw,
    purify_dejmps,
)
from .swapping import swap, swap_correlators, swap_noise_factors  # noqa: E402
from .twirl import twirl, twirl_coefficients  # noqa: E402

__all__ += [
    "PURIFICATION_METHODS",
    "bbpssw_unnormalized",
    "bbpssw_werner_fidelity",
    "dejmps_unnormalized",
    "pump",
    "purify_bbpssw",
    "purify_dejmps",
    "swap",
    "swap_correlators",
    "swap_noise_factors",
    "twirl",
    "twirl_coefficients",
]
