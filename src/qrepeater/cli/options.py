"""Options shared by several commands, defined once so that they read and behave the same everywhere
(``tests/test_cli_consistency.py`` checks it), and the titles of result tables.

* ``--pairs``: delivered pairs a Monte Carlo or event-engine evaluation samples, one default
  (:data:`PAIRS_DEFAULT`, the studies' engine-option default) for ``chain``, ``sensitivity`` and
  ``requirements``; ``network --pairs`` counts the same pairs per consumer.
* ``--seed``: an integer in [0, 2**128); omitted, fresh entropy from the OS — a command that
  reports its run then reports the seed it drew, so every run can be repeated.
* ``--engine``: the engines a command accepts, always named and described in the same order
  (:data:`ENGINES`), and refused in one line by :func:`check_engine`.
* :func:`run_title`: what was run — the scenario, every ``--set`` override and the distance.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import typer

from ..errors import ParameterError
from ..studies.point import ENGINE_OPTIONS
from .common import count, seed_value

#: default --pairs of every command that samples pairs (studies.point's engine-option default)
PAIRS_DEFAULT: int = ENGINE_OPTIONS["pairs"][1]

#: every engine a command may offer, in the order they are listed, with what it computes
ENGINES: dict[str, str] = {
    "link": "one elementary link (no chain)",
    "exact": "waiting-time recursion of a nested chain",
    "montecarlo": "sampled chain",
    "events": "discrete-event simulation",
}

SEED_HELP = "Random seed, an integer in [0, 2**128): the same seed gives the same result (default: fresh OS entropy)."


def pairs_option() -> typer.models.OptionInfo:
    """``--pairs`` of a command whose Monte Carlo / event engine samples delivered pairs."""
    return typer.Option(PAIRS_DEFAULT, "--pairs", parser=count,
                        help="Delivered pairs each Monte Carlo / event-engine evaluation samples (1e6 works).")


def seed_option(extra: str = "") -> typer.models.OptionInfo:
    """``--seed`` (optional; ``extra`` appends a command's own warning)."""
    return typer.Option(None, "--seed", parser=seed_value, help=SEED_HELP + (f" {extra}" if extra else ""))


def engine_help(choices: Sequence[str]) -> str:
    """Help of an ``--engine`` option accepting ``choices`` (listed in :data:`ENGINES` order)."""
    ordered = [e for e in ENGINES if e in choices]
    return "Engine: " + "; ".join(f"{e} ({ENGINES[e]})" for e in ordered) + "."


def engine_option(default: str, choices: Sequence[str]) -> typer.models.OptionInfo:
    """``--engine`` with ``default`` among ``choices``."""
    return typer.Option(default, "--engine", help=engine_help(choices))


def check_engine(engine: str, choices: Iterable[str]) -> str:
    """``engine`` if it is one of ``choices``, else the one-line error every command gives."""
    ordered = [e for e in ENGINES if e in set(choices)]
    if engine not in ordered:
        raise ParameterError("--engine", engine, ", ".join(ordered))
    return engine


def fresh_seed(seed: int | None) -> int:
    """``seed``, or a fresh one from the OS (reported by the command so that the run can be repeated)."""
    if seed is not None:
        return seed
    import secrets

    return secrets.randbits(63)  # short enough to read and retype


def run_title(command: str, scenario, overrides: Iterable[str] | None = None, **settings) -> str:
    """Title of a result table: ``command: scenario`` plus every ``--set`` override and setting given,
    e.g. ``link: ustc2026, link.excitation_probability=0.025, 25 km``."""
    parts = [str(getattr(scenario, "name", scenario))]
    parts += [o.strip() for o in (overrides or [])]
    for key, value in settings.items():
        if value is None:
            continue
        parts.append(f"{value:g} km" if key == "distance_km" else f"{key.replace('_', ' ')} {value}")
    return f"{command}: " + ", ".join(parts)


__all__ = ["ENGINES", "PAIRS_DEFAULT", "SEED_HELP", "check_engine", "engine_help", "engine_option", "fresh_seed",
           "pairs_option", "run_title", "seed_option"]
