"""Swapping, purification, twirl and pumping against closed forms and density-matrix simulations."""

from __future__ import annotations

import numpy as np
import pytest

from qrepeater.errors import ParameterError
from qrepeater.states import (
    BellDiagonal,
    bbpssw_werner_fidelity,
    from_density_matrix,
    pump,
    purify_bbpssw,
    purify_dejmps,
    swap,
    twirl,
    werner,
)

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
P0 = np.diag([1.0, 0.0]).astype(complex)
P1 = np.diag([0.0, 1.0]).astype(complex)


def op_on(ops: dict[int, np.ndarray], n: int = 4) -> np.ndarray:
    mats = [ops.get(k, I2) for k in range(n)]
    out = mats[0]
    for m in mats[1:]:
        out = np.kron(out, m)
    return out


def cnot(c: int, t: int, n: int = 4) -> np.ndarray:
    return op_on({c: P0}, n) + op_on({c: P1, t: X}, n)


def rx(theta: float) -> np.ndarray:
    return np.cos(theta / 2) * I2 - 1j * np.sin(theta / 2) * X


def ptrace_keep(rho: np.ndarray, keep: tuple[int, int], n: int = 4) -> np.ndarray:
    r = rho.reshape([2] * (2 * n))
    traced = [k for k in range(n) if k not in keep]
    # trace out from the highest index so axis numbers stay valid
    for k in sorted(traced, reverse=True):
        m = r.ndim // 2
        r = np.trace(r, axis1=k, axis2=k + m)
    return r.reshape(4, 4)


def random_bell_diagonal(rng, n=None) -> BellDiagonal:
    w = rng.dirichlet([4.0, 1.0, 1.0, 1.0], size=n)
    return BellDiagonal(coefficients=w)


def simulate_swap(a: BellDiagonal, b: BellDiagonal, gate_fidelity=1.0, readout_error=0.0) -> np.ndarray:
    """Qubits (A, B1, B2, C): Bell measurement on B1 B2, Pauli-frame correction on C."""
    rho = np.kron(a.density_matrix(), b.density_matrix()).astype(complex)
    u = op_on({1: H}) @ cnot(1, 2)
    rho = u @ rho @ u.conj().T
    out = np.zeros((4, 4), dtype=complex)
    e = readout_error
    for m1 in (0, 1):
        for m2 in (0, 1):
            proj = op_on({1: P1 if m1 else P0, 2: P1 if m2 else P0})
            branch = ptrace_keep(proj @ rho @ proj, (0, 3))
            for r1 in (0, 1):
                for r2 in (0, 1):
                    w = (e if r1 != m1 else 1 - e) * (e if r2 != m2 else 1 - e)
                    corr = np.kron(I2, np.linalg.matrix_power(Z, r1) @ np.linalg.matrix_power(X, r2))
                    out += w * corr @ branch @ corr.conj().T
    out = gate_fidelity * out + (1 - gate_fidelity) * np.eye(4) / 4
    return out


def simulate_recurrence(a: BellDiagonal, b: BellDiagonal, dejmps: bool):
    """Qubits (A1, B1, A2, B2); pair 1 kept. Returns (unnormalised 4×4 output, success probability)."""
    rho = np.kron(a.density_matrix(), b.density_matrix()).astype(complex)
    if dejmps:
        u = op_on({0: rx(np.pi / 2), 2: rx(np.pi / 2), 1: rx(-np.pi / 2), 3: rx(-np.pi / 2)})
        rho = u @ rho @ u.conj().T
    u = cnot(1, 3) @ cnot(0, 2)
    rho = u @ rho @ u.conj().T
    keep = op_on({2: P0, 3: P0}) + op_on({2: P1, 3: P1})
    out = ptrace_keep(keep @ rho @ keep, (0, 1))
    return out, float(np.real(np.trace(out)))


# ---------------------------------------------------------------------------------- swapping


