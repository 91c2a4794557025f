"""Link-layer speed: full hardware link metrics per second (the inner call of sweeps and sensitivity).

Run: ``python benchmarks/bench_link.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, median_time  # noqa: E402

import qrepeater  # noqa: E402
from qrepeater.builders import link_hardware  # noqa: E402
from qrepeater.links import spep_link  # noqa: E402


def main() -> None:
    scenario = qrepeater.load_preset("ustc2026")
    hw = link_hardware(scenario)
    n = 200
    t_metrics = median_time(lambda: [qrepeater.link_metrics(scenario) for _ in range(n)]) / n
    t_spep = median_time(lambda: [spep_link(hw, 0.17) for _ in range(n)]) / n
    print(f"machine: {machine()}")
    print(f"link_metrics(ustc2026): median {t_metrics * 1e3:.3f} ms per call ({1 / t_metrics:.0f} per s)")
    print(f"spep_link(hardware, 0.17): median {t_spep * 1e6:.1f} us per call ({1 / t_spep:.0f} per s)")


if __name__ == "__main__":
    main()
