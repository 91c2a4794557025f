"""Brown–Fawzi–Fawzi entropy bound (qrepeater.qkd.bff, qrepeater.qkd.bff_npa).

Independent references: the Gauss–Radau table of Abramowitz & Stegun (mirrored), polynomial
exactness, the Shannon entropy of classical distributions, Pironio et al.'s closed form (tight for
CHSH), Ho et al.'s noisy-preprocessing closed form, explicit quantum strategies (moment matrices of
real operators, Pironio's optimal attack), and H(A|E) of a purified Bell-diagonal state computed
from density matrices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qrepeater.errors import ParameterError
from qrepeater.qkd import bff
from qrepeater.qkd.bff import (
    ChshCorrelators,
    bff_entropy_bound,
    bff_key_rate,
    bff_node_values,
    correlators_of_bell_diagonal,
    gauss_radau_nodes,
    quadrature_entropy_bits,
    relaxation_words,
)
from qrepeater.qkd.bff_npa import MomentMatrix, strategy_moments
from qrepeater.qkd.entropy import TSIRELSON, binary_entropy, conditional_entropy_chsh, noisy_preprocessing_entropy
from qrepeater.qkd.rates import pironio_rate
from qrepeater.qkd.simulate import expected_statistics
from qrepeater.states import BellDiagonal, werner
from qrepeater.states.bell_diagonal import bell_basis_vectors

X = np.array([[0.0, 1.0], [1.0, 0.0]])
Z = np.array([[1.0, 0.0], [0.0, -1.0]])
I2 = np.eye(2)


def kron(*ops):
    out = np.array([[1.0]])
    for o in ops:
        out = np.kron(out, o)
    return out


def ustc_state():
    from qrepeater.builders import qkd_source
    from qrepeater.config import load_preset

    src = qkd_source(load_preset("ustc2026-qkd"))
    return src.state, src.readout_error


def pironio_attack(chsh: float):
    """Pironio et al.'s optimal attack: λ1 Φ+ + λ2 Φ− purified by Eve (Eve's key-conditional states
    for Alice's Z outcome a: (√λ1 e1 ± √λ2 e2)/√2, unnormalised weight 1/2)."""
    x = math.sqrt((chsh / 2.0) ** 2 - 1.0)
    l1, l2 = (1.0 + x) / 2.0, (1.0 - x) / 2.0
    u = [np.array([math.sqrt(l1), s * math.sqrt(l2)]) for s in (1.0, -1.0)]
    return [0.5 * np.outer(v, v) for v in u], np.diag([l1, l2])


def strategy_node_value(t: float, rhos, sigma) -> float:
    """min over real Z of Σ_a Tr[ρ_a (Z_a + Z_aᵀ + (1-t) Z_aᵀ Z_a)] + t Tr[σ Z_a Z_aᵀ] (a quadratic)."""
    d = sigma.shape[0]
    total = 0.0
    for rho in rhos:
        # vec column-major: Tr[Z ρ Zᵀ] = vecᵀ (ρ ⊗ 1) vec ; Tr[Zᵀ σ Z] = vecᵀ (1 ⊗ σ) vec
        h = (1.0 - t) * np.kron(rho.T, np.eye(d)) + t * np.kron(np.eye(d), sigma)
        g = rho.T.reshape(-1, order="F")
        z = -np.linalg.lstsq(h, g, rcond=None)[0]
        total += 2.0 * g @ z + z @ h @ z
    return float(total)


def purified_key_entropy(state: BellDiagonal) -> float:
    """H(A|E) in bits for Alice's Z outcome when Eve holds a purification of the Bell-diagonal state:
    S(ρ_AE) - S(ρ_E) with ρ_AE = ⊕_a ρ_E^a (density matrices, no formula of the package)."""
    lam = np.asarray(state.coefficients, dtype=float)
    vecs = bell_basis_vectors()  # rows: Φ+, Φ−, Ψ+, Ψ− in |00>,|01>,|10>,|11>
    psi = sum(math.sqrt(max(lam[k], 0.0)) * np.kron(vecs[k], np.eye(4)[k]) for k in range(4)).reshape(2, 2, 4)
    rho_e_given_a = [np.einsum("be,bf->ef", psi[a], psi[a].conj()) for a in range(2)]

    def eigen_entropy(r):
        ev = np.linalg.eigvalsh(r)
        ev = ev[ev > 1e-14]
        return float(-(ev * np.log2(ev)).sum())

    return sum(eigen_entropy(r) for r in rho_e_given_a) - eigen_entropy(sum(rho_e_given_a))


