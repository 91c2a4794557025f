"""Fuzz harness of the whole command line (issue 15).

Hypothesis (derandomized: the same cases every run) generates invocations of every ``qrepeater``
command: option values that are valid, on a boundary, malformed, huge, negative, NaN/inf or of the
wrong type; input files that are valid, missing, empty, binary, truncated, tampered, folders or files
of another kind; output paths that are fresh, under a wrong extension, folders, existing files, in a
read-only (immutable) folder or empty. Every invocation runs in-process (``CliRunner``) in its own
working folder, under a time limit, and must

* exit 0 or 2 (1 only where documented: ``diqkd distill`` aborted, ``reproduce --strict``),
* print no traceback, and on exit 2 exactly one line ``error: ...`` on stderr,
* leave no partial output: no new file after a failure (an aborted distill writes its report), no
  temporary file ever,
* keep the process memory bounded: the address space is capped during the run, and running out of
  it (a request the estimates let through) fails the case; the resident set is checked throughout.

A few hundred cases (300) run by default. The soak run of 12 000 cases (issue 15: >= 1e4) is marked
``slow`` and ``soak`` and runs only with ``--soak`` (tests/conftest.py), so that neither the fast loop
nor ``pytest -m slow`` / the full suite (CI, < 20 min) starts it::

    nice timeout 5400 python -m pytest -p no:cacheprovider --soak -k fuzz tests/test_fuzz_cli.py -q

(20 to 30 min on 2 shared cores: 12 300 cases in 19 min 48 s at 110f084). ``QREPEATER_FUZZ_REPORT=
path.json`` writes the case counts per command and exit code; ``QREPEATER_FUZZ_LOG=path`` appends every
invocation as it starts.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qrepeater.cli.main import app

runner = CliRunner()

#: time limit of one invocation (s): nothing a fuzz case asks for should take long
CASE_TIMEOUT_S = 120
#: resident memory the whole fuzz run may add to the process (bytes)
MAX_RSS_GROWTH = 3 * 2**30
#: address space of the process during the fuzz run (bytes; the package needs ~2 GiB of it)
ADDRESS_SPACE_LIMIT = 12 * 2**30

SCENARIO = 'extends = "abstract"\n[link]\nlength_km = 5.0\n'
TOPOLOGY = ('[hardware]\npreset = "abstract"\n[[nodes]]\nname = "A"\nmemories = 1\n[[nodes]]\nname = "B"\nmemories = 2\n'
            '[[nodes]]\nname = "C"\nmemories = 1\n[[links]]\na = "A"\nb = "B"\nlength_km = 10.0\n[[links]]\na = "B"\nb = "C"\n'
            'length_km = 10.0\n[[consumers]]\na = "A"\nb = "C"\n')
SWEEP = 'seed = 1\n[parameters]\ndistance_km = [10, 20]\n'
SWEEP_MC = 'seed = 2\n[options]\nengine = "montecarlo"\npairs = 50\nsegments = 2\n[parameters]\ndistance_km = [10, 30]\n'


# ------------------------------------------------------------------------------------------------
# fixture files, one set for the module
# ------------------------------------------------------------------------------------------------
class Fixtures:
    def __init__(self, root: Path):
        from qrepeater.qkd.records import write_records
        from qrepeater.qkd.simulate import simulate_records
        from qrepeater.states import werner

        self.root = root
        d = root / "inputs"
        d.mkdir()
        self.inputs = d
        binary = bytes(range(256)) * 8
        (d / "empty.toml").write_text("")
        (d / "binary.toml").write_bytes(binary)
        (d / "folder.toml").mkdir()
        (d / "scenario.toml").write_text(SCENARIO)
        (d / "scenario-trunc.toml").write_text(SCENARIO[:25])
        (d / "scenario-inf.toml").write_text('extends = "abstract"\n[link]\nlength_km = inf\n')
        (d / "scenario-bool.toml").write_text('extends = "abstract"\n[link]\nfresh_fidelity = true\n')
        (d / "topology.toml").write_text(TOPOLOGY)
        (d / "topology-trunc.toml").write_text(TOPOLOGY[: len(TOPOLOGY) // 2])
        (d / "topology-huge.toml").write_text(TOPOLOGY.replace("memories = 2", "memories = 1000000000000"))
        (d / "topology-huge-all.toml").write_text(TOPOLOGY.replace("memories = 1\n", "memories = 1000000000000\n")
                                                  .replace("memories = 2", "memories = 1000000000000"))
        (d / "topology-neg.toml").write_text(TOPOLOGY.replace("length_km = 10.0\n[[consumers]]", "length_km = -1\n[[consumers]]"))
        (d / "sweep.toml").write_text(SWEEP)
        (d / "sweep-mc.toml").write_text(SWEEP_MC)
        (d / "sweep-trunc.toml").write_text(SWEEP[:20])
        (d / "sweep-huge.toml").write_text("[parameters]\ndistance_km = { start = 1, stop = 10, num = 1000000000 }\n")
        (d / "sweep-pairs.toml").write_text('[options]\nengine = "montecarlo"\npairs = 1000000000000\n[parameters]\ndistance_km = [10]\n')
        table, _ = simulate_records(werner(0.9), 2000, 1)
        write_records(table, d / "records.parquet")
        write_records(table, d / "records.csv")
        raw = (d / "records.parquet").read_bytes()
        (d / "records-trunc.parquet").write_bytes(raw[: len(raw) // 2])
        text = (d / "records.csv").read_text()
        (d / "records-trunc.csv").write_text(text[: len(text) // 2])
        (d / "records-tampered.csv").write_text(text.replace("\n5,", "\n6,", 1) if "\n5," in text else text[:-3] + "9\n")
        (d / "empty.parquet").write_bytes(b"")
        (d / "empty.csv").write_bytes(b"")
        (d / "binary.parquet").write_bytes(binary)
        (d / "binary.csv").write_bytes(binary)
        (d / "folder.parquet").mkdir()
        res = runner.invoke(app, ["sweep", str(d / "sweep.toml"), "--out", str(d / "results.parquet"), "--workers", "1",
                                  "--no-progress"])
        assert res.exit_code == 0, res.output
        raw = (d / "results.parquet").read_bytes()
        (d / "results-trunc.parquet").write_bytes(raw[: len(raw) // 2])
        # a folder nobody may write: 0555, or immutable when running as root
        self.readonly = root / "readonly"
        self.readonly.mkdir()
        os.chmod(self.readonly, 0o555)
        self.immutable = False
        if os.access(self.readonly, os.W_OK):
            try:
                self.immutable = subprocess.run(["chattr", "+i", str(self.readonly)], capture_output=True).returncode == 0
            except FileNotFoundError:
                self.immutable = False
        self.snapshot = self.tree(d)

    @staticmethod
    def tree(d: Path) -> dict:
        return {str(p.relative_to(d)): (p.stat().st_size, p.stat().st_mtime_ns) for p in d.rglob("*")}

    def close(self):
        if self.immutable:
            subprocess.run(["chattr", "-i", str(self.readonly)], capture_output=True)
        os.chmod(self.readonly, 0o755)


INPUTS = {
    "scenario": ["scenario.toml", "scenario-trunc.toml", "scenario-inf.toml", "scenario-bool.toml", "empty.toml",
                 "binary.toml", "folder.toml", "missing.toml", "topology.toml", "records.parquet"],
    "topology": ["topology.toml", "topology-trunc.toml", "topology-huge.toml", "topology-huge-all.toml", "topology-neg.toml", "empty.toml",
                 "binary.toml", "folder.toml", "missing.toml", "scenario.toml", "sweep.toml"],
    "sweep": ["sweep.toml", "sweep-mc.toml", "sweep-trunc.toml", "sweep-huge.toml", "sweep-pairs.toml", "empty.toml",
              "binary.toml", "folder.toml", "missing.toml", "topology.toml"],
    "records": ["records.parquet", "records.csv", "records-trunc.parquet", "records-trunc.csv", "records-tampered.csv",
                "empty.parquet", "empty.csv", "binary.parquet", "binary.csv", "folder.parquet", "missing.parquet",
                "results.parquet", "scenario.toml"],
    "results": ["results.parquet", "results-trunc.parquet", "records.parquet", "empty.parquet", "binary.parquet",
                "folder.parquet", "missing.parquet", "sweep.toml"],
}


# ------------------------------------------------------------------------------------------------
# value strategies (tokens are resolved to paths per case)
# ------------------------------------------------------------------------------------------------
MALFORMED = ["abc", "", " ", "1e", "0x10", "true", "--json", "1,5", "½", "1_000", "[1]", "nan%"]
NUMERIC_SPECIAL = ["nan", "inf", "-inf", "NaN", "Infinity", "-0.0", "0", "1e-320", "1e308", "1e400", "-1e400", "-1"]


#: share of option values drawn from the valid ones (the rest: boundary, malformed, huge, NaN, ...)
P_VALID = 0.8


def mostly(valid: st.SearchStrategy, other: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` with probability about :data:`P_VALID`, else ``other`` (so that an invocation with
    several options is not always refused by its first bad value)."""
    return st.integers(0, 9).flatmap(lambda i: valid if i < 10 * P_VALID else other)


