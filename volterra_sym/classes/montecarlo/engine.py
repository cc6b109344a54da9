"""The Monte-Carlo engine: kernels, series and driven mean of any network, with standard errors.

Statistical (``kind = "statistical"``): every answer is an average over simulated stationary paths
with a standard error of the same shape, reproducible from ``seed`` (same seed, same numbers, for
any chunking). Kernels R^(1), R^(2) come from likelihood-ratio weights of discretised impulses
(:mod:`.kernels`), series terms of any order from the Girsanov martingale of the input
(:mod:`.series`), the driven mean from simulating the forced network itself. The network linearized
about its stable fixed point, driven by the same noise, is the control variate (on by default for a
nonlinear network; for a linear one it is the network itself and would return the closed forms).
An input inside a nonlinear activation kicks along state-dependent directions (:mod:`.inside`):
kernels, contact kernels (compositions with some j_i > 1) at one or two times, and series terms of
any order. The method, its bias in dt and its variance are in docs/theory.md section 8 (8.1).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence

import numpy
import sympy

from ...errors import DerivationError, InputError
from ...model import SymbolicModel, numeric_matrix
from ...network import NumericSRNN, numeric_srnn, sqrtm_psd
from ...simulate import MAX_DT_RATE, MAX_EPS, MAX_PATH_STEPS, MAX_PATHS
from ...stepping import BLOCK, BURN_IN_MIN_RELAXATIONS, MAX_STEPS, Stepper, coupled_burn_in, start_law
from ..engine import Engine, Estimate, InputSignal, SeriesResult, check_composition, check_lags
from ..linearized import LinearizedEngine
from .chains import Chains, run_paths
from .discrete import LinearChain
from .inside import (ConstantImpulses, ConstantLogWeights, InsideField, InsideImpulses, InsideLogWeights,
                     input_powers, input_products)
from .kernels import KernelObserver, kernel_plan
from .series import DrivenObserver, HermiteWeights, SeriesObserver
from .weights import stencil_1d

__all__ = ["MonteCarloEngine", "DEFAULT_PATHS", "MIN_PATHS", "MAX_KERNEL_ORDER"]

DEFAULT_PATHS = 4096
MIN_PATHS = 16
#: default time step: at most DEFAULT_DT and DT_PER_RATE / (fastest linearized rate); Heun's bias is O(dt^2)
DEFAULT_DT = 0.05
DT_PER_RATE = 0.1
#: impulses per path: a window of this many linearized relaxation times (and >= 2 burn-ins)
DEFAULT_WINDOW_RELAXATIONS = 20.0
#: kernels at one or two times (orders 1 and 2; with an input inside the activation any composition of
#: at most two entries within the engine's order)
MAX_KERNEL_ORDER = 2
#: paths x steps x accumulated node values of one kernel call (about an hour)
MAX_NODE_WORK = 2e11
#: bytes of node accumulators per chunk of paths
MAX_ACCUMULATOR_BYTES = 2**28
SCHEMES = ("auto", "exact", "heun", "euler")
_OFFSET = {"exact": 0.0, "euler": 0.0, "heun": 0.5}


def _noise_reason(model: SymbolicModel, values: Mapping[str, float]) -> str | None:
    try:
        Sigma = numeric_matrix(model.Sigma, model, values)
    except InputError as err:
        return f"the noise covariance is not a real matrix ({err.reason})"
    eig = numpy.linalg.eigvalsh((Sigma + Sigma.T) / 2)
    if eig[-1] <= 0 or eig[0] <= 1e-12 * eig[-1]:
        return ("the noise does not reach every unit (Sigma = sigma sigma^T is singular): the likelihood-ratio "
                "weights need Sigma positive definite")
    return None


def _number(value, field: str, *, positive: bool = True, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.integer, numpy.floating)) \
            or not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise InputError(f"{value!r} must be a finite number {'>' if positive else '>='} 0", field=field)
    return float(value)


def _integer(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or not low <= value <= high:
        raise InputError(f"{value!r}: give an integer in {low}..{high}", field=field)
    return int(value)


class MonteCarloEngine(Engine):
    """Any activation and any n with noise on every unit (module docstring; options below).

    Parameters beyond :class:`Engine`'s: ``paths`` (independent stationary paths, >= 16), ``seed``,
    ``dt`` (time step), ``window`` (time per path carrying impulses, or series windows; default 20
    linearized relaxation times), ``burn_in`` (time before the window; default measured by coupling as
    in :mod:`volterra_sym.simulate`), ``scheme`` (auto: exact OU step for a linear activation, Heun
    otherwise), ``control_variate`` (default: on for a nonlinear network), ``chunk_size`` (paths
    advanced together: memory only), ``progress`` (a bar on stderr).
    """

    name = "mc"
    method = ("Monte Carlo: likelihood-ratio (Girsanov) weights of discretised impulses and of the input on "
              "simulated stationary paths, the linearized network on the same noise as control variate")
    kind = "statistical"
    has_driven_mean = True

    def __init__(self, model: SymbolicModel, params: Mapping[str, float] | None = None, *, order: int | None = None,
                 paths: int = DEFAULT_PATHS, seed: int = 0, dt: float | None = None, window: float | None = None,
                 burn_in: float | None = None, scheme: str = "auto", control_variate: bool | None = None,
                 chunk_size: int | None = None, progress: bool = False):
        super().__init__(model, params, order=order)
        reason = _noise_reason(model, self.values)
        if reason is not None:
            raise DerivationError(f"engine 'mc' does not apply at these parameter values: {reason}")
        self.paths = _integer(paths, "paths", MIN_PATHS, MAX_PATHS)
        self.seed = _integer(seed, "seed", 0, 2**63 - 1)
        self.dt_option = _number(dt, "dt")
        self.window_option = _number(window, "window")
        self.burn_in_option = _number(burn_in, "burn_in", positive=False)
        if scheme not in SCHEMES:
            raise InputError(f"unknown scheme {scheme!r} (choose from {', '.join(SCHEMES)})", field="scheme")
        if scheme == "exact" and not model.affine:
            raise InputError("the exact OU step needs a linear activation; use heun or euler", field="scheme")
        self.scheme = ("exact" if model.affine else "heun") if scheme == "auto" else scheme
        if model.affine and self.burn_in_option not in (None, 0.0):
            raise InputError("a linear network starts exactly in its stationary law; burn_in must be 0 or None",
                             field="burn_in")
        if control_variate not in (None, True, False):
            raise InputError(f"control_variate {control_variate!r} must be True, False or None", field="control_variate")
        self.control_option = control_variate
        chunk = 4 * BLOCK if chunk_size is None else _integer(chunk_size, "chunk_size", 1, MAX_PATHS)
        self.chunk_blocks = max(1, chunk // BLOCK)
        self.progress = bool(progress)

    @classmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        return _noise_reason(model, dict(model.spec.defaults))

    # --- the network, its linearization, the grid ---------------------------------------------

    @functools.cached_property
    def net(self) -> NumericSRNN:
        return numeric_srnn(self.model, self.values)

    @functools.cached_property
    def control(self) -> bool:
        """Whether the linearized network is the control variate."""
        if self.control_option is None:
            return not self.model.affine and self.net.A is not None
        if self.control_option and self.net.A is None:
            raise DerivationError("no stable fixed point: there is no linearized network to use as control variate")
        return self.control_option

    @functools.cached_property
    def linearization(self) -> LinearizedEngine:
        """The linearized network's closed forms (the control variate's expectations)."""
        return LinearizedEngine(self.model, self.values, order=self.order)

    @functools.cached_property
    def linear_net(self) -> NumericSRNN | None:
        if not self.control:
            return None
        if self.model.affine:
            return self.net
        # the network's own noise factor sigma (not a square root of Sigma): the two chains must see the
        # same increments sigma dB for the kick C_k to mean the same shift in both
        return dataclasses.replace(numeric_srnn(self.linearization.linear_model, {}), sigma=self.net.sigma)

    @functools.cached_property
    def dt(self) -> float:
        if self.dt_option is not None:
            return self.dt_option
        return min(DEFAULT_DT, DT_PER_RATE / max(self.net.fastest_rate, 1e-300))

    @property
    def window(self) -> float:
        """Time per path carrying impulses (default: 20 linearized relaxation times, and at least twice the
        burn-in so that most of the work is observed)."""
        if self.window_option is not None:
            return self.window_option
        return max(DEFAULT_WINDOW_RELAXATIONS * self.net.relaxation_time, 2 * self.burn_in)

    @functools.cached_property
    def burn_in(self) -> float:
        """Time run unforced before the observed steps (0 for an affine network: exact start)."""
        if self.model.affine:
            return 0.0
        if self.burn_in_option is not None:
            return self.burn_in_option
        net = self.net
        stepper = Stepper(net, self.scheme, self.dt, numpy.zeros((2, net.n_inputs)), numpy.zeros(1))
        centre, root = start_law(net)
        return coupled_burn_in(net, stepper, centre, root, self.dt, self.seed) * self.dt

    def linear_chain(self, dt: float) -> LinearChain:
        """The linearized network (the network itself when affine) as the scheme steps it with ``dt``:
        the control variate's exact expectations, and the stationary start of an affine network."""
        cache = self.__dict__.setdefault("_linear_chains", {})
        if dt not in cache:
            lin = self.linearization.linear_model
            net = self.net if self.model.affine else self.linear_net
            cache[dt] = LinearChain(net, self.scheme, dt, lin.readout, lin.hidden)
        return cache[dt]

    def check_step(self, dt: float, field: str = "dt") -> None:
        """Refuse at once, before any burn-in pilot, a step the scheme cannot take or the window and burn-in
        cannot afford (the pilot itself would run up to its cap first)."""
        net = self.net
        if self.scheme != "exact" and dt * net.fastest_rate > MAX_DT_RATE:
            raise InputError(f"time step {dt:g} x fastest rate {net.fastest_rate:.3g} = {dt * net.fastest_rate:.3g} "
                             f"exceeds {MAX_DT_RATE:g}: the {self.scheme} scheme is inaccurate or unstable there; use a "
                             "smaller dt", field="dt")
        floor = DEFAULT_WINDOW_RELAXATIONS if self.window_option is None else 0.0
        if not self.model.affine and self.burn_in_option is None:
            floor = max(floor, BURN_IN_MIN_RELAXATIONS)
        needed = floor * net.relaxation_time / dt
        if self.window_option is not None:
            needed = max(needed, self.window_option / dt)
        if not needed <= MAX_STEPS:
            how = "a larger dt" if field == "dt" else "a longer t (the step is at most t)"
            raise InputError(f"the window and burn-in need {needed:.3g} steps of {dt:g} (limit {MAX_STEPS}); use {how}",
                             field=field)

    def chains(self, dt: float) -> Chains:
        self.check_step(dt)
        burn = math.ceil(self.burn_in / dt - 1e-9) if self.burn_in > 0 else 0
        if burn > MAX_STEPS:
            raise InputError(f"a burn-in of {self.burn_in:g} needs {burn} steps of {dt:g} (limit {MAX_STEPS})",
                             field="dt")
        start = None
        if self.model.affine:  # the scheme's own stationary law: no burn-in, no transient
            chain = self.linear_chain(dt)
            start = (chain.mu, sqrtm_psd(chain.S))
        return Chains(self.net, self.linear_net, self.scheme, dt, burn, start)

    def _run(self, chains: Chains, observer, steps: int, *, drive=None, eps: float = 0.0, per_path_bytes: int = 0):
        work = self.paths * (chains.burn_steps + steps)
        if work > MAX_PATH_STEPS:
            raise InputError(f"{self.paths} paths x {chains.burn_steps + steps} steps = {work:.3g} path-steps exceeds "
                             f"the budget {MAX_PATH_STEPS:.0e} (about an hour); use fewer paths, a shorter window "
                             "or a larger dt", field="paths")
        blocks = self.chunk_blocks
        if per_path_bytes:
            if per_path_bytes * BLOCK > MAX_ACCUMULATOR_BYTES:
                raise InputError(f"{per_path_bytes * BLOCK / 2**20:.0f} MiB of kernel accumulators per block of "
                                 f"{BLOCK} paths: ask fewer lags, or lags on a coarser grid or a larger dt",
                                 field="lags")
            blocks = max(1, min(blocks, MAX_ACCUMULATOR_BYTES // (per_path_bytes * BLOCK)))
        return run_paths(chains, observer, paths=self.paths, seed=self.seed, steps=steps, drive=drive, eps=eps,
                         chunk_blocks=blocks, progress=self.progress)

    def _info(self, chains: Chains, pooled, shape: tuple[int, ...], **extra) -> dict:
        """How an answer was obtained; ``pooled``'s first prod(shape) entries are the answer's."""
        size = int(numpy.prod(shape))
        return {"paths": self.paths, "seed": self.seed, "dt": chains.dt, "scheme": self.scheme,
                "burn_in": chains.burn_steps * chains.dt, "control_variate": self.control,
                "variance_reduction": pooled.variance_reduction[:size].reshape(shape),
                "plain": pooled.plain[:size].reshape(shape), "plain_stderr": pooled.plain_stderr[:size].reshape(shape),
                **extra}

    # --- the interface ------------------------------------------------------------------------

    def stationary_mean(self) -> Estimate:
        """Time average of f over the windows (control variate: the linearized <f>_inf); computed once."""
        if "_stationary_mean" not in self.__dict__:
            self.__dict__["_stationary_mean"] = self._stationary_mean()
        return self.__dict__["_stationary_mean"]

    def _stationary_mean(self) -> Estimate:
        chains = self.chains(self.dt)
        window = max(1, round(self.window / self.dt))
        plan = kernel_plan([], self.dt, 0.0)
        p = self.model.n_outputs
        impulses = ConstantImpulses((self.net.C.T,), chains.weights())
        observer = KernelObserver(plan, window, (impulses, impulses), p, control=self.control)
        stats = self._run(chains, observer, window)
        pooled = stats.pooled(self.linear_chain(self.dt).moments(0)[0] if self.control else None)
        return Estimate(pooled.value, self.name, stderr=pooled.stderr,
                        info=self._info(chains, pooled, (p,), window=window * self.dt))

    @property
    def inside(self) -> bool:
        """Whether the input enters a nonlinear activation (state-dependent kicks, theory.md 8.1)."""
        return self.model.input_placement == "activation" and not self.model.affine

    def field(self, dt: float, highest: int) -> InsideField:
        """The input-inside-the-activation coefficients c_1..c_highest and the scheme's kick propagation."""
        spec = self.model.spec
        subs = {spec.parameters[k]: sympy.Float(v, 30) for k, v in self.values.items()}
        return InsideField(self.net, spec.activation_expr.subs(subs), max(highest, 2), self.scheme, dt)

    def frozen(self, field: InsideField, j: int) -> numpy.ndarray:
        """c_j(z*) o C_k1 o .. o C_kj at the fixed point, (m^j, n): the control variate's kick directions."""
        return input_products(self.net.C, j) * field.at(self.net.fixed_point, j)[None, :]

    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        arrays = check_lags(lags)
        n = len(arrays)
        if n == 0:
            return self.stationary_mean()
        composition = check_composition(arrays, composition, self.order)
        if any(j > 1 for j in composition) and not self.inside:
            shape = numpy.broadcast_shapes(*(a.shape for a in arrays))
            p, m = self.model.n_outputs, self.model.n_inputs
            return Estimate(numpy.zeros(shape + (p,) + (m,) * sum(composition)), self.name,
                            stderr=numpy.zeros(shape + (p,) + (m,) * sum(composition)))
        self.check_order(sum(composition))
        if n > MAX_KERNEL_ORDER:
            raise InputError(f"the mc engine estimates kernels of order 1 and 2 (one or two times), not {n}; the "
                             "series terms of an input have every order", field="order")
        degree = sum(composition)
        shape = numpy.broadcast_shapes(*(a.shape for a in arrays))
        p, m = self.model.n_outputs, self.model.n_inputs
        if 0 in shape:
            empty = numpy.zeros(shape + (p,) + (m,) * degree)
            return Estimate(empty, self.name, stderr=empty.copy())
        self.check_step(self.dt)
        plan = kernel_plan(arrays, self.dt, 1.0 if self.inside else _OFFSET[self.scheme])
        if plan.depth > MAX_STEPS:
            raise InputError(f"the longest lag needs {plan.depth} steps of {self.dt:g} (limit {MAX_STEPS})",
                             field="lags")
        chains = self.chains(self.dt)
        window = max(1, round(self.window / self.dt))
        node_values = len(plan.nodes) * p * m**degree
        steps = window + plan.depth
        if self.paths * steps * node_values > MAX_NODE_WORK:
            raise InputError(f"{self.paths} paths x {steps} steps x {node_values} kernel nodes exceeds the budget "
                             f"{MAX_NODE_WORK:.0e}: ask fewer lags or fewer paths", field="lags")
        weights = chains.weights()
        shifts = None
        if self.inside:
            field = self.field(self.dt, max(composition) + 1)
            network = InsideImpulses(field, composition, weights)
            control = None
            if self.control:
                N = self.linear_chain(self.dt).N
                shifts = tuple(self.frozen(field, j) @ N.T for j in composition)
                control = ConstantImpulses(shifts, weights)
            impulses = (network, control)
        else:
            impulses = (ConstantImpulses((self.net.C.T,) * n, weights),) * 2
        copies = 2 if self.control else 1
        ring = sum(m**j for j in composition) + (m**degree if n == 2 else 0)
        observer = KernelObserver(plan, window, impulses, p, control=self.control)
        stats = self._run(chains, observer, steps, per_path_bytes=8 * copies * (node_values + plan.depth * ring + p))
        exact = None
        if self.control:
            chain = self.linear_chain(self.dt)
            exact = numpy.concatenate([chain.kernel_points(plan, shifts), chain.moments(0)[0]])
        pooled = stats.pooled(exact)
        full = shape + (p,) + (m,) * degree
        size = int(numpy.prod(full))
        value, stderr = pooled.value[:size].reshape(full), pooled.stderr[:size].reshape(full)
        return Estimate(value, self.name, stderr=stderr,
                        info=self._info(chains, pooled, full, window=window * self.dt, nodes=len(plan.nodes)))

    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        """Terms 0..order at time t (``tol`` is ignored: the accuracy is the standard error). Term 0 is
        :meth:`stationary_mean`; term n >= 1 is eps^n E[f(h_t) He_n(M_t; Q_t)] / n! (theory.md 8), or
        eps^n E[f(h_t) e_n] with e_n the Taylor coefficients of the exponential of the Girsanov
        log-weight for an input inside the activation (theory.md 8.1)."""
        order = self.check_order(order)
        t = _number(t, "t", positive=False, allow_none=False)
        eps = float(eps)
        if not math.isfinite(eps) or abs(eps) > MAX_EPS:
            raise InputError(f"eps {eps!r} must be finite, |eps| <= {MAX_EPS:g}", field="eps")
        p = self.model.n_outputs
        steps = max(1, math.ceil(t / self.dt - 1e-9))
        if steps > MAX_STEPS:
            raise InputError(f"t / dt = {steps} steps exceeds the limit {MAX_STEPS}; use a larger dt", field="dt")
        dt = t / steps
        if t > 0 and order > 0:
            self.check_step(dt, "dt" if self.dt_option is not None else "t")
        mean = self.stationary_mean()
        terms = numpy.zeros((order + 1, p))
        stderr = numpy.zeros((order + 1, p))
        terms[0], stderr[0] = mean.value, mean.stderr
        if t == 0 or order == 0:
            return SeriesResult(t, eps, terms, 0, float(stderr.max()), self.name, stderr, info=dict(mean.info))
        chains = self.chains(dt)
        windows = max(1, round(self.window / t))
        weights = chains.weights()
        exact, extra = None, {}
        if self.inside:
            Cu = self._drive(u, numpy.arange(steps + 1) * dt) @ self.net.C.T
            powers = input_powers(Cu, dt, order)
            field = self.field(dt, order)
            network = InsideLogWeights(field, powers, weights, order)
            control = None
            if self.control:  # the linearized network kicked along the directions frozen at h*
                chain = self.linear_chain(dt)
                frozen = numpy.zeros(powers.shape)
                for j in range(1, order + 1):
                    frozen[j] = (powers[j] * field.at(self.net.fixed_point, j)[None, :]) @ chain.N.T
                control = ConstantLogWeights(frozen, weights, order)
                exact = chain.polynomial_series_terms(frozen, eps, order).reshape(-1)
            makers = (network, control)
        else:
            shifts = self._input_shifts(chains, u, steps)
            bracket = float(weights.bracket(shifts).sum())
            makers = (HermiteWeights(weights.shift_weights(shifts), bracket, order),) * 2
            exact = self.linear_chain(dt).series_terms(shifts, eps, order).reshape(-1) if self.control else None
            extra = {"girsanov_bracket": bracket}
        observer = SeriesObserver(makers, steps, windows, order, eps, p, control=self.control)
        stats = self._run(chains, observer, windows * steps)
        pooled = stats.pooled(exact)
        terms[1:] = pooled.value.reshape(order + 1, p)[1:]
        stderr[1:] = pooled.stderr.reshape(order + 1, p)[1:]
        info = self._info(chains, pooled, (order + 1, p), windows=windows, **extra)
        return SeriesResult(t, eps, terms, steps, float(stderr.max()), self.name, stderr, info=info)

    def _input_shifts(self, chains: Chains, u: InputSignal, steps: int) -> numpy.ndarray:
        """The shift d_i of each step's noise increment that the input makes (theory.md 8)."""
        dt, C = chains.dt, self.net.C
        grid = numpy.arange(steps + 1) * dt
        if self.scheme == "exact":
            drive = self._drive(u, grid)
            return Stepper(self.net, "exact", dt, drive, numpy.ones(1)).forcing
        at = grid[:-1] + dt / 2 if self.scheme == "heun" else grid[:-1]
        return self._drive(u, at) @ C.T * dt

    def _drive(self, u: InputSignal, times: numpy.ndarray) -> numpy.ndarray:
        values = numpy.asarray(u(times), dtype=numpy.float64)
        m = self.model.n_inputs
        if values.shape != (len(times), m):
            raise InputError(f"the input gives shape {values.shape[1:]} per time; the model has {m} input channel(s)",
                             field="inputs")
        if not numpy.all(numpy.isfinite(values)):
            raise InputError("the input is not finite on the time grid", field="inputs")
        return values

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: float, *,
                    tol: float = 1e-10) -> Estimate:
        """E f(h_t) of the forced network simulated from its stationary start (``tol`` is ignored)."""
        times = numpy.asarray(times, dtype=numpy.float64).ravel()
        if times.size == 0 or not numpy.all(numpy.isfinite(times)) or numpy.any(times < 0) \
                or numpy.any(numpy.diff(times) < 0):
            raise InputError("times must be finite, increasing and >= 0", field="times")
        eps = float(eps)
        if not math.isfinite(eps) or abs(eps) > MAX_EPS:
            raise InputError(f"eps {eps!r} must be finite, |eps| <= {MAX_EPS:g}", field="eps")
        horizon = float(times[-1])
        steps = max(3, math.ceil(horizon / self.dt - 1e-9))
        if steps > MAX_STEPS:
            raise InputError(f"t / dt = {steps} steps exceeds the limit {MAX_STEPS}; use a larger dt", field="dt")
        dt = horizon / steps if horizon > 0 else self.dt
        chains = self.chains(dt)
        drive = self._drive(u, numpy.arange(steps + 1) * dt)
        nodes, weights = stencil_1d(times / dt, last=steps)
        p = self.model.n_outputs
        observer = DrivenObserver(nodes, weights, p, control=self.control)
        stats = self._run(chains, observer, int(nodes.max()), drive=drive, eps=eps)
        exact = None
        if self.control:
            grid = numpy.unique(nodes)
            forcing = chains.steppers(drive, eps)[0].forcing if self.scheme == "exact" else None
            means = self.linear_chain(dt).driven_means(drive, forcing, eps, grid)
            exact = numpy.einsum("ts,tsp->tp", weights, means[numpy.searchsorted(grid, nodes)]).reshape(-1)
        pooled = stats.pooled(exact)
        shape = (len(times), p)
        return Estimate(pooled.value.reshape(shape), self.name, stderr=pooled.stderr.reshape(shape),
                        info=self._info(chains, pooled, shape))
