"""The ``qrepeater`` command-line interface (typer)."""

from __future__ import annotations

import sys

try:  # the imports take ~0.2 s: Ctrl-C while the command line starts is one line too, not a traceback
    import typer

    from ..errors import QRepeaterError
    from ..version import __version__
    from . import chain, diqkd, link, network, reproduce, requirements, sweep
    from .common import OneLineGroup, one_line
except KeyboardInterrupt:
    sys.stderr.write("interrupted: nothing was run (Ctrl-C while qrepeater was starting)\n")
    raise SystemExit(130) from None

app = typer.Typer(
    name="qrepeater",
    help="From the hardware numbers of a memory-based quantum network to rates, fidelities, repeater "
    "chains and DI-QKD keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=OneLineGroup,
)

# Command families, each a module of qrepeater.cli with register(app); the order is the help order.
COMMAND_MODULES = (link, reproduce, chain, diqkd, network, sweep, requirements)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"qrepeater {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version."),
) -> None:
    """qrepeater command-line interface."""


for _module in COMMAND_MODULES:
    _module.register(app)


def run() -> None:
    """Console-script entry point: user errors never show a traceback."""
    try:
        app()
    except QRepeaterError as exc:  # a command without its own handler
        typer.echo(f"error: {one_line(str(exc))}", err=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # Ctrl-C while typer builds the command line, before any command runs
        typer.echo("interrupted: nothing was run; run the command again", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":  # pragma: no cover
    run()