def floats(*valid) -> st.SearchStrategy:
    """Valid values, or: special values, malformed text, a bounded range of arbitrary floats."""
    return mostly(st.sampled_from([str(v) for v in valid]),
                  st.one_of(st.sampled_from(NUMERIC_SPECIAL + MALFORMED), st.floats(min_value=-1e3, max_value=1e3).map(repr)))


def cutoffs(*valid) -> st.SearchStrategy:
    """Cut-offs: valid ones (short, and far longer than any waiting time: a 1e5 s cut-off made the
    lattice solver allocate > 5 GB until f5ac2db), or special and malformed values."""
    return mostly(st.sampled_from([str(v) for v in valid]), st.sampled_from(NUMERIC_SPECIAL + MALFORMED))


def counts(*valid) -> st.SearchStrategy:
    """Small valid counts, or: boundaries, values far beyond every work limit, malformed text.

    (Counts between ~1e5 and the limits are valid but slow; a fuzz case stays cheap.)
    """
    return mostly(st.sampled_from([str(v) for v in valid]),
                  st.one_of(st.integers(min_value=-5, max_value=30).map(str),
                            st.sampled_from(["0", "-1", "2.5", "1e3", "1e12", "1e30", "99999999999999999999999", "-99999999999", "1" + "0" * 400]
                                            + MALFORMED)))


