"""Claims of the OU engine: its closed forms against independent mpmath numerics.

:func:`verify_kernels` evaluates the derived closed forms in
mpmath at ``dps`` digits and checks them against routes that share nothing with the derivation
(:mod:`volterra_sym.oracles`). Each *claim* is a function of one verification run and reports
pass/fail/skipped with the number of agreeing significant digits at the worst point:

=========================  ====================================================================
``stationary_law``         mu, S and the conjugates A_k(h) = C_k^T S^-1 (h - mu) of the
                           derivation equal an mpmath solve of the Lyapunov equation.
``backward_vs_correlation`` the closed forms (backward recursion, theory.md 3b/4) equal the
                           correlation form E[g_{n-1}(h_{tau_n}) A_{k_n}(h_0)] (3c) integrated
                           over the Gaussian path of the stationary process, at random lags,
                           every order, output and index tuple.
``zero_lag``               R^(1)_{f;k}(0) = <C_k . grad f>_inf, and R^(n) vanishes above a
                           polynomial readout's degree (closed form and correlation form).
``series_vs_resummation``  eps^n <M^(n), Z^(n)(t)> with the closed-form moments and the nested
                           simplex integrals Z^(n) of the closed-form propagator (Chebyshev
                           spectral integration in mpmath) equal the eps-Taylor coefficients of
                           the exact resummation E f(mu + xi + eps delta_t) (linear class).
``float64_vs_mpmath``      a float64 kernel callable (the engine's ``kernel_values`` unless
                           another is given) matches the mpmath closed forms to 1e-12.
``float64_vs_correlation`` the same float64 callable vs the correlation form (independent of the
                           engine's closed forms and of its float64 routes), same tolerance.
``series_float64``         the float64 ``series_terms`` match the resummation to 1e-9.
``precision_ladder``       closed forms, correlation oracle and series at dps 30 and 60 agree
                           to 25 digits (first sample point).
``recorded_references``    the float64 engine reproduces the oracle values recorded in
                           ``<spec stem>.reference.toml`` beside the spec (when present;
                           :mod:`volterra_sym.verification.references`).
``linearization``          linearized engine only: its A and b equal an mpmath linearization of
                           the drift (Newton's method for the fixed point) to 1e-12.
=========================  ====================================================================

The oracles read the network from the spec's raw data (:mod:`..oracles.spec_parse`), not from the
engine's model, so a model-assembly bug reaches the engine but not the oracles.
``float64_vs_mpmath``, ``precision_ladder`` and ``recorded_references`` compare the engine with its
own closed forms or with values the package recorded: they are self-consistency checks
(``independent=False`` in the report), and a report passes only if at least one of the other,
independent claims passed (:attr:`~volterra_sym.verification.results.VerificationReport.passed`).

The mpmath claims need min(30, dps - 20) digits (30 at the default dps 50), the float64 claims
12 (kernels) and 9 (series) digits, the ladder 25. Digits are -log10 of the largest error
relative to a scale: the largest oracle magnitude of
the same kernel order (or series term) over every output, index and point, or the overall
largest when that order vanishes identically. A value that has no independent route in its class
is counted as skipped with the reason; a claim with nothing checked is ``skipped``, never passed.

Sample points come from ``numpy.random.default_rng(seed)``; lags, times and input coefficients
are dyadic rationals (k / 1024), so float64 and mpmath see exactly the same numbers, and the
parameters are used at their binary64 values on both sides.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import mpmath
import numpy

from ...classes.ou.derive import KernelSet, derive_kernels, kernel_expression
from ...classes.ou.evaluate import numeric_kernels
from ...errors import InputError
from ...model import resolve_parameters
from ...progress import progress_bar
from ...spec import LIMITS
from ..oracles.closed_forms import ClosedForms
from ..oracles.gaussian_path import (
    NoOracle,
    correlation_kernel,
    zero_lag_mean,
)
from ..results import (
    ClaimResult,
    KernelCallable,
    Tally,
    VerificationReport,
    check_options,
)

from .ou_run import (
    FLOAT64_KERNEL_TOL,
    FLOAT64_SERIES_TOL,
    LADDER,
    LADDER_DIGITS,
    OURun,
    engine_kernel,
    float64_series,
    kernel_label,
    sample_points,
    group_scales,
    work,
)

__all__ = ["CLAIMS", "SELF_CONSISTENCY", "default_claims", "verify_kernels"]

# --- claims -------------------------------------------------------------------------------------


def stationary_law(run: OURun) -> ClaimResult:
    """mu, S and the conjugates of the derivation vs an mpmath Lyapunov solve."""
    tally = Tally(run.dps)
    with work(run.dps):
        om = run.oracle()
        mu, S = run.closed.law()
        n = run.model.n_hidden
        scale_mu = max(abs(om.mu[i]) for i in range(n)) or mpmath.mpf(1)
        scale_S = max(abs(om.S[i, j]) for i in range(n) for j in range(n))
        for i in range(n):
            tally.compare(mu[i], om.mu[i], scale_mu, f"mu[{i + 1}]")
            for j in range(n):
                tally.compare(S[i, j], om.S[i, j], scale_S, f"S[{i + 1},{j + 1}]")
        Sinv = om.S**-1
        conj = {}
        for s, h in enumerate(run.points.law_points):
            hm = mpmath.matrix([mpmath.mpf(x) for x in h])
            for k in range(run.model.n_inputs):
                Ck = mpmath.matrix([om.C[i, k] for i in range(n)])
                conj[(s, k)] = ((Ck.T * Sinv * (hm - om.mu))[0], run.closed.conjugate(k, list(hm)))
        scale = max((abs(r) for r, _ in conj.values()), default=mpmath.mpf(1)) or mpmath.mpf(1)
        for (s, k), (ref, value) in conj.items():
            tally.compare(value, ref, scale, f"A_{k + 1}(h sample {s + 1})")
    return tally.result("stationary_law", run.required,
                        "mu = -A^-1 b, S from the Kronecker form of the Lyapunov equation, A_k = C_k^T S^-1 (h - mu)")


def backward_vs_correlation(run: OURun) -> ClaimResult:
    """Closed forms vs the correlation form over the Gaussian path (oracles.correlation_kernel)."""
    tally = Tally(run.dps)
    with work(run.dps):
        pairs, groups = {}, {}
        for key in run.kernel_keys():
            ref, value = run.oracle_kernel(key), run.closed_kernel(key)
            for v in (ref, value):
                if isinstance(v, NoOracle):
                    tally.skip(f"order {key[0]}: {v}")
                    break
            else:
                pairs[key] = (value, ref)
                groups.setdefault(key[0], []).append(ref)
        scales = group_scales(groups)
        for key, (value, ref) in pairs.items():
            tally.compare(value, ref, scales[key[0]], kernel_label(key))
    return tally.result("backward_vs_correlation", run.required,
                        "closed forms vs E[g_{n-1}(h_tau_n) A_k(h_0)] with Bismut weights, conditioned Gaussian "
                        "quadrature (Gauss-Hermite exact for polynomials, trapezoidal rule otherwise)")


def zero_lag(run: OURun) -> ClaimResult:
    """R^(1)(0) = <C_k . grad f> and vanishing above a polynomial readout's degree."""
    tally = Tally(run.dps)
    notes = []
    kset, model = run.kset, run.model
    with work(run.dps):
        om = run.oracle()
        if kset.order >= 1:
            pairs = {}
            for q in range(model.n_outputs):
                for k in range(model.n_inputs):
                    try:
                        pairs[(q, k)] = (run.closed.kernel(q, (k,), [mpmath.mpf(0)]), zero_lag_mean(om, q, k))
                    except NoOracle as err:
                        tally.skip(f"R^(1)(0) of f{q + 1}: {err}")
            scale = max((abs(r) for _, r in pairs.values()), default=mpmath.mpf(0)) or mpmath.mpf(1)
            for (q, k), (value, ref) in pairs.items():
                tally.compare(value, ref, scale, f"R^(1)_{{f{q + 1};{k + 1}}}(0)")
        # vanishing above the degree: closed forms must be exactly 0, the correlation form ~0
        overall = [abs(v) for key in run.kernel_keys() if not isinstance(v := run.oracle_kernel(key), NoOracle)]
        scale = max(overall, default=mpmath.mpf(0)) or mpmath.mpf(1)
        degrees = [None if any(t.degree is None for t in terms) else max((t.degree for t in terms), default=0)
                   for terms in om.terms]
        polys = [d for d in degrees if d is not None]
        expected = max(polys) if len(polys) == len(degrees) else None
        if kset.degree != expected:
            tally.compare(1, 0, 1, f"KernelSet.degree = {kset.degree}, readout degree {expected}")
        for q, d in enumerate(degrees):
            if d is None:
                continue
            n = d + 1
            if n > min(kset.order + 1, LIMITS["order"]):
                notes.append(f"f{q + 1}: degree {d} > derived order")
                continue
            higher = kset if n <= kset.order else derive_kernels(model, order=n)
            if expected is not None and n > expected and not higher.vanishes(n):  # every readout polynomial
                tally.compare(1, 0, 1, f"KernelSet.vanishes({n}) is False")
            lags = [mpmath.mpf(x) for x in (run.points.lags[n - 1][0] if n <= kset.order else
                                            (run.points.lags[-1][0] + (0.5,) * (n - kset.order))[:n])]
            for idx in (run.points.indices[n - 1] if n <= kset.order else [(0,) * n]):
                expr = kernel_expression(higher, q, idx)
                closed = mpmath.mpf(0) if expr == 0 else ClosedForms(higher, run.values).kernel(q, idx, lags)
                tally.compare(closed, 0, scale, f"closed R^({n})_{{f{q + 1}}} above degree {d}")
                try:
                    ref = correlation_kernel(om, q, idx, lags)
                except NoOracle as err:
                    tally.skip(str(err))
                    continue
                tally.compare(ref, 0, scale, f"correlation R^({n})_{{f{q + 1}}} above degree {d}")
    detail = "R^(1)(0) vs <C_k . grad f> by Gaussian quadrature; R^(degree+1) = 0 in closed and correlation form"
    if notes:
        detail += " (" + "; ".join(notes) + ")"
    return tally.result("zero_lag", run.required, detail)


