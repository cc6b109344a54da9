"""``verify`` for the Monte-Carlo engine: its estimates against routes that do not use its weights.

=======================  =======================================================================
``exact_engine``         kernels R^(1), R^(2) at the sample lags (and the contact kernel of an input
                         inside the activation) and the stationary mean against the exact engine
                         that applies to the network (OU closed forms, gradient spectral method),
                         every entry within 4 standard errors.
``linearized_network``   the same estimator (same scheme, dt, paths) run on the network linearized
                         about its fixed point, without control variate, against that network's
                         closed forms: the weights, the lag convention and the interpolation on a
                         network whose kernels are known (nonlinear networks; 4 standard errors).
``zero_lag_identity``    R^(1)_{f;k}(0) = <d_k . grad f>_inf and R^(2)_{f;k1k2}(0, 0) =
                         <d_k2 . grad(d_k1 . grad f)>_inf (theory.md 3, 7: d_k = C_k, or
                         a'(W h + b) o C_k inside the activation): the weighted estimate against
                         the time average of the symbolic derivatives on independent paths (4 s.e.).
``stderr_scaling``       the standard error at paths/4 and at paths: ratio 2 (1/sqrt(paths)) within
                         25%.
``control_variate``      the estimate with the control variate against the plain estimate on
                         independent paths (4 combined s.e.); the detail gives the measured
                         variance reduction.
=======================  =======================================================================

Each passes when every |z| <= 4 (``digits`` are those of the largest difference relative to the
largest reference value, ``need`` those of 4 standard errors). Only ``exact_engine`` and
``linearized_network`` compare with routes sharing nothing with the simulation; the others are
self-consistency checks of the estimator (``independent = False``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

import numpy
import sympy

from ...classes.montecarlo.engine import MAX_KERNEL_ORDER, MIN_PATHS, MonteCarloEngine
from ...classes.registry import NoEngineError, engine_for
from ...errors import InputError
from ...progress import progress_bar
from ..results import ClaimResult, VerificationReport, check_options, dyadic, skipped_claim

__all__ = ["MONTE_CARLO_CLAIMS", "verify_monte_carlo", "MC_SIGMAS"]

MC_SIGMAS = 4.0
SCALING_TOLERANCE = 0.25


class MonteCarloRun:
    """One verification run: the engine, its sample lags, and a copy of it with other options."""

    def __init__(self, engine: MonteCarloEngine, samples: int, seed: int):
        self.engine = engine
        self.seed = seed
        rng = numpy.random.default_rng(seed)
        self.orders = tuple(range(1, min(engine.order, MAX_KERNEL_ORDER) + 1))
        self.lags = {n: [tuple(float(x) for x in dyadic(rng, 0.125, 2.0, size=n)) for _ in range(samples)]
                     for n in self.orders}

    def lag_arrays(self, n: int) -> list[numpy.ndarray]:
        return [numpy.array([lags[j] for lags in self.lags[n]]) for j in range(n)]

    def variant(self, model=None, params=None, **changes) -> MonteCarloEngine:
        """An mc engine with the run's options changed (``model``/``params``: another network)."""
        e = self.engine
        options = {"paths": e.paths, "seed": e.seed, "dt": e.dt, "window": e.window, "burn_in": e.burn_in,
                   "scheme": e.scheme, "control_variate": e.control, "order": e.order}
        options.update(changes)
        return MonteCarloEngine(e.model if model is None else model, e.values if params is None else params,
                                **options)

    def describe(self) -> list[dict]:
        out = [{"kind": "kernel", "order": n, "lags": list(lags)} for n in self.orders for lags in self.lags[n]]
        e = self.engine
        out.append({"kind": "monte_carlo", "paths": e.paths, "seed": e.seed, "dt": e.dt, "scheme": e.scheme,
                    "window": e.window, "burn_in": e.burn_in, "control_variate": e.control})
        return out


