"""Self-contained HTML reports (reproduce and sweep) and their rendering in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qrepeater.cli.main import app

runner = CliRunner()

#: a headless Chromium / Chrome: Debian's chromium package (.ci/run installs it in CI), or the Google Chrome
#: that CI images such as GitHub's ubuntu runners ship
CHROMIUM = next((p for p in ("/usr/bin/chromium", *(shutil.which(n) or "" for n in ("chromium", "chromium-browser", "google-chrome",
                                                                                   "google-chrome-stable")))
                 if p and Path(p).exists()), None)
#: in CI (CI=true, as set by CI services) the browser tests must run: a missing browser fails them
BROWSER_REQUIRED = os.environ.get("CI", "").lower() == "true"
IMG = re.compile(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


@pytest.fixture(scope="module")
def reproduce_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro")
    res = runner.invoke(app, ["reproduce", "ustc2026", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


@pytest.fixture(scope="module")
def sweep_report_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    (d / "s.toml").write_text(
        'name = "tour"\nseed = 1\nmetrics = ["rate_hz", "heralded_fidelity", "pairs_per_channel_use"]\n'
        '[parameters]\ndistance_km = { start = 10, stop = 200, num = 6, scale = "log" }\nsegments = [1, 2, 4]\n'
    )
    res = runner.invoke(app, ["sweep", str(d / "s.toml"), "--out", str(d / "r.parquet"), "--workers", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    rep = runner.invoke(app, ["report", str(d / "r.parquet"), "--out", str(d / "report")])
    assert rep.exit_code == 0, rep.output
    return d / "report"


def _self_contained(text: str) -> None:
    assert not re.search(r'(src|href)="(?!data:)', text), "external resource referenced"
    assert "http://" not in text and "https://" not in text


def test_reproduce_writes_a_self_contained_report(reproduce_dir):
    out, payload = reproduce_dir
    text = (out / "report.html").read_text(encoding="utf-8")
    assert payload["report"] == str(out / "report.html")
    _self_contained(text)
    images = IMG.findall(text)
    assert len(images) == len(payload["plots"]) == 4  # pull plot + the three SPEP link curves
    for b64 in images:
        assert base64.b64decode(b64).startswith(b"\x89PNG")
    # every paper-vs-model row is in the table, with its model value
    for row in payload["figures"]:
        assert row["quantity"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in text
    # the headline counts out-of-sample predictions only, and each row shows its role
    s = payload["summary"]
    assert f"{s['predictions_within']} of {s['predictions']} out-of-sample predictions within 2σ" in text
    assert f"{s['fitted']} figures used for calibration" in text
    for role in ("prediction", "fitted", "derived", "formula"):
        assert f'<td class="l">{role}</td>' in text
    # the configuration used
    assert "[node_a.memory]" in text and "storage_level_lifetime_s" in text


def test_reproduce_no_html_keeps_the_old_behaviour(tmp_path):
    res = runner.invoke(app, ["reproduce", "ustc2026", "--out", str(tmp_path), "--no-plots", "--no-html", "--json"])
    assert res.exit_code == 0
    assert not (tmp_path / "report.html").exists() and (tmp_path / "results.json").exists()


def test_sweep_report(sweep_report_dir):
    text = (sweep_report_dir / "report.html").read_text(encoding="utf-8")
    _self_contained(text)
    images = IMG.findall(text)
    assert len(images) == 3  # one per recorded metric against distance, by segments
    # captions name each metric in words with its column, and the parameter lines are drawn by
    assert "pairs per channel use (pairs_per_channel_use) vs total distance (distance_km), by number of segments (segments)" in text
    assert "18 points (0 rejected by the model)" in text
    assert 'name = &quot;tour&quot;' in text  # the sweep specification as written


def test_report_on_a_missing_file_is_one_line(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "no such results file" in res.stderr


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    base = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
    ]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None and not BROWSER_REQUIRED, reason="Chromium not installed (CI installs it via .ci/run)")
@pytest.mark.parametrize("which", ["reproduce", "sweep"])
def test_report_renders_in_headless_chromium(which, reproduce_dir, sweep_report_dir, tmp_path):
    assert CHROMIUM is not None, "CI=true but no chromium / google-chrome on PATH: .ci/run installs it with apt-get"
    page = (reproduce_dir[0] if which == "reproduce" else sweep_report_dir) / "report.html"
    url = page.resolve().as_uri()
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", url], tmp_path)
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body, dom.stderr[-2000:]
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-errors") == "0", attrs
    assert int(attrs["data-images"]) >= 3 and attrs["data-images-loaded"] == attrs["data-images"]
    shot = tmp_path / "shot.png"
    # tall enough for the reproduce page's figure table and the plots below it
    res = _chromium([f"--screenshot={shot}", "--window-size=1200,6000", url], tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000, res.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)[..., :3]
    colourful = (img.max(axis=2) - img.min(axis=2)) > 0.3  # plot lines and markers; the text is grey
    assert colourful.sum() > 2000
    # the plots sit below the table: coloured pixels below the first third of the screenshot
    assert colourful[img.shape[0] // 3 :].sum() > 1000 or which == "sweep"
    assert np.mean(img < 0.9) > 0.02  # not a blank page
