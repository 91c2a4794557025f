"""Simulated DI-QKD round records from the exact statistics of a Bell-diagonal state.

Measurements (all in the X–Z plane of the Bloch sphere, target state Φ+)
-----------------------------------------------------------------------
Alice: ``A0 = Z`` (also her key measurement), ``A1 = X``.
Bob:   ``B_y = cos θ_y Z + sin θ_y X`` for ``y ∈ {0, 1}`` with ``θ_0 = φ``, ``θ_1 = −φ``,
       ``φ = atan2(⟨XX⟩, ⟨ZZ⟩)``, and ``B2 = Z`` for the key.

For a Bell-diagonal state the single-qubit marginals are maximally mixed, so the joint outcome
distribution is fixed by the correlator ``E = a·T·b`` with ``T = diag(⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩)``:

    P(a, b | x, y) = (1 + (−1)^{a⊕b} E_xy) / 4.

Here ``E_0y = ⟨ZZ⟩ cos θ_y`` and ``E_1y = ⟨XX⟩ sin θ_y``, so ``S = E00 + E01 + E10 − E11 =
2 sqrt(⟨XX⟩² + ⟨ZZ⟩²)``, the maximum over Bob's X–Z directions (Horodecki, Horodecki, Horodecki,
Phys. Lett. A 200, 340 (1995): ``S_max = 2 sqrt(t1² + t2²)`` over the two largest |t_i|; restricted
to the X–Z plane the two are ⟨XX⟩ and ⟨ZZ⟩). The key QBER is ``(1 − ⟨ZZ⟩)/2``.

A readout error flips each party's outcome independently with probability ``r``; it multiplies every
correlator by ``(1 − 2r)²``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from ..errors import check_range
from ..states import BellDiagonal, optimal_bob_angles
from .records import SCHEMA

__all__ = ["SimulationInfo", "chsh_settings", "expected_statistics", "simulate_records"]


@dataclass(frozen=True)
class SimulationInfo:
    """What the model predicts for the simulated records.

    Attributes
    ----------
    expected_chsh : float
        S of the model (with readout error).
    expected_qber : float
        QBER of the key rounds (with readout error).
    correlators : tuple of float
        (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) of the state (before readout error).
    bob_angles_rad : tuple of float
        θ_0, θ_1 of Bob's CHSH settings from Z towards X.
    rounds, test_rounds, key_rounds : int
    test_probability, readout_error : float
    round_rate_hz : float or None
    duration_s : float or None
        ``rounds / round_rate_hz``: wall-clock time the rounds take at that rate.
    seed_entropy : int
        Entropy of the SeedSequence used (reproduces the run).
    """

    expected_chsh: float
    expected_qber: float
    correlators: tuple[float, float, float]
    bob_angles_rad: tuple[float, float]
    rounds: int
    test_rounds: int
    key_rounds: int
    test_probability: float
    readout_error: float
    round_rate_hz: float | None
    duration_s: float | None
    seed_entropy: int

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seed_entropy"] = str(self.seed_entropy)
        return d


def chsh_settings(state: BellDiagonal) -> tuple[float, float]:
    """Bob's CHSH angles (θ_0, θ_1) aligned to ``state`` (:func:`qrepeater.states.optimal_bob_angles`):
    the expected S is then :func:`qrepeater.states.chsh_optimal_settings`."""
    txx, _, tzz = (float(v) for v in np.asarray(state.correlators).reshape(3))
    return optimal_bob_angles(txx, tzz)


def expected_statistics(state: BellDiagonal, readout_error: float = 0.0) -> tuple[np.ndarray, float, float]:
    """Correlator table ``E[x, y]`` (2 × 3), expected S and QBER of the model."""
    txx, _, tzz = (float(v) for v in np.asarray(state.correlators).reshape(3))
    th0, th1 = chsh_settings(state)
    shrink = (1.0 - 2.0 * readout_error) ** 2
    E = shrink * np.array(
        [
            [tzz * np.cos(th0), tzz * np.cos(th1), tzz],
            [txx * np.sin(th0), txx * np.sin(th1), 0.0],  # (x=1, y=2) never occurs
        ]
    )
    S = E[0, 0] + E[0, 1] + E[1, 0] - E[1, 1]
    return E, float(S), float((1.0 - E[0, 2]) / 2.0)


def simulate_records(
    state: BellDiagonal,
    rounds: int,
    seed,
    *,
    test_probability: float = 0.5,
    readout_error: float = 0.0,
    round_rate_hz: float | None = None,
) -> tuple[pa.Table, SimulationInfo]:
    """Sample ``rounds`` DI-QKD rounds (records schema of :mod:`qrepeater.qkd.records`).

    Each round is a test round with probability ``test_probability`` (settings ``x, y`` uniform in
    {0,1}²) or a key round (``x = 0, y = 2``). Outcomes follow ``P(a,b|x,y)`` of the module docstring.

    Parameters
    ----------
    state : BellDiagonal
        Scalar Bell-diagonal state shared by Alice and Bob in every round.
    rounds : int
        Number of heralded rounds.
    seed : int or numpy.random.SeedSequence
        Reproducible randomness.
    test_probability : float
        Probability of a test round, in (0, 1).
    readout_error : float
        Independent flip probability of each outcome, in [0, 0.5].
    round_rate_hz : float, optional
        Heralded-round rate; sets ``info.duration_s``.

    Returns
    -------
    records : pyarrow.Table
        One row per round: ``round`` (index), ``test`` (bool), settings ``x``, ``y`` and outcomes ``a``,
        ``b`` (0/1); write it with :func:`qrepeater.qkd.records.write_records`, tabulate it with
        ``records.to_pandas()``.
    info : SimulationInfo
        The model's ``expected_chsh`` and ``expected_qber`` (1), ``correlators``, ``bob_angles_rad``
        (rad), ``rounds``/``test_rounds``/``key_rounds``, ``duration_s`` (s, None without a rate) and
        ``seed_entropy`` (see :class:`SimulationInfo`).
    """
    if state.shape != ():
        raise ValueError("simulate_records needs a scalar BellDiagonal state")
    rounds = int(check_range("rounds", rounds, 1))
    check_range("test_probability", test_probability, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_range("readout_error", readout_error, 0.0, 0.5)
    if round_rate_hz is not None:
        check_range("round_rate_hz", round_rate_hz, 0.0, low_inclusive=False)
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss)

    E_ideal, _, _ = expected_statistics(state, 0.0)
    _, S_exp, Q_exp = expected_statistics(state, readout_error)

    test = rng.random(rounds) < test_probability
    x = np.where(test, rng.integers(0, 2, rounds), 0).astype(np.int8)
    y = np.where(test, rng.integers(0, 2, rounds), 2).astype(np.int8)
    corr = E_ideal[x, y]
    a = rng.integers(0, 2, rounds, dtype=np.int8)
    differ = rng.random(rounds) >= (1.0 + corr) / 2.0  # P(a = b) = (1 + E)/2
    b = (a ^ differ).astype(np.int8)
    if readout_error > 0:
        a ^= (rng.random(rounds) < readout_error).astype(np.int8)
        b ^= (rng.random(rounds) < readout_error).astype(np.int8)

    table = pa.Table.from_arrays(
        [pa.array(np.arange(rounds, dtype=np.int64)), pa.array(test), pa.array(x), pa.array(y), pa.array(a), pa.array(b)],
        schema=SCHEMA,
    )
    t = tuple(float(v) for v in np.asarray(state.correlators).reshape(3))
    n_test = int(test.sum())
    info = SimulationInfo(
        expected_chsh=S_exp,
        expected_qber=Q_exp,
        correlators=t,
        bob_angles_rad=chsh_settings(state),
        rounds=rounds,
        test_rounds=n_test,
        key_rounds=rounds - n_test,
        test_probability=float(test_probability),
        readout_error=float(readout_error),
        round_rate_hz=None if round_rate_hz is None else float(round_rate_hz),
        duration_s=None if round_rate_hz is None else rounds / float(round_rate_hz),
        seed_entropy=int(ss.entropy) if isinstance(ss.entropy, int) else 0,
    )
    return table, info
