"""`qrepeater diqkd rate`: DI-QKD key rates; ``simulate`` and ``distill`` (round records, key files)
live in :mod:`qrepeater.cli.diqkd_keys` and are registered into the same ``diqkd`` group.

Exit codes: 0 success; 2 user error (one line on stderr).
"""

from __future__ import annotations

from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ParameterError
from .common import (
    ConfigOption,
    JsonOption,
    PresetOption,
    SetOption,
    build_from_options,
    handle_errors,
    print_json,
)

METHODS = ("pironio", "noisy-preprocessing", "eat", "complementarity")
FINITE_METHODS = ("complementarity",)


def _table(title: str, rows: dict) -> None:
    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, (list, tuple)):
            v = ", ".join(f"{u:.6g}" if isinstance(u, float) else str(u) for u in v)
        table.add_row(k, "" if v is None else str(v))
    Console().print(table)


def register(app: typer.Typer) -> None:
    diqkd = typer.Typer(help="Device-independent QKD: key rates, simulated rounds, post-processing.", no_args_is_help=True)
    app.add_typer(diqkd, name="diqkd")

    @diqkd.command("rate")
    @handle_errors
    def rate(
        chsh: float = typer.Option(..., "--chsh", help="CHSH value S."),
        qber: float = typer.Option(..., "--qber", help="Quantum bit error rate of the key rounds."),
        rounds: Optional[int] = typer.Option(None, "--rounds", help="Number of rounds, for the finite-size key."),
        method: str = typer.Option("complementarity", "--method", help="pironio | noisy-preprocessing | eat | complementarity"),
        json_out: bool = JsonOption,
    ) -> None:
        """Asymptotic key rate per round and, with --rounds, the finite-size key length."""
        from ..qkd.finite_size import qkd_rate_summary

        if method not in METHODS:
            raise ParameterError("method", method, " | ".join(METHODS))
        if rounds is not None and rounds < 1:
            raise ParameterError("rounds", rounds, ">= 1")
        out = qkd_rate_summary(chsh, qber, rounds=rounds, method=method)
        if json_out:
            print_json(out)
        else:
            _table("DI-QKD key rate", out)

    from . import diqkd_keys

    diqkd_keys.register(diqkd)
