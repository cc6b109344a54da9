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
    at most ``eps * (dt^2 / 8) * sup|u''| * int_0^t |e^{As} C| ds``.
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
Where the invariant law is known, the caller passes an exact sampler of it, ``start=`` (an engine's
``Engine.stationary_sampler()``, e.g. the gradient class's density sampled on a fine grid): the
paths start there and there is no burn-in. Otherwise rho_inf is not known, so paths start from the
Gaussian law of the network linearized about its stable fixed point h*
(:func:`volterra_sym.model.linearize`), N(h*, S_lin),
and run unforced (eps = 0) with the chosen scheme and dt for a burn-in time before the input starts
at t = 0. The linearized relaxation time ``tau_lin = 1 / min_i |Re lambda_i(A_lin)|`` alone is not a
safe burn-in: where the nonlinearity weakens the restoring drift (a flat stretch of F), the network
forgets its start several times more slowly (the scalar tanh network of theory.md 5 takes ~3
tau_lin per e-fold). The burn-in is therefore measured, by synchronous coupling: a pilot of
:data:`BLOCK` pairs (fewer for fewer paths: min(BLOCK, max(paths, 256)), so its cost is
proportional to the paths asked for), one copy started from N(h*, S_lin) and the other from its mirrored, twice
wider image h* - 2 (h - h*), is driven by the same noise; the burn-in is the first multiple of
tau_lin / 2 at which the mean distance of the pairs, in units of the stationary standard
deviations sqrt(S_lin,ii), is below :data:`BURN_IN_TOL` (1e-4), and at least
``BURN_IN_MIN_RELAXATIONS * tau_lin``. Two starts that far apart having coalesced means the initial
law is forgotten to that level (the pilot has its own random stream and does not depend on the
chunking or the workers). A network that does not coalesce within ``BURN_IN_MAX_RELAXATIONS *
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
per-block statistics are O(paths / BLOCK * recorded times * outputs). The chunks are pure tasks
(:mod:`volterra_sym.pathchunks`): given a Dask ``client`` they run on its workers
(:func:`volterra_sym.parallel.map_chunks`) and the numbers are bit-identical to the serial run.
Several eps values are run
on the same noise (common random numbers), which makes the pathwise differences
f(h^eps_t) - f(h^0_t) (:func:`simulate_responses`) far less noisy than two independent runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from .errors import InputError
from .model import SymbolicModel
from .network import NumericSRNN, numeric_srnn
from .parallel import map_chunks
from .pathchunks import PathPlan, StartSampler, simulate_chunk
from .stepping import BLOCK, BURN_IN_TOL, MAX_STEPS, Stepper, coupled_burn_in, start_law

__all__ = [
    "BLOCK",
    "BURN_IN_TOL",
    "SCHEMES",
    "SimulationResult",
    "ResponseEstimate",
    "simulate",
    "simulate_responses",
]

SCHEMES = ("auto", "exact", "heun", "euler")
#: default time step: at most this, and at most DT_PER_RATE / (fastest linearized rate)
DEFAULT_DT = 0.01
DT_PER_RATE = 0.1
MAX_PATHS = 10**9
#: paths x (steps + burn-in steps) x amplitudes of one call: ~1-2 minutes at the measured 0.8-1.5e7
#: path-steps per second (3-unit network); a longer run is refused before it starts
MAX_PATH_STEPS = 10**9
#: largest |eps| (the forcing eps C u must stay far from overflow)
MAX_EPS = 1e100
#: explicit schemes: dt x fastest linearized rate above this is refused (5x the default step)
MAX_DT_RATE = 0.5
_DEFAULT_CHUNK = 16 * BLOCK
_MAX_RECORDED = 1000


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


def _check_args(t: float, eps: numpy.ndarray, paths: int, seed: int, dt: float | None) -> None:
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
        raise InputError(f"time {t!r} must be finite and >= 0", field="t")
    if not numpy.all(numpy.isfinite(eps)) or numpy.any(numpy.abs(eps) > MAX_EPS):
        raise InputError(f"eps {eps.tolist()} must be finite, |eps| <= {MAX_EPS:g}", field="eps")
    if isinstance(paths, bool) or not isinstance(paths, (int, numpy.integer)) or not 2 <= paths <= MAX_PATHS:
        raise InputError(f"{paths!r} paths: give an integer in 2..{MAX_PATHS}", field="paths")
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise InputError(f"seed {seed!r} must be a non-negative integer", field="seed")
    if dt is not None and (not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0):
        raise InputError(f"time step {dt!r} must be finite and > 0", field="dt")
    if dt is not None and t > 0 and dt > t:
        raise InputError(f"time step {dt:g} is longer than the horizon t = {t:g}", field="dt")


def _check_sampler(start: StartSampler, n: int, seed: int) -> None:
    """A start sampler gives finite states of shape (size, n) (probed on a stream of its own)."""
    probe = numpy.asarray(start(numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(2**32 - 2,))), 2))
    if probe.shape != (2, n) or not numpy.all(numpy.isfinite(probe)):
        raise InputError(f"the start sampler must return finite states of shape (size, {n}), got shape {probe.shape}",
                         field="start")


