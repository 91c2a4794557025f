"""Event kernel: deterministic ordering (time, priority, sequence), lazy cancellation, stop/until."""

import math

import numpy as np
import pytest

from qrepeater.engines.events import Kernel
from qrepeater.engines.events.simulation import Simulation
from qrepeater.engines.events.engine import chain_model
from qrepeater.engines.model import ChainSpec, abstract_link


def test_order_time_then_priority_then_sequence():
    k = Kernel()
    seen = []
    k.schedule(2.0, 0, seen.append, "t2")
    k.schedule(1.0, 5, seen.append, "t1-p5-a")
    k.schedule(1.0, 1, seen.append, "t1-p1")
    k.schedule(1.0, 5, seen.append, "t1-p5-b")
    k.schedule(0.5, 9, seen.append, "t0.5")
    k.run()
    assert seen == ["t0.5", "t1-p1", "t1-p5-a", "t1-p5-b", "t2"]
    assert k.executed == 5 and k.now == 2.0


def test_cancel_is_lazy_and_skips_only_that_event():
    k = Kernel()
    seen = []
    a = k.schedule(1.0, 0, seen.append, "a")
    k.schedule(1.0, 0, seen.append, "b")
    k.cancel(a)
    k.run()
    assert seen == ["b"]
    assert k.cancelled_skipped == 1 and k.executed == 1


def test_events_scheduled_by_handlers_and_until_and_stop():
    k = Kernel()
    seen = []

    def tick(n):
        seen.append((k.now, n))
        if n < 10:
            k.schedule(k.now + 1.0, 0, tick, n + 1)
        if n == 7:
            k.stop()

    k.schedule(0.0, 0, tick, 0)
    k.run(until_s=3.5)
    assert [n for _, n in seen] == [0, 1, 2, 3] and k.now == 3.5
    k.run()
    assert seen[-1][1] == 7  # stop() ends the run after the handler
    with pytest.raises(ValueError):
        k.schedule(1.0, 0, tick, 0)  # the past


def test_geometric_attempts_match_closed_form_mean_and_variance():
    p = 0.03
    spec = ChainSpec(link=abstract_link(p, 1e-4, 0.9, 1.0), segments=1)
    sim = Simulation(chain_model(spec), 5, target_pairs=None)
    unit = sim.routes[0].units[0][0]
    g = np.array([sim._attempts(unit) for _ in range(200_000)])
    assert g.min() == 1
    mean, var = 1 / p, (1 - p) / p**2
    assert abs(g.mean() - mean) < 4 * math.sqrt(var / g.size)
    # P(G = 1) = p
    assert abs((g == 1).mean() - p) < 4 * math.sqrt(p * (1 - p) / g.size)