def _compare(name: str, rows: list[tuple[str, numpy.ndarray, numpy.ndarray, numpy.ndarray]], detail: str, *,
             independent: bool) -> ClaimResult:
    """Pass when every |estimate - reference| <= 4 s.e.; rows are (label, estimate, stderr, reference)."""
    scale = max(max(float(numpy.abs(ref).max()) for _, _, _, ref in rows), 1e-300)
    worst_z, worst, largest, largest_se, checked = 0.0, "", 0.0, 0.0, 0
    for label, est, se, ref in rows:
        diff = numpy.abs(numpy.asarray(est) - ref).ravel()
        se = numpy.asarray(se, dtype=float).ravel()
        with numpy.errstate(divide="ignore", invalid="ignore"):
            z = numpy.where(se > 0, diff / se, numpy.where(diff > 1e-12 * scale, numpy.inf, 0.0))
        checked += z.size
        k = int(numpy.argmax(z))
        if z[k] >= worst_z:
            worst_z, worst = float(z[k]), f"{label} entry {k}: |z| = {z[k]:.2f}"
        largest, largest_se = max(largest, float(diff.max())), max(largest_se, float(se.max()))
    digits = -math.log10(max(largest, 1e-300) / scale)
    required = -math.log10(max(MC_SIGMAS * largest_se, 1e-300) / scale)
    status = "passed" if worst_z <= MC_SIGMAS else "failed"
    return ClaimResult(name, status, max(0.0, min(digits, 16.0)), max(0.0, min(required, 16.0)),
                       f"{detail}; largest |z| = {worst_z:.2f} over {checked} values (passes when <= {MC_SIGMAS:g})",
                       worst, checked, independent=independent)


def _kernel_rows(run: MonteCarloRun, engine: MonteCarloEngine, reference) -> list:
    """One row per sample point: (label, estimate, stderr, reference), entries (p,) + (m,) * n; with an
    input inside the activation also the contact kernel R^(2) (composition (2,)) at the order-1 lags."""
    rows = []
    for n in run.orders:
        lags = run.lag_arrays(n)
        est, ref = engine.kernel(lags), reference.kernel(lags).value
        rows += [(f"R^({n}) at {run.lags[n][i]}", est.value[i], est.stderr[i], ref[i]) for i in range(len(ref))]
    if engine.inside and engine.order >= 2:
        lags = run.lag_arrays(1)
        est, ref = engine.kernel(lags, [2]), reference.kernel(lags, [2]).value
        rows += [(f"contact R^(2) at {run.lags[1][i]}", est.value[i], est.stderr[i], ref[i]) for i in range(len(ref))]
    return rows


def exact_engine(run: MonteCarloRun) -> ClaimResult:
    e = run.engine
    try:
        exact = engine_for(e.model, e.values, order=e.order)
    except NoEngineError as err:
        why = "; ".join(f"{name}: {reason}" for name, reason in err.reasons.items())
        return skipped_claim("exact_engine", MC_SIGMAS, f"no exact engine applies to this network ({why})")
    rows = _kernel_rows(run, e, exact)
    mean = e.stationary_mean()
    rows.append(("<f>_inf", mean.value, mean.stderr, exact.stationary_mean().value))
    return _compare("exact_engine", rows, f"mc ({e.paths} paths, seed {e.seed}, {e.scheme}, dt {e.dt:.4g}) "
                    f"vs the {exact.name} engine ({exact.method})", independent=True)


def linearized_network(run: MonteCarloRun) -> ClaimResult:
    e = run.engine
    if e.net.A is not None and e.linearization.kind == "exact":
        return skipped_claim("linearized_network", MC_SIGMAS, "the network is its own linearization: "
                             "exact_engine compares it")
    if e.net.A is None:
        return skipped_claim("linearized_network", MC_SIGMAS, "no stable fixed point to linearize about")
    lin = e.linearization
    estimator = run.variant(model=lin.linear_model, params={}, control_variate=False, seed=e.seed + 1, burn_in=None)
    rows = _kernel_rows(run, estimator, lin)
    return _compare("linearized_network", rows, f"the estimator ({e.scheme}, dt {e.dt:.4g}, {e.paths} paths, "
                    "no control variate) on the linearized network vs its closed forms", independent=True)


def zero_lag_identity(run: MonteCarloRun) -> ClaimResult:
    e = run.engine
    model = e.model
    h = model.hidden
    rows_g, labels = [], []
    slope = model.input_coefficients(1)  # 1 for an additive input, a'(W h + b) inside the activation
    for n in run.orders:
        for q, f in enumerate(model.readout):
            for ks in itertools.product(range(model.n_inputs), repeat=n):
                g = f
                for k in ks:
                    g = sum((slope[i] * model.C[i, k] * sympy.diff(g, h[i]) for i in range(len(h))),
                            sympy.Integer(0))
                rows_g.append(sympy.simplify(g))
                labels.append((n, q, ks))
    derivative = dataclasses.replace(model, readout=tuple(rows_g))
    # inside the activation the derivatives carry a'(W h + b): their Gaussian moments (the control variate's
    # expectation) need not converge, and a plain time average is enough for this check
    cv = {"control_variate": False} if e.inside else {}
    averages = run.variant(model=derivative, order=0, seed=e.seed + 2, **cv).stationary_mean()
    rows = []
    for n in run.orders:
        est = e.kernel([numpy.zeros(1)] * n)
        pick = [i for i, lab in enumerate(labels) if lab[0] == n]
        rows.append((f"R^({n})(0{', 0' * (n - 1)}) vs the time average of D^{n} f[C..]",
                     est.value.ravel(), numpy.hypot(est.stderr.ravel(), averages.stderr[pick]),
                     averages.value[pick]))
    return _compare("zero_lag_identity", rows, "likelihood-ratio estimate at zero lag vs the time average of the "
                    "symbolic derivatives on independent paths (combined standard errors)", independent=False)