def limits() -> st.SearchStrategy:
    """Values of a work/memory limit option: never above its default (so a huge request stays refused)."""
    return st.sampled_from(["1", "10", "1000", "0", "-1", "0.5", "abc", "", "nan", "inf", "1e-9"])


SEEDS = mostly(st.integers(min_value=0, max_value=2**70).map(str),
               st.sampled_from(["-1", "-3", str(2**128), str(2**128 - 1), "1.5", "1e3"] + MALFORMED))
PRESETS = st.sampled_from(["ustc2026", "abstract", "ustc2026-qkd", "ustc2026-101km", "nope", "", "../etc/passwd"])
SET_PATHS = ["link.length_km", "fiber.attenuation_db_per_km", "link.excitation_probability", "swap.gate_fidelity",
             "link.success_probability", "memory.coherence_time_s", "node_a.memory.storage_level_lifetime_s",
             "link.protocol", "link", "bogus.key", "kind", "", "link.length_km.deeper", "conversion.filters"]
SET_VALUES = ["10", "0", "-1", "0.5", "1.5", "1e308", "inf", "-inf", "nan", "true", "false", '"10"', "abc", "[1, 2]",
              "{a = 1}", "", '"two-photon"', "1e-300", "2", "0.99"]
SETS = mostly(st.sampled_from(["link.length_km=5", "link.excitation_probability=0.05", "swap.gate_fidelity=0.99",
                               "fiber.attenuation_db_per_km=0.18"]),
              st.one_of(st.builds(lambda p, v: f"{p}={v}", st.sampled_from(SET_PATHS), st.sampled_from(SET_VALUES)),
                        st.sampled_from(["noequals", "=1", "a..b=1", "link.length_km=="])))
FLAG = st.just(None)


def choice(*values) -> st.SearchStrategy:
    return mostly(st.sampled_from(list(values)), st.sampled_from(["bogus", "", "EXACT"]))


def infile(role: str) -> st.SearchStrategy:
    valid = [n for n in INPUTS[role][:2] if not n.endswith(("trunc.toml", "-trunc.parquet"))]
    return mostly(st.sampled_from(valid), st.sampled_from(INPUTS[role])).map(lambda name: ("IN", name))


def outfile(suffix: str) -> st.SearchStrategy:
    return mostly(st.sampled_from(["fresh", "nested"]), st.sampled_from(["badext", "dir", "readonly", "existing", "empty"])).map(
        lambda kind: ("OUT", kind, suffix))


