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
        self.pre = W @ H + b  # W h + b on the grid
        self.activation = a

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

    def mean_output_inside(self, u, t, eps, steps: int = 100):
        """E f(h_t) with the input inside the activation, dh = (-Gamma h + a(W h + b + eps C u)) dt + s dB,
        all orders (eps may be complex): d rho/dt = L*_t rho with the drift perturbation
        V = a(W h + b + eps C u_t) - a(W h + b) inside the divergence; Magnus 4, checked at half the step."""
        full_D = [Dd[:, self.inner] for Dd in self.Ds]

        def generator(s):
            drive = self.C @ np.atleast_1d(u(s))
            V = self.activation(self.pre + eps * drive[:, None]) - self.activation(self.pre)  # (n, grid)
            extra = -sum(full_D[d][self.inner] * V[d][self.inner][None, :] for d in range(len(self.Ds)))
            return self.L + extra

        def run(count):
            h = t / count
            v = self.rho.astype(complex)
            c1, c2 = 0.5 - np.sqrt(3) / 6, 0.5 + np.sqrt(3) / 6
            for i in range(count):
                A1, A2 = generator(i * h + c1 * h), generator(i * h + c2 * h)
                omega = h / 2 * (A1 + A2) + np.sqrt(3) / 12 * h**2 * (A2 @ A1 - A1 @ A2)
                v = scipy.linalg.expm(omega) @ v
            return self.mean(v)

        coarse, fine = run(steps), run(2 * steps)
        assert np.abs(coarse - fine).max() < 1e-9, f"Magnus integrator not converged: {np.abs(coarse - fine).max()}"
        return fine


