"""State tables of the compiled network agents (:mod:`.fastnet`): the :class:`NetState` arrays and
their column names, and the packing of a :class:`~.network.NetworkModel` into them.

The compiled agents are a transcription of the Python agents (:mod:`.simulation` and its mixins) onto
plain arrays: a pool of pairs (one row per :class:`~.pairs.Pair`), one row per link unit
(:class:`~.pairs.Unit`), one per route (:class:`~.pairs.RouteState`), per-node occupancy, the event
heap and a few global counters. They are allocated here, in Python (:func:`pack`), and bundled inside
the compiled entry point into one :class:`NetState` structure (a numba ``StructRef``), which kernels
pass to each other as one pointer: a tuple of the same arrays is passed as ~190 machine words, which
made every call between kernels ~50 ns (measured; 4× the whole per-event budget).

Column constants are module globals, frozen into the kernels at compile time.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np
from numba.core import types
from numba.experimental import structref

from ...states import swap_noise_factors
from .cutoff import GRID_TOL

#: decorator of every compiled network kernel (cached on disk)
kernel_jit = numba.njit(cache=True)
#: the same for small helpers, inlined into their callers at numba level: a call between kernels
#: costs reference counting of the state (numba increfs arguments), which was ~1/3 of the run time
inline_jit = numba.njit(cache=True, inline="always")

# pair float columns: correlators, time of last update, per-memory decay rates
PX, PY, PZ, PT, PHTI, PHTJ, PHLI, PHLJ = range(8)
# pair int columns: route, positions i < j, units holding its two memories, pending cut-off (its event
# sequence number, -1 none/cancelled), frame messages still owed to each end, alive, successor (the
# pair a swap made of it), swap position, purification round, unit slot, locked (outcome in flight),
# references (alive + pending events naming it + predecessors naming it as successor)
QR, QI, QJ, QUA, QUB, QCUT, QMI, QMJ, QALIVE, QSUCC, QSPOS, QRND, QSLOT, QLOCK, QREF = range(15)
# unit float columns: success probability, ln(1 − p), attempt period, fresh correlators, per-memory
# decay rates (half the pair rates), classical delay of the link, cut-off delay of its pairs
UP, ULOG1MP, UTAU, UFX, UFY, UFZ, UHT, UHL, UDELAY, UCUT = range(10)
# unit int columns: route, hop, its two nodes, building, memory a busy, memory b busy; then the
# 2^rounds slots (pair or -1) from column U_SLOT0 and their pending heralds (sequence or -1) after them
UR, UHOP, UNA, UNB, UBUILD, UBUSYA, UBUSYB = range(7)
U_SLOT0 = 7
# route float columns: last delivery time and the consumer's running sums
RLAST, RFSUM, RFSQ, RWSUM, RWSQ, RCX, RCY, RCZ, RCHSH, RQBER = range(10)
# route int columns: hops, consumer kind (1 = diqkd), delivered pairs
RHOPS, RKIND, RDELIV = range(3)
# node columns: occupancy area and last update (float), occupied and peak (int)
NAREA, NLAST = 0, 1
NOCC, NPEAK = 0, 1
# heap int columns: key (priority << KEY_SHIFT | sequence), kind, two arguments
HKEY, HKIND, HA, HB = range(4)
KEY_SHIFT = 48
SEQ_MASK = (1 << KEY_SHIFT) - 1
K_HERALD, K_MESSAGE, K_PURIFY, K_CUTOFF = range(4)
# global float cells
GNOW, GUNTIL, GSWAP_P, GNX, GNY, GNZ = range(6)
# global int cells: run bookkeeping, protocol flags, then the counters (order of COUNT_NAMES)
(GEXEC, GSEQ, GHSIZE, GNPAIRS, GNFREE, GNZOMBIE, GSTOP, GERR, GROUNDS, GNESTED, GCONT, GHASCUT, GONGRID,
 GTARGET, GDEJMPS, GSLOTS, GNROUTES) = range(17)
GCOUNT0 = 17
COUNT_NAMES = ("heralds", "swaps", "swap_failures", "messages_sent", "messages_forwarded", "messages_dropped",
               "purifications", "purification_failures", "cutoff_discards", "deliveries", "resets",
               "classical_messages_purification")
(CHERALD, CSWAP, CSWAPFAIL, CMSG, CFWD, CDROP, CPUR, CPURFAIL, CCUT, CDELIV, CRESET, CPURMSG) = range(
    GCOUNT0, GCOUNT0 + len(COUNT_NAMES))
# error codes (GERR): a table is full; the wrapper reruns with larger ones (same seed, same run)
ERR_PAIRS, ERR_HEAP, ERR_LIST, ERR_STACK = 1, 2, 3, 4

_F1, _F2, _F3 = types.float64[::1], types.float64[:, ::1], types.float64[:, :, ::1]
_I1, _I2, _I3, _I4 = types.int64[::1], types.int64[:, ::1], types.int64[:, :, ::1], types.int64[:, :, :, ::1]
#: the tables (name, numba type), in the order :func:`pack` returns them
FIELDS = (
    ("pf", _F2), ("pq", _I2), ("pfree", _I1), ("zombie", _I1),  # pairs, free rows, rows to free at the event's end
    ("uf", _F2), ("ui", _I2),                                    # link units
    ("rf", _F2), ("ri", _I2), ("rhop", _I3), ("rplat", _F3),    # routes: sums, ints, (first unit, units) per hop, latency
    ("lst", _I4), ("nlst", _I3),          # pairs stored per route position and side (0 = left): [route, position, side, k]
    ("nf", _F2), ("ni", _I2),             # nodes
    ("ht", _F1), ("hi", _I2),             # event heap
    ("stack", _I2),                       # frames of the swap recursion (position, stage, pair)
    ("gf", _F1), ("gi", _I1),             # globals
)
#: the same arrays on the Python side (read after the run)
NetArrays = namedtuple("NetArrays", [name for name, _ in FIELDS])


@structref.register
class _NetStateType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(t)) for name, t in fields)


#: numba type of the bundle of every table (built by :func:`qrepeater.engines.events.fastnet.run_kernel`)
NET_STATE = _NetStateType(list(FIELDS))


def capacities(model) -> tuple[int, int, int, int]:
    """Initial (pairs, heap, list, stack) table sizes; the wrapper multiplies one on overflow."""
    slots = 2 ** model.protocol.rounds
    units = sum(model.units.values())
    per_hop = max(model.units.values())
    return 64 + 8 * units * slots, 256 + 16 * units * slots, 2 * per_hop + 2, 16 + 4 * units * slots


def pack(model, pairs: int | None, duration_s: float | None, caps: tuple[int, int, int, int]) -> NetArrays:
    """The tables of one run of ``model`` (see :class:`~.simulation.Simulation` for the same set-up)."""
    proto = model.protocol
    cap_pairs, cap_heap, cap_list, cap_stack = caps
    slots = 2 ** proto.rounds
    names = list(model.nodes)
    nidx = {n: k for k, n in enumerate(names)}
    n_routes = len(model.routes)
    kmax = max(r.hops for r in model.routes) + 1
    units = [(ri, h) for ri, r in enumerate(model.routes) for h in range(r.hops) for _ in range(model.units[(ri, h)])]
    uf = np.zeros((len(units), 10))
    ui = np.zeros((len(units), U_SLOT0 + 2 * slots), np.int64)
    rf = np.zeros((n_routes, 10))
    ri_ = np.zeros((n_routes, 3), np.int64)
    rhop = np.zeros((n_routes, kmax, 2), np.int64)
    rplat = np.zeros((n_routes, kmax, kmax))
    for k, (r_idx, h) in enumerate(units):
        r = model.routes[r_idx]
        link = model.link(r.nodes[h], r.nodes[h + 1])
        p = float(link.success_probability)
        tau = float(link.attempt_duration_s)
        uf[k, UP] = p
        uf[k, ULOG1MP] = math.log1p(-p) if p < 1.0 else -math.inf
        uf[k, UTAU] = tau
        uf[k, UFX:UFZ + 1] = [float(v) for v in link.fresh_correlators]
        uf[k, UHT] = 0.5 * float(link.transverse_rate_hz)
        uf[k, UHL] = 0.5 * float(link.longitudinal_rate_hz)
        uf[k, UDELAY] = float(link.classical_delay_s)
        if proto.cutoff_s is not None:
            c = proto.cutoff_s
            # the Python agents' expression (Cutoff._arm_cutoff), evaluated the same way
            uf[k, UCUT] = math.floor(c / tau + 1e-9) * tau + GRID_TOL * tau if proto.cutoff_on_grid else c
        ui[k, UR], ui[k, UHOP] = r_idx, h
        ui[k, UNA], ui[k, UNB] = nidx[r.nodes[h]], nidx[r.nodes[h + 1]]
        ui[k, U_SLOT0:] = -1
        if rhop[r_idx, h, 1] == 0:
            rhop[r_idx, h, 0] = k
        rhop[r_idx, h, 1] += 1
    for r_idx, r in enumerate(model.routes):
        ri_[r_idx, RHOPS] = r.hops
        ri_[r_idx, RKIND] = 1 if r.kind == "diqkd" else 0
        for a, na in enumerate(r.nodes):
            for b, nb in enumerate(r.nodes):
                rplat[r_idx, a, b] = model.latency_s[(na, nb)]
    gf = np.zeros(6)
    gf[GUNTIL] = math.inf if duration_s is None else float(duration_s)
    gf[GSWAP_P] = float(proto.swap.success_probability)
    nf = swap_noise_factors(proto.swap.gate_fidelity, proto.swap.readout_error)
    gf[GNX], gf[GNY], gf[GNZ] = float(nf[0]), float(nf[1]), float(nf[2])
    gi = np.zeros(GCOUNT0 + len(COUNT_NAMES), np.int64)
    gi[GROUNDS] = proto.rounds
    gi[GNESTED] = proto.schedule == "nested"
    gi[GCONT] = proto.restart == "continuous"
    gi[GHASCUT] = proto.cutoff_s is not None
    gi[GONGRID] = bool(proto.cutoff_on_grid)
    gi[GTARGET] = -1 if pairs is None else int(pairs)
    gi[GDEJMPS] = proto.purification == "dejmps"
    gi[GSLOTS] = slots
    gi[GNROUTES] = n_routes
    return NetArrays(
        pf=np.zeros((cap_pairs, 8)), pq=np.zeros((cap_pairs, 15), np.int64),
        pfree=np.zeros(cap_pairs, np.int64), zombie=np.zeros(cap_pairs, np.int64),
        uf=uf, ui=ui, rf=rf, ri=ri_, rhop=rhop, rplat=rplat,
        lst=np.zeros((n_routes, kmax, 2, cap_list), np.int64), nlst=np.zeros((n_routes, kmax, 2), np.int64),
        nf=np.zeros((len(names), 2)), ni=np.zeros((len(names), 2), np.int64),
        ht=np.zeros(cap_heap), hi=np.zeros((cap_heap, 4), np.int64),
        stack=np.zeros((cap_stack, 3), np.int64), gf=gf, gi=gi,
    )
