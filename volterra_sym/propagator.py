"""The matrix exponential e^{A tau}: closed forms where cheap, an explicit node otherwise.

Closed forms, tried in order (each exact, in SymPy):

* ``diagonal``       diag(exp(a_ii tau));
* ``triangular``     Sylvester's formula when the diagonal entries differ by nonzero constants;
* ``2x2``            e^{T tau}[cos(w tau) I + tau sinc(w tau)(A - T I)] with T = tr/2, w = sqrt(-D)
                     when D < 0; Sylvester's e^{l1 tau}(A - l2 I)/(l1 - l2) + e^{l2 tau}(A - l1 I)/(l2 - l1),
                     l1,2 = T +- sqrt(D), when D > 0 (no cosh/sinh overflow); Jordan when D = 0;
                     whenever the sign of the discriminant D = (a - d)^2/4 + bc is decidable for
                     all parameter values;
* ``eigen-exact``    numeric A whose characteristic polynomial factors over Q into pieces of
                     degree <= 2 with distinct roots (Sylvester's formula, real form for complex pairs);
* ``jordan``         numeric A with rational, repeated eigenvalues (SymPy's Jordan form);
* ``eigen-numeric``  numeric A with distinct eigenvalues from a 70-digit mpmath root solve (kept to
                     60 digits), for n <= MAX_EIGEN_SIZE.

Sylvester's formula divides by eigenvalue gaps, so it is used only when every gap exceeds
MIN_RELATIVE_GAP times the spectral scale; nearly defective matrices get the numeric node.

Otherwise every entry is an :class:`ExpmEntry` node, evaluated numerically by :func:`expm`.

These are exact formulas. Evaluating them in float64 can overflow or cancel; float64 numbers come
from :mod:`volterra_sym.matrix_exp` (error-bounded routes, refusal where float64 cannot be trusted)
and, in generated modules, from the printed form checked against its own rounding bound.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import mpmath
import sympy

from .matrix_exp import expm

__all__ = ["ExpmEntry", "Propagator", "derive_propagator", "numeric_propagator", "expm"]

MIN_RELATIVE_GAP = 1e-3
MAX_EIGEN_SIZE = 4  # Sylvester sums of larger matrices cost more than they give
_EIGEN_DPS = 70  # eigenvalues kept to 60 digits so that verify at dps 50 is not capped


class ExpmEntry(sympy.Function):
    """Entry (i, j) of expm(A*t) for the model's drift matrix A; evaluated numerically."""

    nargs = 3

    def _sympystr(self, printer) -> str:
        i, j, t = self.args
        return f"expm(A*({printer._print(t)}))[{i}, {j}]"

    def _latex(self, printer) -> str:
        i, j, t = self.args
        return rf"\left[e^{{A\left({printer._print(t)}\right)}}\right]_{{{i}{j}}}"


@dataclass(frozen=True, slots=True)
class Propagator:
    """``matrix`` is e^{A tau} as a SymPy matrix in ``tau`` (and the parameters)."""

    tau: sympy.Symbol
    matrix: sympy.ImmutableMatrix
    method: str

    @property
    def closed_form(self) -> bool:
        return self.method != "numeric"

    def at(self, t: sympy.Expr) -> sympy.ImmutableMatrix:
        return self.matrix.subs(self.tau, t)


def derive_propagator(A: sympy.MatrixBase, tau: sympy.Symbol) -> Propagator:
    """e^{A tau} in closed form if one of the cheap methods applies (module docstring)."""
    A = sympy.Matrix(A)
    n = A.shape[0]
    if A.is_diagonal():
        return Propagator(tau, sympy.ImmutableMatrix(sympy.diag(*[sympy.exp(A[i, i] * tau) for i in range(n)])),
                          "diagonal")
    symbolic = bool(A.free_symbols)
    if A.is_upper or A.is_lower:
        diag = [A[i, i] for i in range(n)]
        gaps = [diag[i] - diag[j] for i, j in itertools.combinations(range(n), 2)]
        numeric = all(d.is_number for d in diag)
        if all(g.is_number and g != 0 for g in gaps) and (
            not numeric or _well_separated([complex(sympy.N(d, 30)) for d in diag])
        ):
            return Propagator(tau, _sylvester(A, diag, tau), "triangular")
    if n == 2:
        result = _two_by_two(A, tau)
        if result is not None:
            return Propagator(tau, result, "2x2")
    if not symbolic:
        result = _numeric_eigen(A, tau)
        if result is not None:
            return Propagator(tau, result[0], result[1])
    return numeric_propagator(A, tau)


def numeric_propagator(A: sympy.MatrixBase, tau: sympy.Symbol) -> Propagator:
    """e^{A tau} as the explicit node: every entry an :class:`ExpmEntry`, evaluated by :func:`expm`."""
    n = A.shape[0]
    return Propagator(tau, sympy.ImmutableMatrix(n, n, lambda i, j: ExpmEntry(i, j, tau)), "numeric")


