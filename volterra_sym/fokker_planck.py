"""The forward Fokker-Planck equation of a nonlinear network, solved on a grid: an independent oracle.

    d rho/dt = L0* rho = -div(F rho) + 1/2 Sigma : hess rho              (theory.md 3a)

on a periodic box where the density is negligible at the edges: Fourier pseudo-spectral derivatives
in space, the classical fourth-order Runge-Kutta method in time with a fixed step (each lag reached
exactly). The kernels are the forward (Schroedinger-free) form of the response,

    R^(n)_{f;k_1..k_n}(tau_1..tau_n) = int f e^{tau_1 L0*} L1^{k_1*} ... e^{tau_n L0*} L1^{k_n*} rho_inf,
    L1^{k*} g = -C_k . grad g,

and the series terms come from the forced hierarchy d rho^(n)/dt = L0* rho^(n) + u(t) . L1* rho^(n-1).

Input inside the activation (theory.md 7; ``inside`` given): the drift is -Gamma h + a(W h + b + eps C u),
its perturbation a(z + eps C u) - a(z) = sum_j eps^j/j! a^(j)(z) o (C u)^j (z = W h + b, per unit), so

    L_j*(t) rho = -div(d_j rho),   d_{j,i} = a^(j)(z_i) (C u(t))_i^j / j!,
    d rho^(n)/dt = L0* rho^(n) + sum_{j=1..n} L_j*(t) rho^(n-j),

the driven density takes the whole perturbation, and a kernel's operator at a time where the inputs
k_1..k_j act together is -div(a^(j)(z)/j! o C_{k_1} o ... o C_{k_j} rho) (j = 1: the order-1 operator
-div(a'(z) o C_k rho); j >= 2: a contact kernel).

The stationary density starts from exp(-2U/s^2) with U(h) = -int_0^1 F(r h) . h dr, the potential
rebuilt from the drift by radial Gauss-Legendre quadrature (exact for a gradient drift with isotropic
noise), and is relaxed by the solver itself (``relax``) when one unit of time still changes it, so a
non-gradient drift is handled too.

This shares nothing with the engines: the gradient engine diagonalises the backward generator in
Schroedinger form built from the symbolic potential; here the drift is a plain NumPy function (its
callers build it from the spec), the equation is the forward one and time is stepped. It is used
by ``verify`` (:mod:`volterra_sym.verification.oracles.forward`) and by the generated-module
conformance suite, never by an engine (tests/test_independence.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy

__all__ = ["ForwardFokkerPlanck", "InsideActivation", "fitted_solver", "DEFAULT_STEP", "EDGE", "NODES_PER_STD"]

#: time step of the Runge-Kutta method (shortened per lag so that every lag is a whole number of steps)
DEFAULT_STEP = 2.0**-9
#: the box holds the set where the starting density exceeds EDGE times its maximum
EDGE = 1e-20
#: grid nodes per standard deviation of the density's narrowest axis
NODES_PER_STD = 4.0
MIN_NODES, MAX_NODES = {1: 128, 2: 48}, {1: 512, 2: 160}


@dataclass(frozen=True)
class InsideActivation:
    """An input inside the activation: z = W h + b and ``derivatives`` = (a, a', a'', ...) as NumPy
    functions (the j-th entry is a^(j); its length - 1 is the highest input order the solver takes)."""

    W: numpy.ndarray
    b: numpy.ndarray
    derivatives: tuple[Callable[[numpy.ndarray], numpy.ndarray], ...]


class ForwardFokkerPlanck:
    """Fourier-RK4 solver of the forward equation on ``[centre - half_width, centre + half_width)^n``.

    Parameters
    ----------
    drift : callable
        ``drift(H) -> F(H)`` for H of shape (n, ...) (float64).
    Sigma : array (n, n)
        Noise covariance sigma sigma^T.
    C : array (n, m)
        Input matrix.
    readout : sequence of callables
        ``f_q(h1, ..., hn)`` on grid arrays.
    half_width, nodes : float, int
        Box half-width and Fourier nodes per axis.
    centre : array (n,), optional
        Box centre (default 0).
    step : float or None
        Largest Runge-Kutta step; None picks one inside RK4's stability region for the grid's largest
        advection and diffusion rates.
    inside : InsideActivation, optional
        The input enters the activation (module docstring); default: the additive input eps C u.
    """

    def __init__(self, drift: Callable[[numpy.ndarray], numpy.ndarray], Sigma: numpy.ndarray, C: numpy.ndarray,
                 readout: Sequence[Callable[..., numpy.ndarray]], *, half_width: float, nodes: int,
                 centre: Sequence[float] | None = None, step: float | None = DEFAULT_STEP,
                 inside: InsideActivation | None = None):
        self.inside = inside
        self.Sigma = numpy.asarray(Sigma, dtype=float)
        self.C = numpy.asarray(C, dtype=float)
        n = self.n = self.Sigma.shape[0]
        self.N, self.half_width = int(nodes), float(half_width)
        self.step = None if step is None else float(step)
        centre = numpy.zeros(n) if centre is None else numpy.asarray(centre, dtype=float)
        self.centre = centre
        axis = -self.half_width + 2 * self.half_width * numpy.arange(self.N) / self.N
        self.dx = 2 * self.half_width / self.N
        self.grid = numpy.meshgrid(*[axis + c for c in centre], indexing="ij")
        H = numpy.stack(self.grid)
        with numpy.errstate(all="ignore"):
            self.F = numpy.asarray(drift(H), dtype=float)
        k = numpy.fft.fftfreq(self.N, d=self.dx) * 2 * numpy.pi
        k1 = k.copy()
        k1[self.N // 2] = 0.0  # odd derivatives drop the Nyquist mode
        half = self.N // 2 + 1  # rfftn keeps the non-negative frequencies of the last axis

        def along(values: numpy.ndarray, a: int) -> numpy.ndarray:
            values = numpy.abs(values[:half]) if a == n - 1 else values
            return values.reshape([-1 if b == a else 1 for b in range(n)])

        self._k1 = [along(k1, a) for a in range(n)]
        k2 = [along(k**2, a) for a in range(n)]
        # 1/2 Sigma : hess in Fourier space (the full k^2 on the diagonal, k1 k1 off it)
        self._diffusion = -0.5 * sum(self.Sigma[a, a] * k2[a] for a in range(n))
        for a in range(n):
            for b in range(n):
                if a != b:
                    self._diffusion = self._diffusion - 0.5 * self.Sigma[a, b] * self._k1[a] * self._k1[b]
        self._axes = tuple(range(-n, 0))
        with numpy.errstate(all="ignore"):
            self.f = numpy.stack([numpy.broadcast_to(numpy.asarray(g(*self.grid), dtype=float), self.grid[0].shape)
                                  for g in readout])
        self.rho = self._potential_guess(drift, H)
        self._slopes: list[numpy.ndarray] = []  # a^(j)(z)/j! on the grid, j = 1.. (input inside)
        if inside is not None:
            W, b = numpy.asarray(inside.W, dtype=float), numpy.asarray(inside.b, dtype=float)
            with numpy.errstate(all="ignore"):
                self._z = numpy.tensordot(W, H, axes=1) + b.reshape((n,) + (1,) * n)
                self._slopes = [numpy.broadcast_to(numpy.asarray(a(self._z), dtype=float), self._z.shape)
                                / math.factorial(j) for j, a in enumerate(inside.derivatives) if j >= 1]
            if not all(numpy.all(numpy.isfinite(c)) for c in self._slopes):
                raise ValueError("derivatives of the activation are not finite on the grid")
        self.relaxation = 0.0
        if step is None:  # inside RK4's stability region for the largest advection and diffusion rates
            advection = sum(float(numpy.abs(self.F[a]).max()) * math.pi / self.dx for a in range(n))
            self.step = min(2.0**-5, 2.5 / (advection + float(numpy.abs(self._diffusion).max())))

    # --- operators -------------------------------------------------------------------------------

    def _potential_guess(self, drift, H) -> numpy.ndarray:
        nodes, weights = numpy.polynomial.legendre.leggauss(40)
        U = numpy.zeros(H.shape[1:])
        with numpy.errstate(all="ignore"):
            for r, w in zip((nodes + 1) / 2, weights / 2):
                U -= w * (numpy.asarray(drift(r * H), dtype=float) * H).sum(axis=0)
        s2 = float(numpy.trace(self.Sigma)) / self.n
        logr = -2 * U / s2
        rho = numpy.exp(logr - logr.max())
        return rho / (rho.sum() * self.dx**self.n)

    def _fft(self, V: numpy.ndarray) -> numpy.ndarray:
        return numpy.fft.rfftn(V, axes=self._axes)

    def _ifft(self, V: numpy.ndarray) -> numpy.ndarray:
        return numpy.fft.irfftn(V, s=(self.N,) * self.n, axes=self._axes)

    def forward(self, V: numpy.ndarray) -> numpy.ndarray:
        """L0* applied to a stack of densities V of shape (..., N, ..., N)."""
        total = self._diffusion * self._fft(V)
        for a in range(self.n):
            total -= 1j * self._k1[a] * self._fft(self.F[a] * V)
        return self._ifft(total)

    def input_adjoint(self, V: numpy.ndarray, k: int | tuple[int, ...]) -> numpy.ndarray:
        """L1^{k*} V = -C_k . grad V (additive input), or -div(a'(z) o C_k V) (input inside the activation).

        A tuple k = (k_1..k_j) is the operator of j inputs acting at one time (a contact kernel):
        -div(a^(j)(z)/j! o C_{k_1} o ... o C_{k_j} V) inside the activation, zero for an additive input.
        """
        ks = (k,) if isinstance(k, (int, numpy.integer)) else tuple(k)
        if self.inside is None:
            if len(ks) > 1:
                return numpy.zeros_like(V)
            symbol = sum(self.C[a, ks[0]] * self._k1[a] for a in range(self.n))
            return self._ifft(-1j * symbol * self._fft(V))
        j = len(ks)
        if j > len(self._slopes):
            raise ValueError(f"the solver holds activation derivatives up to order {len(self._slopes)}, not {j}")
        weights = numpy.prod(self.C[:, list(ks)], axis=1)  # (n,): C_{i k_1} ... C_{i k_j}
        return self.field_adjoint(V, self._slopes[j - 1] * weights.reshape((self.n,) + (1,) * self.n))

    def field_adjoint(self, V: numpy.ndarray, field: numpy.ndarray) -> numpy.ndarray:
        """-div(field V) for a vector field of shape (n, N, ..., N) and a stack V (..., N, ..., N)."""
        total = 0
        for a in range(self.n):
            total = total - 1j * self._k1[a] * self._fft(field[a] * V)
        return self._ifft(total)

    def mean(self, V: numpy.ndarray) -> numpy.ndarray:
        """int f_q V for a stack of densities: shape V.shape[:-n] + (p,)."""
        return numpy.tensordot(V, self.f, axes=(self._axes, tuple(range(1, self.n + 1)))) * self.dx**self.n

    def propagate(self, V: numpy.ndarray, taus: Sequence[float]) -> numpy.ndarray:
        """e^{tau_b L0*} V[b] for a stack V (B, N, ..., N); each tau_b in whole RK4 steps <= ``step``."""
        V = numpy.array(V, dtype=float, copy=True)
        taus = numpy.asarray(taus, dtype=float)
        steps = numpy.maximum(numpy.ceil(taus / self.step - 1e-9), 0).astype(int)
        h = numpy.where(steps > 0, taus / numpy.maximum(steps, 1), 0.0)
        order = numpy.argsort(-steps, kind="stable")
        for i in range(int(steps.max(initial=0))):
            active = order[steps[order] > i]
            x = V[active]
            hh = h[active].reshape((-1,) + (1,) * self.n)
            k1 = self.forward(x)
            k2 = self.forward(x + hh / 2 * k1)
            k3 = self.forward(x + hh / 2 * k2)
            k4 = self.forward(x + hh * k3)
            V[active] = x + hh / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return V

    # --- answers ---------------------------------------------------------------------------------

    def relax(self, *, tol: float = 1e-12, horizon: float = 0.5, rounds: int = 100) -> float:
        """Propagate rho over ``horizon`` until it changes by less than ``tol`` (relative, max norm);
        returns the last change (also kept as ``relaxation``)."""
        change = math.inf
        for _ in range(rounds):
            new = self.propagate(self.rho[None], [horizon])[0]
            change = float(numpy.abs(new - self.rho).max() / numpy.abs(self.rho).max())
            self.rho = new / (new.sum() * self.dx**self.n)
            if change <= tol:
                break
        self.relaxation = change
        return change

    def stationary_mean(self) -> numpy.ndarray:
        return self.mean(self.rho)

    def kernel(self, lags: Sequence[float], indices: Sequence[int]) -> numpy.ndarray:
        """R^(n)_{f;indices}(lags), shape (p,)."""
        return self.kernels([(tuple(lags), tuple(indices))])[0]

    def kernels(self, requests: Sequence[tuple[Sequence[float], Sequence]]) -> numpy.ndarray:
        """R^(n)_{f;k}(lags) for each (lags, indices) request (shape (len(requests), p)).

        An index is an input k, or a tuple (k_1..k_j) of inputs acting together at that lag (a contact
        kernel, see :meth:`input_adjoint`). Requests sharing a tail (tau_j.., k_j..) share its
        propagation; each level is one batch.
        """
        states = {(): self.rho}
        depth = max((len(lags) for lags, _ in requests), default=0)
        for level in range(1, depth + 1):
            keys = sorted({tuple(zip(lags, idx))[-level:] for lags, idx in requests if len(lags) >= level}, key=repr)
            if not keys:
                continue
            stack = numpy.stack([self.input_adjoint(states[key[1:]], key[0][1]) for key in keys])
            done = self.propagate(stack, [key[0][0] for key in keys])
            states.update({key: done[i] for i, key in enumerate(keys)})
        out = numpy.stack([self.mean(states[tuple(zip(lags, idx))]) for lags, idx in requests]) if requests else \
            numpy.zeros((0, self.f.shape[0]))
        return out

    def forced(self, u: Callable[[float], numpy.ndarray], t: float, eps: float,
               order: int) -> tuple[numpy.ndarray, numpy.ndarray]:
        """(series terms, driven mean) at time t, by one RK4 integration of

        * the forced hierarchy d rho^(n)/dt = L0* rho^(n) + u(t) . L1* rho^(n-1), terms eps^n int f rho^(n)_t
          (shape (order + 1, p));
        * the driven density d rho/dt = (L0* + eps u(t) . L1*) rho, E f(h_t) to all orders (shape (p,)).
        """

        if self.inside is not None:
            return self._forced_inside(u, t, eps, order)

        def rhs(s: float, state: numpy.ndarray) -> numpy.ndarray:
            out = self.forward(state)
            for k, uk in enumerate(self._input(u, s)):
                if uk != 0:
                    out[1:order + 1] += uk * self.input_adjoint(state[:order], k)
                    out[-1] += eps * uk * self.input_adjoint(state[-1], k)
            return out

        state = numpy.stack([self.rho] + [numpy.zeros_like(self.rho)] * order + [self.rho])
        final = self._integrate(rhs, state, t)
        terms = numpy.array([eps**n * self.mean(final[n]) for n in range(order + 1)])
        return terms, self.mean(final[-1])

    def _forced_inside(self, u: Callable[[float], numpy.ndarray], t: float, eps: float,
                       order: int) -> tuple[numpy.ndarray, numpy.ndarray]:
        """:meth:`forced` for an input inside the activation: couplings L_j*(t) of every order j <= n."""
        if order > len(self._slopes):
            raise ValueError(f"the solver holds activation derivatives up to order {len(self._slopes)}, not {order}")
        activation = self.inside.derivatives[0]
        expand = (self.n,) + (1,) * self.n

        def rhs(s: float, state: numpy.ndarray) -> numpy.ndarray:
            out = self.forward(state)
            drive = (self.C @ self._input(u, s)).reshape(expand)  # (C u(s))_i
            if not numpy.any(drive):
                return out
            for j in range(1, order + 1):  # rho^(n) gains L_j* rho^(n - j), n = j..order
                out[j:order + 1] += self.field_adjoint(state[:order + 1 - j], self._slopes[j - 1] * drive**j)
            with numpy.errstate(all="ignore"):
                whole = numpy.asarray(activation(self._z + eps * drive), dtype=float) - activation(self._z)
            out[-1] += self.field_adjoint(state[-1], whole)
            return out

        state = numpy.stack([self.rho] + [numpy.zeros_like(self.rho)] * order + [self.rho])
        final = self._integrate(rhs, state, t)
        terms = numpy.array([eps**n * self.mean(final[n]) for n in range(order + 1)])
        return terms, self.mean(final[-1])

    def series_terms(self, u: Callable[[float], numpy.ndarray], t: float, eps: float, order: int) -> numpy.ndarray:
        """eps^n int f rho^(n)_t, n = 0..order (shape (order + 1, p)); see :meth:`forced`."""
        return self.forced(u, t, eps, order)[0]

    def driven_mean(self, u: Callable[[float], numpy.ndarray], t: float, eps: float) -> numpy.ndarray:
        """E f(h_t) of the driven network to all orders (shape (p,)); see :meth:`forced`."""
        return self.forced(u, t, eps, 0)[1]

    def _input(self, u: Callable[[float], numpy.ndarray], s: float) -> numpy.ndarray:
        return numpy.atleast_1d(numpy.asarray(u(s), dtype=float)).reshape(-1)[: self.C.shape[1]]

    def _integrate(self, rhs: Callable, state: numpy.ndarray, t: float) -> numpy.ndarray:
        steps = max(1, math.ceil(t / self.step - 1e-9))
        h = t / steps
        for i in range(steps):
            s = i * h
            k1 = rhs(s, state)
            k2 = rhs(s + h / 2, state + h / 2 * k1)
            k3 = rhs(s + h / 2, state + h / 2 * k2)
            k4 = rhs(s + h, state + h * k3)
            state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return state

    def edge_mass(self) -> float:
        """Largest density on the box boundary relative to its maximum (should be ~0)."""
        edges = [numpy.take(self.rho, [0, -1], axis=a) for a in range(self.n)]
        return float(max(numpy.abs(e).max() for e in edges) / numpy.abs(self.rho).max())


def fitted_solver(drift: Callable[[numpy.ndarray], numpy.ndarray], Sigma: numpy.ndarray, C: numpy.ndarray,
                  readout: Sequence[Callable[..., numpy.ndarray]], *, relax_tol: float = 1e-11,
                  inside: InsideActivation | None = None) -> ForwardFokkerPlanck:
    """A solver on a box and grid fitted to the network's density, its stationary density relaxed.

    Box: the starting density on a coarse grid, widened until the set where it exceeds :data:`EDGE`
    times its maximum stays inside, then that set's bounding box plus two coarse cells. Grid:
    :data:`NODES_PER_STD` nodes per standard deviation of the narrowest axis (within MIN_NODES..
    MAX_NODES). Time step: inside RK4's stability region. Raises ValueError beyond two hidden units
    or for a density that does not fit a box of half-width 256.
    """
    Sigma = numpy.asarray(Sigma, dtype=float)
    n = Sigma.shape[0]
    if n not in MIN_NODES:
        raise ValueError(f"the Fourier grid is limited to 1 or 2 hidden units (got {n})")
    half, centre = 8.0, numpy.zeros(n)
    for _ in range(6):
        coarse = ForwardFokkerPlanck(drift, Sigma, C, readout, half_width=half, nodes=96 if n == 1 else 64,
                                     centre=centre, step=None)
        rho = coarse.rho
        mask = rho > EDGE * rho.max()
        if not any(numpy.take(mask, [0, -1], axis=a).any() for a in range(n)):
            break
        half *= 2
    else:
        raise ValueError("the stationary density does not fit a box of half-width 256")
    lo = numpy.array([float(g[mask].min()) for g in coarse.grid])
    hi = numpy.array([float(g[mask].max()) for g in coarse.grid])
    half_width = float(((hi - lo) / 2).max()) + 2 * coarse.dx
    weights = rho / rho.sum()
    stds = [math.sqrt(float((weights * (g - (weights * g).sum()) ** 2).sum())) for g in coarse.grid]
    nodes = 2 * math.ceil(min(max(2 * half_width * NODES_PER_STD / min(stds), MIN_NODES[n]), MAX_NODES[n]) / 2)
    solver = ForwardFokkerPlanck(drift, Sigma, C, readout, half_width=half_width, nodes=nodes, centre=(lo + hi) / 2,
                                 step=None, inside=inside)
    solver.relax(tol=relax_tol)
    return solver
