"""`qrepeater diqkd simulate | distill`: simulated round records and their post-processing into a key.

Registered into the ``diqkd`` group by :mod:`qrepeater.cli.diqkd`.

Exit codes: 0 success; 1 the protocol aborted (no key file written); 2 user error (one line on stderr).
Key bits are never printed: ``distill`` prints the report (statistics, leakage, key length, seeds'
digests), the key goes only to the 0600 key file.
"""

from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import ParameterError
from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    handle_errors,
    print_json,
    quantity_table,
)

FINITE_METHODS = ("complementarity",)

# report keys shown on stdout by `distill` (the full report, with the public hash seeds, is the JSON file)
SUMMARY_KEYS = (
    "rounds", "test_rounds", "key_rounds", "chsh", "chsh_stderr", "chsh_ci95", "qber", "qber_stderr",
    "qber_ci95_wilson", "method", "eps_sec", "eps_cor", "ec_leakage_bits", "ec_syndrome_bits", "ec_efficiency",
    "ec_frames", "ec_failed_frames", "ec_code_rate", "reconciled_bits", "key_bits", "aborted", "abort_reason",
    "toeplitz_seed_bits", "toeplitz_seed_sha256", "randomness", "seed", "key_file", "report_file",
)


def register(diqkd: typer.Typer) -> None:
    @diqkd.command("simulate")
    @handle_errors
    def simulate(
        rounds: int = typer.Option(..., "--rounds", help="Number of heralded rounds."),
        seed: int = typer.Option(..., "--seed", help="Seed of the simulation (reproducible)."),
        out: str = typer.Option(..., "--out", help="Records file to write (.parquet, .pq or .csv)."),
        preset: Optional[str] = PresetOption,
        config: Optional[str] = ConfigOption,
        overrides: Optional[List[str]] = SetOption,
        test_probability: float = typer.Option(0.5, "--test-probability", help="Probability of a test round."),
        json_out: bool = JsonOption,
    ) -> None:
        """Simulate DI-QKD round records from a scenario's heralded state."""
        from ..builders import qkd_source
        from ..qkd.records import records_format, write_records
        from ..qkd.simulate import simulate_records

        records_format(out)  # fail early on a bad suffix
        if preset is None and config is None:
            raise ParameterError("--preset/--config", None, "a preset name or a scenario file")
        scenario = build_from_options(preset, config, overrides)
        src = qkd_source(scenario)
        table, info = simulate_records(
            src.state, rounds, seed, test_probability=test_probability,
            readout_error=src.readout_error, round_rate_hz=src.round_rate_hz,
        )
        write_records(table, out)
        result = info.as_dict()
        result["out"] = out
        if json_out:
            print_json(result)
        else:
            quantity_table("simulated DI-QKD rounds", result)

    @diqkd.command("distill")
    @handle_errors
    def distill(
        records: str = typer.Argument(..., help="Round-records file (.parquet, .pq or .csv)."),
        key_out: str = typer.Option(..., "--key-out", help="Key file to write (mode 0600) if a key is produced."),
        report: Optional[str] = typer.Option(None, "--report", help="JSON report file (default: KEY_OUT.json)."),
        method: str = typer.Option("complementarity", "--method", help="Finite-size analysis (complementarity)"),
        eps_sec: Optional[float] = typer.Option(None, "--eps-sec", help="Secrecy parameter (default of the analysis)."),
        tag_bits: int = typer.Option(64, "--tag-bits", help="Verification hash length (eps_cor = 2^-tag_bits)."),
        efficiency: Optional[float] = typer.Option(None, "--efficiency", help="Target reconciliation efficiency f."),
        decoder: str = typer.Option("compiled", "--decoder",
                                    help="BP decoder: compiled (layered, fast) or ldpc (the ldpc package's BpDecoder)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed all protocol randomness (TESTING ONLY; default: OS)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Sift, estimate, error-correct, verify and privacy-amplify round records into a key."""
        from ..qkd.distill import distill_file

        if method not in FINITE_METHODS:
            raise ParameterError("method", method, " | ".join(FINITE_METHODS))
        res = distill_file(records, key_out, report_out=report, method=method, eps_sec=eps_sec, tag_bits=tag_bits,
                           efficiency=efficiency, decoder=decoder, seed=seed)
        summary = {k: res.report.get(k) for k in SUMMARY_KEYS}
        if json_out:
            print_json(summary)
        else:
            quantity_table("DI-QKD distillation", summary)
        if res.aborted:
            typer.echo(f"aborted: {res.report['abort_reason']}", err=True)
            raise typer.Exit(1)
