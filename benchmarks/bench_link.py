"""Link-layer speed: full hardware link metrics per second (the inner call of sweeps and sensitivity),
and the whole-process time of the commands a user types (issue 16: start-up).

Run: ``python benchmarks/bench_link.py`` (``... startup`` for the commands only). Start-up figures are
wall and CPU seconds of a fresh process (``os.wait4`` accounting), median of 7 after one warm-up run;
on a loaded machine quote CPU as well as wall.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, median_time  # noqa: E402

import qrepeater  # noqa: E402
from qrepeater.builders import link_hardware  # noqa: E402
from qrepeater.links import spep_link  # noqa: E402


COMMANDS = {
    "qrepeater link --json": ["link", "--json"],
    "qrepeater chain --preset ustc2026 --segments 4 --distance-km 100 --engine exact --json":
        ["chain", "--preset", "ustc2026", "--segments", "4", "--distance-km", "100", "--engine", "exact", "--json"],
    "qrepeater chain --preset ustc2026 --distance-km 200 --segments 8 --cutoff-s 0.5 --engine exact --json":
        ["chain", "--preset", "ustc2026", "--distance-km", "200", "--segments", "8", "--cutoff-s", "0.5", "--engine",
         "exact", "--json"],
}
IMPORTS = {  # what the start-up is made of
    "python -c pass": "pass",
    "import numpy, typer": "import numpy, typer",
    "import qrepeater.cli.main": "import qrepeater.cli.main",
    "... + qrepeater.config, qrepeater.builders (scenario and link physics: pydantic)":
        "import qrepeater.cli.main, qrepeater.config, qrepeater.builders",
}


def _process(argv: list[str], runs: int = 7) -> tuple[float, float]:
    """Median (wall s, CPU s) of a fresh process running ``argv`` (one warm-up run first)."""
    walls, cpus = [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if status:
            raise RuntimeError(f"{argv} exited with status {status}")
        if i:
            walls.append(wall)
            cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def startup() -> None:
    exe = shutil.which("qrepeater") or str(Path(sys.executable).with_name("qrepeater"))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for label, argv in COMMANDS.items():
        wall, cpu = _process([exe, *argv])
        print(f"{label}: median {wall:.2f} s wall, {cpu:.2f} s CPU")
    for label, code in IMPORTS.items():
        wall, cpu = _process([sys.executable, "-c", code])
        print(f"  {label}: {wall:.2f} s wall, {cpu:.2f} s CPU")


def main() -> None:
    if sys.argv[1:] == ["startup"]:
        print(f"machine: {machine()}")
        startup()
        return
    scenario = qrepeater.load_preset("ustc2026")
    hw = link_hardware(scenario)
    n = 200
    t_metrics = median_time(lambda: [qrepeater.link_metrics(scenario) for _ in range(n)]) / n
    t_spep = median_time(lambda: [spep_link(hw, 0.17) for _ in range(n)]) / n
    print(f"machine: {machine()}")
    print(f"link_metrics(ustc2026): median {t_metrics * 1e3:.3f} ms per call ({1 / t_metrics:.0f} per s)")
    print(f"spep_link(hardware, 0.17): median {t_spep * 1e6:.1f} us per call ({1 / t_spep:.0f} per s)")
    startup()


if __name__ == "__main__":
    main()
