"""Independent float64 oracles for the OU class (theory.md 4), sharing no code with the engine.

They use SciPy for the Lyapunov equation, the matrix exponential and quadrature, evaluate the
readout f itself (never its derivatives or moment tensors) by Gauss-Hermite quadrature, and
extract Taylor / mixed-derivative coefficients by discrete Cauchy integrals on circles.

* :func:`resummation_terms`  the eps-Taylor coefficients of E f(mu + xi + eps delta_t);
* :func:`kernel_by_resummation`  R^(n) as the mixed derivative d^n/da_1..da_n at 0 of
  E f(mu + xi + sum_j a_j e^{A sigma_j} C_{k_j});
* :func:`first_order_correlation` / :func:`second_order_correlation`  the correlation form 3c.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg
import sympy


@dataclass(frozen=True)
class OUSystem:
    A: np.ndarray
    b: np.ndarray
    C: np.ndarray
    sigma: np.ndarray
    readout: tuple[sympy.Expr, ...]
    hidden: tuple[sympy.Symbol, ...]

    @functools.cached_property
    def mu(self) -> np.ndarray:
        return -np.linalg.solve(self.A, self.b)

    @functools.cached_property
    def S(self) -> np.ndarray:
        S = scipy.linalg.solve_continuous_lyapunov(self.A, -self.sigma @ self.sigma.T)
        return (S + S.T) / 2

    @functools.cached_property
    def funcs(self):
        return [sympy.lambdify(self.hidden, f, modules="numpy") for f in self.readout]


def system_from_spec(spec, values=None) -> OUSystem:
    """Float arrays straight from a spec's matrices (parameters substituted)."""
    values = dict(spec.defaults) | dict(values or {})
    subs = {spec.parameters[k]: v for k, v in values.items()}

    def arr(M):
        return np.array(M.subs(subs).evalf(20).tolist(), dtype=float)

    readout = tuple(f.subs(subs) for f in spec.readout)
    return OUSystem(arr(spec.W - spec.Gamma), arr(spec.b)[:, 0], arr(spec.C), arr(spec.sigma), readout, spec.hidden)


def gaussian_expectation(sys: OUSystem, shift: np.ndarray, nodes: int = 24) -> np.ndarray:
    """E f(mu + xi + shift), xi ~ N(0, S), for shifts of shape (..., n) (complex allowed); -> (..., p)."""
    n = len(sys.mu)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    L = np.linalg.cholesky(sys.S)
    Z = np.stack(np.meshgrid(*([x] * n), indexing="ij")).reshape(n, -1)
    W = functools.reduce(np.multiply.outer, [w] * n).ravel()
    xi = (L @ Z).T  # (K, n)
    shift = np.asarray(shift)
    H = sys.mu + xi + shift[..., None, :]  # (..., K, n)
    out = []
    for f in sys.funcs:
        vals = np.broadcast_to(f(*np.moveaxis(H, -1, 0)), H.shape[:-1])
        out.append(vals @ W)
    return np.stack(out, axis=-1)


def moment_by_quadrature(sys: OUSystem, output: int, alpha: tuple[int, ...], nodes: int) -> float:
    """<d^n f / dh_alpha>_inf: the readout differentiated symbolically (SymPy), integrated by a tensor
    Gauss-Hermite rule under N(mu, S) from SciPy's Lyapunov solve (no moment recursion)."""
    g = sympy.diff(sys.readout[output], *[sys.hidden[i] for i in alpha]) if alpha else sys.readout[output]
    func = sympy.lambdify(sys.hidden, g, modules="numpy")
    n = len(sys.mu)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    Z = np.stack(np.meshgrid(*([x] * n), indexing="ij")).reshape(n, -1)
    W = functools.reduce(np.multiply.outer, [w] * n).ravel()
    H = sys.mu[:, None] + np.linalg.cholesky(sys.S) @ Z
    return float(np.broadcast_to(func(*H), W.shape) @ W)


def _cauchy_coefficients(F, order: int, radius: float, points: int = 32) -> np.ndarray:
    """Taylor coefficients c_0..c_order of an analytic F(z) from samples on |z| = radius."""
    z = radius * np.exp(2j * np.pi * np.arange(points) / points)
    values = np.stack([F(zi) for zi in z])  # (points, p)
    coeffs = np.fft.fft(values, axis=0) / points
    return np.array([(coeffs[k] / radius**k).real for k in range(order + 1)])


def delta(sys: OUSystem, u, t: float) -> np.ndarray:
    """delta_t = int_0^t e^{A(t-s)} C u(s) ds by adaptive quadrature."""
    integrand = lambda s: scipy.linalg.expm(sys.A * (t - s)) @ sys.C @ np.atleast_1d(u(s))  # noqa: E731
    value, _ = scipy.integrate.quad_vec(integrand, 0.0, t, epsabs=1e-14, epsrel=1e-13)
    return value


def resummation_terms(sys: OUSystem, u, t: float, eps: float, order: int, *, radius: float = 1.0,
                      nodes: int = 24) -> np.ndarray:
    """Terms eps^n c_n (n = 0..order) of E f(mu + xi + z delta_t) = sum_n c_n z^n, shape (order+1, p)."""
    d = delta(sys, u, t)
    scale = radius / max(np.abs(d).max(), 1e-300)
    coeffs = _cauchy_coefficients(lambda z: gaussian_expectation(sys, z * scale * d, nodes), order, 1.0)
    return np.array([coeffs[k] * (eps / scale) ** k for k in range(order + 1)])