def outdir() -> st.SearchStrategy:
    return mostly(st.sampled_from(["freshdir", "dir", "nested"]), st.sampled_from(["readonly", "existing"])).map(
        lambda kind: ("OUT", kind, ""))


# command → (fixed leading args, [(option, strategy, probability it is given, repeatable)])
def O(name, strat, p=0.5, many=False):  # noqa: E743 - a table entry
    return (name, strat, p, many)


COMMANDS: dict[str, tuple[list, list]] = {
    "presets": ([], [O("--json", FLAG)]),
    "link": ([], [O("--preset", PRESETS, 0.3), O("--config", infile("scenario"), 0.3), O("--set", SETS, 0.6, True),
                  O("--json", FLAG)]),
    "bounds": ([], [O("--distance-km", floats(0, 10, 100, 1000), 0.95), O("--attenuation-db-per-km", floats(0.2, 0, 0.16)),
                    O("--json", FLAG)]),
    "chain": ([], [O("--preset", st.sampled_from(["abstract", "ustc2026", "nope"]), 0.5), O("--config", infile("scenario"), 0.15),
                   O("--set", SETS, 0.3, True), O("--distance-km", floats(10, 50, 100), 0.95), O("--segments", counts(1, 2, 4, 8, 3, 4096, 8192)),
                   O("--multiplex", counts(1, 2, 10, 10**9, 10**10)), O("--cutoff-s", cutoffs(0.001, 0.01, 1, 1e5), 0.3),
                   O("--purify", choice("none", "bbpssw", "dejmps"), 0.3), O("--schedule", choice("nested", "swap-asap"), 0.3),
                   O("--engine", choice("exact", "montecarlo", "events"), 0.6), O("--pairs", counts(10, 50, 200)),
                   O("--seed", SEEDS, 0.4), O("--max-samples", limits(), 0.2), O("--json", FLAG)]),  # --optimize: the exact engine regression above (>120 s at 100 km)
    "network": ([("--", infile("topology"))], [O("--duration-s", floats(0.1, 1, 10)), O("--pairs", counts(1, 5, 20)),
                                                O("--seed", SEEDS, 0.3), O("--json", FLAG), O("--trace", outfile(".parquet"), 0.3),
                                                O("--plot", outfile(".png"), 0.15), O("--max-events", limits(), 0.2),
                                                O("--memory-limit-gb", limits(), 0.15)]),
    "sweep": ([("--", infile("sweep"))], [O("--out", outfile(".parquet"), 0.8), O("--workers", mostly(st.just("1"), st.sampled_from(["0", "-1", "1e9", "abc", "2.5"])), 1.0),
                                          O("--scheduler", st.sampled_from(["tcp://127.0.0.1:1", "bogus://x", ""]), 0.02),
                                          O("--connect-timeout", floats(0.1, 1e9), 0.1), O("--resume", FLAG, 0.2),
                                          O("--netcdf", outfile(".nc"), 0.2), O("--no-progress", FLAG, 0.8),
                                          O("--max-points", limits(), 0.1), O("--json", FLAG)]),
    "plot": ([("--", infile("results"))], [O("--x", st.sampled_from(["distance_km", "rate_hz", "nope", ""]), 0.9),
                                           O("--y", st.sampled_from(["rate_hz", "heralded_fidelity", "distance_km", "nope"]), 0.9),
                                           O("--hue", st.sampled_from(["distance_km", "nope"]), 0.1), O("--out", outfile(".png"), 0.8),
                                           O("--logx", FLAG, 0.1), O("--liny", FLAG, 0.1)]),
    "sensitivity": ([], [O("--metric", st.sampled_from(["link_efficiency", "rate_hz", "secret_key_rate_bps", "nope", ""]), 0.95),
                         O("--target", floats(0.5, 2.0), 0.05), O("--preset", st.sampled_from(["abstract", "ustc2026", "nope"]), 0.4),
                         O("--config", infile("scenario"), 0.1), O("--set", SETS, 0.2, True),
                         O("--engine", choice("link", "exact", "montecarlo"), 0.4), O("--distance-km", floats(10, 50), 0.3),
                         O("--segments", counts(1, 2), 0.3), O("--multiplex", counts(1, 2), 0.2), O("--cutoff-s", cutoffs(0.01), 0.2),
                         O("--pairs", counts(20, 50), 0.4), O("--per-node", FLAG, 0.2), O("--include-setup", FLAG, 0.2),
                         O("--out", outfile(".png"), 0.2), O("--max-samples", limits(), 0.2), O("--json", FLAG)]),
    "report": ([("--", infile("results"))], [O("--out", outdir(), 0.9)]),
    "reproduce": ([("--", mostly(st.sampled_from(["ustc2026", "delft2018"]), st.sampled_from(["nature2099", "", "USTC2026"])))],
                  [O("--out", outdir(), 0.9), O("--json", FLAG), O("--no-plots", FLAG, 0.7), O("--no-html", FLAG, 0.7),
                   O("--strict", FLAG, 0.3)]),
    # calibrate with its leave-one-out refits takes ~20 s: rarely
    "calibrate": ([("--", mostly(st.sampled_from(["ustc2026", "abstract"]), st.sampled_from(["nope", ""])))], [O("--json", FLAG), O("--no-loo", FLAG, 0.98)]),
    "diqkd methods": ([], [O("--json", FLAG)]),
    "diqkd rate": ([], [O("--chsh", floats(2.5, 2.8, 2.0, 2.83), 0.9), O("--qber", floats(0.03, 0.0, 0.5), 0.9),
                        O("--rounds", counts(100000, 400000, 1000), 0.4),
                        O("--method", st.sampled_from(["pironio", "eat", "complementarity", "collective-aep", "bogus"]), 0.5),
                        O("--json", FLAG)]),
    "diqkd plan": ([], [O("--chsh", floats(2.5, 2.8), 0.9), O("--qber", floats(0.03), 0.9),
                        O("--target-bits", counts(1000, 10**6), 0.8), O("--round-rate-hz", floats(0.29, 1000), 0.3),
                        O("--method", st.sampled_from(["pironio", "eat", "bogus"]), 0.3), O("--json", FLAG)]),
    "diqkd simulate": ([], [O("--rounds", counts(100, 2000), 0.9), O("--seed", SEEDS, 0.9), O("--out", outfile(".parquet"), 0.9),
                            O("--preset", st.sampled_from(["ustc2026-qkd", "abstract", "nope"]), 0.7),
                            O("--config", infile("scenario"), 0.15), O("--set", SETS, 0.2, True),
                            O("--test-probability", floats(0.5, 0.1, 0.9), 0.3), O("--memory-limit-gb", limits(), 0.15),
                            O("--json", FLAG)]),
    "diqkd distill": ([("--", infile("records"))], [O("--key-out", outfile(".bin"), 0.95), O("--report", outfile(".json"), 0.2),
                                                    O("--method", st.sampled_from(["complementarity", "eat", "bogus"]), 0.2),
                                                    O("--eps-sec", floats(1e-10, 1e-6), 0.2), O("--tag-bits", counts(32, 64, 1024, 31, 2000), 0.2),
                                                    O("--efficiency", floats(1.12, 1.5), 0.2),
                                                    O("--decoder", st.sampled_from(["compiled", "ldpc", "bogus"]), 0.1),
                                                    O("--seed", SEEDS, 0.4), O("--force", FLAG, 0.3),
                                                    O("--memory-limit-gb", limits(), 0.1), O("--json", FLAG)]),
    # a search of ~1e3 evaluations when valid: small --max-evaluations (a large one is a long run the
    # user asked for; the option has no ceiling)
    "requirements": ([], [O("--target", mostly(st.sampled_from(["rate_hz>=0.1", "mean_fidelity>=0.8", "secret_key_rate_bps>0.01"]),
                                               st.sampled_from(["rate_hz", ">=1", "nope>=1", "rate_hz>=nan", "rate_hz>=inf",
                                                                "rate_hz=>1", "", "rate_hz>=-1"])), 0.95, True),
                          O("--distance-km", floats(50, 100), 0.95, True), O("--segments", counts(2, 4), 0.3),
                          O("--preset", st.sampled_from(["abstract", "ustc2026", "nope"]), 0.5), O("--set", SETS, 0.1, True),
                          O("--vary", st.sampled_from(["link.fresh_fidelity", "memory.coherence_time_s", "bogus", "link"]), 0.4, True),
                          O("--max-factor", floats(10, 100), 0.2),
                          O("--weight", st.sampled_from(["link.fresh_fidelity=2", "x=1", "=", "link.fresh_fidelity=nan"]), 0.1),
                          O("--engine", choice("exact", "link", "montecarlo"), 0.3), O("--pairs", counts(20, 50), 0.2),
                          O("--workers", mostly(st.just("1"), st.sampled_from(["0", "1e9", "abc"])), 1.0), O("--seed", SEEDS, 0.3),
                          O("--max-evaluations", st.sampled_from(["2", "5", "10", "0", "-1", "abc"]), 1.0),
                          O("--max-samples", limits(), 0.1), O("--out", outdir(), 0.3), O("--no-progress", FLAG, 0.5),
                          O("--json", FLAG)]),
}

