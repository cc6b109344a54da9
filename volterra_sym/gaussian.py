"""Expectations under the stationary Gaussian N(mu, S).

* Polynomials: exact, symbolic, by Stein's recursion E[x_i X] = sum_j S_ij E[d_j X]
  (Isserlis' theorem) on the centred variable x = h - mu.
* Anything else: a :class:`GaussianMean` node, evaluated by tensor-product Gauss-Hermite
  quadrature on the marginal of the variables it depends on (:func:`gauss_hermite_mean`), with
  the number of nodes doubled until two rules agree to 1e-13.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy
import sympy
from sympy.polys.constructor import construct_domain

from .errors import DerivationError

__all__ = ["GaussianMean", "gaussian_mean", "split_polynomial", "gauss_hermite_mean", "gauss_hermite_means",
           "QUADRATURE_TOL"]

QUADRATURE_TOL = 1e-13
#: E|g| of two successive rules must agree to this (relative): |g| has kinks where g changes sign,
#: which Gauss-Hermite resolves at O(1/K) (1.3e-3 at K = 256), while a pole changes it by 6e-2 and more
ABS_TOL = 2e-2
MAX_QUADRATURE_DIM = 4
_NODE_LADDER = {1: (32, 64, 128, 256), 2: (24, 48, 96, 160), 3: (16, 32, 64, 96), 4: (12, 24, 36, 48)}
MAX_POLYNOMIAL_NODES = 2**18
_BLOCK_VALUES = 2**22  # rows evaluated together (bounds the memory of one rule)


class GaussianMean(sympy.Function):
    """E[g(h)] under the stationary law, for a non-polynomial ``g``; a numeric node."""

    nargs = 1

    def _sympystr(self, printer) -> str:
        return f"E[{printer._print(self.args[0])}]"

    def _latex(self, printer) -> str:
        return rf"\left\langle {printer._print(self.args[0])} \right\rangle_\infty"


def split_polynomial(expr: sympy.Expr, hidden: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, sympy.Expr]:
    """Split ``expr`` into (polynomial in ``hidden``, remainder) by its top-level terms.

    >>> h1 = sympy.Symbol("h1")
    >>> split_polynomial(h1**2 + sympy.tanh(h1), [h1])
    (h1**2, tanh(h1))
    """
    expr = sympy.sympify(expr)
    if expr.is_polynomial(*hidden):
        return expr, sympy.Integer(0)
    poly, rest = [], []
    for term in sympy.Add.make_args(sympy.expand(expr)):
        (poly if term.is_polynomial(*hidden) else rest).append(term)
    return sympy.Add(*poly), sympy.Add(*rest)  # one Add each: adding term by term is quadratic


def gaussian_mean(
    expr: sympy.Expr, hidden: Sequence[sympy.Symbol], mu: sympy.MatrixBase, S: sympy.MatrixBase
) -> sympy.Expr:
    """E[expr(h)], h ~ N(mu, S): exact for the polynomial part, a :class:`GaussianMean` node otherwise."""
    poly, rest = split_polynomial(expr, hidden)
    value = _polynomial_mean(poly, tuple(hidden), mu, S)
    if rest != 0:
        value += GaussianMean(rest)
    return value


def _polynomial_mean(expr: sympy.Expr, hidden: tuple[sympy.Symbol, ...], mu, S) -> sympy.Expr:
    if expr == 0:
        return sympy.Integer(0)
    poly = sympy.Poly(expr, *hidden)
    table = _moment_table(hidden, tuple(sympy.sympify(m) for m in mu),
                          tuple(sympy.sympify(S[i, j]) for i in range(len(hidden)) for j in range(len(hidden))))
    return table.mean(poly)


@functools.lru_cache(maxsize=8)
def _moment_table(hidden: tuple[sympy.Symbol, ...], mu: tuple[sympy.Expr, ...], S: tuple[sympy.Expr, ...]):
    return _MomentTable(len(hidden), mu, S)


class _MomentTable:
    """Raw Gaussian moments m(alpha) = E[h^alpha], h ~ N(mu, S), memoised, by Stein's identity
    E[h_i X] = mu_i E[X] + sum_j S_ij E[d_j X]:

        m(alpha) = mu_i m(alpha - e_i) + sum_j S_ij (alpha - e_i)_j m(alpha - e_i - e_j)

    (i the first index with alpha_i > 0), in the exact domain of mu and S (rationals, or rational
    functions of the parameters): no shifted polynomial is ever expanded, and every derivative of
    every readout shares the table (a degree-24 readout in 4 units has 20475 moments).
    """

    def __init__(self, n: int, mu: tuple[sympy.Expr, ...], S: tuple[sympy.Expr, ...]):
        self.n = n
        try:
            self.domain, elements = construct_domain(list(mu) + list(S), field=True)
        except (sympy.PolynomialError, sympy.CoercionFailed, NotImplementedError):
            self.domain, elements = sympy.EX, [sympy.EX.from_sympy(e) for e in list(mu) + list(S)]
        self.mu = elements[:n]
        self.S = [elements[n + i * n : n + (i + 1) * n] for i in range(n)]
        zero = self.domain.zero
        self.memo: dict[tuple[int, ...], object] = {(0,) * n: self.domain.one}
        self._zero = zero

    def moment(self, alpha: tuple[int, ...]):
        memo = self.memo
        if alpha in memo:
            return memo[alpha]
        # iterate over the missing lower moments (no deep recursion for degree 24)
        stack = [alpha]
        while stack:
            beta = stack[-1]
            if beta in memo:
                stack.pop()
                continue
            i = next(k for k, b in enumerate(beta) if b)
            rest = list(beta)
            rest[i] -= 1
            needed = [tuple(rest)] + [tuple(rest[:j] + [rest[j] - 1] + rest[j + 1:]) for j in range(self.n)
                                      if rest[j] and self.S[i][j] != self._zero]
            missing = [g for g in needed if g not in memo]
            if missing:
                stack.extend(missing)
                continue
            total = self.mu[i] * memo[needed[0]] if self.mu[i] != self._zero else self._zero
            for j in range(self.n):
                if rest[j] and self.S[i][j] != self._zero:
                    lower = tuple(rest[:j] + [rest[j] - 1] + rest[j + 1:])
                    total = total + self.S[i][j] * rest[j] * memo[lower]
            memo[beta] = total
            stack.pop()
        return memo[alpha]

    def mean(self, poly: sympy.Poly) -> sympy.Expr:
        """E[poly(h)] as a SymPy expression."""
        K = self.domain
        try:
            terms = [(monomial, K.from_sympy(coeff)) for monomial, coeff in poly.terms()]
        except (sympy.CoercionFailed, ValueError, TypeError):
            terms = None
        if terms is not None:
            total = K.zero
            for monomial, coeff in terms:
                total = total + coeff * self.moment(tuple(monomial))
            return K.to_sympy(total)
        # coefficients outside the law's domain (a parameter only the readout uses): SymPy arithmetic
        return sympy.Add(*[coeff * K.to_sympy(self.moment(tuple(monomial))) for monomial, coeff in poly.terms()])


def gauss_hermite_mean(
    func: Callable[..., numpy.ndarray],
    mu: numpy.ndarray,
    S: numpy.ndarray,
    *,
    tol: float = QUADRATURE_TOL,
    label: str = "expectation",
) -> float:
    """E[func(*h)] for h ~ N(mu, S) restricted to the variables ``func`` takes (len(mu) of them).

    Tensor-product Gauss-Hermite rule in whitened coordinates h = mu + L z, node count increased
    along a ladder until two successive rules agree to ``tol`` (relative to max(1, |value|)).

    >>> import numpy
    >>> round(gauss_hermite_mean(lambda h: h**4, numpy.array([0.0]), numpy.array([[2.0]])), 12)
    12.0
    """
    mu = numpy.asarray(mu, dtype=numpy.float64)
    return float(gauss_hermite_means(func, mu[None, :], S, tol=tol, label=label)[0])


def gauss_hermite_means(
    func: Callable[..., numpy.ndarray],
    shifts: numpy.ndarray,
    S: numpy.ndarray,
    *,
    tol: float = QUADRATURE_TOL,
    label: str = "expectation",
    degree: int | None = None,
) -> numpy.ndarray:
    """E[func(*(m + xi))], xi ~ N(0, S), for every row m of ``shifts`` (K, d); returns (K,).

    One node ladder for all rows: the rule is refined until every row has converged.
    :class:`DerivationError` when the rules do not settle (a readout not integrable against the
    Gaussian, or one too rough for quadrature). ``degree``: ``func`` is a polynomial of this total
    degree, so the rules with degree // 2 + 1 and degree // 2 + 2 nodes per axis are both exact (their
    agreement is checked) and any number of variables is allowed up to MAX_POLYNOMIAL_NODES nodes.

    >>> import numpy
    >>> round(float(gauss_hermite_means(lambda a, b: a**2 * b**2, numpy.zeros((1, 2)), numpy.eye(2), degree=4)[0]), 12)
    1.0
    """
    shifts = numpy.asarray(shifts, dtype=numpy.float64)
    rows, d = shifts.shape
    if d == 0:
        return numpy.full(rows, float(func()))
    if degree is not None:
        ladder = (degree // 2 + 1, degree // 2 + 2)
        if ladder[1] ** d > MAX_POLYNOMIAL_NODES:
            raise DerivationError(f"the Gaussian expectation {label}: a polynomial of degree {degree} in {d} "
                                  f"variables needs {ladder[1]}^{d} quadrature nodes (limit {MAX_POLYNOMIAL_NODES})")
    elif d > MAX_QUADRATURE_DIM:
        raise DerivationError(
            f"a non-polynomial readout term depends on {d} hidden units; Gaussian quadrature is limited "
            f"to {MAX_QUADRATURE_DIM}"
        )
    else:
        ladder = _NODE_LADDER[d]
    L = numpy.linalg.cholesky(S)
    previous = previous_abs = None
    gap = float("inf")
    settled = False
    for K in ladder:
        x, w = numpy.polynomial.hermite_e.hermegauss(K)
        w = w / numpy.sqrt(2 * numpy.pi)
        grids = numpy.meshgrid(*([x] * d), indexing="ij")
        Z = numpy.stack([g.ravel() for g in grids])
        weights = functools.reduce(numpy.multiply.outer, [w] * d).ravel()
        value = numpy.empty(rows)
        absolute = numpy.empty(rows)
        block = max(1, _BLOCK_VALUES // (weights.size * d))
        for start in range(0, rows, block):
            H = shifts[start:start + block, :, None] + (L @ Z)[None]  # (rows, d, nodes)
            with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
                values = numpy.broadcast_to(numpy.asarray(func(*H.transpose(1, 0, 2)), dtype=numpy.float64),
                                            (H.shape[0], weights.size))
                value[start:start + block] = values @ weights
                absolute[start:start + block] = numpy.abs(values) @ weights
        if not (numpy.all(numpy.isfinite(value)) and numpy.all(numpy.isfinite(absolute))):
            break
        if previous is not None:
            gap = float(numpy.abs(value - previous).max())
            # E|g| must settle too: a pole between symmetric nodes cancels in E[g], not in E|g|
            # (a polynomial's expectation always exists: its exact rules need not agree on E|g|)
            settled = degree is not None or bool(
                numpy.all(numpy.abs(absolute - previous_abs) <= ABS_TOL * numpy.maximum(1.0, absolute)))
            if settled and numpy.all(numpy.abs(value - previous) <= tol * numpy.maximum(1.0, numpy.abs(value))):
                return value
        previous, previous_abs = value, absolute
    if previous is not None and not settled:
        raise DerivationError(
            f"the Gaussian expectation {label} does not exist or cannot be computed: E|integrand| does not settle "
            "under refinement (a singularity of the readout on the real line?)"
        )
    raise DerivationError(
        f"the Gaussian expectation {label} does not converge (last two quadrature rules differ by {gap:.3g}); "
        "the readout may not be integrable against the stationary law"
    )