class FourierFokkerPlanck:
    """The forward equation on a periodic box by FFT differentiation and classical RK4 in time.

    rho_inf = exp(-2U/s^2) / Z with U(h) = -int_0^1 F(r h) . h dr by adaptive quadrature (the
    potential is rebuilt from the drift here, not taken from the engine).
    """

    def __init__(self, spec, *, half_width: float, nodes: int):
        n = spec.n_hidden
        self.n, self.N = n, nodes
        x = -half_width + 2 * half_width * np.arange(nodes) / nodes
        self.dx = 2 * half_width / nodes
        self.grid = np.meshgrid(*([x] * n), indexing="ij")
        k = np.fft.fftfreq(nodes, d=self.dx) * 2 * np.pi
        self.k1 = k.copy()
        self.k1[nodes // 2] = 0.0
        self.k2 = -(k**2)
        W, b, G = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b, spec.Gamma))
        a = sympy.lambdify(sympy.Symbol("x", real=True), spec.activation_expr, modules="numpy")
        self.drift = lambda H: -np.tensordot(G, H, axes=1) + a(np.tensordot(W, H, axes=1) + b.reshape((n,) + (1,) * H.ndim)[:, 0])  # noqa: E731
        H = np.stack(self.grid)
        self.F = self.drift(H)
        self.s2 = float((spec.sigma * spec.sigma.T)[0, 0])
        self.C = np.array(spec.C.evalf().tolist(), dtype=float)
        nodes_r, weights_r = np.polynomial.legendre.leggauss(40)
        r = (nodes_r + 1) / 2
        U = np.zeros(H.shape[1:])
        for ri, wi in zip(r, weights_r / 2):
            U -= wi * (self.drift(ri * H) * H).sum(axis=0)
        logr = -2 * U / self.s2
        rho = np.exp(logr - logr.max())
        self.rho = rho / (rho.sum() * self.dx**n)
        self.f = [sympy.lambdify(spec.hidden, f, modules="numpy") for f in spec.readout]

    def d(self, v, axis):
        return np.real(np.fft.ifft(1j * self.k1.reshape([-1 if a == axis else 1 for a in range(self.n)])
                                   * np.fft.fft(v, axis=axis), axis=axis))

    def d2(self, v, axis):
        return np.real(np.fft.ifft(self.k2.reshape([-1 if a == axis else 1 for a in range(self.n)])
                                   * np.fft.fft(v, axis=axis), axis=axis))

    def forward(self, v):
        return sum(-self.d(self.F[a] * v, a) + 0.5 * self.s2 * self.d2(v, a) for a in range(self.n))

    def input_adjoint(self, v, k):
        return -sum(self.C[a, k] * self.d(v, a) for a in range(self.n))

    def propagate(self, v, tau, step=2e-3):
        steps = max(1, int(np.ceil(tau / step)))
        h = tau / steps
        for _ in range(steps):
            k1 = self.forward(v)
            k2 = self.forward(v + h / 2 * k1)
            k3 = self.forward(v + h / 2 * k2)
            k4 = self.forward(v + h * k3)
            v = v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return v

    def mean(self, v):
        return np.array([(np.broadcast_to(f(*self.grid), v.shape) * v).sum() * self.dx**self.n for f in self.f])

    def kernel(self, lags, indices):
        v = self.rho
        for tau, k in reversed(list(zip(lags, indices))):
            v = self.propagate(self.input_adjoint(v, k), tau)
        return self.mean(v)

    def series_terms(self, u, t, eps, order, step=2e-3):
        """Terms eps^n int f rho^(n)_t with d rho^(n)/dt = L* rho^(n) + u(t) L1* rho^(n-1) (RK4)."""
        m = self.C.shape[1]

        def rhs(s, state):
            us = np.atleast_1d(u(s))
            out = [self.forward(state[0])]
            for n in range(1, order + 1):
                drive = sum(us[k] * self.input_adjoint(state[n - 1], k) for k in range(m))
                out.append(self.forward(state[n]) + drive)
            return np.stack(out)

        state = np.stack([self.rho] + [np.zeros_like(self.rho)] * order)
        steps = max(1, int(np.ceil(t / step)))
        h = t / steps
        for i in range(steps):
            s = i * h
            k1 = rhs(s, state)
            k2 = rhs(s + h / 2, state + h / 2 * k1)
            k3 = rhs(s + h / 2, state + h / 2 * k2)
            k4 = rhs(s + h, state + h * k3)
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return np.array([eps**n * self.mean(state[n]) for n in range(order + 1)])

    def series_terms_inside(self, spec, u, t, eps, order, step=2e-3):
        """The series with the input inside the activation (theory.md 7): terms eps^n int f rho^(n)_t with
        d rho^(n)/dt = L* rho^(n) + sum_j L_j(u)* rho^(n-j), L_j(u)* rho = -sum_i d_i(a^(j)(z_i)/j! (C u)_i^j rho)."""
        import math

        x = sympy.Symbol("x", real=True)
        W, b = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b))
        H = np.stack(self.grid)
        z = np.tensordot(W, H, axes=1) + b.reshape((self.n,) + (1,) * self.n)
        coefficients = [sympy.lambdify(x, sympy.diff(spec.activation_expr, x, j) / math.factorial(j), modules="numpy")(z)
                        for j in range(1, order + 1)]

        def rhs(s, state):
            drive_u = self.C @ np.atleast_1d(u(s))
            out = [self.forward(state[0])]
            for n in range(1, order + 1):
                extra = 0
                for j in range(1, n + 1):
                    extra = extra - sum(self.d(coefficients[j - 1][i] * drive_u[i] ** j * state[n - j], i)
                                        for i in range(self.n))
                out.append(self.forward(state[n]) + extra)
            return np.stack(out)

        state = np.stack([self.rho] + [np.zeros_like(self.rho)] * order)
        steps = max(1, int(np.ceil(t / step)))
        h = t / steps
        for i in range(steps):
            s = i * h
            k1 = rhs(s, state)
            k2 = rhs(s + h / 2, state + h / 2 * k1)
            k3 = rhs(s + h / 2, state + h / 2 * k2)
            k4 = rhs(s + h, state + h * k3)
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return np.array([eps**n * self.mean(state[n]) for n in range(order + 1)])

