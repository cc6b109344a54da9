"""Independent oracle for gradient-class networks: the forward Fokker-Planck equation (theory.md 3a).

(The Fourier/RK4 solver of the same equation used by ``verify`` lives in the package,
:mod:`volterra_sym.fokker_planck`, built from a spec by
:func:`volterra_sym.verification.oracles.forward.solver_for`; this Chebyshev one needs SciPy.)

Chebyshev collocation of L0* rho = -div(F rho) + 1/2 s^2 Laplacian rho on a box with rho = 0 on the
boundary, dense scipy matrix exponentials, Clenshaw-Curtis quadrature. It shares nothing with the
engine's spectral route (Fourier collocation of the backward operator in Schroedinger form):

    R^(n) = int f . e^{tau_1 L*} L1^{k_1 *} ... e^{tau_n L*} L1^{k_n *} rho_inf,   L1^{k *} g = -C_k . grad g.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.linalg
import sympy


def cheb(N: int) -> tuple[np.ndarray, np.ndarray]:
    """Trefethen's Chebyshev differentiation matrix and nodes on [-1, 1]."""
    x = np.cos(np.pi * np.arange(N + 1) / N)
    c = np.hstack([2, np.ones(N - 1), 2]) * (-1) ** np.arange(N + 1)
    X = np.tile(x, (N + 1, 1)).T
    dX = X - X.T
    D = np.outer(c, 1 / c) / (dX + np.eye(N + 1))
    return D - np.diag(D.sum(axis=1)), x


def clenshaw_curtis(N: int) -> np.ndarray:
    theta = np.pi * np.arange(N + 1) / N
    w = np.zeros(N + 1)
    v = np.ones(N - 1)
    if N % 2 == 0:
        w[0] = w[N] = 1 / (N**2 - 1)
        for k in range(1, N // 2):
            v -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k**2 - 1)
        v -= np.cos(N * theta[1:-1]) / (N**2 - 1)
    else:
        w[0] = w[N] = 1 / N**2
        for k in range(1, (N - 1) // 2 + 1):
            v -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k**2 - 1)
    w[1:-1] = 2 * v / N
    return w


class FokkerPlanck:
    def __init__(self, spec, *, half_width: float, nodes: int):
        h = spec.hidden
        n = len(h)
        D, x = cheb(nodes)
        D = D / half_width
        x = x * half_width
        w = clenshaw_curtis(nodes) * half_width
        eye = np.eye(nodes + 1)
        self.Ds = [functools.reduce(np.kron, [D if d == a else eye for d in range(n)]) for a in range(n)]
        grid = [g.ravel() for g in np.meshgrid(*([x] * n), indexing="ij")]
        self.weights = functools.reduce(np.multiply.outer, [w] * n).ravel()
        s2 = float((spec.sigma * spec.sigma.T)[0, 0])
        W, b, G = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b, spec.Gamma))
        H = np.stack(grid)
        a = sympy.lambdify(sympy.Symbol("x", real=True), spec.activation_expr, modules="numpy")
        self.F = -G @ H + a(W @ H + b)
        self.C = np.array(spec.C.evalf().tolist(), dtype=float)
        # rho_inf from the numerically integrated potential would be circular; solve L* rho = 0 instead
        lap = sum(Dd @ Dd for Dd in self.Ds)
        Lstar = -sum(self.Ds[d] @ np.diag(self.F[d]) for d in range(n)) + 0.5 * s2 * lap
        boundary = np.zeros(len(grid[0]), dtype=bool)
        for g in grid:
            boundary |= np.isclose(np.abs(g), half_width)
        self.inner = ~boundary
        self.L = Lstar[np.ix_(self.inner, self.inner)]
        null = scipy.linalg.null_space(self.L, rcond=1e-9)
        if null.shape[1] != 1:
            rho = np.linalg.lstsq(self.L, np.zeros(self.inner.sum()), rcond=None)[0]
            _, _, vt = np.linalg.svd(self.L)
            null = vt[-1:].T
        rho = null[:, 0]
        self.rho = rho / (self.weights[self.inner] @ rho)
        self.f = [sympy.lambdify(h, f, modules="numpy") for f in spec.readout]
        self.grid = grid

    def _full(self, v):
        out = np.zeros(len(self.weights))
        out[self.inner] = v
        return out

    def input_adjoint(self, v, k):
        full = self._full(v)
        return -sum(self.C[d, k] * (self.Ds[d] @ full) for d in range(len(self.Ds)))[self.inner]

    def propagate(self, v, tau):
        return scipy.linalg.expm(self.L * tau) @ v

    def mean(self, v):
        out = []
        for f in self.f:
            vals = np.broadcast_to(f(*[g[self.inner] for g in self.grid]), v.shape)
            out.append(self.weights[self.inner] @ (vals * v))
        return np.array(out)

    def kernel(self, lags, indices):
        v = self.rho
        for tau, k in reversed(list(zip(lags, indices))):
            v = self.propagate(self.input_adjoint(v, k), tau)
        return self.mean(v)

    def mean_output(self, u, t, eps, steps: int = 200):
        """E f(h_t) for the driven network (all orders): d rho/dt = (L* + eps u(t) L1*) rho, by the
        fourth-order Magnus integrator (two Gauss points), compared against half the step."""
        n = self.inner.sum()
        adj = [np.array([self.input_adjoint(e, k) for e in np.eye(n)]).T for k in range(self.C.shape[1])]

        def generator(s):
            us = np.atleast_1d(u(s))
            return self.L + eps * sum(us[k] * adj[k] for k in range(len(adj)))

        def run(count):
            h = t / count
            v = self.rho
            c1, c2 = 0.5 - np.sqrt(3) / 6, 0.5 + np.sqrt(3) / 6
            for i in range(count):
                A1, A2 = generator(i * h + c1 * h), generator(i * h + c2 * h)
                omega = h / 2 * (A1 + A2) + np.sqrt(3) / 12 * h**2 * (A2 @ A1 - A1 @ A2)
                v = scipy.linalg.expm(omega) @ v
            return self.mean(v)

        coarse, fine = run(steps), run(2 * steps)
        assert np.abs(coarse - fine).max() < 1e-9, "Magnus integrator not converged"
        return fine
