"""Topology files (TOML) → :class:`NetworkModel`, with the hardware of every link from a scenario.

Schema (every table optional unless marked; unknown keys are errors)::

    [hardware]                       # scenario for all links (default: preset "ustc2026")
    preset = "ustc2026"              # or: config = "scenario.toml" (relative to the topology file)
    set = ["link.excitation_probability=0.05"]   # --set style overrides

    [protocol]
    schedule = "swap-asap"           # or "nested" (routes with 2^n hops)
    cutoff_s = 0.5                   # memory cut-off (s); omit for none
    purification = "none"            # "bbpssw" | "dejmps"
    purification_rounds = 1
    restart = "continuous"           # or "per-delivery"
    [protocol.swap]                  # default: the scenario's [swap]
    success_probability = 1.0
    gate_fidelity = 0.99
    readout_error = 0.002

    [lasers]                         # default laser of every node (default: "shared")
    stabilisation = "shared"         # "free-running" (linewidth_hz) | "locked" (residual_phase_noise_rad)
    linewidth_hz = 0.0
    residual_phase_noise_rad = 0.0

    [[nodes]]                        # required, one table per node
    name = "A"
    memories = 2                     # memories of the node (shared by all routes through it)
    laser = { stabilisation = "free-running", linewidth_hz = 1e3 }   # optional, overrides [lasers]

    [[links]]                        # required; length_km > 0
    a = "A"
    b = "B"
    length_km = 10.0
    reference_delay_s = 2.2e-5       # optional: phase-reference-to-excitation delay (default: the
                                     # scenario's state preparation + excitation slots)
    set = ["fiber.attenuation_db_per_km=0.18"]   # optional per-link overrides (after [hardware].set)

    [[consumers]]                    # required: end-node pairs
    a = "A"
    b = "C"
    kind = "fidelity"                # or "diqkd"
    name = "A-C"                     # optional

Each link is built for its own length (the station at the scenario's relative position) by
:func:`qrepeater.builders.link_hardware`, the node lasers' factor is put into its phase stabilisation
(:func:`qrepeater.engines.events.lasers.hardware_with_lasers`), and the SPEP/two-photon protocol gives
the success probability, attempt duration, heralded state and decay rates. The classical channel of a
link has the fibre delay of its length plus the scenario's processing delay
(as :func:`qrepeater.builders.chain_segment`). Routes are static shortest paths by total length.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from ..config import HardwareScenario, build_scenario, read_toml_file
from ..engines.events.lasers import NodeLaser, hardware_with_lasers
from ..engines.events.network import (
    LinkModel,
    NetworkModel,
    ProtocolConfig,
    Route,
    link_key,
    shortest_path,
)
from ..engines.model import SwapModel
from ..errors import ConfigError, ParameterError, QRepeaterError
from ..links.metrics import heralded_link
from ..physics.fiber import Fiber
from .hardware import chain_segment, link_hardware

_TOP_KEYS = {"hardware", "protocol", "lasers", "nodes", "links", "consumers", "name", "description"}
_HARDWARE_KEYS = {"preset", "config", "set"}
_PROTOCOL_KEYS = {"schedule", "cutoff_s", "purification", "purification_rounds", "restart", "swap"}
_SWAP_KEYS = {"success_probability", "gate_fidelity", "readout_error"}
_LASER_KEYS = {"stabilisation", "linewidth_hz", "residual_phase_noise_rad"}
_NODE_KEYS = {"name", "memories", "laser"}
_LINK_KEYS = {"a", "b", "length_km", "reference_delay_s", "set"}
_CONSUMER_KEYS = {"a", "b", "kind", "name"}


def _check_keys(where: str, table: Any, allowed: set) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(sorted(allowed))}")
    return table


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} = {value!r}: expected a number")
    return float(value)


def _integer(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} = {value!r}: expected an integer")
    return value


def _laser(where: str, table: dict, base: NodeLaser) -> NodeLaser:
    _check_keys(where, table, _LASER_KEYS)
    kw = dataclasses.asdict(base)
    for k, v in table.items():
        kw[k] = v if k == "stabilisation" else _number(f"{where}.{k}", v)
    try:
        return NodeLaser(**kw)
    except ParameterError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_topology(path: str | Path) -> NetworkModel:
    """Read and validate a topology TOML file (schema in the module docstring)."""
    p = Path(path)
    data = read_toml_file(p, "topology")
    try:
        return topology_from_dict(data, base_dir=p.parent)
    except QRepeaterError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def topology_from_dict(data: dict, base_dir: str | Path = ".") -> NetworkModel:
    """Build a :class:`NetworkModel` from parsed topology data (see module docstring)."""

    _check_keys("topology", data, _TOP_KEYS)
    hw = _check_keys("hardware", data.get("hardware", {}), _HARDWARE_KEYS)
    base_sets = hw.get("set", [])
    if not isinstance(base_sets, list) or not all(isinstance(s, str) for s in base_sets):
        raise ConfigError("hardware.set: expected a list of 'dotted.path=value' strings")
    config = hw.get("config")
    if config is not None:
        config = str(Path(base_dir) / config)
    preset = hw.get("preset")
    if preset is None and config is None:
        preset = "ustc2026"

    scenarios: dict[tuple, Any] = {}

    def scenario_for(extra: tuple):
        if extra not in scenarios:
            scenarios[extra] = build_scenario(preset, config, list(base_sets) + list(extra))
        return scenarios[extra]

    base = scenario_for(())

    # ---- protocol
    pr = _check_keys("protocol", data.get("protocol", {}), _PROTOCOL_KEYS)
    swap_kw = dict(base.swap.model_dump())
    swap_kw.update({k: _number(f"protocol.swap.{k}", v) for k, v in _check_keys("protocol.swap", pr.get("swap", {}), _SWAP_KEYS).items()})
    cutoff = pr.get("cutoff_s")
    proto = ProtocolConfig(
        schedule=pr.get("schedule", "swap-asap"),
        swap=SwapModel(**swap_kw),
        cutoff_s=None if cutoff is None else _number("protocol.cutoff_s", cutoff),
        purification=pr.get("purification", "none"),
        purification_rounds=_integer("protocol.purification_rounds", pr.get("purification_rounds", 1)),
        restart=pr.get("restart", "continuous"),
    )

    # ---- nodes and lasers
    default_laser = _laser("lasers", data.get("lasers", {}), NodeLaser())
    nodes_raw = data.get("nodes")
    if not isinstance(nodes_raw, list) or not nodes_raw:
        raise ConfigError("topology: no [[nodes]] defined")
    names: list[str] = []
    memories: dict[str, int] = {}
    lasers: dict[str, NodeLaser] = {}
    for k, nd in enumerate(nodes_raw):
        _check_keys(f"nodes[{k}]", nd, _NODE_KEYS)
        name = nd.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"nodes[{k}]: 'name' (a non-empty string) is required")
        if name in memories:
            raise ConfigError(f"nodes[{k}]: node {name!r} is defined twice")
        m = nd.get("memories", 2)
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ParameterError(f"nodes.{name}.memories", m, "an integer >= 1")
        names.append(name)
        memories[name] = m
        lasers[name] = _laser(f"nodes.{name}.laser", nd["laser"], default_laser) if "laser" in nd else default_laser

    # ---- links
    links_raw = data.get("links")
    if not isinstance(links_raw, list) or not links_raw:
        raise ConfigError("topology: no [[links]] defined")
    links: dict[tuple[str, str], LinkModel] = {}
    for k, lk in enumerate(links_raw):
        _check_keys(f"links[{k}]", lk, _LINK_KEYS)
        a, b = lk.get("a"), lk.get("b")
        for end in (a, b):
            if not isinstance(end, str):
                raise ConfigError(f"links[{k}]: 'a' and 'b' (node names) are required")
            if end not in memories:
                raise ConfigError(f"link {a}-{b}: node {end!r} is not defined")
        if a == b:
            raise ConfigError(f"link {a}-{b}: a link needs two different nodes")
        if link_key(a, b) in links:
            raise ConfigError(f"link {a}-{b} is defined twice")
        if "length_km" not in lk:
            raise ConfigError(f"link {a}-{b}: 'length_km' is required")
        length = _number(f"link {a}-{b} length_km", lk["length_km"])
        if not (length > 0 and math.isfinite(length)):
            raise ParameterError(f"link {a}-{b} length_km", length, "(0, inf) km")
        extra = lk.get("set", [])
        if not isinstance(extra, list) or not all(isinstance(s, str) for s in extra):
            raise ConfigError(f"link {a}-{b}: set: expected a list of 'dotted.path=value' strings")
        scen = scenario_for(tuple(extra))
        if isinstance(scen, HardwareScenario):
            hardware = link_hardware(scen, length)
            ref = lk.get("reference_delay_s")
            ref = (scen.timing.state_preparation_s + scen.timing.excitation_s) if ref is None else _number(f"link {a}-{b} reference_delay_s", ref)
            hardware, coherence, tau = hardware_with_lasers(hardware, lasers[a], lasers[b], ref)
            hl = heralded_link(hardware, scen.link.protocol, scen.link.excitation_probability)
            t = hl.heralded_state.correlators
            delay = Fiber(**scen.fiber.model_dump()).delay_s(length) + scen.classical.processing_delay_s
            links[link_key(a, b)] = LinkModel(
                a=a, b=b,
                success_probability=hl.success_probability,
                attempt_duration_s=hl.attempt_duration_s,
                fresh_correlators=(float(t[0]), float(t[1]), float(t[2])),
                transverse_rate_hz=hl.pair_decay.transverse_rate_hz,
                longitudinal_rate_hz=hl.pair_decay.longitudinal_rate_hz,
                classical_delay_s=delay,
                length_km=length,
                laser_coherence=coherence,
                laser_delay_s=tau,
            )
        else:
            if lasers[a].stabilisation != "shared" or lasers[b].stabilisation != "shared":
                raise ConfigError(f"link {a}-{b}: independent lasers need a hardware scenario (kind = 'hardware')")
            links[link_key(a, b)] = LinkModel.from_segment(a, b, chain_segment(scen, length), length_km=length)

    # ---- consumers and routes
    cons_raw = data.get("consumers")
    if not isinstance(cons_raw, list) or not cons_raw:
        raise ConfigError("topology: no [[consumers]] (end-node pairs) defined")
    routes = []
    for k, c in enumerate(cons_raw):
        _check_keys(f"consumers[{k}]", c, _CONSUMER_KEYS)
        a, b = c.get("a"), c.get("b")
        for end in (a, b):
            if not isinstance(end, str):
                raise ConfigError(f"consumers[{k}]: 'a' and 'b' (node names) are required")
            if end not in memories:
                raise ConfigError(f"consumer {a}-{b}: node {end!r} is not defined")
        if a == b:
            raise ConfigError(f"consumer {a}-{b}: end nodes must differ")
        path = shortest_path(names, links, a, b)
        if path is None:
            raise ConfigError(f"consumer {a}-{b}: end nodes are not connected (no path of links between them)")
        routes.append(Route(name=str(c.get("name", f"{a}-{b}")), nodes=path, kind=c.get("kind", "fidelity")))
    return NetworkModel(nodes=tuple(names), memories=memories, links=links, routes=tuple(routes), protocol=proto)
