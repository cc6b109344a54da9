"""Numeric kernels of gradient-class SRNNs by a Fourier spectral method (float64).

With rho_inf ~ exp(-2U/s^2) and psi = sqrt(rho_inf) g, the generator becomes the symmetric
Schroedinger operator::

    H = -sqrt(rho) L0 (1/sqrt(rho)) = -1/2 s^2 Laplacian + V,    V = |F|^2/(2 s^2) + 1/2 div F,

discretised by Fourier collocation on a box outside which rho_inf < e^{-2 KAPPA} (psi is
negligible there, so the periodic extension costs nothing). Its eigenpairs (lam_j, phi_j) give the
L0-eigenfunctions g_j = phi_j / phi_0 (g_0 = 1, lam_0 = 0), orthonormal in L^2(rho_inf). In that
basis P_tau = diag(e^{-lam tau}), the input operator L1^k = C_k . grad is the matrix

    B_k[i, j] = <g_i, C_k . grad g_j>_rho = int phi_i (C_k . grad phi_j - phi_j C_k . F / s^2),

and the backward recursion (theory.md 3b) becomes a product of small matrices:

    R^(n)_{f;k_1..k_n}(tau) = e_0^T B_{k_n} e^{-Lam tau_n} ... B_{k_1} e^{-Lam tau_1} f_hat,
    f_hat_j = <g_j, f>_rho.

The resolution is increased until two successive grids agree (:data:`TOL`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy
import sympy

from ...errors import DerivationError, InputError
from ...spec import X
from .inside import MAX_CONTACT_ORDER, InsideInput, apply_exact, apply_order, contact_matrices
from ...inputs import check_input_rate
from .law import GradientLaw
from ...model import numeric_matrix, resolve_parameters

__all__ = ["SpectralKernels", "spectral_kernels", "spectral_kernel_values", "spectral_series", "spectral_mean_output", "contract",
           "spectral_series_on_grid", "spectral_mean_on_grid", "density_means"]

KAPPA = 22.0  # box edge where U - U_min = KAPPA s^2, i.e. rho_inf/rho_max = e^{-2 KAPPA}
TOL = 1e-9
_LADDER = {1: (64, 96, 144, 216, 324), 2: (24, 32, 40, 48, 56, 64)}
MAX_MODES = 800  # projections use the lowest modes only; higher ones matter at lag ~ 0 alone


@dataclass(frozen=True, slots=True)
class SpectralKernels:
    """Eigen-representation of one gradient-class model at fixed parameter values.

    ``lam`` (K,), ``B`` (m, K, K), ``fhat`` (K, p); ``nodes`` per axis, ``box`` per axis,
    ``error_estimate`` the change against the previous resolution.
    """

    law: GradientLaw
    values: Mapping[str, float]
    lam: numpy.ndarray
    B: numpy.ndarray
    fhat: numpy.ndarray
    nodes: int
    box: tuple[tuple[float, float], ...]
    error_estimate: float
    order: int
    inside: InsideInput | None = None  # the input enters the activation (theory.md 7)

    @property
    def stationary_mean(self) -> numpy.ndarray:
        return self.fhat[0].copy()

    def truncated(self, keep: int) -> SpectralKernels:
        """The lowest ``keep`` modes."""
        return dataclasses.replace(self, lam=self.lam[:keep].copy(), B=self.B[:, :keep, :keep].copy(),
                                   fhat=self.fhat[:keep].copy(),
                                   inside=None if self.inside is None else self.inside.truncated(keep))


def _fourier_matrices(N: int, length: float) -> tuple[numpy.ndarray, numpy.ndarray]:
    """First and second derivative matrices on a periodic grid of N (even) points."""
    k = numpy.fft.fftfreq(N, d=length / N) * 2 * numpy.pi
    k1 = k.copy()
    k1[N // 2] = 0.0  # the Nyquist mode has no real first derivative
    eye = numpy.eye(N)
    D1 = numpy.real(numpy.fft.ifft(1j * k1[:, None] * numpy.fft.fft(eye, axis=0), axis=0))
    D2 = numpy.real(numpy.fft.ifft(-(k**2)[:, None] * numpy.fft.fft(eye, axis=0), axis=0))
    return D1, (D2 + D2.T) / 2


def _numeric(law: GradientLaw, values: Mapping[str, float]):
    model = law.model
    spec = model.spec
    subs = {spec.parameters[k]: v for k, v in values.items()}
    h = list(model.hidden)

    def fn(expr):
        return sympy.lambdify(h, expr.subs(subs), modules="numpy", docstring_limit=0)

    s2 = float(law.noise_variance.subs(subs))
    if not s2 > 0:
        raise InputError("the noise variance must be positive", field="params")
    F = [fn(e) for e in model.drift]
    out = {
        "s2": s2,
        "F": F,
        "div": fn(law.divergence),
        "U": fn(law.potential),
        "readout": [fn(f) for f in model.readout],
        "C": numeric_matrix(model.C, model, values),
        "inside": None,
    }
    if model.input_placement == "activation":
        pre = spec.W * sympy.Matrix(h) + spec.b
        act = spec.activation_expr.subs(subs)
        out["inside"] = {
            "z": [fn(pre[i]) for i in range(len(h))],
            "activation": sympy.lambdify([X], act, modules="numpy"),
            "coefficients": [sympy.lambdify([X], sympy.diff(act, X, j) / math.factorial(j), modules="numpy")
                             for j in range(1, MAX_CONTACT_ORDER + 1)],
        }
    return out


def _box(num, n: int) -> tuple[tuple[float, float], ...]:
    """Axis-aligned box containing {U - U_min < KAPPA s^2}, found on a coarse grid."""
    U, s2 = num["U"], num["s2"]
    level = KAPPA * s2
    half = 2.0
    for _ in range(40):
        axis = numpy.linspace(-half, half, 401 if n == 1 else 161)
        grid = numpy.meshgrid(*([axis] * n), indexing="ij")
        with numpy.errstate(all="ignore"):
            values = numpy.broadcast_to(numpy.asarray(U(*grid), dtype=float), grid[0].shape)
        if not numpy.all(numpy.isfinite(values)):
            raise DerivationError("the potential is not finite on the search box")
        inside = values - values.min() < level
        edge = numpy.zeros_like(inside)
        for d in range(n):
            sl = [slice(None)] * n
            sl[d] = 0
            edge[tuple(sl)] = True
            sl[d] = -1
            edge[tuple(sl)] = True
        if not numpy.any(inside & edge):
            break
        half *= 1.6
        if half > 1e4:
            raise DerivationError("no normalizable invariant density: the potential does not grow")
    box = []
    for d in range(n):
        coords = grid[d][inside]
        pad = 0.05 * (coords.max() - coords.min()) + 2 * (axis[1] - axis[0])
        box.append((float(coords.min() - pad), float(coords.max() + pad)))
    return tuple(box)


def _representation(num, n: int, box, N: int):
    s2 = num["s2"]
    axes, D1s, D2s, dx = [], [], [], 1.0
    for lo, hi in box:
        length = hi - lo
        axes.append(lo + numpy.arange(N) * length / N)
        D1, D2 = _fourier_matrices(N, length)
        D1s.append(D1)
        D2s.append(D2)
        dx *= length / N
    grid = [g.ravel() for g in numpy.meshgrid(*axes, indexing="ij")]
    eye = numpy.eye(N)

    def lift(M: numpy.ndarray, axis: int) -> numpy.ndarray:
        return functools.reduce(numpy.kron, [M if d == axis else eye for d in range(n)])

    lap = sum(lift(D2s[d], d) for d in range(n))
    with numpy.errstate(all="ignore"):
        F = numpy.stack([numpy.broadcast_to(numpy.asarray(f(*grid), dtype=float), grid[0].shape) for f in num["F"]])
        div = numpy.broadcast_to(numpy.asarray(num["div"](*grid), dtype=float), grid[0].shape)
        fvals = numpy.stack([numpy.broadcast_to(numpy.asarray(f(*grid), dtype=float), grid[0].shape)
                             for f in num["readout"]], axis=-1)
    if not (numpy.all(numpy.isfinite(F)) and numpy.all(numpy.isfinite(fvals))):
        raise DerivationError("drift or readout is not finite on the computational box")
    V = (F**2).sum(axis=0) / (2 * s2) + div / 2
    H = -0.5 * s2 * lap + numpy.diag(V)
    lam, phi = numpy.linalg.eigh((H + H.T) / 2)
    K = min(len(lam), MAX_MODES)
    lam, phi = lam[:K], phi[:, :K] / numpy.sqrt(dx)
    if phi[:, 0].sum() < 0:
        phi[:, 0] = -phi[:, 0]
    ground = float(lam[0])
    lam = lam.copy()
    lam[0] = 0.0  # exactly: the constant is invariant (|ground| measures the discretisation error)
    p0 = phi[:, 0]
    fhat = phi.T @ (p0[:, None] * fvals) * dx
    C = num["C"]
    grads = []
    for d in range(n):  # d phi / d h_d, applied along one grid axis at a time
        cube = numpy.moveaxis(phi.reshape((N,) * n + (K,)), d, 0)
        grads.append(numpy.moveaxis(numpy.tensordot(D1s[d], cube, axes=1), 0, d).reshape(-1, K))
    if num["inside"] is None:
        B = []
        for k in range(C.shape[1]):
            directional = sum(C[d, k] * grads[d] for d in range(n))
            drift_k = (C[:, k] @ F) / s2
            B.append(phi.T @ (directional - phi * drift_k[:, None]) * dx)
        return lam, numpy.stack(B), fhat, ground, None
    # the input inside the activation: G_i = d_i phi - phi F_i / s^2, the matrix of v . grad is
    # dx phi^T (sum_i v_i G_i); L_1 has v_i = a'(z_i) (C u)_i
    G = numpy.stack([grads[d] - phi * (F[d] / s2)[:, None] for d in range(n)])
    with numpy.errstate(all="ignore"):
        z = numpy.stack([numpy.broadcast_to(numpy.asarray(f(*grid), dtype=float), grid[0].shape)
                         for f in num["inside"]["z"]])
        coefficients = tuple(numpy.broadcast_to(numpy.asarray(c(z), dtype=float), z.shape).copy()
                             for c in num["inside"]["coefficients"])
    if not all(numpy.all(numpy.isfinite(c)) for c in coefficients):
        raise DerivationError("derivatives of the activation are not finite on the computational box")
    inside = InsideInput(phi, G, z, coefficients, num["inside"]["activation"], C, dx)
    B = [phi.T @ sum(C[d, k] * coefficients[0][d][:, None] * G[d] for d in range(n)) * dx for k in range(C.shape[1])]
    return lam, numpy.stack(B), fhat, ground, inside


def _probe(lam, B, fhat, order):
    probes = [fhat[0]]
    for n in range(1, order + 1):
        for lags in ([0.0] * n, [0.3] * n, [1.0] * n):
            probes.append(contract(lam, B, fhat, [numpy.asarray(t) for t in lags]).ravel())
    return numpy.concatenate([numpy.ravel(p) for p in probes])


def spectral_kernels(law: GradientLaw, params: Mapping[str, float] | None = None, *, order: int | None = None,
                     tol: float = TOL) -> SpectralKernels:
    """Build the eigen-representation, refining the grid until kernels up to ``order`` converge,
    then keeping the fewest low modes that reproduce them (the rest only matter at lag ~ 0)."""
    model = law.model
    n = model.n_hidden
    if n not in _LADDER:
        raise DerivationError(f"the spectral method handles 1 or 2 hidden units, not {n}")
    order = model.spec.order if order is None else order
    values = resolve_parameters(model.spec, params or {})
    num = _numeric(law, values)
    box = _box(num, n)
    previous = None
    for N in _LADDER[n]:
        lam, B, fhat, ground, inside = _representation(num, n, box, N)
        probe = _probe(lam, B, fhat, min(order, 3))
        scale = max(1.0, float(numpy.abs(probe).max()))
        if previous is not None:
            error = float(numpy.abs(probe - previous).max())
            if error <= tol * scale and abs(ground) <= tol * max(1.0, lam[1]):
                break
        previous = probe
    else:
        warnings.warn(f"spectral kernels did not converge to {tol:g} (last change {error:.2e} at {N} nodes per axis)",
                      RuntimeWarning, stacklevel=2)
    K = len(lam)
    keep = 16
    while keep < K:
        cut = _probe(lam[:keep], B[:, :keep, :keep], fhat[:keep], min(order, 3))
        if float(numpy.abs(cut - probe).max()) <= 0.1 * tol * scale:
            break
        keep *= 2
    keep = min(keep, K)
    full = SpectralKernels(law, values, lam, B, fhat, N, box, error, order, inside)
    return full.truncated(keep)


def contract(lam, B, fhat, lags: Sequence[numpy.ndarray], operators: Sequence[numpy.ndarray] | None = None
             ) -> numpy.ndarray:
    """e_0^T O_r e^{-lam tau_r} ... O_1 e^{-lam tau_1} f_hat for all index tuples of the operators.

    ``operators[i]`` (M_i, K, K) acts at the i-th latest time (default: ``B``, the input operators
    C_k . grad, M_i = m). The working array has shape lag_shape + (M_1, ..., M_j) + (K, p) after j
    operators; the result lag_shape + (p,) + (M_1, ..., M_r).
    """
    n = len(lags)
    operators = [B] * n if operators is None else list(operators)
    lags = numpy.broadcast_arrays(*lags)
    shape = lags[0].shape
    v = numpy.exp(-numpy.multiply.outer(lags[0], lam))[..., :, None] * fhat
    for j in range(n):
        v = numpy.einsum("kil,...lp->...kip", operators[j], v)
        if j + 1 < n:
            decay = numpy.exp(-numpy.multiply.outer(lags[j + 1], lam))
            v = v * decay.reshape(shape + (1,) * (j + 1) + (len(lam), 1))
    out = v[..., 0, :]  # lag_shape + (M_1, ..., M_r) + (p,)
    return numpy.moveaxis(out, -1, len(shape))


def spectral_kernel_values(sk: SpectralKernels, lags: Sequence[numpy.typing.ArrayLike],
                           composition: Sequence[int] | None = None) -> numpy.ndarray:
    """R^(n)(lags), shape broadcast(lags) + (p,) + (m,) * n (same layout as :func:`kernel_values`).

    ``composition`` (j_1, ..., j_r), one entry per lag, addresses the contact kernels of an input
    inside the activation (theory.md 7): j_i inputs act together at the i-th latest time, and the
    input axes are grouped by time (the first j_1 belong to tau_1). Default: all ones, the
    time-ordered kernel of order len(lags); an additive input has no contact kernels (zeros).
    """
    if len(lags) == 0:
        return sk.fhat[0].copy()
    arrays = [numpy.asarray(t, dtype=numpy.float64) for t in lags]
    for j, t in enumerate(arrays):
        if not numpy.all(numpy.isfinite(t)) or numpy.any(t < 0):
            raise InputError(f"lag tau_{j + 1} must be finite and >= 0", field="lags")
    composition = tuple(composition) if composition is not None else (1,) * len(arrays)
    if composition == (1,) * len(arrays):
        return contract(sk.lam, sk.B, sk.fhat, arrays)
    m = sk.B.shape[0]
    n = sum(composition)
    if sk.inside is None:
        shape = numpy.broadcast_shapes(*(a.shape for a in arrays))
        return numpy.zeros(shape + (sk.fhat.shape[1],) + (m,) * n)
    operators = [sk.B if j == 1 else contact_matrices(sk.inside, j) for j in composition]
    out = contract(sk.lam, sk.B, sk.fhat, arrays, operators)
    return out.reshape(out.shape[: out.ndim - len(composition)] + (m,) * n)


def _phi_functions(z: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """ETDRK4 coefficient functions by contour means (Kassam & Trefethen 2005), vectorised."""
    r = numpy.exp(1j * numpy.pi * (numpy.arange(1, 33) - 0.5) / 32)
    Z = z[:, None] + r[None, :]
    eZ = numpy.exp(Z)
    Q = numpy.real(numpy.mean((numpy.exp(Z / 2) - 1) / Z, axis=1))
    f1 = numpy.real(numpy.mean((-4 - Z + eZ * (4 - 3 * Z + Z**2)) / Z**3, axis=1))
    f2 = numpy.real(numpy.mean((2 + Z + eZ * (Z - 2)) / Z**3, axis=1))
    f3 = numpy.real(numpy.mean((-4 - 3 * Z - Z**2 + eZ * (4 - Z)) / Z**3, axis=1))
    return Q, f1, f2, f3


MAX_FORWARD_STEPS = 2**17


def _forward(lam: numpy.ndarray, drive: Callable, y0: numpy.ndarray, record: Callable, u: Callable,
             times: numpy.ndarray, tol: float) -> tuple[numpy.ndarray, int, float]:
    """y' = -lam * y + drive(u(t), y) from y(0) = y0, recorded as ``record(y)`` at a uniform grid ``times``
    (starting at 0), by ETDRK4 (Cox and Matthews 2002; coefficients by contour means). The steps per
    interval are doubled until every recorded value changes by at most ``tol`` (relative to
    max(1, |value|)); returns (records, total steps, last change).
    """
    intervals = len(times) - 1
    first = record(y0)
    if intervals == 0 or times[-1] == 0:
        return numpy.stack([first] * len(times)), 0, 0.0
    delta = float(times[1] - times[0])
    if not numpy.allclose(numpy.diff(times), delta, rtol=1e-9, atol=0) or abs(times[0]) > 0:
        raise InputError("the time grid must be uniform and start at 0", field="times")

    def run(sub: int) -> numpy.ndarray:
        h = delta / sub
        z = -lam * h
        E, E2 = numpy.exp(z), numpy.exp(z / 2)
        Q, f1, f2, f3 = (c * h for c in _phi_functions(z))
        fine = numpy.linspace(0.0, float(times[-1]), 2 * sub * intervals + 1)
        U = numpy.asarray(u(fine), dtype=numpy.float64)
        out = numpy.empty((len(times),) + numpy.shape(first), dtype=numpy.result_type(first, complex if numpy.iscomplexobj(y0) else float))
        out[0] = first
        y = y0.copy()
        for i in range(sub * intervals):
            u0, uh, u1 = U[2 * i], U[2 * i + 1], U[2 * i + 2]
            Nv = drive(u0, y)
            a = E2 * y + Q * Nv
            Na = drive(uh, a)
            b = E2 * y + Q * Na
            Nb = drive(uh, b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = drive(u1, c)
            y = E * y + f1 * Nv + 2 * f2 * (Na + Nb) + f3 * Nc
            if (i + 1) % sub == 0:
                out[(i + 1) // sub] = record(y)
        return out

    sub = max(2, int(numpy.ceil(4 * delta)), -(-16 // intervals))
    previous = run(sub)
    while True:
        sub *= 2
        current = run(sub)
        change = numpy.abs(current - previous)
        if numpy.all(change <= tol * numpy.maximum(1.0, numpy.abs(current))):
            return current, sub * intervals, float(change.max(initial=0.0))
        if 2 * sub * intervals > MAX_FORWARD_STEPS:
            raise DerivationError(f"the forward integration did not converge to {tol:g} within {sub * intervals} "
                                  f"steps (last change {float(change.max()):.2g}); the input varies too fast "
                                  "for this horizon")
        previous = current


def _check_input(sk: SpectralKernels, u: Callable, t: float) -> None:
    m = sk.B.shape[0]
    probe = numpy.asarray(u(numpy.array([0.0, t])), dtype=numpy.float64)
    if probe.shape != (2, m):
        raise InputError(f"the input gives shape {probe.shape[1:]} per time; the model has {m} input channel(s)",
                         field="inputs")
    check_input_rate(u, t)


def spectral_series_on_grid(sk: SpectralKernels, u: Callable, times: numpy.typing.ArrayLike, *,
                            order: int | None = None, eps: float = 1.0, tol: float = 1e-11):
    """Series terms eps^n <int R^(n) u...u> at every time of a uniform grid from 0, shape (T, order+1, p),
    from ONE forward integration of the filters (row form)

        z^(0) = e_0,   dz^(n)/dt = -z^(n) Lam + sum_k u_k(t) z^(n-1) B_k,   term_n = eps^n z^(n) f_hat.

    Returns (terms, steps, last change).
    """
    order = sk.order if order is None else order
    times = numpy.asarray(times, dtype=numpy.float64)
    _check_input(sk, u, float(times[-1]))
    K = len(sk.lam)
    BT = numpy.transpose(sk.B, (0, 2, 1))

    def drive(uv, y):
        out = numpy.zeros_like(y)
        Y = y.reshape(order + 1, K)
        out.reshape(order + 1, K)[1:] = Y[:-1] @ numpy.tensordot(uv, BT, axes=1).T
        return out

    def drive_inside(uv, y):  # dz^(n)/dt gets sum_j z^(n-j) L_j(u): contact terms of every order
        Y = y.reshape(order + 1, K)
        out = numpy.zeros_like(Y)
        for j in range(1, order + 1):
            out[j:] += apply_order(sk.inside, Y[: order + 1 - j], j, uv)
        return out.ravel()

    y0 = numpy.zeros((order + 1) * K)
    y0[0] = 1.0
    powers = (eps ** numpy.arange(order + 1))[:, None]

    def record(y):
        return y.reshape(order + 1, K) @ sk.fhat * powers

    return _forward(numpy.tile(sk.lam, order + 1), drive if sk.inside is None else drive_inside, y0, record, u,
                    times, tol)


def spectral_mean_on_grid(sk: SpectralKernels, u: Callable, times: numpy.typing.ArrayLike, eps: float, *,
                          tol: float = 1e-11):
    """E f(h_t) of the driven network itself (all orders) at every time of a uniform grid from 0, shape (T, p):
    the forward equation dy/dt = -Lam y + eps (u . B^T) y in the eigenbasis. Returns (values, steps, change)."""
    times = numpy.asarray(times, dtype=numpy.float64)
    _check_input(sk, u, float(times[-1]))
    K = len(sk.lam)
    BT = numpy.transpose(sk.B, (0, 2, 1))

    def drive(uv, y):
        return eps * (numpy.tensordot(uv, BT, axes=1) @ y)

    def drive_inside(uv, y):  # the whole perturbation (a(z + eps C u) - a(z)) . grad, no expansion in eps
        return apply_exact(sk.inside, y[None, :], eps, uv)[0]

    y0 = numpy.zeros(K, dtype=complex if numpy.iscomplexobj(eps) else float)
    y0[0] = 1.0
    return _forward(sk.lam, drive if sk.inside is None else drive_inside, y0, lambda y: y @ sk.fhat, u, times, tol)


def spectral_series(sk: SpectralKernels, u: Callable, t: float, eps: float, *, order: int | None = None,
                    tol: float = 1e-11):
    """Series terms eps^n <int R^(n) u...u> at time t, shape (order+1, p) (:func:`spectral_series_on_grid`)."""
    from ..engine import SeriesResult

    terms, steps, error = spectral_series_on_grid(sk, u, numpy.array([0.0, t]), order=order, eps=eps, tol=tol)
    return SeriesResult(t, eps, terms[-1], steps, error, engine="gradient")


def spectral_mean_output(sk: SpectralKernels, u: Callable, t: float, eps: float, *, tol: float = 1e-11) -> numpy.ndarray:
    """E f(h_t) of the driven network itself (all orders) at time t (:func:`spectral_mean_on_grid`)."""
    values, _, _ = spectral_mean_on_grid(sk, u, numpy.array([0.0, t]), eps, tol=tol)
    return values[-1]


def density_means(sk: SpectralKernels, exprs: Sequence[sympy.Expr], *, nodes: int | None = None) -> numpy.ndarray:
    """<g>_inf for each expression, by the trapezoidal rule of the normalised symbolic density on the
    box (spectrally accurate: the integrand and its derivatives vanish at the box edges)."""
    law = sk.law
    model = law.model
    n = model.n_hidden
    nodes = nodes or (800 if n == 1 else 240)
    subs = {model.spec.parameters[k]: v for k, v in sk.values.items()}
    h = list(model.hidden)
    axes = [numpy.linspace(lo, hi, nodes) for lo, hi in sk.box]
    grid = numpy.meshgrid(*axes, indexing="ij")
    with numpy.errstate(all="ignore"):
        logr = numpy.broadcast_to(sympy.lambdify(h, law.log_density.subs(subs), modules="numpy", docstring_limit=0)(*grid), grid[0].shape)
        weight = numpy.exp(logr - logr.max())
        weight /= weight.sum()
        out = []
        for e in exprs:
            values = numpy.broadcast_to(sympy.lambdify(h, sympy.sympify(e).subs(subs), modules="numpy", docstring_limit=0)(*grid),
                                        grid[0].shape)
            out.append(float((weight * values).sum()))
    return numpy.array(out)