def stderr_scaling(run: MonteCarloRun) -> ClaimResult:
    e = run.engine
    small = max(MIN_PATHS, e.paths // 4)
    lags = [numpy.array([run.lags[1][0][0]])]
    few = run.variant(paths=small, seed=e.seed + 3).kernel(lags).stderr
    many = run.variant(seed=e.seed + 4).kernel(lags).stderr
    ratio = float(numpy.median(few / many))
    expected = math.sqrt(e.paths / small)
    error = abs(ratio / expected - 1)
    status = "passed" if error <= SCALING_TOLERANCE else "failed"
    return ClaimResult("stderr_scaling", status, -math.log10(max(error, 1e-16)), -math.log10(SCALING_TOLERANCE),
                       f"R^(1) at lag {lags[0][0]:g}: median standard-error ratio {ratio:.3f} at {small} vs {e.paths} "
                       f"paths, expected sqrt({e.paths}/{small}) = {expected:.3f} (1/sqrt(paths)); passes within "
                       f"{SCALING_TOLERANCE:.0%}", f"ratio {ratio:.3f}", 1, independent=False)


def control_variate(run: MonteCarloRun) -> ClaimResult:
    e = run.engine
    if not e.control:
        return skipped_claim("control_variate", MC_SIGMAS, "the control variate is off")
    plain = run.variant(control_variate=False, seed=e.seed + 5)
    rows, reductions = [], []
    for n in run.orders:
        lags = run.lag_arrays(n)
        a, b = e.kernel(lags), plain.kernel(lags)
        se = numpy.hypot(a.stderr, b.stderr)
        rows += [(f"R^({n}) at {run.lags[n][i]}", a.value[i], se[i], b.value[i]) for i in range(len(se))]
        reductions.append(numpy.asarray(a.info["variance_reduction"], dtype=float).ravel())
    vr = numpy.concatenate(reductions)
    vr = vr[numpy.isfinite(vr)]
    measured = f"variance reduction {vr.min():.3g}-{vr.max():.3g} (median {numpy.median(vr):.3g})" if vr.size else ""
    return _compare("control_variate", rows, f"with vs without the linearized control variate on independent paths; "
                    f"{measured}", independent=False)


#: the claims in the order they run
MONTE_CARLO_CLAIMS: Mapping[str, Callable[[MonteCarloRun], ClaimResult]] = MappingProxyType({
    "exact_engine": exact_engine,
    "linearized_network": linearized_network,
    "zero_lag_identity": zero_lag_identity,
    "stderr_scaling": stderr_scaling,
    "control_variate": control_variate,
})


def verify_monte_carlo(engine: MonteCarloEngine, *, dps: int = 50, samples: int = 3, seed: int = 0,
                       claims: Iterable[str] | None = None, progress: bool | None = None) -> VerificationReport:
    """Run the Monte-Carlo claims of ``engine`` (module docstring); ``dps`` is recorded, not used."""
    check_options(dps, samples, seed)
    if engine.order < 1:
        raise InputError("the Monte-Carlo claims check kernels: give order >= 1", field="order")
    names = list(MONTE_CARLO_CLAIMS) if claims is None else list(claims)
    unknown = [c for c in names if c not in MONTE_CARLO_CLAIMS]
    if unknown:
        raise InputError(f"unknown claim {unknown[0]!r} (claims: {', '.join(MONTE_CARLO_CLAIMS)})", field="claims")
    start = time.perf_counter()
    run = MonteCarloRun(engine, samples, seed)
    results = []
    with progress_bar(len(names), enabled=progress, desc=f"verify {engine.model.spec.name}") as bar:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # burn-in notes show in the details
                result = MONTE_CARLO_CLAIMS[name](run)
            results.append(dataclasses.replace(result, seconds=time.perf_counter() - t0))
            bar.update()
    spec = engine.model.spec
    return VerificationReport(spec=spec.source, name=spec.name, dps=dps, order=engine.order, seed=seed,
                              samples=samples, parameters=MappingProxyType(dict(engine.values)),
                              points=tuple(run.describe()), claims=tuple(results),
                              seconds=time.perf_counter() - start)
