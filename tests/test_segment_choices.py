"""Per-segment protocol and α (issue 14 item 2): the search against a brute-force grid, and chain --optimize.

The scenario is ustc2026 with quiet memories, ideal swaps and a tight phase lock, so a 5 km + 45 km
chain has a positive key and the best excitation probability differs between the short and the long
segment (the short one waits for the long one anyway and trades rate for fidelity).
"""

import json

import pytest
from typer.testing import CliRunner

from qrepeater import build_scenario
from qrepeater.builders import SegmentChoice
from qrepeater.cli.main import app
from qrepeater.studies.segment_choices import (
    brute_force,
    candidate_choices,
    score,
    search_segment_choices,
)

SETS = [f"{n}.memory.{k}={v}" for n in ("node_a", "node_b")
        for k, v in (("field_noise_rms_rad_per_s", 1.0), ("decoupling_error_per_pulse", 1e-6),
                     ("storage_level_lifetime_s", 100.0))] + [
    "swap.gate_fidelity=1.0", "swap.readout_error=0.0", "phase.local_residual_phase_noise_rad=0.02",
    "phase.fiber_phase_noise_rad2_per_hz_per_km=0.001", "phase.mode_overlap=1.0"]
LENGTHS = [5.0, 45.0]


@pytest.mark.slow
def test_search_finds_the_brute_force_optimum_and_it_differs_per_segment():
    scenario = build_scenario("ustc2026", None, SETS)
    cands = [SegmentChoice("spep", a) for a in (0.02, 0.04, 0.08)]
    found = search_segment_choices(scenario, LENGTHS, cands, max_grid=2**20)
    best, best_res = brute_force(scenario, LENGTHS, cands, max_grid=2**20)
    assert found.choices == best
    assert score(found.result) == score(best_res)
    assert best[0].excitation_probability != best[1].excitation_probability  # per-segment α pays here
    assert found.improved_over_uniform and score(found.result)[0] > score(found.uniform_result)[0] > 0


@pytest.mark.slow
def test_chain_optimize_reports_per_segment_choices_that_match_brute_force():
    args = ["chain", "--preset", "ustc2026", "--distance-km", "50", "--segment-lengths-km", "5,45", "--optimize",
            "--json"]
    for s in SETS:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    best = out["best"]
    for key in ("rate_hz", "mean_fidelity", "secret_key_rate_bps", "segments", "cutoff_s", "purification"):
        assert key in best  # the keys of --optimize before per-segment choices
    assert [c["length_km"] for c in best["per_segment"]] == LENGTHS
    assert set(best["per_segment"][0]) >= {"protocol", "excitation_probability", "multiplex", "cutoff_s"}
    search = out["per_segment_search"]
    assert search["improved_over_uniform"] and not search["stopped_at_time_limit"]
    scenario = build_scenario("ustc2026", None, SETS)
    choices, res_bf = brute_force(scenario, LENGTHS, candidate_choices(scenario), cutoff_s=best["cutoff_s"],
                                  purification=best["purification"], max_grid=2**20)
    assert [c.to_dict() for c in choices] == [{k: c[k] for k in ("protocol", "excitation_probability", "multiplex")}
                                              for c in best["per_segment"]]
    assert best["secret_key_rate_bps"] == pytest.approx(res_bf.secret_key_rate_bps, rel=1e-12)
    # the printed options re-run the plan
    rerun = ["chain", "--preset", "ustc2026", "--distance-km", "50", *search["rerun_options"].split(), "--json"]
    for s in SETS:
        rerun += ["--set", s]
    again = CliRunner().invoke(app, rerun)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["secret_key_rate_bps"] == pytest.approx(best["secret_key_rate_bps"], rel=1e-12)


def test_segment_choices_of_the_scenario_give_the_plain_chain():
    base = ["chain", "--preset", "ustc2026", "--distance-km", "20", "--json"]
    plain = json.loads(CliRunner().invoke(app, [*base, "--segments", "2"]).stdout)
    per = json.loads(CliRunner().invoke(app, [*base, "--segment-choices", "spep,spep:0.17"]).stdout)
    assert per["rate_hz"] == plain["rate_hz"] and per["mean_fidelity"] == plain["mean_fidelity"]
    assert per["per_segment"][1] == {"protocol": "spep", "excitation_probability": 0.17, "multiplex": 1, "cutoff_s": None}
    bad = CliRunner().invoke(app, [*base, "--segment-choices", "spep:2"])
    assert bad.exit_code == 2 and "--segment-choices" in bad.output