def series_vs_resummation(run: OURun) -> ClaimResult:
    """Closed-form series terms vs the eps-Taylor coefficients of the exact resummation."""
    tally = Tally(run.dps)
    with work(run.dps):
        oracle = run.resummation_terms()
        engine = run.engine_series_terms()
        finer = run.engine_series_terms(max(40, mpmath.mp.dps) + 16)
        for v in (oracle, engine, finer):
            if isinstance(v, NoOracle):
                tally.skip(str(v))
                return tally.result("series_vs_resummation", run.required, "")
        scales = group_scales({n: list(row) for n, row in enumerate(oracle)})
        cheb = max(abs(a - b) for ra, rb in zip(engine, finer) for a, b in zip(ra, rb))
        for n, row in enumerate(oracle):
            for q, ref in enumerate(row):
                tally.compare(engine[n][q], ref, scales[n], f"term {n} of f{q + 1}")
    p = run.points
    return tally.result("series_vs_resummation", run.required,
                        f"eps^n <M^(n), Z^(n)(t)> (Chebyshev simplex integrals of the closed-form propagator, "
                        f"change under refinement {mpmath.nstr(cheb, 2)}) vs Taylor coefficients of "
                        f"E f(mu + xi + eps delta_t) (delta_t by the augmented matrix exponential) at t={p.t}, "
                        f"eps={p.eps}")


