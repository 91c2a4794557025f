"""PLOB / TGW bounds and fibre transmissivity."""

from __future__ import annotations

import numpy as np
import pytest

from qrepeater.bounds import fiber_transmissivity, plob, tgw
from qrepeater.errors import ParameterError


def test_plob_values_and_small_eta_limit():
    assert plob(0.5) == pytest.approx(1.0)
    assert plob(0.75) == pytest.approx(2.0)
    assert plob(0.0) == 0.0
    eta = 1e-6
    assert plob(eta) == pytest.approx(1.44 * eta, rel=1e-2)  # ≈ η / ln 2


def test_tgw_values_and_relation_to_plob():
    assert tgw(1 / 3) == pytest.approx(1.0)
    eta = np.logspace(-8, -0.01, 50)
    assert np.all(tgw(eta) > plob(eta))
    assert tgw(1e-7) / plob(1e-7) == pytest.approx(2.0, rel=1e-5)


def test_fiber_transmissivity():
    assert fiber_transmissivity(50.0) == pytest.approx(0.1)
    assert fiber_transmissivity(100.0, 0.16) == pytest.approx(10 ** -1.6)
    assert np.allclose(fiber_transmissivity(np.array([0.0, 100.0])), [1.0, 0.01])


def test_bounds_vectorised_and_validated():
    assert plob(np.array([0.5, 0.75])).shape == (2,)
    with pytest.raises(ParameterError):
        plob(1.5)
    with pytest.raises(ParameterError):
        tgw(-0.1)
    with pytest.raises(ParameterError):
        fiber_transmissivity(-1.0)
