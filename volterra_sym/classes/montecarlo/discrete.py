"""Closed forms of the linearized network as the engine steps it: the control variate's expectations.

A linear drift A h + b stepped by the engine's scheme is a Gaussian chain

    g' = mu + M (g - mu) + N eta,      eta ~ N(0, G):
    Heun:   M = I + A dt + (A dt)^2 / 2,   N = I + A dt / 2,   G = Sigma dt
    Euler:  M = I + A dt,                  N = I,              G = Sigma dt
    exact:  M = e^{A dt},                  N = I,              G = Q   (the OU process at the grid times)

with stationary law N(mu, S_d), S_d = M S_d M^T + N G N^T. Shifting eta by d moves the next state by
N d, so every expectation of the control variate is a Gaussian moment under N(mu, S_d) contracted
with propagated shifts (theory.md 8): node j of R^(1) is <Df>[M^j N C_k], node (j1, j2) of R^(2) is
<D^2 f>[M^j1 N C_k1, M^(j1+j2) N C_k2], series term n is eps^n/n! <D^n f>[delta^(x n)] with
delta the propagated input shifts (for shifts polynomial in eps, an input inside the activation,
the eps^n coefficient of E f(X + Delta(eps))), and the driven mean is E f(X + eps delta_t). These
are exact for the chain, so the control variate removes variance and adds no bias; for the exact scheme they are
the OU closed forms themselves (S_d = S, M^j = e^{A j dt}).
"""

from __future__ import annotations

import itertools
import math

import numpy
import sympy

from ...network import NumericSRNN, ou_transition
from ..ou.resummation import shifted_means
from .kernels import KernelPlan

__all__ = ["LinearChain"]


def _discrete_lyapunov(M: numpy.ndarray, V: numpy.ndarray) -> numpy.ndarray:
    """S with S = M S M^T + V (Kronecker solve; n is small)."""
    n = M.shape[0]
    S = numpy.linalg.solve(numpy.eye(n * n) - numpy.kron(M, M), V.reshape(-1)).reshape(n, n)
    return (S + S.T) / 2


def _compositions(n: int) -> list[tuple[int, ...]]:
    """Ordered tuples of positive integers summing to n (2^(n-1) of them).

    >>> _compositions(3)
    [(1, 1, 1), (1, 2), (2, 1), (3,)]
    """
    if n == 0:
        return [()]
    return [(first,) + rest for first in range(1, n + 1) for rest in _compositions(n - first)]


