"""Stage 4: high-precision verification of a derivation against independent mpmath numerics.

``volterra-sym verify SPEC`` (and :func:`verify_kernels`) evaluates the derived closed forms in
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
``series_float64``         the float64 ``series_terms`` match the resummation to 1e-9.
``precision_ladder``       closed forms, correlation oracle and series at dps 30 and 60 agree
                           to 25 digits (first sample point).
``recorded_references``    the float64 engine reproduces the oracle values recorded in
                           ``<spec stem>.reference.toml`` beside the spec (when present;
                           :mod:`volterra_sym.references`).
=========================  ====================================================================

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

import argparse
import itertools
import json
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import mpmath
import numpy

from .derive import KernelSet, derive_kernels, kernel_expression
from .errors import InputError
from .evaluate import kernel_values, numeric_kernels
from .model import build_model, resolve_parameters
from .mpclosed import ClosedForms, simplex_contractions
from .oracles import (
    MpModel,
    NoOracle,
    TrigInput,
    correlation_kernel,
    forced_mean_shift,
    mp_model,
    resummation_coefficients,
    zero_lag_mean,
)
from .series import series_terms
from .spec import LIMITS, load_spec

__all__ = [
    "CLAIMS",
    "ClaimResult",
    "VerificationReport",
    "verify_kernels",
    "verify_spec",
    "engine_kernel",
    "sample_points",
    "run_verify",
]

#: extra working digits on top of the requested precision
GUARD = 15
#: at most this many index tuples per kernel order are checked (drawn with the sample points)
MAX_INDEX_TUPLES = 16
FLOAT64_KERNEL_TOL = 1e-12
FLOAT64_SERIES_TOL = 1e-9
LADDER = (30, 60)
LADDER_DIGITS = 25.0
MIN_DPS, MAX_DPS = 30, 1000

KernelCallable = Callable[..., numpy.ndarray]


# --- report -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """Outcome of one claim. ``status`` is "passed", "failed" or "skipped"; ``digits`` is the
    number of agreeing significant digits at the worst point (None if nothing was compared)."""

    name: str
    status: str
    digits: float | None
    required: float
    detail: str
    worst: str = ""
    checked: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        assert self.status in ("passed", "failed", "skipped")

    @property
    def passed(self) -> bool | None:
        """True or False; None for a skipped claim (it neither passed nor failed)."""
        return {"passed": True, "failed": False}.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "status": self.status,
                "digits": None if self.digits is None else round(self.digits, 2), "required": self.required,
                "detail": self.detail, "worst": self.worst, "checked": self.checked, "skipped": self.skipped,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Every claim of one verification run, with the seed and the sample points it used."""

    spec: str
    name: str
    dps: int
    order: int
    seed: int
    samples: int
    parameters: Mapping[str, float]
    points: tuple[Mapping[str, Any], ...]
    claims: tuple[ClaimResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """No claim failed (skipped claims are listed as such, not counted as passes)."""
        return all(c.status != "failed" for c in self.claims)

    def claim(self, name: str) -> ClaimResult:
        for c in self.claims:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "spec": self.spec, "name": self.name, "dps": self.dps, "order": self.order,
                "seed": self.seed, "samples": self.samples, "parameters": dict(self.parameters),
                "claims": [c.to_dict() for c in self.claims], "points": [dict(p) for p in self.points],
                "seconds": round(self.seconds, 3)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def format_text(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        title = (f"verify {self.spec} (dps {self.dps}, order {self.order}, seed {self.seed}, "
                 f"{self.samples} sample(s){', ' + params if params else ''})")
        lines = [title, ""]
        rows = [("claim", "status", "digits", "need", "time", "worst point")]
        for c in self.claims:
            rows.append((c.name, c.status, "-" if c.digits is None else f"{c.digits:.1f}", f"{c.required:g}",
                         f"{c.seconds:.1f}s", c.worst))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5])
        lines.append("")
        for c in self.claims:
            lines.append(f"{c.name}: {c.detail}")
        lines.append("")
        lines.append(f"seed {self.seed}; points:")
        for p in self.points:
            lines.append("  " + ", ".join(f"{k}={v}" for k, v in p.items()))
        failed = [c.name for c in self.claims if c.status == "failed"]
        skipped = [c.name for c in self.claims if c.status == "skipped"]
        verdict = f"FAILED: {', '.join(failed)}" if failed else "all checked claims passed"
        if skipped:
            verdict += f" (skipped: {', '.join(skipped)})"
        lines.append(f"{verdict} in {self.seconds:.1f} s")
        return "\n".join(lines)


