"""Bounded work: estimate a request's memory and work before running it, refuse with one line.

Each command estimates from its request (pairs × segments, rounds, simulated duration × herald rate,
grid points) how much memory and work it needs; above the limit it stops before allocating anything,
with one line naming the option, its value, the estimate and the option that lifts the limit
(``--memory-limit-gb`` for memory; ``--max-samples``, ``--max-events``, ``--max-points`` for work).
The default memory limit is :data:`MEMORY_FRACTION` of the memory available when the command starts.
"""

from __future__ import annotations

import os

import typer

from ..errors import ParameterError
from .common import positive_float

#: share of the currently available memory a command may plan to use by default
MEMORY_FRACTION = 0.8

MemoryLimitOption = typer.Option(
    None, "--memory-limit-gb", parser=positive_float,
    help=f"Refuse requests estimated to need more memory than this (GB; default {MEMORY_FRACTION:.0%} of the memory available now).",
)


def available_memory_bytes() -> int:
    """Memory available to a new allocation now: ``MemAvailable`` of /proc/meminfo (Linux), else free pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))


def memory_limit_bytes(limit_gb: float | None) -> int:
    """``limit_gb`` in bytes, or the default share of the available memory."""
    if limit_gb is not None:
        return int(limit_gb * 1e9)
    return int(MEMORY_FRACTION * available_memory_bytes())


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def check_memory(option: str, value, need_bytes: float, limit_gb: float | None, what: str) -> None:
    """Refuse (ParameterError on ``option``) when ``need_bytes`` is above the memory limit."""
    limit = memory_limit_bytes(limit_gb)
    if need_bytes > limit:
        source = "--memory-limit-gb" if limit_gb is not None else f"{MEMORY_FRACTION:.0%} of the available memory"
        raise ParameterError(
            option, value,
            f"a request that fits in {_gb(limit)} ({source}); {what} needs about {_gb(need_bytes)}: ask for less, "
            "or raise --memory-limit-gb to try anyway",
        )


def check_work(option: str, value, need: float, limit: float, limit_option: str, unit: str) -> None:
    """Refuse (ParameterError on ``option``) when the estimated work ``need`` is above ``limit``."""
    if need > limit:
        raise ParameterError(
            option, value,
            f"a request within {limit_option} {limit:.3g} {unit} (this one needs about {need:.3g}); ask for less, "
            f"or raise {limit_option} to run it",
        )


#: longest chain given to the exact engine: its memory grows with the number of segments (measured
#: with /usr/bin/time, ustc2026 at 100 km, nested, BBPSSW purification: 1.6 GB at 64 segments, 2.1 GB
#: at 256, 5.3 GB at 1024, over 20 GB at 4096 — the machine ran out)
EXACT_MAX_SEGMENTS = 256


def check_exact_segments(option: str, segments: int) -> None:
    """Refuse a chain too long for the exact engine's memory (ParameterError on ``option``)."""
    if int(segments) > EXACT_MAX_SEGMENTS:
        raise ParameterError(
            option, segments,
            f"at most {EXACT_MAX_SEGMENTS} segments on the exact engine (its memory grows with the chain: over "
            "20 GB at 4096 segments with purification); use --engine montecarlo for a longer chain",
        )
