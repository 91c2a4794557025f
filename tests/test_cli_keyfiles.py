"""Issue 15, key files handled like secrets: ``diqkd distill`` never leaves a key it did not produce
(``--force``, aborts, Ctrl-C), records carry a checksum and tampered or truncated records are refused,
seeded (test) keys are marked insecure and their reports are private."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import qrepeater.qkd.distill as distill_mod
from qrepeater.cli.main import app
from qrepeater.errors import RecordsError
from qrepeater.qkd.keyfile import INSECURE_HEADER, key_file_is_insecure, read_key_file
from qrepeater.qkd.rate_adaptation import binary_entropy
from qrepeater.qkd.records import read_records, read_records_checked, write_records
from qrepeater.qkd.simulate import simulate_records
from qrepeater.states import BellDiagonal, werner

runner = CliRunner()

# reference DI-QKD state (S ≈ 2.58, QBER ≈ 3.6 %): at 4e5 rounds the finite-size key is positive
REFERENCE = BellDiagonal.from_correlators(0.893, -0.893, 0.928)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(res, *needles, code=2):
    """The result is exit ``code`` with exactly one line ``error: ...`` on stderr containing ``needles``."""
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def reference_records(tmp_path_factory):
    d = tmp_path_factory.mktemp("records")
    table, _ = simulate_records(REFERENCE, 400_000, 7, test_probability=0.5)
    write_records(table, d / "ref.parquet")
    write_records(table, d / "ref.csv")
    return d


def _fake_reconcile(alice, bob, qber, **kw):
    """Error correction stand-in (Bob = Alice, leakage at f = 1.12): the tests are about files."""
    from qrepeater.qkd.reconciliation import ReconciliationResult

    a = np.asarray(alice, np.uint8)
    return ReconciliationResult(alice=a, bob=a.copy(), kept=np.ones(a.size, bool),
                                leak_bits=int(np.ceil(1.12 * binary_entropy(qber) * a.size)), frames=1, failed_frames=0,
                                input_bits=a.size, qber=qber, code_rate=0.75, frame_bits=65536, bit_errors_corrected=0)


# ---------------------------------------------------------------- key lifecycle ---------------------------------------
def test_aborted_distill_leaves_no_key(tmp_path):
    table, _ = simulate_records(werner(0.6), 20_000, 3)  # no Bell violation: the protocol aborts
    rec = tmp_path / "r.parquet"
    write_records(table, rec)
    key = tmp_path / "k.bin"
    key.write_bytes(b"an older key")
    res = invoke("diqkd", "distill", rec, "--key-out", key)
    one_line(res, "--key-out", "exists", "--force")  # never silently replaced
    assert key.read_bytes() == b"an older key"
    res = invoke("diqkd", "distill", rec, "--key-out", key, "--force", "--json")
    assert res.exit_code == 1 and "aborted" in res.stderr
    assert not key.exists()  # the aborted run left no key, not the older one
    assert json.loads((tmp_path / "k.bin.json").read_text())["aborted"] is True


def test_distill_key_lifecycle_and_insecure_seeded_keys(tmp_path, reference_records, monkeypatch):
    monkeypatch.setattr(distill_mod, "reconcile", _fake_reconcile)
    rec = reference_records / "ref.parquet"
    key = tmp_path / "seeded.bin"
    res = invoke("diqkd", "distill", rec, "--key-out", key, "--seed", "3", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["insecure"] is True and "INSECURE" in out["warning"] and out["records_checksum"] == "verified"
    assert "INSECURE" in res.stderr
    assert key.read_bytes().startswith(INSECURE_HEADER) and key_file_is_insecure(key)
    assert read_key_file(key, out["key_bits"]).size == out["key_bits"]
    report = tmp_path / "seeded.bin.json"
    assert json.loads(report.read_text())["seed"] == "3"
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600  # the report holds the seed
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    # a second run refuses to replace the key; --force replaces it with a fresh (OS-random) one
    first = key.read_bytes()
    one_line(invoke("diqkd", "distill", rec, "--key-out", key), "--key-out", "--force")
    assert key.read_bytes() == first
    res = invoke("diqkd", "distill", rec, "--key-out", key, "--force", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["insecure"] is False and out["seed"] is None and "INSECURE" not in res.stderr
    assert not key_file_is_insecure(key) and key.read_bytes() != first
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o644 & ~_umask()


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


def test_interrupted_distill_leaves_no_key(tmp_path, reference_records, monkeypatch):
    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(distill_mod, "reconcile", interrupt)
    key = tmp_path / "k.bin"
    key.write_bytes(b"old")
    res = invoke("diqkd", "distill", reference_records / "ref.parquet", "--key-out", key, "--force")
    assert res.exit_code == 130
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted:") and "no key" in lines[0]
    assert not key.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


def _rewrite_parquet(src: Path, dst: Path, change) -> None:
    t = pq.read_table(src)
    cols = {n: t.column(n).to_numpy(zero_copy_only=False).copy() for n in t.column_names}
    change(cols)
    new = pa.Table.from_pydict(cols, schema=t.schema.remove_metadata()).replace_schema_metadata(t.schema.metadata)
    pq.write_table(new, dst)


def test_tampered_and_truncated_records_are_refused(tmp_path, reference_records):
    src = reference_records / "ref.parquet"
    # one outcome flipped, metadata kept: content no longer matches the checksum
    flipped = tmp_path / "flipped.parquet"
    _rewrite_parquet(src, flipped, lambda c: c["a"].__setitem__(10, 1 - c["a"][10]))
    with pytest.raises(RecordsError, match="checksum mismatch"):
        read_records(flipped)
    one_line(invoke("diqkd", "distill", flipped, "--key-out", tmp_path / "k.bin"), "checksum mismatch", "allowed")
    # rows dropped from the end
    short = tmp_path / "short.parquet"
    t = pq.read_table(src)
    pq.write_table(t.slice(0, 1000), short)
    one_line(invoke("diqkd", "distill", short, "--key-out", tmp_path / "k.bin"), "truncated")
    # a CSV cut in the middle of the file
    text = (reference_records / "ref.csv").read_bytes()
    cut = tmp_path / "cut.csv"
    cut.write_bytes(text[: len(text) // 2])
    one_line(invoke("diqkd", "distill", cut, "--key-out", tmp_path / "k.bin"), "cut.csv")
    # a CSV with one cell edited
    lines = text.decode().splitlines()
    lines[5] = lines[5][:-1] + ("0" if lines[5][-1] == "1" else "1")
    edited = tmp_path / "edited.csv"
    edited.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordsError, match="checksum mismatch"):
        read_records(edited)
    assert not (tmp_path / "k.bin").exists()


def test_records_without_checksum_are_read_and_said_so(tmp_path, reference_records):
    t = pq.read_table(reference_records / "ref.parquet")
    plain = tmp_path / "plain.parquet"
    pq.write_table(t.replace_schema_metadata(None), plain)
    table, status = read_records_checked(plain)
    assert status == "absent" and table.num_rows == 400_000
    assert read_records_checked(reference_records / "ref.csv")[1] == "verified"
    assert read_records(reference_records / "ref.csv").equals(read_records(reference_records / "ref.parquet"))
