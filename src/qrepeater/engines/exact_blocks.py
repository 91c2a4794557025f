"""Exact engine on blocks of attempts: cost independent of 1/p (the coarse grid of :mod:`.exact`).

Why. The fine engine (:func:`qrepeater.engines.exact.solve_exact`) keeps every distribution on a grid
of single attempts, ~25 mean waiting times long, so its cost grows as 1/p. Here time is cut into
blocks of ``b`` attempts, t = k·b + s (s = 1 … b), and on each block a distribution is stored by its
``n`` coefficients in the discrete orthonormal polynomials φ_j(s) of the block's b points (the Gram /
discrete Chebyshev polynomials). Nothing is rounded to the block grid: sums over attempts stay sums
over the integers.

Operations (each level: Brand, Coopmans, Elkouss, IEEE JSAC 38, 619 (2020), as in :mod:`.exact`):

* Pointwise products (r·(2E − r), the purification instrument, 2 r(t − c) P(T > t)) are formed at the
  Q nodes of the Gauss rule of the block's discrete uniform measure (Golub–Welsch on the Jacobi matrix
  of the Gram polynomials: α = (b+1)/2, β_k = k²(b² − k²)/(4(4k² − 1))) and projected back; Q is
  chosen so that this projection is exact for products of two degree-(n−1) polynomials.
* Discrete convolutions (window sums, cumulative sums, the renewal) are exact bilinear maps of block
  coefficients: block k of f and block l of g land in blocks k+l and k+l+1 with fixed tensors
  C₀, C₁ (n×n×n), built from the polynomial ψ_ij(s) = Σ_{s₁} φ_i(s₁) φ_j(s − s₁) — a sum computed
  by Gauss rules on its own range and interpolated at 2n integer points (exact for polynomials).
  In Fourier space over the block index, a convolution is an n×n matrix per frequency, and the
  renewal R = S + F∗R an n×n linear solve per frequency (exponential damping against wrap-around,
  as in the fine engine).
* Break points. With a cut-off of c attempts every distribution is an exponential polynomial between
  the points t = j·c + ½ (the window of a swap ends at d = c, a discarded pair leaves at min + c, and
  convolutions add break points); choosing b as a divisor of c puts all of them on block edges, so
  each block holds one smooth piece.

Error bound. On each block the distributions are exponential polynomials in t. Their rates per attempt
are at most λ = 2^L (−ln(1 − p) + max Γτ) for L = levels + purification rounds: the link rate and the
decay rates, doubled by each level's product of two distributions. The best degree-(n − 1)
approximation of e^(−λ s) on a block of b attempts errs by at most ε_b = 2 (λb/4)^n / n! (Chebyshev
series of the exponential, Bernstein's bound); b and n are chosen so that ε_b ≤ 1e-12
(:data:`EPS_BLOCK`). The projections keep each block's mass and first moment exactly (degree ≥ 1), so
the means are disturbed only through the products, O(10) per level, and the renewal amplifies by at
most its expected number of attempts per success K: relative error of the means ≲ 10 L K ε_b, i.e.
≲ 1e-9 even for K = 10³ — below the fine grid's own truncation (``tol`` = 1e-8) and its FFT round-off
(~1e-10). Checked against the fine grid to 1e-7 (in practice ~1e-9) on the means at p = 1e-2 and 1e-3,
and against Monte Carlo at p = 1e-4 (``tests/test_engines_small_p.py``).

Cost. b ≈ 2/λ attempts (a divisor of c), N ≈ 25 E[T]/b blocks, O(N n³) per level with n ≈ 12–20: the
number of blocks depends on E[T]·λ, not on 1/p (E[T] ∝ 1/p and λ ∝ p when the decay is slow).

Classical delay δ > 0 is not coarsened: times n τ + m δ compare by real time, which puts break points
at fractional shifts ρ(m − m') inside blocks. Such chains run on the fine lattice of
:mod:`.exact_lattice` (only their last level is reduced to means).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import ParameterError
from ..states.purification import bbpssw_unnormalized, dejmps_unnormalized
from ..states.swapping import PHI_PLUS_CORRELATORS
from .exact_lattice import _bell_to_tc, _tc_to_bell, decayed_cumsum

#: target of the per-block truncation bound 2 (λb/4)^n / n! (see the module docstring)
EPS_BLOCK = 1e-12
#: most coefficients per block (the tensors interpolate polynomials of degree 2n − 1)
MAX_COEFFS = 28
#: blocks at most this long are built by direct sums over their points
_DIRECT_B = 96
_DAMP_TOTAL = 1e-6


def _jacobi(npts: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Recurrence coefficients of the first ``k`` orthonormal polynomials of the uniform measure on
    {1 … npts}, in the scaled variable y = (2x − npts − 1)/npts ∈ (−1, 1): α = 0, β₀ = npts, β_j below."""
    j = np.arange(1, k, dtype=float)
    beta = j * j * (1.0 - (j / npts) ** 2) / (4.0 * j * j - 1.0)  # β_j / (npts/2)²
    return np.zeros(k), beta


