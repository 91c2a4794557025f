"""`qrepeater network --max-events` default follows the path the run takes (issue 16).

The compiled agents (the default path) run ~20x more events per second than the Python agents that
--trace/--plot need, so the default work limit is 5e8 events on the compiled path and 2e7 when
recording: about the same wall time either way. The limit a refusal names shows which one applied.
"""

from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.cli.network import DEFAULT_MAX_EVENTS, DEFAULT_MAX_EVENTS_RECORDING

TOPOLOGY = ('[hardware]\npreset = "abstract"\n[[nodes]]\nname = "A"\nmemories = 1\n[[nodes]]\nname = "B"\nmemories = 1\n'
            '[[links]]\na = "A"\nb = "B"\nlength_km = 10.0\n[[consumers]]\na = "A"\nb = "B"\n')


def _refusal(*args) -> str:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 2, res.output
    return res.stderr


def test_default_event_limit_depends_on_recording(tmp_path):
    topo = tmp_path / "topo.toml"
    topo.write_text(TOPOLOGY)
    assert DEFAULT_MAX_EVENTS == 25 * DEFAULT_MAX_EVENTS_RECORDING
    compiled = _refusal("network", topo, "--duration-s", "1e12")
    assert f"--max-events {DEFAULT_MAX_EVENTS:.3g} events" in compiled
    recording = _refusal("network", topo, "--duration-s", "1e12", "--trace", tmp_path / "t.parquet")
    assert f"--max-events {DEFAULT_MAX_EVENTS_RECORDING:.3g} events" in recording
    explicit = _refusal("network", topo, "--duration-s", "1e12", "--max-events", "1000")
    assert "--max-events 1e+03 events" in explicit
