"""Monte-Carlo simulation of the driven SRNN started in its stationary law.

    dh_t = ( F(h_t) + eps C u_t ) dt + sigma dB_t,   F(h) = -Gamma h + a(W h + b),   y_t = f(h_t)

The estimate is E f(h_t) on a time grid, with its standard error, for any activation the spec
format accepts. Everything is float64 NumPy, vectorised over paths.

Schemes
-------
``exact`` (linear activation: the Ornstein-Uhlenbeck class, ``F(h) = A h + b``)
    h_0 ~ N(mu, S) exactly, then the exact OU transition over each step of length dt::

        h_{t+dt} = mu + E (h_t - mu) + eps d_t + xi,   E = e^{A dt},   xi ~ N(0, Q),
        Q = S - E S E^T = int_0^dt e^{As} Sigma e^{A^T s} ds     (Van Loan's block exponential),
        d_t = int_t^{t+dt} e^{A(t+dt-s)} C u_s ds   for u linear between the grid points:
            = J0 C u_t + (J1 / dt) C (u_{t+dt} - u_t),
        J0 = int_0^dt e^{Ar} dr,   J1 = int_0^dt e^{Ar} (dt - r) dr   (one 3n x 3n exponential).

    There is no time-step bias from the dynamics: the law at every grid point is exact for the
    piecewise-linear interpolant of u. For a smooth input the interpolation changes the mean by
    at most eps * (dt^2 / 8) * sup|u''| * int_0^t |e^{As} C| ds.
``heun`` (default for a nonlinear activation)
    Stochastic Heun (trapezoidal predictor-corrector); with additive noise it is Kloeden and
    Platen's explicit weak order-2 scheme (Numerical Solution of SDEs, 1992, sec. 15.1)::

        g = h + F(t, h) dt + sigma dW,    h_next = h + (F(t, h) + F(t + dt, g)) dt / 2 + sigma dW.

    Weak error O(dt^2) on a finite horizon, including the bias of the numerical invariant law.
``euler``
    Euler-Maruyama, h_next = h + F(t, h) dt + sigma dW: weak order 1 (bias O(dt)); kept as a
    reference and for convergence checks.

Stationary start for a nonlinear activation
-------------------------------------------
rho_inf is not known in closed form, so paths start from the Gaussian law of the network
linearized about its stable fixed point h* (:func:`volterra_sym.model.linearize`), N(h*, S_lin),
and run unforced (eps = 0) with the chosen scheme and dt for a burn-in time before the input starts
at t = 0. The linearized relaxation time tau_lin = 1 / min_i |Re lambda_i(A_lin)| alone is not a
safe burn-in: where the nonlinearity weakens the restoring drift (a flat stretch of F), the network
forgets its start several times more slowly (the scalar tanh network of theory.md 5 takes ~3
tau_lin per e-fold). The burn-in is therefore measured, by synchronous coupling: a pilot of
:data:`BLOCK` pairs, one copy started from N(h*, S_lin) and the other from its mirrored, twice
wider image h* - 2 (h - h*), is driven by the same noise; the burn-in is the first multiple of
tau_lin / 2 at which the mean distance of the pairs, in units of the stationary standard
deviations sqrt(S_lin,ii), is below :data:`BURN_IN_TOL` (1e-4), and at least
``BURN_IN_MIN_RELAXATIONS * tau_lin``. Two starts that far apart having coalesced means the initial
law is forgotten to that level (the pilot has its own random stream and does not depend on
``paths`` or the chunking). A network that does not coalesce within ``BURN_IN_MAX_RELAXATIONS *
tau_lin`` (e.g. several wells, between which the pairs stay apart) gets that cap and a
RuntimeWarning; pass ``burn_in`` explicitly then. Without a stable fixed point the start is
N(0, S_Gamma) (the law of the linear part -Gamma h) and tau_lin comes from -Gamma. A linear model
needs no burn-in: its start is exact.

Random numbers and reproducibility
----------------------------------
Paths are grouped in blocks of :data:`BLOCK` paths. Block ``j`` draws all its normals (initial
state, burn-in, run) from ``numpy.random.default_rng(SeedSequence(seed).spawn(...)[j])``, and its
statistics (mean, sum of squared deviations) are kept per block and combined in block order at the
end. Chunking only decides how many blocks advance together, so the numbers do not depend on the
chunk size (``chunk_size``); memory is O(chunk_size * n * len(eps)) whatever the number of paths, and the
per-block statistics are O(paths / BLOCK * recorded times * outputs). Several eps values are run
on the same noise (common random numbers), which makes the pathwise differences
f(h^eps_t) - f(h^0_t) (:func:`simulate_responses`) far less noisy than two independent runs.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy
import sympy

from .errors import DerivationError, InputError, SpecError
from .expressions import parse_expression
from .model import SymbolicModel, linearize, numeric_matrix, resolve_parameters
from .propagator import expm
from .spec import X, DerivationSpec

__all__ = [
    "BLOCK",
    "BURN_IN_TOL",
    "SCHEMES",
    "NumericSRNN",
    "SimulationResult",
    "ResponseEstimate",
    "numeric_srnn",
    "input_signal",
    "simulate",
    "simulate_responses",
    "stationary_covariance",
    "ou_transition",
]

#: paths per random-number stream; part of the reproducibility contract (same seed, same numbers)
BLOCK = 4096
#: burn-in of a nonlinear network (module docstring): coupled pairs closer than this (in s.d.) ...
BURN_IN_TOL = 1e-4
#: ... and between these many linearized relaxation times
BURN_IN_MIN_RELAXATIONS = 5.0
BURN_IN_MAX_RELAXATIONS = 500.0
SCHEMES = ("auto", "exact", "heun", "euler")
#: default time step: at most this, and at most DT_PER_RATE / (fastest linearized rate)
DEFAULT_DT = 0.01
DT_PER_RATE = 0.1
MAX_PATHS = 10**9
MAX_PATH_STEPS = 4 * 10**10  # paths x steps x amplitudes of one call
MAX_STEPS = 10**7
_DEFAULT_CHUNK = 16 * BLOCK
_MAX_RECORDED = 1000


@dataclass(frozen=True, slots=True)
class NumericSRNN:
    """Float64 arrays of one SRNN at fixed parameter values (see :func:`numeric_srnn`).

    ``A``, ``mu`` and ``S`` are the drift matrix, stationary mean and covariance of a linear model
    (exact law), or of the linearization about ``fixed_point`` for a nonlinear one (``None`` when
    no stable fixed point was found). For a linear model ``Gamma`` is -A and ``W`` is 0.
    """

    linear: bool
    Gamma: numpy.ndarray  # (n, n)
    W: numpy.ndarray  # (n, n)
    b: numpy.ndarray  # (n,)
    C: numpy.ndarray  # (n, m)
    sigma: numpy.ndarray  # (n, r)
    activation: Callable[[numpy.ndarray], numpy.ndarray]
    readout: tuple[Callable[..., numpy.ndarray], ...]
    A: numpy.ndarray | None
    mu: numpy.ndarray | None
    S: numpy.ndarray | None
    fixed_point: numpy.ndarray | None
    relaxation_time: float
    fastest_rate: float

    @property
    def n_hidden(self) -> int:
        return self.Gamma.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.C.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.readout)

    def drift(self, h: numpy.ndarray, forcing: numpy.ndarray | None = None) -> numpy.ndarray:
        """F(h) (+ ``forcing``) on states of shape (..., n, paths); returns a new array."""
        if self.linear:
            out = self.A @ h
            out += self.b[:, None]
        else:
            z = self.W @ h
            z += self.b[:, None]
            out = self.activation(z)
            out -= self.Gamma @ h
        if forcing is not None:
            out += forcing
        return out

    def output(self, h: numpy.ndarray) -> list[numpy.ndarray]:
        """f_q(h) for each output q, each of shape h.shape without the unit axis -2."""
        rows = [h[..., i, :] for i in range(self.n_hidden)]
        shape = rows[0].shape
        return [numpy.broadcast_to(numpy.asarray(f(*rows), dtype=numpy.float64), shape) for f in self.readout]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Monte-Carlo estimate of E f(h_t) at the recorded ``times`` (shape (k,)).

    ``mean`` and ``stderr`` have shape (k, p); ``stderr`` is the sample standard deviation over
    paths divided by sqrt(paths). ``dt`` is the step actually used (t / steps), ``burn_in`` the
    unforced run before t = 0 (0 for the exact OU start).
    """

    times: numpy.ndarray
    mean: numpy.ndarray
    stderr: numpy.ndarray
    paths: int
    dt: float
    seed: int
    eps: float
    scheme: str
    burn_in: float

    def __post_init__(self) -> None:
        assert self.mean.shape == self.stderr.shape == (len(self.times), self.mean.shape[1])

    @property
    def final_mean(self) -> numpy.ndarray:
        return self.mean[-1]

    @property
    def final_stderr(self) -> numpy.ndarray:
        return self.stderr[-1]


