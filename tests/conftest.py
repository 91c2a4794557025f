import pytest
import os

os.environ.setdefault("MPLBACKEND", "Agg")

# Reproducible property-based tests: should a test use hypothesis, its examples come from a fixed
# derivation (no random seed per run, no example database carried between runs).
try:
    from hypothesis import settings
except ImportError:  # pragma: no cover - hypothesis is a test extra
    pass
else:
    settings.register_profile("qrepeater-deterministic", derandomize=True, database=None)
    settings.load_profile("qrepeater-deterministic")


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", default=False,
                     help="also run the soak tests (the >= 1e4-case CLI fuzz run; tens of minutes)")


def pytest_collection_modifyitems(config, items):
    """Soak tests run only with --soak: the full suite (CI) stays under 20 minutes."""
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak run: pass --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
