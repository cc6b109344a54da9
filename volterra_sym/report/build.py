"""The response report: kernels, series, simulation and the exact driven mean side by side.

``build_report`` computes every number (nothing is written); :mod:`.tables` and :mod:`.figures`
render them and :mod:`.write` writes the files. Routes:

* the exact engine that answers for the network, when one applies
  (:mod:`volterra_sym.classes.registry`): its kernels, series terms and all-order driven mean;
* the network linearized about its stable fixed point (the ``linearized`` engine), shown beside the
  exact one for a nonlinear network, or alone when no exact engine applies;
* Monte Carlo of the network itself (:mod:`volterra_sym.simulate`, any activation), every eps on
  common random numbers.

The truncation error at t = T is measured against the exact driven mean where the engine has one
(slopes N + 1), otherwise against the simulated response E f(h^eps_T) - E f(h^0_T) (pathwise
differences), compared with the linearized series without its order-0 term: the error then measures
how wrong the linearized kernels are (slope ~1 where it is resolved above the Monte-Carlo noise).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from ..classes.engine import Engine
from ..classes.registry import NoEngineError, engine_for
from ..errors import DerivationError, InputError
from ..inputs import input_signal
from ..model import build_model, resolve_parameters
from ..network import numeric_srnn
from ..progress import progress_bar
from ..simulate import simulate_responses
from ..stepping import MAX_STEPS
from ..spec import DerivationSpec, check_order, load_spec

__all__ = ["KernelTable", "MeanOutputTable", "TruncationTable", "ResponseReport", "build_report", "fit_slope",
           "ERROR_FLOOR"]

SERIES_TOL = 1e-8  # relative, per term: curves for figures
FINAL_SERIES_TOL = 1e-12  # the truncation-error study at t = T
EXACT_FINAL_TOL = 1e-11  # the exact driven mean at t = T
COARSEN_TOL = 1e-10  # a cheaper exact engine for the forward integrations (relative kernel change)
ERROR_FLOOR = 1e-10  # relative; errors below it are numerical noise and are not fitted
MAX_TIMES = 401
MAX_EPS = 12
#: lags of the Monte-Carlo R^(1) (``engine="mc"``): few, each costs accumulations on every path
MC_KERNEL_LAGS = 11
#: error-study amplitudes, in units of eps0 = min_i sqrt(S_ii) / max_t |delta_t|
ERROR_EPS_GRID = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32)


@dataclass(frozen=True, slots=True)
class KernelTable:
    """R^(1) on ``lags`` (shape (L, p, m)) and R^(2) on ``lags2`` x ``lags2`` ((G, G, p, m, m) or None).

    With an exact engine and a linearization beside it, ``r1``/``r2`` are the exact kernels and
    ``r1_linearized`` those of the linearized network (otherwise ``None``). With the Monte-Carlo engine
    (``engine="mc"``), ``mc_r1``/``mc_r1_stderr`` (M, p, m) are its estimates of the network's own R^(1)
    on ``mc_lags`` and ``mc_info`` says how they were obtained.
    """

    lags: numpy.ndarray
    r1: numpy.ndarray
    lags2: numpy.ndarray
    r2: numpy.ndarray | None
    r1_linearized: numpy.ndarray | None = None
    mc_lags: numpy.ndarray | None = None
    mc_r1: numpy.ndarray | None = None
    mc_r1_stderr: numpy.ndarray | None = None
    mc_info: Mapping | None = None

    def mc_z_scores(self) -> numpy.ndarray | None:
        """(Monte Carlo - shown R^(1)) / standard error on ``mc_lags`` when the shown kernels are exact
        (``r1_linearized`` beside them, or an exact engine alone); None otherwise."""
        if self.mc_r1 is None:
            return None
        shown = numpy.stack([numpy.interp(self.mc_lags, self.lags, self.r1[:, q, k])
                             for q in range(self.r1.shape[1]) for k in range(self.r1.shape[2])], axis=-1)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (self.mc_r1.reshape(len(self.mc_lags), -1) - shown) / self.mc_r1_stderr.reshape(len(self.mc_lags), -1)


@dataclass(frozen=True, slots=True)
class MeanOutputTable:
    """E y_t on ``times`` for each of ``eps``.

    ``mc_mean``/``mc_stderr``/``exact``: (E, T, p); ``terms``: (T, K + 1, p), the series terms at
    eps = 1 (term n scales as eps^n) of the linearized network when one is shown, else of the exact
    engine; ``exact`` is the exact engine's all-order driven mean or ``None``; ``exact_terms``
    (T, K + 1, p) the exact series terms when ``terms`` are the linearized ones.
    """

    times: numpy.ndarray
    eps: numpy.ndarray
    mc_mean: numpy.ndarray
    mc_stderr: numpy.ndarray
    terms: numpy.ndarray
    exact: numpy.ndarray | None
    mc_stationary: numpy.ndarray  # (p,): simulated E y_0 at eps = 0, the stationary mean
    mc_stationary_stderr: numpy.ndarray
    exact_terms: numpy.ndarray | None = None
    exact_refused: tuple[str, ...] = ()  # amplitudes whose exact driven mean the engine refused (rows of NaN)

    @staticmethod
    def _partial(terms: numpy.ndarray, eps: numpy.ndarray) -> numpy.ndarray:
        powers = eps[:, None] ** numpy.arange(terms.shape[1])[None, :]  # (E, K+1)
        scaled = powers[:, None, :, None] * terms[None]  # (E, T, K+1, p)
        return numpy.moveaxis(numpy.cumsum(scaled, axis=2), 2, 1)

    @property
    def partial_sums(self) -> numpy.ndarray:
        """Truncated series, shape (E, K + 1, T, p): index N sums the terms of order 0..N."""
        return self._partial(self.terms, self.eps)

    @property
    def exact_partial_sums(self) -> numpy.ndarray | None:
        """Exact series truncated at N, shape (E, K + 1, T, p), when ``exact_terms`` is set."""
        return None if self.exact_terms is None else self._partial(self.exact_terms, self.eps)

    @property
    def z_scores(self) -> numpy.ndarray | None:
        """(Monte Carlo - exact) / standard error, (E, T, p); None without an exact driven mean."""
        if self.exact is None:
            return None
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (self.mc_mean - self.exact) / self.mc_stderr


@dataclass(frozen=True, slots=True)
class TruncationTable:
    """``|truncated series - reference|`` at time ``t`` against ``eps`` for each order in ``orders``.

    ``kind`` is ``"exact"`` (reference: the exact engine's driven mean, against its own series) or
    ``"monte-carlo"`` (reference: simulated response E y^eps - E y^0, linearized series without its
    order-0 term). ``series``/``error``: (len(orders), k, p); ``slopes``: (len(orders), p), NaN where
    fewer than two points are resolved (``resolved``); ``floor`` is the level below which errors are noise.
    """

    kind: str
    t: float
    eps: numpy.ndarray
    orders: tuple[int, ...]
    reference: numpy.ndarray
    reference_stderr: numpy.ndarray | None
    series: numpy.ndarray
    error: numpy.ndarray
    floor: numpy.ndarray
    resolved: numpy.ndarray
    slopes: numpy.ndarray


@dataclass(frozen=True, slots=True)
class ResponseReport:
    """All numbers of one report (see the module docstring); rendering adds nothing new.

    ``engine`` names the exact engine (``None`` when none applies) and ``engine_method`` says how it
    computes; ``linearized`` is True when the linearized network's kernels and series are shown (as
    the approximation beside the exact ones, or alone).
    """

    spec: DerivationSpec
    inputs: tuple[str, ...]
    values: Mapping[str, float]
    engine: str | None
    engine_method: str
    linearized: bool
    fixed_point: numpy.ndarray | None
    linear_eigenvalues: numpy.ndarray
    t: float
    dt: float
    paths: int
    seed: int
    scheme: str
    burn_in: float
    order: int
    kernels: KernelTable
    mean_output: MeanOutputTable
    truncation: TruncationTable

    @property
    def exact_only(self) -> bool:
        """Exact kernels, no linearization shown (the exact engine's network is its own linearization)."""
        return self.engine is not None and not self.linearized

    @property
    def exact_and_linearized(self) -> bool:
        """Exact kernels with the linearized network's beside them."""
        return self.engine is not None and self.linearized


def fit_slope(eps: numpy.ndarray, error: numpy.ndarray, use: numpy.ndarray) -> float:
    """Least-squares slope of log(error) against log(eps) over the points ``use``; NaN if < 2.

    >>> import numpy
    >>> e = numpy.array([0.1, 0.2, 0.4])
    >>> round(fit_slope(e, 3 * e**2, numpy.ones(3, bool)), 12)
    2.0
    """
    use = numpy.asarray(use, dtype=bool) & (error > 0)
    if use.sum() < 2:
        return float("nan")
    return float(numpy.polyfit(numpy.log(eps[use]), numpy.log(error[use]), 1)[0])


def _check_eps_list(eps_list: Sequence[float], field: str) -> numpy.ndarray:
    eps = numpy.asarray(list(eps_list), dtype=numpy.float64).ravel()
    if eps.size == 0 or eps.size > MAX_EPS:
        raise InputError(f"give 1..{MAX_EPS} eps values", field=field)
    if not numpy.all(numpy.isfinite(eps)) or numpy.any(eps <= 0):
        raise InputError(f"eps values {eps.tolist()} must be finite and > 0", field=field)
    return eps


def _series_on_grid(engine: Engine, u, times: numpy.ndarray, order: int, progress: bool) -> numpy.ndarray:
    with progress_bar(1, enabled=progress, desc=f"series ({engine.name})") as bar, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # non-convergence shows in the tables
        terms = engine.series_on_grid(u, times, order=order, tol=SERIES_TOL)
        bar.update()
    return terms


def build_report(
    spec: DerivationSpec | str | Path,
    inputs: Sequence[str],
    *,
    eps_list: Sequence[float] = (0.2, 1.0),
    t: float = 5.0,
    paths: int = 100_000,
    seed: int = 0,
    dt: float | None = None,
    params: Mapping[str, float] | None = None,
    order: int | None = None,
    n_times: int = 41,
    error_eps: Sequence[float] | None = None,
    engine: str | None = None,
    progress: bool = False,
    client: Any = None,
) -> ResponseReport:
    """Compute every number of the report (nothing is written).

    Parameters
    ----------
    spec : DerivationSpec or path
        Any activation: the exact engine that applies answers, a nonlinear network is also linearized.
    inputs : sequence of str
        One expression in ``t`` per input channel.
    eps_list : sequence of float
        Amplitudes of the mean-output figure.
    t : float
        Horizon T; the truncation error is measured at t = T.
    paths, seed, dt :
        Monte-Carlo settings (:func:`volterra_sym.simulate.simulate`).
    params : mapping, optional
        Parameter values overriding the spec defaults.
    order : int, optional
        Highest series order K (default max(spec order, 3)); the error study uses N = 1..min(K, 3).
    n_times : int
        Points of the time grid on [0, T].
    error_eps : sequence of float, optional
        Amplitudes of the truncation-error study; default a geometric grid scaled by eps0
        (:data:`ERROR_EPS_GRID`; x2 with a linearization beside an exact engine, x10 without an exact engine).
    engine : {None, "mc"}
        ``"mc"`` adds the Monte-Carlo engine's estimates of the network's own R^(1) with standard errors
        (``paths``, ``seed``; ``dt`` when given) to the kernel table and figure.
    progress : bool
        tqdm bars on stderr.
    client : dask.distributed.Client, optional
        Run the Monte Carlo on this Dask cluster (same numbers as the serial run).
    """
    if not isinstance(spec, DerivationSpec):
        spec = load_spec(spec)
    eps = _check_eps_list(eps_list, "eps_list")
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        raise InputError(f"horizon {t!r} must be finite and > 0", field="t")
    if engine not in (None, "mc"):
        raise InputError(f"the report picks the exact engine itself; engine may be 'mc' (Monte-Carlo kernels "
                         f"with standard errors), not {engine!r}", field="engine")
    if isinstance(n_times, bool) or not isinstance(n_times, int) or not 2 <= n_times <= MAX_TIMES:
        raise InputError(f"{n_times!r} time points: give an integer in 2..{MAX_TIMES}", field="n_times")
    model = build_model(spec)
    values = resolve_parameters(spec, params or {})
    u = input_signal(inputs, n_inputs=spec.n_inputs, parameters=spec.parameters, values=values)
    order = max(spec.order, 3) if order is None else order
    order = check_order(order, n_hidden=spec.n_hidden, key="order")
    if order < 1:
        raise InputError("the report needs order >= 1", field="order")
    err_eps = None if error_eps is None else numpy.sort(_check_eps_list(error_eps, "error_eps"))
    net = numeric_srnn(model, values)
    if net.A is None:
        raise DerivationError("the network has no stable fixed point: no linearized series to compare with")
    try:
        exact: Engine | None = engine_for(model, values, order=order)
    except NoEngineError:
        exact = None
    linear = engine_for(model, values, engine="linearized", order=order)
    shown = linear if linear.kind == "approximate" else None  # the linearization, when it is not the network
    primary = shown if shown is not None else exact

    # time grid: steps a multiple of n_times - 1 so that the simulation records exactly these times
    target = dt if dt is not None else min(0.01, 0.1 / net.fastest_rate)
    if not isinstance(target, (int, float)) or not math.isfinite(target) or target <= 0:
        raise InputError(f"time step {dt!r} must be finite and > 0", field="dt")
    intervals = n_times - 1
    ratio = t / target / intervals
    if not ratio * intervals <= MAX_STEPS:  # also inf and nan
        raise InputError(f"t / dt = {t / target:.3g} steps exceeds the limit {MAX_STEPS}; use a larger dt or a "
                         "shorter t", field="dt" if dt is not None else "t")
    steps = intervals * max(1, math.ceil(ratio - 1e-9))
    dt_used = t / steps
    times = numpy.arange(steps + 1)[:: steps // intervals] * dt_used
    times[-1] = t

    if err_eps is None:  # scaled by the linearized response (sets the scale only)
        delta = linear.ou.forced_response(u, times)
        scale = float(numpy.sqrt(numpy.diag(net.S)).min() / max(numpy.abs(delta).max(), 1e-300))
        factor = 1 if shown is None else 2 if exact is not None else 10
        err_eps = numpy.array(ERROR_EPS_GRID) * factor * scale
    fast = exact.coarsened(COARSEN_TOL) if exact is not None else None

    # (1) kernels
    lag_max = 5 * net.relaxation_time
    lags = numpy.linspace(0.0, lag_max, 101)
    lags2 = numpy.linspace(0.0, lag_max, 41)
    T1, T2 = numpy.meshgrid(lags2, lags2, indexing="ij")
    source = exact if exact is not None else linear
    mc_fields = {}
    if engine == "mc":
        mc = engine_for(model, values, engine="mc", order=1, paths=paths, seed=seed, dt=dt, progress=progress)
        mc_lags = numpy.linspace(0.0, lag_max, MC_KERNEL_LAGS)
        estimate = mc.kernel([mc_lags])
        mc_fields = {"mc_lags": mc_lags, "mc_r1": estimate.value, "mc_r1_stderr": estimate.stderr,
                     "mc_info": estimate.info}
    kernels = KernelTable(lags=lags, r1=source.kernel([lags]).value, lags2=lags2,
                          r2=source.kernel([T1, T2]).value if order >= 2 else None,
                          r1_linearized=linear.kernel([lags]).value if (shown is not None and exact is not None) else None,
                          **mc_fields)

    # (2) mean output: series, simulation, exact
    terms = _series_on_grid(primary, u, times, order, progress)
    mc_eps = eps if exact is not None else numpy.concatenate([eps, err_eps])
    start = exact.stationary_sampler() if exact is not None else None
    sim = simulate_responses(net, u, t=float(t), eps=mc_eps, paths=paths, seed=seed, dt=dt_used,
                             record_every=steps // intervals, progress=progress, start=start, client=client)
    if not numpy.allclose(sim.times, times, rtol=0, atol=1e-9 * t):
        raise AssertionError("simulation grid does not match the report grid")
    n_fig = len(eps)
    exact_mean = exact_terms = None
    refused: list[str] = []
    if fast is not None:
        rows = []
        for e in eps:  # an engine may refuse an amplitude (the grid engine: the density leaves its box)
            try:
                rows.append(fast.driven_mean(u, times, float(e), tol=SERIES_TOL * 1e-2).value)
            except DerivationError as err:
                rows.append(numpy.full((len(times), model.n_outputs), numpy.nan))
                refused.append(f"eps = {float(e):g}: {err}")
        exact_mean = numpy.stack(rows)
        if shown is not None:
            exact_terms = _series_on_grid(fast, u, times, order, progress)
    mean_output = MeanOutputTable(times=times, eps=eps, mc_mean=sim.mean[1 : 1 + n_fig],
                                  mc_stderr=sim.stderr[1 : 1 + n_fig], terms=terms, exact=exact_mean,
                                  mc_stationary=sim.mean[0, 0], mc_stationary_stderr=sim.stderr[0, 0],
                                  exact_terms=exact_terms, exact_refused=tuple(refused))

    # (3) truncation error at t = T
    orders = tuple(range(1, min(order, 3) + 1))
    powers = err_eps[:, None] ** numpy.arange(order + 1)[None, :]  # (k, K + 1)
    ends = numpy.array([0.0, float(t)])
    if fast is not None:  # the exact series against the exact driven mean
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            final_result = fast.series(u, float(t), 1.0, order=order, tol=FINAL_SERIES_TOL)
        final = final_result.terms  # (K + 1, p)
        means = [fast.driven_mean(u, ends, float(e), tol=EXACT_FINAL_TOL) for e in err_eps]
        reference = numpy.stack([m.value[-1] for m in means])
        ref_se = None
        series = numpy.stack([powers[:, : N + 1] @ final[: N + 1] for N in orders])
        error = numpy.abs(series - reference[None])
        # below the floor an error is numerical noise: ERROR_FLOOR, or the engines' own error estimates
        stated = 3 * (final_result.error_estimate + max(m.error or 0.0 for m in means))
        floor = numpy.broadcast_to(numpy.maximum(ERROR_FLOOR * numpy.maximum(1.0, numpy.abs(reference)), stated)[None],
                                   error.shape)
        kind = "exact"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            final = linear.series(u, float(t), 1.0, order=order, tol=FINAL_SERIES_TOL).terms
        reference = sim.response[1 + n_fig :, -1, :]
        ref_se = sim.response_stderr[1 + n_fig :, -1, :]
        series = numpy.stack([powers[:, 1 : N + 1] @ final[1 : N + 1] for N in orders])
        error = numpy.abs(series - reference[None])
        floor = numpy.broadcast_to(3 * ref_se[None], error.shape)
        kind = "monte-carlo"
    resolved = error > floor
    slopes = numpy.array([[fit_slope(err_eps, error[a, :, q], resolved[a, :, q]) for q in range(error.shape[2])]
                          for a in range(len(orders))])
    truncation = TruncationTable(kind=kind, t=float(t), eps=err_eps, orders=orders, reference=reference,
                                 reference_stderr=ref_se, series=series, error=error,
                                 floor=numpy.array(floor), resolved=resolved, slopes=slopes)

    return ResponseReport(
        spec=spec, inputs=tuple(inputs), values=dict(values),
        engine=None if exact is None else exact.name, engine_method="" if exact is None else exact.method,
        linearized=shown is not None, fixed_point=net.fixed_point if shown is not None else None,
        linear_eigenvalues=numpy.linalg.eigvals(net.A), t=float(t), dt=dt_used, paths=paths, seed=seed,
        scheme=sim.scheme, burn_in=sim.burn_in, order=order, kernels=kernels, mean_output=mean_output,
        truncation=truncation,
    )
