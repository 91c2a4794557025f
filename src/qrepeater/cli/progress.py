"""Progress of long commands, on stderr only (stdout carries the result: a table or ``--json``).

Every command that can run for more than a couple of seconds (``sweep``, ``chain``, ``network``,
``reproduce``, ``calibrate``, ``requirements``, ``sensitivity``, ``diqkd simulate``/``distill``) takes
``--progress/--no-progress`` (:data:`ProgressOption`; default: on when stderr is a terminal) and wraps
its work in :class:`Progress`:

* on a terminal: a rich spinner (or bar, when the number of steps is known) saying what is being done,
  with the elapsed time; it disappears when the command ends;
* elsewhere (``--progress`` into a pipe, a log file, CI): one plain line when the work starts, one per
  step (at most one per :data:`STEP_LINE_INTERVAL_S`, and always the last), a ``still running`` line
  every :data:`HEARTBEAT_S` while a single step lasts (a first-use numba compilation, a long engine
  run), and ``done in X s`` at the end. A failure prints no ``done`` line: the one-line error follows.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Optional

import typer

ProgressOption = typer.Option(
    None, "--progress/--no-progress",
    help="Progress on stderr (default: when stderr is a terminal); stdout carries only the result.",
)

#: seconds between "still running" lines when not on a terminal
HEARTBEAT_S = 10.0
#: at most one step line per this many seconds when not on a terminal (the last step always prints)
STEP_LINE_INTERVAL_S = 1.0


def progress_wanted(option: Optional[bool]) -> bool:
    """``--progress/--no-progress`` as given, else whether stderr is a terminal."""
    if option is not None:
        return bool(option)
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Progress of one command's work on stderr (see the module docstring).

    Parameters
    ----------
    command : str
        What the lines start with, e.g. ``"chain --optimize"``.
    what : str
        What is being done, e.g. ``"Monte Carlo engine, 10000 pairs"``.
    enabled : bool
        Show anything at all (:func:`progress_wanted`).
    total : int, optional
        Number of steps, when known (a bar on a terminal, ``[i/total]`` in lines).
    """

    def __init__(self, command: str, what: str, enabled: bool, total: int | None = None):
        self.command, self.what, self.enabled, self.total = command, what, bool(enabled), total
        self.done = 0
        self._t0 = time.perf_counter()
        self._rich = None
        self._task = None
        self._stream = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_line = -1e9
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Progress":
        self._t0 = time.perf_counter()
        if not self.enabled:
            return self
        if _stderr_is_terminal():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None:
                columns += [BarColumn(), MofNCompleteColumn()]
            columns.append(TimeElapsedColumn())
            self._rich = RichProgress(*columns, console=Console(stderr=True), transient=True)
            self._task = self._rich.add_task(f"{self.command}: {self.what}", total=self.total)
            self._rich.start()
        else:
            self._stream = sys.stderr
            self._line(f"{self.what} ..." + (f" ({self.total} steps)" if self.total else ""))
            self._thread = threading.Thread(target=self._heartbeat, name="qrepeater-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._rich is not None:
            self._rich.stop()
        elif self.enabled and exc_type is None:
            self._line(f"done in {time.perf_counter() - self._t0:.1f} s")

    # ------------------------------------------------------------------ reporting
    def step(self, text: str = "", advance: int = 1) -> None:
        """One more step done (``advance`` of them), ``text`` saying which or what comes next."""
        self.done += advance
        if not self.enabled:
            return
        if self._rich is not None:
            desc = f"{self.command}: {text}" if text else f"{self.command}: {self.what}"
            self._rich.update(self._task, advance=advance, description=desc)
            return
        now = time.perf_counter()
        last = self.total is not None and self.done >= self.total
        if last or now - self._last_line >= STEP_LINE_INTERVAL_S:
            count = f"[{self.done}/{self.total}] " if self.total is not None else ""
            self._line(f"{count}{text}".rstrip())

    def status(self, text: str) -> None:
        """Say what is happening now, without counting a step (always a line when not on a terminal)."""
        if not self.enabled:
            return
        self.what = text
        if self._rich is not None:
            self._rich.update(self._task, description=f"{self.command}: {text}")
        else:
            self._line(text)

    # ------------------------------------------------------------------ plain lines
    def _line(self, text: str) -> None:
        with self._lock:
            self._last_line = time.perf_counter()
            stream = self._stream or sys.stderr
            try:
                stream.write(f"{self.command}: {text}\n")
                stream.flush()
            except (ValueError, OSError):  # the stream was closed under us (a test runner's capture)
                pass

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if time.perf_counter() - self._last_line >= HEARTBEAT_S * 0.99:
                self._line(f"still running: {self.what} ({time.perf_counter() - self._t0:.0f} s)")


__all__ = ["HEARTBEAT_S", "Progress", "ProgressOption", "STEP_LINE_INTERVAL_S", "progress_wanted"]
