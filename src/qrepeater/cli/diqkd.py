"""`qrepeater diqkd rate | methods | plan`: DI-QKD security analyses and run planning; ``simulate`` and
``distill`` (round records, key files) live in :mod:`qrepeater.cli.diqkd_keys` and are registered into
the same ``diqkd`` group.

Exit codes: 0 success; 2 user error (one line on stderr).
"""

from __future__ import annotations

import typer

from ..errors import ParameterError
from .common import JsonOption, count, handle_errors, positive_float, print_json, quantity_table

_EPS_HELP = {
    "eps_sec": "Secrecy parameter eps_sec.",
    "eps_cor": "Correctness parameter eps_cor (verification hash).",
    "eps_pe": "Parameter-estimation error eps_PE (default: the method's share of eps_sec).",
    "eps_pa": "Privacy-amplification error eps_PA (default: the method's share of eps_sec).",
    "eps_com": "Completeness error of the acceptance test (sets the margin below the expected CHSH score).",
}


def _methods_table(rows: dict, rounds: int) -> None:
    """The finite key under every method side by side: one column per method (``finite_keys`` rows).

    The method names are the column headers and are never cut: when the methods do not fit the
    terminal side by side, they are shown in several tables of as many methods as fit."""
    from rich.console import Console
    from rich.table import Table

    from .tables import print_table

    keys = ("key_bits", "test_fraction", "ec_leakage_bits", "eps_sec", "eps_cor", "eps_pe", "eps_pa", "eps_smooth",
            "eps_com", "reason")
    console = Console()
    room = console.width - (max(len(k) for k in keys) + 3)
    groups: list[list[str]] = [[]]
    used = 0
    for name in rows:
        need = max(len(name), 12) + 3
        if groups[-1] and used + need > room:
            groups.append([])
            used = 0
        groups[-1].append(name)
        used += need
    for i, names in enumerate(groups, 1):
        part = f" ({i}/{len(groups)})" if len(groups) > 1 else ""
        table = Table(title=f"finite-size key at {rounds} rounds, per method{part}")
        table.add_column("quantity")
        for name in names:
            table.add_column(name, justify="right", overflow="fold", min_width=len(name))
        for key in keys:
            cells = [("n/a" if key == "key_bits" and rows[name].get("applicable") is False else rows[name].get(key))
                     for name in names]
            table.add_row(key, *("" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v) for v in cells))
        print_table(table, console)


