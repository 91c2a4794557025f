"""Event codes of the protocol trace: the agents log ``(time, code, node, route, pair_id, value)`` rows.

:data:`EVENT_NAMES` gives each code's name (``EVENT_NAMES[EV_SWAP] == "swap"``); the trace table of
:meth:`qrepeater.engines.events.EventRun.trace_table` writes the names.
"""

from __future__ import annotations

EV_HERALD, EV_SWAP, EV_SWAP_FAIL, EV_MESSAGE, EV_FORWARD, EV_DROP, EV_DELIVER, EV_CUTOFF, EV_PURIFY, EV_PURIFY_FAIL, EV_RESET = range(11)
EVENT_NAMES = ("herald", "swap", "swap_fail", "message", "forward", "drop", "deliver", "cutoff", "purify", "purify_fail", "reset")