def kernel_by_resummation(sys: OUSystem, lags, indices, *, radius: float = 0.5, points: int = 8,
                          nodes: int = 24) -> np.ndarray:
    """R^(n)_{f;k}(lags) (shape (p,)) as the coefficient of a_1...a_n in E f(mu + xi + sum_j a_j w_j)."""
    sigma = np.cumsum(lags)
    ws = [scipy.linalg.expm(sys.A * s) @ sys.C[:, k] for s, k in zip(sigma, indices)]
    ws = [w / max(np.abs(w).max(), 1e-300) * radius for w in ws]
    norms = [np.abs(scipy.linalg.expm(sys.A * s) @ sys.C[:, k]).max() for s, k in zip(sigma, indices)]
    roots = np.exp(2j * np.pi * np.arange(points) / points)
    n = len(lags)
    total = 0
    for combo in itertools.product(range(points), repeat=n):
        z = roots[list(combo)]
        shift = sum(zj * wj for zj, wj in zip(z, ws))
        total = total + gaussian_expectation(sys, shift, nodes) * np.prod(np.conj(z))
    coeff = (total / points**n).real
    return coeff * np.prod(norms) / radius**n


def _joint_nodes(sys: OUSystem, tau: float, nodes: int):
    """Gauss-Hermite nodes of (h_0, h_tau) under the stationary joint law."""
    n = len(sys.mu)
    E = scipy.linalg.expm(sys.A * tau)
    cov = np.block([[sys.S, sys.S @ E.T], [E @ sys.S, sys.S]])
    L = np.linalg.cholesky(cov + 1e-300 * np.eye(2 * n))
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    Z = np.stack(np.meshgrid(*([x] * (2 * n)), indexing="ij")).reshape(2 * n, -1)
    W = functools.reduce(np.multiply.outer, [w] * (2 * n)).ravel()
    H = np.concatenate([sys.mu, sys.mu])[:, None] + L @ Z
    return H[:n], H[n:], W


def conjugate(sys: OUSystem, k: int, h0: np.ndarray) -> np.ndarray:
    """A_k(h) = C_k^T S^-1 (h - mu) for h of shape (n, K)."""
    return sys.C[:, k] @ np.linalg.solve(sys.S, h0 - sys.mu[:, None])


def first_order_correlation(sys: OUSystem, tau: float, k: int, nodes: int = 8) -> np.ndarray:
    """R^(1)_{f;k}(tau) = E[f(h_tau) A_k(h_0)] by quadrature over the joint Gaussian."""
    h0, ht, W = _joint_nodes(sys, tau, nodes)
    a = conjugate(sys, k, h0)
    return np.array([np.broadcast_to(f(*ht), W.shape) * a @ W for f in sys.funcs])


def second_order_correlation(sys: OUSystem, tau1: float, tau2: float, k1: int, k2: int,
                             nodes: int = 8, step: float = 1e-2) -> np.ndarray:
    """R^(2) = E[g_1(h_{tau2}) A_{k2}(h_0)], g_1 = C_{k1} . grad P_{tau1} f (theory.md 3c).

    P_tau f(h) = E f(mu + e^{A tau}(h - mu) + xi_tau) by Gauss-Hermite over xi_tau; the directional
    derivative along C_{k1} by a five-point stencil (exact for polynomials of degree <= 4).
    """
    n = len(sys.mu)
    E = scipy.linalg.expm(sys.A * tau1)
    Q = sys.S - E @ sys.S @ E.T
    Lq = np.linalg.cholesky((Q + Q.T) / 2)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    Z = np.stack(np.meshgrid(*([x] * n), indexing="ij")).reshape(n, -1)
    Wi = functools.reduce(np.multiply.outer, [w] * n).ravel()
    xi = Lq @ Z  # (n, Ki)

    def P(h: np.ndarray) -> np.ndarray:  # h (n, K) -> (p, K)
        base = sys.mu[:, None] + E @ (h - sys.mu[:, None])
        H = base[:, :, None] + xi[:, None, :]
        return np.array([np.broadcast_to(f(*H), H.shape[1:]) @ Wi for f in sys.funcs])

    h0, ht, W = _joint_nodes(sys, tau2, nodes)
    c = sys.C[:, k1][:, None]
    g1 = (-P(ht + 2 * step * c) + 8 * P(ht + step * c) - 8 * P(ht - step * c) + P(ht - 2 * step * c)) / (12 * step)
    return g1 * conjugate(sys, k2, h0) @ W


def ou_exact_mean(model, u, times, eps, params=None, nodes: int = 40) -> np.ndarray:
    """E f(mu + xi + eps delta_t), shape (len(eps), len(times), p), from the spec's matrices: SciPy's
    quad_vec and expm for delta_t, Gauss-Hermite of f itself (no kernel, nothing of the engine)."""
    if model.fixed_point is not None:  # a linearized model: its own numbers are the network
        arr = lambda M: np.array(M.evalf(20).tolist(), dtype=float)  # noqa: E731
        sys = OUSystem(arr(model.A), arr(model.b)[:, 0], arr(model.C), np.linalg.cholesky(arr(model.Sigma)),
                       tuple(model.readout), model.hidden)
    else:
        sys = system_from_spec(model.spec, params)
    D = np.stack([delta(sys, u, float(t)) if t > 0 else np.zeros(len(sys.mu)) for t in times])  # (T, n)
    shifts = np.asarray(list(eps), dtype=float)[:, None, None] * D[None]
    return gaussian_expectation(sys, shifts, nodes)
