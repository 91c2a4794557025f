"""One CLI grammar (issue 17): every command's options read and behave the same.

Walks the whole ``qrepeater`` command tree (click objects behind the typer app) and checks that

* boolean flags show as flags in ``--help`` (no ``<bool>``, which reads as ``--json true``);
* an option name means one thing: ``--json``, ``--preset``/``--config``/``--set``, ``--progress``,
  ``--memory-limit-gb`` have identical help and defaults wherever they appear; ``--pairs`` and
  ``--seed`` one default and one help; ``--out`` is always an optional path with ``-o``; ``--engine``
  lists its engines in one order with one description each and refuses others in the same words;
* ``link`` takes ``--distance-km`` and titles its table by what was run (scenario, ``--set``, length);
* result tables fit an 80-column terminal without cutting a header.
"""

from __future__ import annotations

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from qrepeater.cli.main import app
from qrepeater.cli.options import ENGINES, PAIRS_DEFAULT, SEED_HELP, engine_help

runner = CliRunner()


def _commands():
    """(path, click command) of every leaf command."""
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, path + [name])
        else:
            out.append((" ".join(path), cmd))

    walk(typer.main.get_command(app), [])
    return out


COMMANDS = _commands()


def _options(name: str):
    """(command path, param) of every option called ``name`` (e.g. ``--json``)."""
    return [(path, p) for path, cmd in COMMANDS for p in cmd.params if name in getattr(p, "opts", [])]


def test_the_tree_has_every_command():
    names = {path for path, _ in COMMANDS}
    for expected in ("link", "presets", "chain", "bounds", "network", "sweep", "plot", "report", "sensitivity",
                     "reproduce", "calibrate", "requirements", "diqkd rate", "diqkd plan", "diqkd methods",
                     "diqkd simulate", "diqkd distill"):
        assert expected in names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS])
def test_flags_show_as_flags_in_help(path):
    res = runner.invoke(app, path.split() + ["--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.stdout
    cmd = dict(COMMANDS)[path]
    for p in cmd.params:
        if getattr(p, "is_flag", False):
            assert p.metavar == "", (path, p.name)


@pytest.mark.parametrize("option", ["--json", "--preset", "--config", "--set", "--progress", "--memory-limit-gb"])
def test_shared_options_are_identical(option):
    found = _options(option)
    assert len(found) >= 2, option
    first_path, first = found[0]
    for path, p in found[1:]:
        assert p.help == first.help, f"{option}: {path!r} and {first_path!r} differ in help"
        assert p.default == first.default, f"{option}: {path!r} and {first_path!r} differ in default"
        assert p.opts == first.opts and p.secondary_opts == first.secondary_opts, (path, option)


def test_pairs_mean_the_same_everywhere():
    found = _options("--pairs")
    assert {path for path, _ in found} >= {"chain", "sensitivity", "requirements", "network"}
    for path, p in found:
        if path == "network":  # pairs per consumer; runs --duration-s when not given
            assert p.default is None and p.help.startswith("Delivered pairs")
            continue
        assert p.default == PAIRS_DEFAULT, path
        assert p.help == found[0][1].help if found[0][0] != "network" else True
        assert p.help.startswith("Delivered pairs"), path


def test_seed_is_optional_with_one_meaning():
    found = _options("--seed")
    assert {path for path, _ in found} >= {"chain", "network", "requirements", "diqkd simulate", "diqkd distill"}
    for path, p in found:
        assert p.default is None and not p.required, path
        assert p.help.startswith(SEED_HELP), path


def test_out_is_always_an_optional_path():
    found = _options("--out")
    assert len(found) >= 7
    for path, p in found:
        ctx = typer.Context(dict(COMMANDS)[path])
        assert not p.required, path
        assert "-o" in p.opts, path
        assert p.display_type(ctx) == "<path>", (path, p.display_type(ctx))


def test_engine_lists_are_one_vocabulary():
    found = _options("--engine")
    assert {path for path, _ in found} >= {"chain", "sensitivity", "requirements"}
    for path, p in found:
        listed = re.findall(r"(?:Engine: |; )(\w+) \(", p.help)
        assert listed and all(e in ENGINES for e in listed), (path, p.help)
        assert listed == [e for e in ENGINES if e in listed], f"{path}: engines out of order"
        assert p.help == engine_help(listed), path
        assert p.default in listed, path
    # a wrong engine: the same one line naming the option, the value and the allowed list
    for args in (["chain", "--distance-km", "10"], ["sensitivity", "--metric", "rate_hz"],
                 ["requirements", "--target", "rate_hz>=1", "--distance-km", "10"]):
        res = runner.invoke(app, args + ["--engine", "warp"])
        assert res.exit_code == 2
        assert re.fullmatch(r"error: --engine = 'warp' is out of range; allowed: [a-z, ]+\n", res.stderr), res.stderr


def test_link_takes_a_distance_and_titles_its_table_by_the_run():
    near = json.loads(runner.invoke(app, ["link", "--distance-km", "10", "--json"]).stdout)
    far = json.loads(runner.invoke(app, ["link", "--distance-km", "50", "--json"]).stdout)
    same = json.loads(runner.invoke(app, ["link", "--set", "link.length_km=50", "--json"]).stdout)
    assert far["rate_hz"] < near["rate_hz"] and far == same
    res = runner.invoke(app, ["link", "--set", "link.excitation_probability=0.025", "--distance-km", "25"],
                        env={"COLUMNS": "120"})
    assert res.exit_code == 0
    title = res.stdout.strip().splitlines()[0].strip()
    assert title == "link: ustc2026, link.excitation_probability=0.025, 25 km"
    res = runner.invoke(app, ["link", "--distance-km", "-1"])
    assert res.exit_code == 2 and res.stderr.startswith("error: --distance-km")


# ------------------------------------------------------------------------------------------------
# tables at 80 columns
# ------------------------------------------------------------------------------------------------

TABLE_COMMANDS = {
    "presets": ["presets"],
    "link": ["link"],
    "link-set": ["link", "--set", "link.excitation_probability=0.025", "--set", "fiber.attenuation_db_per_km=0.16"],
    "bounds": ["bounds", "--distance-km", "100"],
    "chain": ["chain", "--preset", "abstract", "--distance-km", "20"],
    "sensitivity": ["sensitivity", "--preset", "abstract", "--metric", "rate_hz", "--target", "2"],
    "diqkd-rate": ["diqkd", "rate", "--chsh", "2.5758", "--qber", "0.036", "--rounds", "405145"],
    "diqkd-plan": ["diqkd", "plan", "--chsh", "2.5758", "--qber", "0.036", "--target-bits", "1917"],
    "diqkd-methods": ["diqkd", "methods"],
    "reproduce-list": ["reproduce", "--list"],
    "requirements": ["requirements", "--preset", "abstract", "--target", "rate_hz>=1", "--distance-km", "50", "--engine",
                     "link", "--max-evaluations", "20"],
}


@pytest.mark.parametrize("name", sorted(TABLE_COMMANDS))
def test_tables_fit_80_columns_without_cutting_headers(name):
    res = runner.invoke(app, TABLE_COMMANDS[name], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    for line in res.stdout.splitlines():
        assert len(line) <= 80, f"{name}: line of {len(line)} columns: {line!r}"
    assert "…" not in res.stdout, f"{name}: a header or cell is cut:\n{res.stdout}"  # rich's ellipsis
