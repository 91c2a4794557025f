"""`qrepeater chain` (repeater chains) and `qrepeater bounds` (repeaterless PLOB / TGW bounds)."""

from __future__ import annotations

import math
from typing import List, Optional

import typer

from ..errors import ParameterError
from .chain_segments import (
    MAX_MULTIPLEX,
    MAX_SEGMENTS,
    _rerun_options,
    _segment_choices,
    _segment_lengths,
    _segment_values,
    _with_segment_values,
    cutoff_item,
    multiplex_item,
)
from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    count,
    finite_float,
    handle_errors,
    positive_float,
    print_json,
)
from .options import (
    check_engine,
    engine_option,
    fresh_seed,
    pairs_option,
    run_title,
    seed_option,
)
from .progress import Progress, ProgressOption, progress_wanted
from .tables import print_table

SEGMENT_CHOICES = (1, 2, 4, 8, 16, 32)
CHAIN_ENGINES = ("exact", "montecarlo", "events")
#: default --max-samples of the event engine (elementary-link heralds; ~10x slower per link than the
#: Monte Carlo sampler, whose default is qrepeater.engines.montecarlo.DEFAULT_MAX_LINK_SAMPLES)
EVENTS_MAX_LINK_SAMPLES = 10**8
CUTOFF_MULTIPLES = (None, 0.25, 0.5, 1.0, 2.0)
PURIFY_CHOICES = ("none", "bbpssw", "dejmps")
#: Largest exact-engine grid (attempts) tried per --optimize candidate (keeps each solve ≲ 1 s).
OPTIMIZE_MAX_GRID = 2**20
#: Time budget (s) of --optimize's per-segment search (protocol and α per segment)
OPTIMIZE_SEGMENT_TIME_S = 25.0


def _attenuation(scenario) -> float:
    fiber = getattr(scenario, "fiber", None)
    return float(fiber.attenuation_db_per_km) if fiber is not None else 0.2


def _spec(scenario, distance_km, segments, multiplex, cutoff_s, purify, schedule, lengths=None, choices=None):
    from ..builders import SegmentChoice, chain_segment, chain_segments, swap_model
    from ..builders.segments import segment_cutoffs
    from ..engines import ChainSpec

    from ..physics.fiber import MAX_FIBRE_KM

    if not 0 < distance_km <= MAX_FIBRE_KM:
        raise ParameterError("--distance-km", distance_km, f"(0, {MAX_FIBRE_KM:g}] km (Earth's circumference)")
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ParameterError("--segments", segments, f"an integer in [1, {MAX_SEGMENTS}]")
    if not 1 <= multiplex <= MAX_MULTIPLEX:
        raise ParameterError("--multiplex", multiplex, f"an integer in [1, {MAX_MULTIPLEX}]")
    if lengths is not None or choices is not None:  # per-segment lengths or choices, on one clock (builders.segments)
        lengths = lengths or [distance_km / segments] * segments
        choices = choices or [SegmentChoice(multiplex=multiplex)] * len(lengths)
        links, mux = chain_segments(scenario, lengths, choices)
        cutoff_s = segment_cutoffs(choices, cutoff_s)  # each segment's memories (a pair keeps the strictest end)
        return ChainSpec(link=links, segments=len(links), swap=swap_model(scenario), cutoff_s=cutoff_s, multiplex=mux,
                         purification=purify, purification_rounds=1, schedule=schedule)
    link = chain_segment(scenario, distance_km / segments)
    return ChainSpec(
        link=link,
        segments=segments,
        swap=swap_model(scenario),
        cutoff_s=cutoff_s,
        multiplex=multiplex,
        purification=purify,
        purification_rounds=1,
        schedule=schedule,
    )


def _row(spec, result, lengths=None) -> dict:
    d = result.to_dict()
    d.update(
        segments=spec.segments,
        segment_length_km=result.distance_km / spec.segments if lengths is None else list(lengths),
        schedule=spec.schedule,
        purification=spec.purification,
        cutoff_s=spec.cutoff_s,
        segment_cutoffs_s=None if spec.uniform_cutoff else list(spec.segment_cutoffs_s),
        link_success_probability=(spec.link.success_probability if spec.homogeneous
                                  else [lk.success_probability for lk in spec.links]),
    )
    return d


