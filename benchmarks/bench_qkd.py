"""DI-QKD post-processing benchmarks: ``python benchmarks/bench_qkd.py [--quick] [--frames N] [--only NAME]``.

Figures
-------
* ``toeplitz``: FFT Toeplitz hash 1e6 → 5e5 bits (target ≤ 0.3 s), checked bit-exact against a
  blocked direct product on a slice.
* ``simulate``: ``simulate_records`` of 4e5 rounds.
* ``distill``: ``distill`` of 4e5 simulated rounds (reference-like state, ⟨XX⟩ = 0.893, ⟨ZZ⟩ = 0.928;
  target < 2 s), code construction excluded (cached), split into reconciliation and the rest.
* ``decoders``: the distill reconciliation step alone (200,000 key bits at QBER 3.6 %, f = 1.12: four
  65,536-bit frames) with ldpc's ``BpDecoder`` (flooding, the reference) and the compiled decoder
  (flooding; layered on 1 thread and on all threads), in the same run: compare the ratios.
* ``fer``: reconciliation efficiency f and frame error rate at QBER 3.6 % on independent frames of the
  default code (target f ≤ 1.15 with FER ≤ 1e-2), for each target f in ``--targets``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median_time  # noqa: E402

from qrepeater.qkd.distill import distill  # noqa: E402
from qrepeater.qkd.ldpc_codes import DEFAULT_FRAME_BITS, get_code  # noqa: E402
from qrepeater.qkd.privacy import random_bits, toeplitz_hash, toeplitz_hash_direct  # noqa: E402
from qrepeater.qkd.rate_adaptation import binary_entropy, choose_code, max_payload  # noqa: E402
from qrepeater.qkd.reconciliation import reconcile  # noqa: E402
from qrepeater.qkd.simulate import simulate_records  # noqa: E402
from qrepeater.states import BellDiagonal  # noqa: E402

REFERENCE = BellDiagonal.from_correlators(0.893, -0.893, 0.928)  # ustc2026-qkd-like: S = 2.5759, Q = 3.6 %


def cpu_time(fn, repeats: int) -> float:
    """Median process CPU time (s) of ``fn()``: less sensitive than wall time to other jobs on a shared box."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        out.append(time.process_time() - t0)
    return statistics.median(out)


def load_average() -> float:
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:  # pragma: no cover
        return float("nan")


def bench_toeplitz(repeats: int) -> dict:
    rng = np.random.default_rng(1)
    n, m = 1_000_000, 500_000
    x = rng.integers(0, 2, n, dtype=np.uint8)
    s = random_bits(n + m - 1, 2)
    t = median_time(lambda: toeplitz_hash(x, s, m), repeats=repeats)
    cpu = cpu_time(lambda: toeplitz_hash(x, s, m), repeats)
    y = toeplitz_hash(x, s, m)
    # exactness on the first 64 output bits: a 64 × 1e6 Toeplitz block, row by row
    rows = np.array([int(np.dot(s[i - np.arange(n) + n - 1].astype(np.int64), x) & 1) for i in range(64)], np.uint8)
    ok_small = all(
        np.array_equal(toeplitz_hash(x[:k], s[: k + 100 - 1], 100), toeplitz_hash_direct(x[:k], s[: k + 100 - 1], 100))
        for k in (1, 7, 1000, 4096)
    )
    return {"toeplitz_1e6_to_5e5_s": t, "toeplitz_cpu_s": cpu, "load_average": load_average(), "exact_first_64_rows": bool(np.array_equal(rows, y[:64])), "exact_small": ok_small}


def bench_simulate(repeats: int) -> dict:
    t = median_time(lambda: simulate_records(REFERENCE, 400_000, 7), repeats=repeats)
    return {"simulate_4e5_rounds_s": t}


def bench_distill(repeats: int, method: str) -> dict:
    table, info = simulate_records(REFERENCE, 400_000, 7)
    get_code(choose_code(info.expected_qber, 1.12), DEFAULT_FRAME_BITS, 1)  # build/cache outside the timing
    import qrepeater.qkd.distill as d

    ec_times: list[float] = []
    real = d.reconcile

    def timed(*a, **k):
        t0 = time.perf_counter()
        r = real(*a, **k)
        ec_times.append(time.perf_counter() - t0)
        return r

    d.reconcile = timed
    try:
        totals, cpus, last = [], [], None
        distill(table, method=method, seed=0)  # warm-up
        ec_times.clear()
        for i in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            last = distill(table, method=method, seed=i + 1)
            totals.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    finally:
        d.reconcile = real
    rep = last.report
    return {
        "distill_4e5_rounds_s": statistics.median(totals),
        "distill_cpu_s": statistics.median(cpus),
        "load_average": load_average(),
        "reconciliation_s": statistics.median(ec_times) if ec_times else None,
        "method": method,
        "key_bits": rep["key_bits"],
        "ec_efficiency": rep["ec_efficiency"],
        "ec_frames": rep["ec_frames"],
        "ec_failed_frames": rep["ec_failed_frames"],
        "aborted": rep["aborted"],
        "abort_reason": rep["abort_reason"],
    }


