"""Parameters of a repeater chain shared by the exact and Monte Carlo engines.

Time is discretised in *attempts*: every elementary link makes one heralded attempt per
``attempt_duration_s`` (which includes the heralding round trip), all links in lock-step. A quantity
"in attempts" multiplied by ``attempt_duration_s`` is in seconds. With a classical delay δ the
protocol's times are n attempts plus m one-segment message delays, t = n·τ + m·δ (below).

Protocol (the exact and Monte Carlo engines implement exactly this, and so does the event engine
except for its swap-asap cut-off clock, docs/events_engine.md; see :mod:`qrepeater.engines.exact`):

* Elementary link: attempts succeed independently with ``success_probability``; with ``multiplex``
  = M memories per node per link side, M attempt streams run in parallel and the link is the *first*
  success among them (later successes in the same time step are discarded), i.e. a geometric number of
  attempts with success probability 1 − (1 − p)^M ≈ M p at small p.
* Per-segment links (optional, :class:`ChainSpec` with a tuple ``link`` / ``multiplex``): segment i
  succeeds with 1 − (1 − p_i)^(M_i) per attempt and heralds its own fresh state; all segments share the
  attempt clock, the classical delay and the pair decay rates (:mod:`qrepeater.builders.segments` puts
  links of different lengths and protocols on one clock). A nested level then joins two different
  sub-chains (:mod:`qrepeater.engines.exact_hetero`).
* Link-level purification (optional): ``purification_rounds`` nested rounds of recurrence
  purification (BBPSSW or DEJMPS); each round needs two pairs of the previous round, produced in
  parallel on separate memories (2^rounds memory pairs per link).
* Swapping: ``schedule="nested"`` (2^n segments: pairs spanning 2^k segments are joined pairwise,
  Briegel et al. PRL 81, 5932 (1998)) or ``"swap-asap"`` (any node swaps as soon as it holds two pairs).
* Waiting: the earlier of two pairs to be joined (swapped or purified) decays while it waits for the
  later one. With a cut-off, a pair that has waited more than ``cutoff_s`` is discarded (per-segment
  cut-offs: the stricter of the pair's two end memories, :class:`ChainSpec`). A failed
  swap/purification destroys both inputs.
* Classical communication (Pauli-frame messages; one-way delay δ = ``classical_delay_s`` per segment;
  the heralding round trip is part of ``attempt_duration_s``). This is the message protocol of the
  event engine (docs/events_engine.md), and all three engines implement the same rules:

  - *nested swap*: the node joining two pairs of span 2^(j−1) swaps once it holds both and *knows*
    them (all lower-level outcomes for its two memories arrived); the outcome reaches the new pair's
    ends — the next level's swapping node and its partner, or the chain ends — 2^(j−1)·δ later, and
    only then is the pair *ready* (used by the next level, or delivered). It is stored, and decays,
    meanwhile. A nested chain of n = 2^L segments with certain swaps and no cut-off delivers
    (2^L − 1)·δ later than without delay, and each correlator gains the extra storage factor
    exp(−Γ L·2^(L−1)·δ) (Γ = Γ⊥ for ⟨XX⟩, ⟨YY⟩, Γ∥ for ⟨ZZ⟩);
  - *failed swap*: known at the swapping node at once; the level restarts at once (failure notices
    are not sent as messages, as in the event engine);
  - *purification round*: both nodes exchange outcomes (δ); success and failure are both known δ
    after the round; the kept pair decays meanwhile;
  - *swap-asap* (n > 2: Monte Carlo and event engines): swaps do not wait for messages; each outcome
    travels to both ends of the new pair at δ per segment and is forwarded through nodes that swapped
    meanwhile; the pair is delivered when both ends hold every outcome, and decays until then.

  Shchukin, Schmidt and van Loock (arXiv:1710.06214, "On the waiting time in quantum repeaters with
  probabilistic entanglement swapping") show why it matters: the share of classical communication in
  the waiting time grows with the success probabilities.
* Cut-off and messages: a pair's cut-off clock starts when it is *created* — at its herald, when its
  purification outcome is known, or at its swap — and runs until it is used; *waiting for a swap
  outcome counts against the cut-off*. A level-j pair (j ≥ 1), ready 2^(j−1)·δ after its swap, may
  therefore wait at most c − 2^(j−1)·δ for its partner (a link pair or a purified pair: c), and is
  discarded at (its ready time) + c − 2^(j−1)·δ otherwise. The delivered pair, too, must be complete
  within c of its creation: a nested chain needs c ≥ (n/2)·δ and a swap-asap chain at least
  ⌈n/2⌉·δ — shorter cut-offs would discard every pair and are refused (:class:`ChainSpec`). A
  swap-asap end-to-end pair that is not complete within c of the last swap is discarded and all
  links restart. Cut-offs are whole attempts; a partner ready exactly at the limit is in time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ParameterError, check_range
from ..states import BellDiagonal, werner

SCHEDULES = ("swap-asap", "nested")
#: Ties (attempts): a partner ready within this of the cut-off limit is in time, as the event engine's
#: timers that fire 1e-6 attempt after the grid instant (``engines.events.cutoff.GRID_TOL``).
CUTOFF_TIE_ATTEMPTS = 1e-6
PURIFICATIONS = ("none", "bbpssw", "dejmps")


@dataclass(frozen=True)
class SegmentLink:
    """One elementary link of a chain.

    Parameters
    ----------
    success_probability : float
        Heralding success probability per attempt (per memory/mode), in [0, 1] (exclusive of 0).
    attempt_duration_s : float
        Duration of one attempt (s), including the heralding round trip.
    fresh_state : BellDiagonal
        State of the pair at the herald.
    transverse_rate_hz, longitudinal_rate_hz : float
        Pair decay rates Γ⊥, Γ∥ (1/s) of the stored pair (see :func:`qrepeater.states.decay`).
    classical_delay_s : float
        One-way classical delay (s) across one segment, used to announce swap/purification outcomes.
    """

    success_probability: float
    attempt_duration_s: float
    fresh_state: BellDiagonal
    transverse_rate_hz: float
    longitudinal_rate_hz: float
    classical_delay_s: float = 0.0

    def __post_init__(self):
        check_range("success_probability", float(self.success_probability), 0.0, 1.0, low_inclusive=False)
        check_range("attempt_duration_s", float(self.attempt_duration_s), 0.0, None, low_inclusive=False)
        check_range("transverse_rate_hz", float(self.transverse_rate_hz), 0.0, None)
        check_range("longitudinal_rate_hz", float(self.longitudinal_rate_hz), 0.0, None)
        check_range("classical_delay_s", float(self.classical_delay_s), 0.0, None)
        if not isinstance(self.fresh_state, BellDiagonal) or self.fresh_state.shape != ():
            raise ParameterError("fresh_state", self.fresh_state, "a single (unbatched) BellDiagonal")


@dataclass(frozen=True)
class SwapModel:
    """Entanglement swap: Bell-measurement success probability, gate reliability, readout error."""

    success_probability: float = 1.0
    gate_fidelity: float = 1.0
    readout_error: float = 0.0

    def __post_init__(self):
        check_range("swap.success_probability", float(self.success_probability), 0.0, 1.0, low_inclusive=False)
        check_range("swap.gate_fidelity", float(self.gate_fidelity), 0.0, 1.0)
        check_range("swap.readout_error", float(self.readout_error), 0.0, 0.5)


@dataclass(frozen=True)
class ChainSpec:
    """A repeater chain of ``segments`` elementary links, identical or chosen per segment.

    Parameters
    ----------
    link : SegmentLink or tuple of SegmentLink
        One link for every segment, or one per segment (``len == segments``; a *heterogeneous* chain).
        Per-segment links share the lock-step clock: the same ``attempt_duration_s``,
        ``classical_delay_s`` and pair decay rates (they differ in ``success_probability`` and
        ``fresh_state``; :func:`qrepeater.builders.chain_segments` puts links of different lengths and
        protocols on one clock). A tuple is stored in ``segment_links`` and ``link`` becomes its first
        entry (the common clock, delay and rates are read from it).
    segments : int
        Number of elementary links (≥ 1); ``nested`` needs a power of two.
    swap : SwapModel
    cutoff_s : float or None or tuple
        Memory cut-off (s, > 0): a pair waiting longer than this for its partner is discarded. A scalar
        applies to every memory. A tuple gives one value per segment (None: no cut-off for that
        segment), stored in ``segment_cutoffs_s``: a segment's cut-off is the cut-off of the two
        memories, one at each end node, that hold that segment's link pairs. A pair spanning segments
        i … j sits in the left-end memory of segment i and the right-end memory of segment j, so it is
        discarded when its age exceeds min(cutoff_i, cutoff_j) — the strictest of its two memories
        (:meth:`pair_cutoff_attempts`). With every segment's cut-off equal this is the scalar cut-off
        exactly. With a tuple, ``cutoff_s`` becomes the strictest finite value (None if all are None).
        All three engines take per-segment cut-offs (exact: :mod:`.exact_hetero`; Monte Carlo nested
        levels and swap-asap kernel; events: ``LinkModel.cutoff_s``).
    multiplex : int or tuple of int
        Memories (modes) per node per link side, M ≥ 1 (see module docstring), or one per segment (stored
        in ``segment_multiplex``; ``multiplex`` becomes the largest, used for channel uses per attempt).
    purification : {"none", "bbpssw", "dejmps"}
    purification_rounds : int
        Nested recurrence rounds at the link level (≥ 1 when purification is not "none").
    schedule : {"swap-asap", "nested"}
    segment_links, segment_multiplex, segment_cutoffs_s : tuple or None
        Filled from a tuple ``link`` / ``multiplex`` / ``cutoff_s`` (pass them directly only with ``link`` =
        ``segment_links[0]``, ``multiplex`` = ``max(segment_multiplex)`` and ``cutoff_s`` = the strictest
        finite segment cut-off, as ``dataclasses.replace`` does).
    """

    link: SegmentLink
    segments: int
    swap: SwapModel = SwapModel()
    cutoff_s: float | None = None
    multiplex: int = 1
    purification: str = "none"
    purification_rounds: int = 1
    schedule: str = "nested"
    segment_links: tuple | None = None
    segment_multiplex: tuple | None = None
    segment_cutoffs_s: tuple | None = None

    def __post_init__(self):
        _check_int("segments", self.segments, 1)
        self._per_segment()
        self._per_segment_cutoffs()
        if not isinstance(self.link, SegmentLink):
            raise ParameterError("link", self.link, "a SegmentLink or a tuple of one SegmentLink per segment")
        if not isinstance(self.swap, SwapModel):
            raise ParameterError("swap", self.swap, "a SwapModel")
        _check_int("multiplex", self.multiplex, 1)
        _check_int("purification_rounds", self.purification_rounds, 0 if self.purification == "none" else 1)
        if self.cutoff_s is not None:
            check_range("cutoff_s", float(self.cutoff_s), 0.0, None, low_inclusive=False)  # per segment: the strictest
        if self.schedule not in SCHEDULES:
            raise ParameterError("schedule", self.schedule, "one of " + ", ".join(SCHEDULES))
        if self.purification not in PURIFICATIONS:
            raise ParameterError("purification", self.purification, "one of " + ", ".join(PURIFICATIONS))
        if self.schedule == "nested" and self.segments & (self.segments - 1):
            raise ParameterError("segments", self.segments, "a power of two (1, 2, 4, 8, ...) for schedule 'nested'")
        if self.cutoff_s is not None and self.segments > 1 and self.link.classical_delay_s > 0:
            # the end-to-end pair waits >= ceil(n/2) delays for the last swap outcome (module docstring)
            need_s = math.ceil(self.segments / 2) * float(self.link.classical_delay_s)
            if (self.cutoff_attempts + CUTOFF_TIE_ATTEMPTS) * self.link.attempt_duration_s < need_s:
                raise ParameterError(
                    "cutoff_s", self.cutoff_s, f">= {need_s:.6g} s (whole attempts): the end-to-end pair waits "
                    f"ceil(segments/2) x classical_delay_s for the last swap outcome, a shorter cut-off discards every pair",
                )

    def _per_segment(self) -> None:
        """Move a tuple ``link`` / ``multiplex`` into ``segment_links`` / ``segment_multiplex`` and check them."""
        n = int(self.segments)
        if isinstance(self.link, (tuple, list)):
            if self.segment_links is not None and tuple(self.segment_links) != tuple(self.link):
                raise ParameterError("link", "a tuple", "either link or segment_links, not both")
            object.__setattr__(self, "segment_links", tuple(self.link))
            object.__setattr__(self, "link", self.segment_links[0] if self.segment_links else None)
        if isinstance(self.multiplex, (tuple, list)):
            if self.segment_multiplex is not None and tuple(self.segment_multiplex) != tuple(self.multiplex):
                raise ParameterError("multiplex", "a tuple", "either multiplex or segment_multiplex, not both")
            m = tuple(self.multiplex)
            for k, v in enumerate(m):
                _check_int(f"multiplex[{k}]", v, 1)
            object.__setattr__(self, "segment_multiplex", tuple(int(v) for v in m))
            object.__setattr__(self, "multiplex", max(self.segment_multiplex) if m else 0)
        if self.segment_links is not None:
            links = tuple(self.segment_links)
            object.__setattr__(self, "segment_links", links)
            if len(links) != n:
                raise ParameterError("link", f"{len(links)} links", f"one SegmentLink per segment ({n})")
            for k, lk in enumerate(links):
                if not isinstance(lk, SegmentLink):
                    raise ParameterError(f"link[{k}]", lk, "a SegmentLink")
                for field in _CLOCK_FIELDS:
                    if float(getattr(lk, field)) != float(getattr(links[0], field)):
                        raise ParameterError(
                            f"link[{k}].{field}", getattr(lk, field),
                            f"{getattr(links[0], field)!r} as segment 0: per-segment links share the lock-step clock, "
                            "classical delay and pair decay rates (qrepeater.builders.chain_segments puts them on one clock)",
                        )
            if self.link is not links[0] and link_key(self.link) != link_key(links[0]):
                raise ParameterError("link", "a SegmentLink", "segment_links[0] when segment_links is given "
                                     "(replace segment_links to change the links of a per-segment chain)")
        if self.segment_multiplex is not None:
            m = tuple(int(v) for v in self.segment_multiplex)
            object.__setattr__(self, "segment_multiplex", m)
            if len(m) != n:
                raise ParameterError("multiplex", f"{len(m)} values", f"one integer per segment ({n})")
            if int(self.multiplex) != max(m):
                raise ParameterError("multiplex", self.multiplex, "max(segment_multiplex) when segment_multiplex is given "
                                     "(replace segment_multiplex to change the multiplexing of a per-segment chain)")

    def _per_segment_cutoffs(self) -> None:
        """Move a tuple ``cutoff_s`` into ``segment_cutoffs_s`` (``cutoff_s``: the strictest finite one)."""
        if isinstance(self.cutoff_s, (tuple, list)):
            if self.segment_cutoffs_s is not None and tuple(self.segment_cutoffs_s) != tuple(self.cutoff_s):
                raise ParameterError("cutoff_s", "a tuple", "either cutoff_s or segment_cutoffs_s, not both")
            object.__setattr__(self, "segment_cutoffs_s", tuple(self.cutoff_s))
            object.__setattr__(self, "cutoff_s", _strictest(self.segment_cutoffs_s))
        if self.segment_cutoffs_s is None:
            return
        cuts = tuple(self.segment_cutoffs_s)
        if len(cuts) != int(self.segments):
            raise ParameterError("cutoff_s", f"{len(cuts)} values", f"one cut-off (s, or None) per segment ({self.segments})")
        for k, c in enumerate(cuts):
            if c is not None:
                try:
                    c = float(c)
                except (TypeError, ValueError):
                    raise ParameterError(f"cutoff_s[{k}]", c, "a number of seconds > 0 or None") from None
                check_range(f"cutoff_s[{k}]", c, 0.0, None, low_inclusive=False)
        cuts = tuple(None if c is None else float(c) for c in cuts)
        object.__setattr__(self, "segment_cutoffs_s", cuts)
        if self.cutoff_s != _strictest(cuts):
            raise ParameterError("cutoff_s", self.cutoff_s, "the strictest segment cut-off when segment_cutoffs_s is "
                                 "given (replace segment_cutoffs_s to change the cut-offs of a per-segment chain)")

    # -- derived quantities ------------------------------------------------------------------------
    @property
    def segment_cutoff_attempts(self) -> tuple:
        """Per segment: its memories' cut-off in whole attempts, or None (see ``cutoff_s``)."""
        if self.segment_cutoffs_s is None:
            return (self.cutoff_attempts,) * int(self.segments)
        tau = self.link.attempt_duration_s
        return tuple(None if c is None else int(math.floor(c / tau + 1e-9)) for c in self.segment_cutoffs_s)

    @property
    def uniform_cutoff(self) -> bool:
        """Whether every memory has the same cut-off (a scalar ``cutoff_s``, or equal segment cut-offs)."""
        return self.segment_cutoffs_s is None or len(set(self.segment_cutoffs_s)) == 1

    def pair_cutoff_attempts(self, lo: int, hi: int) -> int | None:
        """Cut-off (whole attempts, or None) of a pair spanning segments lo … hi − 1: the strictest of the
        left-end memory of segment lo and the right-end memory of segment hi − 1."""
        cuts = self.segment_cutoff_attempts
        return _strictest((cuts[lo], cuts[hi - 1]))

    @property
    def links(self) -> tuple:
        """The SegmentLink of every segment (``segments`` entries)."""
        return self.segment_links if self.segment_links is not None else (self.link,) * int(self.segments)

    @property
    def multiplexes(self) -> tuple:
        """Memories per node per link side of every segment."""
        return self.segment_multiplex if self.segment_multiplex is not None else (int(self.multiplex),) * int(self.segments)

    @property
    def homogeneous(self) -> bool:
        """Whether all segments are alike (same link and multiplexing): the engines' single-link paths."""
        if self.segment_links is None and self.segment_multiplex is None and self.segment_cutoffs_s is None:
            return True
        cached = self.__dict__.get("_homogeneous")
        if cached is None:  # computed once (frozen: stored beside the fields, not one of them)
            cached = (len({link_key(lk) for lk in self.links}) == 1 and len(set(self.multiplexes)) == 1
                      and self.uniform_cutoff)
            object.__setattr__(self, "_homogeneous", cached)
        return cached

    @property
    def segment_success_probabilities(self) -> tuple:
        """Per segment: probability per attempt that at least one of its M multiplexed attempts heralds."""
        return tuple(_first_success(lk.success_probability, m) for lk, m in zip(self.links, self.multiplexes))

    @property
    def link_success_probability(self) -> float:
        """Per-attempt probability that at least one of the M multiplexed attempts heralds (a chain whose
        segments differ: see :attr:`segment_success_probabilities`)."""
        if not self.homogeneous:
            raise ParameterError("link_success_probability", "a per-segment chain", "segment_success_probabilities")
        return _first_success(self.link.success_probability, self.multiplex)

    def segment_spec(self, lo: int, hi: int) -> "ChainSpec":
        """The sub-chain of segments lo … hi − 1 (same swap, cut-off, purification and schedule)."""
        cut = self.cutoff_s if self.segment_cutoffs_s is None else self.segment_cutoffs_s[lo:hi]
        return ChainSpec(link=self.links[lo:hi], segments=hi - lo, swap=self.swap, cutoff_s=cut,
                         multiplex=self.multiplexes[lo:hi], purification=self.purification,
                         purification_rounds=self.purification_rounds, schedule=self.schedule)

    def as_homogeneous(self) -> "ChainSpec":
        """The same chain with one link and one multiplexing (requires :attr:`homogeneous`)."""
        if not self.homogeneous:
            raise ParameterError("spec", "a per-segment chain", "a chain whose segments are all alike")
        return ChainSpec(link=self.links[0], segments=self.segments, swap=self.swap, cutoff_s=self.cutoff_s,
                         multiplex=self.multiplexes[0], purification=self.purification,
                         purification_rounds=self.purification_rounds, schedule=self.schedule)

    @property
    def cutoff_attempts(self) -> int | None:
        """Cut-off in whole attempts (pairs may wait at most this many attempts), or None."""
        if self.cutoff_s is None:
            return None
        return int(math.floor(self.cutoff_s / self.link.attempt_duration_s + 1e-9))

    @property
    def rounds(self) -> int:
        """Purification rounds actually applied (0 without purification)."""
        return 0 if self.purification == "none" else int(self.purification_rounds)

    @property
    def levels(self) -> int:
        """Swap levels of the nested schedule (log2 segments)."""
        return int(self.segments).bit_length() - 1