def _optimize(scenario, distance_km, multiplex, attenuation, progress=None, lengths=None):
    """Exact engine over segments × cut-off × purification (nested schedule); sorted by key rate.

    ``progress``: a :class:`qrepeater.cli.progress.Progress` told of every candidate. ``lengths``: the
    segments' lengths (km), fixing their number."""
    from ..engines import run_exact

    rows, skipped = [], []
    per_segments = len(CUTOFF_MULTIPLES) * len(PURIFY_CHOICES)
    for segments in (SEGMENT_CHOICES if lengths is None else (len(lengths),)):
        try:
            base = _spec(scenario, distance_km, segments, multiplex, None, "none", "nested", lengths)
        except ParameterError as exc:
            skipped.append(f"{segments} segments: {exc}")
            if progress is not None:
                progress.step(f"{segments} segments: skipped", advance=per_segments)
            continue
        rate = max(base.link.transverse_rate_hz, base.link.longitudinal_rate_hz)
        coherence = 1.0 / rate if rate > 0 else math.inf
        for mult in CUTOFF_MULTIPLES:
            cutoff = None if mult is None or not math.isfinite(coherence) else mult * coherence
            if mult is not None and cutoff is None:
                if progress is not None:
                    progress.step(f"{segments} segments, cut-off {mult:g} T2: skipped", advance=len(PURIFY_CHOICES))
                continue
            for purify in PURIFY_CHOICES:
                label = f"{segments} segments, cut-off {'none' if mult is None else f'{mult:g} T2'}, purification {purify}"
                try:
                    spec = _spec(scenario, distance_km, segments, multiplex, cutoff, purify, "nested", lengths)
                    res = run_exact(spec, max_grid=OPTIMIZE_MAX_GRID).with_distance(distance_km, attenuation)
                except ParameterError as exc:
                    skipped.append(f"{segments} segments, cut-off {cutoff}, {purify}: {exc}")
                    label += ": skipped"
                else:
                    row = _row(spec, res, lengths)
                    row["cutoff_coherence_multiple"] = mult
                    rows.append(row)
                if progress is not None:
                    progress.step(label)
    if not rows:
        raise ParameterError("--optimize", "no candidate", "a distance at which the exact engine can evaluate a chain")
    rows.sort(key=lambda r: (r["secret_key_rate_bps"] or 0.0, r["rate_hz"] or 0.0), reverse=True)
    return rows, skipped


def _per_segment(scenario, distance_km, multiplex, attenuation, best, lengths, progress=None):
    """Per-segment protocol, α, cut-off and multiplexing for the best chain of :func:`_optimize` (its
    segments, cut-off and purification): :func:`qrepeater.studies.segment_choices.search_segment_choices`,
    each segment's cut-off among the multiples of T2 of :data:`CUTOFF_MULTIPLES` and the chain's
    segments × --multiplex memories per link side moved between segments. Returns (best row with
    ``per_segment``, summary of the search)."""
    from ..studies.segment_choices import (
        candidate_choices,
        chain_for,
        search_segment_choices,
    )

    lengths = lengths or [distance_km / best["segments"]] * best["segments"]
    cands = candidate_choices(scenario, multiplex=multiplex)
    base = _spec(scenario, distance_km, len(lengths), multiplex, None, "none", "nested", lengths)
    rate = max(base.link.transverse_rate_hz, base.link.longitudinal_rate_hz)
    cutoffs = [math.inf] + ([m / rate for m in CUTOFF_MULTIPLES if m is not None] if rate > 0 else [])
    total = len(lengths) * multiplex if multiplex > 1 and len(lengths) > 1 else None
    found = search_segment_choices(scenario, lengths, cands, cutoff_s=best["cutoff_s"],
                                   purification=best["purification"], multiplex=multiplex,
                                   time_limit_s=OPTIMIZE_SEGMENT_TIME_S, max_grid=OPTIMIZE_MAX_GRID, progress=progress,
                                   cutoff_choices=cutoffs if len(lengths) > 1 else None, multiplex_total=total)
    spec = chain_for(scenario, lengths, found.choices, cutoff_s=best["cutoff_s"], purification=best["purification"])
    row = _row(spec, found.result.with_distance(distance_km, attenuation), lengths)
    row["cutoff_coherence_multiple"] = best.get("cutoff_coherence_multiple")
    row["segment_length_km"] = list(lengths)
    seg_cuts = spec.segment_cutoffs_s or (spec.cutoff_s,) * spec.segments
    row["per_segment"] = [{**c.to_dict(), "cutoff_s": cut, "length_km": length}
                          for c, cut, length in zip(found.choices, seg_cuts, lengths)]
    uniform = found.uniform_result.with_distance(distance_km, attenuation)
    summary = {
        "candidates": [c.to_dict() for c in cands],
        "cutoff_candidates_s": [None if math.isinf(c) else c for c in cutoffs] if len(lengths) > 1 else None,
        "multiplex_total": total,
        "evaluations": found.evaluations,
        "seconds": round(found.seconds, 3),
        "stopped_at_time_limit": found.stopped_at_time_limit,
        "uniform_best": {**found.uniform_choice.to_dict(), "secret_key_rate_bps": uniform.secret_key_rate_bps,
                         "rate_hz": uniform.rate_hz, "mean_fidelity": uniform.mean_fidelity},
        "improved_over_uniform": found.improved_over_uniform,
        "skipped": len(found.skipped),
        "rerun_options": _rerun_options(lengths, found.choices, best["cutoff_s"]),
    }
    return row, summary