def bench_fer(frames: int, targets: list[float], qber: float = 0.036) -> list[dict]:
    out = []
    for f_target in targets:
        rate = choose_code(qber, f_target)
        code = get_code(rate, DEFAULT_FRAME_BITS, 1)
        rng = np.random.default_rng(12345)
        failed = total = leak = bits = 0
        t0 = time.perf_counter()
        t_cpu = time.process_time()
        while total < frames:
            # independent frames: blocks of up to 10 frames of k_max key bits per reconcile call (each frame
            # gets fresh BSC errors and fresh punctured filler; the decoder object is reused)
            k = max_payload(code, qber, f_target) * min(10, frames - total)
            a = rng.integers(0, 2, k, dtype=np.uint8)
            b = a ^ (rng.random(k) < qber).astype(np.uint8)
            r = reconcile(a, b, qber, efficiency=f_target, seed=rng.integers(2**32))
            failed += r.failed_frames
            total += r.frames
            leak += r.leak_bits
            bits += k
            if r.failed_frames == 0 and not np.array_equal(r.alice, r.bob):
                raise AssertionError("decoder converged to a wrong word")
            if total % 10 == 0 or total >= frames:
                print(f"  f_target={f_target}: {total} frames, {failed} failed, {time.perf_counter() - t0:.0f} s", flush=True)
        dt = time.perf_counter() - t0
        cpu = time.process_time() - t_cpu
        fer = failed / total
        # one-sided 95 % Clopper–Pearson upper bound of the FER
        from scipy import stats

        upper = float(stats.beta.ppf(0.95, failed + 1, total - failed)) if failed < total else 1.0
        out.append({
            "qber": qber, "f_target": f_target, "code_rate": rate, "frame_bits": code.n, "frames": total,
            "failed": failed, "fer": fer, "fer_upper95": upper, "f": leak / (bits * binary_entropy(qber)),
            "seconds_per_frame": dt / total, "cpu_seconds_per_frame": cpu / total, "load_average": load_average(),
        })
        print(json.dumps(out[-1]), flush=True)
    return out


def bench_decoders(repeats: int) -> dict:
    import numba

    rng = np.random.default_rng(3)
    k, qber = 200_000, 0.036
    a = rng.integers(0, 2, k, dtype=np.uint8)
    b = a ^ (rng.random(k) < qber).astype(np.uint8)
    get_code(choose_code(qber, 1.12), DEFAULT_FRAME_BITS, 1)
    variants = {
        "ldpc_flooding": dict(decoder="ldpc"),
        "compiled_flooding": dict(schedule="parallel"),
        "compiled_layered_1_thread": dict(schedule="layered", threads=1),
        "compiled_layered": dict(schedule="layered"),
    }
    out = {"key_bits": k, "qber": qber, "f_target": 1.12, "load_average": load_average()}
    threads = numba.get_num_threads()
    for name, kw in variants.items():
        kw = dict(kw)
        numba.set_num_threads(kw.pop("threads", threads))
        try:
            run = lambda: reconcile(a, b, qber, efficiency=1.12, seed=1, **kw)  # noqa: E731
            r = run()
            walls, cpus = [], []
            for _ in range(1 if name.startswith("ldpc") else repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                r = run()
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
        finally:
            numba.set_num_threads(threads)
        out[name] = {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "frames": r.frames,
                     "failed": r.failed_frames, "f": r.efficiency}
        print(f"  {name}: {out[name]}", flush=True)
    ref = out["ldpc_flooding"]["wall_s"]
    out["speedup_vs_ldpc"] = {n: ref / out[n]["wall_s"] for n in variants}
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--targets", default="1.12,1.15,1.2")
    ap.add_argument("--only", default=None, help="toeplitz | simulate | distill | decoders | fer")
    ap.add_argument("--method", default="complementarity")
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else 5
    frames = args.frames or (10 if args.quick else 300)
    res: dict = {"machine": machine(), "command": "python benchmarks/bench_qkd.py " + " ".join(argv)}
    print(res["machine"], flush=True)
    if args.only in (None, "toeplitz"):
        res["toeplitz"] = bench_toeplitz(repeats)
        print(json.dumps(res["toeplitz"]), flush=True)
    if args.only in (None, "simulate"):
        res["simulate"] = bench_simulate(repeats)
        print(json.dumps(res["simulate"]), flush=True)
    if args.only in (None, "distill"):
        res["distill"] = bench_distill(1 if args.quick else 3, args.method)
        print(json.dumps(res["distill"]), flush=True)
    if args.only in (None, "decoders"):
        res["decoders"] = bench_decoders(3)
        print(json.dumps(res["decoders"]), flush=True)
    if args.only in (None, "fer"):
        res["fer"] = bench_fer(frames, [float(t) for t in args.targets.split(",")])
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