@dataclass(frozen=True, slots=True)
class ResponseEstimate:
    """Several eps values simulated on common random numbers.

    ``mean``/``stderr`` have shape (len(eps), k, p); ``response[j]`` estimates
    E f(h^{eps_j}_t) - E f(h^0_t) from pathwise differences (same noise), with ``response_stderr``.
    """

    times: numpy.ndarray
    eps: numpy.ndarray
    mean: numpy.ndarray
    stderr: numpy.ndarray
    response: numpy.ndarray
    response_stderr: numpy.ndarray
    paths: int
    dt: float
    seed: int
    scheme: str
    burn_in: float

    def result(self, j: int) -> SimulationResult:
        """The plain :class:`SimulationResult` of ``eps[j]``."""
        return SimulationResult(self.times, self.mean[j], self.stderr[j], self.paths, self.dt, self.seed,
                                float(self.eps[j]), self.scheme, self.burn_in)


def stationary_covariance(A: numpy.ndarray, Sigma: numpy.ndarray) -> numpy.ndarray:
    """S with A S + S A^T + Sigma = 0, by a Kronecker-product solve (n <= 8 here).

    >>> import numpy
    >>> stationary_covariance(numpy.array([[-2.0]]), numpy.array([[1.0]]))
    array([[0.25]])
    """
    n = A.shape[0]
    eye = numpy.eye(n)
    K = numpy.kron(eye, A) + numpy.kron(A, eye)
    S = numpy.linalg.solve(K, -Sigma.reshape(-1)).reshape(n, n)
    return (S + S.T) / 2


