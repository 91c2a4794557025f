"""Exception types shared by every layer.

Every error a user can cause derives from :class:`QRepeaterError`; the CLI prints its message on one
line and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class QRepeaterError(Exception):
    """Base class of all errors caused by user input or data."""


class ParameterError(QRepeaterError, ValueError):
    """A parameter is outside its allowed range.

    The message names the field, the value and the allowed range.
    """

    def __init__(self, field: str, value: object, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r} is out of range; allowed: {allowed}")


class ConfigError(QRepeaterError, ValueError):
    """A configuration file or override is malformed (unknown key, bad TOML, wrong type)."""


class RecordsError(QRepeaterError, ValueError):
    """A round-records file is malformed; the message names the first bad row and column."""


def check_range(
    field: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` or raise :class:`ParameterError` naming ``field`` and the allowed range."""
    ok = True
    if low is not None:
        ok &= value >= low if low_inclusive else value > low
    if high is not None:
        ok &= value <= high if high_inclusive else value < high
    if value != value:  # NaN
        ok = False
    if not ok:
        lo = "-inf" if low is None else repr(low)
        hi = "inf" if high is None else repr(high)
        allowed = ("[" if low_inclusive else "(") + f"{lo}, {hi}" + ("]" if high_inclusive else ")")
        raise ParameterError(field, value, allowed)
    return value


class InterruptedRun(Exception):
    """A long command was interrupted (Ctrl-C): the message says what was kept and how to resume.

    Not a :class:`QRepeaterError` (nothing the user typed was wrong, and code that records user
    errors per item, such as a sweep point, must not swallow it); the CLI prints it on one line and
    exits 130, the shell's code for SIGINT.
    """
