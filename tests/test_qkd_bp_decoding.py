"""The compiled sum-product decoder (qrepeater.qkd.bp_decoding), checked against the ldpc package's
``BpDecoder`` (the same flooding algorithm: same iterations, same corrections), against a hand-checked
Hamming code, and for thread-count independence."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from qrepeater.errors import ParameterError
from qrepeater.qkd.bp_decoding import channel_llr, decode_frames, tanner_graph
from qrepeater.qkd.ldpc_codes import get_code
from qrepeater.qkd.rate_adaptation import binary_entropy
from qrepeater.qkd.reconciliation import _syndrome, reconcile

# [7,4] Hamming code: column j is the binary representation of j + 1
HAMMING = np.array([[(j + 1) >> i & 1 for j in range(7)] for i in range(3)], dtype=np.uint8)


def _frames(code, qber, frames, seed, punctured=0):
    """Syndromes, priors and true error patterns of ``frames`` BSC frames on ``code`` (first
    ``punctured`` positions of ``code.order`` punctured: uniform bits, prior 1/2)."""
    rng = np.random.default_rng(seed)
    n = code.n
    synd, prior, truth = [], [], []
    for _ in range(frames):
        e = (rng.random(n) < qber).astype(np.uint8)
        e[code.order[:punctured]] = rng.integers(0, 2, punctured)
        pr = np.full(n, qber)
        pr[code.order[:punctured]] = 0.5
        synd.append(_syndrome(code.H, e).astype(np.uint8))
        prior.append(pr)
        truth.append(e)
    return np.array(synd), np.array(prior), np.array(truth)


def test_tanner_graph_edges_match_matrix():
    g = tanner_graph(HAMMING)
    assert (g.n, g.m, g.edges) == (7, 3, int(HAMMING.sum()))
    for c in range(g.m):
        assert sorted(g.edge_var[g.check_ptr[c] : g.check_ptr[c + 1]]) == list(np.nonzero(HAMMING[c])[0])
    for v in range(g.n):
        edges = g.var_edges[g.var_ptr[v] : g.var_ptr[v + 1]]
        assert np.all(g.edge_var[edges] == v) and edges.size == HAMMING[:, v].sum()


@pytest.mark.parametrize("schedule", ["layered", "parallel"])
def test_hamming_single_errors_are_corrected(schedule):
    """Every single-bit error of the [7,4] Hamming code has a distinct syndrome; BP at a small error
    probability returns exactly that bit (the most likely pattern)."""
    g = tanner_graph(HAMMING)
    errors = np.eye(7, dtype=np.uint8)
    synd = (errors @ HAMMING.T.astype(int)) % 2
    found, iters = decode_frames(g, synd, np.full(7, 0.01), schedule=schedule)
    assert np.all(iters >= 1) and np.array_equal((found @ HAMMING.T.astype(int)) % 2, synd)
    if schedule == "layered":
        assert np.array_equal(found, errors)
    else:
        # flooding BP on this tiny loopy graph (4-cycles everywhere) is not maximum-likelihood: for the
        # error on bit 7 (in all three checks) it settles on a weight-4 word with the same syndrome —
        # exactly what ldpc's BpDecoder returns too
        BpDecoder = pytest.importorskip("ldpc").BpDecoder

        bp = BpDecoder(HAMMING, error_rate=0.01, max_iter=100, bp_method="product_sum", schedule="parallel",
                       input_vector_type="syndrome")
        for f in range(7):
            assert np.array_equal(found[f], bp.decode(synd[f].astype(np.uint8))), f
    # the zero syndrome is satisfied by the all-zero guess before any iteration
    found0, it0 = decode_frames(g, np.zeros(3, np.uint8), np.full(7, 0.01), schedule=schedule)
    assert not found0.any() and it0[0] == 0


def test_flooding_equals_ldpc_bpdecoder():
    """Same algorithm as ldpc's product-sum flooding decoder: the same iteration count and the same
    correction on every frame, punctured bits included, near the code's threshold (tens of iterations)."""
    BpDecoder = pytest.importorskip("ldpc").BpDecoder

    code = get_code(0.70, 8192, 1)
    synd, prior, truth = _frames(code, 0.042, 12, seed=11, punctured=200)
    ours, iters = decode_frames(tanner_graph(code.H), synd, prior, max_iter=60, schedule="parallel")
    bp = BpDecoder(code.H, error_rate=0.05, max_iter=60, bp_method="product_sum", schedule="parallel",
                   input_vector_type="syndrome")
    hard = failed = 0
    for f in range(len(synd)):
        bp.update_channel_probs(prior[f])
        ref = np.asarray(bp.decode(synd[f]), np.uint8)
        if bp.converge:
            assert iters[f] == bp.iter, f
            assert np.array_equal(ours[f], ref), f
            hard += bp.iter > 25
        else:
            failed += 1
            assert iters[f] < 0, f
    assert hard >= 3 and failed >= 1  # the comparison included frames that needed real work