def test_swap_of_perfect_pairs_is_perfect():
    phi = werner(1.0)
    out, p = swap(phi, phi)
    assert out.fidelity == pytest.approx(1.0)
    assert p == 1.0


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("gate,readout", [(1.0, 0.0), (0.97, 0.0), (1.0, 0.03), (0.9, 0.1)])
def test_swap_matches_four_qubit_density_matrix(seed, gate, readout):
    rng = np.random.default_rng(seed)
    a, b = random_bell_diagonal(rng), random_bell_diagonal(rng)
    rho = simulate_swap(a, b, gate, readout)
    # the simulated output is exactly Bell-diagonal: its Bell-basis part reproduces it
    assert np.allclose(from_density_matrix(rho).density_matrix(), rho, atol=1e-12)
    out, _ = swap(a, b, gate_fidelity=gate, readout_error=readout)
    assert np.allclose(out.coefficients, from_density_matrix(rho).coefficients, atol=1e-12)


def test_swap_broadcasts_and_each_entry_matches_the_density_matrix():
    rng = np.random.default_rng(7)
    a, b = random_bell_diagonal(rng, 5), random_bell_diagonal(rng, 5)
    out, _ = swap(a, b, gate_fidelity=0.97, readout_error=0.02)
    assert out.coefficients.shape == (5, 4)
    for i in range(5):  # every broadcast entry against its own four-qubit simulation
        ai, bi = BellDiagonal(coefficients=a.coefficients[i]), BellDiagonal(coefficients=b.coefficients[i])
        rho = simulate_swap(ai, bi, 0.97, 0.02)
        assert np.allclose(out.coefficients[i], from_density_matrix(rho).coefficients, atol=1e-12)
    # Werner: the Werner parameters multiply (0.9 · 0.8 = 0.72 → F = (3·0.72 + 1)/4 = 0.79)
    out, _ = swap(werner(0.925), werner(0.85))
    assert out.fidelity == pytest.approx(0.79)


def test_swap_rejects_bad_noise():
    with pytest.raises(ParameterError):
        swap(werner(0.9), werner(0.9), gate_fidelity=1.2)
    with pytest.raises(ParameterError):
        swap(werner(0.9), werner(0.9), readout_error=0.7)


# ---------------------------------------------------------------------------------- twirl


def test_twirl_keeps_fidelity_and_makes_werner():
    s = BellDiagonal(0.7, 0.2, 0.1, 0.0)
    t = twirl(s)
    assert t.fidelity == pytest.approx(0.7)
    assert np.allclose(t.coefficients[1:], 0.1)


# ---------------------------------------------------------------------------------- purification


@pytest.mark.parametrize("f", [0.55, 0.7, 0.85, 0.99])
def test_bbpssw_closed_form(f):
    out, p = purify_bbpssw(werner(f), werner(f))
    q = (1 - f) / 3
    den = f * f + 2 * f * (1 - f) / 3 + 5 * q * q
    assert p == pytest.approx(den)
    assert out.fidelity == pytest.approx((f * f + q * q) / den)
    f2, p2 = bbpssw_werner_fidelity(f)
    assert f2 == pytest.approx(out.fidelity) and p2 == pytest.approx(p)
    assert out.fidelity > f  # purifies above F = 1/2


def test_dejmps_paper_labelling():
    # ours (Φ+, Φ−, Ψ+, Ψ−) = paper's (A, D, C, B)
    lam = np.array([0.7, 0.05, 0.15, 0.1])
    A, D, C, B = lam
    N = (A + B) ** 2 + (C + D) ** 2
    out, p = purify_dejmps(BellDiagonal(coefficients=lam), BellDiagonal(coefficients=lam))
    assert p == pytest.approx(N)
    assert np.allclose(out.coefficients, [(A * A + B * B) / N, 2 * A * B / N, (C * C + D * D) / N, 2 * C * D / N])


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
@pytest.mark.parametrize("method", ["bbpssw", "dejmps"])
def test_purification_matches_circuit_simulation(seed, method):
    rng = np.random.default_rng(seed)
    a, b = random_bell_diagonal(rng), random_bell_diagonal(rng)
    if method == "bbpssw":
        rho, p_sim = simulate_recurrence(twirl(a), twirl(b), dejmps=False)
        out, p = purify_bbpssw(a, b)
    else:
        rho, p_sim = simulate_recurrence(a, b, dejmps=True)
        out, p = purify_dejmps(a, b)
    assert p == pytest.approx(p_sim, abs=1e-12)
    rho_n = rho / p_sim
    assert np.allclose(from_density_matrix(rho_n).density_matrix(), rho_n, atol=1e-12)
    assert np.allclose(out.coefficients, from_density_matrix(rho_n).coefficients, atol=1e-12)