#: sampling weights: cheap commands more often (reproduce, calibrate and report take ~1 s when they run)
WEIGHTS = {"presets": 2, "link": 12, "bounds": 6, "chain": 16, "network": 10, "sweep": 8, "plot": 5, "sensitivity": 5,
           "report": 3, "reproduce": 2, "calibrate": 1, "diqkd methods": 2, "diqkd rate": 6, "diqkd plan": 5,
           "diqkd simulate": 10, "diqkd distill": 10, "requirements": 1}
assert set(WEIGHTS) == set(COMMANDS)
COMMAND_LIST = [name for name, w in WEIGHTS.items() for _ in range(w)]


@st.composite
def invocations(draw):
    name = draw(st.sampled_from(COMMAND_LIST))
    leading, options = COMMANDS[name]
    args: list = name.split()
    for _, strat in leading:
        args.append(draw(strat))
    chosen = []
    for opt, strat, p, many in options:
        n = (draw(st.integers(1, 2)) if many else 1) if draw(st.floats(0, 1, exclude_max=True)) < p else 0
        for _ in range(n):
            chosen.append((opt, None if strat is FLAG else draw(strat)))
    chosen = draw(st.permutations(chosen))
    for opt, value in chosen:
        args.append(opt)
        if value is not None:
            args.append(value)
    if "--scheduler" in args and "--connect-timeout" not in args:  # an unreachable scheduler: fail fast
        args += ["--connect-timeout", "0.5"]
    if draw(st.integers(0, 40)) == 0:  # a stray token
        args.append(draw(st.sampled_from(["--bogus", "extra", "-x", "--json=1"])))
    return name, args