class LinearChain:
    """The affine network ``net`` stepped by ``scheme`` with ``dt``; ``readout``: its f (numbers only)."""

    def __init__(self, net: NumericSRNN, scheme: str, dt: float, readout, hidden):
        A, n = net.A, net.n_hidden
        Sigma = net.sigma @ net.sigma.T
        eye = numpy.eye(n)
        if scheme == "exact":
            E, Q, _, _ = ou_transition(A, Sigma, dt)
            self.M, self.N, G = E, eye, Q
        elif scheme == "heun":
            self.M, self.N, G = eye + A * dt + A @ A * dt**2 / 2, eye + A * dt / 2, Sigma * dt
        else:
            self.M, self.N, G = eye + A * dt, eye, Sigma * dt
        self.A, self.C, self.dt, self.scheme, self.mu = A, net.C, dt, scheme, net.mu
        self.S = net.S if scheme == "exact" else _discrete_lyapunov(self.M, self.N @ G @ self.N.T)
        self.readout = [sympy.sympify(f) for f in readout]
        self.hidden = tuple(hidden)
        self._moments: list[numpy.ndarray] = []

    def moments(self, order: int) -> list[numpy.ndarray]:
        """<D^k f> under N(mu, S_d) for k = 0..order, shape (p,) + (n,) * k."""
        n, p = len(self.hidden), len(self.readout)
        for k in range(len(self._moments), order + 1):
            alphas = list(itertools.combinations_with_replacement(range(n), k))
            exprs = [sympy.diff(f, *[self.hidden[i] for i in a]) if k else f for f in self.readout for a in alphas]
            means = shifted_means(exprs, self.hidden, self.mu[None, :], self.S)[0].reshape(p, len(alphas))
            T = numpy.zeros((p,) + (n,) * k)
            for a, alpha in enumerate(alphas):
                for perm in set(itertools.permutations(alpha)):
                    T[(slice(None),) + perm] = means[:, a]
            self._moments.append(T)
        return self._moments[: order + 1]

    def kernel_nodes(self, plan: KernelPlan, shifts: tuple[numpy.ndarray, ...] | None = None) -> numpy.ndarray:
        """E of the control variate at each node of ``plan``: (U, p) + (A1[, A2]). ``shifts`` are the
        increment shifts of each slot's impulses, (A, n) (default: C_k for every slot, A = m)."""
        T = self.moments(plan.order)[plan.order]
        depth = plan.depth
        kicks = [self.N @ self.C] if shifts is None else [self.N @ s.T for s in shifts]  # (n, A)
        powers = []
        for kick in kicks[: plan.order]:
            row = [kick]
            for _ in range(depth):
                row.append(self.M @ row[-1])
            powers.append(numpy.stack(row))  # (depth + 1, n, A)
        if plan.order == 1:
            return numpy.einsum("pi,uim->upm", T, powers[0][plan.nodes[:, 0]])
        later, earlier = powers[0][plan.nodes[:, 0]], powers[-1][plan.nodes.sum(axis=1)]
        return numpy.einsum("pij,uik,ujl->upkl", T, later, earlier)

    def kernel_points(self, plan: KernelPlan, shifts: tuple[numpy.ndarray, ...] | None = None) -> numpy.ndarray:
        """The nodes interpolated like the estimates: (P, p) + (A1[, A2]), flattened."""
        nodes = self.kernel_nodes(plan, shifts)
        return numpy.einsum("ps,ps...->p...", plan.weights, nodes[plan.index]).reshape(-1)

    def series_terms(self, shifts: numpy.ndarray, eps: float, order: int) -> numpy.ndarray:
        """eps^n/n! <D^n f>[delta^(x n)] for n = 0..order, delta = sum_i M^(N-1-i) N d_i: (order + 1, p)."""
        delta = numpy.zeros(len(self.mu))
        for d in shifts:
            delta = self.M @ delta + self.N @ d
        out = []
        for k, T in enumerate(self.moments(order)):
            value = T
            for _ in range(k):
                value = value @ delta
            out.append(value * eps**k / math.factorial(k))
        return numpy.stack(out)

    def polynomial_series_terms(self, shifts: numpy.ndarray, eps: float, order: int) -> numpy.ndarray:
        """Terms for increment shifts polynomial in eps, sum_j eps^j shifts[j, i] (``shifts`` (order + 1,
        steps, n), row 0 unused): the final state moves by Delta(eps) = sum_j eps^j Delta_j, Delta_j =
        sum_i M^(N-1-i) N shifts[j, i], and term n is eps^n [eps^n] E f(X + Delta(eps)) =
        eps^n sum_k 1/k! sum_(j_1+..+j_k = n) <D^k f>[Delta_j1, .., Delta_jk]: (order + 1, p)."""
        deltas = numpy.zeros((order + 1, len(self.mu)))
        for j in range(1, order + 1):
            for d in shifts[j]:
                deltas[j] = self.M @ deltas[j] + self.N @ d
        moments = self.moments(order)
        out = [moments[0]]
        for n in range(1, order + 1):
            total = numpy.zeros_like(moments[0])
            for parts in _compositions(n):
                value = moments[len(parts)]
                for j in parts:
                    value = value @ deltas[j]
                total = total + value / math.factorial(len(parts))
            out.append(total * eps**n)
        return numpy.stack(out)

    def driven_means(self, drive: numpy.ndarray, forcing: numpy.ndarray | None, eps: float,
                     grid: numpy.ndarray) -> numpy.ndarray:
        """E f(X + eps delta_k), X ~ N(mu, S_d), at the grid steps ``grid`` of the forced chain: (K, p).

        ``drive`` is u on the grid (steps + 1, m); ``forcing`` the exact step's forced means (exact scheme).
        """
        dt, A, C = self.dt, self.A, self.C
        Cu = drive @ C.T
        deltas = [numpy.zeros(len(self.mu))]
        for i in range(int(grid.max(initial=0))):
            if self.scheme == "exact":
                step = forcing[i]
            elif self.scheme == "heun":
                step = (Cu[i] + A @ Cu[i] * dt + Cu[i + 1]) * dt / 2
            else:
                step = Cu[i] * dt
            deltas.append(self.M @ deltas[-1] + step)
        shifts = self.mu[None, :] + eps * numpy.stack(deltas)[grid]
        return shifted_means(self.readout, self.hidden, shifts, self.S)