def test_layered_needs_fewer_iterations_for_the_same_corrections():
    code = get_code(0.70, 8192, 1)
    synd, prior, truth = _frames(code, 0.038, 12, seed=5, punctured=200)
    g = tanner_graph(code.H)
    flood, it_f = decode_frames(g, synd, prior, max_iter=100, schedule="parallel")
    layer, it_l = decode_frames(g, synd, prior, max_iter=100, schedule="layered")
    ok = (it_f >= 0) & (it_l >= 0)
    assert ok.sum() >= 10
    assert np.array_equal(flood[ok], layer[ok])
    # every decoded word satisfies the syndrome; it is the true pattern on the key bits
    for f in np.nonzero(ok)[0]:
        assert np.array_equal(_syndrome(code.H, layer[f]), synd[f])
    assert it_l[ok].sum() < 0.7 * it_f[ok].sum()


def test_result_does_not_depend_on_thread_count():
    code = get_code(0.70, 8192, 1)
    synd, prior, _ = _frames(code, 0.04, 6, seed=9, punctured=100)
    g = tanner_graph(code.H)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = decode_frames(g, synd, prior)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = decode_frames(g, synd, prior)
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


def test_known_and_unknown_bits():
    """Prior 0 (a known bit) is never flipped; prior 1/2 (a punctured bit, LLR 0) is recovered."""
    assert channel_llr(np.array([0.0, 0.5, 1.0]))[1] == 0.0
    assert channel_llr(np.array([0.0]))[0] > 20 and channel_llr(np.array([1.0]))[0] < -20
    code = get_code(0.70, 8192, 1)
    synd, prior, truth = _frames(code, 0.02, 3, seed=3, punctured=400)
    found, iters = decode_frames(tanner_graph(code.H), synd, prior)
    assert np.all(iters >= 0)
    assert np.array_equal(found[:, code.order[:400]], truth[:, code.order[:400]])


def test_bad_input_names_the_field():
    g = tanner_graph(HAMMING)
    with pytest.raises(ParameterError, match="schedule"):
        decode_frames(g, np.zeros(3), np.full(7, 0.1), schedule="serial")
    with pytest.raises(ParameterError, match="syndrome length"):
        decode_frames(g, np.zeros(4), np.full(7, 0.1))
    with pytest.raises(ParameterError, match="channel probabilities length"):
        decode_frames(g, np.zeros(3), np.full(6, 0.1))
    with pytest.raises(ParameterError, match="max_iter"):
        decode_frames(g, np.zeros(3), np.full(7, 0.1), max_iter=0)
    with pytest.raises(ParameterError, match="channel error probability"):
        decode_frames(g, np.zeros(3), np.full(7, 1.5))
    with pytest.raises(ParameterError, match="decoder"):
        reconcile(np.zeros(10), np.zeros(10), 0.03, decoder="osd")


def test_reconcile_decoders_agree():
    """reconcile() with the compiled decoder and with ldpc's gives the same reconciled strings and
    leakage (the layered schedule corrects the same frames the flooding reference does)."""
    pytest.importorskip("ldpc")
    rng = np.random.default_rng(21)
    a = rng.integers(0, 2, 15000, dtype=np.uint8)
    b = a ^ (rng.random(a.size) < 0.03).astype(np.uint8)
    fast = reconcile(a, b, 0.03, efficiency=1.25, frame_bits=8192, seed=4)
    ref = reconcile(a, b, 0.03, efficiency=1.25, frame_bits=8192, seed=4, decoder="ldpc")
    flood = reconcile(a, b, 0.03, efficiency=1.25, frame_bits=8192, seed=4, schedule="parallel")
    assert fast.frames == ref.frames >= 2 and fast.failed_frames == ref.failed_frames == 0
    assert np.array_equal(fast.bob, ref.bob) and np.array_equal(fast.bob, a) and np.array_equal(flood.bob, a)
    assert fast.leak_bits == ref.leak_bits
    assert fast.efficiency <= 1.25 and fast.leak_bits > fast.input_bits * binary_entropy(0.03)


def test_ldpc_decoder_without_the_package_is_one_line(monkeypatch):
    """ldpc is optional (test extra): asking for its decoder without it says how to install it."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ldpc" else real(name, *a))
    with pytest.raises(ParameterError, match="pip install ldpc") as err:
        reconcile(np.zeros(10, np.uint8), np.zeros(10, np.uint8), 0.03, decoder="ldpc")
    assert "\n" not in str(err.value)
