"""Run every benchmark in this folder: ``python benchmarks/run_all.py [--quick]``.

Each ``bench_*.py`` is a script that prints its medians; this runner executes them one after the
other in fresh interpreters (so imports and JIT warm-up are each script's own business) and stops
at the first failure. Record figures in ``benchmarks/RESULTS.md`` with the machine and command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        code = subprocess.call([sys.executable, str(script), *argv])
        if code != 0:
            print(f"{script.name} failed with exit code {code}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
