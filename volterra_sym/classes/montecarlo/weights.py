"""Likelihood-ratio weights of discretised impulses and inputs, and the lag stencils (theory.md 8).

A time step maps the state and a Gaussian increment eta ~ N(0, G) to the next state (eta = sigma dB
for Heun and Euler-Maruyama, G = Sigma dt; eta = xi for the exact OU step, G = Q). Shifting the
increment of step i by eps d_i multiplies the path density by

    exp(eps d_i . G^-1 eta_i - eps^2 d_i . G^-1 d_i / 2),

so derivatives in eps at 0 are expectations of f times polynomials in a_i = d_i . G^-1 eta_i.
With eta = N z (z standard normal, N the stepper's noise matrix), a_i = (P^T d_i) . z, P = G^-1 N.

* An impulse of unit area in input k over step i shifts the increment by d = C_k:
  weight w_i^k = C_k . P z_i; two impulses on the same step give the Hermite weight
  w^k w^l - C_k . G^-1 C_l.
* An input u over [0, t] shifts step i by d_i (C u dt at the step's midpoint for Heun, the exact
  step's forcing for OU): the Girsanov martingale M = sum_i a_i has bracket Q_M = sum_i d_i . G^-1 d_i
  and the eps^n Taylor coefficient of exp(eps M - eps^2 Q_M / 2) is He_n(M; Q_M) / n!.
"""

from __future__ import annotations

import math

import numpy

__all__ = ["NoiseWeights", "hermite_terms", "stencil_1d", "stencil_2d", "STENCIL_POINTS"]

#: Lagrange interpolation between estimated lags: cubic (interpolation error O(dt^4))
STENCIL_POINTS = 4


class NoiseWeights:
    """G^-1 and P = G^-1 N of a stepper's increment eta = N z (see the module docstring)."""

    def __init__(self, noise_matrix: numpy.ndarray):
        G = noise_matrix @ noise_matrix.T
        G = (G + G.T) / 2
        self.G_inv = numpy.linalg.inv(G)
        self.P = self.G_inv @ noise_matrix  # (n, r)

    def shift_weights(self, d: numpy.ndarray) -> numpy.ndarray:
        """Row vectors v with a = v . z for each shift in ``d`` (..., n): shape (..., r)."""
        return d @ self.P

    def bracket(self, d: numpy.ndarray, e: numpy.ndarray | None = None) -> numpy.ndarray:
        """d . G^-1 e over the last axis (e = d by default)."""
        e = d if e is None else e
        return numpy.einsum("...i,ij,...j->...", d, self.G_inv, e)


def hermite_terms(M: numpy.ndarray, Q: float, order: int) -> list[numpy.ndarray]:
    """He_n(M; Q) / n! for n = 0..order: the eps^n coefficients of exp(eps M - eps^2 Q / 2).

    He_0 = 1, He_1 = M, He_(n+1) = M He_n - n Q He_(n-1).

    >>> [float(x) for x in hermite_terms(numpy.array(2.0), 1.0, 3)]
    [1.0, 2.0, 1.5, 0.3333333333333333]
    """
    terms = [numpy.ones_like(M), M.copy()]
    for n in range(1, order):
        terms.append(M * terms[n] - n * Q * terms[n - 1])
    return [terms[n] / math.factorial(n) for n in range(order + 1)]


def _lagrange(x: numpy.ndarray, first: numpy.ndarray) -> numpy.ndarray:
    """Weights (P, STENCIL_POINTS) of the nodes first, first + 1, ... at positions x (P,)."""
    nodes = first[:, None] + numpy.arange(STENCIL_POINTS)[None, :]
    w = numpy.ones(nodes.shape)
    for a in range(STENCIL_POINTS):
        for b in range(STENCIL_POINTS):
            if a != b:
                w[:, a] *= (x - nodes[:, b]) / (nodes[:, a] - nodes[:, b])
    return w


def stencil_1d(x: numpy.ndarray, last: int | None = None) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Nodes (P, 4) and weights (P, 4) interpolating a function known at integer nodes 0 <= j (<= ``last``,
    at least 3) at the positions ``x`` (P,): the four nearest nodes (the first or last four near the
    ends); exact at a node.

    >>> idx, w = stencil_1d(numpy.array([2.0, 0.5]))
    >>> idx.tolist(), w[0].tolist() == [0.0, 1.0, 0.0, 0.0]
    ([[1, 2, 3, 4], [0, 1, 2, 3]], True)
    """
    x = numpy.asarray(x, dtype=numpy.float64)
    first = numpy.floor(x).astype(numpy.int64) - 1
    if last is not None:
        first = numpy.minimum(first, last - STENCIL_POINTS + 1)
    first = numpy.maximum(first, 0)
    return first[:, None] + numpy.arange(STENCIL_POINTS)[None, :], _lagrange(x, first)


def stencil_2d(x1: numpy.ndarray, x2: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Tensor-product stencil: node pairs (P, 16, 2) and weights (P, 16)."""
    i1, w1 = stencil_1d(x1)
    i2, w2 = stencil_1d(x2)
    P = len(i1)
    nodes = numpy.stack([numpy.repeat(i1, STENCIL_POINTS, axis=1), numpy.tile(i2, (1, STENCIL_POINTS))], axis=-1)
    weights = (w1[:, :, None] * w2[:, None, :]).reshape(P, STENCIL_POINTS**2)
    return nodes, weights
