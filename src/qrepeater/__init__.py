"""qrepeater: from the hardware numbers of a memory-based quantum network to what it delivers.

The package is layered; each layer imports only the layers listed before it (the table is in
``docs/CONVENTIONS.md`` and is what ``tests/test_architecture.py`` checks):
``errors``/``files``/``version`` → ``physics`` (+ ``bounds``) → ``states`` → ``links`` → ``engines`` →
``qkd`` → ``config`` → ``builders`` → ``studies`` → ``validation`` → ``report`` → ``cli`` → this module.

The two functions below are the shortest way in; the layers' own packages hold the rest.
"""

from __future__ import annotations

from .version import __version__

__all__ = ["__version__", "link_metrics", "load_preset"]


def load_preset(name: str):
    """Validated scenario of a built-in preset (see ``qrepeater presets``)."""
    from .config import load_preset as _load

    return _load(name)


def link_metrics(scenario):
    """Figures of merit of the heralded link described by ``scenario`` (a :class:`qrepeater.config.Scenario`)."""
    from .builders import link_metrics as _metrics

    return _metrics(scenario)
