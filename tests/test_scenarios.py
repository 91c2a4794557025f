"""Configuration: presets, TOML files, overrides and one-line errors."""

import pytest

import qrepeater
from qrepeater.errors import ConfigError, ParameterError
from qrepeater.config import build_scenario, list_presets


def test_presets_listed():
    names = list_presets()
    assert {"ustc2026", "ustc2026-qkd", "ustc2026-101km", "abstract"} <= set(names)
    assert all(names.values())


def test_presets_extend_the_base():
    base = qrepeater.load_preset("ustc2026")
    qkd = qrepeater.load_preset("ustc2026-qkd")
    assert qkd.link.excitation_probability == 0.025
    assert qkd.node_a == base.node_a


def test_override_changes_value_and_parses_types():
    s = build_scenario("ustc2026", None, ["link.excitation_probability=0.05", "link.protocol=two-photon"])
    assert s.link.excitation_probability == 0.05
    assert s.link.protocol == "two-photon"


def test_out_of_range_names_field_value_and_range():
    with pytest.raises(ParameterError) as exc:
        build_scenario("ustc2026", None, ["link.excitation_probability=1.5"])
    msg = str(exc.value)
    assert "link.excitation_probability" in msg and "1.5" in msg and "(0.0, 1.0]" in msg


def test_negative_length():
    with pytest.raises(ParameterError, match=r"link.length_km = -3.*\[0.0, 40075.0\]"):
        build_scenario("ustc2026", None, ["link.length_km=-3"])


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match="unknown key 'foo'.*excitation_probability.*length_km"):
        build_scenario("ustc2026", None, ["link.foo=1"])
    with pytest.raises(ConfigError, match="unknown key 'nodes'"):
        build_scenario("ustc2026", None, ["nodes.a=1"])


def test_malformed_toml_names_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "hardware"\n[link]\nlength_km = = 3\n')
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML.*line 3"):
        build_scenario(None, bad, [])


def test_unknown_key_in_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('extends = "ustc2026"\n[fiber]\nattenuation = 0.3\n')
    with pytest.raises(ConfigError, match="unknown key 'fiber.attenuation'.*attenuation_db_per_km"):
        build_scenario(None, f, [])


def test_config_file_extends_preset(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('extends = "ustc2026"\nname = "mine"\n[fiber]\nattenuation_db_per_km = 0.16\n')
    s = build_scenario(None, f, [])
    assert s.name == "mine" and s.fiber.attenuation_db_per_km == 0.16
    assert s.link.excitation_probability == 0.17


def test_wrong_type():
    with pytest.raises(ConfigError, match="detectors.efficiency = 'abc'"):
        build_scenario("ustc2026", None, ["detectors.efficiency=abc"])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; available:"):
        qrepeater.load_preset("nope")


def test_abstract_preset_metrics():
    m = qrepeater.link_metrics(qrepeater.load_preset("abstract"))
    assert m.rate_hz == pytest.approx(100.0)  # p = 0.01 per 100 µs attempt
    assert m.heralded_fidelity == pytest.approx(0.95)
    assert m.noise_counts_per_s is None


def test_component_sections_take_their_defaults_from_the_component():
    """Each configuration section that builds a physics/link/engine component has no default of its
    own: a section left empty builds exactly the component's default instance."""
    import dataclasses

    from qrepeater.config.schema import COMPONENT_OF

    assert len(COMPONENT_OF) >= 8
    for section, component in COMPONENT_OF.items():
        names = {f.name for f in dataclasses.fields(component)}
        assert set(section.model_fields) <= names, section.__name__
        built = section().model_dump(exclude={"filters"})
        reference = component()
        for name, value in built.items():
            assert value == getattr(reference, name), f"{section.__name__}.{name}"
