"""`qrepeater diqkd simulate | distill`: simulated round records and their post-processing into a key.

Registered into the ``diqkd`` group by :mod:`qrepeater.cli.diqkd`.

Exit codes: 0 success; 1 the protocol aborted (no key file written); 2 user error (one line on stderr);
130 interrupted. Key bits are never printed: ``distill`` prints the report (statistics, leakage, key
length, seeds' digests), the key goes only to the 0600 key file. ``distill`` never replaces an existing
key without ``--force`` and leaves no key at ``--key-out`` when it aborts or is interrupted; a seeded
run is marked insecure (output, report, key-file header) and its report is written 0600.

Bounded work: ``simulate`` and ``distill`` hold all rounds in memory; the request (``--rounds``, or the
rows of the records file) is checked against ``--memory-limit-gb`` before anything is allocated.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import ParameterError
from .budget import MemoryLimitOption, check_memory
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
    quantity_table,
)
from .paths import distinct, input_file, output_file
from .options import seed_option
from .progress import Progress, ProgressOption, progress_wanted

#: = qrepeater.qkd.distill.SUPPORTED_METHODS (kept here so that the CLI imports no numerics at start-up;
#: tests/test_cli_diqkd.py checks that the two agree)
FINITE_METHODS = ("complementarity", "complementarity-reconstruction", "collective-aep", "bff")
RECORDS_SUFFIXES = (".parquet", ".pq", ".csv")
#: peak memory per round (bytes), measured with /usr/bin/time on 1e6 and 1e7 rounds: simulate
#: ~80 B (numpy draws, the Arrow table, the Parquet writer), distill ~250 B (columns, sifted keys,
#: LDPC frames, Toeplitz hashing); rounded up
SIMULATE_BYTES_PER_ROUND = 120
DISTILL_BYTES_PER_ROUND = 400

# report keys shown on stdout by `distill` (the full report, with the public hash seeds, is the JSON file)
SUMMARY_KEYS = (
    "rounds", "test_rounds", "key_rounds", "chsh", "chsh_stderr", "chsh_ci95", "qber", "qber_stderr",
    "qber_ci95_wilson", "method", "attacks", "eps_sec", "eps_cor", "eps_pe", "eps_pa", "eps_smooth", "ec_leakage_bits",
    "ec_syndrome_bits", "ec_efficiency",
    "ec_frames", "ec_failed_frames", "ec_code_rate", "reconciled_bits", "key_bits", "aborted", "abort_reason",
    "toeplitz_seed_bits", "toeplitz_seed_sha256", "randomness", "insecure", "warning", "seed", "records_checksum",
    "key_file", "report_file",
)


def register(diqkd: typer.Typer) -> None:
    @diqkd.command("simulate")
    @handle_errors(interrupted="no records file was written; run simulate again")
    def simulate(
        rounds: int = typer.Option(..., "--rounds", parser=count, help="Number of heralded rounds (4e5 works)."),
        seed: Optional[int] = seed_option("The seed used is reported (seed_entropy)."),
        out: Path = typer.Option(Path("records.parquet"), "--out", "-o", help="Records file to write (.parquet, .pq or .csv)."),
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        test_probability: float = typer.Option(0.5, "--test-probability", parser=finite_float, help="Probability of a test round."),
        json_out: bool = JsonOption,
        memory_limit_gb: Optional[float] = MemoryLimitOption,
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Simulate DI-QKD round records from a scenario's heralded state."""
        from ..builders import qkd_source
        from ..qkd.records import write_records
        from ..qkd.simulate import simulate_records

        output_file("--out", out, "a records file", suffixes=RECORDS_SUFFIXES)
        distinct(("--config", config), ("--out", out))
        if preset is None and config is None:
            raise ParameterError("--preset/--config", None, "a preset name or a scenario file")
        check_memory("--rounds", rounds, rounds * SIMULATE_BYTES_PER_ROUND, memory_limit_gb, f"simulating {rounds} rounds")
        scenario = build_from_options(preset, config, overrides)
        src = qkd_source(scenario)
        with Progress("diqkd simulate", f"{rounds} rounds of {scenario.name} into {out}", progress_wanted(progress)):
            table, info = simulate_records(
                src.state, rounds, seed, test_probability=test_probability,
                readout_error=src.readout_error, round_rate_hz=src.round_rate_hz,
            )
            write_records(table, out)
        result = info.as_dict()
        result["out"] = str(out)
        if json_out:
            print_json(result)
        else:
            quantity_table("simulated DI-QKD rounds", result)

    @diqkd.command("distill")
    @handle_errors(interrupted="no key was written to --key-out (with --force, the key it held was removed when "
                               "the run started); run distill again")
    def distill(
        records: str = typer.Argument(..., help="Round-records file (.parquet, .pq or .csv)."),
        key_out: str = typer.Option(..., "--key-out", help="Key file to write (mode 0600) if a key is produced; must not exist."),
        report: Optional[str] = typer.Option(None, "--report", help="JSON report file, *.json (default: KEY_OUT.json)."),
        method: str = typer.Option(
            "collective-aep", "--method",
            help="Finite-size analysis: collective-aep (default; collective attacks, CHSH value), bff (collective "
                 "attacks, Brown-Fawzi-Fawzi bound on all four correlators; solves SDPs, a few seconds), "
                 "complementarity-reconstruction (= complementarity; in-house model, not checked against its "
                 "paper). See docs/diqkd_security.md."),
        eps_sec: Optional[float] = typer.Option(None, "--eps-sec", parser=positive_float, help="Secrecy parameter (default of the analysis)."),
        tag_bits: int = typer.Option(64, "--tag-bits", parser=count, help="Verification hash length (eps_cor = 2^-tag_bits)."),
        efficiency: Optional[float] = typer.Option(None, "--efficiency", parser=positive_float, help="Target reconciliation efficiency f."),
        decoder: str = typer.Option("compiled", "--decoder",
                                    help="BP decoder: compiled (layered, fast) or ldpc (the ldpc package's BpDecoder)."),
        seed: Optional[int] = seed_option("It seeds all protocol randomness: TESTING ONLY, the key is then insecure."),
        force: bool = typer.Option(False, "--force", help="Replace an existing --key-out (it is deleted when the run starts)."),
        json_out: bool = JsonOption,
        memory_limit_gb: Optional[float] = MemoryLimitOption,
        progress: Optional[bool] = ProgressOption,
    ) -> None:
        """Sift, estimate, error-correct, verify and privacy-amplify round records into a key."""
        from ..qkd.distill import distill_file
        from ..qkd.records import records_rows_estimate

        if method not in FINITE_METHODS:
            raise ParameterError("--method", method, " | ".join(FINITE_METHODS))
        if eps_sec is not None and not eps_sec < 1:
            raise ParameterError("--eps-sec", eps_sec, "(0, 1)")
        input_file("RECORDS", records, "records file", suffixes=RECORDS_SUFFIXES)
        output_file("--key-out", key_out, "a key file", replace=force)
        report_path = report if report is not None else key_out + ".json"
        output_file("--report" if report is not None else "--key-out (report KEY_OUT.json)", report_path, "a JSON report file",
                    suffixes=(".json",))
        distinct(("RECORDS", records), ("--key-out", key_out), ("--report", report_path))
        rows = records_rows_estimate(records)
        check_memory("RECORDS", records, rows * DISTILL_BYTES_PER_ROUND, memory_limit_gb, f"distilling {rows} rounds")
        with Progress("diqkd distill", f"about {rows} rounds: sifting, parameter estimation, LDPC error correction "
                      f"({decoder} decoder), verification, privacy amplification", progress_wanted(progress)):
            res = distill_file(records, key_out, report_out=report, method=method, eps_sec=eps_sec, tag_bits=tag_bits,
                               efficiency=efficiency, decoder=decoder, seed=seed, force=force)
        summary = {k: res.report.get(k) for k in SUMMARY_KEYS}
        if json_out:
            print_json(summary)
        else:
            quantity_table("DI-QKD distillation", summary)
        if res.report.get("insecure"):
            typer.echo("warning: seeded run: the key is INSECURE (rebuilt by anyone with the records and the seed); "
                       "for tests only", err=True)
        if res.aborted:
            typer.echo(f"aborted: {res.report['abort_reason']}", err=True)
            raise typer.Exit(1)