def link_key(link: SegmentLink) -> tuple:
    """Hashable value of a SegmentLink (its numbers), to compare and cache links."""
    return (float(link.success_probability), float(link.attempt_duration_s),
            tuple(float(x) for x in link.fresh_state.coefficients), float(link.transverse_rate_hz),
            float(link.longitudinal_rate_hz), float(link.classical_delay_s))


_CLOCK_FIELDS = ("attempt_duration_s", "classical_delay_s", "transverse_rate_hz", "longitudinal_rate_hz")


def _strictest(cutoffs):
    """The smallest of the values that are not None (None if all are None)."""
    finite = [c for c in cutoffs if c is not None]
    return min(finite) if finite else None


def _first_success(p: float, multiplex: int) -> float:
    """1 − (1 − p)^M: the first success among M lock-step attempt streams."""
    p = float(p)
    return -math.expm1(int(multiplex) * math.log1p(-p)) if p < 1.0 else 1.0


def _check_int(field: str, value, low: int) -> None:
    try:
        ok = not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ParameterError(field, value, f"an integer >= {low}")
    check_range(field, int(value), low, None)


def abstract_link(
    success_probability: float,
    attempt_duration_s: float,
    fresh_fidelity: float,
    coherence_time_s: float,
    classical_delay_s: float = 0.0,
) -> SegmentLink:
    """Abstract elementary link: Werner fresh state, depolarising memories.

    Both pair decay rates are 1/``coherence_time_s``, so ``coherence_time_s`` (s) is the 1/e time of the
    Werner parameter of a stored pair (``float('inf')`` for perfect memories).
    """
    check_range("fresh_fidelity", float(fresh_fidelity), 0.0, 1.0)
    check_range("coherence_time_s", float(coherence_time_s), 0.0, None, low_inclusive=False)
    rate = 0.0 if math.isinf(coherence_time_s) else 1.0 / float(coherence_time_s)
    return SegmentLink(
        success_probability=success_probability,
        attempt_duration_s=attempt_duration_s,
        fresh_state=werner(fresh_fidelity),
        transverse_rate_hz=rate,
        longitudinal_rate_hz=rate,
        classical_delay_s=classical_delay_s,
    )
