"""Bell-diagonal / Werner state algebra: construction, fidelity, decay, swapping, purification."""

from .bell_diagonal import BELL_LABELS, BellDiagonal, from_density_matrix, werner, werner_parameter
from .decay import decay, decay_factors

__all__ = [
    "BELL_LABELS",
    "BellDiagonal",
    "decay",
    "decay_factors",
    "from_density_matrix",
    "werner",
    "werner_parameter",
]