def _probe_events_work(spec, pairs: int, limit: int) -> None:
    """Refuse an event-engine run that would not end within ``limit`` heralds: the event engine has no
    run-time count, and a chain whose cut-off (or purification) discards nearly every pair would run
    for ever. A Monte Carlo probe of up to 64 pairs, with their share of the limit (at least 2^20
    samples), must succeed first (issue 15: 'chain --engine events --schedule swap-asap --cutoff-s 0.01
    --segments 8' ran over 120 s for one pair, its tables growing to 8 GB)."""
    from ..engines.montecarlo import run_montecarlo

    probe = min(int(pairs), 64)
    share = int(min(limit, max(2**20, limit * probe / pairs)))
    try:
        run_montecarlo(spec, probe, seed=0, max_link_samples=share)
    except ParameterError as exc:
        if exc.field != "pairs":
            raise
        raise ParameterError(
            "--pairs", pairs, f"a chain the event engine can finish within --max-samples {limit:.3g} link heralds: a "
            f"Monte Carlo probe of {probe} pairs did not finish within {share:.3g} elementary-link samples (a cut-off "
            "or purification that discards nearly every pair); use a longer cut-off, or raise --max-samples",
        ) from None


def _run_engine(spec, engine, pairs, seed, max_samples, segments, distance_km, attenuation):
    """The chain's result on ``engine`` (with its work limit), at ``distance_km``."""
    from ..engines import run

    if engine == "events":  # event-driven engine (qrepeater.engines.events; events-engine work)
        from ..engines.events import run_chain_events
        from ..engines.montecarlo import link_samples_lower_bound

        limit = EVENTS_MAX_LINK_SAMPLES if max_samples is None else max_samples
        need = link_samples_lower_bound(spec, pairs)
        if need > limit:
            raise ParameterError(
                "--pairs", pairs, f"at most {limit // (need // pairs)} pairs of this {segments}-segment chain on the "
                f"event engine within --max-samples {limit:.3g} link heralds (it needs at least {need:.3g}); "
                "raise --max-samples to run it",
            )
        _probe_events_work(spec, pairs, limit)
        result = run_chain_events(spec, pairs, seed).with_distance(distance_km, attenuation)
    elif engine == "montecarlo":
        from ..engines.montecarlo import DEFAULT_MAX_LINK_SAMPLES, run_montecarlo

        limit = DEFAULT_MAX_LINK_SAMPLES if max_samples is None else max_samples
        try:
            mc = run_montecarlo(spec, pairs, seed, max_link_samples=limit)
        except ParameterError as exc:
            if exc.field != "pairs":
                raise
            raise ParameterError("--pairs", pairs, exc.allowed.replace("max_link_samples", "--max-samples")
                                 .replace(" (CLI: --max-samples)", "")) from None
        result = mc.result.with_distance(distance_km, attenuation)
    else:
        from .budget import check_exact_segments

        check_exact_segments("--segments", segments)
        result = run(spec, engine=engine, pairs=pairs, seed=seed).with_distance(distance_km, attenuation)
    return result