def _float64_against(run: OURun, reference: Callable, name: str, detail: str) -> ClaimResult:
    """The float64 kernel callable vs ``reference(key)`` (relative to the order's scale)."""
    kernel = run.kernel or engine_kernel(run.kset)
    tally = Tally(16.0)
    required = -math.log10(FLOAT64_KERNEL_TOL)
    with work(run.dps):
        refs, groups = {}, {}
        for key in run.kernel_keys():
            ref = reference(key)
            if isinstance(ref, NoOracle):
                tally.skip(str(ref))
                continue
            refs[key] = ref
            groups.setdefault(key[0], []).append(ref)
        scales = group_scales(groups)
        arrays: dict[tuple[int, int], numpy.ndarray] = {}
        for key, ref in refs.items():
            n, s, q, idx = key
            if (n, s) not in arrays:
                arrays[(n, s)] = numpy.asarray(kernel(n, *run.points.lags[n - 1][s], **run.values), dtype=numpy.float64)
            tally.compare(mpmath.mpf(float(arrays[(n, s)][(q,) + idx])), ref, scales[n], kernel_label(key))
    return tally.result(name, required, f"{detail}, tolerance {FLOAT64_KERNEL_TOL:g} of the order's largest value")


def float64_vs_mpmath(run: OURun) -> ClaimResult:
    """A float64 kernel callable vs the mpmath closed forms (self-consistency)."""
    return _float64_against(run, run.closed_kernel, "float64_vs_mpmath", "float64 kernel callable vs mpmath closed forms")


