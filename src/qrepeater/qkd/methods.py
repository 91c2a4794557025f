"""Registry of the DI-QKD security analyses: one row per method name, what it bounds and where it is from.

``qrepeater diqkd methods`` prints this table; :func:`qrepeater.qkd.rates.asymptotic_rate` and
:func:`qrepeater.qkd.finite_size.finite_key` accept exactly these names (plus the aliases below).

Kinds
-----
``"asymptotic"``
    a bound on the secret fraction per key round for infinitely many rounds (no security parameters).
``"finite"``
    a key length in bits for a given number of rounds with explicit eps_sec, eps_cor, eps_PE, eps_PA and
    error-correction leakage; its n -> infinity limit is also available as an asymptotic rate.

Every ``source`` says whether the formulas were read in the cited paper or reconstructed from the
theorems it cites (see docs/diqkd_security.md for equation numbers and for what could not be read).
"""

from __future__ import annotations

from dataclasses import dataclass

from qrepeater.errors import ParameterError

__all__ = [
    "ALIASES",
    "ASYMPTOTIC_DEFAULT",
    "FINITE_DEFAULT",
    "METHODS",
    "MethodInfo",
    "asymptotic_methods",
    "finite_methods",
    "method_table",
    "resolve_method",
]


@dataclass(frozen=True)
class MethodInfo:
    """One security analysis.

    Attributes
    ----------
    name : str
        Name accepted by the API and the CLI (``--method``).
    kind : {"asymptotic", "finite"}
    source : str
        Paper(s) and equations; says "reconstruction" where the paper's own formula was not read.
    attacks : str
        Adversary model the bound holds against ("collective" or "general (coherent)").
    reconstruction : bool
        True when the formula is ours (assembled from standard theorems) rather than a paper's.
    """

    name: str
    kind: str
    source: str
    attacks: str
    reconstruction: bool

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "source": self.source, "attacks": self.attacks,
                "reconstruction": self.reconstruction}


