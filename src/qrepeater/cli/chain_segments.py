"""Per-segment options of `qrepeater chain` (issue 14 item 2): lengths, protocol/α, multiplexing and cut-off
of every segment, parsed from comma-separated lists (one-line errors), and the options that re-run a plan.

A segment's cut-off is the cut-off of its two memories (one at each end node); a pair spanning segments
i … j keeps the stricter of its two end memories (:mod:`qrepeater.builders.segments`).
"""

from __future__ import annotations

import math
from typing import Optional

from ..errors import ParameterError
from ..studies.point import MAX_MULTIPLEX, MAX_SEGMENTS  # one bound for the CLI and the study files


def _segment_lengths(text: Optional[str], distance_km: float) -> Optional[list]:
    """--segment-lengths-km "5,45": one length (km, > 0) per segment, summing to --distance-km."""
    if text is None:
        return None
    try:
        lengths = [float(x) for x in text.split(",")]
    except ValueError:
        raise ParameterError("--segment-lengths-km", text, "comma-separated lengths in km, e.g. 5,45") from None
    if not 1 <= len(lengths) <= MAX_SEGMENTS or not all(math.isfinite(x) and x > 0 for x in lengths):
        raise ParameterError("--segment-lengths-km", text, f"1 to {MAX_SEGMENTS} positive lengths in km")
    if not math.isclose(sum(lengths), distance_km, rel_tol=1e-6):
        raise ParameterError("--segment-lengths-km", text, f"lengths summing to --distance-km {distance_km:g}")
    return lengths


def _segment_choices(text: Optional[str], multiplex: int) -> Optional[list]:
    """--segment-choices "spep:0.02,two-photon,spep": protocol[:α] per segment (no α: the scenario's)."""
    if text is None:
        return None
    from ..builders import SegmentChoice

    out = []
    for item in text.split(","):
        protocol, _, alpha = item.strip().partition(":")
        try:
            out.append(SegmentChoice(protocol, float(alpha) if alpha else None, multiplex))
        except (ValueError, ParameterError):
            raise ParameterError("--segment-choices", text, "protocol[:alpha] per segment, comma-separated, e.g. "
                                 "spep:0.02,two-photon (protocol spep or two-photon, alpha in (0, 1])") from None
    if not 1 <= len(out) <= MAX_SEGMENTS:
        raise ParameterError("--segment-choices", text, f"1 to {MAX_SEGMENTS} segments")
    return out


def _segment_values(option: str, text: Optional[str], parse, allowed: str) -> Optional[list]:
    """A comma-separated per-segment option (``parse`` one item; ValueError/ParameterError: one line)."""
    if text is None:
        return None
    try:
        out = [parse(item.strip()) for item in text.split(",")]
    except (ValueError, ParameterError):
        raise ParameterError(option, text, allowed) from None
    if not 1 <= len(out) <= MAX_SEGMENTS:
        raise ParameterError(option, text, f"1 to {MAX_SEGMENTS} segments")
    return out


def cutoff_item(item: str) -> float:
    """One --segment-cutoffs-s value: seconds > 0, or 'none' (math.inf: no cut-off for that segment)."""
    if item.lower() == "none":
        return math.inf
    v = float(item)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(item)
    return v


def multiplex_item(item: str) -> int:
    v = int(item)
    if not 1 <= v <= MAX_MULTIPLEX:
        raise ValueError(item)
    return v


def _with_segment_values(choices, n, multiplex, multiplexes, cutoffs):
    """``choices`` (or the scenario's, ``multiplex``) with per-segment multiplexing / cut-offs set."""
    from dataclasses import replace

    from ..builders import SegmentChoice

    out = list(choices) if choices is not None else [SegmentChoice(multiplex=multiplex)] * n
    for option, values, field in (("--segment-multiplex", multiplexes, "multiplex"),
                                  ("--segment-cutoffs-s", cutoffs, "cutoff_s")):
        if values is not None:
            if len(values) != len(out):
                raise ParameterError(option, ",".join(f"{v:g}" for v in values), f"one value per segment ({len(out)})")
            out = [replace(c, **{field: v}) for c, v in zip(out, values)]
    return out


def _rerun_options(lengths, choices, cutoff_s=None) -> str:
    """The chain options that re-run a per-segment plan (``cutoff_s``: the chain's cut-off, for the
    segments without their own; multiplexing and cut-offs per segment when they differ)."""
    items = [c.protocol if c.protocol == "two-photon" or c.excitation_probability is None
             else f"{c.protocol}:{c.excitation_probability:g}" for c in choices]
    out = f"--segment-lengths-km {','.join(f'{x:g}' for x in lengths)} --segment-choices {','.join(items)}"
    if len({c.multiplex for c in choices}) > 1:
        out += f" --segment-multiplex {','.join(str(c.multiplex) for c in choices)}"
    cuts = [cutoff_s if c.cutoff_s is None else (None if math.isinf(c.cutoff_s) else c.cutoff_s) for c in choices]
    if len(set(cuts)) > 1:
        out += " --segment-cutoffs-s " + ",".join("none" if c is None else f"{c:.17g}" for c in cuts)
    elif cuts[0] is not None:
        out += f" --cutoff-s {cuts[0]:.17g}"
    return out
