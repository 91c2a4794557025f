"""NPA moment matrices for the CHSH scenario with an eavesdropper's operators (for :mod:`.bff`).

The Navascués–Pironio–Acín hierarchy (Navascués, Pironio, Acín, PRL 98, 010401 (2007); New J. Phys.
10, 073013 (2008)) relaxes an optimisation over quantum strategies to a semidefinite program over
moment matrices. Here it is built for the problem of Brown, Fawzi and Fawzi (arXiv:2106.13692).

Operators (letters)
-------------------
* Alice: ±1 observables ``A_x`` (x = 0, 1), ``A_x² = 1``; outcome-0 projector ``(1 + A_x)/2``.
* Bob: ``B_y`` (y = 0, 1), ``B_y² = 1``.
* Eve: ``Z_a`` and ``Z_a*`` (a = 0, 1, one per key outcome); arbitrary bounded operators.

Relations: ``A_x² = B_y² = 1`` and the three parties' operators commute with one another; nothing
else, which is what makes the relaxation device-independent. (Observables and projectors span the
same words, so this is the usual projector relaxation written in another basis.)

Words and moments
-----------------
A word is stored in normal form ``(alice, bob, eve)``: Alice's settings in order with adjacent equal
letters cancelled (``A A = 1``), Bob's likewise, Eve's letters coded ``2a`` for ``Z_a`` and ``2a + 1``
for ``Z_a*`` (so ``code ^ 1`` is the adjoint). The moment matrix is ``Γ[u, v] = ⟨ψ|u* v|ψ⟩``.

Two reductions, both exact for the problems of :mod:`.bff`:

* *Real moments.* Constraints and objective are real, so the complex conjugate of a feasible Γ is
  feasible with the same value, and so is the average: Γ may be taken real symmetric, which
  identifies the moment of ``w`` with that of ``w*``.
* *Outcome-flip symmetry* (``symmetric=True``): flipping every outcome (``A → -A``, ``B → -B``) and
  swapping Eve's ``Z_0 ↔ Z_1`` leaves the correlators ``⟨A_x B_y⟩``, the CHSH value and the entropy
  objective unchanged; it flips the marginals ``⟨A_x⟩``, ``⟨B_y⟩``. When the marginals are zero or not
  constrained, the average of a feasible Γ and its flipped image is feasible with the same value, so
  Γ may be taken invariant: the moment of ``w`` equals ``(-1)^{#A + #B letters}`` times that of the
  flipped word, and Γ splits into an even and an odd block (about half the size each; the interior
  point cost falls ~10×).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

Word = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]

IDENTITY: Word = ((), (), ())


def _cancel(letters: tuple[int, ...]) -> tuple[int, ...]:
    """Normal form of a product of involutions: adjacent equal letters cancel (A A = 1)."""
    out: list[int] = []
    for c in letters:
        if out and out[-1] == c:
            out.pop()
        else:
            out.append(c)
    return tuple(out)


def multiply(u: Word, v: Word) -> Word:
    """Normal form of ``u v`` (the parties commute, so each party's letters concatenate)."""
    return (_cancel(u[0] + v[0]), _cancel(u[1] + v[1]), u[2] + v[2])


def adjoint(w: Word) -> Word:
    """Normal form of ``w*``: letters reversed, Eve's ``Z_a`` and ``Z_a*`` swapped."""
    return (w[0][::-1], w[1][::-1], tuple(c ^ 1 for c in w[2][::-1]))


def flip(w: Word) -> tuple[Word, int]:
    """The outcome-flip image of ``w`` and its sign: ``A → -A``, ``B → -B``, ``Z_0 ↔ Z_1``."""
    sign = -1 if (len(w[0]) + len(w[1])) % 2 else 1
    return (w[0], w[1], tuple(c ^ 2 for c in w[2])), sign


def word_product(*words: Word) -> Word:
    """Normal form of a product of words, left to right."""
    out = IDENTITY
    for w in words:
        out = multiply(out, w)
    return out


def alice(x: int) -> Word:
    """The word ``A_x``."""
    return ((x,), (), ())


def bob(y: int) -> Word:
    """The word ``B_y``."""
    return ((), (y,), ())


def eve(a: int, dagger: bool = False) -> Word:
    """The word ``Z_a`` (``Z_a*`` when ``dagger``)."""
    return ((), (), (2 * a + (1 if dagger else 0),))


def alice_bob_words(level: int) -> list[Word]:
    """All normal-form words in Alice's and Bob's letters with at most ``level`` letters."""
    seen: dict[Word, None] = {IDENTITY: None}
    frontier = [IDENTITY]
    letters = [alice(0), alice(1), bob(0), bob(1)]
    for _ in range(level):
        nxt = []
        for w in frontier:
            for c in letters:
                p = multiply(w, c)
                if p not in seen and len(p[0]) + len(p[1]) == len(w[0]) + len(w[1]) + 1:
                    seen[p] = None
                    nxt.append(p)
        frontier = nxt
    return list(seen)


@dataclass
class MomentMatrix:
    """A real symmetric NPA moment matrix ``Γ = Σ_k y_k F_k`` over a list of words.

    Parameters
    ----------
    words : list of Word
        Row/column labels (duplicates dropped, order kept).
    symmetric : bool
        Impose the outcome-flip symmetry (module docstring) and split Γ into its two blocks.

    Attributes
    ----------
    keys : list of Word
        One representative word per moment variable ``y_k``; ``keys[0]`` is the identity
        (``y_0 = ⟨ψ|ψ⟩ = 1``).
    blocks : list of scipy.sparse.csr_matrix
        For each diagonal block ``G_b`` of (the symmetry-adapted) Γ, the map ``vec(G_b) = M_b y``.
    """

    words: list[Word]
    symmetric: bool = False
    keys: list[Word] = field(init=False)
    blocks: list[sp.csr_matrix] = field(init=False, repr=False)
    _index: dict[Word, tuple[int, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.words = list(dict.fromkeys(self.words))
        self._index = {IDENTITY: (0, 1)}
        self.keys = [IDENTITY]
        if self.symmetric:
            bases = self._symmetry_adapted_bases()
        else:
            bases = [[[(u, 1.0)] for u in self.words]]
        # moments are numbered while the entries are collected, so the maps are sized afterwards
        triplets = [self._block_entries(basis) for basis in bases if basis]
        self.blocks = []
        for rows, cols, vals, n in triplets:
            m = sp.csr_matrix((vals, (rows, cols)), shape=(n * n, self.n_moments))
            m.sum_duplicates()
            self.blocks.append(m)

    # ---------------------------------------------------------------- moments
    def _orbit(self, w: Word) -> list[tuple[Word, int]]:
        out = [(w, 1), (adjoint(w), 1)]
        if self.symmetric:
            g, s = flip(w)
            out += [(g, s), (adjoint(g), s)]
        return out

    def moment(self, w: Word, *, create: bool = True) -> tuple[int, int]:
        """``(k, sign)`` with ``⟨w⟩ = sign · y_k``; sign 0 for a moment forced to vanish.

        With ``create=False`` a word whose moment is not in Γ raises ``KeyError``.
        """
        if w in self._index:
            return self._index[w]
        orbit = self._orbit(w)
        rep = min(o for o, _ in orbit)
        signs = {s for o, s in orbit if o == rep}
        if len(signs) > 1:  # ⟨w⟩ = -⟨w⟩
            result = (0, 0)
        else:
            sign = signs.pop()
            if rep not in self._index:
                if not create:
                    raise KeyError(w)
                self._index[rep] = (len(self.keys), 1)
                self.keys.append(rep)
            result = (self._index[rep][0], sign)
        self._index[w] = result
        return result

    @property
    def n_moments(self) -> int:
        """Number of moment variables."""
        return len(self.keys)

    @property
    def size(self) -> int:
        """Rows of the full Γ (sum of the block sizes)."""
        return int(sum(round(np.sqrt(b.shape[0])) for b in self.blocks))

    def linear_form(self, terms) -> np.ndarray:
        """Coefficient vector ``c`` with ``c · y = Σ coeff ⟨word⟩`` for (word, coeff) pairs.

        ``KeyError`` when a word is not a product ``u* v`` of two rows of Γ (not in the relaxation).
        """
        c = np.zeros(self.n_moments)
        for w, coeff in terms:
            k, s = self.moment(w, create=False)
            c[k] += s * coeff
        return c

    # ---------------------------------------------------------------- blocks
    def _symmetry_adapted_bases(self) -> list[list[list[tuple[Word, float]]]]:
        """Even and odd combinations ``(u ± s_u g(u))/√2`` (or ``u`` itself when ``g(u) = ±u``)."""
        even: list[list[tuple[Word, float]]] = []
        odd: list[list[tuple[Word, float]]] = []
        done: set[Word] = set()
        r = 1.0 / np.sqrt(2.0)
        for u in self.words:
            if u in done:
                continue
            g, s = flip(u)
            done.add(u)
            if g == u:
                (even if s == 1 else odd).append([(u, 1.0)])
                continue
            if g not in self.words:
                raise ValueError(f"word list not closed under the outcome flip: {u} without {g}")
            done.add(g)
            even.append([(u, r), (g, s * r)])
            odd.append([(u, r), (g, -s * r)])
        return [even, odd]

    def _block_entries(self, basis: list[list[tuple[Word, float]]]):
        """Triplets (row, moment, coefficient) of ``vec(G) = M y`` for the block spanned by ``basis``."""
        n = len(basis)
        rows, cols, vals = [], [], []
        for i in range(n):
            for j in range(n):
                for u, cu in basis[i]:
                    ua = adjoint(u)
                    for v, cv in basis[j]:
                        k, s = self.moment(multiply(ua, v))
                        if s:
                            rows.append(i * n + j)
                            cols.append(k)
                            vals.append(cu * cv * s)
        return rows, cols, vals, n

    def gammas(self, y: np.ndarray) -> list[np.ndarray]:
        """The diagonal blocks for a given moment vector ``y`` (for checks)."""
        return [(m @ np.asarray(y)).reshape(int(round(np.sqrt(m.shape[0]))), -1) for m in self.blocks]


def strategy_moments(
    mm: MomentMatrix,
    state: np.ndarray,
    alice_observables: list[np.ndarray],
    bob_observables: list[np.ndarray],
    eve_operators: list[np.ndarray],
) -> np.ndarray:
    """Real parts of ``⟨ψ|w|ψ⟩`` for ``w`` in ``mm.keys``, for an explicit strategy on a joint space.

    Used by the tests: a genuine (and, with ``symmetric``, flip-symmetric) strategy gives positive
    semidefinite blocks, so the relaxation's value is at most the strategy's value.
    """
    eye = np.eye(state.shape[0], dtype=complex)

    def op(w: Word) -> np.ndarray:
        m = eye
        for x in w[0]:
            m = m @ alice_observables[x]
        for y in w[1]:
            m = m @ bob_observables[y]
        for c in w[2]:
            z = eve_operators[c // 2]
            m = m @ (z.conj().T if c & 1 else z)
        return m

    return np.array([float(np.real(np.vdot(state, op(w) @ state))) for w in mm.keys])


__all__ = [
    "IDENTITY",
    "MomentMatrix",
    "Word",
    "adjoint",
    "alice",
    "alice_bob_words",
    "bob",
    "eve",
    "flip",
    "multiply",
    "strategy_moments",
    "word_product",
]