def _grid(t: float, dt: float | None, net: NumericSRNN) -> tuple[int, float]:
    target = dt if dt is not None else min(DEFAULT_DT, DT_PER_RATE / max(net.fastest_rate, 1e-300))
    ratio = t / target if t > 0 else 0.0
    if not ratio <= MAX_STEPS:  # also inf and nan
        raise InputError(f"t / dt = {ratio:.3g} steps exceeds the limit {MAX_STEPS}; use a larger dt or a shorter t",
                         field="dt" if dt is not None else "t")
    steps = max(1, math.ceil(ratio - 1e-9)) if t > 0 else 0
    if steps > MAX_STEPS:
        raise InputError(f"t / dt = {steps} steps exceeds the limit {MAX_STEPS}; use a larger dt", field="dt")
    return steps, (t / steps if steps else (target if dt is None else dt))


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
    start: StartSampler | None = None,
    client: Any = None,
) -> dict:
    _check_args(t, eps, paths, seed, dt)
    if scheme not in SCHEMES:
        raise InputError(f"unknown scheme {scheme!r} (choose from {', '.join(SCHEMES)})", field="scheme")
    if scheme == "auto":
        scheme = "exact" if net.affine else "heun"
    if scheme == "exact" and not net.affine:
        raise InputError("the exact OU transition needs a linear activation; use heun or euler", field="scheme")
    steps, dt = _grid(float(t), dt, net)
    if scheme != "exact" and dt * net.fastest_rate > MAX_DT_RATE:
        raise InputError(f"time step {dt:g} x fastest rate {net.fastest_rate:.3g} = {dt * net.fastest_rate:.3g} exceeds "
                         f"{MAX_DT_RATE:g}: the {scheme} scheme is inaccurate or unstable there; use a smaller dt",
                         field="dt")
    work = int(paths) * max(steps, 1) * len(eps)
    if work > MAX_PATH_STEPS:
        raise InputError(
            f"{paths} paths x {steps} steps x {len(eps)} amplitude(s) = {work:.3g} path-steps exceeds the budget "
            f"{MAX_PATH_STEPS:.0e} (a minute or two at 1e7 path-steps/s); use fewer paths or a larger dt",
            field="paths",
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
                             field="inputs")
        if not numpy.all(numpy.isfinite(drive)):
            raise InputError("the input is not finite on the simulated time grid", field="inputs")

    stepper = Stepper(net, scheme, dt, drive, eps)
    centre, start_root = start_law(net)
    if start is not None and not callable(start):
        raise InputError("start must be a callable (rng, size) -> states of shape (size, n)", field="start")
    if net.affine:
        if burn_in not in (None, 0, 0.0):
            raise InputError("a linear network starts exactly in its stationary law; burn_in must be 0 or None",
                             field="burn_in")
        burn_steps = 0
    elif burn_in is None:
        burn_steps = 0 if start is not None else coupled_burn_in(net, stepper, centre, start_root, dt, seed, paths)
    else:
        if isinstance(burn_in, bool) or not isinstance(burn_in, (int, float)) or not math.isfinite(burn_in) \
                or burn_in < 0:
            raise InputError(f"burn-in {burn_in!r} must be finite and >= 0", field="burn_in")
        burn_steps = math.ceil(burn_in / dt - 1e-9) if burn_in > 0 else 0
        if burn_steps > MAX_STEPS:
            raise InputError(f"burn-in of {burn_in:g} needs {burn_steps} steps of {dt:g} (limit {MAX_STEPS})",
                             field="dt")
    if start is not None:
        _check_sampler(start, net.n_hidden, seed)

    work = int(paths) * (max(steps, 1) + burn_steps) * len(eps)
    if work > MAX_PATH_STEPS:
        raise InputError(
            f"{paths} paths x ({steps} steps + {burn_steps} burn-in steps) x {len(eps)} amplitude(s) = {work:.3g} "
            f"path-steps exceeds the budget {MAX_PATH_STEPS:.0e}; use fewer paths or a larger dt", field="paths")
    if chunk_size is None:
        chunk_size = _DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise InputError(f"chunk_size {chunk_size!r} must be a positive integer", field="chunk_size")
    blocks_per_chunk = max(1, chunk_size // BLOCK)
    full = paths // BLOCK
    chunks = [tuple(range(first, min(full, first + blocks_per_chunk))) for first in range(0, full, blocks_per_chunk)]
    if paths % BLOCK:
        chunks.append((full,))  # the partial block runs alone (rectangular arrays)
    sizes = [BLOCK] * full + ([paths % BLOCK] if paths % BLOCK else [])

    plan = PathPlan(net=net, stepper=stepper, centre=centre, start=start_root, sampler=start, burn_steps=burn_steps,
                    steps=steps, record_slot=record_slot, n_recorded=len(recorded), paths=paths, seed=seed, dt=dt,
                    differences=differences)
    results = map_chunks(simulate_chunk, plan, chunks, client=client, progress=progress, desc="simulate",
                         units=lambda chunk: steps + burn_steps, unit="step")
    block_mean = numpy.concatenate([r.mean for r in results])
    block_m2 = numpy.concatenate([r.m2 for r in results])
    counts = numpy.array(sizes, dtype=numpy.float64)
    mean, stderr = _combine(block_mean, block_m2, counts)
    out = {"times": times, "mean": mean, "stderr": stderr, "dt": dt, "scheme": scheme, "burn_in": burn_steps * dt}
    if differences:
        out["response"], out["response_stderr"] = _combine(numpy.concatenate([r.diff_mean for r in results]),
                                                            numpy.concatenate([r.diff_m2 for r in results]), counts)
    return out


def _combine(block_mean: numpy.ndarray, block_m2: numpy.ndarray, counts: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """Pool per-block (mean, sum of squared deviations) in block order; returns (mean, stderr)."""
    w = counts[:, None, None, None]
    N = counts.sum()
    mean = (w * block_mean).sum(axis=0) / N
    m2 = block_m2.sum(axis=0) + (w * (block_mean - mean) ** 2).sum(axis=0)
    return mean, numpy.sqrt(m2 / (N - 1) / N)


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
    start: StartSampler | None = None,
    client: Any = None,
) -> ResponseEstimate:
    """Simulate several input amplitudes on common random numbers (see :func:`simulate`).

    ``eps = 0`` is prepended when absent, so ``response`` (pathwise E f(h^eps) - E f(h^0)) is always
    defined; the returned ``eps`` lists the values actually run, 0 first.
    """
    eps_arr = numpy.asarray(list(eps), dtype=numpy.float64).ravel()
    if eps_arr.size == 0:
        raise InputError("give at least one eps", field="eps")
    if eps_arr[0] != 0:
        eps_arr = numpy.concatenate([[0.0], eps_arr])
    net = model if isinstance(model, NumericSRNN) else numeric_srnn(model, params)
    out = _run(net, u, t=t, eps=eps_arr, paths=int(paths) if isinstance(paths, numpy.integer) else paths,
               seed=seed, dt=dt, scheme=scheme, record_every=record_every, burn_in=burn_in, chunk_size=chunk_size,
               differences=True, progress=progress, start=start, client=client)
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
    start: StartSampler | None = None,
    client: Any = None,
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
    start : callable, optional
        ``start(rng, size) -> (size, n)``: exact draws from the network's invariant law (e.g. an
        engine's ``stationary_sampler()``); the paths start there and need no burn-in.
    client : dask.distributed.Client, optional
        Run the chunks as Dask tasks (:func:`volterra_sym.parallel.map_chunks`); the numbers are
        bit-identical to the serial run.

    Returns
    -------
    SimulationResult
    """
    eps_value = float(eps) if isinstance(eps, (int, float, numpy.floating)) and not isinstance(eps, bool) else None
    if eps_value is None:
        raise InputError(f"eps {eps!r} must be a number", field="eps")
    net = model if isinstance(model, NumericSRNN) else numeric_srnn(model, params)
    out = _run(net, u, t=t, eps=numpy.array([eps_value]), paths=int(paths) if isinstance(paths, numpy.integer)
               else paths, seed=seed, dt=dt, scheme=scheme, record_every=record_every, burn_in=burn_in,
               chunk_size=chunk_size, differences=False, progress=progress, start=start, client=client)
    return SimulationResult(times=out["times"], mean=out["mean"][0], stderr=out["stderr"][0], paths=paths,
                            dt=out["dt"], seed=seed, eps=eps_value, scheme=out["scheme"], burn_in=out["burn_in"])