def _gauss(npts: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss rule with q ≤ npts nodes for Σ_{s=1}^{npts} f(s) (exact for degree ≤ 2q − 1): (nodes s, weights)."""
    if q >= npts:
        return np.arange(1, npts + 1, dtype=float), np.ones(npts)
    _, beta = _jacobi(npts, q)
    off = np.sqrt(beta)
    jac = np.diag(off, 1) + np.diag(off, -1)
    y, vec = np.linalg.eigh(jac)
    w = npts * vec[0] ** 2
    return (y * npts + npts + 1) / 2.0, w


def _phi(npts: int, n: int, x: np.ndarray) -> np.ndarray:
    """φ_j(x), j < n, orthonormal on {1 … npts} (three-term recurrence; x may be fractional): (n, len(x))."""
    y = (2.0 * np.asarray(x, float) - npts - 1.0) / npts
    _, beta = _jacobi(npts, n)
    out = np.empty((n, y.size))
    out[0] = 1.0 / math.sqrt(npts)
    if n > 1:
        out[1] = y * out[0] / math.sqrt(beta[0])
    for j in range(2, n):
        out[j] = (y * out[j - 1] - math.sqrt(beta[j - 2]) * out[j - 2]) / math.sqrt(beta[j - 1])
    return out


def _sample_points(lo: int, hi: int, k: int) -> np.ndarray:
    """k distinct integers in [lo, hi], Chebyshev-spaced (stable polynomial interpolation)."""
    x = (lo + hi) / 2.0 - (hi - lo) / 2.0 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
    pts = np.unique(np.clip(np.rint(x), lo, hi).astype(np.int64))
    if pts.size < k:  # rounding merged points: fill from the unused integers nearest the ends
        rest = np.setdiff1d(np.arange(lo, hi + 1), pts)
        pts = np.sort(np.concatenate([pts, rest[np.argsort(np.minimum(rest - lo, hi - rest))][: k - pts.size]]))
    return pts.astype(float)


def _interp_matrix(xs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Barycentric Lagrange interpolation matrix: values at ``xs`` → values at ``x`` (len(x), len(xs))."""
    d = (xs[:, None] - xs[None, :]) / (xs.max() - xs.min())
    np.fill_diagonal(d, 1.0)
    wb = 1.0 / d.prod(axis=1)
    diff = x[:, None] - xs[None, :]
    exact = diff == 0.0
    diff[exact] = 1.0
    m = wb[None, :] / diff
    m /= m.sum(axis=1, keepdims=True)
    rows = exact.any(axis=1)
    m[rows] = exact[rows].astype(float)
    return m


@functools.lru_cache(maxsize=32)
def block_basis(b: int, n: int) -> "BlockBasis":
    """The (cached) basis of blocks of ``b`` attempts with ``n`` ≤ b coefficients."""
    return BlockBasis(b, n)


class BlockBasis:
    """Gram polynomials, Gauss nodes and convolution tensors of blocks of ``b`` attempts."""

    def __init__(self, b: int, n: int):
        self.b, self.n = int(b), int(min(n, b))
        n = self.n
        self.nodes, self.weights = _gauss(b, min(b, (3 * n) // 2 + 1))
        self.phi_nodes = _phi(b, n, self.nodes)  # (n, Q)
        self.proj = (self.phi_nodes * self.weights).T  # values at nodes → coefficients: vals @ proj
        s = np.arange(1, b + 1, dtype=float)
        self.mass = np.zeros(n)
        self.mass[0] = math.sqrt(b)  # Σ_s φ_j(s)
        self.moment = self.phi_nodes @ (self.weights * self.nodes)  # Σ_s s φ_j(s)
        self.c0, self.c1 = self._tensors(s) if b <= _DIRECT_B else self._tensors_gauss()

    def _tensors(self, s: np.ndarray):
        """C0[i,j,m] = Σ_{s1+s2 ≤ b} φ_i(s1) φ_j(s2) φ_m(s1+s2); C1: s1+s2 > b into φ_m(s1+s2−b)."""
        b, n = self.b, self.n
        phi = _phi(b, n, s)  # (n, b)
        psi = np.zeros((n, n, 2 * b + 1))  # ψ_ij(t) = Σ_{s1} φ_i(s1) φ_j(t − s1), t = 2 … 2b
        for s1 in range(1, b + 1):
            psi[:, :, s1 + 1 : s1 + b + 1] += phi[:, s1 - 1][:, None, None] * phi[None, :, :]
        c0 = np.einsum("ijt,mt->ijm", psi[:, :, 1 : b + 1], phi)
        c1 = np.einsum("ijt,mt->ijm", psi[:, :, b + 1 : 2 * b + 1], phi)
        return c0, c1

    def _psi(self, lo_piece: bool, u: float) -> np.ndarray:
        """ψ_ij on the low piece at t = u (t ∈ [1, b+1]) or the high piece at t = b + u (u ∈ [1, b+1])."""
        b, n = self.b, self.n
        if lo_piece:
            first, count = 1, int(u) - 1  # s1 = 1 … t − 1
            t = u
        else:
            first, count = int(u), b - int(u) + 1  # s1 = u … b
            t = b + u
        if count <= 0:
            return np.zeros((n, n))
        x, w = _gauss(count, n)
        x = x + (first - 1)
        return (_phi(b, n, x) * w) @ _phi(b, n, t - x).T

    def _tensors_gauss(self):
        """As :meth:`_tensors`, in O(n⁴): ψ (degree ≤ 2n − 1 on each piece) from Gauss sums at 2n integer
        points, interpolated to the block's Gauss nodes."""
        b, n = self.b, self.n
        xs = _sample_points(1, b + 1, 2 * n)
        to_nodes = _interp_matrix(xs, self.nodes)  # (Q, 2n)
        out = []
        for lo in (True, False):
            psi = np.stack([self._psi(lo, u) for u in xs.astype(int)], axis=-1)  # (n, n, 2n)
            at_nodes = psi @ to_nodes.T  # (n, n, Q)
            out.append(np.einsum("ijq,mq->ijm", at_nodes * self.weights, self.phi_nodes))
        return out[0], out[1]

    # -- block functions: arrays (..., N, n) -------------------------------------------------------
    def values(self, coef: np.ndarray) -> np.ndarray:
        return np.einsum("...j,jq->...q", coef, self.phi_nodes)  # einsum: no threaded BLAS for small products

    def project(self, vals: np.ndarray) -> np.ndarray:
        return np.einsum("...q,qj->...j", vals, self.proj)

    def exponential(self, rate: float, nblocks: int, start: int = 1, stop: int | None = None) -> np.ndarray:
        """Coefficients of e^(−rate (t − 1)) for start ≤ t ≤ stop (block edges), 0 elsewhere: (nblocks, n)."""
        k = np.arange(nblocks)
        t = k[:, None] * self.b + self.nodes[None, :]
        vals = np.exp(-rate * (t - 1.0))
        vals[t < start] = 0.0
        if stop is not None:
            vals[t > stop] = 0.0
        return self.project(vals)

    def total(self, coef: np.ndarray) -> np.ndarray:
        """Σ_t f(t) over all blocks."""
        return coef[..., 0].sum(axis=-1) * self.mass[0]

    def first_moment(self, coef: np.ndarray) -> np.ndarray:
        """Σ_t t f(t) over all blocks."""
        k = np.arange(coef.shape[-2], dtype=float) * self.b
        return (coef[..., 0] * k).sum(axis=-1) * self.mass[0] + (coef * self.moment).sum(axis=(-1, -2))

    def conv_matrix(self, g_hat: np.ndarray, z: np.ndarray) -> np.ndarray:
        """M[f, i, m] = Σ_j ĝ_j(f) (C0 + z_f C1)[i, j, m]: the convolution with g as a matrix per frequency."""
        n = self.n
        if not hasattr(self, "_c01"):
            self._c01 = (np.ascontiguousarray(self.c0.transpose(1, 0, 2).reshape(n, n * n)),
                         np.ascontiguousarray(self.c1.transpose(1, 0, 2).reshape(n, n * n)))
        a, b = self._c01
        m0 = np.einsum("fj,jk->fk", g_hat, a)
        m0 += z[:, None] * np.einsum("fj,jk->fk", g_hat, b)
        return m0.reshape(-1, n, n)

    def convolve(self, f: np.ndarray, g: np.ndarray, nout: int) -> np.ndarray:
        """(f ∗ g) on blocks 0 … nout − 1 for f (..., Nf, n) and one kernel g (Ng, n)."""
        f, g = f[..., :nout, :], g[:nout]
        size = _fast_len(f.shape[-2] + g.shape[0])
        z = np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)
        mat = self.conv_matrix(np.fft.rfft(g, n=size, axis=0), z)
        fh = np.fft.rfft(f, n=size, axis=-2)
        out = np.fft.irfft(np.einsum("...fi,fim->...fm", fh, mat), n=size, axis=-2)
        return out[..., :nout, :]

    def renewal(self, succ: np.ndarray, fail: np.ndarray, nout: int) -> np.ndarray:
        """R = S + F ∗ R on blocks 0 … nout − 1 (rows of ``succ`` (r, N, n) share ``fail`` (N', n))."""
        size = _fast_len(nout)
        theta = math.exp(math.log(_DAMP_TOTAL) / size)
        damp = theta ** np.arange(size)
        s = np.zeros(succ.shape[:-2] + (size, self.n))
        m = min(size, succ.shape[-2])
        s[..., :m, :] = succ[..., :m, :] * damp[:m, None]
        f = np.zeros((size, self.n))
        m = min(size, fail.shape[0])
        f[:m] = fail[:m] * damp[:m, None]
        z = theta * np.exp(-2j * np.pi * np.arange(size // 2 + 1) / size)
        mat = self.conv_matrix(np.fft.rfft(f, axis=0), z)  # (R∗F)^_m = Σ_i R̂_i mat[·, i, m]
        lhs = np.swapaxes(np.eye(self.n) - mat, 1, 2)  # R̂ (I − mat) = Ŝ, transposed
        rhs = np.fft.rfft(s, axis=-2).transpose(1, 2, 0)  # (F, n, rows)
        rh = np.linalg.solve(lhs, rhs).transpose(2, 0, 1)
        out = np.fft.irfft(rh, n=size, axis=-2)[:, :nout]
        return out / damp[:nout, None]


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c ≥ n (fast FFT length)."""
    best = 1 << max(0, (int(n) - 1).bit_length())
    f5 = 1
    while f5 < best:
        f35 = f5
        while f35 < best:
            x = f35
            while x < n:
                x *= 2
            best = min(best, x)
            f35 *= 3
        f5 *= 5
    return best


# -- block size -----------------------------------------------------------------------------------
def coefficients_needed(x: float) -> int:
    """Smallest n ≥ 4 with 2 (x/4)^n / n! ≤ EPS_BLOCK (x = λ·b, see the module docstring); any value
    above :data:`MAX_COEFFS` is reported as ``MAX_COEFFS + 1`` (the search stops there: for a long
    block the terms first grow until n ≈ x/4, so an uncapped search would take ~x steps)."""
    n, term = 1, 2.0 * x / 4.0
    while n < 4 or term > EPS_BLOCK:
        n += 1
        if n > MAX_COEFFS:
            return MAX_COEFFS + 1
        term *= x / 4.0 / n
    return n


def choose_block(cutoff: int | None, rate: float, target_x: float = 2.0) -> tuple[int, int]:
    """(b, n): block length (a divisor of the cut-off, so break points sit on block edges) and
    coefficients per block, minimising the work per attempt ~ (n³ + n Q)/b at the accuracy of
    :data:`EPS_BLOCK`."""
    ideal = max(1, int(target_x / rate)) if rate > 0 else 1 << 40
    if not cutoff:  # None, or 0 attempts (a cut-off shorter than one attempt): no break point inside a block
        cands = [ideal]
    else:
        c = int(cutoff)
        small = [d for d in range(1, math.isqrt(c) + 1) if c % d == 0]
        cands = sorted(set(small + [c // d for d in small]))
    best = None
    for b in cands:
        n = min(b, coefficients_needed(b * rate))
        if n > MAX_COEFFS:
            continue
        cost = (n**3 + 30 * n + 300) / b  # renewal ~n³ per block, products ~nQ, fixed per-block numpy work
        if best is None or cost < best[0] or (cost == best[0] and b > best[1]):
            best = (cost, b, n)
    return best[1], best[2]


# -- one level ------------------------------------------------------------------------------------
class BlockChain:
    """Levels of a nested chain on blocks (no classical delay); see the module docstring."""

    def __init__(self, basis: BlockBasis, cutoff: int | None, rates_per_attempt: np.ndarray, max_grid: int):
        self.basis, self.c, self.max_grid = basis, cutoff, int(max_grid)
        self.q_rates = np.asarray(rates_per_attempt, float)  # (0, Γ⊥τ, Γ⊥τ, Γ∥τ)
        self._kernels: dict[tuple[float, int], np.ndarray] = {}

    def _tail_sums(self, r: np.ndarray, rate: float) -> np.ndarray:
        """A(t) = Σ_{d ≥ 0} e^(−rate·d) r(t − d) for rows r (..., N, n), by a recursion over blocks.

        With K(d) = e^(−rate (d − 1)), d ≥ 1, split into blocks K_l = Q^l K₀ (Q = e^(−rate·b)), the
        convolution r ∗ K on block k is y_k = Q y_(k−1) + M₀ a_k + M₁ a_(k−1) with M₀, M₁ the block
        tensors C₀, C₁ contracted with K₀; then A = r + e^(−rate) y."""
        B = self.basis
        key = float(rate)
        if key not in self._kernels:
            k0 = B.exponential(rate, 1)[0]
            self._kernels[key] = (np.einsum("j,ijm->im", k0, B.c0), np.einsum("j,ijm->im", k0, B.c1))
        m0, m1 = self._kernels[key]
        u = np.einsum("...kj,jm->...km", r, m0)
        u[..., 1:, :] += np.einsum("...kj,jm->...km", r[..., :-1, :], m1)
        y = np.moveaxis(decayed_cumsum(np.moveaxis(u, -2, -1), math.exp(-rate * B.b)), -1, -2)
        return r + math.exp(-rate) * y

    def _window(self, r: np.ndarray) -> np.ndarray:
        """E_j(t) = Σ_{d=0}^{c} e^(−Γ_j τ d) r_j(t − d) = A_j(t) − e^(−Γ_j τ c) (A_j(t − c) − r_j(t − c))."""
        B = self.basis
        if self.c == 0:  # a cut-off shorter than one attempt: only a partner of the same attempt (d = 0)
            return r.copy()
        out = np.empty_like(r)
        for rate in np.unique(self.q_rates):
            rows = np.flatnonzero(self.q_rates == rate)
            a = self._tail_sums(r[rows], rate)
            if self.c is not None:
                shift = self.c // B.b
                a[..., shift:, :] -= math.exp(-rate * self.c) * (a[..., :-shift, :] - r[rows][..., :-shift, :])
            out[rows] = a
        return out

    def join(self, r: np.ndarray, op: str, swap_p: float, post: np.ndarray):
        """Succeeding (4, N, n) and failing (N', n) attempts of one level from its input r (4, N, n)."""
        B = self.basis
        N = r.shape[-2]
        two_e = 2.0 * self._window(r) - r
        rv, ev = B.values(r), B.values(two_e)  # (4, N, Q)
        pre = rv[0] * ev[0]
        if op == "swap":
            sv = np.empty_like(rv)
            sv[0] = swap_p * pre
            sv[1:] = swap_p * (PHI_PLUS_CORRELATORS * post)[:, None, None] * rv[1:] * ev[1:]
        else:
            fn = bbpssw_unnormalized if op == "bbpssw" else dejmps_unnormalized
            shape = rv.shape[1:]
            lam = _tc_to_bell(rv.reshape(4, -1))
            sv = _bell_to_tc(fn(lam, _tc_to_bell(ev.reshape(4, -1)))).reshape((4,) + shape)
            sv[1:] *= post[:, None, None]
        succ = B.project(sv)
        fail_v = pre - sv[0]
        if self.c is None:
            return succ, B.project(fail_v)
        shift = self.c // B.b
        if shift >= N:  # partners later than the whole grid: at most the grid's neglected mass (as the fine grid)
            return succ, B.project(fail_v)
        cum = self._tail_sums(r[0], 0.0)  # Σ_{u ≤ t} r₀(u)
        total = float(B.total(r[0]))
        surv_v = np.full((N + shift, B.phi_nodes.shape[1]), max(0.0, 1.0 - total))
        surv_v[:N] = 1.0 - B.values(cum)
        fail = np.zeros((N + shift, B.n))
        fail[:N] = B.project(fail_v)
        # the earlier pair at u, its partner later than u + c: discarded at u + c
        fail[shift:] += B.project(2.0 * B.values(r[0]) * surv_v[shift:])
        if not float(B.total(succ[0])) > 0:
            raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
        return succ, fail

    def _joined(self, r, op, swap_p, post, partner):
        """:meth:`join`, or with ``partner`` the swap of two different pairs (``join_pair`` of
        :class:`qrepeater.engines.exact_hetero.PairBlockChain`, per-segment chains)."""
        return self.join(r, op, swap_p, post) if partner is None else self.join_pair(r, partner, swap_p, post)

    def level(self, r: np.ndarray, op: str, swap_p: float, post: np.ndarray, tol: float, partner=None) -> np.ndarray:
        """The next level's distribution (4, N', n): renewal of :meth:`join` on a grid holding all but tol."""
        B = self.basis
        succ, fail = self._joined(r, op, swap_p, post, partner)
        p_succ, p_fail = float(B.total(succ[0])), float(B.total(fail))
        if not p_succ > 0:
            raise ParameterError("chain", "no successful attempt", "parameters for which a pair can be delivered")
        mean = (float(B.first_moment(succ[0])) + float(B.first_moment(fail))) / p_succ  # attempts
        expected = p_succ / (1.0 - p_fail) if p_fail < 1.0 else 1.0
        nblocks = max(r.shape[-2], math.ceil((mean * (math.log(1.0 / tol) + 3.0) + 8) / B.b))
        while True:
            if nblocks * B.n > self.max_grid:
                raise ParameterError(
                    "exact-engine grid", nblocks * B.n, f"<= {self.max_grid} coefficients ({nblocks} blocks of {B.b} "
                    f"attempts): the mean waiting time ({mean:.3g} attempts) is too long for the exact engine; use "
                    "engine 'montecarlo'",
                )
            out = B.renewal(succ, fail, nblocks)
            if expected - float(B.total(out[0])) <= max(tol, 1e-9):
                return out
            nblocks *= 2

    def means(self, r: np.ndarray, op: str, swap_p: float, post: np.ndarray, partner=None) -> tuple[float, np.ndarray, float]:
        """Last level reduced to its means: (E[T] in attempts, E[correlators] (3,), neglected mass).

        With S, F the succeeding and failing attempts, T = F₁ + … + F_K + S gives
        E[T] = Σ t S / Σ S + Σ t F / (1 − Σ F) and the delivered state Σ S_corr / Σ S (no renewal grid)."""
        B = self.basis
        succ, fail = self._joined(r, op, swap_p, post, partner)
        p_succ, p_fail = float(B.total(succ[0])), float(B.total(fail))
        mean = float(B.first_moment(succ[0])) / p_succ + float(B.first_moment(fail)) / (1.0 - p_fail)
        corr = np.asarray(B.total(succ[1:]), float) / p_succ
        return mean, corr, abs(1.0 - p_succ / (1.0 - p_fail))


def block_means(spec, tol: float, max_grid: int) -> tuple[float, np.ndarray, float, tuple[int, int]]:
    """(E[T] in attempts, E[(⟨XX⟩, ⟨YY⟩, ⟨ZZ⟩)] of the delivered pair, neglected mass, (b, n)) of a
    nested chain without classical delay, on blocks (see the module docstring)."""
    from ..states.swapping import swap_noise_factors

    link = spec.link
    tau = link.attempt_duration_s
    p = spec.link_success_probability
    rates = tau * np.array([0.0, link.transverse_rate_hz, link.transverse_rate_hz, link.longitudinal_rate_hz])
    steps = [(spec.purification, 1.0, np.ones(3))] * spec.rounds
    noise = swap_noise_factors(spec.swap.gate_fidelity, spec.swap.readout_error)
    steps += [("swap", float(spec.swap.success_probability), noise)] * spec.levels
    fresh = np.asarray(link.fresh_state.correlators, float)
    if not steps:  # one bare segment: geometric waiting time, fresh state
        return 1.0 / p, fresh.copy(), 0.0, (1, 1)
    link_rate = -math.log1p(-p) if p < 1.0 else math.inf
    rate = 2.0 ** len(steps) * (link_rate + float(rates.max()))
    b, n = choose_block(spec.cutoff_attempts, rate) if math.isfinite(rate) else (1, 1)
    basis = block_basis(b, n)
    chain = BlockChain(basis, spec.cutoff_attempts, rates, max_grid)
    level_tol = tol / (2.0 * (len(steps) + 1))
    length = int(math.ceil(math.log(1.0 / level_tol) / link_rate)) + 2 if p < 1.0 else 2  # as the fine grid
    nblocks = -(-length // b)
    if p < 1.0:
        pmf = p * basis.exponential(link_rate, nblocks)  # P(T = t) = p (1 − p)^(t − 1), t ≥ 1
    else:
        pmf = basis.project(np.where(np.arange(nblocks)[:, None] * b + basis.nodes[None, :] == 1.0, 1.0, 0.0))
    r = np.concatenate([pmf[None], fresh[:, None, None] * pmf[None]], axis=0)
    for i, (op, swap_p, post) in enumerate(steps):
        if i == len(steps) - 1:
            mean, corr, trunc = chain.means(r, op, swap_p, post)
            return mean, corr, trunc, (b, basis.n)
        r = chain.level(r, op, swap_p, post, level_tol)
    raise AssertionError("unreachable")