def test_segment_lengths_must_sum_to_the_distance():
    res = CliRunner().invoke(app, ["chain", "--preset", "ustc2026", "--distance-km", "50", "--segment-lengths-km",
                                   "5,40", "--json"])
    assert res.exit_code == 2 and "summing to --distance-km" in res.output


# ---------------------------------------------------------------- per-segment multiplexing and cut-off
def _quiet(lifetime_s):
    return build_scenario("ustc2026", None, SETS + [f"{n}.memory.storage_level_lifetime_s={lifetime_s}"
                                                    for n in ("node_a", "node_b")])


@pytest.mark.slow
@pytest.mark.parametrize("lifetime_s,start_cutoff_s", [(0.05, 0.02), (1.0, None), (1.0, 0.02)])
def test_search_of_cutoff_and_multiplex_per_segment_matches_brute_force(lifetime_s, start_cutoff_s):
    # 2 alphas x 4 cut-offs (the chain's and 3) per segment x 3 allocations of 4 memories: 192 chains
    import math

    scenario = _quiet(lifetime_s)
    cands = [SegmentChoice("spep", a, 2) for a in (0.04, 0.08)]
    kw = {"cutoff_s": start_cutoff_s, "cutoff_choices": (0.01, 0.05, math.inf), "multiplex_total": 4}
    found = search_segment_choices(scenario, LENGTHS, cands, multiplex=2, max_grid=2**20, **kw)
    best, best_res = brute_force(scenario, LENGTHS, cands, max_grid=2**20, **kw)
    assert score(found.result) == score(best_res)
    assert sum(c.multiplex for c in found.choices) == 4
    if lifetime_s == 0.05:  # here the optimum puts 1 memory on the short segment and 3 on the long one
        assert [c.multiplex for c in best] == [1, 3] == [c.multiplex for c in found.choices]


def test_multiplex_moves_keep_the_memories_of_the_chain():
    from qrepeater.studies.segment_choices import _allocations, _apply, _edits

    assert sorted(_allocations(3, 5)) == [(1, 1, 3), (1, 2, 2), (1, 3, 1), (2, 1, 2), (2, 2, 1), (3, 1, 1)]
    current = [SegmentChoice("spep", 0.02, 4), SegmentChoice("spep", 0.02, 4), SegmentChoice("spep", 0.02, 1)]
    for i in range(3):
        for edit in _edits(i, 3, [], None, 9):
            trial = _apply(current, i, edit)
            if trial is not None:
                assert sum(c.multiplex for c in trial) == 9 and min(c.multiplex for c in trial) >= 1


def test_segment_cutoffs_option_runs_a_chain_with_one_cutoff_per_segment():
    base = ["chain", "--preset", "ustc2026", "--distance-km", "20", "--json"]
    scalar = json.loads(CliRunner().invoke(app, [*base, "--segments", "2", "--cutoff-s", "0.01"]).stdout)
    equal = json.loads(CliRunner().invoke(app, [*base, "--segment-cutoffs-s", "0.01,0.01"]).stdout)
    assert (equal["rate_hz"], equal["mean_fidelity"]) == (scalar["rate_hz"], scalar["mean_fidelity"])
    per = json.loads(CliRunner().invoke(app, [*base, "--segment-cutoffs-s", "0.005,none", "--segment-multiplex",
                                              "1,3"]).stdout)
    assert per["segment_cutoffs_s"] == [0.005, None] and per["cutoff_s"] == 0.005
    assert [(c["multiplex"], c["cutoff_s"]) for c in per["per_segment"]] == [(1, 0.005), (3, None)]
    for bad in (["--segment-cutoffs-s", "0.01,-1"], ["--segment-cutoffs-s", "0.01,x"],
                ["--segment-multiplex", "1,0"], ["--cutoff-s", "0.01", "--segment-cutoffs-s", "0.01,0.02"],
                ["--segment-choices", "spep,spep", "--segment-cutoffs-s", "0.01"]):
        res = CliRunner().invoke(app, [*base, *bad])
        assert res.exit_code == 2 and bad[-2] in res.output and len(res.output.strip().splitlines()) == 1, res.output
