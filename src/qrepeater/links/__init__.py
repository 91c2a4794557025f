"""Heralded entanglement links: hardware description, SPEP and two-photon protocols, link metrics."""

from .delivery import delivered_fidelity, delivery_threshold, humphreys_delivery_fidelity
from .heralding import LinkHardware, NodeHardware, ProtocolTiming
from .metrics import LinkMetrics, hardware_link_metrics, heralded_link, metrics_from_link
from .outcome import HeraldedLink
from .spep import spep_link, spep_success_probability
from .storage import expected_stored_fidelity, stored_fidelity, time_above_fidelity
from .two_photon import two_photon_link, two_photon_success_probability

__all__ = [
    "HeraldedLink",
    "LinkHardware",
    "LinkMetrics",
    "NodeHardware",
    "ProtocolTiming",
    "delivered_fidelity",
    "delivery_threshold",
    "expected_stored_fidelity",
    "hardware_link_metrics",
    "heralded_link",
    "humphreys_delivery_fidelity",
    "metrics_from_link",
    "spep_link",
    "spep_success_probability",
    "stored_fidelity",
    "time_above_fidelity",
    "two_photon_link",
    "two_photon_success_probability",
]
