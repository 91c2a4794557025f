"""Shared CLI plumbing: one-line errors, checked option values, JSON output, scenario options.

Every failure a user can cause ends with exit code 2 and one line ``error: ...`` on stderr naming
the input, the value and what is allowed:

* option parsing (unknown option, missing value, not a number) — :class:`OneLineGroup`, the app's
  click group class, prints click's usage errors on one line (also under ``typer.testing.CliRunner``);
* numbers: :func:`finite_float`, :func:`count` and :func:`seed_value` are option parsers that refuse
  NaN, inf, booleans-as-numbers and negative seeds before a command runs;
* everything a command raises underneath — :func:`handle_errors` turns :class:`QRepeaterError`,
  I/O errors (read-only folder, a folder where a file is expected), undecodable text,
  ``MemoryError`` and ``ArithmeticError`` into one line; Ctrl-C becomes one line saying what was kept and how to resume
  (exit 130).
"""

from __future__ import annotations

import errno
import functools
import json
import math
import sys
from typing import Any, Callable, List, Optional

import numpy as np
import typer
from typer.core import TyperGroup

from ..errors import InterruptedRun, QRepeaterError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's code for a process ended by SIGINT

# click's exception classes, reached through typer's public BadParameter (typer vendors click)
_UsageError = typer.BadParameter.__mro__[1]
_ClickException = typer.BadParameter.__mro__[2]

PresetOption = typer.Option(None, "--preset", "-p", help="Built-in preset (see `qrepeater presets`).")
ConfigOption = typer.Option(None, "--config", "-c", help="Scenario TOML file.")
SetOption = typer.Option(None, "--set", help="Override a parameter: dotted.path=value (repeatable).")
JsonOption = typer.Option(False, "--json", help="Print one JSON object instead of a table.")


def fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    """Print ``error: message`` on one line to stderr and exit with ``code``."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def one_line(message: str) -> str:
    """``message`` with its line breaks folded (an error is always one line)."""
    return " ".join(str(message).split())


# ------------------------------------------------------------------------------------------------
# option parsers (typer ``parser=``): values are checked before the command runs
# ------------------------------------------------------------------------------------------------


def _number_text(value: Any) -> float:
    if isinstance(value, bool):
        raise typer.BadParameter(f"{value!r} is a boolean; allowed: a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number") from None


def finite_float(value: Any) -> float:
    """Parser of a real-valued option: a finite number (NaN and ±inf are refused)."""
    v = _number_text(value)
    if not math.isfinite(v):
        raise typer.BadParameter(f"{value!r} is out of range; allowed: a finite number")
    return v


#: largest count an option takes (pairs, rounds, limits): far beyond any work limit, and small enough
#: that every estimate computed from it stays a finite float (a 401-digit --pairs overflowed one)
MAX_COUNT = 10**18


def count(value: Any) -> int:
    """Parser of a count (pairs, rounds, ...): an integer in [1, 10**18], also written as ``1e6``."""
    if isinstance(value, int) and not isinstance(value, bool):
        v = value
    else:
        text = str(value).strip()
        try:
            v = int(text)
        except ValueError:
            f = _number_text(value)
            if not (math.isfinite(f) and f == int(f)):
                raise typer.BadParameter(f"{value!r} is not an integer; allowed: an integer in [1, 1e18]") from None
            v = int(f)
    if not 1 <= v <= MAX_COUNT:
        raise typer.BadParameter(f"{value!r} is out of range; allowed: an integer in [1, 1e18]")
    return v


#: seeds are non-negative integers below 2**128 (numpy's SeedSequence takes any non-negative int;
#: the bound keeps a seed printable and storable)
MAX_SEED = 2**128 - 1


def seed_value(value: Any) -> int:
    """Parser of a ``--seed``: an integer in [0, 2**128)."""
    if isinstance(value, int) and not isinstance(value, bool):
        v = value
    else:
        try:
            v = int(str(value).strip())
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not an integer; allowed: an integer in [0, 2**128)") from None
    if not 0 <= v <= MAX_SEED:
        raise typer.BadParameter(f"{value!r} is out of range; allowed: an integer in [0, 2**128)")
    return v


def positive_float(value: Any) -> float:
    """Parser of a strictly positive finite number."""
    v = finite_float(value)
    if not v > 0:
        raise typer.BadParameter(f"{value!r} is out of range; allowed: a finite number > 0")
    return v


# ------------------------------------------------------------------------------------------------
# one error path
# ------------------------------------------------------------------------------------------------


def _usage_message(exc) -> str:
    """One line for a click usage error, with the offending value when click/typer kept it."""
    if type(exc).__name__ == "NoArgsIsHelpError":
        return ""
    msg = exc.format_message()
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):  # typer coerces with pydantic: the raw input is in the validation error
        try:
            raw = errors()[0].get("input")
        except Exception:  # noqa: BLE001 - only decoration of an error message
            raw = None
        if raw is not None and repr(raw) not in msg:
            msg = f"{msg} (got {raw!r})"
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return one_line(msg) + where


def show_flags_as_flags(command) -> None:
    """In the help of ``command`` and its subcommands, boolean flags (``--json``, ``--help``,
    ``--progress/--no-progress``) show no value type: typer labels them ``<bool>``, which reads as
    ``--json true`` (an error)."""
    for param in list(getattr(command, "params", [])) + [_help_option(command)]:
        if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        show_flags_as_flags(sub)


def _help_option(command):
    try:
        return command.get_help_option(typer.Context(command))
    except Exception:  # noqa: BLE001 - only the look of the help text is at stake
        return None


class OneLineGroup(TyperGroup):
    """The app's click group: usage errors (bad option values, unknown options, missing arguments)
    print one line ``error: ...`` and exit 2 instead of click's multi-line box; Ctrl-C outside a
    command's own handler prints one line and exits 130. Boolean flags show as flags in the help
    (:func:`show_flags_as_flags`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        show_flags_as_flags(self)

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:  # Ctrl-C while the options are read
            _interrupted("nothing was run; run the command again")

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C outside a command's own handler (handle_errors)
            _interrupted("stopped before the command finished; run it again")

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _UsageError as exc:
            text = _usage_message(exc)
            if not text:  # a group called without a command: its help, as click does
                exc.show()
                sys.exit(exc.exit_code)
            typer.echo(f"error: {text}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except _ClickException as exc:
            typer.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _interrupted(what: str) -> None:
    typer.echo(f"interrupted: {one_line(what)}", err=True)
    raise typer.Exit(EXIT_INTERRUPTED)


def _os_error_line(exc: OSError) -> str:
    name = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or type(exc).__name__
    hint = {
        errno.EACCES: "allowed: a location this user may read/write",
        errno.EPERM: "allowed: a location this user may read/write",
        errno.EROFS: "allowed: a location on a writable file system",
        errno.EISDIR: "allowed: a file name, not a folder",
        errno.ENOTDIR: "allowed: a path whose parents are folders",
        errno.EEXIST: "allowed: a name that does not exist yet",
        errno.ENOSPC: "allowed: a file system with free space",
        errno.ENOENT: "allowed: an existing file",
        errno.ENAMETOOLONG: "allowed: a shorter name",
    }.get(exc.errno, "allowed: a readable input and a writable output location")
    return f"{name}: {reason}; {hint}"


def handle_errors(func: Callable | None = None, *, interrupted: str = "nothing was written; run the command again") -> Callable:
    """Decorator of a command: every error a user can cause becomes one line and exit 2.

    * :class:`QRepeaterError` (ParameterError, ConfigError, RecordsError): its message;
    * ``OSError`` (read-only folder, a folder given as a file, an existing name, a full disk): the
      file, the reason and what is allowed;
    * ``UnicodeDecodeError``: a binary file where text is expected;
    * ``MemoryError``: the request does not fit in memory;
    * ``ArithmeticError`` (overflow, division by zero): a value out of the computation's range (a
      fallback: the option parsers and the scenario schema refuse such values by name first);
    * Ctrl-C: ``interrupted: <what was kept / how to resume>`` and exit 130 (:class:`InterruptedRun`
      carries a command's own message, e.g. a sweep's ``--resume`` hint).

    Use as ``@handle_errors`` or ``@handle_errors(interrupted="...")``.
    """
    if func is None:
        return functools.partial(handle_errors, interrupted=interrupted)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, _ClickException):
            raise
        except QRepeaterError as exc:
            fail(str(exc))
        except InterruptedRun as exc:
            _interrupted(str(exc))
        except KeyboardInterrupt:
            _interrupted(interrupted)
        except UnicodeDecodeError as exc:
            fail(f"an input file is not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}); "
                 "allowed: a UTF-8 text file")
        except OSError as exc:
            fail(_os_error_line(exc))
        except MemoryError:
            fail("the request does not fit in memory; allowed: a smaller request (fewer pairs, rounds or points)")
        except ArithmeticError as exc:  # e.g. an integer option too large for a float (diqkd rate --rounds 1e400)
            fail(f"a value is out of the range this computation handles ({type(exc).__name__}: {exc}); "
                 "allowed: smaller values (each option's range is in --help)")

    return wrapper


# ------------------------------------------------------------------------------------------------
# output
# ------------------------------------------------------------------------------------------------


def _json_default(obj: Any):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def print_json(data: dict) -> None:
    """Print one JSON object (NaN/inf become null)."""
    sys.stdout.write(json.dumps(_clean(data), default=_json_default, indent=2) + "\n")


def quantity_table(title: str, rows: dict) -> None:
    """Print a two-column (quantity, value) rich table; floats with 6 significant digits."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, (list, tuple)):
            v = ", ".join(f"{u:.6g}" if isinstance(u, float) else str(u) for u in v)
        table.add_row(k, "" if v is None else str(v))
    from .tables import print_table

    print_table(table)


def build_from_options(preset: Optional[str], config: Optional[str], overrides: Optional[List[str]]):
    """Scenario from the common --preset/--config/--set options."""
    from ..config import build_scenario

    if config is not None:
        from .paths import input_file

        input_file("--config", config, "scenario TOML file", text=True)
    return build_scenario(preset, config, list(overrides or []))
