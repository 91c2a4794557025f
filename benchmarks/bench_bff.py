"""Brown–Fawzi–Fawzi entropy bound: time per point and accuracy against Pironio's closed form.

``python benchmarks/bench_bff.py [--quick] [--repeats N]``

Figures
-------
* time per point (median of ``--repeats`` after one warm-up that compiles the cvxpy problem):
  CHSH-only at S = 2.5 with m = 8 and m = 32 nodes, the full correlator table of the
  ``ustc2026-qkd`` state (m = 8), and the unreduced problem used for non-zero marginals (m = 8);
* accuracy: BFF(CHSH-only) − Pironio over S for m = 8, 16, 32 (``--quick``: m = 8 only);
* the CHSH-only vs full-statistics bound of the ``ustc2026-qkd`` state.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median_time  # noqa: E402

from qrepeater.builders import qkd_source  # noqa: E402
from qrepeater.config import load_preset  # noqa: E402
from qrepeater.qkd.bff import ChshCorrelators, bff_entropy_bound, correlators_of_bell_diagonal  # noqa: E402
from qrepeater.qkd.entropy import TSIRELSON, conditional_entropy_chsh  # noqa: E402


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"machine: {machine()}; load average at start: {os.getloadavg()}")

    src = qkd_source(load_preset("ustc2026-qkd"))
    table = correlators_of_bell_diagonal(src.state, src.readout_error)
    marginals = ChshCorrelators(table.correlators, np.array([1e-3, 0.0]), np.array([0.0, 1e-3]))
    cases = [
        ("CHSH-only, S = 2.5, m = 8 (8 SDPs, blocks 27 + 22)", lambda: bff_entropy_bound(2.5, m=8)),
        ("full table of ustc2026-qkd, m = 8", lambda: bff_entropy_bound(table, m=8)),
    ]
    if not args.quick:
        cases += [
            ("CHSH-only, S = 2.5, m = 32", lambda: bff_entropy_bound(2.5, m=32)),
            ("non-zero marginals (unreduced 49 x 49), m = 8", lambda: bff_entropy_bound(marginals, m=8)),
        ]
    print("\n| figure | median wall s per point | load after |")
    print("|---|---|---|")
    for name, fn in cases:
        t = median_time(fn, repeats=args.repeats, warmup=1)
        print(f"| {name} | {t:.2f} | {os.getloadavg()[0]:.1f} |", flush=True)

    print("\n| S | Pironio | " + " | ".join(f"BFF − Pironio, m = {m}" for m in ((8,) if args.quick else (8, 16, 32))) + " |")
    print("|---|---|" + "---|" * (1 if args.quick else 3))
    for s in (2.2, 2.4, 2.6, 2.7, 2.75, 2.8, 2.82, 2.828, TSIRELSON):
        exact = conditional_entropy_chsh(s)
        diffs = [bff_entropy_bound(s, m=m) - exact for m in ((8,) if args.quick else (8, 16, 32))]
        print(f"| {s:.4f} | {exact:.6f} | " + " | ".join(f"{d:+.2e}" for d in diffs) + " |", flush=True)

    t0 = time.perf_counter()
    full, chsh_only = bff_entropy_bound(table, m=8), bff_entropy_bound(table.chsh, m=8)
    print(
        f"\nustc2026-qkd: S = {table.chsh:.4f}; CHSH-only {chsh_only:.5f} bits (Pironio {conditional_entropy_chsh(table.chsh):.5f}); "
        f"full table {full:.5f} bits (+{full - chsh_only:.4f}); {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