def _print_per_segment(best: dict, search: dict) -> None:
    """Table of the per-segment choices that won, and how they compare with one choice for all."""
    from rich.table import Table

    u = search["uniform_best"]
    same = "" if search["improved_over_uniform"] else " (no per-segment choice beats one choice for all)"
    table = Table(title=f"per-segment choices of the best chain{same}: {search['evaluations']} chains in "
                        f"{search['seconds']:.1f} s" + (", stopped at the time limit" if search["stopped_at_time_limit"] else ""))
    for col in ("segment", "length_km", "protocol", "alpha", "multiplex", "cutoff_s"):
        table.add_column(col, justify="right", no_wrap=True)
    for i, c in enumerate(best["per_segment"]):
        table.add_row(str(i + 1), _fmt(c.get("length_km")), c["protocol"] or "-",
                      "-" if c["protocol"] == "two-photon" else _fmt(c["excitation_probability"]), str(c["multiplex"]),
                      _fmt(c["cutoff_s"]))
    table.add_row("all alike", "", u["protocol"] or "-", _fmt(u["excitation_probability"]), str(u["multiplex"]),
                  f"key {_fmt(u['secret_key_rate_bps'])} b/s, rate {_fmt(u['rate_hz'])} Hz")
    print_table(table)
    from rich.console import Console

    Console(stderr=True, soft_wrap=True).print(f"re-run with: {search['rerun_options']}", markup=False)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def register(app: typer.Typer) -> None:
    @app.command("chain")
    @handle_errors(interrupted="nothing was written (chain prints its result at the end); run it again, "
                               "with fewer --pairs for a shorter run")
    def chain(
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        distance_km: float = typer.Option(..., "--distance-km", parser=finite_float, help="End-to-end fibre distance (km)."),
        segments: int = typer.Option(2, "--segments", parser=count, help=f"Number of elementary links (nested: power of two; at most {MAX_SEGMENTS})."),
        multiplex: int = typer.Option(1, "--multiplex", parser=count, help="Memories per node per link side (first success wins)."),
        cutoff_s: Optional[float] = typer.Option(None, "--cutoff-s", parser=positive_float, help="Memory cut-off (s); none by default."),
        purify: str = typer.Option("none", "--purify", help="Link-level purification: none, bbpssw, dejmps."),
        schedule: str = typer.Option("nested", "--schedule", help="Swapping schedule: nested or swap-asap."),
        segment_lengths_km: Optional[str] = typer.Option(
            None, "--segment-lengths-km",
            help="Lengths of the segments (km, comma-separated, summing to --distance-km); sets --segments. "
                 "Links of different lengths run on one clock (the slowest segment's attempt).",
        ),
        segment_choices: Optional[str] = typer.Option(
            None, "--segment-choices",
            help="Protocol and excitation probability per segment, e.g. spep:0.02,two-photon (no alpha: the "
                 "scenario's); sets --segments. --optimize prints the choices it found in this form.",
        ),
        segment_multiplex: Optional[str] = typer.Option(
            None, "--segment-multiplex",
            help="Memories per node per link side of every segment, e.g. 1,3 (instead of --multiplex); sets --segments.",
        ),
        segment_cutoffs_s: Optional[str] = typer.Option(
            None, "--segment-cutoffs-s",
            help="Cut-off (s) of every segment's memories, e.g. 0.5,none,1.0 (none: no cut-off); a pair spanning "
                 "segments i..j is discarded at the stricter of its two end memories. Instead of --cutoff-s; sets --segments.",
        ),
        engine: str = engine_option("exact", CHAIN_ENGINES),
        pairs: int = pairs_option(),
        seed: Optional[int] = seed_option(),
        max_samples: Optional[int] = typer.Option(
            None, "--max-samples", parser=count,
            help="Work limit in elementary-link samples: a run needing more is refused or stopped with one line "
                 "(default 1e9 for montecarlo, 1e8 for events). Memory stays bounded whatever --pairs is.",
        ),
        json_out: bool = JsonOption,
        progress: Optional[bool] = ProgressOption,
        optimize: bool = typer.Option(
            False, "--optimize", help="Search segments (1..32), cut-off (multiples of T2) and purification for the best key "
            "rate, then the protocol, excitation probability, cut-off and multiplexing of every segment (hardware "
            "scenarios, <= ~25 s).",
        ),
    ) -> None:
        """Rate, fidelity, waiting time and secret-key fraction of a repeater chain, vs the PLOB bound."""
        scenario = build_from_options(preset, config, overrides)
        attenuation = _attenuation(scenario)
        check_engine(engine, CHAIN_ENGINES)
        lengths = _segment_lengths(segment_lengths_km, distance_km)
        if lengths is not None:
            segments = len(lengths)
        choices = _segment_choices(segment_choices, multiplex)
        if choices is not None:
            if lengths is not None and len(lengths) != len(choices):
                raise ParameterError("--segment-choices", segment_choices, f"one choice per segment ({len(lengths)})")
            if optimize:
                raise ParameterError("--segment-choices", segment_choices, "no value with --optimize (it searches them)")
            segments = len(choices)
        seg_mux = _segment_values("--segment-multiplex", segment_multiplex, multiplex_item,
                                  f"one integer in [1, {MAX_MULTIPLEX}] per segment, comma-separated, e.g. 1,3")
        seg_cuts = _segment_values("--segment-cutoffs-s", segment_cutoffs_s, cutoff_item,
                                   "one cut-off per segment (s > 0, or none), comma-separated, e.g. 0.5,none,1.0")
        for option, text, values in (("--segment-multiplex", segment_multiplex, seg_mux),
                                     ("--segment-cutoffs-s", segment_cutoffs_s, seg_cuts)):
            if values is None:
                continue
            if optimize:
                raise ParameterError(option, text, "no value with --optimize (it searches them)")
            if (lengths is not None or choices is not None) and len(values) != segments:
                raise ParameterError(option, text, f"one value per segment ({segments})")
            segments = len(values)
        if seg_cuts is not None and cutoff_s is not None:
            raise ParameterError("--segment-cutoffs-s", segment_cutoffs_s, "no --cutoff-s with it (it sets every segment's)")
        if seg_mux is not None or seg_cuts is not None:
            choices = _with_segment_values(choices, segments, multiplex, seg_mux, seg_cuts)
        if optimize:
            candidates = (len(SEGMENT_CHOICES) if lengths is None else 1) * len(CUTOFF_MULTIPLES) * len(PURIFY_CHOICES)
            with Progress("chain --optimize", f"exact engine over {candidates} candidates (segments x cut-off x purification)",
                          progress_wanted(progress), total=candidates) as bar:
                rows, skipped = _optimize(scenario, distance_km, multiplex, attenuation, bar, lengths)
            from ..config.schema import HardwareScenario

            search = None
            if isinstance(scenario, HardwareScenario):
                with Progress("chain --optimize", f"protocol and excitation probability per segment (<= "
                              f"{OPTIMIZE_SEGMENT_TIME_S:g} s)", progress_wanted(progress)) as bar:
                    best, search = _per_segment(scenario, distance_km, multiplex, attenuation, rows[0], lengths, bar)
                key = lambda r: (r["secret_key_rate_bps"] or 0.0, r["rate_hz"] or 0.0)  # noqa: E731
                rows = [best] + rows[0 if key(best) > key(rows[0]) else 1:]  # the old best stays if it differs
            else:  # abstract link: nothing to choose per segment
                rows[0]["per_segment"] = [{"protocol": None, "excitation_probability": None, "multiplex": multiplex,
                                           "cutoff_s": rows[0]["cutoff_s"]}] * rows[0]["segments"]
            if json_out:
                print_json({"best": rows[0], "runners_up": rows[1:8], "skipped": skipped, "per_segment_search": search})
                return
            from rich.console import Console  # tables only: --json never loads rich
            from rich.table import Table

            table = Table(title=run_title("chain --optimize", scenario, overrides, distance_km=distance_km) + " (exact engine, nested)")
            for col in ("rank", "segs", "cutoff_s", "purify", "rate_hz", "F", "SKF", "key_bps", "bits/use", "PLOB", ">PLOB"):
                table.add_column(col, justify="right", no_wrap=True)
            for i, r in enumerate(rows[:8]):
                table.add_row(
                    "best" if i == 0 else str(i + 1), str(r["segments"]), _fmt(r["cutoff_s"]), r["purification"],
                    _fmt(r["rate_hz"]), _fmt(r["mean_fidelity"]), _fmt(r["secret_key_fraction"]),
                    _fmt(r["secret_key_rate_bps"]), _fmt(r["key_bits_per_channel_use"]), _fmt(r["plob_bound"]),
                    _fmt(r["beats_plob"]),
                )
            print_table(table)
            if search is not None:
                _print_per_segment(rows[0], search)
            if skipped:
                Console(stderr=True).print(
                    f"{len(skipped)} candidate(s) skipped (waiting time too long for the exact engine); see --json"
                )
            return
        spec = _spec(scenario, distance_km, segments, multiplex, cutoff_s, purify, schedule, lengths, choices)
        what = {"exact": "exact engine (waiting-time recursion)",
                "montecarlo": f"Monte Carlo engine, {pairs} pairs",
                "events": f"event engine, {pairs} pairs (its first run after install compiles the kernels, ~20 s)"}[engine]
        if engine != "exact":
            seed = fresh_seed(seed)
        with Progress("chain", f"{what}, {segments} segments, {distance_km:g} km", progress_wanted(progress)):
            result = _run_engine(spec, engine, pairs, seed, max_samples, segments, distance_km, attenuation)
        row = _row(spec, result, lengths or (None if choices is None else [distance_km / segments] * segments))
        if choices is not None:
            cuts = spec.segment_cutoffs_s or (spec.cutoff_s,) * spec.segments
            row["per_segment"] = [{**c.to_dict(), "cutoff_s": cut} for c, cut in zip(choices, cuts)]
        if engine != "exact":
            row["seed"] = seed
        if json_out:
            print_json(row)
            return
        from rich.console import Console  # tables only: --json never loads rich
        from rich.table import Table

        table = Table(title=run_title("chain", scenario, overrides, distance_km=distance_km, segments=segments, engine=engine))
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key in ("rate_hz", "rate_ci95", "mean_fidelity", "fidelity_ci95", "mean_waiting_time_s", "waiting_time_ci95",
                    "secret_key_fraction", "secret_key_rate_bps", "key_bits_per_channel_use", "plob_bound", "tgw_bound",
                    "beats_plob", "truncation_error", "pairs", "segment_length_km", "link_success_probability", "seed"):
            v = row.get(key)
            table.add_row(key, ", ".join(_fmt(x) for x in v) if isinstance(v, list) else _fmt(v))
        print_table(table)

    @app.command("bounds")
    @handle_errors
    def bounds(
        distance_km: float = typer.Option(..., "--distance-km", parser=finite_float, help="Fibre distance (km)."),
        attenuation_db_per_km: float = typer.Option(0.2, "--attenuation-db-per-km", parser=finite_float, help="Fibre loss (dB/km)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Repeaterless PLOB and TGW bounds (bits per channel use) of a fibre."""
        from ..bounds import fiber_transmissivity, plob, tgw

        eta = fiber_transmissivity(distance_km, attenuation_db_per_km)
        data = {
            "distance_km": distance_km,
            "attenuation_db_per_km": attenuation_db_per_km,
            "transmissivity": eta,
            "plob": plob(eta),
            "tgw": tgw(eta),
        }
        if json_out:
            print_json(data)
            return
        from rich.table import Table

        table = Table(title=f"repeaterless bounds at {distance_km:g} km")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for k, v in data.items():
            table.add_row(k, _fmt(float(v)))
        print_table(table)
