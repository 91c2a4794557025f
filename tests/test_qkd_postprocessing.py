"""DI-QKD post-processing: Toeplitz hashing, LDPC reconciliation, the distill pipeline and its aborts."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import sys
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

import qrepeater.qkd.distill as distill_mod
from qrepeater.errors import RecordsError
from qrepeater.qkd.distill import distill, distill_file
from qrepeater.qkd.keyfile import read_key_file, write_key_file
from qrepeater.qkd.ldpc_codes import (
    DEGREE_DISTRIBUTIONS,
    build_code,
    get_code,
    variable_degrees,
)
from qrepeater.qkd.privacy import random_bits, toeplitz_hash, toeplitz_hash_direct, toeplitz_matrix
from qrepeater.qkd.rate_adaptation import binary_entropy, plan_frame
from qrepeater.qkd.reconciliation import reconcile
from qrepeater.qkd.records import write_records
from qrepeater.qkd.simulate import simulate_records
from qrepeater.states import BellDiagonal, werner

# Reference-like state (Φ+ frame): ⟨XX⟩ = −⟨YY⟩ ≈ 0.89, ⟨ZZ⟩ ≈ 0.93, as the ustc2026-qkd preset gives
# (S = 2.5759, QBER = 3.6 %). At 4e5 rounds the complementarity key is ~1.9 kbit (USTC: 1,917 bits), a
# thin margin: one standard deviation low in S (σ ≈ 0.007) already costs most of it.
REFERENCE = BellDiagonal.from_correlators(0.893, -0.893, 0.928)


def sha(bits) -> str:
    return hashlib.sha256(np.packbits(np.asarray(bits, np.uint8)).tobytes()).hexdigest()


# ---------------------------------------------------------------- Toeplitz -------------------------------------------
@pytest.mark.parametrize("n, m", [(1, 1), (2, 5), (64, 64), (100, 3), (257, 200), (1000, 999), (4096, 64)])
def test_toeplitz_fft_equals_gf2_matrix_product(n, m):
    rng = np.random.default_rng(n * 7919 + m)
    for _ in range(3):
        x = rng.integers(0, 2, n, dtype=np.uint8)
        s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
        T = toeplitz_matrix(s, m, n)
        assert all(T[i, j] == T[i + 1, j + 1] for i in range(min(m - 1, 3)) for j in range(min(n - 1, 3)))  # Toeplitz
        direct = (T.astype(np.int64) @ x.astype(np.int64)) % 2
        assert np.array_equal(toeplitz_hash(x, s, m), direct)
        assert np.array_equal(toeplitz_hash_direct(x, s, m), direct)


def test_toeplitz_blocked_fallback_is_exact():
    from qrepeater.qkd.privacy import _toeplitz_blocked

    rng = np.random.default_rng(8)
    for n, m, block in [(1000, 300, 64), (777, 5, 100), (50, 49, 7)]:
        x = rng.integers(0, 2, n, dtype=np.uint8)
        s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
        assert np.array_equal(_toeplitz_blocked(x, s, m, block), toeplitz_hash_direct(x, s, m))


def test_toeplitz_all_ones_parity():
    # all-ones seed and input: every output bit is the parity of n
    for n in (5, 6, 1001):
        out = toeplitz_hash(np.ones(n, np.uint8), np.ones(n + 9, np.uint8), 10)
        assert np.all(out == n % 2)


def test_toeplitz_linear_and_universal_collision_rate():
    rng = np.random.default_rng(5)
    n, m = 200, 4
    x1, x2 = rng.integers(0, 2, (2, n), dtype=np.uint8)
    hits = 0
    trials = 4000
    for _ in range(trials):
        s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
        h1, h2 = toeplitz_hash(x1, s, m), toeplitz_hash(x2, s, m)
        assert np.array_equal(h1 ^ h2, toeplitz_hash(x1 ^ x2, s, m))  # GF(2)-linear
        hits += np.array_equal(h1, h2)
    # collision probability 2^-m = 1/16: binomial(4000, 1/16) has sd ≈ 15.3 around 250
    assert abs(hits - trials / 16) < 5 * 15.3


def _fake_os_entropy(monkeypatch, seed):
    """Replace the OS source (``secrets.token_bytes``) by a seeded stream; return the list of requests."""
    import qrepeater.qkd.privacy as privacy_mod

    rng = np.random.default_rng(seed)
    calls = []

    def token_bytes(n):
        calls.append(n)
        return rng.bytes(n)

    monkeypatch.setattr(privacy_mod.secrets, "token_bytes", token_bytes)
    return calls


def test_random_bits_os_and_seeded(monkeypatch):
    # without a seed the bits are the OS bytes, unpacked MSB first and cut to length (OS source
    # replaced by a seeded stream, so the test itself is deterministic)
    calls = _fake_os_entropy(monkeypatch, 4096)
    a, b = random_bits(4099), random_bits(4099)
    assert calls == [513, 513]
    expected = np.random.default_rng(4096)
    assert np.array_equal(a, np.unpackbits(np.frombuffer(expected.bytes(513), np.uint8))[:4099])
    assert np.array_equal(b, np.unpackbits(np.frombuffer(expected.bytes(513), np.uint8))[:4099])
    # a seed never touches the OS source and is reproducible
    assert np.array_equal(random_bits(100, 7), random_bits(100, 7)) and len(calls) == 2
    bits = random_bits(40_000, 8)
    assert bits.dtype == np.uint8 and set(np.unique(bits)) == {0, 1}
    assert abs(bits.mean() - 0.5) < 5 * 0.5 / np.sqrt(bits.size)


# ---------------------------------------------------------------- codes ----------------------------------------------
def test_variable_degrees_follow_edge_distribution():
    lam = DEGREE_DISTRIBUTIONS[0.75]["lambda"]
    d = variable_degrees(100_000, lam)
    assert d.size == 100_000 and np.all(np.diff(d) >= 0)
    # edge fractions recovered from node degrees
    for deg, frac in lam.items():
        assert (d[d == deg].sum() / d.sum()) == pytest.approx(frac, abs=2e-4)


def test_built_code_structure_and_exact_puncturing_rank():
    rank = pytest.importorskip("ldpc.mod2").rank  # the ldpc package's GF(2) rank: the independent check

    code = build_code(0.75, 2048, seed=3, lift=8)
    H = code.H
    assert H.shape == (512, 2048)
    coldeg = np.diff(H.tocsc().indptr)
    base = variable_degrees(256, DEGREE_DISTRIBUTIONS[0.75]["lambda"])
    assert sorted(coldeg) == sorted(np.repeat(np.minimum(base, 64), 8))
    assert H.max() == 1  # no parallel edges
    p = len(code.punctured_rank) - 1
    assert p > 0
    cols = code.order[:p]
    assert rank(H[:, cols]) == p == code.punctured_rank[p]  # untainted → full column rank
    # untainted: no check touches two punctured nodes
    assert np.asarray(H[:, cols].sum(axis=1)).max() <= 1


def test_plan_frame_leak_accounting():
    code = get_code(0.70, 65536, 1)
    plan = plan_frame(code, 60000, 0.036, 1.15)
    assert plan.key_bits + plan.punctured + plan.shortened == code.n
    assert plan.leak_bits == code.m - plan.punctured
    assert plan.leak_bits + 1 <= 1.15 * binary_entropy(0.036) * 60000 < plan.leak_bits + 2  # + status bit


def test_reconcile_small_frames_and_exact_leak():
    rng = np.random.default_rng(1)
    n = 30000
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < 0.02).astype(np.uint8)
    r = reconcile(a, b, 0.02, efficiency=1.3, frame_bits=8192, seed=2)
    assert r.failed_frames == 0 and np.array_equal(r.alice, a) and np.array_equal(r.bob, a)
    assert r.bit_errors_corrected == int((a ^ b).sum())
    code = get_code(r.code_rate, 8192, 1)
    # frames split evenly; each leaks m − p syndrome bits + 1 status bit
    bounds = np.linspace(0, n, r.frames + 1).round().astype(int)
    expected = sum(plan_frame(code, int(k), 0.02, 1.3).leak_bits + 1 for k in np.diff(bounds))
    assert r.leak_bits == expected
    assert r.efficiency == pytest.approx(expected / (n * binary_entropy(0.02)))


def test_reconcile_discards_frames_it_cannot_correct():
    rng = np.random.default_rng(4)
    n = 12000
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < 0.25).astype(np.uint8)  # far beyond the code at the assumed QBER 3.6 %
    r = reconcile(a, b, 0.036, frame_bits=8192, seed=1, max_iter=10)
    assert r.failed_frames == r.frames and r.alice.size == 0 and not r.kept.any()
    assert r.leak_bits > 0  # the syndromes were sent anyway and are counted


def test_decoder_reused_and_shortened_columns_dropped():
    """The BpDecoder (and the compiled decoder's graph) is built once per (code, dropped shortened range,
    settings) and reused; decoding on
    the graph without the shortened columns gives the same corrections as the full graph."""
    pytest.importorskip("ldpc")  # the BpDecoder path needs the optional ldpc package (test extra)
    from qrepeater.qkd.rate_adaptation import choose_code
    from qrepeater.qkd.reconciliation import _compiled_graph, _decoder

    code = get_code(choose_code(0.02, 1.3), 8192, 1)
    plan = plan_frame(code, 6000, 0.02, 1.3)
    p, s = plan.punctured, plan.shortened
    assert s > 0
    d1, cols1 = _decoder(code, 100, "product_sum", "parallel", (p, p + s))
    d2, cols2 = _decoder(code, 100, "product_sum", "parallel", (p, p + s))
    assert d1 is d2 and cols1 is cols2
    assert cols1.size == code.n - s and not np.isin(code.order[p : p + s], cols1).any()
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2, 3 * 6000, dtype=np.uint8)
    b = a ^ (rng.random(a.size) < 0.015).astype(np.uint8)  # margin below the design QBER: no frame fails
    for decoder in ("ldpc", "compiled"):
        r = reconcile(a, b, 0.02, efficiency=1.3, frame_bits=8192, seed=2, decoder=decoder)
        assert r.frames == 3 and r.failed_frames == 0 and np.array_equal(r.bob, a)
    g1, c1 = _compiled_graph(code, (p, p + s))
    assert _compiled_graph(code, (p, p + s))[0] is g1 and g1.n == c1.size == code.n - s
    full, colsf = _decoder(code, 100, "product_sum", "parallel")
    assert colsf.size == code.n


def test_efficiency_at_reference_qber_one_frame():
    """f ≤ 1.2 at QBER 3.6 % on the default code; a full frame decodes (FER itself: slow test/benchmark)."""
    rng = np.random.default_rng(36)
    n = 60000
    a = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < 0.036).astype(np.uint8)
    r = reconcile(a, b, 0.036, efficiency=1.2, seed=3)
    # one frame of the shortest granule-length code that holds 60,000 key bits
    assert r.frames == 1 and r.frame_bits == 64512 and r.code_rate == 0.75
    assert r.efficiency <= 1.2
    assert r.failed_frames == 0 and np.array_equal(r.alice, r.bob)


def test_code_choice_and_frame_sizing():
    """Nearest tabulated rate (shorten or puncture); automatic frame length keeps frames nearly full."""
    from qrepeater.qkd.rate_adaptation import FRAME_GRANULE, choose_code, frame_code, max_payload

    assert choose_code(0.036, 1.12) == 0.75  # target R = 0.7495: shorten 0.75 rather than puncture 0.70
    assert choose_code(0.036, 1.35) == 0.70  # R = 0.698
    with pytest.raises(Exception, match="QBER"):
        choose_code(0.2, 1.1)
    code = get_code(0.75, 65536, 1)
    # a code above the target rate is shortened until its leak matches f
    k = max_payload(code, 0.036, 1.2)
    assert (code.m + 1) / (k * binary_entropy(0.036)) == pytest.approx(1.2, rel=1e-3)
    # 200,000 bits at f = 1.12: four frames either way, but each frame is ~99 % key bits, not 76 %
    small, k_small = frame_code(0.75, 200_000, 0.036, 1.12)
    assert small.n % FRAME_GRANULE == 0 and small.n < 65536
    assert int(np.ceil(200_000 / k_small)) == 4 and k_small >= 50_000
    plan = plan_frame(small, 50_000, 0.036, 1.12)
    assert (plan.punctured + plan.shortened) / small.n < 0.02
    # explicit frame length and exact multiples of the full payload keep the default code
    assert frame_code(0.75, 200_000, 0.036, 1.12, frame_bits=65536)[0].n == 65536
    k_full = max_payload(code, 0.036, 1.12)
    assert frame_code(0.75, 3 * k_full, 0.036, 1.12)[0].n == 65536


@pytest.mark.slow  # 5–7 s here (~20 s on a small machine)
def test_frame_error_rate_at_reference_qber():
    """FER ≤ 1e-2 at QBER 3.6 % with f ≤ 1.2 over 100 independent 65,536-bit frames (~20 s with the
    compiled decoder). Longer runs and f = 1.15: ``benchmarks/bench_qkd.py --only fer``."""
    rng = np.random.default_rng(2026)
    failed = frames = 0
    leak = bits = 0
    while frames < 100:
        k = 10 * 58000  # ten frames per call: decoded in parallel
        a = rng.integers(0, 2, k, dtype=np.uint8)
        b = a ^ (rng.random(k) < 0.036).astype(np.uint8)
        r = reconcile(a, b, 0.036, efficiency=1.2, seed=int(rng.integers(2**31)))
        failed += r.failed_frames
        frames += r.frames
        leak += r.leak_bits
        bits += k
        # a frame that decodes must decode to Alice's word
        assert np.array_equal(r.alice, r.bob)
    assert frames == 100
    assert leak / (bits * binary_entropy(0.036)) <= 1.2
    assert failed / frames <= 1e-2


# ---------------------------------------------------------------- key file -------------------------------------------
def test_key_file_mode_0600_and_roundtrip(tmp_path):
    old = os.umask(0)  # even a permissive umask must not widen the key file
    try:
        bits = random_bits(1001, 3)
        p = write_key_file(tmp_path / "k.bin", bits)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert np.array_equal(read_key_file(p, 1001), bits)
    assert [q.name for q in tmp_path.iterdir()] == ["k.bin"]


# ---------------------------------------------------------------- end to end -----------------------------------------
@pytest.fixture(scope="module")
def reference_run():
    table, info = simulate_records(REFERENCE, 400_000, 7, test_probability=0.5)
    return table, info


@pytest.fixture(scope="module")
def reference_distilled(reference_run, tmp_path_factory):
    table, info = reference_run
    folder = tmp_path_factory.mktemp("e2e")
    path = folder / "records.parquet"
    write_records(table, path)
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            res = distill_file(path, folder / "key.bin", seed=77)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return res, info, folder, out.getvalue() + err.getvalue() + stream.getvalue()


def test_end_to_end_reference_state(reference_distilled):
    res, info, folder, _ = reference_distilled
    rep = res.report
    assert not rep["aborted"], rep["abort_reason"]
    assert rep["rounds"] == 400_000
    lo, hi = rep["chsh_ci95"]
    assert lo <= info.expected_chsh <= hi
    qlo, qhi = rep["qber_ci95_wilson"]
    assert qlo <= info.expected_qber <= qhi
    assert rep["key_bits"] > 0
    assert res.alice_key.size == rep["key_bits"]
    assert sha(res.alice_key) == sha(res.bob_key)
    assert rep["ec_failed_frames"] == 0
    # leakage bookkeeping: syndrome + status bits + tag
    assert rep["ec_leakage_bits"] == rep["ec_syndrome_bits"] + rep["tag_bits"]
    # Slepian–Wolf: correcting key rounds with the simulated error rate needs at least n·h(QBER) bits,
    # and the default code stays within f = 1.2 of that
    assert rep["ec_leakage_bits"] > rep["key_rounds"] * binary_entropy(info.expected_qber)
    assert 1.0 < rep["ec_efficiency"] <= 1.2
    assert rep["eps_cor"] == 2.0**-64
    # key file: 0600, Alice's key
    key_path = folder / "key.bin"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert np.array_equal(read_key_file(key_path, rep["key_bits"]), res.alice_key)
    assert rep["toeplitz_seed_bits"] == rep["reconciled_bits"] + rep["key_bits"] - 1
    assert len(rep["toeplitz_seed_hex"]) == 2 * ((rep["toeplitz_seed_bits"] + 7) // 8)
    # the report on disk has no key material
    text = (folder / "key.bin.json").read_text()
    assert np.packbits(res.alice_key).tobytes().hex() not in text


def test_no_key_material_in_output_or_logs(reference_distilled):
    res, _, _, captured = reference_distilled
    key = res.alice_key
    bitstring = "".join(map(str, key[:256]))
    hexkey = np.packbits(key).tobytes().hex()
    assert bitstring not in captured and hexkey[:64] not in captured
    # repr/str show neither key, even with numpy's summarisation switched off (so a key field that
    # were printed would appear in full and be found)
    with np.printoptions(threshold=sys.maxsize, linewidth=sys.maxsize):
        for text in (repr(res), str(res)):
            assert "alice_key" not in text and "bob_key" not in text
            assert np.array2string(key, separator=", ") not in text
            assert np.array2string(res.bob_key, separator=", ") not in text


def _fake_reconcile(flip_bob_bit=False):
    """Stand-in for the LDPC step (fast): Bob already equals Alice; leakage charged at f = 1.12.

    Used where the test is about what happens *after* error correction (verification, privacy
    amplification, reproducibility); the real decoder is exercised by the end-to-end test.
    """
    from qrepeater.qkd.reconciliation import ReconciliationResult

    def fake(alice, bob, qber, **kw):
        a = np.asarray(alice, np.uint8)
        b = a.copy()
        if flip_bob_bit:
            b[b.size // 2] ^= 1  # a residual error the syndrome did not reveal (decoder found a wrong word)
        return ReconciliationResult(
            alice=a, bob=b, kept=np.ones(a.size, bool), leak_bits=int(np.ceil(1.12 * binary_entropy(qber) * a.size)),
            frames=1, failed_frames=0, input_bits=a.size, qber=qber, code_rate=0.75, frame_bits=65536,
            bit_errors_corrected=0,
        )

    return fake


def test_same_seed_reproduces_key(reference_run, monkeypatch):
    table, _ = reference_run
    monkeypatch.setattr(distill_mod, "reconcile", _fake_reconcile())
    r1 = distill(table, seed=5)
    r2 = distill(table, seed=5)
    calls = _fake_os_entropy(monkeypatch, 1234)  # stands in for the OS so that this test is deterministic
    r3 = distill(table)  # OS randomness: a different hash seed
    assert calls  # the unseeded run drew its hash seeds from the OS source
    assert not r1.aborted and r1.report["key_bits"] > 0
    assert sha(r1.alice_key) == sha(r2.alice_key) == sha(r1.bob_key)
    assert r1.report["toeplitz_seed_sha256"] == r2.report["toeplitz_seed_sha256"] != r3.report["toeplitz_seed_sha256"]
    assert r3.report["randomness"].startswith("os")


def test_eat_is_refused_by_this_pipeline(reference_run):
    from qrepeater.errors import ParameterError

    with pytest.raises(ParameterError, match="complementarity"):
        distill(reference_run[0], method="eat")


# ---------------------------------------------------------------- aborts ---------------------------------------------
def test_abort_without_bell_violation(tmp_path):
    state = werner(0.6)  # Werner parameter 0.467: S = 2√2·0.467 = 1.32 ≤ 2
    table, info = simulate_records(state, 50_000, 1)
    assert info.expected_chsh < 2
    path = tmp_path / "r.parquet"
    write_records(table, path)
    res = distill_file(path, tmp_path / "key.bin", seed=1)
    assert res.aborted and "no Bell violation" in res.report["abort_reason"]
    assert res.report["key_bits"] == 0
    assert not (tmp_path / "key.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.bin.json", "r.parquet"]


def test_abort_when_finite_key_not_positive(reference_run, tmp_path):
    table, _ = reference_run
    res = distill(table.slice(0, 100_000), seed=1)  # S > 2 but far too few rounds for the complementarity bound
    assert res.aborted and "no positive finite-size key" in res.report["abort_reason"]


def test_bad_records_name_the_row(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("round,test,x,y,a,b\n0,true,0,0,0,0\n1,true,0,1,0,1\n2,false,0,2,1,9\n")
    with pytest.raises(RecordsError, match=r"row 2 \(line 4\), column 'b'"):
        distill_file(p, tmp_path / "key.bin", seed=1)
    assert not (tmp_path / "key.bin").exists()


def test_verification_failure_aborts_without_key_file(reference_run, tmp_path, monkeypatch):
    """A decoder that 'converges' to a wrong word (error beyond the code) is caught by the hash."""
    table, _ = reference_run
    monkeypatch.setattr(distill_mod, "reconcile", _fake_reconcile(flip_bob_bit=True))
    path = tmp_path / "r.parquet"
    write_records(table, path)
    res = distill_file(path, tmp_path / "key.bin", seed=9)
    assert res.aborted and "verification failed" in res.report["abort_reason"]
    assert not (tmp_path / "key.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.bin.json", "r.parquet"]  # no partial file


def test_corrupted_bob_string_aborts(reference_run, tmp_path, monkeypatch):
    """Bob's string corrupted far beyond the code's reach: no frame decodes → abort, no key file.

    Real decoder, limited to one BP iteration so that the (certain) failures are cheap."""
    table, _ = reference_run
    real = distill_mod.reconcile
    monkeypatch.setattr(distill_mod, "reconcile",
                        lambda a, b, q, **kw: real(a, b, q, **{**kw, "max_iter": 1}))
    path = tmp_path / "r.parquet"
    write_records(table, path)

    def corrupt(bob):
        rng = np.random.default_rng(0)
        return bob ^ (rng.random(bob.size) < 0.3).astype(np.uint8)

    res = distill_file(path, tmp_path / "key.bin", seed=9, bob_tamper=corrupt)
    assert res.aborted and res.report["key_bits"] == 0
    assert "error correction failed" in res.report["abort_reason"]
    assert res.report["ec_failed_frames"] == res.report["ec_frames"] > 0
    assert not (tmp_path / "key.bin").exists()