# ----------------------------------------------------------------------------- quadrature
def test_gauss_radau_matches_the_published_table():
    # Abramowitz & Stegun / CRC table on [-1, 1] with the node fixed at -1, mirrored to +1 and mapped
    # to [0, 1] by t = (1 - x)/2, w/2.
    t, w = gauss_radau_nodes(2)
    np.testing.assert_allclose(t, [1 / 3, 1.0], atol=1e-14)
    np.testing.assert_allclose(w, [3 / 4, 1 / 4], atol=1e-14)
    t, w = gauss_radau_nodes(3)
    r6 = math.sqrt(6.0)
    np.testing.assert_allclose(t, [(4 - r6) / 10, (4 + r6) / 10, 1.0], atol=1e-14)
    np.testing.assert_allclose(w, [(16 - r6) / 36, (16 + r6) / 36, 1 / 9], atol=1e-14)


@pytest.mark.parametrize("m", [2, 5, 8, 16, 32])
def test_gauss_radau_is_exact_to_degree_2m_minus_2_and_not_beyond(m):
    t, w = gauss_radau_nodes(m)
    assert t[-1] == 1.0 and np.all(np.diff(t) > 0) and np.all(w > 0)
    for k in range(2 * m - 1):
        assert abs(np.sum(w * t**k) - 1.0 / (k + 1)) < 1e-12
    if m <= 8:  # beyond, the error of t^(2m-1) is below double precision
        assert abs(np.sum(w * t ** (2 * m - 1)) - 1.0 / (2 * m)) > 1e-12


@pytest.mark.parametrize("p", [0.5, 0.3, 0.1, 0.01])
def test_quadrature_of_exact_node_values_bounds_shannon_entropy_from_below(p):
    # classical A with trivial E: the node infimum is -Σ p_a²/((1-t) p_a + t) (module Notes)
    probs = np.array([p, 1.0 - p])
    shannon = float(-(probs * np.log2(probs)).sum())
    errors = []
    for m in (4, 8, 16):
        t, w = gauss_radau_nodes(m)
        v = [-np.sum(probs**2 / ((1.0 - ti) * probs + ti)) for ti in t]
        value = quadrature_entropy_bits(v, t, w)
        assert value <= shannon + 1e-12
        errors.append(shannon - value)
    assert errors[2] < 2e-4 and errors[2] <= errors[1] <= errors[0]


# ----------------------------------------------------------------------------- NPA machinery
def _random_strategy(rng):
    """Real qubit observables for Alice and Bob, real 2x2 Eve operators, a real state on A B E."""
    def obs():
        th = rng.uniform(0, 2 * math.pi)
        return math.cos(th) * Z + math.sin(th) * X

    a = [kron(obs(), I2, I2) for _ in range(2)]
    b = [kron(I2, obs(), I2) for _ in range(2)]
    e = [kron(I2, I2, rng.normal(size=(2, 2))) for _ in range(2)]
    psi = rng.normal(size=8)
    return psi / np.linalg.norm(psi), a, b, e


def _flag_symmetrised(psi, a, b, e):
    """The strategy and its outcome-flipped copy (A → -A, B → -B, Z_0 ↔ Z_1) behind a shared flag."""
    def ds(p, q):
        return np.block([[p, np.zeros_like(p)], [np.zeros_like(q), q]])

    return (
        np.concatenate([psi, psi]) / math.sqrt(2.0),
        [ds(o, -o) for o in a],
        [ds(o, -o) for o in b],
        [ds(e[0], e[1]), ds(e[1], e[0])],
    )


def test_moment_matrix_of_a_real_strategy_is_psd_and_symmetry_blocks_are_an_orthogonal_split():
    rng = np.random.default_rng(11)
    words = relaxation_words(2)
    full, sym = MomentMatrix(words, symmetric=False), MomentMatrix(words, symmetric=True)
    assert full.size == sym.size == 49 and sym.n_moments < full.n_moments
    strat = _flag_symmetrised(*_random_strategy(rng))
    g_full = full.gammas(strategy_moments(full, *strat))[0]
    blocks = sym.gammas(strategy_moments(sym, *strat))
    assert np.linalg.eigvalsh(g_full).min() > -1e-10
    assert min(np.linalg.eigvalsh(g).min() for g in blocks) > -1e-10
    # an orthogonal change of basis: same spectrum
    np.testing.assert_allclose(np.sort(np.concatenate([np.linalg.eigvalsh(g) for g in blocks])), np.linalg.eigvalsh(g_full), atol=1e-10)