def float64_vs_correlation(run: OURun) -> ClaimResult:
    """A float64 kernel callable vs the correlation oracle: the float64 route (error-bounded e^{A tau},
    moment tensors in float64) checked against a route that shares nothing with it."""
    return _float64_against(run, run.oracle_kernel, "float64_vs_correlation",
                            "float64 kernel callable vs the correlation form over the Gaussian path")


def series_float64(run: OURun) -> ClaimResult:
    """The float64 ``series_terms`` (RK4 on the filter ODE) vs the resummation oracle."""
    tally = Tally(16.0)
    required = -math.log10(FLOAT64_SERIES_TOL)
    with work(run.dps):
        oracle = run.resummation_terms()
        if isinstance(oracle, NoOracle):
            tally.skip(str(oracle))
            return tally.result("series_float64", required, "")
        nk = numeric_kernels(run.kset, run.values)
        result, notes = float64_series(nk, run.points.u, run.points.t, run.points.eps, run.kset.order)
        scales = group_scales({n: list(row) for n, row in enumerate(oracle)})
        for n, row in enumerate(oracle):
            for q, ref in enumerate(row):
                tally.compare(mpmath.mpf(float(result.terms[n, q])), ref, scales[n], f"term {n} of f{q + 1}")
    return tally.result("series_float64", required,
                        f"float64 series_terms (tol {FLOAT64_SERIES_TOL / 10:g}, {result.steps} RK4 steps) vs the "
                        f"resummation, tolerance {FLOAT64_SERIES_TOL:g}{notes}")


def precision_ladder(run: OURun) -> ClaimResult:
    """The same mpmath computations at dps 30 and 60 (first sample point) agree to 25 digits."""
    low, high = LADDER
    tally = Tally(float(low))
    results: dict[int, dict] = {}
    for dps in LADDER:
        with mpmath.workdps(dps):
            values: dict[tuple, Any] = {}
            for key in run.kernel_keys(first_only=True):
                values[("closed",) + key] = run.closed_kernel(key)
                values[("oracle",) + key] = run.oracle_kernel(key)
            for name, terms in (("series", run.engine_series_terms()), ("resummation", run.resummation_terms())):
                if isinstance(terms, NoOracle):
                    values[(name,)] = terms
                    continue
                for n, row in enumerate(terms):
                    for q, v in enumerate(row):
                        values[(name, n, q)] = v
            results[dps] = values
    with mpmath.workdps(high):
        groups: dict[tuple, list] = {}
        for key, v in results[high].items():
            if not isinstance(v, NoOracle):
                groups.setdefault(key[:2], []).append(v)
        scales = group_scales(groups)
        for key, v in results[high].items():
            w = results[low][key]
            if isinstance(v, NoOracle) or isinstance(w, NoOracle):
                tally.skip(str(v if isinstance(v, NoOracle) else w))
                continue
            label = f"{key[0]} " + (kernel_label(key[1:]) if len(key) == 5 else f"term {key[1]} of f{key[2] + 1}")
            tally.compare(w, v, scales[key[:2]], label)
    return tally.result("precision_ladder", LADDER_DIGITS,
                        f"closed forms, correlation oracle, closed-form series and resummation at dps {low} vs {high}")


def recorded_references(run: OURun) -> ClaimResult:
    """Recorded oracle values beside the spec vs the float64 engine."""
    from ..references import check_references, reference_path

    path = reference_path(run.model.spec.source)
    if not path.is_file():
        return ClaimResult("recorded_references", "skipped", None, 12.0,
                           f"skipped: no {path.name} (no recorded references: record_references writes them)")
    return check_references(run.kset, path, values=run.values)