# --- sample points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplePoints:
    """Everything random in a run, drawn from ``default_rng(seed)`` in a fixed order."""

    lags: tuple[tuple[tuple[float, ...], ...], ...]  # lags[n - 1][s] has n entries
    indices: tuple[tuple[tuple[int, ...], ...], ...]  # indices[n - 1]: the index tuples checked
    law_points: tuple[tuple[float, ...], ...]
    t: float
    eps: float
    u: TrigInput

    def describe(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, (per_order, idx) in enumerate(zip(self.lags, self.indices), start=1):
            for lags in per_order:
                out.append({"kind": "kernel", "order": n, "lags": list(lags)})
            if idx:
                out.append({"kind": "indices", "order": n, "indices": [list(i) for i in idx]})
        for h in self.law_points:
            out.append({"kind": "law", "h": list(h)})
        out.append({"kind": "series", "t": self.t, "eps": self.eps, "u": self.u.describe()})
        return out


def _dyadic(rng: numpy.random.Generator, low: float, high: float, size=None, denom: int = 1024):
    k = rng.integers(round(low * denom), round(high * denom) + 1, size=size)
    return k / denom


def sample_points(kset: KernelSet, samples: int, seed: int) -> SamplePoints:
    rng = numpy.random.default_rng(seed)
    model = kset.model
    m, nh = model.n_inputs, model.n_hidden
    lags, indices = [], []
    for n in range(1, max(kset.order, 1) + 1):
        lags.append(tuple(tuple(float(x) for x in _dyadic(rng, 0.125, 2.0, size=n)) for _ in range(samples)))
        tuples = list(itertools.product(range(m), repeat=n))
        if len(tuples) > MAX_INDEX_TUPLES:
            chosen = rng.choice(len(tuples), size=MAX_INDEX_TUPLES, replace=False)
            tuples = [tuples[i] for i in sorted(chosen)]
        indices.append(tuple(tuples))
    law_points = tuple(tuple(float(x) for x in _dyadic(rng, -2.0, 2.0, size=nh)) for _ in range(samples))
    t = float(_dyadic(rng, 0.5, 2.0))
    u = TrigInput(offset=tuple(float(x) for x in _dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  cos=tuple(float(x) for x in _dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  sin=tuple(float(x) for x in _dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  freq=tuple(float(x) for x in _dyadic(rng, 0.5, 3.0, size=m, denom=256)))
    return SamplePoints(tuple(lags), tuple(indices), law_points, t, 0.5, u)


# --- one run ------------------------------------------------------------------------------------


def engine_kernel(kset: KernelSet) -> KernelCallable:
    """The float64 engine as ``kernel(n, *lags, **params) -> array (p,) + (m,) * n``.

    Any callable of this signature (a generated module, for example) can be verified instead.
    """
    cache: dict[tuple, Any] = {}

    def kernel(n: int, *lags: float, **params: float) -> numpy.ndarray:
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = numeric_kernels(kset, params)
        nk = cache[key]
        return nk.moments[0].copy() if n == 0 else kernel_values(nk, list(lags))

    return kernel


class _Run:
    """Shared, cached computations of one verification run."""

    def __init__(self, kset: KernelSet, values: Mapping[str, float], dps: int, points: SamplePoints,
                 kernel: KernelCallable | None):
        self.kset = kset
        self.model = kset.model
        self.values = dict(values)
        self.dps = dps
        self.points = points
        self.kernel = kernel
        self.closed = ClosedForms(kset, values)
        self.required = float(min(30, dps - 20))
        self._models: dict[int, MpModel] = {}
        self._memo: dict[tuple, Any] = {}

    def oracle(self) -> MpModel:
        if mpmath.mp.prec not in self._models:
            self._models[mpmath.mp.prec] = mp_model(self.model, self.values)
        return self._models[mpmath.mp.prec]

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        key = key + (mpmath.mp.prec,)
        if key not in self._memo:
            try:
                self._memo[key] = compute()
            except NoOracle as err:
                self._memo[key] = err
        return self._memo[key]

    def kernel_keys(self, first_only: bool = False) -> list[tuple[int, int, int, tuple[int, ...]]]:
        keys = []
        for n in range(1, self.kset.order + 1):
            for s in range(1 if first_only else len(self.points.lags[n - 1])):
                for q in range(self.model.n_outputs):
                    for idx in self.points.indices[n - 1]:
                        keys.append((n, s, q, idx))
        return keys

    def lags_mp(self, n: int, s: int) -> list[Any]:
        return [mpmath.mpf(x) for x in self.points.lags[n - 1][s]]

    def closed_kernel(self, key) -> Any:
        n, s, q, idx = key
        return self.memo(("closed",) + key, lambda: self.closed.kernel(q, idx, self.lags_mp(n, s)))

    def oracle_kernel(self, key) -> Any:
        n, s, q, idx = key
        return self.memo(("oracle",) + key, lambda: correlation_kernel(self.oracle(), q, idx, self.lags_mp(n, s)))

    def delta(self) -> mpmath.matrix:
        return self.memo(("delta",), lambda: forced_mean_shift(self.oracle(), self.points.u, mpmath.mpf(self.points.t)))

    def resummation_terms(self) -> list[list[Any]] | NoOracle:
        """terms[n][q] = eps^n c_n of the exact resummation (oracle)."""

        def compute():
            om, eps = self.oracle(), mpmath.mpf(self.points.eps)
            per_output = [resummation_coefficients(om, q, self.delta(), self.kset.order) for q in range(om.n_outputs)]
            return [[per_output[q][n] * eps**n for q in range(om.n_outputs)] for n in range(self.kset.order + 1)]

        return self.memo(("resum",), compute)

    def engine_series_terms(self, N: int | None = None) -> list[list[Any]] | NoOracle:
        """terms[n][q] = eps^n <M^(n), Z^(n)(t)> from the closed forms (Chebyshev simplex integrals)."""
        N = N or max(40, mpmath.mp.dps)

        def compute():
            t, eps = mpmath.mpf(self.points.t), mpmath.mpf(self.points.eps)
            C = self.closed._matrix("C", self.model.C)

            def v(s):
                return self.closed.propagator(t - s) * C * mpmath.matrix(self.points.u.mp(s))

            weights = []
            for n in range(self.kset.order + 1):
                weights.append({idx: [self.closed.moment(n, q, tuple(sorted(idx))) for q in range(self.model.n_outputs)]
                                for idx in itertools.product(range(self.model.n_hidden), repeat=n)})
            terms = simplex_contractions(v, weights, self.model.n_hidden, t, N)
            return [[x * eps**n for x in row] for n, row in enumerate(terms)]

        return self.memo(("engine_series", N), compute)


# --- comparison helpers -------------------------------------------------------------------------


def _digits(error: Any, scale: Any, cap: float) -> float:
    if error == 0:
        return float(cap)
    return float(min(cap, max(0.0, -mpmath.log10(mpmath.mpf(error) / scale))))


def _scales(groups: Mapping[Any, list[Any]]) -> dict[Any, Any]:
    """Per-group scale: the group's largest magnitude, or the overall largest if it is ~0."""
    maxima = {g: max((abs(v) for v in vals), default=mpmath.mpf(0)) for g, vals in groups.items()}
    overall = max(maxima.values(), default=mpmath.mpf(0)) or mpmath.mpf(1)
    tiny = overall * mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))
    return {g: (m if m > tiny else overall) for g, m in maxima.items()}


def _kernel_label(key) -> str:
    n, s, q, idx = key
    return f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}(sample {s + 1})"


class _Tally:
    """Worst digits over compared pairs, plus skipped values and their reasons."""

    def __init__(self, cap: float):
        self.cap = cap
        self.digits: float | None = None
        self.worst = ""
        self.checked = 0
        self.skipped = 0
        self.reasons: list[str] = []

    def compare(self, value: Any, reference: Any, scale: Any, label: str) -> None:
        d = _digits(abs(mpmath.mpf(value) - mpmath.mpf(reference)), scale, self.cap)
        self.checked += 1
        if self.digits is None or d < self.digits:
            self.digits, self.worst = d, label

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if reason not in self.reasons:
            self.reasons.append(reason)

    def result(self, name: str, required: float, detail: str) -> ClaimResult:
        if self.skipped:
            detail += f"; {self.skipped} value(s) skipped: " + "; ".join(self.reasons)
        if self.checked == 0:
            if self.reasons:
                reason = "no independent oracle for this class (" + "; ".join(self.reasons) + ")"
            else:
                reason = "nothing to check"
            return ClaimResult(name, "skipped", None, required, f"skipped: {reason}", checked=0, skipped=self.skipped)
        status = "passed" if self.digits >= required else "failed"
        return ClaimResult(name, status, self.digits, required, detail, self.worst, self.checked, self.skipped)


def _work(dps: int):
    return mpmath.workdps(dps + GUARD)


# --- claims -------------------------------------------------------------------------------------


def stationary_law(run: _Run) -> ClaimResult:
    """mu, S and the conjugates of the derivation vs an mpmath Lyapunov solve."""
    tally = _Tally(run.dps)
    with _work(run.dps):
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


def backward_vs_correlation(run: _Run) -> ClaimResult:
    """Closed forms vs the correlation form over the Gaussian path (oracles.correlation_kernel)."""
    tally = _Tally(run.dps)
    with _work(run.dps):
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
        scales = _scales(groups)
        for key, (value, ref) in pairs.items():
            tally.compare(value, ref, scales[key[0]], _kernel_label(key))
    return tally.result("backward_vs_correlation", run.required,
                        "closed forms vs E[g_{n-1}(h_tau_n) A_k(h_0)] with Bismut weights, conditioned Gaussian "
                        "quadrature (Gauss-Hermite exact for polynomials, trapezoidal rule otherwise)")


def zero_lag(run: _Run) -> ClaimResult:
    """R^(1)(0) = <C_k . grad f> and vanishing above a polynomial readout's degree."""
    tally = _Tally(run.dps)
    notes = []
    kset, model = run.kset, run.model
    with _work(run.dps):
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
            if not higher.vanishes(n) and max(d2 for d2 in polys) < n:
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


def series_vs_resummation(run: _Run) -> ClaimResult:
    """Closed-form series terms vs the eps-Taylor coefficients of the exact resummation."""
    tally = _Tally(run.dps)
    with _work(run.dps):
        oracle = run.resummation_terms()
        engine = run.engine_series_terms()
        finer = run.engine_series_terms(max(40, mpmath.mp.dps) + 16)
        for v in (oracle, engine, finer):
            if isinstance(v, NoOracle):
                tally.skip(str(v))
                return tally.result("series_vs_resummation", run.required, "")
        scales = _scales({n: list(row) for n, row in enumerate(oracle)})
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


def float64_vs_mpmath(run: _Run) -> ClaimResult:
    """A float64 kernel callable vs the mpmath closed forms (relative to the order's scale)."""
    kernel = run.kernel or engine_kernel(run.kset)
    tally = _Tally(16.0)
    required = -math.log10(FLOAT64_KERNEL_TOL)
    with _work(run.dps):
        refs, groups = {}, {}
        for key in run.kernel_keys():
            ref = run.closed_kernel(key)
            if isinstance(ref, NoOracle):
                tally.skip(str(ref))
                continue
            refs[key] = ref
            groups.setdefault(key[0], []).append(ref)
        scales = _scales(groups)
        arrays: dict[tuple[int, int], numpy.ndarray] = {}
        for key, ref in refs.items():
            n, s, q, idx = key
            if (n, s) not in arrays:
                arrays[(n, s)] = numpy.asarray(kernel(n, *run.points.lags[n - 1][s], **run.values), dtype=numpy.float64)
            tally.compare(mpmath.mpf(float(arrays[(n, s)][(q,) + idx])), ref, scales[n], _kernel_label(key))
    return tally.result("float64_vs_mpmath", required, f"float64 kernel callable vs mpmath closed forms, tolerance "
                        f"{FLOAT64_KERNEL_TOL:g} of the order's largest value")


def series_float64(run: _Run) -> ClaimResult:
    """The float64 ``series_terms`` (RK4 on the filter ODE) vs the resummation oracle."""
    tally = _Tally(16.0)
    required = -math.log10(FLOAT64_SERIES_TOL)
    with _work(run.dps):
        oracle = run.resummation_terms()
        if isinstance(oracle, NoOracle):
            tally.skip(str(oracle))
            return tally.result("series_float64", required, "")
        nk = numeric_kernels(run.kset, run.values)
        result, notes = _float64_series(nk, run.points.u, run.points.t, run.points.eps, run.kset.order)
        scales = _scales({n: list(row) for n, row in enumerate(oracle)})
        for n, row in enumerate(oracle):
            for q, ref in enumerate(row):
                tally.compare(mpmath.mpf(float(result.terms[n, q])), ref, scales[n], f"term {n} of f{q + 1}")
    return tally.result("series_float64", required,
                        f"float64 series_terms (tol {FLOAT64_SERIES_TOL / 10:g}, {result.steps} RK4 steps) vs the "
                        f"resummation, tolerance {FLOAT64_SERIES_TOL:g}{notes}")


def _float64_series(nk, u: TrigInput, t: float, eps: float, order: int):
    """``series_terms`` asked for a tenth of the claim's tolerance; its warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = series_terms(nk, u.numpy, t, eps, order=order, tol=FLOAT64_SERIES_TOL / 10)
    notes = "".join(f"; engine warning: {w.message}" for w in caught)
    return result, notes


def precision_ladder(run: _Run) -> ClaimResult:
    """The same mpmath computations at dps 30 and 60 (first sample point) agree to 25 digits."""
    low, high = LADDER
    tally = _Tally(float(low))
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
        scales = _scales(groups)
        for key, v in results[high].items():
            w = results[low][key]
            if isinstance(v, NoOracle) or isinstance(w, NoOracle):
                tally.skip(str(v if isinstance(v, NoOracle) else w))
                continue
            label = f"{key[0]} " + (_kernel_label(key[1:]) if len(key) == 5 else f"term {key[1]} of f{key[2] + 1}")
            tally.compare(w, v, scales[key[:2]], label)
    return tally.result("precision_ladder", LADDER_DIGITS,
                        f"closed forms, correlation oracle, closed-form series and resummation at dps {low} vs {high}")


def recorded_references(run: _Run) -> ClaimResult:
    """Recorded oracle values beside the spec vs the float64 engine."""
    from .references import check_references, reference_path

    path = reference_path(run.model.spec.source)
    if not path.is_file():
        return ClaimResult("recorded_references", "skipped", None, 12.0,
                           f"skipped: no {path.name} (record one with `volterra-sym verify --record`)")
    return check_references(run.kset, path, values=run.values)


#: the claims in the order they run; each is a function of one verification run
CLAIMS: Mapping[str, Callable[[_Run], ClaimResult]] = MappingProxyType({
    "stationary_law": stationary_law,
    "backward_vs_correlation": backward_vs_correlation,
    "zero_lag": zero_lag,
    "series_vs_resummation": series_vs_resummation,
    "float64_vs_mpmath": float64_vs_mpmath,
    "series_float64": series_float64,
    "precision_ladder": precision_ladder,
    "recorded_references": recorded_references,
})


# --- entry points -------------------------------------------------------------------------------


def _progress(total: int, enabled: bool | None, desc: str):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, file=sys.stderr, disable=not enabled, desc=desc, leave=False)


def _check_options(dps: int, samples: int, seed: int) -> None:
    if isinstance(dps, bool) or not isinstance(dps, int) or not MIN_DPS <= dps <= MAX_DPS:
        raise InputError(f"{dps!r} is outside {MIN_DPS}..{MAX_DPS}", field="--dps")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 100:
        raise InputError(f"{samples!r} is outside 1..100", field="--samples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"{seed!r} must be a non-negative integer", field="--seed")


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
    _check_options(dps, samples, seed)
    names = list(CLAIMS) if claims is None else list(claims)
    unknown = [c for c in names if c not in CLAIMS]
    if unknown:
        raise InputError(f"unknown claim {unknown[0]!r} (claims: {', '.join(CLAIMS)})", field="claims")
    model = kset.model
    values = resolve_parameters(model.spec, params or {})
    numeric_kernels(kset, values)  # stability at these values; raises InputError / SpecError
    start = time.perf_counter()
    points = sample_points(kset, samples, seed)
    run = _Run(kset, values, dps, points, kernel)
    results = []
    with _progress(len(names), progress, f"verify {model.spec.name}") as bar:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            result = CLAIMS[name](run)
            results.append(_with_seconds(result, time.perf_counter() - t0))
            bar.update()
    return VerificationReport(spec=model.spec.source, name=model.spec.name, dps=dps, order=kset.order, seed=seed,
                              samples=samples, parameters=MappingProxyType(dict(values)),
                              points=tuple(points.describe()), claims=tuple(results),
                              seconds=time.perf_counter() - start)


def _with_seconds(result: ClaimResult, seconds: float) -> ClaimResult:
    return replace(result, seconds=seconds)


def verify_spec(path: str | Path, *, order: int | None = None, **options: Any) -> VerificationReport:
    """Load, derive and verify a spec file (options as for :func:`verify_kernels`; a nonlinear
    gradient-class spec runs the claims of :mod:`volterra_sym.verify_gradient`)."""
    model = build_model(load_spec(path))
    if not model.linear:
        from .verify_gradient import verify_gradient

        return verify_gradient(model, order=order, **options)
    return verify_kernels(derive_kernels(model, order=order), **options)


# --- command line -------------------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    """``volterra-sym verify SPEC [--dps D] [--order N] [--samples K] [--seed S] [--json] [--record]``."""
    params: dict[str, str] = {}
    for pname, value in getattr(args, "param", []):
        if pname in params:
            raise InputError(f"{pname} given twice", field="--param")
        params[pname] = value
    if args.order is not None and args.order < 0:
        raise InputError("must be >= 0", field="--order")
    _check_options(args.dps, args.samples, args.seed)
    from .references import RECORD_DPS, record_references

    if args.record and args.dps < RECORD_DPS:
        raise InputError(f"recording needs --dps >= {RECORD_DPS} (40+ recorded digits)", field="--dps")
    model = build_model(load_spec(args.spec))
    if getattr(args, "linearize", False):
        from .model import linearize

        model = linearize(model, params)
    if not model.linear:  # the gradient (reversible) class: exact kernels from the known density
        return _run_verify_gradient(args, model, params)
    kset = derive_kernels(model, order=args.order)
    values = resolve_parameters(kset.model.spec, params)
    written = None
    if args.record:
        written = record_references(kset, dps=args.dps, samples=args.samples, seed=args.seed, params=values)
    report = verify_kernels(kset, dps=args.dps, samples=args.samples, seed=args.seed, params=values)
    if args.json:
        data = report.to_dict()
        if written is not None:
            data["recorded"] = str(written)
        print(json.dumps(data))
    else:
        print(report.format_text())
        if written is not None:
            print(f"wrote {written}")
    return 0 if report.passed else 1


def _run_verify_gradient(args: argparse.Namespace, model, params: Mapping[str, str]) -> int:
    from .verify_gradient import DEFAULT_MC_PATHS, verify_gradient

    if args.record:
        raise InputError("recording reference values is implemented for the linear class only; the gradient "
                         "class is checked against the theory.md 5 values and its mpmath routes on every run",
                         field="--record")
    report = verify_gradient(model, order=args.order, dps=args.dps, samples=args.samples, seed=args.seed,
                             params=resolve_parameters(model.spec, params),
                             mc_paths=DEFAULT_MC_PATHS if getattr(args, "mc_paths", None) is None else args.mc_paths)
    print(report.to_json() if args.json else report.format_text())
    return 0 if report.passed else 1