class GeneralFokkerPlanck:
    """The forward equation for ANY drift and noise (no potential needed), collocated as

        L* rho = -sum_i d_i (F_i rho) + 1/2 sum_ij Sigma_ij d_i d_j rho

    on an axis-aligned box in the network's own coordinates h: Chebyshev nodes with rho = 0 on the
    walls. The stationary density solves L* rho = 0 with one equation replaced by the
    normalisation (dense LU); kernels by dense scipy matrix exponentials (theory.md 3a). It shares
    nothing with the grid engine (the Gaussian-weighted backward operator in whitened, rotated
    coordinates; Taylor exponential actions; density as an adjoint eigenvector).
    """

    def __init__(self, spec, *, centre, half_widths, nodes: int):
        model_h = spec.hidden
        n = len(model_h)
        self.n = n
        axes, Ds, ws = [], [], []
        for c, hw in zip(centre, half_widths):
            D, x = cheb(nodes)
            axes.append(c + hw * x)
            Ds.append(D / hw)
            ws.append(clenshaw_curtis(nodes) * hw)
        eye = np.eye(nodes + 1)
        full = [functools.reduce(np.kron, [Ds[d] if d == a else eye for d in range(n)]) for a in range(n)]
        grid = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
        weights = functools.reduce(np.multiply.outer, ws).ravel()
        H = np.stack(grid)
        x = sympy.Symbol("x", real=True)
        a = sympy.lambdify(x, spec.activation_expr, modules="numpy")
        W, b, G, C, sig = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b, spec.Gamma, spec.C,
                                                                                  spec.sigma))
        if spec.activation == "linear":
            F = (W - G) @ H + b
        else:
            F = -G @ H + a(W @ H + b)
        Sigma = sig @ sig.T
        Lstar = sum(-full[i] * F[i][None, :] for i in range(n))
        for i in range(n):
            for j in range(n):
                if Sigma[i, j] != 0:
                    Lstar = Lstar + 0.5 * Sigma[i, j] * (full[i] @ full[j])
        inner = np.ones(len(grid[0]), dtype=bool)
        for d in range(n):
            inner &= (grid[d] != axes[d][0]) & (grid[d] != axes[d][-1])
        self.inner = inner
        self.L = Lstar[np.ix_(inner, inner)]
        self.D = [Dd[np.ix_(inner, inner)] for Dd in full]
        self.C = C
        self.weights = weights[inner]
        self.grid = [g[inner] for g in grid]
        A = self.L.copy()
        r = int(np.argmin(sum((g - c) ** 2 for g, c in zip(self.grid, centre))))
        A[r] = self.weights
        rhs = np.zeros(len(self.weights))
        rhs[r] = 1.0
        self.rho = np.linalg.solve(A, rhs)
        self.f = [sympy.lambdify(model_h, f, modules="numpy") for f in spec.readout]
        self._expm = {}

    def values(self, func):
        return np.broadcast_to(np.asarray(func(*self.grid), dtype=float), self.rho.shape)

    def mean(self, v=None):
        v = self.rho if v is None else v
        return np.array([self.weights @ (self.values(f) * v) for f in self.f])

    def expectation(self, func):
        return float(self.weights @ (self.values(func) * self.rho))

    def propagate(self, v, tau):
        if tau not in self._expm:
            self._expm[tau] = scipy.linalg.expm(self.L * tau)
        return self._expm[tau] @ v

    def input_adjoint(self, v, k):
        return -sum(self.C[d, k] * (self.D[d] @ v) for d in range(self.n))

    def kernel(self, lags, indices):
        """R^(n)(lags) for input indices k_1..k_n (theory.md 3a), one value per output."""
        v = self.rho
        for tau, k in reversed(list(zip(lags, indices))):
            v = self.propagate(self.input_adjoint(v, k), tau)
        return self.mean(v)

    def kernel_inside(self, spec, lags, groups):
        """R^J(lags) with the input inside the activation (theory.md 7.1): ``groups[i]`` holds the input
        indices acting at the i-th latest time (j_i = len(groups[i])); L_{j;k..}* rho =
        -sum_i d_i (a^(j)(z_i)/j! C_{i k_1} ... C_{i k_j} rho), z = W h + b, derivatives by SymPy here."""
        import math

        x = sympy.Symbol("x", real=True)
        W, b = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b))
        z = W @ np.stack(self.grid) + b.reshape(-1, 1)

        def adjoint(v, ks):
            j = len(ks)
            c = sympy.lambdify(x, sympy.diff(spec.activation_expr, x, j) / math.factorial(j), modules="numpy")(z)
            weight = [math.prod(self.C[i, k] for k in ks) for i in range(self.n)]
            return -sum(self.D[i] @ (weight[i] * c[i] * v) for i in range(self.n))

        v = self.rho
        for tau, ks in reversed(list(zip(lags, groups))):
            v = self.propagate(adjoint(v, tuple(ks)), tau)
        return self.mean(v)


