"""Network model of the event engine: nodes with memories, heralded links, classical latency, routes.

A :class:`NetworkModel` is plain data (no randomness): the nodes and their memory counts, the heralded
links between adjacent nodes (per-attempt success probability, attempt duration, heralded state,
pair decay rates, one-way classical delay — what :func:`qrepeater.scenarios.chain_segment` gives for
the link's length), the consumer routes (static shortest paths), and the protocol settings.

Memory allocation (static, decided before the run): every route that passes a node uses one "side"
of it per adjacent hop; a node's memories are split evenly over the sides that use it (integer
division). A hop of a route runs ``min(quota at its two ends) // 2**rounds`` independent *link units*;
a unit is one memory pair per purification slot (2**rounds slots, the nested purification tree of the
model in :mod:`qrepeater.engines.model`). Routes sharing a node therefore share its memory pool.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from ...errors import ConfigError, ParameterError, check_range
from ..model import PURIFICATIONS, SCHEDULES, SegmentLink, SwapModel

RESTARTS = ("continuous", "per-delivery")
CONSUMER_KINDS = ("fidelity", "diqkd")


@dataclass(frozen=True)
class LinkModel:
    """One heralded link between adjacent nodes ``a`` and ``b`` (see module docstring).

    ``fresh_correlators`` are (⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩) of the heralded pair in the Φ+ frame; the decay rates
    are the pair rates Γ⊥, Γ∥ (1/s), each memory carrying half.
    """

    a: str
    b: str
    success_probability: float
    attempt_duration_s: float
    fresh_correlators: tuple[float, float, float]
    transverse_rate_hz: float
    longitudinal_rate_hz: float
    classical_delay_s: float
    length_km: float = 0.0
    laser_coherence: float = 1.0
    laser_delay_s: float = 0.0
    #: cut-off (s) of this link's memories, one at each end node; None: the protocol's, ``math.inf``:
    #: none. A pair spanning several links keeps the stricter of its two end links' (ChainSpec docstring).
    cutoff_s: float | None = None

    def __post_init__(self) -> None:
        if self.cutoff_s is not None:
            check_range(f"link {self.a}-{self.b} cutoff_s", float(self.cutoff_s), 0.0, None, low_inclusive=False)
        check_range(f"link {self.a}-{self.b} success_probability", float(self.success_probability), 0.0, 1.0, low_inclusive=False)
        check_range(f"link {self.a}-{self.b} attempt_duration_s", float(self.attempt_duration_s), 0.0, None, low_inclusive=False)
        check_range(f"link {self.a}-{self.b} classical_delay_s", float(self.classical_delay_s), 0.0, None)
        check_range(f"link {self.a}-{self.b} length_km", float(self.length_km), 0.0, None)

    @classmethod
    def from_segment(cls, a: str, b: str, seg: SegmentLink, **extra) -> "LinkModel":
        """Link from an engine :class:`~qrepeater.engines.model.SegmentLink`."""
        t = seg.fresh_state.correlators
        return cls(
            a=a,
            b=b,
            success_probability=float(seg.success_probability),
            attempt_duration_s=float(seg.attempt_duration_s),
            fresh_correlators=(float(t[0]), float(t[1]), float(t[2])),
            transverse_rate_hz=float(seg.transverse_rate_hz),
            longitudinal_rate_hz=float(seg.longitudinal_rate_hz),
            classical_delay_s=float(seg.classical_delay_s),
            **extra,
        )

    @property
    def fresh_fidelity(self) -> float:
        x, y, z = self.fresh_correlators
        return (1.0 + x - y + z) / 4.0


@dataclass(frozen=True)
class Route:
    """An end-to-end consumer: the node path from ``nodes[0]`` to ``nodes[-1]`` and what it measures."""

    name: str
    nodes: tuple[str, ...]
    kind: str = "fidelity"

    def __post_init__(self) -> None:
        if self.kind not in CONSUMER_KINDS:
            raise ParameterError(f"consumer {self.name}.kind", self.kind, "one of " + ", ".join(CONSUMER_KINDS))
        if len(self.nodes) < 2:
            raise ConfigError(f"consumer {self.name}: a route needs two distinct end nodes")

    @property
    def hops(self) -> int:
        return len(self.nodes) - 1


@dataclass(frozen=True)
class ProtocolConfig:
    """Protocol settings shared by all routes.

    Parameters
    ----------
    schedule : {"swap-asap", "nested"}
        Swap as soon as a node holds a pair on each side (blind to where the pairs end), or nested
        doubling (a node at an odd multiple of 2^(k−1) swaps two pairs of span 2^(k−1) once it *knows*
        their spans, i.e. after the Pauli-frame messages of the lower levels arrived).
    swap : SwapModel
    cutoff_s : float or None
        A pair older (since its creation at its current level) than this is discarded.
    purification : {"none", "bbpssw", "dejmps"}
    purification_rounds : int
        Nested link-level recurrence rounds (2**rounds memory pairs per link unit).
    restart : {"continuous", "per-delivery"}
        "continuous": a link unit restarts as soon as both its memories are free (pipelined network);
        "per-delivery": rounds as in the closed-form engines — units restart only after the route
        delivered a pair, or when a failure/cut-off destroyed the pairs of their span.
    cutoff_on_grid : bool
        Round the cut-off down to whole attempts of each link (the chain engines' convention).
    """

    schedule: str = "swap-asap"
    swap: SwapModel = SwapModel()
    cutoff_s: float | None = None
    purification: str = "none"
    purification_rounds: int = 0
    restart: str = "continuous"
    cutoff_on_grid: bool = False

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ParameterError("protocol.schedule", self.schedule, "one of " + ", ".join(SCHEDULES))
        if self.purification not in PURIFICATIONS:
            raise ParameterError("protocol.purification", self.purification, "one of " + ", ".join(PURIFICATIONS))
        if self.restart not in RESTARTS:
            raise ParameterError("protocol.restart", self.restart, "one of " + ", ".join(RESTARTS))
        if self.cutoff_s is not None:
            check_range("protocol.cutoff_s", float(self.cutoff_s), 0.0, None, low_inclusive=False)
        rounds = int(self.purification_rounds)
        if self.purification == "none":
            object.__setattr__(self, "purification_rounds", 0)
        else:
            check_range("protocol.purification_rounds", rounds, 1, 8)

    @property
    def rounds(self) -> int:
        return 0 if self.purification == "none" else int(self.purification_rounds)


def link_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


@dataclass(frozen=True)
class NetworkModel:
    """Nodes, memories, links, consumer routes and protocol (validated on construction).

    Attributes
    ----------
    units : dict[(route index, hop), int]
        Independent link units per route hop after the static memory allocation.
    latency_s : dict[(node, node), float]
        One-way classical latency along the shortest (by delay) path of classical channels, which run
        beside the fibre of every link.
    """

    nodes: tuple[str, ...]
    memories: dict
    links: dict
    routes: tuple[Route, ...]
    protocol: ProtocolConfig = ProtocolConfig()
    units: dict = field(init=False)
    latency_s: dict = field(init=False)

    def __post_init__(self) -> None:
        nodes = set(self.nodes)
        if len(nodes) != len(self.nodes):
            raise ConfigError("topology: node names must be unique")
        for n in self.nodes:
            m = self.memories.get(n)
            if not isinstance(m, int) or isinstance(m, bool) or m < 0:
                raise ParameterError(f"nodes.{n}.memories", m, "an integer >= 0")
        for (a, b), link in self.links.items():
            for end in (a, b):
                if end not in nodes:
                    raise ConfigError(f"link {a}-{b}: node {end!r} is not defined")
        if not self.routes:
            raise ConfigError("topology: no consumers (end-node pairs) defined")
        for r in self.routes:
            for u, v in zip(r.nodes, r.nodes[1:]):
                if link_key(u, v) not in self.links:
                    raise ConfigError(f"consumer {r.name}: no link between {u} and {v}")
            if len(set(r.nodes)) != len(r.nodes):
                raise ConfigError(f"consumer {r.name}: route visits a node twice")
            if self.protocol.schedule == "nested" and r.hops & (r.hops - 1):
                raise ConfigError(
                    f"consumer {r.name}: schedule 'nested' needs a power-of-two number of hops, route has {r.hops}"
                )
        object.__setattr__(self, "latency_s", _all_pairs_latency(self.nodes, self.links))
        object.__setattr__(self, "units", self._allocate())

    def link(self, a: str, b: str) -> LinkModel:
        return self.links[link_key(a, b)]

    def _allocate(self) -> dict:
        sides: dict[str, list] = {n: [] for n in self.nodes}
        for ri, r in enumerate(self.routes):
            for h in range(r.hops):
                sides[r.nodes[h]].append((ri, h))
                sides[r.nodes[h + 1]].append((ri, h))
        size = 2 ** self.protocol.rounds
        units = {}
        for ri, r in enumerate(self.routes):
            for h in range(r.hops):
                ends = (r.nodes[h], r.nodes[h + 1])
                quota = min(self.memories[n] // len(sides[n]) for n in ends)
                k = quota // size
                if k < 1:
                    worst = min(ends, key=lambda n: self.memories[n] // len(sides[n]))
                    need = size * len(sides[worst])
                    raise ConfigError(
                        f"node {worst!r} has {self.memories[worst]} memories but needs at least {need} "
                        f"({len(sides[worst])} route side(s) x {size} per link unit)"
                    )
                units[(ri, h)] = k
        return units


def _all_pairs_latency(nodes, links) -> dict:
    """Dijkstra from every node over the classical channels (weights: one-way delay of each link)."""
    adj: dict[str, list] = {n: [] for n in nodes}
    for (a, b), link in links.items():
        adj[a].append((b, link.classical_delay_s))
        adj[b].append((a, link.classical_delay_s))
    out = {}
    for src in nodes:
        dist = {src: 0.0}
        heap = [(0.0, src)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > dist.get(u, math.inf):
                continue
            for v, w in adj[u]:
                nd = d + w
                if nd < dist.get(v, math.inf):
                    dist[v] = nd
                    heapq.heappush(heap, (nd, v))
        for dst, d in dist.items():
            out[(src, dst)] = d
    return out


def shortest_path(nodes, links, source: str, target: str, weight: str = "length_km") -> tuple[str, ...] | None:
    """Static shortest path (Dijkstra) by total link ``weight``; ties broken by node name order.

    Returns None if ``target`` is unreachable.
    """
    adj: dict[str, list] = {n: [] for n in nodes}
    for (a, b), link in links.items():
        w = float(getattr(link, weight))
        adj[a].append((b, w))
        adj[b].append((a, w))
    for n in adj:
        adj[n].sort()
    dist = {source: 0.0}
    prev: dict[str, str] = {}
    heap = [(0.0, source)]
    done = set()
    while heap:
        d, u = heapq.heappop(heap)
        if u in done:
            continue
        done.add(u)
        if u == target:
            break
        for v, w in adj[u]:
            nd = d + w
            if nd < dist.get(v, math.inf) - 1e-15:
                dist[v] = nd
                prev[v] = u
                heapq.heappush(heap, (nd, v))
    if target not in done:
        return None
    path = [target]
    while path[-1] != source:
        path.append(prev[path[-1]])
    return tuple(reversed(path))