def ou_transition(A: numpy.ndarray, Sigma: numpy.ndarray, dt: float) -> tuple[numpy.ndarray, ...]:
    """(E, Q, J0, J1) of one exact OU step of length ``dt`` (module docstring).

    E = e^{A dt}; Q = int_0^dt e^{As} Sigma e^{A^T s} ds (Van Loan); J0 = int_0^dt e^{Ar} dr;
    J1 = int_0^dt e^{Ar} (dt - r) dr.
    """
    n = A.shape[0]
    van_loan = numpy.zeros((2 * n, 2 * n))
    van_loan[:n, :n] = -A
    van_loan[:n, n:] = Sigma
    van_loan[n:, n:] = A.T
    F = expm(van_loan * dt)
    E = F[n:, n:].T
    Q = E @ F[:n, n:]
    Q = (Q + Q.T) / 2
    drive = numpy.zeros((3 * n, 3 * n))
    drive[:n, :n] = A
    drive[:n, n : 2 * n] = numpy.eye(n)
    drive[n : 2 * n, 2 * n :] = numpy.eye(n)
    G = expm(drive * dt)
    return E, Q, G[:n, n : 2 * n], G[:n, 2 * n :]


def _sqrtm_psd(Q: numpy.ndarray) -> numpy.ndarray:
    """L with L L^T = Q for a symmetric positive semi-definite Q (eigenvalues clipped at 0)."""
    w, V = numpy.linalg.eigh(Q)
    return V * numpy.sqrt(numpy.clip(w, 0.0, None))


