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
