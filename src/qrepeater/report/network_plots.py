"""Timeline of an event-engine network run (``qrepeater network --plot``), package style of :mod:`.style`.

One panel per node — how many of its memories hold a pair, against simulated time, on an integer axis
from 0 to the node's memory count — and, under them, the fidelity of every delivered pair, one colour
per consumer, with the F = 0.5 line. Rendering only: the data are the run's timeline and event trace
(:func:`qrepeater.engines.events.simulate` with ``trace=True, timeline=True``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .style import add_caption, check_image_path, in_style, legend_outside, new_figure, save

#: panel heights (inches): one node's occupancy, the deliveries
NODE_PANEL_IN = 0.55
DELIVERY_PANEL_IN = 1.6
#: most nodes drawn one panel each (a larger network shows the busiest ones)
MAX_NODE_PANELS = 16


def _occupancy_steps(run) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    per_node: dict[int, list] = {k: [(0.0, 0)] for k in range(len(run.node_names))}
    for t, node, c in run.timeline:
        per_node[node].append((t, c))
    out = {}
    for k, pts in per_node.items():
        pts = pts + [(run.simulated_time_s, pts[-1][1])]
        t, c = zip(*pts)
        out[k] = (np.asarray(t, float), np.asarray(c, float))
    return out


def plot_network_timeline(run, path: str | Path, title: str | None = None) -> Path:
    """PNG/SVG/PDF timeline of ``run`` (an :class:`qrepeater.engines.events.EventRun` made with
    ``trace=True, timeline=True``); returns ``path``."""
    path = check_image_path(path, "--plot")
    if run.timeline is None or run.trace is None:
        raise ParameterError("timeline", None, "a run made with trace=True and timeline=True")
    return _draw(run, path, title)


@in_style
def _draw(run, path: Path, title: str | None) -> Path:
    steps = _occupancy_steps(run)
    names = list(run.node_names)
    notes = []
    order = list(range(len(names)))
    if len(order) > MAX_NODE_PANELS:
        busiest = sorted(order, key=lambda k: -float(run.occupancy[names[k]]["mean_occupied"]))[:MAX_NODE_PANELS]
        notes.append(f"{len(order) - MAX_NODE_PANELS} of {len(order)} nodes not drawn (the {MAX_NODE_PANELS} busiest are).")
        order = sorted(busiest)
    heights = [NODE_PANEL_IN] * len(order) + [DELIVERY_PANEL_IN]
    fig, axes = new_figure(7.5, 0.9 + sum(heights), nrows=len(heights), ncols=1, sharex=True,
                           gridspec_kw={"height_ratios": heights})
    idle = []
    for ax, k in zip(axes[:-1], order):
        t, c = steps[k]
        memories = int(run.occupancy[names[k]]["memories"])
        ax.step(t, c, where="post", lw=0.9, color=f"C{k % 10}")
        ax.set_ylim(-0.15 * max(memories, 1), max(memories, 1) * 1.15)
        ax.set_yticks(sorted({0, memories}) if memories > 1 else [0, 1])
        ax.set_ylabel(f"{names[k]}\n({memories} mem.)", rotation=0, ha="right", va="center", fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        if not np.any(c > 0):
            idle.append(names[k])
    axes[0].set_title(title or f"Memories holding a pair, per node ({run.simulated_time_s:.4g} s simulated)")
    if idle:
        notes.append(f"Node(s) {', '.join(idle)} never held a pair.")
    ax = axes[-1]
    trace = run.trace_table().to_pandas()
    delivered = trace[trace["event"] == "deliver"]
    consumers = list(dict.fromkeys(delivered["consumer"])) if len(delivered) else []
    for i, name in enumerate(consumers):
        d = delivered[delivered["consumer"] == name]
        ax.plot(d["time_s"], d["fidelity"], ".", ms=4, color=f"C{(i + len(names)) % 10}", label=f"{name} ({len(d)} pairs)")
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="F = 0.5")
    if not consumers:
        ax.text(0.5, 0.5, "no pair delivered", transform=ax.transAxes, ha="center", va="center", color="0.3")
    ax.set_ylabel("delivered\nfidelity", fontsize=8)
    ax.set_xlabel("simulated time (s)")
    ax.set_xlim(0.0, run.simulated_time_s)
    legend_outside(ax, *ax.get_legend_handles_labels(), title="consumer", where="right")
    add_caption(fig, notes)
    return save(fig, path)


__all__ = ["plot_network_timeline"]
