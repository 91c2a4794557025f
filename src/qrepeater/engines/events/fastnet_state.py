"""State tables of the compiled network agents (:mod:`.fastnet`): the :class:`NetState` arrays and
their column names, and the packing of a :class:`~.network.NetworkModel` into them.

The compiled agents are a transcription of the Python agents (:mod:`.simulation` and its mixins) onto
plain arrays: a pool of pairs (one row per :class:`~.pairs.Pair`), one row per link unit
(:class:`~.pairs.Unit`), one per route (:class:`~.pairs.RouteState`), per-node occupancy, the event
heap, global counters and a buffer of uniforms. They are allocated here, in Python (:func:`pack`),
with a *directory* of their addresses and shapes; kernels pass each other only the directory pointer
and view the tables through it (:func:`tables`, ``numba.carray``: views that numba does not reference
count). Measured alternatives: a tuple of the arrays is ~190 machine words per call (~50 ns per call
between kernels); a numba ``StructRef`` of them is one pointer but reference counted, an atomic
increment and decrement per call and per table fetched — ~40 % of the run time in a profile.

Column constants are module globals, frozen into the kernels at compile time.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from ...states import swap_noise_factors
from ..jit import register_event_kernel_cache
from .cutoff import GRID_TOL, link_cutoff_s

register_event_kernel_cache()  # before anything below is decorated: the cache stamp covers every kernel source

#: decorator of every compiled network kernel (cached on disk)
kernel_jit = numba.njit(cache=True)
#: the same for small helpers, inlined into their callers at numba level
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
 GTARGET, GDEJMPS, GSLOTS, GNROUTES, GUI, GSTARTED, GRESERVE) = range(20)
GCOUNT0 = 20
COUNT_NAMES = ("heralds", "swaps", "swap_failures", "messages_sent", "messages_forwarded", "messages_dropped",
               "purifications", "purification_failures", "cutoff_discards", "deliveries", "resets",
               "classical_messages_purification")
(CHERALD, CSWAP, CSWAPFAIL, CMSG, CFWD, CDROP, CPUR, CPURFAIL, CCUT, CDELIV, CRESET, CPURMSG) = range(
    GCOUNT0, GCOUNT0 + len(COUNT_NAMES))
# error codes (GERR): a table is full (or the uniforms ran out within one event); the wrapper reruns
# with a larger one (same seed, same run)
ERR_PAIRS, ERR_HEAP, ERR_LIST, ERR_STACK, ERR_RANDOM = 1, 2, 3, 4, 5

#: the tables, in the order of the directory (:func:`pack`): (name, dtype, dimensions)
TABLES = (
    ("pf", "f8", 2), ("pq", "i8", 2), ("pfree", "i8", 1), ("zombie", "i8", 1),  # pairs, free rows, rows to free
    ("uf", "f8", 2), ("ui", "i8", 2),                                            # link units
    ("rf", "f8", 2), ("ri", "i8", 2), ("rhop", "i8", 3), ("rplat", "f8", 3),    # routes; (first unit, units) per hop
    ("lst", "i8", 4), ("nlst", "i8", 3),   # pairs stored at [route, position, side (0 = left), k] and their number
    ("nf", "f8", 2), ("ni", "i8", 2),      # nodes
    ("ht", "f8", 1), ("hi", "i8", 2),      # event heap
    ("stack", "i8", 2),                    # frames of the swap recursion (position, stage, pair)
    ("gf", "f8", 1), ("gi", "i8", 1),      # globals
    ("ubuf", "f8", 1),                     # uniforms drawn from the run's numpy generator, in order
)
DIR_STRIDE = 5  # directory entry of a table: its address, then up to 4 dimensions
#: the tables on the Python side (read after the run)
NetArrays = namedtuple("NetArrays", [t[0] for t in TABLES])
#: the same tables inside the kernels (views without reference counting) and the directory pointer
NetState = namedtuple("NetState", [t[0] for t in TABLES] + ["dp"])


def _pointer_intrinsic(dtype):
    @intrinsic
    def pointer(typingctx, address):
        sig = types.CPointer(dtype)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(types.CPointer(dtype)))

        return sig, codegen

    return pointer


_f8p, _i8p = _pointer_intrinsic(types.float64), _pointer_intrinsic(types.int64)


@kernel_jit
def _f1(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_f8p(dp[o]), (dp[o + 1],))


@kernel_jit
def _f2(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_f8p(dp[o]), (dp[o + 1], dp[o + 2]))


@kernel_jit
def _f3(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_f8p(dp[o]), (dp[o + 1], dp[o + 2], dp[o + 3]))


@kernel_jit
def _i1(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_i8p(dp[o]), (dp[o + 1],))


@kernel_jit
def _i2(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_i8p(dp[o]), (dp[o + 1], dp[o + 2]))


@kernel_jit
def _i3(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_i8p(dp[o]), (dp[o + 1], dp[o + 2], dp[o + 3]))


@kernel_jit
def _i4(dp, k):
    o = DIR_STRIDE * k
    return numba.carray(_i8p(dp[o]), (dp[o + 1], dp[o + 2], dp[o + 3], dp[o + 4]))


@inline_jit
def tables(dp):
    """The :class:`NetState` of the directory at ``dp`` (in the order of :data:`TABLES`)."""
    return NetState(_f2(dp, 0), _i2(dp, 1), _i1(dp, 2), _i1(dp, 3), _f2(dp, 4), _i2(dp, 5), _f2(dp, 6), _i2(dp, 7),
                    _i3(dp, 8), _f3(dp, 9), _i4(dp, 10), _i3(dp, 11), _f2(dp, 12), _i2(dp, 13), _f1(dp, 14),
                    _i2(dp, 15), _i2(dp, 16), _f1(dp, 17), _i1(dp, 18), _f1(dp, 19), dp)


def capacities(model) -> tuple[int, int, int, int, int]:
    """Initial (pairs, heap, list, stack, uniforms reserved per event) table sizes; the wrapper
    multiplies one by 4 when a run overflows it."""
    slots = 2 ** model.protocol.rounds
    units = sum(model.units.values())
    per_hop = max(model.units.values())
    hops = sum(r.hops for r in model.routes)
    return (64 + 8 * units * slots, 256 + 16 * units * slots, 2 * per_hop + 2, 16 + 4 * units * slots,
            64 + 4 * units * slots + 4 * hops)


def uniform_buffer_size(model, reserve: int) -> int:
    """Uniforms per refill of ``ubuf``: the start (one per slot) and many events' worth."""
    return max(1 << 16, 4 * reserve + sum(model.units.values()) * 2 ** model.protocol.rounds)