def test_relaxation_nodes_are_below_and_tight_at_pironios_optimal_attack():
    s = 2.6
    t, _ = gauss_radau_nodes(8)
    rhos, sigma = pironio_attack(s)
    strategy = np.array([strategy_node_value(ti, rhos, sigma) for ti in t])
    relaxed = bff_node_values(s, m=8)
    assert np.all(relaxed <= strategy + 1e-6)
    np.testing.assert_allclose(relaxed, strategy, atol=2e-6)


# ----------------------------------------------------------------------------- against Pironio
@pytest.mark.parametrize("s", [2.2, 2.4, 2.6, 2.75])
def test_chsh_only_bound_reproduces_pironio(s):
    value = bff_entropy_bound(s, m=8)
    exact = conditional_entropy_chsh(s)
    assert abs(value - exact) <= 1e-3
    assert value <= exact + 1e-5  # a lower bound on a tight bound


def test_near_tsirelson_more_nodes_are_needed_and_suffice():
    # m = 8 leaves the Gauss-Radau deficit of BFF's bound (1.35e-3 bits at S = 2.8); m = 16 closes it
    s = 2.8
    exact = conditional_entropy_chsh(s)
    assert exact - bff_entropy_bound(s, m=8) > 1e-3
    assert abs(bff_entropy_bound(s, m=16) - exact) <= 1e-4


@pytest.mark.slow
def test_chsh_only_bound_reproduces_pironio_dense_scan():
    scan = np.concatenate([np.linspace(2.2, 2.8, 7), [2.81, 2.82, 2.825, 2.828, 2.8283, TSIRELSON]])
    worst = max(abs(bff_entropy_bound(float(s), m=32) - conditional_entropy_chsh(float(s))) for s in scan)
    assert worst <= 1e-3


def test_noisy_preprocessing_reproduces_ho_et_al():
    for p in (0.1, 0.2):
        value = bff_entropy_bound(2.6, m=8, flip_probability=p)
        exact = noisy_preprocessing_entropy(2.6, p)
        assert exact - 1e-3 <= value <= exact + 1e-5


# ----------------------------------------------------------------------------- full statistics
def test_correlators_of_bell_diagonal_match_a_density_matrix_and_the_simulator():
    state = BellDiagonal.from_correlators(0.81, -0.77, 0.9)
    rho = state.density_matrix()
    angles_a, angles_b = (0.0, math.pi / 2), (0.3, -1.1)
    table = correlators_of_bell_diagonal(state, 0.02, alice_angles_rad=angles_a, bob_angles_rad=angles_b)
    for i, al in enumerate(angles_a):
        for j, be in enumerate(angles_b):
            op = np.kron(math.cos(al) * Z + math.sin(al) * X, math.cos(be) * Z + math.sin(be) * X)
            assert abs(table.correlators[i, j] - (1 - 0.04) ** 2 * np.trace(rho @ op).real) < 1e-12
    assert not np.any(table.alice_marginals) and not np.any(table.bob_marginals)
    e, s, _ = expected_statistics(state, 0.02)
    default = correlators_of_bell_diagonal(state, 0.02)
    np.testing.assert_allclose(default.correlators, e[:, :2], atol=1e-14)
    assert abs(default.chsh - s) < 1e-12


def test_full_statistics_of_the_ustc_state_are_never_below_chsh_only():
    state, readout = ustc_state()
    table = correlators_of_bell_diagonal(state, readout)
    full = bff_entropy_bound(table, m=8)
    chsh_only = bff_entropy_bound(table.chsh, m=8)
    assert full >= chsh_only - 1e-6
    assert abs(chsh_only - conditional_entropy_chsh(table.chsh)) <= 1e-3
    # and never above what the state itself gives Eve (she may hold its purification)
    if readout == 0.0:
        assert full <= purified_key_entropy(state) + 1e-6