def _sylvester(A: sympy.Matrix, eigenvalues: list[sympy.Expr], tau: sympy.Symbol) -> sympy.ImmutableMatrix:
    """sum_l e^{l tau} prod_{j != l} (A - l_j)/(l_l - l_j), real form for complex pairs."""
    n = A.shape[0]
    eye = sympy.eye(n)
    total = sympy.zeros(n, n)
    done: set[int] = set()
    for l, lam in enumerate(eigenvalues):
        if l in done:
            continue
        P = eye
        for j, mu in enumerate(eigenvalues):
            if j != l:
                P = P * (A - mu * eye) / (lam - mu)
        re, im = sympy.re(lam), sympy.im(lam)
        if im == 0 or lam.is_real:
            # the product over a complex pair is real; drop the rounding residue of its imaginary part
            total += sympy.exp(lam * tau) * P.applyfunc(lambda e: sympy.re(sympy.expand_complex(sympy.expand(e))))
            continue
        # expand_complex decides exact and Float pairs alike, without simplify's heavy imports
        partner = next((j for j, mu in enumerate(eigenvalues)
                        if j != l and sympy.expand_complex(mu - sympy.conjugate(lam)) == 0), None)
        if partner is None:
            raise ValueError("complex eigenvalue without its conjugate")
        done.add(partner)
        P = P.applyfunc(lambda e: sympy.expand_complex(sympy.expand(e)))
        Pr = P.applyfunc(sympy.re)
        Pi = P.applyfunc(sympy.im)
        total += 2 * sympy.exp(re * tau) * (Pr * sympy.cos(im * tau) - Pi * sympy.sin(im * tau))
    return sympy.ImmutableMatrix(total.applyfunc(_tidy))


def _tidy(e: sympy.Expr) -> sympy.Expr:
    if e.has(sympy.Float):
        return e
    return sympy.collect(sympy.expand(e), [f for f in e.atoms(sympy.exp)], evaluate=True) if e.atoms(sympy.exp) else e


def _two_by_two(A: sympy.Matrix, tau: sympy.Symbol) -> sympy.ImmutableMatrix | None:
    a, b, c, d = A[0, 0], A[0, 1], A[1, 0], A[1, 1]
    T = (a + d) / 2
    D = sympy.factor(sympy.expand((a - d) ** 2 / 4 + b * c))
    M = A - T * sympy.eye(2)
    E = sympy.exp(T * tau)
    if D.is_zero:
        return sympy.ImmutableMatrix(E * (sympy.eye(2) + M * tau))
    if D.is_positive:
        # Sylvester's formula over l1,2 = T +- r: each exponential is at most 1 for a stable A, where
        # e^{T tau} cosh(r tau) overflows once r tau > ~710
        r = sympy.sqrt(D)
        eye = sympy.eye(2)
        return sympy.ImmutableMatrix(sympy.exp((T + r) * tau) * (M + r * eye) / (2 * r)
                                     + sympy.exp((T - r) * tau) * (r * eye - M) / (2 * r))
    if D.is_nonpositive:
        # cos and sinc are even, so |beta| from sqrt(beta**2) may be written as beta
        w = sympy.sqrt(sympy.factor(-D))
        if not w.is_number:
            w = w.replace(sympy.Abs, lambda x: x)
        # with parameters, tau*sinc(w tau) stays finite where w -> 0 and the eigenvalues coalesce
        s = sympy.sin(w * tau) / w if w.is_number else tau * sympy.sinc(w * tau)
        return sympy.ImmutableMatrix(E * (sympy.cos(w * tau) * sympy.eye(2) + s * M))
    return None


def _well_separated(roots: list[complex]) -> bool:
    scale = max(abs(r) for r in roots) or 1.0
    return all(abs(a - b) >= MIN_RELATIVE_GAP * scale for a, b in itertools.combinations(roots, 2))


def _numeric_eigen(A: sympy.Matrix, tau: sympy.Symbol) -> tuple[sympy.ImmutableMatrix, str] | None:
    x = sympy.Dummy("x")
    poly = A.charpoly(x)
    _, factors = poly.factor_list()
    if all(f.degree() <= 2 for f, _ in factors):
        flat: list[sympy.Expr] = []
        for f, mult in factors:
            for root, k in sympy.roots(f).items():
                flat.extend([root] * (k * mult))
        if len(set(flat)) == len(flat):
            if not _well_separated([complex(sympy.N(r, 30)) for r in flat]):
                return None
            return _sylvester(A, flat, tau), "eigen-exact"
        if all(r.is_rational for r in flat) and A.shape[0] <= 4:
            return sympy.ImmutableMatrix((A * tau).exp().applyfunc(sympy.expand)), "jordan"
        return None
    if A.shape[0] > MAX_EIGEN_SIZE:
        return None
    with mpmath.workdps(_EIGEN_DPS):
        coeffs = [mpmath.mpf(sympy.Rational(c).p) / sympy.Rational(c).q for c in poly.all_coeffs()]
        try:
            mroots = mpmath.polyroots(coeffs, maxsteps=200, extraprec=200)
        except mpmath.libmp.libhyper.NoConvergence:
            return None
        if not _well_separated([complex(r) for r in mroots]):
            return None
        scale = max(abs(r) for r in mroots) or 1
        lams = []
        for r in mroots:
            if abs(mpmath.im(r)) < mpmath.mpf(10) ** (-_EIGEN_DPS + 10) * scale:
                lams.append(sympy.Float(mpmath.re(r), _EIGEN_DPS - 10))
            else:
                lams.append(sympy.Float(mpmath.re(r), _EIGEN_DPS - 10) + sympy.I * sympy.Float(mpmath.im(r), _EIGEN_DPS - 10))
    Af = A.applyfunc(lambda e: sympy.Float(e, _EIGEN_DPS - 10))
    return _sylvester(Af, lams, tau), "eigen-numeric"