# ------------------------------------------------------------------------------------------------
# running one case
# ------------------------------------------------------------------------------------------------
class CaseTimeout(BaseException):
    """Raised by the alarm: not an Exception, so no handler can swallow it."""


def _alarm(signum, frame):
    raise CaseTimeout(f"an invocation ran longer than {CASE_TIMEOUT_S} s")


def _resolve(token, fx: Fixtures, case: Path):
    if isinstance(token, str):
        return token
    if token[0] == "IN":
        return str(fx.inputs / token[1])
    _, kind, suffix = token
    if kind == "fresh":
        return str(case / f"out{suffix}")
    if kind == "freshdir":
        return str(case / "outdir")
    if kind == "badext":
        return str(case / "out.xyz")
    if kind == "dir":
        d = case / f"adir{suffix}"
        d.mkdir(exist_ok=True)
        return str(d)
    if kind == "readonly":
        return str(fx.readonly / f"out{suffix}") if suffix else str(fx.readonly)
    if kind == "existing":
        f = case / f"existing{suffix}"
        f.write_bytes(b"existing")
        return str(f)
    if kind == "nested":
        return str(case / "a" / "b" / f"out{suffix}")
    return ""


def _files(d: Path) -> set:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


class Harness:
    def __init__(self, fx: Fixtures):
        self.fx = fx
        self.stats: Counter = Counter()
        self.errors: Counter = Counter()
        self.slowest: list = []
        self.proc = psutil.Process()
        self.rss0 = self.proc.memory_info().rss
        self.cases = 0

    def run(self, name: str, tokens: list) -> None:
        case = Path(tempfile.mkdtemp(prefix="case-", dir=self.fx.root))
        args = [_resolve(t, self.fx, case) for t in tokens]
        before = _files(case)
        cwd = os.getcwd()
        os.chdir(case)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(CASE_TIMEOUT_S)
        t0 = time.perf_counter()
        log = os.environ.get("QREPEATER_FUZZ_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(" ".join(map(repr, args)) + "\n")
        try:
            res = runner.invoke(app, args)
        except CaseTimeout:
            pytest.fail(f"qrepeater {' '.join(map(repr, args))}: ran longer than {CASE_TIMEOUT_S} s")
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
            os.chdir(cwd)
        dt = time.perf_counter() - t0
        self.cases += 1
        self.stats[(name, res.exit_code)] += 1
        if res.exit_code == 2:
            self.errors[(name, re.sub(r"'[^']*'|\S*/\S*|[-+]?\d[\d.e+-]*", "_", res.stderr.strip())[:90])] += 1
        self.slowest = sorted(self.slowest + [(dt, " ".join(args))], reverse=True)[:10]
        where = f"qrepeater {' '.join(map(repr, args))}\nexit {res.exit_code}\nstdout: {res.stdout[-2000:]}\nstderr: {res.stderr[-2000:]}"
        assert res.exception is None or isinstance(res.exception, SystemExit), f"{where}\nexception: {res.exception!r}"
        allowed = {0, 2}
        if name == "diqkd distill" and "aborted:" in res.stderr:
            allowed.add(1)
        if name == "reproduce" and "--strict" in args:
            allowed.add(1)
        assert res.exit_code in allowed, where
        assert "Traceback" not in res.stdout + res.stderr, where
        assert "does not fit in memory" not in res.stderr, f"{where}\nan allocation the estimates did not foresee"
        assert "out of the range this computation handles" not in res.stderr, \
            f"{where}\nan overflow no option check foresaw (cli.common.handle_errors' ArithmeticError fallback)"
        if res.exit_code == 2:
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), where
        after = _files(case)
        new = after - before
        assert not [f for f in after if f.endswith(".tmp")], f"{where}\ntemporary files left: {sorted(after)}"
        if res.exit_code == 2:
            assert not new, f"{where}\npartial output after a failure: {sorted(new)}"
        if res.exit_code == 1 and name == "diqkd distill":  # the report (and its folder), no key
            wrote = [f for f in new if not f.endswith(".json") and not (case / f).is_dir()]
            assert not wrote, f"{where}\nan aborted distill wrote {sorted(new)}"
        assert not list(self.fx.readonly.iterdir()), where
        shutil.rmtree(case, ignore_errors=True)
        if self.cases % 50 == 0:
            self.check_memory()

    def check_memory(self) -> None:
        rss = self.proc.memory_info().rss
        assert rss - self.rss0 < MAX_RSS_GROWTH, f"resident memory grew by {(rss - self.rss0) / 2**20:.0f} MiB"

    def summary(self) -> dict:
        by_command: dict = {}
        for (name, code), n in self.stats.items():
            by_command.setdefault(name, {})[str(code)] = n
        return {"cases": self.cases, "by_command": by_command,
                "rss_growth_mib": (self.proc.memory_info().rss - self.rss0) / 2**20,
                "slowest": [(round(t, 2), a) for t, a in self.slowest],
                "errors": [f"{n:5d}  {name}: {msg}" for (name, msg), n in self.errors.most_common()]}


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    fx = Fixtures(tmp_path_factory.mktemp("fuzz"))
    h = Harness(fx)
    # cap the address space: an allocation the estimates let through fails with MemoryError (seen
    # below as "does not fit in memory") instead of driving the shared machine out of memory
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = ADDRESS_SPACE_LIMIT if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE_LIMIT, hard)
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield h
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    fx.close()
    assert Fixtures.tree(fx.inputs) == fx.snapshot, "an input file was modified"
    h.check_memory()
    path = os.environ.get("QREPEATER_FUZZ_REPORT")
    if path:
        Path(path).write_text(json.dumps(h.summary(), indent=2))


COMMON = dict(derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))


@settings(max_examples=300, **COMMON)
@given(case=invocations())
def test_fuzz_every_command(harness, case):
    harness.run(*case)


# the >= 1e4-case soak run: skipped unless pytest is given --soak (see the module docstring)
@pytest.mark.slow
@pytest.mark.soak
@settings(max_examples=12_000, **COMMON)
@given(case=invocations())
def test_fuzz_every_command_many(harness, case):
    harness.run(*case)


def test_fuzz_covers_every_command():
    """The generator knows every command the app registers."""
    import typer

    def walk(cmd, prefix=""):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, prefix + name + " ") if hasattr(sub, "commands") else [prefix + name]

    assert set(walk(typer.main.get_command(app))) == set(COMMANDS)
