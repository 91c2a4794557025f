"""qrepeater: from the hardware numbers of a memory-based quantum network to what it delivers.

Layers (each imports only the ones before it):
``physics`` → ``states`` → ``links`` → ``engines`` → ``qkd`` → ``scenarios`` → ``cli``/``report``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_preset", "link_metrics"]


def load_preset(name: str):
    """Validated scenario of a built-in preset (see ``qrepeater presets``)."""
    from .scenarios import load_preset as _load

    return _load(name)


def link_metrics(scenario):
    """Figures of merit of the heralded link described by ``scenario`` (a :class:`Scenario`)."""
    from .scenarios import link_metrics as _metrics

    return _metrics(scenario)