def register(app: typer.Typer) -> None:
    diqkd = typer.Typer(help="Device-independent QKD: key rates, planning, simulated rounds, post-processing.",
                        no_args_is_help=True)
    app.add_typer(diqkd, name="diqkd")

    @diqkd.command("methods")
    @handle_errors
    def methods(json_out: bool = JsonOption) -> None:
        """The security analyses: name, kind (asymptotic | finite), attacks, source."""
        from rich.table import Table

        from ..qkd.methods import ALIASES, method_table

        rows = method_table()
        if json_out:
            print_json(rows)
            return
        table = Table(title="DI-QKD security analyses")
        for col in ("name", "kind", "attacks", "source"):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(row["name"], row["kind"], row["attacks"], row["source"])
        from .tables import print_table

        print_table(table)
        for old, new in ALIASES.items():
            typer.echo(f"alias: {old} -> {new}")

    @diqkd.command("rate")
    @handle_errors
    def rate(
        chsh: float = typer.Option(..., "--chsh", help="Observed CHSH value S."),
        qber: float = typer.Option(..., "--qber", help="Observed QBER of the key rounds."),
        rounds: int | None = typer.Option(None, "--rounds", parser=count, help="Number of rounds, for the finite-size key."),
        method: str = typer.Option("pironio", "--method", help="See `qrepeater diqkd methods` (default: pironio)."),
        ec_efficiency: float = typer.Option(1.1, "--ec-efficiency", help="Error-correction efficiency f >= 1."),
        ec_leakage_bits: float | None = typer.Option(None, "--ec-leakage-bits",
                                                        help="Actual error-correction leakage in bits (overrides f)."),
        eps_sec: float = typer.Option(1e-10, "--eps-sec", help=_EPS_HELP["eps_sec"]),
        eps_cor: float = typer.Option(1e-10, "--eps-cor", help=_EPS_HELP["eps_cor"]),
        eps_pe: float | None = typer.Option(None, "--eps-pe", help=_EPS_HELP["eps_pe"]),
        eps_pa: float | None = typer.Option(None, "--eps-pa", help=_EPS_HELP["eps_pa"]),
        eps_com: float = typer.Option(1e-2, "--eps-com", help=_EPS_HELP["eps_com"]),
        test_fraction: float | None = typer.Option(None, "--test-fraction",
                                                      help="Test-round probability (optimised if unset)."),
        test_rounds: int | None = typer.Option(None, "--test-rounds", help="Observed number of test rounds."),
        key_rounds: int | None = typer.Option(None, "--key-rounds",
                                                 help="Observed number of key rounds (collective-aep, complementarity only)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Asymptotic rate per key round and, with --rounds, the finite-size key under every method."""
        from ..qkd.finite_size import qkd_rate_summary

        if rounds is not None and rounds < 1:
            raise ParameterError("rounds", rounds, ">= 1")
        kw = {"eps_sec": eps_sec, "eps_cor": eps_cor, "eps_pe": eps_pe, "eps_pa": eps_pa, "eps_com": eps_com,
              "ec_efficiency": ec_efficiency, "ec_leakage_bits": ec_leakage_bits, "test_fraction": test_fraction}
        if test_rounds is not None or key_rounds is not None:
            if rounds is None:
                raise ParameterError("--test-rounds/--key-rounds", (test_rounds, key_rounds), "only with --rounds")
            kw.update(test_rounds=test_rounds, key_rounds=key_rounds)
        out = qkd_rate_summary(chsh, qber, rounds=rounds, method=method, **kw)
        if json_out:
            print_json(out)
            return
        quantity_table("DI-QKD key rate", {k: v for k, v in out.items() if k != "finite_keys"})
        if out["finite_keys"]:
            _methods_table(out["finite_keys"], rounds)

    @diqkd.command("plan")
    @handle_errors
    def plan(
        chsh: float = typer.Option(..., "--chsh", help="Expected CHSH value S."),
        qber: float = typer.Option(..., "--qber", help="Expected QBER of the key rounds."),
        target_bits: float = typer.Option(..., "--target-bits", parser=positive_float, help="Key length wanted, in bits."),
        method: str = typer.Option("nadlinger2022", "--method",
                                   help="Finite-size method (see `qrepeater diqkd methods`; default nadlinger2022)."),
        round_rate_hz: float | None = typer.Option(
            None, "--round-rate-hz", help="Rounds per second (default: the USTC 2026 run, 405,145 rounds / 386.1 h)."),
        ec_efficiency: float = typer.Option(1.1, "--ec-efficiency", help="Error-correction efficiency f >= 1."),
        eps_sec: float = typer.Option(1e-10, "--eps-sec", help=_EPS_HELP["eps_sec"]),
        eps_cor: float = typer.Option(1e-10, "--eps-cor", help=_EPS_HELP["eps_cor"]),
        eps_pe: float | None = typer.Option(None, "--eps-pe", help=_EPS_HELP["eps_pe"]),
        eps_pa: float | None = typer.Option(None, "--eps-pa", help=_EPS_HELP["eps_pa"]),
        eps_com: float = typer.Option(1e-2, "--eps-com", help=_EPS_HELP["eps_com"]),
        test_fraction: float | None = typer.Option(None, "--test-fraction",
                                                      help="Test-round probability (optimised if unset)."),
        json_out: bool = JsonOption,
    ) -> None:
        """Rounds (and hours at a round rate) a finite-size method needs for a target key length."""
        from ..qkd.planning import USTC2026_ROUND_RATE_HZ, plan_rounds

        out = plan_rounds(chsh, qber, target_bits, method=method,
                          round_rate_hz=USTC2026_ROUND_RATE_HZ if round_rate_hz is None else round_rate_hz,
                          eps_sec=eps_sec, eps_cor=eps_cor, eps_pe=eps_pe, eps_pa=eps_pa, eps_com=eps_com,
                          test_fraction=test_fraction, ec_efficiency=ec_efficiency)
        if json_out:
            print_json(out)
        else:
            quantity_table("DI-QKD run plan", out)

    from . import diqkd_keys

    diqkd_keys.register(diqkd)