def test_dejmps_beats_bbpssw_on_bit_flip_noise():
    for f in (0.6, 0.75, 0.9):
        s = BellDiagonal(f, 0.0, 1 - f, 0.0)
        d, _ = purify_dejmps(s, s)
        b, _ = purify_bbpssw(s, s)
        assert d.fidelity == pytest.approx(f * f / (f * f + (1 - f) ** 2))
        assert d.fidelity > b.fidelity + 0.05


def test_purification_vectorised():
    f = np.array([0.6, 0.8, 0.95])
    out, p = purify_bbpssw(werner(f), werner(f))
    f2, p2 = bbpssw_werner_fidelity(f)
    assert np.allclose(out.fidelity, f2) and np.allclose(p, p2)


def test_pump_is_repeated_purification():
    stored, fresh = werner(0.8), BellDiagonal(0.85, 0.05, 0.05, 0.05)
    s1, p1 = purify_dejmps(stored, fresh)
    s2, p2 = purify_dejmps(s1, fresh)
    out, p = pump(stored, fresh, rounds=2, method="dejmps")
    assert np.allclose(out.coefficients, s2.coefficients)
    assert p == pytest.approx(p1 * p2)
    out0, p0 = pump(stored, fresh, rounds=0)
    assert out0.fidelity == pytest.approx(0.8) and p0 == 1.0
    # pumping saturates below 1 because each fresh pair carries noise
    far, _ = pump(stored, fresh, rounds=30, method="dejmps")
    very_far, _ = pump(stored, fresh, rounds=60, method="dejmps")
    assert far.fidelity == pytest.approx(very_far.fidelity, abs=1e-9)
    assert far.fidelity < 1.0
    with pytest.raises(ParameterError):
        pump(stored, fresh, rounds=1, method="magic")


# ---------------------------------------------------------------- CHSH values, two meanings
def _chsh_from_density_matrix(rho: np.ndarray, theta0, theta1):
    """S = <A0 B0> + <A0 B1> + <A1 B0> - <A1 B1> with A0 = Z, A1 = X, B(θ) = cos θ Z + sin θ X.

    The four traces Tr(ρ A⊗Z), Tr(ρ A⊗X) are taken from the density matrix once; ⟨A⊗B(θ)⟩ is linear
    in B, so the angles may be arrays (a whole grid at once)."""
    e = {(a, b): np.real(np.trace(rho @ np.kron(A, B))) for a, A in (("z", Z), ("x", X)) for b, B in (("z", Z), ("x", X))}

    def corr(a, t):
        return np.cos(t) * e[a, "z"] + np.sin(t) * e[a, "x"]

    return corr("z", theta0) + corr("z", theta1) + corr("x", theta0) - corr("x", theta1)


def test_chsh_fixed_and_optimal_settings_against_the_density_matrix():
    from qrepeater.states import chsh_fixed_settings, chsh_optimal_settings, optimal_bob_angles

    rng = np.random.default_rng(20261130)
    grid = np.linspace(-np.pi, np.pi, 721)
    for _ in range(20):
        state = random_bell_diagonal(rng)
        xx, _, zz = state.correlators
        rho = state.density_matrix()
        fixed = _chsh_from_density_matrix(rho, np.pi / 4, -np.pi / 4)
        assert chsh_fixed_settings(xx, zz) == pytest.approx(fixed, abs=1e-12)
        best = float(np.max(_chsh_from_density_matrix(rho, grid[:, None], grid[None, :])))
        optimal = chsh_optimal_settings(xx, zz)
        assert optimal == pytest.approx(_chsh_from_density_matrix(rho, *optimal_bob_angles(xx, zz)), abs=1e-12)
        assert best <= optimal + 1e-12 and best == pytest.approx(optimal, abs=2e-4)  # 0.5° grid
        assert optimal >= fixed - 1e-12
    phi_plus = werner(1.0)
    assert chsh_fixed_settings(*phi_plus.correlators[[0, 2]]) == pytest.approx(2 * np.sqrt(2))
