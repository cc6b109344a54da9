"""The all-order driven mean of an Ornstein-Uhlenbeck SRNN (theory.md 4), without the kernels.

    E f(h_t) = E f(mu + xi + eps delta_t),   xi ~ N(0, S),   delta_t = int_0^t e^{A(t-s)} C u_s ds.

delta_t comes from composite Gauss-Legendre quadrature of the convolution (panels doubled until two
rules agree), the expectation from f directly: exact Gaussian moments for the polynomial part of f
and Gauss-Hermite quadrature (:func:`volterra_sym.gaussian.gauss_hermite_means`) for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy
import sympy

from ...errors import DerivationError, InputError
from ...gaussian import gauss_hermite_means, gaussian_mean, split_polynomial
from ...propagator import expm

__all__ = ["forced_response", "shifted_means", "QUADRATURE_TOL"]

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

    Polynomial part: exact Gaussian moments, as a polynomial in m. Remainder: Gauss-Hermite on the
    variables it depends on.
    """
    n = len(hidden)
    m_syms = sympy.symbols(f"_m0:{n}", real=True)
    S_exact = sympy.Matrix(n, n, lambda i, j: sympy.Float(float(S[i, j]), 17))
    out = numpy.zeros((shifts.shape[0], len(readout)))
    for q, f in enumerate(readout):
        poly, rest = split_polynomial(f, hidden)
        if poly != 0:
            mean_poly = gaussian_mean(poly, hidden, sympy.Matrix(m_syms), S_exact)
            func = sympy.lambdify(m_syms, mean_poly, modules="numpy", docstring_limit=0)
            out[:, q] += numpy.broadcast_to(numpy.asarray(func(*shifts.T), dtype=numpy.float64), shifts.shape[:1])
        if rest != 0:
            idx = [i for i, h in enumerate(hidden) if h in rest.free_symbols]
            func = sympy.lambdify([hidden[i] for i in idx], rest, modules="numpy", docstring_limit=0)
            out[:, q] += gauss_hermite_means(func, shifts[:, idx], S[numpy.ix_(idx, idx)], label=f"E[{rest}]")
    return out