def linearization(run: OURun) -> ClaimResult:
    """Linearized engine: its A and b vs an mpmath linearization of the drift as the spec writes it."""
    from ..oracles.spec_parse import mp_linearization, network_of

    model = run.model
    required = -math.log10(FLOAT64_KERNEL_TOL)
    if model.fixed_point is None:
        return ClaimResult("linearization", "skipped", None, required,
                           "skipped: the drift is affine (the network is its own linearization)")
    tally = Tally(16.0)
    with work(run.dps):
        _, J, b = mp_linearization(network_of(model.spec), run.values, model.fixed_point)
        A, b_engine = run.closed._matrix("A", model.A), run.closed._matrix("b", model.b)
        n = model.n_hidden
        scale = max(abs(J[i, j]) for i in range(n) for j in range(n))
        for i in range(n):
            tally.compare(b_engine[i], b[i], max(scale, max(abs(b[k]) for k in range(n))), f"b[{i + 1}]")
            for j in range(n):
                tally.compare(A[i, j], J[i, j], scale, f"A[{i + 1},{j + 1}]")
    return tally.result("linearization", required,
                        "the engine's A = dF(h*) and b = -A h* (binary64) vs Newton's method for F(h*) = 0 and the "
                        "Jacobian in mpmath, from the spec parsed again")


#: the claims in the order they run; each is a function of one verification run
CLAIMS: Mapping[str, Callable[[OURun], ClaimResult]] = MappingProxyType({
    "stationary_law": stationary_law,
    "backward_vs_correlation": backward_vs_correlation,
    "zero_lag": zero_lag,
    "series_vs_resummation": series_vs_resummation,
    "float64_vs_mpmath": float64_vs_mpmath,
    "float64_vs_correlation": float64_vs_correlation,
    "series_float64": series_float64,
    "precision_ladder": precision_ladder,
    "recorded_references": recorded_references,
    "linearization": linearization,
})
#: self-consistency (``independent=False``): the engine against its own closed forms or recorded values
SELF_CONSISTENCY = frozenset({"float64_vs_mpmath", "precision_ladder", "recorded_references"})


# --- entry points -------------------------------------------------------------------------------


def default_claims(kset: KernelSet) -> list[str]:
    """Every claim, ``linearization`` only for a linearized model."""
    return [c for c in CLAIMS if c != "linearization" or kset.model.fixed_point is not None]


def verify_kernels(
    kset: KernelSet,
    *,
    dps: int = 50,
    samples: int = 3,
    seed: int = 0,
    params: Mapping[str, float] | None = None,
    claims: Iterable[str] | None = None,
    kernel: KernelCallable | None = None,
    progress: bool | None = None,
) -> VerificationReport:
    """Run the verification claims on a derivation.

    Parameters
    ----------
    kset : KernelSet
        The derivation to check (it may be altered, e.g. with :func:`dataclasses.replace`).
    dps : int
        Working precision in decimal digits (30..1000); GUARD extra digits are carried.
    samples : int
        Random lag sets per kernel order (and conjugate sample points).
    seed : int
        Seed of ``numpy.random.default_rng`` for every sample point.
    params : mapping, optional
        Parameter values overriding the spec's defaults.
    claims : iterable of str, optional
        Names from :data:`CLAIMS` to run (default: all).
    kernel : callable, optional
        ``kernel(n, *lags, **params) -> (p,) + (m,) * n`` float64 array checked by
        ``float64_vs_mpmath`` instead of the engine's ``kernel_values``.
    progress : bool, optional
        Show a tqdm bar on stderr; default: only when stderr is a terminal.

    Returns
    -------
    VerificationReport
    """
    check_options(dps, samples, seed)
    names = default_claims(kset) if claims is None else list(claims)
    unknown = [c for c in names if c not in CLAIMS]
    if unknown:
        raise InputError(f"unknown claim {unknown[0]!r} (claims: {', '.join(CLAIMS)})", field="claims")
    model = kset.model
    values = resolve_parameters(model.spec, params or {})
    numeric_kernels(kset, values)  # stability at these values; raises InputError / SpecError
    start = time.perf_counter()
    points = sample_points(kset, samples, seed)
    run = OURun(kset, values, dps, points, kernel)
    results = []
    with progress_bar(len(names), enabled=progress, desc=f"verify {model.spec.name}") as bar:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            result = CLAIMS[name](run)
            results.append(replace(result, seconds=time.perf_counter() - t0,
                                   independent=name not in SELF_CONSISTENCY))
            bar.update()
    return VerificationReport(spec=model.spec.source, name=model.spec.name, dps=dps, order=kset.order, seed=seed,
                              samples=samples, parameters=MappingProxyType(dict(values)),
                              points=tuple(points.describe()), claims=tuple(results),
                              seconds=time.perf_counter() - start)
