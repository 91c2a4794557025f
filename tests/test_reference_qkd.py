"""DI-QKD rows of `qrepeater reproduce ustc2026`."""

import pytest

from qrepeater.validation.qkd import compare_qkd


@pytest.fixture(scope="module")
def rows():
    return {r.figure.key: r for r in compare_qkd("ustc2026")}


def test_all_qkd_rows_within(rows):
    missed = {k: (r.model, r.figure.bounds) for k, r in rows.items() if not r.within}
    assert not missed, missed


def test_model_state_reproduces_published_chsh_and_qber(rows):
    assert rows["chsh_10km"].model == pytest.approx(2.5758, abs=0.0059)
    assert rows["qber_10km"].model == pytest.approx(0.036, abs=0.0006)


def test_rates(rows):
    assert rows["asymptotic_rate_10km"].model == pytest.approx(0.326, abs=0.002)
    assert rows["finite_key_bits_10km"].model == pytest.approx(1917, rel=0.10)
    assert rows["asymptotic_rate_101km"].model > 0