_ROWS = (
    MethodInfo(
        "pironio", "asymptotic",
        "Pironio, Acin, Brunner, Gisin, Massar, Scarani, NJP 11, 045021 (2009), Eq. (12): "
        "r = 1 - h((1 + sqrt((S/2)^2 - 1))/2) - h(Q) (tight for the CHSH protocol)",
        "collective (general by the EAT)", False),
    MethodInfo(
        "noisy-preprocessing", "asymptotic",
        "Ho, Sekatski, Tan, Renner, Bancal, Sangouard, PRL 124, 230502 (2020), Eq. (4), optimised over "
        "the flip probability p",
        "collective (general by the EAT)", False),
    MethodInfo(
        "bff", "asymptotic",
        "Brown, Fawzi, Fawzi, arXiv:2106.13692: device-independent lower bound on H(A|E) from NPA "
        "semidefinite programs with Gauss-Radau quadrature (cvxpy + Clarabel), here with the CHSH value "
        "as constraint (qrepeater.qkd.bff also takes the full correlator table); minus h(Q). "
        "Reconstruction: the paper's equations could not be read here; built from the authors' public "
        "code and re-derived (qrepeater/qkd/bff.py), checked against Pironio to 1e-3. Finite size: "
        "`diqkd distill --method bff` sizes keys with it on Hoeffding intervals of all four correlators, in "
        "the collective-attack framework of collective-aep (qrepeater/qkd/bff_finite.py)",
        "collective (general by the EAT)", True),
    MethodInfo(
        "eat", "finite",
        "Entropy accumulation for the CHSH spot-checking protocol of Arnon-Friedman, Dupuis, Fawzi, "
        "Renner, Vidick, Nat. Commun. 9, 459 (2018) (entropy of both outputs, d = 4, Bob's test outputs "
        "charged), with the improved second-order term of Dupuis & Fawzi, IEEE TIT 65, 7596 (2019) (the "
        "route of Murta et al. arXiv:1811.07983 for coherent attacks); "
        "acceptance threshold with completeness margin; reconstruction: the Murta et al. text could not "
        "be read here",
        "general (coherent)", True),
    MethodInfo(
        "nadlinger2022", "finite",
        "Nadlinger et al., Nature 607, 682 (2022), arXiv:2109.14600, Supplementary Information "
        "Proposition 2, Eq. (73) (proof Eqs. (74)-(112)): EAT bound on H_min(AB'|XYE) of Liu et al., Nat. Phys. "
        "17, 448 (2021), Thm 3, with the improved second-order term of Dupuis & Fawzi (2019), minus the "
        "max-entropy of Bob's test outputs, Trevisan extraction, eps_sec = max(eps_EA, eps_PA + 2 eps_s) + "
        "4 eps_h, eps_cor = 2^-61; syndrome Eq. (23), acceptance Eqs. (24)-(25); reproduces the "
        "published 95,884 bits to 0.05 %",
        "general (coherent)", False),
    MethodInfo(
        "tan2022", "finite",
        "Tan, Sekatski, Bancal, Schwonnek, Renner, Sangouard, Lim, arXiv:2012.08714 (Quantum 6, 880 (2022)), "
        "read as restated in Tan's PhD thesis (arXiv:2111.11769v2) Ch. 4: Theorem 4.1, Eq. (4.18) (EAT with "
        "the Dupuis-Fawzi second-order term, sharpening Arnon-Friedman et al. and Murta et al.), entropy "
        "Eq. (3.28), completeness Eq. (4.17), EC leakage Eqs. (4.4)-(4.5); random-key-measurement protocol "
        "(key from both of Alice's settings, sifting 1/2), p = 0; reproduces the thesis's thresholds and "
        "minimum round counts (qrepeater/qkd/tan2022.py)",
        "general (coherent)", False),
    MethodInfo(
        "tan2022-collective", "finite",
        "As tan2022, collective attacks: Tan's thesis Theorem 4.4, Eqs. (4.66)-(4.67) (binomial bound on the "
        "score, quantum AEP second-order term)",
        "collective", False),
    MethodInfo(
        "collective-aep", "finite",
        "Collective attacks: Pironio et al. (2009) Eq. (12) at a Hoeffding lower bound on the CHSH score, "
        "smooth min-entropy by the quantum AEP of Tomamichel, Colbeck, Renner, IEEE TIT 55, 5840 (2009), "
        "Thm 9 (the route of Murta et al. arXiv:1811.07983 Sec. 4.1); reconstruction: the Murta et al. "
        "text could not be read here",
        "collective", True),
    MethodInfo(
        "complementarity-reconstruction", "finite",
        "In-house phase-error (complementarity) model in the spirit of Zhang, Zeng, Ye, Lo, Ma, PRL 131, "
        "140801 (2023), arXiv:2111.13855, whose formula could not be read: affine (chord) phase-error bound, "
        "Azuma/Freedman martingale, Tomamichel-Lim-Gisin-Renner Nat. Commun. 3, 634 (2012) key length",
        "general (coherent)", True),
)

METHODS: dict[str, MethodInfo] = {row.name: row for row in _ROWS}

#: Old names still accepted.  ``"complementarity"`` is called by qrepeater.qkd.distill and
#: qrepeater.validation.qkd; they should switch to ``"complementarity-reconstruction"``.
ALIASES: dict[str, str] = {"complementarity": "complementarity-reconstruction"}

ASYMPTOTIC_DEFAULT = "pironio"
#: The finite-size default is a published analysis read in full and reproduced (Nadlinger et al. 2022, for
#: the same one-key-setting CHSH protocol); ``eat`` is a reconstruction and so never the default.
FINITE_DEFAULT = "nadlinger2022"


def asymptotic_methods() -> tuple[str, ...]:
    """Names of the asymptotic-only methods."""
    return tuple(r.name for r in _ROWS if r.kind == "asymptotic")


def finite_methods() -> tuple[str, ...]:
    """Names of the finite-size methods (each also has an n -> infinity limit)."""
    return tuple(r.name for r in _ROWS if r.kind == "finite")


def resolve_method(name: object, kind: str | None = None) -> str:
    """Return the canonical method name for ``name`` (an alias is mapped), else raise ParameterError.

    ``kind="finite"`` accepts finite methods only; ``None`` accepts every method.
    """
    allowed = finite_methods() if kind == "finite" else tuple(METHODS)
    canonical = ALIASES.get(name, name) if isinstance(name, str) else name
    if canonical not in allowed:
        raise ParameterError("method", name, ", ".join(allowed))
    return canonical


def method_table() -> list[dict]:
    """Rows of ``qrepeater diqkd methods``: name, kind, source, attacks, reconstruction."""
    return [row.as_dict() for row in _ROWS]
