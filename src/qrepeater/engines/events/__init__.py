"""Event-driven network engine: discrete-event kernel, network model, protocol agents, lasers.

Entry points: :func:`simulate` (any :class:`NetworkModel`), :func:`run_chain_events` (a
:class:`~qrepeater.engines.model.ChainSpec`, same :class:`~qrepeater.engines.metrics.ChainResult` as
the exact and Monte Carlo engines). Topology files are read by :mod:`qrepeater.scenarios.topology`
(the scenario layer builds each link from hardware; engines stay below it).
See ``docs/events_engine.md``.
"""

from .engine import EventRun, RouteResult, chain_model, run_chain_events, simulate, simulate_chain, simulate_chain_compiled
from .kernel import Kernel
from .lasers import NodeLaser, hardware_with_lasers, interference_delay_s, laser_coherence
from .network import LinkModel, NetworkModel, ProtocolConfig, Route, shortest_path

__all__ = [
    "EventRun",
    "Kernel",
    "LinkModel",
    "NetworkModel",
    "NodeLaser",
    "ProtocolConfig",
    "Route",
    "RouteResult",
    "chain_model",
    "hardware_with_lasers",
    "interference_delay_s",
    "laser_coherence",
    "run_chain_events",
    "shortest_path",
    "simulate",
    "simulate_chain",
    "simulate_chain_compiled",
]