def pack(model, pairs: int | None, duration_s: float | None, caps: tuple) -> tuple[NetArrays, np.ndarray]:
    """The tables of one run of ``model`` (see :class:`~.simulation.Simulation` for the same set-up) and
    their directory (per table: address and shape, :data:`DIR_STRIDE` entries; the kernels' only
    argument). The tables must outlive every kernel call on the directory."""
    proto = model.protocol
    cap_pairs, cap_heap, cap_list, cap_stack, reserve = caps
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
        c = link_cutoff_s(link, proto.cutoff_s)  # the link's memories (none: inf)
        if c is None:
            uf[k, UCUT] = math.inf
        else:
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
    gi[GHASCUT] = bool(np.isfinite(uf[:, UCUT]).any()) if len(units) else proto.cutoff_s is not None
    gi[GONGRID] = bool(proto.cutoff_on_grid)
    gi[GTARGET] = -1 if pairs is None else int(pairs)
    gi[GDEJMPS] = proto.purification == "dejmps"
    gi[GSLOTS] = slots
    gi[GNROUTES] = n_routes
    gi[GRESERVE] = reserve
    arrays = NetArrays(
        pf=np.zeros((cap_pairs, 8)), pq=np.zeros((cap_pairs, 15), np.int64),
        pfree=np.zeros(cap_pairs, np.int64), zombie=np.zeros(cap_pairs, np.int64),
        uf=uf, ui=ui, rf=rf, ri=ri_, rhop=rhop, rplat=rplat,
        lst=np.zeros((n_routes, kmax, 2, cap_list), np.int64), nlst=np.zeros((n_routes, kmax, 2), np.int64),
        nf=np.zeros((len(names), 2)), ni=np.zeros((len(names), 2), np.int64),
        ht=np.zeros(cap_heap), hi=np.zeros((cap_heap, 4), np.int64),
        stack=np.zeros((cap_stack, 3), np.int64), gf=gf, gi=gi,
        ubuf=np.zeros(uniform_buffer_size(model, reserve)),
    )
    directory = np.zeros(DIR_STRIDE * len(TABLES), np.int64)
    for k, ((name, dtype, ndim), a) in enumerate(zip(TABLES, arrays)):
        assert a.flags.c_contiguous and a.dtype == np.dtype(dtype) and a.ndim == ndim, name
        directory[DIR_STRIDE * k] = a.ctypes.data
        directory[DIR_STRIDE * k + 1: DIR_STRIDE * k + 1 + ndim] = a.shape
    return arrays, directory
