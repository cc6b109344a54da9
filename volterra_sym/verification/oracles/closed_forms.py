"""The closed forms of a :class:`~volterra_sym.derive.KernelSet` evaluated in mpmath (for ``verify``).

This is the engine side of the verification: the derivation's own expressions (kernels from
:func:`~volterra_sym.derive.kernel_expression`, moment tensors, the propagator, the stationary law)
evaluated at high precision, and the series terms eps^n <M^(n), Z^(n)(t)> with Z^(n) the nested
simplex integrals of the closed-form propagator (:func:`simplex_contractions`). The independent
routes they are compared with live in :mod:`volterra_sym.oracles`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mpmath
import sympy

from ...classes.ou.derive import KernelSet, kernel_expression
from ...gaussian import GaussianMean
from .gaussian_path import NoOracle, gaussian_expectation, parameter_substitution, to_mp

__all__ = ["ClosedForms", "ChebyshevIntegrator", "simplex_contractions"]


class ClosedForms:
    """The derivation's closed forms evaluated in mpmath at the current precision.

    Kernels are ``kernel_expression`` lambdified to mpmath with the parameters substituted as
    exact rationals (evaluation at working precision is ``evalf`` without its per-call cost);
    ``ExpmEntry`` nodes call ``mpmath.expm`` and ``GaussianMean`` nodes ``mpmath.quad`` (tanh-sinh;
    a trapezoidal rule in two dimensions) under the derivation's stationary law, a different
    quadrature from the oracles' trapezoidal rule.
    """

    def __init__(self, kset: KernelSet, values: Mapping[str, float]):
        self.kset = kset
        self.model = kset.model
        self.subs = parameter_substitution(kset.model, values)
        self._kernels: dict[tuple[int, tuple[int, ...]], tuple[Callable, tuple[GaussianMean, ...]]] = {}
        self._cache: dict[tuple, Any] = {}
        self._propagator: Callable | None = None

    def _modules(self) -> list:
        return [{"ExpmEntry": self._expm_entry}, "mpmath"]

    def _expm_entry(self, i, j, t):
        key = ("expm", mpmath.mp.prec, t)
        if key not in self._cache:
            A = self._matrix("A", self.model.A)
            self._cache[key] = mpmath.expm(A * t)
        return self._cache[key][int(i), int(j)]

    def _matrix(self, name: str, matrix: sympy.MatrixBase) -> mpmath.matrix:
        key = (name, mpmath.mp.prec)
        if key not in self._cache:
            m = sympy.Matrix(matrix).subs(self.subs)
            self._cache[key] = mpmath.matrix([[to_mp(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])])
        return self._cache[key]

    def gaussian(self, node: GaussianMean) -> Any:
        """E[g] under the derivation's own stationary law N(law.mean, law.covariance)."""
        key = ("gauss", mpmath.mp.prec, node)
        if key not in self._cache:
            g = node.args[0].subs(self.subs)
            hidden = self.model.hidden
            J = [i for i, h in enumerate(hidden) if g.has(h)]
            mean = self._matrix("mu", self.kset.law.mean)
            cov = self._matrix("S", self.kset.law.covariance)
            func = sympy.lambdify([hidden[i] for i in J], g, modules="mpmath", docstring_limit=0)
            sub_mean = mpmath.matrix([mean[i] for i in J])
            sub_cov = mpmath.matrix([[cov[i, j] for j in J] for i in J])
            degree = sympy.Poly(g, *hidden).total_degree() if g.is_polynomial(*hidden) else None
            try:
                self._cache[key] = gaussian_expectation(func, sub_mean, sub_cov, degree, method="quad")
            except NoOracle as err:
                self._cache[key] = err
        value = self._cache[key]
        if isinstance(value, NoOracle):
            raise NoOracle(f"closed form not evaluable at high precision: {value}")
        return value

    def _lambdify(self, expr: sympy.Expr, args: Sequence[sympy.Symbol]) -> tuple[Callable, tuple[GaussianMean, ...]]:
        expr = sympy.sympify(expr).subs(self.subs)
        nodes = tuple(sympy.ordered(expr.atoms(GaussianMean)))
        dummies = [sympy.Dummy(f"E{i}") for i in range(len(nodes))]
        expr = expr.xreplace(dict(zip(nodes, dummies)))
        return sympy.lambdify([*args, *dummies], expr, modules=self._modules(), docstring_limit=0), nodes

    def kernel(self, output: int, indices: tuple[int, ...], lags: Sequence[Any]) -> Any:
        """R^(n)_{f_output; indices}(lags) from ``kernel_expression`` at the current precision."""
        key = (output, indices)
        if key not in self._kernels:
            expr = kernel_expression(self.kset, output, indices)
            self._kernels[key] = self._lambdify(expr, self.kset.lags[: len(indices)])
        func, nodes = self._kernels[key]
        return mpmath.mpf(func(*lags, *[self.gaussian(n) for n in nodes]))

    def moment(self, n: int, output: int, alpha: tuple[int, ...]) -> Any:
        key = ("moment", mpmath.mp.prec, n, output, alpha)
        if key not in self._cache:
            func, nodes = self._lambdify(self.kset.moments[n][output][alpha], [])
            self._cache[key] = mpmath.mpf(func(*[self.gaussian(g) for g in nodes]))
        return self._cache[key]

    def propagator(self, t: Any) -> mpmath.matrix:
        """The closed-form e^{A t} of the derivation."""
        if self._propagator is None:
            prop = self.kset.propagator
            self._propagator = self._lambdify(sympy.Matrix(prop.matrix), [prop.tau])[0]
        return mpmath.matrix(self._propagator(t))

    def law(self) -> tuple[mpmath.matrix, mpmath.matrix]:
        return self._matrix("mu", self.kset.law.mean), self._matrix("S", self.kset.law.covariance)

    def conjugate(self, k: int, h: Sequence[Any]) -> Any:
        key = ("conj", k)
        if key not in self._cache:
            self._cache[key] = self._lambdify(self.kset.law.conjugates[k], self.model.hidden)[0]
        return mpmath.mpf(self._cache[key](*h))


