"""The all-order driven mean of an Ornstein-Uhlenbeck SRNN (theory.md 4), without the kernels.

    E f(h_t) = E f(mu + xi + eps delta_t),   xi ~ N(0, S),   delta_t = int_0^t e^{A(t-s)} C u_s ds.

delta_t comes from composite Gauss-Legendre quadrature of the convolution (panels doubled until two
rules agree), the expectation from f itself by Gauss-Hermite quadrature
(:func:`volterra_sym.gaussian.gauss_hermite_means`) on the variables of each group of terms: rules
exact for the polynomial terms (degree // 2 + 1 nodes per axis), a converged ladder for the rest.
Never through the Gaussian moment recursion (``gaussian_mean``) that the kernels use, so this route is
independent of the moment tensors: a bug there changes the kernels, not this mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy
import sympy

from ...errors import DerivationError, InputError
from ...gaussian import gauss_hermite_means
from ...propagator import expm

__all__ = ["forced_response", "shifted_means", "taylor_terms", "QUADRATURE_TOL"]

QUADRATURE_TOL = 1e-13
MAX_PANELS = 1024


def forced_response(
    A: numpy.ndarray,
    C: numpy.ndarray,
    u: Callable[[numpy.ndarray], numpy.ndarray],
    times: Sequence[float],
    *,
    tol: float = QUADRATURE_TOL,
) -> numpy.ndarray:
    """delta_t = int_0^t e^{A(t-s)} C u_s ds at increasing ``times`` (shape (T, n)).

    Interval by interval, delta_{t'} = e^{A(t'-t)} delta_t + int_t^{t'} e^{A(t'-s)} C u_s ds, the
    integral by composite 8-point Gauss-Legendre; the panel count is doubled until two rules agree
    to ``tol`` (relative to max(1, |delta|)); :class:`DerivationError` if they never do.

    >>> import math, numpy
    >>> d = forced_response(numpy.array([[-1.0]]), numpy.array([[1.0]]), lambda s: numpy.ones((len(s), 1)), [0, 1])
    >>> abs(float(d[1, 0]) - (1 - math.exp(-1))) < 1e-13
    True
    """
    times = numpy.asarray(times, dtype=numpy.float64)
    if times.ndim != 1 or numpy.any(numpy.diff(times) < 0) or (times.size and times[0] < 0):
        raise InputError("times must be increasing and >= 0", field="times")
    nodes, weights = numpy.polynomial.legendre.leggauss(8)

    def integrate(panels: int) -> numpy.ndarray:
        n = A.shape[0]
        out = numpy.zeros((len(times), n))
        current = numpy.zeros(n)
        previous = 0.0
        for i, ti in enumerate(times):
            if ti > previous:
                edges = numpy.linspace(previous, ti, panels + 1)
                half = (edges[1:] - edges[:-1])[:, None] / 2
                s = (edges[:-1, None] + half * (nodes + 1)).ravel()
                w = (half * weights).ravel()
                U = numpy.asarray(u(s), dtype=numpy.float64)
                propagated = expm((ti - s)[:, None, None] * A) @ (U @ C.T)[:, :, None]
                current = expm(A * (ti - previous)) @ current + numpy.einsum("k,ki->i", w, propagated[:, :, 0])
            out[i] = current
            previous = ti
        return out

    panels = 4
    coarse = integrate(panels)
    while True:
        panels *= 2
        fine = integrate(panels)
        change = float(numpy.abs(fine - coarse).max(initial=0.0))
        if change <= tol * max(1.0, float(numpy.abs(fine).max(initial=0.0))):
            return fine
        if panels >= MAX_PANELS:
            raise DerivationError(f"the forced response delta_t did not converge to {tol:g} (last change "
                                  f"{change:.2g}): the input is not smooth enough on this horizon")
        coarse = fine


def shifted_means(
    readout: Sequence[sympy.Expr], hidden: Sequence[sympy.Symbol], shifts: numpy.ndarray, S: numpy.ndarray
) -> numpy.ndarray:
    """E f_q(m + xi), xi ~ N(0, S), for every row m of ``shifts`` (K, n); returns (K, p).

    Each readout is split into groups of terms by the hidden units they depend on (polynomial
    terms apart from the others); each group is integrated by Gauss-Hermite quadrature of f itself
    on the marginal of its units.
    """
    out = numpy.zeros((shifts.shape[0], len(readout)))
    for q, f in enumerate(readout):
        for idx, expr, degree in _term_groups(f, hidden):
            func = sympy.lambdify([hidden[i] for i in idx], expr, modules="numpy", docstring_limit=0)
            out[:, q] += gauss_hermite_means(func, shifts[:, idx], S[numpy.ix_(idx, idx)], label=f"E[{expr}]",
                                             degree=degree)
    return out


def taylor_terms(readout: Sequence[sympy.Expr], hidden: Sequence[sympy.Symbol], mu: numpy.ndarray, S: numpy.ndarray,
                 delta: numpy.ndarray, eps: float, order: int) -> numpy.ndarray:
    """eps^n c_n, n = 0..order, of E f_q(mu + xi + w delta) = sum_n c_n w^n (shape (order + 1, p)): the
    series terms of the exact resummation (theory.md 4), by quadrature of f itself.

    Cameron-Martin per group of units J: with L L^T = S_JJ, a = L^-1 delta_J and z = L^-1 xi_J,
    c_n = |a|^n / n! E[f(mu + xi) He_n(a . z / |a|)] (probabilists' Hermite polynomials).
    """
    out = numpy.zeros((order + 1, len(readout)))
    for q, f in enumerate(readout):
        for idx, expr, degree in _term_groups(f, hidden):
            func = sympy.lambdify([hidden[i] for i in idx], expr, modules="numpy", docstring_limit=0)
            if not idx:
                out[0, q] += float(func())
                continue
            m, cov = mu[idx], S[numpy.ix_(idx, idx)]
            L = numpy.linalg.cholesky(cov)
            a = numpy.linalg.solve(L, delta[idx])
            norm = float(numpy.linalg.norm(a))
            unit = a / norm if norm > 0 else a
            for n in range(order + 1 if norm > 0 else 1):
                weight = numpy.zeros(n + 1)
                weight[n] = 1.0

                def integrand(*h, func=func, weight=weight, m=m, L=L, unit=unit):
                    x = numpy.stack([numpy.asarray(v, dtype=float) for v in h]) - m.reshape((-1,) + (1,) * (numpy.ndim(h[0])))
                    z = numpy.tensordot(numpy.linalg.inv(L), x, axes=1)
                    return func(*h) * numpy.polynomial.hermite_e.hermeval(numpy.tensordot(unit, z, axes=1), weight)

                mean = gauss_hermite_means(integrand, m[None], cov, label=f"E[({expr}) He_{n}]",
                                           degree=None if degree is None else degree + n)[0]
                out[n, q] += norm**n / math.factorial(n) * mean * eps**n
    return out


def _term_groups(f: sympy.Expr, hidden: Sequence[sympy.Symbol]) -> list[tuple[list[int], sympy.Expr, int | None]]:
    """(units, sum of terms, total degree or None) of f's additive terms, grouped by units and polynomiality.

    >>> h1, h2 = sympy.symbols("h1 h2")
    >>> _term_groups(h1**4 + 2*h1 + sympy.tanh(h2) + h1*h2, [h1, h2])
    [([0], h1**4 + 2*h1, 4), ([0, 1], h1*h2, 2), ([1], tanh(h2), None)]
    """
    groups: dict[tuple[tuple[int, ...], bool], sympy.Expr] = {}
    for term in sympy.Add.make_args(sympy.expand(f)):
        idx = tuple(i for i, h in enumerate(hidden) if term.has(h))
        key = (idx, term.is_polynomial(*hidden))
        groups[key] = groups.get(key, sympy.Integer(0)) + term
    out = []
    for (idx, poly), expr in sorted(groups.items(), key=lambda kv: (not kv[0][1], kv[0][0])):
        degree = sympy.Poly(expr, *[hidden[i] for i in idx]).total_degree() if poly and idx else (0 if poly else None)
        out.append((list(idx), expr, degree))
    return out