def test_full_statistics_of_pironios_extremal_state_are_tight():
    # λ1 Φ+ + λ2 Φ−: CHSH-only ≤ full ≤ H(A|E) of the state, and the two ends coincide (Pironio)
    lam1 = 0.93
    state = BellDiagonal(lam1, 1 - lam1, 0.0, 0.0)
    table = correlators_of_bell_diagonal(state)
    true_h = purified_key_entropy(state)
    assert abs(true_h - (1 - binary_entropy(lam1))) < 1e-9
    assert abs(true_h - conditional_entropy_chsh(table.chsh)) < 1e-9
    full = bff_entropy_bound(table, m=8)
    assert abs(full - true_h) <= 1e-4 and full <= true_h + 1e-5


def test_werner_state_full_statistics_not_below_chsh_only():
    table = correlators_of_bell_diagonal(werner(0.95))
    assert bff_entropy_bound(table, m=8) >= bff_entropy_bound(table.chsh, m=8) - 1e-6


@pytest.mark.slow
def test_symmetry_reduction_is_exact_and_nonzero_marginals_are_handled():
    # the unreduced problem (path used for non-zero marginals) with zero marginals gives the same value
    state, readout = ustc_state()
    table = correlators_of_bell_diagonal(state, readout)
    relax = bff._Relaxation(2, "full+marginals", 0.0)
    t, w = gauss_radau_nodes(8)
    obs = np.concatenate([table.correlators.reshape(-1), np.zeros(4)])
    unreduced = quadrature_entropy_bits([relax.solve_node(ti, obs) for ti in t], t, w)
    assert abs(unreduced - bff_entropy_bound(table, m=8)) < 1e-5
    # a pure partially entangled state cos θ|00> + sin θ|11>: Eve is decoupled, H(A|E) = h(cos² θ)
    th = 0.6
    corr = np.array([[math.cos(a) * math.cos(b) + math.sin(2 * th) * math.sin(a) * math.sin(b) for b in (0.5, -0.5)] for a in (0.0, math.pi / 2)])
    marg_a = np.array([math.cos(2 * th), 0.0])
    marg_b = np.array([math.cos(2 * th) * math.cos(b) for b in (0.5, -0.5)])
    value = bff_entropy_bound(ChshCorrelators(corr, marg_a, marg_b), m=8)
    assert 0.0 < value <= binary_entropy(math.cos(th) ** 2) + 1e-5


# ----------------------------------------------------------------------------- API
def test_results_are_deterministic():
    first = bff_node_values(2.5, m=4)
    again = bff_node_values(2.5, m=4)
    bff._relaxation.cache_clear()
    fresh = bff_node_values(2.5, m=4)
    assert np.array_equal(first, again) and np.array_equal(first, fresh)


def test_key_rate_is_entropy_minus_error_correction():
    rate = bff_key_rate(chsh=2.6, qber=0.05)
    assert abs(rate - pironio_rate(2.6, 0.05)) <= 1e-3
    state, readout = ustc_state()
    table = correlators_of_bell_diagonal(state, readout)
    q = expected_statistics(state, readout)[2]
    assert bff_key_rate(correlators=table, qber=q) >= bff_key_rate(chsh=table.chsh, qber=q) - 1e-6


def test_lower_npa_level_gives_a_weaker_bound():
    assert len(relaxation_words(1)) < len(relaxation_words(2))
    assert bff_entropy_bound(2.6, m=4, level=1) <= bff_entropy_bound(2.6, m=4, level=2) + 1e-6


def test_bad_inputs_are_parameter_errors():
    with pytest.raises(ParameterError):
        bff_entropy_bound(2.9)
    with pytest.raises(ParameterError):
        bff_entropy_bound("2.5")
    with pytest.raises(ParameterError):
        bff_entropy_bound(ChshCorrelators(np.array([[1.0, 1.0], [1.0, -1.0]])))  # PR box: not quantum
    with pytest.raises(ParameterError):
        ChshCorrelators(np.array([[1.2, 0.0], [0.0, 0.0]]))
    with pytest.raises(ParameterError):
        bff_key_rate(chsh=2.5, qber=0.01, correlators=correlators_of_bell_diagonal(werner(0.95)))
    with pytest.raises(ParameterError):
        bff_key_rate(qber=0.01)
    with pytest.raises(ParameterError):
        gauss_radau_nodes(1)
    with pytest.raises(ParameterError):
        gauss_radau_nodes(8.5)
    with pytest.raises(ParameterError):
        relaxation_words(0)
    with pytest.raises(ParameterError):
        bff_entropy_bound(2.5, level="2")
