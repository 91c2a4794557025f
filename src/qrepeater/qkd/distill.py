"""DI-QKD post-processing: from validated round records to a secret key (or an abort).

Steps
-----
1. **Sifting**: key rounds (``test = False``, ``x = 0``, ``y = 2``) give Alice's and Bob's raw keys.
2. **Parameter estimation** (:mod:`qrepeater.qkd.statistics`): CHSH ``S`` from the test rounds and
   the QBER from the key rounds. Abort if ``S ≤ 2`` (no Bell violation) or if the finite-size key is
   not positive even with the expected leakage ``f·h(Q)·n_key``.
3. **Error correction** (:mod:`qrepeater.qkd.reconciliation`): one-way LDPC syndromes, frame by
   frame; frames that do not decode are discarded.
4. **Verification**: Alice sends a ``tag_bits``-bit Toeplitz hash of her reconciled key with a fresh
   seed; Bob compares it with the hash of his. A mismatch aborts (ε_cor = 2^{−tag_bits}).
5. **Privacy amplification** (:mod:`qrepeater.qkd.privacy`): Toeplitz hashing to the length of the
   finite-size analysis (``method``: ``qrepeater.qkd.finite_size.finite_key`` for
   ``complementarity-reconstruction`` and ``collective-aep``, :mod:`qrepeater.qkd.bff_finite` for ``bff``,
   the entropy bound from all four observed correlators) given the *actual* leakage
   (syndromes + status bits + tag), minus the bits discarded with failed frames (min-entropy chain
   rule: ``H_min(A_kept|E) ≥ H_min(A|E) − |A_discarded|``). A key is sized by this finite-size
   analysis or not produced: never by an asymptotic rate.

Randomness: Alice's punctured filler bits, the verification seed and the privacy-amplification seed
come from the operating system (``secrets``) unless ``seed`` is given (tests, reproducible examples).
A seeded run is **insecure** — anyone with the records and the seed rebuilds the key — and says so:
``report["insecure"] = True`` with a warning, the key file starts with
:data:`qrepeater.qkd.keyfile.INSECURE_HEADER`, and its report (which holds the seed) is written 0600.
Key bits are never logged or printed; :class:`DistillResult` hides them from ``repr``.

Key lifecycle (:func:`distill_file`): an existing key file is never replaced silently (``force=True``
deletes it once the records are read and validated, before any processing), and the key file is
written only when this run produced a key — an aborted or interrupted run leaves no key at ``key_out``.
Records whose checksum does not match their content are refused
(:func:`qrepeater.qkd.records.read_records_checked`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .bff_finite import ChshTestCounts, bff_collective_key_length
from .entropy import TSIRELSON
from .finite_size import finite_key
from .privacy import random_bits, toeplitz_hash, verification_tag
from .rate_adaptation import binary_entropy
from .reconciliation import DECODERS, reconcile
from .statistics import estimate_chsh, estimate_qber

__all__ = ["DistillResult", "distill", "distill_file", "finite_key_bits"]

#: Collective attacks, built from published theorems (Pironio's bound, Hoeffding, the quantum AEP, leftover
#: hashing).  Not the in-house complementarity model: a reconstruction of an unread paper is never a default
#: (issue 13); no general-attack analysis fits this pipeline's raw key (the key rounds only).
DEFAULT_METHOD = "collective-aep"
DEFAULT_TAG_BITS = 64
#: finite-size analyses whose raw key is exactly the sifted key rounds (what this pipeline reconciles):
#: the in-house reconstruction (old and new name), collective attacks with the CHSH value (Pironio, default), and
#: collective attacks with the BFF bound on all four correlators (:mod:`qrepeater.qkd.bff_finite`)
SUPPORTED_METHODS = ("complementarity", "complementarity-reconstruction", "collective-aep", "bff")
#: default target efficiency: at the reference point (S ≈ 2.57, Q ≈ 3.5 %, 4e5 rounds) the
#: complementarity key is positive only for f below ≈ 1.13 (see benchmarks/RESULTS.md)
DEFAULT_EFFICIENCY = 1.12
#: what a seeded run's report says about its key
INSECURE_WARNING = ("INSECURE: seeded test run; anyone with the records and the seed can rebuild this key. "
                    "Never use it as a secret; run without a seed for a real key.")


def finite_key_bits(rounds, chsh, qber, *, method, eps_sec, eps_cor, test_fraction, key_fraction, ec_leakage_bits,
                    test_rounds=None, key_rounds=None):
    """Finite-size key length and a description of the analysis used.

    The length is always that of the finite-size analysis :func:`qrepeater.qkd.finite_size.finite_key`
    (``method``) at the given leakage; there is no asymptotic fallback: a key is sized by a
    finite-size analysis or not produced (0 bits, with the analysis' reason).
    """
    kwargs = dict(method=method, eps_cor=eps_cor, test_fraction=test_fraction, ec_leakage_bits=ec_leakage_bits,
                  compute_min_rounds=False)
    if eps_sec is not None:
        kwargs["eps_sec"] = eps_sec
    if method in ("complementarity", "complementarity-reconstruction"):
        kwargs["key_fraction"] = key_fraction
    elif test_rounds is not None:  # collective-aep: the observed counts
        kwargs.update(test_rounds=test_rounds, key_rounds=key_rounds)
    res = finite_key(rounds, chsh, qber, **kwargs)
    info = {"analysis": f"qrepeater.qkd.finite_size.finite_key(method={method!r})", "eps_sec": res.eps_sec,
            "eps_cor": res.eps_cor, "eps_pe": res.eps_pe, "eps_pa": res.eps_pa, "eps_smooth": res.eps_smooth,
            "reason": res.details.get("reason", "")}
    return int(res.key_bits), info


@dataclass
class DistillResult:
    """Outcome of :func:`distill`; ``report`` is JSON-ready, the keys are not shown by ``repr``."""

    report: dict
    alice_key: np.ndarray | None = field(default=None, repr=False)
    bob_key: np.ndarray | None = field(default=None, repr=False)

    @property
    def aborted(self) -> bool:
        return bool(self.report["aborted"])

    def to_dataframe(self):
        """The report's scalar entries as a one-row :class:`pandas.DataFrame` (pandas imported here);
        units in ``df.attrs["units"]``. The keys themselves are not included."""
        import pandas as pd

        row = {k: v for k, v in self.report.items() if v is None or isinstance(v, (int, float, str, bool))}
        df = pd.DataFrame([row])
        df.attrs["units"] = {k: "bit" for k in row if k.endswith("_bits")}
        return df


def _key_sizer(records, rounds, chsh, qber, n_key, *, method, eps_sec, eps_cor, test_fraction, key_fraction, report):
    """``size(leak) -> (bits, info)`` of ``method`` for these records (the BFF entropy is computed once).

    ``collective-aep`` and ``bff`` take the won fraction of the CHSH test rounds as the score (the quantity
    Hoeffding's inequality bounds; S = 8ω - 4, clipped to 2√2) and the observed counts; the
    reconstruction keeps the correlator estimate Ŝ and the fractions, as before.
    """
    if method in ("complementarity", "complementarity-reconstruction"):  # Ŝ can fluctuate above 2√2: clip
        return lambda leak: finite_key_bits(rounds, min(chsh, TSIRELSON), qber, method=method, eps_sec=eps_sec, eps_cor=eps_cor,
                                            test_fraction=test_fraction, key_fraction=key_fraction, ec_leakage_bits=leak)
    counts = ChshTestCounts.from_records(records)
    report["chsh_winning_fraction"] = counts.winning_fraction
    if method == "collective-aep":
        s_win = min(8.0 * counts.winning_fraction - 4.0, TSIRELSON)
        return lambda leak: finite_key_bits(rounds, s_win, qber, method=method, eps_sec=eps_sec, eps_cor=eps_cor,
                                            test_fraction=test_fraction, key_fraction=key_fraction, ec_leakage_bits=leak,
                                            test_rounds=counts.rounds, key_rounds=n_key)
    cache: dict = {}

    def size(leak):
        kw = {} if eps_sec is None else {"eps_sec": eps_sec}
        length, det = bff_collective_key_length(counts, n_key, qber, eps_cor=eps_cor, ec_leakage_bits=leak,
                                                entropy=cache.get("entropy"), **kw)
        if "entropy" in det:
            cache["entropy"] = det["entropy"]
            report["bff"] = det["entropy"]
        bits = int(math.floor(length)) if math.isfinite(length) and length > 0 else 0
        info = {"analysis": "qrepeater.qkd.bff_finite.bff_collective_key_length (BFF bound on all four correlators, "
                            "collective attacks)", **{k: det[k] for k in ("eps_sec", "eps_cor", "eps_pe", "eps_pa", "eps_smooth")},
                "reason": det.get("reason", "")}
        return bits, info

    return size


def _digest(bits: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(np.asarray(bits, np.uint8)).tobytes() + len(bits).to_bytes(8, "big")).hexdigest()


def distill(
    records,
    *,
    method: str = DEFAULT_METHOD,
    eps_sec: float | None = None,
    tag_bits: int = DEFAULT_TAG_BITS,
    efficiency: float | None = None,
    frame_bits: int | None = None,
    decoder: str = "compiled",
    seed=None,
    bob_tamper=None,
) -> DistillResult:
    """Run the post-processing on a validated records table (see the module docstring).

    Parameters
    ----------
    records : pyarrow.Table
        Validated round records (:func:`qrepeater.qkd.records.read_records`).
    method : str
        Finite-size analysis (:data:`SUPPORTED_METHODS`): ``"collective-aep"`` (default; collective
        attacks, Pironio's bound at a Hoeffding bound on the won fraction of the test rounds),
        ``"complementarity-reconstruction"`` (= ``"complementarity"``, the in-house phase-error model,
        claimed against general attacks but not checked against its paper) or ``"bff"`` (the same framework
        with the Brown–Fawzi–Fawzi bound on all four correlators' confidence intervals,
        :mod:`qrepeater.qkd.bff_finite`; one set of SDPs, ~3 s). ``eat`` and ``nadlinger2022`` are refused:
        their raw key is Alice's outputs of all rounds, which this pipeline does not reconcile.
    eps_sec : float, optional
        Secrecy parameter (``finite_key``'s default if None).
    tag_bits : int
        Verification tag length; ``ε_cor = 2^{−tag_bits}``.
    efficiency : float, optional
        Target reconciliation efficiency ``f`` (default :data:`DEFAULT_EFFICIENCY`).
    decoder : {"compiled", "ldpc"}
        Belief-propagation decoder of the reconciliation (see :func:`~qrepeater.qkd.reconciliation.reconcile`):
        the compiled layered decoder (default) or the ``ldpc`` package's ``BpDecoder`` (reference, ~20× slower).
    seed : int or SeedSequence, optional
        Makes every random choice reproducible (tests only); None uses OS randomness.
    bob_tamper : callable, optional
        ``bob_tamper(bob_bits) -> bob_bits`` applied to Bob's sifted key after parameter estimation
        (fault injection for tests: simulates a corrupted string the code cannot correct).
    """
    if method not in SUPPORTED_METHODS:
        raise ParameterError(
            "method", method,
            " | ".join(SUPPORTED_METHODS) + " (the raw key here is the key rounds only; eat and nadlinger2022 "
            "take Alice's outputs of all rounds as raw key, which this pipeline does not reconcile)",
        )
    if decoder not in DECODERS:
        raise ParameterError("decoder", decoder, " | ".join(DECODERS))
    if not 32 <= int(tag_bits) <= 1024:
        raise ParameterError("tag_bits", tag_bits, "32..1024")
    tag_bits = int(tag_bits)
    eps_cor = 2.0 ** (-tag_bits)
    ss = None if seed is None else (seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed))
    child = ss.spawn(3) if ss is not None else [None, None, None]

    col = lambda c: records.column(c).to_numpy(zero_copy_only=False)  # noqa: E731
    test, x, y, a, b = (col(c) for c in ("test", "x", "y", "a", "b"))
    rounds = int(test.size)
    key_sel = ~test.astype(bool) & (x == 0) & (y == 2)
    n_key = int(key_sel.sum())
    chsh = estimate_chsh(records)
    qber = estimate_qber(records)
    test_fraction = float(test.sum()) / rounds
    key_fraction = n_key / rounds
    report: dict = {
        "rounds": rounds,
        "test_rounds": int(test.sum()),
        "key_rounds": n_key,
        "chsh": chsh.value,
        "chsh_stderr": chsh.stderr,
        "chsh_ci95": list(chsh.ci95),
        "qber": qber.value,
        "qber_stderr": qber.stderr,
        "qber_ci95_wilson": list(qber.wilson95),
        "qber_ci95_clopper_pearson": list(qber.clopper_pearson95),
        "method": method,
        "attacks": "collective" if method in ("collective-aep", "bff") else "general (in-house reconstruction)",
        "eps_sec": eps_sec,
        "eps_cor": eps_cor,
        "tag_bits": tag_bits,
        "ec_leakage_bits": None,
        "ec_syndrome_bits": None,
        "ec_efficiency": None,
        "ec_frames": None,
        "ec_failed_frames": None,
        "ec_code_rate": None,
        "reconciled_bits": None,
        "key_bits": 0,
        "aborted": False,
        "abort_reason": "",
        "toeplitz_seed_bits": None,
        "toeplitz_seed_sha256": None,
        "seed": None if ss is None else str(ss.entropy),
        "randomness": "os (secrets)" if ss is None else "seeded (testing only)",
        "insecure": ss is not None,
    }
    if ss is not None:
        report["warning"] = INSECURE_WARNING

    def abort(reason: str) -> DistillResult:
        report["aborted"] = True
        report["abort_reason"] = reason
        report["key_bits"] = 0
        return DistillResult(report=report)

    if chsh.value <= 2.0:
        return abort(f"CHSH S = {chsh.value:.4f} <= 2: no Bell violation, no device-independent key")
    q = qber.value
    q_design = min(max(q, 1e-4), 0.499)
    # pre-check with the leakage we expect, before spending the error-correction effort
    f_target = efficiency if efficiency is not None else DEFAULT_EFFICIENCY
    expected_leak = f_target * binary_entropy(q_design) * n_key + tag_bits
    size = _key_sizer(records, rounds, chsh.value, q, n_key, method=method, eps_sec=eps_sec, eps_cor=eps_cor,
                      test_fraction=test_fraction, key_fraction=key_fraction, report=report)
    pre_bits, pre_info = size(expected_leak)
    report["eps_sec"] = pre_info.get("eps_sec", eps_sec)
    for k in ("eps_pe", "eps_pa", "eps_smooth"):
        report[k] = pre_info.get(k)
    report["finite_size_analysis"] = pre_info["analysis"]
    if pre_bits <= 0:
        why = pre_info.get("reason") or "finite-size key <= 0"
        return abort(f"no positive finite-size key expected at S = {chsh.value:.4f}, QBER = {q:.4f}: {why}")

    alice = a[key_sel].astype(np.uint8)
    bob = b[key_sel].astype(np.uint8)
    if bob_tamper is not None:
        bob = np.asarray(bob_tamper(bob.copy()), dtype=np.uint8)

    kw = {"efficiency": f_target, "decoder": decoder}
    if frame_bits is not None:
        kw["frame_bits"] = frame_bits
    rec = reconcile(alice, bob, q_design, seed=child[0], **kw)
    leak = rec.leak_bits + tag_bits
    report.update(
        ec_syndrome_bits=rec.leak_bits, ec_leakage_bits=leak, ec_frames=rec.frames, ec_failed_frames=rec.failed_frames,
        ec_code_rate=rec.code_rate, ec_decoder=decoder, reconciled_bits=int(rec.alice.size),
        ec_efficiency=leak / (n_key * binary_entropy(q_design)) if n_key else None,
    )
    if rec.alice.size == 0:
        return abort("error correction failed in every frame")

    vseed = random_bits(rec.alice.size + tag_bits - 1, child[1])
    if not np.array_equal(verification_tag(rec.alice, vseed, tag_bits), verification_tag(rec.bob, vseed, tag_bits)):
        return abort("verification failed: reconciled keys differ (hash tags do not match)")

    discarded = n_key - int(rec.alice.size)
    bits, info = size(leak)
    length = min(bits - discarded, int(rec.alice.size))
    report["finite_key_bits_before_discard"] = bits
    report["discarded_bits"] = discarded
    if length <= 0:
        why = info.get("reason") or f"finite-size key {bits} bits minus {discarded} discarded bits <= 0"
        return abort(f"no positive key after error correction: {why}")

    pseed = random_bits(rec.alice.size + length - 1, child[2])
    key_a = toeplitz_hash(rec.alice, pseed, length)
    key_b = toeplitz_hash(rec.bob, pseed, length)
    report["key_bits"] = int(length)
    report["toeplitz_seed_bits"] = int(pseed.size)
    report["toeplitz_seed_sha256"] = _digest(pseed)
    report["toeplitz_seed_hex"] = np.packbits(pseed).tobytes().hex()
    report["verification_seed_hex"] = np.packbits(vseed).tobytes().hex()
    return DistillResult(report=report, alice_key=key_a, bob_key=key_b)


def distill_file(records_path, key_out, *, report_out=None, force: bool = False, **kwargs) -> DistillResult:
    """Read and validate ``records_path`` (checksum included), distill, write Alice's key (a new file,
    mode 0600) and the JSON report (0644; 0600 for a seeded run, whose report holds the seed).

    The key file is written only if this run produced a key: an existing ``key_out`` is refused
    unless ``force=True``, in which case it is deleted once the records are validated, before the
    processing starts — so an aborted, failed or interrupted run leaves no key at ``key_out``. The
    report goes to ``report_out`` (default: ``key_out`` with suffix ``.json``) in both cases, and says
    whether the records' checksum was verified (``records_checksum``).

    ``kwargs`` go to :func:`distill` (``method``, ``eps_sec``, ``tag_bits``, ``efficiency``, ``seed``, ...).

    Returns
    -------
    DistillResult
        ``report`` (the JSON written to ``report_out``): ``rounds``, ``test_rounds``, ``key_rounds``;
        ``chsh`` and ``qber`` (1) with their ``_stderr``; ``key_bits`` (bit, the distilled key length);
        ``ec_leakage_bits`` and ``ec_syndrome_bits`` (bit), ``ec_efficiency`` (1), ``ec_frames``,
        ``ec_failed_frames``; ``eps_sec``, ``eps_cor`` (probabilities); ``aborted`` and
        ``abort_reason``; ``key_file``, ``report_file``, ``records_checksum``; ``alice_key`` and
        ``bob_key`` (arrays of bits, None when aborted). ``.to_dataframe()``: the report's scalars as
        one pandas row.
    """
    from ..files import atomic_path
    from .keyfile import write_key_file
    from .records import read_records_checked

    key_out = Path(key_out)
    report_out = Path(report_out) if report_out is not None else key_out.with_suffix(key_out.suffix + ".json")
    if (key_out.exists() or key_out.is_symlink()) and not force:
        raise ParameterError("key_out", str(key_out), "a file name that does not exist yet (an existing key is replaced only with force)")
    table, checksum = read_records_checked(records_path)
    if force and (key_out.exists() or key_out.is_symlink()):
        if key_out.is_dir():
            raise ParameterError("key_out", str(key_out), "a file name, not a folder")
        key_out.unlink()
    res = distill(table, **kwargs)
    res.report["records_checksum"] = checksum
    insecure = bool(res.report.get("insecure"))
    res.report["report_file"] = str(report_out)
    wrote_key = False
    try:
        with atomic_path(report_out, mode=0o600 if insecure else 0o644) as tmp:
            if not res.aborted:
                write_key_file(key_out, res.alice_key, insecure=insecure)
                wrote_key = True
                res.report["key_file"] = str(key_out)
            tmp.write_text(json.dumps(res.report, indent=2, default=float) + "\n", encoding="utf-8")
    except BaseException:
        if wrote_key:  # a key without its report (key length, seeds) is useless: take it back
            key_out.unlink(missing_ok=True)
        raise
    return res
