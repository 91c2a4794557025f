"""Bell-diagonal two-qubit states, vectorised over numpy arrays.

A Bell-diagonal state is ``ρ = Σ_k λ_k |B_k⟩⟨B_k|`` with the Bell basis ordered
``(Φ+, Φ−, Ψ+, Ψ−)``. The *target* state throughout qrepeater is Φ+, so the fidelity of a state is its
Φ+ weight ``λ_0``. Equivalently the state is fixed by its three Pauli correlators
``t = (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩)``:

    λ_Φ+ = (1 + tx − ty + tz) / 4        λ_Φ− = (1 − tx + ty + tz) / 4
    λ_Ψ+ = (1 + tx + ty − tz) / 4        λ_Ψ− = (1 − tx − ty − tz) / 4

so Pauli channels, memory decay and entanglement swapping are products of correlators.

Arrays: ``coefficients`` has shape ``(..., 4)``; every operation broadcasts over the leading axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

BELL_LABELS = ("phi_plus", "phi_minus", "psi_plus", "psi_minus")

# Row k gives λ_k as (1 + s·t)/4 with s the signs of (tx, ty, tz).
_SIGNS = np.array(
    [
        [1.0, -1.0, 1.0],
        [-1.0, 1.0, 1.0],
        [1.0, 1.0, -1.0],
        [-1.0, -1.0, -1.0],
    ]
)


def coefficients_from_correlators(correlators: np.ndarray) -> np.ndarray:
    """Bell weights ``(..., 4)`` from Pauli correlators ``(..., 3)`` = (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩)."""
    t = np.asarray(correlators, dtype=float)
    return (1.0 + t @ _SIGNS.T) / 4.0


def correlators_from_coefficients(coefficients: np.ndarray) -> np.ndarray:
    """Pauli correlators ``(..., 3)`` from Bell weights ``(..., 4)`` (inverse of the above)."""
    lam = np.asarray(coefficients, dtype=float)
    # t = Σ_k λ_k s_k  (the sign rows are orthogonal with norm 4 once the constant column is added)
    return lam @ _SIGNS


@dataclass(frozen=True)
class BellDiagonal:
    """A (possibly batched) Bell-diagonal state.

    Parameters
    ----------
    phi_plus, phi_minus, psi_plus, psi_minus : float or array
        Weights of the Bell states; they must be non-negative and sum to one (within 1e-9).

    Attributes
    ----------
    coefficients : ndarray, shape (..., 4)
        Weights in the order (Φ+, Φ−, Ψ+, Ψ−).
    """

    coefficients: np.ndarray

    def __init__(self, phi_plus=None, phi_minus=None, psi_plus=None, psi_minus=None, *, coefficients=None):
        if coefficients is None:
            if any(v is None for v in (phi_plus, phi_minus, psi_plus, psi_minus)):
                raise TypeError("give all four Bell weights or coefficients=")
            coefficients = np.stack(np.broadcast_arrays(*(np.asarray(v, float) for v in (phi_plus, phi_minus, psi_plus, psi_minus))), axis=-1)
        coefficients = np.asarray(coefficients, dtype=float)
        if coefficients.shape[-1:] != (4,):
            raise ValueError(f"coefficients must have last axis of length 4, got shape {coefficients.shape}")
        if np.any(coefficients < -1e-9):
            raise ParameterError("Bell weights", coefficients.min(), "each weight >= 0")
        total = coefficients.sum(axis=-1)
        if np.any(np.abs(total - 1.0) > 1e-9):
            raise ParameterError("sum of Bell weights", float(np.max(np.abs(total))), "1 (within 1e-9)")
        object.__setattr__(self, "coefficients", np.clip(coefficients, 0.0, None))

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_correlators(cls, xx, yy, zz) -> "BellDiagonal":
        """State with Pauli correlators ⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩ (broadcast)."""
        t = np.stack(np.broadcast_arrays(np.asarray(xx, float), np.asarray(yy, float), np.asarray(zz, float)), axis=-1)
        return cls(coefficients=coefficients_from_correlators(t))

    # -- views ------------------------------------------------------------------------------------
    @property
    def fidelity(self) -> np.ndarray | float:
        """Fidelity with the target Φ+ (dimensionless)."""
        f = self.coefficients[..., 0]
        return float(f) if np.ndim(f) == 0 else f

    @property
    def correlators(self) -> np.ndarray:
        """Pauli correlators (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩), shape (..., 3)."""
        return correlators_from_coefficients(self.coefficients)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.coefficients.shape[:-1]

    def __getitem__(self, index) -> "BellDiagonal":
        return BellDiagonal(coefficients=self.coefficients[index])

    def as_dict(self) -> dict[str, float]:
        """Weights by name (scalar states only)."""
        return {k: float(v) for k, v in zip(BELL_LABELS, self.coefficients)}

    def density_matrix(self) -> np.ndarray:
        """4×4 density matrix in the computational basis |00⟩,|01⟩,|10⟩,|11⟩ (scalar states only)."""
        return np.einsum("k,kij->ij", self.coefficients, bell_basis_projectors())

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        if self.coefficients.ndim == 1:
            return "BellDiagonal(" + ", ".join(f"{k}={v:.6g}" for k, v in self.as_dict().items()) + ")"
        return f"BellDiagonal(shape={self.shape})"


def werner(fidelity) -> BellDiagonal:
    """Werner state with the given fidelity to Φ+; the other three weights are (1 − F)/3 each."""
    f = np.asarray(fidelity, dtype=float)
    if np.any((f < 0) | (f > 1)):
        raise ParameterError("fidelity", float(np.min(f)) if np.any(f < 0) else float(np.max(f)), "[0, 1]")
    rest = (1.0 - f) / 3.0
    return BellDiagonal(f, rest, rest, rest)


def werner_parameter(fidelity):
    """Werner parameter w = (4F − 1)/3 (1 for Φ+, 0 for the maximally mixed state)."""
    return (4.0 * np.asarray(fidelity, float) - 1.0) / 3.0


def bell_basis_vectors() -> np.ndarray:
    """Rows: |Φ+⟩, |Φ−⟩, |Ψ+⟩, |Ψ−⟩ in the computational basis."""
    s = 1.0 / np.sqrt(2.0)
    return np.array([[s, 0, 0, s], [s, 0, 0, -s], [0, s, s, 0], [0, s, -s, 0]])


def bell_basis_projectors() -> np.ndarray:
    """Projectors |B_k⟩⟨B_k|, shape (4, 4, 4)."""
    v = bell_basis_vectors()
    return np.einsum("ki,kj->kij", v, v)


def from_density_matrix(rho: np.ndarray) -> BellDiagonal:
    """Bell-diagonal part (the twirl) of a 4×4 density matrix."""
    p = np.real(np.einsum("kij,ji->k", bell_basis_projectors(), rho))
    p = np.clip(p, 0, None)
    return BellDiagonal(coefficients=p / p.sum())
