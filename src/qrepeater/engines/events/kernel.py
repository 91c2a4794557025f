"""Discrete-event kernel: a time-ordered heap with deterministic ties and lazy cancellation.

Every event is the tuple ``(time_s, priority, sequence, handler, argument)`` on a binary heap
(:mod:`heapq`). Ties in time are broken by ``priority`` (smaller first) and then by the sequence
number (insertion order), so a run is a pure function of its inputs and seed: no comparison ever
reaches the handler or its argument. Cancelling an event records its sequence number; the event is
dropped when it reaches the top of the heap (lazy deletion, O(1) cancel, no heap rebuild).

The kernel knows nothing about quantum networks: protocols schedule callables.
"""

from __future__ import annotations

import heapq
from typing import Any, Callable

# Priorities of simultaneous events (smaller runs first): heralds, then classical messages (and
# purification outcomes), then cut-off timers — a herald at the very instant a cut-off expires counts
# as in time (the chain engines' "waited at most the cut-off").
PRIORITY_HERALD = 0
PRIORITY_MESSAGE = 2
PRIORITY_CUTOFF = 3


class Kernel:
    """Event heap and simulation clock.

    Attributes
    ----------
    now : float
        Current simulation time (s).
    executed : int
        Number of events whose handler ran (cancelled events are not counted).
    cancelled_skipped : int
        Number of cancelled events dropped from the heap.
    """

    __slots__ = ("now", "_heap", "_seq", "_cancelled", "executed", "cancelled_skipped", "_stopped")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list = []
        self._seq = 0
        self._cancelled: set[int] = set()
        self.executed = 0
        self.cancelled_skipped = 0
        self._stopped = False

    def schedule(self, time_s: float, priority: int, handler: Callable[[Any], None], argument: Any = None) -> int:
        """Schedule ``handler(argument)`` at ``time_s``; return the event's sequence number (its id)."""
        if time_s < self.now:
            raise ValueError(f"cannot schedule in the past: {time_s} < now = {self.now}")
        seq = self._seq
        self._seq = seq + 1
        heapq.heappush(self._heap, (time_s, priority, seq, handler, argument))
        return seq

    def cancel(self, event_id: int) -> None:
        """Cancel a scheduled event (no effect if it already ran)."""
        if event_id is not None and event_id >= 0:
            self._cancelled.add(event_id)

    def stop(self) -> None:
        """Make :meth:`run` return after the current event."""
        self._stopped = True

    @property
    def pending(self) -> int:
        """Events on the heap, including cancelled ones not yet dropped."""
        return len(self._heap)

    def run(self, until_s: float = float("inf"), max_events: int | None = None) -> None:
        """Execute events in (time, priority, sequence) order until the heap is empty, ``until_s`` is
        passed, :meth:`stop` is called, or ``max_events`` handlers ran."""
        heap = self._heap
        cancelled = self._cancelled
        pop = heapq.heappop
        limit = float("inf") if max_events is None else self.executed + int(max_events)
        executed = self.executed
        self._stopped = False
        while heap:
            if heap[0][0] > until_s:
                break
            time_s, _prio, seq, handler, argument = pop(heap)
            if cancelled and seq in cancelled:
                cancelled.discard(seq)
                self.cancelled_skipped += 1
                continue
            self.now = time_s
            handler(argument)
            executed += 1
            if self._stopped or executed >= limit:
                break
        self.executed = executed
        if not heap or heap[0][0] > until_s:
            if until_s != float("inf"):
                self.now = max(self.now, until_s)
