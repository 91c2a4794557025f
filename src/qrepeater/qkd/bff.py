"""Device-independent lower bound on H(A|X=0, E) from observed correlators (Brown–Fawzi–Fawzi).

Method
------
Brown, Fawzi and Fawzi, "Device-independent lower bounds on the conditional von Neumann entropy",
arXiv:2106.13692 (Quantum 8, 1445 (2024)), hereafter BFF. With Gauss–Radau nodes ``t_1 < … < t_m = 1``
and weights ``w_i`` on [0, 1] (:func:`gauss_radau_nodes`), for every quantum strategy (state ψ on
Alice–Bob–Eve, Alice's key POVM ``M_a``)

    H(A|X=0, E) ≥ Σ_{i≤m} w_i / (t_i ln 2) · (1 + v_i),

    v_i = inf Σ_a ⟨ψ| M_a (Z_a + Z_a* + (1 - t_i) Z_a* Z_a) + t_i Z_a Z_a* |ψ⟩,

the infimum over Eve's operators ``Z_a`` (bounded, commuting with Alice's and Bob's operators) and over
every strategy that reproduces the observed statistics. Each ``v_i`` is lower-bounded by an NPA
semidefinite relaxation (:mod:`qrepeater.qkd.bff_npa`; rows :func:`relaxation_words`), so the result is
a device-independent lower bound (BFF's constant ``c_m = Σ w_i/(t_i ln 2)`` is the "1 +" part). As in
BFF's reference scripts the infimum is taken node by node (m separate SDPs: valid, possibly slightly
looser than one joint SDP) and the operator-norm bounds on ``Z_a`` are dropped (a relaxation: the bound
can only decrease). The ``t_m = 1`` node is solved by default; ``last_node=False`` bounds it by its
trivial value ``1 + v_m ≥ 0`` instead, as BFF's scripts do by default.

Accuracy (measured; benchmarks/RESULTS.md). The relaxation is tight here: at Pironio's optimal attack
every relaxed ``v_i`` equals the attack's own value to < 2e-6 (tests). What remains is the quadrature
deficit of BFF's bound at finite m, which for the CHSH-only problem is < 2e-5 bits for S ≤ 2.6 and
1.4e-4 at S = 2.75 with m = 8, but grows near Tsirelson's bound, up to ≈ 1/(2 m² ln 2) as
S → 2√2 (0.011 bits at m = 8, 2.8e-3 at m = 16, 7.0e-4 at m = 32): Eve's key-conditional states
become pure but nearly parallel, and the integrand has a pole close to t = 0. Use m ≥ 27 to stay
within 1e-3 of Pironio's curve up to 2√2.

Source status (read this): the full texts of BFF and of the projective variant of Koßmann & Schwonnek
(arXiv:2411.04858) were *not* readable here — the stored copies show their abstracts only — so no
equation numbers are cited and this module is a reconstruction. The objective above is the one of the
authors' public reference implementation (github.com/peterjbrown519/DI-rates, ``chsh_local.py`` /
``qkd.py``: same objective, node-by-node solve, "NPA level 2 + ABZ" monomials), re-derived in the Notes
for commuting operators; the result is checked against the independent closed forms of Pironio et al.
(NJP 11, 045021 (2009)) and Ho et al. (PRL 124, 230502 (2020), Eq. 4) in ``tests/test_qkd_bff.py``.
The Koßmann–Schwonnek variant (half as many Eve variables, projective) is not implemented; the
outcome-flip symmetry reduction of :mod:`.bff_npa` gives a comparable saving for the CHSH and
zero-marginal problems.

Notes
-----
Why the formula (commuting case, where Eve's operators and states are numbers). With
``ln x = ∫_0^1 (x - 1)/(t (x - 1) + 1) dt`` one finds, for a distribution ``p_a`` seen by Eve with
weight ``σ`` (``σ = Σ_a p_a``),
``inf_z p (z + z̄ + (1-t)|z|²) + t σ |z|² = -p² / ((1-t) p + t σ)`` (at ``z = -p/((1-t)p + tσ)``), and

    -Σ_a p_a ln(p_a/σ) = ∫_0^1 (dt/t) (σ - Σ_a p_a² / ((1-t) p_a + t σ)),

the Shannon entropy of A given Eve's value. Gauss–Radau quadrature with the node fixed at ``t = 1`` turns
the integral into the sum above; BFF show that it bounds the (quantum) integral from below. At
``t = 1`` the bracket is ``σ - Σ_a p_a²/σ ≥ 0``, which is why dropping that node keeps a lower bound.
This scalar identity is tested on its own (classical distributions) in the tests.

Observed statistics (the ``constraints`` argument)
--------------------------------------------------
* a number ``S``: the CHSH value ``E00 + E01 + E10 - E11`` in the correlator convention (local bound
  2, Tsirelson 2√2); imposed as ``S_strategy ≥ S``;
* a :class:`ChshCorrelators`: the four correlators ``E[x, y] = ⟨A_x B_y⟩`` of Alice's settings
  x ∈ {0, 1} (x = 0 is the key setting) and Bob's two CHSH settings y ∈ {0, 1}, ±1-valued outcomes
  (outcome 0 ↔ +1), and optionally the marginals ``⟨A_x⟩`` and ``⟨B_y⟩`` (``None`` = not imposed);
  imposed as equalities. Bob's key setting (y = 2) does not enter: its statistics set the QBER, i.e.
  the error-correction cost, which :func:`bff_key_rate` subtracts.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import roots_jacobi

from ..errors import ParameterError, check_range
from ..states import BellDiagonal, optimal_bob_angles
from .bff_npa import IDENTITY, MomentMatrix, Word, alice, alice_bob_words, bob, eve, word_product
from .entropy import TSIRELSON, binary_entropy

#: Default number of Gauss–Radau nodes (one SDP each); see the accuracy note above.
DEFAULT_NODES = 8
#: Default NPA level (plus the BFF extra words, :func:`relaxation_words`).
DEFAULT_LEVEL = 2
#: When a node's SDP does not solve to "optimal" (statistics on the boundary of the quantum set, e.g.
#: S = 2√2, leave the feasible set without interior), it is re-solved with the observations weakened:
#: S → S - δ, or every correlator and marginal scaled by (1 - δ), for δ in turn. Both only lower the
#: node value: the feasible set grows (S); the relaxed node value v is convex in the observations p and
#: v(p) ≥ -1 = v(0) (with nothing to check, Eve may know Alice's outcome), so v((1-δ)p) ≤ (1-δ) v(p) - δ ≤ v(p).
#: Each node is its own infimum, so nodes may use different δ.
BOUNDARY_SHRINK = (0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
#: Clarabel is run on one thread and without warm start (bit-for-bit repeatable whatever was solved
#: before; cvxpy would otherwise re-use the previous solver object), to the first of these gap and
#: feasibility tolerances it reaches (its default 1e-8 can stall at ~1e-7 on degenerate nodes). A
#: node's error of 1e-6 moves the bound by at most c_m · 1e-6 (c_m = Σ w_i/(t_i ln 2) = 7.7 at m = 8,
#: 11.7 at m = 32).
CLARABEL_TOLERANCES = (1e-7, 1e-6)


# ------------------------------------------------------------------------------------ quadrature
def gauss_radau_nodes(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Radau nodes ``t`` (ascending, ``t[-1] = 1``) and weights ``w`` on [0, 1] with ``m`` nodes.

    The rule integrates polynomials of degree ≤ 2m - 2 exactly. On [-1, 1] with the node fixed at +1,
    the free nodes are the Gauss–Jacobi nodes for the weight ``(1 - x)`` (Jacobi α = 1, β = 0) and
    their weights are the Gauss–Jacobi weights divided by ``(1 - x_j)``; the fixed node has weight
    ``2/m²`` (Abramowitz & Stegun 25.4.31, mirrored). Mapped to [0, 1] by ``t = (1 + x)/2``, ``w/2``.
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2:
        raise ParameterError("m", m, "an integer >= 2 (number of Gauss-Radau nodes)")
    m = int(m)
    x, lam = roots_jacobi(m - 1, 1.0, 0.0)
    w_free = lam / (1.0 - x)
    t = np.concatenate([(1.0 + x) / 2.0, [1.0]])
    w = np.concatenate([w_free / 2.0, [1.0 / m**2]])
    order = np.argsort(t)
    return t[order], w[order]


def quadrature_entropy_bits(node_values: np.ndarray, t: np.ndarray, w: np.ndarray) -> float:
    """``Σ_i w_i/(t_i ln 2) (1 + v_i)`` over the first ``len(node_values)`` nodes (all m, or m - 1 when
    the ``t = 1`` term is bounded by 0)."""
    v = np.asarray(node_values, dtype=float)
    t, w = np.asarray(t)[: v.size], np.asarray(w)[: v.size]
    return float(np.sum(w / (t * math.log(2.0)) * (1.0 + v)))


# ------------------------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class ChshCorrelators:
    """Observed statistics of the CHSH test rounds.

    Attributes
    ----------
    correlators : numpy.ndarray, shape (2, 2)
        ``E[x, y] = ⟨A_x B_y⟩`` for Alice's setting x (0 = key setting) and Bob's CHSH setting y,
        outcomes ±1 (outcome bit 0 ↔ +1), each in [-1, 1].
    alice_marginals, bob_marginals : numpy.ndarray, shape (2,), or None
        ``⟨A_x⟩`` and ``⟨B_y⟩``, each in [-1, 1]; ``None`` leaves them free in the relaxation.
    """

    correlators: np.ndarray
    alice_marginals: np.ndarray | None = None
    bob_marginals: np.ndarray | None = None

    def __post_init__(self) -> None:
        e = np.asarray(self.correlators, dtype=float)
        if e.shape != (2, 2) or not np.all(np.isfinite(e)) or np.any(np.abs(e) > 1.0 + 1e-12):
            raise ParameterError("correlators", self.correlators, "a 2x2 table of numbers in [-1, 1]")
        object.__setattr__(self, "correlators", e)
        for name in ("alice_marginals", "bob_marginals"):
            v = getattr(self, name)
            if v is None:
                continue
            v = np.asarray(v, dtype=float)
            if v.shape != (2,) or not np.all(np.isfinite(v)) or np.any(np.abs(v) > 1.0 + 1e-12):
                raise ParameterError(name, getattr(self, name), "two numbers in [-1, 1], or None")
            object.__setattr__(self, name, v)

    @property
    def chsh(self) -> float:
        """S = E00 + E01 + E10 - E11."""
        e = self.correlators
        return float(e[0, 0] + e[0, 1] + e[1, 0] - e[1, 1])


@dataclass(frozen=True)
class CorrelatorBox:
    """Statistics known up to confidence intervals (finite-size use, :mod:`qrepeater.qkd.bff_finite`).

    Imposed as ``lower[x, y] ≤ E[x, y] ≤ upper[x, y]`` for the four CHSH correlators (convention of
    :class:`ChshCorrelators`) and ``S ≥ chsh_lower``; the feasible set contains every strategy whose
    statistics lie in the box, so the bound holds for all of them.
    """

    lower: np.ndarray
    upper: np.ndarray
    chsh_lower: float

    def __post_init__(self) -> None:
        lo = np.clip(np.asarray(self.lower, dtype=float), -1.0, 1.0)
        hi = np.clip(np.asarray(self.upper, dtype=float), -1.0, 1.0)
        if lo.shape != (2, 2) or hi.shape != (2, 2) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))) \
                or np.any(lo > hi):
            raise ParameterError("lower/upper", (self.lower, self.upper), "2x2 tables with lower <= upper")
        s = float(self.chsh_lower)
        if not math.isfinite(s):
            raise ParameterError("chsh_lower", self.chsh_lower, "a finite number")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "chsh_lower", min(s, TSIRELSON))


def correlators_of_bell_diagonal(
    state: BellDiagonal,
    readout_error: float = 0.0,
    *,
    alice_angles_rad: tuple[float, float] = (0.0, math.pi / 2.0),
    bob_angles_rad: tuple[float, float] | None = None,
) -> ChshCorrelators:
    """Expected CHSH statistics of a Bell-diagonal state for measurements in the X–Z plane.

    A direction at angle θ from Z towards X is ``cos θ Z + sin θ X``; for a Bell-diagonal state with
    correlators ``(⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩)`` the correlator of directions α (Alice) and β (Bob) is
    ``⟨XX⟩ sin α sin β + ⟨ZZ⟩ cos α cos β`` and both marginals vanish (maximally mixed reduced states;
    module docstring of :mod:`qrepeater.qkd.simulate`). A readout error flipping each outcome with
    probability ``r`` multiplies every correlator by ``(1 - 2r)²`` and keeps the marginals 0.

    Parameters
    ----------
    state : BellDiagonal
        Scalar state.
    readout_error : float
        Per-party flip probability in [0, 0.5].
    alice_angles_rad : (float, float)
        Alice's settings x = 0 (key) and x = 1; default Z and X, as in the round simulator.
    bob_angles_rad : (float, float), optional
        Bob's CHSH settings; default :func:`qrepeater.states.optimal_bob_angles` of the state (the
        settings of :func:`qrepeater.qkd.simulate.expected_statistics`).
    """
    if state.shape != ():
        raise ParameterError("state", state, "a scalar BellDiagonal state")
    check_range("readout_error", readout_error, 0.0, 0.5)
    txx, _, tzz = (float(v) for v in np.asarray(state.correlators).reshape(3))
    if bob_angles_rad is None:
        bob_angles_rad = optimal_bob_angles(txx, tzz)
    shrink = (1.0 - 2.0 * readout_error) ** 2
    e = np.array(
        [[shrink * (txx * math.sin(a) * math.sin(b) + tzz * math.cos(a) * math.cos(b)) for b in bob_angles_rad] for a in alice_angles_rad]
    )
    return ChshCorrelators(e, np.zeros(2), np.zeros(2))


# ------------------------------------------------------------------------------------ relaxation
def relaxation_words(level: int = DEFAULT_LEVEL) -> list[Word]:
    """Rows of the moment matrix: Alice–Bob words of NPA level ``level``, and Eve's four letters
    ``Z_a``, ``Z_a*`` times every word with at most one letter of each party (1, A_x, B_y, A_x B_y).

    At level 2 this is 13 + 36 = 49 rows: BFF's reference choice "NPA level 2 + A B Z" without the
    words that do not change the bound (Eve–Eve products Z Z and the extra A_0 Z* Z; removing them
    moves the CHSH-only bound by < 1e-5, benchmarks/RESULTS.md), while removing A A, B B, A Z or
    B Z costs up to 1e-2 bits.
    """
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 1:
        raise ParameterError("level", level, "an integer >= 1 (NPA level)")
    words = alice_bob_words(int(level))
    local = [IDENTITY, alice(0), alice(1), bob(0), bob(1)] + [word_product(alice(x), bob(y)) for x in range(2) for y in range(2)]
    for a in range(2):
        for d in (False, True):
            words += [word_product(u, eve(a, d)) for u in local]
    return words


def _key_povm(flip_probability: float) -> list[list[tuple[Word, float]]]:
    """Alice's key POVM ``M_0 = 1/2 + (1 - 2p) A_0/2``, ``M_1 = 1 - M_0`` after noisy preprocessing
    (she flips her bit with probability p; BFF's reference ``qkd.py``; p = 0 is the plain measurement)."""
    q = (1.0 - 2.0 * flip_probability) / 2.0
    return [[(IDENTITY, 0.5), (alice(0), q)], [(IDENTITY, 0.5), (alice(0), -q)]]


def _objective_forms(mm: MomentMatrix, flip_probability: float) -> tuple[np.ndarray, np.ndarray]:
    """(c0, c1) with the node-t objective ``(c0 + t c1) · y`` = Σ_a ⟨M_a (Z_a + Z_a* + (1-t) Z_a* Z_a)
    + t Z_a Z_a*⟩ (module docstring)."""
    c0 = np.zeros(mm.n_moments)
    c1 = np.zeros(mm.n_moments)
    for a, povm in enumerate(_key_povm(flip_probability)):
        z, zd = eve(a), eve(a, True)
        for w, coeff in povm:
            c0 += mm.linear_form([(word_product(w, z), coeff), (word_product(w, zd), coeff), (word_product(w, zd, z), coeff)])
            c1 += mm.linear_form([(word_product(w, zd, z), -coeff)])
        c1 += mm.linear_form([(word_product(z, zd), 1.0)])
    return c0, c1


class _Relaxation:
    """One compiled cvxpy problem (per level, constraint kind, flip probability); the node t and the
    observed values are cvxpy Parameters, so scanning nodes and points re-runs only the solver."""

    def __init__(self, level: int, kind: str, flip_probability: float):
        import cvxpy as cp

        # flip-symmetric unless non-zero marginals are imposed (bff_npa module docstring)
        self.kind = kind
        self.mm = mm = MomentMatrix(relaxation_words(level), symmetric=(kind != "full+marginals"))
        self.y = y = cp.Variable(mm.n_moments)
        self.t = cp.Parameter(nonneg=True)
        cons = [y[0] == 1.0]
        for block in mm.blocks:
            n = int(round(np.sqrt(block.shape[0])))
            cons.append(cp.reshape(block @ y, (n, n), order="C") >> 0)
        correlator = [mm.linear_form([(word_product(alice(x), bob(yy)), 1.0)]) for x in range(2) for yy in range(2)]
        if kind == "chsh":
            self.obs = cp.Parameter()
            cons.append((correlator[0] + correlator[1] + correlator[2] - correlator[3]) @ y >= self.obs)
        elif kind == "box":
            self.obs, self.lo, self.hi = cp.Parameter(), cp.Parameter(4), cp.Parameter(4)
            rows = np.array(correlator)
            cons += [(correlator[0] + correlator[1] + correlator[2] - correlator[3]) @ y >= self.obs,
                     rows @ y >= self.lo, rows @ y <= self.hi]
        else:
            rows = correlator
            if kind == "full+marginals":
                rows += [mm.linear_form([(alice(x), 1.0)]) for x in range(2)] + [mm.linear_form([(bob(yy), 1.0)]) for yy in range(2)]
            self.obs = cp.Parameter(len(rows))
            cons.append(np.array(rows) @ y == self.obs)
        c0, c1 = _objective_forms(mm, flip_probability)
        self.problem = cp.Problem(cp.Minimize(c0 @ y + self.t * (c1 @ y)), cons)

    def solve_node(self, t: float, observed) -> float:
        """Minimum of the node-t relaxation for the observed values (see :data:`BOUNDARY_SHRINK` and
        :data:`CLARABEL_TOLERANCES`)."""
        import cvxpy as cp

        status = "not solved"
        for delta in BOUNDARY_SHRINK:
            if self.kind == "box":  # widen the box and lower S: the feasible set grows, the value can only drop
                self.obs.value = observed[0] - delta
                self.lo.value, self.hi.value = observed[1] - delta, observed[2] + delta
            else:
                self.obs.value = observed - delta if self.kind == "chsh" else (1.0 - delta) * np.asarray(observed)
            self.t.value = float(t)
            for tol in CLARABEL_TOLERANCES:
                settings = {"max_threads": 1, "tol_gap_abs": tol, "tol_gap_rel": tol, "tol_feas": tol}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # cvxpy's "may be inaccurate": status below
                    try:
                        self.problem.solve(solver="CLARABEL", warm_start=False, **settings)
                    except cp.SolverError:
                        status = "solver error"
                        continue
                status = self.problem.status
                if status == "optimal":
                    return float(self.problem.value)
                if status.startswith("infeasible"):
                    break
        if status.startswith("infeasible"):
            raise ParameterError("constraints", observed, "statistics reachable by a quantum strategy (the NPA relaxation is infeasible)")
        raise RuntimeError(f"BFF relaxation at t = {t}: solver status {status!r} for observed values {observed!r}")


@lru_cache(maxsize=8)
def _relaxation(level: int, kind: str, flip_probability: float) -> _Relaxation:
    return _Relaxation(level, kind, flip_probability)


def _constraint_kind(constraints) -> tuple[str, np.ndarray | float | tuple]:
    if isinstance(constraints, CorrelatorBox):
        return "box", (constraints.chsh_lower, constraints.lower.reshape(-1), constraints.upper.reshape(-1))
    if isinstance(constraints, ChshCorrelators):
        e = constraints.correlators.reshape(-1)
        am, bm = constraints.alice_marginals, constraints.bob_marginals
        if am is None and bm is None:
            return "full", e
        if am is None or bm is None:
            raise ParameterError("constraints", constraints, "both marginal pairs given, or neither")
        if not np.any(am) and not np.any(bm):
            return "full", e  # zero marginals: implied by the flip symmetry (bff_npa docstring)
        return "full+marginals", np.concatenate([e, am, bm])
    if isinstance(constraints, bool) or not isinstance(constraints, (int, float, np.floating, np.integer)):
        raise ParameterError("constraints", constraints, "a CHSH value or a ChshCorrelators table")
    s = float(constraints)
    check_range("chsh", s, -TSIRELSON, TSIRELSON + 1e-9)
    return "chsh", min(s, TSIRELSON)


def bff_node_values(
    constraints,
    *,
    m: int = DEFAULT_NODES,
    level: int = DEFAULT_LEVEL,
    flip_probability: float = 0.0,
    last_node: bool = True,
) -> np.ndarray:
    """The relaxed inner values ``v_i`` of the module docstring, one SDP per node (all m nodes, or the
    first m - 1 when ``last_node`` is False)."""
    check_range("flip_probability", flip_probability, 0.0, 0.5)
    relaxation_words(level)  # validates level
    kind, obs = _constraint_kind(constraints)
    t, _ = gauss_radau_nodes(m)
    relax = _relaxation(int(level), kind, float(flip_probability))
    return np.array([relax.solve_node(ti, obs) for ti in (t if last_node else t[:-1])])


def bff_entropy_bound(
    constraints,
    *,
    m: int = DEFAULT_NODES,
    level: int = DEFAULT_LEVEL,
    flip_probability: float = 0.0,
    last_node: bool = True,
) -> float:
    """Device-independent lower bound on H(A|X=0, E) in bits per key round (BFF; module docstring).

    Parameters
    ----------
    constraints : float, ChshCorrelators or CorrelatorBox
        A CHSH value S (imposed as ≥ S), the observed correlator table (imposed as equalities;
        statistics outside the quantum set raise :class:`ParameterError`; see the module docstring), or
        confidence intervals on the correlators plus a lower bound on S (:class:`CorrelatorBox`).
    m : int
        Gauss–Radau nodes (one SDP each). Larger m is tighter and slower.
    level : int
        NPA level of Alice's and Bob's words (:func:`relaxation_words`; 2 gives 49 rows).
    flip_probability : float
        Noisy preprocessing: Alice flips her key bit with this probability (Ho et al. 2020); the
        bound is then on H(A'|X=0, E) of the flipped bit.
    last_node : bool
        Solve the ``t_m = 1`` node (default, tighter: it matters near S = 2√2, where dropping it costs
        up to ``1/(2 m² ln 2)`` bits) or bound it by 0 as BFF's scripts do by default.

    Returns
    -------
    float
        The bound in bits, clipped to [0, 1]. Deterministic (interior-point solver Clarabel).
    """
    t, w = gauss_radau_nodes(m)
    v = bff_node_values(constraints, m=m, level=level, flip_probability=flip_probability, last_node=last_node)
    return min(max(quadrature_entropy_bits(v, t, w), 0.0), 1.0)


def bff_key_rate(
    chsh: float | None = None,
    qber: float = 0.0,
    correlators: ChshCorrelators | None = None,
    *,
    m: int = DEFAULT_NODES,
    level: int = DEFAULT_LEVEL,
    flip_probability: float = 0.0,
) -> float:
    """Asymptotic key rate ``H(A'|X=0,E) - h(Q')`` in bits per key round, unclipped (Devetak–Winter:
    one-way error correction at the Shannon limit); the entropy from :func:`bff_entropy_bound`.

    Give exactly one of ``chsh`` (CHSH-only constraint) or ``correlators`` (full statistics). With
    noisy preprocessing (flip probability p) Bob's error rate on the flipped bit is
    ``Q' = p + Q - 2pQ`` (as in :func:`qrepeater.qkd.rates.noisy_preprocessing_rate`).
    """
    if (chsh is None) == (correlators is None):
        raise ParameterError("chsh/correlators", (chsh, correlators), "exactly one of the two")
    check_range("qber", qber, 0.0, 0.5)
    check_range("flip_probability", flip_probability, 0.0, 0.5)
    constraints = correlators if correlators is not None else chsh
    p = flip_probability
    entropy = bff_entropy_bound(constraints, m=m, level=level, flip_probability=p)
    return entropy - binary_entropy(p + qber - 2.0 * p * qber)


__all__ = [
    "DEFAULT_LEVEL",
    "DEFAULT_NODES",
    "ChshCorrelators",
    "CorrelatorBox",
    "bff_entropy_bound",
    "bff_key_rate",
    "bff_node_values",
    "correlators_of_bell_diagonal",
    "gauss_radau_nodes",
    "quadrature_entropy_bits",
    "relaxation_words",
]
