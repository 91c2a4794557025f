"""Monte Carlo in bounded memory (issue 16 item 3): streamed levels, no over-drawing, batch-size independence."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import qrepeater.engines.mc_streams as streams
import qrepeater.engines.montecarlo as mc
from qrepeater.engines import ChainSpec, SwapModel, abstract_link, run_exact

TAU = 1e-4


def _spec(p=0.05, seg=8, ps=1.0, cut=None, schedule="nested", delay=0.0, pur="none"):
    link = abstract_link(p, TAU, 0.96, coherence_time_s=50 * TAU / p, classical_delay_s=delay)
    return ChainSpec(link, seg, SwapModel(ps, 0.99, 0.005), cut, schedule=schedule, purification=pur)


@pytest.mark.parametrize("spec", [
    _spec(),
    _spec(ps=0.8, cut=30 * TAU),
    _spec(seg=4, ps=0.9, cut=40 * TAU, delay=1.3 * TAU),
    _spec(seg=2, ps=0.9, cut=40 * TAU, pur="dejmps"),
    _spec(seg=5, ps=0.9, cut=60 * TAU, schedule="swap-asap", delay=0.7 * TAU),
], ids=["8seg", "8seg-cut", "4seg-delay-cut", "2seg-dejmps", "asap5"])
def test_pairs_do_not_depend_on_how_they_are_requested(spec, monkeypatch):
    """Each generator is drawn in order and attempts made ahead are kept: the pairs of a seed are the same
    whether taken at once or in uneven chunks, with pools of any size."""
    t_all, c_all = mc.sample_chain(spec, 3000, seed=7)
    monkeypatch.setattr(streams, "MAX_POOL", 97)
    stream = mc._stream(spec, 7, None)
    parts = [mc._take(spec, stream, n) for n in (1, 5, 400, 17, 2577)]
    np.testing.assert_array_equal(np.concatenate([t for t, _ in parts]), t_all)
    np.testing.assert_array_equal(np.concatenate([c for _, c in parts]), c_all)


def test_streamed_result_does_not_depend_on_the_batch_size(monkeypatch):
    spec = _spec(ps=0.8, cut=30 * TAU)
    ref = mc.run_montecarlo(spec, 20_000, seed=3)  # one batch: the pairs are kept
    for batch_links in (2**10, 2**13):
        monkeypatch.setattr(mc, "BATCH_LINK_SAMPLES", batch_links)
        run = mc.run_montecarlo(spec, 20_000, seed=3)
        assert run.waiting_times_s is None  # streamed
        for a, b in ((run.result.mean_waiting_time_s, ref.result.mean_waiting_time_s),
                     (run.result.mean_fidelity, ref.result.mean_fidelity)):
            assert a == pytest.approx(b, rel=1e-12)  # the same pairs; sums in another order
        np.testing.assert_array_equal(run.stats.wait_counts, ref.stats.wait_counts)


def test_no_over_drawing():
    """Certain swaps, no cut-off: every elementary link is used, so an 8-segment pair takes exactly 8 link
    samples; the streams leave at most their last pools unused (the old sampler drew 41 per pair)."""
    run = mc.run_montecarlo(_spec(p=7.5e-4), 100_000, seed=1)
    assert 8.0 <= run.link_samples / 100_000 < 8.0 * 1.02
    # with probabilistic swaps and a cut-off the draws match the expected cost, not 2-5x it
    spec = _spec(ps=0.8, cut=30 * TAU)
    small = mc.run_montecarlo(spec, 30_000, seed=2).link_samples / 30_000
    big = mc.run_montecarlo(spec, 120_000, seed=4).link_samples / 120_000
    assert small == pytest.approx(big, rel=0.03)


def test_first_pool_estimate_is_the_fresh_link_success():
    spec = _spec(p=0.01, ps=1.0)
    levels = streams.nested_stream(spec, 0)
    while isinstance(levels, streams.LevelStream):
        assert levels.est0 == 1.0  # certain swaps, no cut-off: not 0.5
        levels = levels.below
    cut = _spec(p=0.01, ps=0.7, cut=50 * TAU)
    level1 = streams.nested_stream(cut, 0, top=1)
    q = 0.99  # P(|G1 − G2| > c) = 2 q^(c+1) / (1 + q)
    assert level1.est0 == pytest.approx(0.7 * (1 - 2 * q**51 / (1 + q)), rel=1e-12)
    # and the observed fraction agrees with it
    level1.take(20_000)
    assert level1.successes / level1.attempts == pytest.approx(level1.est0, abs=0.01)


def test_memory_does_not_grow_with_pairs(monkeypatch):
    monkeypatch.setattr(mc, "BATCH_LINK_SAMPLES", 2**14)
    spec = _spec(seg=8, ps=0.9, cut=40 * TAU)

    def peak(pairs):
        tracemalloc.start()
        mc.run_montecarlo(spec, pairs, seed=5)
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    assert peak(160_000) < 1.5 * peak(20_000)


def test_quantiles_from_the_histogram():
    """Bounded-memory quantiles against numpy's on the same pairs (one bin: 0.46 % for waiting times)."""
    spec = _spec(ps=0.8, cut=30 * TAU)
    run = mc.run_montecarlo(spec, 50_000, seed=9)
    wait = run.waiting_times_s
    fid = run.states.coefficients[:, 0]
    for q, v in run.stats.waiting_time_quantiles_s().items():
        assert v == pytest.approx(np.quantile(wait, q), rel=0.01)
    for q, v in run.stats.fidelity_quantiles().items():
        assert v == pytest.approx(np.quantile(fid, q), abs=2e-4)
    edges, counts = run.stats.waiting_time_histogram_s()
    assert counts.sum() == 50_000 and edges[0] == pytest.approx(TAU)


@pytest.mark.slow
def test_streamed_eight_segments_agree_with_exact():
    spec = _spec(p=1e-3, ps=0.9, cut=2000 * TAU)  # cut-off of two mean link times
    ex = run_exact(spec)
    res = mc.run_montecarlo(spec, 300_000, seed=21).result
    for value, (lo, hi) in ((ex.mean_waiting_time_s, res.waiting_time_ci95), (ex.mean_fidelity, res.fidelity_ci95)):
        assert abs(value - (lo + hi) / 2) <= 4 * (hi - lo) / 3.92
    assert math.isfinite(res.mean_fidelity)
