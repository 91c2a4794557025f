"""From a validated scenario to the objects the lower layers compute with.

:mod:`~qrepeater.builders.hardware` builds the physics components, the heralded link, a chain segment,
the swap model and the DI-QKD source of a :mod:`qrepeater.config` scenario (and the repeater node as
built, :func:`repeater_node` / :func:`node_segment`); :mod:`~qrepeater.builders.segments` builds the
per-segment links of a chain (lengths, protocol, α, multiplexing) on one clock;
:mod:`~qrepeater.builders.topology` builds the event engine's network model from a topology TOML file.
"""

from .hardware import (
    QKDSource,
    chain_segment,
    link_hardware,
    link_metrics,
    node_segment,
    qkd_source,
    repeater_node,
    scenario_link,
    swap_model,
)
from .segments import SegmentChoice, chain_segments

__all__ = ["QKDSource", "SegmentChoice", "chain_segment", "chain_segments", "link_hardware", "link_metrics",
           "node_segment", "qkd_source", "repeater_node", "scenario_link", "swap_model"]