def numeric_srnn(model: SymbolicModel, params: Mapping[str, float] | None = None) -> NumericSRNN:
    """Substitute parameter values into ``model`` and prepare its numerical drift and readout.

    For a nonlinear activation the network is linearized (:func:`volterra_sym.model.linearize`)
    to get the relaxation time and the initial law of the burn-in.
    """
    spec = model.spec
    values = resolve_parameters(spec, params or {})
    subs = {spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    C = numeric_matrix(model.C, model, values)
    Sigma = numeric_matrix(model.Sigma, model, values)
    hidden = model.hidden
    readout = tuple(sympy.lambdify(hidden, sympy.sympify(f).subs(subs), modules="numpy") for f in model.readout)
    if model.linear:
        A = numeric_matrix(model.A, model, values)
        b = numeric_matrix(model.b, model, values)[:, 0]
        eig = numpy.linalg.eigvals(A)
        if eig.real.max() >= 0:
            raise InputError(f"A has an eigenvalue with real part {eig.real.max():.3g} >= 0 at these parameters",
                             field="--param")
        S = stationary_covariance(A, Sigma)
        mu = numpy.linalg.solve(A, -b)
        sigma = _sqrtm_psd(Sigma)
        return NumericSRNN(linear=True, Gamma=-A, W=numpy.zeros_like(A), b=b, C=C, sigma=sigma,
                           activation=lambda z: z, readout=readout, A=A, mu=mu, S=S,
                           fixed_point=None if model.fixed_point is None else numpy.array(model.fixed_point),
                           relaxation_time=float(1 / numpy.abs(eig.real).min()),
                           fastest_rate=float(numpy.abs(eig).max()))
    Gamma = numeric_matrix(spec.Gamma, model, values)
    W = numeric_matrix(spec.W, model, values)
    b = numeric_matrix(spec.b, model, values)[:, 0]
    sigma = numeric_matrix(spec.sigma, model, values)
    act_expr = spec.activation_expr.subs(subs)
    act = sympy.lambdify([X], act_expr, modules="numpy")

    def activation(z: numpy.ndarray) -> numpy.ndarray:  # a writable array of z's shape
        v = numpy.asarray(act(z), dtype=numpy.float64)
        if v.shape != z.shape or v is z or not v.flags.writeable:
            v = numpy.array(numpy.broadcast_to(v, z.shape))
        return v

    try:
        lin = linearize(model, values)
    except (DerivationError, SpecError):  # no stable fixed point, or noise not reaching every unit
        lin = None
    if lin is None:
        eig = numpy.linalg.eigvals(-Gamma)
        A = mu = S = hstar = None
    else:
        A = numpy.array(lin.A.evalf(17).tolist(), dtype=numpy.float64)
        hstar = numpy.array(lin.fixed_point)
        eig = numpy.linalg.eigvals(A)
        S = stationary_covariance(A, Sigma)
        mu = hstar
    return NumericSRNN(linear=False, Gamma=Gamma, W=W, b=b, C=C, sigma=sigma, activation=activation,
                       readout=readout, A=A, mu=mu, S=S, fixed_point=hstar,
                       relaxation_time=float(1 / numpy.abs(eig.real).min()),
                       fastest_rate=float(max(numpy.abs(eig).max(),
                                              numpy.abs(numpy.linalg.eigvals(Gamma)).max())))


def input_signal(
    spec: DerivationSpec, texts: Sequence[str], params: Mapping[str, float] | None = None
) -> Callable[[numpy.ndarray], numpy.ndarray]:
    """Input u(times) -> (len(times), m) from one expression in ``t`` per channel (parsed safely).

    Expressions may use ``t``, the spec's parameters (at ``params``, defaults otherwise) and the
    functions of :mod:`volterra_sym.expressions`. The callable raises :class:`InputError` where
    the input is not finite.
    """
    m = spec.n_inputs
    if len(texts) != m:
        raise InputError(f"{len(texts)} input expression(s) for a model with {m} input channel(s)", field="--input")
    values = resolve_parameters(spec, params or {})
    t = sympy.Symbol("t", real=True)
    subs = {spec.parameters[k]: v for k, v in values.items()}
    names = {"t": t, **spec.parameters}
    funcs = [sympy.lambdify([t], parse_expression(text, names, key=f"--input[{c + 1}]").subs(subs), modules="numpy")
             for c, text in enumerate(texts)]

    def u(times: numpy.ndarray) -> numpy.ndarray:
        times = numpy.asarray(times, dtype=numpy.float64)
        with numpy.errstate(all="ignore"):
            cols = [numpy.broadcast_to(numpy.asarray(f(times), dtype=numpy.float64), times.shape) for f in funcs]
        out = numpy.stack(cols, axis=-1)
        if not numpy.all(numpy.isfinite(out)):
            raise InputError("the input is not finite on the simulated time grid", field="--input")
        return out

    return u


def _check_args(t: float, eps: numpy.ndarray, paths: int, seed: int, dt: float | None) -> None:
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
        raise InputError(f"time {t!r} must be finite and >= 0", field="--t")
    if not numpy.all(numpy.isfinite(eps)):
        raise InputError(f"eps {eps.tolist()} must be finite", field="--eps")
    if isinstance(paths, bool) or not isinstance(paths, (int, numpy.integer)) or not 2 <= paths <= MAX_PATHS:
        raise InputError(f"{paths!r} paths: give an integer in 2..{MAX_PATHS}", field="--paths")
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise InputError(f"seed {seed!r} must be a non-negative integer", field="--seed")
    if dt is not None and (not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0):
        raise InputError(f"time step {dt!r} must be finite and > 0", field="--dt")


def _grid(t: float, dt: float | None, net: NumericSRNN) -> tuple[int, float]:
    target = dt if dt is not None else min(DEFAULT_DT, DT_PER_RATE / max(net.fastest_rate, 1e-300))
    steps = max(1, math.ceil(t / target - 1e-9)) if t > 0 else 0
    if steps > MAX_STEPS:
        raise InputError(f"t / dt = {steps} steps exceeds the limit {MAX_STEPS}; use a larger --dt", field="--dt")
    return steps, (t / steps if steps else (target if dt is None else dt))


class _Stepper:
    """Advances states of shape (k, blocks, n, s) by one step; noise (blocks, r, s) shared over k."""

    def __init__(self, net: NumericSRNN, scheme: str, dt: float, drive: numpy.ndarray, eps: numpy.ndarray):
        self.net, self.scheme, self.dt = net, scheme, dt
        self.eps = eps[:, None, None, None]  # (k, 1, 1, 1)
        if scheme == "exact":
            E, Q, J0, J1 = ou_transition(net.A, net.sigma @ net.sigma.T, dt)
            self.E = E
            self.noise_matrix = _sqrtm_psd(Q)
            Cu = drive @ net.C.T  # (steps + 1, n)
            self.forcing = Cu[:-1] @ J0.T + (Cu[1:] - Cu[:-1]) @ J1.T / dt  # (steps, n)
        else:
            self.noise_matrix = net.sigma * math.sqrt(dt)
            self.forcing = drive @ net.C.T  # C u at the grid points, (steps + 1, n)

    @property
    def noise_dim(self) -> int:
        return self.noise_matrix.shape[1]

    def step(self, h: numpy.ndarray, i: int, z: numpy.ndarray, *, forced: bool = True) -> numpy.ndarray:
        """State at step i + 1 from state ``h`` at step i (``forced=False``: eps = 0, burn-in)."""
        noise = self.noise_matrix @ z  # (blocks, n, s)
        net, dt = self.net, self.dt
        if self.scheme == "exact":  # h holds the centred state h - mu here
            out = self.E @ h + noise
            if forced:
                out += self.eps * self.forcing[i][:, None]
            return out
        k1 = net.drift(h, self.eps * self.forcing[i][:, None] if forced else None)
        if self.scheme == "euler":
            k1 *= dt
            k1 += h
            k1 += noise
            return k1
        predictor = k1 * dt
        predictor += h
        predictor += noise
        k2 = net.drift(predictor, self.eps * self.forcing[i + 1][:, None] if forced else None)
        k2 += k1
        k2 *= dt / 2
        k2 += h
        k2 += noise
        return k2


def _run(
    net: NumericSRNN,
    u: Callable[[numpy.ndarray], numpy.ndarray] | None,
    *,
    t: float,
    eps: numpy.ndarray,
    paths: int,
    seed: int,
    dt: float | None,
    scheme: str,
    record_every: int | None,
    burn_in: float | None,
    chunk_size: int | None,
    differences: bool,
    progress: bool,
) -> dict:
    _check_args(t, eps, paths, seed, dt)
    if scheme not in SCHEMES:
        raise InputError(f"unknown scheme {scheme!r} (choose from {', '.join(SCHEMES)})", field="--scheme")
    if scheme == "auto":
        scheme = "exact" if net.linear else "heun"
    if scheme == "exact" and not net.linear:
        raise InputError("the exact OU transition needs a linear activation; use heun or euler", field="--scheme")
    steps, dt = _grid(float(t), dt, net)
    work = int(paths) * max(steps, 1) * len(eps)
    if work > MAX_PATH_STEPS:
        raise InputError(
            f"{paths} paths x {steps} steps x {len(eps)} amplitude(s) = {work:.3g} path-steps exceeds the budget "
            f"{MAX_PATH_STEPS:.0e} (about an hour at 1e7 path-steps/s); lower --paths or raise --dt",
            field="--paths",
        )
    if record_every is None:
        record_every = max(1, math.ceil(steps / _MAX_RECORDED))
    if isinstance(record_every, bool) or not isinstance(record_every, int) or record_every < 1:
        raise InputError(f"record_every {record_every!r} must be a positive integer", field="record_every")
    recorded = sorted(set(range(0, steps + 1, record_every)) | {steps})
    record_slot = {i: j for j, i in enumerate(recorded)}
    times = numpy.array(recorded, dtype=numpy.float64) * dt

    m = net.n_inputs
    grid = numpy.arange(steps + 1, dtype=numpy.float64) * dt
    if u is None:
        drive = numpy.zeros((steps + 1, m))
    else:
        drive = numpy.asarray(u(grid), dtype=numpy.float64)
        if drive.shape != (steps + 1, m):
            raise InputError(f"the input gives shape {drive.shape[1:]} per time; the model has {m} input channel(s)",
                             field="--input")
        if not numpy.all(numpy.isfinite(drive)):
            raise InputError("the input is not finite on the simulated time grid", field="--input")

    stepper = _Stepper(net, scheme, dt, drive, eps)
    centre, start = _start_law(net)
    if net.linear:
        if burn_in not in (None, 0, 0.0):
            raise InputError("a linear network starts exactly in its stationary law; burn_in must be 0 or None",
                             field="burn_in")
        burn_steps = 0
    elif burn_in is None:
        burn_steps = _coupled_burn_in(net, stepper, centre, start, dt, seed)
    else:
        if isinstance(burn_in, bool) or not isinstance(burn_in, (int, float)) or not math.isfinite(burn_in) \
                or burn_in < 0:
            raise InputError(f"burn-in {burn_in!r} must be finite and >= 0", field="burn_in")
        burn_steps = math.ceil(burn_in / dt - 1e-9) if burn_in > 0 else 0
        if burn_steps > MAX_STEPS:
            raise InputError(f"burn-in of {burn_in:g} needs {burn_steps} steps of {dt:g} (limit {MAX_STEPS})",
                             field="--dt")

    n, k, p = net.n_hidden, len(eps), net.n_outputs
    if chunk_size is None:
        chunk_size = _DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"chunk_size {chunk_size!r} must be a positive integer", field="chunk_size")
    blocks_per_chunk = max(1, chunk_size // BLOCK)
    n_blocks = -(-paths // BLOCK)
    sizes = [BLOCK] * (paths // BLOCK) + ([paths % BLOCK] if paths % BLOCK else [])
    seeds = numpy.random.SeedSequence(seed).spawn(n_blocks)
    chunks: list[list[int]] = []
    full = paths // BLOCK
    for first in range(0, full, blocks_per_chunk):
        chunks.append(list(range(first, min(full, first + blocks_per_chunk))))
    if full < n_blocks:
        chunks.append([full])  # the partial block runs alone (rectangular arrays)

    n_rec = len(recorded)
    block_mean = numpy.empty((n_blocks, k, n_rec, p))
    block_m2 = numpy.empty_like(block_mean)
    diff_mean = numpy.empty_like(block_mean) if differences else None
    diff_m2 = numpy.empty_like(block_mean) if differences else None

    offset = net.mu if scheme == "exact" else None  # the exact scheme steps h - mu
    bar = _progress(len(chunks) * (steps + burn_steps), progress)
    try:
        for chunk in chunks:
            gens = [numpy.random.default_rng(seeds[j]) for j in chunk]
            s = sizes[chunk[0]]
            nb = len(chunk)

            def normals(r: int) -> numpy.ndarray:
                z = numpy.empty((nb, r, s))
                for a, g in enumerate(gens):
                    g.standard_normal(out=z[a])
                return z

            z0 = normals(n)
            h = start @ z0 if scheme == "exact" else centre[:, None] + start @ z0
            with numpy.errstate(all="ignore"):
                for i in range(burn_steps):
                    h = stepper.step(h, i, normals(stepper.noise_dim), forced=False)
                    bar.update(1)
            _check_finite(h, "burn-in")
            h = numpy.broadcast_to(h, (k, nb, n, s))

            def record(state: numpy.ndarray, slot: int) -> None:
                with numpy.errstate(all="ignore"):
                    values = net.output(state + offset[:, None] if offset is not None else state)
                for q, v in enumerate(values):  # v: (k, nb, s)
                    mean = v.mean(axis=-1)
                    block_mean[chunk, :, slot, q] = mean.T
                    block_m2[chunk, :, slot, q] = ((v - mean[..., None]) ** 2).sum(axis=-1).T
                    if differences:
                        d = v - v[:1]
                        dm = d.mean(axis=-1)
                        diff_mean[chunk, :, slot, q] = dm.T
                        diff_m2[chunk, :, slot, q] = ((d - dm[..., None]) ** 2).sum(axis=-1).T

            record(h, 0)
            with numpy.errstate(all="ignore"):
                for i in range(steps):
                    h = stepper.step(h, i, normals(stepper.noise_dim))
                    if i + 1 in record_slot:
                        _check_finite(h, f"t = {(i + 1) * dt:g}")
                        record(h, record_slot[i + 1])
                    bar.update(1)
    finally:
        bar.close()

    counts = numpy.array(sizes, dtype=numpy.float64)
    mean, stderr = _combine(block_mean, block_m2, counts)
    out = {"times": times, "mean": mean, "stderr": stderr, "dt": dt, "scheme": scheme, "burn_in": burn_steps * dt}
    if differences:
        out["response"], out["response_stderr"] = _combine(diff_mean, diff_m2, counts)
    return out


def _start_law(net: NumericSRNN) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Centre and square root of the start law: N(mu, S) (exact or linearized) or N(0, S_Gamma)."""
    if net.mu is not None:
        return net.mu, _sqrtm_psd(net.S)
    Sigma = net.sigma @ net.sigma.T
    return numpy.zeros(net.n_hidden), _sqrtm_psd(stationary_covariance(-net.Gamma, Sigma))


def _coupled_burn_in(net: NumericSRNN, stepper: _Stepper, centre: numpy.ndarray, start: numpy.ndarray,
                     dt: float, seed: int) -> int:
    """Burn-in steps from synchronous coupling of two unforced copies (module docstring)."""
    tau = net.relaxation_time
    check = max(1, round(0.5 * tau / dt))
    min_steps = math.ceil(BURN_IN_MIN_RELAXATIONS * tau / dt)
    max_steps = min(MAX_STEPS, math.ceil(BURN_IN_MAX_RELAXATIONS * tau / dt))
    # a child key no block uses (blocks are 0, 1, 2, ...): the pilot does not depend on paths
    rng = numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    scale = numpy.sqrt(numpy.diag(start @ start.T))[:, None]
    scale = numpy.where(scale > 0, scale, 1.0)  # a unit the noise does not reach: absolute distance
    z = start @ rng.standard_normal((1, net.n_hidden, BLOCK))
    a, b = centre[:, None] + z, centre[:, None] - 2 * z
    r = stepper.noise_dim
    with numpy.errstate(all="ignore"):
        for i in range(1, max_steps + 1):
            noise = rng.standard_normal((1, r, BLOCK))
            a = stepper.step(a, 0, noise, forced=False)
            b = stepper.step(b, 0, noise, forced=False)
            if i % check == 0 or i == max_steps:
                _check_finite(a, "burn-in pilot")
                _check_finite(b, "burn-in pilot")
                distance = float((numpy.abs(a - b) / scale).mean(axis=-1).max())
                if distance <= BURN_IN_TOL and i >= min_steps:
                    return i
    warnings.warn(f"burn-in capped at {max_steps * dt:g} ({BURN_IN_MAX_RELAXATIONS:g} linearized relaxation "
                  f"times): coupled copies are still {distance:.2g} s.d. apart, the start may not be "
                  "stationary (several wells?); pass burn_in explicitly", RuntimeWarning, stacklevel=4)
    return max_steps


def _combine(block_mean: numpy.ndarray, block_m2: numpy.ndarray, counts: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """Pool per-block (mean, sum of squared deviations) in block order; returns (mean, stderr)."""
    w = counts[:, None, None, None]
    N = counts.sum()
    mean = (w * block_mean).sum(axis=0) / N
    m2 = block_m2.sum(axis=0) + (w * (block_mean - mean) ** 2).sum(axis=0)
    return mean, numpy.sqrt(m2 / (N - 1) / N)


def _check_finite(h: numpy.ndarray, where: str) -> None:
    if not numpy.all(numpy.isfinite(h)):
        raise DerivationError(f"simulation diverged ({where}): the state is not finite; "
                              "use a smaller --dt or check that the network is stable")


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="step", desc="simulate", leave=False, mininterval=0.5)


def simulate_responses(
    model: SymbolicModel | NumericSRNN,
    u: Callable[[numpy.ndarray], numpy.ndarray] | None,
    *,
    t: float,
    eps: Sequence[float],
    paths: int,
    seed: int,
    dt: float | None = None,
    params: Mapping[str, float] | None = None,
    scheme: str = "auto",
    record_every: int | None = None,
    burn_in: float | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> ResponseEstimate:
    """Simulate several input amplitudes on common random numbers (see :func:`simulate`).

    ``eps = 0`` is prepended when absent, so ``response`` (pathwise E f(h^eps) - E f(h^0)) is always
    defined; the returned ``eps`` lists the values actually run, 0 first.
    """
    eps_arr = numpy.asarray(list(eps), dtype=numpy.float64).ravel()
    if eps_arr.size == 0:
        raise InputError("give at least one eps", field="--eps")
    if eps_arr[0] != 0:
        eps_arr = numpy.concatenate([[0.0], eps_arr])
    net = model if isinstance(model, NumericSRNN) else numeric_srnn(model, params)
    out = _run(net, u, t=t, eps=eps_arr, paths=int(paths) if isinstance(paths, numpy.integer) else paths,
               seed=seed, dt=dt, scheme=scheme, record_every=record_every, burn_in=burn_in, chunk_size=chunk_size,
               differences=True, progress=progress)
    return ResponseEstimate(times=out["times"], eps=eps_arr, mean=out["mean"], stderr=out["stderr"],
                            response=out["response"], response_stderr=out["response_stderr"], paths=paths,
                            dt=out["dt"], seed=seed, scheme=out["scheme"], burn_in=out["burn_in"])


def simulate(
    model: SymbolicModel | NumericSRNN,
    u: Callable[[numpy.ndarray], numpy.ndarray] | None,
    *,
    t: float,
    eps: float,
    paths: int,
    seed: int,
    dt: float | None = None,
    params: Mapping[str, float] | None = None,
    scheme: str = "auto",
    record_every: int | None = None,
    burn_in: float | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> SimulationResult:
    """Monte-Carlo estimate of the mean output E f(h_s), 0 <= s <= t, from the stationary law.

    Parameters
    ----------
    model : SymbolicModel or NumericSRNN
        From :func:`volterra_sym.model.build_model` (any activation), a linearized model, or an
        already prepared :func:`numeric_srnn` (then ``params`` is ignored).
    u : callable or None
        ``u(times) -> (len(times), m)``, e.g. from :func:`input_signal`; ``None`` is no input.
    t : float
        Horizon; the grid has ``steps = ceil(t / dt)`` steps of ``t / steps``.
    eps : float
        Input amplitude.
    paths : int
        Number of independent paths (>= 2).
    seed : int
        Seed of :class:`numpy.random.SeedSequence`; same seed, same numbers (module docstring).
    dt : float, optional
        Target time step; default min(DEFAULT_DT, DT_PER_RATE / fastest linearized rate).
    params : mapping, optional
        Parameter values overriding the spec defaults.
    scheme : {"auto", "exact", "heun", "euler"}
        ``auto`` is ``exact`` for a linear activation and ``heun`` otherwise.
    record_every : int, optional
        Record every this many steps (and the last); default keeps at most 1000 times.
    burn_in : float, optional
        Unforced run before t = 0 for a nonlinear network; default: measured by coupling
        (module docstring).
    chunk_size : int, optional
        Paths advanced together (rounded down to a multiple of :data:`BLOCK`); memory only.
    progress : bool
        Show a tqdm bar on stderr.

    Returns
    -------
    SimulationResult
    """
    eps_value = float(eps) if isinstance(eps, (int, float, numpy.floating)) and not isinstance(eps, bool) else None
    if eps_value is None:
        raise InputError(f"eps {eps!r} must be a number", field="--eps")
    net = model if isinstance(model, NumericSRNN) else numeric_srnn(model, params)
    out = _run(net, u, t=t, eps=numpy.array([eps_value]), paths=int(paths) if isinstance(paths, numpy.integer)
               else paths, seed=seed, dt=dt, scheme=scheme, record_every=record_every, burn_in=burn_in,
               chunk_size=chunk_size, differences=False, progress=progress)
    return SimulationResult(times=out["times"], mean=out["mean"][0], stderr=out["stderr"][0], paths=paths,
                            dt=out["dt"], seed=seed, eps=eps_value, scheme=out["scheme"], burn_in=out["burn_in"])


def run_cli(args) -> int:
    """``volterra-sym simulate``: print E f(h_T) and its standard error (JSON with ``--json``)."""
    from .model import build_model
    from .spec import load_spec

    params: dict[str, str] = {}
    for name, value in args.param:
        if name in params:
            raise InputError(f"{name} given twice", field="--param")
        params[name] = value
    spec = load_spec(args.spec)
    model = build_model(spec)
    values = resolve_parameters(spec, params)
    u = input_signal(spec, args.input, values)
    net = numeric_srnn(model, values)
    # record only t = 0 and t = T: record_every at least the number of steps
    result = simulate(net, u, t=args.t, eps=args.eps, paths=args.paths, seed=args.seed, dt=args.dt,
                      scheme=args.scheme, record_every=MAX_STEPS, progress=sys.stderr.isatty())
    mean, stderr = result.final_mean.tolist(), result.final_stderr.tolist()
    if args.json:
        import json

        print(json.dumps({"mean": mean, "stderr": stderr, "paths": result.paths, "dt": result.dt,
                          "seed": result.seed}))
    else:
        burn = f", burn-in {result.burn_in:g}" if result.burn_in else ""
        print(f"E f(h_t) at t = {args.t:g}, eps = {args.eps:g} ({result.paths} paths, scheme {result.scheme}, "
              f"dt = {result.dt:g}{burn}, seed {result.seed}):")
        for q, (m, s) in enumerate(zip(mean, stderr)):
            print(f"  f{q + 1}: {m:.10g} +- {s:.3g}")
    return 0