class ChebyshevIntegrator:
    """Indefinite integration x -> int_0^s x on [0, t] at N Chebyshev-Lobatto nodes (s_0 = t).

    Values -> Chebyshev coefficients (discrete cosine transform) -> coefficients of the integral
    -> values; spectrally accurate for the entire functions integrated here.
    """

    def __init__(self, N: int, t: Any):
        K = N - 1
        self.N, self.t = N, t
        table = [mpmath.cospi(mpmath.mpf(r) / K) for r in range(2 * K)]  # cos(pi jk/K) is periodic in jk
        self.cos = [[table[(j * k) % (2 * K)] for k in range(N)] for j in range(N + 1)]
        self.nodes = [t * (1 + self.cos[1][k]) / 2 for k in range(N)]
        half = [mpmath.mpf(1) / 2 if k in (0, K) else mpmath.mpf(1) for k in range(N)]
        # c_j = (2/K) sum'' f_k cos(pi j k / K), halved at j = 0, K: f(x) = sum_j c_j T_j(x)
        self.dct = [[2 * half[k] * half[j] * self.cos[j][k] / K for k in range(N)] for j in range(N)]

    def _integral_coefficients(self, f: Sequence[Any]) -> list[Any]:
        N = self.N
        c = [mpmath.fdot(row, f) for row in self.dct] + [mpmath.mpf(0), mpmath.mpf(0)]
        b = [mpmath.mpf(0)] * (N + 1)
        b[1] = c[0] - c[2] / 2
        for j in range(2, N + 1):
            b[j] = (c[j - 1] - c[j + 1]) / (2 * j)
        b[0] = -mpmath.fsum(b[j] * (-1) ** j for j in range(1, N + 1))  # the integral vanishes at s = 0
        return b

    def integrate(self, f: Sequence[Any]) -> list[Any]:
        """Values of int_0^{s_k} f at every node."""
        b = self._integral_coefficients(f)
        columns = [[self.cos[j][k] for j in range(self.N + 1)] for k in range(self.N)]
        return [self.t / 2 * mpmath.fdot(b, col) for col in columns]

    def total(self, f: Sequence[Any]) -> Any:
        """int_0^t f (T_j(1) = 1)."""
        return self.t / 2 * mpmath.fsum(self._integral_coefficients(f))


def simplex_contractions(
    v: Callable[[Any], Sequence[Any]], weights: Sequence[Mapping[tuple[int, ...], Sequence[Any]]], n_hidden: int,
    t: Any, N: int,
) -> list[list[Any]]:
    """out[j][q] = sum_idx weights[j][idx][q] Z^(j)_idx(t), j = 0..len(weights) - 1, where

        Z^(j)(t) = int_{0<s_j<...<s_1<t} v(s_1) (x) ... (x) v(s_j) ds   (axis 0: latest time s_1),

    through the nested integrals I^(j)(x) = int_0^x v(r) (x) I^(j-1)(r) dr on Chebyshev nodes.
    """
    cheb = ChebyshevIntegrator(N, t)
    V = [v(s) for s in cheb.nodes]
    p = len(weights[0][()])
    out = [list(weights[0][()])]
    inner: dict[tuple[int, ...], list[Any]] = {(): [mpmath.mpf(1)] * N}
    for j in range(1, len(weights)):
        row = []
        for q in range(p):
            integrand = [mpmath.fsum(weights[j][(i,) + rest][q] * V[k][i] * vals[k]
                                     for i in range(n_hidden) for rest, vals in inner.items()) for k in range(N)]
            row.append(cheb.total(integrand))
        out.append(row)
        if j + 1 < len(weights):
            inner = {(i,) + rest: cheb.integrate([V[k][i] * vals[k] for k in range(N)])
                     for i in range(n_hidden) for rest, vals in inner.items()}
    return out
