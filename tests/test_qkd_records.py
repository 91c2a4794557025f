"""Round records (schema, validating reader, atomic writers), CHSH/QBER estimation and the simulator."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import optimize, stats

from qrepeater.errors import ParameterError, RecordsError
from qrepeater.qkd.records import SCHEMA, make_records, read_records, write_records
from qrepeater.qkd.simulate import expected_statistics, simulate_records
from qrepeater.qkd.statistics import clopper_pearson_interval, estimate_chsh, estimate_qber, wilson_interval
from qrepeater.states import BellDiagonal, werner

REFERENCE = BellDiagonal.from_correlators(0.885, -0.885, 0.93)


def small_table():
    return make_records(
        round=[0, 1, 2, 5, 9, 10],
        test=[True, True, False, True, True, False],
        x=[0, 1, 0, 0, 1, 0],
        y=[1, 0, 2, 0, 1, 2],
        a=[0, 1, 1, 0, 1, 0],
        b=[0, 0, 1, 0, 1, 1],
    )


# ---------------------------------------------------------------- files ----------------------------------------------
@pytest.mark.parametrize("name", ["r.parquet", "r.pq", "r.csv"])
def test_roundtrip_and_atomic_write(tmp_path, name):
    table, _ = simulate_records(REFERENCE, 2000, 3)
    path = tmp_path / name
    path.write_text("old content")  # replaced atomically
    write_records(table, path)
    back = read_records(path)
    assert back.schema == SCHEMA
    assert back.equals(table)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left behind


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(RecordsError, match="unknown records format"):
        write_records(small_table(), tmp_path / "r.txt")
    with pytest.raises(RecordsError, match="no such records file"):
        read_records(tmp_path / "absent.parquet")


def _csv(tmp_path, rows, header="round,test,x,y,a,b"):
    p = tmp_path / "r.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


GOOD = ["0,true,0,0,0,0", "1,false,0,2,1,1", "2,true,1,1,0,1", "3,true,1,0,1,1"]


def test_csv_reader_accepts_good_rows(tmp_path):
    t = read_records(_csv(tmp_path, GOOD))
    assert t.num_rows == 4 and t.column("y").to_pylist() == [0, 2, 1, 0]


@pytest.mark.parametrize(
    "row_index, bad_row, column, words",
    [
        (2, "2,true,1,3,0,1", "y", "not in"),  # value out of set
        (1, "1,false,0,2,x,1", "a", "not an integer"),  # wrong type
        (3, "1,true,1,0,1,1", "round", "does not increase"),  # non-increasing round
        (2, "2,maybe,1,1,0,1", "test", "not a boolean"),
        (1, "1,false,0,2,,1", "a", "missing value"),
        (1, "1,false,1,2,1,1", "x", "key round"),  # key round with Alice's x = 1
        (2, "2,true,1,2,0,1", "y", "test round"),  # test round with Bob's key setting
        (0, "0,true,0,0,2,0", "a", "not in"),
        (3, "3,true,1,0,1,1.5", "b", "not an integer"),
    ],
)
def test_csv_reader_names_first_bad_row_and_column(tmp_path, row_index, bad_row, column, words):
    rows = list(GOOD)
    rows[row_index] = bad_row
    with pytest.raises(RecordsError) as exc:
        read_records(_csv(tmp_path, rows))
    msg = str(exc.value)
    assert f"row {row_index} (line {row_index + 2})" in msg
    assert f"column {column!r}" in msg
    assert words in msg


def test_first_bad_row_wins(tmp_path):
    rows = list(GOOD)
    rows[1] = "1,false,0,2,1,7"
    rows[3] = "3,true,1,0,5,1"
    with pytest.raises(RecordsError, match=r"row 1 \(line 3\), column 'b'"):
        read_records(_csv(tmp_path, rows))


def test_missing_column(tmp_path):
    p = _csv(tmp_path, ["0,true,0,0,0", "1,false,0,2,1"], header="round,test,x,y,a")
    with pytest.raises(RecordsError, match="missing column.*'b'"):
        read_records(p)


def test_parquet_wrong_types_named(tmp_path):
    t = small_table()
    bad = t.set_column(4, "a", pa.array([0.0, 1.0, 0.5, 0.0, 1.0, 0.0]))
    p = tmp_path / "bad.parquet"
    pq.write_table(bad, p)
    with pytest.raises(RecordsError, match=r"row 2, column 'a': 0\.5 is not an integer"):
        read_records(p)
    nulls = t.set_column(0, "round", pa.array([0, 1, None, 5, 9, 10], pa.int64()))
    pq.write_table(nulls, p)
    with pytest.raises(RecordsError, match=r"row 2, column 'round': missing value"):
        read_records(p)


def test_corrupt_parquet_is_a_records_error(tmp_path):
    p = tmp_path / "junk.parquet"
    p.write_bytes(b"not a parquet file at all")
    with pytest.raises(RecordsError, match="cannot read records"):
        read_records(p)


# ---------------------------------------------------------------- statistics -----------------------------------------
def test_chsh_estimator_by_hand():
    t = make_records(
        round=range(8),
        test=[True] * 8,
        x=[0, 0, 0, 0, 1, 1, 1, 1],
        y=[0, 0, 1, 1, 0, 0, 1, 1],
        a=[0, 1, 0, 0, 1, 0, 1, 0],
        b=[0, 1, 0, 1, 1, 0, 0, 1],
    )
    # E00 = 1, E01 = 0, E10 = 1, E11 = -1  ->  S = 1 + 0 + 1 + 1 = 3
    est = estimate_chsh(t)
    assert est.value == pytest.approx(3.0)
    # σ² = Σ (1 − E²)/N = (0 + 1 + 0 + 0)/2
    assert est.stderr == pytest.approx(np.sqrt(0.5))
    assert est.counts.tolist() == [[2, 2], [2, 2]]


def test_chsh_missing_setting_pair_is_an_error():
    t = make_records(round=[0, 1], test=[True, True], x=[0, 0], y=[0, 1], a=[0, 0], b=[0, 0])
    with pytest.raises(RecordsError, match=r"\(x=1, y=0\)"):
        estimate_chsh(t)


def test_qber_intervals_against_closed_forms():
    # Clopper–Pearson with k = 0: upper = 1 − (α/2)^{1/n}
    lo, hi = clopper_pearson_interval(0, 50)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 50))
    # Wilson bounds solve |p̂ − p| = z sqrt(p(1−p)/n)
    k, n = 36, 1000
    z = stats.norm.ppf(0.975)
    g = lambda p: (k / n - p) ** 2 - z * z * p * (1 - p) / n  # noqa: E731
    lo_ref = optimize.brentq(g, 1e-9, k / n)
    hi_ref = optimize.brentq(g, k / n, 1 - 1e-9)
    assert wilson_interval(k, n) == pytest.approx((lo_ref, hi_ref), rel=1e-9)


def test_qber_estimate_on_small_table():
    q = estimate_qber(small_table())
    assert (q.errors, q.rounds, q.value) == (1, 2, 0.5)


# ---------------------------------------------------------------- simulation -----------------------------------------
PAULI = {
    "X": np.array([[0, 1], [1, 0]], float),
    "Z": np.array([[1, 0], [0, -1]], float),
}


def test_model_statistics_from_density_matrix():
    """E_xy from Tr(ρ A_x ⊗ B_y) with explicit operators, independently of the correlator algebra."""
    E, S, Q = expected_statistics(REFERENCE)
    rho = REFERENCE.density_matrix()
    txx, tzz = 0.885, 0.93
    phi = np.arctan2(txx, tzz)
    A = [PAULI["Z"], PAULI["X"]]
    B = [np.cos(t) * PAULI["Z"] + np.sin(t) * PAULI["X"] for t in (phi, -phi)] + [PAULI["Z"]]
    for xi in range(2):
        for yi in range(3):
            if xi == 1 and yi == 2:
                continue
            assert E[xi, yi] == pytest.approx(np.trace(rho @ np.kron(A[xi], B[yi])))
    assert S == pytest.approx(2 * np.hypot(txx, tzz))  # Horodecki criterion in the X–Z plane
    assert Q == pytest.approx((1 - tzz) / 2)
    # Werner state: S = 2√2 w (Tsirelson bound scaled by the Werner parameter)
    w = 0.8
    _, S_w, Q_w = expected_statistics(werner((3 * w + 1) / 4))
    assert S_w == pytest.approx(2 * np.sqrt(2) * w)
    assert Q_w == pytest.approx((1 - w) / 2)
    # readout error r shrinks each correlator by (1 − 2r)²
    _, S_r, Q_r = expected_statistics(REFERENCE, 0.01)
    assert S_r == pytest.approx(S * 0.98**2)
    assert Q_r == pytest.approx((1 - 0.93 * 0.98**2) / 2)


def test_simulation_is_seeded_and_matches_model():
    t1, info = simulate_records(REFERENCE, 400_000, 2026, test_probability=0.5, round_rate_hz=0.29)
    t2, _ = simulate_records(REFERENCE, 400_000, 2026, test_probability=0.5, round_rate_hz=0.29)
    t3, _ = simulate_records(REFERENCE, 400_000, 2027, test_probability=0.5)
    assert t1.equals(t2) and not t1.equals(t3)
    assert info.duration_s / 3600 == pytest.approx(383.14, abs=0.01)  # 4e5 rounds at 0.29 Hz: 383.14 h
    assert info.test_rounds + info.key_rounds == 400_000
    chsh, qber = estimate_chsh(t1), estimate_qber(t1)
    assert chsh.ci95[0] <= info.expected_chsh <= chsh.ci95[1]
    assert qber.wilson95[0] <= info.expected_qber <= qber.wilson95[1]
    # marginals of a Bell-diagonal state are unbiased
    a = t1.column("a").to_numpy()
    assert abs(a.mean() - 0.5) < 5 * 0.5 / np.sqrt(a.size)


def test_chsh_stderr_matches_spread_of_repeated_runs():
    """σ_S predicted by the estimator vs the empirical spread over 200 independent small runs."""
    ss = np.random.SeedSequence(99)
    vals, sds = [], []
    for child in ss.spawn(200):
        t, _ = simulate_records(REFERENCE, 4000, child, test_probability=1 - 1e-9)
        e = estimate_chsh(t)
        vals.append(e.value)
        sds.append(e.stderr)
    emp = np.std(vals, ddof=1)
    # the sample std of 200 normals is within ±15 % of σ with probability > 0.97
    assert emp == pytest.approx(np.mean(sds), rel=0.15)


def test_simulation_input_validation():
    with pytest.raises(ParameterError):
        simulate_records(REFERENCE, 0, 1)
    with pytest.raises(ParameterError):
        simulate_records(REFERENCE, 10, 1, readout_error=0.7)
    with pytest.raises(ParameterError):
        simulate_records(REFERENCE, 10, 1, test_probability=1.0)


def test_records_written_by_package_are_not_world_writable(tmp_path):
    table, _ = simulate_records(REFERENCE, 100, 1)
    p = write_records(table, tmp_path / "r.parquet")
    assert not os.stat(p).st_mode & 0o002