class DifferenceFokkerPlanck:
    """Stationary density of ANY drift by second-order central differences of the forward equation on
    an axis-aligned box in h (sparse LU, rho = 0 outside), with Richardson extrapolation in h^2 over
    several grids: the independent route for three hidden units (dense Chebyshev is too slow there)."""

    def __init__(self, spec, *, centre, half_widths, levels):
        import scipy.sparse as sps
        import scipy.sparse.linalg as spla

        n = spec.n_hidden
        x = sympy.Symbol("x", real=True)
        a = sympy.lambdify(x, spec.activation_expr, modules="numpy")
        W, b, G, sig = (np.array(M.evalf().tolist(), dtype=float) for M in (spec.W, spec.b, spec.Gamma, spec.sigma))
        Sigma = sig @ sig.T
        self.hidden = spec.hidden
        self.solutions = []
        for N in levels:
            axes = [c - hw + np.arange(N) * 2 * hw / (N - 1) for c, hw in zip(centre, half_widths)]
            steps = [ax[1] - ax[0] for ax in axes]
            eye = sps.identity(N, format="csr")

            def lift(mats):
                return functools.reduce(lambda p, q: sps.kron(p, q, format="csr"), [mats.get(d, eye) for d in range(n)])

            first = [sps.diags([-1.0, 1.0], [-1, 1], shape=(N, N)) / (2 * h) for h in steps]
            second = [sps.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(N, N)) / h**2 for h in steps]
            grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")])
            F = -G @ grid + a(W @ grid + b)
            L = sum(-lift({i: first[i]}) @ sps.diags(F[i]) for i in range(n))
            for i in range(n):
                for j in range(n):
                    if Sigma[i, j] != 0:
                        L = L + 0.5 * Sigma[i, j] * (lift({i: second[i]}) if i == j else lift({i: first[i], j: first[j]}))
            L = sps.csc_matrix(L)
            r = int(np.argmin(((grid - np.asarray(centre)[:, None]) ** 2).sum(axis=0)))
            keep = np.ones(grid.shape[1], dtype=bool)
            keep[r] = False
            rho = np.empty(grid.shape[1])
            rho[keep] = spla.spsolve(sps.csc_matrix(L[keep][:, keep]), -L[keep][:, [r]].toarray().ravel())
            rho[r] = 1.0
            self.solutions.append((1.0 / (N - 1) ** 2, grid, rho / rho.sum()))

    def expectation(self, expr):
        """Richardson-extrapolated <expr>_inf from the last two grids, and the change from the previous pair."""
        func = sympy.lambdify(self.hidden, expr, modules="numpy")
        values = [(h2, float(mass @ np.broadcast_to(func(*grid), mass.shape))) for h2, grid, mass in self.solutions]
        extrapolated = [(v2 * h1 - v1 * h2) / (h1 - h2) for (h1, v1), (h2, v2) in zip(values, values[1:])]
        return extrapolated[-1], abs(extrapolated[-1] - extrapolated[-2])
