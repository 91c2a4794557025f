"""From a validated scenario to the objects the lower layers compute with.

:mod:`~qrepeater.builders.hardware` builds the physics components, the heralded link, a chain segment,
the swap model and the DI-QKD source of a :mod:`qrepeater.config` scenario;
:mod:`~qrepeater.builders.topology` builds the event engine's network model from a topology TOML file.
"""

from .hardware import (
    QKDSource,
    chain_segment,
    link_hardware,
    link_metrics,
    qkd_source,
    scenario_link,
    swap_model,
)

__all__ = ["QKDSource", "chain_segment", "link_hardware", "link_metrics", "qkd_source", "scenario_link", "swap_model"]
